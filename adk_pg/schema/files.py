"""Migration files: naming, loading, header directives, statement counting, checksums.

Files are ``migrations/NNNN_snake_name.sql``, numbered contiguously from 0001 and never edited
once applied. A file whose header holds the line ``-- adk-pg: no-transaction`` (for ``CREATE
INDEX CONCURRENTLY``) runs outside a transaction and must hold exactly one statement. Nothing
here touches a database: :mod:`adk_pg.schema.runner` applies what :func:`load_migrations` returns.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from adk_pg.db.paths import resource_dir
from adk_pg.errors import MigrationError

__all__ = ["NO_TRANSACTION", "Migration", "load_migrations"]

# The one header directive: ``-- adk-pg: no-transaction``.
NO_TRANSACTION = "no-transaction"

_FILE_NAME = re.compile(r"(\d{4})_([a-z0-9]+(?:_[a-z0-9]+)*)\.sql")
_DIRECTIVE = re.compile(r"--\s*adk-pg:\s*(.*?)\s*", re.IGNORECASE)
_DOLLAR_QUOTE = re.compile(r"\$(?:[A-Za-z_\x80-\U0010ffff][A-Za-z0-9_\x80-\U0010ffff]*)?\$")


@dataclass(frozen=True)
class Migration:
    """One migration file: its number, name, text and checksum."""

    version: int
    name: str
    path: Path
    checksum: str
    transactional: bool
    sql: str = field(repr=False)

    @property
    def label(self) -> str:
        """The file name without ``.sql``, e.g. ``0001_initial_schema``."""
        return f"{self.version:04d}_{self.name}"


def load_migrations(directory: Path | None = None) -> list[Migration]:
    """Read, validate and checksum the migration files, in version order.

    Raises:
        MigrationError: a bad file name, a gap, a duplicate version, an unreadable or empty
            file, an unknown header directive, or a no-transaction file with several statements.
    """
    try:
        folder = directory if directory is not None else resource_dir("migrations")
        paths = sorted(p for p in folder.iterdir() if p.is_file())
    except OSError as exc:
        raise MigrationError(f"cannot list the migrations directory: {exc}") from exc
    by_version: dict[int, Path] = {}
    migrations: list[Migration] = []
    for path in paths:
        match = _FILE_NAME.fullmatch(path.name)
        if match is None:
            # Anything that looks like a migration must be one: a typo must not be skipped.
            if path.suffix.lower() == ".sql" or path.name[:1].isdigit():
                raise MigrationError(
                    f"bad migration file name {path.name!r}: expected NNNN_snake_name.sql"
                )
            continue
        version = int(match.group(1))
        if version in by_version:
            raise MigrationError(
                f"duplicate migration version {version:04d}: {by_version[version].name} "
                f"and {path.name}"
            )
        by_version[version] = path
        migrations.append(_read_migration(path, version, match.group(2)))
    if not migrations:
        raise MigrationError(f"no migration files in {folder}")
    for expected, migration in enumerate(migrations, start=1):
        if migration.version != expected:
            raise MigrationError(
                f"migration {migration.path.name} is out of sequence: expected "
                f"{expected:04d}_*.sql (numbers start at 0001 with no gaps)"
            )
    return migrations


def _read_migration(path: Path, version: int, name: str) -> Migration:
    """Read one file and parse its header.

    Raises:
        MigrationError: the file is unreadable, not UTF-8, empty, or has a bad header.
    """
    try:
        raw = path.read_bytes()
        sql = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MigrationError(f"cannot read migration {path.name}: {exc}") from exc
    transactional = True
    for line in sql.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("--"):
            break  # the header is the leading run of comment lines
        directive = _DIRECTIVE.fullmatch(stripped)
        if directive is None:
            continue
        if directive.group(1).lower() != NO_TRANSACTION:
            raise MigrationError(
                f"migration {path.name}: unknown header directive {directive.group(1)!r} "
                f"(the only one is '-- adk-pg: {NO_TRANSACTION}')"
            )
        transactional = False
    statements = _count_statements(sql)
    if statements == 0:
        raise MigrationError(f"migration {path.name} holds no SQL statement")
    if not transactional and statements != 1:
        raise MigrationError(
            f"migration {path.name} is marked no-transaction but holds {statements} statements; "
            "such a file must hold exactly one"
        )
    return Migration(
        version=version,
        name=name,
        path=path,
        checksum=hashlib.sha256(raw).hexdigest(),
        transactional=transactional,
        sql=sql,
    )


def _count_statements(sql: str) -> int:
    """Count the statements in ``sql``; semicolons in comments, strings and quotes don't count."""
    count, in_statement, i, end = 0, False, 0, len(sql)
    while i < end:
        char = sql[i]
        if sql.startswith("--", i):
            newline = sql.find("\n", i)
            i = end if newline < 0 else newline + 1
        elif sql.startswith("/*", i):
            i = _skip_block_comment(sql, i)
        elif char == ";":
            count += in_statement
            in_statement, i = False, i + 1
        elif char.isspace():
            i += 1
        else:
            in_statement = True
            i = _skip_token(sql, i)
    return count + in_statement


def _skip_block_comment(sql: str, start: int) -> int:
    """Return the index after the (nestable, as in PostgreSQL) comment opening at ``start``."""
    depth, i = 0, start
    while i < len(sql):
        if sql.startswith("/*", i):
            depth, i = depth + 1, i + 2
        elif sql.startswith("*/", i):
            depth, i = depth - 1, i + 2
            if depth == 0:
                return i
        else:
            i += 1
    return len(sql)


def _skip_token(sql: str, start: int) -> int:
    """Return the index after a quoted literal or identifier at ``start``, else after one char."""
    char = sql[start]
    if char in "'\"":
        # E'...' strings take backslash escapes; standard strings and identifiers don't.
        backslash = char == "'" and start > 0 and sql[start - 1] in "eE"
        i = start + 1
        while i < len(sql):
            if backslash and sql[i] == "\\":
                i += 2
            elif sql[i] == char:
                if not sql.startswith(char, i + 1):
                    return i + 1
                i += 2  # a doubled quote stands for itself
            else:
                i += 1
        return len(sql)
    prev = sql[start - 1] if start > 0 else " "
    # `$tag$` opens a dollar quote unless it continues an identifier (`a$b$`); `$1` never does.
    match = _DOLLAR_QUOTE.match(sql, start) if char == "$" else None
    if match is not None and not (prev.isalnum() or prev == "_"):
        close = sql.find(match.group(), match.end())
        return len(sql) if close < 0 else close + len(match.group())
    return start + 1
