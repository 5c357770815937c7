//! Replays the inputs the fuzzers found (fuzz/regressions/) the way the fuzz
//! targets run them: none may panic, and each must finish within the limits.

use std::time::{Duration, Instant};
use vela::bytecode::format::reseal;

fn limited_vm() -> vela::Vm {
    vela::Vm::builder()
        .output(std::io::sink())
        .max_instructions(100_000)
        .max_memory(16 << 20)
        .max_call_depth(10_000)
        .build()
}

fn files(dir: &str, ext: Option<&str>) -> Vec<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && ext.is_none_or(|x| p.extension().is_some_and(|e| e == x)))
        .collect();
    out.sort();
    out
}

#[test]
fn bytecode_regressions() {
    let inputs = files("fuzz/regressions/bytecode", None);
    assert!(inputs.len() >= 3);
    for path in inputs {
        let data = std::fs::read(&path).unwrap();
        // A file the loader refuses tests nothing but the header check: when the
        // format changes, these must be written again in the new one.
        assert!(
            vela::bytecode::format::load(&data).is_ok(),
            "{} does not load: re-encode it for format {}",
            path.display(),
            vela::bytecode::format::FORMAT_VERSION
        );
        let start = Instant::now();
        // (Resealed only when that changes it: a valid file reseals to itself.)
        let resealed = reseal(&data).filter(|r| *r != data);
        for bytes in [Some(data.clone()), resealed].into_iter().flatten() {
            let mut vm = limited_vm();
            if let Ok(script) = vm.load(&bytes) {
                let _ = vm.run(&script);
                let _ = vm.run(&script);
                vm.collect_garbage();
                let _ = vm.run(&script);
            }
        }
        let took = start.elapsed();
        assert!(
            took < Duration::from_secs(20),
            "{}: {took:?}",
            path.display()
        );
    }
}

#[test]
fn source_regressions() {
    for path in files("fuzz/regressions", Some("vela")) {
        let source = std::fs::read_to_string(&path).unwrap();
        let start = Instant::now();
        let mut vm = limited_vm();
        let _ = vm.eval(&source);
        assert_eq!(vm.eval("1 + 1").unwrap(), vela::Dynamic::Int(2));
        let took = start.elapsed();
        assert!(
            took < Duration::from_secs(20),
            "{}: {took:?}",
            path.display()
        );
    }
}
