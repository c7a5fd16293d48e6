/* bench_codec - in-process codec benchmarks of ws.h against memcpy and wslay on the same
   inputs. Prints one line per measurement, for tests/bench/run.py to tabulate:

      codec|<case>|<payload>|<impl>|<ns per pass>|<frames per pass>|<bytes per pass>

   Every case runs its implementations interleaved, several rounds, and keeps each one's
   best pass, so a noisy neighbour hurts all of them alike. */
#define WS_IMPLEMENTATION
#include "../../ws.h"

#include <wslay/wslay.h>

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_common.h"

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static volatile uint64_t sink_u64;
static double budget_ms = 25.0; /* per implementation per round */
static int rounds = 5;

typedef void (*pass_fn)(void *ctx);

/* Best time of one pass: each round repeats the pass for about budget_ms. */
#define MAX_IMPL 4
static void run_case(const char *name, size_t payload, int nimpl, const char *const *impl,
                     pass_fn *fn, void **ctx, size_t frames, size_t bytes) {
    double best[MAX_IMPL];
    int r, i;
    for (i = 0; i < nimpl; i++) {
        best[i] = 1e30;
        fn[i](ctx[i]); /* warm caches and lazily allocated state */
    }
    for (r = 0; r < rounds; r++) {
        for (i = 0; i < nimpl; i++) {
            double t0 = now_ns(), t, elapsed;
            long reps = 0;
            do {
                fn[i](ctx[i]);
                reps++;
                t = now_ns();
            } while ((t - t0) < budget_ms * 1e6);
            elapsed = (t - t0) / (double)reps;
            if (elapsed < best[i]) best[i] = elapsed;
        }
    }
    for (i = 0; i < nimpl; i++)
        printf("codec|%s|%zu|%s|%.3f|%zu|%zu\n", name, payload, impl[i], best[i], frames, bytes);
    fflush(stdout);
}

/* ---- inputs -------------------------------------------------------------------- */

typedef struct input {
    unsigned char *buf;
    size_t len, frames, payload;
    unsigned char *dst; /* memcpy destination / encode sink */
    size_t dst_len;
    /* wslay recv side */
    size_t pos;
    uint64_t count_bytes, count_frames;
} input;

static void memcpy_pass(void *ctx) {
    input *in = (input *)ctx;
    memcpy(in->dst, in->buf, in->len);
    sink_u64 += in->dst[in->len - 1];
}

/* ---- ws.h decode ---------------------------------------------------------------- */

static void ws_count_event(ws_conn *c, const ws_event *ev, void *user) {
    input *in = (input *)user;
    (void)c;
    if (ev->type == WS_EV_MESSAGE || ev->type == WS_EV_FRAGMENT) {
        in->count_bytes += ev->len;
        in->count_frames++;
    } else if (ev->type == WS_EV_ERROR) {
        fprintf(stderr, "bench_codec: ws.h error %s\n", ws_strerror(ev->error));
        exit(1);
    }
}

typedef struct ws_dec {
    input *in;
    ws_conn conn;
} ws_dec;

static void ws_dec_init(ws_dec *d, input *in, int streaming) {
    ws_config cfg;
    ws_config_init(&cfg, WS_ROLE_SERVER);
    cfg.on_event = ws_count_event;
    cfg.user = in;
    cfg.skip_handshake = 1;
    cfg.streaming = streaming;
    cfg.max_message = (size_t)64 << 20;
    d->in = in;
    if (ws_conn_init(&d->conn, &cfg) != WS_OK) abort();
}

/* The server unmasks in place; the headers are left alone, so feeding the same buffer
   again re-masks the (binary) payloads and decodes the same frames. */
static void ws_feed_pass(void *ctx) {
    ws_dec *d = (ws_dec *)ctx;
    size_t used = 0;
    if (ws_conn_feed(&d->conn, d->in->buf, d->in->len, &used) != WS_OK || used != d->in->len) {
        fprintf(stderr, "bench_codec: ws_conn_feed failed\n");
        exit(1);
    }
}

static void ws_codec_pass(void *ctx) {
    input *in = (input *)ctx;
    unsigned char *p = in->buf, *end = in->buf + in->len;
    uint64_t bytes = 0;
    while (p < end) {
        ws_frame f;
        int n = ws_frame_decode(p, (size_t)(end - p), &f);
        if (n < 0) abort();
        p += n;
        ws_mask(p, (size_t)f.len, f.key, 0);
        bytes += f.len;
        p += f.len;
    }
    in->count_bytes += bytes;
}

/* ---- wslay decode ---------------------------------------------------------------- */

static ssize_t wslay_frame_recv_cb(uint8_t *buf, size_t len, int flags, void *user) {
    input *in = (input *)user;
    size_t n = in->len - in->pos;
    (void)flags;
    if (n == 0) return 0; /* wslay_frame_recv returns WSLAY_ERR_WANT_READ */
    if (n > len) n = len;
    memcpy(buf, in->buf + in->pos, n);
    in->pos += n;
    return (ssize_t)n;
}

typedef struct wf_dec {
    input *in;
    wslay_frame_context_ptr ctx;
} wf_dec;

static void wslay_frame_pass(void *ctx) {
    wf_dec *d = (wf_dec *)ctx;
    struct wslay_frame_iocb iocb;
    ssize_t r;
    d->in->pos = 0;
    while ((r = wslay_frame_recv(d->ctx, &iocb)) >= 0) d->in->count_bytes += (size_t)r;
    if (r != WSLAY_ERR_WANT_READ) {
        fprintf(stderr, "bench_codec: wslay_frame_recv %zd\n", r);
        exit(1);
    }
}

static ssize_t wslay_ev_recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
                                void *user) {
    input *in = (input *)user;
    size_t n = in->len - in->pos;
    (void)flags;
    if (n == 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    if (n > len) n = len;
    memcpy(buf, in->buf + in->pos, n);
    in->pos += n;
    return (ssize_t)n;
}

static ssize_t wslay_ev_send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len,
                                int flags, void *user) {
    (void)ctx, (void)data, (void)flags, (void)user;
    return (ssize_t)len;
}

static void wslay_ev_msg_cb(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                            void *user) {
    input *in = (input *)user;
    (void)ctx;
    in->count_bytes += arg->msg_length;
    in->count_frames++;
}

static void wslay_ev_chunk_cb(wslay_event_context_ptr ctx,
                              const struct wslay_event_on_frame_recv_chunk_arg *arg, void *user) {
    input *in = (input *)user;
    (void)ctx;
    in->count_bytes += arg->data_length;
}

static void wslay_ev_end_cb(wslay_event_context_ptr ctx, void *user) {
    input *in = (input *)user;
    (void)ctx;
    in->count_frames++;
}

typedef struct we_dec {
    input *in;
    wslay_event_context_ptr ctx;
} we_dec;

static void we_dec_init(we_dec *d, input *in, int streaming) {
    struct wslay_event_callbacks cb;
    memset(&cb, 0, sizeof cb);
    cb.recv_callback = wslay_ev_recv_cb;
    cb.send_callback = wslay_ev_send_cb;
    if (streaming) {
        cb.on_frame_recv_chunk_callback = wslay_ev_chunk_cb;
        cb.on_frame_recv_end_callback = wslay_ev_end_cb;
    } else {
        cb.on_msg_recv_callback = wslay_ev_msg_cb;
    }
    d->in = in;
    if (wslay_event_context_server_init(&d->ctx, &cb, in) != 0) abort();
    wslay_event_config_set_max_recv_msg_length(d->ctx, (uint64_t)64 << 20);
    if (streaming) wslay_event_config_set_no_buffering(d->ctx, 1);
}

static void wslay_event_pass(void *ctx) {
    we_dec *d = (we_dec *)ctx;
    int r;
    d->in->pos = 0;
    r = wslay_event_recv(d->ctx);
    if (r != 0) {
        fprintf(stderr, "bench_codec: wslay_event_recv %d\n", r);
        exit(1);
    }
}

/* ---- decode cases ---------------------------------------------------------------- */

static size_t frames_for(size_t payload) {
    if (payload >= ((size_t)1 << 20)) return 2;
    if (payload >= ((size_t)64 << 10)) return 16;
    return (256u << 10) / bench_client_frame_len(payload);
}

static void check_counts(const char *what, input *in, uint64_t passes_bytes) {
    if (in->count_bytes != passes_bytes) {
        fprintf(stderr, "bench_codec: %s decoded %llu payload bytes, expected %llu\n", what,
                (unsigned long long)in->count_bytes, (unsigned long long)passes_bytes);
        exit(1);
    }
}

static void bench_decode(size_t payload) {
    input in[5];
    ws_dec wsm, wss;
    wf_dec wf;
    we_dec wem, wes;
    size_t frames = frames_for(payload), i, len;
    unsigned char *buf = bench_make_client_frames(payload, frames, &len);
    unsigned char *dst = (unsigned char *)malloc(len);
    pass_fn fn[3];
    void *ctx[3];
    const char *names[3];
    struct wslay_frame_callbacks fcb;

    for (i = 0; i < 5; i++) {
        memset(&in[i], 0, sizeof in[i]);
        /* each implementation gets its own copy: ws.h unmasks in place */
        in[i].buf = (unsigned char *)malloc(len);
        memcpy(in[i].buf, buf, len);
        in[i].len = len, in[i].frames = frames, in[i].payload = payload;
        in[i].dst = dst, in[i].dst_len = len;
    }
    /* correctness first: one pass each, payload byte counts must agree */
    ws_dec_init(&wsm, &in[0], 0);
    ws_dec_init(&wss, &in[1], 1);
    we_dec_init(&wem, &in[2], 0);
    we_dec_init(&wes, &in[3], 1);
    memset(&fcb, 0, sizeof fcb);
    fcb.recv_callback = wslay_frame_recv_cb;
    wf.in = &in[4];
    if (wslay_frame_context_init(&wf.ctx, &fcb, &in[4]) != 0) abort();
    ws_feed_pass(&wsm), ws_feed_pass(&wss), wslay_event_pass(&wem), wslay_event_pass(&wes);
    wslay_frame_pass(&wf);
    check_counts("ws_conn_feed (message)", &in[0], (uint64_t)payload * frames);
    check_counts("ws_conn_feed (streaming)", &in[1], (uint64_t)payload * frames);
    check_counts("wslay_event_recv (message)", &in[2], (uint64_t)payload * frames);
    check_counts("wslay_event_recv (no_buffering)", &in[3], (uint64_t)payload * frames);
    check_counts("wslay_frame_recv", &in[4], (uint64_t)payload * frames);
    if (in[0].count_frames != frames || in[2].count_frames != frames) {
        fprintf(stderr, "bench_codec: frame counts differ\n");
        exit(1);
    }
    /* the pure codec must also give back the original payloads: mask twice = identity */
    {
        input t = in[4];
        unsigned char *copy = (unsigned char *)malloc(len);
        memcpy(copy, buf, len);
        t.buf = copy;
        ws_codec_pass(&t);
        /* first frame's payload against a byte-wise unmask of the original */
        {
            ws_frame f;
            int h = ws_frame_decode(buf, len, &f);
            size_t j;
            for (j = 0; j < payload; j++)
                if (copy[h + j] != (unsigned char)(buf[h + j] ^ f.key[j & 3])) {
                    fprintf(stderr, "bench_codec: ws_mask result differs at %zu\n", j);
                    exit(1);
                }
        }
        free(copy);
    }

    /* message mode */
    names[0] = "ws", fn[0] = ws_feed_pass, ctx[0] = &wsm;
    names[1] = "memcpy", fn[1] = memcpy_pass, ctx[1] = &in[0];
    names[2] = "wslay", fn[2] = wslay_event_pass, ctx[2] = &wem;
    run_case("decode_msg", payload, 3, names, fn, ctx, frames, len);
    /* streaming mode */
    fn[0] = ws_feed_pass, ctx[0] = &wss;
    fn[2] = wslay_event_pass, ctx[2] = &wes;
    run_case("decode_stream", payload, 3, names, fn, ctx, frames, len);
    /* pure codec */
    fn[0] = ws_codec_pass, ctx[0] = &in[1];
    fn[2] = wslay_frame_pass, ctx[2] = &wf;
    run_case("decode_codec", payload, 3, names, fn, ctx, frames, len);

    ws_conn_free(&wsm.conn), ws_conn_free(&wss.conn);
    wslay_event_context_free(wem.ctx), wslay_event_context_free(wes.ctx);
    wslay_frame_context_free(wf.ctx);
    for (i = 0; i < 5; i++) free(in[i].buf);
    free(buf), free(dst);
}

/* ---- encode ---------------------------------------------------------------------- */

/* A batch of frames is queued, then drained into a sink (as a socket write would take
   them); for wslay the send callback is the drain. */
typedef struct enc {
    unsigned char *payload;
    size_t plen, batch;
    unsigned char *sink;
    size_t sink_cap, sink_len;
    ws_conn conn;
    wslay_frame_context_ptr wctx;
    int masked;
} enc;

static int enc_rng(void *ctx, void *buf, size_t len) {
    unsigned char *p = (unsigned char *)buf;
    size_t i;
    (void)ctx;
    for (i = 0; i < len; i++) p[i] = (unsigned char)bench_rand32();
    return 0;
}

static void sink_put(enc *e, const void *data, size_t n) {
    if (e->sink_len + n > e->sink_cap) e->sink_len = 0;
    memcpy(e->sink + e->sink_len, data, n);
    e->sink_len += n;
}

static void ws_enc_pass(void *ctx) {
    enc *e = (enc *)ctx;
    size_t i;
    const void *out;
    size_t n;
    for (i = 0; i < e->batch; i++)
        if (ws_send(&e->conn, WS_OP_BINARY, e->payload, e->plen) != WS_OK) abort();
    while ((n = ws_conn_output(&e->conn, &out)) > 0) {
        sink_put(e, out, n);
        ws_conn_consume(&e->conn, n);
    }
}

static ssize_t wslay_enc_send_cb(const uint8_t *data, size_t len, int flags, void *user) {
    (void)flags;
    sink_put((enc *)user, data, len);
    return (ssize_t)len;
}

static int wslay_enc_genmask_cb(uint8_t *buf, size_t len, void *user) {
    return enc_rng(user, buf, len);
}

static void wslay_enc_pass(void *ctx) {
    enc *e = (enc *)ctx;
    size_t i;
    for (i = 0; i < e->batch; i++) {
        struct wslay_frame_iocb io;
        memset(&io, 0, sizeof io);
        io.fin = 1, io.opcode = WSLAY_BINARY_FRAME, io.mask = (uint8_t)e->masked;
        io.payload_length = e->plen, io.data = e->payload, io.data_length = e->plen;
        if (wslay_frame_send(e->wctx, &io) != (ssize_t)e->plen) abort();
    }
}

static void memcpy_enc_pass(void *ctx) {
    enc *e = (enc *)ctx;
    size_t i, h = 2 + (e->plen >= 126 ? 2 : 0) + (e->plen > 0xffff ? 6 : 0) + (e->masked ? 4 : 0);
    unsigned char hdr[14] = {0x82, 0};
    for (i = 0; i < e->batch; i++) {
        sink_put(e, hdr, h);
        sink_put(e, e->payload, e->plen);
    }
    sink_u64 += e->sink[0];
}

static void bench_encode(size_t payload, int masked) {
    enc e[3];
    size_t flen = payload + 2 + (payload >= 126 ? 2 : 0) + (payload > 0xffff ? 6 : 0) + (masked ? 4 : 0);
    size_t batch = flen >= (64u << 10) ? 1 : (64u << 10) / flen;
    unsigned char *pl = (unsigned char *)malloc(payload + 1);
    int i;
    pass_fn fn[3];
    void *ctx[3];
    const char *names[3] = {"ws", "memcpy", "wslay"};
    struct wslay_frame_callbacks fcb;
    if (batch > 1024) batch = 1024;
    bench_fill_random(pl, payload);
    for (i = 0; i < 3; i++) {
        memset(&e[i], 0, sizeof e[i]);
        e[i].payload = pl, e[i].plen = payload, e[i].batch = batch, e[i].masked = masked;
        e[i].sink_cap = flen * batch + 64;
        e[i].sink = (unsigned char *)malloc(e[i].sink_cap);
    }
    {
        ws_config cfg;
        ws_config_init(&cfg, masked ? WS_ROLE_CLIENT : WS_ROLE_SERVER);
        cfg.skip_handshake = 1;
        cfg.rng = enc_rng;
        if (ws_conn_init(&e[0].conn, &cfg) != WS_OK) abort();
    }
    memset(&fcb, 0, sizeof fcb);
    fcb.send_callback = wslay_enc_send_cb;
    fcb.genmask_callback = wslay_enc_genmask_cb;
    if (wslay_frame_context_init(&e[2].wctx, &fcb, &e[2]) != 0) abort();
    /* correctness: both produce frames of the same size */
    ws_enc_pass(&e[0]), wslay_enc_pass(&e[2]);
    if (e[0].sink_len != flen * batch || e[2].sink_len != flen * batch) {
        fprintf(stderr, "bench_codec: encode sizes %zu %zu, expected %zu\n", e[0].sink_len,
                e[2].sink_len, flen * batch);
        exit(1);
    }
    fn[0] = ws_enc_pass, ctx[0] = &e[0];
    fn[1] = memcpy_enc_pass, ctx[1] = &e[1];
    fn[2] = wslay_enc_pass, ctx[2] = &e[2];
    run_case(masked ? "encode_client" : "encode_server", payload, 3, names, fn, ctx, batch,
             flen * batch);
    ws_conn_free(&e[0].conn);
    wslay_frame_context_free(e[2].wctx);
    for (i = 0; i < 3; i++) free(e[i].sink);
    free(pl);
}

/* ---- UTF-8 ----------------------------------------------------------------------- */

typedef struct utf {
    unsigned char *buf, *dst;
    size_t len;
} utf;

static void utf_ws_pass(void *ctx) {
    utf *u = (utf *)ctx;
    if (ws_utf8_check(u->buf, u->len) != WS_OK) abort();
}

static void utf_memcpy_pass(void *ctx) {
    utf *u = (utf *)ctx;
    memcpy(u->dst, u->buf, u->len);
    sink_u64 += u->dst[0];
}

static void bench_utf8(void) {
    static const char *mixed_pieces[] = {"Hello, ", "Grüße ", "Здравствуй, мир! ", "こんにちは世界 ",
                                         "😀🚀 ", "naïve café ", "ℵ₀ ≤ ∞ ", "data 12345 "};
    size_t len = 256u << 10, n = 0, k = 0;
    utf ascii, mixed;
    pass_fn fn[2];
    void *ctx[2];
    const char *names[2] = {"ws", "memcpy"};
    ascii.len = len;
    ascii.buf = (unsigned char *)malloc(len), ascii.dst = (unsigned char *)malloc(len);
    for (n = 0; n < len; n++) ascii.buf[n] = (unsigned char)(' ' + (bench_rand32() % 95));
    mixed.buf = (unsigned char *)malloc(len + 64), mixed.dst = (unsigned char *)malloc(len + 64);
    n = 0;
    for (;;) {
        const char *s = mixed_pieces[k++ % 8];
        size_t sl = strlen(s);
        if (n + sl > len) break;
        memcpy(mixed.buf + n, s, sl);
        n += sl;
    }
    mixed.len = n;
    if (ws_utf8_check(ascii.buf, ascii.len) != WS_OK || ws_utf8_check(mixed.buf, mixed.len) != WS_OK)
        abort();
    fn[0] = utf_ws_pass, fn[1] = utf_memcpy_pass;
    ctx[0] = ctx[1] = &ascii;
    run_case("utf8_ascii", ascii.len, 2, names, fn, ctx, 1, ascii.len);
    ctx[0] = ctx[1] = &mixed;
    run_case("utf8_mixed", mixed.len, 2, names, fn, ctx, 1, mixed.len);
    free(ascii.buf), free(ascii.dst), free(mixed.buf), free(mixed.dst);
}

/* ---- accept key ------------------------------------------------------------------ */

/* Baseline: OpenSSL's SHA1 and EVP_EncodeBlock, loaded at run time if present. */
typedef unsigned char *(*sha1_fn)(const unsigned char *, size_t, unsigned char *);
typedef int (*b64_fn)(unsigned char *, const unsigned char *, int);
static sha1_fn ossl_sha1;
static b64_fn ossl_b64;

#define ACCEPT_BATCH 256
static char accept_keys[ACCEPT_BATCH][25];

static void accept_ws_pass(void *ctx) {
    char out[WS_ACCEPT_LEN + 1];
    int i;
    (void)ctx;
    for (i = 0; i < ACCEPT_BATCH; i++) {
        ws_accept_key(accept_keys[i], 24, out);
        sink_u64 += (unsigned char)out[3];
    }
}

static void accept_ossl_pass(void *ctx) {
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char in[60], d[20], out[32];
    int i;
    (void)ctx;
    memcpy(in + 24, guid, 36);
    for (i = 0; i < ACCEPT_BATCH; i++) {
        memcpy(in, accept_keys[i], 24);
        ossl_sha1(in, 60, d);
        ossl_b64(out, d, 20);
        sink_u64 += out[3];
    }
}

static void bench_accept(void) {
    void *lib = dlopen("libcrypto.so.3", RTLD_NOW);
    int i;
    char a[WS_ACCEPT_LEN + 1];
    pass_fn fn[2];
    void *ctx[2] = {0, 0};
    const char *names[2] = {"ws", "openssl"};
    for (i = 0; i < ACCEPT_BATCH; i++) {
        unsigned char nonce[16];
        bench_fill_random(nonce, 16);
        ws_base64_encode(nonce, 16, accept_keys[i], 25);
    }
    ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", 24, a);
    if (strcmp(a, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") != 0) abort();
    if (lib) {
        ossl_sha1 = (sha1_fn)(uintptr_t)dlsym(lib, "SHA1");
        ossl_b64 = (b64_fn)(uintptr_t)dlsym(lib, "EVP_EncodeBlock");
    }
    fn[0] = accept_ws_pass, fn[1] = accept_ossl_pass;
    run_case("accept_key", 24, ossl_sha1 && ossl_b64 ? 2 : 1, names, fn, ctx, ACCEPT_BATCH, 0);
}

int main(int argc, char **argv) {
    static const size_t sizes[] = {2, 16, 125, 64u << 10, 1u << 20};
    size_t i;
    if (argc > 1) budget_ms = atof(argv[1]);
    if (argc > 2) rounds = atoi(argv[2]);
    printf("info|sizeof_ws_conn|%zu\n", sizeof(ws_conn));
    printf("info|sizeof_ws_stream|%zu\n", sizeof(ws_stream));
    for (i = 0; i < 5; i++) bench_decode(sizes[i]);
    for (i = 0; i < 5; i++) bench_encode(sizes[i], 0);
    for (i = 0; i < 5; i++) bench_encode(sizes[i], 1);
    bench_utf8();
    bench_accept();
    return 0;
}
