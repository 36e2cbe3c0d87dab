"""A throwaway PostgreSQL cluster, for the tests that must restart a server or change its auth.

The shared server on 127.0.0.1:5432 is never restarted or reconfigured: a test that needs to
do that starts its own cluster here (initdb into a temporary directory, fsync off, a free
loopback port, no Unix socket outside that directory) and removes it afterwards. PostgreSQL
refuses to run as root, so as root every binary runs as the ``postgres`` OS user.
"""

from __future__ import annotations

import asyncio
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

INSTALL_HINT = "install the PostgreSQL server binaries: sudo apt-get install -y postgresql"
# What every cluster allows: the superuser over the cluster's own socket and on loopback.
_BASE_HBA = ("local all all trust", "host all postgres 127.0.0.1/32 trust")
_TIMEOUT = 60  # seconds for initdb / pg_ctl; they take about one on this machine class


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def as_postgres() -> dict[str, Any]:
    """Popen keyword arguments that drop root to the ``postgres`` OS user (else nothing)."""
    if os.geteuid() != 0:
        return {}
    try:
        entry = pwd.getpwnam("postgres")
    except KeyError:
        pytest.fail("running as root needs a 'postgres' OS user to run PostgreSQL binaries as")
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def owned_tempdir(prefix: str) -> Path:
    """A fresh directory in the system temp dir, owned by the user the binaries run as."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    drop = as_postgres()
    if drop:
        os.chown(path, drop["user"], drop["group"])
    return path


def pg_bindir() -> Path:
    """The directory holding initdb and pg_ctl; fails the test loudly when there is none."""
    configured = os.environ.get("ADK_PG_PG_BINDIR")
    candidates = [configured] if configured else []
    # Debian/Ubuntu keep the server binaries off PATH; take the newest installed major.
    versions = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    candidates += sorted(versions, key=lambda p: int(Path(p).parent.parent.name), reverse=True)
    found = shutil.which("initdb")
    candidates += [found] if found else []
    for candidate in candidates:
        path = Path(candidate)
        bindir = path if path.is_dir() else path.parent
        if (bindir / "initdb").exists() and (bindir / "pg_ctl").exists():
            return bindir
    pytest.fail(f"no initdb/pg_ctl found for a throwaway cluster: {INSTALL_HINT}")


@dataclass
class Cluster:
    """A running throwaway cluster: its data directory, port and binaries."""

    datadir: Path
    port: int
    bindir: Path
    logfile: Path

    def dsn(self, database: str = "postgres", user: str = "postgres", password: str = "") -> str:
        """A DSN on 127.0.0.1 for ``user`` (with ``password`` when given)."""
        login = quote(user, safe="") + (":" + quote(password, safe="") if password else "")
        return f"postgresql://{login}@127.0.0.1:{self.port}/{quote(database, safe='')}"

    def _pg_ctl(self, *args: str) -> list[str]:
        return [str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-w", "-t", "30", *args]

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        _run(self._pg_ctl("-l", str(self.logfile), "start"), self.logfile)

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast``: roll back and disconnect every client)."""
        _run(self._pg_ctl("-m", mode, "stop"), self.logfile)

    async def restart(self) -> None:
        """Stop the server (mode fast) and start it again, without blocking the event loop."""
        process = await asyncio.create_subprocess_exec(
            *self._pg_ctl("-m", "fast", "-l", str(self.logfile), "restart"),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            **as_postgres(),
        )
        out, _ = await asyncio.wait_for(process.communicate(), _TIMEOUT)
        if process.returncode != 0:
            pytest.fail(f"pg_ctl restart failed: {out.decode(errors='replace')}")


def _run(argv: Sequence[str], logfile: Path | None = None, *, check: bool = True) -> None:
    """Run a PostgreSQL binary as the right OS user; fail the test with its output."""
    done = subprocess.run(
        argv,
        stdin=subprocess.DEVNULL,
        # pg_ctl -l points the postmaster's output at the log file, so it does not inherit
        # (and keep open) this pipe.
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=tempfile.gettempdir(),
        timeout=_TIMEOUT,
        check=False,
        **as_postgres(),
    )
    if check and done.returncode != 0:
        output = (done.stdout or b"").decode(errors="replace")
        if logfile is not None and logfile.exists():
            output += logfile.read_text(errors="replace")[-4000:]
        pytest.fail(f"{' '.join(argv)} exited {done.returncode}:\n{output}")


@contextmanager
def temp_cluster(
    hba: Sequence[str] = ("host all all 127.0.0.1/32 trust",),
    settings: Mapping[str, str] | None = None,
) -> Iterator[Cluster]:
    """Create, start, yield and finally stop and delete a throwaway cluster.

    ``hba`` lines are added after the superuser's trust lines, so a test can require
    passwords (``scram-sha-256``) for every other role. ``settings`` are added to (or
    override) postgresql.conf, written as they are (quote strings: ``"'pg_stat_statements'"``).
    """
    bindir = pg_bindir()
    base = owned_tempdir("adk_pg_cluster_")
    datadir = base / "data"
    cluster = Cluster(datadir=datadir, port=free_port(), bindir=bindir, logfile=base / "log")
    started = False
    try:
        _run(
            [
                str(bindir / "initdb"),
                "-D",
                str(datadir),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ]
        )
        conf_settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(cluster.port),
            "unix_socket_directories": f"'{base}'",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "shared_buffers": "16MB",
            "max_connections": "40",
            "ssl": "off",
            "password_encryption": "'scram-sha-256'",
            **(settings or {}),
        }
        conf = "".join(f"{key} = {value}\n" for key, value in conf_settings.items())
        with (datadir / "postgresql.conf").open("a") as f:
            f.write("\n# adk-pg test cluster\n" + conf)
        (datadir / "pg_hba.conf").write_text("\n".join((*_BASE_HBA, *hba)) + "\n")
        cluster.start()
        started = True
        yield cluster
    finally:
        if started:
            # immediate: whatever a failed test left connected, the directory goes next.
            # Not checked: a test may have stopped the server already.
            _run(cluster._pg_ctl("-m", "immediate", "stop"), cluster.logfile, check=False)
        shutil.rmtree(base, ignore_errors=True)


@contextmanager
def temp_standby(primary: Cluster) -> Iterator[Cluster]:
    """A streaming standby of ``primary`` (pg_basebackup -R), started, then stopped and deleted.

    The primary's pg_hba.conf must let ``postgres`` connect for replication from 127.0.0.1.
    """
    base = owned_tempdir("adk_pg_standby_")
    datadir = base / "data"
    standby = Cluster(
        datadir=datadir, port=free_port(), bindir=primary.bindir, logfile=base / "log"
    )
    started = False
    try:
        _run(
            [
                str(primary.bindir / "pg_basebackup"),
                "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
                "-D", str(datadir), "-R", "-X", "stream", "--no-sync",
            ]
        )  # fmt: skip
        with (datadir / "postgresql.conf").open("a") as f:
            f.write(f"\n# adk-pg test standby\nport = {standby.port}\n")
            f.write(f"unix_socket_directories = '{base}'\n")
        standby.start()
        started = True
        yield standby
    finally:
        if started:
            _run(standby._pg_ctl("-m", "immediate", "stop"), standby.logfile, check=False)
        shutil.rmtree(base, ignore_errors=True)
