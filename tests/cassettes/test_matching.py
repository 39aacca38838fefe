"""Matching a request to a recording: default and custom rules, ignored fields and params, and a miss shown as a diff."""

from __future__ import annotations

import pytest
from recorded import (
    URL,
    chat_call,
    recorded_request,
    sse_interaction,
)

from writer_stream_testkit.cassettes.matching import Matcher, MatchRules, miss_message


def test_default_rules_match_method_path_and_body() -> None:
    rules = MatchRules.build(("method", "path", "body"), (), ())
    assert rules.matches(chat_call(), recorded_request())
    assert not rules.matches(chat_call({"model": "other"}), recorded_request())
    assert not rules.matches(chat_call(method="PUT"), recorded_request())
    assert rules.matches(chat_call(url="http://127.0.0.1:9/v1/chat"), recorded_request())
    assert not rules.matches(chat_call(url="https://api.writer.com/v1/other"), recorded_request())


def test_ignored_fields_leave_matching_by_dotted_path() -> None:
    a = {
        "model": "m",
        "temperature": 0.1,
        "metadata": {"request_id": "1", "keep": 1},
        "messages": [{"name": "x"}],
    }
    b = {
        "model": "m",
        "temperature": 0.9,
        "metadata": {"request_id": "2", "keep": 1},
        "messages": [{"name": "y"}],
    }
    ignore = ("body.temperature", "body.metadata.request_id", "body.messages.*.name")
    assert MatchRules.build(("body",), ignore, ()).matches(chat_call(a), recorded_request(b))
    assert not MatchRules.build(("body",), ignore[:2], ()).matches(chat_call(a), recorded_request(b))


def test_query_match_ignores_listed_params() -> None:
    rules = MatchRules.build(("query",), ("query.ts",), ())
    assert rules.matches(chat_call(url=URL + "?a=1&ts=5"), recorded_request(url=URL + "?ts=9&a=1"))
    assert not rules.matches(chat_call(url=URL + "?a=2"), recorded_request(url=URL + "?a=1"))


def test_custom_matchers_compose() -> None:
    is_stream = Matcher("stream", lambda c, r: c.stream)
    same_model = Matcher("model", lambda c, r: c.json["model"] == r.json["model"])
    assert (is_stream & same_model)(chat_call(), recorded_request())
    assert not (is_stream & ~same_model)(chat_call(), recorded_request())
    assert (~is_stream | same_model)(chat_call(), recorded_request())
    rules = MatchRules.build((), (), (lambda c, r: False,))
    assert rules.failures(chat_call(), recorded_request()) == ["<lambda>"]


@pytest.mark.parametrize(
    ("match_on", "ignore"), [(("verb",), ()), ((), ("temperature",)), ((), ("headers.x",))]
)
def test_bad_matching_options_are_rejected(match_on: tuple[str, ...], ignore: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match=r"match_on|ignore_fields"):
        MatchRules.build(match_on, ignore, ())


def test_miss_message_shows_closest_request_as_a_diff() -> None:
    rules = MatchRules.build(("method", "path", "body"), ("body.temperature",), ())
    recorded = [
        sse_interaction("x", body={"model": "palmyra-x4", "messages": [{"role": "user", "content": "bye"}]}),
        sse_interaction(
            "x", body={"model": "palmyra-x5", "messages": [{"role": "user", "content": "hello"}]}
        ),
    ]
    incoming = chat_call(
        {"model": "palmyra-x5", "messages": [{"role": "user", "content": "hello!"}], "temperature": 1}
    )
    message = miss_message("tests/cassettes/t.yaml", incoming, recorded, [], rules, "none")
    assert message.startswith(
        "Cassette tests/cassettes/t.yaml has no unplayed recording that matches POST /v1/chat"
    )
    assert "The closest recording is interactions[1]" in message
    assert "differs in: body" in message
    assert '-      "content": "hello",' in message
    assert '+      "content": "hello!",' in message
    assert "ignoring body.temperature" in message
    assert "--writer-record-mode=new_episodes or Cassette(..., record_mode='new_episodes')" in message


def test_miss_message_for_a_path_prefix_says_the_base_url_differs() -> None:
    rules = MatchRules.build(("method", "path", "body"), (), ())
    incoming = chat_call(url="https://proxy.example/x/v1/chat")
    message = miss_message("t.yaml", incoming, [sse_interaction("x")], [], rules, "none")
    assert (
        "The closest recording is interactions[0] (POST https://api.writer.com/v1/chat), which differs "
        "only in its path: this request went to /x/v1/chat, the recording to /v1/chat. The client's base "
        "URL (base_url= or WRITER_BASE_URL) has a different path prefix from the one the cassette was "
        "recorded with."
    ) in message
    assert message.endswith(
        "Point the client at the base URL the cassette was recorded with, or match without the path "
        "with Cassette(..., match_on=('method', 'body')) (the marker takes the same keyword)."
    )
    assert "ignore_fields" not in message
    assert "Their bodies are equal" not in message
    # Path and body both differ: the usual diff and advice, not the base-URL explanation.
    other = chat_call({"model": "palmyra-x5", "messages": []}, url="https://proxy.example/x/v1/chat")
    mixed = miss_message("t.yaml", other, [sse_interaction("x")], [], rules, "none")
    assert "differs in: path, body" in mixed
    assert "path prefix" not in mixed


def test_miss_message_explains_a_match_already_played() -> None:
    rules = MatchRules.build(("method", "path", "body"), (), ())
    message = miss_message("t.yaml", chat_call(), [sse_interaction("x")], [0], rules, "none")
    assert "matches it but was already replayed" in message
    assert "allow_playback_repeats=True" in message
