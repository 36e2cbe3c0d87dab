"""Bench section: forking a 1,000-event session, against doing it through ADK's interface.

ADK has no fork: a user copies a session with ``get_session`` + ``create_session`` (with the
source's session state) + one ``append_event`` per event. That is timed on adk-pg's own
service and on ADK's ``DatabaseSessionService`` (each on its own fresh database on the
benchmark's server), beside adk-pg's ``fork_session`` (one statement, server-side).
"""

from __future__ import annotations

import statistics
import time

from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions
from google.adk.sessions.base_session_service import BaseSessionService
from google.adk.sessions.database_session_service import DatabaseSessionService
from google.genai import types

from adk_pg.adk import PostgresSessionService
from adk_pg.db.dsn import with_database
from adk_pg.schema.admin import throwaway_database
from bench.report import Section

APP, USER = "bench_fork", "user"
EVENTS = 1000


async def _source(service: BaseSessionService) -> str:
    """A 1,000-event session with a text message and a state delta in each event."""
    session = await service.create_session(app_name=APP, user_id=USER, state={"seed": 1})
    for i in range(EVENTS):
        await service.append_event(
            session,
            Event(
                invocation_id=f"inv{i // 4}",
                author="user" if i % 2 == 0 else "agent",
                content=types.Content(role="user", parts=[types.Part(text="x" * 300)]),
                actions=EventActions(state_delta={"turn": i, f"k{i % 10}": i}),
            ),
        )
    return session.id


async def _copy_through_adk(service: BaseSessionService, session_id: str) -> float:
    """get + create + one append per event: what ADK's interface allows."""
    started = time.perf_counter()
    source = await service.get_session(app_name=APP, user_id=USER, session_id=session_id)
    assert source is not None
    state = {k: v for k, v in source.state.items() if not k.startswith(("app:", "user:"))}
    copy = await service.create_session(app_name=APP, user_id=USER, state=state)
    for event in source.events:
        await service.append_event(copy, event.model_copy(update={"actions": EventActions()}))
    return time.perf_counter() - started


async def run(server_dsn: str, reps: int) -> Section:
    """Time each way ``reps`` times; medians and ratios."""
    section = Section(f"fork_session of a {EVENTS:,}-event session vs copying it through ADK's API")
    times: dict[str, list[float]] = {"fork": [], "adk-pg API": [], "ADK database API": []}
    async with (
        throwaway_database(server_dsn, "adk_pg_bench_fork") as ours_dsn,
        throwaway_database(server_dsn, "adk_pg_bench_fork_adk") as adk_dsn,
    ):
        url = with_database(adk_dsn, adk_dsn.rpartition("/")[2], scheme="postgresql+asyncpg")
        async with PostgresSessionService(ours_dsn) as ours, DatabaseSessionService(url) as adk:
            ours_source = await _source(ours)
            adk_source = await _source(adk)
            for _ in range(reps):
                started = time.perf_counter()
                made = await ours.fork_session(app_name=APP, user_id=USER, session_id=ours_source)
                times["fork"].append(time.perf_counter() - started)
                copied = await ours.get_session(app_name=APP, user_id=USER, session_id=made.id)
                if copied is None or len(copied.events) != EVENTS:
                    raise RuntimeError("benchmark self-check failed: the fork is incomplete")
                times["adk-pg API"].append(await _copy_through_adk(ours, ours_source))
                times["ADK database API"].append(await _copy_through_adk(adk, adk_source))
    medians = {name: statistics.median(values) for name, values in times.items()}
    fork = medians["fork"]
    section.data = {"events": EVENTS, "reps": reps, **{f"{k}_s": v for k, v in medians.items()}}
    section.lines = [
        f"{'adk-pg fork_session (1 statement)':<46} {fork * 1000:>9.1f} ms",
        *(
            f"{'get + create + 1,000 appends, ' + name:<46} {medians[name] * 1000:>9.1f} ms"
            f"   ({medians[name] / fork:,.0f} times the fork)"
            for name in ("adk-pg API", "ADK database API")
        ),
        f"medians of {reps} runs; every way copies the same 1,000 events of ~300 characters.",
    ]
    return section
