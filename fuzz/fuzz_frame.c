/* The frame codec: ws_frame_decode on arbitrary bytes (and every prefix of them),
   ws_frame_check for both roles and every RSV allowance, the encode/decode round trip,
   and ws_mask in pieces at any alignment against a byte-at-a-time reference.
   Input: 1 control byte, then the bytes to decode (they double as a payload). */
#include "fuzz_common.h"

static int is_reserved(unsigned op) { return (op >= 3 && op <= 7) || op >= 0xB; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *s;
    size_t n, k;
    unsigned ctl;
    char *buf;
    ws_frame f, g;
    int r;
    if (size < 1) return 0;
    ctl = data[0];
    s = data + 1, n = size - 1;
    buf = fz_dup(s, n);
    memset(&f, 0xAA, sizeof f);
    r = ws_frame_decode(buf, n, &f);
    FZ_CHECK(r == WS_NEED_MORE || r == WS_ERR_PROTOCOL || (r >= 2 && r <= WS_MAX_HEADER));

    /* The RFC's rules, restated from the bytes themselves. */
    if (n >= 2) {
        unsigned op = s[0] & 15, fin = s[0] >> 7, len7 = s[1] & 127, masked = s[1] >> 7;
        size_t need = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0);
        size_t need_all = need + (masked ? 4 : 0);
        uint64_t len = len7;
        if (is_reserved(op) || ((op & 8) && !fin)) {
            FZ_CHECK(r == WS_ERR_PROTOCOL);
        } else if (n < need) {
            FZ_CHECK(r == WS_NEED_MORE);
        } else {
            if (len7 == 126) len = (uint64_t)s[2] << 8 | s[3];
            if (len7 == 127)
                for (len = 0, k = 2; k < 10; k++) len = len << 8 | s[k];
            if (len >> 63) FZ_CHECK(r == WS_ERR_PROTOCOL);
            else if ((op & 8) && len > 125) FZ_CHECK(r == WS_ERR_PROTOCOL);
            else if (n < need_all) FZ_CHECK(r == WS_NEED_MORE);
            else {
                FZ_CHECK((size_t)r == need_all);
                FZ_CHECK(f.fin == fin && f.opcode == op && f.masked == masked && f.len == len);
                FZ_CHECK(f.rsv == ((s[0] >> 4) & 7));
                if (masked) FZ_CHECK(memcmp(f.key, s + need, 4) == 0);
            }
        }
    } else {
        FZ_CHECK(r == WS_NEED_MORE);
    }

    /* Every shorter prefix says "need more" or the same error, never something else. */
    for (k = 0; k < n && k < 16; k++) {
        ws_frame h;
        char *pre = fz_dup(s, k);
        int q = ws_frame_decode(pre, k, &h);
        free(pre);
        if (r >= 0) FZ_CHECK(q == WS_NEED_MORE || (size_t)r <= k);
        else FZ_CHECK(q == WS_NEED_MORE || q == r);
        if (r >= 0 && (size_t)r <= k) FZ_CHECK(q == r && h.len == f.len);
    }

    if (r >= 2) {
        unsigned char out[WS_MAX_HEADER];
        size_t h;
        int srv, rsv_ok;
        /* check(): RSV only when allowed, the mask bit per role */
        for (srv = 0; srv < 2; srv++)
            for (rsv_ok = 0; rsv_ok < 8; rsv_ok++) {
                ws_result c = ws_frame_check(&f, srv, (unsigned)rsv_ok);
                int want = !(f.rsv & ~rsv_ok) && (f.masked != 0) == (srv != 0);
                FZ_CHECK((c == WS_OK) == want);
                FZ_CHECK(c == WS_OK || c == WS_ERR_PROTOCOL);
            }
        /* encode(decode(x)) decodes to the same frame, in the minimal form */
        h = ws_frame_encode(out, &f);
        FZ_CHECK(h >= 2 && h <= WS_MAX_HEADER);
        FZ_CHECK(h == (size_t)(2 + (f.len >= 126 ? 2 : 0) + (f.len > 0xffff ? 6 : 0) + (f.masked ? 4 : 0)));
        FZ_CHECK(ws_frame_decode(out, h, &g) == (int)h);
        FZ_CHECK(g.fin == f.fin && g.rsv == f.rsv && g.opcode == f.opcode &&
                 g.masked == f.masked && g.len == f.len);
        if (f.masked) FZ_CHECK(memcmp(g.key, f.key, 4) == 0);
        /* a minimally encoded input comes back byte for byte */
        if ((size_t)r == h) FZ_CHECK(memcmp(out, s, h) == 0);
        else FZ_CHECK((size_t)r > h);
    }

    /* An arbitrary header from the control byte and the input encodes and decodes. */
    {
        ws_frame e;
        unsigned char out[WS_MAX_HEADER];
        size_t h;
        int q;
        memset(&e, 0, sizeof e);
        e.fin = (unsigned char)(ctl >> 7);
        e.rsv = (unsigned char)((ctl >> 4) & 7);
        e.opcode = (unsigned char)(ctl & 15);
        e.masked = (unsigned char)(n > 0 && (s[0] & 1));
        for (k = 0; k < 8 && k < n; k++) e.len = e.len << 8 | s[k];
        e.len &= UINT64_C(0x7fffffffffffffff); /* §5.2: the top bit is zero */
        if (e.opcode & 8) e.len %= 126;         /* §5.5: control payloads fit 125 */
        if (e.masked) for (k = 0; k < 4; k++) e.key[k] = (unsigned char)(k < n ? s[n - 1 - k] : 0);
        h = ws_frame_encode(out, &e);
        q = ws_frame_decode(out, h, &g);
        if (is_reserved(e.opcode) || ((e.opcode & 8) && !e.fin)) {
            FZ_CHECK(q == WS_ERR_PROTOCOL);
        } else {
            FZ_CHECK(q == (int)h);
            FZ_CHECK(g.fin == e.fin && g.rsv == e.rsv && g.opcode == e.opcode &&
                     g.masked == e.masked && g.len == e.len);
        }
    }

    /* ws_mask in two pieces at any alignment equals the byte-wise XOR; twice is identity. */
    if (n >= 4) {
        unsigned char key[4], *ref, *raw, *p;
        size_t off = ctl & 7, cut = n > 4 ? (ctl * 7u) % (n - 4 + 1) : 0, len = n - 4;
        unsigned phase0 = (ctl >> 3) & 3, ph;
        memcpy(key, s, 4);
        ref = (unsigned char *)fz_dup(s + 4, len);
        for (k = 0; k < len; k++) ref[k] ^= key[(phase0 + k) & 3];
        raw = (unsigned char *)malloc(len + 8);
        if (!raw) abort();
        p = raw + off;
        if (len) memcpy(p, s + 4, len);
        ph = ws_mask(p, cut, key, phase0);
        FZ_CHECK(ph == ((phase0 + cut) & 3));
        ph = ws_mask(p + cut, len - cut, key, ph);
        FZ_CHECK(ph == ((phase0 + len) & 3));
        FZ_CHECK(len == 0 || memcmp(p, ref, len) == 0);
        ws_mask(p, len, key, phase0);
        FZ_CHECK(len == 0 || memcmp(p, s + 4, len) == 0);
        free(raw);
        free(ref);
    }
    free(buf);
    return 0;
}
