/* The incremental UTF-8 validator against the RFC 3629 reference in fuzz_common.h:
   the verdict of ws_utf8_check, the byte where ws_utf8_feed first fails, fed whole,
   split at points the input chooses, and byte by byte; the error sticks.
   Input: 2 bytes of split points, then the text. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *s;
    size_t n, bad, i, cuts[4], k;
    int complete;
    char *t;
    ws_utf8 v;
    if (size < 2) return 0;
    s = data + 2, n = size - 2;
    t = fz_dup(s, n);
    bad = fz_ref_utf8(s, n, &complete);

    /* one whole string */
    FZ_CHECK((ws_utf8_check(t, n) == WS_OK) == (bad == n && complete));

    /* all at once */
    v.state = 0;
    FZ_CHECK((ws_utf8_feed(&v, t, n) == WS_OK) == (bad == n));
    if (bad == n) FZ_CHECK(ws_utf8_done(&v) == complete);

    /* byte by byte: the failing byte is the reference's */
    v.state = 0;
    for (i = 0; i < n; i++) {
        char *one = fz_dup(t + i, 1);
        ws_result r = ws_utf8_feed(&v, one, 1);
        free(one);
        if (i < bad) FZ_CHECK(r == WS_OK);
        else FZ_CHECK(r == WS_ERR_UTF8); /* at the bad byte, and sticky after it */
    }
    if (bad == n) FZ_CHECK(ws_utf8_done(&v) == complete);
    FZ_CHECK(ws_utf8_feed(&v, "", 0) == (bad == n ? WS_OK : WS_ERR_UTF8));

    /* split in three pieces at input-chosen points: the piece holding the bad byte
       fails, the ones before it pass, every later one fails */
    cuts[0] = 0;
    cuts[1] = n ? data[0] % (n + 1) : 0;
    cuts[2] = n ? data[1] % (n + 1) : 0;
    if (cuts[1] > cuts[2]) { size_t x = cuts[1]; cuts[1] = cuts[2]; cuts[2] = x; }
    cuts[3] = n;
    v.state = 0;
    for (k = 0; k < 3; k++) {
        size_t a = cuts[k], b = cuts[k + 1];
        char *piece = fz_dup(t + a, b - a);
        ws_result r = ws_utf8_feed(&v, piece, b - a);
        free(piece);
        if (bad >= b) FZ_CHECK(r == WS_OK);          /* the bad byte comes later */
        else FZ_CHECK(r == WS_ERR_UTF8);              /* in this piece, or sticky */
    }
    if (bad == n) FZ_CHECK(ws_utf8_done(&v) == complete);

    /* at an odd alignment, so the word-wide ASCII path starts anywhere */
    {
        char *u = (char *)malloc(n + 8);
        size_t off = data[0] & 7;
        if (!u) abort();
        if (n) memcpy(u + off, t, n);
        FZ_CHECK((ws_utf8_check(u + off, n) == WS_OK) == (bad == n && complete));
        free(u);
    }
    free(t);
    return 0;
}
