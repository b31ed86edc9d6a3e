// emit.js -- sends CloudEvents to kedro-event-shim with the official CloudEvents JavaScript SDK
// (npm package `cloudevents`), through its own HTTP emitter, and prints each answer.
//
// Usage: node emit.js URL binary|structured EVENT_JSON...
// Each EVENT_JSON is the attribute object given to `new CloudEvent(...)`; one JSON line per
// event is printed: {"body": <the answer's body>, "headers": {...}}. (The SDK's httpTransport
// does not report the status code: the tests read the answer's body.)
"use strict";

const { CloudEvent, emitterFor, httpTransport, Mode } = require("cloudevents");

async function main() {
  const [url, mode, ...events] = process.argv.slice(2);
  if (!url || (mode !== "binary" && mode !== "structured") || events.length === 0) {
    process.stderr.write("usage: node emit.js URL binary|structured EVENT_JSON...\n");
    process.exit(2);
  }
  const emit = emitterFor(httpTransport(url), {
    mode: mode === "binary" ? Mode.BINARY : Mode.STRUCTURED,
  });
  for (const spec of events) {
    const answer = await emit(new CloudEvent(JSON.parse(spec)));
    process.stdout.write(JSON.stringify({ body: answer.body, headers: answer.headers }) + "\n");
  }
}

main().catch((err) => {
  process.stderr.write(`emit.js: ${err.stack || err}\n`);
  process.exit(1);
});
