"""Cassette in a test: hosts it owns and leaves alone, streams left open at exit, starting twice, saving while recording."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import writerai
from chunks import compact_text_chunk
from recorded import (
    MESSAGES,
    URL,
    astream_text,
    stream_text,
    write_cassette,
)

from writer_stream_testkit.cassettes import cassette as cassette_module
from writer_stream_testkit.cassettes.cassette import Cassette
from writer_stream_testkit.cassettes.load import load_cassette
from writer_stream_testkit.cassettes.recorder import Capture
from writer_stream_testkit.doubles.server import FakeWriterServer
from writer_stream_testkit.errors import (
    CassetteError,
    CassetteMissError,
    CassetteRecordError,
)
from writer_stream_testkit.scripts.chat import StreamScript

KEY = "sk-audit-0000-1111"


ELSEWHERE = "https://elsewhere.example.test"


def test_unowned_host_fails_at_once_without_retries_sync(tmp_path: Path) -> None:
    path = write_cassette(tmp_path / "c.yaml")
    cassette = Cassette(path)

    def run() -> None:
        with cassette:
            client = writerai.Writer(api_key=KEY, base_url=ELSEWHERE)  # default max_retries
            with pytest.raises(writerai.InternalServerError, match=r"base_url="):
                stream_text(client)

    started = time.monotonic()
    with pytest.raises(CassetteMissError) as failed:
        run()
    assert time.monotonic() - started < 10, "no retries: writerai backs off for about 30 s over 7 retries"
    assert len(cassette.calls) == 1  # one attempt: the SDK did not retry
    message = str(failed.value)
    assert message.startswith(f"Cassette {path} does not answer POST /v1/chat (model='palmyra-x5', ")
    assert f"sent to {ELSEWHERE}/v1/chat: it answers only the Writer API at https://api.writer.com" in message
    assert f"Cassette(..., base_url={ELSEWHERE!r})" in message


def test_unowned_host_fails_at_once_without_retries_async(tmp_path: Path) -> None:
    path = write_cassette(tmp_path / "c.yaml")
    cassette = Cassette(path)

    async def main() -> None:
        async with cassette:
            client = writerai.AsyncWriter(api_key=KEY, base_url=ELSEWHERE)
            with pytest.raises(writerai.InternalServerError):
                await astream_text(client)

    started = time.monotonic()
    with pytest.raises(CassetteMissError, match=r"Cassette\(\.\.\., base_url="):
        asyncio.run(main())
    assert time.monotonic() - started < 10, "no retries: writerai backs off for about 30 s over 7 retries"
    assert len(cassette.calls) == 1


@pytest.mark.parametrize("asynchronous", [False, True])
def test_writer_base_url_set_after_the_cassette_is_built_is_owned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, asynchronous: bool
) -> None:
    monkeypatch.delenv("WRITER_BASE_URL", raising=False)
    path = write_cassette(tmp_path / "c.yaml", url=f"{ELSEWHERE}/v1/chat")
    cassette = Cassette(path)  # built first, as the writer_cassette fixture builds it before the test body
    monkeypatch.setenv("WRITER_BASE_URL", ELSEWHERE)
    started = time.monotonic()
    if asynchronous:

        async def main() -> str:
            async with cassette:
                return await astream_text(writerai.AsyncWriter(api_key=KEY))

        assert asyncio.run(main()) == "Hello"
    else:
        with cassette:
            assert stream_text(writerai.Writer(api_key=KEY)) == "Hello"
    assert time.monotonic() - started < 10, "no retries: writerai backs off for about 30 s over 7 retries"
    assert cassette.play_counts == [1]


def test_loopback_servers_in_the_same_test_pass_through(tmp_path: Path) -> None:
    path = write_cassette(tmp_path / "c.yaml")
    with FakeWriterServer() as server, Cassette(path) as cassette:
        server.reply(StreamScript().content("from the loopback server").finish())
        loopback = writerai.Writer(api_key=KEY, base_url=server.base_url, max_retries=0)
        assert stream_text(loopback) == "from the loopback server"
        assert stream_text(writerai.Writer(api_key=KEY, max_retries=0)) == "Hello"
    server.verify()
    assert cassette.play_counts == [1]


def test_other_respx_routers_still_answer_hosts_the_cassette_does_not_own(tmp_path: Path) -> None:
    import respx

    path = write_cassette(tmp_path / "c.yaml")
    with Cassette(path), respx.mock(assert_all_called=True) as router:
        router.get(f"{ELSEWHERE}/status").respond(json={"ok": True})
        assert httpx.get(f"{ELSEWHERE}/status").json() == {"ok": True}
        assert stream_text(writerai.Writer(api_key=KEY, max_retries=0)) == "Hello"


def test_stream_left_open_at_exit_is_not_saved_truncated(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    other = [{"role": "user", "content": "Say goodbye"}]
    with FakeWriterServer() as server:
        server.reply(StreamScript().content("Hello").finish())
        server.reply(StreamScript().content("Goodbye").finish())
        client = writerai.Writer(api_key=KEY, max_retries=0)
        opened: list[Any] = []

        def run() -> None:
            with Cassette(path, record_mode="once", upstream=server.base_url):
                assert stream_text(client) == "Hello"
                opened.append(client.chat.chat(model="palmyra-x5", messages=other, stream=True))  # type: ignore[arg-type]

        with pytest.raises(CassetteRecordError) as failed:
            run()
        late = "".join(c.choices[0].delta.content or "" for c in opened[0] if c.choices)
    assert late == "Goodbye"  # the client still reads its stream; only the recording is refused
    assert str(failed.value) == (
        f"Cassette {path} did not save the recording of POST /v1/chat (model='palmyra-x5', stream=True, "
        "1 message, last user: 'Say goodbye'): its stream was begun inside the `with Cassette(...)` block "
        "and was still open when the block ended, so only part of it had been recorded. Consume or close "
        "the stream inside the `with` block (read it to the end, or open it with `with "
        "client.chat.chat(..., stream=True) as stream:`); the cassette's other recordings were saved."
    )
    saved = load_cassette(path).interactions
    assert [i.request.json["messages"] for i in saved] == [MESSAGES]
    assert saved[0].response.complete
    assert saved[0].response.events


def test_save_refuses_an_open_stream_then_saves_it_once_it_ends(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    with FakeWriterServer() as server:
        server.reply(StreamScript().content("Hello").finish())
        cassette = Cassette(path, record_mode="once", upstream=server.base_url).start()
        try:
            stream = writerai.Writer(api_key=KEY, max_retries=0).chat.chat(
                model="palmyra-x5",
                messages=MESSAGES,  # type: ignore[arg-type]
                stream=True,
            )
            with pytest.raises(CassetteRecordError, match=r"was still open when the block ended"):
                cassette.save()
            assert not path.exists()
            assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "Hello"
            cassette.save()
        finally:
            cassette.stop()
    (saved,) = load_cassette(path).interactions
    assert saved.response.complete
    assert saved.response.events


def test_starting_a_started_cassette_is_refused_and_leaves_no_router_behind(tmp_path: Path) -> None:
    from respx.mocks import HTTPXMocker

    path = write_cassette(tmp_path / "c.yaml")
    cassette = Cassette(path).start()
    try:
        with pytest.raises(CassetteError) as failed:
            cassette.start()
        with pytest.raises(CassetteError, match="is already started"), cassette:
            pass
    finally:
        cassette.stop()
    assert str(failed.value) == (
        f"Cassette {path} is already started, and a cassette intercepts requests once: start() or `with` was "
        "used on it again before stop(). Use one `with Cassette(...)` block (the writer_cassette fixture's "
        "cassette is already started, so do not enter it again), or call stop() before starting it again."
    )
    assert [r for r in HTTPXMocker.routers if isinstance(r, cassette_module._Router)] == []
    with cassette:  # stopped, it starts again as usual
        assert stream_text(writerai.Writer(api_key=KEY, max_retries=0)) == "Hello"


def _capture(content: str) -> Capture:
    body = json.dumps(
        {"messages": [{"role": "user", "content": content}], "model": "palmyra-x5", "stream": True}
    )
    return Capture(
        method="POST",
        url=URL,
        headers=(("content-type", "application/json"),),
        content=body.encode(),
        status=200,
        response_headers=(("content-type", "text/event-stream"),),
        reads=[(f"data: {compact_text_chunk(content)}\n\n".encode(), 0.01), (b"data: [DONE]\n\n", 0.02)],
        complete=True,
        done=True,
        responded=True,
    )


def test_a_capture_added_while_saving_is_kept_for_the_next_save(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.yaml"
    cassette = Cassette(path, record_mode="new_episodes")
    cassette._started(_capture("first"))
    late = _capture("late")
    real_save = cassette_module.save_recorded

    def save_then_another_thread_records(*args: Any, **kwargs: Any) -> None:
        real_save(*args, **kwargs)
        cassette._started(late)  # another thread's stream ends while this save runs

    monkeypatch.setattr(cassette_module, "save_recorded", save_then_another_thread_records)
    cassette.save()
    assert [i.request.json["messages"][0]["content"] for i in load_cassette(path).interactions] == ["first"]
    monkeypatch.setattr(cassette_module, "save_recorded", real_save)
    cassette.save()
    contents = [i.request.json["messages"][0]["content"] for i in load_cassette(path).interactions]
    assert contents == ["first", "late"]
    cassette.save()  # nothing new: the file is left as it is
    assert [i.request.json["messages"][0]["content"] for i in load_cassette(path).interactions] == contents
