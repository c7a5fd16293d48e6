#!/usr/bin/python3
"""Conformance run: every case of cases.py, four ways.

    /usr/bin/python3 tests/conformance/run.py [--inproc build/conformance/test_conformance]
                                              [--only REGEX] [--jobs N]

1. A raw hostile CLIENT of our own (stdlib sockets; frames built by hand) against
   build/echo_server.
2. A raw hostile SERVER of our own against build/echo_client: it answers the handshake
   (or answers it wrongly, for the handshake cases), sends the crafted frames and checks
   what echo_client sends back, how it closes, its exit status and what it says on stderr.
3./4. The same table in-process against ws_conn in both roles (the cmocka binary built
   from test_conformance.c; its "ok"/"not ok" lines are merged here).

One "ok - ..." / "not ok - ... # why" line per case and target, per-group counts, and
"N passed, M failed" last; exit 1 on any failure. 127.0.0.1 only, free ports, every wait
bounded, every process started here killed before exit.
"""
import argparse
import base64
import concurrent.futures
import hashlib
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import zlib
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True   # no __pycache__ in the source tree
sys.path.insert(0, HERE)
import cases as C  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
SERVER_BIN = os.path.join(ROOT, "build", "echo_server")
CLIENT_BIN = os.path.join(ROOT, "build", "echo_client")
HOST = "127.0.0.1"
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
STEP = 3.0                 # seconds any single wait may take (plus time for big payloads)
EVERYTHING = 170.0         # the whole network part

STRERROR = {1002: "protocol error", 1007: "invalid UTF-8", 1009: "larger than the configured limit"}

procs = []
procs_lock = threading.Lock()
seen_keys = set()


class Fail(Exception):
    pass


def accept_for(key):
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()


def mask_bytes(data, key):
    n = len(data)
    if n == 0:
        return b""
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "little") ^ int.from_bytes(k, "little")).to_bytes(n, "little")


def build_frames(case, masked_role):
    """The case's frames as bytes, one entry per frame (repeats expanded). masked_role:
    True when the receiver is a server (frames must be masked, §5.1)."""
    out = []
    idx = 0
    for f in case.frames:
        payload = f.payload.bytes()
        masked = masked_role != (f.mask == "wrong")
        n = f.declared if f.declared is not None else len(payload)
        hdr = bytearray([(0x80 if f.fin else 0) | (f.rsv << 4) | f.op])
        if n < 126 and f.lenform != 64:
            hdr.append(n)
        elif n <= 0xFFFF and f.lenform != 64:
            hdr += bytes([126]) + n.to_bytes(2, "big")
        else:
            hdr += bytes([127]) + n.to_bytes(8, "big")
        cache = {}
        for _ in range(f.repeat):
            if masked:
                key = bytes([(0x5A ^ idx) & 255, (0xC3 + idx) & 255, 0x0F, (0x81 ^ (idx >> 8)) & 255])
                hdr2 = bytes(hdr)
                hdr2 = bytes([hdr2[0], hdr2[1] | 0x80]) + hdr2[2:] + key
                if key not in cache:
                    cache[key] = mask_bytes(payload, key)
                out.append(hdr2 + cache[key])
            else:
                out.append(bytes(hdr) + payload)
            idx += 1
    return out


def payload_size(case):
    return sum(f.payload.total * f.repeat for f in case.frames) + sum(e.payload.total for e in case.expect)


class Conn:
    """A TCP connection with a receive buffer and strict frame reading."""

    def __init__(self, sock, deadline, pmd=False):
        self.s, self.buf, self.deadline = sock, bytearray(), deadline
        self.eof = False
        self.keys = []     # masking keys seen (client frames)
        # permessage-deflate configured: RSV1 may mark a compressed message (RFC 7692
        # §6.1), inflated here (one stream across messages: context takeover)
        self.pmd, self.z, self.zmsg = pmd, zlib.decompressobj(-15), None

    def fill(self, need):
        while len(self.buf) < need:
            if self.eof:
                return False
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise Fail("timed out waiting (had %d bytes, wanted %d)" % (len(self.buf), need))
            self.s.settimeout(left)
            try:
                chunk = self.s.recv(1 << 20)
            except socket.timeout:
                raise Fail("timed out waiting for the implementation (had %d of %d bytes)" % (len(self.buf), need))
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                self.eof = True
                return False
            self.buf += chunk
        return True

    def head(self):
        while True:
            i = self.buf.find(b"\r\n\r\n")
            if i >= 0:
                h = bytes(self.buf[:i + 4])
                del self.buf[:i + 4]
                return h
            if len(self.buf) > 65536:
                raise Fail("no end of HTTP head in 64 KiB")
            if not self.fill(len(self.buf) + 1):
                raise Fail("connection closed before a complete HTTP head (%r)" % bytes(self.buf[:80]))

    def frame(self, from_client):
        """(fin, op, payload), or None at EOF. Checks what every sender must do."""
        if not self.fill(2):
            if self.buf:
                raise Fail("%d stray bytes, then EOF" % len(self.buf))
            return None
        b0, b1 = self.buf[0], self.buf[1]
        n, h = b1 & 127, 2
        if n == 126:
            if not self.fill(4):
                raise Fail("EOF inside a frame header")
            n, h = int.from_bytes(self.buf[2:4], "big"), 4
            if n < 126:
                raise Fail("non-minimal 16-bit length %d (§5.2)" % n)
        elif n == 127:
            if not self.fill(10):
                raise Fail("EOF inside a frame header")
            n, h = int.from_bytes(self.buf[2:10], "big"), 10
            if n <= 0xFFFF:
                raise Fail("non-minimal 64-bit length %d (§5.2)" % n)
        masked = b1 >> 7
        if masked != from_client:
            raise Fail("frame with mask bit %d from the %s (§5.1)" % (masked, "client" if from_client else "server"))
        rsv, op = (b0 >> 4) & 7, b0 & 15
        if rsv and not (rsv == 4 and self.pmd and op in (1, 2)):
            raise Fail("frame with RSV bits %d (%s)" % (rsv, "RFC 7692 §6.1" if self.pmd else "§5.2"))
        if masked:
            h += 4
        if not self.fill(h + n):
            raise Fail("EOF inside a frame (%d of %d bytes)" % (len(self.buf), h + n))
        payload = bytes(self.buf[h:h + n])
        if masked:
            self.keys.append(bytes(self.buf[h - 4:h]))
            payload = mask_bytes(payload, bytes(self.buf[h - 4:h]))
        del self.buf[:h + n]
        if op in (1, 2):
            self.zmsg = rsv == 4
        if self.zmsg and op < 3:
            try:
                payload = self.z.decompress(payload + (b"\x00\x00\xff\xff" if b0 >> 7 else b""))
            except zlib.error as e:
                raise Fail("a compressed frame does not inflate: %s" % e)
        return b0 >> 7, b0 & 15, payload


OPN = {0: "cont", 1: "text", 2: "binary", 8: "close", 9: "ping", 10: "pong"}


def describe(fr):
    fin, op, pl = fr
    if op == 8:
        if len(pl) >= 2:
            return "close %d%s" % (int.from_bytes(pl[:2], "big"), (" %r" % pl[2:40]) if len(pl) > 2 else "")
        return "close with %d-byte payload" % len(pl)
    return "%s%s of %d bytes %r" % (OPN.get(op, "op%X" % op), "" if fin else " (fin=0)", len(pl), pl[:24])


def check_replies(conn, case, from_client):
    for i, e in enumerate(case.expect):
        if e.kind == "delivered":
            continue
        fr = conn.frame(from_client)
        if fr is None:
            what = ("close %s" % ("(empty)" if e.code is None else e.code)) if e.kind == "close" \
                else "%s of %d bytes" % (OPN[e.op], e.payload.total)
            raise Fail("reply %d: expected %s, got EOF" % (i + 1, what))
        fin, op, pl = fr
        if e.kind in ("msg", "pong"):
            if e.compressed and not conn.zmsg:
                raise Fail("reply %d: expected a compressed (RSV1) %s, got it uncompressed" % (i + 1, OPN[e.op]))
            want = e.payload.bytes()
            if op != e.op or not fin or pl != want:
                raise Fail("reply %d: expected %s of %d bytes, got %s" % (i + 1, OPN[e.op], len(want), describe(fr)))
        else:
            ok = op == 8 and fin
            if ok and e.code is None:
                ok = len(pl) == 0
            elif ok:
                ok = len(pl) >= 2 and int.from_bytes(pl[:2], "big") == e.code and len(pl) <= 125
                if ok:
                    try:
                        pl[2:].decode("utf-8")
                    except UnicodeDecodeError:
                        raise Fail("close reason is not UTF-8: %r" % pl[2:])
            if not ok:
                raise Fail("reply %d: expected %s, got %s" % (
                    i + 1, "an empty close" if e.code is None else "close %d" % e.code, describe(fr)))


def send_frames(sock, frames, delivery):
    if delivery == "bytes":
        for fr in frames:
            for b in fr:
                sock.sendall(bytes([b]))
                time.sleep(0.0005)
    elif delivery in ("one", "handshake"):
        sock.sendall(b"".join(frames))
    else:
        for fr in frames:
            sock.sendall(fr)


def step_time(case):
    # Python masks and compares big payloads at a few MB/s on a loaded 2-core machine:
    # the 64 MiB echo once ran out of a 10 MB/s allowance there. Time is not what these
    # cases check, so the allowance is generous.
    return STEP + payload_size(case) / 4e6


# ---- against echo_server ------------------------------------------------------------
def run_server_case(case, port):
    deadline = time.monotonic() + step_time(case)
    s = socket.create_connection((HOST, port), timeout=STEP)
    try:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = Conn(s, deadline, pmd=bool(case.pmd))
        key = base64.b64encode(os.urandom(16)).decode()
        req = (case.request or C.GOOD_REQ).replace("{HOST}", "%s:%d" % (HOST, port)) \
            .replace("{KEY}", key).replace("{EXTRA}", "").replace("{NUL}", "\0")
        frames = build_frames(case, True) if case.handshake_ok() else []
        if case.delivery == "handshake":
            s.sendall(req.encode() + b"".join(frames))
        else:
            send_frames(s, [req.encode()], "bytes" if case.delivery == "bytes" else "one")
        conn.deadline = time.monotonic() + step_time(case)
        head = conn.head()
        line = head.split(b"\r\n", 1)[0].decode("latin-1")
        m = re.match(r"HTTP/1\.1 (\d{3}) ", line + " ")
        if not m or int(m.group(1)) != case.status:
            raise Fail("expected HTTP %d, got %r" % (case.status, line))
        text = head.decode("latin-1")
        for want in case.head_has:
            if want not in text:
                raise Fail("response lacks %r" % want)
        for bad in case.head_lacks:
            if bad in text:
                raise Fail("response has %r" % bad)
        if case.status != 101:
            fr = conn.fill(len(conn.buf) + 1)
            if fr:
                raise Fail("sent %r after the refusal" % bytes(conn.buf[:40]))
            return
        if "\r\nSec-WebSocket-Accept: %s\r\n" % accept_for(key) not in text:
            raise Fail("wrong or missing Sec-WebSocket-Accept: %r" % text)
        if case.delivery != "handshake":
            send_frames(s, frames, case.delivery)
        conn.deadline = time.monotonic() + step_time(case)   # sending may have taken a while
        check_replies(conn, case, from_client=False)
        fr = conn.frame(False)
        if fr is not None:
            raise Fail("sent more than expected after the close: %s" % describe(fr))
    finally:
        s.close()


# ---- against echo_client ------------------------------------------------------------
def spawn_client(port, protocols, deflate=False):
    args = [CLIENT_BIN, "ws://%s:%d/" % (HOST, port)]
    if protocols:
        args += ["--protocol", protocols]
    if deflate:
        args += ["--deflate"]
    err = tempfile.TemporaryFile()
    p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
    with procs_lock:
        procs.append(p)
    return p, err


def finish_client(p, err, timeout):
    try:
        rc = p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        raise Fail("echo_client did not exit within %.1f s" % timeout)
    err.seek(0)
    return rc, err.read().decode("utf-8", "replace").strip()


def run_client_case(case):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    p = err = s = None
    try:
        ls.bind((HOST, 0))
        ls.listen(1)
        port = ls.getsockname()[1]
        p, err = spawn_client(port, case.protocols, bool(case.pmd))
        ls.settimeout(STEP)
        try:
            s, _ = ls.accept()
        except socket.timeout:
            raise Fail("echo_client never connected")
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = Conn(s, time.monotonic() + step_time(case), pmd=bool(case.pmd))
        req = conn.head().decode("latin-1")
        lines = req.split("\r\n")
        hdrs = {}
        for ln in lines[1:]:
            if ":" in ln:
                k, v = ln.split(":", 1)
                hdrs[k.strip().lower()] = v.strip()
        key = hdrs.get("sec-websocket-key", "")
        problems = []
        if lines[0] != "GET / HTTP/1.1":
            problems.append("request line %r" % lines[0])
        if hdrs.get("host") != "%s:%d" % (HOST, port):
            problems.append("Host %r" % hdrs.get("host"))
        if hdrs.get("upgrade", "").lower() != "websocket" or "upgrade" not in hdrs.get("connection", "").lower():
            problems.append("Upgrade/Connection")
        if hdrs.get("sec-websocket-version") != "13":
            problems.append("version")
        try:
            if len(base64.b64decode(key, validate=True)) != 16:
                problems.append("key length")
        except Exception:
            problems.append("key %r" % key)
        ext = hdrs.get("sec-websocket-extensions", "")
        if bool(case.pmd) != ("permessage-deflate" in ext.lower()):
            problems.append("extension offer %r (RFC 7692 §5)" % ext)
        if case.protocols and hdrs.get("sec-websocket-protocol") != case.protocols:
            problems.append("protocol offer %r" % hdrs.get("sec-websocket-protocol"))
        with procs_lock:   # §4.1: a new random key for every connection
            if key in seen_keys:
                problems.append("Sec-WebSocket-Key %s reused" % key)
            seen_keys.add(key)
        if problems:
            raise Fail("bad request from echo_client: %s" % ", ".join(problems))
        resp = (case.response or C.GOOD_RESP).replace("{ACCEPT}", accept_for(key)).replace("{EXTRA}", "") \
            .replace("{NUL}", "\0")
        if case.hs_error:
            s.sendall(resp.encode())
            if conn.fill(1):
                raise Fail("echo_client sent %r after a bad response" % bytes(conn.buf[:40]))
            rc, text = finish_client(p, err, STEP)
            if rc == 0:
                raise Fail("echo_client exited 0 after a bad response")
            if case.hs_text not in text:
                raise Fail("echo_client's stderr does not say %r: %r" % (case.hs_text, text[-200:]))
            return
        if case.special == "no_tcp_close":
            s.sendall(resp.encode())
            s.sendall(bytes([0x88, 2, 0x03, 0xE8]))
            t0 = time.monotonic()
            fr = conn.frame(True)
            if fr is None or fr[1] != 8 or fr[2][:2] != b"\x03\xe8":
                raise Fail("expected close 1000 back, got %s" % (describe(fr) if fr else "EOF"))
            rc, text = finish_client(p, err, 12.0)
            took = time.monotonic() - t0
            if not 4.0 <= took <= 8.0:
                raise Fail("gave up after %.1f s, expected the 5 s close timeout" % took)
            if rc != 0:
                raise Fail("exit status %d after a clean close handshake (%s)" % (rc, text[-200:]))
            return
        frames = build_frames(case, False)
        if case.special == "eof":   # the server vanishes without a close frame
            s.sendall(resp.encode() + b"".join(frames))
            check_replies(conn, case, from_client=True)
            s.shutdown(socket.SHUT_WR)
            fr = conn.frame(True)
            if fr is not None:
                raise Fail("sent %s after the server's EOF" % describe(fr))
            rc, text = finish_client(p, err, STEP)
            if rc == 0:
                raise Fail("exit status 0 after the transport dropped without a close handshake")
            if "1006" not in text and "without a close" not in text:
                raise Fail("stderr does not say the close was abnormal: %r" % text[-200:])
            return
        if case.delivery == "handshake":
            s.sendall(resp.encode() + b"".join(frames))
        else:
            send_frames(s, [resp.encode()], "bytes" if case.delivery == "bytes" else "one")
            send_frames(s, frames, case.delivery)
        conn.deadline = time.monotonic() + step_time(case)
        check_replies(conn, case, from_client=True)
        # §5.3: a fresh, unpredictable key per frame - at least never one key for all
        if len(conn.keys) >= 3 and len(set(conn.keys)) == 1:
            raise Fail("every frame used the masking key %s (§5.3)" % conn.keys[0].hex())
        last = case.expect[-1]
        if last.fail:
            fr = conn.frame(True)
            if fr is not None:
                raise Fail("sent more after its failure close: %s" % describe(fr))
            rc, text = finish_client(p, err, STEP)
            if rc == 0:
                raise Fail("exit status 0 after failing the connection with %d" % last.code)
            if str(last.code) not in text:
                raise Fail("stderr does not give the reason (%d): %r" % (last.code, text[-200:]))
        else:
            # the server closes the TCP connection first (§7.1.1)
            s.shutdown(socket.SHUT_WR)
            fr = conn.frame(True)
            if fr is not None:
                raise Fail("sent more after the close handshake: %s" % describe(fr))
            rc, text = finish_client(p, err, STEP)
            if rc != 0:
                raise Fail("exit status %d after a clean close (%s)" % (rc, text[-200:]))
    finally:
        if s:
            s.close()
        ls.close()
        if p and p.poll() is None:
            p.kill()
            p.wait()
        if err:
            err.close()


# ---- driver -------------------------------------------------------------------------
def start_server(extra=()):
    p = subprocess.Popen([SERVER_BIN, "-p", "0"] + list(extra), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         stdin=subprocess.DEVNULL)
    with procs_lock:
        procs.append(p)
    result = {}

    def reader():
        result["line"] = p.stdout.readline().decode()

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    t.join(STEP)
    m = re.match(r"listening on 127\.0\.0\.1:(\d+)", result.get("line", ""))
    if not m:
        raise SystemExit("echo_server did not say where it listens: %r" % result.get("line"))
    return p, int(m.group(1))


def one(case, target, port):
    try:
        if target == C.NET_SERVER:
            # cases with permessage-deflate configured: echo_server --deflate
            run_server_case(case, port[1] if case.pmd else port[0])
        else:
            run_client_case(case)
        return True, ""
    except Fail as e:
        return False, str(e)
    except (OSError, ValueError) as e:
        return False, "%s: %s" % (type(e).__name__, e)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--inproc", help="the cmocka binary built from test_conformance.c")
    ap.add_argument("--only", help="regex on case titles")
    ap.add_argument("--jobs", type=int, default=12)
    args = ap.parse_args()
    sel = [c for c in C.CASES if not args.only or re.search(args.only, c.title)]
    results = {}   # (title, target name) -> (ok, why)
    t0 = time.monotonic()

    server, port = start_server()
    zserver, zport = start_server(["--deflate"])
    port = (port, zport)
    try:
        work = [(c, t) for c in sel for t in (C.NET_SERVER, C.NET_CLIENT) if c.targets & t]
        big = [w for w in work if payload_size(w[0]) > (4 << 20)]
        small = [w for w in work if payload_size(w[0]) <= (4 << 20)]
        ex = concurrent.futures.ThreadPoolExecutor(args.jobs)
        futs = {ex.submit(one, c, t, port): (c, t) for c, t in small}
        done, not_done = concurrent.futures.wait(futs, timeout=max(1.0, EVERYTHING - (time.monotonic() - t0)))
        for f in futs:
            c, t = futs[f]
            if f in done:
                results[(c.title, C.TARGET_NAMES[t])] = f.result()
            else:
                f.cancel()
                results[(c.title, C.TARGET_NAMES[t])] = (False, "not finished within the %d s budget" % EVERYTHING)
        ex.shutdown(wait=False, cancel_futures=True)
        # the big ones alone, afterwards: they hold hundreds of MB and, while Python masks
        # and compares them, the GIL, which would starve the timing of the small cases
        for c, t in big:
            results[(c.title, C.TARGET_NAMES[t])] = one(c, t, port)
    finally:
        for sv in (server, zserver):
            sv.terminate()
            try:
                sv.wait(5)
            except subprocess.TimeoutExpired:
                sv.kill()
                sv.wait()
        with procs_lock:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()
    net_time = time.monotonic() - t0

    inproc_lines = {}
    inproc_note = None
    if args.inproc:
        try:
            r = subprocess.run([args.inproc], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
            out, rc = r.stdout.decode("utf-8", "replace"), r.returncode
        except subprocess.TimeoutExpired:
            out, rc = "", -1
            inproc_note = "in-process binary timed out"
        for ln in out.splitlines():
            m = re.match(r"^(ok|not ok) - (.*) \[(ws_conn (?:server|client))\](?:  # (.*))?$", ln)
            if m:
                inproc_lines[(m.group(2), m.group(3))] = (m.group(1) == "ok", m.group(4) or "")
        if rc not in (0, 1) and not inproc_note:
            inproc_note = "in-process binary exited with %d" % rc
        for c in sel:
            for t in (C.IN_SERVER, C.IN_CLIENT):
                if c.targets & t:
                    k = (c.title, C.TARGET_NAMES[t])
                    results[k] = inproc_lines.get(k, (False, inproc_note or "no result from the in-process run"))

    passed = failed = 0
    groups = {}
    for c in sel:
        g = groups.setdefault(c.group, {"cases": 0, "checks": 0, "passed": 0, "failed": 0})
        g["cases"] += 1
        for t in (C.NET_SERVER, C.NET_CLIENT, C.IN_SERVER, C.IN_CLIENT):
            k = (c.title, C.TARGET_NAMES[t])
            if k not in results:
                continue
            ok, why = results[k]
            print("%s - %s [%s]%s" % ("ok" if ok else "not ok", c.title, k[1], "" if ok else "  # " + why[:400]))
            g["checks"] += 1
            g["passed" if ok else "failed"] += 1
            passed += ok
            failed += not ok
    print()
    for name in C.GROUPS:
        if name in groups:
            g = groups[name]
            print("%s: %d cases, %d checks, %d passed, %d failed" % (name, g["cases"], g["checks"], g["passed"], g["failed"]))
    print("(network part %.1f s)" % net_time)
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
