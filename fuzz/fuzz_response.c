/* The client's response verifier: ws_response_parse on arbitrary heads, with the
   RFC §1.3 key or an input-chosen one, and an input-chosen offered-protocol list.
   Whatever it accepts must really be acceptable: status 101, the right
   Sec-WebSocket-Accept, a protocol that was offered, every view inside the head.
   Input: 1 control byte, a protocol list up to the first NUL (if the control byte says
   so), then the head. */
#include "fuzz_common.h"

#define RFC_KEY "dGhlIHNhbXBsZSBub25jZQ=="

static void in_buf(ws_str s, const char *b, size_t n) {
    if (s.n == 0) return;
    FZ_CHECK(s.p >= b && s.p + s.n <= b + n);
}

static int is_tchar(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    unsigned ctl;
    const uint8_t *p = data + 1, *end = data + size;
    char *offered = NULL, *head, key[64];
    size_t hn;
    ws_hs_limits lim;
    ws_response res;
    ws_result r;
    if (size < 1) return 0;
    ctl = data[0];
    if (ctl & 1) { /* an offered list, NUL-terminated in the input */
        const uint8_t *z = (const uint8_t *)memchr(p, 0, (size_t)(end - p));
        size_t ln = z ? (size_t)(z - p) : (size_t)(end - p);
        offered = (char *)malloc(ln + 1);
        if (!offered) abort();
        if (ln) memcpy(offered, p, ln);
        offered[ln] = 0;
        p += z ? ln + 1 : ln;
    }
    if (ctl & 2) { /* a key from the input: up to 24 printable bytes before a NUL */
        size_t k = 0;
        while (p < end && *p && k < 60) key[k++] = (char)*p++;
        if (p < end) p++;
        key[k] = 0;
    } else {
        strcpy(key, RFC_KEY);
    }
    hn = (size_t)(end - p);
    head = fz_dup(p, hn);
    lim.max_size = (ctl & 4) ? (size_t)(ctl >> 3) * 64 + 1 : 0;
    lim.max_headers = (ctl & 4) ? (ctl >> 4) : 0;
    r = ws_response_parse(head, hn, (ctl & 8) ? &lim : NULL, key, offered, &res);
    FZ_CHECK(r == WS_OK || (r <= WS_ERR_HS_MALFORMED && r >= WS_ERR_HS_REJECTED));
    FZ_CHECK(res.head == head && res.head_len == hn);
    in_buf(res.status_line, head, hn);
    in_buf(res.protocol, head, hn);
    if (r == WS_OK) {
        char expect[WS_ACCEPT_LEN + 1];
        ws_str acc = {0, 0};
        size_t i;
        FZ_CHECK(res.status == 101);
        FZ_CHECK(res.status_line.n >= 12 && memcmp(res.status_line.p, "HTTP/1.", 7) == 0);
        /* Sec-WebSocket-Accept was there and right */
        ws_accept_key(key, strlen(key), expect);
        FZ_CHECK(ws_header_find(head, hn, "sec-websocket-accept", &acc));
        FZ_CHECK(acc.n == WS_ACCEPT_LEN && memcmp(acc.p, expect, WS_ACCEPT_LEN) == 0);
        /* the head ends with its blank line and nothing follows */
        FZ_CHECK(hn >= 4 && memcmp(head + hn - 4, "\r\n\r\n", 4) == 0);
        if (res.protocol.n) {
            ws_str list, t;
            int found = 0;
            FZ_CHECK(offered != NULL);
            for (i = 0; i < res.protocol.n; i++) FZ_CHECK(is_tchar((unsigned char)res.protocol.p[i]));
            list.p = offered, list.n = strlen(offered);
            while (ws_token_next(&list, &t))
                if (t.n == res.protocol.n && memcmp(t.p, res.protocol.p, t.n) == 0) found = 1;
            FZ_CHECK(found);
        }
    } else if (r == WS_ERR_HS_STATUS) {
        FZ_CHECK(res.status >= 100 && res.status <= 599 && res.status != 101);
    }
    free(head);
    free(offered);
    return 0;
}
