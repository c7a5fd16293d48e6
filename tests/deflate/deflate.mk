# DEFLATE (ws_inflate / ws_deflate, RFC 1951 for RFC 7692), included by the main Makefile.
#   make deflate-deps   zlib (Debian zlib1g-dev): the reference in tests, fuzzing and
#                       benchmarks only; ws.h itself never uses it
#   make deflate        tests/test_deflate.c alone (it is also part of `make unit`)
# tests/test_deflate.c links zlib, so it has its own rule (the generic one does not).

TEST_DEPS += deflate-deps

.PHONY: deflate deflate-deps

deflate-deps:
	@sh tests/deps.sh zlib1g-dev

$(BUILD)/test_deflate: tests/test_deflate.c tests/testutil.h tests/deflate_corpus.h ws.h | $(BUILD)
	$(CC) $(CFLAGS_TEST) -o $@ $< -lcmocka -lz

deflate: $(BUILD)/test_deflate
	./$(BUILD)/test_deflate
