/* wscat - talk to a WebSocket server from the terminal or a pipe, on ws.h.

      build/wscat URL [--binary] [--header "Name: value"]... [--protocol NAME]
                      [--ping-interval MS] [--cafile FILE] [--insecure] [--connect-to ADDR]
      printf 'hello\n' | build/wscat ws://127.0.0.1:8080/ws
      printf 'hello\n' | build/wscat wss://echo.example.com/

   wss:// runs over OpenSSL when built with it (-DHAVE_OPENSSL, see tls_openssl.h): the
   server's certificate is checked against the system's CA store (or --cafile) and
   against the URL's host name, which also goes out as SNI.

   Every line read from stdin goes out as one message (text, or binary with --binary),
   without its newline. Every message received is written to stdout: text as it is
   followed by a newline, binary as "<binary 5 bytes: 01 02 03 04 05>". What happens to
   the connection goes to stderr. At the end of stdin (or on the first Ctrl-C) wscat
   sends close 1000 and waits for the server's close; a second Ctrl-C gives up.

   The usage text (wscat --help) lists the exit statuses. */
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

#ifdef HAVE_OPENSSL
#include "tls_openssl.h"
#endif

#define EXIT_CLEAN 0       /* close handshake done with 1000 or 1005 */
#define EXIT_FAILED 1      /* connect, handshake, protocol, I/O or timeout failure */
#define EXIT_USAGE 2       /* bad arguments, bad URL, wss:// without TLS built in */
#define EXIT_CLOSED_CODE 3 /* close handshake done, but with another code (1001, 4000...) */
#define EXIT_GAVE_UP 130   /* a second Ctrl-C while waiting for the server's close */

#define MAX_MESSAGE ((size_t)16 << 20)
#define MAX_LINE ((size_t)16 << 20)
/* Stop reading stdin while this much is still unsent: a fast pipe into a slow server
   must not grow the queue without bound. */
#define PAUSE_STDIN_AT ((size_t)1 << 20)
#define CONNECT_TIMEOUT_MS 10000
#define HANDSHAKE_TIMEOUT_MS 10000
#define HEX_SHOWN 32       /* bytes of a binary message shown in full */

typedef struct app {
    int fd;
    int rngfd;
    const char *host;        /* the URL's host, for messages */
    ws_opcode send_op;
    ws_conn conn;
    ws_stream stream;
    unsigned char buf[16384];
    /* What happened, kept past the callbacks for the final report and exit status. */
    int opened, got_close, close_sent, failed, io_errno;
    int we_closed_first;
    unsigned close_code;
    ws_result error;
    char text[256];          /* close reason, or a refused handshake's status line */
    /* stdin, split into lines */
    char *line;
    size_t line_len, line_cap;
    unsigned long line_no;   /* lines taken so far, for error messages */
    int stdin_eof;
    int output_broken;       /* stdout went away (wscat ... | head -1) */
#ifdef HAVE_OPENSSL
    int secure;              /* wss://: everything goes through tls */
    tlsio tls;
#endif
} app;

static volatile sig_atomic_t interrupts;

static void on_signal(int sig) {
    (void)sig;
    interrupts++;
}

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Masking keys and Sec-WebSocket-Key must be unpredictable (RFC 6455 §10.3): the OS
   supplies them. */
static int rng_urandom(void *ctx, void *buf, size_t len) {
    app *a = (app *)ctx;
    unsigned char *p = (unsigned char *)buf;
    while (len > 0) {
        ssize_t n = read(a->rngfd, p, len);
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
    app *a = (app *)user;
    ssize_t n;
    do
        n = recv(a->fd, buf, len, 0);
    while (n < 0 && errno == EINTR);
    if (n >= 0)
        return (long)n;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        return WS_WOULD_BLOCK;
    a->io_errno = errno;
    return WS_ERR_IO;
}

static long sock_write(void *user, const void *buf, size_t len) {
    app *a = (app *)user;
    ssize_t n;
    do
        n = send(a->fd, buf, len, 0);
    while (n < 0 && errno == EINTR);
    if (n >= 0)
        return (long)n;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        return WS_WOULD_BLOCK;
    a->io_errno = errno;
    return WS_ERR_IO;
}

static void keep_text(app *a, const void *data, size_t len) {
    if (len >= sizeof a->text)
        len = sizeof a->text - 1;
    if (len)
        memcpy(a->text, data, len);
    a->text[len] = '\0';
}

static void print_message(app *a, const ws_event *ev) {
    if (ev->opcode == WS_OP_TEXT) {
        if (ev->len)
            fwrite(ev->data, 1, ev->len, stdout);
        putchar('\n');
    } else {
        const unsigned char *p = (const unsigned char *)ev->data;
        size_t i, shown = ev->len < HEX_SHOWN ? ev->len : HEX_SHOWN;
        printf("<binary %lu byte%s%s", (unsigned long)ev->len, ev->len == 1 ? "" : "s",
               ev->len ? ":" : "");
        for (i = 0; i < shown; i++)
            printf(" %02x", p[i]);
        printf("%s>\n", shown < ev->len ? " ..." : "");
    }
    /* Each message should be visible (or piped on) the moment it arrives. */
    if (fflush(stdout) != 0 || ferror(stdout))
        a->output_broken = 1;
}

static void on_event(ws_conn *c, const ws_event *ev, void *user) {
    app *a = (app *)user;
    (void)c;
    switch (ev->type) {
    case WS_EV_OPEN: {
        char tls[96] = "";
#ifdef HAVE_OPENSSL
        if (a->secure) {
            tls[0] = ' ', tls[1] = '(';
            tlsio_describe(&a->tls, tls + 2, sizeof tls - 3);
            strcat(tls, ")");
        }
#endif
        a->opened = 1;
        fprintf(stderr, "wscat: connected%s%s%.*s\n", tls, ev->protocol.n ? ", protocol " : "",
                (int)ev->protocol.n, ev->protocol.p);
        break;
    }
    case WS_EV_MESSAGE:
        print_message(a, ev);
        break;
    case WS_EV_CLOSE:
        a->got_close = 1;
        a->we_closed_first = a->close_sent;
        a->close_code = ev->code;
        keep_text(a, ev->data, ev->len);
        break;
    case WS_EV_ERROR:
        /* The first failure is the cause; later ones are its consequences. After the
           server's close, a failure (its socket gone before our echo) changes nothing. */
        if (!a->failed && !a->got_close) {
            a->failed = 1;
            a->error = ev->error;
            a->close_code = ev->code;
            keep_text(a, ev->data, ev->len);
        }
        break;
    default: /* pings are answered by the library, pongs feed its timer */
        break;
    }
}

/* A blocking connect() can hang for minutes on an unreachable host; this waits at most
   CONNECT_TIMEOUT_MS per address. Returns a connected non-blocking socket or -1. */
static int connect_to(const char *host, const char *port) {
    struct addrinfo hints, *res, *ai;
    int fd = -1, err = 0, gai;

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    gai = getaddrinfo(host, port, &hints, &res);
    if (gai != 0) {
        fprintf(stderr, "wscat: cannot resolve %s: %s\n", host, gai_strerror(gai));
        return -1;
    }
    for (ai = res; ai && fd < 0; ai = ai->ai_next) {
        int flags;
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        flags = fcntl(fd, F_GETFL, 0);
        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
            err = errno;
        } else if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            break;
        } else if ((err = errno) == EINPROGRESS) {
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
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        fprintf(stderr, "wscat: cannot connect to %s port %s: %s\n", host, port,
                strerror(err));
    return fd;
}

/* Send every whole line in the buffer (and, at the end of stdin, the unterminated rest).
   Stops early when the output queue is full; the rest waits for the next round. */
static void send_lines(app *a) {
    size_t start = 0;
    while (start < a->line_len) {
        char *nl = (char *)memchr(a->line + start, '\n', a->line_len - start);
        size_t end = nl ? (size_t)(nl - a->line) : a->line_len;
        ws_result r;
        if (!nl && !a->stdin_eof)
            break;
        r = ws_send(&a->conn, a->send_op, a->line + start, end - start);
        if (r == WS_WOULD_BLOCK)
            break;
        a->line_no++;
        if (r == WS_ERR_UTF8)
            fprintf(stderr, "wscat: line %lu is not valid UTF-8, not sent (--binary sends "
                            "bytes as they are)\n", a->line_no);
        else if (r != WS_OK)
            fprintf(stderr, "wscat: line %lu not sent: %s\n", a->line_no, ws_strerror(r));
        start = nl ? end + 1 : end;
    }
    if (start == 0)
        return; /* also keeps a still-NULL buffer away from memmove */
    memmove(a->line, a->line + start, a->line_len - start);
    a->line_len -= start;
}

/* One read() per readiness, so stdin stays blocking: making it non-blocking would
   change the terminal's file description for the shell as well. */
static void read_stdin(app *a) {
    ssize_t n;
    if (a->line_cap - a->line_len < 4096) {
        size_t cap = a->line_cap ? a->line_cap * 2 : 65536;
        char *grown;
        if (cap > MAX_LINE + 4096) {
            static const char why[] = "input line too long";
            fprintf(stderr, "wscat: a line of stdin is longer than %lu bytes\n",
                    (unsigned long)MAX_LINE);
            a->stdin_eof = 1;
            a->line_len = 0;
            a->close_sent = ws_close(&a->conn, WS_CLOSE_TOO_BIG, why, sizeof why - 1) == WS_OK;
            return;
        }
        grown = (char *)realloc(a->line, cap);
        if (!grown) {
            fprintf(stderr, "wscat: out of memory\n");
            a->stdin_eof = 1;
            return;
        }
        a->line = grown;
        a->line_cap = cap;
    }
    do
        n = read(STDIN_FILENO, a->line + a->line_len, a->line_cap - a->line_len);
    while (n < 0 && errno == EINTR && !interrupts);
    if (n > 0) {
        a->line_len += (size_t)n;
    } else if (n == 0 || errno != EINTR) {
        if (n < 0)
            fprintf(stderr, "wscat: reading stdin: %s\n", strerror(errno));
        a->stdin_eof = 1;
    }
}

static int usage(const char *argv0, int status) {
    fprintf(status ? stderr : stdout,
            "usage: %s URL [options]\n"
#ifdef HAVE_OPENSSL
            "  URL                    ws://host[:port]/path or wss://host[:port]/path\n"
            "  --cafile FILE          wss://: trust the CA certificates in FILE (PEM)\n"
            "                         instead of the system's\n"
            "  --insecure             wss://: do not check the server's certificate at all\n"
            "                         (the connection is then open to anyone in between)\n"
#else
            "  URL                    ws://host[:port]/path (wss:// needs wscat built with\n"
            "                         OpenSSL: apt-get install libssl-dev pkg-config; make)\n"
#endif
            "  --connect-to ADDR      connect to ADDR (name or address) instead of the URL's\n"
            "                         host, which still goes in Host, SNI and the\n"
            "                         certificate check\n"
            "  --binary               send each stdin line as a binary message (default: text)\n"
            "  --header \"Name: value\" add a header to the handshake request (repeatable)\n"
            "  --protocol NAME        offer a subprotocol (a comma list offers several)\n"
            "  --ping-interval MS     ping every MS ms; no pong within MS ms fails\n"
            "Lines from stdin go out without their newline; received text is printed as\n"
            "it is, binary as \"<binary N bytes: 01 02 ...>\". At the end of stdin (or\n"
            "Ctrl-C) wscat sends close 1000 and waits for the server's close.\n"
            "Exit status:\n"
            "  0    closed cleanly with code 1000, or with no code (1005)\n"
            "  1    failed: resolve, connect, TLS (a certificate not trusted, expired or\n"
            "       for another name), handshake refused or invalid, protocol error,\n"
            "       connection dropped without a close, ping or close timeout\n"
            "  2    bad arguments, a malformed URL, or wss:// without TLS built in\n"
            "  3    closed cleanly but with another code (1001 going away, 4000...);\n"
            "       the code and reason are on stderr\n"
            "  130  a second Ctrl-C while waiting for the server's close\n",
            argv0);
    return status;
}

/* "Name: value" must become exactly one header line. */
static int header_ok(const char *h) {
    const char *colon = strchr(h, ':');
    return colon && colon != h && !strpbrk(h, "\r\n");
}

/* The last word on stderr, and the exit status it means. */
static int report(app *a, int status) {
    if (status >= 0)
        return status;
#ifdef HAVE_OPENSSL
    if (a->failed && a->secure && a->error == WS_ERR_IO && tlsio_error(&a->tls)[0]) {
        const char *why = tlsio_error(&a->tls);
        fprintf(stderr, "wscat: TLS with %s failed: %s%s\n", a->host, why,
                strncmp(why, "certificate verify failed", 25) == 0
                    ? " (--cafile FILE trusts another CA; --insecure skips the check)"
                    : "");
        return EXIT_FAILED;
    }
#endif
    if (a->failed && !a->opened) {
        if (a->error == WS_ERR_HS_STATUS)
            fprintf(stderr, "wscat: handshake refused: %s\n", a->text);
        else
            fprintf(stderr, "wscat: handshake failed: %s%s%s\n", ws_strerror(a->error),
                    a->text[0] ? ": " : "", a->text);
        return EXIT_FAILED;
    }
    if (a->failed && !a->got_close) { /* after the server's close, a lost echo is moot */
        if (a->error == WS_ERR_IO && a->io_errno)
            fprintf(stderr, "wscat: connection lost: %s\n", strerror(a->io_errno));
        else
            fprintf(stderr, "wscat: %s (close code %u)\n", ws_strerror(a->error),
                    a->close_code);
        return EXIT_FAILED;
    }
    if (!a->got_close) {
        fprintf(stderr, "wscat: connection ended without a close handshake\n");
        return EXIT_FAILED;
    }
    fprintf(stderr, "wscat: %s: %u%s%s%s\n",
            a->we_closed_first ? "closed" : "server closed the connection", a->close_code,
            a->text[0] ? " \"" : "", a->text, a->text[0] ? "\"" : "");
    return a->close_code == WS_CLOSE_NORMAL || a->close_code == WS_CLOSE_NO_STATUS
               ? EXIT_CLEAN
               : EXIT_CLOSED_CODE;
}

int main(int argc, char **argv) {
    const char *url = NULL, *protocol = NULL, *connect_host = NULL;
    const char *cafile = NULL;
    int insecure = 0;
    char host[256], port[8], *headers = NULL;
    size_t headers_len = 0;
    unsigned long ping_ms = 0;
    ws_url u;
    ws_config cfg;
    ws_client_options opts;
    ws_io io;
    ws_result r;
    struct sigaction sa;
    app *a;
    int i, status = -1, handled_interrupts = 0;
    uint64_t open_by, next_tick;
    unsigned tick_ms;

    for (i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            return usage(argv[0], 0);
        } else if (strcmp(arg, "--binary") == 0) {
            continue;
        } else if (strcmp(arg, "--protocol") == 0 && i + 1 < argc) {
            protocol = argv[++i];
        } else if (strcmp(arg, "--cafile") == 0 && i + 1 < argc) {
            cafile = argv[++i];
        } else if (strcmp(arg, "--insecure") == 0) {
            insecure = 1;
        } else if (strcmp(arg, "--connect-to") == 0 && i + 1 < argc) {
            connect_host = argv[++i];
        } else if (strcmp(arg, "--ping-interval") == 0 && i + 1 < argc) {
            char *end;
            ping_ms = strtoul(argv[++i], &end, 10);
            if (*argv[i] == '\0' || *end != '\0' || ping_ms == 0 || ping_ms > 86400000ul) {
                fprintf(stderr, "wscat: bad --ping-interval '%s' (milliseconds, > 0)\n",
                        argv[i]);
                return EXIT_USAGE;
            }
        } else if (strcmp(arg, "--header") == 0 && i + 1 < argc) {
            const char *h = argv[++i];
            size_t n = strlen(h);
            char *grown;
            if (!header_ok(h)) {
                fprintf(stderr, "wscat: --header wants \"Name: value\" on one line, got '%s'\n",
                        h);
                return EXIT_USAGE;
            }
            grown = (char *)realloc(headers, headers_len + n + 3);
            if (!grown)
                return EXIT_FAILED;
            headers = grown;
            memcpy(headers + headers_len, h, n);
            memcpy(headers + headers_len + n, "\r\n", 3);
            headers_len += n + 2;
        } else if (!url && arg[0] != '-') {
            url = arg;
        } else {
            return usage(argv[0], EXIT_USAGE);
        }
    }
    if (!url)
        return usage(argv[0], EXIT_USAGE);

    if (ws_url_parse(url, strlen(url), &u) != WS_OK) {
        fprintf(stderr, "wscat: not a ws:// URL: %s\n", url);
        return EXIT_USAGE;
    }
#ifndef HAVE_OPENSSL
    if (u.secure || cafile || insecure) {
        fprintf(stderr, "wscat: wss:// needs TLS, and this wscat was built without OpenSSL "
                        "(apt-get install libssl-dev pkg-config, then make clean all)\n");
        return EXIT_USAGE;
    }
#endif
    if (u.host.n >= sizeof host) {
        fprintf(stderr, "wscat: host name too long\n");
        return EXIT_USAGE;
    }
    memcpy(host, u.host.p, u.host.n);
    host[u.host.n] = '\0';
    snprintf(port, sizeof port, "%u", u.port);

    /* Started with stdin (or stdout) closed, the next open() would take its number and
       wscat would read its own random source or socket as input. */
    for (i = 0; i <= 2; i++)
        if (fcntl(i, F_GETFD) < 0 && errno == EBADF &&
            open("/dev/null", i == 0 ? O_RDONLY : O_WRONLY) != i) {
            return EXIT_FAILED;
        }

    /* No SA_RESTART: Ctrl-C must interrupt poll() and read() to start the close. */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* A server (or a stdout reader) that vanishes mid-write must cost an EPIPE. */
    signal(SIGPIPE, SIG_IGN);

    a = (app *)calloc(1, sizeof *a); /* buffers included, too big for some stacks */
    if (!a) {
        fprintf(stderr, "wscat: out of memory\n");
        return EXIT_FAILED;
    }
    a->send_op = WS_OP_TEXT;
    for (i = 1; i < argc; i++)
        if (strcmp(argv[i], "--binary") == 0)
            a->send_op = WS_OP_BINARY;
    a->rngfd = open("/dev/urandom", O_RDONLY);
    if (a->rngfd < 0) {
        perror("wscat: /dev/urandom");
        free(a);
        free(headers);
        return EXIT_FAILED;
    }
    a->host = host;
    a->fd = connect_to(connect_host ? connect_host : host, port);
    if (a->fd < 0) {
        close(a->rngfd);
        free(a);
        free(headers);
        return EXIT_FAILED;
    }
#ifdef HAVE_OPENSSL
    if (u.secure) {
        /* The WebSocket handshake goes out through SSL_write, which runs the TLS
           handshake first: nothing more to start here. */
        char err[256];
        SSL_CTX *ctx = tlsio_client_ctx(cafile, insecure, err, sizeof err);
        if (!ctx || tlsio_client(&a->tls, ctx, a->fd, host) < 0) {
            fprintf(stderr, "wscat: %s\n", ctx ? tlsio_error(&a->tls) : err);
            SSL_CTX_free(ctx);
            close(a->fd);
            close(a->rngfd);
            free(a);
            free(headers);
            return EXIT_FAILED;
        }
        SSL_CTX_free(ctx); /* the connection keeps its own reference */
        a->secure = 1;
    }
#endif

    ws_config_init(&cfg, WS_ROLE_CLIENT);
    cfg.on_event = on_event;
    cfg.user = a;
    cfg.rng = rng_urandom;
    cfg.rng_ctx = a;
    cfg.max_message = MAX_MESSAGE;
    cfg.ping_interval_ms = (uint32_t)ping_ms;
    r = ws_conn_init(&a->conn, &cfg);
    if (r == WS_OK) {
        memset(&opts, 0, sizeof opts);
        opts.url = url;
        opts.protocols = protocol;
        opts.extra_headers = headers;
        ws_conn_tick(&a->conn, now_ms()); /* timers count from now, not from zero */
        r = ws_client_start(&a->conn, &opts);
    }
    free(headers);
    if (r != WS_OK) {
        fprintf(stderr, "wscat: cannot start the handshake: %s\n", ws_strerror(r));
        ws_conn_free(&a->conn);
        close(a->fd);
        close(a->rngfd);
        free(a);
        return r == WS_ERR_ARG ? EXIT_USAGE : EXIT_FAILED;
    }
    io.read = sock_read;
    io.write = sock_write;
    io.user = a;
#ifdef HAVE_OPENSSL
    if (a->secure) {
        io.read = tlsio_read;
        io.write = tlsio_write;
        io.user = &a->tls;
    }
#endif
    ws_stream_init(&a->stream, &a->conn, &io, a->buf, sizeof a->buf);

    /* Pings need a finer clock than close timeouts do. */
    tick_ms = ping_ms && ping_ms < 1000 ? (unsigned)(ping_ms / 4 + 1) : 250;
    open_by = now_ms() + HANDSHAKE_TIMEOUT_MS;
    next_tick = now_ms() + tick_ms;
    while (status < 0) {
        struct pollfd p[2];
        nfds_t np = 1;
        unsigned wants;
        int open, n, pending = 0;
        uint64_t now;

        if (interrupts > handled_interrupts) {
            handled_interrupts = interrupts;
            if (handled_interrupts > 1 || !a->opened) {
                fprintf(stderr, "wscat: interrupted\n");
                status = a->opened ? EXIT_GAVE_UP : EXIT_FAILED;
                break;
            }
            a->stdin_eof = 1;
            a->line_len = 0; /* what was typed but not yet sent stays unsent */
        }

        /* Failures come back as WS_EV_ERROR; ws_stream_wants then says what is left. */
        (void)ws_stream_pump(&a->stream);

        open = ws_conn_state(&a->conn) == WS_STATE_OPEN && !a->close_sent;
        if (open) {
            send_lines(a);
            if ((a->stdin_eof && a->line_len == 0) || a->output_broken) {
                /* Done talking: start the close handshake and wait for the answer. */
                if (a->output_broken)
                    r = ws_close(&a->conn, WS_CLOSE_GOING_AWAY, "output closed", 13);
                else
                    r = ws_close(&a->conn, WS_CLOSE_NORMAL, NULL, 0);
                a->close_sent = r == WS_OK;
                open = 0;
            }
            if (ws_conn_queued(&a->conn) > 0)
                (void)ws_stream_pump(&a->stream);
        }

        wants = ws_stream_wants(&a->stream);
        if (wants == 0)
            break; /* the connection is finished with the socket */

        p[0].fd = a->fd;
#ifdef HAVE_OPENSSL
        if (a->secure) {
            wants = tlsio_wants(&a->tls, wants); /* a TLS read may need room to write */
            pending = tlsio_pending(&a->tls); /* input already decrypted: no waiting */
        }
#endif
        p[0].events = (short)(((wants & WS_WANT_READ) ? POLLIN : 0) |
                              ((wants & WS_WANT_WRITE) ? POLLOUT : 0));
        p[0].revents = 0;
        if (open && !a->stdin_eof && ws_conn_queued(&a->conn) < PAUSE_STDIN_AT) {
            p[1].fd = STDIN_FILENO;
            p[1].events = POLLIN;
            p[1].revents = 0;
            np = 2;
        }
        now = now_ms();
        n = poll(p, np, next_tick > now && !pending ? (int)(next_tick - now) : 0);
        if (n < 0 && errno != EINTR) {
            perror("wscat: poll");
            status = EXIT_FAILED;
            break;
        }
        if (n > 0 && np == 2 && (p[1].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL))) {
            if (p[1].revents & POLLNVAL)
                a->stdin_eof = 1; /* no stdin at all (closed): nothing to send */
            else
                read_stdin(a);
        }

        now = now_ms();
        if (!a->opened && !a->failed && now >= open_by) {
            fprintf(stderr, "wscat: no handshake answer within %d s\n",
                    HANDSHAKE_TIMEOUT_MS / 1000);
            status = EXIT_FAILED;
        }
        if (now >= next_tick) {
            ws_conn_tick(&a->conn, now); /* pings, pong and close timeouts */
            next_tick = now + tick_ms;
        }
    }

    status = report(a, status);
#ifdef HAVE_OPENSSL
    if (a->secure) {
        /* close_notify, so the server sees the end of TLS as clean; one short wait if
           the socket is full, no more (the WebSocket is already done). */
        if (tlsio_shutdown(&a->tls) == 0) {
            struct pollfd p;
            p.fd = a->fd;
            p.events = (tlsio_wants(&a->tls, WS_WANT_WRITE) & WS_WANT_READ) ? POLLIN : POLLOUT;
            if (poll(&p, 1, 1000) == 1)
                (void)tlsio_shutdown(&a->tls);
        }
        tlsio_free(&a->tls);
    }
#endif
    close(a->fd);
    close(a->rngfd);
    ws_conn_free(&a->conn);
    free(a->line);
    free(a);
    return status;
}
