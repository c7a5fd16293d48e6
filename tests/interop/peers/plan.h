/* The interop test plan for the C and C++ peers (lws_peer.c, wspp_peer.cpp): the same
   plan as plan.js and plan.py (see tests/interop/README.md).

   The peer drives one connection to our side, which echoes every message. The plan is
   a list of steps: send a message, one frame of a text message, a ping, the close. The
   peer's library code sends whatever plan_next() returns and then calls plan_sent(); it
   calls plan_opened, plan_message, plan_pong and plan_closed as things arrive. Replies
   (echoes, pongs) are expected in the order their steps were sent. After a step marked
   `wait`, plan_next() returns NULL until every reply due so far has arrived; the steps of
   a burst do not wait, so they leave back to back. Each check prints
   "RESULT<TAB>check<TAB>ok|FAIL<TAB>detail" on stdout. */
#ifndef INTEROP_PLAN_H
#define INTEROP_PLAN_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum plan_kind { PLAN_MESSAGE, PLAN_FRAME, PLAN_PING, PLAN_CLOSE };

/* What the peer's library can do beyond whole messages (plan_init's caps). */
#define PLAN_CAN_FRAMES 1       /* send one frame of a message: "fragment" */
#define PLAN_CAN_PING_BETWEEN 2 /* ping between two frames: "fragment:ping-between" */
#define PLAN_CAN_SPLIT_UTF8 4   /* a text frame ending inside a code point: "fragment:split-utf8" */
#define PLAN_CAN_SEE_PONGS 8    /* every pong is shown: "burst:pings" */
/* What a library cannot do at all in some setup (libwebsockets 4.1 with its
   permessage-deflate: see lws_peer.c): those steps are left out. */
#define PLAN_NO_PING 16         /* no "ping" step (and no ping-between, no burst:pings) */
#define PLAN_NO_EMPTY 32        /* no empty messages: no text:0, binary:0, none in bursts */
#define PLAN_NO_BURST 64        /* no messages back to back: no burst:messages, burst:pings */

#define PLAN_MAX_STEPS 96

typedef struct plan_step {
    char check[32];      /* the check this step belongs to */
    enum plan_kind kind;
    int binary;          /* MESSAGE */
    int first, fin;      /* FRAME: the text message's first frame, its last */
    int reply;           /* an echo or a pong is due for this step */
    int wait;            /* the next step waits until every due reply has arrived */
    int last;            /* the check's verdict comes with this step's reply */
    unsigned char *data; /* what to send (with headroom bytes before it) */
    size_t len;
    const unsigned char *expect; /* the reply's payload: the message (or the ping) */
    size_t expect_len;
} plan_step;

typedef struct plan {
    plan_step steps[PLAN_MAX_STEPS];
    int n, cur;                  /* steps, and the next one to send */
    int due[PLAN_MAX_STEPS];     /* sent steps whose replies are due, oldest first */
    int due_head, due_tail;
    int finished, failed;
    unsigned close_code;
    const char *close_reason;
    unsigned char *fragmented;   /* the text the fragment checks send, joined */
    size_t fragmented_len;
    char failed_checks[512];     /* " check check ": reported as failed already */
} plan;

#define PLAN_UTF8 \
    "h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93 \xf0\x9f\x98\x80 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xd0\x96"
#define PLAN_PING_DATA "interop ping \x00\x01\xfe\xff"
#define PLAN_PING_LEN 17

static void plan_report(const char *check, int ok, const char *fmt, ...) {
    char detail[256];
    va_list ap;
    char *p;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    for (p = detail; *p; p++)
        if (*p == '\t' || *p == '\n' || *p == '\r')
            *p = ' ';
    printf("RESULT\t%s\t%s\t%s\n", check, ok ? "ok" : "FAIL", detail);
    fflush(stdout);
}

/* A buffer of len bytes with `headroom` writable bytes before it (lws needs LWS_PRE). */
static unsigned char *plan_alloc(size_t len, size_t headroom) {
    unsigned char *b = (unsigned char *)malloc(headroom + len + 1);
    if (!b) {
        fprintf(stderr, "plan: out of memory\n");
        exit(1);
    }
    return b + headroom;
}

static plan_step *plan_add(plan *p, const char *check, enum plan_kind kind, size_t len,
                           size_t headroom) {
    plan_step *s = &p->steps[p->n++];
    memset(s, 0, sizeof *s);
    snprintf(s->check, sizeof s->check, "%s", check);
    s->kind = kind;
    s->reply = kind != PLAN_CLOSE;
    s->wait = s->last = 1;
    s->len = len;
    s->data = plan_alloc(len, headroom);
    s->expect = s->data;
    s->expect_len = len;
    return s;
}

static void plan_repeat(unsigned char *dst, size_t len, const char *unit, size_t unit_len) {
    size_t i;
    for (i = 0; i < len; i++)
        dst[i] = (unsigned char)unit[i % unit_len];
}

static plan_step *plan_add_ping(plan *p, const char *check, const char *payload, size_t len,
                                size_t headroom) {
    plan_step *s = plan_add(p, check, PLAN_PING, len, headroom);
    memcpy(s->data, payload, len);
    return s;
}

/* Frames of p->fragmented cut at the given offsets (n + 1 frames); the last one's reply
   is the echo of the whole text. With ping, a ping follows the first frame and its pong
   must arrive before the second frame leaves. */
static void plan_add_frames(plan *p, const char *check, const size_t *cuts, int n, int ping,
                            size_t headroom) {
    int i;
    for (i = 0; i <= n; i++) {
        size_t from = i ? cuts[i - 1] : 0, to = i < n ? cuts[i] : p->fragmented_len;
        plan_step *s = plan_add(p, check, PLAN_FRAME, to - from, headroom);
        memcpy(s->data, p->fragmented + from, to - from);
        s->first = i == 0;
        s->fin = s->reply = s->wait = s->last = i == n;
        s->expect = p->fragmented;
        s->expect_len = p->fragmented_len;
        if (i == 0 && ping)
            plan_add_ping(p, check, PLAN_PING_DATA, PLAN_PING_LEN, headroom)->last = 0;
    }
}

/* Burst messages: i = 0..19, size BURST_SIZES[i % 5], text when i is even ('a' + (k + i)
   mod 26 at byte k), binary when odd (byte k = (31 k + 7 + i) mod 256). */
static void plan_add_bursts(plan *p, unsigned caps, size_t headroom) {
    static const size_t sizes[] = {1, 200, 70000, 0, 1 << 20};
    char ping[16];
    size_t k;
    int i, last = (caps & PLAN_NO_EMPTY) ? 17 : 19; /* i = 18 is an empty one */
    for (i = 0; i < 20; i++) {
        plan_step *s;
        if ((caps & PLAN_NO_EMPTY) && sizes[i % 5] == 0)
            continue;
        s = plan_add(p, "burst:messages", PLAN_MESSAGE, sizes[i % 5], headroom);
        s->binary = i % 2;
        for (k = 0; k < s->len; k++)
            s->data[k] = (unsigned char)(s->binary ? (31 * k + 7 + (size_t)i) & 255
                                                   : 'a' + (k + (size_t)i) % 26);
        s->wait = s->last = i == last;
    }
    if (!(caps & PLAN_CAN_SEE_PONGS) || (caps & PLAN_NO_PING))
        return;
    for (i = 0; i < 10; i++) {
        plan_step *s;
        snprintf(ping, sizeof ping, "burst ping %d", i);
        s = plan_add_ping(p, "burst:pings", ping, strlen(ping), headroom);
        s->wait = s->last = i == 9;
    }
}

/* peer_is_client picks the close code and reason: 4001 "client bye \u2713" from a peer
   client, 4002 "server bye \u2713" from a peer server. */
static void plan_init(plan *p, int peer_is_client, size_t headroom, unsigned caps) {
    static const size_t sizes[] = {0, 125, 126, 65535, 65536, 1 << 20};
    /* "frag1 " + 3001 x U+2713 | "frag2 " + 3000 x U+1F600 | "frag3 end": 21024 bytes
       cut between code points (the three pieces), or inside two 4-byte ones. */
    static const size_t pieces[] = {6 + 3001 * 3, 6 + 3001 * 3 + 6 + 3000 * 4};
    static const size_t split[] = {9017, 16385};
    const size_t nsizes = sizeof sizes / sizeof sizes[0];
    const size_t utf8_len = sizeof PLAN_UTF8 - 1;
    unsigned char *f;
    char check[32];
    size_t i, j;
    plan_step *s;

    memset(p, 0, sizeof *p);
    for (i = (caps & PLAN_NO_EMPTY) ? 1 : 0; i < nsizes; i++) {
        snprintf(check, sizeof check, "text:%zu", sizes[i]);
        s = plan_add(p, check, PLAN_MESSAGE, sizes[i], headroom);
        plan_repeat(s->data, s->len, "abcdefghijklmnopqrstuvwxyz", 26);
    }
    for (i = (caps & PLAN_NO_EMPTY) ? 1 : 0; i < nsizes; i++) {
        snprintf(check, sizeof check, "binary:%zu", sizes[i]);
        s = plan_add(p, check, PLAN_MESSAGE, sizes[i], headroom);
        s->binary = 1;
        for (j = 0; j < s->len; j++)
            s->data[j] = (unsigned char)((j * 31 + 7) & 255);
    }
    s = plan_add(p, "utf8:short", PLAN_MESSAGE, utf8_len, headroom);
    memcpy(s->data, PLAN_UTF8, utf8_len);
    s = plan_add(p, "utf8:long", PLAN_MESSAGE, utf8_len * 2000, headroom);
    plan_repeat(s->data, s->len, PLAN_UTF8, utf8_len);

    p->fragmented_len = pieces[1] + 9;
    p->fragmented = f = plan_alloc(p->fragmented_len, 0);
    memcpy(f, "frag1 ", 6);
    plan_repeat(f + 6, 3001 * 3, "\xe2\x9c\x93", 3);
    memcpy(f + pieces[0], "frag2 ", 6);
    plan_repeat(f + pieces[0] + 6, 3000 * 4, "\xf0\x9f\x98\x80", 4);
    memcpy(f + pieces[1], "frag3 end", 9);
    if (caps & PLAN_CAN_FRAMES)
        plan_add_frames(p, "fragment", pieces, 2, 0, headroom);
    if ((caps & PLAN_CAN_PING_BETWEEN) && !(caps & PLAN_NO_PING))
        plan_add_frames(p, "fragment:ping-between", pieces, 2, 1, headroom);
    if (caps & PLAN_CAN_SPLIT_UTF8)
        plan_add_frames(p, "fragment:split-utf8", split, 2, 0, headroom);

    if (!(caps & PLAN_NO_PING))
        plan_add_ping(p, "ping", PLAN_PING_DATA, PLAN_PING_LEN, headroom);
    if (!(caps & PLAN_NO_BURST))
        plan_add_bursts(p, caps, headroom);
    plan_add(p, "close:peer", PLAN_CLOSE, 0, headroom);
    p->close_code = peer_is_client ? 4001 : 4002;
    p->close_reason = peer_is_client ? "client bye \xe2\x9c\x93" : "server bye \xe2\x9c\x93";
}

/* The step to send now, or NULL: the plan is over, or replies are due first. */
static plan_step *plan_next(plan *p) {
    if (p->finished || p->cur >= p->n)
        return NULL;
    if (p->cur > 0 && p->steps[p->cur - 1].wait && p->due_head != p->due_tail)
        return NULL;
    return &p->steps[p->cur];
}

/* The step plan_next returned has been handed to the library. */
static void plan_sent(plan *p) {
    if (p->steps[p->cur].reply)
        p->due[p->due_tail++] = p->cur;
    p->cur++;
}

static int plan_check_failed(plan *p, const char *check) {
    char word[40];
    snprintf(word, sizeof word, " %s ", check);
    return strstr(p->failed_checks, word) != NULL;
}

/* One verdict per check: the first failure, or ok with the check's last reply. */
static void plan_verdict(plan *p, const plan_step *s, int ok, const char *detail) {
    if (plan_check_failed(p, s->check))
        return;
    if (!ok) {
        size_t used = strlen(p->failed_checks);
        snprintf(p->failed_checks + used, sizeof p->failed_checks - used, " %s ", s->check);
        p->failed = 1;
    }
    if (!ok || s->last)
        plan_report(s->check, ok, "%s", detail);
}

/* The check in progress (the oldest due reply's, else the next step's). */
static const char *plan_check(plan *p) {
    if (p->due_head != p->due_tail)
        return p->steps[p->due[p->due_head]].check;
    return p->cur < p->n ? p->steps[p->cur].check : "close:peer";
}

/* The test cannot go on (unexpected event, error): the check in progress failed. */
static void plan_fail(plan *p, const char *why) {
    if (p->finished)
        return;
    plan_report(plan_check(p), 0, "%s", why);
    p->failed = p->finished = 1;
}

static void plan_opened(plan *p, const char *protocol) {
    plan_report("subprotocol", strcmp(protocol, "chat") == 0, "negotiated \"%s\"", protocol);
    if (strcmp(protocol, "chat") != 0)
        p->failed = 1;
}

/* The oldest due reply's step, which must be of the kind that arrived. */
static plan_step *plan_take(plan *p, int pong) {
    plan_step *s;
    if (p->due_head == p->due_tail)
        return NULL;
    s = &p->steps[p->due[p->due_head]];
    if ((s->kind == PLAN_PING) != pong)
        return NULL;
    p->due_head++;
    return s;
}

static void plan_message(plan *p, int binary, const void *data, size_t len) {
    plan_step *s = plan_take(p, 0);
    char detail[160];
    int want_binary, same;
    if (!s) {
        plan_fail(p, "unexpected message");
        return;
    }
    want_binary = s->kind == PLAN_MESSAGE && s->binary;
    same = binary == want_binary && len == s->expect_len && memcmp(data, s->expect, len) == 0;
    snprintf(detail, sizeof detail, "sent %s %zu bytes, got %s %zu bytes%s",
             want_binary ? "binary" : "text", s->expect_len, binary ? "binary" : "text", len,
             same ? "" : " (different)");
    plan_verdict(p, s, same, detail);
}

static void plan_pong(plan *p, const void *data, size_t len) {
    plan_step *s = plan_take(p, 1);
    char detail[160];
    int same;
    if (!s) {
        plan_fail(p, "unexpected pong");
        return;
    }
    same = len == s->len && memcmp(data, s->data, len) == 0;
    snprintf(detail, sizeof detail, "pong payload \"%.*s\"%s", (int)(len < 12 ? len : 12),
             (const char *)data, same ? ", same as the ping's" : ", not the ping's (in order?)");
    plan_verdict(p, s, same, detail);
}

/* The connection closed. code_known: the library showed the peer's close code; when it
   cannot, ok says whether the close handshake looked complete (detail says why). */
static void plan_closed(plan *p, int code_known, unsigned code, int ok, const char *detail) {
    plan_step *s = p->cur > 0 ? &p->steps[p->cur - 1] : NULL;
    if (!s || s->kind != PLAN_CLOSE) {
        char why[200];
        snprintf(why, sizeof why, "connection closed early (%s)", detail);
        plan_fail(p, why);
        return;
    }
    if (code_known) {
        plan_report(s->check, code == p->close_code, "sent %u \"%s\", echo %u", p->close_code,
                    p->close_reason, code);
        p->failed |= code != p->close_code;
    } else {
        plan_report(s->check, ok, "%s", detail);
        p->failed |= !ok;
    }
    p->finished = 1;
}

/* "close:ours-first": our server starts the close (echo_server on SIGTERM); the peer
   connects, prints "OPEN" so the orchestrator knows when to signal, and reports the
   close it receives with this. */
#define PLAN_CLOSE_BY_OURS_CODE 1001u
#define PLAN_CLOSE_BY_OURS_REASON "server shutting down"

static void plan_ours_first_open(void) {
    printf("OPEN\n");
    fflush(stdout);
}

static int plan_ours_first_closed(unsigned code, const char *reason, size_t reason_len) {
    int ok = code == PLAN_CLOSE_BY_OURS_CODE && reason_len == strlen(PLAN_CLOSE_BY_OURS_REASON) &&
             memcmp(reason, PLAN_CLOSE_BY_OURS_REASON, reason_len) == 0;
    plan_report("close:ours-first", ok, "got %u \"%.*s\"", code, (int)reason_len, reason);
    return ok;
}

#endif
