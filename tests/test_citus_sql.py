"""Static checks, run everywhere, that every statement adk-pg sends can run on Citus.

Each file of ``sql/{sessions,memory,artifacts,ops}`` says in a ``-- citus:`` header line which
shards it reaches; a hot call of one session must reach one. The constructs Citus refuses on
distributed tables (found by running the suite on a real coordinator) appear only in files
that are not sent there: the change feed's (one server only) and those replaced on Citus by
their ``_citus`` variant.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from adk_pg.db.paths import resource_dir

SQL = resource_dir("sql")
FILES = sorted(
    path
    for domain in ("sessions", "memory", "artifacts", "ops")
    for path in (SQL / domain).glob("*.sql")
)
MARK = re.compile(r"^-- citus: (.+)$", re.MULTILINE)
KINDS = (
    "one shard (user_id = $2)",
    "one shard (the user_id of the line)",
    "one shard with a user",
    "every shard",
    "reference",
    "one server",
    "no table",
)

# The calls of one user's session, memories and artifacts that ADK makes on every turn.
HOT = {
    "append_event", "create_session", "delete_session", "fork_session", "get_session",
    "get_user_state", "list_events", "list_user_sessions", "add_memories", "search_memories",
    "list_memories", "delete_memory", "save_artifact", "load_artifact", "list_artifact_keys",
    "list_versions", "list_artifact_versions", "get_artifact_version", "delete_artifact",
}  # fmt: skip

# What Citus refuses on distributed tables, as its error says it.
REFUSED = {
    # "functions used in the DO UPDATE SET clause of INSERTs on distributed tables must be
    # marked IMMUTABLE"
    "a non-immutable function in ON CONFLICT DO UPDATE SET": re.compile(
        r"DO UPDATE\s+SET(?:(?!RETURNING|\)\s*,|;).)*?\b(now|clock_timestamp|statement_timestamp"
        r"|transaction_timestamp|random|gen_random_uuid|timeofday)\s*\(",
        re.DOTALL | re.IGNORECASE,
    ),
    # "recursive CTEs are only supported when they contain a filter on the distribution column"
    "a recursive CTE": re.compile(r"\bWITH\s+RECURSIVE\b", re.IGNORECASE),
    # "could not run distributed query with FOR UPDATE/SHARE commands" (over many shards)
    "a row lock over many shards": re.compile(r"\bFOR\s+(UPDATE|SHARE)\b", re.IGNORECASE),
}


def mark(path: Path) -> str:
    found = MARK.findall(path.read_text(encoding="utf-8"))
    assert len(found) == 1, f"{path.name}: needs exactly one '-- citus:' header line"
    return str(found[0])


def sent_to_citus(path: Path) -> bool:
    """Whether the file runs on a distributed database (not a one-server file, not one that a
    ``_citus`` variant replaces there)."""
    return not mark(path).startswith("one server") and not (
        path.with_name(f"{path.stem}_citus.sql").exists()
    )


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_each_file_says_which_shards_it_reaches(path: Path) -> None:
    said = mark(path)
    assert said.startswith(KINDS), f"{path.name}: unknown '-- citus: {said}'"
    text = path.read_text(encoding="utf-8")
    if said.startswith("one shard (user_id = $2)"):
        # The user is a parameter that is always given, never optional, and the statement
        # filters on it, inserts it, or hands it to a function distributed by it.
        assert "$2 user_id text\n" in text, path.name
        assert not re.search(r"\$2(::text)? IS NULL", text), path.name
        body = "\n".join(line for line in text.splitlines() if not line.startswith("--"))
        assert (
            re.search(r"\buser_id = \$2\b", body)
            or (
                re.search(r"\bINSERT INTO\b", body)
                and re.search(r"SELECT \$1(::text)?, \$2\b|VALUES \(\$1(::text)?, \$2\b", body)
            )
            or re.search(r"_routed\(\$1, \$2\b", body)
        ), f"{path.name} says one shard but neither filters on nor inserts user_id = $2"
    if path.stem in HOT:
        assert said.startswith("one shard (user_id = $2)"), f"{path.name} is hot: {said}"
    if said.startswith("one server"):
        assert path.stem.startswith("watch_") or path.with_name(f"{path.stem}_citus.sql").exists()


@pytest.mark.parametrize(
    "path", [p for p in FILES if sent_to_citus(p)], ids=lambda p: f"{p.parent.name}/{p.stem}"
)
def test_no_file_sent_to_citus_uses_what_it_refuses(path: Path) -> None:
    text = "\n".join(
        line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("--")
    )
    used = [what for what, pattern in REFUSED.items() if pattern.search(text)]
    assert not used, f"{path.name} uses {used}"


def test_the_refused_constructs_are_recognised() -> None:
    # Each pattern matches the statement Citus refused before the file was fixed.
    refused = {
        "a non-immutable function in ON CONFLICT DO UPDATE SET": (
            "ON CONFLICT ON CONSTRAINT app_states_pkey\n"
            "DO UPDATE SET state = a.state || EXCLUDED.state, update_time = now()\nRETURNING 1"
        ),
        "a recursive CTE": "WITH RECURSIVE apps AS (SELECT 1)",
        "a row lock over many shards": "FROM x FOR UPDATE OF s SKIP LOCKED",
    }
    for what, sql in refused.items():
        assert REFUSED[what].search(sql), what
    fixed = "DO UPDATE SET state = a.state || EXCLUDED.state, update_time = EXCLUDED.update_time"
    assert not REFUSED["a non-immutable function in ON CONFLICT DO UPDATE SET"].search(fixed)
