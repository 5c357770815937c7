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
use vela::bytecode::format::{fnv1a64, header};

fn reseal(data: &[u8]) -> Option<Vec<u8>> {
    let h = header(data).ok()?;
    let mut v = data.to_vec();
    let len = u32::try_from(v.len() - h.len).ok()?;
    v[h.len - 12..h.len - 8].copy_from_slice(&len.to_le_bytes());
    let sum = fnv1a64(&[&v[..h.len - 8], &v[h.len..]]);
    v[h.len - 8..h.len].copy_from_slice(&sum.to_le_bytes());
    Some(v)
}

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
