/* echo_client - connect to a WebSocket server and echo every message back.

      build/echo_client URL [--protocol NAME]
      build/echo_client ws://127.0.0.1:9001/ --protocol chat

   Sends each text or binary message it receives back with the same type until the
   server closes. Exit status: 0 after a clean close handshake (the close code and reason
   go to stderr), 1 on any failure (refused connection or handshake, protocol error,
   dropped connection), 2 for bad arguments or a wss:// URL (TLS is not built in: ws.h
   leaves the transport to you), 3 after 30 s without any traffic. */
#define WS_IMPLEMENTATION
#include "../ws.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
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
/* See echo_server.c: stop reading while this much echo is unsent (back-pressure). */
#define PAUSE_READ_AT ((size_t)8 << 20)
#define CONNECT_TIMEOUT_MS 10000
#define SILENCE_LIMIT_MS 30000
#define TICK_MS 250

typedef struct client {
    int fd;
    ws_conn conn;
    ws_stream stream;
    unsigned char buf[16384];
    /* What happened, for the exit status (event data dies with the callback). */
    int opened, closed, failed;
    int io_errno;               /* errno of the socket call that failed */
    unsigned close_code;
    ws_result error;
    char text[256];             /* close reason, or the refused handshake's status line */
} client;

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Masking keys and Sec-WebSocket-Key must be unpredictable (RFC 6455 §10.3), so they
   come from the OS; getrandom() or arc4random() would serve as well where available. */
static int urandom_rng(void *ctx, void *buf, size_t len) {
    int fd = *(const int *)ctx;
    unsigned char *p = (unsigned char *)buf;
    while (len > 0) {
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static long sock_read(void *user, void *buf, size_t len) {
    client *cl = (client *)user;
    ssize_t n;
    /* Back-pressure: leave input in the kernel until our echoes have drained. */
    if (ws_conn_queued(&cl->conn) >= PAUSE_READ_AT)
        return WS_WOULD_BLOCK;
    do
        n = recv(cl->fd, buf, len, 0);
    while (n < 0 && errno == EINTR);
    if (n >= 0)
        return (long)n;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        return WS_WOULD_BLOCK;
    cl->io_errno = errno;
    return WS_ERR_IO;
}

static long sock_write(void *user, const void *buf, size_t len) {
    client *cl = (client *)user;
    ssize_t n;
    do
        n = send(cl->fd, buf, len, 0);
    while (n < 0 && errno == EINTR);
    if (n >= 0)
        return (long)n;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        return WS_WOULD_BLOCK;
    cl->io_errno = errno;
    return WS_ERR_IO;
}

static void keep_text(client *cl, const void *data, size_t len) {
    if (len >= sizeof cl->text)
        len = sizeof cl->text - 1;
    memcpy(cl->text, data, len);
    cl->text[len] = '\0';
}

static void on_event(ws_conn *c, const ws_event *ev, void *user) {
    client *cl = (client *)user;
    switch (ev->type) {
    case WS_EV_OPEN:
        cl->opened = 1;
        fprintf(stderr, "echo_client: connected%s%.*s\n",
                ev->protocol.n ? ", protocol " : "", (int)ev->protocol.n, ev->protocol.p);
        break;
    case WS_EV_MESSAGE:
        if (ws_send(c, ev->opcode, ev->data, ev->len) != WS_OK) {
            /* The server sends faster than it reads our echoes; say so rather than
               drop a message. */
            static const char why[] = "echo queue full";
            ws_close(c, WS_CLOSE_POLICY, why, sizeof why - 1);
        }
        break;
    case WS_EV_CLOSE:
        cl->closed = 1;
        cl->close_code = ev->code;
        keep_text(cl, ev->data, ev->len);
        break;
    case WS_EV_ERROR:
        /* Keep the first failure: it is the cause, later ones are consequences. */
        if (!cl->failed) {
            cl->failed = 1;
            cl->error = ev->error;
            cl->close_code = ev->code;
            keep_text(cl, ev->data, ev->len);
        }
        break;
    default: /* pings are answered by the library */
        break;
    }
}

/* Waits at most CONNECT_TIMEOUT_MS, where a blocking connect() could hang for minutes
   on an unreachable host. Returns the connected non-blocking socket or -1. */
static int connect_to(const char *host, const char *port) {
    struct addrinfo hints, *res, *ai;
    int fd = -1, err = 0, gai;

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    gai = getaddrinfo(host, port, &hints, &res);
    if (gai != 0) {
        fprintf(stderr, "echo_client: cannot resolve %s: %s\n", host, gai_strerror(gai));
        return -1;
    }
    for (ai = res; ai; ai = ai->ai_next) {
        int flags;
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        flags = fcntl(fd, F_GETFL, 0);
        if (flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) >= 0) {
            if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
                break;
            err = errno;
            if (err == EINPROGRESS) {
                struct pollfd p;
                socklen_t len = sizeof err;
                p.fd = fd;
                p.events = POLLOUT;
                if (poll(&p, 1, CONNECT_TIMEOUT_MS) == 1 &&
                    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0)
                    break;
                if (err == EINPROGRESS)
                    err = ETIMEDOUT;
            }
        } else {
            err = errno;
        }
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        fprintf(stderr, "echo_client: cannot connect to %s port %s: %s\n", host, port,
                strerror(err));
    return fd;
}

static int usage(const char *argv0) {
    fprintf(stderr, "usage: %s ws://HOST[:PORT]/PATH [--protocol NAME]\n", argv0);
    return 2;
}

int main(int argc, char **argv) {
    const char *url = NULL, *protocol = NULL;
    char host[256], port[8];
    ws_url u;
    ws_config cfg;
    ws_client_options opts;
    ws_io io;
    ws_result r;
    client *cl;
    int i, rngfd, status;
    uint64_t last_activity, next_tick;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--protocol") == 0 && i + 1 < argc)
            protocol = argv[++i];
        else if (!url && argv[i][0] != '-')
            url = argv[i];
        else
            return usage(argv[0]);
    }
    if (!url)
        return usage(argv[0]);

    if (ws_url_parse(url, strlen(url), &u) != WS_OK) {
        fprintf(stderr, "echo_client: not a ws:// or wss:// URL: %s\n", url);
        return 2;
    }
    if (u.secure) {
        fprintf(stderr, "echo_client: wss:// needs TLS, which this example does not "
                        "build in (ws.h runs over any transport you give it)\n");
        return 2;
    }
    if (u.host.n >= sizeof host) {
        fprintf(stderr, "echo_client: host name too long\n");
        return 2;
    }
    memcpy(host, u.host.p, u.host.n);
    host[u.host.n] = '\0';
    snprintf(port, sizeof port, "%u", u.port);

    /* A server that vanishes mid-write must cost an EPIPE, not the process. */
    signal(SIGPIPE, SIG_IGN);
    rngfd = open("/dev/urandom", O_RDONLY);
    if (rngfd < 0) {
        perror("echo_client: /dev/urandom");
        return 1;
    }
    /* The client is large (buffers included), so it lives on the heap. */
    cl = (client *)calloc(1, sizeof *cl);
    if (!cl) {
        fprintf(stderr, "echo_client: out of memory\n");
        return 1;
    }
    cl->fd = connect_to(host, port);
    if (cl->fd < 0) {
        free(cl);
        close(rngfd);
        return 1;
    }

    ws_config_init(&cfg, WS_ROLE_CLIENT);
    cfg.on_event = on_event;
    cfg.user = cl;
    cfg.rng = urandom_rng;
    cfg.rng_ctx = &rngfd;
    cfg.max_message = MAX_MESSAGE;
    cfg.max_queue = MAX_QUEUE;
    r = ws_conn_init(&cl->conn, &cfg);
    if (r == WS_OK) {
        memset(&opts, 0, sizeof opts);
        opts.url = url;
        opts.protocols = protocol;
        ws_conn_tick(&cl->conn, now_ms()); /* timers count from now, not from zero */
        r = ws_client_start(&cl->conn, &opts);
    }
    if (r != WS_OK) {
        fprintf(stderr, "echo_client: cannot start: %s\n", ws_strerror(r));
        ws_conn_free(&cl->conn);
        close(cl->fd);
        free(cl);
        close(rngfd);
        return 1;
    }
    io.read = sock_read;
    io.write = sock_write;
    io.user = cl;
    ws_stream_init(&cl->stream, &cl->conn, &io, cl->buf, sizeof cl->buf);

    last_activity = next_tick = now_ms();
    status = -1;
    while (status < 0) {
        struct pollfd p;
        unsigned wants;
        uint64_t now;
        int n;

        if (ws_stream_pump(&cl->stream) == WS_ERR_IO) {
            if (!cl->failed)
                fprintf(stderr, "echo_client: connection lost: %s\n",
                        strerror(cl->io_errno));
            status = 1;
            break;
        }
        wants = ws_stream_wants(&cl->stream);
        if (wants == 0)
            break; /* the connection is finished with the socket */

        p.fd = cl->fd;
        p.events = 0;
        if ((wants & WS_WANT_READ) && ws_conn_queued(&cl->conn) < PAUSE_READ_AT)
            p.events |= POLLIN;
        if (wants & WS_WANT_WRITE)
            p.events |= POLLOUT;
        n = poll(&p, 1, TICK_MS);
        if (n < 0 && errno != EINTR) {
            perror("echo_client: poll");
            status = 1;
        }
        now = now_ms();
        if (n > 0)
            last_activity = now;
        else if (now - last_activity >= SILENCE_LIMIT_MS) {
            fprintf(stderr, "echo_client: no traffic for %d s, giving up\n",
                    SILENCE_LIMIT_MS / 1000);
            status = 3;
        }
        if (now >= next_tick) {
            ws_conn_tick(&cl->conn, now); /* close and pong timeouts */
            next_tick = now + TICK_MS;
        }
    }

    if (cl->failed && !cl->opened) {
        /* For a refused handshake the text is the server's status line. */
        fprintf(stderr, "echo_client: %s%s%s\n", ws_strerror(cl->error),
                cl->text[0] ? ": " : "", cl->text);
        status = 1;
    } else if (cl->failed) {
        fprintf(stderr, "echo_client: %s (close code %u)%s%s\n", ws_strerror(cl->error),
                cl->close_code, cl->text[0] ? ": " : "", cl->text);
        status = 1;
    } else if (status < 0) {
        if (cl->closed) {
            fprintf(stderr, "echo_client: closed by server: %u \"%s\"\n", cl->close_code,
                    cl->text);
            status = 0;
        } else {
            fprintf(stderr, "echo_client: connection ended without a close handshake\n");
            status = 1;
        }
    }
    close(cl->fd);
    ws_conn_free(&cl->conn);
    free(cl);
    close(rngfd);
    return status;
}
