//! The text form of values (§8): what `print`, `str` and interpolation produce.

use super::heap::Heap;
use super::object::Obj;
use super::value::{ObjRef, Value};
use std::collections::HashSet;
use std::fmt::Write;
use std::sync::atomic::{AtomicBool, Ordering};

pub use crate::textform::{format_float, quote_str};

/// One step of writing a value: the writer keeps an explicit stack of these, so
/// a deeply nested structure never exhausts the native stack.
enum Step {
    Value(Value, bool),
    Text(&'static str),
    Key(Key),
    /// Closes a container: writes the bracket and leaves its path.
    Close(ObjRef, &'static str),
}

use super::object::Key;

/// Appends the text form of `v`. Strings are raw at top level and quoted inside
/// containers; a container met again while printing itself prints as `[...]` /
/// `{...}`.
///
/// Stops (returning false) once `out` is longer than `limit` bytes: a structure
/// that shares parts (`a = [a, a]` repeated) has a text form exponentially longer
/// than itself, so writing it must be bounded by the string and memory limits.
/// It also stops when `stop` (the VM's interrupt flag) is set, so that a timeout
/// or an interrupt ends even a long write.
pub fn write_value(
    heap: &Heap,
    v: Value,
    out: &mut String,
    fn_name: &dyn Fn(Value) -> String,
    limit: usize,
    stop: &AtomicBool,
) -> bool {
    if !matches!(v, Value::List(_) | Value::Map(_)) {
        // Most text forms are of one scalar (`str(i)`, interpolation): no stack.
        write_scalar(heap, v, false, out, fn_name);
        return out.len() <= limit;
    }
    // The containers being printed, from the outermost to the current one.
    let mut path: HashSet<ObjRef> = HashSet::new();
    let mut steps = vec![Step::Value(v, false)];
    let mut count: u32 = 0;
    while let Some(step) = steps.pop() {
        count = count.wrapping_add(1);
        if out.len() > limit || (count.is_multiple_of(4096) && stop.load(Ordering::Relaxed)) {
            return false;
        }
        match step {
            Step::Text(t) => out.push_str(t),
            Step::Key(k) => match k {
                Key::Int(n) => {
                    let _ = write!(out, "{n}");
                }
                Key::Bool(b) => out.push_str(if b { "true" } else { "false" }),
                Key::Str(s) => quote_str(&s, out),
            },
            Step::Close(r, bracket) => {
                out.push_str(bracket);
                path.remove(&r);
            }
            Step::Value(v, quoted) => match v {
                Value::List(r) => {
                    if !path.insert(r) {
                        out.push_str("[...]");
                        continue;
                    }
                    out.push('[');
                    steps.push(Step::Close(r, "]"));
                    if let Obj::List(l) = heap.get(r) {
                        for (i, item) in l.items.iter().enumerate().rev() {
                            steps.push(Step::Value(*item, true));
                            if i > 0 {
                                steps.push(Step::Text(", "));
                            }
                        }
                    }
                }
                Value::Map(r) => {
                    if !path.insert(r) {
                        out.push_str("{...}");
                        continue;
                    }
                    out.push('{');
                    steps.push(Step::Close(r, "}"));
                    if let Obj::Map(m) = heap.get(r) {
                        for (i, (k, val)) in m.entries.iter().enumerate().rev() {
                            steps.push(Step::Value(*val, true));
                            steps.push(Step::Text(": "));
                            steps.push(Step::Key(k.clone()));
                            if i > 0 {
                                steps.push(Step::Text(", "));
                            }
                        }
                    }
                }
                scalar => write_scalar(heap, scalar, quoted, out, fn_name),
            },
        }
    }
    out.len() <= limit
}

/// Appends the text form of a value that is not a container.
fn write_scalar(
    heap: &Heap,
    v: Value,
    quoted: bool,
    out: &mut String,
    fn_name: &dyn Fn(Value) -> String,
) {
    match v {
        Value::Nil => out.push_str("nil"),
        Value::Bool(b) => out.push_str(if b { "true" } else { "false" }),
        Value::Int(i) => push_int(i, out),
        Value::Float(x) => format_float(x, out),
        Value::Str(r) => {
            let s = &heap.str(r).text;
            if quoted {
                quote_str(s, out);
            } else {
                out.push_str(s);
            }
        }
        Value::Func(_) | Value::Native(_) => {
            let _ = write!(out, "<fn {}>", fn_name(v));
        }
        // Containers are written by `write_value`.
        Value::List(_) => out.push_str("[...]"),
        Value::Map(_) => out.push_str("{...}"),
    }
}

/// Appends the decimal form of `i`: digits into a stack buffer from the right,
/// without the formatting machinery (`str()` of numbers and interpolation are hot).
pub fn push_int(i: i64, out: &mut String) {
    let mut buf = [0u8; 20];
    let mut n = i.unsigned_abs();
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.reserve(buf.len() + 1 - at);
    if i < 0 {
        out.push('-');
    }
    for &digit in &buf[at..] {
        out.push(digit as char);
    }
}

#[cfg(test)]
mod int_tests {
    use super::push_int;

    #[test]
    fn ints_read_as_rust_writes_them() {
        for i in [
            0,
            1,
            -1,
            9,
            10,
            -10,
            99,
            100,
            12345,
            i64::MAX,
            i64::MIN,
            i64::MIN + 1,
        ] {
            let mut s = String::new();
            push_int(i, &mut s);
            assert_eq!(s, i.to_string());
        }
    }
}
