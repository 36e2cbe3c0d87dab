"""What PostgreSQL can hold, checked before any SQL runs: ids and JSON text for jsonb.

Every store's keys are ``varchar(128)``: :func:`require_id` refuses what would not fit, or
what text columns cannot hold. JSON values become what ADK's database service makes of them
(pydantic's JSON mode); what jsonb cannot hold (a NUL character, a lone surrogate), bytes that
are not UTF-8 text and nesting deeper than a read can parse are refused with
:class:`~adk_pg.errors.InvalidArgumentError`.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

import pydantic_core

from adk_pg.errors import InvalidArgumentError

__all__ = [
    "MAX_ID_LENGTH",
    "MAX_JSON_DEPTH",
    "check_id_text",
    "dump_json",
    "epoch_seconds",
    "float_text",
    "is_unicode",
    "json_text",
    "require_id",
    "unicode_text",
]

MAX_ID_LENGTH = 128  # the varchar(128) of every key column
MAX_JSON_DEPTH = 198

logger = logging.getLogger("adk_pg")

# An escaped NUL in JSON text: `\u0000` preceded by an even number of backslashes.
_ESCAPED_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
# A number in exponent form (1e+308), skipping strings: jsonb would read it back as an integer.
_MAYBE_EXPONENT = re.compile(rb"\d[eE][+-]?\d")
_STRING_OR_EXPONENT = re.compile(rb'"(?:[^"\\]|\\.)*"|(-?)(\d+)(?:\.(\d+))?[eE]([+-]?\d+)')


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
    if _MAYBE_EXPONENT.search(raw):
        raw = _STRING_OR_EXPONENT.sub(_positional, raw)
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


def _positional(match: re.Match[bytes]) -> bytes:
    """A JSON number in exponent form, written out with a decimal point; strings unchanged.

    jsonb keeps a number as a decimal without its exponent: ``1e+308`` would come back as a
    309-digit integer. Written as ``1000…0.0`` (the same shortest digits, placed), it comes
    back as the same float, bit for bit.
    """
    sign, whole, fraction, exponent = match.groups()
    if whole is None:
        return match.group(0)
    digits = (whole + (fraction or b"")).lstrip(b"0") or b"0"
    point = len(whole) + int(exponent) - (len(whole + (fraction or b"")) - len(digits))
    if point <= 0:
        text = b"0." + b"0" * -point + digits
    elif point >= len(digits):
        text = digits + b"0" * (point - len(digits)) + b".0"
    else:
        text = digits[:point] + b"." + digits[point:]
    return sign + text


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
                    "holds bytes that are not UTF-8 text; bytes are stored as UTF-8 text, as "
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


def epoch_seconds(value: object, what: str) -> float:
    """Check a time given as epoch seconds: finite, within what timestamptz holds (years
    1-9999), as ADK's float event timestamps are.

    Raises:
        InvalidArgumentError: not a number, not finite, or outside years 1-9999.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidArgumentError(f"{what} must be a number (epoch seconds)")
    if not math.isfinite(value) or not -62_135_596_800 <= value <= 253_402_300_799:
        raise InvalidArgumentError(f"{what} must be a finite epoch within years 1-9999")
    return float(value)


def require_id(value: object, what: str) -> str:
    """Check an app name or user id: a non-blank string of at most 128 characters.

    Raises:
        InvalidArgumentError: not a string, blank, too long, or holding a NUL character.
    """
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{what} must be a string, not {type(value).__name__}")
    if not value.strip():
        raise InvalidArgumentError(f"{what} must not be empty or blank")
    check_id_text(value, what)
    return value


def check_id_text(value: str, what: str) -> None:
    """Check the text of an id: at most 128 characters, no NUL, valid Unicode.

    Raises:
        InvalidArgumentError: too long, a NUL character, or a lone surrogate.
    """
    if len(value) > MAX_ID_LENGTH:
        raise InvalidArgumentError(
            f"{what} is {len(value)} characters long; the limit is {MAX_ID_LENGTH}"
        )
    if "\x00" in value:
        raise InvalidArgumentError(f"{what} contains a NUL character")
    if not value.isascii():
        unicode_text(value, what)


def is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def unicode_text(value: str, what: str) -> None:
    """Check that ``value`` is valid Unicode (UTF-8 encodable).

    Raises:
        InvalidArgumentError: it holds a lone surrogate.
    """
    if not is_unicode(value):
        raise InvalidArgumentError(f"{what} holds a lone surrogate, which is not valid Unicode")


def float_text(value: float | None) -> str | None:
    """A float8 parameter as text that reads back bit for bit (Python's shortest repr).

    Sent as text, no session setting can round it on the way: Citus writes a statement's
    parameters into the SQL it sends its workers, printing a float with the session's
    extra_float_digits (0: 15 digits, the last bits lost).
    """
    if value is None:
        return None
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return "NaN" if math.isnan(value) else repr(value)
