/* permessage-deflate (RFC 7692) and a client RNG that fails: a compressed send is all or
   nothing like any other (ws_send's contract). The masking key a client frame needs
   (RFC 6455 §5.3) comes from the caller's RNG; when it fails, an uncompressed send
   returns WS_ERR_RNG with nothing queued and the connection still open, and so must a
   compressed one, its deflater's history (§7.1.1 context takeover) left as it was so
   the next message still inflates on the other side. Found by fuzz/fuzz_pmd_client.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#define WS_IMPLEMENTATION
#include "testutil.h"

/* tu_rng, except that the calls counted down to 0 fail */
static int g_fail_in = -1;
static int flaky_rng(void *ctx, void *buf, size_t len) {
    if (g_fail_in >= 0 && g_fail_in-- == 0) return -1;
    return tu_rng(ctx, buf, len);
}

static tu_log g_slog, g_clog;

static void pair(ws_conn *s, ws_conn *c, int fragments) {
    ws_config cfg;
    (void)fragments;
    ws_config_init(&cfg, WS_ROLE_SERVER);
    cfg.on_event = tu_on_event, cfg.user = &g_slog, cfg.skip_handshake = 1;
    cfg.deflate.mode = WS_PMD_AGREED; /* 15-bit windows, context takeover both ways */
    assert_int_equal(ws_conn_init(s, &cfg), WS_OK);
    ws_config_init(&cfg, WS_ROLE_CLIENT);
    cfg.on_event = tu_on_event, cfg.user = &g_clog, cfg.skip_handshake = 1, cfg.rng = flaky_rng;
    cfg.deflate.mode = WS_PMD_AGREED;
    assert_int_equal(ws_conn_init(c, &cfg), WS_OK);
}

/* Everything the client queued, fed to the server. */
static void deliver(ws_conn *c, ws_conn *s) {
    unsigned char wire[8192];
    size_t n = tu_drain(c, wire, sizeof wire);
    assert_int_equal(tu_feed_chunked(s, wire, n, 0, NULL, NULL), WS_OK);
}

static const char MSG1[] = "{\"id\":1,\"type\":\"position\",\"user\":\"player7\",\"x\":13,\"y\":17}";
static const char MSG2[] = "{\"id\":2,\"type\":\"position\",\"user\":\"player7\",\"x\":14,\"y\":17}";
/* long enough that both halves pass the 32-byte threshold: compressed from the first */
static const char LONG[] = "[{\"id\":1,\"type\":\"position\",\"x\":13},{\"id\":2,\"type\":\"position\",\"x\":14},"
                           "{\"id\":3,\"type\":\"position\",\"x\":15},{\"id\":4,\"type\":\"position\",\"x\":16}]";

static void check_message(size_t i, const char *want) {
    assert_true(g_slog.n > i);
    assert_int_equal(g_slog.ev[i].type, WS_EV_MESSAGE);
    assert_int_equal(g_slog.ev[i].len, strlen(want));
    assert_memory_equal(g_slog.ev[i].data, want, strlen(want));
}

/* ws_send: the second message's key fails, then it is sent again. */
static void test_send_rng_fails(void **state) {
    ws_conn s, c;
    (void)state;
    tu_log_clear(&g_slog), tu_log_clear(&g_clog);
    pair(&s, &c, 0);
    g_fail_in = -1;
    assert_int_equal(ws_send(&c, WS_OP_TEXT, MSG1, strlen(MSG1)), WS_OK);
    deliver(&c, &s);
    check_message(0, MSG1);
    g_fail_in = 0;
    assert_int_equal(ws_send(&c, WS_OP_TEXT, MSG2, strlen(MSG2)), WS_ERR_RNG);
    assert_int_equal(ws_conn_queued(&c), 0);                 /* nothing queued */
    assert_int_equal(ws_conn_state(&c), WS_STATE_OPEN);      /* and still open */
    assert_int_equal(ws_conn_error(&c), WS_OK);
    assert_int_equal(g_clog.n, 0);                           /* no error event */
    g_fail_in = -1;
    assert_int_equal(ws_send(&c, WS_OP_TEXT, MSG2, strlen(MSG2)), WS_OK);
    deliver(&c, &s);
    check_message(1, MSG2);   /* the deflater's history is what the server's inflater has */
    assert_int_equal(ws_conn_error(&s), WS_OK);
    ws_conn_free(&s), ws_conn_free(&c);
    tu_log_clear(&g_slog), tu_log_clear(&g_clog);
}

/* ws_send_fragment: a compressed message's second piece fails, then goes again. */
static void test_fragment_rng_fails(void **state) {
    ws_conn s, c;
    size_t h = strlen(LONG) / 2;
    (void)state;
    tu_log_clear(&g_slog), tu_log_clear(&g_clog);
    pair(&s, &c, 1);
    g_fail_in = -1;
    assert_true(h >= 32);
    assert_int_equal(ws_send_fragment(&c, WS_OP_TEXT, LONG, h, 0), WS_OK);
    {
        /* the first piece went compressed: RSV1 on its frame (§6.1) */
        const void *o;
        assert_true(ws_conn_output(&c, &o) > 0);
        assert_int_equal(((const unsigned char *)o)[0] & 0x40, 0x40);
    }
    g_fail_in = 0;
    {
        size_t q0 = ws_conn_queued(&c);
        assert_int_equal(ws_send_fragment(&c, WS_OP_TEXT, LONG + h, strlen(LONG) - h, 1), WS_ERR_RNG);
        assert_int_equal(ws_conn_queued(&c), q0);
    }
    assert_int_equal(ws_conn_state(&c), WS_STATE_OPEN);
    assert_int_equal(ws_conn_error(&c), WS_OK);
    g_fail_in = -1;
    assert_int_equal(ws_send_fragment(&c, WS_OP_TEXT, LONG + h, strlen(LONG) - h, 1), WS_OK);
    deliver(&c, &s);
    check_message(0, LONG);
    assert_int_equal(ws_conn_error(&s), WS_OK);
    ws_conn_free(&s), ws_conn_free(&c);
    tu_log_clear(&g_slog), tu_log_clear(&g_clog);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_send_rng_fails),
        cmocka_unit_test(test_fragment_rng_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
