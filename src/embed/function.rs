//! Handles to values that live in a VM: [`Function`]s read out of it and compiled
//! [`Script`](super::Script)s. Each handle pins its value in the VM's table of GC
//! roots; dropping the last clone of a handle releases the slot.

use crate::vm::{Value, Vm as Inner};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Gives every public VM an identity, so that a handle is never used with the
/// wrong VM.
pub(crate) fn next_vm_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// The free slots of a VM's pin table, and the slots of handles dropped since the
/// VM last looked (a handle may be dropped anywhere, even on another thread, so it
/// only queues its slot; the VM clears it the next time it pins something).
#[derive(Default)]
pub(crate) struct PinState {
    free: Vec<u32>,
    released: Vec<u32>,
}

/// What a VM shares with the handles it gives out and its host functions.
#[derive(Clone)]
pub(crate) struct Ctx {
    pub vm_id: u64,
    pub pins: Arc<Mutex<PinState>>,
}

impl Ctx {
    pub fn new() -> Ctx {
        Ctx {
            vm_id: next_vm_id(),
            pins: Arc::new(Mutex::new(PinState::default())),
        }
    }

    /// Unroots the values of the handles dropped since the last call.
    pub fn release_dropped(&self, vm: &mut Inner) {
        let mut state = self.pins.lock().unwrap_or_else(|e| e.into_inner());
        Self::release(&mut state, vm);
    }

    fn release(state: &mut PinState, vm: &mut Inner) {
        let PinState { free, released } = state;
        for slot in released.drain(..) {
            if let Some(p) = vm.pinned.get_mut(slot as usize) {
                *p = Value::Nil;
            }
            free.push(slot);
        }
    }

    /// Roots `v` in the VM until the returned pin (and all its clones) is dropped.
    pub fn pin(&self, vm: &mut Inner, v: Value) -> Arc<Pin> {
        let mut state = self.pins.lock().unwrap_or_else(|e| e.into_inner());
        Self::release(&mut state, vm);
        let free = &mut state.free;
        let slot = match free.pop() {
            Some(s) => {
                vm.pinned[s as usize] = v;
                s
            }
            None => {
                vm.pinned.push(v);
                (vm.pinned.len() - 1) as u32
            }
        };
        Arc::new(Pin {
            vm_id: self.vm_id,
            slot,
            pins: self.pins.clone(),
        })
    }
}

/// One pinned value; unpinned when dropped.
pub(crate) struct Pin {
    pub vm_id: u64,
    pub slot: u32,
    pins: Arc<Mutex<PinState>>,
}

impl Pin {
    /// The pinned value, if `vm` is the VM it belongs to.
    pub fn get(&self, ctx: &Ctx, vm: &Inner) -> Option<Value> {
        if self.vm_id != ctx.vm_id {
            return None;
        }
        vm.pinned.get(self.slot as usize).copied()
    }
}

impl Drop for Pin {
    fn drop(&mut self) {
        let mut state = self.pins.lock().unwrap_or_else(|e| e.into_inner());
        state.released.push(self.slot);
    }
}

/// A Vela function read out of a VM: a closure, a built-in or a host function.
///
/// The VM keeps the function alive for as long as a handle (or a clone of it)
/// exists. Call it with [`Vm::call_function`](crate::Vm::call_function) on the VM
/// it came from, or pass it back into that VM (as an argument or a global); any
/// other VM refuses it.
///
/// ```
/// let mut vm = vela::Vm::new();
/// let add = vm.eval("fn (a, b) { return a + b }").unwrap();
/// let f = add.as_function().unwrap().clone();
/// assert_eq!(vm.call_function(&f, (2, 3)).unwrap(), vela::Dynamic::Int(5));
/// ```
#[derive(Clone)]
pub struct Function {
    pub(crate) pin: Arc<Pin>,
    name: Arc<str>,
    /// What the handle refers to (for equality): the function's kind and index.
    identity: (bool, u32),
}

impl Function {
    pub(crate) fn new(pin: Arc<Pin>, name: String, v: Value) -> Function {
        let identity = match v {
            Value::Native(i) => (true, i),
            other => (false, other.obj().map_or(u32::MAX, |r| r.index() as u32)),
        };
        Function {
            pin,
            name: name.into(),
            identity,
        }
    }

    /// The function's name (`?` for an anonymous function or stripped bytecode).
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl PartialEq for Function {
    /// Two handles are equal when they refer to the same function of the same VM.
    fn eq(&self, other: &Function) -> bool {
        self.pin.vm_id == other.pin.vm_id && self.identity == other.identity
    }
}

impl fmt::Debug for Function {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Function({})", self.name)
    }
}

impl fmt::Display for Function {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<fn {}>", self.name)
    }
}
