//! Fuzzes the whole pipeline through the embedding API: arbitrary UTF-8 source →
//! compile → run under an instruction limit (100k) and a memory limit (16 MiB),
//! output discarded, the result converted out of the VM. Nothing may panic, hang
//! or abort; the VM must be usable after whatever happened.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    let mut vm = vela::Vm::builder()
        .output(std::io::sink())
        .max_instructions(100_000)
        .max_memory(16 << 20)
        .build();
    let _ = vm.eval(source);
    // The VM stays usable after any error.
    assert_eq!(vm.eval("1 + 1").ok(), Some(vela::Dynamic::Int(2)));
});
