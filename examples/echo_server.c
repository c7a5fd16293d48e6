/* echo_server - a WebSocket echo server on ws.h: many clients, one thread, one readiness
   loop (epoll on Linux, poll() elsewhere).

      build/echo_server [-p PORT]      (default 9001; -p 0 picks a free port)
      build/echo_server -p 9443 --tls-cert cert.pem --tls-key key.pem     (wss://)

   Listens on 127.0.0.1 and sends every message back with the same type (text or
   binary, up to 64 MiB). A client that offers the subprotocol "chat" gets it.
   Ctrl-C (or SIGTERM) asks every client to close, waits briefly, then exits 0.

   The shape to copy: one ws_conn + ws_stream per socket; ws_stream_pump when the socket
   is ready; after each pump, ws_stream_wants says what to wait for next (read, write) or
   that the connection is over (0); ws_conn_tick once a second. The loop does no work per
   idle client: the wait set changes only when a client's wants change, and a socket is
   read only after the poller reported input, so no recv() is spent on "nothing yet".

   With --tls-cert/--tls-key (built with OpenSSL, -DHAVE_OPENSSL) every client speaks
   TLS through tls_openssl.h: the same loop, with the TLS read/write callbacks, the
   readiness TLS needs (tlsio_wants) and close_notify before the socket closes. */
#define WS_IMPLEMENTATION
#include "../ws.h"

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

#ifdef HAVE_OPENSSL
#include "tls_openssl.h"
static SSL_CTX *tls_ctx; /* NULL: plain ws:// */
#endif

/* Linux has epoll: the kernel keeps the wait set, so a wait costs the number of ready
   sockets, not the number of clients. Elsewhere (or with -DECHO_USE_POLL) poll(). */
#if defined(__linux__) && !defined(ECHO_USE_POLL)
#define USE_EPOLL 1
#include <sys/epoll.h>
#else
#define USE_EPOLL 0
#include <poll.h>
#endif

#define MAX_MESSAGE ((size_t)64 << 20)
#define MAX_QUEUE ((size_t)80 << 20)
/* Stop reading from a client while this much of its echo is still unsent, so a client
   that writes faster than it reads cannot make us buffer without bound. Whatever is
   already read can complete at most one more message (<= MAX_MESSAGE) plus a read
   buffer's worth of small ones, and that still fits under MAX_QUEUE. */
#define PAUSE_READ_AT ((size_t)8 << 20)
#define TICK_MS 1000
/* The library times only an open connection; a socket that never finishes its request
   would otherwise hold a slot forever. */
#define HANDSHAKE_TIMEOUT_MS 10000
#define SHUTDOWN_GRACE_MS 2000

typedef struct client {
    int fd;
    int drop;                   /* close the socket at the next sweep */
    int readable;               /* the poller reported input: sock_read may recv() */
    unsigned watching;          /* WS_WANT_READ/WRITE the poller waits for */
    size_t slot;                /* index in clients[] (and, with poll, in pfds[]) */
    uint64_t accepted_at;       /* ms, for the handshake timeout */
    char peer[64];              /* "127.0.0.1:54321", for log lines */
#ifdef HAVE_OPENSSL
    tlsio *tls;                 /* NULL without TLS; allocated apart, plain clients stay small */
#endif
    ws_conn conn;
    ws_stream stream;
} client;

/* Every client reads into this one buffer (clients are pumped one at a time), so an idle
   client holds no read buffer; ws_stream keeps any input it could not feed yet. */
static unsigned char read_buf[65536];

static volatile sig_atomic_t stop_signals;

static void on_signal(int sig) {
    (void)sig;
    stop_signals++;
}

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int set_nonblocking(int fd) {
    int flags = fcntl(fd, F_GETFL, 0);
    return flags < 0 ? -1 : fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

/* ws_io callbacks over a non-blocking socket. */
static long sock_read(void *user, void *buf, size_t len) {
    client *cl = (client *)user;
    ssize_t n;
    /* Back-pressure: pretending the socket is empty leaves the client's bytes in the
       kernel, so TCP flow control slows the client down until its echoes drain. */
    if (ws_conn_queued(&cl->conn) >= PAUSE_READ_AT)
        return WS_WOULD_BLOCK;
    /* Only after the poller reported input (or end of file): a recv() that can only
       fail with EAGAIN is a wasted system call. One read per report. */
    if (!cl->readable)
        return WS_WOULD_BLOCK;
    cl->readable = 0;
    do
        n = recv(cl->fd, buf, len, 0);
    while (n < 0 && errno == EINTR);
    if (n >= 0)
        return (long)n;
    return (errno == EAGAIN || errno == EWOULDBLOCK) ? WS_WOULD_BLOCK : WS_ERR_IO;
}

static long sock_write(void *user, const void *buf, size_t len) {
    client *cl = (client *)user;
    ssize_t n;
    do
        n = send(cl->fd, buf, len, 0);
    while (n < 0 && errno == EINTR);
    if (n >= 0)
        return (long)n;
    return (errno == EAGAIN || errno == EWOULDBLOCK) ? WS_WOULD_BLOCK : WS_ERR_IO;
}

#ifdef HAVE_OPENSSL
static long tls_read(void *user, void *buf, size_t len) {
    client *cl = (client *)user;
    if (ws_conn_queued(&cl->conn) >= PAUSE_READ_AT)
        return WS_WOULD_BLOCK; /* back-pressure, as in sock_read */
    /* No "readable" gate: TLS may hold decrypted input the poller cannot see, and a
       read can be waiting for the socket to take a handshake message. */
    return tlsio_read(cl->tls, buf, len);
}

static long tls_write(void *user, const void *buf, size_t len) {
    return tlsio_write(((client *)user)->tls, buf, len);
}
#endif

static void on_event(ws_conn *c, const ws_event *ev, void *user) {
    client *cl = (client *)user;
    switch (ev->type) {
    case WS_EV_REQUEST:
        /* A server may only choose a subprotocol the client offered (RFC 6455 §4.2.2). */
        ws_accept(c, ws_request_offers(ev->request, "chat") ? "chat" : NULL, NULL);
        break;
    case WS_EV_OPEN:
#ifdef HAVE_OPENSSL
        if (cl->tls) {
            char how[96];
            fprintf(stderr, "%s: tls %s\n", cl->peer, tlsio_describe(cl->tls, how, sizeof how));
        }
#endif
        fprintf(stderr, "%s: open%s%.*s\n", cl->peer, ev->protocol.n ? ", protocol " : "",
                (int)ev->protocol.n, ev->protocol.p);
        break;
    case WS_EV_MESSAGE:
        if (ws_send(c, ev->opcode, ev->data, ev->len) != WS_OK) {
            /* Only a client that keeps sending without reading its echoes gets here
               (the queue is full); dropping a message silently would be worse. */
            static const char why[] = "echo queue full";
            fprintf(stderr, "%s: %s, closing\n", cl->peer, why);
            ws_close(c, WS_CLOSE_POLICY, why, sizeof why - 1);
        }
        break;
    case WS_EV_CLOSE:
        fprintf(stderr, "%s: peer closed with %u \"%.*s\"\n", cl->peer, ev->code,
                (int)ev->len, (const char *)ev->data);
        /* The library would answer with the code alone; an echo server echoes the
           reason too. 1005 means "no code": answer that with an empty close. If this
           fails (say the queue is full) the library's own answer still goes out. */
        if (ev->code == WS_CLOSE_NO_STATUS)
            ws_close(c, 0, NULL, 0);
        else
            ws_close(c, ev->code, (const char *)ev->data, ev->len);
        break;
    case WS_EV_ERROR:
#ifdef HAVE_OPENSSL
        if (cl->tls && tlsio_error(cl->tls)[0]) {
            fprintf(stderr, "%s: tls: %s\n", cl->peer, tlsio_error(cl->tls));
            break;
        }
#endif
        fprintf(stderr, "%s: %s (close code %u)\n", cl->peer, ws_strerror(ev->error),
                ev->code);
        break;
    default: /* pings are answered by the library; pongs need nothing */
        break;
    }
}

static int listen_on(unsigned port) {
    struct sockaddr_in addr;
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    /* Restarting right after a stop must not fail on the old socket's TIME_WAIT. */
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, 128) < 0 ||
        set_nonblocking(fd) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static client *client_new(int fd, const struct sockaddr_in *from) {
    ws_config cfg;
    ws_io io;
    client *cl = (client *)calloc(1, sizeof *cl);
    char ip[INET_ADDRSTRLEN] = "?";
    int one = 1;
    if (!cl)
        return NULL;
    cl->fd = fd;
    cl->accepted_at = now_ms();
    inet_ntop(AF_INET, &from->sin_addr, ip, sizeof ip);
    snprintf(cl->peer, sizeof cl->peer, "%s:%u", ip, (unsigned)ntohs(from->sin_port));
    /* Small frames (pongs, short echoes) should leave at once, not wait for Nagle. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

    ws_config_init(&cfg, WS_ROLE_SERVER);
    cfg.on_event = on_event;
    cfg.user = cl;
    cfg.max_message = MAX_MESSAGE;
    cfg.max_queue = MAX_QUEUE;
    if (ws_conn_init(&cl->conn, &cfg) != WS_OK) {
        free(cl);
        return NULL;
    }
    /* Tell it the time at once; a timer armed before its first tick would start late. */
    ws_conn_tick(&cl->conn, now_ms());

    io.read = sock_read;
    io.write = sock_write;
    io.user = cl;
#ifdef HAVE_OPENSSL
    if (tls_ctx) {
        cl->tls = (tlsio *)malloc(sizeof *cl->tls);
        if (!cl->tls || tlsio_server(cl->tls, tls_ctx, fd) < 0) {
            if (cl->tls)
                fprintf(stderr, "%s: %s\n", cl->peer, tlsio_error(cl->tls));
            free(cl->tls);
            ws_conn_free(&cl->conn);
            free(cl);
            return NULL;
        }
        io.read = tls_read;
        io.write = tls_write;
    }
#endif
    ws_stream_init(&cl->stream, &cl->conn, &io, read_buf, sizeof read_buf);
    ws_stream_share_buffer(&cl->stream);
    return cl;
}

static void client_free(client *cl) {
#ifdef HAVE_OPENSSL
    if (cl->tls) {
        /* close_notify, one attempt: the output queue just drained, so the socket has
           room; a peer that stopped reading would not get it by waiting either. */
        if (ws_conn_wants(&cl->conn) == 0)
            (void)tlsio_shutdown(cl->tls);
        tlsio_free(cl->tls);
        free(cl->tls);
    }
#endif
    close(cl->fd);
    ws_stream_free(&cl->stream);
    ws_conn_free(&cl->conn);
    free(cl);
}

/* The clients, in an array that grows; each client is its own allocation because the
   stream keeps a pointer to the connection beside it. */
static client **clients;
static size_t nclients, clients_cap;
static size_t ndropped; /* clients marked drop since the last sweep */

/* ---- the poller: which sockets to wait for, and the wait --------------------------
   poller_watch(cl, want) sets what cl waits for (WS_WANT_READ | WS_WANT_WRITE);
   poller_wait() waits, then serves each ready socket (accept or pump). */
static void accept_clients(int lfd);
static void pump(client *cl, int readable);

#if USE_EPOLL
static int epfd = -1;

static int poller_init(int lfd) {
    struct epoll_event ev;
    epfd = epoll_create1(0);
    if (epfd < 0)
        return -1;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN;
    ev.data.ptr = NULL; /* NULL: the listening socket */
    return epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev);
}

static int poller_watch(client *cl, unsigned want) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = ((want & WS_WANT_READ) ? EPOLLIN : 0u) | ((want & WS_WANT_WRITE) ? EPOLLOUT : 0u);
    ev.data.ptr = cl;
    if (epoll_ctl(epfd, cl->watching ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, cl->fd, &ev) < 0)
        return -1;
    cl->watching = want;
    return 0;
}

/* close() takes a socket out of the epoll set: nothing to do when a client moves to
   another slot or the listening socket closes. */
static void poller_move(size_t to, size_t from) { (void)to, (void)from; }
static void poller_close_listener(void) {}

static int poller_wait(int lfd, int timeout) {
    static struct epoll_event evs[256];
    int i, n = epoll_wait(epfd, evs, (int)(sizeof evs / sizeof evs[0]), timeout);
    for (i = 0; i < n; i++) {
        client *cl = (client *)evs[i].data.ptr;
        if (!cl)
            accept_clients(lfd);
        else if (!cl->drop) /* hang-ups and errors count as input: recv() reports them */
            pump(cl, (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0);
    }
    return n < 0 && errno != EINTR ? -1 : 0;
}

static void poller_free(void) {
    if (epfd >= 0)
        close(epfd);
}
#else
/* pfds[0] is the listening socket, pfds[1 + i] belongs to clients[i]. */
static struct pollfd *pfds;

static int poller_init(int lfd) {
    pfds = (struct pollfd *)malloc(sizeof *pfds);
    if (!pfds)
        return -1;
    pfds[0].fd = lfd;
    pfds[0].events = POLLIN;
    return 0;
}

static int poller_watch(client *cl, unsigned want) {
    if (!cl->watching) { /* a new client: room for its slot */
        struct pollfd *grown = (struct pollfd *)realloc(pfds, (clients_cap + 1) * sizeof *pfds);
        if (!grown)
            return -1;
        pfds = grown;
        pfds[1 + cl->slot].fd = cl->fd;
    }
    pfds[1 + cl->slot].events =
        (short)(((want & WS_WANT_READ) ? POLLIN : 0) | ((want & WS_WANT_WRITE) ? POLLOUT : 0));
    cl->watching = want;
    return 0;
}

/* clients[from] moved to clients[to] (the client there left). */
static void poller_move(size_t to, size_t from) { pfds[1 + to] = pfds[1 + from]; }
static void poller_close_listener(void) { pfds[0].fd = -1; /* poll() skips it */ }

static int poller_wait(int lfd, int timeout) {
    size_t i, nwatched = nclients; /* clients accepted below wait for the next round */
    int n = poll(pfds, (nfds_t)(1 + nwatched), timeout);
    if (n < 0)
        return errno == EINTR ? 0 : -1;
    for (i = 0; i < nwatched && n > 0; i++) {
        short rev = pfds[1 + i].revents;
        if (rev && !clients[i]->drop) {
            pump(clients[i], (rev & (POLLIN | POLLHUP | POLLERR)) != 0);
            n--;
        }
    }
    if (lfd >= 0 && (pfds[0].revents & POLLIN))
        accept_clients(lfd);
    return 0;
}

static void poller_free(void) { free(pfds); }
#endif

static void accept_clients(int lfd) {
    for (;;) {
        struct sockaddr_in from;
        socklen_t fromlen = sizeof from;
        client *cl;
        int fd = accept(lfd, (struct sockaddr *)&from, &fromlen);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
                errno != ECONNABORTED)
                perror("echo_server: accept");
            return;
        }
        if (nclients == clients_cap) {
            size_t cap = clients_cap ? clients_cap * 2 : 16;
            client **grown = (client **)realloc(clients, cap * sizeof *grown);
            if (!grown) {
                close(fd);
                return;
            }
            clients = grown;
            clients_cap = cap;
        }
        if (set_nonblocking(fd) < 0 || !(cl = client_new(fd, &from))) {
            fprintf(stderr, "echo_server: cannot set up a new client\n");
            close(fd);
            continue;
        }
        cl->slot = nclients;
        if (poller_watch(cl, WS_WANT_READ) < 0) { /* the request comes first */
            fprintf(stderr, "echo_server: cannot watch a new client\n");
            client_free(cl);
            continue;
        }
        clients[nclients++] = cl;
    }
}

/* Serve one client: write what is queued, read once if `readable` (the poller saw
   input), feed it and write the replies, all in one ws_stream_pump. Then wait for what
   the connection wants next, or mark it for the sweep when it is over. */
static void pump(client *cl, int readable) {
    unsigned want;
#ifdef HAVE_OPENSSL
    int rounds = 0;
again:
#endif
    cl->readable = readable;
    /* Protocol errors are handled inside the connection (it queues the close frame and
       ws_stream_wants reaches 0 once that is written); only a dead socket ends it here. */
    if (ws_stream_pump(&cl->stream) == WS_ERR_IO)
        cl->drop = 1;
    cl->readable = 0;
    want = ws_stream_wants(&cl->stream);
    if (ws_conn_queued(&cl->conn) >= PAUSE_READ_AT)
        want &= ~WS_WANT_READ; /* back-pressure, see sock_read */
#ifdef HAVE_OPENSSL
    if (cl->tls && want) {
        /* Decrypted input the poller will never report: read it now. Each round takes
           some of it, and there is at most one record's worth. */
        if ((want & WS_WANT_READ) && !cl->drop && tlsio_pending(cl->tls) && ++rounds < 64)
            goto again;
        want = tlsio_wants(cl->tls, want); /* what the socket must show for TLS to go on */
    }
#endif
    if (want == 0)
        cl->drop = 1; /* closed, or failed and the close frame is written */
    else if (!cl->drop && want != cl->watching && poller_watch(cl, want) < 0)
        cl->drop = 1;
    if (cl->drop)
        ndropped++;
}

/* Close every socket the connection is done with; keeps the array dense. */
static void sweep(void) {
    size_t i = 0;
    if (ndropped == 0)
        return;
    while (i < nclients) {
        client *cl = clients[i];
        if (cl->drop) {
            client_free(cl);
            if (i < --nclients) {
                clients[i] = clients[nclients];
                clients[i]->slot = i;
                poller_move(i, nclients);
            }
        } else {
            i++;
        }
    }
    ndropped = 0;
}

static void begin_shutdown(void) {
    static const char why[] = "server shutting down";
    size_t i;
    for (i = 0; i < nclients; i++) {
        client *cl = clients[i];
        if (cl->drop)
            continue;
        if (ws_conn_state(&cl->conn) == WS_STATE_CONNECTING) {
            cl->drop = 1; /* no WebSocket yet, so nobody to say goodbye to */
            ndropped++;
            continue;
        }
        /* A client already closing keeps its handshake; the failed call changes nothing. */
        (void)ws_close(&cl->conn, WS_CLOSE_GOING_AWAY, why, sizeof why - 1);
        pump(cl, 0);
    }
}

int main(int argc, char **argv) {
    unsigned port = 9001;
    int lfd;
    struct sigaction sa;
    struct sockaddr_in bound;
    socklen_t boundlen = sizeof bound;
    uint64_t next_tick, stop_by = 0;
    int stopping = 0;

    const char *cert = NULL, *key = NULL;
    int i;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-p") == 0 && i + 1 < argc) {
            char *end;
            unsigned long p = strtoul(argv[++i], &end, 10);
            if (*argv[i] == '\0' || *end != '\0' || p > 65535) {
                fprintf(stderr, "echo_server: bad port '%s'\n", argv[i]);
                return 2;
            }
            port = (unsigned)p;
        } else if (strcmp(argv[i], "--tls-cert") == 0 && i + 1 < argc) {
            cert = argv[++i];
        } else if (strcmp(argv[i], "--tls-key") == 0 && i + 1 < argc) {
            key = argv[++i];
        } else {
            fprintf(stderr, "usage: %s [-p PORT] [--tls-cert FILE --tls-key FILE]\n", argv[0]);
            return 2;
        }
    }
    if (!cert != !key) {
        fprintf(stderr, "echo_server: --tls-cert and --tls-key go together\n");
        return 2;
    }
    if (cert) {
#ifdef HAVE_OPENSSL
        char err[256];
        tls_ctx = tlsio_server_ctx(cert, key, err, sizeof err);
        if (!tls_ctx) {
            fprintf(stderr, "echo_server: %s\n", err);
            return 1;
        }
#else
        fprintf(stderr, "echo_server: built without TLS (apt-get install libssl-dev "
                        "pkg-config, then make clean all)\n");
        return 2;
#endif
    }

    /* No SA_RESTART: the signal must interrupt the wait so shutdown starts at once. */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* A peer that vanishes mid-write must cost an EPIPE, not the whole process. */
    signal(SIGPIPE, SIG_IGN);

    lfd = listen_on(port);
    if (lfd < 0 || getsockname(lfd, (struct sockaddr *)&bound, &boundlen) < 0 ||
        poller_init(lfd) < 0) {
        fprintf(stderr, "echo_server: cannot listen on 127.0.0.1:%u: %s\n", port,
                strerror(errno));
        return 1;
    }
    printf("listening on 127.0.0.1:%u%s\n", (unsigned)ntohs(bound.sin_port),
           cert ? " (TLS: wss://)" : "");
    fflush(stdout); /* a script may be waiting for this line to learn the port */

    next_tick = now_ms() + TICK_MS;
    for (;;) {
        uint64_t now;

        if (stop_signals && !stopping) {
            stopping = 1;
            stop_by = now_ms() + SHUTDOWN_GRACE_MS;
            poller_close_listener();
            close(lfd);
            lfd = -1;
            begin_shutdown();
            sweep();
        }
        if (stopping && (nclients == 0 || stop_signals > 1 || now_ms() >= stop_by))
            break;

        now = now_ms();
        if (poller_wait(lfd, next_tick > now ? (int)(next_tick - now) : 0) < 0) {
            perror("echo_server: wait");
            break;
        }

        now = now_ms();
        if (now >= next_tick) {
            size_t i;
            for (i = 0; i < nclients; i++) {
                client *cl = clients[i];
                if (cl->drop)
                    continue;
                ws_conn_tick(&cl->conn, now);
                /* A timeout may have queued a close frame; send it without waiting. */
                pump(cl, 0);
                if (!cl->drop && ws_conn_state(&cl->conn) == WS_STATE_CONNECTING &&
                    now - cl->accepted_at >= HANDSHAKE_TIMEOUT_MS) {
                    fprintf(stderr, "%s: no handshake in %d s\n", cl->peer,
                            HANDSHAKE_TIMEOUT_MS / 1000);
                    cl->drop = 1;
                    ndropped++;
                }
            }
            next_tick = now + TICK_MS;
        }
        sweep();
    }

    while (nclients > 0)
        client_free(clients[--nclients]);
    free(clients);
    poller_free();
    if (lfd >= 0)
        close(lfd);
#ifdef HAVE_OPENSSL
    SSL_CTX_free(tls_ctx);
#endif
    return 0;
}
