/* ws_inflate against zlib's inflate (differential; zlib is linked into the fuzz builds
   only). Input: 3 bytes of settings, then a raw DEFLATE stream.
     byte 0: window bits 8 + (b & 7); bit 3: keep the 1-byte output buffer
     byte 1: seed of the input piece sizes;  byte 2: seed of the output buffer size
   Invariants: at window 15, ws_inflate accepts exactly what zlib accepts and gives the
   same bytes (zlib's window is 32 KiB too); at a smaller window it gives a prefix of that
   and fails only for a distance past the window; pieces never change the result; output
   never passes the limit (64 KiB here, so that bombs stay cheap to run). */
#include "fuzz_common.h"
#include <zlib.h>

#define FZ_LIMIT (1u << 16)

typedef struct out_buf {
    unsigned char *p;
    size_t n;
} out_buf;

/* zlib over the whole stream; returns 1 = accepted (ended or wants more), 0 = data error */
static int zlib_ref(const uint8_t *s, size_t n, out_buf *o) {
    z_stream z;
    int r, ok;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, -15) != Z_OK) abort();
    o->p = (unsigned char *)malloc(FZ_LIMIT + 1);
    z.next_in = (unsigned char *)s, z.avail_in = (uInt)n;
    z.next_out = o->p, z.avail_out = FZ_LIMIT + 1;
    r = inflate(&z, Z_SYNC_FLUSH);
    o->n = FZ_LIMIT + 1 - z.avail_out;
    ok = r == Z_OK || r == Z_STREAM_END || r == Z_BUF_ERROR;
    inflateEnd(&z);
    return ok;
}

/* zlib's verdict on s followed by 1 KiB of zeros: 1 if it still accepts. zlib accepts an
   all-zero code-length code at once and fails only after reading HLIT + HDIST lengths
   (all 0, so no end-of-block code); ws_inflate fails at the table. On a stream cut
   before that point zlib still says "more input", and this asks what it says next. */
static int zlib_padded_ok(const uint8_t *s, size_t n) {
    unsigned char *p = (unsigned char *)calloc(n + 1024, 1);
    out_buf o;
    int ok;
    if (n) memcpy(p, s, n);
    ok = zlib_ref(p, n + 1024, &o);
    free(o.p), free(p);
    return ok;
}

static uint32_t rng_next(uint32_t *s) {
    *s ^= *s << 13, *s ^= *s >> 17, *s ^= *s << 5;
    return *s;
}

static ws_result ours(const uint8_t *s, size_t n, unsigned wbits, uint32_t in_seed, uint32_t out_seed,
                      int one_byte, out_buf *o, char *why, size_t why_cap) {
    static unsigned char win[WS_INFLATE_MEM(15)];
    ws_inflater z;
    size_t off = 0, cap;
    unsigned char *ob;
    ws_result r = WS_NEED_MORE;
    o->p = (unsigned char *)malloc(FZ_LIMIT + 8);
    o->n = 0;
    FZ_CHECK(ws_inflate_init(&z, wbits, win, WS_INFLATE_MEM(wbits)) == WS_OK);
    ws_inflate_set_limit(&z, FZ_LIMIT);
    in_seed |= 1, out_seed |= 1;
    cap = one_byte ? 1 : out_seed == 1 ? 70000 : rng_next(&out_seed) % 300 + 1;
    ob = (unsigned char *)calloc(cap, 1); /* exact size: ASan sees any overrun */
    while (r == WS_NEED_MORE && off <= n) {
        size_t len = in_seed == 1 ? n - off : rng_next(&in_seed) % 64 + 1;
        char *piece;
        size_t done = 0;
        if (len > n - off) len = n - off;
        piece = fz_dup(s + off, len);
        do {
            size_t used = 0, got = 0;
            r = ws_inflate(&z, piece + done, len - done, &used, ob, cap, &got);
            FZ_CHECK(used <= len - done && got <= cap);
            memcpy(o->p + o->n, ob, got);
            o->n += got, done += used;
            FZ_CHECK(o->n <= FZ_LIMIT);
        } while (r == WS_OUT_FULL);
        free(piece);
        if (r == WS_NEED_MORE) FZ_CHECK(done == len);
        off += len;
        if (len == 0) break;
    }
    free(ob);
    snprintf(why, why_cap, "%s", ws_inflate_detail(&z));
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    unsigned wbits;
    uint32_t s1, s2;
    const uint8_t *s;
    size_t n;
    out_buf zo, a, b;
    int zok;
    ws_result ra, rb;
    char why[160];
    if (size < 3) return 0;
    wbits = 8 + (data[0] & 7), s1 = data[1], s2 = data[2];
    s = data + 3, n = size - 3;
    zok = zlib_ref(s, n, &zo);

    /* window 15, whole input, roomy output: the same verdict and bytes as zlib */
    ra = ours(s, n, 15, 0, 0, 0, &a, why, sizeof why);
    if (ra == WS_ERR_TOO_BIG) {
        FZ_CHECK(a.n == FZ_LIMIT && zo.n > FZ_LIMIT - 1);
        FZ_CHECK(memcmp(a.p, zo.p, a.n) == 0);
    } else if (ra == WS_ERR_DEFLATE) {
        FZ_CHECK(!zok || zo.n > FZ_LIMIT || !zlib_padded_ok(s, n));
    } else {
        FZ_CHECK(ra == WS_OK || ra == WS_NEED_MORE);
        FZ_CHECK(zok && a.n == zo.n && memcmp(a.p, zo.p, a.n) == 0);
    }

    /* the chosen window, in pieces, into small buffers: same as above, or a strict
       window's refusal */
    rb = ours(s, n, wbits, s1, s2, data[0] & 8, &b, why, sizeof why);
    FZ_CHECK(b.n <= a.n && memcmp(a.p, b.p, b.n) == 0);
    if (rb == WS_ERR_DEFLATE && strstr(why, "window")) FZ_CHECK(wbits < 15);
    else FZ_CHECK(rb == ra && b.n == a.n);
    free(zo.p), free(a.p), free(b.p);
    return 0;
}
