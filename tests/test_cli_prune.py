"""``adk-pg prune``: old sessions go in small batches, live ones stay; by real commands."""

from __future__ import annotations

import argparse
import io
import json
import time
from datetime import timedelta

import asyncpg
import pytest
from _cli import adk_pg, run_main

from adk_pg import Event
from adk_pg.cli._output import parse_duration
from adk_pg.sessions.store import SessionStore

DAY = 86_400.0


async def make(
    store: SessionStore,
    admin: asyncpg.Connection,
    app: str,
    session_id: str,
    age_days: float,
    *,
    event_age_days: float = 0.0,
) -> None:
    """A session with app/user state and two events, last written ``age_days`` ago.

    The server wrote it now; its write time is moved back as if it had been written then.
    Its events carry timestamps from ``event_age_days`` ago (what the client chose).
    """
    await store.create_session(
        app_name=app, user_id="u", session_id=session_id, state={"app:a": 1, "user:b": 2}
    )
    stamp = time.time() - event_age_days * DAY
    for n in range(2):
        await store.append_event(
            app_name=app,
            user_id="u",
            session_id=session_id,
            event=Event(author="user", timestamp=stamp + n),
            expected_revision=n,
        )
    await admin.execute(
        "UPDATE adk.sessions SET write_time = now() - make_interval(secs => $3)"
        " WHERE app_name = $1 AND id = $2",
        app,
        session_id,
        age_days * DAY,
    )


async def ids(admin: asyncpg.Connection) -> list[str]:
    return [r["id"] for r in await admin.fetch("SELECT id FROM adk.sessions ORDER BY id")]


async def test_prune_deletes_old_sessions_in_batches(
    store: SessionStore, db: str, admin: asyncpg.Connection
) -> None:
    for n in range(5):
        await make(store, admin, "a", f"a-old{n}", 40)
    await make(store, admin, "a", "a-new", 1)
    await make(store, admin, "b", "b-old", 31)
    await make(store, admin, "b", "b-new", 29)

    dry = await adk_pg("prune", "--dsn", db, "--older-than", "30d", "--dry-run")
    dry_b = await run_main(
        "prune", "--dsn", db, "--older-than", "720h", "--dry-run", "--app", "b", "--json"
    )
    assert dry.code == 1, dry
    assert dry.out.startswith("would delete 6 sessions (12 events) not written since ")
    report = json.loads(dry_b.out)
    assert (report["dry_run"], report["sessions"], report["events"]) == (True, 1, 2)
    assert len(await ids(admin)) == 8

    pruned = await run_main(
        "prune", "--dsn", db, "--older-than", "30d", "--app", "a", "--batch-size", "2"
    )
    assert pruned.code == 0, pruned
    assert pruned.out.startswith("deleted 5 sessions (10 events) of app a not written since ")
    # Batches of 2 walk the 6 sessions of app a: 3 statements, each deleting what it found old.
    assert pruned.out.rstrip().endswith("UTC in 3 batches")
    assert await ids(admin) == ["a-new", "b-new", "b-old"]

    everything = await adk_pg("prune", "--dsn", db, "--older-than", "30d", "--json")
    assert everything.code == 0, everything
    report = json.loads(everything.out)
    assert (report["dry_run"], report["sessions"], report["events"]) == (False, 1, 2)
    assert report["cutoff"].endswith("Z")
    assert await ids(admin) == ["a-new", "b-new"]
    # Their events went by cascade; app and user state stay.
    assert await admin.fetchval("SELECT count(*) FROM adk.events") == 4
    assert await admin.fetchval("SELECT count(*) FROM adk.app_states") == 2
    assert await admin.fetchval("SELECT count(*) FROM adk.user_states") == 2

    nothing = await run_main("prune", "--dsn", db, "--older-than", "5w")
    nothing_dry = await run_main("prune", "--dsn", db, "--older-than", "1000h", "--dry-run")
    bad = await run_main("prune", "--dsn", db, "--older-than", "30 days")
    assert nothing.code == 0, nothing
    assert nothing.out.startswith("deleted 0 sessions (0 events)")
    assert "in 0 batches" in nothing.out
    assert nothing_dry.code == 0, nothing_dry
    assert bad.code == 2
    assert "invalid duration '30 days'" in bad.err


@pytest.mark.single_server("FOR UPDATE SKIP LOCKED: Citus waits for the row instead")
async def test_a_session_another_transaction_holds_is_skipped_never_waited_for(
    store: SessionStore, db: str, admin: asyncpg.Connection
) -> None:
    for n in range(3):
        await make(store, admin, "a", f"a-old{n}", 40)
    holder = await asyncpg.connect(db)
    try:
        async with holder.transaction():
            await holder.execute(
                "SELECT 1 FROM adk.sessions"
                " WHERE app_name = 'a' AND user_id = 'u' AND id = 'a-old1' FOR UPDATE"
            )
            pruned = await run_main("prune", "--dsn", db, "--older-than", "30d", "--app", "a")
    finally:
        await holder.close()
    assert pruned.code == 0, pruned
    assert pruned.out.startswith("deleted 2 sessions (4 events) of app a not written since ")
    assert await ids(admin) == ["a-old1"]


class FakeTerminal(io.StringIO):
    """Standard input that says it is a terminal, holding the answer typed."""

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("answer", "deleted"), [("n\n", False), ("\n", False), ("y\n", True)])
async def test_on_a_terminal_prune_asks_first(
    store: SessionStore,
    db: str,
    admin: asyncpg.Connection,
    monkeypatch: pytest.MonkeyPatch,
    answer: str,
    deleted: bool,
) -> None:
    await make(store, admin, "a", "old", 40)
    monkeypatch.setattr("sys.stdin", FakeTerminal(answer))
    result = await run_main("prune", "--dsn", db, "--older-than", "30d")
    assert "delete 1 sessions (2 events) not written since" in result.err
    assert result.code == (0 if deleted else 1), result
    assert await ids(admin) == ([] if deleted else ["old"])
    if not deleted:
        assert "nothing deleted" in result.err
        monkeypatch.setattr("sys.stdin", FakeTerminal(""))
        forced = await run_main("prune", "--dsn", db, "--older-than", "30d", "--yes")
        assert forced.code == 0, forced
        assert "[y/N]" not in forced.err
        assert await ids(admin) == []


async def test_the_servers_clock_of_the_last_write_decides_not_event_timestamps(
    store: SessionStore, db: str, admin: asyncpg.Connection
) -> None:
    # Written just now, with events a skewed client dated 400 days back: in use, kept.
    await make(store, admin, "a", "backdated", 0, event_age_days=400)
    # Its events look new, but the server last wrote it 40 days ago: pruned.
    await make(store, admin, "a", "idle", 40, event_age_days=0)
    pruned = await run_main("prune", "--dsn", db, "--older-than", "30d", "--json")
    assert pruned.code == 0, pruned
    assert json.loads(pruned.out)["sessions"] == 1
    assert await ids(admin) == ["backdated"]
    # The store's clock for ADK (last_update_time) is still the event timestamp.
    got = await store.get_session(app_name="a", user_id="u", session_id="backdated")
    assert got is not None
    assert got.last_update_time < time.time() - 399 * DAY


async def test_each_write_moves_the_write_time_on(
    store: SessionStore, admin: asyncpg.Connection
) -> None:
    await make(store, admin, "a", "s", 40, event_age_days=40)
    await store.append_event(
        app_name="a",
        user_id="u",
        session_id="s",
        event=Event(author="user", timestamp=time.time() - 50 * DAY),
        expected_revision=2,
    )
    age = await admin.fetchval("SELECT now() - write_time FROM adk.sessions WHERE id = 's'")
    assert age < timedelta(minutes=1)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30d", 30 * DAY),
        ("12h", 43_200),
        ("90min", 5_400),
        ("45s", 45),
        ("2w", 14 * DAY),
        ("1d12h", 1.5 * DAY),
        ("1D", DAY),
    ],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "30", "d", "30x", "0d", "-1d", "1.5d", "30 d", "d30"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="invalid duration"):
        parse_duration(text)


@pytest.mark.parametrize("text", ["1m", "6M", "3mo", "1d1m"])
def test_units_that_could_mean_minutes_or_months_are_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="minutes or months"):
        parse_duration(text)
