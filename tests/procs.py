"""The processes a test runner starts (tests/interop/run.py, tests/tls/run.py): each
leads its own process group, so stopping it stops what it started too; its stderr goes
to a log file; `children` holds every one still running, for kill_all before exit."""
import os
import select
import signal
import subprocess
import time

children = []


def start(cmd, log_path, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, env=None):
    """cmd running with stderr in log_path (p.log_path) and env added to ours."""
    log = open(log_path, "wb")
    p = subprocess.Popen(cmd, stdin=stdin, stdout=stdout, stderr=log,
                         start_new_session=True, env=dict(os.environ, **env) if env else None)
    p.log_path = log.name
    log.close()
    children.append(p)
    return p


def forget(p):
    if p in children:
        children.remove(p)


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
    forget(p)
    return p.returncode


def kill_all():
    for p in list(children):
        stop(p, signal.SIGKILL, 1.0)


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
    forget(p)
    return out.decode("utf-8", "replace")


def log_text(p):
    with open(p.log_path, "rb") as f:
        return f.read().decode("utf-8", "replace")
