//! The embedding API: run Vela code inside a Rust program.
//!
//! A [`Vm`] holds one interpreter and the compiler's view of its globals, so that
//! code compiled by one call sees the declarations of earlier ones (as in the
//! REPL). Values cross the boundary as owned [`Dynamic`]s; host functions are
//! ordinary Rust closures; every failure is an [`Error`] that renders as the `vela`
//! command would print it; and [`Limits`] bound what untrusted code
//! may use.
//!
//! ```
//! let mut vm = vela::Vm::builder().max_instructions(100_000).build();
//! vm.register_fn("double", |x: i64| x * 2);
//! vm.eval("state total = 0").unwrap();
//! let script = vm.compile("total += double(21)\ntotal", "rules.vela").unwrap();
//! vm.run(&script).unwrap();
//! assert_eq!(vm.run(&script).unwrap(), vela::Dynamic::Int(84));
//! assert_eq!(vm.get_global::<i64>("total").unwrap(), 84);
//! ```
//!
//! See docs/embedding.md for a tour.

#![warn(missing_docs)]

mod config;
mod convert;
mod dynamic;
mod error;
mod function;
mod host;

pub use config::VmBuilder;
pub use convert::{MAX_COPY_BYTES, MAX_DEPTH};
pub use dynamic::{ConversionError, Dynamic, FromDynamic, Map, MapKey};
pub use error::{Error, ErrorKind, LimitKind, Location};
pub use function::Function;
pub use host::{HostFunction, HostReturn, IntoArgs};

use crate::bytecode::Program;
use crate::compiler::{GlobalTable, Options};
use crate::vm::{HostFn, Limits, Raise, Value};
use function::{Ctx, Pin};
use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The chunk name of code run with [`Vm::eval`].
pub const EVAL_CHUNK: &str = "<eval>";

/// A Vela virtual machine with its globals, host functions and limits.
///
/// Code runs to completion on the calling thread. A `Vm` is not `Send`: create and
/// use it on one thread, and stop it from others with an [`InterruptHandle`].
/// Every error leaves the VM usable, its globals as the failed code left them.
///
/// ```
/// let mut vm = vela::Vm::new();
/// vm.eval("fn area(w, h) { return w * h }").unwrap();
/// let a: i64 = vm.call("area", (6, 7)).unwrap().cast().unwrap();
/// assert_eq!(a, 42);
/// ```
pub struct Vm {
    pub(crate) inner: crate::vm::Vm,
    /// The compiler's view of the VM's globals (kept in step as in the REPL).
    table: GlobalTable,
    ctx: Ctx,
}

/// A compiled program, loaded into the [`Vm`] that compiled (or loaded) it and
/// runnable there any number of times with [`Vm::run`].
///
/// Its code stays in the VM for the VM's life; the script's value (its main
/// function) is released when the last clone of the `Script` is dropped.
#[derive(Clone)]
pub struct Script {
    main: Arc<Pin>,
    program: Arc<Program>,
}

impl Script {
    /// The chunk name the script was compiled with (its file name).
    pub fn name(&self) -> &str {
        &self.program.chunk
    }

    /// The script as `.velac` bytecode, which [`Vm::load`] (or `vela run`) accepts.
    /// `strip` leaves out function names, line numbers and the chunk name.
    ///
    /// ```
    /// let mut vm = vela::Vm::new();
    /// let script = vm.compile("6 * 7", "answer.vela").unwrap();
    /// let bytes = script.to_bytecode(false);
    /// let mut other = vela::Vm::new();
    /// let loaded = other.load(&bytes).unwrap();
    /// assert_eq!(other.run(&loaded).unwrap(), vela::Dynamic::Int(42));
    /// ```
    pub fn to_bytecode(&self, strip: bool) -> Vec<u8> {
        crate::bytecode::format::write(&self.program, strip)
    }
}

impl std::fmt::Debug for Script {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Script({})", self.program.chunk)
    }
}

/// Stops the code running in a [`Vm`] from another thread (or a signal handler):
/// the run ends with the error `interrupted` ([`ErrorKind::Interrupted`]), which no
/// `try` catches. `Send + Sync + Clone`.
///
/// The VM checks the flag at every call and backward jump, so even `while true {}`
/// stops within microseconds. An interrupt requested while nothing runs stops the
/// next run at its first check. The VM clears the flag when it reports the
/// interruption.
///
/// ```
/// let mut vm = vela::Vm::new();
/// let stop = vm.interrupt_handle();
/// let t = std::thread::spawn(move || {
///     std::thread::sleep(std::time::Duration::from_millis(20));
///     stop.interrupt();
/// });
/// let err = vm.eval("while true {}").unwrap_err();
/// assert_eq!(err.kind(), vela::ErrorKind::Interrupted);
/// t.join().unwrap();
/// assert_eq!(vm.eval("1 + 1").unwrap(), vela::Dynamic::Int(2));
/// ```
#[derive(Clone, Debug)]
pub struct InterruptHandle(Arc<AtomicBool>);

impl InterruptHandle {
    /// Asks the VM to stop what it runs.
    pub fn interrupt(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether an interrupt is pending (requested and not yet reported).
    pub fn is_pending(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// The underlying flag, shared with the VM.
    pub fn flag(&self) -> Arc<AtomicBool> {
        self.0.clone()
    }
}

/// A `print` destination that keeps what is written, for hosts and tests that
/// want a script's output as a string. Clones share the buffer.
///
/// ```
/// let out = vela::OutputBuffer::new();
/// let mut vm = vela::Vm::builder().output(out.clone()).build();
/// vm.eval("print(\"hello\", 42)").unwrap();
/// assert_eq!(out.take(), "hello 42\n");
/// assert_eq!(out.contents(), "");
/// ```
#[derive(Clone, Debug, Default)]
pub struct OutputBuffer(Rc<RefCell<Vec<u8>>>);

impl OutputBuffer {
    /// An empty buffer.
    pub fn new() -> OutputBuffer {
        OutputBuffer::default()
    }

    /// What was written so far (invalid UTF-8 replaced).
    pub fn contents(&self) -> String {
        String::from_utf8_lossy(&self.0.borrow()).into_owned()
    }

    /// What was written so far, emptying the buffer.
    pub fn take(&self) -> String {
        let bytes = std::mem::take(&mut *self.0.borrow_mut());
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl Write for OutputBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Default for Vm {
    fn default() -> Vm {
        Vm::new()
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        self.inner.flush();
    }
}

/// An error raised while moving a value into the VM, as an [`Error`].
fn raise_to_error(r: Raise) -> Error {
    match r {
        Raise::Fatal(message) => {
            let kind = [
                LimitKind::Memory,
                LimitKind::OutOfMemory,
                LimitKind::StringLength,
                LimitKind::ListLength,
                LimitKind::MapLength,
            ]
            .into_iter()
            .find(|l| l.message() == message)
            .map_or(ErrorKind::Runtime, ErrorKind::Limit);
            Error::simple(kind, message)
        }
        Raise::Error(message) => Error::simple(ErrorKind::Conversion, message),
        Raise::Exit(code) => Error::simple(ErrorKind::Exit(code), format!("exit({code})")),
    }
}

impl Vm {
    /// A VM with no limits, printing to standard output.
    pub fn new() -> Vm {
        Vm::builder().build()
    }

    /// A [`VmBuilder`] to set the output, limits and arguments.
    pub fn builder() -> VmBuilder {
        VmBuilder::default()
    }

    pub(crate) fn with_inner(inner: crate::vm::Vm) -> Vm {
        Vm {
            inner,
            table: crate::builtin_globals(),
            ctx: Ctx::new(),
        }
    }

    /// Replaces the limits for the runs that follow.
    ///
    /// ```
    /// let mut vm = vela::Vm::new();
    /// vm.set_limits(vela::Limits { max_instructions: Some(1000), ..Default::default() });
    /// assert!(vm.eval("while true {}").unwrap_err().is_limit());
    /// ```
    pub fn set_limits(&mut self, limits: Limits) {
        self.inner.set_limits(limits);
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.inner.limits()
    }

    /// Replaces where `print` writes.
    pub fn set_output(&mut self, out: impl Write + 'static) {
        self.inner.flush();
        self.inner.set_output(Box::new(out));
    }

    /// Sets what `args()` returns.
    pub fn set_args<I, S>(&mut self, args: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.inner
            .set_args(args.into_iter().map(Into::into).collect());
    }

    /// A handle that stops the running code from another thread.
    pub fn interrupt_handle(&self) -> InterruptHandle {
        InterruptHandle(self.inner.interrupt_handle())
    }

    /// Approximate heap bytes in use (what [`Limits::max_memory`] bounds), garbage
    /// not yet collected included.
    pub fn heap_bytes(&self) -> usize {
        self.inner.heap.bytes()
    }

    /// Collects garbage now (the VM also does so by itself as the heap grows).
    pub fn collect_garbage(&mut self) {
        self.ctx.release_dropped(&mut self.inner);
        self.inner.collect_garbage(0);
    }

    /// Compiles and runs `source` (chunk name `<eval>`) and returns the value of
    /// its last statement if that is an expression, `nil` otherwise. Declarations
    /// stay for later code, as in the REPL.
    ///
    /// ```
    /// let mut vm = vela::Vm::new();
    /// assert_eq!(vm.eval("let xs = [1, 2, 3]\nlen(xs) * 10").unwrap(), vela::Dynamic::Int(30));
    /// assert_eq!(vm.eval("xs").unwrap().to_string(), "[1, 2, 3]");
    /// assert!(vm.eval("let y = 1").unwrap().is_nil());
    /// ```
    pub fn eval(&mut self, source: &str) -> Result<Dynamic, Error> {
        let program = self.compile_program(source, EVAL_CHUNK)?;
        let main = self.load_program(&program)?;
        self.run_value(main, Vec::new())
    }

    /// Compiles `source` against this VM's globals into a [`Script`] that
    /// [`run`](Vm::run) can run many times. `name` is the chunk (file) name that
    /// diagnostics and tracebacks show. The script's top-level declarations are
    /// known to code compiled afterwards; their values exist once it has run.
    ///
    /// ```
    /// let mut vm = vela::Vm::new();
    /// let err = vm.compile("print(1 +)", "bad.vela").unwrap_err();
    /// assert_eq!(err.render(), "\
    /// error: unexpected ')', expected expression
    ///  --> bad.vela:1:10
    ///   |
    /// 1 | print(1 +)
    ///   |          ^
    /// ");
    /// ```
    pub fn compile(&mut self, source: &str, name: &str) -> Result<Script, Error> {
        let program = self.compile_program(source, name)?;
        let main = self.load_program(&program)?;
        Ok(Script {
            main: self.ctx.pin(&mut self.inner, main),
            program: Arc::new(program),
        })
    }

    /// Loads `.velac` bytecode (from `vela compile` or [`Script::to_bytecode`]) as
    /// a [`Script`]. The bytecode is always verified: malformed or hostile input is
    /// an [`ErrorKind::Load`] error, never undefined behaviour.
    ///
    /// ```
    /// let mut vm = vela::Vm::new();
    /// let err = vm.load(b"not bytecode").unwrap_err();
    /// assert_eq!(err.kind(), vela::ErrorKind::Load);
    /// assert!(err.render().starts_with("error: cannot load bytecode: "));
    /// ```
    pub fn load(&mut self, bytes: &[u8]) -> Result<Script, Error> {
        let mut program =
            crate::bytecode::format::load(bytes).map_err(|e| Error::load("bytecode", e))?;
        if program.chunk.is_empty() {
            program.chunk = "<bytecode>".to_string();
        }
        let main = self.load_program(&program)?;
        for name in &program.globals {
            self.table.slot(name);
        }
        Ok(Script {
            main: self.ctx.pin(&mut self.inner, main),
            program: Arc::new(program),
        })
    }

    /// Runs a script compiled or loaded by this VM; returns the value of its last
    /// statement if that is an expression, `nil` otherwise.
    pub fn run(&mut self, script: &Script) -> Result<Dynamic, Error> {
        let Some(main) = script.main.get(&self.ctx, &self.inner) else {
            return Err(Error::simple(
                ErrorKind::Runtime,
                format!("script '{}' belongs to another VM", script.name()),
            ));
        };
        self.run_value(main, Vec::new())
    }

    /// Calls the global function `name` with `args` (a tuple, or a slice of
    /// [`Dynamic`]s: see [`IntoArgs`]).
    ///
    /// ```
    /// let mut vm = vela::Vm::new();
    /// vm.eval("fn join2(a, b) { return \"${a}-${b}\" }").unwrap();
    /// assert_eq!(vm.call("join2", ("x", 1)).unwrap().to_string(), "x-1");
    /// let err = vm.call("join2", (1,)).unwrap_err();
    /// assert_eq!(err.to_string(), "join2 expects 2 arguments, got 1");
    /// assert_eq!(vm.call("nope", ()).unwrap_err().to_string(), "undefined variable 'nope'");
    /// ```
    pub fn call(&mut self, name: &str, args: impl IntoArgs) -> Result<Dynamic, Error> {
        let Some(f) = self.inner.get_global(name) else {
            return Err(Error::simple(
                ErrorKind::Runtime,
                format!("undefined variable '{name}'"),
            ));
        };
        let args = self.values_in(&args.into_args())?;
        self.run_value(f, args)
    }

    /// Calls a [`Function`] handle this VM gave out.
    pub fn call_function(&mut self, f: &Function, args: impl IntoArgs) -> Result<Dynamic, Error> {
        let Some(fv) = f.pin.get(&self.ctx, &self.inner) else {
            return Err(Error::simple(
                ErrorKind::Conversion,
                format!("function '{}' belongs to another VM", f.name()),
            ));
        };
        let args = self.values_in(&args.into_args())?;
        self.run_value(fv, args)
    }

    /// Reads a global, converted to `T` (any [`FromDynamic`] type; `Dynamic` for
    /// any value). An undefined global is an error, and so is a value of another
    /// type: `global 'x': expected Int, got String`.
    ///
    /// ```
    /// let mut vm = vela::Vm::new();
    /// vm.eval("let config = {name: \"svc\", ports: [80, 443]}").unwrap();
    /// let ports: Vec<i64> = vm.get_global::<vela::Dynamic>("config").unwrap()
    ///     .get("ports").unwrap().clone().cast().unwrap();
    /// assert_eq!(ports, [80, 443]);
    /// let err = vm.get_global::<i64>("config").unwrap_err();
    /// assert_eq!(err.to_string(), "global 'config': expected Int, got Map");
    /// ```
    pub fn get_global<T: FromDynamic>(&mut self, name: &str) -> Result<T, Error> {
        let Some(v) = self.inner.get_global(name) else {
            return Err(Error::simple(
                ErrorKind::Runtime,
                format!("undefined variable '{name}'"),
            ));
        };
        let d = convert::from_vm(&mut self.inner, &self.ctx, v)
            .map_err(|m| Error::simple(ErrorKind::Conversion, format!("global '{name}': {m}")))?;
        T::from_dynamic(d)
            .map_err(|e| Error::simple(ErrorKind::Conversion, format!("global '{name}': {e}")))
    }

    /// Whether the global `name` has a value (built-ins included).
    pub fn has_global(&self, name: &str) -> bool {
        self.inner.get_global(name).is_some()
    }

    /// Defines or replaces the global `name`. Code compiled afterwards can read it;
    /// it can assign it only if it declared it with `state`. The value is allocated
    /// on the VM's heap under its limits (a value that does not fit is an error).
    ///
    /// ```
    /// let mut vm = vela::Vm::new();
    /// vm.set_global("limits", vec![1, 2, 3]).unwrap();
    /// assert_eq!(vm.eval("limits[1] + 40").unwrap(), vela::Dynamic::Int(42));
    /// ```
    pub fn set_global(&mut self, name: &str, value: impl Into<Dynamic>) -> Result<(), Error> {
        let value = value.into();
        let v = self.values_in(&[value])?[0];
        self.inner.set_global(name, v);
        self.table.declare(name, false);
        Ok(())
    }

    /// Registers a Rust closure as the global function `name`. Its arguments (0 to
    /// 6) are converted from Vela values with [`FromDynamic`]; a mismatch is a
    /// runtime error naming the function and the argument (`add: argument 2
    /// expects Int, got String`), as is a wrong argument count. It may return any
    /// value that converts into a [`Dynamic`], or a `Result` whose `Err` raises a
    /// runtime error with the error's text. Errors can be caught by `try`; a panic
    /// is caught too and becomes the runtime error `host function 'NAME' panicked:
    /// MESSAGE`, and the VM stays usable. (The panic hook still runs, so the panic
    /// message also goes to stderr unless the host silences it.)
    ///
    /// ```
    /// let mut vm = vela::Vm::new();
    /// vm.register_fn("add", |a: i64, b: i64| a + b);
    /// vm.register_fn("parse", |s: String| s.trim().parse::<i64>());
    /// assert_eq!(vm.eval("add(2, parse(\" 40 \"))").unwrap(), vela::Dynamic::Int(42));
    ///
    /// let err = vm.eval("add(1, \"x\")").unwrap_err();
    /// assert_eq!(err.to_string(), "add: argument 2 expects Int, got String");
    /// let caught = vm.eval("state m = nil\ntry { parse(\"x\") } catch e { m = e.message }\nm");
    /// let caught = caught.unwrap();
    /// assert_eq!(caught.to_string(), "invalid digit found in string");
    /// ```
    pub fn register_fn<Args, F: HostFunction<Args>>(&mut self, name: &str, f: F) {
        let fname = name.to_string();
        self.register(name, Some(F::ARITY), move |args| f.invoke(&fname, args));
    }

    /// Registers a host function that takes its `arity` arguments as they are, as
    /// [`Dynamic`]s, and returns a value or the message of a runtime error.
    ///
    /// ```
    /// use vela::Dynamic;
    /// let mut vm = vela::Vm::new();
    /// vm.register_raw("describe", 1, |args: &[Dynamic]| {
    ///     Ok(Dynamic::from(format!("a {}", args[0].type_name())))
    /// });
    /// assert_eq!(vm.eval("describe([1])").unwrap().to_string(), "a List");
    /// ```
    pub fn register_raw<F>(&mut self, name: &str, arity: u8, f: F)
    where
        F: Fn(&[Dynamic]) -> Result<Dynamic, String> + 'static,
    {
        self.register(name, Some(arity), move |args| f(&args));
    }

    fn register<F>(&mut self, name: &str, arity: Option<u8>, f: F)
    where
        F: Fn(Vec<Dynamic>) -> Result<Dynamic, String> + 'static,
    {
        let ctx = self.ctx.clone();
        let fname = name.to_string();
        let func: HostFn = Rc::new(move |vm, args| {
            let mut dyn_args = Vec::with_capacity(args.len());
            for (i, &a) in args.iter().enumerate() {
                let d = convert::from_vm(vm, &ctx, a)
                    .map_err(|m| Raise::Error(format!("{fname}: argument {}: {m}", i + 1)))?;
                dyn_args.push(d);
            }
            let result = f(dyn_args).map_err(Raise::Error)?;
            let v = convert::into_vm(vm, &ctx, &[&result], false)?;
            Ok(v.first().copied().unwrap_or(Value::Nil))
        });
        self.inner.register_host(name, arity, func);
        self.table.declare(name, false);
    }

    // ---- internals ----

    fn compile_program(&mut self, source: &str, name: &str) -> Result<Program, Error> {
        let options = Options {
            return_last_expr: true,
        };
        crate::compile_with(source, name, &mut self.table, options)
            .map_err(|e| Error::compile(&e, name, source))
    }

    fn load_program(&mut self, program: &Program) -> Result<Value, Error> {
        self.inner
            .load(program)
            .map_err(|e| Error::load(&program.chunk, e))
    }

    /// Moves values into the VM (collecting garbage first if needed).
    fn values_in(&mut self, values: &[Dynamic]) -> Result<Vec<Value>, Error> {
        self.ctx.release_dropped(&mut self.inner);
        let refs: Vec<&Dynamic> = values.iter().collect();
        convert::into_vm(&mut self.inner, &self.ctx, &refs, true).map_err(raise_to_error)
    }

    fn run_value(&mut self, f: Value, args: Vec<Value>) -> Result<Dynamic, Error> {
        self.ctx.release_dropped(&mut self.inner);
        let result = self.inner.call_value(f, &args);
        self.inner.flush();
        match result {
            Ok(v) => convert::from_vm(&mut self.inner, &self.ctx, v)
                .map_err(|m| Error::simple(ErrorKind::Conversion, m)),
            Err(e) => Err(Error::from_vm(e, self.inner.last_error_fatal)),
        }
    }
}
