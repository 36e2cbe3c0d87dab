"""Every list adk-pg reads back is decoded here: stored events, and pages of sessions.

One switch, ``ADK_PG_FAST_DECODE=0``, turns the fast path below off (pydantic's standard
path is then used for everything); one place, :class:`ListDecoder`, pauses the garbage
collector, and only for documents of :data:`PAUSE_COLLECTOR_BYTES` or more.

The fast path decodes JSON this package wrote itself, and so can trust.

Per model instance, validation runs Python code that does nothing for JSON dumped by
``model_dump_json``: before-validators for convenience arguments, custom ``__init__`` methods.
The caller names them in ``skip``. Dropping them from a copy of the core schema is not enough:
pydantic-core reuses a complete model class's own validator for each ``model`` node. So each
node gets a stand-in class whose ``__new__`` allocates the real model: the node is compiled from
the copy, keeps the model's own config, and pydantic-core builds the instance as usual.

Building thousands of objects at once also pays for garbage collections that can find
nothing to free: :func:`collector_paused` holds the cyclic collector off meanwhile.
"""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any, Generic, TypeVar, cast

from google.genai import types
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import SchemaValidator

from adk_pg.sessions.models import (
    EVENT_LIST,
    Event,
    Session,
    SessionPage,
    SessionPageRecord,
    SessionRecord,
)
from adk_pg.sessions.samples import SAMPLE_EVENTS_JSON

__all__ = [
    "FAST_DECODE_ENV",
    "PAUSE_COLLECTOR_BYTES",
    "ListDecoder",
    "collector_paused",
    "decode_events",
    "decode_sessions",
    "decodes_alike",
    "fast_decoding_enabled",
    "fast_list_validator",
    "genai_no_ops",
    "page_from_record",
    "session_from_record",
    "trusted_list_validator",
]

FAST_DECODE_ENV = "ADK_PG_FAST_DECODE"
# About 30 events or 100 listed sessions: below this, building the objects allocates too
# little for a collection to run in the middle, so pausing would only cost its own calls.
PAUSE_COLLECTOR_BYTES = 16 * 1024

M = TypeVar("M", bound=BaseModel)
Decode = Callable[[str | bytes], list[M]]
Skip = Collection[object]  # functions, in any wrapping _underlying sees through
_log = logging.getLogger(__name__)
_DATA_KEYS = ("serialization", "metadata", "default")  # not validators: shared as they are


def _underlying(function: Any) -> Any:
    """The plain function under bound methods, classmethods and ``functools.wraps``."""
    while True:
        inner = getattr(function, "__func__", None) or getattr(function, "__wrapped__", None)
        if inner is None:
            return function
        function = inner


def _stand_in(cls: type[BaseModel]) -> type:
    """A class pydantic-core has no prebuilt validator for, whose instances are ``cls``'s."""

    allocate = cls.__new__

    def __new__(_stand_in_cls: type) -> Any:
        return allocate(cls)

    return type(cls.__name__, (), {"__new__": __new__, "__module__": cls.__module__})


def _rewrite(schema: Any, skip: set[Any], stand_ins: dict[type, type]) -> Any:
    """A copy of ``schema`` without the skipped validators, each model node on a stand-in."""
    if isinstance(schema, list):
        return [_rewrite(item, skip, stand_ins) for item in schema]
    if not isinstance(schema, dict):
        return schema
    copy = {}
    for key, value in schema.items():
        copy[key] = value if key in _DATA_KEYS else _rewrite(value, skip, stand_ins)
    kind = schema.get("type")
    # A node with a ref may be the target of a definition-ref: it has to stay.
    removable = kind in ("function-before", "function-after") and "ref" not in schema
    if removable and _underlying(schema["function"]["function"]) in skip:
        return copy["schema"]
    if kind != "model" or schema.get("root_model"):
        return copy
    cls = schema["cls"]
    if schema.get("custom_init"):
        if _underlying(cls.__init__) not in skip:
            return copy  # that __init__ may do real work: keep calling it
        copy["custom_init"] = False
    if cls not in stand_ins:
        stand_ins[cls] = _stand_in(cls)
    copy["cls"] = stand_ins[cls]
    return copy


def fast_list_validator(model: type[M], *, skip: Skip) -> Decode[M]:
    """Decode a JSON array of ``model`` documents without the functions in ``skip``.

    A skipped custom ``__init__`` is not called at all: fields are set as if there were none.
    """
    schema = TypeAdapter(list[model]).core_schema  # type: ignore[valid-type]
    skipped = {_underlying(function) for function in skip}
    return cast("Decode[M]", SchemaValidator(_rewrite(schema, skipped, {})).validate_json)


def _same(a: Any, b: Any) -> bool:
    """Equal values of the same types, and models with the same fields set, all the way down."""
    if type(a) is not type(b):
        return False
    if isinstance(a, BaseModel):
        state_a = (a.__dict__, a.model_fields_set, a.__pydantic_extra__, a.__pydantic_private__)
        state_b = (b.__dict__, b.model_fields_set, b.__pydantic_extra__, b.__pydantic_private__)
        return _same(state_a, state_b)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[key], b[key]) for key in a)
    return bool(a == b)


def decodes_alike(fast: Decode[M], standard: Decode[M], samples: Iterable[M]) -> bool:
    """Whether both decoders turn the stored JSON of ``samples`` into indistinguishable models."""
    text = "[" + ",".join(sample.model_dump_json(exclude_none=True) for sample in samples) + "]"
    ours, theirs = fast(text), standard(text)
    if ours != theirs or not _same(ours, theirs):
        return False
    for x, y in zip(ours, theirs, strict=True):
        if x.model_dump_json() != y.model_dump_json():
            return False
        if x.model_dump_json(exclude_unset=True) != y.model_dump_json(exclude_unset=True):
            return False
    return True


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a large object graph is built.

    Everything built stays alive until the build returns, so a collection in between only
    costs time, and moves the new objects to the oldest generation, where they make the next
    full collection of the whole heap come sooner. Reference counting frees memory as usual
    meanwhile, and the collector is turned back on afterwards (unless it was off).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def fast_decoding_enabled() -> bool:
    """False when ``ADK_PG_FAST_DECODE`` says ``0``, ``off``, ``false`` or ``no``."""
    return os.environ.get(FAST_DECODE_ENV, "").strip().lower() not in {"0", "off", "false", "no"}


class ListDecoder(Generic[M]):
    """Decodes JSON arrays of ``model``: every list adk-pg reads back goes through one.

    With ``skip`` (and unless ``ADK_PG_FAST_DECODE=0``), the first call builds the fast
    decoder and keeps it only if it decodes ``samples()`` exactly as pydantic does; input it
    refuses is decoded again the standard way, so pydantic has the last word on what is an
    error. A document of :data:`PAUSE_COLLECTOR_BYTES` or more is decoded with the cyclic
    garbage collector paused. Two threads may both build the decoders the first time: the
    results are equivalent, one is kept.
    """

    def __init__(
        self, model: type[M], *, skip: Skip = (), samples: Callable[[], Iterable[M]] = tuple
    ) -> None:
        self._model, self._skip, self._samples = model, skip, samples
        self._standard: Decode[M] | None = None
        self._fast: Decode[M] | None = None

    @property
    def uses_fast_path(self) -> bool:
        """Whether the fast decoder was built and passed its check (False before first use)."""
        return self._fast is not None

    def _build(self) -> Decode[M]:
        standard: Decode[M] = TypeAdapter(list[self._model]).validate_json  # type: ignore[name-defined]
        if self._skip and fast_decoding_enabled():
            try:
                fast = fast_list_validator(self._model, skip=self._skip)
                if decodes_alike(fast, standard, self._samples()):
                    self._fast = fast
                else:
                    _log.warning(
                        "fast decoding of %s differs from pydantic's", self._model.__name__
                    )
            except Exception:
                _log.warning("no fast decoding of %s", self._model.__name__, exc_info=True)
        self._standard = standard
        return standard

    def __call__(self, text: str | bytes) -> list[M]:
        standard = self._standard or self._build()
        pause = collector_paused() if len(text) >= PAUSE_COLLECTOR_BYTES else nullcontext()
        with pause:
            if self._fast is None:
                return standard(text)
            try:
                return self._fast(text)
            except ValidationError:
                return standard(text)


def trusted_list_validator(
    model: type[M], *, skip: Skip, samples: Callable[[], Iterable[M]] = tuple
) -> ListDecoder[M]:
    """A decoder of JSON arrays of ``model``: fast once it has decoded ``samples()`` as pydantic.

    Nothing is built before the first call. ``samples`` should cover the shapes stored.
    """
    return ListDecoder(model, skip=skip, samples=samples)


def genai_no_ops() -> list[object]:
    """What google-genai runs per model that does nothing for JSON it dumped.

    The warning-only before-validator of every genai model (it looks for model instances of
    the wrong class, which JSON cannot hold) and ``Part.__init__`` (a positional convenience
    argument).
    """
    check = getattr(types.Part, "_check_field_type_mismatches", None)
    return [f for f in (check, types.Part.__init__) if f is not None]


# adk-pg's own models, as the store returns them.
decode_events: ListDecoder[Event] = ListDecoder(
    Event, skip=genai_no_ops(), samples=lambda: EVENT_LIST.validate_json(SAMPLE_EVENTS_JSON)
)
decode_sessions: ListDecoder[Session] = ListDecoder(Session)


def session_from_record(record: SessionRecord) -> Session:
    """Build a :class:`Session` (events validated from JSON in one pass)."""
    return Session(
        app_name=record.app_name,
        user_id=record.user_id,
        id=record.id,
        state=record.state,
        events=decode_events(record.events_json),
        last_update_time=record.last_update_time,
        revision=record.revision,
    )


def page_from_record(record: SessionPageRecord) -> SessionPage:
    """Build a :class:`SessionPage` (the sessions validated from JSON in one pass)."""
    sessions = decode_sessions(record.sessions_json)
    for session, revision in zip(sessions, record.revisions, strict=True):
        session.revision = revision
    return SessionPage(sessions=sessions, next_page_token=record.next_page_token)
