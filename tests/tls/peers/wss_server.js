'use strict';
// A Node https server with npm `ws` on it (the pinned copy in tests/interop), for our
// TLS clients (wscat, mbedtls_client):
//   node wss_server.js CERT KEY
//   node wss_server.js --plain    plain http/ws://, for a proxy that terminates TLS in front
// Listens on 127.0.0.1 (a free port), prints "listening on 127.0.0.1:PORT", then one
// line per event on stdout: "conn N sni NAME|none VERSION" ("conn N plain" with --plain),
// "close N CODE", "pong N PAYLOAD". Echoes every message with its type, except these texts:
//   "close CODE REASON"  it closes with that code and reason instead
//   "fragments"          it sends FRAGMENTS (below) as one text message in three frames
//   "ping"               it pings with PING; on the pong it sends the text "pong PAYLOAD"
//                        (the client shows that it answered, and with what), then closes
//                        with 1000 "pong seen"
// Offered subprotocols: it chooses "chat" when offered. Plain HTTP(S) GET answers
// "hello over https". Exits on SIGTERM or after 120 s.
const fs = require('fs');
const http = require('http');
const https = require('https');
const path = require('path');
const { WebSocketServer } = require(path.join(__dirname, '..', '..', 'interop', 'node_modules', 'ws'));

// Multibyte text in every piece: the client must join three frames into one message.
const FRAGMENTS = ['frag1 \u2713\u2713', ' frag2 \u{1F600}', ' frag3 end'];
const PING = 'proxy ping';

const plain = process.argv[2] === '--plain';
const answer = (req, res) => res.end('hello over https\n');
let server;
if (plain) {
  server = http.createServer(answer);
} else {
  const [cert, key] = process.argv.slice(2);
  server = https.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) }, answer);
}
const wss = new WebSocketServer({
  server,
  maxPayload: 64 << 20,
  handleProtocols: (offered) => (offered.has('chat') ? 'chat' : false),
});
let next = 0;

wss.on('connection', (ws, req) => {
  const n = ++next;
  const sock = req.socket;
  console.log(plain ? `conn ${n} plain` : `conn ${n} sni ${sock.servername || 'none'} ${sock.getProtocol()}`);
  ws.on('message', (data, isBinary) => {
    const text = isBinary ? null : data.toString('utf8');
    const m = text && /^close (\d+) ?(.*)$/.exec(text);
    if (m) ws.close(Number(m[1]), m[2]);
    else if (text === 'fragments') FRAGMENTS.forEach((p, i) => ws.send(p, { fin: i === FRAGMENTS.length - 1 }));
    else if (text === 'ping') ws.ping(PING);
    else ws.send(data, { binary: isBinary });
  });
  ws.on('pong', (data) => {
    console.log(`pong ${n} ${data.toString('utf8')}`);
    ws.send('pong ' + data.toString('utf8'));
    ws.close(1000, 'pong seen');
  });
  ws.on('close', (code) => console.log(`close ${n} ${code}`));
  ws.on('error', (err) => console.log(`error ${n} ${err.message}`));
});
server.on('tlsClientError', (err) => console.log(`tls-error ${err.code || err.message}`));
server.listen(0, '127.0.0.1', () => console.log(`listening on 127.0.0.1:${server.address().port}`));
process.on('SIGTERM', () => process.exit(0));
setTimeout(() => process.exit(1), 120000).unref();
