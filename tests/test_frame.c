/* Layer 3, the frame codec (RFC 6455 §5.2): ws_frame_decode, ws_frame_check,
   ws_frame_encode and ws_close_code_valid. Decoder input always sits in a malloc'd
   buffer of exactly the size passed, so ASan reports a read past `avail`. Headers are
   built here by hand (put_header) so decode is never tested only against encode. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#define WS_IMPLEMENTATION
#include "testutil.h"

static const unsigned char rfc_key[4] = {0x37, 0xfa, 0x21, 0x3d}; /* §5.7's key */

static const unsigned data_ops[] = {WS_OP_CONT, WS_OP_TEXT, WS_OP_BINARY};
static const unsigned ctrl_ops[] = {WS_OP_CLOSE, WS_OP_PING, WS_OP_PONG};
static const unsigned all_ops[] = {WS_OP_CONT, WS_OP_TEXT, WS_OP_BINARY,
                                   WS_OP_CLOSE, WS_OP_PING, WS_OP_PONG};
static const unsigned reserved_ops[] = {0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF};

#define MAX63 UINT64_C(0x7fffffffffffffff)
/* 7-bit, 16-bit and 64-bit forms and the edges between them (§5.2) */
static const uint64_t lengths[] = {0, 1, 125, 126, 127, 65535, 65536,
                                   UINT64_C(0xffffffff), UINT64_C(0x100000000), MAX63};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define FORM_MIN 0 /* put_header: the minimal length form; else 7, 16 or 64 */

/* ---------------------------------------------------------------------------------
   Helpers
   --------------------------------------------------------------------------------- */

/* A §5.2 header written byte by byte. key NULL: unmasked. Returns its size. */
static size_t put_header(unsigned char *out, int fin, unsigned rsv, unsigned op,
                         const unsigned char *key, uint64_t len, int form) {
    size_t n = 0;
    int i;
    if (form == FORM_MIN) form = len <= 125 ? 7 : len <= 0xffff ? 16 : 64;
    out[n++] = (unsigned char)((fin ? 0x80 : 0) | (rsv & 7) << 4 | (op & 15));
    out[n] = key ? 0x80 : 0;
    if (form == 7) {
        out[n++] |= (unsigned char)len;
    } else if (form == 16) {
        out[n++] |= 126;
        out[n++] = (unsigned char)(len >> 8);
        out[n++] = (unsigned char)len;
    } else {
        out[n++] |= 127;
        for (i = 7; i >= 0; i--) out[n++] = (unsigned char)(len >> (8 * i));
    }
    if (key) {
        memcpy(out + n, key, 4);
        n += 4;
    }
    return n;
}

/* ws_frame_decode on a heap copy of exactly n bytes. */
static int decode_exact(const unsigned char *bytes, size_t n, ws_frame *f) {
    unsigned char *p = (unsigned char *)malloc(n ? n : 1);
    int r;
    assert_non_null(p);
    if (n) memcpy(p, bytes, n);
    r = ws_frame_decode(p, n, f);
    free(p);
    return r;
}

static ws_frame make_frame(int fin, unsigned rsv, unsigned op, const unsigned char *key,
                           uint64_t len) {
    ws_frame f;
    memset(&f, 0, sizeof f);
    f.fin = (unsigned char)fin;
    f.rsv = (unsigned char)rsv;
    f.opcode = (unsigned char)op;
    f.masked = key != NULL;
    if (key) memcpy(f.key, key, 4);
    f.len = len;
    return f;
}

static void expect_same_frame(const ws_frame *got, const ws_frame *want) {
    assert_int_equal(got->fin, want->fin);
    assert_int_equal(got->rsv, want->rsv);
    assert_int_equal(got->opcode, want->opcode);
    assert_int_equal(!!got->masked, !!want->masked);
    if (want->masked) assert_memory_equal(got->key, want->key, 4);
    assert_true(got->len == want->len);
}

/* A valid header decodes to its fields and size - with nothing after it and with payload
   bytes after it - and every shorter prefix, byte by byte, asks for more (§5.2). */
static void expect_decodes(int fin, unsigned rsv, unsigned op, const unsigned char *key,
                           uint64_t len, int form) {
    unsigned char buf[WS_MAX_HEADER + 3] = {0};
    ws_frame want = make_frame(fin, rsv, op, key, len), got;
    size_t n = put_header(buf, fin, rsv, op, key, len, form), k;
    memset(&got, 0xee, sizeof got);
    if (decode_exact(buf, n, &got) != (int)n)
        fail_msg("op %x len %llu form %d masked %d fin %d rsv %u: decode != %u", op,
                 (unsigned long long)len, form, key != NULL, fin, rsv, (unsigned)n);
    expect_same_frame(&got, &want);
    assert_int_equal(decode_exact(buf, n + 3, &got), (int)n);
    expect_same_frame(&got, &want);
    for (k = 0; k < n; k++) {
        if (decode_exact(buf, k, &got) != WS_NEED_MORE)
            fail_msg("op %x len %llu form %d masked %d: prefix of %u/%u bytes is not NEED_MORE",
                     op, (unsigned long long)len, form, key != NULL, (unsigned)k, (unsigned)n);
    }
}

/* A header that breaks a §5.2/§5.5 rule: WS_ERR_PROTOCOL once whole; before that its
   prefixes may ask for more or already fail, but never succeed. */
static void expect_rejected(int fin, unsigned op, const unsigned char *key, uint64_t len,
                            int form) {
    unsigned char buf[WS_MAX_HEADER];
    ws_frame f;
    size_t n = put_header(buf, fin, 0, op, key, len, form), k;
    int r = decode_exact(buf, n, &f);
    if (r != WS_ERR_PROTOCOL)
        fail_msg("op %x fin %d len %llu form %d masked %d: got %d, want WS_ERR_PROTOCOL", op,
                 fin, (unsigned long long)len, form, key != NULL, r);
    for (k = 0; k < n; k++) {
        r = decode_exact(buf, k, &f);
        if (r != WS_NEED_MORE && r != WS_ERR_PROTOCOL)
            fail_msg("op %x len %llu: prefix of %u bytes gave %d", op,
                     (unsigned long long)len, (unsigned)k, r);
    }
}

static int is_control(unsigned op) { return op >= 0x8; }

/* ---------------------------------------------------------------------------------
   ws_frame_decode
   --------------------------------------------------------------------------------- */

/* §5.2: every defined opcode, every length form and edge, masked and not, FIN 0/1. */
static void test_decode_opcodes_and_lengths(void **state) {
    size_t o, l;
    int masked, fin;
    (void)state;
    for (o = 0; o < COUNT(all_ops); o++)
        for (l = 0; l < COUNT(lengths); l++)
            for (masked = 0; masked < 2; masked++)
                for (fin = 0; fin < 2; fin++) {
                    if (is_control(all_ops[o]) && (!fin || lengths[l] > WS_MAX_CONTROL))
                        continue; /* rejected, see the §5.5 tests */
                    expect_decodes(fin, 0, all_ops[o], masked ? rfc_key : NULL, lengths[l],
                                   FORM_MIN);
                }
}

/* §5.2: "the minimal number of bytes MUST be used" binds senders; a receiver accepts a
   longer form (ws.h: "Lengths need not be minimally encoded on receive"). */
static void test_decode_non_minimal_lengths(void **state) {
    static const uint64_t small[] = {0, 5, 125, 126, 65535};
    size_t o, l;
    int masked;
    (void)state;
    for (o = 0; o < COUNT(all_ops); o++)
        for (l = 0; l < COUNT(small); l++)
            for (masked = 0; masked < 2; masked++) {
                const unsigned char *key = masked ? rfc_key : NULL;
                if (is_control(all_ops[o]) && small[l] > WS_MAX_CONTROL) continue;
                if (small[l] < 126) expect_decodes(1, 0, all_ops[o], key, small[l], 16);
                expect_decodes(1, 0, all_ops[o], key, small[l], 64);
            }
}

/* §5.2: RSV bits come through as bits 2..0 (RSV1 = 0x4); judging them is
   ws_frame_check's job, since an extension may have negotiated them. */
static void test_decode_rsv_bits(void **state) {
    unsigned rsv;
    (void)state;
    for (rsv = 0; rsv < 8; rsv++) {
        expect_decodes(1, rsv, WS_OP_TEXT, NULL, 5, FORM_MIN);
        expect_decodes(0, rsv, WS_OP_BINARY, rfc_key, 300, FORM_MIN);
        expect_decodes(1, rsv, WS_OP_PING, rfc_key, 0, FORM_MIN);
    }
}

/* §5.2: opcodes 0x3-0x7 and 0xB-0xF are reserved: "MUST _Fail the WebSocket Connection_"
   for an unknown opcode. */
static void test_decode_reserved_opcodes(void **state) {
    static const uint64_t lens[] = {0, 5, 200, 70000};
    size_t o, l;
    int masked, fin;
    (void)state;
    for (o = 0; o < COUNT(reserved_ops); o++)
        for (l = 0; l < COUNT(lens); l++)
            for (masked = 0; masked < 2; masked++)
                for (fin = 0; fin < 2; fin++)
                    expect_rejected(fin, reserved_ops[o], masked ? rfc_key : NULL, lens[l],
                                    FORM_MIN);
}

/* §5.5: "Control frames themselves MUST NOT be fragmented." */
static void test_decode_fragmented_control(void **state) {
    static const uint64_t lens[] = {0, 5, 125};
    size_t o, l;
    int masked;
    (void)state;
    for (o = 0; o < COUNT(ctrl_ops); o++)
        for (l = 0; l < COUNT(lens); l++)
            for (masked = 0; masked < 2; masked++)
                expect_rejected(0, ctrl_ops[o], masked ? rfc_key : NULL, lens[l], FORM_MIN);
}

/* §5.5: "All control frames MUST have a payload length of 125 bytes or less", in any
   length form. */
static void test_decode_control_too_long(void **state) {
    size_t o, l;
    int masked;
    (void)state;
    for (o = 0; o < COUNT(ctrl_ops); o++)
        for (masked = 0; masked < 2; masked++) {
            const unsigned char *key = masked ? rfc_key : NULL;
            for (l = 0; l < COUNT(lengths); l++)
                if (lengths[l] > WS_MAX_CONTROL)
                    expect_rejected(1, ctrl_ops[o], key, lengths[l], FORM_MIN);
            expect_rejected(1, ctrl_ops[o], key, 126, 64);
            expect_rejected(1, ctrl_ops[o], key, 0xffff, 16);
        }
}

/* §5.2: in the 64-bit form "the most significant bit MUST be 0". */
static void test_decode_length_top_bit(void **state) {
    static const uint64_t bad[] = {UINT64_C(0x8000000000000000), UINT64_C(0x8000000000000005),
                                   UINT64_C(0xffffffffffffffff)};
    size_t o, l;
    int masked;
    (void)state;
    for (o = 0; o < COUNT(data_ops); o++)
        for (l = 0; l < COUNT(bad); l++)
            for (masked = 0; masked < 2; masked++)
                expect_rejected(1, data_ops[o], masked ? rfc_key : NULL, bad[l], 64);
    expect_decodes(1, 0, WS_OP_BINARY, NULL, MAX63, 64); /* the largest legal length */
}

/* §5.7's example frames, decoded from their exact bytes (payload included). */
static const unsigned char ex_hello[] = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
static const unsigned char ex_hello_masked[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                                0x7f, 0x9f, 0x4d, 0x51, 0x58};
static const unsigned char ex_hel[] = {0x01, 0x03, 0x48, 0x65, 0x6c};
static const unsigned char ex_lo[] = {0x80, 0x02, 0x6c, 0x6f};
static const unsigned char ex_ping[] = {0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
static const unsigned char ex_pong_masked[] = {0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                               0x7f, 0x9f, 0x4d, 0x51, 0x58};
static const unsigned char ex_256[] = {0x82, 0x7E, 0x01, 0x00};
static const unsigned char ex_64k[] = {0x82, 0x7F, 0x00, 0x00, 0x00, 0x00,
                                       0x00, 0x01, 0x00, 0x00};

static const struct example {
    const unsigned char *bytes;
    size_t n, hdr;
    int fin;
    unsigned op;
    int masked;
    uint64_t len;
    const char *payload; /* after unmasking; NULL: not part of the example */
} examples[] = {
    {ex_hello, sizeof ex_hello, 2, 1, WS_OP_TEXT, 0, 5, "Hello"},
    {ex_hello_masked, sizeof ex_hello_masked, 6, 1, WS_OP_TEXT, 1, 5, "Hello"},
    {ex_hel, sizeof ex_hel, 2, 0, WS_OP_TEXT, 0, 3, "Hel"},
    {ex_lo, sizeof ex_lo, 2, 1, WS_OP_CONT, 0, 2, "lo"},
    {ex_ping, sizeof ex_ping, 2, 1, WS_OP_PING, 0, 5, "Hello"},
    {ex_pong_masked, sizeof ex_pong_masked, 6, 1, WS_OP_PONG, 1, 5, "Hello"},
    {ex_256, sizeof ex_256, 4, 1, WS_OP_BINARY, 0, 256, NULL},
    {ex_64k, sizeof ex_64k, 10, 1, WS_OP_BINARY, 0, 65536, NULL},
};

/* §5.7: each example's header, fields and (unmasked) payload. */
static void test_decode_rfc_examples(void **state) {
    size_t i, k;
    (void)state;
    for (i = 0; i < COUNT(examples); i++) {
        const struct example *e = &examples[i];
        ws_frame f;
        assert_int_equal(decode_exact(e->bytes, e->n, &f), (int)e->hdr);
        assert_int_equal(f.fin, e->fin);
        assert_int_equal(f.rsv, 0);
        assert_int_equal(f.opcode, e->op);
        assert_int_equal(!!f.masked, e->masked);
        assert_true(f.len == e->len);
        if (e->masked) assert_memory_equal(f.key, rfc_key, 4);
        if (e->payload) {
            unsigned char p[8];
            assert_int_equal(e->n - e->hdr, f.len);
            memcpy(p, e->bytes + e->hdr, (size_t)f.len);
            if (f.masked) ws_mask(p, (size_t)f.len, f.key, 0);
            assert_memory_equal(p, e->payload, (size_t)f.len);
        }
        for (k = 0; k < e->hdr; k++) assert_int_equal(decode_exact(e->bytes, k, &f), WS_NEED_MORE);
    }
}

/* ---------------------------------------------------------------------------------
   ws_frame_check (connection-dependent rules)
   --------------------------------------------------------------------------------- */

/* §5.1: a client MUST mask every frame it sends, a server MUST NOT; the receiver fails
   the connection otherwise. §5.3 for the masked bit. */
static void test_check_mask_per_role(void **state) {
    size_t o;
    (void)state;
    for (o = 0; o < COUNT(all_ops); o++) {
        ws_frame masked = make_frame(1, 0, all_ops[o], rfc_key, 5);
        ws_frame plain = make_frame(1, 0, all_ops[o], NULL, 5);
        assert_int_equal(ws_frame_check(&masked, 1, 0), WS_OK);
        assert_int_equal(ws_frame_check(&plain, 1, 0), WS_ERR_PROTOCOL);
        assert_int_equal(ws_frame_check(&plain, 0, 0), WS_OK);
        assert_int_equal(ws_frame_check(&masked, 0, 0), WS_ERR_PROTOCOL);
    }
}

/* §5.2: RSV1-3 "MUST be 0 unless an extension is negotiated that defines meanings";
   a bit is fine exactly when rsv_allowed has it. */
static void test_check_rsv_bits(void **state) {
    unsigned rsv, allowed;
    int server;
    (void)state;
    for (rsv = 0; rsv < 8; rsv++)
        for (allowed = 0; allowed < 8; allowed++)
            for (server = 0; server < 2; server++) {
                ws_frame f = make_frame(1, rsv, WS_OP_TEXT, server ? rfc_key : NULL, 3);
                ws_result want = (rsv & ~allowed) ? WS_ERR_PROTOCOL : WS_OK;
                if (ws_frame_check(&f, server, allowed) != want)
                    fail_msg("rsv %u allowed %u server %d: want %d", rsv, allowed, server, want);
            }
}

/* ---------------------------------------------------------------------------------
   ws_frame_encode
   --------------------------------------------------------------------------------- */

/* Encode into an exact WS_MAX_HEADER heap buffer; compare with the hand-built header. */
static size_t expect_encodes(int fin, unsigned rsv, unsigned op, const unsigned char *key,
                             uint64_t len, size_t want_size) {
    unsigned char *out = (unsigned char *)malloc(WS_MAX_HEADER), want[WS_MAX_HEADER];
    ws_frame f = make_frame(fin, rsv, op, key, len);
    size_t n = ws_frame_encode(out, &f), wn = put_header(want, fin, rsv, op, key, len, FORM_MIN);
    assert_int_equal(wn, want_size);
    if (n != want_size)
        fail_msg("len %llu masked %d: encoded %u bytes, want %u", (unsigned long long)len,
                 key != NULL, (unsigned)n, (unsigned)want_size);
    assert_memory_equal(out, want, n);
    free(out);
    return n;
}

/* §5.2: "the minimal number of bytes MUST be used to encode the length" - 7-bit up to
   125, 16-bit up to 65535, 64-bit above; the masking key adds 4 bytes. */
static void test_encode_minimal_length(void **state) {
    static const struct { uint64_t len; size_t size; } v[] = {
        {0, 2}, {1, 2}, {125, 2}, {126, 4}, {127, 4}, {65535, 4}, {65536, 10},
        {UINT64_C(0xffffffff), 10}, {UINT64_C(0x100000000), 10}, {MAX63, 10}};
    size_t i;
    (void)state;
    for (i = 0; i < COUNT(v); i++) {
        expect_encodes(1, 0, WS_OP_BINARY, NULL, v[i].len, v[i].size);
        expect_encodes(0, 0, WS_OP_TEXT, rfc_key, v[i].len, v[i].size + 4);
    }
}

/* §5.2: every field survives encode then decode (opcodes, FIN, RSV, mask, lengths). */
static void test_encode_round_trip(void **state) {
    size_t o, l;
    unsigned rsv;
    int fin, masked;
    (void)state;
    for (o = 0; o < COUNT(all_ops); o++)
        for (l = 0; l < COUNT(lengths); l++)
            for (rsv = 0; rsv < 8; rsv++)
                for (fin = 0; fin < 2; fin++)
                    for (masked = 0; masked < 2; masked++) {
                        unsigned char out[WS_MAX_HEADER];
                        ws_frame in, back;
                        size_t n;
                        if (is_control(all_ops[o]) && (!fin || lengths[l] > WS_MAX_CONTROL))
                            continue;
                        in = make_frame(fin, rsv, all_ops[o], masked ? rfc_key : NULL,
                                        lengths[l]);
                        n = ws_frame_encode(out, &in);
                        assert_in_range(n, 2, WS_MAX_HEADER);
                        assert_int_equal(decode_exact(out, n, &back), (int)n);
                        expect_same_frame(&back, &in);
                    }
}

/* §5.7: whole example frames built with encode + ws_mask (testutil's tu_frame uses the
   RFC's masking key) are byte for byte the RFC's. */
static void test_encode_rfc_examples(void **state) {
    unsigned char out[WS_MAX_HEADER + 8];
    unsigned char *big = (unsigned char *)malloc(65536 + WS_MAX_HEADER);
    unsigned char *zeros = (unsigned char *)calloc(1, 65536);
    (void)state;
    assert_int_equal(tu_frame(out, 1, 0, WS_OP_TEXT, 0, "Hello", 5), sizeof ex_hello);
    assert_memory_equal(out, ex_hello, sizeof ex_hello);
    assert_int_equal(tu_frame(out, 1, 0, WS_OP_TEXT, 1, "Hello", 5), sizeof ex_hello_masked);
    assert_memory_equal(out, ex_hello_masked, sizeof ex_hello_masked);
    assert_int_equal(tu_frame(out, 0, 0, WS_OP_TEXT, 0, "Hel", 3), sizeof ex_hel);
    assert_memory_equal(out, ex_hel, sizeof ex_hel);
    assert_int_equal(tu_frame(out, 1, 0, WS_OP_CONT, 0, "lo", 2), sizeof ex_lo);
    assert_memory_equal(out, ex_lo, sizeof ex_lo);
    assert_int_equal(tu_frame(out, 1, 0, WS_OP_PING, 0, "Hello", 5), sizeof ex_ping);
    assert_memory_equal(out, ex_ping, sizeof ex_ping);
    assert_int_equal(tu_frame(out, 1, 0, WS_OP_PONG, 1, "Hello", 5), sizeof ex_pong_masked);
    assert_memory_equal(out, ex_pong_masked, sizeof ex_pong_masked);
    assert_int_equal(tu_frame(big, 1, 0, WS_OP_BINARY, 0, zeros, 256), 4 + 256);
    assert_memory_equal(big, ex_256, sizeof ex_256);
    assert_int_equal(tu_frame(big, 1, 0, WS_OP_BINARY, 0, zeros, 65536),
                     10 + 65536);
    assert_memory_equal(big, ex_64k, sizeof ex_64k);
    free(big);
    free(zeros);
}

/* ---------------------------------------------------------------------------------
   Close status codes
   --------------------------------------------------------------------------------- */

/* §7.4.1/§7.4.2 (with the IANA registry's 1012-1014): a close frame may carry 1000-1003,
   1007-1014 or 3000-4999; never 0-999, 1004 (reserved), 1005/1006/1015 (MUST NOT be
   set), 1016-2999 (unassigned), 5000 and up. */
static void test_close_code_valid(void **state) {
    static const unsigned big[] = {65536 + 1000, 65536 + 3000, 0x7fffffffu, 0xffffffffu};
    unsigned code;
    size_t i;
    (void)state;
    for (code = 0; code <= 65535; code++) {
        int want = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
                   (code >= 3000 && code <= 4999);
        if (!!ws_close_code_valid(code) != want)
            fail_msg("ws_close_code_valid(%u) should be %d", code, want);
    }
    for (i = 0; i < COUNT(big); i++)
        if (ws_close_code_valid(big[i])) fail_msg("ws_close_code_valid(%u) should be 0", big[i]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_opcodes_and_lengths),
        cmocka_unit_test(test_decode_non_minimal_lengths),
        cmocka_unit_test(test_decode_rsv_bits),
        cmocka_unit_test(test_decode_reserved_opcodes),
        cmocka_unit_test(test_decode_fragmented_control),
        cmocka_unit_test(test_decode_control_too_long),
        cmocka_unit_test(test_decode_length_top_bit),
        cmocka_unit_test(test_decode_rfc_examples),
        cmocka_unit_test(test_check_mask_per_role),
        cmocka_unit_test(test_check_rsv_bits),
        cmocka_unit_test(test_encode_minimal_length),
        cmocka_unit_test(test_encode_round_trip),
        cmocka_unit_test(test_encode_rfc_examples),
        cmocka_unit_test(test_close_code_valid),
    };
    /* testutil.h's helpers are static; reference the ones these tests do not call. */
    return cmocka_run_group_tests(tests, NULL, NULL);
}
