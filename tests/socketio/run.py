#!/usr/bin/python3
"""build/socketio_client against the real Socket.IO 4.x server (npm socket.io, pinned in
tests/socketio/package.json; the server is tests/socketio/server.js).

    /usr/bin/python3 tests/socketio/run.py

The server runs with a short pingInterval/pingTimeout so the ping checks take seconds.
Every client is a build/socketio_client process driven through its stdin and read on
its stdout (see the comment at the top of examples/socketio_client.c). One line per
check, "ok|FAIL check: detail", then "N passed, M failed"; exit status 1 if anything
failed. Everything listens on 127.0.0.1, every wait has a timeout, and every process
started here is killed before exit."""
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CLIENT = os.environ.get("SOCKETIO_CLIENT", os.path.join(ROOT, "build", "socketio_client"))
LOGS = os.path.join(ROOT, "build", "socketio")
PING_INTERVAL, PING_TIMEOUT = 500, 400  # ms
WAIT = 10.0      # one expected line
SLACK = 1.0      # s: timers, scheduling and poll ticks on a loaded 2-core machine

children = []
results = []


def report(check, ok, detail):
    results.append(ok)
    print("%-4s %s: %s" % ("ok" if ok else "FAIL", check, detail), flush=True)


class Proc:
    """A child whose stdout lines are collected by a thread; expect() takes them in
    order, skipping lines that do not match (pings, other events)."""

    def __init__(self, name, cmd):
        self.name = name
        self.log = open(os.path.join(LOGS, name + ".log"), "w")
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=self.log, start_new_session=True)
        children.append(self.p)
        self.lines = queue.Queue()
        self.seen = []  # every line so far, with its arrival time
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for raw in self.p.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.log.write("> %s\n" % line)
            self.log.flush()
            self.lines.put((time.monotonic(), line))
        self.lines.put((time.monotonic(), None))

    def send(self, line):
        self.log.write("< %s\n" % line)
        self.log.flush()
        self.p.stdin.write((line + "\n").encode())
        self.p.stdin.flush()

    def expect(self, pattern, timeout=WAIT):
        """The first line from now on that matches pattern: (match, arrival time); raises
        on timeout or end of output."""
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            try:
                t, line = self.lines.get(timeout=max(left, 0.001))
            except queue.Empty:
                raise TimeoutError("%s: no line matching %r within %.1f s" % (self.name, pattern, timeout))
            if line is None:
                self.lines.put((t, None))
                raise EOFError("%s ended without a line matching %r" % (self.name, pattern))
            self.seen.append((t, line))
            m = re.search(pattern, line)
            if m:
                return m, t

    def drain(self):
        """Every line that arrived so far (without waiting)."""
        while True:
            try:
                t, line = self.lines.get_nowait()
            except queue.Empty:
                return [l for _, l in self.seen]
            if line is None:
                self.lines.put((t, None))
                return [l for _, l in self.seen]
            self.seen.append((t, line))

    def wait(self, timeout=WAIT):
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            return "still running"

    def kill(self):
        if self.p.poll() is None:
            try:
                os.killpg(self.p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.p.wait()
        if self.p in children:
            children.remove(self.p)
        self.log.close()


def client(name, url, *args):
    """A socketio_client that has connected to its namespace: (proc, sid)."""
    c = Proc(name, [CLIENT, url] + list(args))
    m, _ = c.expect(r"^connect (\S+) sid=(\S+)$")
    return c, m.group(2)


def same_json(text, want):
    try:
        return json.loads(text) == want
    except ValueError:
        return False


def check(name, fn):
    """Run one check; an exception (timeout, early exit) is its FAIL."""
    try:
        fn(name)
    except Exception as e:
        report(name, False, "%s: %s" % (type(e).__name__, e))


def main():
    os.makedirs(LOGS, exist_ok=True)
    server = Proc("server", ["node", os.path.join(HERE, "server.js"), str(PING_INTERVAL), str(PING_TIMEOUT)])
    try:
        m, _ = server.expect(r"^listening on 127\.0\.0\.1:(\d+)$")
    except Exception as e:
        report("server", False, "the Socket.IO server did not start (%s; see build/socketio/server.log)" % e)
        print("0 passed, 1 failed")
        return 1
    url = "http://127.0.0.1:%s" % m.group(1)
    clients = {}

    def open_and_connect(name):
        """Engine.IO's open packet with the server's timings, then Socket.IO's connect
        to the main namespace, which the server saw with the same sid."""
        c = Proc("a", [CLIENT, url])
        m, _ = c.expect(r"^open sid=(\S+) pingInterval=(\d+) pingTimeout=(\d+)$")
        timings = (int(m.group(2)), int(m.group(3)))
        report(name, timings == (PING_INTERVAL, PING_TIMEOUT),
               "open packet sid %s, pingInterval/pingTimeout %d/%d ms" % ((m.group(1),) + timings))
        m, _ = c.expect(r"^connect / sid=(\S+)$")
        sid = m.group(1)
        server.expect(r"^connect %s /$" % re.escape(sid))
        report("socketio:connect", True, "namespace / accepted, sid %s (the server saw it too)" % sid)
        clients["a"] = (c, sid)

    check("engineio:open", open_and_connect)
    if "a" not in clients:  # nothing else can run without a first connection
        server.kill()
        print("%d passed, %d failed" % (sum(results), len(results) - sum(results)))
        return 1
    a, sid_a = clients["a"]

    def rooms(name):
        """Two clients in a room see each other's events, a third outside does not, and
        the sender does not get its own (socket.to(room) in server.js)."""
        b, _ = client("b", url)
        c, _ = client("c", url)
        clients["b"], clients["c"] = b, c
        for who, p in (("a", a), ("b", b)):
            p.send('call join ["room1"]')
            m, _ = p.expect(r"^call (\d+)$")
            m, _ = p.expect(r"^ack / %s (.*)$" % m.group(1))
            if not same_json(m.group(1), ["joined", "room1"]):
                raise ValueError("%s: join acked with %s" % (who, m.group(1)))
        first = [{"text": "h\u00e9llo \u2713 \U0001F600", "n": 1}, [1, 2.5, None, True]]
        a.send("emit chat " + json.dumps(["room1"] + first, ensure_ascii=False))
        m, _ = b.expect(r'^event / "chat" (.*)$')
        if not same_json(m.group(1), first):
            raise ValueError("b got %s, a sent %s" % (m.group(1), json.dumps(first)))
        second = ["from b", {"nested": {"list": [[], {}]}}]
        b.send("emit chat " + json.dumps(["room1"] + second))
        m, _ = a.expect(r'^event / "chat" (.*)$')
        if not same_json(m.group(1), second):
            raise ValueError("a got %s, b sent %s" % (m.group(1), json.dumps(second)))
        # c answers an echo after both chats went out, so anything for it came before.
        c.send('call echo ["sync"]')
        c.expect(r'^ack / \d+ \["sync"\]$')
        stray = ([l for l in a.drain() if '"chat"' in l][1:] + [l for l in b.drain() if '"chat"' in l][1:]
                 + [l for l in c.drain() if '"chat"' in l])
        report(name, not stray, "a and b in room1 each got the other's event with its JSON arguments"
               + ("; but also: %s" % stray if stray else "; c (not in the room) got none"))

    check("socketio:rooms", rooms)

    def ack_client_to_server(name):
        args = [1, "two", {"three": [3]}, None, True, -0.5e-3, "\u2713 \"quoted\" \\ \n"]
        a.send("call echo " + json.dumps(args))
        m, _ = a.expect(r"^call (\d+)$")
        m, _ = a.expect(r"^ack / %s (.*)$" % m.group(1))
        report(name, same_json(m.group(1), args), "call echo %s -> ack %s" % (json.dumps(args), m.group(1)))

    check("socketio:ack-client-to-server", ack_client_to_server)

    def ack_server_to_client(name):
        """The server emits with a callback; the client's ack reaches that callback."""
        a.send('emit ask ["what is 6*7?"]')
        m, _ = a.expect(r'^event / "question" (.*) id=(\d+)$')
        if not same_json(m.group(1), ["what is 6*7?", {"from": "server"}]):
            raise ValueError("question arrived as %s" % m.group(1))
        answer = [42, "forty-two \u2713"]
        a.send("ack %s %s" % (m.group(2), json.dumps(answer, ensure_ascii=False)))
        m, _ = server.expect(r"^answer %s (.*)$" % re.escape(sid_a))
        got = m.group(1)
        m2, _ = a.expect(r'^event / "answered" (.*)$')
        report(name, same_json(got, answer) and same_json(m2.group(1), answer),
               "server's callback got %s (sent %s)" % (got, json.dumps(answer)))

    check("socketio:ack-server-to-client", ack_server_to_client)

    def binary(name):
        """A Buffer in the server's event arrives as a binary attachment."""
        a.send("emit blob [1000]")
        m, _ = a.expect(r'^event / "blob" (.*) binary=(\d+)$')
        ok = same_json(m.group(1), ["bytes", {"_placeholder": True, "num": 0}, {"n": 1000}]) and m.group(2) == "1000"
        report(name, ok, "%s with a %s-byte attachment" % (m.group(1), m.group(2)))

    check("socketio:binary-event", binary)

    def namespace(name):
        c, sid = client("chat-nsp", url, "--namespace", "/chat")
        server.expect(r"^connect %s /chat$" % re.escape(sid))
        c.send('call echo ["in /chat"]')
        m, _ = c.expect(r"^ack /chat \d+ (.*)$")
        c.send("disconnect")
        rc = c.wait()
        report(name, same_json(m.group(1), ["in /chat"]) and rc == 0,
               "connected to /chat (sid %s), ack %s, exit %s" % (sid, m.group(1), rc))
        c.kill()

    check("socketio:namespace", namespace)

    def auth(name):
        """A namespace middleware refuses a client without the token (connect_error) and
        admits one whose connect carries it."""
        c = Proc("private-refused", [CLIENT, url, "--namespace", "/private"])
        m, _ = c.expect(r"^connect_error /private (.*)$")
        refused = same_json(m.group(1), {"message": "not authorized"})
        rc = c.wait()
        c.kill()
        ok, sid = client("private-admitted", url, "--namespace", "/private",
                         "--auth", json.dumps({"token": "sesame \u2713"}, ensure_ascii=False))
        ok.send("disconnect")
        rc2 = ok.wait()
        ok.kill()
        report(name, refused and rc == 0 and rc2 == 0,
               "without auth: connect_error %s (exit %s); with it: sid %s (exit %s)" % (m.group(1), rc, sid, rc2))

    check("socketio:connect-error-and-auth", auth)

    def pings(name):
        """Pings are answered: the client stays across several intervals."""
        t0 = time.monotonic()
        n = 0
        while time.monotonic() - t0 < 3.5 * PING_INTERVAL / 1000:
            a.expect(r"^ping$", timeout=(PING_INTERVAL + PING_TIMEOUT) / 1000 + SLACK)
            n += 1
        dropped = [l for l in server.drain() if l.startswith("disconnect %s " % sid_a)]
        report(name, n >= 3 and not dropped and a.p.poll() is None,
               "%d pings answered in %.1f s, still connected" % (n, time.monotonic() - t0))

    check("engineio:pings-answered", pings)

    def ping_timeout(name):
        """A client that stops answering pings is dropped by the server after at most
        pingInterval + pingTimeout, and reports that its connection ended."""
        d, sid = client("mute", url)
        d.send("emit muted")
        d.send("mute")
        m, t_server = server.expect(r"^disconnect %s / (\S+) (-?\d+)$" % re.escape(sid),
                                    timeout=(PING_INTERVAL + PING_TIMEOUT) / 1000 + WAIT)
        reason, ms = m.group(1), int(m.group(2))
        d.expect(r"^ping ignored$", timeout=0.1 + WAIT)
        m2, _ = d.expect(r"^(closed|error) .*$")
        rc = d.wait()
        on_time = PING_TIMEOUT - 50 <= ms <= PING_INTERVAL + PING_TIMEOUT + SLACK * 1000
        report(name, reason == "ping_timeout" and on_time and m2.group(1) == "closed" and rc == 0,
               "server: %s %d ms after the client went mute (limit %d + %d ms); client: %s, exit %s"
               % (reason, ms, PING_INTERVAL, PING_TIMEOUT, m2.group(0), rc))
        d.kill()

    check("engineio:ping-timeout", ping_timeout)

    def server_disconnect(name):
        b = clients["b"]
        b.send("emit kick-me")
        b.expect(r"^disconnect / io server disconnect$")
        m, _ = b.expect(r"^(closed|error) .*$")
        rc = b.wait()
        report(name, m.group(1) == "closed" and rc == 0,
               "client reported \"io server disconnect\", then %s, exit %s" % (m.group(0), rc))

    check("socketio:server-disconnect", server_disconnect)

    def client_disconnect(name):
        a.send("disconnect")
        m, _ = server.expect(r"^disconnect %s / (\S+)" % re.escape(sid_a))
        rc = a.wait()
        c = clients["c"]
        c.p.stdin.close()  # end of input leaves as cleanly
        rc_c = c.wait()
        report(name, m.group(1) == "client_namespace_disconnect" and rc == 0 and rc_c == 0,
               "server saw %s; exit %s (and %s after end of input)" % (m.group(1), rc, rc_c))

    check("socketio:client-disconnect", client_disconnect)

    for p in list(children):
        if p is not server.p:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    server.kill()
    passed = sum(results)
    print("%d passed, %d failed" % (passed, len(results) - passed))
    return 0 if passed == len(results) and results else 1


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        rc = main()
    finally:
        for p in list(children):
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    sys.exit(rc)
