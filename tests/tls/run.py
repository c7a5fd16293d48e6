#!/usr/bin/python3
"""TLS tests: ws.h's examples over OpenSSL (examples/tls_openssl.h) and mbedTLS
(examples/mbedtls_client.c) against real TLS peers, with certificates made for the run.

    /usr/bin/python3 tests/tls/run.py          every case, then the table
    /usr/bin/python3 tests/tls/run.py NAME...  only the rows whose peer starts with NAME

Rows (peer = the other side, role = OUR side's role, as in tests/interop):
  node-ws              server  Node `ws` client (the interop plan, then SIGTERM: close 1001) -> echo_server --tls-*
  python-websockets    server  Python `websockets` client (the interop plan) -> echo_server
  byte-records         server  a Python ssl client sending every byte as its own record
  byte-records+chat    server  the same against chat_server's wss:// (close_notify too)
  mbedtls              server  build/mbedtls_client (ws.h on mbedTLS) -> echo_server (OpenSSL)
  node-https-ws        client  build/wscat -> Node https + `ws`: text, binary, 1 MiB, close code, SNI
  node-https-ws+mbedtls client build/mbedtls_client -> Node https + `ws`
  byte-records         client  build/wscat <- a Python ssl server sending 1-byte records
  bad-certs            client  wscat and mbedtls_client refuse an untrusted CA, a wrong
                               name or address, an expired certificate: a clear message, exit 1
  chromium             server  Debian's Chromium -> chat_server over https/wss, test CA trusted
                               (tests/tls/browser.js)
  PROXY+node-ws        server  Node `ws` client (the plan) -> PROXY terminating TLS -> echo_server (plain)
  PROXY+python-websockets server  the same with Python `websockets`
  PROXY+node-ws        client  build/wscat -> PROXY terminating TLS -> Node `ws` (plain): text,
                               binary, 1 MiB, a burst, fragments, ping, close codes, subprotocol
  with PROXY each of nginx, haproxy, apache, lighttpd (tests/tls/proxies.py). "tls:" checks:
  every client spoke TLS to the proxy (the proxy's log says TLS version, SNI and 101 for
  each upgrade, where it can log them: not lighttpd) and the server behind saw plain TCP.

Rows go to build/interop/results.tsv as "peer<TAB>role<TAB>check<TAB>ok|FAIL<TAB>tls": the
fifth field is tests/interop/run.py's transport, shown in its matrix's "over" column
beside the plain-TCP rows of the same peers. A rerun replaces only earlier TLS rows of
the peers it runs. TLS-only checks are named "tls:..." (a "tls" column). Details and
logs go to build/tls/. Everything listens on and connects to 127.0.0.1 only (names are only ever
names in SNI and certificates: --connect-to 127.0.0.1), every wait has a timeout, and
every process started here is killed before exit."""
import os
import re
import select
import signal
import subprocess
import sys
import time

import proxies

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import procs  # noqa: E402 (tests/procs.py)
from procs import log_text, read_line, stop  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BUILD = os.path.join(ROOT, "build")
OUT = os.path.join(BUILD, "tls")
LOGS = os.path.join(OUT, "logs")
CERTS = os.path.join(OUT, "certs")
RESULTS = os.path.join(BUILD, "interop", "results.tsv")
INTEROP_PEERS = os.path.join(ROOT, "tests", "interop", "peers")
PY = "/usr/bin/python3"
# Overridable to run the same cases on another build (say echo_server with -DECHO_USE_POLL).
ECHO_SERVER = os.environ.get("TLS_ECHO_SERVER", os.path.join(BUILD, "echo_server"))
CHAT_SERVER = os.path.join(BUILD, "chat_server")
WSCAT = os.path.join(BUILD, "wscat")
MBEDTLS_CLIENT = os.path.join(BUILD, "mbedtls_client")

STEP = 30.0          # one program run or one peer's whole plan
START = 10.0         # a server printing where it listens
DEADLINE = 300.0     # the whole run: cases not started by then fail as skipped

def start(cmd, log_name, stdin=subprocess.DEVNULL, env=None, stdout=subprocess.PIPE):
    return procs.start(cmd, os.path.join(LOGS, log_name), stdin=stdin, stdout=stdout, env=env)


def start_server(cmd, log_name, env=None):
    """A server that prints "listening on 127.0.0.1:PORT": (process, port)."""
    p = start(cmd, log_name, env=env)
    line = read_line(p, START)
    m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line or "")
    if not m:
        stop(p)
        raise RuntimeError("%s did not say where it listens (got %r; see %s)"
                           % (os.path.basename(cmd[-3] if "node" in cmd[0] else cmd[0]), line, p.log_path))
    return p, int(m.group(1))


def echo_server(cert, tag):
    return start_server([ECHO_SERVER, "-p", "0", "--tls-cert", os.path.join(CERTS, cert + ".pem"),
                         "--tls-key", os.path.join(CERTS, cert + ".key")], tag + "-echo_server.log")


def node_server(cert, tag):
    return start_server(["node", os.path.join(HERE, "peers", "wss_server.js"),
                         os.path.join(CERTS, cert + ".pem"), os.path.join(CERTS, cert + ".key")],
                        tag + "-wss_server.log")


class Server:
    """A server process whose stdout is collected as it comes (the Node server logs its
    connections there)."""

    def __init__(self, proc, port):
        self.proc, self.port, self.out = proc, port, ""

    def drain(self, settle=0.3):
        end = time.monotonic() + settle
        while True:
            left = end - time.monotonic()
            if left <= 0 or not select.select([self.proc.stdout], [], [], left)[0]:
                return self.out
            c = os.read(self.proc.stdout.fileno(), 65536)
            if not c:
                return self.out
            self.out += c.decode("utf-8", "replace")


def run(cmd, tag, stdin_data=b"", env=None, keep_open=None, timeout=STEP):
    """Run a program to its end: (exit status or "timeout", stdout, stderr). keep_open:
    stdin stays open (no end of file) until the program exits, after sending stdin_data."""
    p = start(cmd, tag + ".log", stdin=subprocess.PIPE, env=env)
    try:
        if keep_open:  # (communicate() would close stdin; the output here is small)
            p.stdin.write(stdin_data)
            p.stdin.flush()
            p.wait(timeout)
            out = p.stdout.read()
            p.stdin.close()
        else:
            out, _ = p.communicate(stdin_data, timeout=timeout)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        stop(p)
        out, rc = b"", "timeout"
    except BrokenPipeError:
        out, _ = p.communicate(timeout=timeout)
        rc = p.returncode
    procs.forget(p)
    return rc, out.decode("utf-8", "replace"), log_text(p)


def peer_results(out):
    got = {}
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) >= 3 and parts[0] == "RESULT" and parts[1] not in got:
            got[parts[1]] = (parts[2] == "ok", parts[3] if len(parts) > 3 else "")
    return got


def brief(rc, out, err):
    return "exit %s; stdout %r; stderr %r" % (rc, out[-200:], " | ".join(err.strip().splitlines()[-3:]))


# ---- our server role ----------------------------------------------------------------

# The interop plan's checks (tests/interop/run.py PEER_CHECKS and its optional ones per
# peer): a check the peer never reports fails.
SIZES = [0, 125, 126, 65535, 65536, 1 << 20]
PLAN_CHECKS = (["subprotocol"] + ["text:%d" % n for n in SIZES] + ["binary:%d" % n for n in SIZES]
               + ["utf8:short", "utf8:long", "fragment", "ping", "burst:messages", "close:peer",
                  "close:ours-first"])
NODE_WS_EXTRA = ["fragment:ping-between", "fragment:split-utf8", "burst:pings"]
PY_EXTRA = ["fragment:ping-between"]


def plan_peer(cmd, url_host, env, extra, via=None):
    """A peer that drives the interop plan (tests/interop) against echo_server over TLS,
    then the close started by our side: a second connection, SIGTERM, and echo_server
    must close it with 1001 (and send close_notify) and exit 0 well inside its 2 s grace.
    via: a proxy (tests/tls/proxies.py) that terminates TLS in front of a plain
    echo_server, carrying both connections."""
    def case(tag):
        if via:
            srv, port = start_server([ECHO_SERVER, "-p", "0"], tag + "-echo_server.log")
        else:
            srv, port = echo_server("server", tag)
        px, results = None, {}
        try:
            if via:
                px = proxy(via, port, tag)
                port = px.port
            url = "wss://%s:%d/interop" % (url_host, port)
            p = start(cmd + ["client", url], tag + "-peer.log", env=env)
            try:
                out, _ = p.communicate(timeout=STEP * 3)
            except subprocess.TimeoutExpired:
                stop(p)
                out = b""
            procs.forget(p)
            results.update(peer_results(out.decode("utf-8", "replace")))
            results.update(close_ours_first(cmd + ["await-close", url], env, srv, tag))
        finally:
            stop(srv)
            if px:
                results.update(proxy_log_check(px, 2, None))
                stop(px.proc)
        for check in PLAN_CHECKS + extra:
            results.setdefault(check, (False, "never reported (see build/tls/logs/%s-peer*.log)" % tag))
        log = log_text(srv)
        results["subprotocol:ours"] = ("open, protocol chat" in log, first(log, ": open"))
        want = 'peer closed with 4001 "client bye \u2713"'
        results["close:ours"] = (want in log, first(log, "peer closed") or "no close logged")
        if via:
            opened = [l for l in log.splitlines() if ": open" in l]
            results["tls:plain-behind-" + via] = (
                len(opened) == 2 and ": tls" not in log,
                "echo_server (plain) saw %d connections; %s" % (len(opened), first(log, ": tls") or "no TLS"))
        else:
            results["tls:echo_server"] = (re.search(r": tls TLSv1\.[23] ", log) is not None,
                                          first(log, ": tls") or "no TLS session logged")
        return results
    return case


def proxy(kind, upstream, tag):
    return proxies.start_proxy(kind, upstream, tag, OUT, CERTS, start, stop, START)


def proxy_log_check(px, count, sni):
    """The proxy's own account (where it logs TLS): count upgrades (101), each on a TLS
    1.2/1.3 session, with SNI `sni` (None: no SNI, as clients send none for an address)."""
    if not px.logs_tls:
        return {}
    lines = proxies.tls_lines(px, count)
    want = re.compile(r'TLSv1\.[23] sni=%s 101 "GET /' % (re.escape(sni) if sni else "-?"))
    return {"tls:%s-log" % px.kind: (len(lines) == count and all(want.match(l) for l in lines),
                                     "%d of %d upgrades logged: %s" % (len(lines), count, " | ".join(lines)))}


def close_ours_first(cmd, env, server, tag):
    waiter = start(cmd, tag + "-peer-await-close.log", env=env)
    line = read_line(waiter, START)
    if line != "OPEN":
        stop(waiter)
        return {"close:ours-first": (False, "peer did not connect (said %r)" % line)}
    t0 = time.monotonic()
    server.send_signal(signal.SIGTERM)
    try:
        out, _ = waiter.communicate(timeout=START)
    except subprocess.TimeoutExpired:
        stop(waiter)
        out = b""
    procs.forget(waiter)
    got = peer_results(out.decode("utf-8", "replace"))
    try:
        rc = server.wait(START)
    except subprocess.TimeoutExpired:
        rc = "none (still running)"
    took = time.monotonic() - t0
    return {"close:ours-first": got.get("close:ours-first", (False, "peer reported nothing")),
            "close:ours-first-done": (rc == 0 and took < 1.5,
                                      "echo_server exit %s %.2f s after SIGTERM" % (rc, took))}


def first(text, word):
    return next((l for l in text.splitlines() if word in l), "")


def byte_records_client(tag):
    srv, port = echo_server("server", tag)
    try:
        rc, out, err = run([PY, "-B", os.path.join(HERE, "peers", "byte_records.py"), "client",
                            str(port), os.path.join(CERTS, "ca.pem")], tag + "-peer")
    finally:
        stop(srv)
    results = peer_results(out)
    log = log_text(srv)
    results["close:ours"] = ('peer closed with 1000 "bye"' in log, first(log, "peer closed"))
    return results


def byte_records_to_chat(tag):
    """The same 1-byte records against chat_server's wss:// (a lone client of the chat
    gets its own messages back), which must also end with close_notify."""
    out = ""
    p = start([CHAT_SERVER, "-p", "0", "--tls-cert", os.path.join(CERTS, "server.pem"),
               "--tls-key", os.path.join(CERTS, "server.key")], tag + "-chat_server.log")
    try:
        line = read_line(p, START) or ""
        m = re.search(r"chat on https://127\.0\.0\.1:(\d+)/", line)
        if not m:
            return {"tls:run": (False, "chat_server said %r" % line)}
        rc, out, err = run([PY, "-B", os.path.join(HERE, "peers", "byte_records.py"), "client",
                            m.group(1), os.path.join(CERTS, "ca.pem"), "/ws"], tag + "-peer")
    finally:
        stop(p)
    return peer_results(out)


MBEDTLS_MESSAGES = ["hello from mbedTLS", "h\u00e9llo \u2713 \U0001F600"]


def mbedtls_run(port, tag):
    return run([MBEDTLS_CLIENT, "wss://localhost:%d/mbedtls" % port, os.path.join(CERTS, "ca.pem"),
                "--connect-to", "127.0.0.1", "--size", "100000"] + MBEDTLS_MESSAGES, tag)


def mbedtls_checks(rc, out, err):
    lines = out.splitlines()
    detail = brief(rc, out, err)
    return {
        "text:echo": (lines[:2] == MBEDTLS_MESSAGES, detail),
        "binary:100000": ("<binary 100000 bytes>" in lines and rc == 0, detail),
        "ping:pong": ("mbedtls_client: pong" in err, detail),
        "close:1000": ("closed: 1000" in err and rc == 0, detail),
    }


def mbedtls_to_echo_server(tag):
    srv, port = echo_server("server", tag)
    try:
        results = mbedtls_checks(*mbedtls_run(port, tag + "-mbedtls_client"))
    finally:
        stop(srv)
    log = log_text(srv)
    # mbedTLS 2.28 speaks TLS 1.2: a second protocol version through the same glue.
    results["tls:echo_server"] = (": tls TLSv1.2 " in log, first(log, ": tls") or "no TLS session logged")
    return results


# ---- our client role ----------------------------------------------------------------

def wscat(port, tag, *args, host="localhost", stdin=b"", keep_open=False):
    cmd = [WSCAT, "wss://%s:%d/wscat" % (host, port)] + list(args)
    if host != "127.0.0.1":
        cmd += ["--connect-to", "127.0.0.1"]
    return run(cmd, tag, stdin_data=stdin, keep_open=keep_open)


def wscat_to_node(tag):
    ca = ["--cafile", os.path.join(CERTS, "ca.pem")]
    results = {}
    proc, port = node_server("server", tag)
    srv = Server(proc, port)
    try:
        rc, out, err = wscat(port, tag + "-wscat-text", *ca, stdin="h\u00e9llo over TLS \u2713\n".encode())
        results["text:echo"] = (rc == 0 and "h\u00e9llo over TLS \u2713" in out.splitlines()
                                and "connected (TLSv1.3" in err, brief(rc, out, err))
        sni = srv.drain().strip().splitlines()
        results["tls:sni"] = (any(l.startswith("conn ") and " sni localhost TLSv1.3" in l for l in sni),
                              "server saw: %s" % "; ".join(l for l in sni if l.startswith("conn")))

        # No --cafile: the system's default store, which OpenSSL lets SSL_CERT_FILE name
        # (how the default path is exercised without a public CA).
        rc, out, err = run([WSCAT, "wss://localhost:%d/store" % port, "--connect-to", "127.0.0.1"],
                           tag + "-wscat-system-store", stdin_data=b"default store\n",
                           env={"SSL_CERT_FILE": os.path.join(CERTS, "ca.pem")})
        results["tls:system-store"] = (rc == 0 and "default store" in out, brief(rc, out, err))

        rc, out, err = wscat(port, tag + "-wscat-ip", *ca, host="127.0.0.1", stdin=b"by address\n")
        last = [l for l in srv.drain().splitlines() if l.startswith("conn ")][-1:]
        results["tls:ip-no-sni"] = (rc == 0 and "by address" in out and last and " sni none " in last[0],
                                    "%s; server saw %s" % (brief(rc, out, err), last))

        rc, out, err = wscat(port, tag + "-wscat-binary", *ca, "--binary", stdin=b"abc\n\x00\xff\n")
        results["binary:echo"] = (rc == 0 and out.splitlines() == ["<binary 3 bytes: 61 62 63>",
                                                                  "<binary 2 bytes: 00 ff>"], brief(rc, out, err))

        big = bytes(ord("a") + i % 26 for i in range(1 << 20))
        rc, out, err = wscat(port, tag + "-wscat-1mib", *ca, stdin=big + b"\n")
        results["text:1048576"] = (rc == 0 and out.encode() == big + b"\n",
                                   "exit %s; %d bytes back" % (rc, len(out)))
        rc, out, err = wscat(port, tag + "-wscat-binary-1mib", *ca, "--binary", stdin=big + b"\n")
        results["binary:1048576"] = (rc == 0 and out.startswith("<binary 1048576 bytes: 61 62 63"),
                                     brief(rc, out, err))

        # The server closes with 4001: exit 3, the code and reason on stderr. stdin stays
        # open so wscat does not start a close of its own first.
        rc, out, err = wscat(port, tag + "-wscat-close", *ca, stdin=b"close 4001 bye now\n", keep_open=True)
        results["close:code"] = (rc == 3 and 'server closed the connection: 4001 "bye now"' in err,
                                 brief(rc, out, err))
    finally:
        stop(proc)
    # --insecure: the same exchange with a certificate nobody trusts.
    proc, port = node_server("untrusted", tag + "-untrusted")
    try:
        rc, out, err = wscat(port, tag + "-wscat-insecure", "--insecure", stdin=b"unchecked\n")
        results["tls:insecure"] = (rc == 0 and "unchecked" in out, brief(rc, out, err))
    finally:
        stop(proc)
    return results


def wscat_via(kind):
    """build/wscat over wss:// to the proxy `kind`, which terminates TLS in front of a
    plain Node `ws` server (peers/wss_server.js --plain): the plan's kinds of message
    through it, one wscat run each, SNI "localhost" (--connect-to 127.0.0.1)."""
    def case(tag):
        ca = ["--cafile", os.path.join(CERTS, "ca.pem")]
        results = {}
        runs = []  # (rc, out, err) of every wscat run: each must have spoken TLS
        proc, port = start_server(["node", os.path.join(HERE, "peers", "wss_server.js"), "--plain"],
                                  tag + "-ws_server.log")
        srv = Server(proc, port)
        px = None

        def cat(name, *args, stdin=b"", keep_open=False):
            got = wscat(px.port, "%s-wscat-%s" % (tag, name), *(ca + list(args)), stdin=stdin, keep_open=keep_open)
            runs.append(got)
            return got

        try:
            px = proxy(kind, port, tag)
            text = "h\u00e9llo through %s \u2713 \U0001F600" % kind
            rc, out, err = cat("text", "--protocol", "chat, superchat", stdin=(text + "\n").encode())
            results["subprotocol"] = (", protocol chat" in err, brief(rc, out, err))
            results["text:echo"] = (rc == 0 and out.splitlines() == [text], brief(rc, out, err))
            # wscat's close (end of stdin): 1000, which the server saw and echoed (exit 0).
            results["close:ours"] = (rc == 0 and "close 1 1000" in srv.drain(), "exit %s; server: %s" % (
                rc, " | ".join(srv.out.strip().splitlines())))

            rc, out, err = cat("binary", "--binary", stdin=b"abc\n\x00\xff\n")
            results["binary:echo"] = (rc == 0 and out.splitlines() == ["<binary 3 bytes: 61 62 63>",
                                                                      "<binary 2 bytes: 00 ff>"], brief(rc, out, err))
            big = bytes(ord("a") + i % 26 for i in range(1 << 20))
            rc, out, err = cat("1mib", stdin=big + b"\n")
            results["text:1048576"] = (rc == 0 and out.encode() == big + b"\n",
                                       "exit %s; %d bytes back" % (rc, len(out)))
            rc, out, err = cat("binary-1mib", "--binary", stdin=big + b"\n")
            results["binary:1048576"] = (rc == 0 and out.startswith("<binary 1048576 bytes: 61 62 63"),
                                         brief(rc, out, err))
            # 20 messages back to back (the plan's burst sizes, an empty one among them):
            # every echo complete and in order.
            lines = [bytes(ord("a") + (k + i) % 26 for k in range([1, 200, 70000, 0, 1 << 20][i % 5]))
                     for i in range(20)]
            rc, out, err = cat("burst", stdin=b"\n".join(lines) + b"\n")
            got = out.encode().split(b"\n")[:-1]
            results["burst:messages"] = (rc == 0 and got == lines, "exit %s; %d of %d lines back, %s" % (
                rc, len(got), len(lines), "same" if got == lines else "not the same"))
            # Three frames (text continued twice, multibyte in each) make one message.
            rc, out, err = cat("fragments", stdin=b"fragments\n")
            results["fragment"] = (rc == 0 and out.splitlines() == ["frag1 \u2713\u2713 frag2 \U0001F600 frag3 end"],
                                   brief(rc, out, err))
            # The server pings; our pong (same payload) comes back as a text, then it closes.
            rc, out, err = cat("ping", stdin=b"ping\n", keep_open=True)
            results["ping"] = (rc == 0 and out.splitlines() == ["pong proxy ping"], brief(rc, out, err))
            # The server closes with 4001: exit 3, the code and reason on stderr (stdin stays
            # open so that wscat does not start a close of its own first).
            rc, out, err = cat("close", stdin=b"close 4001 bye now\n", keep_open=True)
            results["close:code"] = (rc == 3 and 'server closed the connection: 4001 "bye now"' in err,
                                     brief(rc, out, err))
        finally:
            if px:
                results.update(proxy_log_check(px, len(runs), "localhost"))
                stop(px.proc)
            stop(proc)
        spoke = [r for r in runs if re.search(r"connected \(TLSv1\.[23]", r[2])]
        results["tls:wscat"] = (runs and len(spoke) == len(runs), "%d of %d runs said TLS: %s" % (
            len(spoke), len(runs), first(runs[0][2], "connected") if runs else "no run"))
        conns = [l for l in srv.drain().splitlines() if l.startswith("conn ")]
        results["tls:plain-behind-" + kind] = (len(conns) == len(runs) and all(l.endswith(" plain") for l in conns),
                                               "the server saw: %s" % "; ".join(conns))
        return results
    return case


def mbedtls_to_node(tag):
    proc, port = node_server("server", tag)
    srv = Server(proc, port)
    try:
        results = mbedtls_checks(*mbedtls_run(port, tag + "-mbedtls_client"))
        seen = [l for l in srv.drain().splitlines() if l.startswith("conn ")]
        results["tls:sni"] = (bool(seen) and " sni localhost TLSv1.2" in seen[0], "server saw %s" % seen)
    finally:
        stop(proc)
    return results


def byte_records_server(tag):
    srv, port = start_server([PY, "-B", os.path.join(HERE, "peers", "byte_records.py"), "server",
                              os.path.join(CERTS, "server.pem"), os.path.join(CERTS, "server.key")],
                             tag + "-peer.log")
    try:
        rc, out, err = wscat(port, tag + "-wscat", "--cafile", os.path.join(CERTS, "ca.pem"),
                             stdin=b"from wscat\n", keep_open=True)
        try:
            peer_out, _ = srv.communicate(timeout=START)
        except subprocess.TimeoutExpired:
            stop(srv)
            peer_out = b""
    finally:
        stop(srv)
    results = peer_results(peer_out.decode("utf-8", "replace"))
    lines = out.splitlines()
    results["records:to-client"] = (
        lines[:1] == ["h\u00e9llo in 1-byte records \u2713 \U0001F600"]
        and len(lines) > 1 and lines[1].startswith("<binary 3000 bytes: 07 26 45"), brief(rc, out, err))
    results["close:ours"] = (rc == 3 and '4002 "bye bytes"' in err, brief(rc, out, err))
    return results


# What a refused certificate must look like: (server certificate, URL host, the words
# wscat must say, the words mbedtls_client must say).
REFUSALS = [
    ("untrusted", "localhost", "self-signed certificate", "not correctly signed by the trusted CA"),
    ("wronghost", "localhost", "hostname mismatch", "Common Name (CN) does not match"),
    ("wronghost", "127.0.0.1", "IP address mismatch", None),
    ("expired", "localhost", "certificate has expired", "validity has expired"),
]


def bad_certs(tag):
    results = {}
    ca = os.path.join(CERTS, "ca.pem")
    for cert in ("untrusted", "wronghost", "expired"):
        srv, port = echo_server(cert, "%s-%s" % (tag, cert))
        try:
            for c, host, words, mbed_words in REFUSALS:
                if c != cert:
                    continue
                name = "%s%s" % (cert, "-ip" if host == "127.0.0.1" else "")
                rc, out, err = wscat(port, "%s-wscat-%s" % (tag, name), "--cafile", ca, host=host,
                                     stdin=b"must not be sent\n")
                said = err.strip().splitlines()[-1:] or [""]
                results["tls:wscat-" + name] = (
                    rc == 1 and said[0].startswith("wscat: TLS with %s failed: certificate verify failed" % host)
                    and words.lower() in said[0].lower() and not out, brief(rc, out, err))
                if mbed_words:
                    rc, out, err = run([MBEDTLS_CLIENT, "wss://%s:%d/" % (host, port), ca, "--connect-to",
                                        "127.0.0.1", "must not be sent"], "%s-mbedtls-%s" % (tag, name))
                    results["tls:mbedtls-" + name] = (
                        rc == 1 and "certificate verify failed" in err and mbed_words in err and not out,
                        brief(rc, out, err))
            if cert == "untrusted":
                # No --cafile: the system's CA store, which does not hold the test CA either.
                rc, out, err = wscat(port, tag + "-wscat-system-store", stdin=b"must not be sent\n")
                results["tls:wscat-system-store"] = (
                    rc == 1 and "certificate verify failed" in err and not out, brief(rc, out, err))
        finally:
            stop(srv)
        log = log_text(srv)
        results["tls:refused-before-open-" + cert] = (": open" not in log,
                                                      first(log, ": open") or "no WebSocket opened")
    return results


def chromium(tag):
    rc, out, err = run(["node", os.path.join(HERE, "browser.js"), CERTS], tag, timeout=150)
    results = peer_results(out)
    if not results:
        results["tls:page"] = (False, brief(rc, out, err))
    return results


NODE_WS = ["node", os.path.join(INTEROP_PEERS, "ws_peer.js")]
NODE_ENV = {"NODE_EXTRA_CA_CERTS": os.path.join(CERTS, "ca.pem")}
PY_WS = [PY, "-B", os.path.join(INTEROP_PEERS, "py_peer.py")]
PY_ENV = {"SSL_CERT_FILE": os.path.join(CERTS, "ca.pem")}

CASES = [
    ("node-ws", "server", plan_peer(NODE_WS, "127.0.0.1", NODE_ENV, NODE_WS_EXTRA)),
    ("python-websockets", "server", plan_peer(PY_WS, "127.0.0.1", PY_ENV, PY_EXTRA)),
    ("byte-records", "server", byte_records_client),
    ("byte-records+chat", "server", byte_records_to_chat),
    ("mbedtls", "server", mbedtls_to_echo_server),
    ("node-https-ws", "client", wscat_to_node),
    ("node-https-ws+mbedtls", "client", mbedtls_to_node),
    ("byte-records", "client", byte_records_server),
    ("bad-certs", "client", bad_certs),
    ("chromium", "server", chromium),
]
# Proxies that terminate TLS: the same plan through them to a plain echo_server, and wscat
# through them to a plain Node `ws` server.
for _kind in proxies.PROXIES:
    CASES += [
        ("%s+node-ws" % _kind, "server", plan_peer(NODE_WS, "127.0.0.1", NODE_ENV, NODE_WS_EXTRA, via=_kind)),
        ("%s+python-websockets" % _kind, "server", plan_peer(PY_WS, "127.0.0.1", PY_ENV, PY_EXTRA, via=_kind)),
        ("%s+node-ws" % _kind, "client", wscat_via(_kind)),
    ]


TRANSPORT = "tls"  # results.tsv's fifth field (tests/interop/run.py: transport)


def is_ours(parts, peers):
    return len(parts) > 4 and parts[4] == TRANSPORT and parts[0] in peers


def group(check):
    """The column of a check: "text:125" -> "text", "ping" -> "ping" (as tests/interop/run.py
    files the plan's checks)."""
    return check.split(":", 1)[0]


def main():
    only = sys.argv[1:]
    os.makedirs(LOGS, exist_ok=True)
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    made = subprocess.run(["sh", os.path.join(HERE, "certs.sh"), CERTS], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, timeout=60)
    if made.returncode != 0:
        sys.exit("tests/tls/certs.sh failed: %s" % made.stderr.decode())
    cases = [c for c in CASES if not only or any(c[0].startswith(o) for o in only)]
    peers = {c[0] for c in cases}
    if os.path.exists(RESULTS):  # a rerun replaces its own (TLS) rows; all others stay
        with open(RESULTS) as f:
            keep = [l for l in f if not is_ours(l.rstrip("\n").split("\t"), peers)]
        with open(RESULTS, "w") as f:
            f.writelines(keep)
    began = time.monotonic()
    rows = []
    with open(RESULTS, "a") as tsv, open(os.path.join(OUT, "details.tsv"), "w") as details:
        for peer, role, fn in cases:
            tag = re.sub(r"[^a-z0-9]+", "-", "%s-%s" % (peer, role))
            t0 = time.monotonic()
            if t0 - began > DEADLINE:
                results = {"tls:run": (False, "skipped: the run took over %d s" % DEADLINE)}
            else:
                try:
                    results = fn(tag)
                except Exception as e:
                    results = {"tls:run": (False, "%s: %s" % (type(e).__name__, e))}
            failed = [c for c, (ok, _) in results.items() if not ok]
            for check, (ok, detail) in results.items():
                tsv.write("%s\t%s\t%s\t%s\t%s\n" % (peer, role, check, "ok" if ok else "FAIL", TRANSPORT))
                details.write("%s\t%s\t%s\t%s\t%s\n" % (peer, role, check, "ok" if ok else "FAIL", detail))
                if not ok:
                    print("  FAIL %s, our %s: %s: %s" % (peer, role, check, detail), flush=True)
            print("%-22s our %-6s %s (%d checks, %.1f s)" % (
                peer, role, "%d FAILED" % len(failed) if failed else "ok", len(results),
                time.monotonic() - t0), flush=True)
            rows.append((peer, role, results))
    return print_table(rows)


def print_table(rows):
    """The rows of this run: one column per check group, "tls" among them."""
    columns = []
    for _, _, results in rows:
        for c in results:
            if group(c) not in columns:
                columns.append(group(c))
    columns.sort(key=lambda c: c == "tls")  # tls last, after the plan's groups
    width = max(len(p) for p, _, _ in rows)
    sizes = [max(4, len(c)) for c in columns]
    head = "%-*s  %-6s" % (width, "peer", "ours") + "".join("  %-*s" % (n, c) for n, c in zip(sizes, columns))
    print("\n" + head + "\n" + "-" * len(head))
    passed = failed = 0
    for peer, role, results in rows:
        line = "%-*s  %-6s" % (width, peer, role)
        for n, c in zip(sizes, columns):
            got = [ok for check, (ok, _) in results.items() if group(check) == c]
            line += "  %-*s" % (n, "-" if not got else "ok" if all(got) else "FAIL")
        print(line.rstrip())
        passed += sum(1 for ok, _ in results.values() if ok)
        failed += sum(1 for ok, _ in results.values() if not ok)
    print("%d passed, %d failed (rows added to %s, transport tls)" % (passed, failed, os.path.relpath(RESULTS, ROOT)))
    return 1 if failed else 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        status = main()
    finally:
        procs.kill_all()
    sys.exit(status)
