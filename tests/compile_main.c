/* Includes ws.h WITHOUT WS_IMPLEMENTATION and calls into the implementation that
   compile_impl.c emitted: proves the declarations match the definitions and link from
   another translation unit, in C and in C++. Exits non-zero on a wrong result. */
#include <stdio.h>
#include <string.h>
#include "../ws.h"

static int failures = 0;

static void expect(int ok, const char *what) {
    if (!ok) {
        fprintf(stderr, "compile_main: FAILED %s\n", what);
        failures++;
    }
}

int main(void) {
    static const char key[] = "dGhlIHNhbXBsZSBub25jZQ==";
    char accept[WS_ACCEPT_LEN + 1];
    unsigned char hdr[WS_MAX_HEADER];
    ws_frame f, g;
    ws_utf8 v = WS_UTF8_INIT;

    /* RFC 6455 §1.3 */
    ws_accept_key(key, sizeof key - 1, accept);
    expect(strcmp(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == 0, "ws_accept_key (RFC 6455 1.3)");

    expect(strcmp(ws_strerror(WS_OK), "ok") == 0, "ws_strerror(WS_OK)");
    expect(strcmp(ws_strerror(WS_ERR_UTF8), "invalid UTF-8 in text (1007)") == 0,
           "ws_strerror(WS_ERR_UTF8)");
    expect(ws_strerror(12345) != NULL && strcmp(ws_strerror(12345), "unknown result") == 0,
           "ws_strerror(unknown)");

    /* RFC 3629 via RFC 6455 §8.1 */
    expect(ws_utf8_check("\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5", 11) == WS_OK,
           "ws_utf8_check(valid)");
    expect(ws_utf8_check("\xC0\x80", 2) == WS_ERR_UTF8, "ws_utf8_check(overlong)");
    expect(ws_utf8_feed(&v, "\xE2\x82", 2) == WS_OK && !ws_utf8_done(&v), "ws_utf8_feed(split)");
    expect(ws_utf8_feed(&v, "\xAC", 1) == WS_OK && ws_utf8_done(&v), "ws_utf8_feed(rest)");

    /* RFC 6455 §5.7: 0x81 0x05 "Hello" */
    memset(&f, 0, sizeof f);
    f.fin = 1;
    f.opcode = WS_OP_TEXT;
    f.len = 5;
    expect(ws_frame_encode(hdr, &f) == 2 && hdr[0] == 0x81 && hdr[1] == 0x05, "ws_frame_encode");
    expect(ws_frame_decode(hdr, 2, &g) == 2 && g.len == 5 && g.opcode == WS_OP_TEXT,
           "ws_frame_decode");
    expect(ws_close_code_valid(1000) && !ws_close_code_valid(1005), "ws_close_code_valid");

    if (failures == 0) printf("compile_main: ok (ws.h %s)\n", WS_VERSION_STRING);
    return failures ? 1 : 0;
}
