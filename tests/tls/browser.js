'use strict';
// Chromium (Debian's, driven by playwright-core from tests/browser) against
// build/chat_server over https:// and wss://, with the run's test CA trusted the way a
// user would: in an NSS database (certutil, Debian libnss3-tools) under the HOME the
// browser runs with. Then build/wscat joins the same chat over wss://.
//   node tests/tls/browser.js CERTDIR      (CERTDIR made by tests/tls/certs.sh)
// Prints "RESULT<TAB>check<TAB>ok|FAIL<TAB>detail" lines for tests/tls/run.py; every wait
// is bounded and every process it starts is killed on the way out.
const { spawn, execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const ROOT = path.resolve(__dirname, '..', '..');
const BUILD = path.join(ROOT, 'build');
const { chromium } = require(path.join(ROOT, 'tests', 'browser', 'node_modules', 'playwright-core'));
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const CERTS = path.resolve(process.argv[2] || path.join(BUILD, 'tls', 'certs'));
const WAIT_MS = 10000;
const RUN_MS = 120000;

let failed = 0;
const children = new Set();
const homes = [];

function report(check, ok, detail) {
  if (!ok) failed++;
  console.log(`RESULT\t${check}\t${ok ? 'ok' : 'FAIL'}\t${String(detail || '').replace(/\s+/g, ' ')}`);
}

async function check(name, fn) {
  try {
    report(name, true, (await fn()) || '');
    return true;
  } catch (err) {
    report(name, false, err && err.message ? err.message : err);
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
    try { proc.kill('SIGKILL'); } catch (_) { /* gone */ }
  }
}

function run(file, args, input, ms = WAIT_MS) {
  return new Promise((resolve) => {
    const proc = track(spawn(file, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] }));
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => proc.kill('SIGKILL'), ms);
    proc.stdout.on('data', (d) => { stdout += d; });
    proc.stderr.on('data', (d) => { stderr += d; });
    proc.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
    proc.stdin.on('error', () => {});
    proc.stdin.end(input);
  });
}

// A HOME whose NSS database trusts the test CA (or trusts nothing, trust = false).
function makeHome(trust) {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'ws-h-tls-home-'));
  homes.push(home);
  const db = path.join(home, '.pki', 'nssdb');
  fs.mkdirSync(db, { recursive: true });
  execFileSync('certutil', ['-d', `sql:${db}`, '-N', '--empty-password']);
  if (trust) {
    execFileSync('certutil', ['-d', `sql:${db}`, '-A', '-t', 'C,,', '-n', 'ws.h test CA',
      '-i', path.join(CERTS, 'ca.pem')]);
  }
  return home;
}

function launch(home) {
  const profile = path.join(home, 'profile');
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    timeout: 30000,
    env: { ...process.env, HOME: home },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

const state = (page) => page.$eval('#state', (el) => el.dataset.state);
const logHas = (page, cls, text) => page.$$eval(`#log li.${cls} .body`,
  (els, t) => els.some((el) => el.textContent === t), text);

async function main() {
  for (const f of ['chat_server', 'wscat']) {
    expect(fs.existsSync(path.join(BUILD, f)), `build/${f} is missing: run make`);
  }
  let out = '';
  const server = track(spawn(path.join(BUILD, 'chat_server'),
    ['-p', '0', '--tls-cert', path.join(CERTS, 'server.pem'), '--tls-key', path.join(CERTS, 'server.key')],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }));
  server.stdout.on('data', (d) => { out += d; });
  server.stderr.on('data', (d) => { out += d; });
  const m = await waitUntil('chat_server to print its address', () => /chat on (https):\/\/127\.0\.0\.1:(\d+)\//.exec(out));
  const port = Number(m[2]);
  const origin = `https://127.0.0.1:${port}`;

  // Control: the same browser without the test CA must refuse the page, so the pass
  // below really rests on the certificate being checked and trusted.
  await check('tls:refused-without-ca', async () => {
    const ctx = await launch(makeHome(false));
    try {
      const page = await ctx.newPage();
      let err = null;
      try { await page.goto(`${origin}/`, { timeout: WAIT_MS }); } catch (e) { err = e; }
      expect(err && /ERR_CERT_AUTHORITY_INVALID/.test(err.message),
        `expected ERR_CERT_AUTHORITY_INVALID, got ${err ? err.message.split('\n')[0] : 'the page'}`);
      return 'net::ERR_CERT_AUTHORITY_INVALID';
    } finally {
      await Promise.race([ctx.close().catch(() => {}), sleep(WAIT_MS)]);
    }
  });

  const context = await launch(makeHome(true));
  try {
    context.setDefaultTimeout(WAIT_MS);
    const a = await context.newPage();
    const b = await context.newPage();
    await check('tls:page', async () => {
      const res = await a.goto(`${origin}/`, { timeout: WAIT_MS });
      expect(res && res.status() === 200, `GET / answered ${res && res.status()}`);
      const sec = await res.securityDetails();
      expect(sec && sec.issuer === 'ws.h test CA', `security details ${JSON.stringify(sec)}`);
      await b.goto(`${origin}/`, { timeout: WAIT_MS });
      return `200 over ${sec.protocol}, certificate issued by "${sec.issuer}"`;
    });
    await check('tls:wss-url', async () => {
      const where = await a.evaluate(() => ({ protocol: location.protocol, url: window.chat.ws.url }));
      expect(where.protocol === 'https:' && where.url === `wss://127.0.0.1:${port}/ws`,
        `page at ${where.protocol}, socket at ${where.url}`);
      return `location.protocol ${where.protocol}, WebSocket ${where.url}`;
    });
    await check('open:both-pages', async () => {
      await waitUntil('page A open', async () => (await state(a)) === 'open');
      await waitUntil('page B open', async () => (await state(b)) === 'open');
    });
    await check('text:page-to-page', async () => {
      await a.bringToFront();
      await a.fill('#text', 'hello over wss ✓');
      await a.click('#send');
      await waitUntil('B to list the text', () => logHas(b, 'text', 'hello over wss ✓'));
    });
    await check('binary:page-to-page', async () => {
      await a.click('#send-binary');
      const hex = await a.$eval('#last-sent', (el) => el.dataset.hex);
      await waitUntil('B to list the bytes', () => logHas(b, 'binary', `binary 4 bytes: ${hex}`));
    });
    await check('text:wscat-to-pages', async () => {
      const r = await run(path.join(BUILD, 'wscat'), [`wss://127.0.0.1:${port}/ws`, '--cafile',
        path.join(CERTS, 'ca.pem')], 'wscat over wss\n');
      expect(r.code === 0 && r.stderr.includes('connected (TLSv1.3'), `wscat: exit ${r.code} ${r.stderr}`);
      await waitUntil('A to list it', () => logHas(a, 'text', 'wscat over wss'));
      await waitUntil('B to list it', () => logHas(b, 'text', 'wscat over wss'));
    });
    await check('close:page', async () => {
      await b.evaluate(() => window.chat.ws.close(4000, 'bye'));
      await waitUntil('chat_server to log close 4000 bye', () => / close 4000 bye$/m.test(out));
      const c = await waitUntil('page B to see its close', () => b.evaluate(() =>
        window.chat.closes.find((x) => x.code === 4000)));
      expect(c.wasClean, 'the close was not clean');
    });
  } finally {
    if (failed || process.env.VERBOSE) console.log(out.trimEnd().replace(/^/gm, '# chat_server: '));
    await Promise.race([context.close().catch(() => {}), sleep(WAIT_MS)]);
    server.kill('SIGTERM');
    await sleep(200);
  }
}

const watchdog = setTimeout(() => {
  report('tls:run', false, `the whole run took longer than ${RUN_MS / 1000} s`);
  killAll();
  process.exit(1);
}, RUN_MS);
process.on('exit', killAll);

main().catch((err) => report('tls:run', false, err && err.stack ? err.stack : err)).finally(() => {
  clearTimeout(watchdog);
  killAll();
  for (const h of homes) fs.rmSync(h, { recursive: true, force: true });
  process.exitCode = failed ? 1 : 0;
});
