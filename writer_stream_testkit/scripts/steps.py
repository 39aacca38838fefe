"""The steps a chat script is made of: one frozen value per builder call."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, TypeAlias

# --- Steps --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Step:
    """One builder call; renders to one or more chunks."""

    key: ClassVar[str]


@dataclass(frozen=True)
class ContentStep(_Step):
    key: ClassVar[str] = "content"
    pieces: tuple[str, ...]
    choice: int = 0
    logprobs: tuple[tuple[dict[str, Any], ...] | None, ...] | None = None


@dataclass(frozen=True)
class RefusalStep(ContentStep):
    key: ClassVar[str] = "refusal"


@dataclass(frozen=True)
class ToolCallStep(_Step):
    key: ClassVar[str] = "tool_call"
    name: str
    arguments: tuple[str, ...]
    id: str
    index: int
    choice: int = 0
    opens: bool = True
    """False when this step continues a call an earlier step opened (same index)."""


@dataclass(frozen=True)
class LogprobsStep(_Step):
    key: ClassVar[str] = "logprobs"
    content: tuple[dict[str, Any], ...] | None = None
    refusal: tuple[dict[str, Any], ...] | None = None
    choice: int = 0


@dataclass(frozen=True)
class DataStep(_Step):
    """A Writer-only delta field: ``graph_data``, ``llm_data`` or ``translation_data``."""

    key: ClassVar[str] = "data"
    field: Literal["graph_data", "llm_data", "translation_data"]
    value: Any
    choice: int = 0


@dataclass(frozen=True)
class UsageStep(_Step):
    key: ClassVar[str] = "usage"
    usage: Any


@dataclass(frozen=True)
class FinishStep(_Step):
    key: ClassVar[str] = "finish"
    reason: str
    choice: int = 0


@dataclass(frozen=True)
class RawStep(_Step):
    key: ClassVar[str] = "raw"
    chunk: Any
    """A chunk dict sent as compact JSON, or a string sent verbatim as the data field."""


ChatStep: TypeAlias = (
    ContentStep | RefusalStep | ToolCallStep | LogprobsStep | DataStep | UsageStep | FinishStep | RawStep
)

DATA_FIELDS = ("graph_data", "llm_data", "translation_data")


def step_choice(step: ChatStep) -> int | None:
    return None if isinstance(step, (UsageStep, RawStep)) else step.choice


def default_call_id(choice: int, index: int) -> str:
    digest = hashlib.sha256(f"writer-stream-testkit:{choice}:{index}".encode()).hexdigest()[:24]
    return f"call_{digest}"
