"""Loads a folder of ``sql/<domain>/*.sql`` into a typed registry of named queries.

Every file holds one statement behind a header::

    -- name: get_session
    -- One session row with its app and user state.
    -- $1 app_name text
    -- $2 user_id text
    -- returns: one row, or none
    SELECT ...

The loader refuses, naming the file and the reason, a file whose name and header disagree,
whose documented parameters are not exactly the ``$n`` the SQL uses, or that has no SQL. Each
domain declares a frozen dataclass with one :class:`Query` field per file and loads its folder
into it once (``QUERIES = load_queries("sessions", SessionQueries)``); call sites use its
attributes (``QUERIES.get_session.sql``), never string keys. A store in another schema than
``adk`` holds :func:`for_schema`'s copy of the registry, rewritten once for that schema.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from adk_pg.db.paths import resource_dir
from adk_pg.db.schema_name import DEFAULT_SCHEMA, in_schema

__all__ = ["Param", "Query", "QueryFileError", "for_schema", "load_queries", "parse_query"]

_NAME = re.compile(r"^--\s*name:\s*(\S+)\s*$")
_PARAM = re.compile(r"^--\s*\$(\d+)\s+(\w+)\s+(.+?)\s*$")
_RETURNS = re.compile(r"^--\s*returns:\s*(.+?)\s*$")
# Placeholders outside string literals and comments; literals are removed before matching.
_PLACEHOLDER = re.compile(r"\$(\d+)")
_LITERALS = re.compile(r"'(?:[^']|'')*'|--[^\n]*")

_Registry = TypeVar("_Registry")
# Registries rewritten for a schema, by (registry class, schema): built once, then shared.
_IN_SCHEMA: dict[tuple[type[Any], str], Any] = {}


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


def load_queries(domain: str | Path, registry: type[_Registry]) -> _Registry:
    """Load every ``*.sql`` file of ``sql/<domain>`` (or of a directory) into ``registry``.

    ``registry`` is the frozen dataclass to fill, one :class:`Query` field per file.

    Raises:
        QueryFileError: a file is malformed, a registry query has no file, or a file is
            not in the registry.
    """
    directory = domain if isinstance(domain, Path) else resource_dir("sql") / domain
    parsed = {q.name: q for q in map(parse_query, sorted(directory.glob("*.sql")))}
    expected = {f.name for f in dataclasses.fields(registry)}  # type: ignore[arg-type]
    if missing := sorted(expected - parsed.keys()):
        raise QueryFileError(f"{directory}: no file for the queries {missing}")
    if unknown := sorted(parsed.keys() - expected):
        raise QueryFileError(f"{directory}: files not in the registry: {unknown}")
    return registry(**parsed)


def for_schema(registry: _Registry, schema: str) -> _Registry:
    """``registry`` with every query's SQL in ``schema`` (checked by the caller).

    The copy for a schema is made on first use and shared after that; ``adk`` is the
    registry itself.
    """
    if schema == DEFAULT_SCHEMA:
        return registry
    key = (type(registry), schema)
    found = _IN_SCHEMA.get(key)
    if found is None:
        queries: dict[str, Query] = vars(registry)
        found = type(registry)(
            **{
                name: dataclasses.replace(query, sql=in_schema(query.sql, schema))
                for name, query in queries.items()
            }
        )
        _IN_SCHEMA[key] = found
    result: _Registry = found
    return result
