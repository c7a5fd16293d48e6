#!/usr/bin/python3
"""A TLS peer that sends every byte as its own TLS record (Python's ssl on Debian's
OpenSSL; TCP_NODELAY, one SSL_write per byte), so the other side gets the handshake and
every frame in 1-byte records, most in their own TCP segment:

    byte_records.py client PORT CAFILE [PATH]   against build/echo_server --tls-... on
                                          127.0.0.1:PORT (or chat_server, PATH /ws: a lone
                                          client of the chat gets its messages back)
    byte_records.py server CERT KEY       prints "listening on 127.0.0.1:PORT", then serves
                                          one client (build/wscat) and drives it

The WebSocket side is written out by hand here on purpose: the point is where the TLS
records end, which no WebSocket library lets a caller choose. Prints
RESULT<TAB>check<TAB>ok|FAIL<TAB>detail lines; exit 0 when all passed."""
import base64
import hashlib
import os
import socket
import ssl
import struct
import sys

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 §1.3
TIMEOUT = 15.0
failed = 0


def report(check, ok, detail):
    global failed
    failed += not ok
    print("RESULT\t%s\t%s\t%s" % (check, "ok" if ok else "FAIL", detail), flush=True)


def send_bytewise(conn, data):
    """One SSL_write, so one TLS record, per byte."""
    for i in range(len(data)):
        conn.sendall(data[i:i + 1])


def read_exact(conn, n):
    out = b""
    while len(out) < n:
        got = conn.recv(n - len(out))
        if not got:
            raise EOFError("end of stream after %d of %d bytes" % (len(out), n))
        out += got
    return out


def read_head(conn):
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        c = conn.recv(1)
        if not c:
            raise EOFError("end of stream in the HTTP head")
        head += c
        if len(head) > 8192:
            raise ValueError("HTTP head too long")
    return head.decode("latin-1")


def frame(opcode, payload, mask):
    """One final frame (RFC 6455 §5.2); clients mask (§5.3)."""
    n = len(payload)
    head = bytes([0x80 | opcode])
    m = 0x80 if mask else 0
    if n < 126:
        head += bytes([m | n])
    elif n < 65536:
        head += bytes([m | 126]) + struct.pack("!H", n)
    else:
        head += bytes([m | 127]) + struct.pack("!Q", n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def read_frame(conn):
    """(opcode, payload) of one frame, unmasked."""
    b0, b1 = read_exact(conn, 2)
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack("!H", read_exact(conn, 2))[0]
    elif n == 127:
        n = struct.unpack("!Q", read_exact(conn, 8))[0]
    key = read_exact(conn, 4) if b1 & 0x80 else None
    data = read_exact(conn, n)
    if key:
        data = bytes(b ^ key[i % 4] for i, b in enumerate(data))
    return b0 & 0x0F, data


def accept_value(key):
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()


def header(head, name):
    for line in head.split("\r\n")[1:]:
        k, _, v = line.partition(":")
        if k.strip().lower() == name.lower():
            return v.strip()
    return None


TEXT = "h\u00e9llo in 1-byte records \u2713 \U0001F600".encode("utf-8")
BINARY = bytes((31 * i + 7) & 0xFF for i in range(3000))


def wait_close_notify(conn, check):
    """After the WebSocket is closed the next thing on the wire must be the peer's TLS
    close_notify: recv() gives b"" for it, and SSLEOFError for a bare TCP close (the
    socket was wrapped with suppress_ragged_eofs=False)."""
    try:
        got = conn.recv(1)
        report(check, got == b"", "close_notify received" if got == b"" else "more data: %r" % got)
    except ssl.SSLEOFError as e:
        report(check, False, "the transport closed without close_notify (%s)" % e)
    except (OSError, ssl.SSLError) as e:
        report(check, False, "%s: %s" % (type(e).__name__, e))


def client(port, cafile, path="/bytes"):
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.options &= ~ssl.OP_IGNORE_UNEXPECTED_EOF  # Python sets it; we must see the difference
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    conn = ctx.wrap_socket(sock, server_hostname="localhost", suppress_ragged_eofs=False)
    check = "records:handshake"
    try:
        key = base64.b64encode(os.urandom(16)).decode()
        send_bytewise(conn, ("GET %s HTTP/1.1\r\nHost: localhost:%d\r\nUpgrade: websocket\r\n"
                             "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                             "Sec-WebSocket-Version: 13\r\n\r\n" % (path, port, key)).encode())
        head = read_head(conn)
        ok = head.startswith("HTTP/1.1 101") and header(head, "Sec-WebSocket-Accept") == accept_value(key)
        report(check, ok, head.split("\r\n")[0] + " (%s)" % conn.version())
        for check, op, data in (("records:text", 1, TEXT), ("records:binary", 2, BINARY),
                                ("records:ping", 9, b"one byte at a time")):
            send_bytewise(conn, frame(op, data, True))
            got = read_frame(conn)
            want = (10 if op == 9 else op, data)
            report(check, got == want, "%d-byte payload in %d records, answer %s" % (
                len(data), len(frame(op, data, True)), "the same" if got == want else "%r" % (got,)))
        check = "records:close"
        send_bytewise(conn, frame(8, struct.pack("!H", 1000) + b"bye", True))
        got = read_frame(conn)
        report(check, got == (8, struct.pack("!H", 1000) + b"bye"), "close echo %r" % (got,))
        wait_close_notify(conn, "tls:close_notify")
    except Exception as e:
        report(check, False, "%s: %s" % (type(e).__name__, e))
    finally:
        conn.close()


def server(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.options &= ~ssl.OP_IGNORE_UNEXPECTED_EOF
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(1)
    lsock.settimeout(TIMEOUT)
    print("listening on 127.0.0.1:%d" % lsock.getsockname()[1], flush=True)
    sock, _ = lsock.accept()
    lsock.close()
    sock.settimeout(TIMEOUT)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    check = "records:handshake"
    try:
        conn = ctx.wrap_socket(sock, server_side=True, suppress_ragged_eofs=False)
    except Exception as e:
        report(check, False, "TLS handshake: %s" % e)
        return
    try:
        head = read_head(conn)
        wskey = header(head, "Sec-WebSocket-Key") or ""
        send_bytewise(conn, ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                             "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n"
                             % accept_value(wskey)).encode())
        report(check, True, "101 sent in 1-byte records (%s)" % conn.version())
        check = "records:to-client"
        send_bytewise(conn, frame(1, TEXT, False))
        send_bytewise(conn, frame(2, BINARY, False))
        send_bytewise(conn, frame(9, b"ping in records", False))
        # The client's answers: the pong to our ping and the line it sends from stdin.
        check = "records:pong"
        seen = {}
        while len(seen) < 2:
            op, data = read_frame(conn)
            seen[op] = data
        report("records:pong", seen.get(10) == b"ping in records", "pong %r" % seen.get(10))
        report("records:from-client", seen.get(1) == b"from wscat", "text %r" % seen.get(1))
        check = "records:close"
        send_bytewise(conn, frame(8, struct.pack("!H", 4002) + b"bye bytes", False))
        op, data = read_frame(conn)
        report(check, (op, data[:2]) == (8, struct.pack("!H", 4002)), "close echo %r" % data)
        # Our close_notify first (a server closes first, RFC 6455 §7.1.1), then the
        # client's must come back before its transport closes.
        check = "tls:close_notify"
        try:
            conn.unwrap()
            report(check, True, "close_notify sent and received")
        except ssl.SSLEOFError as e:
            report(check, False, "the client closed without close_notify (%s)" % e)
    except Exception as e:
        report(check, False, "%s: %s" % (type(e).__name__, e))
    finally:
        conn.close()


def main():
    if len(sys.argv) in (4, 5) and sys.argv[1] == "client":
        client(int(sys.argv[2]), sys.argv[3], *sys.argv[4:])
    elif len(sys.argv) == 4 and sys.argv[1] == "server":
        server(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
