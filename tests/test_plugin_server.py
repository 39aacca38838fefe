"""The ``writer_server`` fixture with a cassette that may record, and the plugin's recording hints, through ``pytester``.

A marked cassette whose record mode may record is served through the record
proxy, so a client in another process records into it; these tests use a
subprocess client and a ``FakeWriterServer`` standing in for the real API.
"""

from __future__ import annotations

import pytest

from writer_stream_testkit.cassettes.load import load_cassette
from writer_stream_testkit.doubles.server import FakeWriterServer
from writer_stream_testkit.scripts.chat import StreamScript

KEY = "sk-subprocess-KEY-0a1b2c3d4e5f"

# A client in another process: it knows nothing of the kit, only the base URL it is given.
CLIENT = """
import sys

import writerai

client = writerai.Writer(api_key=sys.argv[2], base_url=sys.argv[1], max_retries=0)
stream = client.chat.chat(
    model="palmyra-x5", stream=True, messages=[{"role": "user", "content": sys.argv[3]}]
)
print("".join(c.choices[0].delta.content or "" for c in stream if c.choices), end="")
"""

TESTS = """
import subprocess
import sys

import pytest

CLIENT = {client!r}


def ask(base_url, prompt):
    done = subprocess.run(
        [sys.executable, "-c", CLIENT, base_url, {key!r}, prompt],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.writer_cassette("srv.yaml", record_mode="once", upstream={upstream!r})
def test_subprocess(writer_server):
    assert ask(writer_server.base_url, "hi") == "Hello"
    assert ask(writer_server.base_url, "again") == "Hello again"
"""


def write(pytester: pytest.Pytester, upstream_url: str) -> None:
    pytester.makepyfile(
        test_app=TESTS.format(client=CLIENT, key=KEY, upstream=upstream_url),
    )


def test_writer_server_records_a_subprocess_client_then_replays_it_with_the_upstream_gone(
    project: pytest.Pytester,
) -> None:
    cassette = project.path / "cassettes" / "srv.yaml"
    with FakeWriterServer() as upstream:
        upstream.reply(
            StreamScript().content("Hel", "lo").finish(), messages=[{"role": "user", "content": "hi"}]
        )
        upstream.reply(StreamScript().content("Hello", " again").finish())
        write(project, upstream.base_url)
        project.runpytest().assert_outcomes(passed=1)
        assert [c.json["messages"][0]["content"] for c in upstream.calls] == ["hi", "again"]
        assert upstream.calls[0].headers["authorization"] == f"Bearer {KEY}"  # forwarded upstream
    recorded = load_cassette(cassette).interactions
    assert [i.request.json["messages"][0]["content"] for i in recorded] == ["hi", "again"]
    assert all(i.response.status == 200 and i.response.complete for i in recorded)
    assert KEY not in cassette.read_text()
    before = cassette.read_bytes()

    # The upstream is gone: once mode with the file present only replays, over the plain server.
    result = project.runpytest()
    result.assert_outcomes(passed=1)
    assert cassette.read_bytes() == before


def test_a_request_the_upstream_cannot_answer_fails_the_test_saying_recording_failed(
    project: pytest.Pytester,
) -> None:
    with FakeWriterServer() as gone:
        dead = gone.base_url
    project.makepyfile(
        test_app=f"""
        import httpx
        import pytest

        @pytest.mark.writer_cassette("srv.yaml", record_mode="once", upstream={dead!r})
        def test_dead(writer_server):
            response = httpx.post(writer_server.base_url + "/v1/chat", json={{"model": "m", "messages": []}})
            assert response.status_code == 502
            assert response.headers["x-should-retry"] == "false"
        """
    )
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            f"*CassetteRecordError: The record proxy could not reach the upstream {dead} for POST /v1/chat "
            "(model='m', stream=False, 0 messages) (ConnectError: *); check the cassette's upstream= "
            "(--writer-upstream) and that the upstream is up. Nothing was recorded.",
        ]
    )
    assert not (project.path / "cassettes" / "srv.yaml").exists()


def test_a_replay_only_cassette_is_served_without_the_proxy(
    project: pytest.Pytester, upstream: FakeWriterServer
) -> None:
    project.makepyfile(
        test_app="""
        import httpx
        import pytest

        @pytest.mark.writer_cassette("srv.yaml")
        def test_replay_only(writer_server):
            response = httpx.post(writer_server.base_url + "/v1/chat", json={"model": "m", "messages": []})
            assert response.status_code == 500
            assert "does not exist, so nothing can replay" in response.text
            writer_server.reset()
        """
    )
    project.runpytest().assert_outcomes(passed=1)
    assert upstream.calls == []


HINT = (
    "recording needs a real WRITER_API_KEY (the plugin sets a dummy key only for replay). If the failure "
    "is about the API key, set WRITER_API_KEY to a real key and run again."
)


@pytest.mark.parametrize("fixture", ["writer_cassette", "writer_server"])
def test_a_recording_test_that_fails_without_an_api_key_says_recording_needs_one(
    project: pytest.Pytester, fixture: str
) -> None:
    project.makepyfile(
        test_app=f"""
        import pytest
        import writerai

        @pytest.mark.writer_cassette
        def test_records({fixture}):
            writerai.Writer()
        """
    )
    result = project.runpytest("--writer-record-mode=once", "-rN")
    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    assert "api_key client option must be set" in output
    assert "writer-stream-testkit: hint" in output
    cassette = project.path / "cassettes" / "test_app" / "test_records.yaml"
    assert (
        f"Cassette {cassette} may record in this test (record_mode='once') and WRITER_API_KEY is not set: "
        in output.replace("\n", "")
    )
    assert HINT in output.replace("\n", "")


def test_no_hint_when_the_key_is_set_or_the_cassette_only_replays(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.makepyfile(
        test_app="""
        def test_fails(writer_cassette):
            assert False, "the test's own failure"
        """
    )
    replay_only = project.runpytest()
    replay_only.assert_outcomes(failed=1)
    assert "writer-stream-testkit: hint" not in replay_only.stdout.str()
    monkeypatch.setenv("WRITER_API_KEY", "a-real-key")
    keyed = project.runpytest("--writer-record-mode=once")
    keyed.assert_outcomes(failed=1)
    assert "writer-stream-testkit: hint" not in keyed.stdout.str()


def test_an_upstream_that_is_not_a_url_fails_the_test_naming_the_option(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_app="""
        def test_records(writer_cassette):
            pass
        """
    )
    result = project.runpytest("--writer-record-mode=once", "--writer-upstream=notaurl")
    result.assert_outcomes(errors=1)
    assert (
        "upstream='notaurl' (--writer-upstream in pytest) is not an http(s) base URL; pass an absolute one "
        "such as https://api.writer.com" in result.stdout.str().replace("\n", "")
    )
