"""The exception tree: drawn in errors.py's docstring and built the same, SDK errors carrying what the SDK's carry, user mistakes as test failures."""

from __future__ import annotations

import re

import httpx
import pytest
from statuses import STATUS_CLASSES

from writer_stream_testkit import errors

REQUEST = httpx.Request("POST", "https://api.writer.com/v1/chat")


def drawn_tree() -> list[tuple[str, str, tuple[str, ...]]]:
    """(class, the class drawn above it, the extra bases named in brackets) for each line of the docstring's tree."""
    assert errors.__doc__ is not None
    drawn: list[tuple[str, str, tuple[str, ...]]] = []
    parents: dict[int, str] = {}
    for line in errors.__doc__.splitlines():
        found = re.match(r"^    ((?:│   |    )*)(?:[├└]── )?([A-Z]\w+)(?: \(([\w, ]+)\))?", line)
        if found is None:
            continue
        indent, name, extra = found.groups()
        depth = len(indent) // 4 + (1 if "── " in line else 0)
        parents[depth] = name
        if depth:
            drawn.append((name, parents[depth - 1], tuple(extra.split(", ")) if extra else ()))
    return drawn


def test_the_docstring_draws_every_exported_exception() -> None:
    drawn = {name for name, _, _ in drawn_tree()} | {"WriterError", "TestkitError"}
    exported = {n for n in errors.__all__ if isinstance(getattr(errors, n), type)}
    assert exported - drawn == set(), "draw each new exception in the tree at the top of errors.py"


@pytest.mark.parametrize(("name", "parent", "extra"), drawn_tree())
def test_each_exception_has_the_bases_the_docstring_draws(
    name: str, parent: str, extra: tuple[str, ...]
) -> None:
    cls = getattr(errors, name)
    bases = [base.__name__ for base in cls.__bases__]
    assert bases == [parent, *extra], (
        f"errors.py draws {name} under {parent} {extra}, but its bases are {bases}"
    )


@pytest.mark.parametrize(("status", "expected"), STATUS_CLASSES)
def test_each_status_gets_the_sdks_class(status: int, expected: type[errors.APIStatusError]) -> None:
    assert errors.status_error_class(status) is expected


def test_a_status_error_carries_the_response_its_request_status_and_body() -> None:
    response = httpx.Response(429, request=REQUEST, json={"error": "slow down"})
    error = errors.RateLimitError("Error code: 429", response=response, body={"error": "slow down"})
    assert (error.message, error.status_code, error.body) == ("Error code: 429", 429, {"error": "slow down"})
    assert error.response is response
    assert error.request is REQUEST
    assert str(error) == "Error code: 429"


def test_connection_and_validation_errors_say_what_the_sdks_say() -> None:
    assert str(errors.APIConnectionError(request=REQUEST)) == "Connection error."
    assert str(errors.APITimeoutError(REQUEST)) == "Request timed out."
    assert errors.APITimeoutError(REQUEST).body is None
    invalid = errors.MalformedChunkError(httpx.Response(200, request=REQUEST), "not json")
    assert str(invalid) == "Data returned by API invalid for expected schema."
    assert (invalid.status_code, invalid.body) == (200, "not json")


@pytest.mark.parametrize(
    "name",
    [
        "CassetteMissError",
        "CassetteRecordError",
        "UnexpectedRequestError",
        "UnusedRepliesError",
        "ReplyError",
        "StreamContractError",
        "NetworkBlockedError",
    ],
)
def test_a_mistake_the_user_fixes_in_the_test_is_an_assertion_error(name: str) -> None:
    assert issubclass(getattr(errors, name), AssertionError)
    assert issubclass(getattr(errors, name), errors.TestkitError)


def test_the_sdk_family_and_the_kits_own_are_apart() -> None:
    assert not issubclass(errors.TestkitError, errors.WriterError)
    assert not issubclass(errors.WriterError, AssertionError)
