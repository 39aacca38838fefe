"""verify's drift: the shape of a stream compared event by event, text and chunking ignored, the first difference named."""

from __future__ import annotations

import json

from recorded import SSE, chat_request, streamed

from writer_stream_testkit.cassettes.model import (
    Interaction,
    RecordedEvent,
    RecordedResponse,
)
from writer_stream_testkit.cassettes.tools import (
    compare_responses,
    render_verify_report,
)
from writer_stream_testkit.scripts.chat import StreamScript


def test_same_shape_with_other_text_and_chunking_is_not_drift() -> None:
    recorded = streamed(StreamScript().content("Hello", " there").finish())
    live = streamed(StreamScript(id="other", created=1).content("Hi", " the", "re", "!").finish())
    drift = compare_responses(recorded, live)
    assert not drift.drifted
    assert drift.notes == ("text of choice 0 differs (not drift): recorded 'Hello there', live 'Hi there!'",)


def test_one_chunk_or_many_is_the_same_shape_but_a_missing_role_is_not() -> None:
    many = streamed(StreamScript().content("It", " is", " sunny", ".").finish())
    one = streamed(StreamScript().content("It is sunny.").finish())
    assert not compare_responses(many, one).drifted
    assert not compare_responses(one, many).drifted
    events = one.events
    assert events is not None
    no_role: list[RecordedEvent] = []
    for event in events:
        chunk = json.loads(event.data or "") if event.data != "[DONE]" else None
        if chunk is None:
            no_role.append(event)
            continue
        del chunk["choices"][0]["delta"]["role"]
        no_role.append(RecordedEvent(json.dumps(chunk)))
    drift = compare_responses(one, RecordedResponse(200, SSE, events=tuple(no_role)))
    assert drift.drifted
    assert drift.diff[0] == "- #0          choice 0: role"


def test_the_role_on_every_delta_or_on_the_first_only_is_the_same_shape() -> None:
    writer = streamed(StreamScript().content("It", " is").tool_call("f", ["{}"]).finish())
    openai = streamed(StreamScript(role_on="first").content("It", " is").tool_call("f", ["{}"]).finish())
    assert not compare_responses(writer, openai).drifted
    assert not compare_responses(openai, writer).drifted


def test_a_tool_call_instead_of_text_is_drift_at_the_first_differing_event() -> None:
    recorded = streamed(StreamScript().content("Sunny").finish())
    live = streamed(
        StreamScript().content("Let me check").tool_call("get_weather", ['{"city":', '"Paris"}']).finish()
    )
    drift = compare_responses(recorded, live)
    assert drift.drifted
    assert (drift.recorded_index, drift.live_index) == (1, 1)
    assert "recorded event #1 / live event #1" in drift.problem
    assert drift.diff == (
        "  #0    #0    choice 0: role",
        "  #0    #0    choice 0: content",
        "- #1          choice 0: finish=stop",
        "+       #1    choice 0: tool_call[0] get_weather",
        "  #1    #1    content.done",
        "+       #2    choice 0: tool_call[0] args  (x2)",
        "+       #4    choice 0: finish=tool_calls",
        "+       #4    tool_calls.function.arguments.done(get_weather)",
        "  #2    #5    [DONE]",
    )


def test_a_changed_finish_reason_or_a_cut_is_drift() -> None:
    base = StreamScript().content("Hi")
    assert compare_responses(streamed(base.finish("stop")), streamed(base.finish("length"))).drifted
    cut = compare_responses(streamed(base.finish()), streamed(base.finish(), complete=False))
    assert cut.drifted
    assert "(stream cut)" in "\n".join(cut.diff)


def test_status_and_body_kind_are_compared_first() -> None:
    ok = streamed(StreamScript().content("Hi").finish())
    limited = RecordedResponse(429, (("content-type", "application/json"),), body=b'{"tpe": "x"}')
    drift = compare_responses(ok, limited)
    assert drift.drifted
    assert drift.recorded_index is None
    assert drift.problem == "status 200 was recorded but the upstream answered 429"
    other = RecordedResponse(429, (("content-type", "application/json"),), body=b'{"errors": []}')
    assert compare_responses(limited, other).problem == (
        "the body was a JSON object with keys tpe and is now a JSON object with keys errors"
    )
    assert not compare_responses(limited, limited).drifted


def test_the_report_says_same_or_drift_per_interaction_and_sums_up() -> None:
    script = StreamScript().content("Hi").finish()
    same = Interaction(chat_request(), streamed(script))
    drifted = compare_responses(streamed(script), streamed(StreamScript().content("Hi").finish("length")))
    report = render_verify_report(
        "c.yaml", "http://up", [(same, compare_responses(same.response, same.response)), (same, drifted)]
    )
    lines = report.splitlines()
    assert lines[0] == "Verifying c.yaml against http://up:"
    assert lines[1].startswith("[0] POST /v1/chat  model=palmyra-x5")
    assert lines[1].endswith(": same")
    assert lines[2].endswith(": DRIFT")
    assert lines[-1].startswith("1 of 2 interactions drifted ([1]). Re-record the cassette")
