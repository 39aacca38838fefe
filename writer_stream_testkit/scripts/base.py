"""What every streaming script shares: faults, renders, the endpoint it answers, the YAML envelope.

``StreamScript`` (chat), ``CompletionScript``, ``QuestionScript`` and
``ApplicationScript`` differ only in the chunks they build and in the
non-streaming JSON they assemble from them. Everything else lives here once:
chunks to SSE frames, frames and faults to a :class:`ResponsePlan` (through
``render.apply_faults``), ``stream: true`` versus ``stream: false``, reading and
writing the YAML form with its faults, the loop that reads YAML steps through a
kind's call table (the chat's too), and the step list the three newer scripts
keep (``Part``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

from typing_extensions import Self

from ..errors import ScriptError
from ._values import json_value
from .faults import DataAfterDone, Delay, Fault, Frame, MissingDone, check_faults, fault_from_yaml
from .plan import ResponsePlan
from .render import EncodedFrames, done_frame, json_plan

if TYPE_CHECKING:
    from ..wire.call import Call
    from ..wire.endpoints import Endpoint

__all__ = ["Part", "ScriptBase", "compact_json", "read_yaml"]


_COMPACT_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
"""One encoder for every frame: building one per call costs as much as the encoding."""


def compact_json(value: Any) -> str:
    """JSON as the API sends it: no spaces, UTF-8 kept."""
    return _COMPACT_JSON.encode(value)


def read_yaml(source: str | os.PathLike[str], *, where: str | None = None) -> tuple[Any, str]:
    """YAML text or a file (a path, or a one-line string ending in .yaml/.yml), safely loaded.

    Returns the document and where it came from, for error messages (``where``
    names text from elsewhere, such as a control request's body). Only plain
    data is accepted: ``yaml.safe_load`` refuses tags such as ``!!python/object``;
    aliases are bounded as a cassette's are (``ALIAS_EXPANSION_LIMIT``), so a
    few hundred bytes cannot stand for gigabytes.
    """
    # here, not at the top: a script built in code (the common case) never needs the YAML library
    import yaml

    from .._yaml_bounds import ALIAS_EXPANSION_LIMIT, alias_expansion

    if isinstance(source, os.PathLike) or ("\n" not in source and source.strip().endswith((".yaml", ".yml"))):
        path = Path(source)
        where = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ScriptError(f"Cannot read the script file {where}: {exc.strerror or exc}.") from None
        except UnicodeDecodeError as exc:
            raise ScriptError(
                f"Cannot read the script file {where}: it is not UTF-8 text ({exc}); save it as UTF-8."
            ) from None
    else:
        text, where = source, where or "<script YAML>"
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, where
        if alias_expansion(node) > ALIAS_EXPANSION_LIMIT:
            raise ScriptError(
                f"{where} uses YAML aliases that stand for more than {ALIAS_EXPANSION_LIMIT:,} characters "
                "of data; files whose aliases expand that far are refused, since reading them would take "
                "unbounded memory. Write the values out instead of using aliases."
            )
        return loader.construct_document(node), where
    except yaml.constructor.ConstructorError as exc:
        raise ScriptError(
            f"{where}: {exc.problem} {exc.problem_mark or ''}. Script files are plain data and are "
            "loaded with yaml.safe_load, which refuses Python tags like !!python/object; remove the tag."
        ) from None
    except yaml.YAMLError as exc:
        raise ScriptError(f"{where}: not valid YAML ({exc}).") from None
    except RecursionError:  # PyYAML composes and constructs recursively
        raise ScriptError(
            f"{where} nests lists or mappings too deeply to read (more than Python's recursion allows); "
            "no script needs that many levels, so write it flatter."
        ) from None
    finally:
        loader.dispose()


class ScriptBase:
    """The shared half of every streaming script (a mixin for frozen dataclasses).

    A subclass provides ``_iter_data()`` (the chunk payloads in order), ``json_body()``
    (the ``stream: false`` answer), ``endpoint``, ``_yaml_doc()`` and ``_from_doc()``.
    """

    kind: ClassVar[str]
    """The script's name in YAML (``kind: completion``) and in ``serve --script`` files."""

    faults: tuple[Fault, ...]

    # --- what a subclass provides ---------------------------------------------------------------

    @property
    def endpoint(self) -> Endpoint:
        """The request this script answers: a method and a path below the base URL."""
        raise NotImplementedError

    def _iter_data(self) -> Iterator[dict[str, Any] | str]:
        """Every data payload in order, one at a time (chunk dicts, and raw strings as given),
        so a long stream is made as it is sent, never held whole."""
        raise NotImplementedError

    def _data(self) -> list[dict[str, Any] | str]:
        """Every data payload in order, as a list."""
        return list(self._iter_data())

    def json_body(self) -> Any:
        """The non-streaming JSON answer with the same content, for ``stream: false``."""
        raise NotImplementedError

    def _sends_done(self) -> bool:
        """Whether ``data: [DONE]`` ends the stream."""
        return True

    def _for_call(self, call: Call) -> Self:
        """The script as it answers ``call``: the place to echo parts of the request."""
        return self

    def _spliced(self, call: Call) -> tuple[Self, tuple[tuple[bytes, bytes], ...]]:
        """The script whose kept stream answers ``call``, and the ``(placeholder, value)`` bytes to
        swap into it; a script that echoes the request overrides this to reuse one stream for all."""
        return self._for_call(call), ()

    def _yaml_doc(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def _from_doc(cls, doc: dict[str, Any], where: str) -> Self:
        raise NotImplementedError

    # --- faults ---------------------------------------------------------------------------------

    def _check_faults(self, where: str) -> tuple[Fault, ...]:
        faults = check_faults(self.faults, where)
        if not self._sends_done():
            for fault in faults:
                if isinstance(fault, (MissingDone, DataAfterDone)):
                    raise ScriptError(
                        f"{where}: Fault.{fault.name}() changes the data: [DONE] line, but this "
                        f"{type(self).__name__} ends without one (done=False); build it with done=True, "
                        "or leave the fault out."
                    )
        return faults

    def with_fault(self, *faults: Fault) -> Self:
        """The same script delivered with these faults (see ``faults`` for how they compose)."""
        return replace(self, faults=check_faults(self.faults + tuple(faults)))  # type: ignore[type-var]

    # --- renders --------------------------------------------------------------------------------

    def chunks(self) -> list[dict[str, Any]]:
        """The chunk dicts in order. Raw strings that are JSON objects are included, parsed;
        other raw strings are not chunks and appear only in the SSE bytes."""
        out: list[dict[str, Any]] = []
        for data in self._iter_data():
            if isinstance(data, str):
                try:
                    parsed = json.loads(data)
                except ValueError:
                    continue
                if isinstance(parsed, dict):
                    out.append(parsed)
            else:
                out.append(data)
        return out

    def _count(self) -> int:
        """How many data payloads the stream sends, counted without keeping them."""
        return sum(1 for _ in self._iter_data())

    def frames(self) -> list[Frame]:
        """The SSE blocks before faults: one per chunk, then ``[DONE]`` if the stream sends it."""
        return list(self._iter_frames())

    def _iter_frames(self) -> Iterator[Frame]:
        encode = _COMPACT_JSON.encode
        for d in self._iter_data():
            yield Frame(data=d if isinstance(d, str) else encode(d))
        if self._sends_done():
            yield done_frame()

    def _kinds(self) -> Iterator[str]:
        """The frames' kinds without building them (no JSON): all a fault check needs up front."""
        for _ in self._iter_data():
            yield "chunk"
        if self._sends_done():
            yield "done"

    def sse(self, newline: str = "\n") -> bytes:
        """The exact response body without faults: ``data: {json}`` blocks (then ``data: [DONE]``)."""
        if newline not in ("\n", "\r", "\r\n"):
            raise ScriptError(f'sse(newline={newline!r}): use "\\n", "\\r" or "\\r\\n".')
        return b"".join(f.encode(newline) for f in self.frames())

    def _encoded(self) -> EncodedFrames:
        """This script's SSE blocks, encoded once and reused by every response (see ``EncodedFrames``)."""
        encoded: EncodedFrames | None = self.__dict__.get("_encoded_frames")
        if encoded is None:
            encoded = EncodedFrames(self._iter_frames, self._kinds)
            # A cache beside the frozen fields: not a field, so equality and replace() ignore it.
            object.__setattr__(self, "_encoded_frames", encoded)
        return encoded

    def stream_plan(self) -> ResponsePlan:
        """The ``stream: true`` response, faults applied."""
        return self._encoded().plan(self.faults)

    def json_plan(self) -> ResponsePlan:
        """The ``stream: false`` response: the JSON answer, with replacing faults and delays."""
        return json_plan(compact_json(self.json_body()).encode(), self.faults)

    def plan(self, call: Call) -> ResponsePlan:
        """The response to ``call``: SSE if it asked for ``stream: true``, JSON otherwise."""
        if call.stream:
            script, swap = self._spliced(call)
            return script._encoded().plan(script.faults, swap)
        script = self._for_call(call)
        stream_only = [f for f in script.faults if not f.replaces and not isinstance(f, Delay)]
        if stream_only and not any(f.replaces for f in script.faults):
            listed = ", ".join(f.describe() for f in stream_only)
            raise ScriptError(
                f"This {type(script).__name__} carries {listed}, which only a streaming response can show, but "
                f"{call.describe()} did not ask for a stream, so it would get the whole answer unbroken. "
                "Make the request with stream=True (or the SDK's .stream(...) helper), or give this "
                "request a fault that replaces the response (Fault.http_error, Fault.connection_refused)."
            )
        return script.json_plan()

    def _describe_faults(self) -> list[str]:
        return ["faults: " + ", ".join(f.describe() for f in self.faults)] if self.faults else []

    def _summary(self, parts: list[str], label: str, pieces: Iterable[str]) -> str:
        """``Name(parts..., label='text', faults: ...)``: the one-line form of ``describe()``.

        Only the first 41 characters of the pieces are joined: a reply may be megabytes.
        """
        text = _prefix(pieces, 41)
        if text:
            parts = [*parts, f"{label}={text if len(text) <= 40 else text[:37] + '...'!r}"]
        return f"{type(self).__name__}({', '.join(parts + self._describe_faults())})"

    # --- YAML -----------------------------------------------------------------------------------

    def to_yaml(self) -> str:
        """The readable YAML form; ``from_yaml`` reads it back to an equal script."""
        import yaml

        from ._yaml_dump import ScriptDumper

        doc = self._yaml_doc()
        if self.faults:
            doc["faults"] = [f.to_yaml_item() for f in self.faults]
        return yaml.dump(doc, Dumper=ScriptDumper, sort_keys=False, allow_unicode=True, width=100)

    @classmethod
    def from_yaml(cls, source: str | os.PathLike[str]) -> Self:
        """Read a script from YAML text or a file (a path, or a one-line string ending in .yaml/.yml).

        Only plain data is accepted (``yaml.safe_load``): tags such as ``!!python/object``
        are refused.
        """
        doc, where = read_yaml(source)
        return cls._from_checked_doc(doc, where)

    @classmethod
    def _from_checked_doc(cls, doc: object, where: str) -> Self:
        if not isinstance(doc, dict):
            raise ScriptError(
                f"{where}: a script is a mapping with model and steps, not {type(doc).__name__}."
            )
        kind = doc.get("kind", cls.kind)
        if kind != cls.kind:
            raise ScriptError(
                f"{where}: this is a {kind!r} script, not a {cls.kind!r} one; load it with "
                f"{_CLASS_NAMES.get(str(kind), 'the class for that kind')}.from_yaml, or "
                "writer_stream_testkit.scripts.load.script_from_yaml, which reads every kind."
            )
        return cls._from_doc({k: v for k, v in doc.items() if k != "kind"}, where)

    @classmethod
    def _check_keys(cls, doc: Mapping[str, Any], known: Sequence[str], where: str) -> None:
        unknown = sorted(set(map(str, doc)) - {*known, "kind", "steps", "faults"})
        if unknown:
            allowed = ", ".join(sorted({*known, "kind", "steps", "faults"}))
            raise ScriptError(
                f"{where}: unknown key {', '.join(unknown)}; a {cls.kind} script has {allowed}."
            )

    @classmethod
    def _from_parts_doc(
        cls, doc: Mapping[str, Any], where: str, fields: Mapping[str, Any], calls: Mapping[str, YamlCall]
    ) -> Self:
        """A script from its YAML document: built, its steps replayed through ``calls``, its faults added.

        Every kind reads its steps here, the chat (``chat_yaml.CHAT_STEPS``) as the rest.
        """
        try:
            script = cls(**fields)
        except ScriptError as exc:
            raise ScriptError(f"{where}: {exc}") from None
        return parts_from_yaml(script, doc.get("steps"), calls, where)._with_yaml_faults(doc, where)

    def _with_yaml_faults(self, doc: Mapping[str, Any], where: str) -> Self:
        faults = doc.get("faults") or []
        if not isinstance(faults, list):
            raise ScriptError(f"{where}: faults must be a list, not {faults!r}.")
        built = [fault_from_yaml(item, f"{where}, fault {i}") for i, item in enumerate(faults, start=1)]
        try:
            return self.with_fault(*built)
        except ScriptError as exc:
            raise ScriptError(f"{where}: {exc}") from None


_CLASS_NAMES = {
    "chat": "StreamScript",
    "completion": "CompletionScript",
    "question": "QuestionScript",
    "application": "ApplicationScript",
    "json": "JsonReply",
}


# --- Parts: the step list of the completion, question and application scripts ----------------------


@dataclass(frozen=True)
class Part:
    """One builder call: its name and its arguments as plain data (the YAML form of the step).

    ``value`` is a tuple of strings for piece steps (``text``, ``answer``,
    ``content``), otherwise the JSON value the builder was given.
    """

    key: str
    value: Any


_S = TypeVar("_S")

YamlCall = Callable[[Any, Any], Any]
"""How a YAML step calls its builder: ``(script, value) -> script``."""


def pieces_call(name: str) -> YamlCall:
    """A step whose value is a list of pieces: ``text: [Hel, lo]`` calls ``.text("Hel", "lo")``."""

    def call(script: Any, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise ScriptError(f"{name} takes a list of text pieces, not {value!r}.")
        return getattr(script, name)(*value)

    return call


def list_call(name: str) -> YamlCall:
    """A step whose value is a list of items passed as arguments: ``sources: [{...}, {...}]``."""

    def call(script: Any, value: Any) -> Any:
        if not isinstance(value, list):
            raise ScriptError(f"{name} takes a list, not {value!r}.")
        return getattr(script, name)(*value)

    return call


def kwargs_call(name: str) -> YamlCall:
    """A step whose value is a mapping of keyword arguments: ``stage: {id: s1, content: ...}``."""

    def call(script: Any, value: Any) -> Any:
        if not isinstance(value, dict):
            raise ScriptError(f"{name} takes a mapping of its arguments, not {value!r}.")
        try:
            return getattr(script, name)(**{str(k): v for k, v in value.items()})
        except TypeError as exc:
            raise ScriptError(f"{name} got arguments it does not take ({exc}).") from None

    return call


def value_call(name: str) -> YamlCall:
    """A step whose value is the one argument: ``title: Research``, ``raw: {...}``."""

    def call(script: Any, value: Any) -> Any:
        return getattr(script, name)(value)

    return call


def part_pieces(parts: Sequence[Part], key: str) -> Iterator[str]:
    """The pieces of every step named ``key``, in order."""
    return (piece for part in parts if part.key == key for piece in part.value)


def joined(parts: Sequence[Part], key: str) -> str:
    """The text of every piece step named ``key``, joined."""
    return "".join(part_pieces(parts, key))


def _prefix(pieces: Iterable[str], size: int) -> str:
    """The first ``size`` characters of the pieces joined, without joining them all."""
    out: list[str] = []
    length = 0
    for piece in pieces:
        out.append(piece[: size - length])
        length += len(out[-1])
        if length >= size:
            break
    return "".join(out)


def parts_to_yaml(parts: Sequence[Part]) -> list[Any]:
    """The steps as YAML items: ``{key: value}``, pieces as a list."""
    return [{p.key: list(p.value) if isinstance(p.value, tuple) else p.value} for p in parts]


def parts_from_yaml(script: _S, steps: object, calls: Mapping[str, YamlCall], where: str) -> _S:
    """Replay YAML steps through the builders, naming the step of any problem."""
    if steps is None:
        return script
    if not isinstance(steps, list):
        raise ScriptError(f"{where}: steps must be a list, not {steps!r}.")
    for i, item in enumerate(steps, start=1):
        if not isinstance(item, dict) or len(item) != 1:
            raise ScriptError(
                f"{where}, step {i}: a step is a one-key mapping such as {{{next(iter(calls))}: ...}}, "
                f"not {item!r}."
            )
        ((key, value),) = item.items()
        call = calls.get(str(key))
        if call is None:
            raise ScriptError(
                f"{where}, step {i} ({key}): unknown step {key!r}; use one of {', '.join(calls)}."
            )
        try:
            script = cast(_S, call(script, value))
        except ScriptError as exc:
            raise ScriptError(f"{where}, step {i} ({key}): {exc}") from None
    return script


def raw_value(chunk: object, where: str = "raw()") -> Any:
    """A ``raw`` step's value: a dict sent as compact JSON, a string sent verbatim."""
    if isinstance(chunk, str):
        return chunk
    if not isinstance(chunk, Mapping):
        raise ScriptError(f"{where}: {chunk!r} is neither a chunk dict nor a data string.")
    return json_value(dict(chunk), where)
