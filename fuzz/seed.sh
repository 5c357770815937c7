#!/usr/bin/env bash
# Seeds the fuzz corpus with every golden program compiled, plain and stripped.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet
mkdir -p fuzz/corpus/load
n=0
for f in $(find tests/vela examples -name '*.vela' | sort); do
  out="fuzz/corpus/load/$(echo "$f" | tr / _)"
  if target/debug/vela compile "$f" -o "$out.velac" 2>/dev/null; then
    target/debug/vela compile --strip "$f" -o "$out.s.velac"
    n=$((n + 1))
  fi
done
echo "seeded $n programs into fuzz/corpus/load"
