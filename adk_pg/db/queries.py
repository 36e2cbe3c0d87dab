"""Loads ``sql/*.sql`` into a typed registry of named queries, checking each file's header.

Every file holds one statement behind a header::

    -- name: get_session
    -- One session row with its app and user state.
    -- $1 app_name text
    -- $2 user_id text
    -- returns: one row, or none
    SELECT ...

The loader refuses, naming the file and the reason, a file whose name and header disagree,
whose documented parameters are not exactly the ``$n`` the SQL uses, or that has no SQL.
Call sites use attributes of :data:`QUERIES` (``QUERIES.get_session.sql``), never string keys.
Another directory of files loads into its own registry dataclass the same way
(``load_queries(directory, registry=LegacyQueries)``).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, overload

from adk_pg.paths import resource_dir

__all__ = ["QUERIES", "Param", "Queries", "Query", "QueryFileError", "load_queries"]

_NAME = re.compile(r"^--\s*name:\s*(\S+)\s*$")
_PARAM = re.compile(r"^--\s*\$(\d+)\s+(\w+)\s+(.+?)\s*$")
_RETURNS = re.compile(r"^--\s*returns:\s*(.+?)\s*$")
# Placeholders outside string literals and comments; literals are removed before matching.
_PLACEHOLDER = re.compile(r"\$(\d+)")
_LITERALS = re.compile(r"'(?:[^']|'')*'|--[^\n]*")

_Registry = TypeVar("_Registry")


class QueryFileError(ValueError):
    """A file in ``sql/`` is malformed; the message names the file and the reason."""


@dataclass(frozen=True)
class Param:
    """One documented ``$n`` parameter of a query."""

    position: int
    name: str
    type: str


@dataclass(frozen=True)
class Query:
    """One named statement from ``sql/``."""

    name: str
    doc: str
    params: tuple[Param, ...]
    returns: str
    sql: str
    path: Path


@dataclass(frozen=True)
class Queries:
    """The registry: one attribute per file in ``sql/`` (the file name is the query name)."""

    append_event: Query
    count_export: Query
    create_session: Query
    delete_session: Query
    export_app_states: Query
    export_sessions: Query
    export_user_states: Query
    get_app_state: Query
    get_session: Query
    get_status: Query
    get_user_state: Query
    import_app_state: Query
    import_session: Query
    import_user_state: Query
    list_apps: Query
    list_events: Query
    list_session_summaries: Query
    list_sessions: Query
    list_user_sessions: Query
    plan_prune: Query
    prune_sessions: Query


def parse_query(path: Path) -> Query:
    """Parse and check one SQL file.

    Raises:
        QueryFileError: the header is missing or disagrees with the SQL.
    """
    lines = path.read_text(encoding="utf-8").splitlines()
    header: list[str] = []
    for line in lines:
        if not line.startswith("--"):
            break
        header.append(line)
    body = "\n".join(lines[len(header) :]).strip()

    def fail(reason: str) -> QueryFileError:
        return QueryFileError(f"{path.name}: {reason}")

    name_match = _NAME.match(header[0]) if header else None
    if name_match is None:
        raise fail("the first line must be '-- name: <query name>'")
    name = name_match.group(1)
    if name != path.stem:
        raise fail(f"the header names '{name}' but the file is '{path.stem}'")
    doc: list[str] = []
    params: list[Param] = []
    returns: str | None = None
    for line in header[1:]:
        if param := _PARAM.match(line):
            params.append(Param(int(param.group(1)), param.group(2), param.group(3)))
        elif ret := _RETURNS.match(line):
            returns = ret.group(1)
        else:
            doc.append(line.lstrip("-").strip())
    if not body:
        raise fail("there is no SQL after the header")
    if returns is None:
        raise fail("the header has no '-- returns: ...' line")
    if not any(doc):
        raise fail("the header has no description")
    code = _LITERALS.sub("", body)
    used = {int(n) for n in _PLACEHOLDER.findall(code)}
    documented = [p.position for p in params]
    if len(set(documented)) != len(documented):
        raise fail("a parameter is documented twice")
    if set(documented) != used:
        raise fail(f"the header documents ${sorted(documented)} but the SQL uses ${sorted(used)}")
    if used != set(range(1, len(used) + 1)):
        raise fail(f"parameters must be numbered $1..$n without gaps, found {sorted(used)}")
    if ";" in code.rstrip().rstrip(";"):
        raise fail("a file holds exactly one statement")
    return Query(
        name=name,
        doc=" ".join(d for d in doc if d),
        params=tuple(sorted(params, key=lambda p: p.position)),
        returns=returns,
        sql=body,
        path=path,
    )


@overload
def load_queries(directory: Path | None = None) -> Queries: ...


@overload
def load_queries(directory: Path | None = None, *, registry: type[_Registry]) -> _Registry: ...


def load_queries(directory: Path | None = None, *, registry: type[Any] = Queries) -> Any:
    """Load every ``*.sql`` file of ``directory`` (default: the bundled ``sql/``).

    ``registry`` is the frozen dataclass to fill, one :class:`Query` field per file
    (default: :class:`Queries`).

    Raises:
        QueryFileError: a file is malformed, a registry query has no file, or a file is
            not in the registry.
    """
    directory = directory or resource_dir("sql")
    parsed = {q.name: q for q in map(parse_query, sorted(directory.glob("*.sql")))}
    expected = {f.name for f in dataclasses.fields(registry)}
    if missing := sorted(expected - parsed.keys()):
        raise QueryFileError(f"{directory}: no file for the queries {missing}")
    if unknown := sorted(parsed.keys() - expected):
        raise QueryFileError(f"{directory}: files not in the registry: {unknown}")
    return registry(**parsed)


QUERIES: Queries = load_queries()
