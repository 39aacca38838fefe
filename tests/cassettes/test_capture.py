"""A capture becomes an interaction: redacted as it is stored, even where a secret spans reads."""

from __future__ import annotations

import json

from recorded import (
    URL,
)

from writer_stream_testkit.cassettes.capture import interaction_from_capture
from writer_stream_testkit.cassettes.dump import dump_cassette
from writer_stream_testkit.cassettes.model import (
    CassetteContent,
)
from writer_stream_testkit.cassettes.recorder import Capture
from writer_stream_testkit.cassettes.redact import (
    REDACTED,
    Redaction,
)


def test_capture_becomes_a_redacted_interaction_even_across_reads() -> None:
    key = "sk-planted-0123456789abcdef"
    capture = Capture(
        method="POST",
        url=f"{URL}?key={key}",
        headers=(
            ("Authorization", f"Bearer {key}"),
            ("Host", "api.writer.com"),
            ("Content-Type", "application/json"),
        ),
        content=json.dumps({"messages": [{"role": "user", "content": key}]}).encode(),
        status=200,
        response_headers=(("Content-Type", "text/event-stream"), ("Set-Cookie", "s=1")),
        reads=[
            (f'data: {{"echo":"{key[:10]}'.encode(), 0.1),
            (f'{key[10:]}"}}\n\n'.encode(), 0.2),
            (b"data: [DONE]\n\n", 0.3),
        ],
        complete=False,
        responded=True,
    )
    interaction = interaction_from_capture(capture, Redaction())
    text = dump_cassette(CassetteContent((interaction,)))
    assert key not in text
    assert key[:10] not in text
    assert "host" not in dict(interaction.request.headers)
    assert dict(interaction.response.headers)["set-cookie"] == REDACTED
    assert interaction.response.complete  # the client stopped at [DONE]: nothing was missed
    assert interaction.response.reads()[0][0] == b'data: {"echo":"'
