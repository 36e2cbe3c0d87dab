"""A session's state and state deltas as the JSON objects of its three rows.

App and user keys lose their prefix and ``temp:`` keys are dropped, as ADK routes them; the
values become JSON text as :func:`adk_pg.db.values.json_text` makes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adk_pg.db.values import json_text
from adk_pg.errors import InvalidArgumentError
from adk_pg.sessions.models import APP_PREFIX, TEMP_PREFIX, USER_PREFIX

__all__ = ["route_state", "state_json"]


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
