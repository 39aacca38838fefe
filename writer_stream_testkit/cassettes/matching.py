"""Matching a request against recordings, and the miss message that shows the closest one."""

from __future__ import annotations

import difflib
import json as _json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias
from urllib.parse import parse_qsl, urlsplit

from ..wire.call import Call
from .model import Interaction, RecordedRequest, RecordMode

# --- matching -------------------------------------------------------------------------------------

MatchFunction: TypeAlias = Callable[[Call, RecordedRequest], bool]


@dataclass(frozen=True, slots=True)
class Matcher:
    """A named test of an incoming call against a recorded request; combine with ``&``, ``|``, ``~``."""

    name: str
    test: MatchFunction

    def __call__(self, call: Call, recorded: RecordedRequest) -> bool:
        return bool(self.test(call, recorded))

    def __and__(self, other: Matcher | MatchFunction) -> Matcher:
        right = as_matcher(other)
        return Matcher(f"({self.name} & {right.name})", lambda c, r: self(c, r) and right(c, r))

    def __or__(self, other: Matcher | MatchFunction) -> Matcher:
        right = as_matcher(other)
        return Matcher(f"({self.name} | {right.name})", lambda c, r: self(c, r) or right(c, r))

    def __invert__(self) -> Matcher:
        return Matcher(f"~{self.name}", lambda c, r: not self(c, r))


def as_matcher(value: Matcher | MatchFunction) -> Matcher:
    """A plain ``(call, recorded_request) -> bool`` callable, named after itself."""
    if isinstance(value, Matcher):
        return value
    if not callable(value):
        raise TypeError(
            f"{value!r} is not a matcher; pass a callable (call, recorded_request) -> bool, or a Matcher."
        )
    return Matcher(getattr(value, "__name__", "custom"), value)


_MATCH_ON = ("method", "scheme", "host", "port", "path", "query", "url", "body")


def _query(url: str, ignored: frozenset[str]) -> list[tuple[str, str]]:
    return sorted(
        (k, v) for k, v in parse_qsl(urlsplit(url).query, keep_blank_values=True) if k not in ignored
    )


def _drop(value: Any, path: Sequence[str]) -> Any:
    """A copy of a JSON value without the field at ``path`` (``*`` matches every key or index)."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        out = dict(value)
        for key in list(out) if head == "*" else [head]:
            if key in out:
                if rest:
                    out[key] = _drop(out[key], rest)
                else:
                    del out[key]
        return out
    if isinstance(value, list):
        if head == "*":
            return [_drop(v, rest) for v in value] if rest else []
        if head.isdigit() and int(head) < len(value):
            index = int(head)
            if not rest:
                return value[:index] + value[index + 1 :]
            return [*value[:index], _drop(value[index], rest), *value[index + 1 :]]
    return value


@dataclass(frozen=True, slots=True)
class _Rules:
    """What counts as "the same request": built-in fields, ignored paths, custom matchers."""

    match_on: tuple[str, ...]
    body_ignore: tuple[tuple[str, ...], ...]
    query_ignore: frozenset[str]
    custom: tuple[Matcher, ...]

    @classmethod
    def build(
        cls,
        match_on: Sequence[str],
        ignore_fields: Sequence[str],
        matchers: Sequence[Matcher | MatchFunction],
    ) -> _Rules:
        for name in match_on:
            if name not in _MATCH_ON:
                raise ValueError(
                    f"match_on={tuple(match_on)!r} names {name!r}, which is not a request field; use any of "
                    f"{', '.join(_MATCH_ON)}, and pass matchers=[...] for anything else."
                )
        body: list[tuple[str, ...]] = []
        query: set[str] = set()
        for dotted in ignore_fields:
            scope, _, rest = dotted.partition(".")
            if scope == "body" and rest:
                body.append(tuple(rest.split(".")))
            elif scope == "query" and rest and "." not in rest:
                query.add(rest)
            else:
                raise ValueError(
                    f"ignore_fields entry {dotted!r} is not a field path; write 'body.<key>[.<key>...]' "
                    "(e.g. 'body.metadata.request_id', 'body.messages.*.name') or 'query.<param>'."
                )
        return cls(tuple(match_on), tuple(body), frozenset(query), tuple(as_matcher(m) for m in matchers))

    def body(self, value: Any) -> Any:
        for path in self.body_ignore:
            value = _drop(value, path)
        return value

    def field_matches(self, name: str, call: Call, recorded: RecordedRequest) -> bool:
        a, b = urlsplit(call.url), urlsplit(recorded.url)
        if name == "method":
            return call.method.upper() == recorded.method.upper()
        if name == "scheme":
            return a.scheme == b.scheme
        if name == "host":
            return a.hostname == b.hostname
        if name == "port":
            return a.port == b.port
        if name == "path":
            return call.path == recorded.path
        if name == "query":
            return _query(call.url, self.query_ignore) == _query(recorded.url, self.query_ignore)
        if name == "url":
            return (a.scheme, a.netloc, a.path) == (b.scheme, b.netloc, b.path) and _query(
                call.url, self.query_ignore
            ) == _query(recorded.url, self.query_ignore)
        # body
        if call.json is not None or recorded.json is not None:
            return bool(self.body(call.json) == self.body(recorded.json))
        return call.content.decode("utf-8", "replace") == (recorded.body or "")

    def failures(self, call: Call, recorded: RecordedRequest) -> list[str]:
        """The names of the rules this pair breaks; empty means they match."""
        failed = [name for name in self.match_on if not self.field_matches(name, call, recorded)]
        failed += [m.name for m in self.custom if not m(call, recorded)]
        return failed

    def matches(self, call: Call, recorded: RecordedRequest) -> bool:
        return all(self.field_matches(n, call, recorded) for n in self.match_on) and all(
            m(call, recorded) for m in self.custom
        )


def _pretty_body(value: Any, text: str | None) -> list[str]:
    if value is None:
        return (text or "").splitlines() or ["(no body)"]
    return _json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False).splitlines()


def miss_message(
    source: str,
    call: Call,
    interactions: Sequence[Interaction],
    played: Sequence[int],
    rules: _Rules,
    record_mode: RecordMode,
    *,
    file_exists: bool = True,
) -> str:
    """A full account of a replay miss: the request, the closest recording as a diff, the fix."""
    lines = [f"Cassette {source} has no unplayed recording that matches {call.describe()}."]
    if not file_exists:
        lines[0] = f"Cassette {source} does not exist, so nothing can replay {call.describe()}."
    best: tuple[float, int] | None = None
    path_only = False
    incoming = rules.body(call.json)
    incoming_text = (
        _json.dumps(incoming, sort_keys=True)
        if incoming is not None
        else call.content.decode("utf-8", "replace")
    )
    for index, interaction in enumerate(interactions):
        recorded = interaction.request
        failed = rules.failures(call, recorded)
        stored = rules.body(recorded.json)
        stored_text = _json.dumps(stored, sort_keys=True) if stored is not None else (recorded.body or "")
        similarity = difflib.SequenceMatcher(None, incoming_text, stored_text, autojunk=False).ratio()
        score = (len(rules.match_on) + len(rules.custom) - len(failed)) + similarity
        if best is None or score > best[0]:
            best = (score, index)
    if best is None:
        if file_exists:
            lines.append("The cassette holds no interactions at all.")
    else:
        index = best[1]
        recorded = interactions[index].request
        failed = rules.failures(call, recorded)
        if not failed:
            lines.append(
                f"interactions[{index}] ({recorded.method} {recorded.url}) matches it but was already "
                "replayed, and each recording replays once. Record the repeat, or pass "
                "allow_playback_repeats=True to replay recordings more than once."
            )
        elif failed == ["path"]:
            path_only = True
            lines.append(
                f"The closest recording is interactions[{index}] ({recorded.method} {recorded.url}), which "
                f"differs only in its path: this request went to {call.path}, the recording to "
                f"{recorded.path}. The client's base URL (base_url= or WRITER_BASE_URL) has a different "
                "path prefix from the one the cassette was recorded with."
            )
        else:
            lines.append(
                f"The closest recording is interactions[{index}] ({recorded.method} {recorded.url}), which "
                f"differs in: {', '.join(failed)}."
            )
            ignored = [".".join(("body", *p)) for p in rules.body_ignore]
            note = f" (ignoring {', '.join(ignored)})" if ignored else ""
            diff = difflib.unified_diff(
                _pretty_body(rules.body(recorded.json), recorded.body),
                _pretty_body(
                    incoming, None if call.json is not None else call.content.decode("utf-8", "replace")
                ),
                fromfile=f"interactions[{index}].request body (recorded){note}",
                tofile="this request's body",
                lineterm="",
            )
            text = "\n".join(diff)
            lines.append(text if text else "Their bodies are equal; the difference is elsewhere.")
        if index in played and failed:
            lines.append(f"(interactions[{index}] was already replayed once in this run.)")
    suggested = "new_episodes" if record_mode in ("none", "once") else record_mode
    if not file_exists and record_mode == "none":
        lines.append(
            "The cassette is in record_mode='none', which only replays. To record it, run with "
            "--writer-record-mode=once or Cassette(..., record_mode='once') (recording needs a real "
            "WRITER_API_KEY), or check the cassette path."
        )
        return "\n".join(lines)
    if path_only:
        lines.append(
            "Point the client at the base URL the cassette was recorded with, or match without the path "
            "with Cassette(..., match_on=('method', 'body')) (the marker takes the same keyword)."
        )
        return "\n".join(lines)
    lines.append(
        f"The cassette is in record_mode={record_mode!r}, which does not record this request. To record it, run with "
        f"--writer-record-mode={suggested} or Cassette(..., record_mode={suggested!r}); if the difference does not "
        "matter, leave it out of matching with ignore_fields=['body.<field>'] or a custom matcher."
    )
    return "\n".join(lines)
