"""The public surface is small, listed, and pinned: changing it is a deliberate act."""

import ast
import importlib
from pathlib import Path

import pytest
from fresh import run_fresh

import writer_stream_testkit

ROOT = Path(writer_stream_testkit.__file__)

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


def test_all_lists_exactly_the_public_names_in_sorted_order() -> None:
    assert writer_stream_testkit.__all__ == EXPECTED
    assert sorted(EXPECTED) == EXPECTED


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


# --- the names load lazily, from one table ----------------------------------------------------------


def _root_source() -> ast.Module:
    return ast.parse(ROOT.read_text(encoding="utf-8"))


def _type_checking_imports() -> dict[str, str]:
    """What the root's ``if TYPE_CHECKING:`` block imports: name -> relative module."""
    (block,) = [
        node
        for node in _root_source().body
        if isinstance(node, ast.If) and ast.unparse(node.test) in {"TYPE_CHECKING", "typing.TYPE_CHECKING"}
    ]
    found: dict[str, str] = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom), ast.unparse(node)
        for alias in node.names:
            assert alias.asname is None, ast.unparse(node)
            found[alias.name] = "." * node.level + (node.module or "")
    return found


def test_all_the_lazy_table_and_the_type_checking_imports_agree() -> None:
    """One table says where each name lives; ``__all__`` and the type checkers' imports must say the same."""
    table = writer_stream_testkit._EXPORTS
    assert sorted([*table, "__version__"]) == writer_stream_testkit.__all__
    assert _type_checking_imports() == table


def test_the_agreement_check_sees_a_name_missing_from_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check can fail: a name dropped from the table, or pointing elsewhere, is caught."""
    monkeypatch.delitem(writer_stream_testkit._EXPORTS, "Cassette")
    with pytest.raises(AssertionError):
        test_all_the_lazy_table_and_the_type_checking_imports_agree()
    monkeypatch.setitem(writer_stream_testkit._EXPORTS, "Cassette", ".cassettes.model")
    with pytest.raises(AssertionError):
        test_all_the_lazy_table_and_the_type_checking_imports_agree()


@pytest.mark.parametrize("name", sorted(writer_stream_testkit._EXPORTS))
def test_each_name_is_the_object_its_module_defines(name: str) -> None:
    module = importlib.import_module(writer_stream_testkit._EXPORTS[name], "writer_stream_testkit")
    assert getattr(writer_stream_testkit, name) is getattr(module, name)
    assert name in vars(writer_stream_testkit)  # kept after the first use: no second lookup


def test_an_unknown_name_is_an_attribute_error_naming_it() -> None:
    with pytest.raises(AttributeError, match="module 'writer_stream_testkit' has no attribute 'Casette'"):
        writer_stream_testkit.Casette  # type: ignore[attr-defined]  # noqa: B018
    assert not hasattr(writer_stream_testkit, "Casette")


def test_a_submodule_is_reached_through_the_package_as_before_the_names_were_lazy() -> None:
    """``kit.errors`` worked while the root imported everything; it imports the module now."""
    code = (
        "import writer_stream_testkit as kit, sys\n"
        "loaded = 'writer_stream_testkit.errors' in sys.modules\n"
        "from writer_stream_testkit.errors import CassetteError\n"
        "print(loaded, kit.errors.CassetteError is CassetteError, kit.cassettes.__name__)\n"
        "try:\n"
        "    kit.no_such_module\n"
        "except AttributeError as error:\n"
        "    print(error)\n"
    )
    assert run_fresh(code).splitlines() == [
        "False True writer_stream_testkit.cassettes",
        "module 'writer_stream_testkit' has no attribute 'no_such_module'",
    ]


def test_every_name_imports_from_the_package_in_a_fresh_interpreter() -> None:
    """``from writer_stream_testkit import X`` works for each name, and ``dir()`` lists them before any loads."""
    code = (
        "import writer_stream_testkit as kit\n"
        "listed = set(kit.__all__) <= set(dir(kit))\n"
        "exec('from writer_stream_testkit import ' + ', '.join(kit.__all__))\n"
        "exec('from writer_stream_testkit import *')\n"
        "print(listed, all(getattr(kit, n) is not None for n in kit.__all__))\n"
    )
    assert run_fresh(code) == "True True"
