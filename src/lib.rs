//! Vela: a small, fast scripting language, embeddable in Rust programs.
//!
//! # Embedding
//!
//! A [`Vm`] runs Vela code; values cross the boundary as [`Dynamic`]s, Rust
//! closures become Vela functions, and [`Limits`] bound what untrusted code may use:
//!
//! ```
//! let mut vm = vela::Vm::builder().max_instructions(1_000_000).max_memory(16 << 20).build();
//! vm.register_fn("shout", |s: String| s.to_uppercase());
//! vm.set_global("names", vec!["ann", "bo"]).unwrap();
//! let greeting = vm.eval("let loud = []\nfor n in names { push(loud, shout(n)) }\nloud");
//! assert_eq!(greeting.unwrap().cast::<Vec<String>>().unwrap(), ["ANN", "BO"]);
//! vm.eval("fn area(w, h) { return w * h }").unwrap();
//! assert_eq!(vm.call("area", (6, 7)).unwrap(), vela::Dynamic::Int(42));
//! let err = vm.eval("while true {}").unwrap_err();
//! assert_eq!(err.kind(), vela::ErrorKind::Limit(vela::LimitKind::Instructions));
//! assert_eq!(vm.eval("area(2, 3)").unwrap(), vela::Dynamic::Int(6)); // still usable
//! ```
//!
//! The [`embed`] module has the details, and docs/embedding.md a tour.
//!
//! # Inside
//!
//! The pipeline: [`lexer`] → LALRPOP [`parser`] → [`ast`] → [`compiler`] →
//! [`bytecode`] → [`vm`]. The VM runs bytecode and knows no source text; these
//! modules are public for the CLI, the tests and the fuzzers, but the embedding
//! API above is the stable surface.
//!
//! ```
//! let program = vela::compile_source("print(1 + 2)", "example.vela").unwrap();
//! let mut vm = vela::vm::Vm::with_output(Box::new(Vec::new()));
//! let main = vm.load(&program).unwrap();
//! vm.call_value(main, &[]).unwrap();
//! ```

pub mod ast;
pub mod bytecode;
pub mod compiler;
pub mod diagnostics;
pub mod embed;
pub mod lexer;
pub mod parser;
pub mod repl;
pub mod textform;
pub mod vm;

pub use embed::{
    ConversionError, Dynamic, Error, ErrorKind, FromDynamic, Function, InterruptHandle, LimitKind,
    Map, MapKey, OutputBuffer, Script, Vm, VmBuilder,
};
pub use indexmap;
pub use vm::Limits;

use bytecode::Program;
use compiler::{GlobalTable, Options};
use diagnostics::CompileError;

/// The compiler's view of a fresh VM's globals: the built-ins, in slot order.
pub fn builtin_globals() -> GlobalTable {
    GlobalTable::with_builtins(vm::builtins::names())
}

/// Parses and compiles a whole script against a fresh VM's globals.
pub fn compile_source(source: &str, chunk: &str) -> Result<Program, CompileError> {
    let mut globals = builtin_globals();
    compile_with(source, chunk, &mut globals, Options::default())
}

/// Parses and compiles source against the given globals (the REPL passes the
/// globals of earlier entries).
pub fn compile_with(
    source: &str,
    chunk: &str,
    globals: &mut GlobalTable,
    options: Options,
) -> Result<Program, CompileError> {
    let stmts = parser::parse(source)?;
    compiler::compile(&stmts, chunk, source, globals, options)
}
