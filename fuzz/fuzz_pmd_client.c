/* The client role of a whole connection with permessage-deflate (RFC 7692) fed
   arbitrary bytes: see fuzz_conn.h (FZ_PMD). */
#define FZ_SERVER 0
#define FZ_PMD 1
#include "fuzz_conn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fz_conn_run(data, size); }
