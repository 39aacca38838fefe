"""The chat delta shape of Writer's reference examples, for checking consumers against it.

Writer's API reference and quickstart show every chat ``message`` carrying the Writer-only
fields (``refusal``, ``tool_calls``, ``graph_data``, ``llm_data``, ``translation_data``,
``web_search_data``) whether or not the answer used them; the kit's scripts send only the
role and the scripted field (docs/scripts.md says why). ``reference_shaped`` widens a
script's chunks to the examples' shape, so a test can show that a consumer reads both alike.
"""

from __future__ import annotations

import copy
from typing import Any

from writer_stream_testkit import StreamScript

__all__ = ["REFERENCE_DELTA", "reference_shaped"]

REFERENCE_DELTA: dict[str, Any] = {
    "refusal": None,
    "tool_calls": [],
    "graph_data": {"sources": None, "status": None, "subqueries": None},
    "llm_data": None,
    "translation_data": None,
    "web_search_data": None,
}
"""What the examples put on a delta that carries none of these fields."""


def reference_shaped(script: StreamScript) -> StreamScript:
    """The same chunks, each delta filled out with :data:`REFERENCE_DELTA` where it lacks a field."""
    widened = StreamScript(auto_finish=False)
    for chunk in script.chunks():
        chunk = copy.deepcopy(chunk)
        for choice in chunk.get("choices", []):
            choice["delta"] = {**copy.deepcopy(REFERENCE_DELTA), **choice["delta"]}
        widened = widened.raw(chunk)
    return widened
