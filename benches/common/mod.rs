//! Helpers shared by the criterion benches: compile Vela source once, outside the
//! timed loop, and hand back a VM with the script's functions defined.

#![allow(dead_code)]

use criterion::Criterion;
use std::time::Duration;
use vela::vm::{Value, Vm};

/// Modest settings so `cargo bench` finishes in a few minutes on a 2-core machine.
pub fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

/// A fresh VM that discards what `print` writes.
pub fn quiet_vm() -> Vm {
    Vm::with_output(Box::new(std::io::sink()))
}

/// Compiles `source`, runs its top level on a fresh VM (defining its functions)
/// and returns the VM with the global function `name`.
pub fn load_fn(source: &str, name: &str) -> (Vm, Value) {
    let program = vela::compile_source(source, "bench.vela")
        .unwrap_or_else(|e| panic!("bench source does not compile: {e:?}\n{source}"));
    let mut vm = quiet_vm();
    let main = vm.load(&program).expect("verifies");
    vm.call_value(main, &[])
        .unwrap_or_else(|e| panic!("bench source fails: {e:?}"));
    let f = vm
        .get_global(name)
        .unwrap_or_else(|| panic!("bench source defines no '{name}'"));
    (vm, f)
}

/// Calls `f` with Int arguments, panicking on a runtime error.
pub fn call(vm: &mut Vm, f: Value, args: &[Value]) -> Value {
    match vm.call_value(f, args) {
        Ok(v) => v,
        Err(e) => panic!("bench call failed: {e:?}"),
    }
}

/// The Int a bench function returned.
pub fn int(v: Value) -> i64 {
    match v {
        Value::Int(i) => i,
        other => panic!("expected an Int result, got {other:?}"),
    }
}
