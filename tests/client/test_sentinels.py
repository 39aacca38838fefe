"""writerai's "leave it out" markers (NOT_GIVEN, not_given, omit) recognised without importing writerai, and taken by the kit's client and stream helpers as writerai takes them."""

from __future__ import annotations

import pytest
import writerai
from chunks import text_chunk
from diffutil import plain
from fourclients import KINDS, MESSAGES
from sdkparity import MARKERS, chat_call, stream_call, through
from writerai._types import NotGiven as SdkNotGiven
from writerai._types import Omit as SdkOmit
from writerai.lib.streaming.chat._completions import ChatCompletionStreamState as SdkState
from writerai.types import ChatCompletionChunk as SdkChunk

from writer_stream_testkit._sentinels import NOT_GIVEN, is_left_out
from writer_stream_testkit.client import Writer
from writer_stream_testkit.helpers.accumulate import ChatCompletionStreamState

FIELDS = [
    "logprobs",
    "max_tokens",
    "n",
    "response_format",
    "stop",
    "stream",
    "stream_options",
    "temperature",
    "tool_choice",
    "tools",
    "top_p",
    "timeout",
]


def test_writerais_markers_are_recognised_without_importing_writerai() -> None:
    import subprocess
    import sys

    # The kit must not need writerai: using its client and helpers imports none of it.
    probe = (
        "import sys\n"
        "from writer_stream_testkit import client, _sentinels\n"
        "from writer_stream_testkit.helpers import streaming, accumulate\n"
        "client.Writer(api_key='k', base_url='http://127.0.0.1:9').chat.stream(model='m', messages=[])\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'writerai'))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout.strip()) == (0, "[]"), done.stderr
    assert all(is_left_out(getattr(writerai, name)) for name in MARKERS)
    assert is_left_out(NOT_GIVEN)
    assert not any(is_left_out(value) for value in (None, False, 0, "", [], {}))

    class NotGiven:  # the same name elsewhere is not a marker
        pass

    assert not is_left_out(NotGiven())
    assert isinstance(writerai.omit, SdkOmit)
    assert isinstance(writerai.NOT_GIVEN, SdkNotGiven)


@pytest.mark.parametrize("name", FIELDS)
@pytest.mark.parametrize("marker", MARKERS)
def test_a_field_given_writerais_marker_is_left_out_as_writerai_leaves_it_out(marker: str, name: str) -> None:
    call = {"model": "palmyra-x5", "messages": MESSAGES, "temperature": 0.5, name: getattr(writerai, marker)}
    seen = {kind: through(kind, chat_call(**call)) for kind in KINDS}
    assert {kind: s.error for kind, s in seen.items()} == dict.fromkeys(KINDS)
    assert seen["ours"].requests[0].content == seen["sdk"].requests[0].content
    assert seen["ours-async"].requests[0].content == seen["sdk-async"].requests[0].content
    assert name not in seen["ours"].body
    if (marker, name) == ("omit", "timeout"):
        # writerai's timeout takes NotGiven, not Omit: given omit it sends the object's repr as the
        # read-timeout header. The kit reads omit as "the default" (docs/deviations.md).
        sdk_header = seen["sdk"].requests[0].headers["x-stainless-read-timeout"]
        assert sdk_header.startswith("<writerai.")
        assert seen["ours"].requests[0].headers["x-stainless-read-timeout"] == "180"
        return
    assert seen["ours"].headers() == seen["sdk"].headers()
    assert seen["ours-async"].headers() == seen["sdk-async"].headers()
    assert seen["ours"].requests[0].extensions["timeout"] == seen["sdk"].requests[0].extensions["timeout"]


@pytest.mark.parametrize("marker", MARKERS)
def test_chat_stream_takes_writerais_markers_for_tools_and_every_option(marker: str) -> None:
    left_out = getattr(writerai, marker)
    call = {
        "model": "palmyra-x5",
        "messages": MESSAGES,
        **dict.fromkeys(("tools", "temperature", "max_tokens", "stop", "tool_choice"), left_out),
    }
    if marker != "omit":  # writerai's timeout takes NotGiven only (see the test above)
        call["timeout"] = left_out
    seen = {kind: through(kind, stream_call(**call)) for kind in KINDS}
    assert {kind: s.error for kind, s in seen.items()} == dict.fromkeys(KINDS)
    assert seen["ours"].requests[0].content == seen["sdk"].requests[0].content
    assert seen["ours"].headers() == seen["sdk"].headers()
    assert seen["ours-async"].headers() == seen["sdk-async"].headers()
    assert {s.result for s in seen.values()} == {('{"city": "Oslo", "degrees": 4}', None)}
    assert seen["ours"].body == {"messages": MESSAGES, "model": "palmyra-x5", "stream": True}


NESTED = {
    "message-field": lambda m: {"messages": [{"role": "user", "content": "Hi", "name": m}]},
    "tool-call-list": lambda m: {"messages": [{"role": "assistant", "content": "Hi", "tool_calls": m}]},
    "tool-description": lambda m: {
        "tools": [{"type": "function", "function": {"name": "f", "description": m, "parameters": {}}}]
    },
    "stream-options": lambda m: {"stream_options": {"include_usage": m}},
}


@pytest.mark.parametrize("where", NESTED)
@pytest.mark.parametrize("marker", MARKERS)
def test_writerais_marker_inside_a_typed_field_leaves_that_key_out_as_writerai_does(
    marker: str, where: str
) -> None:
    """writerai strips its markers wherever its request types reach, not only at the top level."""
    call = {"model": "m", "messages": MESSAGES, **NESTED[where](getattr(writerai, marker))}
    seen = {kind: through(kind, chat_call(**call)) for kind in KINDS}
    assert {kind: s.error for kind, s in seen.items()} == dict.fromkeys(KINDS)
    assert seen["ours"].requests[0].content == seen["sdk"].requests[0].content
    assert seen["ours-async"].requests[0].content == seen["sdk-async"].requests[0].content


@pytest.mark.parametrize("marker", MARKERS)
def test_writerais_marker_inside_an_untyped_json_schema_is_refused_before_sending_as_in_writerai(
    marker: str,
) -> None:
    """A function's ``parameters`` is a free JSON schema to writerai: a marker there cannot be sent."""
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": getattr(writerai, marker)}}}
    seen = {kind: through(kind, chat_call(model="m", messages=MESSAGES, tools=[tool])) for kind in KINDS}
    assert all(isinstance(s.error, TypeError) and s.requests == [] for s in seen.values()), seen


@pytest.mark.parametrize("marker", MARKERS)
def test_writerais_marker_at_extra_bodys_top_level_is_left_out_and_refused_below_it(marker: str) -> None:
    left_out = getattr(writerai, marker)
    top = {"model": "m", "messages": MESSAGES, "extra_body": {"x": left_out, "y": 1}}
    seen = {kind: through(kind, chat_call(**top)) for kind in KINDS}
    assert {kind: s.error for kind, s in seen.items()} == dict.fromkeys(KINDS)
    assert seen["ours"].requests[0].content == seen["sdk"].requests[0].content
    assert seen["ours"].body == {"messages": MESSAGES, "model": "m", "y": 1}
    below = {"model": "m", "messages": MESSAGES, "extra_body": {"x": {"z": left_out}}}
    seen = {kind: through(kind, chat_call(**below)) for kind in KINDS}
    assert all(isinstance(s.error, TypeError) and s.requests == [] for s in seen.values()), seen


def test_omit_as_a_header_value_removes_that_header_as_in_writerai() -> None:
    headers = {"X-Stainless-Helper-Method": writerai.omit, "X-Stainless-Lang": writerai.omit}
    seen = {
        kind: through(kind, stream_call(model="m", messages=MESSAGES, extra_headers=headers))
        for kind in KINDS
    }
    assert seen["ours"].headers() == seen["sdk"].headers()
    assert seen["ours-async"].headers() == seen["sdk-async"].headers()
    assert "x-stainless-helper-method" not in seen["ours"].requests[0].headers
    assert "x-stainless-lang" not in seen["ours"].requests[0].headers


def test_a_client_timeout_given_as_writerais_marker_is_the_default() -> None:
    for marker in MARKERS:
        ours = Writer(api_key="k", timeout=getattr(writerai, marker))
        assert ours.timeout == writerai.Writer(api_key="k", timeout=getattr(writerai, marker)).timeout


@pytest.mark.parametrize("marker", MARKERS)
def test_the_stream_state_takes_writerais_markers_as_its_defaults(marker: str) -> None:
    left_out = getattr(writerai, marker)
    chunks = [text_chunk("Hel"), text_chunk("lo", "stop")]
    ours = ChatCompletionStreamState(input_tools=left_out, response_format=left_out)  # type: ignore[arg-type]
    sdk = SdkState(input_tools=left_out, response_format=left_out)
    ours_events = [e for c in chunks for e in ours.handle_chunk(c)]
    sdk_events = [e for c in chunks for e in sdk.handle_chunk(SdkChunk.construct(**c))]
    assert [plain(e, with_set=False)["type"] for e in ours_events] == [e.type for e in sdk_events]
    assert ours.get_final_completion().choices[0].message.content == "Hello"
    assert sdk.get_final_completion().choices[0].message.content == "Hello"
