/* bench_ipf - instructions per 16-byte frame, for valgrind --tool=callgrind.
      bench_ipf CASE FRAMES PASSES     CASE: ws_feed ws_stream ws_codec wslay_event wslay_event_nb
                                       wslay_frame memcpy; encoding server frames of the
                                       same payload: ws_send wslay_send
   run.py runs it with PASSES 1 and 2 over the same frames and divides the difference of
   the instruction totals by FRAMES, so building the input and setting up cancel out. */
#define WS_IMPLEMENTATION
#include "../../ws.h"

#include <wslay/wslay.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"

static unsigned char *buf, *dst;
static size_t len, pos;
static uint64_t bytes;
static volatile unsigned char sink;

static void on_event(ws_conn *c, const ws_event *ev, void *user) {
    (void)c, (void)user;
    if (ev->type == WS_EV_MESSAGE || ev->type == WS_EV_FRAGMENT) bytes += ev->len;
    else if (ev->type == WS_EV_ERROR) abort();
}

static ssize_t ev_recv(wslay_event_context_ptr ctx, uint8_t *b, size_t n, int flags, void *user) {
    size_t left = len - pos;
    (void)flags, (void)user;
    if (!left) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    if (n > left) n = left;
    memcpy(b, buf + pos, n);
    pos += n;
    return (ssize_t)n;
}

static ssize_t ev_send(wslay_event_context_ptr ctx, const uint8_t *d, size_t n, int flags, void *user) {
    (void)ctx, (void)d, (void)flags, (void)user;
    return (ssize_t)n;
}

static void ev_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg, void *user) {
    (void)ctx, (void)user;
    bytes += arg->msg_length;
}

static void ev_chunk(wslay_event_context_ptr ctx, const struct wslay_event_on_frame_recv_chunk_arg *arg,
                     void *user) {
    (void)ctx, (void)user;
    bytes += arg->data_length;
}

/* encode: frames go to dst (rewound every pass), as a socket write would take them */
static size_t dpos;
static ssize_t fr_send(const uint8_t *d, size_t n, int flags, void *user) {
    (void)flags, (void)user;
    memcpy(dst + dpos, d, n);
    dpos += n;
    return (ssize_t)n;
}

static ssize_t fr_recv(uint8_t *b, size_t n, int flags, void *user) {
    size_t left = len - pos;
    (void)flags, (void)user;
    if (!left) return 0;
    if (n > left) n = left;
    memcpy(b, buf + pos, n);
    pos += n;
    return (ssize_t)n;
}

int main(int argc, char **argv) {
    const char *which;
    size_t frames, payload = 16;
    int passes, i;
    if (argc < 4) {
        fprintf(stderr, "usage: bench_ipf CASE FRAMES PASSES [PAYLOAD]\n");
        return 2;
    }
    which = argv[1];
    frames = (size_t)atol(argv[2]);
    passes = atoi(argv[3]);
    if (argc > 4) payload = (size_t)atol(argv[4]);
    buf = bench_make_client_frames(payload, frames, &len);
    dst = (unsigned char *)malloc(len);
    if (!strcmp(which, "ws_feed") || !strcmp(which, "ws_stream")) {
        ws_conn c;
        ws_config cfg;
        ws_config_init(&cfg, WS_ROLE_SERVER);
        cfg.on_event = on_event;
        cfg.skip_handshake = 1;
        cfg.streaming = !strcmp(which, "ws_stream");
        if (ws_conn_init(&c, &cfg) != WS_OK) return 1;
        for (i = 0; i < passes; i++) {
            size_t used;
            if (ws_conn_feed(&c, buf, len, &used) != WS_OK) return 1;
        }
        ws_conn_free(&c);
    } else if (!strcmp(which, "ws_codec")) {
        for (i = 0; i < passes; i++) {
            unsigned char *p = buf, *end = buf + len;
            while (p < end) {
                ws_frame f;
                int n = ws_frame_decode(p, (size_t)(end - p), &f);
                if (n < 0) return 1;
                p += n;
                ws_mask(p, (size_t)f.len, f.key, 0);
                bytes += f.len;
                p += f.len;
            }
        }
    } else if (!strcmp(which, "wslay_event") || !strcmp(which, "wslay_event_nb")) {
        wslay_event_context_ptr ctx;
        struct wslay_event_callbacks cb;
        int nb = !strcmp(which, "wslay_event_nb");
        memset(&cb, 0, sizeof cb);
        cb.recv_callback = ev_recv, cb.send_callback = ev_send;
        if (nb) cb.on_frame_recv_chunk_callback = ev_chunk;
        else cb.on_msg_recv_callback = ev_msg;
        if (wslay_event_context_server_init(&ctx, &cb, 0) != 0) return 1;
        if (nb) wslay_event_config_set_no_buffering(ctx, 1);
        for (i = 0; i < passes; i++) {
            pos = 0;
            if (wslay_event_recv(ctx) != 0) return 1;
        }
        wslay_event_context_free(ctx);
    } else if (!strcmp(which, "wslay_frame")) {
        wslay_frame_context_ptr ctx;
        struct wslay_frame_callbacks cb;
        struct wslay_frame_iocb io;
        ssize_t r;
        memset(&cb, 0, sizeof cb);
        cb.recv_callback = fr_recv;
        if (wslay_frame_context_init(&ctx, &cb, 0) != 0) return 1;
        for (i = 0; i < passes; i++) {
            pos = 0;
            while ((r = wslay_frame_recv(ctx, &io)) >= 0) bytes += (size_t)r;
        }
        wslay_frame_context_free(ctx);
    } else if (!strcmp(which, "ws_send")) {
        ws_conn c;
        ws_config cfg;
        size_t k;
        ws_config_init(&cfg, WS_ROLE_SERVER);
        cfg.skip_handshake = 1;
        if (ws_conn_init(&c, &cfg) != WS_OK) return 1;
        for (i = 0; i < passes; i++) {
            for (dpos = 0, k = 0; k < frames; k++) {
                const void *out;
                size_t n;
                if (ws_send(&c, WS_OP_BINARY, buf, payload) != WS_OK) return 1;
                n = ws_conn_output(&c, &out);
                memcpy(dst + dpos, out, n);
                dpos += n;
                ws_conn_consume(&c, n);
            }
            bytes += (uint64_t)payload * frames;
        }
        ws_conn_free(&c);
    } else if (!strcmp(which, "wslay_send")) {
        wslay_frame_context_ptr ctx;
        struct wslay_frame_callbacks cb;
        size_t k;
        memset(&cb, 0, sizeof cb);
        cb.send_callback = fr_send;
        if (wslay_frame_context_init(&ctx, &cb, 0) != 0) return 1;
        for (i = 0; i < passes; i++) {
            for (dpos = 0, k = 0; k < frames; k++) {
                struct wslay_frame_iocb io;
                memset(&io, 0, sizeof io);
                io.fin = 1, io.opcode = WSLAY_BINARY_FRAME;
                io.payload_length = payload, io.data = buf, io.data_length = payload;
                if (wslay_frame_send(ctx, &io) != (ssize_t)payload) return 1;
            }
            bytes += (uint64_t)payload * frames;
        }
        wslay_frame_context_free(ctx);
    } else if (!strcmp(which, "memcpy")) {
        for (i = 0; i < passes; i++) {
            memcpy(dst, buf, len);
            sink = dst[len - 1];
        }
        bytes = (uint64_t)payload * frames * (uint64_t)passes;
    } else {
        fprintf(stderr, "bench_ipf: unknown case %s\n", which);
        return 2;
    }
    if (bytes != (uint64_t)payload * frames * (uint64_t)passes) {
        fprintf(stderr, "bench_ipf: %s decoded %llu bytes\n", which, (unsigned long long)bytes);
        return 1;
    }
    free(buf), free(dst);
    return 0;
}
