// receiver.js -- "the Node CloudEvents SDK receiver" of the benchmarks (tests/bench/compare.sh):
// a plain Node HTTP server that does per POST /event/ what kedro-event-shim does before its
// gRPC call, with the official CloudEvents JavaScript SDK (npm package `cloudevents`, as locked
// in package-lock.json): reads the body, HTTP.toEvent({headers, body}) (binary, structured or
// batched mode; the SDK validates the event), and answers 200 with a small JSON array, or 400
// {"detail": ...} when the SDK refuses the event. It stores nothing and starts nothing, so it
// is a lower bound on what a Node receiver costs. One process, one thread (Node's own).
//
// Usage: node receiver.js [PORT]      (default 0: a free port; listens on 127.0.0.1)
// Prints "receiver.js: listening on 127.0.0.1 port N"; ends on SIGTERM or SIGINT.
"use strict";

const http = require("http");
const { HTTP } = require("cloudevents");

const MAX_BODY = 4 * 1024 * 1024; // a bound on what one request may make it hold

function answer(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(text),
  });
  res.end(text);
}

function onEvent(req, res, body) {
  let events;
  try {
    events = HTTP.toEvent({ headers: req.headers, body });
  } catch (err) {
    answer(res, 400, { detail: String(err.message || err) });
    return;
  }
  const one = (e) => [{ id: e.id, name: "event00", source: e.source, type: e.type }];
  answer(res, 200, Array.isArray(events) ? events.map(one) : one(events));
}

const server = http.createServer((req, res) => {
  if (req.method !== "POST" || (req.url !== "/event/" && req.url !== "/event")) {
    answer(res, 404, { detail: "Not Found" });
    return;
  }
  const chunks = [];
  let size = 0;
  req.on("data", (c) => {
    size += c.length;
    if (size > MAX_BODY) {
      answer(res, 413, { detail: "body too large" });
      req.destroy();
      return;
    }
    chunks.push(c);
  });
  req.on("end", () => {
    if (size <= MAX_BODY) onEvent(req, res, Buffer.concat(chunks).toString("utf8"));
  });
});

server.keepAliveTimeout = 60000;
server.listen(Number(process.argv[2] || 0), "127.0.0.1", () => {
  process.stdout.write(`receiver.js: listening on 127.0.0.1 port ${server.address().port}\n`);
});
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => server.close(() => process.exit(0)));
