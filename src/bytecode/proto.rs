//! Function prototypes and whole programs: what the compiler produces, what a .velac
//! file holds, and what the VM loads.

use super::instr::Instr;

/// A constant in a prototype's pool.
#[derive(Clone, Debug, PartialEq)]
pub enum Constant {
    Int(i64),
    Float(f64),
    Str(String),
}

/// Where a closure's capture comes from when the closure is created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Capture {
    /// The enclosing function's register.
    Local(u8),
    /// The enclosing function's own capture.
    Upvalue(u8),
}

/// A compiled function.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct FnProto {
    /// The function's name (`<script>` for a program's main function, `anonymous`
    /// for an unnamed function). Empty when stripped.
    pub name: String,
    pub arity: u8,
    /// Registers the window needs: named registers and temporaries.
    pub num_regs: u8,
    /// Slots of the virtual stack used by PUSH/POP, above `num_regs`.
    pub max_stack: u8,
    pub code: Vec<Instr>,
    pub consts: Vec<Constant>,
    pub protos: Vec<FnProto>,
    pub captures: Vec<Capture>,
    /// Source line of each instruction (empty when stripped).
    pub lines: Vec<u32>,
}

impl FnProto {
    /// The line of the instruction at `pc`, or 0 when there is no line table.
    pub fn line_at(&self, pc: usize) -> u32 {
        self.lines.get(pc).copied().unwrap_or(0)
    }
}

/// A compiled program: its main function and the names of the globals its
/// instructions index (`GetGlobal { g }` names `globals[g]`).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Program {
    /// The chunk's name for tracebacks (the script's path).
    pub chunk: String,
    pub main: FnProto,
    pub globals: Vec<String>,
}
