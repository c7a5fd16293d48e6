/* ws:// and wss:// URLs: ws_url_parse never reads outside the string, and what it
   accepts is sane (host inside the input and non-empty, a port in 1..65535, a
   path that starts with / and a query). An accepted URL then goes through the client's
   request builder, the server's parser (which must accept the request the client
   built, for the same host and resource), the server's 101 and the client's verifier.
   Input: the URL bytes. */
#include "fuzz_common.h"

static int rng_counter(void *ctx, void *buf, size_t len) {
    unsigned char *p = (unsigned char *)buf;
    unsigned *n = (unsigned *)ctx;
    while (len--) *p++ = (unsigned char)(*n)++;
    return 0;
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *url;
    ws_url u;
    ws_result r;
    size_t i;
    url = fz_dup(data, size);
    memset(&u, 0, sizeof u);
    r = ws_url_parse(url, size, &u);
    FZ_CHECK(r == WS_OK || r == WS_ERR_URL);
    if (r == WS_OK) {
        int nul = memchr(data, 0, size) != NULL;
        FZ_CHECK(u.secure == 0 || u.secure == 1);
        FZ_CHECK(u.host.n > 0 && u.host.p > url && u.host.p + u.host.n <= url + size);
        FZ_CHECK(u.port >= 1 && u.port <= 65535);
        /* §3: path is "/" or a run of url starting with "/"; query is empty or "?..." and
           runs to the end of url */
        FZ_CHECK(u.path.n > 0 && u.path.p[0] == '/');
        FZ_CHECK((u.path.n == 1 && !(u.path.p >= url && u.path.p < url + size)) ||
                 (u.path.p >= url && u.path.p + u.path.n <= url + size));
        FZ_CHECK(u.query.p >= url && u.query.p + u.query.n == url + size);
        FZ_CHECK(u.query.n == 0 || u.query.p[0] == '?');
        for (i = 0; i < size; i++) FZ_CHECK((unsigned char)url[i] > ' ' && url[i] != 0x7f && url[i] != '#');
        FZ_CHECK(!nul);
        for (i = 0; i < u.host.n; i++) FZ_CHECK(u.host.p[i] != '/' && u.host.p[i] != '@' && u.host.p[i] != '?');

        /* client builds, server parses, server answers, client verifies */
        {
            char *z = (char *)malloc(size + 1), req_buf[4096], resp[1024], key[WS_KEY_LEN + 1];
            ws_client_options o;
            ws_request req;
            ws_response res;
            unsigned ctr = 7;
            int n, m;
            if (!z) abort();
            memcpy(z, url, size);
            z[size] = 0;
            memset(&o, 0, sizeof o);
            o.url = z;
            o.protocols = "chat, superchat";
            FZ_CHECK(ws_make_key(rng_counter, &ctr, key) == WS_OK);
            n = ws_request_build(req_buf, sizeof req_buf, &o, key);
            if (size + 300 < sizeof req_buf) FZ_CHECK(n > 0);
            if (n > 0) {
                char *h = fz_dup(req_buf, (size_t)n);
                FZ_CHECK(ws_http_head_end(h, (size_t)n, 0, sizeof req_buf) == n);
                r = ws_request_parse(h, (size_t)n, NULL, &req);
                if ((size_t)n <= WS_DEFAULT_MAX_HANDSHAKE) {
                    FZ_CHECK(r == WS_OK);
                    /* the target is the resource name: path then query */
                    FZ_CHECK(req.target.n == u.path.n + u.query.n);
                    FZ_CHECK(memcmp(req.target.p, u.path.p, u.path.n) == 0);
                    FZ_CHECK(memcmp(req.target.p + u.path.n, u.query.p, u.query.n) == 0);
                    /* Host holds the host (bracketed when IPv6) */
                    FZ_CHECK(req.host.n >= u.host.n);
                    m = ws_response_build(resp, sizeof resp, &req, "superchat", NULL);
                    FZ_CHECK(m > 0);
                    FZ_CHECK(ws_response_parse(resp, (size_t)m, NULL, key, o.protocols, &res) == WS_OK);
                    FZ_CHECK(res.protocol.n == 9 && memcmp(res.protocol.p, "superchat", 9) == 0);
                } else {
                    FZ_CHECK(r == WS_ERR_HS_TOO_LARGE);
                }
                free(h);
            }
            free(z);
        }
    }
    free(url);
    return 0;
}
