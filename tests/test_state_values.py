"""State values are stored as ADK's own DatabaseSessionService stores them, on every path.

Each value goes into state through ``create_session`` and through an appended ``state_delta``,
in each scope (session, ``user:``, ``app:``), once into ADK's ``DatabaseSessionService`` and
once into ``PostgresSessionService``; both read it back and must agree. ADK's tables are then
copied with ``adk-pg import-adk`` and read back through adk-pg: the import path agrees too.
Where ADK cannot store a value at all, adk-pg's deliberate difference is named below. Floats
written in exponent form (``1e308``) are the other one: ADK's service on PostgreSQL reads them
back as integers, adk-pg as the same float (``tests/test_numbers.py``).
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import logging
import pathlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from _cli import run_main
from google.adk.events.event import Event
from google.adk.events.event_actions import EventActions
from google.adk.sessions.base_session_service import BaseSessionService
from google.adk.sessions.database_session_service import DatabaseSessionService
from pydantic import BaseModel

from adk_pg.adk import PostgresSessionService
from adk_pg.db.dsn import with_database
from adk_pg.errors import InvalidArgumentError
from adk_pg.schema.admin import throwaway_database


class Colour(enum.Enum):
    RED = "red"


class Model(BaseModel):
    a: int = 1
    b: bytes = b"raw"


@dataclasses.dataclass
class Point:
    x: int = 2


def _callable() -> None:
    """A value with no JSON form: both services store its string form."""


# Every kind of value ADK's database service stores, by name.
VALUES: dict[str, Any] = {
    "bytes": b"abc",
    "nested_bytes": {"k": [b"x", b"\xc3\xa9"]},
    "model_with_bytes": Model(),
    "datetime": datetime.datetime(2024, 1, 2, 3, 4, 5, 6),
    "datetime_utc": datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc),
    "date": datetime.date(2024, 1, 2),
    "time": datetime.time(1, 2, 3),
    "timedelta": datetime.timedelta(seconds=90.5),
    "decimal": decimal.Decimal("1.10"),
    "uuid": uuid.UUID(int=5),
    "set": {3, 1, 2},
    "frozenset": frozenset({"a"}),
    "tuple": (1, "a"),
    "enum": Colour.RED,
    "dataclass": Point(),
    "int_keys": {1: "a"},
    "path": pathlib.PurePosixPath("/a/b"),
    "complex": 1 + 2j,
    "callable": _callable,
    "big_int": 2**70,
    "negative_zero": -0.0,
    "tenth": 0.1,
    "text": "žluťoučký kůň 🐎 \u2028",
    "nested": {"a": [1, None, {"b": True}], "": ""},
    "none": None,
}
SCOPES = ("", "user:", "app:")


@pytest.fixture(scope="module")
async def reference_dsn(server_dsn: str) -> AsyncIterator[str]:
    """An empty database for ADK's DatabaseSessionService."""
    async with throwaway_database(server_dsn, "adk_pg_ref") as dsn:
        yield dsn


@pytest.fixture
async def services(
    db: str, reference_dsn: str
) -> AsyncIterator[tuple[BaseSessionService, PostgresSessionService]]:
    """ADK's database service on emptied tables, and adk-pg's service on the test database."""
    url = with_database(
        reference_dsn, reference_dsn.rpartition("/")[2], scheme="postgresql+asyncpg"
    )
    async with DatabaseSessionService(url) as adk:
        await adk.prepare_tables()
        conn = await asyncpg.connect(reference_dsn)
        try:
            await conn.execute("TRUNCATE events, sessions, app_states, user_states")
        finally:
            await conn.close()
        async with PostgresSessionService(db) as ours:
            yield adk, ours


async def write(service: BaseSessionService, path: str, key: str, value: Any) -> None:
    """Store ``{key: value}`` in session ``s-<path>`` by create_session or by an append."""
    sid = f"s-{path}"
    if path == "create":
        await service.create_session(
            app_name="app", user_id="u", session_id=sid, state={key: value}
        )
        return
    session = await service.create_session(app_name="app", user_id="u", session_id=sid)
    delta = EventActions(state_delta={key: value})
    await service.append_event(session, Event(id="e1", author="a", timestamp=1.0, actions=delta))


async def read(service: BaseSessionService, path: str, key: str) -> tuple[str, str]:
    """The stored value as get_session shows it, and as the event's state_delta shows it."""
    got = await service.get_session(app_name="app", user_id="u", session_id=f"s-{path}")
    assert got is not None
    delta = got.events[-1].actions.state_delta if got.events else {}
    return repr(got.state[key]), repr(delta.get(key))


@pytest.mark.parametrize("name", list(VALUES))
async def test_every_value_reads_back_as_adk_stores_it_on_every_path(
    services: tuple[BaseSessionService, PostgresSessionService],
    db: str,
    admin: asyncpg.Connection,
    reference_dsn: str,
    name: str,
) -> None:
    adk, ours = services
    written = [(path, scope + name) for path in ("create", "append") for scope in SCOPES]
    for path, key in written:
        # Both services warn the same way about the callable; nothing else is logged.
        logging.disable(logging.WARNING)
        try:
            await write(adk, path + key, key, VALUES[name])
            await write(ours, path + key, key, VALUES[name])
        finally:
            logging.disable(logging.NOTSET)
    for path, key in written:
        assert await read(ours, path + key, key) == await read(adk, path + key, key), (path, key)

    # The import path: ADK's tables copied into emptied adk-pg tables read back the same.
    await admin.execute("TRUNCATE adk.events, adk.sessions, adk.app_states, adk.user_states")
    imported = await run_main("import-adk", "--dsn", db, "--from", reference_dsn, "--json")
    assert imported.code == 0, imported
    assert '"sessions_imported": 6' in imported.out, imported
    async with PostgresSessionService(db) as after_import:
        for path, key in written:
            expected = await read(adk, path + key, key)
            assert await read(after_import, path + key, key) == expected, (path, key)


@pytest.mark.parametrize(
    ("name", "value"),
    [("not_utf8", b"\xff\x00"), ("nested_not_utf8", {"k": [b"\xfe"]})],
)
@pytest.mark.parametrize("path", ["create", "append"])
async def test_bytes_that_are_not_utf8_are_refused_before_anything_is_written(
    services: tuple[BaseSessionService, PostgresSessionService],
    admin: asyncpg.Connection,
    name: str,
    value: Any,
    path: str,
) -> None:
    # Deliberate difference: ADK's database service fails with a raw UnicodeDecodeError.
    adk, ours = services
    with pytest.raises(UnicodeDecodeError):
        await write(adk, path, name, value)
    before = await admin.fetch("SELECT * FROM adk.events")
    with pytest.raises(InvalidArgumentError, match="bytes that are not UTF-8 text"):
        await write(ours, path, "user:" + name, value)
    assert await admin.fetch("SELECT * FROM adk.events") == before
    assert await admin.fetchval("SELECT count(*) FROM adk.user_states") == 0


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
async def test_nan_and_infinity_are_stored_as_null_where_adk_fails(
    services: tuple[BaseSessionService, PostgresSessionService], value: float
) -> None:
    # Deliberate difference: ADK's database service sends NaN to jsonb, which refuses it
    # (DBAPIError); adk-pg stores null, as pydantic's JSON mode writes these floats.
    adk, ours = services
    with pytest.raises(Exception, match="json"):
        await write(adk, "append", "f", value)
    await write(ours, "append", "f", value)
    assert await read(ours, "append", "f") == ("None", "None")
