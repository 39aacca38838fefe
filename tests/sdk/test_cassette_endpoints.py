"""Cassettes beyond chat: any method and path records, replays in-process and over a socket, and reads well.

The stand-in API (tests/support/standin.py) is stdlib ``http.server``, not the kit, so a
recording made through it shows what the kit does with bytes it did not write.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import writerai
from cliutil import Background
from hypothesis import given, settings
from hypothesis import strategies as st
from standin import APPLICATION_ID, GRAPH_ID, KEY, StandIn, stand_in
from writerai._models import construct_type  # what writerai.Stream turns each chunk into

from writer_stream_testkit.cassettes.cassette import Cassette
from writer_stream_testkit.cassettes.files import save_cassette
from writer_stream_testkit.cassettes.load import load_cassette
from writer_stream_testkit.cassettes.model import (
    CassetteContent,
    Interaction,
    RecordedEvent,
    RecordedRequest,
    RecordedResponse,
)
from writer_stream_testkit.cassettes.proxy import RecordingProxy
from writer_stream_testkit.cassettes.tools import compare_responses
from writer_stream_testkit.cli import main
from writer_stream_testkit.doubles.server import FakeWriterServer
from writer_stream_testkit.errors import CassetteMissError, CassetteRecordError
from writer_stream_testkit.testing.snapshot import to_transcript
from writer_stream_testkit.wire.stream_kinds import view_chunk

WAIT = 20.0
QUESTION = "What is the generic name for the drug Bavencio?"
SSE_CALLS = ("chat", "completions", "graphs.question", "applications")


# --- the five calls a small Writer app makes, sync and async ------------------------------------


def _requests(client: Any) -> list[tuple[str, Any]]:
    """(name, thunk) for each call; a thunk returns a value (sync) or an awaitable (async)."""
    return [
        ("models.list", lambda: client.models.list()),
        (
            "chat",
            lambda: client.chat.chat(
                model="palmyra-x5", stream=True, messages=[{"role": "user", "content": "Say hello"}]
            ),
        ),
        ("completions", lambda: client.completions.create(model="palmyra-x5", prompt="Once", stream=True)),
        (
            "graphs.question",
            lambda: client.graphs.question(graph_ids=[GRAPH_ID], question=QUESTION, stream=True),
        ),
        (
            "applications",
            lambda: client.applications.generate_content(
                APPLICATION_ID, inputs=[{"id": "query", "value": ["hotels near Union Square"]}], stream=True
            ),
        ),
    ]


def _seen(name: str, items: list[Any]) -> tuple[str, list[tuple[str, Any]]]:
    return name, [(type(item).__name__, item.to_dict()) for item in items]


def five_calls(base_url: str) -> list[tuple[str, list[tuple[str, Any]]]]:
    """Every object the SDK hands back, by call: class name and its data."""
    with writerai.Writer(api_key=KEY, base_url=base_url, max_retries=0, timeout=WAIT) as client:
        out = []
        for name, call in _requests(client):
            result = call()
            out.append(_seen(name, result.models if name == "models.list" else list(result)))
        return out


async def afive_calls(base_url: str) -> list[tuple[str, list[tuple[str, Any]]]]:
    async with writerai.AsyncWriter(api_key=KEY, base_url=base_url, max_retries=0, timeout=WAIT) as client:
        out = []
        for name, call in _requests(client):
            result = await call()
            out.append(_seen(name, result.models if name == "models.list" else [c async for c in result]))
        return out


def run_five(mode: str, base_url: str) -> list[tuple[str, list[tuple[str, Any]]]]:
    return five_calls(base_url) if mode == "sync" else asyncio.run(afive_calls(base_url))


@pytest.fixture
def standin() -> Iterator[StandIn]:
    with stand_in() as server:
        yield server


def record_five(path: Path, standin: StandIn, mode: str) -> list[tuple[str, list[tuple[str, Any]]]]:
    with Cassette(path, record_mode="once", base_url=standin.url):
        return run_five(mode, standin.url)


# --- done when: record once from a stand-in, replay offline in-process and over a socket ---------


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_five_calls_record_into_one_redacted_cassette_and_replay_identically_in_process_and_over_a_socket(
    tmp_path: Path, mode: str
) -> None:
    path = tmp_path / "five.yaml"
    with stand_in() as live_api:
        live = record_five(path, live_api, mode)
        url = live_api.url
        assert len(live_api.served) == 5
    assert [name for name, _ in live] == ["models.list", *SSE_CALLS]
    assert live[0][1] == [
        ("Model", {"id": "palmyra-x5", "name": "Palmyra X5"}),
        ("Model", {"id": "palmyra-x4", "name": "Palmyra X4"}),
    ]
    assert [kind for kind, _ in live[2][1]] == ["CompletionChunk"] * 3
    assert live[4][1][0] == (
        "ApplicationGenerateContentChunk",
        {
            "delta": {
                "title": "Research",
                "stages": [
                    {
                        "id": APPLICATION_ID,
                        "content": "Searching for hotels",
                        "sources": ["https://www.example.com/hotels"],
                    }
                ],
            }
        },
    )

    text = path.read_text()
    assert KEY not in text
    content = load_cassette(path)
    assert [(i.request.method, i.request.path) for i in content.interactions] == [
        ("GET", "/v1/models"),
        ("POST", "/v1/chat"),
        ("POST", "/v1/completions"),
        ("POST", "/v1/graphs/question"),
        ("POST", f"/v1/applications/{APPLICATION_ID}"),
    ]
    assert all(dict(i.request.headers)["authorization"] == "<redacted>" for i in content.interactions)
    assert [len(i.response.events or ()) for i in content.interactions] == [0, 5, 3, 2, 3]

    # The stand-in is gone: every replay below is offline.
    with Cassette(path, base_url=url) as cassette:
        assert run_five(mode, url) == live
    assert cassette.play_counts == [1] * 5

    with FakeWriterServer(cassette=Cassette(path)) as server:
        assert run_five(mode, server.base_url) == live
    assert [f"{c.method} {c.path}" for c in server.calls] == [
        "GET /v1/models",
        "POST /v1/chat",
        "POST /v1/completions",
        "POST /v1/graphs/question",
        f"POST /v1/applications/{APPLICATION_ID}",
    ]


def test_serve_cassettes_in_a_subprocess_replays_the_five_calls_sync_and_async(tmp_path: Path) -> None:
    (tmp_path / "cassettes").mkdir()
    with stand_in() as live_api:
        live = record_five(tmp_path / "cassettes" / "five.yaml", live_api, "sync")
    served = Background(
        ["serve", "--cassettes", str(tmp_path / "cassettes"), "--port", "0", "--allow-repeats"]
    )
    try:
        assert five_calls(served.url) == live
        assert run_five("async", served.url) == live
    finally:
        code, err = served.stop()
    assert code == 0, err
    assert "Stopped after 10 request(s)." in err


def test_a_request_no_recording_matches_gets_a_miss_naming_its_method_and_path_over_a_socket(
    tmp_path: Path, standin: StandIn
) -> None:
    path = tmp_path / "c.yaml"
    record_five(path, standin, "sync")
    server = FakeWriterServer(cassette=Cassette(path)).start()
    try:
        response = httpx.get(server.base_url + "/v1/files?limit=2", timeout=WAIT)
    finally:
        server.stop()
    assert response.status_code == 500
    assert "no unplayed recording that matches GET /v1/files" in response.text
    with pytest.raises(CassetteMissError, match=r"no unplayed recording that matches GET /v1/files"):
        server.verify()


def test_the_record_proxy_records_any_path_and_its_recording_replays_in_process(
    tmp_path: Path, standin: StandIn
) -> None:
    path = tmp_path / "proxied.yaml"
    proxy = RecordingProxy(Cassette(path, record_mode="once"), standin.url)
    with FakeWriterServer(source=proxy) as server:
        live = five_calls(server.base_url)
    proxy.save()
    assert KEY not in path.read_text()
    assert [i.request.path for i in load_cassette(path).interactions][:3] == [
        "/v1/models",
        "/v1/chat",
        "/v1/completions",
    ]
    with FakeWriterServer(cassette=Cassette(path)) as replay:
        assert five_calls(replay.base_url) == live


# --- recording is never silent --------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_recording_fails_the_block_when_requests_pass_by_unrecorded_to_an_unknown_loopback_host(
    tmp_path: Path, standin: StandIn, mode: str
) -> None:
    path = tmp_path / "c.yaml"
    with pytest.raises(CassetteRecordError) as failed, Cassette(path, record_mode="once"):
        live = run_five(mode, standin.url)
    assert len(live) == 5  # the requests went through: the code under test ran as it would
    assert not path.exists()
    message = str(failed.value)
    assert message.startswith(
        f"Cassette {path} was asked to record (record_mode='once'), but 5 requests went to {standin.url}, a "
        "loopback host it was not told about, and passed through unrecorded:\n"
        f"  GET /v1/models (no body) to {standin.url}/v1/models\n"
        f"  POST /v1/chat (model='palmyra-x5', stream=True"
    )
    assert f"pass Cassette(..., base_url={standin.url!r})" in message
    assert f"ignore_hosts=[{standin.url.removeprefix('http://')!r}]" in message


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_replay_only_cassette_lets_loopback_requests_pass_quietly(
    tmp_path: Path, standin: StandIn, mode: str
) -> None:
    with Cassette(tmp_path / "c.yaml"):
        run_five(mode, standin.url)
    with Cassette(tmp_path / "c.yaml", record_mode="new_episodes", ignore_hosts=[standin.url]):
        run_five(mode, standin.url)
    assert not (tmp_path / "c.yaml").exists()
    assert len(standin.served) == 10


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_recording_cassette_lets_requests_to_the_kits_own_running_server_pass(
    tmp_path: Path, mode: str
) -> None:
    from writer_stream_testkit.scripts.chat import StreamScript

    body = {"model": "palmyra-x5", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    with FakeWriterServer() as server, Cassette(tmp_path / "c.yaml", record_mode="all"):
        server.reply(StreamScript().content("Hi").finish())
        if mode == "sync":
            with httpx.Client(timeout=WAIT) as client:
                status = client.post(
                    server.base_url.replace("127.0.0.1", "localhost") + "/v1/chat", json=body
                ).status_code
        else:

            async def post() -> int:
                async with httpx.AsyncClient(timeout=WAIT) as client:
                    return (await client.post(server.base_url + "/v1/chat", json=body)).status_code

            status = asyncio.run(post())
    assert status == 200
    assert not (tmp_path / "c.yaml").exists()


def test_ignore_hosts_entries_must_be_hosts() -> None:
    with pytest.raises(
        ValueError, match=r"ignore_hosts entry 'http://x/v1' is not a host; write 'localhost'"
    ):
        Cassette("c.yaml", ignore_hosts=["http://x/v1"])


def test_a_stopped_server_is_no_longer_one_of_the_kits_own(tmp_path: Path) -> None:
    from writer_stream_testkit.doubles.hosts import running_doubles

    with FakeWriterServer() as server:
        url = httpx.URL(server.base_url)
        assert running_doubles.serves(url)
        assert running_doubles.serves(url.copy_with(host="localhost"))
        assert not running_doubles.serves(url.copy_with(host="example.com"))
    assert not running_doubles.serves(url)


# --- show, snapshots and verify read every stream -------------------------------------------------


@pytest.fixture(scope="module")
def five_cassette(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("five") / "five.yaml"
    with stand_in() as live_api:
        record_five(path, live_api, "sync")
    return path


def _sse_events(path: Path, index: int) -> list[dict[str, Any]]:
    events = load_cassette(path).interactions[index].response.events or ()
    return [json.loads(e.data) for e in events if e.data and e.data != "[DONE]"]


def test_show_renders_each_stream_as_readable_events_and_what_it_adds_up_to(
    five_cassette: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["show", str(five_cassette)]) == 0
    out = capsys.readouterr().out
    blocks = out.split("\n\n")
    assert blocks[1].startswith("[0] GET http://127.0.0.1:")
    assert '    no body\n    -> 200 application/json, 100 body bytes: \'{"models"' in blocks[1]
    completion = blocks[3].splitlines()
    assert completion[1] == "    model=palmyra-x5  stream=true  prompt: 'Once'"
    assert [line[18:] for line in completion[3:6]] == [
        "completion             text=''",
        "completion             text='Once upon'",
        "completion             text=' a time'",
    ]
    assert completion[-2:] == ["    final completion:", "      text='Once upon a time'"]
    question = blocks[4].splitlines()
    assert question[1] == (f"    stream=true  question: {QUESTION!r}  graph_ids: {GRAPH_ID}")
    assert question[3].endswith("question               text='The generic name'")
    assert (
        "text=' is avelumab.'  sources=[{'file_id': '1234', 'snippet': 'Bavencio is the brand name"
        in question[4]
    )
    assert question[5:7] == ["    final question:", "      text='The generic name is avelumab.'"]
    application = blocks[5].splitlines()
    assert application[1] == "    stream=true  inputs: query='hotels near Union Square'"
    assert application[3].endswith(
        f"application            title='Research'  stage '{APPLICATION_ID}': 'Searching for hotels' "
        "sources=['https://www.example.com/hotels']"
    )
    assert application[-3:] == [
        "      text='Here are three hotels near Union Square.'",
        "      title='Research'",
        f"      stage '{APPLICATION_ID}': 'Searching for hotels' sources=['https://www.example.com/hotels']",
    ]
    assert "!!" not in out  # streams that end without [DONE] are not flagged: only chat sends it


@pytest.mark.parametrize("index", [1, 2, 3, 4])
def test_snapshot_transcripts_of_writerai_chunks_and_of_their_dicts_are_the_same(
    five_cassette: Path, index: int
) -> None:
    objects = _sdk_chunks(five_cassette, index)
    dicts = [d for d in _sse_events(five_cassette, index) if isinstance(d, dict)]
    assert len(objects) == len(dicts) > 0
    assert to_transcript(objects) == to_transcript(dicts)


def _sdk_chunks(path: Path, index: int) -> list[Any]:
    """The SDK's objects for the recorded stream ``index``, replayed in-process."""
    with (
        Cassette(path, base_url="http://stand-in.test", allow_playback_repeats=True),
        writerai.Writer(api_key=KEY, base_url="http://stand-in.test", max_retries=0) as client,
    ):
        _, call = _requests(client)[index]
        return list(call())


def test_a_completion_transcript_is_one_line_per_chunk_with_its_text(five_cassette: Path) -> None:
    assert to_transcript(_sdk_chunks(five_cassette, 2)) == (
        "chunks (3):\n"
        "   0  completion             text=''\n"
        "   1  completion             text='Once upon'\n"
        "   2  completion             text=' a time'\n"
        "final completion:\n"
        "  text='Once upon a time'\n"
    )


def test_question_and_application_transcripts_show_sources_and_stages(five_cassette: Path) -> None:
    question = to_transcript(_sdk_chunks(five_cassette, 3)).splitlines()
    assert question[:2] == ["chunks (2):", "   0  question               text='The generic name'"]
    assert question[2].startswith(
        "   1  question               text=' is avelumab.'  sources=[{'file_id': '1234', 'snippet': "
    )
    assert question[3:5] == ["final question:", "  text='The generic name is avelumab.'"]
    application = to_transcript(_sdk_chunks(five_cassette, 4)).splitlines()
    assert application[1] == (
        f"   0  application            title='Research'  stage '{APPLICATION_ID}': 'Searching for hotels' "
        "sources=['https://www.example.com/hotels']"
    )
    assert application[2] == "   1  application            text='Here are three hotels'"


def test_the_spec_shaped_question_reads_like_the_flat_one() -> None:
    flat = {"question": "Q?", "answer": "A", "sources": [{"file_id": "f", "snippet": "s"}]}
    wrapped = writerai.types.QuestionResponseChunk.model_validate(
        {"data": {**flat, "subqueries": None, "references": None}}
    )
    assert to_transcript([wrapped]) == to_transcript([flat])
    assert view_chunk(wrapped).shape == ("question (in data): answer", "question (in data): sources")  # type: ignore[union-attr]
    assert view_chunk(flat).shape == ("question: answer", "question: sources")  # type: ignore[union-attr]


def test_a_chunk_transcript_refuses_mixed_streams_and_non_chunks() -> None:
    with pytest.raises(
        TypeError, match=r"chunks of a completion stream, but item #1 \(dict\) is a question chunk"
    ):
        to_transcript([{"value": "a"}, {"answer": "b", "question": "q"}])
    with pytest.raises(TypeError, match=r"item #1 \(str\) is not a stream chunk; snapshot one stream's"):
        to_transcript([{"value": "a"}, "b"])


def test_verify_finds_no_drift_in_a_stand_in_that_answers_the_same(
    five_cassette: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with stand_in() as live_api:
        code = main(["verify", str(five_cassette), "--upstream", live_api.url, "--api-key", KEY])
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.rstrip().endswith("No drift: all 5 interactions stream the same shape as recorded.")
    assert "[3] POST /v1/graphs/question" in out


def _stream(*data: str, complete: bool = True) -> RecordedResponse:
    events = tuple(RecordedEvent(d, t=i / 100) for i, d in enumerate(data))
    return RecordedResponse(200, (("content-type", "text/event-stream"),), events=events, complete=complete)


def test_verify_compares_completion_question_and_application_shapes_not_their_text() -> None:
    completion = _stream('{"value":""}', '{"value":"Hel"}', '{"value":"lo"}')
    rechunked = _stream('{"value":""}', '{"value":"Hi"}', '{"value":" there"}', '{"value":"!"}')
    same = compare_responses(completion, rechunked)
    assert not same.drifted
    assert same.notes == ("text of the completion differs (not drift): recorded 'Hello', live 'Hi there!'",)
    assert compare_responses(completion, _stream('{"text":"Hello"}')).drifted

    flat = _stream(
        '{"question":"Q","answer":"A","sources":[]}',
        '{"question":"Q","answer":"B","sources":[{"file_id":"1"}]}',
    )
    no_sources = _stream('{"question":"Q","answer":"AB","sources":[]}')
    drift = compare_responses(flat, no_sources)
    assert drift.drifted
    assert drift.diff == ("  #0    #0    question: answer  (x2/1)", "- #1          question: sources")
    wrapped = _stream(
        '{"data":{"question":"Q","answer":"A","sources":[]}}',
        '{"data":{"question":"Q","answer":"B","sources":[{"file_id":"1"}]}}',
    )
    assert compare_responses(flat, wrapped).drifted

    staged = _stream(
        '{"delta":{"title":"R","stages":[{"id":"s","content":"c"}]}}', '{"delta":{"content":"x"}}'
    )
    unstaged = _stream('{"delta":{"content":"x"}}')
    drift = compare_responses(staged, unstaged)
    assert drift.drifted
    assert drift.problem == "the event shapes first differ at recorded event #0 / live event #0"
    assert any("application: title" in line for line in drift.diff)
    assert not compare_responses(
        staged,
        _stream(
            '{"delta":{"title":"T","stages":[{"id":"u","content":"d"}]}}',
            '{"delta":{"content":"y"}}',
            '{"delta":{"content":"z"}}',
        ),
    ).drifted


def test_serve_script_names_a_request_no_script_answers() -> None:
    from writer_stream_testkit.cli.serve import Cycle
    from writer_stream_testkit.errors import UnexpectedRequestError
    from writer_stream_testkit.scripts.chat import StreamScript

    with (
        pytest.raises(
            UnexpectedRequestError,
            match=r"  - GET /v1/models \(no body\): 500, no script: the scripts given serve POST /v1/chat\.",
        ),
        FakeWriterServer(source=Cycle([StreamScript().content("Hi").finish()])) as server,
    ):
        response = httpx.get(server.base_url + "/v1/models", timeout=WAIT)
    assert response.status_code == 500
    assert "No script answers GET /v1/models" in response.text
    assert "the scripts given serve POST /v1/chat" in response.text


def test_in_pytest_a_forgotten_base_url_fails_the_recording_test_at_teardown(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, standin: StandIn
) -> None:
    monkeypatch.setenv("STANDIN_URL", standin.url)
    pytester.makeini("[pytest]\nfilterwarnings = error\naddopts = -p no:cacheprovider\n")
    pytester.makepyfile(
        test_app=f"""
        import os

        import httpx
        import pytest

        @pytest.mark.writer_cassette("c.yaml", record_mode="once")
        def test_forgot(writer_cassette):
            url = os.environ["STANDIN_URL"] + "/v1/models"
            assert httpx.get(url, headers={{"authorization": "Bearer {KEY}"}}).status_code == 200

        @pytest.mark.writer_cassette("d.yaml", record_mode="once", base_url=os.environ["STANDIN_URL"])
        def test_named(writer_cassette):
            url = os.environ["STANDIN_URL"] + "/v1/models"
            assert httpx.get(url, headers={{"authorization": "Bearer {KEY}"}}).status_code == 200
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:xdist")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [f"*was asked to record (record_mode='once'), but 1 request went to {standin.url}, a loopback host*"]
    )
    assert (pytester.path / "cassettes" / "test_app" / "d.yaml").exists() or list(
        pytester.path.rglob("d.yaml")
    )
    assert not list(pytester.path.rglob("c.yaml"))


def test_any_method_replays_the_same_in_process_and_over_a_socket(tmp_path: Path) -> None:
    path = tmp_path / "methods.yaml"
    json_type = (("content-type", "application/json"),)
    requests = [
        ("DELETE", "/v1/files/f1", RecordedResponse(204, ())),
        ("HEAD", "/v1/models", RecordedResponse(200, json_type, body=b"")),
        ("GET", "/v1/files?limit=2", RecordedResponse(200, json_type, body=b'{"data":[],"has_more":false}')),
        ("PUT", "/v1/graphs/g1", RecordedResponse(200, json_type, body=b'{"id":"g1"}')),
        ("GET", "/v1/files/f9", RecordedResponse(304, ())),
    ]
    recorded = [
        Interaction(RecordedRequest(method, "https://api.writer.com" + target), response)
        for method, target, response in requests
    ]
    save_cassette(path, CassetteContent(tuple(recorded)))

    def send(client: httpx.Client, base: str) -> list[tuple[int, bytes, str | None]]:
        answers = [client.request(method, base + target) for method, target, _ in requests]
        return [(r.status_code, r.content, r.headers.get("content-type")) for r in answers]

    with Cassette(path), httpx.Client(timeout=WAIT) as client:
        in_process = send(client, "https://api.writer.com")
    with FakeWriterServer(cassette=Cassette(path)) as server, httpx.Client(timeout=WAIT) as client:
        over_socket = send(client, server.base_url)
    assert (
        in_process
        == over_socket
        == [
            (204, b"", None),
            (200, b"", "application/json"),
            (200, b'{"data":[],"has_more":false}', "application/json"),
            (200, b'{"id":"g1"}', "application/json"),
            (304, b"", None),
        ]
    )


# --- differential: a dict and the SDK's object for it read the same -------------------------------

_text = st.text(max_size=12)
_maybe_text = st.none() | _text
_stage = st.fixed_dictionaries(
    {"id": st.uuids().map(str), "content": _text},
    optional={"sources": st.none() | st.lists(_text, max_size=2)},
)
_source = st.fixed_dictionaries({"file_id": _text, "snippet": _text})
_question_body = st.fixed_dictionaries(
    {"question": _text, "answer": _text, "sources": st.lists(_source, max_size=2)},
    optional={
        "subqueries": st.none()
        | st.lists(st.fixed_dictionaries({"query": _text, "answer": _text}), max_size=1),
        "references": st.none()
        | st.fixed_dictionaries({"files": st.lists(st.fixed_dictionaries({"fileId": _text}), max_size=1)}),
    },
)
CHUNKS = {
    "CompletionChunk": st.fixed_dictionaries({"value": _text}),
    "QuestionResponseChunk": _question_body | _question_body.map(lambda body: {"data": body}),
    "ApplicationGenerateContentChunk": st.fixed_dictionaries(
        {
            "delta": st.fixed_dictionaries(
                {},
                optional={
                    "content": _maybe_text,
                    "title": _maybe_text,
                    "stages": st.none() | st.lists(_stage, max_size=2),
                },
            )
        }
    ),
}


@pytest.mark.parametrize("type_name", sorted(CHUNKS))
@settings(max_examples=40)
@given(data=st.data())
def test_a_chunk_reads_the_same_as_a_dict_and_as_the_sdk_object_it_parses_to(
    type_name: str, data: st.DataObject
) -> None:
    chunks = data.draw(st.lists(CHUNKS[type_name], min_size=1, max_size=4))
    model = getattr(writerai.types, type_name)
    objects = [construct_type(type_=model, value=chunk) for chunk in chunks]
    assert [view_chunk(o) for o in objects] == [view_chunk(c) for c in chunks]
    assert to_transcript(objects) == to_transcript(chunks)
