//! Golden tests: every `tests/vela/**/*.vela` program is run with the `vela` binary and its
//! stdout, stderr and exit code are checked against directives written in its comments.
//!
//! Directives (anywhere in a line, usually as a trailing comment):
//! - `// expect: TEXT` — the next expected stdout line (everything after `expect: `;
//!   `// expect:` with nothing after it expects an empty line).
//! - `// expect runtime error: MESSAGE` — exit code 70, stderr starts with `error: MESSAGE`, and the
//!   first traceback line (`  at NAME (FILE:LINE)`) names this directive's line.
//! - `// expect compile error: MESSAGE` — exit code 65, stderr starts with `error: MESSAGE` followed by
//!   ` --> FILE:LINE:COL` naming this directive's line; stdout must be empty.
//! - `// expect exit: N` — the exit code must be N (otherwise 0 unless an error is expected).
//! - `// args: a b c` — whitespace-separated arguments passed after the file.
//!
//! Uses only std. Every case runs in `Mode::Run` (`vela run FILE ARGS...`); every case that does
//! not expect a compile error also runs in `Mode::CompileThenRun` (`vela compile FILE -o X.velac`,
//! then `vela run X.velac ARGS...`) with the same expectations: the bytecode keeps the chunk name
//! given at compile time, so tracebacks name FILE in both modes. Cases run on a few threads.

mod common;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(20);
const MIN_PROGRAMS: usize = 150;
const CORPUS_DIR: &str = "tests/vela";

/// How a case is executed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// `vela run FILE ARGS...`
    Run,
    /// `vela compile FILE -o TMP/X.velac`, then `vela run TMP/X.velac ARGS...`; for every case
    /// without a compile-error directive, with identical expectations.
    CompileThenRun,
}

/// Worker threads running cases (each waits on a child process most of the time).
const WORKERS: usize = 4;

/// An error the program is expected to stop with.
#[derive(Clone, Debug, PartialEq, Eq)]
enum ExpectedError {
    /// (message, line of the directive)
    Compile(String, usize),
    /// (message, line of the directive)
    Runtime(String, usize),
}

/// One test program and what it must do.
#[derive(Clone, Debug)]
struct Case {
    /// Path relative to the crate root, with `/` separators (passed to `vela` as is).
    path: String,
    stdout: Vec<String>,
    error: Option<ExpectedError>,
    exit: Option<i32>,
    args: Vec<String>,
}

/// What running the binary produced.
#[derive(Debug)]
struct Outcome {
    stdout: String,
    stderr: String,
    code: Option<i32>,
    timed_out: bool,
}

fn crate_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn vela_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_vela"))
}

/// All `.vela` files under `dir` (recursively), as paths relative to `root`, sorted.
fn find_programs(root: &Path, dir: &str) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) => panic!("cannot read directory {}: {}", dir.display(), e),
        };
        for entry in entries {
            let entry = entry.expect("directory entry");
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, out);
            } else if path.extension().is_some_and(|e| e == "vela") {
                let rel = path.strip_prefix(root).expect("path under crate root");
                let parts: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                out.push(parts.join("/"));
            }
        }
    }
    let mut out = Vec::new();
    walk(root, &root.join(dir), &mut out);
    out.sort();
    out
}

/// Reads the directives of one program.
fn parse_case(path: &str, source: &str) -> Result<Case, String> {
    let mut case = Case {
        path: path.to_string(),
        stdout: Vec::new(),
        error: None,
        exit: None,
        args: Vec::new(),
    };
    for (i, line) in source.lines().enumerate() {
        let lineno = i + 1;
        if let Some(text) = directive(line, "// expect:") {
            // `// expect: TEXT`: TEXT is everything after the single space following the colon.
            let text = text.strip_prefix(' ').unwrap_or(text);
            case.stdout.push(text.to_string());
        } else if let Some(msg) = directive(line, "// expect runtime error: ") {
            set_error(
                &mut case,
                ExpectedError::Runtime(msg.to_string(), lineno),
                lineno,
            )?;
        } else if let Some(msg) = directive(line, "// expect compile error: ") {
            set_error(
                &mut case,
                ExpectedError::Compile(msg.to_string(), lineno),
                lineno,
            )?;
        } else if let Some(n) = directive(line, "// expect exit: ") {
            let code: i32 = n
                .trim()
                .parse()
                .map_err(|_| format!("line {lineno}: bad exit code {n:?}"))?;
            if case.exit.replace(code).is_some() {
                return Err(format!(
                    "line {lineno}: more than one `expect exit` directive"
                ));
            }
        } else if let Some(a) = directive(line, "// args: ") {
            case.args.extend(a.split_whitespace().map(str::to_string));
        }
    }
    if case.exit.is_some() && case.error.is_some() {
        return Err("both `expect exit` and an error directive".to_string());
    }
    if matches!(case.error, Some(ExpectedError::Compile(..))) && !case.stdout.is_empty() {
        return Err("a compile-error program cannot expect output".to_string());
    }
    Ok(case)
}

/// The text after `marker` if the line contains it.
fn directive<'a>(line: &'a str, marker: &str) -> Option<&'a str> {
    line.find(marker).map(|i| &line[i + marker.len()..])
}

fn set_error(case: &mut Case, err: ExpectedError, lineno: usize) -> Result<(), String> {
    if case.error.replace(err).is_some() {
        return Err(format!("line {lineno}: more than one error directive"));
    }
    Ok(())
}

/// Runs a command with a timeout, collecting stdout and stderr.
fn run_command(cmd: Command) -> Result<Outcome, String> {
    let f = common::run_piped(cmd, TIMEOUT, |_| {})?;
    Ok(Outcome {
        stdout: f.stdout,
        stderr: f.stderr,
        code: f.code,
        timed_out: f.timed_out,
    })
}

/// Runs one case in the given mode; `Err` holds a readable description of every mismatch.
fn run_case(case: &Case, mode: Mode) -> Result<(), String> {
    let outcome = match mode {
        Mode::Run => {
            let mut cmd = Command::new(vela_binary());
            cmd.current_dir(crate_root())
                .arg("run")
                .arg(&case.path)
                .args(&case.args);
            run_command(cmd)?
        }
        Mode::CompileThenRun => {
            let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("golden-velac");
            std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {dir:?}: {e}"))?;
            let out = dir.join(format!("{}c", case.path.replace('/', "__")));
            let mut cmd = Command::new(vela_binary());
            cmd.current_dir(crate_root())
                .arg("compile")
                .arg(&case.path)
                .arg("-o")
                .arg(&out);
            let compiled = run_command(cmd)?;
            if compiled.code != Some(0) || !compiled.stdout.is_empty() {
                return Err(format!(
                    "vela compile failed (exit {:?})\n--- stdout ---\n{}--- stderr ---\n{}--- end ---",
                    compiled.code,
                    show(&compiled.stdout),
                    show(&clip(&compiled.stderr))
                ));
            }
            let mut cmd = Command::new(vela_binary());
            cmd.current_dir(crate_root())
                .arg("run")
                .arg(&out)
                .args(&case.args);
            let outcome = run_command(cmd)?;
            let _ = std::fs::remove_file(&out);
            outcome
        }
    };
    check(case, &outcome)
}

/// Compares an outcome with a case's expectations.
fn check(case: &Case, out: &Outcome) -> Result<(), String> {
    let mut problems: Vec<String> = Vec::new();
    if out.timed_out {
        problems.push(format!("timed out after {} s (killed)", TIMEOUT.as_secs()));
    }

    let expected_stdout: String = case.stdout.iter().map(|l| format!("{l}\n")).collect();
    if out.stdout != expected_stdout {
        problems.push(format!(
            "stdout differs\n--- expected ---\n{}--- actual ---\n{}--- end ---",
            show(&expected_stdout),
            show(&out.stdout)
        ));
    }

    let mut err_lines = out.stderr.lines();
    let first = err_lines.next().unwrap_or("");
    let second = err_lines.next().unwrap_or("");
    let expected_code = match &case.error {
        Some(ExpectedError::Compile(..)) => 65,
        Some(ExpectedError::Runtime(..)) => 70,
        None => case.exit.unwrap_or(0),
    };
    if out.code != Some(expected_code) {
        problems.push(format!(
            "exit code: expected {expected_code}, got {}",
            out.code.map_or_else(
                || "none (killed by a signal)".to_string(),
                |c| c.to_string()
            )
        ));
    }

    match &case.error {
        Some(ExpectedError::Compile(msg, line)) => {
            let want = format!("error: {msg}");
            if first != want {
                problems.push(format!("stderr line 1: expected {want:?}, got {first:?}"));
            }
            match parse_location(second) {
                Some((file, l, _col)) if file == case.path && l == *line => {}
                _ => problems.push(format!(
                    "stderr line 2: expected \" --> {}:{line}:COL\", got {second:?}",
                    case.path
                )),
            }
        }
        Some(ExpectedError::Runtime(msg, line)) => {
            let want = format!("error: {msg}");
            if first != want {
                problems.push(format!("stderr line 1: expected {want:?}, got {first:?}"));
            }
            match parse_frame(second) {
                Some((_name, file, l)) if file == case.path && l == *line => {}
                _ => problems.push(format!(
                    "stderr line 2: expected \"  at NAME ({}:{line})\", got {second:?}",
                    case.path
                )),
            }
        }
        None => {}
    }

    if problems.is_empty() {
        Ok(())
    } else {
        let mut report = problems.join("\n");
        if !out.stderr.is_empty() {
            let _ = write!(
                report,
                "\n--- stderr ---\n{}--- end ---",
                show(&clip(&out.stderr))
            );
        }
        Err(report)
    }
}

/// Parses ` --> FILE:LINE:COL` (any indentation before `-->`).
fn parse_location(line: &str) -> Option<(&str, usize, usize)> {
    if !line.starts_with(' ') {
        return None;
    }
    let rest = line.trim_start().strip_prefix("--> ")?;
    let mut parts = rest.rsplitn(3, ':');
    let col = parts.next()?.parse().ok()?;
    let l = parts.next()?.parse().ok()?;
    let file = parts.next()?;
    Some((file, l, col))
}

/// Parses `  at NAME (FILE:LINE)`.
fn parse_frame(line: &str) -> Option<(&str, &str, usize)> {
    let rest = line.strip_prefix("  at ")?;
    let inner = rest.strip_suffix(')')?;
    let open = inner.rfind(" (")?;
    let name = &inner[..open];
    let (file, l) = inner[open + 2..].rsplit_once(':')?;
    Some((name, file, l.parse().ok()?))
}

/// Text for a report: a missing final newline is made visible.
fn show(s: &str) -> String {
    if s.is_empty() || s.ends_with('\n') {
        s.to_string()
    } else {
        format!("{s}⏎(no final newline)\n")
    }
}

/// Keeps reports readable when a program prints a huge traceback.
fn clip(s: &str) -> String {
    const MAX_LINES: usize = 20;
    let lines: Vec<&str> = s.lines().collect();
    if lines.len() <= MAX_LINES {
        return s.to_string();
    }
    let mut out: String = lines[..MAX_LINES]
        .iter()
        .map(|l| format!("{l}\n"))
        .collect();
    let _ = writeln!(out, "... ({} more lines)", lines.len() - MAX_LINES);
    out
}

/// Runs one program in every mode that applies to it; returns the failures and how
/// many runs were made.
fn run_program(root: &Path, path: &str) -> (Vec<(String, String)>, usize) {
    let case = match std::fs::read_to_string(root.join(path))
        .map_err(|e| format!("cannot read: {e}"))
        .and_then(|src| parse_case(path, &src).map_err(|e| format!("bad test: {e}")))
    {
        Ok(case) => case,
        Err(report) => return (vec![(path.to_string(), report)], 0),
    };
    let mut modes = vec![Mode::Run];
    if !matches!(case.error, Some(ExpectedError::Compile(..))) {
        modes.push(Mode::CompileThenRun);
    }
    let runs = modes.len();
    let failures = modes
        .into_iter()
        .filter_map(|mode| {
            run_case(&case, mode)
                .err()
                .map(|report| (format!("{path} ({mode:?})"), report))
        })
        .collect();
    (failures, runs)
}

#[test]
fn golden() {
    let root = crate_root();
    let programs = find_programs(&root, CORPUS_DIR);
    let next = AtomicUsize::new(0);
    let failures: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());
    let runs = AtomicUsize::new(0);
    thread::scope(|s| {
        for _ in 0..WORKERS {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(path) = programs.get(i) else {
                    break;
                };
                let (f, n) = run_program(&root, path);
                runs.fetch_add(n, Ordering::Relaxed);
                failures.lock().expect("no worker panicked").extend(f);
            });
        }
    });
    let mut failures = failures.into_inner().expect("no worker panicked");
    failures.sort();
    let failed_programs: std::collections::BTreeSet<&str> = failures
        .iter()
        .map(|(p, _)| p.split(' ').next().unwrap_or(p))
        .collect();
    let passed = programs.len() - failed_programs.len();
    for (path, report) in &failures {
        eprintln!("FAIL {path}\n{report}\n");
    }
    println!(
        "golden: {} passed, {} failed ({} runs: from source, and compiled to .velac)",
        passed,
        failed_programs.len(),
        runs.load(Ordering::Relaxed)
    );
    assert!(
        programs.len() >= MIN_PROGRAMS,
        "only {} programs found under {CORPUS_DIR} (expected at least {MIN_PROGRAMS})",
        programs.len()
    );
    assert!(
        failures.is_empty(),
        "{} golden test(s) failed",
        failures.len()
    );
}
