/* A whole connection (layer 5) driven by the fuzz input, for fuzz_server.c and
   fuzz_client.c (each defines FZ_SERVER 1 or 0 before including this).

   Input layout:
     6 config bytes  b0 flags: bit0 streaming, bit1 caller buffers (zero-allocation
                        mode: the allocator fails the run if called), bits2-3 handshake
                        (0 raw from the input, 1 the harness supplies a valid one,
                        2 skip_handshake, 3 a valid one and everything through a
                        ws_stream (layer 6) over a simulated transport: feeds arrive
                        as reads of b3>>4 * 13 bytes at most, op 6 sets how much a write
                        takes (0: would block), op 12 is end of file or a failing
                        write), bit4 echo messages from the callback, bit5
                        close from the CLOSE callback, bit6 keep-alive pings, bit7
                        allocation failure after b5 allocations
                     b1 max_message (and the stream buffer size)   b2 max_queue
                     b3 max_handshake / max_headers
                     b4 server: what the REQUEST callback does; client: options and
                        when the RNG fails   b5 allocation failure countdown
     then operations, one byte each (low 4 bits) with their arguments:
       0-5 feed 1..256 bytes that follow   15 feed up to 65535 bytes that follow
       6 drain some output   7 send   8 send_fragment   9 ping   14 pong
       10 close(code, reason)   11 tick   12 eof   13 send a large message
   Feeding keeps whatever the connection did not consume (WS_WOULD_BLOCK) and offers
   it again with the next feed, as a real caller would, so nothing is lost.

   Checked throughout: the counting allocator never sees a block or a total past the
   configured limits and every block is freed by ws_conn_free; the output queue stays
   within max_queue; WS_WOULD_BLOCK only ever comes with output waiting; errors stick.
   Checked on everything the connection wrote: a well-formed handshake head, then
   frames that follow RFC 6455 for this role (mask bit, no RSV, minimal lengths,
   control frames whole and <= 125, no reserved opcodes, fragments in order, text
   valid UTF-8, close codes that may go on the wire, nothing after the close), and the
   pongs answer the pings received, in order, none dropped. Events: every message
   within max_message, text valid UTF-8 by the reference decoder, close codes valid. */
#ifndef WS_FUZZ_CONN_H
#define WS_FUZZ_CONN_H

#include "fuzz_common.h"

#define FZ_ROLE (FZ_SERVER ? WS_ROLE_SERVER : WS_ROLE_CLIENT)

#define FZ_OUT_CAP ((size_t)4 << 20)
#define FZ_MAX_PINGS 2048

typedef struct fz_conn {
    ws_conn c;
    fz_alloc a;
    fz_in in;
    unsigned flags, req_action;
    size_t max_message, max_queue, max_handshake, steady_limit;
    unsigned rng_calls, rng_fail_at;
    uint64_t now;
    /* input the connection has not taken yet */
    unsigned char *pend;
    size_t pend_n, pend_cap;
    /* everything written */
    unsigned char *out;
    size_t out_n, out_cap;
    int out_overflow;
    /* pings received (payloads), in order */
    unsigned char (*ping)[WS_MAX_CONTROL];
    unsigned char *ping_len;
    size_t pings, ping_cap;
    int ping_overflow, errors, got_close, started;
    ws_result error;
    unsigned char *frag;      /* streaming text reassembled for the UTF-8 reference */
    size_t frag_n;
    /* layer 6 mode: a ws_stream over a simulated transport */
    int stream_mode, t_eof, fail_write;
    ws_stream s;
    unsigned char *sbuf;      /* the stream's read buffer, exactly s_cap bytes */
    size_t s_cap, write_chunk, read_chunk;
    unsigned char *t;         /* bytes the peer sent, not yet read: t[t_off..t_n) */
    size_t t_n, t_off, t_cap;
} fz_conn;

static const size_t fz_msg_sizes[16] = {0, 1, 2, 16, 125, 126, 127, 128, 200, 256,
                                        1000, 4096, 65535, 65536, 70000, 100000};
static const size_t fz_queue_sizes[16] = {0, 1, 139, 140, 200, 255, 256, 257,
                                          300, 512, 1000, 4096, 16384, 65536, 70000, 100000};
static const size_t fz_hs_sizes[16] = {0, 1, 4, 50, 100, 127, 128, 129,
                                       150, 200, 256, 300, 512, 1024, 4096, 8192};

static int fz_rng(void *ctx, void *buf, size_t len) {
    fz_conn *z = (fz_conn *)ctx;
    unsigned char *p = (unsigned char *)buf;
    size_t i;
    if (z->rng_fail_at && ++z->rng_calls == z->rng_fail_at) return -1;
    /* the handshake key is 00 01 .. 0f so seeds can carry the matching accept */
    for (i = 0; i < len; i++) p[i] = (unsigned char)i;
    return 0;
}

static void fz_check_queue(fz_conn *z) {
    FZ_CHECK(ws_conn_queued(&z->c) <= z->max_queue);
    if (z->steady_limit) FZ_CHECK(z->a.cur <= z->steady_limit);
}

static int fz_valid_code(unsigned code) {
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

static int fz_utf8_ok(const unsigned char *p, size_t n) {
    int complete;
    return fz_ref_utf8(p, n, &complete) == n && complete;
}

static void fz_on_event(ws_conn *c, const ws_event *e, void *user) {
    fz_conn *z = (fz_conn *)user;
    const unsigned char *d = (const unsigned char *)e->data;
    volatile unsigned sum = 0;
    size_t i;
    /* every byte of the event must be readable */
    for (i = 0; i < e->len; i++) sum += d[i];
    (void)sum;
    FZ_CHECK(z->errors == 0); /* nothing after the error event */
    switch (e->type) {
    case WS_EV_REQUEST: {
        ws_result r = WS_OK;
        FZ_CHECK(FZ_ROLE == WS_ROLE_SERVER && e->request != NULL);
        FZ_CHECK(ws_send(c, WS_OP_TEXT, "x", 1) == WS_ERR_STATE);
        switch (z->req_action & 7) {
        case 0: r = ws_accept(c, NULL, NULL); FZ_CHECK(r == WS_OK || r == WS_ERR_NOMEM || r == WS_ERR_TOO_BIG); break;
        case 1: r = ws_accept(c, "chat", NULL); break;
        case 2: r = ws_accept(c, NULL, "Set-Cookie: id=1\r\nX-A: b\r\n"); FZ_CHECK(r == WS_OK || r == WS_ERR_NOMEM || r == WS_ERR_TOO_BIG); break;
        case 3: r = ws_reject(c, 403, NULL); FZ_CHECK(r == WS_OK || r == WS_ERR_NOMEM || r == WS_ERR_TOO_BIG); break;
        case 4: break; /* neither: accepted without a subprotocol */
        case 5: r = ws_accept(c, "nope-not-offered", NULL); FZ_CHECK(r == WS_ERR_ARG || r == WS_ERR_NOMEM || r == WS_ERR_TOO_BIG || ws_token_has(e->request->protocols, "nope-not-offered")); break;
        case 6: r = ws_reject(c, 200, NULL); FZ_CHECK(r == WS_ERR_ARG || r == WS_ERR_NOMEM || r == WS_ERR_TOO_BIG); break;
        case 7: r = ws_accept(c, NULL, "bad\r\n\r\nheader\r\n"); FZ_CHECK(r == WS_ERR_ARG || r == WS_ERR_NOMEM || r == WS_ERR_TOO_BIG); break;
        }
        if (r == WS_OK && (z->req_action & 7) != 4)
            FZ_CHECK(ws_accept(c, NULL, NULL) == WS_ERR_STATE); /* one decision only */
        break;
    }
    case WS_EV_OPEN:
        FZ_CHECK(ws_conn_state(c) == WS_STATE_OPEN);
        break;
    case WS_EV_MESSAGE:
        FZ_CHECK(!(z->flags & 1));
        FZ_CHECK(e->opcode == WS_OP_TEXT || e->opcode == WS_OP_BINARY);
        FZ_CHECK(e->len <= z->max_message);
        if (e->opcode == WS_OP_TEXT) FZ_CHECK(fz_utf8_ok(d, e->len));
        if (z->flags & 16) (void)ws_send(c, e->opcode, e->data, e->len);
        break;
    case WS_EV_FRAGMENT:
        FZ_CHECK(z->flags & 1);
        FZ_CHECK(e->opcode == WS_OP_TEXT || e->opcode == WS_OP_BINARY);
        if (e->opcode == WS_OP_TEXT) {
            /* the pieces so far must be a viable prefix; the whole, valid */
            unsigned char *nf;
            int complete;
            if (z->frag_n + e->len <= ((size_t)1 << 20)) {
                nf = (unsigned char *)realloc(z->frag, z->frag_n + e->len + 1);
                if (!nf) abort();
                z->frag = nf;
                if (e->len) memcpy(z->frag + z->frag_n, d, e->len);
                z->frag_n += e->len;
                FZ_CHECK(fz_ref_utf8(z->frag, z->frag_n, &complete) == z->frag_n);
                if (e->fin) FZ_CHECK(complete);
            }
        }
        if (e->fin) z->frag_n = 0;
        break;
    case WS_EV_PING:
        FZ_CHECK(e->len <= WS_MAX_CONTROL);
        if (z->pings == z->ping_cap && z->ping_cap < FZ_MAX_PINGS) {
            size_t cap = z->ping_cap ? z->ping_cap * 2 : 16;
            void *a = realloc(z->ping, cap * sizeof *z->ping), *b = realloc(z->ping_len, cap);
            if (!a || !b) abort();
            z->ping = (unsigned char(*)[WS_MAX_CONTROL])a, z->ping_len = (unsigned char *)b;
            z->ping_cap = cap;
        }
        if (z->pings < z->ping_cap) {
            if (e->len) memcpy(z->ping[z->pings], d, e->len);
            z->ping_len[z->pings++] = (unsigned char)e->len;
        } else {
            z->ping_overflow = 1;
        }
        break;
    case WS_EV_PONG:
        FZ_CHECK(e->len <= WS_MAX_CONTROL);
        break;
    case WS_EV_CLOSE:
        FZ_CHECK(!z->got_close);
        z->got_close = 1;
        FZ_CHECK(e->code == WS_CLOSE_NO_STATUS || fz_valid_code(e->code));
        FZ_CHECK(e->len <= WS_MAX_CONTROL - 2);
        FZ_CHECK(fz_utf8_ok(d, e->len));
        if (z->flags & 32) (void)ws_close(c, WS_CLOSE_NORMAL, "bye", 3);
        break;
    case WS_EV_ERROR:
        z->errors++;
        z->error = e->error;
        FZ_CHECK(e->error < 0 && e->error != WS_NEED_MORE && e->error != WS_WOULD_BLOCK);
        FZ_CHECK(ws_conn_error(c) == e->error);
        FZ_CHECK(ws_conn_state(c) == WS_STATE_CLOSED);
        break;
    default:
        FZ_CHECK(0);
    }
}

static void fz_capture(fz_conn *z, const void *p, size_t k) {
    if (z->out_overflow) return;
    if (z->out_n + k > FZ_OUT_CAP) {
        z->out_overflow = 1;
        return;
    }
    if (z->out_n + k > z->out_cap) {
        size_t cap = z->out_cap ? z->out_cap : 4096;
        unsigned char *no;
        while (cap < z->out_n + k) cap *= 2;
        no = (unsigned char *)realloc(z->out, cap);
        if (!no) abort();
        z->out = no, z->out_cap = cap;
    }
    memcpy(z->out + z->out_n, p, k);
    z->out_n += k;
}

static void fz_drain(fz_conn *z, size_t max) {
    for (;;) {
        const void *p;
        size_t k = ws_conn_output(&z->c, &p);
        if (k == 0) break;
        FZ_CHECK(p != NULL);
        if (max && k > max) k = max;
        fz_capture(z, p, k);
        ws_conn_consume(&z->c, k);
        fz_check_queue(z);
        if (max) break;
    }
}

/* ---- layer 6: the transport the ws_stream reads and writes --------------------- */
static long fz_io_read(void *user, void *buf, size_t len) {
    fz_conn *z = (fz_conn *)user;
    size_t k = z->t_n - z->t_off;
    FZ_CHECK(len > 0 && len <= z->s_cap);
    if (k == 0) return z->t_eof ? 0 : WS_WOULD_BLOCK;
    if (k > len) k = len;
    if (z->read_chunk && k > z->read_chunk) k = z->read_chunk;
    memcpy(buf, z->t + z->t_off, k);
    z->t_off += k;
    return (long)k;
}

static long fz_io_write(void *user, const void *buf, size_t len) {
    fz_conn *z = (fz_conn *)user;
    size_t k = len;
    FZ_CHECK(len > 0);
    if (z->fail_write) {
        z->fail_write = 0;
        return WS_ERR_IO;
    }
    if (!z->write_chunk) return WS_WOULD_BLOCK;
    if (k > z->write_chunk) k = z->write_chunk;
    fz_capture(z, buf, k); /* what went out, to check nothing was lost or sent twice */
    return (long)k;
}

static void fz_pump(fz_conn *z) {
    ws_result e0 = ws_conn_error(&z->c), r = ws_stream_pump(&z->s);
    unsigned w = ws_stream_wants(&z->s);
    FZ_CHECK(r == ws_conn_error(&z->c));
    if (e0 != WS_OK) FZ_CHECK(r == e0);
    FZ_CHECK((w & ~(WS_WANT_READ | WS_WANT_WRITE)) == 0);
    if (w & WS_WANT_WRITE) FZ_CHECK(ws_conn_queued(&z->c) > 0);
    fz_check_queue(z);
}

static void fz_transport_put(fz_conn *z, const uint8_t *p, size_t n) {
    if (z->t_n + n > z->t_cap) {
        size_t cap = (z->t_n + n) * 2;
        unsigned char *nt = (unsigned char *)realloc(z->t, cap);
        if (!nt) abort();
        z->t = nt, z->t_cap = cap;
    }
    if (n) memcpy(z->t + z->t_n, p, n);
    z->t_n += n;
}

/* Offer the pending input (plus n new bytes) once. */
static void fz_feed(fz_conn *z, const uint8_t *p, size_t n) {
    unsigned char *piece;
    if (z->stream_mode) {
        fz_transport_put(z, p, n);
        fz_pump(z);
        return;
    }
    size_t used = 12345, had_err = ws_conn_error(&z->c) != WS_OK;
    ws_result r, sticky = ws_conn_error(&z->c);
    if (z->pend_n + n > z->pend_cap) {
        size_t cap = (z->pend_n + n) * 2;
        unsigned char *np = (unsigned char *)realloc(z->pend, cap);
        if (!np) abort();
        z->pend = np, z->pend_cap = cap;
    }
    if (n) memcpy(z->pend + z->pend_n, p, n);
    z->pend_n += n;
    piece = (unsigned char *)fz_dup(z->pend, z->pend_n); /* exactly sized for ASan */
    r = ws_conn_feed(&z->c, piece, z->pend_n, &used);
    free(piece);
    FZ_CHECK(used <= z->pend_n);
    if (had_err) FZ_CHECK(r == sticky && used == z->pend_n); /* errors stick */
    if (r == WS_OK) FZ_CHECK(used == z->pend_n);
    if (r == WS_WOULD_BLOCK) FZ_CHECK(ws_conn_queued(&z->c) > 0); /* draining unblocks it */
    if (r == WS_ERR_STATE && !z->started) FZ_CHECK(FZ_ROLE == WS_ROLE_CLIENT && used == 0); /* never started */
    else if (r != WS_OK && r != WS_WOULD_BLOCK) FZ_CHECK(ws_conn_error(&z->c) == r);
    if (used && z->pend_n > used) memmove(z->pend, z->pend + used, z->pend_n - used);
    z->pend_n -= used;
    fz_check_queue(z);
}

/* ---- what the connection wrote ---------------------------------------------------- */
static size_t fz_head_end(const unsigned char *p, size_t n) {
    size_t i;
    for (i = 0; i + 3 < n; i++)
        if (p[i] == '\r' && p[i + 1] == '\n' && p[i + 2] == '\r' && p[i + 3] == '\n') return i + 4;
    return 0;
}

static void fz_verify_output(fz_conn *z, int skip_hs) {
    static const unsigned char none[1] = {0};
    const unsigned char *p = z->out ? z->out : none, *end = p + z->out_n;
    unsigned char *msg = NULL;
    size_t msg_n = 0, pongs = 0;
    int in_msg = 0, msg_text = 0, closed = 0;
    if (z->out_overflow) return;
    if (!skip_hs) {
        size_t h = z->out ? fz_head_end(p, z->out_n) : 0;
        if (!h) return; /* the head never completed (a failure, or never drained) */
        if (FZ_ROLE == WS_ROLE_CLIENT) {
            FZ_CHECK(z->out_n >= 4 && memcmp(p, "GET ", 4) == 0);
        } else {
            FZ_CHECK(h >= 12 && memcmp(p, "HTTP/1.1 ", 9) == 0);
            if (memcmp(p + 9, "101", 3) != 0) {
                FZ_CHECK(h == z->out_n); /* a refusal is the last thing written */
                FZ_CHECK(z->pings == 0);
                return;
            }
        }
        p += h;
    }
    /* A hang-up drops what was still queued, maybe the rest of a frame half written:
       only then may the output end inside a frame. */
    int cut_ok = ws_conn_wants(&z->c) == 0;
    while (p < end) {
        unsigned op, fin, len7, masked;
        uint64_t len;
        size_t hl = 2, k;
        unsigned char key[4] = {0, 0, 0, 0}, *pl;
        if (end - p < 2) { FZ_CHECK(cut_ok); break; }
        fin = p[0] >> 7, op = p[0] & 15, len7 = p[1] & 127, masked = p[1] >> 7;
        /* §5.5.1: no data or close after our close; §5.5.2: pongs until the peer's */
        FZ_CHECK(!closed || op == WS_OP_PONG);
        FZ_CHECK((p[0] & 0x70) == 0);                               /* no RSV */
        FZ_CHECK(masked == (FZ_ROLE == WS_ROLE_CLIENT));             /* §5.1 */
        FZ_CHECK(op <= 2 || (op >= 8 && op <= 10));                  /* §5.2 */
        if (len7 == 126) {
            if (end - p < 4) { FZ_CHECK(cut_ok); break; }
            len = (uint64_t)p[2] << 8 | p[3], hl = 4;
            FZ_CHECK(len >= 126);                                    /* minimal */
        } else if (len7 == 127) {
            if (end - p < 10) { FZ_CHECK(cut_ok); break; }
            for (len = 0, k = 2; k < 10; k++) len = len << 8 | p[k];
            hl = 10;
            FZ_CHECK(len > 0xffff && !(len >> 63));
        } else {
            len = len7;
        }
        if (masked) {
            if ((size_t)(end - p) < hl + 4) { FZ_CHECK(cut_ok); break; }
            memcpy(key, p + hl, 4);
            hl += 4;
        }
        if ((uint64_t)(end - p) - hl < len) { FZ_CHECK(cut_ok); break; } /* whole frames */
        pl = (unsigned char *)fz_dup(p + hl, (size_t)len);
        for (k = 0; k < len; k++) pl[k] ^= key[k & 3];
        if (op & 8) {
            FZ_CHECK(fin && len <= WS_MAX_CONTROL);                  /* §5.5 */
            if (op == WS_OP_CLOSE) {
                FZ_CHECK(len != 1);
                if (len >= 2) {
                    unsigned code = (unsigned)pl[0] << 8 | pl[1];
                    FZ_CHECK(fz_valid_code(code));                    /* never 1005/1006/1015 */
                    FZ_CHECK(fz_utf8_ok(pl + 2, (size_t)len - 2));
                }
                closed = 1;
            } else if (op == WS_OP_PONG && !(z->flags & 0x100)) {
                /* the next pong answers the next ping, same payload (§5.5.2) */
                FZ_CHECK(z->ping_overflow || pongs < z->pings);
                if (!z->ping_overflow)
                    FZ_CHECK(len == z->ping_len[pongs] && memcmp(pl, z->ping[pongs], (size_t)len) == 0);
                pongs++;
            }
        } else {
            if (op == WS_OP_CONT) FZ_CHECK(in_msg);
            else {
                FZ_CHECK(!in_msg);
                in_msg = 1, msg_text = op == WS_OP_TEXT, msg_n = 0;
            }
            if (msg_text) {
                unsigned char *nm = (unsigned char *)realloc(msg, msg_n + (size_t)len + 1);
                if (!nm) abort();
                msg = nm;
                if (len) memcpy(msg + msg_n, pl, (size_t)len);
                msg_n += (size_t)len;
                {
                    int complete;
                    FZ_CHECK(fz_ref_utf8(msg, msg_n, &complete) == msg_n);
                    if (fin) FZ_CHECK(complete);
                }
            }
            if (fin) in_msg = 0;
        }
        free(pl);
        p += hl + (size_t)len;
    }
    /* every ping answered unless the connection failed or hung up (§5.5.2) */
    if (z->errors == 0 && !z->ping_overflow && !(z->flags & 0x100) &&
        ws_conn_state(&z->c) != WS_STATE_CLOSED)
        FZ_CHECK(pongs == z->pings);
    free(msg);
}

/* ---- the run -------------------------------------------------------------------- */
static const char fz_canon_request[] =
    "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n"
    "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n"
    "Sec-WebSocket-Version: 13\r\n\r\n";

static int fz_conn_run(const uint8_t *data, size_t size) {
    fz_conn *z;
    ws_config cfg;
    unsigned char *rbuf = NULL, *sbuf = NULL;
    size_t rsize = 0, ssize = 0;
    int hs_mode, skip_hs;
    ws_result r;
    if (size < 6) return 0;
    z = (fz_conn *)calloc(1, sizeof *z);
    if (!z) abort();
    z->in.p = data, z->in.n = size;
    z->flags = fz_u8(&z->in);
    {
        unsigned b1 = fz_u8(&z->in), b2 = fz_u8(&z->in), b3 = fz_u8(&z->in);
        unsigned b4 = fz_u8(&z->in), b5 = fz_u8(&z->in);
        fz_alloc_init(&z->a);
        ws_config_init(&cfg, FZ_ROLE);
        cfg.on_event = fz_on_event, cfg.user = z;
        cfg.rng = fz_rng, cfg.rng_ctx = z;
        cfg.streaming = z->flags & 1;
        hs_mode = (z->flags >> 2) & 3;
        skip_hs = hs_mode == 2;
        z->stream_mode = hs_mode == 3;
        z->s_cap = 1 + (size_t)(b1 >> 4) * 300;
        z->read_chunk = (b3 >> 4) * 13;
        z->write_chunk = 1 + (size_t)(b2 >> 4) * 50;
        cfg.skip_handshake = skip_hs;
        cfg.max_message = fz_msg_sizes[b1 & 15];
        cfg.max_queue = fz_queue_sizes[b2 & 15];
        cfg.max_handshake = fz_hs_sizes[b3 & 15];
        cfg.max_headers = b3 >> 4;
        if (z->flags & 64) cfg.ping_interval_ms = 100 + (b1 >> 4) * 100, cfg.pong_timeout_ms = (b2 >> 4) * 100;
        cfg.close_timeout_ms = (b5 & 15) * 250;
        z->req_action = b4;
        if (FZ_ROLE == WS_ROLE_CLIENT && (b4 & 0x80)) z->rng_fail_at = (b4 >> 4) & 7;
        if (z->flags & 2) {
            /* zero-allocation mode: caller buffers, an allocator that must stay idle */
            rsize = fz_msg_sizes[b1 & 15] < 128 ? 128 + (b1 & 15) : fz_msg_sizes[b1 & 15];
            ssize = fz_queue_sizes[b2 & 15] < WS_MAX_HEADER + WS_MAX_CONTROL
                        ? WS_MAX_HEADER + WS_MAX_CONTROL + (b2 & 15)
                        : fz_queue_sizes[b2 & 15];
            rbuf = (unsigned char *)malloc(rsize);
            sbuf = (unsigned char *)malloc(ssize);
            if (!rbuf || !sbuf) abort();
            cfg.recv_buf = rbuf, cfg.recv_buf_size = rsize;
            cfg.send_buf = sbuf, cfg.send_buf_size = ssize;
            z->a.forbid = 1;
        } else if (z->flags & 128) {
            z->a.fail_after = b5 >> 4;
        }
        cfg.allocator = fz_allocator(&z->a);
        /* the limits every allocation must respect */
        z->max_message = cfg.max_message ? cfg.max_message : WS_DEFAULT_MAX_MESSAGE;
        z->max_queue = cfg.max_queue ? cfg.max_queue : WS_DEFAULT_MAX_QUEUE;
        if (z->max_queue < 256) z->max_queue = 256;
        z->max_handshake = cfg.max_handshake ? cfg.max_handshake : WS_DEFAULT_MAX_HANDSHAKE;
        if (rbuf) {
            /* 125 bytes stay free for a control frame split between reads */
            if (rsize - WS_MAX_CONTROL < z->max_message) z->max_message = rsize - WS_MAX_CONTROL;
            if (rsize < z->max_handshake) z->max_handshake = rsize;
        }
        if (sbuf) z->max_queue = ssize;
        {
            /* the assembly buffer holds a message and a control frame split between
               reads, or a handshake head (after a client's key and its offered
               protocols, at most half the head) */
            size_t msg_lim = z->max_message + WS_MAX_CONTROL;
            size_t hs_lim = 2 * z->max_handshake + WS_KEY_LEN + 1;
            size_t in_lim = msg_lim > hs_lim ? msg_lim : hs_lim;
            z->a.limit_block = in_lim > z->max_queue ? in_lim : z->max_queue;
            /* between calls: one assembly buffer and one queue; while one grows its
               old copy is still live (the allocator has no realloc), so inside a call
               the total may reach twice that */
            z->steady_limit = in_lim + z->max_queue;
            z->a.limit_total = 2 * z->steady_limit;
        }
    }
    r = ws_conn_init(&z->c, &cfg);
    if (r != WS_OK) {
        FZ_CHECK(r == WS_ERR_ARG);
        FZ_CHECK(z->a.calls == 0);
        goto done_noconn;
    }
    FZ_CHECK(ws_conn_state(&z->c) == (skip_hs ? WS_STATE_OPEN : WS_STATE_CONNECTING));
    if (z->stream_mode) {
        ws_io io;
        io.read = fz_io_read, io.write = fz_io_write, io.user = z;
        z->sbuf = (unsigned char *)malloc(z->s_cap);
        if (!z->sbuf) abort();
        ws_stream_init(&z->s, &z->c, &io, z->sbuf, z->s_cap);
    }
    z->started = FZ_ROLE == WS_ROLE_SERVER || skip_hs;

    if (!skip_hs) {
#if !FZ_SERVER
        ws_client_options o;
        memset(&o, 0, sizeof o);
        o.url = (z->req_action & 1) ? "ws://[::1]:9001/chat?x=1" : "wss://example.com/";
        o.protocols = (z->req_action & 2) ? "chat, superchat" : NULL;
        o.origin = (z->req_action & 4) ? "http://example.com" : NULL;
        o.extra_headers = (z->req_action & 8) ? "Authorization: Basic YTpi\r\n" : NULL;
        r = ws_client_start(&z->c, &o);
        FZ_CHECK(r == WS_OK || r == WS_ERR_RNG || r == WS_ERR_NOMEM || r == WS_ERR_TOO_BIG ||
                 r == WS_ERR_BUFFER);
        if (r == WS_OK) FZ_CHECK(ws_client_start(&z->c, &o) == WS_ERR_STATE);
        z->started = r == WS_OK;
        fz_check_queue(z);
        if (r == WS_OK && (hs_mode & 1)) {
            /* answer it properly: the key is base64(00..0f) */
            char acc[WS_ACCEPT_LEN + 1], resp[256];
            int n;
            ws_accept_key("AAECAwQFBgcICQoLDA0ODw==", WS_KEY_LEN, acc);
            n = snprintf(resp, sizeof resp,
                         "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                         "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n%s\r\n",
                         acc, o.protocols ? "Sec-WebSocket-Protocol: chat\r\n" : "");
            if (z->stream_mode) fz_pump(z);
            else fz_drain(z, 0);
            fz_feed(z, (const uint8_t *)resp, (size_t)n);
        }
#else
        if (hs_mode & 1) fz_feed(z, (const uint8_t *)fz_canon_request, sizeof fz_canon_request - 1);
#endif
    }

    while (fz_left(&z->in) > 0) {
        unsigned b = fz_u8(&z->in), op = b & 15;
        const uint8_t *p;
        size_t n;
        ws_state st = ws_conn_state(&z->c);
        ws_result e0 = ws_conn_error(&z->c);
        switch (op) {
        case 0: case 1: case 2: case 3: case 4: case 5:
            n = fz_take(&z->in, (size_t)fz_u8(&z->in) + 1, &p);
            fz_feed(z, p, n);
            break;
        case 15:
            n = fz_take(&z->in, fz_u16(&z->in), &p);
            fz_feed(z, p, n);
            break;
        case 6:
            if (z->stream_mode) {
                z->write_chunk = (size_t)(b >> 4) * 7; /* 0: the transport would block */
                fz_pump(z);
            } else {
                fz_drain(z, (size_t)(b >> 4) * 7);
            }
            break;
        case 7: case 8: {
            ws_opcode opc = (b & 16) ? WS_OP_TEXT : WS_OP_BINARY;
            int fin = (b & 32) != 0;
            size_t q0 = ws_conn_queued(&z->c);
            char *buf;
            n = fz_take(&z->in, fz_u8(&z->in), &p);
            buf = fz_dup(p, n);
            r = op == 7 ? ws_send(&z->c, opc, buf, n) : ws_send_fragment(&z->c, opc, buf, n, fin);
            free(buf);
            if (e0 != WS_OK || st == WS_STATE_CLOSED) FZ_CHECK(r == WS_ERR_CLOSED);
            if (st == WS_STATE_CONNECTING && e0 == WS_OK) FZ_CHECK(r == WS_ERR_STATE);
            if (r == WS_OK) FZ_CHECK(ws_conn_queued(&z->c) > q0);
            else FZ_CHECK(ws_conn_queued(&z->c) == q0); /* all or nothing */
            if (r == WS_OK && opc == WS_OP_TEXT && op == 7) FZ_CHECK(fz_utf8_ok(p, n));
            break;
        }
        case 9: case 14: {
            size_t q0 = ws_conn_queued(&z->c);
            n = fz_take(&z->in, fz_u8(&z->in) & 127, &p);
            if (op == 14) z->flags |= 0x100; /* an unsolicited pong: pong order is ours now */
            r = op == 9 ? ws_ping(&z->c, p, n) : ws_pong(&z->c, p, n);
            if (n > WS_MAX_CONTROL && r != WS_ERR_CLOSED && r != WS_ERR_STATE) FZ_CHECK(r == WS_ERR_ARG);
            if (r != WS_OK) FZ_CHECK(ws_conn_queued(&z->c) == q0);
            break;
        }
        case 10: {
            unsigned code = fz_u16(&z->in);
            size_t q0 = ws_conn_queued(&z->c);
            char *reason;
            n = fz_take(&z->in, fz_u8(&z->in) & 127, &p);
            if (b & 16) code = (code & 1) ? 1000 : 0, n = (code ? n : 0);
            reason = fz_dup(p, n);
            r = ws_close(&z->c, code, reason, n);
            free(reason);
            if (r == WS_OK) {
                FZ_CHECK(code == 0 || fz_valid_code(code));
                FZ_CHECK(n <= WS_MAX_CONTROL - 2 && fz_utf8_ok(p, n));
                FZ_CHECK(ws_close(&z->c, 1000, NULL, 0) == WS_ERR_CLOSED);
                FZ_CHECK(ws_send(&z->c, WS_OP_BINARY, "x", 1) == WS_ERR_CLOSED);
            } else {
                FZ_CHECK(ws_conn_queued(&z->c) == q0);
            }
            break;
        }
        case 11:
            z->now += (uint64_t)fz_u8(&z->in) * 50;
            ws_conn_tick(&z->c, z->now);
            fz_check_queue(z);
            break;
        case 12:
            if (z->stream_mode) {
                if (b & 16) z->t_eof = 1;      /* the peer closed the transport */
                else z->fail_write = 1;        /* the next write fails */
                fz_pump(z);
            } else if (b & 16) {
                ws_conn_eof(&z->c);
                FZ_CHECK(ws_conn_state(&z->c) == WS_STATE_CLOSED);
            } else {
                (void)ws_conn_wants(&z->c);
            }
            break;
        case 13: {
            size_t len = (size_t)fz_u16(&z->in) * ((b & 16) ? 4 : 1);
            size_t q0 = ws_conn_queued(&z->c);
            unsigned char *big = (unsigned char *)calloc(1, len ? len : 1);
            if (!big) abort();
            r = ws_send(&z->c, WS_OP_BINARY, big, len);
            if (r != WS_ERR_CLOSED && r != WS_ERR_STATE) {
                /* all or nothing, by the frame's exact size */
                size_t total = len + 2 + (len >= 126 ? 2 : 0) + (len > 0xffff ? 6 : 0) +
                               (FZ_ROLE == WS_ROLE_CLIENT ? 4 : 0);
                /* ws__held: room kept for the reply to a ping or close being read */
                if (total > z->max_queue) FZ_CHECK(r == WS_ERR_TOO_BIG);
                else if (q0 + z->c.ws__held + total > z->max_queue) FZ_CHECK(r == WS_WOULD_BLOCK);
                else FZ_CHECK(r == WS_OK || r == WS_ERR_NOMEM || r == WS_ERR_RNG);
            }
            if (r != WS_OK) FZ_CHECK(ws_conn_queued(&z->c) == q0);
            free(big);
            break;
        }
        default:
            break;
        }
        fz_check_queue(z);
    }
    /* drain everything so waiting replies go out, then check what was written */
    if (z->stream_mode) {
        int i;
        z->write_chunk = (size_t)1 << 30, z->fail_write = 0;
        for (i = 0; i < 64 && (ws_conn_queued(&z->c) || z->t_off < z->t_n); i++) fz_pump(z);
    }
    fz_drain(z, 0);
    if (z->pend_n && ws_conn_error(&z->c) == WS_OK) {
        fz_feed(z, NULL, 0);
        fz_drain(z, 0);
    }
    fz_verify_output(z, skip_hs);
    (void)ws_conn_wants(&z->c);
    ws_conn_free(&z->c);
    FZ_CHECK(z->a.cur == 0); /* everything freed */
    if (z->flags & 2) FZ_CHECK(z->a.calls == 0);
done_noconn:
    free(rbuf);
    free(sbuf);
    free(z->pend);
    free(z->frag);
    free(z->out);
    free(z->ping);
    free(z->ping_len);
    free(z->sbuf);
    free(z->t);
    free(z);
    return 0;
}

#endif
