"""Page tokens for ``SessionStore.list_events``: the keyset position after one event.

A token is the URL-safe base64 of a small JSON array ``[1, timestamp, event_id, newest_first]``.
The timestamp travels as JSON's shortest round-trip float, so the position is exact to the bit.
"""

from __future__ import annotations

import base64
import binascii
import math

import pydantic_core

from adk_pg.errors import InvalidArgumentError
from adk_pg.validate import MAX_ID_LENGTH

__all__ = ["FIRST_NEWEST", "FIRST_OLDEST", "decode_event_token", "encode_event_token"]

_VERSION = 1
_MAX_TOKEN_LENGTH = 2048
# Keyset positions before the first event of each direction. Stored timestamps are finite
# (validate.event_timestamp), so every event lies strictly between these.
FIRST_OLDEST: tuple[float, str] = (-math.inf, "")
FIRST_NEWEST: tuple[float, str] = (math.inf, "")


def encode_event_token(timestamp: float, event_id: str, *, newest_first: bool) -> str:
    """An opaque token for the position after the event ``(timestamp, event_id)``."""
    raw = pydantic_core.to_json([_VERSION, timestamp, event_id, newest_first])
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_event_token(token: object, *, newest_first: bool) -> tuple[float, str]:
    """Decode a token made by :func:`encode_event_token` for the same direction.

    Raises:
        InvalidArgumentError: the token is not one of ours, or was made for the other
            direction (``newest_first`` differs).
    """
    if not isinstance(token, str) or not token or len(token) > _MAX_TOKEN_LENGTH:
        raise InvalidArgumentError("page_token is malformed")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        version, timestamp, event_id, direction = pydantic_core.from_json(raw)
    except (ValueError, binascii.Error, TypeError) as exc:
        raise InvalidArgumentError("page_token is malformed") from exc
    if (
        version != _VERSION
        or isinstance(timestamp, bool)
        or not isinstance(timestamp, (int, float))
        or not math.isfinite(timestamp)
        or not isinstance(event_id, str)
        # A crafted id no event can have (too long, a NUL) must not reach the server.
        or len(event_id) > MAX_ID_LENGTH
        or "\x00" in event_id
        or not isinstance(direction, bool)
    ):
        raise InvalidArgumentError("page_token is malformed")
    if direction != newest_first:
        raise InvalidArgumentError(
            "page_token was made for the other direction: pass the same newest_first"
        )
    return float(timestamp), event_id
