#!/bin/sh
# Runs the cross-built tests of tests/portable/portable.mk under qemu-user.
# Usage: run.sh OUTDIR ARCH...   (OUTDIR/ARCH/ holds probe and the test binaries)
# Each ARCH's probe must report the byte order and pointer size that ARCH stands for;
# then every test binary runs (cmocka: exit 0 only when all its tests passed), bounded by
# PORT_TIMEOUT seconds. Two architectures at a time (2 cores). Output of each run is in
# OUTDIR/ARCH/NAME.log; the last line is "portable: N passed, M failed".
out=$1; shift
timeout_s=${PORT_TIMEOUT:-300}

runner() {
  case "$1" in
    i386) echo qemu-i386 ;; armhf) echo qemu-arm ;; s390x) echo qemu-s390x ;;
    *) echo "run.sh: unknown arch $1" >&2; return 1 ;;
  esac
}
expect() {
  case "$1" in i386|armhf) echo "little 32" ;; s390x) echo "big 64" ;; esac
}

one_arch() {
  a=$1; res="$out/$a/results"; : > "$res"
  q=$(runner "$a") || { echo "not ok - $a: no qemu runner" >> "$res"; exit 0; }
  got=$("$q" "$out/$a/probe" 2>&1 | head -1)
  cc=$("$q" "$out/$a/probe" 2>&1 | sed -n 2p)
  if [ "$got" != "$(expect "$a")" ]; then
    echo "not ok - $a probe: expected '$(expect "$a")', got '$got'" | tee -a "$res"
    exit 0
  fi
  echo "ok - $a probe: $got (built by $cc)" >> "$res"
  for b in "$out/$a"/test_*; do
    [ -x "$b" ] || continue
    n=$(basename "$b"); t0=$(date +%s)
    timeout "$timeout_s" "$q" "$b" > "$out/$a/$n.log" 2>&1; rc=$?
    t=$(( $(date +%s) - t0 ))
    summary=$(grep -E '^\[  (PASSED|FAILED)  \]' "$out/$a/$n.log" | tr '\n' ' ')
    if [ $rc = 0 ]; then echo "ok - $a $n (${t}s) $summary" >> "$res"
    else echo "not ok - $a $n exit $rc (${t}s) $summary # see $out/$a/$n.log" >> "$res"; fi
  done
}

for a in "$@"; do echo "$a"; done | {
  # two at a time
  pids=""; n=0
  while read -r a; do
    one_arch "$a" &
    pids="$pids $!"; n=$((n + 1))
    if [ $n -ge 2 ]; then wait; n=0; fi
  done
  wait
}
passed=0; failed=0
for a in "$@"; do
  cat "$out/$a/results"
  passed=$((passed + $(grep -c '^ok' "$out/$a/results")))
  failed=$((failed + $(grep -c '^not ok' "$out/$a/results")))
done
for a in "$@"; do
  grep -q '^not ok' "$out/$a/results" && grep -h -E '^\[  FAILED  \]|FAIL|not ok' "$out/$a"/test_*.log 2>/dev/null | head -20
done
echo "portable: $passed passed, $failed failed"
[ $failed = 0 ]
