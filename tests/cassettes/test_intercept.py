"""The cassette's respx router (cassettes/intercept.py): it routes, and asks its cassette for every answer."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx

from writer_stream_testkit.cassettes import recorder
from writer_stream_testkit.cassettes.intercept import CassetteRouter, Intercepted
from writer_stream_testkit.doubles.hosts import pass_through
from writer_stream_testkit.doubles.server import FakeWriterServer
from writer_stream_testkit.scripts.plan import ResponsePlan, error_plan
from writer_stream_testkit.wire.call import Call

API = "https://api.writer.com"
BODY = {"model": "palmyra-x5", "messages": [{"role": "user", "content": "hi"}]}


class Asked:
    """A cassette side that notes every question and answers as the test sets it up."""

    def __init__(self, *, upstream: str | None = None, record: bool = False) -> None:
        self.upstream = upstream
        self.record = record
        self.asked: list[tuple[str, Any]] = []

    def owns(self, url: httpx.URL) -> bool:
        return url.host == "api.writer.com"

    def unowned(self, request: httpx.Request) -> ResponsePlan:
        self.asked.append(("unowned", str(request.url)))
        if request.url.host == "127.0.0.1":
            raise pass_through(request, "Cassette test.yaml")
        return error_plan(500, "not the Writer API")

    def choose(self, call: Call) -> ResponsePlan | None:
        self.asked.append(("choose", call.json))
        return None if self.record else ResponsePlan(200, (("content-type", "application/json"),), ())

    def started(self, capture: recorder.Capture) -> None:
        self.asked.append(("started", capture.url))

    def upstream_failed(self, request: httpx.Request, error: httpx.TransportError) -> ResponsePlan:
        self.asked.append(("upstream_failed", type(error).__name__))
        return error_plan(502, "the upstream did not answer")

    def side(self) -> Intercepted:
        return Intercepted(
            name="Cassette test.yaml",
            upstream=self.upstream,
            owns=self.owns,
            unowned=self.unowned,
            choose=self.choose,
            started=self.started,
            upstream_failed=self.upstream_failed,
        )


@pytest.fixture
def routed() -> Iterator[tuple[Asked, CassetteRouter]]:
    asked = Asked()
    router = CassetteRouter(asked.side())
    router.start()
    try:
        yield asked, router
    finally:
        router.stop(quiet=True)


def test_a_request_for_the_writer_api_gets_the_cassettes_choice(routed: tuple[Asked, CassetteRouter]) -> None:
    asked, _ = routed
    with httpx.Client() as http:
        response = http.post(f"{API}/v1/chat", json=BODY)
    assert response.status_code == 200
    assert asked.asked == [("choose", BODY)]


def test_an_async_client_gets_the_same_choice(routed: tuple[Asked, CassetteRouter]) -> None:
    asked, _ = routed

    async def main() -> httpx.Response:
        async with httpx.AsyncClient() as http:
            return await http.post(f"{API}/v1/chat", json=BODY)

    response = asyncio.run(main())
    assert response.status_code == 200
    assert asked.asked == [("choose", BODY)]


def test_another_host_goes_to_the_users_routes_first(routed: tuple[Asked, CassetteRouter]) -> None:
    asked, _ = routed
    with respx.mock(assert_all_called=False) as user:
        user.get("https://example.com/x").respond(204)
        with httpx.Client() as http:
            assert http.get("https://example.com/x").status_code == 204
            assert http.get("https://example.com/y").status_code == 500
    assert asked.asked == [("unowned", "https://example.com/y")]


def test_a_request_to_record_is_teed_from_the_upstream(upstream: FakeWriterServer) -> None:
    upstream.reply({"id": "upstream"}, path="/v1/models", method="GET")
    asked = Asked(upstream=upstream.base_url, record=True)
    router = CassetteRouter(asked.side())
    router.start()
    try:
        with httpx.Client() as http:
            response = http.get(f"{API}/v1/models")
    finally:
        router.stop(quiet=True)
    assert response.json() == {"id": "upstream"}
    assert [what for what, _ in asked.asked] == ["choose", "started"]
    assert upstream.calls[0].path == "/v1/models"


def test_an_upstream_that_never_answers_is_the_cassettes_to_explain() -> None:
    with FakeWriterServer() as gone:
        address = gone.base_url  # stopped below: nothing listens there any more
    asked = Asked(upstream=address, record=True)
    router = CassetteRouter(asked.side())
    router.start()
    try:
        with httpx.Client() as http:
            response = http.post(f"{API}/v1/chat", json=BODY)
    finally:
        router.stop(quiet=True)
    assert response.status_code == 502
    assert asked.asked[-1] == ("upstream_failed", "ConnectError")


def test_the_recorders_own_upstream_request_is_never_the_cassettes(
    routed: tuple[Asked, CassetteRouter],
) -> None:
    _, router = routed
    request = httpx.Request("POST", f"{API}/v1/chat", json=BODY, extensions={recorder.UPSTREAM_MARK: True})
    assert not router.claims(request)
    assert router.claims(httpx.Request("POST", f"{API}/v1/chat", json=BODY))
