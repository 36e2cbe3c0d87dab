"""Stream one session's new events to a browser as server-sent events, from adk-pg's change feed.

Run it from the repository root, with the sessions' database in ``$ADK_PG_DSN`` (else
``$POSTGRES_URL``, else postgresql://postgres:postgres@127.0.0.1:5432/adk_sessions):

    uvicorn examples.sse_session_events:app
    python examples/sse_session_events.py --port 8000

and follow a session from a browser (the session must exist):

    new EventSource("/apps/APP/users/USER/sessions/SESSION/events/stream")
        .onmessage = (m) => console.log(m.lastEventId, JSON.parse(m.data));

Each event appended to that session from then on, by any process using the database (another
replica, ``adk api_server``, a Runner), arrives as one message: ``id:`` the session revision its
append produced, ``data:`` the ADK Event as JSON (camelCase, as ``adk api_server`` sends it).
A reconnecting EventSource sends the last id back (``Last-Event-ID``) and resumes right after
it, missing nothing; ``?after=REVISION`` does the same by hand (the header wins: an
EventSource keeps its URL). When the session is deleted, an ``event: deleted`` message ends the
stream. A session is followed on a connection of its own (``watch_session``), closed when the
browser goes away.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import FastAPI, Header, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from google.adk.events import Event
from google.adk.sessions.base_session_service import GetSessionConfig
from starlette.background import BackgroundTask

from adk_pg.adk import PostgresSessionService

DEFAULT_DSN = "postgresql://postgres:postgres@127.0.0.1:5432/adk_sessions"
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}  # no proxy buffering


def resolve_dsn() -> str:
    """``$ADK_PG_DSN``, else ``$POSTGRES_URL``, else the local default."""
    return os.environ.get("ADK_PG_DSN") or os.environ.get("POSTGRES_URL") or DEFAULT_DSN


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """One session service (one pool) for the whole app, closed at shutdown."""
    async with PostgresSessionService(resolve_dsn()) as service:
        app.state.sessions = service
        yield


app = FastAPI(title="adk-pg session events (SSE)", lifespan=lifespan)


async def current_revision(
    service: PostgresSessionService, app_name: str, user_id: str, session_id: str
) -> int | None:
    """The session's revision now (None: no such session): where following it starts.

    Raises:
        HTTPException: 400 for a malformed id.
    """
    try:
        # The ADK read checks the ids and opens the service's pool, and with it the service's
        # ``store`` (adk-pg's own SessionStore), whose sessions carry their revision.
        config = GetSessionConfig(num_recent_events=0)
        found = await service.get_session(
            app_name=app_name, user_id=user_id, session_id=session_id, config=config
        )
    except ValueError as exc:  # adk_pg.adk.InvalidArgumentError
        raise HTTPException(status_code=400, detail=str(exc)) from None
    store = service.store
    if found is None or store is None:
        return None
    session = await store.get_session(
        app_name=app_name, user_id=user_id, session_id=session_id, num_recent_events=0
    )
    return None if session is None else session.revision


def resume_position(last_event_id: str | None, after: int | None) -> int | None:
    """The revision to resume after: ``Last-Event-ID``, else ``?after=``, else None (now).

    Raises:
        HTTPException: 400 for a ``Last-Event-ID`` that is not a revision.
    """
    if last_event_id is None or not last_event_id.strip():
        return after
    try:
        position = int(last_event_id)
    except ValueError:
        position = -1
    if position < 0:
        raise HTTPException(status_code=400, detail="Last-Event-ID must be a revision")
    return position


async def sse_messages(
    events: AsyncGenerator[Event, None], after: int
) -> AsyncGenerator[str, None]:
    """The events as SSE messages, each with its revision as id; closes the feed in the end."""
    revision = after
    try:
        yield "retry: 1000\n\n"  # sent at once: the browser knows the stream is open
        async for event in events:
            # Only an append moves a session's revision, by one, and the feed yields the
            # events appended after ``after`` in that order: this one's append made it +1.
            revision += 1
            data = event.model_dump_json(by_alias=True, exclude_none=True)
            yield f"id: {revision}\ndata: {data}\n\n"
        yield "event: deleted\ndata: {}\n\n"
    finally:
        await events.aclose()  # closes the feed's own connection


@app.get("/apps/{app_name}/users/{user_id}/sessions/{session_id}/events/stream")
async def stream_session_events(
    request: Request,
    app_name: str,
    user_id: str,
    session_id: str,
    after: Annotated[int | None, Query(ge=0, description="resume after this revision")] = None,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    """The session's events appended after ``Last-Event-ID`` / ``?after=`` / now, as SSE."""
    service: PostgresSessionService = request.app.state.sessions
    revision = await current_revision(service, app_name, user_id, session_id)
    if revision is None:
        raise HTTPException(status_code=404, detail="session not found")
    position = resume_position(last_event_id, after)
    if position is None:
        position = revision  # from now: the feed reads whatever is appended after it
    elif position > revision:  # revisions only grow: the session was deleted and created again
        raise HTTPException(status_code=409, detail=f"the session is at revision {revision}")
    events = service.watch_session(
        app_name=app_name, user_id=user_id, session_id=session_id, after_revision=position
    )
    body = sse_messages(events, position)
    # When the browser goes away Starlette stops iterating the body, which may then sit at a
    # ``yield``: closing it afterwards (a no-op once it has finished) closes the feed.
    return StreamingResponse(
        body,
        media_type="text/event-stream",
        headers=SSE_HEADERS,
        background=BackgroundTask(body.aclose),
    )


def main() -> None:
    """Serve the app with uvicorn (``--host``, ``--port``)."""
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    # Open streams never end by themselves: give them a few seconds at shutdown, then cancel.
    uvicorn.run(app, host=args.host, port=args.port, timeout_graceful_shutdown=5)


if __name__ == "__main__":
    main()
