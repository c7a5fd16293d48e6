/* echo_loop.h - the event loop of the benchmark's echo servers, written once.

   tcp_echo_server (the ceiling) and wslay_echo_server (the baseline) are compared with
   build/echo_server row by row, so they must wait, accept, read and drop clients exactly
   alike; only the per-message work may differ. Both include this file, so their loops
   are the same by construction. It follows examples/echo_server.c's loop, which stays a
   standalone file for users: keep the two in step by hand.

   The loop: epoll on Linux (poll() with -DECHO_USE_POLL, or elsewhere), level-triggered,
   the wait set changed only when a client's wants change; a client is pumped once per
   readiness report, after which what it wants next decides the wait set; one 64 KiB
   read buffer shared by all clients; a once-a-second tick with nothing to do in it;
   dropped clients are freed after the wait that dropped them.

   The server, before including this file:

       #define ECHO_CLIENT_FIELDS ...   its fields of `client`, after the loop's (may be
                                        empty); they start zeroed (the struct is calloc'ed)

   and after it, defining what this file declares below:

       static unsigned echo_pump(client *cl, int readable);
           One readiness report for cl: the server's I/O. `readable` says input (or
           hang-up, or an error) was reported; recv() only then, into read_buf. On failure
           set cl->drop. Returns what cl waits for next, WANT_READ and/or WANT_WRITE.
       static void echo_release(client *cl);
           Free what ECHO_CLIENT_FIELDS own (cl->fd is closed already; the loop frees cl).

   and a main() that calls echo_main(argc, argv, name). */
#ifndef ECHO_LOOP_H
#define ECHO_LOOP_H

#ifndef ECHO_CLIENT_FIELDS
#error "define ECHO_CLIENT_FIELDS (the server's fields of client) before including echo_loop.h"
#endif

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
#define TICK_MS 1000

typedef struct client {
    int fd;
    int drop;          /* freed by sweep() once the current wait's reports are handled */
    unsigned watching; /* WANT_READ/WRITE the poller waits for; 0 until first watched */
    size_t slot;       /* index in clients[] (and, with poll, in pfds[] after the listener) */
    ECHO_CLIENT_FIELDS
} client;

static unsigned echo_pump(client *cl, int readable);
static void echo_release(client *cl);

/* Shared by all clients: a pump leaves nothing in it, so an idle client holds no input
   buffer. 64 KiB, as echo_server reads: the same reads per message in every server. */
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

static int poller_watch(client *cl, unsigned want);
static void poller_move(size_t to, size_t from);

/* A client costs a system call for its wait set only when its wants change. */
static void pump(client *cl, int readable) {
    unsigned want = echo_pump(cl, readable);
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
        if (poller_watch(cl, WANT_READ) < 0) { /* the client speaks first */
            close(fd), free(cl);
            continue;
        }
        clients[nclients++] = cl;
    }
}

static void client_free(client *cl) {
    close(cl->fd);
    echo_release(cl);
    free(cl);
}

/* After a wait's reports, never during them: epoll's point at clients, poll's index
   clients[], and this frees some and moves others. */
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

/* The listener is the one entry whose data.ptr is NULL. */
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

/* epoll finds a client by pointer, not by slot; close() removes it from the set. */
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
/* pfds[0] is the listener, pfds[1 + i] is clients[i]: kept in step, not rebuilt per wait. */
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

/* Listen on 127.0.0.1 (-p PORT, 0 picks a free one), print the port, loop until
   SIGINT/SIGTERM. `name` prefixes the error messages. */
static int echo_main(int argc, char **argv, const char *name) {
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
        fprintf(stderr, "%s: listen: %s\n", name, strerror(errno));
        return 1;
    }
    printf("listening on 127.0.0.1:%u\n", (unsigned)ntohs(a.sin_port));
    fflush(stdout);

    /* The same once-a-second wake-up as echo_server's tick, with nothing to do in it:
       the wake-ups and clock reads cost the same in every server. */
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

#endif
