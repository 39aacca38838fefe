from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from chatscripts import scripts
from hypothesis import given, settings
from writerai._streaming import SSEDecoder as SDKDecoder
from writerai.types import ChatCompletionChunk

from writer_stream_testkit.errors import ScriptError
from writer_stream_testkit.scripts.chat import DEFAULT_CREATED, DEFAULT_ID, StreamScript
from writer_stream_testkit.scripts.faults import Fault
from writer_stream_testkit.wire.call import Call

RECORDED = Path(__file__).parents[1] / "data" / "recorded-sse"
HEAD = {
    "id": DEFAULT_ID,
    "object": "chat.completion.chunk",
    "created": DEFAULT_CREATED,
    "model": "palmyra-x5",
    "system_fingerprint": "v1",
}


def choice(
    index: int, delta: dict[str, Any], logprobs: Any = None, finish: str | None = None, *, role: bool = True
) -> dict[str, Any]:
    """A chunk as the script renders it: by default every delta carries the role (Writer's shape)."""
    if role:
        delta = {"role": "assistant", **delta}
    return {
        **HEAD,
        "choices": [{"index": index, "delta": delta, "logprobs": logprobs, "finish_reason": finish}],
    }


def recorded_chunks(name: str) -> list[dict[str, Any]]:
    data = (RECORDED / name).read_bytes()
    return [json.loads(e.data) for e in SDKDecoder().iter_bytes(iter([data])) if e.data != "[DONE]"]


def call(stream: bool) -> Call:
    body = {"model": "palmyra-x5", "messages": [], "stream": stream}
    return Call.create(method="POST", url="http://x/v1/chat", content=json.dumps(body).encode())


# --- chunks -------------------------------------------------------------------------------------


def test_content_defaults_match_the_wire_shape() -> None:
    assert StreamScript().content("Hi", " there").chunks() == [
        choice(0, {"role": "assistant", "content": "Hi"}),
        choice(0, {"content": " there"}),
        choice(0, {}, finish="stop"),
    ]


def test_empty_script_still_finishes_its_choice() -> None:
    assert StreamScript().chunks() == [choice(0, {"role": "assistant"}, finish="stop")]


def test_builders_return_new_frozen_values() -> None:
    base = StreamScript()
    extended = base.content("Hi")
    assert base.steps == ()
    assert extended is not base
    assert len(extended.steps) == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        extended.model = "x"  # type: ignore[misc]


def test_renders_are_deterministic() -> None:
    def build() -> StreamScript:
        return StreamScript().content("a").tool_call("f", ["{}"]).usage(prompt_tokens=1, completion_tokens=1)

    assert build() == build()
    assert build().sse() == build().sse()


def test_choices_interleave_in_call_order_with_the_role_on_every_delta() -> None:
    script = (
        StreamScript().content("a0", choice=0).content("b0", choice=1).content("a1").content("b1", choice=1)
    )
    assert script.chunks() == [
        choice(0, {"content": "a0"}),
        choice(1, {"content": "b0"}),
        choice(0, {"content": "a1"}),
        choice(1, {"content": "b1"}),
        choice(0, {}, finish="stop"),
        choice(1, {}, finish="stop"),
    ]
    assert all(c["choices"][0]["delta"]["role"] == "assistant" for c in script.chunks())


def test_role_on_first_puts_the_role_on_each_choices_first_delta_only() -> None:
    script = (
        StreamScript(role_on="first")
        .content("a0", choice=0)
        .content("b0", choice=1)
        .tool_call("f", ["{}"])
        .content("b1", choice=1)
        .logprobs(content=[("x", -0.5)], choice=1)
    )
    assert script.chunks() == [
        choice(0, {"content": "a0"}),
        choice(1, {"content": "b0"}),
        choice(
            0,
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": script.steps[2].id,
                        "type": "function",  # type: ignore[union-attr]
                        "function": {"name": "f", "arguments": ""},
                    }
                ]
            },
            role=False,
        ),
        choice(0, {"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]}, role=False),
        choice(1, {"content": "b1"}, role=False),
        choice(
            1,
            {},
            {
                "content": [{"token": "x", "logprob": -0.5, "bytes": [120], "top_logprobs": []}],
                "refusal": None,
            },
            role=False,
        ),
        choice(0, {}, finish="tool_calls", role=False),
        choice(1, {}, finish="stop", role=False),
    ]


def test_role_on_every_puts_the_role_on_tool_logprob_data_and_finish_deltas_too() -> None:
    script = (
        StreamScript()
        .tool_call("f", ["{", "}"])
        .logprobs(content=[("x", -0.5)])
        .graph_data(status="finished")
        .usage(prompt_tokens=1, completion_tokens=1)
    )
    deltas = [c["choices"][0]["delta"] for c in script.chunks() if c["choices"]]
    assert len(deltas) == 6
    assert all(d["role"] == "assistant" for d in deltas)
    assert script.chunks()[-1]["choices"] == []  # the usage chunk has no delta to carry it


@pytest.mark.parametrize("bad", ["all", "First", None, 1])
def test_role_on_takes_every_or_first_only(bad: object) -> None:
    with pytest.raises(ScriptError, match=r"role_on=.* is not a choice; use \"every\""):
        StreamScript(role_on=bad)  # type: ignore[arg-type]


def test_system_fingerprint_defaults_to_v1_and_none_leaves_it_out() -> None:
    assert StreamScript().chunks()[0]["system_fingerprint"] == "v1"
    assert StreamScript().completion()["system_fingerprint"] == "v1"
    assert "system_fingerprint" not in StreamScript(system_fingerprint=None).chunks()[0]
    assert "system_fingerprint" not in StreamScript(system_fingerprint=None).completion()
    with pytest.raises(ScriptError, match="system_fingerprint=5 must be a string, or None"):
        StreamScript(system_fingerprint=5)  # type: ignore[arg-type]


def test_n_adds_finish_for_unused_choices_and_bounds_choice() -> None:
    script = StreamScript(n=2).content("x")
    assert [c["choices"][0]["index"] for c in script.chunks()] == [0, 0, 1]
    with pytest.raises(ScriptError, match="n=2 choices"):
        script.content("y", choice=2)
    with pytest.raises(ScriptError, match="raise n to 4"):
        StreamScript(n=1, steps=StreamScript().content("a", choice=3).steps)


def test_explicit_finish_and_auto_finish_off() -> None:
    assert StreamScript().content("a").finish("length").chunks()[-1] == choice(0, {}, finish="length")
    assert StreamScript(auto_finish=False).content("a").chunks() == [
        choice(0, {"role": "assistant", "content": "a"})
    ]
    with pytest.raises(ScriptError, match="not a finish reason; use one of stop, length"):
        StreamScript().finish("done")


def test_nothing_may_follow_a_finished_choice() -> None:
    with pytest.raises(ScriptError, match=r"comes after finish\(\) for choice 0"):
        StreamScript().finish().content("late")
    StreamScript().finish().content("other", choice=1)  # other choices carry on


def test_usage_chunk_is_last_after_auto_finish() -> None:
    chunks = (
        StreamScript()
        .content("a")
        .usage(prompt_tokens=9, completion_tokens=2, reasoning_tokens=0, cached_tokens=4)
        .chunks()
    )
    assert chunks[-2] == choice(0, {}, finish="stop")
    assert chunks[-1] == {
        **HEAD,
        "choices": [],
        "usage": {
            "prompt_tokens": 9,
            "completion_tokens": 2,
            "total_tokens": 11,
            "completion_tokens_details": {"reasoning_tokens": 0},
            "prompt_token_details": {"cached_tokens": 4},
        },
    }
    with pytest.raises(ScriptError, match="prompt_tokens=-1"):
        StreamScript().usage(prompt_tokens=-1, completion_tokens=0)


def test_tool_calls_stream_header_then_argument_pieces() -> None:
    chunks = StreamScript().tool_call("get_weather", ['{"city"', ': "SF"}'], id="call_1").chunks()
    header = {
        "index": 0,
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": ""},
    }
    assert chunks == [
        choice(0, {"role": "assistant", "tool_calls": [header]}),
        choice(0, {"tool_calls": [{"index": 0, "function": {"arguments": '{"city"'}}]}),
        choice(0, {"tool_calls": [{"index": 0, "function": {"arguments": ': "SF"}'}}]}),
        choice(0, {}, finish="tool_calls"),
    ]


def test_parallel_tool_calls_get_indexes_and_distinct_default_ids() -> None:
    script = StreamScript().tool_call("a", "{}").tool_call("b", {"x": 1})
    headers = [c["choices"][0]["delta"]["tool_calls"][0] for c in script.chunks()[:4:2]]
    assert [h["index"] for h in headers] == [0, 1]
    assert headers[0]["id"] != headers[1]["id"]
    assert all(h["id"].startswith("call_") for h in headers)
    assert script.completion()["choices"][0]["message"]["tool_calls"][1]["function"]["arguments"] == '{"x":1}'


def test_tool_call_continuation_interleaves_arguments() -> None:
    script = StreamScript().tool_call("a", ['{"p"']).tool_call("b", ["{}"]).tool_call("a", [":1}"], index=0)
    calls = script.completion()["choices"][0]["message"]["tool_calls"]
    assert [(c["function"]["name"], c["function"]["arguments"]) for c in calls] == [
        ("a", '{"p":1}'),
        ("b", "{}"),
    ]
    assert len(script.chunks()) == 6  # two headers, three argument pieces, finish
    with pytest.raises(ScriptError, match="already the call 'a'"):
        script.tool_call("zzz", ["x"], index=0)


def test_writer_only_delta_fields() -> None:
    script = (
        StreamScript()
        .graph_data(sources=[{"file_id": "f1", "snippet": "s"}], status="finished")
        .llm_data(model="palmyra-x5", prompt="p")
        .translation_data(source_language_code="en", source_text="hi", target_language_code="fr")
    )
    deltas = [c["choices"][0]["delta"] for c in script.chunks()[:3]]
    assert deltas == [
        {
            "role": "assistant",
            "graph_data": {"sources": [{"file_id": "f1", "snippet": "s"}], "status": "finished"},
        },
        {"role": "assistant", "llm_data": {"model": "palmyra-x5", "prompt": "p"}},
        {
            "role": "assistant",
            "translation_data": {
                "source_language_code": "en",
                "source_text": "hi",
                "target_language_code": "fr",
            },
        },
    ]
    for chunk in script.chunks():
        parsed = ChatCompletionChunk.model_validate(chunk)
        assert parsed.model_dump(exclude_unset=True) == chunk
    message = script.completion()["choices"][0]["message"]
    assert message["llm_data"] == {"model": "palmyra-x5", "prompt": "p"}
    assert message["graph_data"]["status"] == "finished"


def test_raw_dicts_and_strings() -> None:
    script = StreamScript(auto_finish=False).raw({"anything": [1]}).raw('{"id":"s"}').raw("not json")
    assert script.chunks() == [{"anything": [1]}, {"id": "s"}]
    assert script.sse() == b'data: {"anything":[1]}\n\ndata: {"id":"s"}\n\ndata: not json\n\ndata: [DONE]\n\n'
    with pytest.raises(ScriptError, match="neither a chunk dict nor a data string"):
        StreamScript().raw(3)  # type: ignore[arg-type]


# --- bytes --------------------------------------------------------------------------------------


def test_sse_bytes_are_exact() -> None:
    script = StreamScript(auto_finish=False).content("\u00e9")
    line = json.dumps(
        choice(0, {"role": "assistant", "content": "\u00e9"}), separators=(",", ":"), ensure_ascii=False
    )
    assert script.sse() == f"data: {line}\n\ndata: [DONE]\n\n".encode()
    assert script.sse("\r\n") == f"data: {line}\r\n\r\ndata: [DONE]\r\n\r\n".encode()
    assert script.sse("\r") == f"data: {line}\r\rdata: [DONE]\r\r".encode()
    with pytest.raises(ScriptError, match="newline"):
        script.sse("\n\n")


def test_sse_decodes_with_the_sdk_decoder_into_the_chunks() -> None:
    script = (
        StreamScript(system_fingerprint="fp")
        .content("a", "\u2603")
        .tool_call("f", ["{}"])
        .usage(prompt_tokens=1, completion_tokens=1)
    )
    events = list(SDKDecoder().iter_bytes(iter([script.sse()])))
    assert [e.json() for e in events[:-1]] == script.chunks()
    assert events[-1].data == "[DONE]"
    for chunk in script.chunks():
        ChatCompletionChunk.model_validate(chunk)


def test_chunk_shapes_match_recorded_tool_stream() -> None:
    recorded = recorded_chunks("tool-one-weather.sse")
    head = recorded[0]
    header = head["choices"][0]["delta"]["tool_calls"][0]
    pieces = [c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"] for c in recorded[1:-2]]
    usage = recorded[-1]["usage"]
    script = StreamScript(
        model=head["model"],
        id=head["id"],
        created=head["created"],
        system_fingerprint=head["system_fingerprint"],
        role_on="first",  # the recording is OpenAI's, which sends the role once
    ).tool_call(header["function"]["name"], pieces, id=header["id"])
    script = script.usage(
        prompt_tokens=usage["prompt_tokens"], completion_tokens=usage["completion_tokens"], reasoning_tokens=0
    )
    ours = script.chunks()
    assert ours[1:] == recorded[1:]
    # the recording's first delta also carries null content and refusal, which say nothing
    first = {k: v for k, v in head["choices"][0]["delta"].items() if v is not None}
    assert ours[0]["choices"][0]["delta"] == first


def test_chunk_shapes_match_recorded_logprobs_stream() -> None:
    recorded = recorded_chunks("logprobs-content.sse")
    head = recorded[0]
    second = recorded[2]["choices"][0]
    script = StreamScript(
        model=head["model"],
        id=head["id"],
        created=head["created"],
        system_fingerprint=head["system_fingerprint"],
        role_on="first",  # the recording is OpenAI's, which sends the role once
    ).content("Foo", "!", logprobs=[-0.0025094282, second["logprobs"]["content"][0]["logprob"]])
    script = script.usage(prompt_tokens=9, completion_tokens=2, reasoning_tokens=0)
    assert script.chunks()[1:] == recorded[2:]
    assert script.chunks()[0]["choices"][0]["logprobs"] == recorded[1]["choices"][0]["logprobs"]


# --- completion and plans -----------------------------------------------------------------------


def test_plan_follows_the_stream_flag() -> None:
    script = StreamScript().content("Hi")
    streamed = script.plan(call(True))
    assert streamed.headers == (("content-type", "text/event-stream"),)
    assert streamed.body() == script.sse()
    plain = script.plan(call(False))
    assert plain.headers == (("content-type", "application/json"),)
    assert json.loads(plain.body()) == script.completion()


def test_describe_names_content_and_faults() -> None:
    text = StreamScript().content("Hello").with_fault(Fault.disconnect(after_chunks=1)).describe()
    assert (
        text
        == "StreamScript(model='palmyra-x5', 2 chunks, content='Hello', faults: disconnect(after_chunks=1))"
    )


# --- random scripts ----------------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(scripts())
def test_random_scripts_decode_into_their_chunks(script: StreamScript) -> None:
    events = list(SDKDecoder().iter_bytes(iter([script.sse()])))

    def json_object(data: str) -> Any:
        try:
            return json.loads(data)
        except ValueError:
            return None  # a raw step that is not JSON (``{`` alone, say) is not a chunk

    decoded = [value for e in events[:-1] if isinstance(value := json_object(e.data), dict) and value]
    assert decoded == [c for c in script.chunks() if c]
    assert events[-1].data == "[DONE]"


def test_finish_without_a_reason_is_tool_calls_after_a_tool_call_as_the_automatic_one() -> None:
    called = StreamScript().content("Let me check").tool_call("f", ["{}"])
    assert called.finish().chunks()[-1] == called.chunks()[-1] == choice(0, {}, finish="tool_calls")
    assert StreamScript().content("Hi").finish().chunks()[-1] == choice(0, {}, finish="stop")
    both = StreamScript().tool_call("f", ["{}"], choice=1).finish().finish(choice=1)
    assert [c["choices"][0]["finish_reason"] for c in both.chunks()[-2:]] == ["stop", "tool_calls"]
    from_yaml = StreamScript.from_yaml("steps:\n- tool_call: {name: f}\n- finish:\n- finish: {choice: 1}\n")
    assert [c["choices"][0]["finish_reason"] for c in from_yaml.chunks()[-2:]] == ["tool_calls", "stop"]
