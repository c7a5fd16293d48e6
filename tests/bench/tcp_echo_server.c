/* tcp_echo_server - the benchmark's ceiling: build/echo_server's loop and I/O, no WebSocket.

      build/bench/tcp_echo_server [-p PORT]     (0 picks a free port)

   Listens on 127.0.0.1, prints "listening on 127.0.0.1:PORT", and sends every byte back
   as it came: no handshake, no framing, no unmasking (loadgen -r counts the echoed
   client frames). What is left is the cost of the loop and of the kernel, the most any
   echo server with this loop can do on this machine.

   The loop is echo_server's, from echo_loop.h (shared with wslay_echo_server); the I/O
   is echo_server's too: per readiness report, write what is still queued, at most one
   recv() of up to 64 KiB into the shared read buffer (and only when input was
   reported), then one send() of everything it has; what the socket does not take waits
   in a per-client buffer (allocated on demand, freed when it empties), and reading
   pauses while 8 MiB wait. The only difference: the reply is the input itself, sent
   straight from the read buffer, with no per-message work at all. */
#define ECHO_CLIENT_FIELDS                                                          \
    unsigned char *out; /* unsent echo: [out_pos, out_len) */                        \
    size_t out_pos, out_len, out_cap;
#include "echo_loop.h"

#define PAUSE_READ_AT ((size_t)8 << 20)

static size_t queued(const client *cl) { return cl->out_len - cl->out_pos; }

static int out_append(client *cl, const unsigned char *p, size_t n) {
    if (cl->out_cap - cl->out_len < n) {
        size_t cap = cl->out_cap ? cl->out_cap : 4096, have = queued(cl);
        unsigned char *q;
        if (have) memmove(cl->out, cl->out + cl->out_pos, have);
        cl->out_pos = 0, cl->out_len = have;
        while (cap - have < n) cap *= 2;
        if (cap != cl->out_cap) {
            if (!(q = (unsigned char *)realloc(cl->out, cap))) return -1;
            cl->out = q, cl->out_cap = cap;
        }
    }
    memcpy(cl->out + cl->out_len, p, n);
    cl->out_len += n;
    return 0;
}

/* One send() attempt of [p, p+n) (the queue first, so the order stays): the number of
   bytes the socket took, or -1 when it failed. */
static long send_some(client *cl, const unsigned char *p, size_t n) {
    ssize_t w;
    do
        w = send(cl->fd, p, n, MSG_NOSIGNAL);
    while (w < 0 && errno == EINTR);
    if (w >= 0) return (long)w;
    return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
}

static int flush(client *cl) {
    while (queued(cl)) {
        long w = send_some(cl, cl->out + cl->out_pos, queued(cl));
        if (w < 0) return -1;
        if (w == 0) return 0;
        cl->out_pos += (size_t)w;
    }
    free(cl->out); /* an idle client holds no buffer */
    cl->out = NULL, cl->out_pos = cl->out_len = cl->out_cap = 0;
    return 0;
}

/* Write what is queued, read once (if input was reported), echo. */
static unsigned echo_pump(client *cl, int readable) {
    unsigned want;
    if (flush(cl) < 0) cl->drop = 1;
    if (!cl->drop && readable && queued(cl) < PAUSE_READ_AT) {
        ssize_t n;
        do
            n = recv(cl->fd, read_buf, sizeof read_buf, 0);
        while (n < 0 && errno == EINTR);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
            cl->drop = 1;
        } else if (n > 0) {
            long w = queued(cl) ? 0 : send_some(cl, read_buf, (size_t)n);
            if (w < 0 || (w < n && out_append(cl, read_buf + w, (size_t)(n - w)) < 0))
                cl->drop = 1;
        }
    }
    want = WANT_READ | (queued(cl) ? WANT_WRITE : 0u);
    if (queued(cl) >= PAUSE_READ_AT) want &= ~WANT_READ;
    return want;
}

static void echo_release(client *cl) { free(cl->out); }

int main(int argc, char **argv) { return echo_main(argc, argv, "tcp_echo_server"); }
