# TLS: the examples over OpenSSL (examples/tls_openssl.h) and mbedTLS
# (examples/mbedtls_client.c) against real TLS peers. Included by the main Makefile.
#   make tls-deps   Debian packages (OpenSSL and mbedTLS headers, certutil for Chromium's
#                   trust store) plus the npm packages of tests/interop and tests/browser
#   make tls        the glue's unit tests (tests/tls/test_tls_*.c), then
#                   tests/tls/run.py: certificates made for the run, every pair (nginx,
#                   HAProxy, Apache and lighttpd terminating TLS among them), the table
# Rows go to build/interop/results.tsv with the other suites' (a "tls" column).
# Included above the main Makefile's `all:`: keep `all` the default goal.

TEST_DEPS    += tls-deps
TEST_TARGETS += tls

# The proxies that terminate TLS (tests/tls/proxies.py); lighttpd's TLS is a module of
# its own, only Recommended by lighttpd.
TLS_DEBS := libssl-dev libmbedtls-dev openssl pkg-config libnss3-tools libcmocka-dev \
            python3-websockets chromium nodejs nginx haproxy apache2 lighttpd lighttpd-mod-openssl

.PHONY: tls tls-deps tls-unit
# Node `ws` comes from tests/interop's pinned install, playwright-core from tests/browser's.
tls-deps: interop-deps browser-deps
	@sh tests/deps.sh $(TLS_DEBS)

$(BUILD)/test_tls_glue: tests/tls/test_tls_glue.c examples/tls_openssl.h ws.h | $(BUILD)
	$(CC) $(CFLAGS_TEST) $$(pkg-config --cflags openssl) -o $@ $< -lcmocka $$(pkg-config --libs openssl)

# The mbedTLS glue against the OpenSSL one, in one process.
$(BUILD)/test_tls_mbedtls: tests/tls/test_tls_mbedtls.c examples/tls_mbedtls.h examples/tls_openssl.h ws.h | $(BUILD)
	$(CC) $(CFLAGS_TEST) $$(pkg-config --cflags openssl) -o $@ $< -lcmocka $$(pkg-config --libs openssl) \
	  -lmbedtls -lmbedx509 -lmbedcrypto

tls-unit: $(BUILD)/test_tls_glue $(BUILD)/test_tls_mbedtls
	./$(BUILD)/test_tls_glue
	./$(BUILD)/test_tls_mbedtls

tls: tls-unit $(TLS_EXAMPLES) $(BUILD)/mbedtls_client
	@test -n "$(OPENSSL_LIBS)" || { echo "make tls: OpenSSL not found (make tls-deps)"; exit 1; }
	$(PY) tests/tls/run.py
	@echo "== the interop matrix, TLS rows included (over = tls)"
	@$(PY) tests/interop/run.py --matrix
