/* ws.h's client against lighttpd's mod_wstunnel, for the interop matrix (run.py, rows
   lighttpd-wstunnel and lighttpd-wstunnel-binary):

      wstunnel_client plan URL PROTOCOLS   data both ways, pings both ways, our close
      wstunnel_client backend-close URL    the TCP backend hangs up: what lighttpd does
      wstunnel_client cut URL              the backend's text arrives cut in a code point
      wstunnel_client origin URL           Origin headers lighttpd refuses and accepts

   mod_wstunnel is not a proxy: lighttpd itself is the WebSocket server, hands the payload
   bytes of our messages to a plain TCP backend and frames whatever the backend writes
   back as messages of one type (text, or binary when the client offers the subprotocol
   "binary"). So nothing on the far side can drive a plan or echo messages whole: this
   program drives, and run.py's TCP echo backend only echoes. Message boundaries do not
   survive the backend, so every data check compares the concatenated stream of what
   came back with what was sent, not message by message.

   The backend obeys one command, as the first bytes of a connection:
   "\0wstunnel-test:close\0" (hang up) or "\0wstunnel-test:cut\0" (write text cut inside a
   4-byte code point, and the rest only if lighttpd has not hung up within 5 s).

   Each check prints RESULT<TAB>check<TAB>ok|FAIL<TAB>detail on stdout (the format of the
   other peers); "PINGS<TAB>n" tells run.py how many of lighttpd's pings ws.h had
   answered, to hold against lighttpd's own log. Every wait is bounded;
   alarm() ends the process whatever happens. 127.0.0.1 only. */
#define WS_IMPLEMENTATION
#include "../../../ws.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define UTF8 \
    "h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93 \xf0\x9f\x98\x80 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xd0\x96"
#define PING_DATA "interop ping \x00\x01\xfe\xff"
#define PING_LEN 17
#define CMD_CLOSE "\0wstunnel-test:close\0"
#define CMD_CUT "\0wstunnel-test:cut\0"
#define WAIT_MS 10000

static int fd = -1, rngfd = -1;
static ws_conn conn;
static ws_stream stream;
static unsigned char iobuf[65536];
static int any_failed;

/* What ws.h reported. */
static int opened, failed, got_close, ended;
static ws_result error;
static unsigned close_code, error_code;
static char protocol[64], text[256];
static unsigned char *rx; /* every message's payload, concatenated */
static size_t rx_len, rx_cap;
static int rx_messages, rx_text, rx_binary;
static int server_pings, server_ping_ok, pongs;
static unsigned char pong[125];
static size_t pong_len;

/* What lighttpd really sent (RFC 6455 §5.2), read off the socket beside ws.h: the close
   frame's payload, and the first data frame's, to tell what ws.h should have made of
   them. */
static int head_done, raw_close, raw_data;
static unsigned char raw_hdr[14], raw_close_p[125], raw_data_p[64];
static size_t raw_hdr_len, raw_close_len, raw_data_len, raw_crlf;
static uint64_t raw_left;
static int raw_op;

static void raw_scan(const unsigned char *p, size_t n) {
    while (n > 0) {
        if (!head_done) { /* the 101's head ends at the first CRLF CRLF */
            raw_crlf = (*p == (raw_crlf % 2 ? '\n' : '\r')) ? raw_crlf + 1 : (*p == '\r');
            head_done = raw_crlf == 4;
            p++, n--;
        } else if (raw_left > 0) {
            size_t k = raw_left < n ? (size_t)raw_left : n, i;
            for (i = 0; i < k; i++) {
                if (raw_op == 8 && raw_close_len < sizeof raw_close_p)
                    raw_close_p[raw_close_len++] = p[i];
                if ((raw_op == 1 || raw_op == 2) && raw_data == 1 && raw_data_len < sizeof raw_data_p)
                    raw_data_p[raw_data_len++] = p[i];
            }
            raw_left -= k, p += k, n -= k;
        } else {
            size_t need, i;
            raw_hdr[raw_hdr_len++] = *p++, n--;
            if (raw_hdr_len < 2)
                continue;
            need = 2 + ((raw_hdr[1] & 127) == 126 ? 2 : (raw_hdr[1] & 127) == 127 ? 8 : 0);
            if (raw_hdr_len < need)
                continue;
            raw_left = raw_hdr[1] & 127;
            if (need > 2)
                for (raw_left = 0, i = 2; i < need; i++)
                    raw_left = raw_left << 8 | raw_hdr[i];
            raw_op = raw_hdr[0] & 15;
            raw_close += raw_op == 8;
            raw_data += raw_op == 1 || raw_op == 2;
            raw_hdr_len = 0;
        }
    }
}

static void report(const char *check, int ok, const char *fmt, ...) {
    char detail[400];
    va_list ap;
    char *q;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    for (q = detail; *q; q++)
        if (*q == '\t' || *q == '\n' || *q == '\r')
            *q = ' ';
    printf("RESULT\t%s\t%s\t%s\n", check, ok ? "ok" : "FAIL", detail);
    fflush(stdout);
    any_failed |= !ok;
}

/* Bytes shown in a detail: printable ASCII as is, the rest as \xNN. */
static const char *shown(const unsigned char *p, size_t n) {
    static char out[4 * 125 + 1];
    size_t i, o = 0;
    for (i = 0; i < n && o + 5 < sizeof out; i++)
        o += (size_t)snprintf(out + o, sizeof out - o, p[i] >= 32 && p[i] < 127 && p[i] != '"'
                              ? "%c" : "\\x%02x", p[i]);
    out[o] = '\0';
    return out;
}

static void keep(char *dst, size_t cap, const void *src, size_t n) {
    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

static long sock_read(void *user, void *buf, size_t len) {
    ssize_t n = recv(fd, buf, len, 0);
    (void)user;
    if (n > 0)
        raw_scan((const unsigned char *)buf, (size_t)n);
    if (n >= 0)
        return (long)n;
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? WS_WOULD_BLOCK : WS_ERR_IO;
}

static long sock_write(void *user, const void *buf, size_t len) {
    ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
    (void)user;
    if (n >= 0)
        return (long)n;
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? WS_WOULD_BLOCK : WS_ERR_IO;
}

static int rng(void *ctx, void *buf, size_t len) {
    (void)ctx;
    return read(rngfd, buf, len) == (ssize_t)len ? 0 : -1;
}

static void on_event(ws_conn *c, const ws_event *ev, void *user) {
    (void)c, (void)user;
    switch (ev->type) {
    case WS_EV_OPEN:
        opened = 1;
        keep(protocol, sizeof protocol, ev->protocol.p, ev->protocol.n);
        break;
    case WS_EV_MESSAGE:
        if (rx_len + ev->len > rx_cap) {
            rx_cap = (rx_len + ev->len) * 2;
            rx = (unsigned char *)realloc(rx, rx_cap);
            if (!rx) {
                fprintf(stderr, "wstunnel_client: out of memory\n");
                exit(1);
            }
        }
        if (ev->len)
            memcpy(rx + rx_len, ev->data, ev->len);
        rx_len += ev->len;
        rx_messages++;
        rx_text += ev->opcode == WS_OP_TEXT;
        rx_binary += ev->opcode == WS_OP_BINARY;
        break;
    case WS_EV_PING:
        server_pings++;
        server_ping_ok += ev->len == 4 && memcmp(ev->data, "ping", 4) == 0;
        break;
    case WS_EV_PONG:
        pongs++;
        pong_len = ev->len < sizeof pong ? ev->len : sizeof pong;
        memcpy(pong, ev->data, pong_len);
        break;
    case WS_EV_CLOSE:
        got_close = 1;
        close_code = ev->code;
        keep(text, sizeof text, ev->data, ev->len);
        break;
    case WS_EV_ERROR:
        if (!failed) {
            failed = 1;
            error = ev->error;
            error_code = ev->code;
            keep(text, sizeof text, ev->data, ev->len);
        }
        break;
    default:
        break;
    }
}

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Move bytes both ways until done() holds, the connection is over, or ms pass. */
static int pump(int (*done)(void), unsigned ms) {
    uint64_t end = now_ms() + ms;
    for (;;) {
        struct pollfd p;
        unsigned want;
        uint64_t now;
        (void)ws_stream_pump(&stream);
        if (done())
            return 1;
        want = ws_stream_wants(&stream);
        if (want == 0) {
            ended = 1;
            return done();
        }
        now = now_ms();
        if (now >= end)
            return 0;
        p.fd = fd;
        p.events = (short)(((want & WS_WANT_READ) ? POLLIN : 0) | ((want & WS_WANT_WRITE) ? POLLOUT : 0));
        (void)poll(&p, 1, end - now < 100 ? (int)(end - now) : 100);
        ws_conn_tick(&conn, now_ms());
    }
}

static size_t rx_want;
static int got_rx(void) { return rx_len >= rx_want || failed; }
static int got_open(void) { return opened || failed; }
static int got_pong(void) { return pongs > 0 || failed; }
static int got_pings(void) { return server_pings >= 2 || failed; }
static int never(void) { return 0; }

static int connect_to(const char *url, const char *protocols, const char *origin) {
    struct sockaddr_in a;
    ws_url u;
    ws_config cfg;
    ws_client_options o;
    ws_io io;
    memset(&a, 0, sizeof a);
    if (ws_url_parse(url, strlen(url), &u) != WS_OK || u.host.n != 9 ||
        memcmp(u.host.p, "127.0.0.1", 9) != 0) {
        fprintf(stderr, "wstunnel_client: a ws://127.0.0.1:PORT/ URL only\n");
        exit(2);
    }
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)u.port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
        return -1;
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK);
    ws_config_init(&cfg, WS_ROLE_CLIENT);
    cfg.on_event = on_event;
    cfg.rng = rng;
    cfg.max_message = (size_t)8 << 20;
    cfg.max_queue = (size_t)64 << 20;
    if (ws_conn_init(&conn, &cfg) != WS_OK)
        return -1;
    memset(&o, 0, sizeof o);
    o.url = url;
    o.protocols = protocols;
    o.origin = origin;
    ws_conn_tick(&conn, now_ms());
    if (ws_client_start(&conn, &o) != WS_OK)
        return -1;
    io.read = sock_read;
    io.write = sock_write;
    io.user = NULL;
    ws_stream_init(&stream, &conn, &io, iobuf, sizeof iobuf);
    return 0;
}

static const char *failure(void) {
    static char why[320];
    if (!failed)
        return ended ? "the connection ended" : "timed out";
    snprintf(why, sizeof why, "%s (close code %u)%s%s", ws_strerror(error), error_code,
             text[0] ? ": " : "", text);
    return why;
}

/* Payloads as plan.h makes them: text "abc...z" repeated, binary byte i = (31i + 7) mod
   256, UTF-8 the 35-byte string repeated. */
static unsigned char *payload(const char *kind, size_t len) {
    unsigned char *b = (unsigned char *)malloc(len + 1);
    size_t i;
    if (!b)
        exit(1);
    for (i = 0; i < len; i++)
        b[i] = strcmp(kind, "binary") == 0 ? (unsigned char)((31 * i + 7) & 255)
               : strcmp(kind, "utf8") == 0 ? (unsigned char)UTF8[i % (sizeof UTF8 - 1)]
                                           : (unsigned char)('a' + i % 26);
    return b;
}

/* Wait for len more bytes of echo; they must be exactly data. n_sent messages went. */
static void expect_echo(const char *check, size_t start, int msgs_before, const unsigned char *data,
                        size_t len, ws_opcode back, const char *note) {
    int msgs, wrong;
    rx_want = start + len;
    pump(got_rx, WAIT_MS);
    msgs = rx_messages - msgs_before;
    wrong = back == WS_OP_TEXT ? rx_binary : rx_text;
    if (failed || rx_len < start + len) {
        report(check, 0, "%zu of %zu bytes came back: %s", rx_len - start, len, failure());
        return;
    }
    if (rx_len != start + len || memcmp(rx + start, data, len) != 0) {
        size_t i = 0;
        while (i < len && rx[start + i] == data[i])
            i++;
        report(check, 0, "%zu bytes came back for %zu; the first difference at byte %zu",
               rx_len - start, len, i);
        return;
    }
    report(check, wrong == 0, "%zu byte%s back in %d %s message%s%s%s", len, len == 1 ? "" : "s", msgs,
           back == WS_OP_TEXT ? "text" : "binary", msgs == 1 ? "" : "s", note,
           wrong ? " (but some messages had the other type)" : "");
}

/* One message of len bytes (len 0: an empty one, then "." so that something comes back:
   an empty message gives the backend no bytes at all). */
static void echo_check(const char *check, ws_opcode op, const char *kind, size_t len, ws_opcode back) {
    unsigned char *data = payload(kind, len ? len : 1);
    size_t start = rx_len;
    int msgs = rx_messages;
    ws_result r = ws_send(&conn, op, data, len);
    if (r == WS_OK && len == 0) {
        data[0] = '.';
        r = ws_send(&conn, op, data, 1);
    }
    if (r != WS_OK)
        report(check, 0, "ws_send: %s", ws_strerror(r));
    else
        expect_echo(check, start, msgs, data, len ? len : 1, back,
                    len ? "" : " (after the empty message, only the next one came back)");
    free(data);
}

/* A 3-frame text message (ws_send_fragment); with ping, our ping goes between the first
   two frames and its pong must be back before the rest is sent (§5.4: control frames may
   be injected in the middle of a fragmented message). */
static void fragment_check(const char *check, const char *kind, size_t len, size_t cut1, size_t cut2,
                           int ping, ws_opcode back) {
    unsigned char *data = payload(kind, len);
    size_t start = rx_len;
    int msgs = rx_messages;
    ws_result r = ws_send_fragment(&conn, WS_OP_TEXT, data, cut1, 0);
    if (r == WS_OK && ping) {
        pongs = 0;
        r = ws_ping(&conn, PING_DATA, PING_LEN);
        if (r == WS_OK && !pump(got_pong, WAIT_MS)) {
            report(check, 0, "no pong to the ping between the frames: %s", failure());
            free(data);
            return;
        }
    }
    if (r == WS_OK)
        r = ws_send_fragment(&conn, WS_OP_TEXT, data + cut1, cut2 - cut1, 0);
    if (r == WS_OK)
        r = ws_send_fragment(&conn, WS_OP_TEXT, data + cut2, len - cut2, 1);
    if (r != WS_OK)
        report(check, 0, "ws_send_fragment: %s", ws_strerror(r));
    else
        expect_echo(check, start, msgs, data, len, back,
                    ping ? "; the pong to the ping between the frames came first" : "");
    free(data);
}

/* Messages back to back, no wait in between. */
static void burst_check(ws_opcode op, const char *kind, ws_opcode back) {
    static const size_t sizes[] = {100, 0, 3000, 1, 70000, 125};
    unsigned char *all = payload(kind, 73226), *p = all;
    size_t i, start = rx_len;
    int msgs = rx_messages;
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        /* each message its own slice of one pattern, so the joined stream is the pattern */
        if (ws_send(&conn, op, p, sizes[i]) != WS_OK) {
            report("burst:messages", 0, "ws_send failed");
            free(all);
            return;
        }
        p += sizes[i];
    }
    expect_echo("burst:messages", start, msgs, all, (size_t)(p - all), back,
                " (6 messages of 0 to 70000 bytes sent back to back)");
    free(all);
}

static int code_valid(unsigned code) {
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

/* Did ws.h report what lighttpd really sent at the end? No close frame: the transport
   ended first (1006). A close frame with a valid code (or none: 1005): that code, cleanly.
   Any other payload (1 byte, or a code outside the ones ws.h takes, as code_valid: RFC
   6455 §7.4.1 and §7.4.2's ranges): a protocol error. */
static void judge_end(const char *check, const char *what) {
    if (!raw_close) {
        report(check, failed && error == WS_ERR_EOF && error_code == WS_CLOSE_ABNORMAL && !got_close,
               "%s: lighttpd ended the TCP connection without a close frame; ws.h reported: %s",
               what, failed ? failure() : got_close ? "a close" : "nothing");
    } else if (raw_close_len == 0 ||
               (raw_close_len >= 2 && code_valid((unsigned)raw_close_p[0] << 8 | raw_close_p[1]))) {
        unsigned code = raw_close_len ? (unsigned)raw_close_p[0] << 8 | raw_close_p[1] : 1005;
        report(check, got_close && !failed && close_code == code && ended,
               "%s: lighttpd sent a close frame with code %u; ws.h reported %s%u", what, code,
               failed ? failure() : "close ", close_code);
    } else {
        unsigned code = raw_close_len >= 2 ? (unsigned)raw_close_p[0] << 8 | raw_close_p[1] : 0;
        report(check, failed && error == WS_ERR_PROTOCOL && !got_close && ended,
               "%s: lighttpd's close frame holds \"%s\" (%zu bytes: as a code %u, which RFC 6455 "
               "7.4.2 leaves undefined); ws.h reported: %s",
               what, shown(raw_close_p, raw_close_len), raw_close_len, code,
               failed ? failure() : got_close ? "a clean close" : "nothing");
    }
}

static int plan(const char *url, const char *protocols) {
    static const size_t sizes[] = {0, 125, 126, 65535, 65536, (size_t)1 << 20};
    char name[32];
    ws_opcode back;
    size_t i;
    int binary, n, pings;
    if (connect_to(url, protocols, NULL) < 0) {
        report("handshake:101", 0, "cannot connect");
        return 1;
    }
    pump(got_open, WAIT_MS);
    /* An open means ws.h checked the 101, Upgrade, Connection and Sec-WebSocket-Accept
       (RFC 6455 §4.1) and that the protocol chosen was one offered. */
    report("handshake:101", opened, opened ? "101, Sec-WebSocket-Accept verified" : "%s", failure());
    if (!opened)
        return 1;
    /* lighttpd knows two subprotocols, "binary" and "base64", and answers only those;
       offered "binary" it frames what the backend sends as binary messages. */
    binary = strcmp(protocol, "binary") == 0;
    back = binary ? WS_OP_BINARY : WS_OP_TEXT;
    report("subprotocol", strstr(protocols, "binary") ? binary : protocol[0] == '\0',
           "offered \"%s\", lighttpd chose \"%s\"", protocols, protocol);

    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        snprintf(name, sizeof name, "text:%zu", sizes[i]);
        echo_check(name, WS_OP_TEXT, "text", sizes[i], back);
    }
    /* Text frames carrying the binary pattern would not be UTF-8: binary only when
       lighttpd frames the backend's bytes as binary. */
    for (i = 0; binary && i < sizeof sizes / sizeof sizes[0]; i++) {
        snprintf(name, sizeof name, "binary:%zu", sizes[i]);
        echo_check(name, WS_OP_BINARY, "binary", sizes[i], back);
    }
    /* lighttpd cuts the backend's bytes into text messages wherever its reads end, so a
       long multi-byte text may come back cut inside a code point (see "cut"): only the
       short one, which the backend writes in one piece, in text. */
    echo_check("utf8:short", WS_OP_TEXT, "utf8", 35, back);
    if (binary)
        echo_check("utf8:long", WS_OP_TEXT, "utf8", 70000, back);
    fragment_check("fragment", "text", 21024, 7000, 14000, 0, back);
    fragment_check("fragment:ping-between", "text", 21024, 7000, 14000, 1, back);
    if (binary) /* frames cut inside two 4-byte code points (U+1F600 is bytes 18-21 of 35) */
        fragment_check("fragment:split-utf8", "utf8", 21000, 7000 + 19, 14000 + 20, 0, back);
    burst_check(binary ? WS_OP_BINARY : WS_OP_TEXT, binary ? "binary" : "text", back);

    pongs = 0;
    if (ws_ping(&conn, PING_DATA, PING_LEN) != WS_OK || !pump(got_pong, WAIT_MS))
        report("ping", 0, "no pong: %s", failure());
    else
        report("ping", pong_len == PING_LEN && memcmp(pong, PING_DATA, PING_LEN) == 0,
               "pong payload \"%s\" (%zu bytes)", shown(pong, pong_len), pong_len);

    /* wstunnel.ping-interval = 1: lighttpd pings about once a second; ws.h answers each
       with a pong by itself (§5.5.2). After two, lighttpd must still echo. */
    pump(got_pings, 5000);
    pings = server_pings;
    n = rx_messages;
    if (pings >= 2 && !failed) {
        echo_check("ping:after-server-pings", WS_OP_TEXT, "text", 1000, back);
        n = rx_messages - n;
    }
    printf("PINGS\t%d\n", pings);
    report("ping:server", pings >= 2 && server_ping_ok == pings && !failed,
           "lighttpd pinged %d times (payload \"ping\": %d), the connection still echoes", pings,
           server_ping_ok);

    /* Our close (§7.1.2) with a code and a reason; lighttpd answers with a close frame. */
    if (ws_close(&conn, 4001, "client bye \xe2\x9c\x93", sizeof "client bye \xe2\x9c\x93" - 1) != WS_OK) {
        report("close:ours", 0, "ws_close failed");
    } else {
        pump(never, 5000);
        judge_end("close:ours", "after our close 4001");
    }
    return any_failed;
}

static int backend_close(const char *url) {
    if (connect_to(url, NULL, NULL) < 0 || !pump(got_open, WAIT_MS) || !opened) {
        report("close:backend", 0, "no connection: %s", failure());
        return 1;
    }
    ws_send(&conn, WS_OP_TEXT, CMD_CLOSE, sizeof CMD_CLOSE - 1);
    pump(never, 5000);
    judge_end("close:backend", "the backend hung up");
    return any_failed;
}

/* lighttpd frames the backend's "ok \xf0\x9f" as a whole text message (FIN set) before
   the rest of the code point arrives: invalid UTF-8 in a text message, which ws.h must
   fail with 1007 (RFC 6455 §8.1) on that frame and never deliver. */
static int cut(const char *url) {
    if (connect_to(url, NULL, NULL) < 0 || !pump(got_open, WAIT_MS) || !opened) {
        report("utf8:cut", 0, "no connection: %s", failure());
        return 1;
    }
    ws_send(&conn, WS_OP_TEXT, CMD_CUT, sizeof CMD_CUT - 1);
    pump(never, 5000);
    report("utf8:cut", raw_data >= 1 && failed && error == WS_ERR_UTF8 && rx_messages == 0,
           "lighttpd's first message: \"%s\" (%zu bytes, %s); ws.h delivered %d messages and "
           "reported: %s", shown(raw_data_p, raw_data_len), raw_data_len,
           raw_data ? "a text frame" : "none", rx_messages, failed ? failure() : "no failure");
    return any_failed;
}

/* Forget the last connection, for a second one in the same process. */
static void reset(void) {
    if (fd >= 0) {
        ws_stream_free(&stream);
        ws_conn_free(&conn);
        close(fd);
        fd = -1;
    }
    opened = failed = got_close = ended = 0;
    error = WS_OK;
    close_code = error_code = 0;
    protocol[0] = text[0] = '\0';
    head_done = raw_close = raw_data = 0;
    raw_hdr_len = raw_close_len = raw_data_len = raw_crlf = 0;
    raw_left = 0;
}

/* wstunnel.origins = ("allowed.test") for this URL: lighttpd refuses another Origin with
   403, which ws.h must report as a refused handshake carrying that status (and no open);
   "http://www.allowed.test" (a suffix match on a dot) opens. */
static int origin(const char *url) {
    char refused[360];
    int status = 0, ok;
    if (connect_to(url, NULL, "http://elsewhere.test") == 0)
        pump(got_open, WAIT_MS);
    ok = !opened && failed && error == WS_ERR_HS_STATUS && error_code == 403;
    status = (int)error_code;
    snprintf(refused, sizeof refused, "%s", opened ? "opened" : failure());
    reset();
    if (connect_to(url, NULL, "http://www.allowed.test") == 0)
        pump(got_open, WAIT_MS);
    ok = ok && opened;
    report("handshake:origin", ok, "Origin http://elsewhere.test: %s (status %d); "
           "http://www.allowed.test: %s", refused, status, opened ? "opened" : failure());
    if (opened && ws_close(&conn, 1000, NULL, 0) == WS_OK)
        pump(never, 3000);
    return any_failed;
}

int main(int argc, char **argv) {
    int r;
    alarm(60); /* whatever happens, this process ends */
    signal(SIGPIPE, SIG_IGN);
    rngfd = open("/dev/urandom", O_RDONLY);
    if (argc == 4 && strcmp(argv[1], "plan") == 0)
        r = plan(argv[2], argv[3]);
    else if (argc == 3 && strcmp(argv[1], "backend-close") == 0)
        r = backend_close(argv[2]);
    else if (argc == 3 && strcmp(argv[1], "cut") == 0)
        r = cut(argv[2]);
    else if (argc == 3 && strcmp(argv[1], "origin") == 0)
        r = origin(argv[2]);
    else {
        fprintf(stderr, "usage: wstunnel_client plan URL PROTOCOLS | backend-close URL | "
                        "cut URL | origin URL\n");
        return 2;
    }
    reset();
    free(rx);
    return r;
}
