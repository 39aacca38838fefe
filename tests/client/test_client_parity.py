"""The kit's client beside writerai's on the delta shape of the API reference's examples: it streams as the minimal one does, in every client.

The other parity checks live with the module each pins: writerai's markers in test_sentinels.py, argument checks and
chat.parse in test_arguments.py, raw and streaming responses in test_response.py, copy and an empty WRITER_BASE_URL in
test_config.py, nested error bodies in test_attempts.py. Runs on writerai 3.x (``.venv``) and 2.x (``.venv-sdk2``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fourclients import KINDS, MESSAGES
from sdkparity import through

# --- 9. the reference examples' delta shape ------------------------------------------------------------


@pytest.mark.parametrize("tools", [False, True], ids=["text", "tool-call"])
def test_the_reference_examples_delta_shape_streams_as_the_minimal_one_in_every_client(tools: bool) -> None:
    """Why the minimal delta stays the default: writerai and the kit read both shapes alike (docs/scripts.md)."""
    from wireshape import reference_shaped

    from writer_stream_testkit import StreamScript

    script = StreamScript().content("Hel", "lo")
    if tools:
        script = StreamScript().tool_call("lookup", ['{"city": ', '"SF"}'])

    def final(client: Any) -> Any:
        manager = client.chat.stream(model="m", messages=MESSAGES)

        def facts(completion: Any) -> Any:
            message = completion.choices[0].message
            calls = [(c.id, c.function.name, c.function.arguments) for c in message.tool_calls or []]
            return message.content, calls, completion.choices[0].finish_reason

        if hasattr(manager, "__enter__"):
            with manager as stream:
                return facts(stream.get_final_completion())

        async def read() -> Any:
            async with manager as stream:
                return facts(await stream.get_final_completion())

        return read()

    def replying(body: bytes) -> Callable[[httpx.Request], httpx.Response]:
        return lambda request: httpx.Response(
            200, headers={"content-type": "text/event-stream"}, content=body
        )

    for kind in KINDS:
        minimal = through(kind, final, reply=replying(script.sse()))
        widened = through(kind, final, reply=replying(reference_shaped(script).sse()))
        assert (widened.error, minimal.error) == (None, None), kind
        assert widened.result == minimal.result, kind
