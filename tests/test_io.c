/* Layer 6: ws_stream over read/write callbacks. A client and a server are wired to each
   other through two in-memory byte pipes whose callbacks move at most K bytes per call
   and answer WS_WOULD_BLOCK every other call; the two are pumped alternately until
   nothing moves. Whatever K, nothing may be lost, duplicated or reordered (RFC 6455 §5,
   §7 over a transport that delivers bytes in any pieces). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#define WS_IMPLEMENTATION
#include "testutil.h"

#include <stdio.h>

/* ---------------------------------------------------------------------------------
   An in-memory transport
   --------------------------------------------------------------------------------- */

/* One direction: bytes written, how far they were read, and whether the writer closed. */
typedef struct pipe_buf {
    unsigned char *p;
    size_t n, cap, rpos;
    int closed;
} pipe_buf;

/* One endpoint's side of the transport. */
typedef struct endpoint {
    pipe_buf *in, *out;
    size_t k;              /* at most k bytes per call */
    unsigned reads, writes;
    long fail_read;        /* returned by read when non-zero */
    long fail_write;       /* returned by write once `writes` passes write_ok */
    unsigned write_ok;
    int full;              /* the peer reads nothing: every write would block */
} endpoint;

static void pipe_add(pipe_buf *b, const void *d, size_t n) {
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->n + n) cap *= 2;
        b->p = (unsigned char *)realloc(b->p, cap);
        assert_non_null(b->p);
        b->cap = cap;
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}

/* Every other call would block; else up to k bytes, and 0 once the peer closed and
   everything was read. */
static long ep_read(void *user, void *buf, size_t len) {
    endpoint *e = (endpoint *)user;
    size_t n = e->in->n - e->in->rpos;
    if (e->fail_read) return e->fail_read;
    if (e->reads++ % 2 == 0) return WS_WOULD_BLOCK;
    if (n == 0) return e->in->closed ? 0 : WS_WOULD_BLOCK;
    if (n > len) n = len;
    if (n > e->k) n = e->k;
    memcpy(buf, e->in->p + e->in->rpos, n);
    e->in->rpos += n;
    return (long)n;
}

static long ep_write(void *user, const void *buf, size_t len) {
    endpoint *e = (endpoint *)user;
    size_t n = len < e->k ? len : e->k;
    if (e->fail_write && e->writes >= e->write_ok) return e->fail_write;
    if (e->full || e->writes++ % 2 == 0) return WS_WOULD_BLOCK;
    assert_true(len > 0);
    assert_false(e->out->closed); /* nothing is written after the transport closed */
    pipe_add(e->out, buf, n);
    return (long)n;
}

/* tu_on_event, but an OPEN event without a subprotocol may carry protocol.p == NULL,
   which tu_on_event would hand to memcpy (undefined even for 0 bytes): give it "". */
static void on_event(ws_conn *c, const ws_event *e, void *user) {
    if (e->type == WS_EV_OPEN && e->protocol.p == NULL) {
        ws_event copy = *e;
        assert_int_equal(e->protocol.n, 0);
        copy.protocol.p = "";
        tu_on_event(c, &copy, user);
        return;
    }
    tu_on_event(c, e, user);
}

/* ---------------------------------------------------------------------------------
   A client and a server wired together
   --------------------------------------------------------------------------------- */

typedef struct pair {
    pipe_buf c2s, s2c;
    endpoint ce, se;
    ws_conn client, server;
    ws_stream cs, ss;
    tu_log clog, slog;
    unsigned char cbuf[4096], sbuf[4096];
    int cdone, sdone; /* that side closed its transport (ws_stream_wants said 0) */
} pair;

static pair *pair_new(size_t k, size_t bufcap) {
    pair *p = (pair *)calloc(1, sizeof *p);
    ws_config cfg;
    ws_io io;
    ws_client_options o;
    assert_non_null(p);
    assert_true(bufcap <= sizeof p->cbuf);
    p->ce.in = &p->s2c, p->ce.out = &p->c2s, p->ce.k = k;
    p->se.in = &p->c2s, p->se.out = &p->s2c, p->se.k = k;
    p->slog.echo = 1;

    ws_config_init(&cfg, WS_ROLE_SERVER);
    cfg.on_event = on_event;
    cfg.user = &p->slog;
    assert_int_equal(ws_conn_init(&p->server, &cfg), WS_OK);
    io.read = ep_read, io.write = ep_write, io.user = &p->se;
    ws_stream_init(&p->ss, &p->server, &io, p->sbuf, bufcap);

    ws_config_init(&cfg, WS_ROLE_CLIENT);
    cfg.on_event = on_event;
    cfg.user = &p->clog;
    cfg.rng = tu_rng;
    assert_int_equal(ws_conn_init(&p->client, &cfg), WS_OK);
    io.user = &p->ce;
    ws_stream_init(&p->cs, &p->client, &io, p->cbuf, bufcap);
    memset(&o, 0, sizeof o);
    o.url = "ws://example.com:8080/chat?room=1";
    assert_int_equal(ws_client_start(&p->client, &o), WS_OK);
    return p;
}

static void pair_free(pair *p) {
    ws_conn_free(&p->client);
    ws_conn_free(&p->server);
    tu_log_clear(&p->clog);
    tu_log_clear(&p->slog);
    free(p->c2s.p);
    free(p->s2c.p);
    free(p);
}

/* Pump one side; when it wants nothing more it closes its transport (the peer then
   reads end of file once it has read everything). ws.h: "At most one read per call, so a
   blocking transport blocks at most once", whatever the pump found to feed or write. */
static void pump_side(ws_stream *s, int *done, pipe_buf *out) {
    endpoint *e = (endpoint *)s->io.user;
    unsigned reads = e->reads;
    if (*done) return;
    assert_int_equal(ws_stream_pump(s), WS_OK);
    assert_in_range(e->reads - reads, 0, 1);
    if (ws_stream_wants(s) == 0) {
        *done = 1;
        out->closed = 1;
    }
}

/* Pump client and server alternately until nothing has moved for a few rounds. */
static void pump_until_idle(pair *p) {
    unsigned idle = 0, rounds = 0;
    while (idle < 4) {
        size_t before = p->c2s.n + p->c2s.rpos + p->s2c.n + p->s2c.rpos + p->clog.n +
                        p->slog.n + (size_t)p->cdone + (size_t)p->sdone;
        size_t after;
        pump_side(&p->cs, &p->cdone, &p->c2s);
        pump_side(&p->ss, &p->sdone, &p->s2c);
        after = p->c2s.n + p->c2s.rpos + p->s2c.n + p->s2c.rpos + p->clog.n + p->slog.n +
                (size_t)p->cdone + (size_t)p->sdone;
        idle = after == before ? idle + 1 : 0;
        assert_true(++rounds < 5000000);
    }
}

static size_t count_type(const tu_log *log, ws_event_type type) {
    size_t i, n = 0;
    for (i = 0; i < log->n; i++) n += log->ev[i].type == type;
    return n;
}

/* The events of one type in a log from index `from`, in order. */
static const tu_event *nth_of(const tu_log *log, size_t from, ws_event_type type, size_t nth) {
    size_t i;
    for (i = from; i < log->n; i++)
        if (log->ev[i].type == type && nth-- == 0) return &log->ev[i];
    fail_msg("event %d #%lu missing", (int)type, (unsigned long)nth);
    return NULL;
}

static unsigned char *make_payload(ws_opcode op, size_t n, unsigned seed) {
    unsigned char *p = (unsigned char *)malloc(n ? n : 1);
    size_t i;
    for (i = 0; i < n; i++)
        p[i] = op == WS_OP_TEXT ? (unsigned char)(' ' + (i * 7 + seed) % 95)
                                : (unsigned char)(i * 131u + seed);
    return p;
}

/* ---------------------------------------------------------------------------------
   The whole conversation at every K
   --------------------------------------------------------------------------------- */

static const size_t msg_sizes[] = {0, 1, 125, 126, 127, 1000, 4096, 65535, 65536, 70000};
#define N_MSGS (sizeof msg_sizes / sizeof msg_sizes[0])

/* §4: the opening handshake completes; both sides are OPEN. */
static void check_open(pair *p) {
    pump_until_idle(p);
    assert_int_equal(ws_conn_state(&p->client), WS_STATE_OPEN);
    assert_int_equal(ws_conn_state(&p->server), WS_STATE_OPEN);
    assert_int_equal(count_type(&p->slog, WS_EV_REQUEST), 1);
    assert_int_equal(count_type(&p->slog, WS_EV_OPEN), 1);
    assert_int_equal(count_type(&p->clog, WS_EV_OPEN), 1);
    assert_int_equal(count_type(&p->clog, WS_EV_ERROR), 0);
    assert_int_equal(count_type(&p->slog, WS_EV_ERROR), 0);
}

/* §5.6: messages of 0..70000 bytes, text and binary, echoed back intact and in order. */
static void check_echo(pair *p) {
    unsigned char *pl[N_MSGS];
    size_t i, c0 = p->clog.n, s0 = p->slog.n;
    for (i = 0; i < N_MSGS; i++) {
        ws_opcode op = i % 2 ? WS_OP_BINARY : WS_OP_TEXT;
        pl[i] = make_payload(op, msg_sizes[i], (unsigned)i);
        assert_int_equal(ws_send(&p->client, op, pl[i], msg_sizes[i]), WS_OK);
        if (i == N_MSGS / 2) { /* some go while others are still queued */
            pump_side(&p->cs, &p->cdone, &p->c2s);
            pump_side(&p->ss, &p->sdone, &p->s2c);
        }
    }
    pump_until_idle(p);
    assert_int_equal(count_type(&p->slog, WS_EV_MESSAGE), N_MSGS);
    assert_int_equal(count_type(&p->clog, WS_EV_MESSAGE), N_MSGS);
    for (i = 0; i < N_MSGS; i++) {
        ws_opcode op = i % 2 ? WS_OP_BINARY : WS_OP_TEXT;
        const tu_event *s = nth_of(&p->slog, s0, WS_EV_MESSAGE, i);
        const tu_event *c = nth_of(&p->clog, c0, WS_EV_MESSAGE, i);
        assert_int_equal(s->opcode, op);
        assert_int_equal(s->len, msg_sizes[i]);
        if (msg_sizes[i]) assert_memory_equal(s->data, pl[i], msg_sizes[i]);
        assert_int_equal(c->opcode, op);
        assert_int_equal(c->len, msg_sizes[i]);
        if (msg_sizes[i]) assert_memory_equal(c->data, pl[i], msg_sizes[i]);
        free(pl[i]);
    }
    assert_int_equal(ws_conn_queued(&p->client), 0);
    assert_int_equal(ws_conn_queued(&p->server), 0);
}

/* §5.5.2, §5.5.3: ten pings from one side, ten pongs back with their payloads, in order. */
static void check_pings(ws_conn *from, tu_log *from_log, tu_log *to_log, pair *p) {
    size_t i, f0 = from_log->n, t0 = to_log->n;
    char msg[16];
    for (i = 0; i < 10; i++) {
        sprintf(msg, "ping %u", (unsigned)i);
        assert_int_equal(ws_ping(from, msg, strlen(msg)), WS_OK);
    }
    pump_until_idle(p);
    assert_int_equal(count_type(to_log, WS_EV_PING), 10);
    assert_int_equal(count_type(from_log, WS_EV_PONG), 10);
    for (i = 0; i < 10; i++) {
        const tu_event *pi = nth_of(to_log, t0, WS_EV_PING, i);
        const tu_event *po = nth_of(from_log, f0, WS_EV_PONG, i);
        sprintf(msg, "ping %u", (unsigned)i);
        assert_string_equal((const char *)pi->data, msg);
        assert_string_equal((const char *)po->data, msg);
    }
}

/* §7.1: a clean close from one side; both end CLOSED and want nothing more, the client
   having seen the server's EOF (§7.1.1: the server closes the transport first). */
static void check_close(pair *p, int client_closes) {
    const tu_event *cc, *sc;
    ws_conn *closer = client_closes ? &p->client : &p->server;
    assert_int_equal(ws_close(closer, 1000, "bye", 3), WS_OK);
    pump_until_idle(p);
    assert_int_equal(ws_conn_state(&p->client), WS_STATE_CLOSED);
    assert_int_equal(ws_conn_state(&p->server), WS_STATE_CLOSED);
    assert_int_equal(ws_stream_wants(&p->cs), 0);
    assert_int_equal(ws_stream_wants(&p->ss), 0);
    assert_true(p->cdone && p->sdone);
    assert_true(p->cs.eof);
    assert_int_equal(count_type(&p->clog, WS_EV_ERROR), 0);
    assert_int_equal(count_type(&p->slog, WS_EV_ERROR), 0);
    assert_int_equal(count_type(&p->clog, WS_EV_CLOSE), 1);
    assert_int_equal(count_type(&p->slog, WS_EV_CLOSE), 1);
    cc = nth_of(&p->clog, 0, WS_EV_CLOSE, 0);
    sc = nth_of(&p->slog, 0, WS_EV_CLOSE, 0);
    assert_int_equal(cc->code, 1000);
    assert_int_equal(sc->code, 1000);
    /* the closer's reason reached the other side */
    assert_string_equal((const char *)(client_closes ? sc : cc)->data, "bye");
    /* every byte written was read */
    assert_int_equal(p->c2s.rpos, p->c2s.n);
    assert_int_equal(p->s2c.rpos, p->s2c.n);
}

static void conversation(size_t k, size_t bufcap, int client_closes) {
    pair *p = pair_new(k, bufcap);
    check_open(p);
    check_echo(p);
    check_pings(&p->client, &p->clog, &p->slog, p);
    check_pings(&p->server, &p->slog, &p->clog, p);
    check_close(p, client_closes);
    pair_free(p);
}

static const size_t ks[] = {1, 2, 3, 7, 65536};

/* §4, §5, §7 over a transport moving at most K bytes a call: the client closes. */
static void test_conversation_client_closes(void **state) {
    size_t i;
    (void)state;
    for (i = 0; i < sizeof ks / sizeof ks[0]; i++) conversation(ks[i], 4096, 1);
}

/* §4, §5, §7 over a transport moving at most K bytes a call: the server closes. */
static void test_conversation_server_closes(void **state) {
    size_t i;
    (void)state;
    for (i = 0; i < sizeof ks / sizeof ks[0]; i++) conversation(ks[i], 4096, 0);
}

/* §5: the stream's read buffer may be any size, even smaller than a frame header. */
static void test_small_read_buffers(void **state) {
    (void)state;
    conversation(65536, 1, 1);
    conversation(65536, 5, 0);
    conversation(7, 13, 1);
}

/* ---------------------------------------------------------------------------------
   Transport failures
   --------------------------------------------------------------------------------- */

/* One connection on the in-memory transport (the peer side is not driven). */
typedef struct solo {
    pipe_buf in, out;
    endpoint ep;
    ws_conn c;
    ws_stream s;
    tu_log log;
    unsigned char buf[256];
} solo;

static solo *solo_new(ws_role role, int open) {
    solo *x = (solo *)calloc(1, sizeof *x);
    ws_config cfg;
    ws_io io;
    assert_non_null(x);
    x->ep.in = &x->in, x->ep.out = &x->out, x->ep.k = 3;
    ws_config_init(&cfg, role);
    cfg.on_event = on_event;
    cfg.user = &x->log;
    cfg.rng = tu_rng;
    cfg.skip_handshake = open;
    assert_int_equal(ws_conn_init(&x->c, &cfg), WS_OK);
    io.read = ep_read, io.write = ep_write, io.user = &x->ep;
    ws_stream_init(&x->s, &x->c, &io, x->buf, sizeof x->buf);
    return x;
}

static void solo_free(solo *x) {
    ws_conn_free(&x->c);
    tu_log_clear(&x->log);
    free(x->in.p);
    free(x->out.p);
    free(x);
}

/* The transport failed: the pump says WS_ERR_IO (reported as an ERROR event), the
   connection is over, and the transport is not touched again. */
static void assert_io_failed(solo *x, ws_result r) {
    unsigned reads, writes;
    assert_int_equal(r, WS_ERR_IO);
    assert_int_equal(count_type(&x->log, WS_EV_ERROR), 1);
    assert_int_equal(nth_of(&x->log, 0, WS_EV_ERROR, 0)->error, WS_ERR_IO);
    assert_int_equal(ws_conn_state(&x->c), WS_STATE_CLOSED);
    assert_int_equal(ws_stream_wants(&x->s), 0);
    reads = x->ep.reads, writes = x->ep.writes;
    assert_int_equal(ws_stream_pump(&x->s), WS_ERR_IO);
    assert_int_equal(x->ep.reads, reads);
    assert_int_equal(x->ep.writes, writes);
    assert_int_equal(count_type(&x->log, WS_EV_ERROR), 1);
}

/* Pump until the pump reports something other than WS_OK (bounded). */
static ws_result pump_until_error(solo *x) {
    unsigned i;
    for (i = 0; i < 1000; i++) {
        ws_result r = ws_stream_pump(&x->s);
        if (r != WS_OK) return r;
    }
    return WS_OK;
}

/* A write callback failing hard (-100) while the client's handshake goes out. */
static void test_write_error_in_handshake(void **state) {
    solo *x = solo_new(WS_ROLE_CLIENT, 0);
    ws_client_options o;
    (void)state;
    memset(&o, 0, sizeof o);
    o.url = "ws://example.com/";
    assert_int_equal(ws_client_start(&x->c, &o), WS_OK);
    x->ep.fail_write = -100;
    x->ep.write_ok = 0;
    assert_io_failed(x, pump_until_error(x));
    solo_free(x);
}

/* A write callback failing hard (-100) in the middle of a message, after some bytes. */
static void test_write_error_mid_message(void **state) {
    size_t r;
    (void)state;
    for (r = 0; r < 2; r++) {
        solo *x = solo_new(r ? WS_ROLE_CLIENT : WS_ROLE_SERVER, 1);
        unsigned char *pl = make_payload(WS_OP_BINARY, 1000, 5);
        assert_int_equal(ws_send(&x->c, WS_OP_BINARY, pl, 1000), WS_OK);
        x->ep.fail_write = -100;
        x->ep.write_ok = 20;
        assert_io_failed(x, pump_until_error(x));
        assert_true(x->out.n > 0 && x->out.n < 1000);
        free(pl);
        solo_free(x);
    }
}

/* A read callback failing hard (-100). */
static void test_read_error(void **state) {
    size_t r;
    (void)state;
    for (r = 0; r < 2; r++) {
        solo *x = solo_new(r ? WS_ROLE_CLIENT : WS_ROLE_SERVER, 1);
        x->ep.fail_read = -100;
        assert_io_failed(x, pump_until_error(x));
        solo_free(x);
    }
}

/* §7.1.5, §7.2: the transport ends before the close handshake: 1006, transport done. */
static void test_eof_before_close(void **state) {
    size_t r;
    (void)state;
    for (r = 0; r < 2; r++) {
        solo *x = solo_new(r ? WS_ROLE_CLIENT : WS_ROLE_SERVER, 1);
        unsigned i;
        x->in.closed = 1;
        for (i = 0; i < 10 && ws_stream_wants(&x->s); i++) (void)ws_stream_pump(&x->s);
        assert_int_equal(ws_stream_wants(&x->s), 0);
        assert_int_equal(count_type(&x->log, WS_EV_ERROR), 1);
        assert_int_equal(nth_of(&x->log, 0, WS_EV_ERROR, 0)->error, WS_ERR_EOF);
        assert_int_equal(nth_of(&x->log, 0, WS_EV_ERROR, 0)->code, 1006);
        solo_free(x);
    }
}

/* A 60-byte ping payload numbered i. */
static void ping_payload(unsigned char pl[60], size_t i) {
    memset(pl, (int)('a' + i), 60);
    pl[0] = (unsigned char)i;
}

/* One pump; with a shared read buffer, another connection then scribbles over it, as the
   next socket's read would. */
static ws_result pump_maybe_shared(ws_stream *s, unsigned char *buf, size_t cap, int shared) {
    ws_result r = ws_stream_pump(s);
    if (shared) memset(buf, 0xEE, cap);
    return r;
}

/* Twenty pings read at once by a server whose queue (150 bytes) holds two of their pongs
   while the transport takes no writes: the third ping waits, unread, for their room. */
enum { WAIT_PINGS = 20, WAIT_PL = 60 };
typedef struct pings_waiting {
    ws_conn c;
    ws_stream s;
    pipe_buf in, out;
    endpoint ep;
    tu_log *log;
    int shared;
    unsigned char buf[4096];
} pings_waiting;

static ws_result pings_waiting_pump(pings_waiting *w) {
    return pump_maybe_shared(&w->s, w->buf, sizeof w->buf, w->shared);
}

static pings_waiting *pings_waiting_start(int shared) {
    static unsigned char sendq[WS_MAX_HEADER + WS_MAX_CONTROL + 11]; /* 150 bytes */
    unsigned char frame[WS_MAX_HEADER + WAIT_PL], pl[WAIT_PL];
    pings_waiting *w = (pings_waiting *)calloc(1, sizeof *w);
    ws_config cfg;
    ws_io io;
    size_t i;
    w->log = (tu_log *)calloc(1, sizeof *w->log);
    w->shared = shared;
    w->ep.in = &w->in, w->ep.out = &w->out, w->ep.k = 4096;
    for (i = 0; i < WAIT_PINGS; i++) {
        ping_payload(pl, i);
        pipe_add(&w->in, frame, tu_frame(frame, 1, 0, WS_OP_PING, 1, pl, WAIT_PL));
    }
    ws_config_init(&cfg, WS_ROLE_SERVER);
    cfg.on_event = on_event;
    cfg.user = w->log;
    cfg.skip_handshake = 1;
    cfg.send_buf = sendq;
    cfg.send_buf_size = sizeof sendq;
    assert_int_equal(ws_conn_init(&w->c, &cfg), WS_OK);
    io.read = ep_read, io.write = ep_write, io.user = &w->ep;
    ws_stream_init(&w->s, &w->c, &io, w->buf, sizeof w->buf);
    if (shared) ws_stream_share_buffer(&w->s);
    w->ep.full = 1; /* the pongs cannot leave yet: input must wait between pumps */
    for (i = 0; i < 4; i++) assert_int_equal(pings_waiting_pump(w), WS_OK);
    assert_int_equal(w->in.rpos, w->in.n); /* read at once... */
    assert_int_equal(count_type(w->log, WS_EV_PING), 2); /* two pongs queued */
    assert_true(w->s.pos < w->s.len);                    /* the rest waits */
    w->ep.full = 0;
    return w;
}

static void pings_waiting_end(pings_waiting *w) {
    ws_stream_free(&w->s);
    ws_conn_free(&w->c);
    tu_log_clear(w->log);
    free(w->log);
    free(w->in.p);
    free(w->out.p);
    free(w);
}

/* §5.5.2 through the driver: the waiting pings, with the pongs then written 7 bytes at a
   time (the rest of the input waits in the stream's buffer or, when the buffer is shared,
   in the connection's stash): none is lost and every ping gets its pong, in order. */
static void pings_through_small_queue(int shared) {
    enum { PONG = 2 + WAIT_PL };
    pings_waiting *w = pings_waiting_start(shared);
    unsigned char pl[WAIT_PL];
    size_t i;
    w->ep.k = 7; /* ...written slowly */
    for (i = 0; i < 5000 && w->out.n < WAIT_PINGS * PONG; i++)
        assert_int_equal(pings_waiting_pump(w), WS_OK);
    for (i = 0; i < 8; i++) assert_int_equal(pings_waiting_pump(w), WS_OK);
    assert_int_equal(count_type(w->log, WS_EV_PING), WAIT_PINGS);
    assert_int_equal(w->out.n, WAIT_PINGS * PONG);
    for (i = 0; i < WAIT_PINGS; i++) {
        ws_frame f;
        int h = ws_frame_decode(w->out.p + i * PONG, PONG, &f);
        assert_int_equal(h, 2);
        assert_int_equal(f.opcode, WS_OP_PONG);
        assert_int_equal(f.len, WAIT_PL);
        ping_payload(pl, i);
        assert_memory_equal(w->out.p + i * PONG + 2, pl, WAIT_PL);
    }
    assert_int_equal(ws_stream_wants(&w->s), WS_WANT_READ);
    pings_waiting_end(w);
}

/* The waiting pings, and then a write failing hard (-100): the pump reports WS_ERR_IO,
   nothing more is delivered, the waiting input goes with the connection (none stays in
   the buffer or, when it is shared, in a stash) and the stream wants nothing more. */
static void write_error_with_input_waiting(int shared) {
    pings_waiting *w = pings_waiting_start(shared);
    w->ep.fail_write = -100;
    w->ep.write_ok = 0;
    assert_int_equal(pings_waiting_pump(w), WS_ERR_IO);
    assert_int_equal(count_type(w->log, WS_EV_PING), 2);
    assert_int_equal(w->s.pos, w->s.len);
    assert_int_equal(ws_stream_wants(&w->s), 0);
    assert_int_equal(w->out.n, 0);
    pings_waiting_end(w);
}

static void test_write_error_with_input_waiting(void **state) {
    (void)state;
    write_error_with_input_waiting(0);
    write_error_with_input_waiting(1);
}

static void test_pings_with_fixed_send_buf(void **state) {
    (void)state;
    pings_through_small_queue(0);
}

static void test_pings_with_shared_read_buf(void **state) {
    (void)state;
    pings_through_small_queue(1);
}

/* A transport that takes every write whole and hands over all its input in one read. */
typedef struct flood {
    pipe_buf in, out;
} flood;
static long flood_read(void *user, void *buf, size_t len) {
    flood *f = (flood *)user;
    size_t n = f->in.n - f->in.rpos;
    if (n == 0) return WS_WOULD_BLOCK;
    if (n > len) n = len;
    memcpy(buf, f->in.p + f->in.rpos, n);
    f->in.rpos += n;
    return (long)n;
}
static long flood_write(void *user, const void *buf, size_t len) {
    pipe_add(&((flood *)user)->out, buf, len);
    return (long)len;
}

/* One read brings more pings than one pump answers: a queue with room for one pong (the
   smallest send_buf, 139 bytes) takes a round per ping, and the pump bounds its rounds.
   Between pumps the unfed input must keep the stream wanting something (0 would tell the
   caller to close a healthy connection), and pumping on answers every ping (§5.5.2). */
static void test_more_pings_than_one_pump_answers(void **state) {
    enum { PINGS = 1500, PL = 125, PONG = 2 + PL };
    static unsigned char sendq[WS_MAX_HEADER + WS_MAX_CONTROL];
    static unsigned char buf[PINGS * (6 + PL)];
    unsigned char frame[WS_MAX_HEADER + PL], pl[PL];
    flood *f = (flood *)calloc(1, sizeof *f);
    tu_log *log = (tu_log *)calloc(1, sizeof *log);
    ws_config cfg;
    ws_conn c;
    ws_stream s;
    ws_io io;
    size_t i;
    (void)state;
    for (i = 0; i < PINGS; i++) {
        memset(pl, (int)(i & 0xff), PL);
        pipe_add(&f->in, frame, tu_frame(frame, 1, 0, WS_OP_PING, 1, pl, PL));
    }
    ws_config_init(&cfg, WS_ROLE_SERVER);
    cfg.on_event = on_event, cfg.user = log, cfg.skip_handshake = 1;
    cfg.send_buf = sendq, cfg.send_buf_size = sizeof sendq;
    assert_int_equal(ws_conn_init(&c, &cfg), WS_OK);
    io.read = flood_read, io.write = flood_write, io.user = f;
    ws_stream_init(&s, &c, &io, buf, sizeof buf);
    for (i = 0; i < 20 && f->out.n < PINGS * PONG; i++) {
        assert_int_equal(ws_stream_pump(&s), WS_OK);
        if (ws_stream_wants(&s) == 0) fail_msg("pump %u: wants 0 with %u pings unanswered", (unsigned)i,
                                              (unsigned)(PINGS - f->out.n / PONG));
    }
    assert_true(i > 1); /* more than one pump was needed */
    assert_int_equal(count_type(log, WS_EV_PING), PINGS);
    assert_int_equal(f->out.n, PINGS * PONG);
    assert_int_equal(ws_stream_wants(&s), WS_WANT_READ);
    ws_stream_free(&s);
    ws_conn_free(&c);
    tu_log_clear(log);
    free(log);
    free(f->in.p), free(f->out.p), free(f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conversation_client_closes),
        cmocka_unit_test(test_conversation_server_closes),
        cmocka_unit_test(test_small_read_buffers),
        cmocka_unit_test(test_write_error_in_handshake),
        cmocka_unit_test(test_write_error_mid_message),
        cmocka_unit_test(test_read_error),
        cmocka_unit_test(test_eof_before_close),
        cmocka_unit_test(test_pings_with_fixed_send_buf),
        cmocka_unit_test(test_pings_with_shared_read_buf),
        cmocka_unit_test(test_write_error_with_input_waiting),
        cmocka_unit_test(test_more_pings_than_one_pump_answers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
