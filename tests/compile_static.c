/* WS_STATIC: the whole library as static functions in this one translation unit (the
   Makefile also passes -DWS_STATIC). Must build warning-free even though most of the
   functions go unused here. Exits non-zero on a wrong result. */
#ifndef WS_STATIC
#define WS_STATIC
#endif
#define WS_IMPLEMENTATION
#include "../ws.h"

#include <stdio.h>
#include <string.h>

int main(void) {
    static const char key[] = "dGhlIHNhbXBsZSBub25jZQ==";
    char accept[WS_ACCEPT_LEN + 1];
    ws_accept_key(key, sizeof key - 1, accept); /* RFC 6455 §1.3 */
    if (strcmp(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") != 0) {
        fprintf(stderr, "compile_static: FAILED ws_accept_key gave %s\n", accept);
        return 1;
    }
    if (ws_utf8_check("\xED\xA0\x80", 3) != WS_ERR_UTF8) { /* a surrogate, §8.1 */
        fprintf(stderr, "compile_static: FAILED ws_utf8_check accepted a surrogate\n");
        return 1;
    }
    printf("compile_static: ok\n");
    return 0;
}
