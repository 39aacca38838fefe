"""The face both doubles show (reply, calls, verify, the with block), and verify at exit: raised after a clean block, a note on the test's own exception otherwise."""

from __future__ import annotations

import sys

import pytest
from chunks import stream_plan

from writer_stream_testkit.doubles.base import QueuedDouble, verify_at_exit
from writer_stream_testkit.doubles.mock import WriterMock
from writer_stream_testkit.doubles.server import FakeWriterServer
from writer_stream_testkit.errors import UnusedRepliesError


def test_unused_replies_fail_the_block_with_what_was_queued() -> None:
    mock = WriterMock().reply(stream_plan("x"))
    with pytest.raises(
        UnusedRepliesError, match=r"never requested:\n  - .*for POST /v1/chat \(1 of 1 left\)"
    ):
        mock.__exit__(None, None, None)


def test_an_exception_in_the_block_is_not_masked_but_annotated() -> None:
    mock = WriterMock().reply(stream_plan("x"))
    error = ZeroDivisionError("the test's own failure")
    mock.start()
    mock.__exit__(ZeroDivisionError, error, None)  # returns without raising: the caller re-raises `error`
    if sys.version_info >= (3, 11):
        assert any("never requested" in note for note in error.__notes__)


def test_verify_at_exit_raises_after_a_clean_block() -> None:
    def verify() -> None:
        raise AssertionError("one reply was never requested")

    with pytest.raises(AssertionError, match="never requested"):
        verify_at_exit(verify, None)


def test_verify_at_exit_notes_the_problem_on_the_tests_own_exception_and_does_not_raise() -> None:
    def verify() -> None:
        raise AssertionError("an unexpected request")

    error = ValueError("the test's own failure")
    verify_at_exit(verify, error)
    if sys.version_info >= (3, 11):
        assert error.__notes__ == ["writer-stream-testkit: an unexpected request"]


def test_verify_at_exit_lets_a_problem_it_was_not_asked_to_catch_escape() -> None:
    def verify() -> None:
        raise RuntimeError("the server failed while answering")

    with pytest.raises(RuntimeError, match="failed while answering"):
        verify_at_exit(verify, ValueError("the test's own failure"))
    verify_at_exit(verify, ValueError("the test's own failure"), catch=(RuntimeError,))


@pytest.mark.parametrize("double_class", [WriterMock, FakeWriterServer])
def test_both_doubles_chain_reply_and_forget_replies_and_calls_on_reset(
    double_class: type[QueuedDouble],
) -> None:
    double = double_class()
    assert double.reply(stream_plan("x")) is double
    with pytest.raises(UnusedRepliesError):
        double.verify()
    double.reset()
    double.verify()
    assert double.calls == []
