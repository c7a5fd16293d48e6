/* examples/tls_openssl.h under pressure, in one process: a ws.h client and a ws.h server
   over real OpenSSL on the two ends of a socketpair with small socket buffers, driven by
   a readiness loop that pumps a side only when poll() says the socket shows what
   tlsio_wants() asked for, or when tlsio_pending() says OpenSSL holds input. A wrong
   mapping stalls the loop, which the tests report.

   What the ws_io contract needs from the glue (ws.h: "nothing is lost or sent twice"):
   - a write that blocks mid-frame (the record half out) while more is queued behind it,
     the queue's pointer moving before the retry (SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
   - reads into a buffer smaller than a record (the rest waits in OpenSSL, invisible to
     poll);
   - TLS 1.3 post-handshake messages inside the stream: session tickets (RFC 8446 §4.6.1)
     and key updates both ways (§4.6.3);
   - close_notify after the WebSocket close handshake (RFC 8446 §6.1), read as a clean
     end of input by the other side; a bare end of the transport read as a truncation,
     answered with nothing. */
#define WS_IMPLEMENTATION
#include "../../ws.h"
#include "../../examples/tls_openssl.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#define MAX_ROUNDS 200000

typedef struct side {
    int fd;
    tlsio tls;
    ws_conn conn;
    ws_stream stream;
    unsigned char *rbuf;
    /* what arrived (the client keeps the echoes) */
    unsigned char *got;
    size_t got_len, got_cap;
    int messages, opened, closed;
    /* the write callback's view */
    long write_blocks;       /* WS_WOULD_BLOCK from tlsio_write */
    const void *blocked_at;  /* the pointer of the last blocked write */
    size_t blocked_len;
    int moved_retry;         /* a retry came from another pointer than the blocked write */
    int shorter_retry;       /* a retry asked for fewer bytes than the blocked write */
    int longer_retry;        /* ... or for more (more was queued meanwhile) */
    int write_needed_read;   /* a write blocked until the socket was readable */
    int read_needed_write;   /* a read blocked until the socket was writable */
} side;

static int tickets;
static int client_may_fail; /* the one test that breaks the client on purpose */

static long count_write(void *user, const void *buf, size_t len) {
    side *s = (side *)user;
    long r;
    if (s->blocked_at) {
        if (buf != s->blocked_at)
            s->moved_retry = 1;
        if (len < s->blocked_len)
            s->shorter_retry = 1;
        if (len > s->blocked_len)
            s->longer_retry = 1;
    }
    r = tlsio_write(&s->tls, buf, len);
    if (r == WS_WOULD_BLOCK) {
        s->write_blocks++;
        if (s->tls.write_needs == WS_WANT_READ)
            s->write_needed_read = 1;
        s->blocked_at = buf;
        s->blocked_len = len;
    } else {
        s->blocked_at = NULL;
    }
    return r;
}

static long plain_read(void *user, void *buf, size_t len) {
    side *s = (side *)user;
    long r = tlsio_read(&s->tls, buf, len);
    if (r == WS_WOULD_BLOCK && s->tls.read_needs == WS_WANT_WRITE)
        s->read_needed_write = 1;
    return r;
}

static void keep(side *s, const void *data, size_t len) {
    if (s->got_len + len > s->got_cap) {
        s->got_cap = (s->got_len + len) * 2;
        s->got = (unsigned char *)realloc(s->got, s->got_cap);
        assert_non_null(s->got);
    }
    memcpy(s->got + s->got_len, data, len);
    s->got_len += len;
}

static void on_server(ws_conn *c, const ws_event *ev, void *user) {
    side *s = (side *)user;
    if (ev->type == WS_EV_REQUEST)
        ws_accept(c, NULL, NULL);
    else if (ev->type == WS_EV_OPEN)
        s->opened = 1;
    else if (ev->type == WS_EV_MESSAGE)
        assert_int_equal(ws_send(c, ev->opcode, ev->data, ev->len), WS_OK);
    else if (ev->type == WS_EV_CLOSE)
        s->closed = 1;
    else if (ev->type == WS_EV_ERROR)
        fail_msg("server: %s (tls: %s)", ws_strerror(ev->error), tlsio_error(&s->tls));
}

static void on_client(ws_conn *c, const ws_event *ev, void *user) {
    side *s = (side *)user;
    (void)c;
    if (ev->type == WS_EV_OPEN) {
        s->opened = 1;
    } else if (ev->type == WS_EV_MESSAGE) {
        keep(s, ev->data, ev->len);
        s->messages++;
    } else if (ev->type == WS_EV_CLOSE) {
        s->closed = 1;
    } else if (ev->type == WS_EV_ERROR && !s->closed && !client_may_fail) {
        fail_msg("client: %s (tls: %s)", ws_strerror(ev->error), tlsio_error(&s->tls));
    }
}

static int rng(void *ctx, void *buf, size_t len) {
    (void)ctx;
    return RAND_bytes((unsigned char *)buf, (int)len) == 1 ? 0 : -1;
}

static int new_ticket(SSL *ssl, SSL_SESSION *sess) {
    (void)ssl, (void)sess;
    tickets++;
    return 0; /* not kept */
}

static int big_cert; /* a certificate larger than the socket buffer, for one test */

/* A throwaway key and self-signed certificate for "localhost", made in memory. */
static void make_cert(EVP_PKEY **key, X509 **cert) {
    X509_NAME *name;
    X509_EXTENSION *ext;
    X509V3_CTX v3;
    *key = EVP_EC_gen("P-256");
    assert_non_null(*key);
    *cert = X509_new();
    X509_set_version(*cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(*cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(*cert), -60);
    X509_gmtime_adj(X509_getm_notAfter(*cert), 3600);
    X509_set_pubkey(*cert, *key);
    name = X509_get_subject_name(*cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1, -1, 0);
    X509_set_issuer_name(*cert, name);
    X509V3_set_ctx(&v3, *cert, *cert, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, "DNS:localhost");
    assert_non_null(ext);
    X509_add_ext(*cert, ext, -1);
    X509_EXTENSION_free(ext);
    if (big_cert) {
        static char comment[20001];
        memset(comment, 'x', sizeof comment - 1);
        ext = X509V3_EXT_conf_nid(NULL, &v3, NID_netscape_comment, comment);
        assert_non_null(ext);
        X509_add_ext(*cert, ext, -1);
        X509_EXTENSION_free(ext);
    }
    assert_true(X509_sign(*cert, *key, EVP_sha256()) > 0);
}

typedef struct pair {
    side client, server;
    SSL_CTX *cctx, *sctx;
} pair;

/* Connects the two sides; client_rbuf is the client's read buffer size (1 makes every
   record wait in OpenSSL but its first byte). */
static void pair_open(pair *p, size_t client_rbuf, int sndbuf) {
    int sv[2], i;
    EVP_PKEY *key;
    X509 *cert;
    ws_config cfg;
    ws_client_options opts;
    ws_io io;
    char err[256];

    memset(p, 0, sizeof *p);
    tickets = 0;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    for (i = 0; i < 2; i++) {
        assert_int_equal(fcntl(sv[i], F_SETFL, fcntl(sv[i], F_GETFL) | O_NONBLOCK), 0);
        assert_int_equal(setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf), 0);
    }
    make_cert(&key, &cert);
    p->sctx = SSL_CTX_new(TLS_server_method());
    assert_non_null(p->sctx);
    tlsio__modes(p->sctx);
    assert_int_equal(SSL_CTX_use_certificate(p->sctx, cert), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey(p->sctx, key), 1);
    /* The client trusts exactly this certificate and checks the name. */
    p->cctx = tlsio_client_ctx(NULL, 0, err, sizeof err);
    assert_non_null(p->cctx);
    assert_int_equal(X509_STORE_add_cert(SSL_CTX_get_cert_store(p->cctx), cert), 1);
    SSL_CTX_set_session_cache_mode(p->cctx, SSL_SESS_CACHE_CLIENT);
    SSL_CTX_sess_set_new_cb(p->cctx, new_ticket);
    X509_free(cert);
    EVP_PKEY_free(key);

    p->server.fd = sv[0];
    p->client.fd = sv[1];
    assert_int_equal(tlsio_server(&p->server.tls, p->sctx, sv[0]), 0);
    assert_int_equal(tlsio_client(&p->client.tls, p->cctx, sv[1], "localhost"), 0);

    ws_config_init(&cfg, WS_ROLE_SERVER);
    cfg.on_event = on_server;
    cfg.user = &p->server;
    assert_int_equal(ws_conn_init(&p->server.conn, &cfg), WS_OK);
    ws_config_init(&cfg, WS_ROLE_CLIENT);
    cfg.on_event = on_client;
    cfg.user = &p->client;
    cfg.rng = rng;
    assert_int_equal(ws_conn_init(&p->client.conn, &cfg), WS_OK);
    memset(&opts, 0, sizeof opts);
    opts.url = "wss://localhost/glue";
    assert_int_equal(ws_client_start(&p->client.conn, &opts), WS_OK);

    p->server.rbuf = (unsigned char *)malloc(16384);
    p->client.rbuf = (unsigned char *)malloc(client_rbuf);
    io.read = plain_read;
    io.write = count_write;
    io.user = &p->server;
    ws_stream_init(&p->server.stream, &p->server.conn, &io, p->server.rbuf, 16384);
    io.user = &p->client;
    ws_stream_init(&p->client.stream, &p->client.conn, &io, p->client.rbuf, client_rbuf);
}

static void pair_close(pair *p) {
    side *sides[2];
    int i;
    sides[0] = &p->client, sides[1] = &p->server;
    for (i = 0; i < 2; i++) {
        tlsio_free(&sides[i]->tls);
        ws_stream_free(&sides[i]->stream);
        ws_conn_free(&sides[i]->conn);
        close(sides[i]->fd);
        free(sides[i]->rbuf);
        free(sides[i]->got);
    }
    SSL_CTX_free(p->cctx);
    SSL_CTX_free(p->sctx);
}

/* The socket shows what the glue asked for. */
static int ready(const side *s) {
    unsigned want = tlsio_wants(&s->tls, ws_stream_wants(&s->stream));
    struct pollfd pfd;
    pfd.fd = s->fd;
    pfd.events = (short)(((want & WS_WANT_READ) ? POLLIN : 0) | ((want & WS_WANT_WRITE) ? POLLOUT : 0));
    pfd.revents = 0;
    return pfd.events && poll(&pfd, 1, 0) == 1 && (pfd.revents & (pfd.events | POLLHUP | POLLERR));
}

/* Pumps whichever side is ready until done(p) holds; fails on a stall (nobody ready,
   not done) or after MAX_ROUNDS. */
static void drive(pair *p, int (*done)(const pair *)) {
    long rounds;
    for (rounds = 0; rounds < MAX_ROUNDS; rounds++) {
        int moved = 0;
        side *sides[2];
        int i;
        if (done(p))
            return;
        sides[0] = &p->client, sides[1] = &p->server;
        for (i = 0; i < 2; i++) {
            side *s = sides[i];
            if (!ws_stream_wants(&s->stream))
                continue;
            if (tlsio_pending(&s->tls) || ready(s)) {
                ws_stream_pump(&s->stream);
                moved = 1;
            }
        }
        if (!moved)
            fail_msg("stalled: client wants %u (socket %u), server wants %u (socket %u)",
                     ws_stream_wants(&p->client.stream),
                     tlsio_wants(&p->client.tls, ws_stream_wants(&p->client.stream)),
                     ws_stream_wants(&p->server.stream),
                     tlsio_wants(&p->server.tls, ws_stream_wants(&p->server.stream)));
    }
    fail_msg("not done after %d rounds", MAX_ROUNDS);
}

static int both_open(const pair *p) { return p->client.opened && p->server.opened; }

static size_t want_messages, want_bytes;
static int echoes_back(const pair *p) {
    return p->client.messages == (int)want_messages && p->client.got_len == want_bytes;
}

static int client_done(const pair *p) { return ws_stream_wants(&p->client.stream) == 0; }

static unsigned char pattern(size_t i) { return (unsigned char)(i * 131 + (i >> 8) * 7 + 3); }

/* Queues msg_len-byte binary messages until the queue holds about total bytes. */
static size_t queue_messages(side *s, size_t msg_len, size_t count, size_t *offset) {
    unsigned char *buf = (unsigned char *)malloc(msg_len);
    size_t i, k, sent = 0;
    assert_non_null(buf);
    for (k = 0; k < count; k++) {
        for (i = 0; i < msg_len; i++)
            buf[i] = pattern(*offset + i);
        assert_int_equal(ws_send(&s->conn, WS_OP_BINARY, buf, msg_len), WS_OK);
        *offset += msg_len;
        sent++;
    }
    free(buf);
    return sent;
}

static void check_echoes(const side *s) {
    size_t i;
    for (i = 0; i < s->got_len; i++)
        if (s->got[i] != pattern(i))
            fail_msg("echo byte %lu differs (of %lu)", (unsigned long)i, (unsigned long)s->got_len);
}

/* The close handshake, then close_notify from the server (it closes first, RFC 6455
   §7.1.1), read by the client as a clean end of input, and the client's own back. */
static void close_both(pair *p) {
    assert_int_equal(ws_close(&p->client.conn, WS_CLOSE_NORMAL, NULL, 0), WS_OK);
    {
        long rounds;
        for (rounds = 0; rounds < MAX_ROUNDS && ws_stream_wants(&p->server.stream); rounds++) {
            if (tlsio_pending(&p->client.tls) || ready(&p->client))
                ws_stream_pump(&p->client.stream);
            if (tlsio_pending(&p->server.tls) || ready(&p->server))
                ws_stream_pump(&p->server.stream);
        }
    }
    assert_true(p->server.closed);
    assert_int_equal(ws_stream_wants(&p->server.stream), 0);
    assert_int_equal(tlsio_shutdown(&p->server.tls), 1);
    drive(p, client_done);
    assert_true(p->client.closed);
    assert_true(p->client.tls.peer_closed); /* the end came as close_notify, not a bare EOF */
    assert_int_equal(tlsio_shutdown(&p->client.tls), 1);
}

/* ws_io: "nothing is lost or sent twice" when a write blocks mid-frame and more is
   queued before the retry (the queue grows, so its pointer moves). */
static void test_write_blocks_mid_frame_while_more_is_queued(void **state) {
    pair p;
    size_t offset = 0, n;
    (void)state;
    pair_open(&p, 16384, 4096);
    drive(&p, both_open);

    n = queue_messages(&p.client, 200000, 1, &offset);
    /* One pump: the socket takes a few KB, the rest of the frame waits. */
    ws_stream_pump(&p.client.stream);
    assert_true(p.client.write_blocks > 0);
    assert_true(ws_conn_queued(&p.client.conn) > 0);
    /* More behind the blocked record: the queue grows and moves. */
    n += queue_messages(&p.client, 300000, 3, &offset);
    want_messages = n;
    want_bytes = offset;
    drive(&p, echoes_back);
    check_echoes(&p.client);
    assert_true(p.client.moved_retry);   /* the retry really came from a moved buffer */
    assert_false(p.client.shorter_retry);
    assert_true(p.server.write_blocks > 0);
    close_both(&p);
    pair_close(&p);
}

/* A write shorter than a record blocks (small messages one at a time, the server not
   reading), then more is queued: the retry asks for more than the blocked write, which
   OpenSSL (partial writes on) must count right: the blocked record first, nothing twice. */
static void test_short_write_blocks_then_a_longer_retry(void **state) {
    pair p;
    size_t offset = 0, n = 0;
    int i, k;
    (void)state;
    pair_open(&p, 16384, 4096);
    drive(&p, both_open);
    p.client.write_blocks = 0;
    for (i = 0; i < 1000 && !p.client.write_blocks; i++) {
        n += queue_messages(&p.client, 5000, 1, &offset);
        for (k = 0; k < 10 && ws_conn_queued(&p.client.conn) && !p.client.write_blocks; k++)
            ws_stream_pump(&p.client.stream);
    }
    assert_true(p.client.write_blocks > 0);
    assert_true(p.client.blocked_len <= 5008); /* one whole frame, less than a record */
    n += queue_messages(&p.client, 70000, 2, &offset);
    want_messages = n;
    want_bytes = offset;
    drive(&p, echoes_back);
    check_echoes(&p.client);
    assert_true(p.client.longer_retry);
    close_both(&p);
    pair_close(&p);
}

/* The server's handshake flight (a 20 KB certificate) does not fit the socket buffer:
   the server's first SSL_read must write and blocks on it (WANT_WRITE from a read), and
   the client's first SSL_write (its HTTP request) waits for the flight (WANT_READ from a
   write). Both sides must wait for the other readiness (tlsio_wants), or the loop
   stalls. */
static void test_handshake_reads_that_write_and_writes_that_read(void **state) {
    pair p;
    size_t offset = 0;
    (void)state;
    big_cert = 1;
    pair_open(&p, 16384, 4096);
    big_cert = 0;
    drive(&p, both_open);
    assert_true(p.server.read_needed_write);
    assert_true(p.client.write_needed_read);
    want_messages = queue_messages(&p.client, 30000, 2, &offset);
    want_bytes = offset;
    drive(&p, echoes_back);
    check_echoes(&p.client);
    close_both(&p);
    pair_close(&p);
}

/* Without SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER the same exchange breaks: the test above
   really exercises a moved retry. */
static void test_moving_buffer_needs_the_mode(void **state) {
    pair p;
    size_t offset = 0;
    long rounds;
    (void)state;
    pair_open(&p, 16384, 4096);
    drive(&p, both_open);
    SSL_clear_mode(p.client.tls.ssl, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    client_may_fail = 1;
    queue_messages(&p.client, 200000, 1, &offset);
    ws_stream_pump(&p.client.stream);
    assert_true(p.client.write_blocks > 0);
    queue_messages(&p.client, 300000, 3, &offset);
    for (rounds = 0; rounds < 1000 && ws_conn_error(&p.client.conn) == WS_OK; rounds++) {
        ws_stream_pump(&p.client.stream);
        ws_stream_pump(&p.server.stream);
    }
    client_may_fail = 0;
    assert_int_equal(ws_conn_error(&p.client.conn), WS_ERR_IO);
    assert_non_null(strstr(tlsio_error(&p.client.tls), "bad write retry"));
    pair_close(&p);
}

/* A read buffer of 1 byte: every record but its first byte waits inside OpenSSL where
   poll() cannot see it; tlsio_pending() must bring the loop back. Session tickets
   (sent by the server after the handshake) arrive inside the same reads. */
static void test_records_larger_than_the_read_buffer(void **state) {
    pair p;
    size_t offset = 0;
    (void)state;
    pair_open(&p, 1, 65536);
    drive(&p, both_open);
    want_messages = queue_messages(&p.client, 40000, 2, &offset);
    want_bytes = offset;
    drive(&p, echoes_back);
    check_echoes(&p.client);
    assert_true(tickets >= 1); /* RFC 8446 §4.6.1 NewSessionTicket, read mid-stream */
    close_both(&p);
    pair_close(&p);
}

/* Key updates both ways mid-stream (RFC 8446 §4.6.3): each side asks the other to
   update too, with data flowing and writes blocking around them. */
static void test_key_updates_mid_stream(void **state) {
    pair p;
    size_t offset = 0, n, i;
    (void)state;
    pair_open(&p, 16384, 4096);
    drive(&p, both_open);
    n = 0;
    for (i = 0; i < 4; i++) {
        side *who = i % 2 ? &p.client : &p.server;
        assert_int_equal(SSL_key_update(who->tls.ssl, SSL_KEY_UPDATE_REQUESTED), 1);
        n += queue_messages(&p.client, 70000, 2, &offset);
        want_messages = n;
        want_bytes = offset;
        drive(&p, echoes_back);
    }
    check_echoes(&p.client);
    assert_true(p.client.write_blocks > 0);
    close_both(&p);
    pair_close(&p);
}

/* The server's transport ends without close_notify, mid-WebSocket (a half-close, so that
   anything the client sends back stays readable): the client reads that as a plain end
   of file, so ws.h reports a truncation (WS_ERR_EOF, 1006), never a clean close; the
   glue marks the peer gone (tlsio_shutdown sends no close_notify) and, since
   SSL_OP_IGNORE_UNEXPECTED_EOF, OpenSSL 3 writes no decode_error alert: nothing at all
   comes back on the socket. */
static void test_bare_eof_is_a_truncation_and_no_alert(void **state) {
    pair p;
    size_t offset = 0;
    long rounds;
    char byte;
    (void)state;
    pair_open(&p, 16384, 65536);
    drive(&p, both_open);
    want_messages = queue_messages(&p.client, 1000, 1, &offset);
    want_bytes = offset;
    drive(&p, echoes_back); /* the session tickets are read by now */
    assert_int_equal(shutdown(p.server.fd, SHUT_WR), 0);
    client_may_fail = 1;
    for (rounds = 0; rounds < 1000 && ws_stream_wants(&p.client.stream); rounds++)
        ws_stream_pump(&p.client.stream);
    client_may_fail = 0;
    assert_int_equal(ws_stream_wants(&p.client.stream), 0);
    assert_int_equal(ws_conn_error(&p.client.conn), WS_ERR_EOF);
    assert_false(p.client.closed);
    assert_true(p.client.tls.dead);
    assert_false(p.client.tls.peer_closed);
    assert_int_equal(tlsio_shutdown(&p.client.tls), -1);
    assert_int_equal(recv(p.server.fd, &byte, 1, 0), -1); /* no alert, no close_notify */
    assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
    pair_close(&p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_blocks_mid_frame_while_more_is_queued),
        cmocka_unit_test(test_moving_buffer_needs_the_mode),
        cmocka_unit_test(test_short_write_blocks_then_a_longer_retry),
        cmocka_unit_test(test_handshake_reads_that_write_and_writes_that_read),
        cmocka_unit_test(test_records_larger_than_the_read_buffer),
        cmocka_unit_test(test_key_updates_mid_stream),
        cmocka_unit_test(test_bare_eof_is_a_truncation_and_no_alert),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
