/* permessage-deflate (RFC 7692) in the handshake (layer 4) and the connection (layer 5):
   negotiation by the rules of §7.1 in both roles, RSV1 (§6.1), the examples of §7.2.3
   byte for byte and at every chunking, context takeover and its absence (§7.1.1),
   window sizes 8..15 (§7.1.2), limits on the inflated size, text checked after
   inflating, the memory a connection holds, and whole conversations between a ws.h
   client and a ws.h server at every combination of parameters. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

/* The default allocator, counting live bytes, so what an idle connection holds shows. */
static long g_live_blocks;
static void *pm_malloc(size_t n) { g_live_blocks++; return malloc(n); }
static void pm_free(void *p) { if (p) g_live_blocks--; free(p); }
#define WS_MALLOC(sz) pm_malloc(sz)
#define WS_FREE(p) pm_free(p)

#define WS_IMPLEMENTATION
#include "testutil.h"

/* ---------------------------------------------------------------------------------
   Negotiation (§5, §7.1)
   --------------------------------------------------------------------------------- */

static const char *req_with(char *buf, size_t cap, const char *ext_lines) {
    snprintf(buf, cap,
             "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n%s\r\n",
             ext_lines);
    return buf;
}

/* What a server allowing `allow` answers to these Sec-WebSocket-Extensions lines: the
   element it states, or "" when it accepts none. */
static void server_answers(const char *lines, const ws_deflate_params *allow, const char *want) {
    char head[2048], got[256];
    ws_request req;
    ws_deflate_params agreed;
    req_with(head, sizeof head, lines);
    assert_int_equal(ws_request_parse(head, strlen(head), NULL, &req), WS_OK);
    memset(got, 'x', sizeof got); /* the NUL must come from ws_deflate_format */
    got[0] = 0;
    if (ws_deflate_accept(&req, allow, &agreed)) {
        int n = ws_deflate_format(got, sizeof got, &agreed);
        assert_true(n > 0 && (size_t)n == strlen(got));
        assert_int_equal(ws_deflate_format(got, (size_t)n, &agreed), WS_ERR_BUFFER); /* no room for the NUL */
        ws_deflate_format(got, sizeof got, &agreed);
    }
    if (strcmp(got, want) != 0) fail_msg("offer \"%s\": answered \"%s\", want \"%s\"", lines, got, want);
}

static void test_server_negotiation(void **state) {
    ws_deflate_params none = {0, 0, 0, 0}, a;
    (void)state;
    /* the browsers' offer: client_max_window_bits without a value */
    server_answers("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n",
                   &none, "permessage-deflate");
    server_answers("Sec-WebSocket-Extensions: permessage-deflate\r\n", &none, "permessage-deflate");
    server_answers("", &none, "");
    server_answers("Sec-WebSocket-Extensions: x-webkit-deflate-frame, foo; bar=1\r\n", &none, "");
    /* §7.1.2.1: an offered server window is answered with one no larger */
    server_answers("Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=10\r\n",
                   &none, "permessage-deflate; server_max_window_bits=10");
    server_answers("Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=\"9\"\r\n",
                   &none, "permessage-deflate; server_max_window_bits=9");
    server_answers("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=12; "
                   "server_no_context_takeover; client_no_context_takeover\r\n", &none,
                   "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
                   "client_max_window_bits=12");
    /* bad offers are passed over, the next one is taken (§5: in order of preference) */
    server_answers("Sec-WebSocket-Extensions: permessage-deflate; foo, permessage-deflate; "
                   "server_max_window_bits=16, permessage-deflate; server_max_window_bits=7, "
                   "permessage-deflate; server_no_context_takeover; server_no_context_takeover, "
                   "permessage-deflate; client_max_window_bits=x, permessage-deflate; "
                   "server_max_window_bits, permessage-deflate; client_no_context_takeover=1, "
                   "permessage-deflate; server_max_window_bits=11\r\n",
                   &none, "permessage-deflate; server_max_window_bits=11");
    /* several lines are one list (§11.3.2), other extensions mixed in */
    server_answers("Sec-WebSocket-Extensions: x-foo\r\nX-Other: y\r\n"
                   "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=9\r\n",
                   &none, "permessage-deflate; client_max_window_bits=9");
    /* what the server allows: it asks for no context takeover, limits windows */
    a = none, a.server_no_context_takeover = 1, a.client_no_context_takeover = 1;
    server_answers("Sec-WebSocket-Extensions: permessage-deflate\r\n", &a,
                   "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
    a = none, a.server_max_window_bits = 10, a.client_max_window_bits = 9;
    server_answers("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n", &a,
                   "permessage-deflate; server_max_window_bits=10; client_max_window_bits=9");
    server_answers("Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=12; "
                   "client_max_window_bits=8\r\n", &a,
                   "permessage-deflate; server_max_window_bits=10; client_max_window_bits=8");
    /* §7.1.2.2: a client that did not offer client_max_window_bits cannot be limited */
    server_answers("Sec-WebSocket-Extensions: permessage-deflate, permessage-deflate; "
                   "client_max_window_bits\r\n", &a,
                   "permessage-deflate; server_max_window_bits=10; client_max_window_bits=9");
    server_answers("Sec-WebSocket-Extensions: permessage-deflate\r\n", &a, "");
}

static const char KEY[] = "dGhlIHNhbXBsZSBub25jZQ==";
static const char ACCEPT[] = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

static ws_result client_verifies(const char *offer_s, const char *response_lines, ws_response *res) {
    char head[1024], elem[256];
    ws_deflate_params offer;
    ws_str e;
    e.p = offer_s, e.n = strlen(offer_s);
    assert_int_equal(ws_deflate_parse(e, 0, &offer), 1);
    assert_true(ws_deflate_format(elem, sizeof elem, &offer) > 0);
    snprintf(head, sizeof head,
             "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Accept: %s\r\n%s\r\n", ACCEPT, response_lines);
    return ws_response_parse_deflate(head, strlen(head), NULL, KEY, NULL, &offer, res);
}

/* §7.1: the client fails the handshake on every response a server may not send. */
static void test_client_verification(void **state) {
    static const struct {
        const char *offer, *response;
    } bad[] = {
        {"permessage-deflate", "Sec-WebSocket-Extensions: x-foo\r\n"},
        {"permessage-deflate", "Sec-WebSocket-Extensions: permessage-deflate, permessage-deflate\r\n"},
        {"permessage-deflate", "Sec-WebSocket-Extensions: permessage-deflate\r\n"
                               "Sec-WebSocket-Extensions: permessage-deflate\r\n"},
        {"permessage-deflate", "Sec-WebSocket-Extensions: permessage-deflate; foo\r\n"},
        {"permessage-deflate", "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; server_no_context_takeover\r\n"},
        {"permessage-deflate", "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=16\r\n"},
        {"permessage-deflate", "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits\r\n"},
        {"permessage-deflate; server_max_window_bits=10", "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=11\r\n"},
        {"permessage-deflate; server_max_window_bits=10", "Sec-WebSocket-Extensions: permessage-deflate\r\n"},
        {"permessage-deflate", "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=10\r\n"},
        {"permessage-deflate; client_max_window_bits", "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"},
        {"permessage-deflate; client_max_window_bits=10", "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=11\r\n"},
        {"permessage-deflate; server_no_context_takeover", "Sec-WebSocket-Extensions: permessage-deflate\r\n"},
        {"permessage-deflate", "Sec-WebSocket-Extensions: , \r\n"}, /* RFC 6455 §9.1: 1#extension */
    };
    ws_response res;
    size_t i;
    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (client_verifies(bad[i].offer, bad[i].response, &res) != WS_ERR_HS_EXTENSION)
            fail_msg("offer \"%s\", response \"%s\": accepted", bad[i].offer, bad[i].response);
    /* and takes what it may: nothing (declined), a smaller window, unasked no context
       takeover either way (§7.1.1.1 lets the server add server_no_context_takeover) */
    assert_int_equal(client_verifies("permessage-deflate", "", &res), WS_OK);
    assert_int_equal(res.deflate, 0);
    assert_int_equal(client_verifies("permessage-deflate; client_max_window_bits",
                                     "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; "
                                     "client_no_context_takeover; client_max_window_bits=8\r\n", &res), WS_OK);
    assert_int_equal(res.deflate, 1);
    assert_int_equal(res.agreed.server_no_context_takeover, 1);
    assert_int_equal(res.agreed.client_no_context_takeover, 1);
    assert_int_equal(res.agreed.server_max_window_bits, 15);
    assert_int_equal(res.agreed.client_max_window_bits, 8);
    assert_int_equal(client_verifies("permessage-deflate; server_max_window_bits=12; client_max_window_bits=11",
                                     "Sec-WebSocket-Extensions: PerMessage-Deflate; server_max_window_bits=\"9\"\r\n", &res), WS_OK);
    assert_int_equal(res.agreed.server_max_window_bits, 9);
    assert_int_equal(res.agreed.client_max_window_bits, 11); /* the client keeps to its offer */
    /* without an offer, any extension fails, as before */
    {
        char head[512];
        snprintf(head, sizeof head,
                 "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Accept: %s\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n", ACCEPT);
        assert_int_equal(ws_response_parse(head, strlen(head), NULL, KEY, NULL, &res), WS_ERR_HS_EXTENSION);
    }
}

/* ---------------------------------------------------------------------------------
   Two connections talking: a ws.h client and a ws.h server
   --------------------------------------------------------------------------------- */

typedef struct side {
    ws_conn c;
    tu_log log;
    unsigned char *joined; /* streaming: the pieces of the message being received */
    size_t joined_n, joined_cap;
    int streaming;
    ws_deflate_params agreed;
    int opened_with_deflate;
    size_t rsv1_frames, frames; /* of what this side sent */
} side;

static void on_ev(ws_conn *c, const ws_event *e, void *user) {
    side *s = (side *)user;
    if (e->type == WS_EV_OPEN) {
        s->opened_with_deflate = e->deflate != NULL;
        if (e->deflate) s->agreed = *e->deflate;
    }
    if (e->type == WS_EV_FRAGMENT) { /* join the pieces: one logged MESSAGE per message */
        if (s->joined_n + e->len > s->joined_cap) {
            s->joined_cap = (s->joined_n + e->len) * 2 + 64;
            s->joined = (unsigned char *)realloc(s->joined, s->joined_cap);
        }
        if (e->len) memcpy(s->joined + s->joined_n, e->data, e->len);
        s->joined_n += e->len;
        if (e->fin) {
            ws_event m = *e;
            m.type = WS_EV_MESSAGE, m.data = s->joined, m.len = s->joined_n;
            tu_on_event(c, &m, &s->log);
            s->joined_n = 0;
        }
        return;
    }
    tu_on_event(c, e, &s->log);
}

/* Move what `from` queued into `to`, in pieces of `chunk` (0: all). */
static ws_result transfer(side *from, side *to, size_t chunk) {
    const void *out;
    size_t n;
    ws_result r = WS_OK;
    while ((n = ws_conn_output(&from->c, &out)) > 0) {
        unsigned char *copy = (unsigned char *)malloc(n);
        memcpy(copy, out, n);
        ws_conn_consume(&from->c, n);
        r = tu_feed_chunked(&to->c, copy, n, chunk, NULL, NULL);
        free(copy);
        if (r != WS_OK) return r;
    }
    return r;
}

static int contains(const void *hay, size_t n, const char *needle) {
    size_t k = strlen(needle), i;
    for (i = 0; i + k <= n; i++)
        if (memcmp((const char *)hay + i, needle, k) == 0) return 1;
    return 0;
}

static void side_init(side *s, ws_role role, const ws_deflate_config *d, int streaming, size_t max_message) {
    ws_config cfg;
    memset(s, 0, sizeof *s);
    ws_config_init(&cfg, role);
    cfg.on_event = on_ev;
    cfg.user = s;
    cfg.rng = tu_rng;
    cfg.streaming = streaming;
    cfg.max_message = max_message;
    if (d) cfg.deflate = *d;
    s->streaming = streaming;
    assert_int_equal(ws_conn_init(&s->c, &cfg), WS_OK);
}

static void side_free(side *s) {
    ws_conn_free(&s->c);
    tu_log_clear(&s->log);
    free(s->joined);
}

/* Client and server through the real handshake. */
static void connect_pair(side *cl, side *sv, const ws_deflate_config *cd, const ws_deflate_config *sd,
                         int streaming, size_t max_message) {
    ws_client_options o;
    side_init(cl, WS_ROLE_CLIENT, cd, streaming, max_message);
    side_init(sv, WS_ROLE_SERVER, sd, streaming, max_message);
    memset(&o, 0, sizeof o);
    o.url = "ws://127.0.0.1:9001/";
    assert_int_equal(ws_client_start(&cl->c, &o), WS_OK);
    assert_int_equal(transfer(cl, sv, 0), WS_OK);
    assert_int_equal(transfer(sv, cl, 0), WS_OK);
    assert_int_equal(ws_conn_state(&cl->c), WS_STATE_OPEN);
    assert_int_equal(ws_conn_state(&sv->c), WS_STATE_OPEN);
    tu_log_clear(&cl->log);
    tu_log_clear(&sv->log);
}

/* The frames `from` has queued, counted (and how many carry RSV1), left in place. */
static void count_frames(side *from, size_t *frames, size_t *rsv1) {
    const void *out;
    size_t n = ws_conn_output(&from->c, &out), off = 0;
    const unsigned char *p = (const unsigned char *)out;
    *frames = *rsv1 = 0;
    while (off < n) {
        ws_frame f;
        int h = ws_frame_decode(p + off, n - off, &f);
        assert_true(h > 0);
        (*frames)++;
        if (f.rsv & 4) (*rsv1)++;
        assert_int_equal(f.rsv & 3, 0);
        off += (size_t)h + (size_t)f.len;
    }
}

static unsigned char *payload(int kind, size_t n, unsigned seed) {
    unsigned char *p = (unsigned char *)malloc(n ? n : 1);
    size_t i;
    uint32_t x = seed * 2654435761u + 1;
    for (i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        if (kind == 0) p[i] = (unsigned char)("the quick brown fox jumps over the lazy dog. "[(i + seed) % 45]);
        else if (kind == 1) p[i] = (unsigned char)(i % 300 < 150 ? 'a' + (x % 3) : '{'); /* JSON-ish */
        else p[i] = (unsigned char)x; /* random: does not compress */
    }
    return p;
}

/* One message each way, checked; returns how many frames with RSV1 went each way. */
static void exchange(side *a, side *b, ws_opcode op, const unsigned char *msg, size_t n, size_t chunk,
                     int expect_rsv1) {
    size_t frames, rsv1;
    assert_int_equal(ws_send(&a->c, op, msg, n), WS_OK);
    count_frames(a, &frames, &rsv1);
    assert_int_equal(frames, 1);
    if (expect_rsv1 >= 0) assert_int_equal(rsv1, (size_t)expect_rsv1);
    assert_int_equal(transfer(a, b, chunk), WS_OK);
    assert_int_equal(b->log.n, 1);
    assert_int_equal(b->log.ev[0].type, WS_EV_MESSAGE);
    assert_int_equal(b->log.ev[0].opcode, op);
    assert_int_equal(b->log.ev[0].len, n);
    if (n) assert_memory_equal(b->log.ev[0].data, msg, n);
    tu_log_clear(&b->log);
}

static ws_deflate_config pmd(int snct, int cnct, int sbits, int cbits) {
    ws_deflate_config d;
    memset(&d, 0, sizeof d);
    d.mode = WS_PMD_NEGOTIATE;
    d.params.server_no_context_takeover = (unsigned char)snct;
    d.params.client_no_context_takeover = (unsigned char)cnct;
    d.params.server_max_window_bits = (unsigned char)sbits;
    d.params.client_max_window_bits = (unsigned char)cbits;
    d.threshold = 1;
    return d;
}

/* Every combination a client may offer: each no_context_takeover flag, each window
   8..15 on each side (asked by the client, or limited by the server), in message mode
   and streaming; text, JSON-like and random messages from 0 bytes to 200 KB each way,
   several in a row so context takeover carries windows across messages. */
static void test_conversations(void **state) {
    static const size_t sizes[] = {0, 1, 5, 125, 126, 1000, 20000, 200000};
    int combo;
    (void)state;
    for (combo = 0; combo < 128; combo++) {
        int snct = combo & 1, cnct = (combo >> 1) & 1, streaming = (combo >> 2) & 1;
        int bits = 8 + ((combo >> 3) & 7), by_server = combo >> 6;
        ws_deflate_config cd = pmd(snct, cnct, by_server ? 0 : bits, by_server ? 0 : bits);
        ws_deflate_config sd = pmd(0, 0, by_server ? bits : 0, by_server ? bits : 0);
        side cl, sv;
        size_t i;
        connect_pair(&cl, &sv, &cd, &sd, streaming, 1 << 20);
        assert_true(cl.opened_with_deflate && sv.opened_with_deflate);
        assert_memory_equal(&cl.agreed, &sv.agreed, sizeof cl.agreed);
        assert_int_equal(cl.agreed.server_max_window_bits, bits);
        assert_int_equal(cl.agreed.client_max_window_bits, bits);
        assert_int_equal(cl.agreed.server_no_context_takeover, snct);
        assert_int_equal(cl.agreed.client_no_context_takeover, cnct);
        for (i = 0; i < sizeof sizes / sizeof sizes[0] * 3; i++) {
            size_t n = sizes[i % 8];
            if (n == 200000 && bits != 8 && bits != 15) continue; /* the big ones at the ends */
            int kind = (int)(i / 8);
            unsigned char *m = payload(kind, n, (unsigned)i);
            /* random data, and tiny messages, may go plain when nothing forces the
               compressed form (no context takeover) */
            int rsv = kind == 2 || n < 100 ? -1 : 1;
            exchange(&cl, &sv, kind == 0 ? WS_OP_TEXT : WS_OP_BINARY, m, n, i % 3 ? 0 : 4096, rsv);
            exchange(&sv, &cl, kind == 0 ? WS_OP_TEXT : WS_OP_BINARY, m, n, i % 2 ? 0 : 7, rsv);
            free(m);
        }
        side_free(&cl);
        side_free(&sv);
    }
}

/* ---------------------------------------------------------------------------------
   RFC 7692 §7.2.3: the examples, byte for byte, fed at every chunking, both roles
   --------------------------------------------------------------------------------- */

/* A connection that has already agreed `p` (skip_handshake, WS_PMD_AGREED). */
static void agreed_conn(ws_conn *c, ws_role role, tu_log *log, const ws_deflate_params *p, int streaming) {
    ws_config cfg;
    ws_config_init(&cfg, role);
    cfg.on_event = tu_on_event;
    cfg.user = log;
    cfg.rng = tu_rng;
    cfg.skip_handshake = 1;
    cfg.streaming = streaming;
    cfg.deflate.mode = WS_PMD_AGREED;
    cfg.deflate.params = *p;
    cfg.deflate.threshold = 1;
    assert_int_equal(ws_conn_init(c, &cfg), WS_OK);
}

/* Frames (header byte 0, payload) as a peer sends them to `role`: masked to a server. */
static size_t frames_to(unsigned char *out, ws_role role, const unsigned char *const *pl, const size_t *pn,
                        const unsigned char *b0, size_t count) {
    size_t i, n = 0;
    for (i = 0; i < count; i++)
        n += tu_frame(out + n, b0[i] >> 7, (b0[i] >> 4) & 7, b0[i] & 15, role == WS_ROLE_SERVER, pl[i], pn[i]);
    return n;
}

/* Feed the frames at every chunking; the events must be `want` text messages (NULL
   ends the list), or, with fail_code, an ERROR with that close code. */
static void expect_inflated(const ws_deflate_params *p, const unsigned char *const *pl, const size_t *pn,
                            const unsigned char *b0, size_t count, const char *const *want,
                            unsigned fail_code) {
    unsigned char in[512];
    int r, streaming;
    for (r = 0; r < 2; r++)
        for (streaming = 0; streaming < 2; streaming++) {
            ws_role role = r ? WS_ROLE_CLIENT : WS_ROLE_SERVER;
            size_t n = frames_to(in, role, pl, pn, b0, count), chunk;
            for (chunk = 0; chunk <= n; chunk++) {
                ws_conn c;
                tu_log *log = (tu_log *)calloc(1, sizeof *log);
                size_t i, k = 0;
                agreed_conn(&c, role, log, p, streaming);
                tu_feed_chunked(&c, in, n, chunk, NULL, NULL);
                if (fail_code) {
                    if (!log->n || log->ev[log->n - 1].type != WS_EV_ERROR || log->ev[log->n - 1].code != fail_code)
                        fail_msg("role %d streaming %d chunk %u: no ERROR %u", r, streaming, (unsigned)chunk, fail_code);
                } else {
                    /* streaming: pieces joined */
                    unsigned char msg[256];
                    size_t m = 0;
                    for (i = 0; i < log->n; i++) {
                        const tu_event *e = &log->ev[i];
                        if (e->type == WS_EV_ERROR) fail_msg("role %d chunk %u: error %d", r, (unsigned)chunk, e->error);
                        if (e->type != WS_EV_MESSAGE && e->type != WS_EV_FRAGMENT) continue; /* a ping */
                        memcpy(msg + m, e->data, e->len), m += e->len;
                        if (e->type == WS_EV_MESSAGE || e->fin) {
                            if (!want[k] || m != strlen(want[k]) || memcmp(msg, want[k], m) != 0)
                                fail_msg("role %d streaming %d chunk %u: message %u is \"%.*s\"", r, streaming,
                                         (unsigned)chunk, (unsigned)k, (int)m, (const char *)msg);
                            k++, m = 0;
                        }
                    }
                    if (want[k]) fail_msg("role %d chunk %u: %u messages", r, (unsigned)chunk, (unsigned)k);
                }
                ws_conn_free(&c);
                tu_log_clear(log);
                free(log);
            }
        }
}

#define ARR(...) ((const unsigned char[]){__VA_ARGS__})

static void test_rfc7692_examples(void **state) {
    static const ws_deflate_params takeover = {0, 0, 15, 15}, nct = {1, 1, 15, 15};
    static const char *const hello[] = {"Hello", NULL}, *const hello2[] = {"Hello", "Hello", NULL};
    static const char *const empty[] = {"", NULL};
    (void)state;
    { /* §7.2.3.1: "Hello" in one compressed frame */
        const unsigned char *pl[] = {ARR(0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00)};
        size_t pn[] = {7};
        expect_inflated(&takeover, pl, pn, ARR(0xc1), 1, hello, 0);
    }
    { /* §7.2.3.1: the same compressed data in two frames */
        const unsigned char *pl[] = {ARR(0xf2, 0x48, 0xcd), ARR(0xc9, 0xc9, 0x07, 0x00)};
        size_t pn[] = {3, 4};
        expect_inflated(&takeover, pl, pn, ARR(0x41, 0x80), 2, hello, 0);
    }
    { /* §7.2.3.2: the second message refers into the first's window */
        const unsigned char *pl[] = {ARR(0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00),
                                     ARR(0xf2, 0x00, 0x11, 0x00, 0x00)};
        size_t pn[] = {7, 5};
        expect_inflated(&takeover, pl, pn, ARR(0xc1, 0xc1), 2, hello2, 0);
        /* with no context takeover it refers before the start of the data: 1007 */
        expect_inflated(&nct, pl, pn, ARR(0xc1, 0xc1), 2, hello2, 1007);
    }
    { /* §7.2.3.3: a stored block */
        const unsigned char *pl[] = {ARR(0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00)};
        size_t pn[] = {11};
        expect_inflated(&takeover, pl, pn, ARR(0xc1), 1, hello, 0);
    }
    { /* §7.2.3.4: a final block (BFINAL) */
        const unsigned char *pl[] = {ARR(0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00)};
        size_t pn[] = {8};
        expect_inflated(&takeover, pl, pn, ARR(0xc1), 1, hello, 0);
        /* the octet after the final block (an empty stored block's header) is skipped,
           and so is anything else there: the stream has ended; the window carries on */
        {
            const unsigned char *pl2[] = {ARR(0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00, 0xf2, 0x00),
                                          ARR(0xf2, 0x00, 0x11, 0x00, 0x00)};
            size_t pn2[] = {10, 5};
            expect_inflated(&takeover, pl2, pn2, ARR(0xc1, 0xc1), 2, hello2, 0);
        }
    }
    { /* §7.2.3.5: two deflate blocks in one message */
        const unsigned char *pl[] = {ARR(0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00)};
        size_t pn[] = {13};
        expect_inflated(&takeover, pl, pn, ARR(0xc1), 1, hello, 0);
    }
    { /* §7.2.3.6: an empty message */
        const unsigned char *pl[] = {ARR(0x00)};
        size_t pn[] = {1};
        expect_inflated(&takeover, pl, pn, ARR(0xc1), 1, empty, 0);
    }
    { /* a compressed message fragmented with a ping between its frames (§5.4) */
        const unsigned char *pl[] = {ARR(0xf2, 0x48), ARR(0x70), ARR(0xcd, 0xc9, 0xc9, 0x07, 0x00)};
        size_t pn[] = {2, 1, 5};
        expect_inflated(&takeover, pl, pn, ARR(0x41, 0x89, 0x80), 3, hello, 0);
    }
    { /* §6.1: RSV1 on a continuation frame, on a control frame, RSV2/RSV3: 1002 */
        const unsigned char *pl[] = {ARR(0xf2, 0x48, 0xcd), ARR(0xc9, 0xc9, 0x07, 0x00)};
        size_t pn[] = {3, 4};
        const unsigned char *ping[] = {ARR(0x70)};
        size_t pingn[] = {1};
        expect_inflated(&takeover, pl, pn, ARR(0x41, 0xc0), 2, hello, 1002);
        expect_inflated(&takeover, ping, pingn, ARR(0xc9), 1, hello, 1002);
        expect_inflated(&takeover, pl + 1, pn + 1, ARR(0xa1), 1, hello, 1002);
        expect_inflated(&takeover, pl + 1, pn + 1, ARR(0x91), 1, hello, 1002);
    }
    { /* corrupt data: block type 3 (RFC 1951 §3.2.3) fails with 1007 */
        const unsigned char *pl[] = {ARR(0x07, 0x00)};
        size_t pn[] = {2};
        expect_inflated(&takeover, pl, pn, ARR(0xc1), 1, hello, 1007);
    }
    { /* invalid UTF-8 inside a compressed text message: 1007 (stored "\xff") */
        const unsigned char *pl[] = {ARR(0x00, 0x01, 0x00, 0xfe, 0xff, 0xff, 0x00)};
        size_t pn[] = {7};
        expect_inflated(&takeover, pl, pn, ARR(0xc1), 1, hello, 1007);
    }
}

/* §7.2.1 on the sending side: "Hello" compresses to the RFC's bytes, the tail removed;
   the second message of a shared window to 5 bytes; the empty message to one 00. */
static void test_rfc7692_sending(void **state) {
    static const ws_deflate_params takeover = {0, 0, 15, 15};
    ws_conn c;
    tu_log log = {0};
    const void *out;
    const unsigned char *o;
    size_t n;
    (void)state;
    agreed_conn(&c, WS_ROLE_SERVER, &log, &takeover, 0);
    assert_int_equal(ws_send(&c, WS_OP_TEXT, "Hello", 5), WS_OK);
    n = ws_conn_output(&c, &out), o = (const unsigned char *)out;
    assert_int_equal(n, 9);
    assert_memory_equal(o, "\xc1\x07\xf2\x48\xcd\xc9\xc9\x07\x00", 9);
    ws_conn_consume(&c, n);
    assert_int_equal(ws_send(&c, WS_OP_TEXT, "Hello", 5), WS_OK);
    n = ws_conn_output(&c, &out), o = (const unsigned char *)out;
    assert_true(n <= 2 + 5 + 2); /* RFC: f2 00 11 00 00 */
    assert_int_equal(o[0], 0xc1);
    ws_conn_consume(&c, n);
    assert_int_equal(ws_send(&c, WS_OP_BINARY, "", 0), WS_OK); /* under the threshold: plain */
    n = ws_conn_output(&c, &out), o = (const unsigned char *)out;
    assert_int_equal(n, 2);
    assert_memory_equal(o, "\x82\x00", 2);
    ws_conn_free(&c);
}

/* ---------------------------------------------------------------------------------
   Limits and memory
   --------------------------------------------------------------------------------- */

/* A decompression bomb: 8 MB of zeros in some 8 KB fails with 1009 as soon as the
   inflated size passes max_message (1 MB), in message mode; streaming delivers it in
   bounded pieces. */
static void test_bomb(void **state) {
    size_t big = 8u << 20;
    unsigned char *zeros = (unsigned char *)calloc(1, big);
    int streaming;
    (void)state;
    for (streaming = 0; streaming < 2; streaming++) {
        ws_deflate_config d = pmd(0, 0, 0, 0);
        side cl, sv;
        size_t frames, rsv1;
        connect_pair(&cl, &sv, &d, &d, streaming, 1 << 20);
        assert_int_equal(ws_send(&cl.c, WS_OP_BINARY, zeros, big), WS_OK);
        count_frames(&cl, &frames, &rsv1);
        assert_int_equal(rsv1, 1);
        assert_true(ws_conn_queued(&cl.c) < 40000);
        if (!streaming) {
            assert_int_equal(transfer(&cl, &sv, 0), WS_ERR_TOO_BIG);
            assert_int_equal(sv.log.ev[sv.log.n - 1].code, 1009);
        } else {
            assert_int_equal(transfer(&cl, &sv, 0), WS_OK);
            assert_int_equal(sv.log.n, 1);
            assert_int_equal(sv.log.ev[0].len, big);
        }
        side_free(&cl);
        side_free(&sv);
    }
    free(zeros);
}

/* A message whose compressed form is not smaller goes plain when no context takeover
   lets the sender drop it; messages under the threshold go plain. */
static void test_plain_when_not_smaller(void **state) {
    ws_deflate_config d = pmd(1, 1, 0, 0);
    side cl, sv;
    unsigned char *rnd = payload(2, 5000, 9);
    (void)state;
    d.threshold = 100;
    connect_pair(&cl, &sv, &d, &d, 0, 1 << 20);
    exchange(&cl, &sv, WS_OP_BINARY, rnd, 5000, 0, 0);
    exchange(&sv, &cl, WS_OP_BINARY, rnd, 5000, 0, 0);
    exchange(&cl, &sv, WS_OP_TEXT, (const unsigned char *)"short text, no RSV1", 19, 0, 0);
    free(rnd);
    rnd = payload(0, 300, 1);
    exchange(&cl, &sv, WS_OP_TEXT, rnd, 300, 0, 1);
    side_free(&cl);
    side_free(&sv);
    free(rnd);
}

/* Fragmented compressed sending (one deflate stream across the frames, §7.2.1), with a
   ping between the pieces. */
static void test_send_fragments(void **state) {
    ws_deflate_config d = pmd(0, 0, 0, 0);
    side cl, sv;
    unsigned char *m = payload(0, 30000, 3);
    size_t frames, rsv1;
    (void)state;
    connect_pair(&cl, &sv, &d, &d, 0, 1 << 20);
    assert_int_equal(ws_send_fragment(&cl.c, WS_OP_TEXT, m, 10000, 0), WS_OK);
    assert_int_equal(ws_ping(&cl.c, "x", 1), WS_OK);
    assert_int_equal(ws_send_fragment(&cl.c, WS_OP_TEXT, m + 10000, 10000, 0), WS_OK);
    assert_int_equal(ws_send_fragment(&cl.c, WS_OP_TEXT, m + 20000, 10000, 1), WS_OK);
    count_frames(&cl, &frames, &rsv1);
    assert_int_equal(frames, 4);
    assert_int_equal(rsv1, 1);
    assert_int_equal(transfer(&cl, &sv, 3), WS_OK);
    assert_int_equal(sv.log.n, 2);
    assert_int_equal(sv.log.ev[0].type, WS_EV_PING);
    assert_int_equal(sv.log.ev[1].len, 30000);
    assert_memory_equal(sv.log.ev[1].data, m, 30000);
    side_free(&cl);
    side_free(&sv);
    free(m);
}

/* ws_accept and ws_reject outside WS_EV_REQUEST say WS_ERR_STATE, also once the
   compression state exists (it lives where the request does during WS_EV_REQUEST). */
static void test_decide_outside_request(void **state) {
    static const ws_deflate_params p = {0, 0, 0, 0};
    unsigned char m[200];
    int role;
    (void)state;
    memset(m, 'a', sizeof m);
    for (role = 0; role < 2; role++) {
        tu_log *log = (tu_log *)calloc(1, sizeof *log);
        ws_conn c;
        agreed_conn(&c, role ? WS_ROLE_SERVER : WS_ROLE_CLIENT, log, &p, 0);
        assert_int_equal(ws_send(&c, WS_OP_TEXT, m, sizeof m), WS_OK); /* compressed */
        assert_int_equal(ws_accept(&c, NULL, NULL), WS_ERR_STATE);
        assert_int_equal(ws_reject(&c, 403, NULL), WS_ERR_STATE);
        assert_int_equal(ws_conn_state(&c), WS_STATE_OPEN);
        ws_conn_free(&c);
        tu_log_clear(log);
        free(log);
    }
}

/* No context takeover: once a tick finds no message in progress, neither side holds
   any compression memory (the agreement lives in ws_conn itself); with takeover the
   windows stay. The zero-allocation mode declines the extension. */
static void test_memory(void **state) {
    int nct;
    (void)state;
    for (nct = 0; nct < 2; nct++) {
        ws_deflate_config d = pmd(nct, nct, 0, 0);
        side cl, sv;
        long before;
        unsigned char *m = payload(0, 3000, 5);
        connect_pair(&cl, &sv, &d, &d, 0, 1 << 20);
        ws_conn_tick(&cl.c, 0), ws_conn_tick(&sv.c, 0);
        before = g_live_blocks;
        exchange(&cl, &sv, WS_OP_TEXT, m, 3000, 0, 1);
        exchange(&sv, &cl, WS_OP_TEXT, m, 3000, 0, 1);
        ws_conn_tick(&cl.c, 1), ws_conn_tick(&sv.c, 1);
        if (nct) assert_int_equal(g_live_blocks, before);
        else assert_int_equal(g_live_blocks, before + 6); /* an inflater, a deflater, their holder */
        side_free(&cl);
        side_free(&sv);
        free(m);
    }
    {
        ws_config cfg;
        ws_conn c;
        tu_log log = {0};
        unsigned char rb[4096], sb[4096];
        char req[1024];
        const void *out;
        size_t n, used;
        long before_zero;
        ws_config_init(&cfg, WS_ROLE_SERVER);
        cfg.on_event = tu_on_event, cfg.user = &log;
        cfg.recv_buf = rb, cfg.recv_buf_size = sizeof rb, cfg.send_buf = sb, cfg.send_buf_size = sizeof sb;
        cfg.deflate.mode = WS_PMD_NEGOTIATE;
        assert_int_equal(ws_conn_init(&c, &cfg), WS_OK);
        req_with(req, sizeof req, "Sec-WebSocket-Extensions: permessage-deflate\r\n");
        before_zero = g_live_blocks;
        assert_int_equal(ws_conn_feed(&c, req, strlen(req), &used), WS_OK);
        n = ws_conn_output(&c, &out);
        assert_true(n > 0 && !contains(out, n, "permessage-deflate"));
        assert_int_equal(g_live_blocks, before_zero);
        ws_conn_free(&c);
        tu_log_clear(&log);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_server_negotiation), cmocka_unit_test(test_client_verification),
        cmocka_unit_test(test_rfc7692_examples),   cmocka_unit_test(test_rfc7692_sending),
        cmocka_unit_test(test_conversations),      cmocka_unit_test(test_bomb),
        cmocka_unit_test(test_plain_when_not_smaller), cmocka_unit_test(test_send_fragments),
        cmocka_unit_test(test_memory),             cmocka_unit_test(test_decide_outside_request),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
