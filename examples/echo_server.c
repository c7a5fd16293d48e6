/* echo_server - a WebSocket echo server on ws.h: many clients, one thread, poll().

      build/echo_server [-p PORT]      (default 9001; -p 0 picks a free port)

   Listens on 127.0.0.1 and sends every message back with the same type (text or
   binary, up to 64 MiB). A client that offers the subprotocol "chat" gets it.
   Ctrl-C (or SIGTERM) asks every client to close, waits briefly, then exits 0.

   The shape to copy: one ws_conn + ws_stream per socket, ws_stream_pump whenever poll()
   says the socket is ready, ws_stream_wants to pick POLLIN/POLLOUT and to know when to
   close, ws_conn_tick once a second. */
#define WS_IMPLEMENTATION
#include "../ws.h"

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
#include <time.h>
#include <unistd.h>

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
    uint64_t accepted_at;       /* ms, for the handshake timeout */
    char peer[64];              /* "127.0.0.1:54321", for log lines */
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

static void on_event(ws_conn *c, const ws_event *ev, void *user) {
    client *cl = (client *)user;
    switch (ev->type) {
    case WS_EV_REQUEST:
        /* A server may only choose a subprotocol the client offered (RFC 6455 §4.2.2). */
        ws_accept(c, ws_request_offers(ev->request, "chat") ? "chat" : NULL, NULL);
        break;
    case WS_EV_OPEN:
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
    ws_stream_init(&cl->stream, &cl->conn, &io, read_buf, sizeof read_buf);
    ws_stream_share_buffer(&cl->stream);
    return cl;
}

static void client_free(client *cl) {
    close(cl->fd);
    ws_stream_free(&cl->stream);
    ws_conn_free(&cl->conn);
    free(cl);
}

/* The clients, in an array that grows; each client is its own allocation because the
   stream keeps a pointer to the connection beside it. */
static client **clients;
static size_t nclients, clients_cap;

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
        clients[nclients++] = cl;
    }
}

static void pump(client *cl) {
    /* Protocol errors are handled inside the connection (it queues the close frame and
       ws_stream_wants reaches 0 once that is written); only a dead socket ends it here. */
    if (ws_stream_pump(&cl->stream) == WS_ERR_IO)
        cl->drop = 1;
}

/* Close every socket the connection is done with; keeps the array dense. */
static void sweep(void) {
    size_t i = 0;
    while (i < nclients) {
        client *cl = clients[i];
        if (cl->drop || ws_stream_wants(&cl->stream) == 0) {
            client_free(cl);
            clients[i] = clients[--nclients];
        } else {
            i++;
        }
    }
}

static void begin_shutdown(void) {
    static const char why[] = "server shutting down";
    size_t i;
    for (i = 0; i < nclients; i++) {
        client *cl = clients[i];
        if (ws_conn_state(&cl->conn) == WS_STATE_CONNECTING) {
            cl->drop = 1; /* no WebSocket yet, so nobody to say goodbye to */
            continue;
        }
        /* A client already closing keeps its handshake; the failed call changes nothing. */
        (void)ws_close(&cl->conn, WS_CLOSE_GOING_AWAY, why, sizeof why - 1);
        pump(cl);
    }
}

int main(int argc, char **argv) {
    unsigned port = 9001;
    int lfd;
    struct sigaction sa;
    struct sockaddr_in bound;
    socklen_t boundlen = sizeof bound;
    struct pollfd *pfds = NULL;
    size_t pfds_cap = 0;
    uint64_t next_tick, stop_by = 0;
    int stopping = 0;

    if (argc == 3 && strcmp(argv[1], "-p") == 0) {
        char *end;
        unsigned long p = strtoul(argv[2], &end, 10);
        if (*argv[2] == '\0' || *end != '\0' || p > 65535) {
            fprintf(stderr, "echo_server: bad port '%s'\n", argv[2]);
            return 2;
        }
        port = (unsigned)p;
    } else if (argc != 1) {
        fprintf(stderr, "usage: %s [-p PORT]\n", argv[0]);
        return 2;
    }

    /* No SA_RESTART: the signal must interrupt poll() so shutdown starts at once. */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* A peer that vanishes mid-write must cost an EPIPE, not the whole process. */
    signal(SIGPIPE, SIG_IGN);

    lfd = listen_on(port);
    if (lfd < 0 || getsockname(lfd, (struct sockaddr *)&bound, &boundlen) < 0) {
        fprintf(stderr, "echo_server: cannot listen on 127.0.0.1:%u: %s\n", port,
                strerror(errno));
        return 1;
    }
    printf("listening on 127.0.0.1:%u\n", (unsigned)ntohs(bound.sin_port));
    fflush(stdout); /* a script may be waiting for this line to learn the port */

    next_tick = now_ms() + TICK_MS;
    for (;;) {
        size_t i, npoll = 0, nwatched;
        uint64_t now;
        int timeout, n;

        if (stop_signals && !stopping) {
            stopping = 1;
            stop_by = now_ms() + SHUTDOWN_GRACE_MS;
            close(lfd);
            lfd = -1;
            begin_shutdown();
            sweep();
        }
        if (stopping && (nclients == 0 || stop_signals > 1 || now_ms() >= stop_by))
            break;

        if (pfds_cap < nclients + 1) {
            struct pollfd *grown;
            grown = (struct pollfd *)realloc(pfds, (nclients + 1) * sizeof *grown);
            if (!grown) {
                fprintf(stderr, "echo_server: out of memory\n");
                break;
            }
            pfds = grown;
            pfds_cap = nclients + 1;
        }
        if (lfd >= 0) {
            pfds[npoll].fd = lfd;
            pfds[npoll].events = POLLIN;
            npoll++;
        }
        nwatched = nclients; /* clients accepted below are not in pfds yet */
        for (i = 0; i < nwatched; i++) {
            client *cl = clients[i];
            unsigned wants = ws_stream_wants(&cl->stream);
            short events = 0;
            if ((wants & WS_WANT_READ) && ws_conn_queued(&cl->conn) < PAUSE_READ_AT)
                events |= POLLIN;
            if (wants & WS_WANT_WRITE)
                events |= POLLOUT;
            pfds[npoll].fd = cl->fd;
            pfds[npoll].events = events;
            npoll++;
        }

        now = now_ms();
        timeout = next_tick > now ? (int)(next_tick - now) : 0;
        n = poll(pfds, (nfds_t)npoll, timeout);
        if (n < 0 && errno != EINTR) {
            perror("echo_server: poll");
            break;
        }

        if (n > 0) {
            struct pollfd *cp = pfds + (lfd >= 0 ? 1 : 0);
            for (i = 0; i < nwatched; i++)
                if (cp[i].revents)
                    pump(clients[i]);
            if (lfd >= 0 && (pfds[0].revents & POLLIN))
                accept_clients(lfd);
        }

        now = now_ms();
        if (now >= next_tick) {
            for (i = 0; i < nclients; i++) {
                client *cl = clients[i];
                ws_conn_tick(&cl->conn, now);
                /* A timeout may have queued a close frame; send it without waiting. */
                pump(cl);
                if (ws_conn_state(&cl->conn) == WS_STATE_CONNECTING &&
                    now - cl->accepted_at >= HANDSHAKE_TIMEOUT_MS) {
                    fprintf(stderr, "%s: no handshake in %d s\n", cl->peer,
                            HANDSHAKE_TIMEOUT_MS / 1000);
                    cl->drop = 1;
                }
            }
            next_tick = now + TICK_MS;
        }
        sweep();
    }

    while (nclients > 0)
        client_free(clients[--nclients]);
    free(clients);
    free(pfds);
    if (lfd >= 0)
        close(lfd);
    return 0;
}
