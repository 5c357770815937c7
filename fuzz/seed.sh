#!/usr/bin/env bash
# Seeds the fuzz corpora: `load` and `bytecode` get every golden program compiled,
# plain and stripped; `source` gets the programs' source.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet
mkdir -p fuzz/corpus/load fuzz/corpus/bytecode fuzz/corpus/source
n=0
for f in $(find tests/vela examples benches/programs -name '*.vela' | sort); do
  name="$(echo "$f" | tr / _)"
  cp "$f" "fuzz/corpus/source/$name"
  if target/debug/vela compile "$f" -o "fuzz/corpus/load/$name.velac" 2>/dev/null; then
    target/debug/vela compile --strip "$f" -o "fuzz/corpus/load/$name.s.velac"
    cp "fuzz/corpus/load/$name.velac" "fuzz/corpus/load/$name.s.velac" fuzz/corpus/bytecode/
    n=$((n + 1))
  fi
done
echo "seeded $n programs into fuzz/corpus/{load,bytecode,source}"
