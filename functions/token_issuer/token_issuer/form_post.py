"""The form of a ``POST`` to the token (RFC 6749 §4.4.2), revocation (RFC 7009 §2.1) and introspection
(RFC 7662 §2.1) endpoints: ``application/x-www-form-urlencoded`` in the body (:mod:`.form_body`): no query
string, one Content-Type, a bounded, strictly decoded body, no repeated parameter.  Every refusal is
``invalid_request`` (RFC 6749 §5.2); parameters sent without a value are treated as omitted (RFC 6749 §3.1).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from .form_body import MAX_BODY_BYTES, FormError, parse_form
from .oauth_errors import InvalidRequest

FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"


def read_form_post(event: Mapping[str, Any]) -> dict[str, str]:
    if event.get("queryStringParameters") or event.get("multiValueQueryStringParameters"):
        raise InvalidRequest("parameters must be sent in the request body", reason="query_string")
    content_types = header_values(event, "content-type")
    # RFC 9110 §8.3.1: type/subtype compare case-insensitively; a charset parameter changes nothing: the body
    # must be ASCII and percent-decoded bytes are UTF-8 (RFC 6749 Appendix B).
    if len(content_types) != 1 or content_types[0].split(";", 1)[0].strip().lower() != FORM_MEDIA_TYPE:
        raise InvalidRequest(f"the request body must be {FORM_MEDIA_TYPE}", reason="content_type")
    try:
        form = parse_form(_body_bytes(event))
    except FormError as error:
        raise InvalidRequest(str(error), reason="form") from None
    return {name: value for name, value in form.items() if value}


def _body_bytes(event: Mapping[str, Any]) -> bytes:
    body = event.get("body")
    if body is None:
        return b""
    if not isinstance(body, str) or len(body) > 2 * MAX_BODY_BYTES:
        raise InvalidRequest("the body is too large", reason="body_size")
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidRequest("the body is not valid base64", reason="body_base64") from None
    return body.encode("utf-8", "surrogatepass")


def header_values(event: Mapping[str, Any], name: str) -> list[str]:
    """Every value of header ``name`` (case-insensitive).  ``multiValueHeaders`` holds all of them
    in a REST proxy event; ``headers`` only the last, so it is the fallback."""
    wanted = name.lower()
    multi = event.get("multiValueHeaders")
    if isinstance(multi, Mapping) and multi:
        return [
            str(value)
            for key, values in multi.items()
            if str(key).lower() == wanted
            for value in (values if isinstance(values, list) else [values])
        ]
    single = event.get("headers")
    if isinstance(single, Mapping):
        return [str(value) for key, value in single.items() if str(key).lower() == wanted]
    return []
