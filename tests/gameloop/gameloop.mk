# Game loop (included by the main Makefile): `make gameloop`
# examples/game_loop.c (a fixed-rate 16 ms loop, non-blocking, backpressure, reconnect
# with backoff, a per-frame network budget) against build/echo_server frozen with
# SIGSTOP, killed and restarted on the same port (tests/gameloop/run.py, ~15 s).
EXAMPLES     += $(BUILD)/game_loop
TEST_TARGETS += gameloop
.PHONY: gameloop

gameloop: $(BUILD)/echo_server $(BUILD)/game_loop
	$(PY) tests/gameloop/run.py
