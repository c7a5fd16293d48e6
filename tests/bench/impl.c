/* The implementation alone, for measuring its code size (tests/bench/bench.mk). */
#define WS_IMPLEMENTATION
#include "../../ws.h"
