// Node `ws` (the pinned version of tests/interop) as an echo server for the benchmark's
// compression rows: perMessageDeflate on (its defaults: zlib level from zlib's default,
// 15-bit windows, context takeover, threshold 1024 lowered to 0 so every message is
// compressed like ws.h's), echoing every message with its type.
//   node tests/bench/node_echo_server.js [-p PORT] [--no-deflate]
// Prints "listening on 127.0.0.1:PORT" once ready (run.py's start_server reads it).
'use strict';
const path = require('path');
const { WebSocketServer } = require(path.join(__dirname, '..', 'interop', 'node_modules', 'ws'));

const args = process.argv.slice(2);
const port = args.includes('-p') ? Number(args[args.indexOf('-p') + 1]) : 0;
const deflate = !args.includes('--no-deflate');
const wss = new WebSocketServer({
  host: '127.0.0.1',
  port,
  perMessageDeflate: deflate ? { threshold: 0 } : false,
  maxPayload: 64 << 20,
});
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => ws.terminate());
});
wss.on('listening', () => {
  process.stdout.write(`listening on 127.0.0.1:${wss.address().port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
