"""A request as the doubles receive it, for tests of what a script answers to one."""

from __future__ import annotations

import json
from typing import Any

from writer_stream_testkit.wire.call import Call


def call(stream: bool, path: str = "/v1/completions", **body: Any) -> Call:
    """``POST path`` to the Writer API with ``body`` as JSON and ``stream`` set as given."""
    return Call.create(
        method="POST",
        url=f"https://api.writer.com{path}",
        content=json.dumps({**body, "stream": stream}).encode(),
    )
