/* Layer 2 primitives: SHA-1, base64, Sec-WebSocket-Accept, the incremental UTF-8
   validator and masking. Inputs are copied into malloc'd buffers of their exact size so
   ASan reports any read (or write) past them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#define WS_IMPLEMENTATION
#include "testutil.h"

#include <stdio.h>

/* ---------------------------------------------------------------------------------
   Helpers
   --------------------------------------------------------------------------------- */

/* A heap copy of exactly n bytes (at least one byte is allocated so n == 0 works). */
static unsigned char *dup_exact(const void *src, size_t n) {
    unsigned char *p = (unsigned char *)malloc(n ? n : 1);
    assert_non_null(p);
    if (n) memcpy(p, src, n);
    return p;
}

static void to_hex(const unsigned char *d, size_t n, char *out) {
    static const char hex[] = "0123456789abcdef";
    size_t i;
    for (i = 0; i < n; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[2 * n] = 0;
}

/* ---------------------------------------------------------------------------------
   SHA-1 (FIPS 180-4; RFC 6455 §4.2.2 uses it for Sec-WebSocket-Accept)
   --------------------------------------------------------------------------------- */

/* SHA-1 of data fed in updates of `chunk` bytes (0: one update), as lowercase hex. */
static void sha1_hex_chunked(const void *data, size_t len, size_t chunk, char hex[41]) {
    ws_sha1 s;
    unsigned char digest[20];
    size_t off = 0;
    if (chunk == 0) chunk = len ? len : 1;
    ws_sha1_init(&s);
    while (off < len) {
        size_t n = len - off < chunk ? len - off : chunk;
        unsigned char *piece = dup_exact((const unsigned char *)data + off, n);
        ws_sha1_update(&s, piece, n);
        free(piece);
        off += n;
    }
    ws_sha1_final(&s, digest);
    to_hex(digest, 20, hex);
}

static const size_t sha1_chunks[] = {0, 1, 2, 3, 7, 55, 56, 63, 64, 65, 127};

static void expect_sha1(const char *msg, size_t len, const char *want) {
    size_t i;
    char hex[41];
    for (i = 0; i < sizeof sha1_chunks / sizeof sha1_chunks[0]; i++) {
        sha1_hex_chunked(msg, len, sha1_chunks[i], hex);
        assert_string_equal(hex, want);
    }
}

/* FIPS 180-2 Appendix A vectors (and the 896-bit one), every update size. */
/* Layer 1: every result has its own text, the one its X-macro line gives (ws_strerror
   indexes a table by -value, so this also proves the values run 0, -1, -2... in order);
   anything else is "unknown result". */
static void test_strerror_every_result(void **state) {
    (void)state;
#define CHECK_TEXT(name, value, text) assert_string_equal(ws_strerror(name), text);
    WS__RESULTS(CHECK_TEXT)
#undef CHECK_TEXT
    assert_string_equal(ws_strerror(1), "unknown result");
    assert_string_equal(ws_strerror(2147483647), "unknown result");
    assert_string_equal(ws_strerror(WS__RESULT_LAST), "unknown result");
    assert_string_equal(ws_strerror(WS__RESULT_LAST - 1), "unknown result");
    assert_string_equal(ws_strerror(-2147483647 - 1), "unknown result");
}

static void test_sha1_fips_vectors(void **state) {
    static const char m448[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    static const char m896[] = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
                               "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    (void)state;
    expect_sha1("", 0, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    expect_sha1("abc", 3, "a9993e364706816aba3e25717850c26c9cd0d89d");
    expect_sha1(m448, sizeof m448 - 1, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    expect_sha1(m896, sizeof m896 - 1, "a49b2446a02c645bf419f995b67091253a04a259");
}

/* FIPS 180-2 A.3: one million 'a', fed in odd-sized updates that straddle blocks. */
static void test_sha1_million_a(void **state) {
    static const size_t sizes[] = {1, 3, 7, 13, 61, 64, 127, 997, 4099};
    unsigned char *a = (unsigned char *)malloc(4099);
    size_t total = 0, i = 0;
    ws_sha1 s;
    unsigned char digest[20];
    char hex[41];
    (void)state;
    memset(a, 'a', 4099);
    ws_sha1_init(&s);
    while (total < 1000000) {
        size_t n = sizes[i++ % (sizeof sizes / sizeof sizes[0])];
        if (n > 1000000 - total) n = 1000000 - total;
        ws_sha1_update(&s, a + 4099 - n, n); /* ends at the buffer's end */
        total += n;
    }
    ws_sha1_final(&s, digest);
    to_hex(digest, 20, hex);
    assert_string_equal(hex, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
    free(a);
}

/* Padding edges: lengths around 55/56/64 bytes (values from Python's hashlib over
   bytes(i & 0xff for i in range(n))). */
static void test_sha1_block_boundaries(void **state) {
    static const struct { size_t n; const char *hex; } v[] = {
        {55, "8ae2d46729cfe68ff927af5eec9c7d1b66d65ac2"},
        {56, "636e2ec698dac903498e648bd2f3af641d3c88cb"},
        {63, "6d942da0c4392b123528f2905c713a3ce28364bd"},
        {64, "c6138d514ffa2135bfce0ed0b8fac65669917ec7"},
        {65, "69bd728ad6e13cd76ff19751fde427b00e395746"},
        {119, "41c89d06001bab4ab78736b44efe7ce18ce6ae08"},
        {120, "d3dbd653bd8597b7475321b60a36891278e6a04a"},
        {127, "89d7312a903f65cd2b3e34a975e55dbea9033353"},
        {128, "e6434bc401f98603d7eda504790c98c67385d535"},
    };
    char buf[128];
    size_t i;
    (void)state;
    for (i = 0; i < sizeof buf; i++) buf[i] = (char)(i & 0xff);
    for (i = 0; i < sizeof v / sizeof v[0]; i++) expect_sha1(buf, v[i].n, v[i].hex);
}

/* FIPS 180-4 §5.1.1: the padding ends with the message's length in bits as a 64-bit
   big-endian number, all 64 bits of it. No test vector is long enough to reach past 32
   bits, so the state after "abc" is given a count of 2^60 + ... bytes (every byte of the
   bit count differs, the top one included) and the digest is compared with the same
   state padded by hand through ws_sha1_update. */
static void test_sha1_length_past_32_bits(void **state) {
    const uint64_t skip = (uint64_t)0x1234567890ABCDC0u; /* whole blocks: position kept */
    ws_sha1 s, r;
    unsigned char digest[20], want[20], pad[64 + 8] = {0x80};
    uint64_t bits;
    size_t n, i;
    (void)state;
    ws_sha1_init(&s);
    ws_sha1_update(&s, "abc", 3);
    s.total += skip;
    r = s;
    bits = s.total * 8; /* 0x91A2B3C4855E6E18 */
    n = 56 - 3 + 8;
    for (i = 0; i < 8; i++) pad[56 - 3 + i] = (unsigned char)(bits >> (56 - 8 * i));
    ws_sha1_update(&r, pad, n);
    assert_int_equal(r.total & 63, 0);
    for (i = 0; i < 20; i++) want[i] = (unsigned char)(r.h[i / 4] >> (24 - 8 * (i % 4)));
    ws_sha1_final(&s, digest);
    assert_memory_equal(digest, want, 20);
}

/* Two updates split at every position, with empty updates around them. */
static void test_sha1_split_every_position(void **state) {
    static const char m[] = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
                            "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    size_t len = sizeof m - 1, cut;
    (void)state;
    for (cut = 0; cut <= len; cut++) {
        ws_sha1 s;
        unsigned char digest[20];
        char hex[41];
        ws_sha1_init(&s);
        ws_sha1_update(&s, m, 0);
        ws_sha1_update(&s, m, cut);
        ws_sha1_update(&s, m + cut, 0);
        ws_sha1_update(&s, m + cut, len - cut);
        ws_sha1_final(&s, digest);
        to_hex(digest, 20, hex);
        assert_string_equal(hex, "a49b2446a02c645bf419f995b67091253a04a259");
    }
}

/* ---------------------------------------------------------------------------------
   Base64 (RFC 4648 §4, used for Sec-WebSocket-Key / -Accept, RFC 6455 §4.1, §4.2.2)
   --------------------------------------------------------------------------------- */

static const struct { const char *raw, *b64; } b64_vectors[] = {
    /* RFC 4648 §10 */
    {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
    /* every alphabet character appears in these (bytes 0xfb 0xff map to + and /) */
    {"\xfb\xff\xbf", "+/+/"}, {"\x00\x00\x00", "AAAA"},
};
#define N_B64 (sizeof b64_vectors / sizeof b64_vectors[0])

static size_t b64_raw_len(size_t i) {
    /* "\x00\x00\x00" holds NULs, so the raw length comes from the encoding */
    size_t n = strlen(b64_vectors[i].b64), pad = 0;
    if (n && b64_vectors[i].b64[n - 1] == '=') pad++;
    if (n > 1 && b64_vectors[i].b64[n - 2] == '=') pad++;
    return n / 4 * 3 - pad;
}

/* RFC 4648 §10: the encoder's output, its count, the NUL, into an exact buffer. */
static void test_base64_encode_vectors(void **state) {
    size_t i;
    (void)state;
    for (i = 0; i < N_B64; i++) {
        size_t n = b64_raw_len(i), want = strlen(b64_vectors[i].b64);
        char *dst = (char *)malloc(WS_BASE64_LEN(n) + 1);
        assert_int_equal(WS_BASE64_LEN(n), want);
        assert_int_equal(ws_base64_encode(b64_vectors[i].raw, n, dst, want + 1), (int)want);
        assert_string_equal(dst, b64_vectors[i].b64);
        free(dst);
    }
}

/* ws.h contract: one byte short of characters + NUL is WS_ERR_BUFFER, never an overrun. */
static void test_base64_encode_small_buffer(void **state) {
    size_t i, cap;
    (void)state;
    for (i = 0; i < N_B64; i++) {
        size_t n = b64_raw_len(i), need = WS_BASE64_LEN(n) + 1;
        for (cap = 0; cap < need; cap++) {
            char *dst = (char *)malloc(cap ? cap : 1);
            assert_int_equal(ws_base64_encode(b64_vectors[i].raw, n, dst, cap), WS_ERR_BUFFER);
            free(dst);
        }
    }
}

/* ws.h contract: a length whose encoded size does not fit (WS_BASE64_LEN would wrap: on
   32-bit from 0xBFFFFFFE, here near SIZE_MAX) is WS_ERR_BUFFER before a byte is read or
   written, whatever cap claims. src is 3 bytes: reading past them is an ASan report. */
static void test_base64_encode_huge_len(void **state) {
    static const size_t lens[] = {(size_t)-1, (size_t)-2, (size_t)-3, (size_t)-1 / 4 * 3 + 1,
                                  (size_t)0xBFFFFFFEu, (size_t)0x7fffffff, (size_t)0x60000000};
    unsigned char *src = (unsigned char *)malloc(3);
    char *dst = (char *)malloc(8);
    size_t i;
    (void)state;
    memcpy(src, "abc", 3);
    for (i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        assert_int_equal(ws_base64_encode(src, lens[i], dst, 8), WS_ERR_BUFFER);
        assert_int_equal(ws_base64_encode(src, lens[i], dst, (size_t)-1), WS_ERR_BUFFER);
    }
    free(src);
    free(dst);
}

/* RFC 4648 §10 decoded into a buffer of exactly the decoded size. */
static void test_base64_decode_vectors(void **state) {
    size_t i;
    (void)state;
    for (i = 0; i < N_B64; i++) {
        size_t n = b64_raw_len(i), len = strlen(b64_vectors[i].b64);
        unsigned char *src = dup_exact(b64_vectors[i].b64, len);
        unsigned char *dst = (unsigned char *)malloc(n ? n : 1);
        assert_int_equal(ws_base64_decode((const char *)src, len, dst, n), (int)n);
        assert_memory_equal(dst, b64_vectors[i].raw, n);
        free(src);
        free(dst);
    }
}

static void test_base64_decode_small_buffer(void **state) {
    size_t i, cap;
    (void)state;
    for (i = 0; i < N_B64; i++) {
        size_t n = b64_raw_len(i), len = strlen(b64_vectors[i].b64);
        for (cap = 0; cap < n; cap++) {
            unsigned char *dst = (unsigned char *)malloc(cap ? cap : 1);
            assert_int_equal(ws_base64_decode(b64_vectors[i].b64, len, dst, cap), WS_ERR_BUFFER);
            free(dst);
        }
    }
}

/* RFC 4648 §3.3/§3.5 and ws.h: only canonical, padded standard-alphabet input. */
static void test_base64_decode_rejects(void **state) {
    static const struct { const char *s; size_t n; } bad[] = {
        {"Z", 1}, {"Zg", 2}, {"Zg=", 3}, {"Zm9vY", 5},      /* missing padding */
        {"Z===", 4}, {"====", 4}, {"=Zg=", 4}, {"Z=g=", 4}, /* padding misplaced */
        {"Zg=x", 4}, {"Zm=v", 4}, {"Zg==Zg==", 8}, {"Zm9v====", 8},
        {"Zh==", 4}, {"Zm9=", 4}, {"Zm/=", 4},              /* non-zero pad bits */
        {"Zm9v\n", 5}, {"Zm 9v", 5}, {" Zm9v", 5}, {"Zm9v\r\n", 6},
        {"Zm-v", 4}, {"Zm_v", 4}, {"Zm.v", 4}, {"Zm9\x80", 4}, {"Zm9\0", 4}, /* alphabet */
        {"Zm9vYmFy=", 9}, {"Zm9vYmF", 7},
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        unsigned char dst[64];
        unsigned char *src = dup_exact(bad[i].s, bad[i].n);
        int r = ws_base64_decode((const char *)src, bad[i].n, dst, sizeof dst);
        if (r != WS_ERR_ARG) print_error("input #%u \"%s\": got %d\n", (unsigned)i, bad[i].s, r);
        assert_int_equal(r, WS_ERR_ARG);
        free(src);
    }
}

/* Every length 0..64 of varied bytes survives encode then decode. */
static void test_base64_round_trip(void **state) {
    unsigned char raw[64], back[64];
    char text[WS_BASE64_LEN(64) + 1];
    size_t n;
    (void)state;
    tu_rng(NULL, raw, sizeof raw);
    for (n = 0; n <= sizeof raw; n++) {
        int k = ws_base64_encode(raw, n, text, sizeof text);
        assert_int_equal(k, WS_BASE64_LEN(n));
        assert_int_equal(ws_base64_decode(text, (size_t)k, back, sizeof back), (int)n);
        assert_memory_equal(back, raw, n);
    }
}

/* ---------------------------------------------------------------------------------
   Sec-WebSocket-Accept (RFC 6455 §1.3, §4.2.2 item 5.4)
   --------------------------------------------------------------------------------- */

static void expect_accept(const char *key, const char *want) {
    size_t n = strlen(key);
    unsigned char *k = dup_exact(key, n); /* no NUL after it: key_len must be honoured */
    char out[WS_ACCEPT_LEN + 1];
    memset(out, 'x', sizeof out);
    ws_accept_key((const char *)k, n, out);
    assert_int_equal(out[WS_ACCEPT_LEN], 0);
    assert_string_equal(out, want);
    free(k);
}

/* RFC 6455 §1.3: the worked example. */
static void test_accept_key_rfc_example(void **state) {
    (void)state;
    expect_accept("dGhlIHNhbXBsZSBub25jZQ==", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

/* §4.2.2: base64(SHA-1(key + GUID)); values from
   python3 -c 'import hashlib,base64; print(base64.b64encode(hashlib.sha1(K+b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest()))' */
static void test_accept_key_more_vectors(void **state) {
    (void)state;
    expect_accept("x3JJHMbDL1EzLkh9GBhXDw==", "HSmrc0sMlYUkAGmm5OPpG2HaGWk=");
    expect_accept("AQIDBAUGBwgJCgsMDQ4PEA==", "C/0nmHhBztSRGR1CwL6Tf4ZjwpY=");
    expect_accept("", "Kfh9QIsMVZcl6xEPYxPHzW8SZ8w=");
}

/* ---------------------------------------------------------------------------------
   UTF-8 (RFC 6455 §8.1 requires RFC 3629 validity; §5.6 text frames)
   --------------------------------------------------------------------------------- */

#define U8_OK (-1)    /* valid and complete */
#define U8_TRUNC (-2) /* valid so far, ends inside a code point */

/* Reference classification straight from the RFC 3629 §4 grammar: U8_OK, U8_TRUNC or
   the index of the first byte that no continuation can make valid. */
static int ref_utf8(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned b = s[i], need, lo = 0x80, hi = 0xBF, k;
        if (b < 0x80) { i++; continue; }
        if (b >= 0xC2 && b <= 0xDF) need = 1;
        else if (b >= 0xE0 && b <= 0xEF) need = 2;
        else if (b >= 0xF0 && b <= 0xF4) need = 3;
        else return (int)i;
        if (b == 0xE0) lo = 0xA0;
        if (b == 0xED) hi = 0x9F;
        if (b == 0xF0) lo = 0x90;
        if (b == 0xF4) hi = 0x8F;
        for (k = 1; k <= need; k++) {
            if (i + k >= n) return U8_TRUNC;
            if (s[i + k] < (k == 1 ? lo : 0x80) || s[i + k] > (k == 1 ? hi : 0xBF))
                return (int)(i + k);
        }
        i += need + 1;
    }
    return U8_OK;
}

/* Feed s[0..n) as pieces split at `cuts` (ascending); return the index of the piece
   whose feed failed (-1 if none) and leave the validator in *v. */
static int feed_pieces(ws_utf8 *v, const unsigned char *s, size_t n, const size_t *cuts,
                       size_t ncuts) {
    size_t i, from = 0;
    for (i = 0; i <= ncuts; i++) {
        size_t to = i < ncuts ? cuts[i] : n;
        unsigned char *piece = dup_exact(s + from, to - from);
        ws_result r = ws_utf8_feed(v, piece, to - from);
        free(piece);
        if (r != WS_OK) {
            assert_int_equal(r, WS_ERR_UTF8);
            return (int)i;
        }
        from = to;
    }
    return -1;
}

static void utf8_mismatch(const unsigned char *s, size_t n, const char *how, long at) {
    char hex[3 * 64 + 1];
    size_t i, k = n < 64 ? n : 64;
    for (i = 0; i < k; i++) sprintf(hex + 3 * i, "%02x ", s[i]);
    hex[3 * k] = 0;
    fail_msg("UTF-8 vector [%s] (%u bytes): %s %ld", hex, (unsigned)n, how, at);
}

/* Check one vector whose expected class is `want` (U8_OK, U8_TRUNC or bad index):
   whole-string check, split in two at every position (one piece included), and byte by
   byte, where the failure must come at exactly the first bad byte. */
static void expect_utf8(const void *bytes, size_t n, int want) {
    const unsigned char *s = (const unsigned char *)bytes;
    unsigned char *copy = dup_exact(s, n);
    ws_result whole = ws_utf8_check(copy, n);
    ws_utf8 v = WS_UTF8_INIT;
    long first_bad = -1;
    size_t cut, i;

    free(copy);
    if (whole != (want == U8_OK ? WS_OK : WS_ERR_UTF8))
        utf8_mismatch(s, n, "ws_utf8_check returned", (long)whole);

    for (cut = 0; cut <= n; cut++) {
        ws_utf8 w = WS_UTF8_INIT;
        int failed = feed_pieces(&w, s, n, &cut, 1);
        int ok = want >= 0 ? failed == ((size_t)want < cut ? 0 : 1)
                           : failed == -1 && !!ws_utf8_done(&w) == (want == U8_OK);
        if (!ok) utf8_mismatch(s, n, "wrong result when split at", (long)cut);
    }

    for (i = 0; i < n && first_bad < 0; i++) {
        unsigned char *b = dup_exact(s + i, 1);
        if (ws_utf8_feed(&v, b, 1) != WS_OK) first_bad = (long)i;
        free(b);
    }
    if (first_bad != (want >= 0 ? want : -1))
        utf8_mismatch(s, n, "byte by byte, first error at", first_bad);
    if (want < 0 && !!ws_utf8_done(&v) != (want == U8_OK))
        utf8_mismatch(s, n, "byte by byte, ws_utf8_done is", (long)ws_utf8_done(&v));
}

#define V(lit, want) {lit, sizeof lit - 1, want}
static const struct { const char *s; size_t n; int want; } utf8_vectors[] = {
    /* valid: ASCII, 2, 3 and 4 bytes, the boundary code points of each length */
    V("", U8_OK), V("Hello", U8_OK), V("\0", U8_OK),
    V("\x7F", U8_OK),                  /* U+007F */
    V("\xC2\x80", U8_OK),              /* U+0080 */
    V("\xDF\xBF", U8_OK),              /* U+07FF */
    V("\xE0\xA0\x80", U8_OK),          /* U+0800 */
    V("\xED\x9F\xBF", U8_OK),          /* U+D7FF, just below the surrogates */
    V("\xEE\x80\x80", U8_OK),          /* U+E000, just above them */
    V("\xEF\xBF\xBF", U8_OK),          /* U+FFFF */
    V("\xF0\x90\x80\x80", U8_OK),      /* U+10000 */
    V("\xF4\x8F\xBF\xBF", U8_OK),      /* U+10FFFF */
    V("\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5", U8_OK), /* Greek "kosme" */
    V("a\xC3\xA9" "b\xE2\x82\xAC" "c\xF0\x9F\x98\x80" "d", U8_OK),
    V("The quick brown fox \xE2\x80\x94 jumps over \xF0\x9F\x90\xB6 the lazy dog "
      "\xC3\xA0 la fa\xC3\xA7on, \xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E, end.", U8_OK),
    /* overlong forms */
    V("\xC0\x80", 0), V("\xC1\xBF", 0),
    V("\xE0\x80\x80", 1), V("\xE0\x9F\xBF", 1),
    V("\xF0\x80\x80\x80", 1), V("\xF0\x8F\xBF\xBF", 1),
    /* UTF-16 surrogates, alone and paired (CESU-8) */
    V("\xED\xA0\x80", 1), V("\xED\xBF\xBF", 1), V("\xED\xA0\x80\xED\xB0\x80", 1),
    /* past U+10FFFF */
    V("\xF4\x90\x80\x80", 1), V("\xF5\x80\x80\x80", 0), V("\xF7\xBF\xBF\xBF", 0),
    /* bytes that never occur */
    V("\xF8\x88\x80\x80\x80", 0), V("\xFE", 0), V("\xFF", 0), V("abc\xFF", 3),
    /* lone or extra continuation bytes */
    V("\x80", 0), V("\xBF", 0), V("a\x80" "b", 1), V("\xC3\xA9\x80", 2),
    V("\xE2\x82\xAC\xBF", 3), V("\xF0\x9F\x98\x80\x80", 4),
    /* a sequence cut short by something that is not a continuation */
    V("\xC3" "a", 1), V("\xE2\x82" "a", 2), V("\xF0\x9F\x98" "a", 3), V("\xC3\xC3\xA9", 1),
    V("\xE2\x28\xA1", 1), V("\xC3" "aaaaaaaaaaaaaaaaaaaaaaa", 1),
    V("\xE2\x82" "aaaaaaaaaaaaaaaaaaaaaaa", 2),
    V("\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5\xED\xA0\x80" "edited", 12),
    V("0123456789012345678901234567890123456789\xE0\x80", 41),
    /* truncated: valid so far, but the text may not end here */
    V("\xC3", U8_TRUNC), V("\xE2", U8_TRUNC), V("\xE2\x82", U8_TRUNC),
    V("\xE0\xA0", U8_TRUNC), V("\xED\x9F", U8_TRUNC), V("\xF0\x90", U8_TRUNC),
    V("\xF0\x9F\x98", U8_TRUNC), V("\xF4\x8F\xBF", U8_TRUNC),
    V("Hello\xF0\x9F", U8_TRUNC),
    V("0123456789012345678901234567890123456789\xE2\x82", U8_TRUNC),
};
#undef V

/* The table's expectations agree with the RFC 3629 grammar (guards the table itself). */
static void test_utf8_table_matches_grammar(void **state) {
    size_t i;
    (void)state;
    for (i = 0; i < sizeof utf8_vectors / sizeof utf8_vectors[0]; i++)
        assert_int_equal(ref_utf8((const unsigned char *)utf8_vectors[i].s, utf8_vectors[i].n),
                         utf8_vectors[i].want);
}

/* RFC 6455 §8.1 / RFC 3629: every vector, whole, split at every byte, byte by byte. */
static void test_utf8_vectors(void **state) {
    size_t i;
    (void)state;
    for (i = 0; i < sizeof utf8_vectors / sizeof utf8_vectors[0]; i++)
        expect_utf8(utf8_vectors[i].s, utf8_vectors[i].n, utf8_vectors[i].want);
}

/* RFC 3629 §4: F5..FF (and C0, C1) can never appear, alone or after valid text. */
static void test_utf8_never_bytes(void **state) {
    unsigned b;
    (void)state;
    for (b = 0xF5; b <= 0xFF; b++) {
        unsigned char s[3] = {'o', 'k', 0};
        s[2] = (unsigned char)b;
        expect_utf8(s + 2, 1, 0);
        expect_utf8(s, 3, 2);
    }
    expect_utf8("\xC0", 1, 0);
    expect_utf8("\xC1", 1, 0);
}

/* RFC 3629 §4: every pair of bytes, and every third byte after each lead, agree with
   the grammar (whole check, one feed, and the done flag). */
static void test_utf8_exhaustive_short(void **state) {
    static const unsigned char leads[] = {0x41, 0x7F, 0x80, 0xBF, 0xC1, 0xC2, 0xDF, 0xE0,
                                          0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3,
                                          0xF4, 0xF5, 0xFF};
    unsigned char s[3];
    unsigned a, b, c;
    size_t n, i;
    (void)state;
    for (n = 2; n <= 3; n++) {
        for (i = 0; i < (n == 2 ? 256u : sizeof leads); i++) {
            a = n == 2 ? (unsigned)i : leads[i];
            for (b = 0; b < 256; b++) {
                for (c = 0; c < (n == 3 ? 256u : 1u); c++) {
                    ws_utf8 v = WS_UTF8_INIT;
                    int want, got_feed;
                    s[0] = (unsigned char)a;
                    s[1] = (unsigned char)b;
                    s[2] = (unsigned char)c;
                    want = ref_utf8(s, n);
                    got_feed = ws_utf8_feed(&v, s, n) == WS_OK;
                    if ((ws_utf8_check(s, n) == WS_OK) != (want == U8_OK) ||
                        got_feed != (want < 0) ||
                        (got_feed && !!ws_utf8_done(&v) != (want == U8_OK)))
                        fail_msg("bytes %02x %02x %02x (len %u): expected class %d", a, b, c,
                                 (unsigned)n, want);
                }
            }
        }
    }
}

/* A fresh validator has seen a whole (empty) text; empty feeds change nothing. */
static void test_utf8_initial_state(void **state) {
    ws_utf8 v = WS_UTF8_INIT;
    (void)state;
    assert_true(ws_utf8_done(&v));
    assert_int_equal(ws_utf8_feed(&v, "", 0), WS_OK);
    assert_true(ws_utf8_done(&v));
    assert_int_equal(ws_utf8_feed(&v, "\xE2", 1), WS_OK);
    assert_false(ws_utf8_done(&v));
    assert_int_equal(ws_utf8_feed(&v, "", 0), WS_OK);
    assert_false(ws_utf8_done(&v));
    assert_int_equal(ws_utf8_feed(&v, "\x82\xAC", 2), WS_OK);
    assert_true(ws_utf8_done(&v));
    assert_int_equal(ws_utf8_check("", 0), WS_OK);
}

/* ws.h contract (ws_utf8_feed): after a fault the text can never become valid again. Every
   byte fed after it, in the same call or a later one, and an empty feed, still say
   WS_ERR_UTF8 and the text is never done; also when the fault is a bad continuation
   byte (RFC 3629 §4: E0 needs A0..BF next) and valid text follows in the same piece. */
static void test_utf8_fault_sticks(void **state) {
    static const char *const faults[] = {"\xFF", "\x80", "\xE0\x80", "ok\xED\xA0"};
    unsigned char s[8];
    size_t f, n;
    unsigned b;
    (void)state;
    for (f = 0; f < sizeof faults / sizeof faults[0]; f++) {
        n = strlen(faults[f]);
        for (b = 0; b < 256; b++) {
            ws_utf8 v = WS_UTF8_INIT;
            memcpy(s, faults[f], n);
            s[n] = (unsigned char)b, s[n + 1] = 0x80, s[n + 2] = 'a';
            assert_int_equal(ws_utf8_feed(&v, s, n + 3), WS_ERR_UTF8); /* fault, then more */
            assert_false(ws_utf8_done(&v));
            assert_int_equal(ws_utf8_feed(&v, s + n, 1), WS_ERR_UTF8);  /* a later call */
            assert_int_equal(ws_utf8_feed(&v, "", 0), WS_ERR_UTF8);
            assert_int_equal(ws_utf8_feed(&v, "a", 1), WS_ERR_UTF8);
            assert_false(ws_utf8_done(&v));
            assert_int_equal(ws_utf8_check(s, n + 3), WS_ERR_UTF8);
        }
    }
}

/* Long ASCII runs (the word-wide fast path) at every start alignment, with one bad byte
   at every offset 0..40: it is found, and by the piece that holds it. */
static void test_utf8_fast_path_bad_byte_every_offset(void **state) {
    static const unsigned char bad[] = {0x80, 0xBF, 0xC0, 0xF5, 0xFF};
    enum { LEN = 48 };
    size_t align, k, j;
    (void)state;
    for (align = 0; align < 8; align++) {
        for (k = 0; k <= 40; k++) {
            for (j = 0; j < sizeof bad; j++) {
                unsigned char *buf = (unsigned char *)malloc(align + LEN), *s = buf + align;
                size_t i;
                for (i = 0; i < LEN; i++) s[i] = (unsigned char)('!' + (i * 7) % 90);
                s[k] = bad[j];
                assert_int_equal(ws_utf8_check(s, LEN), WS_ERR_UTF8);
                {
                    ws_utf8 v1 = WS_UTF8_INIT, v2 = WS_UTF8_INIT;
                    size_t at = k, after = k + 1;
                    assert_int_equal(feed_pieces(&v1, s, LEN, &at, 1), 1);
                    assert_int_equal(feed_pieces(&v2, s, LEN, &after, 1), 0);
                }
                free(buf);
            }
        }
    }
}

/* The same runs with a valid multi-byte character (or a truncated one at the end) at
   every offset: no false alarm, and the state survives the fast path. */
static void test_utf8_fast_path_valid_every_offset(void **state) {
    static const struct { const char *s; size_t n; } chars[] = {
        {"\xC3\xA9", 2}, {"\xE2\x82\xAC", 3}, {"\xF0\x9F\x98\x80", 4}, {"\x7F", 1}};
    enum { LEN = 48 };
    size_t align, k, j;
    (void)state;
    for (align = 0; align < 8; align++) {
        for (k = 0; k <= 40; k++) {
            for (j = 0; j < sizeof chars / sizeof chars[0]; j++) {
                unsigned char *buf = (unsigned char *)malloc(align + LEN), *s = buf + align;
                size_t i, cut;
                ws_utf8 v = WS_UTF8_INIT;
                for (i = 0; i < LEN; i++) s[i] = (unsigned char)('a' + i % 26);
                memcpy(s + k, chars[j].s, chars[j].n);
                assert_int_equal(ws_utf8_check(s, LEN), WS_OK);
                /* split inside the character */
                cut = k + chars[j].n / 2;
                assert_int_equal(feed_pieces(&v, s, LEN, &cut, 1), -1);
                assert_true(ws_utf8_done(&v));
                /* text that ends inside the character */
                assert_int_equal(ws_utf8_check(s, k + chars[j].n - 1),
                                 chars[j].n == 1 ? WS_OK : WS_ERR_UTF8);
                free(buf);
            }
        }
    }
}

/* ---------------------------------------------------------------------------------
   Masking (RFC 6455 §5.3: octet i is XORed with key octet i MOD 4)
   --------------------------------------------------------------------------------- */

static void naive_mask(unsigned char *p, size_t n, const unsigned char key[4], unsigned phase) {
    size_t i;
    for (i = 0; i < n; i++) p[i] ^= key[(phase + i) & 3];
}

static void fill_pattern(unsigned char *p, size_t n, unsigned seed) {
    size_t i;
    for (i = 0; i < n; i++) p[i] = (unsigned char)(seed + i * 131 + (i >> 3));
}

/* ws_mask on data at `align` inside an exact-size heap buffer, key at `kalign`, versus
   the byte loop; the bytes before the data stay as they were. */
static void expect_mask_matches(size_t len, size_t align, unsigned phase, size_t kalign,
                                const unsigned char key_in[4]) {
    unsigned char *buf = (unsigned char *)malloc(align + len ? align + len : 1);
    unsigned char *want = (unsigned char *)malloc(align + len ? align + len : 1);
    unsigned char *kbuf = (unsigned char *)malloc(kalign + 4);
    unsigned got;
    fill_pattern(buf, align + len, (unsigned)(len + align));
    memcpy(want, buf, align + len);
    memcpy(kbuf + kalign, key_in, 4);
    naive_mask(want + align, len, key_in, phase);
    got = ws_mask(buf + align, len, kbuf + kalign, phase);
    assert_int_equal(got, (phase + len) & 3);
    if (memcmp(buf, want, align + len) != 0)
        fail_msg("ws_mask len %u align %u phase %u key align %u differs from the byte loop",
                 (unsigned)len, (unsigned)align, phase, (unsigned)kalign);
    free(buf);
    free(want);
    free(kbuf);
}

/* §5.3 against the byte loop: every length 0..100, start alignment 0..15, phase 0..3. */
static void test_mask_matches_naive(void **state) {
    static const unsigned char keys[2][4] = {{0x37, 0xfa, 0x21, 0x3d}, {0x00, 0xff, 0x80, 0x01}};
    size_t len, align, k;
    unsigned phase;
    (void)state;
    for (k = 0; k < 2; k++)
        for (len = 0; len <= 100; len++)
            for (align = 0; align < 16; align++)
                for (phase = 0; phase < 4; phase++)
                    expect_mask_matches(len, align, phase, (len + align) & 3, keys[k]);
}

/* §5.3 on payloads far larger than a machine word or vector. */
static void test_mask_large(void **state) {
    static const unsigned char key[4] = {0xde, 0xad, 0xbe, 0xef};
    static const size_t lens[] = {1000, 4096, 4099, 65536 + 13};
    size_t i;
    unsigned phase;
    (void)state;
    for (i = 0; i < sizeof lens / sizeof lens[0]; i++)
        for (phase = 0; phase < 4; phase++) expect_mask_matches(lens[i], 3 + i, phase, 1, key);
}

/* §5.3: "the same algorithm applies regardless of the direction" - masking twice
   restores the data; an all-zero key changes nothing. */
static void test_mask_twice_restores(void **state) {
    static const unsigned char key[4] = {0x12, 0x34, 0x56, 0x78}, zero[4] = {0, 0, 0, 0};
    unsigned char orig[257], buf[257];
    size_t off;
    (void)state;
    fill_pattern(orig, sizeof orig, 9);
    for (off = 0; off < 8; off++) {
        memcpy(buf, orig, sizeof buf);
        assert_int_equal(ws_mask(buf + off, sizeof buf - off, key, 2), (2 + sizeof buf - off) & 3);
        assert_memory_not_equal(buf, orig, sizeof buf);
        ws_mask(buf + off, sizeof buf - off, key, 2);
        assert_memory_equal(buf, orig, sizeof buf);
        ws_mask(buf + off, sizeof buf - off, zero, 1);
        assert_memory_equal(buf, orig, sizeof buf);
    }
}

/* §5.3 in pieces: chaining the returned phase gives the same bytes as one call, for a
   split at every position and for runs of small pieces. */
static void test_mask_in_pieces(void **state) {
    static const unsigned char key[4] = {0x37, 0xfa, 0x21, 0x3d};
    enum { LEN = 77 };
    unsigned char whole[LEN], parts[LEN];
    size_t cut, step;
    (void)state;
    fill_pattern(whole, LEN, 5);
    ws_mask(whole, LEN, key, 0);
    for (cut = 0; cut <= LEN; cut++) {
        unsigned phase;
        fill_pattern(parts, LEN, 5);
        phase = ws_mask(parts, cut, key, 0);
        assert_int_equal(phase, cut & 3);
        ws_mask(parts + cut, LEN - cut, key, phase);
        assert_memory_equal(parts, whole, LEN);
    }
    for (step = 1; step <= 9; step++) {
        unsigned phase = 0;
        size_t off;
        fill_pattern(parts, LEN, 5);
        for (off = 0; off < LEN; off += step)
            phase = ws_mask(parts + off, LEN - off < step ? LEN - off : step, key, phase);
        assert_int_equal(phase, LEN & 3);
        assert_memory_equal(parts, whole, LEN);
    }
}

/* §5.7: "Hello" masked with 37 fa 21 3d is 7f 9f 4d 51 58. */
static void test_mask_rfc_example(void **state) {
    static const unsigned char key[4] = {0x37, 0xfa, 0x21, 0x3d};
    static const unsigned char want[5] = {0x7f, 0x9f, 0x4d, 0x51, 0x58};
    unsigned char *p = dup_exact("Hello", 5);
    (void)state;
    assert_int_equal(ws_mask(p, 5, key, 0), 1);
    assert_memory_equal(p, want, 5);
    free(p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha1_fips_vectors),
        cmocka_unit_test(test_sha1_million_a),
        cmocka_unit_test(test_sha1_block_boundaries),
        cmocka_unit_test(test_sha1_length_past_32_bits),
        cmocka_unit_test(test_sha1_split_every_position),
        cmocka_unit_test(test_base64_encode_vectors),
        cmocka_unit_test(test_base64_encode_small_buffer),
        cmocka_unit_test(test_base64_encode_huge_len),
        cmocka_unit_test(test_base64_decode_vectors),
        cmocka_unit_test(test_base64_decode_small_buffer),
        cmocka_unit_test(test_base64_decode_rejects),
        cmocka_unit_test(test_base64_round_trip),
        cmocka_unit_test(test_accept_key_rfc_example),
        cmocka_unit_test(test_accept_key_more_vectors),
        cmocka_unit_test(test_utf8_table_matches_grammar),
        cmocka_unit_test(test_utf8_vectors),
        cmocka_unit_test(test_utf8_never_bytes),
        cmocka_unit_test(test_utf8_exhaustive_short),
        cmocka_unit_test(test_utf8_initial_state),
        cmocka_unit_test(test_utf8_fault_sticks),
        cmocka_unit_test(test_utf8_fast_path_bad_byte_every_offset),
        cmocka_unit_test(test_utf8_fast_path_valid_every_offset),
        cmocka_unit_test(test_mask_matches_naive),
        cmocka_unit_test(test_mask_large),
        cmocka_unit_test(test_mask_twice_restores),
        cmocka_unit_test(test_mask_in_pieces),
        cmocka_unit_test(test_mask_rfc_example),
        cmocka_unit_test(test_strerror_every_result),
    };
    /* testutil.h's helpers are static; reference the ones these tests do not call. */
    return cmocka_run_group_tests(tests, NULL, NULL);
}
