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
      WS_NO_URL                 leave out ws_url_parse; clients give host and resource
                                (ws_client_options) instead of a URL
      WS_NO_HANDSHAKE           leave out layer 4; connections start in OPEN
      WS_NO_DEFLATE             leave out DEFLATE (ws_inflate, ws_deflate; permessage-deflate)
      WS_NO_STDLIB              no malloc/free/memcpy/memset from libc; give allocators and
                                WS_MEMCPY/WS_MEMSET, or use only caller-provided buffers
      WS_SMALL                  1: the compact form of the loops that have a fast one
                                (masking, UTF-8, runs of small frames, base64
                                decoding, handshake heads, SHA-1); same results, less
                                code, slower on large payloads. Default: 1 when the
                                compiler optimizes for size (-Os, -Oz), else 0
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
   1. config and platform   2. primitives (SHA-1, base64, UTF-8, masking, DEFLATE)
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

#ifndef WS_SMALL
#ifdef __OPTIMIZE_SIZE__ /* GCC and Clang at -Os and -Oz */
#define WS_SMALL 1
#else
#define WS_SMALL 0
#endif
#endif

#if defined(WS_NO_CLIENT) && defined(WS_NO_SERVER)
#error "ws.h: WS_NO_CLIENT and WS_NO_SERVER together leave nothing to build"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Results. 0 is success; every other value is negative. WS_NEED_MORE and WS_WOULD_BLOCK
   are not failures: the first says a decoder has consumed everything and wants more
   bytes, the second that an output queue (or a socket) has no room right now. Nor is
   WS_OUT_FULL: ws_inflate/ws_deflate filled the caller's buffer and have more to give. */
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
    X(WS_ERR_HS_REJECTED, -31, "handshake: refused by the application")                 \
    X(WS_OUT_FULL, -32, "output buffer full: call again")                               \
    X(WS_ERR_DEFLATE, -33, "compressed data is invalid")

typedef enum ws_result {
#define WS__RESULT_ENUM(name, value, text) name = value,
    WS__RESULTS(WS__RESULT_ENUM)
#undef WS__RESULT_ENUM
    WS__RESULT_LAST = -34
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

#ifndef WS_NO_DEFLATE
/* DEFLATE (RFC 1951), the compression of permessage-deflate (RFC 7692), usable alone.
   Raw DEFLATE only: no zlib or gzip wrapper. Nothing here allocates: the state structs
   live wherever you put them and their windows in memory you hand over at init, sized by
   the macros below (for window bits 8..15, RFC 7692 §7.1.2). Bytes in all, struct +
   memory, on x86-64 (measured by tests/bench/bench_deflate.c for 15):

       window bits                        8      9     10     11     12     13     14     15
       ws_inflater + WS_INFLATE_MEM    3936   4192   4704   5728   7776  11872  20064  36448
       ws_deflater + WS_DEFLATE_MEM    9136  10672  14768  20912  33200  59824  76208 108976

   so 15-bit windows both ways take 145,424 bytes, under half of zlib's ~300 KB (deflate
   at memLevel 8 ~256 KB, inflate ~44 KB). The memory may have any alignment. */

/* Inflater.

       ws_inflater z;
       static unsigned char win[WS_INFLATE_MEM(15)];
       ws_inflate_init(&z, 15, win, sizeof win);
       for each piece of a message's payload (then the 4 bytes 00 00 ff ff that
       permessage-deflate strips, RFC 7692 §7.2.2):
           do r = ws_inflate(&z, in, n, &used, out, cap, &got), in += used, n -= used,
              consume(out, got);
           while (r == WS_OUT_FULL);
           r is now WS_NEED_MORE (all of the piece used: give the next one), WS_OK (the
           final block, BFINAL, ended), or an error
       ws_inflate_reset(&z, keep_history) before the next message.

   ws_inflate returns
       WS_NEED_MORE    every input byte was used and the stream has not ended
       WS_OUT_FULL     the output buffer is full and more output is ready: call again with
                       the rest of the input (any buffer size works, 1 byte included)
   Bytes of out past *out_len may have been written over (matches are copied 8 bytes at a
   time where the buffer has room); only out[0..*out_len) is output.
       WS_OK           the end of a block with BFINAL set; *in_used stops at the byte after
                       it where it can. Call ws_inflate_reset before inflating more.
       WS_ERR_TOO_BIG  the output since the last reset would pass the limit
                       (ws_inflate_set_limit): stopped having written exactly the limit
       WS_ERR_DEFLATE  invalid data; ws_inflate_detail says what (an invalid block type,
                       an over-subscribed or incomplete Huffman code, code-length repeats
                       past the end, an invalid length or distance code, a stored block's
                       LEN/NLEN mismatch, a distance past the window or before the start
                       of the data seen)
       WS_ERR_ARG      a NULL pointer with a non-zero size
   Errors are sticky until the next reset. The window: a stream inflated with window bits
   N may refer back at most 2^N bytes (RFC 7692 §7.1.2.2: the peer's max_window_bits);
   anything further fails, even if this side could have remembered it. */
#define WS_INFLATE_MEM(window_bits) ((size_t)1 << (window_bits))

typedef struct ws_inflater {
    /* private: ws__ fields, here so you can place the struct */
    uint64_t ws__bits;           /* bit buffer, first bit lowest (RFC 1951 §3.1.1) */
    unsigned ws__nbits, ws__state, ws__final, ws__why, ws__fixed;
    int ws__err;
    unsigned char *ws__win;      /* ring of the last ws__whave output bytes */
    uint32_t ws__wsize, ws__whave, ws__wnext;
    uint32_t ws__copy, ws__dist; /* match or stored bytes still to write */
    size_t ws__limit, ws__total;
    unsigned ws__hlit, ws__hdist, ws__hclen, ws__i;
    unsigned char ws__lens[288 + 32];
    uint16_t ws__lcount[16], ws__dcount[16];
    uint16_t ws__lsym[288], ws__dsym[32];
    uint16_t ws__lfast[1 << 10], ws__dfast[1 << 8];
} ws_inflater;

/* window_bits 8..15; mem at least WS_INFLATE_MEM(window_bits) bytes, kept until you stop
   using z. No output limit until ws_inflate_set_limit. Returns WS_OK or WS_ERR_ARG. */
WSDEF ws_result ws_inflate_init(ws_inflater *z, unsigned window_bits, void *mem, size_t mem_size);
/* A new stream (message). keep_history 1: its matches may refer into what earlier ones
   produced (context takeover, RFC 7692 §7.2.3.2); 0: they may not (no_context_takeover).
   Also clears a sticky error and the output count of the limit. */
WSDEF void ws_inflate_reset(ws_inflater *z, int keep_history);
/* Most bytes ws_inflate may produce between resets (0: no limit; a decompression bomb
   stops after exactly this many bytes with WS_ERR_TOO_BIG). */
WSDEF void ws_inflate_set_limit(ws_inflater *z, size_t max_output);
WSDEF ws_result ws_inflate(ws_inflater *z, const void *in, size_t in_len, size_t *in_used,
                           void *out, size_t out_cap, size_t *out_len);
/* What was wrong after WS_ERR_DEFLATE, in English (citing RFC 1951); "" otherwise. */
WSDEF const char *ws_inflate_detail(const ws_inflater *z);

/* Deflater.

       ws_deflater d;
       static unsigned char mem[WS_DEFLATE_MEM(15)];
       ws_deflate_init(&d, 15, WS_DEFLATE_DEFAULT, mem, sizeof mem);
       per message: give the payload in any pieces with WS_DEFLATE_NO_FLUSH, the last one
       (maybe empty) with WS_DEFLATE_SYNC, each until it returns WS_OK:
           do r = ws_deflate(&d, in, n, &used, out, cap, &got, flush), in += used,
              n -= used, send(out, got);
           while (r == WS_OUT_FULL);
       After WS_DEFLATE_SYNC the output ends with an empty stored block, 00 00 ff ff, which
       permessage-deflate removes (RFC 7692 §7.2.1). ws_deflate_reset(&d, 0) between
       messages for no_context_takeover.

   ws_deflate returns WS_OK when it took all the input (and, when flushing, wrote all of
   the flush), WS_OUT_FULL when the output buffer filled first (call again with the rest
   of the input and the same flush), WS_ERR_ARG for bad arguments. WS_DEFLATE_FINISH ends
   the stream with a BFINAL block instead (a new stream needs ws_deflate_reset).
   Output never refers back more than 2^window_bits bytes, 8 bits included, so a peer
   that asked for client/server_max_window_bits=N can inflate it (RFC 7692 §7.1.2). */
#define WS_DEFLATE_FAST 1    /* greedy parse: about zlib level 1's size, faster */
#define WS_DEFLATE_DEFAULT 2 /* lazy parse: about zlib level 6's size, faster */
#define WS_DEFLATE_NO_FLUSH 0
#define WS_DEFLATE_SYNC 1   /* end at a byte boundary: output so far is a decodable prefix */
#define WS_DEFLATE_FINISH 2 /* end the stream: last block with BFINAL */

/* Window 2^b + hash chains 2^b bytes (one 16-bit link per position of the last half
   window: links farther back are rarely worth their memory) + lookahead + hash heads +
   the symbols of one block + alignment slack; the last three shrink with small windows. */
#define WS__DEFLATE_LOOK(b) ((b) >= 13 ? 8192u : (b) >= 10 ? 2048u : 1024u)
#define WS__DEFLATE_HASH_BITS(b) ((b) >= 13 ? 13u : (unsigned)(b) + 1u)
#define WS__DEFLATE_SYMS(b) ((b) >= 13 ? 8192u : 2048u)
#define WS_DEFLATE_MEM(window_bits)                                                             \
    (((size_t)2 << (window_bits)) + WS__DEFLATE_LOOK(window_bits) +                            \
     ((size_t)2 << WS__DEFLATE_HASH_BITS(window_bits)) + 2 * (size_t)WS__DEFLATE_SYMS(window_bits) + 16)

typedef struct ws_deflater {
    /* private: ws__ fields, here so you can place the struct */
    unsigned char *ws__buf;            /* history (up to 2^b) + lookahead */
    uint16_t *ws__head, *ws__prev, *ws__sym;
    uint32_t ws__wsize, ws__bsize;
    uint32_t ws__base, ws__fill, ws__pos, ws__ins, ws__hist, ws__bstart, ws__bend;
    unsigned ws__level, ws__chain, ws__nice, ws__nsym, ws__miss, ws__hshift, ws__syms, ws__run;
    uint32_t ws__esrc, ws__erun; /* writing a block: position of its next byte, bytes of a run done */
    uint64_t ws__bits;
    unsigned ws__nbits, ws__phase, ws__ei, ws__btype, ws__bfinal, ws__fphase, ws__flush;
    unsigned ws__hlit, ws__hdist, ws__hclen, ws__nrle;
    uint16_t ws__fl[288], ws__fd[32], ws__cl[288], ws__cd[32], ws__cc[19];
    unsigned char ws__ll[288], ws__ld[32], ws__lc[19];
    unsigned char ws__rle[288 + 32], ws__rlex[288 + 32];
} ws_deflater;

/* Most bytes ws_deflate writes for n bytes of input (in one call or several) up to and
   including a flush, starting after a completed flush or a reset: an output buffer of
   this size never sees WS_OUT_FULL. Incompressible data goes in stored blocks of 5
   bytes' overhead, each covering at least 1018 bytes (window 8; more for larger ones)
   except the last, and the flush adds at most 6. */
#define WS_DEFLATE_BOUND(n) ((n) + ((n) >> 7) + 64)

/* window_bits 8..15, level WS_DEFLATE_FAST or WS_DEFLATE_DEFAULT, mem at least
   WS_DEFLATE_MEM(window_bits) bytes. Returns WS_OK or WS_ERR_ARG. */
WSDEF ws_result ws_deflate_init(ws_deflater *d, unsigned window_bits, int level, void *mem,
                                size_t mem_size);
/* A new message: keep_history 1 lets it refer back into earlier ones (context
   takeover), 0 starts afresh. Call it after a completed flush, not in the middle of one. */
WSDEF void ws_deflate_reset(ws_deflater *d, int keep_history);
WSDEF ws_result ws_deflate(ws_deflater *d, const void *in, size_t in_len, size_t *in_used,
                           void *out, size_t out_cap, size_t *out_len, int flush);
#endif /* WS_NO_DEFLATE */

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
   comma-separated list: *list shrinks as tokens are taken; returns 0 at the end (empty
   elements are skipped; a comma inside a quoted-string does not end one, as in
   ws_header_list_next). ws_token_has: 1 if the list holds token (case-insensitive). */
WSDEF int ws_header_find(const char *head, size_t len, const char *name, ws_str *value);
WSDEF int ws_token_next(ws_str *list, ws_str *token);
WSDEF int ws_token_has(ws_str list, const char *token);

/* A list header may come on several lines, which means the same as one line holding all
   their elements in order (RFC 7230 §3.2.2; RFC 6455 §11.3.2 Sec-WebSocket-Extensions,
   §11.3.4 Sec-WebSocket-Protocol). This walks every element of every line named `name`
   (case-insensitive): start with *at = 0; each call gives the next non-empty element,
   trimmed, and returns 1, or returns 0 at the end. A comma inside a quoted-string does
   not end an element ("a; x=\"1,2\"" is one). */
WSDEF int ws_header_list_next(const char *head, size_t len, const char *name, size_t *at,
                              ws_str *element);

#endif

/* permessage-deflate (RFC 7692 §7.1) parameters: an offer's, a response's, or what a
   connection agreed. Window bits are 0 when absent (15 is then the limit), else 8..15;
   an offer's client_max_window_bits may also be WS_PMD_NO_VALUE (the parameter without
   a value: "I can limit my window if you ask", §7.1.2.2). */
#define WS_PMD_NO_VALUE 1
typedef struct ws_deflate_params {
    unsigned char server_no_context_takeover; /* §7.1.1.1 */
    unsigned char client_no_context_takeover; /* §7.1.1.2 */
    unsigned char server_max_window_bits;     /* §7.1.2.1 */
    unsigned char client_max_window_bits;     /* §7.1.2.2 */
} ws_deflate_params;

#if !defined(WS_NO_HANDSHAKE) && !defined(WS_NO_DEFLATE)
/* One element of a Sec-WebSocket-Extensions list (ws_header_list_next walks them):
   1 and *p filled for a well-formed permessage-deflate element, 0 for another
   extension, WS_ERR_HS_EXTENSION for permessage-deflate with an unknown, repeated or
   out-of-range parameter (and, in a response, client_max_window_bits without a value).
   Values may be quoted ("10"). */
WSDEF int ws_deflate_parse(ws_str element, int is_response, ws_deflate_params *p);
/* The element stating p ("permessage-deflate; client_max_window_bits=10") and a NUL;
   returns its length (without the NUL) or WS_ERR_BUFFER. */
WSDEF int ws_deflate_format(char *buf, size_t cap, const ws_deflate_params *p);
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
#if !defined(WS_NO_HANDSHAKE) && !defined(WS_NO_CLIENT) && !defined(WS_NO_URL) /* a client's need */
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
    /* The first Sec-WebSocket-Protocol and Sec-WebSocket-Extensions lines, maybe empty.
       A client may send either header on several lines (§11.3.2, §11.3.4): walk every
       line with ws_header_list_next(head, head_len, name, ...); ws_request_offers does. */
    ws_str protocols;
    ws_str extensions;
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

#ifndef WS_NO_DEFLATE
/* The first acceptable permessage-deflate offer of req (all its Sec-WebSocket-Extensions
   lines, in the client's order of preference, RFC 7692 §5) under what this server
   allows: in `allow` a no_context_takeover flag set means "always ask for it", window
   bits are the most each side may use (0: 15). An offer with a bad parameter, or one
   that cannot meet `allow` (a client window limit the client did not offer to honour),
   is passed over. Returns 1 with *agreed, exactly what the response must state
   (ws_deflate_format), or 0. */
WSDEF int ws_deflate_accept(const ws_request *req, const ws_deflate_params *allow,
                            ws_deflate_params *agreed);
#endif

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
    const char *url;            /* ws://host[:port]/path?query, wss:// or ws://[::1]:9001/;
                                   NULL: host and resource below (WS_NO_URL: always NULL) */
    const char *protocols;      /* "chat, superchat" or NULL */
    const char *origin;         /* NULL: no Origin header */
    const char *extra_headers;  /* "Authorization: ...\r\nCookie: ...\r\n" or NULL; a
                                   permessage-deflate offer made by hand goes here, as
                                   "Sec-WebSocket-Extensions: " + ws_deflate_format() */
    /* Read only when url is NULL: the target given as it goes into the request, for a
       client that knows it already or is built without URL parsing (WS_NO_URL). */
    const char *host;           /* the Host value: "example.com", "example.com:9001" (the
                                   port when not the default, §4.1 item 4), "[::1]:9001" */
    const char *resource;       /* "/chat?room=1" (§3's resource name); NULL: "/" */
} ws_client_options;

/* A server's response head, parsed and verified against what the client sent (§4.1
   items 1-6 of the response rules). On failure status_line still tells what came back. */
typedef struct ws_response {
    int status;                 /* 101 on success */
    ws_str status_line;         /* "HTTP/1.1 101 Switching Protocols" */
    ws_str protocol;            /* the subprotocol chosen, maybe empty */
    const char *head;
    size_t head_len;
    int deflate;                /* 1: permessage-deflate was accepted, as in `agreed` */
    ws_deflate_params agreed;   /* window bits made explicit: 8..15 */
} ws_response;

#if !defined(WS_NO_CLIENT) && !defined(WS_NO_HANDSHAKE)

/* Build the request (§4.1) for the given key into buf; returns its size or an error. */
WSDEF int ws_request_build(char *buf, size_t cap, const ws_client_options *o, const char *key);

WSDEF ws_result ws_response_parse(const char *head, size_t len, const ws_hs_limits *lim,
                                  const char *key, const char *offered_protocols,
                                  ws_response *res);
#ifndef WS_NO_DEFLATE
/* The same for a client that offered permessage-deflate (`offered`, as
   ws_deflate_format wrote it into the request). The response may accept it, once; it is checked as RFC 7692
   §7.1 asks (no extension or parameter that was not offered, none repeated or unknown,
   server_max_window_bits stated and no larger than offered, client_max_window_bits only
   if offered and no larger, server_no_context_takeover stated if asked for; a server
   may add either no_context_takeover unasked). Anything else: WS_ERR_HS_EXTENSION. */
WSDEF ws_result ws_response_parse_deflate(const char *head, size_t len, const ws_hs_limits *lim,
                                          const char *key, const char *offered_protocols,
                                          const ws_deflate_params *offered, ws_response *res);
#endif
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
                           1011), 1006 when none was (EOF, timeout, I/O, or no queue room
                           for the close frame), or for a failed handshake the HTTP
                           status (the server's refusal, or what a client got; data/len
                           then hold its status line). Always the last event. */
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
    const ws_deflate_params *deflate; /* OPEN: what permessage-deflate agreed (window bits
                                         explicit, 8..15), or NULL: not in use */
} ws_event;

typedef struct ws_conn ws_conn;

/* Events come out of ws_conn_feed, ws_conn_tick and ws_conn_eof through this callback.
   It may call anything on c except ws_conn_free: send, ping, close, accept, reject,
   tick, eof, output and consume (ws_conn_feed and ws_stream_pump refuse with
   WS_ERR_STATE: the input being read is not done). Whatever it calls, ev and what it
   points to stay valid until the callback returns, and not after. A connection that
   fails inside it (a deadline in ws_conn_tick, ws_conn_eof) stays failed: no 101 and
   no WS_EV_OPEN follow a WS_EV_ERROR. */
typedef void (*ws_event_fn)(ws_conn *c, const ws_event *ev, void *user);

/* permessage-deflate (RFC 7692) for one connection. Compressed messages carry RSV1
   (§6); whole messages and streaming both work, max_message limits the inflated size,
   and text is checked on the inflated bytes. A connection that cannot allocate (no
   allocator: the zero-allocation mode) never negotiates it. Memory, allocated on first
   use: about 3.6 KB + 2^bits to inflate and 2.9 KB + WS_DEFLATE_MEM(bits) to deflate,
   bits being each direction's agreed window; with no context takeover that direction
   holds nothing once a ws_conn_tick finds no message in progress. */
#define WS_PMD_OFF 0
#define WS_PMD_NEGOTIATE 1 /* client: offer `params`; server: accept an offer within them */
#define WS_PMD_AGREED 2    /* with skip_handshake: the handshake elsewhere agreed `params`
                              (ws_deflate_accept, or a response's `agreed`) */
typedef struct ws_deflate_config {
    int mode;                   /* WS_PMD_OFF, WS_PMD_NEGOTIATE or WS_PMD_AGREED */
    ws_deflate_params params;   /* client: the offer (client_max_window_bits 0 offers it
                                   without a value); server: what it allows, see
                                   ws_deflate_accept */
    int level;                  /* 0 or WS_DEFLATE_DEFAULT; WS_DEFLATE_FAST */
    uint32_t threshold;         /* shorter messages go uncompressed; 0: 32 bytes */
} ws_deflate_config;

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
    size_t max_handshake;       /* 0: WS_DEFAULT_MAX_HANDSHAKE; more than INT_MAX counts as INT_MAX */
    unsigned max_headers;       /* 0: WS_DEFAULT_MAX_HEADERS */
    int streaming;              /* 1: WS_EV_FRAGMENT pieces instead of WS_EV_MESSAGE */
    int skip_handshake;         /* 1: start OPEN (the handshake was done elsewhere) */
    uint32_t ping_interval_ms;  /* 0: no keep-alive pings, and no deadline while OPEN */
    uint32_t pong_timeout_ms;   /* 0: ping_interval_ms. With pings on, also how long
                                   queued output may wait for a peer that stopped reading */
    uint32_t close_timeout_ms;  /* 0: WS_DEFAULT_CLOSE_TIMEOUT: the peer's close, the
                                   server's EOF, the last bytes read after a close,
                                   a failure or a refusal */
    uint32_t handshake_timeout_ms; /* 0: WS_DEFAULT_HANDSHAKE_TIMEOUT; counted by ticks */
    ws_deflate_config deflate;  /* permessage-deflate; zero: off */
} ws_config;

/* The connection. Its fields are private (ws__ names) but public so you can place it
   anywhere: on the stack, in an array, inside your own struct. */
struct ws_conn {
    /* The most used first: on Thumb the 2-byte loads and stores reach bytes at offsets
       0-31 and words at 0-124 (x86-64 likewise saves 3 bytes per access below 128). */
    uint32_t ws__flags;
    int ws__error;
    unsigned char ws__state, ws__role;
    unsigned char ws__msg_op, ws__send_op, ws__phase, ws__hdr_len;
    unsigned char ws__ctrl_len;      /* the current control frame's payload length */
    unsigned char ws__held;          /* queue room held for that frame's reply */
    ws_frame ws__f;                  /* the frame arriving, decoded in place; its len
                                        counts down the payload bytes still to come */
    unsigned char *ws__out;          /* output queue: bytes [out_head, out_tail) */
    size_t ws__out_cap, ws__out_head, ws__out_tail, ws__max_queue;
    unsigned char *ws__in;           /* handshake head, then message assembly, then a
                                        control payload split between reads */
    size_t ws__in_cap, ws__in_len, ws__max_message, ws__max_handshake;
    void *ws__aux;                   /* the server's request during WS_EV_REQUEST; once
                                        open, the permessage-deflate state */
    uint32_t ws__ping_at, ws__close_at; /* ms, the low 32 bits of ws_conn_tick's clock */
    unsigned ws__max_headers;        /* cfg.max_headers (0: the parsers' default) */
    uint32_t ws__ping_interval, ws__pong_timeout;
    uint32_t ws__end_wait[2];        /* the close timer's limit: [0] while CONNECTING (the
                                        handshake's), [1] after (the close's) */
    ws_utf8 ws__utf8;                /* the text message arriving, checked so far */
    uint32_t ws__send_utf8;
    uint32_t ws__hs_prefix;          /* a client's key and offered protocols, ahead of the
                                        response head in ws__in: not 0 once it started */
    uint32_t ws__pmd_min;            /* cfg.deflate.threshold */
    ws_event_fn ws__on_event;        /* to ws__alloc: ws_config's fields in its order */
    void *ws__user;
    ws_rng_fn ws__rng;
    void *ws__rng_ctx;
    ws_allocator ws__alloc;
    unsigned char ws__hdr[WS_MAX_HEADER];
    uint16_t ws__pmd_cfg;            /* cfg.deflate packed (ws__pmd_pack), in the padding */
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
/* Queue the client's request (§4.1) with a fresh key. The response arrives via feed.
   When it fails (WS_ERR_URL for a url, host or resource that is not valid, or any url
   under WS_NO_URL; WS_ERR_ARG for neither url nor host, a value with CR/LF or extra
   headers that are not CRLF-terminated lines; WS_ERR_TOO_BIG, WS_ERR_RNG, ...) c holds
   no memory. */
WSDEF ws_result ws_client_start(ws_conn *c, const ws_client_options *o);
#endif

#if !defined(WS_NO_SERVER) && !defined(WS_NO_HANDSHAKE)
/* In WS_EV_REQUEST only: accept with one of the offered subprotocols (or NULL) and extra
   header lines, or refuse with an HTTP status (300-599: 403, 404...). Not calling either
   accepts without a subprotocol. The strings are read during the call only.
   A ws_accept that fails (a protocol the client did not offer: WS_ERR_ARG; extra lines
   that are not CRLF-terminated: WS_ERR_ARG; no room: WS_ERR_BUFFER, WS_ERR_TOO_BIG,
   WS_ERR_NOMEM) queues nothing and leaves the decision open: call ws_accept again or
   ws_reject. If the callback returns without a decision after such a failure, the
   request is refused with 500 and WS_EV_ERROR reports that failure: a connection never
   opens with another subprotocol or other headers than the ones asked for.
   A ws_reject that cannot refuse as asked (status outside 300-599, bad lines, no room)
   still refuses: with the status alone (500 for a bad one) or, with no room even for
   that, by closing the transport (ws_conn_wants 0). It returns the error, and
   WS_EV_ERROR reports it after the callback. A refusal is never turned into a 101. */
WSDEF ws_result ws_accept(ws_conn *c, const char *protocol, const char *extra_headers);
WSDEF ws_result ws_reject(ws_conn *c, int status, const char *extra_headers);
#endif

/* Give the connection bytes that arrived. data is modified (server: unmasked in place).
   *consumed says how many bytes were taken. Returns WS_OK when all were; WS_WOULD_BLOCK
   when it stopped at a ping or close whose reply does not fit in the output queue yet
   (that frame is left unread; send some output, then feed the rest again); otherwise the
   connection's error, which sticks: every later call returns it. Events are delivered
   during the call. From a ping's or close's header until its reply is queued, room for
   the reply is held: sends that would take it get WS_WOULD_BLOCK. From the event
   callback it takes nothing and returns WS_ERR_STATE. */
WSDEF ws_result ws_conn_feed(ws_conn *c, void *data, size_t len, size_t *consumed);

/* The transport reached end of file. Before the close handshake that is an abnormal
   closure (WS_EV_ERROR with WS_ERR_EOF, code 1006). */
WSDEF void ws_conn_eof(ws_conn *c);

/* Bytes waiting to be written: *data points at them, the count is returned (0: none).
   After writing n of them, ws_conn_consume(c, n). The bytes not yet consumed never
   change and stay first in line, and the count only grows until you consume; but the
   pointer may move when a later call queues more (the queue compacts or grows) and dies
   when the connection hangs up, so call ws_conn_output again before each write. A TLS
   stack that must see a retried write at the same address needs to be told it may move
   (OpenSSL: SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER; mbedTLS only needs the same bytes). */
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
   code (ws_close_code_valid) with a UTF-8 reason of at most 123 bytes. No data or close
   frame is sent after it (§5.5.1); pings that arrive before the peer's close are still
   answered (§5.5.2). The close timeout counts from the first ws_conn_tick after it. */
WSDEF ws_result ws_close(ws_conn *c, unsigned code, const char *reason, size_t reason_len);

/* Time, only from here: now_ms from any monotonic clock. Sends keep-alive pings, fails
   the connection (WS_ERR_TIMEOUT) when a pong or a close reply is late or, with pings
   on, when queued output has not moved for the pong timeout (a peer that stopped
   reading), and after a close, a failure or a refusal hangs up once the close timeout
   has passed (a server that never closes, a peer that never reads our last bytes).
   Every wait counts from the first tick after it began. Call it every few hundred ms.
   Only now_ms's low 32 bits count, so a clock may wrap there; a wait is measured up to
   2^31 ms (24 days): a timeout set longer never fires. A clock that goes back restarts
   the waits in progress. */
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
   Either way ws_stream_wants says what comes next, and 0 means close the transport.
   Not from the event callback (WS_ERR_STATE). */
WSDEF ws_result ws_stream_pump(ws_stream *s);

/* Like ws_conn_wants, but knows about input still waiting in the read buffer: then no
   READ, and WRITE even with nothing queued (a pump bounds its work, and the next one
   feeds the rest: pump again once the transport takes writes). */
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

#include <stdarg.h> /* freestanding too (C99 §4) */

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
   the output queue; the hot paths do not call them per byte. One loop serves memcpy and
   memmove, backwards only when d overlaps s from above: as a call, not a second loop
   inlined where the queue moves its bytes down, it is 32 B less on Thumb. */
static void *ws__memmove(void *d, const void *s, size_t n) {
    unsigned char *dp = (unsigned char *)d;
    const unsigned char *sp = (const unsigned char *)s;
    size_t i, k;
    for (i = 0; i < n; i++) {
        k = dp > sp ? n - 1 - i : i;
        dp[k] = sp[k];
    }
    return d;
}
/* Most sites zero a struct with it (eight in a WS_NO_DEFLATE build); compilers inline the
   loop into each, 44 B more on Thumb there, and a call costs nothing next to the loop. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noinline))
#endif
static void *ws__memset(void *d, int c, size_t n) {
    unsigned char *dp = (unsigned char *)d;
    while (n--) *dp++ = (unsigned char)c;
    return d;
}
#define WS_MEMCPY(d, s, n) ws__memmove(d, s, n)
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
    /* WS__RESULTS runs 0, -1, -2, ... without gaps, so -r indexes its texts; every other
       value (a positive one too, whose negation wraps to a huge index) takes the last. */
#define WS__RESULT_TEXT(name, value, text) text,
    static const char *const texts[] = {WS__RESULTS(WS__RESULT_TEXT) "unknown result"};
#undef WS__RESULT_TEXT
    unsigned i = 0u - (unsigned)r, last = sizeof texts / sizeof *texts - 1;
    return texts[i < last ? i : last];
}

/* ---- 2. Primitives --------------------------------------------------------------- */

static uint32_t ws__rol(uint32_t x, unsigned n) { return (x << n) | (x >> (32 - n)); }

static uint32_t ws__be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* It hashes about 60 bytes once per handshake: both forms keep the schedule as 16 words
   (the §6.1.3 alternative) rather than 80. */
#if WS_SMALL
/* s->block into s->h (FIPS 180-4 §6.1.2). u holds a, b, c, d, e, then W[i - 1] down to
   W[i - 16]: one shift up a word per round moves both the working variables (e = d, ...,
   b = a) and the schedule's window, so every word sits at a fixed index and no ring
   arithmetic is needed. Each round makes its own W[i], the first 16 straight from the
   block, so no loop loads them ahead. The shifts make it some 3x slower than the ring
   below, for 60 B less Thumb code. */
static void ws__sha1_block(ws_sha1 *s) {
    static const uint32_t K[4] = {0x5A827999u, 0x6ED9EBA1u, 0x8F1BBCDCu, 0xCA62C1D6u};
    uint32_t u[21], f, t, w;
    unsigned i, j;
    WS_MEMCPY(u, s->h, 20);
    for (i = 0; i < 80; i++) {
        uint32_t b = u[1], c = u[2], d = u[3];
        /* §4.1.1: Ch, Parity, Maj, Parity. Ch and Maj are b & c plus a disjoint part: the
           bits of d where b is clear (Ch), where b and c differ (Maj). */
        j = i / 20;
        f = j & 1 ? b ^ c ^ d : (b & c) + (d & (j ? b ^ c : ~b));
        /* §6.1.2 step 1; past the block, W[i - 3] ^ W[i - 8] ^ W[i - 14] ^ W[i - 16] */
        w = i < 16 ? ws__be32(s->block + 4 * i) : ws__rol(u[7] ^ u[12] ^ u[18] ^ u[20], 1);
        t = ws__rol(u[0], 5) + f + u[4] + K[j] + w;
        for (j = 20; j; j--) u[j] = u[j - 1];
        u[0] = t, u[2] = ws__rol(b, 30), u[5] = w;
    }
    for (i = 0; i < 5; i++) s->h[i] += u[i];
}
#else
/* The same with the working variables in registers and the schedule as a ring. */
static void ws__sha1_block(ws_sha1 *s) {
    uint32_t w[16], a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3], e = s->h[4], f, k, t;
    unsigned i;
    for (i = 0; i < 16; i++) w[i] = ws__be32(s->block + 4 * i);
    for (i = 0; i < 80; i++) {
        uint32_t x = w[i & 15]; /* W[i], whose slot then takes W[i + 16] */
        w[i & 15] = ws__rol(w[(i + 13) & 15] ^ w[(i + 8) & 15] ^ w[(i + 2) & 15] ^ x, 1);
        if (i < 20) f = (b & c) | (~b & d), k = 0x5A827999u;
        else if (i >= 40 && i < 60) f = (b & c) | ((b | c) & d), k = 0x8F1BBCDCu;
        else f = b ^ c ^ d, k = i < 40 ? 0x6ED9EBA1u : 0xCA62C1D6u;
        t = ws__rol(a, 5) + f + e + k + x;
        e = d, d = c, c = ws__rol(b, 30), b = a, a = t;
    }
    s->h[0] += a, s->h[1] += b, s->h[2] += c, s->h[3] += d, s->h[4] += e;
}
#endif

/* Returns where the next byte goes in s->block: what ws_sha1_final pads up to. */
static unsigned ws__sha1_byte(ws_sha1 *s, unsigned char c) {
    s->block[s->total++ & 63] = c;
    if (!(s->total & 63)) ws__sha1_block(s);
    return (unsigned)s->total & 63;
}

WSDEF void ws_sha1_init(ws_sha1 *s) {
    static const uint32_t h0[5] = {0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u,
                                   0xC3D2E1F0u};
    WS_MEMCPY(s->h, h0, sizeof h0);
    s->total = 0;
}

WSDEF void ws_sha1_update(ws_sha1 *s, const void *data, size_t len) {
    const unsigned char *p = (const unsigned char *)data;
    while (len--) ws__sha1_byte(s, *p++);
}

WSDEF void ws_sha1_final(ws_sha1 *s, unsigned char digest[20]) {
    uint64_t n = s->total;
    unsigned i;
    unsigned char c = 0x80; /* §5.1.1: a 1 bit, zeros up to 56 mod 64, the bit count */
    while (ws__sha1_byte(s, c) != 56) c = 0;
    /* The bit count n * 8 big-endian: its top byte is bits 53..60 of n. */
    while (ws__sha1_byte(s, (unsigned char)(n >> 53))) n <<= 8;
    for (i = 0; i < 20; i++) digest[i] = (unsigned char)(s->h[i / 4] >> (24 - 8 * (i % 4)));
}

static const char ws__b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

WSDEF int ws_base64_encode(const void *src, size_t len, char *dst, size_t cap) {
    const unsigned char *s = (const unsigned char *)src;
    char *o = dst;
    uint32_t acc = 0;
    unsigned bits = 0;
    /* The room left after the NUL, at most INT_MAX to keep the result an int, holds 3 bytes
       per 4 characters: a bound on len that cannot wrap, where WS_BASE64_LEN(len) would
       for a len near SIZE_MAX (on 32-bit from 0xBFFFFFFE on) and let a tiny cap pass.
       INT_MAX, not INT_MAX - 1, gives the same bound and is one Thumb immediate. */
    if (!cap || len > WS__MIN(cap - 1, (size_t)0x7fffffff) / 4 * 3) return WS_ERR_BUFFER;
    do { /* 8 bits in, 6 bits a character out; after the input, the last bits zero-filled */
        if (len) acc = acc << 8 | *s++, bits += 8;
        else if (bits) acc <<= 6, bits += 6;
        while (bits >= 6) bits -= 6, *o++ = ws__b64[(acc >> bits) & 63];
    } while (len--);
    while ((o - dst) & 3) *o++ = '=';
    *o = 0;
    return (int)(o - dst);
}

WSDEF int ws_base64_decode(const char *src, size_t len, void *dst, size_t cap) {
    unsigned char *d = (unsigned char *)dst;
    const char *end;
    size_t o = 0, pad = 0;
    uint32_t acc = 0;
    unsigned bits = 0;
    if (len % 4 || len / 4 * 3 > 0x7fffffff) return WS_ERR_ARG;
    /* In "ab=c" the '=' is then decoded: a fault, as '=' anywhere but at the end. */
    if (len) pad = (size_t)((src[len - 1] == '=') + (src[len - 2] == '='));
    if (len / 4 * 3 - pad > cap) return WS_ERR_BUFFER;
    for (end = src + len - pad; src < end;) { /* 6 bits a character, out a byte at a time */
        unsigned v = 0, c = (unsigned char)*src++;
#if WS_SMALL
        while (v < 64 && (unsigned char)ws__b64[v] != c) v++; /* a search: 18 B less on Thumb */
#else
        if (c - 'A' < 26) v = c - 'A';
        else if (c - 'a' < 26) v = c - 'a' + 26;
        else if (c - '0' < 10) v = c - '0' + 52;
        else v = c == '+' ? 62 : c == '/' ? 63 : 64;
#endif
        if (v == 64) return WS_ERR_ARG; /* '=' only as the padding */
        acc = acc << 6 | v, bits += 6;
        if (bits >= 8) bits -= 8, d[o++] = (unsigned char)(acc >> bits);
    }
    /* Canonical form only: the bits the padding leaves over must be zero. */
    if (acc & ((1u << bits) - 1)) return WS_ERR_ARG;
    return (int)o;
}

/* UTF-8 validator state: 0 between code points; otherwise the count of continuation
   bytes still due (bits 0-1) and the range the next one must fall in (lo in bits 8-15,
   its width hi - lo + 1 in bits 16-23, so one unsigned compare of b - lo tests both
   ends). The ranges are what exclude overlongs (E0, F0), surrogates (ED) and code points
   past U+10FFFF (F4); RFC 3629 §4 table. WS__UTF8_BAD, the state after a fault, is a
   byte still due with a range of width 0: no byte is in it, so it sticks. */
#define WS__UTF8_BAD 3u
#define WS__UTF8_NEED(n, lo, hi) ((uint32_t)(n) | (uint32_t)(lo) << 8 | (uint32_t)((hi) - (lo) + 1) << 16)

#if WS_SMALL
/* Bytes 00..FF in runs, each run by its last byte (bits 0-7) and the state its bytes
   start (bits 8-31: 0 for ASCII, WS__UTF8_BAD for the bytes that never start a
   character): RFC 3629 §4. */
static const uint32_t ws__utf8_leads[11] = {
    0x7F,                                     /* ASCII */
    WS__UTF8_BAD << 8 | 0xC1,                 /* continuation bytes, C0/C1 (overlongs) */
    WS__UTF8_NEED(1, 0x80, 0xBF) << 8 | 0xDF,
    WS__UTF8_NEED(2, 0xA0, 0xBF) << 8 | 0xE0, /* no overlongs */
    WS__UTF8_NEED(2, 0x80, 0xBF) << 8 | 0xEC,
    WS__UTF8_NEED(2, 0x80, 0x9F) << 8 | 0xED, /* no surrogates */
    WS__UTF8_NEED(2, 0x80, 0xBF) << 8 | 0xEF,
    WS__UTF8_NEED(3, 0x90, 0xBF) << 8 | 0xF0, /* no overlongs */
    WS__UTF8_NEED(3, 0x80, 0xBF) << 8 | 0xF3,
    WS__UTF8_NEED(3, 0x80, 0x8F) << 8 | 0xF4, /* nothing past U+10FFFF */
    WS__UTF8_BAD << 8 | 0xFF                  /* F5..FF: past U+10FFFF */
};
#endif

WSDEF ws_result ws_utf8_feed(ws_utf8 *v, const void *data, size_t len) {
    const unsigned char *s = (const unsigned char *)data;
    uint32_t st = v->state;
#if WS_SMALL
    /* A byte a step, the state a byte starts looked up in the table (ASCII included):
       124 B less on Thumb than the form below, table included; at x86-64 -O2 half as fast
       on mixed text, 20x slower on ASCII. Inside the loop only the count (st & 3) says
       whether a continuation byte is due, so each one may set the range of the next
       without a test of the count; what is left between code points is cleared after the
       loop. A fault does not leave the loop: WS__UTF8_BAD sticks through the bytes after
       it, so one test at the end answers for this input and any before it (4 B less on
       Thumb; ASCII's row in the table saves another 4 B of code for its 4 B). */
    while (len--) {
        unsigned b = *s++;
        if (st & 3) {
            st = b - ((st >> 8) & 0xff) >= (st >> 16) ? WS__UTF8_BAD
                                                       : ((st & 3) - 1) | WS__UTF8_NEED(0, 0x80, 0xBF);
        } else {
            const uint32_t *t = ws__utf8_leads;
            while ((*t & 0xff) < b) t++;
            st = *t >> 8;
        }
    }
    v->state = st & 3 ? st : 0; /* a fault's state has bytes due: kept */
    return st == WS__UTF8_BAD ? WS_ERR_UTF8 : WS_OK;
#else
    const unsigned char *e;
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
            if (b - ((st >> 8) & 0xff) >= (st >> 16)) goto bad;
            st = (st & 3) - 1;
            if (st) st = WS__UTF8_NEED(st, 0x80, 0xBF);
        }
    }
    v->state = st;
    return WS_OK;
bad:
    v->state = WS__UTF8_BAD;
    return WS_ERR_UTF8;
#endif
}

WSDEF int ws_utf8_done(const ws_utf8 *v) { return v->state == 0; }

WSDEF ws_result ws_utf8_check(const void *data, size_t len) {
    ws_utf8 v = WS_UTF8_INIT;
    ws_utf8_feed(&v, data, len); /* a fault leaves a state that is never done */
    return ws_utf8_done(&v) ? WS_OK : WS_ERR_UTF8;
}

/* ws_mask's body, inline so that ws_conn_feed's loop over small frames unmasks without a
   call (there the phase is 0 and the length under 126, which the compiler folds in). */
static inline unsigned ws__mask(void *data, size_t len, const unsigned char key[4],
                                unsigned phase) {
    unsigned char *p = (unsigned char *)data;
    phase &= 3;
#if !WS_SMALL
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
#endif
    while (len--) {
        *p++ ^= key[phase];
        phase = (phase + 1) & 3;
    }
    return phase;
}

/* Compact builds call it rather than copy its byte loop into each of its three callers
   (28 B of Thumb); fast builds leave the choice to the compiler. */
#if WS_SMALL && (defined(__GNUC__) || defined(__clang__))
__attribute__((noinline))
#endif
WSDEF unsigned ws_mask(void *data, size_t len, const unsigned char key[4], unsigned phase) {
    return ws__mask(data, len, key, phase);
}

#ifndef WS_NO_DEFLATE
/* ---- 2b. DEFLATE (RFC 1951) --------------------------------------------------------- */

/* Length and distance codes, RFC 1951 §3.2.5: base value and count of extra bits. */
static const uint16_t ws__lbase[29] = {3,  4,  5,  6,  7,  8,  9,  10,  11,  13,  15,  17,  19,  23, 27,
                                       31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
static const unsigned char ws__lext[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                           2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const uint16_t ws__dbase[30] = {1,    2,    3,    4,    5,    7,     9,     13,    17,  25,
                                       33,   49,   65,   97,   129,  193,   257,   385,   513, 769,
                                       1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
static const unsigned char ws__dext[30] = {0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                                           6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};
/* The order in which code-length code lengths are sent (§3.2.7). */
static const unsigned char ws__clorder[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5,
                                              11, 4,  12, 3, 13, 2, 14, 1, 15};

/* Little-endian loads from bytes: one move on little-endian machines, no alignment or
   aliasing assumptions anywhere. */
static inline uint64_t ws__le64(const unsigned char *p) {
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
           (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
           (uint64_t)p[7] << 56;
}

static unsigned ws__bitrev(unsigned code, unsigned len) {
    unsigned r = 0;
    while (len--) r = (r << 1) | (code & 1), code >>= 1;
    return r;
}

enum { /* inflater states */
    WS__I_HEADER, WS__I_STORED_LEN, WS__I_STORED, WS__I_TABLE, WS__I_CLENS, WS__I_LENS,
    WS__I_CODES, WS__I_COPY, WS__I_DONE
};
enum { /* what was wrong, for ws_inflate_detail */
    WS__W_NONE, WS__W_BTYPE, WS__W_STORED, WS__W_COUNTS, WS__W_CL_SET, WS__W_LL_SET,
    WS__W_D_SET, WS__W_REPEAT_FIRST, WS__W_REPEAT_PAST, WS__W_NO_EOB, WS__W_BAD_LL,
    WS__W_BAD_D, WS__W_WINDOW, WS__W_BEFORE
};
static const char *const ws__inflate_why[] = {
    "",
    "invalid block type 3 (RFC 1951 3.2.3)",
    "stored block LEN is not the complement of NLEN (RFC 1951 3.2.4)",
    "more than 286 length or 30 distance codes (RFC 1951 3.2.7)",
    "over-subscribed or incomplete code-length code (RFC 1951 3.2.7)",
    "over-subscribed or incomplete literal/length code (RFC 1951 3.2.7)",
    "over-subscribed or incomplete distance code (RFC 1951 3.2.7)",
    "code length repeat (16) with no previous length (RFC 1951 3.2.7)",
    "code length repeats past HLIT + HDIST (RFC 1951 3.2.7)",
    "no end-of-block code (RFC 1951 3.2.7)",
    "invalid literal/length code 286-287 or unused code (RFC 1951 3.2.6)",
    "invalid distance code 30-31 or unused code (RFC 1951 3.2.6)",
    "distance farther back than the window (RFC 7692 7.1.2)",
    "distance before the start of the data (RFC 1951 3.2.5)"};

/* Canonical Huffman code from lengths (§3.2.2), for decoding: count per length and the
   symbols sorted by (length, value), which is all a bit-at-a-time decode needs, plus a
   table indexed by the next `fastbits` input bits for codes that short (their entries:
   symbol | length << 9; 0 means "longer code or none: decode the slow way").
   Returns 0, or 1 for an over-subscribed set or an incomplete one. An incomplete set is
   allowed only when `single_ok` and it is one code of one bit (§3.2.7 allows that for
   distances; zlib accepts it for literal/lengths too), and a set with no codes at all
   only for distances (`single_ok` == 2): such a code fails when it is used. */
static int ws__huff_build(const unsigned char *lens, unsigned n, uint16_t *count, uint16_t *sym,
                          uint16_t *fast, unsigned fastbits, int single_ok) {
    uint16_t offs[16];
    int left = 1;
    unsigned len, i, code = 0, k = 0;
    for (len = 0; len < 16; len++) count[len] = 0;
    for (i = 0; i < n; i++) count[lens[i]]++;
    for (len = 1; len < 16; len++) {
        left = (left << 1) - count[len];
        if (left < 0) return 1;
    }
    if (left > 0) {
        unsigned used = n - count[0];
        if (!((single_ok && used == 1 && count[1] == 1) || (single_ok == 2 && used == 0)))
            return 1;
    }
    offs[1] = 0;
    for (len = 1; len < 15; len++) offs[len + 1] = (uint16_t)(offs[len] + count[len]);
    for (i = 0; i < n; i++)
        if (lens[i]) sym[offs[lens[i]]++] = (uint16_t)i;
    WS_MEMSET(fast, 0, sizeof(uint16_t) << fastbits);
    /* count[0] (unused symbols) is not needed to decode: it keeps the longest code
       length instead, so a bit pattern no code can start fails as soon as it is seen */
    for (count[0] = 0, len = 1; len < 16; len++)
        if (count[len]) count[0] = (uint16_t)len;
    for (len = 1; len <= fastbits; len++, code <<= 1) {
        unsigned j;
        for (j = 0; j < count[len]; j++, k++, code++) {
            unsigned e;
            for (e = ws__bitrev(code, len); e < (1u << fastbits); e += 1u << len)
                fast[e] = (uint16_t)(sym[k] | len << 9);
        }
    }
    return 0;
}

/* Decode one symbol from the low `avail` bits of `bits` without consuming them: the
   symbol, -1 if `avail` bits are too few to tell, -2 for a code not in the set. Codes are
   sent first bit first, most significant bit of the code first (§3.1.1). Bits above
   `avail` must be zero. */
static inline int ws__huff_decode(uint64_t bits, unsigned avail, const uint16_t *fast,
                                  unsigned fastbits, const uint16_t *count, const uint16_t *sym,
                                  unsigned *used) {
    unsigned e = fast[bits & ((1u << fastbits) - 1)], len;
    int code = 0, first = 0, index = 0;
    if (e) {
        *used = e >> 9;
        return *used <= avail ? (int)(e & 511) : -1;
    }
    for (len = 1; len < 16; len++) { /* the long way, one bit at a time */
        int c = count[len];
        if (len > count[0]) return -2; /* longer than any code: not in the set */
        if (len > avail) return -1;
        code |= (int)((bits >> (len - 1)) & 1);
        if (code - c < first) {
            *used = len;
            return sym[index + (code - first)];
        }
        index += c, first += c;
        first <<= 1, code <<= 1;
    }
    return -2;
}

WSDEF ws_result ws_inflate_init(ws_inflater *z, unsigned window_bits, void *mem, size_t mem_size) {
    if (!z || window_bits < 8 || window_bits > 15 || !mem ||
        mem_size < WS_INFLATE_MEM(window_bits))
        return WS_ERR_ARG;
    WS_MEMSET(z, 0, sizeof *z);
    z->ws__win = (unsigned char *)mem;
    z->ws__wsize = (uint32_t)1 << window_bits;
    z->ws__fixed = 2; /* neither table holds the fixed code yet */
    ws_inflate_reset(z, 0);
    return WS_OK;
}

WSDEF void ws_inflate_reset(ws_inflater *z, int keep_history) {
    z->ws__bits = 0, z->ws__nbits = 0;
    z->ws__state = WS__I_HEADER, z->ws__final = 0;
    z->ws__err = WS_OK, z->ws__why = WS__W_NONE;
    z->ws__copy = 0, z->ws__total = 0;
    if (!keep_history) z->ws__whave = 0, z->ws__wnext = 0;
}

WSDEF void ws_inflate_set_limit(ws_inflater *z, size_t max_output) { z->ws__limit = max_output; }

WSDEF const char *ws_inflate_detail(const ws_inflater *z) {
    return z->ws__err == WS_ERR_DEFLATE ? ws__inflate_why[z->ws__why] : "";
}

/* Copy a match of `len` bytes from `dist` back to op. The bytes written in this call are
   in out[0..op), the ones before in the window ring; the caller checked that dist reaches
   neither past the window nor before the start of the data. */
static inline unsigned char *ws__inflate_copy(const ws_inflater *z, unsigned char *op,
                                              const unsigned char *ostart, uint32_t dist,
                                              uint32_t len) {
    size_t here = (size_t)(op - ostart);
    if (dist > here) { /* starts in the window ring */
        uint32_t back = dist - (uint32_t)here; /* <= whave */
        uint32_t from = (z->ws__wnext - back) & (z->ws__wsize - 1);
        while (len && back) {
            uint32_t n = z->ws__wsize - from;
            if (n > back) n = back;
            if (n > len) n = len;
            WS_MEMCPY(op, z->ws__win + from, n);
            op += n, len -= n, back -= n;
            from = (from + n) & (z->ws__wsize - 1);
        }
    }
    if (len) {
        const unsigned char *src = op - dist;
        if (dist >= 8) { /* 8 bytes at a time: never overlapping, never past len */
            while (len > 8) {
                WS_MEMCPY(op, src, 8);
                op += 8, src += 8, len -= 8;
            }
        }
        while (len--) *op++ = *src++; /* overlapping runs repeat the pattern (§3.2.3) */
    }
    return op;
}

/* Remember the output of this call in the window ring: the last wsize bytes at most. */
static void ws__inflate_keep(ws_inflater *z, const unsigned char *out, size_t n) {
    uint32_t ws = z->ws__wsize;
    if (n >= ws) {
        WS_MEMCPY(z->ws__win, out + n - ws, ws);
        z->ws__wnext = 0, z->ws__whave = ws;
        return;
    }
    while (n) {
        uint32_t k = ws - z->ws__wnext;
        if (k > n) k = (uint32_t)n;
        WS_MEMCPY(z->ws__win + z->ws__wnext, out, k);
        out += k, n -= k;
        z->ws__wnext = (z->ws__wnext + k) & (ws - 1);
        z->ws__whave = z->ws__whave + k > ws ? ws : z->ws__whave + k;
    }
}

/* The fixed code (§3.2.6) in the literal/length and distance tables. */
static void ws__inflate_fixed(ws_inflater *z) {
    unsigned i;
    for (i = 0; i < 144; i++) z->ws__lens[i] = 8;
    for (; i < 256; i++) z->ws__lens[i] = 9;
    for (; i < 280; i++) z->ws__lens[i] = 7;
    for (; i < 288; i++) z->ws__lens[i] = 8;
    for (i = 0; i < 32; i++) z->ws__lens[288 + i] = 5;
    ws__huff_build(z->ws__lens, 288, z->ws__lcount, z->ws__lsym, z->ws__lfast, 10, 0);
    ws__huff_build(z->ws__lens + 288, 32, z->ws__dcount, z->ws__dsym, z->ws__dfast, 8, 0);
    z->ws__fixed = 1;
}

#define WS__LF(z) (z)->ws__lfast, 10, (z)->ws__lcount, (z)->ws__lsym
#define WS__DF(z) (z)->ws__dfast, 8, (z)->ws__dcount, (z)->ws__dsym

WSDEF ws_result ws_inflate(ws_inflater *z, const void *in, size_t in_len, size_t *in_used,
                           void *out, size_t out_cap, size_t *out_len) {
    static const unsigned char none[1] = {0};
    unsigned char spare[1];
    const unsigned char *ip = in_len ? (const unsigned char *)in : none, *ibegin = ip, *iend;
    unsigned char *op = out_cap ? (unsigned char *)out : spare, *ostart = op, *oend;
    uint64_t bits;
    unsigned nbits, capped = 0, used;
    ws_result r;
    int s;
    if (in_used) *in_used = 0;
    if (out_len) *out_len = 0;
    if (!z || (!in && in_len) || (!out && out_cap)) return WS_ERR_ARG;
    if (z->ws__err != WS_OK) return (ws_result)z->ws__err;
    iend = ip + in_len;
    /* the limit: never write past it, and passing it is an error, not "output full" */
    if (z->ws__limit && out_cap > z->ws__limit - z->ws__total)
        out_cap = z->ws__limit - z->ws__total, capped = 1;
    oend = op + out_cap;
    bits = z->ws__bits, nbits = z->ws__nbits;

/* Make at least n bits available or stop for more input. */
#define WS__NEED(n)                                                  \
    while (nbits < (n)) {                                            \
        if (ip == iend) goto need_more;                              \
        bits |= (uint64_t)*ip++ << nbits, nbits += 8;               \
    }
#define WS__DROP(n) (bits >>= (n), nbits -= (n))
#define WS__FAIL(w) do { z->ws__why = (w); r = WS_ERR_DEFLATE; goto fail; } while (0)

    for (;;) {
        switch (z->ws__state) {
        case WS__I_HEADER: /* §3.2.3: BFINAL, then BTYPE */
            WS__NEED(3);
            z->ws__final = (unsigned)bits & 1;
            switch ((bits >> 1) & 3) {
            case 0: /* stored (§3.2.4): skip to the byte boundary */
                WS__DROP(3);
                WS__DROP(nbits & 7);
                z->ws__state = WS__I_STORED_LEN;
                break;
            case 1:
                WS__DROP(3);
                if (z->ws__fixed != 1) ws__inflate_fixed(z);
                z->ws__state = WS__I_CODES;
                break;
            case 2:
                WS__DROP(3);
                z->ws__state = WS__I_TABLE;
                break;
            default: WS__FAIL(WS__W_BTYPE);
            }
            break;
        case WS__I_STORED_LEN:
            WS__NEED(32);
            if (((bits ^ (bits >> 16)) & 0xffff) != 0xffff) WS__FAIL(WS__W_STORED);
            z->ws__copy = (uint32_t)(bits & 0xffff);
            WS__DROP(32);
            z->ws__state = WS__I_STORED;
            /* fall through */
        case WS__I_STORED:
            while (z->ws__copy) {
                if (op == oend) goto out_full;
                if (nbits) { /* whole bytes already taken into the bit buffer */
                    *op++ = (unsigned char)bits;
                    WS__DROP(8);
                    z->ws__copy--;
                } else {
                    size_t n = z->ws__copy;
                    if (ip == iend) goto need_more;
                    if (n > (size_t)(iend - ip)) n = (size_t)(iend - ip);
                    if (n > (size_t)(oend - op)) n = (size_t)(oend - op);
                    WS_MEMCPY(op, ip, n);
                    op += n, ip += n, z->ws__copy -= (uint32_t)n;
                }
            }
            z->ws__state = z->ws__final ? WS__I_DONE : WS__I_HEADER;
            break;
        case WS__I_TABLE: /* §3.2.7: HLIT, HDIST, HCLEN */
            WS__NEED(14);
            z->ws__hlit = 257 + ((unsigned)bits & 31);
            z->ws__hdist = 1 + ((unsigned)(bits >> 5) & 31);
            z->ws__hclen = 4 + ((unsigned)(bits >> 10) & 15);
            WS__DROP(14);
            if (z->ws__hlit > 286 || z->ws__hdist > 30) WS__FAIL(WS__W_COUNTS);
            WS_MEMSET(z->ws__lens, 0, 19);
            z->ws__i = 0;
            z->ws__state = WS__I_CLENS;
            /* fall through */
        case WS__I_CLENS:
            while (z->ws__i < z->ws__hclen) {
                WS__NEED(3);
                z->ws__lens[ws__clorder[z->ws__i++]] = (unsigned char)(bits & 7);
                WS__DROP(3);
            }
            /* the code-length code goes in the literal/length tables for a moment */
            z->ws__fixed = 0;
            if (ws__huff_build(z->ws__lens, 19, z->ws__lcount, z->ws__lsym, z->ws__lfast, 10, 0))
                WS__FAIL(WS__W_CL_SET);
            z->ws__i = 0;
            z->ws__state = WS__I_LENS;
            /* fall through */
        case WS__I_LENS: {
            unsigned total = z->ws__hlit + z->ws__hdist;
            while (z->ws__i < total) {
                unsigned x, rep, val;
                while (nbits < 56 && ip != iend) bits |= (uint64_t)*ip++ << nbits, nbits += 8;
                s = ws__huff_decode(bits, nbits, WS__LF(z), &used);
                if (s == -1) goto need_more;
                if (s < 0) WS__FAIL(WS__W_CL_SET);
                if (s < 16) {
                    WS__DROP(used);
                    z->ws__lens[z->ws__i++] = (unsigned char)s;
                    continue;
                }
                x = s == 16 ? 2 : s == 17 ? 3 : 7;
                if (nbits < used + x) goto need_more;
                rep = (unsigned)(bits >> used) & ((1u << x) - 1);
                WS__DROP(used + x);
                if (s == 16) {
                    if (z->ws__i == 0) WS__FAIL(WS__W_REPEAT_FIRST);
                    val = z->ws__lens[z->ws__i - 1], rep += 3;
                } else {
                    val = 0, rep += s == 17 ? 3 : 11;
                }
                if (z->ws__i + rep > total) WS__FAIL(WS__W_REPEAT_PAST);
                while (rep--) z->ws__lens[z->ws__i++] = (unsigned char)val;
            }
            if (z->ws__lens[256] == 0) WS__FAIL(WS__W_NO_EOB);
            /* distances live after the literal/lengths: move them to their own place */
            WS_MEMMOVE(z->ws__lens + 288, z->ws__lens + z->ws__hlit, z->ws__hdist);
            if (ws__huff_build(z->ws__lens, z->ws__hlit, z->ws__lcount, z->ws__lsym, z->ws__lfast,
                               10, 1))
                WS__FAIL(WS__W_LL_SET);
            if (ws__huff_build(z->ws__lens + 288, z->ws__hdist, z->ws__dcount, z->ws__dsym,
                               z->ws__dfast, 8, 2))
                WS__FAIL(WS__W_D_SET);
            z->ws__state = WS__I_CODES;
        }
            /* fall through */
        case WS__I_CODES:
            for (;;) {
                unsigned lsym, len, dsym, dist, x, u2;
                /* The fast loop: 8 input bytes and a whole match of output room in hand, so
                   no check per bit or byte. One refill gives >= 56 bits, and a literal or a
                   whole length/distance pair takes at most 15+5+15+13 = 48. */
                while (iend - ip >= 8 && oend - op >= 258 + 8) {
                    bits |= ws__le64(ip) << nbits;
                    ip += (63 - nbits) >> 3;
                    nbits |= 56;
                    s = ws__huff_decode(bits, nbits, WS__LF(z), &used);
                    if (s < 0) goto bad_ll;
                    WS__DROP(used);
                    if (s < 256) {
                        unsigned e = z->ws__lfast[bits & 1023];
                        *op++ = (unsigned char)s;
                        /* >= 41 bits left: room for a second short literal, no refill */
                        if (e && (e & 511) < 256) {
                            WS__DROP(e >> 9);
                            *op++ = (unsigned char)e;
                        }
                        continue;
                    }
                    if (s == 256) goto end_of_block;
                    if (s > 285) goto bad_ll;
                    lsym = (unsigned)s - 257;
                    x = ws__lext[lsym];
                    len = ws__lbase[lsym] + ((unsigned)bits & ((1u << x) - 1));
                    WS__DROP(x);
                    s = ws__huff_decode(bits, nbits, WS__DF(z), &used);
                    if (s < 0 || s > 29) goto bad_d;
                    WS__DROP(used);
                    x = ws__dext[s];
                    dist = ws__dbase[s] + ((unsigned)bits & ((1u << x) - 1));
                    WS__DROP(x);
                    if (dist > z->ws__wsize) goto too_far;
                    if (dist > (size_t)(op - ostart)) {
                        if (dist > z->ws__whave + (size_t)(op - ostart)) goto before;
                        op = ws__inflate_copy(z, op, ostart, dist, len);
                    } else if (dist >= 8) {
                        /* whole 8-byte steps, up to 7 bytes past the match: the loop keeps
                           258 + 8 bytes of room, and what lands past op is rewritten */
                        const unsigned char *src = op - dist;
                        unsigned char *end = op + len;
                        do {
                            WS_MEMCPY(op, src, 8);
                            op += 8, src += 8;
                        } while (op < end);
                        op = end;
                    } else if (dist == 1) {
                        WS_MEMSET(op, op[-1], len);
                        op += len;
                    } else {
                        const unsigned char *src = op - dist;
                        while (len--) *op++ = *src++;
                    }
                }
                /* Bits above nbits hold bytes the fast loop read ahead of ip: clear them. */
                bits &= nbits < 64 ? ((uint64_t)1 << nbits) - 1 : ~(uint64_t)0;
                /* The careful way: a whole symbol or pair is decoded from what is in the
                   bit buffer, or nothing is consumed and we wait for more input. */
                while (nbits < 56 && ip != iend) bits |= (uint64_t)*ip++ << nbits, nbits += 8;
                s = ws__huff_decode(bits, nbits, WS__LF(z), &used);
                if (s == -1) goto need_more;
                if (s < 0) goto bad_ll;
                if (s < 256) {
                    if (op == oend) goto out_full;
                    *op++ = (unsigned char)s;
                    WS__DROP(used);
                    continue;
                }
                if (s == 256) {
                    WS__DROP(used);
                    goto end_of_block;
                }
                if (s > 285) goto bad_ll;
                lsym = (unsigned)s - 257;
                x = ws__lext[lsym];
                if (nbits < used + x) goto need_more;
                len = ws__lbase[lsym] + ((unsigned)(bits >> used) & ((1u << x) - 1));
                u2 = used + x;
                dsym = 0;
                s = ws__huff_decode(bits >> u2, nbits - u2, WS__DF(z), &used);
                if (s == -1) goto need_more;
                if (s < 0 || s > 29) goto bad_d;
                dsym = (unsigned)s;
                x = ws__dext[dsym];
                if (nbits < u2 + used + x) goto need_more;
                dist = ws__dbase[dsym] + ((unsigned)(bits >> (u2 + used)) & ((1u << x) - 1));
                if (dist > z->ws__wsize) goto too_far;
                if (dist > z->ws__whave + (size_t)(op - ostart)) goto before;
                WS__DROP(u2 + used + x);
                z->ws__copy = len, z->ws__dist = dist;
                z->ws__state = WS__I_COPY;
                goto copy;
            }
        end_of_block:
            bits &= nbits < 64 ? ((uint64_t)1 << nbits) - 1 : ~(uint64_t)0;
            z->ws__state = z->ws__final ? WS__I_DONE : WS__I_HEADER;
            break;
        case WS__I_COPY:
        copy: {
            uint32_t n = z->ws__copy;
            if (n > (size_t)(oend - op)) n = (uint32_t)(oend - op);
            if (n) {
                op = ws__inflate_copy(z, op, ostart, z->ws__dist, n);
                z->ws__copy -= n;
            }
            if (z->ws__copy) goto out_full;
            z->ws__state = WS__I_CODES;
            break;
        }
        case WS__I_DONE: {
            /* give back the whole bytes read past the end, where they came from this call */
            unsigned back = nbits / 8;
            if (back > (size_t)(ip - ibegin)) back = (unsigned)(ip - ibegin);
            if (back) ip -= back;
            bits = 0, nbits = 0;
            r = WS_OK;
            goto done;
        }
        default: WS__FAIL(WS__W_NONE);
        }
    }
bad_ll:
    WS__FAIL(WS__W_BAD_LL);
bad_d:
    WS__FAIL(WS__W_BAD_D);
too_far:
    WS__FAIL(WS__W_WINDOW);
before:
    WS__FAIL(WS__W_BEFORE);
need_more:
    r = WS_NEED_MORE;
    goto done;
out_full:
    r = capped && op == oend ? WS_ERR_TOO_BIG : WS_OUT_FULL;
    if (r == WS_ERR_TOO_BIG) z->ws__err = r;
    goto done;
fail:
    z->ws__err = r;
done:
    bits &= nbits < 64 ? ((uint64_t)1 << nbits) - 1 : ~(uint64_t)0;
    z->ws__bits = bits, z->ws__nbits = nbits;
    if (op != ostart) {
        ws__inflate_keep(z, ostart, (size_t)(op - ostart));
        z->ws__total += (size_t)(op - ostart);
    }
    if (in_used) *in_used = (size_t)(ip - ibegin);
    if (out_len) *out_len = (size_t)(op - ostart);
    return r;
#undef WS__NEED
#undef WS__DROP
#undef WS__FAIL
}
#undef WS__LF
#undef WS__DF

/* ---- deflater ---- */

enum { /* what ws__deflate_emit is writing */
    WS__E_IDLE, WS__E_HDR, WS__E_CLENS, WS__E_RLE, WS__E_SYMS, WS__E_STORED_HDR,
    WS__E_STORED_DATA, WS__E_MARK, WS__E_PAD
};
#define WS__DEFLATE_MINLOOK 262 /* a whole match at pos and at pos + 1, with hash bytes */

static inline unsigned ws__ctz64(uint64_t x) { /* x != 0 */
#if defined(__GNUC__) || defined(__clang__)
    return (unsigned)__builtin_ctzll(x);
#else
    unsigned n = 0;
    while (!(x & 1)) x >>= 1, n++;
    return n;
#endif
}

static inline unsigned ws__log2(unsigned x) { /* x != 0: index of the top bit */
#if defined(__GNUC__) || defined(__clang__)
    return 31u - (unsigned)__builtin_clz(x);
#else
    unsigned n = 0;
    while (x >>= 1) n++;
    return n;
#endif
}

/* Length 3..258 to its code 0..28 (symbol 257 + code) and distance 1..32768 to its code
   0..29, by the shape of the §3.2.5 tables: past the first few, each power of two is split
   into 4 length codes or 2 distance codes. */
static inline unsigned ws__lcode(unsigned len) {
    unsigned l = len - 3, b;
    if (l < 8) return l;
    if (l == 255) return 28;
    b = ws__log2(l);
    return 4 * (b - 1) + ((l >> (b - 2)) & 3);
}
static inline unsigned ws__dcode(unsigned dist) {
    unsigned d = dist - 1, b;
    if (d < 4) return d;
    b = ws__log2(d);
    return 2 * b + ((d >> (b - 1)) & 1);
}

/* Shell sort, small and without recursion (n <= 288). */
static void ws__sort32(uint32_t *a, unsigned n) {
    static const unsigned gaps[] = {132, 57, 23, 10, 4, 1};
    unsigned g, i, j;
    for (g = 0; g < sizeof gaps / sizeof *gaps; g++) {
        unsigned h = gaps[g];
        for (i = h; i < n; i++) {
            uint32_t v = a[i];
            for (j = i; j >= h && a[j - h] > v; j -= h) a[j] = a[j - h];
            a[j] = v;
        }
    }
}

/* Huffman code lengths of at most `limit` bits for freq[0..n) (0 for unused symbols).
   Optimal lengths come from the in-place method of Moffat and Katajainen (1995) over the
   symbols sorted by frequency; lengths past the limit are then clipped and the Kraft sum
   repaired by moving the shallowest possible leaves one level down. */
static void ws__huff_lengths(const uint16_t *freq, unsigned n, unsigned limit, unsigned char *lens) {
    uint32_t key[288], a[288];
    unsigned num[16], i, m = 0, l, k;
    int root, leaf, next, avbl, used, dpth;
    uint32_t total;
    for (i = 0; i < n; i++) {
        lens[i] = 0;
        if (freq[i]) key[m++] = (uint32_t)freq[i] << 9 | i;
    }
    if (m == 0) return;
    if (m == 1) {
        lens[key[0] & 511] = 1;
        return;
    }
    ws__sort32(key, m);
    for (i = 0; i < m; i++) a[i] = key[i] >> 9;
    /* pairing phase: a[next] becomes an internal node's weight, then its parent */
    a[0] += a[1], root = 0, leaf = 2;
    for (next = 1; next < (int)m - 1; next++) {
        if (leaf >= (int)m || a[root] < a[leaf]) a[next] = a[root], a[root++] = (uint32_t)next;
        else a[next] = a[leaf++];
        if (leaf >= (int)m || (root < next && a[root] < a[leaf]))
            a[next] += a[root], a[root++] = (uint32_t)next;
        else a[next] += a[leaf++];
    }
    /* depths of the internal nodes, then of the leaves */
    a[m - 2] = 0;
    for (next = (int)m - 3; next >= 0; next--) a[next] = a[a[next]] + 1;
    avbl = 1, used = dpth = 0, root = (int)m - 2, next = (int)m - 1;
    while (avbl > 0) {
        while (root >= 0 && (int)a[root] == dpth) used++, root--;
        while (avbl > used) a[next--] = (uint32_t)dpth, avbl--;
        avbl = 2 * used, dpth++, used = 0;
    }
    /* a[i] is now the length of the i-th least frequent symbol */
    for (l = 0; l < 16; l++) num[l] = 0;
    for (i = 0; i < m; i++) num[a[i] > limit ? limit : a[i]]++;
    total = 0;
    for (l = 1; l <= limit; l++) total += (uint32_t)num[l] << (limit - l);
    while (total > (1u << limit)) {
        num[limit]--;
        for (l = limit - 1; l > 0; l--)
            if (num[l]) {
                num[l]--, num[l + 1] += 2;
                break;
            }
        total--;
    }
    for (k = 0, l = limit; l > 0; l--)
        for (i = 0; i < num[l]; i++) lens[key[k++] & 511] = (unsigned char)l;
}

/* Canonical codes for lengths (§3.2.2), bit-reversed because they go out first bit first. */
static void ws__huff_codes(const unsigned char *lens, unsigned n, uint16_t *codes) {
    unsigned count[16], next[16], i, code = 0;
    WS_MEMSET(count, 0, sizeof count); /* "= {0}" is a memset call WS_NO_STDLIB lacks */
    for (i = 0; i < n; i++) count[lens[i]]++;
    count[0] = 0;
    for (i = 1; i < 16; i++) next[i] = code = (code + count[i - 1]) << 1;
    for (i = 0; i < n; i++)
        codes[i] = lens[i] ? (uint16_t)ws__bitrev(next[lens[i]]++, lens[i]) : 0;
}

/* Search effort (tuned against zlib -6 and -1 with tests/bench/bench_deflate.c): chain
   links followed per position, the length that ends a search (nice), the length past
   which the default level takes a match without looking one position further (lazy),
   and the length past which that second look follows a quarter of the chain (good). */
#define WS__DCHAIN 32
#define WS__DNICE 32
#define WS__DLAZY 16
#define WS__DGOOD 6
#define WS__FCHAIN 4
#define WS__FNICE 32

WSDEF ws_result ws_deflate_init(ws_deflater *d, unsigned window_bits, int level, void *mem,
                                size_t mem_size) {
    unsigned char *p;
    if (!d || window_bits < 8 || window_bits > 15 || !mem ||
        mem_size < WS_DEFLATE_MEM(window_bits) ||
        (level != WS_DEFLATE_FAST && level != WS_DEFLATE_DEFAULT))
        return WS_ERR_ARG;
    WS_MEMSET(d, 0, sizeof *d);
    p = (unsigned char *)mem;
    p += (8 - ((size_t)((uintptr_t)p & 7))) & 7; /* the uint16_t arrays first, aligned */
    d->ws__wsize = (uint32_t)1 << window_bits;
    d->ws__prev = (uint16_t *)(void *)p, p += (size_t)1 << window_bits;
    d->ws__head = (uint16_t *)(void *)p, p += (size_t)2 << WS__DEFLATE_HASH_BITS(window_bits);
    d->ws__sym = (uint16_t *)(void *)p, p += (size_t)2 * WS__DEFLATE_SYMS(window_bits);
    d->ws__buf = p;
    d->ws__bsize = d->ws__wsize + WS__DEFLATE_LOOK(window_bits);
    d->ws__hshift = 32 - WS__DEFLATE_HASH_BITS(window_bits);
    d->ws__syms = WS__DEFLATE_SYMS(window_bits);
    /* Hash heads and chains need no clearing: every candidate's distance is checked
       against the data really there, so a stale entry costs a comparison, nothing more. */
    WS_MEMSET(d->ws__head, 0, (size_t)2 << WS__DEFLATE_HASH_BITS(window_bits));
    WS_MEMSET(d->ws__prev, 0, (size_t)1 << window_bits);
    d->ws__level = (unsigned)level;
    if (level == WS_DEFLATE_FAST) d->ws__chain = WS__FCHAIN, d->ws__nice = WS__FNICE;
    else d->ws__chain = WS__DCHAIN, d->ws__nice = WS__DNICE;
    ws_deflate_reset(d, 0);
    return WS_OK;
}

WSDEF void ws_deflate_reset(ws_deflater *d, int keep_history) {
    if (!keep_history) d->ws__hist = d->ws__pos;
    d->ws__bstart = d->ws__pos;
    d->ws__nsym = 0, d->ws__run = 0;
    d->ws__bits = 0, d->ws__nbits = 0;
    d->ws__phase = WS__E_IDLE, d->ws__fphase = 0;
    WS_MEMSET(d->ws__fl, 0, sizeof d->ws__fl);
    WS_MEMSET(d->ws__fd, 0, sizeof d->ws__fd);
}

/* Hash of the 4 bytes at p. Chains of 4-byte keys hold far fewer useless candidates
   than 3-byte ones, and the 3-byte matches they miss are mostly not worth their bits. */
static inline uint32_t ws__dhash(const unsigned char *p, unsigned shift) {
    uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    return (v * 2654435761u) >> shift;
}

/* Longest match for the bytes at `cur` among the chain starting at candidate `cand`
   (positions kept modulo 2^16): at most `maxlen` long, at most `maxdist` back, longer than
   `best`. Chains hold stale links (slots reused by newer positions, heads never cleared);
   a link that does not lead strictly farther back ends the walk. */
static inline unsigned ws__longest(const ws_deflater *d, const unsigned char *cur, uint32_t pos,
                                   unsigned cand, unsigned maxdist, unsigned maxlen,
                                   unsigned best, unsigned chain, unsigned *best_dist) {
    unsigned last = 0, wmask = (d->ws__wsize >> 1) - 1, nice = d->ws__nice;
    if (nice > maxlen) nice = maxlen;
    if (best >= maxlen) return best;
    while (chain--) {
        unsigned dist = (unsigned)(uint16_t)(pos - cand), len;
        const unsigned char *m;
        if (dist <= last || dist > maxdist) break;
        last = dist;
        m = cur - dist;
        if (m[best] == cur[best] && m[0] == cur[0] && m[1] == cur[1]) {
            len = 2;
            while (len + 8 <= maxlen) {
                uint64_t x = ws__le64(m + len) ^ ws__le64(cur + len);
                if (x) {
                    len += ws__ctz64(x) >> 3;
                    goto counted;
                }
                len += 8;
            }
            while (len < maxlen && m[len] == cur[len]) len++;
        counted:
            if (len > best) {
                best = len, *best_dist = dist;
                if (len >= nice) break;
            }
        }
        cand = d->ws__prev[cand & wmask];
    }
    return best;
}

/* LZ77 over the buffered input (§4 of RFC 1951 describes the idea): hash chains, a lazy
   parse for the default level (take a match only if the next position has no longer
   one), greedy for the fast one. Stops when the lookahead runs short (unless flushing)
   or the symbol buffer is full. */
static void ws__deflate_parse(ws_deflater *d, int flush) {
    unsigned char *buf = d->ws__buf;
    uint32_t base = d->ws__base, end = d->ws__fill, pos = d->ws__pos, ins = d->ws__ins;
    uint32_t lo = d->ws__hist > base ? d->ws__hist : base;
    const unsigned hb = 4; /* bytes hashed */
    unsigned hshift = d->ws__hshift, syms = d->ws__syms;
    unsigned wmask = (d->ws__wsize >> 1) - 1;
    unsigned lazy = d->ws__level != WS_DEFLATE_FAST, nsym = d->ws__nsym, miss = d->ws__miss;
    unsigned run = d->ws__run;
/* A literal is counted, and joins the run of literals the last symbol holds (symbols
   512 + n - 1 stand for n literals, read back from the window when the block is
   written): incompressible data then fills blocks by bytes, not by symbols. */
#define WS__LITERAL()                                                     \
    do {                                                                  \
        d->ws__fl[buf[pos - base]]++;                                     \
        if (run && sym[nsym - 1] < 65535) sym[nsym - 1]++;                \
        else sym[nsym++] = 512, run = 1;                                  \
    } while (0)
    uint16_t *head = d->ws__head, *prev = d->ws__prev, *sym = d->ws__sym;
    if (ins < base) ins = base;
    while (pos < end && (flush || end - pos >= WS__DEFLATE_MINLOOK) &&
           nsym + 3 <= syms) {
        unsigned maxlen = end - pos > 258 ? 258 : end - pos, len = 0, dist = 0;
        unsigned maxdist = pos - lo > d->ws__wsize ? d->ws__wsize : pos - lo;
        for (; ins < pos && end - ins >= hb; ins++) { /* positions skipped over */
            uint32_t h = ws__dhash(buf + (ins - base), hshift);
            prev[ins & wmask] = head[h], head[h] = (uint16_t)ins;
        }
        /* Long runs without a match (incompressible data) search only every 2nd, then
           4th position: still indexed, but the chain walks are what cost */
        if (miss >= 64 && (miss & (miss >= 256 ? 3u : 1u))) {
            WS__LITERAL();
            pos++, miss++;
            continue;
        }
        if (maxlen >= hb && ins == pos) {
            uint32_t h = ws__dhash(buf + (pos - base), hshift);
            unsigned cand = head[h];
            prev[pos & wmask] = (uint16_t)cand, head[h] = (uint16_t)pos, ins = pos + 1;
            len = ws__longest(d, buf + (pos - base), pos, cand, maxdist, maxlen, 2, d->ws__chain,
                              &dist);
            /* lazy: while the next position has a longer match, emit a literal instead */
            while (lazy && len > 2 && len < WS__DLAZY && pos + 1 < end &&
                   (flush || end - pos - 1 >= WS__DEFLATE_MINLOOK) && nsym + 4 <= syms) {
                unsigned len2, dist2 = 0, ml2 = end - pos - 1 > 258 ? 258 : end - pos - 1;
                unsigned md2 = pos + 1 - lo > d->ws__wsize ? d->ws__wsize : pos + 1 - lo;
                if (ml2 < hb) break;
                h = ws__dhash(buf + (pos + 1 - base), hshift);
                cand = head[h];
                prev[(pos + 1) & wmask] = (uint16_t)cand, head[h] = (uint16_t)(pos + 1);
                ins = pos + 2;
                /* a good match already: look less hard for a better one */
                len2 = ws__longest(d, buf + (pos + 1 - base), pos + 1, cand, md2, ml2, len,
                                   len >= WS__DGOOD ? d->ws__chain / 4 : d->ws__chain, &dist2);
                if (len2 <= len) break;
                WS__LITERAL();
                pos++, len = len2, dist = dist2, maxdist = md2;
            }
        }
        /* a 3-byte match far back costs more bits than its 3 literals */
        if (len >= 3 && (len > 3 || dist <= 4096)) {
            sym[nsym++] = (uint16_t)(256 + len - 3), sym[nsym++] = (uint16_t)(dist - 1), run = 0;
            d->ws__fl[257 + ws__lcode(len)]++;
            d->ws__fd[ws__dcode(dist)]++;
            pos += len, miss = 0;
            /* the fast level does not index the inside of long matches */
            if (!lazy && len > 8) ins = pos;
        } else {
            WS__LITERAL();
            pos++, miss++;
        }
    }
    d->ws__pos = pos, d->ws__ins = ins, d->ws__nsym = nsym, d->ws__miss = miss, d->ws__run = run;
#undef WS__LITERAL
}

/* Choose the block type by exact cost in bits (§3.2.3: stored, fixed or dynamic codes),
   prepare its codes and start writing it. The block is the input [bstart, pos). */
static void ws__deflate_block(ws_deflater *d, unsigned bfinal) {
    uint16_t fc[19];
    unsigned i, n, hlit = 257, hdist = 1, nrle = 0;
    uint32_t span = d->ws__pos - d->ws__bstart, chunks;
    uint64_t extra = 0, dyn, fix, stored;
    unsigned char all[288 + 32];
    d->ws__fl[256] = 1;
    ws__huff_lengths(d->ws__fl, 286, 15, d->ws__ll);
    ws__huff_lengths(d->ws__fd, 30, 15, d->ws__ld);
    for (i = 0; i < 286; i++)
        if (d->ws__ll[i]) hlit = i + 1;
    for (i = 0; i < 30; i++)
        if (d->ws__ld[i]) hdist = i + 1;
    if (hlit < 257) hlit = 257;
    if (!d->ws__ld[0] && hdist == 1) d->ws__ld[0] = 1; /* no distances: one unused code */
    for (i = 0; i < 29; i++) extra += (uint64_t)d->ws__fl[257 + i] * ws__lext[i];
    for (i = 0; i < 30; i++) extra += (uint64_t)d->ws__fd[i] * ws__dext[i];
    /* run-length code the lengths (§3.2.7: 16 repeats the previous 3-6 times, 17 and 18
       give 3-10 and 11-138 zeros), across the boundary of the two codes */
    WS_MEMCPY(all, d->ws__ll, hlit);
    WS_MEMCPY(all + hlit, d->ws__ld, hdist);
    n = hlit + hdist;
    WS_MEMSET(fc, 0, sizeof fc);
    for (i = 0; i < n;) {
        unsigned v = all[i], run = 1;
        while (i + run < n && all[i + run] == v) run++;
        i += run;
        if (v == 0) {
            while (run >= 11) {
                unsigned r = run > 138 ? 138 : run;
                d->ws__rle[nrle] = 18, d->ws__rlex[nrle++] = (unsigned char)(r - 11), run -= r;
            }
            if (run >= 3) d->ws__rle[nrle] = 17, d->ws__rlex[nrle++] = (unsigned char)(run - 3), run = 0;
        } else {
            d->ws__rle[nrle] = (unsigned char)v, d->ws__rlex[nrle++] = 0, run--;
            while (run >= 3) {
                unsigned r = run > 6 ? 6 : run;
                d->ws__rle[nrle] = 16, d->ws__rlex[nrle++] = (unsigned char)(r - 3), run -= r;
            }
        }
        while (run--) d->ws__rle[nrle] = (unsigned char)v, d->ws__rlex[nrle++] = 0;
    }
    for (i = 0; i < nrle; i++) fc[d->ws__rle[i]]++;
    /* zlib's inflate wants a complete code-length code: two symbols at least */
    {
        unsigned used = 0;
        for (i = 0; i < 19; i++) used += fc[i] != 0;
        if (used < 2) fc[fc[0] ? 1 : 0] = 1; /* a length nobody sends */
    }
    ws__huff_lengths(fc, 19, 7, d->ws__lc);
    d->ws__hclen = 4;
    for (i = 4; i < 19; i++)
        if (d->ws__lc[ws__clorder[i]]) d->ws__hclen = i + 1;
    dyn = 3 + 14 + 3 * (uint64_t)d->ws__hclen + extra;
    for (i = 0; i < 19; i++) dyn += (uint64_t)fc[i] * d->ws__lc[i];
    dyn += 2 * (uint64_t)fc[16] + 3 * (uint64_t)fc[17] + 7 * (uint64_t)fc[18];
    for (i = 0; i < 286; i++) dyn += (uint64_t)d->ws__fl[i] * d->ws__ll[i];
    for (i = 0; i < 30; i++) dyn += (uint64_t)d->ws__fd[i] * d->ws__ld[i];
    fix = 3 + extra;
    for (i = 0; i < 286; i++)
        fix += (uint64_t)d->ws__fl[i] * (i < 144 ? 8u : i < 256 ? 9u : i < 280 ? 7u : 8u);
    for (i = 0; i < 30; i++) fix += (uint64_t)d->ws__fd[i] * 5;
    chunks = span ? (span + 65534) / 65535 : 1;
    stored = (uint64_t)span * 8 + (uint64_t)chunks * (3 + 7 + 32);
    d->ws__hlit = hlit, d->ws__hdist = hdist, d->ws__nrle = nrle;
    d->ws__bfinal = bfinal, d->ws__bend = d->ws__pos, d->ws__ei = 0;
    d->ws__esrc = d->ws__bstart, d->ws__erun = 0;
    if (stored < fix && stored < dyn) {
        d->ws__btype = 0;
        d->ws__phase = WS__E_STORED_HDR;
        return;
    }
    if (fix <= dyn) { /* §3.2.6 */
        d->ws__btype = 1;
        for (i = 0; i < 288; i++) d->ws__ll[i] = i < 144 ? 8 : i < 256 ? 9 : i < 280 ? 7 : 8;
        for (i = 0; i < 30; i++) d->ws__ld[i] = 5;
    } else {
        d->ws__btype = 2;
        ws__huff_codes(d->ws__lc, 19, d->ws__cc);
    }
    /* the fixed code counts its 288 literal/lengths (286 and 287 unused but coded): its
       9-bit codes start after all 152 8-bit ones */
    ws__huff_codes(d->ws__ll, d->ws__btype == 1 ? 288 : 286, d->ws__cl);
    ws__huff_codes(d->ws__ld, 30, d->ws__cd);
    d->ws__phase = WS__E_HDR;
}

/* Write the pending block, flush marker or padding into [*opp, oend). Each step puts at
   most 48 bits after making sure fewer than 16 wait in the bit buffer, so the 64-bit
   buffer never overflows; when the output is full the step is retried on the next call.
   Returns 1 when everything pending is written, 0 when the output filled first. */
static int ws__deflate_emit(ws_deflater *d, unsigned char **opp, unsigned char *oend) {
    unsigned char *op = *opp;
    uint64_t bits = d->ws__bits;
    unsigned nbits = d->ws__nbits, ei = d->ws__ei;
    int done = 0;
#define WS__PUT(v, n) (bits |= (uint64_t)(v) << nbits, nbits += (n))
#define WS__ROOM()                                                                \
    do {                                                                          \
        if (oend - op >= 8) {                                                     \
            unsigned k_ = nbits >> 3;                                             \
            uint64_t b_ = bits;                                                   \
            op[0] = (unsigned char)b_, op[1] = (unsigned char)(b_ >> 8);          \
            op[2] = (unsigned char)(b_ >> 16), op[3] = (unsigned char)(b_ >> 24); \
            op[4] = (unsigned char)(b_ >> 32), op[5] = (unsigned char)(b_ >> 40); \
            op[6] = (unsigned char)(b_ >> 48), op[7] = (unsigned char)(b_ >> 56); \
            op += k_, bits = k_ ? bits >> (8 * k_) : bits, nbits &= 7;            \
        } else {                                                                  \
            while (nbits >= 8 && op < oend)                                       \
                *op++ = (unsigned char)bits, bits >>= 8, nbits -= 8;              \
            if (nbits >= 16) goto full;                                           \
        }                                                                         \
    } while (0)
    for (;;) {
        switch (d->ws__phase) {
        case WS__E_IDLE: done = 1; goto full;
        case WS__E_HDR:
            WS__ROOM();
            WS__PUT(d->ws__bfinal | d->ws__btype << 1, 3);
            if (d->ws__btype == 2)
                WS__PUT((d->ws__hlit - 257) | (d->ws__hdist - 1) << 5 | (d->ws__hclen - 4) << 10, 14);
            d->ws__phase = d->ws__btype == 2 ? WS__E_CLENS : WS__E_SYMS, ei = 0;
            break;
        case WS__E_CLENS:
            while (ei < d->ws__hclen) {
                WS__ROOM();
                WS__PUT(d->ws__lc[ws__clorder[ei]], 3), ei++;
            }
            d->ws__phase = WS__E_RLE, ei = 0;
            break;
        case WS__E_RLE:
            while (ei < d->ws__nrle) {
                unsigned s = d->ws__rle[ei];
                WS__ROOM();
                WS__PUT(d->ws__cc[s], d->ws__lc[s]);
                if (s >= 16) WS__PUT(d->ws__rlex[ei], s == 16 ? 2u : s == 17 ? 3u : 7u);
                ei++;
            }
            d->ws__phase = WS__E_SYMS, ei = 0;
            break;
        case WS__E_SYMS: {
            const uint16_t *sym = d->ws__sym;
            unsigned nsym = d->ws__nsym;
            while (ei < nsym) {
                unsigned s = sym[ei];
                if (s >= 512) { /* a run of literals, from the window */
                    const unsigned char *src = d->ws__buf + (d->ws__esrc - d->ws__base);
                    while (d->ws__erun < s - 511) {
                        unsigned c = src[d->ws__erun];
                        WS__ROOM();
                        WS__PUT(d->ws__cl[c], d->ws__ll[c]);
                        d->ws__erun++;
                    }
                    d->ws__esrc += s - 511, d->ws__erun = 0, ei++;
                    continue;
                }
                WS__ROOM();
                if (s < 256) {
                    WS__PUT(d->ws__cl[s], d->ws__ll[s]);
                    d->ws__esrc++, ei++;
                } else {
                    unsigned len = s - 253, dist = sym[ei + 1] + 1u;
                    unsigned lc = ws__lcode(len), dc = ws__dcode(dist);
                    WS__PUT(d->ws__cl[257 + lc], d->ws__ll[257 + lc]);
                    WS__PUT(len - ws__lbase[lc], ws__lext[lc]);
                    WS__PUT(d->ws__cd[dc], d->ws__ld[dc]);
                    WS__PUT(dist - ws__dbase[dc], ws__dext[dc]);
                    d->ws__esrc += len, ei += 2;
                }
            }
            WS__ROOM();
            WS__PUT(d->ws__cl[256], d->ws__ll[256]); /* end of block */
            d->ws__phase = WS__E_IDLE;
            goto block_done;
        }
        case WS__E_STORED_HDR: { /* §3.2.4, in pieces of at most 65535 bytes */
            uint32_t left = d->ws__bend - d->ws__bstart - ei, n = left > 65535 ? 65535 : left;
            WS__ROOM();
            WS__PUT(n == left ? d->ws__bfinal : 0, 3);
            WS__PUT(0, (8 - (nbits & 7)) & 7);
            WS__PUT(n | (uint32_t)(~n & 0xffff) << 16, 32);
            while (nbits && op < oend) *op++ = (unsigned char)bits, bits >>= 8, nbits -= 8;
            d->ws__phase = WS__E_STORED_DATA;
            d->ws__hlit = n; /* bytes of this piece still to copy */
        }
            /* fall through */
        case WS__E_STORED_DATA: {
            uint32_t n = d->ws__hlit;
            while (nbits && op < oend) *op++ = (unsigned char)bits, bits >>= 8, nbits -= 8;
            if (nbits) goto full;
            if (n > (size_t)(oend - op)) n = (uint32_t)(oend - op);
            WS_MEMCPY(op, d->ws__buf + (d->ws__bstart + ei - d->ws__base), n);
            op += n, ei += n, d->ws__hlit -= n;
            if (d->ws__hlit) goto full;
            if (d->ws__bstart + ei != d->ws__bend) {
                d->ws__phase = WS__E_STORED_HDR;
                break;
            }
            d->ws__phase = WS__E_IDLE;
            goto block_done;
        }
        case WS__E_MARK: /* sync flush: an empty stored block, 00 00 ff ff (RFC 7692 §7.2.1) */
            WS__ROOM();
            WS__PUT(0, 3);
            WS__PUT(0, (8 - (nbits & 7)) & 7);
            WS__PUT(0xffff0000u, 32);
            d->ws__phase = WS__E_PAD;
            break;
        case WS__E_PAD: /* to the byte boundary, everything out */
            WS__PUT(0, (8 - (nbits & 7)) & 7);
            while (nbits && op < oend) *op++ = (unsigned char)bits, bits >>= 8, nbits -= 8;
            if (nbits) goto full;
            d->ws__phase = WS__E_IDLE;
            break;
        default: d->ws__phase = WS__E_IDLE; break;
        }
        continue;
    block_done:
        d->ws__bstart = d->ws__bend, d->ws__nsym = 0, d->ws__run = 0;
        WS_MEMSET(d->ws__fl, 0, sizeof d->ws__fl);
        WS_MEMSET(d->ws__fd, 0, sizeof d->ws__fd);
    }
full:
    d->ws__bits = bits, d->ws__nbits = nbits, d->ws__ei = ei;
    *opp = op;
    return done;
#undef WS__PUT
#undef WS__ROOM
}

WSDEF ws_result ws_deflate(ws_deflater *d, const void *in, size_t in_len, size_t *in_used,
                           void *out, size_t out_cap, size_t *out_len, int flush) {
    static const unsigned char none[1] = {0};
    unsigned char spare[1];
    const unsigned char *ip = in_len ? (const unsigned char *)in : none, *ibegin = ip, *iend;
    unsigned char *op = out_cap ? (unsigned char *)out : spare, *ostart = op, *oend;
    ws_result r;
    if (in_used) *in_used = 0;
    if (out_len) *out_len = 0;
    if (!d || (!in && in_len) || (!out && out_cap) || flush < 0 || flush > 2) return WS_ERR_ARG;
    iend = ip + in_len, oend = op + out_cap;
    for (;;) {
        if (d->ws__phase != WS__E_IDLE) {
            if (!ws__deflate_emit(d, &op, oend)) {
                r = WS_OUT_FULL;
                break;
            }
            continue;
        }
        ws__deflate_parse(d, flush && ip == iend);
        if (d->ws__nsym + 4 > d->ws__syms) {
            ws__deflate_block(d, 0);
            continue;
        }
        if (ip != iend) { /* the parse wants more lookahead: take input */
            uint32_t room = d->ws__base + d->ws__bsize - d->ws__fill;
            size_t n = (size_t)(iend - ip);
            if (room == 0) {
                /* Slide: keep the window behind pos and the current block (a stored
                   block copies its bytes from here). If the block is what holds us (it
                   starts at the very beginning), end it first. The buffer is full and
                   the lookahead short, so pos is more than a window from its start. */
                uint32_t keep = d->ws__pos - d->ws__wsize, drop;
                if ((int32_t)(d->ws__bstart - keep) < 0) keep = d->ws__bstart;
                drop = keep - d->ws__base;
                if (drop == 0) {
                    ws__deflate_block(d, 0);
                    continue;
                }
                WS_MEMMOVE(d->ws__buf, d->ws__buf + drop, d->ws__fill - keep);
                d->ws__base = keep, room = drop;
            }
            if (n > room) n = room;
            WS_MEMCPY(d->ws__buf + (d->ws__fill - d->ws__base), ip, n);
            ip += n, d->ws__fill += (uint32_t)n;
            continue;
        }
        if (!flush) {
            r = WS_OK;
            break;
        }
        if (d->ws__fphase == 0) { /* the last block of the flush */
            d->ws__fphase = 1;
            if (d->ws__pos != d->ws__bstart) {
                ws__deflate_block(d, flush == WS_DEFLATE_FINISH);
                if (flush == WS_DEFLATE_FINISH) d->ws__fphase = 2;
                continue;
            }
        }
        if (d->ws__fphase == 1) { /* the marker: empty stored (sync) or empty final block */
            d->ws__fphase = 2;
            if (flush == WS_DEFLATE_SYNC) {
                d->ws__phase = WS__E_MARK;
            } else { /* BFINAL, fixed codes, just the end-of-block code (7 zero bits) */
                unsigned i;
                d->ws__nsym = 0, d->ws__run = 0, d->ws__bfinal = 1, d->ws__btype = 1;
                d->ws__bend = d->ws__pos, d->ws__esrc = d->ws__pos, d->ws__erun = 0;
                WS_MEMSET(d->ws__fl, 0, sizeof d->ws__fl);
                d->ws__fl[256] = 1;
                for (i = 0; i < 288; i++) d->ws__ll[i] = i < 144 ? 8 : i < 256 ? 9 : i < 280 ? 7 : 8;
                ws__huff_codes(d->ws__ll, 288, d->ws__cl);
                d->ws__phase = WS__E_HDR;
            }
            continue;
        }
        if (d->ws__fphase == 2) { /* pad the last byte */
            d->ws__fphase = 3;
            d->ws__phase = WS__E_PAD;
            continue;
        }
        d->ws__fphase = 0;
        r = WS_OK;
        break;
    }
    if (in_used) *in_used = (size_t)(ip - ibegin);
    if (out_len) *out_len = (size_t)(op - ostart);
    return r;
}
#endif /* WS_NO_DEFLATE */

/* ---- 3. Frame codec -------------------------------------------------------------- */

WSDEF int ws_frame_decode(const void *data, size_t avail, ws_frame *f) {
    const unsigned char *p = (const unsigned char *)data;
    unsigned b0, op, n = 2, i;
    uint64_t len;
    if (avail < 2) return WS_NEED_MORE;
    b0 = p[0]; /* read once: the stores to *f might alias p */
    op = b0 & 0x0f;
    len = p[1] & 0x7f;
    f->fin = (unsigned char)(b0 >> 7);
    f->rsv = (unsigned char)((b0 >> 4) & 7);
    f->opcode = (unsigned char)op;
    f->masked = (unsigned char)(p[1] >> 7);
    if (!(0x0707u >> op & 1)) return WS_ERR_PROTOCOL; /* §5.2: only 0-2 and 8-A are defined */
    if ((b0 & 0x88) == 0x08) return WS_ERR_PROTOCOL; /* §5.5: control, never fragmented */
    if (len > 125) { /* 126: 16-bit length follows, 127: 64-bit */
        n = len == 126 ? 4 : 10;
        if (avail < n) return WS_NEED_MORE;
        for (len = 0, i = 2; i < n; i++) len = len << 8 | p[i];
        if (len >> 63) return WS_ERR_PROTOCOL; /* §5.2: the top bit MUST be 0 */
    }
    f->len = len;
    if ((op & 8) && len > WS_MAX_CONTROL) return WS_ERR_PROTOCOL; /* §5.5 */
    if (p[1] & 0x80) {
        if (avail < n + 4) return WS_NEED_MORE;
        WS_MEMCPY(f->key, p + n, 4);
        n += 4;
    }
    return (int)n;
}

WSDEF ws_result ws_frame_check(const ws_frame *f, int is_server, unsigned rsv_allowed) {
    if (f->rsv & ~rsv_allowed) return WS_ERR_PROTOCOL;
    if ((f->masked != 0) != (is_server != 0)) return WS_ERR_PROTOCOL;
    return WS_OK;
}

WSDEF size_t ws_frame_encode(unsigned char out[WS_MAX_HEADER], const ws_frame *f) {
    uint64_t len = f->len;
    size_t n = 2, i; /* §5.2: the shortest form, 7 bits, else 16, else 64 */
    unsigned b1 = (unsigned)len; /* the second byte, built whole before it is stored */
    if (len > 125) n = len > 0xffff ? 10 : 4, b1 = n == 4 ? 126 : 127;
    out[0] = (unsigned char)((f->fin ? 0x80 : 0) | (f->rsv & 7) << 4 | (f->opcode & 0x0f));
    for (i = n; i > 2; len >>= 8) out[--i] = (unsigned char)len; /* big-endian */
    if (f->masked) {
        b1 |= 0x80;
        WS_MEMCPY(out + n, f->key, 4);
        n += 4;
    }
    out[1] = (unsigned char)b1;
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
    size_t i = 0;
    while (i < n && x[i] == y[i]) i++;
    return i == n;
}

static int ws__ieq(const char *a, size_t n, const char *b) {
    size_t i;
    for (i = 0; i < n; i++) {
        unsigned c = (unsigned char)b[i], d = c ^ (unsigned char)a[i];
        /* equal, or a letter against its other case (which differs in bit 5 alone) */
        if (!c || (d && (d != 32 || (c | 32) - 'a' > 25))) return 0;
    }
    return !b[n];
}

static int ws__is_ows(char c) { return c == ' ' || c == '\t'; }

/* RFC 7230 §3.2.6 tchar: what a header name or a list token may hold. A bit per byte
   from 0x20 to 0x7f (bit c % 32 of word c / 32 - 1): visible ASCII except DQUOTE and
   the separators "(),/:;<=>?@[\]{}". */
static int ws__is_tchar(unsigned char c) {
    static const uint32_t ws__tchars[3] = {0x03ff6cfa, 0xc7fffffe, 0x57ffffff};
    unsigned i = c - 32u;
    return i < 96 && (ws__tchars[i >> 5] >> (i & 31)) & 1;
}

WSDEF int ws_http_head_end(const char *buf, size_t len, size_t from, size_t max_size) {
    size_t i = from >= 3 ? from - 3 : 0;
    uint32_t last4 = 0; /* the last four bytes read, the latest lowest */
    if (max_size > 0x7fffffff) max_size = 0x7fffffff;
    for (; i < len && i < max_size; i++)
        if ((last4 = last4 << 8 | (unsigned char)buf[i]) == 0x0d0a0d0a) /* CR LF CR LF */
            return (int)(i + 1);
    return len >= max_size ? WS_ERR_HS_TOO_LARGE : WS_NEED_MORE;
}

/* The line that starts at p, up to its CRLF: returns its CR, with *last past its last
   visible byte, or NULL when no CRLF ends it or a byte on the way is neither visible
   nor white space (a bare CR or LF, NUL, a control byte: RFC 7230 §3.1, §3.2). */
static const char *ws__line(const char *p, const char *end, const char **last) {
    *last = p;
    for (; p + 1 < end && !(p[0] == '\r' && p[1] == '\n'); p++) {
        unsigned char c = (unsigned char)*p;
        if (c > ' ' && c != 0x7f) *last = p + 1;
        else if (!ws__is_ows((char)c)) return 0;
    }
    return p + 1 < end ? p : 0;
}

/* A reader of header lines: where the next line starts, where the head ends, and the
   name and value of the line read last (one pointer for its callers to pass). */
typedef struct ws__field {
    const char *p, *end;
    ws_str name, value;
} ws__field;

/* Header lines after the start line, one per call: returns 1 with f's name and value
   (value trimmed), 0 at the blank line that ends the head, or a negative result for a
   line that is not "token: value" (obsolete folding included, RFC 7230 §3.2.4). */
static int ws__header_next(ws__field *f) {
    const char *line = f->p, *colon = line, *last, *p = ws__line(line, f->end, &last);
    if (!p) return WS_ERR_HS_MALFORMED;
    f->p = p + 2;
    if (p == line) return 0;
    /* p is at the line's CR, which ends the name's scan at the latest */
    while (ws__is_tchar((unsigned char)*colon)) colon++; /* the name */
    if (colon == line || *colon != ':') return WS_ERR_HS_MALFORMED;
    f->name.p = line, f->name.n = (size_t)(colon - line);
    /* the value without its outer white space: the colon is visible, so last is past it */
    for (p = colon + 1; p < last && ws__is_ows(*p); p++) {}
    f->value.p = p, f->value.n = (size_t)(last - p);
    return 1;
}

/* The next non-empty element of *list: the commas and white space before it skipped,
   white space around it trimmed, and *list left from the comma after it (or empty).
   A comma inside a quoted-string (RFC 7230 §3.2.6, quoted-pairs too) does not end it. */
WSDEF int ws_token_next(ws_str *list, ws_str *token) {
    const char *p = list->p, *end, *start, *last; /* last: past the last byte that is no white space */
    int quoted = 0;
    if (!list->n) return 0; /* an absent header is {NULL, 0} */
    /* start is end until the element's first byte: commas and white space before it go */
    for (start = last = end = p + list->n; p < end; p++) {
        char c = *p;
        if (c == '"') quoted = !quoted;
        else if (!quoted) {
            if (c == ',') {
                if (start != end) break;
                continue; /* an empty element */
            }
        } else if (c == '\\' && p + 1 < end) {
            p++; /* a quoted-pair: the byte after the backslash is taken as it is */
        }
        if (!ws__is_ows(c)) {
            if (start == end) start = p;
            last = p + 1;
        }
    }
    list->p = p, list->n = (size_t)(end - p);
    token->p = start, token->n = (size_t)(last - start);
    return start != end;
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

/* *at is an offset into head: 0 before the first header line, else where the last
   element taken ended, on its line (at the comma after it, or past the line's last
   visible byte). at NULL (ws_header_find): the value of the first line named `name`,
   whole. */
WSDEF int ws_header_list_next(const char *head, size_t len, const char *name, size_t *at,
                              ws_str *element) {
    const char *p, *last;
    ws__field f; /* f.value: the rest of the line being listed */
    size_t from = at ? *at : 0;
    int r;
    if (from > len) return 0;
    f.end = head + len;
    p = ws__line(head + from, f.end, &last);
    if (!p) goto none; /* only after an *at not ours, or a head cut short */
    /* the rest of *at's line, to its last visible byte; at 0 that is the start line,
       which lists nothing. Once it has no element left, the value of the next line
       named `name` is the list: ws__header_next scanned that line once, for both. */
    f.value.p = head + from, f.value.n = from ? (size_t)(last - f.value.p) : 0;
    f.p = p + 2;
    while (!ws_token_next(&f.value, element)) {
        while ((r = ws__header_next(&f)) == 1 && !ws__ieq(f.name.p, f.name.n, name)) {}
        if (r != 1) goto none;
        if (!at) { /* ws_header_find */
            *element = f.value;
            return 1;
        }
    }
    *at = (size_t)(f.value.p - head);
    return 1;
none:
    if (at) *at = len;
    return 0;
}

WSDEF int ws_header_find(const char *head, size_t len, const char *name, ws_str *value) {
    return ws_header_list_next(head, len, name, 0, value);
}

#ifndef WS_NO_CLIENT
/* How many of s's first n bytes a URL, or a host and resource given without one, may
   hold: §3 allows no fragment, and white space or a control byte would split the
   request line or the Host header. As NUL is a control byte, n may be (size_t)-1 for a
   string: it is whole when the count reaches its end. */
static size_t ws__target_len(const char *s, size_t n) {
    size_t i = 0;
    while (i < n && s[i] != '#' && (unsigned char)s[i] > ' ' && s[i] != 0x7f) i++;
    return i;
}
#endif

#if !defined(WS_NO_CLIENT) && !defined(WS_NO_URL)
WSDEF ws_result ws_url_parse(const char *url, size_t len, ws_url *out) {
    const char *p, *end = url + len, *auth, *h, *h_end, *colon;
    unsigned port;
    size_t i;
    if (ws__target_len(url, len) != len) return WS_ERR_URL; /* first, url and len in hand */
    if (len >= 5 && ws__ieq(url, 5, "ws://")) out->secure = 0;
    else if (len >= 6 && ws__ieq(url, 6, "wss://")) out->secure = 1;
    else return WS_ERR_URL;
    auth = p = url + 5 + out->secure;
    for (; p < end && *p != '/' && *p != '?'; p++)
        if (*p == '@') return WS_ERR_URL; /* user info has no place in a WebSocket URI */
    if (auth < p && *auth == '[') { /* an IPv6 literal: hex digits, colons, dots */
        for (h = h_end = auth + 1; h_end < p && *h_end != ']'; h_end++) {
            unsigned c = (unsigned char)*h_end;
            /* '.' to ':' holds '/' too, but the authority has none */
            if (c - '.' > ':' - '.' && (c | 32) - 'a' > 5) return WS_ERR_URL;
        }
        if (h_end == p) return WS_ERR_URL;
        colon = h_end + 1; /* what follows "]" is a port's colon, or nothing */
    } else {
        for (h = h_end = auth; h_end < p && *h_end != ':'; h_end++)
            if (*h_end == '[' || *h_end == ']') return WS_ERR_URL;
        colon = h_end;
    }
    if (h_end == h) return WS_ERR_URL;
    out->port = out->secure ? 443 : 80;
    if (colon < p) { /* a port: 1 to 5 digits, 1-65535 (none: 0, refused below) */
        if (*colon != ':' || p - colon > 6) return WS_ERR_URL;
        for (i = 1, port = 0; colon + i < p; i++) {
            if (colon[i] < '0' || colon[i] > '9') return WS_ERR_URL;
            port = port * 10 + (unsigned)(colon[i] - '0');
        }
        if (port == 0 || port > 65535) return WS_ERR_URL;
        out->port = port;
    }
    out->host.p = h, out->host.n = (size_t)(h_end - h);
    for (h = p; p < end && *p != '?'; p++) {}
    out->path.p = h, out->path.n = (size_t)(p - h);
    out->query.p = p, out->query.n = (size_t)(end - p);
    if (out->path.n == 0) out->path.p = "/", out->path.n = 1;
    return WS_OK;
}
#endif /* WS_NO_CLIENT, WS_NO_URL */

/* Bounded string building for heads: every append checks the room left, so a short
   buffer fails cleanly with WS_ERR_BUFFER instead of writing past it. With p NULL (and
   cap (size_t)-1) nothing is written, only counted: a builder run that way measures
   the head, so its room can be reserved exactly. */
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
    if (n && b->p) WS_MEMCPY(b->p + b->n, s, n); /* s may be NULL when n is 0 */
    b->n += n;
}
static int ws__finish(ws__buf *b) {
    if (b->overflow || b->n > 0x7fffffff) return WS_ERR_BUFFER;
    return (int)b->n;
}
/* fmt's text, and for each directive the next argument: %s a string (NULL: nothing),
   %S a ws_str *, %u an unsigned. One call per piece of a head keeps the builders short;
   the last one's result is the builder's: the size so far, or WS_ERR_BUFFER. */
static int ws__putf(ws__buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    while (*fmt) {
        const char *s = fmt++;
        size_t n = 1; /* a byte of text */
        char d[10];
        if (*s == '%') {
            char c = *fmt++;
            if (c == 'u') {
                unsigned v = va_arg(ap, unsigned);
                char *q = d + sizeof d; /* the digits end the buffer, written from the last */
                do *--q = (char)('0' + v % 10), v /= 10;
                while (v);
                s = q, n = (size_t)(d + sizeof d - q);
            } else if (c == 'S') {
                const ws_str *v = va_arg(ap, const ws_str *);
                s = v->p, n = v->n;
            } else { /* %s */
                s = va_arg(ap, const char *);
                n = ws__strlen(s);
            }
        }
#if !WS_SMALL /* text up to the next directive in one piece: 3 times as fast (x86-64 -O2) */
        else {
            while (*fmt && *fmt != '%') fmt++;
            n = (size_t)(fmt - s);
        }
#endif
        ws__put(b, s, n);
    }
    va_end(ap);
    return ws__finish(b);
}

/* Caller-given header text goes into a head verbatim, so it must be whole lines and
   must not end the head early: CRLF-terminated, no empty line, no bare CR or LF. */
static int ws__extra_ok(const char *s) {
    char prev = '\n'; /* as at the start of a line */
    for (; s && *s; prev = *s++) /* LF only after CR, after CR only LF, no CR to start a line */
        if (*s == '\n' ? prev != '\r' : prev == '\r' || (*s == '\r' && prev == '\n')) return 0;
    return prev == '\n';
}

#ifndef WS_NO_DEFLATE
static ws_str ws__trim(const char *p, size_t n) {
    ws_str s;
    while (n && ws__is_ows(*p)) p++, n--;
    while (n && ws__is_ows(p[n - 1])) n--;
    s.p = p, s.n = n;
    return s;
}

/* RFC 7692 §7.1: "permessage-deflate" then "; name[=value]" parameters (RFC 6455 §9.1:
   a value is a token or a quoted-string). */
WSDEF int ws_deflate_parse(ws_str e, int is_response, ws_deflate_params *p) {
    const char *s = e.p, *end = e.p + e.n;
    unsigned seen = 0;
    ws_str name;
    WS_MEMSET(p, 0, sizeof *p);
    while (s < end && *s != ';') s++;
    name = ws__trim(e.p, (size_t)(s - e.p));
    if (!ws__ieq(name.p, name.n, "permessage-deflate")) return 0;
    while (s < end) { /* at a ';' */
        const char *a = ++s, *eq = 0;
        unsigned which, v = 0, digits = 0;
        int quoted = 0;
        for (; s < end && (quoted || *s != ';'); s++) {
            if (*s == '"') quoted = !quoted;
            else if (!eq && !quoted && *s == '=') eq = s;
        }
        name = ws__trim(a, (size_t)((eq ? eq : s) - a));
        if (ws__ieq(name.p, name.n, "server_no_context_takeover")) which = 0;
        else if (ws__ieq(name.p, name.n, "client_no_context_takeover")) which = 1;
        else if (ws__ieq(name.p, name.n, "server_max_window_bits")) which = 2;
        else if (ws__ieq(name.p, name.n, "client_max_window_bits")) which = 3;
        else return WS_ERR_HS_EXTENSION; /* unknown (§7.1: decline, or fail) */
        if (seen & (1u << which)) return WS_ERR_HS_EXTENSION; /* repeated */
        seen |= 1u << which;
        if (eq) { /* 1*DIGIT, 8..15 (§7.1.2), maybe quoted */
            ws_str val = ws__trim(eq + 1, (size_t)(s - eq - 1));
            if (val.n >= 2 && val.p[0] == '"' && val.p[val.n - 1] == '"') val.p++, val.n -= 2;
            for (; digits < val.n; digits++) {
                if (val.p[digits] < '0' || val.p[digits] > '9') return WS_ERR_HS_EXTENSION;
                if (v < 100) v = v * 10 + (unsigned)(val.p[digits] - '0');
            }
            if (which < 2 || !digits || v < 8 || v > 15) return WS_ERR_HS_EXTENSION;
        } else if (which == 2 || (which == 3 && is_response)) {
            return WS_ERR_HS_EXTENSION; /* only an offer's client_max_window_bits may be bare */
        }
        if (which == 0) p->server_no_context_takeover = 1;
        else if (which == 1) p->client_no_context_takeover = 1;
        else if (which == 2) p->server_max_window_bits = (unsigned char)v;
        else p->client_max_window_bits = (unsigned char)(eq ? v : WS_PMD_NO_VALUE);
    }
    return 1;
}

WSDEF int ws_deflate_format(char *buf, size_t cap, const ws_deflate_params *p) {
    ws__buf b;
    b.p = buf, b.cap = cap, b.n = 0, b.overflow = 0;
    ws__putf(&b, "permessage-deflate%s%s", p->server_no_context_takeover ? "; server_no_context_takeover" : "",
             p->client_no_context_takeover ? "; client_no_context_takeover" : "");
    if (p->server_max_window_bits) ws__putf(&b, "; server_max_window_bits=%u", p->server_max_window_bits);
    if (p->client_max_window_bits == WS_PMD_NO_VALUE) ws__putf(&b, "; client_max_window_bits");
    else if (p->client_max_window_bits) ws__putf(&b, "; client_max_window_bits=%u", p->client_max_window_bits);
    ws__put(&b, "", 1); /* the NUL, counted for room, not in the length */
    return b.overflow ? WS_ERR_BUFFER : ws__finish(&b) - 1;
}
#endif /* WS_NO_DEFLATE */

/* The headers the opening handshake reads (§4.1, §4.2.1), found in one walk of a head by
   both parsers: each one's first value and how often it came. Upgrade
   and Connection are lists that may be repeated: what counts is whether any element is
   "websocket" / "upgrade" (in the table after the name's NUL), so only their lines that
   list it are counted. The first six are in ws_request's order (host to extensions), so
   ws_request_parse takes their values in one copy. */
enum { WS__H_HOST, WS__H_ORIGIN, WS__H_KEY, WS__H_VERSION, WS__H_PROTOCOL, WS__H_EXTENSIONS,
       WS__H_ACCEPT, WS__H_UPGRADE, WS__H_CONNECTION, WS__H_COUNT };
static const char *const ws__hnames[WS__H_COUNT] = {
    "host", "origin", "sec-websocket-key", "sec-websocket-version", "sec-websocket-protocol",
    "sec-websocket-extensions", "sec-websocket-accept", "upgrade\0websocket", "connection\0upgrade"};
#define WS__AT(f, i) (offsetof(ws_request, f) - offsetof(ws_request, host) == (i) * sizeof(ws_str))
typedef char ws__request_order[WS__AT(origin, WS__H_ORIGIN) && WS__AT(key, WS__H_KEY) &&
                               WS__AT(version, WS__H_VERSION) && WS__AT(protocols, WS__H_PROTOCOL) &&
                               WS__AT(extensions, WS__H_EXTENSIONS) ? 1 : -1]; /* -1: no build */
#undef WS__AT

typedef struct ws__heads {
    ws_str v[WS__H_COUNT]; /* Upgrade's and Connection's too, unread: a store costs less than a test */
    unsigned n[WS__H_COUNT]; /* words, not bytes: Thumb loads them from the stack in 2 bytes */
    unsigned count; /* header lines */
    const char *cr;   /* the start line's CR; NULL: no line to check */
    const char *last; /* past the start line's last visible byte */
} ws__heads;

/* What both parsers do with a head: its size, its start line's bytes, then its header
   lines and the checks both make on them: Upgrade and Connection (§4.2.1 items 3-4,
   §4.1 items 2-3). With h->cr NULL the result is the size's or the start line's, else
   the header lines', which the caller returns once it has checked the start line's
   form (its failure comes first). */
static ws_result ws__walk_headers(const char *head, size_t len, const ws_hs_limits *lim,
                                  ws__heads *h) {
    const char *p;
    ws__field f;
    size_t size = 0;
    unsigned i, max = 0;
    int r;
    if (lim) size = lim->max_size, max = lim->max_headers; /* 0 or no lim: the defaults */
    if (!size) size = WS_DEFAULT_MAX_HANDSHAKE;
    if (!max) max = WS_DEFAULT_MAX_HEADERS;
    WS_MEMSET(h, 0, sizeof *h);
    f.end = head + len;
    p = ws__line(head, f.end, &h->last);
    if (len > size) return WS_ERR_HS_TOO_LARGE;
    if (!(h->cr = p)) return WS_ERR_HS_MALFORMED;
    f.p = p + 2;
    while ((r = ws__header_next(&f)) == 1) {
        if (h->count >= max) return WS_ERR_HS_TOO_LARGE;
        h->count++;
        for (i = 0; i < WS__H_COUNT; i++)
            if (ws__ieq(f.name.p, f.name.n, ws__hnames[i])) {
                if ((i < WS__H_UPGRADE || ws_token_has(f.value, ws__hnames[i] + f.name.n + 1)) && !h->n[i]++) {
                    /* field by field: a struct copy is a memcpy call on Cortex-M0 */
                    h->v[i].p = f.value.p, h->v[i].n = f.value.n;
                }
                break;
            }
    }
    if (r < 0) return (ws_result)r;
    if (f.p != f.end) return WS_ERR_HS_MALFORMED; /* bytes after the blank line are not ours */
    if (!h->n[WS__H_UPGRADE]) return WS_ERR_HS_UPGRADE;
    if (!h->n[WS__H_CONNECTION]) return WS_ERR_HS_CONNECTION;
    return WS_OK;
}

/* The Sec-WebSocket-Extensions line of an offer or of a 101 (nothing for NULL). */
static void ws__put_deflate(ws__buf *b, const ws_deflate_params *p) {
#ifndef WS_NO_DEFLATE
    int n;
    if (!p) return;
    ws__putf(b, "Sec-WebSocket-Extensions: ");
    n = b->overflow ? -1 : ws_deflate_format(b->p ? b->p + b->n : 0, b->cap - b->n, p);
    if (n < 0) b->overflow = 1;
    else b->n += (size_t)n;
    ws__putf(b, "\r\n");
#else
    (void)b, (void)p;
#endif
}

#ifndef WS_NO_SERVER
WSDEF ws_result ws_request_parse(const char *head, size_t len, const ws_hs_limits *lim,
                                 ws_request *req) {
    const char *sp1, *sp2, *le;
    ws__heads h;
    ws_result r;
    unsigned char nonce[18];

    WS_MEMSET(req, 0, sizeof *req);
    req->head = head, req->head_len = len;
    r = ws__walk_headers(head, len, lim, &h);
    le = h.cr; /* the request line's CR */
    if (!le) return r;
    /* §4.2.1 item 1: "GET <Request-URI> HTTP/1.1" (or a later HTTP/1.x): a method, a
       target, a version, a space after each of the first two. ws__line let only visible
       bytes and white space through, so a field is a run of bytes above the space, and
       the CRLF after the line (*le is CR) stops both scans. */
    for (sp1 = head; (unsigned char)*sp1 > ' '; sp1++) {}
    for (sp2 = sp1 + 1; (unsigned char)*sp2 > ' '; sp2++) {}
    if (sp1 == head || *sp1 != ' ' || sp2 == sp1 + 1 || *sp2 != ' ') return WS_ERR_HS_MALFORMED;
    req->method.p = head, req->method.n = (size_t)(sp1 - head);
    req->target.p = sp1 + 1, req->target.n = (size_t)(sp2 - sp1 - 1);
    {
        const char *v = sp2 + 1;
        size_t vn = (size_t)(le - v);
        /* the method ends at a space, so "GET " is the GET method; a version that is not
           HTTP/1.1 or later (HTTP/1.0, HTTP/2) is the wrong version, anything else garbage */
        if (vn != 8 || !ws__memeq(v, "HTTP/1.", 7) || v[7] < '1' || v[7] > '9' || !ws__memeq(head, "GET ", 4))
            return v[0] == 'H' ? WS_ERR_HS_METHOD : WS_ERR_HS_MALFORMED;
    }

    req->header_count = h.count;
    if (r != WS_OK) return r; /* items 3-4 */
    WS_MEMCPY((char *)req + offsetof(ws_request, host), h.v, (WS__H_EXTENSIONS + 1) * sizeof(ws_str));
    if (h.n[WS__H_HOST] > 1) return WS_ERR_HS_MALFORMED; /* item 2; RFC 7230 §5.4: exactly one */
    if (!h.n[WS__H_HOST] || req->host.n == 0) return WS_ERR_HS_HOST;
    /* item 6 before item 5: a request of another version (hixie-76's Key1/Key2 have no
       Sec-WebSocket-Version at all) learns which version we speak (§4.4). */
    if (h.n[WS__H_VERSION] != 1 || !ws__ieq(req->version.p, req->version.n, "13"))
        return WS_ERR_HS_VERSION;
    if (h.n[WS__H_KEY] != 1 || req->key.n != WS_KEY_LEN ||
        ws_base64_decode(req->key.p, req->key.n, nonce, sizeof nonce) != 16)
        return WS_ERR_HS_KEY;                                               /* item 5 */
    return WS_OK;
}

/* Where the client offered protocol (in any Sec-WebSocket-Protocol line): into *t, and
   1; else {0, 0} and 0, always for "" or NULL, as no element is empty. (A ws_str
   returned by value goes through memory on 32-bit ARM: an out-parameter is shorter.) */
static int ws__offered(const ws_request *req, const char *protocol, ws_str *t) {
    size_t at = 0;
    /* an element holds no NUL, so the compare stops at protocol's end at the latest */
    while (protocol && ws_header_list_next(req->head, req->head_len, "sec-websocket-protocol", &at, t))
        if (ws__memeq(t->p, protocol, t->n) && !protocol[t->n]) return 1;
    t->p = 0, t->n = 0;
    return 0;
}

WSDEF int ws_request_offers(const ws_request *req, const char *protocol) {
    ws_str t;
    return ws__offered(req, protocol, &t);
}

#ifndef WS_NO_DEFLATE
WSDEF int ws_deflate_accept(const ws_request *req, const ws_deflate_params *allow,
                            ws_deflate_params *agreed) {
    size_t at = 0;
    ws_str e;
    unsigned smax = allow->server_max_window_bits ? allow->server_max_window_bits : 15;
    unsigned cmax = allow->client_max_window_bits ? allow->client_max_window_bits : 15;
    while (ws_header_list_next(req->head, req->head_len, "sec-websocket-extensions", &at, &e)) {
        ws_deflate_params o;
        unsigned v;
        if (ws_deflate_parse(e, 0, &o) != 1) continue; /* another extension, or a bad offer */
        /* §7.1.2.2: a client that did not offer client_max_window_bits cannot be limited */
        if (!o.client_max_window_bits && cmax < 15) continue;
        agreed->server_no_context_takeover = o.server_no_context_takeover | allow->server_no_context_takeover;
        agreed->client_no_context_takeover = o.client_no_context_takeover | allow->client_no_context_takeover;
        /* §7.1.2.1: an offered limit is answered with one no larger; unasked, ours is
           stated only when it is below the default */
        v = o.server_max_window_bits && o.server_max_window_bits < smax ? o.server_max_window_bits : smax;
        agreed->server_max_window_bits = (unsigned char)(o.server_max_window_bits || v < 15 ? v : 0);
        v = o.client_max_window_bits > WS_PMD_NO_VALUE && o.client_max_window_bits < cmax
          ? o.client_max_window_bits : cmax;
        agreed->client_max_window_bits = (unsigned char)(o.client_max_window_bits && (v < 15 || o.client_max_window_bits != WS_PMD_NO_VALUE) ? v : 0);
        return 1;
    }
    return 0;
}
#endif

/* The 101, with the permessage-deflate element agreed (NULL: none). */
static int ws__response_build(char *buf, size_t cap, const ws_request *req, const char *protocol,
                              const ws_deflate_params *deflate, const char *extra_headers) {
    ws__buf b;
    char accept[WS_ACCEPT_LEN + 1];
    if (protocol && !*protocol) protocol = 0;
    /* §4.2.2 item 5.4: the subprotocol must be one the client offered. */
    if ((protocol && !ws_request_offers(req, protocol)) || !ws__extra_ok(extra_headers))
        return WS_ERR_ARG;
    ws_accept_key(req->key.p, req->key.n, accept);
    b.p = buf, b.cap = cap, b.n = 0, b.overflow = 0;
    ws__putf(&b, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n", accept);
    if (protocol) ws__putf(&b, "Sec-WebSocket-Protocol: %s\r\n", protocol);
    ws__put_deflate(&b, deflate);
    return ws__putf(&b, "%s\r\n", extra_headers);
}

WSDEF int ws_response_build(char *buf, size_t cap, const ws_request *req, const char *protocol,
                            const char *extra_headers) {
    return ws__response_build(buf, cap, req, protocol, 0, extra_headers);
}

/* The statuses with a reason phrase of their own, each less 300 to fit a byte, and their
   phrases in the same order, NUL-separated, then the phrase of any other 3xx and that of
   any other 4xx or 5xx. 426's phrase ends its status line and adds the header line that
   §4.4 asks for with it. */
static const unsigned char ws__reason_status[] = {
    400 - 300, 401 - 300, 403 - 300, 404 - 300, 405 - 300, 426 - 300, 429 - 300,
    431 - 300, 500 - 300, 503 - 300, 0 /* the end */};
static const char ws__reasons[] =
    "Bad Request\0" "Unauthorized\0" "Forbidden\0" "Not Found\0"
    "Method Not Allowed\0" "Upgrade Required\r\nSec-WebSocket-Version: 13\0"
    "Too Many Requests\0"
    "Request Header Fields Too Large\0" "Internal Server Error\0"
    "Service Unavailable\0" "Redirect\0" "Error";

static const char *ws__reason_phrase(int status) {
    const char *p = ws__reasons;
    const unsigned char *s;
    for (s = ws__reason_status; *s; s++) {
        if (*s + 300 == status) return p;
        while (*p++) {} /* to the next entry */
    }
    return status < 400 ? p : p + sizeof "Redirect"; /* past the listed ones */
}

WSDEF int ws_reject_build(char *buf, size_t cap, int status, const char *extra_headers) {
    ws__buf b;
    if (status < 300 || status > 599 || !ws__extra_ok(extra_headers)) return WS_ERR_ARG;
    b.p = buf, b.cap = cap, b.n = 0, b.overflow = 0;
    return ws__putf(&b, "HTTP/1.1 %u %s\r\nConnection: close\r\nContent-Length: 0\r\n%s\r\n",
                    (unsigned)status, ws__reason_phrase(status), extra_headers);
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

static int ws__request_build(char *buf, size_t cap, const ws_client_options *o, const char *key,
                             const ws_deflate_params *deflate);

WSDEF int ws_request_build(char *buf, size_t cap, const ws_client_options *o, const char *key) {
    return ws__request_build(buf, cap, o, key, 0);
}

/* The request, with a permessage-deflate offer (NULL: none). */
static int ws__request_build(char *buf, size_t cap, const ws_client_options *o, const char *key,
                             const ws_deflate_params *deflate) {
    ws__buf b;
    if (!o || !key) return WS_ERR_ARG;
    if (!ws__value_ok(o->protocols) || !ws__value_ok(o->origin) || !ws__extra_ok(o->extra_headers))
        return WS_ERR_ARG;
    b.p = buf, b.cap = cap, b.n = 0, b.overflow = 0;
#ifndef WS_NO_URL
    if (o->url) {
        ws_url u;
        const char *auth;
        if (ws_url_parse(o->url, ws__strlen(o->url), &u) != WS_OK) return WS_ERR_URL;
        /* Host keeps an IPv6 literal's brackets: it starts where the authority does, right
           after "ws://" or "wss://", and ends as far past u.host as it starts before it */
        auth = o->url + 5 + u.secure;
        u.host.n += 2 * (size_t)(u.host.p - auth), u.host.p = auth;
        ws__putf(&b, "GET %S%S HTTP/1.1\r\nHost: %S", &u.path, &u.query, &u.host);
        /* §4.1 item 4: the port only when it is not the default, 80 or 443 */
        if (u.port != (unsigned)(80 + (443 - 80) * u.secure)) ws__putf(&b, ":%u", u.port);
    } else
#endif
    {
        const char *res = o->resource ? o->resource : "/";
        if (o->url) return WS_ERR_URL; /* WS_NO_URL: nothing here could read it */
        if (!o->host) return WS_ERR_ARG;
        /* a host not empty, a resource that is a path */
        if (!*o->host || o->host[ws__target_len(o->host, (size_t)-1)] || *res != '/' ||
            res[ws__target_len(res, (size_t)-1)])
            return WS_ERR_URL;
        ws__putf(&b, "GET %s HTTP/1.1\r\nHost: %s", res, o->host);
    }
    ws__putf(&b, "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                 "Sec-WebSocket-Version: 13\r\n", key);
    if (o->protocols && *o->protocols) ws__putf(&b, "Sec-WebSocket-Protocol: %s\r\n", o->protocols);
    if (o->origin && *o->origin) ws__putf(&b, "Origin: %s\r\n", o->origin);
    ws__put_deflate(&b, deflate);
    return ws__putf(&b, "%s\r\n", o->extra_headers);
}

#ifndef WS_NO_DEFLATE
/* A server's permessage-deflate element against the offer (RFC 7692 §7.1). */
static ws_result ws__deflate_verify(ws_str e, const ws_deflate_params *o, ws_deflate_params *a) {
    if (ws_deflate_parse(e, 1, a) != 1) return WS_ERR_HS_EXTENSION;
    /* §7.1.1.1: asked for, it must be stated; §7.1.2.1: an offered limit is answered with
       one no larger; §7.1.2.2: client_max_window_bits only when offered, no larger */
    if ((o->server_no_context_takeover && !a->server_no_context_takeover) ||
        (o->server_max_window_bits && (!a->server_max_window_bits ||
                                       a->server_max_window_bits > o->server_max_window_bits)) ||
        (a->client_max_window_bits && (!o->client_max_window_bits ||
                                       (o->client_max_window_bits != WS_PMD_NO_VALUE &&
                                        a->client_max_window_bits > o->client_max_window_bits))))
        return WS_ERR_HS_EXTENSION;
    /* What each side may use: unstated, the client keeps to its own offer, else 15. */
    if (!a->server_max_window_bits) a->server_max_window_bits = 15;
    if (!a->client_max_window_bits)
        a->client_max_window_bits = o->client_max_window_bits > WS_PMD_NO_VALUE ? o->client_max_window_bits : 15;
    return WS_OK;
}
#endif

static ws_result ws__response_parse(const char *head, size_t len, const ws_hs_limits *lim,
                                    const char *key, const char *offered_protocols,
                                    const ws_deflate_params *offered_deflate, ws_response *res);

WSDEF ws_result ws_response_parse(const char *head, size_t len, const ws_hs_limits *lim,
                                  const char *key, const char *offered_protocols,
                                  ws_response *res) {
    return ws__response_parse(head, len, lim, key, offered_protocols, 0, res);
}

#ifndef WS_NO_DEFLATE
WSDEF ws_result ws_response_parse_deflate(const char *head, size_t len, const ws_hs_limits *lim,
                                          const char *key, const char *offered_protocols,
                                          const ws_deflate_params *offered, ws_response *res) {
    return ws__response_parse(head, len, lim, key, offered_protocols, offered, res);
}
#endif

static ws_result ws__response_parse(const char *head, size_t len, const ws_hs_limits *lim,
                                    const char *key, const char *offered_protocols,
                                    const ws_deflate_params *offered_deflate, ws_response *res) {
    ws_str offered, t;
    const ws_str *accept;
    ws__heads h;
    ws_result r;
    size_t i;
    char expect[WS_ACCEPT_LEN + 1];
    static const char range[] = "HTTP/1.1 100" "HTTP/1.9 599";

    WS_MEMSET(res, 0, sizeof *res);
    res->head = head, res->head_len = len;
    r = ws__walk_headers(head, len, lim, &h);
    res->status_line.p = head, res->status_line.n = (size_t)(h.last - head);
    if (!h.cr) return r;
    /* "HTTP/1.1 101 Switching Protocols": version, a 3-digit status, a reason. */
    if (res->status_line.n < 12 || (res->status_line.n > 12 && head[12] != ' '))
        return WS_ERR_HS_MALFORMED;
    for (i = 0; i < 12; i++) { /* each byte between those of the lowest and the highest line
                                  (one string: one address to load, not two) */
        if (head[i] < range[i] || head[i] > range[i + 12]) return WS_ERR_HS_MALFORMED;
        if (i > 8) res->status = res->status * 10 + (head[i] - '0');
    }
    if (res->status != 101) return WS_ERR_HS_STATUS; /* §4.1: anything else is a failure */
    if (r != WS_OK) return r; /* §4.1 items 2-3 */
    /* field by field: a struct copy out of h is a memcpy call on Cortex-M0 (-O0) */
    res->protocol.p = h.v[WS__H_PROTOCOL].p, res->protocol.n = h.v[WS__H_PROTOCOL].n;
    accept = &h.v[WS__H_ACCEPT];
    ws_accept_key(key, ws__strlen(key), expect);                       /* item 4 */
    if (h.n[WS__H_ACCEPT] != 1 || accept->n != WS_ACCEPT_LEN || !ws__memeq(accept->p, expect, WS_ACCEPT_LEN))
        return WS_ERR_HS_ACCEPT;
    /* item 5: only an extension that was offered, once (every line, §11.3.2). A line
       without one is no better: a Sec-WebSocket-Extensions value lists at least one
       extension (§9.1), so a line stands only beside the element that took our offer. */
#ifndef WS_NO_DEFLATE
    {
        size_t at = 0;
        ws_str e;
        while (ws_header_list_next(head, len, "sec-websocket-extensions", &at, &e)) {
            ws_str v; /* field by field: passing e itself is a memcpy on Cortex-M0 */
            v.p = e.p, v.n = e.n;
            if (!offered_deflate || res->deflate ||
                ws__deflate_verify(v, offered_deflate, &res->agreed) != WS_OK)
                return WS_ERR_HS_EXTENSION;
            res->deflate = 1;
        }
    }
#else
    (void)offered_deflate;
#endif
    if (h.n[WS__H_EXTENSIONS] && !res->deflate) return WS_ERR_HS_EXTENSION;
    if (h.n[WS__H_PROTOCOL]) {              /* item 6: one line, and a value we offered */
        offered.p = offered_protocols, offered.n = ws__strlen(offered_protocols);
        if (h.n[WS__H_PROTOCOL] > 1) return WS_ERR_HS_PROTOCOL;
        do { /* an offered element equal to the value (an empty value is no element) */
            if (!ws_token_next(&offered, &t)) return WS_ERR_HS_PROTOCOL;
        } while (t.n != res->protocol.n || !ws__memeq(t.p, res->protocol.p, t.n));
    }
    return WS_OK;
}
#endif /* WS_NO_CLIENT */
#endif /* WS_NO_HANDSHAKE */

/* ---- 5. Connection --------------------------------------------------------------- */

/* ws__flags bits. Those set or tested together sit within 8 bits of each other, so each
   such mask is one Thumb immediate (ws__end, ws__fail, ws__refuse). */
#define WS__F_OUT_FIXED 0x0001u   /* output queue is the caller's send_buf */
#define WS__F_IN_FIXED 0x0002u    /* assembly buffer is the caller's recv_buf */
#define WS__F_STREAMING 0x0004u
#define WS__F_SENT_CLOSE 0x0008u  /* our close frame is queued: no data or close after it */
#define WS__F_FAILED 0x0010u      /* failed or refused: close the transport once written */
#define WS__F_ABORT 0x0020u       /* close the transport now; the queue was dropped */
#define WS__F_IN_MSG 0x0040u      /* a fragmented message is arriving */
#define WS__F_DECIDED 0x0080u     /* server: ws_accept or ws_reject was called */
#define WS__F_CLOSE_TIMER 0x0100u
#define WS__F_PING_OUT 0x0200u    /* keep-alive ping awaits its pong */
#define WS__F_WRITE_TIMER 0x0400u /* OPEN: output has waited for the peer since close_at */
#define WS__F_STALLED 0x0800u     /* input stopped until the queue has room for a reply */
#define WS__F_EOF 0x1000u
#define WS__F_WARM 0x2000u        /* a frame was queued: the queue is no longer the
                                     handshake's, which comes before every frame */
#define WS__F_IN_EVENT 0x4000u    /* an event callback is running (ws__emit) */
#define WS__F_FREE_IN 0x8000u     /* release the assembly buffer once that callback returns */
#ifndef WS_NO_DEFLATE
#define WS__F_PMD 0x10000u        /* permessage-deflate agreed (ws__pmd_cfg); codecs in ws__aux */
#define WS__F_IN_DEFLATE 0x20000u /* the message arriving is compressed (RSV1) */
#define WS__F_OUT_DEFLATE 0x40000u /* the message sent in fragments is compressed */
#else /* never set: every test of them folds away */
#define WS__F_PMD 0u
#define WS__F_IN_DEFLATE 0u
#define WS__F_OUT_DEFLATE 0u
#endif
/* Timers keep the low 32 bits of the caller's clock: a wait is a difference mod 2^32,
   exact for any wait under 2^31 ms (24 days); a clock that went back restarts it.
   WS__NEVER marks a wait that starts at the next tick (a tick at exactly that time
   counts as one ms earlier). */
#define WS__NEVER 0xffffffffu

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

/* One of the two buffers, the output queue (in 0) or the assembly buffer (in 1), and
   its size, which follows it in ws_conn (checked here): found by its offset, one
   address computed rather than two chosen. Whether it is the caller's is flag bit
   `in` (checked here too: IN_FIXED is the bit after OUT_FIXED). */
typedef char ws__buf_then_cap[offsetof(ws_conn, ws__out_cap) == offsetof(ws_conn, ws__out) + sizeof(void *) &&
                              offsetof(ws_conn, ws__in_cap) == offsetof(ws_conn, ws__in) + sizeof(void *) &&
                              WS__F_IN_FIXED == WS__F_OUT_FIXED << 1 ? 1 : -1];
static unsigned char **ws__buf_at(ws_conn *c, int in) {
    return (unsigned char **)(void *)((char *)c + (in ? offsetof(ws_conn, ws__in) : offsetof(ws_conn, ws__out)));
}
static size_t *ws__buf_cap(unsigned char **buf) {
    return (size_t *)(void *)((char *)buf + sizeof *buf);
}

/* That buffer goes back to the allocator, unless it is the caller's. */
static void ws__buf_release(ws_conn *c, int in) {
    unsigned char **buf = ws__buf_at(c, in);
    size_t *cap = ws__buf_cap(buf);
    if ((c->ws__flags >> in) & WS__F_OUT_FIXED) return; /* IN_FIXED for in 1 */
    ws__free(c, *buf, *cap);
    *buf = 0, *cap = 0;
}

/* Room for need bytes (<= limit) in one of the two buffers: the output queue (in 0) or
   the assembly buffer (in 1), its live bytes kept. A caller's buffer never grows
   (WS_ERR_TOO_BIG). An allocated one at least doubles (256 to start) and takes the need
   if that is more, never past the limit, so growth stays amortized right up to the
   limit; in place when the allocator can (realloc), else a fresh block, a copy, a free. */
static ws_result ws__buf_reserve(ws_conn *c, int in, size_t need, size_t limit) {
    unsigned char **buf = ws__buf_at(c, in), *old, *p;
    size_t *cap = ws__buf_cap(buf), n;
    if (need <= *cap) return WS_OK;
    if ((c->ws__flags >> in) & WS__F_OUT_FIXED) return WS_ERR_TOO_BIG; /* IN_FIXED for in 1 */
    old = *buf, n = *cap ? *cap * 2 : 256;
    WS_ASSERT(need <= limit);
    if (n < need) n = need;
    if (n > limit) n = limit;
    if (old && c->ws__alloc.alloc && c->ws__alloc.realloc) {
        p = (unsigned char *)c->ws__alloc.realloc(c->ws__alloc.ctx, old, *cap, n);
#ifdef WS_REALLOC
    } else if (old && !c->ws__alloc.alloc) {
        p = (unsigned char *)WS_REALLOC(old, n);
#endif
    } else if ((p = (unsigned char *)ws__alloc(c, n)) != 0 && old) {
        /* a fresh block takes the old one whole, as realloc does: no need to know what
           is live */
        WS_MEMCPY(p, old, *cap);
        ws__free(c, old, *cap);
    }
    if (!p) return WS_ERR_NOMEM;
    *buf = p, *cap = n;
    return WS_OK;
}

static void ws__event_init(ws_event *ev, ws_event_type type) {
    WS_MEMSET(ev, 0, sizeof *ev);
    ev->type = type;
}

/* The assembly buffer (handshake head, then messages) grows up to `limit`, which the
   caller has already checked the need against; it is freed when empty so an idle
   connection holds none. */
static ws_result ws__in_reserve(ws_conn *c, size_t need, size_t limit) {
    return ws__buf_reserve(c, 1, need, limit);
}

static void ws__in_release(ws_conn *c) {
    if (c->ws__flags & WS__F_IN_EVENT) { /* the running callback's event may point into it */
        c->ws__flags |= WS__F_FREE_IN;
        return;
    }
    c->ws__in_len = 0;
    ws__buf_release(c, 1);
}

/* The callback may call anything on c except ws_conn_free (ws_conn_feed it is refused),
   and its event's data must stay valid however it ends: whatever it does that releases
   the assembly buffer (a failure from ws_conn_tick or ws_conn_eof, a close) takes effect
   when the outermost callback returns. */
static void ws__event_done(ws_conn *c) {
    uint32_t flags = c->ws__flags;
    c->ws__flags = flags & ~(WS__F_IN_EVENT | WS__F_FREE_IN);
    if (flags & WS__F_FREE_IN) ws__in_release(c);
}

static void ws__emit(ws_conn *c, ws_event *ev) {
    uint32_t nested = c->ws__flags & WS__F_IN_EVENT;
    if (!c->ws__on_event) return;
    c->ws__flags |= WS__F_IN_EVENT;
    c->ws__on_event(c, ev, c->ws__user);
    if (!nested) ws__event_done(c);
}

#define WS__KEEP_QUEUE 4096

static void ws__out_release(ws_conn *c) {
    ws__buf_release(c, 0);
}

/* Close the transport now: what is still queued never goes out (a 101 queued before a
   failure, a close frame the peer would not read). */
static void ws__hang_up(ws_conn *c) {
    c->ws__flags = (c->ws__flags | WS__F_ABORT) & ~WS__F_CLOSE_TIMER;
    c->ws__out_head = c->ws__out_tail = 0;
    ws__out_release(c);
}

/* Room for n more bytes at the end of the output queue, besides the room held for the
   reply to a control frame being read. WS_WOULD_BLOCK while the queue is too full
   (nothing changes), WS_ERR_TOO_BIG when n could never fit. */
static ws_result ws__reserve(ws_conn *c, size_t n, unsigned char **dst) {
    size_t used = c->ws__out_tail - c->ws__out_head;
    ws_result r;
    if (n > c->ws__max_queue) return WS_ERR_TOO_BIG;
    if (used + c->ws__held > c->ws__max_queue - n) return WS_WOULD_BLOCK;
    if (c->ws__out_cap - c->ws__out_tail < n) {
        /* Move what is queued to the front, then grow if that is not room enough. */
        if (c->ws__out_head) WS_MEMMOVE(c->ws__out, c->ws__out + c->ws__out_head, used);
        c->ws__out_head = 0, c->ws__out_tail = used;
        /* (WS_ERR_NOMEM: a caller's queue is max_queue long, so never too big here) */
        if ((r = ws__buf_reserve(c, 0, used + n, c->ws__max_queue)) != WS_OK) return r;
    }
    *dst = c->ws__out + c->ws__out_tail;
    return WS_OK;
}

/* Queue one frame. Client frames get a fresh masking key from the caller's RNG (§5.3). */
static ws_result ws__queue_frame(ws_conn *c, unsigned opcode, int fin, const void *data, size_t len) {
    ws_frame f;
    unsigned char *dst;
    size_t h;
    ws_result r;
    if (len > (size_t)-1 - WS_MAX_HEADER) return WS_ERR_TOO_BIG;
    f.fin = (unsigned char)fin, f.rsv = 0, f.opcode = (unsigned char)opcode; /* any fin not 0 sets FIN */
    f.len = len, f.masked = c->ws__role == WS_ROLE_CLIENT;
    h = (f.masked ? 6u : 2u) + (len > 125 ? (len > 0xffff ? 8u : 2u) : 0u); /* as ws_frame_encode */
    r = ws__reserve(c, h + len, &dst);
    if (r != WS_OK) return r;
    if (f.masked && c->ws__rng(c->ws__rng_ctx, f.key, 4) != 0) return WS_ERR_RNG;
    c->ws__out_tail += h + len;
    dst += ws_frame_encode(dst, &f);
    if (len) WS_MEMCPY(dst, data, len);
    if (f.masked) ws_mask(dst, len, f.key, 0);
    c->ws__flags |= WS__F_WARM;
    return WS_OK;
}

/* The connection is ending (CLOSING: our close went out) or over (CLOSED: closed,
   failed or refused); no more keep-alive pings. What is still queued (a close frame, a
   refusal) waits on a peer that may never read it, the peer's close may never come, and
   a client waits for the server to close the transport: the close timeout bounds each,
   unless the transport is being closed now (WS__F_ABORT). The wait counts from the first
   tick after this call, not from the tick before it (a close started just before a tick
   would time out almost at once). */
static void ws__end(ws_conn *c, unsigned state, uint32_t flags) {
    c->ws__state = (unsigned char)state;
    c->ws__flags = (c->ws__flags | flags) & ~(WS__F_PING_OUT | WS__F_WRITE_TIMER);
    if (!(c->ws__flags & WS__F_ABORT)) c->ws__flags |= WS__F_CLOSE_TIMER, c->ws__close_at = WS__NEVER;
}

/* §7.1.7 Fail the WebSocket Connection: say why, stop reading, report WS_EV_ERROR once;
   the error sticks. code: a close code (>= 1000), sent in a close frame when one may
   still be, else reported as 1006 (nothing was sent); or a failed handshake's HTTP
   status (0 for none). line: the status line of a client's failed handshake, for the
   event, or NULL. */
static ws_result ws__fail(ws_conn *c, ws_result err, unsigned code, const ws_str *line) {
    ws_event ev;
    if (c->ws__error) return (ws_result)c->ws__error;
    c->ws__held = 0; /* no pong or close echo after this */
    if (code >= 1000) {
        /* Before the handshake, after our own close, or with the transport closing now,
           no close frame can say why. */
        if (c->ws__state == WS_STATE_CONNECTING || (c->ws__flags & (WS__F_SENT_CLOSE | WS__F_ABORT)))
            code = WS_CLOSE_ABNORMAL;
        else if (ws_close(c, code, 0, 0) != WS_OK) /* (its checks pass: a valid code, no close sent yet) */
            ws__hang_up(c), code = WS_CLOSE_ABNORMAL;
    }
    c->ws__error = err;
    ws__end(c, WS_STATE_CLOSED, WS__F_SENT_CLOSE | WS__F_FAILED);
    ws__event_init(&ev, WS_EV_ERROR);
    ev.error = err, ev.code = code;
    if (line) ev.data = line->p, ev.len = line->n;
    ws__emit(c, &ev);
    ws__in_release(c);
    return err;
}

/* Fail with the close code that says why: 1002 a protocol error, 1007 bad data, 1009 a
   message over the limit, 1011 no memory or an internal failure (§7.4.1). */
static ws_result ws__fail_close(ws_conn *c, ws_result err) {
    unsigned code = err == WS_ERR_PROTOCOL ? WS_CLOSE_PROTOCOL
                  : err == WS_ERR_UTF8 || err == WS_ERR_DEFLATE ? WS_CLOSE_INVALID_DATA
                  : err == WS_ERR_TOO_BIG ? WS_CLOSE_TOO_BIG : WS_CLOSE_INTERNAL;
    return ws__fail(c, err, code, 0);
}

/* Drop the transport now, queued output or not. Unless the connection had already ended
   (cleanly, or by an earlier failure), that is an abnormal closure: err, reported with
   1006, which is never sent (§7.1.5). */
static ws_result ws__abort(ws_conn *c, ws_result err) {
    ws__hang_up(c);
    if (c->ws__state == WS_STATE_CLOSED) return (ws_result)c->ws__error;
    return ws__fail(c, err, WS_CLOSE_ABNORMAL, 0); /* after ws__hang_up: none sent */
}

/* -- permessage-deflate (RFC 7692): what was agreed, and the codec state per direction -- */

#ifndef WS_NO_DEFLATE
/* A connection on caller buffers with no allocator never allocates, so it declines
   permessage-deflate rather than take its memory from WS_MALLOC. */
static int ws__can_alloc(const ws_conn *c) {
#ifdef WS_MALLOC
    if ((c->ws__flags & (WS__F_OUT_FIXED | WS__F_IN_FIXED)) != (WS__F_OUT_FIXED | WS__F_IN_FIXED)) return 1;
#endif
    return c->ws__alloc.alloc != 0;
}

/* cfg.deflate in ws_conn's padding: mode (2 bits), fast (1), the two no_context_takeover
   flags, server and client window bits (4 each; client's 1 = offered without a value). */
static uint16_t ws__pmd_pack(const ws_deflate_config *d) {
    const ws_deflate_params *p = &d->params;
    return (uint16_t)((unsigned)(d->mode & 3) | (unsigned)(d->level == WS_DEFLATE_FAST) << 2 |
                      (unsigned)(p->server_no_context_takeover != 0) << 3 |
                      (unsigned)(p->client_no_context_takeover != 0) << 4 |
                      (unsigned)(p->server_max_window_bits & 15) << 5 |
                      (unsigned)(p->client_max_window_bits & 15) << 9);
}

static inline void ws__pmd_params(const ws_conn *c, ws_deflate_params *p) {
    unsigned v = c->ws__pmd_cfg;
    p->server_no_context_takeover = (unsigned char)(v >> 3 & 1);
    p->client_no_context_takeover = (unsigned char)(v >> 4 & 1);
    p->server_max_window_bits = (unsigned char)(v >> 5 & 15);
    p->client_max_window_bits = (unsigned char)(v >> 9 & 15);
}

/* Once agreed (by the handshake, or before it for skip_handshake) the parameters take
   the config's place in ws__pmd_cfg, window bits stated (a window the response left out
   is 15, §7.1.2): nothing is allocated until a message needs a codec. */
static void ws__pmd_agree(ws_conn *c, const ws_deflate_params *a) {
    unsigned sb = a->server_max_window_bits >= 8 ? a->server_max_window_bits : 15;
    unsigned cb = a->client_max_window_bits >= 8 ? a->client_max_window_bits : 15;
    c->ws__pmd_cfg = (uint16_t)((c->ws__pmd_cfg & 7u) | (unsigned)(a->server_no_context_takeover != 0) << 3 |
                                (unsigned)(a->client_no_context_takeover != 0) << 4 | sb << 5 | cb << 9);
    c->ws__flags |= WS__F_PMD;
}

/* The codecs, each allocated with its window after it when a message first needs it;
   ws__aux holds them only while one exists. */
typedef struct ws__pmd {
    ws_inflater *in;
    ws_deflater *out;
} ws__pmd;

/* Our receiving (0) or sending (1) direction: its window bits and whether it keeps
   context between messages (§7.1.1). The server sends with server_*, the client with
   client_*. */
static unsigned ws__pmd_bits(const ws_conn *c, int sending) {
    return (unsigned)c->ws__pmd_cfg >> ((c->ws__role == WS_ROLE_SERVER) == sending ? 5 : 9) & 15;
}
static int ws__pmd_keep(const ws_conn *c, int sending) {
    return !(c->ws__pmd_cfg >> ((c->ws__role == WS_ROLE_SERVER) == sending ? 3 : 4) & 1);
}

static size_t ws__pmd_size(const ws_conn *c, int sending) {
    unsigned b = ws__pmd_bits(c, sending);
    return sending ? sizeof(ws_deflater) + WS_DEFLATE_MEM(b) : sizeof(ws_inflater) + WS_INFLATE_MEM(b);
}

static ws__pmd *ws__pmd_state(ws_conn *c) {
    if (!c->ws__aux && (c->ws__aux = ws__alloc(c, sizeof(ws__pmd))) != 0)
        WS_MEMSET(c->ws__aux, 0, sizeof(ws__pmd));
    return (ws__pmd *)c->ws__aux;
}

static ws_inflater *ws__pmd_inflater(ws_conn *c) {
    ws__pmd *z = ws__pmd_state(c);
    if (z && !z->in) {
        size_t n = ws__pmd_size(c, 0);
        unsigned char *m = (unsigned char *)ws__alloc(c, n);
        if (!m) return 0;
        z->in = (ws_inflater *)(void *)m;
        ws_inflate_init(z->in, ws__pmd_bits(c, 0), m + sizeof(ws_inflater), n - sizeof(ws_inflater));
    }
    return z ? z->in : 0;
}

static ws_deflater *ws__pmd_deflater(ws_conn *c) {
    ws__pmd *z = ws__pmd_state(c);
    if (z && !z->out) {
        size_t n = ws__pmd_size(c, 1);
        unsigned char *m = (unsigned char *)ws__alloc(c, n);
        if (!m) return 0;
        z->out = (ws_deflater *)(void *)m;
        ws_deflate_init(z->out, ws__pmd_bits(c, 1),
                        c->ws__pmd_cfg & 4 ? WS_DEFLATE_FAST : WS_DEFLATE_DEFAULT,
                        m + sizeof(ws_deflater), n - sizeof(ws_deflater));
    }
    return z ? z->out : 0;
}

/* A direction without context takeover holds nothing between messages, and a
   connection with no codec holds nothing at all (`all`: everything goes, for
   ws_conn_free). */
static void ws__pmd_release(ws_conn *c, int all) {
    ws__pmd *z = (ws__pmd *)c->ws__aux;
    if (!(c->ws__flags & WS__F_PMD) || !z) return;
    if (z->in && (all || (!ws__pmd_keep(c, 0) && !(c->ws__flags & WS__F_IN_DEFLATE)))) {
        ws__free(c, z->in, ws__pmd_size(c, 0));
        z->in = 0;
    }
    if (z->out && (all || (!ws__pmd_keep(c, 1) && !(c->ws__flags & WS__F_OUT_DEFLATE)))) {
        ws__free(c, z->out, ws__pmd_size(c, 1));
        z->out = 0;
    }
    if (!z->in && !z->out) {
        ws__free(c, z, sizeof *z);
        c->ws__aux = 0;
    }
}
#endif /* WS_NO_DEFLATE */

/* ws_conn_init copies on_event to allocator in one piece: every field of that run must
   sit at the same distance from on_event in ws_conn as in ws_config. */
#define WS__HOOKS_SIZE (offsetof(ws_config, allocator) + sizeof(ws_allocator) - offsetof(ws_config, on_event))
#define WS__HOOK_AT(f, g) \
    (offsetof(ws_conn, f) - offsetof(ws_conn, ws__on_event) == offsetof(ws_config, g) - offsetof(ws_config, on_event))
typedef char ws__hooks_order[WS__HOOK_AT(ws__user, user) && WS__HOOK_AT(ws__rng, rng) &&
                             WS__HOOK_AT(ws__rng_ctx, rng_ctx) && WS__HOOK_AT(ws__alloc, allocator) ? 1 : -1];
#undef WS__HOOK_AT

WSDEF void ws_config_init(ws_config *cfg, ws_role role) {
    WS_MEMSET(cfg, 0, sizeof *cfg);
    cfg->role = role;
}

WSDEF ws_result ws_conn_init(ws_conn *c, const ws_config *cfg) {
    /* built in locals, stored once checked: c's fields might alias *cfg's */
    uint32_t flags = 0;
    size_t max_message, max_queue, max_handshake;
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
    max_message = cfg->max_message ? cfg->max_message : WS_DEFAULT_MAX_MESSAGE;
    max_queue = cfg->max_queue ? cfg->max_queue : WS_DEFAULT_MAX_QUEUE;
    /* A head's length is an int (ws_http_head_end counts no further), and the client's
       key and protocols go ahead of it: a larger limit would wrap once they are added. */
    max_handshake = cfg->max_handshake ? WS__MIN(cfg->max_handshake, 0x7fffffff) : WS_DEFAULT_MAX_HANDSHAKE;
    /* Every control frame must always fit, or a pong could wait forever. */
    if (max_queue < 256) max_queue = 256;
    if (cfg->send_buf) {
        if (cfg->send_buf_size < WS_MAX_HEADER + WS_MAX_CONTROL) return WS_ERR_ARG;
        c->ws__out = (unsigned char *)cfg->send_buf;
        c->ws__out_cap = max_queue = cfg->send_buf_size;
        flags |= WS__F_OUT_FIXED;
    }
    if (cfg->recv_buf) {
        if (cfg->recv_buf_size < 128) return WS_ERR_ARG;
        c->ws__in = (unsigned char *)cfg->recv_buf;
        c->ws__in_cap = cfg->recv_buf_size;
        /* A control frame split between reads is gathered after the message so far. */
        max_message = WS__MIN(max_message, cfg->recv_buf_size - WS_MAX_CONTROL);
        max_handshake = WS__MIN(max_handshake, cfg->recv_buf_size);
        flags |= WS__F_IN_FIXED;
    }
#ifndef WS_MALLOC
    /* No allocator at all: both buffers must be the caller's. */
    if (!cfg->allocator.alloc && flags != (WS__F_OUT_FIXED | WS__F_IN_FIXED)) return WS_ERR_ARG;
#endif
    if (cfg->streaming) flags |= WS__F_STREAMING;
#ifndef WS_NO_HANDSHAKE
    /* A peer that never finishes the handshake must not hold the connection forever
       (close_at is WS__NEVER: the wait starts at the first tick). */
    if (!cfg->skip_handshake) flags |= WS__F_CLOSE_TIMER;
    else
#endif
        c->ws__state = WS_STATE_OPEN;
    c->ws__flags = flags;
    c->ws__max_message = max_message, c->ws__max_queue = max_queue;
    c->ws__max_handshake = max_handshake;
    c->ws__max_headers = cfg->max_headers;
    /* on_event, user, rng, rng_ctx and allocator, kept in ws_config's order */
    WS_MEMCPY(&c->ws__on_event, &cfg->on_event, WS__HOOKS_SIZE);
    c->ws__role = (unsigned char)cfg->role;
    c->ws__ping_interval = cfg->ping_interval_ms;
    c->ws__pong_timeout = cfg->pong_timeout_ms ? cfg->pong_timeout_ms : cfg->ping_interval_ms;
    c->ws__end_wait[1] = cfg->close_timeout_ms ? cfg->close_timeout_ms : WS_DEFAULT_CLOSE_TIMEOUT;
    c->ws__ping_at = c->ws__close_at = WS__NEVER;
    c->ws__end_wait[0] = cfg->handshake_timeout_ms ? cfg->handshake_timeout_ms : WS_DEFAULT_HANDSHAKE_TIMEOUT;
#ifndef WS_NO_DEFLATE
    if (cfg->deflate.mode && ws__can_alloc(c)) {
        c->ws__pmd_cfg = ws__pmd_pack(&cfg->deflate);
        c->ws__pmd_min = cfg->deflate.threshold ? cfg->deflate.threshold : 32;
    }
    if (c->ws__state == WS_STATE_OPEN && (c->ws__pmd_cfg & 3) == WS_PMD_AGREED)
        ws__pmd_agree(c, &cfg->deflate.params);
#endif
    return WS_OK;
}

WSDEF void ws_conn_free(ws_conn *c) {
#ifndef WS_NO_DEFLATE
    ws__pmd_release(c, 1);
#endif
    ws__hang_up(c); /* the queue dropped, and released */
    ws__in_release(c); /* (a caller's buffers stay theirs: a second free is harmless) */
}

/* -- the opening handshake inside a connection -- */
#ifndef WS_NO_HANDSHAKE

/* Room at the end of the queue for a head of n bytes, as a first run of its builder
   measured it (n < 0: why it could not be built), taken at once: the second run, which
   cannot fail, writes it at *dst (one step here, not one in each caller). A head is the
   first thing queued (nothing may be sent while CONNECTING), so the queue is empty,
   never too full for now (WS_WOULD_BLOCK): no room means a queue too small for it
   (WS_ERR_TOO_BIG), or no memory to grow it. (No WS_ASSERT says so: in the firmware's
   checked build it cost 8 B more stack.) */
static ws_result ws__head_room(ws_conn *c, int n, unsigned char **dst) {
    ws_result r = n < 0 ? (ws_result)n : ws__reserve(c, (size_t)n, dst);
    if (r == WS_OK) c->ws__out_tail += (size_t)n;
    return r;
}

/* The handshake is done: WS_EV_OPEN with the subprotocol ("" for none) and what
   permessage-deflate agreed (NULL for nothing). */
static void ws__opened(ws_conn *c, const ws_str *protocol) {
    ws_event ev;
    ws_deflate_params agreed;
    c->ws__state = WS_STATE_OPEN;
    c->ws__flags &= ~WS__F_CLOSE_TIMER;
    ws__event_init(&ev, WS_EV_OPEN);
    ev.protocol.p = protocol->n ? protocol->p : "", ev.protocol.n = protocol->n;
#ifndef WS_NO_DEFLATE
    if (c->ws__flags & WS__F_PMD) ws__pmd_params(c, &agreed), ev.deflate = &agreed;
#else
    (void)agreed;
#endif
    ws__emit(c, &ev);
}

#ifndef WS_NO_CLIENT
/* The client's permessage-deflate offer from its config (NULL: none). A bare
   client_max_window_bits lets the server choose our window (§7.1.2.2). */
static const ws_deflate_params *ws__pmd_offer(const ws_conn *c, ws_deflate_params *offer) {
#ifndef WS_NO_DEFLATE
    if ((c->ws__pmd_cfg & 3) != WS_PMD_NEGOTIATE) return 0;
    ws__pmd_params(c, offer);
    if (!offer->client_max_window_bits) offer->client_max_window_bits = WS_PMD_NO_VALUE;
    return offer;
#else
    (void)c, (void)offer;
    return 0;
#endif
}

WSDEF ws_result ws_client_start(ws_conn *c, const ws_client_options *o) {
    size_t plen, prefix;
    unsigned char *dst;
    char *key;
    ws_deflate_params offer_buf;
    const ws_deflate_params *offer = ws__pmd_offer(c, &offer_buf);
    ws_result r;
    int n = 0;
    if (c->ws__role != WS_ROLE_CLIENT || c->ws__state != WS_STATE_CONNECTING ||
        c->ws__hs_prefix) /* started already */
        return WS_ERR_STATE;
    if (!o) return WS_ERR_ARG; /* the builder checks the rest */
    /* The key and the offered protocols ("" for none) wait ahead of the response head in
       the assembly buffer, to check the server's answer against (§4.1 items 4 and 6). */
    plen = ws__strlen(o->protocols);
    prefix = WS_KEY_LEN + 1 + plen + 1;
    r = plen + 1 > c->ws__max_handshake / 2 ? WS_ERR_TOO_BIG : ws__in_reserve(c, prefix, prefix);
    key = (char *)c->ws__in;
    if (r == WS_OK) r = ws_make_key(c->ws__rng, c->ws__rng_ctx, key);
    if (r == WS_OK) {
        n = ws__request_build(0, (size_t)-1, o, key, offer); /* measured, then written */
        r = ws__head_room(c, n, &dst);
        if (r == WS_ERR_TOO_BIG) r = WS_ERR_BUFFER; /* the queue is too small */
    }
    if (r != WS_OK) { /* a client that could not start holds nothing: no ws_conn_free owed */
        ws__in_release(c); /* (the queue grows only when ws__head_room succeeds) */
        return r;
    }
    ws__request_build((char *)dst, (size_t)n, o, key, offer);
    WS_MEMCPY(key + WS_KEY_LEN + 1, o->protocols ? o->protocols : "", plen + 1);
    c->ws__in_len = c->ws__hs_prefix = (uint32_t)prefix;
    /* ws__hs_feed counts from the buffer's start, prefix included */
    c->ws__max_handshake += prefix;
    return WS_OK;
}

/* The response head, after the prefix and ending n bytes into the buffer (n < 0: why none
   could be read), checked against the request. */
static ws_result ws__hs_response(ws_conn *c, int n, const ws_hs_limits *lim) {
    const char *key = (const char *)c->ws__in;
    size_t prefix = c->ws__hs_prefix;
    ws_response res;
    ws_result r;
    ws_deflate_params offer;
    res.status = 0, res.status_line.p = 0, res.status_line.n = 0; /* none, for n < 0 */
    r = n < 0 ? (ws_result)n
              : ws__response_parse(key + prefix, (size_t)n - prefix, lim, key, key + WS_KEY_LEN + 1,
                                   ws__pmd_offer(c, &offer), &res);
#ifndef WS_NO_DEFLATE
    if (r == WS_OK && res.deflate) ws__pmd_agree(c, &res.agreed);
#endif
    if (r != WS_OK) {
        ws__hang_up(c);
        return ws__fail(c, r, (unsigned)res.status, &res.status_line);
    }
    ws__opened(c, &res.protocol);
    ws__in_release(c);
    return WS_OK;
}
#endif /* WS_NO_CLIENT */

#ifndef WS_NO_SERVER
/* What ws_accept and ws_reject work on during WS_EV_REQUEST (c->ws__aux). */
typedef struct ws__hs_server {
    const ws_request *req;
    ws_str protocol; /* the accepted subprotocol, where the request offered it */
    ws_result error; /* why the last ws_accept or ws_reject did not do as asked */
    int status;      /* the refusal's HTTP status */
    int pmd;         /* the 101 agreed to permessage-deflate, as in `agreed` */
    ws_deflate_params agreed;
} ws__hs_server;

/* Refuse the request with *status and extra header lines; when those cannot go out
   (a status that is no refusal, bad lines, no room, no memory), with a bare *status (500
   for a bad one) that always fits an empty queue of the minimum size, or, failing even
   that, by hanging up. Never a 101. Returns why it could not refuse as asked, or WS_OK. */
static ws_result ws__refuse(ws_conn *c, int *status, const char *extra) {
    unsigned char *dst = 0; /* set whenever r is WS_OK; GCC -O3 cannot tell */
    ws_result why = WS_OK, r;
    int n;
    for (;;) {
        n = ws_reject_build(0, (size_t)-1, *status, extra); /* measured, then written */
        r = ws__head_room(c, n, &dst);
        if (r == WS_OK || why != WS_OK) break;
        why = r;
        if (*status < 300 || *status > 599) *status = 500;
        extra = 0; /* bare: 98 bytes at most (426 adds a line); every queue holds 139 */
    }
    if (r == WS_OK) ws_reject_build((char *)dst, (size_t)n, *status, extra);
    else ws__hang_up(c);
    ws__end(c, WS_STATE_CLOSED, WS__F_DECIDED | WS__F_FAILED | WS__F_SENT_CLOSE);
    return why;
}

WSDEF ws_result ws_accept(ws_conn *c, const char *protocol, const char *extra_headers) {
    ws__hs_server *hs = (ws__hs_server *)c->ws__aux;
    unsigned char *dst;
    ws_result r;
    int n = 0;
    ws_deflate_params allow;
    /* (with permessage-deflate agreed, ws__aux holds its codecs: no request is read) */
    if (!hs || (c->ws__flags & (WS__F_DECIDED | WS__F_PMD))) return WS_ERR_STATE;
    if (c->ws__error) return WS_ERR_CLOSED; /* failed in the callback: no 101, ever */
#ifndef WS_NO_DEFLATE
    /* the first acceptable permessage-deflate offer, if the config asks for one */
    if ((c->ws__pmd_cfg & 3) == WS_PMD_NEGOTIATE) {
        ws__pmd_params(c, &allow);
        hs->pmd = ws_deflate_accept(hs->req, &allow, &hs->agreed);
    }
#else
    (void)allow;
#endif
    n = ws__response_build(0, (size_t)-1, hs->req, protocol, hs->pmd ? &hs->agreed : 0,
                           extra_headers); /* measured, then written */
    r = ws__head_room(c, n, &dst);
    if (r == WS_OK) { /* else nothing queued; still undecided */
        ws__response_build((char *)dst, (size_t)n, hs->req, protocol, hs->pmd ? &hs->agreed : 0,
                           extra_headers);
        c->ws__flags = (c->ws__flags | WS__F_DECIDED) & ~WS__F_CLOSE_TIMER;
        /* WS_EV_OPEN names it from the request head, not from the caller's string, which
           need not outlive this call. */
        ws__offered(hs->req, protocol, &hs->protocol);
        c->ws__state = WS_STATE_OPEN;
    }
    return hs->error = r;
}

WSDEF ws_result ws_reject(ws_conn *c, int status, const char *extra_headers) {
    ws__hs_server *hs = (ws__hs_server *)c->ws__aux;
    if (!hs || (c->ws__flags & (WS__F_DECIDED | WS__F_PMD))) return WS_ERR_STATE; /* as ws_accept */
    if (c->ws__error) return WS_ERR_CLOSED;
    hs->status = status;
    return hs->error = ws__refuse(c, &hs->status, extra_headers);
}

/* The request head, the buffer's first n bytes (n < 0: why none could be read),
   answered: a request that fails to parse is refused with the status that says why; a
   good one goes to the application (§4.2.2 item 4: it may refuse, or pick one
   subprotocol), and no decision is an acceptance without a subprotocol. A failed
   decision (a ws_accept that could not answer, a ws_reject that could not refuse as
   asked) leaves a bare refusal, 500 unless ws_reject chose the status, and is reported. */
static ws_result ws__hs_request(ws_conn *c, int n, const ws_hs_limits *lim) {
    ws_request req;
    ws__hs_server hs;
    ws_event ev;
    hs.pmd = 0, hs.status = 500; /* the rest is set before it is read */
    hs.error = n < 0 ? (ws_result)n : ws_request_parse((const char *)c->ws__in, (size_t)n, lim, &req);
    if (hs.error) {
        hs.status = ws_hs_status(hs.error);
    } else {
        hs.req = &req;
        c->ws__aux = &hs;
        ws__event_init(&ev, WS_EV_REQUEST);
        ev.request = &req;
        ws__emit(c, &ev);
        if (!hs.error) ws_accept(c, 0, 0); /* does nothing once decided, or failed */
        c->ws__aux = 0;
#ifndef WS_NO_DEFLATE
        /* The 101 agreed to permessage-deflate: from here on the connection speaks it. */
        if (hs.pmd && c->ws__state == WS_STATE_OPEN && !c->ws__error) ws__pmd_agree(c, &hs.agreed);
#endif
    }
    /* Failed in the callback (ws_conn_tick, ws_conn_eof): no refusal follows, no OPEN,
       and ws_conn_feed, which reads nothing more from a closed connection, returns that
       error (its ws__fail already returned it, and a second one returns it again). */
    if (!(c->ws__flags & (WS__F_DECIDED | WS__F_FAILED))) ws__refuse(c, &hs.status, 0);
    if (hs.error) return ws__fail(c, hs.error, (unsigned)hs.status, 0);
    if (c->ws__state == WS_STATE_OPEN) ws__opened(c, &hs.protocol);
    ws__in_release(c);
    return WS_OK;
}
#endif /* WS_NO_SERVER */

/* Gather the head in the assembly buffer (after a client's copy of its offered
   protocols), bounded by max_handshake; take from the input only up to the blank line,
   so frames that came in the same read stay for the frame decoder. Sizes count from the
   buffer's start, a client's prefix included (ws_client_start moved max_handshake past
   it): the prefix ends in a NUL, so no blank line is found in it, and a client that
   started holds it (in_len is not 0). */
static ws_result ws__hs_feed(ws_conn *c, unsigned char **pp, unsigned char *end) {
    unsigned char *p = *pp;
    size_t had = c->ws__in_len, limit = c->ws__max_handshake, take;
    const char *buf;
    ws_hs_limits lim;
    int n;
    if (!had && c->ws__role == WS_ROLE_CLIENT) return WS_ERR_STATE; /* not started */
    if (c->ws__flags & WS__F_IN_FIXED) limit = WS__MIN(limit, c->ws__in_cap);
    take = WS__MIN((size_t)(end - p), limit - had);
    if (ws__in_reserve(c, had + take, limit) != WS_OK) return ws__fail(c, WS_ERR_NOMEM, 500, 0);
    buf = (const char *)c->ws__in;
    WS_MEMCPY(c->ws__in + had, p, take);
    c->ws__in_len = had + take;
    n = ws_http_head_end(buf, had + take, had, limit);
    if (n == WS_NEED_MORE) {
        *pp = p + take;
        return WS_OK;
    }
    *pp = n < 0 ? end : p + ((size_t)n - had);
    /* (the head ended within the limit: the parsers' size check passes) */
    lim.max_size = c->ws__max_handshake, lim.max_headers = c->ws__max_headers;
#ifndef WS_NO_SERVER
    if (c->ws__role == WS_ROLE_SERVER) return ws__hs_request(c, n, &lim);
#endif
#ifndef WS_NO_CLIENT
    return ws__hs_response(c, n, &lim);
#else
    return WS_ERR_STATE;
#endif
}
#endif /* WS_NO_HANDSHAKE */

/* -- frames: header, payload, control --
   ws__frame_begin, ws__control and ws__closed return why a frame fails the connection
   (WS_ERR_PROTOCOL, WS_ERR_UTF8, WS_ERR_TOO_BIG, a queuing error), and their caller
   fails it (ws__fail_close, which picks the close code); ws__payload fails it itself. */

/* A whole control frame (§5.5), from the input or gathered in the assembly buffer,
   before its event (ev: its payload): a reply owed to it is queued first, so input
   never has to wait for it here (only the allocator or the RNG can fail it, held room
   or not); a close's code and reason are checked, and go into the event. */
static ws_result ws__control(ws_conn *c, ws_event *ev) {
    const unsigned char *d = (const unsigned char *)ev->data;
    size_t n = ev->len;
    unsigned op = c->ws__f.opcode;
    ev->type = op == WS_OP_PING ? WS_EV_PING : op == WS_OP_PONG ? WS_EV_PONG : WS_EV_CLOSE;
    if (op == WS_OP_PING) {
        /* §5.5.2: answer with the same payload, even after our close went out: only a
           received close ends pongs, and §5.5.1 only ends data frames after ours. Every
           ping's header held room for its pong (ws__frame_begin). */
        c->ws__held = 0;
        return ws__queue_frame(c, WS_OP_PONG, 1, d, n);
    } else if (op == WS_OP_PONG) { /* §5.5.3: unsolicited ones are fine, and need no answer */
        c->ws__flags &= ~WS__F_PING_OUT;
    } else { /* WS_OP_CLOSE, §5.5.1 and §7.4: a code, then a UTF-8 reason */
        ev->code = WS_CLOSE_NO_STATUS;
        if (n == 1) return WS_ERR_PROTOCOL;
        if (n >= 2) {
            ev->code = (unsigned)d[0] << 8 | d[1];
            if (!ws_close_code_valid(ev->code)) return WS_ERR_PROTOCOL;
            ev->data = d + 2, ev->len = n - 2;
            if (ws_utf8_check(d + 2, n - 2) != WS_OK) return WS_ERR_UTF8;
        }
        /* (CLOSED once its event is over: nothing after a close is read) */
        c->ws__state = WS_STATE_CLOSING;
    }
    return WS_OK;
}

/* After the peer's close event (code: WS_CLOSE_NO_STATUS for an empty close), which
   may have answered with a close of its own (ws_close), or failed the connection: that
   failure marked our close sent and ended the connection, so no echo and no second
   ending follow, and ws_conn_feed returns it. */
static ws_result ws__closed(ws_conn *c, unsigned code) {
    ws_result r;
    c->ws__held = 0;
    /* Echo the code (§5.5.1) with ws_close, in the room held since the header; an empty
       close is answered with an empty one, since 1005 must never go on the wire
       (§7.4.1). ws_close's checks pass (the code is valid, our close not sent), and
       it takes CLOSING to CLOSED. Only the allocator or the RNG can fail it. */
    if (!(c->ws__flags & WS__F_SENT_CLOSE) &&
        (r = ws_close(c, code == WS_CLOSE_NO_STATUS ? 0 : code, 0, 0)) != WS_OK)
        return r;
    /* Both close frames have gone their way (§7.1.4). The server closes the
       transport first (§7.1.1), once its last bytes are written; a client waits
       for that; our close is sent now, if it was not before. (A ws_close from the
       event, or the echo, did all this already.) */
    if (c->ws__state != WS_STATE_CLOSED) ws__end(c, WS_STATE_CLOSED, WS__F_SENT_CLOSE);
    ws__in_release(c); /* a message being assembled is dropped */
    return WS_OK;
}

/* The event that hands the application a whole message (WS_EV_MESSAGE) or, streaming,
   the next piece of one (WS_EV_FRAGMENT, fin on its last); the caller fills in opcode,
   data, len and fin. */
static void ws__message_event(const ws_conn *c, ws_event *ev) {
    ws__event_init(ev, (ws_event_type)(WS_EV_MESSAGE + (c->ws__flags / WS__F_STREAMING & 1)));
}

/* Whether the text arriving breaks UTF-8 (the caller fails with 1007): it is checked as
   it comes, so bad UTF-8 fails on the frame that holds it (§8.1); `last`: the message
   must also end on a whole code point. */
static int ws__bad_text(ws_conn *c, const unsigned char *p, size_t n, int last) {
    /* (bit operations, not || and ?: one failure path; the state is 0 on a whole code
       point, as ws_utf8_done says) */
    return c->ws__msg_op == WS_OP_TEXT &&
           (ws_utf8_feed(&c->ws__utf8, p, n) | (int)(c->ws__utf8.state & (uint32_t)-last)) != 0;
}

#ifndef WS_NO_DEFLATE
/* An inflated message, or the next piece of one, handed over as ws__payload does. */
static void ws__deliver(ws_conn *c, const void *data, size_t n, int last) {
    ws_event ev;
    ws__message_event(c, &ev);
    ev.opcode = (ws_opcode)c->ws__msg_op, ev.data = data, ev.len = n;
    ev.fin = last && (c->ws__flags & WS__F_STREAMING);
    ws__emit(c, &ev);
}

/* n bytes of a compressed message's payload (RFC 7692 §7.2.2), inflated as they come,
   with 00 00 ff ff appended after the last frame's. The inflated bytes take the path an
   uncompressed message's take: text checked as it comes (1007 on the frame whose
   inflated bytes hold the fault), then assembled up to max_message (past it: 1009, the
   work done bounded by the limit) or, streaming, handed over a buffer at a time.
   Corrupt data fails with 1007. What follows a final block (BFINAL, §7.2.3.4: a sender
   that flushes that way adds the header of an empty stored block, which our appended
   tail would complete) is not part of the message and is skipped. */
static ws_result ws__inflate_payload(ws_conn *c, const unsigned char *p, size_t n, int last) {
    static const unsigned char tail[4] = {0, 0, 0xff, 0xff};
    ws_inflater *inf = ws__pmd_inflater(c);
    int streaming = (c->ws__flags & WS__F_STREAMING) != 0, pass;
    size_t piece = c->ws__flags & WS__F_IN_FIXED ? c->ws__in_cap : 4096;
    if (!inf) return ws__fail_close(c, WS_ERR_NOMEM);
    ws_inflate_set_limit(inf, streaming ? 0 : c->ws__max_message);
    for (pass = 0; pass <= last; pass++) {
        const unsigned char *in = pass ? tail : p;
        size_t left = pass ? sizeof tail : n;
        for (;;) {
            size_t used = 0, got = 0, room;
            unsigned char *dst;
            ws_result r;
            /* room: streaming, a piece of the assembly buffer; else the rest of it,
               grown (doubling) when full, up to max_message */
            if (streaming ? ws__in_reserve(c, piece, piece) != WS_OK
                          : c->ws__in_len == c->ws__in_cap && c->ws__in_len < c->ws__max_message &&
                                ws__in_reserve(c, c->ws__in_len + 1, c->ws__max_message) != WS_OK)
                return ws__fail_close(c, WS_ERR_NOMEM);
            room = streaming ? piece : WS__MIN(c->ws__in_cap, c->ws__max_message) - c->ws__in_len;
            dst = c->ws__in + c->ws__in_len;
            r = ws_inflate(inf, in, left, &used, dst, room, &got);
            in += used, left -= used;
            if (got && ws__bad_text(c, dst, got, 0)) return ws__fail_close(c, WS_ERR_UTF8);
            if (streaming && got) {
                ws__deliver(c, dst, got, 0);
                if (c->ws__state == WS_STATE_CLOSED) return (ws_result)c->ws__error;
            } else {
                c->ws__in_len += got;
            }
            if (r == WS_NEED_MORE || r == WS_OK) break;
            if (r == WS_OUT_FULL && (got || used)) continue;
            if (r == WS_ERR_TOO_BIG || r == WS_OUT_FULL) /* past max_message, or no room */
                return ws__fail_close(c, WS_ERR_TOO_BIG);
            return ws__fail_close(c, r == WS_ERR_NOMEM ? r : WS_ERR_DEFLATE);
        }
    }
    if (!last) return WS_OK;
    if (ws__bad_text(c, tail, 0, 1)) return ws__fail_close(c, WS_ERR_UTF8);
    /* §7.1.1: the peer's window carries over to its next message unless it promised not */
    ws_inflate_reset(inf, ws__pmd_keep(c, 0));
    c->ws__flags &= ~(WS__F_IN_MSG | WS__F_IN_DEFLATE);
    if (streaming) ws__deliver(c, tail, 0, 1);
    else ws__deliver(c, c->ws__in, c->ws__in_len, 1);
    ws__in_release(c);
    return WS_OK;
}
#endif /* WS_NO_DEFLATE */

/* n bytes of the current frame's payload (n may be 0: an empty frame, or a header that
   ended the input). Text is checked as it comes, so bad UTF-8 fails on the frame that
   holds it (§8.1). What must be whole before it is handed over is gathered at the end
   of the assembly buffer: a message (unless streaming, or it is all right here), and a
   control frame split between reads, after the message being assembled and taken off it
   when handled. */
static ws_result ws__payload(ws_conn *c, unsigned char *p, size_t n) {
    size_t limit = c->ws__max_message;
    ws_event ev;
    ws_result r = WS_OK;
    int last, gather;
    /* Frames to a server are masked, frames to a client never (§5.1, ws__frame_begin). */
    if (c->ws__role == WS_ROLE_SERVER) c->ws__phase = (unsigned char)ws_mask(p, n, c->ws__f.key, c->ws__phase);
    c->ws__f.len -= n;
    last = c->ws__f.len == 0;
    if (c->ws__f.opcode & 8) {
        gather = n != c->ws__ctrl_len;
        limit = c->ws__in_len + n + (size_t)c->ws__f.len; /* its own room, no more */
    } else {
        last &= c->ws__f.fin;
#ifndef WS_NO_DEFLATE
        if (c->ws__flags & WS__F_IN_DEFLATE) return ws__inflate_payload(c, p, n, last);
#endif
        if (ws__bad_text(c, p, n, last)) {
            r = WS_ERR_UTF8;
            goto fail;
        }
        if (last) c->ws__flags &= ~WS__F_IN_MSG;
        gather = !(c->ws__flags & WS__F_STREAMING) && !(last && c->ws__in_len == 0);
        if (!gather && !n && !last) return WS_OK; /* streaming: no piece to hand over */
    }
    if (gather) {
        size_t k;
        if (n) {
            if (ws__in_reserve(c, c->ws__in_len + n, limit) != WS_OK) {
                r = WS_ERR_NOMEM;
                goto fail;
            }
            WS_MEMCPY(c->ws__in + c->ws__in_len, p, n);
            c->ws__in_len += n;
        }
        if (!last) return WS_OK;
        k = c->ws__f.opcode & 8 ? c->ws__ctrl_len : c->ws__in_len;
        p = c->ws__in + (c->ws__in_len -= k), n = k;
    }
    /* One event hands it over: a control frame's (after the reply it is owed), or a
       message or the next piece of one */
    ws__message_event(c, &ev);
    ev.data = p, ev.len = n;
    if (c->ws__f.opcode & 8) {
        if ((r = ws__control(c, &ev)) != WS_OK) goto fail;
    } else {
        ev.opcode = (ws_opcode)c->ws__msg_op;
        ev.fin = last & ((c->ws__flags & WS__F_STREAMING) != 0); /* on the last piece, streaming */
    }
    ws__emit(c, &ev);
    if (c->ws__f.opcode == WS_OP_CLOSE && (r = ws__closed(c, ev.code)) != WS_OK) goto fail;
    /* Empty unless a message is being assembled. None to release, the usual case, when
       every message came whole in the input: no call per message for it. */
    if (last && !c->ws__in_len && c->ws__in) ws__in_release(c);
    return WS_OK;
fail:
    return ws__fail_close(c, r);
}

/* The header just decoded into c->ws__f: WS_WOULD_BLOCK leaves it unread. */
static ws_result ws__frame_begin(ws_conn *c) {
    const ws_frame *f = &c->ws__f;
    unsigned op = f->opcode;
    /* RFC 7692 §6.1: with permessage-deflate, RSV1 marks a compressed message on its first
       frame; on a continuation or a control frame, or with nothing agreed, it is an error. */
    unsigned rsv = (c->ws__flags & WS__F_PMD) && (op == WS_OP_TEXT || op == WS_OP_BINARY) ? 4 : 0;
    /* ws_frame_check's rules, in place (24 B less Thumb than the call): frames to a
       server masked, to a client not (§5.1; masked is 0 or 1, WS_ROLE_SERVER is 1) */
    if ((f->rsv & ~rsv) || f->masked != c->ws__role) return WS_ERR_PROTOCOL;
    if (op & 8) {
        /* The reply this frame asks for (a pong with its payload, §5.5.2; a close
           echoing the code, §5.5.1) needs queue room: until there is some, read no
           further (nothing taken, nothing changed); from here on, hold it. */
        size_t len = (size_t)f->len; /* <= 125 (ws_frame_decode) */
        size_t reply = op == WS_OP_PING ? 2 + len
                     : op == WS_OP_CLOSE && !(c->ws__flags & WS__F_SENT_CLOSE)
                     ? (len >= 2 ? 4 : 2) : 0;
        if (reply) {
            if (c->ws__role == WS_ROLE_CLIENT) reply += 4; /* the mask key */
            if (c->ws__out_tail - c->ws__out_head > c->ws__max_queue - reply) {
                c->ws__flags |= WS__F_STALLED;
                return WS_WOULD_BLOCK;
            }
            c->ws__held = (unsigned char)reply;
        }
        c->ws__ctrl_len = (unsigned char)len;
    } else {
        /* §5.4: a continuation only inside a message, a new one only outside (no nesting) */
        if (!op != !!(c->ws__flags & WS__F_IN_MSG)) return WS_ERR_PROTOCOL;
        if (op) {
            c->ws__msg_op = (unsigned char)op;
            c->ws__utf8.state = 0;
            c->ws__flags = (c->ws__flags | WS__F_IN_MSG) & ~WS__F_IN_DEFLATE;
            if (f->rsv & 4) c->ws__flags |= WS__F_IN_DEFLATE;
        }
        /* The limit is checked on the declared length, before any byte is buffered
           (§10.4); a compressed message's is its inflated size, checked as it inflates. */
        if (!(c->ws__flags & (WS__F_STREAMING | WS__F_IN_DEFLATE)) &&
            f->len > c->ws__max_message - c->ws__in_len)
            return WS_ERR_TOO_BIG;
    }
    c->ws__phase = 0;
    return WS_OK;
}

#if !WS_SMALL
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
    ws_event_fn fn = c->ws__on_event;
    ws_event ev; /* built once: only opcode, data and len differ from message to message */
    ws__message_event(c, &ev);
    ev.fin = ev.type == WS_EV_FRAGMENT; /* a message's only piece is its last */
    c->ws__flags |= WS__F_IN_EVENT;     /* ws__emit's scope, once for the run */
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
            r = ws__fail_close(c, WS_ERR_UTF8);
            break;
        }
        ev.opcode = (ws_opcode)(b0 & 0x0f), ev.data = data, ev.len = len;
        if (fn) fn(c, &ev, c->ws__user);
        if (c->ws__state == WS_STATE_CLOSED) break;
    }
    ws__event_done(c);
    *pp = p;
    return r;
}
#endif

static ws_result ws__frames(ws_conn *c, unsigned char **pp, unsigned char *end) {
    unsigned char *p = *pp;
    ws_result r = WS_OK;
    c->ws__flags &= ~WS__F_STALLED;
    while (p < end) {
        size_t k;
        /* §5.5.1: after a close frame nothing more is read, nor after a failure (the
           error stays in r) */
        if (c->ws__state == WS_STATE_CLOSED) {
            p = end;
            break;
        }
        if (!c->ws__f.len) { /* no payload arriving: the next header */
            size_t had = c->ws__hdr_len, take;
            int n;
#if !WS_SMALL
            if (!had && !(c->ws__flags & WS__F_IN_MSG)) {
                unsigned char *from = p;
                r = ws__small_messages(c, &p, end);
                if (p != from) continue; /* the loop's checks again, then the next frame */
            }
            if (had == 0) { /* the header is usually whole in the input: decoded there */
                n = ws_frame_decode(p, (size_t)(end - p), &c->ws__f);
                take = n > 0 ? (size_t)n : 0;
                if (n == WS_NEED_MORE) WS_MEMCPY(c->ws__hdr, p, take = (size_t)(end - p));
            } else
#endif
            { /* a header split between reads (compact: every header) is gathered in
                 ws__hdr, 14 bytes at most */
                take = WS__MIN((size_t)(end - p), WS_MAX_HEADER - had);
                WS_MEMCPY(c->ws__hdr + had, p, take);
                n = ws_frame_decode(c->ws__hdr, had + take, &c->ws__f);
                if (n > 0) take = (size_t)n - had;
            }
            /* A header not yet whole is kept in ws__hdr; one that must wait for queue
               room (WS_WOULD_BLOCK) stays unread. Either way no payload follows yet,
               though the length may have been decoded. */
            if (n == WS_NEED_MORE || (r = n < 0 ? WS_ERR_PROTOCOL : ws__frame_begin(c)) == WS_WOULD_BLOCK) {
                c->ws__f.len = 0;
                if (n == WS_NEED_MORE) c->ws__hdr_len = (unsigned char)(had + take), p += take;
                break;
            }
            if (r != WS_OK) {
                r = ws__fail_close(c, r);
                continue;
            }
            c->ws__hdr_len = 0;
            p += take;
        }
        /* The payload, as much as is here: maybe none yet (a header that ended the
           input), maybe none at all (an empty frame completes now; its events get an
           empty string, never NULL). One hand-over for every byte of every frame. */
        k = (size_t)WS__MIN((uint64_t)(end - p), c->ws__f.len);
        r = ws__payload(c, p, k);
        p += k;
    }
    *pp = p;
    return r;
}

WSDEF ws_result ws_conn_feed(ws_conn *c, void *data, size_t len, size_t *consumed) {
    unsigned char *p = (unsigned char *)data, *end;
    ws_result r = WS_OK;
    size_t ignored;
    if (!consumed) consumed = &ignored; /* the count is optional */
    if (c->ws__flags & WS__F_IN_EVENT) { /* from a callback: the input being read is not done */
        *consumed = 0;
        return WS_ERR_STATE;
    }
    if (c->ws__error) {
        *consumed = len;
        return (ws_result)c->ws__error;
    }
    if (len) {
        end = p + len;
#ifndef WS_NO_HANDSHAKE
        if (c->ws__state == WS_STATE_CONNECTING) r = ws__hs_feed(c, &p, end);
#endif
        if (r == WS_OK && c->ws__state != WS_STATE_CONNECTING) r = ws__frames(c, &p, end);
    }
    *consumed = (size_t)(p - (unsigned char *)data);
    return r == WS_OK && c->ws__error ? (ws_result)c->ws__error : r;
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
    /* A reply may fit now: worth feeding again. And when the peer reads, the wait for it
       starts over. */
    c->ws__flags &= ~(WS__F_STALLED | (n ? WS__F_WRITE_TIMER : 0u));
    c->ws__out_head += n;
    if (c->ws__out_head == c->ws__out_tail) {
        c->ws__out_head = c->ws__out_tail = 0;
        /* A small queue that frames go through is kept for the next reply (no malloc
           per echo) until a tick finds it empty; a large one, or one that held only the
           handshake, goes at once. */
        if (c->ws__out_cap > WS__KEEP_QUEUE || !(c->ws__flags & WS__F_WARM)) ws__out_release(c);
    }
}

#ifndef WS_NO_DEFLATE
/* One frame of a compressed message (RFC 7692 §7.2.1): the payload deflated with a sync
   flush straight into the queue, after room for the longest header; on the message's
   last frame the 00 00 ff ff that ends the flush removed; then the header (RSV1 on the
   first frame only, §6) written in front and the payload moved up to it. Room for the
   worst case (stored blocks) and a client's masking key are taken before the deflater
   runs, so WS_WOULD_BLOCK, WS_ERR_TOO_BIG and WS_ERR_RNG leave its state as it was and
   nothing queued, as for any send. *plain (a whole message only): nothing was
   queued because the message would not get smaller and nothing forces the compressed
   form (with context takeover the deflater has already taken it in, so it must go). */
static ws_result ws__queue_deflated(ws_conn *c, unsigned opcode, int fin, int first,
                                    const unsigned char *data, size_t len, int *plain) {
    size_t bound = len > (size_t)-1 / 2 ? (size_t)-1 : WS_DEFLATE_BOUND(len), n = 0, used = 0, h;
    int keep = ws__pmd_keep(c, 1);
    unsigned char *dst;
    ws_deflater *d;
    ws_frame f;
    ws_result r;
    if (bound > (size_t)-1 - WS_MAX_HEADER) return WS_ERR_TOO_BIG;
    r = ws__reserve(c, WS_MAX_HEADER + bound, &dst);
    if (r != WS_OK) return r;
    f.masked = c->ws__role == WS_ROLE_CLIENT;
    if (f.masked && c->ws__rng(c->ws__rng_ctx, f.key, 4) != 0) return WS_ERR_RNG;
    if (!(d = ws__pmd_deflater(c))) return WS_ERR_NOMEM;
    r = ws_deflate(d, data, len, &used, dst + WS_MAX_HEADER, bound, &n, WS_DEFLATE_SYNC);
    if (r != WS_OK || n < 4) /* the bound held in every test: say so loudly if not */
        return ws__fail_close(c, WS_ERR_INTERNAL);
    if (fin) {
        n -= 4;
        ws_deflate_reset(d, keep);
        if (plain && !keep && n >= len) { /* not smaller: the message goes as it is */
            *plain = 1;
            return WS_OK;
        }
    }
    f.fin = (unsigned char)(fin != 0), f.rsv = (unsigned char)(first ? 4 : 0);
    f.opcode = (unsigned char)(first ? opcode : (unsigned)WS_OP_CONT), f.len = n;
    h = ws_frame_encode(dst, &f);
    WS_MEMMOVE(dst + h, dst + WS_MAX_HEADER, n);
    if (f.masked) ws_mask(dst + h, n, f.key, 0);
    c->ws__out_tail += h + n;
    c->ws__flags |= WS__F_WARM;
    return WS_OK;
}
#endif /* WS_NO_DEFLATE */

static ws_result ws__can_send(const ws_conn *c) {
    /* (set too when the connection failed or is CLOSED: see ws__end's callers) */
    if (c->ws__flags & WS__F_SENT_CLOSE) return WS_ERR_CLOSED;
    if (c->ws__state == WS_STATE_CONNECTING) return WS_ERR_STATE;
    return WS_OK;
}

/* A whole message (ws_send: fin 2) or the next piece of one (ws_send_fragment: fin 1 on
   its last, else 0): the same checks, one frame. */
static ws_result ws__send(ws_conn *c, ws_opcode opcode, const void *data, size_t len, int fin) {
    int cont = c->ws__send_op != 0, plain = 1, whole = fin > 1;
    ws_utf8 v;
    ws_result r = ws__can_send(c);
    v.state = c->ws__send_utf8; /* 0 between messages: a finished one ends on a whole code point */
    if (r != WS_OK) return r;
    if (opcode != WS_OP_TEXT && opcode != WS_OP_BINARY) return WS_ERR_ARG;
    if (cont && whole) return WS_ERR_STATE; /* a message sent in pieces is unfinished */
    if (cont && opcode != c->ws__send_op) return WS_ERR_ARG;
    if (opcode == WS_OP_TEXT && (ws_utf8_feed(&v, data, len) != WS_OK || (fin && !ws_utf8_done(&v))))
        return WS_ERR_UTF8;
#ifndef WS_NO_DEFLATE
    /* Messages under the threshold, ones the queue could never hold compressed, and ones
       without memory for a deflater go as they are: any message may (RFC 7692 §6.1). A
       message sent in pieces is one deflate stream across its frames (§7.2.1), compressed
       or not as its first piece decides; a whole one also goes as it is when that is no
       longer. */
    if (cont ? (c->ws__flags & WS__F_OUT_DEFLATE) != 0
             : (c->ws__flags & WS__F_PMD) && len >= c->ws__pmd_min) {
        int as_is = 0;
        r = ws__queue_deflated(c, opcode, fin, !cont, (const unsigned char *)data, len, whole ? &as_is : 0);
        if (r == WS_OK && !as_is)
            plain = 0, c->ws__flags = fin ? c->ws__flags & ~WS__F_OUT_DEFLATE : c->ws__flags | WS__F_OUT_DEFLATE;
        else if (r != WS_OK && (cont || (r != WS_ERR_TOO_BIG && r != WS_ERR_NOMEM)))
            return r;
    }
#endif
    if (plain) {
        /* WS_OP_CONT (0) for the next piece of a message: the checks above made opcode
           its send_op; the first piece's, or a whole message's, has send_op 0 */
        r = ws__queue_frame(c, (unsigned)opcode - c->ws__send_op, fin, data, len);
        if (r != WS_OK) return r;
    }
    c->ws__send_op = (unsigned char)(fin ? 0 : opcode); /* 0 (WS_OP_CONT): no message in pieces */
    c->ws__send_utf8 = v.state;
    return WS_OK;
}

#if WS_SMALL
WSDEF ws_result ws_send(ws_conn *c, ws_opcode opcode, const void *data, size_t len) {
    return ws__send(c, opcode, data, len, 2);
}
#else
/* ws__send(c, opcode, data, len, 2) spelt out: most messages go this way, and the
   shared form costs small ones about 10% (tests/bench/bench_codec.c, encode rows). */
WSDEF ws_result ws_send(ws_conn *c, ws_opcode opcode, const void *data, size_t len) {
    ws_result r = ws__can_send(c);
    if (r != WS_OK) return r;
    if (opcode != WS_OP_TEXT && opcode != WS_OP_BINARY) return WS_ERR_ARG;
    if (c->ws__send_op) return WS_ERR_STATE;
    if (opcode == WS_OP_TEXT && ws_utf8_check(data, len) != WS_OK) return WS_ERR_UTF8;
#ifndef WS_NO_DEFLATE
    if ((c->ws__flags & WS__F_PMD) && len >= c->ws__pmd_min) {
        int plain = 0;
        r = ws__queue_deflated(c, opcode, 1, 1, (const unsigned char *)data, len, &plain);
        if (!plain && r != WS_ERR_TOO_BIG && r != WS_ERR_NOMEM) return r;
    }
#endif
    return ws__queue_frame(c, opcode, 1, data, len);
}
#endif

WSDEF ws_result ws_send_fragment(ws_conn *c, ws_opcode opcode, const void *data, size_t len,
                                 int fin) {
    return ws__send(c, opcode, data, len, fin != 0);
}

static ws_result ws__send_control(ws_conn *c, unsigned op, const void *data, size_t len) {
    ws_result r = ws__can_send(c);
    if (r != WS_OK) return r;
    if (len > WS_MAX_CONTROL) return WS_ERR_ARG;
    return ws__queue_frame(c, op, 1, data, len);
}

WSDEF ws_result ws_ping(ws_conn *c, const void *data, size_t len) {
    return ws__send_control(c, WS_OP_PING, data, len);
}

WSDEF ws_result ws_pong(ws_conn *c, const void *data, size_t len) {
    return ws__send_control(c, WS_OP_PONG, data, len);
}

WSDEF ws_result ws_close(ws_conn *c, unsigned code, const char *reason, size_t reason_len) {
    unsigned char pl[WS_MAX_CONTROL]; /* the payload: code, then reason */
    ws_result r;
    /* the arguments first; whether anything may be sent, ws__send_control asks */
    if (code ? !ws_close_code_valid(code) : reason_len != 0) return WS_ERR_ARG;
    if (reason_len > WS_MAX_CONTROL - 2 || ws_utf8_check(reason, reason_len) != WS_OK) return WS_ERR_ARG;
    pl[0] = (unsigned char)(code >> 8), pl[1] = (unsigned char)code;
    if (reason_len) WS_MEMCPY(pl + 2, reason, reason_len);
    r = ws__send_control(c, WS_OP_CLOSE, pl, code ? 2 + reason_len : 0); /* as pings go */
    if (r != WS_OK) return r;
    /* OPEN becomes CLOSING; CLOSING without our close means the peer's came (this is its
       WS_EV_CLOSE), and now both have gone their way: CLOSED. */
    ws__end(c, c->ws__state + 1u, WS__F_SENT_CLOSE);
    return WS_OK;
}

/* Whether limit ms have passed since *at, starting the wait now if it has not begun (or
   the clock went back). A wait that starts now is not over: no limit is 0 (each one
   given as 0 takes a default, and the OPEN ones run only with ping_interval set). */
static int ws__due(uint32_t *at, uint32_t now, uint32_t limit) {
    uint32_t since = *at, waited = now - since;
    if (since != WS__NEVER && waited <= 0x7fffffffu) return waited >= limit;
    *at = now;
    return 0;
}

WSDEF void ws_conn_tick(ws_conn *c, uint64_t now_ms) {
    uint32_t now = (uint32_t)now_ms;
    if (now == WS__NEVER) now--;
    if (c->ws__out_tail == 0) ws__out_release(c); /* idle: hold no buffer */
#ifndef WS_NO_DEFLATE
    ws__pmd_release(c, 0);
#endif
    if ((c->ws__flags & WS__F_CLOSE_TIMER) &&
        ws__due(&c->ws__close_at, now, c->ws__end_wait[c->ws__state != WS_STATE_CONNECTING])) {
        /* No handshake, or no answer to our close (§7.1.1); a client that closed cleanly
           just stops waiting for the server to drop the transport. */
        ws__abort(c, WS_ERR_TIMEOUT); /* which stops the timer */
        return;
    }
    if (c->ws__state == WS_STATE_OPEN && c->ws__ping_interval) {
        /* A peer that stopped reading: output that has not moved for the pong timeout
           fails the connection, whether or not the keep-alive ping found room. */
        if (c->ws__out_tail == c->ws__out_head) {
            c->ws__flags &= ~WS__F_WRITE_TIMER;
        } else if (!(c->ws__flags & WS__F_WRITE_TIMER)) {
            c->ws__flags |= WS__F_WRITE_TIMER;
            c->ws__close_at = now;
        } else if (ws__due(&c->ws__close_at, now, c->ws__pong_timeout)) {
            ws__abort(c, WS_ERR_TIMEOUT);
            return;
        }
        /* the pong owed to our ping, or the time for the next ping */
        if (ws__due(&c->ws__ping_at, now,
                    c->ws__flags & WS__F_PING_OUT ? c->ws__pong_timeout : c->ws__ping_interval)) {
            if (c->ws__flags & WS__F_PING_OUT) {
                ws__abort(c, WS_ERR_TIMEOUT);
            } else if (ws_ping(c, 0, 0) == WS_OK) {
                c->ws__flags |= WS__F_PING_OUT;
                c->ws__ping_at = now;
            }
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
static void ws__stream_stash(ws_stream *s, ws_conn *c) {
    size_t n = s->len - s->pos;
    unsigned char *p;
    if (!s->shared || s->in != s->buf) return;
    p = n ? (unsigned char *)ws__alloc(c, n) : NULL;
    if (p) {
        WS_MEMCPY(p, s->buf + s->pos, n);
        s->in = p;
    } else {
        if (n) ws__fail_close(c, WS_ERR_NOMEM);
        n = 0;
    }
    s->pos = 0, s->len = n;
}

/* Write what is queued until the transport would block. 1 if anything moved or the
   transport failed (which aborts the connection), else 0. A connection that hung up has
   dropped its queue and queues nothing more, so ws_conn_output's count says it all. */
static int ws__stream_flush(ws_stream *s, ws_conn *c) {
    const void *out;
    size_t n;
    int moved = 0;
    while ((n = ws_conn_output(c, &out)) > 0) {
        long w = s->io.write(s->io.user, out, WS__MIN(n, (size_t)0x40000000));
        if (w == WS_WOULD_BLOCK) break;
        if (w <= 0 || (size_t)w > n) {
            ws__abort(c, WS_ERR_IO);
            return 1; /* a change the next round will see */
        }
        ws_conn_consume(c, (size_t)w);
        moved = 1;
    }
    return moved;
}

WSDEF ws_result ws_stream_pump(ws_stream *s) {
    ws_conn *c = s->conn;
    int reads = 0, rounds = 0;
    size_t progress = 1; /* then the count the last round fed: kept, not made a flag */
    if (c->ws__flags & WS__F_IN_EVENT) return WS_ERR_STATE; /* as ws_conn_feed */
    /* A round writes, then reads and feeds, and the loop ends only after a write: all the
       replies to one read leave in one write. More rounds only while input waits for
       queue room (a pong or close reply), or to feed what a failed write left, which the
       failed connection drops. */
    for (;;) {
        int wrote = ws__stream_flush(s, c);
        if (!(progress | (size_t)wrote) || ++rounds > 1000) break;
        progress = 0;
        if (s->pos == s->len) { /* all fed */
            if (reads++) break; /* the second time: this call's one read is behind us */
            ws_stream_free(s); /* the stash if any; in the buffer from its start */
            if (ws_conn_wants(c) & WS_WANT_READ) { /* the connection asks, and no EOF yet */
                long got = s->io.read(s->io.user, s->buf, s->cap);
                if (got > 0 && (size_t)got <= s->cap) {
                    s->len = (size_t)got;
                } else if (got == 0) {
                    s->eof = 1;
                    ws_conn_eof(c);
                } else if (got != WS_WOULD_BLOCK) {
                    ws__abort(c, WS_ERR_IO);
                    break;
                }
            }
        }
        if (s->pos < s->len) {
            size_t used;
            ws_result r = ws_conn_feed(c, s->in + s->pos, s->len - s->pos, &used);
            s->pos += used;
            /* failed (every error is below WS_WOULD_BLOCK): the rest is moot */
            if (r < WS_WOULD_BLOCK) s->pos = s->len;
            progress = used;
        }
    }
    ws__stream_stash(s, c);
    return (ws_result)c->ws__error;
}

WSDEF unsigned ws_stream_wants(const ws_stream *s) {
    unsigned w = ws_conn_wants(s->conn); /* no READ after the end of the input (ws_conn_eof) */
    /* No read while the buffer still holds unfed input either. That input waits for
       queue room, or for the next pump when this one stopped at its round limit with the
       queue empty: WANT_WRITE, never 0, which would end a live connection. (A connection
       that wants nothing has dropped its input.) */
    return s->pos < s->len && w ? WS_WANT_WRITE : w;
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
