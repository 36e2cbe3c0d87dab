"""adk-pg's name for a statement that pg_stat_statements recorded, for ``adk-pg doctor``.

The extension keeps a normalised text per statement; each of adk-pg's queries (in the schema
in use) is normalised the same way once, and a recorded text is looked up by that shape.
"""

from __future__ import annotations

import dataclasses
import functools
import re

from adk_pg.artifacts.queries import QUERIES as ARTIFACT_QUERIES
from adk_pg.db.queries import for_schema
from adk_pg.db.schema_name import DEFAULT_SCHEMA
from adk_pg.memory.queries import QUERIES as MEMORY_QUERIES
from adk_pg.ops.queries import DOCTOR_QUERIES
from adk_pg.ops.queries import QUERIES as OPS_QUERIES
from adk_pg.sessions.queries import QUERIES as SESSION_QUERIES

__all__ = ["DOCTOR_NAMES", "statement_name"]

# What pg_stat_statements replaces by $n (string, number, boolean and NULL constants, and the
# field of extract(), which the parser makes a string), and the $n adk-pg's own statements
# use, are masked on both sides before the texts are compared; comments are dropped.
# A statement that is not matched is still shown, by its text.
_COMMENTS_AND_STRINGS = re.compile(r"'(?:[^']|'')*'|--[^\n]*")
_CONSTANTS = re.compile(
    r"\$\d+|\b\d+(?:\.\d+)?\b|\b(?:true|false|null)\b|(?<=extract\()\s*\w+(?=\s+from\b)",
    re.IGNORECASE,
)


def _shape(sql: str) -> str:
    text = _COMMENTS_AND_STRINGS.sub(lambda m: "" if m.group().startswith("--") else "?", sql)
    # Without any whitespace: the extension keeps a statement's layout, and masking moves it.
    # A minus before a constant is dropped: the extension counts it in a negative constant.
    shape = "".join(_CONSTANTS.sub("?", text).split()).rstrip(";").lower()
    return shape.replace("-?", "?")


# The doctor's own reads: left out of what it reports.
DOCTOR_NAMES = frozenset(f.name for f in dataclasses.fields(DOCTOR_QUERIES))


@functools.cache
def _known(schema: str) -> dict[str, str]:
    """The shape of every adk-pg statement in ``schema``, to its name."""
    return {
        _shape(getattr(for_schema(registry, schema), f.name).sql): f.name
        for registry in (
            SESSION_QUERIES,
            MEMORY_QUERIES,
            ARTIFACT_QUERIES,
            OPS_QUERIES,
            DOCTOR_QUERIES,
        )
        for f in dataclasses.fields(registry)
    }


def statement_name(query: str, schema: str = DEFAULT_SCHEMA) -> str | None:
    """adk-pg's name for a statement pg_stat_statements recorded, or None for another one."""
    return _known(schema).get(_shape(query))
