# Benchmarks (not tests: `make test` does not run them).
#   make bench           installs what is missing, builds, runs everything (a few minutes),
#                        prints one table and writes it to build/bench.txt
#   make bench-profile   where the echo server and the decoder spend their time
#                        (perf on the echo server, callgrind on ws_conn_feed, system calls
#                        per message with strace -c -f when strace is installed), into
#                        build/bench_profile.txt
# wslay (Debian libwslay-dev) is the baseline; it is linked only into these programs.
# With compression (permessage-deflate) the baseline is Node ws (tests/interop's pinned
# npm copy) run by tests/bench/node_echo_server.js.
# tcp_echo_server is the ceiling: the same loop and I/O without any WebSocket.
# Both servers take their loop from tests/bench/echo_loop.h.
BENCH_BUILD  := $(BUILD)/bench
BENCH_CFLAGS := -std=c99 -O2 -g -Wall -Wextra -Wpedantic -D_POSIX_C_SOURCE=200809L
BENCH_BINS   := $(BENCH_BUILD)/bench_codec $(BENCH_BUILD)/bench_ipf $(BENCH_BUILD)/loadgen \
                $(BENCH_BUILD)/wslay_echo_server $(BENCH_BUILD)/tcp_echo_server
BENCH_SIZES  := $(BENCH_BUILD)/impl_O2.o $(BENCH_BUILD)/impl_Os.o $(BENCH_BUILD)/impl_Os_deflate.o
# DEFLATE (ws_inflate/ws_deflate) against zlib (Debian zlib1g-dev), in the same run
BENCH_BINS   += $(BENCH_BUILD)/bench_deflate
# permessage-deflate memory per connection against zlib's for the same negotiation
BENCH_BINS   += $(BENCH_BUILD)/bench_pmd_mem
ARM_CC       := arm-none-eabi-gcc
# Cortex-M4, freestanding: no libc at all (ws.h's own loops stand in for memcpy/memset).
ARM_CFLAGS   := -std=c99 -mcpu=cortex-m4 -mthumb -Os -ffreestanding -DWS_NO_STDLIB \
                '-DWS_ASSERT(x)=((void)0)' -Wall -Wextra

.PHONY: bench bench-deps bench-build bench-profile

bench-deps:
	@sh tests/deps.sh libwslay-dev valgrind zlib1g-dev nodejs
	@# Node ws (tests/interop's pinned copy) for the permessage-deflate rows
	@command -v npm >/dev/null 2>&1 || sh tests/deps.sh npm
	@$(MAKE) --no-print-directory $(INTEROP_STAMP)
	@sh tests/deps.sh gcc-arm-none-eabi || echo "bench: no gcc-arm-none-eabi, the Thumb size is skipped"

bench: bench-deps
	@$(MAKE) --no-print-directory bench-build
	@$(PY) tests/bench/run.py --out $(BUILD)/bench.txt

bench-profile: bench-deps
	@$(MAKE) --no-print-directory bench-build
	@$(PY) tests/bench/run.py --profile --out $(BUILD)/bench_profile.txt

bench-build: $(BUILD)/echo_server $(BENCH_BINS) $(BENCH_SIZES)
	@if command -v $(ARM_CC) >/dev/null 2>&1; then \
	  $(ARM_CC) $(ARM_CFLAGS) -DWS_NO_DEFLATE -c -o $(BENCH_BUILD)/impl_thumb.o tests/bench/impl.c && \
	  $(ARM_CC) $(ARM_CFLAGS) -DWS_NO_DEFLATE -DWS_NO_CLIENT -c -o $(BENCH_BUILD)/impl_thumb_server.o tests/bench/impl.c && \
	  $(ARM_CC) $(ARM_CFLAGS) -DWS_NO_DEFLATE -DWS_NO_SERVER -c -o $(BENCH_BUILD)/impl_thumb_client.o tests/bench/impl.c && \
	  $(ARM_CC) $(ARM_CFLAGS) -DWS_NO_DEFLATE -DWS_NO_HANDSHAKE -c -o $(BENCH_BUILD)/impl_thumb_nohs.o tests/bench/impl.c && \
	  $(ARM_CC) $(ARM_CFLAGS) -DWS_NO_DEFLATE -DWS_NO_URL -c -o $(BENCH_BUILD)/impl_thumb_nourl.o tests/bench/impl.c && \
	  $(ARM_CC) $(ARM_CFLAGS) -DWS_NO_DEFLATE -DWS_NO_URL -DWS_NO_SERVER -c -o $(BENCH_BUILD)/impl_thumb_client_nourl.o tests/bench/impl.c && \
	  $(ARM_CC) $(ARM_CFLAGS) -c -o $(BENCH_BUILD)/impl_thumb_deflate.o tests/bench/impl.c; \
	else rm -f $(BENCH_BUILD)/impl_thumb*.o; fi

$(BENCH_BUILD):
	@mkdir -p $@

$(BENCH_BUILD)/bench_codec: tests/bench/bench_codec.c tests/bench/bench_common.h ws.h | $(BENCH_BUILD)
	$(CC) $(BENCH_CFLAGS) -o $@ $< -lwslay -ldl

$(BENCH_BUILD)/bench_ipf: tests/bench/bench_ipf.c tests/bench/bench_common.h ws.h | $(BENCH_BUILD)
	$(CC) $(BENCH_CFLAGS) -o $@ $< -lwslay

$(BENCH_BUILD)/loadgen: tests/bench/loadgen.c tests/bench/bench_common.h | $(BENCH_BUILD)
	$(CC) $(BENCH_CFLAGS) -o $@ $< -lz

$(BENCH_BUILD)/wslay_echo_server: tests/bench/wslay_echo_server.c tests/bench/echo_loop.h ws.h | $(BENCH_BUILD)
	$(CC) $(BENCH_CFLAGS) -o $@ $< -lwslay

# the ceiling: echo_server's loop and I/O without any WebSocket (no ws.h, no wslay)
$(BENCH_BUILD)/tcp_echo_server: tests/bench/tcp_echo_server.c tests/bench/echo_loop.h | $(BENCH_BUILD)
	$(CC) $(BENCH_CFLAGS) -o $@ $<

# The size rows that predate DEFLATE measure the library without it (WS_NO_DEFLATE), so
# they stay comparable; the *_deflate objects are the whole library with it.
$(BENCH_BUILD)/impl_O2.o: tests/bench/impl.c ws.h | $(BENCH_BUILD)
	$(CC) -std=c99 -O2 -DWS_NO_DEFLATE -c -o $@ $<

$(BENCH_BUILD)/impl_Os.o: tests/bench/impl.c ws.h | $(BENCH_BUILD)
	$(CC) -std=c99 -Os -DWS_NO_DEFLATE -c -o $@ $<

$(BENCH_BUILD)/impl_Os_deflate.o: tests/bench/impl.c ws.h | $(BENCH_BUILD)
	$(CC) -std=c99 -Os -c -o $@ $<

$(BENCH_BUILD)/bench_pmd_mem: tests/bench/bench_pmd_mem.c ws.h | $(BENCH_BUILD)
	$(CC) $(BENCH_CFLAGS) -o $@ $< -lz

$(BENCH_BUILD)/bench_deflate: tests/bench/bench_deflate.c tests/deflate_corpus.h ws.h | $(BENCH_BUILD)
	$(CC) $(BENCH_CFLAGS) -o $@ $< -lz
