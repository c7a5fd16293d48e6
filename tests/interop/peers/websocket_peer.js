'use strict';
// Interop peer on npm `websocket` (WebSocket-Node): `node websocket_peer.js client URL`,
// `node websocket_peer.js await-close URL` or `node websocket_peer.js server PORT` (0: a
// free port). Drives plan.js over one connection; as a server it accepts one client and
// chooses "chat" when offered.
//
// WebSocket-Node has no call that sends one frame of a message: it fragments every
// message longer than fragmentationThreshold by itself. So the "fragment" check sends
// the plan's three pieces as one 21024-byte message, which leaves as two frames split
// inside a 4-byte code point (and 64 KiB and 1 MiB messages leave as 4 and 64 frames).
// Its 'close' event reports the code we sent, never the peer's echo, so "close:peer"
// checks that the close handshake finished well before the close timeout instead.
const http = require('http');
const { client: WebSocketClient, server: WebSocketServer } = require('websocket');
const plan = require('./plan');

const { mode, where } = plan.parseArgs(process.argv);
plan.exitAfter(90000);

const CLOSE_TIMEOUT_MS = 10000;
const config = {
  maxReceivedFrameSize: 4 << 20,
  maxReceivedMessageSize: 8 << 20,
  fragmentOutgoingMessages: true,
  fragmentationThreshold: 16384,
  closeTimeout: CLOSE_TIMEOUT_MS,
};

function wrap(conn) {
  const inbox = new plan.Inbox();
  let closeStarted = 0;
  conn.on('message', (m) => inbox.push({ type: 'message', data: m.type === 'utf8' ? m.utf8Data : m.binaryData }));
  conn.on('pong', (data) => inbox.push({ type: 'pong', data }));
  conn.on('close', (code, reason) => inbox.push({ type: 'close', code, reason, ms: Date.now() - closeStarted }));
  conn.on('error', (err) => inbox.push({ type: 'error: ' + err.message }));
  return {
    protocol: conn.protocol,
    inbox,
    send: (data) => (Buffer.isBuffer(data) ? conn.sendBytes(data) : conn.sendUTF(data)),
    sendFragments: (pieces) => conn.sendUTF(pieces.join('')),
    ping: (buf) => conn.ping(buf),
    close: (code, reason) => { closeStarted = Date.now(); conn.close(code, reason); },
    closeDetail: (ev) => `close handshake took ${ev.ms} ms (echoed code not exposed by WebSocket-Node)`,
    closeOk: (ev) => ev.ms < CLOSE_TIMEOUT_MS / 2,
  };
}

function finish(ok, server) {
  if (server) server.close();
  process.exit(ok ? 0 : 1);
}

if (mode !== 'server') {
  const client = new WebSocketClient(config);
  client.once('connect', async (conn) => finish(mode === 'client'
    ? await plan.drive(wrap(conn), plan.CLOSE_BY_CLIENT) : await plan.awaitClose(wrap(conn))));
  client.once('connectFailed', (err) => { plan.report('subprotocol', false, 'connect: ' + err.message); finish(false); });
  client.connect(where, ['chat', 'superchat']);
} else {
  const httpServer = http.createServer((req, res) => { res.writeHead(404); res.end(); });
  const wsServer = new WebSocketServer({ httpServer, autoAcceptConnections: false, ...config });
  httpServer.listen(Number(where), '127.0.0.1', () => plan.listening(httpServer.address().port));
  wsServer.once('request', async (request) => {
    const conn = request.accept(request.requestedProtocols.includes('chat') ? 'chat' : null, request.origin);
    finish(await plan.drive(wrap(conn), plan.CLOSE_BY_SERVER), httpServer);
  });
}
