#!/usr/bin/python3
"""The conformance cases: ONE table, read by both runners.

    run.py                 imports this module and plays each case over TCP as a raw
                           hostile client (against build/echo_server) and as a raw hostile
                           server (against build/echo_client);
    cases.py --c > F.h     writes the same table as C for test_conformance.c, which plays
                           each case in-process through the sans-I/O ws_conn API, in both
                           roles.

A case is: frames the peer sends (built by hand: any opcode, RSV bits, length form, mask
bit, declared length), the exact replies expected (an echo of the message with the same
type, a pong with the same payload, a close with a given code or an empty close), and for
handshake cases the exact HTTP status (server) or handshake error (client). Every case
that does not fail the connection ends with the peer's close 1000, which must be echoed,
so "nothing else was sent" is checked too. Grouped like RFC 6455; each name says its
section and its expected outcome.

Expected behaviour of the application under test (echo_server / echo_client and the
in-process harness that mimics them): echo every message once, whole, same opcode;
answer pings; a server echoes the peer's close code (and reason); a client's library
answers a close with the code alone. After a failure the implementation sends one close
frame with the failure code and closes the transport.
"""
import struct
import sys
import zlib

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA

# Targets: where a case is played.
NET_SERVER, NET_CLIENT, IN_SERVER, IN_CLIENT = 1, 2, 4, 8
TARGET_NAMES = {NET_SERVER: "echo_server", NET_CLIENT: "echo_client",
                IN_SERVER: "ws_conn server", IN_CLIENT: "ws_conn client"}
ALL = NET_SERVER | NET_CLIENT | IN_SERVER | IN_CLIENT
SERVERS = NET_SERVER | IN_SERVER
CLIENTS = NET_CLIENT | IN_CLIENT
INPROC = IN_SERVER | IN_CLIENT
NET = NET_SERVER | NET_CLIENT

EXAMPLE_MAX_MESSAGE = 64 << 20   # echo_server / echo_client (and the in-process default)

GROUPS = ["framing", "ping/pong", "reserved bits", "reserved opcodes", "fragmentation",
          "utf-8", "close", "limits", "handshake", "permessage-deflate"]


# ---- payloads -----------------------------------------------------------------------
class P:
    """A payload: literal bytes repeated `total // len(lit)` times (kind 0), or a
    generated pattern (kind 1: printable ASCII, valid text; kind 2: every byte value).
    The C side regenerates the patterns with the same formulas."""

    def __init__(self, kind, lit, total):
        self.kind, self.lit, self.total = kind, lit, total

    @staticmethod
    def lit_(b):
        return P(0, bytes(b), len(b))

    @staticmethod
    def rep(b, k):
        return P(0, bytes(b), len(b) * k)

    @staticmethod
    def text(n):
        return P(1, b"", n)

    @staticmethod
    def binary(n):
        return P(2, b"", n)

    def bytes(self):
        if self.kind == 0:
            return self.lit * (self.total // len(self.lit)) if self.lit else b""
        if self.kind == 1:
            # byte i = 32 + (i * 7 + i / 251) % 95
            unit = bytes(32 + (i * 7 + i // 251) % 95 for i in range(251 * 95))
            n = self.total
            return (unit * (n // len(unit) + 1))[:n]
        # kind 2: byte i = (i * 131 + 17 + i / 256) & 255
        unit = bytes((i * 131 + 17 + i // 256) & 255 for i in range(256 * 256))
        n = self.total
        return (unit * (n // len(unit) + 1))[:n]


def as_p(x):
    if isinstance(x, P):
        return x
    if isinstance(x, str):
        return P.lit_(x.encode("utf-8"))
    return P.lit_(bytes(x))


# ---- frames and expectations -------------------------------------------------------
class Frame:
    """One frame as the peer sends it. mask: "role" (masked toward a server, unmasked
    toward a client, as §5.1 requires) or "wrong" (the opposite). lenform: 0 minimal,
    64 forces the 64-bit length. declared: the length field says this instead of the
    payload's real length (the payload is still what follows). repeat: sent this many
    times in a row."""

    def __init__(self, op, payload=b"", fin=1, rsv=0, mask="role", lenform=0, declared=None,
                 repeat=1):
        self.op, self.payload, self.fin, self.rsv = op, as_p(payload), fin, rsv
        self.mask, self.lenform, self.declared, self.repeat = mask, lenform, declared, repeat


def close_payload(code=None, reason=b""):
    if code is None:
        return b""
    return bytes([code >> 8 & 255, code & 255]) + (reason.encode() if isinstance(reason, str) else reason)


def CLOSE(code=None, reason=b"", **kw):
    return Frame(OP_CLOSE, close_payload(code, reason), **kw)


class Expect:
    """One reply expected from the implementation: kind "msg" (opcode, payload: one
    frame, fin set), "pong" (payload), "close" (code, None for an empty close; fail=True
    when the implementation fails the connection with that code), "delivered" (in-process
    only: the application received this message, whole or streamed)."""

    def __init__(self, kind, op=0, payload=b"", code=None, fail=False, compressed=False):
        self.kind, self.op, self.payload, self.code, self.fail = kind, op, as_p(payload), code, fail
        self.compressed = compressed   # "msg": must come compressed (RSV1, RFC 7692 §6)


def MSG(op, payload, compressed=False):
    return Expect("msg", op=op, payload=payload, compressed=compressed)


def PONG(payload):
    return Expect("pong", op=OP_PONG, payload=payload)


def FAIL(code):
    return Expect("close", op=OP_CLOSE, code=code, fail=True)


def ECHO_CLOSE(code):
    return Expect("close", op=OP_CLOSE, code=code, fail=False)


def DELIVERED(op, payload):
    return Expect("delivered", op=op, payload=payload)


class Case:
    def __init__(self, group, section, name, frames=(), expect=(), targets=ALL,
                 delivery="frames", request=None, response=None, status=101, head_has=(),
                 head_lacks=(), hs_error=None, hs_text=None, protocols=None, special=None,
                 max_message=0, streaming=0, recv_buf=0, send_buf=0, echo=1, pmd=None):
        assert group in GROUPS, group
        self.group, self.section, self.name = group, section, name
        self.title = "%s %s" % (section, name)
        self.frames, self.expect = list(frames), list(expect)
        self.targets, self.delivery = targets, delivery
        self.request, self.response = request, response   # raw head templates
        self.status, self.head_has, self.head_lacks = status, list(head_has), list(head_lacks)
        self.hs_error, self.hs_text, self.protocols = hs_error, hs_text, protocols
        self.special = special
        self.max_message, self.streaming = max_message, streaming
        self.recv_buf, self.send_buf, self.echo = recv_buf, send_buf, echo
        # permessage-deflate configured in the implementation (a "permessage-deflate;
        # ..." element: a server's limits, a client's offer); None: off
        self.pmd = pmd
        if self.handshake_ok() and not special and (not self.expect or self.expect[-1].kind != "close"):
            # the peer closes normally; the close must be echoed and nothing else sent
            self.frames.append(CLOSE(1000))
            self.expect.append(ECHO_CLOSE(1000))

    def handshake_ok(self):
        return self.status == 101 and self.hs_error is None

    def fails(self):
        return bool(self.expect) and self.expect[-1].kind == "close" and self.expect[-1].fail


CASES = []


def add(*a, **kw):
    c = Case(*a, **kw)
    CASES.append(c)
    return c


# ---- §5.2 framing -------------------------------------------------------------------
def framing():
    g = "framing"
    for n in [0, 1, 125, 126, 127, 65535, 65536, 1 << 20]:
        form = "7-bit" if n < 126 else "16-bit" if n <= 65535 else "64-bit"
        add(g, "§5.2", "text %d bytes (%s length) -> echo" % (n, form),
            [Frame(OP_TEXT, P.text(n))], [MSG(OP_TEXT, P.text(n))])
        add(g, "§5.2", "binary %d bytes (%s length) -> echo" % (n, form),
            [Frame(OP_BINARY, P.binary(n))], [MSG(OP_BINARY, P.binary(n))])
    add(g, "§5.2", "text 16 MiB -> echo", [Frame(OP_TEXT, P.text(16 << 20))],
        [MSG(OP_TEXT, P.text(16 << 20))])
    add(g, "§5.2", "64-bit length form for 200 bytes (non-minimal, receiver accepts) -> echo",
        [Frame(OP_BINARY, P.binary(200), lenform=64)], [MSG(OP_BINARY, P.binary(200))])
    add(g, "§5.2", "64-bit length with the top bit set -> 1002",
        [Frame(OP_BINARY, b"", declared=(1 << 63) | 5)], [FAIL(1002)])
    add(g, "§5.2", "text 20 bytes in 1-byte writes -> echo",
        [Frame(OP_TEXT, P.text(20))], [MSG(OP_TEXT, P.text(20))], delivery="bytes")
    add(g, "§5.2", "binary 300 bytes (16-bit length) in 1-byte writes -> echo",
        [Frame(OP_BINARY, P.binary(300))], [MSG(OP_BINARY, P.binary(300))], delivery="bytes")
    add(g, "§5.2", "fragmented text + ping in 1-byte writes -> pong, echo",
        [Frame(OP_TEXT, "Hello, ", fin=0), Frame(OP_PING, "p"), Frame(OP_CONT, "w\xf6rld")],
        [PONG("p"), MSG(OP_TEXT, "Hello, w\xf6rld")], delivery="bytes")
    add(g, "§5.2", "text coalesced with the handshake in one write -> echo",
        [Frame(OP_TEXT, "with the handshake")], [MSG(OP_TEXT, "with the handshake")],
        delivery="handshake")
    add(g, "§5.2", "reserved opcode coalesced with the handshake in one write -> 1002",
        [Frame(5, b"x")], [FAIL(1002)], delivery="handshake")
    add(g, "§5.2", "three messages and a ping in one write -> echoes and pong in order",
        [Frame(OP_TEXT, "one"), Frame(OP_BINARY, b"\x00\x02"), Frame(OP_PING, "x"),
         Frame(OP_TEXT, "three")],
        [MSG(OP_TEXT, "one"), MSG(OP_BINARY, b"\x00\x02"), PONG("x"), MSG(OP_TEXT, "three")],
        delivery="one")
    add(g, "§5.1", "frame with the wrong mask bit for the role -> 1002",
        [Frame(OP_TEXT, "bad mask", mask="wrong")], [FAIL(1002)])
    add(g, "§5.1", "valid text then a frame with the wrong mask bit -> echo, 1002",
        [Frame(OP_TEXT, "fine"), Frame(OP_TEXT, "bad mask", mask="wrong")],
        [MSG(OP_TEXT, "fine"), FAIL(1002)])


# ---- §5.5.2/§5.5.3 ping and pong ----------------------------------------------------
def pingpong():
    g = "ping/pong"
    add(g, "§5.5.2", "ping 0 bytes -> empty pong", [Frame(OP_PING, b"")], [PONG(b"")])
    add(g, "§5.5.2", "ping 125 bytes -> pong 125 bytes", [Frame(OP_PING, P.text(125))],
        [PONG(P.text(125))])
    add(g, "§5.5.2", "ping binary payload (all byte values) -> same pong",
        [Frame(OP_PING, bytes(range(0, 256, 3))[:125])], [PONG(bytes(range(0, 256, 3))[:125])])
    add(g, "§5.5", "ping 126 bytes -> 1002", [Frame(OP_PING, P.text(126))], [FAIL(1002)])
    add(g, "§5.5", "ping declaring 64-bit length 126 -> 1002",
        [Frame(OP_PING, P.text(126), lenform=64)], [FAIL(1002)])
    add(g, "§5.5", "pong 126 bytes -> 1002", [Frame(OP_PONG, P.text(126))], [FAIL(1002)])
    pings = [Frame(OP_PING, "ping %d" % i) for i in range(10)]
    add(g, "§5.5.2", "ten pings back to back in one write -> ten pongs in order", pings,
        [PONG("ping %d" % i) for i in range(10)], delivery="one")
    add(g, "§5.5.2", "ten pings in separate writes -> ten pongs in order",
        [Frame(OP_PING, "ping %d" % i) for i in range(10)],
        [PONG("ping %d" % i) for i in range(10)])
    add(g, "§5.5.3", "unsolicited pong 0 bytes -> ignored", [Frame(OP_PONG, b"")], [])
    add(g, "§5.5.3", "unsolicited pong 125 bytes -> ignored", [Frame(OP_PONG, P.text(125))], [])
    add(g, "§5.5.2", "ping 125 bytes in 1-byte writes -> pong",
        [Frame(OP_PING, P.binary(125))], [PONG(P.binary(125))], delivery="bytes")
    add(g, "§5.5.2", "ping then text in one write -> pong then echo",
        [Frame(OP_PING, "a"), Frame(OP_TEXT, "b")], [PONG("a"), MSG(OP_TEXT, "b")], delivery="one")


# ---- §5.2 reserved bits -------------------------------------------------------------
def rsv():
    g = "reserved bits"
    for bits, label in [(4, "RSV1"), (2, "RSV2"), (1, "RSV3"), (7, "RSV1+2+3"), (5, "RSV1+3")]:
        add(g, "§5.2", "text with %s -> 1002" % label, [Frame(OP_TEXT, "rsv", rsv=bits)], [FAIL(1002)])
    add(g, "§5.2", "binary with RSV2 -> 1002", [Frame(OP_BINARY, b"\x01", rsv=2)], [FAIL(1002)])
    add(g, "§5.2", "ping with RSV3 -> 1002 (no pong)", [Frame(OP_PING, "p", rsv=1)], [FAIL(1002)])
    add(g, "§5.2", "close with RSV1 -> 1002", [CLOSE(1000, rsv=4)], [FAIL(1002)])
    add(g, "§5.2", "continuation with RSV1 -> 1002",
        [Frame(OP_TEXT, "a", fin=0), Frame(OP_CONT, "b", rsv=4)], [FAIL(1002)])
    add(g, "§5.2", "valid text then text with RSV2 -> echo, 1002",
        [Frame(OP_TEXT, "ok"), Frame(OP_TEXT, "no", rsv=2)], [MSG(OP_TEXT, "ok"), FAIL(1002)])
    add(g, "§5.2", "empty text with RSV3 -> 1002", [Frame(OP_TEXT, b"", rsv=1)], [FAIL(1002)])


# ---- §5.2 reserved opcodes ----------------------------------------------------------
def opcodes():
    g = "reserved opcodes"
    for op in [3, 4, 5, 6, 7]:
        add(g, "§5.2", "data opcode 0x%X -> 1002" % op, [Frame(op, b"x")], [FAIL(1002)])
    for op in [0xB, 0xC, 0xD, 0xE, 0xF]:
        add(g, "§5.2", "control opcode 0x%X -> 1002" % op, [Frame(op, b"x")], [FAIL(1002)])
    add(g, "§5.2", "empty opcode 0x3 after a valid message -> echo, 1002",
        [Frame(OP_TEXT, "first"), Frame(3, b"")], [MSG(OP_TEXT, "first"), FAIL(1002)])
    add(g, "§5.2", "opcode 0xB after a ping -> pong, 1002",
        [Frame(OP_PING, "p"), Frame(0xB, b"")], [PONG("p"), FAIL(1002)])
    add(g, "§5.2", "opcode 0x4 inside a fragmented message -> 1002",
        [Frame(OP_TEXT, "frag", fin=0), Frame(4, b"x")], [FAIL(1002)])
    add(g, "§5.2", "opcode 0xF with fin=0 -> 1002", [Frame(0xF, b"", fin=0)], [FAIL(1002)])


# ---- §5.4 fragmentation -------------------------------------------------------------
def fragmentation():
    g = "fragmentation"
    add(g, "§5.4", "text in 2 fragments -> one echo",
        [Frame(OP_TEXT, "frag", fin=0), Frame(OP_CONT, "ment")], [MSG(OP_TEXT, "fragment")])
    add(g, "§5.4", "binary in 3 fragments -> one echo",
        [Frame(OP_BINARY, b"\x00\x01", fin=0), Frame(OP_CONT, b"\x02", fin=0),
         Frame(OP_CONT, b"\xff\xfe")], [MSG(OP_BINARY, b"\x00\x01\x02\xff\xfe")])
    add(g, "§5.4", "text in 10 one-byte fragments -> one echo",
        [Frame(OP_TEXT, "0", fin=0)] + [Frame(OP_CONT, str(i), fin=0) for i in range(1, 9)] +
        [Frame(OP_CONT, "9")], [MSG(OP_TEXT, "0123456789")])
    add(g, "§5.4", "ping between fragments -> pong first, then the echo",
        [Frame(OP_TEXT, "a", fin=0), Frame(OP_PING, "mid"), Frame(OP_CONT, "b")],
        [PONG("mid"), MSG(OP_TEXT, "ab")])
    add(g, "§5.4", "pong between fragments -> echo only",
        [Frame(OP_TEXT, "a", fin=0), Frame(OP_PONG, "mid"), Frame(OP_CONT, "b")],
        [MSG(OP_TEXT, "ab")])
    add(g, "§5.4", "pings between every fragment, one write -> pongs then echo",
        [Frame(OP_BINARY, b"1", fin=0), Frame(OP_PING, "p1"), Frame(OP_CONT, b"2", fin=0),
         Frame(OP_PING, "p2"), Frame(OP_CONT, b"3")],
        [PONG("p1"), PONG("p2"), MSG(OP_BINARY, b"123")], delivery="one")
    add(g, "§5.4", "close between fragments -> close echoed, message dropped",
        [Frame(OP_TEXT, "never finished", fin=0), CLOSE(1000)], [ECHO_CLOSE(1000)])
    add(g, "§5.4", "close during a text message that stops mid-code-point -> close echoed, no 1007",
        [Frame(OP_TEXT, b"\xce", fin=0), CLOSE(1000)], [ECHO_CLOSE(1000)])
    add(g, "§5.5", "fragmented ping (fin=0) -> 1002", [Frame(OP_PING, "x", fin=0)], [FAIL(1002)])
    add(g, "§5.5", "fragmented pong (fin=0) -> 1002", [Frame(OP_PONG, "x", fin=0)], [FAIL(1002)])
    add(g, "§5.5", "fragmented close (fin=0) -> 1002", [CLOSE(1000, fin=0)], [FAIL(1002)])
    add(g, "§5.5", "fragmented ping between data fragments -> 1002",
        [Frame(OP_TEXT, "a", fin=0), Frame(OP_PING, "x", fin=0)], [FAIL(1002)])
    add(g, "§5.4", "continuation (fin=1) without a start -> 1002",
        [Frame(OP_CONT, "orphan")], [FAIL(1002)])
    add(g, "§5.4", "continuation (fin=0) without a start -> 1002",
        [Frame(OP_CONT, "orphan", fin=0)], [FAIL(1002)])
    add(g, "§5.4", "continuation after a finished message -> echo, 1002",
        [Frame(OP_TEXT, "done"), Frame(OP_CONT, "more")], [MSG(OP_TEXT, "done"), FAIL(1002)])
    add(g, "§5.4", "new text inside an unfinished message -> 1002",
        [Frame(OP_TEXT, "a", fin=0), Frame(OP_TEXT, "b")], [FAIL(1002)])
    add(g, "§5.4", "new binary inside an unfinished text -> 1002",
        [Frame(OP_TEXT, "a", fin=0), Frame(OP_BINARY, b"b")], [FAIL(1002)])
    add(g, "§5.4", "empty fragments only (text) -> empty echo",
        [Frame(OP_TEXT, b"", fin=0), Frame(OP_CONT, b"", fin=0), Frame(OP_CONT, b"")],
        [MSG(OP_TEXT, b"")])
    add(g, "§5.4", "empty first fragment, then data -> echo",
        [Frame(OP_BINARY, b"", fin=0), Frame(OP_CONT, b"data")], [MSG(OP_BINARY, b"data")])
    add(g, "§5.4", "data, then empty final fragment -> echo",
        [Frame(OP_TEXT, "data", fin=0), Frame(OP_CONT, b"", fin=0), Frame(OP_CONT, b"")],
        [MSG(OP_TEXT, "data")])
    add(g, "§5.4", "fragments with 16- and 64-bit lengths -> one echo",
        [Frame(OP_BINARY, P.binary(300), fin=0), Frame(OP_CONT, b"", fin=0, lenform=64),
         Frame(OP_CONT, P.binary(70000))],
        [MSG(OP_BINARY, P.binary(300).bytes() + P.binary(70000).bytes())])
    add(g, "§5.4", "65536 fragments of 8 bytes -> one echo of 512 KiB",
        [Frame(OP_TEXT, "abcdefgh", fin=0), Frame(OP_CONT, "abcdefgh", fin=0, repeat=65534),
         Frame(OP_CONT, "abcdefgh")], [MSG(OP_TEXT, P.rep(b"abcdefgh", 65536))])


# ---- §8.1 UTF-8 ---------------------------------------------------------------------
def first_bad(msg):
    """Index of the first byte that can never be part of valid UTF-8 (RFC 3629 table),
    len(msg) if the text only ends inside a code point, None if valid."""
    need, lo, hi = 0, 0, 0
    for i, b in enumerate(msg):
        if need == 0:
            if b < 0x80:
                continue
            if 0xC2 <= b <= 0xDF:
                need, lo, hi = 1, 0x80, 0xBF
            elif b == 0xE0:
                need, lo, hi = 2, 0xA0, 0xBF
            elif b == 0xED:
                need, lo, hi = 2, 0x80, 0x9F
            elif 0xE1 <= b <= 0xEF:
                need, lo, hi = 2, 0x80, 0xBF
            elif b == 0xF0:
                need, lo, hi = 3, 0x90, 0xBF
            elif 0xF1 <= b <= 0xF3:
                need, lo, hi = 3, 0x80, 0xBF
            elif b == 0xF4:
                need, lo, hi = 3, 0x80, 0x8F
            else:
                return i
        else:
            if not lo <= b <= hi:
                return i
            need, lo, hi = need - 1, 0x80, 0xBF
    return len(msg) if need else None


H = bytes.fromhex
UTF8_VALID = [
    ("kosme (Kuhn 1)", H("cebae1bdb9cf83cebcceb5")),
    ("U+0000", H("00")), ("U+007F", H("7f")), ("U+0080", H("c280")), ("U+07FF", H("dfbf")),
    ("U+0800", H("e0a080")), ("U+D7FF", H("ed9fbf")), ("U+E000", H("ee8080")),
    ("U+FFFD", H("efbfbd")), ("U+FFFE noncharacter", H("efbfbe")), ("U+FFFF", H("efbfbf")),
    ("U+10000", H("f0908080")), ("U+1F600", H("f09f9880")), ("U+10FFFF", H("f48fbfbf")),
]
UTF8_INVALID = [
    # Kuhn 3.1 unexpected continuation bytes
    ("lone continuation 80", H("80")), ("lone continuation BF", H("bf")),
    ("continuations 80 BF", H("80bf")), ("continuations 80 BF 80 BF", H("80bf80bf")),
    # Kuhn 3.2 lonely start characters
    ("lonely start C0 + space", H("c020")), ("lonely start DF + space", H("df20")),
    ("lonely start E0 + space", H("e020")), ("lonely start EF + space", H("ef20")),
    ("lonely start F0 + space", H("f020")), ("lonely start F4 + space", H("f420")),
    ("lonely start F8 + space", H("f820")), ("lonely start FC + space", H("fc20")),
    # Kuhn 3.3 sequences with the last byte missing (followed by more text)
    ("2-byte missing last (C2)", H("c2")), ("3-byte missing last (E0 A0)", H("e0a0")),
    ("4-byte missing last (F0 90 80)", H("f09080")), ("3-byte missing last (EF BF)", H("efbf")),
    ("4-byte missing last (F4 8F BF)", H("f48fbf")),
    # Kuhn 3.5 impossible bytes
    ("impossible FE", H("fe")), ("impossible FF", H("ff")), ("impossible FE FE FF FF", H("fefeffff")),
    # Kuhn 4.1 overlong "/"
    ("overlong / 2 bytes", H("c0af")), ("overlong / 3 bytes", H("e080af")),
    ("overlong / 4 bytes", H("f08080af")), ("overlong / 5 bytes", H("f8808080af")),
    ("overlong / 6 bytes", H("fc80808080af")),
    # Kuhn 4.2 maximum overlongs
    ("max overlong C1 BF", H("c1bf")), ("max overlong E0 9F BF", H("e09fbf")),
    ("max overlong F0 8F BF BF", H("f08fbfbf")), ("max overlong F8 87 BF BF BF", H("f887bfbfbf")),
    ("max overlong FC 83 BF BF BF BF", H("fc83bfbfbfbf")),
    # Kuhn 4.3 overlong NUL
    ("overlong NUL 2 bytes", H("c080")), ("overlong NUL 3 bytes", H("e08080")),
    ("overlong NUL 4 bytes", H("f0808080")), ("overlong NUL 5 bytes", H("f880808080")),
    ("overlong NUL 6 bytes", H("fc8080808080")),
    # Kuhn 5.1 single surrogates, 5.2 paired surrogates
    ("surrogate U+D800", H("eda080")), ("surrogate U+DB7F", H("edadbf")),
    ("surrogate U+DB80", H("edae80")), ("surrogate U+DBFF", H("edafbf")),
    ("surrogate U+DC00", H("edb080")), ("surrogate U+DF80", H("edbe80")),
    ("surrogate U+DFFF", H("edbfbf")), ("surrogate pair D800 DC00", H("eda080edb080")),
    ("surrogate pair DBFF DFFF", H("edafbfedbfbf")),
    # past U+10FFFF
    ("U+110000 (F4 90 80 80)", H("f4908080")), ("F5 80 80 80", H("f5808080")),
    ("F7 BF BF BF (U+1FFFFF)", H("f7bfbfbf")),
    # Kuhn 2.1/2.2 five- and six-byte forms
    ("5-byte U+200000", H("f888808080")), ("6-byte U+4000000", H("fc8480808080")),
    ("5-byte FB BF BF BF BF", H("fbbfbfbfbf")), ("6-byte FD BF BF BF BF BF", H("fdbfbfbfbfbf")),
]
UTF8_TRUNCATED_AT_END = [
    ("ends inside 2-byte (C2)", H("c2")), ("ends inside 3-byte (E0 A0)", H("e0a0")),
    ("ends inside 4-byte (F0 90 80)", H("f09080")), ("ends inside 4-byte (F4 8F BF)", H("f48fbf")),
]
PREFIX, SUFFIX = "κ".encode(), b"z"


def utf8():
    g = "utf-8"
    groups = [(s, True, PREFIX + b + SUFFIX, b) for s, b in UTF8_VALID]
    groups += [(s, False, PREFIX + b + SUFFIX, b) for s, b in UTF8_INVALID]
    groups += [(s, False, PREFIX + b, b) for s, b in UTF8_TRUNCATED_AT_END]
    for label, valid, msg, seq in groups:
        bad = first_bad(msg)
        try:
            msg.decode("utf-8")
            assert valid and bad is None, label
        except UnicodeDecodeError:
            assert not valid and bad is not None, label
        hexs = seq.hex(" ").upper()
        if valid:
            add(g, "§8.1", "valid %s [%s] whole -> echo" % (label, hexs),
                [Frame(OP_TEXT, msg)], [MSG(OP_TEXT, msg)])
        else:
            add(g, "§8.1", "invalid %s [%s] whole -> 1007" % (label, hexs),
                [Frame(OP_TEXT, msg)], [FAIL(1007)])
        for k in range(len(PREFIX), len(PREFIX) + len(seq) + 1):
            where = "split at byte %d of %d" % (k, len(msg))
            if valid:
                add(g, "§8.1", "valid %s [%s] %s -> echo" % (label, hexs, where),
                    [Frame(OP_TEXT, msg[:k], fin=0), Frame(OP_CONT, msg[k:])], [MSG(OP_TEXT, msg)])
            elif bad < k:
                # fail fast: the 1007 must come after the fragment that holds the bad byte,
                # although fin was never sent
                add(g, "§8.1", "invalid %s [%s] %s -> 1007 after fragment 1 (fail fast, no fin)"
                    % (label, hexs, where), [Frame(OP_TEXT, msg[:k], fin=0)], [FAIL(1007)])
            else:
                add(g, "§8.1", "invalid %s [%s] %s -> 1007 after fragment 2" % (label, hexs, where),
                    [Frame(OP_TEXT, msg[:k], fin=0), Frame(OP_CONT, msg[k:])], [FAIL(1007)])
    # bad byte in a middle fragment of three, fin never sent
    add(g, "§8.1", "invalid byte in fragment 2 of 3, no fin -> 1007 after fragment 2",
        [Frame(OP_TEXT, "ok ", fin=0), Frame(OP_CONT, b"\xed\xa0\x80", fin=0)], [FAIL(1007)])
    add(g, "§8.1", "binary message with invalid UTF-8 bytes -> echo (not text)",
        [Frame(OP_BINARY, H("c0afeda080fffe"))], [MSG(OP_BINARY, H("c0afeda080fffe"))])
    text = ("aé✓😀" * 6000).encode()
    pieces = [text[i:i + 7] for i in range(0, len(text), 7)]
    frames = [Frame(OP_TEXT, pieces[0], fin=0)] + [Frame(OP_CONT, p, fin=0) for p in pieces[1:-1]]
    frames.append(Frame(OP_CONT, pieces[-1]))
    add(g, "§8.1", "text %d bytes of mixed-width UTF-8 in %d 7-byte fragments -> echo"
        % (len(text), len(pieces)), frames, [MSG(OP_TEXT, text)], delivery="one")


# ---- §5.5.1, §7.4 close -------------------------------------------------------------
VALID_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014,
               3000, 3999, 4000, 4999]
INVALID_CODES = [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]


def close():
    g = "close"
    for code in VALID_CODES:
        add(g, "§7.4.1", "close %d -> close %d echoed" % (code, code), [CLOSE(code)],
            [ECHO_CLOSE(code)])
    for code in INVALID_CODES:
        add(g, "§7.4.2", "close code %d -> 1002" % code, [CLOSE(code)], [FAIL(1002)])
    add(g, "§5.5.1", "empty close -> empty close back", [CLOSE(None)], [ECHO_CLOSE(None)])
    add(g, "§5.5.1", "close with a 1-byte payload -> 1002", [Frame(OP_CLOSE, b"\x03")], [FAIL(1002)])
    add(g, "§5.5.1", "close 1000 with a 123-byte reason -> close 1000",
        [CLOSE(1000, P.text(123).bytes())], [ECHO_CLOSE(1000)])
    add(g, "§5.5", "close 1000 with a 124-byte reason (126 payload) -> 1002",
        [CLOSE(1000, P.text(124).bytes())], [FAIL(1002)])
    add(g, "§5.5.1", "close 1000 with a UTF-8 reason -> close 1000",
        [CLOSE(1000, "bye κόσμε 😀")], [ECHO_CLOSE(1000)])
    for label, bad in [("overlong", H("c0af")), ("surrogate", H("eda080")), ("FF", H("ff")),
                       ("truncated", H("e0a0"))]:
        add(g, "§8.1", "close 1000 with invalid UTF-8 reason (%s) -> 1007" % label,
            [CLOSE(1000, b"ok" + bad)], [FAIL(1007)])
    add(g, "§5.5.1", "text after close (same write) is ignored -> close only",
        [CLOSE(1000), Frame(OP_TEXT, "too late")], [ECHO_CLOSE(1000)], delivery="one")
    add(g, "§5.5.1", "ping after close (same write) -> no pong, close only",
        [CLOSE(1000), Frame(OP_PING, "late")], [ECHO_CLOSE(1000)], delivery="one")
    add(g, "§5.5.1", "text after close (separate write) is ignored -> close only",
        [CLOSE(1000), Frame(OP_TEXT, "too late")], [ECHO_CLOSE(1000)], targets=CLIENTS | IN_SERVER)
    add(g, "§5.5.1", "garbage after close (same write) is ignored -> close only",
        [CLOSE(1000), Frame(5, b"x", rsv=7)], [ECHO_CLOSE(1000)], delivery="one")
    add(g, "§5.5.1", "text then close in one write -> echo, close",
        [Frame(OP_TEXT, "last words"), CLOSE(1001)], [MSG(OP_TEXT, "last words"), ECHO_CLOSE(1001)],
        delivery="one")
    add(g, "§5.5.1", "close in 1-byte writes -> close echoed", [CLOSE(4000, "slow")],
        [ECHO_CLOSE(4000)], delivery="bytes")
    add(g, "§7.1.5", "peer drops TCP without a close frame -> echo, then abnormal closure 1006 reported",
        [Frame(OP_TEXT, "hi")], [MSG(OP_TEXT, "hi")], targets=INPROC | NET_CLIENT, special="eof")
    add(g, "§7.1.1", "our close is never answered -> give up after the close timeout (5 s)",
        targets=INPROC, special="no_close_reply")
    add(g, "§7.1.1", "server never closes TCP after the close handshake -> client gives up after the close timeout",
        targets=NET_CLIENT | IN_CLIENT, special="no_tcp_close")


# ---- §10.4 limits -------------------------------------------------------------------
def limits():
    g = "limits"
    N = 1000
    add(g, "§10.4", "max_message=%d: text of %d bytes -> echo" % (N, N),
        [Frame(OP_TEXT, P.text(N))], [MSG(OP_TEXT, P.text(N))], targets=INPROC, max_message=N)
    add(g, "§10.4", "max_message=%d: text of %d bytes -> 1009" % (N, N + 1),
        [Frame(OP_TEXT, P.text(N + 1))], [FAIL(1009)], targets=INPROC, max_message=N)
    add(g, "§10.4", "max_message=%d: fragments 600+400 -> echo" % N,
        [Frame(OP_BINARY, P.binary(600), fin=0), Frame(OP_CONT, P.binary(400))],
        [MSG(OP_BINARY, P.binary(600).bytes() + P.binary(400).bytes())], targets=INPROC, max_message=N)
    add(g, "§10.4", "max_message=%d: fragments 600+401 -> 1009" % N,
        [Frame(OP_BINARY, P.binary(600), fin=0), Frame(OP_CONT, P.binary(401), fin=0)],
        [FAIL(1009)], targets=INPROC, max_message=N)
    add(g, "§10.4", "max_message=%d: header declaring %d, no payload -> 1009 at once" % (N, N + 1),
        [Frame(OP_BINARY, b"", declared=N + 1)], [FAIL(1009)], targets=INPROC, max_message=N)
    M = EXAMPLE_MAX_MESSAGE
    add(g, "§10.4", "64 MiB limit: header declaring 64 MiB + 1, no payload -> 1009 at once",
        [Frame(OP_BINARY, b"", declared=M + 1)], [FAIL(1009)])
    add(g, "§10.4", "64 MiB limit: header declaring 2^62, no payload -> 1009 at once",
        [Frame(OP_BINARY, b"", declared=1 << 62)], [FAIL(1009)])
    add(g, "§10.4", "64 MiB limit: binary of exactly 64 MiB -> echo",
        [Frame(OP_BINARY, P.binary(M))], [MSG(OP_BINARY, P.binary(M))], targets=NET)
    add(g, "§10.4", "64 MiB limit: 32 MiB + 32 MiB + 1 in fragments -> 1009",
        [Frame(OP_BINARY, P.binary(32 << 20), fin=0), Frame(OP_CONT, b"", fin=0, declared=(32 << 20) + 1)],
        [FAIL(1009)], targets=NET_SERVER)
    add(g, "§10.4", "streaming, 4 KiB fixed buffers: 16 MiB text in one frame -> delivered",
        [Frame(OP_TEXT, P.text(16 << 20))], [DELIVERED(OP_TEXT, P.text(16 << 20))],
        targets=INPROC, streaming=1, recv_buf=4096, send_buf=4096, echo=0)
    add(g, "§10.4", "streaming, 4 KiB fixed buffers: 65536 fragments -> delivered",
        [Frame(OP_BINARY, P.binary(16), fin=0), Frame(OP_CONT, P.binary(16), fin=0, repeat=65534),
         Frame(OP_CONT, P.binary(16))], [DELIVERED(OP_BINARY, P.rep(P.binary(16).bytes(), 65536))],
        targets=INPROC, streaming=1, recv_buf=4096, send_buf=4096, echo=0)
    add(g, "§8.1", "streaming: invalid UTF-8 in fragment 1 of a text, no fin -> 1007",
        [Frame(OP_TEXT, "κ".encode() + b"\xed\xa0\x80", fin=0)], [FAIL(1007)],
        targets=INPROC, streaming=1, echo=0)
    add(g, "§10.4", "streaming, max_message=1000 does not cap a 100 KB message -> delivered",
        [Frame(OP_TEXT, P.text(100000))], [DELIVERED(OP_TEXT, P.text(100000))],
        targets=INPROC, streaming=1, max_message=1000, echo=0)
    add(g, "§5.5.2", "send_buf of 256 bytes: ten 125-byte pings in one feed -> ten pongs in order",
        [Frame(OP_PING, bytes([0x30 + i]) * 125) for i in range(10)],
        [PONG(bytes([0x30 + i]) * 125) for i in range(10)], targets=INPROC, send_buf=256, delivery="one")
    add(g, "§5.5.2", "send_buf at its minimum (139 bytes): ten 125-byte pings and a close -> ten pongs, close",
        [Frame(OP_PING, bytes([0x41 + i]) * 125) for i in range(10)],
        [PONG(bytes([0x41 + i]) * 125) for i in range(10)], targets=IN_SERVER, send_buf=139, delivery="one")
    # recv_buf keeps 125 bytes for a control frame split between reads (§5.5), so the
    # longest message is recv_buf_size - 125.
    add(g, "§10.4", "fixed 4 KiB buffers, message mode: 3971-byte text -> delivered",
        [Frame(OP_TEXT, P.text(3971))], [DELIVERED(OP_TEXT, P.text(3971))],
        targets=INPROC, recv_buf=4096, send_buf=8192, echo=0)
    add(g, "§10.4", "fixed 4 KiB buffers, message mode: 3972-byte text -> 1009",
        [Frame(OP_TEXT, P.text(3972))], [FAIL(1009)], targets=INPROC, recv_buf=4096, send_buf=8192, echo=0)


# ---- §4 handshake -------------------------------------------------------------------
# Head templates: {HOST}, {KEY}, {ACCEPT}, {EXTRA} are filled in by the runners; {NUL}
# stands for a zero byte (so the C table can keep heads as C strings).
GOOD_REQ = ("GET / HTTP/1.1\r\nHost: {HOST}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n{EXTRA}\r\n")
GOOD_RESP = ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Accept: {ACCEPT}\r\n{EXTRA}\r\n")


def handshake():
    g = "handshake"
    S = SERVERS

    def refuse(name, request, status, section="§4.2.1", **kw):
        add(g, section, "%s -> HTTP %d" % (name, status), [], [], targets=S, request=request,
            status=status, **kw)

    def accept(name, request, section="§4.2.2", **kw):
        add(g, section, name if "->" in name else "%s -> 101" % name, targets=S, request=request, **kw)

    good = GOOD_REQ.replace("{EXTRA}", "")
    accept("valid request", good, head_lacks=["Sec-WebSocket-Protocol", "Sec-WebSocket-Extensions"])
    accept("header names and tokens in other cases",
           "GET /chat?x=1 HTTP/1.1\r\nhost: {HOST}\r\nUPGRADE: WebSocket\r\nconnection: keep-alive, UPGRADE\r\n"
           "sec-websocket-key: {KEY}\r\nsec-websocket-version: 13\r\n\r\n")
    accept("offers chat among others -> picks chat",
           GOOD_REQ.replace("{EXTRA}", "Sec-WebSocket-Protocol: superchat, chat\r\n"),
           head_has=["Sec-WebSocket-Protocol: chat\r\n"])
    accept("offers only CHAT -> 101 without \"chat\" (§4.2.2: select one of the client's values)",
           GOOD_REQ.replace("{EXTRA}", "Sec-WebSocket-Protocol: CHAT\r\n"),
           head_lacks=["Sec-WebSocket-Protocol: chat\r\n"])
    accept("valid request in 1-byte writes", good, delivery="bytes")
    accept("offers only an unknown subprotocol -> none chosen",
           GOOD_REQ.replace("{EXTRA}", "Sec-WebSocket-Protocol: mqtt\r\n"),
           head_lacks=["Sec-WebSocket-Protocol"])
    accept("offers an extension -> not accepted",
           GOOD_REQ.replace("{EXTRA}", "Sec-WebSocket-Extensions: permessage-deflate\r\n"),
           head_lacks=["Sec-WebSocket-Extensions"])
    refuse("method POST", good.replace("GET ", "POST "), 400)
    refuse("HTTP/1.0", good.replace("HTTP/1.1", "HTTP/1.0"), 400)
    refuse("no Host", good.replace("Host: {HOST}\r\n", ""), 400)
    refuse("two Host headers", good.replace("Host: {HOST}\r\n", "Host: {HOST}\r\nHost: other\r\n"), 400)
    refuse("no Upgrade", good.replace("Upgrade: websocket\r\n", ""), 400)
    refuse("Upgrade: h2c", good.replace("Upgrade: websocket", "Upgrade: h2c"), 400)
    refuse("no Connection", good.replace("Connection: Upgrade\r\n", ""), 400)
    refuse("Connection: keep-alive only", good.replace("Connection: Upgrade", "Connection: keep-alive"), 400)
    refuse("no Sec-WebSocket-Key", good.replace("Sec-WebSocket-Key: {KEY}\r\n", ""), 400)
    refuse("key of 15 bytes", good.replace("{KEY}", "AAAAAAAAAAAAAAAAAAAA"), 400)
    refuse("key not base64", good.replace("{KEY}", "!!!!!!!!!!!!!!!!!!!!!!=="), 400)
    refuse("two keys", good.replace("Sec-WebSocket-Key: {KEY}\r\n",
                                    "Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Key: {KEY}\r\n"), 400)
    refuse("Sec-WebSocket-Version: 8", good.replace("Version: 13", "Version: 8"), 426, section="§4.4",
           head_has=["Sec-WebSocket-Version: 13\r\n"])
    refuse("no Sec-WebSocket-Version", good.replace("Sec-WebSocket-Version: 13\r\n", ""), 426,
           section="§4.4", head_has=["Sec-WebSocket-Version: 13\r\n"])
    refuse("method in lower case (get)", good.replace("GET ", "get "), 400)
    refuse("empty Host", good.replace("Host: {HOST}", "Host:"), 400)
    refuse("obsolete line folding", GOOD_REQ.replace("{EXTRA}", "X-Folded: a\r\n b\r\n"), 400)
    refuse("NUL byte in a header value", GOOD_REQ.replace("{EXTRA}", "X-Nul: a{NUL}b\r\n"), 400)
    refuse("header line without a colon", GOOD_REQ.replace("{EXTRA}", "Broken header line\r\n"), 400)
    refuse("header name with a space", GOOD_REQ.replace("{EXTRA}", "Bad Name: x\r\n"), 400)
    def sized_req(total):
        base = GOOD_REQ.replace("{HOST}", "127.0.0.1")
        fixed = len(base.replace("{KEY}", "k" * 24).replace("{EXTRA}", "")) + len("X-Pad: \r\n")
        return base.replace("{EXTRA}", "X-Pad: " + "p" * (total - fixed) + "\r\n")
    assert len(sized_req(8192).replace("{KEY}", "k" * 24)) == 8192
    accept("head of exactly 8192 bytes (the default limit)", sized_req(8192))
    refuse("head of 8193 bytes", sized_req(8193), 431)
    accept("64 header lines (the default limit)",
           GOOD_REQ.replace("{EXTRA}", "".join("X-H%d: v\r\n" % i for i in range(59))))
    refuse("65 header lines", GOOD_REQ.replace("{EXTRA}", "".join("X-H%d: v\r\n" % i for i in range(60))), 431)
    refuse("9000-byte header", GOOD_REQ.replace("{EXTRA}", "X-Big: " + "a" * 9000 + "\r\n"), 431)
    refuse("70 header lines", GOOD_REQ.replace("{EXTRA}", "".join("X-H%d: v\r\n" % i for i in range(70))), 431)

    C = CLIENTS

    def bad_resp(name, response, err, text, section="§4.1", protocols=None):
        add(g, section, "response %s -> client fails (%s)" % (name, err), [], [], targets=C,
            response=response, hs_error=err, hs_text=text, protocols=protocols)

    gr = GOOD_RESP.replace("{EXTRA}", "")
    add(g, "§4.1", "valid response with other cases and extra headers -> open", targets=C,
        response="HTTP/1.1 101 Switching Protocols\r\nupgrade: WebSocket\r\nCONNECTION: keep-alive, upgrade\r\n"
                 "sec-websocket-accept: {ACCEPT}\r\nX-Extra: 1\r\n\r\n")
    add(g, "§4.1", "valid response in 1-byte writes, then frames -> open", targets=C, delivery="bytes",
        frames=[Frame(OP_TEXT, "hi")], expect=[MSG(OP_TEXT, "hi")])
    add(g, "§4.1", "offered chat, server picks chat -> open", targets=C, protocols="chat",
        response=GOOD_RESP.replace("{EXTRA}", "Sec-WebSocket-Protocol: chat\r\n"))
    bad_resp("200 OK", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", "WS_ERR_HS_STATUS",
             "server did not answer 101")
    bad_resp("403 Forbidden", "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", "WS_ERR_HS_STATUS",
             "HTTP/1.1 403 Forbidden")
    bad_resp("with a wrong Sec-WebSocket-Accept", gr.replace("{ACCEPT}", "dGhlIHNhbXBsZSBub25jZQ=="),
             "WS_ERR_HS_ACCEPT", "Sec-WebSocket-Accept does not match")
    bad_resp("without Sec-WebSocket-Accept", gr.replace("Sec-WebSocket-Accept: {ACCEPT}\r\n", ""),
             "WS_ERR_HS_ACCEPT", "Sec-WebSocket-Accept does not match")
    bad_resp("without Upgrade", gr.replace("Upgrade: websocket\r\n", ""), "WS_ERR_HS_UPGRADE",
             "Upgrade is not websocket")
    bad_resp("with Upgrade: h2c", gr.replace("Upgrade: websocket", "Upgrade: h2c"), "WS_ERR_HS_UPGRADE",
             "Upgrade is not websocket")
    bad_resp("without Connection", gr.replace("Connection: Upgrade\r\n", ""), "WS_ERR_HS_CONNECTION",
             "Connection does not include Upgrade")
    bad_resp("with an unoffered extension", GOOD_RESP.replace("{EXTRA}", "Sec-WebSocket-Extensions: permessage-deflate\r\n"),
             "WS_ERR_HS_EXTENSION", "extension was not offered")
    bad_resp("with a subprotocol when none was offered", GOOD_RESP.replace("{EXTRA}", "Sec-WebSocket-Protocol: chat\r\n"),
             "WS_ERR_HS_PROTOCOL", "subprotocol was not offered")
    bad_resp("with a subprotocol other than the offered one", GOOD_RESP.replace("{EXTRA}", "Sec-WebSocket-Protocol: superchat\r\n"),
             "WS_ERR_HS_PROTOCOL", "subprotocol was not offered", protocols="chat")
    def sized_resp(total):
        fixed = len(GOOD_RESP.replace("{ACCEPT}", "a" * 28).replace("{EXTRA}", "")) + len("X-Pad: \r\n")
        return GOOD_RESP.replace("{EXTRA}", "X-Pad: " + "p" * (total - fixed) + "\r\n")
    assert len(sized_resp(8192).replace("{ACCEPT}", "a" * 28)) == 8192
    add(g, "§4.1", "response head of exactly 8192 bytes (the default limit) -> open", targets=C,
        response=sized_resp(8192))
    bad_resp("head of 8193 bytes", sized_resp(8193), "WS_ERR_HS_TOO_LARGE", "HTTP head too large")
    bad_resp("head of 9000 bytes", GOOD_RESP.replace("{EXTRA}", "X-Big: " + "a" * 9000 + "\r\n"),
             "WS_ERR_HS_TOO_LARGE", "HTTP head too large")
    bad_resp("not HTTP", "SSH-2.0-OpenSSH_9.2\r\n\r\n", "WS_ERR_HS_MALFORMED", "malformed HTTP message")


# ---- RFC 7692 permessage-deflate ----------------------------------------------------
# Compressed payloads: the RFC's own examples (§7.2.3), DEFLATE stored blocks built here
# (RFC 1951 §3.2.4), and for size only zlib's output (test data, like a recorded peer's).
PMD = "permessage-deflate"
PMD_EXT = "Sec-WebSocket-Extensions: %s\r\n"
HELLO_Z = bytes.fromhex("f248cdc9c90700")           # §7.2.3.1 "Hello"


def stored(data):
    """Non-final stored blocks holding data (the 00 00 ff ff tail is the receiver's)."""
    out, i = b"", 0
    while True:
        chunk = data[i:i + 65535]
        out += b"\x00" + struct.pack("<HH", len(chunk), len(chunk) ^ 0xFFFF) + chunk
        i += 65535
        if i >= len(data):
            return out


def zraw(data, wbits=15):
    co = zlib.compressobj(9, zlib.DEFLATED, -wbits)
    out = co.compress(data) + co.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(b"\x00\x00\xff\xff")
    return out[:-4]


def pmd():
    g = "permessage-deflate"
    req = GOOD_REQ.replace("{EXTRA}", PMD_EXT % PMD)
    resp = GOOD_RESP.replace("{EXTRA}", PMD_EXT % PMD)

    # Against the examples too (echo_server --deflate, echo_client --deflate: they accept,
    # and offer, plain permessage-deflate) unless a case needs the in-process harness's
    # own settings (a lower max_message, streaming delivery).
    def z(section, name, frames, expect, **kw):
        kw.setdefault("targets", INPROC if kw.get("streaming") or kw.get("max_message") else ALL)
        add(g, section, name, frames, expect, request=req, response=resp, pmd=PMD, **kw)

    Z = lambda payload, **kw: Frame(OP_TEXT, payload, rsv=4, **kw)
    # §6.1 RSV1 on a message's first frame: the message is compressed
    z("§7.2.3.1", "compressed \"Hello\" -> delivered, echoed", [Z(HELLO_Z)],
      [DELIVERED(OP_TEXT, "Hello"), MSG(OP_TEXT, "Hello")])
    z("§7.2.3.1", "compressed \"Hello\" in two frames, RSV1 on the first -> echoed",
      [Z(HELLO_Z[:3], fin=0), Frame(OP_CONT, HELLO_Z[3:])], [MSG(OP_TEXT, "Hello")])
    z("§7.2.3.1", "compressed \"Hello\" in 7 one-byte frames -> echoed",
      [Z(HELLO_Z[:1], fin=0)] + [Frame(OP_CONT, HELLO_Z[i:i + 1], fin=int(i == 6)) for i in range(1, 7)],
      [MSG(OP_TEXT, "Hello")])
    z("§7.2.3.2", "two messages sharing the window (context takeover) -> both echoed",
      [Z(HELLO_Z), Z(bytes.fromhex("f200110000"))], [MSG(OP_TEXT, "Hello"), MSG(OP_TEXT, "Hello")])
    z("§7.2.3.3", "stored block -> echoed", [Z(bytes.fromhex("000500faff48656c6c6f00"))], [MSG(OP_TEXT, "Hello")])
    z("§7.2.3.4", "a final (BFINAL) block -> echoed", [Z(bytes.fromhex("f348cdc9c90700"))], [MSG(OP_TEXT, "Hello")])
    z("§7.2.3.5", "two DEFLATE blocks in one message -> echoed",
      [Z(bytes.fromhex("f24805000000ffffcac9c90700"))], [MSG(OP_TEXT, "Hello")])
    z("§7.2.3.6", "an empty compressed message (00) -> empty echo", [Z(b"\x00")], [MSG(OP_TEXT, b"")])
    z("§6.1", "binary message compressed -> echoed", [Frame(OP_BINARY, stored(P.binary(300).bytes()), rsv=4)],
      [MSG(OP_BINARY, P.binary(300))])
    z("§6.1", "an uncompressed message (no RSV1) after agreeing -> echoed",
      [Frame(OP_TEXT, "plain"), Z(HELLO_Z)], [MSG(OP_TEXT, "plain"), MSG(OP_TEXT, "Hello")])
    z("§6.1", "ping between the frames of a compressed message -> pong, echo",
      [Z(HELLO_Z[:3], fin=0), Frame(OP_PING, "p"), Frame(OP_CONT, HELLO_Z[3:])], [PONG("p"), MSG(OP_TEXT, "Hello")])
    z("§6.2", "4 KiB text compressed -> echoed compressed (RSV1, inflates to it)",
      [Z(zraw(P.text(4096).bytes()))], [MSG(OP_TEXT, P.text(4096), compressed=True)])
    z("§6.2", "64 KiB binary in stored blocks in 3 frames -> echoed",
      [Frame(OP_BINARY, stored(P.binary(65536).bytes())[:30000], rsv=4, fin=0),
       Frame(OP_CONT, stored(P.binary(65536).bytes())[30000:60000], fin=0),
       Frame(OP_CONT, stored(P.binary(65536).bytes())[60000:])], [MSG(OP_BINARY, P.binary(65536))])
    # §6.1: RSV1 anywhere else is an error
    z("§6.1", "RSV1 on the continuation of a compressed message -> 1002",
      [Z(HELLO_Z[:3], fin=0), Frame(OP_CONT, HELLO_Z[3:], rsv=4)], [FAIL(1002)])
    z("§6.1", "RSV1 on the continuation of an uncompressed message -> 1002",
      [Frame(OP_TEXT, "a", fin=0), Frame(OP_CONT, "b", rsv=4)], [FAIL(1002)])
    z("§6.1", "RSV1 on a ping -> 1002 (no pong)", [Frame(OP_PING, "p", rsv=4)], [FAIL(1002)])
    z("§6.1", "RSV1 on a pong -> 1002", [Frame(OP_PONG, "p", rsv=4)], [FAIL(1002)])
    z("§6.1", "RSV1 on a close -> 1002", [CLOSE(1000, rsv=4)], [FAIL(1002)])
    z("§6.1", "RSV2 on a text frame (only RSV1 is negotiated) -> 1002", [Frame(OP_TEXT, "a", rsv=2)], [FAIL(1002)])
    z("§6.1", "RSV1+RSV3 on a compressed text -> 1002", [Frame(OP_TEXT, HELLO_Z, rsv=5)], [FAIL(1002)])
    z("§6.1", "echo, then RSV1 on a ping -> echo, 1002", [Z(HELLO_Z), Frame(OP_PING, "p", rsv=4)],
      [MSG(OP_TEXT, "Hello"), FAIL(1002)])
    add(g, "§6.1", "offer declined (extension off), then RSV1 -> 1002", [Z(HELLO_Z)], [FAIL(1002)],
        targets=SERVERS, request=req)
    add(g, "§6.1", "offered, 101 without the extension, then RSV1 -> 1002", [Z(HELLO_Z)], [FAIL(1002)],
        targets=CLIENTS, pmd=PMD)
    # compressed data that is wrong, or too large once inflated
    z("§7.2.2", "invalid DEFLATE data (block type 11) -> 1007", [Z(b"\x06\x00")], [FAIL(1007)])
    z("§7.2.2", "a distance before the start of the data -> 1007", [Z(bytes.fromhex("020200"))], [FAIL(1007)])
    z("§8.1", "compressed text that inflates to invalid UTF-8 -> 1007", [Z(stored(b"ok \xed\xa0\x80"))], [FAIL(1007)])
    z("§8.1", "compressed text cut inside a code point -> 1007", [Z(stored(b"ok \xe2\x82"))], [FAIL(1007)])
    z("§10.4", "inflates past max_message (a 1 MiB bomb, limit 64 KiB) -> 1009",
      [Frame(OP_BINARY, zraw(bytes(1 << 20)), rsv=4)], [FAIL(1009)], max_message=65536)
    z("§6.2", "64 KiB of zeros -> echoed compressed", [Frame(OP_BINARY, zraw(bytes(65536)), rsv=4)],
      [MSG(OP_BINARY, bytes(65536), compressed=True)])
    z("§10.4", "inflates to exactly max_message -> echoed",
      [Frame(OP_BINARY, zraw(bytes(65536)), rsv=4)], [MSG(OP_BINARY, bytes(65536))], max_message=65536)
    z("§10.4", "streaming: a 1 MiB bomb is delivered in pieces -> echo of nothing, then 1000",
      [Frame(OP_BINARY, zraw(bytes(1 << 20)), rsv=4)], [DELIVERED(OP_BINARY, bytes(1 << 20))],
      streaming=1, echo=0)

    # §7.1 negotiation, server role: what the 101 states for each offer
    def offer(name, ext, has=(), lacks=(), allow=PMD, section="§7.1"):
        r = GOOD_REQ.replace("{EXTRA}", "".join(PMD_EXT % e for e in ext) if isinstance(ext, list) else PMD_EXT % ext)
        h = ["Sec-WebSocket-Extensions: %s\r\n" % x for x in has] if has is not None else []
        l = ["Sec-WebSocket-Extensions"] if has == [] else list(lacks)
        # echo_server --deflate allows what ws.h allows by default; other limits in-process
        add(g, section, "offer %s -> %s" % (name, "101 without the extension" if has == [] else "101 with " + " / ".join(has)),
            targets=SERVERS if allow == PMD else IN_SERVER, request=r, pmd=allow, head_has=h, head_lacks=l)

    offer("permessage-deflate", PMD, ["permessage-deflate"])
    offer("client_max_window_bits (no value)", PMD + "; client_max_window_bits", ["permessage-deflate"], section="§7.1.2.2")
    offer("server_no_context_takeover", PMD + "; server_no_context_takeover",
          ["permessage-deflate; server_no_context_takeover"], section="§7.1.1.1")
    offer("client_no_context_takeover", PMD + "; client_no_context_takeover",
          ["permessage-deflate; client_no_context_takeover"], section="§7.1.1.2")
    offer("server_max_window_bits=10", PMD + "; server_max_window_bits=10",
          ["permessage-deflate; server_max_window_bits=10"], section="§7.1.2.1")
    offer("server_max_window_bits=\"10\" (quoted)", PMD + "; server_max_window_bits=\"10\"",
          ["permessage-deflate; server_max_window_bits=10"], section="§7.1.2.1")
    offer("client_max_window_bits=9", PMD + "; client_max_window_bits=9",
          ["permessage-deflate; client_max_window_bits=9"], section="§7.1.2.2")
    offer("every parameter", PMD + "; server_no_context_takeover; client_no_context_takeover; "
          "server_max_window_bits=8; client_max_window_bits=8",
          ["permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
           "server_max_window_bits=8; client_max_window_bits=8"])
    offer("in other cases (PERMESSAGE-DEFLATE; Server_No_Context_Takeover)",
          "PERMESSAGE-DEFLATE; Server_No_Context_Takeover", ["permessage-deflate; server_no_context_takeover"])
    for bad, sec in [("x=1", "§7.1"), ("server_max_window_bits=7", "§7.1.2.1"), ("server_max_window_bits=16", "§7.1.2.1"),
                     ("server_max_window_bits", "§7.1.2.1"), ("server_max_window_bits=ten", "§7.1.2.1"),
                     ("client_max_window_bits=7", "§7.1.2.2"), ("client_max_window_bits=16", "§7.1.2.2"),
                     ("server_no_context_takeover=1", "§7.1.1.1"),
                     ("server_no_context_takeover; server_no_context_takeover", "§7.1"),
                     ("server_max_window_bits=10; server_max_window_bits=11", "§7.1")]:
        offer("with %s (invalid)" % bad, PMD + "; " + bad, [], section=sec)
    offer("a bad offer, then a good one -> the good one (§5: in order of preference)",
          PMD + "; x=1, " + PMD + "; server_no_context_takeover", ["permessage-deflate; server_no_context_takeover"], section="§5")
    offer("two good offers -> the first", PMD + "; server_max_window_bits=10, " + PMD,
          ["permessage-deflate; server_max_window_bits=10"], section="§5")
    offer("on two header lines -> the first acceptable", [PMD + "; x=1", PMD + "; client_no_context_takeover"],
          ["permessage-deflate; client_no_context_takeover"], section="§5")
    offer("an unknown extension, then permessage-deflate", "x-webkit-deflate-frame, " + PMD, ["permessage-deflate"],
          lacks=["x-webkit"], section="§5")
    offer("only an unknown extension", "x-webkit-deflate-frame", [], section="§5")
    # what the server allows
    offer("permessage-deflate, server limits its window to 10", PMD, ["permessage-deflate; server_max_window_bits=10"],
          allow=PMD + "; server_max_window_bits=10", section="§7.1.2.1")
    offer("server_max_window_bits=12, server allows 10", PMD + "; server_max_window_bits=12",
          ["permessage-deflate; server_max_window_bits=10"], allow=PMD + "; server_max_window_bits=10", section="§7.1.2.1")
    offer("no client_max_window_bits, server wants the client's at 10", PMD, [],
          allow=PMD + "; client_max_window_bits=10", section="§7.1.2.2")
    offer("client_max_window_bits, server wants it at 10", PMD + "; client_max_window_bits",
          ["permessage-deflate; client_max_window_bits=10"], allow=PMD + "; client_max_window_bits=10", section="§7.1.2.2")
    offer("permessage-deflate, server asks for no context takeover both ways", PMD,
          ["permessage-deflate; server_no_context_takeover; client_no_context_takeover"],
          allow=PMD + "; server_no_context_takeover; client_no_context_takeover", section="§7.1.1")

    # §7.1 negotiation, client role: which 101 answers to an offer it accepts
    def answer(name, ext, ok, offer_=PMD, section="§7.1"):
        r = GOOD_RESP.replace("{EXTRA}", PMD_EXT % ext)
        t = CLIENTS if offer_ == PMD else IN_CLIENT   # echo_client --deflate offers plain
        if ok:
            add(g, section, "offered %s, response %s -> open" % (offer_, ext), targets=t, response=r, pmd=offer_,
                frames=[Z(HELLO_Z)], expect=[MSG(OP_TEXT, "Hello")])
        else:
            add(g, section, "offered %s, response %s -> client fails (WS_ERR_HS_EXTENSION)" % (offer_, ext),
                targets=t, response=r, pmd=offer_, hs_error="WS_ERR_HS_EXTENSION",
                hs_text="extension was not offered")

    answer("", PMD, True)
    answer("", PMD + "; server_no_context_takeover", True, section="§7.1.1.1")
    answer("", PMD + "; client_no_context_takeover", True, section="§7.1.1.2")
    answer("", PMD + "; server_max_window_bits=10", True, section="§7.1.2.1")
    answer("", PMD + "; client_max_window_bits=10", True, section="§7.1.2.2")
    answer("", "Permessage-Deflate; Server_Max_Window_Bits=\"15\"", True)
    answer("", PMD + "; x=1", False)
    answer("", PMD + "; client_max_window_bits", False, section="§7.1.2.2")
    answer("", PMD + "; server_max_window_bits", False, section="§7.1.2.1")
    answer("", PMD + "; server_max_window_bits=16", False, section="§7.1.2.1")
    answer("", PMD + "; server_max_window_bits=7", False, section="§7.1.2.1")
    answer("", PMD + "; server_no_context_takeover; server_no_context_takeover", False)
    answer("", PMD + "; server_no_context_takeover=1", False, section="§7.1.1.1")
    answer("", PMD + ", " + PMD, False)
    answer("", "x-foo", False, section="§9.1")
    answer("", "x-foo, " + PMD, False, section="§9.1")
    so = PMD + "; server_max_window_bits=10"
    answer(so, PMD + "; server_max_window_bits=10", True, offer_=so, section="§7.1.2.1")
    answer(so, PMD + "; server_max_window_bits=9", True, offer_=so, section="§7.1.2.1")
    answer(so, PMD + "; server_max_window_bits=11", False, offer_=so, section="§7.1.2.1")
    answer(so, PMD, False, offer_=so, section="§7.1.2.1")
    sn = PMD + "; server_no_context_takeover"
    answer(sn, PMD + "; server_no_context_takeover", True, offer_=sn, section="§7.1.1.1")
    answer(sn, PMD, False, offer_=sn, section="§7.1.1.1")
    cw = PMD + "; client_max_window_bits=10"
    answer(cw, PMD, True, offer_=cw, section="§7.1.2.2")
    answer(cw, PMD + "; client_max_window_bits=9", True, offer_=cw, section="§7.1.2.2")
    answer(cw, PMD + "; client_max_window_bits=12", False, offer_=cw, section="§7.1.2.2")


framing()
pingpong()
rsv()
opcodes()
fragmentation()
utf8()
close()
limits()
handshake()
pmd()

_titles = set()
for _c in CASES:
    assert _c.title not in _titles, _c.title
    _titles.add(_c.title)


# ---- the C table --------------------------------------------------------------------
def c_string(s):
    out = []
    for ch in s.encode("utf-8"):
        if ch in (0x22, 0x5c):
            out.append("\\" + chr(ch))
        elif 0x20 <= ch < 0x7f and ch != 0x3f:
            out.append(chr(ch))
        else:
            out.append("\\%03o" % ch)
    return '"' + "".join(out) + '"'


def emit_c(out):
    w = out.write
    w("/* Generated by tests/conformance/cases.py --c: do not edit. */\n")
    w("#define CF_NET_SERVER %d\n#define CF_NET_CLIENT %d\n#define CF_IN_SERVER %d\n#define CF_IN_CLIENT %d\n"
      % (NET_SERVER, NET_CLIENT, IN_SERVER, IN_CLIENT))
    blobs = {}

    def blob(b):
        if not b:
            return "0"
        if b not in blobs:
            blobs[b] = "cf_b%d" % len(blobs)
            w("static const unsigned char %s[%d] = {%s};\n" % (blobs[b], len(b), ",".join(str(x) for x in b)))
        return blobs[b]

    def pay(p):
        return "{%d, %s, %d, %d}" % (p.kind, blob(p.lit), len(p.lit), p.total)

    for i, c in enumerate(CASES):
        if c.frames:
            rows = []
            for f in c.frames:
                decl = f.declared if f.declared is not None else 0
                rows.append("{%d, %d, %d, %d, %d, %d, %dull, %s, %d}" % (
                    f.fin, f.rsv, f.op, 1 if f.mask == "wrong" else 0, f.lenform,
                    1 if f.declared is not None else 0, decl, pay(f.payload), f.repeat))
            w("static const cf_frame cf_f%d[] = {%s};\n" % (i, ", ".join(rows)))
        if c.expect:
            rows = []
            for e in c.expect:
                kind = {"msg": 1, "pong": 2, "close": 3, "delivered": 4}[e.kind]
                rows.append("{%d, %d, %d, %d, %s, %d}" % (kind, e.op, -1 if e.code is None else e.code,
                                                        1 if e.fail else 0, pay(e.payload), int(e.compressed)))
            w("static const cf_expect cf_e%d[] = {%s};\n" % (i, ", ".join(rows)))
    for c in CASES:   # the heads' blobs must exist before the table refers to them
        for head in (c.request, c.response):
            if head:
                blob(head.encode() + b"\0")
    w("static const cf_case cf_cases[] = {\n")
    for i, c in enumerate(CASES):
        w("  {%s, %s, %d, %s, %d, %s, %d, %d, %s, %s, %d, %s, %s, %s, %s, %s, %dull, %d, %d, %d, %d, %s},\n" % (
            c_string(c.title), c_string(c.group), c.targets,
            "cf_f%d" % i if c.frames else "0", len(c.frames),
            "cf_e%d" % i if c.expect else "0", len(c.expect),
            {"frames": 0, "bytes": 1, "one": 2, "handshake": 3}[c.delivery],
            "(const char *)" + blob(c.request.encode() + b"\0") if c.request else "0",
            "(const char *)" + blob(c.response.encode() + b"\0") if c.response else "0",
            c.status, c_string("\n".join(c.head_has)) if c.head_has else "0",
            c_string("\n".join(c.head_lacks)) if c.head_lacks else "0",
            c.hs_error if c.hs_error else "WS_OK", c_string(c.protocols) if c.protocols else "0",
            c_string(c.special) if c.special else "0",
            c.max_message, c.streaming, c.recv_buf, c.send_buf, c.echo,
            c_string(c.pmd) if c.pmd else "0"))
    w("};\n#define CF_NCASES %d\n" % len(CASES))


if __name__ == "__main__":
    if sys.argv[1:] == ["--c"]:
        emit_c(sys.stdout)
    elif sys.argv[1:] == ["--list"]:
        for c in CASES:
            print("%-16s %s" % (c.group, c.title))
    else:
        print("usage: cases.py --c | --list", file=sys.stderr)
        sys.exit(2)
