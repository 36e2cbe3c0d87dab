"""The session ids of an import: normalised as adk-pg normalises them, and kept apart.

The rules (stripped; a blank id gets a uuid5; two source ids that become one are refused) are
those of :mod:`adk_pg.ops.transfer`'s docstring, which describes the format.
"""

from __future__ import annotations

import hashlib
import uuid

from adk_pg.errors import InvalidArgumentError
from adk_pg.ops.transfer import SessionIdChange, TransferFormatError
from adk_pg.sessions import validate

__all__ = ["SessionIdConflictError", "SessionIds", "normalise_session_id"]

# The uuid5 namespace of the ids given to blank source ids. Fixed for good: a blank-id
# session must get the same id on every import, or importing twice would copy it twice.
_BLANK_ID_NAMESPACE = uuid.UUID("7e436174-876e-4ad2-b9bb-7b26c0eddb0b")


class SessionIdConflictError(TransferFormatError):
    """Two source sessions of one user have ids that normalise to the same id."""


def normalise_session_id(app_name: str, user_id: str, source_id: object) -> str:
    """The id adk-pg stores for a source session id: stripped, or a uuid5 when blank.

    Raises:
        InvalidArgumentError: not a string, too long once stripped, or holding a NUL.
    """
    if not isinstance(source_id, str):
        raise InvalidArgumentError(f"id must be a string, not {type(source_id).__name__}")
    if not source_id.strip():
        return str(uuid.uuid5(_BLANK_ID_NAMESPACE, f"{app_name}\0{user_id}\0{source_id}"))
    return validate.session_id_or_new(source_id)


class SessionIds:
    """The session ids one import has given out, to refuse a second source id for one."""

    def __init__(self, changes: list[SessionIdChange]) -> None:
        # A 16-byte digest per session (about 100 bytes each with the set), not the ids:
        # a run over millions of sessions must not hold every id in memory.
        self._taken: set[bytes] = set()
        self._changed: dict[bytes, SessionIdChange] = {}
        self._changes = changes

    def claim(self, app_name: str, user_id: str, source_id: object, where: str) -> str:
        """Normalise ``source_id`` and record it; return the id to store.

        Raises:
            TransferFormatError: the id is not a string, or too long.
            SessionIdConflictError: another source id of this user became the same id.
        """
        try:
            session_id = normalise_session_id(app_name, user_id, source_id)
        except InvalidArgumentError as exc:
            raise TransferFormatError(f"{where}: {exc}") from None
        assert isinstance(source_id, str)  # normalise_session_id refused anything else
        # No NUL in checked ids, so the separator keeps the digest unambiguous.
        digest = hashlib.blake2b(
            f"{app_name}\0{user_id}\0{session_id}".encode(), digest_size=16
        ).digest()
        if digest in self._taken:
            earlier = self._changed.get(digest)
            earlier_id = session_id if earlier is None else earlier.source_id
            if earlier_id != source_id:
                raise SessionIdConflictError(
                    f"{where}: session ids {earlier_id!r} and {source_id!r} of app "
                    f"{app_name!r} user {user_id!r} both become {session_id!r} once "
                    f"normalised (stripped); {earlier_id!r} came first and is stored as "
                    f"{session_id!r}, so {source_id!r} is refused rather than merged: "
                    "rename it in the source and import again"
                )
            return session_id  # the same source session again: the database skips it
        self._taken.add(digest)
        if session_id != source_id:
            change = SessionIdChange(app_name, user_id, source_id, session_id)
            self._changed[digest] = change
            self._changes.append(change)
        return session_id
