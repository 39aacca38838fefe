"""``StreamScript``: one streamed Writer chat response, built step by step.

A script is a frozen value: every builder call returns a new script with one
or more chunks added, so a base script can be shared and extended per test.
It renders to the chunk dicts, to exact SSE bytes, to the non-streaming
``ChatCompletion`` JSON, and (with its faults) to a ``ResponsePlan``.

The chunks look like the real API's. Every chunk carries the same ``id``,
``created``, ``model`` and ``system_fingerprint``; each chunk carries one
choice, in the order the builder calls were made (so ``choice=`` interleaves
choices as ``n > 1`` streams do); every delta has ``role: "assistant"``, as
Writer's API sends it and Writer's own integrations (``langchain-writer``)
need it, or only the first delta of each choice with ``role_on="first"``, the
OpenAI convention; each choice not finished explicitly gets a finish chunk
(``tool_calls`` if it made tool calls, else ``stop``) after the last step,
ahead of any trailing usage chunks; ``data: [DONE]`` ends the stream. Defaults
are fixed, so the same script always renders the same bytes; docs/scripts.md
says where each one comes from.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Literal

from ..errors import ScriptError
from ..wire.endpoints import CHAT, Endpoint
from ._values import choice_index, json_value, plain_copy, text_pieces
from .assemble import empty_choice, finish_choice, fold_delta
from .base import ScriptBase
from .chat_yaml import CHAT_STEPS, steps_to_yaml
from .faults import Fault
from .logprobs import PieceLogprobs, TokenSpec, piece_logprobs, token_list
from .steps import (
    ChatStep,
    ContentStep,
    DataStep,
    FinishStep,
    LogprobsStep,
    RawStep,
    RefusalStep,
    ToolCallStep,
    UsageStep,
    default_call_id,
    step_choice,
)

DEFAULT_MODEL = "palmyra-x5"
DEFAULT_ID = "ceb949de-0ba5-54de-ba8e-7fd19334faa5"  # uuid5(NAMESPACE_URL, "writer-stream-testkit")
DEFAULT_CREATED = 1735689600  # 2025-01-01T00:00:00Z: fixed, so renders are reproducible
DEFAULT_SYSTEM_FINGERPRINT = "v1"
FINISH_REASONS = ("stop", "length", "content_filter", "tool_calls")
ROLE_ON = ("every", "first")

# --- The script ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class StreamScript(ScriptBase):
    """A streamed chat response, built by chaining calls; see the module docstring for the rules."""

    kind: ClassVar[str] = "chat"

    model: str = DEFAULT_MODEL
    id: str = DEFAULT_ID
    created: int = DEFAULT_CREATED
    n: int | None = None
    """How many choices the response has; by default, one more than the highest ``choice=`` used."""
    system_fingerprint: str | None = DEFAULT_SYSTEM_FINGERPRINT
    """Sent on every chunk; ``None`` leaves the field out."""
    auto_finish: bool = True
    """Add a finish chunk for every choice the script does not finish itself."""
    role_on: Literal["every", "first"] = "every"
    """Which deltas carry ``role: "assistant"``: ``"every"`` one, as Writer's API sends them, or
    only the ``"first"`` of each choice, the OpenAI convention, for OpenAI-compatible code."""
    steps: tuple[ChatStep, ...] = ()
    faults: tuple[Fault, ...] = ()

    def __post_init__(self) -> None:
        for name in ("model", "id"):
            if not isinstance(getattr(self, name), str):
                raise ScriptError(f"StreamScript {name}={getattr(self, name)!r} must be a string.")
        if self.system_fingerprint is not None and not isinstance(self.system_fingerprint, str):
            raise ScriptError(
                f"StreamScript system_fingerprint={self.system_fingerprint!r} must be a string, or None "
                "to leave the field out."
            )
        if self.role_on not in ROLE_ON:
            raise ScriptError(
                f'StreamScript role_on={self.role_on!r} is not a choice; use "every" (role on every '
                'delta, as Writer\'s API sends it) or "first" (the first delta of each choice only, '
                "the OpenAI convention)."
            )
        if isinstance(self.created, bool) or not isinstance(self.created, int):
            raise ScriptError(f"StreamScript created={self.created!r} must be a Unix timestamp in seconds.")
        if self.n is not None:
            if isinstance(self.n, bool) or not isinstance(self.n, int) or self.n < 1:
                raise ScriptError(f"StreamScript n={self.n!r} must be a whole number of choices, at least 1.")
            used = max((c for c in map(step_choice, self.steps) if c is not None), default=0)
            if used >= self.n:
                raise ScriptError(
                    f"StreamScript has n={self.n} choices but a step uses choice={used}; "
                    f"raise n to {used + 1} or use choices 0 to {self.n - 1}."
                )
        object.__setattr__(self, "steps", tuple(self.steps))
        object.__setattr__(self, "faults", self._check_faults("StreamScript(faults=...)"))

    # --- builders ------------------------------------------------------------------------------

    def _add(self, *steps: ChatStep) -> StreamScript:
        for step in steps:
            choice = step_choice(step)
            if choice is None:
                continue
            if self.n is not None and choice >= self.n:
                raise ScriptError(
                    f"{step.key}(choice={choice}) is out of range for a script with n={self.n} choices; "
                    f"use a choice from 0 to {self.n - 1}, or build the script with a larger n."
                )
            if any(isinstance(s, FinishStep) and s.choice == choice for s in self.steps):
                raise ScriptError(
                    f"{step.key}(choice={choice}) comes after finish() for choice {choice}, but a "
                    "finished choice sends nothing more; move the step before finish(), or use "
                    ".raw(...) to send an out-of-order chunk on purpose."
                )
        return replace(self, steps=self.steps + steps)

    def content(
        self, *pieces: str, choice: int = 0, logprobs: Sequence[PieceLogprobs] | None = None
    ) -> StreamScript:
        """Stream text, one chunk per piece; ``logprobs`` has one entry per piece."""
        where = f"content({', '.join(map(repr, pieces))})"
        text = text_pieces(pieces, "content", where)
        return self._add(
            ContentStep(text, choice_index(choice, where), piece_logprobs(text, logprobs, where))
        )

    def refusal(
        self, *pieces: str, choice: int = 0, logprobs: Sequence[PieceLogprobs] | None = None
    ) -> StreamScript:
        """Stream a refusal, one chunk per piece, as structured-output requests may get."""
        where = f"refusal({', '.join(map(repr, pieces))})"
        text = text_pieces(pieces, "refusal", where)
        return self._add(
            RefusalStep(text, choice_index(choice, where), piece_logprobs(text, logprobs, where))
        )

    def tool_call(
        self,
        name: str,
        argument_pieces: Sequence[str] | str | Mapping[str, Any] = (),
        *,
        id: str | None = None,
        index: int | None = None,
        choice: int = 0,
    ) -> StreamScript:
        """Stream a function call: a header chunk (id, name) then one chunk per argument piece.

        A string is one piece; a dict is sent as one piece of compact JSON. Parallel calls
        get the next ``index``; pass an ``index`` already used in the choice to continue
        that call, so the arguments of parallel calls can interleave.
        """
        where = f"tool_call({name!r})"
        if not isinstance(name, str) or not name:
            raise ScriptError(f"{where}: the function name must be a non-empty string.")
        choice = choice_index(choice, where)
        if isinstance(argument_pieces, str):
            arguments: tuple[str, ...] = (argument_pieces,)
        elif isinstance(argument_pieces, Mapping):
            arguments = (json.dumps(json_value(argument_pieces, where), separators=(",", ":")),)
        else:
            arguments = text_pieces(argument_pieces, "argument", where)
        opened = {
            s.index: s for s in self.steps if isinstance(s, ToolCallStep) and s.choice == choice and s.opens
        }
        if index is None:
            index = max(opened, default=-1) + 1
        elif isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise ScriptError(f"{where}: index={index!r} must be a whole number, 0 or more.")
        first = opened.get(index)
        if first is not None:
            if first.name != name or (id is not None and id != first.id):
                raise ScriptError(
                    f"{where}: index {index} of choice {choice} is already the call "
                    f"{first.name!r} (id {first.id!r}); continue it with the same name, or use a new index."
                )
            return self._add(ToolCallStep(name, arguments, first.id, index, choice, opens=False))
        if id is None:
            id = default_call_id(choice, index)
        elif not isinstance(id, str) or not id:
            raise ScriptError(f"{where}: id={id!r} must be a non-empty string.")
        return self._add(ToolCallStep(name, arguments, id, index, choice))

    def logprobs(
        self,
        *,
        content: Sequence[TokenSpec] | None = None,
        refusal: Sequence[TokenSpec] | None = None,
        choice: int = 0,
    ) -> StreamScript:
        """A chunk with an empty delta carrying only logprobs (tokens as ``(token, logprob)`` or dicts)."""
        where = "logprobs()"
        if content is None and refusal is None:
            raise ScriptError(f"{where}: pass content=[...] and/or refusal=[...] token lists.")
        step = LogprobsStep(
            content=None if content is None else token_list(content, where),
            refusal=None if refusal is None else token_list(refusal, where),
            choice=choice_index(choice, where),
        )
        return self._add(step)

    def graph_data(
        self,
        *,
        sources: Sequence[Mapping[str, Any] | None] | None = None,
        status: Literal["processing", "finished"] | None = None,
        subqueries: Sequence[Mapping[str, Any] | None] | None = None,
        references: Mapping[str, Any] | None = None,
        choice: int = 0,
    ) -> StreamScript:
        """A Knowledge Graph delta (``graph_data``): sources, status, subqueries, references."""
        value = {
            k: v
            for k, v in (
                ("sources", sources),
                ("status", status),
                ("subqueries", subqueries),
                ("references", references),
            )
            if v is not None
        }
        return self._add(
            DataStep("graph_data", json_value(value, "graph_data()"), choice_index(choice, "graph_data()"))
        )

    def llm_data(self, *, model: str, prompt: str, choice: int = 0) -> StreamScript:
        """An ``llm_data`` delta: the model a tool called and the prompt it got."""
        value = {"model": model, "prompt": prompt}
        return self._add(
            DataStep("llm_data", json_value(value, "llm_data()"), choice_index(choice, "llm_data()"))
        )

    def translation_data(
        self,
        *,
        source_language_code: str,
        source_text: str,
        target_language_code: str,
        choice: int = 0,
    ) -> StreamScript:
        """A ``translation_data`` delta from the translation tool."""
        value = {
            "source_language_code": source_language_code,
            "source_text": source_text,
            "target_language_code": target_language_code,
        }
        where = "translation_data()"
        return self._add(DataStep("translation_data", json_value(value, where), choice_index(choice, where)))

    def usage(
        self,
        *,
        prompt_tokens: int,
        completion_tokens: int,
        total_tokens: int | None = None,
        reasoning_tokens: int | None = None,
        cached_tokens: int | None = None,
    ) -> StreamScript:
        """A final usage chunk with empty ``choices``, as the API sends at the end of a stream."""
        counts = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens}
        for name, value in (*counts.items(), ("total_tokens", total_tokens)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise ScriptError(f"usage(): {name}={value!r} must be a whole number, 0 or more.")
        usage: dict[str, Any] = {
            **counts,
            "total_tokens": prompt_tokens + completion_tokens if total_tokens is None else total_tokens,
        }
        if reasoning_tokens is not None:
            usage["completion_tokens_details"] = {"reasoning_tokens": reasoning_tokens}
        if cached_tokens is not None:
            usage["prompt_token_details"] = {"cached_tokens": cached_tokens}
        return self._add(UsageStep(json_value(usage, "usage()")))

    def finish(self, reason: str | None = None, *, choice: int = 0) -> StreamScript:
        """End a choice with a ``finish_reason`` chunk; by default ``tool_calls`` if the choice
        made tool calls, else ``stop``, as the automatic finish chunk does."""
        if reason is None:
            called = any(isinstance(s, ToolCallStep) and s.choice == choice for s in self.steps)
            reason = "tool_calls" if called else "stop"
        where = f"finish({reason!r})"
        if reason not in FINISH_REASONS:
            raise ScriptError(
                f"{where}: {reason!r} is not a finish reason; use one of {', '.join(FINISH_REASONS)} "
                "(or .raw(...) to send any other value)."
            )
        return self._add(FinishStep(reason, choice_index(choice, where)))

    def raw(self, chunk: Mapping[str, Any] | str) -> StreamScript:
        """Send anything: a dict as compact JSON, a string verbatim as the ``data`` field."""
        if isinstance(chunk, str):
            return self._add(RawStep(chunk))
        if not isinstance(chunk, Mapping):
            raise ScriptError(f"raw(): {chunk!r} is neither a chunk dict nor a data string.")
        return self._add(RawStep(json_value(chunk, "raw()")))

    # --- renders -------------------------------------------------------------------------------

    def _head(self) -> dict[str, Any]:
        head: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
        }
        if self.system_fingerprint is not None:
            head["system_fingerprint"] = self.system_fingerprint
        return head

    def choice_count(self) -> int:
        """How many choices the response has."""
        if self.n is not None:
            return self.n
        return max((c for c in map(step_choice, self.steps) if c is not None), default=0) + 1

    def _data(self) -> list[dict[str, Any] | str]:
        """Every data payload in order: chunk dicts, and raw strings as given."""
        return list(self._iter_data())

    def _iter_data(self) -> Iterator[dict[str, Any] | str]:
        """The payloads of :meth:`_data`, one at a time, so a plan can render them as it sends."""
        steps = list(self.steps)
        if self.auto_finish:
            finished = {s.choice for s in steps if isinstance(s, FinishStep)}
            tail = len(steps)
            while tail > 0 and isinstance(steps[tail - 1], UsageStep):
                tail -= 1
            called = {s.choice for s in steps if isinstance(s, ToolCallStep)}
            auto = [
                FinishStep("tool_calls" if c in called else "stop", c)
                for c in range(self.choice_count())
                if c not in finished
            ]
            steps[tail:tail] = auto
        head = self._head()
        every_delta = self.role_on == "every"
        seen: set[int] = set()

        def chunk(
            choice: int, delta: dict[str, Any], logprobs: Any = None, finish: str | None = None
        ) -> dict[str, Any]:
            if every_delta or choice not in seen:
                seen.add(choice)
                delta = {"role": "assistant", **delta}
            body = {"index": choice, "delta": delta, "logprobs": logprobs, "finish_reason": finish}
            return {**head, "choices": [body]}

        for step in steps:
            if isinstance(step, ContentStep):
                field_name = step.key
                for i, piece in enumerate(step.pieces):
                    tokens = None if step.logprobs is None else step.logprobs[i]
                    logprobs = None
                    if tokens is not None:
                        logprobs = {
                            "content": plain_copy(tokens) if field_name == "content" else None,
                            "refusal": plain_copy(tokens) if field_name == "refusal" else None,
                        }
                    yield chunk(step.choice, {field_name: piece}, logprobs)
            elif isinstance(step, ToolCallStep):
                if step.opens:
                    header = {
                        "index": step.index,
                        "id": step.id,
                        "type": "function",
                        "function": {"name": step.name, "arguments": ""},
                    }
                    yield chunk(step.choice, {"tool_calls": [header]})
                for piece in step.arguments:
                    yield chunk(
                        step.choice, {"tool_calls": [{"index": step.index, "function": {"arguments": piece}}]}
                    )
            elif isinstance(step, LogprobsStep):
                logprobs = {
                    "content": None if step.content is None else plain_copy(step.content),
                    "refusal": None if step.refusal is None else plain_copy(step.refusal),
                }
                yield chunk(step.choice, {}, logprobs)
            elif isinstance(step, DataStep):
                yield chunk(step.choice, {step.field: plain_copy(step.value)})
            elif isinstance(step, FinishStep):
                yield chunk(step.choice, {}, None, step.reason)
            elif isinstance(step, UsageStep):
                yield {**head, "choices": [], "usage": plain_copy(step.usage)}
            else:
                yield plain_copy(step.chunk)

    def completion(self) -> dict[str, Any]:
        """The non-streaming ``ChatCompletion`` JSON with the same content, for ``stream: false``."""
        choices: dict[int, dict[str, Any]] = {}
        usage: Any = None
        for position, chunk in enumerate(self.chunks()):
            if chunk.get("usage") is not None:
                usage = chunk["usage"]
            raw_choices = chunk.get("choices")
            if not isinstance(raw_choices, list):
                continue
            for raw in raw_choices:
                if not isinstance(raw, dict) or not isinstance(raw.get("index"), int):
                    raise ScriptError(
                        f"completion(): chunk {position} has a choice without an integer index ({raw!r}), "
                        "so it cannot be assembled; fix the .raw(...) chunk."
                    )
                fold_delta(choices.setdefault(raw["index"], empty_choice(raw["index"])), raw)
        for c in range(self.choice_count()):
            choices.setdefault(c, empty_choice(c))
        out: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [finish_choice(choices[i]) for i in sorted(choices)],
        }
        if self.system_fingerprint is not None:
            out["system_fingerprint"] = self.system_fingerprint
        if usage is not None:
            out["usage"] = usage
        return out

    def json_body(self) -> dict[str, Any]:
        """The ``stream: false`` answer: :meth:`completion`."""
        return self.completion()

    @property
    def endpoint(self) -> Endpoint:
        """``POST /v1/chat``."""
        return CHAT

    def describe(self) -> str:
        """A one-line summary for the reply lists in error messages."""
        pieces = (
            p for s in self.steps if isinstance(s, ContentStep) and type(s) is ContentStep for p in s.pieces
        )
        return self._summary([f"model={self.model!r}", f"{self._count()} chunks"], "content", pieces)

    # --- YAML ----------------------------------------------------------------------------------

    def _yaml_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"model": self.model}
        for name, default in (
            ("id", DEFAULT_ID),
            ("created", DEFAULT_CREATED),
            ("n", None),
            ("system_fingerprint", DEFAULT_SYSTEM_FINGERPRINT),
            ("auto_finish", True),
            ("role_on", "every"),
        ):
            if getattr(self, name) != default:
                doc[name] = getattr(self, name)
        doc["steps"] = steps_to_yaml(self.steps)
        return doc

    @classmethod
    def _from_doc(cls, doc: dict[str, Any], where: str) -> StreamScript:
        cls._check_keys(
            doc, ("model", "id", "created", "n", "system_fingerprint", "auto_finish", "role_on"), where
        )
        auto_finish = doc.get("auto_finish", True)
        if not isinstance(auto_finish, bool):
            raise ScriptError(f"{where}: auto_finish must be true or false, not {auto_finish!r}.")
        fields = {
            "model": doc.get("model", DEFAULT_MODEL),
            "id": doc.get("id", DEFAULT_ID),
            "created": doc.get("created", DEFAULT_CREATED),
            "n": doc.get("n"),
            "system_fingerprint": doc.get("system_fingerprint", DEFAULT_SYSTEM_FINGERPRINT),
            "auto_finish": auto_finish,
            "role_on": doc.get("role_on", "every"),
        }
        return cls._from_parts_doc({**doc, "steps": doc.get("steps") or None}, where, fields, CHAT_STEPS)
