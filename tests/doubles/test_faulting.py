"""The process-wide fault hook: installed, it answers first for every double without using up a reply; removed, nothing changes."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
from chunks import stream_plan
from rawhttp import chat_body

from writer_stream_testkit.doubles import faulting
from writer_stream_testkit.doubles.mock import WriterMock
from writer_stream_testkit.doubles.server import FakeWriterServer
from writer_stream_testkit.scripts.plan import ResponsePlan, Write
from writer_stream_testkit.wire.call import Call

OVERLOADED = ResponsePlan(status=529, headers=(("content-type", "application/json"),), steps=(Write(b"{}"),))


class Overload:
    """A hook that answers the first request with a 529 and lets the rest through, noting what it peeked."""

    def __init__(self) -> None:
        self.peeked: list[ResponsePlan | None] = []

    def answer(self, call: Call, peek: Callable[[], ResponsePlan | None]) -> ResponsePlan | None:
        self.peeked.append(peek())
        return OVERLOADED if len(self.peeked) == 1 else None


@pytest.fixture
def hook() -> Iterator[Overload]:
    installed = Overload()
    faulting.install(installed)
    try:
        yield installed
    finally:
        faulting.uninstall(installed)


def test_no_hook_is_active_outside_a_resilience_run() -> None:
    assert faulting.active() is None


def test_uninstalling_a_hook_that_was_replaced_leaves_the_new_one() -> None:
    first, second = Overload(), Overload()
    faulting.install(first)
    faulting.install(second)
    try:
        faulting.uninstall(first)
        assert faulting.active() is second
    finally:
        faulting.uninstall(second)
    assert faulting.active() is None


def test_the_hook_answers_first_in_the_mock_and_the_reply_is_still_there(hook: Overload) -> None:
    with WriterMock() as mock, httpx.Client(timeout=5.0) as client:
        mock.reply(stream_plan("kept"))
        assert client.post(mock.base_url + "/v1/chat", json=chat_body()).status_code == 529
        second = client.post(mock.base_url + "/v1/chat", json=chat_body())
    assert second.status_code == 200
    assert b"kept" in second.content
    assert hook.peeked[0] is not None
    assert hook.peeked[0].body() == stream_plan("kept").body()


def test_the_hook_answers_first_in_the_server_and_the_reply_is_still_there(hook: Overload) -> None:
    with FakeWriterServer() as server, httpx.Client(timeout=5.0) as client:
        server.reply(stream_plan("kept"))
        assert client.post(server.base_url + "/v1/chat", json=chat_body()).status_code == 529
        second = client.post(server.base_url + "/v1/chat", json=chat_body())
    assert second.status_code == 200
    assert b"kept" in second.content
    assert len(hook.peeked) == 2
