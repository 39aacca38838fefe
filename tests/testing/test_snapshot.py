"""The syrupy extension: what ``writer_snapshot`` accepts, and the file it stores."""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

import pytest
import writerai

from writer_stream_testkit.client import Writer
from writer_stream_testkit.doubles.mock import WriterMock
from writer_stream_testkit.scripts.chat import StreamScript
from writer_stream_testkit.testing.snapshot import StreamTranscript, WriterSnapshotExtension, to_transcript

SCRIPT = (
    StreamScript()
    .content("It is ", "sunny.")
    .tool_call("get_weather", ['{"city":', '"SF"}'])
    .finish("tool_calls")
    .usage(prompt_tokens=3, completion_tokens=5)
)
MESSAGES = [{"role": "user", "content": "weather?"}]

SYRUPY_MAJOR = int(version("syrupy").split(".")[0])


def stream_with(client: Any) -> tuple[list[Any], Any]:
    with WriterMock() as mock:
        mock.reply(SCRIPT)
        with client.chat.stream(model="palmyra-x5", messages=MESSAGES) as stream:
            events = list(stream)
            completion = stream.get_final_completion()
    return events, completion


@pytest.fixture(scope="module")
def sdk() -> tuple[list[Any], Any]:
    return stream_with(writerai.Writer(api_key="test"))


@pytest.fixture(scope="module")
def kit() -> tuple[list[Any], Any]:
    return stream_with(Writer(api_key="test"))


def test_writerai_and_kit_events_give_the_same_transcript(sdk: Any, kit: Any) -> None:
    assert to_transcript(sdk[0]) == to_transcript(kit[0])


def test_transcript_is_one_line_per_event_then_the_final_completion(sdk: Any) -> None:
    events, _ = sdk
    lines = to_transcript(events).splitlines()
    assert lines[0] == f"events ({len(events)}):"
    final = lines.index("final completion:")
    assert final == len(events) + 1
    kinds = [line.split()[1] for line in lines[1:final]]
    assert kinds == [event.type for event in events]
    assert "    content='It is sunny.'" in lines[final:]
    assert any(
        "name='get_weather'" in line and 'arguments=\'{"city":"SF"}\'' in line for line in lines[final:]
    )


def test_an_explicit_completion_replaces_the_last_chunk_snapshot(sdk: Any) -> None:
    events, completion = sdk
    explicit = to_transcript(StreamTranscript(events, completion))
    assert explicit == to_transcript((events, completion))
    assert explicit.startswith(f"events ({len(events)}):")
    assert "usage completion_tokens=5 prompt_tokens=3 total_tokens=8" in explicit


def test_a_completion_alone_renders_with_no_events(sdk: Any) -> None:
    text = to_transcript(sdk[1])
    assert text.startswith("events (0):\nfinal completion:\n")


def test_a_list_of_non_events_is_refused_with_a_hint() -> None:
    with pytest.raises(TypeError, match=r"item #1 \(str\) is not a stream event; pass the events from"):
        to_transcript([{"type": "chunk"}, "hello"])
    with pytest.raises(TypeError, match="writer_snapshot cannot render a int"):
        to_transcript(42)


def test_extension_stores_text_files_named_stream_txt(sdk: Any) -> None:
    extension = WriterSnapshotExtension()
    assert extension.file_extension == "stream.txt"
    assert extension.serialize(sdk[0]) == to_transcript(sdk[0])


def test_snapshot_update_writes_then_verifies_then_prunes(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT"):  # syrupy reports only outside workers
        monkeypatch.delenv(name, raising=False)
    pytester.makeini("[pytest]\nfilterwarnings = error\naddopts = -p no:cacheprovider\n")
    pytester.makepyfile(
        test_snap="""
        from writer_stream_testkit import StreamTranscript

        def test_events(writer_snapshot):
            events = [{"type": "content.delta", "delta": "hi", "snapshot": "hi"}]
            assert StreamTranscript(events) == writer_snapshot
        """
    )
    pytester.runpytest().assert_outcomes(failed=1)  # no snapshot yet
    pytester.runpytest("--snapshot-update").assert_outcomes(passed=1)
    stored = pytester.path / "__snapshots__" / "test_snap" / "test_events.stream.txt"
    assert stored.read_text() == "events (1):\n   0  content.delta          delta='hi'  snapshot_len=2\n"
    pytester.runpytest().assert_outcomes(passed=1)

    if SYRUPY_MAJOR < 7:
        # syrupy 6 (the newest for Python 3.10) does not look for unused snapshots of a
        # module whose tests no longer request one; pruning is syrupy's own feature.
        return
    pytester.makepyfile(test_snap="def test_other():\n    pass\n")
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(["*1 snapshot unused*"])
    pytester.runpytest("--snapshot-update").stdout.fnmatch_lines(["*1 unused snapshot deleted*"])
    assert not stored.exists()
