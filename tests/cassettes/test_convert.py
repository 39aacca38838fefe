"""vcrpy conversion: string, binary and gzipped bodies become events or a body, the key is redacted, and bad input is named."""

from __future__ import annotations

import base64
import gzip
import json

import pytest

from writer_stream_testkit.cassettes.dump import dump_cassette
from writer_stream_testkit.cassettes.load import parse_cassette
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
