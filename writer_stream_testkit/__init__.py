"""writer-stream-testkit: test the code that calls the Writer API (chat, completions, questions, applications, any endpoint), streaming or not.

The public names are listed in ``__all__``; everything else is private.
"""

from ._version import __version__
from .cassettes.cassette import Cassette
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
    "NotAnEventStreamError",
    "NetworkBlockedError",
    "NotFoundError",
    "ParsedChatCompletion",
    "PermissionDeniedError",
    "QuestionScript",
    "RateLimitError",
    "RedactionWarning",
    "RefusalDeltaEvent",
    "RefusalDoneEvent",
    "ReplyError",
    "SSEDecoder",
    "ScriptError",
    "SlowRetryWarning",
    "ScriptRun",
    "ServerSentEvent",
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
