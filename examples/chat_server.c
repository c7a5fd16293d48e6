/* chat_server - a browser chat on ws.h: one poll() loop serves the page and the sockets.

      build/chat_server [-p PORT] [-d DIR]     (default port 8080; -p 0 picks a free one)
      build/chat_server --tls-cert cert.pem --tls-key key.pem    (https:// and wss://)

   Listens on 127.0.0.1 only. GET / answers DIR/index.html (read at every request, so
   the page can be edited without a restart); DIR defaults to examples/chat found from
   the executable's own path (build/chat_server -> build/../examples/chat). GET /ws is
   the WebSocket: every text or binary message from one client goes to every client,
   the sender included, with the same type. Anything else gets 404 (405 for other
   methods).

   stdout gets one line per event, flushed at once so a script can follow it:
      chat on http://127.0.0.1:8080/
      127.0.0.1:50312 open /ws (extensions offered: permessage-deflate; ...; declined)
      127.0.0.1:50312 close 4000 bye          (the code and reason the client sent)
      127.0.0.1:50312 error: <what> (close code 1002)
   Browsers offer permessage-deflate; ws.h implements no extension, so the answer simply
   leaves Sec-WebSocket-Extensions out, which RFC 6455 §9.1 says means "none".

   With --tls-cert/--tls-key (built with OpenSSL, -DHAVE_OPENSSL) the page and the
   socket are served over TLS by tls_openssl.h, and the first line says https://.

   SIGINT or SIGTERM: every client is closed with 1001 "going away", then the server
   exits 0 once they answered (at most 2 s later); a second signal exits at once. */
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

#ifdef HAVE_OPENSSL
#include "tls_openssl.h"
static SSL_CTX *tls_ctx; /* NULL: plain http:// and ws:// */
#endif

#define MAX_HEAD 8192
#define MAX_PAGE ((size_t)1 << 20)
#define MAX_MESSAGE ((size_t)1 << 20)
/* A client that falls this far behind the chat is closed rather than buffered for. */
#define MAX_QUEUE ((size_t)4 << 20)
#define HEAD_TIMEOUT_MS 10000
#define TICK_MS 1000
#define SHUTDOWN_GRACE_MS 2000

typedef enum kind {
    K_HTTP,     /* reading the request head */
    K_REPLY,    /* writing a plain HTTP answer (the page, 404...), then hang up */
    K_WS        /* handed to a ws_conn */
} kind;

typedef struct client {
    int fd;
    kind kind;
    int drop;                   /* close the socket at the next sweep */
    char peer[64];              /* "127.0.0.1:54321", for log lines */
#ifdef HAVE_OPENSSL
    tlsio *tls;                 /* NULL without TLS */
#endif
    uint64_t head_deadline;     /* a silent half-open connection must not stay forever */
    char head[MAX_HEAD];        /* the request head (and anything read past it) */
    size_t head_len, head_fed;  /* K_WS: how much of head the ws_conn has taken */
    char *reply;                /* K_REPLY */
    size_t reply_len, reply_pos;
    ws_conn conn;
    ws_stream stream;
    unsigned char buf[16384];   /* where reads land; ws_stream unmasks in place */
} client;

static volatile sig_atomic_t stop_signals;
static const char *page_dir;

static client **clients;
static size_t nclients, clients_cap;

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

/* Peer-supplied text goes to a log that a test reads line by line: one line per event,
   whatever the reason holds. */
static void log_text(const void *data, size_t len) {
    const unsigned char *p = (const unsigned char *)data;
    size_t i;
    for (i = 0; i < len; i++)
        putchar(p[i] < 0x20 || p[i] == 0x7f ? '?' : p[i]);
}

static long sock_read(void *user, void *buf, size_t len) {
    client *cl = (client *)user;
    ssize_t n;
#ifdef HAVE_OPENSSL
    if (cl->tls)
        return tlsio_read(cl->tls, buf, len);
#endif
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
#ifdef HAVE_OPENSSL
    if (cl->tls)
        return tlsio_write(cl->tls, buf, len);
#endif
    do
        n = send(cl->fd, buf, len, 0);
    while (n < 0 && errno == EINTR);
    if (n >= 0)
        return (long)n;
    return (errno == EAGAIN || errno == EWOULDBLOCK) ? WS_WOULD_BLOCK : WS_ERR_IO;
}

static void broadcast(ws_opcode op, const void *data, size_t len) {
    size_t i;
    for (i = 0; i < nclients; i++) {
        client *to = clients[i];
        ws_result r;
        if (to->kind != K_WS || ws_conn_state(&to->conn) != WS_STATE_OPEN)
            continue;
        r = ws_send(&to->conn, op, data, len);
        if (r != WS_OK) {
            /* Its queue is full: it reads slower than the room talks. Skipping the
               message would silently show it a different conversation. */
            static const char why[] = "cannot keep up";
            printf("%s dropped: %s\n", to->peer, ws_strerror(r));
            ws_close(&to->conn, WS_CLOSE_POLICY, why, sizeof why - 1);
        }
    }
}

/* Cross-site WebSocket hijacking: any web page the user visits may open a socket to
   127.0.0.1, and browsers send its Origin. Only pages served from here may join. */
static int origin_allowed(const client *cl, const ws_request *req) {
    const char *scheme = "http://";
    size_t k;
#ifdef HAVE_OPENSSL
    if (cl->tls)
        scheme = "https://";
#endif
    (void)cl;
    k = strlen(scheme);
    if (!req->origin.p)
        return 1; /* not a browser (wscat, scripts): Origin is a browser's promise */
    return req->origin.n == k + req->host.n && memcmp(req->origin.p, scheme, k) == 0 &&
           memcmp(req->origin.p + k, req->host.p, req->host.n) == 0;
}

static void on_event(ws_conn *c, const ws_event *ev, void *user) {
    client *cl = (client *)user;
    switch (ev->type) {
    case WS_EV_REQUEST:
        if (!origin_allowed(cl, ev->request)) {
            printf("%s refused: origin ", cl->peer);
            log_text(ev->request->origin.p, ev->request->origin.n);
            printf("\n");
            ws_reject(c, 403, NULL);
            break;
        }
        printf("%s open ", cl->peer);
        log_text(ev->request->target.p, ev->request->target.n);
        if (ev->request->extensions.n) {
            printf(" (extensions offered: ");
            log_text(ev->request->extensions.p, ev->request->extensions.n);
            printf("; declined)");
        }
        printf("\n");
        /* No subprotocol, and the response never names an extension: declined. */
        ws_accept(c, NULL, NULL);
        break;
    case WS_EV_MESSAGE:
        broadcast(ev->opcode, ev->data, ev->len);
        break;
    case WS_EV_CLOSE:
        printf("%s close %u%s", cl->peer, ev->code, ev->len ? " " : "");
        log_text(ev->data, ev->len);
        printf("\n");
        /* Echo the reason as well as the code, so the page that closed sees its own
           words come back. 1005 means the close was empty: answer with an empty one. A
           close we started ourselves (shutdown) makes this a harmless WS_ERR_CLOSED. */
        if (ev->code == WS_CLOSE_NO_STATUS)
            (void)ws_close(c, 0, NULL, 0);
        else
            (void)ws_close(c, ev->code, (const char *)ev->data, ev->len);
        break;
    case WS_EV_ERROR:
        printf("%s error: %s (close code %u)\n", cl->peer, ws_strerror(ev->error), ev->code);
        break;
    default: /* OPEN is logged at the request; pings are answered by the library */
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

static void client_free(client *cl) {
#ifdef HAVE_OPENSSL
    if (cl->tls) {
        /* close_notify after a finished exchange, one attempt (see echo_server.c). */
        if (cl->kind == K_REPLY ? cl->reply_pos == cl->reply_len
                                : cl->kind == K_WS && ws_conn_wants(&cl->conn) == 0)
            (void)tlsio_shutdown(cl->tls);
        tlsio_free(cl->tls);
        free(cl->tls);
    }
#endif
    close(cl->fd);
    if (cl->kind == K_WS)
        ws_conn_free(&cl->conn);
    free(cl->reply);
    free(cl);
}

static void accept_clients(int lfd) {
    for (;;) {
        struct sockaddr_in from;
        socklen_t fromlen = sizeof from;
        char ip[INET_ADDRSTRLEN] = "?";
        client *cl;
        int one = 1;
        int fd = accept(lfd, (struct sockaddr *)&from, &fromlen);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
                errno != ECONNABORTED)
                perror("chat_server: accept");
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
        cl = (client *)calloc(1, sizeof *cl);
        if (!cl || set_nonblocking(fd) < 0) {
            fprintf(stderr, "chat_server: cannot set up a new client\n");
            free(cl);
            close(fd);
            continue;
        }
        /* Chat lines are small and should leave at once, not wait for Nagle. */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        cl->fd = fd;
#ifdef HAVE_OPENSSL
        if (tls_ctx) {
            cl->tls = (tlsio *)malloc(sizeof *cl->tls);
            if (!cl->tls || tlsio_server(cl->tls, tls_ctx, fd) < 0) {
                fprintf(stderr, "chat_server: cannot set up TLS for a new client\n");
                free(cl->tls);
                free(cl);
                close(fd);
                continue;
            }
        }
#endif
        cl->kind = K_HTTP;
        cl->head_deadline = now_ms() + HEAD_TIMEOUT_MS;
        inet_ntop(AF_INET, &from.sin_addr, ip, sizeof ip);
        snprintf(cl->peer, sizeof cl->peer, "%s:%u", ip, (unsigned)ntohs(from.sin_port));
        clients[nclients++] = cl;
    }
}

/* A whole plain-HTTP answer; the socket closes once it is written. */
static void reply(client *cl, int status, const char *reason, const char *type,
                  const char *body, size_t body_len) {
    size_t cap = 256 + body_len;
    int n;
    cl->kind = K_REPLY;
    cl->reply = (char *)malloc(cap);
    if (!cl->reply) {
        cl->drop = 1;
        return;
    }
    n = snprintf(cl->reply, cap,
                 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %lu\r\n"
                 "Cache-Control: no-store\r\n%sConnection: close\r\n\r\n",
                 status, reason, type, (unsigned long)body_len,
                 status == 405 ? "Allow: GET\r\n" : "");
    if (n < 0 || (size_t)n + body_len > cap) {
        cl->drop = 1;
        return;
    }
    memcpy(cl->reply + n, body, body_len);
    cl->reply_len = (size_t)n + body_len;
    cl->reply_pos = 0;
}

static void reply_text(client *cl, int status, const char *reason) {
    char body[64];
    int n = snprintf(body, sizeof body, "%d %s\n", status, reason);
    reply(cl, status, reason, "text/plain; charset=utf-8", body, (size_t)n);
}

static void serve_page(client *cl) {
    char path[4096];
    char *body;
    size_t len;
    FILE *f;
    snprintf(path, sizeof path, "%s/index.html", page_dir);
    f = fopen(path, "rb");
    body = (char *)malloc(MAX_PAGE);
    len = f && body ? fread(body, 1, MAX_PAGE, f) : 0;
    if (!f || !body || ferror(f) || len == MAX_PAGE) {
        fprintf(stderr, "chat_server: cannot read %s\n", path);
        reply_text(cl, 500, "Internal Server Error");
    } else {
        reply(cl, 200, "OK", "text/html; charset=utf-8", body, len);
    }
    if (f)
        fclose(f);
    free(body);
}

/* From here on the ws_conn answers: 101, or 400/426 for a bad upgrade request. It parses
   the head again, which keeps this example on the plain connection API. */
static void start_websocket(client *cl) {
    ws_config cfg;
    ws_io io;
    ws_config_init(&cfg, WS_ROLE_SERVER);
    cfg.on_event = on_event;
    cfg.user = cl;
    cfg.max_message = MAX_MESSAGE;
    cfg.max_queue = MAX_QUEUE;
    if (ws_conn_init(&cl->conn, &cfg) != WS_OK) {
        cl->drop = 1;
        return;
    }
    cl->kind = K_WS;
    cl->head_fed = 0;
    /* Start the connection's clock now, or its first timers would count from zero. */
    ws_conn_tick(&cl->conn, now_ms());
    io.read = sock_read;
    io.write = sock_write;
    io.user = cl;
    ws_stream_init(&cl->stream, &cl->conn, &io, cl->buf, sizeof cl->buf);
}

/* The head is complete (head_end bytes): decide what this connection is. */
static void route(client *cl, size_t head_end) {
    ws_request req;
    ws_result r = ws_request_parse(cl->head, head_end, NULL, &req);
    size_t plen = 0;
    /* A failed parse still fills the request line when that much was readable; a plain
       page request fails it on purpose (no Upgrade header). */
    if (!req.target.p || r == WS_ERR_HS_MALFORMED) {
        reply_text(cl, 400, "Bad Request");
        return;
    }
    while (plen < req.target.n && req.target.p[plen] != '?')
        plen++;
    if (plen == 3 && memcmp(req.target.p, "/ws", 3) == 0) {
        start_websocket(cl);
    } else if (r == WS_ERR_HS_METHOD) {
        reply_text(cl, 405, "Method Not Allowed");
    } else if ((plen == 1 && req.target.p[0] == '/') ||
               (plen == 11 && memcmp(req.target.p, "/index.html", 11) == 0)) {
        printf("%s GET page\n", cl->peer);
        serve_page(cl);
    } else {
        reply_text(cl, 404, "Not Found");
    }
}

static void read_head(client *cl) {
    size_t had = cl->head_len;
    long n = sock_read(cl, cl->head + had, sizeof cl->head - had);
    int end;
    if (n == WS_WOULD_BLOCK)
        return;
    if (n <= 0) {
        cl->drop = 1;
        return;
    }
    cl->head_len += (size_t)n;
    end = ws_http_head_end(cl->head, cl->head_len, had, sizeof cl->head);
    if (end == WS_NEED_MORE && cl->head_len < sizeof cl->head)
        return;
    if (end < 0)
        reply_text(cl, 431, "Request Header Fields Too Large");
    else
        route(cl, (size_t)end);
}

static void write_reply(client *cl) {
    long n = sock_write(cl, cl->reply + cl->reply_pos, cl->reply_len - cl->reply_pos);
    if (n == WS_WOULD_BLOCK)
        return;
    if (n <= 0) {
        cl->drop = 1;
        return;
    }
    cl->reply_pos += (size_t)n;
    if (cl->reply_pos == cl->reply_len)
        cl->drop = 1;
}

static void pump_ws(client *cl) {
    /* The head (and anything the browser sent right behind it) was read before the
       ws_conn existed: it goes in first, so the bytes stay in order. */
    if (cl->head_fed < cl->head_len) {
        size_t used = 0;
        ws_result r = ws_conn_feed(&cl->conn, cl->head + cl->head_fed,
                                   cl->head_len - cl->head_fed, &used);
        cl->head_fed += used;
        /* WS_WOULD_BLOCK needs a pong or close reply that does not fit an empty 4 MiB
           queue, which 8 KiB of input cannot ask for; if it ever happens, hang up rather
           than read past bytes the connection has not taken. */
        if (r == WS_WOULD_BLOCK) {
            printf("%s error: handshake input stalled\n", cl->peer);
            cl->drop = 1;
            return;
        }
        if (r != WS_OK)
            cl->head_fed = cl->head_len;
    }
    /* Protocol errors are handled inside the connection (it queues the close frame and
       ws_stream_wants reaches 0 once that is written); only a dead socket ends it here. */
    if (ws_stream_pump(&cl->stream) == WS_ERR_IO)
        cl->drop = 1;
}

static void pump(client *cl, short revents) {
    if (cl->drop)
        return;
    switch (cl->kind) {
    case K_HTTP:
        if (revents & (POLLIN | POLLOUT | POLLHUP | POLLERR)) /* TLS may wait for POLLOUT */
            read_head(cl);
        if (cl->kind == K_REPLY)
            write_reply(cl); /* usually fits the socket buffer right away */
        else if (cl->kind == K_WS)
            pump_ws(cl);
        break;
    case K_REPLY:
        if (revents & (POLLIN | POLLOUT | POLLHUP | POLLERR)) /* TLS may wait for POLLIN */
            write_reply(cl);
        break;
    case K_WS:
        pump_ws(cl);
        break;
    }
}

static int finished(client *cl) {
    return cl->drop || (cl->kind == K_WS && ws_stream_wants(&cl->stream) == 0);
}

/* Close every socket that is done with; keeps the array dense. */
static void sweep(void) {
    size_t i = 0;
    while (i < nclients) {
        client *cl = clients[i];
        if (finished(cl)) {
            if (cl->kind == K_WS)
                printf("%s gone\n", cl->peer);
            client_free(cl);
            clients[i] = clients[--nclients];
        } else {
            i++;
        }
    }
}

static void begin_shutdown(void) {
    static const char why[] = "going away";
    size_t i;
    for (i = 0; i < nclients; i++) {
        client *cl = clients[i];
        if (cl->kind != K_WS) {
            cl->drop = 1; /* no WebSocket, so nobody to say goodbye to */
            continue;
        }
        /* A client already closing keeps its handshake; the failed call changes nothing. */
        (void)ws_close(&cl->conn, WS_CLOSE_GOING_AWAY, why, sizeof why - 1);
        pump(cl, 0);
    }
}

/* examples/chat beside the build directory the executable sits in. */
static char *default_page_dir(const char *argv0) {
    static const char rel[] = "/../examples/chat";
    const char *slash = strrchr(argv0, '/');
    size_t n = slash ? (size_t)(slash - argv0) : 0;
    char *dir = (char *)malloc(n + sizeof rel);
    if (!dir)
        return NULL;
    if (!slash) { /* found through PATH: the best guess is a checkout in the working dir */
        memcpy(dir, rel + 4, sizeof rel - 4);
        return dir;
    }
    memcpy(dir, argv0, n);
    memcpy(dir + n, rel, sizeof rel);
    return dir;
}

static int usage(const char *argv0) {
    fprintf(stderr,
            "usage: %s [-p PORT] [-d DIR] [--tls-cert FILE --tls-key FILE]\n"
            "  -p PORT  port on 127.0.0.1 (default 8080; 0 picks a free one)\n"
            "  -d DIR   folder holding index.html (default: examples/chat next to the\n"
            "           build folder this program is in)\n"
            "  --tls-cert FILE --tls-key FILE   serve https:// and wss:// (PEM files)\n",
            argv0);
    return 2;
}

int main(int argc, char **argv) {
    unsigned port = 8080;
    const char *cert = NULL, *key = NULL;
    char *dir_alloc = NULL, page_path[4096];
    int lfd, i;
    struct sigaction sa;
    struct sockaddr_in bound;
    socklen_t boundlen = sizeof bound;
    struct pollfd *pfds = NULL;
    size_t pfds_cap = 0;
    uint64_t next_tick, stop_by = 0;
    int stopping = 0;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-p") == 0 && i + 1 < argc) {
            char *end;
            unsigned long p = strtoul(argv[++i], &end, 10);
            if (*argv[i] == '\0' || *end != '\0' || p > 65535) {
                fprintf(stderr, "chat_server: bad port '%s'\n", argv[i]);
                return 2;
            }
            port = (unsigned)p;
        } else if (strcmp(argv[i], "-d") == 0 && i + 1 < argc) {
            page_dir = argv[++i];
        } else if (strcmp(argv[i], "--tls-cert") == 0 && i + 1 < argc) {
            cert = argv[++i];
        } else if (strcmp(argv[i], "--tls-key") == 0 && i + 1 < argc) {
            key = argv[++i];
        } else {
            return usage(argv[0]);
        }
    }
    if (!cert != !key) {
        fprintf(stderr, "chat_server: --tls-cert and --tls-key go together\n");
        return 2;
    }
    if (cert) {
#ifdef HAVE_OPENSSL
        char err[256];
        tls_ctx = tlsio_server_ctx(cert, key, err, sizeof err);
        if (!tls_ctx) {
            fprintf(stderr, "chat_server: %s\n", err);
            return 1;
        }
#else
        fprintf(stderr, "chat_server: built without TLS (apt-get install libssl-dev "
                        "pkg-config, then make clean all)\n");
        return 2;
#endif
    }
    if (!page_dir)
        page_dir = dir_alloc = default_page_dir(argv[0]);
    snprintf(page_path, sizeof page_path, "%s/index.html", page_dir ? page_dir : "");
    if (!page_dir || access(page_path, R_OK) != 0) {
        fprintf(stderr, "chat_server: cannot read %s (point -d at examples/chat)\n",
                page_path);
        free(dir_alloc);
        return 2;
    }

    /* No SA_RESTART: the signal must interrupt poll() so shutdown starts at once. */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* A browser tab that vanishes mid-write must cost an EPIPE, not the whole chat. */
    signal(SIGPIPE, SIG_IGN);
    /* The log is read by scripts through a pipe: a line must arrive when it happens. */
    setvbuf(stdout, NULL, _IOLBF, 0);

    lfd = listen_on(port);
    if (lfd < 0 || getsockname(lfd, (struct sockaddr *)&bound, &boundlen) < 0) {
        fprintf(stderr, "chat_server: cannot listen on 127.0.0.1:%u: %s\n", port,
                strerror(errno));
        free(dir_alloc);
        return 1;
    }
    printf("chat on %s://127.0.0.1:%u/\n", cert ? "https" : "http",
           (unsigned)ntohs(bound.sin_port));
    fflush(stdout);

    next_tick = now_ms() + TICK_MS;
    for (;;) {
        size_t j, npoll = 0, nwatched;
        uint64_t now;
        int timeout, n, timeout_zero = 0;

        if (stop_signals && !stopping) {
            stopping = 1;
            stop_by = now_ms() + SHUTDOWN_GRACE_MS;
            close(lfd);
            lfd = -1;
            printf("shutting down\n");
            begin_shutdown();
            sweep();
        }
        if (stopping && (nclients == 0 || stop_signals > 1 || now_ms() >= stop_by))
            break;

        if (pfds_cap < nclients + 1) {
            struct pollfd *grown;
            grown = (struct pollfd *)realloc(pfds, (nclients + 1) * sizeof *grown);
            if (!grown) {
                fprintf(stderr, "chat_server: out of memory\n");
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
        for (j = 0; j < nwatched; j++) {
            client *cl = clients[j];
            short events = 0;
            unsigned wants = cl->kind == K_HTTP    ? WS_WANT_READ
                             : cl->kind == K_REPLY ? WS_WANT_WRITE
                                                   : ws_stream_wants(&cl->stream);
#ifdef HAVE_OPENSSL
            if (cl->tls) {
                wants = tlsio_wants(cl->tls, wants); /* TLS may need the other direction */
                if (tlsio_pending(cl->tls))
                    timeout_zero = 1; /* decrypted input that poll() cannot see */
            }
#endif
            if (wants & WS_WANT_READ)
                events |= POLLIN;
            if (wants & WS_WANT_WRITE)
                events |= POLLOUT;
            pfds[npoll].fd = cl->fd;
            pfds[npoll].events = events;
            npoll++;
        }

        now = now_ms();
        timeout = next_tick > now && !timeout_zero ? (int)(next_tick - now) : 0;
        n = poll(pfds, (nfds_t)npoll, timeout);
        if (n < 0 && errno != EINTR) {
            perror("chat_server: poll");
            break;
        }

        if (n > 0) {
            struct pollfd *cp = pfds + (lfd >= 0 ? 1 : 0);
            for (j = 0; j < nwatched; j++)
                if (cp[j].revents)
                    pump(clients[j], cp[j].revents);
            if (lfd >= 0 && (pfds[0].revents & POLLIN))
                accept_clients(lfd);
        }
#ifdef HAVE_OPENSSL
        for (j = 0; j < nwatched; j++)
            if (clients[j]->tls && tlsio_pending(clients[j]->tls))
                pump(clients[j], POLLIN);
#endif
        /* A message from one client queued output on the others: send it now rather
           than one poll round later. */
        for (j = 0; j < nclients; j++)
            if (clients[j]->kind == K_WS && !clients[j]->drop &&
                (ws_stream_wants(&clients[j]->stream) & WS_WANT_WRITE))
                pump(clients[j], 0);

        now = now_ms();
        if (now >= next_tick) {
            for (j = 0; j < nclients; j++) {
                client *cl = clients[j];
                if (cl->kind == K_HTTP && now >= cl->head_deadline) {
                    cl->drop = 1;
                } else if (cl->kind == K_WS) {
                    ws_conn_tick(&cl->conn, now);
                    /* A timeout may have queued a close frame; send it without waiting. */
                    pump(cl, 0);
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
    free(dir_alloc);
    if (lfd >= 0)
        close(lfd);
#ifdef HAVE_OPENSSL
    SSL_CTX_free(tls_ctx);
#endif
    printf("bye\n");
    return 0;
}
