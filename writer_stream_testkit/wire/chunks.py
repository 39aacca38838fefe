"""Response bytes to ``ChatCompletionChunk``s: the engine under ``Stream`` and ``AsyncStream``.

Pure and push-driven: the caller feeds whatever bytes a read returned and gets
back the chunks they completed, so the sync and async streams share every
decision and differ only in how they read. It follows the SDK's reading of a
stream (stop at a ``[DONE]`` data line or at EOF, skip events with a name
other than ``error``) but reports what the SDK lets through: an error sent
inside the stream becomes :class:`~writer_stream_testkit.errors.StreamErrorEvent`
and a data line that is not a JSON object becomes
:class:`~writer_stream_testkit.errors.MalformedChunkError`.

Like the SDK, it is tolerant by default: a JSON object that does not match the
chunk schema (an unknown ``finish_reason``, a missing field) is built as the SDK
builds it, values kept as given. ``strict=True`` (the clients'
``_strict_response_validation``) validates instead and rejects such a chunk.

This is the hot path of a streamed reply, so the common case (an unnamed event
whose data is a well-formed chunk) costs one pydantic-core call and nothing
else: the schema-exact chunk validates strictly, which builds exactly what the
SDK's construction would, and only a chunk that fails takes the slow path.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

import httpx
import pydantic
from pydantic import ValidationError

from ..errors import APIError, MalformedChunkError, NotAnEventStreamError, StreamErrorEvent
from .construct import construct_loosely
from .sse import ServerSentEvent, SSEDecoder

__all__ = ["ChunkDecoder"]

_ModelT = TypeVar("_ModelT", bound=pydantic.BaseModel)

_QUOTE_LIMIT = 200
"""Longest data line quoted whole in an error; longer ones are cut with a count."""

_HEAD_LIMIT = 80
"""How much of the body's start is kept to quote when it turns out not to be an event stream."""


class ChunkDecoder(Generic[_ModelT]):
    """Decode one streamed response into chunks, event by event.

    Call :meth:`feed` with each read and yield what it returns; once
    :attr:`finished` is true stop reading, then call :meth:`raise_error`,
    which raises the error that ended the stream, if one did. At EOF call
    :meth:`end` instead of breaking. Keeping the error aside until the chunks
    before it are yielded means the caller sees exactly the chunks the server
    sent before the fault, as with the SDK.
    """

    __slots__ = (
        "_error",
        "_events",
        "_head",
        "_model",
        "_response",
        "_sse",
        "_strict",
        "_validate",
        "finished",
    )

    def __init__(self, response: httpx.Response, model: type[_ModelT], *, strict: bool = False) -> None:
        self._response = response
        self._model = model
        # The validator itself: ``model_validate_json`` only adds a Python call around it.
        self._validate: Callable[..., _ModelT] = model.__pydantic_validator__.validate_json
        # Tolerant: validate strictly (exact types only) and build the rest loosely.
        # Strict, as the SDK's _strict_response_validation: validate laxly and reject the rest.
        self._strict: bool | None = None if strict else True
        self._sse = SSEDecoder(dataless_events=True)
        self._events = 0
        self._error: APIError | None = None
        self._head = b""  # the body's first bytes, quoted if no event ever completes
        self.finished = False
        """True once ``[DONE]``, an error or EOF has ended the stream."""

    def feed(self, data: bytes) -> list[_ModelT]:
        """The chunks completed by this read, in order."""
        if len(self._head) < _HEAD_LIMIT:
            self._head = (self._head + data)[:_HEAD_LIMIT]
        events = self._sse.feed(data)
        return self._chunks(events) if events else []

    def end(self) -> list[_ModelT]:
        """Signal EOF. An unterminated last event is dropped, as the SDK drops it.

        A stream with no complete event at all is kept aside as
        :class:`NotAnEventStreamError` for :meth:`raise_error`, where the SDK
        yields nothing and says nothing.
        """
        chunks = self._chunks(self._sse.flush())
        if not self.finished and self._sse.event_count == 0:
            self._fail(self._no_event())
        self.finished = True
        return chunks

    def raise_error(self) -> None:
        """Raise the error the server sent or the malformed line that ended the stream, if any."""
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def _chunks(self, events: Sequence[ServerSentEvent]) -> list[_ModelT]:
        chunks: list[_ModelT] = []
        if self.finished:
            return chunks
        append = chunks.append
        validate = self._validate
        strict = self._strict
        number = self._events
        for sse in events:
            number += 1
            data = sse.data
            if data.startswith("[DONE]"):
                self.finished = True
                break
            name = sse.event
            if name is None:
                try:
                    chunk = validate(data, strict=strict)
                except ValidationError as exc:
                    loose = self._loose(data, number, exc)
                    if loose is None:
                        break
                    chunk = loose
                append(chunk)
            elif name == "error":
                self._fail(self._server_error(data, _loads(data), number, named=True))
                break
        self._events = number
        return chunks

    def _fail(self, error: APIError) -> None:
        self._error = error
        self.finished = True

    def _where(self, number: int) -> str:
        request = self._response.request
        return f"event #{number} of the stream from {request.method} {request.url}"

    def _no_event(self) -> NotAnEventStreamError:
        """The error for a stream that ended before its first event was complete."""
        response, sse = self._response, self._sse
        content_type = response.headers.get("content-type", "none")
        size = sse.byte_count
        begins = f"it begins {self._head!r}" + (f"… ({size} bytes in all)" if size > len(self._head) else "")
        if size == 0:
            why = "the body was empty"
        elif not content_type.startswith("text/event-stream"):
            why = f"it is not an event stream; {begins}"
        elif sse.incomplete:
            why = f"it stopped inside its first event, with no blank line to end it; {begins}"
        else:
            why = f"it held only comments, blank lines or fields without data; {begins}"
        request = response.request
        return NotAnEventStreamError(
            response,
            None,
            message=(
                f"The {response.status_code} response to {request.method} {request.url} (content-type "
                f"{content_type}) ended without a single complete server-sent event: {why}. A Writer chat "
                "stream is `data: {chunk}` events that end with `data: [DONE]`; fix the server, script or "
                "cassette that sent this response."
            ),
        )

    def _loose(self, data: str, number: int, exc: ValidationError) -> _ModelT | None:
        """A data line that is not a schema-exact chunk: built as the SDK builds it, or None after failing."""
        body = _loads(data)
        if body is data:
            self._fail(
                self._malformed(data, body, number, f"it is not valid JSON ({exc.errors()[0]['msg']})")
            )
        elif isinstance(body, dict) and "error" in body and "choices" not in body:
            self._fail(self._server_error(data, body, number, named=False))
        elif not isinstance(body, dict):
            self._fail(
                self._malformed(data, body, number, f"it is JSON but not an object ({type(body).__name__})")
            )
        elif self._strict is None:
            # Strict, as the SDK's strict mode: lax validation of the decoded JSON (the SDK
            # decodes with json.loads, which also takes what pydantic-core's parser refuses).
            try:
                chunk: _ModelT = self._model.model_validate(body)
            except ValidationError as problem:
                message = (
                    f"it is JSON but not a chat.completion.chunk ({_describe(problem)}), and the client was made "
                    "with _strict_response_validation=True (without it, the chunk is kept as given, as the SDK keeps it)"
                )
                self._fail(self._malformed(data, body, number, message))
            else:
                return chunk
        else:
            return construct_loosely(self._model, body)
        return None

    def _malformed(self, data: str, body: object, number: int, problem: str) -> MalformedChunkError:
        message = (
            f"The data line {_quote(data)} at {self._where(number)} is not a chat completion chunk: "
            f"{problem}. Every data line before `data: [DONE]` must be one JSON "
            "chat.completion.chunk object; fix the server, script or cassette that sent it."
        )
        return MalformedChunkError(self._response, body, message=message)

    def _server_error(self, data: str, body: object, number: int, *, named: bool) -> StreamErrorEvent:
        server_message = _server_message(body) or data or f"Error code: {self._response.status_code}"
        form = "an `event: error` block" if named else 'a data payload of the form {"error": ...}'
        error = StreamErrorEvent(server_message, response=self._response, body=body)
        # `.message` stays the server's own text, as the SDK's does; str() tells the whole story.
        error.args = (
            f"The server sent an error as {form} at {self._where(number)}: {server_message!r}. "
            "The stream stopped there. A test that scripts this fault should expect "
            "StreamErrorEvent (an APIStatusError); `.body` holds the decoded payload.",
        )
        return error


def _loads(data: str) -> object:
    """``data`` decoded as JSON, or ``data`` itself (the same object) when it is not JSON."""
    try:
        return json.loads(data)
    except ValueError:
        return data


def _server_message(body: object) -> str | None:
    """The human message inside a Writer error body, wherever the server put it."""
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    if isinstance(error, dict):
        message = error.get("message")
        if isinstance(message, str) and message:
            return message
    elif isinstance(error, str) and error:
        return error
    message = body.get("message")
    if isinstance(message, str) and message:
        return message
    return None


def _describe(exc: ValidationError) -> str:
    """The first few validation problems, as `field: problem` phrases."""
    parts = []
    for error in exc.errors(include_url=False)[:3]:
        where = ".".join(str(part) for part in error["loc"]) or "the top level"
        parts.append(f"{where}: {error['msg']}")
    more = exc.error_count() - len(parts)
    if more > 0:
        parts.append(f"and {more} more problem{'s' if more > 1 else ''}")
    return "; ".join(parts)


def _quote(data: str) -> str:
    """The data line as it appeared on the wire, cut to a readable length."""
    line = f"data: {data}"
    if len(line) <= _QUOTE_LIMIT:
        return repr(line)
    kept = _QUOTE_LIMIT - 40
    return f"{line[:kept]!r}… ({len(line) - kept} more characters)"
