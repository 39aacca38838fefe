"""Regenerate the example cassettes in this folder from StreamScripts (no network, no API key).

Each cassette is recorded for real, through the same tee a user's recording takes, but
from a FakeWriterServer playing a StreamScript, and says so in its ``meta``. Run:

    python cassettes/make_examples.py
"""

from __future__ import annotations

from pathlib import Path

import writerai

from writer_stream_testkit import Cassette, FakeWriterServer, Fault, StreamScript

HERE = Path(__file__).resolve().parent
KEY = "sk-example-not-a-real-key-000000"  # redacted from every file below


def meta(note: str) -> dict[str, str]:
    return {
        "generated_by": "cassettes/make_examples.py from a StreamScript via FakeWriterServer",
        "real_session": "no: an example, not a recording of the Writer API",
        "note": note,
    }


def main() -> None:
    weather_tool = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
    examples: list[tuple[str, str, list[StreamScript | Fault], list[dict[str, object]]]] = [
        (
            "hello-stream.yaml",
            "A plain streamed answer, one event per read, with realistic gaps.",
            [
                StreamScript()
                .content("Hello", "! How", " can I", " help?")
                .finish()
                .with_fault(Fault.delay(each=0.02))
            ],
            [{"messages": [{"role": "user", "content": "Hi"}]}],
        ),
        (
            "tool-call.yaml",
            "A streamed tool call whose arguments arrive in pieces.",
            [StreamScript().tool_call("get_weather", ['{"city"', ': "Paris"}']).finish()],
            [{"messages": [{"role": "user", "content": "Weather in Paris?"}], "tools": [weather_tool]}],
        ),
        (
            "cut-stream.yaml",
            "The upstream hangs up half-way through an event: complete is false, the tail is kept raw.",
            [
                StreamScript()
                .content("This answer", " never", " finishes")
                .with_fault(Fault.disconnect(after_chunks=2, mid_chunk=True))
            ],
            [{"messages": [{"role": "user", "content": "Tell me a long story"}]}],
        ),
        (
            "rate-limited-then-ok.yaml",
            "A 429 with a Writer error body, then the retried request streams.",
            [Fault.http_error(429), StreamScript().content("Second", " time", " lucky").finish()],
            [
                {"messages": [{"role": "user", "content": "Hi"}]},
                {"messages": [{"role": "user", "content": "Hi again"}]},
            ],
        ),
    ]
    for name, note, replies, requests in examples:
        path = HERE / name
        with FakeWriterServer() as server:
            for reply in replies:
                server.reply(reply)
            with Cassette(path, record_mode="rewrite", upstream=server.base_url, meta=meta(note)):
                client = writerai.Writer(api_key=KEY, max_retries=0)
                for extra in requests:
                    try:
                        for _ in client.chat.chat(model="palmyra-x5", stream=True, **extra):  # type: ignore[call-overload]
                            pass
                    except Exception as error:  # the example streams fail on purpose
                        print(f"{name}: {type(error).__name__} (expected)")
        print(f"wrote {path.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
