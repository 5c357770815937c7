//! Bytecode: the instruction set, function prototypes and programs, the `.velac`
//! file format and the load-time verifier.

pub mod builder;
pub mod disasm;
pub mod format;
pub mod instr;
pub mod proto;
pub mod verify;

pub use instr::{Instr, Reg, TypeTag};
pub use proto::{Capture, Constant, FnProto, Program};
