/* Interop peer on ws.h itself, for ws.h against ws.h with permessage-deflate:

      wsh_peer client ws://127.0.0.1:PORT/PATH
      wsh_peer await-close ws://...   (our server closes first: "close:ours-first")
      wsh_peer server PORT            (0: a free port; prints "listening on 127.0.0.1:P")

   Drives the plan in plan.h over one connection, like the other peers: echo_server and
   echo_client only echo, so ws.h needs a driver of its own to talk to itself. The
   environment variable WSH_PEER_DEFLATE turns permessage-deflate on: "on" for the
   defaults, or "S,C,SNCT,CNCT" (server and client max window bits, 8..15 or 0 for none;
   the two no_context_takeover flags, 0 or 1): a client offers them, a server accepts
   within them. Then it also reports pmd:agreed (WS_EV_OPEN's deflate, formatted as the
   header states it) and pmd:rsv1 (our side's messages whose first frame had RSV1,
   counted in the read callback before ws.h sees the bytes). */
#define WS_IMPLEMENTATION
#include "../../../ws.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "plan.h"

static plan the_plan;
static int is_client, await_close, ours_first = -1, opened, rngfd = -1;
static int fd = -1;
static char agreed[160];
static int pmd_agreed;

/* Our side's frames as they arrive (RFC 6455 §5.2), for pmd:rsv1. */
static unsigned char hdr[14];
static size_t hdr_len;
static uint64_t skip;
static int rx_messages, rx_rsv1, rx_32, rx_4k;

static void count_frames(const unsigned char *p, size_t n) {
    while (n > 0) {
        size_t need;
        if (skip > 0) {
            size_t k = skip < n ? (size_t)skip : n;
            skip -= k, p += k, n -= k;
            continue;
        }
        hdr[hdr_len++] = *p++, n--;
        if (hdr_len < 2)
            continue;
        need = 2 + ((hdr[1] & 127) == 126 ? 2 : (hdr[1] & 127) == 127 ? 8 : 0) + (hdr[1] & 128 ? 4 : 0);
        if (hdr_len < need)
            continue;
        if ((hdr[1] & 127) == 126)
            skip = (uint64_t)hdr[2] << 8 | hdr[3];
        else if ((hdr[1] & 127) == 127) {
            size_t i;
            for (skip = 0, i = 2; i < 10; i++)
                skip = skip << 8 | hdr[i];
        } else
            skip = hdr[1] & 127;
        if ((hdr[0] & 15) == 1 || (hdr[0] & 15) == 2) {
            rx_messages++;
            rx_rsv1 += (hdr[0] & 0x40) != 0;
        }
        hdr_len = 0;
    }
}

static long sock_read(void *user, void *buf, size_t len) {
    ssize_t n = recv(fd, buf, len, 0);
    (void)user;
    if (n > 0 && opened)
        count_frames((const unsigned char *)buf, (size_t)n);
    if (n >= 0)
        return (long)n;
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? WS_WOULD_BLOCK : WS_ERR_IO;
}

static long sock_write(void *user, const void *buf, size_t len) {
    ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
    (void)user;
    if (n >= 0)
        return (long)n;
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? WS_WOULD_BLOCK : WS_ERR_IO;
}

static int rng(void *ctx, void *buf, size_t len) {
    (void)ctx;
    return read(rngfd, buf, len) == (ssize_t)len ? 0 : -1;
}

static void on_event(ws_conn *c, const ws_event *ev, void *user) {
    char proto[64];
    (void)user;
    switch (ev->type) {
    case WS_EV_REQUEST:
        ws_accept(c, ws_request_offers(ev->request, "chat") ? "chat" : NULL, NULL);
        break;
    case WS_EV_OPEN:
        opened = 1;
        if (ev->deflate) {
            int n = ws_deflate_format(agreed, sizeof agreed - 1, ev->deflate);
            agreed[n > 0 ? n : 0] = '\0';
            pmd_agreed = 1;
        }
        if (await_close) {
            plan_ours_first_open();
            break;
        }
        snprintf(proto, sizeof proto, "%.*s", (int)ev->protocol.n, ev->protocol.p);
        plan_opened(&the_plan, proto);
        break;
    case WS_EV_MESSAGE:
        rx_32 += ev->len >= 32;
        rx_4k += ev->len >= 4096;
        plan_message(&the_plan, ev->opcode == WS_OP_BINARY, ev->data, ev->len);
        break;
    case WS_EV_PONG:
        plan_pong(&the_plan, ev->data, ev->len);
        break;
    case WS_EV_CLOSE:
        if (await_close)
            ours_first = plan_ours_first_closed(ev->code, (const char *)ev->data, ev->len);
        else
            plan_closed(&the_plan, 1, ev->code, 1, "");
        break;
    case WS_EV_ERROR: {
        char why[200];
        snprintf(why, sizeof why, "%s (close code %u)", ws_strerror(ev->error), ev->code);
        if (await_close && ours_first < 0)
            ours_first = 0, plan_report("close:ours-first", 0, "%s", why);
        else
            plan_fail(&the_plan, why);
        break;
    }
    default:
        break;
    }
}

/* Hand the plan's next steps to ws.h while it takes them; 1 when the queue is full. */
static int drive(ws_conn *c) {
    plan_step *s;
    while (!await_close && ws_conn_state(c) == WS_STATE_OPEN && (s = plan_next(&the_plan))) {
        ws_result r = WS_OK;
        switch (s->kind) {
        case PLAN_MESSAGE:
            r = ws_send(c, s->binary ? WS_OP_BINARY : WS_OP_TEXT, s->data, s->len);
            break;
        case PLAN_FRAME:
            r = ws_send_fragment(c, WS_OP_TEXT, s->data, s->len, s->fin);
            break;
        case PLAN_PING:
            r = ws_ping(c, s->data, s->len);
            break;
        case PLAN_CLOSE:
            if (pmd_agreed || getenv("WSH_PEER_DEFLATE")) {
                plan_report("pmd:agreed", pmd_agreed, "header \"%s\"", agreed);
                plan_report("pmd:rsv1", rx_rsv1 >= rx_4k && rx_rsv1 <= rx_32,
                            "%d of %d messages from our side had RSV1 (want %d to %d)", rx_rsv1,
                            rx_messages, rx_4k, rx_32);
            }
            r = ws_close(c, the_plan.close_code, the_plan.close_reason, strlen(the_plan.close_reason));
            break;
        }
        if (r == WS_WOULD_BLOCK)
            return 1; /* the queue is full: again once it drained */
        if (r != WS_OK) {
            char why[120];
            snprintf(why, sizeof why, "sending: %s", ws_strerror(r));
            plan_fail(&the_plan, why);
            return 0;
        }
        plan_sent(&the_plan);
    }
    return 0;
}

static int deflate_config(ws_deflate_config *d) {
    const char *v = getenv("WSH_PEER_DEFLATE");
    unsigned s = 0, cb = 0, sn = 0, cn = 0;
    memset(d, 0, sizeof *d);
    if (!v)
        return 0;
    d->mode = WS_PMD_NEGOTIATE;
    d->threshold = 1; /* every message that is not empty */
    if (strcmp(v, "on") == 0)
        return 0;
    if (sscanf(v, "%u,%u,%u,%u", &s, &cb, &sn, &cn) != 4)
        return -1;
    d->params.server_max_window_bits = (unsigned char)s;
    d->params.client_max_window_bits = (unsigned char)cb;
    d->params.server_no_context_takeover = (unsigned char)sn;
    d->params.client_no_context_takeover = (unsigned char)cn;
    return 0;
}

int main(int argc, char **argv) {
    static unsigned char buf[65536];
    ws_config cfg;
    ws_conn conn;
    ws_stream stream;
    ws_io io;
    int lfd = -1, idle = 0;

    if (argc != 3 || (strcmp(argv[1], "client") != 0 && strcmp(argv[1], "await-close") != 0 &&
                      strcmp(argv[1], "server") != 0)) {
        fprintf(stderr, "usage: wsh_peer client|await-close URL | wsh_peer server PORT\n");
        return 2;
    }
    await_close = strcmp(argv[1], "await-close") == 0;
    is_client = await_close || strcmp(argv[1], "client") == 0;
    alarm(90); /* whatever happens, this process ends */
    signal(SIGPIPE, SIG_IGN);
    plan_init(&the_plan, is_client, 0,
              PLAN_CAN_FRAMES | PLAN_CAN_PING_BETWEEN | PLAN_CAN_SPLIT_UTF8 | PLAN_CAN_SEE_PONGS);
    rngfd = open("/dev/urandom", O_RDONLY);

    ws_config_init(&cfg, is_client ? WS_ROLE_CLIENT : WS_ROLE_SERVER);
    cfg.on_event = on_event;
    cfg.rng = rng;
    cfg.max_message = (size_t)8 << 20;
    cfg.max_queue = (size_t)64 << 20;
    if (deflate_config(&cfg.deflate) < 0) {
        fprintf(stderr, "wsh_peer: WSH_PEER_DEFLATE is \"on\" or \"S,C,SNCT,CNCT\"\n");
        return 2;
    }

    if (is_client) {
        struct sockaddr_in a;
        ws_url u;
        memset(&a, 0, sizeof a);
        if (ws_url_parse(argv[2], strlen(argv[2]), &u) != WS_OK || u.host.n != 9 ||
            memcmp(u.host.p, "127.0.0.1", 9) != 0) {
            fprintf(stderr, "wsh_peer: a ws://127.0.0.1:PORT/ URL only\n");
            return 2;
        }
        a.sin_family = AF_INET;
        a.sin_port = htons((uint16_t)u.port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
            plan_fail(&the_plan, "cannot connect");
            return 1;
        }
    } else {
        struct sockaddr_in a;
        socklen_t alen = sizeof a;
        int one = 1;
        memset(&a, 0, sizeof a);
        a.sin_family = AF_INET;
        a.sin_port = htons((uint16_t)atoi(argv[2]));
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        lfd = socket(AF_INET, SOCK_STREAM, 0);
        setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 1) < 0 ||
            getsockname(lfd, (struct sockaddr *)&a, &alen) < 0) {
            fprintf(stderr, "wsh_peer: cannot listen\n");
            return 1;
        }
        printf("listening on 127.0.0.1:%u\n", (unsigned)ntohs(a.sin_port));
        fflush(stdout);
        fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            return 1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK);

    if (ws_conn_init(&conn, &cfg) != WS_OK) {
        fprintf(stderr, "wsh_peer: ws_conn_init failed\n");
        return 1;
    }
    if (is_client) {
        ws_client_options o;
        memset(&o, 0, sizeof o);
        o.url = argv[2];
        o.protocols = await_close ? NULL : "chat, superchat";
        if (ws_client_start(&conn, &o) != WS_OK) {
            plan_fail(&the_plan, "ws_client_start failed");
            return 1;
        }
    }
    io.read = sock_read;
    io.write = sock_write;
    io.user = NULL;
    ws_stream_init(&stream, &conn, &io, buf, sizeof buf);
    for (;;) {
        struct pollfd p;
        unsigned want;
        int full;
        if (ws_stream_pump(&stream) == WS_ERR_IO)
            break;
        full = drive(&conn);
        if (ws_conn_queued(&conn) > 0 && ws_stream_pump(&stream) == WS_ERR_IO)
            break;
        /* That pump may have read the reply the plan was waiting for: go on at once. */
        if (!full && !await_close && ws_conn_state(&conn) == WS_STATE_OPEN && plan_next(&the_plan))
            continue;
        want = ws_stream_wants(&stream);
        if (want == 0)
            break;
        p.fd = fd;
        p.events = (short)(((want & WS_WANT_READ) ? POLLIN : 0) | ((want & WS_WANT_WRITE) ? POLLOUT : 0));
        if (poll(&p, 1, 1000) == 0 && ++idle >= 20) {
            plan_fail(&the_plan, "no traffic for 20 s");
            break;
        } else if (p.revents) {
            idle = 0;
        }
    }
    if (!await_close && !the_plan.finished)
        plan_fail(&the_plan, "connection ended");
    ws_stream_free(&stream);
    ws_conn_free(&conn);
    close(fd);
    if (lfd >= 0)
        close(lfd);
    if (await_close)
        return ours_first == 1 ? 0 : 1;
    return the_plan.failed ? 1 : 0;
}
