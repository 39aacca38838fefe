"""Every exception the kit raises, in one place.

Two families live here. The first mirrors the official Writer SDK (``writerai``)
name for name and attribute for attribute, so code written against the SDK reads
the same with this kit's client; they are this kit's own classes (import them from
``writer_stream_testkit``; ``except writerai.RateLimitError`` does not catch ours).
The second are the kit's own: mistakes a user fixes in their test subclass
``AssertionError`` so pytest reports them as failures, not errors::

    WriterError
    ├── APIError
    │   ├── APIStatusError
    │   │   ├── BadRequestError              400
    │   │   ├── AuthenticationError          401
    │   │   ├── PermissionDeniedError        403
    │   │   ├── NotFoundError                404
    │   │   ├── ConflictError                409
    │   │   ├── UnprocessableEntityError     422
    │   │   ├── RateLimitError               429
    │   │   ├── InternalServerError          >= 500
    │   │   └── StreamErrorEvent             an error sent inside a 200 stream
    │   ├── APIConnectionError
    │   │   └── APITimeoutError
    │   └── APIResponseValidationError
    │       ├── MalformedChunkError          a data line that is not a JSON chunk
    │       └── NotAnEventStreamError        a 200 stream without one complete event
    ├── LengthFinishReasonError
    └── ContentFilterFinishReasonError

    TestkitError
    ├── ScriptError (ValueError)             a StreamScript or its YAML is invalid
    ├── CassetteError
    │   ├── CassetteFormatError (ValueError) a cassette file is malformed or unsafe
    │   ├── CassetteMissError (AssertionError) replay found no recorded match
    │   └── CassetteRecordError (AssertionError) recording failed, or a request went by unrecorded
    ├── UnexpectedRequestError (AssertionError) a request arrived with no reply queued
    ├── UnusedRepliesError (AssertionError)  replies were queued but never requested
    ├── ReplyError (AssertionError)          a queued reply failed to answer (a computed reply raised)
    ├── StreamContractError (AssertionError) an event sequence breaks a stream rule
    └── NetworkBlockedError (OSError, AssertionError) a socket to a host --writer-block-network refuses

    UserWarning
    ├── RedactionWarning                     a secret a recording cannot scrub (a key too short)
    └── SlowRetryWarning                     a 429 with no retry wait: the SDK backs off ~1 s per retry
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import httpx

    from .wire.types import ChatCompletion

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "CassetteError",
    "CassetteFormatError",
    "CassetteMissError",
    "CassetteRecordError",
    "ConflictError",
    "ContentFilterFinishReasonError",
    "InternalServerError",
    "LengthFinishReasonError",
    "MalformedChunkError",
    "NotAnEventStreamError",
    "NetworkBlockedError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RedactionWarning",
    "ReplyError",
    "ScriptError",
    "SlowRetryWarning",
    "StreamContractError",
    "StreamErrorEvent",
    "TestkitError",
    "UnexpectedRequestError",
    "UnprocessableEntityError",
    "UnusedRepliesError",
    "WriterError",
    "status_error_class",
]


# --- The SDK's tree -------------------------------------------------------------------------------


class WriterError(Exception):
    """Base of every error the Writer SDK (and this kit's client) raises."""


class APIError(WriterError):
    """An error tied to a request; ``body`` is the decoded error body when there was one."""

    message: str
    request: httpx.Request
    body: object | None

    def __init__(self, message: str, request: httpx.Request, *, body: object | None) -> None:
        super().__init__(message)
        self.request = request
        self.message = message
        self.body = body


class APIResponseValidationError(APIError):
    """The server answered, but with data that does not fit the expected schema."""

    response: httpx.Response
    status_code: int

    def __init__(self, response: httpx.Response, body: object | None, *, message: str | None = None) -> None:
        super().__init__(
            message or "Data returned by API invalid for expected schema.", response.request, body=body
        )
        self.response = response
        self.status_code = response.status_code


class APIStatusError(APIError):
    """Raised when an API response has a status code of 4xx or 5xx, or an error inside a stream."""

    response: httpx.Response
    status_code: int

    def __init__(self, message: str, *, response: httpx.Response, body: object | None) -> None:
        super().__init__(message, response.request, body=body)
        self.response = response
        self.status_code = response.status_code


class APIConnectionError(APIError):
    """The request never got a complete answer: refused, reset, or cut mid-stream."""

    def __init__(self, *, message: str = "Connection error.", request: httpx.Request) -> None:
        super().__init__(message, request, body=None)


class APITimeoutError(APIConnectionError):
    def __init__(self, request: httpx.Request) -> None:
        super().__init__(message="Request timed out.", request=request)


class BadRequestError(APIStatusError):
    status_code: Literal[400] = 400


class AuthenticationError(APIStatusError):
    status_code: Literal[401] = 401


class PermissionDeniedError(APIStatusError):
    status_code: Literal[403] = 403


class NotFoundError(APIStatusError):
    status_code: Literal[404] = 404


class ConflictError(APIStatusError):
    status_code: Literal[409] = 409


class UnprocessableEntityError(APIStatusError):
    status_code: Literal[422] = 422


class RateLimitError(APIStatusError):
    status_code: Literal[429] = 429


class InternalServerError(APIStatusError):
    pass


class StreamErrorEvent(APIStatusError):
    """The server sent an error inside an otherwise successful stream.

    Either an ``event: error`` block or a ``data:`` payload of the form
    ``{"error": {...}}``. ``message`` carries the server's own message and
    ``body`` the decoded payload. The SDK raises a plain ``APIStatusError``
    for the first and crashes with ``TypeError`` on the second; this subclass
    keeps ``except APIStatusError`` working for both.
    """


class MalformedChunkError(APIResponseValidationError):
    """A ``data:`` line in the stream is not a JSON object (or, under ``_strict_response_validation``, not a valid chunk)."""


class NotAnEventStreamError(APIResponseValidationError):
    """A streamed 200 response ended without a single complete server-sent event.

    Its body was empty, stopped inside its first event, or was not an event
    stream at all (a JSON body, an HTML error page). The SDK yields no chunks and
    no error there; a stream that sent complete events and then ended without
    ``[DONE]`` still ends quietly, as in the SDK.
    """


_STATUS_CLASSES: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def status_error_class(status_code: int) -> type[APIStatusError]:
    """The SDK's exception class for an HTTP status, exactly as ``writerai`` chooses it."""
    if status_code in _STATUS_CLASSES:
        return _STATUS_CLASSES[status_code]
    if status_code >= 500:
        return InternalServerError
    return APIStatusError


class LengthFinishReasonError(WriterError):
    """The completion stopped at the length limit, so its content cannot be parsed."""

    completion: ChatCompletion

    def __init__(self, *, completion: ChatCompletion) -> None:
        msg = "Could not parse response content as the length limit was reached"
        if completion.usage:
            msg += f" - {completion.usage}"
        super().__init__(msg)
        self.completion = completion


class ContentFilterFinishReasonError(WriterError):
    """The content filter rejected the request, so its content cannot be parsed."""

    def __init__(self) -> None:
        super().__init__("Could not parse response content as the request was rejected by the content filter")


# --- The kit's own --------------------------------------------------------------------------------


class TestkitError(Exception):
    """Base of the errors that mean the kit was used wrongly or a test expectation failed."""

    __test__ = False  # not a pytest test class, despite the name


class ScriptError(TestkitError, ValueError):
    """A ``StreamScript``, a fault, or a script YAML file is invalid."""


class CassetteError(TestkitError):
    """Base of the cassette errors."""


class CassetteFormatError(CassetteError, ValueError):
    """A cassette file cannot be loaded: malformed, unsafe, or of an unknown version."""


class CassetteMissError(CassetteError, AssertionError):
    """Replay met a request that the cassette has no recording for."""


class CassetteRecordError(CassetteError, AssertionError):
    """A cassette in a recording mode could not record a request: the upstream did not answer,
    or the request went to a loopback host the cassette was not told about and passed by unrecorded."""


class UnexpectedRequestError(TestkitError, AssertionError):
    """The mock or fake server received a request with no reply queued for it."""


class UnusedRepliesError(TestkitError, AssertionError):
    """Replies were queued on the mock or fake server but never requested."""


class ReplyError(TestkitError, AssertionError):
    """A queued reply could not answer its request: a computed reply raised or returned no reply."""


class StreamContractError(TestkitError, AssertionError):
    """An event sequence breaks a rule that every well-formed stream obeys."""


class RedactionWarning(UserWarning):
    """A recording may keep a secret redaction cannot find: a key shorter than the scrubbed minimum."""


class NetworkBlockedError(TestkitError, OSError, AssertionError):
    """A socket tried to reach a host that ``--writer-block-network`` refuses (any host but this machine).

    An ``OSError`` too, as a refused ``connect`` is, so ``socket.create_connection``
    closes the socket and clients wrap it as they wrap any failed connection.
    """


class SlowRetryWarning(UserWarning):
    """A queued 429 gives no retry wait, so ``writerai`` sleeps its own backoff (about 1, 2, 4 ... s) per retry.

    A warning, not an error: the wait may be what the test is about. With
    ``filterwarnings = error`` expect it with ``pytest.warns(SlowRetryWarning)``.
    """
