"""WriterMock: interception, queueing, matching, call records, strictness, decorator, nesting."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
import writerai
from chunks import stream_plan

from writer_stream_testkit import client as ours
from writer_stream_testkit.doubles.mock import DEFAULT_BASE_URL, WriterMock
from writer_stream_testkit.errors import InternalServerError, UnexpectedRequestError, UnusedRepliesError
from writer_stream_testkit.scripts.chat import StreamScript
from writer_stream_testkit.scripts.faults import Fault
from writer_stream_testkit.scripts.plan import ResponsePlan, Write

MODEL = "palmyra-x5"
MESSAGES = [{"role": "user", "content": "Say hello"}]
SSE = (("content-type", "text/event-stream"),)


def read_sync(client: writerai.Writer | ours.Writer) -> list[str]:
    stream = client.chat.chat(model=MODEL, messages=MESSAGES, stream=True)  # type: ignore[arg-type]
    return [c.choices[0].delta.content or "" for c in stream]


async def read_async(client: writerai.AsyncWriter | ours.AsyncWriter) -> list[str]:
    stream = await client.chat.chat(model=MODEL, messages=MESSAGES, stream=True)  # type: ignore[arg-type]
    return [c.choices[0].delta.content or "" async for c in stream]


# --- interception ---------------------------------------------------------------------------------


def test_writerai_sync_streams_the_queued_reply() -> None:
    with WriterMock() as mock:
        mock.reply(stream_plan("Hel", "lo"))
        assert read_sync(writerai.Writer(api_key="k")) == ["Hel", "lo"]
    assert mock.base_url == DEFAULT_BASE_URL


def test_writerai_async_streams_the_queued_reply() -> None:
    async def main() -> list[str]:
        async with WriterMock() as mock:
            mock.reply(stream_plan("Hel", "lo"))
            return await read_async(writerai.AsyncWriter(api_key="k"))

    assert asyncio.run(main()) == ["Hel", "lo"]


def test_our_clients_stream_the_queued_reply() -> None:
    with WriterMock() as mock:
        mock.reply(stream_plan("a", "b"), times=2)
        assert read_sync(ours.Writer(api_key="k")) == ["a", "b"]
        assert asyncio.run(read_async(ours.AsyncWriter(api_key="k"))) == ["a", "b"]


def test_custom_base_urls_are_served_and_the_first_is_the_base_url() -> None:
    urls = ["http://writer.test:8080/proxy/", "https://eu.writer.test"]
    with WriterMock(base_url=urls) as mock:
        mock.reply(stream_plan("x"), times=3)
        assert mock.base_url == "http://writer.test:8080/proxy"
        for url in [*urls, DEFAULT_BASE_URL]:
            assert read_sync(writerai.Writer(api_key="k", base_url=url)) == ["x"]
    assert [c.url for c in mock.calls] == [
        "http://writer.test:8080/proxy/v1/chat",
        "https://eu.writer.test/v1/chat",
        "https://api.writer.com/v1/chat",
    ]


def test_writer_base_url_from_the_environment_is_served(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WRITER_BASE_URL", "https://staging.writer.test")
    with WriterMock() as mock:
        mock.reply(stream_plan("x"))
        assert read_sync(writerai.Writer(api_key="k")) == ["x"]
    assert mock.base_url == "https://staging.writer.test"
    assert DEFAULT_BASE_URL in mock.base_urls


def test_an_invalid_base_url_is_refused_with_the_fix() -> None:
    with pytest.raises(ValueError, match=r"base_url='api\.writer\.com'.*absolute http\(s\) URL"):
        WriterMock(base_url="api.writer.com")


def test_replies_answer_in_the_order_queued() -> None:
    with WriterMock() as mock:
        mock.reply(stream_plan("first")).reply(stream_plan("second"))
        client = writerai.Writer(api_key="k")
        assert read_sync(client) == ["first"]
        assert read_sync(client) == ["second"]


def test_matchers_pick_the_reply_for_each_request() -> None:
    with WriterMock() as mock:
        mock.reply(stream_plan("for b"), messages=lambda m: m[-1]["content"] == "b")
        mock.reply(stream_plan("for other model"), model="palmyra-x4")
        mock.reply(stream_plan("for a"), match=lambda call: call.json["messages"][-1]["content"] == "a")
        client = writerai.Writer(api_key="k")

        def ask(model: str, text: str) -> list[str]:
            stream = client.chat.chat(model=model, messages=[{"role": "user", "content": text}], stream=True)
            return [c.choices[0].delta.content or "" for c in stream]

        assert ask(MODEL, "a") == ["for a"]
        assert ask("palmyra-x4", "zzz") == ["for other model"]
        assert ask(MODEL, "b") == ["for b"]


def test_calls_record_the_json_body_and_headers() -> None:
    with WriterMock() as mock:
        mock.reply(stream_plan("x"))
        client = writerai.Writer(api_key="secret-key", default_headers={"X-App": "demo"})
        read_sync(client)
    (call,) = mock.calls
    assert (call.method, call.path) == ("POST", "/v1/chat")
    assert call.json == {"messages": MESSAGES, "model": MODEL, "stream": True}
    assert call.stream is True
    assert call.headers["authorization"] == "Bearer secret-key"
    assert call.headers["X-APP"] == "demo"
    assert call.headers["x-stainless-retry-count"] == "0"


def test_a_non_streaming_request_gets_the_reply_body() -> None:
    completion = {
        "id": "c1",
        "object": "chat.completion",
        "created": 1,
        "model": MODEL,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
    }
    body = json.dumps(completion).encode()
    plan = ResponsePlan(headers=(("content-type", "application/json"),), steps=(Write(body),))
    with WriterMock() as mock:
        mock.reply(plan)
        result = writerai.Writer(api_key="k").chat.chat(model=MODEL, messages=MESSAGES)  # type: ignore[arg-type]
    assert result.choices[0].message.content == "hi"


# --- strictness -----------------------------------------------------------------------------------


def test_a_request_with_no_reply_gets_a_500_and_fails_verify_naming_it() -> None:
    mock = WriterMock()
    mock.reply(stream_plan("x"), model="palmyra-x4")
    mock.start()
    with pytest.raises(writerai.InternalServerError) as raised:
        read_sync(writerai.Writer(api_key="k"))
    mock.stop()
    assert "Say hello" in raised.value.message
    with pytest.raises(UnexpectedRequestError) as failed:
        mock.verify()
    assert len(mock.calls) == 1, "the 500 must not be retried"
    message = str(failed.value)
    assert "POST /v1/chat (model='palmyra-x5', stream=True, 1 message, last user: 'Say hello')" in message
    assert "model == 'palmyra-x4'" in message
    assert "Queue a reply" in message


def test_exiting_the_block_raises_for_an_unexpected_request() -> None:
    def run() -> None:
        with WriterMock(), contextlib.suppress(writerai.InternalServerError):
            read_sync(writerai.Writer(api_key="k"))

    with pytest.raises(UnexpectedRequestError, match="No replies were queued"):
        run()


def test_the_flags_turn_each_check_off() -> None:
    with WriterMock(assert_all_called=False) as mock:
        mock.reply(stream_plan("x"))
    with WriterMock(assert_all_mocked=False), pytest.raises(writerai.InternalServerError):
        read_sync(writerai.Writer(api_key="k"))


def test_unused_replies_are_listed_with_their_conditions_when_unexpected_requests_are_allowed() -> None:
    mock = WriterMock(assert_all_mocked=False).reply(stream_plan("x"), model="palmyra-x4")
    mock.start()
    with pytest.raises(writerai.InternalServerError):
        read_sync(writerai.Writer(api_key="k"))
    mock.stop()
    with pytest.raises(UnusedRepliesError) as failed:
        mock.verify()
    message = str(failed.value)
    assert "when model == 'palmyra-x4' (1 of 1 left)" in message
    assert "had no matching reply" not in message


def test_an_unqueued_request_to_any_endpoint_gets_the_strict_500_naming_its_method_and_path() -> None:
    with WriterMock() as mock:
        client = writerai.Writer(api_key="k")
        with pytest.raises(writerai.InternalServerError, match=r"GET /v1/models \(no body\)") as failed:
            client.models.list()
        assert "path='/v1/models', method='GET'" in str(failed.value)
        assert len(mock.calls) == 1, "the strict answer is not retried"
        with pytest.raises(
            UnexpectedRequestError, match=r"had no matching reply:\n  - GET /v1/models \(no body\)"
        ):
            mock.verify()
        mock.reset()
    assert mock.calls == []


UNSERVED = "https://writer.internal.example/api"


def _sync_chat(client: writerai.Writer | ours.Writer) -> None:
    list(client.chat.chat(model=MODEL, messages=MESSAGES, stream=True))  # type: ignore[arg-type]


async def _async_chat(client: writerai.AsyncWriter | ours.AsyncWriter) -> None:
    stream = await client.chat.chat(model=MODEL, messages=MESSAGES, stream=True)  # type: ignore[arg-type]
    [chunk async for chunk in stream]


def _chat(client: writerai.Writer | ours.Writer | writerai.AsyncWriter | ours.AsyncWriter) -> None:
    if isinstance(client, (writerai.Writer, ours.Writer)):
        _sync_chat(client)
    else:
        asyncio.run(_async_chat(client))


@pytest.mark.parametrize("make", [writerai.Writer, ours.Writer, writerai.AsyncWriter, ours.AsyncWriter])
def test_a_request_to_a_host_the_mock_does_not_serve_fails_at_once_naming_the_base_url_to_pass(
    make: Any,
) -> None:
    mock = WriterMock().reply(stream_plan("never sent"))
    client = make(api_key="k", base_url=UNSERVED)  # default max_retries: a retried request would take minutes
    started = time.monotonic()
    mock.start()
    with pytest.raises((writerai.InternalServerError, InternalServerError)) as answered:
        _chat(client)
    mock.stop()
    with pytest.raises(UnexpectedRequestError) as failed:
        mock.verify()
    assert time.monotonic() - started < 5
    assert len(mock.calls) == 1, "the 500 must not be retried"
    assert answered.value.status_code == 500
    assert answered.value.response.headers["x-should-retry"] == "false"
    body = answered.value.response.json()
    assert body["tpe"] == "InternalServerError"
    description = body["errors"][0]["description"]
    assert f"A request went to {UNSERVED}/v1/chat, which this mock does not serve" in description
    assert f"WriterMock(base_url='{UNSERVED}')" in description
    assert f"writer_mock.add_base_url('{UNSERVED}')" in description
    assert "writer_base_urls ini key" in description
    message = str(failed.value)
    assert "1 request was refused by WriterMock before any reply could answer:" in message
    assert (
        f"POST /api/v1/chat (model='palmyra-x5', stream=True, 1 message, last user: 'Say hello') to {UNSERVED}/v1/chat got 500: A request went to {UNSERVED}/v1/chat, which this mock does not serve"
        in message
    )
    assert "1 queued reply was never requested" in message
    assert message.index("refused") < message.index("never requested"), "the cause comes first"


def test_a_request_to_another_host_names_the_host_as_the_base_url_when_the_path_is_not_writers() -> None:
    mock = WriterMock(base_url="https://eu.writer.test")
    with pytest.raises(UnexpectedRequestError), mock:
        response = httpx.get("https://example.test/weather?city=SF")
    assert (response.status_code, response.headers["x-should-retry"]) == (500, "false")
    description = response.json()["errors"][0]["description"]
    assert (
        "A request went to https://example.test/weather?city=SF, which this mock does not serve"
        in description
    )
    assert "WriterMock answers only for https://eu.writer.test, https://api.writer.com" in description
    assert "WriterMock(base_url='https://example.test')" in description
    assert "Otherwise mock the request with a respx route." in description
    assert [c.url for c in mock.calls] == ["https://example.test/weather?city=SF"]


def test_requests_to_other_hosts_still_go_to_a_later_respx_router_first() -> None:
    writer = WriterMock()
    user = respx.mock(assert_all_called=True)
    weather = user.get("https://weather.test/today").respond(json={"sky": "blue"})
    local = user.get("http://127.0.0.1:9/health").respond(json={"ok": True})
    with writer, user:
        assert httpx.get("https://weather.test/today").json() == {"sky": "blue"}
        assert httpx.get("http://127.0.0.1:9/health").json() == {"ok": True}
        assert (weather.call_count, local.call_count) == (1, 1)
    assert writer.calls == []


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_loopback_requests_no_router_answers_pass_through_to_the_tests_own_server(host: str) -> None:
    from writer_stream_testkit.doubles.server import FakeWriterServer

    with FakeWriterServer() as server, WriterMock() as mock:
        server.reply(stream_plan("from the socket"))
        mock.reply(stream_plan("in process"))
        base_url = server.base_url.replace("127.0.0.1", host)
        assert read_sync(writerai.Writer(api_key="k", base_url=base_url, max_retries=0)) == [
            "from the socket"
        ]
        assert read_sync(writerai.Writer(api_key="k")) == ["in process"]
    assert [c.url for c in mock.calls] == ["https://api.writer.com/v1/chat"]
    assert [c.path for c in server.calls] == ["/v1/chat"]


def test_a_loopback_base_url_given_to_the_mock_is_served_by_the_mock() -> None:
    with WriterMock(base_url="http://127.0.0.1:9") as mock:
        mock.reply(stream_plan("mocked"))
        assert read_sync(writerai.Writer(api_key="k", base_url="http://127.0.0.1:9", max_retries=0)) == [
            "mocked"
        ]


def test_writer_base_url_set_after_the_mock_started_is_served(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WRITER_BASE_URL", raising=False)
    with WriterMock() as mock:
        monkeypatch.setenv("WRITER_BASE_URL", "https://late.writer.test/v2")
        assert mock.base_url == "https://late.writer.test/v2"
        mock.reply(stream_plan("late"))
        assert read_sync(writerai.Writer(api_key="k", max_retries=0)) == ["late"]
        monkeypatch.delenv("WRITER_BASE_URL")
        assert mock.base_urls == (DEFAULT_BASE_URL,)
    assert [c.url for c in mock.calls] == ["https://late.writer.test/v2/v1/chat"]


def test_writer_base_url_from_the_start_stays_served_and_an_added_url_comes_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WRITER_BASE_URL", "https://at-start.writer.test")
    mock = WriterMock()
    monkeypatch.delenv("WRITER_BASE_URL")
    assert mock.base_url == "https://at-start.writer.test"
    mock.add_base_url("https://added.writer.test")
    assert mock.base_urls == ("https://added.writer.test", "https://at-start.writer.test", DEFAULT_BASE_URL)


def test_add_base_url_serves_it_while_started_and_returns_the_mock() -> None:
    mock = WriterMock()
    assert mock.add_base_url("https://proxy.writer.test/writer/") is mock
    with mock:
        mock.add_base_url("http://eu.writer.test:8080").add_base_url("http://eu.writer.test:8080")
        mock.reply(stream_plan("x"), times=2)
        for url in ("https://proxy.writer.test/writer", "http://eu.writer.test:8080"):
            assert read_sync(writerai.Writer(api_key="k", base_url=url, max_retries=0)) == ["x"]
    assert mock.base_urls == (
        "https://proxy.writer.test/writer",
        "http://eu.writer.test:8080",
        DEFAULT_BASE_URL,
    )
    with pytest.raises(ValueError, match=r"base_url='eu\.writer\.test'.*absolute http\(s\) URL"):
        mock.add_base_url("eu.writer.test")


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"model=palmyra-x5", "The request body is not JSON: Expecting value: line 1 column 1 (char 0)."),
        (b"", "The request body is empty."),
        (b'["model"]', "The request body is JSON but not an object: ['model']."),
    ],
)
def test_a_chat_body_that_is_not_a_json_object_gets_a_400_and_keeps_the_reply(
    content: bytes, problem: str
) -> None:
    with WriterMock() as mock:
        mock.reply(stream_plan("kept"))
        response = httpx.post(f"{DEFAULT_BASE_URL}/v1/chat", content=content)
        assert (response.status_code, response.headers["x-should-retry"]) == (400, "false")
        assert response.json()["tpe"] == "BadRequest"
        assert response.json()["errors"][0]["description"] == (
            f"writer-stream-testkit: {problem} The Writer API answers such a request with 400; send the request's "
            "parameters as one JSON object, as the Writer SDKs do."
        )
        assert read_sync(writerai.Writer(api_key="k")) == ["kept"]
        with pytest.raises(UnexpectedRequestError, match=r"refused by WriterMock") as failed:
            mock.verify()
        assert f"got 400: {problem}" in str(failed.value)
        mock.reset()


def test_reset_forgets_replies_and_calls() -> None:
    with WriterMock() as mock:
        mock.reply(stream_plan("x"))
        mock.reset()
        mock.reply(stream_plan("y"))
        assert read_sync(writerai.Writer(api_key="k")) == ["y"]
        assert len(mock.calls) == 1
        mock.reset()
        assert mock.calls == []


# --- decorator ------------------------------------------------------------------------------------


def test_decorator_runs_a_sync_function_inside_the_mock_and_verifies() -> None:
    @WriterMock()
    def uses_mock(writer_mock: WriterMock) -> list[str]:
        writer_mock.reply(stream_plan("deco"))
        return read_sync(writerai.Writer(api_key="k"))

    assert uses_mock() == ["deco"]
    assert "writer_mock" not in str(__import__("inspect").signature(uses_mock))

    @WriterMock()
    def forgets_to_call(writer_mock: WriterMock) -> None:
        writer_mock.reply(stream_plan("unused"))

    with pytest.raises(UnusedRepliesError):
        forgets_to_call()


def test_the_bare_decorator_says_to_add_parentheses() -> None:
    def test_something() -> None:
        pass

    with pytest.raises(TypeError) as raised:
        WriterMock(test_something)  # type: ignore[arg-type]
    assert str(raised.value) == (
        "WriterMock was applied to test_the_bare_decorator_says_to_add_parentheses.<locals>.test_something "
        "without parentheses. WriterMock is a class, so write @WriterMock() (or @WriterMock(base_url=...)) "
        "above test_the_bare_decorator_says_to_add_parentheses.<locals>.test_something, not @WriterMock."
    )


def test_decorator_on_an_async_function_without_injection() -> None:
    mock = WriterMock()
    mock.reply(stream_plan("async deco"))

    @mock
    async def app() -> list[str]:
        return await read_async(writerai.AsyncWriter(api_key="k"))

    assert asyncio.run(app()) == ["async deco"]
    assert len(mock.calls) == 1


# --- living with other respx mocks ----------------------------------------------------------------


@pytest.mark.parametrize("writer_first", [True, False])
def test_nests_with_a_users_own_respx_mock_either_way_round(writer_first: bool) -> None:
    writer = WriterMock()
    user = respx.mock(assert_all_called=True)
    models = user.get("https://api.writer.com/v1/models").respond(json={"models": []})
    weather = user.get("https://weather.test/today").respond(json={"sky": "blue"})
    outer, inner = (writer, user) if writer_first else (user, writer)
    with outer, inner:
        writer.reply(stream_plan("x"))
        assert read_sync(writerai.Writer(api_key="k")) == ["x"]
        assert httpx.get("https://weather.test/today").json() == {"sky": "blue"}
        assert writerai.Writer(api_key="k").models.list().models == []
        assert (weather.call_count, models.call_count) == (1, 1)
    assert [c.path for c in writer.calls] == ["/v1/chat"]


def test_a_fault_reply_reaches_the_client_as_the_sdk_error() -> None:
    started = time.monotonic()
    with WriterMock() as mock:
        mock.reply(Fault.http_error(401))
        with pytest.raises(writerai.AuthenticationError):
            read_sync(writerai.Writer(api_key="k"))
    assert len(mock.calls) == 1
    assert time.monotonic() - started < 5


def test_the_common_uses_example_passes(pytester: pytest.Pytester) -> None:
    # examples/ is documentation, so the suite runs it: a broken example is a failing test.
    example = Path(__file__).parents[2] / "examples" / "test_common_uses.py"
    pytester.makepyfile(test_common_uses_copy=example.read_text(encoding="utf-8"))
    result = pytester.runpytest("-W", "error", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=9)


def test_a_decorated_function_starts_afresh_on_every_call() -> None:
    seen: list[int] = []

    @WriterMock()
    def one_request(writer_mock: WriterMock) -> None:
        writer_mock.reply(StreamScript().content("hi").finish())
        list(writerai.Writer(api_key="k", max_retries=0).chat.chat(model="m", messages=[], stream=True))
        seen.append(len(writer_mock.calls))

    for _ in range(3):
        one_request()  # type: ignore[call-arg]
    assert seen == [1, 1, 1]
