/* DEFLATE: ws.h's ws_inflate/ws_deflate beside zlib's on the same inputs, in one run.
   Prints machine-readable lines for run.py:
     deflate|<input>|<bytes>|<codec>|<csize>|<c_MBps>|<d_MBps>
   <codec> is ws-default, ws-fast, zlib-6, zlib-1 (compressed size, compression speed,
   then the speed of inflating that output: ws.h's inflater for ws-*, zlib's for zlib-*),
   plus ws-inflate-zlib6 (ws.h inflating zlib-6's output: the like-for-like inflate
   figure) and memory lines  mem|<name>|<bytes>.
   Usage: bench_deflate [seconds per measurement, default 0.3] */
#define _POSIX_C_SOURCE 200809L
#define WS_IMPLEMENTATION
#include "../../ws.h"
#include "../deflate_corpus.h"
#include <time.h>
#include <zlib.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double g_secs = 0.3;
static unsigned char *g_dmem, *g_imem;

/* whole input in one call, sync flush at the end (permessage-deflate's shape) */
static size_t ws_comp(int level, const unsigned char *in, size_t n, unsigned char *out, size_t cap) {
    ws_deflater d;
    size_t used, got;
    ws_deflate_init(&d, 15, level, g_dmem, WS_DEFLATE_MEM(15));
    if (ws_deflate(&d, in, n, &used, out, cap, &got, WS_DEFLATE_SYNC) != WS_OK || used != n) {
        fprintf(stderr, "ws_deflate failed\n");
        exit(1);
    }
    return got;
}

static size_t z_comp(int level, const unsigned char *in, size_t n, unsigned char *out, size_t cap) {
    z_stream s;
    memset(&s, 0, sizeof s);
    deflateInit2(&s, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
    s.next_in = (unsigned char *)in, s.avail_in = (uInt)n;
    s.next_out = out, s.avail_out = (uInt)cap;
    if (deflate(&s, Z_SYNC_FLUSH) != Z_OK || s.avail_in) {
        fprintf(stderr, "zlib deflate failed\n");
        exit(1);
    }
    deflateEnd(&s);
    return cap - s.avail_out;
}

static size_t ws_decomp(const unsigned char *in, size_t n, unsigned char *out, size_t cap) {
    ws_inflater z;
    size_t used, got;
    ws_result r;
    ws_inflate_init(&z, 15, g_imem, WS_INFLATE_MEM(15));
    r = ws_inflate(&z, in, n, &used, out, cap, &got);
    if (r != WS_NEED_MORE || used != n) {
        fprintf(stderr, "ws_inflate failed: %s\n", ws_strerror(r));
        exit(1);
    }
    return got;
}

static size_t z_decomp(const unsigned char *in, size_t n, unsigned char *out, size_t cap) {
    z_stream s;
    int r;
    memset(&s, 0, sizeof s);
    inflateInit2(&s, -15);
    s.next_in = (unsigned char *)in, s.avail_in = (uInt)n;
    s.next_out = out, s.avail_out = (uInt)cap;
    r = inflate(&s, Z_SYNC_FLUSH);
    if ((r != Z_OK && r != Z_BUF_ERROR) || s.avail_in) {
        fprintf(stderr, "zlib inflate failed %d\n", r);
        exit(1);
    }
    inflateEnd(&s);
    return cap - s.avail_out;
}

typedef size_t (*codec_fn)(const unsigned char *, size_t, unsigned char *, size_t);
typedef size_t (*comp_fn)(int, const unsigned char *, size_t, unsigned char *, size_t);

/* MB/s of the input size, best of several timed batches */
static double rate_comp(comp_fn f, int level, const unsigned char *in, size_t n, unsigned char *out,
                        size_t cap) {
    double best = 0, t_end = now() + g_secs;
    do {
        double t0 = now(), dt;
        unsigned k, reps = 1 + (unsigned)(2000000 / (n + 1));
        for (k = 0; k < reps; k++) f(level, in, n, out, cap);
        dt = now() - t0;
        if (n * reps / dt / 1e6 > best) best = n * reps / dt / 1e6;
    } while (now() < t_end);
    return best;
}

static double rate_decomp(codec_fn f, const unsigned char *in, size_t n, size_t raw, unsigned char *out,
                          size_t cap) {
    double best = 0, t_end = now() + g_secs;
    do {
        double t0 = now(), dt;
        unsigned k, reps = 1 + (unsigned)(4000000 / (raw + 1));
        for (k = 0; k < reps; k++) f(in, n, out, cap);
        dt = now() - t0;
        if (raw * reps / dt / 1e6 > best) best = raw * reps / dt / 1e6;
    } while (now() < t_end);
    return best;
}

static unsigned char *read_all(const char **paths, size_t *n) {
    size_t cap = 1 << 20, len = 0;
    unsigned char *p = (unsigned char *)malloc(cap);
    for (; *paths; paths++) {
        FILE *f = fopen(*paths, "rb");
        size_t k;
        if (!f) continue;
        while ((k = fread(p + len, 1, cap - len, f)) > 0) {
            len += k;
            if (len == cap) p = (unsigned char *)realloc(p, cap *= 2);
        }
        fclose(f);
    }
    *n = len;
    return p;
}

static void run(const char *name, const unsigned char *in, size_t n) {
    size_t cap = n + n / 8 + 1024, raw;
    unsigned char *c = (unsigned char *)malloc(cap), *o = (unsigned char *)malloc(n + 1024);
    struct { const char *name; int ws; int level; } codecs[] = {
        {"ws-default", 1, WS_DEFLATE_DEFAULT}, {"zlib-6", 0, 6},
        {"ws-fast", 1, WS_DEFLATE_FAST}, {"zlib-1", 0, 1}};
    unsigned i;
    for (i = 0; i < 4; i++) {
        comp_fn cf = codecs[i].ws ? ws_comp : z_comp;
        size_t cs = cf(codecs[i].level, in, n, c, cap);
        double cr, dr;
        /* both inflaters must give the input back, whoever compressed it */
        raw = z_decomp(c, cs, o, n + 1024);
        if (raw != n || memcmp(o, in, n)) { fprintf(stderr, "%s: zlib round trip failed\n", codecs[i].name); exit(1); }
        raw = ws_decomp(c, cs, o, n + 1024);
        if (raw != n || memcmp(o, in, n)) { fprintf(stderr, "%s: ws round trip failed\n", codecs[i].name); exit(1); }
        cr = rate_comp(cf, codecs[i].level, in, n, c, cap);
        dr = rate_decomp(codecs[i].ws ? ws_decomp : z_decomp, c, cs, n, o, n + 1024);
        printf("deflate|%s|%zu|%s|%zu|%.1f|%.1f\n", name, n, codecs[i].name, cs, cr, dr);
        if (codecs[i].level == 6) /* ws.h's inflater on zlib-6's stream */
            printf("deflate|%s|%zu|ws-inflate-zlib6|%zu|0|%.1f\n", name, n, cs,
                   rate_decomp(ws_decomp, c, cs, n, o, n + 1024));
        fflush(stdout);
    }
    free(c);
    free(o);
}

int main(int argc, char **argv) {
    static const char *text_files[] = {
        "/usr/share/common-licenses/GPL-3", "/usr/share/common-licenses/GPL-2",
        "/usr/share/common-licenses/LGPL-3", "/usr/share/common-licenses/Apache-2.0",
        "/usr/share/common-licenses/MPL-2.0", "/usr/share/common-licenses/Artistic", NULL};
    static const char *bin_files[] = {"/usr/bin/bash", NULL};
    size_t n;
    unsigned char *p;
    const size_t size = 1 << 20;
    z_stream zs;
    if (argc > 1) g_secs = atof(argv[1]);
    g_dmem = (unsigned char *)malloc(WS_DEFLATE_MEM(15));
    g_imem = (unsigned char *)malloc(WS_INFLATE_MEM(15));

    p = read_all(text_files, &n);
    if (n) run("licenses", p, n);
    free(p);
    p = read_all(bin_files, &n);
    if (n) run("bash", p, n > 1000000 ? 1000000 : n);
    free(p);
    p = dc_make(0, size, 1), run("text", p, size), free(p);
    p = dc_make(1, size, 2), run("json", p, size), free(p);
    p = dc_make(2, size, 3), run("binary", p, size), free(p);
    p = dc_make(3, size, 4), run("random", p, size), free(p);

    printf("mem|ws_inflate_15|%zu\n", sizeof(ws_inflater) + WS_INFLATE_MEM(15));
    printf("mem|ws_deflate_15|%zu\n", sizeof(ws_deflater) + WS_DEFLATE_MEM(15));
    /* zlib's own figures (zconf.h): deflate (1 << (windowBits+2)) + (1 << (memLevel+9)),
       inflate 1 << windowBits, plus their state structs, which sizeof cannot see here */
    memset(&zs, 0, sizeof zs);
    printf("mem|zlib_deflate_15_8|%lu\n", (1ul << 17) + (1ul << 17));
    printf("mem|zlib_inflate_15|%lu\n", (1ul << 15) + 7160ul);
    (void)zs;
    free(g_dmem);
    free(g_imem);
    return 0;
}
