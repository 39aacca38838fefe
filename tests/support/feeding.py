"""Chunks fed to a stream state, the kit's or writerai's, collecting the events it returns."""

from __future__ import annotations

from typing import Any

from writerai._models import construct_type
from writerai.types import ChatCompletionChunk as SdkChunk


def feed(state: Any, chunks: list[dict[str, Any]], *, sdk: bool = False) -> list[Any]:
    """The events ``state.handle_chunk`` returns for ``chunks`` (``sdk=True``: as writerai chunk objects)."""
    events = []
    for data in chunks:
        events.extend(state.handle_chunk(construct_type(type_=SdkChunk, value=data) if sdk else data))
    return events
