#!/usr/bin/python3
"""Interop tests: build/echo_server and build/echo_client against Python's `websockets`.

Run with Debian's /usr/bin/python3 (python3-websockets, asyncio API, 10.x):

    /usr/bin/python3 tests/integration/run.py

Prints one "ok - ..." / "not ok - ..." line per check and "N passed, M failed" last;
exits 1 when anything failed. Everything binds and connects to 127.0.0.1 only, every
wait has a timeout, and every process started here is killed before exit.
"""
import asyncio
import http
import os
import random
import signal
import socket
import string
import subprocess
import sys
import tempfile

import websockets

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVER_BIN = os.path.join(ROOT, "build", "echo_server")
CLIENT_BIN = os.path.join(ROOT, "build", "echo_client")
HOST = "127.0.0.1"
STEP = 30.0          # seconds any single wait may take (16 MiB echoes included)
EVERYTHING = 600.0   # the whole run, in case a step's timeout is itself stuck

SIZES = [0, 1, 125, 126, 127, 65535, 65536, 1 << 20, 16 << 20]
OP_TEXT, OP_CONT = 0x1, 0x0

counts = {"passed": 0, "failed": 0}
processes = []       # every child, killed in main's finally


def check(name, ok, detail=""):
    ok = bool(ok)
    counts["passed" if ok else "failed"] += 1
    line = ("ok - " if ok else "not ok - ") + name
    if not ok and detail:
        line += "  # " + str(detail)[:300]
    print(line, flush=True)
    return ok


def describe(value):
    if isinstance(value, (bytes, bytearray)):
        return "binary %d bytes %r" % (len(value), bytes(value[:16]))
    if isinstance(value, str):
        return "text %d chars %r" % (len(value), value[:16])
    return repr(value)


def messages():
    """(name, payload) pairs: text and binary at every length-encoding boundary, then
    multibyte UTF-8 whose code points straddle reads and frames."""
    rng = random.Random(6455)
    letters = string.ascii_letters + string.digits
    for n in SIZES:
        text = (letters * (n // len(letters) + 1))[:n]
        yield "text %d bytes" % n, text
        yield "binary %d bytes" % n, rng.randbytes(n)
    yield "multibyte UTF-8 text", "h\u00e9llo w\u00f6rld \u2713 \U0001F600 \u65e5\u672c\u8a9e"
    # 1, 2, 3 and 4-byte characters mixed, so a read or frame boundary will land inside
    # a code point somewhere in the 1 MiB.
    alphabet = "a\u00e9\u2713\U0001F600"
    yield "1 MiB of mixed-width UTF-8 text", "".join(rng.choice(alphabet) for _ in range(1 << 18))


def same(sent, got):
    return type(sent) is type(got) and sent == got


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------------
# build/echo_server driven by a websockets client
# ---------------------------------------------------------------------------------

async def start_server(log):
    proc = await asyncio.create_subprocess_exec(
        SERVER_BIN, "-p", "0", stdout=asyncio.subprocess.PIPE, stderr=log)
    processes.append(proc)
    line = await asyncio.wait_for(proc.stdout.readline(), STEP)
    text = line.decode(errors="replace").strip()
    prefix = "listening on 127.0.0.1:"
    if not text.startswith(prefix):
        raise RuntimeError("echo_server did not say where it listens: %r" % text)
    return proc, int(text[len(prefix):])


def connect(port, **kw):
    kw.setdefault("max_size", None)
    kw.setdefault("ping_interval", None)
    kw.setdefault("open_timeout", STEP)
    kw.setdefault("close_timeout", STEP)
    return websockets.connect("ws://%s:%d/" % (HOST, port), **kw)


async def echo(ws, payload):
    await asyncio.wait_for(ws.send(payload), STEP)
    return await asyncio.wait_for(ws.recv(), STEP)


async def test_server_messages(port):
    async with connect(port) as ws:
        for name, payload in messages():
            got = await echo(ws, payload)
            check("server echoes " + name, same(payload, got),
                  "sent %s, got %s" % (describe(payload), describe(got)))

        got = await echo(ws, ["frag", "ment", "ed \u2713"])
        check("server echoes a fragmented text message", got == "fragmented \u2713", describe(got))
        got = await echo(ws, [b"\x00\x01", b"", b"\x02" * 70000])
        check("server echoes a fragmented binary message with an empty fragment",
              got == b"\x00\x01" + b"\x02" * 70000, describe(got))

        # A code point split between two frames is valid text (RFC 6455 §8.1).
        check_mark = "\u2713".encode()
        await asyncio.wait_for(ws.write_frame(False, OP_TEXT, b"ok " + check_mark[:2]), STEP)
        await asyncio.wait_for(ws.write_frame(True, OP_CONT, check_mark[2:]), STEP)
        got = await asyncio.wait_for(ws.recv(), STEP)
        check("server accepts a code point split between frames", got == "ok \u2713", describe(got))

        for data in (b"", b"hello", bytes(range(125))):
            waiter = await asyncio.wait_for(ws.ping(data), STEP)
            try:
                await asyncio.wait_for(waiter, STEP)
                check("server answers a ping of %d bytes with its pong" % len(data), True)
            except asyncio.TimeoutError:
                check("server answers a ping of %d bytes with its pong" % len(data), False,
                      "no pong in %.0f s" % STEP)

        got = await echo(ws, "still open after pings")
        check("connection still echoes after pings", got == "still open after pings", describe(got))

        await asyncio.wait_for(ws.close(4000, "bye"), STEP)
        check("close handshake echoes code 4000", ws.close_code == 4000,
              "close code %r" % ws.close_code)
        check("close handshake echoes reason 'bye'", ws.close_reason == "bye",
              "close reason %r" % ws.close_reason)


async def test_server_subprotocols(port):
    async with connect(port, subprotocols=["chat", "superchat"]) as ws:
        check("server chooses subprotocol chat from [chat, superchat]", ws.subprotocol == "chat",
              "chose %r" % ws.subprotocol)
        got = await echo(ws, "with chat")
        check("echo works on the chat subprotocol", got == "with chat", describe(got))
    async with connect(port, subprotocols=["superchat"]) as ws:
        check("server chooses no subprotocol when chat is not offered", ws.subprotocol is None,
              "chose %r" % ws.subprotocol)
    async with connect(port) as ws:
        check("server chooses no subprotocol when none is offered", ws.subprotocol is None,
              "chose %r" % ws.subprotocol)


async def test_server_bad_utf8(port):
    async with connect(port) as ws:
        await asyncio.wait_for(ws.write_frame(True, OP_TEXT, b"bad \xff text"), STEP)
        await asyncio.wait_for(ws.wait_closed(), STEP)
        check("server fails invalid UTF-8 text with close code 1007", ws.close_code == 1007,
              "close code %r" % ws.close_code)


async def one_concurrent_client(port, seed):
    rng = random.Random(seed)
    sent = []
    for _ in range(30):
        n = rng.choice([0, 1, 125, 126, 1000, 65536, 200000])
        sent.append(rng.randbytes(n) if rng.random() < 0.5 else "x" * n)
    async with connect(port) as ws:
        # Pipelined: all sends first, so many clients have traffic in flight at once.
        for payload in sent:
            await asyncio.wait_for(ws.send(payload), STEP)
        for i, payload in enumerate(sent):
            got = await asyncio.wait_for(ws.recv(), STEP)
            if not same(payload, got):
                return "client %d message %d: sent %s, got %s" % (
                    seed, i, describe(payload), describe(got))
        await asyncio.wait_for(ws.close(), STEP)
    return None


async def test_server_concurrent(port, clients=20):
    results = await asyncio.wait_for(
        asyncio.gather(*(one_concurrent_client(port, s) for s in range(clients)),
                       return_exceptions=True), 4 * STEP)
    problems = [str(r) for r in results if r is not None]
    check("server echoes %d concurrent clients x 30 pipelined messages" % clients,
          not problems, "; ".join(problems))


async def test_server_shutdown(proc, port):
    async with connect(port) as ws:
        got = await echo(ws, "before shutdown")
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(ws.wait_closed(), STEP)
        except asyncio.TimeoutError:
            pass
        check("SIGTERM closes open clients with 1001", ws.close_code == 1001,
              "close code %r" % ws.close_code)
    try:
        rc = await asyncio.wait_for(proc.wait(), STEP)
    except asyncio.TimeoutError:
        rc = "still running after %.0f s" % STEP
    check("echo_server exits 0 after SIGTERM", rc == 0 and got == "before shutdown",
          "exit status %r" % rc)


async def server_tests(log):
    proc, port = await start_server(log)
    check("echo_server prints its port", port > 0, port)
    for test in (test_server_messages, test_server_subprotocols, test_server_bad_utf8,
                 test_server_concurrent):
        await run_test(test.__name__, test(port))
    check("echo_server still running after all clients", proc.returncode is None,
          "exit status %r" % proc.returncode)
    await run_test("test_server_shutdown", test_server_shutdown(proc, port))


# ---------------------------------------------------------------------------------
# build/echo_client driven by a websockets server
# ---------------------------------------------------------------------------------

async def run_client(url, *args):
    """Runs echo_client to the end; returns (exit status, stderr text)."""
    proc = await asyncio.create_subprocess_exec(
        CLIENT_BIN, url, *args, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE)
    processes.append(proc)
    try:
        _, err = await asyncio.wait_for(proc.communicate(), 2 * STEP)
    except asyncio.TimeoutError:
        proc.kill()
        _, err = await proc.communicate()
        return "killed after %.0f s" % (2 * STEP), err.decode(errors="replace")
    return proc.returncode, err.decode(errors="replace")


async def client_handler(ws):
    """Plays the server's part against echo_client; records its own checks."""
    check("echo_client offers subprotocol chat", ws.subprotocol == "chat",
          "negotiated %r" % ws.subprotocol)
    for name, payload in messages():
        got = await echo(ws, payload)
        check("client echoes " + name, same(payload, got),
              "sent %s, got %s" % (describe(payload), describe(got)))
    got = await echo(ws, ["frag", "ment", "ed \u2713"])
    check("client echoes a fragmented text message", got == "fragmented \u2713", describe(got))
    got = await echo(ws, [b"ab", b"", b"cd" * 40000])
    check("client echoes a fragmented binary message", got == b"ab" + b"cd" * 40000,
          describe(got))
    waiter = await asyncio.wait_for(ws.ping(b"are you there"), STEP)
    try:
        await asyncio.wait_for(waiter, STEP)
        check("client answers a ping with its pong", True)
    except asyncio.TimeoutError:
        check("client answers a ping with its pong", False, "no pong in %.0f s" % STEP)
    await asyncio.wait_for(ws.close(1000, "done"), STEP)
    check("client echoes close code 1000", ws.close_code == 1000, "close code %r" % ws.close_code)


async def test_client_echo():
    handled = []

    async def handler(ws):
        try:
            await client_handler(ws)
        except Exception as e:  # noqa: BLE001 - any failure is a failed check
            check("client session runs to the end", False, "%s: %s" % (type(e).__name__, e))
        handled.append(True)

    async with websockets.serve(handler, HOST, 0, subprotocols=["chat"], max_size=None,
                                ping_interval=None, close_timeout=STEP) as server:
        port = server.sockets[0].getsockname()[1]
        rc, err = await run_client("ws://%s:%d/" % (HOST, port), "--protocol", "chat")
    check("echo_client session handled", handled == [True], "handler ran %d times" % len(handled))
    check("echo_client exits 0 after the server's clean close", rc == 0,
          "exit status %r, stderr: %s" % (rc, err.strip()))
    check("echo_client reports close code 1000 on stderr", "1000" in err, err.strip())


async def test_client_refused_handshake():
    async def refuse(path, headers):
        return http.HTTPStatus.FORBIDDEN, [], b"no websockets for you\n"

    async def never(ws):
        pass

    async with websockets.serve(never, HOST, 0, process_request=refuse) as server:
        port = server.sockets[0].getsockname()[1]
        rc, err = await run_client("ws://%s:%d/" % (HOST, port))
    check("echo_client fails when the handshake is refused (403)", rc not in (0, None) and
          isinstance(rc, int), "exit status %r" % rc)
    check("echo_client prints the refusal's status line", "403" in err, err.strip())


async def test_client_nothing_listening():
    rc, err = await run_client("ws://%s:%d/" % (HOST, free_port()))
    check("echo_client fails when nothing listens", isinstance(rc, int) and rc != 0,
          "exit status %r" % rc)
    check("echo_client says the connection was refused", "refused" in err.lower(), err.strip())


async def test_client_wss():
    rc, err = await run_client("wss://%s:1/" % HOST)
    check("echo_client exits 2 for wss:// (no TLS built in)", rc == 2, "exit status %r" % rc)
    check("echo_client explains that wss:// needs TLS", "TLS" in err, err.strip())


async def client_tests():
    for test in (test_client_echo, test_client_refused_handshake,
                 test_client_nothing_listening, test_client_wss):
        await run_test(test.__name__, test())


# ---------------------------------------------------------------------------------

async def run_test(name, coro):
    """A test that dies (timeout, dropped connection) counts as one failed check."""
    try:
        await coro
    except Exception as e:  # noqa: BLE001
        check(name + " completes", False, "%s: %s" % (type(e).__name__, e))


async def main(log):
    await server_tests(log)
    await client_tests()


def kill_all():
    for proc in processes:
        if proc.returncode is None:
            try:
                proc.kill()
            except ProcessLookupError:
                pass


def run():
    for binary in (SERVER_BIN, CLIENT_BIN):
        if not os.access(binary, os.X_OK):
            print("%s is missing: run `make` first" % binary, file=sys.stderr)
            return 2
    print("# websockets %s" % websockets.__version__, flush=True)
    loop = asyncio.new_event_loop()
    with tempfile.TemporaryFile() as log:
        try:
            loop.run_until_complete(asyncio.wait_for(main(log), EVERYTHING))
        except Exception as e:  # noqa: BLE001
            check("integration run completes", False, "%s: %s" % (type(e).__name__, e))
        finally:
            kill_all()
            # Reap the children so none outlives the run (asyncio needs its loop for it).
            for proc in processes:
                try:
                    loop.run_until_complete(asyncio.wait_for(proc.wait(), 5))
                except Exception:  # noqa: BLE001
                    pass
            loop.close()
        if counts["failed"]:
            log.seek(0)
            tail = log.read().decode(errors="replace").splitlines()[-40:]
            for line in tail:
                print("# echo_server: " + line)
    print("%d passed, %d failed" % (counts["passed"], counts["failed"]))
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(run())
