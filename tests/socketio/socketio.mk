# Socket.IO: examples/socketio_client.c against the real npm socket.io 4.x server
# (tests/socketio/server.js, pinned in package.json + package-lock.json).
#   make socketio-deps   Node and the pinned npm packages
#   make socketio        the unit test of its protocol half (test_sio.c), then the client
#                        against the server (run.py); about 10 s
# Included above the main Makefile's `all:`: keep `all` the default goal.

EXAMPLES     += $(BUILD)/socketio_client
TEST_DEPS    += socketio-deps
TEST_TARGETS += socketio

SOCKETIO_DIR   := tests/socketio
SOCKETIO_STAMP := $(SOCKETIO_DIR)/node_modules/.ws-h-installed

.PHONY: socketio socketio-deps
# Debian's nodejs comes without npm, NodeSource's with it: ask for npm only when missing.
socketio-deps:
	@sh tests/deps.sh nodejs
	@command -v npm >/dev/null 2>&1 || sh tests/deps.sh npm
	@$(MAKE) --no-print-directory $(SOCKETIO_STAMP)

# Reinstalled when the pins change.
$(SOCKETIO_STAMP): $(SOCKETIO_DIR)/package.json $(SOCKETIO_DIR)/package-lock.json
	cd $(SOCKETIO_DIR) && npm install --no-audit --no-fund
	@touch $@

# The test runs a sanitizer build of the client (hostile input is the server's to send).
$(BUILD)/socketio/socketio_client: examples/socketio_client.c ws.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_TEST) -o $@ $<

# The protocol half alone (JSON reader, packet codec), fed at every chunking.
$(BUILD)/socketio/test_sio: $(SOCKETIO_DIR)/test_sio.c examples/socketio_client.c ws.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_TEST) -o $@ $< -lcmocka

socketio: $(BUILD)/socketio_client $(BUILD)/socketio/socketio_client $(BUILD)/socketio/test_sio $(SOCKETIO_STAMP)
	./$(BUILD)/socketio/test_sio
	SOCKETIO_CLIENT=$(BUILD)/socketio/socketio_client $(PY) $(SOCKETIO_DIR)/run.py
