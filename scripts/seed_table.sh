#!/usr/bin/env bash
# The seed report's six categories: criterion medians of benches/seed.rs beside the
# CPython timings of the same algorithms (benches/seed_py/seed.py) and the speedups
# the seed report claimed, with Lua 5.4's and LuaJIT's interpreter on the same
# algorithms (benches/seed_lua/seed.lua) when they are installed. Prints the
# markdown section; scripts/compare.sh puts it into docs/performance.md.
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
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
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
# Peers, timed only when installed (scripts/compare.sh installs them).
rm -f "$DIR/lua5.4.tsv" "$DIR/luajit-joff.tsv"
if command -v lua5.4 >/dev/null 2>&1; then
    echo "-- Lua 5.4: lua5.4 benches/seed_lua/seed.lua" >&2
    lua5.4 benches/seed_lua/seed.lua > "$DIR/lua5.4.tsv"
else
    echo "!! SKIPPING Lua 5.4 in the seed table: lua5.4 is not installed" >&2
fi
if command -v luajit >/dev/null 2>&1; then
    echo "-- LuaJIT: luajit -joff benches/seed_lua/seed.lua" >&2
    luajit -joff benches/seed_lua/seed.lua > "$DIR/luajit-joff.tsv"
else
    echo "!! SKIPPING LuaJIT in the seed table: luajit is not installed" >&2
fi
"$PYTHON" scripts/perf_report.py criterion "${CARGO_TARGET_DIR:-target}/criterion" > "$DIR/criterion.tsv"
"$PYTHON" scripts/perf_report.py seed "$DIR"
