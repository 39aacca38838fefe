"""The Writer API's endpoints: what an endpoint matches, how it reads in messages, and the method a
reply's path is routed to when the test gives none (or why it cannot be)."""

from __future__ import annotations

import pytest

from writer_stream_testkit.errors import ScriptError
from writer_stream_testkit.wire.endpoints import (
    ANY,
    CHAT,
    JSON_BODY_ENDPOINTS,
    WRITER_2_ROUTES,
    WRITER_ROUTES,
    Endpoint,
    application,
    endpoint_for,
)


def test_a_template_segment_matches_exactly_one_path_segment() -> None:
    files = Endpoint("get", "/v1/files/{file_id}")
    assert files.method == "GET"
    assert files.matches("get", "/v1/files/abc")
    assert not files.matches("GET", "/v1/files/abc/download")
    assert not files.matches("GET", "/v1/files/")
    assert not files.matches("DELETE", "/v1/files/abc")
    assert Endpoint("POST", "/v1/a.b").matches("POST", "/v1/a.b")
    assert not Endpoint("POST", "/v1/a.b").matches("POST", "/v1/aXb")  # the path is literal, not a regex


def test_a_star_matches_any_method_or_any_path() -> None:
    assert ANY.matches("PATCH", "/anything/at/all")
    assert Endpoint("*", "/v1/models").matches("HEAD", "/v1/models")
    assert Endpoint("GET", "*").matches("GET", "/v1/x")
    assert not Endpoint("GET", "*").matches("POST", "/v1/x")


def test_endpoints_read_as_method_and_path_in_messages() -> None:
    assert str(CHAT) == "POST /v1/chat"
    assert ANY.describe() == "any request"
    assert Endpoint("*", "/v1/x").describe() == "any method /v1/x"
    assert Endpoint("get", "*").describe() == "GET any path"


def test_an_application_endpoint_is_one_application_or_any() -> None:
    assert application("app-1") == Endpoint("POST", "/v1/applications/app-1")
    assert application(None).matches("POST", "/v1/applications/whatever")
    assert not application("app-1").matches("POST", "/v1/applications/app-2")
    assert application(None) in JSON_BODY_ENDPOINTS


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/v1/models", Endpoint("GET", "/v1/models")),
        (
            "/v1/graphs/question",
            Endpoint("POST", "/v1/graphs/question"),
        ),  # the literal route beats {graph_id}
        ("/v1/files/abc/download", Endpoint("GET", "/v1/files/abc/download")),
        ("/v1/tools/ai-detect", Endpoint("POST", "/v1/tools/ai-detect")),  # a route only writerai 2.x calls
        ("*", ANY),
    ],
)
def test_the_method_is_inferred_when_the_api_serves_the_path_with_one(path: str, expected: Endpoint) -> None:
    assert endpoint_for(path) == expected


def test_a_given_method_is_taken_as_is_for_any_path() -> None:
    assert endpoint_for("/v1/models", "post") == Endpoint("POST", "/v1/models")
    assert endpoint_for("/v1/not-in-the-api", "PUT") == Endpoint("PUT", "/v1/not-in-the-api")


def test_a_path_served_with_several_methods_names_each_with_its_sdk_call() -> None:
    with pytest.raises(ScriptError) as caught:
        endpoint_for("/v1/graphs/g1", what="the JSON reply")
    assert str(caught.value) == (
        "Cannot tell which method the JSON reply for path='/v1/graphs/g1' answers: the Writer API serves "
        "that path with DELETE (client.graphs.delete) and GET (client.graphs.retrieve) and PUT "
        "(client.graphs.update). Pass method= too, such as method='DELETE' for client.graphs.delete."
    )


def test_an_unknown_path_suggests_the_closest_known_one() -> None:
    with pytest.raises(
        ScriptError, match=r"no such path that the kit knows\. Did you mean path='/v1/models'\?"
    ):
        endpoint_for("/v1/modles")
    with pytest.raises(ScriptError) as caught:
        endpoint_for("/v1/xyzzy/abc")
    assert "Did you mean" not in str(caught.value)
    assert str(caught.value).endswith(
        "Fix the path, or pass method= too (such as method='POST') to answer it anyway."
    )


@pytest.mark.parametrize("path", ["v1/models", "/v1/models?x=1", "/v1/models#top", None])
def test_a_path_that_is_not_a_path_below_the_base_url_is_refused(path: object) -> None:
    with pytest.raises(
        ScriptError, match=r"pass the path below the base URL, starting with '/', without a query"
    ):
        endpoint_for(path)  # type: ignore[arg-type]


@pytest.mark.parametrize("method", ["fetch", 3])
def test_a_method_that_is_not_one_is_refused(method: object) -> None:
    with pytest.raises(ScriptError) as caught:
        endpoint_for("/v1/models", method)  # type: ignore[arg-type]
    assert str(caught.value) == (
        f"Cannot route the reply to method={method!r}: use one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS, *."
    )


def test_the_route_tables_hold_each_route_once_and_the_2x_table_only_what_3x_dropped() -> None:
    routes = [(r.method, r.path) for r in WRITER_ROUTES]
    assert len(routes) == len(set(routes))
    assert not {(r.method, r.path) for r in WRITER_2_ROUTES} & set(routes)
