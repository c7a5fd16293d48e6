'use strict';
// Browser test: Debian's Chromium (driven by playwright-core) and build/wscat against
// build/chat_server on 127.0.0.1. Run from anywhere: `make browser`, or
//   node tests/browser/run.js
// Prints "ok - ..." / "not ok - ..." per check, appends "peer<TAB>client<TAB>check<TAB>ok|FAIL"
// to build/interop/results.tsv, saves a screenshot as build/chat.png, ends with
// "N passed, M failed" and exits non-zero on any failure. Every wait is bounded, and every
// process it starts is killed on the way out, whatever happened.

const { chromium } = require('playwright-core');
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const ROOT = path.resolve(__dirname, '..', '..');
const BUILD = path.join(ROOT, 'build');
const RESULTS = path.join(BUILD, 'interop', 'results.tsv');
const SCREENSHOT = path.join(BUILD, 'chat.png');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const WAIT_MS = 10000;     // any single wait
const RUN_MS = 120000;     // the whole run, as a last resort

let passed = 0;
let failed = 0;
const children = new Set();

// role: results.tsv's second field; compression: its sixth (tests/interop/run.py's
// compression column), for the rows where permessage-deflate was in use and checked.
function record(peer, check, ok, detail, role = 'client', compression = '') {
  const line = `${ok ? 'ok' : 'not ok'} - ${peer}: ${check}`;
  console.log(ok || !detail ? line : `${line}\n#   ${String(detail).split('\n').join('\n#   ')}`);
  fs.appendFileSync(RESULTS, `${peer}\t${role}\t${check}\t${ok ? 'ok' : 'FAIL'}` +
    `${compression ? `\t\t${compression}` : ''}\n`);
  if (ok) passed++;
  else failed++;
}

// Runs fn as one check; a thrown error (a timeout, a failed expectation) fails it.
async function check(peer, name, fn, role, compression) {
  try {
    await fn();
    record(peer, name, true, '', role, compression);
    return true;
  } catch (err) {
    record(peer, name, false, err && err.message ? err.message : err, role, compression);
    return false;
  }
}

function expect(cond, what) {
  if (!cond) throw new Error(what);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitUntil(what, fn, ms = WAIT_MS) {
  const end = Date.now() + ms;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() >= end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

function track(proc) {
  children.add(proc);
  proc.on('exit', () => children.delete(proc));
  return proc;
}

function killAll() {
  for (const proc of children) {
    try { proc.kill('SIGKILL'); } catch (_) { /* already gone */ }
  }
}

// build/chat_server -p 0, its stdout kept for the checks.
class ChatServer {
  constructor() {
    this.out = '';
    this.exit = null;
  }

  async start() {
    this.proc = track(spawn(path.join(BUILD, 'chat_server'), ['-p', '0'],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }));
    this.proc.stdout.on('data', (d) => { this.out += d; });
    this.proc.stderr.on('data', (d) => { this.out += d; });
    this.proc.on('exit', (code, signal) => { this.exit = { code, signal }; });
    const m = await waitUntil('chat_server to print its address', () =>
      this.exit ? Promise.reject(new Error(`chat_server exited: ${this.out}`))
                : /chat on http:\/\/127\.0\.0\.1:(\d+)\//.exec(this.out));
    this.port = Number(m[1]);
    this.url = `http://127.0.0.1:${this.port}/`;
  }

  waitLog(re, what) {
    return waitUntil(`chat_server to log ${what}`, () => re.exec(this.out));
  }
}

// build/echo_server -p 0 --deflate: the browser's own permessage-deflate offer against
// ws.h's echo server.
async function startEchoServer() {
  const srv = { out: '', exit: null };
  srv.proc = track(spawn(path.join(BUILD, 'echo_server'), ['-p', '0', '--deflate'],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }));
  srv.proc.stdout.on('data', (d) => { srv.out += d; });
  srv.proc.stderr.on('data', (d) => { srv.out += d; });
  srv.proc.on('exit', (code, signal) => { srv.exit = { code, signal }; });
  const m = await waitUntil('echo_server to print its port', () =>
    srv.exit ? Promise.reject(new Error(`echo_server exited: ${srv.out}`))
             : /listening on 127\.0\.0\.1:(\d+)/.exec(srv.out));
  srv.port = Number(m[1]);
  return srv;
}

// In the page: a WebSocket to url, then text and binary messages of each size echoed
// (text 'abc...z' repeated; binary byte i = (31 i + 7) mod 256, and random bytes, which
// do not compress), a UTF-8 one, then close 4000. Returns what the page saw.
function pageEcho(url) {
  /* global WebSocket */
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    const out = { extensions: null, results: [], close: null };
    let next = null;
    ws.onmessage = (e) => { if (next) { const n = next; next = null; n(e.data); } };
    const echo = (data) => new Promise((res) => { next = res; ws.send(data); });
    ws.onerror = () => { out.error = 'error event'; };
    ws.onclose = (e) => { out.close = { code: e.code, reason: e.reason, clean: e.wasClean }; resolve(out); };
    ws.onopen = async () => {
      out.extensions = ws.extensions;
      for (const n of [0, 125, 126, 65535, 65536, 1 << 20]) {
        const text = 'abcdefghijklmnopqrstuvwxyz'.repeat(Math.ceil(n / 26)).slice(0, n);
        out.results.push([`text:${n}`, (await echo(text)) === text]);
        const bin = new Uint8Array(n);
        for (let i = 0; i < n; i++) bin[i] = (i * 31 + 7) & 255;
        const got = new Uint8Array(await echo(bin));
        out.results.push([`binary:${n}`, got.length === n && got.every((v, i) => v === bin[i])]);
      }
      const rnd = new Uint8Array(1 << 20);
      for (let i = 0; i < rnd.length; i += 65536) crypto.getRandomValues(rnd.subarray(i, i + 65536));
      const back = new Uint8Array(await echo(rnd));
      out.results.push(['binary:random-1048576', back.length === rnd.length && back.every((v, i) => v === rnd[i])]);
      const utf8 = 'h\u00e9llo w\u00f6rld \u2713 \u{1F600} \u65e5\u672c\u8a9e \u0416'.repeat(2000);
      out.results.push(['utf8:long', (await echo(utf8)) === utf8]);
      ws.close(4000, 'bye \u2713');
    };
  });
}

// Runs a program to its end with the given stdin; kills it after ms.
function run(file, args, input, ms = WAIT_MS) {
  return new Promise((resolve) => {
    const proc = track(spawn(file, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] }));
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; proc.kill('SIGKILL'); }, ms);
    proc.stdout.on('data', (d) => { stdout += d; });
    proc.stderr.on('data', (d) => { stderr += d; });
    proc.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
    proc.stdin.on('error', () => { /* it may exit before reading everything */ });
    proc.stdin.end(input);
  });
}

function describe(r) {
  return `exit ${r.code}${r.signal ? ' signal ' + r.signal : ''}${r.timedOut ? ' (timed out)' : ''}` +
    `\nstdout: ${JSON.stringify(r.stdout)}\nstderr: ${JSON.stringify(r.stderr)}`;
}

// What the page shows, read from its DOM.
const state = (page) => page.$eval('#state', (el) => el.dataset.state);
const logHas = (page, cls, text) => page.$$eval(`#log li.${cls} .body`,
  (els, t) => els.some((el) => el.textContent === t), text);
const closes = (page) => page.evaluate(() => window.chat.closes.slice());

async function waitClose(page, code, reason, who) {
  let seen = [];
  try {
    return await waitUntil(`${who} to see close ${code} "${reason}"`, async () => {
      seen = await closes(page);
      return seen.find((c) => c.code === code && c.reason === reason);
    });
  } catch (err) {
    throw new Error(`${err.message}; it saw ${JSON.stringify(seen)}`);
  }
}

async function main() {
  fs.mkdirSync(path.dirname(RESULTS), { recursive: true });
  for (const exe of ['chat_server', 'wscat']) {
    if (!fs.existsSync(path.join(BUILD, exe))) throw new Error(`build/${exe} is missing: run make`);
  }
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: sh tests/deps.sh chromium`);

  const server = new ChatServer();
  await server.start();
  const wsUrl = `ws://127.0.0.1:${server.port}/ws`;
  const wscat = path.join(BUILD, 'wscat');

  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'ws-h-chromium-'));
  let context = null;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      timeout: 30000,
      viewport: { width: 900, height: 640 },
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    context.setDefaultTimeout(WAIT_MS);
    const a = await context.newPage();
    const b = await context.newPage();
    // Playwright's clicks wait for animation frames, which a background tab gets only
    // now and then: each page is brought to the front before it is used.
    for (const [name, page] of [['A', a], ['B', b]]) {
      page.on('pageerror', (err) => console.log(`# page ${name} error: ${err.message}`));
    }

    await check('chromium', 'http: page served over HTTP', async () => {
      for (const page of [a, b]) {
        const res = await page.goto(server.url, { timeout: WAIT_MS });
        expect(res && res.status() === 200, `GET / answered ${res && res.status()}`);
      }
    });

    await check('chromium', 'open: both pages reach open', async () => {
      await waitUntil('page A open', async () => (await state(a)) === 'open');
      await waitUntil('page B open', async () => (await state(b)) === 'open');
    });

    await check('chromium', 'pmd:agreed: the browser offer of permessage-deflate accepted', async () => {
      await server.waitLog(/open \/ws \(extensions offered: [^)]*permessage-deflate/,
        'an offer of permessage-deflate');
      await server.waitLog(/ extension: permessage-deflate/, 'the agreed extension (WS_EV_OPEN)');
      const ext = await a.evaluate(() => window.chat.ws.extensions);
      expect(/^permessage-deflate/.test(ext), `the page negotiated extensions "${ext}"`);
      expect((await state(a)) === 'open', 'page A is no longer open');
    });

    await check('chromium', 'text: from A reaches B and A', async () => {
      await a.bringToFront();
      await a.fill('#text', 'hello from A ✓');
      await a.click('#send');
      await waitUntil('B to list the text', () => logHas(b, 'text', 'hello from A ✓'));
      await waitUntil('A to list its own text', () => logHas(a, 'text', 'hello from A ✓'));
    });

    await check('chromium', 'binary: from A reaches B and A', async () => {
      await a.click('#send-binary');
      const hex = await a.$eval('#last-sent', (el) => el.dataset.hex);
      expect(/^([0-9a-f]{2} ){3}[0-9a-f]{2}$/.test(hex || ''), `page A sent "${hex}"`);
      await waitUntil('B to list the bytes', () => logHas(b, 'binary', `binary 4 bytes: ${hex}`));
      await waitUntil('A to list its own bytes', () => logHas(a, 'binary', `binary 4 bytes: ${hex}`));
    });

    await check('chromium', 'text: from B reaches A', async () => {
      await b.bringToFront();
      await b.fill('#text', 'hi A, B here');
      await b.press('#text', 'Enter');
      await waitUntil('A to list the text', () => logHas(a, 'text', 'hi A, B here'));
    });

    await check('wscat', 'text: a piped line broadcast back, exit 0', async () => {
      const r = await run(wscat, [wsUrl], 'hello from wscat\n');
      expect(!r.timedOut && r.code === 0, describe(r));
      expect(r.stdout.split('\n').includes('hello from wscat'), describe(r));
    });

    await check('wscat', 'pmd: --deflate (after the URL) prints the agreed extension, exit 0', async () => {
      const r = await run(wscat, [wsUrl, '--deflate'], 'hello from wscat\n');
      expect(!r.timedOut && r.code === 0, describe(r));
      expect(/^wscat: extension: permessage-deflate; server_max_window_bits=15; client_max_window_bits=15$/m
        .test(r.stderr), describe(r));
      expect(r.stdout.split('\n').includes('hello from wscat'), describe(r));
    });

    await check('chromium', 'text: a message from wscat reaches the pages', async () => {
      await waitUntil('A to list it', () => logHas(a, 'text', 'hello from wscat'));
      await waitUntil('B to list it', () => logHas(b, 'text', 'hello from wscat'));
    });

    await check('wscat', 'binary: --binary gives a hex summary, exit 0', async () => {
      const r = await run(wscat, [wsUrl, '--binary'], 'abc\n');
      expect(!r.timedOut && r.code === 0, describe(r));
      expect(r.stdout.split('\n').includes('<binary 3 bytes: 61 62 63>'), describe(r));
      await waitUntil('B to list it', () => logHas(b, 'binary', 'binary 3 bytes: 61 62 63'));
    });

    await check('wscat', 'handshake: refused, status line shown, exit 1', async () => {
      const r = await run(wscat, [`ws://127.0.0.1:${server.port}/nope`], '');
      expect(!r.timedOut && r.code === 1, describe(r));
      expect(/404 Not Found/.test(r.stderr), describe(r));
    });

    try {
      await a.bringToFront();
      await a.screenshot({ path: SCREENSHOT, timeout: WAIT_MS });
      console.log(`# screenshot: ${path.relative(ROOT, SCREENSHOT)}`);
    } catch (err) {
      console.log(`# screenshot failed: ${err.message}`);
    }

    // The browser's offer against echo_server --deflate: sizes up to 1 MiB both types.
    const echo = await startEchoServer();
    const comp = 'browser offer';
    const seen = await a.evaluate(pageEcho, `ws://127.0.0.1:${echo.port}/`).catch((err) => ({ error: err.message }));
    await check('chromium', 'pmd:agreed', async () => {
      expect(/^permessage-deflate/.test(seen.extensions || ''), `the page saw extensions "${seen.extensions}" ${seen.error || ''}`);
      const m = await waitUntil('echo_server to log the extension', () => / extension: (permessage-deflate.*)/.exec(echo.out));
      expect(m, echo.out);
    }, 'server', comp);
    for (const [name, ok] of seen.results || [['text', false]]) {
      await check('chromium', name, async () => expect(ok, `the echo differs (${JSON.stringify(seen)})`.slice(0, 400)),
        'server', comp);
    }
    await check('chromium', 'close:peer', async () => {
      expect(seen.close && seen.close.code === 4000 && seen.close.reason === 'bye \u2713' && seen.close.clean,
        `the page saw ${JSON.stringify(seen.close)}`);
    }, 'server', comp);
    echo.proc.kill('SIGTERM');

    await b.evaluate(() => window.chat.ws.close(4000, 'bye'));
    await check('chromium', 'close: 4000 "bye" from a page reaches the server', async () => {
      await server.waitLog(/ close 4000 bye$/m, 'close 4000 bye');
    });
    await check('chromium', 'close: the page sees its 4000 "bye" come back, clean', async () => {
      const c = await waitClose(b, 4000, 'bye', 'page B');
      expect(c.wasClean, 'the close was not clean');
    });
    await check('chromium', 'open: the page reconnects after the close', async () => {
      await waitUntil('page B open again', async () => (await state(b)) === 'open');
    });

    await check('chromium', 'close: SIGTERM, the pages see 1001 "going away", server exits 0', async () => {
      server.proc.kill('SIGTERM');
      for (const [name, page] of [['A', a], ['B', b]]) {
        const c = await waitClose(page, 1001, 'going away', `page ${name}`);
        expect(c.wasClean, `page ${name}: the close was not clean`);
        const shown = await page.$eval('#last-close', (el) => el.textContent);
        expect(shown.includes('1001 going away'), `page ${name} shows "${shown}"`);
      }
      const exit = await waitUntil('chat_server to exit', () => server.exit);
      expect(exit.code === 0, `chat_server exit ${JSON.stringify(exit)}\n${server.out}`);
    });
  } finally {
    // On failure (or VERBOSE=1) the server's side of the story helps most.
    if (failed || process.env.VERBOSE) {
      console.log(server.out.trimEnd().replace(/^/gm, '# chat_server: '));
    }
    if (context) await Promise.race([context.close().catch(() => {}), sleep(WAIT_MS)]);
    killAll();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

const watchdog = setTimeout(() => {
  console.log(`not ok - the whole run took longer than ${RUN_MS / 1000} s`);
  killAll();
  console.log(`${passed} passed, ${failed + 1} failed`);
  process.exit(1);
}, RUN_MS);
process.on('exit', killAll);

main().catch((err) => {
  record('chromium', 'set-up', false, err && err.stack ? err.stack : err);
}).finally(() => {
  clearTimeout(watchdog);
  killAll();
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
});
