//! Garbage-collector tests, run against the `vela` binary:
//!
//! - `stress_mode_matches_normal_run`: every program under `tests/vela/gc/` and
//!   `tests/vela/programs2/` gives the same stdout, stderr and exit code with
//!   `VELA_GC_STRESS=1` (a collection at every allocating instruction) as without it,
//!   so a missed GC root shows up as a difference.
//! - `churn_peak_rss_under_64_mib`: `tests/programs/gc_churn.vela` (small cyclic list/map
//!   pairs made and dropped in a loop) stays under 64 MiB peak RSS.
//! - `drop_and_rebuild_memory_bounded`: `tests/programs/gc_rebuild.vela` (a 1M-element
//!   structure built, dropped and rebuilt) has a peak RSS that does not grow with the
//!   number of rounds and stays within a small multiple of one structure's peak.
//! - `deep_structure_marked_without_recursion`: `tests/programs/gc_deep.vela` (a list
//!   nested 1,000,000 deep) survives collections and is dropped without a crash.
//! - `deep_recursion_frames_are_roots`: `tests/programs/gc_deep_recursion.vela` (100,000
//!   nested calls holding lists and maps) keeps every frame's objects alive.
//!
//! The memory tests use `target/release/vela` when it exists and is newer than the
//! sources, otherwise the debug binary built for this test (with a smaller churn count,
//! to keep the test fast). Peak RSS is read from `/usr/bin/time -v` when available,
//! otherwise by polling `/proc/PID/status` (VmHWM); without either they are skipped.
//! Uses only std.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, SystemTime};

const STRESS_DIRS: &[&str] = &["tests/vela/gc", "tests/vela/programs2"];
const TIMEOUT: Duration = Duration::from_secs(120);
const MIB: u64 = 1024 * 1024;
const CHURN_LIMIT: u64 = 64 * MIB;

fn crate_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn debug_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_vela"))
}

/// What one run of a program produced.
#[derive(Debug, PartialEq, Eq)]
struct Run {
    stdout: String,
    stderr: String,
    code: Option<i32>,
}

/// Spawns `cmd` from the crate root and waits for it (failing the test after
/// `TIMEOUT`). `on_poll` is called with the child's pid while it runs.
fn run_command(mut cmd: Command, on_poll: impl FnMut(u32)) -> Run {
    cmd.current_dir(crate_root());
    let f = common::run_piped(cmd, TIMEOUT, on_poll).unwrap_or_else(|e| panic!("{e}"));
    assert!(!f.timed_out, "timed out after {} s", TIMEOUT.as_secs());
    Run {
        stdout: f.stdout,
        stderr: f.stderr,
        code: f.code,
    }
}

/// `vela run PATH ARGS...`, optionally in GC stress mode.
fn run_vela(bin: &Path, path: &str, args: &[String], stress: bool) -> Run {
    let mut cmd = Command::new(bin);
    cmd.arg("run").arg(path).args(args);
    if stress {
        cmd.env("VELA_GC_STRESS", "1");
    } else {
        cmd.env_remove("VELA_GC_STRESS");
    }
    run_command(cmd, |_| {})
}

/// The `.vela` files directly under `dir` (relative to the crate root), sorted.
fn programs_in(dir: &str) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(crate_root().join(dir))
        .unwrap_or_else(|e| panic!("cannot read {dir}: {e}"))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "vela"))
        .map(|p| {
            format!(
                "{dir}/{}",
                p.file_name().expect("file name").to_string_lossy()
            )
        })
        .collect();
    out.sort();
    out
}

/// Script arguments from a program's `// args: ...` directive (as the golden runner reads them).
fn directive_args(path: &str) -> Vec<String> {
    let source = std::fs::read_to_string(crate_root().join(path)).unwrap_or_default();
    source
        .lines()
        .filter_map(|l| l.find("// args: ").map(|i| &l[i + "// args: ".len()..]))
        .flat_map(|a| a.split_whitespace().map(str::to_string))
        .collect()
}

#[test]
fn stress_mode_matches_normal_run() {
    let programs: Vec<String> = STRESS_DIRS.iter().flat_map(|d| programs_in(d)).collect();
    assert!(
        programs.len() >= 20,
        "expected the GC-heavy programs under {STRESS_DIRS:?}, found {}",
        programs.len()
    );
    let total = programs.len();
    let queue = Arc::new(Mutex::new(programs));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let workers = thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 4));
    let handles: Vec<_> = (0..workers)
        .map(|_| {
            let queue = Arc::clone(&queue);
            let failures = Arc::clone(&failures);
            thread::spawn(move || loop {
                let next = queue.lock().expect("queue lock").pop();
                let Some(path) = next else { break };
                let args = directive_args(&path);
                let normal = run_vela(&debug_binary(), &path, &args, false);
                let stressed = run_vela(&debug_binary(), &path, &args, true);
                if normal != stressed {
                    failures.lock().expect("failures lock").push(format!(
                        "{path}: differs under VELA_GC_STRESS=1\n--- normal ---\n{normal:#?}\n--- stress ---\n{stressed:#?}"
                    ));
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("worker thread");
    }
    let failures = failures.lock().expect("failures lock");
    for f in failures.iter() {
        eprintln!("FAIL {f}\n");
    }
    println!(
        "gc stress: {} passed, {} failed",
        total - failures.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} program(s) behave differently under GC stress",
        failures.len()
    );
}

/// The newest modification time among the files that the binary is built from.
fn newest_source_mtime() -> Option<SystemTime> {
    fn walk(p: &Path, newest: &mut Option<SystemTime>) {
        if p.is_dir() {
            if let Ok(entries) = std::fs::read_dir(p) {
                for e in entries.flatten() {
                    walk(&e.path(), newest);
                }
            }
        } else if let Ok(t) = std::fs::metadata(p).and_then(|m| m.modified()) {
            if newest.is_none_or(|n| t > n) {
                *newest = Some(t);
            }
        }
    }
    let root = crate_root();
    let mut newest = None;
    for part in ["src", "grammar", "build.rs", "Cargo.toml", "Cargo.lock"] {
        walk(&root.join(part), &mut newest);
    }
    newest
}

/// The release binary next to the debug one, if it exists and is not older than the sources.
fn fresh_release_binary() -> Option<PathBuf> {
    let debug = debug_binary();
    let release = debug.parent()?.parent()?.join("release").join("vela");
    let built = std::fs::metadata(&release)
        .and_then(|m| m.modified())
        .ok()?;
    match newest_source_mtime() {
        Some(src) if src > built => {
            eprintln!(
                "note: {} is older than the sources; using the debug binary",
                release.display()
            );
            None
        }
        _ => Some(release),
    }
}

/// Runs `vela run PATH ARGS` and returns its output and peak RSS in bytes, or `None`
/// for the RSS when this machine offers no way to measure it.
fn run_measured(bin: &Path, path: &str, args: &[String]) -> (Run, Option<u64>) {
    let gnu_time = Path::new("/usr/bin/time");
    if gnu_time.exists() {
        let mut cmd = Command::new(gnu_time);
        cmd.arg("-v").arg(bin).arg("run").arg(path).args(args);
        cmd.env_remove("VELA_GC_STRESS");
        let mut run = run_command(cmd, |_| {});
        let marker = "Maximum resident set size (kbytes):";
        let kib = run
            .stderr
            .lines()
            .find_map(|l| l.trim().strip_prefix(marker))
            .and_then(|v| v.trim().parse::<u64>().ok());
        if let Some(kib) = kib {
            // Keep only the program's own stderr (time's report follows it).
            if let Some(i) = run.stderr.find("\tCommand being timed:") {
                run.stderr.truncate(i);
            }
            if run.code != Some(0) {
                // GNU time reports the child's failure on a line of its own.
                run.stderr = run
                    .stderr
                    .lines()
                    .filter(|l| !l.starts_with("Command exited with non-zero status"))
                    .map(|l| format!("{l}\n"))
                    .collect();
            }
            return (run, Some(kib * 1024));
        }
        eprintln!("note: /usr/bin/time -v gave no peak RSS; polling /proc instead");
    }
    if !Path::new("/proc/self/status").exists() {
        return (run_vela(bin, path, args, false), None);
    }
    let mut peak_kib: u64 = 0;
    let mut cmd = Command::new(bin);
    cmd.arg("run").arg(path).args(args);
    cmd.env_remove("VELA_GC_STRESS");
    let run = run_command(cmd, |pid| {
        if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
            let hwm = status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
            if let Some(k) = hwm {
                peak_kib = peak_kib.max(k);
            }
        }
    });
    let peak = (peak_kib > 0).then_some(peak_kib * 1024);
    (run, peak)
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / MIB as f64)
}

#[test]
fn churn_peak_rss_under_64_mib() {
    let (bin, count) = match fresh_release_binary() {
        Some(release) => (release, 3_000_000u64),
        // About 3.5 s per million pairs in a debug build.
        None => (debug_binary(), 1_000_000u64),
    };
    let path = "tests/programs/gc_churn.vela";
    let (run, peak) = run_measured(&bin, path, &[count.to_string()]);
    assert_eq!(run.code, Some(0), "churn program failed: {run:#?}");
    assert_eq!(
        run.stdout,
        format!("pairs: {count} checksum: {}\n", 2 * count),
        "churn program output"
    );
    let Some(peak) = peak else {
        eprintln!(
            "skipped: no way to measure peak RSS on this machine (no /usr/bin/time -v, no /proc)"
        );
        return;
    };
    println!(
        "churn: {count} cyclic list/map pairs with {}: peak RSS {}",
        bin.display(),
        mib(peak)
    );
    assert!(
        peak < CHURN_LIMIT,
        "churn of {count} pairs peaked at {} (limit {})",
        mib(peak),
        mib(CHURN_LIMIT)
    );
}

#[test]
fn drop_and_rebuild_memory_bounded() {
    let bin = fresh_release_binary().unwrap_or_else(debug_binary);
    let path = "tests/programs/gc_rebuild.vela";
    let n: u64 = 1_000_000;
    let mut peaks = Vec::new();
    for rounds in [1u64, 4, 10] {
        let (run, peak) = run_measured(&bin, path, &[n.to_string(), rounds.to_string()]);
        assert_eq!(run.code, Some(0), "rebuild program failed: {run:#?}");
        let total = rounds * n + rounds * (rounds - 1) / 2;
        assert_eq!(
            run.stdout,
            format!("rounds: {rounds} elements: {n} total: {total}\n"),
            "rebuild program output"
        );
        let Some(peak) = peak else {
            eprintln!("skipped: no way to measure peak RSS on this machine (no /usr/bin/time -v, no /proc)");
            return;
        };
        println!(
            "rebuild: {rounds} round(s) of {n} elements: peak RSS {}",
            mib(peak)
        );
        peaks.push(peak);
    }
    let (one, four, ten) = (peaks[0], peaks[1], peaks[2]);
    // A collector paced like Lua's (collect when the heap doubles) may hold the dropped
    // structure and most of the new one at once: about twice one structure, plus slack.
    assert!(
        ten < one * 5 / 2,
        "10 rounds peaked at {}, more than 2.5x one round ({})",
        mib(ten),
        mib(one)
    );
    // Bounded: more rounds do not raise the peak.
    assert!(
        ten <= four + four / 10 + 4 * MIB,
        "peak grows with rounds: 4 rounds {}, 10 rounds {}",
        mib(four),
        mib(ten)
    );
}

#[test]
fn deep_structure_marked_without_recursion() {
    // A list nested 1,000,000 levels deep survives collections (marking must not
    // recurse on the native stack) and is reclaimed after it is dropped.
    let bin = fresh_release_binary().unwrap_or_else(debug_binary);
    let path = "tests/programs/gc_deep.vela";
    let run = run_vela(&bin, path, &[], false);
    assert_eq!(run.code, Some(0), "deep-structure program failed: {run:#?}");
    assert_eq!(
        run.stdout, "depth: 1000000\njunk: 1000000 b still: 999999\n",
        "deep-structure program output"
    );
}

#[test]
fn deep_recursion_frames_are_roots() {
    // 100,000 nested calls whose frames hold lists and maps while the program makes
    // garbage; then a shallower run in stress mode, collecting at every allocation.
    let path = "tests/programs/gc_deep_recursion.vela";
    let run = run_vela(&debug_binary(), path, &[], false);
    assert_eq!(run.code, Some(0), "deep-recursion program failed: {run:#?}");
    assert_eq!(run.stdout, "levels: 100001 ok: 100001\n");
    let run = run_vela(&debug_binary(), path, &["1500".to_string()], true);
    assert_eq!(
        run.code,
        Some(0),
        "deep-recursion program failed under stress: {run:#?}"
    );
    assert_eq!(run.stdout, "levels: 1501 ok: 1501\n");
}
