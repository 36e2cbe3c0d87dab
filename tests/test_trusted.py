"""The trusted decoder turns stored events into exactly what pydantic's own decoding gives."""

from __future__ import annotations

import functools
import gc
import json
import logging
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from google.adk.auth.auth_credential import AuthCredential, AuthCredentialTypes, OAuth2Auth
from google.adk.auth.auth_tool import AuthConfig
from google.adk.events.event import Event, NodeInfo
from google.adk.events.event_actions import EventActions, EventCompaction
from google.adk.events.ui_widget import UiWidget
from google.adk.models.cache_metadata import CacheMetadata
from google.adk.tools.tool_confirmation import ToolConfirmation
from google.genai import _common, types
from pydantic import (
    BaseModel,
    ConfigDict,
    PrivateAttr,
    RootModel,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from pydantic.alias_generators import to_camel

from adk_pg.sessions import decode, models
from adk_pg.sessions.decode import (
    _rewrite,
    _underlying,
    collector_paused,
    decodes_alike,
    fast_list_validator,
    trusted_list_validator,
)

# What a dumped ADK event never needs: genai's type-mismatch warning, ADK's convenience
# kwargs, and Part's positional-argument __init__.
SKIP = (
    _common.BaseModel._check_field_type_mismatches,
    Event._accept_convenience_kwargs,
    types.Part.__init__,
)
GENAI_SKIP = (_common.BaseModel._check_field_type_mismatches, types.Part.__init__)
T0 = 1_760_000_000.25


def _content(role: str, *parts: types.Part) -> types.Content:
    return types.Content(role=role, parts=list(parts))


def adk_events() -> list[Event]:
    """Events covering every kind of part, every action and the LlmResponse fields."""
    call = types.FunctionCall(id="fc1", name="lookup", args={"q": "x", "opts": {"n": [1, 2]}})
    response = types.FunctionResponse(id="fc1", name="lookup", response={"rows": [{"a": 1.5}]})
    auth = AuthConfig(
        auth_scheme={"type": "http", "scheme": "bearer"},
        credential_key="ck",
        raw_auth_credential=AuthCredential(
            auth_type=AuthCredentialTypes.OAUTH2,
            oauth2=OAuth2Auth(client_id="id", client_secret="secret"),
        ),
    )
    grounding = types.GroundingMetadata(
        grounding_chunks=[types.GroundingChunk(web=types.GroundingChunkWeb(uri="u", title="t"))],
        grounding_supports=[
            types.GroundingSupport(
                segment=types.Segment(start_index=0, end_index=5, text="hello"),
                grounding_chunk_indices=[0],
                confidence_scores=[0.5],
            )
        ],
        web_search_queries=["q"],
    )
    usage = types.GenerateContentResponseUsageMetadata(
        prompt_token_count=10,
        candidates_token_count=5,
        total_token_count=15,
        prompt_tokens_details=[
            types.ModalityTokenCount(modality=types.MediaModality.TEXT, token_count=10)
        ],
    )
    return [
        Event(id="e0", invocation_id="i0", author="user", timestamp=T0),  # no content
        Event(
            id="e1",
            invocation_id="i1",
            author="user",
            timestamp=T0 + 1,
            content=_content("user", types.Part(text="hello ☃ \u2028 \U0001f600")),
            branch="root.child",
            actions=EventActions(
                state_delta={"k": {"nested": [1, 2.5, True, "s", {"d": []}]}, "user:u": 3},
                artifact_delta={"report.pdf": 2},
            ),
        ),
        Event(
            id="e2",
            invocation_id="i1",
            author="agent",
            timestamp=T0 + 2,
            content=_content(
                "model",
                types.Part(text="thinking", thought=True, thought_signature=b"\x00\xffsig"),
                types.Part(function_call=call),
            ),
            long_running_tool_ids={"fc1", "fc0"},
            partial=False,
            turn_complete=True,
            finish_reason=types.FinishReason.STOP,
            usage_metadata=usage,
            grounding_metadata=grounding,
            custom_metadata={"trace": {"span": 7}, "tags": ["a", "b"]},
            model_version="gemini-x",
            avg_logprobs=-0.25,
        ),
        Event(
            id="e3",
            invocation_id="i1",
            author="agent",
            timestamp=T0 + 3,
            content=_content(
                "user",
                types.Part(function_response=response),
                types.Part(inline_data=types.Blob(mime_type="image/png", data=bytes(range(256)))),
                types.Part(file_data=types.FileData(file_uri="gs://b/f", mime_type="text/plain")),
                types.Part(
                    executable_code=types.ExecutableCode(
                        code="print(1)", language=types.Language.PYTHON
                    )
                ),
                types.Part(
                    code_execution_result=types.CodeExecutionResult(
                        outcome=types.Outcome.OUTCOME_OK, output="1"
                    )
                ),
            ),
            actions=EventActions(
                skip_summarization=True,
                requested_auth_configs={"fc1": auth},
                requested_tool_confirmations={
                    "fc1": ToolConfirmation(hint="sure?", confirmed=True, payload={"x": 1})
                },
            ),
        ),
        Event(
            id="e4",
            invocation_id="i2",
            author="agent",
            timestamp=T0 + 4,
            actions=EventActions(
                transfer_to_agent="other",
                transfer_reason="because",
                escalate=True,
                end_of_agent=True,
                agent_state={"step": 2},
                route=["a", 1, True],
                render_ui_widgets=[UiWidget(id="w", provider="p", payload={"k": [1]})],
                set_model_response={"answer": 42},
                compaction=EventCompaction(
                    start_timestamp=T0,
                    end_timestamp=T0 + 3,
                    compacted_content=_content("model", types.Part(text="summary")),
                ),
            ),
            node_info=NodeInfo(path="wf/node", output_for=["wf"], message_as_output=True),
            output={"result": [1, "two"]},
            isolation_scope="fc1",
        ),
        Event(
            id="e5",
            invocation_id="i2",
            author="agent",
            timestamp=T0 + 5,
            error_code="RESOURCE_EXHAUSTED",
            error_message="quota",
            interrupted=True,
            input_transcription=types.Transcription(text="hi", finished=True),
            cache_metadata=CacheMetadata(
                cache_name="c",
                expire_time=T0 + 60,
                fingerprint="f",
                invocations_used=1,
                contents_count=3,
            ),
            citation_metadata=types.CitationMetadata(
                citations=[types.Citation(start_index=0, end_index=3, uri="u")]
            ),
        ),
    ]


def _json(events: list[Any]) -> str:
    return "[" + ",".join(e.model_dump_json(exclude_none=True) for e in events) + "]"


def _shape(value: Any) -> Any:
    """Every model's exact type and fields set, with the same for everything inside it."""
    if isinstance(value, BaseModel):
        inner = {name: _shape(item) for name, item in value.__dict__.items()}
        return (type(value), sorted(value.model_fields_set), inner)
    if isinstance(value, (list, tuple)):
        return [_shape(item) for item in value]
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    return type(value)


def _assert_same(fast: list[Any], standard: list[Any]) -> None:
    assert fast == standard
    assert _shape(fast) == _shape(standard)
    for ours, theirs in zip(fast, standard, strict=True):
        assert ours.model_dump_json() == theirs.model_dump_json()
        assert ours.model_dump_json(exclude_unset=True) == theirs.model_dump_json(
            exclude_unset=True
        )


STANDARD = TypeAdapter(list[Event])
FAST = fast_list_validator(Event, skip=SKIP)


@pytest.mark.parametrize("event", adk_events(), ids=lambda e: str(e.id))
def test_each_event_decodes_as_pydantic_does(event: Event) -> None:
    text = _json([event])
    fast, standard = FAST(text), STANDARD.validate_json(text)
    _assert_same(fast, standard)
    # In either decoder, fastapi's HTTPBase in an AuthConfig comes back with "type_" as an extra.
    if not event.actions.requested_auth_configs:
        assert fast == [event]
    assert type(fast[0]) is Event
    assert type(fast[0].actions) is EventActions
    assert type(fast[0].node_info) is NodeInfo
    if event.content is not None:
        assert fast[0].content is not None
        assert type(fast[0].content) is types.Content
        assert all(type(part) is types.Part for part in fast[0].content.parts or ())


def test_the_whole_corpus_and_postgres_shaped_json() -> None:
    events = adk_events()
    _assert_same(FAST(_json(events)), STANDARD.validate_json(_json(events)))
    # jsonb gives keys another order and other spacing.
    reshaped = json.dumps(json.loads(_json(events)), sort_keys=True, indent=1)
    _assert_same(FAST(reshaped.encode()), STANDARD.validate_json(reshaped))
    assert FAST("[]") == []


def test_bytes_come_back_base64_decoded() -> None:
    fast = FAST(_json(adk_events()))
    thinking, function_response = fast[2].content, fast[3].content
    assert thinking is not None
    assert thinking.parts is not None
    assert thinking.parts[0].thought_signature == b"\x00\xffsig"
    assert function_response is not None
    assert function_response.parts is not None
    blob = function_response.parts[1].inline_data
    assert blob is not None
    assert blob.data == bytes(range(256))
    assert fast[2].long_running_tool_ids == {"fc0", "fc1"}


def _corrupt(change: Callable[[dict[str, Any]], None]) -> str:
    events = json.loads(_json(adk_events()))
    change(events[1])
    return json.dumps(events)


CORRUPTIONS: dict[str, Callable[[dict[str, Any]], None]] = {
    "timestamp": lambda e: e.update(timestamp="not a number"),
    "author": lambda e: e.update(author=5),
    "actions extra": lambda e: e["actions"].update(bogus=1),
    "artifact version": lambda e: e["actions"]["artifact_delta"].update(f="x"),
    "part text": lambda e: e["content"]["parts"][0].update(text=5),
    "part extra": lambda e: e["content"].update(parts=[{"txt": "hi"}]),
    "part not an object": lambda e: e["content"].update(parts=[5]),
    "content not an object": lambda e: e.update(content="hi"),
}


@pytest.mark.parametrize("change", CORRUPTIONS.values(), ids=CORRUPTIONS.keys())
def test_corrupted_input_fails_in_both(change: Callable[[dict[str, Any]], None]) -> None:
    text = _corrupt(change)
    with pytest.raises(ValidationError) as standard:
        STANDARD.validate_json(text)
    with pytest.raises(ValidationError) as fast:
        FAST(text)
    assert [e["loc"] for e in fast.value.errors()] == [e["loc"] for e in standard.value.errors()]
    assert fast.value.title == standard.value.title


def test_truncated_json_fails_in_both() -> None:
    text = _json(adk_events())[:-20]
    with pytest.raises(ValidationError):
        STANDARD.validate_json(text)
    with pytest.raises(ValidationError):
        FAST(text)


def test_unknown_event_field_is_ignored_in_both() -> None:
    text = _corrupt(lambda e: e.update(from_a_newer_adk=1))
    _assert_same(FAST(text), STANDARD.validate_json(text))


def test_the_known_differences_need_input_no_dump_produces() -> None:
    # An explicit null: Part.__init__ drops it from the fields set, the fast decoder keeps it.
    text = _corrupt(lambda e: e["content"]["parts"][0].update(thought=None))
    fast_event, standard_event = FAST(text)[1], STANDARD.validate_json(text)[1]
    assert fast_event == standard_event  # == ignores the fields set
    assert fast_event.content is not None
    assert fast_event.content.parts is not None
    assert fast_event.content.parts[0].model_fields_set == {"text", "thought"}
    # A convenience kwarg is routed by ADK's before-validator, ignored as an unknown key here.
    text = _corrupt(lambda e: e.update(state={"routed": 1}))
    assert FAST(text)[1].actions.state_delta == adk_events()[1].actions.state_delta
    assert STANDARD.validate_json(text)[1].actions.state_delta == {"routed": 1}


def _walk(schema: Any) -> Iterator[dict[str, Any]]:
    """Every node of a core schema that takes part in validation."""
    if isinstance(schema, list):
        for item in schema:
            yield from _walk(item)
    elif isinstance(schema, dict):
        yield schema
        for key, value in schema.items():
            if key not in ("serialization", "metadata", "default"):
                yield from _walk(value)


def _validators(schema: Any) -> set[Any]:
    functions = set()
    for node in _walk(schema):
        if str(node.get("type", "")).startswith("function-") and "function" in node:
            functions.add(_underlying(node["function"]["function"]))
    return functions


def test_rewritten_schema_has_no_skipped_function_and_no_model_class() -> None:
    original = STANDARD.core_schema
    skipped = {_underlying(function) for function in SKIP}
    assert skipped - {types.Part.__init__} <= _validators(original)
    before = json.dumps(original, default=repr)
    rewritten = _rewrite(original, skipped, {})
    assert json.dumps(original, default=repr) == before  # the original is left as it was
    assert not skipped & _validators(rewritten)
    originals = [node for node in _walk(original) if node.get("type") == "model"]
    models_ = [node for node in _walk(rewritten) if node.get("type") == "model"]
    assert len(models_) == len(originals) > 50
    for old, new in zip(originals, models_, strict=True):
        assert not issubclass(new["cls"], BaseModel)  # so no prebuilt validator applies
        assert new["cls"].__name__ == old["cls"].__name__
        assert type(new["cls"].__new__(new["cls"])) is old["cls"]
        assert new.get("ref") == old.get("ref")
        assert not new.get("custom_init")
        assert new["config"] == old["config"]


def test_skip_matches_every_spelling_of_a_function() -> None:
    check = _common.BaseModel._check_field_type_mismatches

    @functools.wraps(check.__func__)
    def wrapper(*args: Any) -> Any:
        return check.__func__(*args)

    spellings = [
        check,
        types.Part._check_field_type_mismatches,  # bound to a subclass
        _common.BaseModel.__dict__["_check_field_type_mismatches"],  # the classmethod
        check.__func__,
        wrapper,
    ]
    for spelling in spellings:
        rewritten = _rewrite(STANDARD.core_schema, {_underlying(spelling)}, {})
        assert _underlying(check) not in _validators(rewritten)
        assert _underlying(Event._accept_convenience_kwargs) in _validators(rewritten)


CALLS: Counter[str] = Counter()


class Inner(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    some_value: int
    note: str = ""
    _seen: list[int] = PrivateAttr(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _count(cls, data: Any) -> Any:
        CALLS["inner before"] += 1
        return data


class Custom(BaseModel):
    label: str

    def __init__(self, **data: Any) -> None:
        CALLS["custom init"] += 1
        super().__init__(**data)


class Numbers(RootModel[list[int]]):
    pass


class Outer(BaseModel):
    inner: Inner
    customs: list[Custom] = []
    numbers: Numbers | None = None

    def model_post_init(self, context: Any, /) -> None:
        CALLS["outer post init"] += 1

    @model_validator(mode="after")
    def _after(self) -> Outer:
        CALLS["outer after"] += 1
        return self


def _outers() -> list[Outer]:
    return [
        Outer(inner=Inner(some_value=1), customs=[Custom(label="a"), Custom(label="b")]),
        Outer(inner=Inner(some_value=2, note="n"), numbers=Numbers([1, 2])),
    ]


def test_skipped_code_is_not_run_and_the_rest_is() -> None:
    text = _json(_outers())
    fast = fast_list_validator(Outer, skip=[Inner._count, Custom.__init__])
    CALLS.clear()
    decoded = fast(text)
    assert CALLS == {"outer post init": 2, "outer after": 2}
    CALLS.clear()
    standard = TypeAdapter(list[Outer]).validate_json(text)
    assert CALLS == {"outer post init": 2, "outer after": 2, "inner before": 2, "custom init": 2}
    _assert_same(decoded, standard)
    assert decoded[0].inner._seen == []  # private attributes are initialised
    assert decoded[0].inner.__pydantic_private__ == {"_seen": []}


def test_a_custom_init_not_skipped_is_still_called() -> None:
    fast = fast_list_validator(Outer, skip=[Inner._count])
    text = _json(_outers())
    CALLS.clear()
    fast(text)
    assert CALLS["custom init"] == 2
    assert CALLS["inner before"] == 0


def test_each_model_keeps_its_own_config() -> None:
    fast = fast_list_validator(Outer, skip=[Inner._count])
    by_alias = '[{"inner": {"someValue": 1}}]'
    _assert_same(fast(by_alias), TypeAdapter(list[Outer]).validate_json(by_alias))
    with pytest.raises(ValidationError, match="Extra inputs"):
        fast('[{"inner": {"some_value": 1, "bogus": 0}}]')


def test_adk_pg_models_decode_alike() -> None:
    events = models.EVENT_LIST.validate_json(_json(adk_events()))
    events.append(models.Event.model_validate({"id": "x", "newer_field": {"a": 1}}))
    text = _json(events)
    fast = fast_list_validator(models.Event, skip=GENAI_SKIP)
    _assert_same(fast(text), models.EVENT_LIST.validate_json(text))
    assert fast(text)[-1].model_extra == {"newer_field": {"a": 1}}
    assert decodes_alike(fast, models.EVENT_LIST.validate_json, events)


def test_the_self_check_accepts_adk_events() -> None:
    assert decodes_alike(FAST, STANDARD.validate_json, adk_events())


class Shouty(BaseModel):
    label: str

    def __init__(self, **data: Any) -> None:
        data["label"] = data["label"] + "!"
        super().__init__(**data)


def test_trusted_validator_uses_the_fast_path_once_checked() -> None:
    asked: list[str] = []

    def samples() -> list[Outer]:
        asked.append("samples")
        return _outers()

    decode = trusted_list_validator(Outer, skip=[Inner._count, Custom.__init__], samples=samples)
    assert asked == []  # nothing is built before the first call
    text = _json(_outers())
    first = decode(text)
    CALLS.clear()
    _assert_same(decode(text), first)
    assert CALLS["inner before"] == 0
    assert asked == ["samples"]


def test_trusted_validator_falls_back_when_the_check_fails(
    caplog: pytest.LogCaptureFixture,
) -> None:
    decode = trusted_list_validator(
        Shouty, skip=[Shouty.__init__], samples=lambda: [Shouty(label="a")]
    )
    with caplog.at_level(logging.WARNING, logger="adk_pg.sessions.decode"):
        assert decode('[{"label": "b"}]') == [Shouty(label="b")]
    assert "differs" in caplog.text


def test_trusted_validator_falls_back_when_building_fails(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken() -> list[Event]:
        raise RuntimeError("no samples")

    decode = trusted_list_validator(Event, skip=SKIP, samples=broken)
    text = _json(adk_events())
    with caplog.at_level(logging.WARNING, logger="adk_pg.sessions.decode"):
        _assert_same(decode(text), STANDARD.validate_json(text))
    assert "no samples" in caplog.text


def test_the_product_decoders_take_the_fast_path(caplog: pytest.LogCaptureFixture) -> None:
    from adk_pg.adk import codec as adk

    text = _json(adk_events())
    with caplog.at_level(logging.WARNING, logger="adk_pg.sessions.decode"):
        _assert_same(adk.decode_events(text), STANDARD.validate_json(text))
        ours = _json(models.EVENT_LIST.validate_json(text))
        _assert_same(decode.decode_events(ours), models.EVENT_LIST.validate_json(ours))
    assert caplog.text == ""
    assert adk.decode_events.uses_fast_path
    assert decode.decode_events.uses_fast_path


class Lenient(BaseModel):
    label: str

    def __init__(self, **data: Any) -> None:
        if "name" in data:
            data["label"] = data.pop("name")
        super().__init__(**data)


def test_input_the_fast_path_refuses_is_decoded_the_standard_way() -> None:
    decode = trusted_list_validator(
        Lenient, skip=[Lenient.__init__], samples=lambda: [Lenient(label="a")]
    )
    assert decode('[{"label": "a"}]') == [Lenient(label="a")]
    assert decode.uses_fast_path
    # Only pydantic's own path knows the old spelling: it has the last word.
    assert decode('[{"name": "b"}]') == [Lenient(label="b")]
    with pytest.raises(ValidationError):
        decode('[{"label": 5}]')


def test_the_collector_is_paused_while_decoding_and_restored() -> None:
    # Thousands of container objects, as adk-pg's own events.
    text = _json(models.EVENT_LIST.validate_json(_json(adk_events() * 200)))
    started: list[dict[str, Any]] = []

    def record(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started.append(info)

    gc.callbacks.append(record)
    try:
        assert gc.isenabled()
        decode.decode_events("[]")  # built and checked before
        expected = 200 * len(adk_events())
        gc.collect()
        started.clear()
        decoded = decode.decode_events(text)
        # None while the objects were built (dozens without the pause); at most the one
        # young collection the first allocation after it triggers.
        assert [info["generation"] for info in started] in ([], [0])
        assert len(decoded) == expected
        assert gc.isenabled()
    finally:
        gc.callbacks.remove(record)


def test_collector_paused_keeps_the_callers_setting() -> None:
    seen: list[bool] = []

    def fail_inside() -> None:
        with collector_paused():
            seen.append(gc.isenabled())
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fail_inside()
    assert seen == [False]
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()  # it was off: it stays off
    finally:
        gc.enable()
