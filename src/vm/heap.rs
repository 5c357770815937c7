//! The heap: a table of objects addressed by [`ObjRef`] index, with a free list,
//! and a mark-sweep collector paced by allocation volume (like Lua's pause).
//!
//! The VM collects only at safe points between instructions, after it has stored
//! the allocating instruction's result; the roots it passes are every register of
//! the live windows, the globals, the constants and the open captured variables.

use super::object::{Closure, ListObj, MapObj, Obj, StrObj, Upval};
use super::value::{ObjRef, Value};
use std::rc::Rc;

/// Collect when the heap has grown to this multiple of what survived the last
/// collection (Lua's default pause is 200%).
const PAUSE: usize = 2;
/// The least the heap may grow to before a collection: small enough that a
/// program with little live data stays near the size of one with none (the
/// closures benchmark's peak RSS: 4.4 MB with 1 MiB here, 3.3 MB with 384 KiB),
/// large enough that short runs rarely collect.
const MIN_THRESHOLD: usize = 384 << 10;

pub struct Heap {
    objs: Vec<Obj>,
    /// One bit per slot of `objs`: set while the slot holds an object.
    used: Vec<u64>,
    /// One bit per slot: reached by the collection in progress.
    marks: Vec<u64>,
    free: Vec<u32>,
    gray: Vec<ObjRef>,
    /// Approximate bytes in use by live (or not yet collected) objects.
    bytes: usize,
    threshold: usize,
    /// Collection is due at the latest when the heap reaches this (the memory limit).
    limit: usize,
    /// Collect at every safe point that allocated (GC stress testing).
    pub stress: bool,
    /// Set by allocation; cleared by a collection.
    allocated: bool,
}

impl Default for Heap {
    fn default() -> Heap {
        Heap::new()
    }
}

impl Heap {
    pub fn new() -> Heap {
        Heap {
            objs: Vec::new(),
            used: Vec::new(),
            marks: Vec::new(),
            free: Vec::new(),
            gray: Vec::new(),
            bytes: 0,
            threshold: MIN_THRESHOLD,
            limit: usize::MAX,
            stress: std::env::var_os("VELA_GC_STRESS").is_some_and(|v| v != "0"),
            allocated: false,
        }
    }

    fn alloc(&mut self, obj: Obj) -> ObjRef {
        self.bytes += obj.size();
        self.allocated = true;
        let i = match self.free.pop() {
            Some(i) => {
                self.objs[i as usize] = obj;
                i as usize
            }
            None => {
                self.objs.push(obj);
                if self.objs.len() > self.used.len() * 64 {
                    self.used.push(0);
                    self.marks.push(0);
                }
                self.objs.len() - 1
            }
        };
        self.used[i / 64] |= 1 << (i % 64);
        ObjRef(i as u32)
    }

    /// Makes a collection due whenever the heap grows past `bytes` (the VM then
    /// reports `memory limit exceeded` if collecting does not bring it below).
    pub fn set_limit(&mut self, bytes: usize) {
        self.limit = bytes;
        self.threshold = self.threshold.min(bytes);
    }

    /// Notes that an object grew by `n` bytes (a list push, a map insert).
    pub fn grew(&mut self, n: usize) {
        self.bytes += n;
        self.allocated = true;
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Whether growing by `n` bytes would leave no collection due at the next safe
    /// point (always false in stress mode, which collects after every allocation).
    #[inline]
    pub fn can_grow_quietly(&self, n: usize) -> bool {
        !self.stress && self.bytes + n <= self.threshold
    }

    /// Whether a collection is due at this safe point.
    #[inline]
    pub fn should_collect(&self) -> bool {
        self.bytes > self.threshold || (self.stress && self.allocated)
    }

    pub fn alloc_str(&mut self, text: impl Into<Rc<str>>) -> Value {
        Value::Str(self.alloc(Obj::Str(StrObj::new(text.into()))))
    }

    pub fn alloc_list(&mut self, items: Vec<Value>) -> Value {
        Value::List(self.alloc(Obj::List(ListObj { items, version: 0 })))
    }

    pub fn alloc_map(&mut self, map: MapObj) -> Value {
        Value::Map(self.alloc(Obj::Map(map)))
    }

    pub fn alloc_closure(&mut self, c: Closure) -> ObjRef {
        self.alloc(Obj::Closure(c))
    }

    pub fn alloc_upval(&mut self, u: Upval) -> ObjRef {
        self.alloc(Obj::Upval(u))
    }

    #[inline]
    pub fn get(&self, r: ObjRef) -> &Obj {
        &self.objs[r.index()]
    }

    #[inline]
    pub fn get_mut(&mut self, r: ObjRef) -> &mut Obj {
        &mut self.objs[r.index()]
    }

    /// The string behind a `Value::Str` handle ("" if the handle is stale, which a
    /// correct VM never produces).
    #[inline]
    pub fn str(&self, r: ObjRef) -> &StrObj {
        match self.get(r) {
            Obj::Str(s) => s,
            _ => unreachable_obj(),
        }
    }

    #[inline]
    pub fn list(&self, r: ObjRef) -> &ListObj {
        match self.get(r) {
            Obj::List(l) => l,
            _ => unreachable_obj(),
        }
    }

    #[inline]
    pub fn list_mut(&mut self, r: ObjRef) -> &mut ListObj {
        match self.get_mut(r) {
            Obj::List(l) => l,
            _ => unreachable_obj(),
        }
    }

    #[inline]
    pub fn map(&self, r: ObjRef) -> &MapObj {
        match self.get(r) {
            Obj::Map(m) => m,
            _ => unreachable_obj(),
        }
    }

    #[inline]
    pub fn map_mut(&mut self, r: ObjRef) -> &mut MapObj {
        match self.get_mut(r) {
            Obj::Map(m) => m,
            _ => unreachable_obj(),
        }
    }

    #[inline]
    pub fn closure(&self, r: ObjRef) -> &Closure {
        match self.get(r) {
            Obj::Closure(c) => c,
            _ => unreachable_obj(),
        }
    }

    /// A captured variable, by reference (no copy of the closed-over value).
    #[inline]
    pub fn upval_ref(&self, r: ObjRef) -> &Upval {
        match self.get(r) {
            Obj::Upval(u) => u,
            _ => unreachable_obj(),
        }
    }

    #[inline]
    pub fn upval(&self, r: ObjRef) -> Upval {
        match self.get(r) {
            Obj::Upval(u) => *u,
            _ => unreachable_obj(),
        }
    }

    #[inline]
    pub fn set_upval(&mut self, r: ObjRef, u: Upval) {
        if let Obj::Upval(slot) = self.get_mut(r) {
            *slot = u;
        }
    }

    /// Number of live objects (for tests and statistics).
    pub fn live_objects(&self) -> usize {
        self.objs.len() - self.free.len()
    }

    // ---- collection ----

    /// Marks a root value.
    pub fn mark_value(&mut self, v: Value) {
        if let Some(r) = v.obj() {
            self.mark_ref(r);
        }
    }

    pub fn mark_ref(&mut self, r: ObjRef) {
        mark(&mut self.marks, &mut self.gray, r);
    }

    /// Traces from the marked roots (iteratively, with a gray stack), then frees
    /// everything unmarked.
    ///
    /// The work is proportional to what is live (traced) and what is freed: the
    /// sweep finds the unmarked slots a 64-slot word at a time in the bitmaps and
    /// touches no live object, so collecting often costs little more than
    /// collecting rarely (the size of the live data is summed while tracing).
    pub fn collect(&mut self) {
        let Heap {
            objs, marks, gray, ..
        } = self;
        let mut live = 0;
        while let Some(r) = gray.pop() {
            let obj = &objs[r.index()];
            live += obj.size();
            match obj {
                Obj::List(l) => l.items.iter().for_each(|v| {
                    if let Some(c) = v.obj() {
                        mark(marks, gray, c)
                    }
                }),
                Obj::Map(m) => m.entries.values().for_each(|v| {
                    if let Some(c) = v.obj() {
                        mark(marks, gray, c)
                    }
                }),
                Obj::Closure(c) => c.upvals.iter().for_each(|&u| mark(marks, gray, u)),
                Obj::Upval(Upval::Closed(v)) => {
                    if let Some(c) = v.obj() {
                        mark(marks, gray, c)
                    }
                }
                Obj::Upval(Upval::Open(_)) | Obj::Str(_) | Obj::Free => {}
            }
        }
        for (w, (used, marked)) in self.used.iter_mut().zip(self.marks.iter_mut()).enumerate() {
            let mut dead = *used & !*marked;
            *used &= *marked;
            *marked = 0;
            while dead != 0 {
                let i = w * 64 + dead.trailing_zeros() as usize;
                dead &= dead - 1;
                self.objs[i] = Obj::Free;
                self.free.push(i as u32);
            }
        }
        self.bytes = live;
        self.threshold = (live * PAUSE).max(MIN_THRESHOLD).min(self.limit);
        self.allocated = false;
    }
}

/// Marks slot `r` reached, and queues it to be traced, unless it already was.
fn mark(marks: &mut [u64], gray: &mut Vec<ObjRef>, r: ObjRef) {
    let i = r.index();
    if let Some(word) = marks.get_mut(i / 64) {
        let bit = 1 << (i % 64);
        if *word & bit == 0 {
            *word |= bit;
            gray.push(r);
        }
    }
}

#[cold]
#[inline(never)]
fn unreachable_obj() -> ! {
    // A handle of the wrong kind means the VM lost track of an object: a bug in
    // the VM, not something a program can cause.
    panic!("vela internal error: heap handle refers to an object of another kind")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bitmap sweep frees exactly the unreached objects, across word
    /// boundaries, and reuses their slots.
    #[test]
    fn collect_frees_unreached_objects_only() {
        let mut heap = Heap::new();
        let values: Vec<Value> = (0..200).map(|i| heap.alloc_str(i.to_string())).collect();
        // Keep every third string, and one list holding two more.
        let kept: Vec<Value> = values.iter().copied().step_by(3).collect();
        let list = heap.alloc_list(vec![values[1], values[130]]);
        for &v in kept.iter().chain([&list]) {
            heap.mark_value(v);
        }
        heap.collect();
        assert_eq!(heap.live_objects(), kept.len() + 3);
        for v in &kept {
            let Value::Str(r) = *v else { unreachable!() };
            assert!(matches!(heap.get(r), Obj::Str(_)));
        }
        let Value::Str(gone) = values[2] else {
            unreachable!()
        };
        assert!(matches!(heap.get(gone), Obj::Free));
        // What survived is what is counted.
        let expected: usize = kept
            .iter()
            .chain([&list, &values[1], &values[130]])
            .map(|v| heap.get(v.obj().unwrap()).size())
            .sum();
        assert_eq!(heap.bytes(), expected);
        // Freed slots are reused before the table grows.
        let before = heap.objs.len();
        heap.alloc_str("new");
        assert_eq!(heap.objs.len(), before);
        // A second collection with no roots frees everything.
        heap.collect();
        assert_eq!(heap.live_objects(), 0);
        assert_eq!(heap.bytes(), 0);
    }
}
