/* tcp_echo_server - the benchmark's ceiling: build/echo_server's loop and I/O, no WebSocket.

      build/bench/tcp_echo_server [-p PORT]     (0 picks a free port)

   Listens on 127.0.0.1, prints "listening on 127.0.0.1:PORT", and sends every byte back
   as it came: no handshake, no framing, no unmasking (loadgen -r counts the echoed
   client frames). What is left is the cost of the loop and of the kernel, the most any
   echo server with this loop can do on this machine.

   Same loop, same I/O as echo_server and wslay_echo_server: epoll on Linux (poll() with
   -DECHO_USE_POLL), level-triggered, the wait set changed only when a client's wants
   change; per readiness report, write what is still queued, at most one recv() of up to
   64 KiB into one buffer shared by all clients (and only when input was reported), then
   one send() of everything it has; what the socket does not take waits in a per-client
   buffer (allocated on demand, freed when it empties), and reading pauses while 8 MiB
   wait. The only difference: the reply is the input itself, sent straight from the
   read buffer, with no per-message work at all. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
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

#define WANT_READ 1u
#define WANT_WRITE 2u
#define PAUSE_READ_AT ((size_t)8 << 20)
#define TICK_MS 1000

typedef struct client {
    int fd, drop, readable;
    unsigned watching;
    size_t slot;
    unsigned char *out; /* unsent echo: [out_pos, out_len) */
    size_t out_pos, out_len, out_cap;
} client;

static unsigned char read_buf[65536];
static client **clients;
static size_t nclients, clients_cap, ndropped;
static volatile sig_atomic_t stop;

static void on_signal(int s) { (void)s; stop = 1; }

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int set_nonblocking(int fd) {
    int fl = fcntl(fd, F_GETFL, 0);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static size_t queued(const client *cl) { return cl->out_len - cl->out_pos; }

static int out_append(client *cl, const unsigned char *p, size_t n) {
    if (cl->out_cap - cl->out_len < n) {
        size_t cap = cl->out_cap ? cl->out_cap : 4096, have = queued(cl);
        unsigned char *q;
        if (have) memmove(cl->out, cl->out + cl->out_pos, have);
        cl->out_pos = 0, cl->out_len = have;
        while (cap - have < n) cap *= 2;
        if (cap != cl->out_cap) {
            if (!(q = (unsigned char *)realloc(cl->out, cap))) return -1;
            cl->out = q, cl->out_cap = cap;
        }
    }
    memcpy(cl->out + cl->out_len, p, n);
    cl->out_len += n;
    return 0;
}

/* One send() attempt of [p, p+n) (the queue first, so the order stays): the number of
   bytes the socket took, or -1 when it failed. */
static long send_some(client *cl, const unsigned char *p, size_t n) {
    ssize_t w;
    do
        w = send(cl->fd, p, n, MSG_NOSIGNAL);
    while (w < 0 && errno == EINTR);
    if (w >= 0) return (long)w;
    return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
}

static int flush(client *cl) {
    while (queued(cl)) {
        long w = send_some(cl, cl->out + cl->out_pos, queued(cl));
        if (w < 0) return -1;
        if (w == 0) return 0;
        cl->out_pos += (size_t)w;
    }
    free(cl->out); /* an idle client holds no buffer */
    cl->out = NULL, cl->out_pos = cl->out_len = cl->out_cap = 0;
    return 0;
}

static int poller_watch(client *cl, unsigned want);
static void poller_move(size_t to, size_t from);

/* One readiness report: write what is queued, read once (if input was reported), echo. */
static void pump(client *cl, int readable) {
    unsigned want;
    if (flush(cl) < 0) cl->drop = 1;
    if (!cl->drop && readable && queued(cl) < PAUSE_READ_AT) {
        ssize_t n;
        do
            n = recv(cl->fd, read_buf, sizeof read_buf, 0);
        while (n < 0 && errno == EINTR);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
            cl->drop = 1;
        } else if (n > 0) {
            long w = queued(cl) ? 0 : send_some(cl, read_buf, (size_t)n);
            if (w < 0 || (w < n && out_append(cl, read_buf + w, (size_t)(n - w)) < 0))
                cl->drop = 1;
        }
    }
    want = WANT_READ | (queued(cl) ? WANT_WRITE : 0u);
    if (queued(cl) >= PAUSE_READ_AT) want &= ~WANT_READ;
    if (!cl->drop && want != cl->watching && poller_watch(cl, want) < 0) cl->drop = 1;
    if (cl->drop) ndropped++;
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
        if (poller_watch(cl, WANT_READ) < 0) {
            close(fd), free(cl);
            continue;
        }
        clients[nclients++] = cl;
    }
}

static void client_free(client *cl) {
    close(cl->fd);
    free(cl->out);
    free(cl);
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
        perror("tcp_echo_server: listen");
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
