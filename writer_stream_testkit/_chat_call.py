"""One chat call, whichever face sends it: its requests, how it is sent, and how its answer is read.

``Writer`` and ``AsyncWriter`` (and their raw and streaming views) differ only in how they
wait; what ``chat.chat`` and ``chat.parse`` send, and what they make of the answer, is
decided here once for both.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from ._arguments import ChatParams, chat_body, check_helper_call, parse_arguments
from ._attempts import read_completion
from ._config import BaseWriter, attempt_requests, validates_strictly
from ._response import RAW_RESPONSE_HEADER
from ._sentinels import NOT_GIVEN, is_left_out
from ._streams import AsyncStream, Stream
from .helpers.parsing import format_or_none, parse_chat_completion, tools_or_none
from .wire.types import ChatCompletion, ChatCompletionChunk

__all__ = ["ChatCall", "chat_call", "parse_call"]


@dataclass(frozen=True)
class ChatCall:
    """A chat call ready to send: its requests, how to send it, and how to read its answer."""

    build: Callable[[int], httpx.Request]
    sse: bool
    send_streaming: bool
    parse: Callable[[httpx.Response], Any]


def chat_call(
    client: BaseWriter[Any],
    stream: object,
    response_format: object,
    params: ChatParams,
    stream_class: type[Stream[Any]] | type[AsyncStream[Any]],
    *,
    mode: Literal["raw", "stream"] | None = None,
    finish: Callable[[ChatCompletion], Any] | None = None,
) -> ChatCall:
    """The call ``chat.chat`` makes; ``mode`` marks it as writerai marks its raw and streaming calls."""
    if mode is not None:
        params = params.copy()
        params["extra_headers"] = {**(params.get("extra_headers") or {}), RAW_RESPONSE_HEADER: mode}
    build = attempt_requests(client, chat_body(params, response_format, stream), params)
    strict = validates_strictly(client)
    sse = bool(stream) and not is_left_out(stream)

    def parse(response: httpx.Response) -> Any:
        if sse:
            return stream_class(cast_to=ChatCompletionChunk, response=response, strict=strict)
        completion = read_completion(response, strict=strict)
        return completion if finish is None else finish(completion)

    return ChatCall(build, sse, sse or mode == "stream", parse)


def parse_call(
    client: BaseWriter[Any],
    method: str,
    response_format: object,
    params: ChatParams,
    stream_class: type[Stream[Any]] | type[AsyncStream[Any]],
    *,
    mode: Literal["raw", "stream"] | None = None,
) -> ChatCall:
    """The call ``chat.parse`` makes: checked as writerai checks it, then ``chat.chat`` with a schema."""
    check_helper_call(
        params,
        method,
        ("model", "messages", "response_format"),
        # Only the kit's own default is "not passed": writerai's markers are given (and left out).
        also=() if response_format is NOT_GIVEN else ("response_format",),
        refused=("stream_options",),
    )
    params, body_format = parse_arguments(response_format, params)
    finish = functools.partial(
        parse_chat_completion,
        response_format=format_or_none(response_format),
        input_tools=tools_or_none(params.get("tools")),
    )
    return chat_call(
        client,
        NOT_GIVEN,
        body_format,
        params,
        stream_class,
        mode=mode,
        finish=lambda completion: finish(completion=completion),
    )
