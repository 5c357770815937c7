#!/usr/bin/env bash
# Cross-language comparison: runs every benches/programs/NAME.{vela,py,lua} under
# vela (release build), CPython (/usr/bin/python3.11), Lua 5.4 and LuaJIT's
# interpreter (luajit -joff); checks that every checksum agrees; measures median wall
# time, peak RSS and start-up; runs the seed report's categories (criterion against
# CPython, scripts/seed_table.sh); and writes docs/performance.md.
#
# Usage: scripts/compare.sh [--runs N] [--passes P] [--skip-seed] [--only NAME]... [--out FILE]
#   --runs N     timed runs per command in each pass (default 2)
#   --passes P   passes over the programs; each pass rotates the order of the peers so
#                that samples of different languages interleave in time (default 3)
#   --skip-seed  do not run the criterion seed benches (the section says so)
#   --only NAME  only this program (repeatable); the document then covers only these
#   --out FILE   where to write the report (default docs/performance.md)
# Missing peers are installed with apt-get when possible (root, apt available),
# otherwise skipped with a message. A checksum mismatch stops the script (exit 1).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

RUNS=2
PASSES=3
SKIP_SEED=0
ONLY=()
OUT=docs/performance.md
ARGS_TEXT="$*"
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) RUNS=$2; shift 2 ;;
        --passes) PASSES=$2; shift 2 ;;
        --skip-seed) SKIP_SEED=1; shift ;;
        --only) ONLY+=("$2"); shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
        *) echo "unknown option: $1" >&2; exit 2 ;;
    esac
done

WORK=$ROOT/target/compare
rm -rf "$WORK"
mkdir -p "$WORK/samples" "$WORK/rss" "$WORK/out"
START_TIME=$(date +%s)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

say() { printf '\n== %s\n' "$*" >&2; }

# ---------------------------------------------------------------- peers
APT_UPDATED=0
can_apt() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }
apt_install() {
    local pkg=$1
    can_apt || return 1
    if [ $APT_UPDATED = 0 ]; then
        if ! ls /var/lib/apt/lists/*_Packages >/dev/null 2>&1; then
            DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || true
            APT_UPDATED=1
        fi
    fi
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >&2; then
        [ $APT_UPDATED = 1 ] && return 1
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || return 1
        APT_UPDATED=1
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >&2 || return 1
    fi
}
# ensure COMMAND PACKAGE: true when COMMAND exists (installing PACKAGE if needed)
ensure() {
    local cmd=$1 pkg=$2
    [ -x "$cmd" ] || command -v "$cmd" >/dev/null 2>&1 && return 0
    echo "-- $cmd not found; installing Debian package $pkg" >&2
    if apt_install "$pkg" && { [ -x "$cmd" ] || command -v "$cmd" >/dev/null 2>&1; }; then
        return 0
    fi
    echo "!! SKIPPING $cmd: not installed and cannot install $pkg (need root and apt-get)" >&2
    return 1
}

say "building vela (cargo build --release)"
cargo build --release --quiet
VELA=$ROOT/target/release/vela

# Peer table: name | command prefix | file extension
PEER_NAMES=(vela)
PEER_CMDS=("$VELA run")
PEER_EXTS=(vela)
if [ -x /usr/bin/python3.11 ]; then
    PY=/usr/bin/python3.11
elif command -v python3 >/dev/null 2>&1; then
    PY=$(command -v python3)
    echo "!! /usr/bin/python3.11 not found; using $PY (a pyenv shim adds start-up time)" >&2
else
    PY=""
    echo "!! SKIPPING CPython: no python3" >&2
fi
if [ -n "$PY" ]; then
    PEER_NAMES+=(cpython); PEER_CMDS+=("$PY"); PEER_EXTS+=(py)
fi
if ensure lua5.4 lua5.4; then
    PEER_NAMES+=(lua5.4); PEER_CMDS+=("lua5.4"); PEER_EXTS+=(lua)
fi
if ensure luajit luajit; then
    PEER_NAMES+=(luajit-joff); PEER_CMDS+=("luajit -joff"); PEER_EXTS+=(lua)
fi
HAVE_HYPERFINE=0
ensure hyperfine hyperfine && HAVE_HYPERFINE=1
# NO_HYPERFINE=1 forces the shell timing loop (to test it)
[ -z "${NO_HYPERFINE:-}" ] || HAVE_HYPERFINE=0
HAVE_TIME=0
ensure /usr/bin/time time && HAVE_TIME=1
[ $HAVE_HYPERFINE = 1 ] || echo "-- timing with a shell loop instead of hyperfine" >&2
[ $HAVE_TIME = 1 ] || echo "!! SKIPPING peak RSS: no /usr/bin/time" >&2
# The report needs a Python to render; any python3 will do.
REPORT_PY=${PY:-$(command -v python3 || true)}
[ -n "$REPORT_PY" ] || { echo "error: a python3 is needed to write the report" >&2; exit 1; }

NPEERS=${#PEER_NAMES[@]}

# ---------------------------------------------------------------- programs
PROGRAMS=()
for f in benches/programs/*.vela; do
    name=$(basename "$f" .vela)
    if [ ${#ONLY[@]} -gt 0 ]; then
        keep=0
        for o in "${ONLY[@]}"; do [ "$o" = "$name" ] && keep=1; done
        [ $keep = 1 ] || continue
    fi
    PROGRAMS+=("$name")
done
[ ${#PROGRAMS[@]} -gt 0 ] || { echo "error: no programs selected" >&2; exit 2; }

# ---------------------------------------------------------------- checksums
say "checking checksums (${#PROGRAMS[@]} programs x $NPEERS peers)"
FAIL=0
: > "$WORK/checksums.tsv"
for prog in "${PROGRAMS[@]}"; do
    ref=""
    for i in $(seq 0 $((NPEERS - 1))); do
        file=benches/programs/$prog.${PEER_EXTS[$i]}
        if [ ! -f "$file" ]; then
            echo "!! $prog: no $file" >&2
            FAIL=1
            continue
        fi
        outf=$WORK/out/$prog.${PEER_NAMES[$i]}
        rc=0
        ${PEER_CMDS[$i]} "$file" > "$outf" 2> "$outf.err" || rc=$?
        if [ $rc != 0 ]; then
            echo "!!!!!! $prog under ${PEER_NAMES[$i]} FAILED (exit status $rc):" >&2
            cat "$outf.err" >&2
            FAIL=1
            continue
        fi
        lines=$(wc -l < "$outf")
        sum=$(head -n 1 "$outf")
        if [ "$lines" != 1 ] || [ -z "$sum" ]; then
            echo "!!!!!! $prog under ${PEER_NAMES[$i]} printed $lines lines, expected one checksum line" >&2
            FAIL=1
            continue
        fi
        printf '%s\t%s\t%s\n' "$prog" "${PEER_NAMES[$i]}" "$sum" >> "$WORK/checksums.tsv"
        if [ -z "$ref" ]; then
            ref=$sum
        elif [ "$sum" != "$ref" ]; then
            echo "!!!!!! CHECKSUM MISMATCH in $prog: ${PEER_NAMES[$i]} printed '$sum', ${PEER_NAMES[0]} printed '$ref'" >&2
            FAIL=1
        fi
    done
    printf '   %-16s %s\n' "$prog" "$ref" >&2
done
if [ $FAIL != 0 ]; then
    echo "" >&2
    echo "!!!!!! COMPARISON FAILED: checksums disagree or a program failed; no report written" >&2
    exit 1
fi

# ---------------------------------------------------------------- timing
# time_cmds KEY RUNS WARMUP CMD...: appends wall times (seconds) of each command to
# $WORK/samples/KEY.<index>, where <index> is the command's position in CMD...
time_cmds() {
    local key=$1 runs=$2 warmup=$3
    shift 3
    if [ $HAVE_HYPERFINE = 1 ]; then
        local json=$WORK/hf.json
        hyperfine -N --style none --warmup "$warmup" --runs "$runs" \
            --export-json "$json" "$@" > /dev/null
        "$REPORT_PY" - "$json" "$WORK/samples/$key" <<'PYEOF'
import json, sys
data = json.load(open(sys.argv[1]))
for i, r in enumerate(data["results"]):
    with open(f"{sys.argv[2]}.{i}", "a") as f:
        f.writelines(f"{t}\n" for t in r["times"])
PYEOF
    else
        local i=0 c r s e
        for c in "$@"; do
            for r in $(seq 1 "$warmup"); do $c > /dev/null; done
            for r in $(seq 1 "$runs"); do
                s=$(date +%s%N)
                $c > /dev/null
                e=$(date +%s%N)
                echo "$(( e - s ))e-9" >> "$WORK/samples/$key.$i"
            done
            i=$((i + 1))
        done
    fi
}

say "timing: $PASSES passes x $RUNS runs per command"
for pass in $(seq 1 "$PASSES"); do
    for prog in "${PROGRAMS[@]}"; do
        printf '   pass %s/%s %s\n' "$pass" "$PASSES" "$prog" >&2
        # rotate the peers' order each pass
        cmds=()
        order=()
        for j in $(seq 0 $((NPEERS - 1))); do
            i=$(( (j + pass - 1) % NPEERS ))
            order+=("$i")
            cmds+=("${PEER_CMDS[$i]} benches/programs/$prog.${PEER_EXTS[$i]}")
        done
        time_cmds "tmp" "$RUNS" 0 "${cmds[@]}"
        for j in $(seq 0 $((NPEERS - 1))); do
            i=${order[$j]}
            cat "$WORK/samples/tmp.$j" >> "$WORK/samples/$prog.${PEER_NAMES[$i]}"
            rm -f "$WORK/samples/tmp.$j"
        done
    done
done

# ---------------------------------------------------------------- peak RSS
if [ $HAVE_TIME = 1 ]; then
    say "peak RSS"
    for prog in "${PROGRAMS[@]}"; do
        for i in $(seq 0 $((NPEERS - 1))); do
            /usr/bin/time -f %M -o "$WORK/rss/$prog.${PEER_NAMES[$i]}" \
                ${PEER_CMDS[$i]} "benches/programs/$prog.${PEER_EXTS[$i]}" > /dev/null
        done
    done
fi

# ---------------------------------------------------------------- start-up
say "start-up: print(\"hi\")"
echo 'print("hi")' > "$WORK/hi.vela"
echo 'print("hi")' > "$WORK/hi.py"
echo 'print("hi")' > "$WORK/hi.lua"
cmds=()
for i in $(seq 0 $((NPEERS - 1))); do
    cmds+=("${PEER_CMDS[$i]} $WORK/hi.${PEER_EXTS[$i]}")
done
time_cmds "startup" 30 3 "${cmds[@]}"
for i in $(seq 0 $((NPEERS - 1))); do
    mv "$WORK/samples/startup.$i" "$WORK/samples/_startup.${PEER_NAMES[$i]}"
    if [ $HAVE_TIME = 1 ]; then
        /usr/bin/time -f %M -o "$WORK/rss/_startup.${PEER_NAMES[$i]}" \
            ${PEER_CMDS[$i]} "$WORK/hi.${PEER_EXTS[$i]}" > /dev/null
    fi
done

# ---------------------------------------------------------------- seed categories
if [ $SKIP_SEED = 0 ]; then
    say "seed categories: criterion (cargo bench --bench seed) and CPython"
    mkdir -p "$WORK/seed"
    PYTHON=$PY scripts/seed_table.sh --raw "$WORK/seed" > "$WORK/seed/section.md"
fi

# ---------------------------------------------------------------- machine and versions
say "writing $OUT"
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
{
    echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "duration_s=$(( $(date +%s) - START_TIME ))"
    echo "nproc=$(nproc)"
    echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "mem=$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
    echo "kernel=$(uname -sr)"
    echo "load_before=$LOAD_BEFORE"
    echo "load_after=$LOAD_AFTER"
    echo "runs=$RUNS"
    echo "passes=$PASSES"
    echo "hyperfine=$([ $HAVE_HYPERFINE = 1 ] && hyperfine --version || echo 'not installed (shell timing loop)')"
    echo "rustc=$(rustc --version)"
    echo "commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
    echo "args=$ARGS_TEXT"
    echo "profile=$(awk '/^\[profile.release\]/ {on=1; next} /^\[/ {on=0} on && NF {printf "%s%s", sep, $0; sep="; "}' Cargo.toml)"
    for i in $(seq 0 $((NPEERS - 1))); do
        case ${PEER_NAMES[$i]} in
            vela) v="$($VELA --version)" ;;
            cpython) v="$($PY --version 2>&1) ($PY)" ;;
            lua5.4) v="$(lua5.4 -v 2>&1 | head -n 1 | cut -d" " -f1-2)" ;;
            luajit-joff) v="$(luajit -v 2>&1 | head -n 1 | cut -d" " -f1-2) (interpreter only: -joff)" ;;
        esac
        echo "version.${PEER_NAMES[$i]}=$v"
    done
    echo "peers=${PEER_NAMES[*]}"
    echo "programs=${PROGRAMS[*]}"
} > "$WORK/meta.env"

"$REPORT_PY" scripts/perf_report.py report "$WORK" > "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "" >&2
sed -n '/^## Results/,/^## Start-up/p' "$OUT" >&2
echo "wrote $OUT ($(( $(date +%s) - START_TIME )) s)" >&2
