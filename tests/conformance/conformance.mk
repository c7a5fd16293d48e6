# Conformance suite (tests/conformance): one table of cases (cases.py), played by a raw
# TCP peer against build/echo_server and build/echo_client (run.py) and in-process
# against ws_conn in both roles (test_conformance.c, table generated as C).
CONF_DIR := tests/conformance
CONF_OUT := $(BUILD)/conformance

$(CONF_OUT)/cases.h: $(CONF_DIR)/cases.py
	@mkdir -p $(CONF_OUT)
	$(PY) $(CONF_DIR)/cases.py --c > $@.tmp && mv $@.tmp $@

$(CONF_OUT)/test_conformance: $(CONF_DIR)/test_conformance.c $(CONF_OUT)/cases.h tests/testutil.h ws.h
	$(CC) $(CFLAGS_TEST) -I$(CONF_OUT) -o $@ $< -lcmocka

.PHONY: conformance
conformance: $(EXAMPLES) $(CONF_OUT)/test_conformance
	$(PY) $(CONF_DIR)/run.py --inproc $(CONF_OUT)/test_conformance

TEST_TARGETS += conformance
