//! [`Dynamic`], the owned form of a Vela value that crosses the embedding boundary,
//! and the conversions between it and Rust types.

use super::function::Function;
use indexmap::IndexMap;
use std::collections::{BTreeMap, HashMap};
use std::fmt;

/// The map type inside [`Dynamic::Map`]: keeps insertion order, like Vela maps.
pub type Map = IndexMap<MapKey, Dynamic>;

/// An owned Vela value, as it crosses the boundary between Rust and a [`Vm`].
///
/// Values read out of the VM are copies: changing a `Dynamic` list changes nothing
/// in the VM, and a value can be kept as long as you like (even after the VM is
/// gone, except that a [`Function`] can only be called by the VM it came from).
///
/// Build one with `.into()` from Rust values, and turn it back with
/// [`cast`](Dynamic::cast) (or the `as_*` accessors):
///
/// ```
/// use vela::Dynamic;
///
/// let d: Dynamic = vec![1, 2, 3].into();
/// assert_eq!(d.type_name(), "List");
/// assert_eq!(d.to_string(), "[1, 2, 3]");
/// let back: Vec<i64> = d.cast().unwrap();
/// assert_eq!(back, [1, 2, 3]);
///
/// let err = Dynamic::from("seven").cast::<i64>().unwrap_err();
/// assert_eq!(err.to_string(), "expected Int, got String");
/// ```
///
/// [`Vm`]: crate::Vm
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Dynamic {
    /// `nil`; also what `()` and `None` become.
    #[default]
    Nil,
    /// `true` or `false`.
    Bool(bool),
    /// A 64-bit integer.
    Int(i64),
    /// A double-precision float.
    Float(f64),
    /// A string (Vela strings are UTF-8).
    String(String),
    /// A list, in order.
    List(Vec<Dynamic>),
    /// A map, in insertion order. Keys are Int, String or Bool, as in Vela.
    Map(Map),
    /// A Vela function (a closure, a built-in or a host function), kept alive by
    /// the VM it came from for as long as the handle exists.
    Function(Function),
}

/// A map key: Vela maps accept Int, String and Bool keys.
///
/// ```
/// use vela::{Dynamic, MapKey};
///
/// let mut m = vela::Map::new();
/// m.insert(MapKey::from("name"), Dynamic::from("Ann"));
/// m.insert(MapKey::Int(1), Dynamic::from(true));
/// assert_eq!(Dynamic::Map(m).to_string(), r#"{"name": "Ann", 1: true}"#);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MapKey {
    /// An Int key: `{1: "one"}`.
    Int(i64),
    /// A Bool key: `{true: "yes"}`.
    Bool(bool),
    /// A String key: `{name: "Ann"}` or `{"name": "Ann"}`.
    String(String),
}

impl MapKey {
    /// The Vela type name of the key: `Int`, `Bool` or `String`.
    pub fn type_name(&self) -> &'static str {
        match self {
            MapKey::Int(_) => "Int",
            MapKey::Bool(_) => "Bool",
            MapKey::String(_) => "String",
        }
    }

    /// The key's text if it is a String key.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            MapKey::String(s) => Some(s),
            _ => None,
        }
    }
}

impl fmt::Display for MapKey {
    /// The key as Vela prints it inside a map (strings quoted).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MapKey::Int(i) => write!(f, "{i}"),
            MapKey::Bool(b) => write!(f, "{b}"),
            MapKey::String(s) => {
                let mut out = String::new();
                crate::textform::quote_str(s, &mut out);
                f.write_str(&out)
            }
        }
    }
}

impl From<&str> for MapKey {
    fn from(s: &str) -> MapKey {
        MapKey::String(s.to_string())
    }
}

impl From<String> for MapKey {
    fn from(s: String) -> MapKey {
        MapKey::String(s)
    }
}

impl From<i64> for MapKey {
    fn from(i: i64) -> MapKey {
        MapKey::Int(i)
    }
}

impl From<bool> for MapKey {
    fn from(b: bool) -> MapKey {
        MapKey::Bool(b)
    }
}

impl Dynamic {
    /// The Vela type name, as `type()` gives it: `Nil`, `Bool`, `Int`, `Float`,
    /// `String`, `List`, `Map` or `Function`.
    ///
    /// ```
    /// assert_eq!(vela::Dynamic::from(1.5).type_name(), "Float");
    /// ```
    pub fn type_name(&self) -> &'static str {
        match self {
            Dynamic::Nil => "Nil",
            Dynamic::Bool(_) => "Bool",
            Dynamic::Int(_) => "Int",
            Dynamic::Float(_) => "Float",
            Dynamic::String(_) => "String",
            Dynamic::List(_) => "List",
            Dynamic::Map(_) => "Map",
            Dynamic::Function(_) => "Function",
        }
    }

    /// Converts to a Rust type; the error names the expected and the actual type.
    ///
    /// ```
    /// use vela::Dynamic;
    /// let d = Dynamic::List(vec![Dynamic::Int(1), Dynamic::Nil]);
    /// let v: Vec<Option<i64>> = d.cast().unwrap();
    /// assert_eq!(v, [Some(1), None]);
    /// ```
    pub fn cast<T: FromDynamic>(self) -> Result<T, ConversionError> {
        T::from_dynamic(self)
    }

    /// Whether this is `nil`.
    pub fn is_nil(&self) -> bool {
        matches!(self, Dynamic::Nil)
    }

    /// The Bool, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Dynamic::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The Int, if this is one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Dynamic::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The number as a float, if this is a Float or an Int.
    pub fn as_float(&self) -> Option<f64> {
        match self {
            Dynamic::Float(f) => Some(*f),
            Dynamic::Int(i) => Some(*i as f64),
            _ => None,
        }
    }

    /// The text, if this is a String.
    ///
    /// ```
    /// assert_eq!(vela::Dynamic::from("hi").as_str(), Some("hi"));
    /// ```
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Dynamic::String(s) => Some(s),
            _ => None,
        }
    }

    /// The elements, if this is a List.
    pub fn as_list(&self) -> Option<&[Dynamic]> {
        match self {
            Dynamic::List(l) => Some(l),
            _ => None,
        }
    }

    /// The entries, if this is a Map.
    pub fn as_map(&self) -> Option<&Map> {
        match self {
            Dynamic::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The function handle, if this is a Function.
    pub fn as_function(&self) -> Option<&Function> {
        match self {
            Dynamic::Function(f) => Some(f),
            _ => None,
        }
    }

    /// The entry of a Map under a String key (`None` for other values).
    ///
    /// ```
    /// use vela::Dynamic;
    /// let mut m = vela::Map::new();
    /// m.insert("port".into(), Dynamic::Int(8080));
    /// assert_eq!(Dynamic::Map(m).get("port"), Some(&Dynamic::Int(8080)));
    /// ```
    pub fn get(&self, key: &str) -> Option<&Dynamic> {
        match self {
            Dynamic::Map(m) => m.get(&MapKey::String(key.to_string())),
            _ => None,
        }
    }

    fn write(&self, out: &mut String, quoted: bool) {
        use std::fmt::Write;
        match self {
            Dynamic::Nil => out.push_str("nil"),
            Dynamic::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Dynamic::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Dynamic::Float(x) => crate::textform::format_float(*x, out),
            Dynamic::String(s) if quoted => crate::textform::quote_str(s, out),
            Dynamic::String(s) => out.push_str(s),
            Dynamic::List(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    item.write(out, true);
                }
                out.push(']');
            }
            Dynamic::Map(m) => {
                out.push('{');
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    let _ = write!(out, "{k}: ");
                    v.write(out, true);
                }
                out.push('}');
            }
            Dynamic::Function(f) => {
                let _ = write!(out, "<fn {}>", f.name());
            }
        }
    }
}

impl fmt::Display for Dynamic {
    /// The text form `print` gives the value: strings bare at the top level and
    /// quoted inside lists and maps, floats as Vela writes them (`2.0`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        self.write(&mut out, false);
        f.write_str(&out)
    }
}

// ------------------------------------------------------------------ Rust → Dynamic

impl From<()> for Dynamic {
    fn from(_: ()) -> Dynamic {
        Dynamic::Nil
    }
}

impl From<bool> for Dynamic {
    fn from(b: bool) -> Dynamic {
        Dynamic::Bool(b)
    }
}

macro_rules! from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Dynamic {
            fn from(i: $t) -> Dynamic {
                Dynamic::Int(i64::from(i))
            }
        }
    )*};
}
from_int!(i64, i32, i16, i8, u32, u16, u8);

impl From<f64> for Dynamic {
    fn from(x: f64) -> Dynamic {
        Dynamic::Float(x)
    }
}

impl From<f32> for Dynamic {
    fn from(x: f32) -> Dynamic {
        Dynamic::Float(f64::from(x))
    }
}

impl From<&str> for Dynamic {
    fn from(s: &str) -> Dynamic {
        Dynamic::String(s.to_string())
    }
}

impl From<String> for Dynamic {
    fn from(s: String) -> Dynamic {
        Dynamic::String(s)
    }
}

impl From<&String> for Dynamic {
    fn from(s: &String) -> Dynamic {
        Dynamic::String(s.clone())
    }
}

impl From<char> for Dynamic {
    fn from(c: char) -> Dynamic {
        Dynamic::String(c.to_string())
    }
}

impl<T: Into<Dynamic>> From<Option<T>> for Dynamic {
    fn from(o: Option<T>) -> Dynamic {
        o.map_or(Dynamic::Nil, Into::into)
    }
}

impl<T: Into<Dynamic>> From<Vec<T>> for Dynamic {
    fn from(v: Vec<T>) -> Dynamic {
        Dynamic::List(v.into_iter().map(Into::into).collect())
    }
}

impl<T: Into<Dynamic> + Clone> From<&[T]> for Dynamic {
    fn from(v: &[T]) -> Dynamic {
        Dynamic::List(v.iter().cloned().map(Into::into).collect())
    }
}

impl<T: Into<Dynamic>, const N: usize> From<[T; N]> for Dynamic {
    fn from(v: [T; N]) -> Dynamic {
        Dynamic::List(v.into_iter().map(Into::into).collect())
    }
}

impl From<Map> for Dynamic {
    fn from(m: Map) -> Dynamic {
        Dynamic::Map(m)
    }
}

impl<T: Into<Dynamic>> From<IndexMap<String, T>> for Dynamic {
    fn from(m: IndexMap<String, T>) -> Dynamic {
        Dynamic::Map(
            m.into_iter()
                .map(|(k, v)| (MapKey::String(k), v.into()))
                .collect(),
        )
    }
}

impl<T: Into<Dynamic>> From<BTreeMap<String, T>> for Dynamic {
    fn from(m: BTreeMap<String, T>) -> Dynamic {
        Dynamic::Map(
            m.into_iter()
                .map(|(k, v)| (MapKey::String(k), v.into()))
                .collect(),
        )
    }
}

/// A `HashMap` has no order: its entries become a Vela map sorted by key, so that
/// the result does not change from run to run.
impl<T: Into<Dynamic>> From<HashMap<String, T>> for Dynamic {
    fn from(m: HashMap<String, T>) -> Dynamic {
        let mut entries: Vec<(String, T)> = m.into_iter().collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        Dynamic::Map(
            entries
                .into_iter()
                .map(|(k, v)| (MapKey::String(k), v.into()))
                .collect(),
        )
    }
}

impl From<MapKey> for Dynamic {
    fn from(k: MapKey) -> Dynamic {
        match k {
            MapKey::Int(i) => Dynamic::Int(i),
            MapKey::Bool(b) => Dynamic::Bool(b),
            MapKey::String(s) => Dynamic::String(s),
        }
    }
}

impl From<Function> for Dynamic {
    fn from(f: Function) -> Dynamic {
        Dynamic::Function(f)
    }
}

// ------------------------------------------------------------------ Dynamic → Rust

/// A value that did not have the type a Rust conversion expected.
///
/// Its `Display` is `expected Int, got String`, followed by where in a nested
/// value the mismatch is (` at [2]["port"]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConversionError {
    /// What the conversion accepts, in Vela's terms (`Int`, `List`, `Int or Nil`).
    pub expected: String,
    /// The Vela type found (or, for an Int out of a Rust type's range, the number).
    pub got: String,
    /// Where the mismatch is inside a nested value (`[2]["port"]`); empty at the top.
    pub path: String,
}

impl ConversionError {
    /// An error for a value of Vela type `got` where `expected` was needed.
    pub fn new(expected: impl Into<String>, got: impl Into<String>) -> ConversionError {
        ConversionError {
            expected: expected.into(),
            got: got.into(),
            path: String::new(),
        }
    }

    fn mismatch(expected: &str, got: &Dynamic) -> ConversionError {
        ConversionError::new(expected, got.type_name())
    }

    fn inside(mut self, step: String) -> ConversionError {
        self.path.insert_str(0, &step);
        self
    }

    /// `expects Int, got String` plus the path: the wording of argument errors.
    pub(crate) fn expects(&self) -> String {
        let mut s = format!("expects {}, got {}", self.expected, self.got);
        if !self.path.is_empty() {
            s.push_str(" at ");
            s.push_str(&self.path);
        }
        s
    }
}

impl fmt::Display for ConversionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "expected {}, got {}", self.expected, self.got)?;
        if !self.path.is_empty() {
            write!(f, " at {}", self.path)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConversionError {}

/// Rust types a [`Dynamic`] converts into: the argument types of host functions
/// and the targets of [`Dynamic::cast`] and [`Vm::get_global`](crate::Vm::get_global).
///
/// Implemented for `Dynamic`, `()`, `bool`, `i64`, `i32`, `u32`, `usize`, `f64`
/// (an Int is accepted too), `f32`, `String`, `Option<T>` (nil is `None`),
/// `Vec<T>`, `HashMap<String, T>`, `BTreeMap<String, T>`, `IndexMap<String, T>`,
/// [`Map`] and [`Function`]. Implement it for your own types to accept them.
///
/// ```
/// use vela::{ConversionError, Dynamic, FromDynamic};
///
/// struct Point { x: i64, y: i64 }
///
/// impl FromDynamic for Point {
///     fn from_dynamic(d: Dynamic) -> Result<Point, ConversionError> {
///         let (x, y): (i64, i64) = match d.as_list() {
///             Some([x, y]) => (x.clone().cast()?, y.clone().cast()?),
///             _ => return Err(ConversionError::new("List of two Ints", d.type_name())),
///         };
///         Ok(Point { x, y })
///     }
/// }
///
/// let p: Point = Dynamic::from(vec![3, 4]).cast().unwrap();
/// assert_eq!(p.x * p.y, 12);
/// ```
pub trait FromDynamic: Sized {
    /// Converts, or says which type was expected and which was found.
    fn from_dynamic(d: Dynamic) -> Result<Self, ConversionError>;
}

impl FromDynamic for Dynamic {
    fn from_dynamic(d: Dynamic) -> Result<Dynamic, ConversionError> {
        Ok(d)
    }
}

impl FromDynamic for () {
    fn from_dynamic(d: Dynamic) -> Result<(), ConversionError> {
        match d {
            Dynamic::Nil => Ok(()),
            other => Err(ConversionError::mismatch("Nil", &other)),
        }
    }
}

impl FromDynamic for bool {
    fn from_dynamic(d: Dynamic) -> Result<bool, ConversionError> {
        match d {
            Dynamic::Bool(b) => Ok(b),
            other => Err(ConversionError::mismatch("Bool", &other)),
        }
    }
}

impl FromDynamic for i64 {
    fn from_dynamic(d: Dynamic) -> Result<i64, ConversionError> {
        match d {
            Dynamic::Int(i) => Ok(i),
            other => Err(ConversionError::mismatch("Int", &other)),
        }
    }
}

macro_rules! from_dynamic_int {
    ($($t:ty),*) => {$(
        impl FromDynamic for $t {
            fn from_dynamic(d: Dynamic) -> Result<$t, ConversionError> {
                let i = i64::from_dynamic(d)?;
                <$t>::try_from(i).map_err(|_| {
                    ConversionError::new(
                        format!("Int between {} and {}", <$t>::MIN, <$t>::MAX),
                        i.to_string(),
                    )
                })
            }
        }
    )*};
}
from_dynamic_int!(i32, u32, usize, u64, i16, u16, i8, u8);

impl FromDynamic for f64 {
    fn from_dynamic(d: Dynamic) -> Result<f64, ConversionError> {
        match d {
            Dynamic::Float(x) => Ok(x),
            Dynamic::Int(i) => Ok(i as f64),
            other => Err(ConversionError::mismatch("Float", &other)),
        }
    }
}

impl FromDynamic for f32 {
    fn from_dynamic(d: Dynamic) -> Result<f32, ConversionError> {
        f64::from_dynamic(d).map(|x| x as f32)
    }
}

impl FromDynamic for String {
    fn from_dynamic(d: Dynamic) -> Result<String, ConversionError> {
        match d {
            Dynamic::String(s) => Ok(s),
            other => Err(ConversionError::mismatch("String", &other)),
        }
    }
}

impl<T: FromDynamic> FromDynamic for Option<T> {
    fn from_dynamic(d: Dynamic) -> Result<Option<T>, ConversionError> {
        match d {
            Dynamic::Nil => Ok(None),
            other => T::from_dynamic(other).map(Some).map_err(|mut e| {
                if e.path.is_empty() {
                    e.expected.push_str(" or Nil");
                }
                e
            }),
        }
    }
}

impl<T: FromDynamic> FromDynamic for Vec<T> {
    fn from_dynamic(d: Dynamic) -> Result<Vec<T>, ConversionError> {
        match d {
            Dynamic::List(items) => items
                .into_iter()
                .enumerate()
                .map(|(i, v)| T::from_dynamic(v).map_err(|e| e.inside(format!("[{i}]"))))
                .collect(),
            other => Err(ConversionError::mismatch("List", &other)),
        }
    }
}

/// The entries of a Map with String keys, converted.
fn string_entries<T: FromDynamic>(
    d: Dynamic,
) -> Result<impl Iterator<Item = Result<(String, T), ConversionError>>, ConversionError> {
    match d {
        Dynamic::Map(m) => Ok(m.into_iter().map(|(k, v)| match k {
            MapKey::String(s) => match T::from_dynamic(v) {
                Ok(v) => Ok((s, v)),
                Err(e) => {
                    let mut step = String::from("[");
                    crate::textform::quote_str(&s, &mut step);
                    step.push(']');
                    Err(e.inside(step))
                }
            },
            other => Err(ConversionError::new(
                "Map with String keys",
                format!("a key of type {}", other.type_name()),
            )),
        })),
        other => Err(ConversionError::mismatch("Map", &other)),
    }
}

impl<T: FromDynamic> FromDynamic for HashMap<String, T> {
    fn from_dynamic(d: Dynamic) -> Result<HashMap<String, T>, ConversionError> {
        string_entries(d)?.collect()
    }
}

impl<T: FromDynamic> FromDynamic for BTreeMap<String, T> {
    fn from_dynamic(d: Dynamic) -> Result<BTreeMap<String, T>, ConversionError> {
        string_entries(d)?.collect()
    }
}

impl<T: FromDynamic> FromDynamic for IndexMap<String, T> {
    fn from_dynamic(d: Dynamic) -> Result<IndexMap<String, T>, ConversionError> {
        string_entries(d)?.collect()
    }
}

impl FromDynamic for Map {
    fn from_dynamic(d: Dynamic) -> Result<Map, ConversionError> {
        match d {
            Dynamic::Map(m) => Ok(m),
            other => Err(ConversionError::mismatch("Map", &other)),
        }
    }
}

impl FromDynamic for Function {
    fn from_dynamic(d: Dynamic) -> Result<Function, ConversionError> {
        match d {
            Dynamic::Function(f) => Ok(f),
            other => Err(ConversionError::mismatch("Function", &other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let d: Dynamic = Some(vec![1i64, 2]).into();
        assert_eq!(d.clone().cast::<Option<Vec<i64>>>(), Ok(Some(vec![1, 2])));
        let none: Dynamic = Option::<i64>::None.into();
        assert!(none.is_nil());
        let mut h = HashMap::new();
        h.insert("b".to_string(), 2.5);
        h.insert("a".to_string(), 1.0);
        let d: Dynamic = h.clone().into();
        assert_eq!(d.to_string(), r#"{"a": 1.0, "b": 2.5}"#);
        assert_eq!(d.cast::<HashMap<String, f64>>(), Ok(h));
    }

    #[test]
    fn errors_name_types_and_paths() {
        let d: Dynamic = vec![Dynamic::Int(1), Dynamic::from("x")].into();
        let e = d.cast::<Vec<i64>>().unwrap_err();
        assert_eq!(e.to_string(), "expected Int, got String at [1]");
        let e = Dynamic::from("x").cast::<Option<i64>>().unwrap_err();
        assert_eq!(e.to_string(), "expected Int or Nil, got String");
        let e = Dynamic::Int(1 << 40).cast::<i32>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "expected Int between -2147483648 and 2147483647, got 1099511627776"
        );
        let mut m = Map::new();
        m.insert(MapKey::Int(1), Dynamic::Nil);
        let e = Dynamic::Map(m).cast::<HashMap<String, Dynamic>>();
        assert_eq!(
            e.unwrap_err().to_string(),
            "expected Map with String keys, got a key of type Int"
        );
        let mut m = IndexMap::new();
        m.insert("port".to_string(), Dynamic::Bool(true));
        let e = Dynamic::from(m).cast::<BTreeMap<String, i64>>();
        assert_eq!(
            e.unwrap_err().to_string(),
            r#"expected Int, got Bool at ["port"]"#
        );
    }
}
