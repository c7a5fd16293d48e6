/* Unit tests for examples/socketio_client.c's protocol half: the JSON reader and the
   Engine.IO v4 / Socket.IO v5 packet codec (sio_*), without a socket. The example is
   included whole (its main renamed), so these are the functions the program runs.

   Server packets go in as real WebSocket frames through a ws_conn (server role, so what
   the client sends comes out unmasked and easy to read), fed at every chunking: each
   run must give the same transcript of callbacks and sent packets. References:
   Engine.IO protocol v4 ("packet encoding", "heartbeat"), Socket.IO protocol v5
   ("packet format", "connection to a namespace", "acknowledgement", binary
   attachments), RFC 8259 (JSON) for the reader. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#define main socketio_client_main
#include "../../examples/socketio_client.c"
#undef main

#include <cmocka.h>

/* ---- JSON reader ------------------------------------------------------------------ */

/* A copy of exactly n bytes, so ASan faults on any read past the end. */
static char *exact(const char *s, size_t n) {
    char *p = (char *)malloc(n ? n : 1);
    memcpy(p, s, n);
    return p;
}

static int is_json(const char *s, size_t n) {
    char *p = exact(s, n);
    int r = json_is(p, n, 0);
    free(p);
    return r;
}

/* RFC 8259 §2-§7: whole values are accepted, and every cut of one whose prefixes are
   never values (containers, strings, literals) is refused, read within its bounds. */
static void test_json_values_and_every_truncation(void **state) {
    static const char *whole[] = {
        "[]", "{}", "[1,-2.5e+3,0,-0.0,1E9]", "{\"a\":[true,false,null],\"b\":{\"c\":\"d\"}}",
        "\"esc \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\ud83d\\ude00\"", " [ 1 , { } ] ",
        "true", "false", "null", "[\"h\xc3\xa9llo \xe2\x9c\x93\"]",
    };
    size_t i, k;
    (void)state;
    for (i = 0; i < sizeof whole / sizeof whole[0]; i++) {
        size_t n = strlen(whole[i]);
        size_t lead = strspn(whole[i], " "), body = n - lead;
        assert_true(is_json(whole[i], n));
        while (body > 0 && whole[i][lead + body - 1] == ' ')
            body--;
        for (k = lead; k < lead + body; k++)
            if (is_json(whole[i], k))
                fail_msg("prefix %zu of %s accepted", k, whole[i]);
    }
}

static void test_json_refuses_malformed(void **state) {
    static const char *bad[] = {
        "[1,]", "{\"a\"}", "{\"a\":1,}", "{1:2}", "01", "1.", "-", "+1", ".5", "1e",
        "\"\x01\"", "\"\\q\"", "\"\\u12\"", "\"\\u12g4\"", "tru", "nul", "[1 2]", "]", "",
        "\"", "[1]]", "{\"a\":1}}", "[1] x",
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (is_json(bad[i], strlen(bad[i])))
            fail_msg("accepted %s", bad[i]);
}

/* Nesting is bounded (JSON_MAX_DEPTH): a hostile server's 100000 brackets are refused
   without recursing that deep. */
static void test_json_depth_bound(void **state) {
    size_t n = 100000, d;
    char *s = (char *)malloc(2 * n);
    (void)state;
    for (d = 0; d < n; d++) {
        s[d] = '[';
        s[2 * n - 1 - d] = ']';
    }
    assert_false(json_is(s, 2 * n, 0));
    /* JSON_MAX_DEPTH levels are fine, one more is not. */
    assert_true(json_is(s + n - JSON_MAX_DEPTH, 2 * JSON_MAX_DEPTH, 0));
    assert_false(json_is(s + n - JSON_MAX_DEPTH - 1, 2 * JSON_MAX_DEPTH + 2, 0));
    free(s);
}

static long decode(const char *json, char *out, size_t cap) {
    char *p = exact(json, strlen(json));
    long r = json_string(p, p + strlen(json), out, cap);
    free(p);
    return r;
}

/* RFC 8259 §7: escapes, \u including surrogate pairs (UTF-16), and a lone surrogate,
   which has no UTF-8 form, as U+FFFD. The output never overflows its buffer. */
static void test_json_string_decoding(void **state) {
    char out[64];
    (void)state;
    assert_int_equal(decode("\"a\\\"b\\\\c\\/\\b\\f\\n\\r\\t\"", out, sizeof out), 11);
    assert_string_equal(out, "a\"b\\c/\b\f\n\r\t");
    assert_int_equal(decode("\"\\u00e9\\u2713\\ud83d\\ude00\"", out, sizeof out), 9);
    assert_string_equal(out, "\xc3\xa9\xe2\x9c\x93\xf0\x9f\x98\x80");
    decode("\"\\ud83dx\\ude00\"", out, sizeof out);
    assert_string_equal(out, "\xef\xbf\xbdx\xef\xbf\xbd");
    assert_int_equal(decode("\"abcd\"", out, 5), 4); /* 4 bytes + NUL fit exactly */
    assert_int_equal(decode("\"abcde\"", out, 5), -1);
    assert_int_equal(decode("\"\\ud83d\\ude00\"", out, 4), -1);
    assert_int_equal(decode("12", out, sizeof out), -1);
}

/* Members are found at the top level only, whatever the order or nesting around them. */
static void test_json_member_and_uint(void **state) {
    const char *obj = "{\"a\":{\"sid\":\"inner\"},\"list\":[\"sid\",1],\"sid\":\"outer\",\"n\":25000}";
    const char *v, *vend;
    unsigned long n;
    char out[16];
    (void)state;
    assert_true(json_member(obj, obj + strlen(obj), "sid", &v, &vend));
    assert_int_equal(json_string(v, vend, out, sizeof out), 5);
    assert_string_equal(out, "outer");
    assert_true(json_member(obj, obj + strlen(obj), "n", &v, &vend));
    assert_int_equal(json_uint(v, vend, &n), 0);
    assert_int_equal(n, 25000);
    assert_false(json_member(obj, obj + strlen(obj), "missing", &v, &vend));
    assert_false(json_member("[1]", "[1]" + 3, "sid", &v, &vend));
    assert_int_equal(json_uint("99999999999999999999999", "99999999999999999999999" + 23, &n), -1);
    assert_int_equal(json_uint("-1", "-1" + 2, &n), -1);
    assert_int_equal(json_uint("12x", "12x" + 3, &n), -1);
    assert_int_equal(json_uint("", "", &n), -1);
}

/* ---- the protocol, through a real WebSocket connection ---------------------------- */

/* What the application heard (callbacks) and what went on the wire (the client's
   frames), kept apart: when a reply is read depends on the chunking, what it is not. */
static buf transcript, wire;

static void say(const char *fmt, ...) {
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    buf_puts(&transcript, line);
    buf_puts(&transcript, "\n");
}

static void t_open(sio *s) { say("open %s %lu %lu", s->eio_sid, s->ping_interval, s->ping_timeout); }
static void t_connect(sio *s) { say("connect %s %s", s->nsp, s->sid); }
static void t_connect_error(sio *s, const char *json, size_t len) {
    say("connect_error %s %.*s", s->nsp, (int)len, json);
}
static void t_event(sio *s, const char *name, const char *args, size_t len, long id,
                    const sio_blob *blobs, unsigned nblobs) {
    say("event %s %s %.*s id=%ld blobs=%u%s%.*s", s->nsp, name, (int)len, args, id, nblobs,
        nblobs ? ":" : "", nblobs ? (int)blobs[0].len : 0, nblobs ? (const char *)blobs[0].data : "");
}
static void t_ack(sio *s, unsigned long id, const char *args, size_t len, const sio_blob *blobs,
                  unsigned nblobs) {
    (void)blobs;
    say("ack %s %lu %.*s blobs=%u", s->nsp, id, (int)len, args, nblobs);
}
static void t_ping(sio *s, int answered) {
    (void)s;
    say("ping %s", answered ? "answered" : "ignored");
}
static void t_disconnect(sio *s, const char *reason) { say("disconnect %s %s", s->nsp, reason); }

static const sio_handler thandler = {t_open, t_connect, t_connect_error, t_event, t_ack,
                                     t_ping, t_disconnect};

typedef struct rig {
    ws_conn conn;
    sio s;
} rig;

static void rig_on_ws(ws_conn *c, const ws_event *ev, void *user) {
    rig *r = (rig *)user;
    (void)c;
    if (ev->type == WS_EV_MESSAGE)
        sio_on_message(&r->s, ev->opcode, ev->data, ev->len);
}

static void rig_init(rig *r, const char *nsp, const char *auth) {
    ws_config cfg;
    transcript.len = wire.len = 0;
    buf_puts(&transcript, "");
    buf_puts(&wire, "");
    ws_config_init(&cfg, WS_ROLE_SERVER); /* its frames go out unmasked: easy to read */
    cfg.skip_handshake = 1;
    cfg.on_event = rig_on_ws;
    cfg.user = r;
    assert_int_equal(ws_conn_init(&r->conn, &cfg), WS_OK);
    sio_init(&r->s, &r->conn, &thandler, r, nsp, auth);
    sio_tick(&r->s, 1000);
}

static void rig_free(rig *r) {
    sio_free(&r->s);
    ws_conn_free(&r->conn);
}

static void sent(const char *fmt, ...) {
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    buf_puts(&wire, line);
    buf_puts(&wire, "\n");
}

/* What the client queued, as "sent ..." lines in `wire`: text packets, the close frame. */
static void rig_drain(rig *r) {
    const unsigned char *d;
    size_t n;
    while ((n = ws_conn_output(&r->conn, (const void **)&d)) > 0) {
        size_t pos = 0;
        while (pos + 2 <= n) {
            unsigned op = d[pos] & 0x0F;
            size_t len = d[pos + 1] & 0x7F, hdr = 2;
            if (len == 126) {
                len = (size_t)d[pos + 2] << 8 | d[pos + 3];
                hdr = 4;
            }
            assert_true(len < 65536); /* the tests send nothing larger */
            if (op == WS_OP_CLOSE)
                sent("sent close %u", len >= 2 ? (unsigned)(d[pos + hdr] << 8 | d[pos + hdr + 1]) : 0u);
            else
                sent("sent %.*s", (int)len, (const char *)d + pos + hdr);
            pos += hdr + len;
        }
        assert_int_equal(pos, n);
        ws_conn_consume(&r->conn, n);
    }
}

/* A masked frame from the "server" (zero key, so the payload reads as is). */
static void frame(buf *b, unsigned op, const char *payload, size_t len) {
    unsigned char h[8];
    size_t hn = 2;
    h[0] = (unsigned char)(0x80 | op);
    if (len < 126) {
        h[1] = (unsigned char)(0x80 | len);
    } else {
        h[1] = 0x80 | 126;
        h[2] = (unsigned char)(len >> 8);
        h[3] = (unsigned char)len;
        hn = 4;
    }
    memset(h + hn, 0, 4);
    buf_put(b, h, hn + 4);
    buf_put(b, payload, len);
}

static void text(buf *b, const char *payload) { frame(b, WS_OP_TEXT, payload, strlen(payload)); }

/* Feed the stream in pieces of `chunk` bytes (each a malloc'd copy of exactly its size)
   and return the callbacks, "--", then the wire; replies are drained after every piece. */
static char *run(const char *nsp, const char *auth, const buf *stream, size_t chunk) {
    rig r;
    size_t pos = 0;
    char *out;
    rig_init(&r, nsp, auth);
    while (pos < stream->len) {
        size_t n = chunk && stream->len - pos > chunk ? chunk : stream->len - pos, used = 0;
        char *piece = exact(stream->p + pos, n);
        assert_int_equal(ws_conn_feed(&r.conn, piece, n, &used), WS_OK);
        assert_int_equal(used, n);
        free(piece);
        rig_drain(&r);
        pos += n;
    }
    rig_free(&r);
    buf_puts(&transcript, "--\n");
    buf_puts(&transcript, wire.p);
    out = exact(transcript.p, transcript.len + 1);
    return out;
}

/* The same transcript at every chunking, and it is `want`. */
static void expect_transcript(const char *nsp, const char *auth, const buf *stream, const char *want) {
    char *whole = run(nsp, auth, stream, 0);
    size_t chunk;
    assert_string_equal(whole, want);
    for (chunk = 1; chunk < stream->len; chunk++) {
        char *t = run(nsp, auth, stream, chunk);
        if (strcmp(t, whole) != 0)
            fail_msg("chunk %zu gave:\n%s\ninstead of:\n%s", chunk, t, whole);
        free(t);
    }
    free(whole);
}

/* Engine.IO v4: the open packet's sid and timings; the client then connects to its
   namespace (Socket.IO v5 CONNECT, "40", the main namespace unnamed). The server's
   ping "2" is answered "3". Socket.IO: CONNECT with the sid, EVENT "42" with the name
   first and the arguments after it, with an ack id before the array, ACK "43"; an
   event for another namespace is not ours; DISCONNECT "41" ends the session. */
static void test_session_main_namespace(void **state) {
    buf in = {0, 0, 0};
    (void)state;
    text(&in, "0{\"sid\":\"e1\",\"upgrades\":[],\"pingInterval\":25000,\"pingTimeout\":20000,\"maxPayload\":1000000}");
    text(&in, "40{\"sid\":\"s1\"}");
    text(&in, "0{\"sid\":\"again\",\"pingInterval\":1,\"pingTimeout\":1}"); /* one session */
    text(&in, "2");
    text(&in, "42[\"chat\",1,{\"a\":[2]},\"\\u2713\"]");
    text(&in, "4217[\"q\\u00e9\"]");
    text(&in, "42/other,[\"not ours\"]");
    text(&in, "431[\"ok\",null]");
    text(&in, "6");
    text(&in, "41");
    expect_transcript("/", NULL, &in,
        "open e1 25000 20000\n"
        "connect / s1\n"
        "ping answered\n"
        "event / chat [1,{\"a\":[2]},\"\\u2713\"] id=-1 blobs=0\n"
        "event / q\xc3\xa9 [] id=17 blobs=0\n"
        "ack / 1 [\"ok\",null] blobs=0\n"
        "disconnect / io server disconnect\n"
        "--\n"
        "sent 40\n"
        "sent 3\n"
        "sent close 1000\n");
    free(in.p);
}

/* A named namespace: "/chat," after the type, the auth object after it in CONNECT;
   a refused connect (CONNECT_ERROR "44") is reported and ends the session without a
   "disconnect" (there was no connection). */
static void test_session_namespace_auth_refused(void **state) {
    buf in = {0, 0, 0};
    (void)state;
    text(&in, "0{\"sid\":\"e2\",\"pingInterval\":300,\"pingTimeout\":200}");
    text(&in, "40/chat,{\"sid\":\"s2\"}");
    text(&in, "42/chat,5[\"x\",true]");
    text(&in, "42[\"main namespace, not ours\"]");
    text(&in, "44/chat,{\"message\":\"not authorized\"}");
    expect_transcript("/chat", "{\"token\":\"t\"}", &in,
        "open e2 300 200\n"
        "connect /chat s2\n"
        "event /chat x [true] id=5 blobs=0\n"
        "connect_error /chat {\"message\":\"not authorized\"}\n"
        "--\n"
        "sent 40/chat,{\"token\":\"t\"}\n"
        "sent close 1000\n");
    free(in.p);
}

/* Socket.IO v5 binary: "51-" says one attachment follows as a binary message; the event
   is delivered once it has come, with the placeholder left in the arguments. */
static void test_binary_event(void **state) {
    buf in = {0, 0, 0};
    (void)state;
    text(&in, "0{\"sid\":\"e3\",\"pingInterval\":300,\"pingTimeout\":200}");
    text(&in, "40{\"sid\":\"s3\"}");
    text(&in, "451-[\"blob\",{\"_placeholder\":true,\"num\":0}]");
    frame(&in, WS_OP_BINARY, "abc", 3);
    text(&in, "461-3[{\"_placeholder\":true,\"num\":0}]");
    frame(&in, WS_OP_BINARY, "", 0);
    frame(&in, WS_OP_BINARY, "stray", 5); /* no packet waits for it: ignored */
    /* A packet whose buffers have not all come is given up for the next one. */
    text(&in, "452-[\"first\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]");
    frame(&in, WS_OP_BINARY, "x", 1);
    text(&in, "451-[\"second\",{\"_placeholder\":true,\"num\":0}]");
    frame(&in, WS_OP_BINARY, "yz", 2);
    expect_transcript("/", NULL, &in,
        "open e3 300 200\n"
        "connect / s3\n"
        "event / blob [{\"_placeholder\":true,\"num\":0}] id=-1 blobs=1:abc\n"
        "ack / 3 [{\"_placeholder\":true,\"num\":0}] blobs=1\n"
        "event / second [{\"_placeholder\":true,\"num\":0}] id=-1 blobs=1:yz\n"
        "--\n"
        "sent 40\n");
    free(in.p);
}

/* Broken packets from the server are dropped without a callback (or a crash): JSON
   that does not parse or end, a name that is not a string, ids that overflow, more
   attachments than allowed, empty messages, an open packet without its timings. */
static void test_malformed_packets_dropped(void **state) {
    buf in = {0, 0, 0};
    (void)state;
    text(&in, "0{\"sid\":\"e4\",\"pingInterval\":300,\"pingTimeout\":200}");
    text(&in, "40{\"sid\":\"s4\"}");
    text(&in, "");
    text(&in, "4");
    text(&in, "42[");
    text(&in, "42[\"x\"");
    text(&in, "42[1]");
    text(&in, "42{\"a\":1}");
    text(&in, "42\"x\"");
    text(&in, "4299999999999999999999999[\"x\"]");
    text(&in, "45-[\"x\"]");
    text(&in, "4517-[\"x\"]");
    text(&in, "451x-[\"x\"]");
    text(&in, "43[\"no id\"]");
    text(&in, "42/chat");
    text(&in, "40{\"nosid\":1}");
    text(&in, "7");
    text(&in, "42[\"still fine\"]");
    expect_transcript("/", NULL, &in,
        "open e4 300 200\n"
        "connect / s4\n"
        "event / still fine [] id=-1 blobs=0\n"
        "--\n"
        "sent 40\n");
    free(in.p);

    memset(&in, 0, sizeof in);
    text(&in, "0{\"sid\":\"e5\",\"pingInterval\":\"300\",\"pingTimeout\":200}");
    text(&in, "40{\"sid\":\"s5\"}");
    expect_transcript("/", NULL, &in, "disconnect / bad open packet\n--\nsent close 1000\n");
    free(in.p);
}

/* Engine.IO v4 heartbeat: a muted client does not answer; a server that has not pinged
   for pingInterval + pingTimeout is gone ("ping timeout"), each ping restarting the wait. */
static void test_heartbeat(void **state) {
    rig r;
    static const char open[] = "0{\"sid\":\"e6\",\"pingInterval\":500,\"pingTimeout\":400}";
    (void)state;
    rig_init(&r, "/", NULL);
    sio_on_message(&r.s, WS_OP_TEXT, open, sizeof open - 1); /* at t = 1000 */
    sio_on_message(&r.s, WS_OP_TEXT, "40{\"sid\":\"s6\"}", 14);
    sio_tick(&r.s, 1800);
    sio_on_message(&r.s, WS_OP_TEXT, "2", 1);
    r.s.answer_pings = 0;
    sio_tick(&r.s, 2600);
    sio_on_message(&r.s, WS_OP_TEXT, "2", 1);
    sio_tick(&r.s, 3500); /* 900 ms after the last ping: not yet */
    sio_tick(&r.s, 3501);
    sio_tick(&r.s, 9999); /* reported once */
    rig_drain(&r);
    assert_string_equal(transcript.p,
        "open e6 500 400\n"
        "connect / s6\n"
        "ping answered\n"
        "ping ignored\n"
        "disconnect / ping timeout\n");
    assert_string_equal(wire.p, "sent 40\nsent 3\nsent close 1000\n");
    rig_free(&r);
}

/* What the client sends: EVENT with the name JSON-escaped and the arguments spliced
   after it, the ack id before the array, the namespace before that; ACK; DISCONNECT
   "41" then the WebSocket close. Arguments that are not a JSON array are refused and
   nothing is sent. */
static void test_client_packets(void **state) {
    rig r;
    (void)state;
    rig_init(&r, "/chat", NULL);
    r.s.connected = 1;
    assert_int_equal(sio_emit(&r.s, "chat", "[\"a\", 1]", 0), 0);
    assert_int_equal(sio_emit(&r.s, "q\"\n", " [ ] ", 1), 1);
    assert_int_equal(sio_emit(&r.s, "x", NULL, 1), 2);
    assert_int_equal(sio_emit(&r.s, "x", "{}", 0), -1);
    assert_int_equal(sio_emit(&r.s, "x", "[1", 0), -1);
    assert_int_equal(sio_ack(&r.s, 7, "[{\"n\":1}]"), 0);
    assert_int_equal(sio_ack(&r.s, 8, NULL), 0);
    assert_int_equal(sio_ack(&r.s, 9, "1"), -1);
    assert_int_equal(sio_disconnect(&r.s), 0);
    rig_drain(&r);
    assert_string_equal(transcript.p, "disconnect /chat io client disconnect\n");
    assert_string_equal(wire.p,
        "sent 42/chat,[\"chat\",\"a\", 1]\n"
        "sent 42/chat,1[\"q\\\"\\u000a\"]\n"
        "sent 42/chat,2[\"x\"]\n"
        "sent 43/chat,7[{\"n\":1}]\n"
        "sent 43/chat,8[]\n"
        "sent 41/chat,\n"
        "sent close 1000\n");
    rig_free(&r);
}

/* The Engine.IO URL: http becomes ws, Socket.IO's default path, EIO=4 over the
   WebSocket after the user's query. */
static void test_engine_url(void **state) {
    static const char *cases[][2] = {
        {"http://127.0.0.1:3000", "ws://127.0.0.1:3000/socket.io/?EIO=4&transport=websocket"},
        {"http://127.0.0.1:3000/", "ws://127.0.0.1:3000/socket.io/?EIO=4&transport=websocket"},
        {"ws://[::1]:3000/custom/?token=a%20b", "ws://[::1]:3000/custom/?token=a%20b&EIO=4&transport=websocket"},
        {"https://example.test", "wss://example.test/socket.io/?EIO=4&transport=websocket"},
        {"http://h:1?x=1", "ws://h:1/socket.io/?x=1&EIO=4&transport=websocket"},
    };
    size_t i;
    buf out = {0, 0, 0};
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        out.len = 0;
        assert_int_equal(engine_url(cases[i][0], &out), 0);
        assert_string_equal(out.p, cases[i][1]);
    }
    out.len = 0;
    assert_int_equal(engine_url("ftp://h/", &out), -1);
    free(out.p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_values_and_every_truncation),
        cmocka_unit_test(test_json_refuses_malformed),
        cmocka_unit_test(test_json_depth_bound),
        cmocka_unit_test(test_json_string_decoding),
        cmocka_unit_test(test_json_member_and_uint),
        cmocka_unit_test(test_session_main_namespace),
        cmocka_unit_test(test_session_namespace_auth_refused),
        cmocka_unit_test(test_binary_event),
        cmocka_unit_test(test_malformed_packets_dropped),
        cmocka_unit_test(test_heartbeat),
        cmocka_unit_test(test_client_packets),
        cmocka_unit_test(test_engine_url),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    free(transcript.p);
    free(wire.p);
    return r;
}
