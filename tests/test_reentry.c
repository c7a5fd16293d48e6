/* The callback contract (DESIGN.md): the event callback may call anything on its own
   connection except free it; whatever it calls, the current event's data stays valid
   until it returns, and a connection that failed stays failed (no 101, no OPEN after an
   ERROR). Every event type meets every action, in both roles, with the input fed at
   several chunkings: byte by byte puts a message being assembled, a split control
   frame's payload and the handshake head in the connection's own buffer, which is where
   a careless release would free what the callback still reads (ASan reports that).

   RFC 6455 rules met on the way: §4.2.2 item 4 (the server may refuse; only a 101
   accepts), §5.5.1 (the close reason, echoed), §7.1.7 (a failed connection). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#define WS_IMPLEMENTATION
#include "testutil.h"

/* ---------------------------------------------------------------------------------
   Scenarios: a peer's bytes that produce one event type after the opening handshake
   --------------------------------------------------------------------------------- */

enum { S_REQUEST, S_OPEN, S_MESSAGE, S_FRAGMENT, S_PING, S_PONG, S_CLOSE, S_ERROR, S_COUNT };
static const ws_event_type scenario_event[S_COUNT] = {
    WS_EV_REQUEST, WS_EV_OPEN, WS_EV_MESSAGE, WS_EV_FRAGMENT,
    WS_EV_PING,    WS_EV_PONG, WS_EV_CLOSE,   WS_EV_ERROR};
static const char *const scenario_name[S_COUNT] = {
    "REQUEST", "OPEN", "MESSAGE", "FRAGMENT", "PING", "PONG", "CLOSE", "ERROR"};

enum {
    A_NONE, A_SEND, A_SEND_FRAGMENT, A_PING, A_PONG, A_CLOSE, A_ACCEPT, A_ACCEPT_SECOND_LINE,
    A_ACCEPT_BAD, A_REJECT, A_REJECT_BAD, A_TICK, A_EOF, A_FEED, A_DRAIN, A_COUNT
};
static const char *const action_name[A_COUNT] = {
    "none", "send", "send_fragment", "ping", "pong", "close", "accept(freed string)",
    "accept(second line)", "accept(bad headers)", "reject", "reject(bad status)", "tick",
    "eof", "feed", "drain output"};

/* The request offers its subprotocols on two lines (§11.3.4). */
static const char REQUEST[] =
    "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n"
    "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: superchat\r\n"
    "Sec-WebSocket-Version: 13\r\n\r\n";

typedef struct buf {
    unsigned char p[8192];
    size_t n;
} buf;

static void put(buf *b, const void *d, size_t n) {
    assert_true(b->n + n <= sizeof b->p);
    memcpy(b->p + b->n, d, n);
    b->n += n;
}

static void frame(buf *b, ws_role to, int fin, unsigned op, const char *s) {
    unsigned char tmp[256];
    size_t n = strlen(s);
    put(b, tmp, tu_frame(tmp, fin, 0, op, to == WS_ROLE_SERVER, s, n));
}

static void close_frame(buf *b, ws_role to, unsigned code, const char *reason) {
    char p[128];
    size_t n = strlen(reason);
    p[0] = (char)(code >> 8), p[1] = (char)code;
    memcpy(p + 2, reason, n);
    p[2 + n] = 0;
    {
        unsigned char tmp[256];
        put(b, tmp, tu_frame(tmp, 1, 0, WS_OP_CLOSE, to == WS_ROLE_SERVER, p, 2 + n));
    }
}

/* What the peer sends to an endpoint of `role`: the other half of the handshake (the
   client's answer is computed from the key in its request), then the frames. */
static void scenario_input(int s, ws_role role, const unsigned char *request, size_t request_len,
                           buf *in) {
    in->n = 0;
    if (role == WS_ROLE_SERVER) {
        put(in, REQUEST, sizeof REQUEST - 1);
    } else if (s == S_ERROR) {
        static const char refused[] = "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n";
        put(in, refused, sizeof refused - 1);
        return;
    } else {
        ws_str key;
        char accept[WS_ACCEPT_LEN + 1], head[512];
        assert_int_equal(ws_header_find((const char *)request, request_len, "Sec-WebSocket-Key", &key), 1);
        ws_accept_key(key.p, key.n, accept);
        snprintf(head, sizeof head,
                 "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n"
                 "Sec-WebSocket-Protocol: chat\r\n\r\n", accept);
        put(in, head, strlen(head));
    }
    switch (s) {
    case S_MESSAGE:
    case S_FRAGMENT: /* a message in two frames: assembled in the connection's buffer */
        frame(in, role, 0, WS_OP_TEXT, "first half, ");
        frame(in, role, 1, WS_OP_CONT, "second half");
        break;
    case S_PING: frame(in, role, 1, WS_OP_PING, "ping payload"); break;
    case S_PONG: frame(in, role, 1, WS_OP_PONG, "pong payload"); break;
    case S_CLOSE: close_frame(in, role, 4001, "the reason, echoed"); break;
    case S_ERROR: frame(in, role, 1, 0x3, "reserved opcode"); break; /* §5.2: fails 1002 */
    default: break;
    }
    if (s != S_CLOSE && s != S_ERROR) frame(in, role, 1, WS_OP_TEXT, "after");
}

/* ---------------------------------------------------------------------------------
   One run: a connection, the action done at the scenario's event, what came out
   --------------------------------------------------------------------------------- */

typedef struct run {
    ws_conn c;
    ws_role role;
    int scenario, action, acted;
    ws_result action_result;
    ws_event_type events[64];
    unsigned codes[64];
    ws_result errors[64];
    char open_protocol[32];
    size_t n_events;
    buf out; /* everything the endpoint queued */
    char what[128];
} run;

static void drain(run *R) {
    const void *p;
    size_t k;
    while ((k = ws_conn_output(&R->c, &p)) > 0) {
        put(&R->out, p, k);
        ws_conn_consume(&R->c, k);
    }
}

static void act(run *R, ws_conn *c, const ws_event *ev) {
    static unsigned char junk[4] = {0x81, 0x02, 'h', 'i'};
    size_t used = 99;
    char *name;
    switch (R->action) {
    case A_SEND: R->action_result = ws_send(c, WS_OP_TEXT, "reply", 5); break;
    case A_SEND_FRAGMENT: R->action_result = ws_send_fragment(c, WS_OP_BINARY, "part", 4, 0); break;
    case A_PING: R->action_result = ws_ping(c, "p", 1); break;
    case A_PONG: R->action_result = ws_pong(c, "u", 1); break;
    case A_CLOSE: /* the README's example: echo the peer's reason from the event itself */
        if (ev->type == WS_EV_CLOSE) R->action_result = ws_close(c, ev->code, (const char *)ev->data, ev->len);
        else R->action_result = ws_close(c, 1000, "bye", 3);
        break;
    case A_ACCEPT: /* a name that lives only during the call */
        name = (char *)malloc(5);
        memcpy(name, "chat", 5);
        R->action_result = ws_accept(c, name, NULL);
        memset(name, 'X', 4);
        free(name);
        break;
    case A_ACCEPT_SECOND_LINE: R->action_result = ws_accept(c, "superchat", NULL); break;
    case A_ACCEPT_BAD: R->action_result = ws_accept(c, "chat", "No-CRLF: x"); break;
    case A_REJECT: R->action_result = ws_reject(c, 403, NULL); break;
    case A_REJECT_BAD: R->action_result = ws_reject(c, 99, "X: y\r\n"); break;
    case A_TICK: /* past every deadline: handshake, close, pong, stalled output */
        ws_conn_tick(c, 1000000000u); /* timers start */
        ws_conn_tick(c, 2000000000u); /* a keep-alive ping goes out */
        ws_conn_tick(c, 3000000000u); /* and is late */
        break;
    case A_EOF: ws_conn_eof(c); break;
    case A_FEED: /* not from a callback: the input it is reading is not done */
        R->action_result = ws_conn_feed(c, junk, sizeof junk, &used);
        if (R->action_result != WS_ERR_STATE || used != 0)
            fail_msg("%s: ws_conn_feed from a callback gave %d, used %lu", R->what,
                     R->action_result, (unsigned long)used);
        break;
    case A_DRAIN: drain(R); break;
    default: break;
    }
}

static void on_event(ws_conn *c, const ws_event *ev, void *user) {
    run *R = (run *)user;
    unsigned char copy[512];
    size_t len = ev->len < sizeof copy ? ev->len : sizeof copy;
    ws_str key = {0, 0};
    char keycopy[64] = {0};
    assert_true(R->n_events < sizeof R->events / sizeof R->events[0]);
    R->events[R->n_events] = ev->type;
    R->codes[R->n_events] = ev->code;
    R->errors[R->n_events++] = ev->error;
    if (ev->type == WS_EV_OPEN) {
        size_t n = ev->protocol.n < sizeof R->open_protocol ? ev->protocol.n : sizeof R->open_protocol - 1;
        memcpy(R->open_protocol, ev->protocol.p, n);
        R->open_protocol[n] = 0;
    }
    if (ev->type != scenario_event[R->scenario] || R->acted) return;
    R->acted = 1;
    if (len) memcpy(copy, ev->data, len);
    if (ev->request) {
        key = ev->request->key;
        memcpy(keycopy, key.p, key.n < sizeof keycopy ? key.n : sizeof keycopy);
    }
    act(R, c, ev);
    /* The event is still the callback's to read, whatever the action released. */
    if (len && memcmp(copy, ev->data, len) != 0) fail_msg("%s: event data changed", R->what);
    if (ev->request && memcmp(keycopy, key.p, key.n < sizeof keycopy ? key.n : sizeof keycopy) != 0)
        fail_msg("%s: request changed", R->what);
    if (ev->type == WS_EV_OPEN && ev->protocol.n && ev->protocol.p[0] != R->open_protocol[0])
        fail_msg("%s: OPEN's protocol changed", R->what);
}

static int out_has(const run *R, const char *s) {
    size_t n = strlen(s), i;
    for (i = 0; i + n <= R->out.n; i++)
        if (memcmp(R->out.p + i, s, n) == 0) return 1;
    return 0;
}

static size_t find_event(const run *R, ws_event_type t) {
    size_t i;
    for (i = 0; i < R->n_events; i++)
        if (R->events[i] == t) return i;
    return (size_t)-1;
}

/* Feed the scenario in pieces of `chunk` (0: whole), draining output between feeds. */
static void run_scenario(run *R, ws_role role, int s, int a, size_t chunk) {
    ws_config cfg;
    buf *in = (buf *)malloc(sizeof *in);
    size_t off = 0;
    memset(R, 0, sizeof *R);
    R->role = role, R->scenario = s, R->action = a;
    snprintf(R->what, sizeof R->what, "%s: %s x %s, chunk %lu",
             role == WS_ROLE_SERVER ? "server" : "client", scenario_name[s], action_name[a],
             (unsigned long)chunk);
    ws_config_init(&cfg, role);
    cfg.on_event = on_event;
    cfg.user = R;
    cfg.rng = tu_rng;
    cfg.streaming = s == S_FRAGMENT;
    cfg.ping_interval_ms = 1000;
    assert_int_equal(ws_conn_init(&R->c, &cfg), WS_OK);
    ws_conn_tick(&R->c, 0);
    if (role == WS_ROLE_CLIENT) {
        ws_client_options o;
        memset(&o, 0, sizeof o);
        o.url = "ws://127.0.0.1:9001/chat";
        o.protocols = "chat";
        assert_int_equal(ws_client_start(&R->c, &o), WS_OK);
        drain(R);
    }
    scenario_input(s, role, R->out.p, R->out.n, in);
    R->out.n = 0;
    if (!chunk) chunk = in->n;
    while (off < in->n) {
        size_t n = in->n - off < chunk ? in->n - off : chunk, used = 0;
        unsigned char *piece = (unsigned char *)malloc(n);
        ws_result r;
        memcpy(piece, in->p + off, n);
        r = ws_conn_feed(&R->c, piece, n, &used);
        free(piece);
        drain(R);
        if (r != WS_OK && r != WS_WOULD_BLOCK) break;
        off += used;
        if (!used && r == WS_WOULD_BLOCK) break;
    }
    free(in);
}

/* ---------------------------------------------------------------------------------
   What must hold after every run
   --------------------------------------------------------------------------------- */

static void check_run(run *R) {
    size_t err = find_event(R, WS_EV_ERROR), open = find_event(R, WS_EV_OPEN), i;
    int failed = ws_conn_error(&R->c) != WS_OK;
    if (!R->acted && R->action != A_NONE && !(R->scenario == S_REQUEST && R->role == WS_ROLE_CLIENT))
        fail_msg("%s: the scenario's event never came", R->what);
    /* An ERROR is the last event, and comes at most once (§7.1.7). */
    if (err != (size_t)-1 && err + 1 != R->n_events)
        fail_msg("%s: event %d after ERROR", R->what, (int)R->events[err + 1]);
    if (failed != (err != (size_t)-1))
        fail_msg("%s: sticky error %d but %s ERROR event", R->what, ws_conn_error(&R->c),
                 err == (size_t)-1 ? "no" : "an");
    if (failed) {
        unsigned char x[2] = {0x81, 0x00};
        size_t used = 0;
        if (ws_conn_feed(&R->c, x, sizeof x, &used) != ws_conn_error(&R->c))
            fail_msg("%s: the error did not stick", R->what);
    }
    if (R->role == WS_ROLE_SERVER) {
        int accepted = out_has(R, "HTTP/1.1 101 ");
        /* No 101 for a connection that failed or was refused before it opened; an OPEN
           only with a 101, which only a hang-up after it (a deadline, EOF) takes back. */
        if (accepted && open == (size_t)-1) fail_msg("%s: 101 sent but no OPEN", R->what);
        if (!accepted && open != (size_t)-1 &&
            !(err != (size_t)-1 && err > open && (R->action == A_TICK || R->action == A_EOF)))
            fail_msg("%s: OPEN but no 101", R->what);
        if (R->scenario == S_REQUEST) {
            switch (R->action) {
            case A_ACCEPT:
            case A_NONE:
            case A_SEND:
            case A_DRAIN:
                if (!accepted) fail_msg("%s: not accepted", R->what);
                if (strcmp(R->open_protocol, R->action == A_ACCEPT ? "chat" : "") != 0)
                    fail_msg("%s: OPEN's protocol is \"%s\"", R->what, R->open_protocol);
                break;
            case A_ACCEPT_SECOND_LINE: /* §11.3.4: the second line offers it too */
                if (R->action_result != WS_OK || !out_has(R, "Sec-WebSocket-Protocol: superchat\r\n") ||
                    strcmp(R->open_protocol, "superchat") != 0)
                    fail_msg("%s: superchat not accepted (%d)", R->what, R->action_result);
                break;
            case A_ACCEPT_BAD: /* a failed acceptance is a refusal, reported */
                if (R->action_result != WS_ERR_ARG || accepted || !out_has(R, "HTTP/1.1 500 ") ||
                    err == (size_t)-1 || R->errors[err] != WS_ERR_ARG || R->codes[err] != 500)
                    fail_msg("%s: not refused with 500 and reported", R->what);
                break;
            case A_REJECT:
                if (R->action_result != WS_OK || accepted || !out_has(R, "HTTP/1.1 403 "))
                    fail_msg("%s: not refused with 403", R->what);
                break;
            case A_REJECT_BAD: /* a refusal that cannot go out as asked still refuses */
                if (R->action_result != WS_ERR_ARG || accepted || !out_has(R, "HTTP/1.1 500 ") ||
                    out_has(R, "X: y") || err == (size_t)-1 || R->codes[err] != 500)
                    fail_msg("%s: not refused with a bare 500 and reported", R->what);
                break;
            case A_TICK:
            case A_EOF:
                if (accepted || err == (size_t)-1 ||
                    R->errors[err] != (R->action == A_TICK ? WS_ERR_TIMEOUT : WS_ERR_EOF))
                    fail_msg("%s: accepted after failing in the callback", R->what);
                break;
            default: break;
            }
        }
    }
    if (R->action == A_CLOSE && R->scenario == S_CLOSE) {
        /* §5.5.1: the reply carries the code and the reason taken from the event. */
        static const char reason[] = "the reason, echoed";
        {
            size_t off = 0;
            int found = 0;
            for (; R->role == WS_ROLE_SERVER && off + 4 <= R->out.n; off++) /* past the 101 */
                if (memcmp(R->out.p + off, "\r\n\r\n", 4) == 0) {
                    off += 4;
                    break;
                }
            while (off < R->out.n) {
                ws_frame f;
                int h = ws_frame_decode(R->out.p + off, R->out.n - off, &f);
                unsigned char *pl;
                if (h < 2 || f.len > R->out.n - off - (size_t)h) break;
                pl = R->out.p + off + h;
                if (f.masked) ws_mask(pl, (size_t)f.len, f.key, 0);
                if (f.opcode == WS_OP_CLOSE) {
                    found = f.len == 2 + sizeof reason - 1 && pl[0] == 4001 >> 8 &&
                            pl[1] == (4001 & 0xff) && memcmp(pl + 2, reason, sizeof reason - 1) == 0;
                    break;
                }
                off += (size_t)h + (size_t)f.len;
            }
            if (!found) fail_msg("%s: the close reply does not echo the reason", R->what);
        }
    }
    for (i = 0; i < R->n_events; i++)
        if (R->events[i] == WS_EV_OPEN && err != (size_t)-1 && i > err)
            fail_msg("%s: OPEN after ERROR", R->what);
    ws_conn_free(&R->c);
}

static const size_t chunks[] = {0, 1, 2, 3, 7, 64};
static int only_action = -1; /* argv[2]: one action's number, to look at one cell */

static void matrix(ws_role role, int s) {
    run *R = (run *)malloc(sizeof *R);
    int a;
    size_t k;
    for (a = 0; a < A_COUNT; a++)
        for (k = 0; k < sizeof chunks / sizeof chunks[0] && (only_action < 0 || a == only_action); k++) {
            run_scenario(R, role, s, a, chunks[k]);
            check_run(R);
        }
    free(R);
}

#define MATRIX_TEST(S)                                                                   \
    static void test_##S(void **state) {                                                 \
        (void)state;                                                                     \
        if (S != S_REQUEST) matrix(WS_ROLE_CLIENT, S);                                   \
        matrix(WS_ROLE_SERVER, S);                                                       \
    }
MATRIX_TEST(S_REQUEST)
MATRIX_TEST(S_OPEN)
MATRIX_TEST(S_MESSAGE)
MATRIX_TEST(S_FRAGMENT)
MATRIX_TEST(S_PING)
MATRIX_TEST(S_PONG)
MATRIX_TEST(S_CLOSE)
MATRIX_TEST(S_ERROR)

/* Usage: test_reentry [TEST-NAME-PATTERN [ACTION-NUMBER]] */
int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_S_REQUEST), cmocka_unit_test(test_S_OPEN),
        cmocka_unit_test(test_S_MESSAGE), cmocka_unit_test(test_S_FRAGMENT),
        cmocka_unit_test(test_S_PING),    cmocka_unit_test(test_S_PONG),
        cmocka_unit_test(test_S_CLOSE),   cmocka_unit_test(test_S_ERROR),
    };
    if (argc > 1) cmocka_set_test_filter(argv[1]);
    if (argc > 2) only_action = atoi(argv[2]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
