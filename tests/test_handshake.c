/* Layer 4 (handshake, RFC 6455 §4 and §3 URLs) and the handshake as driven by the
   layer 5 connection, both roles, at every chunking of the input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <ctype.h>
#include <string.h>

/* Count the library's default-allocator calls, to prove fixed-buffer mode never
   allocates (the counter is also shown to move in allocating mode). */
static size_t g_ws_mallocs;
static void *count_malloc(size_t n) {
    g_ws_mallocs++;
    return malloc(n);
}
#define WS_MALLOC(sz) count_malloc(sz)
#define WS_FREE(p) free(p)

#define WS_IMPLEMENTATION
#include "testutil.h"

/* ---------------------------------------------------------------------------------
   Helpers
   --------------------------------------------------------------------------------- */

#define RFC_KEY "dGhlIHNhbXBsZSBub25jZQ=="       /* §1.3 */
#define RFC_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" /* §1.3 */

static size_t g_chunk; /* chunk size of the run being checked (0: not chunked) */

#define CHECK(cond)                                                                      \
    do {                                                                                 \
        if (!(cond))                                                                     \
            fail_msg("line %d, chunk %u: %s", __LINE__, (unsigned)g_chunk, #cond);       \
    } while (0)
#define CHECK_RES(got, want) check_res((int)(got), (int)(want), __LINE__)
#define CHECK_STR(s, want) check_str((s), (want), __LINE__)

static void check_res(int got, int want, int line) {
    if (got != want)
        fail_msg("line %d, chunk %u: got %d (%s), want %d (%s)", line, (unsigned)g_chunk, got,
                 ws_strerror(got), want, ws_strerror(want));
}

static void check_str(ws_str s, const char *want, int line) {
    if (s.n != strlen(want) || (s.n && memcmp(s.p, want, s.n) != 0))
        fail_msg("line %d, chunk %u: got \"%.*s\", want \"%s\"", line, (unsigned)g_chunk,
                 (int)s.n, s.p ? s.p : "", want);
}

/* A copy of exactly n bytes with no terminating NUL, so ASan catches any over-read.
   Give it back with release(); teardown frees what a failed check left behind. */
static void *g_owned[16];

static char *dup_exact(const char *s, size_t n) {
    char *p = (char *)malloc(n ? n : 1);
    size_t i;
    memcpy(p, s, n);
    for (i = 0; i < sizeof g_owned / sizeof g_owned[0]; i++)
        if (!g_owned[i]) { g_owned[i] = p; return p; }
    abort();
}

static void release(void *p) {
    size_t i;
    for (i = 0; i < sizeof g_owned / sizeof g_owned[0]; i++)
        if (g_owned[i] == p) g_owned[i] = NULL;
    free(p);
}

static void release_all(void) {
    size_t i;
    for (i = 0; i < sizeof g_owned / sizeof g_owned[0]; i++) {
        free(g_owned[i]);
        g_owned[i] = NULL;
    }
}

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

static int ci_eq(const char *a, size_t an, const char *b) {
    size_t i, bn = strlen(b);
    if (an != bn) return 0;
    for (i = 0; i < an; i++)
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[i])) return 0;
    return 1;
}

/* Independent oracle for header lines in a head we got from the library: how many
   lines are named `name` (case-insensitive); the first one's trimmed value in val. */
static int hdr(const void *head, size_t len, const char *name, char *val, size_t vcap) {
    const char *h = (const char *)head, *end = h + len, *p;
    size_t nl = strlen(name);
    int count = 0;
    if (val) val[0] = 0;
    p = h;
    while (p < end && *p != '\n') p++; /* skip the request/status line */
    while (p < end) {
        const char *line = ++p, *eol, *v, *ve;
        while (p < end && *p != '\n') p++;
        eol = p;
        if (eol > line && eol[-1] == '\r') eol--;
        if (eol == line) break; /* blank line */
        if ((size_t)(eol - line) <= nl || line[nl] != ':' || !ci_eq(line, nl, name)) continue;
        if (count++ == 0 && val) {
            v = line + nl + 1;
            ve = eol;
            while (v < ve && (*v == ' ' || *v == '\t')) v++;
            while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
            if ((size_t)(ve - v) >= vcap) ve = v + vcap - 1;
            memcpy(val, v, (size_t)(ve - v));
            val[ve - v] = 0;
        }
    }
    return count;
}

/* 1 if the comma list holds tok (case-insensitive). */
static int has_token(const char *list, const char *tok) {
    const char *p = list;
    while (*p) {
        const char *s, *e;
        while (*p == ' ' || *p == '\t' || *p == ',') p++;
        s = p;
        while (*p && *p != ',') p++;
        e = p;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t')) e--;
        if (e > s && ci_eq(s, (size_t)(e - s), tok)) return 1;
    }
    return 0;
}

static int starts_with(const void *p, size_t n, const char *prefix) {
    size_t k = strlen(prefix);
    return n >= k && memcmp(p, prefix, k) == 0;
}

static int ends_with_blank_line(const void *p, size_t n) {
    return n >= 4 && memcmp((const char *)p + n - 4, "\r\n\r\n", 4) == 0;
}

/* A head from a first line and header lines, leaving out the line named `omit` and
   appending `add` (raw "Name: value\r\n" lines). */
static size_t make_head(char *out, size_t cap, const char *first, const char *const *lines,
                        size_t nlines, const char *omit, const char *add) {
    size_t i, n = 0;
    n += (size_t)snprintf(out + n, cap - n, "%s\r\n", first);
    for (i = 0; i < nlines; i++) {
        if (omit && strncmp(lines[i], omit, strlen(omit)) == 0 && lines[i][strlen(omit)] == ':')
            continue;
        n += (size_t)snprintf(out + n, cap - n, "%s\r\n", lines[i]);
    }
    if (add) n += (size_t)snprintf(out + n, cap - n, "%s", add);
    n += (size_t)snprintf(out + n, cap - n, "\r\n");
    if (n >= cap) abort();
    return n;
}

/* The §1.3 request, in the RFC's order. */
static const char *const REQ_LINES[] = {
    "Host: server.example.com",
    "Upgrade: websocket",
    "Connection: Upgrade",
    ("Sec-WebSocket-Key: " RFC_KEY),
    "Origin: http://example.com",
    "Sec-WebSocket-Protocol: chat, superchat",
    "Sec-WebSocket-Version: 13",
};
#define REQ_NLINES (sizeof REQ_LINES / sizeof REQ_LINES[0])

static size_t make_req(char *out, size_t cap, const char *first, const char *omit,
                       const char *add) {
    return make_head(out, cap, first ? first : "GET /chat HTTP/1.1", REQ_LINES, REQ_NLINES,
                     omit, add);
}

/* The §1.3 response. */
static const char *const RESP_LINES[] = {
    "Upgrade: websocket",
    "Connection: Upgrade",
    ("Sec-WebSocket-Accept: " RFC_ACCEPT),
};
#define RESP_NLINES (sizeof RESP_LINES / sizeof RESP_LINES[0])

static size_t make_resp(char *out, size_t cap, const char *status_line, const char *omit,
                        const char *add) {
    return make_head(out, cap, status_line ? status_line : "HTTP/1.1 101 Switching Protocols",
                     RESP_LINES, RESP_NLINES, omit, add);
}

static int build_req(char *buf, size_t cap, const char *url, const char *protocols,
                     const char *origin, const char *extra);

static const ws_hs_limits NO_LIMITS = {0, 0}; /* the WS_DEFAULT_ values */

/* ws_request_parse on an exact-size copy; returns the result, *copy must be freed. */
static ws_result parse_req(const char *text, size_t len, const ws_hs_limits *lim,
                           ws_request *req, char **copy) {
    *copy = dup_exact(text, len);
    memset(req, 0, sizeof *req);
    return ws_request_parse(*copy, len, lim, req);
}

static void expect_req_fail_lim(const char *text, size_t len, const ws_hs_limits *lim,
                                ws_result want, int status, int line) {
    ws_request req;
    char *copy;
    ws_result r = parse_req(text, len, lim, &req, &copy);
    release(copy);
    check_res(r, want, line);
    if (want != WS_OK && ws_hs_status(r) != status)
        fail_msg("line %d: ws_hs_status(%d) = %d, want %d", line, r, ws_hs_status(r), status);
}
#define EXPECT_REQ_FAIL(first, omit, add, want, status)                                  \
    do {                                                                                 \
        char b_[16384];                                                                  \
        size_t n_ = make_req(b_, sizeof b_, first, omit, add);                           \
        expect_req_fail_lim(b_, n_, &NO_LIMITS, want, status, __LINE__);                 \
    } while (0)

static ws_result parse_resp(const char *text, size_t len, const char *key, const char *offered,
                            ws_response *res, char **copy) {
    *copy = dup_exact(text, len);
    memset(res, 0, sizeof *res);
    return ws_response_parse(*copy, len, &NO_LIMITS, key, offered, res);
}

#define EXPECT_RESP(status_line, omit, add, offered, want)                               \
    do {                                                                                 \
        char b_[4096], *c_;                                                              \
        ws_response res_;                                                                \
        size_t n_ = make_resp(b_, sizeof b_, status_line, omit, add);                    \
        ws_result r_ = parse_resp(b_, n_, RFC_KEY, offered, &res_, &c_);                 \
        release(c_);                                                                        \
        CHECK_RES(r_, want);                                                             \
    } while (0)

/* ---------------------------------------------------------------------------------
   ws:// and wss:// URLs (§3)
   --------------------------------------------------------------------------------- */

static void url_ok(const char *u, size_t len, int secure, const char *host, unsigned port,
                   const char *resource) {
    ws_url url;
    char *copy = dup_exact(u, len);
    ws_result r;
    memset(&url, 0, sizeof url);
    r = ws_url_parse(copy, len, &url);
    if (r != WS_OK) {
        release(copy);
        fail_msg("ws_url_parse(\"%.*s\") = %d (%s), want WS_OK", (int)len, u, r, ws_strerror(r));
    }
    CHECK(url.secure == secure);
    CHECK_STR(url.host, host);
    CHECK(url.port == port);
    {   /* §3: resource name = path + query */
        char joined[512];
        ws_str res;
        CHECK(url.path.n >= 1 && url.path.p[0] == '/');
        CHECK(url.query.n == 0 || url.query.p[0] == '?');
        CHECK(url.path.n + url.query.n < sizeof joined);
        memcpy(joined, url.path.p, url.path.n);
        memcpy(joined + url.path.n, url.query.p, url.query.n);
        res.p = joined, res.n = url.path.n + url.query.n;
        CHECK_STR(res, resource);
    }
    release(copy);
}
#define URL_OK(u, secure, host, port, res) url_ok(u, strlen(u), secure, host, port, res)

static void url_bad(const char *u) {
    ws_url url;
    size_t len = strlen(u);
    char *copy = dup_exact(u, len);
    ws_result r = ws_url_parse(copy, len, &url);
    release(copy);
    if (r != WS_ERR_URL)
        fail_msg("ws_url_parse(\"%s\") = %d (%s), want WS_ERR_URL", u, r, ws_strerror(r));
}

/* §3: ws/wss, default ports 80/443, host, resource name = path + query, "/" if empty. */
static void test_url_parse_valid(void **state) {
    (void)state;
    URL_OK("ws://example.com/chat", 0, "example.com", 80, "/chat");
    URL_OK("wss://example.com/chat", 1, "example.com", 443, "/chat");
    URL_OK("ws://example.com:9001/a/b?x=1&y=2", 0, "example.com", 9001, "/a/b?x=1&y=2");
    URL_OK("wss://example.com:80/", 1, "example.com", 80, "/");
    URL_OK("ws://example.com:1/", 0, "example.com", 1, "/");
    URL_OK("ws://example.com:65535/", 0, "example.com", 65535, "/");
    URL_OK("ws://example.com", 0, "example.com", 80, "/");
    URL_OK("wss://example.com:8443", 1, "example.com", 8443, "/");
    URL_OK("ws://10.0.0.1:8080/", 0, "10.0.0.1", 8080, "/");
}

/* §3: the resource name is "/" when the path is empty, then "?" and the query; the
   request line must carry it (an origin-form target starts with "/"). */
static void test_url_query_without_path(void **state) {
    char buf[1024];
    int n;
    (void)state;
    URL_OK("ws://example.com?x=1", 0, "example.com", 80, "/?x=1");
    URL_OK("wss://[::1]:9001?x=1", 1, "::1", 9001, "/?x=1");
    n = build_req(buf, sizeof buf, "ws://example.com?x=1", NULL, NULL, NULL);
    CHECK(n > 0);
    CHECK(starts_with(buf, (size_t)n, "GET /?x=1 HTTP/1.1\r\n"));
}

/* §3 (RFC 3986): an IPv6 literal is bracketed in the URL; host is given without. */
static void test_url_parse_ipv6(void **state) {
    (void)state;
    URL_OK("ws://[::1]:9001/x", 0, "::1", 9001, "/x");
    URL_OK("wss://[::1]/", 1, "::1", 443, "/");
    URL_OK("ws://[2001:db8::7]/chat?a=b", 0, "2001:db8::7", 80, "/chat?a=b");
    /* RFC 3986 §3.2.2: hex digits of either case, colons, and dots for an IPv4 tail */
    URL_OK("ws://[::FFFF:192.0.2.1]/", 0, "::FFFF:192.0.2.1", 80, "/");
    URL_OK("ws://[aBcDeF:09::]/", 0, "aBcDeF:09::", 80, "/");
    /* nothing else, the bytes next to those ranges included */
    url_bad("ws://[-1]/");
    url_bad("ws://[::1;]/");
    url_bad("ws://[::g]/");
    url_bad("ws://[::G]/");
    url_bad("ws://[::`]/");
    url_bad("ws://[::1%25eth0]/");
    url_bad("ws://[example.com]/");
}

/* §3: scheme names are case-insensitive (RFC 3986 §3.1). */
static void test_url_parse_scheme_case(void **state) {
    (void)state;
    URL_OK("WS://example.com/", 0, "example.com", 80, "/");
    URL_OK("WSS://example.com/", 1, "example.com", 443, "/");
    URL_OK("Wss://example.com:444/", 1, "example.com", 444, "/");
}

/* The length given is the URL: nothing past it is read. */
static void test_url_parse_uses_len(void **state) {
    (void)state;
    url_ok("ws://example.com/chatXXXX", strlen("ws://example.com/chat"), 0, "example.com", 80,
           "/chat");
    url_ok("ws://example.com:90019", strlen("ws://example.com:9001"), 0, "example.com", 9001,
           "/");
}

/* §3: other schemes, fragments ("MUST NOT be used on these URIs"), no host, bad ports,
   broken IPv6 brackets are all refused. */
static void test_url_parse_rejects(void **state) {
    (void)state;
    url_bad("");
    url_bad("http://example.com/");
    url_bad("https://example.com/");
    url_bad("wsx://example.com/");
    url_bad("ws:/example.com/");
    url_bad("example.com/chat");
    url_bad("ws://example.com/chat#frag");
    url_bad("ws://example.com/#");
    url_bad("ws://example.com#frag");
    url_bad("ws://");
    url_bad("ws:///chat");
    url_bad("ws://:9001/chat");
    url_bad("ws://example.com:0/");
    url_bad("ws://example.com:/");    /* a colon with no port */
    url_bad("ws://[::1]:/");
    url_bad("ws://example.com:000080/"); /* 1 to 5 digits */
    url_bad("ws://example.com:65536/");
    url_bad("ws://example.com:99999/");
    url_bad("ws://example.com:4294967376/"); /* 2^32 + 80: must not wrap to 80 */
    url_bad("ws://example.com:8a/");
    url_bad("ws://example.com:abc/");
    url_bad("ws://example.com:-1/");
    url_bad("ws://[::1/");
    url_bad("ws://[::1:9001/x");
    url_bad("ws://[/");
    url_bad("ws://[]:80/");
    url_bad("ws://[::1]x/");   /* after the literal only a port's colon, or nothing */
    url_bad("ws://[::1]8080/");
}

/* A URL cut short inside the scheme is refused without reading past its length (the
   copies are exact-size, so ASan aborts on an over-read: run last for that reason). */
static void test_url_parse_short_input(void **state) {
    (void)state;
    url_bad("w");
    url_bad("ws:");
    url_bad("wss:");
    url_bad("ws:/");
    url_bad("wss:/");
}

/* ---------------------------------------------------------------------------------
   Client request builder (§4.1)
   --------------------------------------------------------------------------------- */

static int build_req(char *buf, size_t cap, const char *url, const char *protocols,
                     const char *origin, const char *extra) {
    ws_client_options o;
    memset(&o, 0, sizeof o);
    o.url = url;
    o.protocols = protocols;
    o.origin = origin;
    o.extra_headers = extra;
    return ws_request_build(buf, cap, &o, RFC_KEY);
}

/* A built request (n its ws_request_build result) starts with the request line `first`
   and has Host `host`; `what` names the case in a failure. */
static void check_line_and_host(const char *what, const char *buf, int n, const char *first,
                                const char *host) {
    char val[256], line[256];
    if (n <= 0) fail_msg("%s: ws_request_build = %d", what, n);
    snprintf(line, sizeof line, "%s\r\n", first);
    if (!starts_with(buf, (size_t)n, line)) fail_msg("%s: request line is \"%.*s\"", what, 40, buf);
    if (hdr(buf, (size_t)n, "Host", val, sizeof val) != 1 || strcmp(val, host) != 0)
        fail_msg("%s: Host is \"%s\", want \"%s\"", what, val, host);
}

/* §4.1: Host is host, plus ":port" only when not the default port; IPv6 in brackets. */
static void test_request_build_host(void **state) {
    static const struct {
        const char *url, *host, *first;
    } cases[] = {
        {"ws://example.com/chat", "example.com", "GET /chat HTTP/1.1"},
        {"wss://example.com/", "example.com", "GET / HTTP/1.1"},
        {"ws://example.com:8080/", "example.com:8080", "GET / HTTP/1.1"},
        {"ws://example.com:443/", "example.com:443", "GET / HTTP/1.1"},
        {"wss://example.com:80/", "example.com:80", "GET / HTTP/1.1"},
        {"ws://[::1]:9001/x", "[::1]:9001", "GET /x HTTP/1.1"},
        {"wss://[::1]/", "[::1]", "GET / HTTP/1.1"},
        {"ws://example.com", "example.com", "GET / HTTP/1.1"},
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[2048];
        int n = build_req(buf, sizeof buf, cases[i].url, NULL, NULL, NULL);
        check_line_and_host(cases[i].url, buf, n, cases[i].first, cases[i].host);
    }
}

/* §4.1 items 3-4 with the target given as host and resource instead of a URL (url NULL,
   the form a WS_NO_URL build has): the request line takes the resource ("/" when NULL),
   Host the host as given. A url, when there is one, is what counts. */
static void test_request_build_host_resource(void **state) {
    static const struct {
        const char *url, *host, *resource, *want_host, *first;
    } cases[] = {
        {NULL, "example.com", "/chat?room=1", "example.com", "GET /chat?room=1 HTTP/1.1"},
        {NULL, "example.com:9001", NULL, "example.com:9001", "GET / HTTP/1.1"},
        {NULL, "[::1]:9001", "/x", "[::1]:9001", "GET /x HTTP/1.1"},
        {"ws://a.example/u", "b.example", "/h", "a.example", "GET /u HTTP/1.1"},
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[2048], what[32];
        ws_client_options o;
        memset(&o, 0, sizeof o);
        o.url = cases[i].url, o.host = cases[i].host, o.resource = cases[i].resource;
        snprintf(what, sizeof what, "case %u", (unsigned)i);
        check_line_and_host(what, buf, ws_request_build(buf, sizeof buf, &o, RFC_KEY), cases[i].first,
                            cases[i].want_host);
    }
}

/* A host or resource that would break the request (§3, §4.1): an empty host, a resource
   that is not a path (§3: "/" path ["?" query]), white space, CR/LF or control bytes that
   would split the request line or the Host header, a fragment. WS_ERR_URL; no url and
   no host at all is WS_ERR_ARG. Nothing is written. */
static void test_request_build_host_resource_bad(void **state) {
    static const struct {
        const char *host, *resource;
        int want;
    } cases[] = {
        {NULL, "/chat", WS_ERR_ARG},
        {"", "/", WS_ERR_URL},
        {"example.com", "", WS_ERR_URL},
        {"example.com", "chat", WS_ERR_URL},
        {"example.com", "/a b", WS_ERR_URL},
        {"example.com", "/a\r\nX-Evil: 1", WS_ERR_URL},
        {"example.com", "/a#frag", WS_ERR_URL},
        {"example.com", "/a\x7f", WS_ERR_URL},
        {"example.com\r\nX-Evil: 1", "/", WS_ERR_URL},
        {"example .com", "/", WS_ERR_URL},
        {"example.com\t", "/", WS_ERR_URL},
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[2048];
        ws_client_options o;
        int n;
        memset(&o, 0, sizeof o);
        memset(buf, 0x55, sizeof buf);
        o.host = cases[i].host, o.resource = cases[i].resource;
        n = ws_request_build(buf, sizeof buf, &o, RFC_KEY);
        if (n != cases[i].want) fail_msg("case %u: ws_request_build = %d, want %d", (unsigned)i, n, cases[i].want);
        if (buf[0] != 0x55) fail_msg("case %u: wrote into buf", (unsigned)i);
    }
    { /* a header value with CR/LF is refused before anything is written, as a bad target is */
        char buf[2048];
        ws_client_options o;
        memset(&o, 0, sizeof o);
        memset(buf, 0x55, sizeof buf);
        o.host = "example.com", o.protocols = "chat\r\nX-Evil: 1";
        CHECK_RES(ws_request_build(buf, sizeof buf, &o, RFC_KEY), WS_ERR_ARG);
        CHECK(buf[0] == 0x55);
    }
}

/* §4.1 items 1-12: GET <resource> HTTP/1.1, Upgrade, Connection, the key, version 13,
   the subprotocols, Origin, extra headers; the server-side parser takes it back. */
static void test_request_build_fields(void **state) {
    char buf[4096], val[256];
    ws_request req;
    char *copy;
    int n;
    (void)state;
    n = build_req(buf, sizeof buf, "ws://example.com:9001/chat?room=1", "chat, superchat",
                  "http://example.com", "Authorization: Bearer abc\r\nCookie: a=b\r\n");
    CHECK(n > 0);
    CHECK(starts_with(buf, (size_t)n, "GET /chat?room=1 HTTP/1.1\r\n"));
    CHECK(ends_with_blank_line(buf, (size_t)n));
    CHECK_RES(ws_http_head_end(buf, (size_t)n, 0, 8192), n);
    CHECK(hdr(buf, (size_t)n, "Upgrade", val, sizeof val) == 1 && ci_eq(val, strlen(val), "websocket"));
    CHECK(hdr(buf, (size_t)n, "Connection", val, sizeof val) == 1 && has_token(val, "upgrade"));
    CHECK(hdr(buf, (size_t)n, "Sec-WebSocket-Key", val, sizeof val) == 1 && strcmp(val, RFC_KEY) == 0);
    CHECK(hdr(buf, (size_t)n, "Sec-WebSocket-Version", val, sizeof val) == 1 && strcmp(val, "13") == 0);
    CHECK(hdr(buf, (size_t)n, "Sec-WebSocket-Protocol", val, sizeof val) == 1 &&
          strcmp(val, "chat, superchat") == 0);
    CHECK(hdr(buf, (size_t)n, "Origin", val, sizeof val) == 1 && strcmp(val, "http://example.com") == 0);
    CHECK(hdr(buf, (size_t)n, "Authorization", val, sizeof val) == 1 && strcmp(val, "Bearer abc") == 0);
    CHECK(hdr(buf, (size_t)n, "Cookie", val, sizeof val) == 1 && strcmp(val, "a=b") == 0);
    CHECK(hdr(buf, (size_t)n, "Sec-WebSocket-Extensions", NULL, 0) == 0);

    CHECK_RES(parse_req(buf, (size_t)n, &NO_LIMITS, &req, &copy), WS_OK);
    CHECK_STR(req.method, "GET");
    CHECK_STR(req.target, "/chat?room=1");
    CHECK_STR(req.host, "example.com:9001");
    CHECK_STR(req.origin, "http://example.com");
    CHECK_STR(req.key, RFC_KEY);
    CHECK_STR(req.version, "13");
    CHECK_STR(req.protocols, "chat, superchat");
    release(copy);
}

/* §4.1: Origin and Sec-WebSocket-Protocol are optional: absent when not asked for. */
static void test_request_build_minimal(void **state) {
    char buf[4096];
    ws_request req;
    char *copy;
    int n;
    (void)state;
    n = build_req(buf, sizeof buf, "wss://example.com/", NULL, NULL, NULL);
    CHECK(n > 0);
    CHECK(hdr(buf, (size_t)n, "Origin", NULL, 0) == 0);
    CHECK(hdr(buf, (size_t)n, "Sec-WebSocket-Protocol", NULL, 0) == 0);
    CHECK_RES(parse_req(buf, (size_t)n, &NO_LIMITS, &req, &copy), WS_OK);
    CHECK(req.protocols.n == 0);
    CHECK(req.origin.n == 0);
    CHECK_STR(req.target, "/");
    release(copy);
}

/* Every capacity short of the request gives WS_ERR_BUFFER and writes inside it. */
static void test_request_build_small_buffer(void **state) {
    char full[4096];
    size_t cap;
    int n;
    (void)state;
    n = build_req(full, sizeof full, "ws://[::1]:9001/x", "chat", "http://o", "X-A: b\r\n");
    CHECK(n > 0);
    for (cap = 1; cap < (size_t)n; cap++) {
        char *b = (char *)malloc(cap);
        int r = build_req(b, cap, "ws://[::1]:9001/x", "chat", "http://o", "X-A: b\r\n");
        free(b);
        g_chunk = cap;
        CHECK_RES(r, WS_ERR_BUFFER);
    }
    g_chunk = 0;
    /* a bad URL is refused rather than producing a request */
    CHECK(build_req(full, sizeof full, "http://example.com/", NULL, NULL, NULL) < 0);
}

/* ---------------------------------------------------------------------------------
   Server request parser (§4.2.1)
   --------------------------------------------------------------------------------- */

/* §1.3 / §4.2.1: the RFC's example request parses into its parts. */
static void test_request_parse_rfc_example(void **state) {
    char buf[4096], *copy;
    ws_request req;
    size_t n;
    (void)state;
    n = make_req(buf, sizeof buf, NULL, NULL, NULL);
    CHECK_RES(parse_req(buf, n, &NO_LIMITS, &req, &copy), WS_OK);
    CHECK_STR(req.method, "GET");
    CHECK_STR(req.target, "/chat");
    CHECK_STR(req.host, "server.example.com");
    CHECK_STR(req.origin, "http://example.com");
    CHECK_STR(req.key, RFC_KEY);
    CHECK_STR(req.version, "13");
    CHECK_STR(req.protocols, "chat, superchat");
    CHECK(req.extensions.n == 0);
    CHECK(req.head == copy);
    CHECK(req.head_len == n);
    CHECK(req.header_count == REQ_NLINES);
    release(copy);
}

/* A valid request with header `name` set to each of values in turn parses. */
static void accepts_each_value(const char *name, const char *const *values, size_t count) {
    char buf[4096], add[256], *copy;
    ws_request req;
    size_t n, i;
    for (i = 0; i < count; i++) {
        snprintf(add, sizeof add, "%s: %s\r\n", name, values[i]);
        n = make_req(buf, sizeof buf, NULL, name, add);
        if (parse_req(buf, n, &NO_LIMITS, &req, &copy) != WS_OK)
            fail_msg("%s: %s refused", name, values[i]);
        release(copy);
    }
}

/* §4.2.1 and RFC 7230: header names are case-insensitive, values trimmed, Upgrade
   compared case-insensitively, Connection is a token list. */
static void test_request_parse_case_and_lists(void **state) {
    static const char *const lines[] = {
        "HOST:   server.example.com  ",
        "upgrade: WebSocket",
        "CONNECTION: keep-alive, Upgrade",
        ("sec-websocket-key: " RFC_KEY),
        "sec-WEBSOCKET-version:13",
        "SEC-WEBSOCKET-PROTOCOL: chat",
        "origin: http://example.com",
    };
    static const char *const conn_ok[] = {"Upgrade", "upgrade", "keep-alive, Upgrade",
                                          "keep-alive,upgrade", "Upgrade, keep-alive",
                                          "Keep-Alive ,  UPGRADE"};
    static const char *const upgrade_ok[] = {"websocket", "WebSocket", "WEBSOCKET"};
    char buf[4096], *copy;
    ws_request req;
    size_t n;
    (void)state;
    n = make_head(buf, sizeof buf, "GET /chat?a=1 HTTP/1.1", lines, 7, NULL, NULL);
    CHECK_RES(parse_req(buf, n, &NO_LIMITS, &req, &copy), WS_OK);
    CHECK_STR(req.host, "server.example.com");
    CHECK_STR(req.target, "/chat?a=1");
    CHECK_STR(req.key, RFC_KEY);
    CHECK_STR(req.version, "13");
    CHECK_STR(req.protocols, "chat");
    CHECK_STR(req.origin, "http://example.com");
    release(copy);

    accepts_each_value("Connection", conn_ok, sizeof conn_ok / sizeof conn_ok[0]);
    accepts_each_value("Upgrade", upgrade_ok, sizeof upgrade_ok / sizeof upgrade_ok[0]);
}

/* §4.2.1 item 1: a GET of HTTP/1.1 or higher; else 400. */
static void test_request_parse_method_version(void **state) {
    (void)state;
    EXPECT_REQ_FAIL("POST /chat HTTP/1.1", NULL, NULL, WS_ERR_HS_METHOD, 400);
    EXPECT_REQ_FAIL("PUT /chat HTTP/1.1", NULL, NULL, WS_ERR_HS_METHOD, 400);
    EXPECT_REQ_FAIL("GET /chat HTTP/1.0", NULL, NULL, WS_ERR_HS_METHOD, 400);
}

/* §4.2.1 items 2-4: Host, Upgrade: websocket, Connection containing Upgrade. */
static void test_request_parse_required_headers(void **state) {
    (void)state;
    EXPECT_REQ_FAIL(NULL, "Host", NULL, WS_ERR_HS_HOST, 400);
    EXPECT_REQ_FAIL(NULL, "Upgrade", NULL, WS_ERR_HS_UPGRADE, 400);
    EXPECT_REQ_FAIL(NULL, "Upgrade", "Upgrade: h2c\r\n", WS_ERR_HS_UPGRADE, 400);
    EXPECT_REQ_FAIL(NULL, "Upgrade", "Upgrade: websockets\r\n", WS_ERR_HS_UPGRADE, 400);
    EXPECT_REQ_FAIL(NULL, "Connection", NULL, WS_ERR_HS_CONNECTION, 400);
    EXPECT_REQ_FAIL(NULL, "Connection", "Connection: keep-alive\r\n", WS_ERR_HS_CONNECTION, 400);
    EXPECT_REQ_FAIL(NULL, "Connection", "Connection: close\r\n", WS_ERR_HS_CONNECTION, 400);
    EXPECT_REQ_FAIL(NULL, "Connection", "Connection: Upgrader\r\n", WS_ERR_HS_CONNECTION, 400);
    EXPECT_REQ_FAIL(NULL, "Connection", "Connection: keep-alive, upgrade-insecure\r\n",
                    WS_ERR_HS_CONNECTION, 400);
}

/* §4.2.1 item 5 and §11.3.1: one Sec-WebSocket-Key, base64 of exactly 16 bytes. */
static void test_request_parse_key(void **state) {
    (void)state;
    EXPECT_REQ_FAIL(NULL, "Sec-WebSocket-Key", NULL, WS_ERR_HS_KEY, 400);
    EXPECT_REQ_FAIL(NULL, "Sec-WebSocket-Key", "Sec-WebSocket-Key: \r\n", WS_ERR_HS_KEY, 400);
    EXPECT_REQ_FAIL(NULL, "Sec-WebSocket-Key", "Sec-WebSocket-Key: dGhlIHNhbXBsZQ==\r\n",
                    WS_ERR_HS_KEY, 400); /* 10 bytes */
    EXPECT_REQ_FAIL(NULL, "Sec-WebSocket-Key",
                    "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\n", WS_ERR_HS_KEY,
                    400); /* 21 bytes */
    EXPECT_REQ_FAIL(NULL, "Sec-WebSocket-Key",
                    "Sec-WebSocket-Key: !!!!!!!!!!!!!!!!!!!!!!==\r\n", WS_ERR_HS_KEY, 400);
    EXPECT_REQ_FAIL(NULL, "Sec-WebSocket-Key",
                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ\r\n", WS_ERR_HS_KEY, 400);
    EXPECT_REQ_FAIL(NULL, NULL, "Sec-WebSocket-Key: " RFC_KEY "\r\n", WS_ERR_HS_KEY, 400);
}

/* §4.2.1 item 6 and §4.4: version 13 only; otherwise 426 with Sec-WebSocket-Version: 13. */
static void test_request_parse_version(void **state) {
    char buf[1024], val[64];
    int n;
    (void)state;
    EXPECT_REQ_FAIL(NULL, "Sec-WebSocket-Version", NULL, WS_ERR_HS_VERSION, 426);
    EXPECT_REQ_FAIL(NULL, "Sec-WebSocket-Version", "Sec-WebSocket-Version: 8\r\n",
                    WS_ERR_HS_VERSION, 426);
    EXPECT_REQ_FAIL(NULL, "Sec-WebSocket-Version", "Sec-WebSocket-Version: 14\r\n",
                    WS_ERR_HS_VERSION, 426);
    n = ws_reject_build(buf, sizeof buf, 426, NULL);
    CHECK(n > 0);
    CHECK(starts_with(buf, (size_t)n, "HTTP/1.1 426 "));
    CHECK(hdr(buf, (size_t)n, "Sec-WebSocket-Version", val, sizeof val) == 1 &&
          strcmp(val, "13") == 0);
    CHECK(ends_with_blank_line(buf, (size_t)n));
}

/* §4.2.1 (and §1.7 / Appendix history): a hixie-76 handshake (Key1/Key2) is not ours;
   its Key1 must not pass for Sec-WebSocket-Key. */
static void test_request_parse_hixie76(void **state) {
    static const char hixie[] = "GET /demo HTTP/1.1\r\n"
                                "Host: example.com\r\n"
                                "Connection: Upgrade\r\n"
                                "Sec-WebSocket-Key2: 12998 5 Y3 1  .P00\r\n"
                                "Sec-WebSocket-Protocol: sample\r\n"
                                "Upgrade: WebSocket\r\n"
                                "Sec-WebSocket-Key1: 4 @1  46546xW%0l 1 5\r\n"
                                "Origin: http://example.com\r\n"
                                "\r\n";
    ws_request req;
    char *copy;
    ws_result r;
    int st;
    (void)state;
    r = parse_req(hixie, sizeof hixie - 1, &NO_LIMITS, &req, &copy);
    release(copy);
    st = ws_hs_status(r);
    CHECK(r < 0 && r != WS_NEED_MORE);
    CHECK(st == 400 || st == 426);
    /* Key1/Key2 with version 13: still no Sec-WebSocket-Key. */
    EXPECT_REQ_FAIL(NULL, "Sec-WebSocket-Key",
                    "Sec-WebSocket-Key1: " RFC_KEY "\r\nSec-WebSocket-Key2: " RFC_KEY "\r\n",
                    WS_ERR_HS_KEY, 400);
}

/* Bounded size and header count (DESIGN: bounded memory); 431 for both. */
static void test_request_parse_limits(void **state) {
    static char pad_buf[10000];
    char buf[16384], *pad;
    size_t n, i, k;
    ws_hs_limits lim;
    (void)state;
    n = make_req(buf, sizeof buf, NULL, NULL, NULL);
    /* header count: exactly at the limit passes, one over fails */
    lim.max_size = 0;
    lim.max_headers = (unsigned)REQ_NLINES;
    expect_req_fail_lim(buf, n, &lim, WS_OK, 0, __LINE__);
    lim.max_headers = (unsigned)REQ_NLINES - 1;
    expect_req_fail_lim(buf, n, &lim, WS_ERR_HS_TOO_LARGE, 431, __LINE__);
    /* size: a head of exactly max_size passes, max_size one less fails */
    lim.max_headers = 0;
    lim.max_size = n;
    expect_req_fail_lim(buf, n, &lim, WS_OK, 0, __LINE__);
    lim.max_size = n - 1;
    expect_req_fail_lim(buf, n, &lim, WS_ERR_HS_TOO_LARGE, 431, __LINE__);

    /* defaults: 70 short headers (> 64), or one 9000-byte header (> 8192) */
    pad = pad_buf;
    for (i = 0, k = 0; i < 70; i++) k += (size_t)sprintf(pad + k, "X-Pad-%u: v\r\n", (unsigned)i);
    n = make_req(buf, sizeof buf, NULL, NULL, pad);
    expect_req_fail_lim(buf, n, &NO_LIMITS, WS_ERR_HS_TOO_LARGE, 431, __LINE__);
    memcpy(pad, "X-Big: ", 7);
    memset(pad + 7, 'a', 9000);
    memcpy(pad + 9007, "\r\n", 3);
    n = make_req(buf, sizeof buf, NULL, NULL, pad);
    expect_req_fail_lim(buf, n, &NO_LIMITS, WS_ERR_HS_TOO_LARGE, 431, __LINE__);
}

/* Garbage (a TLS ClientHello on the plain port, a broken request line, a header line
   without a colon) is a 400, never a crash or "need more". */
static void test_request_parse_garbage(void **state) {
    static const struct {
        const char *p;
        size_t n;
    } cases[] = {
#define G(s) {s, sizeof s - 1}
        G("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\xab\xcd\r\n\r\n"),
        G("\r\n\r\n"),
        G("GET\r\n\r\n"),
        G("GET /chat\r\nHost: a\r\n\r\n"),
        G("\x00\x01\x02\x03\xff\xfe\r\n\r\n"),
        G("GET /chat HTTP/1.1\r\nHost server.example.com\r\nUpgrade: websocket\r\n"
          "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
          "Sec-WebSocket-Version: 13\r\n\r\n"),
#undef G
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ws_request req;
        char *copy;
        ws_result r = parse_req(cases[i].p, cases[i].n, &NO_LIMITS, &req, &copy);
        release(copy);
        if (r >= 0 || r == WS_NEED_MORE || ws_hs_status(r) != 400)
            fail_msg("garbage case %u: result %d (%s), status %d", (unsigned)i, r,
                     ws_strerror(r), ws_hs_status(r));
    }
}

/* The status for each parse failure: 426 version, 431 size, 400 otherwise. */
static void test_hs_status(void **state) {
    (void)state;
    CHECK(ws_hs_status(WS_ERR_HS_VERSION) == 426);
    CHECK(ws_hs_status(WS_ERR_HS_TOO_LARGE) == 431);
    CHECK(ws_hs_status(WS_ERR_HS_MALFORMED) == 400);
    CHECK(ws_hs_status(WS_ERR_HS_METHOD) == 400);
    CHECK(ws_hs_status(WS_ERR_HS_HOST) == 400);
    CHECK(ws_hs_status(WS_ERR_HS_UPGRADE) == 400);
    CHECK(ws_hs_status(WS_ERR_HS_CONNECTION) == 400);
    CHECK(ws_hs_status(WS_ERR_HS_KEY) == 400);
}

/* §4.4 / RFC 7230: a refusal is a complete HTTP response the client can read. */
static void test_reject_build(void **state) {
    char buf[1024], val[64];
    int n, cap;
    (void)state;
    n = ws_reject_build(buf, sizeof buf, 403, "X-Reason: origin\r\n");
    CHECK(n > 0);
    CHECK(starts_with(buf, (size_t)n, "HTTP/1.1 403 "));
    CHECK(hdr(buf, (size_t)n, "Connection", val, sizeof val) == 1 && has_token(val, "close"));
    CHECK(hdr(buf, (size_t)n, "Content-Length", val, sizeof val) == 1 && strcmp(val, "0") == 0);
    CHECK(hdr(buf, (size_t)n, "X-Reason", val, sizeof val) == 1 && strcmp(val, "origin") == 0);
    CHECK(hdr(buf, (size_t)n, "Sec-WebSocket-Version", NULL, 0) == 0);
    CHECK(ends_with_blank_line(buf, (size_t)n));
    CHECK_RES(ws_http_head_end(buf, (size_t)n, 0, 8192), n);
    for (cap = 1; cap < n; cap++) {
        char *b = (char *)malloc((size_t)cap);
        int r = ws_reject_build(b, (size_t)cap, 403, "X-Reason: origin\r\n");
        free(b);
        g_chunk = (size_t)cap;
        CHECK_RES(r, WS_ERR_BUFFER);
    }
}

/* Each refusal's status line carries its reason phrase (RFC 7231 §6.1, RFC 6585 §4-5
   for 429 and 431), a generic one for the others; 426 also says which version we speak
   (RFC 6455 §4.4). */
static void test_reject_build_reason_phrases(void **state) {
    static const struct {
        int status;
        const char *line;
    } cases[] = {
        {400, "HTTP/1.1 400 Bad Request"}, {401, "HTTP/1.1 401 Unauthorized"},
        {403, "HTTP/1.1 403 Forbidden"}, {404, "HTTP/1.1 404 Not Found"},
        {405, "HTTP/1.1 405 Method Not Allowed"}, {426, "HTTP/1.1 426 Upgrade Required"},
        {429, "HTTP/1.1 429 Too Many Requests"},
        {431, "HTTP/1.1 431 Request Header Fields Too Large"},
        {500, "HTTP/1.1 500 Internal Server Error"}, {503, "HTTP/1.1 503 Service Unavailable"},
        {300, "HTTP/1.1 300 Redirect"}, {302, "HTTP/1.1 302 Redirect"},
        {402, "HTTP/1.1 402 Error"}, {502, "HTTP/1.1 502 Error"}, {599, "HTTP/1.1 599 Error"},
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[256], val[16];
        int n = ws_reject_build(buf, sizeof buf, cases[i].status, NULL);
        size_t ln = strlen(cases[i].line);
        if (n < 0 || (size_t)n < ln + 2 || memcmp(buf, cases[i].line, ln) != 0 ||
            memcmp(buf + ln, "\r\n", 2) != 0)
            fail_msg("status %d: \"%.*s\"", cases[i].status, n > 0 ? n : 0, buf);
        CHECK(ends_with_blank_line(buf, (size_t)n));
        CHECK((hdr(buf, (size_t)n, "Sec-WebSocket-Version", val, sizeof val) == 1 &&
               strcmp(val, "13") == 0) == (cases[i].status == 426));
    }
    CHECK_RES(ws_reject_build(NULL, 0, 299, NULL), WS_ERR_ARG);
    CHECK_RES(ws_reject_build(NULL, 0, 600, NULL), WS_ERR_ARG);
}

/* ---------------------------------------------------------------------------------
   ws_http_head_end
   --------------------------------------------------------------------------------- */

/* Incremental search: one byte at a time, `from` = bytes already searched; the CRLFCRLF
   may straddle calls. Bytes after the head are not part of it. */
static void test_head_end_incremental(void **state) {
    static const char head[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\nEXTRA";
    size_t hl = sizeof head - 1 - 5, len;
    char *copy;
    (void)state;
    for (len = 1; len <= sizeof head - 1; len++) {
        int r;
        copy = dup_exact(head, len);
        r = ws_http_head_end(copy, len, len - 1, 8192);
        release(copy);
        g_chunk = len;
        CHECK_RES(r, len < hl ? WS_NEED_MORE : (int)hl);
        if (len >= hl) break;
    }
    g_chunk = 0;
    /* searched from scratch, with trailing bytes */
    CHECK_RES(ws_http_head_end(head, sizeof head - 1, 0, 8192), (int)hl);
    /* from further back than needed is fine too */
    CHECK_RES(ws_http_head_end(head, hl, 3, 8192), (int)hl);
    CHECK_RES(ws_http_head_end(head, 0, 0, 8192), WS_NEED_MORE);
}

/* The size limit: a head of exactly max_size is fine; more than max_size bytes with no
   end in sight, or a head longer than max_size, is WS_ERR_HS_TOO_LARGE. */
static void test_head_end_limit(void **state) {
    char buf[256];
    size_t len;
    (void)state;
    memset(buf, 'a', sizeof buf);
    for (len = 1; len <= 51; len++) {
        g_chunk = len;
        int r = ws_http_head_end(buf, len, len - 1, 50);
        if (len < 50) CHECK_RES(r, WS_NEED_MORE);
        else if (len > 50) CHECK_RES(r, WS_ERR_HS_TOO_LARGE);
        else CHECK(r == WS_NEED_MORE || r == WS_ERR_HS_TOO_LARGE); /* can no longer fit */
    }
    g_chunk = 0;
    memcpy(buf + 46, "\r\n\r\n", 4); /* head of exactly 50 */
    CHECK_RES(ws_http_head_end(buf, 50, 0, 50), 50);
    memset(buf, 'a', sizeof buf);
    memcpy(buf + 196, "\r\n\r\n", 4); /* head of 200, limit 50 */
    CHECK_RES(ws_http_head_end(buf, 200, 0, 50), WS_ERR_HS_TOO_LARGE);
}

/* ---------------------------------------------------------------------------------
   Server response builder (§4.2.2) and client response verifier (§4.1)
   --------------------------------------------------------------------------------- */

static ws_result rfc_request(char *buf, size_t cap, ws_request *req, char **copy) {
    size_t n = make_req(buf, cap, NULL, NULL, NULL);
    return parse_req(buf, n, &NO_LIMITS, req, copy);
}

/* §4.2.2 item 5 and §1.3: 101, Upgrade, Connection, the RFC example's accept. */
static void test_response_build_accept(void **state) {
    char rb[4096], buf[1024], val[128], *copy, *rcopy;
    ws_request req;
    ws_response res;
    int n;
    (void)state;
    CHECK_RES(rfc_request(rb, sizeof rb, &req, &copy), WS_OK);
    n = ws_response_build(buf, sizeof buf, &req, NULL, NULL);
    CHECK(n > 0);
    CHECK(starts_with(buf, (size_t)n, "HTTP/1.1 101 "));
    CHECK(ends_with_blank_line(buf, (size_t)n));
    CHECK_RES(ws_http_head_end(buf, (size_t)n, 0, 8192), n);
    CHECK(hdr(buf, (size_t)n, "Upgrade", val, sizeof val) == 1 && ci_eq(val, strlen(val), "websocket"));
    CHECK(hdr(buf, (size_t)n, "Connection", val, sizeof val) == 1 && has_token(val, "upgrade"));
    CHECK(hdr(buf, (size_t)n, "Sec-WebSocket-Accept", val, sizeof val) == 1 &&
          strcmp(val, RFC_ACCEPT) == 0);
    CHECK(hdr(buf, (size_t)n, "Sec-WebSocket-Protocol", NULL, 0) == 0);
    CHECK(hdr(buf, (size_t)n, "Sec-WebSocket-Extensions", NULL, 0) == 0);
    /* and the client side accepts it */
    CHECK_RES(parse_resp(buf, (size_t)n, RFC_KEY, "chat, superchat", &res, &rcopy), WS_OK);
    CHECK(res.status == 101);
    CHECK(res.protocol.n == 0);
    release(rcopy);
    release(copy);
}

/* §4.2.2 item 5.4 (one of the offered subprotocols) and extra headers such as cookies. */
static void test_response_build_protocol_and_headers(void **state) {
    char rb[4096], buf[1024], val[128], *copy, *rcopy;
    ws_request req;
    ws_response res;
    int n;
    size_t cap;
    (void)state;
    CHECK_RES(rfc_request(rb, sizeof rb, &req, &copy), WS_OK);
    n = ws_response_build(buf, sizeof buf, &req, "chat", "Set-Cookie: sid=1\r\nX-Server: t\r\n");
    CHECK(n > 0);
    CHECK(hdr(buf, (size_t)n, "Sec-WebSocket-Protocol", val, sizeof val) == 1 &&
          strcmp(val, "chat") == 0);
    CHECK(hdr(buf, (size_t)n, "Set-Cookie", val, sizeof val) == 1 && strcmp(val, "sid=1") == 0);
    CHECK(hdr(buf, (size_t)n, "X-Server", val, sizeof val) == 1 && strcmp(val, "t") == 0);
    CHECK(hdr(buf, (size_t)n, "Sec-WebSocket-Accept", val, sizeof val) == 1 &&
          strcmp(val, RFC_ACCEPT) == 0);
    CHECK(ends_with_blank_line(buf, (size_t)n));
    CHECK_RES(parse_resp(buf, (size_t)n, RFC_KEY, "chat, superchat", &res, &rcopy), WS_OK);
    CHECK_STR(res.protocol, "chat");
    release(rcopy);

    n = ws_response_build(buf, sizeof buf, &req, "superchat", NULL);
    CHECK(n > 0 && hdr(buf, (size_t)n, "Sec-WebSocket-Protocol", val, sizeof val) == 1 &&
          strcmp(val, "superchat") == 0);
    /* a subprotocol the client did not offer is refused */
    CHECK_RES(ws_response_build(buf, sizeof buf, &req, "v2", NULL), WS_ERR_ARG);
    CHECK_RES(ws_response_build(buf, sizeof buf, &req, "cha", NULL), WS_ERR_ARG);
    CHECK_RES(ws_response_build(buf, sizeof buf, &req, "superchat2", NULL), WS_ERR_ARG);

    n = ws_response_build(buf, sizeof buf, &req, "chat", "Set-Cookie: sid=1\r\n");
    for (cap = 1; cap < (size_t)n; cap++) {
        char *b = (char *)malloc(cap);
        int r = ws_response_build(b, cap, &req, "chat", "Set-Cookie: sid=1\r\n");
        free(b);
        g_chunk = cap;
        CHECK_RES(r, WS_ERR_BUFFER);
    }
    release(copy);
}

/* §4.1: a conforming 101 is accepted: any reason phrase, case-insensitive names and
   values, the accept with white space around it, a subprotocol that was offered. */
static void test_response_parse_accepts(void **state) {
    static const char *const lines_ci[] = {
        "upgrade: WebSocket",
        "CONNECTION: keep-alive, upgrade",
        "sec-websocket-accept:   " RFC_ACCEPT "  ",
    };
    char buf[1024], *copy;
    ws_response res;
    size_t n;
    (void)state;
    n = make_resp(buf, sizeof buf, NULL, NULL, NULL);
    CHECK_RES(parse_resp(buf, n, RFC_KEY, NULL, &res, &copy), WS_OK);
    CHECK(res.status == 101);
    CHECK_STR(res.status_line, "HTTP/1.1 101 Switching Protocols");
    CHECK(res.protocol.n == 0);
    release(copy);

    EXPECT_RESP("HTTP/1.1 101 Web Socket Protocol Handshake", NULL, NULL, NULL, WS_OK);
    EXPECT_RESP(NULL, NULL, "Sec-WebSocket-Protocol: superchat\r\n", "chat, superchat", WS_OK);
    n = make_head(buf, sizeof buf, "HTTP/1.1 101 Switching Protocols", lines_ci, 3, NULL, NULL);
    CHECK_RES(parse_resp(buf, n, RFC_KEY, NULL, &res, &copy), WS_OK);
    release(copy);
}

/* §4.1 response item 1: not 101 -> WS_ERR_HS_STATUS, status and status line kept. */
static void test_response_parse_status(void **state) {
    static const struct {
        const char *text, *line;
        int status;
    } cases[] = {
        {"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", "HTTP/1.1 200 OK", 200},
        {"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", "HTTP/1.1 403 Forbidden", 403},
        {"HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\n\r\n",
         "HTTP/1.1 426 Upgrade Required", 426},
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ws_response res;
        char *copy;
        ws_result r = parse_resp(cases[i].text, strlen(cases[i].text), RFC_KEY, NULL, &res, &copy);
        CHECK_RES(r, WS_ERR_HS_STATUS);
        CHECK(res.status == cases[i].status);
        CHECK_STR(res.status_line, cases[i].line);
        release(copy);
    }
}

/* RFC 7230 §3.1.2: "HTTP/1.x" (x 1-9 here: an HTTP/1.1 client's peer), a space, three
   digits (RFC 7231 §6: 100-599), a space before any reason phrase, which holds only
   visible bytes and white space (a bare LF or a control byte is no part of a line).
   Anything else is malformed; a well-formed status other than 101 is WS_ERR_HS_STATUS
   with its status. */
static void test_response_parse_status_line_form(void **state) {
    static const struct {
        const char *line;
        ws_result want;
        int status;
    } cases[] = {
        {"HTTP/1.1 101", WS_OK, 101},           {"HTTP/1.2 101 Switching", WS_OK, 101},
        {"HTTP/1.9 101 x", WS_OK, 101},         {"HTTP/1.1 100 Continue", WS_ERR_HS_STATUS, 100},
        {"HTTP/1.1 599 x", WS_ERR_HS_STATUS, 599}, {"HTTP/1.0 101 x", WS_ERR_HS_MALFORMED, 0},
        {"HTTP/2.0 101 x", WS_ERR_HS_MALFORMED, 0}, {"HTTP/1.1 099 x", WS_ERR_HS_MALFORMED, 0},
        {"HTTP/1.1 600 x", WS_ERR_HS_MALFORMED, 0}, {"HTTP/1.1 1O1 x", WS_ERR_HS_MALFORMED, 0},
        {"HTTP/1.1 101x", WS_ERR_HS_MALFORMED, 0}, {"HTTP/1.1  101", WS_ERR_HS_MALFORMED, 0},
        {"http/1.1 101 x", WS_ERR_HS_MALFORMED, 0}, {"HTTP/1.1 10", WS_ERR_HS_MALFORMED, 0},
        {"HTTP/1.1 101 OK\nX: y", WS_ERR_HS_MALFORMED, 0}, {"HTTP/1.1 101 O\x7fK", WS_ERR_HS_MALFORMED, 0},
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char b[1024], *copy;
        ws_response res;
        size_t n = make_resp(b, sizeof b, cases[i].line, NULL, NULL);
        ws_result r = parse_resp(b, n, RFC_KEY, NULL, &res, &copy);
        release(copy);
        g_chunk = i; /* which case, in a failure message */
        CHECK_RES(r, cases[i].want);
        if (cases[i].status) CHECK(res.status == cases[i].status);
    }
    g_chunk = 0;
}

/* §4.1 response items 2-6. */
static void test_response_parse_failures(void **state) {
    (void)state;
    /* 2: Upgrade */
    EXPECT_RESP(NULL, "Upgrade", NULL, NULL, WS_ERR_HS_UPGRADE);
    EXPECT_RESP(NULL, "Upgrade", "Upgrade: h2c\r\n", NULL, WS_ERR_HS_UPGRADE);
    /* 3: Connection */
    EXPECT_RESP(NULL, "Connection", NULL, NULL, WS_ERR_HS_CONNECTION);
    EXPECT_RESP(NULL, "Connection", "Connection: close\r\n", NULL, WS_ERR_HS_CONNECTION);
    /* 4: Sec-WebSocket-Accept (case-sensitive base64) */
    EXPECT_RESP(NULL, "Sec-WebSocket-Accept", NULL, NULL, WS_ERR_HS_ACCEPT);
    EXPECT_RESP(NULL, "Sec-WebSocket-Accept",
                "Sec-WebSocket-Accept: dGhlIHNhbXBsZSBub25jZQ==\r\n", NULL, WS_ERR_HS_ACCEPT);
    EXPECT_RESP(NULL, "Sec-WebSocket-Accept",
                "Sec-WebSocket-Accept: s3pplmbitxaq9kyggzzhzrbk+xoo=\r\n", NULL,
                WS_ERR_HS_ACCEPT);
    EXPECT_RESP(NULL, "Sec-WebSocket-Accept",
                "Sec-WebSocket-Accept: " RFC_ACCEPT "x\r\n", NULL, WS_ERR_HS_ACCEPT);
    /* 5: no extension was offered, so any is wrong */
    EXPECT_RESP(NULL, NULL, "Sec-WebSocket-Extensions: permessage-deflate\r\n", NULL,
                WS_ERR_HS_EXTENSION);
    /* and a line that names none is no header §9.1 allows (extension-list = 1#extension) */
    EXPECT_RESP(NULL, NULL, "Sec-WebSocket-Extensions: \r\n", NULL, WS_ERR_HS_EXTENSION);
    EXPECT_RESP(NULL, NULL, "Sec-WebSocket-Extensions: , ,\r\n", NULL, WS_ERR_HS_EXTENSION);
    /* 6: subprotocol not offered, or one when none was offered */
    EXPECT_RESP(NULL, NULL, "Sec-WebSocket-Protocol: superchat2\r\n", "chat, superchat",
                WS_ERR_HS_PROTOCOL);
    EXPECT_RESP(NULL, NULL, "Sec-WebSocket-Protocol: chat\r\n", "superchat", WS_ERR_HS_PROTOCOL);
    EXPECT_RESP(NULL, NULL, "Sec-WebSocket-Protocol: chat\r\n", NULL, WS_ERR_HS_PROTOCOL);
    EXPECT_RESP(NULL, NULL, "Sec-WebSocket-Protocol: chat, superchat\r\n", "chat, superchat",
                WS_ERR_HS_PROTOCOL); /* §4.2.2: exactly one */
}

/* ---------------------------------------------------------------------------------
   The handshake through ws_conn (layer 5), both roles, at every chunking
   --------------------------------------------------------------------------------- */

static tu_log LOG;
static char g_req_target[128], g_req_host[128]; /* from the WS_EV_REQUEST event */

static void on_event(ws_conn *c, const ws_event *e, void *user) {
    if (e->type == WS_EV_REQUEST) {
        g_req_target[0] = g_req_host[0] = 0;
        if (e->request && e->request->target.n < sizeof g_req_target &&
            e->request->host.n < sizeof g_req_host) {
            memcpy(g_req_target, e->request->target.p, e->request->target.n);
            g_req_target[e->request->target.n] = 0;
            memcpy(g_req_host, e->request->host.p, e->request->host.n);
            g_req_host[e->request->host.n] = 0;
        }
    }
    if (e->type == WS_EV_OPEN && e->protocol.p == NULL) {
        /* an empty view may have a NULL pointer; testutil would memcpy from it */
        ws_event copy = *e;
        copy.protocol.p = "";
        tu_on_event(c, &copy, user);
        return;
    }
    tu_on_event(c, e, user);
}

/* Client conns live across checks; teardown frees any a failed check left behind. */
static ws_conn *g_live[2];

static void conn_track(ws_conn *c) {
    size_t i;
    for (i = 0; i < 2; i++)
        if (!g_live[i]) { g_live[i] = c; return; }
    abort();
}

static void conn_done(ws_conn *c) {
    size_t i;
    for (i = 0; i < 2; i++)
        if (g_live[i] == c) g_live[i] = NULL;
    ws_conn_free(c);
}

static int setup(void **state) {
    (void)state;
    tu_log_clear(&LOG);
    LOG.reject_status = 0;
    LOG.accept_protocol = NULL;
    LOG.accept_headers = NULL;
    LOG.echo = 0;
    g_chunk = 0;
    return 0;
}

static int teardown(void **state) {
    (void)state;
    release_all();
    if (g_live[0]) conn_done(g_live[0]);
    if (g_live[1]) conn_done(g_live[1]);
    tu_log_clear(&LOG);
    return 0;
}

/* Everything one feed run produced. */
typedef struct run {
    ws_result fed;            /* what tu_feed_chunked returned */
    ws_result again;          /* a later feed after a failure (sticky error) */
    ws_state state;
    unsigned wants_before;    /* ws_conn_wants with the output still queued */
    unsigned wants_after;     /* ... and after draining it */
    unsigned char out[16384];
    size_t out_len;
} run;

static void sink(const void *p, size_t n, void *ctx) {
    run *r = (run *)ctx;
    if (n > sizeof r->out - r->out_len) abort();
    memcpy(r->out + r->out_len, p, n);
    r->out_len += n;
}

static void feed_run(ws_conn *c, const void *in, size_t len, size_t chunk, run *r) {
    r->out_len = 0;
    r->fed = tu_feed_chunked(c, in, len, chunk, sink, r);
    r->state = ws_conn_state(c);
    r->wants_before = ws_conn_wants(c);
    r->out_len += tu_drain(c, r->out + r->out_len, sizeof r->out - r->out_len);
    r->wants_after = ws_conn_wants(c);
    r->again = WS_OK;
    if (r->fed < 0 && r->fed != WS_WOULD_BLOCK) {
        char x[2] = {'x', 'y'};
        size_t used = 0;
        r->again = ws_conn_feed(c, x, sizeof x, &used);
    }
}

static void server_cfg(ws_config *cfg) {
    ws_config_init(cfg, WS_ROLE_SERVER);
    cfg->on_event = on_event;
    cfg->user = &LOG;
}

static void client_cfg(ws_config *cfg) {
    ws_config_init(cfg, WS_ROLE_CLIENT);
    cfg->on_event = on_event;
    cfg->user = &LOG;
    cfg->rng = tu_rng;
}

/* A fresh server fed `in` in pieces of `chunk`. */
static void server_run(const ws_config *cfg, const void *in, size_t len, size_t chunk, run *r) {
    ws_conn c;
    tu_log_clear(&LOG);
    CHECK_RES(ws_conn_init(&c, cfg), WS_OK);
    feed_run(&c, in, len, chunk, r);
    ws_conn_free(&c);
}

static void expect_events(const ws_event_type *want, size_t n) {
    size_t i;
    if (LOG.n != n) {
        fail_msg("chunk %u: %u events (first %d, error %d %s), want %u", (unsigned)g_chunk,
                 (unsigned)LOG.n, LOG.n ? (int)LOG.ev[0].type : -1,
                 LOG.n ? (int)LOG.ev[LOG.n - 1].error : 0,
                 LOG.n ? ws_strerror(LOG.ev[LOG.n - 1].error) : "", (unsigned)n);
    }
    for (i = 0; i < n; i++)
        if (LOG.ev[i].type != want[i])
            fail_msg("chunk %u: event %u is %d, want %d", (unsigned)g_chunk, (unsigned)i,
                     (int)LOG.ev[i].type, (int)want[i]);
}

static int saw_event(ws_event_type t) {
    size_t i;
    for (i = 0; i < LOG.n; i++)
        if (LOG.ev[i].type == t) return 1;
    return 0;
}

/* Check out[0..) starts with a 101 for RFC_KEY; returns the head's size. */
static size_t expect_101(const run *r, const char *protocol) {
    char val[128];
    int hl = ws_http_head_end((const char *)r->out, r->out_len, 0, 8192);
    CHECK(hl > 0);
    CHECK(starts_with(r->out, r->out_len, "HTTP/1.1 101 "));
    CHECK(hdr(r->out, (size_t)hl, "Sec-WebSocket-Accept", val, sizeof val) == 1 &&
          strcmp(val, RFC_ACCEPT) == 0);
    if (protocol)
        CHECK(hdr(r->out, (size_t)hl, "Sec-WebSocket-Protocol", val, sizeof val) == 1 &&
              strcmp(val, protocol) == 0);
    else
        CHECK(hdr(r->out, (size_t)hl, "Sec-WebSocket-Protocol", NULL, 0) == 0);
    return (size_t)hl;
}

/* §4.2.1/§4.2.2: the RFC request yields REQUEST then OPEN and a 101 with the right accept,
   at every chunking. */
static void test_conn_server_accepts(void **state) {
    static run r;
    static const ws_event_type want[] = {WS_EV_REQUEST, WS_EV_OPEN};
    char req[4096];
    size_t n = make_req(req, sizeof req, NULL, NULL, NULL);
    ws_config cfg;
    (void)state;
    server_cfg(&cfg);
    for (g_chunk = 1; g_chunk <= n; g_chunk++) {
        server_run(&cfg, req, n, g_chunk, &r);
        CHECK_RES(r.fed, WS_OK);
        expect_events(want, 2);
        CHECK(strcmp(g_req_target, "/chat") == 0);
        CHECK(strcmp(g_req_host, "server.example.com") == 0);
        CHECK(LOG.ev[1].protocol[0] == 0);
        CHECK(r.state == WS_STATE_OPEN);
        CHECK(expect_101(&r, NULL) == r.out_len);
        CHECK(r.wants_after & WS_WANT_READ);
    }
}

/* §4.2.2 item 5.4: the application picks "chat" from "chat, superchat"; OPEN reports it
   and the 101 carries it and the application's extra headers. */
static void test_conn_server_protocol(void **state) {
    static run r;
    char req[4096], val[64];
    size_t n = make_req(req, sizeof req, NULL, NULL, NULL);
    ws_config cfg;
    (void)state;
    LOG.accept_protocol = "chat";
    LOG.accept_headers = "Set-Cookie: sid=42\r\n";
    server_cfg(&cfg);
    for (g_chunk = 1; g_chunk <= n; g_chunk++) {
        size_t hl;
        server_run(&cfg, req, n, g_chunk, &r);
        CHECK_RES(r.fed, WS_OK);
        CHECK(LOG.n == 2 && LOG.ev[1].type == WS_EV_OPEN);
        CHECK(strcmp(LOG.ev[1].protocol, "chat") == 0);
        hl = expect_101(&r, "chat");
        CHECK(hdr(r.out, hl, "Set-Cookie", val, sizeof val) == 1 && strcmp(val, "sid=42") == 0);
    }
}

/* §4.2.2 item 4 / §4.4: the application refuses with 403: an HTTP 403 is queued, no OPEN,
   the connection ends CLOSED and wants nothing once the refusal is written. */
static void test_conn_server_reject(void **state) {
    static run r;
    char req[4096];
    size_t n = make_req(req, sizeof req, NULL, NULL, NULL);
    ws_config cfg;
    (void)state;
    LOG.reject_status = 403;
    server_cfg(&cfg);
    for (g_chunk = 1; g_chunk <= n; g_chunk++) {
        server_run(&cfg, req, n, g_chunk, &r);
        CHECK(r.fed == WS_OK || r.fed == WS_ERR_HS_REJECTED);
        CHECK(LOG.n >= 1 && LOG.ev[0].type == WS_EV_REQUEST);
        CHECK(!saw_event(WS_EV_OPEN));
        CHECK(starts_with(r.out, r.out_len, "HTTP/1.1 403 "));
        CHECK(ends_with_blank_line(r.out, r.out_len));
        CHECK(r.state == WS_STATE_CLOSED);
        CHECK(r.wants_before & WS_WANT_WRITE);
        CHECK(r.wants_after == 0);
    }
}

/* §4.2.2 item 4: frames that arrived behind a refused request are never delivered or
   answered; the output is just the refusal. */
static void test_conn_server_reject_coalesced(void **state) {
    static run r;
    char in[4096];
    size_t n = make_req(in, sizeof in, NULL, NULL, NULL);
    ws_config cfg;
    (void)state;
    n += tu_frame((unsigned char *)in + n, 1, 0, WS_OP_TEXT, 1, "hello", 5);
    n += tu_frame((unsigned char *)in + n, 1, 0, WS_OP_PING, 1, "p", 1);
    LOG.reject_status = 403;
    LOG.echo = 1;
    server_cfg(&cfg);
    for (g_chunk = 1; g_chunk <= n; g_chunk++) {
        int hl;
        server_run(&cfg, in, n, g_chunk, &r);
        CHECK(!saw_event(WS_EV_OPEN) && !saw_event(WS_EV_MESSAGE) && !saw_event(WS_EV_PING));
        hl = ws_http_head_end((const char *)r.out, r.out_len, 0, 8192);
        CHECK(starts_with(r.out, r.out_len, "HTTP/1.1 403 "));
        CHECK(hl > 0 && (size_t)hl == r.out_len);
        CHECK(r.state == WS_STATE_CLOSED && r.wants_after == 0);
    }
}

/* §4.2.1 / §4.4: a bad request gets 400 / 426 / 431, WS_EV_ERROR with the parse error
   (which then sticks), never REQUEST or OPEN, and the connection ends CLOSED. */
static void test_conn_server_bad_requests(void **state) {
#define TLS_HELLO "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n"
    static const struct {
        const char *raw; /* raw bytes (raw_len of them), else the request from the rest */
        size_t raw_len;
        const char *first, *omit, *add;
        unsigned max_headers;
        size_t max_handshake;
        ws_result want; /* WS_OK: any error with that status */
        int status;
    } cases[] = {
        {NULL, 0, "POST /chat HTTP/1.1", NULL, NULL, 0, 0, WS_ERR_HS_METHOD, 400},
        {NULL, 0, NULL, "Sec-WebSocket-Key", NULL, 0, 0, WS_ERR_HS_KEY, 400},
        {NULL, 0, NULL, "Sec-WebSocket-Version", "Sec-WebSocket-Version: 8\r\n", 0, 0,
         WS_ERR_HS_VERSION, 426},
        {NULL, 0, NULL, NULL, NULL, 4, 0, WS_ERR_HS_TOO_LARGE, 431},
        {NULL, 0, NULL, NULL, NULL, 0, 64, WS_ERR_HS_TOO_LARGE, 431},
        {TLS_HELLO, sizeof TLS_HELLO - 1, NULL, NULL, NULL, 0, 0, WS_OK, 400},
    };
#undef TLS_HELLO
    static run r;
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char req[4096], prefix[32], val[32];
        size_t n;
        ws_config cfg;
        if (cases[i].raw) {
            n = cases[i].raw_len;
            memcpy(req, cases[i].raw, n);
        } else {
            n = make_req(req, sizeof req, cases[i].first, cases[i].omit, cases[i].add);
        }
        server_cfg(&cfg);
        cfg.max_headers = cases[i].max_headers;
        cfg.max_handshake = cases[i].max_handshake;
        snprintf(prefix, sizeof prefix, "HTTP/1.1 %d ", cases[i].status);
        for (g_chunk = 1; g_chunk <= n; g_chunk++) {
            server_run(&cfg, req, n, g_chunk, &r);
            if (cases[i].want != WS_OK) CHECK_RES(r.fed, cases[i].want);
            if (r.fed >= 0 || ws_hs_status(r.fed) != cases[i].status)
                fail_msg("case %u chunk %u: feed returned %d (%s)", (unsigned)i,
                         (unsigned)g_chunk, r.fed, ws_strerror(r.fed));
            CHECK_RES(r.again, r.fed);
            CHECK(LOG.n == 1 && LOG.ev[0].type == WS_EV_ERROR && LOG.ev[0].error == r.fed);
            if (!starts_with(r.out, r.out_len, prefix))
                fail_msg("case %u chunk %u: output \"%.*s\", want \"%s\"", (unsigned)i,
                         (unsigned)g_chunk, (int)(r.out_len < 40 ? r.out_len : 40),
                         (const char *)r.out, prefix);
            CHECK(ends_with_blank_line(r.out, r.out_len));
            if (cases[i].status == 426)
                CHECK(hdr(r.out, r.out_len, "Sec-WebSocket-Version", val, sizeof val) == 1 &&
                      strcmp(val, "13") == 0);
            CHECK(r.state == WS_STATE_CLOSED);
            CHECK(r.wants_after == 0);
        }
    }
}

/* A client mid-handshake: the request it queued, parsed back. */
typedef struct client {
    ws_conn c;
    char reqbuf[4096];
    size_t reqlen;
    ws_request req;
} client;

static const ws_client_options CLIENT_OPTS = {"ws://server.example.com/chat", "chat, superchat",
                                              "http://example.com", NULL, NULL, NULL};

static void client_begin(client *cl, const ws_config *cfg) {
    tu_log_clear(&LOG);
    CHECK_RES(ws_conn_init(&cl->c, cfg), WS_OK);
    conn_track(&cl->c);
    CHECK_RES(ws_client_start(&cl->c, &CLIENT_OPTS), WS_OK);
    CHECK(ws_conn_state(&cl->c) == WS_STATE_CONNECTING);
    CHECK(ws_conn_wants(&cl->c) & WS_WANT_WRITE);
    cl->reqlen = tu_drain(&cl->c, (unsigned char *)cl->reqbuf, sizeof cl->reqbuf);
    memset(&cl->req, 0, sizeof cl->req);
    CHECK_RES(ws_request_parse(cl->reqbuf, cl->reqlen, &NO_LIMITS, &cl->req), WS_OK);
    CHECK(LOG.n == 0);
}

/* The 101 the server would send to this client's request, plus `tail` bytes. */
static size_t client_response(client *cl, const char *protocol, char *out, size_t cap,
                              const void *tail, size_t tail_len) {
    int n = ws_response_build(out, cap, &cl->req, protocol, NULL);
    CHECK(n > 0 && (size_t)n + tail_len <= cap);
    if (tail_len) memcpy(out + n, tail, tail_len);
    return (size_t)n + tail_len;
}

/* §4.1: the client's queued request is a valid handshake (fresh key, the options it was
   given); the matching 101 opens it with the chosen subprotocol, at every chunking. */
static void test_conn_client_opens(void **state) {
    static client cl;
    static run r;
    static const ws_event_type want[] = {WS_EV_OPEN};
    char resp[1024];
    size_t n = 1;
    ws_config cfg;
    (void)state;
    client_cfg(&cfg);
    for (g_chunk = 1; g_chunk <= n; g_chunk++) {
        client_begin(&cl, &cfg);
        CHECK_STR(cl.req.target, "/chat");
        CHECK_STR(cl.req.host, "server.example.com");
        CHECK_STR(cl.req.origin, "http://example.com");
        CHECK_STR(cl.req.protocols, "chat, superchat");
        n = client_response(&cl, "chat", resp, sizeof resp, NULL, 0);
        feed_run(&cl.c, resp, n, g_chunk, &r);
        CHECK_RES(r.fed, WS_OK);
        expect_events(want, 1);
        CHECK(strcmp(LOG.ev[0].protocol, "chat") == 0);
        CHECK(r.state == WS_STATE_OPEN);
        CHECK(r.out_len == 0);
        conn_done(&cl.c);
    }
}

/* §4.1 item 7 of the request: every handshake has a fresh random key from the RNG. */
static void test_conn_client_fresh_key(void **state) {
    static client a, b;
    ws_config cfg;
    (void)state;
    client_cfg(&cfg);
    client_begin(&a, &cfg);
    client_begin(&b, &cfg);
    CHECK(a.req.key.n == WS_KEY_LEN && b.req.key.n == WS_KEY_LEN);
    CHECK(memcmp(a.req.key.p, b.req.key.p, WS_KEY_LEN) != 0);
    conn_done(&a.c);
    conn_done(&b.c);
}

/* §4.1: a response that fails verification fails the connection: WS_EV_ERROR with the
   error and the status line, never OPEN, nothing sent, CLOSED, wants nothing. */
static void client_bad_response(int wrong_accept, const char *status_text, ws_result want,
                                const char *status_line) {
    static client cl;
    static run r;
    char resp[1024];
    size_t n = 1;
    ws_config cfg;
    client_cfg(&cfg);
    for (g_chunk = 1; g_chunk <= n; g_chunk++) {
        client_begin(&cl, &cfg);
        if (wrong_accept) /* the RFC example's accept, not this key's */
            n = make_resp(resp, sizeof resp, NULL, NULL, NULL);
        else {
            n = strlen(status_text);
            memcpy(resp, status_text, n);
        }
        feed_run(&cl.c, resp, n, g_chunk, &r);
        CHECK_RES(r.fed, want);
        CHECK_RES(r.again, want);
        CHECK(!saw_event(WS_EV_OPEN));
        CHECK(LOG.n == 1 && LOG.ev[0].type == WS_EV_ERROR);
        CHECK_RES(LOG.ev[0].error, want);
        CHECK_STR(((ws_str){(const char *)LOG.ev[0].data, LOG.ev[0].len}), status_line);
        CHECK(r.state == WS_STATE_CLOSED);
        CHECK(r.out_len == 0);
        CHECK(r.wants_after == 0);
        conn_done(&cl.c);
    }
}

static void test_conn_client_wrong_accept(void **state) {
    (void)state;
    client_bad_response(1, NULL, WS_ERR_HS_ACCEPT, "HTTP/1.1 101 Switching Protocols");
}

static void test_conn_client_refused(void **state) {
    (void)state;
    client_bad_response(0, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n",
                        WS_ERR_HS_STATUS, "HTTP/1.1 403 Forbidden");
}

/* Bounded memory (DESIGN; §4.1): a response head that does not end within max_handshake
   fails the client with WS_ERR_HS_TOO_LARGE, reported with no HTTP status and no status
   line (none was read in full), takes all the input, sends nothing and closes the
   transport at once; on the caller's buffers and on allocated ones, at every chunking. */
static void test_conn_client_response_too_large(void **state) {
    static client cl;
    static run r;
    static unsigned char rb[280], sb[512];
    char resp[1024];
    size_t n = 1, mode;
    ws_config cfg;
    (void)state;
    n = strlen("HTTP/1.1 101 Switching Protocols\r\nX-Pad: ");
    memcpy(resp, "HTTP/1.1 101 Switching Protocols\r\nX-Pad: ", n);
    memset(resp + n, 'a', 400);
    n += 400;
    memcpy(resp + n, "\r\n\r\n", 4);
    n += 4;
    for (mode = 0; mode < 2; mode++) {
        client_cfg(&cfg);
        cfg.max_handshake = 256;
        if (mode) { /* the key and protocols ahead of the head leave it less of recv_buf */
            cfg.recv_buf = rb, cfg.recv_buf_size = sizeof rb;
            cfg.send_buf = sb, cfg.send_buf_size = sizeof sb;
        }
        for (g_chunk = 1; g_chunk <= n; g_chunk++) {
            client_begin(&cl, &cfg);
            feed_run(&cl.c, resp, n, g_chunk, &r);
            CHECK_RES(r.fed, WS_ERR_HS_TOO_LARGE);
            CHECK_RES(r.again, WS_ERR_HS_TOO_LARGE);
            CHECK(LOG.n == 1 && LOG.ev[0].type == WS_EV_ERROR);
            CHECK_RES(LOG.ev[0].error, WS_ERR_HS_TOO_LARGE);
            CHECK(LOG.ev[0].code == 0 && LOG.ev[0].len == 0);
            CHECK(r.state == WS_STATE_CLOSED);
            CHECK(r.out_len == 0);
            CHECK(r.wants_after == 0);
            conn_done(&cl.c);
        }
    }
}

/* Limits that hold (DESIGN): a client whose max_handshake is as large as size_t goes
   ("no limit to speak of") still opens on an ordinary 101, at every chunking. Its key
   and offered protocols wait ahead of the head in the assembly buffer: a limit that
   counts them must not wrap around to a tiny one and let the head outgrow the buffer. */
static void test_conn_client_huge_max_handshake(void **state) {
    static client cl;
    static run r;
    static const ws_event_type want[] = {WS_EV_OPEN};
    char resp[1024];
    size_t n = 1, k;
    static const size_t limits[] = {(size_t)-1, (size_t)-1 - 8, (size_t)-1 / 2 + 1};
    ws_config cfg;
    (void)state;
    for (k = 0; k < sizeof limits / sizeof *limits; k++) {
        client_cfg(&cfg);
        cfg.max_handshake = limits[k];
        for (g_chunk = 1; g_chunk <= n; g_chunk++) {
            client_begin(&cl, &cfg);
            n = client_response(&cl, "chat", resp, sizeof resp, NULL, 0);
            feed_run(&cl.c, resp, n, g_chunk, &r);
            CHECK_RES(r.fed, WS_OK);
            expect_events(want, 1);
            CHECK(r.state == WS_STATE_OPEN);
            conn_done(&cl.c);
        }
    }
}

/* §4.1 / DESIGN: a client without an RNG refuses to start (no predictable keys). */
static void test_conn_client_needs_rng(void **state) {
    ws_config cfg;
    ws_conn c;
    (void)state;
    ws_config_init(&cfg, WS_ROLE_CLIENT);
    cfg.on_event = on_event;
    cfg.user = &LOG;
    CHECK_RES(ws_conn_init(&c, &cfg), WS_ERR_NO_RNG);
}

/* A bad URL in ws_client_start is refused. */
static void test_conn_client_bad_url(void **state) {
    ws_config cfg;
    ws_conn c;
    ws_client_options o = CLIENT_OPTS;
    (void)state;
    client_cfg(&cfg);
    CHECK_RES(ws_conn_init(&c, &cfg), WS_OK);
    conn_track(&c);
    o.url = "http://server.example.com/chat";
    CHECK(ws_client_start(&c, &o) != WS_OK);
    conn_done(&c);
}

/* §4.2.2 / §5: frames the client sent right behind its request (same read) are
   delivered, not lost, at every chunking; the 101 precedes the echo in the output. */
static void test_conn_server_coalesced_frames(void **state) {
    static run r;
    static const ws_event_type want[] = {WS_EV_REQUEST, WS_EV_OPEN, WS_EV_MESSAGE,
                                         WS_EV_MESSAGE};
    char in[4096];
    size_t n = make_req(in, sizeof in, NULL, NULL, NULL);
    ws_config cfg;
    (void)state;
    n += tu_frame((unsigned char *)in + n, 1, 0, WS_OP_TEXT, 1, "hello", 5);
    n += tu_frame((unsigned char *)in + n, 1, 0, WS_OP_BINARY, 1, "\x01\x02\x03", 3);
    LOG.echo = 1;
    server_cfg(&cfg);
    for (g_chunk = 1; g_chunk <= n; g_chunk++) {
        size_t hl;
        ws_frame f;
        int h;
        server_run(&cfg, in, n, g_chunk, &r);
        CHECK_RES(r.fed, WS_OK);
        expect_events(want, 4);
        CHECK(LOG.ev[2].opcode == WS_OP_TEXT && LOG.ev[2].len == 5 &&
              memcmp(LOG.ev[2].data, "hello", 5) == 0);
        CHECK(LOG.ev[3].opcode == WS_OP_BINARY && LOG.ev[3].len == 3 &&
              memcmp(LOG.ev[3].data, "\x01\x02\x03", 3) == 0);
        hl = expect_101(&r, NULL);
        h = ws_frame_decode(r.out + hl, r.out_len - hl, &f);
        CHECK(h > 0 && f.opcode == WS_OP_TEXT && !f.masked && f.len == 5);
        CHECK(r.out_len >= hl + (size_t)h + 5 && memcmp(r.out + hl + h, "hello", 5) == 0);
    }
}

/* §4.1: a frame the server sent right behind its 101 (same read) is delivered. */
static void test_conn_client_coalesced_frame(void **state) {
    static client cl;
    static run r;
    static const ws_event_type want[] = {WS_EV_OPEN, WS_EV_MESSAGE};
    unsigned char frame[64];
    size_t flen = tu_frame(frame, 1, 0, WS_OP_TEXT, 0, "hi there", 8);
    char resp[1024];
    size_t n = 1;
    ws_config cfg;
    (void)state;
    client_cfg(&cfg);
    for (g_chunk = 1; g_chunk <= n; g_chunk++) {
        client_begin(&cl, &cfg);
        n = client_response(&cl, NULL, resp, sizeof resp, frame, flen);
        feed_run(&cl.c, resp, n, g_chunk, &r);
        CHECK_RES(r.fed, WS_OK);
        expect_events(want, 2);
        CHECK(LOG.ev[0].protocol[0] == 0); /* offered two, the server chose none (§4.1) */
        CHECK(LOG.ev[1].opcode == WS_OP_TEXT && LOG.ev[1].len == 8 &&
              memcmp(LOG.ev[1].data, "hi there", 8) == 0);
        CHECK(r.state == WS_STATE_OPEN);
        conn_done(&cl.c);
    }
}

/* DESIGN (firmware): on caller buffers with no allocator the connection never allocates,
   through a whole handshake plus a message, both roles, at every chunking. The same run
   on the allocating path shows the counter does count. */
static void test_conn_fixed_buffers(void **state) {
    static unsigned char srv_rb[4096], srv_sb[1024], cli_rb[4096], cli_sb[1024];
    static run r;
    static client cl;
    static const ws_event_type srv_want[] = {WS_EV_REQUEST, WS_EV_OPEN, WS_EV_MESSAGE};
    static const ws_event_type cli_want[] = {WS_EV_OPEN, WS_EV_MESSAGE};
    char in[4096], resp[1024];
    unsigned char frame[64];
    size_t n = make_req(in, sizeof in, NULL, NULL, NULL), flen, before, rn = 1;
    ws_config cfg;
    (void)state;
    n += tu_frame((unsigned char *)in + n, 1, 0, WS_OP_TEXT, 1, "hello", 5);
    LOG.echo = 1;

    server_cfg(&cfg);
    before = g_ws_mallocs;
    server_run(&cfg, in, n, 0, &r);
    CHECK_RES(r.fed, WS_OK);
    CHECK(g_ws_mallocs > before); /* allocating mode: the counter moves */

    cfg.recv_buf = srv_rb;
    cfg.recv_buf_size = sizeof srv_rb;
    cfg.send_buf = srv_sb;
    cfg.send_buf_size = sizeof srv_sb;
    cfg.max_handshake = 2048;
    for (g_chunk = 1; g_chunk <= n; g_chunk++) {
        before = g_ws_mallocs;
        server_run(&cfg, in, n, g_chunk, &r);
        CHECK(g_ws_mallocs == before);
        CHECK_RES(r.fed, WS_OK);
        expect_events(srv_want, 3);
        CHECK(LOG.ev[2].len == 5 && memcmp(LOG.ev[2].data, "hello", 5) == 0);
        CHECK(expect_101(&r, NULL) < r.out_len); /* the echo follows */
    }

    LOG.echo = 0;
    client_cfg(&cfg);
    cfg.recv_buf = cli_rb;
    cfg.recv_buf_size = sizeof cli_rb;
    cfg.send_buf = cli_sb;
    cfg.send_buf_size = sizeof cli_sb;
    cfg.max_handshake = 2048;
    flen = tu_frame(frame, 1, 0, WS_OP_TEXT, 0, "hi there", 8);
    for (g_chunk = 1; g_chunk <= rn; g_chunk++) {
        before = g_ws_mallocs;
        client_begin(&cl, &cfg);
        rn = client_response(&cl, NULL, resp, sizeof resp, frame, flen);
        feed_run(&cl.c, resp, rn, g_chunk, &r);
        conn_done(&cl.c);
        CHECK(g_ws_mallocs == before);
        CHECK_RES(r.fed, WS_OK);
        expect_events(cli_want, 2);
        CHECK(LOG.ev[1].len == 8 && memcmp(LOG.ev[1].data, "hi there", 8) == 0);
    }
}

/* Bounded memory on caller buffers: a request larger than recv_buf is answered 431
   without any allocation. */
static void test_conn_fixed_buffers_small_recv(void **state) {
    static unsigned char rb[160], sb[512];
    static run r;
    char in[4096];
    size_t n = make_req(in, sizeof in, NULL, NULL, NULL), before;
    ws_config cfg;
    (void)state;
    CHECK(n > sizeof rb);
    server_cfg(&cfg);
    cfg.recv_buf = rb;
    cfg.recv_buf_size = sizeof rb;
    cfg.send_buf = sb;
    cfg.send_buf_size = sizeof sb;
    for (g_chunk = 1; g_chunk <= n; g_chunk++) {
        before = g_ws_mallocs;
        server_run(&cfg, in, n, g_chunk, &r);
        CHECK(g_ws_mallocs == before);
        CHECK_RES(r.fed, WS_ERR_HS_TOO_LARGE);
        CHECK(starts_with(r.out, r.out_len, "HTTP/1.1 431 "));
        CHECK(!saw_event(WS_EV_REQUEST));
        CHECK(r.state == WS_STATE_CLOSED && r.wants_after == 0);
    }
}

/* §4.2.2 item 5.4 / §4.1: the server picks one of the client's subprotocols exactly as
   offered; a case-folded match would be refused by a strict client. */
static void test_request_offers_exact(void **state) {
    static const char text[] = "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n"
                               "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                               "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: CHAT, superchat\r\n\r\n";
    ws_request req;
    char *copy, buf[512];
    (void)state;
    CHECK_RES(parse_req(text, sizeof text - 1, &NO_LIMITS, &req, &copy), WS_OK);
    CHECK(ws_request_offers(&req, "CHAT"));
    CHECK(ws_request_offers(&req, "superchat"));
    CHECK(!ws_request_offers(&req, "chat"));
    CHECK(!ws_request_offers(&req, "super"));
    CHECK(ws_response_build(buf, sizeof buf, &req, "chat", NULL) == WS_ERR_ARG);
    CHECK(ws_response_build(buf, sizeof buf, &req, "CHAT", NULL) > 0);
    release(copy);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

/* §11.3.4, §11.3.2 (and RFC 7230 §3.2.2): Sec-WebSocket-Protocol and
   Sec-WebSocket-Extensions may come on several lines, which is the same as one line
   holding all their elements in order. ws_request_offers sees every line;
   ws_header_list_next walks them, keeps a quoted comma inside its element, skips empty
   elements and other headers, and works on a head cut exactly at its end. */
static void test_request_repeated_list_headers(void **state) {
    static const char head[] =
        "GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Protocol: chat\r\n"
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, x-foo\r\n"
        "X-Other: superchat\r\n"
        "sec-websocket-protocol:  , superchat ,,v2.json\r\n"
        "SEC-WEBSOCKET-EXTENSIONS: x-bar; q=\"a,b\\\"c\", ,permessage-deflate\r\n\r\n";
    static const char *const protocols[] = {"chat", "superchat", "v2.json"};
    static const char *const extensions[] = {"permessage-deflate; client_max_window_bits",
                                             "x-foo", "x-bar; q=\"a,b\\\"c\"",
                                             "permessage-deflate"};
    size_t n = sizeof head - 1, at, i;
    char *copy = dup_exact(head, n);
    ws_request req;
    ws_str e;
    (void)state;
    CHECK_RES(ws_request_parse(copy, n, &NO_LIMITS, &req), WS_OK);
    for (i = 0; i < 3; i++) CHECK(ws_request_offers(&req, protocols[i]));
    CHECK(!ws_request_offers(&req, "Chat") && !ws_request_offers(&req, "x-foo") &&
          !ws_request_offers(&req, ""));
    for (at = 0, i = 0; ws_header_list_next(copy, n, "Sec-WebSocket-Protocol", &at, &e); i++)
        CHECK(i < 3 && e.n == strlen(protocols[i]) && memcmp(e.p, protocols[i], e.n) == 0);
    CHECK(i == 3);
    CHECK(ws_header_list_next(copy, n, "Sec-WebSocket-Protocol", &at, &e) == 0); /* stays done */
    for (at = 0, i = 0; ws_header_list_next(copy, n, "sec-websocket-extensions", &at, &e); i++)
        if (i >= 4 || e.n != strlen(extensions[i]) || memcmp(e.p, extensions[i], e.n) != 0)
            fail_msg("extension %u: \"%.*s\"", (unsigned)i, (int)e.n, e.p);
    CHECK(i == 4);
    for (at = 0, i = 0; ws_header_list_next(copy, n, "Origin", &at, &e); i++) {}
    CHECK(i == 0);
    /* through the connection: the second line's offer can be accepted */
    {
        static run r;
        ws_config cfg;
        char val[64];
        LOG.accept_protocol = "v2.json";
        server_cfg(&cfg);
        for (g_chunk = 1; g_chunk <= n; g_chunk++) {
            int hl;
            server_run(&cfg, head, n, g_chunk, &r);
            CHECK_RES(r.fed, WS_OK);
            CHECK(LOG.n == 2 && LOG.ev[1].type == WS_EV_OPEN && strcmp(LOG.ev[1].protocol, "v2.json") == 0);
            hl = ws_http_head_end((const char *)r.out, r.out_len, 0, 8192);
            CHECK(hl > 0 && hdr(r.out, (size_t)hl, "Sec-WebSocket-Protocol", val, sizeof val) == 1 &&
                  strcmp(val, "v2.json") == 0);
        }
    }
}

/* RFC 7230 §6.7, §3.2.2: Upgrade is a list and may come on several lines; a request or
   a response whose websocket token is on its second Upgrade line is a WebSocket one. */
static void test_upgrade_on_second_line(void **state) {
    static const char req_s[] =
        "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: h2c\r\nUpgrade: websocket\r\n"
        "Connection: keep-alive\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    static const char resp_s[] =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: foo\r\nUpgrade: WebSocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Accept: " RFC_ACCEPT "\r\n\r\n";
    static const char no_ws[] =
        "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: h2c\r\nUpgrade: websocketx\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n";
    ws_request req;
    ws_response res;
    (void)state;
    CHECK_RES(ws_request_parse(req_s, sizeof req_s - 1, &NO_LIMITS, &req), WS_OK);
    CHECK_RES(ws_response_parse(resp_s, sizeof resp_s - 1, &NO_LIMITS, RFC_KEY, NULL, &res), WS_OK);
    CHECK_RES(ws_request_parse(no_ws, sizeof no_ws - 1, &NO_LIMITS, &req), WS_ERR_HS_UPGRADE);
}

/* RFC 7230 §3.2: a header line is a token, a colon right after it (§3.2.4: no white
   space before the colon), and a value whose outer white space (SP, HTAB) is not part of
   it; a value may hold colons. Any other line makes the request malformed (400), and a
   response too. */
static void test_header_line_syntax(void **state) {
    static const char *const bad[] = {
        ": no name\r\n", "Bad Name: x\r\n", "Name : x\r\n", "Na\"me: x\r\n", "Na(me): x\r\n",
        "NoColon\r\n", "X-Ctl: a\001b\r\n", "X-Cr: a\rb\r\n", "X-Del: a\177\r\n",
    };
    char b[4096], *copy;
    size_t i, n;
    ws_request req;
    ws_response res;
    ws_str v;
    (void)state;
    n = make_req(b, sizeof b, NULL, "Origin",
                 "Origin: \t http://a.example:8080 \t \r\nX-Empty: \t \r\nX-Inner:a  b\r\n");
    CHECK_RES(parse_req(b, n, &NO_LIMITS, &req, &copy), WS_OK);
    CHECK_STR(req.origin, "http://a.example:8080");
    CHECK(ws_header_find(copy, n, "x-empty", &v) == 1 && v.n == 0);
    CHECK(ws_header_find(copy, n, "X-INNER", &v) == 1);
    CHECK_STR(v, "a  b");
    CHECK(ws_header_find(copy, n, "X-Missing", &v) == 0);
    release(copy);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        g_chunk = i; /* which line, in a failure message */
        n = make_req(b, sizeof b, NULL, NULL, bad[i]);
        CHECK_RES(parse_req(b, n, &NO_LIMITS, &req, &copy), WS_ERR_HS_MALFORMED);
        release(copy);
        n = make_resp(b, sizeof b, NULL, NULL, bad[i]);
        CHECK_RES(parse_resp(b, n, RFC_KEY, NULL, &res, &copy), WS_ERR_HS_MALFORMED);
        release(copy);
    }
    g_chunk = 0;
}

/* ws_token_next and ws_token_has: RFC 7230 §7 lists (empty elements and the white space
   around elements ignored) whose elements may hold a quoted-string (§3.2.6), commas and
   quoted-pairs included; a backslash outside quotes is an ordinary byte. Each list is a
   copy of exactly its bytes, so a scan past its end faults under ASan, as one would on a
   backslash that is the last byte inside an open quote. */
static void test_token_lists(void **state) {
    static const struct {
        const char *list, *want[4];
    } cases[] = {
        {" a ,, b\t,c,", {"a", "b", "c"}},
        {"", {NULL}},
        {" , ,\t", {NULL}},
        {"x; q=\"a,b\" , y", {"x; q=\"a,b\"", "y"}},
        {"q=\"a\\\",b\", z", {"q=\"a\\\",b\"", "z"}},
        {"a\\,b", {"a\\", "b"}},
        {"a, q=\"b\\", {"a", "q=\"b\\"}},
        {"q=\"open, z", {"q=\"open, z"}},
    };
    ws_str none = {NULL, 0};
    size_t i, k;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = strlen(cases[i].list);
        char *copy = dup_exact(cases[i].list, n);
        ws_str l = {copy, n}, t;
        for (k = 0; ws_token_next(&l, &t); k++) {
            if (k >= 4 || !cases[i].want[k]) fail_msg("case %u: extra \"%.*s\"", (unsigned)i, (int)t.n, t.p);
            CHECK_STR(t, cases[i].want[k]);
        }
        CHECK(k == 4 || !cases[i].want[k]);
        CHECK(l.n == 0);
        l.p = copy, l.n = n;
        for (k = 0; k < 4 && cases[i].want[k]; k++) {
            char upper[32];
            size_t m;
            for (m = 0; cases[i].want[k][m]; m++) upper[m] = (char)toupper((unsigned char)cases[i].want[k][m]);
            upper[m] = 0;
            CHECK(ws_token_has(l, upper)); /* tokens match case-insensitively */
        }
        CHECK(!ws_token_has(l, "c2"));
        release(copy);
    }
    CHECK(!ws_token_next(&none, &none) && !ws_token_has(none, "a"));
}

/* ws_header_list_next on a head cut short (no blank line, a list left open), and with an
   *at it did not give (the end, past a trailing comma): each call ends and returns 0. */
static void test_header_list_next_cut_head(void **state) {
    static const char head[] = "GET / HTTP/1.1\r\nSec-WebSocket-Protocol: a,,";
    size_t n = sizeof head - 1, at, starts[] = {0, sizeof head - 2, sizeof head - 1};
    char *copy = dup_exact(head, n);
    ws_str e;
    unsigned i;
    (void)state;
    for (i = 0; i < sizeof starts / sizeof starts[0]; i++) {
        at = starts[i];
        CHECK(ws_header_list_next(copy, n, "Sec-WebSocket-Protocol", &at, &e) == 0);
        CHECK(at == n);
    }
    release(copy);
}

/* A client whose ws_client_start failed holds no memory, so a caller that drops it
   without ws_conn_free leaks nothing: bad URL, header values with CR/LF, extra headers
   that are not CRLF-terminated lines, offered protocols too long for the handshake. */
static long g_live_allocs;
static void *live_alloc(void *ctx, size_t n) { (void)ctx; g_live_allocs++; return malloc(n); }
static void live_free(void *ctx, void *p, size_t n) { (void)ctx, (void)n; g_live_allocs--; free(p); }

static void test_client_start_failure_holds_nothing(void **state) {
    static const struct {
        const char *url, *protocols, *origin, *extra;
        ws_result want;
    } cases[] = {
        {"http://example.com/", NULL, NULL, NULL, WS_ERR_URL},
        {"ws://example.com/#frag", NULL, NULL, NULL, WS_ERR_URL},
        {"ws://example.com/", "chat\r\nX: y", NULL, NULL, WS_ERR_ARG},
        {"ws://example.com/", NULL, "http://a\nb", NULL, WS_ERR_ARG},
        {"ws://example.com/", NULL, NULL, "Cookie: a=b", WS_ERR_ARG},
        {"ws://example.com/", NULL, NULL, "\r\n", WS_ERR_ARG},
        {NULL, NULL, NULL, NULL, WS_ERR_ARG}, /* neither url nor host */
    };
    char big[5000];
    size_t i;
    (void)state;
    memset(big, 'p', sizeof big - 1);
    big[sizeof big - 1] = 0;
    for (i = 0; i <= sizeof cases / sizeof cases[0]; i++) {
        ws_config cfg;
        ws_conn c;
        ws_client_options o;
        ws_result r;
        client_cfg(&cfg);
        cfg.allocator.alloc = live_alloc;
        cfg.allocator.free = live_free;
        g_live_allocs = 0;
        CHECK_RES(ws_conn_init(&c, &cfg), WS_OK);
        memset(&o, 0, sizeof o);
        if (i < sizeof cases / sizeof cases[0]) {
            o.url = cases[i].url, o.protocols = cases[i].protocols;
            o.origin = cases[i].origin, o.extra_headers = cases[i].extra;
        } else { /* the offer must leave room for the response in max_handshake */
            o.url = "ws://example.com/", o.protocols = big;
        }
        r = ws_client_start(&c, &o);
        if (i < sizeof cases / sizeof cases[0]) CHECK_RES(r, cases[i].want);
        else CHECK_RES(r, WS_ERR_TOO_BIG);
        if (g_live_allocs != 0) fail_msg("case %u: %ld blocks left after a failed start", (unsigned)i, g_live_allocs);
    }
}

int main(void) {
    (void)count_malloc; /* used through WS_MALLOC; kept referenced regardless */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_client_start_failure_holds_nothing, setup, teardown),
        cmocka_unit_test(test_request_build_host_resource),
        cmocka_unit_test(test_request_build_host_resource_bad),
        cmocka_unit_test_setup_teardown(test_request_repeated_list_headers, setup, teardown),
        cmocka_unit_test(test_header_list_next_cut_head),
        cmocka_unit_test_setup_teardown(test_token_lists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_line_syntax, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upgrade_on_second_line, setup, teardown),
        T(test_url_parse_valid),
        T(test_url_query_without_path),
        T(test_url_parse_ipv6),
        T(test_url_parse_scheme_case),
        T(test_url_parse_uses_len),
        T(test_url_parse_rejects),
        T(test_request_build_host),
        T(test_request_build_fields),
        T(test_request_build_minimal),
        T(test_request_build_small_buffer),
        T(test_request_parse_rfc_example),
        T(test_request_offers_exact),
        T(test_request_parse_case_and_lists),
        T(test_request_parse_method_version),
        T(test_request_parse_required_headers),
        T(test_request_parse_key),
        T(test_request_parse_version),
        T(test_request_parse_hixie76),
        T(test_request_parse_limits),
        T(test_request_parse_garbage),
        T(test_hs_status),
        T(test_reject_build),
        T(test_reject_build_reason_phrases),
        T(test_head_end_incremental),
        T(test_head_end_limit),
        T(test_response_build_accept),
        T(test_response_build_protocol_and_headers),
        T(test_response_parse_accepts),
        T(test_response_parse_status),
        T(test_response_parse_status_line_form),
        T(test_response_parse_failures),
        T(test_conn_server_accepts),
        T(test_conn_server_protocol),
        T(test_conn_server_reject),
        T(test_conn_server_reject_coalesced),
        T(test_conn_server_bad_requests),
        T(test_conn_client_opens),
        T(test_conn_client_fresh_key),
        T(test_conn_client_wrong_accept),
        T(test_conn_client_refused),
        T(test_conn_client_response_too_large),
        T(test_conn_client_huge_max_handshake),
        T(test_conn_client_needs_rng),
        T(test_conn_client_bad_url),
        T(test_conn_server_coalesced_frames),
        T(test_conn_client_coalesced_frame),
        T(test_conn_fixed_buffers),
        T(test_conn_fixed_buffers_small_recv),
        T(test_url_parse_short_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
