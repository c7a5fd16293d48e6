#!/usr/bin/env bash
# Run test families (make targets) side by side, JOBS at a time, each into its own log,
# then print every log in the order given and one line per family. Families are
# independent: each binds its own free ports on 127.0.0.1 and builds into its own part
# of build/ (make test installs everything before). Targets joined by '+' run one after
# the other in one job, for families that share a file (the interop matrix).
# Usage: JOBS=2 tests/families.sh TARGET[+TARGET]...
set -u
JOBS=${JOBS:-2}
MAKE=${MAKE:-make}
LOGS=build/logs
mkdir -p "$LOGS"
rm -f "$LOGS"/*.rc
groups=("$@")
running=0
for g in "${groups[@]}"; do
  (
    for t in ${g//+/ }; do
      start=$(date +%s)
      $MAKE --no-print-directory "$t" >"$LOGS/$t.log" 2>&1
      echo "$? $(( $(date +%s) - start ))" >"$LOGS/$t.rc"
    done
  ) &
  running=$((running + 1))
  if [ "$running" -ge "$JOBS" ]; then
    wait -n
    running=$((running - 1))
  fi
done
wait
failed=0
passed=0
for g in "${groups[@]}"; do
  for t in ${g//+/ }; do
    echo "=== make $t"
    cat "$LOGS/$t.log"
  done
done
echo "=== families ($JOBS at a time)"
for g in "${groups[@]}"; do
  for t in ${g//+/ }; do
    read -r rc secs <"$LOGS/$t.rc" || { rc=1; secs=0; }
    if [ "$rc" = 0 ]; then
      echo "ok    $t (${secs} s)"
      passed=$((passed + 1))
    else
      echo "FAIL  $t (${secs} s; log: $LOGS/$t.log)"
      failed=$((failed + 1))
    fi
  done
done
echo "families: $passed passed, $failed failed"
[ "$failed" = 0 ]
