//! Built-in functions (§7). Each receives the VM and the absolute register range of
//! its arguments; the interpreter has already checked the argument count.

use super::object::Key;
use super::ops::{self, to_key};
use super::value::Value;
use super::{Raise, Vm};
use std::io::Write;

pub type NativeFn = fn(&mut Vm, usize, usize) -> Result<Value, Raise>;

pub struct Builtin {
    pub name: &'static str,
    pub min_args: u8,
    /// `None` for any number.
    pub max_args: Option<u8>,
    pub func: NativeFn,
}

const fn b(name: &'static str, min: u8, max: Option<u8>, func: NativeFn) -> Builtin {
    Builtin {
        name,
        min_args: min,
        max_args: max,
        func,
    }
}

/// Indices in [`BUILTINS`] of the built-ins the interpreter runs inline.
pub const LEN: u32 = 5;
pub const PUSH: u32 = 6;
pub const POP: u32 = 7;

/// The built-ins, in global-slot order.
pub static BUILTINS: &[Builtin] = &[
    b("print", 0, None, print),
    b("str", 1, Some(1), str_),
    b("int", 1, Some(1), int),
    b("float", 1, Some(1), float),
    b("type", 1, Some(1), type_),
    b("len", 1, Some(1), len),
    b("push", 2, Some(2), push),
    b("pop", 1, Some(1), pop),
    b("insert", 3, Some(3), insert),
    b("remove", 2, Some(2), remove),
    b("keys", 1, Some(1), keys),
    b("values", 1, Some(1), values),
    b("has", 2, Some(2), has),
    b("get", 3, Some(3), get),
    b("slice", 3, Some(3), slice),
    b("join", 2, Some(2), join),
    b("split", 2, Some(2), split),
    b("contains", 2, Some(2), contains),
    b("upper", 1, Some(1), upper),
    b("lower", 1, Some(1), lower),
    b("trim", 1, Some(1), trim),
    b("chr", 1, Some(1), chr),
    b("ord", 1, Some(1), ord),
    b("abs", 1, Some(1), abs),
    b("min", 2, Some(2), min),
    b("max", 2, Some(2), max),
    b("floor", 1, Some(1), floor),
    b("ceil", 1, Some(1), ceil),
    b("sqrt", 1, Some(1), sqrt),
    b("pow", 2, Some(2), pow),
    b("sin", 1, Some(1), sin),
    b("cos", 1, Some(1), cos),
    b("sort", 1, Some(1), sort),
    b("assert", 1, Some(2), assert),
    b("error", 1, Some(1), error),
    b("clock", 0, Some(0), clock),
    b("args", 0, Some(0), args),
    b("exit", 0, Some(1), exit),
];

/// The names of the built-ins in slot order (the compiler's initial globals).
pub fn names() -> impl Iterator<Item = &'static str> {
    BUILTINS.iter().map(|b| b.name)
}

fn arg(vm: &Vm, start: usize, i: usize) -> Value {
    vm.regs[start + i]
}

fn expects(name: &str, what: &str, got: Value) -> Raise {
    Raise::Error(format!("{name} expects {what}, got {}", got.type_name()))
}

fn str_arg<'a>(vm: &'a Vm, name: &str, v: Value) -> Result<&'a str, Raise> {
    match v {
        Value::Str(r) => Ok(&vm.heap.str(r).text),
        other => Err(expects(name, "String", other)),
    }
}

fn int_arg(name: &str, v: Value) -> Result<i64, Raise> {
    match v {
        Value::Int(i) => Ok(i),
        other => Err(expects(name, "Int", other)),
    }
}

fn num_arg(name: &str, v: Value) -> Result<f64, Raise> {
    match v {
        Value::Int(i) => Ok(i as f64),
        Value::Float(f) => Ok(f),
        other => Err(expects(name, "Number", other)),
    }
}

fn print(vm: &mut Vm, start: usize, n: usize) -> Result<Value, Raise> {
    let mut line = String::new();
    for i in 0..n {
        if i > 0 {
            line.push(' ');
        }
        let v = arg(vm, start, i);
        vm.write_display_checked(v, &mut line)?;
    }
    line.push('\n');
    if vm.out.write_all(line.as_bytes()).is_err() {
        // A closed pipe (`vela run x | head`) ends the program quietly.
        return Err(Raise::Exit(0));
    }
    Ok(Value::Nil)
}

fn str_(vm: &mut Vm, start: usize, _: usize) -> Result<Value, Raise> {
    let v = arg(vm, start, 0);
    if let Value::Str(_) = v {
        return Ok(v);
    }
    let mut s = std::mem::take(&mut vm.scratch);
    s.clear();
    let checked = vm.write_display_checked(v, &mut s);
    let v = checked.map(|()| vm.heap.alloc_str(s.as_str()));
    vm.return_scratch(s);
    v
}

/// Parses an Int the way `int()` accepts it: optional sign, digits, `_` between digits.
fn parse_int(s: &str) -> Option<i64> {
    let t = s.trim();
    let (neg, digits) = match t.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
        || !digits.chars().all(|c| c.is_ascii_digit() || c == '_')
    {
        return None;
    }
    let clean: String = digits.chars().filter(|c| *c != '_').collect();
    let s = if neg { format!("-{clean}") } else { clean };
    s.parse().ok()
}

fn float_to_int(name: &str, f: f64) -> Result<i64, Raise> {
    if f.is_nan() {
        return Err(Raise::Error(format!("{name}: cannot convert nan to Int")));
    }
    let t = f.trunc();
    if !(-ops::TWO_POW_63..ops::TWO_POW_63).contains(&t) {
        return Err(Raise::Error("integer overflow".to_string()));
    }
    Ok(t as i64)
}

fn int(vm: &mut Vm, start: usize, _: usize) -> Result<Value, Raise> {
    match arg(vm, start, 0) {
        Value::Int(i) => Ok(Value::Int(i)),
        Value::Float(f) => Ok(Value::Int(float_to_int("int", f)?)),
        Value::Str(r) => {
            let s = &vm.heap.str(r).text;
            match parse_int(s) {
                Some(i) => Ok(Value::Int(i)),
                None => {
                    let all_digits = {
                        let t = s.trim();
                        let t = t.strip_prefix(['-', '+']).unwrap_or(t);
                        !t.is_empty() && t.chars().all(|c| c.is_ascii_digit() || c == '_')
                    };
                    if all_digits {
                        Err(Raise::Error("integer overflow".to_string()))
                    } else {
                        let mut q = String::new();
                        super::format::quote_str(s, &mut q);
                        Err(Raise::Error(format!("int: cannot convert {q} to Int")))
                    }
                }
            }
        }
        other => Err(expects("int", "Int, Float or String", other)),
    }
}

fn parse_float(s: &str) -> Option<f64> {
    let t = s.trim();
    let lower = t.to_ascii_lowercase();
    let body = lower.trim_start_matches(['+', '-']);
    if matches!(body, "inf" | "infinity" | "nan") {
        return lower.parse().ok();
    }
    // Digits, one optional '.', optional exponent; underscores only between digits.
    if t.is_empty() || t.contains("__") || t.starts_with('_') || t.ends_with('_') {
        return None;
    }
    let clean: String = t.chars().filter(|c| *c != '_').collect();
    if !clean
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
    {
        return None;
    }
    clean.parse().ok()
}

fn float(vm: &mut Vm, start: usize, _: usize) -> Result<Value, Raise> {
    match arg(vm, start, 0) {
        Value::Int(i) => Ok(Value::Float(i as f64)),
        Value::Float(f) => Ok(Value::Float(f)),
        Value::Str(r) => {
            let s = &vm.heap.str(r).text;
            match parse_float(s) {
                Some(f) => Ok(Value::Float(f)),
                None => {
                    let mut q = String::new();
                    super::format::quote_str(s, &mut q);
                    Err(Raise::Error(format!("float: cannot convert {q} to Float")))
                }
            }
        }
        other => Err(expects("float", "Int, Float or String", other)),
    }
}

fn type_(vm: &mut Vm, start: usize, _: usize) -> Result<Value, Raise> {
    let name = arg(vm, start, 0).type_name();
    Ok(vm.heap.alloc_str(name))
}

fn len(vm: &mut Vm, start: usize, _: usize) -> Result<Value, Raise> {
    let n = match arg(vm, start, 0) {
        Value::Str(r) => vm.heap.str(r).chars,
        Value::List(r) => vm.heap.list(r).items.len(),
        Value::Map(r) => vm.heap.map(r).entries.len(),
        other => return Err(expects("len", "String, List or Map", other)),
    };
    Ok(Value::Int(n as i64))
}

fn list_arg(name: &str, v: Value) -> Result<super::value::ObjRef, Raise> {
    match v {
        Value::List(r) => Ok(r),
        other => Err(expects(name, "List", other)),
    }
}

fn map_arg(name: &str, v: Value) -> Result<super::value::ObjRef, Raise> {
    match v {
        Value::Map(r) => Ok(r),
        other => Err(expects(name, "Map", other)),
    }
}

fn push(vm: &mut Vm, start: usize, _: usize) -> Result<Value, Raise> {
    let r = list_arg("push", arg(vm, start, 0))?;
    let v = arg(vm, start, 1);
    grow_list(vm, r)?;
    let l = vm.heap.list_mut(r);
    l.items.push(v);
    l.version = l.version.wrapping_add(1);
    vm.heap.grew(16);
    Ok(Value::Nil)
}

/// Makes room for one more element, within the limits and without aborting when
/// memory runs out.
#[inline(always)]
pub(crate) fn grow_list(vm: &mut Vm, r: super::value::ObjRef) -> Result<(), Raise> {
    let items = &vm.heap.list(r).items;
    // The common case, room left and under the length limit, in one look-up.
    if items.len() < items.capacity() && items.len() < vm.limits.max_collection_len {
        return Ok(());
    }
    grow_list_slow(vm, r)
}

#[cold]
#[inline(never)]
fn grow_list_slow(vm: &mut Vm, r: super::value::ObjRef) -> Result<(), Raise> {
    let len = vm.heap.list(r).items.len();
    vm.check_len(len + 1, "list")?;
    let items = &mut vm.heap.list_mut(r).items;
    if items.len() == items.capacity() {
        // Doubling; a list with room for fewer than 8 gets room for 8 more (128
        // bytes): a list that is pushed to usually gets more than a few items, and
        // a reallocation costs as much as a few dozen inline pushes (seed
        // stack_operations/10, 10 pushes onto `[]`: 256 -> 215 ns with 8 and 16
        // instead of 4, 8 and 16).
        let more = items.capacity().max(8);
        vm.check_memory(more * 16)?;
        vm.heap
            .list_mut(r)
            .items
            .try_reserve(more)
            .map_err(|_| Raise::Fatal("out of memory".to_string()))?;
    }
    Ok(())
}

fn pop(vm: &mut Vm, start: usize, _: usize) -> Result<Value, Raise> {
    let r = list_arg("pop", arg(vm, start, 0))?;
    let l = vm.heap.list_mut(r);
    match l.items.pop() {
        Some(v) => {
            l.version = l.version.wrapping_add(1);
            Ok(v)
        }
        None => Err(Raise::Error("pop from empty list".to_string())),
    }
}

fn insert(vm: &mut Vm, start: usize, _: usize) -> Result<Value, Raise> {
    let r = list_arg("insert", arg(vm, start, 0))?;
    let i = int_arg("insert", arg(vm, start, 1))?;
    let v = arg(vm, start, 2);
    grow_list(vm, r)?;
    let l = vm.heap.list_mut(r);
    let len = l.items.len();
    match usize::try_from(i) {
        Ok(u) if u <= len => {
            l.items.insert(u, v);
            l.version = l.version.wrapping_add(1);
            vm.heap.grew(16);
            Ok(Value::Nil)
        }
        _ => Err(Raise::Error(format!(
            "index {i} out of range for length {len}"
        ))),
    }
}

fn remove(vm: &mut Vm, start: usize, _: usize) -> Result<Value, Raise> {
    match arg(vm, start, 0) {
        Value::List(r) => {
            let i = int_arg("remove", arg(vm, start, 1))?;
            let l = vm.heap.list_mut(r);
            let len = l.items.len();
            match usize::try_from(i) {
                Ok(u) if u < len => {
                    l.version = l.version.wrapping_add(1);
                    Ok(l.items.remove(u))
                }
                _ => Err(Raise::Error(format!(
                    "index {i} out of range for length {len}"
                ))),
            }
        }
        Value::Map(r) => {
            let key = to_key(&vm.heap, arg(vm, start, 1))?;
            let m = vm.heap.map_mut(r);
            // shift_remove keeps the order of the remaining entries.
            match m.entries.shift_remove(&key) {
                Some(v) => {
                    m.version = m.version.wrapping_add(1);
                    Ok(v)
                }
                None => Err(Raise::Error(format!(
                    "key {} not found",
                    ops::key_text(&key)
                ))),
            }
        }
        other => Err(expects("remove", "List or Map", other)),
    }
}

fn keys(vm: &mut Vm, start: usize, _: usize) -> Result<Value, Raise> {
    let r = map_arg("keys", arg(vm, start, 0))?;
    let ks: Vec<Key> = vm.heap.map(r).entries.keys().cloned().collect();
    let items = ks.iter().map(|k| vm.key_value(k)).collect();
    Ok(vm.heap.alloc_list(items))
}

fn values(vm: &mut Vm, start: usize, _: usize) -> Result<Value, Raise> {
    let r = map_arg("values", arg(vm, start, 0))?;
    let items = vm.heap.map(r).entries.values().copied().collect();
    Ok(vm.heap.alloc_list(items))
}

fn has(vm: &mut Vm, start: usize, _: usize) -> Result<Value, Raise> {
    let r = map_arg("has", arg(vm, start, 0))?;
    let key = to_key(&vm.heap, arg(vm, start, 1))?;
    Ok(Value::Bool(vm.heap.map(r).entries.contains_key(&key)))
}

fn get(vm: &mut Vm, start: usize, _: usize) -> Result<Value, Raise> {
    let r = map_arg("get", arg(vm, start, 0))?;
    let key = to_key(&vm.heap, arg(vm, start, 1))?;
    Ok(vm
        .heap
        .map(r)
        .entries
        .get(&key)
        .copied()
        .unwrap_or(arg(vm, start, 2)))
}

/// Clamps slice bounds Python-style: negative or past-the-end bounds are errors
/// only when they are not Ints; out-of-range Ints clamp to `0..=len`.
fn slice_bounds(vm: &Vm, start: usize, len: usize) -> Result<(usize, usize), Raise> {
    let lo = int_arg("slice", arg(vm, start, 1))?;
    let hi = int_arg("slice", arg(vm, start, 2))?;
    let clamp = |i: i64| i.clamp(0, len as i64) as usize;
    let (lo, hi) = (clamp(lo), clamp(hi));
    Ok((lo, hi.max(lo)))
}

fn slice(vm: &mut Vm, start: usize, _: usize) -> Result<Value, Raise> {
    match arg(vm, start, 0) {
        Value::List(r) => {
            let len = vm.heap.list(r).items.len();
            let (lo, hi) = slice_bounds(vm, start, len)?;
            let items = vm.heap.list(r).items[lo..hi].to_vec();
            Ok(vm.heap.alloc_list(items))
        }
        Value::Str(r) => {
            let len = vm.heap.str(r).chars;
            let (lo, hi) = slice_bounds(vm, start, len)?;
            let s = vm.heap.str(r);
            let text: String = if s.is_ascii() {
                s.text[lo..hi].to_string()
            } else {
                s.text.chars().skip(lo).take(hi - lo).collect()
            };
            Ok(vm.heap.alloc_str(text))
        }
        other => Err(expects("slice", "List or String", other)),
    }
}

fn join(vm: &mut Vm, start: usize, _: usize) -> Result<Value, Raise> {
    let r = list_arg("join", arg(vm, start, 0))?;
    let sep = str_arg(vm, "join", arg(vm, start, 1))?.to_string();
    let mut out = String::new();
    let items = vm.heap.list(r).items.clone();
    for (i, v) in items.into_iter().enumerate() {
        if i > 0 {
            out.push_str(&sep);
        }
        vm.write_display(v, &mut out);
        vm.check_string(out.len())?;
    }
    Ok(vm.heap.alloc_str(out))
}

fn split(vm: &mut Vm, start: usize, _: usize) -> Result<Value, Raise> {
    let s = str_arg(vm, "split", arg(vm, start, 0))?.to_string();
    let sep = str_arg(vm, "split", arg(vm, start, 1))?.to_string();
    let parts: Vec<String> = if sep.is_empty() {
        s.chars().map(|c| c.to_string()).collect()
    } else {
        s.split(sep.as_str()).map(str::to_string).collect()
    };
    let items = parts.into_iter().map(|p| vm.heap.alloc_str(p)).collect();
    Ok(vm.heap.alloc_list(items))
}

fn contains(vm: &mut Vm, start: usize, _: usize) -> Result<Value, Raise> {
    let needle = arg(vm, start, 1);
    match arg(vm, start, 0) {
        Value::Str(r) => {
            let sub = str_arg(vm, "contains", needle)?;
            Ok(Value::Bool(vm.heap.str(r).text.contains(sub)))
        }
        Value::List(r) => {
            let found = vm
                .heap
                .list(r)
                .items
                .iter()
                .any(|&v| ops::equal(&vm.heap, v, needle));
            Ok(Value::Bool(found))
        }
        other => Err(expects("contains", "String or List", other)),
    }
}

fn map_str(
    vm: &mut Vm,
    start: usize,
    name: &str,
    f: impl Fn(&str) -> String,
) -> Result<Value, Raise> {
    let s = f(str_arg(vm, name, arg(vm, start, 0))?);
    Ok(vm.heap.alloc_str(s))
}

fn upper(vm: &mut Vm, start: usize, _: usize) -> Result<Value, Raise> {
    map_str(vm, start, "upper", str::to_uppercase)
}

fn lower(vm: &mut Vm, start: usize, _: usize) -> Result<Value, Raise> {
    map_str(vm, start, "lower", str::to_lowercase)
}

fn trim(vm: &mut Vm, start: usize, _: usize) -> Result<Value, Raise> {
    map_str(vm, start, "trim", |s| s.trim().to_string())
}

fn chr(vm: &mut Vm, start: usize, _: usize) -> Result<Value, Raise> {
    let i = int_arg("chr", arg(vm, start, 0))?;
    match u32::try_from(i).ok().and_then(char::from_u32) {
        Some(c) => Ok(vm.char_value(c)),
        None => Err(Raise::Error(format!("chr: invalid code point {i}"))),
    }
}

fn ord(vm: &mut Vm, start: usize, _: usize) -> Result<Value, Raise> {
    let s = str_arg(vm, "ord", arg(vm, start, 0))?;
    let mut it = s.chars();
    match (it.next(), it.next()) {
        (Some(c), None) => Ok(Value::Int(c as i64)),
        _ => Err(Raise::Error(format!(
            "ord expects a single character, got a string of length {}",
            s.chars().count()
        ))),
    }
}

fn abs(vm: &mut Vm, start: usize, _: usize) -> Result<Value, Raise> {
    match arg(vm, start, 0) {
        Value::Int(i) => i
            .checked_abs()
            .map(Value::Int)
            .ok_or_else(|| Raise::Error("integer overflow".to_string())),
        Value::Float(f) => Ok(Value::Float(f.abs())),
        other => Err(expects("abs", "Number", other)),
    }
}

fn min(vm: &mut Vm, start: usize, _: usize) -> Result<Value, Raise> {
    let (a, b) = (arg(vm, start, 0), arg(vm, start, 1));
    let less = ops::order(&vm.heap, b, a)? == Some(std::cmp::Ordering::Less);
    Ok(if less { b } else { a })
}

fn max(vm: &mut Vm, start: usize, _: usize) -> Result<Value, Raise> {
    let (a, b) = (arg(vm, start, 0), arg(vm, start, 1));
    let greater = ops::order(&vm.heap, b, a)? == Some(std::cmp::Ordering::Greater);
    Ok(if greater { b } else { a })
}

fn round_with(name: &str, v: Value, f: fn(f64) -> f64) -> Result<Value, Raise> {
    match v {
        Value::Int(i) => Ok(Value::Int(i)),
        Value::Float(x) => Ok(Value::Int(float_to_int(name, f(x))?)),
        other => Err(expects(name, "Number", other)),
    }
}

fn floor(vm: &mut Vm, start: usize, _: usize) -> Result<Value, Raise> {
    round_with("floor", arg(vm, start, 0), f64::floor)
}

fn ceil(vm: &mut Vm, start: usize, _: usize) -> Result<Value, Raise> {
    round_with("ceil", arg(vm, start, 0), f64::ceil)
}

fn sqrt(vm: &mut Vm, start: usize, _: usize) -> Result<Value, Raise> {
    Ok(Value::Float(num_arg("sqrt", arg(vm, start, 0))?.sqrt()))
}

fn sin(vm: &mut Vm, start: usize, _: usize) -> Result<Value, Raise> {
    Ok(Value::Float(num_arg("sin", arg(vm, start, 0))?.sin()))
}

fn cos(vm: &mut Vm, start: usize, _: usize) -> Result<Value, Raise> {
    Ok(Value::Float(num_arg("cos", arg(vm, start, 0))?.cos()))
}

fn pow(vm: &mut Vm, start: usize, _: usize) -> Result<Value, Raise> {
    let (x, y) = (arg(vm, start, 0), arg(vm, start, 1));
    if let (Value::Int(b), Value::Int(e)) = (x, y) {
        if e >= 0 {
            let exact = u32::try_from(e).ok().and_then(|e32| b.checked_pow(e32));
            return match (exact, b) {
                (Some(v), _) => Ok(Value::Int(v)),
                // 0, 1 and -1 to a huge power still have an exact answer.
                (None, 0 | 1) => Ok(Value::Int(b)),
                (None, -1) => Ok(Value::Int(if e % 2 == 0 { 1 } else { -1 })),
                (None, _) => Err(Raise::Error("integer overflow".to_string())),
            };
        }
    }
    let b = num_arg("pow", x)?;
    let e = num_arg("pow", y)?;
    Ok(Value::Float(b.powf(e)))
}

fn sort(vm: &mut Vm, start: usize, _: usize) -> Result<Value, Raise> {
    let r = list_arg("sort", arg(vm, start, 0))?;
    let mut items = std::mem::take(&mut vm.heap.list_mut(r).items);
    // Numbers sort with numbers and strings with strings; the error names the first
    // element's type and the first type that cannot be compared with it.
    let class = |v: &Value| match v {
        Value::Int(_) | Value::Float(_) => 0,
        Value::Str(_) => 1,
        _ => 2,
    };
    let mismatch = match items.first() {
        Some(first) if items.len() > 1 => {
            if class(first) == 2 {
                Some((*first, items[1]))
            } else {
                items
                    .iter()
                    .find(|v| class(v) != class(first))
                    .map(|bad| (*first, *bad))
            }
        }
        _ => None,
    };
    let mut err = None;
    if let Some((a, b)) = mismatch {
        err = Some(Raise::Error(format!(
            "sort: cannot compare {} and {}",
            a.type_name(),
            b.type_name()
        )));
    } else {
        let heap = &vm.heap;
        items.sort_by(|a, b| {
            ops::order(heap, *a, *b)
                .ok()
                .flatten()
                // NaN sorts last.
                .unwrap_or_else(|| {
                    let an = matches!(a, Value::Float(f) if f.is_nan());
                    let bn = matches!(b, Value::Float(f) if f.is_nan());
                    an.cmp(&bn)
                })
        });
    }
    vm.heap.list_mut(r).items = items;
    match err {
        Some(e) => Err(e),
        None => Ok(Value::Nil),
    }
}

fn assert(vm: &mut Vm, start: usize, n: usize) -> Result<Value, Raise> {
    match arg(vm, start, 0) {
        Value::Bool(true) => Ok(Value::Nil),
        Value::Bool(false) => {
            if n > 1 {
                let m = vm.display(arg(vm, start, 1));
                Err(Raise::Error(format!("assertion failed: {m}")))
            } else {
                Err(Raise::Error("assertion failed".to_string()))
            }
        }
        other => Err(expects("assert", "Bool", other)),
    }
}

fn error(vm: &mut Vm, start: usize, _: usize) -> Result<Value, Raise> {
    Err(Raise::Error(vm.display(arg(vm, start, 0))))
}

fn clock(vm: &mut Vm, _: usize, _: usize) -> Result<Value, Raise> {
    Ok(Value::Float(vm.start.elapsed().as_secs_f64()))
}

fn args(vm: &mut Vm, _: usize, _: usize) -> Result<Value, Raise> {
    let strs: Vec<String> = vm.script_args.clone();
    let items = strs.into_iter().map(|s| vm.heap.alloc_str(s)).collect();
    Ok(vm.heap.alloc_list(items))
}

fn exit(vm: &mut Vm, start: usize, n: usize) -> Result<Value, Raise> {
    let code = if n == 0 {
        0
    } else {
        int_arg("exit", arg(vm, start, 0))?
    };
    if !(0..=255).contains(&code) {
        return Err(Raise::Error(format!(
            "exit code must be between 0 and 255, got {code}"
        )));
    }
    let _ = vm.out.flush();
    Err(Raise::Exit(code as i32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_builtin_indices_name_the_right_functions() {
        assert_eq!(BUILTINS[LEN as usize].name, "len");
        assert_eq!(BUILTINS[PUSH as usize].name, "push");
        assert_eq!(BUILTINS[POP as usize].name, "pop");
    }
}
