"""A fault hook's peek at the reply queue goes through the one answering flow.

A resilience run (or chaos) peeks at the reply a request would get, to fault it on a
first attempt. The peek runs the test's ``match=`` / ``messages=`` predicates and
computed replies, so on the server it must run them where answering does: off the
event loop, never stalling other connections, and free to call the server itself.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest
from threads import in_thread

from writer_stream_testkit.doubles import faulting
from writer_stream_testkit.doubles.flow import Need, drive
from writer_stream_testkit.doubles.replies import ReplyQueue
from writer_stream_testkit.doubles.server import FakeWriterServer
from writer_stream_testkit.resilience.chaos import Chaos
from writer_stream_testkit.resilience.inject import Injector
from writer_stream_testkit.scripts.chat import StreamScript
from writer_stream_testkit.wire.call import Call

BODY = {"model": "palmyra-x5", "messages": [{"role": "user", "content": "hi"}], "stream": True}
WAIT = 10.0
"""The bound on every wait here; a healthy run takes milliseconds."""
SCRIPT = StreamScript().content("Sunny", " and warm").finish("stop")


@pytest.fixture
def injector() -> Iterator[Injector]:
    """A resilience run's hook, cutting the first attempt of each streaming request."""
    hook = Injector.for_kind("disconnect")
    faulting.install(hook)
    try:
        yield hook
    finally:
        faulting.uninstall(hook)


def call_for(body: object = BODY) -> Call:
    request = httpx.Request("POST", "http://127.0.0.1/v1/chat", json=body)
    request.read()
    return Call.from_httpx(request)


def slow_then_fast(server: FakeWriterServer) -> None:
    """A streaming request whose predicate blocks must leave another connection's answer alone."""
    started, release = threading.Event(), threading.Event()

    def slow(call: Call) -> bool:
        started.set()
        release.wait(WAIT)
        return True

    server.reply(SCRIPT, match=slow)  # the faulted first attempt uses nothing up: the retry gets it
    server.reply({"fast": True}, path="/v1/models")
    with (
        httpx.Client(base_url=server.base_url, timeout=WAIT) as first,
        httpx.Client(base_url=server.base_url, timeout=WAIT) as second,
    ):
        thread, out = in_thread(lambda: first.post("/v1/chat", json=BODY).read())
        assert started.wait(WAIT)
        try:
            fast = second.get("/v1/models", timeout=2.0)  # a stalled event loop times this out
        finally:
            release.set()
            thread.join(WAIT)
    assert fast.json() == {"fast": True}
    assert not thread.is_alive()
    assert isinstance(out[0], httpx.RemoteProtocolError)  # the first attempt, faulted


def test_a_slow_predicate_under_the_resilience_peek_does_not_stall_other_connections(
    injector: Injector,
) -> None:
    with FakeWriterServer() as server:
        slow_then_fast(server)
        with httpx.Client(base_url=server.base_url, timeout=WAIT) as http:
            http.post("/v1/chat", json=BODY).read()  # the retry: the reply itself
    assert [a.faulted for a in injector.attempts] == [True, False]


def test_a_slow_predicate_under_the_chaos_peek_does_not_stall_other_connections() -> None:
    server = FakeWriterServer(chaos=Chaos.parse("disconnect=1", seed=1)).start()
    try:
        slow_then_fast(server)  # chaos faults every stream, so the stream's reply stays queued
    finally:
        server.stop()
    assert [call.path for call in server.calls] == ["/v1/models"]


def test_a_predicate_under_the_peek_may_call_the_server_it_runs_in(injector: Injector) -> None:
    with FakeWriterServer() as server:

        def reads_calls(call: Call) -> bool:
            with httpx.Client(base_url=server.base_url, timeout=5.0) as inner:
                return inner.get("/__writer/calls").status_code == 200

        server.reply(SCRIPT, match=reads_calls)

        def twice() -> list[object]:
            with httpx.Client(base_url=server.base_url, timeout=WAIT) as http:
                with pytest.raises(httpx.RemoteProtocolError):  # the faulted first attempt
                    http.post("/v1/chat", json=BODY).read()
                return [http.post("/v1/chat", json=BODY).status_code]

        thread, out = in_thread(twice)
        thread.join(WAIT)
    assert not thread.is_alive(), "the peeking predicate deadlocked the server"
    assert out == [[200]]
    assert [a.faulted for a in injector.attempts] == [True, False]


def test_peeking_yields_the_predicate_and_the_computed_reply_as_user_code() -> None:
    queue = ReplyQueue()
    seen: list[str] = []

    def computed(call: Call) -> StreamScript:
        seen.append("reply")
        return SCRIPT

    def fits(call: Call) -> bool:
        seen.append("match")
        return True

    queue.reply(computed, path="/v1/chat", match=fits)
    flow = queue.peeking(call_for())
    needs: list[Need] = []
    need = next(flow)
    try:
        while True:
            needs.append(need)
            need = flow.send(need.run())
    except StopIteration as done:
        plan = done.value
    assert [n.user_code for n in needs] == [True, True]
    assert seen == ["match", "reply"]
    assert plan == SCRIPT.plan(call_for())
    assert len(queue.pending) == 1  # nothing used up
    assert queue.calls == []  # nor recorded


def test_a_raising_predicate_or_computed_reply_peeks_as_no_reply() -> None:
    queue = ReplyQueue()

    def broken(call: Call) -> bool:
        raise KeyError("no such field")

    queue.reply(SCRIPT, path="/v1/chat", match=broken)
    assert drive(queue.peeking(call_for())) is None
    assert queue.calls == []


def test_peek_and_answer_choose_the_same_reply() -> None:
    queue = ReplyQueue()
    queue.reply(StreamScript().content("a"), path="/v1/chat", messages=lambda m: m[0]["content"] == "no")
    queue.reply(StreamScript().content("b"), path="/v1/chat", match=lambda call: True)
    call = call_for()
    assert queue.peek(call) == queue.answer(call) == StreamScript().content("b").plan(call)
