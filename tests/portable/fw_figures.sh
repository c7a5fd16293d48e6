#!/bin/sh
# Figures of one firmware image build (tests/portable/portable.mk): flash, RAM, the part
# of the code that is ws.h, the worst-case stack from GCC's call graph (stack.py) beside
# the deepest stack the run really touched (the image's painted stack, from its log).
# Usage: fw_figures.sh DIR CPU    (DIR holds session.elf, *.ci and session.log)
# (size's "bss" includes the .stack reserve, which is reported apart.)
dir=$1 cpu=$2
set -- $(arm-none-eabi-size "$dir/session.elf" | awk 'NR==2 {print $1, $2, $3}')
text=$1 data=$2 bss=$3
wscode=$(arm-none-eabi-nm --radix=d -S "$dir/session.elf" | awk '$3 ~ /^[tT]$/ && $4 ~ /^ws_/ {s += $2} END {print s + 0}')
stackres=$(arm-none-eabi-nm --radix=d "$dir/session.elf" | awk '$3=="_stack_bottom"{b=$1} $3=="_stack_top"{t=$1} END{print t-b}')
static=$(/usr/bin/python3 tests/portable/stack.py --root Reset_Handler \
  --calls ws__emit=on_event --calls ws_conn_feed=on_event \
  --calls ws__queue_frame=fw_rng --calls ws__queue_deflated=fw_rng --calls ws_make_key=fw_rng \
  --calls ws__alloc= --calls ws__free= --calls ws__buf_reserve= "$dir"/*.ci) || { echo "$static"; exit 1; }
measured=$(sed -n 's/.*stack used (painted) \([0-9]*\) bytes.*/\1/p' "$dir/session.log")
echo "firmware $cpu -Os: flash $((text + data)) B (code+rodata $text, of which ws.h functions $wscode; .data $data),"
echo "  RAM $((data + bss - stackres)) B static (.data+.bss: two ws_conn and their 2x(512+384) B buffers) + $stackres B stack reserved;"
echo "  worst-case stack $(echo "$static" | sed -n 's/^stack-bytes //p') B (static bound, -fstack-usage/-fcallgraph-info call graph), $measured B touched in the run"
echo "$static" | sed -n '2,40p' | grep -v '^stack-bytes' | sed 's/^/    /' > "$dir/stack.txt"
