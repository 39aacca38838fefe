"""The public surface is small, listed, and pinned: changing it is a deliberate act."""

import writer_stream_testkit

EXPECTED = [
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


def test_all_lists_exactly_the_public_names_in_sorted_order() -> None:
    assert writer_stream_testkit.__all__ == EXPECTED


def test_every_listed_name_is_importable_from_the_top_level() -> None:
    for name in EXPECTED:
        assert getattr(writer_stream_testkit, name) is not None, name


def test_no_public_looking_name_is_left_out_of_all() -> None:
    exported = set(writer_stream_testkit.__all__)
    modules = {n for n in dir(writer_stream_testkit) if not n.startswith("_")}
    import types

    leaked = {
        n for n in modules - exported if not isinstance(getattr(writer_stream_testkit, n), types.ModuleType)
    }
    assert leaked == set()
