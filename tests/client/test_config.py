"""Configuration and request building, pinned against writerai: the request byte for byte, timeouts, the environment, with_options, the http client."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
import writerai
from fourclients import COMPLETION, DONE, KINDS, MESSAGES, URL, run, sse, status
from sdkparity import CLIENTS, chat_call, through

from writer_stream_testkit import errors
from writer_stream_testkit.client import AsyncWriter, Writer


def _sent(cls: Any, **call: Any) -> httpx.Request:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json=COMPLETION)

    is_async = cls in (AsyncWriter, writerai.AsyncWriter)
    transport = httpx.MockTransport(handler)

    if not is_async:
        with cls(api_key="key", http_client=httpx.Client(transport=transport)) as client:
            client.chat.chat(**call)
        return sent[0]

    async def main() -> None:
        async with cls(api_key="key", http_client=httpx.AsyncClient(transport=transport)) as client:
            await client.chat.chat(**call)

    asyncio.run(main())
    return sent[0]


VERSION_HEADERS = {"user-agent", "x-stainless-package-version"}


@pytest.mark.parametrize(("ours", "sdk"), [(Writer, writerai.Writer), (AsyncWriter, writerai.AsyncWriter)])
def test_request_matches_the_sdks_byte_for_byte_but_for_the_version(ours: Any, sdk: Any) -> None:
    call = {
        "model": "palmyra-x5",
        "messages": [{"role": "user", "content": "é ☃"}],
        "stream": True,
        "temperature": 0.3,
        "max_tokens": 50,
        "stop": ["\n"],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}],
        "extra_headers": {"X-Trace": "1"},
        "extra_body": {"custom": True},
        "extra_query": {"q": "v"},
        "timeout": 12.5,
    }
    a, b = _sent(ours, **call), _sent(sdk, **call)
    assert a.method == b.method == "POST"
    assert a.url == b.url == httpx.URL(URL + "?q=v")
    assert a.content == b.content
    ours_headers = [(k, v) for k, v in a.headers.items() if k not in VERSION_HEADERS]
    sdk_headers = [(k, v) for k, v in b.headers.items() if k not in VERSION_HEADERS]
    assert ours_headers == sdk_headers
    assert a.headers["authorization"] == "Bearer key"
    assert a.headers["x-stainless-read-timeout"] == "12.5"
    assert a.headers["user-agent"] == f"{ours.__name__}/Python 0.1.0"
    assert a.extensions["timeout"] == b.extensions["timeout"]


def test_default_timeout_is_the_sdks() -> None:
    request = _sent(Writer, model="m", messages=MESSAGES)
    assert (
        request.headers["x-stainless-read-timeout"]
        == _sent(writerai.Writer, model="m", messages=MESSAGES).headers["x-stainless-read-timeout"]
    )
    assert request.extensions["timeout"] == {"connect": 5.0, "read": 180, "write": 180, "pool": 180}


def test_a_custom_http_clients_timeout_is_kept_and_none_sends_no_header() -> None:
    http = httpx.Client(
        timeout=httpx.Timeout(7.0),
        transport=httpx.MockTransport(lambda r: httpx.Response(200, json=COMPLETION)),
    )
    assert (
        Writer(api_key="k", http_client=http).timeout
        == writerai.Writer(api_key="k", http_client=http).timeout
    )
    request = _sent(Writer, model="m", messages=MESSAGES, timeout=None)
    assert "x-stainless-read-timeout" not in request.headers
    assert request.extensions["timeout"] == {"connect": None, "read": None, "write": None, "pool": None}


def test_caller_set_retry_count_header_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = run(
        "ours",
        [status(500), sse(DONE)],
        monkeypatch=monkeypatch,
        extra_headers={"X-Stainless-Retry-Count": "99"},
    )
    assert [r.headers["x-stainless-retry-count"] for r in seen.requests] == ["99", "99"]


# --- configuration --------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [Writer, AsyncWriter, writerai.Writer, writerai.AsyncWriter])
def test_missing_api_key_is_the_sdks_error(cls: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WRITER_API_KEY", raising=False)
    with pytest.raises(
        (errors.WriterError, writerai.WriterError), match="WRITER_API_KEY environment variable"
    ):
        cls()


def test_environment_supplies_key_base_url_and_custom_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WRITER_API_KEY", "from-env")
    monkeypatch.setenv("WRITER_BASE_URL", "http://localhost:8123/proxy")
    monkeypatch.setenv("WRITER_CUSTOM_HEADERS", "X-Team: kit\nX-Env: test")
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json=COMPLETION)

    client = Writer(http_client=httpx.Client(transport=httpx.MockTransport(handler)))
    assert client.api_key == "from-env"
    assert client.base_url == httpx.URL("http://localhost:8123/proxy/")
    client.chat.chat(model="m", messages=MESSAGES)
    assert sent[0].url == httpx.URL("http://localhost:8123/proxy/v1/chat")
    assert sent[0].headers["authorization"] == "Bearer from-env"
    assert (sent[0].headers["x-team"], sent[0].headers["x-env"]) == ("kit", "test")


SDK_MAJOR = int(writerai.__version__.split(".")[0])


def test_environment_headers_follow_writerai_3_whichever_sdk_is_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """writerai 3 reads WRITER_CUSTOM_HEADERS; 2.x read WRITER_SDK_HEADER_<NAME> instead. The kit is 3's."""
    monkeypatch.setenv("WRITER_CUSTOM_HEADERS", "X-Team: kit")
    monkeypatch.setenv("WRITER_SDK_HEADER_X_OLD_STYLE", "old")
    ours = _sent(Writer, model="m", messages=MESSAGES)
    sdk = _sent(writerai.Writer, model="m", messages=MESSAGES)
    assert (ours.headers.get("x-team"), ours.headers.get("x-old-style")) == ("kit", None)
    if SDK_MAJOR >= 3:
        assert (sdk.headers.get("x-team"), sdk.headers.get("x-old-style")) == ("kit", None)
    else:
        assert (sdk.headers.get("x-team"), sdk.headers.get("x-old-style")) == (None, "old")
    assert sdk.headers["x-stainless-package-version"] == writerai.__version__


def test_arguments_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WRITER_API_KEY", "from-env")
    monkeypatch.setenv("WRITER_BASE_URL", "http://env.invalid")
    client = Writer(api_key="given", base_url="http://given.invalid/v2/")
    assert (client.api_key, client.base_url) == ("given", httpx.URL("http://given.invalid/v2/"))
    client.close()
    assert client.is_closed()


def test_default_base_url_is_the_public_api(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WRITER_BASE_URL", raising=False)
    with Writer(api_key="k") as client, writerai.Writer(api_key="k") as sdk:
        assert client.base_url == sdk.base_url == httpx.URL("https://api.writer.com")
    assert client.is_closed()


def test_with_options_copies_and_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    client = Writer(api_key="k", max_retries=3, default_headers={"X-A": "1"})
    other = client.with_options(max_retries=0, default_headers={"X-B": "2"}, timeout=4.0)
    assert (other.api_key, other.max_retries, other.timeout) == ("k", 0, 4.0)
    assert other._custom_headers == {"X-A": "1", "X-B": "2"}
    assert client.max_retries == 3


def test_async_client_closes_its_http_client() -> None:
    async def main() -> AsyncWriter:
        async with AsyncWriter(api_key="k") as client:
            assert not client.is_closed()
        return client

    assert asyncio.run(main()).is_closed()


def test_http_client_of_the_wrong_kind_is_refused() -> None:
    with pytest.raises(TypeError, match=r"httpx\.Client"):
        Writer(api_key="k", http_client=httpx.AsyncClient())  # type: ignore[arg-type]


def test_stream_left_out_is_left_out_of_the_body() -> None:
    expected = b'{"messages":[{"role":"user","content":"Hi"}],"model":"m"}'
    assert _sent(Writer, model="m", messages=MESSAGES).content == expected
    assert _sent(writerai.Writer, model="m", messages=MESSAGES).content == expected


# --- copy / with_options and an empty WRITER_BASE_URL, beside writerai ----------------------------


@pytest.mark.parametrize("cls", [Writer, AsyncWriter, writerai.Writer, writerai.AsyncWriter])
def test_copy_takes_writerais_arguments_and_keeps_what_is_left_empty(cls: Any) -> None:
    client = cls(
        api_key="k",
        base_url="http://a.test/",
        default_headers={"X-A": "1"},
        default_query={"a": "1"},
        _strict_response_validation=True,
    )
    other = client.with_options(
        api_key="", base_url="", default_query={"b": "2"}, set_default_headers={"X-B": "2"}
    )
    assert (other.api_key, other.base_url) == ("k", httpx.URL("http://a.test/"))
    assert other._custom_query == {"a": "1", "b": "2"}
    assert {k: v for k, v in other._custom_headers.items() if k.startswith("X-")} == {"X-B": "2"}
    assert client.copy(set_default_query={"c": "3"})._custom_query == {"c": "3"}
    assert other._strict_response_validation is False
    assert (
        client.copy(_extra_kwargs={"_strict_response_validation": True})._strict_response_validation is True
    )
    assert client.copy(max_retries=0).max_retries == 0
    with pytest.raises(TypeError, match="max_retries cannot be None"):
        client.copy(max_retries=None)
    for first, second in (("default_headers", "set_default_headers"), ("default_query", "set_default_query")):
        with pytest.raises(ValueError, match=f"`{first}` and `{second}` arguments are mutually exclusive"):
            client.copy(**{first: {}, second: {}})


def test_a_copys_query_is_sent_as_writerais_is() -> None:
    def act(client: Any) -> Any:
        return client.with_options(default_query={"tenant": "t1"}).chat.chat(model="m", messages=MESSAGES)

    ours, sdk = through("ours", act, default_query={"a": "1"}), through("sdk", act, default_query={"a": "1"})
    assert (
        ours.requests[0].url
        == sdk.requests[0].url
        == httpx.URL("https://api.writer.com/v1/chat?a=1&tenant=t1")
    )


@pytest.mark.parametrize("kind", KINDS)
def test_an_empty_writer_base_url_is_the_base_url_and_never_the_real_api(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WRITER_BASE_URL", "")
    cls = CLIENTS[kind]
    client = cls(api_key="k", max_retries=0)
    assert client.base_url == httpx.URL("")

    async def call_async() -> None:
        async with client:
            await client.chat.chat(model="m", messages=MESSAGES)

    def call() -> None:
        if kind.endswith("async"):
            asyncio.run(call_async())
        else:
            with client:
                client.chat.chat(model="m", messages=MESSAGES)

    with pytest.raises((errors.APIConnectionError, writerai.APIConnectionError)) as caught:
        call()
    assert isinstance(caught.value.__cause__, httpx.UnsupportedProtocol)
    seen = through(kind, chat_call(model="m", messages=MESSAGES))
    assert seen.requests[0].url != httpx.URL("https://api.writer.com/v1/chat")
