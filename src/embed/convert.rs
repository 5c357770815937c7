//! Moving values across the boundary: VM values out to owned [`Dynamic`]s, and
//! `Dynamic`s in, allocated on the VM's heap under its limits.
//!
//! Both directions recurse at most [`MAX_DEPTH`] levels (deeper is an error, never a
//! native stack overflow). Out of the VM, a cycle is an error, and so is a value
//! whose shared parts would expand beyond the memory limit when copied.

use super::dynamic::{Dynamic, Map, MapKey};
use super::function::{Ctx, Function};
use crate::vm::object::{Key, MapObj};
use crate::vm::{ObjRef, Raise, Value, Vm as Inner};
use std::rc::Rc;

/// How deeply lists and maps may nest in a value that crosses the boundary.
pub const MAX_DEPTH: usize = 128;

/// How much memory a value copied out of a VM without a memory limit may take.
pub const MAX_COPY_BYTES: usize = 1 << 30;

/// Approximate bytes of one `Dynamic` (its size plus the slot holding it).
const DYNAMIC_BYTES: usize = std::mem::size_of::<Dynamic>() + 16;

// ------------------------------------------------------------------ VM → Dynamic

struct Out<'a> {
    ctx: &'a Ctx,
    /// The containers being converted, outermost first (for cycle detection).
    path: Vec<ObjRef>,
    /// Bytes the result may still take.
    budget: usize,
}

/// Copies a VM value out as a `Dynamic`. Functions are pinned in the VM and handed
/// out as [`Function`] handles. The copy may take about as much memory as the VM's
/// memory limit allows (at most [`MAX_COPY_BYTES`]): parts a value shares are
/// copied once per reference, so a small value can stand for a huge copy.
pub(crate) fn from_vm(vm: &mut Inner, ctx: &Ctx, v: Value) -> Result<Dynamic, String> {
    let budget = vm.limits.max_memory.min(MAX_COPY_BYTES);
    let mut out = Out {
        ctx,
        path: Vec::new(),
        budget,
    };
    out.value(vm, v)
}

impl Out<'_> {
    fn charge(&mut self, bytes: usize) -> Result<(), String> {
        match self.budget.checked_sub(bytes) {
            Some(rest) => {
                self.budget = rest;
                Ok(())
            }
            None => Err(
                "cannot convert the value: copying its shared parts would exceed the memory limit"
                    .to_string(),
            ),
        }
    }

    fn enter(&mut self, r: ObjRef, what: &str) -> Result<(), String> {
        if self.path.contains(&r) {
            return Err(format!(
                "cannot convert a cyclic {what} (it contains itself)"
            ));
        }
        if self.path.len() >= MAX_DEPTH {
            return Err(format!(
                "cannot convert the value: nested deeper than {MAX_DEPTH} levels"
            ));
        }
        self.path.push(r);
        Ok(())
    }

    fn value(&mut self, vm: &mut Inner, v: Value) -> Result<Dynamic, String> {
        self.charge(DYNAMIC_BYTES)?;
        Ok(match v {
            Value::Nil => Dynamic::Nil,
            Value::Bool(b) => Dynamic::Bool(b),
            Value::Int(i) => Dynamic::Int(i),
            Value::Float(x) => Dynamic::Float(x),
            Value::Str(r) => {
                let text = &vm.heap.str(r).text;
                self.charge(text.len())?;
                Dynamic::String(text.to_string())
            }
            Value::List(r) => {
                self.enter(r, "List")?;
                let items: Vec<Value> = vm.heap.list(r).items.clone();
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(self.value(vm, item)?);
                }
                self.path.pop();
                Dynamic::List(out)
            }
            Value::Map(r) => {
                self.enter(r, "Map")?;
                let entries: Vec<(Key, Value)> = vm
                    .heap
                    .map(r)
                    .entries
                    .iter()
                    .map(|(k, v)| (k.clone(), *v))
                    .collect();
                let mut out = Map::with_capacity(entries.len());
                for (k, item) in entries {
                    let key = match k {
                        Key::Int(i) => MapKey::Int(i),
                        Key::Bool(b) => MapKey::Bool(b),
                        Key::Str(s) => {
                            self.charge(s.len())?;
                            MapKey::String(s.to_string())
                        }
                    };
                    let value = self.value(vm, item)?;
                    out.insert(key, value);
                }
                self.path.pop();
                Dynamic::Map(out)
            }
            Value::Func(_) | Value::Native(_) => {
                let name = vm.function_name(v);
                let pin = self.ctx.pin(vm, v);
                Dynamic::Function(Function::new(pin, name, v))
            }
        })
    }
}

// ------------------------------------------------------------------ Dynamic → VM

/// What allocating a set of values will cost, checked against the limits before
/// anything is allocated.
struct Plan<'a> {
    vm: &'a Inner,
    ctx: &'a Ctx,
    bytes: usize,
}

impl Plan<'_> {
    /// The string length limit alone (`Vm::check_string` also checks the memory
    /// limit, which is checked once for everything, after a collection).
    fn check_string(&self, len: usize) -> Result<(), Raise> {
        if len > self.vm.limits.max_string_bytes {
            return self.vm.check_string(len);
        }
        Ok(())
    }

    fn add(&mut self, d: &Dynamic, depth: usize) -> Result<(), Raise> {
        if depth > MAX_DEPTH {
            return Err(Raise::Error(format!(
                "cannot convert the value: nested deeper than {MAX_DEPTH} levels"
            )));
        }
        match d {
            Dynamic::Nil | Dynamic::Bool(_) | Dynamic::Int(_) | Dynamic::Float(_) => {}
            Dynamic::String(s) => {
                self.check_string(s.len())?;
                self.bytes = self.bytes.saturating_add(string_size(s));
            }
            Dynamic::List(items) => {
                self.vm.check_len(items.len(), "list")?;
                self.bytes = self.bytes.saturating_add(48 + items.len() * 16);
                for item in items {
                    self.add(item, depth + 1)?;
                }
            }
            Dynamic::Map(m) => {
                self.vm.check_len(m.len(), "map")?;
                self.bytes = self.bytes.saturating_add(48 + m.len() * 48);
                for (k, v) in m {
                    if let MapKey::String(s) = k {
                        self.check_string(s.len())?;
                        self.bytes = self.bytes.saturating_add(s.len());
                    }
                    self.add(v, depth + 1)?;
                }
            }
            Dynamic::Function(f) => {
                if f.pin.get(self.ctx, self.vm).is_none() {
                    return Err(Raise::Error(format!(
                        "function '{}' belongs to another VM",
                        f.name()
                    )));
                }
            }
        }
        Ok(())
    }
}

/// What the heap counts for a string object (see `Obj::size`).
fn string_size(s: &str) -> usize {
    64 + s.len()
}

/// Allocates `values` in the VM. Limits are checked first, so a refused value
/// allocates nothing: the length limits and the memory limit give the VM's own
/// errors (`Raise::Fatal`).
///
/// Outside a run (`top_level`) garbage is collected first when the heap is due for
/// it or the values would not fit otherwise, and then they must fit. Inside a host
/// function the heap cannot be collected (the running frames' registers are not
/// known here), so the values are refused only if they could never fit; otherwise
/// they are allocated, and the interpreter's safe point right after the call
/// collects and reports `memory limit exceeded` if the heap is still over.
pub(crate) fn into_vm(
    vm: &mut Inner,
    ctx: &Ctx,
    values: &[&Dynamic],
    top_level: bool,
) -> Result<Vec<Value>, Raise> {
    let mut plan = Plan { vm, ctx, bytes: 0 };
    for d in values {
        plan.add(d, 0)?;
    }
    let bytes = plan.bytes;
    if top_level {
        if vm.heap.should_collect() || vm.check_memory(bytes).is_err() {
            vm.collect_garbage(0);
        }
        vm.check_memory(bytes)?;
    } else if bytes > vm.limits.max_memory {
        return Err(Raise::Fatal("memory limit exceeded".to_string()));
    }
    Ok(values.iter().map(|d| alloc(vm, ctx, d)).collect())
}

/// Allocates a value already checked by [`Plan`].
fn alloc(vm: &mut Inner, ctx: &Ctx, d: &Dynamic) -> Value {
    match d {
        Dynamic::Nil => Value::Nil,
        Dynamic::Bool(b) => Value::Bool(*b),
        Dynamic::Int(i) => Value::Int(*i),
        Dynamic::Float(x) => Value::Float(*x),
        Dynamic::String(s) => vm.heap.alloc_str(s.as_str()),
        Dynamic::List(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                out.push(alloc(vm, ctx, item));
            }
            vm.heap.alloc_list(out)
        }
        Dynamic::Map(m) => {
            let mut map = MapObj::default();
            map.entries.reserve(m.len());
            for (k, v) in m {
                let key = match k {
                    MapKey::Int(i) => Key::Int(*i),
                    MapKey::Bool(b) => Key::Bool(*b),
                    MapKey::String(s) => Key::Str(Rc::from(s.as_str())),
                };
                let value = alloc(vm, ctx, v);
                map.entries.insert(key, value);
            }
            vm.heap.alloc_map(map)
        }
        Dynamic::Function(f) => f.pin.get(ctx, vm).unwrap_or(Value::Nil),
    }
}
