#!/usr/bin/env python3
"""Runs the ws.h benchmarks (built by `make bench-build`) and prints one table.

Every figure is measured in this run next to its baseline (memcpy of the same bytes,
wslay on the same inputs, OpenSSL for the accept key, the issue's targets for sizes).

  tests/bench/run.py [--out FILE] [--quick] [--profile]
"""
import argparse
import datetime
import os
import platform
import re
import resource
import select
import shutil
import signal
import statistics
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
B = os.path.join(ROOT, "build", "bench")
ECHO = os.path.join(ROOT, "build", "echo_server")
WSLAY_ECHO = os.path.join(B, "wslay_echo_server")
TCP_ECHO = os.path.join(B, "tcp_echo_server")  # the ceiling: same loop and I/O, no WebSocket
LOADGEN = os.path.join(B, "loadgen")


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


# ---- helpers ------------------------------------------------------------------------

# Not pinned to cores: on a VM a wake-up across cores is an IPI, which made pinned runs
# several times slower here; the scheduler does better alone.
NCPU = os.cpu_count() or 1


def loadavg():
    try:
        return open("/proc/loadavg").read().split()[0]
    except OSError:
        return "?"


def start_server(path):
    """Start an echo server on a free port; returns (process, port). path may be a list:
    the command with its options ("-p 0" is appended)."""
    cmd = list(path) if isinstance(path, (list, tuple)) else [path]
    p = subprocess.Popen(cmd + ["-p", "0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         cwd=ROOT)
    ready, _, _ = select.select([p.stdout], [], [], 10)
    line = p.stdout.readline().decode() if ready else ""
    m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
    if not m:
        stop_server(p)
        raise RuntimeError("%s did not start (%r)" % (path, line))
    return p, int(m.group(1))


def stop_server(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def loadgen(args, timeout=60):
    out = subprocess.run([LOADGEN] + [str(a) for a in args], capture_output=True, text=True,
                         timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError("loadgen %s failed: %s" % (" ".join(map(str, args)), out.stderr.strip()))
    return {k: float(v) for k, v in re.findall(r"(\w+)=([0-9.eE+-]+)", out.stdout)}


def fmt_rate(v):
    for div, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if v >= div:
            return "%.2f%s" % (v / div, unit)
    return "%.0f" % v


def ratio(a, b):
    return a / b if b else float("nan")


def fr(x):
    return "x%.2f" % x if x == x else "n/a"


# ---- 1. codec ----------------------------------------------------------------------

def run_codec(quick):
    args = [os.path.join(B, "bench_codec")] + (["5", "2"] if quick else ["10", "9"])
    out = subprocess.run(args, capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise RuntimeError("bench_codec failed: " + out.stderr)
    res, info = {}, {}
    for line in out.stdout.splitlines():
        f = line.split("|")
        if f[0] == "codec":
            res[(f[1], int(f[2]), f[3])] = (float(f[4]), int(f[5]), int(f[6]))
        elif f[0] == "info":
            info[f[1]] = int(f[2])
    return res, info


def codec_cell(case, payload, r):
    ns, frames, nbytes = r
    if case == "accept_key":
        return "%s/s %4.0f ns" % (fmt_rate(frames / ns * 1e9), ns / frames)
    if case.startswith("utf8") or payload > 125:
        return "%6.2f GB/s" % (nbytes / ns)
    return "%5.1f ns/fr %s/s" % (ns / frames, fmt_rate(frames / ns * 1e9))


CODEC_ROWS = [
    ("decode_msg", "decode+unmask, ws_conn_feed, message mode", "wslay_event_recv"),
    ("decode_stream", "decode+unmask, ws_conn_feed, streaming", "wslay_event_recv no_buffering"),
    ("decode_codec", "decode+unmask, ws_frame_decode+ws_mask", "wslay_frame_recv"),
    ("encode_server", "encode server frames, ws_send+drain", "wslay_frame_send"),
    ("encode_client", "encode masked client frames, ws_send+drain", "wslay_frame_send masked"),
]
SIZES = [2, 16, 125, 64 << 10, 1 << 20]


def size_name(n):
    return "1 MiB" if n == 1 << 20 else "64 KiB" if n == 64 << 10 else "%d B" % n


# ---- 2. instructions per frame -------------------------------------------------------

def callgrind_total(case, frames, passes):
    outfile = os.path.join(B, "cg.%s.%d.out" % (case, passes))
    p = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + outfile,
                        os.path.join(B, "bench_ipf"), case, str(frames), str(passes)],
                       capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        raise RuntimeError("callgrind %s failed: %s" % (case, p.stderr[-500:]))
    m = re.search(r"Collected : (\d+)", p.stderr)
    os.remove(outfile)
    return int(m.group(1))


def run_ipf(frames=20000):
    res = {}
    for case in ("ws_feed", "ws_stream", "ws_codec", "wslay_event", "wslay_event_nb", "wslay_frame", "memcpy",
                 "ws_send", "wslay_send"):
        a = callgrind_total(case, frames, 1)
        b = callgrind_total(case, frames, 2)
        res[case] = (b - a) / frames
    return res


# ---- 3. end to end -------------------------------------------------------------------

E2E_CONFIGS = [(c, s, d) for c in (1, 100) for s in (16, 4096) for d in (1, 16)]
# (name, binary, extra loadgen options): tcp_echo_server echoes bytes, loadgen -r counts
# the echoed client frames instead of server frames and skips the handshake.
E2E_SERVERS = (("ws", ECHO, []), ("wslay", WSLAY_ECHO, []), ("tcp", TCP_ECHO, ["-r"]))


def run_e2e(quick):
    reps = 1 if quick else 5
    secs = 1.0
    servers = {}
    results = {}
    try:
        for name, path, _ in E2E_SERVERS:
            servers[name] = start_server(path)
        for rep in range(reps):
            # Which server goes first turns from round to round: a row's first run meets
            # the machine as the previous row left it, and that must not favour one server.
            order = E2E_SERVERS[rep % len(E2E_SERVERS):] + E2E_SERVERS[:rep % len(E2E_SERVERS)]
            for cfg in E2E_CONFIGS:
                for name, _, extra in order:
                    p, port = servers[name]
                    c, s, d = cfg
                    r = loadgen(extra + ["-p", port, "-P", p.pid, "-c", c, "-s", s, "-d", d, "-t", secs,
                                         "-w", 0.2])
                    results.setdefault((name, cfg), []).append(r)
            log("end-to-end round %d/%d done" % (rep + 1, reps))
    finally:
        for p, _ in servers.values():
            stop_server(p)
    # The run with the best throughput stands for the configuration (all its figures):
    # on a shared VM a run is either clean or several times slower, and the slow ones
    # measure the neighbours.
    best = {}
    for k, runs in results.items():
        best[k] = dict(max(runs, key=lambda r: r["msgs_per_s"]))
        best[k]["all"] = [r["msgs_per_s"] for r in runs]
        best[k]["p99_all"] = [r["p99_us"] for r in runs]
    return best


# permessage-deflate end to end: echo_server --deflate beside Node ws with perMessageDeflate
# (tests/bench/node_echo_server.js), both driven by loadgen -z (text of JSON records,
# pre-compressed, RSV1), and echo_server without compression under the same load as the
# baseline of what compression costs. (conns, bytes, depth)
PMD_CONFIGS = [(c, s, 1) for c in (1, 10) for s in (100, 4096)]
NODE_ECHO = os.path.join(ROOT, "tests", "bench", "node_echo_server.js")
PMD_SERVERS = (("ws-pmd", [ECHO, "--deflate"], ["-z"]), ("node-pmd", ["node", NODE_ECHO], ["-z"]),
               ("ws-plain", [ECHO], []))


def run_e2e_pmd(quick):
    reps = 1 if quick else 3
    servers, results = {}, {}
    try:
        for name, cmd, _ in PMD_SERVERS:
            servers[name] = start_server(cmd)
        for rep in range(reps):
            order = PMD_SERVERS[rep % len(PMD_SERVERS):] + PMD_SERVERS[:rep % len(PMD_SERVERS)]
            for cfg in PMD_CONFIGS:
                for name, _, extra in order:
                    p, port = servers[name]
                    c, sz, d = cfg
                    r = loadgen(extra + ["-p", port, "-P", p.pid, "-c", c, "-s", sz, "-d", d, "-t", 1.0, "-w", 0.3])
                    results.setdefault((name, cfg), []).append(r)
            log("compression end-to-end round %d/%d done" % (rep + 1, reps))
    finally:
        for p, _ in servers.values():
            stop_server(p)
    return {k: dict(max(runs, key=lambda r: r["msgs_per_s"])) for k, runs in results.items()}


def paired_ratio(e2e, a, b, cfg, field="all"):
    """Median over the rounds of a's figure over b's in the same round (msg/s, or p99 with
    field="p99_all"): the servers of one round ran back to back, so the machine's state
    (which changes from minute to minute here) cancels out, unlike in a ratio of two best
    runs taken from different rounds."""
    xs, ys = e2e[(a, cfg)][field], e2e[(b, cfg)][field]
    return statistics.median(ratio(x, y) for x, y in zip(xs, ys))


def server_instructions(path, size, depth=1, extra=()):
    """User-space instructions per echoed message of a server, under callgrind: two runs
    of different length, the difference of the totals over the difference of the message
    counts (start-up, handshake and shutdown cancel out). Depth 1 and one connection make
    every read hold exactly one message, so both servers do the same work per message."""
    pts = []
    for secs in (1, 3):
        outfile = os.path.join(B, "cg.server.out")
        errfile = os.path.join(B, "cg.server.err")
        with open(errfile, "w") as err:
            vp = subprocess.Popen(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + outfile, path,
                                   "-p", "0"], stdout=subprocess.PIPE, stderr=err)
        try:
            ready, _, _ = select.select([vp.stdout], [], [], 60)
            m = re.search(r"127\.0\.0\.1:(\d+)", vp.stdout.readline().decode()) if ready else None
            if not m:
                raise RuntimeError("%s under callgrind did not start" % path)
            r = loadgen(list(extra) + ["-p", m.group(1), "-c", 1, "-s", size, "-d", depth, "-t", secs, "-w", 0])
        finally:
            vp.send_signal(signal.SIGTERM)
            try:
                vp.wait(timeout=60)
            except subprocess.TimeoutExpired:
                vp.kill()
                vp.wait()
        m = re.search(r"Collected : (\d+)", open(errfile).read())
        for f in (outfile, errfile):
            if os.path.exists(f):
                os.remove(f)
        if not m:
            raise RuntimeError("no callgrind total for %s" % path)
        pts.append((int(m.group(1)), r["total_msgs"]))
    (i1, m1), (i2, m2) = pts
    return (i2 - i1) / (m2 - m1) if m2 > m1 else float("nan")


def run_server_instructions():
    out = {}
    for size in (16, 4096):
        for name, path, extra in E2E_SERVERS:
            out[(name, size)] = server_instructions(path, size, extra=extra)
    return out


def run_idle_rss(n=1000):
    out = {}
    for name, path in (("ws", ECHO), ("wslay", WSLAY_ECHO)):
        p, port = start_server(path)
        try:
            out[name] = loadgen(["-p", port, "-P", p.pid, "-i", n], timeout=120)
        finally:
            stop_server(p)
    return out


# ---- 5. DEFLATE -----------------------------------------------------------------------

def run_deflate(quick):
    """bench_deflate: sizes and speeds of ws_deflate/ws_inflate and zlib on the same inputs."""
    out = subprocess.run([os.path.join(B, "bench_deflate"), "0.2" if quick else "0.6"], capture_output=True,
                         text=True, timeout=900)
    if out.returncode != 0:
        raise RuntimeError("bench_deflate failed: " + out.stderr)
    rows, mem = {}, {}
    for line in out.stdout.splitlines():
        f = line.split("|")
        if f[0] == "deflate":
            rows[(f[1], f[3])] = {"raw": int(f[2]), "size": int(f[4]), "c": float(f[5]), "d": float(f[6])}
        elif f[0] == "mem":
            mem[f[1]] = int(f[2])
    return rows, mem


def run_pmd_mem():
    """bench_pmd_mem: permessage-deflate's allocator high-water per connection vs zlib's."""
    out = subprocess.run([os.path.join(B, "bench_pmd_mem")], capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError("bench_pmd_mem failed: " + out.stderr)
    return {f[1]: int(f[2]) for f in (l.split("|") for l in out.stdout.splitlines()) if f[0] == "pmdmem"}


# ---- 4. sizes ------------------------------------------------------------------------

def zlib_version():
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "zlib1g"], capture_output=True, text=True)
        return out.stdout.strip() or "?"
    except OSError:
        return "?"


def text_size(path):
    if not os.path.exists(path):
        return None
    out = subprocess.run(["size", "-A", path], capture_output=True, text=True).stdout
    m = re.search(r"^\.text\s+(\d+)", out, re.M)
    return int(m.group(1)) if m else None


def echo_server_read_buf():
    """(bytes of read buffer per client, bytes of one read buffer shared by all)."""
    src = open(os.path.join(ROOT, "examples", "echo_server.c")).read()
    own = re.search(r"^\s+unsigned char buf\[(\d+)\]", src, re.M)
    shared = re.search(r"^static unsigned char read_buf\[(\d+)\]", src, re.M)
    return (int(own.group(1)) if own else 0, int(shared.group(1)) if shared else 0)


# ---- profile -------------------------------------------------------------------------

def run_profile(out):
    lines = []
    if shutil.which("perf"):
        lines += perf_profile()
    else:
        lines.append("== perf not installed (Debian linux-perf): the perf part is skipped")
    lines += callgrind_profiles()
    if shutil.which("strace"):
        lines += syscall_profile()
    else:
        lines.append("== strace not installed: system calls per message skipped")
    text = "\n".join(lines) + "\n"
    print(text)
    if out:
        open(out, "w").write(text)


def perf_profile():
    lines = []
    # perf (software clock: hardware counters are not always there) on the real echo
    # server under the pipelined 16-byte load
    p, port = start_server(ECHO)
    perf_data = os.path.join(B, "perf.data")
    try:
        perf = subprocess.Popen(["perf", "record", "-e", "cpu-clock", "-F", "4999", "-g", "-o",
                                 perf_data, "-p", str(p.pid)], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        r = loadgen(["-p", port, "-P", p.pid, "-c", 100, "-s", 16, "-d", 16, "-t", 3, "-w", 0.3])
        perf.send_signal(signal.SIGINT)
        perf.wait(timeout=30)
    finally:
        stop_server(p)
    lines.append("== perf record -e cpu-clock on build/echo_server, 100 conns x 16 B x 16 in flight")
    lines.append("   (%s msgs/s during the profile)" % fmt_rate(r["msgs_per_s"]))
    rep = subprocess.run(["perf", "report", "-i", perf_data, "--stdio", "--no-children",
                          "--sort", "dso,sym", "-g", "none", "--percent-limit", "0.7"],
                         capture_output=True, text=True).stdout
    lines += [l for l in rep.splitlines() if l.strip() and not l.startswith("#")][:45]
    rep = subprocess.run(["perf", "report", "-i", perf_data, "--stdio", "--no-children",
                          "--sort", "dso", "-g", "none"], capture_output=True, text=True).stdout
    lines.append("  by object:")
    lines += ["  " + l for l in rep.splitlines() if l.strip() and not l.startswith("#")][:6]
    if os.path.exists(perf_data):
        os.remove(perf_data)
    return lines


def strace_counts(path, extra, conns, depth, secs=2):
    """strace -c -f over a whole run of `path` under one load: ({syscall: calls}, messages)."""
    out = os.path.join(B, "strace.out")
    p = subprocess.Popen(["strace", "-c", "-f", "-o", out, path, "-p", "0"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    try:
        ready, _, _ = select.select([p.stdout], [], [], 30)
        m = re.search(r":(\d+)", p.stdout.readline().decode()) if ready else None
        if not m:
            raise RuntimeError("%s under strace did not start" % path)
        r = loadgen(list(extra) + ["-p", m.group(1), "-c", conns, "-s", 16, "-d", depth, "-t", secs, "-w", 0])
    finally:
        # SIGTERM to the server itself (strace's child), so strace writes its summary
        kids = subprocess.run(["pgrep", "-P", str(p.pid)], capture_output=True, text=True).stdout.split()
        for k in kids:
            os.kill(int(k), signal.SIGTERM)
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    calls = {}
    for l in open(out).read().splitlines():
        f = l.split()
        if len(f) >= 5 and f[3].isdigit() and f[-1] != "total":
            calls[f[-1]] = int(f[3])
    os.remove(out)
    return calls, r["total_msgs"]


def syscall_profile():
    """System calls per echoed 16-byte message (strace -c -f, whole run incl. start-up and
    handshakes, which are negligible), for the three servers of section 3."""
    lines = ["", "== system calls per echoed 16-byte message (strace -c -f over a 2 s run; strace slows the"
                 " server, so reads batch a little more than at full speed)"]
    for conns, depth in ((1, 1), (100, 16)):
        for name, path, extra in E2E_SERVERS:
            calls, n = strace_counts(path, extra, conns, depth)
            hot = sorted(((v / n, k) for k, v in calls.items() if v / n >= 0.001), reverse=True)
            lines.append("  %3d conns x depth %2d  %-18s %.3f per message: %s" % (
                conns, depth, os.path.basename(path), sum(calls.values()) / n,
                ", ".join("%s %.3f" % (k, v) for v, k in hot)))
    return lines


def callgrind_profiles():
    lines = []
    # callgrind on the decoder: where the instructions of one 16-byte frame go
    cg = os.path.join(B, "cg.profile.out")
    subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + cg,
                    os.path.join(B, "bench_ipf"), "ws_feed", "20000", "2"],
                   capture_output=True, timeout=300)
    ann = subprocess.run(["callgrind_annotate", "--auto=yes", "--show-percs=no", cg],
                         capture_output=True, text=True, cwd=ROOT).stdout
    lines.append("")
    lines.append("== callgrind: ws_conn_feed over 20000 masked 16-byte frames, twice (40000 frames)")
    lines.append("   lines of ws.h with >= 2 instructions per frame (count / 40000 = per frame)")
    for l in ann.splitlines():
        m = re.match(r"\s*([\d,]+)\s+(.*)", l)
        if m and int(m.group(1).replace(",", "")) >= 80000 and "bench_common" not in l \
                and "PROGRAM TOTALS" not in l and "events annotated" not in l:
            lines.append("%8.1f  %s" % (int(m.group(1).replace(",", "")) / 40000.0, m.group(2)[:110]))
    # callgrind on the echo server itself (user space only), per echoed message
    cg2 = os.path.join(B, "cg.echo.out")
    lines += callgrind_echo(cg2, 10, 16, True)
    lines += callgrind_echo(cg2, 1, 1, False)
    for f in (cg, cg2):
        if os.path.exists(f):
            os.remove(f)
    return lines


def callgrind_echo(cg2, conns, depth, auto):
    lines = []
    vp = subprocess.Popen(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + cg2, ECHO, "-p", "0"],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    ready, _, _ = select.select([vp.stdout], [], [], 30)
    m = re.search(r":(\d+)", vp.stdout.readline().decode()) if ready else None
    if not m:
        vp.kill()
        vp.wait()
        return ["callgrind on echo_server did not start"]
    try:
        r2 = loadgen(["-p", m.group(1), "-c", conns, "-s", 16, "-d", depth, "-t", 3, "-w", 0.5])
    finally:
        vp.send_signal(signal.SIGINT)
        try:
            vp.wait(timeout=60)
        except subprocess.TimeoutExpired:
            vp.kill()
            vp.wait()
    ann = subprocess.run(["callgrind_annotate", "--inclusive=no", "--auto=" + ("yes" if auto else "no"), cg2],
                         capture_output=True, text=True, cwd=ROOT).stdout
    total = r2["total_msgs"]
    lines.append("")
    lines.append("== callgrind on build/echo_server (user space), %d conns x 16 B x %d in flight, %d messages"
                 " echoed; self instructions per message%s" % (conns, depth, int(total),
                                                               ", then hot lines" if auto else ""))
    for l in ann.splitlines():
        m2 = re.match(r"\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(.*)", l) or re.match(r"\s*([\d,]+)\s+(\S.*)", l)
        if m2 and "PROGRAM TOTALS" not in l and "events annotated" not in l:
            n = int(m2.group(1).replace(",", ""))
            if n / total >= 3:
                lines.append("%8.1f  %s" % (n / total, m2.group(2)[:110]))
    return lines


# ---- the table -----------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out")
    ap.add_argument("--quick", action="store_true", help="fewer rounds (a smoke test)")
    ap.add_argument("--profile", action="store_true")
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4096 and hard > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
    if a.profile:
        run_profile(a.out)
        return 0

    t0 = time.time()
    load0 = loadavg()
    log("codec (in-process) ...")
    codec, info = run_codec(a.quick)
    log("instructions per frame (callgrind) ...")
    ipf = run_ipf()
    log("end to end over loopback ...")
    e2e = run_e2e(a.quick)
    log("server instructions per message (callgrind) ...")
    sipm = run_server_instructions()
    log("idle connections RSS ...")
    rss = run_idle_rss()
    log("DEFLATE against zlib ...")
    dfl, dmem = run_deflate(a.quick)
    log("permessage-deflate memory per connection ...")
    pmem = run_pmd_mem()
    log("permessage-deflate end to end (echo_server --deflate, Node ws) ...")
    try:
        pe2e = run_e2e_pmd(a.quick)
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
        pe2e = None
        log("permessage-deflate end to end skipped: %s" % e)

    T = []
    W = 118
    cpu = "?"
    try:
        cpu = re.search(r"model name\s*:\s*(.*)", open("/proc/cpuinfo").read()).group(1)
    except Exception:
        pass
    T.append("ws.h benchmarks   %s   %s, %d cores   (make bench)" % (
        datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), cpu, os.cpu_count()))
    T.append("Every baseline was measured in this run. Speed ratios are ws.h / baseline (>1: ws.h faster).")
    T.append("Load average (1 min) at start %s, at end %s: other work on this machine disturbs sections 1 and 3"
             " (section 2 counts instructions and is exact)." % (load0, loadavg()))
    T.append("=" * W)
    T.append("1. CODEC  in one process, inputs prepared in memory, best of %s rounds; masked client frames, binary"
             % ("2" if a.quick else "9"))
    T.append("%-46s %-22s %-22s %-7s %-22s %s" % ("case", "ws.h", "memcpy same bytes", "ws/mcp", "wslay", "ws/wslay"))
    T.append("-" * W)
    for case, label, wlabel in CODEC_ROWS:
        T.append("%s   [wslay: %s]" % (label, wlabel))
        for s in SIZES:
            w, m, y = (codec.get((case, s, k)) for k in ("ws", "memcpy", "wslay"))
            T.append("  %-44s %-22s %-22s %-7s %-22s %s" % (
                size_name(s), codec_cell(case, s, w), codec_cell(case, s, m), fr(ratio(m[0], w[0])),
                codec_cell(case, s, y), fr(ratio(y[0], w[0]))))
    for case, label in (("utf8_ascii", "UTF-8 check, ASCII"), ("utf8_mixed", "UTF-8 check, mixed 1-4 byte text")):
        key = [k for k in codec if k[0] == case]
        s = key[0][1]
        w, m = codec[(case, s, "ws")], codec[(case, s, "memcpy")]
        T.append("%-46s %-22s %-22s %-7s %-22s %s" % ("%s (%d KiB)" % (label, s >> 10), codec_cell(case, s, w),
                                                      codec_cell(case, s, m), fr(ratio(m[0], w[0])), "(no API)", ""))
    w, o = codec.get(("accept_key", 24, "ws")), codec.get(("accept_key", 24, "openssl"))
    T.append("%-46s %-22s %-22s %-7s %-22s %s" % (
        "Sec-WebSocket-Accept computations", codec_cell("accept_key", 24, w),
        ("OpenSSL " + codec_cell("accept_key", 24, o)) if o else "OpenSSL n/a",
        fr(ratio(o[0], w[0])) if o else "", "(no API)", ""))
    T.append("")
    T.append("2. INSTRUCTIONS per masked 16-byte frame decoded (callgrind, N=20000 and 2N frames, difference / N)")
    T.append("%-46s %-12s %-22s %-9s %-26s %s" % ("path", "ws.h", "memcpy 22 B frame", "mcp/ws", "wslay", "wslay/ws"))
    T.append("-" * W)
    for label, wk, yk, yl in (("ws_conn_feed, message mode", "ws_feed", "wslay_event", "wslay_event_recv"),
                              ("ws_conn_feed, streaming", "ws_stream", "wslay_event_nb", "wslay_event_recv no_buf"),
                              ("ws_frame_decode + ws_mask", "ws_codec", "wslay_frame", "wslay_frame_recv")):
        T.append("%-46s %-12.1f %-22.1f %-9s %-26s %s" % (label, ipf[wk], ipf["memcpy"], fr(ratio(ipf["memcpy"], ipf[wk])),
                                                        "%.1f (%s)" % (ipf[yk], yl), fr(ratio(ipf[yk], ipf[wk]))))
    T.append("   (encoding, for comparison: a 16-byte server frame by ws_send + ws_conn_output + copy out + ws_conn_consume %.1f,"
             % ipf["ws_send"])
    T.append("    by wslay_frame_send + copy out in its send callback %.1f; wslay/ws %s)"
             % (ipf["wslay_send"], fr(ratio(ipf["wslay_send"], ipf["ws_send"]))))
    T.append("")
    T.append("3. END TO END over loopback: build/echo_server vs tests/bench/wslay_echo_server (same loop, same I/O), and the")
    T.append("   ceiling tests/bench/tcp_echo_server (the same loop and I/O, no WebSocket: bytes echoed as they came, loadgen -r);")
    T.append("   one loadgen (pre-encoded masked frames), closed loop, %s each, best of %d runs (all figures from that run);"
             % ("1.0 s", 1 if a.quick else 5))
    T.append("   server CPU from /proc/PID/stat: cpu% = utime+stime in % of one core; ns/m = server CPU per echoed message (less sensitive to"
             " a busy machine than msg/s)")
    hdr = ("%-5s %-5s %-3s| %-7s %-6s %-6s %-6s %-4s %-6s| %-7s %-6s %-6s %-6s %-4s %-6s| %-7s %-6s %-6s %-4s %-6s"
           "| %-6s %-6s %-7s| %-7s %s")
    T.append(hdr % ("conns", "bytes", "dep", "ws m/s", "MB/s", "p50us", "p99us", "cpu%", "ns/m",
                    "wsl m/s", "MB/s", "p50us", "p99us", "cpu%", "ns/m",
                    "tcp m/s", "p50us", "p99us", "cpu%", "ns/m", "msg/s", "p99", "CPU/msg", "ws/ceil", "ceil/wsl"))
    T.append("%-15s| %-43s| %-43s| %-36s| %-22s| %s" % (
        "", "build/echo_server (ws.h)", "wslay_echo_server", "tcp ceiling (tcp_echo_server)",
        "ws.h vs wslay (>1 better)", "msg/s ratios"))
    W3 = 171
    T.append("-" * W3)
    unreachable = []
    for cfg in E2E_CONFIGS:
        w, y, t = e2e[("ws", cfg)], e2e[("wslay", cfg)], e2e[("tcp", cfg)]
        cw = paired_ratio(e2e, "tcp", "wslay", cfg)
        if cw < 1.5:
            unreachable.append(cfg)
        T.append(hdr % (cfg[0], cfg[1], cfg[2],
                        fmt_rate(w["msgs_per_s"]), "%.1f" % w["mb_per_s"], "%.0f" % w["p50_us"], "%.0f" % w["p99_us"],
                        "%.0f" % w["cpu_pct"], "%.0f" % w["cpu_ns_per_msg"],
                        fmt_rate(y["msgs_per_s"]), "%.1f" % y["mb_per_s"], "%.0f" % y["p50_us"], "%.0f" % y["p99_us"],
                        "%.0f" % y["cpu_pct"], "%.0f" % y["cpu_ns_per_msg"],
                        fmt_rate(t["msgs_per_s"]), "%.0f" % t["p50_us"], "%.0f" % t["p99_us"],
                        "%.0f" % t["cpu_pct"], "%.0f" % t["cpu_ns_per_msg"],
                        fr(ratio(w["msgs_per_s"], y["msgs_per_s"])), fr(ratio(y["p99_us"], w["p99_us"])),
                        fr(ratio(y["cpu_ns_per_msg"], w["cpu_ns_per_msg"])),
                        "%.0f%%" % (100 * paired_ratio(e2e, "ws", "tcp", cfg)),
                        fr(cw) + (" !" if cw < 1.5 else "")))
    T.append("   ws/ceil: ws.h's msg/s as a fraction of the ceiling's. ceil/wsl: the ceiling over wslay, the most ANY echo server with")
    T.append("   this loop and I/O could be ahead of wslay in that row (its WebSocket work taken to zero). Both are medians of the")
    T.append("   ratios within each round (servers run back to back), not ratios of the best runs: the best runs of two servers may")
    T.append("   come from different rounds, and this VM's speed changes between rounds (the left-hand ratios can be off by 1.4x).")
    if unreachable:
        T.append("   ! %d of %d rows (%s): even the raw TCP echo is under 1.5x wslay, so >= 1.5x wslay is physically impossible there:"
                 % (len(unreachable), len(E2E_CONFIGS), ", ".join("%d/%d/%d" % c for c in unreachable)))
        T.append("     these rows are bound by the kernel (loopback round trip, wake-ups, one recv+send per read), not by WebSocket work.")
    T.append("   (msg/s of every run, ws | wslay | tcp: " + "; ".join(
        "%d/%d/%d: %s | %s | %s" % (cfg + tuple("/".join(fmt_rate(x) for x in e2e[(n, cfg)]["all"])
                                                for n in ("ws", "wslay", "tcp")))
        for cfg in E2E_CONFIGS if cfg[1] == 16 and cfg[2] == 16) + ")")
    T.append("   Server user-space instructions per echoed message (callgrind; 1 conn, depth 1, so one message per read;"
             " exact, unlike the rows above):")
    for size in (16, 4096):
        w, y, t = sipm[("ws", size)], sipm[("wslay", size)], sipm[("tcp", size)]
        T.append("     %4d B: build/echo_server %.0f, wslay_echo_server %.0f   wslay/ws %s;   tcp_echo_server (loop only) %.0f"
                 % (size, w, y, fr(ratio(y, w)), t))
    T.append("")
    T.append("4. FOOTPRINT")
    T.append("-" * W)
    conn_sz = info.get("sizeof_ws_conn")
    rbuf = echo_server_read_buf()
    T.append("%-52s %-24s %s" % ("sizeof(ws_conn) / sizeof(ws_stream)", "%d B / %d B" % (conn_sz, info.get("sizeof_ws_stream")),
                                 "target <= 256 B conn state: %s" % fr(ratio(256, conn_sz))))
    own_buf, shared_buf = rbuf
    T.append("%-52s %s" % ("echo_server buffers per connection (default setup)",
                           "client struct ~%d B: read buffer %d B + ws_conn + ws_stream + peer name%s; output queue"
                           % (own_buf + conn_sz + info.get("sizeof_ws_stream") + 72, own_buf,
                              " (one %d B read buffer shared by all)" % shared_buf if shared_buf else "")))
    T.append("%-52s %s" % ("", "and message buffer allocated on demand (none while idle), handshake buffer freed after OPEN"))
    rw, ry = rss["ws"], rss["wslay"]
    T.append("%-52s %-24s %s" % ("RSS growth per idle connection (1000, VmRSS)",
                                 "ws.h %.0f B" % rw["bytes_per_conn"],
                                 "wslay_echo_server %.0f B (wslay/ws %s); target <= 512 B: %s" % (
                                     ry["bytes_per_conn"], fr(ratio(ry["bytes_per_conn"], rw["bytes_per_conn"])),
                                     fr(ratio(512, rw["bytes_per_conn"])))))
    o2, os_, th = (text_size(os.path.join(B, f)) for f in ("impl_O2.o", "impl_Os.o", "impl_thumb.o"))
    wslay_text = text_size("/usr/lib/x86_64-linux-gnu/libwslay.so.1")
    T.append("%-52s %-24s %s" % (".text, implementation alone, x86-64 -O2 (*)", "%d B" % o2,
                                 "libwslay.so.1 .text %s B (Debian -O2; wslay/ws %s)" % (wslay_text, fr(ratio(wslay_text or 0, o2)))))
    T.append("%-52s %-24s %s" % (".text, x86-64 -Os (*)", "%d B" % os_, "target <= 16384 B: %s" % fr(ratio(16384, os_))))
    T.append("%-52s %-24s %s" % (".text, Cortex-M4 Thumb -Os freestanding WS_NO_STDLIB (*)",
                                 ("%d B" % th) if th else "not built",
                                 ("target <= 8192 B: %s" % fr(ratio(8192, th))) if th else "(no arm-none-eabi-gcc)"))
    if th:
        ts, tc, tn = (text_size(os.path.join(B, f)) for f in ("impl_thumb_server.o", "impl_thumb_client.o",
                                                              "impl_thumb_nohs.o"))
        T.append("%-52s %-24s %s" % ("  Thumb, one role / no handshake", "server %s B, client %s B" % (ts, tc),
                                     "WS_NO_HANDSHAKE %s B (target 8192: %s / %s / %s)" % (
                                         tn, fr(ratio(8192, ts)), fr(ratio(8192, tc)), fr(ratio(8192, tn)))))
        tu, tcu = (text_size(os.path.join(B, f)) for f in ("impl_thumb_nourl.o", "impl_thumb_client_nourl.o"))
        T.append("%-52s %-24s %s" % ("  Thumb, without URL parsing (WS_NO_URL)", "both roles %s B" % tu,
                                     "client alone %s B (target 8192: %s / %s)" % (
                                         tcu, fr(ratio(8192, tu)), fr(ratio(8192, tcu)))))
    od, thd = (text_size(os.path.join(B, f)) for f in ("impl_Os_deflate.o", "impl_thumb_deflate.o"))
    T.append("%-52s %-24s %s" % (".text with DEFLATE ((*) rows: WS_NO_DEFLATE)", "x86-64 -Os %d B" % od,
                                 "DEFLATE adds %d B; Thumb %s" % (od - os_, ("%d B, adds %d B" % (thd, thd - th))
                                                                 if thd and th else "not built")))
    T.append("")
    T.append("5. DEFLATE (RFC 1951 for RFC 7692): ws_deflate / ws_inflate vs zlib %s in the same run, window 15, one call per"
             % zlib_version())
    T.append("   input, sync flush at the end; MB/s of uncompressed bytes, best of timed batches. Inputs: licenses ="
             " /usr/share/common-licenses/*,")
    T.append("   bash = first 1 MB of /usr/bin/bash, text/json/binary/random = 1 MiB generated by tests/deflate_corpus.h")
    hdr5 = "%-9s %8s | %-26s %-26s %-9s %-8s| %-26s %-26s %-9s %s"
    T.append(hdr5 % ("input", "bytes", "ws default: size, MB/s", "zlib -6: size, MB/s", "size ws/z", "speed", "ws fast: size, MB/s",
                     "zlib -1: size, MB/s", "size ws/z", "speed"))
    T.append("-" * W)
    inputs = [k for k in ("licenses", "bash", "text", "json", "binary", "random") if (k, "ws-default") in dfl]
    for k in inputs:
        wd, z6, wf, z1 = (dfl[(k, c)] for c in ("ws-default", "zlib-6", "ws-fast", "zlib-1"))
        T.append(hdr5 % (k, wd["raw"], "%8d %6.1f" % (wd["size"], wd["c"]), "%8d %6.1f" % (z6["size"], z6["c"]),
                         "%+.1f%%" % (100 * (wd["size"] / z6["size"] - 1)), fr(ratio(wd["c"], z6["c"])),
                         "%8d %6.1f" % (wf["size"], wf["c"]), "%8d %6.1f" % (z1["size"], z1["c"]),
                         "%+.1f%%" % (100 * (wf["size"] / z1["size"] - 1)), fr(ratio(wf["c"], z1["c"]))))
    T.append("   inflate MB/s of the same zlib -6 stream: ws_inflate vs zlib inflate (and of each one's own default output)")
    for k in inputs:
        z6, wz = dfl[(k, "zlib-6")], dfl[(k, "ws-inflate-zlib6")]
        T.append("   %-9s ws_inflate %7.1f  zlib %7.1f  %s    (ws_inflate of ws default output %7.1f)" % (
            k, wz["d"], z6["d"], fr(ratio(wz["d"], z6["d"])), dfl[(k, "ws-default")]["d"]))
    mi, md = dmem.get("ws_inflate_15", 0), dmem.get("ws_deflate_15", 0)
    zi, zd = dmem.get("zlib_inflate_15", 0), dmem.get("zlib_deflate_15_8", 0)
    T.append("   memory, 15-bit windows: ws_inflate %d B + ws_deflate %d B = %d B; zlib inflate ~%d B + deflate (memLevel 8) ~%d B"
             " = ~%d B (zlib's own formula)" % (mi, md, mi + md, zi, zd, zi + zd))
    if pe2e:
        T.append("   permessage-deflate end to end over loopback (loadgen -z: text of JSON records, pre-compressed, RSV1;"
                 " best of rounds, 1 s each):")
        T.append("   %-16s %-41s %-41s %-10s %s" % ("conns/bytes/dep", "echo_server --deflate: msg/s p99 ns/m",
                                                   "Node ws perMessageDeflate: msg/s p99 ns/m", "ws/node", "ws plain msg/s, deflate/plain"))
        for cfg in PMD_CONFIGS:
            w, n, pl = pe2e[("ws-pmd", cfg)], pe2e[("node-pmd", cfg)], pe2e[("ws-plain", cfg)]
            cell = lambda r: "%9s %8.0fus %7.0f" % (fmt_rate(r["msgs_per_s"]), r["p99_us"], r["cpu_ns_per_msg"])
            T.append("   %-16s %-41s %-41s %-10s %s" % ("%d/%d/%d" % cfg, cell(w), cell(n),
                                                       fr(ratio(w["msgs_per_s"], n["msgs_per_s"])),
                                                       "%9s  %s" % (fmt_rate(pl["msgs_per_s"]),
                                                                    fr(ratio(w["msgs_per_s"], pl["msgs_per_s"])))))
    else:
        T.append("   permessage-deflate end to end: not measured (see the log)")
    # measured: a ws_conn pair in memory, 24 messages (JSON, 4 KiB text) echoed, then a tick
    pm = {r: pmem["pmd15_%s_held" % r] - pmem["plain_%s_held" % r] for r in ("server", "client")}
    T.append("   permessage-deflate per connection, 15-bit windows both ways with context takeover, after 24 echoed"
             " messages (allocator, measured):")
    T.append("     ws.h held between messages: server %d B, client %d B (peak %d / %d B; without the extension"
             " held %d B, peak %d B)" % (pmem["pmd15_server_held"], pmem["pmd15_client_held"], pmem["pmd15_server_peak"],
                                         pmem["pmd15_client_peak"], pmem["plain_server_held"], pmem["plain_server_peak"]))
    T.append("     zlib deflateInit2(6, -15, memLevel 8) + inflateInit2(-15) on the same messages: %d B  ->  ws.h/zlib %s"
             % (pmem["zlib_held"], fr(ratio(pm["server"], pmem["zlib_held"]))))
    T.append("     no context takeover both ways, idle after a ws_conn_tick: server %d B, client %d B held beyond a plain"
             " connection (no codec state; the agreed parameters)" % (
                 pmem["pmd_nct_server_held"] - pmem["plain_server_held"],
                 pmem["pmd_nct_client_held"] - pmem["plain_client_held"]))
    T.append("")
    T.append("6. TARGETS (ratio = figure / target, >= 1 means met; for limits target / figure)")
    T.append("-" * W)

    def target(label, ok, r, detail):
        T.append("%-9s %-62s %-8s %s" % ("met" if ok else "NOT MET", label, fr(r), detail))

    r1 = ratio(codec[("decode_msg", 1 << 20, "memcpy")][0], codec[("decode_msg", 1 << 20, "ws")][0])
    target("decode+unmask 1 MiB frames >= 0.8x memcpy", r1 >= 0.8, r1 / 0.8, "ws/memcpy %s" % fr(r1))
    r2 = ratio(codec[("decode_msg", 16, "wslay")][0], codec[("decode_msg", 16, "ws")][0])
    target("16-byte frames decoded >= 3x wslay (ws_conn_feed vs wslay_event_recv)", r2 >= 3, r2 / 3,
           "ws/wslay %s" % fr(r2))
    r2b = ratio(codec[("decode_codec", 16, "wslay")][0], codec[("decode_codec", 16, "ws")][0])
    target("  same, pure codec (ws_frame_decode+ws_mask vs wslay_frame_recv)", r2b >= 3, r2b / 3,
           "ws/wslay %s" % fr(r2b))
    target("<= 40 instructions per 16-byte frame (ws_conn_feed)", ipf["ws_feed"] <= 40, 40 / ipf["ws_feed"],
           "%.1f instructions" % ipf["ws_feed"])
    target("  same, pure codec (ws_frame_decode+ws_mask)", ipf["ws_codec"] <= 40, 40 / ipf["ws_codec"],
           "%.1f instructions" % ipf["ws_codec"])
    r3 = ratio(codec[("utf8_ascii", 256 << 10, "memcpy")][0], codec[("utf8_ascii", 256 << 10, "ws")][0])
    target("UTF-8 validation of ASCII >= 0.5x memcpy", r3 >= 0.5, r3 / 0.5, "ws/memcpy %s" % fr(r3))
    best = e2e[("ws", (100, 16, 16))]["msgs_per_s"]
    target("echo >= 2M 16-byte msgs/s, 100 conns pipelining", best >= 2e6, best / 2e6, "%s msgs/s" % fmt_rate(best))
    worst = min(E2E_CONFIGS, key=lambda c: ratio(e2e[("ws", c)]["msgs_per_s"], e2e[("wslay", c)]["msgs_per_s"]))
    wr = ratio(e2e[("ws", worst)]["msgs_per_s"], e2e[("wslay", worst)]["msgs_per_s"])
    nmet = sum(1 for c in E2E_CONFIGS if ratio(e2e[("ws", c)]["msgs_per_s"], e2e[("wslay", c)]["msgs_per_s"]) >= 1.5)
    nimp = sum(1 for c in E2E_CONFIGS if paired_ratio(e2e, "tcp", "wslay", c) < 1.5)
    target("echo >= 1.5x wslay in every configuration", wr >= 1.5, wr / 1.5,
           "%d/%d configs; worst %d/%d/%d at %s; %d configs where even the TCP ceiling is < 1.5x wslay"
           % (nmet, len(E2E_CONFIGS), worst[0], worst[1], worst[2], fr(wr), nimp))
    pw = min(E2E_CONFIGS, key=lambda c: ratio(e2e[("wslay", c)]["p99_us"], e2e[("ws", c)]["p99_us"]))
    pr = ratio(e2e[("wslay", pw)]["p99_us"], e2e[("ws", pw)]["p99_us"])
    pmet = sum(1 for c in E2E_CONFIGS if e2e[("ws", c)]["p99_us"] <= e2e[("wslay", c)]["p99_us"])
    target("echo p99 latency no worse than wslay's (every configuration)", pr >= 1, pr,
           "%d/%d configs; worst %d/%d/%d: %.0f vs %.0f us" % (pmet, len(E2E_CONFIGS), pw[0], pw[1], pw[2],
                                                             e2e[("ws", pw)]["p99_us"], e2e[("wslay", pw)]["p99_us"]))
    # The best runs of two servers may come from different rounds (see paired_ratio):
    # the same comparison round by round, for what the machine's drift does to it.
    # (wslay's p99 over ws.h's: >= 1 means ws.h's tail is no worse)
    p99r = {c: paired_ratio(e2e, "wslay", "ws", c, "p99_all") for c in E2E_CONFIGS}
    ppw = min(E2E_CONFIGS, key=lambda c: p99r[c])
    ppr = p99r[ppw]
    ppmet = sum(1 for c in E2E_CONFIGS if p99r[c] >= 1)
    target("  same, median of the per-round ratios", ppr >= 1, ppr,
           "%d/%d configs; worst %d/%d/%d: wslay/ws p99 %s" % (ppmet, len(E2E_CONFIGS), ppw[0], ppw[1], ppw[2],
                                                              fr(ppr)))
    target("<= 256 bytes of connection state (sizeof(ws_conn))", conn_sz <= 256, 256 / conn_sz, "%d B" % conn_sz)
    target("RSS growth <= 0.5 KB per idle connection (echo_server)", rw["bytes_per_conn"] <= 512,
           512 / rw["bytes_per_conn"], "%.0f B" % rw["bytes_per_conn"])
    target("<= 16 KB x86-64 .text at -Os", os_ <= 16384, 16384 / os_, "%d B" % os_)
    if th:
        # "client + server core": both roles' frames, UTF-8, masking and close/ping/pong
        # (layers 1-3, 5, 6), i.e. WS_NO_HANDSHAKE; the whole library is shown beside it.
        target("<= 8 KB Thumb, client + server core (WS_NO_HANDSHAKE)", tn <= 8192, 8192 / tn, "%d B" % tn)
        target("  same, whole library with the HTTP handshake", th <= 8192, 8192 / th, "%d B" % th)
        target("  same, whole library without URL parsing (WS_NO_URL)", tu <= 8192, 8192 / tu, "%d B" % tu)
    else:
        T.append("%-9s %s" % ("n/a", "<= 8 KB Cortex-M4 Thumb .text: arm-none-eabi-gcc not installed"))
    # DEFLATE (issue 11): text and JSON for size, every input for speed
    tj = [k for k in ("licenses", "text", "json") if k in inputs]
    worst = max(tj, key=lambda k: dfl[(k, "ws-default")]["size"] / dfl[(k, "zlib-6")]["size"])
    wr = dfl[(worst, "ws-default")]["size"] / dfl[(worst, "zlib-6")]["size"]
    target("DEFLATE default: size within 5% of zlib -6 on text/JSON", wr <= 1.05, 1.05 / wr,
           "worst %s %+.1f%%" % (worst, 100 * (wr - 1)))
    sp = {k: ratio(dfl[(k, "ws-default")]["c"], dfl[(k, "zlib-6")]["c"]) for k in inputs}
    ws_ = min(sp, key=sp.get)
    target("DEFLATE default: >= 2x zlib -6's speed (every input)", sp[ws_] >= 2, sp[ws_] / 2,
           "worst %s %s; %s" % (ws_, fr(sp[ws_]), ", ".join("%s %s" % (k, fr(v)) for k, v in sp.items())))
    fs = {k: ratio(dfl[(k, "ws-fast")]["c"], dfl[(k, "zlib-1")]["c"]) for k in inputs}
    fz = {k: dfl[(k, "zlib-1")]["size"] / dfl[(k, "ws-fast")]["size"] for k in inputs}
    wf_ = min(fs, key=fs.get)
    target("DEFLATE fast: >= zlib -1's speed (every input)", fs[wf_] >= 1, fs[wf_],
           "worst %s %s; %s" % (wf_, fr(fs[wf_]), ", ".join("%s %s" % (k, fr(v)) for k, v in fs.items())))
    wz_ = min(fz, key=fz.get)
    target("DEFLATE fast: output no larger than zlib -1's", fz[wz_] >= 1, fz[wz_],
           "worst %s zlib/ws size %s" % (wz_, fr(fz[wz_])))
    ir = {k: ratio(dfl[(k, "ws-inflate-zlib6")]["d"], dfl[(k, "zlib-6")]["d"]) for k in inputs if k != "random"}
    wi_ = min(ir, key=ir.get)
    target("DEFLATE inflate >= zlib inflate's speed (same streams)", ir[wi_] >= 1, ir[wi_],
           "worst %s %s; %s" % (wi_, fr(ir[wi_]), ", ".join("%s %s" % (k, fr(v)) for k, v in ir.items())))
    half = (zi + zd) / 2
    target("DEFLATE memory, 15/15 windows, <= half of zlib's", mi + md <= half, half / (mi + md) if mi + md else 0,
           "%d B vs %d B" % (mi + md, half))
    T.append("=" * W)
    T.append("whole run: %.0f s" % (time.time() - t0))
    text = "\n".join(T) + "\n"
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
