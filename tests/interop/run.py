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

The rows lighttpd-wstunnel and lighttpd-wstunnel-binary differ: lighttpd's mod_wstunnel
is the WebSocket server and a TCP echo backend (TcpEcho, here) sits behind it, so ws.h's
client drives (peers/wstunnel_client.c) and prints the RESULT lines.

Results are appended to build/interop/results.tsv as "peer<TAB>role<TAB>check<TAB>ok|FAIL"
(role: OUR side's role), replacing the rows of an earlier run of the same peers; other
suites (the browser test) append there too, and a row may carry a fifth field, the
transport ("tls"; "tcp" when absent), which the matrix shows in its "over" column. The matrix
covers the whole file, then "N passed, M failed"; the exit status is 1 if anything failed.
Everything listens on 127.0.0.1, every wait has a timeout, every process started here is
killed before exit (on failure too)."""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
import procs  # noqa: E402 (tests/procs.py)
from procs import log_text, read_line, read_rest, stop  # noqa: E402

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
DEADLINE = 420.0      # the whole run: pairs not started by then FAIL as skipped

SIZES = [0, 125, 126, 65535, 65536, 1 << 20]
PEER_CHECKS = (["subprotocol"] + ["text:%d" % n for n in SIZES] + ["binary:%d" % n for n in SIZES]
               + ["utf8:short", "utf8:long", "fragment", "ping", "burst:messages", "close:peer"])
OUR_CHECKS = ["subprotocol:ours", "close:ours"]
OURS_FIRST_CHECKS = ["close:ours-first", "close:ours-first-done"]  # our server role only
COLUMNS = ["subprotocol", "text", "binary", "utf8", "fragment", "ping", "burst", "close", "pmd"]
CLOSE_BY_CLIENT = (4001, "client bye \u2713")
CLOSE_BY_SERVER = (4002, "server bye \u2713")


def node(script):
    return ["node", os.path.join(PEERS_DIR, script)]


# permessage-deflate (RFC 7692). A row's compression column: "-" for none, else what the
# peer was told (its library's defaults, or window bits s/c = server/client_max_window_bits,
# nct = both no_context_takeover, snct/cnct one of them). Our side runs with --deflate
# and accepts (server) or offers (client, "client_max_window_bits" without a value)
# whatever; the peer offers or answers. Checks: pmd:agreed (the peer has the
# extension active and shows the response's Sec-WebSocket-Extensions),
# pmd:ours (our side's "extension:" line, from WS_EV_OPEN's deflate, states the
# same parameters), pmd:rsv1 (our side's messages reached the peer with RSV1).
PMD_CHECKS = ["pmd:agreed", "pmd:rsv1"]


def ws_pmd(s=None, c=None, snct=False, cnct=False):
    """Node ws perMessageDeflate options (threshold 0 is added by the peer)."""
    o = {}
    if s: o["serverMaxWindowBits"] = s
    if c: o["clientMaxWindowBits"] = c
    if snct: o["serverNoContextTakeover"] = True
    if cnct: o["clientNoContextTakeover"] = True
    return o


def pmd_tag(s=None, c=None, snct=False, cnct=False):
    words = (["s%d" % s] if s else []) + (["c%d" % c] if c else [])
    words += ["nct"] if snct and cnct else ["snct"] if snct else ["cnct"] if cnct else []
    return " ".join(words) or "default"


# The full plan with compression, a few combinations per peer: (peer name as in PEERS,
# compression column, the peer's environment[, {our role: checks left out}[, our side's
# options: --deflate when not given]]).
# libwebsockets 4.1.6's own permessage-deflate has bugs that its peer steps around (see
# peers/lws_peer.c): its client loops on a pong, its server asserts on an empty message
# after a compressed one, both mangle compressed messages arriving back to back. Its
# server shows no agreed parameters, so pmd:ours only checks what our client logged.
LWS_PMD_SKIP = {"server": ["ping", "fragment:ping-between", "burst:pings", "burst:messages"],
                "client": ["text:0", "binary:0", "burst:pings", "burst:messages", "pmd:agreed"]}
PMD_RUNS = [
    ("node-ws", "default", {"WS_PEER_PMD": "{}"}),
    ("node-ws", pmd_tag(9, 9, True, True), {"WS_PEER_PMD": json.dumps(ws_pmd(9, 9, True, True))}),
    ("node-ws", pmd_tag(15, 10, cnct=True), {"WS_PEER_PMD": json.dumps(ws_pmd(15, 10, cnct=True))}),
    ("python-websockets", "default", {"PY_PEER_PMD": "{}"}),
    ("python-websockets", pmd_tag(9, 9, True, True), {"PY_PEER_PMD": json.dumps(
        {"server_max_window_bits": 9, "client_max_window_bits": 9,
         "server_no_context_takeover": True, "client_no_context_takeover": True})}),
    ("python-websockets", pmd_tag(15, 11), {"PY_PEER_PMD": json.dumps(
        {"server_max_window_bits": 15, "client_max_window_bits": 11})}),
    ("libwebsockets", "lws defaults", {"LWS_PEER_PMD": "1"}, LWS_PMD_SKIP),
    # ws.h against itself, 8-bit windows included (which zlib-based peers cannot do)
    ("ws.h", "default", {"WSH_PEER_DEFLATE": "on"}),
    ("ws.h", pmd_tag(8, 8), {"WSH_PEER_DEFLATE": "8,8,0,0"}, {}, ["--deflate-window", "8"]),
    ("ws.h", pmd_tag(8, 8, True, True), {"WSH_PEER_DEFLATE": "8,8,1,1"}, {},
     ["--deflate-window", "8", "--no-context-takeover"]),
    ("ws.h", pmd_tag(11, 9, snct=True), {"WSH_PEER_DEFLATE": "11,9,1,0"}),
]

# Node ws across every parameter combination it can do (window bits 9..15 each way,
# each no_context_takeover on and off: 196), a short plan each (peers/ws_sweep.js).
SWEEP = [(pmd_tag(sb, cb, sn, cn), ws_pmd(sb, cb, sn, cn))
         for sn in (False, True) for cn in (False, True)
         for sb in range(9, 16) for cb in range(9, 16)]
SWEEP_CHECKS = (["pmd:agreed", "text:0", "text:125", "text:65536", "binary:126", "binary:65536",
                 "utf8:short", "utf8:long", "fragment", "ping", "burst:messages", "pmd:rsv1",
                 "close:peer", "pmd:ours"])


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
    ("ws.h", [os.path.join(OUT, "wsh_peer")], None, ALL_WS),
    ("websocketpp", [os.path.join(OUT, "wspp_peer")], None, [PING_BETWEEN, PINGS]),
    ("nginx+node-ws", WS_PEER, "nginx", ALL_WS),
    ("apache+node-ws", WS_PEER, "apache", ALL_WS),
    ("apache-wstunnel+node-ws", WS_PEER, "apache-wstunnel", ALL_WS),
    ("lighttpd+node-ws", WS_PEER, "lighttpd", ALL_WS),
    ("haproxy+node-ws", WS_PEER, "haproxy", ALL_WS),
]

def start(cmd, log_name, stdout=subprocess.PIPE, env=None):
    return procs.start(cmd, os.path.join(LOGS, log_name), stdout=stdout, env=env)


def start_server(cmd, log_name, env=None):
    """Start a server that prints "listening on 127.0.0.1:PORT"; returns (process, port)."""
    p = start(cmd, log_name, env=env)
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
# it ends the WebSocket in lighttpd and hands the payload bytes to a plain TCP backend;
# it has rows of its own, see WSTUNNEL_CONF.)
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

# lighttpd 1.4's mod_wstunnel: not a proxy but a WebSocket endpoint. lighttpd answers the
# handshake itself, hands the payload bytes of every message to a plain TCP backend
# ({upstream}: run.py's TcpEcho), and frames what the backend writes back as messages,
# text ("frame-type") or binary when the client offers the subprotocol "binary".
# debug 4 logs every frame, which shows the pongs lighttpd received (ping:server).
# Per URL: /plan gets a ping every second, /idle is closed after 1 s without input,
# /origin only admits an Origin ending in "allowed.test".
WSTUNNEL_CONF = """\
# Generated by tests/interop/run.py: lighttpd mod_wstunnel in front of a TCP echo backend.
server.document-root = "{dir}"
server.bind = "127.0.0.1"
server.port = {port}
server.errorlog = "{dir}/error.log"
server.upload-dirs = ( "{dir}/tmp" )
server.modules = ( "mod_wstunnel" )
wstunnel.server = ( "" => ( ( "host" => "127.0.0.1", "port" => {upstream} ) ) )
wstunnel.frame-type = "text"
wstunnel.debug = 4
$HTTP["url"] =~ "^/plan" {{ wstunnel.ping-interval = 1 }}
$HTTP["url"] =~ "^/idle" {{ server.max-read-idle = 1 }}
$HTTP["url"] =~ "^/origin" {{ wstunnel.origins = ( "allowed.test" ) }}
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
    "lighttpd-wstunnel": (WSTUNNEL_CONF, "lighttpd.conf", lambda d, conf: [
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


def pmd_params(element):
    """The parameters of a permessage-deflate element as a dict, window bits explicit
    (absent: 15, RFC 7692 §7.1.2), or None for anything else."""
    parts = [p.strip() for p in (element or "").split(";")]
    if parts[0].lower() != "permessage-deflate":
        return None
    d = {"server_max_window_bits": 15, "client_max_window_bits": 15}
    for p in parts[1:]:
        name, eq, value = p.partition("=")
        if name.strip():
            d[name.strip().lower()] = int(value.strip().strip('"')) if eq else True
    return d


def pmd_ours(results, check, line, peer_shows=True):
    """pmd:ours: our side's "extension: ..." line states what the peer saw in the
    response (pmd:agreed's detail: header "..."); for a peer that cannot show it
    (peer_shows False), that our side agreed to permessage-deflate at all."""
    m = re.search(r'header "([^"]*)"', results.get(check.replace("ours", "agreed"), (0, ""))[1])
    ours = line.split("extension: ", 1)[1] if line and "extension: " in line else None
    if not peer_shows:
        return (pmd_params(ours) is not None, "ours: %s (the peer does not show it)" % ours)
    ok = m is not None and ours is not None and pmd_params(m.group(1)) == pmd_params(ours)
    return (ok, "ours: %s; the peer saw: %s" % (ours or "no extension logged", m.group(1) if m else "nothing"))


def our_server_pair(cmd, via, tag, env=None, our_args=(), skip=()):
    """Our echo_server against the peer as a client, then the close started by our side:
    a second connection, and echo_server gets SIGTERM (it closes with 1001)."""
    results = {}
    server, port = start_server([ECHO_SERVER, "-p", "0"] + list(our_args), tag + "-echo_server.log")
    proxy = None
    try:
        if via:
            proxy, port = start_proxy(via, port, tag)
        url = "ws://%s:%d/interop" % (HOST, port)
        client = start(cmd + ["client", url], tag + "-peer.log", env=env)
        results.update(peer_results(read_rest(client, PAIR_TIMEOUT)))
        results.update(close_ours_first(cmd, url, server, tag, env))
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
    if env:
        results["pmd:ours"] = pmd_ours(results, "pmd:ours", first_line(log, ": extension: "),
                                       "pmd:agreed" not in skip)
    return results


def close_ours_first(cmd, url, server, tag, env=None):
    """The peer connects and waits; SIGTERM makes echo_server close with 1001 "server
    shutting down". The peer reports what it got; our side must finish the handshake
    and exit 0 well inside its 2 s shutdown grace (it waits that long only for a peer
    that does not answer)."""
    results = {}
    waiter = start(cmd + ["await-close", url], tag + "-peer-await-close.log", env=env)
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


def our_client_pair(cmd, via, tag, env=None, our_args=(), skip=()):
    """Our echo_client against the peer as a server (which drives the test)."""
    results = {}
    server, port = start_server(cmd + ["server", "0"], tag + "-peer.log", env=env)
    proxy = None
    try:
        if via:
            proxy, port = start_proxy(via, port, tag)
        client = start([ECHO_CLIENT, "ws://%s:%d/interop" % (HOST, port), "--protocol",
                        "chat, superchat"] + list(our_args), tag + "-echo_client.log",
                       stdout=subprocess.DEVNULL)
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
    if env:
        results["pmd:ours"] = pmd_ours(results, "pmd:ours", first_line(log, "extension: "),
                                       "pmd:agreed" not in skip)
    return results


def sweep_server(tag):
    """ws_sweep.js as a client: one connection per combination to one echo_server."""
    env = {"WS_SWEEP": json.dumps(SWEEP)}
    server, port = start_server([ECHO_SERVER, "-p", "0", "--deflate"], tag + "-echo_server.log")
    try:
        client = start(node("ws_sweep.js") + ["client", "ws://%s:%d/sweep" % (HOST, port)],
                       tag + "-peer.log", env=env)
        results = peer_results(read_rest(client, PAIR_TIMEOUT + 2 * len(SWEEP)))
    finally:
        stop(server)
    # One connection per combination, in order: the i-th "extension:" line is combination i's.
    lines = [l for l in log_text(server).splitlines() if ": extension: " in l]
    for i, (name, _) in enumerate(SWEEP):
        check = "pmd:ours@" + name
        results[check] = pmd_ours(results, check, lines[i] if i < len(lines) else None)
    return results


def sweep_client(tag):
    """ws_sweep.js as a server: echo_client --deflate once per combination."""
    env = {"WS_SWEEP": json.dumps(SWEEP)}
    results = {}
    server, port = start_server(node("ws_sweep.js") + ["server", "0"], tag + "-peer.log", env=env)
    try:
        ends = []
        for i, (name, _) in enumerate(SWEEP):
            client = start([ECHO_CLIENT, "ws://%s:%d/sweep/%d" % (HOST, port, i), "--deflate"],
                           tag + "-echo_client.log", stdout=subprocess.DEVNULL)
            try:
                rc = client.wait(PAIR_TIMEOUT)
            except subprocess.TimeoutExpired:
                rc = "timeout"
            stop(client)
            log = log_text(client)
            ends.append((name, rc, log))
        results.update(peer_results(read_rest(server, START_TIMEOUT)))
    finally:
        stop(server)
    for name, rc, log in ends:
        check = "pmd:ours@" + name
        results[check] = pmd_ours(results, check, first_line(log, "extension: "))
        if rc != 0:
            results[check] = (False, "echo_client exit %s: %s" % (rc, " | ".join(log.strip().splitlines()[-2:])))
    return results


# lighttpd mod_wstunnel rows (our client only: lighttpd is the WebSocket server and
# the backend behind it sees bytes, not messages, so neither our server behind it nor a
# peer driving a plan can run). build/interop/wstunnel_client (ws.h) drives instead, and
# the backend only echoes; see peers/wstunnel_client.c and README.md. One lighttpd serves
# both rows, every connection at once: the two plans, and the text row's utf8:cut,
# close:backend, handshake:origin and close:idle (echo_client).
WSTUNNEL_CLIENT = os.path.join(OUT, "wstunnel_client")
WSTUNNEL_SIZES = [0, 125, 126, 65535, 65536, 1 << 20]
WSTUNNEL_ROWS = {
    # name: (subprotocols offered, the checks of the row)
    "lighttpd-wstunnel": ("chat, superchat", ["handshake:101", "handshake:origin", "subprotocol"]
                          + ["text:%d" % n for n in WSTUNNEL_SIZES]
                          + ["utf8:short", "utf8:cut", "fragment", "fragment:ping-between",
                             "ping", "ping:server", "ping:after-server-pings", "burst:messages",
                             "close:ours", "close:backend", "close:idle"]),
    "lighttpd-wstunnel-binary": ("chat, binary", ["handshake:101", "subprotocol"]
                                 + ["text:%d" % n for n in WSTUNNEL_SIZES]
                                 + ["binary:%d" % n for n in WSTUNNEL_SIZES]
                                 + ["utf8:short", "utf8:long", "fragment", "fragment:ping-between",
                                    "fragment:split-utf8", "ping", "ping:server",
                                    "ping:after-server-pings", "burst:messages", "close:ours"]),
}
BACKEND_COMMANDS = (b"\0wstunnel-test:close\0", b"\0wstunnel-test:cut\0")


class TcpEcho:
    """The plain TCP backend behind mod_wstunnel, on a free 127.0.0.1 port: echoes every
    byte, except that a connection whose first bytes are one of BACKEND_COMMANDS obeys it:
    hang up, or write text cut inside a 4-byte code point ("ok " + half of U+1F600), then
    the rest unless lighttpd hangs up first. Threads, all daemons; close() ends them."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind((HOST, 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.running = True
        self.conns = []
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while self.running:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.conns.append(c)
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        c.settimeout(PAIR_TIMEOUT)
        head = b""  # the first bytes, while they may still become a command
        try:
            while True:
                data = c.recv(65536)
                if not data:
                    return
                if head is not None:
                    head += data
                    if head.startswith(BACKEND_COMMANDS[0]):
                        return
                    if head.startswith(BACKEND_COMMANDS[1]):
                        # The rest only once lighttpd hung up (our client failed the
                        # connection on the first part) or after 5 s: lighttpd must
                        # have framed the first part alone by then.
                        c.sendall(b"ok \xf0\x9f")
                        c.settimeout(5.0)
                        try:
                            if not c.recv(1):
                                return
                        except socket.timeout:
                            pass
                        c.settimeout(PAIR_TIMEOUT)
                        c.sendall(b"\x98\x80 done")
                        head = None
                        continue
                    if any(cmd.startswith(head) for cmd in BACKEND_COMMANDS):
                        continue
                    data, head = head, None
                c.sendall(data)
        except OSError:
            pass
        finally:
            c.close()

    def close(self):
        self.running = False
        self.sock.close()
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass


def lighttpd_pongs(log):
    """(pings lighttpd sent, pongs it received) in its wstunnel.debug log: each frame it
    sends logs "type = X" then "payload size=N"; each it receives "type = X" then
    "specified payload size=N"."""
    lines = log.splitlines()
    sent = received = 0
    for line, after in zip(lines, lines[1:]):
        if line.endswith("type = ping") and "payload size=" in after and "specified" not in after:
            sent += 1
        elif line.endswith("type = pong") and "specified payload size=" in after:
            received += 1
    return sent, received


def wstunnel_driver(mode, url, tag, *extra):
    return start([WSTUNNEL_CLIENT, mode, url] + list(extra), tag + ".log")


def wstunnel_results(p, got):
    """The RESULT lines (and "PINGS n") of one wstunnel_client run."""
    out = read_rest(p, PAIR_TIMEOUT)
    got.update(peer_results(out))
    m = re.search(r"^PINGS\t(\d+)$", out, re.M)
    return int(m.group(1)) if m else 0


def wstunnel_rows(names):
    """Runs the rows in names at once on one lighttpd; returns {row: {check: (ok, detail)}}."""
    rows = {n: {} for n in names}
    log_path = os.path.join(OUT, "proxy-lighttpd-wstunnel", "error.log")
    if os.path.exists(log_path):
        os.remove(log_path)
    backend = TcpEcho()
    proxy = None
    try:
        proxy, port = start_proxy("lighttpd-wstunnel", backend.port, "lighttpd-wstunnel")
        url = lambda path: "ws://%s:%d/%s" % (HOST, port, path)
        plans, others, idle = {}, [], None
        for name in names:
            tag = "%s-client" % name
            plans[name] = wstunnel_driver("plan", url("plan"), tag, WSTUNNEL_ROWS[name][0])
            if name == "lighttpd-wstunnel":
                others = [wstunnel_driver(mode, url(mode), "%s-%s" % (tag, mode))
                          for mode in ("cut", "backend-close", "origin")]
                idle = start([ECHO_CLIENT, url("idle")], tag + "-idle-echo_client.log",
                             stdout=subprocess.DEVNULL)
        pings = {name: wstunnel_results(p, rows[name]) for name, p in plans.items()}
        for p in others:
            wstunnel_results(p, rows["lighttpd-wstunnel"])
        if idle:
            # lighttpd closes /idle after 1 s without input, with an empty close frame
            # (no status code: our side sees 1005); echo_client must take that as a
            # clean close and exit 0.
            try:
                rc = idle.wait(PAIR_TIMEOUT)
            except subprocess.TimeoutExpired:
                rc = "timeout"
            stop(idle)
            log = log_text(idle)
            rows["lighttpd-wstunnel"]["close:idle"] = (
                rc == 0 and 'closed by server: 1005 ""' in log,
                "exit %s; %s" % (rc, " | ".join(log.strip().splitlines()[-2:])))
    finally:
        if proxy:
            stop(proxy)
        backend.close()
    # lighttpd's own log holds the proof that our pongs reached it. Only the plans get
    # pings (/plan), and nothing else sends pongs: the pongs lighttpd received must cover
    # every ping the plans saw.
    try:
        with open(log_path, errors="replace") as f:
            sent, received = lighttpd_pongs(f.read())
    except OSError:
        sent = received = 0
    seen = sum(pings.values())
    for name, got in rows.items():
        ok, detail = got.get("ping:server", (False, "never reported"))
        got["ping:server"] = (ok and received >= seen and pings[name] >= 2, "%s; lighttpd's log: "
                              "%d pings sent, %d pongs received on %d connection%s (ws.h saw %d pings)"
                              % (detail, sent, received, len(pings), "s" if len(pings) > 1 else "", seen))
    return rows


def first_line(text, word):
    return next((l for l in text.splitlines() if word in l), None)


def expected_checks(role, extra, compressed, skip=()):
    """The checks a full-plan pair must report, in matrix order (less those in skip)."""
    expected = sorted(PEER_CHECKS + extra + (PMD_CHECKS if compressed else []),
                      key=lambda c: [group(x) for x in COLUMNS].index(group(c)))
    expected += OUR_CHECKS + (["pmd:ours"] if compressed else []) + \
        (OURS_FIRST_CHECKS if role == "server" else [])
    return [c for c in expected if c not in skip]


def record(peer, role, expected, results, detail_file, compression="-"):
    """Append one pair's checks (the expected ones first, missing ones as FAIL)."""
    failed = 0
    checks = expected + [c for c in results if c not in expected]
    missing = []
    # The transport field stays empty (tcp); the sixth is the compression column.
    tail = "" if compression == "-" else "\t\t" + compression
    with open(RESULTS, "a") as tsv:
        for check in checks:
            ok, detail = results.get(check, (False, "never reported"))
            tsv.write("%s\t%s\t%s\t%s%s\n" % (peer, role, check, "ok" if ok else "FAIL", tail))
            detail_file.write("%s\t%s\t%s\t%s\t%s\t%s\n" % (peer, role, check, "ok" if ok else "FAIL",
                                                           detail, compression))
            if not ok:
                failed += 1
                if check not in results:
                    missing.append(check)
                else:
                    print("  FAIL %s, our %s%s: %s: %s" % (peer, role, pmd_note(compression), check, detail),
                          flush=True)
    if missing:
        print("  FAIL %s, our %s%s: never reported (see build/interop/logs): %s"
              % (peer, role, pmd_note(compression), " ".join(missing)), flush=True)
    return failed


def pmd_note(compression):
    return "" if compression == "-" else ", deflate " + compression


def compression(parts):
    """A row's optional sixth field: the compression column ("-" when absent)."""
    return parts[5] if len(parts) > 5 and parts[5] else "-"


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
    forget([p[0] for p in PEERS if not only or p[0] in only]
           + [n for n in WSTUNNEL_ROWS if not only or n in only])
    started = time.monotonic()

    def one(name, role, compression, expected, pair):
        t0 = time.monotonic()
        if t0 - started > DEADLINE:
            results = {expected[0]: (False, "skipped: the run took over %d s" % DEADLINE)}
        else:
            try:
                results = pair()
            except Exception as e:  # a peer that never started: all its checks fail
                results = {expected[0]: (False, "%s: %s" % (type(e).__name__, e))}
        failed = record(name, role, expected, results, details, compression)
        print("%-24s our %-6s %-16s %s (%.1f s)" % (name, role, "" if compression == "-" else
              "deflate " + compression, "ok" if not failed else "%d FAILED" % failed,
              time.monotonic() - t0), flush=True)

    with open(os.path.join(OUT, "details.tsv"), "w") as details:
        for name, cmd, via, extra in PEERS:
            if only and name not in only:
                continue
            for role, pair in (("server", our_server_pair), ("client", our_client_pair)):
                tag = "%s-%s" % (name.replace("+", "-"), role)
                one(name, role, "-", expected_checks(role, extra, False),
                    lambda: pair(cmd, via, tag))
            for n, run in enumerate(r for r in PMD_RUNS if r[0] == name):
                comp, env = run[1], run[2]
                for role, pair in (("server", our_server_pair), ("client", our_client_pair)):
                    tag = "%s-%s-deflate%d" % (name.replace("+", "-"), role, n)
                    skip = run[3].get(role, []) if len(run) > 3 else []
                    ours = run[4] if len(run) > 4 else ["--deflate"]
                    one(name, role, comp, expected_checks(role, extra, True, skip),
                        lambda: pair(cmd, via, tag, env, ours, skip))
            if name == "node-ws":
                sweep = ["%s@%s" % (c, t) for t, _ in SWEEP for c in SWEEP_CHECKS]
                one(name, "server", "sweep %d" % len(SWEEP), sweep, lambda: sweep_server("node-ws-sweep-server"))
                one(name, "client", "sweep %d" % len(SWEEP), sweep, lambda: sweep_client("node-ws-sweep-client"))
        wanted = [n for n in WSTUNNEL_ROWS if not only or n in only]
        if wanted:
            t0 = time.monotonic()
            try:
                if t0 - started > DEADLINE:
                    raise RuntimeError("skipped: the run took over %d s" % DEADLINE)
                rows = wstunnel_rows(wanted)
            except Exception as e:  # lighttpd never started: every check fails
                rows = {n: {WSTUNNEL_ROWS[n][1][0]: (False, "%s: %s" % (type(e).__name__, e))}
                        for n in wanted}
            for n in wanted:
                failed = record(n, "client", WSTUNNEL_ROWS[n][1], rows[n], details)
                print("%-24s our %-6s %-16s %s (%.1f s, the rows at once)" % (
                    n, "client", "", "ok" if not failed else "%d FAILED" % failed,
                    time.monotonic() - t0), flush=True)


def group(check):
    """The matrix column of a check: "text:125" -> "text" ("text:125@s9 c9" too: a sweep's
    combination follows the "@"); a check named by another suite without a "group:"
    prefix goes to "other"."""
    check = check.split("@", 1)[0]
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
            if len(parts) not in (4, 5, 6):
                continue
            peer, role, check, verdict = parts[:4]
            over = transport(parts)
            comp = compression(parts)
            row = (peer, role, over, comp)
            ok = verdict == "ok"
            if not ok:
                failures.append("%s, our %s%s%s: %s" % (peer, role, "" if over == "tcp" else " over " + over,
                                                     pmd_note(comp), check))
            passed += ok
            failed += not ok
            if row not in rows:
                rows.append(row)
            if group(check) not in columns:
                columns.append(group(check))
            key = row + (group(check),)
            cells[key] = cells.get(key, True) and ok
    order = [r[0] for r in rows]
    # a peer's rows together: plain TCP first, then compressed, then TLS
    rows.sort(key=lambda r: (order.index(r[0]), r[2] != "tcp", r[3] != "-", r[3].startswith("sweep")))
    width = max([len("peer")] + [len(r[0]) for r in rows])
    cwidth = max([len("compression")] + [len(r[3]) for r in rows])
    sizes = [max(4, len(c)) for c in columns]
    head = "%-*s  %-6s  %-4s  %-*s" % (width, "peer", "ours", "over", cwidth, "compression") + \
        "".join("  %-*s" % (n, c) for n, c in zip(sizes, columns))
    print(head)
    print("-" * len(head))
    for row in rows:
        line = "%-*s  %-6s  %-4s  %-*s" % (width, row[0], row[1], row[2], cwidth, row[3])
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
        known = [p[0] for p in PEERS] + list(WSTUNNEL_ROWS)
        unknown = [a for a in args if a not in known]
        if unknown:
            sys.exit("unknown peer(s): %s; known: %s" % (" ".join(unknown), " ".join(known)))
        try:
            run_pairs(set(args))
        finally:
            procs.kill_all()
        print()
    if not os.path.exists(RESULTS):
        print("no results in %s" % RESULTS)
        print("0 passed, 1 failed")
        return 1
    return 1 if print_matrix() else 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the finally still runs
    sys.exit(main())
