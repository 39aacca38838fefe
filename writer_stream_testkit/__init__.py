"""writer-stream-testkit: test the code that streams from the Writer chat API.

The public names are listed in ``__all__``; everything else is private.
"""

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
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RedactionWarning,
    ScriptError,
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
from .scripts.chat import StreamScript
from .scripts.faults import Fault
from .scripts.run import ScriptRun, script_events
from .testing.contract import assert_stream_contract
from .testing.event_order import assert_event_order
from .testing.snapshot import StreamTranscript, WriterSnapshotExtension
from .testing.transcript import render_transcript
from .wire.call import Call
from .wire.sse import ServerSentEvent, SSEDecoder
from .wire.types import ChatCompletion, ChatCompletionChunk, ParsedChatCompletion

__version__ = "0.1.0"

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
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
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatCompletionStream",
    "ChatCompletionStreamEvent",
    "ChatCompletionStreamManager",
    "ChatCompletionStreamState",
    "ChunkEvent",
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
    "NotFoundError",
    "ParsedChatCompletion",
    "PermissionDeniedError",
    "RateLimitError",
    "RedactionWarning",
    "RefusalDeltaEvent",
    "RefusalDoneEvent",
    "SSEDecoder",
    "ScriptError",
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
]
