"""adk-pg: the PostgreSQL persistence layer for Google's Agent Development Kit.

The core needs only asyncpg, pydantic, google-genai and the OpenTelemetry API; the ADK
drop-in (``adk_pg.adk.PostgresSessionService``) needs the ``adk`` extra.
"""

from adk_pg.db.pool import create_pool
from adk_pg.db.telemetry import Telemetry
from adk_pg.errors import (
    AdkPgError,
    AlreadyExistsError,
    ConflictError,
    EventConflictError,
    InvalidArgumentError,
    MigrationError,
    NotFoundError,
    SchemaError,
    SchemaOutdatedError,
    SessionNotFoundError,
    StaleSessionError,
    StorageError,
)
from adk_pg.schema.runner import migrate
from adk_pg.sessions.models import (
    AppendResult,
    Change,
    Event,
    EventActions,
    EventPage,
    Session,
    SessionPage,
)
from adk_pg.sessions.store import SessionStore

__version__ = "0.1.0"

__all__ = [
    "AdkPgError",
    "AlreadyExistsError",
    "AppendResult",
    "Change",
    "ConflictError",
    "Event",
    "EventActions",
    "EventConflictError",
    "EventPage",
    "InvalidArgumentError",
    "MigrationError",
    "NotFoundError",
    "SchemaError",
    "SchemaOutdatedError",
    "Session",
    "SessionNotFoundError",
    "SessionPage",
    "SessionStore",
    "StaleSessionError",
    "StorageError",
    "Telemetry",
    "__version__",
    "create_pool",
    "migrate",
]
