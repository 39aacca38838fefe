"""What the seeded-chaos tests share: the script the server is given, and a run of writerai requests against it."""

from __future__ import annotations

import httpx
import writerai

from writer_stream_testkit import FakeWriterServer, StreamScript

CHAOS_SCRIPT = StreamScript().content("Sunny", " and", " warm").finish("stop")


def ask_in_turn(server: FakeWriterServer, n: int, **options: object) -> list[str]:
    """Stream ``n`` chats from ``server`` through writerai, one after another: each one's text, or its error's class name."""
    outcomes = []
    with writerai.Writer(api_key="k", base_url=server.base_url, **options) as client:  # type: ignore[arg-type]
        for i in range(n):
            try:
                stream = client.chat.chat(
                    model="palmyra-x5", messages=[{"role": "user", "content": str(i)}], stream=True
                )
                outcomes.append("".join(c.choices[0].delta.content or "" for c in stream if c.choices))
            except (writerai.APIError, httpx.HTTPError) as error:
                outcomes.append(type(error).__name__)
    return outcomes
