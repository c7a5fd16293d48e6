#!/usr/bin/python3
"""The interop matrix: build/echo_server and build/echo_client against real peers.

    /usr/bin/python3 tests/interop/run.py            run every pair, then print the matrix
    /usr/bin/python3 tests/interop/run.py --matrix   only print the matrix of results.tsv
    /usr/bin/python3 tests/interop/run.py PEER...    only these peers (names as below)

Each pair is one connection on which the PEER drives the plan (tests/interop/README.md):
our side only echoes. With our server the peer is the client; with our client
(`echo_client URL --protocol "chat, superchat"`) the peer is the server, sends every
message, checks the echo, pings, then closes. The peer prints one RESULT line per check;
this script adds the checks of our side (what echo_server logged, echo_client's exit
status and what it printed) and marks every check a peer never reported as FAIL.

Results are appended to build/interop/results.tsv as "peer<TAB>role<TAB>check<TAB>ok|FAIL"
(role: OUR side's role), replacing the rows of an earlier run of the same peers; other
suites (the browser test) append there too, and a row may carry a fifth field, the
transport ("tls"; "tcp" when absent), which the matrix shows in its "over" column. The matrix
covers the whole file, then "N passed, M failed"; the exit status is 1 if anything failed.
Everything listens on 127.0.0.1, every wait has a timeout, every process started here is
killed before exit (on failure too)."""
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BUILD = os.path.join(ROOT, "build")
OUT = os.path.join(BUILD, "interop")
LOGS = os.path.join(OUT, "logs")
RESULTS = os.path.join(OUT, "results.tsv")
PEERS_DIR = os.path.join(HERE, "peers")
# Overridable to try the harness itself on a broken program.
ECHO_SERVER = os.environ.get("INTEROP_ECHO_SERVER", os.path.join(BUILD, "echo_server"))
ECHO_CLIENT = os.environ.get("INTEROP_ECHO_CLIENT", os.path.join(BUILD, "echo_client"))
HOST = "127.0.0.1"

PAIR_TIMEOUT = 30.0   # one whole pair; a healthy one takes well under a second
START_TIMEOUT = 10.0  # a server printing its port, a proxy accepting
DEADLINE = 300.0      # the whole run: pairs not started by then FAIL as skipped

SIZES = [0, 125, 126, 65535, 65536, 1 << 20]
PEER_CHECKS = (["subprotocol"] + ["text:%d" % n for n in SIZES] + ["binary:%d" % n for n in SIZES]
               + ["utf8:short", "utf8:long", "fragment", "ping", "burst:messages", "close:peer"])
OUR_CHECKS = ["subprotocol:ours", "close:ours"]
OURS_FIRST_CHECKS = ["close:ours-first", "close:ours-first-done"]  # our server role only
COLUMNS = ["subprotocol", "text", "binary", "utf8", "fragment", "ping", "burst", "close"]
CLOSE_BY_CLIENT = (4001, "client bye \u2713")
CLOSE_BY_SERVER = (4002, "server bye \u2713")


def node(script):
    return ["node", os.path.join(PEERS_DIR, script)]


PING_BETWEEN, SPLIT_UTF8, PINGS = "fragment:ping-between", "fragment:split-utf8", "burst:pings"

# (name, command, proxy, the optional checks its library can do: see README.md).
# The mode and the URL or port are appended to the command; a proxy (a PROXIES name,
# or None) stands between the peer and our side.
WS_PEER = node("ws_peer.js")
ALL_WS = [PING_BETWEEN, SPLIT_UTF8, PINGS]
PEERS = [
    ("node-ws", WS_PEER, None, ALL_WS),
    ("node-websocket", node("websocket_peer.js"), None, [PINGS]),
    ("python-websockets", ["/usr/bin/python3", "-B", os.path.join(PEERS_DIR, "py_peer.py")], None, [PING_BETWEEN]),
    ("python-ws4py", ["/usr/bin/python3", "-B", os.path.join(PEERS_DIR, "ws4py_peer.py")], None, ALL_WS),
    ("libwebsockets", [os.path.join(OUT, "lws_peer")], None, ALL_WS),
    ("websocketpp", [os.path.join(OUT, "wspp_peer")], None, [PING_BETWEEN, PINGS]),
    ("nginx+node-ws", WS_PEER, "nginx", ALL_WS),
    ("apache+node-ws", WS_PEER, "apache", ALL_WS),
    ("apache-wstunnel+node-ws", WS_PEER, "apache-wstunnel", ALL_WS),
    ("lighttpd+node-ws", WS_PEER, "lighttpd", ALL_WS),
    ("haproxy+node-ws", WS_PEER, "haproxy", ALL_WS),
]

children = []  # every process started here; each leads its own process group


def start(cmd, log_name, stdout=subprocess.PIPE):
    log = open(os.path.join(LOGS, log_name), "wb")
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=stdout, stderr=log,
                         start_new_session=True)
    p.log_path = log.name
    log.close()
    children.append(p)
    return p


def stop(p, sig=signal.SIGTERM, grace=5.0):
    """Ask p (and its process group) to end, then kill it; returns its exit status."""
    if p.poll() is None:
        try:
            os.killpg(p.pid, sig)
            p.wait(grace)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
    if p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait()
    if p in children:
        children.remove(p)
    return p.returncode


def read_line(p, timeout):
    """The next line p prints on stdout, or None after timeout or end of output."""
    end = time.monotonic() + timeout
    line = b""
    while not line.endswith(b"\n"):
        left = end - time.monotonic()
        if left <= 0 or not select.select([p.stdout], [], [], left)[0]:
            return None
        c = os.read(p.stdout.fileno(), 1)
        if not c:
            return None
        line += c
    return line.decode("utf-8", "replace").rstrip("\n")


def read_rest(p, timeout):
    """Everything p prints on stdout until it exits (killed after timeout)."""
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop(p)
        out, _ = p.communicate()
    if p in children:
        children.remove(p)
    return out.decode("utf-8", "replace")


def start_server(cmd, log_name):
    """Start a server that prints "listening on 127.0.0.1:PORT"; returns (process, port)."""
    p = start(cmd, log_name)
    line = read_line(p, START_TIMEOUT)
    m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line or "")
    if not m:
        stop(p)
        raise RuntimeError("%s did not say where it listens (got %r; see %s)"
                           % (os.path.basename(cmd[0]), line, p.log_path))
    return p, int(m.group(1))


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_accepting(port, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            socket.create_connection((HOST, port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


# Reverse proxies between the peer and our side. Each runs in the foreground as our
# child, on a free 127.0.0.1 port, with its config, pid, logs and temp files under
# build/interop/proxy-TAG/ (its stderr in logs/TAG-proxy.log); killed after the pair.
# {port}: where it listens, {upstream}: the server behind it, {dir}: its folder.
NGINX_CONF = """\
# Generated by tests/interop/run.py: nginx as a WebSocket reverse proxy.
daemon off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/tmp/body;
    proxy_temp_path {dir}/tmp/proxy;
    fastcgi_temp_path {dir}/tmp/fastcgi;
    uwsgi_temp_path {dir}/tmp/uwsgi;
    scgi_temp_path {dir}/tmp/scgi;
    map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://127.0.0.1:{upstream};
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $host;
            proxy_read_timeout 60s;
        }}
    }}
}}
"""

# Apache httpd 2.4: mod_proxy_wstunnel's ws:// ProxyPass, the way its manual shows it.
# User/Group apply only when started as root (CI): the workers then drop to nobody. Since
# 2.4.47 mod_proxy_http tunnels a ws:// ProxyPass itself unless
# ProxyWebsocketFallbackToProxyHttp is Off: "apache" keeps that default, and
# "apache-wstunnel" turns it off so that mod_proxy_wstunnel's own tunnel carries it.
APACHE_CONF = """\
# Generated by tests/interop/run.py: Apache httpd as a WebSocket reverse proxy.
ServerRoot "{dir}"
ServerName 127.0.0.1
Listen 127.0.0.1:{port}
PidFile "{dir}/apache2.pid"
DefaultRuntimeDir "{dir}/run"
Mutex file:{dir}/run default
ErrorLog "{dir}/error.log"
LogLevel info proxy_http:debug proxy_wstunnel:debug
LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so
LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
LoadModule proxy_module /usr/lib/apache2/modules/mod_proxy.so
LoadModule proxy_http_module /usr/lib/apache2/modules/mod_proxy_http.so
LoadModule proxy_wstunnel_module /usr/lib/apache2/modules/mod_proxy_wstunnel.so
User nobody
Group nogroup
StartServers 1
ServerLimit 1
ThreadsPerChild 16
MaxRequestWorkers 16
MinSpareThreads 1
MaxSpareThreads 16
ProxyTimeout 60
ProxyPass "/" "ws://127.0.0.1:{upstream}/"
{extra}"""

# lighttpd 1.4: mod_proxy with upgrade enabled. (mod_wstunnel is not a WebSocket proxy:
# it ends the WebSocket in lighttpd and hands the payload bytes to a plain TCP backend.)
LIGHTTPD_CONF = """\
# Generated by tests/interop/run.py: lighttpd as a WebSocket reverse proxy.
server.document-root = "{dir}"
server.bind = "127.0.0.1"
server.port = {port}
server.errorlog = "{dir}/error.log"
server.upload-dirs = ( "{dir}/tmp" )
server.modules = ( "mod_proxy" )
proxy.server = ( "" => ( ( "host" => "127.0.0.1", "port" => {upstream} ) ) )
proxy.header = ( "upgrade" => "enable" )
"""

# HAProxy 2.6 in HTTP mode: it sees the Upgrade, then tunnels (timeout tunnel).
HAPROXY_CONF = """\
# Generated by tests/interop/run.py: HAProxy as a WebSocket reverse proxy.
global
    maxconn 64
defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout tunnel 60s
frontend interop
    bind 127.0.0.1:{port}
    default_backend ours
backend ours
    server upstream 127.0.0.1:{upstream}
"""

# name -> (config template, config file name, command given the folder and the config)
PROXIES = {
    "nginx": (NGINX_CONF, "nginx.conf", lambda d, conf: [
        "/usr/sbin/nginx", "-p", d, "-c", conf, "-e", os.path.join(d, "error.log")]),
    "apache": (APACHE_CONF.replace("{extra}", ""), "apache2.conf", lambda d, conf: [
        "/usr/sbin/apache2", "-d", d, "-f", conf, "-DFOREGROUND"]),
    "apache-wstunnel": (APACHE_CONF.replace("{extra}", "ProxyWebsocketFallbackToProxyHttp Off\n"),
                        "apache2.conf", lambda d, conf: [
        "/usr/sbin/apache2", "-d", d, "-f", conf, "-DFOREGROUND"]),
    "lighttpd": (LIGHTTPD_CONF, "lighttpd.conf", lambda d, conf: [
        "/usr/sbin/lighttpd", "-D", "-f", conf]),
    "haproxy": (HAPROXY_CONF, "haproxy.cfg", lambda d, conf: [
        "/usr/sbin/haproxy", "-db", "-f", conf]),
}


def start_proxy(kind, upstream, tag):
    """The proxy `kind` in front of 127.0.0.1:upstream; returns (process, port)."""
    template, conf_name, command = PROXIES[kind]
    d = os.path.join(OUT, "proxy-" + tag)
    for sub in ("tmp", "run"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    conf = os.path.join(d, conf_name)
    for attempt in range(3):  # the probed port may be taken before the proxy binds it
        port = free_port()
        with open(conf, "w") as f:
            f.write(template.format(port=port, upstream=upstream, dir=d))
        p = start(command(d, conf), tag + "-proxy.log", stdout=subprocess.DEVNULL)
        if wait_accepting(port, START_TIMEOUT) and p.poll() is None:
            return p, port
        stop(p)
    raise RuntimeError("%s did not start (see %s/ and build/interop/logs/%s-proxy.log)" % (kind, d, tag))


def peer_results(out):
    """check -> (ok, detail) from the peer's RESULT lines (the first report counts)."""
    got = {}
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) >= 3 and parts[0] == "RESULT" and parts[1] not in got:
            got[parts[1]] = (parts[2] == "ok", parts[3] if len(parts) > 3 else "")
    return got


def log_text(p):
    with open(p.log_path, "rb") as f:
        return f.read().decode("utf-8", "replace")


def our_server_pair(cmd, via, tag):
    """Our echo_server against the peer as a client, then the close started by our side:
    a second connection, and echo_server gets SIGTERM (it closes with 1001)."""
    results = {}
    server, port = start_server([ECHO_SERVER, "-p", "0"], tag + "-echo_server.log")
    proxy = None
    try:
        if via:
            proxy, port = start_proxy(via, port, tag)
        url = "ws://%s:%d/interop" % (HOST, port)
        client = start(cmd + ["client", url], tag + "-peer.log")
        results.update(peer_results(read_rest(client, PAIR_TIMEOUT)))
        results.update(close_ours_first(cmd, url, server, tag))
    finally:
        if proxy:
            stop(proxy)
        stop(server)
    log = log_text(server)
    code, reason = CLOSE_BY_CLIENT
    opened = first_line(log, ": open") or "no open logged"  # the first connection's
    results["subprotocol:ours"] = (opened.endswith("open, protocol chat"), opened)
    errors = [l for l in log.splitlines() if "(close code" in l]
    want = 'peer closed with %d "%s"' % (code, reason)
    results["close:ours"] = (want in log and not errors,
                             "; ".join(errors) or first_line(log, "peer closed") or "no close logged")
    return results


def close_ours_first(cmd, url, server, tag):
    """The peer connects and waits; SIGTERM makes echo_server close with 1001 "server
    shutting down". The peer reports what it got; our side must finish the handshake
    and exit 0 well inside its 2 s shutdown grace (it waits that long only for a peer
    that does not answer)."""
    results = {}
    waiter = start(cmd + ["await-close", url], tag + "-peer-await-close.log")
    line = read_line(waiter, START_TIMEOUT)
    if line != "OPEN":
        stop(waiter)
        return {"close:ours-first": (False, "peer did not connect (said %r)" % line)}
    t0 = time.monotonic()
    server.send_signal(signal.SIGTERM)
    got = peer_results(read_rest(waiter, START_TIMEOUT))
    results["close:ours-first"] = got.get("close:ours-first", (False, "peer reported nothing"))
    try:
        rc = server.wait(START_TIMEOUT)
    except subprocess.TimeoutExpired:
        rc = "none (still running)"
    took = time.monotonic() - t0
    results["close:ours-first-done"] = (rc == 0 and took < 1.5,
                                        "echo_server exit %s %.2f s after SIGTERM" % (rc, took))
    return results


def our_client_pair(cmd, via, tag):
    """Our echo_client against the peer as a server (which drives the test)."""
    results = {}
    server, port = start_server(cmd + ["server", "0"], tag + "-peer.log")
    proxy = None
    try:
        if via:
            proxy, port = start_proxy(via, port, tag)
        client = start([ECHO_CLIENT, "ws://%s:%d/interop" % (HOST, port), "--protocol",
                        "chat, superchat"], tag + "-echo_client.log", stdout=subprocess.DEVNULL)
        try:
            rc = client.wait(PAIR_TIMEOUT)
        except subprocess.TimeoutExpired:
            rc = "timeout"
        stop(client)
        results.update(peer_results(read_rest(server, START_TIMEOUT)))
    finally:
        if proxy:
            stop(proxy)
        stop(server)
    log = log_text(client)
    code, reason = CLOSE_BY_SERVER
    results["subprotocol:ours"] = ("connected, protocol chat" in log,
                                   first_line(log, "connected") or "no connection logged")
    want = 'closed by server: %d "%s"' % (code, reason)
    results["close:ours"] = (rc == 0 and want in log, "exit %s; %s" % (
        rc, " | ".join(log.strip().splitlines()[-2:])))
    return results


def first_line(text, word):
    return next((l for l in text.splitlines() if word in l), None)


def record(peer, role, extra, results, detail_file):
    """Append one pair's checks (the expected ones first, missing ones as FAIL)."""
    failed = 0
    expected = sorted(PEER_CHECKS + extra, key=lambda c: [group(x) for x in COLUMNS].index(group(c)))
    expected += OUR_CHECKS + (OURS_FIRST_CHECKS if role == "server" else [])
    checks = expected + [c for c in results if c not in expected]
    missing = []
    with open(RESULTS, "a") as tsv:
        for check in checks:
            ok, detail = results.get(check, (False, "never reported"))
            tsv.write("%s\t%s\t%s\t%s\n" % (peer, role, check, "ok" if ok else "FAIL"))
            detail_file.write("%s\t%s\t%s\t%s\t%s\n" % (peer, role, check, "ok" if ok else "FAIL", detail))
            if not ok:
                failed += 1
                if check not in results:
                    missing.append(check)
                else:
                    print("  FAIL %s, our %s: %s: %s" % (peer, role, check, detail), flush=True)
    if missing:
        print("  FAIL %s, our %s: never reported (see build/interop/logs): %s"
              % (peer, role, " ".join(missing)), flush=True)
    return failed


def transport(parts):
    """A row's optional fifth field: what carried the WebSocket ("tcp" when absent; a
    TLS suite writes "tls")."""
    return parts[4] if len(parts) > 4 and parts[4] else "tcp"


def forget(peers):
    """Drop earlier plain-TCP rows of these peers from results.tsv (a rerun replaces
    them; other suites' rows, TLS rows of the same peers included, stay)."""
    if not os.path.exists(RESULTS):
        return
    with open(RESULTS) as f:
        keep = [l for l in f if l.split("\t", 1)[0] not in peers
                or transport(l.rstrip("\n").split("\t")) != "tcp"]
    with open(RESULTS, "w") as f:
        f.writelines(keep)


def run_pairs(only):
    os.makedirs(LOGS, exist_ok=True)
    forget([p[0] for p in PEERS if not only or p[0] in only])
    started = time.monotonic()
    with open(os.path.join(OUT, "details.tsv"), "w") as details:
        for name, cmd, via, extra in PEERS:
            if only and name not in only:
                continue
            for role, pair in (("server", our_server_pair), ("client", our_client_pair)):
                tag = "%s-%s" % (name.replace("+", "-"), role)
                t0 = time.monotonic()
                if t0 - started > DEADLINE:
                    results = {"subprotocol": (False, "skipped: the run took over %d s" % DEADLINE)}
                else:
                    try:
                        results = pair(cmd, via, tag)
                    except Exception as e:  # a peer that never started: all its checks fail
                        results = {"subprotocol": (False, "%s: %s" % (type(e).__name__, e))}
                failed = record(name, role, extra, results, details)
                print("%-24s our %-6s %s (%.1f s)" % (name, role, "ok" if not failed else
                      "%d FAILED" % failed, time.monotonic() - t0), flush=True)


def group(check):
    """The matrix column of a check: "text:125" -> "text"; a check named by another suite
    without a "group:" prefix goes to "other"."""
    if ":" in check or check in COLUMNS:
        return check.split(":", 1)[0]
    return "other"


def print_matrix():
    """The matrix of everything in results.tsv; returns the number of failed checks.
    One row per peer, our role and transport (tcp, tls)."""
    rows, cells, columns = [], {}, list(COLUMNS)
    passed = failed = 0
    failures = []
    with open(RESULTS) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) not in (4, 5):
                continue
            peer, role, check, verdict = parts[:4]
            over = transport(parts)
            row = (peer, role, over)
            ok = verdict == "ok"
            if not ok:
                failures.append("%s, our %s%s: %s" % (peer, role, "" if over == "tcp" else " over " + over, check))
            passed += ok
            failed += not ok
            if row not in rows:
                rows.append(row)
            if group(check) not in columns:
                columns.append(group(check))
            key = row + (group(check),)
            cells[key] = cells.get(key, True) and ok
    order = [r[0] for r in rows]
    rows.sort(key=lambda r: (order.index(r[0]), r[2] != "tcp"))  # a peer's rows together
    width = max([len("peer")] + [len(r[0]) for r in rows])
    sizes = [max(4, len(c)) for c in columns]
    head = "%-*s  %-6s  %-4s" % (width, "peer", "ours", "over") + "".join("  %-*s" % (n, c) for n, c in zip(sizes, columns))
    print(head)
    print("-" * len(head))
    for row in rows:
        line = "%-*s  %-6s  %-4s" % (width, row[0], row[1], row[2])
        for n, c in zip(sizes, columns):
            v = cells.get(row + (c,))
            line += "  %-*s" % (n, "-" if v is None else "ok" if v else "FAIL")
        print(line.rstrip())
    if failures:
        print("\nfailed (details in build/interop/details.tsv and logs/):")
        for f in failures:
            print("  " + f)
    print("%d passed, %d failed" % (passed, failed))
    return failed


def main():
    args = sys.argv[1:]
    if args != ["--matrix"]:
        unknown = [a for a in args if a not in [p[0] for p in PEERS]]
        if unknown:
            sys.exit("unknown peer(s): %s; known: %s" % (" ".join(unknown), " ".join(p[0] for p in PEERS)))
        try:
            run_pairs(set(args))
        finally:
            for p in list(children):
                stop(p, signal.SIGKILL, 1.0)
        print()
    if not os.path.exists(RESULTS):
        print("no results in %s" % RESULTS)
        print("0 passed, 1 failed")
        return 1
    return 1 if print_matrix() else 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the finally still runs
    sys.exit(main())
