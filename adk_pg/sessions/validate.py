"""Argument checks, done before any SQL runs: ids, numbers, timestamps, state keys.

Every public store method goes through here first, so bad input raises
:class:`~adk_pg.errors.InvalidArgumentError` and nothing reaches the database. JSON values
are checked where they are encoded (:mod:`adk_pg.sessions.encode`).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from typing import Any

from adk_pg.db.values import check_id_text, epoch_seconds, require_id, unicode_text
from adk_pg.errors import InvalidArgumentError

MAX_PAGE_SIZE = 10_000


def session_id_or_new(value: object, what: str = "session_id") -> str:
    """Normalise a session id for create: stripped, and a fresh uuid when None or blank.

    This is what ADK's InMemorySessionService does.

    Raises:
        InvalidArgumentError: not a string (nor None), too long, or holding a NUL character.
    """
    if value is None:
        return str(uuid.uuid4())
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{what} must be a string, not {type(value).__name__}")
    stripped = value.strip()
    if not stripped:
        return str(uuid.uuid4())
    check_id_text(stripped, what)
    return stripped


def existing_session_id(value: object) -> str:
    """Normalise the id of a session that should exist: stripped, non-blank.

    The same rule as :func:`session_id_or_new`: the id is stripped before its length is
    checked, so every method accepts exactly the ids create_session stores.

    Raises:
        InvalidArgumentError: not a string, blank, too long, or holding a NUL character.
    """
    if not isinstance(value, str):
        raise InvalidArgumentError(f"session_id must be a string, not {type(value).__name__}")
    return require_id(value.strip(), "session_id")


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


def revision(value: object) -> int | None:
    """Check ``expected_revision``: None (do not check) or an int a bigint column holds.

    Raises:
        InvalidArgumentError: negative, too large, or not an int.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
        raise InvalidArgumentError("expected_revision must be an int from 0 to 2**63-1, or None")
    return value


def watch_scope(
    app_name: object, user_id: object, session_id: object, after: object, idle_check: object
) -> tuple[str, str | None, str | None, int | None, float]:
    """Check what a change feed follows, and its position and idle check.

    Raises:
        InvalidArgumentError: a bad id; a session without its user; ``after`` without a
            session, or not a revision; ``idle_check`` not a positive number of seconds.
    """
    app = require_id(app_name, "app_name")
    user = None if user_id is None else require_id(user_id, "user_id")
    session = None if session_id is None else existing_session_id(session_id)
    if session is not None and user is None:
        raise InvalidArgumentError("session_id needs its user_id (ids are unique per user)")
    if after is not None:
        if session is None:
            raise InvalidArgumentError(
                "after= is a session's revision: give it with user_id and session_id"
            )
        if isinstance(after, bool) or not isinstance(after, int) or not 0 <= after < 2**63:
            raise InvalidArgumentError("after must be an int from 0 to 2**63-1, or None")
    if (
        isinstance(idle_check, bool)
        or not isinstance(idle_check, (int, float))
        or not 0 < idle_check < math.inf
    ):
        raise InvalidArgumentError("idle_check must be a positive number of seconds")
    return app, user, session, after, float(idle_check)


def event_timestamp(value: object) -> float:
    """Check an event timestamp: a finite epoch that PostgreSQL's timestamptz can hold.

    Raises:
        InvalidArgumentError: not finite, or outside years 1..9999.
    """
    return epoch_seconds(value, "event.timestamp")


def state_delta_keys(delta: Mapping[str, Any]) -> None:
    """Check the keys of a state delta: pydantic would write a lone surrogate as U+FFFD.

    Raises:
        InvalidArgumentError: a key holds a lone surrogate.
    """
    for key in delta:
        if not key.isascii():
            unicode_text(key, "event.actions.state_delta key")


def state_update(delta: object, author: object) -> dict[str, Any]:
    """Check ``update_session_state``'s arguments; return the delta as a plain dict.

    Raises:
        InvalidArgumentError: not a mapping with string keys, empty, a ``temp:`` key (those
            live for one invocation; an update outside a turn stores state), or a blank author.
    """
    if not isinstance(delta, Mapping) or not all(isinstance(k, str) for k in delta):
        raise InvalidArgumentError("state_delta must be a mapping with string keys")
    if not delta:
        raise InvalidArgumentError("state_delta must not be empty")
    temp = sorted(k for k in delta if k.startswith("temp:"))
    if temp:
        raise InvalidArgumentError(
            f"state_delta holds temp: keys ({', '.join(map(repr, temp[:3]))}): temp: state lives "
            "for one invocation and is never stored; use a key without temp:"
        )
    if not isinstance(author, str) or not author.strip():
        raise InvalidArgumentError("author must be a non-empty string")
    if "\x00" in author:
        raise InvalidArgumentError("author holds a NUL character, which PostgreSQL cannot store")
    unicode_text(author, "author")
    state_delta_keys(delta)
    return dict(delta)
