"""Send one message to the demo agent, with its session stored in PostgreSQL by adk-pg.

Run it twice, as two processes, and the second run sees the first one's history and state:

    python examples/demo.py --session-id demo-1 --message "my name is Ada, remember that I like tea"
    python examples/demo.py --session-id demo-1 --message "what do you remember?"

The session ``--session-id`` of user ``demo-user`` in app ``demo_agent`` is created on first
use and resumed afterwards. DSN: ``--dsn``, else ``$ADK_PG_DSN``, else ``$POSTGRES_URL``, else
postgresql://postgres:postgres@127.0.0.1:5432/adk_sessions (the database must exist:
``scripts/ensure-postgres.sh`` makes sure of it). Without Gemini credentials the agent runs on
the offline ``LocalDemoModel`` (examples/local_model.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from demo_agent import root_agent
from google.adk.events import Event
from google.adk.runners import Runner
from google.adk.sessions import BaseSessionService, Session
from google.genai import types
from local_model import LocalDemoModel

from adk_pg.errors import AdkPgError

APP_NAME = "demo_agent"
USER_ID = "demo-user"
DEFAULT_DSN = "postgresql://postgres:postgres@127.0.0.1:5432/adk_sessions"


def resolve_dsn(explicit: str | None) -> str:
    """``--dsn``, else ``$ADK_PG_DSN``, else ``$POSTGRES_URL``, else the local default."""
    return explicit or os.environ.get("ADK_PG_DSN") or os.environ.get("POSTGRES_URL") or DEFAULT_DSN


def redact(dsn: str) -> str:
    """The DSN with its password replaced by ``***``, for printing."""
    parts = urlsplit(dsn)
    if parts.password is None:
        return dsn
    netloc = f"{parts.username or ''}:***@{parts.netloc.rpartition('@')[2]}"
    return urlunsplit(parts._replace(netloc=netloc))


@asynccontextmanager
async def open_service(kind: str, dsn: str) -> AsyncIterator[BaseSessionService]:
    """The session store: adk-pg's, or (``--service adk-database``) ADK's own, for comparison."""
    if kind == "adk-database":
        from google.adk.sessions import DatabaseSessionService

        scheme, _, rest = dsn.partition("://")
        url = f"postgresql+asyncpg://{rest}" if scheme in {"postgres", "postgresql"} else dsn
        async with DatabaseSessionService(url) as adk_service:
            yield adk_service
        return

    from adk_pg.adk import PostgresSessionService

    async with PostgresSessionService(dsn) as service:
        yield service


def describe_event(event: Event) -> list[str]:
    """The printable lines for one event: tool calls, tool results and the final reply."""
    lines = []
    for call in event.get_function_calls():
        args = ", ".join(f"{key}={value!r}" for key, value in (call.args or {}).items())
        lines.append(f"  tool call   {call.name}({args})")
    lines += [
        f"  tool result {result.name} -> {json.dumps(result.response, ensure_ascii=False)}"
        for result in event.get_function_responses()
    ]
    if event.is_final_response() and event.content and event.content.parts:
        text = "".join(part.text or "" for part in event.content.parts if not part.thought)
        if text:
            lines.append(f"agent> {text}")
    return lines


async def run_once(dsn: str, session_id: str, message: str, service_kind: str) -> Session:
    """Create or resume the session, send ``message``, print the turn; return the stored session.

    Raises:
        OSError, asyncpg.PostgresError, AdkPgError: the database is unreachable or unusable.
    """
    async with open_service(service_kind, dsn) as service:
        session = await service.get_session(
            app_name=APP_NAME, user_id=USER_ID, session_id=session_id
        )
        if session is None:
            session = await service.create_session(
                app_name=APP_NAME, user_id=USER_ID, session_id=session_id
            )
            print(f"session {session_id!r}: created (new)")
        else:
            print(f"session {session_id!r}: resumed with {len(session.events)} stored events")

        print(f"you>   {message}")
        new_message = types.Content(role="user", parts=[types.Part(text=message)])
        async with Runner(app_name=APP_NAME, agent=root_agent, session_service=service) as runner:
            async for event in runner.run_async(
                user_id=USER_ID, session_id=session_id, new_message=new_message
            ):
                for line in describe_event(event):
                    print(line)

        # Read it back from the database: what the next process will see.
        stored = await service.get_session(
            app_name=APP_NAME, user_id=USER_ID, session_id=session_id
        )
        if stored is None:  # only if someone deleted it meanwhile
            raise RuntimeError(f"session {session_id!r} vanished during the run")
        return stored


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line (``--service`` is a hidden developer switch)."""
    parser = argparse.ArgumentParser(
        description="Send one message to the adk-pg demo agent; its session lives in PostgreSQL."
    )
    parser.add_argument(
        "--dsn",
        help="PostgreSQL DSN (default: $ADK_PG_DSN, $POSTGRES_URL, "
        "or postgresql://postgres:postgres@127.0.0.1:5432/adk_sessions)",
    )
    parser.add_argument(
        "--session-id", default="demo", help="session to create or resume (default: demo)"
    )
    parser.add_argument("--message", required=True, help="what to tell the agent")
    parser.add_argument(
        "--service", choices=["adk-pg", "adk-database"], default="adk-pg", help=argparse.SUPPRESS
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = parse_args(argv)
    dsn = resolve_dsn(args.dsn)
    model = root_agent.model
    if isinstance(model, LocalDemoModel):
        model_note = f"{model.model} (offline LocalDemoModel; set GOOGLE_API_KEY for Gemini)"
    else:
        model_note = model if isinstance(model, str) else type(model).__name__
    store = "adk-pg" if args.service == "adk-pg" else "ADK DatabaseSessionService"
    print(f"app {APP_NAME} · user {USER_ID} · model {model_note}")
    print(f"store {store} at {redact(dsn)}")
    try:
        session = asyncio.run(run_once(dsn, args.session_id, args.message, args.service))
    except (OSError, asyncpg.PostgresError, AdkPgError) as exc:
        print(f"error: cannot use PostgreSQL at {redact(dsn)}: {exc}", file=sys.stderr)
        print(
            "hint: scripts/ensure-postgres.sh starts one; or pass --dsn / set ADK_PG_DSN",
            file=sys.stderr,
        )
        return 1
    print(f"the session now holds {len(session.events)} events; its state:")
    print(json.dumps(session.state, indent=2, sort_keys=True, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
