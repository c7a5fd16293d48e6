# WS_SMALL=1 (included by the main Makefile): `make small`
# Some loops have a fast form and a compact one (WS_SMALL, default 1 only under -Os/-Oz).
# `make unit` builds at -O1, so it tests the fast forms; this family builds the same
# unit tests (tests/test_*.c) and the in-process conformance table
# (tests/conformance/test_conformance.c) with -DWS_SMALL=1 and the same sanitizers into
# build/small/, so every compact form runs under the same assertions. `make firmware`
# runs WS_SMALL=1 too (Thumb -Os), but only one session and without sanitizers.
SMALL_OUT    := $(BUILD)/small
SMALL_CFLAGS := $(CFLAGS_TEST) -DWS_SMALL=1
SMALL_BINS   := $(patsubst tests/%.c,$(SMALL_OUT)/%,$(UNIT_SRCS)) $(SMALL_OUT)/test_conformance
# tests/test_deflate.c compares against zlib (see tests/deflate/deflate.mk).
SMALL_LIBS_test_deflate := -lz

TEST_TARGETS += small
.PHONY: small

$(SMALL_OUT)/test_%: tests/test_%.c tests/testutil.h ws.h
	@mkdir -p $(@D)
	$(CC) $(SMALL_CFLAGS) -o $@ $< -lcmocka $(SMALL_LIBS_test_$*)

$(SMALL_OUT)/test_conformance: tests/conformance/test_conformance.c $(BUILD)/conformance/cases.h \
                               tests/testutil.h ws.h
	@mkdir -p $(@D)
	$(CC) $(SMALL_CFLAGS) -I$(BUILD)/conformance -o $@ $< -lcmocka

small: $(SMALL_BINS)
	@set -e; for t in $(SMALL_BINS); do echo "== $$t (WS_SMALL=1)"; ./$$t; done
