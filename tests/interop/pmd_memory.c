/* What permessage-deflate holds per connection, from ws.h's own sizes (README,
   "Compression"):  cc -std=c99 -I. -o build/pmd_memory tests/interop/pmd_memory.c && build/pmd_memory
   A direction with context takeover keeps its state for the connection's life; without
   it (no_context_takeover) the state is freed by ws_conn_tick when no message is in
   progress, so an idle connection holds nothing for that direction. */
#define WS_IMPLEMENTATION
#include "../../ws.h"

#include <stdio.h>

int main(void) {
    unsigned b;
    /* ws__pmd is private: the record that holds the two directions' states while
       either exists (what was agreed lives in ws_conn itself). */
    printf("sizeof(ws_conn) %zu, the codecs' record %zu, sizeof(ws_inflater) %zu, sizeof(ws_deflater) %zu\n",
           sizeof(ws_conn), sizeof(ws__pmd), sizeof(ws_inflater), sizeof(ws_deflater));
    printf("window bits  inflate (receive)  deflate (send)  both\n");
    for (b = 8; b <= 15; b++) {
        size_t in = sizeof(ws_inflater) + WS_INFLATE_MEM(b), out = sizeof(ws_deflater) + WS_DEFLATE_MEM(b);
        printf("%11u  %17zu  %14zu  %4zu\n", b, in, out, in + out);
    }
    return 0;
}
