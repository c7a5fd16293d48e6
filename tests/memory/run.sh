#!/bin/sh
# tests/memory/run.sh OUTDIR ASAN_BINARY VALGRIND_BINARY...
# Runs the sanitized cmocka binary (each of its tests is one check), then every other
# binary under valgrind memcheck, MEM_JOBS at a time (each run is one check: it passes
# when valgrind reports no error and no definite or indirect leak; a test that fails on
# its own is reported by its own target, and here only noted). Prints "N passed, M failed".
out=$1 asan=$2
shift 2
VALGRIND=${VALGRIND:-valgrind}
MEM_JOBS=${MEM_JOBS:-2}
pass=0 fail=0

echo "== $asan (ASan+UBSan: allocator limits, zero-allocation, guard pages)"
"$asan" >"$out/test_memory.log" 2>&1
rc=$?
grep -a -v '^\[ RUN\|^\[       OK' "$out/test_memory.log" | grep -a -v '^$'
p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out/test_memory.log" | tail -1)
f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out/test_memory.log" | tail -1)
if [ -z "$p" ] && [ -z "$f" ]; then
    echo "FAIL $asan crashed (exit $rc)"; tail -20 "$out/test_memory.log"; fail=$((fail + 1))
else
    pass=$((pass + ${p:-0})); fail=$((fail + ${f:-0}))
    # a sanitizer report after the summary still fails the run
    if [ $rc -ne 0 ] && [ "${f:-0}" -eq 0 ]; then echo "FAIL $asan exit $rc"; fail=$((fail + 1)); fi
fi

if ! command -v "$VALGRIND" >/dev/null 2>&1; then
    echo "FAIL valgrind not installed (make deps)"; fail=$((fail + $#))
else
    echo "== valgrind memcheck ($# binaries, $MEM_JOBS at a time)"
    # one job per binary; each leaves <bin>.vg.log and <bin>.vg.rc
    printf '%s\n' "$@" | xargs -P "$MEM_JOBS" -I{} sh -c \
        '"$0" --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect \
             --track-origins=yes --log-file="$1.vg.log" "$1" >"$1.out.log" 2>&1; echo $? >"$1.vg.rc"' \
        "$VALGRIND" {}
    for b in "$@"; do
        summ=$(grep -a 'ERROR SUMMARY' "$b.vg.log" | tail -1 | sed 's/^==[0-9]*== //')
        rc=$(cat "$b.vg.rc" 2>/dev/null)
        if echo "$summ" | grep -q 'ERROR SUMMARY: 0 errors'; then
            pass=$((pass + 1))
            note=""; [ "$rc" != 0 ] && note=" (its own tests failed: exit $rc, see $b.out.log)"
            echo "ok   $(basename "$b"): $summ$note"
        else
            fail=$((fail + 1))
            echo "FAIL $(basename "$b"): ${summ:-no valgrind summary (exit $rc)}"
            grep -a -m3 -A8 'Invalid\|uninitialised\|definitely lost in\|indirectly lost in' "$b.vg.log" | sed 's/^/    /' | head -40
        fi
    done
fi
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
