/* tls_mbedtls.h - ws.h over mbedTLS (2.28 or 3.x), one small file to copy.

   You set up the mbedtls_ssl_context as your platform needs (bio callbacks over lwIP,
   a modem or mbedtls_net, your RNG, your CA); this glue only turns mbedtls_ssl_read /
   mbedtls_ssl_write into the ws_io callbacks that ws_stream pumps. Include ws.h first.

       mtls t;
       mtls_init(&t, &ssl);
       ws_io io = { mtls_read, mtls_write, &t };
       ws_stream_init(&s, &conn, &io, buf, sizeof buf);
       loop:
           ws_stream_pump(&s);
           want = ws_stream_wants(&s);
           if (!want) { mbedtls_ssl_close_notify(&ssl); done }
           if (!mtls_pending(&t)) wait for the socket: mtls_wants(&t, want)

   One rule needs care: after MBEDTLS_ERR_SSL_WANT_WRITE mbedTLS keeps the encrypted
   record, and the next mbedtls_ssl_write sends it and returns the length passed to THAT
   call. ws.h retries with the same bytes but possibly more of them (its queue grows
   while you wait), so the glue retries with exactly the blocked length: anything else
   would report bytes as sent that never were. */
#ifndef TLS_MBEDTLS_H
#define TLS_MBEDTLS_H

#include <mbedtls/ssl.h>

typedef struct mtls {
    mbedtls_ssl_context *ssl;
    unsigned read_needs, write_needs; /* WS_WANT_* the socket must show; 0: not blocked */
    size_t retry_len;                 /* the length of the write that blocked; 0: none */
    int err;                          /* the mbedTLS error that ended it, or 0 */
} mtls;

static inline void mtls_init(mtls *t, mbedtls_ssl_context *ssl) {
    t->ssl = ssl;
    t->read_needs = t->write_needs = 0;
    t->retry_len = 0;
    t->err = 0;
}

static inline long mtls__blocked(mtls *t, int r, unsigned *needs) {
    if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE) {
        *needs = r == MBEDTLS_ERR_SSL_WANT_READ ? WS_WANT_READ : WS_WANT_WRITE;
        return WS_WOULD_BLOCK;
    }
    *needs = 0;
    t->err = r;
    return WS_ERR_IO;
}

/* ws_io.read: user is the mtls. */
static inline long mtls_read(void *user, void *buf, size_t len) {
    mtls *t = (mtls *)user;
    int r = mbedtls_ssl_read(t->ssl, (unsigned char *)buf, len);
    if (r > 0) {
        t->read_needs = 0;
        return r;
    }
    if (r == 0 || r == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
        return 0; /* end of input; the WebSocket close handshake says if it was clean */
#ifdef MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET
    if (r == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET) { /* 3.x, TLS 1.3: not data */
        t->read_needs = 0;
        return WS_WOULD_BLOCK;
    }
#endif
    return mtls__blocked(t, r, &t->read_needs);
}

/* ws_io.write: user is the mtls. */
static inline long mtls_write(void *user, const void *buf, size_t len) {
    mtls *t = (mtls *)user;
    int max = mbedtls_ssl_get_max_out_record_payload(t->ssl);
    int r;
    if (t->retry_len)
        len = t->retry_len; /* exactly the blocked write: see the top of this file */
    else if (max > 0 && len > (size_t)max)
        len = (size_t)max;  /* one record per call: partial counts, like send() */
    r = mbedtls_ssl_write(t->ssl, (const unsigned char *)buf, len);
    if (r > 0) {
        t->retry_len = 0;
        t->write_needs = 0;
        return r;
    }
    if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE)
        t->retry_len = len;
    return mtls__blocked(t, r, &t->write_needs);
}

/* The socket readiness to wait for (WS_WANT_READ: readable, WS_WANT_WRITE: writable)
   given what the connection wants: a read can wait for room to write (a handshake
   message), a write for input. */
static inline unsigned mtls_wants(const mtls *t, unsigned wants) {
    unsigned w = 0;
    if (wants & WS_WANT_READ)
        w |= t->read_needs ? t->read_needs : WS_WANT_READ;
    if (wants & WS_WANT_WRITE)
        w |= t->write_needs ? t->write_needs : WS_WANT_WRITE;
    return w;
}

/* Decrypted input already inside mbedTLS (the socket will not say so): pump again
   before waiting. */
static inline int mtls_pending(const mtls *t) { return mbedtls_ssl_get_bytes_avail(t->ssl) > 0; }

#endif /* TLS_MBEDTLS_H */
