/* Interop peer on libwebsockets (Debian libwebsockets-dev):

      lws_peer client ws://127.0.0.1:PORT/PATH
      lws_peer await-close ws://...   (our server closes first: "close:ours-first")
      lws_peer server PORT            (0: a free port; prints "listening on 127.0.0.1:P")

   Drives the plan in plan.h over one connection. As a server it serves one client with
   the protocols "chat" and "superchat" (lws picks the first of the client's offers that
   it has, so "chat" from "chat, superchat"). lws sends whatever it is asked to from the
   WRITEABLE callback, so each step (a message, a frame, a ping) is one callback. lws
   writes any frame and shows every pong, so it runs every optional check of the plan.

   lws does not pass the peer's answer to our close frame to the application (it only
   closes the connection), so "close:peer" checks that the close finished well before
   lws's own close-ack timeout; the orchestrator checks the code on our side.

   LWS_PEER_PMD=1 turns on lws's permessage-deflate. lws 4.1.6 then has two bugs of its
   own that the plan steps around: its client calls LWS_CALLBACK_CLIENT_RECEIVE_PONG for
   the same pong over and over (libwebsockets issue 2749), so the client sends no ping;
   its server fails an assertion in extension-permessage-deflate.c ("want to trim out
   length 0") sending an empty message after a compressed one, so the server sends no
   empty message; and both roles mangle compressed messages that arrive back to back (the
   client hands a 200-byte binary message to the application as 2 bytes of text, the
   server fails the assertion `priv->rx.avail_out`), so neither sends a burst. Node's
   `ws` and Python's `websockets` take the same bytes from our side without trouble. */
#include <libwebsockets.h>

#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "plan.h"

static plan the_plan;
static int is_client, await_close, stop;
static int ours_first = -1; /* await-close: 1 or 0 once the close arrived */
static unsigned char *rx;
static size_t rx_len, rx_cap;
static char protocol[64];
static struct timespec close_started;
/* LWS_PEER_PMD set: lws's permessage-deflate extension on, and the pmd checks: our
   side's messages counted as they arrive, and those whose first frame had RSV1. */
static int pmd, rx_messages, rx_rsv1, rx_32, rx_4k;
static char agreed[256];

static long ms_since(const struct timespec *t) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - t->tv_sec) * 1000 + (now.tv_nsec - t->tv_nsec) / 1000000;
}

static void rx_append(const void *in, size_t len) {
    if (rx_len + len > rx_cap) {
        rx_cap = (rx_len + len) * 2;
        rx = (unsigned char *)realloc(rx, rx_cap);
        if (!rx) {
            fprintf(stderr, "lws_peer: out of memory\n");
            exit(1);
        }
    }
    if (len)
        memcpy(rx + rx_len, in, len);
    rx_len += len;
}

/* lws_write masks a client's payload in place, so it gets a copy (with LWS_PRE bytes
   of room before it) and the plan keeps the original to compare the echo with. */
static int send_copy(struct lws *wsi, const unsigned char *data, size_t len, int flags) {
    static unsigned char *tx;
    static size_t tx_cap;
    if (!tx || len > tx_cap) {
        free(tx);
        tx_cap = len;
        tx = (unsigned char *)malloc(LWS_PRE + tx_cap);
        if (!tx) {
            fprintf(stderr, "lws_peer: out of memory\n");
            exit(1);
        }
    }
    if (len)
        memcpy(tx + LWS_PRE, data, len);
    return lws_write(wsi, tx + LWS_PRE, len, (enum lws_write_protocol)flags) < 0 ? -1 : 0;
}

/* Send what the plan says next; returns -1 to have lws close the connection. */
static int writeable(struct lws *wsi) {
    plan_step *s = plan_next(&the_plan);
    int flags, r = 0;
    if (!s)
        return 0;
    switch (s->kind) {
    case PLAN_MESSAGE:
        r = send_copy(wsi, s->data, s->len, s->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
        break;
    case PLAN_FRAME:
        flags = s->first ? LWS_WRITE_TEXT : LWS_WRITE_CONTINUATION;
        if (!s->fin)
            flags |= LWS_WRITE_NO_FIN;
        r = send_copy(wsi, s->data, s->len, flags);
        break;
    case PLAN_PING:
        r = send_copy(wsi, s->data, s->len, LWS_WRITE_PING);
        break;
    case PLAN_CLOSE:
        if (pmd) {
            /* Our side compresses every message of 32 bytes or more, except maybe
               one that would not get smaller without context takeover (see plan.js
               rsv1Check). lws shows the agreed parameters only to a client. */
            if (is_client)
                plan_report("pmd:agreed", strncmp(agreed, "permessage-deflate", 18) == 0,
                            "header \"%s\"", agreed);
            plan_report("pmd:rsv1", rx_rsv1 >= rx_4k && rx_rsv1 <= rx_32,
                        "%d of %d messages from our side had RSV1 (want %d to %d)", rx_rsv1,
                        rx_messages, rx_4k, rx_32);
        }
        clock_gettime(CLOCK_MONOTONIC, &close_started);
        lws_close_reason(wsi, (enum lws_close_status)the_plan.close_code,
                         (unsigned char *)the_plan.close_reason, strlen(the_plan.close_reason));
        plan_sent(&the_plan);
        return -1;
    }
    plan_sent(&the_plan);
    /* One write per WRITEABLE callback (lws holds back the next one until a big write
       has gone out); the next step, if it need not wait for replies, in the next. */
    if (r == 0 && plan_next(&the_plan))
        lws_callback_on_writable(wsi);
    return r;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len) {
    char detail[160];
    (void)user;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_FILTER_PRE_ESTABLISH: /* the response headers are still here */
        if (lws_hdr_copy(wsi, protocol, sizeof protocol, WSI_TOKEN_PROTOCOL) < 0)
            protocol[0] = '\0';
        if (lws_hdr_copy(wsi, agreed, sizeof agreed, WSI_TOKEN_EXTENSIONS) < 0)
            agreed[0] = '\0';
        break;
    case LWS_CALLBACK_ESTABLISHED: {
        /* lws binds a client that offered nothing to protocols[0] too: only a request
           that offered subprotocols got one. */
        char offered[128];
        int n = lws_hdr_copy(wsi, offered, sizeof offered, WSI_TOKEN_PROTOCOL);
        snprintf(protocol, sizeof protocol, "%s", n > 0 ? lws_get_protocol(wsi)->name : "");
    }
        /* fall through */
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        if (await_close) {
            plan_ours_first_open();
            break;
        }
        plan_opened(&the_plan, protocol);
        lws_callback_on_writable(wsi);
        break;
    case LWS_CALLBACK_RECEIVE:
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (lws_is_first_fragment(wsi)) {
            rx_len = 0;
            rx_messages++;
            rx_rsv1 += (lws_get_reserved_bits(wsi) & 0x40) != 0; /* RSV1 as in byte 0 */
        }
        rx_append(in, len);
        if (lws_is_final_fragment(wsi)) {
            rx_32 += rx_len >= 32;
            rx_4k += rx_len >= 4096;
            plan_message(&the_plan, lws_frame_is_binary(wsi), rx, rx_len);
            lws_callback_on_writable(wsi);
        }
        break;
    case LWS_CALLBACK_RECEIVE_PONG:
    case LWS_CALLBACK_CLIENT_RECEIVE_PONG:
        plan_pong(&the_plan, in, len);
        lws_callback_on_writable(wsi);
        break;
    case LWS_CALLBACK_SERVER_WRITEABLE:
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return writeable(wsi);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE: {
        const unsigned char *p = (const unsigned char *)in;
        if (await_close) {
            ours_first = plan_ours_first_closed(len >= 2 ? (p[0] << 8) | p[1] : 1005,
                                                (const char *)p + 2, len >= 2 ? len - 2 : 0);
            break;
        }
        snprintf(detail, sizeof detail, "our side sent close %u", len >= 2 ? (p[0] << 8) | p[1] : 1005);
        plan_fail(&the_plan, detail);
        break;
    }
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        snprintf(detail, sizeof detail, "connection error: %s", in ? (const char *)in : "?");
        plan_fail(&the_plan, detail);
        stop = 1;
        break;
    case LWS_CALLBACK_CLOSED:
    case LWS_CALLBACK_CLIENT_CLOSED:
        if (await_close) {
            if (ours_first < 0)
                ours_first = 0, plan_report("close:ours-first", 0, "closed without a close frame");
        } else if (close_started.tv_sec || close_started.tv_nsec) {
            long ms = ms_since(&close_started);
            snprintf(detail, sizeof detail,
                     "close handshake took %ld ms (lws does not show the echoed code)", ms);
            plan_closed(&the_plan, 0, 0, ms < 2000, detail);
        } else {
            plan_closed(&the_plan, 0, 0, 0, "closed");
        }
        stop = 1;
        break;
    default:
        break;
    }
    return 0;
}

static const struct lws_extension extensions[] = {
    {"permessage-deflate", lws_extension_callback_pm_deflate,
     "permessage-deflate; client_no_context_takeover; client_max_window_bits"},
    {NULL, NULL, NULL},
};

static const struct lws_protocols protocols[] = {
    {"chat", callback, 0, 65536, 0, NULL, 0},
    {"superchat", callback, 0, 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

int main(int argc, char **argv) {
    struct lws_context_creation_info info;
    struct lws_context *ctx;
    char url[512];

    if (argc != 3 || (strcmp(argv[1], "client") != 0 && strcmp(argv[1], "await-close") != 0 &&
                      strcmp(argv[1], "server") != 0)) {
        fprintf(stderr, "usage: lws_peer client|await-close URL | lws_peer server PORT\n");
        return 2;
    }
    await_close = strcmp(argv[1], "await-close") == 0;
    is_client = await_close || strcmp(argv[1], "client") == 0;
    alarm(90); /* whatever happens, this process ends */
    lws_set_log_level(LLL_ERR | LLL_WARN, NULL);
    pmd = getenv("LWS_PEER_PMD") != NULL;
    plan_init(&the_plan, is_client, LWS_PRE,
              PLAN_CAN_FRAMES | PLAN_CAN_PING_BETWEEN | PLAN_CAN_SPLIT_UTF8 | PLAN_CAN_SEE_PONGS |
                  (pmd ? PLAN_NO_BURST | (is_client ? PLAN_NO_PING : PLAN_NO_EMPTY) : 0));

    memset(&info, 0, sizeof info);
    info.protocols = protocols;
    if (pmd)
        info.extensions = extensions;
    if (is_client) {
        info.port = CONTEXT_PORT_NO_LISTEN;
        info.options = LWS_SERVER_OPTION_VALIDATE_UTF8;
    } else {
        /* Not LWS_SERVER_OPTION_VALIDATE_UTF8 here: lws 4.1.6's server side then also
           checks a pong's payload as UTF-8 after a text message and fails the valid pong
           to our "interop ping \x00\x01\xfe\xff" with 1007 "bad utf8". The byte-exact
           comparison of every echo checks our text anyway. */
        info.port = atoi(argv[2]);
        info.iface = "127.0.0.1";
    }
    ctx = lws_create_context(&info);
    if (!ctx) {
        fprintf(stderr, "lws_peer: cannot create the lws context\n");
        return 1;
    }

    if (is_client) {
        struct lws_client_connect_info ci;
        const char *scheme, *address, *path;
        char fullpath[512];
        int port;
        snprintf(url, sizeof url, "%s", argv[2]);
        if (lws_parse_uri(url, &scheme, &address, &port, &path)) {
            fprintf(stderr, "lws_peer: bad URL %s\n", argv[2]);
            return 2;
        }
        snprintf(fullpath, sizeof fullpath, "/%s", path);
        memset(&ci, 0, sizeof ci);
        ci.context = ctx;
        ci.address = address;
        ci.port = port;
        ci.path = fullpath;
        ci.host = address;
        ci.origin = address;
        ci.protocol = "chat, superchat";
        if (!lws_client_connect_via_info(&ci)) {
            plan_fail(&the_plan, "lws_client_connect_via_info failed");
            stop = 1;
        }
    } else {
        printf("listening on 127.0.0.1:%d\n",
               lws_get_vhost_listen_port(lws_get_vhost_by_name(ctx, "default")));
        fflush(stdout);
    }

    while (!stop && lws_service(ctx, 0) >= 0)
        ;
    lws_context_destroy(ctx);
    if (await_close)
        return ours_first == 1 ? 0 : 1;
    return the_plan.failed ? 1 : 0;
}
