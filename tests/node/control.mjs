// Drives `writer-stream-testkit serve` as a suite in another language would: queues a
// script (YAML) and a fault (JSON) through the control API, streams both through the
// official Node SDK, then reads the request journal and verify()'s verdict.
// Prints what it saw as one JSON line, for tests/test_server_node.py.
//
// usage: node control.mjs SDK_ENTRY BASE_URL

import { pathToFileURL } from "node:url";

const [, , sdkEntry, baseURL] = process.argv;
const { default: Writer } = await import(pathToFileURL(sdkEntry).href);
const client = new Writer({ apiKey: "test-key", baseURL, maxRetries: 0, timeout: 10000 });
const messages = [{ role: "user", content: "Say hello." }];

async function control(method, path, body, contentType = "application/json") {
  const response = await fetch(baseURL + path, {
    method,
    headers: body === undefined ? {} : { "content-type": contentType },
    body,
  });
  return { status: response.status, body: await response.json() };
}

const queued = [
  await control(
    "POST",
    "/__writer/replies",
    "steps:\n- content: [Hello, ' from Node']\n- finish: stop\n",
    "application/yaml",
  ),
  await control(
    "POST",
    "/__writer/replies",
    JSON.stringify({
      reply: { fault: { http_error: { status: 429, message: "Slow down." } } },
      model: "palmyra-x4",
    }),
  ),
];

const stream = await client.chat.chat({ model: "palmyra-x5", messages, stream: true });
let content = "";
for await (const chunk of stream) content += chunk.choices[0]?.delta?.content ?? "";

let fault = null;
try {
  const limited = await client.chat.chat({ model: "palmyra-x4", messages, stream: true });
  for await (const _ of limited);
} catch (error) {
  fault = { name: error?.constructor?.name, status: error?.status ?? null };
}

const journal = await control("GET", "/__writer/calls");
const clean = await control("GET", "/__writer/verify");
await fetch(baseURL + "/v1/models");
const dirty = await control("GET", "/__writer/verify");
const reset = await control("POST", "/__writer/reset");
const after = await control("GET", "/__writer/verify");

process.stdout.write(JSON.stringify({ queued, content, fault, journal, clean, dirty, reset, after }) + "\n");
