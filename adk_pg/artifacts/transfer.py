"""Artifact versions as JSON-able records, for ``adk-pg export`` and ``adk-pg import``.

One record per version, its bytes in base64::

    {"type": "artifact_version", "app_name": "a", "user_id": "u", "session_id": "s",
     "filename": "chart.png", "version": 0, "kind": "bytes", "mime_type": "image/png",
     "part": {"inline_data": {"mime_type": "image/png"}}, "custom_metadata": {},
     "create_time": "2025-01-31T12:00:00.123456Z", "size": 1234, "sha256": "<hex>",
     "data": "<base64>"}

``session_id`` is null for a user-scoped artifact (its filename keeps ``user:``); ``data`` and
``sha256`` are null for kind ``part``; ``part`` is the google.genai Part without its payload.
:class:`ArtifactTransfer` runs on one connection the caller holds, so an export can read
artifacts inside the same snapshot transaction as the sessions it writes. Importing a record
is idempotent and never overwrites (see :meth:`ArtifactTransfer.import_version`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import AsyncIterator, Mapping
from datetime import datetime, timezone
from typing import Any

import asyncpg
import pydantic
import pydantic_core
from asyncpg.pool import PoolConnectionProxy
from google.genai import types

from adk_pg.artifacts import validate
from adk_pg.artifacts.models import ImportOutcome
from adk_pg.artifacts.parts import checked_json, metadata_json
from adk_pg.artifacts.queries import QUERIES
from adk_pg.db.queries import for_schema
from adk_pg.db.schema_name import DEFAULT_SCHEMA
from adk_pg.errors import InvalidArgumentError, translate_errors

__all__ = ["EXPORT_PAGE_BYTES", "EXPORT_PAGE_SIZE", "RECORD_TYPE", "ArtifactTransfer"]

RECORD_TYPE = "artifact_version"
EXPORT_PAGE_SIZE = 100
# A page stops before the version that would take its bytes past this (one big version still
# makes a page of its own): memory stays bounded whatever the artifacts weigh.
EXPORT_PAGE_BYTES = 64 * 1024 * 1024
_KINDS = ("bytes", "text", "part")


class ArtifactTransfer:
    """Export and import of artifact versions of ``schema``, on one connection the caller
    holds."""

    def __init__(
        self, conn: asyncpg.Connection | PoolConnectionProxy, schema: str = DEFAULT_SCHEMA
    ) -> None:
        self._conn = conn
        self._queries = for_schema(QUERIES, schema)

    async def count(self, app_name: str | None, user_id: str | None) -> tuple[int, int, int]:
        """How many artifacts and versions an export with these filters writes, and bytes.

        Raises:
            InvalidArgumentError: a bad id.
            StorageError: the database failed.
        """
        app = validate.optional_id(app_name, "app_name")
        user = validate.optional_id(user_id, "user_id")
        with translate_errors("count the artifacts to export"):
            row = await self._conn.fetchrow(self._queries.count_artifact_versions.sql, app, user)
        assert row is not None  # no FROM at the top: always one row
        return int(row["artifacts"]), int(row["versions"]), int(row["bytes"])

    async def versions(
        self,
        app_name: str | None = None,
        user_id: str | None = None,
        *,
        page_size: int = EXPORT_PAGE_SIZE,
        page_bytes: int = EXPORT_PAGE_BYTES,
    ) -> AsyncIterator[dict[str, Any]]:
        """Every matching version as a record, in (app, user, session, filename, version)
        order, page by page (keyset: a page costs the same at any depth).

        Raises:
            InvalidArgumentError: a bad id or page size.
            StorageError: the database failed.
        """
        app = validate.optional_id(app_name, "app_name")
        user = validate.optional_id(user_id, "user_id")
        size = validate.row_limit(page_size)
        budget = validate.max_artifact_bytes(page_bytes)
        after: tuple[str, str, str, str, int] = ("", "", "", "", -1)
        while True:
            with translate_errors("export artifact versions"):
                rows = await self._conn.fetch(
                    self._queries.export_artifact_versions.sql, app, user, *after, size, budget
                )
            for row in rows:
                yield _record(row)
            if not rows:
                return
            last = rows[-1]
            after = (
                last["app_name"],
                last["user_id"],
                last["session_id"],
                last["filename"],
                last["version"],
            )

    async def import_version(
        self,
        record: Mapping[str, Any],
        *,
        max_artifact_bytes: int = validate.DEFAULT_MAX_ARTIFACT_BYTES,
    ) -> ImportOutcome:
        """Store one exported version unless its number is taken, in one statement.

        The record is checked whole first (ids, scope, kind, base64, and the bytes against
        ``size`` and ``sha256``). ``unchanged``: that version is stored already with the same
        bytes; ``conflict``: another version is stored under that number (left as it is).

        Raises:
            InvalidArgumentError: a malformed record, naming the version; nothing was written.
            StorageError: the database failed; nothing was written.
        """
        checked = _checked(record, validate.max_artifact_bytes(max_artifact_bytes))
        with translate_errors(f"import artifact version {checked[3]!r} #{checked[4]}"):
            row = await self._conn.fetchrow(self._queries.import_artifact_version.sql, *checked)
        assert row is not None  # no FROM at the top: always one row
        if row["imported"]:
            return "imported"
        return "unchanged" if row["same_content"] else "conflict"


def _iso(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _record(row: asyncpg.Record) -> dict[str, Any]:
    data, digest = row["data"], row["sha256"]
    return {
        "type": RECORD_TYPE,
        "app_name": row["app_name"],
        "user_id": row["user_id"],
        "session_id": row["session_id"] or None,
        "filename": row["filename"],
        "version": row["version"],
        "kind": row["kind"],
        "mime_type": row["mime_type"],
        "part": pydantic_core.from_json(row["part"]),
        "custom_metadata": pydantic_core.from_json(row["custom_metadata"]),
        "create_time": _iso(row["create_time"]),
        "size": row["size"],
        "sha256": None if digest is None else digest.hex(),
        "data": None if data is None else base64.b64encode(data).decode("ascii"),
    }


def _checked(record: object, max_bytes: int) -> tuple[Any, ...]:
    """The import statement's parameters for ``record``.

    Raises:
        InvalidArgumentError: the record is malformed; the message names the version.
    """
    if not isinstance(record, Mapping):
        raise InvalidArgumentError(f"an artifact record must be an object, not {type(record)}")
    if record.get("type", RECORD_TYPE) != RECORD_TYPE:
        raise InvalidArgumentError(f"not an {RECORD_TYPE} record")
    key = validate.artifact_key(
        record.get("app_name"),
        record.get("user_id"),
        record.get("filename"),
        record.get("session_id"),
    )
    number = validate.version(record.get("version"))
    where = f"artifact {key.filename!r} version {number}"
    if number is None or not 0 <= number <= validate.MAX_VERSION:
        raise InvalidArgumentError(f"{where}: version must be an int from 0")
    if key.filename != record.get("filename"):
        raise InvalidArgumentError(f"{where}: a user-scoped artifact's filename starts with user:")
    kind, mime_type = record.get("kind"), record.get("mime_type")
    if kind not in _KINDS:
        raise InvalidArgumentError(f"{where}: kind must be one of {', '.join(_KINDS)}")
    if mime_type is not None and not isinstance(mime_type, str):
        raise InvalidArgumentError(f"{where}: mime_type must be a string or null")
    data = _data(record, kind, where, max_bytes)
    digest = None if data is None else hashlib.sha256(data).digest()
    if record.get("sha256") != (None if digest is None else digest.hex()):
        raise InvalidArgumentError(f"{where}: the bytes do not match its sha256")
    part = record.get("part", {})
    if not isinstance(part, Mapping):
        raise InvalidArgumentError(f"{where}: part must be an object")
    try:
        raw = pydantic_core.to_json(part)
        types.Part.model_validate_json(raw)  # what a load will do with it
    except (pydantic.ValidationError, pydantic_core.PydanticSerializationError, ValueError):
        raise InvalidArgumentError(f"{where}: part is not a google.genai Part") from None
    part_json = checked_json(raw, f"{where}: part")
    metadata = metadata_json(record.get("custom_metadata"))
    created = _time(record.get("create_time"), where)
    return (*_key_fields(key), number, kind, mime_type, part_json, metadata, data, digest, created)


def _key_fields(key: validate.ArtifactKey) -> tuple[str, str, str, str]:
    return key.app_name, key.user_id, key.session_id, key.filename


def _data(record: Mapping[str, Any], kind: str, where: str, max_bytes: int) -> bytes | None:
    encoded = record.get("data")
    if kind == "part":
        if encoded is not None:
            raise InvalidArgumentError(f"{where}: a part record holds no data")
        return None
    if not isinstance(encoded, str):
        raise InvalidArgumentError(f"{where}: data must be base64 text")
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidArgumentError(f"{where}: data is not valid base64") from None
    if len(data) > max_bytes:
        raise InvalidArgumentError(f"{where}: {len(data)} bytes; the limit is {max_bytes}")
    if record.get("size") != len(data):
        raise InvalidArgumentError(f"{where}: size does not match the bytes")
    if kind == "text":
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidArgumentError(f"{where}: a text artifact's bytes are not UTF-8") from None
    return data


def _time(value: object, where: str) -> datetime:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            if parsed.tzinfo is not None:
                return parsed
    raise InvalidArgumentError(f"{where}: create_time must be an ISO 8601 time with a zone")
