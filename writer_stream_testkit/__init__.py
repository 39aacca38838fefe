"""writer-stream-testkit: test the code that calls the Writer API (chat, completions, questions, applications, any endpoint), streaming or not.

The public names are listed in ``__all__``; everything else is private. Each is
imported on first use (PEP 562), from the module ``_EXPORTS`` names for it, so
``import writer_stream_testkit`` (the pytest plugin and the command line too)
costs next to nothing until a name is used: a test that queues a script on
``WriterMock`` never loads the server, the cassettes, the client or syrupy. The ``TYPE_CHECKING`` imports
show type checkers and IDEs the same names; tests/test_public_api.py holds
``__all__``, the table and those imports to one another.
"""

import importlib
import typing

from ._version import __version__

if typing.TYPE_CHECKING:
    from .cassettes.cassette import Cassette
    from .cassettes.model import RecordedEvent, RecordedRequest, RecordedResponse
    from .client import AsyncStream, AsyncWriter, Stream, Writer
    from .doubles.mock import WriterMock
    from .doubles.server import FakeWriterServer, WriterDouble
    from .errors import (
        APIConnectionError,
        APIError,
        APIResponseValidationError,
        APIStatusError,
        APITimeoutError,
        AuthenticationError,
        BadRequestError,
        CassetteError,
        CassetteFormatError,
        CassetteMissError,
        CassetteRecordError,
        ConflictError,
        ContentFilterFinishReasonError,
        InternalServerError,
        LengthFinishReasonError,
        MalformedChunkError,
        NetworkBlockedError,
        NotAnEventStreamError,
        NotFoundError,
        PermissionDeniedError,
        RateLimitError,
        RedactionWarning,
        ReplyError,
        ScriptError,
        SlowRetryWarning,
        StreamContractError,
        StreamErrorEvent,
        TestkitError,
        UnexpectedRequestError,
        UnprocessableEntityError,
        UnusedRepliesError,
        WriterError,
    )
    from .helpers.accumulate import ChatCompletionStreamState
    from .helpers.events import (
        ChatCompletionStreamEvent,
        ChunkEvent,
        ContentDeltaEvent,
        ContentDoneEvent,
        FunctionToolCallArgumentsDeltaEvent,
        FunctionToolCallArgumentsDoneEvent,
        LogprobsContentDeltaEvent,
        LogprobsContentDoneEvent,
        LogprobsRefusalDeltaEvent,
        LogprobsRefusalDoneEvent,
        RefusalDeltaEvent,
        RefusalDoneEvent,
    )
    from .helpers.parsing import pydantic_function_tool
    from .helpers.streaming import (
        AsyncChatCompletionStream,
        AsyncChatCompletionStreamManager,
        ChatCompletionStream,
        ChatCompletionStreamManager,
    )
    from .resilience.chaos import Chaos
    from .scripts.application import ApplicationScript
    from .scripts.chat import StreamScript
    from .scripts.completion import CompletionScript
    from .scripts.faults import Fault
    from .scripts.question import QuestionScript
    from .scripts.run import ScriptRun, script_events
    from .testing.contract import assert_stream_contract, split_streams
    from .testing.event_order import assert_event_order
    from .testing.snapshot import StreamTranscript, WriterSnapshotExtension
    from .testing.transcript import render_transcript
    from .wire.call import Call
    from .wire.sse import ServerSentEvent, SSEDecoder
    from .wire.types import ChatCompletion, ChatCompletionChunk, ParsedChatCompletion

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "ApplicationScript",
    "AsyncChatCompletionStream",
    "AsyncChatCompletionStreamManager",
    "AsyncStream",
    "AsyncWriter",
    "AuthenticationError",
    "BadRequestError",
    "Call",
    "Cassette",
    "CassetteError",
    "CassetteFormatError",
    "CassetteMissError",
    "CassetteRecordError",
    "Chaos",
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatCompletionStream",
    "ChatCompletionStreamEvent",
    "ChatCompletionStreamManager",
    "ChatCompletionStreamState",
    "ChunkEvent",
    "CompletionScript",
    "ConflictError",
    "ContentDeltaEvent",
    "ContentDoneEvent",
    "ContentFilterFinishReasonError",
    "FakeWriterServer",
    "Fault",
    "FunctionToolCallArgumentsDeltaEvent",
    "FunctionToolCallArgumentsDoneEvent",
    "InternalServerError",
    "LengthFinishReasonError",
    "LogprobsContentDeltaEvent",
    "LogprobsContentDoneEvent",
    "LogprobsRefusalDeltaEvent",
    "LogprobsRefusalDoneEvent",
    "MalformedChunkError",
    "NetworkBlockedError",
    "NotAnEventStreamError",
    "NotFoundError",
    "ParsedChatCompletion",
    "PermissionDeniedError",
    "QuestionScript",
    "RateLimitError",
    "RecordedEvent",
    "RecordedRequest",
    "RecordedResponse",
    "RedactionWarning",
    "RefusalDeltaEvent",
    "RefusalDoneEvent",
    "ReplyError",
    "SSEDecoder",
    "ScriptError",
    "ScriptRun",
    "ServerSentEvent",
    "SlowRetryWarning",
    "Stream",
    "StreamContractError",
    "StreamErrorEvent",
    "StreamScript",
    "StreamTranscript",
    "TestkitError",
    "UnexpectedRequestError",
    "UnprocessableEntityError",
    "UnusedRepliesError",
    "Writer",
    "WriterDouble",
    "WriterError",
    "WriterMock",
    "WriterSnapshotExtension",
    "__version__",
    "assert_event_order",
    "assert_stream_contract",
    "pydantic_function_tool",
    "render_transcript",
    "script_events",
    "split_streams",
]

_EXPORTS: dict[str, str] = {
    "APIConnectionError": ".errors",
    "APIError": ".errors",
    "APIResponseValidationError": ".errors",
    "APIStatusError": ".errors",
    "APITimeoutError": ".errors",
    "ApplicationScript": ".scripts.application",
    "AsyncChatCompletionStream": ".helpers.streaming",
    "AsyncChatCompletionStreamManager": ".helpers.streaming",
    "AsyncStream": ".client",
    "AsyncWriter": ".client",
    "AuthenticationError": ".errors",
    "BadRequestError": ".errors",
    "Call": ".wire.call",
    "Cassette": ".cassettes.cassette",
    "CassetteError": ".errors",
    "CassetteFormatError": ".errors",
    "CassetteMissError": ".errors",
    "CassetteRecordError": ".errors",
    "Chaos": ".resilience.chaos",
    "ChatCompletion": ".wire.types",
    "ChatCompletionChunk": ".wire.types",
    "ChatCompletionStream": ".helpers.streaming",
    "ChatCompletionStreamEvent": ".helpers.events",
    "ChatCompletionStreamManager": ".helpers.streaming",
    "ChatCompletionStreamState": ".helpers.accumulate",
    "ChunkEvent": ".helpers.events",
    "CompletionScript": ".scripts.completion",
    "ConflictError": ".errors",
    "ContentDeltaEvent": ".helpers.events",
    "ContentDoneEvent": ".helpers.events",
    "ContentFilterFinishReasonError": ".errors",
    "FakeWriterServer": ".doubles.server",
    "Fault": ".scripts.faults",
    "FunctionToolCallArgumentsDeltaEvent": ".helpers.events",
    "FunctionToolCallArgumentsDoneEvent": ".helpers.events",
    "InternalServerError": ".errors",
    "LengthFinishReasonError": ".errors",
    "LogprobsContentDeltaEvent": ".helpers.events",
    "LogprobsContentDoneEvent": ".helpers.events",
    "LogprobsRefusalDeltaEvent": ".helpers.events",
    "LogprobsRefusalDoneEvent": ".helpers.events",
    "MalformedChunkError": ".errors",
    "NetworkBlockedError": ".errors",
    "NotAnEventStreamError": ".errors",
    "NotFoundError": ".errors",
    "ParsedChatCompletion": ".wire.types",
    "PermissionDeniedError": ".errors",
    "QuestionScript": ".scripts.question",
    "RateLimitError": ".errors",
    "RecordedEvent": ".cassettes.model",
    "RecordedRequest": ".cassettes.model",
    "RecordedResponse": ".cassettes.model",
    "RedactionWarning": ".errors",
    "RefusalDeltaEvent": ".helpers.events",
    "RefusalDoneEvent": ".helpers.events",
    "ReplyError": ".errors",
    "SSEDecoder": ".wire.sse",
    "ScriptError": ".errors",
    "ScriptRun": ".scripts.run",
    "ServerSentEvent": ".wire.sse",
    "SlowRetryWarning": ".errors",
    "Stream": ".client",
    "StreamContractError": ".errors",
    "StreamErrorEvent": ".errors",
    "StreamScript": ".scripts.chat",
    "StreamTranscript": ".testing.snapshot",
    "TestkitError": ".errors",
    "UnexpectedRequestError": ".errors",
    "UnprocessableEntityError": ".errors",
    "UnusedRepliesError": ".errors",
    "Writer": ".client",
    "WriterDouble": ".doubles.server",
    "WriterError": ".errors",
    "WriterMock": ".doubles.mock",
    "WriterSnapshotExtension": ".testing.snapshot",
    "assert_event_order": ".testing.event_order",
    "assert_stream_contract": ".testing.contract",
    "pydantic_function_tool": ".helpers.parsing",
    "render_transcript": ".testing.transcript",
    "script_events": ".scripts.run",
    "split_streams": ".testing.contract",
}
"""Each public name (but ``__version__``) and the module it lives in, relative to this package."""

if not typing.TYPE_CHECKING:  # type checkers see the imports above; hiding this keeps a typo an error

    def __getattr__(name: str) -> object:
        """Import a public name the first time it is asked for, and keep it (PEP 562).

        A submodule (``kit.errors``) is imported as ``import writer_stream_testkit.errors``
        would, so code that reached one through the package, as when the root imported
        everything, still does.
        """
        module = _EXPORTS.get(name)
        if module is None:
            if not name.startswith("__"):
                try:
                    return importlib.import_module(f".{name}", __name__)
                except ModuleNotFoundError as exc:
                    if exc.name != f"{__name__}.{name}":
                        raise  # the submodule exists and one of its own imports failed
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, __name__), name)
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    """The public names, loaded or not, beside what the module holds already (for ``dir()`` and completion)."""
    return sorted({*globals(), *__all__})
