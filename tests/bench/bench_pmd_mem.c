/* permessage-deflate memory per connection: ws.h's allocator high-water beside zlib's
   for the same negotiation, measured in one run.

   A server and a client ws_conn talk to each other in memory (skip_handshake, the
   parameters WS_PMD_AGREED), each with a counting allocator, and exchange a few
   messages both ways (small JSON and 4 KiB text, echoed by the server). Measured per
   connection, and the same pair without permessage-deflate as the baseline:
     held   bytes allocated between messages (idle, after a ws_conn_tick)
     peak   the allocator's high-water mark over the whole exchange
   zlib's figure is what deflateInit2(level 6, -15 bits, memLevel 8) plus
   inflateInit2(-15) allocate through a counting zalloc while compressing and inflating
   the same messages with a sync flush (what one permessage-deflate connection with
   context takeover at 15 bits both ways keeps).
   Prints lines  pmdmem|<name>|<bytes>  for run.py. */
#define _POSIX_C_SOURCE 200809L
#define WS_IMPLEMENTATION
#include "../../ws.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

typedef struct counter {
    size_t cur, peak;
} counter;

static void count(counter *k, long delta) {
    k->cur = (size_t)((long)k->cur + delta);
    if (k->cur > k->peak) k->peak = k->cur;
}

static void *c_alloc(void *ctx, size_t n) {
    size_t *p = (size_t *)malloc(n + sizeof(size_t) * 2);
    if (!p) return NULL;
    p[0] = n;
    count((counter *)ctx, (long)n);
    return p + 2;
}

static void c_free(void *ctx, void *ptr, size_t n) {
    size_t *p;
    if (!ptr) return;
    p = (size_t *)ptr - 2;
    if (p[0] != n) {
        fprintf(stderr, "free with the wrong size\n");
        exit(1);
    }
    count((counter *)ctx, -(long)n);
    free(p);
}

/* zlib's allocations, sized by a header since zfree is not told the size */
static voidpf z_alloc(voidpf ctx, uInt items, uInt size) { return c_alloc(ctx, (size_t)items * size); }
static void z_free(voidpf ctx, voidpf ptr) {
    if (ptr) c_free(ctx, ptr, ((size_t *)ptr)[-2]);
}

static int g_echo_ok = 1;

static void on_event(ws_conn *c, const ws_event *e, void *user) {
    if (e->type == WS_EV_MESSAGE && user && /* the server echoes */
        ws_send(c, e->opcode, e->data, e->len) != WS_OK)
        g_echo_ok = 0;
    if (e->type == WS_EV_ERROR) {
        fprintf(stderr, "connection error: %s\n", ws_strerror(e->error));
        exit(1);
    }
}

static int rng(void *ctx, void *buf, size_t n) {
    (void)ctx;
    memset(buf, 0x5a, n);
    return 0;
}

/* everything one side queued, fed to the other (feeding unmasks in place: a copy) */
static void pass(ws_conn *from, ws_conn *to) {
    static unsigned char wire[1 << 16];
    const void *p;
    size_t k, used;
    while ((k = ws_conn_output(from, &p)) > 0) {
        if (k > sizeof wire) k = sizeof wire;
        memcpy(wire, p, k);
        ws_conn_consume(from, k);
        if (ws_conn_feed(to, wire, k, &used) != WS_OK || used != k) {
            fprintf(stderr, "feed failed\n");
            exit(1);
        }
    }
}

#define NMSG 8
static char g_msgs[NMSG][4097];
static size_t g_lens[NMSG];

static void make_messages(void) {
    int i;
    for (i = 0; i < NMSG; i++) {
        if (i % 2 == 0) {
            g_lens[i] = (size_t)snprintf(g_msgs[i], sizeof g_msgs[i],
                                         "{\"id\":%d,\"type\":\"update\",\"user\":\"player%d\",\"x\":%d,\"y\":%d,\"ok\":true}",
                                         i, i * 7, i * 13, i * 17);
        } else {
            size_t n = 0;
            while (n < 4096) {
                int k = snprintf(g_msgs[i] + n, sizeof g_msgs[i] - n, "line %zu: the quick brown fox %d; ", n, i);
                if (k <= 0) break;
                n += (size_t)k;
            }
            g_lens[i] = 4096;
        }
    }
}

/* One server/client pair with cfg.deflate as given; prints held and peak per side. */
static void measure_pair(const char *name, const ws_deflate_config *d) {
    counter ks = {0, 0}, kc = {0, 0};
    ws_conn s, c;
    ws_config cfg;
    int i;
    for (i = 0; i < 2; i++) {
        ws_config_init(&cfg, i ? WS_ROLE_CLIENT : WS_ROLE_SERVER);
        cfg.on_event = on_event, cfg.rng = rng, cfg.user = i ? NULL : &ks;
        cfg.skip_handshake = 1;
        cfg.allocator.ctx = i ? &kc : &ks;
        cfg.allocator.alloc = c_alloc, cfg.allocator.free = c_free;
        if (d) cfg.deflate = *d;
        if (ws_conn_init(i ? &c : &s, &cfg) != WS_OK) {
            fprintf(stderr, "ws_conn_init failed\n");
            exit(1);
        }
    }
    for (i = 0; i < 3 * NMSG; i++) {
        if (ws_send(&c, WS_OP_TEXT, g_msgs[i % NMSG], g_lens[i % NMSG]) != WS_OK) exit(1);
        pass(&c, &s);
        pass(&s, &c);
    }
    if (!g_echo_ok) exit(1);
    ws_conn_tick(&s, 1000), ws_conn_tick(&c, 1000);
    printf("pmdmem|%s_server_held|%zu\npmdmem|%s_server_peak|%zu\n", name, ks.cur, name, ks.peak);
    printf("pmdmem|%s_client_held|%zu\npmdmem|%s_client_peak|%zu\n", name, kc.cur, name, kc.peak);
    ws_conn_free(&s), ws_conn_free(&c);
    if (ks.cur || kc.cur) {
        fprintf(stderr, "leak\n");
        exit(1);
    }
}

static void measure_zlib(void) {
    counter k = {0, 0};
    z_stream d, in;
    static unsigned char out[8192], back[8192];
    int i;
    memset(&d, 0, sizeof d), memset(&in, 0, sizeof in);
    d.zalloc = in.zalloc = z_alloc, d.zfree = in.zfree = z_free, d.opaque = in.opaque = &k;
    if (deflateInit2(&d, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) exit(1);
    if (inflateInit2(&in, -15) != Z_OK) exit(1);
    for (i = 0; i < 3 * NMSG; i++) {
        d.next_in = (Bytef *)g_msgs[i % NMSG], d.avail_in = (uInt)g_lens[i % NMSG];
        d.next_out = out, d.avail_out = sizeof out;
        if (deflate(&d, Z_SYNC_FLUSH) != Z_OK || d.avail_in) exit(1);
        in.next_in = out, in.avail_in = (uInt)(sizeof out - d.avail_out);
        in.next_out = back, in.avail_out = sizeof back;
        if (inflate(&in, Z_SYNC_FLUSH) != Z_OK || sizeof back - in.avail_out != g_lens[i % NMSG]) exit(1);
    }
    printf("pmdmem|zlib_held|%zu\npmdmem|zlib_peak|%zu\n", k.cur, k.peak);
    deflateEnd(&d), inflateEnd(&in);
}

int main(void) {
    ws_deflate_config takeover, nct;
    make_messages();
    memset(&takeover, 0, sizeof takeover);
    takeover.mode = WS_PMD_AGREED; /* 15-bit windows both ways, context takeover */
    nct = takeover;
    nct.params.server_no_context_takeover = nct.params.client_no_context_takeover = 1;
    measure_pair("plain", NULL);
    measure_pair("pmd15", &takeover);
    measure_pair("pmd_nct", &nct);
    measure_zlib();
    return 0;
}
