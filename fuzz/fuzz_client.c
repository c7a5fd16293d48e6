/* The client role of a whole connection fed arbitrary bytes: see fuzz_conn.h. */
#define FZ_SERVER 0
#include "fuzz_conn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fz_conn_run(data, size); }
