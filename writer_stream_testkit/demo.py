"""A tour of the kit in one run: ``python -m writer_stream_testkit.demo``.

Everything happens offline: scripted streams served in-process and over a
loopback socket, injected faults, a cassette recorded from the fake server and
replayed, and the contract check over the resulting events.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from . import (
    APIConnectionError,
    Cassette,
    FakeWriterServer,
    Fault,
    StreamScript,
    Writer,
    WriterMock,
    assert_event_order,
    assert_stream_contract,
    render_transcript,
)

MESSAGES: list[Any] = [{"role": "user", "content": "What's the weather in San Francisco?"}]


def _section(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 74 - len(title)))


def _script() -> StreamScript:
    return (
        StreamScript(model="palmyra-x5")
        .content("Let me check", " the weather", " for you.")
        .tool_call("get_weather", ['{"city": ', '"San Francisco"}'])
        .finish("tool_calls")
        .usage(prompt_tokens=12, completion_tokens=9)
    )


def scripted_stream_through_the_helpers() -> None:
    _section("1. A scripted stream through client.chat.stream(), in-process")
    with WriterMock() as mock:
        mock.reply(_script())
        client = Writer(api_key="demo-key")
        with client.chat.stream(model="palmyra-x5", messages=MESSAGES) as stream:
            events = list(stream)
        completion = stream.get_final_completion()
    print(render_transcript(events, completion), end="")
    assert_stream_contract(events)
    assert_event_order(
        events,
        "content.delta+ tool_calls.function.arguments.delta content.done"
        " tool_calls.function.arguments.delta+ tool_calls.function.arguments.done",
    )
    print("contract check: passed; event order: as expected")
    print(f"the request the app sent: model={mock.calls[0].json['model']!r}")
    try:
        import writerai
    except ImportError:
        return
    with WriterMock() as mock:
        mock.reply(_script())
        with writerai.Writer(api_key="demo-key").chat.stream(
            model="palmyra-x5", messages=MESSAGES
        ) as sdk_stream:
            sdk_events = list(sdk_stream)
    same = render_transcript(sdk_events) == render_transcript(events)
    print(f"the official SDK (writerai) saw {len(sdk_events)} events; identical to ours: {same}")


def faults() -> None:
    _section("2. Fault injection: a 429 with Retry-After, then a disconnect mid-stream")
    script = StreamScript().content("The forecast", " is", " sunny", " and warm.").finish("stop")
    with WriterMock() as mock:
        mock.reply(Fault.http_error(429, retry_after=0.2))
        mock.reply(script.with_fault(Fault.disconnect(after_chunks=3)))
        client = Writer(api_key="demo-key")
        seen: list[str] = []
        try:
            with client.chat.stream(model="palmyra-x5", messages=MESSAGES) as stream:
                for event in stream:
                    if event.type == "content.delta":
                        seen.append(event.delta)
        except (httpx.TransportError, APIConnectionError) as exc:
            print(f"stream broke after {len(seen)} content deltas {seen!r}: {type(exc).__name__}")
        gap = mock.calls[1].at - mock.calls[0].at
        print(
            f"requests made: {len(mock.calls)} (the 429 was retried after {gap:.2f} s, honouring Retry-After)"
        )


def over_a_socket() -> None:
    _section("3. The same script over a real socket (FakeWriterServer), chunk by chunk")
    script = (
        StreamScript()
        .content("Streams", " arrive", " chunk", " by", " chunk.")
        .finish("stop")
        .with_fault(Fault.delay(each=0.02))
    )
    with FakeWriterServer() as server:
        server.reply(script)
        print(f"serving on {server.base_url}")
        start = time.perf_counter()
        with (
            httpx.Client(base_url=server.base_url, timeout=5) as http,
            http.stream(
                "POST", "/v1/chat", json={"model": "palmyra-x5", "messages": MESSAGES, "stream": True}
            ) as response,
        ):
            for piece in response.iter_raw():
                text = piece.decode().strip().replace("\n", " ")
                print(
                    f"  +{(time.perf_counter() - start) * 1000:6.1f} ms  {len(piece):4d} bytes  {text[:60]}"
                )


def cassettes() -> None:
    _section("4. Record a cassette from the fake server, then replay it offline")
    with tempfile.TemporaryDirectory() as tmp, FakeWriterServer() as upstream:
        path = Path(tmp) / "weather.yaml"
        upstream.reply(_script())
        with (
            Cassette(path, record_mode="once", upstream=upstream.base_url),
            Writer(api_key="sk-demo-secret").chat.stream(model="palmyra-x5", messages=MESSAGES) as stream,
        ):
            recorded = list(stream)
        text = path.read_text()
        print(
            f"recorded {path.name}: {len(text.splitlines())} lines, API key on disk: {'sk-demo-secret' in text}"
        )
        with (
            Cassette(path),
            Writer(api_key="sk-demo-secret").chat.stream(model="palmyra-x5", messages=MESSAGES) as stream,
        ):
            replayed = list(stream)
        same = render_transcript(recorded) == render_transcript(replayed)
        print(f"replayed {len(replayed)} events offline; identical to the recording: {same}")


def main() -> int:
    print("writer-stream-testkit demo: scripted streams, faults, a loopback server and cassettes.")
    scripted_stream_through_the_helpers()
    faults()
    over_a_socket()
    cassettes()
    print(
        "\nAll done. The documents: writer-stream-testkit docs (in a checkout: python3 tasks.py test runs the suite)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
