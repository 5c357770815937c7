//! Vela: a small, fast scripting language.
//!
//! The pipeline: [`lexer`] → LALRPOP [`parser`] → [`ast`] → [`compiler`] →
//! [`bytecode`] → [`vm`]. The VM runs bytecode and knows no source text.
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
