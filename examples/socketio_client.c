/* socketio_client - a Socket.IO client (protocol v5 over Engine.IO v4) on ws.h.

      build/socketio_client URL [--namespace /NSP] [--auth JSON-OBJECT]
      build/socketio_client http://127.0.0.1:3000 --namespace /chat

   Socket.IO is two protocols on top of a WebSocket. Engine.IO v4 is the session: the
   server's first message is the open packet `0{"sid":..,"pingInterval":..,
   "pingTimeout":..}`; then the server sends a ping `2` every pingInterval and drops a
   client whose pong `3` is not back within pingTimeout. Socket.IO v5 rides in Engine.IO
   message packets `4`: connect to a namespace (`0`), disconnect (`1`), events (`2`,
   a JSON array: the name, then the arguments), acknowledgements (`3`), a refused
   connect (`4`), and the binary variants (`5`, `6`) whose buffers follow as binary
   WebSocket messages. Only the WebSocket transport is spoken (no HTTP long-polling):
   the URL's path becomes /socket.io/?EIO=4&transport=websocket, which every Socket.IO
   4.x server accepts directly.

   Commands, one per line on stdin (ARGS: a JSON array of arguments, default []):
      emit NAME [ARGS]       send an event
      call NAME [ARGS]       send an event that asks for an ack; prints "call ID"
      ack ID [ARGS]          answer an event the server sent with an ack id
      mute                   stop answering the server's pings (it should drop us)
      disconnect             leave the namespace and close (so does end of input)
   Events, one per line on stdout (NAME as a JSON string, ARGS as the server sent them):
      open sid=SID pingInterval=MS pingTimeout=MS
      connect NSP sid=SID            connect_error NSP {"message":...}
      event NSP NAME ARGS [id=ID] [binary=LEN,LEN...]
      ack NSP ID ARGS                ping | ping ignored
      disconnect NSP REASON          closed CODE "REASON"
   Exit status: 0 after a clean WebSocket close, 1 on failure, 2 for bad arguments.

   The protocol part (sio_*) knows nothing of sockets or stdin: it turns WebSocket
   messages into calls to a handler table and sends with ws_send, so it drops into
   another loop as it is. JSON is only checked and sliced here (json_*), never turned
   into a tree: arguments are handed on as the text the server sent. */
#define WS_IMPLEMENTATION
#include "../ws.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define JSON_MAX_DEPTH 64          /* deeper input is refused, not recursed into */
#define SIO_MAX_ATTACHMENTS 16     /* binary buffers in one packet */
#define SIO_MAX_NAME 256           /* event names, sids */
#define CONNECT_TIMEOUT_MS 10000
#define TICK_MS 100
#define MAX_LINE ((size_t)1 << 20) /* one command line */

/* ---- JSON: check a value, find its end, read a few members ----------------------- */

static const char *json_ws(const char *p, const char *end) {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* p at a '"': returns just past the closing quote, or NULL if the string is malformed. */
static const char *json_string_end(const char *p, const char *end) {
    if (p >= end || *p != '"')
        return NULL;
    for (p++; p < end; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"')
            return p + 1;
        if (c < 0x20)
            return NULL;
        if (c == '\\') {
            if (++p >= end)
                return NULL;
            if (*p == 'u') {
                int i;
                for (i = 1; i <= 4; i++)
                    if (p + i >= end || hexval(p[i]) < 0)
                        return NULL;
                p += 4;
            } else if (!memchr("\"\\/bfnrt", *p, 8)) {
                return NULL;
            }
        }
    }
    return NULL;
}

static const char *json_digits(const char *p, const char *end) {
    const char *start = p;
    while (p < end && *p >= '0' && *p <= '9')
        p++;
    return p > start ? p : NULL;
}

static const char *json_number_end(const char *p, const char *end) {
    if (p < end && *p == '-')
        p++;
    if (p < end && *p == '0')
        p++;
    else if (!(p = json_digits(p, end)))
        return NULL;
    if (p < end && *p == '.' && !(p = json_digits(p + 1, end)))
        return NULL;
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (!(p = json_digits(p, end)))
            return NULL;
    }
    return p;
}

static const char *json_literal_end(const char *p, const char *end, const char *word) {
    size_t n = strlen(word);
    return (size_t)(end - p) >= n && memcmp(p, word, n) == 0 ? p + n : NULL;
}

/* The end of the one JSON value at p (after white space), or NULL if there is none. */
static const char *json_value_end(const char *p, const char *end, int depth) {
    p = json_ws(p, end);
    if (p >= end)
        return NULL;
    switch (*p) {
    case '"':
        return json_string_end(p, end);
    case '{':
    case '[': {
        char close = *p == '{' ? '}' : ']';
        if (depth >= JSON_MAX_DEPTH)
            return NULL;
        p = json_ws(p + 1, end);
        if (p < end && *p == close)
            return p + 1;
        for (;;) {
            if (close == '}') {
                if (!(p = json_string_end(json_ws(p, end), end)))
                    return NULL;
                p = json_ws(p, end);
                if (p >= end || *p != ':')
                    return NULL;
                p++;
            }
            if (!(p = json_value_end(p, end, depth + 1)))
                return NULL;
            p = json_ws(p, end);
            if (p >= end)
                return NULL;
            if (*p == close)
                return p + 1;
            if (*p++ != ',')
                return NULL;
        }
    }
    case 't':
        return json_literal_end(p, end, "true");
    case 'f':
        return json_literal_end(p, end, "false");
    case 'n':
        return json_literal_end(p, end, "null");
    default:
        return json_number_end(p, end);
    }
}

/* Is [p, p+len) exactly one JSON value of the given kind ('[', '{' or 0 for any)? */
static int json_is(const char *p, size_t len, char kind) {
    const char *end = p + len, *v = json_ws(p, end);
    const char *e = json_value_end(v, end, 0);
    return e && json_ws(e, end) == end && (!kind || *v == kind);
}

/* In the object at p, the value of the member named key (compared as raw text, so
   for keys without escapes): sets [*v, *vend) and returns 1, or returns 0. */
static int json_member(const char *p, const char *end, const char *key, const char **v,
                       const char **vend) {
    size_t klen = strlen(key);
    p = json_ws(p, end);
    if (p >= end || *p != '{')
        return 0;
    p = json_ws(p + 1, end);
    while (p < end && *p == '"') {
        const char *k = p + 1, *kend = json_string_end(p, end);
        if (!kend)
            return 0;
        p = json_ws(kend, end);
        if (p >= end || *p != ':')
            return 0;
        *v = json_ws(p + 1, end);
        if (!(*vend = json_value_end(*v, end, 1)))
            return 0;
        if ((size_t)(kend - 1 - k) == klen && memcmp(k, key, klen) == 0)
            return 1;
        p = json_ws(*vend, end);
        if (p >= end || *p != ',')
            return 0;
        p = json_ws(p + 1, end);
    }
    return 0;
}

static size_t put_utf8(char *out, unsigned long cp) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

static unsigned long hex4(const char *p) {
    return (unsigned long)(hexval(p[0]) << 12 | hexval(p[1]) << 8 | hexval(p[2]) << 4 |
                           hexval(p[3]));
}

/* Decode the JSON string [p, end) (quotes included, already checked by json_string_end)
   into out as NUL-terminated UTF-8. A lone surrogate becomes U+FFFD. Returns the
   length, or -1 if it is not a string or does not fit. */
static long json_string(const char *p, const char *end, char *out, size_t cap) {
    size_t n = 0;
    if (!(end = json_string_end(p, end)))
        return -1;
    for (p++, end--; p < end; p++) {
        char tmp[4];
        size_t k = 1;
        tmp[0] = *p;
        if (*p == '\\') {
            char e = *++p;
            if (e == 'u') {
                unsigned long cp = hex4(p + 1);
                p += 4;
                if (cp >= 0xD800 && cp < 0xDC00 && end - p >= 7 && p[1] == '\\' &&
                    p[2] == 'u' && hex4(p + 3) >= 0xDC00 && hex4(p + 3) < 0xE000) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (hex4(p + 3) - 0xDC00);
                    p += 6;
                } else if (cp >= 0xD800 && cp < 0xE000) {
                    cp = 0xFFFD;
                }
                k = put_utf8(tmp, cp);
            } else {
                tmp[0] = e == 'b' ? '\b' : e == 'f' ? '\f' : e == 'n' ? '\n' : e == 'r' ? '\r'
                       : e == 't' ? '\t' : e;
            }
        }
        if (n + k >= cap)
            return -1;
        memcpy(out + n, tmp, k);
        n += k;
    }
    out[n] = '\0';
    return (long)n;
}

/* [p, end) is all digits, a number that fits in an unsigned long: 0 and *out, or -1. */
static int json_uint(const char *p, const char *end, unsigned long *out) {
    unsigned long v = 0;
    if (p >= end)
        return -1;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9' || v > (~0ul - 9) / 10)
            return -1;
        v = v * 10 + (unsigned long)(*p - '0');
    }
    *out = v;
    return 0;
}

/* ---- a growing byte buffer (packets are built in one, then sent whole) ---------- */

typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

static int buf_put(buf *b, const void *data, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        char *p;
        while (cap < b->len + n + 1)
            cap *= 2;
        if (!(p = (char *)realloc(b->p, cap)))
            return -1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

static int buf_puts(buf *b, const char *s) { return buf_put(b, s, strlen(s)); }

/* s as a JSON string: quotes, and escapes for what JSON does not allow raw. */
static int buf_put_json_string(buf *b, const char *s) {
    int r = buf_puts(b, "\"");
    for (; *s && r == 0; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            r = buf_put(b, esc, 2);
        } else if (c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            r = buf_puts(b, esc);
        } else {
            r = buf_put(b, s, 1);
        }
    }
    return r ? r : buf_puts(b, "\"");
}

/* ---- Socket.IO v5 over Engine.IO v4 ---------------------------------------------- */

/* Engine.IO packet types (the first character of a text message). */
enum { EIO_OPEN = '0', EIO_CLOSE = '1', EIO_PING = '2', EIO_PONG = '3', EIO_MESSAGE = '4',
       EIO_NOOP = '6' };
/* Socket.IO packet types (the character after EIO_MESSAGE). */
enum { SIO_CONNECT = '0', SIO_DISCONNECT = '1', SIO_EVENT = '2', SIO_ACK = '3',
       SIO_CONNECT_ERROR = '4', SIO_BINARY_EVENT = '5', SIO_BINARY_ACK = '6' };

typedef struct sio sio;

/* A binary buffer that came with an event or ack; args hold a placeholder
   {"_placeholder":true,"num":N} where it belongs. */
typedef struct sio_blob {
    unsigned char *data;
    size_t len;
} sio_blob;

/* What the application hears. Strings are valid during the call only; args is the JSON
   array of arguments as the server sent it; ack_id is -1 when no ack was asked for. */
typedef struct sio_handler {
    void (*open)(sio *s);                        /* Engine.IO session: sid, timings */
    void (*connect)(sio *s);                     /* the namespace accepted us: s->sid */
    void (*connect_error)(sio *s, const char *json, size_t len);
    void (*event)(sio *s, const char *name, const char *args, size_t len, long ack_id,
                  const sio_blob *blobs, unsigned nblobs);
    void (*ack)(sio *s, unsigned long id, const char *args, size_t len,
                const sio_blob *blobs, unsigned nblobs);
    void (*ping)(sio *s, int answered);
    void (*disconnect)(sio *s, const char *reason);
} sio_handler;

struct sio {
    ws_conn *ws;
    const sio_handler *on;
    void *user;
    const char *nsp;            /* "/" or "/chat" */
    const char *auth;           /* JSON object sent with the connect, or NULL */
    char eio_sid[SIO_MAX_NAME], sid[SIO_MAX_NAME];
    unsigned long ping_interval, ping_timeout;  /* ms, from the open packet */
    uint64_t now, last_ping;
    unsigned long next_id;
    int opened, connected, answer_pings, gone;
    /* A binary packet waiting for its buffers. */
    buf held;
    unsigned want_blobs, nblobs;
    sio_blob blobs[SIO_MAX_ATTACHMENTS];
};

static void sio_init(sio *s, ws_conn *ws, const sio_handler *on, void *user, const char *nsp,
                     const char *auth) {
    memset(s, 0, sizeof *s);
    s->ws = ws;
    s->on = on;
    s->user = user;
    s->nsp = nsp && *nsp ? nsp : "/";
    s->auth = auth;
    s->answer_pings = 1;
    s->next_id = 1;
}

static void sio_free(sio *s) {
    unsigned i;
    for (i = 0; i < s->nblobs; i++)
        free(s->blobs[i].data);
    s->nblobs = s->want_blobs = 0;
    free(s->held.p);
    memset(&s->held, 0, sizeof s->held);
}

static int sio_send(sio *s, const buf *b) {
    if (!b->p)
        return -1;
    return ws_send(s->ws, WS_OP_TEXT, b->p, b->len) == WS_OK ? 0 : -1;
}

/* "4" + type + "/nsp," when the namespace is not the main one: every Socket.IO packet's
   head (the main namespace "/" goes unnamed). */
static int sio_head(sio *s, buf *b, char type) {
    char head[2];
    head[0] = EIO_MESSAGE;
    head[1] = type;
    if (buf_put(b, head, 2))
        return -1;
    if (strcmp(s->nsp, "/") != 0 && (buf_puts(b, s->nsp) || buf_puts(b, ",")))
        return -1;
    return 0;
}

/* The session is over: tell the application once (unless reason is NULL), then close
   the WebSocket. */
static void sio_gone(sio *s, const char *reason) {
    if (s->gone)
        return;
    s->gone = 1;
    if (reason && s->on->disconnect)
        s->on->disconnect(s, reason);
    ws_close(s->ws, WS_CLOSE_NORMAL, NULL, 0);
}

/* Send an event: args is a JSON array (NULL for none). With want_ack the server's ack
   comes back to on->ack with the returned id. Returns the id (0 without want_ack), or
   -1 when args is not an array or the WebSocket did not take it. */
static long sio_emit(sio *s, const char *name, const char *args, int want_ack) {
    buf b = {0, 0, 0};
    long id = want_ack ? (long)s->next_id : 0;
    size_t alen = args ? strlen(args) : 0;
    const char *inner, *inner_end;
    char num[24];
    int r;

    if (args && !json_is(args, alen, '['))
        return -1;
    r = sio_head(s, &b, SIO_EVENT);
    if (want_ack) {
        snprintf(num, sizeof num, "%ld", id);
        r = r || buf_puts(&b, num);
    }
    r = r || buf_puts(&b, "[") || buf_put_json_string(&b, name);
    if (args) {
        /* The arguments follow the name inside the same array. */
        inner = json_ws(args, args + alen) + 1;
        inner_end = args + alen;
        while (inner_end[-1] != ']')
            inner_end--;
        inner_end--;
        if (json_ws(inner, inner_end) < inner_end)
            r = r || buf_puts(&b, ",") || buf_put(&b, inner, (size_t)(inner_end - inner));
    }
    r = r || buf_puts(&b, "]") || sio_send(s, &b);
    free(b.p);
    if (r)
        return -1;
    s->next_id += want_ack != 0;
    return id;
}

/* Answer the server's event that carried ack id `id` with args (a JSON array, or NULL). */
static int sio_ack(sio *s, unsigned long id, const char *args) {
    buf b = {0, 0, 0};
    char num[24];
    int r;
    if (!args)
        args = "[]";
    if (!json_is(args, strlen(args), '['))
        return -1;
    snprintf(num, sizeof num, "%lu", id);
    r = sio_head(s, &b, SIO_ACK) || buf_puts(&b, num) || buf_puts(&b, args) || sio_send(s, &b);
    free(b.p);
    return r ? -1 : 0;
}

/* Leave the namespace, then close the session (a client with one namespace has no
   other use for it). */
static int sio_disconnect(sio *s) {
    buf b = {0, 0, 0};
    int r = 0;
    if (s->connected)
        r = sio_head(s, &b, SIO_DISCONNECT) || sio_send(s, &b);
    free(b.p);
    s->connected = 0;
    sio_gone(s, "io client disconnect");
    return r ? -1 : 0;
}

/* A Socket.IO packet: [type][attachments "-"][/nsp ","][ack id][JSON]. */
static void sio_packet(sio *s, const char *p, size_t len, const sio_blob *blobs,
                       unsigned nblobs) {
    const char *start = p, *end = p + len, *json, *name_end;
    const char *nsp = "/";
    size_t nsp_len = 1;
    unsigned long id = 0, attachments = 0;
    int has_id = 0;
    char type, name[SIO_MAX_NAME];
    buf args = {0, 0, 0};

    if (p >= end)
        return;
    type = *p++;
    if (type == SIO_BINARY_EVENT || type == SIO_BINARY_ACK) {
        const char *dash = (const char *)memchr(p, '-', (size_t)(end - p));
        if (!dash || json_uint(p, dash, &attachments) || attachments > SIO_MAX_ATTACHMENTS)
            return;
        p = dash + 1;
        if (attachments > nblobs) { /* hold the packet until its buffers have come */
            sio_free(s);             /* (a packet still waiting is given up) */
            if (buf_put(&s->held, start, len) == 0)
                s->want_blobs = (unsigned)attachments;
            return;
        }
    }
    if (p < end && *p == '/') {
        const char *comma = (const char *)memchr(p, ',', (size_t)(end - p));
        nsp = p;
        nsp_len = (size_t)((comma ? comma : end) - p);
        p = comma ? comma + 1 : end;
    }
    if (nsp_len != strlen(s->nsp) || memcmp(nsp, s->nsp, nsp_len) != 0)
        return; /* another namespace's packet: not ours to hear */
    if (p < end && *p >= '0' && *p <= '9') {
        const char *q = p;
        while (q < end && *q >= '0' && *q <= '9')
            q++;
        if (json_uint(p, q, &id))
            return;
        has_id = 1;
        p = q;
    }
    json = p;
    if (json < end && !json_is(json, (size_t)(end - json), 0))
        return; /* not JSON: a broken packet is dropped, as socket.io-client does */

    switch (type) {
    case SIO_CONNECT: {
        const char *v, *vend;
        if (json_member(json, end, "sid", &v, &vend) &&
            json_string(v, vend, s->sid, sizeof s->sid) >= 0) {
            s->connected = 1;
            if (s->on->connect)
                s->on->connect(s);
        }
        break;
    }
    case SIO_DISCONNECT:
        s->connected = 0;
        sio_gone(s, "io server disconnect");
        break;
    case SIO_CONNECT_ERROR:
        if (s->on->connect_error)
            s->on->connect_error(s, json, (size_t)(end - json));
        sio_gone(s, NULL); /* refused: there was no connection to lose */
        break;
    case SIO_EVENT:
    case SIO_BINARY_EVENT: {
        /* ["name", arg...]: the name decoded, the rest handed on as an array. */
        const char *first = json_ws(json, end);
        if (first >= end || *first != '[')
            break;
        first = json_ws(first + 1, end);
        if (!(name_end = json_string_end(first, end)) ||
            json_string(first, name_end, name, sizeof name) < 0)
            break;
        name_end = json_ws(name_end, end);
        if (buf_puts(&args, "[") ||
            (*name_end == ',' ? buf_put(&args, name_end + 1, (size_t)(end - name_end - 1))
                              : buf_puts(&args, "]")))
            break;
        if (s->on->event)
            s->on->event(s, name, args.p, args.len, has_id ? (long)id : -1, blobs, nblobs);
        break;
    }
    case SIO_ACK:
    case SIO_BINARY_ACK:
        if (has_id && s->on->ack)
            s->on->ack(s, id, json, (size_t)(end - json), blobs, nblobs);
        break;
    default:
        break;
    }
    free(args.p);
}

static void sio_open(sio *s, const char *json, const char *end) {
    const char *v, *vend;
    buf b = {0, 0, 0};
    if (!json_member(json, end, "sid", &v, &vend) ||
        json_string(v, vend, s->eio_sid, sizeof s->eio_sid) < 0 ||
        !json_member(json, end, "pingInterval", &v, &vend) ||
        json_uint(v, vend, &s->ping_interval) ||
        !json_member(json, end, "pingTimeout", &v, &vend) ||
        json_uint(v, vend, &s->ping_timeout)) {
        sio_gone(s, "bad open packet");
        return;
    }
    s->opened = 1;
    s->last_ping = s->now;
    if (s->on->open)
        s->on->open(s);
    /* Connect to the namespace, with the auth payload when there is one. */
    if (sio_head(s, &b, SIO_CONNECT) || (s->auth && buf_puts(&b, s->auth)) || sio_send(s, &b))
        sio_gone(s, "cannot send connect");
    free(b.p);
}

/* Feed one whole WebSocket message (WS_EV_MESSAGE). */
static void sio_on_message(sio *s, ws_opcode op, const void *data, size_t len) {
    const char *p = (const char *)data, *end = p + len;
    if (s->gone)
        return;
    if (op == WS_OP_BINARY) {
        /* Engine.IO v4 sends binary as is: a buffer of the packet we hold. */
        unsigned char *copy;
        if (!s->want_blobs || !(copy = (unsigned char *)malloc(len ? len : 1)))
            return;
        memcpy(copy, data, len);
        s->blobs[s->nblobs].data = copy;
        s->blobs[s->nblobs].len = len;
        if (++s->nblobs == s->want_blobs) {
            buf held = s->held;
            memset(&s->held, 0, sizeof s->held);
            sio_packet(s, held.p, held.len, s->blobs, s->nblobs);
            free(held.p);
            sio_free(s);
        }
        return;
    }
    if (p >= end)
        return;
    switch (*p) {
    case EIO_OPEN:
        if (!s->opened) /* one session per connection: a second open is noise */
            sio_open(s, p + 1, end);
        break;
    case EIO_CLOSE:
        sio_gone(s, "transport close");
        break;
    case EIO_PING:
        s->last_ping = s->now;
        /* The pong carries the ping's payload (empty in EIO4 outside upgrades). */
        if (s->answer_pings) {
            buf b = {0, 0, 0};
            char pong = EIO_PONG;
            if (buf_put(&b, &pong, 1) || buf_put(&b, p + 1, len - 1) || sio_send(s, &b))
                sio_gone(s, "cannot answer ping");
            free(b.p);
        }
        if (s->on->ping)
            s->on->ping(s, s->answer_pings);
        break;
    case EIO_MESSAGE:
        sio_packet(s, p + 1, len - 1, NULL, 0);
        break;
    default: /* EIO_PONG, EIO_NOOP, upgrade packets: nothing to do over a WebSocket */
        break;
    }
}

/* Time, only from here (call it before feeding, and every few hundred ms): a server
   that stops pinging for pingInterval + pingTimeout is gone (the rule it applies to our
   pongs). */
static void sio_tick(sio *s, uint64_t now) {
    s->now = now;
    if (s->opened && !s->gone && now - s->last_ping > s->ping_interval + s->ping_timeout)
        sio_gone(s, "ping timeout");
}

/* ---- the command-line client: a socket, stdin, stdout ---------------------------- */

typedef struct app {
    int fd;
    ws_conn conn;
    ws_stream stream;
    sio io;
    unsigned char rbuf[16384];
    int closed, failed, io_errno;
    unsigned close_code;
    char text[256];   /* close reason or error text */
} app;

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Masking keys and Sec-WebSocket-Key must be unpredictable (RFC 6455 §10.3). */
static int urandom_rng(void *ctx, void *out, size_t len) {
    int fd = *(const int *)ctx;
    unsigned char *p = (unsigned char *)out;
    while (len > 0) {
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static long sock_read(void *user, void *out, size_t len) {
    app *a = (app *)user;
    ssize_t n;
    do
        n = recv(a->fd, out, len, 0);
    while (n < 0 && errno == EINTR);
    if (n >= 0)
        return (long)n;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        return WS_WOULD_BLOCK;
    a->io_errno = errno;
    return WS_ERR_IO;
}

static long sock_write(void *user, const void *data, size_t len) {
    app *a = (app *)user;
    ssize_t n;
    do
        n = send(a->fd, data, len, 0);
    while (n < 0 && errno == EINTR);
    if (n >= 0)
        return (long)n;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        return WS_WOULD_BLOCK;
    a->io_errno = errno;
    return WS_ERR_IO;
}

static void keep_text(app *a, const void *data, size_t len) {
    if (len >= sizeof a->text)
        len = sizeof a->text - 1;
    memcpy(a->text, data, len);
    a->text[len] = '\0';
}

static void print_blobs(const sio_blob *blobs, unsigned n) {
    unsigned i;
    for (i = 0; i < n; i++)
        printf("%s%zu", i ? "," : " binary=", blobs[i].len);
}

static void on_open(sio *s) {
    printf("open sid=%s pingInterval=%lu pingTimeout=%lu\n", s->eio_sid, s->ping_interval,
           s->ping_timeout);
}

static void on_connect(sio *s) { printf("connect %s sid=%s\n", s->nsp, s->sid); }

static void on_connect_error(sio *s, const char *json, size_t len) {
    printf("connect_error %s %.*s\n", s->nsp, (int)len, json);
}

static void on_sio_event(sio *s, const char *name, const char *args, size_t len, long ack_id,
                         const sio_blob *blobs, unsigned nblobs) {
    buf quoted = {0, 0, 0};
    if (buf_put_json_string(&quoted, name) == 0) {
        printf("event %s %s %.*s", s->nsp, quoted.p, (int)len, args);
        if (ack_id >= 0)
            printf(" id=%ld", ack_id);
        print_blobs(blobs, nblobs);
        printf("\n");
    }
    free(quoted.p);
}

static void on_ack(sio *s, unsigned long id, const char *args, size_t len,
                   const sio_blob *blobs, unsigned nblobs) {
    printf("ack %s %lu %.*s", s->nsp, id, (int)len, args);
    print_blobs(blobs, nblobs);
    printf("\n");
}

static void on_ping(sio *s, int answered) {
    (void)s;
    printf(answered ? "ping\n" : "ping ignored\n");
}

static void on_disconnect(sio *s, const char *reason) {
    printf("disconnect %s %s\n", s->nsp, reason);
}

static const sio_handler handler = {on_open, on_connect, on_connect_error, on_sio_event,
                                    on_ack, on_ping, on_disconnect};

static void on_ws_event(ws_conn *c, const ws_event *ev, void *user) {
    app *a = (app *)user;
    (void)c;
    switch (ev->type) {
    case WS_EV_MESSAGE:
        sio_on_message(&a->io, ev->opcode, ev->data, ev->len);
        break;
    case WS_EV_CLOSE:
        a->closed = 1;
        a->close_code = ev->code;
        keep_text(a, ev->data, ev->len);
        break;
    case WS_EV_ERROR:
        if (!a->failed) { /* the first failure is the cause */
            a->failed = 1;
            a->close_code = ev->code;
            if (ev->len)
                keep_text(a, ev->data, ev->len);
            else
                keep_text(a, ws_strerror(ev->error), strlen(ws_strerror(ev->error)));
        }
        break;
    default:
        break;
    }
    fflush(stdout);
}

/* One command line from stdin. */
static void command(app *a, char *line) {
    char *verb = line, *rest, *arg2;
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    rest = strchr(line, ' ');
    if (rest)
        *rest++ = '\0';
    arg2 = rest ? strchr(rest, ' ') : NULL;
    if (arg2)
        *arg2++ = '\0';
    if (!*verb)
        return;
    if ((strcmp(verb, "emit") == 0 || strcmp(verb, "call") == 0) && rest && *rest) {
        long id = sio_emit(&a->io, rest, arg2, verb[0] == 'c');
        if (id < 0)
            printf("error cannot send (ARGS must be a JSON array)\n");
        else if (verb[0] == 'c')
            printf("call %ld\n", id);
    } else if (strcmp(verb, "ack") == 0 && rest && *rest) {
        unsigned long id;
        if (json_uint(rest, rest + strlen(rest), &id) || sio_ack(&a->io, id, arg2))
            printf("error cannot ack (usage: ack ID [ARGS as a JSON array])\n");
    } else if (strcmp(verb, "mute") == 0) {
        a->io.answer_pings = 0;
    } else if (strcmp(verb, "disconnect") == 0) {
        sio_disconnect(&a->io);
    } else {
        printf("error unknown command: %s\n", verb);
    }
    fflush(stdout);
}

/* Waits at most CONNECT_TIMEOUT_MS; returns a connected non-blocking socket or -1. */
static int connect_to(const char *host, const char *port) {
    struct addrinfo hints, *res, *ai;
    int fd = -1, err = 0, gai;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if ((gai = getaddrinfo(host, port, &hints, &res)) != 0) {
        fprintf(stderr, "socketio_client: cannot resolve %s: %s\n", host, gai_strerror(gai));
        return -1;
    }
    for (ai = res; ai; ai = ai->ai_next) {
        int flags;
        if ((fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol)) < 0) {
            err = errno;
            continue;
        }
        flags = fcntl(fd, F_GETFL, 0);
        if (flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) >= 0) {
            if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
                break;
            err = errno;
            if (err == EINPROGRESS) {
                struct pollfd p;
                socklen_t len = sizeof err;
                p.fd = fd;
                p.events = POLLOUT;
                if (poll(&p, 1, CONNECT_TIMEOUT_MS) == 1 &&
                    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0)
                    break;
                if (err == EINPROGRESS)
                    err = ETIMEDOUT;
            }
        } else {
            err = errno;
        }
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        fprintf(stderr, "socketio_client: cannot connect to %s port %s: %s\n", host, port,
                strerror(err));
    return fd;
}

/* The Engine.IO URL for a Socket.IO one: http(s):// becomes ws(s)://, a URL without a
   path gets Socket.IO's default /socket.io/, and the query asks for EIO=4 over the
   WebSocket (after the user's own query, if any). */
static int engine_url(const char *url, buf *out) {
    buf ws = {0, 0, 0};
    ws_url u;
    int r;
    if (strncmp(url, "http://", 7) == 0)
        r = buf_puts(&ws, "ws://") || buf_puts(&ws, url + 7);
    else if (strncmp(url, "https://", 8) == 0)
        r = buf_puts(&ws, "wss://") || buf_puts(&ws, url + 8);
    else
        r = buf_puts(&ws, url);
    if (r || ws_url_parse(ws.p, ws.len, &u) != WS_OK) {
        free(ws.p);
        return -1;
    }
    /* The URL up to its query; Socket.IO's path when it has none. */
    r = buf_put(out, ws.p, u.query.n ? (size_t)(u.query.p - ws.p) : ws.len);
    if (!r && u.path.n == 1)
        r = buf_puts(out, out->p[out->len - 1] == '/' ? "socket.io/" : "/socket.io/");
    r = r || buf_puts(out, "?");
    if (!r && u.query.n > 1)
        r = buf_put(out, u.query.p + 1, u.query.n - 1) || buf_puts(out, "&");
    r = r || buf_puts(out, "EIO=4&transport=websocket");
    free(ws.p);
    return r ? -1 : 0;
}

static int usage(const char *argv0) {
    fprintf(stderr, "usage: %s http://HOST:PORT[/PATH] [--namespace /NSP] [--auth JSON]\n",
            argv0);
    return 2;
}

int main(int argc, char **argv) {
    const char *url = NULL, *nsp = "/", *auth = NULL;
    char host[256], port[8];
    buf eurl = {0, 0, 0}, line = {0, 0, 0};
    ws_url u;
    ws_config cfg;
    ws_client_options opts;
    ws_io io;
    app *a;
    int i, rngfd, status = -1, stdin_open = 1;
    uint64_t next_tick;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--namespace") == 0 && i + 1 < argc)
            nsp = argv[++i];
        else if (strcmp(argv[i], "--auth") == 0 && i + 1 < argc)
            auth = argv[++i];
        else if (!url && argv[i][0] != '-')
            url = argv[i];
        else
            return usage(argv[0]);
    }
    if (!url || nsp[0] != '/' || strchr(nsp, ','))
        return usage(argv[0]);
    if (auth && !json_is(auth, strlen(auth), '{')) {
        fprintf(stderr, "socketio_client: --auth must be a JSON object\n");
        return 2;
    }
    if (engine_url(url, &eurl) != 0 || ws_url_parse(eurl.p, eurl.len, &u) != WS_OK) {
        fprintf(stderr, "socketio_client: not an http(s):// or ws(s):// URL: %s\n", url);
        return 2;
    }
    if (u.secure || u.host.n >= sizeof host) {
        fprintf(stderr, "socketio_client: %s\n", u.secure ? "https/wss needs TLS, which this "
                "example does not build in" : "host name too long");
        return 2;
    }
    memcpy(host, u.host.p, u.host.n);
    host[u.host.n] = '\0';
    snprintf(port, sizeof port, "%u", u.port);

    signal(SIGPIPE, SIG_IGN);
    if ((rngfd = open("/dev/urandom", O_RDONLY)) < 0) {
        perror("socketio_client: /dev/urandom");
        return 1;
    }
    if (!(a = (app *)calloc(1, sizeof *a)) || (a->fd = connect_to(host, port)) < 0) {
        free(a);
        free(eurl.p);
        close(rngfd);
        return 1;
    }
    ws_config_init(&cfg, WS_ROLE_CLIENT);
    cfg.on_event = on_ws_event;
    cfg.user = a;
    cfg.rng = urandom_rng;
    cfg.rng_ctx = &rngfd;
    sio_init(&a->io, &a->conn, &handler, a, nsp, auth);
    memset(&opts, 0, sizeof opts);
    opts.url = eurl.p;
    if (ws_conn_init(&a->conn, &cfg) != WS_OK) {
        fprintf(stderr, "socketio_client: cannot set up the WebSocket\n");
        status = 1;
    } else {
        ws_conn_tick(&a->conn, now_ms()); /* timers count from now, not from zero */
        if (ws_client_start(&a->conn, &opts) != WS_OK) {
            fprintf(stderr, "socketio_client: cannot start the WebSocket\n");
            status = 1;
        }
    }
    io.read = sock_read;
    io.write = sock_write;
    io.user = a;
    ws_stream_init(&a->stream, &a->conn, &io, a->rbuf, sizeof a->rbuf);

    next_tick = now_ms();
    while (status < 0) {
        struct pollfd p[2];
        unsigned wants;
        uint64_t now;
        int n;

        /* The session's clock is read before each pump, so the packets it brings are
           timed by a current "now" (the server's pings, the open packet). */
        sio_tick(&a->io, now_ms());
        if (ws_stream_pump(&a->stream) == WS_ERR_IO && !a->failed) {
            a->failed = 1;
            snprintf(a->text, sizeof a->text, "connection lost: %s", strerror(a->io_errno));
        }
        fflush(stdout);
        if ((wants = ws_stream_wants(&a->stream)) == 0)
            break; /* the WebSocket is done with the socket */
        p[0].fd = a->fd;
        p[0].events = (short)(((wants & WS_WANT_READ) ? POLLIN : 0) |
                              ((wants & WS_WANT_WRITE) ? POLLOUT : 0));
        /* Commands once the namespace has accepted us, and not after the session ended. */
        p[1].fd = stdin_open && a->io.connected && !a->io.gone ? 0 : -1;
        p[1].events = POLLIN;
        n = poll(p, 2, TICK_MS);
        if (n < 0 && errno != EINTR) {
            perror("socketio_client: poll");
            status = 1;
        }
        if (n > 0 && p[1].revents) {
            char chunk[4096];
            ssize_t got = read(0, chunk, sizeof chunk);
            char *nl;
            if (got <= 0) {
                stdin_open = 0; /* end of input: leave cleanly */
                sio_disconnect(&a->io);
            } else if (buf_put(&line, chunk, (size_t)got) == 0) {
                while (line.p && (nl = (char *)memchr(line.p, '\n', line.len)) != NULL) {
                    size_t used = (size_t)(nl - line.p) + 1;
                    *nl = '\0';
                    command(a, line.p);
                    memmove(line.p, nl + 1, line.len - used);
                    line.len -= used;
                }
                if (line.len > MAX_LINE) {
                    printf("error command line longer than %zu bytes\n", MAX_LINE);
                    line.len = 0;
                }
            }
        }
        now = now_ms();
        if (now >= next_tick) {
            ws_conn_tick(&a->conn, now); /* the WebSocket's close timeout */
            next_tick = now + TICK_MS;
        }
    }

    if (status < 0) {
        if (a->failed) {
            printf("error %s\n", a->text);
            status = 1;
        } else if (a->closed) {
            printf("closed %u \"%s\"\n", a->close_code, a->text);
            status = 0;
        } else {
            printf("error connection ended without a close handshake\n");
            status = 1;
        }
    }
    fflush(stdout);
    sio_free(&a->io);
    close(a->fd);
    ws_conn_free(&a->conn);
    free(a);
    free(eurl.p);
    free(line.p);
    close(rngfd);
    return status;
}
