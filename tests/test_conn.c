/* Layer 5: the sans-I/O connection (RFC 6455 §5-§8). Connections start OPEN
   (cfg.skip_handshake); the handshake has its own tests. Every input is fed at every
   chunking (tu_feed_chunked) and must give the same events, the same frames queued and
   the same result each time; the assertions then look at the all-at-once run. Both roles:
   a server receives masked frames and sends unmasked ones, a client the other way round. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

/* The default allocator, counted, so the no-allocation mode can be proved. */
void *tc_malloc(size_t n);
void tc_free(void *p);
static size_t tc_mallocs;
void *tc_malloc(size_t n) { tc_mallocs++; return malloc(n); }
void tc_free(void *p) { free(p); }
#define WS_MALLOC(sz) tc_malloc(sz)
#define WS_FREE(p) tc_free(p)

#define WS_IMPLEMENTATION
#include "testutil.h"

/* ---------------------------------------------------------------------------------
   Helpers
   --------------------------------------------------------------------------------- */

static const ws_role roles[2] = {WS_ROLE_SERVER, WS_ROLE_CLIENT};

/* Names the sub-case being run, for failure messages. */
static char where[160];
static void note(ws_role role, const char *what) {
    size_t n = strlen(what);
    if (n > sizeof where - 10) n = sizeof where - 10;
    memcpy(where, role == WS_ROLE_SERVER ? "server: " : "client: ", 8);
    memcpy(where + 8, what, n);
    where[8 + n] = 0;
}

/* A growable byte buffer. */
typedef struct bytes {
    unsigned char *p;
    size_t n, cap;
} bytes;

static void bytes_add(bytes *b, const void *d, size_t n) {
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n) cap *= 2;
        b->p = (unsigned char *)realloc(b->p, cap);
        assert_non_null(b->p);
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->n, d, n);
    b->n += n;
}

static void bytes_free(bytes *b) {
    free(b->p);
    memset(b, 0, sizeof *b);
}

static void sink_bytes(const void *d, size_t n, void *ctx) { bytes_add((bytes *)ctx, d, n); }

static void drain_into(ws_conn *c, bytes *b) {
    const void *p;
    size_t k;
    while ((k = ws_conn_output(c, &p)) > 0) {
        if (b) bytes_add(b, p, k);
        ws_conn_consume(c, k);
    }
}

/* A frame as the peer of a `role` endpoint sends it: masked towards a server (§5.3). */
static void add_frame(bytes *b, int mask, int fin, unsigned rsv, unsigned op, const void *p,
                      size_t n) {
    unsigned char *tmp = (unsigned char *)malloc(n + WS_MAX_HEADER);
    size_t k = tu_frame(tmp, fin, rsv, op, mask, p, n);
    bytes_add(b, tmp, k);
    free(tmp);
}
static void peer(bytes *b, ws_role role, int fin, unsigned op, const void *p, size_t n) {
    add_frame(b, role == WS_ROLE_SERVER, fin, 0, op, p, n);
}
static void peer_s(bytes *b, ws_role role, int fin, unsigned op, const char *s) {
    peer(b, role, fin, op, s, strlen(s));
}
static void peer_close(bytes *b, ws_role role, unsigned code, const char *reason, size_t rlen) {
    unsigned char p[WS_MAX_CONTROL + 8];
    p[0] = (unsigned char)(code >> 8);
    p[1] = (unsigned char)code;
    if (rlen) memcpy(p + 2, reason, rlen);
    peer(b, role, 1, WS_OP_CLOSE, p, 2 + rlen);
}

/* Payloads: text is ASCII, binary uses every byte value. */
static unsigned char *make_payload(ws_opcode op, size_t n, unsigned seed) {
    unsigned char *p = (unsigned char *)malloc(n ? n : 1);
    size_t i;
    for (i = 0; i < n; i++)
        p[i] = op == WS_OP_TEXT ? (unsigned char)('a' + (i + seed) % 26)
                                : (unsigned char)(i * 31u + seed);
    return p;
}

/* What an endpoint wrote, split into frames and unmasked. */
typedef struct oframe {
    ws_frame h;
    size_t hdr;
    unsigned char *data;
    size_t len;
} oframe;
typedef struct oframes {
    oframe f[64];
    size_t n;
} oframes;

/* Asserts the bytes are whole frames, masked exactly when a client sent them (§5.1). */
static void parse_out(const unsigned char *p, size_t n, ws_role role, oframes *o) {
    size_t off = 0;
    o->n = 0;
    while (off < n) {
        oframe *f;
        int h;
        assert_true(o->n < sizeof o->f / sizeof o->f[0]);
        f = &o->f[o->n++];
        h = ws_frame_decode(p + off, n - off, &f->h);
        assert_true(h >= 2);
        assert_int_equal(f->h.masked, role == WS_ROLE_CLIENT);
        assert_int_equal(f->h.rsv, 0);
        assert_true(f->h.len <= n - off - (size_t)h);
        f->hdr = (size_t)h;
        f->len = (size_t)f->h.len;
        f->data = (unsigned char *)malloc(f->len + 1);
        if (f->len) memcpy(f->data, p + off + h, f->len);
        if (f->h.masked) ws_mask(f->data, f->len, f->h.key, 0);
        f->data[f->len] = 0;
        off += (size_t)h + f->len;
    }
}

static void oframes_free(oframes *o) {
    size_t i;
    for (i = 0; i < o->n; i++) free(o->f[i].data);
    o->n = 0;
}

static unsigned close_code(const oframe *f) {
    return f->len >= 2 ? ((unsigned)f->data[0] << 8) | f->data[1] : 0;
}

static void assert_frame(const oframe *f, unsigned op, int fin, const void *data, size_t len) {
    assert_int_equal(f->h.opcode, op);
    assert_int_equal(f->h.fin, fin);
    assert_int_equal(f->len, len);
    if (len) assert_memory_equal(f->data, data, len);
}

static void cfg_init(ws_config *cfg, ws_role role) {
    ws_config_init(cfg, role);
    cfg->on_event = tu_on_event;
    cfg->rng = tu_rng;
    cfg->skip_handshake = 1;
}

/* One connection fed one input at one chunking. */
typedef void (*prep_fn)(ws_conn *c);
typedef struct run {
    ws_conn c;
    ws_config cfg;
    tu_log log;
    bytes out;    /* everything queued while feeding */
    ws_result r;  /* tu_feed_chunked's result */
    unsigned char sbuf[4096], rbuf[4096];
    bytes frag;   /* streaming: the pieces joined so far */
    int joining;
    int live;     /* c is initialised */
} run;

/* Streaming delivers a piece per arrival (one per byte when fed byte by byte), more
   than a tu_log holds: consecutive FRAGMENT pieces of one message are logged as one
   event. A piece with fin=1 ends the joined event, so a wrong fin still shows. */
static void join_flush(run *R) {
    tu_event *t;
    if (!R->joining) return;
    t = &R->log.ev[R->log.n - 1];
    free(t->data);
    t->data = (unsigned char *)malloc(R->frag.n + 1);
    if (R->frag.n) memcpy(t->data, R->frag.p, R->frag.n);
    t->data[R->frag.n] = 0;
    t->len = R->frag.n;
    R->joining = 0;
    R->frag.n = 0;
}

static void on_event_joined(ws_conn *c, const ws_event *e, void *user) {
    run *R = (run *)user;
    tu_log *log = &R->log;
    if (R->joining && e->type == WS_EV_FRAGMENT && e->opcode == log->ev[log->n - 1].opcode) {
        bytes_add(&R->frag, e->data, e->len);
        log->ev[log->n - 1].fin = e->fin;
        if (e->fin) join_flush(R);
        return;
    }
    join_flush(R);
    tu_on_event(c, e, log);
    if (e->type == WS_EV_FRAGMENT && !e->fin) {
        R->joining = 1;
        R->frag.n = 0;
        bytes_add(&R->frag, e->data, e->len);
    }
}

static run *run_new(void) {
    run *R = (run *)calloc(1, sizeof *R);
    assert_non_null(R);
    return R;
}

/* A cfg with send_buf/recv_buf set asks for fixed buffers of those sizes: each run gets
   its own (so a kept run is not disturbed by later ones). */
static void run_start(run *R, const ws_config *cfg, prep_fn prep) {
    R->cfg = *cfg;
    if (R->cfg.on_event == tu_on_event) R->cfg.user = &R->log;
    if (R->cfg.on_event == tu_on_event && R->cfg.streaming) {
        R->cfg.on_event = on_event_joined;
        R->cfg.user = R;
    }
    R->joining = 0;
    if (R->cfg.send_buf) {
        assert_true(R->cfg.send_buf_size <= sizeof R->sbuf);
        R->cfg.send_buf = R->sbuf;
    }
    if (R->cfg.recv_buf) {
        assert_true(R->cfg.recv_buf_size <= sizeof R->rbuf);
        R->cfg.recv_buf = R->rbuf;
    }
    tu_log_clear(&R->log);
    R->out.n = 0;
    R->r = WS_OK;
    assert_int_equal(ws_conn_init(&R->c, &R->cfg), WS_OK);
    R->live = 1;
    assert_int_equal(ws_conn_state(&R->c), WS_STATE_OPEN);
    if (prep) {
        prep(&R->c);
        drain_into(&R->c, NULL);
        tu_log_clear(&R->log);
    }
}

static void run_feed(run *R, const void *in, size_t len, size_t chunk) {
    R->r = tu_feed_chunked(&R->c, in, len, chunk, sink_bytes, &R->out);
    drain_into(&R->c, &R->out);
    join_flush(R);
}

static void run_end(run *R) {
    join_flush(R);
    if (R->live) ws_conn_free(&R->c);
    R->live = 0;
    tu_log_clear(&R->log);
}

static void run_delete(run *R) {
    run_end(R);
    bytes_free(&R->out);
    bytes_free(&R->frag);
    free(R);
}

/* Events with FRAGMENT pieces joined into what they add up to (streaming may cut a
   message into pieces where the input was cut; the bytes and fin must not change). */
typedef struct nev {
    tu_event e;
    bytes d;
} nev;

static size_t normalize(const tu_log *log, nev *out) {
    size_t i, n = 0;
    for (i = 0; i < log->n; i++) {
        const tu_event *e = &log->ev[i];
        if (e->type == WS_EV_FRAGMENT && n && out[n - 1].e.type == WS_EV_FRAGMENT &&
            !out[n - 1].e.fin && out[n - 1].e.opcode == e->opcode) {
            bytes_add(&out[n - 1].d, e->data, e->len);
            out[n - 1].e.fin = e->fin;
            continue;
        }
        memset(&out[n], 0, sizeof out[n]);
        out[n].e = *e;
        bytes_add(&out[n].d, e->data, e->len);
        n++;
    }
    return n;
}

static void runs_equal(run *a, run *b, size_t chunk) {
    nev *na = (nev *)calloc(a->log.n + 1, sizeof *na), *nb = (nev *)calloc(b->log.n + 1, sizeof *nb);
    size_t n1 = normalize(&a->log, na), n2 = normalize(&b->log, nb), i;
    oframes *oa = (oframes *)calloc(2, sizeof *oa), *ob = oa + 1;
    ws_result ra = a->r == WS_ERR_CLOSED ? WS_OK : a->r, rb = b->r == WS_ERR_CLOSED ? WS_OK : b->r;
    if (ra != rb)
        fail_msg("%s: chunk %lu: result %d, all at once %d", where, (unsigned long)chunk, rb, ra);
    if (ws_conn_state(&a->c) != ws_conn_state(&b->c))
        fail_msg("%s: chunk %lu: state differs", where, (unsigned long)chunk);
    if (n1 != n2)
        fail_msg("%s: chunk %lu: %lu events, all at once %lu", where, (unsigned long)chunk,
                 (unsigned long)n2, (unsigned long)n1);
    for (i = 0; i < n1; i++) {
        const tu_event *x = &na[i].e, *y = &nb[i].e;
        if (x->type != y->type || x->opcode != y->opcode || x->fin != y->fin ||
            x->code != y->code || x->error != y->error || na[i].d.n != nb[i].d.n ||
            (na[i].d.n && memcmp(na[i].d.p, nb[i].d.p, na[i].d.n)))
            fail_msg("%s: chunk %lu: event %lu differs", where, (unsigned long)chunk,
                     (unsigned long)i);
    }
    parse_out(a->out.p, a->out.n, a->cfg.role, oa);
    parse_out(b->out.p, b->out.n, b->cfg.role, ob);
    if (oa->n != ob->n)
        fail_msg("%s: chunk %lu: %lu frames queued, all at once %lu", where,
                 (unsigned long)chunk, (unsigned long)ob->n, (unsigned long)oa->n);
    for (i = 0; i < oa->n; i++) {
        const oframe *x = &oa->f[i], *y = &ob->f[i];
        if (x->h.opcode != y->h.opcode || x->h.fin != y->h.fin || x->len != y->len ||
            x->hdr != y->hdr || (x->len && memcmp(x->data, y->data, x->len)))
            fail_msg("%s: chunk %lu: queued frame %lu differs", where, (unsigned long)chunk,
                     (unsigned long)i);
    }
    for (i = 0; i < n1; i++) bytes_free(&na[i].d);
    for (i = 0; i < n2; i++) bytes_free(&nb[i].d);
    oframes_free(oa);
    oframes_free(ob);
    free(oa);
    free(na);
    free(nb);
}

/* Feed `in` to fresh connections at every chunking (1..len for short inputs, else
   1,2,3,7,13,64), compare each with the all-at-once run and return that one (alive). */
static const size_t long_chunks[] = {1, 2, 3, 7, 13, 64};
static run *feed_prep(const ws_config *cfg, prep_fn prep, const void *in, size_t len) {
    run *ref = run_new(), *cur = run_new();
    size_t i, n = len <= 512 ? len : sizeof long_chunks / sizeof long_chunks[0];
    run_start(ref, cfg, prep);
    run_feed(ref, in, len, 0);
    for (i = 0; i < n; i++) {
        size_t chunk = len <= 512 ? i + 1 : long_chunks[i];
        if (chunk >= len) break;
        run_start(cur, cfg, prep);
        run_feed(cur, in, len, chunk);
        runs_equal(ref, cur, chunk);
        run_end(cur);
    }
    run_delete(cur);
    return ref;
}
static run *feed_every(const ws_config *cfg, const bytes *in) {
    return feed_prep(cfg, NULL, in->p, in->n);
}

static void assert_message(const tu_event *e, ws_opcode op, const void *data, size_t len) {
    assert_int_equal(e->type, WS_EV_MESSAGE);
    assert_int_equal(e->opcode, op);
    assert_int_equal(e->len, len);
    if (len) assert_memory_equal(e->data, data, len);
}

static void assert_event(const tu_event *e, ws_event_type type, const char *data) {
    assert_int_equal(e->type, type);
    assert_int_equal(e->len, strlen(data));
    assert_memory_equal(e->data, data, e->len);
}

/* §7.1.7: the connection failed with err/code: one ERROR event and it is the last (nothing
   delivered after it), a close frame with the code queued (and the only close frame),
   CLOSED, the transport to be closed, and the error sticky. */
static void assert_failed(run *R, ws_result err, unsigned code) {
    oframes *o = (oframes *)calloc(1, sizeof *o);
    bytes more = {0};
    size_t i, n, used = 0;
    const tu_event *last;
    ws_role role = R->cfg.role;
    if (R->r != err) fail_msg("%s: feed returned %d, expected %d", where, R->r, err);
    assert_true(R->log.n > 0);
    last = &R->log.ev[R->log.n - 1];
    if (last->type != WS_EV_ERROR || last->error != err || last->code != code)
        fail_msg("%s: last event type %d error %d code %u, expected ERROR %d %u", where,
                 last->type, last->error, last->code, err, code);
    for (i = 0; i + 1 < R->log.n; i++) assert_int_not_equal(R->log.ev[i].type, WS_EV_ERROR);
    parse_out(R->out.p, R->out.n, role, o);
    assert_true(o->n >= 1);
    for (i = 0; i + 1 < o->n; i++) assert_int_not_equal(o->f[i].h.opcode, WS_OP_CLOSE);
    assert_int_equal(o->f[o->n - 1].h.opcode, WS_OP_CLOSE);
    if (close_code(&o->f[o->n - 1]) != code)
        fail_msg("%s: close frame sent with %u, expected %u", where, close_code(&o->f[o->n - 1]),
                 code);
    assert_int_equal(ws_conn_state(&R->c), WS_STATE_CLOSED);
    assert_int_equal(ws_conn_error(&R->c), err);
    assert_int_equal(ws_conn_queued(&R->c), 0);
    assert_int_equal(ws_conn_wants(&R->c), 0);
    /* sticky: a good frame afterwards changes nothing */
    peer_s(&more, role, 1, WS_OP_TEXT, "later");
    n = R->log.n;
    assert_int_equal(ws_conn_feed(&R->c, more.p, more.n, &used), err);
    assert_int_equal(R->log.n, n);
    assert_int_equal(ws_conn_queued(&R->c), 0);
    assert_int_equal(ws_conn_state(&R->c), WS_STATE_CLOSED);
    bytes_free(&more);
    oframes_free(o);
    free(o);
}

/* Feed `bad` followed by a good message at every chunking; the connection must fail. */
static void expect_failure(const ws_config *cfg, const bytes *bad, ws_result err, unsigned code) {
    bytes in = {0};
    run *R;
    bytes_add(&in, bad->p, bad->n);
    peer_s(&in, cfg->role, 1, WS_OP_TEXT, "after");
    R = feed_every(cfg, &in);
    assert_failed(R, err, code);
    run_delete(R);
    bytes_free(&in);
}

static void expect_failure_role(ws_role role, const bytes *bad, ws_result err, unsigned code) {
    ws_config cfg;
    cfg_init(&cfg, role);
    expect_failure(&cfg, bad, err, code);
}

/* ---------------------------------------------------------------------------------
   Messages (§5.2 lengths, §5.4 fragmentation, §5.6 data frames)
   --------------------------------------------------------------------------------- */

/* §5.2, §5.6: text and binary messages at the length-encoding boundaries, both roles. */
static void test_message_sizes(void **state) {
    static const size_t sizes[] = {0, 125, 126, 65535, 65536};
    static const ws_opcode ops[] = {WS_OP_TEXT, WS_OP_BINARY};
    size_t r, o, s;
    (void)state;
    for (r = 0; r < 2; r++)
        for (o = 0; o < 2; o++)
            for (s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
                ws_config cfg;
                bytes in = {0};
                unsigned char *pl = make_payload(ops[o], sizes[s], (unsigned)s);
                run *R;
                note(roles[r], ops[o] == WS_OP_TEXT ? "text size" : "binary size");
                cfg_init(&cfg, roles[r]);
                peer(&in, roles[r], 1, ops[o], pl, sizes[s]);
                R = feed_every(&cfg, &in);
                assert_int_equal(R->r, WS_OK);
                assert_int_equal(R->log.n, 1);
                assert_message(&R->log.ev[0], ops[o], pl, sizes[s]);
                assert_int_equal(R->out.n, 0);
                assert_int_equal(ws_conn_state(&R->c), WS_STATE_OPEN);
                run_delete(R);
                bytes_free(&in);
                free(pl);
            }
}

/* §5.4, §5.5: control frames interleaved with a fragmented message are handled at once
   (pings answered in order), the message is delivered whole after its last fragment. */
static void test_fragmented_with_controls(void **state) {
    size_t r;
    (void)state;
    for (r = 0; r < 2; r++) {
        ws_role role = roles[r];
        ws_config cfg;
        bytes in = {0};
        oframes o;
        run *R;
        note(role, "fragmented + controls");
        cfg_init(&cfg, role);
        peer_s(&in, role, 0, WS_OP_TEXT, "Hel");
        peer_s(&in, role, 1, WS_OP_PING, "p1");
        peer_s(&in, role, 0, WS_OP_CONT, "");
        peer_s(&in, role, 1, WS_OP_PONG, "x");
        peer_s(&in, role, 0, WS_OP_CONT, "lo");
        peer_s(&in, role, 1, WS_OP_PING, "p2");
        peer_s(&in, role, 1, WS_OP_CONT, " world");
        peer_s(&in, role, 0, WS_OP_BINARY, "\x01");
        peer_s(&in, role, 1, WS_OP_PING, "");
        peer_s(&in, role, 1, WS_OP_CONT, "\x02\x03");
        R = feed_every(&cfg, &in);
        assert_int_equal(R->r, WS_OK);
        assert_int_equal(R->log.n, 6);
        assert_event(&R->log.ev[0], WS_EV_PING, "p1");
        assert_event(&R->log.ev[1], WS_EV_PONG, "x");
        assert_event(&R->log.ev[2], WS_EV_PING, "p2");
        assert_message(&R->log.ev[3], WS_OP_TEXT, "Hello world", 11);
        assert_event(&R->log.ev[4], WS_EV_PING, "");
        assert_message(&R->log.ev[5], WS_OP_BINARY, "\x01\x02\x03", 3);
        parse_out(R->out.p, R->out.n, role, &o);
        assert_int_equal(o.n, 3);
        assert_frame(&o.f[0], WS_OP_PONG, 1, "p1", 2);
        assert_frame(&o.f[1], WS_OP_PONG, 1, "p2", 2);
        assert_frame(&o.f[2], WS_OP_PONG, 1, "", 0);
        oframes_free(&o);
        run_delete(R);
        bytes_free(&in);
    }
}

/* §5.4: fragments may be empty; an all-empty fragmented message is an empty message. */
static void test_empty_fragments(void **state) {
    size_t r;
    (void)state;
    for (r = 0; r < 2; r++) {
        ws_role role = roles[r];
        ws_config cfg;
        bytes in = {0};
        run *R;
        note(role, "empty fragments");
        cfg_init(&cfg, role);
        peer_s(&in, role, 0, WS_OP_TEXT, "");
        peer_s(&in, role, 0, WS_OP_CONT, "");
        peer_s(&in, role, 1, WS_OP_CONT, "");
        peer_s(&in, role, 0, WS_OP_BINARY, "");
        peer_s(&in, role, 0, WS_OP_CONT, "abc");
        peer_s(&in, role, 1, WS_OP_CONT, "");
        R = feed_every(&cfg, &in);
        assert_int_equal(R->r, WS_OK);
        assert_int_equal(R->log.n, 2);
        assert_message(&R->log.ev[0], WS_OP_TEXT, "", 0);
        assert_message(&R->log.ev[1], WS_OP_BINARY, "abc", 3);
        assert_int_equal(R->out.n, 0);
        run_delete(R);
        bytes_free(&in);
    }
}

/* §5.4, §5.5.1: a close in the middle of a fragmented message closes; the unfinished
   message is never delivered. */
static void test_close_inside_fragmented(void **state) {
    size_t r;
    (void)state;
    for (r = 0; r < 2; r++) {
        ws_role role = roles[r];
        ws_config cfg;
        bytes in = {0};
        oframes o;
        run *R;
        note(role, "close inside fragmented");
        cfg_init(&cfg, role);
        peer_s(&in, role, 0, WS_OP_TEXT, "ab");
        peer_close(&in, role, 1000, "", 0);
        peer_s(&in, role, 1, WS_OP_CONT, "cd");
        R = feed_every(&cfg, &in);
        assert_int_equal(R->log.n, 1);
        assert_int_equal(R->log.ev[0].type, WS_EV_CLOSE);
        assert_int_equal(R->log.ev[0].code, 1000);
        parse_out(R->out.p, R->out.n, role, &o);
        assert_int_equal(o.n, 1);
        assert_int_equal(o.f[0].h.opcode, WS_OP_CLOSE);
        assert_int_equal(close_code(&o.f[0]), 1000);
        assert_int_equal(ws_conn_state(&R->c), WS_STATE_CLOSED);
        oframes_free(&o);
        run_delete(R);
        bytes_free(&in);
    }
}

/* ---------------------------------------------------------------------------------
   Protocol errors: fail with 1002 (§5.1, §5.2, §5.4, §5.5, §7.1.7)
   --------------------------------------------------------------------------------- */

/* §5.2: opcodes 0x3-0x7 (data) and 0xB-0xF (control) are reserved. */
static void test_reserved_opcodes(void **state) {
    static const unsigned ops[] = {3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF};
    size_t r, i;
    (void)state;
    for (r = 0; r < 2; r++)
        for (i = 0; i < sizeof ops / sizeof ops[0]; i++) {
            bytes bad = {0};
            note(roles[r], "reserved opcode");
            peer_s(&bad, roles[r], 1, ops[i], "x");
            expect_failure_role(roles[r], &bad, WS_ERR_PROTOCOL, 1002);
            bytes_free(&bad);
        }
}

/* §5.2: RSV1/2/3 set without a negotiated extension. */
static void test_rsv_bits(void **state) {
    static const unsigned rsv[] = {4, 2, 1, 7};
    size_t r, i;
    (void)state;
    for (r = 0; r < 2; r++)
        for (i = 0; i < sizeof rsv / sizeof rsv[0]; i++) {
            bytes bad = {0};
            note(roles[r], "rsv bits");
            add_frame(&bad, roles[r] == WS_ROLE_SERVER, 1, rsv[i], WS_OP_TEXT, "x", 1);
            expect_failure_role(roles[r], &bad, WS_ERR_PROTOCOL, 1002);
            bytes_free(&bad);
            /* on a control frame, too */
            add_frame(&bad, roles[r] == WS_ROLE_SERVER, 1, rsv[i], WS_OP_PING, "x", 1);
            expect_failure_role(roles[r], &bad, WS_ERR_PROTOCOL, 1002);
            bytes_free(&bad);
        }
}

/* §5.5: control frames have at most 125 bytes and are never fragmented. */
static void test_control_frame_rules(void **state) {
    static const unsigned ops[] = {WS_OP_PING, WS_OP_PONG, WS_OP_CLOSE};
    unsigned char big[126];
    size_t r, i;
    (void)state;
    memset(big, 'a', sizeof big);
    big[0] = 0x03; /* a valid close code 1000 for the close frame */
    big[1] = 0xe8;
    for (r = 0; r < 2; r++)
        for (i = 0; i < 3; i++) {
            bytes bad = {0};
            note(roles[r], "control frame of 126 bytes");
            peer(&bad, roles[r], 1, ops[i], big, 126);
            expect_failure_role(roles[r], &bad, WS_ERR_PROTOCOL, 1002);
            bytes_free(&bad);
            note(roles[r], "control frame with FIN=0");
            peer(&bad, roles[r], 0, ops[i], big, 2);
            expect_failure_role(roles[r], &bad, WS_ERR_PROTOCOL, 1002);
            bytes_free(&bad);
            note(roles[r], "control frame with FIN=0 inside a fragmented message");
            peer_s(&bad, roles[r], 0, WS_OP_TEXT, "a");
            peer(&bad, roles[r], 0, ops[i], big, 2);
            expect_failure_role(roles[r], &bad, WS_ERR_PROTOCOL, 1002);
            bytes_free(&bad);
        }
}

/* §5.4: a continuation needs a message in progress; a new data frame may not start
   while one is. */
static void test_fragmentation_errors(void **state) {
    size_t r;
    (void)state;
    for (r = 0; r < 2; r++) {
        ws_role role = roles[r];
        bytes bad = {0};
        note(role, "continuation without a start");
        peer_s(&bad, role, 1, WS_OP_CONT, "x");
        expect_failure_role(role, &bad, WS_ERR_PROTOCOL, 1002);
        bytes_free(&bad);
        note(role, "continuation (fin=0) without a start");
        peer_s(&bad, role, 0, WS_OP_CONT, "x");
        expect_failure_role(role, &bad, WS_ERR_PROTOCOL, 1002);
        bytes_free(&bad);
        note(role, "continuation after a finished message");
        peer_s(&bad, role, 1, WS_OP_TEXT, "done");
        peer_s(&bad, role, 1, WS_OP_CONT, "x");
        expect_failure_role(role, &bad, WS_ERR_PROTOCOL, 1002);
        bytes_free(&bad);
        note(role, "TEXT inside a fragmented message");
        peer_s(&bad, role, 0, WS_OP_TEXT, "a");
        peer_s(&bad, role, 1, WS_OP_TEXT, "b");
        expect_failure_role(role, &bad, WS_ERR_PROTOCOL, 1002);
        bytes_free(&bad);
        note(role, "BINARY inside a fragmented message");
        peer_s(&bad, role, 0, WS_OP_TEXT, "a");
        peer_s(&bad, role, 1, WS_OP_PING, "p");
        peer_s(&bad, role, 0, WS_OP_BINARY, "b");
        expect_failure_role(role, &bad, WS_ERR_PROTOCOL, 1002);
        bytes_free(&bad);
    }
}

/* §5.1, §5.3: a server fails on an unmasked frame, a client on a masked one. */
static void test_mask_bit_per_role(void **state) {
    bytes bad = {0};
    (void)state;
    note(WS_ROLE_SERVER, "unmasked frame");
    add_frame(&bad, 0, 1, 0, WS_OP_TEXT, "hi", 2);
    expect_failure_role(WS_ROLE_SERVER, &bad, WS_ERR_PROTOCOL, 1002);
    bytes_free(&bad);
    note(WS_ROLE_SERVER, "unmasked ping");
    add_frame(&bad, 0, 1, 0, WS_OP_PING, "hi", 2);
    expect_failure_role(WS_ROLE_SERVER, &bad, WS_ERR_PROTOCOL, 1002);
    bytes_free(&bad);
    note(WS_ROLE_CLIENT, "masked frame");
    add_frame(&bad, 1, 1, 0, WS_OP_TEXT, "hi", 2);
    expect_failure_role(WS_ROLE_CLIENT, &bad, WS_ERR_PROTOCOL, 1002);
    bytes_free(&bad);
    note(WS_ROLE_CLIENT, "masked ping");
    add_frame(&bad, 1, 1, 0, WS_OP_PING, "hi", 2);
    expect_failure_role(WS_ROLE_CLIENT, &bad, WS_ERR_PROTOCOL, 1002);
    bytes_free(&bad);
}

/* A raw header declaring a 64-bit length (and a few payload bytes after it). */
static void add_len64(bytes *b, ws_role role, const unsigned char len8[8]) {
    unsigned char h[14 + 4];
    size_t n = 0;
    h[n++] = 0x82;
    h[n++] = (unsigned char)((role == WS_ROLE_SERVER ? 0x80 : 0) | 127);
    memcpy(h + n, len8, 8);
    n += 8;
    if (role == WS_ROLE_SERVER) {
        memcpy(h + n, "\x01\x02\x03\x04", 4);
        n += 4;
    }
    memcpy(h + n, "abcd", 4);
    n += 4;
    bytes_add(b, h, n);
}

/* §5.2: the most significant bit of a 64-bit length must be 0. */
static void test_length_top_bit(void **state) {
    static const unsigned char top[8] = {0x80, 0, 0, 0, 0, 0, 0, 5};
    size_t r;
    (void)state;
    for (r = 0; r < 2; r++) {
        bytes bad = {0};
        note(roles[r], "64-bit length with top bit");
        add_len64(&bad, roles[r], top);
        expect_failure_role(roles[r], &bad, WS_ERR_PROTOCOL, 1002);
        bytes_free(&bad);
    }
}

/* ---------------------------------------------------------------------------------
   UTF-8 (§8.1, §5.6): fail with 1007 on the frame holding the bad byte
   --------------------------------------------------------------------------------- */

/* §8.1: invalid text fails at the frame with the bad byte: the later fragments are never
   fed, so the error cannot wait for the end of the message. */
static void test_utf8_fails_early(void **state) {
    static const char *const bad_seqs[] = {"\xff", "\xc0\xaf", "\xed\xa0\x80",
                                           "\xf4\x90\x80\x80", "\x80"};
    size_t r, i;
    (void)state;
    for (r = 0; r < 2; r++)
        for (i = 0; i < sizeof bad_seqs / sizeof bad_seqs[0]; i++) {
            ws_role role = roles[r];
            ws_config cfg;
            bytes bad = {0};
            char p[32];
            run *R;
            cfg_init(&cfg, role);
            note(role, "bad UTF-8 in a first fragment (fin=0)");
            strcpy(p, "ab");
            strcat(p, bad_seqs[i]);
            strcat(p, "cd");
            peer_s(&bad, role, 0, WS_OP_TEXT, p);
            R = feed_every(&cfg, &bad);
            assert_failed(R, WS_ERR_UTF8, 1007);
            run_delete(R);
            bytes_free(&bad);
            note(role, "bad UTF-8 in a middle fragment");
            peer_s(&bad, role, 0, WS_OP_TEXT, "ok \xe2\x82\xac");
            peer_s(&bad, role, 0, WS_OP_CONT, p);
            R = feed_every(&cfg, &bad);
            assert_failed(R, WS_ERR_UTF8, 1007);
            run_delete(R);
            bytes_free(&bad);
            note(role, "bad UTF-8 in an unfragmented message");
            peer_s(&bad, role, 1, WS_OP_TEXT, p);
            expect_failure(&cfg, &bad, WS_ERR_UTF8, 1007);
            bytes_free(&bad);
        }
}

/* §8.1: a code point may be split between fragments (and control frames between). */
static void test_utf8_split_across_fragments(void **state) {
    size_t r;
    (void)state;
    for (r = 0; r < 2; r++) {
        ws_role role = roles[r];
        ws_config cfg;
        bytes in = {0};
        run *R;
        note(role, "code point split across fragments");
        cfg_init(&cfg, role);
        peer_s(&in, role, 0, WS_OP_TEXT, "a\xe2\x82");
        peer_s(&in, role, 1, WS_OP_PING, "");
        peer_s(&in, role, 0, WS_OP_CONT, "\xac\xf0");
        peer_s(&in, role, 0, WS_OP_CONT, "\x9f");
        peer_s(&in, role, 1, WS_OP_CONT, "\x98\x80z");
        R = feed_every(&cfg, &in);
        assert_int_equal(R->r, WS_OK);
        assert_int_equal(R->log.n, 2);
        assert_int_equal(R->log.ev[0].type, WS_EV_PING);
        assert_message(&R->log.ev[1], WS_OP_TEXT, "a\xe2\x82\xac\xf0\x9f\x98\x80z", 9);
        run_delete(R);
        bytes_free(&in);
    }
}

/* §8.1: a text message that ends in the middle of a code point is invalid. */
static void test_utf8_ends_mid_code_point(void **state) {
    size_t r;
    (void)state;
    for (r = 0; r < 2; r++) {
        ws_role role = roles[r];
        bytes bad = {0};
        note(role, "message ends mid code point");
        peer_s(&bad, role, 1, WS_OP_TEXT, "ab\xe2\x82");
        expect_failure_role(role, &bad, WS_ERR_UTF8, 1007);
        bytes_free(&bad);
        note(role, "fragmented message ends mid code point");
        peer_s(&bad, role, 0, WS_OP_TEXT, "ab\xe2");
        peer_s(&bad, role, 1, WS_OP_CONT, "\x82");
        expect_failure_role(role, &bad, WS_ERR_UTF8, 1007);
        bytes_free(&bad);
    }
}

/* ---------------------------------------------------------------------------------
   Limits (§10.4; 1009 per §7.4.1)
   --------------------------------------------------------------------------------- */

/* §10.4, §7.4.1: cfg.max_message = N: N bytes pass, N+1 fail with 1009, whole or in
   fragments. */
static void test_max_message(void **state) {
    enum { N = 1000 };
    static const ws_opcode ops[] = {WS_OP_TEXT, WS_OP_BINARY};
    size_t r, o;
    (void)state;
    for (r = 0; r < 2; r++)
        for (o = 0; o < 2; o++) {
            ws_role role = roles[r];
            ws_config cfg;
            unsigned char *pl = make_payload(ops[o], N + 1, 3);
            bytes in = {0};
            run *R;
            cfg_init(&cfg, role);
            cfg.max_message = N;
            note(role, "message of max_message bytes");
            peer(&in, role, 1, ops[o], pl, N);
            peer(&in, role, 0, ops[o], pl, 400);
            peer(&in, role, 1, WS_OP_CONT, pl + 400, N - 400);
            R = feed_every(&cfg, &in);
            assert_int_equal(R->r, WS_OK);
            assert_int_equal(R->log.n, 2);
            assert_message(&R->log.ev[0], ops[o], pl, N);
            assert_message(&R->log.ev[1], ops[o], pl, N);
            run_delete(R);
            bytes_free(&in);
            note(role, "message of max_message + 1 bytes");
            peer(&in, role, 1, ops[o], pl, N + 1);
            expect_failure(&cfg, &in, WS_ERR_TOO_BIG, 1009);
            bytes_free(&in);
            note(role, "fragments adding up to max_message + 1 bytes");
            peer(&in, role, 0, ops[o], pl, 500);
            peer(&in, role, 1, WS_OP_PING, "", 0);
            peer(&in, role, 1, WS_OP_CONT, pl + 500, N + 1 - 500);
            expect_failure(&cfg, &in, WS_ERR_TOO_BIG, 1009);
            bytes_free(&in);
            note(role, "many fragments adding up to max_message + 1 bytes");
            peer(&in, role, 0, ops[o], pl, 0);
            peer(&in, role, 0, WS_OP_CONT, pl, 600);
            peer(&in, role, 0, WS_OP_CONT, pl + 600, 400);
            peer(&in, role, 1, WS_OP_CONT, pl + 1000, 1);
            expect_failure(&cfg, &in, WS_ERR_TOO_BIG, 1009);
            bytes_free(&in);
            free(pl);
        }
}

/* A runtime allocator that records what it was asked for. */
typedef struct alloc_stats {
    size_t count, max_size, live, bad;
    void *ptrs[256];
    size_t sizes[256];
} alloc_stats;

static void *st_alloc(void *ctx, size_t size) {
    alloc_stats *s = (alloc_stats *)ctx;
    void *p;
    size_t i;
    if (!s) return NULL; /* the ctx must be passed back */
    s->count++;
    if (size > s->max_size) s->max_size = size;
    if (size > ((size_t)64 << 20)) return NULL; /* never hand out absurd sizes */
    p = malloc(size ? size : 1);
    for (i = 0; i < 256 && s->ptrs[i]; i++) {
    }
    if (i == 256) s->bad++;
    else {
        s->ptrs[i] = p;
        s->sizes[i] = size;
    }
    s->live += size;
    return p;
}

static void st_free(void *ctx, void *ptr, size_t size) {
    alloc_stats *s = (alloc_stats *)ctx;
    size_t i;
    if (!ptr) return;
    for (i = 0; i < 256 && s->ptrs[i] != ptr; i++) {
    }
    if (i == 256 || s->sizes[i] != size) s->bad++; /* unknown pointer or wrong size */
    else {
        s->ptrs[i] = NULL;
        s->live -= size;
    }
    free(ptr);
}

/* §10.4: a frame declaring 2^63-1 bytes fails with 1009 before anything is sized by it,
   whatever the limit; the runtime allocator gets its ctx and the sizes it handed out. */
static void test_huge_declared_length(void **state) {
    static const unsigned char huge[8] = {0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    static const size_t limits[] = {0, 1000, (size_t)1 << 20};
    size_t r, l;
    (void)state;
    for (r = 0; r < 2; r++)
        for (l = 0; l < sizeof limits / sizeof limits[0]; l++) {
            alloc_stats *st = (alloc_stats *)calloc(1, sizeof *st);
            ws_config cfg;
            bytes bad = {0};
            note(roles[r], "declared length 2^63-1");
            cfg_init(&cfg, roles[r]);
            cfg.max_message = limits[l];
            cfg.allocator.ctx = st;
            cfg.allocator.alloc = st_alloc;
            cfg.allocator.free = st_free;
            add_len64(&bad, roles[r], huge);
            expect_failure(&cfg, &bad, WS_ERR_TOO_BIG, 1009);
            assert_true(st->max_size <= ((size_t)1 << 20) + 65536);
            assert_int_equal(st->bad, 0);
            assert_int_equal(st->live, 0);
            bytes_free(&bad);
            free(st);
        }
}

/* ---------------------------------------------------------------------------------
   Streaming delivery (§5.4: fragments may be handed on as they arrive)
   --------------------------------------------------------------------------------- */

/* Text that splits code points at most 4 KiB boundaries: "aé€😀" repeated, 'a' padded. */
static unsigned char *make_utf8_text(size_t n) {
    static const char unit[] = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
    unsigned char *p = (unsigned char *)malloc(n ? n : 1);
    size_t i = 0;
    while (i + 10 <= n) {
        memcpy(p + i, unit, 10);
        i += 10;
    }
    while (i < n) p[i++] = 'a';
    return p;
}

/* The pieces of a streamed message in a log: all FRAGMENT events of one opcode, fin
   only on the last, joined into out; the text delivered is valid so far at every piece. */
static void collect_fragments(const tu_log *log, ws_opcode op, bytes *out) {
    ws_utf8 v = WS_UTF8_INIT;
    size_t i, last = 0, seen = 0;
    for (i = 0; i < log->n; i++)
        if (log->ev[i].type == WS_EV_FRAGMENT) last = i, seen = 1;
    assert_true(seen);
    for (i = 0; i < log->n; i++) {
        const tu_event *e = &log->ev[i];
        if (e->type != WS_EV_FRAGMENT) continue;
        assert_int_equal(e->opcode, op);
        assert_int_equal(e->fin, i == last);
        if (op == WS_OP_TEXT) assert_int_equal(ws_utf8_feed(&v, e->data, e->len), WS_OK);
        bytes_add(out, e->data, e->len);
    }
    if (op == WS_OP_TEXT) assert_true(ws_utf8_done(&v));
}

/* §5.4: streaming mode, fixed 4 KiB buffers, no allocation: a 64 KiB text message in
   4 KiB fragments with a ping between arrives as FRAGMENT pieces (fin on the last), the
   ping is answered, at every chunking. */
static void test_streaming_fixed_buffers(void **state) {
    enum { FRAG = 4096, TOTAL = 65536 };
    size_t r;
    (void)state;
    for (r = 0; r < 2; r++) {
        ws_role role = roles[r];
        unsigned char *msg = make_utf8_text(TOTAL);
        ws_config cfg;
        bytes in = {0}, got = {0};
        oframes o;
        size_t off, before = tc_mallocs, i, pings = 0;
        run *R;
        note(role, "streaming 64 KiB");
        cfg_init(&cfg, role);
        cfg.streaming = 1;
        cfg.recv_buf = &cfg; /* run_start swaps in the run's own buffers */
        cfg.recv_buf_size = 4096;
        cfg.send_buf = &cfg;
        cfg.send_buf_size = 4096;
        for (off = 0; off < TOTAL; off += FRAG) {
            peer(&in, role, off + FRAG == TOTAL, off ? WS_OP_CONT : WS_OP_TEXT, msg + off, FRAG);
            if (off == 8 * FRAG) peer_s(&in, role, 1, WS_OP_PING, "mid");
        }
        R = feed_every(&cfg, &in);
        assert_int_equal(R->r, WS_OK);
        for (i = 0; i < R->log.n; i++) {
            assert_true(R->log.ev[i].type == WS_EV_FRAGMENT || R->log.ev[i].type == WS_EV_PING);
            pings += R->log.ev[i].type == WS_EV_PING;
        }
        assert_int_equal(pings, 1);
        collect_fragments(&R->log, WS_OP_TEXT, &got);
        assert_int_equal(got.n, TOTAL);
        assert_memory_equal(got.p, msg, TOTAL);
        parse_out(R->out.p, R->out.n, role, &o);
        assert_int_equal(o.n, 1);
        assert_frame(&o.f[0], WS_OP_PONG, 1, "mid", 3);
        oframes_free(&o);
        run_delete(R);
        assert_int_equal(tc_mallocs, before);
        bytes_free(&in);
        bytes_free(&got);
        free(msg);
    }
}

/* Checks a streamed message piece by piece without keeping it. */
typedef struct stream_check {
    const unsigned char *expect;
    size_t total, off, pieces;
    int fin_seen, bad, others;
    ws_utf8 v;
} stream_check;

static void on_stream_event(ws_conn *c, const ws_event *e, void *user) {
    stream_check *s = (stream_check *)user;
    (void)c;
    if (e->type != WS_EV_FRAGMENT) {
        s->others++;
        return;
    }
    s->pieces++;
    if (s->fin_seen || e->opcode != WS_OP_TEXT || e->len > s->total - s->off ||
        (e->len && memcmp(e->data, s->expect + s->off, e->len)) ||
        ws_utf8_feed(&s->v, e->data, e->len) != WS_OK)
        s->bad++;
    s->off += e->len;
    if (e->fin) {
        s->fin_seen = 1;
        if (s->off != s->total || !ws_utf8_done(&s->v)) s->bad++;
    }
}

/* §5.4: a 16 MiB text message (larger than any buffer) in 4 KiB fragments, streamed
   through 4 KiB fixed buffers with no allocation; text validated piece by piece. */
static void test_streaming_16mib(void **state) {
    enum { FRAG = 4096 };
    const size_t total = (size_t)16 << 20;
    static const size_t chunks[] = {0, 4104, 1000, 65536};
    unsigned char *msg = make_utf8_text(total), *in;
    size_t r, k;
    (void)state;
    in = (unsigned char *)malloc(total + (total / FRAG) * 8);
    assert_non_null(in);
    for (r = 0; r < 2; r++) {
        ws_role role = roles[r];
        size_t off, n = 0;
        note(role, "streaming 16 MiB");
        for (off = 0; off < total; off += FRAG)
            n += tu_frame(in + n, off + FRAG == total, 0, off ? WS_OP_CONT : WS_OP_TEXT,
                          role == WS_ROLE_SERVER, msg + off, FRAG);
        for (k = 0; k < sizeof chunks / sizeof chunks[0]; k++) {
            static unsigned char rbuf[4096], sbuf[4096];
            stream_check sc;
            ws_config cfg;
            ws_conn c;
            size_t before = tc_mallocs;
            if (role == WS_ROLE_CLIENT && k > 1) break; /* keep it fast */
            memset(&sc, 0, sizeof sc);
            sc.expect = msg;
            sc.total = total;
            cfg_init(&cfg, role);
            cfg.on_event = on_stream_event;
            cfg.user = &sc;
            cfg.streaming = 1;
            cfg.recv_buf = rbuf;
            cfg.recv_buf_size = sizeof rbuf;
            cfg.send_buf = sbuf;
            cfg.send_buf_size = sizeof sbuf;
            assert_int_equal(ws_conn_init(&c, &cfg), WS_OK);
            assert_int_equal(tu_feed_chunked(&c, in, n, chunks[k], NULL, NULL), WS_OK);
            assert_int_equal(sc.bad, 0);
            assert_int_equal(sc.others, 0);
            assert_true(sc.fin_seen);
            assert_true(sc.pieces >= total / FRAG);
            assert_int_equal(ws_conn_queued(&c), 0);
            assert_int_equal(ws_conn_state(&c), WS_STATE_OPEN);
            ws_conn_free(&c);
            assert_int_equal(tc_mallocs, before);
        }
    }
    free(in);
    free(msg);
}

/* §8.1 in streaming mode: a piece with a bad byte fails with 1007 and no bad byte reaches
   the application. How much of the valid text before it was handed on depends on how
   the input arrived (a piece is passed on as it comes), so only that it is a valid
   prefix is compared across chunkings. */
static void test_streaming_text_validated(void **state) {
    static const char sent[] = "good \xe2\x82\xac then bad ";
    size_t r, chunk;
    (void)state;
    for (r = 0; r < 2; r++) {
        ws_role role = roles[r];
        ws_config cfg;
        bytes bad = {0};
        run *R = run_new();
        note(role, "streaming bad UTF-8");
        cfg_init(&cfg, role);
        cfg.streaming = 1;
        peer_s(&bad, role, 0, WS_OP_TEXT, "good \xe2\x82");
        peer_s(&bad, role, 0, WS_OP_CONT, "\xac then bad \xc0\xaf!");
        for (chunk = 0; chunk <= bad.n; chunk++) {
            const tu_event *e = &R->log.ev[0];
            ws_utf8 v = WS_UTF8_INIT;
            run_start(R, &cfg, NULL);
            run_feed(R, bad.p, bad.n, chunk);
            assert_failed(R, WS_ERR_UTF8, 1007);
            assert_int_equal(R->log.n, 2); /* the pieces (joined), then the error */
            assert_int_equal(e->type, WS_EV_FRAGMENT);
            assert_int_equal(e->opcode, WS_OP_TEXT);
            assert_int_equal(e->fin, 0);
            assert_true(e->len >= 7 && e->len < sizeof sent);
            assert_memory_equal(e->data, sent, e->len);
            assert_int_equal(ws_utf8_feed(&v, e->data, e->len), WS_OK);
            run_end(R);
        }
        run_delete(R);
        bytes_free(&bad);
    }
}

/* ---------------------------------------------------------------------------------
   Ping and pong (§5.5.2, §5.5.3)
   --------------------------------------------------------------------------------- */

/* The RNG's output, recorded, so a client's masking keys can be traced to it (§5.3). */
static unsigned char rng_seen[16384];
static size_t rng_seen_n;
static int rec_rng(void *ctx, void *buf, size_t len) {
    int r = tu_rng(ctx, buf, len);
    if (rng_seen_n + len <= sizeof rng_seen) {
        memcpy(rng_seen + rng_seen_n, buf, len);
        rng_seen_n += len;
    }
    return r;
}
static int rng_produced(const unsigned char key[4]) {
    size_t i;
    for (i = 0; i + 4 <= rng_seen_n; i++)
        if (!memcmp(rng_seen + i, key, 4)) return 1;
    return 0;
}

/* Ten pings in a row (lengths 0..125) -> ten pongs with the same payloads, in order. */
static void ten_pings(ws_role role, size_t send_buf_size) {
    ws_config cfg;
    bytes in = {0};
    unsigned char pl[10][WS_MAX_CONTROL];
    size_t lens[10], i;
    oframes o;
    run *R;
    cfg_init(&cfg, role);
    if (send_buf_size) {
        cfg.send_buf = &cfg; /* run_start swaps in the run's own buffer */
        cfg.send_buf_size = send_buf_size;
    }
    for (i = 0; i < 10; i++) {
        lens[i] = i == 9 ? WS_MAX_CONTROL : i * 13;
        memset(pl[i], (int)('0' + i), lens[i]);
        peer(&in, role, 1, WS_OP_PING, pl[i], lens[i]);
    }
    R = feed_every(&cfg, &in);
    assert_int_equal(R->r, WS_OK);
    assert_int_equal(R->log.n, 10);
    parse_out(R->out.p, R->out.n, role, &o);
    assert_int_equal(o.n, 10);
    for (i = 0; i < 10; i++) {
        assert_int_equal(R->log.ev[i].type, WS_EV_PING);
        assert_int_equal(R->log.ev[i].len, lens[i]);
        if (lens[i]) assert_memory_equal(R->log.ev[i].data, pl[i], lens[i]);
        assert_frame(&o.f[i], WS_OP_PONG, 1, pl[i], lens[i]);
    }
    oframes_free(&o);
    run_delete(R);
    bytes_free(&in);
}

/* §5.5.2, §5.5.3: every ping answered by a pong with its payload, in order. */
static void test_ten_pings(void **state) {
    (void)state;
    note(WS_ROLE_SERVER, "ten pings");
    ten_pings(WS_ROLE_SERVER, 0);
    note(WS_ROLE_CLIENT, "ten pings");
    ten_pings(WS_ROLE_CLIENT, 0);
}

/* §5.5.2: with a 256-byte send queue the pongs do not fit at once; feeding stops with
   WS_WOULD_BLOCK, the output is drained, and still every ping gets its pong in order. */
static void test_ten_pings_tiny_send_buf(void **state) {
    (void)state;
    note(WS_ROLE_SERVER, "ten pings, 256-byte send_buf");
    ten_pings(WS_ROLE_SERVER, 256);
    note(WS_ROLE_CLIENT, "ten pings, 256-byte send_buf");
    ten_pings(WS_ROLE_CLIENT, 256);
}

/* §5.3, §5.5.3: a client's pongs are masked with keys from the caller's RNG. */
static void test_client_pong_masked(void **state) {
    ws_config cfg;
    ws_conn c;
    tu_log *log = (tu_log *)calloc(1, sizeof *log);
    bytes in = {0}, out = {0};
    oframes o;
    size_t i, used = 0, same = 0;
    (void)state;
    cfg_init(&cfg, WS_ROLE_CLIENT);
    cfg.rng = rec_rng;
    cfg.user = log;
    rng_seen_n = 0;
    assert_int_equal(ws_conn_init(&c, &cfg), WS_OK);
    for (i = 0; i < 10; i++) peer_s(&in, WS_ROLE_CLIENT, 1, WS_OP_PING, "same payload");
    assert_int_equal(ws_conn_feed(&c, in.p, in.n, &used), WS_OK);
    assert_int_equal(used, in.n);
    drain_into(&c, &out);
    parse_out(out.p, out.n, WS_ROLE_CLIENT, &o);
    assert_int_equal(o.n, 10);
    for (i = 0; i < 10; i++) {
        assert_frame(&o.f[i], WS_OP_PONG, 1, "same payload", 12);
        assert_true(rng_produced(o.f[i].h.key));
        if (i && !memcmp(o.f[i].h.key, o.f[i - 1].h.key, 4)) same++;
    }
    assert_true(same < 9); /* not one key reused */
    oframes_free(&o);
    ws_conn_free(&c);
    tu_log_clear(log);
    free(log);
    bytes_free(&in);
    bytes_free(&out);
}

/* §5.5.3: an unsolicited pong is reported and not answered. */
static void test_unsolicited_pong(void **state) {
    size_t r;
    (void)state;
    for (r = 0; r < 2; r++) {
        ws_config cfg;
        bytes in = {0};
        run *R;
        note(roles[r], "unsolicited pong");
        cfg_init(&cfg, roles[r]);
        peer_s(&in, roles[r], 1, WS_OP_PONG, "heartbeat");
        peer_s(&in, roles[r], 1, WS_OP_PONG, "");
        R = feed_every(&cfg, &in);
        assert_int_equal(R->r, WS_OK);
        assert_int_equal(R->log.n, 2);
        assert_event(&R->log.ev[0], WS_EV_PONG, "heartbeat");
        assert_event(&R->log.ev[1], WS_EV_PONG, "");
        assert_int_equal(R->out.n, 0);
        run_delete(R);
        bytes_free(&in);
    }
}

/* ---------------------------------------------------------------------------------
   Closing (§5.5.1, §7)
   --------------------------------------------------------------------------------- */

/* A clean close reached CLOSED: a server wants the transport closed now; a client waits
   for the server's EOF (§7.1.1), which is not an error. */
static void assert_clean_closed(run *R) {
    size_t n = R->log.n, i;
    assert_int_equal(ws_conn_state(&R->c), WS_STATE_CLOSED);
    assert_int_equal(ws_conn_error(&R->c), WS_OK);
    assert_int_equal(ws_conn_queued(&R->c), 0);
    if (R->cfg.role == WS_ROLE_SERVER) {
        assert_int_equal(ws_conn_wants(&R->c), 0);
    } else {
        assert_int_equal(ws_conn_wants(&R->c), WS_WANT_READ);
        ws_conn_eof(&R->c);
        assert_int_equal(ws_conn_wants(&R->c), 0);
        for (i = n; i < R->log.n; i++) assert_int_not_equal(R->log.ev[i].type, WS_EV_ERROR);
    }
}

/* §5.5.1, §7.4: the peer's close (every valid code, with a reason) is reported and its
   code echoed; the connection is then CLOSED. */
static void test_close_echo(void **state) {
    static const unsigned codes[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010,
                                     1011, 1012, 1013, 1014, 3000, 4000, 4999};
    size_t r, i;
    (void)state;
    for (r = 0; r < 2; r++)
        for (i = 0; i < sizeof codes / sizeof codes[0]; i++) {
            ws_role role = roles[r];
            ws_config cfg;
            bytes in = {0};
            oframes o;
            run *R;
            note(role, "peer's close");
            cfg_init(&cfg, role);
            peer_close(&in, role, codes[i], "done \xe2\x82\xac", 8);
            R = feed_every(&cfg, &in);
            assert_int_equal(R->r, WS_OK);
            assert_int_equal(R->log.n, 1);
            assert_event(&R->log.ev[0], WS_EV_CLOSE, "done \xe2\x82\xac");
            assert_int_equal(R->log.ev[0].code, codes[i]);
            parse_out(R->out.p, R->out.n, role, &o);
            assert_int_equal(o.n, 1);
            assert_int_equal(o.f[0].h.opcode, WS_OP_CLOSE);
            assert_int_equal(close_code(&o.f[0]), codes[i]);
            assert_int_equal(ws_utf8_check(o.f[0].data + 2, o.f[0].len - 2), WS_OK);
            oframes_free(&o);
            assert_clean_closed(R);
            run_delete(R);
            bytes_free(&in);
        }
}

/* §7.1.5, §7.4.1: an empty close is reported as 1005, and answered with an empty close
   (1005 never goes on the wire). */
static void test_close_empty(void **state) {
    size_t r;
    (void)state;
    for (r = 0; r < 2; r++) {
        ws_role role = roles[r];
        ws_config cfg;
        bytes in = {0};
        oframes o;
        run *R;
        note(role, "empty close");
        cfg_init(&cfg, role);
        peer(&in, role, 1, WS_OP_CLOSE, "", 0);
        R = feed_every(&cfg, &in);
        assert_int_equal(R->log.n, 1);
        assert_int_equal(R->log.ev[0].type, WS_EV_CLOSE);
        assert_int_equal(R->log.ev[0].code, 1005);
        assert_int_equal(R->log.ev[0].len, 0);
        parse_out(R->out.p, R->out.n, role, &o);
        assert_int_equal(o.n, 1);
        assert_frame(&o.f[0], WS_OP_CLOSE, 1, "", 0);
        oframes_free(&o);
        assert_clean_closed(R);
        run_delete(R);
        bytes_free(&in);
    }
}

/* §5.5.1, §7.4: a 1-byte close body, or a code that may not be sent, fails with 1002;
   a reason that is not UTF-8 with 1007. */
static void test_close_invalid(void **state) {
    static const unsigned codes[] = {0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535};
    size_t r, i;
    (void)state;
    for (r = 0; r < 2; r++) {
        ws_role role = roles[r];
        bytes bad = {0};
        note(role, "1-byte close body");
        peer(&bad, role, 1, WS_OP_CLOSE, "\x03", 1);
        expect_failure_role(role, &bad, WS_ERR_PROTOCOL, 1002);
        bytes_free(&bad);
        for (i = 0; i < sizeof codes / sizeof codes[0]; i++) {
            char what[64];
            sprintf(what, "close code %u", codes[i]);
            note(role, what);
            peer_close(&bad, role, codes[i], "", 0);
            expect_failure_role(role, &bad, WS_ERR_PROTOCOL, 1002);
            bytes_free(&bad);
        }
        note(role, "close reason with bad UTF-8");
        peer_close(&bad, role, 1000, "bye \xff", 5);
        expect_failure_role(role, &bad, WS_ERR_UTF8, 1007);
        bytes_free(&bad);
        note(role, "close reason ending mid code point");
        peer_close(&bad, role, 1000, "bye \xe2\x82", 6);
        expect_failure_role(role, &bad, WS_ERR_UTF8, 1007);
        bytes_free(&bad);
    }
}

/* §5.5.1, §7.1.4: nothing after the peer's close is processed: no message, no pong. */
static void test_data_after_close_dropped(void **state) {
    size_t r;
    (void)state;
    for (r = 0; r < 2; r++) {
        ws_role role = roles[r];
        ws_config cfg;
        bytes in = {0};
        oframes o;
        run *R;
        note(role, "data after close");
        cfg_init(&cfg, role);
        peer_close(&in, role, 1000, "", 0);
        peer_s(&in, role, 1, WS_OP_TEXT, "late");
        peer_s(&in, role, 1, WS_OP_PING, "late");
        peer_close(&in, role, 1000, "", 0);
        R = feed_every(&cfg, &in);
        assert_true(R->r == WS_OK || R->r == WS_ERR_CLOSED);
        assert_int_equal(R->log.n, 1);
        assert_int_equal(R->log.ev[0].type, WS_EV_CLOSE);
        parse_out(R->out.p, R->out.n, role, &o);
        assert_int_equal(o.n, 1);
        assert_int_equal(o.f[0].h.opcode, WS_OP_CLOSE);
        oframes_free(&o);
        assert_clean_closed(R);
        run_delete(R);
        bytes_free(&in);
    }
}

static void close_bye(ws_conn *c) { assert_int_equal(ws_close(c, 1000, "bye", 3), WS_OK); }

/* §7.1.2, §5.5.1: ws_close sends the close and nothing more; the peer's reply ends it. */
static void test_close_initiated(void **state) {
    size_t r;
    (void)state;
    for (r = 0; r < 2; r++) {
        ws_role role = roles[r];
        ws_config cfg;
        ws_conn c;
        tu_log *log = (tu_log *)calloc(1, sizeof *log);
        bytes out = {0}, in = {0};
        oframes o;
        run *R;
        note(role, "ws_close then the peer's close");
        cfg_init(&cfg, role);
        cfg.user = log;
        assert_int_equal(ws_conn_init(&c, &cfg), WS_OK);
        assert_int_equal(ws_close(&c, 1000, "bye", 3), WS_OK);
        assert_int_equal(ws_conn_state(&c), WS_STATE_CLOSING);
        assert_int_equal(ws_conn_queued(&c), role == WS_ROLE_SERVER ? 7u : 11u);
        assert_true(ws_conn_wants(&c) & WS_WANT_WRITE);
        assert_int_equal(ws_send(&c, WS_OP_TEXT, "x", 1), WS_ERR_CLOSED);
        assert_int_not_equal(ws_send_fragment(&c, WS_OP_TEXT, "x", 1, 0), WS_OK);
        assert_int_not_equal(ws_ping(&c, "x", 1), WS_OK);
        assert_int_not_equal(ws_close(&c, 1000, NULL, 0), WS_OK);
        assert_int_equal(ws_conn_queued(&c), role == WS_ROLE_SERVER ? 7u : 11u);
        drain_into(&c, &out);
        parse_out(out.p, out.n, role, &o);
        assert_int_equal(o.n, 1);
        assert_frame(&o.f[0], WS_OP_CLOSE, 1, "\x03\xe8" "bye", 5);
        oframes_free(&o);
        assert_int_equal(ws_conn_state(&c), WS_STATE_CLOSING);
        assert_true(ws_conn_wants(&c) & WS_WANT_READ);
        ws_conn_free(&c);
        free(log);
        bytes_free(&out);

        /* the peer's reply, at every chunking: reported, not answered, CLOSED */
        peer_close(&in, role, 1000, "ok", 2);
        R = feed_prep(&cfg, close_bye, in.p, in.n);
        assert_int_equal(R->log.n, 1);
        assert_event(&R->log.ev[0], WS_EV_CLOSE, "ok");
        assert_int_equal(R->log.ev[0].code, 1000);
        assert_int_equal(R->out.n, 0);
        assert_clean_closed(R);
        run_delete(R);
        bytes_free(&in);
    }
}

/* §7.1.7, §5.5.1: a broken close reply after ours fails the connection, but no second
   close frame goes out (ours already did), so WS_EV_ERROR says 1006 (no close code
   sent, §7.1.5), not the 1002/1007 it would have sent: a one-byte close, a code that
   may not be sent (§7.4.2), a reason that is not UTF-8 (§8.1). */
static void test_bad_close_reply_after_ours(void **state) {
    static const char *const bodies[] = {"\x03", "\x03\xe7", "\x03\xe8\xff"};
    static const ws_result errors[] = {WS_ERR_PROTOCOL, WS_ERR_PROTOCOL, WS_ERR_UTF8};
    size_t r, k;
    (void)state;
    for (r = 0; r < 2; r++)
        for (k = 0; k < 3; k++) {
            ws_role role = roles[r];
            ws_config cfg;
            bytes in = {0};
            run *R;
            const tu_event *e;
            note(role, "a bad close reply after our close");
            cfg_init(&cfg, role);
            peer(&in, role, 1, WS_OP_CLOSE, bodies[k], strlen(bodies[k]));
            R = feed_prep(&cfg, close_bye, in.p, in.n);
            assert_int_equal(R->log.n, 1);
            e = &R->log.ev[0];
            assert_int_equal(e->type, WS_EV_ERROR);
            assert_int_equal(e->error, errors[k]);
            assert_int_equal(e->code, WS_CLOSE_ABNORMAL);
            assert_int_equal(R->out.n, 0);
            run_delete(R);
            bytes_free(&in);
        }
}


/* §7.4.1, §7.4.2: codes that must not be sent are refused; so is a reason over 123 bytes
   (§5.5: the close payload is at most 125). Nothing is queued and the connection stays
   open. */
static void test_close_bad_arguments(void **state) {
    static const unsigned codes[] = {1005, 1006, 1015, 999, 1004, 2999, 5000, 65536};
    char reason[124];
    size_t r, i;
    ws_result e;
    (void)state;
    memset(reason, 'r', sizeof reason);
    for (r = 0; r < 2; r++) {
        ws_config cfg;
        ws_conn c;
        cfg_init(&cfg, roles[r]);
        cfg.on_event = NULL;
        assert_int_equal(ws_conn_init(&c, &cfg), WS_OK);
        for (i = 0; i < sizeof codes / sizeof codes[0]; i++)
            assert_int_equal(ws_close(&c, codes[i], NULL, 0), WS_ERR_ARG);
        assert_int_equal(ws_close(&c, 1000, reason, 124), WS_ERR_ARG);
        e = ws_close(&c, 1000, "\xff", 1);
        assert_true(e == WS_ERR_ARG || e == WS_ERR_UTF8);
        assert_int_equal(ws_conn_queued(&c), 0);
        assert_int_equal(ws_conn_state(&c), WS_STATE_OPEN);
        /* the largest allowed reason goes through */
        assert_int_equal(ws_close(&c, 1000, reason, 123), WS_OK);
        assert_int_equal(ws_conn_queued(&c), roles[r] == WS_ROLE_SERVER ? 127u : 131u);
        ws_conn_free(&c);
    }
}

/* §7.1.5: ws_close(c, 0, ...) sends an empty close frame. */
static void test_close_empty_local(void **state) {
    size_t r;
    (void)state;
    for (r = 0; r < 2; r++) {
        ws_config cfg;
        ws_conn c;
        bytes out = {0};
        oframes o;
        cfg_init(&cfg, roles[r]);
        cfg.on_event = NULL;
        assert_int_equal(ws_conn_init(&c, &cfg), WS_OK);
        assert_int_equal(ws_close(&c, 0, NULL, 0), WS_OK);
        drain_into(&c, &out);
        parse_out(out.p, out.n, roles[r], &o);
        assert_int_equal(o.n, 1);
        assert_frame(&o.f[0], WS_OP_CLOSE, 1, "", 0);
        oframes_free(&o);
        ws_conn_free(&c);
        bytes_free(&out);
    }
}

/* §7.1.5, §7.2: EOF before the close handshake is an abnormal closure: 1006 reported,
   never sent. */
static void test_eof_while_open(void **state) {
    size_t r;
    (void)state;
    for (r = 0; r < 2; r++) {
        ws_config cfg;
        ws_conn c;
        tu_log *log = (tu_log *)calloc(1, sizeof *log);
        bytes out = {0};
        oframes o;
        size_t i;
        cfg_init(&cfg, roles[r]);
        cfg.user = log;
        assert_int_equal(ws_conn_init(&c, &cfg), WS_OK);
        ws_conn_eof(&c);
        assert_int_equal(log->n, 1);
        assert_int_equal(log->ev[0].type, WS_EV_ERROR);
        assert_int_equal(log->ev[0].error, WS_ERR_EOF);
        assert_int_equal(log->ev[0].code, 1006);
        assert_int_equal(ws_conn_state(&c), WS_STATE_CLOSED);
        drain_into(&c, &out);
        parse_out(out.p, out.n, roles[r], &o);
        for (i = 0; i < o.n; i++)
            if (o.f[i].h.opcode == WS_OP_CLOSE) assert_int_not_equal(close_code(&o.f[i]), 1006);
        oframes_free(&o);
        assert_int_equal(ws_conn_wants(&c), 0);
        assert_int_not_equal(ws_send(&c, WS_OP_TEXT, "x", 1), WS_OK);
        assert_int_equal(ws_conn_queued(&c), 0);
        ws_conn_free(&c);
        tu_log_clear(log);
        free(log);
        bytes_free(&out);
    }
}

/* An event's callback may end the connection (here with ws_conn_eof, as when the
   application drops the transport): from then on nothing is delivered, not even the
   messages that were whole in the same read (§7.1.1: the connection is closed). Both
   roles, every chunking; several small messages per read is ws.h's fast path. */
static void eof_on_second(ws_conn *c, const ws_event *e, void *user) {
    tu_on_event(c, e, user);
    if (e->type == WS_EV_MESSAGE && ((tu_log *)user)->n == 2) ws_conn_eof(c);
}

static void test_callback_ends_connection(void **state) {
    size_t r, chunk;
    (void)state;
    for (r = 0; r < 2; r++) {
        bytes in = {0};
        peer_s(&in, roles[r], 1, WS_OP_TEXT, "one");
        peer_s(&in, roles[r], 1, WS_OP_BINARY, "two");
        peer_s(&in, roles[r], 1, WS_OP_TEXT, "three");
        peer_s(&in, roles[r], 1, WS_OP_BINARY, "four");
        for (chunk = 0; chunk < in.n; chunk++) { /* 0: all at once */
            ws_config cfg;
            ws_conn c;
            tu_log *log = (tu_log *)calloc(1, sizeof *log);
            cfg_init(&cfg, roles[r]);
            cfg.on_event = eof_on_second;
            cfg.user = log;
            assert_int_equal(ws_conn_init(&c, &cfg), WS_OK);
            (void)tu_feed_chunked(&c, in.p, in.n, chunk, NULL, NULL);
            if (log->n != 3) fail_msg("role %lu chunk %lu: %lu events, expected 3",
                                      (unsigned long)r, (unsigned long)chunk, (unsigned long)log->n);
            assert_event(&log->ev[0], WS_EV_MESSAGE, "one");
            assert_event(&log->ev[1], WS_EV_MESSAGE, "two");
            assert_int_equal(log->ev[2].type, WS_EV_ERROR);
            assert_int_equal(log->ev[2].error, WS_ERR_EOF);
            assert_int_equal(ws_conn_state(&c), WS_STATE_CLOSED);
            ws_conn_free(&c);
            tu_log_clear(log);
            free(log);
        }
        bytes_free(&in);
    }
}

/* §7.1.1, §7.1.7: no reply to our close within close_timeout_ms: the wait ends (the
   connection fails with WS_ERR_TIMEOUT) and the transport is to be closed. */
static void test_close_timeout(void **state) {
    size_t r, i, errors = 0;
    (void)state;
    for (r = 0; r < 2; r++) {
        ws_config cfg;
        ws_conn c;
        tu_log *log = (tu_log *)calloc(1, sizeof *log);
        cfg_init(&cfg, roles[r]);
        cfg.user = log;
        cfg.close_timeout_ms = 300;
        assert_int_equal(ws_conn_init(&c, &cfg), WS_OK);
        ws_conn_tick(&c, 0);
        assert_int_equal(ws_close(&c, 1000, NULL, 0), WS_OK);
        drain_into(&c, NULL);
        ws_conn_tick(&c, 1); /* the wait counts from the first tick after the close */
        ws_conn_tick(&c, 300);
        assert_int_equal(ws_conn_state(&c), WS_STATE_CLOSING);
        assert_int_equal(log->n, 0);
        ws_conn_tick(&c, 301);
        assert_int_equal(ws_conn_state(&c), WS_STATE_CLOSED);
        drain_into(&c, NULL);
        assert_int_equal(ws_conn_wants(&c), 0);
        for (i = 0, errors = 0; i < log->n; i++)
            if (log->ev[i].type == WS_EV_ERROR) {
                assert_int_equal(log->ev[i].error, WS_ERR_TIMEOUT);
                errors++;
            }
        assert_int_equal(errors, 1);
        ws_conn_free(&c);
        tu_log_clear(log);
        free(log);
    }
}

/* §7.1.1, §5.5.1: after a clean close a client waits for the server to close the
   transport, but only until close_timeout_ms passes. */
static void test_client_close_wait_timeout(void **state) {
    ws_config cfg;
    ws_conn c;
    tu_log *log = (tu_log *)calloc(1, sizeof *log);
    bytes in = {0};
    size_t used = 0;
    (void)state;
    cfg_init(&cfg, WS_ROLE_CLIENT);
    cfg.user = log;
    cfg.close_timeout_ms = 300;
    assert_int_equal(ws_conn_init(&c, &cfg), WS_OK);
    ws_conn_tick(&c, 0);
    peer_close(&in, WS_ROLE_CLIENT, 1000, "", 0);
    assert_int_equal(ws_conn_feed(&c, in.p, in.n, &used), WS_OK);
    drain_into(&c, NULL);
    assert_int_equal(ws_conn_state(&c), WS_STATE_CLOSED);
    ws_conn_tick(&c, 100);
    assert_int_equal(ws_conn_wants(&c), WS_WANT_READ);
    ws_conn_tick(&c, 400);
    drain_into(&c, NULL);
    assert_int_equal(ws_conn_wants(&c), 0);
    ws_conn_free(&c);
    tu_log_clear(log);
    free(log);
    bytes_free(&in);
}

/* ---------------------------------------------------------------------------------
   Sending (§5.2 minimal lengths, §5.3 masking, §5.4 fragments, §5.6 text)
   --------------------------------------------------------------------------------- */

static ws_result init_plain(ws_conn *c, ws_role role) {
    ws_config cfg;
    cfg_init(&cfg, role);
    cfg.on_event = NULL;
    return ws_conn_init(c, &cfg);
}

/* §5.2: the minimal length form at 0/125/126/65535/65536; §5.3: a client masks every
   frame (the payload unmasks to what was sent), a server never does. */
static void test_send_header_lengths(void **state) {
    static const size_t sizes[] = {0, 1, 125, 126, 127, 65535, 65536, 70000};
    size_t r, s;
    (void)state;
    for (r = 0; r < 2; r++)
        for (s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            ws_role role = roles[r];
            ws_conn c;
            bytes out = {0};
            oframes o;
            size_t n = sizes[s], ext = n <= 125 ? 0 : n <= 65535 ? 2 : 8;
            size_t hdr = 2 + ext + (role == WS_ROLE_CLIENT ? 4 : 0);
            unsigned char *pl = make_payload(WS_OP_BINARY, n, 7);
            assert_int_equal(init_plain(&c, role), WS_OK);
            assert_int_equal(ws_send(&c, WS_OP_BINARY, pl, n), WS_OK);
            assert_int_equal(ws_conn_queued(&c), hdr + n);
            drain_into(&c, &out);
            assert_int_equal(out.n, hdr + n);
            assert_int_equal(out.p[0], 0x82);
            assert_int_equal(out.p[1] & 0x7f, ext == 0 ? n : ext == 2 ? 126 : 127);
            parse_out(out.p, out.n, role, &o);
            assert_int_equal(o.n, 1);
            assert_int_equal(o.f[0].hdr, hdr);
            assert_frame(&o.f[0], WS_OP_BINARY, 1, pl, n);
            oframes_free(&o);
            ws_conn_free(&c);
            bytes_free(&out);
            free(pl);
        }
}

/* §5.6, §8.1: invalid text is refused (nothing queued); valid text goes out as TEXT. */
static void test_send_text_utf8(void **state) {
    static const char *const bad[] = {"\xff", "a\xc0\xaf", "\xed\xa0\x80", "ab\xe2\x82"};
    size_t r, i;
    (void)state;
    for (r = 0; r < 2; r++) {
        ws_conn c;
        bytes out = {0};
        oframes o;
        assert_int_equal(init_plain(&c, roles[r]), WS_OK);
        for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            ws_result e = ws_send(&c, WS_OP_TEXT, bad[i], strlen(bad[i]));
            assert_true(e == WS_ERR_ARG || e == WS_ERR_UTF8);
            e = ws_send_fragment(&c, WS_OP_TEXT, bad[i], strlen(bad[i]), 1);
            assert_true(e == WS_ERR_ARG || e == WS_ERR_UTF8);
            assert_int_equal(ws_conn_queued(&c), 0);
        }
        assert_int_equal(ws_conn_state(&c), WS_STATE_OPEN);
        /* the same bytes as binary are fine, and the connection still works */
        assert_int_equal(ws_send(&c, WS_OP_BINARY, "\xff", 1), WS_OK);
        assert_int_equal(ws_send(&c, WS_OP_TEXT, "\xe2\x82\xac", 3), WS_OK);
        drain_into(&c, &out);
        parse_out(out.p, out.n, roles[r], &o);
        assert_int_equal(o.n, 2);
        assert_frame(&o.f[0], WS_OP_BINARY, 1, "\xff", 1);
        assert_frame(&o.f[1], WS_OP_TEXT, 1, "\xe2\x82\xac", 3);
        oframes_free(&o);
        ws_conn_free(&c);
        bytes_free(&out);
    }
}

/* §5.4: a message sent in pieces is TEXT(fin=0), CONT(fin=0), CONT(fin=1); control
   frames may go between; another message may not start until it ends. */
static void test_send_fragments(void **state) {
    size_t r;
    (void)state;
    for (r = 0; r < 2; r++) {
        ws_conn c;
        bytes out = {0};
        oframes o;
        size_t q;
        assert_int_equal(init_plain(&c, roles[r]), WS_OK);
        assert_int_equal(ws_send_fragment(&c, WS_OP_TEXT, "h\xe2\x82", 3, 0), WS_OK);
        assert_int_equal(ws_ping(&c, "p", 1), WS_OK);
        q = ws_conn_queued(&c);
        assert_int_equal(ws_send(&c, WS_OP_TEXT, "x", 1), WS_ERR_STATE);
        assert_int_equal(ws_send(&c, WS_OP_BINARY, "x", 1), WS_ERR_STATE);
        assert_int_equal(ws_conn_queued(&c), q);
        assert_int_equal(ws_send_fragment(&c, WS_OP_TEXT, "\xac", 1, 0), WS_OK);
        assert_int_equal(ws_send_fragment(&c, WS_OP_TEXT, "!", 1, 1), WS_OK);
        /* finished: a whole message may follow */
        assert_int_equal(ws_send(&c, WS_OP_BINARY, "b", 1), WS_OK);
        drain_into(&c, &out);
        parse_out(out.p, out.n, roles[r], &o);
        assert_int_equal(o.n, 5);
        assert_frame(&o.f[0], WS_OP_TEXT, 0, "h\xe2\x82", 3);
        assert_frame(&o.f[1], WS_OP_PING, 1, "p", 1);
        assert_frame(&o.f[2], WS_OP_CONT, 0, "\xac", 1);
        assert_frame(&o.f[3], WS_OP_CONT, 1, "!", 1);
        assert_frame(&o.f[4], WS_OP_BINARY, 1, "b", 1);
        oframes_free(&o);
        ws_conn_free(&c);
        bytes_free(&out);
    }
}

/* §5.5: control frames sent carry at most 125 bytes. */
static void test_send_control_limits(void **state) {
    unsigned char big[126];
    size_t r;
    (void)state;
    memset(big, 'x', sizeof big);
    for (r = 0; r < 2; r++) {
        ws_conn c;
        assert_int_equal(init_plain(&c, roles[r]), WS_OK);
        assert_int_not_equal(ws_ping(&c, big, 126), WS_OK);
        assert_int_not_equal(ws_pong(&c, big, 126), WS_OK);
        assert_int_equal(ws_conn_queued(&c), 0);
        assert_int_equal(ws_ping(&c, big, 125), WS_OK);
        assert_int_equal(ws_pong(&c, big, 125), WS_OK);
        assert_int_equal(ws_conn_queued(&c), roles[r] == WS_ROLE_SERVER ? 254u : 262u);
        ws_conn_free(&c);
    }
}

/* Sending into a fixed 256-byte queue: all or nothing. WS_WOULD_BLOCK while it is full
   (nothing queued), success once drained; WS_ERR_TOO_BIG for a frame that never fits. */
static void test_send_fixed_buffer(void **state) {
    size_t r;
    (void)state;
    for (r = 0; r < 2; r++) {
        ws_role role = roles[r];
        static unsigned char sbuf[256];
        unsigned char *pl = make_payload(WS_OP_BINARY, 300, 1);
        ws_config cfg;
        ws_conn c;
        bytes out = {0};
        oframes o;
        size_t q;
        cfg_init(&cfg, role);
        cfg.on_event = NULL;
        cfg.send_buf = sbuf;
        cfg.send_buf_size = sizeof sbuf;
        assert_int_equal(ws_conn_init(&c, &cfg), WS_OK);
        assert_int_equal(ws_send(&c, WS_OP_BINARY, pl, 200), WS_OK);
        q = ws_conn_queued(&c);
        assert_int_equal(q, role == WS_ROLE_SERVER ? 204u : 208u);
        assert_int_equal(ws_send(&c, WS_OP_BINARY, pl + 1, 200), WS_WOULD_BLOCK);
        assert_int_equal(ws_conn_queued(&c), q);
        assert_int_equal(ws_send(&c, WS_OP_BINARY, pl, 300), WS_ERR_TOO_BIG);
        assert_int_equal(ws_conn_queued(&c), q);
        drain_into(&c, &out);
        assert_int_equal(ws_send(&c, WS_OP_BINARY, pl + 1, 200), WS_OK);
        drain_into(&c, &out);
        assert_int_equal(ws_send(&c, WS_OP_BINARY, pl, 300), WS_ERR_TOO_BIG);
        assert_int_equal(ws_conn_queued(&c), 0);
        assert_int_equal(ws_conn_state(&c), WS_STATE_OPEN);
        parse_out(out.p, out.n, role, &o);
        assert_int_equal(o.n, 2);
        assert_frame(&o.f[0], WS_OP_BINARY, 1, pl, 200);
        assert_frame(&o.f[1], WS_OP_BINARY, 1, pl + 1, 200);
        oframes_free(&o);
        ws_conn_free(&c);
        bytes_free(&out);
        free(pl);
    }
}

/* A connection on a fixed 256-byte send queue, fed and drained by hand. */
typedef struct small_queue {
    ws_conn c;
    tu_log log;
    bytes in, out; /* what the peer sent; what was written */
    unsigned char sbuf[256];
} small_queue;

static small_queue *small_queue_open(ws_role role) {
    small_queue *q = (small_queue *)calloc(1, sizeof *q);
    ws_config cfg;
    assert_non_null(q);
    cfg_init(&cfg, role);
    cfg.user = &q->log;
    cfg.send_buf = q->sbuf;
    cfg.send_buf_size = sizeof q->sbuf;
    assert_int_equal(ws_conn_init(&q->c, &cfg), WS_OK);
    return q;
}

static void small_queue_close(small_queue *q) {
    ws_conn_free(&q->c);
    tu_log_clear(&q->log);
    bytes_free(&q->in);
    bytes_free(&q->out);
    free(q);
}

/* §5.5.2: a ping whose pong has no queue room yet is not read at all: feed stops at
   its header with WS_WOULD_BLOCK (nothing taken, no event), ws_conn_wants drops READ,
   and once the output drains the same bytes go through and the pong is queued. */
static void test_ping_waits_for_queue_room(void **state) {
    size_t r;
    (void)state;
    for (r = 0; r < 2; r++) {
        ws_role role = roles[r];
        unsigned char *pl = make_payload(WS_OP_BINARY, 200, 2);
        small_queue *q = small_queue_open(role);
        oframes o;
        size_t used = 99;
        note(role, "ping with a full queue");
        assert_int_equal(ws_send(&q->c, WS_OP_BINARY, pl, 200), WS_OK); /* 204/208 queued */
        peer(&q->in, role, 1, WS_OP_PING, pl, 100);                    /* pong: 102/106 */
        assert_int_equal(ws_conn_feed(&q->c, q->in.p, q->in.n, &used), WS_WOULD_BLOCK);
        assert_int_equal(used, 0);
        assert_int_equal(q->log.n, 0);
        assert_int_equal(ws_conn_wants(&q->c), WS_WANT_WRITE);
        drain_into(&q->c, &q->out);
        assert_int_equal(ws_conn_wants(&q->c), WS_WANT_READ);
        assert_int_equal(ws_conn_feed(&q->c, q->in.p, q->in.n, &used), WS_OK);
        assert_int_equal(used, q->in.n);
        assert_int_equal(q->log.n, 1);
        assert_int_equal(q->log.ev[0].type, WS_EV_PING);
        assert_memory_equal(q->log.ev[0].data, pl, 100);
        drain_into(&q->c, &q->out);
        parse_out(q->out.p, q->out.n, role, &o);
        assert_int_equal(o.n, 2);
        assert_frame(&o.f[0], WS_OP_BINARY, 1, pl, 200);
        assert_frame(&o.f[1], WS_OP_PONG, 1, pl, 100);
        oframes_free(&o);
        small_queue_close(q);
        free(pl);
    }
}

/* §5.5.2: from a ping's header on, room for its pong is held in the queue, so a send
   between the reads that bring its payload cannot take that room and the pong is never
   lost; the send fits again once the output drains. */
static void test_split_ping_holds_pong_room(void **state) {
    size_t r;
    (void)state;
    for (r = 0; r < 2; r++) {
        ws_role role = roles[r];
        unsigned char *pl = make_payload(WS_OP_BINARY, 160, 4);
        small_queue *q = small_queue_open(role);
        oframes o;
        size_t used, first;
        note(role, "send between the pieces of a ping");
        peer(&q->in, role, 1, WS_OP_PING, pl, 100);
        first = q->in.n - 40;
        assert_int_equal(ws_conn_feed(&q->c, q->in.p, first, &used), WS_OK);
        assert_int_equal(used, first);
        assert_int_equal(q->log.n, 0);
        /* 164/168 bytes would fit the empty 256-byte queue, but not beside the pong */
        assert_int_equal(ws_send(&q->c, WS_OP_BINARY, pl, 160), WS_WOULD_BLOCK);
        assert_int_equal(ws_conn_queued(&q->c), 0);
        assert_int_equal(ws_conn_feed(&q->c, q->in.p + first, q->in.n - first, &used), WS_OK);
        assert_int_equal(q->log.n, 1);
        assert_int_equal(q->log.ev[0].len, 100);
        drain_into(&q->c, &q->out);
        assert_int_equal(ws_send(&q->c, WS_OP_BINARY, pl, 160), WS_OK);
        drain_into(&q->c, &q->out);
        parse_out(q->out.p, q->out.n, role, &o);
        assert_int_equal(o.n, 2);
        assert_frame(&o.f[0], WS_OP_PONG, 1, pl, 100);
        assert_frame(&o.f[1], WS_OP_BINARY, 1, pl, 160);
        oframes_free(&o);
        small_queue_close(q);
        free(pl);
    }
}

/* §5.4, §5.5: zero-allocation mode keeps 125 bytes of recv_buf for a control frame that
   arrives split between reads in the middle of a fragmented message, so the longest
   message is recv_buf_size - 125; at every chunking a 125-byte ping between fragments
   of such a message is answered and the message arrives whole. */
static void test_fixed_recv_buf_holds_split_control(void **state) {
    enum { RBUF = 1024, MAXMSG = RBUF - WS_MAX_CONTROL };
    size_t r;
    (void)state;
    for (r = 0; r < 2; r++) {
        ws_role role = roles[r];
        unsigned char *pl = make_payload(WS_OP_BINARY, MAXMSG + 1, 5);
        ws_config cfg;
        bytes in = {0};
        oframes o;
        size_t before = tc_mallocs;
        run *R;
        note(role, "125-byte ping inside a message that fills recv_buf");
        cfg_init(&cfg, role);
        cfg.recv_buf = &cfg; /* run_start swaps in the run's own buffers */
        cfg.recv_buf_size = RBUF;
        cfg.send_buf = &cfg;
        cfg.send_buf_size = 1024;
        peer(&in, role, 0, WS_OP_BINARY, pl, MAXMSG - 1);
        peer(&in, role, 1, WS_OP_PING, pl, WS_MAX_CONTROL);
        peer(&in, role, 1, WS_OP_CONT, pl + MAXMSG - 1, 1);
        R = feed_every(&cfg, &in);
        assert_int_equal(R->r, WS_OK);
        assert_int_equal(R->log.n, 2);
        assert_int_equal(R->log.ev[0].type, WS_EV_PING);
        assert_memory_equal(R->log.ev[0].data, pl, WS_MAX_CONTROL);
        assert_message(&R->log.ev[1], WS_OP_BINARY, pl, MAXMSG);
        parse_out(R->out.p, R->out.n, role, &o);
        assert_int_equal(o.n, 1);
        assert_frame(&o.f[0], WS_OP_PONG, 1, pl, WS_MAX_CONTROL);
        oframes_free(&o);
        run_delete(R);
        assert_int_equal(tc_mallocs, before);
        bytes_free(&in);
        note(role, "one byte more than recv_buf_size - 125");
        peer(&in, role, 1, WS_OP_BINARY, pl, MAXMSG + 1);
        expect_failure(&cfg, &in, WS_ERR_TOO_BIG, 1009);
        bytes_free(&in);
        free(pl);
    }
}

/* Allocating mode: cfg.max_queue bounds the queue; a frame past it is WS_ERR_TOO_BIG. */
static void test_send_max_queue(void **state) {
    size_t r;
    (void)state;
    for (r = 0; r < 2; r++) {
        unsigned char *pl = make_payload(WS_OP_BINARY, 2000, 1);
        ws_config cfg;
        ws_conn c;
        cfg_init(&cfg, roles[r]);
        cfg.on_event = NULL;
        cfg.max_queue = 1000;
        assert_int_equal(ws_conn_init(&c, &cfg), WS_OK);
        assert_int_equal(ws_send(&c, WS_OP_BINARY, pl, 2000), WS_ERR_TOO_BIG);
        assert_int_equal(ws_conn_queued(&c), 0);
        assert_int_equal(ws_send(&c, WS_OP_BINARY, pl, 900), WS_OK);
        ws_conn_free(&c);
        free(pl);
    }
}

/* ---------------------------------------------------------------------------------
   Keep-alive (§5.5.2) and bookkeeping
   --------------------------------------------------------------------------------- */

/* The ping a keep-alive tick queued (one frame), its payload into pl; returns its length. */
static size_t take_ping(ws_conn *c, ws_role role, unsigned char pl[WS_MAX_CONTROL]) {
    bytes out = {0};
    oframes o;
    size_t n;
    drain_into(c, &out);
    parse_out(out.p, out.n, role, &o);
    assert_int_equal(o.n, 1);
    assert_int_equal(o.f[0].h.opcode, WS_OP_PING);
    n = o.f[0].len;
    if (n) memcpy(pl, o.f[0].data, n);
    oframes_free(&o);
    bytes_free(&out);
    return n;
}

/* §5.5.2: ping_interval_ms 1000, pong_timeout_ms 500: a ping goes out at 1000; without a
   pong the connection fails with WS_ERR_TIMEOUT at 1600; with one in time it stays OPEN
   and keeps pinging. */
static void test_keepalive(void **state) {
    size_t r;
    (void)state;
    for (r = 0; r < 2; r++) {
        int answer;
        for (answer = 0; answer < 2; answer++) {
            ws_role role = roles[r];
            ws_config cfg;
            ws_conn c;
            tu_log *log = (tu_log *)calloc(1, sizeof *log);
            unsigned char pl[WS_MAX_CONTROL];
            size_t n, i, used = 0;
            cfg_init(&cfg, role);
            cfg.user = log;
            cfg.ping_interval_ms = 1000;
            cfg.pong_timeout_ms = 500;
            assert_int_equal(ws_conn_init(&c, &cfg), WS_OK);
            ws_conn_tick(&c, 0);
            assert_int_equal(ws_conn_queued(&c), 0);
            ws_conn_tick(&c, 500);
            assert_int_equal(ws_conn_queued(&c), 0);
            ws_conn_tick(&c, 1000);
            assert_true(ws_conn_queued(&c) > 0);
            n = take_ping(&c, role, pl);
            if (answer) {
                bytes in = {0};
                ws_conn_tick(&c, 1200);
                peer(&in, role, 1, WS_OP_PONG, pl, n);
                assert_int_equal(ws_conn_feed(&c, in.p, in.n, &used), WS_OK);
                bytes_free(&in);
            }
            ws_conn_tick(&c, 1600);
            if (answer) {
                assert_int_equal(ws_conn_state(&c), WS_STATE_OPEN);
                for (i = 0; i < log->n; i++) assert_int_not_equal(log->ev[i].type, WS_EV_ERROR);
                assert_int_equal(ws_conn_queued(&c), 0);
                ws_conn_tick(&c, 2300);
                (void)take_ping(&c, role, pl);
            } else {
                assert_true(log->n >= 1);
                assert_int_equal(log->ev[log->n - 1].type, WS_EV_ERROR);
                assert_int_equal(log->ev[log->n - 1].error, WS_ERR_TIMEOUT);
                assert_int_equal(ws_conn_state(&c), WS_STATE_CLOSED);
                drain_into(&c, NULL);
                assert_int_equal(ws_conn_wants(&c), 0);
            }
            ws_conn_free(&c);
            tu_log_clear(log);
            free(log);
        }
    }
}

/* §5, §7: ws_conn_state, ws_conn_queued and ws_conn_wants through a connection's life. */
static void test_state_and_queued(void **state) {
    size_t r;
    (void)state;
    for (r = 0; r < 2; r++) {
        ws_role role = roles[r];
        size_t mk = role == WS_ROLE_CLIENT ? 4 : 0, used = 0;
        ws_conn c;
        bytes in = {0}, out = {0};
        oframes o;
        const void *p;
        assert_int_equal(init_plain(&c, role), WS_OK);
        assert_int_equal(ws_conn_state(&c), WS_STATE_OPEN);
        assert_int_equal(ws_conn_queued(&c), 0);
        assert_int_equal(ws_conn_output(&c, &p), 0);
        assert_int_equal(ws_conn_wants(&c), WS_WANT_READ);
        assert_int_equal(ws_send(&c, WS_OP_TEXT, "abc", 3), WS_OK);
        assert_int_equal(ws_conn_queued(&c), 5 + mk);
        assert_int_equal(ws_conn_wants(&c), WS_WANT_READ | WS_WANT_WRITE);
        assert_int_equal(ws_send(&c, WS_OP_BINARY, "de", 2), WS_OK);
        assert_int_equal(ws_conn_queued(&c), 9 + 2 * mk);
        /* consuming in small pieces loses nothing */
        while (ws_conn_queued(&c) > 0) {
            size_t before = ws_conn_queued(&c), k = ws_conn_output(&c, &p);
            assert_true(k > 0);
            bytes_add(&out, p, 1);
            ws_conn_consume(&c, 1);
            assert_int_equal(ws_conn_queued(&c), before - 1);
        }
        assert_int_equal(ws_conn_wants(&c), WS_WANT_READ);
        parse_out(out.p, out.n, role, &o);
        assert_int_equal(o.n, 2);
        assert_frame(&o.f[0], WS_OP_TEXT, 1, "abc", 3);
        assert_frame(&o.f[1], WS_OP_BINARY, 1, "de", 2);
        oframes_free(&o);
        assert_int_equal(ws_close(&c, 1001, NULL, 0), WS_OK);
        assert_int_equal(ws_conn_state(&c), WS_STATE_CLOSING);
        assert_int_equal(ws_conn_queued(&c), 4 + mk);
        drain_into(&c, NULL);
        peer_close(&in, role, 1001, "", 0);
        assert_int_equal(ws_conn_feed(&c, in.p, in.n, &used), WS_OK);
        assert_int_equal(used, in.n);
        assert_int_equal(ws_conn_state(&c), WS_STATE_CLOSED);
        assert_int_equal(ws_conn_queued(&c), 0);
        assert_int_equal(ws_conn_error(&c), WS_OK);
        assert_int_equal(ws_conn_wants(&c), role == WS_ROLE_SERVER ? 0u : WS_WANT_READ);
        ws_conn_free(&c);
        bytes_free(&in);
        bytes_free(&out);
    }
}

/* §5.3, §10.3: a client refuses to start without an RNG for its masking keys. */
static void test_client_needs_rng(void **state) {
    ws_config cfg;
    ws_conn c;
    (void)state;
    cfg_init(&cfg, WS_ROLE_CLIENT);
    cfg.rng = NULL;
    assert_int_equal(ws_conn_init(&c, &cfg), WS_ERR_NO_RNG);
}

/* ---------------------------------------------------------------------------------
   Deadlines on a peer that stops reading, and what a failure reports
   --------------------------------------------------------------------------------- */

/* Fill the queue until ws_send refuses (WS_WOULD_BLOCK): a peer that reads nothing. */
static void fill_queue(ws_conn *c) {
    unsigned char pl[200];
    memset(pl, 'q', sizeof pl);
    while (ws_send(c, WS_OP_BINARY, pl, sizeof pl) == WS_OK) {}
    assert_int_equal(ws_send(c, WS_OP_BINARY, pl, sizeof pl), WS_WOULD_BLOCK);
}

static void assert_timed_out(ws_conn *c, const tu_log *log) {
    assert_true(log->n >= 1);
    assert_int_equal(log->ev[log->n - 1].type, WS_EV_ERROR);
    assert_int_equal(log->ev[log->n - 1].error, WS_ERR_TIMEOUT);
    assert_int_equal(log->ev[log->n - 1].code, WS_CLOSE_ABNORMAL); /* nothing sent (§7.1.5) */
    assert_int_equal(ws_conn_state(c), WS_STATE_CLOSED);
    assert_int_equal(ws_conn_wants(c), 0);
    assert_int_equal(ws_conn_queued(c), 0); /* what the peer would not read is dropped */
}

/* With keep-alive on, a peer that stops reading (the queue full, so not even the ping
   fits, and nothing consumed) fails the connection after the pong timeout, counted
   from the first tick that found output waiting; output that moves restarts the count. */
static void test_peer_stops_reading(void **state) {
    size_t r;
    (void)state;
    for (r = 0; r < 2; r++) {
        int progress;
        for (progress = 0; progress < 2; progress++) {
            ws_config cfg;
            ws_conn c;
            tu_log *log = (tu_log *)calloc(1, sizeof *log);
            const void *out;
            cfg_init(&cfg, roles[r]);
            cfg.user = log;
            cfg.ping_interval_ms = 1000;
            cfg.pong_timeout_ms = 500;
            cfg.max_queue = 4096;
            assert_int_equal(ws_conn_init(&c, &cfg), WS_OK);
            ws_conn_tick(&c, 0);
            fill_queue(&c);
            ws_conn_tick(&c, 100); /* output waits from here */
            if (progress) {
                ws_conn_tick(&c, 400);
                assert_true(ws_conn_output(&c, &out) > 10);
                ws_conn_consume(&c, 10); /* the peer read a little: counts again */
                ws_conn_tick(&c, 700);
                ws_conn_tick(&c, 1199);
                assert_int_equal(ws_conn_state(&c), WS_STATE_OPEN);
                ws_conn_tick(&c, 1200);
            } else {
                ws_conn_tick(&c, 599);
                assert_int_equal(ws_conn_state(&c), WS_STATE_OPEN);
                assert_int_equal(log->n, 0);
                ws_conn_tick(&c, 600);
            }
            assert_timed_out(&c, log);
            ws_conn_free(&c);
            tu_log_clear(log);
            free(log);
        }
    }
}

/* Without keep-alive nobody asked for a deadline in OPEN: a full queue just waits. */
static void test_full_queue_waits_without_keepalive(void **state) {
    ws_config cfg;
    ws_conn c;
    tu_log log = {0};
    (void)state;
    cfg_init(&cfg, WS_ROLE_SERVER);
    cfg.user = &log;
    cfg.max_queue = 4096;
    assert_int_equal(ws_conn_init(&c, &cfg), WS_OK);
    ws_conn_tick(&c, 0);
    fill_queue(&c);
    ws_conn_tick(&c, 1000000);
    ws_conn_tick(&c, 2000000);
    assert_int_equal(ws_conn_state(&c), WS_STATE_OPEN);
    assert_int_equal(log.n, 0);
    ws_conn_free(&c);
}

/* §7.1.1: after the close handshake, or a failure, whatever is still queued (the close
   echo, the failure's close frame) goes out only while the peer reads; the close
   timeout ends the wait, so a peer that never reads does not hold the connection. */
static void test_unread_last_bytes_time_out(void **state) {
    size_t r;
    (void)state;
    for (r = 0; r < 2; r++) {
        int how;
        for (how = 0; how < 2; how++) {
            ws_role role = roles[r];
            ws_config cfg;
            ws_conn c;
            tu_log *log = (tu_log *)calloc(1, sizeof *log);
            bytes in = {0};
            size_t used = 0;
            cfg_init(&cfg, role);
            cfg.user = log;
            cfg.close_timeout_ms = 300;
            assert_int_equal(ws_conn_init(&c, &cfg), WS_OK);
            ws_conn_tick(&c, 0);
            if (how == 0) peer_close(&in, role, 1000, "", 0);  /* clean: our echo waits */
            else add_frame(&in, role == WS_ROLE_SERVER, 1, 0, 0x3, "x", 1); /* fails: 1002 */
            ws_conn_feed(&c, in.p, in.n, &used);
            assert_int_equal(ws_conn_state(&c), WS_STATE_CLOSED);
            assert_true(ws_conn_queued(&c) > 0);
            assert_true(ws_conn_wants(&c) & WS_WANT_WRITE);
            ws_conn_tick(&c, 10);
            ws_conn_tick(&c, 309);
            assert_true(ws_conn_wants(&c) & WS_WANT_WRITE);
            ws_conn_tick(&c, 310);
            assert_int_equal(ws_conn_wants(&c), 0);
            assert_int_equal(ws_conn_queued(&c), 0);
            ws_conn_free(&c);
            bytes_free(&in);
            tu_log_clear(log);
            free(log);
        }
    }
}

/* The close timeout counts from the close, not from the tick before it: a close
   started 4.9 s after the last tick still gets its whole 5 s (from the next tick). */
static void test_close_timeout_counts_from_close(void **state) {
    size_t r;
    (void)state;
    for (r = 0; r < 2; r++) {
        ws_config cfg;
        ws_conn c;
        tu_log log = {0};
        cfg_init(&cfg, roles[r]);
        cfg.user = &log;
        cfg.close_timeout_ms = 5000;
        assert_int_equal(ws_conn_init(&c, &cfg), WS_OK);
        ws_conn_tick(&c, 0);
        assert_int_equal(ws_close(&c, 1000, NULL, 0), WS_OK); /* at 4.9 s, no tick since 0 */
        drain_into(&c, NULL);
        ws_conn_tick(&c, 5000);
        ws_conn_tick(&c, 9999);
        assert_int_equal(ws_conn_state(&c), WS_STATE_CLOSING);
        assert_int_equal(log.n, 0);
        ws_conn_tick(&c, 10000);
        assert_int_equal(ws_conn_state(&c), WS_STATE_CLOSED);
        assert_int_equal(log.ev[log.n - 1].error, WS_ERR_TIMEOUT);
        ws_conn_free(&c);
        tu_log_clear(&log);
    }
}

/* ws_conn_tick's clock may start anywhere and cross 2^32 ms (only its low 32 bits are
   kept) or step back (the wait restarts): the close timeout of 5 s still ends the
   connection 5 s after the wait began, never earlier, on every clock. */
static void test_clock_wraps_and_goes_back(void **state) {
    static const uint64_t bases[] = {0, 0xffffffffu - 1000, 0xfffff000u, ((uint64_t)1 << 40) - 3000,
                                     ((uint64_t)7 << 32) + 123456};
    size_t b, back;
    (void)state;
    for (b = 0; b < sizeof bases / sizeof *bases; b++)
        for (back = 0; back < 2; back++) {
            uint64_t t = bases[b], start = t + 1000;
            ws_config cfg;
            ws_conn c;
            tu_log log = {0};
            cfg_init(&cfg, WS_ROLE_SERVER);
            cfg.user = &log;
            cfg.close_timeout_ms = 5000;
            assert_int_equal(ws_conn_init(&c, &cfg), WS_OK);
            ws_conn_tick(&c, t);
            assert_int_equal(ws_close(&c, 1000, NULL, 0), WS_OK);
            drain_into(&c, NULL);
            ws_conn_tick(&c, start); /* the wait begins */
            if (back) { /* the clock steps back 400 ms: the wait begins again there */
                start -= 400;
                ws_conn_tick(&c, start);
            }
            ws_conn_tick(&c, start + 4998);
            assert_int_equal(ws_conn_state(&c), WS_STATE_CLOSING);
            assert_int_equal(log.n, 0);
            ws_conn_tick(&c, start + 5000);
            assert_int_equal(ws_conn_state(&c), WS_STATE_CLOSED);
            assert_int_equal(log.ev[log.n - 1].error, WS_ERR_TIMEOUT);
            ws_conn_free(&c);
            tu_log_clear(&log);
        }
}

/* §5.5.2: a ping is answered unless a close was *received*; ours having gone out does
   not end pongs (§5.5.1 ends only data frames). The pong follows our close frame. */
static void test_pong_after_our_close(void **state) {
    size_t r;
    (void)state;
    for (r = 0; r < 2; r++) {
        ws_role role = roles[r];
        ws_config cfg;
        bytes in = {0};
        oframes o;
        run *R;
        note(role, "ping after our close");
        cfg_init(&cfg, role);
        peer_s(&in, role, 1, WS_OP_PING, "still there?");
        R = feed_prep(&cfg, close_bye, in.p, in.n);
        assert_int_equal(R->r, WS_OK);
        assert_int_equal(R->log.n, 1);
        assert_event(&R->log.ev[0], WS_EV_PING, "still there?");
        parse_out(R->out.p, R->out.n, role, &o);
        assert_int_equal(o.n, 1);
        assert_frame(&o.f[0], WS_OP_PONG, 1, "still there?", 12);
        oframes_free(&o);
        assert_int_equal(ws_conn_state(&R->c), WS_STATE_CLOSING);
        run_delete(R);
        bytes_free(&in);
    }
}

/* A failure whose close frame does not fit in the queue hangs up without one, and
   WS_EV_ERROR says so: code 1006, not the 1002 that was never sent. */
static void test_fail_without_room_reports_1006(void **state) {
    size_t r;
    (void)state;
    for (r = 0; r < 2; r++) {
        ws_role role = roles[r];
        ws_config cfg;
        ws_conn c;
        tu_log log = {0};
        unsigned char sbuf[139], pl[139];
        bytes in = {0};
        size_t used = 0;
        cfg_init(&cfg, role);
        cfg.user = &log;
        cfg.send_buf = sbuf;
        cfg.send_buf_size = sizeof sbuf;
        assert_int_equal(ws_conn_init(&c, &cfg), WS_OK);
        memset(pl, 'z', sizeof pl);
        /* one frame that fills the queue to the byte: 4 (+4 mask) header bytes */
        assert_int_equal(ws_send(&c, WS_OP_BINARY, pl, role == WS_ROLE_SERVER ? 135 : 131), WS_OK);
        assert_int_equal(ws_conn_queued(&c), sizeof sbuf);
        add_frame(&in, role == WS_ROLE_SERVER, 1, 0, 0x3, "x", 1); /* reserved opcode */
        assert_int_equal(ws_conn_feed(&c, in.p, in.n, &used), WS_ERR_PROTOCOL);
        assert_int_equal(log.n, 1);
        assert_int_equal(log.ev[0].type, WS_EV_ERROR);
        assert_int_equal(log.ev[0].error, WS_ERR_PROTOCOL);
        assert_int_equal(log.ev[0].code, WS_CLOSE_ABNORMAL);
        assert_int_equal(ws_conn_wants(&c), 0);
        ws_conn_free(&c);
        bytes_free(&in);
        tu_log_clear(&log);
    }
}

/* The I/O contract of ws_conn_output: the pointer may move when a later call queues
   more (the queue compacts or grows), but the bytes not yet consumed never change and
   stay first in line - what a TLS stack retrying a write needs. */
static void test_output_bytes_stable(void **state) {
    size_t r;
    (void)state;
    for (r = 0; r < 2; r++) {
        ws_config cfg;
        ws_conn c;
        const void *p1, *p2;
        unsigned char *pending, *big = make_payload(WS_OP_BINARY, 100000, 7);
        size_t n1, n2;
        cfg_init(&cfg, roles[r]);
        assert_int_equal(ws_conn_init(&c, &cfg), WS_OK);
        assert_int_equal(ws_send(&c, WS_OP_BINARY, big, 3000), WS_OK);
        n1 = ws_conn_output(&c, &p1);
        ws_conn_consume(&c, 1000); /* a partial write */
        n1 = ws_conn_output(&c, &p1);
        pending = (unsigned char *)malloc(n1);
        memcpy(pending, p1, n1);
        assert_int_equal(ws_send(&c, WS_OP_BINARY, big, 100000), WS_OK); /* grows the queue */
        n2 = ws_conn_output(&c, &p2);
        assert_true(n2 > n1);
        assert_memory_equal(p2, pending, n1);
        free(pending);
        free(big);
        ws_conn_free(&c);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_message_sizes),
        cmocka_unit_test(test_fragmented_with_controls),
        cmocka_unit_test(test_empty_fragments),
        cmocka_unit_test(test_close_inside_fragmented),
        cmocka_unit_test(test_reserved_opcodes),
        cmocka_unit_test(test_rsv_bits),
        cmocka_unit_test(test_control_frame_rules),
        cmocka_unit_test(test_fragmentation_errors),
        cmocka_unit_test(test_mask_bit_per_role),
        cmocka_unit_test(test_length_top_bit),
        cmocka_unit_test(test_utf8_fails_early),
        cmocka_unit_test(test_utf8_split_across_fragments),
        cmocka_unit_test(test_utf8_ends_mid_code_point),
        cmocka_unit_test(test_max_message),
        cmocka_unit_test(test_huge_declared_length),
        cmocka_unit_test(test_streaming_fixed_buffers),
        cmocka_unit_test(test_streaming_16mib),
        cmocka_unit_test(test_streaming_text_validated),
        cmocka_unit_test(test_ten_pings),
        cmocka_unit_test(test_ten_pings_tiny_send_buf),
        cmocka_unit_test(test_client_pong_masked),
        cmocka_unit_test(test_unsolicited_pong),
        cmocka_unit_test(test_close_echo),
        cmocka_unit_test(test_close_empty),
        cmocka_unit_test(test_close_invalid),
        cmocka_unit_test(test_data_after_close_dropped),
        cmocka_unit_test(test_close_initiated),
        cmocka_unit_test(test_bad_close_reply_after_ours),
        cmocka_unit_test(test_close_bad_arguments),
        cmocka_unit_test(test_close_empty_local),
        cmocka_unit_test(test_eof_while_open),
        cmocka_unit_test(test_callback_ends_connection),
        cmocka_unit_test(test_close_timeout),
        cmocka_unit_test(test_client_close_wait_timeout),
        cmocka_unit_test(test_send_header_lengths),
        cmocka_unit_test(test_send_text_utf8),
        cmocka_unit_test(test_send_fragments),
        cmocka_unit_test(test_send_control_limits),
        cmocka_unit_test(test_send_fixed_buffer),
        cmocka_unit_test(test_send_max_queue),
        cmocka_unit_test(test_ping_waits_for_queue_room),
        cmocka_unit_test(test_split_ping_holds_pong_room),
        cmocka_unit_test(test_fixed_recv_buf_holds_split_control),
        cmocka_unit_test(test_keepalive),
        cmocka_unit_test(test_state_and_queued),
        cmocka_unit_test(test_client_needs_rng),
        cmocka_unit_test(test_peer_stops_reading),
        cmocka_unit_test(test_full_queue_waits_without_keepalive),
        cmocka_unit_test(test_unread_last_bytes_time_out),
        cmocka_unit_test(test_close_timeout_counts_from_close),
        cmocka_unit_test(test_clock_wraps_and_goes_back),
        cmocka_unit_test(test_pong_after_our_close),
        cmocka_unit_test(test_fail_without_room_reports_1006),
        cmocka_unit_test(test_output_bytes_stable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
