//! Runtime values: a 16-byte `Copy` enum. Scalars live inline; strings, lists, maps
//! and closures are handles into the [`Heap`](super::heap::Heap), so moving a value
//! between registers never touches a reference count.

/// A handle to a heap object (an index into the heap's object table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ObjRef(pub(crate) u32);

impl ObjRef {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

#[derive(Clone, Copy, Debug, Default)]
pub enum Value {
    #[default]
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(ObjRef),
    List(ObjRef),
    Map(ObjRef),
    /// A user function (closure).
    Func(ObjRef),
    /// A built-in function, by index into the built-in table.
    Native(u32),
}

const _: () = assert!(std::mem::size_of::<Value>() == 16);

impl Value {
    /// The name `type()` gives and error messages use.
    pub fn type_name(self) -> &'static str {
        match self {
            Value::Nil => "Nil",
            Value::Bool(_) => "Bool",
            Value::Int(_) => "Int",
            Value::Float(_) => "Float",
            Value::Str(_) => "String",
            Value::List(_) => "List",
            Value::Map(_) => "Map",
            Value::Func(_) | Value::Native(_) => "Function",
        }
    }

    /// The heap object this value refers to, if any.
    pub fn obj(self) -> Option<ObjRef> {
        match self {
            Value::Str(r) | Value::List(r) | Value::Map(r) | Value::Func(r) => Some(r),
            _ => None,
        }
    }
}
