/* The one translation unit that emits the implementation; compile_main.c links to it.
   Built as C99 and as C++11 by `make compile-tests`. */
#define WS_IMPLEMENTATION
#include "../ws.h"
