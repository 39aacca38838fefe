"""Where FakeWriterServer gets its answers: a plan source or a cassette with take() instead of the queue, its own check in verify, its failure a 500."""

from __future__ import annotations

import httpx
import pytest
from rawhttp import (
    chat_body,
    raw_stream,
)

from writer_stream_testkit.doubles.server import FakeWriterServer, PlanSource
from writer_stream_testkit.scripts.chat import StreamScript
from writer_stream_testkit.scripts.json_reply import JsonReply
from writer_stream_testkit.scripts.plan import ResponsePlan
from writer_stream_testkit.wire.call import Call


class EchoSource:
    """A stand-in for a cassette: answers any request with its own model name."""

    def take(self, call: Call) -> ResponsePlan:
        return StreamScript().content(f"model was {call.json['model']}").plan(call)


def test_a_plan_source_answers_instead_of_the_queue() -> None:
    source: PlanSource = EchoSource()
    with FakeWriterServer(source=source) as fake:
        result = raw_stream(fake, chat_body(model="palmyra-mini"))
    assert b"model was palmyra-mini" in result.body


def test_cassette_objects_with_take_are_used_as_the_source() -> None:
    with FakeWriterServer(cassette=EchoSource()) as fake:
        assert b"model was palmyra-x5" in raw_stream(fake, chat_body()).body


def test_every_path_reaches_the_source_and_its_own_check_fails_verify() -> None:
    class Unplayed:
        def take(self, call: Call) -> ResponsePlan:
            return JsonReply.to("*", {"path": call.path}).plan(call)

        def verify(self) -> None:
            raise AssertionError("the source was never played")

    fake = FakeWriterServer(source=Unplayed()).start()
    with httpx.Client(base_url=fake.base_url, timeout=5.0) as client:
        assert client.get("/v1/models").json() == {"path": "/v1/models"}
    fake.stop()
    assert [call.path for call in fake.calls] == ["/v1/models"]
    with pytest.raises(AssertionError, match="the source was never played"):
        fake.verify()


def test_a_cassette_without_take_is_refused_clearly() -> None:
    with pytest.raises(NotImplementedError, match="cannot replay object objects yet"):
        FakeWriterServer(cassette=object())


def test_a_failing_source_gives_a_500_and_fails_verify() -> None:
    class Broken:
        def take(self, call: Call) -> ResponsePlan:
            raise KeyError("boom")

    fake = FakeWriterServer(source=Broken())
    with pytest.raises(RuntimeError, match="failed while answering") as excinfo, fake:
        assert raw_stream(fake, chat_body()).status == 500
    assert "KeyError: 'boom'" in str(excinfo.value)
