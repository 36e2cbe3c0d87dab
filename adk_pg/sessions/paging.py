"""Page tokens: the keyset position after a page's last item, for the listing it came from.

One format for both listings. A token is the URL-safe base64 of a small JSON array::

    [2, "sessions", LISTING, update_us, user_id, session_id]
    [2, "events", LISTING, newest_first, timestamp, event_id]

``LISTING`` is a digest of what was listed (the app and the user filter; the session), so a
token works only for the listing that made it: a token of one user's sessions is refused for
another user's, whatever ids it holds. Event timestamps travel as JSON's shortest round-trip
float, so a position is exact to the bit.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
from datetime import datetime, timedelta, timezone
from typing import Any

import pydantic_core

from adk_pg.db.values import MAX_ID_LENGTH, is_unicode
from adk_pg.errors import InvalidArgumentError

__all__ = [
    "FIRST_NEWEST",
    "FIRST_OLDEST",
    "encode_event_token",
    "encode_session_token",
    "event_position",
    "session_position",
]

_VERSION = 2
_MAX_TOKEN_LENGTH = 2048
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# Keyset positions before the first event of each direction. Stored timestamps are finite
# (validate.event_timestamp), so every event lies strictly between these.
FIRST_OLDEST: tuple[float, str] = (-math.inf, "")
FIRST_NEWEST: tuple[float, str] = (math.inf, "")


def _listing(*parts: str | None) -> str:
    """A short digest naming one listing; NUL cannot occur in ids, so it separates them."""
    text = "\x00".join("\x01" if part is None else part for part in parts)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def _encode(kind: str, listing: str, position: list[Any]) -> str:
    raw = pydantic_core.to_json([_VERSION, kind, listing, *position])
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _decode(token: object, kind: str, listing: str, size: int) -> list[Any]:
    """The position a token holds, once it is known to be of this kind and listing.

    Raises:
        InvalidArgumentError: not one of our tokens, or made for another listing.
    """
    if not isinstance(token, str) or not token or len(token) > _MAX_TOKEN_LENGTH:
        raise InvalidArgumentError("page_token is malformed")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        decoded = pydantic_core.from_json(raw)
    except (ValueError, binascii.Error) as exc:
        raise InvalidArgumentError("page_token is malformed") from exc
    if not isinstance(decoded, list) or len(decoded) != 3 + size or decoded[:2] != [_VERSION, kind]:
        raise InvalidArgumentError("page_token is malformed")
    if decoded[2] != listing:
        raise InvalidArgumentError(
            f"page_token was made for another {kind} listing: pass the same app, user and "
            "session ids as the call that returned it"
        )
    return decoded[3:]


def _id(value: object) -> str:
    """An id from a token: a string a stored id could be (a crafted one never reaches SQL)."""
    if (
        not isinstance(value, str)
        or len(value) > MAX_ID_LENGTH
        or "\x00" in value
        or not is_unicode(value)
    ):
        raise InvalidArgumentError("page_token is malformed")
    return value


def encode_session_token(
    app_name: str, user_filter: str | None, update_us: int, user_id: str, session_id: str
) -> str:
    """The token for the sessions of ``app_name`` (one user's, or all) after one session."""
    listing = _listing(app_name, user_filter)
    return _encode("sessions", listing, [update_us, user_id, session_id])


def session_position(
    token: object, app_name: str, user_filter: str | None
) -> tuple[datetime, str, str]:
    """The (update_time, user_id, session_id) after which the next page of sessions starts.

    Raises:
        InvalidArgumentError: the token is malformed, or was made for another listing.
    """
    listing = _listing(app_name, user_filter)
    update_us, user_id, session_id = _decode(token, "sessions", listing, 3)
    if isinstance(update_us, bool) or not isinstance(update_us, int):
        raise InvalidArgumentError("page_token is malformed")
    try:
        when = _EPOCH + timedelta(microseconds=update_us)
    except OverflowError:
        raise InvalidArgumentError("page_token is malformed") from None
    return when, _id(user_id), _id(session_id)


def encode_event_token(
    app_name: str,
    user_id: str,
    session_id: str,
    timestamp: float,
    event_id: str,
    *,
    newest_first: bool,
) -> str:
    """The token for a session's events after the event ``(timestamp, event_id)``."""
    listing = _listing(app_name, user_id, session_id)
    return _encode("events", listing, [newest_first, timestamp, event_id])


def event_position(
    token: object, app_name: str, user_id: str, session_id: str, *, newest_first: bool
) -> tuple[float, str]:
    """The (timestamp, event id) after which the next page of events starts.

    Raises:
        InvalidArgumentError: the token is malformed, made for another session, or for the
            other direction (``newest_first`` differs).
    """
    listing = _listing(app_name, user_id, session_id)
    direction, timestamp, event_id = _decode(token, "events", listing, 3)
    if (
        not isinstance(direction, bool)
        or isinstance(timestamp, bool)
        or not isinstance(timestamp, (int, float))
        or not math.isfinite(timestamp)
    ):
        raise InvalidArgumentError("page_token is malformed")
    if direction != newest_first:
        raise InvalidArgumentError(
            "page_token was made for the other direction: pass the same newest_first"
        )
    return float(timestamp), _id(event_id)
