"""Running a script through the accumulator: events without HTTP."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..helpers.accumulate import ChatCompletionStreamState
from .chat import StreamScript

if TYPE_CHECKING:
    from ..helpers.events import ChatCompletionStreamEvent
    from ..helpers.parsing import ToolParam
    from ..wire.types import ParsedChatCompletion


# --- Running a script through the accumulator ---------------------------------------------------


@dataclass(frozen=True)
class ScriptRun:
    """What the stream helper made of a script: its events, final completion, or the error raised."""

    events: tuple[ChatCompletionStreamEvent[Any], ...] = ()
    completion: ParsedChatCompletion[Any] | None = None
    error: Exception | None = field(default=None, compare=False)

    @property
    def types(self) -> list[str]:
        """The event types in order, the usual thing to assert on."""
        return [event.type for event in self.events]

    def __repr__(self) -> str:
        # The full events repeat the growing snapshot in every chunk event; a summary reads better.
        kinds = ", ".join(self.types[:6]) + (", ..." if len(self.events) > 6 else "")
        content = None
        if self.completion is not None and self.completion.choices:
            content = self.completion.choices[0].message.content
        error = None if self.error is None else type(self.error).__name__
        return f"ScriptRun({len(self.events)} events [{kinds}], content={content!r}, error={error})"


def script_events(
    script: StreamScript,
    *,
    response_format: Any = None,
    tools: Iterable[ToolParam] = (),
) -> ScriptRun:
    """Feed a script's chunks to ``ChatCompletionStreamState`` without any transport.

    For tests that care only about event order: no mock, no client. An exception
    from the accumulator (a length finish with a response_format, say) is returned
    in ``error`` together with the events emitted before it. Faults are not applied:
    they change how bytes travel, not what the chunks say.
    """
    state: ChatCompletionStreamState[Any] = ChatCompletionStreamState(
        input_tools=tuple(tools), response_format=response_format
    )
    events: list[ChatCompletionStreamEvent[Any]] = []
    try:
        for chunk in script.chunks():
            events.extend(state.handle_chunk(chunk))
        completion = state.get_final_completion()
    except Exception as exc:
        return ScriptRun(events=tuple(events), completion=None, error=exc)
    return ScriptRun(events=tuple(events), completion=completion)
