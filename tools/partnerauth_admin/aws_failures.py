"""An AWS SDK failure as one line for the operator: what went wrong and what to do, never a traceback."""

from __future__ import annotations

from typing import Final

# botocore exception class name -> what to do (recognised by name: no botocore import needed here)
_ADVICE: Final = {
    "NoRegionError": "no AWS region: pass --region or set AWS_REGION (AWS_DEFAULT_REGION)",
    "NoCredentialsError": "no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY "
    "(for the local stack, the `export` lines `make dev` prints)",
    "PartialCredentialsError": "incomplete AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
    "EndpointConnectionError": "cannot reach the AWS endpoint: check --endpoint-url / AWS_ENDPOINT_URL "
    "(is `make dev` still running?) and your network",
    "ProfileNotFound": "the AWS profile does not exist: check AWS_PROFILE",
}
_CODE_ADVICE: Final = {
    "ResourceNotFoundException": "check --stack-name, --table or CLIENTS_TABLE (and --region)",
    "ValidationError": "check --stack-name and --region: CloudFormation does not know that stack",
    "AccessDeniedException": "your AWS identity lacks the permission; see README 'For operators'",
    "UnrecognizedClientException": "the AWS credentials are not valid for this account or endpoint",
    "ExpiredTokenException": "the AWS session has expired: log in again",
}


def one_line(error: Exception) -> str:
    """``error`` as one line with advice (the AWS error code and message when there is one)."""
    name = type(error).__name__
    if name in _ADVICE:
        return _ADVICE[name]
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        code = str(response.get("Error", {}).get("Code", ""))
        message = str(response.get("Error", {}).get("Message", ""))
        advice = _CODE_ADVICE.get(code)
        text = f"AWS call failed: {code} {message}".strip()
        return f"{text}: {advice}" if advice else text
    detail = " ".join(str(error).split())
    return f"{name}: {detail}" if detail else name
