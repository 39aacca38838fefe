"""The doorstep mistakes of issue 21, rerun: each gets a message that names it and its fix in one read.

One row per mistake: a function that makes it and returns what the user reads
first (the client's error, the verdict, the ScriptError), and the words that
must be in it, near the top. Mistakes only the pytest plugin can explain run
through pytester at the end.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
import writerai
from faultdata import USER

from writer_stream_testkit import (
    ApplicationScript,
    CompletionScript,
    FakeWriterServer,
    Fault,
    ReplyError,
    ScriptError,
    SlowRetryWarning,
    StreamScript,
    UnexpectedRequestError,
    WriterMock,
)
from writer_stream_testkit.scripts.load import script_from_yaml


def _raised(action: Callable[[], object], kind: type[BaseException] = ScriptError) -> str:
    with pytest.raises(kind) as caught:
        action()
    return str(caught.value)


def real_api_beside_a_server() -> str:
    with FakeWriterServer():
        try:
            writerai.Writer(api_key="k", base_url="https://api.writer.com").chat.chat(model="m", messages=[])
        except writerai.InternalServerError as error:
            from writer_stream_testkit.doubles.guard import guard

            guard.clear()
            return error.message
    raise AssertionError("the request was not refused")


def stream_fault_on_a_plain_request() -> str:
    with WriterMock() as mock:
        mock.reply(StreamScript().content("a", "b").finish().with_fault(Fault.disconnect(after_chunks=1)))
        with pytest.raises(writerai.InternalServerError):
            writerai.Writer(api_key="k").chat.chat(model="m", messages=USER)  # type: ignore[arg-type]
        message = _raised(mock.verify, ReplyError)
        mock.reset()
    return message


def bare_fault_for_another_endpoint() -> str:
    with WriterMock() as mock:
        mock.reply(Fault.http_error(500))
        with pytest.raises(writerai.InternalServerError):
            writerai.Writer(api_key="k", max_retries=0).completions.create(model="m", prompt="p")
        message = _raised(mock.verify, UnexpectedRequestError)
        mock.reset()
    return message


def json_for_an_application_without_method() -> str:
    return _raised(lambda: WriterMock().reply({"id": "x"}, path="/v1/applications/abc"))


def a_wrong_path() -> str:
    return _raised(lambda: WriterMock().reply({"models": []}, path="/models"))


def kind_typo() -> str:
    return _raised(lambda: script_from_yaml("kind: completon\nsteps:\n- text: [a]\n"))


def kind_missing() -> str:
    return _raised(lambda: script_from_yaml("steps:\n- text: [Once, ' upon']\n"))


def kind_wrong() -> str:
    return _raised(lambda: script_from_yaml("kind: completion\nsteps:\n- content: [Hello]\n"))


def whole_list_messages() -> str:
    with WriterMock() as mock:
        mock.reply(StreamScript().content("x").finish(), messages=[{"role": "user", "content": "hi"}])
        with pytest.raises(writerai.InternalServerError):
            writerai.Writer(api_key="k").chat.chat(model="m", messages=USER)  # type: ignore[arg-type]
        message = _raised(mock.verify, UnexpectedRequestError)
        mock.reset()
    return message


def rate_limit_without_wait() -> str:
    with pytest.warns(SlowRetryWarning) as warned:
        WriterMock().reply(Fault.http_error(429))
    return str(warned[0].message)


def rate_limit_on_a_script_without_wait() -> str:
    with pytest.warns(SlowRetryWarning) as warned:
        WriterMock().reply(CompletionScript().text("x").with_fault(Fault.http_error(429, retry_after=0)))
    return str(warned[0].message)


def computed_reply_raises() -> str:
    def reply_for(call: object) -> StreamScript:
        return StreamScript().content({"x": 1}["prompt"])  # type: ignore[index]

    with WriterMock() as mock:
        mock.reply(reply_for)
        with pytest.raises(writerai.InternalServerError):
            writerai.Writer(api_key="k").chat.chat(model="m", messages=USER, stream=True)  # type: ignore[arg-type]
        message = _raised(mock.verify, ReplyError)
        mock.reset()
    return message


def script_bound_to_another_endpoint() -> str:
    return _raised(lambda: WriterMock().reply(ApplicationScript(), path="/v1/chat"))


MISTAKES: list[tuple[Callable[[], str], list[str]]] = [
    (real_api_beside_a_server, ["POST https://api.writer.com/v1/chat was refused", "writer_server.base_url"]),
    (
        stream_fault_on_a_plain_request,
        ["disconnect(after_chunks=1)", "did not ask for a stream", "stream=True"],
    ),
    (
        bare_fault_for_another_endpoint,
        ["waits for POST /v1/chat, not POST /v1/completions", "path='/v1/completions', method='POST'"],
    ),
    (
        json_for_an_application_without_method,
        [
            "GET (client.applications.retrieve) and POST (client.applications.generate_content)",
            "method='POST'",
        ],
    ),
    (a_wrong_path, ["Did you mean path='/v1/models'?"]),
    (kind_typo, ["unknown kind 'completon' (did you mean 'completion'?)"]),
    (kind_missing, ["has no kind: key", "add kind: completion as its first line"]),
    (kind_wrong, ["says kind: completion, but it is a chat script: make it kind: chat"]),
    (whole_list_messages, ["messages= compares the whole messages list", "last_user="]),
    (rate_limit_without_wait, ["gives no retry wait", "retry_after_ms=1", "pytest.warns(SlowRetryWarning)"]),
    (rate_limit_on_a_script_without_wait, ["gives no retry wait"]),
    (computed_reply_raises, ["reply_for() answering POST /v1/chat", "KeyError: 'prompt'"]),
    (script_bound_to_another_endpoint, ["answers POST /v1/applications/{application_id}, not POST /v1/chat"]),
]


@pytest.mark.parametrize(("mistake", "words"), MISTAKES, ids=[m.__name__ for m, _ in MISTAKES])
def test_each_mistake_is_named_with_its_fix_at_the_top(mistake: Callable[[], str], words: list[str]) -> None:
    message = mistake()
    top = "\n".join(message.splitlines()[:4])
    for word in words:
        assert word in top, f"{word!r} not at the top of:\n{message}"
    assert "Traceback" not in message
    assert not re.search(r"writer_stream_testkit/\w+/\w+\.py", message), "no kit internals in the message"


def test_last_user_must_be_text() -> None:
    with pytest.raises(ScriptError, match=r"last_user=\['hi'\]: pass the text of the last user message"):
        WriterMock().reply(StreamScript(), last_user=["hi"])  # type: ignore[arg-type]


def test_a_429_with_a_wait_or_no_retry_does_not_warn() -> None:
    mock = WriterMock()
    mock.reply(Fault.http_error(429, retry_after_ms=1))
    mock.reply(Fault.http_error(429, retry_after="2"))
    mock.reply(Fault.http_error(429, headers={"x-should-retry": "false"}))
    mock.reply(Fault.http_error(500))  # only a 429 says "slow down"
