/* ws.h - v0.1.0 - public domain or MIT - RFC 6455 WebSocket in one header, both roles

   Do this:
      #define WS_IMPLEMENTATION
   before you include this file in *one* C or C++ file to create the implementation.

      // i.e. it should look like this:
      #include ...
      #include ...
      #define WS_IMPLEMENTATION
      #include "ws.h"

   Every other file includes "ws.h" without the define and sees only declarations.

QUICK START (server side of one connection; see examples/ for whole programs)

      static void on_event(ws_conn *c, const ws_event *ev, void *user) {
          if (ev->type == WS_EV_MESSAGE)                 // echo it back, same type
              ws_send(c, ev->opcode, ev->data, ev->len);
      }
      ...
      ws_config cfg;
      ws_config_init(&cfg, WS_ROLE_SERVER);
      cfg.on_event = on_event;
      ws_conn conn;
      ws_conn_init(&conn, &cfg);
      // Sans-I/O: give it what the socket read, send what it queues.
      ws_conn_feed(&conn, buf, n, &used);
      while ((n = ws_conn_output(&conn, &out)) > 0) { send(fd, out, n, 0); ws_conn_consume(&conn, n); }
      // ...or let ws_stream drive read/write callbacks for you (layer 6).

   The library owns no socket, thread, clock or global state. Randomness (client masking
   keys, Sec-WebSocket-Key) comes from a callback you supply; time from ws_conn_tick().

OPTIONS (#define before including; the limits are defaults that ws_config can lower or raise)

      WS_STATIC                 all functions static (private copy per translation unit)
      WS_NO_CLIENT              leave out the client handshake and client role
      WS_NO_SERVER              leave out the server handshake and server role
      WS_NO_HANDSHAKE           leave out layer 4; connections start in OPEN
      WS_NO_STDLIB              no malloc/free/memcpy/memset from libc; give allocators and
                                WS_MEMCPY/WS_MEMSET, or use only caller-provided buffers
      WS_ASSERT(x)              default assert(x)
      WS_MEMCPY(d,s,n) WS_MEMSET(d,c,n)
      WS_MALLOC(sz) WS_FREE(p)  default allocator (all or none of the two)
      WS_DEFAULT_MAX_MESSAGE    largest whole message delivered           (16 MiB)
      WS_DEFAULT_MAX_QUEUE      largest output queue in allocating mode   (16 MiB + 64 KiB)
      WS_DEFAULT_MAX_HANDSHAKE  largest HTTP request/response head        (8192)
      WS_DEFAULT_MAX_HEADERS    most header lines in a handshake          (64)
      WS_DEFAULT_CLOSE_TIMEOUT  ms to wait for the peer's close / EOF     (5000)

LAYERS (one section each, bottom up; each usable alone)
   1. config and platform   2. primitives (SHA-1, base64, UTF-8, masking)
   3. frame codec           4. handshake (HTTP Upgrade, URLs)
   5. connection (sans-I/O state machine)   6. I/O driver over read/write callbacks

   The revision history and the license are at the end of the file.
*/
#ifndef WS_H_INCLUDED
#define WS_H_INCLUDED

/* ===================================================================================
   1. Config and platform
   =================================================================================== */

#define WS_VERSION_MAJOR 0
#define WS_VERSION_MINOR 1
#define WS_VERSION_PATCH 0
#define WS_VERSION_STRING "0.1.0"

#include <stddef.h>
#include <stdint.h>

#ifndef WSDEF
#ifdef WS_STATIC
#define WSDEF static
#else
#define WSDEF extern
#endif
#endif

#ifndef WS_DEFAULT_MAX_MESSAGE
#define WS_DEFAULT_MAX_MESSAGE ((size_t)16 << 20)
#endif
#ifndef WS_DEFAULT_MAX_QUEUE
#define WS_DEFAULT_MAX_QUEUE (((size_t)16 << 20) + ((size_t)64 << 10))
#endif
#ifndef WS_DEFAULT_MAX_HANDSHAKE
#define WS_DEFAULT_MAX_HANDSHAKE 8192
#endif
#ifndef WS_DEFAULT_MAX_HEADERS
#define WS_DEFAULT_MAX_HEADERS 64
#endif
#ifndef WS_DEFAULT_CLOSE_TIMEOUT
#define WS_DEFAULT_CLOSE_TIMEOUT 5000
#endif

#if defined(WS_NO_CLIENT) && defined(WS_NO_SERVER)
#error "ws.h: WS_NO_CLIENT and WS_NO_SERVER together leave nothing to build"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Results. 0 is success; every other value is negative. WS_NEED_MORE and WS_WOULD_BLOCK
   are not failures: the first says a decoder has consumed everything and wants more
   bytes, the second that an output queue (or a socket) has no room right now. */
#define WS__RESULTS(X)                                                                   \
    X(WS_OK, 0, "ok")                                                                    \
    X(WS_NEED_MORE, -1, "need more input")                                               \
    X(WS_WOULD_BLOCK, -2, "would block")                                                 \
    X(WS_ERR_ARG, -3, "invalid argument")                                                \
    X(WS_ERR_NOMEM, -4, "out of memory")                                                 \
    X(WS_ERR_NO_RNG, -5, "client needs a random number callback")                       \
    X(WS_ERR_RNG, -6, "random number callback failed")                                  \
    X(WS_ERR_STATE, -7, "not allowed in this connection state")                         \
    X(WS_ERR_CLOSED, -8, "connection is closed")                                         \
    X(WS_ERR_TOO_BIG, -9, "larger than the configured limit")                            \
    X(WS_ERR_BUFFER, -10, "buffer too small")                                            \
    X(WS_ERR_PROTOCOL, -11, "protocol error (1002)")                                     \
    X(WS_ERR_UTF8, -12, "invalid UTF-8 in text (1007)")                                  \
    X(WS_ERR_POLICY, -13, "policy violation (1008)")                                     \
    X(WS_ERR_INTERNAL, -14, "internal error (1011)")                                     \
    X(WS_ERR_TIMEOUT, -15, "timed out")                                                  \
    X(WS_ERR_EOF, -16, "transport closed before the close handshake (1006)")            \
    X(WS_ERR_IO, -17, "transport read or write failed")                                 \
    X(WS_ERR_URL, -18, "malformed ws:// or wss:// URL")                                  \
    X(WS_ERR_HS_MALFORMED, -19, "handshake: malformed HTTP message")                     \
    X(WS_ERR_HS_TOO_LARGE, -20, "handshake: HTTP head too large or too many headers")    \
    X(WS_ERR_HS_METHOD, -21, "handshake: method is not GET or version not HTTP/1.1")     \
    X(WS_ERR_HS_HOST, -22, "handshake: missing Host")                                    \
    X(WS_ERR_HS_UPGRADE, -23, "handshake: Upgrade is not websocket")                     \
    X(WS_ERR_HS_CONNECTION, -24, "handshake: Connection does not include Upgrade")       \
    X(WS_ERR_HS_KEY, -25, "handshake: bad or missing Sec-WebSocket-Key")                 \
    X(WS_ERR_HS_VERSION, -26, "handshake: Sec-WebSocket-Version is not 13")              \
    X(WS_ERR_HS_STATUS, -27, "handshake: server did not answer 101")                     \
    X(WS_ERR_HS_ACCEPT, -28, "handshake: Sec-WebSocket-Accept does not match")           \
    X(WS_ERR_HS_PROTOCOL, -29, "handshake: subprotocol was not offered")                 \
    X(WS_ERR_HS_EXTENSION, -30, "handshake: extension was not offered")                  \
    X(WS_ERR_HS_REJECTED, -31, "handshake: refused by the application")

typedef enum ws_result {
#define WS__RESULT_ENUM(name, value, text) name = value,
    WS__RESULTS(WS__RESULT_ENUM)
#undef WS__RESULT_ENUM
    WS__RESULT_LAST = -32
} ws_result;

/* A short English description of r; never NULL ("unknown result" for foreign values). */
WSDEF const char *ws_strerror(int r);

/* Runtime allocator. alloc returns NULL on failure; free receives the size that was
   asked for. ctx is passed back untouched. A zeroed allocator means WS_MALLOC/WS_FREE. */
typedef struct ws_allocator {
    void *ctx;
    void *(*alloc)(void *ctx, size_t size);
    void (*free)(void *ctx, void *ptr, size_t size);
} ws_allocator;

/* Random bytes: fill buf with len unpredictable bytes, return 0 (non-zero on failure).
   Clients need it for every frame's masking key (RFC 6455 §5.3) and for
   Sec-WebSocket-Key (§4.1); there is no built-in fallback on purpose. */
typedef int (*ws_rng_fn)(void *ctx, void *buf, size_t len);

/* A view of bytes that belong to someone else (a request buffer, an event). */
typedef struct ws_str {
    const char *p;
    size_t n;
} ws_str;

/* ===================================================================================
   2. Primitives
   =================================================================================== */

/* SHA-1 (FIPS 180-4), only for the handshake's Sec-WebSocket-Accept. */
typedef struct ws_sha1 {
    uint32_t h[5];
    uint64_t total;
    unsigned char block[64];
} ws_sha1;
WSDEF void ws_sha1_init(ws_sha1 *s);
WSDEF void ws_sha1_update(ws_sha1 *s, const void *data, size_t len);
WSDEF void ws_sha1_final(ws_sha1 *s, unsigned char digest[20]);

/* Base64 (RFC 4648, standard alphabet, with padding). ws_base64_encode writes
   4*ceil(len/3) characters and a NUL, returns that count or WS_ERR_BUFFER.
   ws_base64_decode accepts only canonical padded input; returns the byte count,
   WS_ERR_ARG for bad input or WS_ERR_BUFFER. */
#define WS_BASE64_LEN(n) ((((n) + 2) / 3) * 4)
WSDEF int ws_base64_encode(const void *src, size_t len, char *dst, size_t cap);
WSDEF int ws_base64_decode(const char *src, size_t len, void *dst, size_t cap);

/* Incremental UTF-8 validator (RFC 3629 as RFC 6455 §8.1 requires): rejects overlongs,
   surrogates, code points past U+10FFFF. The state carries a code point split between
   calls. ws_utf8_feed returns WS_OK (input valid so far) or WS_ERR_UTF8 at the first
   byte that can never be part of valid text; ws_utf8_done tells whether the text ends on
   a whole code point. */
typedef struct ws_utf8 {
    uint32_t state;
} ws_utf8;
#define WS_UTF8_INIT {0}
WSDEF ws_result ws_utf8_feed(ws_utf8 *v, const void *data, size_t len);
WSDEF int ws_utf8_done(const ws_utf8 *v);
WSDEF ws_result ws_utf8_check(const void *data, size_t len); /* one whole string */

/* XOR len bytes in place with the 4-byte masking key, starting at key position
   `phase` (0..3) - so a payload may be unmasked in pieces (RFC 6455 §5.3). Returns the
   phase for the next piece. Works a machine word at a time at any alignment. */
WSDEF unsigned ws_mask(void *data, size_t len, const unsigned char key[4], unsigned phase);

/* ===================================================================================
   3. Frame codec (RFC 6455 §5.2): pure functions
   =================================================================================== */

typedef enum ws_opcode {
    WS_OP_CONT = 0x0,
    WS_OP_TEXT = 0x1,
    WS_OP_BINARY = 0x2,
    WS_OP_CLOSE = 0x8,
    WS_OP_PING = 0x9,
    WS_OP_PONG = 0xA
} ws_opcode;

#define WS_MAX_HEADER 14      /* 2 + 8 (64-bit length) + 4 (masking key) */
#define WS_MAX_CONTROL 125    /* §5.5: control payloads are at most 125 bytes */

typedef struct ws_frame {
    uint64_t len;             /* payload length */
    unsigned char fin;        /* 1 for the last frame of a message */
    unsigned char rsv;        /* RSV1..3 as bits 2..0 (0x4 = RSV1) */
    unsigned char opcode;     /* ws_opcode */
    unsigned char masked;
    unsigned char key[4];     /* masking key when masked */
} ws_frame;

/* Decode the header at data[0..avail). Returns the header's size (2..14) and fills *f;
   WS_NEED_MORE when avail is too short to tell (not an error); or WS_ERR_PROTOCOL for a
   header that breaks a rule no negotiation can change: a reserved opcode (§5.2), a control
   frame that is fragmented or longer than 125 (§5.5), a 64-bit length with its top bit set
   (§5.2). RSV bits and the mask bit depend on the connection: see ws_frame_check. Lengths
   need not be minimally encoded on receive (§5.2 asks that of senders only). */
WSDEF int ws_frame_decode(const void *data, size_t avail, ws_frame *f);

/* The connection-dependent rules: RSV bits must be zero unless rsv_allowed has them
   (§5.2: only an extension may use them), a server must receive masked frames and a
   client unmasked ones (§5.1). is_server: 1 for the receiving server. Returns WS_OK or
   WS_ERR_PROTOCOL. */
WSDEF ws_result ws_frame_check(const ws_frame *f, int is_server, unsigned rsv_allowed);

/* Encode a header with the minimal length form (§5.2) into out (WS_MAX_HEADER bytes
   suffice). Returns its size. The payload is not touched: mask it with ws_mask. */
WSDEF size_t ws_frame_encode(unsigned char out[WS_MAX_HEADER], const ws_frame *f);

/* Close status codes (§7.4.1) and the rules on them. */
#define WS_CLOSE_NORMAL 1000
#define WS_CLOSE_GOING_AWAY 1001
#define WS_CLOSE_PROTOCOL 1002
#define WS_CLOSE_UNSUPPORTED 1003
#define WS_CLOSE_NO_STATUS 1005    /* reported for an empty close; never sent */
#define WS_CLOSE_ABNORMAL 1006     /* reported when the transport dropped; never sent */
#define WS_CLOSE_INVALID_DATA 1007
#define WS_CLOSE_POLICY 1008
#define WS_CLOSE_TOO_BIG 1009
#define WS_CLOSE_EXTENSION 1010
#define WS_CLOSE_INTERNAL 1011
/* 1 when code may appear in a close frame: 1000-1003, 1007-1014, 3000-4999 (§7.4). */
WSDEF int ws_close_code_valid(unsigned code);

/* ===================================================================================
   4. Handshake (RFC 6455 §4): HTTP/1.1 Upgrade, both roles, and ws:// URLs
   =================================================================================== */

#define WS_KEY_LEN 24    /* base64 of 16 bytes */
#define WS_ACCEPT_LEN 28 /* base64 of a SHA-1 digest */

/* Sec-WebSocket-Accept for a key (§4.2.2 item 5.4): base64(SHA-1(key + GUID)). Writes 28
   characters and a NUL. */
WSDEF void ws_accept_key(const char *key, size_t key_len, char out[WS_ACCEPT_LEN + 1]);

/* A fresh Sec-WebSocket-Key: 16 bytes from rng, base64. Writes 24 characters and a NUL. */
WSDEF ws_result ws_make_key(ws_rng_fn rng, void *rng_ctx, char out[WS_KEY_LEN + 1]);

/* Header helpers over a raw HTTP head (the bytes up to and including the blank line):
   ws_header_find looks a name up case-insensitively and gives the value with the outer
   white space trimmed (the first occurrence; returns 1 if found). ws_token_next walks a
   comma-separated list: *list shrinks as tokens are taken; returns 0 at the end.
   ws_token_has: 1 if the list holds token (case-insensitive). */
WSDEF int ws_header_find(const char *head, size_t len, const char *name, ws_str *value);
WSDEF int ws_token_next(ws_str *list, ws_str *token);
WSDEF int ws_token_has(ws_str list, const char *token);

/* ws:// and wss:// URLs (§3). host is without the brackets of an IPv6 literal; port is
   the given one or 80/443; resource is path and query ("/" when empty). */
typedef struct ws_url {
    int secure;
    ws_str host;
    unsigned port;
    ws_str resource;
} ws_url;
WSDEF ws_result ws_url_parse(const char *url, size_t len, ws_url *out);

/* Limits for parsing a handshake head; zero fields take the WS_DEFAULT_ values. */
typedef struct ws_hs_limits {
    size_t max_size;
    unsigned max_headers;
} ws_hs_limits;

/* Find the end of an HTTP head. Returns the head's size including the blank line,
   WS_NEED_MORE, or WS_ERR_HS_TOO_LARGE once len passes max_size without one. Meant to be
   called again as bytes arrive: `from` is how many bytes were already searched. */
WSDEF int ws_http_head_end(const char *buf, size_t len, size_t from, size_t max_size);

#ifndef WS_NO_SERVER
/* A client's opening handshake, parsed (§4.2.1). Views point into the caller's buffer. */
typedef struct ws_request {
    ws_str method, target;      /* "GET", "/chat?x=1" */
    ws_str host, origin, key, version;
    ws_str protocols;           /* Sec-WebSocket-Protocol: comma list, maybe empty */
    ws_str extensions;          /* Sec-WebSocket-Extensions, maybe empty */
    const char *head;           /* the whole head, for ws_header_find */
    size_t head_len;
    unsigned header_count;
} ws_request;

/* Parse and validate a complete request head (see ws_http_head_end). Returns WS_OK or a
   WS_ERR_HS_* code; ws_hs_status tells which HTTP status to answer (400, 426, 431). */
WSDEF ws_result ws_request_parse(const char *head, size_t len, const ws_hs_limits *lim,
                                 ws_request *req);

/* The 101 response to req (§4.2.2): Sec-WebSocket-Accept, the chosen subprotocol (NULL
   for none; it must be one req offered), extra header lines ("Name: value\r\n"...; NULL
   for none). Returns the size written or WS_ERR_BUFFER / WS_ERR_ARG. */
WSDEF int ws_response_build(char *buf, size_t cap, const ws_request *req, const char *protocol,
                            const char *extra_headers);

/* A refusal: "HTTP/1.1 <status> <reason>", Connection: close, Content-Length: 0, and for
   426 the Sec-WebSocket-Version: 13 the RFC asks for (§4.4). */
WSDEF int ws_reject_build(char *buf, size_t cap, int status, const char *extra_headers);
#endif

/* The HTTP status that answers a failed request parse: 426 for the version, 431 for
   size, 400 otherwise. */
WSDEF int ws_hs_status(ws_result r);

#ifndef WS_NO_CLIENT
/* What the client asks for. Strings are NUL-terminated and only read during the call. */
typedef struct ws_client_options {
    const char *url;            /* ws://host[:port]/path?query, wss:// or ws://[::1]:9001/ */
    const char *protocols;      /* "chat, superchat" or NULL */
    const char *origin;         /* NULL: no Origin header */
    const char *extra_headers;  /* "Authorization: ...\r\nCookie: ...\r\n" or NULL */
} ws_client_options;

/* Build the request (§4.1) for the given key into buf; returns its size or an error. */
WSDEF int ws_request_build(char *buf, size_t cap, const ws_client_options *o, const char *key);

/* A server's response head, parsed and verified against what the client sent (§4.1
   items 1-6 of the response rules). On failure status_line still tells what came back. */
typedef struct ws_response {
    int status;                 /* 101 on success */
    ws_str status_line;         /* "HTTP/1.1 101 Switching Protocols" */
    ws_str protocol;            /* the subprotocol chosen, maybe empty */
    const char *head;
    size_t head_len;
} ws_response;
WSDEF ws_result ws_response_parse(const char *head, size_t len, const ws_hs_limits *lim,
                                  const char *key, const char *offered_protocols,
                                  ws_response *res);
#endif

/* ===================================================================================
   5. Connection: the sans-I/O state machine (RFC 6455 §5-§7)
   =================================================================================== */

typedef enum ws_role { WS_ROLE_CLIENT = 0, WS_ROLE_SERVER = 1 } ws_role;

typedef enum ws_state {
    WS_STATE_CONNECTING = 0,    /* handshake in progress */
    WS_STATE_OPEN = 1,
    WS_STATE_CLOSING = 2,       /* a close frame went one way */
    WS_STATE_CLOSED = 3         /* both ways, or failed: close the transport (ws_conn_wants) */
} ws_state;

typedef enum ws_event_type {
    WS_EV_REQUEST = 1,  /* server: request arrived; call ws_accept or ws_reject now */
    WS_EV_OPEN,         /* handshake done; protocol is the chosen subprotocol (maybe empty) */
    WS_EV_MESSAGE,      /* a whole text/binary message (opcode, data, len) */
    WS_EV_FRAGMENT,     /* streaming mode: the next piece of a message; fin on its last */
    WS_EV_PING,         /* payload in data/len; the pong is already queued */
    WS_EV_PONG,
    WS_EV_CLOSE,        /* peer's close frame: code (1005 when it had none) and reason */
    WS_EV_ERROR         /* failed: error, code sent/reported; for a refused client
                           handshake data/len hold the server's status line */
} ws_event_type;

typedef struct ws_event {
    ws_event_type type;
    ws_opcode opcode;           /* MESSAGE, FRAGMENT: WS_OP_TEXT or WS_OP_BINARY */
    int fin;                    /* FRAGMENT: 1 on the message's last piece */
    const void *data;           /* payload, close reason, status line; valid during the call */
    size_t len;
    unsigned code;              /* CLOSE, ERROR: close status code */
    ws_result error;            /* ERROR */
    const ws_request *request;  /* REQUEST (server) */
    ws_str protocol;            /* OPEN */
} ws_event;

typedef struct ws_conn ws_conn;

/* Events come out of ws_conn_feed and ws_conn_tick through this callback. It may send,
   ping or close on c; it must not free c. Data pointers are valid only during the call. */
typedef void (*ws_event_fn)(ws_conn *c, const ws_event *ev, void *user);

typedef struct ws_config {
    ws_role role;
    ws_event_fn on_event;
    void *user;
    ws_rng_fn rng;              /* required for clients (WS_ERR_NO_RNG otherwise) */
    void *rng_ctx;
    ws_allocator allocator;     /* zero: WS_MALLOC/WS_FREE */
    /* Caller-provided buffers. With both set and no allocator the connection never
       allocates. recv_buf holds the handshake head and, in message mode, the message
       being assembled; send_buf is the output queue. */
    void *recv_buf;
    size_t recv_buf_size;
    void *send_buf;
    size_t send_buf_size;
    size_t max_message;         /* 0: WS_DEFAULT_MAX_MESSAGE; past it fail with 1009 */
    size_t max_queue;           /* 0: WS_DEFAULT_MAX_QUEUE (allocating mode) */
    size_t max_handshake;       /* 0: WS_DEFAULT_MAX_HANDSHAKE */
    unsigned max_headers;       /* 0: WS_DEFAULT_MAX_HEADERS */
    int streaming;              /* 1: WS_EV_FRAGMENT pieces instead of WS_EV_MESSAGE */
    int skip_handshake;         /* 1: start OPEN (the handshake was done elsewhere) */
    uint32_t ping_interval_ms;  /* 0: no keep-alive pings */
    uint32_t pong_timeout_ms;   /* 0: ping_interval_ms */
    uint32_t close_timeout_ms;  /* 0: WS_DEFAULT_CLOSE_TIMEOUT */
} ws_config;

/* The connection. Its fields are private (ws__ names) but public so you can place it
   anywhere: on the stack, in an array, inside your own struct. */
struct ws_conn {
    ws_event_fn on_event;
    void *user;
    ws_rng_fn rng;
    void *rng_ctx;
    ws_allocator alloc;
    unsigned char *ws__out;      /* output queue [out_head, out_tail) */
    size_t ws__out_cap, ws__out_head, ws__out_tail, ws__max_queue;
    unsigned char *ws__in;       /* handshake head / message assembly */
    size_t ws__in_cap, ws__in_len, ws__max_message;
    uint64_t ws__left;           /* payload bytes left in the current frame */
    uint64_t ws__now, ws__ping_at, ws__close_at;
    uint32_t ws__ping_interval, ws__pong_timeout, ws__close_timeout;
    uint32_t ws__utf8, ws__send_utf8;
    uint16_t ws__max_handshake, ws__max_headers, ws__close_code;
    unsigned char ws__state, ws__role, ws__flags, ws__error_code_unused;
    signed char ws__error;
    unsigned char ws__hdr[WS_MAX_HEADER], ws__hdr_len;
    unsigned char ws__key[4], ws__phase;
    unsigned char ws__op, ws__msg_op, ws__send_op, ws__fin;
    unsigned char ws__pend_op, ws__ctrl_len;
    unsigned char ws__ctrl[WS_MAX_CONTROL];
};

/* Defaults for role: every limit at its WS_DEFAULT_, no buffers, no callback. */
WSDEF void ws_config_init(ws_config *cfg, ws_role role);

/* Set up c. A client also needs ws_client_start. Returns WS_ERR_NO_RNG for a client
   without rng, WS_ERR_ARG for buffers too small to hold a handshake. */
WSDEF ws_result ws_conn_init(ws_conn *c, const ws_config *cfg);

/* Free whatever c allocated. c may not be used afterwards (but may be inited again). */
WSDEF void ws_conn_free(ws_conn *c);

#ifndef WS_NO_CLIENT
/* Queue the client's request (§4.1) with a fresh key. The response arrives via feed. */
WSDEF ws_result ws_client_start(ws_conn *c, const ws_client_options *o);
#endif

#ifndef WS_NO_SERVER
/* In WS_EV_REQUEST only: accept with one of the offered subprotocols (or NULL) and extra
   header lines, or refuse with an HTTP status (403, 404...). Not calling either accepts
   without a subprotocol. */
WSDEF ws_result ws_accept(ws_conn *c, const char *protocol, const char *extra_headers);
WSDEF ws_result ws_reject(ws_conn *c, int status, const char *extra_headers);
#endif

/* Give the connection bytes that arrived. data is modified (server: unmasked in place).
   *consumed says how many bytes were taken. Returns WS_OK when all were; WS_WOULD_BLOCK
   when it stopped because a pong or close reply does not fit in the output queue (send
   some output, then feed the rest again); otherwise the connection's error, which sticks:
   every later call returns it. Events are delivered during the call. */
WSDEF ws_result ws_conn_feed(ws_conn *c, void *data, size_t len, size_t *consumed);

/* The transport reached end of file. Before the close handshake that is an abnormal
   closure (WS_EV_ERROR with WS_ERR_EOF, code 1006). */
WSDEF void ws_conn_eof(ws_conn *c);

/* Bytes waiting to be written: *data points at them, the count is returned (0: none).
   After writing n of them, ws_conn_consume(c, n). */
WSDEF size_t ws_conn_output(ws_conn *c, const void **data);
WSDEF void ws_conn_consume(ws_conn *c, size_t n);

/* Sending (§5.6, §6.1). opcode is WS_OP_TEXT or WS_OP_BINARY; text must be valid UTF-8.
   All or nothing: WS_WOULD_BLOCK when the queue has no room for the whole frame now
   (nothing was queued), WS_ERR_TOO_BIG when it never will, WS_ERR_CLOSED after a close. */
WSDEF ws_result ws_send(ws_conn *c, ws_opcode opcode, const void *data, size_t len);
/* One frame of a message sent in pieces: opcode of the message on every call (the first
   frame carries it, the rest are continuations); fin = 1 ends the message. Control
   frames may go out between the pieces; ws_send may not. */
WSDEF ws_result ws_send_fragment(ws_conn *c, ws_opcode opcode, const void *data, size_t len,
                                 int fin);
WSDEF ws_result ws_ping(ws_conn *c, const void *data, size_t len);
WSDEF ws_result ws_pong(ws_conn *c, const void *data, size_t len);
/* Start the close handshake (§7.1.2): code 0 sends an empty close, otherwise a valid
   code (ws_close_code_valid) with a UTF-8 reason of at most 123 bytes. Nothing is sent
   after it. */
WSDEF ws_result ws_close(ws_conn *c, unsigned code, const char *reason, size_t reason_len);

/* Time, only from here: now_ms from any monotonic clock. Sends keep-alive pings, fails
   the connection (WS_ERR_TIMEOUT) when a pong or a close reply is late, and ends a
   client's wait for the server to close the transport. Call it every few hundred ms. */
WSDEF void ws_conn_tick(ws_conn *c, uint64_t now_ms);

WSDEF ws_state ws_conn_state(const ws_conn *c);
WSDEF size_t ws_conn_queued(const ws_conn *c);   /* bytes queued, not yet consumed */
WSDEF ws_result ws_conn_error(const ws_conn *c); /* the sticky error, or WS_OK */

#define WS_WANT_READ 1u
#define WS_WANT_WRITE 2u
/* What the transport should wait for next. 0: close the transport now (after a clean
   close, or a failure once the close frame or refusal has been written). */
WSDEF unsigned ws_conn_wants(const ws_conn *c);

/* ===================================================================================
   6. I/O driver: pump a connection through read/write callbacks
   =================================================================================== */

/* Return the count moved (1..len), 0 for end of file (read only), WS_WOULD_BLOCK when
   the transport has nothing or no room now, or another negative for a failure. Partial
   counts are fine: nothing is lost or sent twice. */
typedef struct ws_io {
    long (*read)(void *user, void *buf, size_t len);
    long (*write)(void *user, const void *buf, size_t len);
    void *user;
} ws_io;

typedef struct ws_stream {
    ws_conn *conn;
    ws_io io;
    unsigned char *buf;          /* read buffer (caller's) */
    size_t cap, pos, len;
    int eof;
} ws_stream;

/* buf is where reads land (and frames are unmasked); 4 KiB is plenty, any size works. */
WSDEF void ws_stream_init(ws_stream *s, ws_conn *c, const ws_io *io, void *buf, size_t cap);

/* Write what is queued, read and feed what arrives, until both directions would block
   (or a blocking transport has served one read). Returns WS_OK, or the connection's
   error / WS_ERR_IO. Check ws_stream_wants afterwards. */
WSDEF ws_result ws_stream_pump(ws_stream *s);

/* Like ws_conn_wants, but knows about input still waiting in the read buffer. */
WSDEF unsigned ws_stream_wants(const ws_stream *s);

#ifdef __cplusplus
}
#endif
#endif /* WS_H_INCLUDED */
