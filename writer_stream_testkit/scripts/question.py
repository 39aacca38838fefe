"""``QuestionScript``: one streamed answer from a Knowledge Graph, ``POST /v1/graphs/question``.

Every chunk is a whole ``Question``: ``{"question", "answer", "sources",
"subqueries", "references"}``, where ``answer`` is the next piece of text (a
delta) and the other fields are ``[]``/``null`` unless the chunk carries them.
That is the streaming example of Writer's Knowledge Graph guide
(dev.writer.com/home/kg-query: ``"answer": "The", "sources": [], "subqueries":
null, "references": null``), read by its ``print(chunk.answer)`` loop, and the
key Writer's own framework reads from the raw events (writer-framework,
``writer.ai.Graph.stream_ask``: ``data.get("answer")``). The SDK's type,
``QuestionResponseChunk``, instead wraps the object as ``{"data": Question}``
(from the OpenAPI spec); ``shape="spec"`` sends that, and, as the spec declares
``subqueries`` and ``references`` optional but not nullable (the Node SDK types them
``subqueries?: Array<...>``), leaves them out of a chunk that does not carry them,
where the flat chunk keeps the guide's ``null``. The flat chunk reaches a
``writerai`` user as ``chunk.answer`` (an untyped extra field, ``chunk.data``
is ``None``), and fails only under ``_strict_response_validation=True``.

``sources``, ``subqueries`` and ``references`` each add one chunk with an empty
answer, where they are called, so a test decides where they arrive (the guide
does not say; its first chunk has ``"sources": []``). The ``stream: false``
answer is the ``Question`` the chunks add up to; ``subqueries`` and
``references`` appear in it only when the script sends them, as the API
includes subqueries only when asked. ``data: [DONE]`` is off by default: no
Knowledge Graph example shows it, and ``writerai`` reads the stream the same.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from ..errors import ScriptError
from ..wire.endpoints import QUESTION
from ._values import json_value, plain_copy, text_pieces
from .base import (
    Part,
    ScriptBase,
    compact_json,
    joined,
    kwargs_call,
    list_call,
    part_pieces,
    parts_to_yaml,
    pieces_call,
    raw_value,
    value_call,
)
from .faults import Fault

if TYPE_CHECKING:
    from ..wire.call import Call
    from ..wire.endpoints import Endpoint

SHAPES = ("flat", "spec")

_ASKED = "writer-stream-testkit:asked-question:5f0c"
"""Where the request's question goes in a kept stream: plain ASCII, so JSON and ``repr`` show it as is."""


def _holds(value: object, text: str) -> bool:
    """Whether a string anywhere in ``value`` (steps, dicts, lists) contains ``text``; nothing is copied."""
    if isinstance(value, str):
        return text in value
    if isinstance(value, Part):
        return _holds(value.value, text)
    if isinstance(value, Mapping):
        return any(_holds(k, text) or _holds(v, text) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_holds(v, text) for v in value)
    return False


def _record(
    item: object, required: Mapping[str, type | tuple[type, ...]], what: str, where: str
) -> dict[str, Any]:
    """``item`` as a JSON dict with the required keys of the SDK type ``what``; extra keys are kept."""
    if not isinstance(item, Mapping):
        raise ScriptError(f"{where}: a {what} is a mapping with {', '.join(required)}, not {item!r}.")
    for key, kind in required.items():
        value = item.get(key)
        if isinstance(value, bool) or not isinstance(value, kind):
            raise ScriptError(
                f"{where}: the {what} {dict(item)!r} needs {key} "
                f"({'a number' if kind == (int, float) else 'a string'}), as writerai's {what} type does."
            )
    return dict(json_value(dict(item), where))


def _source(item: object, where: str) -> dict[str, Any]:
    return _record(item, {"file_id": str, "snippet": str}, "Source", where)


def _subquery(item: object, where: str) -> dict[str, Any]:
    out = _record(item, {"query": str, "answer": str}, "Subquery", where)
    sources = out.get("sources", [])
    if not isinstance(sources, list):
        raise ScriptError(f"{where}: a Subquery's sources must be a list of sources, not {sources!r}.")
    out["sources"] = [_source(s, where) for s in sources]
    return out


def _file_reference(item: object, where: str) -> dict[str, Any]:
    if isinstance(item, Mapping) and "file_id" in item and "fileId" not in item:
        # The wire name is fileId (writerai's ReferencesFile alias); accept the Python name too.
        item = {("fileId" if k == "file_id" else k): v for k, v in item.items()}
    return _record(item, {"fileId": str, "score": (int, float), "text": str}, "ReferencesFile", where)


def _web_reference(item: object, where: str) -> dict[str, Any]:
    required: dict[str, type | tuple[type, ...]] = {
        "score": (int, float),
        "text": str,
        "title": str,
        "url": str,
    }
    return _record(item, required, "ReferencesWeb", where)


@dataclass(frozen=True)
class QuestionScript(ScriptBase):
    """A streamed Knowledge Graph answer: ``QuestionScript().answer("Paris", " is", " the capital")``."""

    kind: ClassVar[str] = "question"

    question: str | None = None
    """The question every chunk repeats; ``None`` repeats the request's (``""`` in standalone renders)."""
    shape: Literal["flat", "spec"] = "flat"
    """``"flat"``: the chunk is the ``Question`` (docs, Writer's framework); ``"spec"``: ``{"data": Question}``."""
    done: bool = False
    """End the stream with ``data: [DONE]``."""
    steps: tuple[Part, ...] = ()
    faults: tuple[Fault, ...] = ()

    def __post_init__(self) -> None:
        if self.question is not None and not isinstance(self.question, str):
            raise ScriptError(f"QuestionScript question={self.question!r} must be a string, or None.")
        if self.shape not in SHAPES:
            raise ScriptError(
                f"QuestionScript shape={self.shape!r} is not a chunk shape; use 'flat' (what Writer's docs "
                "show) or 'spec' (the SDK's QuestionResponseChunk, {\"data\": Question})."
            )
        if not isinstance(self.done, bool):
            raise ScriptError(f"QuestionScript done={self.done!r} must be True or False.")
        object.__setattr__(self, "steps", tuple(self.steps))
        object.__setattr__(self, "faults", self._check_faults("QuestionScript(faults=...)"))

    @property
    def endpoint(self) -> Endpoint:
        """``POST /v1/graphs/question``."""
        return QUESTION

    # --- builders ------------------------------------------------------------------------------

    def _add(self, key: str, value: Any) -> QuestionScript:
        return replace(self, steps=(*self.steps, Part(key, value)))

    def answer(self, *pieces: str) -> QuestionScript:
        """Stream the answer, one chunk per piece."""
        return self._add("answer", text_pieces(pieces, "answer", f"answer({', '.join(map(repr, pieces))})"))

    def sources(self, *sources: Mapping[str, Any]) -> QuestionScript:
        """One chunk carrying these ``Source`` objects (``{"file_id", "snippet"}``)."""
        return self._add("sources", [_source(s, "sources()") for s in sources])

    def subqueries(self, *subqueries: Mapping[str, Any]) -> QuestionScript:
        """One chunk carrying these ``Subquery`` objects (``{"query", "answer", "sources"}``)."""
        return self._add("subqueries", [_subquery(s, "subqueries()") for s in subqueries])

    def references(
        self,
        *,
        files: list[Mapping[str, Any]] | None = None,
        web: list[Mapping[str, Any]] | None = None,
    ) -> QuestionScript:
        """One chunk carrying ``References``: file snippets (``fileId``, ``score``, ``text``, ...) and web pages."""
        where = "references()"
        if files is None and web is None:
            raise ScriptError(f"{where}: pass files=[...] and/or web=[...].")
        value: dict[str, Any] = {}
        for name, items, check in (("files", files, _file_reference), ("web", web, _web_reference)):
            if items is None:
                continue
            if not isinstance(items, list):
                raise ScriptError(f"{where}: {name} must be a list, not {items!r}.")
            value[name] = [check(item, where) for item in items]
        return self._add("references", value)

    def raw(self, chunk: Mapping[str, Any] | str) -> QuestionScript:
        """Send anything: a dict as compact JSON, a string verbatim as the ``data`` field."""
        return self._add("raw", raw_value(chunk))

    # --- renders -------------------------------------------------------------------------------

    def _sends_done(self) -> bool:
        return self.done

    def _for_call(self, call: Call) -> QuestionScript:
        asked = call.json.get("question") if isinstance(call.json, dict) else None
        if self.question is None and isinstance(asked, str):
            return replace(self, question=asked)
        return self

    def _spliced(self, call: Call) -> tuple[QuestionScript, tuple[tuple[bytes, bytes], ...]]:
        """Echo the question into one kept stream, made with a placeholder where the question goes."""
        asked = call.json.get("question") if isinstance(call.json, dict) else None
        if self.question is not None or not isinstance(asked, str):
            return self, ()
        template: QuestionScript | None = self.__dict__.get("_asked_template", self)
        if template is self:  # made once: None when the script's own text holds the placeholder
            clash = _holds(self.steps, _ASKED) or _ASKED in repr(self.faults)
            template = None if clash else replace(self, question=_ASKED)
            object.__setattr__(self, "_asked_template", template)
        if template is None:
            return replace(self, question=asked), ()
        return template, ((_ASKED.encode(), compact_json(asked)[1:-1].encode()),)

    def _iter_data(self) -> Iterator[dict[str, Any] | str]:
        question = self.question or ""

        def chunk(answer: str = "", **fields: Any) -> dict[str, Any]:
            body: dict[str, Any] = {"question": question, "answer": answer, "sources": []}
            if self.shape == "flat":
                # The guide's example sends both as null on every chunk.
                body.update(subqueries=None, references=None)
            body.update(fields)
            return body if self.shape == "flat" else {"data": body}

        for part in self.steps:
            if part.key == "answer":
                for piece in part.value:
                    yield chunk(piece)
            elif part.key == "raw":
                yield plain_copy(part.value)
            else:
                yield chunk(**{part.key: plain_copy(part.value)})

    def json_body(self) -> dict[str, Any]:
        """The ``Question`` the chunks add up to: the whole answer and every source sent."""
        body: dict[str, Any] = {
            "question": self.question or "",
            "answer": joined(self.steps, "answer"),
            "sources": [plain_copy(x) for s in self.steps if s.key == "sources" for x in s.value],
        }
        if any(s.key == "subqueries" for s in self.steps):
            body["subqueries"] = [plain_copy(x) for s in self.steps if s.key == "subqueries" for x in s.value]
        references = [s.value for s in self.steps if s.key == "references"]
        if references:
            merged: dict[str, Any] = {}
            for value in references:
                for name, items in value.items():
                    merged.setdefault(name, []).extend(plain_copy(items))
            body["references"] = merged
        return body

    def describe(self) -> str:
        """A one-line summary for the reply lists in error messages."""
        parts = [f"{self._count()} chunks"]
        if self.shape != "flat":
            parts.append(f"shape={self.shape!r}")
        return self._summary(parts, "answer", part_pieces(self.steps, "answer"))

    # --- YAML ----------------------------------------------------------------------------------

    def _yaml_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"kind": self.kind}
        if self.question is not None:
            doc["question"] = self.question
        if self.shape != "flat":
            doc["shape"] = self.shape
        if self.done:
            doc["done"] = True
        doc["steps"] = parts_to_yaml(self.steps)
        return doc

    @classmethod
    def _from_doc(cls, doc: dict[str, Any], where: str) -> QuestionScript:
        cls._check_keys(doc, ("question", "shape", "done"), where)
        fields = {
            "question": doc.get("question"),
            "shape": doc.get("shape", "flat"),
            "done": doc.get("done", False),
        }
        return cls._from_parts_doc(doc, where, fields, _YAML_STEPS)


_YAML_STEPS = {
    "answer": pieces_call("answer"),
    "sources": list_call("sources"),
    "subqueries": list_call("subqueries"),
    "references": kwargs_call("references"),
    "raw": value_call("raw"),
}
