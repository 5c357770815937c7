#![no_main]

use libfuzzer_sys::fuzz_target;
use vela::vm::{Limits, Vm};

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(program) = vela::compile_source(source, "fuzz.vela") else {
        return;
    };
    let mut vm = Vm::with_output(Box::new(std::io::sink()));
    vm.set_limits(Limits {
        max_instructions: Some(100_000),
        max_memory: 16 << 20,
        ..Limits::default()
    });
    if let Ok(main) = vm.load(&program) {
        let _ = vm.call_value(main, &[]);
    }
});
