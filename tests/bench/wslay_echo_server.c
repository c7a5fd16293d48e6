/* wslay_echo_server - the benchmark's baseline: build/echo_server's behaviour on wslay.

      build/bench/wslay_echo_server [-p PORT]     (0 picks a free port)

   Listens on 127.0.0.1, prints "listening on 127.0.0.1:PORT", and echoes every message
   with its type, one thread. The frames go through wslay's event API
   (wslay_event_recv / wslay_event_queue_msg / wslay_event_send); the HTTP handshake,
   which the benchmark does not time, uses ws.h's request parser and response builder.

   To compare like with like, the loop and the I/O are echo_server's (and
   tcp_echo_server's): epoll on Linux (poll() with -DECHO_USE_POLL), level-triggered,
   the wait set changed only when a client's wants change; per readiness report, write
   what is queued, at most one recv() of up to 64 KiB into one read buffer shared by all
   clients (only when input was reported), served to wslay from that buffer, and the
   frames wslay emits gathered in a per-connection output buffer written with one send()
   - rather than wslay's default of a syscall per header and per payload. wslay_event_recv
   takes input until the buffer is empty, so nothing stays in the shared buffer (only
   after a close, when wslay stops reading and the rest does not matter). */
#define WS_IMPLEMENTATION
#include "../../ws.h"

#include <wslay/wslay.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#if defined(__linux__) && !defined(ECHO_USE_POLL)
#define USE_EPOLL 1
#include <sys/epoll.h>
#else
#define USE_EPOLL 0
#include <poll.h>
#endif

#define READ_BUF 65536
#define MAX_MESSAGE ((uint64_t)64 << 20)
#define HEAD_MAX 8192

#define WANT_READ 1u
#define WANT_WRITE 2u
#define TICK_MS 1000

typedef struct client {
    int fd;
    int drop;
    unsigned watching;          /* WANT_READ/WRITE the poller waits for */
    size_t slot;                /* index in clients[] (and, with poll, in pfds[]) */
    wslay_event_context_ptr ws; /* NULL until the handshake is done */
    unsigned char *out;         /* gathered output: [out_pos, out_len) */
    size_t out_pos, out_len, out_cap;
    char *head;                 /* handshake bytes until the blank line */
    size_t head_len;
} client;

/* Input of the client being pumped: in the shared read buffer, or the handshake's
   leftover. Empty between pumps. */
static unsigned char read_buf[READ_BUF];
static const unsigned char *in;
static size_t in_pos, in_len;

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

static client **clients;
static size_t nclients, clients_cap, ndropped;

static int poller_watch(client *cl, unsigned want);
static void poller_move(size_t to, size_t from);

/* One readiness report: flush, one read (only if input was reported), let wslay take
   it, flush the replies; then wait for what the connection wants next. */
static void pump(client *cl, int readable) {
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
    if (!cl->drop && want != cl->watching && poller_watch(cl, want) < 0) cl->drop = 1;
    if (cl->drop) ndropped++;
}

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void client_free(client *cl) {
    close(cl->fd);
    if (cl->ws) wslay_event_context_free(cl->ws);
    free(cl->out);
    free(cl->head);
    free(cl);
}

static void accept_clients(int lfd) {
    int one = 1;
    for (;;) {
        client *cl;
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) return;
        if (nclients == clients_cap) {
            size_t cap = clients_cap ? clients_cap * 2 : 16;
            client **grown = (client **)realloc(clients, cap * sizeof *grown);
            if (!grown) { close(fd); return; }
            clients = grown, clients_cap = cap;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (set_nonblocking(fd) < 0 || !(cl = (client *)calloc(1, sizeof *cl))) {
            close(fd);
            continue;
        }
        cl->fd = fd, cl->slot = nclients;
        if (poller_watch(cl, WANT_READ) < 0) { /* the request comes first */
            close(fd), free(cl);
            continue;
        }
        clients[nclients++] = cl;
    }
}

static void sweep(void) {
    size_t i = 0;
    if (!ndropped) return;
    while (i < nclients) {
        client *cl = clients[i];
        if (!cl->drop) {
            i++;
            continue;
        }
        client_free(cl);
        if (i < --nclients) {
            clients[i] = clients[nclients], clients[i]->slot = i;
            poller_move(i, nclients);
        }
    }
    ndropped = 0;
}

#if USE_EPOLL
static int epfd;

static int poller_init(int lfd) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN, ev.data.ptr = NULL;
    return (epfd = epoll_create1(0)) < 0 ? -1 : epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev);
}

static int poller_watch(client *cl, unsigned want) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = ((want & WANT_READ) ? EPOLLIN : 0u) | ((want & WANT_WRITE) ? EPOLLOUT : 0u);
    ev.data.ptr = cl;
    if (epoll_ctl(epfd, cl->watching ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, cl->fd, &ev) < 0) return -1;
    cl->watching = want;
    return 0;
}

static void poller_move(size_t to, size_t from) { (void)to, (void)from; }

static int poller_wait(int lfd, int timeout) {
    static struct epoll_event evs[256];
    int i, n = epoll_wait(epfd, evs, (int)(sizeof evs / sizeof evs[0]), timeout);
    for (i = 0; i < n; i++) {
        client *cl = (client *)evs[i].data.ptr;
        if (!cl) accept_clients(lfd);
        else if (!cl->drop) pump(cl, (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0);
    }
    return n < 0 && errno != EINTR ? -1 : 0;
}
#else
static struct pollfd *pfds;

static int poller_init(int lfd) {
    if (!(pfds = (struct pollfd *)malloc(sizeof *pfds))) return -1;
    pfds[0].fd = lfd, pfds[0].events = POLLIN;
    return 0;
}

static int poller_watch(client *cl, unsigned want) {
    struct pollfd *p;
    if (!cl->watching) {
        if (!(p = (struct pollfd *)realloc(pfds, (clients_cap + 1) * sizeof *pfds))) return -1;
        pfds = p, pfds[1 + cl->slot].fd = cl->fd;
    }
    pfds[1 + cl->slot].events =
        (short)(((want & WANT_READ) ? POLLIN : 0) | ((want & WANT_WRITE) ? POLLOUT : 0));
    cl->watching = want;
    return 0;
}

static void poller_move(size_t to, size_t from) { pfds[1 + to] = pfds[1 + from]; }

static int poller_wait(int lfd, int timeout) {
    size_t i, nwatched = nclients;
    int n = poll(pfds, (nfds_t)(1 + nwatched), timeout);
    if (n < 0) return errno == EINTR ? 0 : -1;
    for (i = 0; i < nwatched && n > 0; i++) {
        short rev = pfds[1 + i].revents;
        if (rev && !clients[i]->drop) {
            pump(clients[i], (rev & (POLLIN | POLLHUP | POLLERR)) != 0);
            n--;
        }
    }
    if (pfds[0].revents & POLLIN) accept_clients(lfd);
    return 0;
}
#endif

int main(int argc, char **argv) {
    unsigned port = 9001;
    int lfd, one = 1;
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    uint64_t next_tick;

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
        set_nonblocking(lfd) < 0 || getsockname(lfd, (struct sockaddr *)&a, &alen) < 0 ||
        poller_init(lfd) < 0) {
        perror("wslay_echo_server: listen");
        return 1;
    }
    printf("listening on 127.0.0.1:%u\n", (unsigned)ntohs(a.sin_port));
    fflush(stdout);

    /* The same once-a-second wake-up as echo_server's tick, with nothing to do in it. */
    next_tick = now_ms() + TICK_MS;
    while (!stop) {
        uint64_t now = now_ms();
        if (poller_wait(lfd, next_tick > now ? (int)(next_tick - now) : 0) < 0) break;
        if (now_ms() >= next_tick) next_tick = now_ms() + TICK_MS;
        sweep();
    }
    while (nclients) client_free(clients[--nclients]);
    free(clients);
    close(lfd);
    return 0;
}
