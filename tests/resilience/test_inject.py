"""Each fault kind lands where kinds.py says, on the first attempt only, using up nothing."""

from __future__ import annotations

import json

import httpx
import pytest
import writerai

from writer_stream_testkit import Cassette, FakeWriterServer, QuestionScript, StreamScript, WriterMock
from writer_stream_testkit.doubles import faulting
from writer_stream_testkit.resilience.inject import Injector, Observer, fault_stream, is_streaming
from writer_stream_testkit.resilience.kinds import KINDS
from writer_stream_testkit.scripts.plan import Disconnect, Pause, ResponsePlan, Write
from writer_stream_testkit.wire.call import Call

SCRIPT = StreamScript().content("Sunny", " and", " warm \u2600").finish("stop")
BODY = {"model": "palmyra-x5", "messages": [{"role": "user", "content": "hi"}], "stream": True}


def _call(body: object = BODY) -> Call:
    request = httpx.Request("POST", "https://api.writer.com/v1/chat", json=body)
    request.read()
    return Call.from_httpx(request)


def _plan() -> ResponsePlan:
    return SCRIPT.plan(_call())


def _data(plan: ResponsePlan) -> list[str]:
    return [line[6:] for line in plan.body().decode().splitlines() if line.startswith("data: ")]


@pytest.fixture
def installed() -> object:
    hooks: list[faulting.FaultHook] = []

    def install(hook: faulting.FaultHook) -> None:
        hooks.append(hook)
        faulting.install(hook)

    yield install
    for hook in hooks:
        faulting.uninstall(hook)


def test_streaming_requests_are_those_asking_for_a_stream() -> None:
    assert is_streaming(_call())
    assert not is_streaming(_call({**BODY, "stream": False}))
    assert not is_streaming(_call([1, 2]))


def test_disconnect_cuts_after_half_the_chunks() -> None:
    plan = fault_stream(KINDS["disconnect"], _plan(), timeout=1).plan
    assert plan is not None
    steps = list(plan.steps)
    assert isinstance(steps[-1], Disconnect)
    chunks = [json.loads(d) for d in _data(plan)]
    total = len([d for d in _data(_plan()) if d != "[DONE]"])
    assert len(chunks) == total // 2


def test_truncate_ends_cleanly_before_the_finish_chunk_and_done() -> None:
    faulted = fault_stream(KINDS["truncate"], _plan(), timeout=1)
    assert faulted.plan is not None
    assert not any(isinstance(s, Disconnect) for s in faulted.plan.steps)
    data = _data(faulted.plan)
    assert "[DONE]" not in data
    assert all(c["choices"][0]["finish_reason"] is None for c in map(json.loads, data) if c["choices"])


def test_truncate_is_not_judged_on_a_stream_with_no_finish_chunk() -> None:
    call = Call.from_httpx(
        httpx.Request("POST", "https://api.writer.com/v1/graphs/question", json={"stream": True})
    )
    plan = QuestionScript().answer("Paris", " is").plan(call)
    faulted = fault_stream(KINDS["truncate"], plan, timeout=1)
    assert faulted.plan is None
    assert "no finish chunk" in faulted.note


def test_malformed_and_error_event_land_at_the_anchor() -> None:
    malformed = fault_stream(KINDS["malformed"], _plan(), timeout=1).plan
    assert malformed is not None
    assert b'data: {"id": \n\n' in malformed.body()
    assert malformed.body().endswith(b"data: [DONE]\n\n")
    error = fault_stream(KINDS["error-event"], _plan(), timeout=1).plan
    assert error is not None
    assert b"event: error\ndata: " in error.body()
    assert b"[DONE]" not in error.body()


def test_stall_pauses_for_the_timeout_then_cuts_and_counts_a_hang_only_when_waited_out() -> None:
    ended: list[bool] = []
    plan = fault_stream(KINDS["stall"], _plan(), timeout=5, on_stall_end=lambda: ended.append(True)).plan
    assert plan is not None
    steps = list(plan.steps)  # read all at once, in no time: no hang
    assert any(isinstance(s, Pause) and 5 <= s.seconds < 5.1 for s in steps)
    assert isinstance(steps[-1], Disconnect)
    assert ended == []


def test_harmless_kinds_keep_the_bytes_that_matter() -> None:
    plain = _plan()
    split = fault_stream(KINDS["split-utf8"], plain, timeout=1).plan
    assert split is not None
    assert split.body() == plain.body()
    writes = [s.data for s in split.steps if isinstance(s, Write)]
    assert any(w.endswith(b"\xe2") for w in writes)  # the snowman's first byte alone
    keep = fault_stream(KINDS["keep-alive"], plain, timeout=1).plan
    assert keep is not None
    assert keep.body().replace(b":\n\n", b"") == plain.body()
    crlf = fault_stream(KINDS["crlf"], plain, timeout=1).plan
    assert crlf is not None
    assert crlf.body().replace(b"\r\n", b"\n") == plain.body()


def test_replacing_kinds_and_a_non_stream_reply_are_left_to_the_injector() -> None:
    error = ResponsePlan(status=400, headers=(("content-type", "application/json"),), steps=(Write(b"{}"),))
    assert fault_stream(KINDS["disconnect"], error, timeout=1).plan is None


def test_the_fault_hits_the_first_attempt_and_the_retry_gets_the_queued_reply(installed: object) -> None:
    injector = Injector.for_kind("disconnect")
    installed(injector)  # type: ignore[operator]
    with WriterMock() as mock:
        mock.reply(SCRIPT)
        client = writerai.Writer(api_key="k", max_retries=0)
        with pytest.raises(httpx.RemoteProtocolError):
            list(client.chat.chat(model="palmyra-x5", messages=BODY["messages"], stream=True))  # type: ignore[arg-type]
        assert mock.calls == []  # the faulted attempt is the kit's, not the test's
        text = "".join(
            c.choices[0].delta.content or ""
            for c in client.chat.chat(model="palmyra-x5", messages=BODY["messages"], stream=True)  # type: ignore[arg-type]
            if c.choices
        )
    assert text == "Sunny and warm \u2600"
    assert [a.number for a in injector.attempts] == [1, 2]
    assert [a.faulted for a in injector.attempts] == [True, False]


def test_a_replayed_cassette_and_a_socket_server_are_faulted_too(installed: object, tmp_path: object) -> None:
    path = tmp_path / "c.yaml"  # type: ignore[operator]
    with FakeWriterServer() as upstream:
        upstream.reply(SCRIPT)
        with Cassette(path, record_mode="once", upstream=upstream.base_url):
            client = writerai.Writer(api_key="recording-key-123")
            list(client.chat.chat(model="palmyra-x5", messages=BODY["messages"], stream=True))  # type: ignore[arg-type]
    injector = Injector.for_kind("rate-limit")
    installed(injector)  # type: ignore[operator]
    with Cassette(path) as cassette:
        client = writerai.Writer(api_key="k")
        list(client.chat.chat(model="palmyra-x5", messages=BODY["messages"], stream=True))  # type: ignore[arg-type]
    assert cassette.play_counts == [1]
    assert [a.status for a in injector.attempts] == [429, None]
    assert injector.attempts[1].at >= 0.09  # writerai waited the retry-after-ms the 429 asked for
    # the same request again is a retry to this injector; a fresh one (the next test) faults it anew
    fresh = Injector.for_kind("server-error")
    installed(fresh)  # type: ignore[operator]
    with (
        FakeWriterServer(cassette=Cassette(path)) as server,
        writerai.Writer(api_key="k", base_url=server.base_url) as client,
    ):
        list(client.chat.chat(model="palmyra-x5", messages=BODY["messages"], stream=True))  # type: ignore[arg-type]
    assert [a.status for a in fresh.attempts] == [503, None]


def test_no_hook_no_change(installed: object) -> None:
    assert faulting.active() is None
    observer = Observer()
    installed(observer)  # type: ignore[operator]
    with WriterMock() as mock:
        mock.reply(SCRIPT)
        list(
            writerai.Writer(api_key="k").chat.chat(model="palmyra-x5", messages=BODY["messages"], stream=True)
        )  # type: ignore[arg-type]
    assert observer.streamed


@pytest.mark.parametrize(("read", "hung"), [(None, True), (0.05, False)])
def test_a_stall_is_a_hang_only_when_the_client_waits_it_out(
    installed: object, read: float | None, hung: bool
) -> None:
    injector = Injector.for_kind("stall", timeout=0.3)
    installed(injector)  # type: ignore[operator]
    with WriterMock() as mock:
        mock.reply(SCRIPT)
        client = writerai.Writer(api_key="k", max_retries=0, timeout=httpx.Timeout(5, read=read))
        with pytest.raises(httpx.HTTPError):  # a read timeout, or the kit's own cut after the stall
            list(client.chat.chat(model="palmyra-x5", messages=BODY["messages"], stream=True))  # type: ignore[arg-type]
        injector.close()
        mock.reset()
    assert injector.hung is hung
