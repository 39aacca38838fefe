"""The error class writerai raises for each HTTP status: the oracle the kit's table and its clients are both held to."""

from __future__ import annotations

from writer_stream_testkit import errors

STATUS_CLASSES: list[tuple[int, type[errors.APIStatusError]]] = [
    (400, errors.BadRequestError),
    (401, errors.AuthenticationError),
    (403, errors.PermissionDeniedError),
    (404, errors.NotFoundError),
    (409, errors.ConflictError),
    (422, errors.UnprocessableEntityError),
    (429, errors.RateLimitError),
    (500, errors.InternalServerError),
    (503, errors.InternalServerError),
    (529, errors.InternalServerError),  # any 5xx
    (418, errors.APIStatusError),  # a status without a class of its own
    (402, errors.APIStatusError),
    (302, errors.APIStatusError),  # a redirect the client does not follow
]
"""(status, class) pairs, written out rather than derived from ``errors.status_error_class``."""
