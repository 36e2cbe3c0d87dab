"""A restricted unpickler for the ``actions`` column of ADK's legacy (v0) session schema.

ADK's v0 ``DatabaseSessionService`` stored each event's ``EventActions`` pickled. Bytes read
from a database are untrusted: an ordinary ``pickle.loads`` runs whatever callable the bytes
name (``os.system`` via ``__reduce__``). This unpickler resolves only an allow-list of
globals and refuses everything else *before* anything is called, so loading never runs code:

* the pydantic models and enums reachable from the field annotations of ADK's
  ``EventActions``, ``AuthConfig`` (typed ``Any`` on EventActions), ``ToolConfirmation`` and
  ``EventCompaction`` (the auth tree among them), and every model and enum of
  ``google.genai.types``. Unpickling one of these only calls ``__new__`` and
  ``__setstate__`` (or an enum's constructor on a value);
* plain data: builtin containers and scalars and a few stdlib value types (datetime,
  Decimal, UUID, OrderedDict, paths), which is what a ``state_delta`` held;
* a few auth classes reachable only as base classes, which the annotation walk cannot see.

Resources are bounded too: the pickle's size, builtins called with a count or a long text to
expand (``bytes(200_000_000)``), and the number, text and depth of what was built.

This mirrors ADK's own ``google.adk.sessions._restricted_pickle``. It is the only adk-pg
module that imports :mod:`pickle`, and it never pickles anything.
"""

from __future__ import annotations

import functools
import io
import pickle
from collections.abc import Callable
from enum import Enum
from typing import Any, get_args

from pydantic import BaseModel

__all__ = [
    "MAX_DEPTH",
    "MAX_ITEMS",
    "MAX_OBJECTS",
    "MAX_PICKLE_BYTES",
    "MAX_TEXT_BYTES",
    "BoundsError",
    "LegacyPickleError",
    "RefusedPickleError",
    "allowed_globals",
    "loads",
]

# What one legacy actions value may be and build: far above what ADK wrote (a few kB of
# state delta and metadata), far below what would hurt the importing process.
MAX_PICKLE_BYTES = 16 * 1024 * 1024
MAX_OBJECTS = 1_000_000
MAX_TEXT_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 200  # as deep as a state value adk-pg can read back (MAX_JSON_DEPTH)
MAX_ITEMS = 100_000  # characters or bytes a builtin may turn into one object each
# Builtins a pickle may call with arguments that build more than the pickle holds.
_GUARDED = frozenset({"bytes", "bytearray", "list", "tuple", "set", "frozenset", "dict", "str"})
_ALLOCATES_FROM_INT = frozenset({"bytes", "bytearray"})

_STATIC_ALLOWED: frozenset[tuple[str, str]] = frozenset(
    {
        ("builtins", "dict"),
        ("builtins", "list"),
        ("builtins", "set"),
        ("builtins", "frozenset"),
        ("builtins", "tuple"),
        ("builtins", "str"),
        ("builtins", "bytes"),
        ("builtins", "bytearray"),
        ("builtins", "int"),
        ("builtins", "float"),
        ("builtins", "bool"),
        ("builtins", "complex"),
        # Each rebuilds by calling the type on plain data. A defaultdict's factory is stored,
        # never called, and must itself be an allowed global.
        ("collections", "OrderedDict"),
        ("collections", "defaultdict"),
        ("datetime", "date"),
        ("datetime", "datetime"),
        ("datetime", "time"),
        ("datetime", "timedelta"),
        ("datetime", "timezone"),
        ("decimal", "Decimal"),
        ("uuid", "UUID"),
        # Python 3.13 moved the concrete classes to pathlib._local; a pickle names the module
        # of the interpreter that wrote it.
        ("pathlib", "PurePosixPath"),
        ("pathlib", "PureWindowsPath"),
        ("pathlib", "PosixPath"),
        ("pathlib", "WindowsPath"),
        ("pathlib._local", "PurePosixPath"),
        ("pathlib._local", "PureWindowsPath"),
        ("pathlib._local", "PosixPath"),
        ("pathlib._local", "WindowsPath"),
        # Auth models reachable only by subclassing or as a union base.
        ("fastapi.openapi.models", "OAuthFlow"),
        ("fastapi.openapi.models", "SecurityBase"),
        ("fastapi.openapi.models", "SecurityScheme"),
        ("google.adk.auth.auth_schemes", "ExtendedOAuth2"),
        ("google.adk.auth.auth_schemes", "OAuthGrantType"),
    }
)


class LegacyPickleError(pickle.UnpicklingError):
    """A legacy ``actions`` value could not be loaded: refused, or not a valid pickle."""


class BoundsError(LegacyPickleError):
    """The pickle is larger, builds more, or nests deeper than a legacy action value may."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"refusing a pickle that would exhaust resources: {detail}")


class RefusedPickleError(LegacyPickleError):
    """The pickle names a global outside the allow-list; nothing was called.

    Attributes:
        module: the module the pickle asked for.
        name: the global the pickle asked for.
    """

    def __init__(self, module: str, name: str) -> None:
        super().__init__(
            f"refusing to load {module}.{name}: not a type ADK's EventActions can hold "
            "(the value was not written by ADK, or holds something other than plain data)"
        )
        self.module = module
        self.name = name


def _walk(roots: list[Any]) -> set[tuple[str, str]]:
    """The (module, qualname) of every BaseModel / Enum reachable from ``roots``' annotations."""
    found: set[tuple[str, str]] = set()
    seen: set[int] = set()
    stack = list(roots)
    while stack:
        annotation = stack.pop()
        if annotation is None or id(annotation) in seen:
            continue
        seen.add(id(annotation))
        args = get_args(annotation)
        if args:  # Optional[X], list[X], dict[K, V], Union[...], Literal[...]
            stack.extend(args)
            continue
        if not isinstance(annotation, type):
            continue
        try:
            if issubclass(annotation, BaseModel):
                found.add((annotation.__module__, annotation.__qualname__))
                stack.extend(field.annotation for field in annotation.model_fields.values())
            elif issubclass(annotation, Enum):
                found.add((annotation.__module__, annotation.__qualname__))
        except TypeError:  # a bare generic alias that isinstance() calls a type
            continue
    return found


@functools.lru_cache(maxsize=1)
def allowed_globals() -> frozenset[tuple[str, str]]:
    """The globals a legacy ``actions`` pickle may name, computed once per process.

    Raises:
        ImportError: google-adk is not installed (the ``adk`` extra).
    """
    # Imported here: only reading a v0 database needs ADK's classes.
    from google.adk.auth.auth_tool import AuthConfig
    from google.adk.events.event_actions import EventActions, EventCompaction
    from google.adk.tools.tool_confirmation import ToolConfirmation
    from google.genai import types

    derived = _walk([EventActions, AuthConfig, ToolConfirmation, EventCompaction])
    # Every google-genai model and enum, not only those the walk reaches: a state_delta may
    # hold any of them (a Content, a FinishReason), and they are inert data like the rest.
    genai = [
        value
        for value in vars(types).values()
        if isinstance(value, type)
        and value.__module__ == types.__name__
        and issubclass(value, (BaseModel, Enum))
    ]
    # The abstract bases are reached through annotations typed with them; they hold no data.
    bases = {("pydantic.main", "BaseModel"), ("enum", "Enum")}
    return _STATIC_ALLOWED | (frozenset(derived) | frozenset(_walk(genai))) - bases


def _guarded(factory: Callable[..., Any], name: str) -> Callable[..., Any]:
    """``factory`` refusing the arguments that build far more than the pickle holds.

    ``bytes(200_000_000)`` is a few bytes of pickle and 200 MB of memory; ``list(text)``
    makes an object of every character. A function, not a class: NEWOBJ (which would call
    ``cls.__new__`` with the same arguments) refuses it, so there is no way around the check.
    """

    def build(*args: Any, **kwargs: Any) -> Any:
        for arg in (*args, *kwargs.values()):
            if name in _ALLOCATES_FROM_INT and isinstance(arg, int):
                raise BoundsError(f"builtins.{name}({arg!r}) would allocate memory from a count")
            if isinstance(arg, (str, bytes, bytearray)) and len(arg) > MAX_ITEMS:
                raise BoundsError(
                    f"builtins.{name} of a {len(arg):,}-item {type(arg).__name__} is over the "
                    f"limit of {MAX_ITEMS:,}"
                )
        return factory(*args, **kwargs)

    return build


class _RestrictedUnpickler(pickle.Unpickler):
    """Resolves only allowed globals; every REDUCE/NEWOBJ/INST target goes through here."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in allowed_globals():
            raise RefusedPickleError(module, name)
        found = super().find_class(module, name)
        if module == "builtins" and name in _GUARDED:
            return _guarded(found, name)
        return found

    def persistent_load(self, pid: Any) -> Any:
        # No persistent ids in ADK's pickles; refuse rather than guess.
        raise LegacyPickleError("refusing a persistent id in a legacy pickle")


def loads(data: bytes | bytearray | memoryview) -> Any:
    """Unpickle ``data`` with the allow-list and the bounds; nothing else is resolved or called.

    Raises:
        RefusedPickleError: the pickle names a global that is not allowed.
        BoundsError: it is larger, builds more, or nests deeper than the bounds allow.
        LegacyPickleError: the bytes are not a valid pickle.
    """
    if len(data) > MAX_PICKLE_BYTES:
        raise BoundsError(f"a {len(data):,}-byte pickle is over the limit of {MAX_PICKLE_BYTES:,}")
    try:
        loaded = _RestrictedUnpickler(io.BytesIO(bytes(data))).load()
    except LegacyPickleError:
        raise
    except Exception as exc:
        # Truncated or garbled bytes surface as UnpicklingError, EOFError, ValueError, ...
        raise LegacyPickleError(f"not a valid pickle ({type(exc).__name__}: {exc})") from exc
    _check_bounds(loaded)
    return loaded


def _check_bounds(value: Any) -> None:
    """Walk what was built, counting objects and text and measuring depth.

    Raises:
        BoundsError: over :data:`MAX_OBJECTS`, :data:`MAX_TEXT_BYTES` or :data:`MAX_DEPTH`.
    """
    objects = text = 0
    seen: set[int] = set()
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise BoundsError(f"the value nests deeper than {MAX_DEPTH} levels")
        objects += 1
        if objects > MAX_OBJECTS:
            raise BoundsError(f"the value holds more than {MAX_OBJECTS:,} objects")
        if isinstance(item, (str, bytes, bytearray)):
            text += len(item)
            if text > MAX_TEXT_BYTES:
                raise BoundsError(f"the value holds more than {MAX_TEXT_BYTES:,} bytes of text")
            continue
        if id(item) in seen:  # shared (or cyclic) references are walked once
            continue
        seen.add(id(item))
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for pair in item.items() for child in pair)
        elif isinstance(item, (list, tuple, set, frozenset)):
            stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, BaseModel):
            stack.extend((child, depth + 1) for child in vars(item).values())
