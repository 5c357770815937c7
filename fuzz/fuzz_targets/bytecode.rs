//! Fuzzes loading and running bytecode under the sandbox limits through the
//! embedding API: arbitrary bytes → `Vm::load` (decode + verify) → run with an
//! instruction limit and a memory limit, the result converted out of the VM.
//! Nothing may panic, hang (the limits must stop every program) or abort.
//!
//! As in the `load` target, each input is also tried with its payload length and
//! checksum recomputed, so that mutations reach the decoder, the verifier and the
//! interpreter instead of stopping at the checksum.

#![no_main]

use libfuzzer_sys::fuzz_target;
use vela::bytecode::format::reseal;

fn run(bytes: &[u8]) {
    let mut vm = vela::Vm::builder()
        .output(std::io::sink())
        .max_instructions(100_000)
        .max_memory(16 << 20)
        .max_call_depth(10_000)
        .build();
    let Ok(script) = vm.load(bytes) else { return };
    // Twice: a VM must be usable again after any error.
    let _ = vm.run(&script);
    let _ = vm.run(&script);
}

fuzz_target!(|data: &[u8]| {
    run(data);
    if let Some(sealed) = reseal(data) {
        run(&sealed);
    }
});
