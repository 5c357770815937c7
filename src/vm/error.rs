//! Runtime errors and how they leave the VM.

use std::fmt;

/// Why execution stopped abnormally, as raised inside the VM.
#[derive(Clone, Debug, PartialEq)]
pub enum Raise {
    /// A runtime error with its message (catchable by `try`).
    Error(String),
    /// `exit(code)`: unwinds everything, not catchable.
    Exit(i32),
}

impl From<String> for Raise {
    fn from(message: String) -> Raise {
        Raise::Error(message)
    }
}

impl From<&str> for Raise {
    fn from(message: &str) -> Raise {
        Raise::Error(message.to_string())
    }
}

/// One line of a traceback.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceFrame {
    pub function: String,
    pub chunk: String,
    /// 0 when the program carries no line table.
    pub line: u32,
}

/// A runtime error that no `try` caught: its message and the call stack at the
/// point it was raised, innermost first.
#[derive(Clone, Debug, PartialEq)]
pub struct RuntimeError {
    pub message: String,
    pub trace: Vec<TraceFrame>,
}

impl RuntimeError {
    /// `error: MESSAGE` and one `  at NAME (FILE:LINE)` line per frame.
    pub fn render(&self) -> String {
        let mut s = format!("error: {}\n", self.message);
        for f in &self.trace {
            let name = if f.function.is_empty() {
                "?"
            } else {
                &f.function
            };
            if f.line > 0 {
                s.push_str(&format!("  at {} ({}:{})\n", name, f.chunk, f.line));
            } else {
                s.push_str(&format!("  at {} ({})\n", name, f.chunk));
            }
        }
        s
    }

    /// The line where the error was raised (0 if unknown).
    pub fn line(&self) -> u32 {
        self.trace.first().map_or(0, |f| f.line)
    }
}

impl fmt::Display for RuntimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RuntimeError {}

/// How a run ended when it did not return normally.
#[derive(Clone, Debug, PartialEq)]
pub enum VmError {
    Runtime(RuntimeError),
    Exit(i32),
}

impl fmt::Display for VmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VmError::Runtime(e) => write!(f, "{e}"),
            VmError::Exit(code) => write!(f, "exit({code})"),
        }
    }
}

impl std::error::Error for VmError {}
