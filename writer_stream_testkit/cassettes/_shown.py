"""What the cassette tools share: clipping and quoting shown text, and a response's content type."""

from __future__ import annotations

from .model import RecordedResponse

__all__ = ["SHOWN_TEXT", "clip", "content_type", "is_sse", "quote"]

SHOWN_TEXT = 160
"""How much of a non-chunk event or a plain body ``show`` prints before eliding the rest."""


def clip(text: str, limit: int = SHOWN_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def quote(text: str, limit: int = SHOWN_TEXT) -> str:
    return repr(clip(text, limit))


def is_sse(response: RecordedResponse) -> bool:
    return response.events is not None


def content_type(response: RecordedResponse) -> str:
    return next((v for k, v in response.headers if k == "content-type"), "no content-type")
