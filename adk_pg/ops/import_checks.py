"""The checks of an import: is a document one the import statements can store?

Each function raises :class:`~adk_pg.ops.transfer.TransferFormatError` naming the line (and
the field, never its value) before anything of that document is written.
"""

from __future__ import annotations

import re
from typing import Any

import pydantic_core
from google.genai import types
from pydantic import ValidationError

from adk_pg.db import values
from adk_pg.errors import InvalidArgumentError
from adk_pg.memory.store import check_settings
from adk_pg.ops.transfer import FORMAT, READABLE_VERSIONS, TransferFormatError
from adk_pg.sessions import validate

__all__ = [
    "check_header",
    "check_keys",
    "check_memory_doc",
    "check_session_doc",
    "check_state",
    "check_times",
    "parse_line",
]

_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?(Z|[+-]\d\d:\d\d)")


def check_session_doc(doc: Any, where: str) -> None:
    """Check that ``doc`` is a session line the import statement can store (but its id).

    Raises:
        TransferFormatError: a missing or mistyped field, naming ``where``.
    """

    def fail(reason: str) -> TransferFormatError:
        return TransferFormatError(f"{where}: {reason}")

    check_keys(doc, ("app_name", "user_id"), where)
    revision = doc.get("revision")
    if isinstance(revision, bool) or not isinstance(revision, int) or revision < 0:
        raise fail("revision must be an integer >= 0")
    check_times(doc, ("create_time", "update_time"), where)
    check_state(doc, where)
    if not isinstance(doc.get("initial_state", {}), (dict, type(None))):
        raise fail("initial_state must be a JSON object or null")
    events = doc.get("events")
    if not isinstance(events, list):
        raise fail("events must be a list")
    for index, event in enumerate(events):
        if not isinstance(event, dict):
            raise fail(f"event #{index + 1} is not an object")
        try:
            values.require_id(event.get("id"), "event id")
            validate.event_timestamp(event.get("timestamp"))
        except InvalidArgumentError as exc:
            raise fail(f"event #{index + 1}: {exc}") from None
        if not isinstance(event.get("actions", {}), dict):
            raise fail(f"event {event['id']!r}: actions must be an object")


def check_memory_doc(doc: Any, where: str) -> None:
    """Check that ``doc`` is a memory line the import statement can store.

    Raises:
        TransferFormatError: a missing or mistyped field, naming ``where``.
    """

    def fail(reason: str) -> TransferFormatError:
        return TransferFormatError(f"{where}: {reason}")

    check_keys(doc, ("app_name", "user_id", "id"), where)
    for key in ("session_id", "event_id"):
        if doc.get(key) is not None:
            check_keys(doc, (key,), where)
    for key in ("author", "time_text"):
        if not isinstance(doc.get(key), (str, type(None))):
            raise fail(f"{key} must be a string or null")
    if doc.get("event_time") is not None:
        try:
            values.epoch_seconds(doc["event_time"], "event_time")
        except InvalidArgumentError as exc:
            raise fail(str(exc)) from None
    check_times(doc, ("create_time", "update_time"), where)
    if doc.get("deleted_time") is not None:
        check_times(doc, ("deleted_time",), where)
        if doc.get("content") is not None or doc.get("search_text") is not None:
            raise fail("a deleted memory has no content and no search_text")
    else:
        if not isinstance(doc.get("search_text"), str):
            raise fail("search_text must be a string")
        try:
            types.Content.model_validate(doc.get("content"))
        except ValidationError:
            raise fail("content must be a google.genai Content object") from None
    if not isinstance(doc.get("custom_metadata"), dict):
        raise fail("custom_metadata must be a JSON object")
    try:
        check_settings(doc.get("search_config"), 1, 1)
    except InvalidArgumentError as exc:
        raise fail(str(exc)) from None


def check_keys(doc: Any, keys: tuple[str, ...], where: str) -> None:
    if not isinstance(doc, dict):
        raise TransferFormatError(f"{where}: not a JSON object")
    for key in keys:
        try:
            values.require_id(doc.get(key), key)
        except InvalidArgumentError as exc:
            raise TransferFormatError(f"{where}: {exc}") from None


def check_times(doc: dict[str, Any], keys: tuple[str, ...], where: str) -> None:
    for key in keys:
        value = doc.get(key)
        if not isinstance(value, str) or not _TIME.fullmatch(value):
            raise TransferFormatError(
                f"{where}: {key} must be a time like 2025-01-31T12:00:00.000000Z"
            )


def check_state(doc: dict[str, Any], where: str) -> None:
    if not isinstance(doc.get("state"), dict):
        raise TransferFormatError(f"{where}: state must be a JSON object")


def parse_line(line: str, where: str) -> dict[str, Any]:
    try:
        doc = pydantic_core.from_json(line, allow_inf_nan=False)  # as jsonb reads JSON
    except ValueError as exc:
        raise TransferFormatError(f"{where}: not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise TransferFormatError(f"{where}: not a JSON object")
    return doc


def check_header(doc: dict[str, Any], where: str) -> None:
    if doc.get("format") != FORMAT:
        raise TransferFormatError(
            f"{where}: not an adk-pg export (expected a header with format {FORMAT!r})"
        )
    version = doc.get("version")
    if version not in READABLE_VERSIONS:
        readable = " and ".join(str(v) for v in READABLE_VERSIONS)
        raise TransferFormatError(
            f"{where}: export format version {version!r} is not supported (this adk-pg reads "
            f"versions {readable})"
        )
