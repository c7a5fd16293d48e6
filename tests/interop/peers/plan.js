'use strict';
// The interop test plan for the Node peers (see tests/interop/README.md; plan.py and
// plan.h hold the same plan for the Python, C and C++ peers).
//
// A peer drives one connection to our side, which echoes every message:
//   subprotocol  "chat" was negotiated (offered "chat, superchat")
//   text:N, binary:N   one message each of N bytes, echoed with the same type and bytes
//   utf8:short, utf8:long   multibyte UTF-8 text (1- to 4-byte code points)
//   fragment     a text message sent as three frames (where the peer can send them)
//   fragment:ping-between   the same, with a ping after the first frame: the pong
//                comes back before the message is complete (where the library can)
//   fragment:split-utf8     the same text in three frames cut inside 4-byte code points
//                (where the library sends any bytes as a text frame)
//   ping         a ping with a payload; the pong carries the same payload
//   burst:messages  20 messages (text and binary, 0 B to 1 MiB) sent back to back; the
//                echoes come back complete and in order
//   burst:pings  10 pings sent back to back; 10 pongs with their payloads, in order
//                (where the library shows every pong)
//   close:peer   the peer closes with a code and reason and sees the close echoed
// and prints one line per check: "RESULT<TAB>check<TAB>ok|FAIL<TAB>detail".

const SIZES = [0, 125, 126, 65535, 65536, 1 << 20];
const UTF8 = 'h\u00e9llo w\u00f6rld \u2713 \u{1F600} \u65e5\u672c\u8a9e \u0416';
// 6 + 3001*3 + 6 + 3000*4 + 9 bytes: an automatic split at 16 KiB lands inside a 😀.
const FRAGMENTS = ['frag1 ' + '\u2713'.repeat(3001), 'frag2 ' + '\u{1F600}'.repeat(3000), 'frag3 end'];
const FRAGMENTED = Buffer.from(FRAGMENTS.join(''));
const PIECE_CUTS = [9009, 21015]; // the byte offsets of FRAGMENTS' boundaries
const SPLIT_CUTS = [9017, 16385]; // inside two 4-byte code points
const BURST_SIZES = [1, 200, 70000, 0, 1 << 20];
const PING = Buffer.from('interop ping \x00\x01\xfe\xff', 'latin1');
const CLOSE_BY_CLIENT = { code: 4001, reason: 'client bye \u2713' };
const CLOSE_BY_SERVER = { code: 4002, reason: 'server bye \u2713' };
const STEP_TIMEOUT_MS = 20000;

function textOf(n) {
  let s = '';
  const abc = 'abcdefghijklmnopqrstuvwxyz';
  while (s.length < n) s += abc;
  return s.slice(0, n);
}

function binaryOf(n) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + 7) & 255;
  return b;
}

// Burst message i: size BURST_SIZES[i % 5]; text when i is even ('a' + (k + i) mod 26 at
// byte k), binary when odd (byte k = (31 k + 7 + i) mod 256).
function burst() {
  const list = [];
  for (let i = 0; i < 20; i++) {
    const n = BURST_SIZES[i % 5];
    if (i % 2 === 0) {
      const abc = 'abcdefghijklmnopqrstuvwxyz';
      list.push((abc.slice(i % 26) + abc.slice(0, i % 26)).repeat(Math.ceil(n / 26)).slice(0, n));
    } else {
      const b = Buffer.alloc(n);
      for (let k = 0; k < n; k++) b[k] = (k * 31 + 7 + i) & 255;
      list.push(b);
    }
  }
  return list;
}

function same(a, b) {
  return typeof a === typeof b && (Buffer.isBuffer(a) ? a.equals(b) : a === b);
}

function messages() {
  const list = [];
  for (const n of SIZES) list.push({ check: `text:${n}`, data: textOf(n) });
  for (const n of SIZES) list.push({ check: `binary:${n}`, data: binaryOf(n) });
  list.push({ check: 'utf8:short', data: UTF8 });
  list.push({ check: 'utf8:long', data: UTF8.repeat(2000) });
  return list;
}

function report(check, ok, detail) {
  const clean = String(detail || '').replace(/[\t\r\n]/g, ' ').slice(0, 200);
  process.stdout.write(`RESULT\t${check}\t${ok ? 'ok' : 'FAIL'}\t${clean}\n`);
}

function describe(data) {
  if (Buffer.isBuffer(data)) return `binary ${data.length} bytes`;
  if (typeof data === 'string') return `text ${Buffer.byteLength(data)} bytes`;
  return String(data);
}

// Events from a connection, taken in order with a timeout.
class Inbox {
  constructor() { this.events = []; this.waiter = null; }
  push(ev) {
    this.events.push(ev);
    if (this.waiter) { const w = this.waiter; this.waiter = null; w(); }
  }
  async next(what) {
    const deadline = Date.now() + STEP_TIMEOUT_MS;
    while (this.events.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => { clearTimeout(t); resolve(); };
      });
    }
    const ev = this.events.shift();
    if (ev.type !== what) {
      throw new Error(`expected ${what}, got ${ev.type}` +
        (ev.type === 'close' ? ` ${ev.code} "${ev.reason}"` : ''));
    }
    return ev;
  }
}

// FRAGMENTED sent as frames cut at the given byte offsets, with a ping (and its pong)
// after the first frame when asked; the echo must be the whole text.
async function framesCheck(conn, check, cuts, pingBetween) {
  const bounds = [0, ...cuts, FRAGMENTED.length];
  for (let i = 0; i + 1 < bounds.length; i++) {
    conn.sendTextFrame(FRAGMENTED.subarray(bounds[i], bounds[i + 1]), i + 2 === bounds.length);
    if (i === 0 && pingBetween) {
      conn.ping(PING);
      const pong = await conn.inbox.next('pong');
      if (!PING.equals(pong.data)) throw new Error(`pong payload ${pong.data.toString('hex')}`);
    }
  }
  const ev = await conn.inbox.next('message');
  const want = FRAGMENTED.toString('utf8');
  report(check, ev.data === want, `${bounds.length - 1} frames${pingBetween ? ' and a ping' : ''}, ` +
    `${describe(want)} -> ${describe(ev.data)}`);
}

// conn: { protocol, inbox, send(data), sendFragments(pieces) | null,
//         sendTextFrame(buf, fin) | null (one frame of a text message, any bytes), ping(buf),
//         close(code, reason), and optionally closeOk(ev) + closeDetail(ev) for a
//         library that cannot show the echoed close code }
// The inbox receives {type:'message', data}, {type:'pong', data},
// {type:'close', code, reason}. Text arrives as a string, binary as a Buffer.
async function drive(conn, closing) {
  let check = 'subprotocol';
  try {
    report(check, conn.protocol === 'chat', `negotiated "${conn.protocol}"`);
    for (const m of messages()) {
      check = m.check;
      conn.send(m.data);
      const ev = await conn.inbox.next('message');
      const ok = same(m.data, ev.data);
      report(check, ok, ok ? describe(ev.data) : `sent ${describe(m.data)}, got ${describe(ev.data)}`);
    }
    if (conn.sendFragments) {
      check = 'fragment';
      conn.sendFragments(FRAGMENTS);
      const ev = await conn.inbox.next('message');
      const want = FRAGMENTS.join('');
      report(check, ev.data === want, `${describe(want)} -> ${describe(ev.data)}`);
    }
    if (conn.sendTextFrame) {
      check = 'fragment:ping-between';
      await framesCheck(conn, check, PIECE_CUTS, true);
      check = 'fragment:split-utf8';
      await framesCheck(conn, check, SPLIT_CUTS, false);
    }
    check = 'ping';
    conn.ping(PING);
    const pong = await conn.inbox.next('pong');
    report(check, PING.equals(pong.data), `pong payload ${pong.data.toString('hex')}`);
    check = 'burst:messages';
    const list = burst();
    list.forEach((m) => conn.send(m));
    for (const [i, m] of list.entries()) {
      const ev = await conn.inbox.next('message');
      if (!same(m, ev.data)) throw new Error(`message ${i}: sent ${describe(m)}, got ${describe(ev.data)}`);
    }
    report(check, true, `${list.length} messages of 0 B to 1 MiB echoed in order`);
    check = 'burst:pings';
    const pings = [...Array(10).keys()].map((i) => Buffer.from(`burst ping ${i}`));
    pings.forEach((p) => conn.ping(p));
    for (const p of pings) {
      const pong = await conn.inbox.next('pong');
      if (!p.equals(pong.data)) throw new Error(`ping "${p}" answered by a pong "${pong.data}"`);
    }
    report(check, true, `${pings.length} pongs with their pings' payloads, in order`);
    if (conn.beforeClose) conn.beforeClose(); // e.g. the compression checks
    check = 'close:peer';
    conn.close(closing.code, closing.reason);
    const ev = await conn.inbox.next('close');
    if (conn.closeOk) {
      report(check, conn.closeOk(ev), conn.closeDetail(ev));
    } else {
      report(check, ev.code === closing.code,
        `sent ${closing.code} "${closing.reason}", echo ${ev.code} "${ev.reason}"`);
    }
  } catch (err) {
    report(check, false, err.message);
    return false;
  }
  return true;
}

// The other direction of the close handshake, "close:ours-first": our server starts it
// (echo_server on SIGTERM sends 1001 "server shutting down"). The peer connects, says
// "OPEN" so the orchestrator knows when to signal, and reports the close it sees.
const CLOSE_BY_OURS = { code: 1001, reason: 'server shutting down' };

async function awaitClose(conn) {
  process.stdout.write('OPEN\n');
  try {
    const ev = await conn.inbox.next('close');
    report('close:ours-first', ev.code === CLOSE_BY_OURS.code && ev.reason === CLOSE_BY_OURS.reason,
      `got ${ev.code} "${ev.reason}"`);
    return true;
  } catch (err) {
    report('close:ours-first', false, err.message);
    return false;
  }
}

function parseArgs(argv) {
  // node PEER.js client URL  |  node PEER.js await-close URL  |  node PEER.js server PORT
  const [mode, where] = argv.slice(2);
  if (!['client', 'await-close', 'server'].includes(mode) || where === undefined) {
    process.stderr.write('usage: PEER.js client|await-close URL | PEER.js server PORT\n');
    process.exit(2);
  }
  return { mode, where };
}

function listening(port) {
  process.stdout.write(`listening on 127.0.0.1:${port}\n`);
}

// Whatever happens, the process ends: a hung library must not hang the run.
function exitAfter(ms) {
  setTimeout(() => { process.stderr.write('peer: overall timeout\n'); process.exit(3); }, ms).unref();
}

// permessage-deflate on the wire (RFC 7692 §6): the frames our side sends, read off the
// peer's socket beside the library, which sees only the inflated messages. Counts the
// data messages (a text or binary frame: the first of a message) and those whose first
// frame has RSV1, the "compressed" bit (§6.1), and the bytes received.
function countFrames(socket) {
  const st = { messages: 0, compressed: 0, bytes: 0 };
  let head = [];
  let skip = 0;
  socket.on('data', (chunk) => {
    st.bytes += chunk.length;
    let i = 0;
    while (i < chunk.length) {
      if (skip > 0) {
        const n = Math.min(skip, chunk.length - i);
        skip -= n;
        i += n;
        continue;
      }
      head.push(chunk[i++]);
      if (head.length < 2) continue;
      const len7 = head[1] & 127;
      const need = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (head[1] & 128 ? 4 : 0);
      if (head.length < need) continue;
      let len = len7;
      if (len7 === 126) len = head[2] * 256 + head[3];
      else if (len7 === 127) len = head.slice(2, 10).reduce((v, b) => v * 256 + b, 0);
      const opcode = head[0] & 15;
      if (opcode === 1 || opcode === 2) {
        st.messages++;
        if (head[0] & 0x40) st.compressed++;
      }
      skip = len;
      head = [];
    }
  });
  return st;
}

// Our side compresses every message of at least 32 bytes (ws.h's default threshold),
// except that without context takeover in its direction (§7.1.1) a message that would
// not get smaller goes as it is (§6.1 allows either): short binary and UTF-8 plan
// messages do not, so there only those of 4 KiB or more must have RSV1.
// The "pmd:rsv1" check, given the sizes of the messages our side echoed.
const OUR_THRESHOLD = 32;
function rsv1Check(st, sizes, noContextTakeover) {
  const most = sizes.filter((n) => n >= OUR_THRESHOLD).length;
  const least = noContextTakeover ? sizes.filter((n) => n >= 4096).length : most;
  const payload = sizes.reduce((a, b) => a + b, 0);
  const ok = st.messages === sizes.length && st.compressed >= least && st.compressed <= most;
  return [ok, `${st.compressed} of ${st.messages} messages from our side had RSV1 (want ` +
    `${least === most ? most : `${least} to ${most}`} of ${sizes.length}); ` +
    `${st.bytes} bytes on the wire for ${payload} bytes of payload`];
}

module.exports = {
  countFrames, rsv1Check, messages, burst, same, describe, FRAGMENTS, PING,
  CLOSE_BY_CLIENT, CLOSE_BY_SERVER, Inbox, drive, awaitClose, parseArgs, listening, exitAfter, report,
};
