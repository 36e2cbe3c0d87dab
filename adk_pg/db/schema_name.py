"""The PostgreSQL schema adk-pg keeps its tables in: ``adk`` unless the caller names another.

The SQL files (``sql/``, ``migrations/``) name the schema ``adk``. For another schema,
:func:`in_schema` rewrites a file's text once, when its registry or migration is loaded for that
schema: never per call, and only with a name :func:`check_schema` accepted, so no caller's
text ever reaches SQL unchecked. Two stores in two schemas of one database then never see each
other's rows.
"""

from __future__ import annotations

import re

from adk_pg.errors import InvalidArgumentError

__all__ = ["DEFAULT_SCHEMA", "check_schema", "in_schema"]

DEFAULT_SCHEMA = "adk"

# A lowercase SQL identifier that needs no quoting, as psql users type it; `pg_` names are
# reserved by PostgreSQL for its own schemas.
_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
# PostgreSQL's reserved words (pg_get_keywords() categories R and T, version 15): a schema
# so named would need quotes everywhere, in our SQL and in every psql session.
_RESERVED = frozenset(
    """
    all analyse analyze and any array as asc asymmetric authorization binary both case cast
    check collate collation column concurrently constraint create cross current_catalog
    current_date current_role current_schema current_time current_timestamp current_user
    default deferrable desc distinct do else end except false fetch for foreign freeze from
    full grant group having ilike in initially inner intersect into is isnull join lateral
    leading left like limit localtime localtimestamp natural not notnull null offset on only
    or order outer overlaps placing primary references returning right select session_user
    similar some symmetric table tablesample then to trailing true union unique user using
    variadic verbose when where window with
    """.split()  # noqa: SIM905 - one list to compare with pg_get_keywords()
)
# `adk.` as a qualifier (not inside another word, a quoted name or a longer dotted name), the
# literal 'adk' (a catalog lookup of the schema's name), and `SCHEMA adk` (DDL).
_QUALIFIER = re.compile(r'(?<![\w."$])adk\.(?=[a-z_"])')
_LITERAL = re.compile(r"'adk'")
_DDL = re.compile(r"\b(SCHEMA (?:IF NOT EXISTS )?)adk\b")


def check_schema(name: object) -> str:
    """``name`` if it is a schema adk-pg can use, else a clear error.

    Raises:
        InvalidArgumentError: not a lowercase identifier of at most 63 characters (letters,
            digits, ``_``, not starting with a digit), a name starting with ``pg_``, or an
            SQL reserved word.
    """
    if not isinstance(name, str):
        raise InvalidArgumentError(f"schema must be a string, not {type(name).__name__}")
    if not _NAME.fullmatch(name) or name.startswith("pg_"):
        raise InvalidArgumentError(
            f"schema {name!r} is not usable: give a lowercase identifier of at most 63 "
            "characters (letters, digits and _, not starting with a digit or pg_)"
        )
    if name in _RESERVED:
        raise InvalidArgumentError(f"schema {name!r} is an SQL reserved word: choose another")
    return name


def in_schema(sql: str, schema: str) -> str:
    """``sql`` with schema ``adk`` replaced by ``schema`` (already checked)."""
    if schema == DEFAULT_SCHEMA:
        return sql
    sql = _QUALIFIER.sub(f"{schema}.", sql)
    sql = _LITERAL.sub(f"'{schema}'", sql)
    return _DDL.sub(rf"\g<1>{schema}", sql)
