"""Secret scrubbing: a key is removed in every form it can take in a URL, a header, a body or an event."""

from __future__ import annotations

import base64
import itertools
import json
import re
import string
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
import pytest
import writerai
import yaml
from costutil import time_growth
from hypothesis import given, settings
from hypothesis import strategies as st
from recorded import (
    URL,
    record_events,
)

from writer_stream_testkit.cassettes.capture import _redact_reads, interaction_from_capture
from writer_stream_testkit.cassettes.cassette import Cassette
from writer_stream_testkit.cassettes.dump import dump_cassette
from writer_stream_testkit.cassettes.model import CassetteContent
from writer_stream_testkit.cassettes.recorder import Capture
from writer_stream_testkit.cassettes.redact import (
    REDACTED,
    Redaction,
    is_credential_header,
    secret_from_headers,
)
from writer_stream_testkit.doubles.server import FakeWriterServer
from writer_stream_testkit.errors import RedactionWarning
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
    """``size`` bytes of SSE data: one run of backslashes half as long, then quotes, percents, short runs.

    Every backslash of the long run could start an escaped key; the key itself is planted just after it.
    """
    planted = "\\\\u0073" + KEY[1:]  # the key with its first letter JSON-escaped
    rest = ('\\"%%\\\\"' * size)[: size // 2]
    text = "data: " + "\\" * (size // 2) + '"' + planted + rest + "\n\n"
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
    assert REDACTED in text
    assert "\\" * 500_000 in text  # the data itself is kept
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


# --- keys outside the escaped forms: base64, and keys too short to scrub ----------------------------

B64_KEY = "sk-live~0123>>??456789"
"""A key whose base64 has ``+`` and ``/`` (``-`` and ``_`` URL-safe) at every alignment."""


@pytest.mark.parametrize("prefix", ["", "u", "us"], ids=["aligned", "offset 1", "offset 2"])
@pytest.mark.parametrize("encode", [base64.b64encode, base64.urlsafe_b64encode], ids=["std", "urlsafe"])
def test_a_base64_encoded_key_is_redacted_at_every_alignment(
    prefix: str, encode: Callable[[bytes], bytes]
) -> None:
    payload = f"{prefix}user:{B64_KEY}:tail".encode()
    encoded = encode(payload).decode()
    assert set("+/-_") & set(encoded)
    out = Redaction.build(secrets=[B64_KEY]).text(f"x {encoded} y")
    left, right = out.removeprefix("x ").removesuffix(" y").split(REDACTED)
    # What is left at each end decodes to the bytes around the key and under one byte of it.
    key_start = len(prefix) + len("user:")
    key_end = key_start + len(B64_KEY)
    assert len(left) * 6 < (key_start + 1) * 8
    assert (len(encoded.rstrip("=")) - len(right.rstrip("="))) * 6 > (key_end - 1) * 8


def test_a_base64_encoded_key_never_reaches_the_cassette_from_url_body_or_events() -> None:
    key = B64_KEY
    std = base64.b64encode(f"id:{key}".encode()).decode()
    safe = base64.urlsafe_b64encode(f"{key}!".encode()).decode()
    block = f'data: {{"echo":"{std}","again":"{safe}"}}\n\n'.encode()
    capture = Capture(
        method="POST",
        url=f"https://api.writer.com/v1/chat?token={quote(safe, safe='')}",
        headers=(("Authorization", f"Bearer {key}"),),
        content=json.dumps({"messages": [{"role": "user", "content": std}]}).encode(),
        status=200,
        response_headers=(("Content-Type", "text/event-stream"),),
        reads=[(block[:30], 0.1), (block[30:], 0.2)],
        complete=True,
        responded=True,
    )
    text = dump_cassette(CassetteContent((interaction_from_capture(capture, Redaction()),)))
    for encoded in (std, safe):
        middle = encoded[4:-4]
        assert middle not in text
        assert quote(middle, safe="") not in text


def test_recording_with_a_key_shorter_than_the_minimum_warns(tmp_path: Path) -> None:
    with FakeWriterServer() as upstream:
        upstream.reply(StreamScript().content("hi"))
        client = writerai.Writer(api_key="sk-1234", max_retries=0)
        with (
            pytest.warns(RedactionWarning, match=r"7 characters.*at least 8") as caught,
            Cassette(tmp_path / "c.yaml", record_mode="once", upstream=upstream.base_url),
        ):
            for _ in client.chat.chat(model="palmyra-x5", stream=True, messages=[]):
                pass
    assert len(caught) == 1
    assert "sk-1234" not in str(caught[0].message)  # the warning names the length, never the key
    assert "sk-1234" not in (tmp_path / "c.yaml").read_text()  # the header itself is still replaced


def test_a_long_enough_key_records_without_a_warning(tmp_path: Path) -> None:
    with FakeWriterServer() as upstream:
        upstream.reply(StreamScript().content("hi"))
        client = writerai.Writer(api_key=KEY, max_retries=0)
        with Cassette(tmp_path / "c.yaml", record_mode="once", upstream=upstream.base_url):
            for _ in client.chat.chat(model="palmyra-x5", stream=True, messages=[]):
                pass


@given(
    key=keys,
    form=st.sampled_from([*escaped_forms("k"), "base64", "urlsafe base64"]),
    cuts=st.lists(st.integers(0, 10_000), max_size=6),
)
@settings(max_examples=25, deadline=None)
def test_a_key_in_any_form_is_redacted_whatever_the_reads_split(key: str, form: str, cuts: list[int]) -> None:
    if form.endswith("base64"):
        encode = base64.urlsafe_b64encode if form.startswith("urlsafe") else base64.b64encode
        planted = encode(f"id:{key}:x".encode()).decode()
        secret = planted[5:13]  # characters only the key's bits decide
    else:
        planted = secret = escaped_forms(key)[form]
    body = f'data: {{"a":"é{planted}ü"}}\n\n'.encode()
    ends = sorted({c % (len(body) + 1) for c in cuts} | {len(body)})
    reads = [(body[a:b], i * 0.01) for i, (a, b) in enumerate(itertools.pairwise([0, *ends]))]
    redaction = Redaction.build(secrets=[key])
    out = _redact_reads(reads, redaction)
    joined = b"".join(data for data, _ in out)
    assert joined == redaction.bytes_keeping_offsets(body, [len(body)])[0]  # as if read in one piece
    assert secret.encode() not in joined
    assert joined.startswith('data: {"a":"é'.encode())
    # A read that ended before the key still ends on the same byte.
    start = body.index(planted.encode())
    out_ends = list(itertools.accumulate(len(data) for data, _ in out if data))
    assert {e for e in ends if 0 < e <= start} <= set(out_ends)


@given(
    st.text(alphabet=st.characters(blacklist_categories=["Cs"]), min_size=8, max_size=20),
    st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="%"), max_size=80),
    st.booleans(),
)
@settings(max_examples=200, deadline=None)
def test_the_byte_check_shortcut_agrees_with_the_full_search(secret: str, text: str, plant: bool) -> None:
    """The substring shortcut for bodies with no percent or \\u escape finds what the regexes find."""
    if plant:
        text = text[: len(text) // 2] + secret + text[len(text) // 2 :]
    redaction = Redaction.build(secrets=[secret])
    data = text.encode()
    needles = redaction._needles
    assert needles is not None
    assert redaction.may_change(data) == any(n.search(data) is not None for n in needles)


# --- issue 20: numbers, secrets split across deltas, escaped patterns, non-JSON bodies -----------

ACCOUNT = r"\b\d{15}\b"


def test_a_pattern_matching_a_number_in_a_json_body_is_applied_there() -> None:
    redaction = Redaction.build(patterns=[ACCOUNT])
    body = {"account": 123456789012345, "nested": [{"id": 123456789012345}], "n": 12, "t": 0.5, "b": True}
    assert redaction.json(body) == {
        "account": REDACTED,
        "nested": [{"id": REDACTED}],
        "n": 12,
        "t": 0.5,
        "b": True,
    }


def test_a_number_in_a_recorded_body_is_redacted_on_disk_and_the_request_replays(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    body = {"model": "palmyra-x5", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    with FakeWriterServer() as upstream:
        upstream.reply(StreamScript().content("ok").finish())
        with Cassette(path, record_mode="once", upstream=upstream.base_url, redact=[ACCOUNT]):
            client = writerai.Writer(api_key="sk-test-0123456789", max_retries=0)
            stream = client.chat.chat(**body, extra_body={"account": 123456789012345})  # type: ignore[call-overload]
            assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "ok"
    assert "123456789012345" not in path.read_text()
    with Cassette(path, redact=[ACCOUNT]):
        client = writerai.Writer(api_key="sk-test-0123456789", max_retries=0)
        stream = client.chat.chat(**body, extra_body={"account": 123456789012345})  # type: ignore[call-overload]
        assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "ok"


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("José Pérez", '{"name":"Jos\\u00e9 P\\u00e9rez"}', '{"name":"<redacted>"}'),
        ("José Pérez", '{"name":"Jos\\u00E9 P\\u00e9rez"}', '{"name":"<redacted>"}'),
        ("José", '{"a":"Jos\\\\u00e9"}', '{"a":"Jos\\\\u00e9"}'),  # an escaped backslash, not an escape
        ("😀 secret", '{"a":"\\ud83d\\ude00 secret"}', '{"a":"<redacted>"}'),
        (
            r"https://docs\.internal/[\w/]+",
            '{"url":"https:\\/\\/docs.internal\\/x\\/y"}',
            '{"url":"<redacted>"}',
        ),
        ("secret", '{"a":"\\u0073ecret","b":"secret"}', '{"a":"<redacted>","b":"<redacted>"}'),
    ],
)
def test_a_user_pattern_matches_the_json_escaped_form_of_its_text(
    pattern: str, text: str, expected: str
) -> None:
    redaction = Redaction.build(patterns=[pattern])
    assert redaction.text(text) == expected
    data = text.encode()
    scrubbed, moved = redaction.bytes_keeping_offsets(data, [len(data)])
    assert scrubbed == expected.encode()
    assert moved == [len(scrubbed)]


def test_a_docs_example_name_in_an_escaped_stream_never_reaches_the_file(tmp_path: Path) -> None:
    chunk = {"choices": [{"index": 0, "delta": {"content": "Dear José Pérez, see https://docs.internal/a"}}]}
    event = f"data: {json.dumps(chunk)}\n\n".encode()  # ensure_ascii: Jos\u00e9
    assert b"\\u00e9" in event
    on_disk, _ = record_events(
        tmp_path, [event.replace(b"/", b"\\/")], redact=["José Pérez", r"https://docs\.internal/\w+"]
    )
    assert "Jos" not in on_disk
    assert "docs.internal" not in on_disk


def test_a_non_json_body_recorded_with_a_pattern_replays(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    csv = b"name,account\nJose,123456789012345\n"
    with FakeWriterServer() as upstream:
        upstream.reply({"id": "file-1"}, path="/v1/files", method="POST")
        with Cassette(path, record_mode="once", upstream=upstream.base_url, redact=[ACCOUNT]):
            response = httpx.post("https://api.writer.com/v1/files", content=csv)
            assert response.json() == {"id": "file-1"}
    assert "123456789012345" not in path.read_text()
    with Cassette(path, redact=[ACCOUNT]):  # a miss before: only JSON bodies were scrubbed for matching
        assert httpx.post("https://api.writer.com/v1/files", content=csv).json() == {"id": "file-1"}


# --- credential headers, the API key, read boundaries ---------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "Authorization",
        "proxy-authorization",
        "api-key",
        "X-API-Key",
        "cookie",
        "Set-Cookie",
        "x-auth-token",
        "x-amz-security-token",
        "x-client-secret",
        "apikey",
    ],
)
def test_credential_headers_are_recognised(name: str) -> None:
    assert is_credential_header(name)


@pytest.mark.parametrize(
    "name",
    [
        "content-type",
        "keep-alive",
        "x-ratelimit-remaining-tokens",
        "x-ratelimit-limit-tokens",
        "accept",
        "x-request-id",
        "idempotency-key",
    ],
)
def test_ordinary_headers_are_kept(name: str) -> None:
    assert not is_credential_header(name)


def test_api_key_is_scrubbed_everywhere_and_patterns_apply() -> None:
    key = "sk-live-ABCDEFGH12345678"
    secrets = secret_from_headers([("Authorization", f"Bearer {key}")])
    assert secrets == (key,)
    redaction = Redaction.build(
        secrets=secrets, patterns=[r"user-\d+", (re.compile("secret-[a-z]+"), "<gone>")]
    )
    assert redaction.headers([("authorization", "x"), ("x-echo", f"k={key}")]) == (
        ("authorization", REDACTED),
        ("x-echo", f"k={REDACTED}"),
    )
    assert redaction.json({"a": [f"{key} user-42 secret-abc"]}) == {"a": [f"{REDACTED} {REDACTED} <gone>"]}


def test_redaction_moves_read_boundaries_with_the_text() -> None:
    redaction = Redaction.build(secrets=["SECRETKEY123"])
    text, offsets = redaction.text_keeping_offsets("ab SECRETKEY123 cd", [1, 6, 15, 18])
    assert text == f"ab {REDACTED} cd"
    assert offsets == [1, 3, 3 + len(REDACTED), len(text)]


@given(
    st.text(alphabet=st.characters(codec="utf-8"), max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=8, max_size=12),
    st.booleans(),
)
@settings(max_examples=300, deadline=None)
def test_redaction_byte_check_never_skips_text_it_would_change(text: str, secret: str, plant: bool) -> None:
    if plant:
        text = text[: len(text) // 2] + secret + text[len(text) // 2 :]
    redaction = Redaction.build(secrets=[secret])
    if redaction.text(text) != text:
        assert redaction.may_change(text.encode("utf-8", "surrogateescape"))
    assert Redaction.build(patterns=[r"x"]).may_change(b"")  # a pattern needs the text itself
    assert not Redaction().may_change(text.encode())


def test_key_split_between_reads_of_a_long_stream_is_redacted() -> None:
    key = "sk-planted-0123456789abcdef"
    reads = [(f'data: {{"n":{i}}}\n\n'.encode(), 0.001 * i) for i in range(500)]
    reads[250:251] = [(f'data: {{"echo":"{key[:7]}'.encode(), 0.25), (f'{key[7:]}"}}\n\n'.encode(), 0.2505)]
    capture = Capture(
        method="POST",
        url=URL,
        headers=(("Authorization", f"Bearer {key}"),),
        content=b"{}",
        status=200,
        response_headers=(("Content-Type", "text/event-stream"),),
        reads=reads,
        complete=True,
        responded=True,
    )
    interaction = interaction_from_capture(capture, Redaction())
    text = dump_cassette(CassetteContent((interaction,)))
    assert key not in text
    assert key[:7] not in text
    events = interaction.response.events or ()
    assert events[250].data == f'{{"echo":"{REDACTED}"}}'
    assert events[250].cuts == ((len('data: {"echo":"'), 0.25),)
    assert [e.data for e in events[:250]] == [f'{{"n":{i}}}' for i in range(250)]
