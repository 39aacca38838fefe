"""In-process doubles started inside one another: the innermost one that serves a host answers.

``WriterMock`` and ``Cassette`` both intercept through respx, which offers a
request to its routers in the order they started; without help the outer
double would answer everything and the inner one would never see a request.
These tests pin the rule the doubles follow instead, for every pairing, sync
and async, as context managers, as a decorator and as pytest fixtures.
"""

from __future__ import annotations

import asyncio
import json
import textwrap
from pathlib import Path

import httpx
import pytest
import writerai

from writer_stream_testkit.cassettes.cassette import Cassette
from writer_stream_testkit.cassettes.files import save_cassette
from writer_stream_testkit.cassettes.model import (
    CassetteContent,
    Interaction,
    RecordedEvent,
    RecordedRequest,
    RecordedResponse,
)
from writer_stream_testkit.doubles.mock import WriterMock
from writer_stream_testkit.doubles.server import FakeWriterServer
from writer_stream_testkit.errors import UnusedRepliesError
from writer_stream_testkit.scripts.chat import StreamScript

MODEL = "palmyra-x5"
MESSAGES = [{"role": "user", "content": "Say hello"}]
URL = "https://api.writer.com/v1/chat"


def script(text: str) -> StreamScript:
    return StreamScript().content(text)


def read(base_url: str | None = None) -> list[str]:
    client = writerai.Writer(api_key="test-key-nested", base_url=base_url, max_retries=0)
    stream = client.chat.chat(model=MODEL, messages=MESSAGES, stream=True)  # type: ignore[arg-type]
    return [c.choices[0].delta.content for c in stream if c.choices and c.choices[0].delta.content]


async def aread(base_url: str | None = None) -> list[str]:
    client = writerai.AsyncWriter(api_key="test-key-nested", base_url=base_url, max_retries=0)
    stream = await client.chat.chat(model=MODEL, messages=MESSAGES, stream=True)  # type: ignore[arg-type]
    return [c.choices[0].delta.content async for c in stream if c.choices and c.choices[0].delta.content]


def write_cassette(path: Path, text: str) -> Path:
    """A cassette holding one streamed answer, ``text``, to the request ``read`` sends."""
    chunk = {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": MODEL,
        "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}],
    }
    request = RecordedRequest(
        method="POST", url=URL, json={"messages": MESSAGES, "model": MODEL, "stream": True}
    )
    response = RecordedResponse(
        status=200,
        headers=(("content-type", "text/event-stream"),),
        events=(
            RecordedEvent(data=json.dumps(chunk, separators=(",", ":")), t=0.0),
            RecordedEvent(data="[DONE]", t=0.0),
        ),
    )
    save_cassette(path, CassetteContent(interactions=(Interaction(request, response),)))
    return path


@pytest.fixture
def cassette_file(tmp_path: Path) -> Path:
    return write_cassette(tmp_path / "nested.yaml", "from the cassette")


# --- WriterMock inside WriterMock -----------------------------------------------------------------


def test_an_inner_writer_mock_answers_then_the_outer_one_again() -> None:
    with WriterMock() as outer:
        outer.reply(script("outer"))
        with WriterMock() as inner:
            inner.reply(script("inner"))
            assert read() == ["inner"]
        assert read() == ["outer"]
    assert (len(outer.calls), len(inner.calls)) == (1, 1)


def test_an_inner_async_writer_mock_answers_then_the_outer_one_again() -> None:
    async def main() -> tuple[WriterMock, WriterMock]:
        async with WriterMock() as outer:
            outer.reply(script("outer"))
            async with WriterMock() as inner:
                inner.reply(script("inner"))
                assert await aread() == ["inner"]
            assert await aread() == ["outer"]
        return outer, inner

    outer, inner = asyncio.run(main())
    assert (len(outer.calls), len(inner.calls)) == (1, 1)


def test_a_decorated_function_inside_a_writer_mock_is_answered_by_its_own_mock() -> None:
    @WriterMock()
    def inner_test(writer_mock: WriterMock) -> None:
        writer_mock.reply(script("decorated"))
        assert read() == ["decorated"]

    @WriterMock()
    async def inner_async_test(writer_mock: WriterMock) -> None:
        writer_mock.reply(script("decorated async"))
        assert await aread() == ["decorated async"]

    with WriterMock() as outer:
        outer.reply(script("outer"), times=2)
        inner_test()  # type: ignore[call-arg]
        asyncio.run(inner_async_test())  # type: ignore[call-arg]
        assert read() == ["outer"]
        assert asyncio.run(aread()) == ["outer"]
    assert len(outer.calls) == 2


def test_a_host_only_the_outer_mock_serves_still_reaches_it() -> None:
    with WriterMock(base_url="https://eu.writer.test") as outer:
        outer.reply(script("eu"))
        with WriterMock() as inner:
            inner.reply(script("default"))
            assert read("https://eu.writer.test") == ["eu"]
            assert read() == ["default"]
    assert [c.url for c in outer.calls] == ["https://eu.writer.test/v1/chat"]
    assert [c.url for c in inner.calls] == [URL]


def test_an_outer_mock_whose_replies_an_inner_double_took_says_so() -> None:
    outer = WriterMock().start()
    outer.reply(script("never used"))
    with WriterMock() as inner:
        inner.reply(script("inner"))
        assert read() == ["inner"]
    outer.stop()
    with pytest.raises(UnusedRepliesError) as failed:
        outer.verify()
    message = str(failed.value)
    assert "1 queued reply was never requested" in message
    assert (
        "While this WriterMock was active, 1 request went to a double started inside it "
        "(WriterMock), which answers in its place while it is active." in message
    )


# --- Cassette and WriterMock ----------------------------------------------------------------------


def test_a_cassette_inside_a_writer_mock_replays(cassette_file: Path) -> None:
    with WriterMock() as outer:
        outer.reply(script("outer"))
        with Cassette(cassette_file) as cassette:
            assert read() == ["from the cassette"]
        assert cassette.play_counts == [1]
        assert read() == ["outer"]
    assert len(outer.calls) == 1


def test_an_async_cassette_inside_a_writer_mock_replays(cassette_file: Path) -> None:
    async def main() -> tuple[WriterMock, Cassette]:
        async with WriterMock() as outer:
            outer.reply(script("outer"))
            async with Cassette(cassette_file) as cassette:
                assert await aread() == ["from the cassette"]
            assert await aread() == ["outer"]
        return outer, cassette

    outer, cassette = asyncio.run(main())
    assert cassette.play_counts == [1]
    assert len(outer.calls) == 1


def test_a_writer_mock_inside_a_cassette_answers_then_the_cassette_again(cassette_file: Path) -> None:
    with Cassette(cassette_file) as cassette:
        with WriterMock() as inner:
            inner.reply(script("inner"))
            assert read() == ["inner"]
        assert cassette.calls == []
        assert read() == ["from the cassette"]
    assert cassette.play_counts == [1]


def test_a_decorated_function_inside_a_cassette_is_answered_by_its_mock(cassette_file: Path) -> None:
    @WriterMock()
    async def inner_test(writer_mock: WriterMock) -> None:
        writer_mock.reply(script("decorated"))
        assert await aread() == ["decorated"]

    with Cassette(cassette_file) as cassette:
        asyncio.run(inner_test())  # type: ignore[call-arg]
        assert cassette.calls == []
        assert read() == ["from the cassette"]


def test_a_cassette_inside_a_cassette_replays_its_own_recording(tmp_path: Path) -> None:
    outer_file = write_cassette(tmp_path / "outer.yaml", "outer")
    inner_file = write_cassette(tmp_path / "inner.yaml", "inner")
    with Cassette(outer_file) as outer:
        with Cassette(inner_file) as inner:
            assert read() == ["inner"]
        assert read() == ["outer"]
    assert (outer.play_counts, inner.play_counts) == ([1], [1])


def test_a_recording_cassette_inside_a_writer_mock_records_the_mocks_reply(tmp_path: Path) -> None:
    # The recorder's own upstream request is not the cassette's to answer, so the mock serves it.
    path = tmp_path / "recorded.yaml"
    with WriterMock() as outer:
        outer.reply(script("served by the mock"))
        with Cassette(path, record_mode="once"):
            assert read() == ["served by the mock"]
    assert len(outer.calls) == 1
    with Cassette(path) as replay:
        assert read() == ["served by the mock"]
    assert replay.play_counts == [1]


def test_a_server_socket_is_not_intercepted_by_nested_doubles() -> None:
    with FakeWriterServer() as server, WriterMock(), WriterMock():
        server.reply(script("socket"))
        assert read(server.base_url) == ["socket"]


def test_a_stray_host_is_refused_by_the_innermost_double() -> None:
    with WriterMock(assert_all_mocked=False) as outer, WriterMock(assert_all_mocked=False) as inner:
        response = httpx.get("https://elsewhere.test/x")
    assert response.status_code == 500
    assert (outer.calls, [c.url for c in inner.calls]) == ([], ["https://elsewhere.test/x"])


# --- the fixtures ---------------------------------------------------------------------------------


def test_fixtures_decorators_and_blocks_nest_innermost_first(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    cassette_file = write_cassette(tmp_path / "fixture.yaml", "from the cassette")
    pytester.makepyfile(
        textwrap.dedent(
            f"""
            import writerai
            import pytest
            from writer_stream_testkit import Cassette, StreamScript, WriterMock

            CASSETTE = {str(cassette_file)!r}

            def read():
                client = writerai.Writer(api_key="k", max_retries=0)
                stream = client.chat.chat(
                    model="palmyra-x5", messages=[{{"role": "user", "content": "Say hello"}}], stream=True
                )
                return [c.choices[0].delta.content for c in stream if c.choices and c.choices[0].delta.content]

            def test_cassette_block_inside_the_mock_fixture(writer_mock):
                writer_mock.reply(StreamScript().content("fixture"))
                with Cassette(CASSETTE) as cassette:
                    assert read() == ["from the cassette"]
                assert cassette.play_counts == [1]
                assert read() == ["fixture"]

            @WriterMock()
            def test_decorator_inside_the_mock_fixture(writer_mock):
                # the decorator's mock is passed as writer_mock, so the fixture is not requested here
                writer_mock.reply(StreamScript().content("decorated"))
                assert read() == ["decorated"]

            @pytest.mark.writer_cassette(CASSETTE)
            def test_mock_block_inside_the_cassette_fixture(writer_cassette):
                with WriterMock() as inner:
                    inner.reply(StreamScript().content("inner"))
                    assert read() == ["inner"]
                assert read() == ["from the cassette"]
                assert writer_cassette.play_counts == [1]

            @pytest.mark.writer_cassette(CASSETTE)
            def test_the_later_fixture_is_the_inner_one(writer_mock, writer_cassette):
                assert read() == ["from the cassette"]
                assert writer_mock.calls == []
            """
        )
    )
    result = pytester.runpytest("-W", "error", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)
