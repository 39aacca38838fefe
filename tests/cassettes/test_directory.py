"""serve --cassettes' miss message: the closest recording, its file and the directory, and what to do about a repeat."""

from __future__ import annotations

import json

from recorded import chat_request

from writer_stream_testkit.cassettes.tools import (
    directory_miss_message,
)
from writer_stream_testkit.wire.call import Call


def test_directory_miss_names_the_closest_recording_its_file_and_the_directory() -> None:
    body = {"model": "palmyra-x5", "stream": True, "messages": [{"role": "user", "content": "Say hello!"}]}
    call = Call.create(method="POST", url="http://127.0.0.1:1/v1/chat", content=json.dumps(body).encode())
    candidates = [
        ("d/a.yaml", 0, chat_request("Weather in Paris?"), False),
        ("d/b.yaml", 1, chat_request("Say hello"), True),
    ]
    message = directory_miss_message("d", call, candidates)
    lines = message.splitlines()
    assert lines[0].startswith("No cassette in d has an unplayed recording that matches POST /v1/chat")
    assert lines[1] == (
        "The closest recording is d/b.yaml interactions[1] (POST https://api.writer.com/v1/chat), "
        "which was already replayed (each recording replays once)."
    )
    assert '-      "content": "Say hello",' in lines
    assert '+      "content": "Say hello!",' in lines
    assert lines[-1].startswith("Record this request into a cassette in d with `writer-stream-testkit record")
    assert "holds no recordings at all" in directory_miss_message("d", call, [])


def test_directory_miss_for_a_request_already_played_suggests_allow_repeats() -> None:
    body = {"model": "palmyra-x5", "stream": True, "messages": [{"role": "user", "content": "Say hello"}]}
    call = Call.create(method="POST", url="http://127.0.0.1:1/v1/chat", content=json.dumps(body).encode())
    played = directory_miss_message("d", call, [("d/b.yaml", 0, chat_request("Say hello"), True)])
    assert played.splitlines()[2] == (
        "It is the same request, played before. To replay recordings as often as they are asked for, "
        "restart the server with `writer-stream-testkit serve --cassettes d --allow-repeats`."
    )
    different_body = directory_miss_message("d", call, [("d/b.yaml", 0, chat_request("Bye"), True)])
    assert "--allow-repeats" not in different_body  # a repeat would not match it anyway
