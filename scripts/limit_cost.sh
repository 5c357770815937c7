#!/usr/bin/env bash
# The cost of the limit checks: callgrind instruction counts of every
# benches/programs/*.vela under the release build, with no limits and with every
# limit set (high enough never to be hit). Prints a Markdown table.
#
# The checks run whether or not a limit is set (an unset limit is a maximal one), so
# the two counts differ only by the set-up of the limits. With BASELINE=PATH (a
# `vela` binary built from a commit before the limits existed, e.g. 744e316) a
# column compares the unlimited run with that build too.
#
# Usage: [BASELINE=path/to/vela] scripts/limit_cost.sh [NAME...]   (default: all)
# Needs valgrind. Instruction counts do not depend on machine load.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
VELA=target/release/vela
LIMITS=(--max-instructions 1000000000000 --max-memory 16G --timeout 1h)

count() {
  local bin=$1 log
  shift
  log=$(mktemp)
  if ! valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" run "$@" >/dev/null 2>"$log"; then
    echo "failed: $bin run $*" >&2
    cat "$log" >&2
    exit 1
  fi
  sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$log"
  rm -f "$log"
}

pct() {
  python3 -c "print(f'{($2 - $1) / $1 * 100:+.2f}%')"
}

names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for f in benches/programs/*.vela; do names+=("$(basename "$f" .vela)"); done
fi
if [ -n "${BASELINE:-}" ]; then
  echo "| program | before limits (Ir) | no limits (Ir) | all limits (Ir) | limits set vs. unset | vs. before limits |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: |"
else
  echo "| program | no limits (Ir) | all limits (Ir) | difference |"
  echo "| --- | ---: | ---: | ---: |"
fi
for name in "${names[@]}"; do
  f=benches/programs/$name.vela
  plain=$(count "$VELA" "$f")
  limited=$(count "$VELA" "${LIMITS[@]}" "$f")
  if [ -n "${BASELINE:-}" ]; then
    base=$(count "$BASELINE" "$f")
    echo "| $name | $base | $plain | $limited | $(pct "$plain" "$limited") | $(pct "$base" "$limited") |"
  else
    echo "| $name | $plain | $limited | $(pct "$plain" "$limited") |"
  fi
done
