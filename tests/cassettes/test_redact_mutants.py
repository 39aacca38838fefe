"""Redaction where mutation testing found no test looking (``python3 tasks.py mutate cassettes/redact.py``).

Each test pins a behaviour a one-token change to ``cassettes/redact.py`` broke unseen: headers the
user declares secret, a key of exactly the minimum length, a key sent bare in ``x-api-key``, a body
that is not UTF-8, a secret at byte 0, and read boundaries after several redactions. Most go
through a real recording (``Cassette`` against the loopback server); the offset arithmetic is
checked on ``Redaction`` itself, whose read ends the recorder keeps.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import writerai
import yaml

from writer_stream_testkit.cassettes.cassette import Cassette
from writer_stream_testkit.cassettes.redact import (
    REDACTED,
    Redaction,
    is_credential_header,
    secret_from_headers,
    short_key_message,
)
from writer_stream_testkit.doubles.server import FakeWriterServer
from writer_stream_testkit.errors import RedactionWarning
from writer_stream_testkit.scripts.chat import StreamScript
from writer_stream_testkit.scripts.plan import ResponsePlan, Write

KEY = "sk-live-0123456789"
FILES = "https://api.writer.com/v1/files"


def record(tmp_path: Path, reply: Any, send: Callable[[], object], **cassette: Any) -> tuple[str, Any]:
    """Record one exchange through a cassette in front of the loopback server: the file's text and YAML."""
    path = tmp_path / "c.yaml"
    with FakeWriterServer() as upstream:
        if isinstance(reply, ResponsePlan):
            upstream.reply(reply, path="/v1/files", method="POST")
        else:
            upstream.reply(reply)
        with Cassette(path, record_mode="once", upstream=upstream.base_url, **cassette):
            send()
    text = path.read_text(encoding="utf-8")
    return text, yaml.safe_load(text)["interactions"][0]


def upload(body: bytes, **headers: str) -> Callable[[], object]:
    return lambda: httpx.post(
        FILES, content=body, headers={"content-type": "text/csv", **headers}, timeout=10
    )


def json_reply(*headers: tuple[str, str], writes: tuple[bytes, ...] = (b'{"id":"file-1"}',)) -> ResponsePlan:
    return ResponsePlan(
        status=200,
        headers=(("content-type", "application/json"), *headers),
        steps=tuple(Write(w) for w in writes),
    )


def chat(api_key: str, text: str = "hello", **client: Any) -> Callable[[], object]:
    def send() -> None:
        stream = writerai.Writer(api_key=api_key, max_retries=0, **client).chat.chat(
            model="palmyra-x5", stream=True, messages=[{"role": "user", "content": text}]
        )
        for _ in stream:
            pass

    return send


# --- Cassette(redact_headers=...) -----------------------------------------------------------------


def test_redact_headers_replaces_the_declared_headers_in_requests_and_responses(tmp_path: Path) -> None:
    text, interaction = record(
        tmp_path,
        json_reply(("x-tenant", "acme-tenant-7"), ("x-region", "eu-west")),
        upload(b"a,b\n", authorization=f"Bearer {KEY}", **{"X-Tenant": "acme-tenant-7", "x-trace": "t-1"}),
        redact_headers=["X-Tenant"],
    )
    assert "acme-tenant-7" not in text
    assert interaction["request"]["headers"]["x-tenant"] == REDACTED
    assert interaction["request"]["headers"]["x-trace"] == "t-1"  # a header not declared is kept
    assert interaction["response"]["headers"]["x-tenant"] == REDACTED
    assert interaction["response"]["headers"]["x-region"] == "eu-west"


def test_redact_headers_still_apply_once_the_requests_key_is_added(tmp_path: Path) -> None:
    """The key found in the request extends the redaction; the declared headers must survive that."""
    text, interaction = record(
        tmp_path,
        StreamScript().content("fine"),
        chat(KEY, default_headers={"x-tenant": "acme-tenant-7"}),
        redact_headers=["x-tenant"],
        redact=[r"fine"],
    )
    assert "acme-tenant-7" not in text
    assert KEY not in text
    assert interaction["request"]["headers"]["x-tenant"] == REDACTED
    assert "fine" not in text  # and the patterns too


def test_declared_headers_and_patterns_survive_adding_secrets() -> None:
    redaction = Redaction.build(patterns=[r"acct-\d+"], headers=["X-Tenant"])
    extended = redaction.with_secrets([KEY])
    assert extended.headers([("x-tenant", "t"), ("x-note", f"acct-42 {KEY}")]) == (
        ("x-tenant", REDACTED),
        ("x-note", f"{REDACTED} {REDACTED}"),
    )
    assert extended.secrets == (KEY,)
    assert redaction.with_secrets([]) is redaction
    assert extended.with_secrets([KEY]) is extended  # a secret it has is not added twice


# --- the minimum key length, exactly --------------------------------------------------------------


def test_a_key_of_exactly_the_minimum_length_is_scrubbed_without_a_warning(tmp_path: Path) -> None:
    key = "sk-12345"  # 8 characters: the shortest key scrubbed from bodies and events
    with warnings.catch_warnings():
        warnings.simplefilter("error", RedactionWarning)
        text, _ = record(tmp_path, StreamScript().content(f"echo {key}"), chat(key, text=f"my key is {key}"))
    assert key not in text
    assert text.count(REDACTED) >= 3  # the header, the request body and the event


def test_the_minimum_length_boundary_in_each_entry_point() -> None:
    eight, seven = "12345678", "1234567"
    assert Redaction.build(secrets=[eight, seven]).secrets == (eight,)
    assert Redaction().with_secrets([seven, eight]).secrets == (eight,)
    assert Redaction.build(secrets=[eight]).text(f"a{eight}b{seven}c") == f"a{REDACTED}b{seven}c"
    assert secret_from_headers([("authorization", f"Bearer {eight}")]) == (eight,)
    assert secret_from_headers([("authorization", f"Bearer {seven}")]) == ()
    assert (
        short_key_message("Cassette c.yaml", "POST /v1/chat", [("authorization", f"Bearer {eight}")]) is None
    )
    message = short_key_message(
        "Cassette c.yaml", "POST /v1/chat", [("x-api-key", seven), ("api-key", "123")]
    )
    assert message == (
        "Cassette c.yaml recorded POST /v1/chat with an API key of 3 and 7 characters. Keys shorter than 8 "
        "characters are not scrubbed from URLs, bodies or events (scrubbing a string that short would shred "
        "the recording); only credential headers are still replaced whole. Record with a key of at least 8 "
        "characters, or pass the key in redact=[...] (--redact in the CLI) to scrub it anyway."
    )


# --- a key sent bare in x-api-key -----------------------------------------------------------------


def test_a_bare_key_in_x_api_key_is_scrubbed_everywhere(tmp_path: Path) -> None:
    text, interaction = record(tmp_path, json_reply(), upload(f"{KEY},row\n".encode(), **{"x-api-key": KEY}))
    assert KEY not in text
    assert interaction["request"]["headers"]["x-api-key"] == REDACTED
    assert interaction["request"]["body"] == f"{REDACTED},row\n"


def test_credentials_are_taken_bare_or_after_a_scheme() -> None:
    assert secret_from_headers(
        [
            ("X-Api-Key", f"  {KEY}  "),
            ("Authorization", f"bearer {KEY}-b"),
            ("proxy-authorization", f"Basic {KEY}-c"),
            ("cookie", f"{KEY}-d"),
            ("x-request-id", f"{KEY}-not-a-credential"),
        ]
    ) == (KEY, f"{KEY}-b", f"{KEY}-c", f"{KEY}-d")
    assert secret_from_headers([("x-api-key", KEY), ("api-key", KEY)]) == (KEY,)  # each token once
    assert is_credential_header("X-Session-Id")
    assert not is_credential_header("Idempotency-Key")


# --- bodies: not UTF-8, a secret at byte 0 --------------------------------------------------------


def test_a_body_that_is_not_utf8_is_scrubbed_and_keeps_its_other_bytes(tmp_path: Path) -> None:
    body = b"\xff\xfe" + KEY.encode() + b",\x80\n"
    text, interaction = record(tmp_path, json_reply(), upload(body, authorization=f"Bearer {KEY}"))
    assert KEY not in text
    assert interaction["request"]["body"] == f"\ufffd\ufffd{REDACTED},\ufffd\n"
    redaction = Redaction.build(secrets=[KEY])
    assert redaction.bytes_keeping_offsets(body, [1, len(body)]) == (
        b"\xff\xfe" + REDACTED.encode() + b",\x80\n",
        [1, len(body) + len(REDACTED) - len(KEY)],
    )


def test_a_secret_at_byte_0_is_scrubbed_and_read_ends_move_with_it(tmp_path: Path) -> None:
    text, interaction = record(
        tmp_path, json_reply(), upload(f"{KEY} rest".encode(), authorization=f"Bearer {KEY}")
    )
    assert KEY not in text
    assert interaction["request"]["body"] == f"{REDACTED} rest"
    redaction = Redaction.build(secrets=[KEY])
    data = f"{KEY} rest".encode()
    # A read end inside the secret moves to the start of its replacement; one after it shifts.
    assert redaction.bytes_keeping_offsets(data, [0, 3, len(KEY), len(data)]) == (
        f"{REDACTED} rest".encode(),
        [0, 0, len(REDACTED), len(REDACTED) + 5],
    )
    assert redaction.text_keeping_offsets(f"{KEY} rest", [5, len(KEY) + 2]) == (
        f"{REDACTED} rest",
        [0, len(REDACTED) + 2],
    )


# --- several redactions before one read boundary ---------------------------------------------------


def test_two_redactions_before_one_read_end_both_shift_it() -> None:
    redaction = Redaction.build(secrets=[KEY], patterns=[(r"acct-\d+", "acct-#")])
    shrink = len(REDACTED) - len(KEY)
    text = f"{KEY} - {KEY} | acct-123456 end"
    end = len(text) - 4  # the read ended before " end"
    assert redaction.text_keeping_offsets(text, [end, len(text)]) == (
        f"{REDACTED} - {REDACTED} | acct-# end",
        [end + 2 * shrink - 5, len(text) + 2 * shrink - 5],
    )
    data = text.encode()
    assert redaction.bytes_keeping_offsets(data, [end, len(data)]) == (
        f"{REDACTED} - {REDACTED} | acct-# end".encode(),
        [end + 2 * shrink - 5, len(data) + 2 * shrink - 5],
    )


def test_read_ends_between_and_inside_several_secrets_move_to_the_right_places() -> None:
    redaction = Redaction.build(secrets=[KEY])
    data = f"{KEY}é{KEY}".encode()  # a two-byte character between the secrets
    first_end, second_start = len(KEY), len(KEY) + 2
    out, moved = redaction.bytes_keeping_offsets(
        data, [first_end, first_end + 1, second_start + 4, len(data)]
    )
    assert out == f"{REDACTED}é{REDACTED}".encode()
    assert moved == [len(REDACTED), len(REDACTED) + 1, len(REDACTED) + 2, 2 * len(REDACTED) + 2]


def test_recorded_read_ends_after_two_secrets_are_where_the_reads_ended(tmp_path: Path) -> None:
    first = f'{{"a":"{KEY}","b":"{KEY}"'.encode()
    _, interaction = record(
        tmp_path,
        json_reply(writes=(first, b',"c":1}')),
        upload(b"x", authorization=f"Bearer {KEY}"),
    )
    body = interaction["response"]["body"]
    assert body == f'{{"a":"{REDACTED}","b":"{REDACTED}","c":1}}'
    cuts = [offset for offset, _ in interaction["response"]["body_cuts"]]
    assert cuts == [len(first) + 2 * (len(REDACTED) - len(KEY))]


@pytest.mark.parametrize("pattern", [r"\d{12,}", r"acct-\d+"])
def test_a_pattern_that_matches_nothing_changes_nothing(pattern: str) -> None:
    redaction = Redaction.build(patterns=[pattern])
    assert redaction.bytes_keeping_offsets(b"plain text", [3, 10]) == (b"plain text", [3, 10])
    assert redaction.may_change(b"plain text")  # patterns: it cannot tell, so it must look


def test_a_replacement_that_copies_bytes_which_are_not_utf8_keeps_them() -> None:
    redaction = Redaction.build(patterns=[(r"tok=(\S+)", r"tok=<\1>")])
    data = b"a tok=\xffab end"
    assert redaction.bytes_keeping_offsets(data, [len(data)]) == (b"a tok=<\xffab> end", [len(data) + 2])


def test_an_invalid_pattern_is_named_with_the_fix() -> None:
    with pytest.raises(ValueError) as raised:
        Redaction.build(patterns=["acct-(\\d+"])
    assert str(raised.value).startswith(
        "The redaction pattern 'acct-(\\\\d+' is not a valid regular expression ("
    )
    assert str(raised.value).endswith("); pass a valid re pattern string or a compiled re.Pattern.")


def test_a_secret_holding_a_lone_surrogate_is_still_scrubbed_from_text() -> None:
    secret = "sk-live-\ud800-0123"  # no bytes decode to it, but text may still carry it
    redaction = Redaction.build(secrets=[secret])
    assert redaction.text(f"x {secret} y") == f"x {REDACTED} y"
    assert redaction.may_change(b"anything")  # it cannot search bytes for it, so it must look


def test_a_secret_with_a_space_is_found_in_its_plus_form_in_a_body_without_escapes() -> None:
    secret = "sk live 0123456"
    redaction = Redaction.build(secrets=[secret])
    body = b"q=sk+live+0123456&x=1"  # quote_plus wrote the spaces as '+': no '%' anywhere
    assert redaction.may_change(body)
    assert redaction.bytes_keeping_offsets(body, [len(body)]) == (
        f"q={REDACTED}&x=1".encode(),
        [len(body) + len(REDACTED) - len(secret)],
    )


# --- escaped forms, several patterns, and the fast paths (a second mutation run) -------------------


def test_a_character_beyond_the_bmp_is_found_as_its_json_surrogate_pair() -> None:
    secret = "key-\U00010000-abcdefgh"  # U+10000: the first code point that needs a pair
    redaction = Redaction.build(secrets=[secret])
    assert redaction.text('{"k": "key-\\ud800\\udc00-abcdefgh"}') == f'{{"k": "{REDACTED}"}}'
    assert redaction.may_change(b'{"k": "key-\\ud800\\udc00-abcdefgh"}')


def test_a_secret_starting_with_a_backslash_is_found_bare_and_escaped() -> None:
    redaction = Redaction.build(secrets=["\\abcdefgh"])
    assert redaction.text("x \\abcdefgh y") == f"x {REDACTED} y"
    assert redaction.text('"x \\\\abcdefgh y"') == f'"x {REDACTED} y"'
    assert redaction.bytes_keeping_offsets(b"x \\abcdefgh y", [])[0] == f"x {REDACTED} y".encode()


def test_a_secret_starting_with_an_escaped_character_is_found_escaped() -> None:
    redaction = Redaction.build(secrets=["sk-abcdefgh"])
    assert redaction.text('"\\u0073k-abcdefgh"') == f'"{REDACTED}"'
    assert redaction.bytes_keeping_offsets(b'"\\u0073k-abcdefgh"', [])[0] == f'"{REDACTED}"'.encode()


def test_a_secret_made_of_json_short_escapes_is_found_escaped_in_a_body_without_percent_signs() -> None:
    redaction = Redaction.build(secrets=["////////"])
    assert redaction.may_change(b'{"k": "\\/\\/\\/\\/\\/\\/\\/\\/"}')
    assert not redaction.may_change(b'{"k": "///////"}')


def test_a_secret_holding_an_undecodable_byte_is_found_by_its_bytes() -> None:
    """``\\udcff`` is how a body that is not UTF-8 decodes byte 0xff (``surrogateescape``)."""
    redaction = Redaction.build(secrets=["abcdefg\udcff"])
    assert redaction.may_change(b"x abcdefg\xff y")
    assert not redaction.may_change(b"x abcdefg y")
    assert redaction.bytes_keeping_offsets(b"x abcdefg\xff y", [])[0] == f"x {REDACTED} y".encode()


def test_a_pattern_finds_its_json_escaped_form_where_read_ends_are_kept() -> None:
    redaction = Redaction.build(patterns=["José"])
    assert redaction.text_keeping_offsets('{"n": "Jos\\u00e9", "m": 1}', [8, 20]) == (
        f'{{"n": "{REDACTED}", "m": 1}}',
        [7, 21],  # a read end inside the escaped form moves to its start
    )
    assert redaction.text('{"n": "Jos\\u00e9"}') == f'{{"n": "{REDACTED}"}}'


def test_every_pattern_applies_to_text_with_no_escapes() -> None:
    redaction = Redaction.build(patterns=["alpha", "beta"])
    assert redaction.text_keeping_offsets("alpha beta", [5]) == (f"{REDACTED} {REDACTED}", [10])
    assert redaction.bytes_keeping_offsets(b"alpha beta", [5]) == (f"{REDACTED} {REDACTED}".encode(), [10])
    assert redaction.text("alpha beta") == f"{REDACTED} {REDACTED}"


def test_escapes_after_an_escaped_backslash_are_still_read() -> None:
    redaction = Redaction.build(patterns=["José"])
    assert redaction.text('"a\\\\b Jos\\u00e9"') == f'"a\\\\b {REDACTED}"'


def test_the_escaped_pass_leaves_what_the_plain_pass_already_replaced() -> None:
    """A replacement the pattern matches again is not replaced twice (the text has an escape elsewhere)."""
    redaction = Redaction.build(patterns=[("ab", "abab")])
    assert redaction.text("x ab \\u0041") == "x abab \\u0041"
    assert redaction.text_keeping_offsets("x ab \\u0041", []) == ("x abab \\u0041", [])


def test_booleans_and_nulls_in_json_are_never_redacted_as_text() -> None:
    redaction = Redaction.build(patterns=["true|false|null"])
    assert redaction.json({"a": True, "b": False, "c": None, "d": "true"}) == {
        "a": True,
        "b": False,
        "c": None,
        "d": REDACTED,
    }


def test_a_read_end_at_an_insertion_stays_before_what_is_inserted() -> None:
    redaction = Redaction.build(patterns=[("(?=x)", "[")])
    assert redaction.text_keeping_offsets("axb", [1, 2]) == ("a[xb", [1, 3])


@pytest.mark.parametrize("secrets", [["zzzzzzzz", "aaa-zzzzzzzz"], ["aaa-zzzzzzzz", "zzzzzzzz"]])
def test_a_secret_that_contains_another_is_removed_whole_whatever_their_order(secrets: list[str]) -> None:
    redaction = Redaction.build(secrets=secrets)
    assert redaction.text("x aaa-zzzzzzzz y") == f"x {REDACTED} y"
    assert redaction.bytes_keeping_offsets(b"x aaa-zzzzzzzz y", [])[0] == f"x {REDACTED} y".encode()
