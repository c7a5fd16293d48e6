#!/bin/sh
# Run one libFuzzer target for a while and summarise it. Used by fuzz/fuzz.mk:
#   fuzz/run_fuzz.sh <target> <binary> <seconds> <workdir>
# The growing corpus lives in <workdir>/corpus/<target> (build output); the committed
# seeds (fuzz/corpus/<target>) and regressions are read, never written. A crash is
# copied to fuzz/regressions/<target>/ and the script exits 1.
# Writes <workdir>/<target>.summary: "<target> executions=<N> cov=<C> ft=<F> corpus=<K> result=<ok|CRASH>"
t=$1 bin=$2 secs=$3 work=$4
mkdir -p "$work/corpus/$t" "$work/artifacts/$t"
log="$work/$t.log"
dirs="$work/corpus/$t fuzz/corpus/$t"
[ -d "fuzz/regressions/$t" ] && dirs="$dirs fuzz/regressions/$t"
# shellcheck disable=SC2086
"$bin" -max_total_time="$secs" -print_final_stats=1 -timeout=20 -rss_limit_mb=2560 \
    -max_len=8192 -artifact_prefix="$work/artifacts/$t/" $dirs >"$log" 2>&1
rc=$?
execs=$(grep -a 'stat::number_of_executed_units' "$log" | tail -1 | awk '{print $2}')
covline=$(grep -a ' cov: ' "$log" | tail -1)
cov=$(echo "$covline" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
ft=$(echo "$covline" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
corp=$(echo "$covline" | sed -n 's/.* corp: \([0-9]*\).*/\1/p')
result=ok
if [ $rc -ne 0 ]; then
    result=CRASH
    mkdir -p "fuzz/regressions/$t"
    for a in "$work/artifacts/$t"/*; do
        [ -f "$a" ] || continue
        cp "$a" "fuzz/regressions/$t/" && echo "$t: crash saved as fuzz/regressions/$t/$(basename "$a")"
        rm -f "$a"
    done
    grep -a -m1 -A6 'ERROR\|runtime error\|invariant failed' "$log"
fi
echo "$t executions=${execs:-?} cov=${cov:-?} ft=${ft:-?} corpus=${corp:-?} seconds=$secs result=$result" | tee "$work/$t.summary"
[ $result = ok ]
