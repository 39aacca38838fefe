"""The cassette writer: one readable line per event, and what it writes reads back equal."""

from __future__ import annotations

from chunks import compact_text_chunk
from recorded import (
    roundtrip,
    sse_interaction,
)

from writer_stream_testkit.cassettes.dump import dump_cassette
from writer_stream_testkit.cassettes.model import (
    CassetteContent,
)


def test_written_cassette_is_readable_one_line_per_event() -> None:
    content = CassetteContent((sse_interaction("Hello", " world"),), meta={"generated_by": "test"})
    text = dump_cassette(content)
    assert text.startswith("# writer-stream-testkit cassette")
    assert "version: 1\n" in text
    assert f"    - {{t: 0.01, data: '{compact_text_chunk('Hello')}'}}\n" in text
    assert "    - {t: 0.03, data: '[DONE]'}\n" in text
    assert roundtrip(content) == content
