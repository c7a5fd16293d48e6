/* tls_openssl.h - wss:// and https:// for ws.h over OpenSSL (1.1.1 or 3.x), one file to copy.

   TLS stays out of ws.h; this glue makes a non-blocking TLS connection look like the
   ws_io callbacks that ws_stream pumps. Include ws.h first, link -lssl -lcrypto.

       SSL_CTX *ctx = tlsio_client_ctx(NULL, 0, err, sizeof err); // system CAs, verified
       tlsio t;
       tlsio_client(&t, ctx, fd, "example.com");   // SNI + host name check
       ws_io io = { tlsio_read, tlsio_write, &t };
       ws_stream_init(&s, &conn, &io, buf, sizeof buf);
       loop:
           ws_stream_pump(&s);
           want = ws_stream_wants(&s);
           if (!want) { tlsio_shutdown(&t); tlsio_free(&t); close(fd); done }
           if (tlsio_pending(&t)) continue;           // decrypted bytes already here
           poll(fd, tlsio_wants(&t, want) -> POLLIN/POLLOUT)

   Three differences from a plain socket, all handled here or by the caller's loop:
   - What the socket must show is not what the connection wants: a TLS read can wait
     for room to write (a handshake or session-ticket message to send) and a write can
     wait for input (a handshake in progress). tlsio_wants() turns ws_stream_wants()
     into the readiness to wait for.
   - OpenSSL may hold decrypted input that the socket no longer signals (a record
     larger than the read buffer): tlsio_pending() says "pump again, don't wait".
   - After WANT_WRITE, OpenSSL has already encrypted the bytes and must be called again
     with the same bytes and at least the same length. ws.h's output queue gives that:
     its pending bytes stay first in line and only grow until consumed, though the
     pointer may move (hence SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER).
   The handshake runs inside the first reads and writes (no separate step), so a refused
   certificate shows up as a failed read or write: tlsio_error() says why.

   Nothing here beyond the socket handed in is POSIX: the same file serves Winsock. */
#ifndef TLS_OPENSSL_H
#define TLS_OPENSSL_H

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

typedef struct tlsio {
    SSL *ssl;
    /* The readiness (WS_WANT_READ / WS_WANT_WRITE) the socket must show before the
       last blocked SSL_read, SSL_write or SSL_shutdown can go on; 0 when it did not block. */
    unsigned read_needs, write_needs;
    int dead;        /* a fatal error or the peer gone: no close_notify may follow */
    int peer_closed; /* the peer's close_notify arrived */
    char error[160];
} tlsio;

/* Modes every connection gets: SSL_write reports partial counts like send() instead of
   holding on until all of a large write is out, and accepts the retry of a blocked
   write from a moved buffer (ws.h's queue may compact or grow between the calls). Idle
   connections give their 2 x 16 KB record buffers back. */
static inline void tlsio__modes(SSL_CTX *ctx) {
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
    /* OpenSSL 3 takes a transport ending without close_notify as a fatal error and
       answers it with a decode_error alert, which the peer (say Apache, closing after
       the WebSocket close) logs as our failure. With this option it is a plain end of
       input. OpenSSL's manual allows that only where the protocol on top detects a
       truncation itself: the WebSocket close handshake does, and ws.h reports an end
       before it as WS_ERR_EOF (1006), never as a clean close. */
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
}

static inline void tlsio__err_text(char *out, size_t cap, const char *what) {
    unsigned long e = ERR_peek_last_error();
    const char *why = e ? ERR_reason_error_string(e) : NULL;
    /* A long file name may cut the text short; the reason stays readable enough. */
    if (snprintf(out, cap, "%s%s%s", what, why ? ": " : "", why ? why : "") < 0)
        out[0] = '\0';
    ERR_clear_error();
}

/* A client context: the server's certificate is checked against cafile (PEM, one CA or
   several) or, with cafile NULL, against the system's CA store. insecure skips the
   check (tests only: anyone in the middle can then read and change everything). NULL
   on failure, with the reason in err. */
static inline SSL_CTX *tlsio_client_ctx(const char *cafile, int insecure, char *err,
                                        size_t errlen) {
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        tlsio__err_text(err, errlen, "cannot make a TLS context");
        return NULL;
    }
    tlsio__modes(ctx);
    if (!insecure) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        if (cafile ? !SSL_CTX_load_verify_locations(ctx, cafile, NULL)
                   : !SSL_CTX_set_default_verify_paths(ctx)) {
            char what[300];
            snprintf(what, sizeof what, "cannot load CA certificates from %s",
                     cafile ? cafile : "the system store");
            tlsio__err_text(err, errlen, what);
            SSL_CTX_free(ctx);
            return NULL;
        }
    }
    return ctx;
}

/* A server context from a PEM certificate (chain) file and its key. */
static inline SSL_CTX *tlsio_server_ctx(const char *certfile, const char *keyfile, char *err,
                                        size_t errlen) {
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    char what[300];
    if (!ctx) {
        tlsio__err_text(err, errlen, "cannot make a TLS context");
        return NULL;
    }
    tlsio__modes(ctx);
    if (SSL_CTX_use_certificate_chain_file(ctx, certfile) != 1) {
        snprintf(what, sizeof what, "cannot use the certificate in %s", certfile);
    } else if (SSL_CTX_use_PrivateKey_file(ctx, keyfile, SSL_FILETYPE_PEM) != 1) {
        snprintf(what, sizeof what, "cannot use the private key in %s", keyfile);
    } else if (SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(what, sizeof what, "the key in %s does not match %s", keyfile, certfile);
    } else {
        return ctx;
    }
    tlsio__err_text(err, errlen, what);
    SSL_CTX_free(ctx);
    return NULL;
}

static inline int tlsio__new(tlsio *t, SSL_CTX *ctx, int fd) {
    memset(t, 0, sizeof *t);
    t->ssl = SSL_new(ctx);
    if (!t->ssl || SSL_set_fd(t->ssl, fd) != 1) {
        tlsio__err_text(t->error, sizeof t->error, "cannot set up TLS");
        SSL_free(t->ssl);
        t->ssl = NULL;
        return -1;
    }
    return 0;
}

/* Client side of a connected non-blocking socket. host is the URL's host: a name goes
   out as SNI and must match the certificate; an IP address (v4 or v6, no brackets) must
   be one of the certificate's addresses and is not sent (RFC 6066 §3 allows only names
   in SNI). 0, or -1 with the reason in t->error. */
static inline int tlsio_client(tlsio *t, SSL_CTX *ctx, int fd, const char *host) {
    if (tlsio__new(t, ctx, fd) < 0)
        return -1;
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), host) != 1 &&
        (SSL_set_tlsext_host_name(t->ssl, host) != 1 || SSL_set1_host(t->ssl, host) != 1)) {
        tlsio__err_text(t->error, sizeof t->error, "bad host name for TLS");
        SSL_free(t->ssl);
        t->ssl = NULL;
        return -1;
    }
    SSL_set_connect_state(t->ssl);
    return 0;
}

/* Server side of an accepted non-blocking socket. */
static inline int tlsio_server(tlsio *t, SSL_CTX *ctx, int fd) {
    if (tlsio__new(t, ctx, fd) < 0)
        return -1;
    SSL_set_accept_state(t->ssl);
    return 0;
}

/* SSL_get_error for a call that did not succeed, turned into the ws_io contract. */
static inline long tlsio__blocked(tlsio *t, int r, unsigned *needs, int reading) {
    int e = SSL_get_error(t->ssl, r);
    unsigned long lib = ERR_peek_last_error();
    long verify;
    switch (e) {
    case SSL_ERROR_WANT_READ:
        *needs = WS_WANT_READ;
        return WS_WOULD_BLOCK;
    case SSL_ERROR_WANT_WRITE:
        *needs = WS_WANT_WRITE;
        return WS_WOULD_BLOCK;
    case SSL_ERROR_ZERO_RETURN: /* close_notify: a clean end of input */
        /* ...or, under SSL_OP_IGNORE_UNEXPECTED_EOF, the transport's end without one,
           which the socket BIO then shows as its end of file (OpenSSL reads no further
           than a record, so after a real close_notify it does not): the same bare end
           as below, of a peer that is gone. */
        if (BIO_eof(SSL_get_rbio(t->ssl)))
            break;
        t->peer_closed = 1;
        *needs = 0;
        if (reading)
            return 0;
        snprintf(t->error, sizeof t->error, "the peer closed TLS");
        return WS_ERR_IO;
    default:
        break;
    }
    t->dead = 1;
    *needs = 0;
    /* The transport ending without close_notify: OpenSSL 3 says "unexpected eof" (or,
       with the option tlsio__modes sets, ZERO_RETURN above), 1.1.1 a system-call error
       with nothing queued. For a reader that is end of file; the WebSocket close
       handshake (or its absence, which ws.h reports) says whether anything was cut off. */
    if (e == SSL_ERROR_ZERO_RETURN && reading)
        return 0;
#ifdef SSL_R_UNEXPECTED_EOF_WHILE_READING
    if (e == SSL_ERROR_SSL && ERR_GET_REASON(lib) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
        ERR_clear_error();
        if (reading)
            return 0;
    }
#endif
    if (e == SSL_ERROR_SYSCALL && lib == 0) {
        snprintf(t->error, sizeof t->error, "the connection broke (reset or closed)");
        return reading ? 0 : WS_ERR_IO;
    }
    verify = SSL_get_verify_result(t->ssl);
    if (verify != X509_V_OK) {
        snprintf(t->error, sizeof t->error, "certificate verify failed: %s",
                 X509_verify_cert_error_string(verify));
        ERR_clear_error();
    } else {
        tlsio__err_text(t->error, sizeof t->error, "TLS failed");
    }
    return WS_ERR_IO;
}

/* ws_io.read: user is the tlsio. */
static inline long tlsio_read(void *user, void *buf, size_t len) {
    tlsio *t = (tlsio *)user;
    size_t got = 0;
    int r;
    if (t->dead)
        return WS_ERR_IO;
    if (t->peer_closed)
        return 0;
    ERR_clear_error(); /* SSL_get_error reads the queue: it must hold only this call's */
    r = SSL_read_ex(t->ssl, buf, len, &got);
    if (r == 1) {
        t->read_needs = 0;
        return (long)got;
    }
    return tlsio__blocked(t, r, &t->read_needs, 1);
}

/* ws_io.write: user is the tlsio. After WS_WOULD_BLOCK ws_stream calls again with the
   same bytes first and at least as many, which is what OpenSSL asks. */
static inline long tlsio_write(void *user, const void *buf, size_t len) {
    tlsio *t = (tlsio *)user;
    size_t put = 0;
    int r;
    if (t->dead)
        return WS_ERR_IO;
    ERR_clear_error();
    r = SSL_write_ex(t->ssl, buf, len, &put);
    if (r == 1) {
        t->write_needs = 0;
        return (long)put;
    }
    return tlsio__blocked(t, r, &t->write_needs, 0);
}

/* The socket readiness to wait for (WS_WANT_READ: readable, WS_WANT_WRITE: writable),
   given what the connection wants (ws_stream_wants, or WS_WANT_WRITE while a
   tlsio_shutdown is blocked). */
static inline unsigned tlsio_wants(const tlsio *t, unsigned wants) {
    unsigned w = 0;
    if (wants & WS_WANT_READ)
        w |= t->read_needs ? t->read_needs : WS_WANT_READ;
    if (wants & WS_WANT_WRITE)
        w |= t->write_needs ? t->write_needs : WS_WANT_WRITE;
    return w;
}

/* Decrypted input waits inside OpenSSL (the socket will not say so): read again before
   waiting. */
static inline int tlsio_pending(const tlsio *t) {
    return t->ssl && !t->dead && SSL_pending(t->ssl) > 0;
}

/* Send close_notify once the WebSocket is done (ws_stream_wants is 0), before closing
   the socket. 1: sent, close the socket; 0: blocked, wait for tlsio_wants(t,
   WS_WANT_WRITE) and call again (or give up and close); -1: nothing to send (failed
   connection, or a handshake that never finished). The peer's close_notify is not
   waited for: RFC 8446 §6.1 lets the side that closes go once its own is sent. */
static inline int tlsio_shutdown(tlsio *t) {
    int r;
    if (!t->ssl || t->dead || !SSL_is_init_finished(t->ssl))
        return -1;
    ERR_clear_error();
    r = SSL_shutdown(t->ssl);
    if (r >= 0)
        return 1;
    switch (SSL_get_error(t->ssl, r)) {
    case SSL_ERROR_WANT_READ:
        t->write_needs = WS_WANT_READ;
        return 0;
    case SSL_ERROR_WANT_WRITE:
        t->write_needs = WS_WANT_WRITE;
        return 0;
    default:
        t->dead = 1;
        ERR_clear_error();
        return -1;
    }
}

/* What failed, for a message ("" when nothing did). */
static inline const char *tlsio_error(const tlsio *t) { return t->error; }

/* "TLSv1.3 TLS_AES_256_GCM_SHA384" once the handshake is done, for logs. */
static inline const char *tlsio_describe(const tlsio *t, char *out, size_t cap) {
    if (!t->ssl || !SSL_is_init_finished(t->ssl))
        snprintf(out, cap, "no TLS session");
    else
        snprintf(out, cap, "%s %s", SSL_get_version(t->ssl), SSL_get_cipher_name(t->ssl));
    return out;
}

/* Frees the TLS state; the socket stays the caller's to close. */
static inline void tlsio_free(tlsio *t) {
    SSL_free(t->ssl);
    t->ssl = NULL;
}

#endif /* TLS_OPENSSL_H */
