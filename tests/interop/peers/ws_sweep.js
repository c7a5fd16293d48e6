'use strict';
// permessage-deflate parameter sweep on npm `ws`: many connections, each with its own
// parameters, each running a short plan (see tests/interop/README.md, "Compression").
//
//   node ws_sweep.js client URL    one connection per combination to our server, in turn
//   node ws_sweep.js server PORT   prints "listening on 127.0.0.1:PORT"; the client that
//                                  asks for /sweep/I gets combination I (our echo_client,
//                                  started once per combination by run.py)
//
// WS_SWEEP: the combinations as JSON, [[tag, perMessageDeflate options], ...]; threshold
// 0 is added so that every message `ws` sends is compressed. Each check is reported as
// "RESULT<TAB>check@tag<TAB>ok|FAIL<TAB>detail": pmd:agreed (the response's
// Sec-WebSocket-Extensions, as `ws` saw it), pmd:rsv1 (our side's messages that
// arrived with RSV1), the echoes, a ping, a burst and the close.
const http = require('http');
const { WebSocket, WebSocketServer } = require('ws');
const plan = require('./plan');

const [mode, where] = process.argv.slice(2);
if (!['client', 'server'].includes(mode) || where === undefined || !process.env.WS_SWEEP) {
  process.stderr.write('usage: WS_SWEEP=[[tag, options]...] ws_sweep.js client URL | server PORT\n');
  process.exit(2);
}
const COMBOS = JSON.parse(process.env.WS_SWEEP).map(([tag, o]) => [tag, { ...o, threshold: 0 }]);
plan.exitAfter(Math.max(60000, COMBOS.length * 2000));

// The short plan: a few sizes of each type, multibyte text, a message in three frames,
// a ping, four messages back to back (context takeover across them), the close.
const SHORT = ['text:0', 'text:125', 'text:65536', 'binary:126', 'binary:65536', 'utf8:short', 'utf8:long'];

async function run(ws, tag, agreed, ourRole, closing) {
  const inbox = new plan.Inbox();
  const wire = plan.countFrames(ws._socket);
  const sizes = [];
  const at = (check) => `${check}@${tag}`;
  ws.on('message', (data, isBinary) => {
    sizes.push(data.length);
    inbox.push({ type: 'message', data: isBinary ? data : data.toString('utf8') });
  });
  ws.on('pong', (data) => inbox.push({ type: 'pong', data }));
  ws.on('close', (code, reason) => inbox.push({ type: 'close', code, reason: reason.toString('utf8') }));
  ws.on('error', (err) => inbox.push({ type: 'error: ' + err.message }));
  let check = 'pmd:agreed';
  try {
    plan.report(at(check), ws.extensions === 'permessage-deflate',
      `extensions "${ws.extensions}", header "${agreed}"`);
    for (const m of plan.messages().filter((x) => SHORT.includes(x.check))) {
      check = m.check;
      ws.send(m.data);
      const ev = await inbox.next('message');
      const ok = plan.same(m.data, ev.data);
      plan.report(at(check), ok, ok ? plan.describe(ev.data) : `sent ${plan.describe(m.data)}, got ${plan.describe(ev.data)}`);
    }
    check = 'fragment';
    plan.FRAGMENTS.forEach((p, i) => ws.send(p, { fin: i === plan.FRAGMENTS.length - 1 }));
    const joined = await inbox.next('message');
    plan.report(at(check), joined.data === plan.FRAGMENTS.join(''), `3 frames -> ${plan.describe(joined.data)}`);
    check = 'ping';
    ws.ping(plan.PING);
    const pong = await inbox.next('pong');
    plan.report(at(check), plan.PING.equals(pong.data), `pong payload ${pong.data.toString('hex')}`);
    check = 'burst:messages';
    const list = plan.burst().slice(0, 4);
    list.forEach((m) => ws.send(m));
    for (const [i, m] of list.entries()) {
      const ev = await inbox.next('message');
      if (!plan.same(m, ev.data)) throw new Error(`message ${i}: sent ${plan.describe(m)}, got ${plan.describe(ev.data)}`);
    }
    plan.report(at(check), true, `${list.length} messages back to back`);
    const [ok, detail] = plan.rsv1Check(wire, sizes, new RegExp(`${ourRole}_no_context_takeover`).test(agreed));
    plan.report(at('pmd:rsv1'), ok, detail);
    check = 'close:peer';
    ws.close(closing.code, closing.reason);
    const ev = await inbox.next('close');
    plan.report(at(check), ev.code === closing.code, `sent ${closing.code}, echo ${ev.code} "${ev.reason}"`);
  } catch (err) {
    plan.report(at(check), false, err.message);
    ws.terminate();
  }
}

async function client() {
  for (const [tag, options] of COMBOS) {
    await new Promise((resolve) => {
      let agreed = '';
      const ws = new WebSocket(where, ['chat'], { handshakeTimeout: 10000, perMessageDeflate: options });
      ws.once('upgrade', (res) => { agreed = res.headers['sec-websocket-extensions'] || ''; });
      ws.once('open', () => run(ws, tag, agreed, 'server', plan.CLOSE_BY_CLIENT).then(resolve));
      ws.once('error', (err) => {
        if (ws.readyState !== WebSocket.CONNECTING && ws.readyState !== WebSocket.CLOSED) return;
        plan.report(`pmd:agreed@${tag}`, false, 'connect: ' + err.message);
        resolve();
      });
    });
  }
  process.exit(0);
}

function server() {
  const http_ = http.createServer((req, res) => { res.writeHead(404); res.end(); });
  const servers = COMBOS.map(([, options]) => new WebSocketServer({
    noServer: true, perMessageDeflate: options,
    handleProtocols: (offered) => (offered.has('chat') ? 'chat' : false),
  }));
  let done = 0;
  http_.on('upgrade', (req, socket, head) => {
    const m = /^\/sweep\/(\d+)$/.exec(req.url);
    const i = m ? Number(m[1]) : -1;
    if (i < 0 || i >= COMBOS.length) { socket.destroy(); return; }
    let agreed = '';
    servers[i].once('headers', (headers) => {
      const h = headers.find((l) => /^sec-websocket-extensions:/i.test(l));
      agreed = h ? h.replace(/^[^:]*:\s*/, '') : '';
    });
    servers[i].handleUpgrade(req, socket, head, (ws) => {
      run(ws, COMBOS[i][0], agreed, 'client', plan.CLOSE_BY_SERVER).then(() => {
        if (++done === COMBOS.length) setTimeout(() => process.exit(0), 100);
      });
    });
  });
  http_.listen(Number(where), '127.0.0.1', () => plan.listening(http_.address().port));
}

if (mode === 'client') client();
else server();
