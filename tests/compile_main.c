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

#ifndef WS_NO_DEFLATE
    { /* DEFLATE round trip (RFC 1951; RFC 7692 §7.2.3.1), so C++ and 32-bit builds run it */
        static unsigned char dmem[WS_DEFLATE_MEM(9)], imem[WS_INFLATE_MEM(9)], text[20000], c[24000],
            back[20000];
        static ws_deflater d;
        static ws_inflater z;
        size_t i, used, got, cn = 0, bn = 0;
        unsigned x = 1;
        ws_result r;
        for (i = 0; i < sizeof text; i++) { /* words from a small alphabet: compressible */
            x = x * 1103515245u + 12345u;
            text[i] = (unsigned char)((x >> 16) % 7 == 0 ? ' ' : 'a' + (x >> 20) % 6);
        }
        expect(ws_deflate_init(&d, 9, WS_DEFLATE_DEFAULT, dmem, sizeof dmem) == WS_OK, "ws_deflate_init");
        expect(ws_deflate(&d, "Hello", 5, &used, c, sizeof c, &got, WS_DEFLATE_SYNC) == WS_OK && got == 11 &&
                   memcmp(c, "\xf2\x48\xcd\xc9\xc9\x07\x00\x00\x00\xff\xff", 11) == 0,
               "ws_deflate(Hello) (RFC 7692 7.2.3.1)");
        ws_deflate_reset(&d, 0);
        r = ws_deflate(&d, text, sizeof text, &used, c, sizeof c, &cn, WS_DEFLATE_SYNC);
        expect(r == WS_OK && used == sizeof text && cn < sizeof text / 2, "ws_deflate(text)");
        expect(ws_inflate_init(&z, 9, imem, sizeof imem) == WS_OK, "ws_inflate_init");
        for (i = 0; i < cn || r == WS_OUT_FULL;) { /* one byte out at a time */
            r = ws_inflate(&z, c + i, cn - i, &used, back + bn, bn < sizeof back ? 1 : 0, &got);
            i += used, bn += got;
            if (r != WS_OUT_FULL && r != WS_NEED_MORE) break;
            if (r == WS_NEED_MORE) break;
        }
        expect(r == WS_NEED_MORE && bn == sizeof text && memcmp(back, text, bn) == 0, "ws_inflate(text)");
    }
#endif
    if (failures == 0) printf("compile_main: ok (ws.h %s)\n", WS_VERSION_STRING);
    return failures ? 1 : 0;
}
