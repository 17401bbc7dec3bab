"""The blueprint authorizer: what a Lambda TOKEN authorizer looks like when written the documented way.

PyJWT's ``PyJWKClient`` fetches and caches the JWK Set, ``jwt.decode`` checks signature, issuer,
audience and expiry, and Powertools parses the event and builds the policy, as in Powertools'
``docs/utilities/data_classes.md`` (authorizer section): ``@event_source(data_class=...)``,
``APIGatewayAuthorizerResponse`` from the parsed method ARN, ``asdict()`` returned.  Our authorizer is
measured against it, warm and cold (``benchmarks/bench_authorizer.py``); it exists only here, written once.

Configuration is read from the same variables as ours: ``ISSUER``, ``AUDIENCE``, ``JWKS_URI``,
``ALLOWED_ALGORITHMS``.  Like ours, it fetches the JWK Set at import.
"""

from __future__ import annotations

import os
from typing import Any

import jwt
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerResponse,
    APIGatewayAuthorizerTokenEvent,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

ISSUER = os.environ["ISSUER"]
AUDIENCE = os.environ["AUDIENCE"]
ALGORITHMS = os.environ.get("ALLOWED_ALGORITHMS", "RS256").split(",")

logger = Logger()
jwks_client = jwt.PyJWKClient(os.environ["JWKS_URI"], cache_keys=True, lifespan=600)
jwks_client.get_jwk_set()  # at import, as ours prefetches


@logger.inject_lambda_context
@event_source(data_class=APIGatewayAuthorizerTokenEvent)
def lambda_handler(event: APIGatewayAuthorizerTokenEvent, context: LambdaContext) -> dict[str, Any]:  # noqa: ARG001
    token = event.authorization_token.removeprefix("Bearer ")
    try:
        signing_key = jwks_client.get_signing_key_from_jwt(token)
        claims = jwt.decode(
            token,
            signing_key.key,
            algorithms=ALGORITHMS,
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "client_id", "jti"]},
        )
    except jwt.PyJWTError:
        logger.info("token rejected")
        raise Exception("Unauthorized") from None  # the exact message API Gateway maps to 401
    arn = event.parsed_arn
    policy = APIGatewayAuthorizerResponse(
        principal_id=claims["sub"],
        context={"client_id": claims["client_id"], "scope": claims.get("scope", "")},
        region=arn.region,
        aws_account_id=arn.aws_account_id,
        api_id=arn.api_id,
        stage=arn.stage,
    )
    policy.allow_all_routes()
    return policy.asdict()
