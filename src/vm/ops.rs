//! Operator semantics off the interpreter's fast paths: mixed Int/Float arithmetic,
//! string and list `+`, ordering, structural equality, indexing and map keys.

use super::heap::Heap;
use super::object::{Key, MapObj, StrKey};
use super::value::Value;
use super::{Raise, Vm};
use crate::bytecode::TypeTag;
use std::cmp::Ordering;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arith {
    Add,
    Sub,
    Mul,
    Div,
    IDiv,
    Mod,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    Lt,
    Le,
    Gt,
    Ge,
}

fn type_error(op: Arith, x: Value, y: Value) -> Raise {
    let (a, b) = (x.type_name(), y.type_name());
    Raise::Error(match op {
        Arith::Add => format!("cannot add {a} and {b}"),
        Arith::Sub => format!("cannot subtract {a} and {b}"),
        Arith::Mul => format!("cannot multiply {a} and {b}"),
        Arith::Div | Arith::IDiv => format!("cannot divide {a} and {b}"),
        Arith::Mod => format!("cannot apply '%' to {a} and {b}"),
    })
}

fn overflow() -> Raise {
    Raise::Error("integer overflow".to_string())
}

fn div_zero() -> Raise {
    Raise::Error("division by zero".to_string())
}

/// Floor division and floored modulo of Ints, with the overflow and zero checks.
pub fn int_idiv(x: i64, y: i64) -> Result<i64, Raise> {
    if y == 0 {
        return Err(div_zero());
    }
    let q = x.checked_div(y).ok_or_else(overflow)?;
    Ok(if (x % y != 0) && ((x < 0) != (y < 0)) {
        q - 1
    } else {
        q
    })
}

pub fn int_mod(x: i64, y: i64) -> Result<i64, Raise> {
    if y == 0 {
        return Err(div_zero());
    }
    let r = x.checked_rem(y).ok_or_else(overflow)?;
    Ok(if r != 0 && ((r < 0) != (y < 0)) {
        r + y
    } else {
        r
    })
}

fn float_mod(x: f64, y: f64) -> f64 {
    let r = x % y;
    if r != 0.0 && ((r < 0.0) != (y < 0.0)) {
        r + y
    } else {
        r
    }
}

/// Any arithmetic operator on any operands.
pub fn arith(vm: &mut Vm, op: Arith, x: Value, y: Value) -> Result<Value, Raise> {
    use Value::{Float, Int};
    let (a, b) = match (x, y) {
        (Int(a), Int(b)) => {
            return Ok(match op {
                Arith::Add => Int(a.checked_add(b).ok_or_else(overflow)?),
                Arith::Sub => Int(a.checked_sub(b).ok_or_else(overflow)?),
                Arith::Mul => Int(a.checked_mul(b).ok_or_else(overflow)?),
                Arith::Div => {
                    if b == 0 {
                        return Err(div_zero());
                    }
                    Float(a as f64 / b as f64)
                }
                Arith::IDiv => Int(int_idiv(a, b)?),
                Arith::Mod => Int(int_mod(a, b)?),
            })
        }
        (Int(a), Float(b)) => (a as f64, b),
        (Float(a), Int(b)) => (a, b as f64),
        (Float(a), Float(b)) => (a, b),
        (Value::Str(a), Value::Str(b)) if op == Arith::Add => {
            let len = vm.heap.str(a).text.len() + vm.heap.str(b).text.len();
            vm.check_string(len)?;
            let (sa, sb) = (&vm.heap.str(a).text, &vm.heap.str(b).text);
            // Built in the VM's scratch buffer, so that the only allocation is the
            // string's own.
            let mut s = std::mem::take(&mut vm.scratch);
            s.clear();
            s.try_reserve(len)
                .map_err(|_| Raise::Fatal("out of memory".to_string()))?;
            s.push_str(sa);
            s.push_str(sb);
            let v = vm.heap.alloc_str(s.as_str());
            vm.return_scratch(s);
            return Ok(v);
        }
        (Value::List(a), Value::List(b)) if op == Arith::Add => {
            let len = vm.heap.list(a).items.len() + vm.heap.list(b).items.len();
            vm.check_len(len, "list")?;
            vm.check_memory(len * 16)?;
            let mut items = Vec::new();
            items
                .try_reserve_exact(len)
                .map_err(|_| Raise::Fatal("out of memory".to_string()))?;
            items.extend_from_slice(&vm.heap.list(a).items);
            items.extend_from_slice(&vm.heap.list(b).items);
            return Ok(vm.heap.alloc_list(items));
        }
        _ => return Err(type_error(op, x, y)),
    };
    Ok(Float(match op {
        Arith::Add => a + b,
        Arith::Sub => a - b,
        Arith::Mul => a * b,
        Arith::Div => {
            if b == 0.0 {
                return Err(div_zero());
            }
            a / b
        }
        Arith::IDiv => {
            if b == 0.0 {
                return Err(div_zero());
            }
            (a / b).floor()
        }
        Arith::Mod => {
            if b == 0.0 {
                return Err(div_zero());
            }
            float_mod(a, b)
        }
    }))
}

/// 2^63: the first Float above every Int.
pub const TWO_POW_63: f64 = (1u64 << 63) as f64;

/// Exact ordering of an Int and a Float (`None` when the Float is NaN).
pub fn cmp_int_float(i: i64, f: f64) -> Option<Ordering> {
    if f.is_nan() {
        return None;
    }
    if f >= TWO_POW_63 {
        return Some(Ordering::Less);
    }
    if f < -TWO_POW_63 {
        return Some(Ordering::Greater);
    }
    let t = f.trunc();
    match i.cmp(&(t as i64)) {
        Ordering::Equal => 0.0f64.partial_cmp(&(f - t)),
        o => Some(o),
    }
}

/// The ordering of two values, or an error for kinds that do not order.
pub fn order(heap: &Heap, x: Value, y: Value) -> Result<Option<Ordering>, String> {
    Ok(match (x, y) {
        (Value::Int(a), Value::Int(b)) => Some(a.cmp(&b)),
        (Value::Float(a), Value::Float(b)) => a.partial_cmp(&b),
        (Value::Int(a), Value::Float(b)) => cmp_int_float(a, b),
        (Value::Float(a), Value::Int(b)) => cmp_int_float(b, a).map(Ordering::reverse),
        (Value::Str(a), Value::Str(b)) => Some(heap.str(a).text.cmp(&heap.str(b).text)),
        _ => {
            return Err(format!(
                "cannot compare {} and {}",
                x.type_name(),
                y.type_name()
            ))
        }
    })
}

pub fn compare(vm: &mut Vm, op: Cmp, x: Value, y: Value) -> Result<bool, Raise> {
    let ord = order(&vm.heap, x, y)?;
    Ok(match ord {
        None => false,
        Some(o) => match op {
            Cmp::Lt => o == Ordering::Less,
            Cmp::Le => o != Ordering::Greater,
            Cmp::Gt => o == Ordering::Greater,
            Cmp::Ge => o != Ordering::Less,
        },
    })
}

/// `==`: numbers by value, strings by content, lists and maps structurally (cycles
/// terminate: a pair already being compared is assumed equal), functions by identity.
pub fn equal(heap: &Heap, x: Value, y: Value) -> bool {
    let mut work = vec![(x, y)];
    let mut assumed: std::collections::HashSet<(u32, u32)> = Default::default();
    while let Some((x, y)) = work.pop() {
        let same = match (x, y) {
            (Value::Nil, Value::Nil) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a == b,
            (Value::Int(a), Value::Float(b)) | (Value::Float(b), Value::Int(a)) => {
                cmp_int_float(a, b) == Some(Ordering::Equal)
            }
            (Value::Str(a), Value::Str(b)) => a == b || heap.str(a).text == heap.str(b).text,
            (Value::Func(a), Value::Func(b)) => a == b,
            (Value::Native(a), Value::Native(b)) => a == b,
            (Value::List(a), Value::List(b)) => {
                if a == b || assumed.contains(&(a.0, b.0)) {
                    continue;
                }
                let (la, lb) = (&heap.list(a).items, &heap.list(b).items);
                if la.len() != lb.len() {
                    false
                } else {
                    assumed.insert((a.0, b.0));
                    work.extend(la.iter().copied().zip(lb.iter().copied()));
                    true
                }
            }
            (Value::Map(a), Value::Map(b)) => {
                if a == b || assumed.contains(&(a.0, b.0)) {
                    continue;
                }
                let (ma, mb) = (&heap.map(a).entries, &heap.map(b).entries);
                if ma.len() != mb.len() {
                    false
                } else {
                    assumed.insert((a.0, b.0));
                    let mut ok = true;
                    for (k, va) in ma {
                        match mb.get(k) {
                            Some(vb) => work.push((*va, *vb)),
                            None => {
                                ok = false;
                                break;
                            }
                        }
                    }
                    ok
                }
            }
            _ => false,
        };
        if !same {
            return false;
        }
    }
    true
}

pub fn has_type(v: Value, t: TypeTag) -> bool {
    match t {
        TypeTag::Any => true,
        TypeTag::Nil => matches!(v, Value::Nil),
        TypeTag::Bool => matches!(v, Value::Bool(_)),
        TypeTag::Int => matches!(v, Value::Int(_)),
        TypeTag::Float => matches!(v, Value::Float(_)),
        TypeTag::Number => matches!(v, Value::Int(_) | Value::Float(_)),
        TypeTag::String => matches!(v, Value::Str(_)),
        TypeTag::List => matches!(v, Value::List(_)),
        TypeTag::Map => matches!(v, Value::Map(_)),
        TypeTag::Fn => matches!(v, Value::Func(_) | Value::Native(_)),
    }
}

/// A value as a map key.
pub fn to_key(heap: &Heap, v: Value) -> Result<Key, Raise> {
    match v {
        Value::Int(i) => Ok(Key::Int(i)),
        Value::Bool(b) => Ok(Key::Bool(b)),
        Value::Str(r) => Ok(Key::Str(heap.str(r).text.clone())),
        other => Err(Raise::Error(format!(
            "map keys must be Int, String or Bool, got {}",
            other.type_name()
        ))),
    }
}

/// How a key is named in a "not found" error: strings quoted.
pub fn key_text(k: &Key) -> String {
    match k {
        Key::Int(i) => i.to_string(),
        Key::Bool(b) => b.to_string(),
        Key::Str(s) => {
            let mut out = String::new();
            super::format::quote_str(s, &mut out);
            out
        }
    }
}

fn index_error(i: i64, len: usize) -> Raise {
    Raise::Error(format!("index {i} out of range for length {len}"))
}

/// `obj[key]` for every indexable kind.
pub fn get_index(vm: &mut Vm, obj: Value, key: Value) -> Result<Value, Raise> {
    match (obj, key) {
        (Value::List(r), Value::Int(i)) => {
            let items = &vm.heap.list(r).items;
            usize::try_from(i)
                .ok()
                .and_then(|u| items.get(u).copied())
                .ok_or_else(|| index_error(i, items.len()))
        }
        (Value::Str(r), Value::Int(i)) => {
            let s = vm.heap.str(r);
            let len = s.chars;
            let ch = usize::try_from(i)
                .ok()
                .and_then(|u| s.char_at(u))
                .and_then(|t| t.chars().next())
                .ok_or_else(|| index_error(i, len))?;
            Ok(vm.char_value(ch))
        }
        (Value::Map(r), Value::Str(s)) => {
            let text = &vm.heap.str(s).text;
            match vm.heap.map(r).entries.get(&StrKey(text)) {
                Some(v) => Ok(*v),
                None => Err(Raise::Error(format!(
                    "key {} not found",
                    key_text(&Key::Str(text.clone()))
                ))),
            }
        }
        (Value::Map(r), k) => {
            let key = to_key(&vm.heap, k)?;
            match vm.heap.map(r).entries.get(&key) {
                Some(v) => Ok(*v),
                None => Err(Raise::Error(format!("key {} not found", key_text(&key)))),
            }
        }
        (Value::List(_) | Value::Str(_), k) => Err(Raise::Error(format!(
            "{} indices must be Int, got {}",
            obj.type_name(),
            k.type_name()
        ))),
        _ => Err(Raise::Error(format!("cannot index {}", obj.type_name()))),
    }
}

/// `obj[key] = v`.
pub fn set_index(vm: &mut Vm, obj: Value, key: Value, v: Value) -> Result<(), Raise> {
    match (obj, key) {
        (Value::List(r), Value::Int(i)) => {
            let items = &mut vm.heap.list_mut(r).items;
            let len = items.len();
            match usize::try_from(i).ok().and_then(|u| items.get_mut(u)) {
                Some(slot) => {
                    *slot = v;
                    Ok(())
                }
                None => Err(index_error(i, len)),
            }
        }
        (Value::Map(r), k) => {
            let key = to_key(&vm.heap, k)?;
            let len = vm.heap.map(r).entries.len();
            if len >= vm.limits.max_collection_len && !vm.heap.map(r).entries.contains_key(&key) {
                vm.check_len(len + 1, "map")?;
            }
            let m = vm.heap.map_mut(r);
            let (_, old) = m.entries.insert_full(key, v);
            if old.is_none() {
                m.version = m.version.wrapping_add(1);
                vm.heap.grew(48);
            }
            Ok(())
        }
        (Value::List(_), k) => Err(Raise::Error(format!(
            "List indices must be Int, got {}",
            k.type_name()
        ))),
        (Value::Str(_), _) => Err(Raise::Error("strings are immutable".to_string())),
        _ => Err(Raise::Error(format!(
            "cannot assign into {}",
            obj.type_name()
        ))),
    }
}

/// A map from `pairs` key/value register pairs starting at absolute register `start`.
pub fn new_map(vm: &mut Vm, start: usize, pairs: usize) -> Result<Value, Raise> {
    let mut m = MapObj::default();
    m.entries.reserve(pairs);
    for i in 0..pairs {
        let k = to_key(&vm.heap, vm.regs[start + 2 * i])?;
        m.entries.insert(k, vm.regs[start + 2 * i + 1]);
    }
    Ok(vm.heap.alloc_map(m))
}
