//! The command line's bytecode commands: `vela compile`, `vela run FILE.velac`,
//! `vela disasm`, and how bad files are reported.

use std::path::{Path, PathBuf};
use vela::bytecode::format::FORMAT_VERSION;

mod common;
use common::{stderr, stdout, vela};

/// A fresh directory for one test.
fn temp_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-bytecode-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

const PROGRAM: &str = "fn inner(x) {\n  return x // 0\n}\nfn outer() { return inner(1) }\nprint(\"before\", [1, 2], {a: 1.5})\nouter()\n";

#[test]
fn compile_then_run_gives_the_same_results() {
    let dir = temp_dir("same");
    let src = dir.join("prog.vela");
    std::fs::write(&src, PROGRAM).expect("write");
    let o = vela(&["compile", s(&src)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "");
    let velac = dir.join("prog.velac");
    let bytes = std::fs::read(&velac).expect("default output FILE.velac");
    assert!(bytes.starts_with(b"\x89VELAC\r\n\x1a\n"));
    let from_source = vela(&["run", s(&src)]);
    let compiled = vela(&["run", s(&velac)]);
    assert_eq!(stdout(&from_source), stdout(&compiled));
    assert_eq!(stderr(&from_source), stderr(&compiled));
    assert_eq!(compiled.status.code(), Some(70));
    let path = s(&src);
    assert_eq!(
        stderr(&compiled),
        format!("error: division by zero\n  at inner ({path}:2)\n  at outer ({path}:4)\n  at <script> ({path}:6)\n")
    );
    // Told apart by the magic bytes, not the name.
    let disguised = dir.join("really_bytecode.vela");
    std::fs::copy(&velac, &disguised).expect("copy");
    assert_eq!(stdout(&vela(&["run", s(&disguised)])), stdout(&from_source));
    // No temporary files are left behind.
    let names: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
}

#[test]
fn stripped_programs_run_and_keep_their_messages() {
    let dir = temp_dir("strip");
    let src = dir.join("prog.vela");
    std::fs::write(&src, PROGRAM).expect("write");
    let out = dir.join("out.bin");
    let o = vela(&["compile", "--strip", s(&src), "-o", s(&out)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let full = dir.join("full.velac");
    vela(&["compile", s(&src), "-o", s(&full)]);
    let stripped_len = std::fs::metadata(&out).expect("written").len();
    assert!(stripped_len < std::fs::metadata(&full).expect("written").len());
    let r = vela(&["run", s(&out)]);
    assert_eq!(stdout(&r), "before [1, 2] {\"a\": 1.5}\n");
    assert_eq!(r.status.code(), Some(70));
    // No names or lines: the frames name the file that ran.
    let o = s(&out);
    assert_eq!(
        stderr(&r),
        format!("error: division by zero\n  at ? ({o})\n  at ? ({o})\n  at ? ({o})\n")
    );
    let listing = stdout(&vela(&["disasm", o]));
    assert!(listing.contains(", stripped"), "{listing}");
    assert!(listing.contains("function ? F0"), "{listing}");
}

#[test]
fn bad_bytecode_is_a_load_error() {
    let dir = temp_dir("bad");
    let src = dir.join("p.vela");
    std::fs::write(&src, "print(42)\n").expect("write");
    let velac = dir.join("p.velac");
    assert_eq!(vela(&["compile", s(&src)]).status.code(), Some(0));
    let bytes = std::fs::read(&velac).expect("written");

    let payload = vela::bytecode::format::header(&bytes)
        .expect("header")
        .payload_len as usize;
    let cut = dir.join("cut.velac");
    std::fs::write(&cut, &bytes[..bytes.len() - 3]).expect("write");
    let o = vela(&["run", s(&cut)]);
    assert_eq!(o.status.code(), Some(65));
    assert_eq!(
        stderr(&o),
        format!(
            "error: cannot load {}: truncated file ({} bytes, the header says {})\n",
            s(&cut),
            payload - 3,
            payload
        )
    );

    let mut flipped = bytes.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0x10;
    std::fs::write(&cut, &flipped).expect("write");
    let o = vela(&["run", s(&cut)]);
    assert_eq!(o.status.code(), Some(65));
    assert!(stderr(&o).contains("checksum mismatch"), "{}", stderr(&o));
    assert_eq!(vela(&["disasm", s(&cut)]).status.code(), Some(65));

    let mut newer = bytes.clone();
    newer[10] = 7;
    std::fs::write(&cut, &newer).expect("write");
    let o = vela(&["run", s(&cut)]);
    assert!(
        stderr(&o).contains("(format 7); this is vela")
            && stderr(&o).ends_with(&format!(
                "(format {FORMAT_VERSION}): recompile the source\n"
            )),
        "{}",
        stderr(&o)
    );

    let crlf: Vec<u8> = bytes
        .iter()
        .flat_map(|&b| {
            if b == b'\n' {
                vec![b'\r', b'\n']
            } else {
                vec![b]
            }
        })
        .collect();
    std::fs::write(&cut, crlf).expect("write");
    let o = vela(&["run", s(&cut)]);
    assert!(stderr(&o).contains("text-mode"), "{}", stderr(&o));

    let o = vela(&["compile", s(&velac)]);
    assert_eq!(o.status.code(), Some(65));
    assert!(stderr(&o).contains("already compiled"), "{}", stderr(&o));
}

#[test]
fn source_must_be_utf8() {
    let dir = temp_dir("utf8");
    let src = dir.join("latin1.vela");
    std::fs::write(&src, b"print(\"caf\xe9\")\n").expect("write");
    for cmd in ["run", "compile", "disasm"] {
        let o = vela(&[cmd, s(&src)]);
        assert_eq!(o.status.code(), Some(65), "{cmd}");
        assert_eq!(
            stderr(&o),
            format!("error: {} is not valid UTF-8\n", s(&src)),
            "{cmd}"
        );
    }
}

#[test]
fn failed_compiles_leave_old_output_alone() {
    let dir = temp_dir("atomic");
    let src = dir.join("p.vela");
    std::fs::write(&src, "print(1)\n").expect("write");
    assert_eq!(vela(&["compile", s(&src)]).status.code(), Some(0));
    let velac = dir.join("p.velac");
    let old = std::fs::read(&velac).expect("written");
    // A compile error writes nothing.
    std::fs::write(&src, "print(1\n").expect("write");
    let o = vela(&["compile", s(&src)]);
    assert_eq!(o.status.code(), Some(65));
    assert!(stderr(&o).starts_with("error: "), "{}", stderr(&o));
    assert_eq!(std::fs::read(&velac).expect("still there"), old);
    // An unwritable target: exit 73, nothing left behind.
    std::fs::write(&src, "print(2)\n").expect("write");
    let missing = dir.join("no/such/dir/p.velac");
    let o = vela(&["compile", s(&src), "-o", s(&missing)]);
    assert_eq!(o.status.code(), Some(73));
    assert!(
        stderr(&o).starts_with("error: cannot write "),
        "{}",
        stderr(&o)
    );
    let o = vela(&["compile", s(&src), "-o", s(&dir)]);
    assert_eq!(o.status.code(), Some(73), "{}", stderr(&o));
    let names: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    // A successful compile replaces the old file.
    assert_eq!(vela(&["compile", s(&src)]).status.code(), Some(0));
    assert_eq!(stdout(&vela(&["run", s(&velac)])), "2\n");
}

#[test]
fn disasm_lists_source_and_bytecode() {
    let o = vela(&["disasm", "examples/fib.vela"]);
    assert_eq!(o.status.code(), Some(0));
    let text = stdout(&o);
    assert!(
        text.starts_with("function <script> (examples/fib.vela): arity 0"),
        "{text}"
    );
    assert!(text.contains("function fib F0 (examples/fib.vela): arity 1"));
    assert!(
        text.contains("JMPNOTLT") || text.contains("JMPNOTGE"),
        "{text}"
    );
    let dir = temp_dir("disasm");
    let out = dir.join("fib.velac");
    vela(&["compile", "examples/fib.vela", "-o", s(&out)]);
    let from_file = stdout(&vela(&["disasm", s(&out)]));
    let (first, rest) = from_file.split_once('\n').expect("header line");
    assert!(
        first.starts_with(&format!(
            "; {}: vela bytecode format {FORMAT_VERSION}, written by vela ",
            s(&out)
        )),
        "{first}"
    );
    // Same code; the file lists only the globals it uses, so slot numbers differ.
    let strip_slots = |t: &str| -> Vec<String> {
        t.lines()
            .map(|l| {
                l.split_whitespace()
                    .filter(|w| !w.starts_with('G'))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    };
    assert_eq!(strip_slots(rest), strip_slots(&text));
}
