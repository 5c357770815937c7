//! End-to-end tests of the REPL: piped sessions (stdin not a terminal) compared
//! line by line, and interactive sessions under a pseudo-terminal.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// What a piped session printed and how it ended.
struct Run {
    out: String,
    err: String,
    code: Option<i32>,
}

fn temp_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(name)
}

/// Runs `vela ARGS` with `input` on stdin (a pipe).
fn piped_with(args: &[&str], input: &str) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vela"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .env("VELA_HISTORY", temp_path("piped_history"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the vela binary runs");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(input.as_bytes())
        .expect("the REPL reads its input");
    let o = child.wait_with_output().expect("the REPL ends");
    Run {
        out: String::from_utf8_lossy(&o.stdout).into_owned(),
        err: String::from_utf8_lossy(&o.stderr).into_owned(),
        code: o.status.code(),
    }
}

fn piped(input: &str) -> Run {
    piped_with(&["repl"], input)
}

#[test]
fn globals_persist_across_entries() {
    let r = piped("let x = 2\nx * 21\n");
    assert_eq!(r.out, "42\n");
    assert_eq!(r.err, "");
    assert_eq!(r.code, Some(0));
}

#[test]
fn no_arguments_starts_the_repl() {
    let r = piped_with(&[], "1 + 1\n");
    assert_eq!(r.out, "2\n");
    assert_eq!(r.code, Some(0));
}

#[test]
fn multi_line_function_definition() {
    let r = piped(
        "fn fact(n) {\n  if n < 2 {\n    return 1\n  }\n  return n * fact(n - 1)\n}\nfact(10)\n",
    );
    assert_eq!(r.out, "3628800\n");
    assert_eq!(r.code, Some(0));
}

#[test]
fn unfinished_constructs_continue_on_the_next_line() {
    let input = "\
[1,
 2]
1 +
  2
let s = \"a
b\"
s
/* a comment {
*/ 7
\"${
  1 + 2
}\"
print(\"(\" // a comment
)
";
    let r = piped(input);
    assert_eq!(r.out, "[1, 2]\n3\n\"a\\nb\"\n7\n\"3\"\n(\n", "{}", r.err);
    assert_eq!(r.err, "");
}

#[test]
fn echo_uses_the_repl_text_form() {
    let r = piped("\"hi\"\n\"tab\\there\"\nnil\nprint(\"raw\")\n1.0\n[\"a\", nil]\nfn f() {}\nf\n");
    assert_eq!(
        r.out,
        "\"hi\"\n\"tab\\there\"\nraw\n1.0\n[\"a\", nil]\n<fn f>\n"
    );
}

#[test]
fn underscore_holds_the_last_value() {
    let r = piped("6 * 7\n_ + 1\nnil\n_\nprint(_)\n_ = 3\n_\n");
    assert_eq!(r.out, "42\n43\n43\n43\n43\n");
    assert!(
        r.err
            .contains("error: cannot assign to immutable variable '_'"),
        "{}",
        r.err
    );
}

#[test]
fn underscore_before_any_value_is_undefined() {
    let r = piped("_\n");
    assert_eq!(r.out, "");
    assert!(
        r.err.starts_with("error: undefined variable '_'"),
        "{}",
        r.err
    );
}

#[test]
fn redeclaration_replaces() {
    let r = piped(
        "let x = 1\nlet x = \"two\"\nx\nfn f() { return 1 }\nfn f() { return 2 }\nf()\n\
         state s = 1\ns = 2\nlet s = 3\ns = 4\ns\nstate s = 5\ns = 6\ns\n",
    );
    assert_eq!(r.out, "\"two\"\n2\n3\n6\n");
    assert!(
        r.err
            .contains("error: cannot assign to immutable variable 's'"),
        "{}",
        r.err
    );
}

#[test]
fn an_error_mid_session_keeps_the_state() {
    let r = piped("let a = 10\nlet b = a +* 1\na\nfn bad() { return 1 / 0 }\nbad()\na + 1\nb\n");
    assert_eq!(r.out, "10\n11\n");
    let want_compile = "\
error: unexpected '*', expected expression
 --> <repl>:1:12
  |
1 | let b = a +* 1
  |            ^
";
    assert!(r.err.starts_with(want_compile), "{}", r.err);
    assert!(
        r.err
            .contains("error: division by zero\n  at bad (<repl>:1)\n  at <script> (<repl>:1)\n"),
        "{}",
        r.err
    );
    assert!(r.err.contains("error: undefined variable 'b'"), "{}", r.err);
    // A piped session with errors exits with the code of the last failure.
    assert_eq!(r.code, Some(70));
}

#[test]
fn compile_errors_point_into_the_entry() {
    let r = piped("let ok = 1\nfn f() {\n  return @\n}\nok\n");
    assert!(r.err.contains(" --> <repl>:2:10\n"), "{}", r.err);
    assert!(r.err.contains("2 |   return @\n"), "{}", r.err);
    assert_eq!(r.out, "1\n");
    assert_eq!(r.code, Some(65));
}

#[test]
fn a_real_syntax_error_is_reported_at_once() {
    // `)` cannot be completed by more input: the next line is a new entry.
    let r = piped("f(1))\n40 + 2\n");
    assert_eq!(r.out, "42\n");
    assert!(r.err.starts_with("error: unexpected ')'"), "{}", r.err);
}

#[test]
fn input_ending_inside_an_entry_is_an_error() {
    let r = piped("1\nfn f() {\n");
    assert_eq!(r.out, "1\n");
    assert!(r.err.contains("unexpected end of input"), "{}", r.err);
    assert_eq!(r.code, Some(65));
}

#[test]
fn exit_ends_the_session_with_its_code() {
    let r = piped("print(1)\nexit(3)\nprint(2)\n");
    assert_eq!(r.out, "1\n");
    assert_eq!(r.code, Some(3));
}

#[test]
fn quit_ends_the_session() {
    let r = piped("1\n:quit\n2\n");
    assert_eq!(r.out, "1\n");
    assert_eq!(r.code, Some(0));
}

#[test]
fn globals_command_lists_user_globals() {
    let r = piped(
        "let x = 1\nstate name = \"Ann\"\nfn f() {}\n2 + 2\nlet len = 5\nfn g() { return later }\n:globals\n",
    );
    assert_eq!(
        r.out,
        "4\nlet len = 5\nlet x = 1\nstate name = \"Ann\"\nlet f = <fn f>\nlet g = <fn g>\n"
    );
}

#[test]
fn dis_shows_a_function_or_an_expression() {
    let r = piped("fn add(a, b) {\n  return a + b\n}\n:dis add\n:dis 1 + 2\n:dis print\n");
    assert_eq!(r.err, "");
    let out = r.out;
    assert!(out.starts_with("function add (<repl>): arity 2,"), "{out}");
    assert!(out.contains("ADD        R2 R0 R1"), "{out}");
    assert!(out.contains("function <script> (<repl>): arity 0"), "{out}");
    assert!(out.contains("print is a built-in function"), "{out}");
    // `:dis` of an expression compiles without declaring or running anything.
    let r = piped(":dis let y = print(\"no\")\ny\n");
    assert!(!r.out.contains("no\n"), "{}", r.out);
    assert!(r.err.contains("undefined variable 'y'"), "{}", r.err);
}

#[test]
fn dis_finds_nested_and_reassigned_functions() {
    let r = piped(
        "fn outer() {\n  fn inner(x) { return x * 3 }\n  return inner\n}\nlet i = outer()\n:dis i\n:dis outer\n",
    );
    assert_eq!(r.err, "");
    assert!(
        r.out.starts_with("function inner (<repl>): arity 1"),
        "{}",
        r.out
    );
    assert!(
        r.out.contains("function outer (<repl>): arity 0"),
        "{}",
        r.out
    );
}

#[test]
fn load_runs_a_file_in_the_session() {
    let file = temp_path("repl_load.vela");
    std::fs::write(
        &file,
        "fn square(n) { return n * n }\nlet base = 7\nprint(\"loaded\")\n",
    )
    .expect("temp file is writable");
    let input = format!(":load {}\nsquare(base)\n", file.display());
    let r = piped(&input);
    assert_eq!(r.out, "loaded\n49\n", "{}", r.err);

    let r = piped(":load /nonexistent/file.vela\n1\n");
    assert!(
        r.err
            .starts_with("error: cannot read /nonexistent/file.vela"),
        "{}",
        r.err
    );
    assert_eq!(r.out, "1\n");
    assert_eq!(r.code, Some(66));

    let bad = temp_path("repl_load_bad.vela");
    std::fs::write(&bad, "let a = 1\nlet b = )\n").expect("temp file is writable");
    let r = piped(&format!(":load {}\n", bad.display()));
    assert!(
        r.err.contains(&format!("{}:2:9", bad.display())),
        "{}",
        r.err
    );
}

#[test]
fn reset_forgets_everything() {
    let r = piped("let x = 1\n:reset\nx\n:globals\nlet x = 2\nx\n");
    assert_eq!(r.out, "2\n");
    assert!(
        r.err.starts_with("error: undefined variable 'x'"),
        "{}",
        r.err
    );
}

#[test]
fn help_and_unknown_commands() {
    let r = piped(":help\n:nope\n");
    assert!(r.out.contains(":load FILE"), "{}", r.out);
    assert!(r.out.contains(":dis NAME|EXPR"), "{}", r.out);
    assert!(r.err.contains("unknown command ':nope'"), "{}", r.err);
    assert_eq!(r.code, Some(64));
}

#[test]
fn errors_are_not_coloured_with_no_color_or_a_pipe() {
    let r = piped("1 +* 2\nerror(\"x\")\n");
    assert!(!r.err.contains('\x1b'), "{:?}", r.err);
}

/// Interactive sessions under a pseudo-terminal.
#[cfg(unix)]
mod pty {
    use super::temp_path;
    use rexpect::process::WaitStatus;
    use rexpect::session::{spawn_command, PtySession};
    use std::process::Command;
    use std::time::Duration;

    /// Generous: the binary is a debug build and CI machines are busy.
    const TIMEOUT_MS: u64 = 30_000;

    fn start(history: &str) -> PtySession {
        let history = temp_path(history);
        let _ = std::fs::remove_file(&history);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_vela"));
        cmd.env("NO_COLOR", "1")
            .env("TERM", "xterm")
            .env("VELA_HISTORY", &history);
        let mut p = spawn_command(cmd, Some(TIMEOUT_MS)).expect("the REPL starts in a pty");
        p.exp_string("Vela ").expect("a banner");
        p.exp_string(">>> ").expect("a prompt");
        p
    }

    #[test]
    fn multi_line_function_then_a_call() {
        let mut p = start("pty_history_fn");
        p.send_line("fn twice(x) {").unwrap();
        p.exp_string("... ").expect("a continuation prompt");
        p.send_line("  return x * 2").unwrap();
        p.exp_string("... ").expect("a continuation prompt");
        p.send_line("}").unwrap();
        p.exp_string(">>> ").unwrap();
        p.send_line("twice(21)").unwrap();
        p.exp_string("42").expect("the call's value");
        p.exp_string(">>> ").unwrap();
        p.send_control('d').unwrap();
        p.exp_eof().expect("Ctrl-D leaves");
    }

    #[test]
    fn an_error_then_more_entries() {
        let mut p = start("pty_history_err");
        p.send_line("let a = 5").unwrap();
        p.exp_string(">>> ").unwrap();
        p.send_line("a +* 1").unwrap();
        p.exp_string("error: unexpected '*'")
            .expect("a compile error");
        p.exp_string("<repl>:1:4").unwrap();
        p.exp_string(">>> ").unwrap();
        p.send_line("nosuch(1)").unwrap();
        p.exp_string("error: undefined variable 'nosuch'").unwrap();
        p.exp_string(">>> ").unwrap();
        p.send_line("a * 7").unwrap();
        p.exp_string("35").expect("the session goes on");
        p.exp_string(">>> ").unwrap();
        p.send_line(":quit").unwrap();
        p.exp_eof().unwrap();
    }

    #[test]
    fn ctrl_c_interrupts_running_code() {
        let mut p = start("pty_history_int");
        p.send_line("state n = 0").unwrap();
        p.exp_string(">>> ").unwrap();
        p.send_line("print(\"spin\" + \"ning\"); while true { n += 1 }")
            .unwrap();
        // Once the entry prints, it runs (and its Ctrl-C handler is installed).
        p.exp_string("spinning").unwrap();
        std::thread::sleep(Duration::from_millis(300));
        p.send_control('c').unwrap();
        p.exp_string("error: interrupted").expect("the loop stops");
        p.exp_string(">>> ").unwrap();
        p.send_line("n > 0").unwrap();
        p.exp_string("true").expect("state survives the interrupt");
        p.exp_string(">>> ").unwrap();
        // And once more, inside a function call.
        p.send_line("fn spin() { while true {} }").unwrap();
        p.exp_string(">>> ").unwrap();
        p.send_line("print(\"spin\" + \"ning\"); spin()").unwrap();
        p.exp_string("spinning").unwrap();
        std::thread::sleep(Duration::from_millis(300));
        p.send_control('c').unwrap();
        p.exp_string("error: interrupted").unwrap();
        p.exp_string("at spin (<repl>:1)").unwrap();
        p.exp_string(">>> ").unwrap();
        p.send_line("6 * 7").unwrap();
        p.exp_string("42").unwrap();
        p.exp_string(">>> ").unwrap();
        p.send_control('d').unwrap();
        p.exp_eof().unwrap();
    }

    #[test]
    fn ctrl_c_on_the_prompt_clears_the_line() {
        let mut p = start("pty_history_clear");
        p.send("12345").unwrap();
        p.flush().unwrap();
        std::thread::sleep(Duration::from_millis(300));
        p.send_control('c').unwrap();
        p.exp_string(">>> ").unwrap();
        p.send_line("fn f() {").unwrap();
        p.exp_string("... ").unwrap();
        p.send_control('c').unwrap();
        p.exp_string(">>> ")
            .expect("Ctrl-C drops the unfinished entry");
        p.send_line("2 * 21").unwrap();
        p.exp_string("42").unwrap();
        p.exp_string(">>> ").unwrap();
        p.send_control('d').unwrap();
        p.exp_eof().unwrap();
    }

    #[test]
    fn ctrl_d_exits_with_status_0_and_saves_history() {
        let mut p = start("pty_history_eof");
        p.send_line("let saved = 1").unwrap();
        p.exp_string(">>> ").unwrap();
        p.send_control('d').unwrap();
        p.exp_eof().unwrap();
        let status = p.process().wait().expect("the REPL has exited");
        assert!(matches!(status, WaitStatus::Exited(_, 0)), "{status:?}");
        let history = std::fs::read_to_string(temp_path("pty_history_eof"))
            .expect("the history file is written");
        assert!(history.contains("let saved = 1"), "{history}");
    }
}
