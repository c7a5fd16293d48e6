/* ws.h on a microcontroller: a WebSocket client and a server in one firmware image, no
   libc, no heap. Built with arm-none-eabi-gcc and WS_NO_STDLIB; run on qemu's
   mps2-an385 (Cortex-M3) and microbit (Cortex-M0) boards by `make firmware`.

   The two ws_conn are wired to each other through in-memory "wires" standing in for
   the transport (lwIP, a modem, a UART): what one queues is fed to the other a few
   bytes at a time, as a TCP stream may deliver it. The session covers the opening
   handshake (with a subprotocol), text and binary messages echoed by the server, a
   message sent in fragments, pings both ways with their automatic pongs, and the close
   handshake, and checks every event against what should arrive. Each connection works
   only on the buffers handed to it in ws_config (recv_buf, send_buf): nothing is
   allocated, so the image needs no malloc.

   Output goes through semihosting; the last line says "session ok" and the emulator
   exits with status 0, or a line says what went wrong and it exits with status 1. */
#include <stddef.h>
#include <stdint.h>
#include "semihost.h"

static void fw_fail(const char *why);

#define WS_NO_STDLIB
/* permessage-deflate left out: it needs a heap for its window, and its encoder alone
   wants more stack (ws__huff_lengths: 2.4 KB) than this whole session. */
#define WS_NO_DEFLATE
/* No URL parsing either: the client names its server by host and resource, as a device
   configured with them does. */
#define WS_NO_URL
#define WS_ASSERT(x) ((x) ? (void)0 : fw_fail("WS_ASSERT(" #x ")"))
#define WS_IMPLEMENTATION
#include "../../ws.h"

uint32_t fw_stack_used(void); /* startup.c */

/* ---- output, without printf --------------------------------------------------------- */

static char line[160];
static size_t line_n;

static void put(const char *s) {
    while (*s && line_n < sizeof line - 2) line[line_n++] = *s++;
}
static void put_n(const void *p, size_t n) {
    const unsigned char *s = (const unsigned char *)p;
    while (n-- && line_n < sizeof line - 2) {
        unsigned char ch = *s++;
        line[line_n++] = (char)(ch >= 0x20 && ch < 0x7f ? ch : '.');
    }
}
static void put_u(uint32_t v) {
    char d[11];
    int i = 0;
    do d[i++] = (char)('0' + v % 10); while ((v /= 10) && i < 10);
    while (i--) {
        char s[2];
        s[0] = d[i], s[1] = 0;
        put(s);
    }
}
static void flush(void) {
    line[line_n++] = '\n';
    line[line_n] = 0;
    fw_puts(line);
    line_n = 0;
}

static void fw_fail(const char *why) {
    line_n = 0;
    put("firmware: FAILED: ");
    put(why);
    flush();
    fw_exit(0);
}

/* ---- the two connections -------------------------------------------------------------- */

/* Sizes a small device would pick: the longest message is recv size - 125 (see
   ws_config); the output queue holds a few frames. */
static unsigned char client_recv[512], client_send[384];
static unsigned char server_recv[512], server_send[384];
static ws_conn client, server;

/* What the session expects next, per side: a FIFO of events the callback checks off. */
typedef struct expect {
    ws_event_type type;
    ws_opcode opcode;
    unsigned code;
    const void *data;
    size_t len;
} expect;

typedef struct side {
    const char *name;
    expect want[8];
    unsigned head, tail;
    unsigned events;
} side;

static side client_side = {"client", {{0, 0, 0, 0, 0}}, 0, 0, 0};
static side server_side = {"server", {{0, 0, 0, 0, 0}}, 0, 0, 0};

static void want(side *s, ws_event_type type, ws_opcode op, unsigned code, const void *data,
                 size_t len) {
    expect *e = &s->want[s->tail++ % 8];
    e->type = type, e->opcode = op, e->code = code, e->data = data, e->len = len;
}

static const char *ev_name(ws_event_type t) {
    switch (t) {
    case WS_EV_REQUEST: return "request";
    case WS_EV_OPEN: return "open";
    case WS_EV_MESSAGE: return "message";
    case WS_EV_FRAGMENT: return "fragment";
    case WS_EV_PING: return "ping";
    case WS_EV_PONG: return "pong";
    case WS_EV_CLOSE: return "close";
    case WS_EV_ERROR: return "error";
    }
    return "?";
}

static int same(const void *a, const void *b, size_t n) {
    const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
    while (n--)
        if (*x++ != *y++) return 0;
    return 1;
}

static void on_event(ws_conn *c, const ws_event *ev, void *user) {
    side *s = (side *)user;
    const expect *e;
    s->events++;
    line_n = 0;
    put("["), put(s->name), put("] "), put(ev_name(ev->type));
    if (ev->type == WS_EV_MESSAGE)
        put(ev->opcode == WS_OP_TEXT ? " text " : " binary "), put_u((uint32_t)ev->len),
            put(" bytes: "), put_n(ev->data, ev->len < 40 ? ev->len : 40);
    if (ev->type == WS_EV_PING || ev->type == WS_EV_PONG) put(" \""), put_n(ev->data, ev->len), put("\"");
    if (ev->type == WS_EV_CLOSE || ev->type == WS_EV_ERROR)
        put(" code "), put_u(ev->code), put(" \""), put_n(ev->data, ev->len), put("\"");
    if (ev->type == WS_EV_ERROR) put(" ("), put(ws_strerror(ev->error)), put(")");
    if (ev->type == WS_EV_OPEN) put(" protocol \""), put_n(ev->protocol.p, ev->protocol.n), put("\"");
    flush();

    if (ev->type == WS_EV_REQUEST) {
        /* The device's own policy: only the "sensor" subprotocol, only path /ws. */
        if (!ws_request_offers(ev->request, "sensor")) fw_fail("request without subprotocol sensor");
        if (ev->request->target.n != 3 || !same(ev->request->target.p, "/ws", 3)) fw_fail("request not for /ws");
        if (ev->request->host.n != 12 || !same(ev->request->host.p, "device.local", 12)) fw_fail("wrong Host");
        if (ws_accept(c, "sensor", NULL) != WS_OK) fw_fail("ws_accept");
        return;
    }
    if (s->head == s->tail) fw_fail("an event nobody expected");
    e = &s->want[s->head++ % 8];
    if (e->type != ev->type) fw_fail("a different event than expected");
    if (ev->type == WS_EV_MESSAGE && e->opcode != ev->opcode) fw_fail("wrong message type");
    if ((ev->type == WS_EV_CLOSE || ev->type == WS_EV_ERROR) && e->code != ev->code)
        fw_fail("wrong close code");
    if (ev->type == WS_EV_OPEN) {
        if (e->len != ev->protocol.n || !same(e->data, ev->protocol.p, e->len)) fw_fail("wrong subprotocol");
    } else if (e->data && (e->len != ev->len || !same(e->data, ev->data, e->len))) {
        fw_fail("wrong payload");
    }
    /* The server echoes every message, as the examples' echo server does. */
    if (c == &server && ev->type == WS_EV_MESSAGE &&
        ws_send(c, ev->opcode, ev->data, ev->len) != WS_OK)
        fw_fail("server echo did not fit");
}

/* A stand-in for a hardware RNG peripheral (the board in qemu has none): xorshift32. A
   real device must use its TRNG: masking keys and Sec-WebSocket-Key need fresh,
   unpredictable bytes (RFC 6455 §5.3, §10.3). */
static int fw_rng(void *ctx, void *buf, size_t len) {
    uint32_t *st = (uint32_t *)ctx;
    unsigned char *p = (unsigned char *)buf;
    while (len--) {
        *st ^= *st << 13, *st ^= *st >> 17, *st ^= *st << 5;
        *p++ = (unsigned char)*st;
    }
    return 0;
}
static uint32_t rng_state = 0x2545F491u;

/* ---- the wire: one direction of a transport ------------------------------------------- */

typedef struct wire {
    unsigned char buf[64];
    size_t len;
    unsigned step; /* varies the delivery size, as a TCP stream would */
} wire;
static wire to_server, to_client;
static uint32_t bytes_moved;

/* Move what `from` queued into `to`, a few bytes per hop. Returns 1 if anything moved. */
static int carry(ws_conn *from, wire *w, ws_conn *to) {
    static const unsigned sizes[] = {1, 7, 64, 3, 29, 13};
    int moved = 0;
    for (;;) {
        const void *out;
        size_t n = ws_conn_output(from, &out), room = sizeof w->buf - w->len, take, used = 0, i;
        size_t hop = sizes[w->step++ % (sizeof sizes / sizeof sizes[0])];
        take = n < room ? n : room;
        if (take > hop) take = hop;
        for (i = 0; i < take; i++) w->buf[w->len + i] = ((const unsigned char *)out)[i];
        if (take) ws_conn_consume(from, take), w->len += take, moved = 1;
        if (!w->len) break;
        {
            ws_result r = ws_conn_feed(to, w->buf, w->len, &used);
            if (r != WS_OK && r != WS_WOULD_BLOCK) fw_fail(ws_strerror(r));
        }
        /* A stalled feed (its reply needs queue room) keeps the rest for later. */
        for (i = used; i < w->len; i++) w->buf[i - used] = w->buf[i];
        w->len -= used;
        bytes_moved += (uint32_t)used;
        if (used) moved = 1;
        if (!take && !used) break;
    }
    return moved;
}

static uint64_t now_ms;

/* Run both sides until nothing moves, as a main loop would between interrupts. */
static void run(void) {
    unsigned rounds = 0;
    while (carry(&client, &to_server, &server) | carry(&server, &to_client, &client)) {
        ws_conn_tick(&client, now_ms);
        ws_conn_tick(&server, now_ms);
        now_ms += 1;
        if (++rounds > 100000) fw_fail("no end to the traffic");
    }
}

static void check_done(const char *what) {
    if (client_side.head != client_side.tail || server_side.head != server_side.tail) {
        line_n = 0, put("expected events missing after: "), put(what), flush();
        fw_fail(what);
    }
    line_n = 0, put("-- "), put(what), put(": ok"), flush();
}

static void setup(ws_conn *c, ws_role role, side *s, unsigned char *rb, size_t rn,
                  unsigned char *sb, size_t sn) {
    ws_config cfg;
    ws_config_init(&cfg, role);
    cfg.on_event = on_event;
    cfg.user = s;
    cfg.rng = fw_rng;
    cfg.rng_ctx = &rng_state;
    cfg.recv_buf = rb, cfg.recv_buf_size = rn;
    cfg.send_buf = sb, cfg.send_buf_size = sn;
    cfg.ping_interval_ms = 0;
    cfg.close_timeout_ms = 1000;
    if (ws_conn_init(c, &cfg) != WS_OK) fw_fail("ws_conn_init");
}

int main(void) {
    static const char hello[] = "hello from the client";
    static const char frag_all[] = "one message, three frames";
    static unsigned char blob[300];
    static const ws_client_options opts = {NULL, "telemetry, sensor", NULL, NULL, "device.local", "/ws"};
    unsigned i;

    fw_puts("firmware: ws.h client and server in one image, no heap\n");
    for (i = 0; i < sizeof blob; i++) blob[i] = (unsigned char)(i * 7 + 1);

    setup(&client, WS_ROLE_CLIENT, &client_side, client_recv, sizeof client_recv, client_send,
          sizeof client_send);
    setup(&server, WS_ROLE_SERVER, &server_side, server_recv, sizeof server_recv, server_send,
          sizeof server_send);

    /* Opening handshake (§4): the server picks "sensor" of the two offered. */
    want(&server_side, WS_EV_OPEN, 0, 0, "sensor", 6);
    want(&client_side, WS_EV_OPEN, 0, 0, "sensor", 6);
    if (ws_client_start(&client, &opts) != WS_OK) fw_fail("ws_client_start");
    run();
    check_done("handshake");
    if (ws_conn_state(&client) != WS_STATE_OPEN || ws_conn_state(&server) != WS_STATE_OPEN)
        fw_fail("not open");

    /* A text and a binary message, each echoed (§5.6). */
    want(&server_side, WS_EV_MESSAGE, WS_OP_TEXT, 0, hello, sizeof hello - 1);
    want(&client_side, WS_EV_MESSAGE, WS_OP_TEXT, 0, hello, sizeof hello - 1);
    want(&server_side, WS_EV_MESSAGE, WS_OP_BINARY, 0, blob, sizeof blob);
    want(&client_side, WS_EV_MESSAGE, WS_OP_BINARY, 0, blob, sizeof blob);
    if (ws_send(&client, WS_OP_TEXT, hello, sizeof hello - 1) != WS_OK) fw_fail("send text");
    run();
    if (ws_send(&client, WS_OP_BINARY, blob, sizeof blob) != WS_OK) fw_fail("send binary");
    run();
    check_done("text and binary messages echoed");

    /* A message in three frames (§5.4), with a ping between them (§5.5: control frames
       may be interleaved); delivered whole. */
    want(&server_side, WS_EV_PING, 0, 0, "mid", 3);
    want(&client_side, WS_EV_PONG, 0, 0, "mid", 3);
    want(&server_side, WS_EV_MESSAGE, WS_OP_TEXT, 0, frag_all, sizeof frag_all - 1);
    want(&client_side, WS_EV_MESSAGE, WS_OP_TEXT, 0, frag_all, sizeof frag_all - 1);
    if (ws_send_fragment(&client, WS_OP_TEXT, frag_all, 4, 0) != WS_OK) fw_fail("fragment 1");
    run();
    if (ws_ping(&client, "mid", 3) != WS_OK) fw_fail("ping");
    run();
    if (ws_send_fragment(&client, WS_OP_TEXT, frag_all + 4, 9, 0) != WS_OK) fw_fail("fragment 2");
    if (ws_send_fragment(&client, WS_OP_TEXT, frag_all + 13, sizeof frag_all - 14, 1) != WS_OK)
        fw_fail("fragment 3");
    run();
    check_done("fragmented message, ping between fragments");

    /* The server pings; the client's pong is automatic (§5.5.2). */
    want(&client_side, WS_EV_PING, 0, 0, "are you there", 13);
    want(&server_side, WS_EV_PONG, 0, 0, "are you there", 13);
    if (ws_ping(&server, "are you there", 13) != WS_OK) fw_fail("server ping");
    run();
    check_done("server ping, automatic pong");

    /* Close handshake (§7.1.2): the client closes, the server echoes the code, then the
       server closes the transport and the client sees end of file (§7.1.1). */
    want(&server_side, WS_EV_CLOSE, 0, 1000, "bye", 3);
    want(&client_side, WS_EV_CLOSE, 0, 1000, NULL, 0);
    if (ws_close(&client, 1000, "bye", 3) != WS_OK) fw_fail("close");
    run();
    if (ws_conn_wants(&server) != 0) fw_fail("server still wants I/O after the close");
    ws_conn_eof(&client);
    if (ws_conn_state(&client) != WS_STATE_CLOSED || ws_conn_wants(&client) != 0)
        fw_fail("client not closed");
    check_done("close handshake");

    line_n = 0;
    put("figure: bytes carried "), put_u(bytes_moved), put(", stack used (painted) "),
        put_u(fw_stack_used()), put(" bytes, sizeof(ws_conn) "), put_u((uint32_t)sizeof(ws_conn));
    flush();
    fw_puts("firmware: session ok\n");
    return 0;
}
