/* ws_deflate round trip: whatever the input, the window, the level, the pieces and the
   flushes, zlib's inflate and ws_inflate (strict at the same window) give the input
   back, and every sync flush ends in 00 00 ff ff (RFC 7692 §7.2.1).
   Input: 4 bytes of settings, then the data.
     byte 0: window bits 8 + (b & 7); bit 3: fast level; bit 4: history reset per message
     byte 1: seed of the piece sizes; byte 2: seed of the output buffer sizes;
     byte 3: message length unit (messages are 1 + seed % (unit * 16) bytes) */
#include "fuzz_common.h"
#include <zlib.h>

static uint32_t rng_next(uint32_t *s) {
    *s ^= *s << 13, *s ^= *s >> 17, *s ^= *s << 5;
    return *s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static unsigned char mem[WS_DEFLATE_MEM(15)], win[WS_INFLATE_MEM(15)];
    ws_deflater d;
    ws_inflater zi;
    z_stream zs;
    unsigned wbits;
    int level, reset;
    uint32_t s1, s2, unit;
    const uint8_t *s;
    size_t n, off = 0;
    unsigned char *c, *o, *zo;
    if (size < 4) return 0;
    wbits = 8 + (data[0] & 7), level = data[0] & 8 ? WS_DEFLATE_FAST : WS_DEFLATE_DEFAULT;
    reset = data[0] & 16, s1 = data[1] | 1, s2 = data[2] | 1, unit = data[3] + 1u;
    s = data + 4, n = size - 4;
    FZ_CHECK(ws_deflate_init(&d, wbits, level, mem, WS_DEFLATE_MEM(wbits)) == WS_OK);
    FZ_CHECK(ws_inflate_init(&zi, wbits, win, WS_INFLATE_MEM(wbits)) == WS_OK);
    memset(&zs, 0, sizeof zs);
    FZ_CHECK(inflateInit2(&zs, -(int)wbits) == Z_OK);
    c = (unsigned char *)malloc(2 * n + 512), o = (unsigned char *)malloc(n + 1);
    zo = (unsigned char *)malloc(n + 1);
    do { /* one message per round */
        size_t mlen = 1 + rng_next(&s1) % (unit * 16), moff = 0, cn = 0, on = 0, k;
        int zr;
        if (mlen > n - off) mlen = n - off;
        if (reset) {
            ws_deflate_reset(&d, 0), ws_inflate_reset(&zi, 0);
            inflateEnd(&zs), memset(&zs, 0, sizeof zs);
            FZ_CHECK(inflateInit2(&zs, -(int)wbits) == Z_OK);
        } else {
            ws_inflate_reset(&zi, 1);
        }
        do { /* the message in pieces, the last with a sync flush */
            size_t plen = 1 + rng_next(&s1) % 97, done = 0;
            int last;
            ws_result r;
            if (plen > mlen - moff) plen = mlen - moff;
            last = moff + plen == mlen;
            do {
                size_t used = 0, got = 0, cap = rng_next(&s2) % 200 + 1;
                char *ob = (char *)calloc(cap, 1); /* exact size: ASan sees any overrun */
                r = ws_deflate(&d, s + off + moff + done, plen - done, &used, ob, cap, &got,
                               last ? WS_DEFLATE_SYNC : WS_DEFLATE_NO_FLUSH);
                FZ_CHECK(r == WS_OK || r == WS_OUT_FULL);
                FZ_CHECK(cn + got <= 2 * n + 512); /* stored blocks at worst, and a few headers */
                memcpy(c + cn, ob, got);
                free(ob);
                cn += got, done += used;
            } while (r == WS_OUT_FULL);
            FZ_CHECK(done == plen);
            moff += plen;
        } while (moff < mlen);
        FZ_CHECK(cn >= 4 && memcmp(c + cn - 4, "\x00\x00\xff\xff", 4) == 0);
        /* ours, strict at this window, 1 to 64 bytes out at a time */
        for (k = 0;;) { /* until it has used everything and has nothing more to give */
            size_t used = 0, got = 0, cap = rng_next(&s2) % 64 + 1;
            ws_result r = ws_inflate(&zi, c + k, cn - k, &used, o + on, cap < n + 1 - on ? cap : n + 1 - on, &got);
            k += used, on += got;
            if (r == WS_NEED_MORE) break;
            FZ_CHECK(r == WS_OUT_FULL);
        }
        FZ_CHECK(k == cn && on == mlen && memcmp(o, s + off, mlen) == 0);
        /* zlib: one stream across all messages (or one per message after a reset) */
        zs.next_in = c, zs.avail_in = (uInt)cn, zs.next_out = zo, zs.avail_out = (uInt)(n + 1);
        zr = inflate(&zs, Z_SYNC_FLUSH);
        FZ_CHECK((zr == Z_OK || zr == Z_BUF_ERROR) && zs.avail_in == 0);
        FZ_CHECK(n + 1 - zs.avail_out == mlen && memcmp(zo, s + off, mlen) == 0);
        off += mlen;
    } while (off < n);
    inflateEnd(&zs);
    free(c), free(o), free(zo);
    return 0;
}
