# Fuzzing (included by the main Makefile).
#   make fuzz                 every libFuzzer target for FUZZ_SECONDS (default 60) each,
#                             then executions and coverage per target; `make -j2 fuzz`
#                             runs two at a time. A crash lands in fuzz/regressions/<t>/.
#   make fuzz-<target>        one of them
#   make fuzz-replay          (part of `make test`) the same targets built with
#                             fuzz/standalone_main.c under ASan+UBSan (gcc or clang),
#                             replaying fuzz/corpus/<t> and fuzz/regressions/<t>
#   make fuzz-corpus          regenerate the seeds from the unit-test vectors
#   make fuzz-coverage        ws.h line/branch coverage of the seeds plus whatever the
#                             fuzzers grew in build/fuzz/corpus (clang source coverage)
# The standalone builds also serve AFL++: afl-fuzz -i fuzz/corpus/frame -o out -- build/fuzz/replay_frame @@
FUZZ_TARGETS := request response url frame server client utf8 inflate deflate
# DEFLATE's targets compare with zlib (Debian zlib1g-dev, installed by deflate-deps)
FUZZ_LIBS_inflate := -lz
FUZZ_LIBS_deflate := -lz
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_HDRS    := fuzz/fuzz_common.h fuzz/fuzz_conn.h ws.h
# A known, reported library bug can be suppressed in the long runs only (an entry in
# fuzz/known_ub.ignorelist), so they look for new ones; the replay keeps every
# sanitizer check and so keeps failing on the saved reproducer until ws.h is fixed.
FUZZ_FLAGS   := -std=c99 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
                -fno-omit-frame-pointer -fsanitize-ignorelist=fuzz/known_ub.ignorelist
REPLAY_FLAGS := -std=c99 -O1 -g $(WARN) $(SAN) -D_POSIX_C_SOURCE=200809L
# clang when there is one: its UBSan also flags NULL + 0 (pointer-overflow), gcc's does not
REPLAY_CC    ?= $(shell command -v clang >/dev/null 2>&1 && echo clang || echo $(CC))

TEST_TARGETS += fuzz-replay

.PHONY: fuzz fuzz-replay fuzz-corpus fuzz-coverage $(addprefix fuzz-,$(FUZZ_TARGETS))

$(FUZZ_DIR):
	@mkdir -p $@

$(FUZZ_DIR)/lf_%: fuzz/fuzz_%.c $(FUZZ_HDRS) fuzz/known_ub.ignorelist | $(FUZZ_DIR)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(FUZZ_LIBS_$*)

$(FUZZ_DIR)/replay_%: fuzz/fuzz_%.c fuzz/standalone_main.c $(FUZZ_HDRS) | $(FUZZ_DIR)
	$(REPLAY_CC) $(REPLAY_FLAGS) -o $@ $< fuzz/standalone_main.c $(FUZZ_LIBS_$*)

$(addprefix fuzz-,$(FUZZ_TARGETS)): fuzz-%: $(FUZZ_DIR)/lf_%
	@sh fuzz/run_fuzz.sh $* $(FUZZ_DIR)/lf_$* $(FUZZ_SECONDS) $(FUZZ_DIR)

# Every target runs even if an earlier one crashed; the summary lists them all.
fuzz: $(addprefix $(FUZZ_DIR)/lf_,$(FUZZ_TARGETS))
	@rm -f $(FUZZ_DIR)/*.summary
	@-$(MAKE) --no-print-directory -k $(addprefix fuzz-,$(FUZZ_TARGETS))
	@echo "== fuzz summary ($(FUZZ_SECONDS) s per target)"
	@cat $(addprefix $(FUZZ_DIR)/,$(addsuffix .summary,$(FUZZ_TARGETS))) 2>/dev/null
	@! grep -q 'result=CRASH' $(FUZZ_DIR)/*.summary

fuzz-replay: $(addprefix $(FUZZ_DIR)/replay_,$(FUZZ_TARGETS))
	@pass=0; fail=0; for t in $(FUZZ_TARGETS); do \
	  for d in fuzz/corpus/$$t fuzz/regressions/$$t; do \
	    [ -d $$d ] || continue; \
	    for f in $$d/*; do \
	      [ -f $$f ] || continue; \
	      if $(FUZZ_DIR)/replay_$$t $$f >$(FUZZ_DIR)/replay.log 2>&1; then pass=$$((pass+1)); \
	      else fail=$$((fail+1)); echo "FAIL $$t $$f"; grep -a -m1 -A4 'ERROR\|runtime error\|invariant failed' $(FUZZ_DIR)/replay.log | sed 's/^/    /'; fi; \
	    done; \
	  done; \
	done; \
	echo "fuzz-replay: $$pass passed, $$fail failed"; [ $$fail -eq 0 ]

fuzz-corpus:
	$(PY) fuzz/gen_corpus.py

$(FUZZ_DIR)/cov_%: fuzz/fuzz_%.c fuzz/standalone_main.c $(FUZZ_HDRS) | $(FUZZ_DIR)
	$(FUZZ_CC) -std=c99 -O1 -g -fprofile-instr-generate -fcoverage-mapping -D_POSIX_C_SOURCE=200809L -o $@ $< fuzz/standalone_main.c $(FUZZ_LIBS_$*)

fuzz-coverage: $(addprefix $(FUZZ_DIR)/cov_,$(FUZZ_TARGETS))
	@rm -f $(FUZZ_DIR)/*.profraw
	@for t in $(FUZZ_TARGETS); do \
	  dirs=fuzz/corpus/$$t; [ -d $(FUZZ_DIR)/corpus/$$t ] && dirs="$$dirs $(FUZZ_DIR)/corpus/$$t"; \
	  LLVM_PROFILE_FILE=$(FUZZ_DIR)/$$t.profraw $(FUZZ_DIR)/cov_$$t $$dirs >/dev/null 2>&1; \
	  llvm-profdata merge -o $(FUZZ_DIR)/$$t.profdata $(FUZZ_DIR)/$$t.profraw; \
	  printf '%-9s ' $$t; llvm-cov report $(FUZZ_DIR)/cov_$$t -instr-profile=$(FUZZ_DIR)/$$t.profdata ws.h | \
	    awk '$$1 ~ /ws\.h$$/ {print "ws.h lines " $$10 ", branches " $$13 ", functions " $$7}'; \
	done
	@llvm-profdata merge -o $(FUZZ_DIR)/all.profdata $(FUZZ_DIR)/*.profraw
	@printf '%-9s ' all; llvm-cov report $(FUZZ_DIR)/cov_server $(foreach t,$(filter-out server,$(FUZZ_TARGETS)),-object $(FUZZ_DIR)/cov_$(t)) \
	  -instr-profile=$(FUZZ_DIR)/all.profdata ws.h | awk '$$1 ~ /ws\.h$$/ {print "ws.h lines " $$10 ", branches " $$13 ", functions " $$7}'
