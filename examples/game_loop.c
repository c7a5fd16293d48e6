/* game_loop - a WebSocket client inside a fixed-rate game loop, on ws.h.

      build/game_loop URL [--seconds N] [--state-bytes N] [--queue BYTES]
                          [--sndbuf BYTES] [--budget-us N]
      build/game_loop ws://127.0.0.1:9001/ --seconds 30

   The loop runs a frame every 16 ms and does the network work once per frame, never
   waiting on the socket: a non-blocking connect polled each frame, then ws_stream_pump
   over a non-blocking socket (at most one read per pump, two pumps per frame). What a
   game engine would do with its own loop, minus the game.

   Each frame the "game" produces a state snapshot (binary, --state-bytes, default
   1024), and every 5th frame an event (text "E <seq> ...", like an input or a chat
   line). Against an echo server both come back; the loop checks that events come back
   in order.

   Backpressure. ws_send is all or nothing and says WS_WOULD_BLOCK when the connection's
   output queue (cfg.max_queue, --queue, default 64 KiB) has no room now: the socket is
   not draining (a slow or frozen peer, a full --sndbuf). Then the game keeps its own
   messages, by this policy:
     - state snapshots coalesce: one slot holds the newest snapshot not yet sent; a new
       one replaces it (counted as "coalesced"), since only the latest state matters;
     - events are kept in order in a queue of EVENT_QUEUE (256); when it is full the
       OLDEST waiting event is dropped (counted as "dropped"): a stale input is worth
       less than a fresh one, and the queue, not the socket, bounds the memory;
     - events go first each frame (at most EVENTS_PER_FRAME), then the snapshot.
   Events already handed to ws_send when the connection is lost are lost with it; those
   still waiting in the game's queue are sent after the reconnect.

   Reconnect. When the connection ends (the server went away, a failed connect or
   handshake, a keep-alive pong that never came), the loop waits and connects again:
   250 ms, then twice as long after each failed attempt up to 4 s, plus up to 25%
   random jitter so many clients do not return in step. An open connection resets it.

   Frame budget. The time spent in network work per frame (connect check, pumps,
   ticks, sends) is measured twice: as wall time, what the frame loses, and as this
   thread's CPU time, the work itself (wall time also counts the moments the OS gave the
   core to another process). The loop reports the maximum, 99th percentile and median of
   both, and how many frames went over --budget-us (default 4000 of the 16000 us frame)
   in wall time.

   Output (stdout, one line each): "game: open", "game: lost ...", "game: reconnect in
   D ms (backoff B ms, attempt K)", "game: second ..." once a second with counters, and
   on exit (after --seconds, or SIGINT/SIGTERM) "game: summary ...". Exit status 0, or 1
   if an event came back out of order, 2 for bad arguments. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#define WS_IMPLEMENTATION
#include "../ws.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FRAME_US 16000
#define EVENT_QUEUE 256
#define EVENTS_PER_FRAME 32
#define EVENT_MAX 64
#define BACKOFF_FIRST_MS 250
#define BACKOFF_MAX_MS 4000
#define CONNECT_TIMEOUT_MS 2000
#define PUMPS_PER_FRAME 2

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

static uint64_t clock_us(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}
static uint64_t now_us(void) { return clock_us(CLOCK_MONOTONIC); }

/* ---- the game's outgoing messages ------------------------------------------------- */

typedef struct event {
    uint32_t seq;
    size_t len;
    char text[EVENT_MAX];
} event;

static struct {
    event q[EVENT_QUEUE];       /* ring: [head, head + count) waiting to be sent */
    size_t head, count;
    uint32_t next_seq;
    unsigned char *state;       /* the newest snapshot not yet sent */
    size_t state_len;
    int state_pending;
    uint32_t state_seq;
    /* counters */
    unsigned long states_made, states_sent, coalesced, events_sent, dropped, would_block;
    unsigned long echo_states, echo_events;
    long last_echo_seq;         /* last event seq that came back (-1: none) */
    int out_of_order;
} g;

static void game_make_event(uint32_t frame) {
    event *e;
    if (g.count == EVENT_QUEUE) { /* full: the oldest goes */
        g.head = (g.head + 1) % EVENT_QUEUE, g.count--;
        g.dropped++;
    }
    e = &g.q[(g.head + g.count++) % EVENT_QUEUE];
    e->seq = g.next_seq++;
    e->len = (size_t)snprintf(e->text, sizeof e->text, "E %lu frame %lu", (unsigned long)e->seq,
                              (unsigned long)frame);
}

static void game_make_state(uint32_t frame) {
    size_t i;
    if (g.state_pending) g.coalesced++; /* never sent: replaced by the newer one */
    g.state_seq = frame;
    g.state[0] = 'S';
    for (i = 1; i < g.state_len; i++) g.state[i] = (unsigned char)(frame + i);
    g.state_pending = 1;
    g.states_made++;
}

/* Hand what fits to the connection: events in order, then the snapshot. */
static void game_flush(ws_conn *c) {
    unsigned n = 0;
    while (g.count && n < EVENTS_PER_FRAME) {
        event *e = &g.q[g.head];
        ws_result r = ws_send(c, WS_OP_TEXT, e->text, e->len);
        if (r == WS_WOULD_BLOCK) { g.would_block++; return; }
        if (r != WS_OK) return; /* closing or failed: the loop sees it */
        g.head = (g.head + 1) % EVENT_QUEUE, g.count--, n++;
        g.events_sent++;
    }
    if (g.state_pending) {
        ws_result r = ws_send(c, WS_OP_BINARY, g.state, g.state_len);
        if (r == WS_WOULD_BLOCK) g.would_block++;
        else if (r == WS_OK) g.state_pending = 0, g.states_sent++;
    }
}

/* ---- the connection --------------------------------------------------------------- */

enum { NET_IDLE, NET_CONNECTING, NET_OPENING, NET_OPEN };

static struct {
    const char *url;
    ws_url u;
    char host[256];
    int state, fd, rnd;
    ws_conn conn;
    ws_stream stream;
    ws_io io;
    unsigned char rbuf[65536];
    uint64_t retry_at_ms, connect_started_ms;
    unsigned backoff_ms, attempt;
    unsigned long opens, losses;
    size_t max_queue;
    int sndbuf;
    struct sockaddr_storage addr; /* resolved once, before the loop: DNS may block */
    socklen_t addrlen;
} net;

static long sock_read(void *user, void *buf, size_t len) {
    ssize_t n = recv(*(int *)user, buf, len, MSG_DONTWAIT);
    if (n >= 0) return (long)n;
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? WS_WOULD_BLOCK : -1;
}
static long sock_write(void *user, const void *buf, size_t len) {
    ssize_t n = send(*(int *)user, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n >= 0) return (long)n;
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? WS_WOULD_BLOCK : -1;
}
static int rng(void *ctx, void *buf, size_t len) {
    (void)ctx;
    return read(net.rnd, buf, len) == (ssize_t)len ? 0 : -1;
}

static void on_event(ws_conn *c, const ws_event *ev, void *user) {
    (void)c, (void)user;
    if (ev->type == WS_EV_OPEN) {
        net.state = NET_OPEN, net.opens++;
        net.backoff_ms = 0, net.attempt = 0; /* a working connection resets the backoff */
        printf("game: open\n");
    } else if (ev->type == WS_EV_MESSAGE && ev->opcode == WS_OP_TEXT) {
        const char *t = (const char *)ev->data;
        if (ev->len > 2 && t[0] == 'E' && t[1] == ' ') {
            long seq = strtol(t + 2, NULL, 10);
            if (seq <= g.last_echo_seq) {
                g.out_of_order = 1;
                printf("game: event %ld came back after %ld\n", seq, g.last_echo_seq);
            }
            g.last_echo_seq = seq;
            g.echo_events++;
        }
    } else if (ev->type == WS_EV_MESSAGE) {
        g.echo_states++;
    } else if (ev->type == WS_EV_ERROR) {
        printf("game: lost (%s, code %u)\n", ws_strerror(ev->error), ev->code);
    } else if (ev->type == WS_EV_CLOSE) {
        printf("game: lost (server closed, code %u)\n", ev->code);
    }
}

static void net_schedule_retry(uint64_t now_ms) {
    unsigned jitter;
    net.backoff_ms = net.backoff_ms ? net.backoff_ms * 2 : BACKOFF_FIRST_MS;
    if (net.backoff_ms > BACKOFF_MAX_MS) net.backoff_ms = BACKOFF_MAX_MS;
    jitter = (unsigned)(rand() % (int)(net.backoff_ms / 4 + 1));
    net.retry_at_ms = now_ms + net.backoff_ms + jitter;
    net.attempt++;
    printf("game: reconnect in %u ms (backoff %u ms, attempt %u)\n", net.backoff_ms + jitter,
           net.backoff_ms, net.attempt);
}

static void net_drop(uint64_t now_ms) {
    if (net.state == NET_OPENING || net.state == NET_OPEN) ws_conn_free(&net.conn);
    if (net.fd >= 0) close(net.fd);
    net.fd = -1;
    net.state = NET_IDLE;
    net.losses++;
    net_schedule_retry(now_ms);
}

static void net_start_connect(uint64_t now_ms) {
    net.fd = socket(net.addr.ss_family, SOCK_STREAM, 0);
    if (net.fd >= 0) {
        int one = 1;
        fcntl(net.fd, F_SETFL, fcntl(net.fd, F_GETFL) | O_NONBLOCK);
        setsockopt(net.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (net.sndbuf) setsockopt(net.fd, SOL_SOCKET, SO_SNDBUF, &net.sndbuf, sizeof net.sndbuf);
        if (connect(net.fd, (struct sockaddr *)&net.addr, net.addrlen) == 0 || errno == EINPROGRESS) {
            net.state = NET_CONNECTING, net.connect_started_ms = now_ms;
            return;
        }
        close(net.fd);
    }
    net.fd = -1, net.state = NET_IDLE, net_schedule_retry(now_ms);
}

/* The TCP connect finished (or not yet): start the WebSocket handshake over it. */
static void net_check_connect(uint64_t now_ms) {
    struct pollfd p;
    int err = 0;
    socklen_t el = sizeof err;
    ws_config cfg;
    p.fd = net.fd, p.events = POLLOUT, p.revents = 0;
    if (poll(&p, 1, 0) == 0) { /* zero timeout: never waits */
        if (now_ms - net.connect_started_ms > CONNECT_TIMEOUT_MS) {
            printf("game: connect timed out\n");
            close(net.fd), net.fd = -1, net.state = NET_IDLE, net.losses++, net_schedule_retry(now_ms);
        }
        return;
    }
    if (getsockopt(net.fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err) {
        printf("game: connect failed (%s)\n", strerror(err ? err : errno));
        close(net.fd), net.fd = -1, net.state = NET_IDLE, net.losses++, net_schedule_retry(now_ms);
        return;
    }
    ws_config_init(&cfg, WS_ROLE_CLIENT);
    cfg.on_event = on_event;
    cfg.rng = rng;
    cfg.max_queue = net.max_queue;
    cfg.ping_interval_ms = 1000; /* a peer that vanished without a FIN is noticed too */
    cfg.pong_timeout_ms = 5000;
    if (ws_conn_init(&net.conn, &cfg) != WS_OK) { net_drop(now_ms); return; }
    net.state = NET_OPENING;
    ws_conn_tick(&net.conn, now_ms);
    if (ws_client_start(&net.conn, &(ws_client_options){.url = net.url}) != WS_OK) {
        net_drop(now_ms);
        return;
    }
    net.io.read = sock_read, net.io.write = sock_write, net.io.user = &net.fd;
    ws_stream_init(&net.stream, &net.conn, &net.io, net.rbuf, sizeof net.rbuf);
}

/* Once per frame: everything the network needs, none of it waiting. */
static void net_frame(uint64_t now_ms) {
    int i;
    if (net.state == NET_IDLE && now_ms >= net.retry_at_ms) {
        printf("game: connecting (attempt %u)\n", net.attempt + 1);
        net_start_connect(now_ms);
    }
    if (net.state == NET_CONNECTING) net_check_connect(now_ms);
    if (net.state != NET_OPENING && net.state != NET_OPEN) return;
    ws_conn_tick(&net.conn, now_ms);
    for (i = 0; i < PUMPS_PER_FRAME; i++) {
        if (net.state == NET_OPEN) game_flush(&net.conn);
        ws_stream_pump(&net.stream);
        if (!ws_stream_wants(&net.stream)) {
            net_drop(now_ms);
            return;
        }
    }
}

/* ---- the loop --------------------------------------------------------------------- */

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    double seconds = 30;
    unsigned long budget_us = 4000, over_budget = 0;
    uint32_t frame = 0, *net_us, *cpu_us, max_us = 0, cpu_max_us = 0, cap_frames;
    uint64_t start, next, last_report;
    int i;

    net.max_queue = 64 * 1024;
    g.state_len = 1024;
    for (i = 1; i < argc; i++) {
        if (i + 1 < argc && !strcmp(argv[i], "--seconds")) seconds = atof(argv[++i]);
        else if (i + 1 < argc && !strcmp(argv[i], "--state-bytes")) g.state_len = (size_t)atol(argv[++i]);
        else if (i + 1 < argc && !strcmp(argv[i], "--queue")) net.max_queue = (size_t)atol(argv[++i]);
        else if (i + 1 < argc && !strcmp(argv[i], "--sndbuf")) net.sndbuf = atoi(argv[++i]);
        else if (i + 1 < argc && !strcmp(argv[i], "--budget-us")) budget_us = (unsigned long)atol(argv[++i]);
        else if (!net.url && argv[i][0] != '-') net.url = argv[i];
        else net.url = NULL, i = argc;
    }
    if (!net.url || seconds <= 0 || g.state_len < 1 || g.state_len > (1u << 20) ||
        ws_url_parse(net.url, strlen(net.url), &net.u) != WS_OK || net.u.secure || net.u.host.n >= sizeof net.host) {
        fprintf(stderr, "usage: %s ws://HOST:PORT/PATH [--seconds N] [--state-bytes N] "
                        "[--queue BYTES] [--sndbuf BYTES] [--budget-us N]\n", argv[0]);
        return 2;
    }
    memcpy(net.host, net.u.host.p, net.u.host.n);
    net.host[net.u.host.n] = 0;
    {
        struct addrinfo hints, *ai = NULL;
        char port[8];
        memset(&hints, 0, sizeof hints);
        hints.ai_socktype = SOCK_STREAM;
        snprintf(port, sizeof port, "%u", net.u.port);
        if (getaddrinfo(net.host, port, &hints, &ai) != 0 || !ai || ai->ai_addrlen > sizeof net.addr) {
            fprintf(stderr, "game_loop: cannot resolve %s\n", net.host);
            return 1;
        }
        memcpy(&net.addr, ai->ai_addr, ai->ai_addrlen);
        net.addrlen = (socklen_t)ai->ai_addrlen;
        freeaddrinfo(ai);
    }
    net.fd = -1;
    net.rnd = open("/dev/urandom", O_RDONLY);
    g.state = (unsigned char *)malloc(g.state_len);
    cap_frames = (uint32_t)(seconds * 1e6 / FRAME_US) + 16;
    net_us = (uint32_t *)calloc(cap_frames, sizeof *net_us);
    cpu_us = (uint32_t *)calloc(cap_frames, sizeof *cpu_us);
    if (net.rnd < 0 || !g.state || !net_us || !cpu_us) return 1;
    g.last_echo_seq = -1;
    srand((unsigned)getpid());
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);

    start = next = last_report = now_us();
    while (!stop && next - start < (uint64_t)(seconds * 1e6) && frame < cap_frames) {
        uint64_t t0, t1, c0, now;
        struct timespec ts;
        /* the game's part of the frame */
        if (frame % 5 == 0) game_make_event(frame);
        game_make_state(frame);
        /* the network's part, timed */
        c0 = clock_us(CLOCK_THREAD_CPUTIME_ID);
        t0 = now_us();
        net_frame(t0 / 1000);
        t1 = now_us();
        cpu_us[frame] = (uint32_t)(clock_us(CLOCK_THREAD_CPUTIME_ID) - c0);
        if (cpu_us[frame] > cpu_max_us) cpu_max_us = cpu_us[frame];
        net_us[frame] = (uint32_t)(t1 - t0);
        if (net_us[frame] > max_us) max_us = net_us[frame];
        if (net_us[frame] > budget_us) over_budget++;
        frame++;
        if (t1 - last_report >= 1000000) {
            last_report = t1;
            printf("game: second t=%.1f frames=%lu open=%d states=%lu/%lu coalesced=%lu events=%lu "
                   "waiting=%lu dropped=%lu would_block=%lu echoes=%lu/%lu queued=%lu\n",
                   (double)(t1 - start) / 1e6, (unsigned long)frame, net.state == NET_OPEN,
                   g.states_sent, g.states_made, g.coalesced, g.events_sent, (unsigned long)g.count,
                   g.dropped, g.would_block, g.echo_events, g.echo_states,
                   net.state >= NET_OPENING ? (unsigned long)ws_conn_queued(&net.conn) : 0ul);
        }
        /* fixed rate: sleep to the next frame; after a long stall, start counting anew */
        next += FRAME_US;
        now = now_us();
        if (now > next + 4 * FRAME_US) next = now;
        else if (next > now) {
            ts.tv_sec = (time_t)((next - now) / 1000000u);
            ts.tv_nsec = (long)((next - now) % 1000000u) * 1000;
            nanosleep(&ts, NULL);
        }
    }
    qsort(net_us, frame, sizeof *net_us, cmp_u32);
    qsort(cpu_us, frame, sizeof *cpu_us, cmp_u32);
    printf("game: summary frames=%lu seconds=%.1f net_max_us=%lu net_p99_us=%lu net_median_us=%lu "
           "cpu_max_us=%lu cpu_p99_us=%lu cpu_median_us=%lu budget_us=%lu over_budget=%lu opens=%lu losses=%lu states_sent=%lu coalesced=%lu "
           "events_made=%lu events_sent=%lu events_echoed=%lu dropped=%lu would_block=%lu "
           "order=%s\n",
           (unsigned long)frame, (double)(now_us() - start) / 1e6, (unsigned long)max_us,
           (unsigned long)(frame ? net_us[(frame - 1) * 99 / 100] : 0),
           (unsigned long)(frame ? net_us[frame / 2] : 0), (unsigned long)cpu_max_us,
           (unsigned long)(frame ? cpu_us[(frame - 1) * 99 / 100] : 0),
           (unsigned long)(frame ? cpu_us[frame / 2] : 0), budget_us, over_budget, net.opens,
           net.losses, g.states_sent, g.coalesced, (unsigned long)g.next_seq, g.events_sent,
           g.echo_events, g.dropped, g.would_block, g.out_of_order ? "BROKEN" : "ok");
    if (net.state == NET_OPENING || net.state == NET_OPEN) ws_conn_free(&net.conn);
    if (net.fd >= 0) close(net.fd);
    free(net_us);
    free(cpu_us);
    free(g.state);
    return g.out_of_order ? 1 : 0;
}
