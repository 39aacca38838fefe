// A plain node:http SSE server doing the work benchmarks/bench_server.py asks of
// FakeWriterServer: read the JSON request, then send `chunks` numbered chat chunks,
// each its own res.write (waiting for 'drain' when the socket is full), then [DONE].
// Prints its base URL on the first line of stdout; stops when stdin closes.
import http from "node:http";
import { once } from "node:events";

const server = http.createServer(async (req, res) => {
  const parts = [];
  for await (const part of req) parts.push(part);
  const body = JSON.parse(Buffer.concat(parts).toString("utf8"));
  res.writeHead(200, { "content-type": "text/event-stream" });
  for (let seq = 0; seq < body.chunks; seq++) {
    const chunk = {
      id: body.stream_id,
      object: "chat.completion.chunk",
      created: 0,
      model: "palmyra-x5",
      choices: [{ index: 0, delta: { content: `${seq} ` }, finish_reason: null }],
    };
    if (!res.write(`data: ${JSON.stringify(chunk)}\n\n`)) await once(res, "drain");
  }
  res.end("data: [DONE]\n\n");
});
server.keepAliveTimeout = 60000;
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`http://127.0.0.1:${server.address().port}\n`);
});
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
