/* Shared helpers for the benchmarks: input generation, a fast deterministic RNG. */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t bench_rng_state = 0x9E3779B97F4A7C15ull;

static uint32_t bench_rand32(void) {
    uint64_t x = bench_rng_state;
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    bench_rng_state = x;
    return (uint32_t)(x >> 16);
}

static void bench_fill_random(unsigned char *p, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) p[i] = (unsigned char)bench_rand32();
}

/* Header of a client (masked) frame, written by hand so the inputs do not depend on the
   encoder under test. Returns the header size. */
static size_t bench_client_header(unsigned char *out, unsigned opcode, uint64_t len,
                                  const unsigned char key[4]) {
    size_t n = 2;
    out[0] = (unsigned char)(0x80 | opcode);
    if (len < 126) {
        out[1] = (unsigned char)(0x80 | len);
    } else if (len <= 0xffff) {
        out[1] = 0x80 | 126;
        out[2] = (unsigned char)(len >> 8), out[3] = (unsigned char)len;
        n = 4;
    } else {
        int i;
        out[1] = 0x80 | 127;
        for (i = 0; i < 8; i++) out[2 + i] = (unsigned char)(len >> (56 - 8 * i));
        n = 10;
    }
    memcpy(out + n, key, 4);
    return n + 4;
}

static size_t bench_client_frame_len(uint64_t len) {
    return (size_t)len + 6 + (len >= 126 ? 2 : 0) + (len > 0xffff ? 6 : 0);
}

/* count masked binary frames of `payload` bytes each, keys and payloads random, payload
   masked byte by byte (a reference independent of the code under test). */
static unsigned char *bench_make_client_frames(size_t payload, size_t count, size_t *total) {
    size_t flen = bench_client_frame_len(payload), i, j;
    unsigned char *buf = (unsigned char *)malloc(flen * count + 64), *p = buf;
    if (!buf) abort();
    for (i = 0; i < count; i++) {
        unsigned char key[4];
        size_t h;
        bench_fill_random(key, 4);
        h = bench_client_header(p, 0x2, payload, key);
        bench_fill_random(p + h, payload);
        for (j = 0; j < payload; j++) p[h + j] ^= key[j & 3];
        p += h + payload;
    }
    *total = (size_t)(p - buf);
    return buf;
}

#endif
