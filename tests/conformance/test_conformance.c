/* The conformance cases of cases.py, in-process, through the sans-I/O ws_conn API.

   The same table the raw TCP peer (run.py) plays against build/echo_server and
   build/echo_client is compiled in here (cases.py --c), and every case is played against
   a ws_conn in both roles: as a server (after a real HTTP request; frames masked) and as
   a client (after ws_client_start and a real 101 response; frames unmasked). The
   application around the connection mimics the examples: it echoes every message once
   with the same type, and as a server echoes the peer's close (code and reason).

   Each case is fed three ways - one feed per frame (the handshake head first), one feed
   per byte (when the input is under 100 KB), and everything in a single feed - and must
   give exactly the expected output each time: the frames are decoded here by an
   independent decoder (mask bit per role, RSV zero, minimal length, fin on echoes), so a
   wrong byte anywhere fails the case. Frames are built here too, not by ws_frame_encode.

   Prints "ok - <case> [ws_conn server|client]" / "not ok - ... # why" per case and role;
   one cmocka test per group fails when any of its cases failed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WS_IMPLEMENTATION
#include "../testutil.h"

typedef struct cf_payload {
    int kind; /* 0: lit repeated, 1: text pattern, 2: binary pattern */
    const unsigned char *lit;
    size_t litlen, total;
} cf_payload;

typedef struct cf_frame {
    int fin, rsv, op, wrongmask, lenform, has_declared;
    uint64_t declared;
    cf_payload pl;
    unsigned repeat;
} cf_frame;

enum { CF_MSG = 1, CF_PONG = 2, CF_CLOSE = 3, CF_DELIVERED = 4 };

typedef struct cf_expect {
    int kind, op, code, fail;
    cf_payload pl;
} cf_expect;

typedef struct cf_case {
    const char *title, *group;
    unsigned targets;
    const cf_frame *frames;
    size_t nframes;
    const cf_expect *expect;
    size_t nexpect;
    int delivery;
    const char *request, *response;
    int status;
    const char *head_has, *head_lacks;
    ws_result hs_error;
    const char *protocols, *special;
    uint64_t max_message;
    int streaming;
    size_t recv_buf, send_buf;
    int echo;
} cf_case;

#include "cases.h"

#define EXAMPLE_MAX_MESSAGE ((size_t)64 << 20)
#define BYTEWISE_LIMIT 100000
static const char GOOD_REQ[] = "GET / HTTP/1.1\r\nHost: {HOST}\r\nUpgrade: websocket\r\nConnection: "
                               "Upgrade\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n"
                               "{EXTRA}\r\n";
static const char GOOD_RESP[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                                "Connection: Upgrade\r\nSec-WebSocket-Accept: {ACCEPT}\r\n{EXTRA}\r\n";
static const char SERVER_KEY[] = "dGhlIHNhbXBsZSBub25jZQ==";

/* ---- small utilities ------------------------------------------------------------- */

typedef struct buf {
    unsigned char *p;
    size_t n, cap;
} buf;

static void buf_put(buf *b, const void *d, size_t n) {
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n) cap *= 2;
        b->p = (unsigned char *)realloc(b->p, cap);
        if (!b->p) abort();
        b->cap = cap;
    }
    if (n && d) memcpy(b->p + b->n, d, n);
    b->n += n;
}

static unsigned char pay_byte(const cf_payload *p, size_t i) {
    if (p->kind == 0) return p->lit[i % p->litlen];
    if (p->kind == 1) return (unsigned char)(32 + (i * 7 + i / 251) % 95);
    return (unsigned char)((i * 131 + 17 + i / 256) & 255);
}

static void pay_put(buf *b, const cf_payload *p) {
    size_t i, start = b->n;
    buf_put(b, 0, p->total);
    for (i = 0; i < p->total; i++) b->p[start + i] = pay_byte(p, i);
}

/* Replace every {NAME} in tmpl; returns a malloc'd string. */
static char *subst(const char *tmpl, const char *name, const char *value) {
    buf b = {0, 0, 0};
    size_t nl = strlen(name), vl = strlen(value);
    const char *p = tmpl, *q;
    while ((q = strstr(p, name)) != NULL) {
        buf_put(&b, p, (size_t)(q - p));
        buf_put(&b, value, vl);
        p = q + nl;
    }
    buf_put(&b, p, strlen(p) + 1);
    return (char *)b.p;
}

/* Case-sensitive search in a non-NUL-terminated head. */
static int head_contains(const unsigned char *h, size_t n, const char *s) {
    size_t k = strlen(s), i;
    for (i = 0; i + k <= n; i++)
        if (memcmp(h + i, s, k) == 0) return 1;
    return 0;
}

static size_t head_end(const unsigned char *p, size_t n) {
    size_t i;
    for (i = 0; i + 4 <= n; i++)
        if (memcmp(p + i, "\r\n\r\n", 4) == 0) return i + 4;
    return 0;
}

/* ---- the application around the connection (mimics the examples) ---------------- */

typedef struct app {
    const cf_case *cs;
    int server, echo;
    int opened, errors, closes, messages;
    ws_result err;
    unsigned err_code;
    const cf_payload *want; /* CF_DELIVERED: what the application must receive */
    size_t got;
    int mismatch, delivered;
} app;

static void app_check(app *a, const void *data, size_t len, int last) {
    const unsigned char *d = (const unsigned char *)data;
    size_t i;
    if (!a->want) return;
    for (i = 0; i < len && !a->mismatch; i++)
        if (a->got + i >= a->want->total || d[i] != pay_byte(a->want, a->got + i)) a->mismatch = 1;
    a->got += len;
    if (last) a->delivered++;
}

static void app_event(ws_conn *c, const ws_event *e, void *user) {
    app *a = (app *)user;
    switch (e->type) {
    case WS_EV_REQUEST:
        ws_accept(c, ws_request_offers(e->request, "chat") ? "chat" : NULL, NULL);
        break;
    case WS_EV_OPEN: a->opened++; break;
    case WS_EV_MESSAGE:
        a->messages++;
        app_check(a, e->data, e->len, 1);
        if (a->echo && ws_send(c, e->opcode, e->data, e->len) != WS_OK)
            ws_close(c, WS_CLOSE_POLICY, "echo queue full", 15);
        break;
    case WS_EV_FRAGMENT: app_check(a, e->data, e->len, e->fin); break;
    case WS_EV_CLOSE:
        a->closes++;
        if (a->server) { /* echo_server echoes code and reason; an empty close with an empty one */
            if (e->code == WS_CLOSE_NO_STATUS) ws_close(c, 0, NULL, 0);
            else ws_close(c, e->code, (const char *)e->data, e->len);
        }
        break;
    case WS_EV_ERROR:
        if (!a->errors) a->err = e->error, a->err_code = e->code;
        a->errors++;
        break;
    default: break;
    }
}

/* ---- one run: a connection, its input, its output -------------------------------- */

typedef struct run {
    const cf_case *cs;
    int server;
    ws_conn conn;
    app a;
    void *rbuf, *sbuf;
    buf in;          /* what the peer sends: head, then frames */
    size_t *seg;     /* end offsets of the head and of each frame */
    size_t nseg;
    buf out;         /* everything the connection wrote */
    size_t hs_out;   /* client: the size of its request at the front of out */
    char why[512];
} run;

static int failf(run *r, const char *fmt, ...) {
    va_list ap;
    if (r->why[0]) return 0;
    va_start(ap, fmt);
    vsnprintf(r->why, sizeof r->why, fmt, ap);
    va_end(ap);
    return 0;
}

static void drain(run *r) {
    for (;;) {
        const void *o;
        size_t k = ws_conn_output(&r->conn, &o);
        if (!k) break;
        buf_put(&r->out, o, k);
        ws_conn_consume(&r->conn, k);
    }
}

/* Append a head; "{NUL}" in it stands for a zero byte. */
static void put_head(run *r, const char *h) {
    const char *q;
    while ((q = strstr(h, "{NUL}")) != NULL) {
        buf_put(&r->in, h, (size_t)(q - h));
        buf_put(&r->in, "", 1);
        h = q + 5;
    }
    buf_put(&r->in, h, strlen(h));
}

static void seg_mark(run *r) {
    if ((r->nseg & (r->nseg - 1)) == 0) { /* grow at powers of two */
        r->seg = (size_t *)realloc(r->seg, (r->nseg ? 2 * r->nseg : 1) * sizeof *r->seg);
        if (!r->seg) abort();
    }
    r->seg[r->nseg++] = r->in.n;
}

static void put_frame(run *r, const cf_frame *f, unsigned idx) {
    unsigned char h[14];
    size_t n = 2, start;
    uint64_t len = f->has_declared ? f->declared : f->pl.total;
    int masked = r->server ^ f->wrongmask;
    unsigned char key[4];
    size_t i;
    key[0] = (unsigned char)(0x5a ^ idx), key[1] = (unsigned char)(0xc3 + idx);
    key[2] = 0x0f, key[3] = (unsigned char)(0x81 ^ (idx >> 8));
    h[0] = (unsigned char)((f->fin ? 0x80 : 0) | (f->rsv << 4) | f->op);
    if (len < 126 && f->lenform != 64) {
        h[1] = (unsigned char)len;
    } else if (len <= 0xffff && f->lenform != 64) {
        h[1] = 126, h[2] = (unsigned char)(len >> 8), h[3] = (unsigned char)len, n = 4;
    } else {
        h[1] = 127;
        for (i = 0; i < 8; i++) h[2 + i] = (unsigned char)(len >> (56 - 8 * i));
        n = 10;
    }
    if (masked) {
        h[1] |= 0x80;
        memcpy(h + n, key, 4);
        n += 4;
    }
    buf_put(&r->in, h, n);
    start = r->in.n;
    pay_put(&r->in, &f->pl);
    if (masked)
        for (i = 0; i < f->pl.total; i++) r->in.p[start + i] ^= key[i & 3];
}

static int run_setup(run *r, const cf_case *cs, int server) {
    ws_config cfg;
    ws_result res;
    size_t i;
    unsigned k, idx = 0;
    memset(r, 0, sizeof *r);
    r->cs = cs, r->server = server;
    r->a.cs = cs, r->a.server = server, r->a.echo = cs->echo;
    ws_config_init(&cfg, server ? WS_ROLE_SERVER : WS_ROLE_CLIENT);
    cfg.on_event = app_event, cfg.user = &r->a, cfg.rng = tu_rng;
    cfg.max_message = cs->max_message ? (size_t)cs->max_message : EXAMPLE_MAX_MESSAGE;
    cfg.max_queue = (size_t)80 << 20;
    cfg.streaming = cs->streaming;
    if (cs->recv_buf) r->rbuf = malloc(cs->recv_buf), cfg.recv_buf = r->rbuf, cfg.recv_buf_size = cs->recv_buf;
    if (cs->send_buf) r->sbuf = malloc(cs->send_buf), cfg.send_buf = r->sbuf, cfg.send_buf_size = cs->send_buf;
    res = ws_conn_init(&r->conn, &cfg);
    if (res != WS_OK) return failf(r, "ws_conn_init: %s", ws_strerror(res));
    ws_conn_tick(&r->conn, 1000);
    if (server) {
        char *a = subst(cs->request ? cs->request : GOOD_REQ, "{HOST}", "127.0.0.1:9001");
        char *b = subst(a, "{KEY}", SERVER_KEY);
        char *c = subst(b, "{EXTRA}", "");
        put_head(r, c);
        free(a), free(b), free(c);
    } else {
        ws_client_options o;
        const unsigned char *key;
        char keybuf[WS_KEY_LEN + 1], accept[WS_ACCEPT_LEN + 1], *a, *b;
        size_t hn;
        memset(&o, 0, sizeof o);
        o.url = "ws://127.0.0.1:9001/";
        o.protocols = cs->protocols;
        res = ws_client_start(&r->conn, &o);
        if (res != WS_OK) return failf(r, "ws_client_start: %s", ws_strerror(res));
        drain(r);
        hn = head_end(r->out.p, r->out.n);
        r->hs_out = r->out.n;
        if (!hn || hn != r->out.n || memcmp(r->out.p, "GET / HTTP/1.1\r\n", 16) != 0 ||
            !head_contains(r->out.p, hn, "\r\nSec-WebSocket-Version: 13\r\n") ||
            !head_contains(r->out.p, hn, "\r\nUpgrade: websocket\r\n") ||
            !head_contains(r->out.p, hn, "\r\nConnection: Upgrade\r\n") ||
            !head_contains(r->out.p, hn, "\r\nHost: 127.0.0.1:9001\r\n"))
            return failf(r, "bad client request: %.*s", (int)r->out.n, (const char *)r->out.p);
        for (key = r->out.p; key + 21 < r->out.p + hn && memcmp(key, "Sec-WebSocket-Key: ", 19); key++) {}
        if (key + 19 + WS_KEY_LEN > r->out.p + hn) return failf(r, "no key in the request");
        memcpy(keybuf, key + 19, WS_KEY_LEN);
        keybuf[WS_KEY_LEN] = 0;
        ws_accept_key(keybuf, WS_KEY_LEN, accept);
        a = subst(cs->response ? cs->response : GOOD_RESP, "{ACCEPT}", accept);
        b = subst(a, "{EXTRA}", "");
        put_head(r, b);
        free(a), free(b);
    }
    seg_mark(r);
    for (i = 0; i < cs->nframes; i++)
        for (k = 0; k < cs->frames[i].repeat; k++) {
            put_frame(r, &cs->frames[i], idx++);
            seg_mark(r);
        }
    for (i = 0; i < cs->nexpect; i++)
        if (cs->expect[i].kind == CF_DELIVERED) r->a.want = &cs->expect[i].pl;
    return 1;
}

static void run_free(run *r) {
    ws_conn_free(&r->conn);
    free(r->rbuf), free(r->sbuf), free(r->in.p), free(r->seg), free(r->out.p);
}

/* Feed bytes [from, to) of the input in one call sequence (exact-size copy, so ASan sees
   any read past it). Returns the connection's result. */
static ws_result feed_piece(run *r, size_t from, size_t to) {
    size_t n = to - from, done = 0;
    unsigned char *piece = (unsigned char *)malloc(n ? n : 1);
    ws_result res = WS_OK;
    memcpy(piece, r->in.p + from, n);
    while (done < n) {
        size_t used = 0, before = r->out.n;
        res = ws_conn_feed(&r->conn, piece + done, n - done, &used);
        done += used;
        drain(r);
        if (res == WS_WOULD_BLOCK) {
            if (used == 0 && r->out.n == before) break; /* stuck */
            res = WS_OK;
            continue;
        }
        if (res != WS_OK) break;
    }
    free(piece);
    return res;
}

/* mode 0: per segment, 1: per byte, 2: all at once. */
static int run_feed(run *r, int mode) {
    size_t s, prev = 0;
    ws_result res = WS_OK;
    int fails = r->cs->nexpect && r->cs->expect[r->cs->nexpect - 1].kind == CF_CLOSE &&
                r->cs->expect[r->cs->nexpect - 1].fail;
    if (mode == 2) {
        feed_piece(r, 0, r->in.n);
        return 1;
    }
    for (s = 0; s < r->nseg; s++) {
        size_t end = r->seg[s];
        if (mode == 1) {
            size_t i;
            for (i = prev; i < end && res == WS_OK; i++) res = feed_piece(r, i, i + 1);
        } else {
            res = feed_piece(r, prev, end);
        }
        prev = end;
        if (res != WS_OK) {
            /* fail fast, but not early: a failing case's last frame is what triggers it */
            if (mode == 0 && fails && s + 1 < r->nseg && r->cs->status == 101 && r->cs->hs_error == WS_OK)
                return failf(r, "failed (%s) after frame %zu of %zu, before the last one",
                             ws_strerror(res), s, r->nseg - 1);
            break;
        }
    }
    return 1;
}

/* ---- checking the output --------------------------------------------------------- */

typedef struct oframe {
    int fin, rsv, op;
    unsigned char *pl;
    size_t len;
} oframe;

/* Decode one frame the connection sent, strictly. 1: ok, 0: incomplete, -1: bad. */
static int out_frame(run *r, const unsigned char *p, size_t n, size_t *used, oframe *f) {
    size_t h = 2, i;
    uint64_t len;
    int masked;
    if (n < 2) return 0;
    f->fin = p[0] >> 7, f->rsv = (p[0] >> 4) & 7, f->op = p[0] & 15;
    masked = p[1] >> 7;
    len = p[1] & 127;
    if (len == 126) {
        if (n < 4) return 0;
        len = (uint64_t)p[2] << 8 | p[3], h = 4;
        if (len < 126) return failf(r, "non-minimal 16-bit length %llu", (unsigned long long)len), -1;
    } else if (len == 127) {
        if (n < 10) return 0;
        for (len = 0, i = 2; i < 10; i++) len = len << 8 | p[i];
        h = 10;
        if (len <= 0xffff) return failf(r, "non-minimal 64-bit length %llu", (unsigned long long)len), -1;
    }
    if (masked != !r->server) return failf(r, "sent a frame with mask bit %d", masked), -1;
    if (f->rsv) return failf(r, "sent RSV bits %d", f->rsv), -1;
    if (masked) h += 4;
    if (n < h || n - h < len) return 0;
    f->pl = (unsigned char *)malloc((size_t)len + 1);
    memcpy(f->pl, p + h, (size_t)len);
    if (masked)
        for (i = 0; i < len; i++) f->pl[i] ^= p[h - 4 + (i & 3)];
    f->len = (size_t)len;
    *used = h + (size_t)len;
    return 1;
}

static int pay_eq(const cf_payload *p, const unsigned char *d, size_t n) {
    size_t i;
    if (n != p->total) return 0;
    for (i = 0; i < n; i++)
        if (d[i] != pay_byte(p, i)) return 0;
    return 1;
}

static const char *opname(int op) {
    static const char *names[16] = {"cont", "text", "binary", "op3", "op4", "op5", "op6", "op7",
                                    "close", "ping", "pong", "opB", "opC", "opD", "opE", "opF"};
    return names[op & 15];
}

static int describe_close(const oframe *f, char *s, size_t cap) {
    if (f->op != 8) return snprintf(s, cap, "%s frame of %zu bytes", opname(f->op), f->len);
    if (f->len < 2) return snprintf(s, cap, "close with %zu-byte payload", f->len);
    return snprintf(s, cap, "close %u", (unsigned)f->pl[0] << 8 | f->pl[1]);
}

static int check_frames(run *r, size_t off) {
    const cf_case *cs = r->cs;
    size_t i, pos = off;
    char got[96];
    for (i = 0; i < cs->nexpect; i++) {
        const cf_expect *e = &cs->expect[i];
        oframe f;
        size_t used = 0;
        int k;
        if (e->kind == CF_DELIVERED) {
            if (r->a.delivered != 1 || r->a.mismatch || r->a.got != e->pl.total)
                return failf(r, "application got %zu bytes in %d messages%s, expected %zu in 1",
                             r->a.got, r->a.delivered, r->a.mismatch ? " (content differs)" : "",
                             e->pl.total);
            continue;
        }
        k = out_frame(r, r->out.p + pos, r->out.n - pos, &used, &f);
        if (k < 0) return 0;
        if (k == 0) {
            if (e->kind == CF_CLOSE)
                return failf(r, "expected %s %d, got nothing more (%zu stray bytes)",
                             e->fail ? "failure close" : "close", e->code, r->out.n - pos);
            return failf(r, "expected %s of %zu bytes (reply %zu), got nothing more", opname(e->op),
                         e->pl.total, i + 1);
        }
        pos += used;
        describe_close(&f, got, sizeof got);
        if (e->kind == CF_MSG || e->kind == CF_PONG) {
            if (f.op != e->op || !f.fin || !pay_eq(&e->pl, f.pl, f.len)) {
                failf(r, "reply %zu: expected %s of %zu bytes (fin), got %s (fin %d)%s", i + 1,
                      opname(e->op), e->pl.total, got,
                      f.fin, f.op == e->op ? ", payload differs" : "");
                free(f.pl);
                return 0;
            }
        } else if (e->kind == CF_CLOSE) {
            int ok = f.op == 8 && f.fin;
            if (ok && e->code < 0) ok = f.len == 0;
            if (ok && e->code >= 0)
                ok = f.len >= 2 && ((unsigned)f.pl[0] << 8 | f.pl[1]) == (unsigned)e->code &&
                     f.len <= 125 && ws_utf8_check(f.pl + 2, f.len - 2) == WS_OK;
            if (!ok) {
                if (e->code < 0) failf(r, "reply %zu: expected an empty close, got %s", i + 1, got);
                else failf(r, "reply %zu: expected close %d, got %s", i + 1, e->code, got);
                free(f.pl);
                return 0;
            }
        }
        free(f.pl);
    }
    if (pos != r->out.n) {
        oframe f;
        size_t used;
        if (out_frame(r, r->out.p + pos, r->out.n - pos, &used, &f) == 1) {
            describe_close(&f, got, sizeof got);
            free(f.pl);
            return failf(r, "sent more than expected: %s", got);
        }
        return failf(r, "sent %zu unexpected bytes after the expected replies", r->out.n - pos);
    }
    return 1;
}

static int check_run(run *r) {
    const cf_case *cs = r->cs;
    size_t off = 0;
    unsigned w;
    if (r->why[0]) return 0;
    if (r->server) {
        char line[32];
        size_t hn = head_end(r->out.p, r->out.n);
        const char *s;
        if (!hn) return failf(r, "no HTTP response (%zu bytes out)", r->out.n);
        snprintf(line, sizeof line, "HTTP/1.1 %d ", cs->status);
        if (r->out.n < strlen(line) || memcmp(r->out.p, line, strlen(line)) != 0)
            return failf(r, "expected HTTP %d, got %.*s", cs->status, (int)(strchr((char *)r->out.p, '\r') ?
                         (size_t)((unsigned char *)strchr((char *)r->out.p, '\r') - r->out.p) : 12), (const char *)r->out.p);
        for (s = cs->head_has; s && *s;) {
            const char *e = strchr(s, '\n');
            size_t n = e ? (size_t)(e - s) : strlen(s);
            char want[256];
            snprintf(want, sizeof want, "%.*s", (int)n, s);
            if (!head_contains(r->out.p, hn, want)) return failf(r, "response lacks \"%.*s\"", (int)strcspn(want, "\r\n"), want);
            s += n + (e ? 1 : 0);
        }
        for (s = cs->head_lacks; s && *s;) {
            const char *e = strchr(s, '\n');
            size_t n = e ? (size_t)(e - s) : strlen(s);
            char want[256];
            snprintf(want, sizeof want, "%.*s", (int)n, s);
            if (head_contains(r->out.p, hn, want)) return failf(r, "response has \"%.*s\"", (int)strcspn(want, "\r\n"), want);
            s += n + (e ? 1 : 0);
        }
        if (cs->status == 101 && !head_contains(r->out.p, hn, "\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"))
            return failf(r, "wrong or missing Sec-WebSocket-Accept");
        if (cs->status != 101) {
            if (hn != r->out.n) return failf(r, "sent %zu bytes after the refusal", r->out.n - hn);
            if (ws_conn_wants(&r->conn) != 0) return failf(r, "still wants I/O (%u) after refusing", ws_conn_wants(&r->conn));
            if (r->a.opened) return failf(r, "reported OPEN for a refused request");
            return 1;
        }
        off = hn;
    } else {
        off = r->hs_out;
        if (cs->hs_error != WS_OK) {
            if (r->a.opened) return failf(r, "opened despite the bad response");
            if (r->a.errors != 1 || r->a.err != cs->hs_error)
                return failf(r, "expected error %s, got %s", ws_strerror(cs->hs_error),
                             r->a.errors ? ws_strerror(r->a.err) : "no error");
            if (r->out.n != off) return failf(r, "sent %zu bytes after the bad response", r->out.n - off);
            if (ws_conn_wants(&r->conn) != 0) return failf(r, "still wants I/O after a bad response");
            return 1;
        }
    }
    if (r->a.opened != 1) return failf(r, "no OPEN event (errors %d: %s)", r->a.errors, r->a.errors ? ws_strerror(r->a.err) : "");
    if (!check_frames(r, off)) return 0;
    if (cs->nexpect && cs->expect[cs->nexpect - 1].kind == CF_CLOSE) {
        const cf_expect *e = &cs->expect[cs->nexpect - 1];
        w = ws_conn_wants(&r->conn);
        if (e->fail) {
            if (r->a.errors != 1 || (int)r->a.err_code != e->code)
                return failf(r, "expected one error event with code %d, got %d (code %u, %s)", e->code,
                             r->a.errors, r->a.err_code, r->a.errors ? ws_strerror(r->a.err) : "");
            if (w != 0) return failf(r, "after failing still wants I/O (%u)", w);
        } else {
            if (r->a.errors) return failf(r, "unexpected error: %s (code %u)", ws_strerror(r->a.err), r->a.err_code);
            if (r->a.closes != 1) return failf(r, "%d CLOSE events, expected 1", r->a.closes);
            if (ws_conn_state(&r->conn) != WS_STATE_CLOSED) return failf(r, "state %d after the close handshake", ws_conn_state(&r->conn));
            if (r->server && w != 0) return failf(r, "server still wants I/O (%u) after the close handshake", w);
            if (!r->server) {
                if (w != WS_WANT_READ) return failf(r, "client should wait for the server's EOF, wants %u", w);
                ws_conn_eof(&r->conn);
                if (r->a.errors) return failf(r, "EOF after a clean close reported %s", ws_strerror(r->a.err));
                if (ws_conn_wants(&r->conn) != 0) return failf(r, "still wants I/O after EOF");
            }
        }
    }
    return 1;
}

/* ---- special cases: the close timeout -------------------------------------------- */

static int special(run *r) {
    const cf_case *cs = r->cs;
    unsigned char fr[32];
    size_t n;
    if (!run_feed(r, 2) || r->why[0]) return 0;
    if (r->a.opened != 1) return failf(r, "not open");
    if (strcmp(cs->special, "eof") == 0) { /* the peer vanishes without a close frame (§7.1.5) */
        if (!check_frames(r, r->server ? head_end(r->out.p, r->out.n) : r->hs_out)) return 0;
        size_t before = r->out.n;
        ws_conn_eof(&r->conn);
        if (r->a.errors != 1 || r->a.err != WS_ERR_EOF || r->a.err_code != WS_CLOSE_ABNORMAL)
            return failf(r, "expected WS_ERR_EOF with code 1006, got %s (code %u)",
                         r->a.errors ? ws_strerror(r->a.err) : "nothing", r->a.err_code);
        drain(r);
        if (r->out.n != before) return failf(r, "wrote %zu bytes after EOF", r->out.n - before);
        if (ws_conn_wants(&r->conn) != 0) return failf(r, "still wants I/O after EOF");
        return 1;
    }
    if (strcmp(cs->special, "no_close_reply") == 0) {
        size_t before = r->out.n;
        oframe f;
        size_t used;
        ws_conn_tick(&r->conn, 2000);
        if (ws_close(&r->conn, 1000, "bye", 3) != WS_OK) return failf(r, "ws_close failed");
        drain(r);
        if (out_frame(r, r->out.p + before, r->out.n - before, &used, &f) != 1) return failf(r, "no close frame sent");
        free(f.pl);
        ws_conn_tick(&r->conn, 2000); /* the wait counts from the first tick after the close */
        ws_conn_tick(&r->conn, 2000 + 4999);
        if (r->a.errors || !(ws_conn_wants(&r->conn) & WS_WANT_READ))
            return failf(r, "gave up before the timeout (wants %u, errors %d)", ws_conn_wants(&r->conn), r->a.errors);
        ws_conn_tick(&r->conn, 2000 + 5000);
        if (r->a.errors != 1 || r->a.err != WS_ERR_TIMEOUT)
            return failf(r, "expected WS_ERR_TIMEOUT at 5000 ms, got %s", r->a.errors ? ws_strerror(r->a.err) : "nothing");
        if (ws_conn_wants(&r->conn) != 0) return failf(r, "still wants I/O after the timeout");
        return 1;
    }
    /* no_tcp_close (client): the server's close is answered, then the server keeps the
       TCP connection open; the client stops waiting after the close timeout. */
    ws_conn_tick(&r->conn, 2000);
    fr[0] = 0x88, fr[1] = 2, fr[2] = 0x03, fr[3] = 0xe8;
    n = r->in.n;
    buf_put(&r->in, fr, 4);
    feed_piece(r, n, n + 4);
    if (r->a.closes != 1 || ws_conn_state(&r->conn) != WS_STATE_CLOSED) return failf(r, "close not handled");
    ws_conn_tick(&r->conn, 2000); /* the wait counts from the first tick after the close */
    ws_conn_tick(&r->conn, 2000 + 4999);
    if (ws_conn_wants(&r->conn) != WS_WANT_READ) return failf(r, "stopped waiting before the timeout (wants %u)", ws_conn_wants(&r->conn));
    ws_conn_tick(&r->conn, 2000 + 5000);
    if (ws_conn_wants(&r->conn) != 0) return failf(r, "still waiting for EOF after the close timeout");
    if (r->a.errors) return failf(r, "a clean close reported %s", ws_strerror(r->a.err));
    return 1;
}

/* ---- driver ---------------------------------------------------------------------- */

static const char *mode_name[3] = {"one feed per frame", "one feed per byte", "one feed for everything"};

static int play(const cf_case *cs, int server, char *why, size_t cap) {
    int mode;
    why[0] = 0;
    for (mode = 0; mode < 3; mode++) {
        run r;
        int ok;
        if (cs->special && mode) break;
        ok = run_setup(&r, cs, server);
        if (ok && mode == 1 && r.in.n > BYTEWISE_LIMIT) {
            run_free(&r);
            continue;
        }
        if (ok) ok = cs->special ? special(&r) : (run_feed(&r, mode) && check_run(&r));
        if (!ok) snprintf(why, cap, "(%s) %s", cs->special ? "ticks" : mode_name[mode], r.why);
        run_free(&r);
        if (!ok) return 0;
    }
    return 1;
}

static void group_test(void **state) {
    const char *group = (const char *)*state;
    size_t i;
    int failed = 0, role;
    char why[700];
    for (i = 0; i < CF_NCASES; i++) {
        const cf_case *cs = &cf_cases[i];
        if (strcmp(cs->group, group) != 0) continue;
        for (role = 0; role < 2; role++) {
            unsigned t = role ? CF_IN_SERVER : CF_IN_CLIENT;
            int ok;
            if (!(cs->targets & t)) continue;
            ok = play(cs, role, why, sizeof why);
            printf("%s - %s [ws_conn %s]%s%s\n", ok ? "ok" : "not ok", cs->title,
                   role ? "server" : "client", ok ? "" : "  # ", ok ? "" : why);
            failed += !ok;
        }
    }
    fflush(stdout);
    if (failed) fail_msg("%d case(s) failed in group %s", failed, group);
}

int main(void) {
    static struct CMUnitTest tests[32];
    static const char *groups[32];
    size_t i, g, ng = 0;
    for (i = 0; i < CF_NCASES; i++) {
        for (g = 0; g < ng; g++)
            if (strcmp(groups[g], cf_cases[i].group) == 0) break;
        if (g == ng && ng < 32) {
            groups[ng] = cf_cases[i].group;
            tests[ng].name = cf_cases[i].group;
            tests[ng].test_func = group_test;
            tests[ng].setup_func = NULL;
            tests[ng].teardown_func = NULL;
            tests[ng].initial_state = (void *)cf_cases[i].group;
            ng++;
        }
    }
    return _cmocka_run_group_tests("conformance", tests, ng, NULL, NULL);
}
