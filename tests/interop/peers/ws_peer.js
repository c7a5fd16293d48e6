'use strict';
// Interop peer on npm `ws`: `node ws_peer.js client|await-close URL` or
// `node ws_peer.js server PORT` (PORT 0 picks a free one). Either way it drives the test plan in plan.js over the one
// connection; as a server it accepts a single client and chooses "chat" when offered.
const { WebSocket, WebSocketServer } = require('ws');
const plan = require('./plan');

const { mode, where } = plan.parseArgs(process.argv);
plan.exitAfter(90000);

// WS_PEER_PMD: permessage-deflate options for `ws` as JSON ({"serverMaxWindowBits": 9,
// ...}), threshold 0 added so that every message is compressed. Unset: ws's defaults
// (its client offers permessage-deflate, its server declines every offer).
const PMD = process.env.WS_PEER_PMD ? { ...JSON.parse(process.env.WS_PEER_PMD), threshold: 0 } : undefined;
let agreed = null; // the response's Sec-WebSocket-Extensions

function wrap(ws) {
  const inbox = new plan.Inbox();
  const wire = PMD ? plan.countFrames(ws._socket) : null;
  const sizes = [];
  ws.on('message', (data, isBinary) => {
    sizes.push(data.length);
    inbox.push({ type: 'message', data: isBinary ? data : data.toString('utf8') });
  });
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
    // What was agreed, as the peer saw it, and what our side sent: compressed?
    beforeClose: PMD && (() => {
      plan.report('pmd:agreed', /permessage-deflate/.test(ws.extensions) && agreed !== null,
        `extensions "${ws.extensions}", header "${agreed}"`);
      const ours = mode === 'server' ? 'client' : 'server'; // our side's sending direction
      const [ok, detail] = plan.rsv1Check(wire, sizes,
        new RegExp(`${ours}_no_context_takeover`).test(agreed || ''));
      plan.report('pmd:rsv1', ok, detail);
    }),
  };
}

async function finish(ok, server) {
  if (server) server.close();
  process.exit(ok ? 0 : 1);
}

if (mode !== 'server') {
  const ws = new WebSocket(where, ['chat', 'superchat'], {
    handshakeTimeout: 10000, ...(PMD ? { perMessageDeflate: PMD } : {}),
  });
  ws.once('upgrade', (res) => { agreed = res.headers['sec-websocket-extensions'] || ''; });
  ws.once('open', async () => finish(mode === 'client'
    ? await plan.drive(wrap(ws), plan.CLOSE_BY_CLIENT) : await plan.awaitClose(wrap(ws))));
  ws.once('error', (err) => { plan.report('subprotocol', false, 'connect: ' + err.message); finish(false); });
} else {
  const server = new WebSocketServer({
    host: '127.0.0.1',
    port: Number(where),
    handleProtocols: (offered) => (offered.has('chat') ? 'chat' : false),
    perMessageDeflate: PMD || false,
  });
  server.on('headers', (headers) => {
    const h = headers.find((l) => /^sec-websocket-extensions:/i.test(l));
    agreed = h ? h.replace(/^[^:]*:\s*/, '') : '';
  });
  server.on('listening', () => plan.listening(server.address().port));
  server.once('connection', async (ws) => finish(await plan.drive(wrap(ws), plan.CLOSE_BY_SERVER), server));
}
