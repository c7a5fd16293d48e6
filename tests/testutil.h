/* Shared test harness: a deterministic RNG, an event recorder that copies every event
   (event data is only valid during the callback), and feeding at every chunking. */
#ifndef WS_TESTUTIL_H
#define WS_TESTUTIL_H

#include <stdlib.h>
#include <string.h>
#include "../ws.h"

/* xorshift; deterministic so failures reproduce. Never use this outside tests. */
static inline int tu_rng(void *ctx, void *buf, size_t len) {
    static uint32_t s = 0x12345678u;
    unsigned char *p = (unsigned char *)buf;
    (void)ctx;
    while (len--) {
        s ^= s << 13; s ^= s >> 17; s ^= s << 5;
        *p++ = (unsigned char)s;
    }
    return 0;
}

typedef struct tu_event {
    ws_event_type type;
    ws_opcode opcode;
    int fin;
    unsigned code;
    ws_result error;
    unsigned char *data; /* owned copy, NUL-terminated */
    size_t len;
    char protocol[64];
} tu_event;

typedef struct tu_log {
    tu_event ev[4096];
    size_t n;
    /* what the REQUEST handler does: 0 accept(protocol), else reject(status) */
    int reject_status;
    const char *accept_protocol;
    const char *accept_headers;
    /* echo MESSAGE events back (like an echo server) */
    int echo;
} tu_log;

static inline void tu_on_event(ws_conn *c, const ws_event *e, void *user) {
    tu_log *log = (tu_log *)user;
    tu_event *t;
    if (e->type == WS_EV_REQUEST) {
        if (log->reject_status) ws_reject(c, log->reject_status, NULL);
        else ws_accept(c, log->accept_protocol, log->accept_headers);
    }
    if (e->type == WS_EV_MESSAGE && log->echo) ws_send(c, e->opcode, e->data, e->len);
    if (log->n >= sizeof log->ev / sizeof log->ev[0]) abort();
    t = &log->ev[log->n++];
    t->type = e->type;
    t->opcode = e->opcode;
    t->fin = e->fin;
    t->code = e->code;
    t->error = e->error;
    t->len = e->len;
    t->data = (unsigned char *)malloc(e->len + 1);
    if (e->len) memcpy(t->data, e->data, e->len);
    t->data[e->len] = 0;
    t->protocol[0] = 0;
    if (e->type == WS_EV_OPEN && e->protocol.n < sizeof t->protocol) {
        if (e->protocol.n) memcpy(t->protocol, e->protocol.p, e->protocol.n);
        t->protocol[e->protocol.n] = 0;
    }
}

static inline void tu_log_clear(tu_log *log) {
    size_t i;
    for (i = 0; i < log->n; i++) free(log->ev[i].data);
    log->n = 0;
}

/* Feed len bytes in pieces of `chunk` (0: all at once). Each piece is copied into a
   malloc'd buffer of exactly its size so ASan catches any read past it. Stops at the
   first error and returns it; WS_WOULD_BLOCK is retried after draining the output into
   *sink (may be NULL to discard). */
static inline ws_result tu_feed_chunked(ws_conn *c, const void *bytes, size_t len, size_t chunk,
                                 void (*sink)(const void *, size_t, void *), void *sink_ctx) {
    size_t off = 0;
    if (chunk == 0) chunk = len ? len : 1;
    while (off < len) {
        size_t n = len - off < chunk ? len - off : chunk, done = 0;
        unsigned char *piece = (unsigned char *)malloc(n);
        memcpy(piece, (const unsigned char *)bytes + off, n);
        while (done < n) {
            size_t used = 0;
            ws_result r = ws_conn_feed(c, piece + done, n - done, &used);
            done += used;
            if (r == WS_WOULD_BLOCK) {
                const void *out;
                size_t k = ws_conn_output(c, &out);
                if (k == 0 && used == 0) { free(piece); return WS_WOULD_BLOCK; }
                if (sink) sink(out, k, sink_ctx);
                ws_conn_consume(c, k);
            } else if (r != WS_OK) {
                free(piece);
                return r;
            }
        }
        free(piece);
        off += n;
    }
    return WS_OK;
}

/* Take everything queued for output into buf (up to cap); returns the count. */
static inline size_t tu_drain(ws_conn *c, unsigned char *buf, size_t cap) {
    size_t total = 0;
    for (;;) {
        const void *out;
        size_t k = ws_conn_output(c, &out);
        if (k == 0) break;
        if (k > cap - total) k = cap - total;
        if (k == 0) break;
        memcpy(buf + total, out, k);
        ws_conn_consume(c, k);
        total += k;
    }
    return total;
}

/* Build one frame into out: header + (masked) payload. Returns its size. */
static inline size_t tu_frame(unsigned char *out, int fin, unsigned rsv, unsigned opcode, int mask,
                       const void *payload, size_t len) {
    ws_frame f;
    size_t h;
    memset(&f, 0, sizeof f);
    f.fin = (unsigned char)fin;
    f.rsv = (unsigned char)rsv;
    f.opcode = (unsigned char)opcode;
    f.len = len;
    f.masked = (unsigned char)mask;
    if (mask) { f.key[0] = 0x37; f.key[1] = 0xfa; f.key[2] = 0x21; f.key[3] = 0x3d; }
    h = ws_frame_encode(out, &f);
    if (len) memcpy(out + h, payload, len);
    if (mask) ws_mask(out + h, len, f.key, 0);
    return h + len;
}

#endif
