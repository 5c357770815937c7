//! The .velac loader against bad input: every compiler output verifies, and truncated,
//! flipped, oversized and random files are refused without a panic, a hang or a huge
//! allocation. Mutations with a recomputed checksum go past the checksum to exercise
//! the decoder and the verifier; whatever they accept is run in the VM, which must
//! not panic either.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;
use vela::bytecode::format::{self, fnv1a64, load, read, write, LoadError};
use vela::bytecode::verify::verify;
use vela::bytecode::Program;
use vela::vm::Vm;

/// A program with closures (captured loop variables, a captured mutable local),
/// try/catch, lists, maps, string iteration and a runtime error caught.
const CLOSURES_TRY: &str = r#"
fn counter(start: Int) {
  state n = start
  return fn() {
    n += 1
    return n
  }
}
let c = counter(10)
c()
print(c(), c())
fn risky(x) {
  if x > 2 { error("too big: ${x}") }
  return x * 2
}
state total = 0
for i in 0..5 {
  try {
    total += risky(i)
  } catch e {
    print("caught", e.message, e.line)
  }
}
let m = {a: 1, b: [1, 2, 3]}
for k in keys(m) { print(k, m[k]) }
for ch in "héllo" { total += 1 }
let adders = []
for i in 1..=3 {
  push(adders, fn(x) { return x + i })
}
state s = 0
for f in adders { s += f(100) }
print(s, total, 7 // 2, 2.5 * 2, -3 % 2, "x" + str(1.0 / 3))
try { let q = [1][5] } catch err { print(err.message) }
"#;

/// Golden programs used as corruption targets, besides `CLOSURES_TRY`.
const SAMPLES: &[&str] = &[
    "tests/vela/programs/bank_account.vela",
    "tests/vela/programs/primes.vela",
    "tests/vela/functions/anonymous.vela",
    "examples/fib.vela",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn compile_file(path: &str) -> Program {
    let src = std::fs::read_to_string(root().join(path)).expect("sample is readable");
    vela::compile_source(&src, path).expect("sample compiles")
}

/// The sample programs, each written plain and stripped.
fn sample_files() -> Vec<(String, Vec<u8>)> {
    let mut programs = vec![(
        "closures_try".to_string(),
        vela::compile_source(CLOSURES_TRY, "closures_try.vela").expect("compiles"),
    )];
    for path in SAMPLES {
        programs.push((path.to_string(), compile_file(path)));
    }
    let mut files = Vec::new();
    for (name, p) in programs {
        files.push((name.clone(), write(&p, false)));
        files.push((format!("{name} (stripped)"), write(&p, true)));
    }
    files
}

/// Where the payload starts, from the header's payload length.
fn payload_start(bytes: &[u8]) -> usize {
    let h = format::header(bytes).expect("valid header");
    bytes.len() - h.payload_len as usize
}

/// `template`'s header with `payload`, the length and checksum fixed up.
fn seal(template: &[u8], payload: &[u8]) -> Vec<u8> {
    let start = payload_start(template);
    let mut out = template[..start].to_vec();
    let len_at = start - 12;
    out[len_at..len_at + 4].copy_from_slice(&(payload.len() as u32).to_le_bytes());
    let sum = fnv1a64(&[&out[..start - 8], payload]);
    out[start - 8..start].copy_from_slice(&sum.to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// Every `.vela` file under `dir`.
fn vela_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable directory") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            vela_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "vela") {
            out.push(path);
        }
    }
}

#[test]
fn every_compiled_program_verifies_and_round_trips() {
    let mut files = Vec::new();
    vela_files(&root().join("tests/vela"), &mut files);
    vela_files(&root().join("examples"), &mut files);
    files.sort();
    let mut checked = 0;
    for path in &files {
        let src = std::fs::read_to_string(path).expect("readable");
        let name = path.to_string_lossy();
        let Ok(program) = vela::compile_source(&src, &name) else {
            continue;
        };
        if let Err(e) = verify(&program) {
            panic!("{name}: the compiler's output fails verification: {e}");
        }
        for strip in [false, true] {
            let bytes = write(&program, strip);
            let back = load(&bytes).unwrap_or_else(|e| panic!("{name} (strip {strip}): {e}"));
            assert_eq!(
                write(&back, strip),
                bytes,
                "{name}: rewriting a loaded file changes it"
            );
            assert_eq!(back.main.code.len(), program.main.code.len());
        }
        checked += 1;
    }
    println!("{checked} compiled programs verified");
    assert!(checked >= 250, "only {checked} programs compiled");
}

#[test]
fn truncation_at_every_offset_is_refused() {
    for (name, bytes) in sample_files() {
        for len in 0..bytes.len() {
            if let Ok(_p) = load(&bytes[..len]) {
                panic!("{name}: truncated to {len} of {} bytes loads", bytes.len());
            }
        }
        assert!(load(&bytes).is_ok(), "{name}");
    }
}

#[test]
fn every_single_byte_change_is_refused() {
    // FNV-1a over the whole file detects any single changed byte, and a change to
    // the stored checksum or length no longer matches; so every change is an error.
    for (name, bytes) in sample_files() {
        for i in 0..bytes.len() {
            for change in [0xffu8, 1] {
                let mut b = bytes.clone();
                b[i] = if change == 0xff {
                    b[i] ^ 0xff
                } else {
                    b[i].wrapping_add(1)
                };
                if load(&b).is_ok() {
                    panic!("{name}: byte {i} changed ({change:#x}) still loads");
                }
            }
        }
    }
}

#[test]
fn huge_lengths_are_refused_before_allocating() {
    let template = write(
        &vela::compile_source("print(1)", "t").expect("compiles"),
        false,
    );
    let max = [0xff, 0xff, 0xff, 0xff, 0x0f]; // u32::MAX as LEB128
    let huge64 = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]; // u64::MAX
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("chunk name length", [&max[..], b"x"].concat()),
        ("chunk name length u64", [&huge64[..], b"x"].concat()),
        ("global count", [&[0u8][..], &max[..]].concat()),
        // chunk "", no globals, name "", arity 0, 1 register, 0 stack, code count
        (
            "instruction count",
            [&[0u8, 0, 0, 0, 1, 0][..], &max[..]].concat(),
        ),
        (
            "constant count",
            [&[0u8, 0, 0, 0, 1, 0, 1, 41][..], &max[..]].concat(),
        ),
        (
            "capture count",
            [&[0u8, 0, 0, 0, 1, 0, 1, 41, 0][..], &max[..]].concat(),
        ),
        (
            "line runs",
            [&[0u8, 0, 0, 0, 1, 0, 1, 41, 0, 0][..], &max[..]].concat(),
        ),
        (
            "line run length",
            [&[0u8, 0, 0, 0, 1, 0, 1, 41, 0, 0, 1, 2][..], &max[..]].concat(),
        ),
        (
            "function count",
            [&[0u8, 0, 0, 0, 1, 0, 1, 41, 0, 0, 0][..], &max[..]].concat(),
        ),
        (
            "string constant length",
            [&[0u8, 0, 0, 0, 1, 0, 1, 41, 1, 2][..], &max[..]].concat(),
        ),
    ];
    // The minimal valid payload these are variations of.
    let ok = seal(&template, &[0, 0, 0, 0, 1, 0, 1, 41, 0, 0, 0, 0]);
    load(&ok).expect("the minimal program loads");
    for (what, payload) in cases {
        let e = read(&seal(&template, &payload)).expect_err(what);
        assert!(matches!(e, LoadError::Corrupt { .. }), "{what}: {e}");
    }
    // The payload length in the header.
    let mut b = template.clone();
    let at = payload_start(&b) - 12;
    b[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(read(&b), Err(LoadError::Length { .. })));
    // The compiler version length.
    let mut b = template.clone();
    b[format::MAGIC.len() + 2] = 0xff;
    assert!(read(&b).is_err());
}

#[test]
fn deep_nesting_is_refused() {
    let template = write(
        &vela::compile_source("print(1)", "t").expect("compiles"),
        false,
    );
    // Each level: name "", arity 0, 1 register, 0 stack, code [RETURN0], no
    // constants, captures or lines, then one nested function.
    let mut payload = vec![0u8, 0];
    let depth = 100_000;
    for _ in 0..depth {
        payload.extend_from_slice(&[0, 0, 1, 0, 1, 41, 0, 0, 0, 1]);
    }
    let e = read(&seal(&template, &payload)).expect_err("too deep");
    assert!(e.to_string().contains("nested deeper"), "{e}");
}

/// A small xorshift generator: deterministic "random" input.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn random_bytes_are_refused() {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let template = write(
        &vela::compile_source("print(1)", "t").expect("compiles"),
        false,
    );
    for round in 0..20_000 {
        let len = rng.below(600);
        let body: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        // Plain noise, noise after the magic, and noise as a sealed payload (valid
        // header and checksum, so the decoder itself is exercised).
        assert!(load(&body).is_err());
        let mut with_magic = format::MAGIC.to_vec();
        with_magic.extend_from_slice(&body);
        assert!(load(&with_magic).is_err());
        let sealed = seal(&template, &body);
        if let Ok(p) = load(&sealed) {
            // Possible in principle; it must then be runnable.
            run_guarded(&p).unwrap_or_else(|e| panic!("round {round}: {e}"));
        }
    }
}

/// Runs a verified program with output discarded, stopped after a short time;
/// a panic is returned as an error.
fn run_guarded(p: &Program) -> Result<(), String> {
    let mut vm = Vm::with_output(Box::new(std::io::sink()));
    let stop = vm.interrupt_handle();
    let (tx, rx) = mpsc::channel::<()>();
    let watchdog = thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(Duration::from_millis(20)) {
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    });
    let result = catch_unwind(AssertUnwindSafe(|| {
        let main = vm.load(p).expect("verified programs load");
        let _ = vm.call_value(main, &[]);
    }));
    drop(tx);
    let _ = watchdog.join();
    result.map_err(|e| {
        e.downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panic".to_string())
    })
}

#[test]
fn mutations_past_the_checksum_never_panic() {
    // One thread per sample file (most of the time goes to waiting for looping
    // mutants to be interrupted); large stacks, as a mutated program could print a
    // deeply nested value.
    let handles: Vec<_> = sample_files()
        .into_iter()
        .map(|(name, bytes)| {
            thread::Builder::new()
                .stack_size(64 << 20)
                .spawn(move || mutation_campaign(&name, &bytes))
                .expect("thread starts")
        })
        .collect();
    let (mut accepted, mut refused) = (0, 0);
    let mut panics = Vec::new();
    for h in handles {
        let r = h.join().expect("the campaign itself does not panic");
        accepted += r.0;
        refused += r.1;
        panics.extend(r.2);
    }
    println!("mutations: {accepted} accepted and run, {refused} refused");
    assert!(
        panics.is_empty(),
        "{} panics:\n{}",
        panics.len(),
        panics.join("\n")
    );
}

/// Every payload byte of one file changed in three ways (xor 0xff, +1, -1), the
/// checksum fixed up: (accepted, refused, panics).
fn mutation_campaign(name: &str, bytes: &[u8]) -> (usize, usize, Vec<String>) {
    let mut accepted = 0usize;
    let mut refused = 0usize;
    let mut panics = Vec::new();
    let start = payload_start(bytes);
    let payload = &bytes[start..];
    for i in 0..payload.len() {
        for change in 0..3 {
            let mut m = payload.to_vec();
            m[i] = match change {
                0 => m[i] ^ 0xff,
                1 => m[i].wrapping_add(1),
                _ => m[i].wrapping_sub(1),
            };
            let file = seal(bytes, &m);
            match catch_unwind(|| load(&file)) {
                Err(_) => panics.push(format!("{name}: byte {i} change {change}: load panicked")),
                Ok(Err(_)) => refused += 1,
                Ok(Ok(p)) => {
                    accepted += 1;
                    if let Err(e) = run_guarded(&p) {
                        panics.push(format!(
                            "{name}: payload byte {i} change {change}: the VM panicked: {e}"
                        ));
                    }
                }
            }
        }
    }
    (accepted, refused, panics)
}

/// Hand-assembled programs that pass the verifier but do what the compiler never
/// does; the VM must stop them with an error (or the interrupt), never a panic.
#[test]
fn weird_verified_programs_do_not_panic() {
    use vela::bytecode::{Constant, FnProto, Instr::*};
    let program = |code, consts, num_regs, max_stack| Program {
        chunk: "weird".into(),
        globals: vec!["print".into()],
        main: FnProto {
            name: "<script>".into(),
            num_regs,
            max_stack,
            code,
            consts,
            ..FnProto::default()
        },
    };
    let cases = vec![
        (
            "FORLOOP over i64::MAX (no FORPREP)",
            program(
                vec![
                    LoadK { a: 0, k: 0 },
                    LoadK { a: 1, k: 1 },
                    ForLoop { a: 0, off: -1 },
                    LoadK { a: 1, k: 0 },
                    ForLoop { a: 0, off: -1 },
                    Return0,
                ],
                vec![Constant::Int(i64::MAX), Constant::Int(i64::MIN)],
                3,
                0,
            ),
        ),
        (
            "error with values pushed inside a try",
            program(
                vec![
                    Push { a: 0 },
                    TryBegin { a: 1, off: 3 },
                    Push { a: 0 },
                    Neg { a: 0, b: 0 },
                    Return0,
                    Pop { a: 0 },
                    Jmp { off: -7 },
                ],
                vec![],
                2,
                2,
            ),
        ),
        (
            "ITERNEXT without ITERPREP",
            program(
                vec![
                    LoadK { a: 0, k: 0 },
                    LoadInt { a: 1, i: 1 },
                    LoadInt { a: 2, i: 0 },
                    IterNext { a: 0, off: 1 },
                    Jmp { off: -2 },
                    Return0,
                ],
                vec![Constant::Str("héllo".into())],
                4,
                0,
            ),
        ),
        (
            "an endless loop",
            program(vec![Jmp { off: -1 }], vec![], 1, 0),
        ),
        (
            "an endless loop through catch",
            program(
                vec![
                    TryBegin { a: 0, off: 1 },
                    Neg { a: 0, b: 0 },
                    Jmp { off: -3 },
                ],
                vec![],
                1,
                0,
            ),
        ),
        (
            "calling the main function's own register window",
            program(
                vec![
                    GetGlobal { a: 0, g: 0 },
                    Call { a: 0, b: 0 },
                    Call { a: 0, b: 0 },
                    Return { a: 0 },
                ],
                vec![],
                1,
                0,
            ),
        ),
    ];
    for (what, p) in cases {
        verify(&p).unwrap_or_else(|e| panic!("{what}: {e}"));
        run_guarded(&p).unwrap_or_else(|e| panic!("{what}: the VM panicked: {e}"));
    }
}

/// The compiler's nesting limit and the format's agree: the deepest program the
/// compiler accepts round-trips, verifies and runs; one level more is a compile error.
#[test]
fn deepest_compilable_nesting_loads() {
    let nest = |n: usize| {
        let mut src = String::new();
        for i in 0..n {
            src.push_str(&format!("fn f{i}() {{\n"));
        }
        src.push_str("print(\"deep\")\n");
        for i in (0..n).rev() {
            src.push_str(&format!("}}\nf{i}()\n"));
        }
        src
    };
    let deepest = format::MAX_NESTING;
    // The front end recurses deeply (the CLI gives it a large stack too); loading,
    // verifying and running run on this test's ordinary thread.
    let compile = move |n: usize| {
        thread::Builder::new()
            .stack_size(256 << 20)
            .spawn(move || vela::compile_source(&nest(n), "deep.vela"))
            .expect("thread starts")
            .join()
            .expect("compiling does not panic")
    };
    let p = compile(deepest).expect("compiles");
    for strip in [false, true] {
        let back = load(&write(&p, strip)).expect("loads");
        run_guarded(&back).expect("runs");
    }
    let e = compile(deepest + 1).expect_err("too deep");
    assert_eq!(e.message, "functions nested too deeply");
}
