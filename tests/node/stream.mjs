// Streams one chat request through the official Node SDK (npm `writer-sdk`) and
// prints what the SDK delivered as one JSON line, for tests/test_server_node.py.
//
// usage: node stream.mjs SDK_ENTRY CONFIG_JSON
//   SDK_ENTRY    absolute path of writer-sdk's index.mjs (installed outside the repo)
//   CONFIG_JSON  {"baseURL", "mode": "helper" | "raw" | "nonstream", "params": {...}}

import { pathToFileURL } from "node:url";

const [, , sdkEntry, configJson] = process.argv;
const { default: Writer } = await import(pathToFileURL(sdkEntry).href);
const config = JSON.parse(configJson);
const client = new Writer({
  apiKey: "test-key",
  baseURL: config.baseURL,
  maxRetries: 0,
  timeout: config.timeoutMs ?? 10000,
});

async function helper(params) {
  const stream = client.chat.stream(params);
  const events = [];
  stream.on("chunk", (chunk) => events.push({ type: "chunk", id: chunk.id }));
  stream.on("content", (delta, snapshot) => events.push({ type: "content", delta, snapshot }));
  stream.on("content.done", ({ content }) => events.push({ type: "content.done", content }));
  const final = await stream.finalChatCompletion();
  return {
    events,
    content: final.choices[0].message.content,
    finish_reason: final.choices[0].finish_reason,
  };
}

async function raw(params) {
  const stream = await client.chat.chat({ ...params, stream: true });
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  return { chunks };
}

async function nonstream(params) {
  const completion = await client.chat.chat({ ...params, stream: false });
  return { completion };
}

const modes = { helper, raw, nonstream };
let result;
try {
  result = await modes[config.mode](config.params);
} catch (error) {
  result = {
    error: { name: error?.constructor?.name, status: error?.status ?? null, message: String(error?.message) },
  };
}
process.stdout.write(JSON.stringify(result) + "\n");
