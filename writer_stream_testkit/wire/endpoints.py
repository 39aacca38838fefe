"""The Writer API's endpoints: which method and path each reply answers.

A reply in a double answers one endpoint, a method and a path below the base
URL. Scripts know theirs (``StreamScript`` answers ``POST /v1/chat``); any other
reply is routed with ``path=`` and ``method=``. The tables below list every
route ``writerai`` 3.0.0 calls (its ``resources/`` modules) and the ones only
2.x calls, so ``method=`` can be left out when the path has only one method in
the API, whichever SDK the app uses.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from ..errors import ScriptError

__all__ = [
    "ANY",
    "CHAT",
    "COMPLETIONS",
    "JSON_BODY_ENDPOINTS",
    "QUESTION",
    "WRITER_2_ROUTES",
    "WRITER_ROUTES",
    "Endpoint",
    "application",
    "endpoint_for",
]


@dataclass(frozen=True)
class Endpoint:
    """A method and a path pattern below the base URL; ``{name}`` matches one path segment.

    ``"*"`` as the method or the path matches any.
    """

    method: str
    path: str
    _pattern: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "method", self.method.upper())

    def matches(self, method: str, path: str) -> bool:
        """Whether a request with this method and path (below the base URL) is this endpoint."""
        if self.method != "*" and method.upper() != self.method:
            return False
        if self.path == "*":
            return True
        pattern = self._pattern
        if pattern is None:  # compiled on first use: the route tables hold about 40 endpoints
            parts = [
                "[^/]+" if re.fullmatch(r"\{[^/{}]*\}", seg) else re.escape(seg)
                for seg in self.path.split("/")
            ]
            pattern = re.compile("/".join(parts))
            object.__setattr__(self, "_pattern", pattern)
        return pattern.fullmatch(path) is not None

    def describe(self) -> str:
        """``POST /v1/chat``, or ``any request`` for the catch-all."""
        if self.method == "*" and self.path == "*":
            return "any request"
        method = "any method" if self.method == "*" else self.method
        return f"{method} {'any path' if self.path == '*' else self.path}"

    def __str__(self) -> str:
        return self.describe()


CHAT = Endpoint("POST", "/v1/chat")
COMPLETIONS = Endpoint("POST", "/v1/completions")
QUESTION = Endpoint("POST", "/v1/graphs/question")
ANY = Endpoint("*", "*")


def application(application_id: str | None) -> Endpoint:
    """``POST /v1/applications/{application_id}``: one application, or any when ``None``."""
    return Endpoint(
        "POST", f"/v1/applications/{'{application_id}' if application_id is None else application_id}"
    )


WRITER_ROUTES: tuple[Endpoint, ...] = tuple(
    Endpoint(method, path)
    for method, path in (
        ("GET", "/v1/applications"),
        ("GET", "/v1/applications/{application_id}"),
        ("POST", "/v1/applications/{application_id}"),
        ("GET", "/v1/applications/{application_id}/graphs"),
        ("PUT", "/v1/applications/{application_id}/graphs"),
        ("GET", "/v1/applications/{application_id}/jobs"),
        ("POST", "/v1/applications/{application_id}/jobs"),
        ("GET", "/v1/applications/jobs/{job_id}"),
        ("POST", "/v1/applications/jobs/{job_id}/retry"),
        ("POST", "/v1/chat"),
        ("POST", "/v1/completions"),
        ("GET", "/v1/files"),
        ("POST", "/v1/files"),
        ("POST", "/v1/files/retry"),
        ("GET", "/v1/files/{file_id}"),
        ("DELETE", "/v1/files/{file_id}"),
        ("GET", "/v1/files/{file_id}/download"),
        ("GET", "/v1/graphs"),
        ("POST", "/v1/graphs"),
        ("POST", "/v1/graphs/question"),
        ("GET", "/v1/graphs/{graph_id}"),
        ("PUT", "/v1/graphs/{graph_id}"),
        ("DELETE", "/v1/graphs/{graph_id}"),
        ("POST", "/v1/graphs/{graph_id}/file"),
        ("DELETE", "/v1/graphs/{graph_id}/file/{file_id}"),
        ("GET", "/v1/models"),
        ("POST", "/v1/tools/pdf-parser/{file_id}"),
        ("POST", "/v1/tools/web-search"),
        ("POST", "/v1/translation"),
        ("POST", "/v1/vision"),
    )
)
"""Every route ``writerai`` 3.0.0 calls, as (method, path template)."""

SDK_CALLS: dict[tuple[str, str], str] = {
    ("GET", "/v1/applications/{application_id}"): "client.applications.retrieve",
    ("POST", "/v1/applications/{application_id}"): "client.applications.generate_content",
    ("GET", "/v1/applications/{application_id}/graphs"): "client.applications.graphs.list",
    ("PUT", "/v1/applications/{application_id}/graphs"): "client.applications.graphs.update",
    ("GET", "/v1/applications/{application_id}/jobs"): "client.applications.jobs.list",
    ("POST", "/v1/applications/{application_id}/jobs"): "client.applications.jobs.create",
    ("GET", "/v1/files"): "client.files.list",
    ("POST", "/v1/files"): "client.files.upload",
    ("GET", "/v1/files/{file_id}"): "client.files.retrieve",
    ("DELETE", "/v1/files/{file_id}"): "client.files.delete",
    ("GET", "/v1/graphs"): "client.graphs.list",
    ("POST", "/v1/graphs"): "client.graphs.create",
    ("GET", "/v1/graphs/{graph_id}"): "client.graphs.retrieve",
    ("PUT", "/v1/graphs/{graph_id}"): "client.graphs.update",
    ("DELETE", "/v1/graphs/{graph_id}"): "client.graphs.delete",
}
"""The ``writerai`` call behind each method of a path the API serves with several, named in messages."""

WRITER_2_ROUTES: tuple[Endpoint, ...] = tuple(
    Endpoint(method, path)
    for method, path in (
        ("POST", "/v1/tools/ai-detect"),
        ("POST", "/v1/tools/comprehend/medical"),
        ("POST", "/v1/tools/context-aware-splitting"),
    )
)
"""The routes ``writerai`` 2.x (2.4.0) calls that 3.0.0 dropped; every other 2.4.0 route is in 3.0.0's table."""

_KNOWN_ROUTES = WRITER_ROUTES + WRITER_2_ROUTES

JSON_BODY_ENDPOINTS: tuple[Endpoint, ...] = (CHAT, COMPLETIONS, QUESTION, application(None))
"""The streaming endpoints: their requests are one JSON object, or the API answers 400."""

_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "*")


def _as_concrete(path: str) -> str:
    """A template's parameters as sample segments, so it can be matched against the table."""
    return re.sub(r"\{[^/{}]*\}", "x", path)


def endpoint_for(path: str, method: str | None = None, *, what: str = "the reply") -> Endpoint:
    """The endpoint ``reply(..., path=, method=)`` routes to; the method is inferred when the API has one.

    Raises ``ScriptError`` for a path that is not a path, a method that is not
    one, and a path the Writer API answers with several methods (or none that
    the kit knows) when no ``method=`` is given.
    """
    if not isinstance(path, str) or not (path == "*" or path.startswith("/")) or "?" in path or "#" in path:
        raise ScriptError(
            f"Cannot route {what} to path={path!r}: pass the path below the base URL, starting with '/', "
            "without a query string (match the query with match=...), such as path='/v1/models'; "
            "or path='*' for any path."
        )
    if method is not None:
        if not isinstance(method, str) or method.upper() not in _METHODS:
            raise ScriptError(f"Cannot route {what} to method={method!r}: use one of {', '.join(_METHODS)}.")
        return Endpoint(method, path)
    if path == "*":
        return ANY
    sample = _as_concrete(path)
    # A literal route wins over a template: /v1/graphs/question is POST, not /v1/graphs/{graph_id}.
    routes = [r for r in _KNOWN_ROUTES if _as_concrete(r.path) == sample] or [
        r for r in _KNOWN_ROUTES if r.matches(r.method, sample)
    ]
    methods = sorted({route.method for route in routes})
    if len(methods) == 1:
        return Endpoint(methods[0], path)
    if not methods:
        close = difflib.get_close_matches(path, sorted({r.path for r in _KNOWN_ROUTES}), n=1, cutoff=0.6)
        guess = f" Did you mean path={close[0]!r}?" if close else ""
        raise ScriptError(
            f"Cannot route {what} to path={path!r}: the Writer API has no such path that the kit knows.{guess} "
            "Fix the path, or pass method= too (such as method='POST') to answer it anyway."
        )
    template = routes[0].path
    uses = [f"{m} ({SDK_CALLS[(m, template)]})" if (m, template) in SDK_CALLS else m for m in methods]
    example = "POST" if "POST" in methods else methods[0]
    call = SDK_CALLS.get((example, template))
    raise ScriptError(
        f"Cannot tell which method {what} for path={path!r} answers: the Writer API serves that path "
        f"with {' and '.join(uses)}. Pass method= too, such as method={example!r}"
        + (f" for {call}." if call else ".")
    )
