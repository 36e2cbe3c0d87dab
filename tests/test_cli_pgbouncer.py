"""The ``adk-pg`` command through PgBouncer in transaction mode.

PgBouncer refuses startup parameters it does not track (08P01 'unsupported startup
parameter'), so the command must send none but ``application_name``; exports must still carry
every timestamp exactly, whatever the server connection's ``extra_float_digits``.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import unquote, urlsplit

import pytest
from _cli import fill, run_main
from _pgbouncer import PgBouncer, run_pgbouncer

from adk_pg.sessions.store import SessionStore


@pytest.fixture(scope="module")
def bouncer(dsn: str) -> Iterator[PgBouncer]:
    """PgBouncer in front of the run's database, as ``adk`` (2 server connections)."""
    name = unquote(urlsplit(dsn).path.lstrip("/"))
    with run_pgbouncer(dsn, {"adk": (name, 2)}) as running:
        yield running


async def test_commands_run_through_transaction_pooling(
    store: SessionStore, db: str, bouncer: PgBouncer
) -> None:
    await fill(store)
    through = bouncer.dsn("adk", "prepared_statement_cache_size=0")
    for args in (["status"], ["migrate", "--check"], ["sessions", "list"]):
        result = await run_main(*args, "--dsn", through)
        assert result.code == 0, (args, result)
    direct = await run_main("export", "--dsn", db)
    bounced = await run_main("export", "--dsn", through)
    assert (direct.code, bounced.code) == (0, 0), (direct, bounced)
    # Everything but the header's exported_at: the same bytes, timestamps to the bit.
    assert bounced.out.splitlines()[1:] == direct.out.splitlines()[1:]
    assert len(direct.out.splitlines()) > 3
