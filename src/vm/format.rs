//! The text form of values (§8): what `print`, `str` and interpolation produce.

use super::heap::Heap;
use super::object::Obj;
use super::value::{ObjRef, Value};
use std::fmt::Write;

pub use crate::textform::{format_float, quote_str};

/// Containers nested deeper than this print as `[...]`/`{...}` (keeps printing a
/// pathological structure from exhausting the native stack).
const MAX_PRINT_DEPTH: usize = 2000;

/// Appends the text form of `v`. Strings are raw at top level and quoted inside
/// containers; a container met again while printing itself prints as `[...]`.
pub fn write_value(heap: &Heap, v: Value, out: &mut String, fn_name: &dyn Fn(Value) -> String) {
    let mut seen = Vec::new();
    write_inner(heap, v, out, false, &mut seen, fn_name);
}

fn write_inner(
    heap: &Heap,
    v: Value,
    out: &mut String,
    quoted: bool,
    seen: &mut Vec<ObjRef>,
    fn_name: &dyn Fn(Value) -> String,
) {
    match v {
        Value::Nil => out.push_str("nil"),
        Value::Bool(b) => out.push_str(if b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
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
        Value::List(r) => {
            if seen.contains(&r) || seen.len() >= MAX_PRINT_DEPTH {
                out.push_str("[...]");
                return;
            }
            seen.push(r);
            out.push('[');
            if let Obj::List(l) = heap.get(r) {
                for (i, item) in l.items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    write_inner(heap, *item, out, true, seen, fn_name);
                }
            }
            out.push(']');
            seen.pop();
        }
        Value::Map(r) => {
            if seen.contains(&r) || seen.len() >= MAX_PRINT_DEPTH {
                out.push_str("{...}");
                return;
            }
            seen.push(r);
            out.push('{');
            if let Obj::Map(m) = heap.get(r) {
                for (i, (k, val)) in m.entries.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    match k {
                        super::object::Key::Int(n) => {
                            let _ = write!(out, "{n}");
                        }
                        super::object::Key::Bool(b) => {
                            out.push_str(if *b { "true" } else { "false" })
                        }
                        super::object::Key::Str(s) => quote_str(s, out),
                    }
                    out.push_str(": ");
                    write_inner(heap, *val, out, true, seen, fn_name);
                }
            }
            out.push('}');
            seen.pop();
        }
    }
}
