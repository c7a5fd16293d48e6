# Interop matrix: build/echo_server and build/echo_client against real peers, installed
# from Debian and npm (see tests/interop/README.md). Included by the main Makefile.
#   make interop-deps   installs the Debian packages and the pinned npm packages
#   make interop        builds the C and C++ peers, runs every pair, prints the matrix
# Results are appended to build/interop/results.tsv (other suites append there too);
# `make test` removes it first, `make interop-reset` does only that.
# Included above the main Makefile's `all:`: keep `all` the default goal.

TEST_DEPS    += interop-deps
TEST_TARGETS += interop

INTEROP_DIR   := tests/interop
INTEROP_OUT   := $(BUILD)/interop
# The proxies (nginx, apache2, lighttpd, haproxy) are started by run.py on configs it
# writes to build/interop/; their packages' own services are never used. On a machine
# without a running init (containers, CI) installing them starts nothing.
INTEROP_DEBS  := libwebsockets-dev libwebsocketpp-dev libasio-dev python3-websockets python3-ws4py \
                 nginx apache2 lighttpd haproxy pkg-config g++
INTEROP_STAMP := $(INTEROP_DIR)/node_modules/.ws-h-installed
INTEROP_PEERS := $(INTEROP_OUT)/lws_peer $(INTEROP_OUT)/wspp_peer $(INTEROP_OUT)/wsh_peer \
                 $(INTEROP_OUT)/wstunnel_client

.PHONY: interop interop-deps interop-reset
# Debian's nodejs comes without npm, NodeSource's with it (and conflicts with Debian's
# npm package): ask for npm only when there is none.
interop-deps:
	@sh tests/deps.sh $(INTEROP_DEBS) nodejs
	@command -v npm >/dev/null 2>&1 || sh tests/deps.sh npm
	@$(MAKE) --no-print-directory $(INTEROP_STAMP)

# npm `ws` and `websocket` at the exact versions of package.json; reinstalled when the
# pins change.
$(INTEROP_STAMP): $(INTEROP_DIR)/package.json $(INTEROP_DIR)/package-lock.json
	cd $(INTEROP_DIR) && npm install --no-audit --no-fund
	@touch $@

$(INTEROP_OUT):
	@mkdir -p $@

$(INTEROP_OUT)/lws_peer: $(INTEROP_DIR)/peers/lws_peer.c $(INTEROP_DIR)/peers/plan.h | $(INTEROP_OUT)
	$(CC) -std=c99 -O1 -g $(WARN) -D_POSIX_C_SOURCE=200809L -o $@ $< \
	  $$(pkg-config --cflags --libs libwebsockets)

# ws.h driving the plan against itself (permessage-deflate at every window size).
$(INTEROP_OUT)/wsh_peer: $(INTEROP_DIR)/peers/wsh_peer.c $(INTEROP_DIR)/peers/plan.h ws.h | $(INTEROP_OUT)
	$(CC) -std=c99 -O1 -g $(WARN) -D_POSIX_C_SOURCE=200809L -o $@ $<

# ws.h's client against lighttpd's mod_wstunnel (rows lighttpd-wstunnel*).
$(INTEROP_OUT)/wstunnel_client: $(INTEROP_DIR)/peers/wstunnel_client.c ws.h | $(INTEROP_OUT)
	$(CC) -std=c99 -O1 -g $(WARN) -D_POSIX_C_SOURCE=200809L -o $@ $<

# Third-party headers: warnings on, but not -Werror/-Wpedantic (Asio and WebSocket++
# are not ours to fix).
$(INTEROP_OUT)/wspp_peer: $(INTEROP_DIR)/peers/wspp_peer.cpp $(INTEROP_DIR)/peers/plan.h | $(INTEROP_OUT)
	$(CXX) -std=c++11 -O1 -g -Wall -Wextra -DASIO_STANDALONE -o $@ $< -pthread

interop: $(EXAMPLES) $(INTEROP_PEERS) $(INTEROP_STAMP)
	$(PY) $(INTEROP_DIR)/run.py

interop-reset:
	rm -f $(INTEROP_OUT)/results.tsv
