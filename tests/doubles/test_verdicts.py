"""What a double's verdict says (doubles/verdicts.py): each message names the requests and the fix."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from writer_stream_testkit import CompletionScript, Fault, ScriptError, StreamScript
from writer_stream_testkit.doubles.reply_items import Reply
from writer_stream_testkit.doubles.verdicts import (
    failed_message,
    failure_text,
    one_paragraph,
    rejected_message,
    unexpected_message,
)
from writer_stream_testkit.wire.call import Call
from writer_stream_testkit.wire.endpoints import CHAT, COMPLETIONS, Endpoint


def call(method: str, path: str, body: dict[str, Any] | None = None) -> Call:
    content = b"" if body is None else json.dumps(body).encode()
    return Call.create(method=method, url=f"http://127.0.0.1:9{path}", content=content)


@dataclass
class Waiting:
    """A queued reply as the messages read it (the queue's own entry has the same face)."""

    item: Reply
    endpoint: Endpoint
    messages: Any = None
    times: int = 1
    used: int = 0

    @property
    def left(self) -> int:
        return self.times - self.used

    def describe(self) -> str:
        return f"{type(self.item).__name__} for {self.endpoint} ({self.left} of {self.times} left)"


def test_one_paragraph_joins_bullets_and_keeps_sentences() -> None:
    text = "2 requests had no matching reply:\n  - POST /a\n  - GET /b\nNo replies were queued.\nFix it"
    assert one_paragraph(text) == (
        "2 requests had no matching reply: POST /a; GET /b. No replies were queued. Fix it."
    )


def test_a_miss_with_nothing_queued_names_the_request_and_the_script_to_queue() -> None:
    message = unexpected_message([call("POST", "/v1/completions", {"model": "palmyra-x5"})], [])
    assert message.startswith("1 request had no matching reply:\n  - POST /v1/completions")
    assert "No replies were queued." in message
    assert "Queue a reply for it: .reply(CompletionScript().text(...))." in message


def test_a_miss_at_a_json_endpoint_says_how_to_route_a_json_reply() -> None:
    message = unexpected_message([call("GET", "/v1/models")], [])
    assert "Queue a reply for it: .reply({...}, path='/v1/models', method='GET')." in message


def test_a_doubled_v1_says_the_base_url_is_the_fault_not_the_queue() -> None:
    message = unexpected_message([call("POST", "/v1/v1/chat")], [Waiting(StreamScript().content("hi"), CHAT)])
    assert "The path /v1/v1/chat repeats /v1" in message
    assert "Queue a reply for it" not in message


def test_a_fault_waiting_at_the_chat_is_pointed_out_to_a_completions_request() -> None:
    waiting = Waiting(Fault.http_error(500), CHAT)
    message = unexpected_message([call("POST", "/v1/completions")], [waiting])
    first = message.splitlines()[0]
    assert first.startswith("The queued ")
    assert "waits for POST /v1/chat, not POST /v1/completions" in first
    assert "route it with reply(..., path='/v1/completions', method='POST')" in first
    # a script knows its own endpoint: the fix is the script for the request's endpoint
    message = unexpected_message(
        [call("POST", "/v1/chat")], [Waiting(CompletionScript().text("x"), COMPLETIONS)]
    )
    assert message.startswith("The queued CompletionScript(")
    assert (
        "waits for POST /v1/completions, not POST /v1/chat: queue the script for /v1/chat instead "
        "(.reply(StreamScript().content(...)))." in message
    )


def test_a_used_up_reply_is_not_said_to_wait_elsewhere() -> None:
    spent = Waiting(Fault.http_error(500), CHAT, used=1)
    message = unexpected_message([call("POST", "/v1/completions")], [spent])
    assert "waits for" not in message
    assert "(0 of 1 left)" in message


def test_a_whole_messages_list_condition_suggests_last_user() -> None:
    waiting = Waiting(StreamScript().content("hi"), CHAT, messages=[{"role": "user", "content": "hi"}])
    message = unexpected_message([call("POST", "/v1/chat", {"messages": []})], [waiting])
    assert "pass last_user='...' instead" in message
    predicate = Waiting(StreamScript().content("hi"), CHAT, messages=lambda m: False)
    assert "last_user" not in unexpected_message([call("POST", "/v1/chat")], [predicate])


def test_a_kit_error_is_its_message_alone() -> None:
    assert failure_text(ScriptError("The script is wrong.")) == "ScriptError: The script is wrong."


def test_a_users_error_shows_the_users_frames_only() -> None:
    def users_reply() -> None:
        raise KeyError("model")

    try:
        users_reply()
    except KeyError as exc:
        text = failure_text(exc)
    assert text.startswith("KeyError: 'model'\n  raised at (most recent call last):")
    assert "users_reply" in text
    assert "writer_stream_testkit" not in text


def test_failed_replies_are_counted_and_each_says_what_it_answered() -> None:
    failed = [(call("POST", "/v1/chat"), "a computed reply", "KeyError: 'model'")]
    message = failed_message(failed)
    assert message.startswith("1 queued reply failed to answer, so the client got a 500 instead:")
    assert "  - a computed reply answering POST /v1/chat" in message
    assert message.endswith("so it returns a reply for the request.")
    assert failed_message(failed * 2).startswith("2 queued replies failed")


def test_refused_requests_name_the_url_the_status_and_the_problem() -> None:
    refused = [(call("POST", "/v1/chat"), 413, "the body is too large")]
    message = rejected_message(refused, "FakeWriterServer")
    assert message.startswith("1 request was refused by FakeWriterServer before any reply could answer:")
    assert "to http://127.0.0.1:9/v1/chat got 413: the body is too large" in message
    assert rejected_message(refused * 2, "WriterMock").startswith("2 requests were refused by WriterMock")
