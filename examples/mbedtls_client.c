/* mbedtls_client - a wss:// client on ws.h and mbedTLS, shaped like firmware: no heap
   for the WebSocket (static buffers), mbedTLS's own sockets, clock and RNG, one
   non-blocking loop. The glue to copy is tls_mbedtls.h; this file shows the set-up.

      build/mbedtls_client wss://host[:port]/path CAFILE [MESSAGE]... [--size N]
                           [--connect-to ADDR]

   Connects, checks the server's certificate against CAFILE (PEM) and the URL's host
   (also sent as SNI), sends each MESSAGE as text (and with --size N one N-byte binary
   message), pings, prints every message that comes back, then closes with 1000.
   Exit 0 when every message came back as sent and the close handshake finished,
   1 otherwise (the reason on stderr), 2 for bad arguments. --connect-to ADDR connects
   there instead of to the URL's host (which still goes in SNI and the name check).
   Built with mbedTLS 2.28 (Debian libmbedtls-dev): -lmbedtls -lmbedx509 -lmbedcrypto. */
#define WS_IMPLEMENTATION
#include "../ws.h"

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <mbedtls/timing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tls_mbedtls.h"

#define TIMEOUT_MS 10000u


typedef struct app {
    char **expect;          /* the messages still to come back, in order */
    int nexpect, next, binary_len, binary_back;
    int opened, closed, failed, mismatch;
    unsigned close_code;
    ws_result error;
} app;

static int rng(void *ctx, void *buf, size_t len) {
    return mbedtls_ctr_drbg_random(ctx, (unsigned char *)buf, len) == 0 ? 0 : -1;
}

static unsigned char binary_byte(size_t i) { return (unsigned char)(31 * i + 7); }

static void on_event(ws_conn *c, const ws_event *ev, void *user) {
    app *a = (app *)user;
    (void)c;
    if (ev->type == WS_EV_OPEN) {
        a->opened = 1;
        fprintf(stderr, "mbedtls_client: connected\n");
    } else if (ev->type == WS_EV_MESSAGE && ev->opcode == WS_OP_TEXT) {
        const char *want = a->next < a->nexpect ? a->expect[a->next++] : NULL;
        printf("%.*s\n", (int)ev->len, (const char *)ev->data);
        if (!want || strlen(want) != ev->len || memcmp(want, ev->data, ev->len) != 0)
            a->mismatch = 1;
    } else if (ev->type == WS_EV_MESSAGE) {
        size_t i;
        const unsigned char *p = (const unsigned char *)ev->data;
        printf("<binary %lu bytes>\n", (unsigned long)ev->len);
        for (i = 0; i < ev->len && p[i] == binary_byte(i); i++)
            ;
        if (ev->len != (size_t)a->binary_len || i != ev->len)
            a->mismatch = 1;
        a->binary_back = 1;
    } else if (ev->type == WS_EV_PONG) {
        fprintf(stderr, "mbedtls_client: pong\n");
    } else if (ev->type == WS_EV_CLOSE) {
        a->closed = 1;
        a->close_code = ev->code;
    } else if (ev->type == WS_EV_ERROR && !a->closed && !a->failed) {
        a->failed = 1;
        a->error = ev->error;
    }
}

static int fail(const char *what, int r) {
    char why[160];
    mbedtls_strerror(r, why, sizeof why);
    fprintf(stderr, "mbedtls_client: %s: %s (-0x%04x)\n", what, why, (unsigned)-r);
    return 1;
}

int main(int argc, char **argv) {
    /* The WebSocket's memory, all of it: ws.h allocates nothing with these. */
    static unsigned char recv_buf[1 << 17], send_buf[1 << 17], read_buf[4096];
    static char *messages[64];
    static app a;
    const char *url = NULL, *cafile = NULL, *connect_to = NULL;
    char host[256], port[8];
    unsigned char *binary = NULL;
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_x509_crt ca;
    mbedtls_ssl_config conf;
    struct mbedtls_timing_hr_time clock;
    mbedtls_net_context net;
    mbedtls_ssl_context ssl;
    mtls t;
    ws_url u;
    ws_config cfg;
    ws_conn conn;
    ws_stream s;
    ws_io io;
    ws_client_options opts;
    int i, r, sent = 0, close_sent = 0, status = 1;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--size") == 0 && i + 1 < argc)
            a.binary_len = atoi(argv[++i]);
        else if (strcmp(argv[i], "--connect-to") == 0 && i + 1 < argc)
            connect_to = argv[++i];
        else if (!url)
            url = argv[i];
        else if (!cafile)
            cafile = argv[i];
        else if (a.nexpect < 64)
            messages[a.nexpect++] = argv[i];
    }
    a.expect = messages;
    if (!url || !cafile || a.binary_len < 0 || (size_t)a.binary_len > sizeof recv_buf - 256 ||
        ws_url_parse(url, strlen(url), &u) != WS_OK || !u.secure || u.host.n >= sizeof host) {
        fprintf(stderr, "usage: %s wss://host[:port]/path CAFILE [MESSAGE]... [--size N] "
                        "[--connect-to ADDR]\n", argv[0]);
        return 2;
    }
    memcpy(host, u.host.p, u.host.n);
    host[u.host.n] = '\0';
    snprintf(port, sizeof port, "%u", u.port);

    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
    mbedtls_x509_crt_init(&ca);
    mbedtls_ssl_config_init(&conf);
    mbedtls_ssl_init(&ssl);
    mbedtls_net_init(&net);
    mtls_init(&t, &ssl);

    if ((r = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, NULL, 0)) != 0) {
        fail("cannot seed the RNG", r);
        goto out;
    }
    if ((r = mbedtls_x509_crt_parse_file(&ca, cafile)) != 0) {
        fail("cannot read the CA file", r);
        goto out;
    }
    if ((r = mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_CLIENT,
                                         MBEDTLS_SSL_TRANSPORT_STREAM,
                                         MBEDTLS_SSL_PRESET_DEFAULT)) != 0) {
        fail("cannot configure TLS", r);
        goto out;
    }
    mbedtls_ssl_conf_authmode(&conf, MBEDTLS_SSL_VERIFY_REQUIRED);
    mbedtls_ssl_conf_ca_chain(&conf, &ca, NULL);
    mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, &drbg);
    /* The host name is checked against the certificate and sent as SNI. */
    if ((r = mbedtls_ssl_setup(&ssl, &conf)) != 0 ||
        (r = mbedtls_ssl_set_hostname(&ssl, host)) != 0) {
        fail("cannot set up TLS", r);
        goto out;
    }
    r = mbedtls_net_connect(&net, connect_to ? connect_to : host, port, MBEDTLS_NET_PROTO_TCP);
    if (r != 0) {
        fail("cannot connect", r);
        goto out;
    }
    mbedtls_net_set_nonblock(&net);
    mbedtls_ssl_set_bio(&ssl, &net, mbedtls_net_send, mbedtls_net_recv, NULL);

    ws_config_init(&cfg, WS_ROLE_CLIENT);
    cfg.on_event = on_event;
    cfg.user = &a;
    cfg.rng = rng;
    cfg.rng_ctx = &drbg;
    cfg.recv_buf = recv_buf;
    cfg.recv_buf_size = sizeof recv_buf;
    cfg.send_buf = send_buf;
    cfg.send_buf_size = sizeof send_buf;
    cfg.max_message = sizeof recv_buf - 125;
    cfg.close_timeout_ms = 3000;
    memset(&opts, 0, sizeof opts);
    opts.url = url;
    mbedtls_timing_get_timer(&clock, 1);
    if (ws_conn_init(&conn, &cfg) != WS_OK || ws_client_start(&conn, &opts) != WS_OK) {
        fprintf(stderr, "mbedtls_client: cannot start the WebSocket handshake\n");
        goto out;
    }
    io.read = mtls_read;
    io.write = mtls_write;
    io.user = &t;
    ws_stream_init(&s, &conn, &io, read_buf, sizeof read_buf);

    /* The TLS handshake happens inside the first writes (the HTTP request goes through
       mbedtls_ssl_write), so there is no separate step to wait for. */
    for (;;) {
        unsigned long now = mbedtls_timing_get_timer(&clock, 0);
        unsigned wants;
        ws_stream_pump(&s);
        ws_conn_tick(&conn, now);
        if (a.opened && !sent && ws_conn_state(&conn) == WS_STATE_OPEN) {
            /* Everything at once: the queue is big enough, and writes that block
               mid-record while more is queued are what the glue must get right. */
            for (i = 0; i < a.nexpect; i++)
                ws_send(&conn, WS_OP_TEXT, messages[i], strlen(messages[i]));
            if (a.binary_len) {
                binary = (unsigned char *)malloc((size_t)a.binary_len);
                for (i = 0; binary && i < a.binary_len; i++)
                    binary[i] = binary_byte((size_t)i);
                if (binary)
                    ws_send(&conn, WS_OP_BINARY, binary, (size_t)a.binary_len);
            }
            ws_ping(&conn, "mbedtls", 7);
            sent = 1;
        }
        if (sent && !close_sent && a.next == a.nexpect && (!a.binary_len || a.binary_back)) {
            ws_close(&conn, WS_CLOSE_NORMAL, NULL, 0);
            close_sent = 1;
        }
        if (ws_conn_queued(&conn))
            ws_stream_pump(&s);
        wants = ws_stream_wants(&s);
        if (!wants)
            break;
        if (now > TIMEOUT_MS) {
            fprintf(stderr, "mbedtls_client: timed out\n");
            break;
        }
        /* Decrypted bytes already inside mbedTLS: no waiting for the socket. */
        if (!mtls_pending(&t)) {
            wants = mtls_wants(&t, wants); /* TLS may need the other direction */
            r = mbedtls_net_poll(&net, ((wants & WS_WANT_READ) ? MBEDTLS_NET_POLL_READ : 0u) |
                                           ((wants & WS_WANT_WRITE) ? MBEDTLS_NET_POLL_WRITE : 0u),
                                 100);
            if (r < 0) {
                fail("poll", r);
                break;
            }
        }
    }
    if (a.failed) {
        uint32_t flags = mbedtls_ssl_get_verify_result(&ssl);
        if (t.err == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED && flags && flags != (uint32_t)-1) {
            char why[256];
            mbedtls_x509_crt_verify_info(why, sizeof why, "", flags);
            fprintf(stderr, "mbedtls_client: certificate verify failed: %s", why);
        } else if (t.err) {
            fail("TLS failed", t.err);
        }
        else
            fprintf(stderr, "mbedtls_client: %s\n", ws_strerror(a.error));
    } else if (a.closed) {
        fprintf(stderr, "mbedtls_client: closed: %u\n", a.close_code);
        status = a.mismatch || a.next != a.nexpect || (a.binary_len && !a.binary_back) ||
                 a.close_code != WS_CLOSE_NORMAL;
        if (a.mismatch)
            fprintf(stderr, "mbedtls_client: a message came back different\n");
    }
    /* close_notify: a few tries, bounded; the WebSocket is already done. */
    for (i = 0; i < 20 && (r = mbedtls_ssl_close_notify(&ssl)) != 0; i++) {
        if (r != MBEDTLS_ERR_SSL_WANT_WRITE && r != MBEDTLS_ERR_SSL_WANT_READ)
            break;
        mbedtls_net_poll(&net, MBEDTLS_NET_POLL_WRITE, 50);
    }
    ws_conn_free(&conn);
out:
    free(binary);
    mbedtls_net_free(&net);
    mbedtls_ssl_free(&ssl);
    mbedtls_ssl_config_free(&conf);
    mbedtls_x509_crt_free(&ca);
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&entropy);
    return status;
}
