//! Heap object kinds: strings, lists, maps, closures and captured variables.

use super::value::{ObjRef, Value};
use indexmap::IndexMap;
use std::cell::Cell;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::rc::Rc;

/// An immutable string. The text is shared (`Rc`) so that map keys and iteration
/// can hand it out without copying.
#[derive(Debug)]
pub struct StrObj {
    pub text: Rc<str>,
    /// Number of Unicode scalar values (what `len` returns).
    pub chars: usize,
}

impl StrObj {
    pub fn new(text: Rc<str>) -> StrObj {
        let chars = if text.is_ascii() {
            text.len()
        } else {
            text.chars().count()
        };
        StrObj { text, chars }
    }

    pub fn is_ascii(&self) -> bool {
        self.chars == self.text.len()
    }

    /// The `i`th character as a string slice.
    pub fn char_at(&self, i: usize) -> Option<&str> {
        if self.is_ascii() {
            self.text.get(i..i + 1)
        } else {
            let (start, c) = self.text.char_indices().nth(i)?;
            self.text.get(start..start + c.len_utf8())
        }
    }
}

#[derive(Debug, Default)]
pub struct ListObj {
    pub items: Vec<Value>,
    /// Bumped by every change of length; a `for` loop over the list checks it.
    pub version: u32,
}

/// A map key: Int, String or Bool, hashed by value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Key {
    Int(i64),
    Bool(bool),
    Str(Rc<str>),
}

impl Hash for Key {
    fn hash<H: Hasher>(&self, h: &mut H) {
        match self {
            Key::Int(i) => {
                h.write_u8(0);
                h.write_i64(*i);
            }
            Key::Bool(b) => {
                h.write_u8(1);
                h.write_u8(*b as u8);
            }
            Key::Str(s) => StrKey(s).hash(h),
        }
    }
}

/// A borrowed String key, for lookups that need not own (or count) the text.
pub struct StrKey<'a>(pub &'a str);

impl Hash for StrKey<'_> {
    fn hash<H: Hasher>(&self, h: &mut H) {
        h.write_u8(2);
        h.write(self.0.as_bytes());
    }
}

impl indexmap::Equivalent<Key> for StrKey<'_> {
    fn equivalent(&self, key: &Key) -> bool {
        matches!(key, Key::Str(s) if **s == *self.0)
    }
}

impl MapObj {
    /// The value of String key `key`, trying first the entry at `*hint` (the
    /// position this lookup found last time: records built the same way keep their
    /// fields at the same positions), and remembering where it was found.
    #[inline]
    pub fn get_str_cached(&self, key: &Rc<str>, hint: &Cell<u32>) -> Option<Value> {
        if let Some((Key::Str(s), v)) = self.entries.get_index(hint.get() as usize) {
            if Rc::ptr_eq(s, key) || **s == **key {
                return Some(*v);
            }
        }
        let (i, _, v) = self.entries.get_full(&StrKey(key))?;
        hint.set(i as u32);
        Some(*v)
    }

    /// Replaces the value of an existing String key (see `get_str_cached`); false
    /// when the key is absent.
    #[inline]
    pub fn set_str_cached(&mut self, key: &Rc<str>, hint: &Cell<u32>, v: Value) -> bool {
        if let Some((Key::Str(s), slot)) = self.entries.get_index_mut(hint.get() as usize) {
            if Rc::ptr_eq(s, key) || **s == **key {
                *slot = v;
                return true;
            }
        }
        match self.entries.get_full_mut(&StrKey(key)) {
            Some((i, _, slot)) => {
                *slot = v;
                hint.set(i as u32);
                true
            }
            None => false,
        }
    }
}

/// A small fast hasher (FxHash's mixing) for map keys; keys are not adversarial
/// enough here to need SipHash, and lookups are on the hot path.
#[derive(Default, Clone, Copy)]
pub struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_i64(&mut self, i: i64) {
        self.add(i as u64);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

pub type FxBuild = BuildHasherDefault<FxHasher>;

#[derive(Debug, Default)]
pub struct MapObj {
    pub entries: IndexMap<Key, Value, FxBuild>,
    /// Bumped when a key is added or removed; a `for` loop over the map checks it.
    pub version: u32,
}

/// A user function value: its prototype and its captured variables.
#[derive(Debug)]
pub struct Closure {
    /// Index into the VM's loaded prototypes.
    pub proto: u32,
    pub upvals: Box<[ObjRef]>,
}

/// A captured variable: open while its register is live, closed (holding the value
/// itself) once its frame or scope has ended.
#[derive(Debug, Clone, Copy)]
pub enum Upval {
    /// Absolute index in the register file.
    Open(usize),
    Closed(Value),
}

#[derive(Debug)]
pub enum Obj {
    /// An empty slot, linked into the free list.
    Free,
    Str(StrObj),
    List(ListObj),
    Map(MapObj),
    Closure(Closure),
    Upval(Upval),
}

impl Obj {
    /// Bytes the object holds, for GC pacing and memory limits: its slot in the
    /// heap's table plus the block it allocates (with the allocator's overhead).
    /// Counting what memory really costs keeps the heap near the collection
    /// threshold instead of 1.5x above it.
    pub fn size(&self) -> usize {
        const SLOT: usize = std::mem::size_of::<Obj>();
        // malloc's header and rounding, per separately allocated block.
        const BLOCK: usize = 16;
        SLOT + match self {
            Obj::Free | Obj::Upval(_) => 0,
            // `Rc<str>`: two counts before the text.
            Obj::Str(s) => BLOCK + 16 + s.text.len(),
            Obj::List(l) => BLOCK + l.items.capacity() * 16,
            Obj::Map(m) => BLOCK + m.entries.capacity() * 48,
            Obj::Closure(c) => BLOCK + c.upvals.len() * 4,
        }
    }
}
