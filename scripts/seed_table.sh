#!/usr/bin/env bash
# The seed report's six categories: criterion medians of benches/seed.rs beside the
# CPython timings of the same algorithms (benches/seed_py/seed.py) and the speedups
# the seed report claimed. Prints the markdown section; scripts/compare.sh puts it
# into docs/performance.md.
#
# Usage: scripts/seed_table.sh [--no-bench] [--raw DIR]
#   --no-bench  reuse the criterion results already in target/criterion
#   --raw DIR   where the raw numbers go (default target/compare/seed)
# PYTHON overrides the interpreter (default /usr/bin/python3.11, else python3).
set -euo pipefail
cd "$(dirname "$0")/.."

NO_BENCH=0
DIR=target/compare/seed
while [ $# -gt 0 ]; do
    case "$1" in
        --no-bench) NO_BENCH=1; shift ;;
        --raw) DIR=$2; shift 2 ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
        *) echo "unknown option: $1" >&2; exit 2 ;;
    esac
done
if [ -z "${PYTHON:-}" ]; then
    if [ -x /usr/bin/python3.11 ]; then PYTHON=/usr/bin/python3.11; else PYTHON=python3; fi
fi
mkdir -p "$DIR"

if [ $NO_BENCH = 0 ]; then
    echo "-- cargo bench --bench seed (log: $DIR/cargo-bench.log)" >&2
    if ! cargo bench --bench seed > "$DIR/cargo-bench.log" 2>&1; then
        tail -n 40 "$DIR/cargo-bench.log" >&2
        echo "error: cargo bench --bench seed failed" >&2
        exit 1
    fi
fi
echo "-- CPython: $PYTHON benches/seed_py/seed.py" >&2
"$PYTHON" benches/seed_py/seed.py > "$DIR/python.tsv"
"$PYTHON" --version > "$DIR/python.version" 2>&1
"$PYTHON" scripts/perf_report.py criterion "${CARGO_TARGET_DIR:-target}/criterion" > "$DIR/criterion.tsv"
"$PYTHON" scripts/perf_report.py seed "$DIR"
