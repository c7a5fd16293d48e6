'use strict';
// A Node https server with npm `ws` on it (the pinned copy in tests/interop), for our
// TLS clients (wscat, mbedtls_client):
//   node wss_server.js CERT KEY
// Listens on 127.0.0.1 (a free port), prints "listening on 127.0.0.1:PORT", then one
// line per event on stdout: "conn N sni NAME|none VERSION", "close N CODE". Echoes every message with its type; the text
// "close CODE REASON" makes it close with that code and reason instead. Plain HTTPS GET
// answers "hello over https". Exits on SIGTERM or after 120 s.
const fs = require('fs');
const https = require('https');
const path = require('path');
const { WebSocketServer } = require(path.join(__dirname, '..', '..', 'interop', 'node_modules', 'ws'));

const [cert, key] = process.argv.slice(2);
const server = https.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) },
  (req, res) => res.end('hello over https\n'));
const wss = new WebSocketServer({ server, maxPayload: 64 << 20 });
let next = 0;

wss.on('connection', (ws, req) => {
  const n = ++next;
  const sock = req.socket;
  console.log(`conn ${n} sni ${sock.servername || 'none'} ${sock.getProtocol()}`);
  ws.on('message', (data, isBinary) => {
    const text = isBinary ? null : data.toString('utf8');
    const m = text && /^close (\d+) ?(.*)$/.exec(text);
    if (m) ws.close(Number(m[1]), m[2]);
    else ws.send(data, { binary: isBinary });
  });
  ws.on('close', (code) => console.log(`close ${n} ${code}`));
  ws.on('error', (err) => console.log(`error ${n} ${err.message}`));
});
server.on('tlsClientError', (err) => console.log(`tls-error ${err.code || err.message}`));
server.listen(0, '127.0.0.1', () => console.log(`listening on 127.0.0.1:${server.address().port}`));
process.on('SIGTERM', () => process.exit(0));
setTimeout(() => process.exit(1), 120000).unref();
