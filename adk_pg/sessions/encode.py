"""A session's state and state deltas as the JSON objects of its three rows, and an event
as the JSON its append stores.

App and user keys lose their prefix and ``temp:`` keys are dropped, as ADK routes them; the
values become JSON text as :func:`adk_pg.db.values.json_text` makes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adk_pg.db import values
from adk_pg.db.values import json_text
from adk_pg.errors import InvalidArgumentError
from adk_pg.sessions import validate
from adk_pg.sessions.models import APP_PREFIX, TEMP_PREFIX, USER_PREFIX, Event

__all__ = ["route_state", "state_json", "stored_event"]


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


def stored_event(event: object) -> tuple[Event, dict[str, Any], str] | None:
    """What an append stores of ``event``: the event without ``temp:`` keys in its state
    delta, that delta, and the event as JSON (snake_case, no null members); None for a
    partial event, which is not stored.

    Raises:
        InvalidArgumentError: not an adk_pg Event, a bad timestamp or delta key, or text
            jsonb cannot hold.
    """
    if not isinstance(event, Event):
        raise InvalidArgumentError(f"event must be an adk_pg Event, not {type(event).__name__}")
    if event.partial:
        return None
    delta = event.actions.state_delta
    validate.state_delta_keys(delta)
    if any(key.startswith(TEMP_PREFIX) for key in delta):
        delta = {k: v for k, v in delta.items() if not k.startswith(TEMP_PREFIX)}
        event = event.model_copy(
            update={"actions": event.actions.model_copy(update={"state_delta": delta})}
        )
    validate.event_timestamp(event.timestamp)
    kept = event
    event_json = values.dump_json(
        lambda **kw: kept.model_dump_json(exclude_none=True, **kw), "event", kept
    )
    return event, delta, event_json
