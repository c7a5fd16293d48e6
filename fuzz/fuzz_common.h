/* Shared by every fuzz target: the implementation, a checked assertion that survives
   NDEBUG, a byte reader over the fuzz input, and a counting allocator that knows every
   live block (so a free with the wrong size or pointer, a leak, or a block past the
   configured limits stops the run).

   Each target defines LLVMFuzzerTestOneInput. Built with -fsanitize=fuzzer it is a
   libFuzzer target; built with fuzz/standalone_main.c it replays files (and runs under
   AFL++ with `@@`). */
#ifndef WS_FUZZ_COMMON_H
#define WS_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WS_IMPLEMENTATION
#include "../ws.h"

#ifdef __cplusplus
extern "C"
#endif
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_CHECK(cond)                                                                   \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);  \
            abort();                                                                     \
        }                                                                                \
    } while (0)

/* ---- reading the input ---------------------------------------------------------- */
typedef struct fz_in {
    const uint8_t *p;
    size_t n, off;
} fz_in;

static inline unsigned fz_u8(fz_in *in) { return in->off < in->n ? in->p[in->off++] : 0; }
static inline unsigned fz_u16(fz_in *in) { unsigned a = fz_u8(in); return a << 8 | fz_u8(in); }
static inline size_t fz_left(const fz_in *in) { return in->n - in->off; }
/* Up to want bytes; returns the count actually available. */
static inline size_t fz_take(fz_in *in, size_t want, const uint8_t **out) {
    size_t k = want < fz_left(in) ? want : fz_left(in);
    *out = in->p + in->off;
    in->off += k;
    return k;
}

/* A heap copy of exactly n bytes (no terminator), so ASan sees any read past them. */
static inline char *fz_dup(const void *p, size_t n) {
    char *d = (char *)calloc(n ? n : 1, 1);
    if (!d) abort();
    if (n) memcpy(d, p, n);
    return d;
}

/* ---- counting allocator ---------------------------------------------------------- */
#define FZ_MAX_BLOCKS 16
typedef struct fz_alloc {
    void *ptr[FZ_MAX_BLOCKS];
    size_t size[FZ_MAX_BLOCKS];
    size_t cur, peak, calls, max_block;
    size_t limit_block;   /* no single block may be larger (0: no check) */
    size_t limit_total;   /* current bytes may never exceed (0: no check) */
    long fail_after;      /* allocations left before they fail (-1: never fail) */
    int forbid;           /* zero-allocation mode: any call is a bug */
} fz_alloc;

static inline void *fz_alloc_fn(void *ctx, size_t n) {
    fz_alloc *a = (fz_alloc *)ctx;
    size_t i;
    void *p;
    FZ_CHECK(!a->forbid);
    FZ_CHECK(n > 0);
    a->calls++;
    if (a->limit_block) FZ_CHECK(n <= a->limit_block);
    if (a->fail_after == 0) return NULL;
    if (a->fail_after > 0) a->fail_after--;
    for (i = 0; i < FZ_MAX_BLOCKS && a->ptr[i]; i++) {}
    FZ_CHECK(i < FZ_MAX_BLOCKS); /* a connection holds two buffers; 16 means a leak */
    p = malloc(n);
    if (!p) return NULL;
    a->ptr[i] = p, a->size[i] = n;
    a->cur += n;
    if (a->limit_total) FZ_CHECK(a->cur <= a->limit_total);
    if (a->cur > a->peak) a->peak = a->cur;
    if (n > a->max_block) a->max_block = n;
    return p;
}

static inline void fz_free_fn(void *ctx, void *p, size_t n) {
    fz_alloc *a = (fz_alloc *)ctx;
    size_t i;
    FZ_CHECK(!a->forbid);
    if (!p) return;
    for (i = 0; i < FZ_MAX_BLOCKS && a->ptr[i] != p; i++) {}
    FZ_CHECK(i < FZ_MAX_BLOCKS);  /* freeing something we never handed out */
    FZ_CHECK(a->size[i] == n);    /* the size passed back is the size asked for */
    a->cur -= n;
    a->ptr[i] = NULL, a->size[i] = 0;
    free(p);
}

static inline void fz_alloc_init(fz_alloc *a) {
    memset(a, 0, sizeof *a);
    a->fail_after = -1;
}

static inline ws_allocator fz_allocator(fz_alloc *a) {
    ws_allocator al;
    al.ctx = a, al.alloc = fz_alloc_fn, al.free = fz_free_fn;
    return al;
}

/* ---- RFC 3629 reference: is s[0..n) a prefix of some valid UTF-8 text? -----------
   Written from the RFC's definition (code point ranges per sequence length, no
   surrogates, nothing past U+10FFFF), not from the table the library uses: for an
   incomplete sequence the code points it can still become form an interval, and the
   prefix is viable when that interval meets a valid range. Returns the index of the
   first byte after which the prefix can no longer become valid text (n if none), and
   in *complete whether s ends between code points. */
static inline int fz_ref_ok(uint32_t lo, uint32_t hi, unsigned len) {
    static const uint32_t min_for_len[5] = {0, 0, 0x80, 0x800, 0x10000};
    uint32_t a = lo > min_for_len[len] ? lo : min_for_len[len], b = hi < 0x10FFFF ? hi : 0x10FFFF;
    if (a > b) return 0;
    /* [a,b] minus the surrogates [D800,DFFF] is non-empty? */
    if (a >= 0xD800 && b <= 0xDFFF) return 0;
    return 1;
}

static inline size_t fz_ref_utf8(const uint8_t *s, size_t n, int *complete) {
    size_t i = 0;
    while (i < n) {
        uint8_t b = s[i];
        unsigned len, k;
        uint32_t v;
        if (b < 0x80) { i++; continue; }
        if ((b & 0xE0) == 0xC0) len = 2, v = b & 0x1F;
        else if ((b & 0xF0) == 0xE0) len = 3, v = b & 0x0F;
        else if ((b & 0xF8) == 0xF0) len = 4, v = b & 0x07;
        else { *complete = 0; return i; } /* continuation or 0xF8.. as a lead */
        /* the lead alone: the interval of everything it could become */
        {
            unsigned rest = len - 1;
            uint32_t lo = v << (6 * rest), hi = lo | ((1u << (6 * rest)) - 1);
            if (!fz_ref_ok(lo, hi, len)) { *complete = 0; return i; }
        }
        for (k = 1; k < len; k++) {
            unsigned rest = len - 1 - k;
            uint32_t lo, hi;
            if (i + k >= n) { *complete = 0; return n; } /* viable so far, just cut */
            if ((s[i + k] & 0xC0) != 0x80) { *complete = 0; return i + k; }
            v = v << 6 | (s[i + k] & 0x3F);
            lo = v << (6 * rest), hi = lo | ((1u << (6 * rest)) - 1);
            if (!fz_ref_ok(lo, hi, len)) { *complete = 0; return i + k; }
        }
        i += len;
    }
    *complete = 1;
    return n;
}

#endif
