"""Injected faults as writerai meets them: the first attempt faulted and the retry answered, cassettes and socket servers faulted too, a stall a hang only when waited out. Runs on writer-sdk 3.x and 2.x."""

from __future__ import annotations

import httpx
import pytest
import writerai
from faultdata import BODY, SCRIPT

from writer_stream_testkit import Cassette, FakeWriterServer, WriterMock
from writer_stream_testkit.doubles import faulting
from writer_stream_testkit.resilience.inject import Injector, Observer


@pytest.fixture
def installed() -> object:
    hooks: list[faulting.FaultHook] = []

    def install(hook: faulting.FaultHook) -> None:
        hooks.append(hook)
        faulting.install(hook)

    yield install
    for hook in hooks:
        faulting.uninstall(hook)


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
