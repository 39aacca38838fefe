"""``CompletionScript``: one streamed answer from ``POST /v1/completions``.

The stream is a run of ``CompletionChunk`` objects, ``{"value": "..."}``, the
chunk's only field (``writerai.types.CompletionChunk``; the OpenAPI
``streaming_data`` schema). The defaults follow Writer's streaming guide
(dev.writer.com/home/streaming), whose sample opens with an empty chunk
(``{"value":""}``, which its example code skips with ``if chunk.value:``) and
never shows ``data: [DONE]``; ``writerai`` reads the stream the same with or
without it, so ``done=True`` adds it. The ``stream: false`` answer is
``Completion``: ``{"choices": [{"text": ..., "log_probs": null}], "model": ...}``,
the shape of the API reference's example (no ``id``, ``object`` or ``usage``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import ScriptError
from ..wire.endpoints import COMPLETIONS
from ._values import plain_copy, text_pieces
from .base import Part, ScriptBase, part_pieces, parts_to_yaml, pieces_call, raw_value, value_call
from .faults import Fault

if TYPE_CHECKING:
    from ..wire.endpoints import Endpoint

DEFAULT_MODEL = "palmyra-x5"
"""The model the ``stream: false`` answer names; the SDK has no default, this is its newest model."""


@dataclass(frozen=True)
class CompletionScript(ScriptBase):
    """A streamed text completion, built by chaining calls: ``CompletionScript().text("Hel", "lo")``."""

    kind: ClassVar[str] = "completion"

    model: str = DEFAULT_MODEL
    empty_first: bool = True
    """Open the stream with ``{"value": ""}``, as Writer's streaming guide shows it."""
    done: bool = False
    """End the stream with ``data: [DONE]`` (the guide shows none; the SDK stops at it if sent)."""
    steps: tuple[Part, ...] = ()
    faults: tuple[Fault, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.model, str):
            raise ScriptError(f"CompletionScript model={self.model!r} must be a string.")
        for name in ("empty_first", "done"):
            if not isinstance(getattr(self, name), bool):
                raise ScriptError(f"CompletionScript {name}={getattr(self, name)!r} must be True or False.")
        object.__setattr__(self, "steps", tuple(self.steps))
        object.__setattr__(self, "faults", self._check_faults("CompletionScript(faults=...)"))

    @property
    def endpoint(self) -> Endpoint:
        """``POST /v1/completions``."""
        return COMPLETIONS

    # --- builders ------------------------------------------------------------------------------

    def text(self, *pieces: str) -> CompletionScript:
        """Stream text, one ``{"value": piece}`` chunk per piece."""
        where = f"text({', '.join(map(repr, pieces))})"
        return replace(self, steps=(*self.steps, Part("text", text_pieces(pieces, "text", where))))

    def raw(self, chunk: Mapping[str, Any] | str) -> CompletionScript:
        """Send anything: a dict as compact JSON, a string verbatim as the ``data`` field."""
        return replace(self, steps=(*self.steps, Part("raw", raw_value(chunk))))

    # --- renders -------------------------------------------------------------------------------

    def _sends_done(self) -> bool:
        return self.done

    def _iter_data(self) -> Iterator[dict[str, Any] | str]:
        if self.empty_first:
            yield {"value": ""}
        for part in self.steps:
            if part.key == "text":
                yield from ({"value": piece} for piece in part.value)
            else:
                yield plain_copy(part.value)

    def json_body(self) -> dict[str, Any]:
        """The ``Completion`` JSON: every chunk's ``value`` joined into one choice."""
        text = "".join(c["value"] for c in self.chunks() if isinstance(c.get("value"), str))
        return {"choices": [{"text": text, "log_probs": None}], "model": self.model}

    def describe(self) -> str:
        """A one-line summary for the reply lists in error messages."""
        parts = [f"model={self.model!r}", f"{self._count()} chunks"]
        return self._summary(parts, "text", part_pieces(self.steps, "text"))

    # --- YAML ----------------------------------------------------------------------------------

    def _yaml_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"kind": self.kind, "model": self.model}
        if not self.empty_first:
            doc["empty_first"] = False
        if self.done:
            doc["done"] = True
        doc["steps"] = parts_to_yaml(self.steps)
        return doc

    @classmethod
    def _from_doc(cls, doc: dict[str, Any], where: str) -> CompletionScript:
        cls._check_keys(doc, ("model", "empty_first", "done"), where)
        fields = {
            "model": doc.get("model", DEFAULT_MODEL),
            "empty_first": doc.get("empty_first", True),
            "done": doc.get("done", False),
        }
        return cls._from_parts_doc(doc, where, fields, _YAML_STEPS)


_YAML_STEPS = {"text": pieces_call("text"), "raw": value_call("raw")}
