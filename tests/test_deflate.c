/* DEFLATE (RFC 1951) as permessage-deflate (RFC 7692) uses it: ws_inflate and ws_deflate.
   The RFC 7692 §7.2.3 examples byte for byte, fed at every chunking; differential tests
   against zlib (Debian zlib1g-dev, linked into this test only) in both directions;
   hostile streams, each with its RFC 1951 rule; bombs and streams that never end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <zlib.h>

#define WS_IMPLEMENTATION
#include "testutil.h"
#include "deflate_corpus.h"

/* ---- helpers --------------------------------------------------------------------- */

typedef struct buf {
    unsigned char *p;
    size_t n, cap;
} buf;

static void buf_put(buf *b, const void *p, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = (unsigned char *)realloc(b->p, b->cap);
    }
    if (n) memcpy(b->p + b->n, p, n);
    b->n += n;
}

static uint32_t t_rng = 12345;
static uint32_t trand(void) {
    t_rng ^= t_rng << 13, t_rng ^= t_rng >> 17, t_rng ^= t_rng << 5;
    return t_rng;
}

/* Inflate `in` cut at cuts[0..ncuts) (increasing offsets), each piece copied to a heap
   block of exactly its size so ASan sees any read past it, into an output buffer of
   exactly `ocap` bytes (drained after every call). Returns the last result; the output
   is appended to *out. If `piece_rng` is set, pieces are random sizes up to it instead. */
static ws_result inflate_pieces(ws_inflater *z, const unsigned char *in, size_t n,
                                const size_t *cuts, size_t ncuts, size_t piece_rng, size_t ocap,
                                buf *out, size_t *consumed) {
    size_t off = 0, k = 0, total_used = 0;
    unsigned char *o = (unsigned char *)malloc(ocap ? ocap : 1);
    ws_result r = WS_NEED_MORE;
    for (;;) {
        size_t end = piece_rng ? off + 1 + trand() % piece_rng : k < ncuts ? cuts[k] : n;
        size_t len, done = 0;
        unsigned char *piece;
        if (end > n) end = n;
        len = end - off;
        piece = (unsigned char *)malloc(len ? len : 1);
        if (len) memcpy(piece, in + off, len);
        for (;;) {
            size_t used = 0, got = 0;
            r = ws_inflate(z, piece + done, len - done, &used, o, ocap, &got);
            assert_true(used <= len - done);
            assert_true(got <= ocap);
            buf_put(out, o, got);
            done += used;
            if (r != WS_OUT_FULL) break;
        }
        free(piece);
        total_used += done;
        if (r != WS_NEED_MORE) break; /* done, or an error */
        assert_int_equal(done, len);  /* NEED_MORE means every byte was used */
        off = end, k++;
        if (off >= n) break;
    }
    free(o);
    if (consumed) *consumed = total_used;
    return r;
}

static ws_result inflate_all(ws_inflater *z, const unsigned char *in, size_t n, size_t ocap, buf *out) {
    return inflate_pieces(z, in, n, NULL, 0, 0, ocap, out, NULL);
}

/* Deflate `in` in random pieces (up to piece_max bytes) into random output buffer sizes
   (up to out_max), the last piece with `flush`. */
static void deflate_pieces(ws_deflater *d, const unsigned char *in, size_t n, size_t piece_max,
                           size_t out_max, int flush, buf *out) {
    size_t off = 0;
    unsigned char *o = (unsigned char *)malloc(out_max);
    do {
        size_t len = piece_max ? 1 + trand() % piece_max : n;
        int last;
        if (len > n - off) len = n - off;
        last = off + len == n;
        for (;;) {
            size_t used = 0, got = 0, ocap = 1 + trand() % out_max;
            ws_result r = ws_deflate(d, in + off, len, &used, o, ocap, &got,
                                     last ? flush : WS_DEFLATE_NO_FLUSH);
            assert_true(used <= len && got <= ocap);
            buf_put(out, o, got);
            off += used, len -= used;
            if (r == WS_OK) break;
            assert_int_equal(r, WS_OUT_FULL);
        }
        assert_int_equal(len, 0);
    } while (off < n);
    free(o);
}

/* zlib raw deflate with a sync flush at the end */
static void zlib_deflate(const unsigned char *in, size_t n, int level, int strategy, int wbits,
                         int memlevel, buf *out) {
    z_stream s;
    unsigned char o[16384];
    int r;
    memset(&s, 0, sizeof s);
    assert_int_equal(deflateInit2(&s, level, Z_DEFLATED, -wbits, memlevel, strategy), Z_OK);
    s.next_in = (unsigned char *)in, s.avail_in = (uInt)n;
    do {
        s.next_out = o, s.avail_out = sizeof o;
        r = deflate(&s, Z_SYNC_FLUSH);
        assert_true(r == Z_OK || r == Z_BUF_ERROR);
        buf_put(out, o, sizeof o - s.avail_out);
    } while (s.avail_out == 0);
    deflateEnd(&s);
}

/* zlib raw inflate of a whole stream; returns 1 if it decoded without error */
static int zlib_inflate(const unsigned char *in, size_t n, int wbits, buf *out) {
    z_stream s;
    unsigned char o[16384];
    int r;
    memset(&s, 0, sizeof s);
    assert_int_equal(inflateInit2(&s, -wbits), Z_OK);
    s.next_in = (unsigned char *)in, s.avail_in = (uInt)n;
    do {
        s.next_out = o, s.avail_out = sizeof o;
        r = inflate(&s, Z_SYNC_FLUSH);
        buf_put(out, o, sizeof o - s.avail_out);
    } while (r == Z_OK && (s.avail_out == 0 || s.avail_in));
    inflateEnd(&s);
    return r == Z_OK || r == Z_STREAM_END || (r == Z_BUF_ERROR && s.avail_in == 0);
}

static unsigned char g_win[WS_INFLATE_MEM(15)];
static unsigned char g_dmem[WS_DEFLATE_MEM(15)];

static void init_inflater(ws_inflater *z, unsigned bits) {
    assert_int_equal(ws_inflate_init(z, bits, g_win, WS_INFLATE_MEM(bits)), WS_OK);
}

static const unsigned char TAIL[4] = {0x00, 0x00, 0xff, 0xff};

/* ---- RFC 7692 §7.2.3 examples ------------------------------------------------------ */

typedef struct vec {
    const char *name;
    unsigned char bytes[32];
    size_t n;
    ws_result end; /* WS_NEED_MORE after a sync-flushed message, WS_OK after BFINAL */
} vec;

/* Each example as a receiver sees it: the payload plus the 00 00 ff ff that RFC 7692
   §7.2.2 appends. */
static const vec rfc_vectors[] = {
    /* §7.2.3.1: "Hello" in one compressed (fixed Huffman) block */
    {"7.2.3.1", {0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00, 0x00, 0xff, 0xff}, 11, WS_NEED_MORE},
    /* §7.2.3.3: "Hello" in a block with no compression (stored, §3.2.4 of RFC 1951) */
    {"7.2.3.3", {0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00, 0x00, 0x00, 0xff, 0xff},
     15, WS_NEED_MORE},
    /* §7.2.3.4: "Hello" in a block with BFINAL set: the stream ends there */
    {"7.2.3.4", {0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff}, 12, WS_OK},
    /* §7.2.3.5: "He" and "llo" in two blocks of one message */
    {"7.2.3.5",
     {0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00, 0x00, 0x00, 0xff, 0xff},
     17, WS_NEED_MORE},
};

/* Every way to cut the bytes into pieces (all 2^(n-1) of them), with a 1-byte and a
   large output buffer each time. */
static void test_rfc7692_examples_inflate_every_chunking(void **state) {
    size_t v;
    (void)state;
    for (v = 0; v < sizeof rfc_vectors / sizeof *rfc_vectors; v++) {
        const vec *t = &rfc_vectors[v];
        uint32_t mask, masks = 1u << (t->n - 1);
        for (mask = 0; mask < masks; mask++) {
            size_t cuts[32], nc = 0, i, ocap;
            for (i = 1; i < t->n; i++)
                if (mask & (1u << (i - 1))) cuts[nc++] = i;
            for (ocap = 1; ocap <= 64; ocap += 63) {
                ws_inflater z;
                buf out = {0};
                size_t used = 0;
                ws_result r;
                init_inflater(&z, 15);
                r = inflate_pieces(&z, t->bytes, t->n, cuts, nc, 0, ocap, &out, &used);
                assert_int_equal(r, t->end);
                assert_int_equal(out.n, 5);
                assert_memory_equal(out.p, "Hello", 5);
                if (t->end == WS_OK) assert_true(used >= 7 && used <= t->n); /* stops after the final block */
                free(out.p);
            }
        }
    }
}

/* §7.2.3.2: the second "Hello" refers back into the first message (context takeover):
   f2 00 11 00 00 is a literal 'H' and a match of 4 at distance 5. Without the shared
   window the same bytes point before the start of the data. */
static void test_rfc7692_shared_window_inflate(void **state) {
    static const unsigned char m1[] = {0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00, 0x00, 0xff, 0xff};
    static const unsigned char m2[] = {0xf2, 0x00, 0x11, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff};
    uint32_t mask;
    (void)state;
    for (mask = 0; mask < (1u << (sizeof m2 - 1)); mask++) {
        ws_inflater z;
        buf out = {0};
        size_t cuts[16], nc = 0, i;
        for (i = 1; i < sizeof m2; i++)
            if (mask & (1u << (i - 1))) cuts[nc++] = i;
        init_inflater(&z, 15);
        assert_int_equal(inflate_all(&z, m1, sizeof m1, 1, &out), WS_NEED_MORE);
        ws_inflate_reset(&z, 1);
        out.n = 0;
        assert_int_equal(inflate_pieces(&z, m2, sizeof m2, cuts, nc, 0, 1, &out, NULL), WS_NEED_MORE);
        assert_int_equal(out.n, 5);
        assert_memory_equal(out.p, "Hello", 5);
        /* no context takeover: the distance reaches before the message */
        ws_inflate_reset(&z, 0);
        out.n = 0;
        assert_int_equal(inflate_pieces(&z, m2, sizeof m2, cuts, nc, 0, 1, &out, NULL), WS_ERR_DEFLATE);
        assert_non_null(strstr(ws_inflate_detail(&z), "before the start"));
        free(out.p);
    }
}

/* The deflater's side of the same examples: what it writes for "Hello", "He"+"llo" and
   a BFINAL block is byte for byte what the RFC shows. */
static void test_rfc7692_examples_deflate(void **state) {
    static const unsigned char hello[] = {0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00, 0x00, 0xff, 0xff};
    static const unsigned char he[] = {0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff};
    static const unsigned char llo[] = {0xca, 0xc9, 0xc9, 0x07, 0x00, 0x00, 0x00, 0xff, 0xff};
    static const unsigned char final_[] = {0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};
    int level;
    (void)state;
    for (level = WS_DEFLATE_FAST; level <= WS_DEFLATE_DEFAULT; level++) {
        size_t ocap;
        for (ocap = 1; ocap <= 64; ocap += 63) { /* a 1-byte output buffer, and a roomy one */
            ws_deflater d;
            buf out = {0};
            assert_int_equal(ws_deflate_init(&d, 15, level, g_dmem, sizeof g_dmem), WS_OK);
            /* §7.2.3.1 (and §7.2.1: the output ends with 00 00 ff ff, which is stripped) */
            deflate_pieces(&d, (const unsigned char *)"Hello", 5, 1, ocap, WS_DEFLATE_SYNC, &out);
            assert_int_equal(out.n, sizeof hello);
            assert_memory_equal(out.p, hello, sizeof hello);
            /* §7.2.3.5: "He" flushed, then "llo" */
            ws_deflate_reset(&d, 0);
            out.n = 0;
            deflate_pieces(&d, (const unsigned char *)"He", 2, 1, ocap, WS_DEFLATE_SYNC, &out);
            assert_int_equal(out.n, sizeof he);
            assert_memory_equal(out.p, he, sizeof he);
            out.n = 0;
            deflate_pieces(&d, (const unsigned char *)"llo", 3, 1, ocap, WS_DEFLATE_SYNC, &out);
            assert_int_equal(out.n, sizeof llo);
            assert_memory_equal(out.p, llo, sizeof llo);
            /* §7.2.3.4: a BFINAL block. §7.2.1 then appends an empty stored block and strips
               00 00 ff ff, which leaves the RFC's trailing 00. */
            ws_deflate_reset(&d, 0);
            out.n = 0;
            deflate_pieces(&d, (const unsigned char *)"Hello", 5, 2, ocap, WS_DEFLATE_FINISH, &out);
            assert_int_equal(out.n, sizeof final_);
            assert_memory_equal(out.p, final_, sizeof final_);
            free(out.p);
        }
    }
}

/* §7.2.3.2 from the sending side: with context takeover the second "Hello" is one match
   reaching into the first message (4 bytes here, shorter than the RFC's 5, which come
   from a compressor that sends 'H' as a literal), and it inflates only with the history. */
static void test_rfc7692_shared_window_deflate(void **state) {
    ws_deflater d;
    ws_inflater z;
    buf c = {0}, out = {0};
    (void)state;
    assert_int_equal(ws_deflate_init(&d, 15, WS_DEFLATE_DEFAULT, g_dmem, sizeof g_dmem), WS_OK);
    deflate_pieces(&d, (const unsigned char *)"Hello", 5, 0, 64, WS_DEFLATE_SYNC, &c);
    c.n = 0;
    deflate_pieces(&d, (const unsigned char *)"Hello", 5, 0, 64, WS_DEFLATE_SYNC, &c);
    assert_true(c.n - 4 < 5);
    assert_memory_equal(c.p + c.n - 4, TAIL, 4);
    init_inflater(&z, 15);
    assert_int_equal(inflate_all(&z, (const unsigned char *)"\xf2\x48\xcd\xc9\xc9\x07\x00\x00\x00\xff\xff", 11,
                                 64, &out),
                     WS_NEED_MORE);
    ws_inflate_reset(&z, 1);
    out.n = 0;
    assert_int_equal(inflate_all(&z, c.p, c.n, 1, &out), WS_NEED_MORE);
    assert_int_equal(out.n, 5);
    assert_memory_equal(out.p, "Hello", 5);
    ws_inflate_reset(&z, 0);
    assert_int_equal(inflate_all(&z, c.p, c.n, 1, &out), WS_ERR_DEFLATE);
    free(c.p);
    free(out.p);
}

/* An empty message: the deflater writes only the empty stored block (00 00 00 ff ff, so
   the payload after stripping is the single byte 00), every time. */
static void test_empty_messages(void **state) {
    ws_deflater d;
    ws_inflater z;
    int i;
    (void)state;
    assert_int_equal(ws_deflate_init(&d, 15, WS_DEFLATE_DEFAULT, g_dmem, sizeof g_dmem), WS_OK);
    init_inflater(&z, 15);
    for (i = 0; i < 3; i++) {
        buf c = {0}, out = {0};
        deflate_pieces(&d, (const unsigned char *)"", 0, 0, 16, WS_DEFLATE_SYNC, &c);
        assert_int_equal(c.n, 5);
        assert_memory_equal(c.p, "\x00\x00\x00\xff\xff", 5);
        assert_int_equal(inflate_all(&z, c.p, c.n, 1, &out), WS_NEED_MORE);
        assert_int_equal(out.n, 0);
        free(c.p);
        free(out.p);
    }
}

/* ---- differential: zlib -> ws_inflate --------------------------------------------- */

static void check_ws_inflates(const unsigned char *c, size_t cn, const unsigned char *raw, size_t n,
                              unsigned wbits) {
    ws_inflater z;
    buf out = {0};
    size_t ocap = 1 + trand() % (trand() & 1 ? 7 : 70000);
    init_inflater(&z, wbits);
    assert_int_equal(inflate_pieces(&z, c, cn, NULL, 0, 1 + trand() % 5000, ocap, &out, NULL),
                     WS_NEED_MORE);
    assert_int_equal(out.n, n);
    if (n) assert_memory_equal(out.p, raw, n);
    free(out.p);
}

/* zlib at every level and strategy, and every window it can make (9..15), on each kind
   of input, inflated by ws_inflate at the same window in random pieces into random
   output sizes. */
static void test_zlib_to_ws_every_level_strategy_window(void **state) {
    static const int strategies[] = {Z_DEFAULT_STRATEGY, Z_FILTERED, Z_HUFFMAN_ONLY, Z_RLE, Z_FIXED};
    static const size_t sizes[] = {0, 1, 300, 20000};
    int kind, level, s, w;
    size_t si;
    (void)state;
    for (kind = 0; kind < 4; kind++)
        for (si = 0; si < sizeof sizes / sizeof *sizes; si++) {
            unsigned char *raw = dc_make(kind, sizes[si], (uint32_t)(kind * 7 + si + 1));
            for (level = 0; level <= 9; level++)
                for (s = 0; s < 5; s++)
                    for (w = 9; w <= 15; w++) {
                        buf c = {0};
                        if (sizes[si] > 1000 && (w != 9 && w != 12 && w != 15)) continue;
                        zlib_deflate(raw, sizes[si], level, strategies[s], w, 1 + (level + s + w) % 9, &c);
                        check_ws_inflates(c.p, c.n, raw, sizes[si], (unsigned)w);
                        free(c.p);
                    }
            free(raw);
        }
}

/* Large inputs (up to 3 MiB), so every window position, block boundary and the window
   ring wrap many times. */
static void test_zlib_to_ws_large(void **state) {
    static const size_t sizes[] = {1 << 20, 3 << 20};
    int kind;
    (void)state;
    for (kind = 0; kind < 4; kind++) {
        size_t n = sizes[kind & 1];
        unsigned char *raw = dc_make(kind, n, 99 + (uint32_t)kind);
        int level = kind == 3 ? 1 : kind * 3;
        unsigned w = (unsigned)(15 - kind);
        buf c = {0};
        zlib_deflate(raw, n, level, Z_DEFAULT_STRATEGY, (int)w, 8, &c);
        check_ws_inflates(c.p, c.n, raw, n, w);
        free(c.p);
        free(raw);
    }
}

/* ---- differential: ws_deflate -> zlib and ws_inflate -------------------------------- */

static void check_both_inflate(const unsigned char *c, size_t cn, const unsigned char *raw, size_t n,
                               unsigned wbits) {
    buf zo = {0};
    assert_true(zlib_inflate(c, cn, (int)wbits, &zo));
    assert_int_equal(zo.n, n);
    if (n) assert_memory_equal(zo.p, raw, n);
    free(zo.p);
    /* our inflater at the same window is strict: any distance past 2^wbits fails */
    check_ws_inflates(c, cn, raw, n, wbits);
}

/* Every level and window 8..15 (8 included, which zlib cannot produce), pieces of random
   size in and out. */
static void test_ws_to_zlib_every_level_window(void **state) {
    static const size_t sizes[] = {0, 1, 2, 3, 257, 4000, 70000, 300000};
    int kind, level;
    unsigned w;
    size_t si;
    (void)state;
    for (kind = 0; kind < 4; kind++)
        for (si = 0; si < sizeof sizes / sizeof *sizes; si++) {
            unsigned char *raw = dc_make(kind, sizes[si], (uint32_t)(kind * 11 + si + 5));
            for (level = WS_DEFLATE_FAST; level <= WS_DEFLATE_DEFAULT; level++)
                for (w = 8; w <= 15; w++) {
                    ws_deflater d;
                    buf c = {0};
                    if (sizes[si] > 100000 && w != 8 && w != 15) continue;
                    assert_int_equal(ws_deflate_init(&d, w, level, g_dmem, WS_DEFLATE_MEM(w)), WS_OK);
                    deflate_pieces(&d, raw, sizes[si], 1 + trand() % 9000, 1 + trand() % 3000,
                                   WS_DEFLATE_SYNC, &c);
                    assert_true(c.n >= 4 && c.n <= WS_DEFLATE_BOUND(sizes[si]));
                    assert_memory_equal(c.p + c.n - 4, TAIL, 4); /* RFC 7692 §7.2.1 */
                    check_both_inflate(c.p, c.n, raw, sizes[si], w);
                    free(c.p);
                }
            free(raw);
        }
}

/* A few MiB in one stream at each level, with the last block final (WS_DEFLATE_FINISH). */
static void test_ws_to_zlib_large_finish(void **state) {
    int kind;
    (void)state;
    for (kind = 0; kind < 4; kind++) {
        size_t n = (size_t)(kind == 0 ? 3 : 1) << 20;
        unsigned char *raw = dc_make(kind, n, 1234 + (uint32_t)kind);
        int level = kind & 1 ? WS_DEFLATE_FAST : WS_DEFLATE_DEFAULT;
        ws_deflater d;
        ws_inflater z;
        buf c = {0}, out = {0};
        assert_int_equal(ws_deflate_init(&d, 15, level, g_dmem, sizeof g_dmem), WS_OK);
        deflate_pieces(&d, raw, n, 70000, 100000, WS_DEFLATE_FINISH, &c);
        if (kind == 3) assert_true(c.n < n + n / 1000); /* incompressible: stored blocks */
        else assert_true(c.n < n / 2);
        {
            buf zo = {0};
            assert_true(zlib_inflate(c.p, c.n, 15, &zo));
            assert_int_equal(zo.n, n);
            assert_memory_equal(zo.p, raw, n);
            free(zo.p);
        }
        init_inflater(&z, 15);
        assert_int_equal(inflate_all(&z, c.p, c.n, 65536, &out), WS_OK); /* BFINAL seen */
        assert_int_equal(out.n, n);
        assert_memory_equal(out.p, raw, n);
        free(c.p);
        free(out.p);
        free(raw);
    }
}

/* Thousands of small messages with context takeover (RFC 7692 §7.2.3.2): one deflater,
   one inflater, history carried across every message; zlib inflates the concatenation as
   one stream. Then the same with no context takeover: every message inflates alone. */
static void test_context_takeover_thousands_of_messages(void **state) {
    int takeover;
    (void)state;
    for (takeover = 1; takeover >= 0; takeover--) {
        unsigned w;
        for (w = 8; w <= 15; w += 7) {
            ws_deflater d;
            ws_inflater z;
            buf all = {0}, rawall = {0};
            unsigned char *raw = dc_make(1, 400000, 77);
            size_t off = 0, m;
            assert_int_equal(ws_deflate_init(&d, w, takeover ? WS_DEFLATE_DEFAULT : WS_DEFLATE_FAST,
                                             g_dmem, WS_DEFLATE_MEM(w)),
                             WS_OK);
            init_inflater(&z, w);
            for (m = 0; m < 3000; m++) {
                size_t len = trand() % 260;
                buf c = {0}, out = {0};
                if (off + len > 400000) off = 0;
                if (!takeover) ws_deflate_reset(&d, 0), ws_inflate_reset(&z, 0);
                else ws_inflate_reset(&z, 1);
                deflate_pieces(&d, raw + off, len, 1 + trand() % 100, 1 + trand() % 300,
                               WS_DEFLATE_SYNC, &c);
                assert_memory_equal(c.p + c.n - 4, TAIL, 4);
                /* as permessage-deflate sends it: without the tail, added back on receipt */
                c.n -= 4;
                buf_put(&c, TAIL, 4);
                assert_int_equal(inflate_pieces(&z, c.p, c.n, NULL, 0, 1 + trand() % 40,
                                                1 + trand() % 64, &out, NULL),
                                 WS_NEED_MORE);
                assert_int_equal(out.n, len);
                if (len) assert_memory_equal(out.p, raw + off, len);
                if (!takeover) { /* alone, by zlib */
                    buf zo = {0};
                    assert_true(zlib_inflate(c.p, c.n, (int)w, &zo));
                    assert_int_equal(zo.n, len);
                    free(zo.p);
                }
                buf_put(&all, c.p, c.n);
                buf_put(&rawall, raw + off, len);
                off += len;
                free(c.p);
                free(out.p);
            }
            if (takeover) {
                buf zo = {0};
                assert_true(zlib_inflate(all.p, all.n, (int)w, &zo));
                assert_int_equal(zo.n, rawall.n);
                assert_memory_equal(zo.p, rawall.p, rawall.n);
                free(zo.p);
            }
            free(all.p);
            free(rawall.p);
            free(raw);
        }
    }
}

/* WS_DEFLATE_BOUND(n) is enough room for one call with a sync flush, whatever the data:
   random bytes (stored blocks, the worst case), at the smallest and largest window. */
static void test_deflate_bound(void **state) {
    static const size_t sizes[] = {0, 1, 5, 1017, 1018, 1019, 4096, 100000, 300001};
    size_t si;
    (void)state;
    for (si = 0; si < sizeof sizes / sizeof *sizes; si++) {
        unsigned char *raw = dc_make(3, sizes[si], 31 + (uint32_t)si);
        size_t cap = WS_DEFLATE_BOUND(sizes[si]);
        unsigned char *c = (unsigned char *)malloc(cap);
        unsigned w;
        int level;
        for (w = 8; w <= 15; w += 7)
            for (level = WS_DEFLATE_FAST; level <= WS_DEFLATE_DEFAULT; level++) {
                ws_deflater d;
                size_t used, got;
                assert_int_equal(ws_deflate_init(&d, w, level, g_dmem, WS_DEFLATE_MEM(w)), WS_OK);
                assert_int_equal(ws_deflate(&d, raw, sizes[si], &used, c, cap, &got, WS_DEFLATE_SYNC), WS_OK);
                assert_int_equal(used, sizes[si]);
                check_both_inflate(c, got, raw, sizes[si], w);
            }
        free(c);
        free(raw);
    }
}

/* Window 8 (RFC 7692 allows it; zlib cannot make it): a repetitive input whose obvious
   matches are 300 bytes back must come out without any distance over 256, which our
   inflater at 8 bits checks strictly; at 9 bits the distance is used. */
static void test_window_8_never_reaches_past_256(void **state) {
    unsigned char raw[6000];
    size_t i;
    unsigned w;
    (void)state;
    dc_rng_state = 5;
    dc_random(raw, 300);
    for (i = 300; i < sizeof raw; i++) raw[i] = raw[i - 300];
    for (w = 8; w <= 9; w++) {
        int level;
        for (level = WS_DEFLATE_FAST; level <= WS_DEFLATE_DEFAULT; level++) {
            ws_deflater d;
            buf c = {0};
            assert_int_equal(ws_deflate_init(&d, w, level, g_dmem, WS_DEFLATE_MEM(w)), WS_OK);
            deflate_pieces(&d, raw, sizeof raw, 500, 500, WS_DEFLATE_SYNC, &c);
            check_both_inflate(c.p, c.n, raw, sizeof raw, w);
            if (w == 8) assert_true(c.n > 5000); /* no match could reach back 300 */
            else assert_true(c.n < 1000);        /* at 9 bits it does */
            free(c.p);
        }
    }
}

/* ---- hostile input --------------------------------------------------------------- */

/* A bit writer for hand-made streams (RFC 1951 §3.1.1: first bit in the lowest bit;
   Huffman codes most significant bit first). */
typedef struct bw {
    unsigned char b[256];
    size_t n;
    unsigned bit;
} bw;

static void bw_put(bw *w, unsigned v, unsigned nbits) { /* an integer, LSB first */
    while (nbits--) {
        if (w->bit == 0) w->b[w->n++] = 0;
        w->b[w->n - 1] |= (unsigned char)((v & 1) << w->bit);
        v >>= 1, w->bit = (w->bit + 1) & 7;
    }
}
static void bw_code(bw *w, unsigned code, unsigned len) { /* a Huffman code, MSB first */
    while (len--) bw_put(w, (code >> len) & 1, 1);
}
static void bw_sync(bw *w) { /* an empty stored block: 000, pad, 00 00 ff ff (§3.2.4) */
    bw_put(w, 0, 3);
    bw_put(w, 0, (8 - w->bit) & 7);
    bw_put(w, 0, 16), bw_put(w, 0xffff, 16);
}

/* A dynamic block header: HLIT/HDIST/HCLEN, the code-length code lengths given in
   clen_lens (in symbol order 0..18), then the given code-length symbols (each sent with
   the code implied by clen_lens), as (symbol, extra) pairs. */
static void bw_dynamic(bw *w, unsigned hlit, unsigned hdist, const unsigned char clen_lens[19],
                       const unsigned *syms, size_t nsyms) {
    static const unsigned char order[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};
    unsigned codes[19], count[16] = {0}, next[16], code = 0, i;
    for (i = 0; i < 19; i++) count[clen_lens[i]]++;
    count[0] = 0;
    for (i = 1; i < 16; i++) next[i] = code = (code + count[i - 1]) << 1;
    for (i = 0; i < 19; i++) codes[i] = clen_lens[i] ? next[clen_lens[i]]++ : 0;
    bw_put(w, 0, 1), bw_put(w, 2, 2); /* BFINAL 0, BTYPE 10 */
    bw_put(w, hlit - 257, 5), bw_put(w, hdist - 1, 5), bw_put(w, 19 - 4, 4);
    for (i = 0; i < 19; i++) bw_put(w, clen_lens[order[i]], 3);
    for (i = 0; i < nsyms; i += 2) {
        unsigned s = syms[i];
        bw_code(w, codes[s], clen_lens[s]);
        if (s == 16) bw_put(w, syms[i + 1], 2);
        if (s == 17) bw_put(w, syms[i + 1], 3);
        if (s == 18) bw_put(w, syms[i + 1], 7);
    }
}

/* Inflate a hostile stream at every chunking (all cut points one at a time, and byte by
   byte) and with 1-byte output: always the same error and detail. */
static void expect_error(const unsigned char *in, size_t n, unsigned wbits, int history, ws_result want,
                         const char *detail) {
    size_t cut;
    for (cut = 0; cut <= n + 1; cut++) {
        ws_inflater z;
        buf out = {0};
        ws_result r;
        size_t cuts[1];
        init_inflater(&z, wbits);
        if (history) { /* 300 bytes of earlier history, for distance tests */
            static const unsigned char lit300[] = {0x01, 0x2c, 0x01, 0xd3, 0xfe}; /* stored, LEN 300 */
            unsigned char *m = (unsigned char *)calloc(1, sizeof lit300 + 300 + 5);
            memcpy(m, lit300, sizeof lit300);
            memcpy(m + sizeof lit300 + 300, "\x00\x00\x00\xff\xff", 5);
            m[0] = 0x00; /* BFINAL 0 */
            assert_int_equal(inflate_all(&z, m, sizeof lit300 + 305, 1000, &out), WS_NEED_MORE);
            assert_int_equal(out.n, 300);
            free(m);
            ws_inflate_reset(&z, 1);
            out.n = 0;
        }
        cuts[0] = cut;
        if (cut == n + 1) r = inflate_pieces(&z, in, n, NULL, 0, 1, 1, &out, NULL); /* byte by byte */
        else r = inflate_pieces(&z, in, n, cuts, cut > 0 && cut < n ? 1 : 0, 0, cut % 2 ? 1 : 4096, &out, NULL);
        assert_int_equal(r, want);
        if (detail) assert_non_null(strstr(ws_inflate_detail(&z), detail));
        /* sticky: more input gives the same error */
        {
            size_t used, got;
            unsigned char o[4];
            assert_int_equal(ws_inflate(&z, "\x00", 1, &used, o, sizeof o, &got), want);
            assert_int_equal(got, 0);
        }
        free(out.p);
    }
}

static void test_invalid_block_type(void **state) {
    (void)state;
    /* RFC 1951 §3.2.3: BTYPE 11 is reserved (error) */
    expect_error((const unsigned char *)"\x06\x00", 2, 15, 0, WS_ERR_DEFLATE, "block type");
    expect_error((const unsigned char *)"\x07", 1, 15, 0, WS_ERR_DEFLATE, "block type");
}

static void test_stored_len_nlen_mismatch(void **state) {
    (void)state;
    /* §3.2.4: NLEN is the one's complement of LEN */
    expect_error((const unsigned char *)"\x00\x05\x00\xfa\xfe\x48\x65\x6c\x6c\x6f", 10, 15, 0, WS_ERR_DEFLATE,
                 "LEN");
    expect_error((const unsigned char *)"\x00\x00\x00\x00\x00", 5, 15, 0, WS_ERR_DEFLATE, "LEN");
}

static void test_too_many_codes(void **state) {
    bw w = {{0}, 0, 0};
    (void)state;
    /* §3.2.7: HLIT 5 bits + 257 can say 288, but only 286 literal/length codes exist */
    bw_put(&w, 0, 1), bw_put(&w, 2, 2), bw_put(&w, 31, 5), bw_put(&w, 0, 5), bw_put(&w, 0, 4);
    bw_put(&w, 0, 12);
    expect_error(w.b, w.n, 15, 0, WS_ERR_DEFLATE, "286");
    /* and HDIST 5 bits + 1 can say 32, but only 30 distance codes exist */
    memset(&w, 0, sizeof w);
    bw_put(&w, 0, 1), bw_put(&w, 2, 2), bw_put(&w, 0, 5), bw_put(&w, 31, 5), bw_put(&w, 0, 4);
    bw_put(&w, 0, 12);
    expect_error(w.b, w.n, 15, 0, WS_ERR_DEFLATE, "30 distance");
}

static void test_code_length_code_oversubscribed_or_incomplete(void **state) {
    unsigned char cl[19] = {0};
    bw w = {{0}, 0, 0};
    (void)state;
    /* three 1-bit codes: over-subscribed (§3.2.2 codes must form a prefix code) */
    cl[0] = 1, cl[1] = 1, cl[2] = 1;
    bw_dynamic(&w, 257, 1, cl, NULL, 0);
    expect_error(w.b, w.n, 15, 0, WS_ERR_DEFLATE, "code-length code");
    /* one 2-bit code alone: incomplete, which zlib refuses for this code too */
    memset(cl, 0, sizeof cl), memset(&w, 0, sizeof w);
    cl[8] = 2;
    bw_dynamic(&w, 257, 1, cl, NULL, 0);
    expect_error(w.b, w.n, 15, 0, WS_ERR_DEFLATE, "code-length code");
}

/* Code-length code: 0..15 and 16..18 all 5 bits (19 codes of 5 bits: incomplete but we
   only need a valid one), so use lengths 1 for '8' and '0'... simpler: symbols 0, 8, 16,
   17, 18 and 1 (six codes): lengths 3,3,3,3,2,2 fill the Kraft sum exactly. */
static void std_clens(unsigned char cl[19]) {
    memset(cl, 0, 19);
    cl[0] = 3, cl[8] = 3, cl[16] = 3, cl[17] = 3, cl[18] = 2, cl[1] = 2;
}

static void test_repeat_past_end_and_without_previous(void **state) {
    unsigned char cl[19];
    bw w = {{0}, 0, 0};
    unsigned syms[16];
    (void)state;
    std_clens(cl);
    /* 257 + 1 = 258 lengths: 18 (138 zeros) + 18 (138 zeros) = 276 > 258 */
    syms[0] = 18, syms[1] = 127, syms[2] = 18, syms[3] = 127;
    bw_dynamic(&w, 257, 1, cl, syms, 4);
    expect_error(w.b, w.n, 15, 0, WS_ERR_DEFLATE, "past HLIT");
    /* 16 (repeat previous) as the very first length: nothing to repeat */
    memset(&w, 0, sizeof w);
    syms[0] = 16, syms[1] = 0;
    bw_dynamic(&w, 257, 1, cl, syms, 2);
    expect_error(w.b, w.n, 15, 0, WS_ERR_DEFLATE, "no previous");
}

static void test_literal_length_code_set_invalid(void **state) {
    unsigned char cl[19];
    bw w = {{0}, 0, 0};
    unsigned syms[16];
    (void)state;
    std_clens(cl);
    /* lengths: 256 (EOB) gets 1, and '0' and '1' get 1 too: three 1-bit codes,
       over-subscribed. Then one distance length 1. */
    syms[0] = 1, syms[1] = 0, syms[2] = 1, syms[3] = 0;       /* lit 0, 1: length 1 */
    syms[4] = 18, syms[5] = 127, syms[6] = 18, syms[7] = 127; /* 2..277 zero... */
    /* that overshoots 256; do it exactly: 2..255 = 254 zeros = 138 + 116 */
    syms[5] = 138 - 11, syms[7] = 116 - 11;
    syms[8] = 1, syms[9] = 0; /* 256: length 1 */
    syms[10] = 1, syms[11] = 0; /* distance 0: length 1 */
    bw_dynamic(&w, 257, 1, cl, syms, 12);
    expect_error(w.b, w.n, 15, 0, WS_ERR_DEFLATE, "literal/length code");
    /* incomplete: 0 gets 8 bits, 256 gets 1 bit (a half and a 1/256 of the code space) */
    memset(&w, 0, sizeof w);
    syms[0] = 8, syms[1] = 0;
    syms[2] = 0, syms[3] = 0; /* lit 1: unused, then 2..255 zeros as before */
    bw_dynamic(&w, 257, 1, cl, syms, 12);
    expect_error(w.b, w.n, 15, 0, WS_ERR_DEFLATE, "literal/length code");
    /* no end-of-block code at all (§3.2.7 needs 256) */
    memset(&w, 0, sizeof w);
    syms[0] = 1, syms[1] = 0, syms[2] = 1, syms[3] = 0, syms[8] = 0, syms[9] = 0;
    bw_dynamic(&w, 257, 1, cl, syms, 12);
    expect_error(w.b, w.n, 15, 0, WS_ERR_DEFLATE, "end-of-block");
}

static void test_distance_code_set_invalid(void **state) {
    unsigned char cl[19];
    bw w = {{0}, 0, 0};
    unsigned syms[20];
    (void)state;
    std_clens(cl);
    /* literal 0 and 256: 1 bit each (complete); distances: three of 1 bit (over-subscribed) */
    syms[0] = 1, syms[1] = 0, syms[2] = 18, syms[3] = 138 - 11, syms[4] = 18, syms[5] = 117 - 11;
    syms[6] = 1, syms[7] = 0; /* 256 */
    syms[8] = 1, syms[9] = 0, syms[10] = 1, syms[11] = 0, syms[12] = 1, syms[13] = 0;
    bw_dynamic(&w, 257, 3, cl, syms, 14);
    expect_error(w.b, w.n, 15, 0, WS_ERR_DEFLATE, "distance code");
    /* distances 0 and 1 of 8 bits: incomplete with two codes (only one code may be
       incomplete, §3.2.7) */
    memset(&w, 0, sizeof w);
    syms[8] = 8, syms[10] = 8, syms[12] = 0;
    bw_dynamic(&w, 257, 3, cl, syms, 14);
    expect_error(w.b, w.n, 15, 0, WS_ERR_DEFLATE, "distance code");
}

/* §3.2.7 allows one distance code of one bit; its other bit pattern is no code. A stream
   ending right after that bit must fail then and there, not wait for bits that cannot
   make it valid (zlib fails there too). */
static void test_unused_code_fails_at_once(void **state) {
    unsigned char cl[19] = {0};
    bw w = {{0}, 0, 0};
    unsigned syms[16];
    (void)state;
    cl[0] = 3, cl[8] = 3, cl[16] = 3, cl[17] = 3, cl[18] = 2, cl[1] = 3, cl[2] = 3; /* complete */
    /* literal/lengths: 0 -> 1 bit, 256 and 257 -> 2 bits; one distance code of 1 bit */
    syms[0] = 1, syms[1] = 0, syms[2] = 18, syms[3] = 138 - 11, syms[4] = 18, syms[5] = 117 - 11;
    syms[6] = 2, syms[7] = 0, syms[8] = 2, syms[9] = 0, syms[10] = 1, syms[11] = 0;
    bw_dynamic(&w, 258, 1, cl, syms, 12);
    bw_code(&w, 3, 2); /* 257: length 3 */
    bw_code(&w, 1, 1); /* distance pattern '1': no such code */
    expect_error(w.b, w.n, 15, 0, WS_ERR_DEFLATE, "distance code");
}

static void test_invalid_fixed_codes(void **state) {
    bw w = {{0}, 0, 0};
    (void)state;
    /* §3.2.6: literal/length 286 and 287 "will never actually occur" */
    bw_put(&w, 0, 1), bw_put(&w, 1, 2);
    bw_code(&w, 0xc0 + (286 - 280), 8);
    bw_put(&w, 0, 16);
    expect_error(w.b, w.n, 15, 0, WS_ERR_DEFLATE, "286-287");
    /* distance codes 30 and 31 neither */
    memset(&w, 0, sizeof w);
    bw_put(&w, 0, 1), bw_put(&w, 1, 2);
    bw_code(&w, 0x30 + 'a', 8);     /* a literal first */
    bw_code(&w, 257 - 256, 7);      /* length 3 */
    bw_code(&w, 30, 5);             /* distance code 30 */
    bw_put(&w, 0, 16);
    expect_error(w.b, w.n, 15, 0, WS_ERR_DEFLATE, "distance code 30");
}

/* §3.2.5 distances: not before the start of the data (nothing, or only this message when
   history was reset), and (RFC 7692 §7.1.2) not past the window even when the bytes are
   there. */
static void test_distance_too_far(void **state) {
    bw w = {{0}, 0, 0};
    (void)state;
    /* fixed block: 'a', then length 3 at distance 2: one byte before the start */
    bw_put(&w, 0, 1), bw_put(&w, 1, 2);
    bw_code(&w, 0x30 + 'a', 8);
    bw_code(&w, 1, 7), bw_code(&w, 1, 5);
    bw_put(&w, 0, 16);
    expect_error(w.b, w.n, 15, 0, WS_ERR_DEFLATE, "before the start");
    /* distance 300 (code 16: 257 + 7 extra bits = 43) after 300 bytes of history: fine
       at 9 bits and above, past the window at 8 */
    memset(&w, 0, sizeof w);
    bw_put(&w, 0, 1), bw_put(&w, 1, 2);
    bw_code(&w, 1, 7), bw_code(&w, 16, 5), bw_put(&w, 43, 7);
    bw_code(&w, 0, 7); /* end of block */
    bw_sync(&w);
    expect_error(w.b, w.n, 8, 1, WS_ERR_DEFLATE, "window");
    {
        ws_inflater z;
        buf out = {0};
        init_inflater(&z, 9);
        assert_int_equal(inflate_all(&z, (const unsigned char *)"\x00\x2c\x01\xd3\xfe", 5, 16, &out),
                         WS_NEED_MORE);
        {
            unsigned char lit[300];
            memset(lit, 'x', sizeof lit);
            assert_int_equal(inflate_all(&z, lit, sizeof lit, 16, &out), WS_NEED_MORE);
        }
        ws_inflate_reset(&z, 1);
        out.n = 0;
        assert_int_equal(inflate_all(&z, w.b, w.n, 1, &out), WS_NEED_MORE);
        assert_int_equal(out.n, 3);
        assert_memory_equal(out.p, "xxx", 3);
        free(out.p);
    }
}

/* A decompression bomb: 64 MiB of zeros compressed by zlib -9 (about 64 KB) against a
   1 MiB limit. It stops with WS_ERR_TOO_BIG having written exactly the limit and read no
   more input than that much output needs. */
static void test_bomb_stops_at_the_limit(void **state) {
    const size_t big = (size_t)64 << 20, limit = (size_t)1 << 20;
    unsigned char *zeros = (unsigned char *)calloc(1, big);
    buf c = {0}, out = {0};
    ws_inflater z;
    size_t used = 0, ocap;
    (void)state;
    zlib_deflate(zeros, big, 9, Z_DEFAULT_STRATEGY, 15, 9, &c);
    free(zeros);
    for (ocap = 1000; ocap <= 1000000; ocap *= 1000) {
        init_inflater(&z, 15);
        ws_inflate_set_limit(&z, limit);
        out.n = 0;
        assert_int_equal(inflate_pieces(&z, c.p, c.n, NULL, 0, 4096, ocap, &out, &used), WS_ERR_TOO_BIG);
        assert_int_equal(out.n, limit);
        /* 1/64 of the output needs about 1/64 of the input; a piece of slack */
        assert_true(used <= c.n / 64 + 4096 + 64);
        /* sticky, and a reset clears it: the next message has the limit afresh */
        {
            size_t u, g;
            unsigned char o[8];
            assert_int_equal(ws_inflate(&z, c.p, 1, &u, o, sizeof o, &g), WS_ERR_TOO_BIG);
        }
        ws_inflate_reset(&z, 0);
        out.n = 0;
        assert_int_equal(inflate_all(&z, (const unsigned char *)"\xf2\x48\xcd\xc9\xc9\x07\x00", 7, 64, &out),
                         WS_NEED_MORE);
        assert_int_equal(out.n, 5);
    }
    /* exactly at the limit is fine */
    init_inflater(&z, 15);
    ws_inflate_set_limit(&z, 5);
    out.n = 0;
    assert_int_equal(inflate_all(&z, (const unsigned char *)"\xf2\x48\xcd\xc9\xc9\x07\x00\x00\x00\xff\xff", 11, 1,
                                 &out),
                     WS_NEED_MORE);
    assert_int_equal(out.n, 5);
    ws_inflate_set_limit(&z, 4);
    ws_inflate_reset(&z, 0);
    out.n = 0;
    assert_int_equal(inflate_all(&z, (const unsigned char *)"\xf2\x48\xcd\xc9\xc9\x07\x00\x00\x00\xff\xff", 11, 64,
                                 &out),
                     WS_ERR_TOO_BIG);
    assert_int_equal(out.n, 4);
    free(c.p);
    free(out.p);
}

/* Streams that never end: empty stored blocks and empty fixed blocks forever use all the
   input, produce nothing and keep asking for more (the caller's message limit bounds
   them); a stream of matches forever stops at the output limit. */
static void test_streams_that_never_end(void **state) {
    unsigned char *in = (unsigned char *)malloc(100000);
    size_t i;
    ws_inflater z;
    buf out = {0}, c = {0};
    size_t used;
    (void)state;
    for (i = 0; i + 5 <= 100000; i += 5) memcpy(in + i, "\x00\x00\x00\xff\xff", 5);
    init_inflater(&z, 15);
    assert_int_equal(inflate_pieces(&z, in, 100000, NULL, 0, 777, 1, &out, &used), WS_NEED_MORE);
    assert_int_equal(used, 100000);
    assert_int_equal(out.n, 0);
    /* fixed blocks holding only end-of-block: 10 bits each (010 0000000) */
    {
        bw w = {{0}, 0, 0};
        for (i = 0; i < 200; i++) bw_put(&w, 0, 1), bw_put(&w, 1, 2), bw_code(&w, 0, 7);
        init_inflater(&z, 15);
        assert_int_equal(inflate_pieces(&z, w.b, w.n, NULL, 0, 1, 1, &out, &used), WS_NEED_MORE);
        assert_int_equal(out.n, 0);
    }
    /* a match stream that never ends: a dynamic stream from zlib over 8 MiB of 'a', cut
       before its end, with a 100000-byte limit */
    {
        unsigned char *a = (unsigned char *)malloc(8 << 20);
        memset(a, 'a', 8 << 20);
        zlib_deflate(a, 8 << 20, 6, Z_DEFAULT_STRATEGY, 15, 8, &c);
        free(a);
        init_inflater(&z, 15);
        ws_inflate_set_limit(&z, 100000);
        assert_int_equal(inflate_pieces(&z, c.p, c.n - 10, NULL, 0, 100, 4096, &out, &used), WS_ERR_TOO_BIG);
        assert_int_equal(out.n, 100000);
    }
    free(c.p);
    free(out.p);
    free(in);
}

/* Random corruption of valid streams: whatever the verdict, no out-of-bounds access
   (ASan), the output never past the limit, and a valid prefix decodes as zlib says. */
static void test_corrupted_streams_are_safe(void **state) {
    unsigned char *raw = dc_make(0, 50000, 8);
    buf c = {0};
    int t;
    (void)state;
    zlib_deflate(raw, 50000, 6, Z_DEFAULT_STRATEGY, 15, 8, &c);
    for (t = 0; t < 300; t++) {
        unsigned char *m = (unsigned char *)malloc(c.n);
        ws_inflater z;
        buf out = {0}, zo = {0};
        ws_result r;
        int k, zok;
        memcpy(m, c.p, c.n);
        for (k = 0; k < 1 + t % 4; k++) m[trand() % c.n] ^= (unsigned char)(1u << (trand() % 8));
        init_inflater(&z, 15);
        ws_inflate_set_limit(&z, 60000);
        r = inflate_pieces(&z, m, c.n, NULL, 0, 1 + trand() % 3000, 1 + trand() % 5000, &out, NULL);
        assert_true(out.n <= 60000);
        zok = zlib_inflate(m, c.n, 15, &zo);
        if (r == WS_NEED_MORE || r == WS_OK) { /* we accepted it: zlib must agree, byte for byte */
            assert_true(zok);
            assert_int_equal(out.n, zo.n);
            assert_memory_equal(out.p, zo.p, out.n);
        } else if (r == WS_ERR_DEFLATE) {
            assert_false(zok); /* we refused it: so does zlib */
        }
        free(out.p);
        free(zo.p);
        free(m);
    }
    free(c.p);
    free(raw);
}

static void test_arguments(void **state) {
    ws_inflater z;
    ws_deflater d;
    size_t u, g;
    unsigned char o[4];
    (void)state;
    assert_int_equal(ws_inflate_init(&z, 7, g_win, sizeof g_win), WS_ERR_ARG);
    assert_int_equal(ws_inflate_init(&z, 16, g_win, sizeof g_win), WS_ERR_ARG);
    assert_int_equal(ws_inflate_init(&z, 15, g_win, WS_INFLATE_MEM(15) - 1), WS_ERR_ARG);
    assert_int_equal(ws_deflate_init(&d, 7, WS_DEFLATE_DEFAULT, g_dmem, sizeof g_dmem), WS_ERR_ARG);
    assert_int_equal(ws_deflate_init(&d, 15, WS_DEFLATE_DEFAULT, g_dmem, WS_DEFLATE_MEM(15) - 1), WS_ERR_ARG);
    assert_int_equal(ws_deflate_init(&d, 15, 3, g_dmem, sizeof g_dmem), WS_ERR_ARG);
    /* any alignment of the memory */
    assert_int_equal(ws_deflate_init(&d, 14, WS_DEFLATE_DEFAULT, g_dmem + 1, WS_DEFLATE_MEM(14)), WS_OK);
    assert_int_equal(ws_deflate(&d, "abcabcabc", 9, &u, o, sizeof o, &g, WS_DEFLATE_SYNC), WS_OUT_FULL);
    init_inflater(&z, 15);
    assert_int_equal(ws_inflate(&z, NULL, 1, &u, o, sizeof o, &g), WS_ERR_ARG);
    assert_int_equal(ws_inflate(&z, NULL, 0, &u, NULL, 0, &g), WS_NEED_MORE);
    assert_string_equal(ws_strerror(WS_OUT_FULL), "output buffer full: call again");
    assert_string_equal(ws_strerror(WS_ERR_DEFLATE), "compressed data is invalid");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc7692_examples_inflate_every_chunking),
        cmocka_unit_test(test_rfc7692_shared_window_inflate),
        cmocka_unit_test(test_rfc7692_examples_deflate),
        cmocka_unit_test(test_rfc7692_shared_window_deflate),
        cmocka_unit_test(test_empty_messages),
        cmocka_unit_test(test_zlib_to_ws_every_level_strategy_window),
        cmocka_unit_test(test_zlib_to_ws_large),
        cmocka_unit_test(test_ws_to_zlib_every_level_window),
        cmocka_unit_test(test_ws_to_zlib_large_finish),
        cmocka_unit_test(test_context_takeover_thousands_of_messages),
        cmocka_unit_test(test_deflate_bound),
        cmocka_unit_test(test_window_8_never_reaches_past_256),
        cmocka_unit_test(test_invalid_block_type),
        cmocka_unit_test(test_stored_len_nlen_mismatch),
        cmocka_unit_test(test_too_many_codes),
        cmocka_unit_test(test_code_length_code_oversubscribed_or_incomplete),
        cmocka_unit_test(test_repeat_past_end_and_without_previous),
        cmocka_unit_test(test_literal_length_code_set_invalid),
        cmocka_unit_test(test_distance_code_set_invalid),
        cmocka_unit_test(test_unused_code_fails_at_once),
        cmocka_unit_test(test_invalid_fixed_codes),
        cmocka_unit_test(test_distance_too_far),
        cmocka_unit_test(test_bomb_stops_at_the_limit),
        cmocka_unit_test(test_streams_that_never_end),
        cmocka_unit_test(test_corrupted_streams_are_safe),
        cmocka_unit_test(test_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
