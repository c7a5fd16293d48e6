/* ws.h after the Windows headers (`make windows`): <windows.h> defines dozens of WS_*
   macros (WS_POPUP, WS_CHILD, WS_VISIBLE, WS_BORDER ... window styles) and winsock has
   its own names; ws.h must use none of them, in C and in C++, with the implementation
   emitted; compile_win_first.c includes them in the other order. Built by
   x86_64-w64-mingw32-gcc/g++ with -Werror and run under wine. */
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <stdio.h>
#include <string.h>

#define WS_IMPLEMENTATION
#include "../../ws.h"

int compile_win_first(void); /* compile_win_first.c: ws.h before the Windows headers */

int main(void) {
    static const char key[] = "dGhlIHNhbXBsZSBub25jZQ==";
    char accept[WS_ACCEPT_LEN + 1];
    /* The Windows names are still what windows.h made them: ws.h redefined nothing. */
    unsigned long styles = WS_POPUP | WS_CHILD | WS_VISIBLE | WS_BORDER | WS_CAPTION;
    WSADATA wsa;
    int ok = 1;

    ws_accept_key(key, sizeof key - 1, accept);
    /* RFC 6455 §1.3: the sample key and its accept value */
    if (strcmp(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") != 0) {
        fprintf(stderr, "compile_win: ws_accept_key gave %s (RFC 6455 1.3)\n", accept);
        ok = 0;
    }
    if (styles != (0x80000000ul | 0x40000000ul | 0x10000000ul | 0x00800000ul | 0x00C00000ul)) {
        fprintf(stderr, "compile_win: a window style macro changed value\n");
        ok = 0;
    }
    if (!compile_win_first()) {
        fprintf(stderr, "compile_win: ws.h included before windows.h does not work\n");
        ok = 0;
    }
    if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0) {
        fprintf(stderr, "compile_win: WSAStartup failed\n");
        ok = 0;
    } else {
        WSACleanup();
    }
    if (ok)
        printf("compile_win: ws.h after windows.h/winsock2.h: ok\n");
    return ok ? 0 : 1;
}
