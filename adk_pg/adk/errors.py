"""adk-pg's errors as ADK's own classes, so ``except`` clauses written for either keep working.

Each is a subclass of both ADK's error and adk-pg's (:mod:`adk_pg.errors`); the services
raise these.
"""

from __future__ import annotations

from google.adk.errors import StaleSessionError as AdkStaleSessionError
from google.adk.errors.already_exists_error import AlreadyExistsError as AdkAlreadyExistsError
from google.adk.errors.input_validation_error import (
    InputValidationError as AdkInputValidationError,
)
from google.adk.errors.session_not_found_error import (
    SessionNotFoundError as AdkSessionNotFoundError,
)

from adk_pg import errors

__all__ = [
    "AlreadyExistsError",
    "EventConflictError",
    "InvalidArgumentError",
    "SessionNotFoundError",
    "StaleSessionError",
]


class AlreadyExistsError(AdkAlreadyExistsError, errors.AlreadyExistsError):
    """A session with that id already exists (ADK's AlreadyExistsError; HTTP 409)."""


class SessionNotFoundError(AdkSessionNotFoundError, errors.SessionNotFoundError):
    """The session does not exist (ADK's SessionNotFoundError)."""


class StaleSessionError(AdkStaleSessionError, errors.StaleSessionError):
    """The session was modified in storage since it was loaded (ADK's StaleSessionError)."""


class EventConflictError(AdkAlreadyExistsError, errors.EventConflictError):
    """Another event with that id is stored (ADK's AlreadyExistsError, so HTTP 409)."""


class InvalidArgumentError(AdkInputValidationError, errors.InvalidArgumentError):
    """An argument was refused before any SQL ran (ADK's InputValidationError; HTTP 400)."""
