"""Which requests an in-process double claims: the base URLs it owns, loopback hosts, ignored hosts, the kit's own servers."""

from __future__ import annotations

import httpx
import pytest

from writer_stream_testkit.doubles.hosts import (
    DEFAULT_BASE_URL,
    Base,
    BaseURLs,
    IgnoredHosts,
    RunningDoubles,
    guess_base,
    http_url,
    is_loopback,
)
from writer_stream_testkit.errors import ScriptError


@pytest.mark.parametrize("url", ["api.writer.com", "ftp://api.writer.com", "https://", 5, "http://[::1"])
def test_only_an_absolute_http_url_with_a_host_parses(url: object) -> None:
    assert http_url(url) is None


def test_a_base_owns_its_prefix_and_what_is_under_it_on_its_own_scheme_host_and_port() -> None:
    base = Base.parse("https://proxy.example/writer/")
    assert base.url == "https://proxy.example/writer"
    assert base.owns(httpx.URL("https://proxy.example/writer/v1/chat"))
    assert base.owns(httpx.URL("https://proxy.example/writer"))
    assert not base.owns(httpx.URL("https://proxy.example/writers/v1/chat"))
    assert not base.owns(httpx.URL("http://proxy.example/writer/v1/chat"))
    assert not base.owns(httpx.URL("https://proxy.example:8443/writer/v1/chat"))


def test_a_base_url_that_is_not_one_says_what_to_pass() -> None:
    with pytest.raises(
        ScriptError, match=r"base_url='api\.writer\.com': it must be an absolute http\(s\) URL"
    ):
        Base.parse("api.writer.com")


def test_given_urls_come_first_then_the_environment_then_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WRITER_BASE_URL", "https://at-start.example")
    urls = BaseURLs(["https://given.example", "https://given.example/"])
    monkeypatch.setenv("WRITER_BASE_URL", "https://later.example")
    urls.add("https://added.example")
    assert [b.url for b in urls.now()] == [
        "https://given.example",
        "https://added.example",
        "https://at-start.example",
        "https://later.example",
        DEFAULT_BASE_URL,
    ]
    assert urls.owner(httpx.URL("https://later.example/v1/chat")) == Base.parse("https://later.example")
    assert urls.owner(httpx.URL("https://elsewhere.example/v1/chat")) is None


def test_a_nonsense_environment_url_set_mid_test_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WRITER_BASE_URL", raising=False)
    urls = BaseURLs()
    monkeypatch.setenv("WRITER_BASE_URL", "not a url")
    assert [b.url for b in urls.now()] == [DEFAULT_BASE_URL]


@pytest.mark.parametrize(
    ("url", "base"),
    [
        ("https://proxy.example/writer/v1/chat?x=1", "https://proxy.example/writer"),
        ("https://api.writer.com/v1/chat", "https://api.writer.com"),
        ("http://127.0.0.1:8000/other", "http://127.0.0.1:8000"),
    ],
)
def test_the_guessed_base_is_what_comes_before_v1_else_the_origin(url: str, base: str) -> None:
    assert guess_base(httpx.URL(url)) == base


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("app.localhost", True),
        ("127.0.0.1", True),
        ("127.8.9.1", True),
        ("::1", True),
        ("api.writer.com", False),
        ("10.0.0.1", False),
        ("localhost.example", False),
    ],
)
def test_loopback_hosts_are_this_machine(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_an_ignored_host_covers_any_port_unless_one_is_given() -> None:
    hosts = IgnoredHosts(["localhost", "127.0.0.1:8000", "http://[::1]:9000", "https://secure.example"])
    assert hosts.covers(httpx.URL("http://localhost:1234/x"))
    assert hosts.covers(httpx.URL("http://127.0.0.1:8000/x"))
    assert not hosts.covers(httpx.URL("http://127.0.0.1:8001/x"))
    assert hosts.covers(httpx.URL("http://[::1]:9000/x"))
    assert hosts.covers(httpx.URL("https://secure.example/x"))
    assert not hosts.covers(httpx.URL("http://api.writer.com/x"))


@pytest.mark.parametrize("entry", ["http://x/v1", ""])
def test_an_ignored_host_with_a_path_or_none_at_all_is_refused(entry: str) -> None:
    with pytest.raises(ValueError, match=rf"ignore_hosts entry {entry!r} is not a host; write 'localhost'"):
        IgnoredHosts([entry])


def test_the_kits_running_servers_are_counted_per_port_and_only_on_loopback() -> None:
    running = RunningDoubles()
    running.add(8123)
    running.add(8123)
    assert running.serves(httpx.URL("http://127.0.0.1:8123/v1/chat"))
    assert running.serves(httpx.URL("http://localhost:8123/v1/chat"))
    assert not running.serves(httpx.URL("http://api.example:8123/v1/chat"))
    running.discard(8123)
    assert running.serves(httpx.URL("http://127.0.0.1:8123/v1/chat"))  # a second server still listens there
    running.discard(8123)
    assert not running.serves(httpx.URL("http://127.0.0.1:8123/v1/chat"))
