/* The server's handshake parser: ws_http_head_end searched incrementally (as bytes
   arrive, in input-chosen steps) agrees with one search; ws_request_parse on the head
   under input-chosen limits; every view lies inside the buffer; an accepted request
   gets a 101 that the client's verifier (ws_response_parse) accepts; a refused one maps
   to 400/426/431; ws_header_find and the token walkers never leave the head.
   Input: 3 control bytes (limits, steps), then the bytes that arrived. */
#include "fuzz_common.h"

static void in_buf(ws_str s, const char *b, size_t n) {
    if (s.n == 0) return;
    FZ_CHECK(s.p >= b && s.p + s.n <= b + n);
}

static void walk_tokens(ws_str list, const char *b, size_t n) {
    ws_str t;
    unsigned guard = 0;
    /* An absent header is {NULL, 0}; ws_token_next computes NULL + 0 on it (reported,
       fuzz/regressions/request/null-plus-zero-token-next): not repeated here. */
    if (!list.p) return;
    while (ws_token_next(&list, &t)) {
        in_buf(t, b, n);
        FZ_CHECK(t.n > 0 && t.p[0] != ' ' && t.p[0] != '\t' && t.p[0] != ',');
        FZ_CHECK(++guard <= n);
    }
    FZ_CHECK(list.n == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    size_t n, max_size, from, step;
    unsigned max_headers;
    char *buf;
    int end, e2;
    ws_hs_limits lim;
    ws_request req;
    ws_result r;
    if (size < 3) return 0;
    max_size = data[0] ? (size_t)data[0] * 16 : WS_DEFAULT_MAX_HANDSHAKE;
    max_headers = data[1] & 63;
    step = (size_t)(data[2] & 31) + 1;
    n = size - 3;
    buf = fz_dup(data + 3, n);

    /* incremental search == one search, over the bytes as they come, step by step */
    end = ws_http_head_end(buf, n, 0, max_size);
    FZ_CHECK(end == WS_NEED_MORE || end == WS_ERR_HS_TOO_LARGE || (end >= 4 && (size_t)end <= n));
    if (end > 0) {
        FZ_CHECK((size_t)end <= max_size);
        FZ_CHECK(memcmp(buf + end - 4, "\r\n\r\n", 4) == 0);
    }
    for (from = 0, e2 = WS_NEED_MORE; from < n && e2 == WS_NEED_MORE;) {
        size_t upto = from + step < n ? from + step : n;
        char *pre = fz_dup(buf, upto);
        e2 = ws_http_head_end(pre, upto, from, max_size);
        free(pre);
        from = upto;
    }
    if (n == 0) e2 = ws_http_head_end(buf, 0, 0, max_size);
    FZ_CHECK(e2 == end);

    /* parse the head if there was one, else the whole input (the parser is also
       meant for servers with their own HTTP reader) */
    lim.max_size = data[0] ? max_size : 0;
    lim.max_headers = max_headers;
    {
        size_t hn = end > 0 ? (size_t)end : n;
        char *head = fz_dup(buf, hn);
        r = ws_request_parse(head, hn, &lim, &req);
        FZ_CHECK(r == WS_OK || (r <= WS_ERR_HS_MALFORMED && r >= WS_ERR_HS_REJECTED));
        FZ_CHECK(ws_hs_status(r) == (r == WS_ERR_HS_TOO_LARGE ? 431 : r == WS_ERR_HS_VERSION ? 426 : 400));
        if (hn > (lim.max_size ? lim.max_size : WS_DEFAULT_MAX_HANDSHAKE)) FZ_CHECK(r == WS_ERR_HS_TOO_LARGE);
        FZ_CHECK(req.head == head && req.head_len == hn);
        in_buf(req.method, head, hn), in_buf(req.target, head, hn);
        in_buf(req.host, head, hn), in_buf(req.origin, head, hn);
        in_buf(req.key, head, hn), in_buf(req.version, head, hn);
        in_buf(req.protocols, head, hn), in_buf(req.extensions, head, hn);
        walk_tokens(req.protocols, head, hn);
        walk_tokens(req.extensions, head, hn);
        {
            static const char *names[] = {"host", "upgrade", "connection", "sec-websocket-key",
                                          "x", "", "Sec-WebSocket-Protocol"};
            size_t i;
            for (i = 0; i < sizeof names / sizeof names[0]; i++) {
                ws_str v;
                if (ws_header_find(head, hn, names[i], &v)) {
                    in_buf(v, head, hn);
                    walk_tokens(v, head, hn);
                    (void)ws_token_has(v, "upgrade");
                }
            }
        }
        if (r == WS_OK) {
            char resp[1024], key[WS_KEY_LEN + 1], proto[256];
            const char *chosen = NULL;
            ws_str t, list = req.protocols;
            ws_response res;
            int m;
            FZ_CHECK(req.method.n == 3 && memcmp(req.method.p, "GET", 3) == 0);
            FZ_CHECK(req.host.n > 0 && req.key.n == WS_KEY_LEN);
            FZ_CHECK(req.header_count <= (max_headers ? max_headers : WS_DEFAULT_MAX_HEADERS));
            memcpy(key, req.key.p, WS_KEY_LEN);
            key[WS_KEY_LEN] = 0;
            proto[0] = 0;
            /* choose the first offered protocol that can go on a header line */
            if (list.p && ws_token_next(&list, &t) && t.n < sizeof proto) {
                size_t i, ok = 1;
                for (i = 0; i < t.n; i++)
                    if (t.p[i] == 0) ok = 0;
                if (ok) {
                    memcpy(proto, t.p, t.n);
                    proto[t.n] = 0;
                    chosen = proto;
                }
            }
            m = ws_response_build(resp, sizeof resp, &req, chosen, "Set-Cookie: a=b\r\n");
            FZ_CHECK(m > 0 && (size_t)m < sizeof resp);
            FZ_CHECK(ws_http_head_end(resp, (size_t)m, 0, sizeof resp) == m);
            {
                /* the offered list as the client would have it: NUL-terminated */
                char *offered = (char *)malloc(req.protocols.n + 1);
                char *rh = fz_dup(resp, (size_t)m);
                ws_result q;
                int protocol_ok = 1;
                size_t i;
                if (!offered) abort();
                if (req.protocols.n) memcpy(offered, req.protocols.p, req.protocols.n);
                offered[req.protocols.n] = 0;
                for (i = 0; chosen && chosen[i]; i++)
                    if (!((chosen[i] >= 'a' && chosen[i] <= 'z') || (chosen[i] >= 'A' && chosen[i] <= 'Z') ||
                          (chosen[i] >= '0' && chosen[i] <= '9') || strchr("!#$%&'*+-.^_`|~", chosen[i])))
                        protocol_ok = 0;
                q = ws_response_parse(rh, (size_t)m, NULL, key, offered, &res);
                if (protocol_ok && strlen(offered) == req.protocols.n) {
                    FZ_CHECK(q == WS_OK);
                    FZ_CHECK(res.status == 101);
                    FZ_CHECK(chosen ? (res.protocol.n == strlen(chosen) &&
                                       memcmp(res.protocol.p, chosen, res.protocol.n) == 0)
                                    : res.protocol.n == 0);
                } else {
                    FZ_CHECK(q == WS_OK || q == WS_ERR_HS_PROTOCOL);
                }
                free(rh);
                free(offered);
            }
            /* a protocol that was not offered is refused by the builder */
            FZ_CHECK(!req.protocols.p || ws_token_has(req.protocols, "zz-not-offered-zz") ||
                     ws_response_build(resp, sizeof resp, &req, "zz-not-offered-zz", NULL) == WS_ERR_ARG);
            /* a buffer one byte short fails cleanly */
            FZ_CHECK(ws_response_build(resp, (size_t)m - 1, &req, chosen, "Set-Cookie: a=b\r\n") == WS_ERR_BUFFER);
        } else {
            char rej[256];
            int m = ws_reject_build(rej, sizeof rej, ws_hs_status(r), NULL);
            FZ_CHECK(m > 0 && ws_http_head_end(rej, (size_t)m, 0, sizeof rej) == m);
        }
        free(head);
    }
    free(buf);
    return 0;
}
