'use strict';
// Interop peer on npm `ws`: `node ws_peer.js client|await-close URL` or
// `node ws_peer.js server PORT` (PORT 0 picks a free one). Either way it drives the test plan in plan.js over the one
// connection; as a server it accepts a single client and chooses "chat" when offered.
const { WebSocket, WebSocketServer } = require('ws');
const plan = require('./plan');

const { mode, where } = plan.parseArgs(process.argv);
plan.exitAfter(90000);

function wrap(ws) {
  const inbox = new plan.Inbox();
  ws.on('message', (data, isBinary) => inbox.push({ type: 'message', data: isBinary ? data : data.toString('utf8') }));
  ws.on('pong', (data) => inbox.push({ type: 'pong', data }));
  ws.on('close', (code, reason) => inbox.push({ type: 'close', code, reason: reason.toString('utf8') }));
  ws.on('error', (err) => inbox.push({ type: 'error: ' + err.message }));
  return {
    protocol: ws.protocol,
    inbox,
    send: (data) => ws.send(data),
    sendFragments: (pieces) => pieces.forEach((p, i) => ws.send(p, { fin: i === pieces.length - 1 })),
    sendTextFrame: (buf, fin) => ws.send(buf, { binary: false, fin }),
    ping: (buf) => ws.ping(buf),
    close: (code, reason) => ws.close(code, reason),
  };
}

async function finish(ok, server) {
  if (server) server.close();
  process.exit(ok ? 0 : 1);
}

if (mode !== 'server') {
  const ws = new WebSocket(where, ['chat', 'superchat'], { handshakeTimeout: 10000 });
  ws.once('open', async () => finish(mode === 'client'
    ? await plan.drive(wrap(ws), plan.CLOSE_BY_CLIENT) : await plan.awaitClose(wrap(ws))));
  ws.once('error', (err) => { plan.report('subprotocol', false, 'connect: ' + err.message); finish(false); });
} else {
  const server = new WebSocketServer({
    host: '127.0.0.1',
    port: Number(where),
    handleProtocols: (offered) => (offered.has('chat') ? 'chat' : false),
  });
  server.on('listening', () => plan.listening(server.address().port));
  server.once('connection', async (ws) => finish(await plan.drive(wrap(ws), plan.CLOSE_BY_SERVER), server));
}
