/* wslay_echo_server - the benchmark's baseline: build/echo_server's behaviour on wslay.

      build/bench/wslay_echo_server [-p PORT]     (0 picks a free port)

   Listens on 127.0.0.1, prints "listening on 127.0.0.1:PORT", and echoes every message
   with its type, one thread, poll(). The frames go through wslay's event API
   (wslay_event_recv / wslay_event_queue_msg / wslay_event_send); the HTTP handshake,
   which the benchmark does not time, uses ws.h's request parser and response builder.

   To compare like with like, the I/O mirrors echo_server's ws_stream: at most one
   recv() of up to 16 KiB per readiness event, served to wslay from that buffer, and the
   frames wslay emits gathered in a per-connection output buffer written with one send()
   - rather than wslay's default of a syscall per header and per payload. */
#define WS_IMPLEMENTATION
#include "../../ws.h"

#include <wslay/wslay.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define READ_BUF 16384
#define MAX_MESSAGE ((uint64_t)64 << 20)
#define HEAD_MAX 8192

typedef struct client {
    int fd;
    int drop;
    wslay_event_context_ptr ws; /* NULL until the handshake is done */
    unsigned char in[READ_BUF];
    size_t in_pos, in_len;
    unsigned char *out;         /* gathered output: [out_pos, out_len) */
    size_t out_pos, out_len, out_cap;
    char *head;                 /* handshake bytes until the blank line */
    size_t head_len;
} client;

static volatile sig_atomic_t stop;
static void on_signal(int s) { (void)s; stop = 1; }

static int set_nonblocking(int fd) {
    int fl = fcntl(fd, F_GETFL, 0);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

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
    client *cl = (client *)user;
    size_t n = cl->in_len - cl->in_pos;
    (void)flags;
    if (n == 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    if (n > len) n = len;
    memcpy(buf, cl->in + cl->in_pos, n);
    cl->in_pos += n;
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
    char buf[READ_BUF];
    ssize_t n = recv(cl->fd, buf, sizeof buf, 0);
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
        /* frames sent right behind the request wait in the read buffer */
        if ((size_t)end < cl->head_len) {
            memcpy(cl->in, cl->head + end, cl->head_len - (size_t)end);
            cl->in_pos = 0, cl->in_len = cl->head_len - (size_t)end;
        }
        free(cl->head);
        cl->head = NULL;
        if (out_flush(cl) != 0) cl->drop = 1;
    }
}

/* One readiness event: flush, one read, let wslay take it, flush the replies. */
static void pump(client *cl, short revents) {
    if (!cl->ws) {
        if (revents & (POLLIN | POLLHUP | POLLERR)) handshake(cl);
        if (!cl->ws) return;
    }
    if (out_flush(cl) != 0) {
        cl->drop = 1;
        return;
    }
    if ((revents & (POLLIN | POLLHUP | POLLERR)) && cl->in_pos == cl->in_len) {
        ssize_t n = recv(cl->fd, cl->in, sizeof cl->in, 0);
        if (n == 0) {
            cl->drop = 1;
            return;
        }
        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) cl->drop = 1;
            return;
        }
        cl->in_pos = 0, cl->in_len = (size_t)n;
    }
    if (cl->in_pos < cl->in_len && wslay_event_recv(cl->ws) != 0) {
        cl->drop = 1;
        return;
    }
    if (wslay_event_want_write(cl->ws) && wslay_event_send(cl->ws) != 0) {
        cl->drop = 1;
        return;
    }
    if (out_flush(cl) != 0) cl->drop = 1;
    if (!wslay_event_want_read(cl->ws) && !wslay_event_want_write(cl->ws) && cl->out_pos == cl->out_len)
        cl->drop = 1;
}

static client **clients;
static size_t nclients, clients_cap;

static void client_free(client *cl) {
    close(cl->fd);
    if (cl->ws) wslay_event_context_free(cl->ws);
    free(cl->out);
    free(cl->head);
    free(cl);
}

int main(int argc, char **argv) {
    unsigned port = 9001;
    int lfd, one = 1;
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    struct pollfd *pfds = NULL;
    size_t pfds_cap = 0;

    if (argc == 3 && strcmp(argv[1], "-p") == 0) port = (unsigned)atoi(argv[2]);
    else if (argc != 1) {
        fprintf(stderr, "usage: %s [-p PORT]\n", argv[0]);
        return 2;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);

    lfd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 128) < 0 ||
        set_nonblocking(lfd) < 0 || getsockname(lfd, (struct sockaddr *)&a, &alen) < 0) {
        perror("wslay_echo_server: listen");
        return 1;
    }
    printf("listening on 127.0.0.1:%u\n", (unsigned)ntohs(a.sin_port));
    fflush(stdout);

    while (!stop) {
        size_t i, n = 0, nw;
        int r;
        if (pfds_cap < nclients + 1) {
            pfds_cap = (nclients + 1) * 2;
            pfds = (struct pollfd *)realloc(pfds, pfds_cap * sizeof *pfds);
        }
        pfds[n].fd = lfd, pfds[n].events = POLLIN, n++;
        nw = nclients;
        for (i = 0; i < nw; i++) {
            client *cl = clients[i];
            short ev = 0;
            if (!cl->ws) ev = POLLIN;
            else {
                if (wslay_event_want_read(cl->ws)) ev |= POLLIN;
                if (wslay_event_want_write(cl->ws) || cl->out_pos < cl->out_len) ev |= POLLOUT;
                if (cl->in_pos < cl->in_len) ev |= POLLOUT; /* input still buffered: come back */
            }
            pfds[n].fd = cl->fd, pfds[n].events = ev, n++;
        }
        r = poll(pfds, (nfds_t)n, 1000);
        if (r < 0 && errno != EINTR) break;
        if (r > 0) {
            for (i = 0; i < nw; i++)
                if (pfds[i + 1].revents) pump(clients[i], pfds[i + 1].revents);
            if (pfds[0].revents & POLLIN) {
                for (;;) {
                    int fd = accept(lfd, NULL, NULL);
                    client *cl;
                    if (fd < 0) break;
                    if (nclients == clients_cap) {
                        clients_cap = clients_cap ? clients_cap * 2 : 16;
                        clients = (client **)realloc(clients, clients_cap * sizeof *clients);
                    }
                    set_nonblocking(fd);
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    cl = (client *)calloc(1, sizeof *cl);
                    cl->fd = fd;
                    clients[nclients++] = cl;
                }
            }
        }
        for (i = 0; i < nclients;) {
            if (clients[i]->drop) {
                client_free(clients[i]);
                clients[i] = clients[--nclients];
            } else {
                i++;
            }
        }
    }
    while (nclients) client_free(clients[--nclients]);
    free(clients);
    free(pfds);
    close(lfd);
    return 0;
}
