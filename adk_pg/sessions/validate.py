"""Argument checks and JSON encoding, done before any SQL runs.

Every public store method goes through here first, so bad input raises
:class:`~adk_pg.errors.InvalidArgumentError` and nothing reaches the database.
"""

from __future__ import annotations

import base64
import binascii
import logging
import math
import re
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import pydantic_core

from adk_pg.errors import InvalidArgumentError
from adk_pg.models import APP_PREFIX, TEMP_PREFIX, USER_PREFIX

logger = logging.getLogger("adk_pg")

MAX_ID_LENGTH = 128  # the varchar(128) of the key columns
MAX_PAGE_SIZE = 10_000
MAX_JSON_DEPTH = 198
# An escaped NUL in JSON text: `\u0000` preceded by an even number of backslashes.
_ESCAPED_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def require_id(value: object, what: str) -> str:
    """Check an app name or user id: a non-blank string of at most 128 characters.

    Raises:
        InvalidArgumentError: not a string, blank, too long, or holding a NUL character.
    """
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{what} must be a string, not {type(value).__name__}")
    if not value.strip():
        raise InvalidArgumentError(f"{what} must not be empty or blank")
    _check_length_and_nul(value, what)
    return value


def session_id_or_new(value: object) -> str:
    """Normalise a session id for create: stripped, and a fresh uuid when None or blank.

    This is what ADK's InMemorySessionService does.

    Raises:
        InvalidArgumentError: not a string (nor None), too long, or holding a NUL character.
    """
    if value is None:
        return str(uuid.uuid4())
    if not isinstance(value, str):
        raise InvalidArgumentError(f"session_id must be a string, not {type(value).__name__}")
    stripped = value.strip()
    if not stripped:
        return str(uuid.uuid4())
    _check_length_and_nul(stripped, "session_id")
    return stripped


def existing_session_id(value: object) -> str:
    """Normalise the id of a session that should exist: stripped, non-blank.

    Raises:
        InvalidArgumentError: not a string, blank, too long, or holding a NUL character.
    """
    return require_id(value, "session_id").strip()


def _check_length_and_nul(value: str, what: str) -> None:
    if len(value) > MAX_ID_LENGTH:
        raise InvalidArgumentError(
            f"{what} is {len(value)} characters long; the limit is {MAX_ID_LENGTH}"
        )
    if "\x00" in value:
        raise InvalidArgumentError(f"{what} contains a NUL character")
    if not value.isascii():
        unicode_text(value, what)


def num_recent_events(value: object) -> int | None:
    """Check ``num_recent_events``: None (all) or an int >= 0 (0 = no events).

    Raises:
        InvalidArgumentError: negative, or not an int.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgumentError("num_recent_events must be an int or None")
    if value < 0:
        raise InvalidArgumentError("num_recent_events must be greater than or equal to 0")
    return min(value, 2**31 - 1)


def after_timestamp(value: object) -> float | None:
    """Check ``after_timestamp``: None or a finite epoch (0 means no filter, as in ADK).

    Raises:
        InvalidArgumentError: not a number, or not finite.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidArgumentError("after_timestamp must be a number (epoch seconds) or None")
    if not math.isfinite(value):
        raise InvalidArgumentError("after_timestamp must be finite")
    return float(value) or None


def page_size(value: object) -> int | None:
    """Check ``page_size``: None (everything) or 1..10,000.

    Raises:
        InvalidArgumentError: out of range or not an int.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_PAGE_SIZE:
        raise InvalidArgumentError(f"page_size must be an int from 1 to {MAX_PAGE_SIZE}")
    return value


def encode_page_token(update_us: int, user_id: str, session_id: str) -> str:
    """An opaque token for the keyset position after one session."""
    raw = pydantic_core.to_json([update_us, user_id, session_id])
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_page_token(token: object) -> tuple[datetime, str, str]:
    """Decode a token made by :func:`encode_page_token` into its keyset position.

    Raises:
        InvalidArgumentError: the token is not one of ours.
    """
    if not isinstance(token, str) or len(token) > 2048:
        raise InvalidArgumentError("page_token is malformed")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        update_us, user_id, session_id = pydantic_core.from_json(raw)
        if not (
            isinstance(update_us, int) and isinstance(user_id, str) and isinstance(session_id, str)
        ):
            raise ValueError(token)
        _check_length_and_nul(user_id, "page_token")
        _check_length_and_nul(session_id, "page_token")
        return _EPOCH + timedelta(microseconds=update_us), user_id, session_id
    except (ValueError, binascii.Error, OverflowError) as exc:
        raise InvalidArgumentError("page_token is malformed") from exc


def _jsonable_fallback(value: Any) -> Any:
    return pydantic_core.to_jsonable_python(value, serialize_unknown=True)


def dump_json(dump: Callable[..., bytes | str], what: str, value: object) -> str:
    """Run a JSON serialiser, turning values that are not JSON into what ADK makes of them.

    ``dump`` is called with no argument first, then (if a value cannot be serialised) with
    ``fallback=`` set to pydantic's ``to_jsonable_python(..., serialize_unknown=True)``, and
    a warning is logged, exactly as ADK's ``extract_json_safe_state_delta`` does. ``value`` is
    what ``dump`` serialises: when even the fallback fails, it is searched for the reason.

    Raises:
        InvalidArgumentError: the value holds what PostgreSQL's jsonb cannot store (a NUL
            character, a lone surrogate), bytes that are not UTF-8 text, or is nested too deeply.
    """
    try:
        out = dump()
    except pydantic_core.PydanticSerializationError:
        try:
            out = dump(fallback=_jsonable_fallback)
        except pydantic_core.PydanticSerializationError as exc:
            raise InvalidArgumentError(f"{what} {_unstorable(value)}") from exc
        logger.warning("%s holds values that are not JSON; storing their string form", what)
    raw = out if isinstance(out, bytes) else out.encode()
    if b"\\u0000" in raw and _ESCAPED_NUL.search(raw):
        raise InvalidArgumentError(
            f"{what} holds a NUL character (\\u0000), which PostgreSQL's jsonb cannot store"
        )
    # Reads parse with pydantic-core, which stops at 200 levels, and get_session /
    # list_sessions wrap a document in up to two more: refuse what could never be read back.
    # A document is at most as deep as it has brackets, so the exact check is rare.
    if raw.count(b"[") + raw.count(b"{") > MAX_JSON_DEPTH:
        try:
            pydantic_core.from_json(b"[[" + raw + b"]]")
        except ValueError as exc:
            raise InvalidArgumentError(_too_deep(what)) from exc
    return raw.decode()


def _too_deep(what: str) -> str:
    return f"{what} is nested too deeply: at most {MAX_JSON_DEPTH} levels can be read back"


def _unstorable(value: object) -> str:
    """Why a value that pydantic cannot serialise, even with the fallback, cannot be stored.

    Found by looking at the value itself, not at the serialiser's message: a walk that stops
    at the first bad string, bytes or nesting level (it runs only once serialising failed).
    """
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return f"is nested too deeply: at most {MAX_JSON_DEPTH} levels can be read back"
        if isinstance(item, str):
            if not _is_unicode(item):
                return "holds a lone surrogate, which is not valid Unicode"
        elif isinstance(item, (bytes, bytearray)):
            try:
                bytes(item).decode("utf-8")
            except UnicodeDecodeError:
                return (
                    "holds bytes that are not UTF-8 text; state keeps bytes as UTF-8 text, as "
                    "ADK's database services do: encode binary data first (e.g. base64)"
                )
        elif isinstance(item, Mapping):
            stack.extend((child, depth + 1) for pair in item.items() for child in pair)
        elif isinstance(item, (list, tuple, set, frozenset)):
            stack.extend((child, depth + 1) for child in item)
        elif hasattr(item, "__pydantic_fields__"):
            stack.extend((child, depth + 1) for child in vars(item).values())
    return "cannot be stored as JSON"


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def json_text(value: Mapping[str, Any], what: str) -> str:
    """Serialise a JSON object (state) to text, as :func:`dump_json` does.

    Values become what ADK's ``make_json_safe_state`` makes of them (pydantic's JSON mode):
    bytes are UTF-8 text, datetimes ISO 8601 strings, sets lists, models objects; NaN and
    infinities are stored as null.
    """

    def dump(**kwargs: Any) -> bytes:
        return pydantic_core.to_json(value, inf_nan_mode="null", **kwargs)

    return dump_json(dump, what, value)


def state_json(state: object, what: str) -> tuple[str, str | None, str | None]:
    """A state or state delta as JSON objects for the session, app and user rows.

    App and user keys lose their prefix and ``temp:`` keys are dropped (:func:`route_state`);
    the app and user objects are None when they have no key. Values are stored as
    :func:`json_text` makes them, on every path (create, append), as ADK's database service
    stores them.

    Raises:
        InvalidArgumentError: not a dict with string keys, or a value that cannot be stored.
    """
    session, app, user = route_state(state)
    return (
        json_text(session, what),
        json_text(app, what) if app else None,
        json_text(user, what) if user else None,
    )


def route_state(
    state: object,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Split an initial state into (session, app, user) buckets; drop ``temp:`` keys.

    App and user keys lose their prefix, as ADK stores them.

    Raises:
        InvalidArgumentError: the state is not a dict with string keys.
    """
    if state is None:
        return {}, {}, {}
    if not isinstance(state, Mapping):
        raise InvalidArgumentError(f"state must be a dict, not {type(state).__name__}")
    session: dict[str, Any] = {}
    app: dict[str, Any] = {}
    user: dict[str, Any] = {}
    for key, value in state.items():
        if not isinstance(key, str):
            raise InvalidArgumentError("state keys must be strings")
        if key.startswith(APP_PREFIX):
            app[key[len(APP_PREFIX) :]] = value
        elif key.startswith(USER_PREFIX):
            user[key[len(USER_PREFIX) :]] = value
        elif not key.startswith(TEMP_PREFIX):
            session[key] = value
    return session, app, user


def event_timestamp(value: object) -> float:
    """Check an event timestamp: a finite epoch that PostgreSQL's timestamptz can hold.

    Raises:
        InvalidArgumentError: not finite, or outside years 1..9999.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidArgumentError("event.timestamp must be a number (epoch seconds)")
    if not math.isfinite(value) or not -62_135_596_800 <= value <= 253_402_300_799:
        raise InvalidArgumentError("event.timestamp must be a finite epoch within years 1-9999")
    return float(value)


def state_delta_keys(delta: Mapping[str, Any]) -> None:
    """Check the keys of a state delta: pydantic would write a lone surrogate as U+FFFD.

    Raises:
        InvalidArgumentError: a key holds a lone surrogate.
    """
    for key in delta:
        if not key.isascii():
            unicode_text(key, "event.actions.state_delta key")


def unicode_text(value: str, what: str) -> None:
    """Check that ``value`` is valid Unicode (UTF-8 encodable).

    Raises:
        InvalidArgumentError: it holds a lone surrogate.
    """
    if not _is_unicode(value):
        raise InvalidArgumentError(f"{what} holds a lone surrogate, which is not valid Unicode")
