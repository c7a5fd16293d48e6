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
SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
CFLAGS_EX   := -std=c99 -O2 -g $(WARN) -D_POSIX_C_SOURCE=200809L
CFLAGS_TEST := -std=c99 -O1 -g $(WARN) $(SAN) -D_POSIX_C_SOURCE=200809L
PY      := /usr/bin/python3

EXAMPLES   := $(BUILD)/echo_server $(BUILD)/echo_client
UNIT_SRCS  := $(wildcard tests/test_*.c)
UNIT_BINS  := $(patsubst tests/%.c,$(BUILD)/%,$(UNIT_SRCS))

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
-include tests/buildsys/buildsys.mk
-include tests/gameloop/gameloop.mk
-include fuzz/fuzz.mk
-include tests/bench/bench.mk
-include tests/deflate/deflate.mk

.PHONY: examples
examples: $(EXAMPLES)

.PHONY: test run deps unit compile-tests integration clean install

$(BUILD):
	@mkdir -p $@

$(BUILD)/%: examples/%.c ws.h | $(BUILD)
	$(CC) $(CFLAGS_EX) -o $@ $<

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
	@# 32-bit: the build must succeed whenever multilib is installed. A kernel without
	@# i386 support runs it under qemu-i386 (qemu-user, which `make portable` installs;
	@# that family also runs every unit test 32-bit).
	@if echo 'int main(void){return 0;}' | $(CC) -m32 -x c -o $(BUILD)/m32probe - 2>/dev/null; then \
	  $(CC) -m32 -std=c99 $(WARN) -o $(BUILD)/compile_m32 tests/compile_impl.c tests/compile_main.c; \
	  if $(BUILD)/m32probe 2>/dev/null; then ./$(BUILD)/compile_m32 && echo "32-bit: built and ran"; \
	  elif command -v qemu-i386 >/dev/null; then qemu-i386 $(BUILD)/compile_m32 && echo "32-bit: built and ran (qemu-i386)"; \
	  else echo "32-bit: built (this kernel cannot run i386 binaries; install qemu-user)"; fi; \
	else echo "32-bit build skipped: install gcc-12-multilib"; fi

integration: $(EXAMPLES)
	$(PY) tests/integration/run.py

test: deps $(TEST_DEPS)
	@rm -f $(BUILD)/interop/results.tsv
	@set -e; for t in unit compile-tests integration $(TEST_TARGETS); do \
	  echo "=== make $$t"; $(MAKE) --no-print-directory $$t; done
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
