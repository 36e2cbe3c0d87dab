"""A counting TCP proxy for the PostgreSQL wire protocol.

Counting on the wire sees everything a client library sends, whatever it is built on: asyncpg
query loggers miss SQLAlchemy's prepared-statement executions (``PreparedStatement.fetch``
bypasses them), and hooks on one library say nothing about another. The proxy counts:

- ``statements``: Execute messages (extended protocol: one per prepared-statement run, pings
  included) plus the statements inside simple Query messages (``BEGIN``, ``COMMIT``,
  ``ROLLBACK``, pool reset scripts: split on ``;``, which is exact for what drivers send);
- ``round_trips``: times the server starts answering after the client has sent something,
  i.e. times the client waits. Not ReadyForQuery: asyncpg prepares with Parse/Describe/Flush,
  a round trip that ends without one;
- ``parses``: Parse messages (statements prepared, i.e. not found in a cache).

It adds latency, so the benchmark only uses it in a separate, untimed counting pass. TLS is
refused (the proxy answers the SSLRequest with "N"), so counting needs a server that accepts
plain connections, as a local one does.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

_SSL_REQUEST = 80877103
_GSSENC_REQUEST = 80877104


@dataclass
class WireCounts:
    """Totals since the last :meth:`WireCounter.reset`."""

    statements: int = 0
    round_trips: int = 0
    parses: int = 0


@dataclass
class _Turn:
    """Per connection: has the client sent anything since the server last spoke?"""

    client_spoke: bool = False


class WireCounter:
    """Listens on 127.0.0.1 (a free port) and forwards every connection to ``host:port``."""

    def __init__(self, host: str, port: int) -> None:
        self._upstream = (host, port)
        self.counts = WireCounts()
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        """Start listening; returns the port to connect to."""
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def reset(self) -> None:
        self.counts = WireCounts()

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection(*self._upstream)
        except OSError:
            client_w.close()
            return
        try:
            if await self._startup(client_r, client_w, server_w):
                turn = _Turn()
                tasks = {
                    asyncio.ensure_future(self._from_client(client_r, server_w, turn)),
                    asyncio.ensure_future(self._from_server(server_r, client_w, turn)),
                }
                _, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                for task in pending:
                    task.cancel()
                # Retrieve every outcome: a closed connection ends a pump with an error.
                await asyncio.gather(*tasks, return_exceptions=True)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            for writer in (client_w, server_w):
                writer.close()
                with contextlib.suppress(ConnectionError, OSError):
                    await writer.wait_closed()

    async def _startup(
        self,
        client_r: asyncio.StreamReader,
        client_w: asyncio.StreamWriter,
        server_w: asyncio.StreamWriter,
    ) -> bool:
        # Startup-phase messages have no type byte: length, then a protocol code.
        while True:
            header = await client_r.readexactly(4)
            body = await client_r.readexactly(int.from_bytes(header, "big") - 4)
            if int.from_bytes(body[:4], "big") in (_SSL_REQUEST, _GSSENC_REQUEST):
                client_w.write(b"N")  # "not supported": the client carries on in plain text
                await client_w.drain()
                continue
            server_w.write(header + body)
            await server_w.drain()
            return True

    async def _from_client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, turn: _Turn
    ) -> None:
        while True:
            header = await reader.readexactly(5)
            body = await reader.readexactly(int.from_bytes(header[1:], "big") - 4)
            kind = header[:1]
            if kind == b"E":
                self.counts.statements += 1
            elif kind == b"Q":
                text = body[:-1].decode("utf-8", "replace")
                self.counts.statements += max(1, sum(1 for s in text.split(";") if s.strip()))
            elif kind == b"P":
                self.counts.parses += 1
            turn.client_spoke = True
            writer.write(header + body)
            await writer.drain()

    async def _from_server(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, turn: _Turn
    ) -> None:
        while True:
            header = await reader.readexactly(5)
            body = await reader.readexactly(int.from_bytes(header[1:], "big") - 4)
            if turn.client_spoke:
                turn.client_spoke = False
                self.counts.round_trips += 1
            writer.write(header + body)
            await writer.drain()
