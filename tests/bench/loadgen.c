/* loadgen - closed-loop WebSocket echo load over loopback, for tests/bench/run.py.

      loadgen -p PORT [-P SERVER_PID] [-c CONNS] [-s PAYLOAD] [-d DEPTH] [-t SECS] [-w WARMUP]
      loadgen -p PORT -P SERVER_PID -i CONNS      (idle: RSS growth per open connection)
      loadgen -r ...      raw TCP echo (tcp_echo_server): no handshake, and the replies are
                          the masked client frames themselves, counted the same way
      loadgen -z ...      permessage-deflate (RFC 7692): offers it (the server must accept),
                          sends PAYLOAD-byte text messages (JSON records, compressible)
                          pre-compressed with zlib (a fresh stream each, so valid whatever
                          the server's window holds; RSV1 set), and counts the replies by
                          their frame headers (compressed or not, their size is unknown)

   It does the opening handshake itself, then keeps DEPTH binary messages of PAYLOAD bytes
   in flight on each of CONNS connections. The masked frames are encoded once at start
   (random keys), so the load generator never runs a WebSocket decoder or encoder on the
   hot path: an echoed frame has a known size (2 or 4 header bytes + PAYLOAD), so replies
   are counted, not parsed (the first byte of each must be 0x82). One thread, epoll.

   Prints one line:  msgs_per_s=... mb_per_s=... p50_us=... p99_us=... cpu_pct=...
   cpu_pct is the server's utime+stime over the measured window (from /proc/PID/stat),
   in percent of one core; cpu_ns_per_msg the same per echoed message. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "bench_common.h"

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what) {
    fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* ---- latency histogram: 64 linear sub-buckets per power of two (about 1.5%) ------ */
#define SUB 64
static uint64_t hist[70 * SUB];
static uint64_t hist_count;

/* Values below 2*SUB have a bucket each; above, 64 buckets per power of two. */
static void hist_add(uint64_t ns) {
    unsigned e = 0;
    uint64_t v = ns;
    if (v < 2 * SUB) {
        hist[v]++;
    } else {
        while (v >= 2 * SUB) v >>= 1, e++;
        hist[(e + 1) * SUB + (v - SUB)]++;
    }
    hist_count++;
}

static double hist_bucket_value(unsigned idx) {
    unsigned e, s;
    if (idx < 2 * SUB) return (double)idx;
    e = idx / SUB - 1, s = idx % SUB;
    return (double)((uint64_t)(SUB + s) << e) + (double)(1ull << e) / 2.0;
}

static double hist_pct(double p) {
    uint64_t want = (uint64_t)(p * (double)hist_count), seen = 0;
    unsigned i;
    if (want >= hist_count) want = hist_count ? hist_count - 1 : 0;
    for (i = 0; i < 70 * SUB; i++) {
        seen += hist[i];
        if (seen > want) return hist_bucket_value(i);
    }
    return 0;
}

/* ---- server process accounting --------------------------------------------------- */
static double proc_cpu_s(int pid) {
    char path[64], buf[1024], *p;
    unsigned long ut = 0, st = 0;
    FILE *f;
    int i;
    if (pid <= 0) return 0;
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    f = fopen(path, "r");
    if (!f) return 0;
    if (!fgets(buf, sizeof buf, f)) buf[0] = 0;
    fclose(f);
    p = strrchr(buf, ')'); /* the command name may hold spaces */
    if (!p) return 0;
    p += 2;
    /* fields after ')' : state(3) ... utime(14) stime(15) */
    for (i = 3; i < 14 && p; i++) p = strchr(p, ' '), p = p ? p + 1 : p;
    if (!p || sscanf(p, "%lu %lu", &ut, &st) != 2) return 0;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static long proc_rss_kb(int pid) {
    char path[64], line[256];
    long kb = -1;
    FILE *f;
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    f = fopen(path, "r");
    if (!f) return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1) break;
    fclose(f);
    return kb;
}

/* ---- connections ----------------------------------------------------------------- */
typedef struct conn {
    int fd;
    uint64_t sent_frames;     /* frames handed to send() completely or partly */
    size_t out_pending;       /* bytes still to write, from the prebuilt ring */
    size_t out_off;           /* offset in the ring of the next byte to write */
    uint64_t recv_bytes;
    uint64_t done_frames;
    uint64_t *sent_at;        /* ring of DEPTH send times */
    int want_out;
    /* -z: the reply being parsed (its header so far, then payload bytes left) */
    unsigned char hdr[10];
    unsigned hn;
    uint64_t left;
} conn;

static unsigned char *ring; /* DEPTH prebuilt masked frames, back to back */
static size_t ring_len, cframe_len, sframe_len, payload_len;
static unsigned depth = 1;
static int raw; /* -r: the server echoes bytes, not messages (no handshake either) */
static int pmd; /* -z: permessage-deflate */
static unsigned client_bits = 15; /* the window the server allows our compressor */

static int connect_ws(unsigned port) {
    static const char req_fmt[] =
        "GET / HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n%s\r\n";
    struct sockaddr_in a;
    struct timeval tv = {5, 0};
    char req[384], resp[1024];
    size_t have = 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1, n;
    if (fd < 0) die("socket");
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) die("connect");
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (raw) return fd;
    n = snprintf(req, sizeof req, req_fmt, port,
                 pmd ? "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" : "");
    if (send(fd, req, (size_t)n, 0) != n) die("send handshake");
    for (;;) {
        ssize_t r = recv(fd, resp + have, sizeof resp - 1 - have, 0);
        if (r <= 0) die("handshake response");
        have += (size_t)r;
        resp[have] = 0;
        if (strstr(resp, "\r\n\r\n")) break;
        if (have == sizeof resp - 1) {
            fprintf(stderr, "loadgen: handshake response too long\n");
            exit(1);
        }
    }
    if (strncmp(resp, "HTTP/1.1 101", 12) != 0 || !strstr(resp, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")) {
        fprintf(stderr, "loadgen: bad handshake response:\n%s\n", resp);
        exit(1);
    }
    if (pmd) {
        const char *e = strcasestr(resp, "\r\nSec-WebSocket-Extensions:"), *b;
        if (!e || !strcasestr(e, "permessage-deflate")) {
            fprintf(stderr, "loadgen: the server did not accept permessage-deflate:\n%s\n", resp);
            exit(1);
        }
        b = strcasestr(e, "client_max_window_bits=");
        if (b && b < strstr(e + 2, "\r\n")) client_bits = (unsigned)atoi(b + 23 + (b[23] == '"'));
    }
    if ((size_t)(strstr(resp, "\r\n\r\n") + 4 - resp) != have) {
        fprintf(stderr, "loadgen: unexpected bytes after the handshake\n");
        exit(1);
    }
    return fd;
}

static void set_nonblocking(int fd) {
    int fl = fcntl(fd, F_GETFL, 0);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) die("fcntl");
}

/* Queue k more frames (they are already encoded in the ring) and write what fits. */
static void conn_queue(conn *c, unsigned k, uint64_t t) {
    unsigned i;
    for (i = 0; i < k; i++) c->sent_at[(c->sent_frames + i) % depth] = t;
    c->sent_frames += k;
    c->out_pending += (size_t)k * cframe_len;
}

static int conn_flush(conn *c) {
    while (c->out_pending) {
        size_t n = ring_len - c->out_off;
        ssize_t w;
        if (n > c->out_pending) n = c->out_pending;
        w = send(c->fd, ring + c->out_off, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return 1;
            if (errno == EINTR) continue;
            die("send");
        }
        c->out_pending -= (size_t)w;
        c->out_off = (c->out_off + (size_t)w) % ring_len;
    }
    return 0;
}

static unsigned char rbuf[1 << 18];

/* -z: DEPTH masked text frames, each the same message compressed on its own (RFC 7692
   §7.2.1: a sync flush with its 00 00 ff ff removed), RSV1 set. */
static unsigned char *make_pmd_frames(size_t len, size_t count, size_t *total, size_t *flen) {
    unsigned char *msg = (unsigned char *)malloc(len + 64), *z = (unsigned char *)malloc(len + 1024), *buf, *p;
    size_t n = 0, zn, i, j;
    z_stream s;
    unsigned id = 0;
    if (client_bits < 9) {
        fprintf(stderr, "loadgen: zlib cannot write for client_max_window_bits=%u\n", client_bits);
        exit(1);
    }
    while (n < len) { /* JSON records, like a game's or a chat's */
        int k = snprintf((char *)msg + n, len + 64 - n,
                         "{\"id\":%u,\"type\":\"position\",\"user\":\"player%u\",\"x\":%u,\"y\":%u},", id,
                         id * 7 % 100, id * 13 % 1000, id * 17 % 1000);
        n += (size_t)k, id++;
    }
    memset(&s, 0, sizeof s);
    if (deflateInit2(&s, 6, Z_DEFLATED, -(int)client_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK) die("deflateInit2");
    s.next_in = msg, s.avail_in = (uInt)len, s.next_out = z, s.avail_out = (uInt)(len + 1024);
    if (deflate(&s, Z_SYNC_FLUSH) != Z_OK || s.avail_in) die("deflate");
    zn = len + 1024 - s.avail_out - 4;
    deflateEnd(&s);
    *flen = bench_client_frame_len(zn);
    buf = p = (unsigned char *)malloc(*flen * count + 64);
    for (i = 0; i < count; i++) {
        unsigned char key[4];
        size_t h;
        bench_fill_random(key, 4);
        h = bench_client_header(p, 0x1, zn, key);
        p[0] |= 0x40; /* RSV1: compressed (§6) */
        for (j = 0; j < zn; j++) p[h + j] = z[j] ^ key[j & 3];
        p += h + zn;
    }
    *total = (size_t)(p - buf);
    free(msg), free(z);
    return buf;
}

/* -z: whole messages in the server's frames (fin set, unmasked), counted by header. */
static unsigned count_replies(conn *c, const unsigned char *p, size_t n) {
    unsigned done = 0;
    while (n) {
        if (c->left) {
            size_t k = c->left < n ? (size_t)c->left : n;
            p += k, n -= k, c->left -= k;
            if (!c->left && (c->hdr[0] & 0x80)) done++;
            continue;
        }
        {
            unsigned need = 2;
            c->hdr[c->hn++] = *p++, n--;
            if (c->hn >= 2) {
                unsigned l7 = c->hdr[1] & 127;
                if (c->hdr[1] & 0x80 || (c->hdr[0] & 0x0f) >= 8) {
                    fprintf(stderr, "loadgen: unexpected reply frame %02x %02x\n", c->hdr[0], c->hdr[1]);
                    exit(1);
                }
                need = l7 == 126 ? 4 : l7 == 127 ? 10 : 2;
                if (c->hn == need) {
                    uint64_t len = l7;
                    unsigned i;
                    if (l7 == 126) len = (uint64_t)c->hdr[2] << 8 | c->hdr[3];
                    if (l7 == 127)
                        for (len = 0, i = 2; i < 10; i++) len = len << 8 | c->hdr[i];
                    c->hn = 0, c->left = len;
                    if (!len && (c->hdr[0] & 0x80)) done++;
                }
            }
        }
    }
    return done;
}

/* Returns how many frames completed with this read (0 when nothing was there). */
static unsigned conn_read(conn *c, uint64_t t, int record) {
    unsigned done = 0;
    for (;;) {
        ssize_t r = recv(c->fd, rbuf, sizeof rbuf, 0);
        uint64_t start, end, f;
        if (r < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            if (errno == EINTR) continue;
            die("recv");
        }
        if (r == 0) {
            fprintf(stderr, "loadgen: server closed a connection\n");
            exit(1);
        }
        if (pmd) {
            unsigned k = count_replies(c, rbuf, (size_t)r);
            c->recv_bytes += (uint64_t)r;
            while (k--) {
                if (record) hist_add(t - c->sent_at[c->done_frames % depth]);
                c->done_frames++;
                done++;
            }
            if ((size_t)r < sizeof rbuf) break;
            continue;
        }
        /* every frame boundary inside this chunk must start with FIN+binary */
        start = c->recv_bytes, end = c->recv_bytes + (uint64_t)r;
        f = (start + sframe_len - 1) / sframe_len * sframe_len;
        for (; f < end; f += sframe_len)
            if (rbuf[f - start] != 0x82) {
                fprintf(stderr, "loadgen: echoed frame %llu starts with 0x%02x\n",
                        (unsigned long long)(f / sframe_len), rbuf[f - start]);
                exit(1);
            }
        c->recv_bytes = end;
        while (c->done_frames < c->recv_bytes / sframe_len) {
            if (record) hist_add(t - c->sent_at[c->done_frames % depth]);
            c->done_frames++;
            done++;
        }
        if ((size_t)r < sizeof rbuf) break;
    }
    return done;
}

static void usage(void) {
    fprintf(stderr, "usage: loadgen [-r|-z] -p PORT [-P PID] [-c CONNS] [-s PAYLOAD] [-d DEPTH] [-t SECS] "
                    "[-w WARMUP] | -p PORT -P PID -i CONNS\n");
    exit(2);
}

int main(int argc, char **argv) {
    unsigned port = 0, nconn = 1, idle = 0, i;
    int pid = 0, opt, ep;
    double secs = 2.0, warm = 0.5;
    conn *cs;
    struct epoll_event *evs;
    uint64_t t_start, t_measure, t_end, msgs = 0, bytes_at_measure = 0, total_msgs = 0;
    double cpu0 = 0, cpu1 = 0;
    struct rlimit rl;

    while ((opt = getopt(argc, argv, "p:P:c:s:d:t:w:i:rz")) != -1) {
        switch (opt) {
        case 'p': port = (unsigned)atoi(optarg); break;
        case 'P': pid = atoi(optarg); break;
        case 'c': nconn = (unsigned)atoi(optarg); break;
        case 's': payload_len = (size_t)atol(optarg); break;
        case 'd': depth = (unsigned)atoi(optarg); break;
        case 't': secs = atof(optarg); break;
        case 'w': warm = atof(optarg); break;
        case 'i': idle = (unsigned)atoi(optarg); break;
        case 'r': raw = 1; break;
        case 'z': pmd = 1; break;
        default: usage();
        }
    }
    if (!port || !depth || (!nconn && !idle)) usage();
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    if (idle) {
        long before, after;
        int *fds = (int *)malloc(idle * sizeof *fds);
        struct timespec settle = {0, 300 * 1000 * 1000};
        /* one warm-up connection first, so one-time allocations don't count */
        close(connect_ws(port));
        nanosleep(&settle, 0);
        before = proc_rss_kb(pid);
        for (i = 0; i < idle; i++) fds[i] = connect_ws(port);
        nanosleep(&settle, 0);
        after = proc_rss_kb(pid);
        printf("idle_conns=%u rss_before_kb=%ld rss_after_kb=%ld bytes_per_conn=%.0f\n", idle,
               before, after, (double)(after - before) * 1024.0 / idle);
        for (i = 0; i < idle; i++) close(fds[i]);
        free(fds);
        return 0;
    }

    /* The frames: DEPTH masked binary frames with random keys and payloads. */
    cframe_len = bench_client_frame_len(payload_len);
    sframe_len = payload_len + 2 + (payload_len >= 126 ? 2 : 0) + (payload_len > 0xffff ? 6 : 0);
    /* A raw echo returns the client frames as they were: 4 bytes longer (the mask key),
       and still starting with 0x82, so they are counted the same way. */
    if (raw) sframe_len = cframe_len;
    cs = (conn *)calloc(nconn, sizeof *cs);
    if (pmd) {
        /* the first connection tells the window our compressor may use */
        size_t total;
        cs[0].fd = connect_ws(port);
        ring = make_pmd_frames(payload_len, depth, &total, &cframe_len);
        ring_len = total;
    } else {
        size_t total;
        ring = bench_make_client_frames(payload_len, depth, &total);
        ring_len = total;
    }

    evs = (struct epoll_event *)calloc(nconn, sizeof *evs);
    ep = epoll_create1(0);
    if (ep < 0) die("epoll_create1");
    for (i = 0; i < nconn; i++) {
        struct epoll_event ev;
        if (!pmd || i) cs[i].fd = connect_ws(port);
        cs[i].sent_at = (uint64_t *)calloc(depth, sizeof(uint64_t));
        set_nonblocking(cs[i].fd);
        ev.events = EPOLLIN;
        ev.data.u32 = i;
        if (epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev) < 0) die("epoll_ctl");
    }

    t_start = now_ns();
    t_measure = t_start + (uint64_t)(warm * 1e9);
    t_end = t_measure + (uint64_t)(secs * 1e9);
    for (i = 0; i < nconn; i++) {
        conn_queue(&cs[i], depth, t_start);
        conn_flush(&cs[i]);
    }
    {
        int measuring = 0;
        uint64_t t = t_start, frames_at_measure = 0;
        while (t < t_end) {
            int n = epoll_wait(ep, evs, (int)nconn, 10), k;
            if (n < 0 && errno != EINTR) die("epoll_wait");
            t = now_ns();
            if (!measuring && t >= t_measure) {
                measuring = 1;
                cpu0 = proc_cpu_s(pid);
                t_measure = t;
                for (i = 0; i < nconn; i++) {
                    frames_at_measure += cs[i].done_frames;
                    bytes_at_measure += cs[i].recv_bytes;
                }
            }
            for (k = 0; k < n; k++) {
                conn *c = &cs[evs[k].data.u32];
                if (evs[k].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
                    unsigned done = conn_read(c, t, measuring);
                    if (done) conn_queue(c, done, t);
                }
                if (c->out_pending) {
                    int blocked = conn_flush(c);
                    if (blocked != c->want_out) {
                        struct epoll_event ev;
                        ev.events = EPOLLIN | (blocked ? EPOLLOUT : 0);
                        ev.data.u32 = evs[k].data.u32;
                        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                        c->want_out = blocked;
                    }
                }
            }
        }
        cpu1 = proc_cpu_s(pid);
        t_end = t;
        for (i = 0; i < nconn; i++) msgs += cs[i].done_frames;
        total_msgs = msgs;
        msgs -= frames_at_measure;
    }
    {
        double el = (double)(t_end - t_measure) / 1e9;
        double mps = (double)msgs / el;
        double mb = (double)msgs * (double)payload_len / el / 1e6;
        double cpu = pid ? (cpu1 - cpu0) / el * 100.0 : 0;
        printf("msgs_per_s=%.0f mb_per_s=%.2f p50_us=%.1f p99_us=%.1f cpu_pct=%.1f "
               "cpu_ns_per_msg=%.0f msgs=%llu secs=%.3f total_msgs=%llu\n",
               mps, mb, hist_pct(0.50) / 1000.0, hist_pct(0.99) / 1000.0, cpu,
               msgs ? (cpu1 - cpu0) * 1e9 / (double)msgs : 0, (unsigned long long)msgs, el,
               (unsigned long long)total_msgs);
    }
    for (i = 0; i < nconn; i++) close(cs[i].fd);
    return 0;
}
