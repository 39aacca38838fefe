from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from writerai._streaming import SSEDecoder as SDKDecoder
from writerai.types import ChatCompletion, ChatCompletionChunk

from writer_stream_testkit.errors import LengthFinishReasonError, ScriptError
from writer_stream_testkit.scripts.chat import DEFAULT_CREATED, DEFAULT_ID, StreamScript
from writer_stream_testkit.scripts.faults import Fault
from writer_stream_testkit.scripts.run import script_events
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


def test_content_logprobs_accept_short_and_full_forms() -> None:
    script = StreamScript().content(
        "Foo",
        "!",
        "?",
        logprobs=[
            -0.5,
            [("!", -0.25), {"token": "x", "logprob": -1, "bytes": None, "top_logprobs": [("y", -2)]}],
            None,
        ],
    )
    first, second, third = script.chunks()[:3]
    assert first["choices"][0]["logprobs"] == {
        "content": [{"token": "Foo", "logprob": -0.5, "bytes": [70, 111, 111], "top_logprobs": []}],
        "refusal": None,
    }
    assert second["choices"][0]["logprobs"]["content"] == [
        {"token": "!", "logprob": -0.25, "bytes": [33], "top_logprobs": []},
        {
            "token": "x",
            "logprob": -1.0,
            "bytes": None,
            "top_logprobs": [{"token": "y", "logprob": -2.0, "bytes": [121]}],
        },
    ]
    assert third["choices"][0]["logprobs"] is None


def test_refusal_logprobs_and_standalone_logprobs_chunk() -> None:
    script = StreamScript().refusal("No", logprobs=[-0.1]).logprobs(content=[("a", -1)], refusal=[])
    refusal, standalone, _ = script.chunks()
    assert refusal["choices"][0]["delta"] == {"role": "assistant", "refusal": "No"}
    assert refusal["choices"][0]["logprobs"]["refusal"][0]["token"] == "No"
    assert refusal["choices"][0]["logprobs"]["content"] is None
    assert standalone["choices"][0]["delta"] == {"role": "assistant"}
    assert standalone["choices"][0]["logprobs"] == {
        "content": [{"token": "a", "logprob": -1.0, "bytes": [97], "top_logprobs": []}],
        "refusal": [],
    }


@pytest.mark.parametrize(
    ("logprobs", "message"),
    [
        ([-0.1], "one entry per piece"),
        ([float("nan"), 0], "not a finite number"),
        (["x", 0], "not a logprob"),
    ],
)
def test_bad_logprobs_are_explained(logprobs: Any, message: str) -> None:
    with pytest.raises(ScriptError, match=message):
        StreamScript().content("a", "b", logprobs=logprobs)


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


def test_completion_assembles_every_choice() -> None:
    script = (
        StreamScript(n=3)
        .content("Hel", "lo", logprobs=[-0.1, -0.2])
        .refusal("No", choice=1)
        .tool_call("f", ['{"a":', "1}"], id="call_x", choice=2)
        .finish("length")
        .usage(prompt_tokens=1, completion_tokens=2)
    )
    completion = script.completion()
    parsed = ChatCompletion.model_validate(completion)
    assert parsed.object == "chat.completion"
    assert completion["usage"] == {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
    zero, one, two = completion["choices"]
    assert zero["message"] == {"role": "assistant", "content": "Hello", "refusal": None}
    assert zero["finish_reason"] == "length"
    assert [t["token"] for t in zero["logprobs"]["content"]] == ["Hel", "lo"]
    assert one["message"]["refusal"] == "No"
    assert one["finish_reason"] == "stop"
    assert two["message"]["tool_calls"] == [
        {"id": "call_x", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}}
    ]
    assert two["finish_reason"] == "tool_calls"


def test_completion_reports_unassemblable_raw_chunk() -> None:
    with pytest.raises(ScriptError, match="chunk 0 has a choice without an integer index"):
        StreamScript().raw({"choices": [{"delta": {}}]}).completion()


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


# --- YAML ---------------------------------------------------------------------------------------


def test_yaml_form_is_small_and_readable() -> None:
    script = StreamScript().content("Hi", " there").tool_call("f", ["{}"]).finish("tool_calls")
    assert script.to_yaml() == (
        "model: palmyra-x5\n"
        "steps:\n"
        "- content: [Hi, ' there']\n"
        "- tool_call:\n"
        "    name: f\n"
        "    arguments: ['{}']\n"
        "- finish: tool_calls\n"
    )


def test_yaml_carries_role_on_and_system_fingerprint_only_when_not_the_default() -> None:
    openai = StreamScript(role_on="first", system_fingerprint=None).content("Hi")
    assert openai.to_yaml().splitlines()[:3] == [
        "model: palmyra-x5",
        "system_fingerprint: null",
        "role_on: first",
    ]
    assert StreamScript.from_yaml(openai.to_yaml()) == openai
    assert StreamScript.from_yaml("role_on: first\nsteps: [content: [a, b]]\n").chunks()[1]["choices"][0][
        "delta"
    ] == {"content": "b"}
    with pytest.raises(ScriptError, match=r"<script YAML>: StreamScript role_on='once' is not a choice"):
        StreamScript.from_yaml("role_on: once\n")


def test_yaml_reads_hand_written_short_forms(tmp_path: Path) -> None:
    text = """
model: palmyra-x4
steps:
  - content: Hi
  - content: {pieces: [a, b], choice: 1, logprobs: [-0.1, [[b, -0.2]]]}
  - tool_call: {name: f, arguments: ['{}']}
  - finish: {reason: length, choice: 1}
  - usage: {prompt_tokens: 1, completion_tokens: 2}
faults:
  - missing_done
  - disconnect: {after_chunks: 2}
"""
    path = tmp_path / "s.yaml"
    path.write_text(text)
    expected = (
        StreamScript(model="palmyra-x4")
        .content("Hi")
        .content("a", "b", choice=1, logprobs=[-0.1, [("b", -0.2)]])
        .tool_call("f", ["{}"])
        .finish("length", choice=1)
        .usage(prompt_tokens=1, completion_tokens=2)
        .with_fault(Fault.missing_done(), Fault.disconnect(after_chunks=2))
    )
    assert StreamScript.from_yaml(text) == expected
    assert StreamScript.from_yaml(path) == expected
    assert StreamScript.from_yaml(str(path)) == expected


def _alias_bomb(levels: int) -> str:
    """A few hundred bytes of YAML whose aliases stand for 10**levels values."""
    lines = ["kind: json", "path: /v1/models", "body:", "  l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    for n in range(1, levels):
        lines.append(f"  l{n}: &l{n} [" + ", ".join([f"*l{n - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("read", ["script_from_yaml", "file", "StreamScript.from_yaml"])
def test_a_script_yaml_alias_bomb_is_refused_as_a_cassette_s_is(read: str, tmp_path: Path) -> None:
    from writer_stream_testkit._yaml_bounds import ALIAS_EXPANSION_LIMIT
    from writer_stream_testkit.scripts.load import script_from_yaml

    bomb = _alias_bomb(6)  # 10**6 values of two characters each: twice the limit
    assert len(bomb) < 500
    assert ALIAS_EXPANSION_LIMIT == 1_000_000
    path = tmp_path / "bomb.yaml"
    path.write_text(bomb, encoding="utf-8")
    load = {
        "script_from_yaml": lambda: script_from_yaml(bomb),
        "file": lambda: script_from_yaml(path),
        "StreamScript.from_yaml": lambda: StreamScript.from_yaml(bomb),
    }[read]
    message = (
        r"uses YAML aliases that stand for more than 1,000,000 characters of data; .* Write the values out"
    )
    with pytest.raises(ScriptError, match=message) as caught:
        load()
    assert str(caught.value).startswith(str(path) if read == "file" else "<script YAML>")


def test_a_script_may_still_repeat_a_value_through_an_alias() -> None:
    from writer_stream_testkit.scripts.load import script_from_yaml

    script = script_from_yaml(_alias_bomb(3))  # 1,000 values: well inside the bound
    assert script.plan(Call.create(method="GET", url="https://api.writer.com/v1/models")).status == 200
    looped = "steps:\n  - content: &hi Hello\n  - content: *hi\n"
    assert StreamScript.from_yaml(looped) == StreamScript().content("Hello").content("Hello")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            b"steps: " + b"[" * 2000 + b"]" * 2000 + b"\n",
            r"^{path} nests lists or mappings too deeply to read \(more than Python's recursion allows\); "
            r"no script needs that many levels, so write it flatter\.$",
        ),
        (
            b"steps:\n- content: caf\xe9\n",
            r"^Cannot read the script file {path}: it is not UTF-8 text \(.*\); save it as UTF-8\.$",
        ),
    ],
    ids=["nested-past-the-recursion-limit", "not-utf-8"],
)
def test_a_script_file_too_deep_or_not_utf8_is_a_script_error_naming_it(
    content: bytes, message: str, tmp_path: Path
) -> None:
    """``serve --script`` once printed a RecursionError or UnicodeDecodeError traceback for these."""
    from writer_stream_testkit.scripts.load import script_from_yaml

    path = tmp_path / "odd.yaml"
    path.write_bytes(content)
    with pytest.raises(ScriptError, match=message.format(path=re.escape(str(path)))):
        script_from_yaml(path)


def test_yaml_refuses_python_tags() -> None:
    hostile = "model: !!python/object/apply:os.system ['echo pwned']\nsteps: []\n"
    with pytest.raises(ScriptError, match=r"refuses Python tags like !!python/object"):
        StreamScript.from_yaml(hostile)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "steps:\n  - content: [a]\n  - finish: done\n",
            r"<script YAML>, step 2 \(finish\): .*not a finish reason",
        ),
        ("steps:\n  - shout: [a]\n", r"step 1 \(shout\): unknown step 'shout'"),
        ("steps:\n  - tool_call: {arguments: []}\n", r"step 1 \(tool_call\): a tool_call needs a name"),
        ("steps:\n  - usage: {prompt_tokens: 1, completion_tokens: 1, extra: 2}\n", "unknown field extra"),
        ("steps:\n  - content: [1]\n", "every content piece must be a string"),
        ("modle: x\n", "unknown key modle"),
        ("- a\n", "a script is a mapping"),
        ("faults: [explode]\n", r"fault 1: unknown fault 'explode'"),
        ("model: [\n", "not valid YAML"),
    ],
)
def test_yaml_errors_name_the_source_and_step(text: str, message: str) -> None:
    with pytest.raises(ScriptError, match=message):
        StreamScript.from_yaml(text)


def test_yaml_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("steps:\n  - finish: nope\n")
    with pytest.raises(ScriptError, match=rf"^{path}, step 1 \(finish\)"):
        StreamScript.from_yaml(path)
    with pytest.raises(ScriptError, match="Cannot read the script file"):
        StreamScript.from_yaml(tmp_path / "missing.yaml")


TEXT = st.text(st.characters(codec="utf-8"), max_size=8)
LOGPROB = st.floats(min_value=-20, max_value=0, allow_nan=False)


@st.composite
def scripts(draw: st.DrawFn) -> StreamScript:
    script = StreamScript(
        model=draw(st.sampled_from(["palmyra-x5", "palmyra-x4"])),
        created=draw(st.integers(0, 2**31)),
        system_fingerprint=draw(st.none() | st.just("v1") | TEXT),
        auto_finish=draw(st.booleans()),
        role_on=draw(st.sampled_from(["every", "first"])),
    )
    for _ in range(draw(st.integers(0, 8))):
        which = draw(st.integers(0, 9))
        c = draw(st.integers(0, 2))
        try:
            if which in (0, 1):
                pieces = draw(st.lists(TEXT, min_size=1, max_size=3))
                logprobs = draw(
                    st.none() | st.lists(st.none() | LOGPROB, min_size=len(pieces), max_size=len(pieces))
                )
                method = script.content if which == 0 else script.refusal
                script = method(*pieces, choice=c, logprobs=logprobs)
            elif which == 2:
                script = script.tool_call(draw(TEXT.filter(bool)), draw(st.lists(TEXT, max_size=3)), choice=c)
            elif which == 3:
                script = script.finish(
                    draw(st.sampled_from(["stop", "length", "content_filter", "tool_calls"])), choice=c
                )
            elif which == 4:
                script = script.usage(
                    prompt_tokens=draw(st.integers(0, 99)), completion_tokens=draw(st.integers(0, 99))
                )
            elif which == 5:
                # Raw data starting with `{` would be read back as a JSON chunk the script never sent.
                script = script.raw(
                    draw(TEXT.filter(lambda t: "\n" not in t and "\r" not in t and not t.startswith("{")))
                )
            elif which == 6:
                script = script.graph_data(
                    status="processing", sources=[{"file_id": draw(TEXT), "snippet": "s"}], choice=c
                )
            elif which == 7:
                script = script.logprobs(content=[(draw(TEXT), draw(LOGPROB))], choice=c)
            elif which == 8:
                script = script.llm_data(model=draw(TEXT), prompt=draw(TEXT), choice=c)
            else:
                script = script.translation_data(
                    source_language_code="en", source_text=draw(TEXT), target_language_code="de", choice=c
                )
        except ScriptError:
            continue  # e.g. a step after its choice finished: not a script, skip the step
    faults = draw(
        st.lists(
            st.sampled_from(
                [Fault.missing_done(), Fault.crlf(), Fault.split(sizes=[3]), Fault.delay(each=0.5)]
            ),
            max_size=2,
        )
    )
    return script.with_fault(*faults)


@settings(max_examples=150, deadline=None)
@given(scripts())
def test_yaml_round_trips_random_scripts(script: StreamScript) -> None:
    text = script.to_yaml()
    again = StreamScript.from_yaml(text)
    assert again == script
    assert again.to_yaml() == text
    assert again.sse() == script.sse()


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


# --- script_events ------------------------------------------------------------------------------


class Location(pydantic.BaseModel):
    city: str


def test_script_events_gives_event_order_and_final_completion() -> None:
    run = script_events(StreamScript().content("Hi", " there").tool_call("f", ["{}"]))
    assert run.error is None
    assert [e.type for e in run.events] == [
        "chunk",
        "content.delta",
        "chunk",
        "content.delta",
        "chunk",
        "tool_calls.function.arguments.delta",
        "content.done",
        "chunk",
        "tool_calls.function.arguments.delta",
        "chunk",
        "tool_calls.function.arguments.done",
    ]
    assert run.completion is not None
    assert run.completion.choices[0].message.content == "Hi there"
    assert run.completion.choices[0].finish_reason == "tool_calls"


def test_script_events_parses_response_format() -> None:
    run = script_events(StreamScript().content('{"city":', ' "SF"}'), response_format=Location)
    assert run.completion is not None
    assert run.completion.choices[0].message.parsed == Location(city="SF")


def test_script_events_returns_the_error_with_events_so_far() -> None:
    run = script_events(StreamScript().content('{"ci').finish("length"), response_format=Location)
    assert isinstance(run.error, LengthFinishReasonError)
    assert run.completion is None
    # the finish chunk raises inside handle_chunk, as in the SDK, so its events never arrive
    assert [e.type for e in run.events] == ["chunk", "content.delta"]


def test_script_run_reads_as_a_short_summary() -> None:
    run = script_events(StreamScript().content("a", "b").finish())
    assert run.types == ["chunk", "content.delta", "chunk", "content.delta", "chunk", "content.done"]
    assert repr(run) == (
        "ScriptRun(6 events [chunk, content.delta, chunk, content.delta, chunk, content.done], "
        "content='ab', error=None)"
    )


def test_finish_without_a_reason_is_tool_calls_after_a_tool_call_as_the_automatic_one() -> None:
    called = StreamScript().content("Let me check").tool_call("f", ["{}"])
    assert called.finish().chunks()[-1] == called.chunks()[-1] == choice(0, {}, finish="tool_calls")
    assert StreamScript().content("Hi").finish().chunks()[-1] == choice(0, {}, finish="stop")
    both = StreamScript().tool_call("f", ["{}"], choice=1).finish().finish(choice=1)
    assert [c["choices"][0]["finish_reason"] for c in both.chunks()[-2:]] == ["stop", "tool_calls"]
    from_yaml = StreamScript.from_yaml("steps:\n- tool_call: {name: f}\n- finish:\n- finish: {choice: 1}\n")
    assert [c["choices"][0]["finish_reason"] for c in from_yaml.chunks()[-2:]] == ["tool_calls", "stop"]
