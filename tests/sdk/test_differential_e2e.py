"""End to end: ``client.chat.stream()`` on our clients and on writerai's, over the same bytes.

``test_differential.py`` pins the engine event for event. This file runs the whole path,
HTTP included, on every recording's raw bytes (delivered whole, and in reads that split
lines, CRLF-free UTF-8 and JSON anywhere), for the sync and the async clients, and demands
the same events, the same final completion and the same errors.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import writerai
import yaml
from diffutil import RECORDINGS, Run, drive, first_difference, plain, plain_all

import writer_stream_testkit as kit

MANIFEST = yaml.safe_load((RECORDINGS / "manifest.yaml").read_text())
READ_SIZES = [None, 1, 7, 4096]


class _Body(httpx.SyncByteStream, httpx.AsyncByteStream):
    """The recorded bytes in reads of a fixed size (None: one read)."""

    def __init__(self, body: bytes, size: int | None) -> None:
        step = size or len(body)
        self._pieces = [body[i : i + step] for i in range(0, len(body), step)]

    def __iter__(self) -> Iterator[bytes]:
        yield from self._pieces

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self._pieces:
            yield piece


def _transport(body: bytes, size: int | None) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=_Body(body, size))

    return httpx.MockTransport(handler)


def _request(name: str) -> dict[str, Any]:
    request = dict(MANIFEST["fixtures"][name]["request"])
    # writerai's chat.stream() takes no response_format; both sides stream the recording as
    # a plain request, so both compute the same events (parsing is pinned elsewhere).
    request.pop("response_format", None)
    return request


def _finish(run: Run) -> Any:
    return [run.after, run.final, run.error, run.final_error]


def run_sync(client_cls: Any, body: bytes, size: int | None, request: dict[str, Any]) -> Run:
    http = httpx.Client(transport=_transport(body, size))
    with client_cls(api_key="k", base_url="http://test", http_client=http, max_retries=0) as client:
        try:
            with client.chat.stream(**request) as stream:
                run = drive(stream, stream.get_final_completion, look_live=True)
        except Exception as exc:  # an error on entering: same class on both sides, checked below
            run = Run()
            run.error = type(exc).__name__
    return run


def run_async(client_cls: Any, body: bytes, size: int | None, request: dict[str, Any]) -> Run:
    async def main() -> Run:
        http = httpx.AsyncClient(transport=_transport(body, size))
        async with client_cls(api_key="k", base_url="http://test", http_client=http, max_retries=0) as client:
            run = Run()
            try:
                async with client.chat.stream(**request) as stream:
                    try:
                        async for event in stream:
                            run.events.append(event)
                            run.live.append(plain(event))
                    except Exception as exc:
                        run.error = type(exc).__name__
                    run.after = plain_all(run.events)
                    if run.error is None:
                        try:
                            run.final = plain(await stream.get_final_completion())
                        except Exception as exc:
                            run.final_error = type(exc).__name__
            except Exception as exc:
                run.error = type(exc).__name__
            return run

    return asyncio.run(main())


CASES = [
    pytest.param(name, size, id=f"{name}-reads-{size or 'whole'}")
    for name in sorted(MANIFEST["fixtures"])
    for size in READ_SIZES
]


@pytest.mark.parametrize(("name", "size"), CASES)
def test_sync_client_stream_matches_writerai(name: str, size: int | None) -> None:
    body = (RECORDINGS / name).read_bytes()
    ours = run_sync(kit.Writer, body, size, _request(name))
    theirs = run_sync(writerai.Writer, body, size, _request(name))
    assert ours.live == theirs.live, first_difference(ours.live, theirs.live)
    assert _finish(ours) == _finish(theirs)
    assert ours.events, "the recording produced no events at all"


@pytest.mark.parametrize(("name", "size"), [c for c in CASES if c.values[1] in (None, 7)])
def test_async_client_stream_matches_writerai(name: str, size: int | None) -> None:
    body = (RECORDINGS / name).read_bytes()
    ours = run_async(kit.AsyncWriter, body, size, _request(name))
    theirs = run_async(writerai.AsyncWriter, body, size, _request(name))
    assert ours.live == theirs.live, first_difference(ours.live, theirs.live)
    assert _finish(ours) == _finish(theirs)
    assert ours.events, "the recording produced no events at all"


def test_sync_and_async_clients_agree_with_each_other() -> None:
    body = (RECORDINGS / "tools-two-parallel.sse").read_bytes()
    request = _request("tools-two-parallel.sse")
    sync_run = run_sync(kit.Writer, body, 13, request)
    async_run = run_async(kit.AsyncWriter, body, 13, request)
    assert sync_run.live == async_run.live
    assert _finish(sync_run) == _finish(async_run)


# --- generated streams, schema-loose, over HTTP -----------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from siblings import load_test_file  # noqa: E402

_differential = load_test_file("sdk/test_differential.py")
TOOL_SETS, _comparable, streams, without_null_types = (
    _differential.TOOL_SETS,
    _differential._comparable,
    _differential.streams,
    _differential.without_null_types,
)


def _encode(chunks: list[dict[str, Any]], names: list[str]) -> bytes:
    """SSE for ``chunks``, each block led by its ``event:`` line ("" for none)."""
    blocks = [f"{name}data: {json.dumps(chunk)}\n\n" for chunk, name in zip(chunks, names, strict=True)]
    return "".join(blocks).encode() + b"data: [DONE]\n\n"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams(), st.data())
def test_generated_loose_streams_match_writerai_over_http(
    stream: tuple[list[dict[str, Any]], str, bool], data: st.DataObject
) -> None:
    chunks, tool_set, _ = stream
    # An empty event name is the default event, in WHATWG and in the SDK alike.
    names = data.draw(
        st.lists(
            st.sampled_from(["", "", "event:\n", "event: \n"]), min_size=len(chunks), max_size=len(chunks)
        )
    )
    size = data.draw(st.sampled_from([None, 7, 64]))
    face = data.draw(st.sampled_from(["sync", "async"]))
    tools = TOOL_SETS[tool_set]
    request: dict[str, Any] = {"model": "palmyra-x5", "messages": [{"role": "user", "content": "hi"}]}
    if tools is not None:
        request["tools"] = tools
    run = run_sync if face == "sync" else run_async
    ours = _comparable(
        run(kit.Writer if face == "sync" else kit.AsyncWriter, _encode(chunks, names), size, request)
    )
    # writerai fails an assert on a null tool type that continues a call; the kit keeps the
    # call's type, which is what writerai gives without the null (docs/deviations.md, row 9).
    sdk_body = _encode(without_null_types(chunks), names)
    theirs = _comparable(
        run(writerai.Writer if face == "sync" else writerai.AsyncWriter, sdk_body, size, request)
    )
    assert ours.live == theirs.live, first_difference(ours.live, theirs.live)
    assert _finish(ours) == _finish(theirs)
