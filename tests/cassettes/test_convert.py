"""vcrpy conversion: string, binary and gzipped bodies become events or a body, the key is redacted, and bad input is named."""

from __future__ import annotations

import base64
import gzip
import json
import zlib

import httpx
import pytest
from loaders import alias_bomb
from recorded import URL

from writer_stream_testkit.cassettes import tools
from writer_stream_testkit.cassettes.dump import dump_cassette
from writer_stream_testkit.cassettes.load import parse_cassette
from writer_stream_testkit.cassettes.model import (
    CassetteContent,
)
from writer_stream_testkit.cassettes.timing import render_plan
from writer_stream_testkit.cassettes.tools import (
    convert_vcr,
)
from writer_stream_testkit.errors import CassetteFormatError
from writer_stream_testkit.scripts.chat import StreamScript

KEY = "sk-planted-KEY-0123456789abcdef"


def vcr_yaml(body: str, *, uri: str = "https://api.writer.com/v1/chat") -> str:
    return f"""interactions:
- request:
    body: '{{"model":"palmyra-x5","stream":true,"messages":[{{"role":"user","content":"Hi"}}]}}'
    headers:
      authorization:
      - Bearer {KEY}
      content-type:
      - application/json
      host:
      - api.writer.com
    method: POST
    uri: {uri}
  response:
    body:
{body}
    headers:
      content-type:
      - text/event-stream
      transfer-encoding:
      - chunked
    status:
      code: 200
      message: OK
version: 1
"""


def test_convert_splits_a_string_body_into_events_and_redacts_the_key() -> None:
    sse = StreamScript().content("Hi", f" {KEY}").finish().sse().decode()
    quoted = json.dumps(sse)  # a double-quoted YAML scalar
    content = convert_vcr(vcr_yaml(f"      string: {quoted}"), source="v.yaml")
    (interaction,) = content.interactions
    assert interaction.request.json["messages"][0]["content"] == "Hi"
    assert dict(interaction.request.headers)["authorization"] == "<redacted>"
    assert "host" not in dict(interaction.request.headers)
    assert dict(interaction.response.headers) == {"content-type": "text/event-stream"}
    events = interaction.response.events
    assert events is not None
    assert [e.t for e in events] == [0.0] * 4
    assert events[-1].data == "[DONE]"
    text = dump_cassette(content)
    assert KEY not in text
    assert parse_cassette(text, source="again") == content


def test_convert_reads_binary_and_gzipped_bodies() -> None:
    sse = StreamScript().content("Hé").finish().sse()
    packed = base64.b64encode(gzip.compress(sse)).decode()
    yaml_text = vcr_yaml(f"      string: !!binary |\n        {packed}").replace(
        "      - chunked\n", "      - chunked\n      content-encoding:\n      - gzip\n"
    )
    (interaction,) = convert_vcr(yaml_text, source="v.yaml").interactions
    assert b"".join(data for data, _ in interaction.response.reads()) == sse
    assert "content-encoding" not in dict(interaction.response.headers)


def test_convert_keeps_a_json_body_as_a_body() -> None:
    yaml_text = vcr_yaml('      string: \'{"tpe": "BadRequest"}\'').replace(
        "text/event-stream", "application/json"
    )
    (interaction,) = convert_vcr(yaml_text, source="v.yaml").interactions
    assert interaction.response.events is None
    assert interaction.response.body == b'{"tpe": "BadRequest"}'


def test_convert_refuses_python_object_tags() -> None:
    hostile = "interactions:\n- !!python/object/apply:os.system ['echo owned']\nversion: 1\n"
    with pytest.raises(CassetteFormatError) as caught:
        convert_vcr(hostile, source="evil.yaml")
    message = str(caught.value)
    assert message.startswith("The vcrpy cassette evil.yaml uses a YAML tag that is not plain data")
    assert "never builds Python objects" in message


def test_convert_names_the_place_of_a_malformed_entry() -> None:
    broken = vcr_yaml("      string: ''").replace("code: 200", "code: nine")
    with pytest.raises(CassetteFormatError, match=r"interactions\[0\]\.response\.status is"):
        convert_vcr(broken, source="v.yaml")
    with pytest.raises(
        CassetteFormatError, match="the top level is not a mapping with an `interactions` list"
    ):
        convert_vcr("just: text\n", source="v.yaml")


def vcr_text(body: str, *, encoding: str | None = None, request_json: str = "") -> str:
    coding = f"      content-encoding:\n      - {encoding}\n" if encoding else ""
    return (
        "interactions:\n- request:\n    body: null\n    headers: {}\n    method: POST\n"
        f"    uri: {URL}\n{request_json}  response:\n    body:\n      string: {body}\n    headers:\n"
        f"      content-type:\n      - text/event-stream\n{coding}    status:\n      code: 200\n"
        "      message: OK\nversion: 1\n"
    )


# --- bombs and content codings (issue 15) ---------------------------------------------------------


def test_convert_refuses_an_alias_bomb() -> None:
    bomb = alias_bomb().split("    json:\n", 1)[1].split("  response:", 1)[0]
    text = vcr_text("''").replace("    body: null\n", "    body: null\n    extra:\n" + bomb)
    with pytest.raises(CassetteFormatError) as caught:
        convert_vcr(text, source="bomb.yaml")
    assert str(caught.value).startswith(
        "The vcrpy cassette bomb.yaml uses YAML aliases that stand for more than 1,000,000 characters"
    )


def test_convert_refuses_a_gzip_bomb_without_inflating_it() -> None:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"\0" * (1 << 20)
    packed = b"".join(packer.compress(block) for _ in range(tools.DECODED_BODY_LIMIT // len(block) + 1))
    packed += packer.flush()
    assert len(packed) < tools.DECODED_BODY_LIMIT // 500
    text = vcr_text(f"!!binary |\n        {base64.b64encode(packed).decode()}", encoding="gzip")
    with pytest.raises(CassetteFormatError) as caught:
        convert_vcr(text, source="bomb.yaml")
    assert str(caught.value) == (
        "The vcrpy cassette bomb.yaml cannot be converted: interactions[0].response.body is a gzip body "
        f"that decompresses to more than {tools.DECODED_BODY_LIMIT:,} bytes (a compression bomb, or a body "
        "too large for a cassette). Remove that interaction, or re-record it with a smaller response."
    )


def test_convert_drops_content_encoding_from_a_body_stored_decoded() -> None:
    sse = "data: {}\n\ndata: [DONE]\n\n"
    (interaction,) = convert_vcr(vcr_text(json.dumps(sse), encoding="gzip"), source="v.yaml").interactions
    response = interaction.response
    assert "content-encoding" not in dict(response.headers)
    loaded = parse_cassette(dump_cassette(CassetteContent((interaction,))), source="again")
    plan = render_plan(loaded.interactions[0].response)
    replayed = httpx.Response(plan.status, headers=plan.headers, content=plan.body())
    assert replayed.text == sse  # with content-encoding: gzip kept, httpx raised DecodingError here


@pytest.mark.parametrize(("coding", "kept"), [("identity", False), ("br", True)])
def test_convert_keeps_only_a_coding_the_body_still_has(coding: str, kept: bool) -> None:
    (interaction,) = convert_vcr(vcr_text("'data: x'", encoding=coding), source="v.yaml").interactions
    assert ("content-encoding" in dict(interaction.response.headers)) is kept
