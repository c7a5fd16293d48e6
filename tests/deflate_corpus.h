/* Test inputs made at run time, the same on every machine: English-like text, JSON
   records, structured binary and random bytes (tests/test_deflate.c, the benchmark and
   the fuzz seeds use them). */
#ifndef WS_DEFLATE_CORPUS_H
#define WS_DEFLATE_CORPUS_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t dc_rng_state = 0x2545F491u;
static inline uint32_t dc_rand(void) {
    uint32_t s = dc_rng_state;
    s ^= s << 13, s ^= s >> 17, s ^= s << 5;
    return dc_rng_state = s;
}

static const char *const dc_words[] = {
    "the", "of", "and", "to", "a", "in", "is", "that", "for", "it", "as", "was", "with", "be",
    "by", "on", "not", "he", "this", "are", "or", "his", "from", "at", "which", "but", "have",
    "an", "had", "they", "you", "were", "their", "one", "all", "we", "can", "her", "has",
    "there", "been", "if", "more", "when", "will", "would", "who", "so", "no", "message",
    "connection", "server", "client", "frame", "window", "compression", "deflate", "socket",
    "payload", "extension", "handshake", "protocol", "buffer", "length", "distance", "block",
    "Huffman", "literal", "stream", "header", "network", "browser", "engine", "firmware",
    "memory", "allocation", "performance", "benchmark", "latency", "throughput", "library",
    "specification", "implementation", "interoperability", "negotiation", "parameter"};

/* Text: words drawn with a skewed distribution, sentences and paragraphs. */
static inline void dc_text(unsigned char *p, size_t n) {
    size_t i = 0, nw = sizeof dc_words / sizeof *dc_words;
    unsigned sentence = 0;
    while (i < n) {
        uint32_t r = dc_rand();
        size_t w = (r % nw) * ((r >> 8) % nw) / nw; /* favours the first words */
        const char *s = dc_words[w];
        size_t k = strlen(s);
        if (sentence == 0 && i < n) p[i++] = (unsigned char)(s[0] & ~0x20);
        else if (i < n) p[i++] = (unsigned char)s[0];
        for (k = 1; s[k] && i < n; k++) p[i++] = (unsigned char)s[k];
        sentence++;
        if (i < n) {
            uint32_t q = dc_rand() % 16;
            if (sentence > 6 && q < 3) {
                p[i++] = '.', sentence = 0;
                if (i < n) p[i++] = (dc_rand() % 8) ? ' ' : '\n';
            } else if (q == 3) {
                p[i++] = ',';
                if (i < n) p[i++] = ' ';
            } else {
                p[i++] = ' ';
            }
        }
    }
}

/* JSON: an array of records, the kind a WebSocket API pushes. */
static inline void dc_json(unsigned char *p, size_t n) {
    size_t i = 0;
    unsigned id = 1000;
    char rec[512];
    while (i < n) {
        int k = snprintf(rec, sizeof rec,
                         "{\"id\":%u,\"type\":\"%s\",\"user\":{\"name\":\"user_%u\",\"email\":"
                         "\"user%u@example.com\",\"verified\":%s},\"price\":%u.%02u,\"qty\":%u,"
                         "\"tags\":[\"%s\",\"%s\"],\"ts\":16%08u}%s",
                         id, (dc_rand() & 1) ? "trade" : "quote", dc_rand() % 5000, dc_rand() % 5000,
                         (dc_rand() & 3) ? "true" : "false", dc_rand() % 1000, dc_rand() % 100,
                         dc_rand() % 50, dc_words[dc_rand() % 40], dc_words[dc_rand() % 60],
                         dc_rand() % 100000000u, (dc_rand() % 4) ? ",\n" : ",");
        size_t m = (size_t)k < n - i ? (size_t)k : n - i;
        memcpy(p + i, rec, m);
        i += m, id += 1 + dc_rand() % 3;
    }
}

/* Binary: records of little-endian fields with small deltas and some noise, like game
   state or sensor data. */
static inline void dc_binary(unsigned char *p, size_t n) {
    size_t i = 0;
    uint32_t t = 0, x = 5000, y = 7000;
    while (i < n) {
        unsigned char rec[16];
        size_t k, m;
        t += 16 + dc_rand() % 4, x += dc_rand() % 7 - 3, y += dc_rand() % 5 - 2;
        for (k = 0; k < 4; k++) rec[k] = (unsigned char)(t >> (8 * k));
        for (k = 0; k < 4; k++) rec[4 + k] = (unsigned char)(x >> (8 * k));
        for (k = 0; k < 4; k++) rec[8 + k] = (unsigned char)(y >> (8 * k));
        rec[12] = (unsigned char)(dc_rand() % 3), rec[13] = 0x7f;
        rec[14] = (unsigned char)dc_rand(), rec[15] = (unsigned char)(dc_rand() % 16);
        m = n - i < 16 ? n - i : 16;
        memcpy(p + i, rec, m);
        i += m;
    }
}

static inline void dc_random(unsigned char *p, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) p[i] = (unsigned char)(dc_rand() >> 11);
}

/* kind: 0 text, 1 JSON, 2 binary, 3 random */
static inline unsigned char *dc_make(int kind, size_t n, uint32_t seed) {
    unsigned char *p = (unsigned char *)malloc(n ? n : 1);
    dc_rng_state = seed ? seed : 1;
    if (kind == 0) dc_text(p, n);
    else if (kind == 1) dc_json(p, n);
    else if (kind == 2) dc_binary(p, n);
    else dc_random(p, n);
    return p;
}
#endif
