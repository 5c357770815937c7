//! Fuzzes the .velac loader: decoding and verification must refuse bad input
//! without panicking, and whatever they accept must run in the VM without panicking.
//!
//! Random bytes rarely get past the checksum, so each input is tried twice: as it
//! is, and with its payload length and checksum recomputed (when its header is
//! readable), which sends the mutations into the decoder and the verifier.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::mpsc;
use std::time::Duration;
use vela::bytecode::format::{load, reseal};
use vela::vm::Vm;

fn run(program: &vela::bytecode::Program) {
    let mut vm = Vm::with_output(Box::new(std::io::sink()));
    let stop = vm.interrupt_handle();
    let (tx, rx) = mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(Duration::from_millis(50)) {
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    });
    if let Ok(main) = vm.load(program) {
        let _ = vm.call_value(main, &[]);
    }
    drop(tx);
    let _ = watchdog.join();
}

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = load(data) {
        run(&p);
    }
    if let Some(sealed) = reseal(data) {
        if let Ok(p) = load(&sealed) {
            run(&p);
        }
    }
});
