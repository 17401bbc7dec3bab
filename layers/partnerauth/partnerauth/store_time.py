"""The store's clock: an AWS response's ``Date`` header (RFC 9110 §6.6.1), for times that decide security.

An operator's laptop may be minutes off; DynamoDB's servers are not.  A secret's end written by the admin CLI
(``roll-secret --overlap N``) is dated by the answer to the read the write is based on, so a fast or slow
laptop cannot stretch or shorten it (issue 19, "Clocks").  botocore exposes the header as
``ResponseMetadata.HTTPHeaders.date``; an endpoint that sends none (or an unreadable one) gives ``None`` and
the caller falls back to its own clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any


def response_date(response: Mapping[str, Any]) -> float | None:
    """The epoch seconds of ``response``'s ``Date`` header, or ``None`` when it has none that parses."""
    metadata = response.get("ResponseMetadata")
    headers = metadata.get("HTTPHeaders") if isinstance(metadata, Mapping) else None
    text = headers.get("date") if isinstance(headers, Mapping) else None
    if not isinstance(text, str):
        return None
    try:
        dated = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if dated.tzinfo is None:  # RFC 9110 §5.6.7: an HTTP-date is always GMT; a zone-less one is not ours
        return None
    return dated.timestamp()
