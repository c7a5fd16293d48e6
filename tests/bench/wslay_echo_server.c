/* wslay_echo_server - the benchmark's baseline: build/echo_server's behaviour on wslay.

      build/bench/wslay_echo_server [-p PORT]     (0 picks a free port)

   Listens on 127.0.0.1, prints "listening on 127.0.0.1:PORT", and echoes every message
   with its type, one thread. The frames go through wslay's event API
   (wslay_event_recv / wslay_event_queue_msg / wslay_event_send); the HTTP handshake,
   which the benchmark does not time, uses ws.h's request parser and response builder.

   To compare like with like, the loop is echo_server's, from echo_loop.h (shared with
   tcp_echo_server), and so is the I/O: per readiness report, write what is queued, at
   most one recv() of up to 64 KiB into the shared read buffer (only when input was
   reported), served to wslay from that buffer, and the frames wslay emits gathered in a
   per-connection output buffer written with one send() - rather than wslay's default of
   a syscall per header and per payload. wslay_event_recv takes input until the buffer
   is empty, so nothing stays in the shared buffer (only after a close, when wslay stops
   reading and the rest does not matter). */
#define WS_IMPLEMENTATION
#include "../../ws.h"

#include <wslay/wslay.h>

#define MAX_MESSAGE ((uint64_t)64 << 20)
#define HEAD_MAX 8192

#define ECHO_CLIENT_FIELDS                                                          \
    wslay_event_context_ptr ws; /* NULL until the handshake is done */               \
    unsigned char *out;         /* gathered output: [out_pos, out_len) */            \
    size_t out_pos, out_len, out_cap;                                                \
    char *head;                 /* handshake bytes until the blank line */           \
    size_t head_len;
#include "echo_loop.h"

/* Input of the client being pumped: in the shared read buffer, or the handshake's
   leftover. Empty between pumps. */
static const unsigned char *in;
static size_t in_pos, in_len;

static int out_append(client *cl, const void *data, size_t n) {
    if (cl->out_pos == cl->out_len) cl->out_pos = cl->out_len = 0;
    if (cl->out_cap - cl->out_len < n) {
        size_t cap = cl->out_cap ? cl->out_cap : 4096;
        unsigned char *p;
        if (cl->out_pos) { /* slide down first */
            memmove(cl->out, cl->out + cl->out_pos, cl->out_len - cl->out_pos);
            cl->out_len -= cl->out_pos, cl->out_pos = 0;
        }
        while (cap - cl->out_len < n) cap *= 2;
        if (cap != cl->out_cap) {
            p = (unsigned char *)realloc(cl->out, cap);
            if (!p) return -1;
            cl->out = p, cl->out_cap = cap;
        }
    }
    memcpy(cl->out + cl->out_len, data, n);
    cl->out_len += n;
    return 0;
}

/* Write the gathered output; returns -1 when the socket failed. */
static int out_flush(client *cl) {
    while (cl->out_pos < cl->out_len) {
        ssize_t n = send(cl->fd, cl->out + cl->out_pos, cl->out_len - cl->out_pos, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
        }
        cl->out_pos += (size_t)n;
    }
    cl->out_pos = cl->out_len = 0;
    return 0;
}

/* ---- wslay callbacks ---- */
static ssize_t recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *user) {
    size_t n = in_len - in_pos;
    (void)flags, (void)user;
    if (n == 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    if (n > len) n = len;
    memcpy(buf, in + in_pos, n);
    in_pos += n;
    return (ssize_t)n;
}

static ssize_t send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *user) {
    client *cl = (client *)user;
    (void)flags;
    /* Bound what one client can make us hold, like echo_server's MAX_QUEUE. */
    if (cl->out_len - cl->out_pos > ((size_t)80 << 20)) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    if (out_append(cl, data, len) != 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return (ssize_t)len;
}

static void on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg, void *user) {
    (void)user;
    if (!wslay_is_ctrl_frame(arg->opcode)) {
        struct wslay_event_msg m;
        m.opcode = arg->opcode, m.msg = arg->msg, m.msg_length = arg->msg_length;
        wslay_event_queue_msg(ctx, &m);
    }
}

/* ---- handshake (not timed by the benchmark) ---- */
static void handshake(client *cl) {
    char *buf = (char *)read_buf;
    ssize_t n = recv(cl->fd, buf, sizeof read_buf, 0);
    int end;
    if (n <= 0) {
        if (n == 0 || (errno != EAGAIN && errno != EINTR)) cl->drop = 1;
        return;
    }
    if (cl->head_len + (size_t)n > HEAD_MAX) {
        cl->drop = 1;
        return;
    }
    if (!cl->head) cl->head = (char *)malloc(HEAD_MAX);
    memcpy(cl->head + cl->head_len, buf, (size_t)n);
    cl->head_len += (size_t)n;
    end = ws_http_head_end(cl->head, cl->head_len, 0, HEAD_MAX);
    if (end == WS_NEED_MORE) return;
    {
        ws_request req;
        char resp[512];
        int rn;
        struct wslay_event_callbacks cb;
        if (end < 0 || ws_request_parse(cl->head, (size_t)end, 0, &req) != WS_OK ||
            (rn = ws_response_build(resp, sizeof resp, &req, NULL, NULL)) < 0) {
            cl->drop = 1;
            return;
        }
        out_append(cl, resp, (size_t)rn);
        memset(&cb, 0, sizeof cb);
        cb.recv_callback = recv_cb;
        cb.send_callback = send_cb;
        cb.on_msg_recv_callback = on_msg;
        if (wslay_event_context_server_init(&cl->ws, &cb, cl) != 0) {
            cl->drop = 1;
            return;
        }
        wslay_event_config_set_max_recv_msg_length(cl->ws, MAX_MESSAGE);
        /* frames sent right behind the request: feed them now */
        if ((size_t)end < cl->head_len) {
            in = (const unsigned char *)cl->head + end;
            in_pos = 0, in_len = cl->head_len - (size_t)end;
            if (wslay_event_recv(cl->ws) != 0 ||
                (wslay_event_want_write(cl->ws) && wslay_event_send(cl->ws) != 0))
                cl->drop = 1;
            in_pos = in_len = 0;
        }
        free(cl->head);
        cl->head = NULL;
        if (out_flush(cl) != 0) cl->drop = 1;
    }
}

/* Flush, one read (only if input was reported), let wslay take it, flush the replies. */
static unsigned echo_pump(client *cl, int readable) {
    unsigned want;
    if (!cl->ws) {
        if (readable) handshake(cl);
    } else if (out_flush(cl) != 0) {
        cl->drop = 1;
    } else {
        if (readable && wslay_event_want_read(cl->ws)) {
            ssize_t n = recv(cl->fd, read_buf, sizeof read_buf, 0);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
                cl->drop = 1;
            else if (n > 0)
                in = read_buf, in_pos = 0, in_len = (size_t)n;
        }
        if (!cl->drop && in_pos < in_len && wslay_event_recv(cl->ws) != 0) cl->drop = 1;
        in_pos = in_len = 0; /* wslay took all of it (or stopped reading after a close) */
        if (!cl->drop && wslay_event_want_write(cl->ws) && wslay_event_send(cl->ws) != 0)
            cl->drop = 1;
        if (!cl->drop && out_flush(cl) != 0) cl->drop = 1;
        if (!cl->drop && !wslay_event_want_read(cl->ws) && !wslay_event_want_write(cl->ws) &&
            cl->out_pos == cl->out_len)
            cl->drop = 1;
    }
    want = WANT_READ;
    if (cl->ws) {
        want = wslay_event_want_read(cl->ws) ? WANT_READ : 0u;
        if (wslay_event_want_write(cl->ws) || cl->out_pos < cl->out_len) want |= WANT_WRITE;
    }
    return want;
}

static void echo_release(client *cl) {
    if (cl->ws) wslay_event_context_free(cl->ws);
    free(cl->out);
    free(cl->head);
}

int main(int argc, char **argv) { return echo_main(argc, argv, "wslay_echo_server"); }
