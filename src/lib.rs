//! Vela: a small, fast scripting language.
//!
//! The pipeline: [`lexer`] → LALRPOP parser ([`parser`]) → [`ast`] → compiler → bytecode → VM.

pub mod ast;
pub mod diagnostics;
pub mod lexer;
pub mod parser;
