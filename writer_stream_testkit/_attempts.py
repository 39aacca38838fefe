"""The SDK's attempt loop, written once as a generator of I/O actions, and how it reads an answer.

``Writer`` and ``AsyncWriter`` carry the actions out, the one with calls and the other with
awaits; whether and how long to wait is :mod:`._retry`'s. An error response becomes the
SDK's status error, a ``stream: false`` body a ``ChatCompletion``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator
from dataclasses import dataclass

import httpx
import pydantic

from . import _retry
from .errors import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    status_error_class,
)
from .wire.construct import construct_loosely
from .wire.types import ChatCompletion

__all__ = [
    "Action",
    "AttemptLoop",
    "Close",
    "Read",
    "Send",
    "Sleep",
    "attempt_loop",
    "read_completion",
    "status_error",
]


@dataclass(frozen=True, slots=True)
class Send:
    request: httpx.Request


@dataclass(frozen=True, slots=True)
class Sleep:
    seconds: float


@dataclass(frozen=True, slots=True)
class Read:
    response: httpx.Response


@dataclass(frozen=True, slots=True)
class Close:
    response: httpx.Response


Action = Send | Sleep | Read | Close
AttemptLoop = Generator[Action, "httpx.Response | Exception | None", tuple[httpx.Response, int]]


def attempt_loop(build: Callable[[int], httpx.Request], max_retries: int) -> AttemptLoop:
    """The SDK's attempt loop: send, and on a retryable failure wait and send again.

    Yields the I/O to perform and receives its outcome: for ``Send`` the
    response or the exception the send raised, for the others None. Returns
    the first 2xx response and how many retries it took; raises the SDK's error once
    retries run out.
    """
    for retries_taken in range(max_retries + 1):
        remaining = max_retries - retries_taken
        request = build(retries_taken)
        outcome = yield Send(request)
        if isinstance(outcome, Exception):
            if remaining > 0:
                yield Sleep(_retry.retry_delay(retries_taken, None))
                continue
            if isinstance(outcome, httpx.TimeoutException):
                raise APITimeoutError(request=request) from outcome
            raise APIConnectionError(request=request) from outcome
        assert outcome is not None
        response = outcome
        if response.is_success:
            return response, retries_taken
        if remaining > 0 and _retry.should_retry_status(response.status_code, response.headers):
            yield Close(response)
            yield Sleep(_retry.retry_delay(retries_taken, response.headers))
            continue
        if not response.is_closed:
            yield Read(response)
        raise status_error(response) from None
    raise AssertionError("unreachable: the last attempt always returns or raises")


def status_error(response: httpx.Response) -> APIStatusError:
    """The SDK's exception for an error response: its class, message format and decoded body."""
    body: object
    if response.is_closed and not response.is_stream_consumed:
        body = None
        message = f"Error code: {response.status_code}"
    else:
        text = response.text.strip()
        body = text
        try:
            body = json.loads(text)
            message = f"Error code: {response.status_code} - {body}"
        except (ValueError, RecursionError):
            # A body nested past the recursion limit is the SDK's error too: raw text as message.
            message = text or f"Error code: {response.status_code}"
    return status_error_class(response.status_code)(message, response=response, body=body)


def read_completion(response: httpx.Response, *, strict: bool = False) -> ChatCompletion:
    """The body of a ``stream: false`` reply as a ``ChatCompletion``.

    As for chunks, a JSON object off the schema is kept as given (the SDK builds
    it without validating) unless ``strict`` (``_strict_response_validation``).
    """
    try:
        return ChatCompletion.model_validate_json(response.content, strict=None if strict else True)
    except pydantic.ValidationError as exc:
        if not strict:
            try:
                body = json.loads(response.content)
            except ValueError:
                body = None
            if isinstance(body, dict):
                return construct_loosely(ChatCompletion, body)
        text = response.text
        shown = text if len(text) <= 200 else f"{text[:160]}… ({len(text) - 160} more characters)"
        request = response.request
        raise APIResponseValidationError(
            response,
            text,
            message=(
                f"The {response.status_code} reply to {request.method} {request.url} is not a chat "
                f"completion: {exc.errors(include_url=False)[0]['msg']}; the body was {shown!r}. "
                "A `stream: false` reply must be one JSON chat.completion object; fix the server, "
                "script or cassette that sent it."
            ),
        ) from None
