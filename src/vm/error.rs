//! Runtime errors and how they leave the VM.

use std::fmt;

/// Why execution stopped abnormally, as raised inside the VM.
#[derive(Clone, Debug, PartialEq)]
pub enum Raise {
    /// A runtime error with its message (catchable by `try`).
    Error(String),
    /// An error no `try` may catch: an interrupt or an exceeded limit.
    Fatal(String),
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
    /// The function's name (`<script>` for the top level, empty in stripped bytecode).
    pub function: String,
    /// The chunk (file) the function came from.
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
    /// `error: MESSAGE` and one `  at NAME (FILE:LINE)` line per frame. Runs of
    /// identical frames (deep recursion) are folded, and a very long traceback keeps
    /// its two ends.
    pub fn render(&self) -> String {
        let mut lines: Vec<String> = Vec::new();
        let mut i = 0;
        while i < self.trace.len() {
            let f = &self.trace[i];
            let mut run = 1;
            while self.trace.get(i + run) == Some(f) {
                run += 1;
            }
            let name = if f.function.is_empty() {
                "?"
            } else {
                &f.function
            };
            // Stripped bytecode has no lines, and maybe no chunk name.
            let line = match (f.chunk.is_empty(), f.line) {
                (false, 0) => format!("  at {} ({})", name, f.chunk),
                (false, l) => format!("  at {} ({}:{})", name, f.chunk, l),
                (true, 0) => format!("  at {name}"),
                (true, l) => format!("  at {name} (line {l})"),
            };
            for _ in 0..run.min(3) {
                lines.push(line.clone());
            }
            if run > 3 {
                lines.push(format!("  [previous line repeated {} more times]", run - 3));
            }
            i += run;
        }
        const KEEP: usize = 20;
        if lines.len() > 2 * KEEP {
            let omitted = lines.len() - 2 * KEEP;
            let tail = lines.split_off(lines.len() - KEEP);
            lines.truncate(KEEP);
            lines.push(format!("  ... {omitted} more lines ..."));
            lines.extend(tail);
        }
        let mut s = format!("error: {}\n", self.message);
        for l in lines {
            s.push_str(&l);
            s.push('\n');
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
