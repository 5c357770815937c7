//! How much heap a fresh VM takes, measured with a counting global allocator, and
//! what dominates it. `cargo test --test vm_size -- --nocapture` prints the figures.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static COUNT: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::SeqCst);
        COUNT.fetch_add(1, Ordering::SeqCst);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
        COUNT.fetch_sub(1, Ordering::SeqCst);
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Ordering::SeqCst);
        LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Bytes and blocks still allocated after `f` returns its value (kept alive).
fn measure<T>(f: impl FnOnce() -> T) -> (T, usize, usize) {
    let (b0, c0) = (LIVE.load(Ordering::SeqCst), COUNT.load(Ordering::SeqCst));
    let v = f();
    let (b1, c1) = (LIVE.load(Ordering::SeqCst), COUNT.load(Ordering::SeqCst));
    (v, b1.wrapping_sub(b0), c1.wrapping_sub(c0))
}

// One test only, so that no other test thread allocates while this one measures.
#[test]
fn fresh_vm_size() {
    // Warm up lazily initialised runtime state (stdout, thread-locals).
    drop(vela::Vm::builder().output(std::io::sink()).build());

    let (vm, bytes, blocks) = measure(|| vela::Vm::builder().output(std::io::sink()).build());
    println!("fresh vela::Vm (embedding API): {bytes} bytes in {blocks} blocks");
    let (inner, ibytes, iblocks) = measure(|| vela::vm::Vm::with_output(Box::new(std::io::sink())));
    println!("  internal vela::vm::Vm:         {ibytes} bytes in {iblocks} blocks");
    let (table, tbytes, tblocks) = measure(vela::builtin_globals);
    println!("  compiler's global table:       {tbytes} bytes in {tblocks} blocks");
    let (heap, hbytes, hblocks) = measure(|| {
        let mut h = vela::vm::heap::Heap::new();
        let ascii: Vec<_> = (0u8..128)
            .map(|b| h.alloc_str((b as char).to_string()))
            .collect();
        (h, ascii)
    });
    println!("  heap with the 128 ASCII strings: {hbytes} bytes in {hblocks} blocks");
    println!(
        "  register file: none until the first run, then {} bytes (256 registers)",
        256 * std::mem::size_of::<vela::vm::Value>()
    );
    let (ran, rbytes, _) = measure(|| {
        let mut vm = vela::Vm::builder().output(std::io::sink()).build();
        vm.eval("1 + 1").unwrap();
        vm
    });
    println!("a VM after running `1 + 1`: {rbytes} bytes");
    println!(
        "  size_of::<Obj>() = {}, size_of::<vela::Vm>() = {}",
        std::mem::size_of::<vela::vm::object::Obj>(),
        std::mem::size_of::<vela::Vm>()
    );
    let (vms, kbytes, _) = measure(|| {
        (0..1000)
            .map(|_| vela::Vm::builder().output(std::io::sink()).build())
            .collect::<Vec<_>>()
    });
    println!("1000 VMs: {} bytes each", kbytes / 1000);
    assert!(bytes < 64 * 1024, "a fresh VM takes {bytes} bytes");
    drop((vm, inner, table, heap, vms, ran));
}
