"""Writing a cassette as YAML: one readable line per event, verbatim data."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from typing import Any

import yaml

from .model import FORMAT_VERSION, CassetteContent, Interaction, RecordedEvent

_HEADER_COMMENT = (
    "# writer-stream-testkit cassette: HTTP interactions with the Writer API, replayed in tests.\n"
    "# Each event's `data` is verbatim; `t` is seconds since the request was sent. Format and\n"
    "# editing rules: `writer-stream-testkit docs cassettes`. Credentials were redacted before this\n"
    "# file was written.\n"
)


# --- YAML: writing --------------------------------------------------------------------------------


class _Flow(dict[str, Any]):
    """A mapping written on one line: one event per line keeps diffs to the events that changed."""


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    pass


def _represent_flow(dumper: yaml.SafeDumper, value: _Flow) -> yaml.Node:
    return dumper.represent_mapping("tag:yaml.org,2002:map", value.items(), flow_style=True)


_Dumper.add_representer(_Flow, _represent_flow)


def _text_or_b64(data: bytes, key: str, out: dict[str, Any]) -> None:
    try:
        out[key] = data.decode("utf-8")
    except UnicodeDecodeError:
        out[key + "_b64"] = base64.b64encode(data).decode("ascii")


def _headers_out(pairs: Sequence[tuple[str, str]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in pairs:
        if name in out:
            previous = out[name]
            out[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            out[name] = value
    return out


def _cuts_out(cuts: Sequence[tuple[int, float]]) -> list[list[float]]:
    return [[offset, t] for offset, t in cuts]


def _event_out(event: RecordedEvent) -> _Flow:
    out = _Flow(t=event.t)
    if event.event is not None:
        out["event"] = event.event
    if event.id is not None:
        out["id"] = event.id
    if event.retry is not None:
        out["retry"] = event.retry
    if event.data is not None:
        out["data"] = event.data
    if event.raw is not None:
        _text_or_b64(event.raw, "raw", out)
    if event.cuts:
        out["cuts"] = _cuts_out(event.cuts)
    if event.joined:
        out["joined"] = True
    return out


def _interaction_out(interaction: Interaction, events_at: str) -> dict[str, Any]:
    """The interaction as YAML data; a non-empty ``events`` list is the placeholder ``events_at``."""
    req = interaction.request
    request: dict[str, Any] = {"method": req.method, "url": req.url, "headers": _headers_out(req.headers)}
    if req.json is not None:
        request["json"] = req.json
    elif req.body is not None:
        request["body"] = req.body
    res = interaction.response
    response: dict[str, Any] = {"status": res.status, "t": res.t, "headers": _headers_out(res.headers)}
    if not res.complete:
        response["complete"] = False
    if res.events is not None:
        response["events"] = events_at if res.events else []  # see dump_cassette
    else:
        _text_or_b64(res.body or b"", "body", response)
        response["body_t"] = res.body_t
        if res.body_cuts:
            response["body_cuts"] = _cuts_out(res.body_cuts)
    return {"request": request, "response": response}


def _yaml(value: Any) -> str:
    return yaml.dump(
        value, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=2**31 - 1, default_flow_style=False
    )


def _float_text(value: float) -> str:
    """A float as PyYAML writes it (``1.0e-05``, never ``1e-05``, which YAML 1.1 reads as a string)."""
    text = repr(float(value))
    return text.replace("e", ".0e") if "e" in text and "." not in text else text


def _event_line(event: RecordedEvent) -> str:
    """One event as its line in the ``events:`` list.

    The common event (time and printable data) is written directly, in the
    single-quoted style PyYAML itself picks for it; anything else goes through
    the emitter. The round-trip tests hold the two to the same output.
    """
    data = event.data
    if (
        data is not None
        and event.raw is None
        and event.event is None
        and event.id is None
        and event.retry is None
        and not event.cuts
        and not event.joined
        and data.isprintable()
    ):
        quoted = data.replace("'", "''")
        return f"    - {{t: {_float_text(event.t)}, data: '{quoted}'}}\n"
    return "    " + _yaml([_event_out(event)])


_EVENTS_AT = "__writer_stream_testkit_events_{}_{}__"


def dump_cassette(content: CassetteContent) -> str:
    """The YAML text of a cassette: block style, one line per event, keys in a fixed order."""
    document: dict[str, Any] = {"version": FORMAT_VERSION}
    if content.meta:
        document["meta"] = dict(content.meta)
    # Events are written line by line (10,000 of them go through the emitter slowly), into
    # a placeholder the emitter leaves where the list belongs. The placeholder carries a
    # random tag and must appear exactly once, so no recorded body (which may hold any text,
    # this function's own placeholders included) can be mistaken for it.
    streams = [(i, x.response.events) for i, x in enumerate(content.interactions) if x.response.events]
    while True:
        tag = secrets.token_hex(8)
        document["interactions"] = [
            _interaction_out(x, _EVENTS_AT.format(tag, i)) for i, x in enumerate(content.interactions)
        ]
        text = _yaml(document)
        places = [f"    events: {_EVENTS_AT.format(tag, index)}\n" for index, _ in streams]
        if all(text.count(place) == 1 and text.count(place.strip()) == 1 for place in places):
            break
    pieces: list[str] = []
    done = 0
    for (_, events), place in zip(streams, places, strict=True):
        at = text.index(place, done)
        pieces += (text[done:at], "    events:\n", "".join(_event_line(e) for e in events))
        done = at + len(place)
    pieces.append(text[done:])
    return _HEADER_COMMENT + "".join(pieces)
