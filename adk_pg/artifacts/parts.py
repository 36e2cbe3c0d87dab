"""A ``google.genai`` Part split into what the tables hold, and put back together.

A Part is stored as its payload -- the ``inline_data`` bytes as given, or the UTF-8 bytes of
its ``text`` -- in ``adk.artifact_contents``, and the rest of it (MIME type, display name, any
other field) as JSON in ``adk.artifact_versions.part``. A Part without a payload of its own (a
``file_data`` reference) is kept whole as JSON. Everything is checked here, before any SQL
runs: what jsonb cannot hold, text that is not Unicode, and sizes over the limits raise
:class:`~adk_pg.errors.InvalidArgumentError`, whose message never quotes the content.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pydantic
import pydantic_core
from google.genai import types

from adk_pg.artifacts.models import ArtifactKind
from adk_pg.errors import InvalidArgumentError

__all__ = [
    "MAX_METADATA_BYTES",
    "TEXT_MIME_TYPE",
    "Payload",
    "as_part",
    "checked_json",
    "join_part",
    "metadata_json",
    "split_part",
]

# The JSON of custom_metadata, and of a Part without its payload: small key/value data.
MAX_METADATA_BYTES = 1024 * 1024
# Reads decode jsonb with pydantic-core, which stops at 200 levels of nesting.
_MAX_JSON_DEPTH = 198
# An escaped NUL in JSON text: `\u0000` preceded by an even number of backslashes.
_ESCAPED_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
TEXT_MIME_TYPE = "text/plain"


@dataclass(frozen=True)
class Payload:
    """A Part as the save statement takes it."""

    kind: ArtifactKind
    mime_type: str | None
    part_json: str
    data: bytes | None
    sha256: bytes | None


def as_part(artifact: object) -> types.Part:
    """``artifact`` as a Part: a Part as it is, a dict (camelCase or snake_case) validated.

    Raises:
        InvalidArgumentError: neither, or a dict that is not a Part.
    """
    if isinstance(artifact, types.Part):
        return artifact
    if isinstance(artifact, Mapping):
        try:
            return types.Part.model_validate(artifact)
        except pydantic.ValidationError as exc:
            # The error's text quotes the input: name only where it failed.
            places = ", ".join(".".join(map(str, e["loc"])) or "the part" for e in exc.errors())
            raise InvalidArgumentError(f"artifact is not a valid Part (at {places})") from None
    raise InvalidArgumentError(
        f"artifact must be a google.genai Part or a dict, not {type(artifact).__name__}"
    )


def checked_json(raw: bytes, what: str) -> str:
    """JSON text jsonb can hold and a read can parse back, from serialised ``raw``.

    Raises:
        InvalidArgumentError: over 1 MiB, holding a NUL character, or nested too deeply.
    """
    if len(raw) > MAX_METADATA_BYTES:
        raise InvalidArgumentError(
            f"{what} is {len(raw)} bytes as JSON; the limit is {MAX_METADATA_BYTES}"
        )
    if b"\\u0000" in raw and _ESCAPED_NUL.search(raw):
        raise InvalidArgumentError(
            f"{what} holds a NUL character (\\u0000), which PostgreSQL's jsonb cannot store"
        )
    # A document is at most as deep as it has brackets, so the exact check is rare.
    if raw.count(b"[") + raw.count(b"{") > _MAX_JSON_DEPTH:
        try:
            pydantic_core.from_json(b"[" + raw + b"]")
        except ValueError:
            raise InvalidArgumentError(
                f"{what} is nested too deeply: at most {_MAX_JSON_DEPTH} levels can be read back"
            ) from None
    return raw.decode()


def metadata_json(value: object) -> str:
    """``custom_metadata`` as JSON object text (None is ``{}``), as ADK's file service writes it.

    Raises:
        InvalidArgumentError: not a dict, a value JSON cannot hold (or a NUL character, a lone
            surrogate), over 1 MiB, or nested too deeply.
    """
    if value is None:
        return "{}"
    if not isinstance(value, Mapping):
        raise InvalidArgumentError(
            f"custom_metadata must be a dict or None, not {type(value).__name__}"
        )
    try:
        raw = pydantic_core.to_json(value, inf_nan_mode="null")
    except (pydantic_core.PydanticSerializationError, ValueError, TypeError, RecursionError):
        raise InvalidArgumentError(
            "custom_metadata cannot be stored as JSON: it holds a value of a type JSON does "
            f"not have, or is nested more than {_MAX_JSON_DEPTH} levels deep"
        ) from None
    return checked_json(raw, "custom_metadata")


def _dump(part: types.Part, exclude: Any) -> str:
    try:
        raw = part.model_dump_json(exclude_none=True, exclude=exclude).encode()
    except (pydantic_core.PydanticSerializationError, ValueError, TypeError, RecursionError):
        raise InvalidArgumentError("artifact holds a field that cannot be stored as JSON") from None
    return checked_json(raw, "artifact (without its payload)")


def split_part(artifact: object, *, max_bytes: int) -> Payload:
    """Split a Part (or its dict form, camelCase or snake_case) into what the tables hold.

    ``inline_data`` wins over ``text``, which wins over ``file_data``, as in ADK's services.

    Raises:
        InvalidArgumentError: not a Part; none of inline_data (with data), text or file_data
            (with a file_uri); a payload over ``max_bytes``; text that is not Unicode; or
            other fields that cannot be stored.
    """
    part = as_part(artifact)
    blob, text, file_data = part.inline_data, part.text, part.file_data
    if blob is not None:
        if not isinstance(blob, types.Blob):
            raise InvalidArgumentError("artifact inline_data must be a google.genai Blob")
        data = blob.data
        if data is None:
            raise InvalidArgumentError("artifact inline_data must contain data")
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise InvalidArgumentError("artifact inline_data.data must be bytes")
        mime_type = blob.mime_type
        if mime_type is not None and not isinstance(mime_type, str):
            raise InvalidArgumentError("artifact inline_data.mime_type must be a string")
        kind: ArtifactKind = "bytes"
        payload: bytes | None = bytes(data)
        part_json = _dump(part, {"inline_data": {"data"}})
    elif text is not None:
        if not isinstance(text, str):
            raise InvalidArgumentError("artifact text must be a string")
        try:
            payload = text.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidArgumentError(
                "artifact text holds a lone surrogate, which is not valid Unicode"
            ) from None
        kind, mime_type = "text", TEXT_MIME_TYPE
        part_json = _dump(part, {"text"})
    elif file_data is not None:
        if not isinstance(file_data, types.FileData) or not file_data.file_uri:
            raise InvalidArgumentError("artifact file_data must have a file_uri")
        kind, payload, mime_type = "part", None, file_data.mime_type
        part_json = _dump(part, None)
    else:
        raise InvalidArgumentError("artifact must have inline_data, text or file_data")
    if payload is not None and len(payload) > max_bytes:
        raise InvalidArgumentError(
            f"artifact is {len(payload)} bytes; the limit is {max_bytes} (max_artifact_bytes)"
        )
    digest = None if payload is None else hashlib.sha256(payload).digest()
    return Payload(kind, mime_type, part_json, payload, digest)


def join_part(kind: str, part_json: str, data: bytes | None) -> types.Part:
    """The Part that was saved, from what :func:`split_part` stored.

    Raises:
        pydantic.ValidationError: the stored JSON is not a Part (a row written by hand).
        UnicodeDecodeError: a text payload that is not UTF-8 (a row written by hand).
    """
    part = types.Part.model_validate_json(part_json)
    if kind == "bytes":
        blob = part.inline_data if part.inline_data is not None else types.Blob()
        return part.model_copy(update={"inline_data": blob.model_copy(update={"data": data})})
    if kind == "text":
        return part.model_copy(update={"text": (data or b"").decode("utf-8")})
    return part
