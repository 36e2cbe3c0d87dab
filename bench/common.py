"""What the orchestrator and the workers share: sizes, names and DSN helpers."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

# The implementations, in the order of the first repetition (later ones rotate it).
IMPLS = ("adk_pg", "adk_db", "memory", "floor")
DB_IMPLS = ("adk_pg", "adk_db", "floor")
LABELS = {
    "adk_pg": "adk-pg",
    "adk_db": "ADK database",
    "memory": "ADK in-memory",
    "floor": "floor asyncpg",
}
# A worker runs one workload set; peak RSS is reported per (implementation, set).
SETS = ("write", "read")

# Fixed names inside each benchmark database.
READ_APP = "bench_read"
READ_USER = "reader"
LIST_APP = "bench_list"
LIST_USER = "lister"
FIXTURE_EVENTS = (10, 100, 1000)
LIST_SESSIONS = 1000
FLOOR_TABLE = "bench_floor"

# Workload keys, in display order, with the floor workload each adk-pg row is compared with.
WORKLOADS: dict[str, str] = {
    "create": "create_session",
    "append_seq": "append_event sequential",
    "append_conc": "append_event concurrent",
    "get_10": "get_session 10 events",
    "get_100": "get_session 100 events",
    "get_1000": "get_session 1,000 events",
    "get_newest10": "get_session newest 10/1,000",
    "list_1000": "list_sessions 1,000",
    "delete": "delete_session",
}
FLOOR_WORKLOADS: dict[str, str] = {
    "insert_seq": "bare INSERT sequential",
    "insert_conc": "bare INSERT 32 connections",
    "select_pk": "bare PK SELECT sequential",
}
FLOOR_REFERENCE = {
    "create": "insert_seq",
    "append_seq": "insert_seq",
    "append_conc": "insert_conc",
    "get_10": "select_pk",
    "get_100": "select_pk",
    "get_1000": "select_pk",
    "get_newest10": "select_pk",
    "list_1000": "select_pk",
    "delete": "insert_seq",
}


@dataclass(frozen=True)
class Sizes:
    """How much work one repetition does.

    Writes have fixed counts (they define the data: "1,000 appends on one session"). Reads
    repeat until both ``read_min_calls`` and ``read_min_seconds`` are reached, so a fast
    implementation is not timed over a few milliseconds only.
    """

    creates: int  # create_session calls; delete_session deletes the same sessions
    appends_seq: int  # append_event calls on one session
    conc_sessions: int  # sessions appended to concurrently ...
    conc_appends: int  # ... each receiving this many appends, sequentially
    read_min_calls: int
    read_min_seconds: float
    read_max_calls: int
    warmup: int  # untimed calls before each timed workload
    reps: int

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Sizes:
        return cls(**data)


FULL = Sizes(
    creates=1000,
    appends_seq=1000,
    conc_sessions=32,
    conc_appends=100,
    read_min_calls=20,
    read_min_seconds=1.0,
    read_max_calls=20000,
    warmup=20,
    reps=5,
)
QUICK = Sizes(
    creates=100,
    appends_seq=150,
    conc_sessions=32,
    conc_appends=8,
    read_min_calls=5,
    read_min_seconds=0.25,
    read_max_calls=5000,
    warmup=5,
    reps=3,
)


def with_address(dsn: str, host: str, port: int) -> str:
    """``dsn`` sent to ``host:port`` instead (the counting proxy); credentials kept."""
    parts = urlsplit(dsn)
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@{host}:{port}" if userinfo else f"{host}:{port}"
    return urlunsplit(parts._replace(netloc=netloc))


def upstream_address(dsn: str) -> tuple[str, int]:
    """The single host and port a DSN names (the counting proxy forwards there)."""
    parts = urlsplit(dsn)
    return parts.hostname or "127.0.0.1", parts.port or 5432
