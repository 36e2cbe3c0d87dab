"""JSON text for PostgreSQL's jsonb, made before any SQL runs: state and events.

Values become what ADK's database service makes of them (pydantic's JSON mode); what jsonb
cannot hold (a NUL character, a lone surrogate), bytes that are not UTF-8 text and nesting
deeper than a read can parse are refused with :class:`~adk_pg.errors.InvalidArgumentError`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

import pydantic_core

from adk_pg.errors import InvalidArgumentError
from adk_pg.sessions.validate import MAX_JSON_DEPTH, is_unicode, route_state

__all__ = ["dump_json", "json_text", "state_json"]

logger = logging.getLogger("adk_pg")

# An escaped NUL in JSON text: `\u0000` preceded by an even number of backslashes.
_ESCAPED_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


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
            if not is_unicode(item):
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
