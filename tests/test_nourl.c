/* A client built without URL parsing (WS_NO_URL): it names its server by host and
   resource (ws_client_options), and the opening handshake (RFC 6455 §4.1) carries them
   as the request line's resource name and the Host header (§4.1 items 3-4). A url is
   refused, since nothing in this build could read it. Every chunking of the server's
   response is fed to the client. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#define WS_NO_URL
#define WS_IMPLEMENTATION
#include "testutil.h"

static tu_log g_slog, g_clog;
static char g_target[64], g_host[64];

/* The server's side records what the request asked for, then accepts it. */
static void server_event(ws_conn *c, const ws_event *e, void *user) {
    if (e->type == WS_EV_REQUEST) {
        snprintf(g_target, sizeof g_target, "%.*s", (int)e->request->target.n, e->request->target.p);
        snprintf(g_host, sizeof g_host, "%.*s", (int)e->request->host.n, e->request->host.p);
    }
    tu_on_event(c, e, user);
}

static void init(ws_conn *c, ws_role role, ws_event_fn fn, tu_log *log) {
    ws_config cfg;
    ws_config_init(&cfg, role);
    cfg.on_event = fn, cfg.user = log, cfg.rng = tu_rng;
    assert_int_equal(ws_conn_init(c, &cfg), WS_OK);
}

/* Everything `from` queued, fed to `to` `chunk` bytes at a time (0: at once). */
static void deliver(ws_conn *from, ws_conn *to, size_t chunk) {
    unsigned char wire[4096];
    size_t n = tu_drain(from, wire, sizeof wire);
    assert_true(n > 0);
    assert_int_equal(tu_feed_chunked(to, wire, n, chunk, NULL, NULL), WS_OK);
}

/* §4.1: the handshake with host "device.local:8080" and resource "/ws?id=7" completes in
   both directions and a message goes through; the server saw that target and Host. */
static void test_handshake_by_host_and_resource(void **state) {
    size_t chunk;
    (void)state;
    for (chunk = 0; chunk <= 260; chunk++) { /* 0: at once; 260 passes the longest head */
        ws_conn s, c;
        ws_client_options o;
        tu_log_clear(&g_slog), tu_log_clear(&g_clog);
        g_target[0] = g_host[0] = 0;
        init(&s, WS_ROLE_SERVER, server_event, &g_slog);
        init(&c, WS_ROLE_CLIENT, tu_on_event, &g_clog);
        memset(&o, 0, sizeof o);
        o.host = "device.local:8080", o.resource = "/ws?id=7";
        assert_int_equal(ws_client_start(&c, &o), WS_OK);
        deliver(&c, &s, chunk);
        assert_string_equal(g_target, "/ws?id=7");
        assert_string_equal(g_host, "device.local:8080");
        deliver(&s, &c, chunk);
        assert_int_equal(ws_conn_state(&c), WS_STATE_OPEN);
        assert_int_equal(ws_conn_state(&s), WS_STATE_OPEN);
        assert_true(g_clog.n == 1 && g_clog.ev[0].type == WS_EV_OPEN);
        assert_int_equal(ws_send(&c, WS_OP_TEXT, "hi", 2), WS_OK);
        deliver(&c, &s, chunk);
        assert_int_equal(g_slog.ev[g_slog.n - 1].type, WS_EV_MESSAGE);
        assert_memory_equal(g_slog.ev[g_slog.n - 1].data, "hi", 2);
        ws_conn_free(&s), ws_conn_free(&c);
    }
    tu_log_clear(&g_slog), tu_log_clear(&g_clog);
}

/* Without URL parsing a url cannot be honoured: WS_ERR_URL, even with a host beside it,
   and nothing queued; neither url nor host is WS_ERR_ARG; a resource that is not a path
   (§3) is WS_ERR_URL. The client can start afterwards with a good target. */
static void test_url_refused(void **state) {
    static const struct {
        const char *url, *host, *resource;
        ws_result want;
    } cases[] = {
        {"ws://device.local/ws", NULL, NULL, WS_ERR_URL},
        {"ws://device.local/ws", "device.local", "/ws", WS_ERR_URL},
        {NULL, NULL, "/ws", WS_ERR_ARG},
        {NULL, "device.local", "ws", WS_ERR_URL},
    };
    ws_conn c;
    ws_client_options o;
    size_t i;
    (void)state;
    tu_log_clear(&g_clog);
    init(&c, WS_ROLE_CLIENT, tu_on_event, &g_clog);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memset(&o, 0, sizeof o);
        o.url = cases[i].url, o.host = cases[i].host, o.resource = cases[i].resource;
        if (ws_client_start(&c, &o) != cases[i].want) fail_msg("case %u", (unsigned)i);
        assert_int_equal(ws_conn_queued(&c), 0);
    }
    memset(&o, 0, sizeof o);
    o.host = "device.local";
    assert_int_equal(ws_client_start(&c, &o), WS_OK);
    assert_true(ws_conn_queued(&c) > 0);
    ws_conn_free(&c);
    tu_log_clear(&g_clog);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake_by_host_and_resource),
        cmocka_unit_test(test_url_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
