/* Links the whole of ws.h (both roles, the handshake) for a Cortex-M0 with -nostdlib
   under WS_NO_STDLIB: any call the compiler makes to a libc function (memcpy for a
   struct copy, memset for a loop) is an undefined reference and fails the link.
   tests/portable/portable.mk links it at -O0, -O1, -O2, -O3 and -Os (copies of ws_str in
   the handshake parsers and ws_token_has once needed memcpy, and a "= {0}" memset). */
#define WS_NO_STDLIB
#define WS_ASSERT(x) ((void)(x))
#define WS_IMPLEMENTATION
#include "../../ws.h"

void _start(void);
void _start(void) {
    for (;;) {
    }
}
