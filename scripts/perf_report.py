"""Renders docs/performance.md from the raw numbers scripts/compare.sh collects.

    perf_report.py criterion DIR   criterion medians under DIR (target/criterion) as TSV
    perf_report.py seed DIR        the seed-category section from DIR/{criterion,python}.tsv
                                   (and DIR/{lua5.4,luajit-joff}.tsv when they exist)
    perf_report.py report WORK     the whole document from WORK (target/compare)

Nothing here measures anything; every number comes from the files compare.sh wrote.
"""

import json
import math
import os
import statistics
import sys

PEER_TITLES = {
    "vela": "vela",
    "cpython": "CPython",
    "lua5.4": "Lua 5.4",
    "luajit-joff": "LuaJIT -joff",
}

# The seed report's claimed speedups over CPython, per category.
SEED_CLAIMS = [
    ("arithmetic", "operations", 5.4),
    ("fibonacci", "n, iterative", 4.2),
    ("local_variables", "variables", 4.0),
    ("global_variables", "variables", 3.5),
    ("stack_operations", "depth", 7.7),
    ("control_flow", "iterations", 5.7),
]

# Targets of issue 7, checked in the report.
LUA_GEOMEAN_TARGET = 0.8
STARTUP_TARGET = 2.0
RSS_TARGET = 1.5


def geomean(xs):
    xs = [x for x in xs if x and x > 0]
    if not xs:
        return None
    return math.exp(sum(math.log(x) for x in xs) / len(xs))


def fmt_ms(seconds):
    if seconds is None:
        return "–"
    ms = seconds * 1000
    if ms >= 100:
        return f"{ms:.0f}"
    if ms >= 10:
        return f"{ms:.1f}"
    return f"{ms:.2f}"


def fmt_ratio(r):
    return "–" if r is None else f"{r:.2f}"


def fmt_ns(ns):
    if ns is None:
        return "–"
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns:.0f} ns"


def read_tsv(path):
    rows = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.rstrip("\n")
                if line:
                    rows.append(line.split("\t"))
    return rows


# ------------------------------------------------------------------ criterion


def criterion(root):
    """Prints `group/param  median_ns` for every criterion benchmark under root."""
    out = []
    for dirpath, _dirs, files in os.walk(root):
        if os.path.basename(dirpath) != "new" or "estimates.json" not in files:
            continue
        try:
            with open(os.path.join(dirpath, "benchmark.json")) as f:
                bench = json.load(f)
            with open(os.path.join(dirpath, "estimates.json")) as f:
                est = json.load(f)
        except (OSError, ValueError):
            continue
        out.append((bench["full_id"], est["median"]["point_estimate"]))
    for name, ns in sorted(out):
        print(f"{name}\t{ns:.1f}")


# ------------------------------------------------------------------ seed section


# Interpreters timed on the same seed algorithms (benches/seed_lua/seed.lua), when
# scripts/seed_table.sh found them: (file in the raw directory, column title).
SEED_PEERS = [("lua5.4.tsv", "Lua 5.4"), ("luajit-joff.tsv", "LuaJIT -joff")]


def seed_section(d):
    def times(name):
        return {r[0]: float(r[1]) for r in read_tsv(os.path.join(d, name))}

    vela = times("criterion.tsv")
    py = times("python.tsv")
    peers = [(title, times(f)) for f, title in SEED_PEERS if os.path.exists(os.path.join(d, f))]
    # Each peer must have computed what CPython did (the third column), as the
    # programs' checksums must agree before compare.sh times them.
    py_results = {r[0]: r[2] for r in read_tsv(os.path.join(d, "python.tsv")) if len(r) > 2}
    for f, title in SEED_PEERS:
        for r in read_tsv(os.path.join(d, f)):
            want = py_results.get(r[0])
            if want is not None and (len(r) < 3 or r[2] != want):
                got = r[2] if len(r) > 2 else "nothing"
                sys.exit(f"{title} computed {got} for {r[0]}, CPython {want}: not the same algorithm")
    pyver = ""
    vpath = os.path.join(d, "python.version")
    if os.path.exists(vpath):
        pyver = open(vpath).read().strip()
    intro = (
        "Criterion medians of `cargo bench --bench seed` (benches/seed.rs: each category is Vela "
        "source compiled once, the timed loop calls the compiled function) beside the same "
        f"algorithms timed in-process under {pyver or 'CPython'} with `timeit` "
        "(benches/seed_py/seed.py, median of 7 repeats). Speedup = CPython time / Vela time; "
        "the category's speedup is the geometric mean over its three parameters, compared with "
        "the speedup the seed report claimed. `stack_operations_bytecode` is the stack "
        "benchmark assembled with the bytecode builder (PUSH/POP on the virtual stack), compared "
        "with the same CPython list push/pop."
    )
    if peers:
        intro += (
            " " + " and ".join(t for t, _ in peers) + " run the same algorithms too "
            "(benches/seed_lua/seed.lua, timed in-process with `os.clock`, median of 7 repeats): "
            "their speedups over CPython show what another interpreter gets on each category."
        )
    peer_cols = "".join(f" {t} |" for t, _ in peers)
    lines = [
        "## The seed report's categories",
        "",
        intro,
        "",
        f"| benchmark | parameter | vela (criterion median) | CPython |{peer_cols} vela's speedup over CPython |",
        "|---|---|---:|---:|" + "---:|" * len(peers) + "---:|",
    ]
    summary = []
    peer_summary = []
    groups = SEED_CLAIMS + [("stack_operations_bytecode", "depth", 7.7)]
    for group, what, claim in groups:
        bytecode = group == "stack_operations_bytecode"
        pygroup = "stack_operations" if bytecode else group
        params = sorted(
            {k.split("/", 1)[1] for k in vela if k.split("/", 1)[0] == group}
            | {k.split("/", 1)[1] for k in py if k.split("/", 1)[0] == pygroup},
            key=lambda p: int(p) if p.isdigit() else p,
        )
        speedups = []
        peer_speedups = [[] for _ in peers]
        for p in params:
            v = vela.get(f"{group}/{p}")
            c = py.get(f"{pygroup}/{p}")
            s = c / v if v and c else None
            if s:
                speedups.append(s)
            cells = ""
            for k, (_, t) in enumerate(peers):
                # (The bytecode variant has no counterpart in Lua.)
                pt = None if bytecode else t.get(f"{group}/{p}")
                if pt and c:
                    peer_speedups[k].append(c / pt)
                cells += f" {fmt_ns(pt)} |"
            lines.append(
                f"| {group} | {p} ({what}) | {fmt_ns(v)} | {fmt_ns(c)} |{cells} "
                f"{'–' if s is None else f'{s:.2f}x'} |"
            )
        complete = bool(params)
        g = geomean(speedups) if complete and len(speedups) == len(params) else None
        summary.append((group, claim, g))
        peer_summary.append(
            [geomean(ps) if complete and len(ps) == len(params) else None for ps in peer_speedups]
        )
    peer_cols = "".join(f" {t} over CPython |" for t, _ in peers)
    lines += [
        "",
        f"| category | claimed speedup over CPython | vela (geomean) | met? |{peer_cols}",
        "|---|---:|---:|---|" + "---:|" * len(peers),
    ]
    for (group, claim, g), pg in zip(summary, peer_summary):
        met = "–" if g is None else ("yes" if g >= claim else "no")
        cells = "".join(f" {'–' if x is None else f'{x:.2f}x'} |" for x in pg)
        lines.append(
            f"| {group} | ≥ {claim}x | {'–' if g is None else f'{g:.2f}x'} | {met} |{cells}"
        )
    return lines, summary


# ------------------------------------------------------------------ report


def read_meta(work):
    meta = {}
    with open(os.path.join(work, "meta.env")) as f:
        for line in f:
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                meta[k] = v
    return meta


def samples(work, key):
    path = os.path.join(work, "samples", key)
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [float(x) for x in f.read().split()]


def rss_kb(work, key):
    path = os.path.join(work, "rss", key)
    if not os.path.exists(path):
        return None
    try:
        return int(open(path).read().split()[-1])
    except (ValueError, IndexError):
        return None


def fmt_mib(kb):
    return "–" if kb is None else f"{kb / 1024:.1f}"


def first_comment(path):
    """The first sentence of the comment the program starts with."""
    words = []
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line.startswith("//"):
                    break
                words.append(line.lstrip("/").strip())
    except OSError:
        return ""
    text = " ".join(words)
    end = text.find(". ")
    return text if end < 0 else text[: end + 1]


def report(work):
    meta = read_meta(work)
    peers = meta["peers"].split()
    programs = meta["programs"].split()
    checks = {(r[0], r[1]): r[2] for r in read_tsv(os.path.join(work, "checksums.tsv"))}
    has = {p: p in peers for p in PEER_TITLES}
    out = []
    w = out.append

    w("# Vela performance")
    w("")
    w(
        f"Generated by `scripts/compare.sh` on {meta['date']} at commit {meta['commit']} "
        f"(took {meta['duration_s']} s). Do not edit the numbers by hand: rerun the script."
    )
    w("")
    w(
        "Every program in `benches/programs/` exists as NAME.vela, NAME.py and NAME.lua: the "
        "same algorithm written idiomatically in each language, printing one checksum line. "
        "The script checks that every peer printed the same checksum before timing anything."
    )
    w("")

    # ---- results
    nsamp = int(meta["passes"]) * int(meta["runs"])
    w("## Results")
    w("")
    w(
        f"Median wall time of the whole process in ms ({nsamp} samples per command: "
        f"{meta['passes']} passes × {meta['runs']} runs, the peers' order rotated each pass so "
        "their samples interleave in time; timed with "
        f"{'hyperfine' if 'not installed' not in meta['hyperfine'] else 'a shell loop'}). "
        "Ratios are vela's median over the peer's: below 1.00 Vela is faster. `noise` is the "
        "largest (max − min) / median among the row's commands."
    )
    w("")
    cols = [p for p in ["vela", "cpython", "lua5.4", "luajit-joff"] if has[p]]
    head = "| program | checksum | " + " | ".join(PEER_TITLES[p] for p in cols)
    head += " | vela/CPython | vela/Lua 5.4 | noise |"
    w(head)
    w("|---|---:|" + "---:|" * len(cols) + "---:|---:|---:|")
    ratios_py, ratios_lua = [], []
    medians = {}
    for prog in programs:
        cells = []
        noise = 0.0
        for p in cols:
            s = samples(work, f"{prog}.{p}")
            m = statistics.median(s) if s else None
            medians[(prog, p)] = m
            if s and m:
                noise = max(noise, (max(s) - min(s)) / m)
            cells.append(fmt_ms(m))
        v = medians.get((prog, "vela"))
        rp = v / medians[(prog, "cpython")] if has["cpython"] and medians.get((prog, "cpython")) else None
        rl = v / medians[(prog, "lua5.4")] if has["lua5.4"] and medians.get((prog, "lua5.4")) else None
        if rp:
            ratios_py.append(rp)
        if rl:
            ratios_lua.append(rl)
        w(
            f"| {prog} | {checks.get((prog, 'vela'), '?')} | " + " | ".join(cells)
            + f" | {fmt_ratio(rp)} | {fmt_ratio(rl)} | {noise * 100:.0f}% |"
        )
    gp, gl = geomean(ratios_py), geomean(ratios_lua)
    w(
        "| **geometric mean** | | " + " | ".join("" for _ in cols)
        + f" | **{fmt_ratio(gp)}** | **{fmt_ratio(gl)}** | |"
    )
    w("")

    # ---- RSS
    w("## Peak memory")
    w("")
    w("Peak resident set size in MiB (`/usr/bin/time -f %M`, one run each).")
    w("")
    w("| program | " + " | ".join(PEER_TITLES[p] for p in cols) + " | vela/Lua 5.4 |")
    w("|---|" + "---:|" * len(cols) + "---:|")
    rss_ratios = {}
    for prog in programs:
        vals = {p: rss_kb(work, f"{prog}.{p}") for p in cols}
        r = vals["vela"] / vals["lua5.4"] if has["lua5.4"] and vals.get("vela") and vals.get("lua5.4") else None
        rss_ratios[prog] = r
        w(f"| {prog} | " + " | ".join(fmt_mib(vals[p]) for p in cols) + f" | {fmt_ratio(r)} |")
    w("")

    # ---- start-up
    w("## Start-up")
    w("")
    w(
        "A one-line script `print(\"hi\")` run as a whole process: median of 30 runs after 3 "
        "warm-up runs, and its peak RSS."
    )
    w("")
    w("| | " + " | ".join(PEER_TITLES[p] for p in cols) + " |")
    w("|---|" + "---:|" * len(cols))
    st = {}
    for p in cols:
        s = samples(work, f"_startup.{p}")
        st[p] = statistics.median(s) if s else None
    w("| median time (ms) | " + " | ".join(fmt_ms(st[p]) for p in cols) + " |")
    w(
        "| peak RSS (MiB) | "
        + " | ".join(fmt_mib(rss_kb(work, f"_startup.{p}")) for p in cols)
        + " |"
    )
    w("")

    # ---- seed
    seed_dir = os.path.join(work, "seed")
    seed_summary = None
    if os.path.exists(os.path.join(seed_dir, "criterion.tsv")):
        lines, seed_summary = seed_section(seed_dir)
        out.extend(lines)
    else:
        w("## The seed report's categories")
        w("")
        w("Not run this time (`--skip-seed`); run `scripts/seed_table.sh` or the full script.")
    w("")

    # ---- targets
    w("## Against the targets of issue 7")
    w("")
    if has["lua5.4"]:
        slower = [p for p in programs if medians.get((p, "vela")) and medians.get((p, "lua5.4"))
                  and medians[(p, "vela")] > medians[(p, "lua5.4")]]
        w(
            f"- Vela's median ≤ Lua 5.4's on every program: "
            f"{len(programs) - len(slower)} of {len(programs)}"
            + (f" (slower on: {', '.join(slower)})" if slower else "")
        )
        w(f"- geometric mean of vela/Lua 5.4 ≤ {LUA_GEOMEAN_TARGET}: {fmt_ratio(gl)}")
        if st.get("vela") and st.get("lua5.4"):
            w(
                f"- start-up within {STARTUP_TARGET:g}x of Lua 5.4's: "
                f"{st['vela'] / st['lua5.4']:.2f}x"
            )
        over = [p for p, r in rss_ratios.items() if r is not None and r > RSS_TARGET]
        w(
            f"- peak RSS within {RSS_TARGET:g}x of Lua 5.4's: "
            f"{len([r for r in rss_ratios.values() if r is not None]) - len(over)} of "
            f"{len(programs)} programs" + (f" (over on: {', '.join(over)})" if over else "")
        )
    else:
        w("- Lua 5.4 was not available: the Lua targets could not be checked.")
    if seed_summary:
        categories = {g for g, _, _ in SEED_CLAIMS}
        seed_summary = [row for row in seed_summary if row[0] in categories]
        unmet = [g for g, c, m in seed_summary if m is None or m < c]
        w(
            f"- seed speedups over CPython met: {len(seed_summary) - len(unmet)} of "
            f"{len(seed_summary)}" + (f" (not met: {', '.join(unmet)})" if unmet else "")
        )
    w("")

    # ---- programs
    w("## Programs")
    w("")
    w("| program | what it exercises |")
    w("|---|---|")
    for prog in programs:
        w(f"| {prog} | {first_comment(os.path.join('benches', 'programs', prog + '.vela'))} |")
    w("")

    # ---- machine
    w("## Machine and versions")
    w("")
    w(f"- CPU: {meta['cpu']}, {meta['nproc']} cores (`nproc`); memory {meta['mem']}; {meta['kernel']}")
    w(
        f"- load average (1, 5, 15 min) before the run: {meta['load_before']}; after: "
        f"{meta['load_after']} — on a shared machine the medians carry that noise"
    )
    for p in cols:
        w(f"- {PEER_TITLES[p]}: {meta.get('version.' + p, '?')}")
    w(f"- {meta['rustc']}; timing: {meta['hyperfine']}")
    w(f"- build profile: `cargo build --release` with `{meta['profile']}`")
    w("")
    w("## How to regenerate")
    w("")
    w("```sh")
    w("scripts/compare.sh            # build, check checksums, time, write this file (< 10 min)")
    w("scripts/compare.sh --runs 3 --passes 3 --skip-seed --only nbody   # a quicker, partial run")
    w("scripts/seed_table.sh         # only the seed-category section, printed")
    w("cargo bench                   # all criterion benches (seed categories and workloads)")
    w("```")
    if meta.get("args"):
        w("")
        w(f"This file was produced with `scripts/compare.sh {meta['args']}`.")
    return "\n".join(out) + "\n"


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("criterion", "seed", "report"):
        sys.exit(__doc__)
    cmd, arg = sys.argv[1], sys.argv[2]
    if cmd == "criterion":
        criterion(arg)
    elif cmd == "seed":
        lines, _ = seed_section(arg)
        print("\n".join(lines))
    else:
        sys.stdout.write(report(arg))


if __name__ == "__main__":
    main()
