"""DSN strings: which one to use, how to show it, what its query string carries, its secrets.

Pure string work, no driver and no network: :mod:`adk_pg.db.pool` builds pools from what
:func:`split_dsn` returns. The one redaction: every message that names a DSN shows it through
:func:`redact_dsn`, which hides the password however the DSN is written; no other text is
rewritten. :func:`split_dsn` refuses a DSN whose password URL parsers would split (an
unescaped '/', '?', '#' or '@'), so that no parser's message can quote a piece of it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, unquote_plus, urlencode, urlsplit, urlunsplit

from adk_pg.errors import InvalidArgumentError

__all__ = [
    "DEFAULT_DSN",
    "SECRET_KEYS",
    "mentions_secret",
    "redact_dsn",
    "resolve_dsn",
    "secret_spellings",
    "split_dsn",
    "with_connect_timeout",
    "with_database",
]

DEFAULT_DSN = "postgresql://postgres:postgres@127.0.0.1:5432/adk_sessions"

# Option names (in a query string or as asyncpg keywords) whose value is a password.
SECRET_KEYS = frozenset({"password", "sslpassword"})

# Query-string keys we consume. asyncpg sends every query key it does not know to the server
# as a setting (`?pool_size=5` fails with 'unrecognized configuration parameter'), so pool
# options given in a DSN must be taken out before asyncpg sees it.
_QUERY_INTS = frozenset(
    {"pool_size", "max_overflow", "min_size", "max_size", "max_queries"}
    | {"statement_cache_size", "prepared_statement_cache_size"}
    | {"max_cached_statement_lifetime", "max_cacheable_statement_size"}
)
_QUERY_FLOATS = frozenset(
    {"pool_timeout", "pool_recycle", "max_inactive_connection_lifetime", "command_timeout"}
    | {"timeout"}
)
# What may follow the userinfo up to the path: one host or several, comma-separated.
_HOSTS = re.compile(r"[A-Za-z0-9._~%\-\[\]:,]*")
_HOST = re.compile(r"(?:\[[0-9A-Fa-f:.%A-Za-z]*\]|[A-Za-z0-9._~%\-]*)(?::(?P<port>\d{1,5}))?")
_SSLMODES = frozenset({"disable", "allow", "prefer", "require", "verify-ca", "verify-full"})
_SCHEMES = frozenset({"postgres", "postgresql", "postgres+asyncpg", "postgresql+asyncpg"})


def resolve_dsn(dsn: str | None = None) -> str:
    """Return ``dsn``, else $ADK_PG_DSN, else $POSTGRES_URL, else :data:`DEFAULT_DSN`."""
    if dsn is not None:
        return dsn
    # An exported-but-empty variable counts as unset, as in libpq.
    return os.environ.get("ADK_PG_DSN") or os.environ.get("POSTGRES_URL") or DEFAULT_DSN


def redact_dsn(dsn: str) -> str:
    """Return ``dsn`` with its password (userinfo or ``?password=``) replaced by ``***``.

    Pure string work, so it cannot raise: it is called while reporting other errors.
    """
    try:
        head, sep, rest = dsn.partition("://")
        if not sep:
            return "<DSN hidden: not a URL>"
        userinfo, hosts = _split_userinfo(rest)
        if userinfo is not None and ":" in userinfo:
            userinfo = userinfo.split(":", 1)[0] + ":***"
        location, qmark, query = hosts.partition("?")
        pairs = []
        for pair in query.split("&") if qmark else ():
            key = pair.split("=", 1)[0]
            pairs.append(f"{key}=***" if unquote(key).lower() in SECRET_KEYS else pair)
        auth = "" if userinfo is None else f"{userinfo}@"
        return f"{head}://{auth}{location}{qmark}{'&'.join(pairs)}"
    except Exception:
        return "<DSN hidden>"


def with_database(
    dsn: str,
    database: str,
    *,
    user: str | None = None,
    password: str | None = None,
    scheme: str | None = None,
) -> str:
    """``dsn`` naming another database (and, when given, another login or URL scheme).

    Host, port and query options are kept. For a SQLAlchemy ``+asyncpg`` scheme, libpq's
    ``sslmode=`` becomes that dialect's ``ssl=``.
    """
    parts = urlsplit(dsn)
    netloc = parts.netloc
    if user is not None:
        login = quote(user, safe="") + (":" + quote(password, safe="") if password else "")
        netloc = f"{login}@{netloc.rpartition('@')[2]}"
    query = parts.query
    if scheme is not None and scheme.endswith("+asyncpg") and query:
        pairs = [("ssl" if k == "sslmode" else k, v) for k, v in parse_qsl(query)]
        query = urlencode(pairs)
    return urlunsplit(
        parts._replace(
            scheme=scheme or parts.scheme,
            netloc=netloc,
            path="/" + quote(database, safe=""),
            query=query,
        )
    )


def with_connect_timeout(dsn: str, timeout: float) -> str:
    """``dsn`` with its ``connect_timeout`` query option set to ``timeout`` seconds."""
    parts = urlsplit(dsn)
    pairs = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    pairs = [(k, v) for k, v in pairs if k not in {"connect_timeout", "timeout"}]
    pairs.append(("connect_timeout", f"{timeout:g}"))
    return urlunsplit(parts._replace(query=urlencode(pairs, quote_via=quote)))


def split_dsn(dsn: str) -> tuple[str, dict[str, Any]]:
    """Normalise the scheme for asyncpg and take our options out of the query string.

    Returns the DSN asyncpg may see and the options found (numbers and booleans parsed).

    Raises:
        InvalidArgumentError: not a PostgreSQL URL, or a malformed query-string option.
    """
    scheme, sep, _ = dsn.partition("://")
    if not sep:
        raise InvalidArgumentError("the DSN must be a URL such as postgresql://user@host/db")
    if scheme.lower() not in _SCHEMES:
        raise InvalidArgumentError(
            f"unsupported DSN scheme {scheme!r} in {redact_dsn(dsn)}: use postgresql://, "
            "postgres:// or postgresql+asyncpg://"
        )
    _check_authority(dsn)
    try:
        parts = urlsplit(dsn)
        pairs = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        # The parser's message quotes the offending text; do not pass it on.
        raise InvalidArgumentError(f"malformed DSN {redact_dsn(dsn)}") from None
    found: dict[str, Any] = {}
    kept: list[tuple[str, str]] = []
    renamed = False
    for key, value in pairs:
        if key in _QUERY_INTS:
            found[key] = _parse_number(key, value, int)
        elif key in _QUERY_FLOATS or key == "connect_timeout":
            # connect_timeout is libpq's name for asyncpg's connect `timeout`.
            found[key if key != "connect_timeout" else "timeout"] = _parse_number(key, value, float)
        elif key == "pool_pre_ping":
            found[key] = _parse_bool(key, value)
        elif key == "schema":
            found[key] = value  # adk-pg's schema, checked with the other options
        elif key == "ssl":
            # SQLAlchemy's asyncpg URLs say ?ssl=require; asyncpg's DSN parser says sslmode
            # (and would send an unknown `ssl` to the server as a setting).
            if value not in _SSLMODES:
                raise InvalidArgumentError(f"ssl={value!r} in the DSN: use sslmode=<mode>")
            kept.append(("sslmode", value))
            renamed = True
        else:
            kept.append((key, value))
    unchanged = len(kept) == len(pairs) and not renamed
    query = parts.query if unchanged else urlencode(kept, quote_via=quote)
    return urlunsplit(parts._replace(scheme="postgresql", query=query)), found


def secret_spellings(dsns: Iterable[str], options: Mapping[str, Any] | None = None) -> set[str]:
    """Every spelling of every password in ``dsns`` and in ``options`` (asyncpg keywords).

    Pure string work that never raises: it runs while other errors are reported.
    """
    found: set[str] = set()
    for dsn in dsns:
        userinfo, hosts = _split_userinfo(dsn.partition("://")[2])
        if userinfo is not None and ":" in userinfo:
            found.add(userinfo.split(":", 1)[1])
        for pair in hosts.partition("?")[2].split("&"):
            key, _, value = pair.partition("=")
            if unquote(key).lower() in SECRET_KEYS:
                found.add(value)
    given = options or {}
    found |= {given[key] for key in SECRET_KEYS if isinstance(given.get(key), str)}
    spellings = {
        spelling
        for secret in found
        for spelling in (secret, unquote(secret), unquote_plus(secret), quote(secret, safe=""))
    }
    return {s for s in spellings if s}


def mentions_secret(exc: BaseException | None, secret_values: set[str]) -> bool:
    """Whether ``exc`` or any exception in its cause/context chain shows a secret."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        text = f"{exc!s} {exc.args!r}"
        if any(secret in text for secret in secret_values):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _split_userinfo(rest: str) -> tuple[str | None, str]:
    """Split what follows ``scheme://`` into (userinfo or None, hosts and the rest).

    The userinfo ends at the *last* '@' that is followed by something shaped like a host
    list: a password with an unescaped '/', '?', '#' or '@' then still counts as userinfo,
    so it is hidden whole rather than shown in part (hiding too much is the safe side).
    """
    at = rest.rfind("@")
    while at >= 0:
        tail = rest[at + 1 :]
        if _HOSTS.fullmatch(re.split(r"[/?]", tail, maxsplit=1)[0]):
            return rest[:at], tail
        at = rest.rfind("@", 0, at)
    return None, rest


def _check_authority(dsn: str) -> None:
    """Refuse a DSN that URL parsers (ours, asyncpg's) would split in the wrong place.

    Raises:
        InvalidArgumentError: the user or password holds an unescaped '/', '?', '#' or '@'
            (percent-encode it), a '#' elsewhere, or a malformed host or port; the message
            shows the DSN redacted and never quotes a part of it.
    """
    rest = dsn.partition("://")[2]
    userinfo, after = _split_userinfo(rest)
    if userinfo is not None and any(c in userinfo for c in "/?#[]"):
        raise InvalidArgumentError(
            f"malformed DSN {redact_dsn(dsn)}: the user or password holds '/', '?', '#', "
            "'[', ']' or '@': percent-encode them (%2F, %3F, %23, %5B, %5D, %40)"
        )
    if "#" in after:
        raise InvalidArgumentError(
            f"malformed DSN {redact_dsn(dsn)}: '#' must be percent-encoded as %23"
        )
    hosts = re.split(r"[/?]", after, maxsplit=1)[0]
    for host in hosts.split(",") if hosts else ():
        match = _HOST.fullmatch(host)
        port = match.group("port") if match else None
        if match is None or (port is not None and not 0 < int(port) <= 65535):
            raise InvalidArgumentError(
                f"malformed DSN {redact_dsn(dsn)}: each host must be name[:port] or "
                "[IPv6][:port], with a port from 1 to 65535"
            )


def _parse_bool(key: str, value: str) -> bool:
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise InvalidArgumentError(f"{key}={value!r} in the DSN query string is not a boolean")


def _parse_number(key: str, value: str, kind: type[int] | type[float]) -> float:
    try:
        return kind(value)
    except ValueError:
        raise InvalidArgumentError(
            f"{key}={value!r} in the DSN query string is not a number"
        ) from None
