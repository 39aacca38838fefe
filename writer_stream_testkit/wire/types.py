"""The Writer chat wire types, named and shaped exactly like ``writerai.types``.

Every model keeps unknown fields (``extra="allow"``) so a field the server adds
tomorrow survives a round trip, as it does in the SDK. Validation is left to
pydantic-core alone (no Python validators), so
``ChatCompletionChunk.model_validate_json(data)`` stays cheap per chunk.
"""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

import pydantic
from pydantic import ConfigDict, Field

__all__ = [
    "BaseModel",
    "ChatCompletion",
    "ChatCompletionChoice",
    "ChatCompletionChunk",
    "ChatCompletionMessage",
    "ChatCompletionUsage",
    "Choice",
    "ChoiceDelta",
    "ChoiceDeltaLlmData",
    "ChoiceDeltaTranslationData",
    "CompletionTokensDetails",
    "Function",
    "GraphData",
    "LlmData",
    "Logprobs",
    "LogprobsToken",
    "ParsedChatCompletion",
    "ParsedChatCompletionChoice",
    "ParsedChatCompletionMessage",
    "ParsedFunction",
    "ParsedFunctionToolCall",
    "PromptTokenDetails",
    "References",
    "ReferencesFile",
    "ReferencesWeb",
    "Source",
    "Subquery",
    "ToolCall",
    "ToolCallStreaming",
    "ToolCallStreamingFunction",
    "TopLogprob",
    "TranslationData",
    "WebSearchData",
    "WebSearchDataSource",
]

FinishReason = Literal["stop", "length", "content_filter", "tool_calls"]


class BaseModel(pydantic.BaseModel):
    """Base of every wire type: unknown fields kept, ``to_dict``/``to_json`` as in the SDK."""

    model_config = ConfigDict(extra="allow")

    def to_dict(
        self,
        *,
        mode: Literal["json", "python"] = "python",
        use_api_names: bool = True,
        exclude_unset: bool = True,
        exclude_defaults: bool = False,
        exclude_none: bool = False,
        warnings: bool = True,
    ) -> dict[str, Any]:
        """The model as the API sent it: only fields that were set, under their wire names."""
        return self.model_dump(
            mode=mode,
            by_alias=use_api_names,
            exclude_unset=exclude_unset,
            exclude_defaults=exclude_defaults,
            exclude_none=exclude_none,
            warnings=warnings,
        )

    def to_json(
        self,
        *,
        indent: int | None = 2,
        use_api_names: bool = True,
        exclude_unset: bool = True,
        exclude_defaults: bool = False,
        exclude_none: bool = False,
        warnings: bool = True,
    ) -> str:
        """The model as indented JSON, with the same defaults as :meth:`to_dict`."""
        return self.model_dump_json(
            indent=indent,
            by_alias=use_api_names,
            exclude_unset=exclude_unset,
            exclude_defaults=exclude_defaults,
            exclude_none=exclude_none,
            warnings=warnings,
        )

    def __str__(self) -> str:
        # The SDK prints the class name too; pydantic's default str does not.
        return f"{self.__repr_name__()}({self.__repr_str__(', ')})"  # type: ignore[misc]


# --- shared ---------------------------------------------------------------------------------------


class TopLogprob(BaseModel):
    token: str
    logprob: float
    bytes: list[int] | None = None


class LogprobsToken(BaseModel):
    token: str
    logprob: float
    top_logprobs: list[TopLogprob]
    bytes: list[int] | None = None


class Logprobs(BaseModel):
    content: list[LogprobsToken] | None = None
    refusal: list[LogprobsToken] | None = None


class Source(BaseModel):
    file_id: str
    snippet: str


class ReferencesFile(BaseModel):
    file_id: str = Field(alias="fileId")
    score: float
    text: str
    cite: str | None = None
    page: int | None = None


class ReferencesWeb(BaseModel):
    score: float
    text: str
    title: str
    url: str


class References(BaseModel):
    files: list[ReferencesFile] | None = None
    web: list[ReferencesWeb] | None = None


class Subquery(BaseModel):
    answer: str
    query: str
    sources: list[Source | None]


class GraphData(BaseModel):
    references: References | None = None
    sources: list[Source | None] | None = None
    status: Literal["processing", "finished"] | None = None
    subqueries: list[Subquery | None] | None = None


class Function(BaseModel):
    arguments: str
    name: str | None = None


class ToolCall(BaseModel):
    id: str
    function: Function
    type: Literal["function"]
    index: int | None = None


class ToolCallStreamingFunction(BaseModel):
    arguments: str
    name: str | None = None


class ToolCallStreaming(BaseModel):
    index: int
    id: str | None = None
    function: ToolCallStreamingFunction | None = None
    type: Literal["function"] | None = None


class CompletionTokensDetails(BaseModel):
    reasoning_tokens: int


class PromptTokenDetails(BaseModel):
    cached_tokens: int


class ChatCompletionUsage(BaseModel):
    completion_tokens: int
    prompt_tokens: int
    total_tokens: int
    completion_tokens_details: CompletionTokensDetails | None = None
    prompt_token_details: PromptTokenDetails | None = None


# --- the non-streaming message --------------------------------------------------------------------


class LlmData(BaseModel):
    model: str
    prompt: str


class TranslationData(BaseModel):
    source_language_code: str
    source_text: str
    target_language_code: str


class WebSearchDataSource(BaseModel):
    raw_content: str | None = None
    url: str | None = None


class WebSearchData(BaseModel):
    sources: list[WebSearchDataSource]


class ChatCompletionMessage(BaseModel):
    content: str
    refusal: str | None = None
    role: Literal["assistant"]
    graph_data: GraphData | None = None
    llm_data: LlmData | None = None
    tool_calls: list[ToolCall] | None = None
    translation_data: TranslationData | None = None
    web_search_data: WebSearchData | None = None


class ChatCompletionChoice(BaseModel):
    finish_reason: FinishReason
    index: int
    message: ChatCompletionMessage
    logprobs: Logprobs | None = None


class ChatCompletion(BaseModel):
    id: str
    choices: list[ChatCompletionChoice]
    created: int
    model: str
    object: Literal["chat.completion"]
    service_tier: str | None = None
    system_fingerprint: str | None = None
    usage: ChatCompletionUsage | None = None


# --- the streaming chunk --------------------------------------------------------------------------


class ChoiceDeltaLlmData(BaseModel):
    model: str
    prompt: str


class ChoiceDeltaTranslationData(BaseModel):
    source_language_code: str
    source_text: str
    target_language_code: str


class ChoiceDelta(BaseModel):
    content: str | None = None
    graph_data: GraphData | None = None
    llm_data: ChoiceDeltaLlmData | None = None
    refusal: str | None = None
    role: Literal["user", "assistant", "system"] | None = None
    tool_calls: list[ToolCallStreaming] | None = None
    translation_data: ChoiceDeltaTranslationData | None = None


class Choice(BaseModel):
    delta: ChoiceDelta
    finish_reason: FinishReason | None = None
    index: int
    logprobs: Logprobs | None = None
    message: ChatCompletionMessage | None = None


class ChatCompletionChunk(BaseModel):
    id: str
    choices: list[Choice]
    created: int
    model: str
    object: Literal["chat.completion.chunk"]
    service_tier: str | None = None
    system_fingerprint: str | None = None
    usage: ChatCompletionUsage | None = None


# --- parsed results -------------------------------------------------------------------------------

ContentType = TypeVar("ContentType")


class ParsedFunction(Function):
    parsed_arguments: object | None = None
    """The arguments as JSON, or an instance of the model given to ``pydantic_function_tool``."""


class ParsedFunctionToolCall(ToolCall):
    function: ParsedFunction


class ParsedChatCompletionMessage(ChatCompletionMessage, Generic[ContentType]):
    parsed: ContentType | None = None
    """The content parsed into the ``response_format`` class, when one was given."""

    tool_calls: list[ParsedFunctionToolCall] | None = None  # type: ignore[assignment]


class ParsedChatCompletionChoice(ChatCompletionChoice, Generic[ContentType]):
    message: ParsedChatCompletionMessage[ContentType]


class ParsedChatCompletion(ChatCompletion, Generic[ContentType]):
    choices: list[ParsedChatCompletionChoice[ContentType]]  # type: ignore[assignment]
