#!/usr/bin/python3
"""Windows tests: the mingw-w64 builds of the examples, run under wine, against Linux peers.

Run by `make windows` (which builds build/windows/*.exe first) with Debian's
/usr/bin/python3 (python3-websockets 10.x):

    /usr/bin/python3 tests/windows/run.py

  - ws.h after <winsock2.h>/<ws2tcpip.h>/<windows.h>, as C and as C++ (compile_win*.exe)
  - echo_server.exe under wine answering the Python `websockets` client: text, UTF-8,
    binary, a 1 MiB message, ping/pong, the subprotocol, the close code and reason, and
    permessage-deflate with --deflate
  - echo_client.exe under wine echoing what a Python `websockets` server sends, plain
    and with permessage-deflate, then its close code
  - chat_server.exe under wine: its page over HTTP, 404, a room of two `websockets`
    clients (text and binary to everyone, permessage-deflate, close code)
  - wscat.exe under wine talking to the Linux build/echo_server (plain and --deflate):
    text and binary lines, the exit status, a refused connection

Wine runs without a display from a prefix under build/windows/ (created on first use by
a bounded `wineboot -i`, its time printed). Everything binds and connects to 127.0.0.1
only, every wait has a timeout, every process started here is killed, and the prefix's
wineserver is stopped (wineserver -k) at the end. Prints "ok - ..." / "not ok - ..."
per check and "N passed, M failed"; exits 1 when anything failed.
"""
import asyncio
import http.client
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import time

import websockets

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WIN = os.path.join(ROOT, "build", "windows")
LINUX_SERVER = os.path.join(ROOT, "build", "echo_server")
HOST = "127.0.0.1"
STEP = 60.0          # seconds any single wait may take (wine starts slowly on a busy box)
BOOT = 300.0         # the first wineboot of a fresh prefix

counts = {"passed": 0, "failed": 0}
processes = []


def check(name, ok, detail=""):
    ok = bool(ok)
    counts["passed" if ok else "failed"] += 1
    line = ("ok - " if ok else "not ok - ") + name
    if not ok and detail:
        line += "  # " + str(detail)[:400]
    print(line, flush=True)
    return ok


def wine_env():
    env = dict(os.environ)
    env["WINEPREFIX"] = os.path.join(WIN, "wineprefix")
    env["WINEDEBUG"] = "-all"
    # No Mono/Gecko installer dialogs on the first boot: console programs need neither.
    env["WINEDLLOVERRIDES"] = "mscoree=;mshtml="
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    return env


def wine_cmd():
    return shutil.which("wine") or shutil.which("wine64") or "/usr/lib/wine/wine64"


def wineboot():
    env = wine_env()
    t0 = time.monotonic()
    fresh = not os.path.exists(os.path.join(env["WINEPREFIX"], "system.reg"))
    try:
        r = subprocess.run([wine_cmd(), "wineboot", "-i"], env=env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=BOOT)
        ok, out = r.returncode == 0, r.stdout.decode(errors="replace")
    except subprocess.TimeoutExpired:
        ok, out = False, "wineboot took over %d s" % BOOT
    print("# wineboot (%s prefix): %.1f s" % ("new" if fresh else "existing",
                                              time.monotonic() - t0), flush=True)
    return check("wine prefix ready (wineboot -i)", ok, out)


def wineserver_kill():
    ws = shutil.which("wineserver") or "/usr/lib/wine/wineserver"
    try:
        subprocess.run([ws, "-k"], env=wine_env(), timeout=30,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        pass


def run_exe(args, stdin=b"", timeout=STEP):
    """Runs a Windows program under wine to its end; returns (rc, stdout, stderr)."""
    p = subprocess.Popen([wine_cmd()] + args, env=wine_env(), stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    processes.append(p)
    try:
        out, err = p.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        return None, out, err + b"\n[killed after %d s]" % timeout
    return p.returncode, out, err


def start_server(argv, env=None, cwd=None):
    """Starts an echo_server (Linux or under wine) on port 0; returns (process, port)."""
    p = subprocess.Popen(argv + ["-p", "0"], env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    processes.append(p)
    line = b""
    deadline = time.monotonic() + STEP
    os.set_blocking(p.stdout.fileno(), False)
    while time.monotonic() < deadline and b"\n" not in line:
        try:
            chunk = p.stdout.read()
        except BlockingIOError:
            chunk = None
        if chunk:
            line += chunk
        elif p.poll() is not None:
            break
        else:
            time.sleep(0.05)
    m = re.search(r"127\.0\.0\.1:(\d+)", line.decode(errors="replace"))
    if not m:
        p.kill()
        return p, None
    return p, int(m.group(1))


def stop(p):
    if p.poll() is None:
        p.kill()
    try:
        p.wait(timeout=STEP)
    except subprocess.TimeoutExpired:
        pass


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


# ---- ws.h after the Windows headers --------------------------------------------------
def compile_tests():
    for exe in ("compile_win.exe", "compile_winxx.exe"):
        rc, out, err = run_exe([os.path.join(WIN, exe)])
        check("%s: ws.h compiled after windows.h/winsock2.h (%s) runs" %
              (exe, "C++" if "xx" in exe else "C"), rc == 0 and b"ok" in out, out + err)


# ---- echo_server.exe under wine, Python websockets as the client ----------------------
async def drive_echo_server(port, deflate):
    uri = "ws://%s:%d/" % (HOST, port)
    tag = " (permessage-deflate)" if deflate else ""
    rng = random.Random(6455)
    async with websockets.connect(uri, max_size=None, subprotocols=["chat"],
                                  compression="deflate" if deflate else None,
                                  open_timeout=STEP, close_timeout=STEP) as ws:
        check("echo_server.exe: handshake, subprotocol chat chosen (RFC 6455 4.2.2)" + tag,
              ws.subprotocol == "chat", ws.subprotocol)
        ext = ws.response_headers.get("Sec-WebSocket-Extensions", "")
        check("echo_server.exe: permessage-deflate %s (RFC 7692 5)" %
              ("agreed" if deflate else "not agreed without --deflate") + tag,
              ("permessage-deflate" in ext) == deflate, ext)
        cases = [
            ("text", "hello from Linux"),
            ("empty text", ""),
            ("multibyte UTF-8 text", "h\u00e9llo w\u00f6rld \u2713 \U0001F600"),
            ("binary", bytes(range(256))),
            ("1 MiB binary", rng.randbytes(1 << 20)),
            ("1 MiB text", ("abcdefgh" * (1 << 17))),
        ]
        for name, payload in cases:
            await asyncio.wait_for(ws.send(payload), STEP)
            got = await asyncio.wait_for(ws.recv(), STEP)
            check("echo_server.exe echoes %s with its type (RFC 6455 5.6)%s" % (name, tag),
                  type(got) is type(payload) and got == payload,
                  "%r... (%d)" % (got[:16], len(got)))
        pong = await ws.ping(b"are you there")
        try:
            await asyncio.wait_for(pong, STEP)
            ok = True
        except asyncio.TimeoutError:
            ok = False
        check("echo_server.exe answers a ping with its pong (RFC 6455 5.5.2)" + tag, ok)
        await ws.close(4000, "bye from Linux")
        check("echo_server.exe echoes close code 4000 and its reason (RFC 6455 5.5.1)" + tag,
              ws.close_code == 4000 and ws.close_reason == "bye from Linux",
              (ws.close_code, ws.close_reason))


def echo_server_exe():
    for deflate in (False, True):
        argv = [wine_cmd(), os.path.join(WIN, "echo_server.exe")] + (["--deflate"] if deflate else [])
        p, port = start_server(argv, env=wine_env())
        if not check("echo_server.exe%s starts under wine and prints its port" %
                     (" --deflate" if deflate else ""), port, p.stderr.read() if p.poll() is not None else ""):
            continue
        try:
            asyncio.run(asyncio.wait_for(drive_echo_server(port, deflate), 4 * STEP))
        except Exception as e:  # noqa: BLE001 - any failure is a failed check, then go on
            check("echo_server.exe session%s completes" % (" (deflate)" if deflate else ""),
                  False, repr(e))
        stop(p)


# ---- echo_client.exe under wine, a Python websockets server driving it ---------------
def echo_client_exe():
    exe = os.path.join(WIN, "echo_client.exe")
    for deflate in (False, True):
        tag = " (permessage-deflate)" if deflate else ""
        rng = random.Random(7692)
        cases = [("text", "hello from Linux"), ("binary", bytes(range(256))),
                 ("1 MiB binary", rng.randbytes(1 << 20)),
                 ("multibyte UTF-8 text", "h\u00e9llo \u2713 \U0001F600")]
        results = {}

        async def handler(ws, path=None):
            results["subprotocol"] = ws.subprotocol
            results["ext"] = ws.request_headers.get("Sec-WebSocket-Extensions", "")
            for name, payload in cases:
                await ws.send(payload)
                results[name] = await asyncio.wait_for(ws.recv(), STEP)
            await ws.close(4001, "done")

        async def session():
            async with websockets.serve(handler, HOST, 0, max_size=None, subprotocols=["chat"],
                                        compression="deflate" if deflate else None) as srv:
                port = srv.sockets[0].getsockname()[1]
                argv = [wine_cmd(), exe, "ws://%s:%d/" % (HOST, port), "--protocol", "chat"]
                proc = await asyncio.create_subprocess_exec(
                    *(argv + (["--deflate"] if deflate else [])), env=wine_env(),
                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                try:
                    out, err = await asyncio.wait_for(proc.communicate(), 2 * STEP)
                except asyncio.TimeoutError:
                    proc.kill()
                    out, err = await proc.communicate()
                    return None, err + b"[killed]"
                return proc.returncode, err

        try:
            rc, err = asyncio.run(session())
        except Exception as e:  # noqa: BLE001 - a failed check, then go on
            rc, err = None, repr(e).encode()
        check("echo_client.exe offers and gets the subprotocol chat (RFC 6455 4.1)" + tag,
              results.get("subprotocol") == "chat", results.get("subprotocol"))
        check("echo_client.exe offers permessage-deflate only with --deflate (RFC 7692 5)" + tag,
              ("permessage-deflate" in results.get("ext", "")) == deflate, results.get("ext"))
        for name, payload in cases:
            got = results.get(name)
            check("echo_client.exe echoes %s with its type (RFC 6455 5.6)%s" % (name, tag),
                  type(got) is type(payload) and got == payload, repr(got)[:80])
        check("echo_client.exe exits 0 after the server's close 4001 and reports it" + tag,
              rc == 0 and b"4001" in err, (rc, err[-300:]))


# ---- chat_server.exe under wine: the page over HTTP, the room over WebSockets --------
async def drive_chat(port):
    uri = "ws://%s:%d/ws" % (HOST, port)
    async with websockets.connect(uri, open_timeout=STEP, close_timeout=STEP) as a, \
            websockets.connect(uri, open_timeout=STEP, close_timeout=STEP,
                               compression=None) as b:
        ext = a.response_headers.get("Sec-WebSocket-Extensions", "")
        check("chat_server.exe accepts permessage-deflate by default (RFC 7692 5)",
              "permessage-deflate" in ext, ext)
        for payload in ("hello room \u2713", bytes(range(200))):
            await asyncio.wait_for(a.send(payload), STEP)
            got_a = await asyncio.wait_for(a.recv(), STEP)
            got_b = await asyncio.wait_for(b.recv(), STEP)
            check("chat_server.exe gives a %s message to every client, sender included" %
                  ("text" if isinstance(payload, str) else "binary"),
                  got_a == payload and got_b == payload, (got_a, got_b))
        await a.close(4000, "bye")
        check("chat_server.exe answers close 4000 with 4000 (RFC 6455 5.5.1)",
              a.close_code == 4000, a.close_code)


def chat_server_exe():
    argv = [wine_cmd(), os.path.join(WIN, "chat_server.exe"), "-d", "examples/chat"]
    p, port = start_server(argv, env=wine_env(), cwd=ROOT)
    if not check("chat_server.exe starts under wine and prints its port", port):
        return
    with open(os.path.join(ROOT, "examples", "chat", "index.html"), "rb") as f:
        page = f.read()
    for path, status in (("/", 200), ("/nothing-here", 404)):
        try:
            c = http.client.HTTPConnection(HOST, port, timeout=STEP)
            c.request("GET", path)
            r = c.getresponse()
            body = r.read()
            c.close()
            ok = r.status == status and (status != 200 or body == page)
            detail = (r.status, len(body))
        except OSError as e:
            ok, detail = False, repr(e)
        check("chat_server.exe answers GET %s with %d%s" %
              (path, status, " and the page" if status == 200 else ""), ok, detail)
    try:
        asyncio.run(asyncio.wait_for(drive_chat(port), 4 * STEP))
    except Exception as e:  # noqa: BLE001 - a failed check, then go on
        check("chat_server.exe session completes", False, repr(e))
    stop(p)


# ---- wscat.exe under wine against the Linux echo_server -----------------------------
def wscat_exe():
    wscat = os.path.join(WIN, "wscat.exe")
    for deflate in (False, True):
        extra = ["--deflate"] if deflate else []
        tag = " (permessage-deflate)" if deflate else ""
        p, port = start_server([LINUX_SERVER] + extra)
        if not check("Linux echo_server%s starts" % (" --deflate" if deflate else ""), port):
            continue
        url = "ws://%s:%d/" % (HOST, port)
        lines = ["hello from wine", "h\u00e9llo w\u00f6rld \u2713 \U0001F600", "x" * 70000, "last"]
        rc, out, err = run_exe([wscat, url] + extra, ("\n".join(lines) + "\n").encode())
        check("wscat.exe sends each stdin line as a text message and prints the echoes%s" % tag,
              out.decode(errors="replace").split("\n")[:-1] == lines,
              out[:200] + err[-300:])
        check("wscat.exe closes with 1000 and exits 0%s" % tag,
              rc == 0 and b"closed: 1000" in err, (rc, err[-300:]))
        check("wscat.exe reports the permessage-deflate it agreed (RFC 7692 5)%s" % tag,
              (b"extension: permessage-deflate" in err) == deflate, err[-300:])
        rc, out, err = run_exe([wscat, url, "--binary"] + extra, b"ab\n\x01\x02\n")
        check("wscat.exe --binary sends lines as binary messages%s" % tag,
              rc == 0 and out == b"<binary 2 bytes: 61 62>\n<binary 2 bytes: 01 02>\n",
              out + err[-300:])
        # Windows consoles end lines with CR LF: the CR must not go into the message.
        rc, out, err = run_exe([wscat, url] + extra, b"crlf line\r\n")
        check("wscat.exe drops the CR of a CR LF line%s" % tag, rc == 0 and out == b"crlf line\n",
              out + err[-300:])
        stop(p)
        srv_log = p.stderr.read().decode(errors="replace")
        check("Linux echo_server saw wscat.exe's clients close with 1000%s" % tag,
              srv_log.count('peer closed with 1000') >= 3, srv_log[-400:])
    port = free_port()  # nothing listens there now
    rc, out, err = run_exe([wscat, "ws://%s:%d/" % (HOST, port)], b"")
    check("wscat.exe exits 1 and says so when the connection is refused",
          rc == 1 and b"cannot connect" in err, (rc, err[-300:]))


def main():
    t0 = time.monotonic()
    try:
        if wineboot():
            compile_tests()
            echo_server_exe()
            echo_client_exe()
            chat_server_exe()
            wscat_exe()
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pass
        wineserver_kill()
    print("# windows tests: %.1f s" % (time.monotonic() - t0))
    print("%d passed, %d failed" % (counts["passed"], counts["failed"]))
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
