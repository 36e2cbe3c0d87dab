"""Argument checks for the artifact store, done before any SQL runs: ids, names, scope, limits.

A filename is a name, never a path: ``"../x"``, ``"/etc/passwd"`` and ``"a/b.png"`` are stored
and read back verbatim, and nothing here ever touches a file system. What a key column cannot
hold (a NUL character, a lone surrogate, more than its length) is refused with
:class:`~adk_pg.errors.InvalidArgumentError`, naming the argument and never its value's payload.
"""

from __future__ import annotations

from dataclasses import dataclass

from adk_pg.errors import InvalidArgumentError

__all__ = [
    "DEFAULT_MAX_ARTIFACT_BYTES",
    "MAX_ARTIFACT_BYTES_CEILING",
    "MAX_FILENAME_BYTES",
    "MAX_ID_LENGTH",
    "MAX_VERSION",
    "USER_PREFIX",
    "ArtifactKey",
    "artifact_key",
    "max_artifact_bytes",
    "optional_id",
    "require_id",
    "row_limit",
    "scope_session_id",
    "version",
]

USER_PREFIX = "user:"
MAX_ID_LENGTH = 128  # the varchar(128) of app_name, user_id and session_id
MAX_FILENAME_BYTES = 1024  # artifacts_filename_length: UTF-8 bytes, as object stores count
MAX_VERSION = 2**31 - 1  # an integer column
DEFAULT_MAX_ARTIFACT_BYTES = 64 * 1024 * 1024
# A bytea value and the message carrying it must fit in PostgreSQL's 1 GiB allocation limit;
# 1 MiB is left for the rest of the statement.
MAX_ARTIFACT_BYTES_CEILING = 1023 * 1024 * 1024
MAX_ROW_LIMIT = 10_000


@dataclass(frozen=True)
class ArtifactKey:
    """Where one artifact is stored: ``session_id`` is ``""`` for a user-scoped artifact, whose
    ``filename`` then starts with ``user:``."""

    app_name: str
    user_id: str
    session_id: str
    filename: str

    @property
    def user_scoped(self) -> bool:
        """True for an artifact every session of the user sees."""
        return self.session_id == ""


def _text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{what} must be a string, not {type(value).__name__}")
    if "\x00" in value:
        raise InvalidArgumentError(f"{what} contains a NUL character")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidArgumentError(
                f"{what} holds a lone surrogate, which is not valid Unicode"
            ) from None
    return value


def require_id(value: object, what: str) -> str:
    """Check an app name, user id or session id: a non-blank string of at most 128 characters.

    The same rule as the session store's ids, so every session can keep artifacts.

    Raises:
        InvalidArgumentError: not a string, blank, too long, or holding a NUL character or a
            lone surrogate.
    """
    text = _text(value, what)
    if not text.strip():
        raise InvalidArgumentError(f"{what} must not be empty or blank")
    if len(text) > MAX_ID_LENGTH:
        raise InvalidArgumentError(
            f"{what} is {len(text)} characters long; the limit is {MAX_ID_LENGTH}"
        )
    return text


def optional_id(value: object, what: str) -> str | None:
    """:func:`require_id`, or None.

    Raises:
        InvalidArgumentError: as :func:`require_id`.
    """
    return None if value is None else require_id(value, what)


def _filename(value: object) -> str:
    name = _text(value, "filename")
    if not name.strip() or name == USER_PREFIX:
        raise InvalidArgumentError("filename must name a file: it is empty or blank")
    return name


def artifact_key(
    app_name: object, user_id: object, filename: object, session_id: object
) -> ArtifactKey:
    """Resolve where an artifact lives, as ADK's services do.

    A ``user:`` filename is user-scoped whatever ``session_id`` says; without the prefix it
    belongs to ``session_id``, and to the user when ``session_id`` is None (ADK's base class
    says so; it is stored as ``user:<filename>``, the same artifact as that name).

    Raises:
        InvalidArgumentError: a bad id or filename, or a filename over 1,024 UTF-8 bytes.
    """
    app = require_id(app_name, "app_name")
    user = require_id(user_id, "user_id")
    session = optional_id(session_id, "session_id")
    name = _filename(filename)
    if name.startswith(USER_PREFIX):
        key = ArtifactKey(app, user, "", name)
    elif session is None:
        key = ArtifactKey(app, user, "", USER_PREFIX + name)
    else:
        key = ArtifactKey(app, user, session, name)
    size = len(key.filename.encode("utf-8"))
    if size > MAX_FILENAME_BYTES:
        raise InvalidArgumentError(
            f"filename is {size} bytes long in UTF-8; the limit is {MAX_FILENAME_BYTES}"
        )
    return key


def scope_session_id(session_id: object) -> str | None:
    """Check the ``session_id`` of a listing: None (user scope only) or a session id.

    Raises:
        InvalidArgumentError: a bad session id.
    """
    return optional_id(session_id, "session_id")


def version(value: object) -> int | None:
    """Check a version argument: None (the latest) or an int.

    Raises:
        InvalidArgumentError: not an int (a bool is not a version).
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgumentError(f"version must be an int or None, not {type(value).__name__}")
    return value


def max_artifact_bytes(value: object) -> int:
    """Check the ``max_artifact_bytes`` option: an int from 1 to 1,023 MiB.

    Raises:
        InvalidArgumentError: out of range or not an int.
    """
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not 0 < value <= MAX_ARTIFACT_BYTES_CEILING
    ):
        raise InvalidArgumentError(
            f"max_artifact_bytes must be an int from 1 to {MAX_ARTIFACT_BYTES_CEILING}"
        )
    return value


def row_limit(value: object) -> int:
    """Check the ``limit`` of a listing: an int from 1 to 10,000.

    Raises:
        InvalidArgumentError: out of range or not an int.
    """
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ROW_LIMIT:
        raise InvalidArgumentError(f"limit must be an int from 1 to {MAX_ROW_LIMIT}")
    return value
