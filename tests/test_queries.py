"""The SQL files: headers checked by the loader, every file prepared against the schema."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import asyncpg
import pytest

from adk_pg.db.queries import Query, QueryFileError, load_queries, parse_query
from adk_pg.ops.queries import DOCTOR_QUERIES
from adk_pg.ops.queries import QUERIES as OPS_QUERIES
from adk_pg.sessions.queries import QUERIES as SESSION_QUERIES
from adk_pg.sessions.queries import SessionQueries

GOOD = """-- name: {name}
-- Say hello.
-- $1 who text
-- returns: one row
SELECT 'hello; $9 in a string is not a parameter', $1::text;
"""


def all_queries() -> list[Query]:
    """Every statement the product runs on adk-pg's own schema (sql/legacy/ reads ADK's;
    doctor_statements reads pg_stat_statements, prepared in test_doctor.py)."""
    return [
        getattr(registry, f.name)
        for registry in (SESSION_QUERIES, OPS_QUERIES, DOCTOR_QUERIES)
        for f in dataclasses.fields(registry)
        if f.name != "doctor_statements"
    ]


@pytest.mark.parametrize("query", all_queries(), ids=lambda q: q.name)
async def test_every_file_prepares_with_its_documented_parameters(
    query: Query, admin: asyncpg.Connection
) -> None:
    statement = await admin.prepare(query.sql)
    assert len(statement.get_parameters()) == len(query.params)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.sql"
    path.write_text(text)
    return path


def test_a_well_formed_file_parses(tmp_path: Path) -> None:
    query = parse_query(write(tmp_path, "hello", GOOD.format(name="hello")))
    assert query.name == "hello"
    assert [(p.position, p.name, p.type) for p in query.params] == [(1, "who", "text")]
    assert query.returns == "one row"
    assert query.sql.startswith("SELECT")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("SELECT 1;", "first line must be '-- name"),
        (GOOD.format(name="other"), "names 'other' but the file is 'bad'"),
        (GOOD.format(name="bad").replace("$1::text", "$2::text"), r"documents \$\[1\]"),
        (GOOD.format(name="bad").replace("-- returns: one row\n", ""), "no '-- returns"),
        (GOOD.format(name="bad").replace("-- Say hello.\n", ""), "no description"),
        ("-- name: bad\n-- Nothing.\n-- returns: none\n", "no SQL"),
        (GOOD.format(name="bad") + "SELECT 2;\n", "exactly one statement"),
    ],
)
def test_a_malformed_file_is_refused_with_its_name(tmp_path: Path, text: str, reason: str) -> None:
    path = write(tmp_path, "bad", text)
    with pytest.raises(QueryFileError, match=r"bad\.sql: .*" + reason):
        parse_query(path)


def test_a_parameter_used_twice_is_documented_once(tmp_path: Path) -> None:
    text = GOOD.format(name="twice").replace("$1::text", "$1::text, $1")
    query = parse_query(write(tmp_path, "twice", text))
    assert query.name == "twice"
    assert [p.position for p in query.params] == [1]


def test_the_registry_must_match_the_files(tmp_path: Path) -> None:
    write(tmp_path, "hello", GOOD.format(name="hello"))
    with pytest.raises(QueryFileError, match="no file for the queries"):
        load_queries(tmp_path, SessionQueries)
