//! [`Error`]: why compiling, loading or running failed, with what the CLI would
//! print about it.

use super::dynamic::ConversionError;
use crate::diagnostics::{render_compile_error, CompileError, LineIndex};
use crate::vm::{RuntimeError, TraceFrame, VmError};
use std::fmt;

/// What kind of failure an [`Error`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The source did not lex, parse or compile; nothing ran.
    Compile,
    /// Bytecode that does not decode or verify; nothing ran.
    Load,
    /// A runtime error no `try` caught (including errors raised by host functions).
    Runtime,
    /// The program hit one of the VM's [`Limits`](crate::Limits).
    Limit(LimitKind),
    /// Stopped through the [`InterruptHandle`](crate::InterruptHandle).
    Interrupted,
    /// The program called `exit(code)`.
    Exit(i32),
    /// A value could not be converted between Rust and Vela (a type mismatch, a
    /// cyclic or too deeply nested value, a function from another VM).
    Conversion,
}

/// Which limit a [`ErrorKind::Limit`] error hit, with the message it carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitKind {
    /// `instruction limit exceeded` ([`Limits::max_instructions`](crate::Limits::max_instructions)).
    Instructions,
    /// `memory limit exceeded` ([`Limits::max_memory`](crate::Limits::max_memory)).
    Memory,
    /// `out of memory`: a single string or list beyond what the VM allows at all
    /// (4 GiB), even without a memory limit.
    OutOfMemory,
    /// `stack overflow` ([`Limits::max_call_depth`](crate::Limits::max_call_depth)).
    /// Unlike the others this one can be caught by `try`.
    CallDepth,
    /// `string length limit exceeded` ([`Limits::max_string_bytes`](crate::Limits::max_string_bytes)).
    StringLength,
    /// `list length limit exceeded` ([`Limits::max_collection_len`](crate::Limits::max_collection_len)).
    ListLength,
    /// `map length limit exceeded` ([`Limits::max_collection_len`](crate::Limits::max_collection_len)).
    MapLength,
    /// `time limit exceeded` ([`Limits::timeout`](crate::Limits::timeout)).
    Time,
}

impl LimitKind {
    /// The error message the VM gives when this limit is hit.
    pub fn message(self) -> &'static str {
        match self {
            LimitKind::Instructions => "instruction limit exceeded",
            LimitKind::Memory => "memory limit exceeded",
            LimitKind::OutOfMemory => "out of memory",
            LimitKind::CallDepth => "stack overflow",
            LimitKind::StringLength => "string length limit exceeded",
            LimitKind::ListLength => "list length limit exceeded",
            LimitKind::MapLength => "map length limit exceeded",
            LimitKind::Time => "time limit exceeded",
        }
    }

    const ALL: [LimitKind; 8] = [
        LimitKind::Instructions,
        LimitKind::Memory,
        LimitKind::OutOfMemory,
        LimitKind::CallDepth,
        LimitKind::StringLength,
        LimitKind::ListLength,
        LimitKind::MapLength,
        LimitKind::Time,
    ];
}

/// Where in the source a compile error is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The chunk (file) name given to [`Vm::compile`](crate::Vm::compile).
    pub chunk: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
    /// Byte range of the offending text in the source.
    pub span: std::ops::Range<usize>,
}

/// An error from compiling, loading or running Vela code, or from converting a
/// value across the boundary.
///
/// `Display` gives the message alone (`division by zero`); [`render`](Error::render)
/// gives what `vela run` prints: for a compile error the `file:line:col`, the
/// source line and a caret, for a runtime error `error: MESSAGE` and the traceback.
///
/// ```
/// let mut vm = vela::Vm::new();
/// let err = vm.eval("fn f(x) { return x // 0 }\nf(1)").unwrap_err();
/// assert_eq!(err.kind(), vela::ErrorKind::Runtime);
/// assert_eq!(err.to_string(), "division by zero");
/// assert_eq!(err.trace()[0].function, "f");
/// assert_eq!(
///     err.render(),
///     "error: division by zero\n  at f (<eval>:1)\n  at <script> (<eval>:2)\n"
/// );
///
/// let err = vm.eval("let x = (1 +").unwrap_err();
/// assert_eq!(err.kind(), vela::ErrorKind::Compile);
/// assert_eq!(err.location().unwrap().column, 13);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Error(Box<Inner>);

#[derive(Clone, Debug, PartialEq)]
struct Inner {
    kind: ErrorKind,
    message: String,
    trace: Vec<TraceFrame>,
    location: Option<Location>,
    rendered: String,
}

impl Error {
    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// The message alone, e.g. `instruction limit exceeded`.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// The Vela call stack where a runtime error was raised, innermost frame first
    /// (empty for other kinds).
    pub fn trace(&self) -> &[TraceFrame] {
        &self.0.trace
    }

    /// Where a compile error is in the source.
    pub fn location(&self) -> Option<&Location> {
        self.0.location.as_ref()
    }

    /// The line the error is on: a compile error's line, or the line of the
    /// innermost frame of a runtime error (0 when unknown).
    pub fn line(&self) -> u32 {
        match &self.0.location {
            Some(l) => l.line,
            None => self.0.trace.first().map_or(0, |f| f.line),
        }
    }

    /// Whether this error is an exceeded limit (see [`ErrorKind::Limit`]).
    pub fn is_limit(&self) -> bool {
        matches!(self.0.kind, ErrorKind::Limit(_))
    }

    /// The error as the `vela` command prints it on stderr (without colour),
    /// ending in a newline. For `exit(code)`, which the CLI does not report, this
    /// is empty.
    pub fn render(&self) -> String {
        self.0.rendered.clone()
    }

    pub(crate) fn compile(e: &CompileError, chunk: &str, source: &str) -> Error {
        let (line, column) = LineIndex::new(source).line_col(e.span.start);
        Error(Box::new(Inner {
            kind: ErrorKind::Compile,
            message: e.message.clone(),
            trace: Vec::new(),
            location: Some(Location {
                chunk: chunk.to_string(),
                line,
                column,
                span: e.span.start..e.span.end,
            }),
            rendered: render_compile_error(e, chunk, source, false),
        }))
    }

    /// A `.velac` that does not load, as `vela run FILE` reports it.
    pub(crate) fn load(what: &str, reason: impl fmt::Display) -> Error {
        let message = reason.to_string();
        Error(Box::new(Inner {
            kind: ErrorKind::Load,
            rendered: format!("error: cannot load {what}: {message}\n"),
            message,
            trace: Vec::new(),
            location: None,
        }))
    }

    /// An error outside any running code (a conversion, an unknown global).
    pub(crate) fn simple(kind: ErrorKind, message: impl Into<String>) -> Error {
        let message = message.into();
        Error(Box::new(Inner {
            kind,
            rendered: format!("error: {message}\n"),
            message,
            trace: Vec::new(),
            location: None,
        }))
    }

    /// A run that ended in an error. `fatal` tells an exceeded limit from an
    /// error with the same message that the program raised itself.
    pub(crate) fn from_vm(e: VmError, fatal: bool) -> Error {
        match e {
            VmError::Exit(code) => Error(Box::new(Inner {
                kind: ErrorKind::Exit(code),
                message: format!("exit({code})"),
                trace: Vec::new(),
                location: None,
                rendered: String::new(),
            })),
            VmError::Runtime(e) => Error::runtime(e, fatal),
        }
    }

    fn runtime(e: RuntimeError, fatal: bool) -> Error {
        let kind = if fatal && e.message == "interrupted" {
            ErrorKind::Interrupted
        } else {
            LimitKind::ALL
                .into_iter()
                .find(|l| l.message() == e.message && (fatal || *l == LimitKind::CallDepth))
                .map_or(ErrorKind::Runtime, ErrorKind::Limit)
        };
        Error(Box::new(Inner {
            kind,
            rendered: e.render(),
            message: e.message,
            trace: e.trace,
            location: None,
        }))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.message)
    }
}

impl std::error::Error for Error {}

impl From<ConversionError> for Error {
    fn from(e: ConversionError) -> Error {
        Error::simple(ErrorKind::Conversion, e.to_string())
    }
}
