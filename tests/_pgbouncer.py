"""A real PgBouncer in transaction mode, started by the tests in front of the test server.

It runs in the foreground as a child of the test (as the ``postgres`` OS user when the tests
run as root: PgBouncer refuses to run as root), listens on a free loopback port with no Unix
socket, and is terminated by its own pid afterwards. A missing ``pgbouncer`` binary fails the
test with the install command: the PgBouncer tests never skip.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import pytest
from _cluster import as_postgres, free_port, owned_tempdir

INSTALL = "sudo apt-get install -y pgbouncer"
# PgBouncer tracks protocol-level named prepared statements from 1.21 on (setting
# max_prepared_statements); before that they break in transaction mode.
PREPARED_STATEMENTS_SINCE = (1, 21)


def pgbouncer_binary() -> str:
    """The pgbouncer executable (Debian installs it in /usr/sbin); fails loudly without one."""
    found = shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        pytest.fail(
            f"pgbouncer is not installed; the PgBouncer tests need it. Install it with: {INSTALL}"
        )
    return found


def pgbouncer_version(binary: str) -> tuple[int, int]:
    """(major, minor) of ``pgbouncer --version`` ("PgBouncer 1.18.0")."""
    out = subprocess.run(
        [binary, "--version"], capture_output=True, text=True, timeout=10, check=True
    ).stdout
    match = re.search(r"(\d+)\.(\d+)", out)
    if match is None:
        pytest.fail(f"cannot read the pgbouncer version from {out!r}")
    return int(match.group(1)), int(match.group(2))


@dataclass(frozen=True)
class PgBouncer:
    """A running PgBouncer: its port, version and the user clients log in as."""

    port: int
    version: tuple[int, int]
    user: str
    password: str

    def dsn(self, database: str, query: str = "") -> str:
        """A DSN for ``database`` (a name from the [databases] section) through PgBouncer."""
        login = quote(self.user, safe="")
        if self.password:
            login += ":" + quote(self.password, safe="")
        tail = f"?{query}" if query else ""
        return f"postgresql://{login}@127.0.0.1:{self.port}/{database}{tail}"


def _quote_value(value: str) -> str:
    """A value for a connection string in pgbouncer.ini's [databases] section."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _wait_until_listening(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"pgbouncer exited with {process.returncode}:\n{_tail(log)}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"pgbouncer did not listen on 127.0.0.1:{port} within 15 s:\n{_tail(log)}")


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-4000:] if log.exists() else "(no log)"


@contextmanager
def run_pgbouncer(server_dsn: str, databases: Mapping[str, tuple[str, int]]) -> Iterator[PgBouncer]:
    """Start PgBouncer (pool_mode=transaction) in front of the server of ``server_dsn``.

    ``databases`` maps each alias clients use to (real database name, server pool size).
    Clients log in as the DSN's user (auth_type=trust, the user listed in the auth_file);
    PgBouncer logs in to the server with the DSN's user and password.
    """
    binary = pgbouncer_binary()
    version = pgbouncer_version(binary)
    server = urlsplit(server_dsn)
    user = unquote(server.username or "postgres")
    password = unquote(server.password or "")
    upstream = f"host={server.hostname or '127.0.0.1'} port={server.port or 5432}"
    upstream += f" user={_quote_value(user)}"
    if password:
        upstream += f" password={_quote_value(password)}"
    port = free_port()
    workdir = owned_tempdir("adk_pg_pgbouncer_")
    log = workdir / "pgbouncer.log"
    lines = ["[databases]"]
    for alias, (name, pool_size) in databases.items():
        lines.append(f"{alias} = {upstream} dbname={_quote_value(name)} pool_size={pool_size}")
    lines += [
        "",
        "[pgbouncer]",
        "listen_addr = 127.0.0.1",
        f"listen_port = {port}",
        "unix_socket_dir =",
        "pool_mode = transaction",
        "auth_type = trust",
        f"auth_file = {workdir / 'userlist.txt'}",
        f"logfile = {log}",
        f"pidfile = {workdir / 'pgbouncer.pid'}",
        "max_client_conn = 200",
        "default_pool_size = 4",
        # Report a server that went away quickly instead of queueing clients for minutes.
        "query_wait_timeout = 30",
        "server_login_retry = 1",
    ]
    if version >= PREPARED_STATEMENTS_SINCE:
        # Pinned off so the tests show what the statement-cache setting must be on any
        # PgBouncer; on >= 1.21 a non-zero value lets the statement cache stay on.
        lines.append("max_prepared_statements = 0")
    (workdir / "pgbouncer.ini").write_text("\n".join(lines) + "\n")
    # auth_type=trust still needs the user in the auth file.
    (workdir / "userlist.txt").write_text(f'"{user}" ""\n')
    drop = as_postgres()
    if drop:
        for path in workdir.iterdir():
            os.chown(path, drop["user"], drop["group"])
    process = subprocess.Popen(
        [binary, str(workdir / "pgbouncer.ini")],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=workdir,
        **drop,
    )
    try:
        _wait_until_listening(process, port, log)
        yield PgBouncer(port=port, version=version, user=user, password=password)
    finally:
        process.terminate()  # our own child, by its pid
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)
