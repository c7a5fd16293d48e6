/* Memory and resources: a counting allocator (cfg.allocator) proves the limits hold
   under hostile input (declared lengths, endless fragments, pings that are never
   drained, a handshake that never ends), that the zero-allocation mode allocates
   nothing, that ws_conn_free releases everything and an idle connection holds nothing.
   Guard-page tests put every input so that it ends exactly at a PROT_NONE page: any
   read past it faults, and the fault is reported as the failing function and length. */
/* MAP_ANONYMOUS is not in POSIX 2008; glibc and the BSDs show it under these. */
#define _DEFAULT_SOURCE
#define _DARWIN_C_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define WS_IMPLEMENTATION
#include "../testutil.h"

#define RFC_KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define RFC_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
static const char rfc_request[] =
    "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n"
    "Connection: Upgrade\r\nSec-WebSocket-Key: " RFC_KEY "\r\n"
    "Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n"
    "Sec-WebSocket-Version: 13\r\n\r\n";
static const char rfc_response[] =
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Accept: " RFC_ACCEPT "\r\nSec-WebSocket-Protocol: chat\r\n\r\n";

/* ---------------------------------------------------------------------------------
   Everything a test allocates is registered, so a test that fails half-way (cmocka
   longjmps out of it) leaks nothing: the teardown frees what is left, and the leak
   checkers (LSan, valgrind) report only real leaks.
   --------------------------------------------------------------------------------- */
#define MAX_OWNED 64
static void *g_owned[MAX_OWNED];
static tu_log *g_logs[8];

static void own(void *p) {
    size_t i;
    for (i = 0; i < MAX_OWNED; i++)
        if (!g_owned[i]) { g_owned[i] = p; return; }
}
static void disown(void *p) {
    size_t i;
    for (i = 0; i < MAX_OWNED; i++)
        if (g_owned[i] == p) { g_owned[i] = NULL; return; }
}
static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    assert_non_null(p);
    own(p);
    return p;
}
static void xfree(void *p) {
    if (!p) return;
    disown(p);
    free(p);
}

static int cleanup(void **state) {
    size_t i;
    (void)state;
    for (i = 0; i < MAX_OWNED; i++) {
        free(g_owned[i]);
        g_owned[i] = NULL;
    }
    for (i = 0; i < sizeof g_logs / sizeof g_logs[0]; i++) {
        if (g_logs[i]) {
            tu_log_clear(g_logs[i]);
            free(g_logs[i]);
            g_logs[i] = NULL;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------------------------
   Counting allocator
   --------------------------------------------------------------------------------- */
typedef struct m_alloc {
    size_t cur, peak, calls, frees;
    int forbid; /* zero-allocation mode: any call fails the test */
} m_alloc;

static void *m_alloc_fn(void *ctx, size_t n) {
    m_alloc *a = (m_alloc *)ctx;
    void *p;
    if (a->forbid) fail_msg("allocation of %lu bytes in zero-allocation mode", (unsigned long)n);
    p = malloc(n);
    if (!p) return NULL;
    own(p); /* the library's blocks too: a failed test never reaches ws_conn_free */
    a->calls++;
    a->cur += n;
    if (a->cur > a->peak) a->peak = a->cur;
    return p;
}

static void m_free_fn(void *ctx, void *p, size_t n) {
    m_alloc *a = (m_alloc *)ctx;
    if (a->forbid) fail_msg("free in zero-allocation mode");
    assert_true(n <= a->cur);
    a->cur -= n;
    a->frees++;
    xfree(p);
}

/* Growth in place, as a libc realloc does it: the count moves from old to new size,
   never both at once. */
static void *m_realloc_fn(void *ctx, void *p, size_t old, size_t n) {
    m_alloc *a = (m_alloc *)ctx;
    void *q;
    if (a->forbid) fail_msg("reallocation in zero-allocation mode");
    assert_true(old <= a->cur);
    disown(p);
    q = realloc(p, n);
    if (!q) {
        own(p); /* still the caller's */
        return NULL;
    }
    own(q);
    a->calls++;
    a->cur = a->cur - old + n;
    if (a->cur > a->peak) a->peak = a->cur;
    return q;
}

/* tu_on_event, but an OPEN event without a subprotocol ({NULL, 0}) is passed on with
   "" so testutil.h's memcpy(t->protocol, e->protocol.p, 0) never sees NULL (UB). */
static void m_on_event(ws_conn *c, const ws_event *e, void *user) {
    ws_event copy = *e;
    if (!copy.protocol.p) copy.protocol.p = "";
    tu_on_event(c, &copy, user);
}

static void m_config(ws_config *cfg, ws_role role, m_alloc *a, tu_log *log) {
    memset(a, 0, sizeof *a);
    ws_config_init(cfg, role);
    cfg->allocator.ctx = a;
    cfg->allocator.alloc = m_alloc_fn;
    cfg->allocator.free = m_free_fn;
    cfg->allocator.realloc = m_realloc_fn;
    cfg->on_event = m_on_event;
    cfg->user = log;
    cfg->rng = tu_rng;
}

static tu_log *new_log(void) {
    tu_log *log = (tu_log *)calloc(1, sizeof *log);
    size_t i;
    assert_non_null(log);
    for (i = 0; i < sizeof g_logs / sizeof g_logs[0]; i++)
        if (!g_logs[i]) { g_logs[i] = log; break; }
    return log;
}

static void free_log(tu_log *log) {
    size_t i;
    for (i = 0; i < sizeof g_logs / sizeof g_logs[0]; i++)
        if (g_logs[i] == log) g_logs[i] = NULL;
    tu_log_clear(log);
    free(log);
}

/* Output collected by tu_feed_chunked's sink. */
typedef struct sink {
    unsigned char *p;
    size_t n, cap;
} sink;

static void sink_put(const void *d, size_t k, void *ctx) {
    sink *s = (sink *)ctx;
    if (s->n + k > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->n + k) cap *= 2;
        disown(s->p);
        s->p = (unsigned char *)realloc(s->p, cap);
        assert_non_null(s->p);
        own(s->p);
        s->cap = cap;
    }
    memcpy(s->p + s->n, d, k);
    s->n += k;
}

static void sink_drain(ws_conn *c, sink *s) {
    for (;;) {
        const void *out;
        size_t k = ws_conn_output(c, &out);
        if (!k) break;
        sink_put(out, k, s);
        ws_conn_consume(c, k);
    }
}

static const tu_event *find_event(const tu_log *log, ws_event_type t) {
    size_t i;
    for (i = 0; i < log->n; i++)
        if (log->ev[i].type == t) return &log->ev[i];
    return NULL;
}

/* The first frame in out (server output: unmasked); returns its close code or 0. */
static unsigned first_close_code(const unsigned char *p, size_t n) {
    while (n >= 2) {
        ws_frame f;
        int h = ws_frame_decode(p, n, &f);
        if (h < 0 || (size_t)h + f.len > n) return 0;
        if (f.opcode == WS_OP_CLOSE) return f.len >= 2 ? (unsigned)p[h] << 8 | p[h + 1] : 1005;
        p += (size_t)h + f.len, n -= (size_t)h + f.len;
    }
    return 0;
}

/* ---------------------------------------------------------------------------------
   Declared lengths: 2^63-1, 2^62 and max_message+1 never size an allocation
   --------------------------------------------------------------------------------- */
#define MAXMSG ((size_t)64 << 10)
#define MAXQ ((size_t)4096)

static void declared_length(uint64_t len, int streaming) {
    ws_config cfg;
    m_alloc a;
    ws_conn c;
    tu_log *log = new_log();
    unsigned char buf[WS_MAX_HEADER + 1000];
    ws_frame f;
    size_t h, used = 0;
    sink out = {0, 0, 0};
    ws_result r;
    m_config(&cfg, WS_ROLE_SERVER, &a, log);
    cfg.skip_handshake = 1;
    cfg.max_message = MAXMSG;
    cfg.max_queue = MAXQ;
    cfg.streaming = streaming;
    assert_int_equal(ws_conn_init(&c, &cfg), WS_OK);
    memset(&f, 0, sizeof f);
    f.fin = 1, f.opcode = WS_OP_BINARY, f.len = len, f.masked = 1;
    h = ws_frame_encode(buf, &f);
    memset(buf + h, 'x', 1000);
    r = ws_conn_feed(&c, buf, h + 1000, &used);
    if (!streaming) {
        /* 1009 at once, before any payload is buffered */
        assert_int_equal(r, WS_ERR_TOO_BIG);
        sink_drain(&c, &out);
        assert_int_equal(first_close_code(out.p, out.n), WS_CLOSE_TOO_BIG);
        assert_non_null(find_event(log, WS_EV_ERROR));
        assert_true(a.peak <= MAXQ);
    } else {
        /* streaming delivers pieces and never buffers the message */
        size_t i;
        assert_int_equal(r, WS_OK);
        for (i = 0; i < 64; i++) {
            memset(buf, 'y', 1000);
            assert_int_equal(ws_conn_feed(&c, buf, 1000, &used), WS_OK);
            assert_int_equal(used, 1000);
        }
        assert_true(a.peak <= MAXQ);
        assert_int_equal(a.cur, 0);
    }
    assert_true(a.peak <= MAXMSG + MAXQ);
    ws_conn_free(&c);
    assert_int_equal(a.cur, 0);
    xfree(out.p);
    free_log(log);
}

static void test_declared_2_63_minus_1(void **state) {
    (void)state;
    declared_length(UINT64_C(0x7fffffffffffffff), 0);
    declared_length(UINT64_C(0x7fffffffffffffff), 1);
}

static void test_declared_2_62(void **state) {
    (void)state;
    declared_length(UINT64_C(1) << 62, 0);
    declared_length(UINT64_C(1) << 62, 1);
}

static void test_declared_max_message_plus_1(void **state) {
    (void)state;
    declared_length(MAXMSG + 1, 0);
    declared_length(MAXMSG + 1, 1);
}

/* A message split so that its parts together pass max_message: 1009 on the frame that
   would pass it, decided on its declared length. */
static void test_fragments_add_up_past_limit(void **state) {
    ws_config cfg;
    m_alloc a;
    ws_conn c;
    tu_log *log = new_log();
    unsigned char *buf = (unsigned char *)xmalloc(MAXMSG + 64);
    unsigned char *pl = (unsigned char *)xmalloc(MAXMSG);
    size_t n;
    (void)state;
    m_config(&cfg, WS_ROLE_SERVER, &a, log);
    cfg.skip_handshake = 1, cfg.max_message = MAXMSG, cfg.max_queue = MAXQ;
    assert_int_equal(ws_conn_init(&c, &cfg), WS_OK);
    memset(pl, 'a', MAXMSG);
    n = tu_frame(buf, 0, 0, WS_OP_TEXT, 1, pl, MAXMSG / 2);
    assert_int_equal(tu_feed_chunked(&c, buf, n, 0, NULL, NULL), WS_OK);
    n = tu_frame(buf, 1, 0, WS_OP_CONT, 1, pl, MAXMSG / 2 + 1);
    /* only the header: the limit is decided before the payload arrives */
    assert_int_equal(tu_feed_chunked(&c, buf, 8, 0, NULL, NULL), WS_ERR_TOO_BIG);
    assert_true(a.cur <= MAXMSG + MAXQ);
    ws_conn_free(&c);
    assert_int_equal(a.cur, 0);
    xfree(buf);
    xfree(pl);
    free_log(log);
}

/* ---------------------------------------------------------------------------------
   65536 one-byte fragments of one message
   --------------------------------------------------------------------------------- */
#define NFRAG 65536
#define SLACK ((size_t)1024)

static void tiny_fragments(size_t *held_max, size_t *peak, size_t *msg_len) {
    ws_config cfg;
    m_alloc a;
    ws_conn c;
    tu_log *log = new_log();
    unsigned char fr[16];
    size_t i, used;
    const tu_event *ev;
    m_config(&cfg, WS_ROLE_SERVER, &a, log);
    cfg.skip_handshake = 1, cfg.max_message = NFRAG, cfg.max_queue = MAXQ;
    assert_int_equal(ws_conn_init(&c, &cfg), WS_OK);
    *held_max = 0;
    for (i = 0; i < NFRAG; i++) {
        size_t n = tu_frame(fr, i == NFRAG - 1, 0, i ? WS_OP_CONT : WS_OP_TEXT, 1, "a", 1);
        assert_int_equal(ws_conn_feed(&c, fr, n, &used), WS_OK);
        assert_int_equal(used, n);
        if (a.cur > *held_max) *held_max = a.cur;
    }
    ev = find_event(log, WS_EV_MESSAGE);
    assert_non_null(ev);
    *msg_len = ev->len;
    *peak = a.peak;
    assert_int_equal(a.cur, 0); /* released once delivered */
    ws_conn_free(&c);
    assert_int_equal(a.cur, 0);
    free_log(log);
}

/* What the connection holds between calls stays within max_message + a constant. */
static void test_tiny_fragments_held(void **state) {
    size_t held, peak, len;
    (void)state;
    tiny_fragments(&held, &peak, &len);
    assert_int_equal(len, NFRAG);
    print_message("      65536 fragments: held at most %lu bytes, peak %lu (max_message %lu)\n",
                  (unsigned long)held, (unsigned long)peak, (unsigned long)NFRAG);
    assert_true(held <= NFRAG + SLACK);
}

/* Including the moment the assembly buffer grows (old and new copy both live). */
static void test_tiny_fragments_peak(void **state) {
    size_t held, peak, len;
    (void)state;
    tiny_fragments(&held, &peak, &len);
    if (peak > NFRAG + SLACK)
        fail_msg("peak %lu bytes > max_message %lu + %lu while the assembly buffer grows "
                 "(the old and the new buffer are both allocated)",
                 (unsigned long)peak, (unsigned long)NFRAG, (unsigned long)SLACK);
}

/* ---------------------------------------------------------------------------------
   10,000 pings, output never drained
   --------------------------------------------------------------------------------- */
#define NPING 10000

/* 10,000 events do not fit a tu_log: count the pings, check their order. */
static void ping_counter(ws_conn *c, const ws_event *e, void *user) {
    size_t *n = (size_t *)user;
    char want[8];
    (void)c;
    if (e->type != WS_EV_PING) fail_msg("unexpected event %d", (int)e->type);
    snprintf(want, sizeof want, "%05u", (unsigned)*n);
    if (e->len != 5 || memcmp(e->data, want, 5) != 0) fail_msg("ping %lu out of order", (unsigned long)*n);
    (*n)++;
}

static void test_pings_without_draining(void **state) {
    ws_config cfg;
    m_alloc a;
    ws_conn c;
    tu_log *log = new_log();
    unsigned char *in = (unsigned char *)xmalloc((size_t)NPING * 16), *p;
    size_t n = 0, used = 0, off = 0, k, i, pongs = 0, pings = 0;
    sink out = {0, 0, 0};
    ws_result r;
    (void)state;
    m_config(&cfg, WS_ROLE_SERVER, &a, log);
    cfg.on_event = ping_counter, cfg.user = &pings;
    cfg.skip_handshake = 1, cfg.max_queue = MAXQ;
    assert_int_equal(ws_conn_init(&c, &cfg), WS_OK);
    for (i = 0; i < NPING; i++) {
        char pl[8];
        snprintf(pl, sizeof pl, "%05u", (unsigned)i);
        n += tu_frame(in + n, 1, 0, WS_OP_PING, 1, pl, 5);
    }
    /* without draining: it stops with the queue full, and takes nothing more */
    r = ws_conn_feed(&c, in, n, &used);
    assert_int_equal(r, WS_WOULD_BLOCK);
    assert_true(used < n);
    assert_true(ws_conn_queued(&c) <= MAXQ);
    assert_true(a.cur <= MAXQ);
    off = used;
    r = ws_conn_feed(&c, in + off, n - off, &used);
    assert_int_equal(r, WS_WOULD_BLOCK);
    assert_int_equal(used, 0);
    assert_true(ws_conn_queued(&c) <= MAXQ);
    /* draining lets it go on, until every ping is answered */
    while (off < n) {
        sink_drain(&c, &out);
        r = ws_conn_feed(&c, in + off, n - off, &used);
        assert_true(r == WS_OK || r == WS_WOULD_BLOCK);
        off += used;
        assert_true(ws_conn_queued(&c) <= MAXQ);
        assert_true(a.cur <= MAXQ);
    }
    sink_drain(&c, &out);
    print_message("      10000 pings: queue held at most %lu bytes, allocation peak %lu\n",
                  (unsigned long)MAXQ, (unsigned long)a.peak);
    /* 10,000 pongs, in order, same payloads */
    for (p = out.p, k = out.n; k > 0;) {
        ws_frame f;
        int h = ws_frame_decode(p, k, &f);
        char want[8];
        assert_true(h == 2);
        assert_int_equal(f.opcode, WS_OP_PONG);
        assert_int_equal(f.len, 5);
        snprintf(want, sizeof want, "%05u", (unsigned)pongs);
        assert_memory_equal(p + 2, want, 5);
        pongs++;
        p += 7, k -= 7;
    }
    assert_int_equal(pongs, NPING);
    assert_int_equal(pings, NPING);
    assert_true(a.cur <= MAXQ);
    ws_conn_tick(&c, 1); /* idle: the kept queue goes */
    assert_int_equal(a.cur, 0);
    ws_conn_free(&c);
    xfree(out.p);
    xfree(in);
    free_log(log);
}

/* ---------------------------------------------------------------------------------
   A handshake that never ends
   --------------------------------------------------------------------------------- */
static void endless_handshake(size_t max_hs, size_t *held_max, size_t *peak) {
    ws_config cfg;
    m_alloc a;
    ws_conn c;
    tu_log *log = new_log();
    char chunk[100];
    size_t total = 0, used;
    sink out = {0, 0, 0};
    ws_result r = WS_OK;
    const tu_event *ev;
    m_config(&cfg, WS_ROLE_SERVER, &a, log);
    cfg.max_handshake = max_hs;
    assert_int_equal(ws_conn_init(&c, &cfg), WS_OK);
    r = ws_conn_feed(&c, (void *)"GET / HTTP/1.1\r\n", 16, &used);
    assert_int_equal(r, WS_OK);
    memset(chunk, 'a', sizeof chunk);
    chunk[97] = '\r', chunk[98] = '\n', chunk[99] = 'X'; /* lines, never an empty one */
    *held_max = 0;
    while (total < 10 * max_hs + 100000 && r == WS_OK) {
        r = ws_conn_feed(&c, chunk, sizeof chunk, &used);
        total += sizeof chunk;
        if (a.cur > *held_max) *held_max = a.cur;
    }
    assert_int_equal(r, WS_ERR_HS_TOO_LARGE);
    assert_true(total <= max_hs + sizeof chunk); /* it stopped at the limit */
    ev = find_event(log, WS_EV_ERROR);
    assert_non_null(ev);
    assert_int_equal(ev->code, 431);
    sink_drain(&c, &out);
    assert_true(out.n > 12 && memcmp(out.p, "HTTP/1.1 431 ", 13) == 0);
    assert_int_equal(ws_conn_wants(&c) & WS_WANT_READ, 0);
    *peak = a.peak;
    ws_conn_free(&c);
    assert_int_equal(a.cur, 0);
    xfree(out.p);
    free_log(log);
}

static void test_endless_handshake_held(void **state) {
    size_t sizes[] = {4096, 8192, 1000}, i, held, peak;
    (void)state;
    for (i = 0; i < 3; i++) {
        endless_handshake(sizes[i], &held, &peak);
        print_message("      max_handshake %lu: held at most %lu bytes, peak %lu\n",
                      (unsigned long)sizes[i], (unsigned long)held, (unsigned long)peak);
        /* the head buffer within max_handshake, plus the small 431 refusal */
        assert_true(held <= sizes[i] + 256);
    }
}

static void test_endless_handshake_peak(void **state) {
    size_t sizes[] = {4096, 8192, 1000}, i, held, peak;
    (void)state;
    for (i = 0; i < 3; i++) {
        endless_handshake(sizes[i], &held, &peak);
        if (peak > sizes[i] + 256)
            fail_msg("max_handshake %lu: peak %lu bytes while the head buffer grows "
                     "(old and new both allocated)", (unsigned long)sizes[i], (unsigned long)peak);
    }
}

/* ---------------------------------------------------------------------------------
   Zero-allocation mode: caller buffers, an allocator that fails the test if called
   --------------------------------------------------------------------------------- */
static void client_rng_key(void *ctx, char key[WS_KEY_LEN + 1]);

static int fixed_rng(void *ctx, void *buf, size_t len) {
    (void)ctx;
    memset(buf, 0x5a, len);
    return 0;
}

static void client_rng_key(void *ctx, char key[WS_KEY_LEN + 1]) {
    assert_int_equal(ws_make_key(fixed_rng, ctx, key), WS_OK);
}

/* A session on c (already OPEN): messages both ways, fragments, ping/pong, then the
   close handshake started by `closer` (0: us, 1: the peer). Peer frames are masked
   when we are the server. */
static void session(ws_conn *c, tu_log *log, int server, int closer) {
    unsigned char fr[512], out[8192];
    size_t n;
    int m = server;
    static const char greek[] = "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5";
    n = tu_frame(fr, 1, 0, WS_OP_TEXT, m, "Hello", 5);
    assert_int_equal(tu_feed_chunked(c, fr, n, 1, NULL, NULL), WS_OK);
    n = tu_frame(fr, 0, 0, WS_OP_TEXT, m, greek, 5);
    assert_int_equal(tu_feed_chunked(c, fr, n, 0, NULL, NULL), WS_OK);
    n = tu_frame(fr, 1, 0, WS_OP_PING, m, "p", 1);
    assert_int_equal(tu_feed_chunked(c, fr, n, 0, NULL, NULL), WS_OK);
    n = tu_frame(fr, 1, 0, WS_OP_CONT, m, greek + 5, sizeof greek - 6);
    assert_int_equal(tu_feed_chunked(c, fr, n, 3, NULL, NULL), WS_OK);
    memset(fr + 100, 7, 300);
    n = tu_frame(fr, 1, 0, WS_OP_BINARY, m, fr + 100, 60);
    assert_int_equal(tu_feed_chunked(c, fr, n, 0, NULL, NULL), WS_OK);
    assert_int_equal(ws_send(c, WS_OP_TEXT, "hi", 2), WS_OK);
    assert_int_equal(ws_send_fragment(c, WS_OP_BINARY, "ab", 2, 0), WS_OK);
    assert_int_equal(ws_ping(c, "x", 1), WS_OK);
    assert_int_equal(ws_send_fragment(c, WS_OP_BINARY, "cd", 2, 1), WS_OK);
    tu_drain(c, out, sizeof out);
    if (closer == 0) {
        assert_int_equal(ws_close(c, WS_CLOSE_NORMAL, "bye", 3), WS_OK);
        tu_drain(c, out, sizeof out);
        n = tu_frame(fr, 1, 0, WS_OP_CLOSE, m, "\x03\xe8", 2);
        assert_int_equal(tu_feed_chunked(c, fr, n, 0, NULL, NULL), WS_OK);
    } else {
        n = tu_frame(fr, 1, 0, WS_OP_CLOSE, m, "\x03\xe8ok", 4);
        assert_int_equal(tu_feed_chunked(c, fr, n, 0, NULL, NULL), WS_OK);
        tu_drain(c, out, sizeof out);
    }
    assert_int_equal(ws_conn_state(c), WS_STATE_CLOSED);
    assert_int_equal(ws_conn_error(c), WS_OK);
    {
        size_t i, msgs = 0;
        for (i = 0; i < log->n; i++) msgs += log->ev[i].type == WS_EV_MESSAGE;
        assert_int_equal(msgs, 3);
    }
}

static void test_zero_alloc_server(void **state) {
    static unsigned char rbuf[1024], sbuf[1024];
    int closer;
    (void)state;
    for (closer = 0; closer < 2; closer++) {
        ws_config cfg;
        m_alloc a;
        ws_conn c;
        tu_log *log = new_log();
        unsigned char out[2048];
        size_t k;
        m_config(&cfg, WS_ROLE_SERVER, &a, log);
        a.forbid = 1;
        log->accept_protocol = "chat";
        cfg.recv_buf = rbuf, cfg.recv_buf_size = sizeof rbuf;
        cfg.send_buf = sbuf, cfg.send_buf_size = sizeof sbuf;
        assert_int_equal(ws_conn_init(&c, &cfg), WS_OK);
        assert_int_equal(tu_feed_chunked(&c, rfc_request, sizeof rfc_request - 1, 7, NULL, NULL), WS_OK);
        k = tu_drain(&c, out, sizeof out);
        assert_true(k > 12 && memcmp(out, "HTTP/1.1 101 ", 13) == 0);
        assert_int_equal(ws_conn_state(&c), WS_STATE_OPEN);
        session(&c, log, 1, closer);
        ws_conn_free(&c);
        assert_int_equal(a.calls, 0);
        free_log(log);
    }
}

static void test_zero_alloc_client(void **state) {
    static unsigned char rbuf[1024], sbuf[1024];
    int closer;
    (void)state;
    for (closer = 0; closer < 2; closer++) {
        ws_config cfg;
        m_alloc a;
        ws_conn c;
        tu_log *log = new_log();
        ws_client_options o;
        char key[WS_KEY_LEN + 1], acc[WS_ACCEPT_LEN + 1], resp[512];
        unsigned char out[2048];
        int n;
        m_config(&cfg, WS_ROLE_CLIENT, &a, log);
        a.forbid = 1;
        cfg.rng = fixed_rng;
        cfg.recv_buf = rbuf, cfg.recv_buf_size = sizeof rbuf;
        cfg.send_buf = sbuf, cfg.send_buf_size = sizeof sbuf;
        assert_int_equal(ws_conn_init(&c, &cfg), WS_OK);
        memset(&o, 0, sizeof o);
        o.url = "ws://example.com/chat";
        o.protocols = "chat, superchat";
        assert_int_equal(ws_client_start(&c, &o), WS_OK);
        assert_true(tu_drain(&c, out, sizeof out) > 0);
        client_rng_key(NULL, key);
        ws_accept_key(key, WS_KEY_LEN, acc);
        n = snprintf(resp, sizeof resp,
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n"
                     "Sec-WebSocket-Protocol: chat\r\n\r\n", acc);
        assert_int_equal(tu_feed_chunked(&c, resp, (size_t)n, 5, NULL, NULL), WS_OK);
        assert_int_equal(ws_conn_state(&c), WS_STATE_OPEN);
        session(&c, log, 0, closer);
        ws_conn_free(&c);
        assert_int_equal(a.calls, 0);
        free_log(log);
    }
}

/* ---------------------------------------------------------------------------------
   Nothing held: after ws_conn_free, and by an idle OPEN connection
   --------------------------------------------------------------------------------- */
static void test_free_releases_everything(void **state) {
    int role;
    (void)state;
    for (role = 0; role < 2; role++) {
        ws_config cfg;
        m_alloc a;
        ws_conn c;
        tu_log *log = new_log();
        unsigned char fr[300];
        size_t n;
        m_config(&cfg, role ? WS_ROLE_SERVER : WS_ROLE_CLIENT, &a, log);
        cfg.skip_handshake = 1;
        assert_int_equal(ws_conn_init(&c, &cfg), WS_OK);
        /* leave things half done: output queued, a fragmented message buffered */
        assert_int_equal(ws_send(&c, WS_OP_TEXT, "queued", 6), WS_OK);
        n = tu_frame(fr, 0, 0, WS_OP_BINARY, role, "partial", 7);
        assert_int_equal(tu_feed_chunked(&c, fr, n, 0, NULL, NULL), WS_OK);
        assert_true(a.cur > 0);
        ws_conn_free(&c);
        assert_int_equal(a.cur, 0);
        assert_int_equal(a.calls, a.frees);
        free_log(log);
    }
    /* and in the middle of a handshake */
    {
        ws_config cfg;
        m_alloc a;
        ws_conn c;
        tu_log *log = new_log();
        m_config(&cfg, WS_ROLE_SERVER, &a, log);
        assert_int_equal(ws_conn_init(&c, &cfg), WS_OK);
        assert_int_equal(tu_feed_chunked(&c, rfc_request, 40, 0, NULL, NULL), WS_OK);
        assert_true(a.cur > 0);
        ws_conn_free(&c);
        assert_int_equal(a.cur, 0);
        free_log(log);
    }
}

/* Drained and idle: once frames have gone through it, the library may keep a small
   output queue for the next reply (ws.h: WS__KEEP_QUEUE, 4 KiB) until the next tick,
   which releases it. */
#define KEEP_QUEUE 4096
static uint64_t g_now;
static void idle_holds_nothing(ws_conn *c, m_alloc *a) {
    assert_int_equal(ws_conn_queued(c), 0);
    if (a->cur > KEEP_QUEUE) fail_msg("idle after draining, still %lu bytes held", (unsigned long)a->cur);
    ws_conn_tick(c, ++g_now);
    if (a->cur != 0) fail_msg("idle, drained and ticked, still %lu bytes held", (unsigned long)a->cur);
}

static void test_idle_open_holds_nothing(void **state) {
    int role;
    (void)state;
    for (role = 0; role < 2; role++) {
        ws_config cfg;
        m_alloc a;
        ws_conn c;
        tu_log *log = new_log();
        unsigned char fr[300], out[4096];
        size_t n;
        m_config(&cfg, role ? WS_ROLE_SERVER : WS_ROLE_CLIENT, &a, log);
        if (role) {
            assert_int_equal(ws_conn_init(&c, &cfg), WS_OK);
            assert_int_equal(tu_feed_chunked(&c, rfc_request, sizeof rfc_request - 1, 0, NULL, NULL), WS_OK);
        } else {
            ws_client_options o;
            char key[WS_KEY_LEN + 1], acc[WS_ACCEPT_LEN + 1], resp[512];
            int k;
            cfg.rng = fixed_rng;
            assert_int_equal(ws_conn_init(&c, &cfg), WS_OK);
            memset(&o, 0, sizeof o);
            o.url = "ws://example.com/chat";
            o.protocols = "chat";
            assert_int_equal(ws_client_start(&c, &o), WS_OK);
            tu_drain(&c, out, sizeof out);
            client_rng_key(NULL, key);
            ws_accept_key(key, WS_KEY_LEN, acc);
            k = snprintf(resp, sizeof resp,
                         "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                         "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", acc);
            assert_int_equal(tu_feed_chunked(&c, resp, (size_t)k, 0, NULL, NULL), WS_OK);
        }
        tu_drain(&c, out, sizeof out);
        assert_int_equal(ws_conn_state(&c), WS_STATE_OPEN);
        /* A queue that held only the handshake is released as soon as it drains, with
           no tick: a server with many idle connections keeps no queue for them. */
        if (a.cur != 0) fail_msg("handshake drained, still %lu bytes held", (unsigned long)a.cur);
        idle_holds_nothing(&c, &a);
        /* a fragmented message, a ping, sends: once delivered and drained, nothing */
        n = tu_frame(fr, 0, 0, WS_OP_TEXT, role, "ab", 2);
        assert_int_equal(tu_feed_chunked(&c, fr, n, 0, NULL, NULL), WS_OK);
        n = tu_frame(fr, 1, 0, WS_OP_PING, role, "p", 1);
        assert_int_equal(tu_feed_chunked(&c, fr, n, 0, NULL, NULL), WS_OK);
        n = tu_frame(fr, 1, 0, WS_OP_CONT, role, "cd", 2);
        assert_int_equal(tu_feed_chunked(&c, fr, n, 0, NULL, NULL), WS_OK);
        assert_int_equal(ws_send(&c, WS_OP_BINARY, fr, 200), WS_OK);
        tu_drain(&c, out, sizeof out);
        assert_int_equal(ws_conn_state(&c), WS_STATE_OPEN);
        idle_holds_nothing(&c, &a);
        ws_conn_free(&c);
        assert_int_equal(a.cur, 0);
        free_log(log);
    }
}

/* ---------------------------------------------------------------------------------
   Guard pages: inputs that end exactly where a PROT_NONE page begins
   --------------------------------------------------------------------------------- */
static unsigned char *g_page;      /* two pages: data, then the guard */
static size_t g_psz;
static sigjmp_buf g_jmp;
static volatile sig_atomic_t g_armed;

static void on_fault(int sig) {
    if (g_armed) {
        g_armed = 0;
        siglongjmp(g_jmp, sig);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static int guard_setup(void **state) {
    (void)state;
    g_psz = (size_t)sysconf(_SC_PAGESIZE);
    g_page = (unsigned char *)mmap(NULL, 2 * g_psz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (g_page == MAP_FAILED) return -1;
    if (mprotect(g_page + g_psz, g_psz, PROT_NONE) != 0) return -1;
    return 0;
}

static int guard_teardown(void **state) {
    munmap(g_page, 2 * g_psz);
    return cleanup(state);
}

/* bytes[0..n) copied so their last byte is the last before the guard page */
static unsigned char *at_guard(const void *bytes, size_t n) {
    unsigned char *p = g_page + g_psz - n;
    assert_true(n <= g_psz);
    if (n) memcpy(p, bytes, n);
    return p;
}

typedef void (*guard_fn)(unsigned char *p, size_t n);

/* Call fn on every prefix of bytes, each ending at the guard. */
static void guard_prefixes(const char *what, guard_fn fn, const void *bytes, size_t len) {
    struct sigaction sa, old_segv, old_bus;
    volatile size_t k;
    /* our handler, installed here (the test runner has its own for the test body) */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fault;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &old_segv);
    sigaction(SIGBUS, &sa, &old_bus);
    for (k = 0; k <= len; k++) {
        unsigned char *volatile p = at_guard(bytes, k);
        int sig;
        g_armed = 1;
        sig = sigsetjmp(g_jmp, 1);
        if (sig == 0) {
            fn(p, k);
            g_armed = 0;
        } else {
            sigaction(SIGSEGV, &old_segv, NULL);
            sigaction(SIGBUS, &old_bus, NULL);
            fail_msg("%s read past the end of its input: signal %d at length %lu of %lu",
                     what, sig, (unsigned long)k, (unsigned long)len);
        }
    }
    sigaction(SIGSEGV, &old_segv, NULL);
    sigaction(SIGBUS, &old_bus, NULL);
}

static void g_frame_decode(unsigned char *p, size_t n) {
    ws_frame f;
    (void)ws_frame_decode(p, n, &f);
}
static void g_request_parse(unsigned char *p, size_t n) {
    ws_request r;
    (void)ws_request_parse((const char *)p, n, NULL, &r);
}
static void g_head_end(unsigned char *p, size_t n) {
    (void)ws_http_head_end((const char *)p, n, 0, 8192);
    if (n > 10) (void)ws_http_head_end((const char *)p, n, n - 5, 8192);
}
static void g_response_parse(unsigned char *p, size_t n) {
    ws_response r;
    (void)ws_response_parse((const char *)p, n, NULL, RFC_KEY, "chat, superchat", &r);
}
static void g_url_parse(unsigned char *p, size_t n) {
    ws_url u;
    (void)ws_url_parse((const char *)p, n, &u);
}
static void g_utf8(unsigned char *p, size_t n) {
    ws_utf8 v = WS_UTF8_INIT;
    (void)ws_utf8_feed(&v, p, n);
    (void)ws_utf8_check(p, n);
}
static int g_conn_role;
static void g_conn_feed(unsigned char *p, size_t n) {
    ws_config cfg;
    m_alloc a;
    ws_conn c;
    tu_log *log = new_log();
    size_t used;
    m_config(&cfg, g_conn_role ? WS_ROLE_SERVER : WS_ROLE_CLIENT, &a, log);
    cfg.rng = fixed_rng;
    cfg.skip_handshake = 1;
    assert_int_equal(ws_conn_init(&c, &cfg), WS_OK);
    (void)ws_conn_feed(&c, p, n, &used);
    ws_conn_free(&c);
    free_log(log);
}
static void g_conn_feed_hs(unsigned char *p, size_t n) {
    ws_config cfg;
    m_alloc a;
    ws_conn c;
    tu_log *log = new_log();
    size_t used;
    m_config(&cfg, WS_ROLE_SERVER, &a, log);
    assert_int_equal(ws_conn_init(&c, &cfg), WS_OK);
    (void)ws_conn_feed(&c, p, n, &used);
    ws_conn_free(&c);
    free_log(log);
}

static void test_guard_frame_decode(void **state) {
    static const unsigned char v[][14] = {
        {0x81, 0x05}, {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d},
        {0x82, 0x7e, 0x01, 0x00}, {0x82, 0xfe, 0x01, 0x00, 1, 2, 3, 4},
        {0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0}, {0x82, 0xff, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4},
        {0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4}};
    static const size_t len[] = {2, 6, 4, 8, 10, 14, 14};
    size_t i;
    (void)state;
    for (i = 0; i < sizeof len / sizeof len[0]; i++) guard_prefixes("ws_frame_decode", g_frame_decode, v[i], len[i]);
}

static void test_guard_request_parse(void **state) {
    (void)state;
    guard_prefixes("ws_request_parse", g_request_parse, rfc_request, sizeof rfc_request - 1);
    guard_prefixes("ws_request_parse", g_request_parse, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 27);
}

static void test_guard_http_head_end(void **state) {
    (void)state;
    guard_prefixes("ws_http_head_end", g_head_end, rfc_request, sizeof rfc_request - 1);
    guard_prefixes("ws_http_head_end", g_head_end, rfc_response, sizeof rfc_response - 1);
}

static void test_guard_response_parse(void **state) {
    (void)state;
    guard_prefixes("ws_response_parse", g_response_parse, rfc_response, sizeof rfc_response - 1);
    guard_prefixes("ws_response_parse", g_response_parse, "HTTP/1.1 101\r\n\r\n", 16);
}

static void test_guard_url_parse(void **state) {
    static const char *urls[] = {"ws://example.com/chat", "wss://example.com:8443/x?y=1",
                                 "ws://[::1]:9001/", "WSS://[fe80::1]", "ws://a:65535"};
    size_t i;
    (void)state;
    for (i = 0; i < sizeof urls / sizeof urls[0]; i++)
        guard_prefixes("ws_url_parse", g_url_parse, urls[i], strlen(urls[i]));
}

static void test_guard_utf8(void **state) {
    static const char *texts[] = {
        "The quick brown fox \xe2\x80\x94 jumps over \xf0\x9f\x90\xb6 the lazy dog",
        "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", "0123456789012345678901234567890123456789\xe2\x82",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xf4\x8f\xbf\xbf"};
    size_t i;
    (void)state;
    for (i = 0; i < sizeof texts / sizeof texts[0]; i++)
        guard_prefixes("ws_utf8_feed", g_utf8, texts[i], strlen(texts[i]));
}

static void test_guard_conn_feed(void **state) {
    unsigned char buf[1024];
    size_t n = 0;
    (void)state;
    for (g_conn_role = 0; g_conn_role < 2; g_conn_role++) {
        int m = g_conn_role;
        n = 0;
        n += tu_frame(buf + n, 1, 0, WS_OP_TEXT, m, "Hello \xce\xba\xe1\xbd\xb9", 11);
        n += tu_frame(buf + n, 0, 0, WS_OP_BINARY, m, "abc", 3);
        n += tu_frame(buf + n, 1, 0, WS_OP_PING, m, "ping!", 5);
        n += tu_frame(buf + n, 1, 0, WS_OP_CONT, m, "defghijklmnopqrstuvwxyz0123456789", 33);
        memset(buf + 600, 'z', 300);
        n += tu_frame(buf + n, 1, 0, WS_OP_BINARY, m, buf + 600, 200);
        n += tu_frame(buf + n, 1, 0, WS_OP_CLOSE, m, "\x03\xe8" "bye", 5);
        guard_prefixes("ws_conn_feed", g_conn_feed, buf, n);
    }
    memcpy(buf, rfc_request, sizeof rfc_request - 1);
    n = sizeof rfc_request - 1;
    n += tu_frame(buf + n, 1, 0, WS_OP_TEXT, 1, "Hello", 5);
    guard_prefixes("ws_conn_feed (handshake)", g_conn_feed_hs, buf, n);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_declared_2_63_minus_1, cleanup),
        cmocka_unit_test_teardown(test_declared_2_62, cleanup),
        cmocka_unit_test_teardown(test_declared_max_message_plus_1, cleanup),
        cmocka_unit_test_teardown(test_fragments_add_up_past_limit, cleanup),
        cmocka_unit_test_teardown(test_tiny_fragments_held, cleanup),
        cmocka_unit_test_teardown(test_tiny_fragments_peak, cleanup),
        cmocka_unit_test_teardown(test_pings_without_draining, cleanup),
        cmocka_unit_test_teardown(test_endless_handshake_held, cleanup),
        cmocka_unit_test_teardown(test_endless_handshake_peak, cleanup),
        cmocka_unit_test_teardown(test_zero_alloc_server, cleanup),
        cmocka_unit_test_teardown(test_zero_alloc_client, cleanup),
        cmocka_unit_test_teardown(test_free_releases_everything, cleanup),
        cmocka_unit_test_teardown(test_idle_open_holds_nothing, cleanup),
        cmocka_unit_test_setup_teardown(test_guard_frame_decode, guard_setup, guard_teardown),
        cmocka_unit_test_setup_teardown(test_guard_request_parse, guard_setup, guard_teardown),
        cmocka_unit_test_setup_teardown(test_guard_http_head_end, guard_setup, guard_teardown),
        cmocka_unit_test_setup_teardown(test_guard_response_parse, guard_setup, guard_teardown),
        cmocka_unit_test_setup_teardown(test_guard_url_parse, guard_setup, guard_teardown),
        cmocka_unit_test_setup_teardown(test_guard_utf8, guard_setup, guard_teardown),
        cmocka_unit_test_setup_teardown(test_guard_conn_feed, guard_setup, guard_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
