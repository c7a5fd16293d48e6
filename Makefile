# ws.h - build the examples, run every test, start the demo.
#   make          examples into build/
#   make test     installs what it needs (tests/deps.sh), then every test
#   make run      the demo: chat page on http://127.0.0.1:8080/ (WebSocket at /ws)
#   make install  ws.h into $(PREFIX)/include, ws.pc into $(PREFIX)/share/pkgconfig
#                 (PREFIX=/usr/local, DESTDIR honoured; CMake's install adds its package config)
CC      ?= cc
CXX     ?= c++
BUILD   := build
WARN    := -Wall -Wextra -Wpedantic -Werror
WARN_STRICT := -Wconversion -Wsign-conversion -Wshadow
SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
CFLAGS_EX   := -std=c99 -O2 -g $(WARN) -D_POSIX_C_SOURCE=200809L
CFLAGS_TEST := -std=c99 -O1 -g $(WARN) $(SAN) -D_POSIX_C_SOURCE=200809L
PY      := /usr/bin/python3

EXAMPLES   := $(BUILD)/echo_server $(BUILD)/echo_client

# TLS for the examples that speak it (wscat wss://, echo_server and chat_server with
# --tls-cert/--tls-key): OpenSSL through examples/tls_openssl.h when pkg-config finds
# it; without it they build plain and say how to get TLS.
TLS_EXAMPLES := $(BUILD)/wscat $(BUILD)/echo_server $(BUILD)/chat_server
OPENSSL_LIBS := $(shell pkg-config --libs openssl 2>/dev/null)
ifneq ($(OPENSSL_LIBS),)
$(TLS_EXAMPLES): EX_FLAGS = -DHAVE_OPENSSL $(shell pkg-config --cflags openssl)
$(TLS_EXAMPLES): EX_LIBS = $(OPENSSL_LIBS)
TLS_NOTE :=
else
TLS_NOTE := examples built without TLS (no wss://): apt-get install libssl-dev pkg-config, then make clean all
endif
TLS_STAMP := $(BUILD)/.tls-$(if $(OPENSSL_LIBS),openssl,none)
# The mbedTLS client (firmware-shaped, examples/mbedtls_client.c) when mbedTLS is there.
ifneq ($(wildcard /usr/include/mbedtls/ssl.h),)
EXAMPLES += $(BUILD)/mbedtls_client
$(BUILD)/mbedtls_client: EX_LIBS = -lmbedtls -lmbedx509 -lmbedcrypto
else
TLS_NOTE += ; build/mbedtls_client needs apt-get install libmbedtls-dev
endif
UNIT_SRCS  := $(wildcard tests/test_*.c)
UNIT_BINS  := $(patsubst tests/%.c,$(BUILD)/%,$(UNIT_SRCS))

empty :=
space := $(empty) $(empty)

.PHONY: all
all: examples  # the default goal, whatever the .mk files below define

# Each test family lives in its own folder with a .mk that adds to these lists:
#   EXAMPLES    programs `make` builds;   TEST_DEPS  targets that install what tests need
#   TEST_TARGETS  targets `make test` runs after the unit, compile and integration tests
TEST_DEPS    :=
TEST_TARGETS :=
-include tests/browser/browser.mk
-include tests/interop/interop.mk
-include tests/socketio/socketio.mk
-include tests/conformance/conformance.mk
-include tests/memory/memory.mk
-include tests/portable/portable.mk
-include tests/small/small.mk
-include tests/buildsys/buildsys.mk
-include tests/gameloop/gameloop.mk
-include fuzz/fuzz.mk
-include tests/bench/bench.mk
-include tests/tls/tls.mk
-include tests/deflate/deflate.mk
-include tests/windows/windows.mk

.PHONY: examples
examples: $(EXAMPLES)
	@$(if $(TLS_NOTE),echo "$(TLS_NOTE)")

.PHONY: test run deps unit compile-tests integration clean install

$(BUILD):
	@mkdir -p $@

$(BUILD)/%: examples/%.c ws.h | $(BUILD)
	$(CC) $(CFLAGS_EX) $(EX_FLAGS) -o $@ $< $(EX_LIBS)

$(TLS_EXAMPLES): examples/tls_openssl.h $(TLS_STAMP)
$(BUILD)/mbedtls_client: examples/tls_mbedtls.h
# Rebuilt when OpenSSL comes or goes (make test installs it after a plain build).
$(TLS_STAMP): | $(BUILD)
	@rm -f $(BUILD)/.tls-*
	@touch $@

deps:
	@sh tests/deps.sh base

# The demo: a chat page on http://127.0.0.1:8080/ whose /ws is served by ws.h.
# (build/echo_server -p 9001 is the plain echo server.)
run: $(BUILD)/chat_server
	./$(BUILD)/chat_server -p 8080

# --- tests -----------------------------------------------------------------------
$(BUILD)/test_%: tests/test_%.c tests/testutil.h ws.h | $(BUILD)
	$(CC) $(CFLAGS_TEST) -o $@ $< -lcmocka

unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; ./$$t; done

# The header compiles as C99 and C++ (g++, clang++), 64- and 32-bit where possible,
# and the implementation is really emitted (compile_main calls into it).
compile-tests: | $(BUILD)
	$(CC)  -std=c99 $(WARN) -o $(BUILD)/compile_c tests/compile_impl.c tests/compile_main.c
	./$(BUILD)/compile_c
	clang -std=c99 $(WARN) -o $(BUILD)/compile_clang tests/compile_impl.c tests/compile_main.c
	./$(BUILD)/compile_clang
	g++ -std=c++11 $(WARN) -x c++ -o $(BUILD)/compile_gxx tests/compile_impl.c -x c++ tests/compile_main.c
	./$(BUILD)/compile_gxx
	clang++ -std=c++11 $(WARN) -x c++ -o $(BUILD)/compile_clangxx tests/compile_impl.c -x c++ tests/compile_main.c
	./$(BUILD)/compile_clangxx
	$(CC) -std=c99 $(WARN) -DWS_STATIC -o $(BUILD)/compile_static tests/compile_static.c
	./$(BUILD)/compile_static
	@# the compact loops (WS_SMALL=1, the -Os default) as C and as C++, strict warnings too
	$(CC) -std=c99 $(WARN) -DWS_SMALL=1 -o $(BUILD)/compile_small_c tests/compile_impl.c tests/compile_main.c
	./$(BUILD)/compile_small_c
	g++ -std=c++11 $(WARN) -DWS_SMALL=1 -x c++ -o $(BUILD)/compile_small_gxx tests/compile_impl.c -x c++ tests/compile_main.c
	./$(BUILD)/compile_small_gxx
	$(CC) -std=c99 $(WARN) $(WARN_STRICT) -Wcast-align=strict -DWS_SMALL=1 -c -o $(BUILD)/strict_small_c.o tests/compile_impl.c
	clang++ -std=c++11 $(WARN) $(WARN_STRICT) -Wcast-align -DWS_SMALL=1 -x c++ -c -o $(BUILD)/strict_small_clangxx.o tests/compile_impl.c
	@# a client without URL parsing (tests/test_nourl.c runs it), as C and as C++
	$(CC) -std=c99 $(WARN) $(WARN_STRICT) -Wcast-align=strict -DWS_NO_URL -c -o $(BUILD)/strict_nourl_c.o tests/compile_impl.c
	g++ -std=c++11 $(WARN) $(WARN_STRICT) -Wcast-align=strict -DWS_NO_URL -x c++ -c -o $(BUILD)/strict_nourl_gxx.o tests/compile_impl.c
	@# the implementation under the stricter warnings a project that vendors it may use
	$(CC) -std=c99 $(WARN) $(WARN_STRICT) -Wcast-align=strict -c -o $(BUILD)/strict_c.o tests/compile_impl.c
	clang -std=c99 $(WARN) $(WARN_STRICT) -Wcast-align -c -o $(BUILD)/strict_clang.o tests/compile_impl.c
	g++ -std=c++11 $(WARN) $(WARN_STRICT) -Wcast-align=strict -x c++ -c -o $(BUILD)/strict_gxx.o tests/compile_impl.c
	clang++ -std=c++11 $(WARN) $(WARN_STRICT) -Wcast-align -x c++ -c -o $(BUILD)/strict_clangxx.o tests/compile_impl.c
	@# 32-bit: the build must succeed whenever multilib is installed. A kernel without
	@# i386 support runs it under qemu-i386 (qemu-user, which `make portable` installs;
	@# that family also runs every unit test 32-bit).
	@if echo 'int main(void){return 0;}' | $(CC) -m32 -x c -o $(BUILD)/m32probe - 2>/dev/null; then \
	  $(CC) -m32 -std=c99 $(WARN) -o $(BUILD)/compile_m32 tests/compile_impl.c tests/compile_main.c; \
	  $(CC) -m32 -std=c99 $(WARN) $(WARN_STRICT) -Wcast-align=strict -c -o $(BUILD)/strict_m32.o tests/compile_impl.c; \
	  if $(BUILD)/m32probe 2>/dev/null; then ./$(BUILD)/compile_m32 && echo "32-bit: built and ran"; \
	  elif command -v qemu-i386 >/dev/null; then qemu-i386 $(BUILD)/compile_m32 && echo "32-bit: built and ran (qemu-i386)"; \
	  else echo "32-bit: built (this kernel cannot run i386 binaries; install qemu-user)"; fi; \
	else echo "32-bit build skipped: install gcc-12-multilib"; fi

integration: $(EXAMPLES)
	$(PY) tests/integration/run.py

# Families run TEST_JOBS at a time (tests/families.sh), each into build/logs/; the ones
# that write the interop matrix (build/interop/results.tsv) share one lane.
TEST_JOBS ?= 2
# Built once before the families start, since several of them use these.
TEST_PREBUILD := examples $(UNIT_BINS) $(if $(CONF_OUT),$(CONF_OUT)/cases.h)
MATRIX_FAMILIES := $(filter interop tls,$(TEST_TARGETS))
test: deps $(TEST_DEPS)
	@rm -f $(BUILD)/interop/results.tsv
	@$(MAKE) --no-print-directory $(TEST_PREBUILD)
	@JOBS=$(TEST_JOBS) MAKE="$(MAKE)" bash tests/families.sh unit compile-tests integration \
	  $(filter-out $(MATRIX_FAMILIES),$(TEST_TARGETS)) $(subst $(space),+,$(strip $(MATRIX_FAMILIES)))
	@echo "make test: all passed"

# A header needs no build. ws.pc.in is shared with CMake (same @...@ names).
PREFIX ?= /usr/local
WS_VERSION = $(shell sed -n 's/^\#define WS_VERSION_STRING "\(.*\)"/\1/p' ws.h)
install:
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/share/pkgconfig
	install -m 644 ws.h $(DESTDIR)$(PREFIX)/include/ws.h
	sed -e 's|@prefix@|$(PREFIX)|' -e 's|@includedir@|$${prefix}/include|' \
	  -e 's|@version@|$(WS_VERSION)|' ws.pc.in > $(DESTDIR)$(PREFIX)/share/pkgconfig/ws.pc

clean:
	rm -rf $(BUILD)
