#!/usr/bin/env python3
"""Write the seed corpora fuzz/corpus/<target>/ from the unit-test vectors (RFC 6455
§1.3 and §5.7 examples, the handshake, URL, UTF-8 and frame vectors of tests/test_*.c),
encoded the way each target reads its input (see the comment at the top of each
fuzz/fuzz_*.c and fuzz/fuzz_conn.h). Deterministic: running it again rewrites the same
files. Usage: python3 fuzz/gen_corpus.py [outdir]   (default: fuzz/corpus)"""
import base64
import hashlib
import os
import struct
import sys

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
RFC_KEY = b"dGhlIHNhbXBsZSBub25jZQ=="
RFC_ACCEPT = b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
MASK = bytes([0x37, 0xFA, 0x21, 0x3D])  # §5.7
FUZZ_CLIENT_KEY = base64.b64encode(bytes(range(16)))  # what fuzz_conn.h's RNG gives


def accept(key):
    return base64.b64encode(hashlib.sha1(key + GUID).digest())


def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def frame(op, payload=b"", fin=True, mask=None, rsv=0, force_len=None):
    b0 = (0x80 if fin else 0) | (rsv << 4) | op
    n = len(payload) if force_len is None else force_len
    mbit = 0x80 if mask is not None else 0
    if n < 126:
        h = bytes([b0, mbit | n])
    elif n <= 0xFFFF:
        h = bytes([b0, mbit | 126]) + struct.pack(">H", n)
    else:
        h = bytes([b0, mbit | 127]) + struct.pack(">Q", n)
    if mask is not None:
        h += mask
        payload = bytes(c ^ mask[i & 3] for i, c in enumerate(payload))
    return h + payload


# ---- §5.7 and tests/test_frame.c -------------------------------------------------
EX = {
    "hello": bytes([0x81, 0x05]) + b"Hello",
    "hello_masked": bytes([0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58]),
    "hel": bytes([0x01, 0x03]) + b"Hel",
    "lo": bytes([0x80, 0x02]) + b"lo",
    "ping": bytes([0x89, 0x05]) + b"Hello",
    "pong_masked": bytes([0x8A, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58]),
    "len256": bytes([0x82, 0x7E, 0x01, 0x00]),
    "len64k": bytes([0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0]),
    "reserved_op3": bytes([0x83, 0x00]),
    "reserved_opB": bytes([0x8B, 0x00]),
    "fragmented_ping": bytes([0x09, 0x00]),
    "control_126": bytes([0x89, 0x7E, 0x00, 0x7E]),
    "len_top_bit": bytes([0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0]),
    "len_2_63_minus_1": bytes([0x82, 0x7F, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]),
    "nonminimal_16": bytes([0x82, 0x7E, 0x00, 0x05]) + b"abcde",
    "nonminimal_64": bytes([0x82, 0xFF, 0, 0, 0, 0, 0, 0, 0, 5]) + MASK + b"abcde",
    "rsv1": bytes([0xC1, 0x00]),
    "close_1000": frame(8, b"\x03\xe8bye"),
}
for name, b in EX.items():
    write("frame", name, b"\x00" + b)
    write("frame", name + "_ctl", b"\xa5" + b)

# ---- tests/test_primitives.c UTF-8 vectors -------------------------------------------
UTF8 = [
    b"", b"\x7f", b"\xc2\x80", b"\xdf\xbf", b"\xe0\xa0\x80", b"\xed\x9f\xbf", b"\xee\x80\x80",
    b"\xef\xbf\xbf", b"\xf0\x90\x80\x80", b"\xf4\x8f\xbf\xbf",
    b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5",
    b"a\xc3\xa9b\xe2\x82\xacc\xf0\x9f\x98\x80d",
    b"The quick brown fox \xe2\x80\x94 jumps over \xf0\x9f\x90\xb6 the lazy dog",
    b"\xc0\x80", b"\xc1\xbf", b"\xe0\x80\x80", b"\xe0\x9f\xbf", b"\xf0\x80\x80\x80",
    b"\xf0\x8f\xbf\xbf", b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xed\xa0\x80\xed\xb0\x80",
    b"\xf4\x90\x80\x80", b"\xf5\x80\x80\x80", b"\xf8\x88\x80\x80\x80", b"\xfe", b"\xff",
    b"abc\xff", b"\x80", b"a\x80b", b"\xc3\xa9\x80", b"\xe2\x82\xac\xbf", b"\xc3a",
    b"\xe2\x82a", b"\xf0\x9f\x98a", b"\xe2\x28\xa1", b"\xc3", b"\xe2\x82", b"\xf0\x9f\x98",
    b"0123456789012345678901234567890123456789\xe0\x80",
    b"0123456789012345678901234567890123456789\xe2\x82",
]
for i, s in enumerate(UTF8):
    write("utf8", "v%02d" % i, bytes([len(s) // 3, (2 * len(s)) // 3]) + s)

# ---- handshakes (RFC §1.3, tests/test_handshake.c) ----------------------------------
def req(lines, first=b"GET /chat HTTP/1.1"):
    return first + b"\r\n" + b"".join(l + b"\r\n" for l in lines) + b"\r\n"


REQ_LINES = [b"Host: server.example.com", b"Upgrade: websocket", b"Connection: Upgrade",
             b"Sec-WebSocket-Key: " + RFC_KEY, b"Origin: http://example.com",
             b"Sec-WebSocket-Protocol: chat, superchat", b"Sec-WebSocket-Version: 13"]
REQUESTS = {
    "rfc": req(REQ_LINES),
    "minimal": req([b"Host: a", b"Upgrade: websocket", b"Connection: Upgrade",
                    b"Sec-WebSocket-Key: " + RFC_KEY, b"Sec-WebSocket-Version: 13"]),
    "version8": req([l if not l.startswith(b"Sec-WebSocket-Version") else b"Sec-WebSocket-Version: 8"
                     for l in REQ_LINES]),
    "no_host": req(REQ_LINES[1:]),
    "http10": req(REQ_LINES, b"GET /chat HTTP/1.0"),
    "post": req(REQ_LINES, b"POST /chat HTTP/1.1"),
    "lists": req([b"host: A", b"UPGRADE: WebSocket", b"connection: keep-alive, Upgrade",
                  b"sec-websocket-key:   " + RFC_KEY + b"  ", b"Sec-WebSocket-Version:13",
                  b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"]),
    "hixie76": b"GET /demo HTTP/1.1\r\nHost: example.com\r\nConnection: Upgrade\r\n"
               b"Sec-WebSocket-Key2: 12998 5 Y3 1  .P00\r\nSec-WebSocket-Protocol: sample\r\n"
               b"Upgrade: WebSocket\r\nSec-WebSocket-Key1: 4 @1  46546xW%0l 1 5\r\n"
               b"Origin: http://example.com\r\n\r\n^n:ds[4U",
    "folded": req([b"Host: a", b" folded", b"Upgrade: websocket"]),
    "trailing": req(REQ_LINES) + b"EXTRA",
    "bare_lf": b"GET / HTTP/1.1\nHost: a\n\n",
}
for name, r in REQUESTS.items():
    write("request", name, b"\x00\x00\x07" + r)
write("request", "small_limits", b"\x04\x03\x01" + REQUESTS["rfc"])

def resp(lines, status=b"HTTP/1.1 101 Switching Protocols"):
    return status + b"\r\n" + b"".join(l + b"\r\n" for l in lines) + b"\r\n"


RESP_LINES = [b"Upgrade: websocket", b"Connection: Upgrade", b"Sec-WebSocket-Accept: " + RFC_ACCEPT]
RESPONSES = {
    "rfc": (1, b"chat, superchat", resp(RESP_LINES + [b"Sec-WebSocket-Protocol: chat"])),
    "plain": (0, None, resp(RESP_LINES)),
    "not_offered": (1, b"chat", resp(RESP_LINES + [b"Sec-WebSocket-Protocol: superchat"])),
    "two_protocols": (1, b"a, b", resp(RESP_LINES + [b"Sec-WebSocket-Protocol: a, b"])),
    "extension": (0, None, resp(RESP_LINES + [b"Sec-WebSocket-Extensions: permessage-deflate"])),
    "status_200": (0, None, resp(RESP_LINES, b"HTTP/1.1 200 OK")),
    "status_403": (0, None, resp([b"Content-Length: 0"], b"HTTP/1.1 403 Forbidden")),
    "bad_accept": (0, None, resp(RESP_LINES[:2] + [b"Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA="])),
    "no_reason": (0, None, resp(RESP_LINES, b"HTTP/1.1 101")),
}
for name, (ctl, offered, r) in RESPONSES.items():
    write("response", name, bytes([ctl]) + ((offered + b"\x00") if offered is not None else b"") + r)

# ---- URLs (tests/test_handshake.c) ------------------------------------------------
URLS = [b"ws://example.com/chat", b"wss://example.com/", b"ws://example.com:8080/",
        b"ws://example.com:443/", b"wss://example.com:80/", b"ws://[::1]:9001/x", b"wss://[::1]/",
        b"ws://example.com", b"ws://example.com?x=1", b"WS://EXAMPLE.COM/", b"ws://a:0/",
        b"ws://a:65536/", b"ws://user@a/", b"ws://a/#frag", b"http://a/", b"ws://[::1/",
        b"ws://[]/", b"ws://a b/", b"ws://:80/", b"ws:///", b"wss://[fe80::1%25eth0]/",
        b"ws://127.0.0.1:9001/chat?room=1&x=%20"]
for i, u in enumerate(URLS):
    write("url", "u%02d" % i, u)

# ---- whole connections (fuzz_conn.h encoding) ------------------------------------------
def feed(b):
    if not b:  # offer what the connection left over again (op 15, length 0)
        return bytes([0x0F, 0, 0])
    out = b""
    while b:
        c, b = b[:256], b[256:]
        out += bytes([0x00, len(c) - 1]) + c
    return out


def drain(k=0):
    return bytes([0x06 | (k << 4)])


def send_text(s):
    return bytes([0x17, len(s)]) + s


def send_bin(s):
    return bytes([0x07, len(s)]) + s


def ping(s):
    return bytes([0x09, len(s)]) + s


def close(code, reason=b""):
    return bytes([0x0A, code >> 8, code & 255, len(reason)]) + reason


def tick(d):
    return bytes([0x0B, d])


def cfg(flags=0, msg=0, queue=0, hs=0, b4=0, b5=0):
    return bytes([flags, msg, queue, hs, b4, b5])


M = bytes(4)  # a zero masking key keeps payloads readable


def server_frames(mask):
    return [frame(1, b"Hello", mask=mask), frame(9, b"Hello", mask=mask),
            frame(1, b"Hel", fin=False, mask=mask), frame(9, b"", mask=mask),
            frame(0, b"lo", mask=mask), frame(2, bytes(300), mask=mask),
            frame(10, b"Hello", mask=mask), frame(1, "κόσμε".encode(), mask=mask)]


srv = {}
hs = feed(REQUESTS["rfc"])
body = b"".join(feed(f) + drain() for f in server_frames(MASK))
srv["rfc_session"] = cfg() + hs + drain() + body + send_text(b"hi") + ping(b"p") + drain() + \
    feed(frame(8, b"\x03\xe8bye", mask=MASK)) + drain()
srv["canonical_hs"] = cfg(flags=0x04) + drain() + body + close(1000, b"done") + drain() + \
    feed(frame(8, b"\x03\xe8", mask=MASK)) + drain()
srv["skip_hs"] = cfg(flags=0x08) + body + tick(100) + close(1001) + drain()
srv["streaming"] = cfg(flags=0x09) + body + drain()
srv["fixed_buffers"] = cfg(flags=0x0A, msg=9, queue=4) + body + drain()
srv["echo_close_cb"] = cfg(flags=0x08 | 0x10 | 0x20) + body + feed(frame(8, b"", mask=MASK)) + drain()
srv["keepalive"] = cfg(flags=0x48, msg=0x12, queue=0x20) + tick(1) + tick(3) + drain() + tick(3) + \
    feed(frame(10, b"", mask=M)) + tick(3) + tick(10) + drain()
srv["pings_no_drain"] = cfg(flags=0x08, queue=3) + feed(b"".join(frame(9, b"%03d" % i, mask=M) for i in range(200))) + \
    drain(3) + feed(b"") + drain() + feed(frame(9, b"x", mask=M)) + drain()
srv["huge_length"] = cfg(flags=0x08, msg=4) + feed(bytes([0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]) + M) + drain()
srv["len_2_62"] = cfg(flags=0x08) + feed(bytes([0x82, 0xFF, 0x40, 0, 0, 0, 0, 0, 0, 0]) + M) + drain()
srv["too_big_msg"] = cfg(flags=0x08, msg=4) + feed(frame(2, bytes(126), mask=M)) + drain()
srv["bad_utf8"] = cfg(flags=0x08) + feed(frame(1, b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited", mask=M)) + drain()
srv["unmasked"] = cfg(flags=0x08) + feed(EX["hello"]) + drain()
srv["reject"] = cfg(b4=3) + hs + drain()
srv["version8"] = cfg() + feed(REQUESTS["version8"]) + drain()
srv["endless_head"] = cfg(hs=0x0A) + feed(b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 60) + drain()
srv["protocol_chat"] = cfg(b4=1) + hs + drain() + feed(frame(1, b"Hi", mask=MASK)) + drain()
srv["alloc_fail"] = cfg(flags=0x80, b5=0x10) + hs + body + drain()
srv["eof"] = cfg(flags=0x08) + feed(frame(1, b"Hel", fin=False, mask=M)) + bytes([0x1C]) + drain()
srv["big_send"] = cfg(flags=0x08, queue=2) + bytes([0x0D, 0x01, 0x00]) + drain() + bytes([0x1D, 0x10, 0x00]) + drain()
srv["fragments"] = cfg(flags=0x08) + bytes([0x18, 2]) + b"ab" + bytes([0x38, 1]) + b"c" + ping(b"") + drain()
srv["stream"] = cfg(flags=0x0C, msg=0x20, queue=0x10, hs=0x30) + drain(2) + body + drain(15) + \
    close(1000) + drain(1) + feed(frame(8, b"\x03\xe8", mask=MASK)) + bytes([0x1C])
srv["stream_write_fails"] = cfg(flags=0x0C, msg=0x10) + body + bytes([0x0C]) + drain(3)
for name, b in srv.items():
    write("server", name, b)

cli = {}
cresp = resp([b"Upgrade: websocket", b"Connection: Upgrade",
              b"Sec-WebSocket-Accept: " + accept(FUZZ_CLIENT_KEY)])
cresp_proto = resp([b"Upgrade: websocket", b"Connection: Upgrade",
                    b"Sec-WebSocket-Accept: " + accept(FUZZ_CLIENT_KEY), b"Sec-WebSocket-Protocol: chat"])
cbody = b"".join(feed(f) + drain() for f in server_frames(None))
cli["rfc_session"] = cfg() + drain() + feed(cresp) + cbody + send_text(b"hi") + ping(b"p") + drain() + \
    feed(frame(8, b"\x03\xe8bye")) + drain() + tick(200) + tick(200)
cli["protocol"] = cfg(b4=0x0F) + drain() + feed(cresp_proto) + cbody + close(1000) + drain() + feed(frame(8, b"\x03\xe8")) + tick(100)
cli["canonical_hs"] = cfg(flags=0x04, b4=2) + drain() + cbody + close(3000, b"x") + drain()
cli["skip_hs"] = cfg(flags=0x08) + cbody + drain()
cli["streaming"] = cfg(flags=0x05) + drain() + cbody
cli["fixed_buffers"] = cfg(flags=0x06, msg=9, queue=4, b4=2) + drain() + cbody + close(1000) + drain()
cli["bad_accept"] = cfg() + drain() + feed(resp(RESP_LINES)) + drain()
cli["status_404"] = cfg() + drain() + feed(resp([], b"HTTP/1.1 404 Not Found")) + drain()
cli["masked_from_server"] = cfg(flags=0x08) + feed(EX["hello_masked"]) + drain()
cli["rng_fails"] = cfg(flags=0x08, b4=0xA0) + send_text(b"a") + send_text(b"b") + ping(b"") + drain()
cli["close_timeout"] = cfg(flags=0x08, b5=4) + close(1000) + tick(1) + tick(10) + tick(30) + drain()
cli["pings_no_drain"] = cfg(flags=0x08, queue=3) + feed(b"".join(frame(9, b"%03d" % i) for i in range(200))) + drain(3) + feed(b"") + drain()
cli["huge_length"] = cfg(flags=0x08, msg=4) + feed(bytes([0x82, 0x7F, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])) + drain()
cli["stream"] = cfg(flags=0x0C, msg=0x30, queue=0x20, hs=0x10, b4=2) + drain(2) + cbody + drain(15) + \
    close(1000) + drain(1) + feed(frame(8, b"\x03\xe8")) + bytes([0x1C]) + tick(200) + tick(200)
for name, b in cli.items():
    write("client", name, b)

# DEFLATE (fuzz_inflate.c: 3 bytes of settings + a raw stream; fuzz_deflate.c: 4 bytes of
# settings + data). The RFC 7692 7.2.3 examples with the receiver's 00 00 ff ff, zlib's
# output at several levels, strategies and windows, a bomb and two invalid streams.
import random
import zlib
RFC7692 = {"rfc7692_7231": "f248cdc9c90700", "rfc7692_7233": "000500faff48656c6c6f00",
           "rfc7692_7234": "f348cdc9c9070000", "rfc7692_7235": "f24805000000ffffcac9c90700"}
RFC7692 = {name: hexs + "0000ffff" for name, hexs in RFC7692.items()}  # the receiver's tail
for i, (name, hexs) in enumerate(RFC7692.items()):
    write("inflate", name, bytes([7, i + 1, 3]) + bytes.fromhex(hexs))
rnd = random.Random(1)
TEXT = b" ".join(rnd.choice([b"the", b"message", b"frame", b"deflate", b"window", b'{"id":1}', b"\n"])
                 for _ in range(3000))
for lvl, st, wb in [(1, 0, 15), (6, 0, 9), (9, 1, 12), (6, 2, 15), (6, 3, 10), (6, 4, 15), (0, 0, 15)]:
    co = zlib.compressobj(lvl, zlib.DEFLATED, -wb, 8, st)
    write("inflate", "zlib_l%d_s%d_w%d" % (lvl, st, wb),
          bytes([wb - 8, lvl * 13 + 1, st * 7 + 2]) + co.compress(TEXT[:4000]) + co.flush(zlib.Z_SYNC_FLUSH))
co = zlib.compressobj(9, zlib.DEFLATED, -15)
write("inflate", "bomb_2MiB_zeros", bytes([7, 0, 200]) + co.compress(bytes(2 << 20)) + co.flush())
write("inflate", "btype3", bytes([7, 0, 0]) + b"\x07")
write("inflate", "stored_nlen_bad", bytes([7, 0, 0]) + b"\x00\x05\x00\xfa\xfe\x48")
write("deflate", "hello", bytes([7, 1, 1, 1]) + b"Hello")
write("deflate", "text_w15_default", bytes([7, 3, 200, 20]) + TEXT[:3000])
write("deflate", "text_w8_fast_reset", bytes([8 | 16, 5, 7, 2]) + TEXT[:2000])
write("deflate", "repeat_300_w8", bytes([0, 9, 30, 255]) + (bytes(range(256)) + bytes(44)) * 10)
write("deflate", "random", bytes([15, 1, 50, 60]) + bytes(rnd.getrandbits(8) for _ in range(1500)))
write("deflate", "zeros_w9", bytes([1 | 8, 2, 3, 255]) + bytes(5000))

# ---- permessage-deflate connections (fuzz_pmd_server.c / fuzz_pmd_client.c) ----------
# 6 config bytes as above, then p0 p1 p2 (fuzz_conn.h). Compressed payloads are raw
# DEFLATE with a sync flush and its 00 00 ff ff removed (RFC 7692 7.2.1).
def z(data, wbits=15, co=None):
    co = co or zlib.compressobj(6, zlib.DEFLATED, -wbits)
    out = co.compress(data) + co.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(b"\x00\x00\xff\xff")
    return out[:-4]


def pcfg(flags=0, msg=0, queue=0, hs=0, b4=0, b5=0, p0=0x08, p1=0xFF, p2=0):
    return cfg(flags, msg, queue, hs, b4, b5) + bytes([p0, p1, p2])


def pmd_frames(mask, keep=True, n=3000):
    # zlib's smallest raw window is 9 bits; n=250 keeps every distance within 8 bits
    ctx = zlib.compressobj(6, zlib.DEFLATED, -9)
    new = lambda: ctx if keep else zlib.compressobj(6, zlib.DEFLATED, -9)
    return [
        frame(1, bytes.fromhex("f248cdc9c90700"), mask=mask, rsv=4),           # 7.2.3.1 "Hello"
        frame(1, bytes.fromhex("f248cd"), fin=False, mask=mask, rsv=4),        # 7.2.3.1 split
        frame(9, b"p", mask=mask),
        frame(0, bytes.fromhex("c9c90700"), mask=mask),
        frame(2, bytes.fromhex("0005 00faff 48656c6c6f 00".replace(" ", "")), mask=mask, rsv=4),  # 7.2.3.3 stored
        frame(1, z(TEXT[:n], co=new()), mask=mask, rsv=4),
        frame(1, z(TEXT[:n], co=new()), mask=mask, rsv=4),                     # with the history
        frame(2, b"plain, no RSV1", mask=mask),
        frame(2, z(bytes(range(256)) * (n // 256), co=new()), mask=mask, rsv=4),
    ]


def pmd_sends():
    return send_text(b"Hello Hello Hello Hello Hello") + send_bin(bytes(200)) + drain() + \
        bytes([0x18, 40]) + TEXT[:40] + bytes([0x18, 0]) + bytes([0x38, 30]) + TEXT[40:70] + \
        ping(b"x") + bytes([0x0D, 0x10, 0x00]) + drain()


for role in ("server", "client"):
    t = "pmd_" + role
    mk = MASK if role == "server" else None
    body = b"".join(feed(f) + drain() for f in pmd_frames(mk))
    body_nct = b"".join(feed(f) + drain() for f in pmd_frames(mk, keep=False))
    body_w8 = b"".join(feed(f) + drain() for f in pmd_frames(mk, n=250))
    bye = feed(frame(8, b"\x03\xe8", mask=mk)) + drain()
    seeds = {
        "agreed_15": pcfg(flags=0x08) + body + pmd_sends() + bye,
        "agreed_nct_w9": pcfg(flags=0x08, p0=0x0B, p1=0x99) + body_nct + pmd_sends() + tick(1) + tick(1) + bye,
        "agreed_w8_fast_echo": pcfg(flags=0x18, p0=0x0C, p1=0x88) + body_w8 + pmd_sends() + bye,
        "harness_hs": pcfg(flags=0x04, p1=0x1C, p2=0xAB) + drain() + body + pmd_sends() + tick(2) + bye,
        "harness_hs_nct": pcfg(flags=0x14, p0=0x88, p1=0xF0, p2=0x1A) + drain() + body_nct + pmd_sends() + tick(2) + bye,
        "streaming": pcfg(flags=0x09) + body + pmd_sends() + bye,
        "fixed_buffers_alloc": pcfg(flags=0x0A, msg=12, queue=12) + body + pmd_sends() + bye,
        "fixed_buffers_decline": pcfg(flags=0x0A, msg=10, queue=11, p0=0x28) + feed(pmd_frames(mk)[0]) + drain(),
        "off_rsv1": pcfg(flags=0x08, p0=0x40) + feed(pmd_frames(mk)[0]) + drain(),
        "rsv1_continuation": pcfg(flags=0x08) + feed(frame(1, b"a", fin=False, mask=mk) + frame(0, b"b", mask=mk, rsv=4)) + drain(),
        "rsv1_ping": pcfg(flags=0x08) + feed(frame(9, b"", mask=mk, rsv=4)) + drain(),
        "rsv2": pcfg(flags=0x08) + feed(frame(1, b"a", mask=mk, rsv=2)) + drain(),
        "corrupt": pcfg(flags=0x08) + feed(frame(2, b"\x07\x00", mask=mk, rsv=4)) + drain(),
        "bad_utf8_inflated": pcfg(flags=0x08) + feed(frame(1, z(b"ok \xed\xa0\x80 no"), mask=mk, rsv=4)) + drain(),
        "bomb_past_max": pcfg(flags=0x08, msg=11) + feed(frame(2, z(bytes(100000)), mask=mk, rsv=4)) + drain(),
        "stream_io": pcfg(flags=0x0C, msg=0x2C, queue=0x1C, hs=0xF0) + drain(2) + body + pmd_sends() + drain(15) + bye,
        "alloc_fail": pcfg(flags=0x88, b5=0x20) + body + pmd_sends(),
    }
    if role == "server":
        seeds["raw_offer"] = pcfg(p1=0x0A) + feed(REQUESTS["rfc"][:-2] + b"Sec-WebSocket-Extensions: x-foo, permessage-deflate; client_max_window_bits; server_max_window_bits=10, permessage-deflate\r\n\r\n") + drain() + body + pmd_sends() + bye
    else:
        seeds["raw_response"] = pcfg(b4=0) + drain() + feed(resp([b"Upgrade: websocket", b"Connection: Upgrade",
            b"Sec-WebSocket-Accept: " + accept(FUZZ_CLIENT_KEY),
            b"Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=11; client_max_window_bits=9"])) + body + pmd_sends() + bye
    for name, b in seeds.items():
        write(t, name, b)

print("seeds written under", OUT)
