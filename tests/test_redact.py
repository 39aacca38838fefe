"""Secret scrubbing: a key is removed in every form it can take in a URL, a header, a body or an event."""

from __future__ import annotations

import json
import string
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
import writerai
import yaml
from costutil import time_growth
from hypothesis import given, settings
from hypothesis import strategies as st

from writer_stream_testkit.cassettes.capture import interaction_from_capture
from writer_stream_testkit.cassettes.cassette import Cassette
from writer_stream_testkit.cassettes.dump import dump_cassette
from writer_stream_testkit.cassettes.model import CassetteContent
from writer_stream_testkit.cassettes.recorder import Capture
from writer_stream_testkit.cassettes.redact import REDACTED, Redaction
from writer_stream_testkit.doubles.server import FakeWriterServer
from writer_stream_testkit.scripts.chat import StreamScript
from writer_stream_testkit.scripts.faults import Fault
from writer_stream_testkit.scripts.plan import ResponsePlan, Write

RESERVED = "/+=?&%#:@ \"\\~!*'();,$[]<>{}|^`"
"""Characters a URL, a header or a JSON string writes escaped."""

keys = st.text(
    alphabet=st.sampled_from(string.ascii_letters + string.digits + "-_")
    | st.sampled_from(RESERVED)
    | st.characters(min_codepoint=0x80, exclude_categories=("Cs", "Cc", "Co", "Cn")),
    min_size=6,
    max_size=24,
).map(lambda rest: "sk" + rest)
"""API keys with reserved and non-ASCII characters; the ``sk`` prefix keeps them from turning up by chance."""


def escaped_forms(key: str) -> dict[str, str]:
    """Every form a key takes when a URL, a header or a JSON encoder escapes it."""
    quoted, plus, ascii_json = quote(key, safe=""), quote_plus(key), json.dumps(key)[1:-1]
    return {
        "literal": key,
        "quote": quoted,
        "quote, lower-case hex": _lower_hex(quoted),
        "quote_plus": plus,
        "quote_plus, lower-case hex": _lower_hex(plus),
        "json": ascii_json,
        "json, upper-case \\u hex": _upper_json_hex(ascii_json),
        "json, \\/": ascii_json.replace("/", "\\/"),
        "json, ensure_ascii=False": json.dumps(key, ensure_ascii=False)[1:-1],
        "json, ensure_ascii=False, \\/": json.dumps(key, ensure_ascii=False)[1:-1].replace("/", "\\/"),
    }


def _lower_hex(quoted: str) -> str:
    parts = quoted.split("%")
    return parts[0] + "".join("%" + p[:2].lower() + p[2:] for p in parts[1:])


def _upper_json_hex(escaped: str) -> str:
    parts = escaped.split("\\u")
    return parts[0] + "".join("\\u" + p[:4].upper() + p[4:] for p in parts[1:])


# --- the pure core --------------------------------------------------------------------------------


@pytest.mark.parametrize("form", list(escaped_forms('sk/live+abcdé中😀 "\\==')))
def test_every_escaped_form_of_a_secret_is_redacted(form: str) -> None:
    key = 'sk/live+abcdé中😀 "\\=='
    planted = escaped_forms(key)[form]
    redaction = Redaction.build(secrets=[key])
    text = f"before {planted} after"
    assert redaction.text(text) == f"before {REDACTED} after"
    assert redaction.may_change(text.encode())
    scrubbed, offsets = redaction.text_keeping_offsets(text, [len(text)])
    assert scrubbed == f"before {REDACTED} after"
    assert offsets == [len(scrubbed)]


def test_the_reported_url_query_leak_is_closed() -> None:
    key = "sk/live+abcdefgh=="
    redaction = Redaction.build(secrets=[key])
    url = "https://api.writer.com/v1/chat?key=sk%2Flive%2Babcdefgh%3D%3D"
    assert redaction.text(url) == f"https://api.writer.com/v1/chat?key={REDACTED}"
    assert redaction.headers([("x-echo", "sk%2flive%2babcdefgh%3d%3d")]) == (("x-echo", REDACTED),)
    assert redaction.json({"q": "key=sk%2Flive%2Babcdefgh%3D%3D"}) == {"q": f"key={REDACTED}"}


def test_a_key_json_escaped_inside_a_json_string_is_redacted() -> None:
    key = 'sk"live/é-0123'
    twice = json.dumps(json.dumps({"key": key}))  # tool-call arguments: JSON in a JSON string
    redaction = Redaction.build(secrets=[key])
    assert key not in json.loads(json.loads(redaction.text(twice)))["key"]


@given(keys, st.text(max_size=30), st.text(max_size=30), st.sampled_from(list(escaped_forms("k"))))
@settings(max_examples=300, deadline=None)
def test_byte_check_never_skips_a_body_holding_an_escaped_form(
    key: str, before: str, after: str, form: str
) -> None:
    planted = escaped_forms(key)[form]
    text = before + planted + after
    redaction = Redaction.build(secrets=[key])
    assert redaction.may_change(text.encode("utf-8", "surrogateescape")), (form, planted)
    assert planted not in redaction.text(text)


_NO_E_ACUTE = string.ascii_letters.replace("u", "") + string.digits + ' {}":,\\/+'
"""Text that cannot spell ``é`` in any form: no ``é``, no ``%`` for ``%C3%A9``, no ``u`` for ``\\u00e9``."""


@given(st.text(alphabet=_NO_E_ACUTE, max_size=200))
@settings(max_examples=200, deadline=None)
def test_text_without_the_key_is_left_alone(text: str) -> None:
    redaction = Redaction.build(secrets=["sk-Q9/zz+Y=é"])
    assert not redaction.may_change(text.encode())
    assert redaction.text(text) == text


# --- end to end: recorded through a cassette, nothing reaches the file ----------------------------


def _chunk(content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "palmyra-x5",
        "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": None}],
    }


def _event(data: str) -> bytes:
    return f"data: {data}\n\n".encode()


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def test_a_key_in_any_escaped_form_never_reaches_the_cassette_file() -> None:
    with FakeWriterServer() as upstream:

        @given(key=keys, cut=st.floats(0, 1))
        @settings(max_examples=40, deadline=None)
        def check(key: str, cut: float) -> None:
            forms = escaped_forms(key)
            # Event data JSON-escaped every way an encoder may write it, and a URL-encoded copy.
            events = [
                _event(json.dumps(_chunk(key), separators=(",", ":"))),
                _event(json.dumps(_chunk(key), ensure_ascii=False).replace("/", "\\/")),
                _event(json.dumps(_chunk(key), separators=(",", ":")).replace("/", "\\/")),
                _event(_upper_json_hex(json.dumps(_chunk(key)))),
                _event(json.dumps(_chunk(f" {quote(key, safe='')} {_lower_hex(quote_plus(key))}"))),
                _event("[DONE]"),
            ]
            body = b"".join(events)
            at = 6 + int(cut * (len(events[0]) - 6))  # a read that ends inside the first copy of the key
            upstream.reply(
                ResponsePlan(
                    headers=(("content-type", "text/event-stream"), ("x-echo", quote_plus(key))),
                    steps=(Write(body[:at]), Write(body[at:])),
                )
            )
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "c.yaml"
                with Cassette(path, record_mode="once", upstream=upstream.base_url, api_key=key):
                    client = writerai.Writer(
                        api_key="sk-test-bearer-0123456789",
                        max_retries=0,
                        default_query={"key": key},
                        default_headers={"x-tenant-note": quote(key, safe="")},
                    )
                    stream = client.chat.chat(
                        model="palmyra-x5",
                        stream=True,
                        messages=[{"role": "user", "content": f"{key} {json.dumps(key)}"}]
                        + [{"role": "user", "content": form} for form in forms.values()],
                    )
                    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
                assert text.startswith(key * 4)  # the planted copies reached the client
                on_disk = {file: file.read_bytes() for file in Path(tmp).rglob("*") if file.is_file()}
                loaded = _strings(yaml.safe_load(on_disk[path]))
            assert upstream.calls[-1].url.count("key=") == 1  # the key went out in the query
            for name, form in forms.items():
                for file, data in on_disk.items():
                    assert form.encode() not in data, f"the key ({name} form) reached {file.name}"
                assert not [s for s in loaded if form in s], f"the key ({name} form) is in the cassette"

        check()


# --- bounded: redaction is linear in its input ----------------------------------------------------

KEY = "sk-live-0123456789"


@pytest.mark.timeout(90)  # a hang guard only: the assertion is on how cost grows
def test_redaction_is_linear_on_runs_of_backslashes() -> None:
    redaction = Redaction.build(secrets=[KEY])

    def make(n: int) -> Callable[[], object]:
        text = "\\" * n
        return lambda: (redaction.text(text), redaction.may_change(text.encode()))

    assert time_growth(make, 10_000) < 10  # linear: about 4; quadratic: 16


def _hostile_reads(size: int) -> list[tuple[bytes, float]]:
    """``size`` bytes of SSE data made of backslash runs, quotes and percent signs, the key planted escaped."""
    unit = "\\" * 4000 + '"' * 50 + "%" * 50 + "\\%\\\"" * 25
    planted = "\\\\u0073" + KEY[1:]  # the key with its first letter JSON-escaped behind a backslash run
    data = (unit * (size // len(unit) + 1))[:size]
    half = len(data) // 2
    text = f"data: {data[:half]}{planted}{data[half:]}\n\n"
    raw = text.encode()
    return [(raw[i : i + 65_536], i / 1e6) for i in range(0, len(raw), 65_536)]


def _save_hostile(size: int) -> Callable[[], object]:
    capture = Capture(
        method="POST",
        url="https://api.writer.com/v1/chat",
        headers=(("Authorization", f"Bearer {KEY}"),),
        content=b"{}",
        status=200,
        response_headers=(("Content-Type", "text/event-stream"),),
        reads=_hostile_reads(size),
        complete=True,
        responded=True,
    )
    return lambda: dump_cassette(CassetteContent((interaction_from_capture(capture, Redaction()),)))


@pytest.mark.timeout(90)  # a hang guard only
def test_a_megabyte_of_backslashes_quotes_and_percents_saves_in_linear_time() -> None:
    text = _save_hostile(1_000_000)()
    assert isinstance(text, str)
    assert KEY[1:] not in text
    assert text.count("\\") > 1_000_000  # the data itself is kept (escaped once more in YAML)
    assert time_growth(_save_hostile, 100_000) < 10


# --- read boundaries: the decoded stream is redacted, whatever the reads split ---------------------


def _capture(reads: list[tuple[bytes, float]], *, token: str = KEY) -> Capture:
    return Capture(
        method="POST",
        url="https://api.writer.com/v1/chat",
        headers=(("Authorization", f"Bearer {token}"),),
        content=b"{}",
        status=200,
        response_headers=(("Content-Type", "text/event-stream"),),
        reads=reads,
        complete=True,
        responded=True,
    )


def test_a_pattern_split_inside_a_character_by_a_read_is_still_redacted() -> None:
    name = "José Pérez"
    block = f'data: {{"content":"{name} said hi"}}\n\n'.encode()
    at = block.index("é".encode()) + 1  # the read ends after the first byte of the é
    capture = _capture([(block[:at], 0.1), (block[at:], 0.2), (b"data: [DONE]\n\n", 0.3)])
    interaction = interaction_from_capture(capture, Redaction.build(patterns=[name]))
    text = dump_cassette(CassetteContent((interaction,)))
    assert "Jos" not in text
    assert "rez" not in text
    events = interaction.response.events or ()
    assert events[0].data == f'{{"content":"{REDACTED} said hi"}}'
    # The read that ended inside the name now ends where its replacement starts.
    assert events[0].cuts == ((len(b'data: {"content":"'), 0.1),)


def test_a_non_ascii_key_split_inside_a_character_by_a_read_is_still_redacted() -> None:
    key = "sk-clé-0123456789"
    block = f'data: {{"echo":"{key}"}}\n\n'.encode()
    at = block.index("é".encode()) + 1
    interaction = interaction_from_capture(
        _capture([(block[:at], 0.1), (block[at:], 0.2)], token=key), Redaction()
    )
    text = dump_cassette(CassetteContent((interaction,)))
    assert "sk-cl" not in text
    assert "0123456789" not in text


def test_a_read_split_inside_a_character_keeps_its_byte_boundary() -> None:
    block = f'data: {{"a":"café","k":"{KEY}"}}\n\n'.encode()
    at = block.index("é".encode()) + 1  # a cut inside a character nothing redacts
    interaction = interaction_from_capture(
        _capture([(block[:at], 0.1), (block[at:], 0.2)]), Redaction.build(patterns=["café-free"])
    )
    reads = interaction.response.reads()
    assert reads == [(block[:at], 0.1), (block[at:].replace(KEY.encode(), REDACTED.encode()), 0.2)]


def test_a_name_split_mid_character_upstream_never_reaches_the_cassette(tmp_path: Path) -> None:
    name = "José Pérez"
    script = StreamScript().content(f"Hello {name}", "!").with_fault(Fault.split_mid_utf8())
    with FakeWriterServer() as upstream:
        upstream.reply(script)
        path = tmp_path / "c.yaml"
        with Cassette(path, record_mode="once", upstream=upstream.base_url, redact=[name]):
            client = writerai.Writer(api_key=KEY, max_retries=0)
            stream = client.chat.chat(
                model="palmyra-x5", stream=True, messages=[{"role": "user", "content": "hi"}]
            )
            text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == f"Hello {name}!"
    on_disk = path.read_text(encoding="utf-8")
    assert "Jos" not in on_disk
    assert "rez" not in on_disk
    assert REDACTED in on_disk
