"""What FakeWriterServer sends, type-checked against the Node SDK's declared types (``writer-sdk`` 2.3.2).

Stainless' Python types make every optional field ``Optional[...] = None``, so they cannot
tell "may be left out" from "may be null"; the Node SDK's ``.d.ts`` can (``title?: string``
against ``stages?: Array<Stage> | null``), and a TypeScript app that tests
``!== undefined`` depends on the difference. Every chunk and every ``stream: false`` body
of every streaming endpoint is fetched from a real server on 127.0.0.1, written into a
TypeScript file as a literal of the type the SDK reads it as, and compiled with
``tsc --strict``. A ``@ts-expect-error`` line with a null where the type forbids one proves
the check can fail. ``writer-sdk`` and ``typescript`` are installed once into
``.cache/node-writer-types``; without Node the test skips, saying why.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from nodeutil import npm_install

from writer_stream_testkit import (
    ApplicationScript,
    CompletionScript,
    FakeWriterServer,
    QuestionScript,
    StreamScript,
)

ROOT = Path(__file__).resolve().parents[2]
TYPES_DIR = ROOT / ".cache" / "node-writer-types"
PACKAGES = ["writer-sdk@2.3.2", "typescript@5.9.3"]
TSC = TYPES_DIR / "node_modules" / "typescript" / "bin" / "tsc"
SOURCE = {"file_id": "f1", "snippet": "Paris is the capital of France."}
STAGE = "3c90c3cc-0d44-4b50-8888-8dd25736052a"

CHAT = (
    StreamScript()
    .content("The weather", " is sunny", logprobs=[-0.1, -0.2])
    .refusal("I can't say more.")
    .tool_call("get_weather", ['{"city": ', '"SF"}'])
    .graph_data(sources=[SOURCE], status="finished", subqueries=[])
    .llm_data(model="palmyra-x5", prompt="p")
    .translation_data(source_language_code="en", source_text="hi", target_language_code="fr")
    .finish("tool_calls")
    .usage(prompt_tokens=12, completion_tokens=9)
)

# (endpoint path, request body, script, chunk type, stream: false type)
ENDPOINTS: list[tuple[str, dict[str, Any], Any, str, str]] = [
    (
        "/v1/chat",
        {"model": "palmyra-x5", "messages": [{"role": "user", "content": "Hi"}]},
        CHAT,
        "ChatCompletionChunk",
        "ChatCompletion",
    ),
    (
        "/v1/chat",
        {"model": "palmyra-x5", "messages": [{"role": "user", "content": "Hi"}]},
        StreamScript(n=2).content("A").content("B", choice=1),
        "ChatCompletionChunk",
        "ChatCompletion",
    ),
    (
        "/v1/completions",
        {"model": "palmyra-x5", "prompt": "Once"},
        CompletionScript().text("Once", " upon"),
        "CompletionChunk",
        "Completion",
    ),
    (
        "/v1/graphs/question",
        {"question": "Capital of France?", "graph_ids": ["g1"]},
        QuestionScript(shape="spec")
        .answer("Paris", " is the capital")
        .sources(SOURCE)
        .subqueries({"query": "q", "answer": "a", "sources": [SOURCE]})
        .references(files=[{"fileId": "f1", "score": 0.9, "text": "t"}]),
        "QuestionResponseChunk",
        "Question",
    ),
    (
        "/v1/graphs/question",
        {"question": "Capital of France?", "graph_ids": ["g1"]},
        QuestionScript(shape="spec").answer("Paris"),
        "QuestionResponseChunk",
        "Question",
    ),
    (
        "/v1/applications/app-1",
        {"inputs": [{"id": "query", "value": ["hotels"]}]},
        ApplicationScript()
        .title("Research")
        .stage(STAGE, "Searching", sources=["https://e.com"])
        .content("Here"),
        "ApplicationGenerateContentChunk",
        "ApplicationGenerateContentResponse",
    ),
    (
        "/v1/applications/app-1",
        {"inputs": [{"id": "query", "value": ["hotels"]}]},
        ApplicationScript().stage(STAGE, "Searching").content("Here", " are"),
        "ApplicationGenerateContentChunk",
        "ApplicationGenerateContentResponse",
    ),
]


@pytest.fixture(scope="module")
def tsc() -> Path:
    npm_install(TYPES_DIR, PACKAGES, TSC, "to check the server's bodies against the Node SDK's types")
    return TSC


def _data_lines(body: str) -> list[Any]:
    """The JSON of every ``data:`` line but ``[DONE]``, read without the kit's own decoder."""
    found = []
    for line in body.splitlines():
        if line.startswith("data:"):
            data = line[5:].removeprefix(" ")
            if data != "[DONE]":
                found.append(json.loads(data))
    return found


def _served() -> list[tuple[str, str, Any]]:
    """(name, TypeScript type, JSON) for everything the server sent to one request of each kind."""
    literals: list[tuple[str, str, Any]] = []
    with FakeWriterServer() as server:
        for number, (path, body, script, chunk_type, json_type) in enumerate(ENDPOINTS):
            server.reply(script, times=2)
            with httpx.Client(base_url=server.base_url, timeout=10) as http:
                streamed = http.post(path, json={**body, "stream": True})
                whole = http.post(path, json={**body, "stream": False})
            assert streamed.status_code == whole.status_code == 200, (streamed.text, whole.text)
            chunks = _data_lines(streamed.text)
            assert chunks, f"{path}: no chunks"
            literals += [(f"e{number}_chunk{i}", chunk_type, c) for i, c in enumerate(chunks)]
            literals.append((f"e{number}_whole", json_type, whole.json()))
    return literals


def test_every_streaming_endpoints_bodies_have_the_node_sdks_declared_types(tsc: Path) -> None:
    literals = _served()
    lines = ['import Writer from "writer-sdk";', ""]
    for name, kind, value in literals:
        lines.append(f"export const {name}: Writer.{kind} = {json.dumps(value)};")
    # The control: optional-but-not-nullable fields refuse null, so the check can fail.
    lines.append("// @ts-expect-error: title is optional, not nullable")
    lines.append('export const control: Writer.ApplicationGenerateContentChunk = {"delta": {"title": null}};')
    source = TYPES_DIR / f"check-{os.getpid()}-{uuid.uuid4().hex[:8]}.ts"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    try:
        done = subprocess.run(
            [
                "node",
                str(tsc),
                "--noEmit",
                "--strict",
                "--exactOptionalPropertyTypes",
                "--skipLibCheck",
                "--target",
                "es2022",
                "--module",
                "nodenext",
                "--moduleResolution",
                "nodenext",
                source.name,
            ],
            cwd=TYPES_DIR,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        source.unlink()
    errors = done.stdout.strip()
    shown = []
    for match in re.finditer(r"\((\d+),\d+\): (error .*)", errors):
        number = int(match.group(1))
        shown.append(f"{match.group(2)}\n    {lines[number - 1][:400]}")
    assert not errors, (
        "What FakeWriterServer sends does not type-check against writer-sdk 2.3.2's declared types:\n"
        + ("\n".join(shown) or errors)
    )
    assert done.returncode == 0, done.stderr
