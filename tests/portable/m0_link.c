/* Links the whole of ws.h (both roles, the handshake) for a Cortex-M0 with -nostdlib
   under WS_NO_STDLIB: any call the compiler makes to a libc function (memcpy for a
   struct copy, memset for a loop) is an undefined reference and fails the link.
   tests/portable/portable.mk links it at -Os and -O2 (the two that once needed memcpy,
   for copies of ws_str in ws_response_parse and ws_token_has). */
#define WS_NO_STDLIB
#define WS_ASSERT(x) ((void)(x))
#define WS_IMPLEMENTATION
#include "../../ws.h"

void _start(void);
void _start(void) {
    for (;;) {
    }
}
