// The floor for benchmarks/bench_server.py: a plain node:http server writing bytes it already has.
// Usage: node node_sse_server.mjs FRAMES_FILE. The file holds a stream's SSE blocks, each ending
// in a blank line; every request (its body read first) gets them, one res.write per block
// (waiting for 'drain' when the socket is full), chunked as node:http frames them.
// Prints its base URL on the first line of stdout; stops when stdin closes.
import http from "node:http";
import { once } from "node:events";
import { readFileSync } from "node:fs";

const text = readFileSync(process.argv[2]);
const frames = [];
for (let start = 0; start < text.length; ) {
  const end = text.indexOf("\n\n", start);
  const stop = end < 0 ? text.length : end + 2;
  frames.push(text.subarray(start, stop));
  start = stop;
}

const server = http.createServer(async (req, res) => {
  for await (const _ of req);
  res.writeHead(200, { "content-type": "text/event-stream" });
  for (const frame of frames) {
    if (!res.write(frame)) await once(res, "drain");
  }
  res.end();
});
server.keepAliveTimeout = 60000;
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`http://127.0.0.1:${server.address().port}\n`);
});
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
