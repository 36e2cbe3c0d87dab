"""The exception taxonomy, and the one place where driver errors are translated.

Every error adk-pg raises is an :class:`AdkPgError`. Messages name ids, never payloads, and
never contain a password.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg

__all__ = [
    "UNIQUE_VIOLATIONS",
    "AdkPgError",
    "AlreadyExistsError",
    "ConflictError",
    "EventConflictError",
    "InvalidArgumentError",
    "LegacyDataError",
    "MigrationError",
    "NotFoundError",
    "SchemaError",
    "SchemaOutdatedError",
    "SessionNotFoundError",
    "StaleSessionError",
    "StorageError",
    "translate_errors",
    "violates",
]


class AdkPgError(Exception):
    """Base class of every error raised by adk-pg."""


class InvalidArgumentError(AdkPgError, ValueError):
    """An argument was rejected before any SQL ran; nothing was written."""


class NotFoundError(AdkPgError, LookupError):
    """The object named by the ids does not exist."""


class SessionNotFoundError(NotFoundError):
    """The session named by (app_name, user_id, session_id) does not exist."""


class ConflictError(AdkPgError):
    """The write conflicts with what is stored; nothing was written."""


class AlreadyExistsError(ConflictError):
    """A session with that id already exists."""


class EventConflictError(ConflictError):
    """An event with that id is stored in the session with other content.

    Appending the *same* event again (a retry) is a no-op that succeeds; a *different* event
    under a stored id is a caller bug, refused so that neither event is silently lost.
    """


class StaleSessionError(ConflictError, ValueError):
    """The session was modified in storage since it was loaded; reload it and try again."""


class SchemaError(AdkPgError):
    """The database schema is not the one this version of adk-pg expects."""


class SchemaOutdatedError(SchemaError):
    """The database has migrations that are not applied yet (run `make migrate`)."""


class MigrationError(SchemaError):
    """A migration file or the migration ledger is not in a state we can apply."""


class LegacyDataError(AdkPgError):
    """ADK's own tables (``adk-pg import-adk``) are missing, of an unknown version, or hold a
    row adk-pg refuses to load; the message names the row."""


# SQLSTATE classes after which the same call may succeed if simply tried again: the connection
# broke (08), the server is going away or restarting (57P0x), a serialization failure or deadlock
# (40), or the server is out of resources for now (53).
_RETRYABLE_PREFIXES = ("08", "40", "53", "57P01", "57P02", "57P03")

# Named prepared statements that vanish (26000) or collide (42P05) between two calls: the
# connection goes through a pooler in transaction mode, e.g. PgBouncer.
_POOLER_STATEMENT_ERRORS = (
    asyncpg.InvalidSQLStatementNameError,
    asyncpg.DuplicatePreparedStatementError,
)
_POOLER_HINT = (
    "; behind PgBouncer (or another pooler) in transaction mode, turn the statement cache off "
    "with prepared_statement_cache_size=0 (a DSN query option or a keyword)"
)
# asyncio.TimeoutError is the builtin TimeoutError from Python 3.11 on, a separate class before.
_TIMEOUTS = (TimeoutError, asyncio.TimeoutError)


class StorageError(AdkPgError):
    """The database failed the call; ``retryable`` says whether trying again may succeed.

    A retryable error can come after the server committed a write but before the reply came
    back (the connection broke): the outcome of that write is unknown. Appending the same
    event again is safe, as appends are idempotent by event id.

    Attributes:
        sqlstate: the PostgreSQL error code, or None for a client-side or connection failure.
        retryable: True when the same call may succeed if tried again (the connection broke,
            a timeout, a serialization failure, the server restarting); False when it would
            fail the same way (a closed pool, a constraint, bad SQL, a refused login).
    """

    def __init__(self, message: str, *, sqlstate: str | None, retryable: bool) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate
        self.retryable = retryable


def storage_error(exc: BaseException, action: str) -> StorageError:
    """Build the StorageError for a driver exception raised while doing ``action``."""
    if isinstance(exc, asyncpg.PostgresError):
        sqlstate = exc.sqlstate
        retryable = sqlstate is not None and sqlstate.startswith(_RETRYABLE_PREFIXES)
        if sqlstate == "57014":
            return StorageError(
                f"{action}: the statement was cancelled (statement_timeout or a cancel request)",
                sqlstate=sqlstate,
                retryable=True,
            )
        # The server's own message names no payload values for the classes we reach here,
        # but it can quote input; keep only its class name and code.
        hint = _POOLER_HINT if isinstance(exc, _POOLER_STATEMENT_ERRORS) else ""
        return StorageError(
            f"{action}: database error {type(exc).__name__} (SQLSTATE {sqlstate}){hint}",
            sqlstate=sqlstate,
            retryable=retryable,
        )
    if isinstance(exc, _TIMEOUTS):
        return StorageError(
            f"{action}: timed out (command_timeout, pool_timeout or the connect timeout)",
            sqlstate=None,
            retryable=True,
        )
    if isinstance(exc, asyncpg.InterfaceError):
        # Decided by class, not by message: asyncpg raises a plain InterfaceError both for a
        # closed pool or connection and for misuse (a released connection, two operations at
        # once; DataError, a subclass, for an argument it cannot encode). Trying the same call
        # again on the same object fails the same way, so a retry loop would never end. A
        # connection the server dropped shows up as ConnectionDoesNotExistError (08003) or an
        # OSError instead; only if asyncpg notices the drop between taking a connection from
        # the pool and sending the statement does it say InterfaceError, and a false "not
        # retryable" there costs one failed call, where a false "retryable" loops forever.
        # Its text is not kept: DataError's quotes the argument.
        return StorageError(
            f"{action}: the client refused the call ({type(exc).__name__}: a closed pool or "
            "connection, or a call the driver does not allow)",
            sqlstate=None,
            retryable=False,
        )
    # Connection lost or refused: the same call may succeed on a new connection.
    return StorageError(
        f"{action}: connection failed ({type(exc).__name__})", sqlstate=None, retryable=True
    )


_DRIVER_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    # Not an InterfaceError: raised when the server killed the connection mid-protocol and
    # the next statement finds its state machine broken (asyncpg then discards the connection).
    asyncpg.InternalClientError,
    ConnectionError,
    OSError,
    *_TIMEOUTS,
)


# A unique violation as the driver reports it: on Citus, a violation inside a statement the
# coordinator ran in steps comes back as an internal error (XX000) with the worker's message.
UNIQUE_VIOLATIONS = (asyncpg.UniqueViolationError, asyncpg.InternalServerError)


def violates(exc: asyncpg.PostgresError, constraint: str) -> bool:
    """Whether ``exc`` (one of :data:`UNIQUE_VIOLATIONS`) is a violation of ``constraint``: by
    its name, or on Citus by the name of one shard's copy of it (``sessions_pkey_102008``),
    which Citus forwards only in the message."""
    name = exc.constraint_name if isinstance(exc, asyncpg.UniqueViolationError) else None
    if name is None:
        quoted = _QUOTED_CONSTRAINT.match(str(exc))
        name = quoted.group(1) if quoted else ""
    return name == constraint or _SHARD_SUFFIX.fullmatch(name.removeprefix(constraint)) is not None


_QUOTED_CONSTRAINT = re.compile(r'duplicate key value violates unique constraint "([^"]+)"')
_SHARD_SUFFIX = re.compile(r"_\d+")


@contextmanager
def translate_errors(action: str) -> Iterator[None]:
    """Turn driver errors raised inside the block into :class:`StorageError`.

    Errors that callers must tell apart (a duplicate session, a missing session) are raised
    by the store itself from constraint names before they reach here.
    """
    try:
        yield
    except AdkPgError:
        raise
    except asyncpg.UndefinedTableError as exc:
        raise SchemaOutdatedError(
            f"{action}: the adk schema is missing; run `make migrate` (or `adk-pg migrate`)"
        ) from exc
    except _DRIVER_ERRORS as exc:
        raise storage_error(exc, action) from exc
