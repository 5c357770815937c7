//! End-to-end tests of the `vela` command line: examples, exit codes, messages.

use std::path::Path;

mod common;
use common::{stderr, stdout, vela};

fn write_temp(name: &str, text: &str) -> String {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.join(name);
    std::fs::write(&path, text).expect("temp file is writable");
    path.to_string_lossy().into_owned()
}

#[test]
fn hello_example() {
    let o = vela(&["run", "examples/hello.vela"]);
    assert_eq!(stdout(&o), "Hello, world!\n");
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn fib_example() {
    let o = vela(&["run", "examples/fib.vela"]);
    let out = stdout(&o);
    assert!(
        out.starts_with("fib(0) = 0\nfib(1) = 1\nfib(2) = 1\n"),
        "{out}"
    );
    assert!(out.contains("fib(10) = 55\n"), "{out}");
    assert!(
        out.ends_with("fib_iter(90) = 2880067194370816120\n"),
        "{out}"
    );
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn fizzbuzz_example() {
    let o = vela(&["run", "examples/fizzbuzz.vela"]);
    let want = "1\n2\nFizz\n4\nBuzz\nFizz\n7\n8\nFizz\nBuzz\n11\nFizz\n13\n14\nFizzBuzz\n";
    assert_eq!(stdout(&o), want);
}

#[test]
fn missing_file_exits_66() {
    let o = vela(&["run", "no/such/file.vela"]);
    assert_eq!(o.status.code(), Some(66));
    assert!(stderr(&o).starts_with("error: cannot read no/such/file.vela"));
}

#[test]
fn compile_error_exits_65_and_runs_nothing() {
    let path = write_temp("compile_err.vela", "print(1)\nlet x = 1\nx = 2\n");
    let o = vela(&["run", &path]);
    assert_eq!(o.status.code(), Some(65));
    assert_eq!(stdout(&o), "");
    let err = stderr(&o);
    assert!(
        err.starts_with("error: cannot assign to immutable variable 'x'\n"),
        "{err}"
    );
    assert!(err.contains(&format!("{path}:3:1")), "{err}");
    assert!(err.contains("3 | x = 2"), "{err}");
    assert!(err.contains("  | ^"), "{err}");
}

#[test]
fn runtime_error_exits_70_with_traceback() {
    let src = "fn inner(x) {\n  return x // 0\n}\nfn outer() { return inner(1) }\nprint(\"before\")\nouter()\n";
    let path = write_temp("runtime_err.vela", src);
    let o = vela(&["run", &path]);
    assert_eq!(o.status.code(), Some(70));
    assert_eq!(stdout(&o), "before\n");
    let want = format!(
        "error: division by zero\n  at inner ({path}:2)\n  at outer ({path}:4)\n  at <script> ({path}:6)\n"
    );
    assert_eq!(stderr(&o), want);
}

#[test]
fn runaway_recursion_is_a_clean_error() {
    let path = write_temp("runaway.vela", "fn f(n) { return f(n + 1) + 1 }\nf(0)\n");
    let o = vela(&["run", &path]);
    assert_eq!(o.status.code(), Some(70));
    let err = stderr(&o);
    assert!(err.starts_with("error: stack overflow\n"), "{err}");
    assert!(err.lines().count() < 50, "traceback is folded: {err}");
}

#[test]
fn deep_nesting_is_a_compile_error() {
    let src = format!("print({}1{})\n", "(".repeat(100_000), ")".repeat(100_000));
    let path = write_temp("deep.vela", &src);
    let o = vela(&["run", &path]);
    assert_eq!(o.status.code(), Some(65));
    assert!(stderr(&o).starts_with("error: nesting too deep\n"));
}

#[test]
fn script_arguments_and_exit_code() {
    let path = write_temp(
        "args.vela",
        "print(args())\nexit(3)\nprint(\"not reached\")\n",
    );
    let o = vela(&["run", &path, "a", "-b", "--c"]);
    assert_eq!(stdout(&o), "[\"a\", \"-b\", \"--c\"]\n");
    assert_eq!(o.status.code(), Some(3));
}

#[test]
fn version_and_help() {
    let o = vela(&["--version"]);
    assert!(stdout(&o).starts_with("vela "));
    assert_eq!(o.status.code(), Some(0));
    let o = vela(&["--help"]);
    assert!(stdout(&o).contains("run"));
    let o = vela(&["frobnicate"]);
    assert_eq!(o.status.code(), Some(2));
}
