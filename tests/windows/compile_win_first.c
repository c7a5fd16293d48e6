/* The other order: ws.h (declarations only) first, then the Windows headers, in a
   second translation unit linked with compile_win.c's implementation. ws.h must leave
   nothing defined that breaks <windows.h>, and its declarations must still link. */
#include "../../ws.h"

#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <string.h>

int compile_win_first(void);

/* 1 when ws.h's declarations, seen before windows.h, reach the implementation. */
int compile_win_first(void) {
    /* RFC 3629 via RFC 6455 §8.1: an overlong NUL is invalid UTF-8 */
    return ws_utf8_check("\xC0\x80", 2) == WS_ERR_UTF8 && (WS_POPUP & 0x80000000ul) != 0;
}
