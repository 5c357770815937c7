//! The virtual machine: one register file shared by every call frame (each frame is
//! a window over it), globals addressed by slot, a garbage-collected heap, and the
//! built-in functions. It runs bytecode [`Program`]s and knows no source text.

pub mod builtins;
mod error;
mod fastdiv;
pub mod format;
pub mod heap;
mod interp;
pub mod object;
mod ops;
pub mod value;

pub use error::{Raise, RuntimeError, TraceFrame, VmError};
pub use value::{ObjRef, Value};

use interp::arity_error as interp_arity_error;

use crate::bytecode::verify::{depth_table, verify, VerifyError, UNREACHED};
use crate::bytecode::{Capture, Constant, FnProto, Instr, Program};
use heap::Heap;
use indexmap::IndexSet;
use object::{Closure, Obj, Upval};
use std::io::Write;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Deepest call nesting before `stack overflow` (unless a lower limit is set).
pub const MAX_FRAMES: usize = 220_000;
/// The largest string or list a program may build even without limits: beyond
/// this an allocation is refused with `out of memory` rather than left to the
/// operating system (which would kill the process).
pub const MAX_OBJECT_BYTES: usize = 1 << 32;

/// Limits on what a program may use, for running untrusted code. Every limit is
/// off by default (the CLI sets them from its flags); hitting one is a runtime
/// error no `try` can catch, and the VM stays usable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Instructions per run (`instruction limit exceeded`). Charged at calls and
    /// backward jumps: a loop iteration costs the instructions its body spans.
    pub max_instructions: Option<u64>,
    /// Bytes of heap in use (`memory limit exceeded`).
    pub max_memory: usize,
    /// Nested calls (`stack overflow`).
    pub max_call_depth: usize,
    /// Bytes in one string (`string length limit exceeded`).
    pub max_string_bytes: usize,
    /// Elements in one list or entries in one map (`list length limit exceeded`,
    /// `map length limit exceeded`).
    pub max_collection_len: usize,
    /// Wall-clock time per run (`time limit exceeded`).
    pub timeout: Option<std::time::Duration>,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_instructions: None,
            max_memory: usize::MAX,
            max_call_depth: MAX_FRAMES,
            max_string_bytes: MAX_OBJECT_BYTES,
            max_collection_len: MAX_OBJECT_BYTES / 16,
            timeout: None,
        }
    }
}

/// A function the host registered: called with the VM and the argument values.
/// `Err(Raise::Error(..))` is a runtime error `try` can catch; `Raise::Fatal` one
/// it cannot (an exceeded limit).
pub type HostFn = Rc<dyn Fn(&mut Vm, &[Value]) -> Result<Value, Raise>>;

pub(crate) struct Host {
    pub name: String,
    /// `None` accepts any number of arguments.
    pub arity: Option<u8>,
    pub func: HostFn,
}
/// Most registers the shared register file may hold (16 bytes each).
pub const MAX_REGISTERS: usize = 8_000_000;

/// A function prototype as loaded into this VM: constants turned into values,
/// global operands relocated to this VM's slots, nested prototypes by VM index.
pub struct RtProto {
    pub name: String,
    pub chunk: Rc<str>,
    pub arity: u8,
    pub num_regs: u8,
    pub max_stack: u8,
    pub code: Vec<Instr>,
    pub consts: Vec<Value>,
    /// The text of each String constant (`None` for numbers): the keys of
    /// GETFIELD/SETFIELD, without a trip through the heap.
    pub const_text: Vec<Option<Rc<str>>>,
    /// Per instruction, where GETFIELD/SETFIELD last found its key in a map.
    pub field_hints: Vec<std::cell::Cell<u32>>,
    /// Per instruction, what the loader worked out for it once: the reciprocal of
    /// a positive MODI or JMPMODNOTEQI divisor or of a positive IDIVI divisor that
    /// is not a power of two (see `fastdiv`), and the register of a PUSH's or POP's stack slot
    /// (`num_regs` + the verified depth, which is the same along every path, so no
    /// stack pointer is kept at run time; a slot below 256 makes the PUSH or POP a
    /// MOVE, see `stack_moves`). Empty when the function has none of
    /// these instructions; otherwise one entry per instruction, so a handler finds
    /// its own at its instruction's byte offset.
    pub precomputed: Vec<u64>,
    pub children: Vec<u32>,
    pub captures: Vec<Capture>,
    pub lines: Vec<u32>,
}

/// `RtProto::precomputed` for a verified function's (relocated) code.
fn precompute(code: &[Instr], p: &FnProto) -> Vec<u64> {
    let uses_stack = code
        .iter()
        .any(|ins| matches!(ins, Instr::Push { .. } | Instr::Pop { .. }));
    // Verified, so the table exists; an unreachable instruction never runs, and
    // gets slot 0 (inside the window: it names a register, so `num_regs >= 1`).
    let depths = if uses_stack {
        depth_table(&p.code, p.max_stack).map_or_else(|_| Vec::new(), |(d, _)| d)
    } else {
        Vec::new()
    };
    let slot = |pc: usize, below: u16| match depths.get(pc) {
        Some(&d) if d != UNREACHED && d >= below => p.num_regs as u64 + (d - below) as u64,
        _ => 0,
    };
    // MODI uses the reciprocal for every divisor above 0 (for 1 it wraps to 0,
    // which still gives remainder 0); IDIVI shifts for powers of two.
    let entry = |pc: usize, ins: &Instr| match *ins {
        Instr::ModI { i, .. } if i > 0 => Some(fastdiv::reciprocal(i as u32)),
        // (The verifier refused `k == 0`.)
        Instr::JmpModNotEqI { k, .. } => Some(fastdiv::reciprocal(k.max(1) as u32)),
        Instr::IDivI { i, .. } if i > 0 && i & (i - 1) != 0 => Some(fastdiv::reciprocal(i as u32)),
        // A PUSH writes the slot at the depth before it, a POP reads the one below.
        Instr::Push { .. } => Some(slot(pc, 0)),
        Instr::Pop { .. } => Some(slot(pc, 1)),
        _ => None,
    };
    if code
        .iter()
        .enumerate()
        .any(|(pc, ins)| entry(pc, ins).is_some())
    {
        code.iter()
            .enumerate()
            .map(|(pc, ins)| entry(pc, ins).unwrap_or(0))
            .collect()
    } else {
        Vec::new()
    }
}

/// A PUSH or POP whose stack slot (`precomputed`) is a register number that fits
/// an operand is a register copy: it becomes that MOVE, which needs no look-up of
/// the slot when it runs. (The slot lies inside the frame's window: `num_regs`
/// plus a depth the verifier proved below `max_stack`.)
fn stack_moves(code: &mut [Instr], precomputed: &[u64]) {
    for (ins, &slot) in code.iter_mut().zip(precomputed) {
        let Ok(slot) = u8::try_from(slot) else {
            continue;
        };
        match *ins {
            Instr::Push { a } => *ins = Instr::Move { a: slot, b: a },
            Instr::Pop { a } => *ins = Instr::Move { a, b: slot },
            _ => {}
        }
    }
}

impl RtProto {
    /// Registers a frame of this function needs above its base.
    pub fn window(&self) -> usize {
        self.num_regs as usize + self.max_stack as usize
    }
}

/// A call frame: which closure runs, where its window starts, and where it is.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Frame {
    pub closure: ObjRef,
    pub proto: u32,
    /// The next instruction to run, as a pointer into `rt`'s code (saving and
    /// resuming a frame, at every call and return, is then a plain copy; use
    /// `Frame::pc` for its index).
    pub ip: *const Instr,
    /// Absolute index of the window's register 0.
    pub base: usize,
    /// The prototype `proto` names and the closure's upvalue array, kept so that
    /// returning to this frame needs no look-ups. Both stay valid while the frame
    /// exists: prototypes are only ever appended to `Vm::protos` (each behind an
    /// `Rc`), and the closure (a collector root through this frame) never changes
    /// its boxed upvalue slice.
    pub rt: *const RtProto,
    pub upvals: *const ObjRef,
}

impl Frame {
    /// The index of the next instruction in the frame's code.
    pub fn pc(&self) -> usize {
        // SAFETY: `rt` is valid while the frame exists (see the field).
        let code = unsafe { &*self.rt }.code.as_ptr();
        (self.ip as usize - code as usize) / std::mem::size_of::<Instr>()
    }

    /// Continues the frame at instruction `pc` of its code.
    pub fn set_pc(&mut self, pc: usize) {
        // SAFETY: as in `pc`.
        self.ip = unsafe { &*self.rt }.code.as_ptr().wrapping_add(pc);
    }
}

/// An active `try` block.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Handler {
    /// `frames.len()` when the try began.
    pub depth: usize,
    /// Where the catch block starts.
    pub pc: usize,
    /// Absolute register that receives the error map.
    pub reg: usize,
}

/// How much of the instruction budget is handed out at a time (see `Vm::refuel`):
/// also the most instructions between two polls of the interrupt flag.
const FUEL_SLICE: i64 = 1 << 14;

pub struct Vm {
    pub(crate) regs: Vec<Value>,
    /// A reusable buffer for building new strings (taken and given back around
    /// each use), so that a new string costs one allocation, its own.
    pub(crate) scratch: String,
    /// One past the highest register any frame's window reached since the register
    /// file was last cleared: only registers below it can hold a value (everything
    /// above is Nil), so clearing after a run stops here.
    pub(crate) reg_top: usize,
    pub(crate) frames: Vec<Frame>,
    pub(crate) handlers: Vec<Handler>,
    pub(crate) globals: Vec<Option<Value>>,
    pub(crate) global_names: IndexSet<String>,
    pub(crate) protos: Vec<Rc<RtProto>>,
    pub heap: Heap,
    /// Captured variables still living in registers, sorted by register index.
    pub(crate) open_upvals: Vec<(usize, ObjRef)>,
    /// One-character strings for ASCII, shared by indexing and iteration.
    pub(crate) ascii: Vec<Value>,
    pub(crate) out: Box<dyn Write>,
    pub(crate) script_args: Vec<String>,
    pub(crate) start: std::time::Instant,
    /// Set from anywhere (another thread, a Ctrl-C handler) to stop the running
    /// program with the error `interrupted`; checked on backward jumps and calls.
    pub(crate) interrupt: Arc<AtomicBool>,
    pub(crate) limits: Limits,
    /// Instructions left in the current slice of the run's budget (see
    /// [`Limits::max_instructions`] and [`Vm::refuel`]).
    pub(crate) fuel: i64,
    /// The rest of the run's budget, not yet moved into `fuel`.
    pub(crate) fuel_reserve: i64,
    /// A run's whole budget: [`Limits::max_instructions`] as an `i64`, computed
    /// when the limits are set rather than at every call.
    budget: i64,
    pub(crate) hosts: Vec<Host>,
    /// Interned string constants (rooted: the loaded functions hold them).
    pub(crate) constants: std::collections::HashMap<Box<str>, Value>,
    /// Set by the watchdog of a run with a timeout, with `interrupt`.
    pub(crate) timed_out: Arc<AtomicBool>,
    /// Values the embedder holds handles to (functions, compiled scripts): GC roots.
    /// A released slot holds `Nil`.
    pub(crate) pinned: Vec<Value>,
    /// Whether the last uncaught runtime error was one no `try` could catch (an
    /// exceeded limit or an interrupt), as opposed to one with the same message
    /// raised by the program.
    pub(crate) last_error_fatal: bool,
}

/// How a run inside `call_value` ended: its result is in register 0, or the error
/// is boxed, so that this is one word returned in a machine register (a
/// `Result<(), VmError>` goes through memory, where its copies are stored and
/// loaded in pieces of different widths, each a store-forwarding stall).
type Outcome = Result<(), Box<VmError>>;

/// Stops a run after its timeout: a thread that sets the interrupt flag unless it
/// is dropped first.
struct Watchdog {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Watchdog {
    // Out of line: the channel's cache-line-aligned state would otherwise give
    // every `call_value` a large, realigned stack frame.
    #[cold]
    #[inline(never)]
    fn start(
        after: std::time::Duration,
        interrupt: Arc<AtomicBool>,
        timed_out: Arc<AtomicBool>,
    ) -> Watchdog {
        let (stop, wait) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = wait.recv_timeout(after) {
                timed_out.store(true, Ordering::Relaxed);
                interrupt.store(true, Ordering::Relaxed);
            }
        });
        Watchdog {
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Default for Vm {
    fn default() -> Vm {
        Vm::new()
    }
}

impl Vm {
    /// A VM with the built-ins defined, printing to stdout.
    pub fn new() -> Vm {
        Vm::with_output(Box::new(std::io::BufWriter::new(std::io::stdout())))
    }

    pub fn with_output(out: Box<dyn Write>) -> Vm {
        let mut vm = Vm {
            // Grown by the first call (to 256 registers at least): a VM that has
            // not run anything yet holds none.
            regs: Vec::new(),
            scratch: String::new(),
            reg_top: 0,
            frames: Vec::new(),
            handlers: Vec::new(),
            globals: Vec::new(),
            global_names: IndexSet::new(),
            protos: Vec::new(),
            heap: Heap::new(),
            open_upvals: Vec::new(),
            ascii: Vec::new(),
            out,
            script_args: Vec::new(),
            start: std::time::Instant::now(),
            interrupt: Arc::new(AtomicBool::new(false)),
            limits: Limits::default(),
            fuel: i64::MAX,
            fuel_reserve: 0,
            budget: i64::MAX,
            hosts: Vec::new(),
            constants: Default::default(),
            timed_out: Arc::new(AtomicBool::new(false)),
            pinned: Vec::new(),
            last_error_fatal: false,
        };
        for (i, b) in builtins::BUILTINS.iter().enumerate() {
            let slot = vm.global_slot(b.name);
            vm.globals[slot as usize] = Some(Value::Native(i as u32));
        }
        vm.ascii = (0u8..128)
            .map(|b| vm.heap.alloc_str((b as char).to_string()))
            .collect();
        vm
    }

    /// A handle that stops the running program with the error `interrupted` when set
    /// to true (from another thread or a signal handler). The VM clears it when it
    /// reports the interruption.
    pub fn interrupt_handle(&self) -> Arc<AtomicBool> {
        self.interrupt.clone()
    }

    /// Sets the limits for the runs that follow.
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
        self.budget = limits
            .max_instructions
            .map_or(i64::MAX, |n| i64::try_from(n).unwrap_or(i64::MAX));
        self.heap.set_limit(limits.max_memory);
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Defines a global function implemented by the host. `arity` is checked before
    /// each call (`None`: any number of arguments). An `Err` the function returns
    /// is a runtime error `try` can catch; a panic is caught and becomes one too.
    pub fn register_host(&mut self, name: &str, arity: Option<u8>, func: HostFn) {
        let index = builtins::BUILTINS.len() + self.hosts.len();
        self.hosts.push(Host {
            name: name.to_string(),
            arity,
            func,
        });
        self.set_global(name, Value::Native(index as u32));
    }

    /// Calls host function `index` with the `n` arguments at absolute register
    /// `start`.
    pub(crate) fn call_host(
        &mut self,
        index: usize,
        start: usize,
        n: usize,
    ) -> Result<Value, Raise> {
        let Some(host) = self.hosts.get(index) else {
            return Err(Raise::Error("invalid host function".to_string()));
        };
        if let Some(arity) = host.arity {
            if arity as usize != n {
                return Err(interp_arity_error(&host.name, arity as usize, n));
            }
        }
        let (name, func) = (host.name.clone(), host.func.clone());
        let args: Vec<Value> = self.regs[start..start + n].to_vec();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| func(self, &args)));
        match result {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(raise)) => Err(raise),
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "panic".to_string());
                Err(Raise::Error(format!(
                    "host function '{name}' panicked: {what}"
                )))
            }
        }
    }

    /// Called when a charge took `fuel` below zero: polls the interrupt flag and
    /// moves the next slice of the budget into `fuel`. False when the run must
    /// stop (see `budget_stop` for why).
    ///
    /// The budget is handed out in slices so that the checks on the hot paths
    /// (backward jumps, calls) are one comparison; the interrupt flag, which
    /// another thread sets, is polled here, at least once every `FUEL_SLICE`
    /// instructions.
    #[cold]
    #[inline(never)]
    pub(crate) fn refuel(&mut self) -> bool {
        if self.interrupt.load(Ordering::Relaxed) {
            return false;
        }
        let take = self.fuel_reserve.min(FUEL_SLICE.saturating_sub(self.fuel));
        self.fuel += take;
        self.fuel_reserve -= take;
        self.fuel >= 0
    }

    /// Why a run stopped at a budget check: an interrupt, or the instruction limit.
    #[cold]
    pub(crate) fn budget_stop(&self) -> Raise {
        if self.timed_out.load(Ordering::Relaxed) {
            Raise::Fatal("time limit exceeded".to_string())
        } else if self.interrupt.load(Ordering::Relaxed) {
            Raise::Fatal("interrupted".to_string())
        } else {
            Raise::Fatal("instruction limit exceeded".to_string())
        }
    }

    /// Checks that a string of `len` bytes may be built.
    pub(crate) fn check_string(&self, len: usize) -> Result<(), Raise> {
        if len > self.limits.max_string_bytes {
            let message = if len > MAX_OBJECT_BYTES {
                "out of memory"
            } else {
                "string length limit exceeded"
            };
            return Err(Raise::Fatal(message.to_string()));
        }
        self.check_memory(len)
    }

    /// Checks that a list (or map) may grow to `len` elements.
    pub(crate) fn check_len(&self, len: usize, what: &str) -> Result<(), Raise> {
        if len > self.limits.max_collection_len {
            let message = if len > MAX_OBJECT_BYTES / 16 {
                "out of memory".to_string()
            } else {
                format!("{what} length limit exceeded")
            };
            return Err(Raise::Fatal(message));
        }
        Ok(())
    }

    /// Checks that `more` bytes may be allocated under the memory limit.
    pub(crate) fn check_memory(&self, more: usize) -> Result<(), Raise> {
        if self.heap.bytes().saturating_add(more) > self.limits.max_memory {
            return Err(Raise::Fatal("memory limit exceeded".to_string()));
        }
        Ok(())
    }

    /// Sets what `args()` returns.
    pub fn set_args(&mut self, args: Vec<String>) {
        self.script_args = args;
    }

    /// Replaces where `print` writes.
    pub fn set_output(&mut self, out: Box<dyn Write>) {
        self.out = out;
    }

    pub fn flush(&mut self) {
        let _ = self.out.flush();
    }

    /// The names of the globals in slot order (built-ins first).
    pub fn global_names(&self) -> impl Iterator<Item = &str> {
        self.global_names.iter().map(String::as_str)
    }

    /// The slot of a global, creating it (undefined) when new.
    pub fn global_slot(&mut self, name: &str) -> u32 {
        let (i, new) = self.global_names.insert_full(name.to_string());
        if new {
            self.globals.push(None);
        }
        i as u32
    }

    pub fn get_global(&self, name: &str) -> Option<Value> {
        let i = self.global_names.get_index_of(name)?;
        self.globals[i]
    }

    pub fn set_global(&mut self, name: &str, v: Value) {
        let slot = self.global_slot(name);
        self.globals[slot as usize] = Some(v);
    }

    /// Loads a program: verifies it (the interpreter relies on the verifier's
    /// facts, see docs/bytecode.md), links its globals to this VM's slots, turns
    /// constants into values and returns its main function as a closure value.
    pub fn load(&mut self, program: &Program) -> Result<Value, VerifyError> {
        verify(program)?;
        let map: Vec<u32> = program
            .globals
            .iter()
            .map(|n| self.global_slot(n))
            .collect();
        let chunk: Rc<str> = program.chunk.as_str().into();
        let id = self.load_proto(&program.main, &map, &chunk);
        Ok(Value::Func(self.heap.alloc_closure(Closure {
            proto: id,
            upvals: Box::new([]),
        })))
    }

    fn load_proto(&mut self, p: &FnProto, map: &[u32], chunk: &Rc<str>) -> u32 {
        let children = p
            .protos
            .iter()
            .map(|c| self.load_proto(c, map, chunk))
            .collect();
        let mut code: Vec<Instr> = p
            .code
            .iter()
            .map(|ins| {
                let mut ins = *ins;
                // Verified: `g < map.len()`, so every operand becomes a VM slot.
                if let Some(g) = ins.global_mut() {
                    *g = map.get(*g as usize).copied().unwrap_or(0);
                }
                ins
            })
            .collect();
        let consts = p
            .consts
            .iter()
            .map(|c| match c {
                Constant::Int(i) => Value::Int(*i),
                Constant::Float(f) => Value::Float(*f),
                Constant::Str(s) => self.intern_constant(s),
            })
            .collect::<Vec<Value>>();
        let const_text = consts
            .iter()
            .map(|v| match v {
                Value::Str(r) => Some(self.heap.str(*r).text.clone()),
                _ => None,
            })
            .collect();
        let field_hints = vec![std::cell::Cell::new(0); p.code.len()];
        let precomputed = precompute(&code, p);
        stack_moves(&mut code, &precomputed);
        self.protos.push(Rc::new(RtProto {
            name: p.name.clone(),
            chunk: chunk.clone(),
            arity: p.arity,
            num_regs: p.num_regs,
            max_stack: p.max_stack,
            code,
            consts,
            const_text,
            field_hints,
            precomputed,
            children,
            captures: p.captures.clone(),
            lines: p.lines.clone(),
        }));
        (self.protos.len() - 1) as u32
    }

    /// The string value of a constant: one heap string per distinct text, shared by
    /// every loaded function (so map keys written by one function and looked up by
    /// another are usually the very same text).
    fn intern_constant(&mut self, s: &str) -> Value {
        if let Some(&v) = self.constants.get(s) {
            return v;
        }
        let v = self.heap.alloc_str(s);
        self.constants.insert(s.into(), v);
        v
    }

    /// Calls a function value with arguments and runs it to completion.
    pub fn call_value(&mut self, f: Value, args: &[Value]) -> Result<Value, VmError> {
        if !self.frames.is_empty() {
            return Err(VmError::Runtime(RuntimeError {
                message: "the VM is already running".to_string(),
                trace: Vec::new(),
            }));
        }
        self.fuel = self.budget.min(FUEL_SLICE);
        self.fuel_reserve = self.budget - self.fuel;
        if self.regs.len() < args.len() + 2 {
            self.regs.resize(args.len() + 2, Value::Nil);
        }
        self.regs[0] = f;
        // (A loop, not `copy_from_slice`: a call to `memcpy` for one or two values
        // costs more than the copies.)
        for (slot, &arg) in self.regs[1..=args.len()].iter_mut().zip(args) {
            *slot = arg;
        }
        self.reg_top = self.reg_top.max(args.len() + 1);
        let outcome = match self.limits.timeout {
            None => self.run_entry(f, args.len()),
            Some(after) => self.run_entry_watched(f, args.len(), after),
        };
        // (The result is read before the reset clears register 0, and kept in
        // machine registers across it rather than as a `Result` in memory.)
        match outcome {
            Ok(()) => {
                let v = self.entry_result();
                self.reset_after_run();
                Ok(v)
            }
            Err(e) => {
                self.reset_after_run();
                Err(*e)
            }
        }
    }

    /// The value a run left in register 0, read field by field: the run stored its
    /// tag and payload separately, and a copy of the whole pair would wait for
    /// both stores to retire (see `load!` in interp.rs).
    #[inline(always)]
    fn entry_result(&self) -> Value {
        match self.regs[0] {
            Value::Int(i) => Value::Int(i),
            Value::Float(x) => {
                std::hint::cold_path();
                Value::Float(x)
            }
            v => {
                std::hint::cold_path();
                v
            }
        }
    }

    /// `run_entry` with a thread that raises the interrupt flag after `after`. Out
    /// of line: a call without a timeout then has no watchdog to drop.
    #[cold]
    #[inline(never)]
    fn run_entry_watched(&mut self, f: Value, nargs: usize, after: std::time::Duration) -> Outcome {
        let watchdog = Watchdog::start(after, self.interrupt.clone(), self.timed_out.clone());
        let result = self.run_entry(f, nargs);
        // (Stopped before `reset_after_run` clears the flags it may have raised.)
        drop(watchdog);
        result
    }

    /// Runs `f`, already in register 0 with its `nargs` arguments after it; its
    /// result is left in register 0.
    #[inline(always)]
    fn run_entry(&mut self, f: Value, nargs: usize) -> Outcome {
        // A closure (the common case) gets its frame without the detour through
        // `enter`'s result.
        let entered = match f {
            Value::Func(c) => self.push_frame(c, 0, nargs).map(|()| None),
            _ => self.enter(0, nargs),
        };
        // (A built-in's result is in register 0 already: `enter` put it there.)
        let result = match entered {
            Ok(Some(_)) => Ok(()),
            Ok(None) => self.execute(),
            Err(raise) => Err(self.fail(raise)),
        };
        // A write of a text form stopped by an interrupt or the timeout may have
        // been cut short (see `write_display`): the run must not count as a success.
        if result.is_ok() && self.interrupt.load(Ordering::Relaxed) {
            let stop = self.budget_stop();
            return Err(self.fail(stop));
        }
        result
    }

    /// Runs the loop until the entry frame returns; catches errors in `try` blocks.
    #[inline(always)]
    fn execute(&mut self) -> Outcome {
        loop {
            match self.run() {
                Ok(()) => return Ok(()),
                Err(Raise::Error(msg)) => {
                    // Catching continues the program: poll the interrupt flag here
                    // too, so that no cycle of error and catch can spin unstoppably.
                    if self.interrupt.load(Ordering::Relaxed) {
                        let stop = self.budget_stop();
                        return Err(self.fail(stop));
                    }
                    if !self.catch(&msg) {
                        return Err(self.fail(Raise::Error(msg)));
                    }
                }
                Err(exit) => return Err(self.fail(exit)),
            }
        }
    }

    /// `finish_error`, boxed: an [`Outcome`] is then one machine word.
    #[cold]
    fn fail(&mut self, raise: Raise) -> Box<VmError> {
        Box::new(self.finish_error(raise))
    }

    /// Unwinds to the innermost `try` block, giving it the error map; false when
    /// there is none.
    fn catch(&mut self, msg: &str) -> bool {
        let Some(h) = self.handlers.pop() else {
            return false;
        };
        let line = self
            .frames
            .last()
            .map_or(0, |f| self.protos[f.proto as usize].line_before(f.pc()));
        self.close_upvals(h.reg);
        self.frames.truncate(h.depth);
        let err = self.error_map(msg, line);
        self.regs[h.reg] = err;
        if let Some(f) = self.frames.last_mut() {
            f.set_pc(h.pc);
        }
        true
    }

    fn error_map(&mut self, msg: &str, line: u32) -> Value {
        let mut m = object::MapObj::default();
        let text = self.heap.alloc_str(msg);
        let Value::Str(r) = text else {
            return Value::Nil;
        };
        m.entries
            .insert(object::Key::Str("message".into()), Value::Str(r));
        m.entries
            .insert(object::Key::Str("line".into()), Value::Int(line as i64));
        self.heap.alloc_map(m)
    }

    /// Builds the traceback for an uncaught error and clears the frames.
    fn finish_error(&mut self, raise: Raise) -> VmError {
        self.last_error_fatal = matches!(raise, Raise::Fatal(_));
        let err = match raise {
            Raise::Exit(code) => VmError::Exit(code),
            Raise::Error(message) | Raise::Fatal(message) => {
                let trace = self
                    .frames
                    .iter()
                    .rev()
                    .map(|f| {
                        let p = &self.protos[f.proto as usize];
                        TraceFrame {
                            function: p.name.clone(),
                            chunk: p.chunk.to_string(),
                            line: p.line_before(f.pc()),
                        }
                    })
                    .collect();
                VmError::Runtime(RuntimeError { message, trace })
            }
        };
        self.reset_after_run();
        err
    }

    #[inline(always)]
    fn reset_after_run(&mut self) {
        self.interrupt.store(false, Ordering::Relaxed);
        self.timed_out.store(false, Ordering::Relaxed);
        self.frames.clear();
        self.handlers.clear();
        self.close_upvals(0);
        // Nothing a run leaves in the registers may reach the next run: the verifier
        // does not prove registers written before they are read, so hand-written
        // bytecode could read a stale value (another script's data, or a handle to
        // an object freed since). Also gives back a register file grown by deep
        // recursion.
        let used = self.reg_top.min(self.regs.len());
        self.regs[..used].fill(Value::Nil);
        self.reg_top = 0;
        self.regs.truncate(256);
        self.regs.shrink_to(256);
    }

    /// Closes every open captured variable at register `from` or above.
    pub(crate) fn close_upvals(&mut self, from: usize) {
        while let Some(&(idx, r)) = self.open_upvals.last() {
            if idx < from {
                break;
            }
            let v = self.regs[idx];
            self.heap.set_upval(r, Upval::Closed(v));
            self.open_upvals.pop();
        }
    }

    /// The captured variable for absolute register `idx`, shared if it exists.
    pub(crate) fn capture_register(&mut self, idx: usize) -> ObjRef {
        let pos = self.open_upvals.partition_point(|&(i, _)| i < idx);
        if let Some(&(i, r)) = self.open_upvals.get(pos) {
            if i == idx {
                return r;
            }
        }
        let r = self.heap.alloc_upval(Upval::Open(idx));
        self.open_upvals.insert(pos, (idx, r));
        r
    }

    /// Marks every root and collects garbage. `top` is the end of the live windows.
    pub(crate) fn collect_garbage(&mut self, top: usize) {
        let top = top.min(self.regs.len());
        for v in &self.regs[..top] {
            if let Some(r) = v.obj() {
                self.heap.mark_ref(r);
            }
        }
        // Registers above the live windows are dead, but a later frame's window
        // may cover them and (in hand-written bytecode) read one before writing
        // it: clear them, so that no register ever holds a handle to a freed object.
        let used = self.reg_top.clamp(top, self.regs.len());
        self.regs[top..used].fill(Value::Nil);
        self.reg_top = top;
        for v in self.globals.iter().flatten() {
            if let Some(r) = v.obj() {
                self.heap.mark_ref(r);
            }
        }
        for p in &self.protos {
            for v in &p.consts {
                if let Some(r) = v.obj() {
                    self.heap.mark_ref(r);
                }
            }
        }
        for v in &self.ascii {
            if let Some(r) = v.obj() {
                self.heap.mark_ref(r);
            }
        }
        for &(_, r) in &self.open_upvals {
            self.heap.mark_ref(r);
        }
        for v in &self.pinned {
            if let Some(r) = v.obj() {
                self.heap.mark_ref(r);
            }
        }
        for f in &self.frames {
            self.heap.mark_ref(f.closure);
        }
        self.heap.collect();
    }

    /// The name a function value prints with.
    pub fn function_name(&self, v: Value) -> String {
        match v {
            Value::Native(i) => match builtins::BUILTINS.get(i as usize) {
                Some(b) => b.name.to_string(),
                None => self
                    .hosts
                    .get(i as usize - builtins::BUILTINS.len())
                    .map_or("?", |h| h.name.as_str())
                    .to_string(),
            },
            Value::Func(r) => match self.heap.get(r) {
                Obj::Closure(c) => match self.protos[c.proto as usize].name.as_str() {
                    // Stripped bytecode has no function names.
                    "" => "?".to_string(),
                    name => name.to_string(),
                },
                _ => "?".to_string(),
            },
            _ => String::new(),
        }
    }

    /// The text form of a value, as `print` and `str` give it.
    pub fn display(&self, v: Value) -> String {
        let mut s = String::new();
        self.write_display(v, &mut s);
        s
    }

    /// Appends the text form of `v` to `out`, stopping a little past the longest
    /// string the limits allow (see [`format::write_value`]): a caller that keeps
    /// the text checks its length.
    pub fn write_display(&self, v: Value, out: &mut String) {
        let limit = self
            .limits
            .max_string_bytes
            .min(MAX_OBJECT_BYTES)
            .min(self.limits.max_memory.saturating_sub(self.heap.bytes()));
        let name = |f| self.function_name(f);
        format::write_value(&self.heap, v, out, &name, limit, &self.interrupt);
    }

    /// Gives back the scratch buffer taken for building a string; one grown past
    /// 64 KiB is dropped rather than kept for the VM's life.
    pub(crate) fn return_scratch(&mut self, s: String) {
        if s.capacity() <= 64 << 10 {
            self.scratch = s;
        }
    }

    /// [`write_display`](Vm::write_display), failing with the limit error (`string
    /// length limit exceeded`, `memory limit exceeded`, `out of memory`) when the
    /// text would be longer than a string may be.
    pub(crate) fn write_display_checked(&self, v: Value, out: &mut String) -> Result<(), Raise> {
        self.write_display(v, out);
        if self.interrupt.load(Ordering::Relaxed) {
            return Err(self.budget_stop());
        }
        self.check_string(out.len())
    }

    /// The form the REPL echoes: strings quoted, like inside a container.
    pub fn repr(&self, v: Value) -> String {
        match v {
            Value::Str(r) => {
                let mut s = String::new();
                format::quote_str(&self.heap.str(r).text, &mut s);
                s
            }
            _ => self.display(v),
        }
    }
}

impl RtProto {
    /// The line of the instruction before `pc` (the one running or calling).
    pub fn line_before(&self, pc: usize) -> u32 {
        self.lines.get(pc.saturating_sub(1)).copied().unwrap_or(0)
    }
}
