"""The interop test plan for the Python peer: the same plan as plan.js (see there and
tests/interop/README.md): our side echoes; the peer sends, checks, pings, closes."""
import sys

SIZES = [0, 125, 126, 65535, 65536, 1 << 20]
UTF8 = "h\u00e9llo w\u00f6rld \u2713 \U0001F600 \u65e5\u672c\u8a9e \u0416"
FRAGMENTS = ["frag1 " + "\u2713" * 3001, "frag2 " + "\U0001F600" * 3000, "frag3 end"]
# fragment:split-utf8 cuts the joined FRAGMENTS' bytes here, inside two 4-byte code points.
SPLIT_CUTS = [9017, 16385]
PING = b"interop ping \x00\x01\xfe\xff"
CLOSE_BY_CLIENT = (4001, "client bye \u2713")
CLOSE_BY_SERVER = (4002, "server bye \u2713")
CLOSE_BY_OURS = (1001, "server shutting down")  # echo_server on SIGTERM: close:ours-first
STEP_TIMEOUT = 20.0


BURST_SIZES = [1, 200, 70000, 0, 1 << 20]


def burst():
    """Burst message i: size BURST_SIZES[i % 5]; text when i is even ('a' + (k + i) mod 26
    at byte k), binary when odd (byte k = (31 k + 7 + i) mod 256)."""
    abc = "abcdefghijklmnopqrstuvwxyz"
    for i in range(20):
        n = BURST_SIZES[i % 5]
        if i % 2 == 0:
            yield ((abc[i:] + abc[:i]) * (n // 26 + 1))[:n]
        else:
            yield bytes((k * 31 + 7 + i) & 255 for k in range(n))


def text_of(n):
    abc = "abcdefghijklmnopqrstuvwxyz"
    return (abc * (n // 26 + 1))[:n]


def binary_of(n):
    return bytes((i * 31 + 7) & 255 for i in range(n))


def messages():
    for n in SIZES:
        yield "text:%d" % n, text_of(n)
    for n in SIZES:
        yield "binary:%d" % n, binary_of(n)
    yield "utf8:short", UTF8
    yield "utf8:long", UTF8 * 2000


def describe(data):
    if isinstance(data, (bytes, bytearray)):
        return "binary %d bytes" % len(data)
    if isinstance(data, str):
        return "text %d bytes" % len(data.encode())
    return repr(data)


def report(check, ok, detail=""):
    detail = " ".join(str(detail).split())[:200]
    sys.stdout.write("RESULT\t%s\t%s\t%s\n" % (check, "ok" if ok else "FAIL", detail))
    sys.stdout.flush()
