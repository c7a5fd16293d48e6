#!/usr/bin/python3
"""What TLS costs the examples, measured beside plain ws:// in the same run (not part of
make test; figures for the README or a report):

    /usr/bin/python3 tests/tls/measure.py [CONNECTIONS] [MIB]

1. memory: build/echo_server's VmRSS growth per idle connection once CONNECTIONS
   (default 500) clients finished the WebSocket handshake, plain and over TLS 1.3
   (OpenSSL with SSL_MODE_RELEASE_BUFFERS, so idle connections hold no record buffers);
2. throughput: MIB (default 64) 1 MiB text lines piped through build/wscat to
   build/echo_server and back, plain and over TLS, best of 3.
Needs the certificates of tests/tls/certs.sh (made here under build/tls/certs).
Everything on 127.0.0.1; every process started is killed at the end."""
import base64
import os
import re
import socket
import ssl
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BUILD = os.path.join(ROOT, "build")
CERTS = os.path.join(BUILD, "tls", "certs")


def start_server(tls):
    cmd = [os.path.join(BUILD, "echo_server"), "-p", "0"]
    if tls:
        cmd += ["--tls-cert", os.path.join(CERTS, "server.pem"), "--tls-key", os.path.join(CERTS, "server.key")]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    m = re.search(rb"127\.0\.0\.1:(\d+)", p.stdout.readline())
    return p, int(m.group(1))


def rss(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"VmRSS:\s+(\d+) kB", f.read()).group(1)) * 1024


def open_idle(port, tls, n):
    ctx = ssl.create_default_context(cafile=os.path.join(CERTS, "ca.pem")) if tls else None
    conns = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        if tls:
            s = ctx.wrap_socket(s, server_hostname="localhost")
        key = base64.b64encode(os.urandom(16)).decode()
        s.sendall(("GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % key).encode())
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            head += s.recv(1)
        assert head.startswith(b"HTTP/1.1 101"), head
        conns.append(s)
    return conns


def memory(n):
    out = {}
    for tls in (False, True):
        p, port = start_server(tls)
        try:
            open_idle(port, tls, 20)  # warm-up: allocator arenas, OpenSSL's first-use tables
            time.sleep(0.3)
            before = rss(p.pid)
            conns = open_idle(port, tls, n)
            time.sleep(0.5)
            out[tls] = (rss(p.pid) - before) / n
            for c in conns:
                c.close()
        finally:
            p.kill()
            p.wait()
    return out


def throughput(mib):
    line = bytes(ord("a") + i % 26 for i in range(1 << 20)) + b"\n"
    data = line * mib
    out = {}
    for tls in (False, True):
        p, port = start_server(tls)
        try:
            url = "%s://127.0.0.1:%d/" % ("wss" if tls else "ws", port)
            cmd = [os.path.join(BUILD, "wscat"), url] + (["--cafile", os.path.join(CERTS, "ca.pem")] if tls else [])
            best = None
            for _ in range(3):
                t0 = time.monotonic()
                r = subprocess.run(cmd, input=data, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=120)
                took = time.monotonic() - t0
                assert r.returncode == 0 and r.stdout == data, "echo differs or wscat failed"
                best = took if best is None else min(best, took)
            out[tls] = mib / best
        finally:
            p.kill()
            p.wait()
    return out


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    mib = int(sys.argv[2]) if len(sys.argv) > 2 else 64
    subprocess.run(["sh", os.path.join(HERE, "certs.sh"), CERTS], check=True, stdout=subprocess.DEVNULL)
    mem = memory(n)
    print("echo_server RSS growth per idle connection (%d connections): ws:// %.0f B, wss:// %.0f B (x%.1f)"
          % (n, mem[False], mem[True], mem[True] / max(mem[False], 1)))
    tp = throughput(mib)
    print("wscat -> echo_server -> wscat, %d x 1 MiB text lines, best of 3: ws:// %.0f MiB/s, wss:// %.0f MiB/s "
          "(wss/ws x%.2f)" % (mib, tp[False], tp[True], tp[True] / tp[False]))


if __name__ == "__main__":
    main()
