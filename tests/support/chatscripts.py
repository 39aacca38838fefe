"""A hypothesis strategy for random chat scripts: every builder step and a few faults, for round trips
and decoding checks."""

from __future__ import annotations

from hypothesis import strategies as st

from writer_stream_testkit.errors import ScriptError
from writer_stream_testkit.scripts.chat import StreamScript
from writer_stream_testkit.scripts.faults import Fault

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
