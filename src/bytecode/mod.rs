//! Bytecode: the instruction set, function prototypes and programs.

pub mod builder;
pub mod disasm;
pub mod instr;
pub mod proto;

pub use instr::{Instr, Reg, TypeTag};
pub use proto::{Capture, Constant, FnProto, Program};
