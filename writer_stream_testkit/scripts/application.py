"""``ApplicationScript``: one streamed answer from a no-code agent, ``POST /v1/applications/{id}``.

Every chunk is ``{"delta": {...}}`` carrying only the field it streams, in the
API reference's key order (``writerai`` type ``ApplicationGenerateContentChunk``;
``delta`` is required, the rest optional). ``title`` and ``content`` are
optional but not nullable in the reference (the Node SDK declares them
``title?: string``), so a chunk that does not carry them leaves them out;
``stages`` is nullable and is ``null`` on a chunk without stages. A research agent interleaves
stage chunks (its "thinking": ``stages: [{"id", "content", "sources"}]``) with
content chunks, which is how the docs' consumer loop reads them
(``if chunk.delta.content: ... elif chunk.delta.stages: ...``). Each builder
call adds its own chunks where it is called. The ``stream: false`` answer is
``ApplicationGenerateContentResponse``, ``{"title", "suggestion"}``: the last
title sent (left out when none was: optional, not nullable) and the content joined. ``data: [DONE]`` is off by default: no
example shows it, and ``writerai`` reads the stream the same.

``ApplicationScript(application_id=None)`` answers a generate request to any
application; with an id, only requests to that application.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import ScriptError
from ..wire.endpoints import application
from ._values import plain_copy, text_pieces
from .base import (
    Part,
    ScriptBase,
    joined,
    kwargs_call,
    part_pieces,
    parts_to_yaml,
    pieces_call,
    raw_value,
    value_call,
)
from .faults import Fault

if TYPE_CHECKING:
    from ..wire.endpoints import Endpoint


@dataclass(frozen=True)
class ApplicationScript(ScriptBase):
    """A streamed application answer: ``ApplicationScript().stage("s1", "Searching").content("Draft")``."""

    kind: ClassVar[str] = "application"

    application_id: str | None = None
    """The application whose generate requests this answers; ``None`` answers any."""
    done: bool = False
    """End the stream with ``data: [DONE]``."""
    steps: tuple[Part, ...] = ()
    faults: tuple[Fault, ...] = ()

    def __post_init__(self) -> None:
        app = self.application_id
        if app is not None and (not isinstance(app, str) or not app or "/" in app or "{" in app):
            raise ScriptError(
                f"ApplicationScript application_id={app!r} must be an application's id (a non-empty string "
                "without '/'), or None to answer a request to any application."
            )
        if not isinstance(self.done, bool):
            raise ScriptError(f"ApplicationScript done={self.done!r} must be True or False.")
        object.__setattr__(self, "steps", tuple(self.steps))
        object.__setattr__(self, "faults", self._check_faults("ApplicationScript(faults=...)"))

    @property
    def endpoint(self) -> Endpoint:
        """``POST /v1/applications/{application_id}``, for this application or any."""
        return application(self.application_id)

    # --- builders ------------------------------------------------------------------------------

    def _add(self, key: str, value: Any) -> ApplicationScript:
        return replace(self, steps=(*self.steps, Part(key, value)))

    def content(self, *pieces: str) -> ApplicationScript:
        """Stream the main text output, one ``delta.content`` chunk per piece."""
        return self._add(
            "content", text_pieces(pieces, "content", f"content({', '.join(map(repr, pieces))})")
        )

    def stage(self, id: str, content: str, *, sources: Sequence[str] | None = None) -> ApplicationScript:
        """One chunk with a ``delta.stages`` entry: a step of the agent's thinking, with the URLs it used."""
        where = f"stage({id!r})"
        if not isinstance(id, str) or not id:
            raise ScriptError(f"{where}: the stage id must be a non-empty string (the API sends a UUID).")
        if not isinstance(content, str):
            raise ScriptError(f"{where}: content={content!r} must be a string.")
        if sources is not None:
            if isinstance(sources, str) or not isinstance(sources, Sequence):
                raise ScriptError(f"{where}: sources must be a list of URLs, not {sources!r}.")
            sources = list(text_pieces(sources, "source", where))
        return self._add("stage", {"id": id, "content": content, "sources": sources})

    def title(self, title: str) -> ApplicationScript:
        """One chunk with ``delta.title``, the name of the output."""
        if not isinstance(title, str):
            raise ScriptError(f"title(): {title!r} must be a string.")
        return self._add("title", title)

    def raw(self, chunk: Mapping[str, Any] | str) -> ApplicationScript:
        """Send anything: a dict as compact JSON, a string verbatim as the ``data`` field."""
        return self._add("raw", raw_value(chunk))

    # --- renders -------------------------------------------------------------------------------

    def _sends_done(self) -> bool:
        return self.done

    def _iter_data(self) -> Iterator[dict[str, Any] | str]:
        for part in self.steps:
            if part.key == "content":
                yield from ({"delta": {"content": p, "stages": None}} for p in part.value)
            elif part.key == "stage":
                yield {"delta": {"stages": [plain_copy(part.value)]}}
            elif part.key == "title":
                yield {"delta": {"title": part.value, "stages": None}}
            else:
                yield plain_copy(part.value)

    def json_body(self) -> dict[str, Any]:
        """The ``ApplicationGenerateContentResponse``: the last title and the whole content."""
        titles = [s.value for s in self.steps if s.key == "title"]
        body: dict[str, Any] = {"title": titles[-1]} if titles else {}
        return {**body, "suggestion": joined(self.steps, "content")}

    def describe(self) -> str:
        """A one-line summary for the reply lists in error messages."""
        parts = [f"application_id={self.application_id!r}", f"{self._count()} chunks"]
        return self._summary(parts, "content", part_pieces(self.steps, "content"))

    # --- YAML ----------------------------------------------------------------------------------

    def _yaml_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"kind": self.kind}
        if self.application_id is not None:
            doc["application_id"] = self.application_id
        if self.done:
            doc["done"] = True
        steps = []
        for part, item in zip(self.steps, parts_to_yaml(self.steps), strict=True):
            if part.key == "stage" and part.value["sources"] is None:
                item = {"stage": {k: v for k, v in part.value.items() if k != "sources"}}
            steps.append(item)
        doc["steps"] = steps
        return doc

    @classmethod
    def _from_doc(cls, doc: dict[str, Any], where: str) -> ApplicationScript:
        cls._check_keys(doc, ("application_id", "done"), where)
        fields = {"application_id": doc.get("application_id"), "done": doc.get("done", False)}
        return cls._from_parts_doc(doc, where, fields, _YAML_STEPS)


_YAML_STEPS = {
    "content": pieces_call("content"),
    "stage": kwargs_call("stage"),
    "title": value_call("title"),
    "raw": value_call("raw"),
}
