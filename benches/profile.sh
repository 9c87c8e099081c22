#!/usr/bin/env bash
# Instructions per iteration of bench cases, counted by callgrind (repeatable on a noisy machine,
# unlike time). Each case runs at BENCH_N=1000 and 3000; the difference / 2000 cancels set-up.
#
#   benches/profile.sh BENCH CASE [CASE ...]
#   e.g. benches/profile.sh stack none:allowed layers:allowed theirs:allowed
#
# Cases are the names each bench accepts in BENCH_PROFILE (see the bench's source). Subtract the
# bench's `none` case (building the input alone) where it has one.
set -euo pipefail
bench=$1; shift
bin=$(cargo bench --bench "$bench" --no-run --message-format=json 2>/dev/null \
  | grep -o '"executable":"[^"]*"' | tail -n1 | cut -d'"' -f4)
out=${PROFILE_OUT:-$(mktemp -d)}
for case in "$@"; do
  for n in 1000 3000; do
    BENCH_N=$n BENCH_PROFILE=$case valgrind --tool=callgrind --fair-sched=yes \
      --callgrind-out-file="$out/$bench.$case.$n" "$bin" --bench >/dev/null 2>&1
  done
  # awk reads the whole listing (an early exit would fail the pipe under pipefail).
  total() { callgrind_annotate "$1" 2>/dev/null | awk '/PROGRAM TOTALS/ && !done {gsub(",","",$1); print $1; done=1}'; }
  a=$(total "$out/$bench.$case.1000"); b=$(total "$out/$bench.$case.3000")
  echo "$bench $case $(( (b - a) / 2000 ))"
done
echo "(callgrind files in $out)" >&2
