#!/bin/sh
# Runs a firmware image of examples/firmware on an emulated board and checks it.
# Usage: firmware.sh BOARD ELF LOG
# Pass: qemu exits 0 (the image's semihosting SYS_EXIT said success) within 60 s, and
# its output, less the "figure:" lines (sizes and measurements), is exactly
# tests/portable/firmware.expected: every event of both connections, in order.
board=$1 elf=$2 log=$3
timeout 60 qemu-system-arm -M "$board" -nographic -monitor none -serial none \
  -semihosting-config enable=on,target=native -kernel "$elf" </dev/null >"$log" 2>&1
rc=$?
if [ $rc != 0 ]; then
  cat "$log"; echo "not ok - firmware on $board: qemu exit $rc (124: timeout)"; exit 1
fi
if ! grep -v '^figure:' "$log" | diff -u tests/portable/firmware.expected - ; then
  echo "not ok - firmware on $board: output differs from tests/portable/firmware.expected"; exit 1
fi
echo "ok - firmware on $board ($elf): $(grep '^figure:' "$log" | sed 's/^figure: //')"
