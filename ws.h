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
      WS_NO_CLIENT              leave out the client handshake, client role and ws_url_parse
      WS_NO_SERVER              leave out the server handshake and server role
      WS_NO_HANDSHAKE           leave out layer 4; connections start in OPEN
      WS_NO_STDLIB              no malloc/free/memcpy/memset from libc; give allocators and
                                WS_MEMCPY/WS_MEMSET, or use only caller-provided buffers
      WS_ASSERT(x)              default assert(x)
      WS_MEMCPY(d,s,n) WS_MEMMOVE(d,s,n) WS_MEMSET(d,c,n)   (all or none of the three)
      WS_MALLOC(sz) WS_FREE(p)  default allocator (both or neither)
      WS_REALLOC(p,sz)          optional with them; growth without it copies
      WS_DEFAULT_MAX_MESSAGE    largest whole message delivered           (16 MiB)
      WS_DEFAULT_MAX_QUEUE      largest output queue in allocating mode   (16 MiB + 64 KiB)
      WS_DEFAULT_MAX_HANDSHAKE  largest HTTP request/response head        (8192)
      WS_DEFAULT_MAX_HEADERS    most header lines in a handshake          (64)
      WS_DEFAULT_CLOSE_TIMEOUT  ms to wait for the peer's close / EOF     (5000)
      WS_DEFAULT_HANDSHAKE_TIMEOUT  ms for the opening handshake          (10000)

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
#if defined(__GNUC__) || defined(__clang__)
#define WSDEF static __attribute__((unused))
#else
#define WSDEF static
#endif
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
#ifndef WS_DEFAULT_HANDSHAKE_TIMEOUT
#define WS_DEFAULT_HANDSHAKE_TIMEOUT 10000
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
   asked for. ctx is passed back untouched. A zeroed allocator means WS_MALLOC/WS_FREE
   (and WS_REALLOC). realloc is optional: it lets a buffer grow without holding its old
   and new blocks at once; without it growth is alloc + copy + free, so for that moment
   a buffer may take up to 1.5x its limit. On failure realloc returns NULL and leaves ptr
   as it was. */
typedef struct ws_allocator {
    void *ctx;
    void *(*alloc)(void *ctx, size_t size);
    void (*free)(void *ctx, void *ptr, size_t size);
    void *(*realloc)(void *ctx, void *ptr, size_t old_size, size_t new_size);
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

/* The types of this layer are always declared (events carry a ws_request); its
   functions are left out by WS_NO_HANDSHAKE, and per role by WS_NO_CLIENT/WS_NO_SERVER. */

#define WS_KEY_LEN 24    /* base64 of 16 bytes */
#define WS_ACCEPT_LEN 28 /* base64 of a SHA-1 digest */

#ifndef WS_NO_HANDSHAKE
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

#endif

/* ws:// and wss:// URLs (§3). host is without the brackets of an IPv6 literal; port is
   the given one or 80/443. The resource name of §3 is path followed by query: path is
   "/" when the URL has none, query is "?..." or empty. userinfo and fragments are refused.
   Views point into url (or at a static "/"). */
typedef struct ws_url {
    int secure;
    ws_str host;
    unsigned port;
    ws_str path;
    ws_str query;
} ws_url;
#if !defined(WS_NO_HANDSHAKE) && !defined(WS_NO_CLIENT) /* a client's need */
WSDEF ws_result ws_url_parse(const char *url, size_t len, ws_url *out);
#endif

/* Limits for parsing a handshake head; zero fields take the WS_DEFAULT_ values. */
typedef struct ws_hs_limits {
    size_t max_size;
    unsigned max_headers;
} ws_hs_limits;

/* Find the end of an HTTP head. Returns the head's size including the blank line,
   WS_NEED_MORE, or WS_ERR_HS_TOO_LARGE once len reaches max_size without one (a head must
   fit in max_size bytes). Meant to be called again as bytes arrive: `from` is how many
   bytes were already searched. */
#ifndef WS_NO_HANDSHAKE
WSDEF int ws_http_head_end(const char *buf, size_t len, size_t from, size_t max_size);
#endif

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

#if !defined(WS_NO_SERVER) && !defined(WS_NO_HANDSHAKE)

/* Parse and validate a complete request head (see ws_http_head_end). Returns WS_OK or a
   WS_ERR_HS_* code; ws_hs_status tells which HTTP status to answer (400, 426, 431).
   method and target are filled whenever the request line parsed, even if a later check
   failed, so a server can route plain HTTP requests with the same parser. */
WSDEF ws_result ws_request_parse(const char *head, size_t len, const ws_hs_limits *lim,
                                 ws_request *req);

/* 1 if the client offered exactly this subprotocol. Subprotocol names are compared
   byte for byte (§4.1 makes the client hold the server to its exact offer), unlike the
   case-insensitive header tokens of ws_token_has. */
WSDEF int ws_request_offers(const ws_request *req, const char *protocol);

/* The 101 response to req (§4.2.2): Sec-WebSocket-Accept, the chosen subprotocol (NULL
   for none; it must be one req offered, see ws_request_offers), extra header lines ("Name: value\r\n"...; NULL
   for none). Returns the size written or WS_ERR_BUFFER / WS_ERR_ARG. */
WSDEF int ws_response_build(char *buf, size_t cap, const ws_request *req, const char *protocol,
                            const char *extra_headers);

/* A refusal: "HTTP/1.1 <status> <reason>", Connection: close, Content-Length: 0, and for
   426 the Sec-WebSocket-Version: 13 the RFC asks for (§4.4). */
WSDEF int ws_reject_build(char *buf, size_t cap, int status, const char *extra_headers);
#endif

/* The HTTP status that answers a failed request parse: 426 for the version, 431 for
   size, 400 otherwise. */
#ifndef WS_NO_HANDSHAKE
WSDEF int ws_hs_status(ws_result r);
#endif

/* What the client asks for. Strings are NUL-terminated and only read during the call. */
typedef struct ws_client_options {
    const char *url;            /* ws://host[:port]/path?query, wss:// or ws://[::1]:9001/ */
    const char *protocols;      /* "chat, superchat" or NULL */
    const char *origin;         /* NULL: no Origin header */
    const char *extra_headers;  /* "Authorization: ...\r\nCookie: ...\r\n" or NULL */
} ws_client_options;

/* A server's response head, parsed and verified against what the client sent (§4.1
   items 1-6 of the response rules). On failure status_line still tells what came back. */
typedef struct ws_response {
    int status;                 /* 101 on success */
    ws_str status_line;         /* "HTTP/1.1 101 Switching Protocols" */
    ws_str protocol;            /* the subprotocol chosen, maybe empty */
    const char *head;
    size_t head_len;
} ws_response;

#if !defined(WS_NO_CLIENT) && !defined(WS_NO_HANDSHAKE)

/* Build the request (§4.1) for the given key into buf; returns its size or an error. */
WSDEF int ws_request_build(char *buf, size_t cap, const ws_client_options *o, const char *key);

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
    WS_EV_PING,         /* payload in data/len; its pong is already queued (§5.5.2) */
    WS_EV_PONG,
    WS_EV_CLOSE,        /* peer's close frame: code (1005 when it had none) and reason */
    WS_EV_ERROR         /* failed: error; code is the close code sent (1002, 1007, 1009,
                           1011), 1006 when none could be (EOF, timeout, I/O), or for a
                           failed handshake the HTTP status (the server's refusal, or
                           what a client got; data/len then hold its status line) */
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
       allocates. recv_buf holds the handshake head, in message mode the message being
       assembled (so max_message is at most recv_buf_size - 125), and a control frame's
       payload when it arrives split between reads; send_buf is the output queue. */
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
    uint32_t handshake_timeout_ms; /* 0: WS_DEFAULT_HANDSHAKE_TIMEOUT; counted by ticks */
} ws_config;

/* The connection. Its fields are private (ws__ names) but public so you can place it
   anywhere: on the stack, in an array, inside your own struct. */
struct ws_conn {
    ws_event_fn ws__on_event;
    void *ws__user;
    ws_rng_fn ws__rng;
    void *ws__rng_ctx;
    ws_allocator ws__alloc;
    unsigned char *ws__out;          /* output queue: bytes [out_head, out_tail) */
    size_t ws__out_cap, ws__out_head, ws__out_tail, ws__max_queue;
    unsigned char *ws__in;           /* handshake head, then message assembly, then a
                                        control payload split between reads */
    size_t ws__in_cap, ws__in_len, ws__max_message, ws__max_handshake;
    void *ws__hs;                    /* server, during WS_EV_REQUEST: the request */
    uint64_t ws__left;               /* payload bytes left in the current frame */
    uint64_t ws__now, ws__ping_at, ws__close_at;
    uint32_t ws__ping_interval, ws__pong_timeout, ws__close_timeout, ws__hs_timeout;
    uint32_t ws__utf8, ws__send_utf8, ws__flags, ws__hs_prefix;
    int ws__error;
    uint16_t ws__max_headers;
    unsigned char ws__state, ws__role;
    unsigned char ws__op, ws__msg_op, ws__send_op, ws__fin, ws__phase, ws__hdr_len;
    unsigned char ws__ctrl_len;      /* the current control frame's payload length */
    unsigned char ws__held;          /* queue room held for that frame's reply */
    unsigned char ws__key[4];
    unsigned char ws__hdr[WS_MAX_HEADER];
};

/* Defaults for role: every limit at its WS_DEFAULT_, no buffers, no callback. */
WSDEF void ws_config_init(ws_config *cfg, ws_role role);

/* Set up c. A client also needs ws_client_start. Returns WS_ERR_NO_RNG for a client
   without rng; WS_ERR_ARG for a send_buf under 139 bytes (a whole control frame must
   always fit), a recv_buf under 128 bytes, or no buffer and no allocator. */
WSDEF ws_result ws_conn_init(ws_conn *c, const ws_config *cfg);

/* Free whatever c allocated. c may not be used afterwards (but may be inited again). */
WSDEF void ws_conn_free(ws_conn *c);

#if !defined(WS_NO_CLIENT) && !defined(WS_NO_HANDSHAKE)
/* Queue the client's request (§4.1) with a fresh key. The response arrives via feed. */
WSDEF ws_result ws_client_start(ws_conn *c, const ws_client_options *o);
#endif

#if !defined(WS_NO_SERVER) && !defined(WS_NO_HANDSHAKE)
/* In WS_EV_REQUEST only: accept with one of the offered subprotocols (or NULL) and extra
   header lines, or refuse with an HTTP status (403, 404...). Not calling either accepts
   without a subprotocol. */
WSDEF ws_result ws_accept(ws_conn *c, const char *protocol, const char *extra_headers);
WSDEF ws_result ws_reject(ws_conn *c, int status, const char *extra_headers);
#endif

/* Give the connection bytes that arrived. data is modified (server: unmasked in place).
   *consumed says how many bytes were taken. Returns WS_OK when all were; WS_WOULD_BLOCK
   when it stopped at a ping or close whose reply does not fit in the output queue yet
   (that frame is left unread; send some output, then feed the rest again); otherwise the
   connection's error, which sticks: every later call returns it. Events are delivered
   during the call. From a ping's or close's header until its reply is queued, room for
   the reply is held: sends that would take it get WS_WOULD_BLOCK. */
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
   close, or a failure once the close frame or refusal has been written). No READ while
   ws_conn_feed has stopped at a ping or close whose reply needs queue room: write first. */
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
    size_t cap;
    unsigned char *in;           /* input not yet fed: in buf, or in the stash */
    size_t pos, len;
    int eof, shared;
} ws_stream;

/* buf is where reads land (and frames are unmasked); 4 KiB is plenty, any size works. */
WSDEF void ws_stream_init(ws_stream *s, ws_conn *c, const ws_io *io, void *buf, size_t cap);

/* Let many streams, pumped one at a time, share one read buffer, so an idle connection
   holds none: input still unfed when ws_stream_pump returns (only when the output queue
   was full) moves to an allocation of the connection's own until it is fed. Needs an
   allocator; ws_conn_free frees nothing of it - call ws_stream_free. */
WSDEF void ws_stream_share_buffer(ws_stream *s);
WSDEF void ws_stream_free(ws_stream *s);

/* Write what is queued, then read once and feed what arrived (and write the replies),
   until nothing moves. At most one read per call, so a blocking transport blocks at most
   once; with poll/epoll use level-triggered readiness. Returns WS_OK or the connection's
   sticky error (already reported as WS_EV_ERROR; a failed read or write is WS_ERR_IO).
   Either way ws_stream_wants says what comes next, and 0 means close the transport. */
WSDEF ws_result ws_stream_pump(ws_stream *s);

/* Like ws_conn_wants, but knows about input still waiting in the read buffer. */
WSDEF unsigned ws_stream_wants(const ws_stream *s);

#ifdef __cplusplus
}
#endif
#endif /* WS_H_INCLUDED */

/* ===================================================================================
   IMPLEMENTATION
   =================================================================================== */
#ifdef WS_IMPLEMENTATION
#ifndef WS_IMPLEMENTATION_ONCE
#define WS_IMPLEMENTATION_ONCE

/* ---- 1. Config and platform ------------------------------------------------------ */

#ifndef WS_ASSERT
#include <assert.h>
#define WS_ASSERT(x) assert(x)
#endif

#if defined(WS_MALLOC) != defined(WS_FREE)
#error "ws.h: define both WS_MALLOC and WS_FREE, or neither"
#endif
#if !defined(WS_MALLOC) && !defined(WS_NO_STDLIB)
#include <stdlib.h>
#define WS_MALLOC(sz) malloc(sz)
#define WS_FREE(p) free(p)
#define WS_REALLOC(p, sz) realloc(p, sz)
#endif

#if (defined(WS_MEMCPY) != defined(WS_MEMSET)) || (defined(WS_MEMCPY) != defined(WS_MEMMOVE))
#error "ws.h: define all of WS_MEMCPY, WS_MEMMOVE and WS_MEMSET, or none"
#endif
#ifndef WS_MEMCPY
#ifdef WS_NO_STDLIB
/* Freestanding builds without the three: plain loops, good enough for handshakes and
   the output queue; the hot paths do not call them per byte. */
static void *ws__memcpy(void *d, const void *s, size_t n) {
    unsigned char *dp = (unsigned char *)d;
    const unsigned char *sp = (const unsigned char *)s;
    while (n--) *dp++ = *sp++;
    return d;
}
static void *ws__memmove(void *d, const void *s, size_t n) {
    unsigned char *dp = (unsigned char *)d;
    const unsigned char *sp = (const unsigned char *)s;
    if (dp < sp) return ws__memcpy(d, s, n);
    while (n--) dp[n] = sp[n];
    return d;
}
static void *ws__memset(void *d, int c, size_t n) {
    unsigned char *dp = (unsigned char *)d;
    while (n--) *dp++ = (unsigned char)c;
    return d;
}
#define WS_MEMCPY(d, s, n) ws__memcpy(d, s, n)
#define WS_MEMMOVE(d, s, n) ws__memmove(d, s, n)
#define WS_MEMSET(d, c, n) ws__memset(d, c, n)
#else
#include <string.h>
#define WS_MEMCPY(d, s, n) memcpy(d, s, n)
#define WS_MEMMOVE(d, s, n) memmove(d, s, n)
#define WS_MEMSET(d, c, n) memset(d, c, n)
#endif
#endif

#define WS__MIN(a, b) ((a) < (b) ? (a) : (b))

WSDEF const char *ws_strerror(int r) {
    /* WS__RESULTS runs 0, -1, -2, ... without gaps, so -r indexes its texts. */
#define WS__RESULT_TEXT(name, value, text) text,
    static const char *const texts[] = {WS__RESULTS(WS__RESULT_TEXT)};
#undef WS__RESULT_TEXT
    return r <= 0 && r > -(int)(sizeof texts / sizeof *texts) ? texts[-r] : "unknown result";
}

/* ---- 2. Primitives --------------------------------------------------------------- */

static uint32_t ws__rol(uint32_t x, unsigned n) { return (x << n) | (x >> (32 - n)); }

static void ws__sha1_block(uint32_t h[5], const unsigned char *p) {
    uint32_t w[80], a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], t;
    unsigned i;
    for (i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
    for (; i < 80; i++) w[i] = ws__rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    for (i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20) f = (b & c) | (~b & d), k = 0x5A827999u;
        else if (i < 40) f = b ^ c ^ d, k = 0x6ED9EBA1u;
        else if (i < 60) f = (b & c) | (b & d) | (c & d), k = 0x8F1BBCDCu;
        else f = b ^ c ^ d, k = 0xCA62C1D6u;
        t = ws__rol(a, 5) + f + e + k + w[i];
        e = d, d = c, c = ws__rol(b, 30), b = a, a = t;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e;
}

WSDEF void ws_sha1_init(ws_sha1 *s) {
    s->h[0] = 0x67452301u, s->h[1] = 0xEFCDAB89u, s->h[2] = 0x98BADCFEu;
    s->h[3] = 0x10325476u, s->h[4] = 0xC3D2E1F0u;
    s->total = 0;
}

WSDEF void ws_sha1_update(ws_sha1 *s, const void *data, size_t len) {
    const unsigned char *p = (const unsigned char *)data;
    size_t used = (size_t)(s->total & 63);
    s->total += len;
    if (used) {
        size_t take = WS__MIN(64 - used, len);
        WS_MEMCPY(s->block + used, p, take);
        p += take, len -= take;
        if (used + take < 64) return;
        ws__sha1_block(s->h, s->block);
    }
    for (; len >= 64; p += 64, len -= 64) ws__sha1_block(s->h, p);
    if (len) WS_MEMCPY(s->block, p, len);
}

WSDEF void ws_sha1_final(ws_sha1 *s, unsigned char digest[20]) {
    uint64_t bits = s->total * 8;
    unsigned char pad[72];
    size_t used = (size_t)(s->total & 63), n = (used < 56 ? 56 : 120) - used;
    unsigned i;
    WS_MEMSET(pad, 0, sizeof pad);
    pad[0] = 0x80;
    for (i = 0; i < 8; i++) pad[n + i] = (unsigned char)(bits >> (56 - 8 * i));
    ws_sha1_update(s, pad, n + 8);
    for (i = 0; i < 20; i++) digest[i] = (unsigned char)(s->h[i / 4] >> (24 - 8 * (i % 4)));
}

static const char ws__b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

WSDEF int ws_base64_encode(const void *src, size_t len, char *dst, size_t cap) {
    const unsigned char *s = (const unsigned char *)src;
    size_t out = WS_BASE64_LEN(len), i, o = 0;
    int k;
    if (cap < out + 1 || out > 0x7fffffff) return WS_ERR_BUFFER;
    for (i = 0; i < len; i += 3, o += 4) { /* 3 bytes, zero-padded, make 4 characters */
        uint32_t v = (uint32_t)s[i] << 16;
        if (i + 1 < len) v |= (uint32_t)s[i + 1] << 8;
        if (i + 2 < len) v |= s[i + 2];
        for (k = 0; k < 4; k++) dst[o + k] = ws__b64[(v >> (18 - 6 * k)) & 63];
        if (i + 1 >= len) dst[o + 2] = '=';
        if (i + 2 >= len) dst[o + 3] = '=';
    }
    dst[o] = 0;
    return (int)o;
}

static int ws__b64_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

WSDEF int ws_base64_decode(const char *src, size_t len, void *dst, size_t cap) {
    unsigned char *d = (unsigned char *)dst;
    size_t i, o = 0, pad = 0;
    uint32_t acc = 0;
    unsigned bits = 0;
    if (len % 4 || len / 4 * 3 > 0x7fffffff) return WS_ERR_ARG;
    if (len && src[len - 1] == '=') pad = (len > 1 && src[len - 2] == '=') ? 2 : 1;
    if (len / 4 * 3 - pad > cap) return WS_ERR_BUFFER;
    for (i = 0; i < len - pad; i++) { /* 6 bits a character, out a byte at a time */
        int v = ws__b64_value(src[i]);
        if (v < 0) return WS_ERR_ARG; /* '=' only as the padding */
        acc = acc << 6 | (uint32_t)v, bits += 6;
        if (bits >= 8) bits -= 8, d[o++] = (unsigned char)(acc >> bits);
    }
    /* Canonical form only: the bits the padding leaves over must be zero. */
    if (acc & ((1u << bits) - 1)) return WS_ERR_ARG;
    return (int)o;
}

/* UTF-8 validator state: 0 between code points; otherwise the count of continuation
   bytes still due (bits 0-1) and the range the next one must fall in (lo in bits 8-15,
   hi in bits 16-23). The ranges are what exclude overlongs (E0, F0), surrogates (ED) and
   code points past U+10FFFF (F4); RFC 3629 §4 table. WS__UTF8_BAD sticks after a fault. */
#define WS__UTF8_BAD 0xffffffffu
#define WS__UTF8_NEED(n, lo, hi) ((uint32_t)(n) | (uint32_t)(lo) << 8 | (uint32_t)(hi) << 16)

WSDEF ws_result ws_utf8_feed(ws_utf8 *v, const void *data, size_t len) {
    const unsigned char *s = (const unsigned char *)data, *e;
    uint32_t st = v->state;
    if (st == WS__UTF8_BAD) return WS_ERR_UTF8;
    if (!len) return WS_OK; /* data may be NULL then */
    e = s + len;
    while (s < e) {
        unsigned b;
        if (st == 0) {
            /* ASCII runs, the common case, go a word at a time. */
            while (e - s >= 16) {
                uint64_t w0, w1;
                WS_MEMCPY(&w0, s, 8);
                WS_MEMCPY(&w1, s + 8, 8);
                if ((w0 | w1) & 0x8080808080808080ull) break;
                s += 16;
            }
            while (s < e && *s < 0x80) s++;
            if (s == e) break;
            b = *s++;
            if (b < 0xC2) goto bad; /* continuation byte, or C0/C1 overlong */
            else if (b < 0xE0) st = WS__UTF8_NEED(1, 0x80, 0xBF);
            else if (b < 0xF0)
                st = WS__UTF8_NEED(2, b == 0xE0 ? 0xA0 : 0x80, b == 0xED ? 0x9F : 0xBF);
            else if (b < 0xF5)
                st = WS__UTF8_NEED(3, b == 0xF0 ? 0x90 : 0x80, b == 0xF4 ? 0x8F : 0xBF);
            else goto bad;
        } else {
            b = *s++;
            if (b < ((st >> 8) & 0xff) || b > (st >> 16)) goto bad;
            st = (st & 3) - 1;
            if (st) st = WS__UTF8_NEED(st, 0x80, 0xBF);
        }
    }
    v->state = st;
    return WS_OK;
bad:
    v->state = WS__UTF8_BAD;
    return WS_ERR_UTF8;
}

WSDEF int ws_utf8_done(const ws_utf8 *v) { return v->state == 0; }

WSDEF ws_result ws_utf8_check(const void *data, size_t len) {
    ws_utf8 v = WS_UTF8_INIT;
    if (ws_utf8_feed(&v, data, len) != WS_OK || !ws_utf8_done(&v)) return WS_ERR_UTF8;
    return WS_OK;
}

/* ws_mask's body, inline so that ws_conn_feed's loop over small frames unmasks without a
   call (there the phase is 0 and the length under 126, which the compiler folds in). */
static inline unsigned ws__mask(void *data, size_t len, const unsigned char key[4],
                                unsigned phase) {
    unsigned char *p = (unsigned char *)data;
    phase &= 3;
    /* Words of the key rotated to the current phase: 4 and 8 bytes are whole key periods,
       so the phase is the same after each word. Loads and stores go through memcpy, which
       compilers turn into plain (unaligned-safe) moves: no alignment loop, and right on
       either endianness, since key and data both stay in memory order. */
    if (len >= 4) {
        uint32_t k4, v;
        uint64_t k8, w0, w1, w2, w3;
        if (phase == 0) { /* a whole frame, or the start of one */
            WS_MEMCPY(&k4, key, 4);
        } else {
            unsigned char r[4];
            r[0] = key[phase], r[1] = key[(phase + 1) & 3];
            r[2] = key[(phase + 2) & 3], r[3] = key[(phase + 3) & 3];
            WS_MEMCPY(&k4, r, 4);
        }
        k8 = (uint64_t)k4 << 32 | k4; /* the 4 bytes twice, in either byte order */
        for (; len >= 32; p += 32, len -= 32) { /* a shape compilers vectorize */
            WS_MEMCPY(&w0, p, 8);
            WS_MEMCPY(&w1, p + 8, 8);
            WS_MEMCPY(&w2, p + 16, 8);
            WS_MEMCPY(&w3, p + 24, 8);
            w0 ^= k8, w1 ^= k8, w2 ^= k8, w3 ^= k8;
            WS_MEMCPY(p, &w0, 8);
            WS_MEMCPY(p + 8, &w1, 8);
            WS_MEMCPY(p + 16, &w2, 8);
            WS_MEMCPY(p + 24, &w3, 8);
        }
        /* under 32 bytes left: at most one step of each size, no loop */
        if (len & 16) {
            WS_MEMCPY(&w0, p, 8);
            WS_MEMCPY(&w1, p + 8, 8);
            w0 ^= k8, w1 ^= k8;
            WS_MEMCPY(p, &w0, 8);
            WS_MEMCPY(p + 8, &w1, 8);
            p += 16;
        }
        if (len & 8) {
            WS_MEMCPY(&w0, p, 8);
            w0 ^= k8;
            WS_MEMCPY(p, &w0, 8);
            p += 8;
        }
        if (len & 4) {
            WS_MEMCPY(&v, p, 4);
            v ^= k4;
            WS_MEMCPY(p, &v, 4);
            p += 4;
        }
        len &= 3;
    }
    while (len--) {
        *p++ ^= key[phase];
        phase = (phase + 1) & 3;
    }
    return phase;
}

WSDEF unsigned ws_mask(void *data, size_t len, const unsigned char key[4], unsigned phase) {
    return ws__mask(data, len, key, phase);
}

/* ---- 3. Frame codec -------------------------------------------------------------- */

WSDEF int ws_frame_decode(const void *data, size_t avail, ws_frame *f) {
    const unsigned char *p = (const unsigned char *)data;
    unsigned op, len7;
    int n = 2;
    if (avail < 2) return WS_NEED_MORE;
    op = p[0] & 0x0f;
    len7 = p[1] & 0x7f;
    f->fin = (unsigned char)(p[0] >> 7);
    f->rsv = (unsigned char)((p[0] >> 4) & 7);
    f->opcode = (unsigned char)op;
    f->masked = (unsigned char)(p[1] >> 7);
    if (!(0x0707u >> op & 1)) return WS_ERR_PROTOCOL; /* §5.2: only 0-2 and 8-A are defined */
    if ((op & 8) && !f->fin) return WS_ERR_PROTOCOL; /* §5.5: never fragmented */
    if (len7 < 126) {
        f->len = len7;
    } else if (len7 == 126) {
        if (avail < 4) return WS_NEED_MORE;
        f->len = (uint64_t)p[2] << 8 | p[3];
        n = 4;
    } else {
        unsigned i;
        if (avail < 10) return WS_NEED_MORE;
        if (p[2] & 0x80) return WS_ERR_PROTOCOL; /* §5.2: the most significant bit MUST be 0 */
        f->len = 0;
        for (i = 2; i < 10; i++) f->len = f->len << 8 | p[i];
        n = 10;
    }
    if ((op & 8) && f->len > WS_MAX_CONTROL) return WS_ERR_PROTOCOL; /* §5.5 */
    if (f->masked) {
        if (avail < (size_t)n + 4) return WS_NEED_MORE;
        WS_MEMCPY(f->key, p + n, 4);
        n += 4;
    }
    return n;
}

WSDEF ws_result ws_frame_check(const ws_frame *f, int is_server, unsigned rsv_allowed) {
    if (f->rsv & ~rsv_allowed) return WS_ERR_PROTOCOL;
    if ((f->masked != 0) != (is_server != 0)) return WS_ERR_PROTOCOL;
    return WS_OK;
}

WSDEF size_t ws_frame_encode(unsigned char out[WS_MAX_HEADER], const ws_frame *f) {
    size_t n;
    out[0] = (unsigned char)((f->fin ? 0x80 : 0) | (f->rsv & 7) << 4 | (f->opcode & 0x0f));
    if (f->len < 126) {
        out[1] = (unsigned char)f->len;
        n = 2;
    } else if (f->len <= 0xffff) {
        out[1] = 126;
        out[2] = (unsigned char)(f->len >> 8), out[3] = (unsigned char)f->len;
        n = 4;
    } else {
        unsigned i;
        out[1] = 127;
        for (i = 0; i < 8; i++) out[2 + i] = (unsigned char)(f->len >> (56 - 8 * i));
        n = 10;
    }
    if (f->masked) {
        out[1] |= 0x80;
        WS_MEMCPY(out + n, f->key, 4);
        n += 4;
    }
    return n;
}

WSDEF int ws_close_code_valid(unsigned code) {
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

/* ---- 4. Handshake ---------------------------------------------------------------- */
#ifndef WS_NO_HANDSHAKE

static const char ws__guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"; /* §1.3 */

WSDEF void ws_accept_key(const char *key, size_t key_len, char out[WS_ACCEPT_LEN + 1]) {
    ws_sha1 s;
    unsigned char digest[20];
    ws_sha1_init(&s);
    ws_sha1_update(&s, key, key_len);
    ws_sha1_update(&s, ws__guid, sizeof ws__guid - 1);
    ws_sha1_final(&s, digest);
    ws_base64_encode(digest, 20, out, WS_ACCEPT_LEN + 1);
}

WSDEF ws_result ws_make_key(ws_rng_fn rng, void *rng_ctx, char out[WS_KEY_LEN + 1]) {
    unsigned char nonce[16];
    if (!rng) return WS_ERR_NO_RNG;
    if (rng(rng_ctx, nonce, sizeof nonce) != 0) return WS_ERR_RNG;
    ws_base64_encode(nonce, sizeof nonce, out, WS_KEY_LEN + 1);
    return WS_OK;
}

static size_t ws__strlen(const char *s) {
    size_t n = 0;
    if (s) while (s[n]) n++;
    return n;
}

static int ws__memeq(const void *a, const void *b, size_t n) {
    const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
    unsigned char d = 0;
    while (n--) d |= *x++ ^ *y++;
    return d == 0;
}

static int ws__lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

static int ws__ieq(const char *a, size_t n, const char *b) {
    size_t i;
    for (i = 0; i < n; i++)
        if (!b[i] || ws__lower((unsigned char)a[i]) != ws__lower((unsigned char)b[i])) return 0;
    return b[n] == 0;
}

static int ws__is_ows(char c) { return c == ' ' || c == '\t'; }

static ws_str ws__trim(const char *p, size_t n) {
    ws_str s;
    while (n && ws__is_ows(*p)) p++, n--;
    while (n && ws__is_ows(p[n - 1])) n--;
    s.p = p, s.n = n;
    return s;
}

/* RFC 7230 §3.2.6 tchar: what a header name or a list token may hold. */
static int ws__is_tchar(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '!' || c == '#' || c == '$' || c == '%' || c == '&' || c == '\'' || c == '*' ||
           c == '+' || c == '-' || c == '.' || c == '^' || c == '_' || c == '`' || c == '|' ||
           c == '~';
}

WSDEF int ws_http_head_end(const char *buf, size_t len, size_t from, size_t max_size) {
    size_t i = from >= 3 ? from - 3 : 0;
    if (max_size > 0x7fffffff) max_size = 0x7fffffff;
    for (; i + 3 < len && i + 4 <= max_size; i++)
        if (buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r' && buf[i + 3] == '\n')
            return (int)(i + 4);
    return len >= max_size ? WS_ERR_HS_TOO_LARGE : WS_NEED_MORE;
}

/* Header lines after the start line, one per call: returns 1 with name and value
   (value trimmed), 0 at the blank line that ends the head, or a negative result for a
   line that is not "token: value" (obsolete folding included, RFC 7230 §3.2.4). */
static int ws__header_next(const char **pp, const char *end, ws_str *name, ws_str *value) {
    const char *p = *pp, *line = p, *colon = 0;
    for (; p + 1 < end && !(p[0] == '\r' && p[1] == '\n'); p++) {
        unsigned char c = (unsigned char)*p;
        if (!colon && c == ':') colon = p;
        else if (c == '\r' || c == '\n' || c == 0 || (c < 0x20 && c != '\t') || c == 0x7f)
            return WS_ERR_HS_MALFORMED;
    }
    if (p + 1 >= end) return WS_ERR_HS_MALFORMED;
    *pp = p + 2;
    if (p == line) return 0;
    if (!colon || colon == line) return WS_ERR_HS_MALFORMED;
    name->p = line, name->n = (size_t)(colon - line);
    {
        size_t i;
        for (i = 0; i < name->n; i++)
            if (!ws__is_tchar((unsigned char)line[i])) return WS_ERR_HS_MALFORMED;
    }
    *value = ws__trim(colon + 1, (size_t)(p - colon - 1));
    return 1;
}

/* The first line of a head: up to its CRLF. */
static const char *ws__start_line(const char *head, size_t len, ws_str *line) {
    const char *p = head, *end = head + len;
    while (p + 1 < end && !(p[0] == '\r' && p[1] == '\n')) p++;
    line->p = head, line->n = (size_t)(p - head);
    return p + 1 < end ? p + 2 : 0;
}

WSDEF int ws_header_find(const char *head, size_t len, const char *name, ws_str *value) {
    const char *p, *end = head + len;
    ws_str n, v, line;
    p = ws__start_line(head, len, &line);
    if (!p) return 0;
    while (ws__header_next(&p, end, &n, &v) == 1)
        if (ws__ieq(n.p, n.n, name)) {
            *value = v;
            return 1;
        }
    return 0;
}

WSDEF int ws_token_next(ws_str *list, ws_str *token) {
    const char *p = list->p, *end;
    if (!list->n) return 0; /* an absent header is {NULL, 0} */
    end = p + list->n;
    for (;;) {
        const char *start;
        while (p < end && (ws__is_ows(*p) || *p == ',')) p++;
        if (p == end) break;
        start = p;
        while (p < end && *p != ',') p++;
        *token = ws__trim(start, (size_t)(p - start));
        list->p = p, list->n = (size_t)(end - p);
        if (token->n) return 1;
    }
    list->p = end, list->n = 0;
    return 0;
}

WSDEF int ws_token_has(ws_str list, const char *token) {
    /* A copy made field by field: walking `list` itself through a pointer makes GCC copy
       the argument with memcpy once this is inlined on Cortex-M0 (-O2), and a
       WS_NO_STDLIB build has no memcpy. */
    ws_str l, t;
    l.p = list.p, l.n = list.n;
    while (ws_token_next(&l, &t))
        if (ws__ieq(t.p, t.n, token)) return 1;
    return 0;
}

#ifndef WS_NO_CLIENT
static int ws__parse_port(const char *p, size_t n, unsigned *port) {
    unsigned v = 0;
    size_t i;
    if (n == 0 || n > 5) return 0;
    for (i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return 0;
        v = v * 10 + (unsigned)(p[i] - '0');
    }
    if (v == 0 || v > 65535) return 0;
    *port = v;
    return 1;
}

WSDEF ws_result ws_url_parse(const char *url, size_t len, ws_url *out) {
    const char *p = url, *end = url + len, *auth, *auth_end, *h, *h_end, *colon = 0;
    size_t i;
    if (len >= 5 && ws__ieq(url, 5, "ws://")) out->secure = 0, p += 5;
    else if (len >= 6 && ws__ieq(url, 6, "wss://")) out->secure = 1, p += 6;
    else return WS_ERR_URL;
    out->port = out->secure ? 443 : 80;
    for (i = 0; i < len; i++) /* §3: no fragment; no white space or control bytes */
        if (url[i] == '#' || (unsigned char)url[i] <= ' ' || url[i] == 0x7f) return WS_ERR_URL;
    auth = p;
    while (p < end && *p != '/' && *p != '?') p++;
    auth_end = p;
    if (auth == auth_end) return WS_ERR_URL;
    for (h = auth; h < auth_end; h++)
        if (*h == '@') return WS_ERR_URL; /* user info has no place in a WebSocket URI */
    if (*auth == '[') {
        h = auth + 1;
        h_end = h;
        while (h_end < auth_end && *h_end != ']') h_end++;
        if (h_end == auth_end || h_end == h) return WS_ERR_URL;
        for (i = 0; h + i < h_end; i++) {
            char c = h[i];
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
                  c == ':' || c == '.'))
                return WS_ERR_URL;
        }
        if (h_end + 1 < auth_end) {
            if (h_end[1] != ':') return WS_ERR_URL;
            colon = h_end + 1;
        }
    } else {
        h = auth;
        for (h_end = auth; h_end < auth_end && *h_end != ':'; h_end++)
            if (*h_end == '[' || *h_end == ']') return WS_ERR_URL;
        if (h_end == h) return WS_ERR_URL;
        if (h_end < auth_end) colon = h_end;
    }
    if (colon && !ws__parse_port(colon + 1, (size_t)(auth_end - colon - 1), &out->port))
        return WS_ERR_URL;
    out->host.p = h, out->host.n = (size_t)(h_end - h);
    for (p = auth_end; p < end && *p != '?'; p++) {}
    out->path.p = auth_end, out->path.n = (size_t)(p - auth_end);
    out->query.p = p, out->query.n = (size_t)(end - p);
    if (out->path.n == 0) out->path.p = "/", out->path.n = 1;
    return WS_OK;
}
#endif /* WS_NO_CLIENT */

/* Bounded string building for heads: every append checks the room left, so a short
   buffer fails cleanly with WS_ERR_BUFFER instead of writing past it. */
typedef struct ws__buf {
    char *p;
    size_t cap, n;
    int overflow;
} ws__buf;

static void ws__put(ws__buf *b, const char *s, size_t n) {
    if (b->overflow || n > b->cap - b->n) {
        b->overflow = 1;
        return;
    }
    WS_MEMCPY(b->p + b->n, s, n);
    b->n += n;
}
static void ws__puts(ws__buf *b, const char *s) { ws__put(b, s, ws__strlen(s)); }
static void ws__putu(ws__buf *b, unsigned v) {
    char d[12];
    size_t i = sizeof d;
    do d[--i] = (char)('0' + v % 10), v /= 10;
    while (v);
    ws__put(b, d + i, sizeof d - i);
}
static int ws__finish(ws__buf *b) {
    if (b->overflow || b->n > 0x7fffffff) return WS_ERR_BUFFER;
    return (int)b->n;
}

/* Caller-given header text goes into a head verbatim, so it must be whole lines and
   must not end the head early: CRLF-terminated, no empty line, no bare CR or LF. */
static int ws__extra_ok(const char *s) {
    size_t i, n = ws__strlen(s);
    if (n == 0) return 1;
    if (n < 2 || s[n - 2] != '\r' || s[n - 1] != '\n' || s[0] == '\r') return 0;
    for (i = 0; i < n; i++) {
        if (s[i] == '\r' && (i + 1 >= n || s[i + 1] != '\n')) return 0;
        if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) return 0;
        if (s[i] == '\n' && i + 1 < n && s[i + 1] == '\r') return 0;
    }
    return 1;
}


#ifndef WS_NO_SERVER
WSDEF ws_result ws_request_parse(const char *head, size_t len, const ws_hs_limits *lim,
                                 ws_request *req) {
    const char *p, *end = head + len, *sp1, *sp2;
    ws_str line, name, value, upgrade = {0, 0};
    unsigned max_headers = lim && lim->max_headers ? lim->max_headers : WS_DEFAULT_MAX_HEADERS;
    size_t max_size = lim && lim->max_size ? lim->max_size : WS_DEFAULT_MAX_HANDSHAKE;
    int r, conn_upgrade = 0, seen_host = 0, seen_key = 0, seen_version = 0;
    unsigned char nonce[18];

    WS_MEMSET(req, 0, sizeof *req);
    req->head = head, req->head_len = len;
    if (len > max_size) return WS_ERR_HS_TOO_LARGE;
    p = ws__start_line(head, len, &line);
    if (!p) return WS_ERR_HS_MALFORMED;
    /* §4.2.1 item 1: "GET <Request-URI> HTTP/1.1" (or a later HTTP/1.x). */
    for (sp1 = line.p; sp1 < line.p + line.n && *sp1 != ' '; sp1++) {}
    for (sp2 = sp1 + (sp1 < line.p + line.n); sp2 < line.p + line.n && *sp2 != ' '; sp2++) {}
    if (sp1 == line.p || sp2 >= line.p + line.n || sp2 == sp1 + 1) return WS_ERR_HS_MALFORMED;
    req->method.p = line.p, req->method.n = (size_t)(sp1 - line.p);
    req->target.p = sp1 + 1, req->target.n = (size_t)(sp2 - sp1 - 1);
    for (r = 0; (size_t)r < req->method.n; r++)
        if (!ws__is_tchar((unsigned char)req->method.p[r])) return WS_ERR_HS_MALFORMED;
    for (r = 0; (size_t)r < req->target.n; r++)
        if ((unsigned char)req->target.p[r] <= ' ' || req->target.p[r] == 0x7f)
            return WS_ERR_HS_MALFORMED;
    {
        const char *v = sp2 + 1;
        size_t vn = (size_t)(line.p + line.n - v);
        if (vn != 8 || !ws__memeq(v, "HTTP/1.", 7) || v[7] < '1' || v[7] > '9')
            return vn >= 5 && v[0] == 'H' ? WS_ERR_HS_METHOD : WS_ERR_HS_MALFORMED;
    }
    if (req->method.n != 3 || req->method.p[0] != 'G' || req->method.p[1] != 'E' ||
        req->method.p[2] != 'T')
        return WS_ERR_HS_METHOD;

    while ((r = ws__header_next(&p, end, &name, &value)) == 1) {
        if (++req->header_count > max_headers) return WS_ERR_HS_TOO_LARGE;
        if (ws__ieq(name.p, name.n, "host")) {
            if (seen_host++) return WS_ERR_HS_MALFORMED; /* RFC 7230 §5.4: exactly one */
            req->host = value;
        } else if (ws__ieq(name.p, name.n, "upgrade")) {
            upgrade = value;
        } else if (ws__ieq(name.p, name.n, "connection")) {
            conn_upgrade |= ws_token_has(value, "upgrade");
        } else if (ws__ieq(name.p, name.n, "sec-websocket-key")) {
            seen_key++;
            req->key = value;
        } else if (ws__ieq(name.p, name.n, "sec-websocket-version")) {
            seen_version++;
            req->version = value;
        } else if (ws__ieq(name.p, name.n, "origin")) {
            req->origin = value;
        } else if (ws__ieq(name.p, name.n, "sec-websocket-protocol")) {
            if (!req->protocols.p) req->protocols = value;
        } else if (ws__ieq(name.p, name.n, "sec-websocket-extensions")) {
            if (!req->extensions.p) req->extensions = value;
        }
    }
    if (r < 0) return (ws_result)r;
    if (p != end) return WS_ERR_HS_MALFORMED; /* bytes after the blank line are not ours */
    if (!seen_host || req->host.n == 0) return WS_ERR_HS_HOST;             /* item 2 */
    if (!ws_token_has(upgrade, "websocket")) return WS_ERR_HS_UPGRADE;      /* item 3 */
    if (!conn_upgrade) return WS_ERR_HS_CONNECTION;                         /* item 4 */
    /* item 6 before item 5: a request of another version (hixie-76's Key1/Key2 have no
       Sec-WebSocket-Version at all) learns which version we speak (§4.4). */
    if (seen_version != 1 || !ws__ieq(req->version.p, req->version.n, "13"))
        return WS_ERR_HS_VERSION;
    if (seen_key != 1 || req->key.n != WS_KEY_LEN ||
        ws_base64_decode(req->key.p, req->key.n, nonce, sizeof nonce) != 16)
        return WS_ERR_HS_KEY;                                               /* item 5 */
    return WS_OK;
}

WSDEF int ws_request_offers(const ws_request *req, const char *protocol) {
    ws_str list = req->protocols, t;
    size_t n = ws__strlen(protocol);
    while (ws_token_next(&list, &t))
        if (t.n == n && ws__memeq(t.p, protocol, n)) return 1;
    return 0;
}

WSDEF int ws_response_build(char *buf, size_t cap, const ws_request *req, const char *protocol,
                            const char *extra_headers) {
    ws__buf b;
    char accept[WS_ACCEPT_LEN + 1];
    if (protocol && !*protocol) protocol = 0;
    /* §4.2.2 item 5.4: the subprotocol must be one the client offered. */
    if ((protocol && !ws_request_offers(req, protocol)) || !ws__extra_ok(extra_headers))
        return WS_ERR_ARG;
    ws_accept_key(req->key.p, req->key.n, accept);
    b.p = buf, b.cap = cap, b.n = 0, b.overflow = 0;
    ws__puts(&b, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Accept: ");
    ws__put(&b, accept, WS_ACCEPT_LEN);
    ws__puts(&b, "\r\n");
    if (protocol) {
        ws__puts(&b, "Sec-WebSocket-Protocol: ");
        ws__puts(&b, protocol);
        ws__puts(&b, "\r\n");
    }
    if (extra_headers) ws__puts(&b, extra_headers);
    ws__puts(&b, "\r\n");
    return ws__finish(&b);
}

/* Each entry: three status digits, the reason phrase, a NUL. */
static const char ws__reasons[] =
    "400Bad Request\0" "401Unauthorized\0" "403Forbidden\0" "404Not Found\0"
    "405Method Not Allowed\0" "426Upgrade Required\0" "429Too Many Requests\0"
    "431Request Header Fields Too Large\0" "500Internal Server Error\0"
    "503Service Unavailable\0";

static const char *ws__reason_phrase(int status) {
    const char *p;
    for (p = ws__reasons; *p; p += ws__strlen(p) + 1)
        if ((p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0') == status) return p + 3;
    return status < 400 ? "Redirect" : "Error";
}

WSDEF int ws_reject_build(char *buf, size_t cap, int status, const char *extra_headers) {
    ws__buf b;
    if (status < 300 || status > 599 || !ws__extra_ok(extra_headers)) return WS_ERR_ARG;
    b.p = buf, b.cap = cap, b.n = 0, b.overflow = 0;
    ws__puts(&b, "HTTP/1.1 ");
    ws__putu(&b, (unsigned)status);
    ws__puts(&b, " ");
    ws__puts(&b, ws__reason_phrase(status));
    ws__puts(&b, "\r\nConnection: close\r\nContent-Length: 0\r\n");
    if (status == 426) ws__puts(&b, "Sec-WebSocket-Version: 13\r\n");
    if (extra_headers) ws__puts(&b, extra_headers);
    ws__puts(&b, "\r\n");
    return ws__finish(&b);
}
#endif /* WS_NO_SERVER */

WSDEF int ws_hs_status(ws_result r) {
    if (r == WS_ERR_HS_TOO_LARGE) return 431;
    if (r == WS_ERR_HS_VERSION) return 426;
    return 400;
}

#ifndef WS_NO_CLIENT
/* A value that goes on one header line: no CR or LF inside. */
static int ws__value_ok(const char *s) {
    for (; s && *s; s++)
        if (*s == '\r' || *s == '\n') return 0;
    return 1;
}

WSDEF int ws_request_build(char *buf, size_t cap, const ws_client_options *o, const char *key) {
    ws_url u;
    ws__buf b;
    int ipv6 = 0;
    size_t i;
    if (!o || !o->url || !key || ws_url_parse(o->url, ws__strlen(o->url), &u) != WS_OK)
        return !o || !o->url || !key ? WS_ERR_ARG : WS_ERR_URL;
    if (!ws__value_ok(o->protocols) || !ws__value_ok(o->origin) || !ws__extra_ok(o->extra_headers))
        return WS_ERR_ARG;
    for (i = 0; i < u.host.n; i++) ipv6 |= u.host.p[i] == ':';
    b.p = buf, b.cap = cap, b.n = 0, b.overflow = 0;
    ws__puts(&b, "GET ");
    ws__put(&b, u.path.p, u.path.n);
    ws__put(&b, u.query.p, u.query.n);
    ws__puts(&b, " HTTP/1.1\r\nHost: ");
    if (ipv6) ws__puts(&b, "[");
    ws__put(&b, u.host.p, u.host.n);
    if (ipv6) ws__puts(&b, "]");
    if (u.port != (u.secure ? 443u : 80u)) { /* §4.1 item 4: the port only when not default */
        ws__puts(&b, ":");
        ws__putu(&b, u.port);
    }
    ws__puts(&b, "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ");
    ws__puts(&b, key);
    ws__puts(&b, "\r\nSec-WebSocket-Version: 13\r\n");
    if (o->protocols && *o->protocols) {
        ws__puts(&b, "Sec-WebSocket-Protocol: ");
        ws__puts(&b, o->protocols);
        ws__puts(&b, "\r\n");
    }
    if (o->origin && *o->origin) {
        ws__puts(&b, "Origin: ");
        ws__puts(&b, o->origin);
        ws__puts(&b, "\r\n");
    }
    if (o->extra_headers) ws__puts(&b, o->extra_headers);
    ws__puts(&b, "\r\n");
    return ws__finish(&b);
}

WSDEF ws_result ws_response_parse(const char *head, size_t len, const ws_hs_limits *lim,
                                  const char *key, const char *offered_protocols,
                                  ws_response *res) {
    const char *p, *end = head + len;
    ws_str name, value, upgrade = {0, 0}, accept = {0, 0}, ext = {0, 0}, offered, t;
    unsigned max_headers = lim && lim->max_headers ? lim->max_headers : WS_DEFAULT_MAX_HEADERS;
    size_t max_size = lim && lim->max_size ? lim->max_size : WS_DEFAULT_MAX_HANDSHAKE;
    unsigned count = 0;
    int r, conn_upgrade = 0, seen_accept = 0, seen_proto = 0;
    char expect[WS_ACCEPT_LEN + 1];

    WS_MEMSET(res, 0, sizeof *res);
    res->head = head, res->head_len = len;
    p = ws__start_line(head, len, &res->status_line);
    if (len > max_size) return WS_ERR_HS_TOO_LARGE;
    /* "HTTP/1.1 101 Switching Protocols": version, a 3-digit status, a reason. */
    if (!p || res->status_line.n < 12 || !ws__memeq(head, "HTTP/1.", 7) || head[7] < '1' ||
        head[7] > '9' || head[8] != ' ' ||
        head[9] < '1' || head[9] > '5' || head[10] < '0' || head[10] > '9' || head[11] < '0' ||
        head[11] > '9' || (res->status_line.n > 12 && head[12] != ' '))
        return WS_ERR_HS_MALFORMED;
    res->status = (head[9] - '0') * 100 + (head[10] - '0') * 10 + (head[11] - '0');
    if (res->status != 101) return WS_ERR_HS_STATUS; /* §4.1: anything else is a failure */
    while ((r = ws__header_next(&p, end, &name, &value)) == 1) {
        if (++count > max_headers) return WS_ERR_HS_TOO_LARGE;
        /* Field by field: GCC makes this struct copy a memcpy call on Cortex-M0 (-Os),
           which a WS_NO_STDLIB build has no libc for. */
        if (ws__ieq(name.p, name.n, "upgrade")) upgrade.p = value.p, upgrade.n = value.n;
        else if (ws__ieq(name.p, name.n, "connection")) conn_upgrade |= ws_token_has(value, "upgrade");
        else if (ws__ieq(name.p, name.n, "sec-websocket-accept")) seen_accept++, accept = value;
        else if (ws__ieq(name.p, name.n, "sec-websocket-protocol")) seen_proto++, res->protocol = value;
        else if (ws__ieq(name.p, name.n, "sec-websocket-extensions")) {
            if (value.n) ext = value;
        }
    }
    if (r < 0) return (ws_result)r;
    if (p != end) return WS_ERR_HS_MALFORMED;
    if (!ws_token_has(upgrade, "websocket")) return WS_ERR_HS_UPGRADE; /* §4.1 item 2 */
    if (!conn_upgrade) return WS_ERR_HS_CONNECTION;                    /* item 3 */
    ws_accept_key(key, ws__strlen(key), expect);                       /* item 4 */
    if (seen_accept != 1 || accept.n != WS_ACCEPT_LEN || !ws__memeq(accept.p, expect, WS_ACCEPT_LEN))
        return WS_ERR_HS_ACCEPT;
    if (ext.n) return WS_ERR_HS_EXTENSION; /* item 5: we offer none */
    if (seen_proto) {                       /* item 6: one token, and one we offered */
        offered.p = offered_protocols, offered.n = ws__strlen(offered_protocols);
        if (seen_proto > 1 || res->protocol.n == 0) return WS_ERR_HS_PROTOCOL;
        for (r = 0; (size_t)r < res->protocol.n; r++)
            if (!ws__is_tchar((unsigned char)res->protocol.p[r])) return WS_ERR_HS_PROTOCOL;
        for (;;) {
            if (!ws_token_next(&offered, &t)) return WS_ERR_HS_PROTOCOL;
            if (t.n == res->protocol.n && ws__memeq(t.p, res->protocol.p, t.n)) break;
        }
    }
    return WS_OK;
}
#endif /* WS_NO_CLIENT */
#endif /* WS_NO_HANDSHAKE */

/* ---- 5. Connection --------------------------------------------------------------- */

/* ws__flags bits. */
#define WS__F_OUT_FIXED 0x0001u  /* output queue is the caller's send_buf */
#define WS__F_IN_FIXED 0x0002u   /* assembly buffer is the caller's recv_buf */
#define WS__F_STREAMING 0x0004u
#define WS__F_SENT_CLOSE 0x0008u /* our close frame is queued: nothing may follow it */
#define WS__F_GOT_CLOSE 0x0010u  /* peer's close arrived: what follows is dropped */
#define WS__F_SENDING 0x0020u    /* ws_send_fragment began a message not yet finished */
#define WS__F_IN_MSG 0x0040u     /* a fragmented message is arriving */
#define WS__F_IN_FRAME 0x0080u   /* a header was read; its payload is arriving */
#define WS__F_MASKED 0x0100u     /* the current frame is masked */
#define WS__F_PING_OUT 0x0200u   /* keep-alive ping awaits its pong */
#define WS__F_FAILED 0x0400u     /* failed or refused: close the transport once written */
#define WS__F_ABORT 0x0800u      /* close the transport now, written or not */
#define WS__F_EOF 0x1000u
#define WS__F_STARTED 0x2000u    /* client request queued */
#define WS__F_DECIDED 0x4000u    /* server: ws_accept or ws_reject was called */
#define WS__F_CLOSE_TIMER 0x8000u
#define WS__F_STALLED 0x20000u   /* input stopped until the queue has room for a reply */
#define WS__F_WARM 0x40000u      /* frames went through the queue since it was allocated */
#define WS__NEVER ((uint64_t)-1) /* a timer that starts at the next tick */

static void *ws__alloc(ws_conn *c, size_t n) {
    if (c->ws__alloc.alloc) return c->ws__alloc.alloc(c->ws__alloc.ctx, n);
#ifdef WS_MALLOC
    return WS_MALLOC(n);
#else
    return 0;
#endif
}

static void ws__free(ws_conn *c, void *p, size_t n) {
    if (!p) return;
    if (c->ws__alloc.alloc) {
        c->ws__alloc.free(c->ws__alloc.ctx, p, n);
        return;
    }
#ifdef WS_FREE
    WS_FREE(p);
#endif
    (void)n;
}

/* A block of old_cap bytes, the first `keep` of them live, made new_cap bytes long. In
   place when the allocator can (realloc), else a fresh block, a copy, a free. */
static unsigned char *ws__grow(ws_conn *c, unsigned char *old, size_t old_cap, size_t keep,
                               size_t new_cap) {
    unsigned char *p;
    if (!old) return (unsigned char *)ws__alloc(c, new_cap);
    if (c->ws__alloc.alloc) {
        if (c->ws__alloc.realloc)
            return (unsigned char *)c->ws__alloc.realloc(c->ws__alloc.ctx, old, old_cap, new_cap);
    } else {
#ifdef WS_REALLOC
        return (unsigned char *)WS_REALLOC(old, new_cap);
#endif
    }
    p = (unsigned char *)ws__alloc(c, new_cap);
    if (!p) return 0;
    if (keep) WS_MEMCPY(p, old, keep);
    ws__free(c, old, old_cap);
    return p;
}

static void ws__emit(ws_conn *c, ws_event *ev) {
    if (c->ws__on_event) c->ws__on_event(c, ev, c->ws__user);
}

static void ws__event_init(ws_event *ev, ws_event_type type) {
    WS_MEMSET(ev, 0, sizeof *ev);
    ev->type = type;
}

/* The capacity a buffer of cap bytes grows to so that it holds need (<= limit): doubling
   from 256, and the limit itself once doubling would pass it, so growth stays amortized
   right up to the limit and never beyond. Both buffers grow by it. */
static size_t ws__grown_cap(size_t cap, size_t need, size_t limit) {
    WS_ASSERT(need <= limit);
    if (!cap) cap = 256;
    while (cap < need && cap <= limit / 2) cap *= 2;
    return cap < need || cap > limit ? limit : cap;
}

/* The assembly buffer (handshake head, then messages) grows up to `limit`, which the
   caller has already checked the need against; it is freed when empty so an idle
   connection holds none. */
static ws_result ws__in_reserve(ws_conn *c, size_t need, size_t limit) {
    size_t cap;
    unsigned char *p;
    if (need <= c->ws__in_cap) return WS_OK;
    if (c->ws__flags & WS__F_IN_FIXED) return WS_ERR_TOO_BIG;
    cap = ws__grown_cap(c->ws__in_cap, need, limit);
    p = ws__grow(c, c->ws__in, c->ws__in_cap, c->ws__in_len, cap);
    if (!p) return WS_ERR_NOMEM;
    c->ws__in = p, c->ws__in_cap = cap;
    return WS_OK;
}

static void ws__in_release(ws_conn *c) {
    c->ws__in_len = 0;
    if (!(c->ws__flags & WS__F_IN_FIXED)) {
        ws__free(c, c->ws__in, c->ws__in_cap);
        c->ws__in = 0, c->ws__in_cap = 0;
    }
}

#define WS__KEEP_QUEUE 4096

static void ws__out_release(ws_conn *c) {
    if (c->ws__flags & WS__F_OUT_FIXED) return;
    ws__free(c, c->ws__out, c->ws__out_cap);
    c->ws__out = 0, c->ws__out_cap = 0;
    c->ws__flags &= ~WS__F_WARM;
}

/* Room for n more bytes at the end of the output queue, besides the room held for the
   reply to a control frame being read. WS_WOULD_BLOCK while the queue is too full
   (nothing changes), WS_ERR_TOO_BIG when n could never fit. */
static ws_result ws__reserve(ws_conn *c, size_t n, unsigned char **dst) {
    size_t used = c->ws__out_tail - c->ws__out_head;
    if (n > c->ws__max_queue) return WS_ERR_TOO_BIG;
    if (used + c->ws__held > c->ws__max_queue - n) return WS_WOULD_BLOCK;
    if (c->ws__out_cap - c->ws__out_tail < n) {
        /* Move what is queued to the front, then grow if that is not room enough. */
        if (c->ws__out_head) WS_MEMMOVE(c->ws__out, c->ws__out + c->ws__out_head, used);
        c->ws__out_head = 0, c->ws__out_tail = used;
        if (c->ws__out_cap - used < n) {
            size_t cap = ws__grown_cap(c->ws__out_cap, used + n, c->ws__max_queue);
            unsigned char *p = ws__grow(c, c->ws__out, c->ws__out_cap, used, cap);
            if (!p) return WS_ERR_NOMEM;
            c->ws__out = p, c->ws__out_cap = cap;
        }
    }
    *dst = c->ws__out + c->ws__out_tail;
    return WS_OK;
}

/* Queue one frame whose payload is a then b (a close frame's code and reason). Client
   frames get a fresh masking key from the caller's RNG (§5.3). */
static ws_result ws__queue_frame(ws_conn *c, unsigned opcode, int fin, const void *a, size_t an,
                                 const void *b, size_t bn) {
    ws_frame f;
    unsigned char *dst;
    size_t h, len = an + bn;
    ws_result r;
    if (len > (size_t)-1 - WS_MAX_HEADER) return WS_ERR_TOO_BIG;
    f.fin = (unsigned char)(fin != 0), f.rsv = 0, f.opcode = (unsigned char)opcode;
    f.len = len, f.masked = c->ws__role == WS_ROLE_CLIENT;
    h = 2 + (len >= 126 ? 2 : 0) + (len > 0xffff ? 6 : 0) + (f.masked ? 4 : 0);
    r = ws__reserve(c, h + len, &dst);
    if (r != WS_OK) return r;
    if (f.masked && c->ws__rng(c->ws__rng_ctx, f.key, 4) != 0) return WS_ERR_RNG;
    ws_frame_encode(dst, &f);
    if (an) WS_MEMCPY(dst + h, a, an);
    if (bn) WS_MEMCPY(dst + h + an, b, bn);
    if (f.masked) ws_mask(dst + h, len, f.key, 0);
    c->ws__out_tail += h + len;
    c->ws__flags |= WS__F_WARM;
    return WS_OK;
}

/* §7.1.7 Fail the WebSocket Connection: say why with a close frame when one may still
   be sent (send_close), stop reading, report WS_EV_ERROR once; the error sticks. */
static ws_result ws__fail(ws_conn *c, ws_result err, unsigned code, int send_close,
                          const void *data, size_t len) {
    ws_event ev;
    if (c->ws__error) return (ws_result)c->ws__error;
    c->ws__error = err;
    c->ws__held = 0; /* no pong or close echo after this */
    if (send_close && c->ws__state != WS_STATE_CONNECTING && !(c->ws__flags & WS__F_SENT_CLOSE)) {
        unsigned char cc[2];
        cc[0] = (unsigned char)(code >> 8), cc[1] = (unsigned char)code;
        if (ws__queue_frame(c, WS_OP_CLOSE, 1, cc, 2, 0, 0) != WS_OK) c->ws__flags |= WS__F_ABORT;
    }
    c->ws__flags |= WS__F_SENT_CLOSE | WS__F_FAILED;
    c->ws__flags &= ~(WS__F_CLOSE_TIMER | WS__F_PING_OUT);
    c->ws__state = WS_STATE_CLOSED;
    ws__event_init(&ev, WS_EV_ERROR);
    ev.error = err, ev.code = code, ev.data = data, ev.len = len;
    ws__emit(c, &ev);
    ws__in_release(c);
    return err;
}

/* Drop the transport now, queued output or not. Unless the connection had already ended
   (cleanly, or by an earlier failure), that is an abnormal closure: err, reported with
   1006, which is never sent (§7.1.5). */
static ws_result ws__abort(ws_conn *c, ws_result err) {
    c->ws__flags |= WS__F_ABORT;
    if (c->ws__state == WS_STATE_CLOSED) return (ws_result)c->ws__error;
    return ws__fail(c, err, WS_CLOSE_ABNORMAL, 0, 0, 0);
}

static void ws__arm_close_timer(ws_conn *c) {
    c->ws__flags |= WS__F_CLOSE_TIMER;
    c->ws__close_at = c->ws__now; /* WS__NEVER before the first tick: starts there */
}

/* Both close frames have gone their way (§7.1.4). The server closes the transport first
   (§7.1.1); a client waits for that, bounded by the close timeout. */
static void ws__closed(ws_conn *c) {
    c->ws__state = WS_STATE_CLOSED;
    c->ws__flags &= ~(WS__F_CLOSE_TIMER | WS__F_PING_OUT);
    ws__in_release(c);
    if (c->ws__role == WS_ROLE_CLIENT) ws__arm_close_timer(c);
}

WSDEF void ws_config_init(ws_config *cfg, ws_role role) {
    WS_MEMSET(cfg, 0, sizeof *cfg);
    cfg->role = role;
}

WSDEF ws_result ws_conn_init(ws_conn *c, const ws_config *cfg) {
    int can_alloc;
    if (!c || !cfg || (cfg->role != WS_ROLE_CLIENT && cfg->role != WS_ROLE_SERVER)) return WS_ERR_ARG;
    WS_MEMSET(c, 0, sizeof *c);
#ifdef WS_NO_CLIENT
    if (cfg->role == WS_ROLE_CLIENT) return WS_ERR_ARG;
#endif
#ifdef WS_NO_SERVER
    if (cfg->role == WS_ROLE_SERVER) return WS_ERR_ARG;
#endif
    if (cfg->role == WS_ROLE_CLIENT && !cfg->rng) return WS_ERR_NO_RNG;
    if (cfg->allocator.alloc && !cfg->allocator.free) return WS_ERR_ARG;
#ifdef WS_MALLOC
    can_alloc = 1;
#else
    can_alloc = cfg->allocator.alloc != 0;
#endif
    c->ws__on_event = cfg->on_event, c->ws__user = cfg->user;
    c->ws__rng = cfg->rng, c->ws__rng_ctx = cfg->rng_ctx;
    c->ws__alloc = cfg->allocator;
    c->ws__role = (unsigned char)cfg->role;
    c->ws__max_message = cfg->max_message ? cfg->max_message : WS_DEFAULT_MAX_MESSAGE;
    c->ws__max_queue = cfg->max_queue ? cfg->max_queue : WS_DEFAULT_MAX_QUEUE;
    c->ws__max_handshake = cfg->max_handshake ? cfg->max_handshake : WS_DEFAULT_MAX_HANDSHAKE;
    c->ws__max_headers = (uint16_t)WS__MIN(cfg->max_headers ? cfg->max_headers : WS_DEFAULT_MAX_HEADERS, 0xffffu);
    /* Every control frame must always fit, or a pong could wait forever. */
    if (c->ws__max_queue < 256) c->ws__max_queue = 256;
    if (cfg->send_buf) {
        if (cfg->send_buf_size < WS_MAX_HEADER + WS_MAX_CONTROL) return WS_ERR_ARG;
        c->ws__out = (unsigned char *)cfg->send_buf;
        c->ws__out_cap = c->ws__max_queue = cfg->send_buf_size;
        c->ws__flags |= WS__F_OUT_FIXED;
    } else if (!can_alloc) {
        return WS_ERR_ARG;
    }
    if (cfg->recv_buf) {
        if (cfg->recv_buf_size < 128) return WS_ERR_ARG;
        c->ws__in = (unsigned char *)cfg->recv_buf;
        c->ws__in_cap = cfg->recv_buf_size;
        /* A control frame split between reads is gathered after the message so far. */
        c->ws__max_message = WS__MIN(c->ws__max_message, cfg->recv_buf_size - WS_MAX_CONTROL);
        c->ws__max_handshake = WS__MIN(c->ws__max_handshake, cfg->recv_buf_size);
        c->ws__flags |= WS__F_IN_FIXED;
    } else if (!can_alloc) {
        return WS_ERR_ARG;
    }
    if (cfg->streaming) c->ws__flags |= WS__F_STREAMING;
    c->ws__ping_interval = cfg->ping_interval_ms;
    c->ws__pong_timeout = cfg->pong_timeout_ms ? cfg->pong_timeout_ms : cfg->ping_interval_ms;
    c->ws__close_timeout = cfg->close_timeout_ms ? cfg->close_timeout_ms : WS_DEFAULT_CLOSE_TIMEOUT;
    c->ws__now = c->ws__ping_at = c->ws__close_at = WS__NEVER;
    c->ws__hs_timeout = cfg->handshake_timeout_ms ? cfg->handshake_timeout_ms : WS_DEFAULT_HANDSHAKE_TIMEOUT;
#ifdef WS_NO_HANDSHAKE
    c->ws__state = WS_STATE_OPEN;
#else
    c->ws__state = cfg->skip_handshake ? WS_STATE_OPEN : WS_STATE_CONNECTING;
    /* A peer that never finishes the handshake must not hold the connection forever. */
    if (c->ws__state == WS_STATE_CONNECTING) ws__arm_close_timer(c);
#endif
    return WS_OK;
}

WSDEF void ws_conn_free(ws_conn *c) {
    ws__out_release(c);
    ws__in_release(c);
    c->ws__out = c->ws__in = 0; /* caller's buffers too: c is not to be used again */
    c->ws__out_cap = c->ws__in_cap = c->ws__out_head = c->ws__out_tail = 0;
}

/* -- the opening handshake inside a connection -- */
#ifndef WS_NO_HANDSHAKE

#ifndef WS_NO_CLIENT
WSDEF ws_result ws_client_start(ws_conn *c, const ws_client_options *o) {
    char key[WS_KEY_LEN + 1];
    size_t plen, est;
    unsigned char *dst;
    ws_result r;
    int n;
    if (c->ws__role != WS_ROLE_CLIENT || c->ws__state != WS_STATE_CONNECTING ||
        (c->ws__flags & WS__F_STARTED))
        return WS_ERR_STATE;
    if (!o || !o->url) return WS_ERR_ARG;
    r = ws_make_key(c->ws__rng, c->ws__rng_ctx, key);
    if (r != WS_OK) return r;
    plen = ws__strlen(o->protocols);
    /* The request's fixed text is under 200 bytes; the rest is the caller's strings. */
    est = 200 + ws__strlen(o->url) + plen + ws__strlen(o->origin) + ws__strlen(o->extra_headers);
    r = ws__reserve(c, WS__MIN(est, c->ws__max_queue), &dst);
    if (r != WS_OK) return r == WS_WOULD_BLOCK ? WS_ERR_BUFFER : r;
    n = ws_request_build((char *)dst, WS__MIN(est, c->ws__max_queue), o, key);
    if (n < 0) return (ws_result)n;
    /* The key and the offered protocols wait ahead of the response head in the assembly
       buffer, to check the server's answer against (§4.1 items 4 and 6). */
    if (plen + 1 > c->ws__max_handshake / 2) return WS_ERR_TOO_BIG;
    est = sizeof key + (plen ? plen + 1 : 0);
    r = ws__in_reserve(c, est, est);
    if (r != WS_OK) return r;
    WS_MEMCPY(c->ws__in, key, sizeof key);
    if (plen) WS_MEMCPY(c->ws__in + sizeof key, o->protocols, plen + 1);
    c->ws__in_len = c->ws__hs_prefix = (uint32_t)est;
    c->ws__out_tail += (size_t)n;
    c->ws__flags |= WS__F_STARTED;
    return WS_OK;
}

static ws_result ws__hs_response(ws_conn *c, const char *head, size_t n) {
    ws_response res;
    ws_hs_limits lim;
    ws_event ev;
    ws_result r;
    lim.max_size = c->ws__max_handshake, lim.max_headers = c->ws__max_headers;
    r = ws_response_parse(head, n, &lim, (const char *)c->ws__in,
                          c->ws__hs_prefix > WS_KEY_LEN + 1 ? (const char *)c->ws__in + WS_KEY_LEN + 1 : 0,
                          &res);
    if (r != WS_OK) {
        c->ws__flags |= WS__F_ABORT;
        return ws__fail(c, r, (unsigned)res.status, 0, res.status_line.p, res.status_line.n);
    }
    c->ws__state = WS_STATE_OPEN;
    c->ws__flags &= ~WS__F_CLOSE_TIMER;
    ws__event_init(&ev, WS_EV_OPEN);
    ev.protocol = res.protocol;
    if (!ev.protocol.n) ev.protocol.p = "";
    ws__emit(c, &ev);
    c->ws__hs_prefix = 0;
    ws__in_release(c);
    return WS_OK;
}
#endif /* WS_NO_CLIENT */

#ifndef WS_NO_SERVER
/* What ws_accept and ws_reject work on during WS_EV_REQUEST (c->ws__hs). */
typedef struct ws__hs_server {
    const ws_request *req;
    const char *protocol;       /* accepted subprotocol, until WS_EV_OPEN */
} ws__hs_server;

/* Refuse a request with an HTTP status; the transport closes once it is written. */
static ws_result ws__refuse(ws_conn *c, ws_result why, int status) {
    unsigned char *dst = 0;
    int n = WS_ERR_BUFFER;
    if (ws__reserve(c, 160, &dst) == WS_OK) n = ws_reject_build((char *)dst, 160, status, 0);
    if (n < 0) c->ws__flags |= WS__F_ABORT; /* no room even for that: just hang up */
    else c->ws__out_tail += (size_t)n;
    return ws__fail(c, why, (unsigned)status, 0, 0, 0);
}

WSDEF ws_result ws_accept(ws_conn *c, const char *protocol, const char *extra_headers) {
    ws__hs_server *hs = (ws__hs_server *)c->ws__hs;
    size_t plen = ws__strlen(protocol), est;
    unsigned char *dst;
    ws_result r;
    int n;
    if (!hs || (c->ws__flags & WS__F_DECIDED)) return WS_ERR_STATE;
    /* 129 bytes of fixed text, the protocol line, the caller's lines. */
    est = 129 + (plen ? 26 + plen : 0) + ws__strlen(extra_headers);
    r = ws__reserve(c, est, &dst);
    if (r != WS_OK) return r == WS_WOULD_BLOCK ? WS_ERR_BUFFER : r;
    n = ws_response_build((char *)dst, est, hs->req, protocol, extra_headers);
    if (n < 0) return (ws_result)n;
    c->ws__out_tail += (size_t)n;
    c->ws__flags |= WS__F_DECIDED;
    hs->protocol = plen ? protocol : 0;
    c->ws__state = WS_STATE_OPEN;
    return WS_OK;
}

WSDEF ws_result ws_reject(ws_conn *c, int status, const char *extra_headers) {
    size_t est = 120 + ws__strlen(extra_headers);
    unsigned char *dst;
    ws_result r;
    int n;
    if (!c->ws__hs || (c->ws__flags & WS__F_DECIDED)) return WS_ERR_STATE;
    r = ws__reserve(c, est, &dst);
    if (r != WS_OK) return r == WS_WOULD_BLOCK ? WS_ERR_BUFFER : r;
    n = ws_reject_build((char *)dst, est, status, extra_headers);
    if (n < 0) return (ws_result)n;
    c->ws__out_tail += (size_t)n;
    c->ws__flags |= WS__F_DECIDED | WS__F_FAILED | WS__F_SENT_CLOSE;
    c->ws__state = WS_STATE_CLOSED;
    return WS_OK;
}

static ws_result ws__hs_request(ws_conn *c, const char *head, size_t n) {
    ws_request req;
    ws__hs_server hs;
    ws_hs_limits lim;
    ws_event ev;
    ws_result r;
    int accepted;
    lim.max_size = c->ws__max_handshake, lim.max_headers = c->ws__max_headers;
    r = ws_request_parse(head, n, &lim, &req);
    if (r != WS_OK) return ws__refuse(c, r, ws_hs_status(r));
    /* The application sees the request before anything is answered (§4.2.2 item 4:
       it may refuse, or pick one subprotocol). */
    hs.req = &req, hs.protocol = 0;
    c->ws__hs = &hs;
    ws__event_init(&ev, WS_EV_REQUEST);
    ev.request = &req;
    ws__emit(c, &ev);
    accepted = (c->ws__flags & WS__F_DECIDED) || ws_accept(c, 0, 0) == WS_OK;
    c->ws__hs = 0;
    if (!accepted) return ws__refuse(c, WS_ERR_INTERNAL, 500);
    if (c->ws__state == WS_STATE_OPEN) {
        c->ws__flags &= ~WS__F_CLOSE_TIMER;
        ws__event_init(&ev, WS_EV_OPEN);
        ev.protocol.p = hs.protocol ? hs.protocol : "";
        ev.protocol.n = ws__strlen(hs.protocol);
        ws__emit(c, &ev);
    }
    ws__in_release(c);
    return WS_OK;
}
#endif /* WS_NO_SERVER */

/* Gather the head in the assembly buffer (after a client's copy of its offered
   protocols), bounded by max_handshake; take from the input only up to the blank line,
   so frames that came in the same read stay for the frame decoder. */
static ws_result ws__hs_feed(ws_conn *c, unsigned char **pp, unsigned char *end) {
    unsigned char *p = *pp;
    size_t prefix = c->ws__hs_prefix, had = c->ws__in_len - prefix, limit = c->ws__max_handshake;
    size_t take;
    ws_result r;
    int n;
    if (c->ws__role == WS_ROLE_CLIENT && !(c->ws__flags & WS__F_STARTED)) return WS_ERR_STATE;
    if (c->ws__flags & WS__F_IN_FIXED) limit = WS__MIN(limit, c->ws__in_cap - prefix);
    take = WS__MIN((size_t)(end - p), limit - had);
    r = ws__in_reserve(c, c->ws__in_len + take, prefix + limit);
    if (r != WS_OK) return ws__fail(c, WS_ERR_NOMEM, 500, 0, 0, 0);
    WS_MEMCPY(c->ws__in + c->ws__in_len, p, take);
    c->ws__in_len += take;
    n = ws_http_head_end((const char *)c->ws__in + prefix, had + take, had, limit);
    if (n == WS_NEED_MORE) {
        *pp = p + take;
        return WS_OK;
    }
    if (n < 0) {
        *pp = end;
#ifndef WS_NO_SERVER
        if (c->ws__role == WS_ROLE_SERVER) return ws__refuse(c, WS_ERR_HS_TOO_LARGE, 431);
#endif
        c->ws__flags |= WS__F_ABORT;
        return ws__fail(c, WS_ERR_HS_TOO_LARGE, 0, 0, 0, 0);
    }
    *pp = p + ((size_t)n - had);
    c->ws__in_len = prefix + (size_t)n;
#ifndef WS_NO_SERVER
    if (c->ws__role == WS_ROLE_SERVER) return ws__hs_request(c, (const char *)c->ws__in, (size_t)n);
#endif
#ifndef WS_NO_CLIENT
    return ws__hs_response(c, (const char *)c->ws__in + prefix, (size_t)n);
#else
    return WS_ERR_STATE;
#endif
}
#endif /* WS_NO_HANDSHAKE */

/* -- frames: header, payload, control -- */

static ws_result ws__fail_protocol(ws_conn *c) {
    return ws__fail(c, WS_ERR_PROTOCOL, WS_CLOSE_PROTOCOL, 1, 0, 0);
}

/* Queue the reply to a control frame, in the room held for it since its header. */
static ws_result ws__reply(ws_conn *c, unsigned op, const void *d, size_t n) {
    ws_result r;
    c->ws__held = 0;
    r = ws__queue_frame(c, op, 1, d, n, 0, 0);
    if (r != WS_OK) return ws__fail(c, r == WS_ERR_RNG ? r : WS_ERR_INTERNAL, WS_CLOSE_INTERNAL, 1, 0, 0);
    return WS_OK;
}

/* A whole control frame's payload (§5.5), from the input or gathered in the assembly
   buffer. A reply owed to it is queued before its event, so input never has to wait
   for it here. */
static ws_result ws__control(ws_conn *c, const unsigned char *d, size_t n) {
    ws_event ev;
    unsigned code = WS_CLOSE_NO_STATUS;
    switch (c->ws__op) {
    case WS_OP_PING:
        /* §5.5.2: answer with the same payload - unless our close went out (§5.5.1). */
        if (c->ws__held && ws__reply(c, WS_OP_PONG, d, n) != WS_OK)
            return (ws_result)c->ws__error;
        ws__event_init(&ev, WS_EV_PING);
        ev.data = d, ev.len = n;
        ws__emit(c, &ev);
        return WS_OK;
    case WS_OP_PONG: /* §5.5.3: unsolicited ones are fine, and need no answer */
        c->ws__flags &= ~WS__F_PING_OUT;
        ws__event_init(&ev, WS_EV_PONG);
        ev.data = d, ev.len = n;
        ws__emit(c, &ev);
        return WS_OK;
    default: /* WS_OP_CLOSE, §5.5.1 and §7.4 */
        if (n == 1) return ws__fail_protocol(c);
        if (n >= 2) {
            code = (unsigned)d[0] << 8 | d[1];
            if (!ws_close_code_valid(code)) return ws__fail_protocol(c);
            if (ws_utf8_check(d + 2, n - 2u) != WS_OK)
                return ws__fail(c, WS_ERR_UTF8, WS_CLOSE_INVALID_DATA, 1, 0, 0);
        }
        c->ws__flags |= WS__F_GOT_CLOSE;
        if (c->ws__state == WS_STATE_OPEN) c->ws__state = WS_STATE_CLOSING;
        ws__event_init(&ev, WS_EV_CLOSE);
        ev.code = code;
        ev.data = d + (n >= 2 ? 2 : 0), ev.len = n >= 2 ? n - 2u : 0;
        ws__emit(c, &ev); /* it may answer with a close of its own (ws_close) */
        if (c->ws__held) {
            /* Echo the code (§5.5.1); an empty close is answered with an empty one, since
               1005 must never go on the wire (§7.4.1). */
            if (ws__reply(c, WS_OP_CLOSE, d, n >= 2 ? 2 : 0) != WS_OK) return (ws_result)c->ws__error;
            c->ws__flags |= WS__F_SENT_CLOSE;
        }
        if (c->ws__state != WS_STATE_CLOSED) ws__closed(c);
        return WS_OK;
    }
}

/* The event that hands the application a whole message (WS_EV_MESSAGE) or, streaming,
   the next piece of one (WS_EV_FRAGMENT, fin on its last); the caller fills in opcode,
   data, len and fin. */
static void ws__message_event(const ws_conn *c, ws_event *ev) {
    ws__event_init(ev, c->ws__flags & WS__F_STREAMING ? WS_EV_FRAGMENT : WS_EV_MESSAGE);
}

static void ws__deliver(ws_conn *c, unsigned op, const void *data, size_t n, int last) {
    ws_event ev;
    ws__message_event(c, &ev);
    ev.opcode = (ws_opcode)op, ev.data = data, ev.len = n;
    ev.fin = ev.type == WS_EV_FRAGMENT && last;
    ws__emit(c, &ev);
}

/* n bytes of the current frame's payload (n may be 0 for an empty frame). Text is
   checked as it comes, so bad UTF-8 fails on the frame that holds it (§8.1). */
static ws_result ws__payload(ws_conn *c, unsigned char *p, size_t n) {
    int last;
    if (c->ws__flags & WS__F_MASKED) c->ws__phase = (unsigned char)ws_mask(p, n, c->ws__key, c->ws__phase);
    c->ws__left -= n;
    if (c->ws__left == 0) c->ws__flags &= ~WS__F_IN_FRAME;
    if (c->ws__op & 8) {
        size_t had = c->ws__ctrl_len - (size_t)c->ws__left - n;
        ws_result r;
        if (!had && !c->ws__left) return ws__control(c, p, n); /* whole in the input */
        /* Split between reads: gathered after the message being assembled. */
        if (ws__in_reserve(c, c->ws__in_len + had + n, c->ws__in_len + c->ws__ctrl_len) != WS_OK)
            return ws__fail(c, WS_ERR_NOMEM, WS_CLOSE_INTERNAL, 1, 0, 0);
        WS_MEMCPY(c->ws__in + c->ws__in_len + had, p, n);
        if (c->ws__left) return WS_OK;
        r = ws__control(c, c->ws__in + c->ws__in_len, c->ws__ctrl_len);
        if (c->ws__in_len == 0 && c->ws__in) ws__in_release(c);
        return r;
    }
    last = c->ws__fin && c->ws__left == 0;
    if (c->ws__msg_op == WS_OP_TEXT) {
        ws_utf8 v;
        v.state = c->ws__utf8;
        if (ws_utf8_feed(&v, p, n) != WS_OK || (last && !ws_utf8_done(&v)))
            return ws__fail(c, WS_ERR_UTF8, WS_CLOSE_INVALID_DATA, 1, 0, 0);
        c->ws__utf8 = v.state;
    }
    if (last) c->ws__flags &= ~WS__F_IN_MSG;
    if ((c->ws__flags & WS__F_STREAMING) || (last && c->ws__in_len == 0)) {
        /* streaming: each piece as it comes; or the whole message is right here: no copy */
        if (n || last) ws__deliver(c, c->ws__msg_op, p, n, last);
        return WS_OK;
    }
    if (n) {
        if (ws__in_reserve(c, c->ws__in_len + n, c->ws__max_message) != WS_OK)
            return ws__fail(c, WS_ERR_NOMEM, WS_CLOSE_INTERNAL, 1, 0, 0);
        WS_MEMCPY(c->ws__in + c->ws__in_len, p, n);
        c->ws__in_len += n;
    }
    if (last) {
        ws__deliver(c, c->ws__msg_op, c->ws__in, c->ws__in_len, 1);
        ws__in_release(c);
    }
    return WS_OK;
}

static ws_result ws__frame_begin(ws_conn *c, const ws_frame *f) {
    if (ws_frame_check(f, c->ws__role == WS_ROLE_SERVER, 0) != WS_OK) return ws__fail_protocol(c);
    if (f->opcode & 8) {
        /* The reply this frame asks for (a pong with its payload, §5.5.2; a close
           echoing the code, §5.5.1) needs queue room: until there is some, read no
           further (nothing taken, nothing changed); from here on, hold it. */
        size_t reply = f->opcode == WS_OP_PING ? 2 + (size_t)f->len
                     : f->opcode == WS_OP_CLOSE ? (f->len >= 2 ? 4 : 2) : 0;
        if (reply && !(c->ws__flags & WS__F_SENT_CLOSE)) {
            if (c->ws__role == WS_ROLE_CLIENT) reply += 4; /* the mask key */
            if (c->ws__out_tail - c->ws__out_head > c->ws__max_queue - reply) {
                c->ws__flags |= WS__F_STALLED;
                return WS_WOULD_BLOCK;
            }
            c->ws__held = (unsigned char)reply;
        }
        c->ws__ctrl_len = (unsigned char)f->len;
    } else if (f->opcode == WS_OP_CONT) {
        if (!(c->ws__flags & WS__F_IN_MSG)) return ws__fail_protocol(c); /* §5.4 */
    } else {
        if (c->ws__flags & WS__F_IN_MSG) return ws__fail_protocol(c); /* §5.4: no nesting */
        c->ws__msg_op = f->opcode;
        c->ws__utf8 = 0;
        c->ws__flags |= WS__F_IN_MSG;
    }
    /* The limit is checked on the declared length, before any byte is buffered (§10.4). */
    if (!(f->opcode & 8) && !(c->ws__flags & WS__F_STREAMING) &&
        f->len > c->ws__max_message - c->ws__in_len)
        return ws__fail(c, WS_ERR_TOO_BIG, WS_CLOSE_TOO_BIG, 1, 0, 0);
    c->ws__op = f->opcode, c->ws__fin = f->fin, c->ws__left = f->len, c->ws__phase = 0;
    if (f->masked) {
        WS_MEMCPY(c->ws__key, f->key, 4);
        c->ws__flags |= WS__F_MASKED;
    } else {
        c->ws__flags &= ~WS__F_MASKED;
    }
    c->ws__flags |= WS__F_IN_FRAME;
    /* An empty frame completes now; its events get an empty string, never NULL. */
    return f->len ? WS_OK : ws__payload(c, (unsigned char *)c->ws__hdr, 0);
}

/* Whole messages in one small frame each, all of them in this read: most traffic. One
   after another while the next frame is one: FIN, no RSV bits, text or binary (0x81,
   0x82), the mask bit our role must receive (§5.1: set towards a server; WS_ROLE_SERVER
   is 1) and a 7-bit length (< 126) within max_message, payload all here. It takes the
   steps of ws__frame_begin and ws__payload that such a frame needs, and no more; at any
   other frame it stops, for the general path to decode (and fail, if it must). It also
   stops when an event's callback closed the connection. */
static ws_result ws__small_messages(ws_conn *c, unsigned char **pp, unsigned char *end) {
    unsigned char *p = *pp;
    unsigned mask_bit = (unsigned)c->ws__role << 7;
    ws_result r = WS_OK;
    ws_event ev; /* built once: only opcode, data and len differ from message to message */
    ws__message_event(c, &ev);
    ev.fin = ev.type == WS_EV_FRAGMENT; /* a message's only piece is its last */
    while (end - p >= 2) {
        unsigned b0 = p[0], len = (unsigned)p[1] - mask_bit; /* < 126 if the mask bit is right */
        size_t h = 2 + (mask_bit >> 5);                      /* and the 4-byte key, if any */
        unsigned char *data;
        if ((b0 != 0x81 && b0 != 0x82) || len >= 126 || len > c->ws__max_message ||
            (size_t)(end - p) < h + len)
            break;
        data = p + h;
        if (mask_bit) ws__mask(data, len, p + 2, 0);
        p = data + len;
        if (b0 == 0x81 && ws_utf8_check(data, len) != WS_OK) {
            r = ws__fail(c, WS_ERR_UTF8, WS_CLOSE_INVALID_DATA, 1, 0, 0);
            break;
        }
        ev.opcode = (ws_opcode)(b0 & 0x0f), ev.data = data, ev.len = len;
        ws__emit(c, &ev);
        if (c->ws__state == WS_STATE_CLOSED) break;
    }
    *pp = p;
    return r;
}

static ws_result ws__frames(ws_conn *c, unsigned char **pp, unsigned char *end) {
    unsigned char *p = *pp;
    ws_result r = WS_OK;
    c->ws__flags &= ~WS__F_STALLED;
    while (p < end && r == WS_OK) {
        ws_frame f;
        size_t had = c->ws__hdr_len, take;
        int n;
        /* §5.5.1: after a close frame nothing more is read */
        if (c->ws__state == WS_STATE_CLOSED || (c->ws__flags & WS__F_GOT_CLOSE)) {
            p = end;
            break;
        }
        if (c->ws__flags & (WS__F_IN_FRAME | WS__F_IN_MSG)) {
            if (c->ws__flags & WS__F_IN_FRAME) {
                size_t k = (size_t)WS__MIN((uint64_t)(end - p), c->ws__left);
                r = ws__payload(c, p, k);
                p += k;
                continue;
            }
        } else if (!had) {
            unsigned char *from = p;
            r = ws__small_messages(c, &p, end);
            if (p != from) continue; /* the loop's checks again, then the next frame */
        }
        if (had == 0) { /* the header is usually whole in the input */
            n = ws_frame_decode(p, (size_t)(end - p), &f);
            take = n > 0 ? (size_t)n : 0;
        } else { /* a header split between reads: at most 14 bytes are kept */
            take = WS__MIN((size_t)(end - p), WS_MAX_HEADER - had);
            WS_MEMCPY(c->ws__hdr + had, p, take);
            n = ws_frame_decode(c->ws__hdr, had + take, &f);
            if (n > 0) take = (size_t)n - had;
        }
        if (n == WS_NEED_MORE) {
            if (!had) WS_MEMCPY(c->ws__hdr, p, take = (size_t)(end - p));
            c->ws__hdr_len = (unsigned char)(had + take);
            p += take;
            break;
        }
        if (n < 0) {
            r = ws__fail_protocol(c);
            break;
        }
        r = ws__frame_begin(c, &f);
        if (r == WS_WOULD_BLOCK) break; /* the header stays unread */
        c->ws__hdr_len = 0;
        p += take;
        if (r == WS_OK && (c->ws__flags & WS__F_IN_FRAME) && p < end) {
            /* the common case, a frame whose payload follows in the same read */
            size_t k = (size_t)WS__MIN((uint64_t)(end - p), c->ws__left);
            r = ws__payload(c, p, k);
            p += k;
        }
    }
    if (r != WS_OK && r != WS_WOULD_BLOCK) p = end;
    *pp = p;
    return r;
}

WSDEF ws_result ws_conn_feed(ws_conn *c, void *data, size_t len, size_t *consumed) {
    unsigned char *p = (unsigned char *)data, *end;
    ws_result r = WS_OK;
    if (c->ws__error) {
        if (consumed) *consumed = len;
        return (ws_result)c->ws__error;
    }
    if (len) {
        end = p + len;
#ifndef WS_NO_HANDSHAKE
        if (c->ws__state == WS_STATE_CONNECTING) r = ws__hs_feed(c, &p, end);
#endif
        if (r == WS_OK && c->ws__state != WS_STATE_CONNECTING) r = ws__frames(c, &p, end);
    }
    if (consumed) *consumed = (size_t)(p - (unsigned char *)data);
    return r;
}

WSDEF void ws_conn_eof(ws_conn *c) {
    c->ws__flags |= WS__F_EOF;
    /* After the close handshake EOF is expected: queued output may still go out. */
    if (c->ws__state != WS_STATE_CLOSED) ws__abort(c, WS_ERR_EOF);
}

WSDEF size_t ws_conn_output(ws_conn *c, const void **data) {
    *data = c->ws__out ? c->ws__out + c->ws__out_head : c->ws__out;
    return c->ws__out_tail - c->ws__out_head;
}

WSDEF void ws_conn_consume(ws_conn *c, size_t n) {
    WS_ASSERT(n <= c->ws__out_tail - c->ws__out_head);
    c->ws__out_head += n;
    if (c->ws__out_head == c->ws__out_tail) {
        c->ws__out_head = c->ws__out_tail = 0;
        /* A small queue that frames go through is kept for the next reply (no malloc
           per echo) until a tick finds it empty; a large one, or one that held only the
           handshake, goes at once. */
        if (c->ws__out_cap > WS__KEEP_QUEUE || !(c->ws__flags & WS__F_WARM)) ws__out_release(c);
    }
    c->ws__flags &= ~WS__F_STALLED; /* a reply may fit now: worth feeding again */
}

static ws_result ws__can_send(const ws_conn *c) {
    if (c->ws__error || c->ws__state == WS_STATE_CLOSED || (c->ws__flags & WS__F_SENT_CLOSE))
        return WS_ERR_CLOSED;
    if (c->ws__state == WS_STATE_CONNECTING) return WS_ERR_STATE;
    return WS_OK;
}

WSDEF ws_result ws_send(ws_conn *c, ws_opcode opcode, const void *data, size_t len) {
    ws_result r = ws__can_send(c);
    if (r != WS_OK) return r;
    if (opcode != WS_OP_TEXT && opcode != WS_OP_BINARY) return WS_ERR_ARG;
    if (c->ws__flags & WS__F_SENDING) return WS_ERR_STATE;
    if (opcode == WS_OP_TEXT && ws_utf8_check(data, len) != WS_OK) return WS_ERR_UTF8;
    return ws__queue_frame(c, opcode, 1, data, len, 0, 0);
}

WSDEF ws_result ws_send_fragment(ws_conn *c, ws_opcode opcode, const void *data, size_t len,
                                 int fin) {
    int cont = (c->ws__flags & WS__F_SENDING) != 0;
    ws_utf8 v;
    ws_result r = ws__can_send(c);
    if (r != WS_OK) return r;
    if ((opcode != WS_OP_TEXT && opcode != WS_OP_BINARY) || (cont && opcode != c->ws__send_op))
        return WS_ERR_ARG;
    v.state = cont ? c->ws__send_utf8 : 0;
    if (opcode == WS_OP_TEXT && (ws_utf8_feed(&v, data, len) != WS_OK || (fin && !ws_utf8_done(&v))))
        return WS_ERR_UTF8;
    r = ws__queue_frame(c, cont ? (unsigned)WS_OP_CONT : (unsigned)opcode, fin, data, len, 0, 0);
    if (r != WS_OK) return r;
    if (fin) {
        c->ws__flags &= ~WS__F_SENDING;
    } else {
        c->ws__flags |= WS__F_SENDING;
        c->ws__send_op = (unsigned char)opcode;
        c->ws__send_utf8 = v.state;
    }
    return WS_OK;
}

static ws_result ws__send_control(ws_conn *c, unsigned op, const void *data, size_t len) {
    ws_result r = ws__can_send(c);
    if (r != WS_OK) return r;
    if (len > WS_MAX_CONTROL) return WS_ERR_ARG;
    return ws__queue_frame(c, op, 1, data, len, 0, 0);
}

WSDEF ws_result ws_ping(ws_conn *c, const void *data, size_t len) {
    return ws__send_control(c, WS_OP_PING, data, len);
}

WSDEF ws_result ws_pong(ws_conn *c, const void *data, size_t len) {
    return ws__send_control(c, WS_OP_PONG, data, len);
}

WSDEF ws_result ws_close(ws_conn *c, unsigned code, const char *reason, size_t reason_len) {
    unsigned char cc[2];
    ws_result r = ws__can_send(c);
    if (r != WS_OK) return r;
    if (code ? !ws_close_code_valid(code) : reason_len != 0) return WS_ERR_ARG;
    if (reason_len > WS_MAX_CONTROL - 2 || ws_utf8_check(reason, reason_len) != WS_OK) return WS_ERR_ARG;
    cc[0] = (unsigned char)(code >> 8), cc[1] = (unsigned char)code;
    r = ws__queue_frame(c, WS_OP_CLOSE, 1, cc, code ? 2 : 0, reason, reason_len);
    if (r != WS_OK) return r;
    c->ws__flags |= WS__F_SENT_CLOSE;
    c->ws__held = 0; /* a pong still owed must not follow the close */
    if (c->ws__flags & WS__F_GOT_CLOSE) {
        ws__closed(c);
    } else {
        c->ws__state = WS_STATE_CLOSING;
        ws__arm_close_timer(c);
    }
    return WS_OK;
}

WSDEF void ws_conn_tick(ws_conn *c, uint64_t now) {
    c->ws__now = now;
    if (c->ws__out_tail == 0) ws__out_release(c); /* idle: hold no buffer */
    if (c->ws__flags & WS__F_CLOSE_TIMER) {
        uint32_t limit = c->ws__state == WS_STATE_CONNECTING ? c->ws__hs_timeout : c->ws__close_timeout;
        if (c->ws__close_at == WS__NEVER || now < c->ws__close_at) c->ws__close_at = now;
        if (now - c->ws__close_at >= limit) {
            /* No handshake, or no answer to our close (§7.1.1); a client that closed
               cleanly just stops waiting for the server to drop the transport. */
            c->ws__flags &= ~WS__F_CLOSE_TIMER;
            ws__abort(c, WS_ERR_TIMEOUT);
            return;
        }
    }
    if (c->ws__state == WS_STATE_OPEN && c->ws__ping_interval) {
        if (c->ws__ping_at == WS__NEVER || now < c->ws__ping_at) {
            c->ws__ping_at = now;
        } else if (c->ws__flags & WS__F_PING_OUT) {
            if (now - c->ws__ping_at >= c->ws__pong_timeout) ws__abort(c, WS_ERR_TIMEOUT);
        } else if (now - c->ws__ping_at >= c->ws__ping_interval &&
                   ws__queue_frame(c, WS_OP_PING, 1, 0, 0, 0, 0) == WS_OK) {
            c->ws__flags |= WS__F_PING_OUT;
            c->ws__ping_at = now;
        }
    }
}

WSDEF ws_state ws_conn_state(const ws_conn *c) { return (ws_state)c->ws__state; }
WSDEF size_t ws_conn_queued(const ws_conn *c) { return c->ws__out_tail - c->ws__out_head; }
WSDEF ws_result ws_conn_error(const ws_conn *c) { return (ws_result)c->ws__error; }

WSDEF unsigned ws_conn_wants(const ws_conn *c) {
    unsigned w = 0;
    if (c->ws__flags & WS__F_ABORT) return 0;
    if (c->ws__out_tail > c->ws__out_head) w |= WS_WANT_WRITE;
    if (c->ws__flags & WS__F_EOF) return w;
    if (c->ws__state == WS_STATE_CLOSED) {
        if (c->ws__role == WS_ROLE_CLIENT && !(c->ws__flags & WS__F_FAILED)) w |= WS_WANT_READ;
        return w;
    }
    if (!(c->ws__flags & WS__F_STALLED)) w |= WS_WANT_READ;
    return w;
}

/* ---- 6. I/O driver --------------------------------------------------------------- */

WSDEF void ws_stream_init(ws_stream *s, ws_conn *c, const ws_io *io, void *buf, size_t cap) {
    s->conn = c;
    s->io = *io;
    s->buf = s->in = (unsigned char *)buf;
    s->cap = cap;
    s->pos = s->len = 0;
    s->eof = s->shared = 0;
}

WSDEF void ws_stream_share_buffer(ws_stream *s) { s->shared = 1; }

WSDEF void ws_stream_free(ws_stream *s) {
    if (s->in != s->buf) ws__free(s->conn, s->in, s->len);
    s->in = s->buf;
    s->pos = s->len = 0;
}

/* A shared buffer belongs to the next stream as soon as this pump returns. */
static void ws__stream_stash(ws_stream *s) {
    size_t n = s->len - s->pos;
    unsigned char *p;
    if (!s->shared || s->in != s->buf) return;
    if (n == 0) {
        s->pos = s->len = 0;
        return;
    }
    p = (unsigned char *)ws__alloc(s->conn, n);
    if (!p) {
        s->pos = s->len = 0;
        ws__fail(s->conn, WS_ERR_NOMEM, WS_CLOSE_INTERNAL, 1, 0, 0);
        return;
    }
    WS_MEMCPY(p, s->buf + s->pos, n);
    s->in = p, s->pos = 0, s->len = n;
}

/* Write what is queued until the transport would block. 1 if anything moved, 0 if not,
   or the failure. */
static int ws__stream_flush(ws_stream *s) {
    ws_conn *c = s->conn;
    const void *out;
    size_t n;
    int moved = 0;
    while ((ws_conn_wants(c) & WS_WANT_WRITE) && (n = ws_conn_output(c, &out)) > 0) {
        long w = s->io.write(s->io.user, out, WS__MIN(n, (size_t)0x40000000));
        if (w == WS_WOULD_BLOCK) break;
        if (w <= 0 || (size_t)w > n) return ws__abort(c, WS_ERR_IO) ? -1 : moved;
        ws_conn_consume(c, (size_t)w);
        moved = 1;
    }
    return moved;
}

WSDEF ws_result ws_stream_pump(ws_stream *s) {
    ws_conn *c = s->conn;
    int reads = 0, rounds;
    /* One pass is read, feed, write: all the replies to one read leave in one write.
       More passes only while input waits for queue room (a pong or close reply). */
    for (rounds = 0; rounds < 1000; rounds++) {
        int progress = ws__stream_flush(s);
        if (progress < 0) break;
        if (s->pos == s->len && s->in != s->buf) ws_stream_free(s); /* stash all fed */
        if (s->pos == s->len && !s->eof && !reads && (ws_conn_wants(c) & WS_WANT_READ)) {
            long got = s->io.read(s->io.user, s->buf, s->cap);
            reads = 1;
            if (got > 0 && (size_t)got <= s->cap) {
                s->in = s->buf, s->pos = 0, s->len = (size_t)got;
            } else if (got == 0) {
                s->eof = 1;
                ws_conn_eof(c);
                progress = 1;
            } else if (got != WS_WOULD_BLOCK) {
                ws__abort(c, WS_ERR_IO);
                break;
            }
        }
        if (s->pos < s->len) {
            size_t used = 0;
            ws_result r = ws_conn_feed(c, s->in + s->pos, s->len - s->pos, &used);
            s->pos += used;
            if (r != WS_OK && r != WS_WOULD_BLOCK) s->pos = s->len; /* failed: the rest is moot */
            progress |= used != 0;
        }
        if (ws__stream_flush(s) > 0) progress = 1;
        if (!progress || (reads && s->pos == s->len)) break;
    }
    ws__stream_stash(s);
    return (ws_result)c->ws__error;
}

WSDEF unsigned ws_stream_wants(const ws_stream *s) {
    unsigned w = ws_conn_wants(s->conn);
    if (s->pos < s->len) w &= ~WS_WANT_READ; /* the buffer still holds unread input */
    if (s->eof) w &= ~WS_WANT_READ;
    return w;
}

#endif /* WS_IMPLEMENTATION_ONCE */
#endif /* WS_IMPLEMENTATION */

/*
REVISION HISTORY
   0.1.0  (2026-11-22) first release: RFC 6455 both roles, sans-I/O core, callback driver.

------------------------------------------------------------------------------
This software is available under 2 licenses -- choose whichever you prefer.
------------------------------------------------------------------------------
ALTERNATIVE A - MIT License
Copyright (c) 2026 the ws.h authors
Permission is hereby granted, free of charge, to any person obtaining a copy of
this software and associated documentation files (the "Software"), to deal in
the Software without restriction, including without limitation the rights to
use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies
of the Software, and to permit persons to whom the Software is furnished to do
so, subject to the following conditions:
The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.
THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
------------------------------------------------------------------------------
ALTERNATIVE B - Public Domain (www.unlicense.org)
This is free and unencumbered software released into the public domain.
Anyone is free to copy, modify, publish, use, compile, sell, or distribute this
software, either in source code form or as a compiled binary, for any purpose,
commercial or non-commercial, and by any means.
In jurisdictions that recognize copyright laws, the author or authors of this
software dedicate any and all copyright interest in the software to the public
domain. We make this dedication in the hope that it will be of use to all, and
to the detriment of our heirs and successors. We intend this dedication to be
an overt act of relinquishment in perpetuity of all present and future rights
to this software under copyright law.
THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN
ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION
WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
------------------------------------------------------------------------------
*/
