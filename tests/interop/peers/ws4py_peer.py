#!/usr/bin/python3
"""Interop peer on Debian's python3-ws4py (0.5.1, threaded client and wsgiref server):

    /usr/bin/python3 ws4py_peer.py client URL
    /usr/bin/python3 ws4py_peer.py await-close URL  (our server closes first: close:ours-first)
    /usr/bin/python3 ws4py_peer.py server PORT      (0: a free port)

Drives the plan in plan.py over one connection; as a server it accepts one client and
chooses "chat" when offered. ws4py calls back from its own reader thread (the client's
thread, the server's WebSocketManager): the callbacks only put events in a queue, and
the main thread sends and checks."""
import os
import queue
import sys
import threading
import time

from ws4py.client.threadedclient import WebSocketClient
from ws4py.messaging import TextMessage
from ws4py.server.wsgirefserver import WSGIServer, WebSocketWSGIRequestHandler
from ws4py.server.wsgiutils import WebSocketWSGIApplication
from ws4py.websocket import WebSocket
from wsgiref.simple_server import make_server

import plan

OVERALL = 90.0


class Events:
    """What the reader thread saw, taken in order with a timeout."""

    def __init__(self):
        self.q = queue.Queue()

    def next(self, what):
        try:
            kind, a, b = self.q.get(timeout=plan.STEP_TIMEOUT)
        except queue.Empty:
            raise TimeoutError("timed out waiting for %s" % what)
        if kind != what:
            raise ValueError("expected %s, got %s%s" % (what, kind, " %s %r" % (a, b) if kind == "close" else ""))
        return a, b


class Peer:
    """The callbacks both roles share (a mixin over ws4py's WebSocket)."""

    def opened(self):
        self.events.q.put(("open", None, None))

    def received_message(self, m):
        # m.data is the bytes; text is decoded here so it compares with plan.py's str
        data = bytes(m.data)
        self.events.q.put(("message", data if m.is_binary else data.decode("utf-8"), None))

    def ponged(self, pong):
        self.events.q.put(("pong", bytes(pong.data), None))

    def closed(self, code, reason=None):
        if isinstance(reason, (bytes, bytearray)):
            reason = reason.decode("utf-8", "replace")
        self.events.q.put(("close", code, reason))


class Client(Peer, WebSocketClient):
    def __init__(self, url):
        self.events = Events()
        WebSocketClient.__init__(self, url, protocols=["chat", "superchat"])


class ServerSide(Peer, WebSocket):
    accepted = queue.Queue()  # the server's connection, handed to the main thread

    def __init__(self, *args, **kwargs):
        self.events = Events()
        WebSocket.__init__(self, *args, **kwargs)

    def opened(self):
        ServerSide.accepted.put(self)


def send(ws, data):
    ws.send(data, binary=isinstance(data, bytes))


def close_echo(ws):
    """The close frame that answered ours. ws4py's server manager never calls closed()
    when the server started the close (it drops a socket whose handshake completed
    without terminate()), so there the echo is read off the stream once ws4py has
    marked the client side terminated."""
    if isinstance(ws, Client):
        return ws.events.next("close")
    for _ in range(int(plan.STEP_TIMEOUT * 20)):
        if ws.client_terminated and ws.stream is not None and ws.stream.closing is not None:
            reason = ws.stream.closing.reason
            if isinstance(reason, (bytes, bytearray)):
                reason = reason.decode("utf-8", "replace")
            return ws.stream.closing.code, reason
        time.sleep(0.05)
    raise TimeoutError("no close frame back within %d s" % plan.STEP_TIMEOUT)


def drive(ws, protocol, closing):
    check = "subprotocol"
    try:
        plan.report(check, protocol == "chat", 'negotiated "%s"' % protocol)
        for check, data in plan.messages():
            send(ws, data)
            got, _ = ws.events.next("message")
            same = type(got) is type(data) and got == data
            plan.report(check, same, plan.describe(got) if same else
                        "sent %s, got %s" % (plan.describe(data), plan.describe(got)))
        want = "".join(plan.FRAGMENTS)
        check = "fragment"
        ws.send(piece for piece in plan.FRAGMENTS)  # a generator: one frame per piece
        got, _ = ws.events.next("message")
        plan.report(check, got == want, "3 frames, %s -> %s" % (plan.describe(want), plan.describe(got)))

        check = "fragment:ping-between"  # the pong must come back mid-message
        first = True
        for piece in plan.FRAGMENTS:
            ws._write(TextMessage(piece).fragment(first=first, last=piece is plan.FRAGMENTS[-1],
                                                  mask=ws.stream.always_mask))
            if first:
                ws.ping(plan.PING)
                pong, _ = ws.events.next("pong")
                if pong != plan.PING:
                    raise ValueError("pong payload %s" % pong.hex())
            first = False
        got, _ = ws.events.next("message")
        plan.report(check, got == want, "3 frames and a ping, %s -> %s" % (plan.describe(want), plan.describe(got)))

        check = "fragment:split-utf8"  # ws4py sends any bytes as a text frame
        whole = want.encode("utf-8")
        bounds = [0] + plan.SPLIT_CUTS + [len(whole)]
        for i in range(len(bounds) - 1):
            ws._write(TextMessage(whole[bounds[i]:bounds[i + 1]]).fragment(
                first=i == 0, last=i == len(bounds) - 2, mask=ws.stream.always_mask))
        got, _ = ws.events.next("message")
        plan.report(check, got == want, "3 frames cut inside code points, %s -> %s"
                    % (plan.describe(want), plan.describe(got)))

        check = "ping"
        ws.ping(plan.PING)
        pong, _ = ws.events.next("pong")
        plan.report(check, pong == plan.PING, "pong payload %s" % pong.hex())
        check = "burst:messages"
        sent = list(plan.burst())
        for data in sent:
            send(ws, data)
        for i, data in enumerate(sent):
            got, _ = ws.events.next("message")
            if type(got) is not type(data) or got != data:
                raise ValueError("message %d: sent %s, got %s" % (i, plan.describe(data), plan.describe(got)))
        plan.report(check, True, "%d messages of 0 B to 1 MiB echoed in order" % len(sent))
        check = "burst:pings"
        pings = [b"burst ping %d" % i for i in range(10)]
        for p in pings:
            ws.ping(p)
        for p in pings:
            pong, _ = ws.events.next("pong")
            if pong != p:
                raise ValueError('ping "%s" answered by a pong "%s"' % (p, pong))
        plan.report(check, True, "%d pongs with their pings' payloads, in order" % len(pings))
        check = "close:peer"
        code, reason = closing
        ws.close(code, reason)
        got_code, got_reason = close_echo(ws)
        plan.report(check, got_code == code, 'sent %d "%s", echo %s "%s"' % (code, reason, got_code, got_reason))
        return True
    except Exception as e:  # a timeout, a dropped connection: this check failed
        plan.report(check, False, "%s: %s" % (type(e).__name__, e))
        return False


def client(url, mode):
    ws = Client(url)
    try:
        ws.connect()  # the handshake; then ws4py's reader thread runs
        ws.events.next("open")
    except Exception as e:
        plan.report("subprotocol" if mode == "client" else "close:ours-first", False,
                    "connect: %s: %s" % (type(e).__name__, e))
        return False
    if mode == "await-close":
        print("OPEN", flush=True)
        try:
            got = ws.events.next("close")
        except Exception as e:
            plan.report("close:ours-first", False, "%s: %s" % (type(e).__name__, e))
            return False
        plan.report("close:ours-first", got == plan.CLOSE_BY_OURS, 'got %s "%s"' % got)
        return got == plan.CLOSE_BY_OURS
    # The client keeps the protocols of the response's Sec-WebSocket-Protocol.
    return drive(ws, ",".join(p.decode() if isinstance(p, bytes) else p for p in ws.protocols),
                 plan.CLOSE_BY_CLIENT)


def server(port):
    app = WebSocketWSGIApplication(protocols=["chat"], handler_cls=ServerSide)
    srv = make_server("127.0.0.1", port, server_class=WSGIServer,
                      handler_class=WebSocketWSGIRequestHandler, app=app)
    srv.initialize_websockets_manager()
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    print("listening on 127.0.0.1:%d" % srv.server_address[1], flush=True)
    try:
        ws = ServerSide.accepted.get(timeout=plan.STEP_TIMEOUT)
    except queue.Empty:
        plan.report("subprotocol", False, "no client within %d s" % plan.STEP_TIMEOUT)
        return False
    return drive(ws, ",".join(ws.protocols or []), plan.CLOSE_BY_SERVER)


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("client", "await-close", "server"):
        sys.exit("usage: ws4py_peer.py client|await-close URL | ws4py_peer.py server PORT")
    # ws4py's threads do not end by themselves: a hung library must not hang the run.
    threading.Timer(OVERALL, lambda: os._exit(3)).start()
    mode = sys.argv[1]
    ok = server(int(sys.argv[2])) if mode == "server" else client(sys.argv[2], mode)
    sys.stdout.flush()
    os._exit(0 if ok else 1)


if __name__ == "__main__":
    main()
