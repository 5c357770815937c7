//! [`VmBuilder`]: a VM's output, limits and script arguments, set before it is built.

use super::Vm;
use crate::vm::{Limits, MAX_FRAMES};
use std::io::Write;
use std::time::Duration;

/// Configures a [`Vm`]: where `print` writes, the [`Limits`] on every run, and what
/// `args()` returns. Every limit is off unless set.
///
/// ```
/// use std::time::Duration;
///
/// let out = vela::OutputBuffer::new();
/// let mut vm = vela::Vm::builder()
///     .output(out.clone())
///     .max_instructions(1_000_000)
///     .max_memory(16 << 20)
///     .timeout(Duration::from_secs(2))
///     .args(["--verbose"])
///     .build();
/// vm.eval("print(args())").unwrap();
/// assert_eq!(out.contents(), "[\"--verbose\"]\n");
///
/// let err = vm.eval("while true {}").unwrap_err();
/// assert_eq!(err.to_string(), "instruction limit exceeded");
/// ```
#[derive(Default)]
pub struct VmBuilder {
    output: Option<Box<dyn Write>>,
    limits: Limits,
    args: Vec<String>,
}

impl VmBuilder {
    /// Where `print` writes (standard output, buffered, by default; the VM flushes
    /// it after every run). [`OutputBuffer`](crate::OutputBuffer) captures it.
    pub fn output(mut self, out: impl Write + 'static) -> VmBuilder {
        self.output = Some(Box::new(out));
        self
    }

    /// Sets all limits at once (see [`Limits`]; the individual setters below
    /// change one field).
    pub fn limits(mut self, limits: Limits) -> VmBuilder {
        self.limits = limits;
        self
    }

    /// Instructions per run: `instruction limit exceeded`. Charged at calls and
    /// backward jumps, so a run may go slightly past it before it stops.
    pub fn max_instructions(mut self, n: u64) -> VmBuilder {
        self.limits.max_instructions = Some(n);
        self
    }

    /// Heap bytes in use: `memory limit exceeded`. The count is approximate (object
    /// headers and contents, not the allocator's overhead) and includes garbage
    /// not yet collected; the VM collects before it reports the error.
    pub fn max_memory(mut self, bytes: usize) -> VmBuilder {
        self.limits.max_memory = bytes;
        self
    }

    /// Nested calls: `stack overflow` (at most the VM's built-in bound, 220,000).
    pub fn max_call_depth(mut self, n: usize) -> VmBuilder {
        self.limits.max_call_depth = n.min(MAX_FRAMES);
        self
    }

    /// Bytes in one string: `string length limit exceeded`.
    pub fn max_string_bytes(mut self, n: usize) -> VmBuilder {
        self.limits.max_string_bytes = n;
        self
    }

    /// Elements of one list or entries of one map: `list length limit exceeded`,
    /// `map length limit exceeded`.
    pub fn max_collection_len(mut self, n: usize) -> VmBuilder {
        self.limits.max_collection_len = n;
        self
    }

    /// Wall-clock time per run: `time limit exceeded`. Each run with a timeout
    /// starts a watchdog thread, stopped when the run ends.
    pub fn timeout(mut self, t: Duration) -> VmBuilder {
        self.limits.timeout = Some(t);
        self
    }

    /// What the script's `args()` returns.
    pub fn args<I, S>(mut self, args: I) -> VmBuilder
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args = args.into_iter().map(Into::into).collect();
        self
    }

    /// Builds the VM.
    pub fn build(self) -> Vm {
        let mut vm = match self.output {
            Some(out) => Vm::with_inner(crate::vm::Vm::with_output(out)),
            None => Vm::with_inner(crate::vm::Vm::new()),
        };
        vm.set_limits(self.limits);
        vm.inner.set_args(self.args);
        vm
    }
}
