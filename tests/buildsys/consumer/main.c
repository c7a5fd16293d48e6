/* The consumer every build-system test builds: the way a user's program takes ws.h
   (one file defines WS_IMPLEMENTATION), then a call into the implementation whose
   answer is known (RFC 6455 §1.3's Sec-WebSocket-Accept example). Prints the header's
   version, so the test can match it with what the build system declared. */
#include <stdio.h>
#include <string.h>
#define WS_IMPLEMENTATION
#include "ws.h"

int main(void) {
    static const char key[] = "dGhlIHNhbXBsZSBub25jZQ==";
    char accept[WS_ACCEPT_LEN + 1];
    ws_accept_key(key, sizeof key - 1, accept);
    if (strcmp(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") != 0) {
        printf("consumer: wrong Sec-WebSocket-Accept %s\n", accept);
        return 1;
    }
    printf("consumer ok %s\n", WS_VERSION_STRING);
    return 0;
}
