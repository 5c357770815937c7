//! An assembler for hand-written bytecode: build a [`FnProto`] instruction by
//! instruction, with constants, forward and backward labels, and a [`Program`]
//! wrapper that numbers the globals the code refers to.
//!
//! ```
//! use vela::bytecode::builder::{ProgramBuilder, ProtoBuilder};
//!
//! // print(1 + 2), then return
//! let mut pb = ProgramBuilder::new("example");
//! let print = pb.global("print");
//! let mut f = ProtoBuilder::new("<script>");
//! f.get_global(0, print);
//! f.load_int(1, 1);
//! f.load_int(2, 2);
//! f.add(1, 1, 2);
//! f.call(0, 1);
//! f.ret0();
//! let program = pb.finish(f.finish().unwrap());
//!
//! let out = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
//! # struct Sink(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);
//! # impl std::io::Write for Sink {
//! #     fn write(&mut self, b: &[u8]) -> std::io::Result<usize> { self.0.borrow_mut().extend_from_slice(b); Ok(b.len()) }
//! #     fn flush(&mut self) -> std::io::Result<()> { Ok(()) }
//! # }
//! let mut vm = vela::vm::Vm::with_output(Box::new(Sink(out.clone())));
//! let main = vm.load(&program).unwrap();
//! vm.call_value(main, &[]).unwrap();
//! vm.flush();
//! assert_eq!(String::from_utf8(out.borrow().clone()).unwrap(), "3\n");
//! ```
//!
//! [`ProtoBuilder::finish`] resolves the labels and checks what docs/bytecode.md asks
//! of the virtual stack: the same `PUSH`/`POP` depth on every path reaching an
//! instruction, never negative, `CALL` only at depth 0, and no path falling off the
//! end of the code. It computes `num_regs` (the highest register an instruction
//! names, plus one, and at least the arity) and `max_stack` (the deepest depth).
//!
//! A `TRYBEGIN` handler is checked at the depth the `TRYBEGIN` ran with; the VM enters
//! it with the depth of the instruction that failed, so keep PUSH/POP balanced inside
//! a try block (the builder does not check every instruction that can fail).

use super::instr::{Instr, Reg, TypeTag};
use super::proto::{Capture, Constant, FnProto, Program};
use super::verify::{stack_depths, StackError};
use std::collections::HashMap;
use std::fmt;

/// A position in the code, bound with [`ProtoBuilder::bind`]; jumps may name it
/// before it is bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Label(u32);

/// Why [`ProtoBuilder::finish`] refused the code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BuildError {
    /// A jump names a label that was never bound.
    UnboundLabel { pc: usize },
    /// The code breaks a rule of the virtual stack or of control flow (the same
    /// analysis the verifier runs).
    Stack(StackError),
    /// More than 255 registers, or registers plus stack slots beyond 255.
    TooManyRegisters,
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::UnboundLabel { pc } => write!(f, "jump at {pc} names an unbound label"),
            BuildError::Stack(e) => write!(f, "at {}: {e}", e.pc()),
            BuildError::TooManyRegisters => write!(f, "function uses too many registers"),
        }
    }
}

impl std::error::Error for BuildError {}

/// Builds one function prototype.
#[derive(Debug, Default)]
pub struct ProtoBuilder {
    name: String,
    arity: u8,
    min_regs: u32,
    line: u32,
    code: Vec<Instr>,
    lines: Vec<u32>,
    consts: Vec<Constant>,
    protos: Vec<FnProto>,
    captures: Vec<Capture>,
    /// The instruction each label is bound to.
    labels: Vec<Option<usize>>,
    /// Jumps waiting for a label: instruction index and label.
    fixups: Vec<(usize, Label)>,
}

/// Declares a method per three-register instruction.
macro_rules! abc {
    ($($(#[$m:meta])* $name:ident => $variant:ident;)*) => {$(
        $(#[$m])*
        pub fn $name(&mut self, a: Reg, b: Reg, c: Reg) -> usize {
            self.emit(Instr::$variant { a, b, c })
        }
    )*};
}

/// Declares a method per fused compare-and-branch instruction.
macro_rules! cmp_jump {
    ($($(#[$m:meta])* $name:ident => $variant:ident;)*) => {$(
        $(#[$m])*
        pub fn $name(&mut self, a: Reg, b: Reg, target: Label) -> usize {
            self.emit_jump(Instr::$variant { a, b, off: 0 }, target)
        }
    )*};
}

impl ProtoBuilder {
    /// A builder for a function of no parameters named `name`.
    pub fn new(name: impl Into<String>) -> ProtoBuilder {
        ProtoBuilder {
            name: name.into(),
            ..ProtoBuilder::default()
        }
    }

    /// Sets the number of parameters (they arrive in `R[0] .. R[arity-1]`).
    pub fn arity(&mut self, arity: u8) -> &mut Self {
        self.arity = arity;
        self
    }

    /// Makes the window at least `n` registers wide, even if no instruction names them.
    pub fn reserve_regs(&mut self, n: u8) -> &mut Self {
        self.min_regs = self.min_regs.max(n as u32);
        self
    }

    /// The source line recorded for the instructions emitted from now on.
    pub fn set_line(&mut self, line: u32) -> &mut Self {
        self.line = line;
        self
    }

    /// Appends an instruction as given (jump offsets are taken literally) and
    /// returns its index.
    pub fn emit(&mut self, instr: Instr) -> usize {
        self.code.push(instr);
        self.lines.push(self.line);
        self.code.len() - 1
    }

    /// The index the next instruction will get.
    pub fn pc(&self) -> usize {
        self.code.len()
    }

    /// The instructions emitted so far.
    pub fn code(&self) -> &[Instr] {
        &self.code
    }

    // ----- constants, nested functions, captures -----

    /// The pool index of a constant, adding it when new (equal constants share a
    /// slot; Floats compare bit for bit).
    pub fn constant(&mut self, c: Constant) -> u32 {
        let same = |x: &Constant| match (x, &c) {
            (Constant::Float(a), Constant::Float(b)) => a.to_bits() == b.to_bits(),
            _ => *x == c,
        };
        if let Some(i) = self.consts.iter().position(same) {
            return i as u32;
        }
        self.consts.push(c);
        (self.consts.len() - 1) as u32
    }

    pub fn const_int(&mut self, i: i64) -> u32 {
        self.constant(Constant::Int(i))
    }

    pub fn const_float(&mut self, f: f64) -> u32 {
        self.constant(Constant::Float(f))
    }

    pub fn const_str(&mut self, s: &str) -> u32 {
        self.constant(Constant::Str(s.to_string()))
    }

    /// Adds a nested prototype (for `CLOSURE`) and returns its index.
    pub fn child(&mut self, proto: FnProto) -> u32 {
        self.protos.push(proto);
        (self.protos.len() - 1) as u32
    }

    /// Adds a capture descriptor (what `CLOSURE` of this function's parent captures
    /// for it) and returns its upvalue index.
    pub fn capture(&mut self, c: Capture) -> u8 {
        self.captures.push(c);
        (self.captures.len() - 1) as u8
    }

    // ----- labels -----

    /// A new, unbound label.
    pub fn label(&mut self) -> Label {
        self.labels.push(None);
        Label((self.labels.len() - 1) as u32)
    }

    /// Binds `label` to the next instruction.
    ///
    /// # Panics
    /// If the label is already bound.
    pub fn bind(&mut self, label: Label) {
        let slot = &mut self.labels[label.0 as usize];
        assert!(slot.is_none(), "label bound twice");
        *slot = Some(self.code.len());
    }

    /// A new label bound to the next instruction (a backward-jump target).
    pub fn here(&mut self) -> Label {
        let l = self.label();
        self.bind(l);
        l
    }

    /// Emits a jump instruction whose offset is patched to reach `target`.
    pub fn emit_jump(&mut self, instr: Instr, target: Label) -> usize {
        let pc = self.emit(instr);
        self.fixups.push((pc, target));
        pc
    }

    // ----- loads, moves, globals, captures -----

    pub fn mov(&mut self, a: Reg, b: Reg) -> usize {
        self.emit(Instr::Move { a, b })
    }

    pub fn load_nil(&mut self, a: Reg) -> usize {
        self.emit(Instr::LoadNil { a })
    }

    pub fn load_bool(&mut self, a: Reg, b: bool) -> usize {
        self.emit(Instr::LoadBool { a, b })
    }

    /// `R[a] := i`: `LOADINT` when `i` fits 32 bits, else `LOADK` of a constant.
    pub fn load_int(&mut self, a: Reg, i: i64) -> usize {
        match i32::try_from(i) {
            Ok(i) => self.emit(Instr::LoadInt { a, i }),
            Err(_) => {
                let k = self.const_int(i);
                self.emit(Instr::LoadK { a, k })
            }
        }
    }

    pub fn load_float(&mut self, a: Reg, f: f64) -> usize {
        let k = self.const_float(f);
        self.emit(Instr::LoadK { a, k })
    }

    pub fn load_str(&mut self, a: Reg, s: &str) -> usize {
        let k = self.const_str(s);
        self.emit(Instr::LoadK { a, k })
    }

    pub fn load_k(&mut self, a: Reg, k: u32) -> usize {
        self.emit(Instr::LoadK { a, k })
    }

    /// `R[a] := G[g]`, `g` from [`ProgramBuilder::global`].
    pub fn get_global(&mut self, a: Reg, g: u32) -> usize {
        self.emit(Instr::GetGlobal { a, g })
    }

    pub fn set_global(&mut self, a: Reg, g: u32) -> usize {
        self.emit(Instr::SetGlobal { a, g })
    }

    pub fn get_upval(&mut self, a: Reg, u: u8) -> usize {
        self.emit(Instr::GetUpval { a, u })
    }

    pub fn set_upval(&mut self, a: Reg, u: u8) -> usize {
        self.emit(Instr::SetUpval { a, u })
    }

    pub fn close(&mut self, a: Reg) -> usize {
        self.emit(Instr::Close { a })
    }

    pub fn closure(&mut self, a: Reg, f: u32) -> usize {
        self.emit(Instr::Closure { a, f })
    }

    // ----- arithmetic and comparison -----

    abc! {
        add => Add;
        sub => Sub;
        mul => Mul;
        div => Div;
        idiv => IDiv;
        modulo => Mod;
        eq => Eq;
        ne => Ne;
        lt => Lt;
        le => Le;
        gt => Gt;
        ge => Ge;
        get_index => GetIndex;
        set_index => SetIndex;
    }

    pub fn addi(&mut self, a: Reg, b: Reg, i: i32) -> usize {
        self.emit(Instr::AddI { a, b, i })
    }

    pub fn neg(&mut self, a: Reg, b: Reg) -> usize {
        self.emit(Instr::Neg { a, b })
    }

    pub fn not(&mut self, a: Reg, b: Reg) -> usize {
        self.emit(Instr::Not { a, b })
    }

    // ----- control flow -----

    cmp_jump! {
        /// Jump when `R[a] < R[b]`.
        jmp_lt => JmpLt;
        /// Jump when `R[a] <= R[b]`.
        jmp_le => JmpLe;
        /// Jump unless `R[a] < R[b]`.
        jmp_not_lt => JmpNotLt;
        /// Jump unless `R[a] <= R[b]`.
        jmp_not_le => JmpNotLe;
        /// Jump unless `R[a] > R[b]`.
        jmp_not_gt => JmpNotGt;
        /// Jump unless `R[a] >= R[b]`.
        jmp_not_ge => JmpNotGe;
        /// Jump unless `R[a] == R[b]`.
        jmp_not_eq => JmpNotEq;
        /// Jump when `R[a] == R[b]`.
        jmp_eq => JmpEq;
    }

    pub fn jmp(&mut self, target: Label) -> usize {
        self.emit_jump(Instr::Jmp { off: 0 }, target)
    }

    pub fn jmp_if_false(&mut self, a: Reg, target: Label) -> usize {
        self.emit_jump(Instr::JmpIfFalse { a, off: 0 }, target)
    }

    pub fn jmp_if_true(&mut self, a: Reg, target: Label) -> usize {
        self.emit_jump(Instr::JmpIfTrue { a, off: 0 }, target)
    }

    pub fn check_bool(&mut self, a: Reg) -> usize {
        self.emit(Instr::CheckBool { a })
    }

    /// `CHECKTYPE`: `what` describes the slot in the error message.
    pub fn check_type(&mut self, a: Reg, t: TypeTag, what: &str) -> usize {
        let k = self.const_str(what) as u16;
        self.emit(Instr::CheckType { a, t, k })
    }

    /// `CALL A B`: the function in `R[a]`, its `b` arguments after it.
    pub fn call(&mut self, a: Reg, b: u8) -> usize {
        self.emit(Instr::Call { a, b })
    }

    /// `CALLG1 A B G`: `R[a] := G[g]`, `R[a+1] := R[b]`, then `CALL A 1`.
    pub fn call_global1(&mut self, a: Reg, b: Reg, g: u32) -> usize {
        self.emit(Instr::CallG1 { a, b, g })
    }

    /// `CALLG2 A B C G`: `R[a] := G[g]`, `R[a+1] := R[b]`, `R[a+2] := R[c]`, then
    /// `CALL A 2`.
    pub fn call_global2(&mut self, a: Reg, b: Reg, c: Reg, g: u32) -> usize {
        self.emit(Instr::CallG2 { a, b, c, g })
    }

    pub fn ret(&mut self, a: Reg) -> usize {
        self.emit(Instr::Return { a })
    }

    pub fn ret0(&mut self) -> usize {
        self.emit(Instr::Return0)
    }

    /// Numeric loop prologue over `R[a]` (the counter, which the body reads as the
    /// loop variable) and `R[a+1]` (the limit); jumps to `exit` when the range is
    /// empty.
    pub fn for_prep(&mut self, a: Reg, inclusive: bool, exit: Label) -> usize {
        self.emit_jump(
            Instr::ForPrep {
                a,
                inclusive,
                off: 0,
            },
            exit,
        )
    }

    /// Numeric loop step; jumps back to `body` while the loop goes on.
    pub fn for_loop(&mut self, a: Reg, body: Label) -> usize {
        self.emit_jump(Instr::ForLoop { a, off: 0 }, body)
    }

    pub fn iter_prep(&mut self, a: Reg) -> usize {
        self.emit(Instr::IterPrep { a })
    }

    /// Next element into `R[a+3]`; jumps to `done` when exhausted.
    pub fn iter_next(&mut self, a: Reg, done: Label) -> usize {
        self.emit_jump(Instr::IterNext { a, off: 0 }, done)
    }

    // ----- containers and strings -----

    pub fn new_list(&mut self, a: Reg, b: Reg, c: u8) -> usize {
        self.emit(Instr::NewList { a, b, c })
    }

    pub fn append_list(&mut self, a: Reg, b: Reg, c: u8) -> usize {
        self.emit(Instr::AppendList { a, b, c })
    }

    pub fn new_map(&mut self, a: Reg, b: Reg, c: u8) -> usize {
        self.emit(Instr::NewMap { a, b, c })
    }

    /// `R[a] := R[b].field`
    pub fn get_field(&mut self, a: Reg, b: Reg, field: &str) -> usize {
        let k = self.const_str(field) as u16;
        self.emit(Instr::GetField { a, b, k })
    }

    /// `R[a].field := R[c]`
    pub fn set_field(&mut self, a: Reg, field: &str, c: Reg) -> usize {
        let k = self.const_str(field) as u16;
        self.emit(Instr::SetField { a, k, c })
    }

    pub fn to_str(&mut self, a: Reg, b: Reg) -> usize {
        self.emit(Instr::ToStr { a, b })
    }

    pub fn concat(&mut self, a: Reg, b: Reg, c: u8) -> usize {
        self.emit(Instr::Concat { a, b, c })
    }

    // ----- the virtual stack -----

    /// `PUSH A`: push `R[a]` on the frame's virtual stack.
    pub fn push(&mut self, a: Reg) -> usize {
        self.emit(Instr::Push { a })
    }

    /// `POP A`: pop the top of the virtual stack into `R[a]`.
    pub fn pop(&mut self, a: Reg) -> usize {
        self.emit(Instr::Pop { a })
    }

    // ----- try -----

    /// Enters a try block whose handler starts at `handler`; the error map goes to
    /// `R[a]`.
    pub fn try_begin(&mut self, a: Reg, handler: Label) -> usize {
        self.emit_jump(Instr::TryBegin { a, off: 0 }, handler)
    }

    pub fn try_end(&mut self) -> usize {
        self.emit(Instr::TryEnd)
    }

    // ----- finishing -----

    /// Patches the jumps, checks the stack discipline and returns the prototype.
    pub fn finish(mut self) -> Result<FnProto, BuildError> {
        let labels = std::mem::take(&mut self.labels);
        for &(pc, label) in &self.fixups {
            let target = labels[label.0 as usize].ok_or(BuildError::UnboundLabel { pc })?;
            let off = target as i64 - (pc as i64 + 1);
            let off = i32::try_from(off)
                .map_err(|_| BuildError::Stack(StackError::JumpOutOfRange { pc }))?;
            if let Some(slot) = self.code[pc].jump_mut() {
                *slot = off;
            }
        }
        let max_stack = stack_depths(&self.code, u8::MAX).map_err(BuildError::Stack)? as u32;
        let mut regs = self.min_regs.max(self.arity as u32);
        for ins in &self.code {
            ins.register_spans(|first, count| regs = regs.max(first as u32 + count as u32));
        }
        if regs + max_stack > 255 {
            return Err(BuildError::TooManyRegisters);
        }
        Ok(FnProto {
            name: self.name,
            arity: self.arity,
            num_regs: regs as u8,
            max_stack: max_stack as u8,
            code: self.code,
            consts: self.consts,
            protos: self.protos,
            captures: self.captures,
            lines: self.lines,
        })
    }
}

/// Builds a [`Program`]: numbers the globals its functions name.
#[derive(Debug, Default)]
pub struct ProgramBuilder {
    chunk: String,
    globals: HashMap<String, u32>,
    names: Vec<String>,
}

impl ProgramBuilder {
    /// `chunk` is the name tracebacks give the program.
    pub fn new(chunk: impl Into<String>) -> ProgramBuilder {
        ProgramBuilder {
            chunk: chunk.into(),
            ..ProgramBuilder::default()
        }
    }

    /// The operand of `GETGLOBAL`/`SETGLOBAL` for `name` (built-ins such as `print`
    /// included); the VM relocates it to its own slot when it loads the program.
    pub fn global(&mut self, name: &str) -> u32 {
        if let Some(&g) = self.globals.get(name) {
            return g;
        }
        let g = self.names.len() as u32;
        self.names.push(name.to_string());
        self.globals.insert(name.to_string(), g);
        g
    }

    /// The program whose main function is `main`.
    pub fn finish(self, main: FnProto) -> Program {
        Program {
            chunk: self.chunk,
            main,
            globals: self.names,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vm::{Value, Vm, VmError};
    use std::cell::RefCell;
    use std::io::Write;
    use std::rc::Rc;

    #[derive(Clone, Default)]
    struct Sink(Rc<RefCell<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Runs a program's main function; returns its result and what it printed.
    fn run(program: &Program) -> (Result<Value, VmError>, String, Vm) {
        let sink = Sink::default();
        let mut vm = Vm::with_output(Box::new(sink.clone()));
        let main = vm.load(program).expect("verifies");
        let r = vm.call_value(main, &[]);
        vm.flush();
        let out = String::from_utf8(sink.0.borrow().clone()).unwrap();
        (r, out, vm)
    }

    fn int(r: Result<Value, VmError>) -> i64 {
        match r {
            Ok(Value::Int(i)) => i,
            other => panic!("expected an Int, got {other:?}"),
        }
    }

    /// Push `n` values, pop all but one: the seed report's stack benchmark.
    fn stack_program(n: i64) -> Program {
        let mut f = ProtoBuilder::new("stack");
        for i in 0..n {
            f.load_int(0, i + 1);
            f.push(0);
        }
        f.load_int(1, 0);
        for _ in 1..n {
            f.pop(0);
            f.add(1, 1, 0);
        }
        f.ret(1);
        ProgramBuilder::new("stack").finish(f.finish().unwrap())
    }

    #[test]
    fn push_pop_runs_and_sizes_the_stack() {
        let p = stack_program(100);
        assert_eq!(p.main.num_regs, 2);
        assert_eq!(p.main.max_stack, 100);
        // pops 100, 99, ..., 2
        assert_eq!(int(run(&p).0), (2..=100).sum::<i64>());
    }

    #[test]
    fn backward_loop_with_labels() {
        // sum of 0..10 with a while loop: i in R0, n in R1, s in R2
        let mut f = ProtoBuilder::new("loop");
        f.load_int(0, 0);
        f.load_int(1, 10);
        f.load_int(2, 0);
        let top = f.here();
        let done = f.label();
        f.jmp_not_lt(0, 1, done);
        f.add(2, 2, 0);
        f.addi(0, 0, 1);
        f.jmp(top);
        f.bind(done);
        f.ret(2);
        let proto = f.finish().unwrap();
        assert_eq!(proto.num_regs, 3);
        assert_eq!(proto.max_stack, 0);
        // the forward jump skips 3 instructions, the backward one goes to pc 3
        assert_eq!(proto.code[3], Instr::JmpNotLt { a: 0, b: 1, off: 3 });
        assert_eq!(proto.code[6], Instr::Jmp { off: -4 });
        let p = ProgramBuilder::new("t").finish(proto);
        assert_eq!(int(run(&p).0), 45);
    }

    #[test]
    fn numeric_for_loop_and_stack_inside_the_body() {
        // for i in 0..5 { push i; push i; pop x; pop y; s += x + y } (i is the counter)
        let mut f = ProtoBuilder::new("for");
        f.load_int(0, 0); // counter
        f.load_int(1, 5); // limit
        f.load_int(4, 0); // sum
        let exit = f.label();
        f.for_prep(0, false, exit);
        let body = f.here();
        f.push(0);
        f.push(0);
        f.pop(5);
        f.pop(6);
        f.add(5, 5, 6);
        f.add(4, 4, 5);
        f.for_loop(0, body);
        f.bind(exit);
        f.ret(4);
        let proto = f.finish().unwrap();
        assert_eq!(proto.num_regs, 7);
        assert_eq!(proto.max_stack, 2);
        assert_eq!(int(run(&ProgramBuilder::new("t").finish(proto)).0), 20);
    }

    #[test]
    fn stack_slots_after_a_catch_and_across_branches() {
        // push 10, push 20; try { push 30; -"s" } catch { pop a; pop b };
        // then a branch that pushes in both arms: the slots are fixed per
        // instruction, so each path and the handler see the values pushed before.
        let mut f = ProtoBuilder::new("catch");
        let s = f.const_str("s");
        f.load_int(0, 10);
        f.push(0);
        f.load_int(0, 20);
        f.push(0);
        let handler = f.label();
        f.try_begin(3, handler);
        f.load_int(0, 30);
        f.push(0);
        f.load_k(1, s);
        f.neg(1, 1); // an error with three values on the stack
        f.ret0();
        f.bind(handler);
        f.pop(0); // 20: the handler runs at the TRYBEGIN's depth
        f.pop(1); // 10
        f.add(0, 0, 1);
        let other = f.label();
        let join = f.label();
        f.load_bool(2, true);
        f.jmp_if_false(2, other);
        f.load_int(1, 100);
        f.push(1);
        f.jmp(join);
        f.bind(other);
        f.load_int(1, 1000);
        f.push(1);
        f.bind(join);
        f.pop(1);
        f.add(0, 0, 1);
        f.ret(0);
        let proto = f.finish().unwrap();
        assert_eq!(proto.max_stack, 3);
        assert_eq!(int(run(&ProgramBuilder::new("t").finish(proto)).0), 130);
    }

    #[test]
    fn globals_constants_calls_and_closures() {
        let mut pb = ProgramBuilder::new("t");
        let print = pb.global("print");
        let counter = pb.global("counter");
        assert_eq!(pb.global("print"), print);

        // fn (x) { return x * 2.5 }
        let mut child = ProtoBuilder::new("scale");
        child.arity(1);
        child.load_float(1, 2.5);
        child.mul(0, 0, 1);
        child.ret(0);
        let child = child.finish().unwrap();
        assert_eq!(child.num_regs, 2);

        let mut f = ProtoBuilder::new("<script>");
        let k = f.const_int(1 << 40);
        assert_eq!(f.const_int(1 << 40), k);
        f.load_int(0, 1 << 40); // a 64-bit constant: LOADK
        f.set_global(0, counter);
        let scale = f.child(child);
        f.closure(1, scale);
        f.load_int(2, 4);
        f.call(1, 1); // R1 := scale(4) = 10.0
        f.get_global(2, print);
        f.load_str(3, "scaled:");
        f.mov(4, 1);
        f.get_global(5, counter);
        f.call(2, 3);
        f.ret(1);
        let main = f.finish().unwrap();
        assert_eq!(main.consts.len(), 2);
        let p = pb.finish(main);
        assert_eq!(p.globals, vec!["print".to_string(), "counter".to_string()]);
        let (r, out, vm) = run(&p);
        assert!(matches!(r, Ok(Value::Float(x)) if x == 10.0));
        assert_eq!(out, "scaled: 10.0 1099511627776\n");
        assert!(matches!(
            vm.get_global("counter"),
            Some(Value::Int(1099511627776))
        ));
    }

    /// ADDMOVE2 is an ADD then a MOVE2, in that order, for the overlaps of its
    /// registers the verifier allows (`d != a`) and on both of the VM's paths (two
    /// Ints; a Float and an Int).
    #[test]
    fn add_move2_runs_as_its_three_steps() {
        // R1 = 1 or 1.5, R2 = 10, R3 = 100; returns [R0, R1, R2, R3]
        let run_one = |float: bool, (a, b, c, d, e, f): (u8, u8, u8, u8, u8, u8)| {
            let mut p = ProtoBuilder::new("<script>");
            if float {
                p.load_float(1, 1.5);
            } else {
                p.load_int(1, 1);
            }
            p.load_int(2, 10);
            p.load_int(3, 100);
            p.emit(Instr::AddMove2 { a, b, c, d, e, f });
            p.emit(Instr::NewList { a: 4, b: 0, c: 4 });
            p.ret(4);
            let (r, _, vm) = run(&ProgramBuilder::new("t").finish(p.finish().unwrap()));
            vm.display(r.expect("runs"))
        };
        // R0 := R1 + R2; R3 := R2; R1 := R0
        assert_eq!(run_one(false, (0, 1, 2, 3, 2, 1)), "[11, 11, 10, 10]");
        // the sum lands where an operand was read from
        assert_eq!(run_one(false, (1, 1, 2, 0, 1, 3)), "[11, 11, 10, 11]");
        // Float + Int goes through the full loop, with the same steps
        assert_eq!(run_one(true, (0, 1, 2, 3, 2, 1)), "[11.5, 11.5, 10, 10]");
    }

    /// CALLG1/CALLG2 read their arguments before writing the window, also when an
    /// argument register is in it, on the inline built-in path and the call path.
    /// (What the window's argument registers hold afterwards is unspecified, as
    /// after any CALL.)
    #[test]
    fn call_global_reads_its_arguments_first() {
        let run_one = |callee: &str, argc: u8| {
            let mut pb = ProgramBuilder::new("t");
            let g = pb.global(callee);
            let mut p = ProtoBuilder::new("<script>");
            p.new_list(0, 0, 0);
            p.load_int(1, 7);
            p.load_int(2, 8);
            // the window is R1..: its first argument register is the callee's slot
            if argc == 1 {
                p.call_global1(1, 0, g);
            } else {
                p.call_global2(1, 0, 1, g);
            }
            p.emit(Instr::NewList { a: 3, b: 0, c: 2 });
            p.ret(3);
            let (r, _, vm) = run(&pb.finish(p.finish().unwrap()));
            vm.display(r.expect("runs"))
        };
        // push([], 7) inline; len([]) inline; str([]) and type([]) through the call
        assert_eq!(run_one("push", 2), "[[7], nil]");
        assert_eq!(run_one("len", 1), "[[], 0]");
        assert_eq!(run_one("str", 1), "[[], \"[]\"]");
        assert_eq!(run_one("type", 1), "[[], \"List\"]");
    }

    #[test]
    fn runtime_errors_carry_lines() {
        let mut f = ProtoBuilder::new("<script>");
        f.set_line(1);
        f.load_int(0, 1);
        f.load_int(1, 0);
        f.set_line(7);
        f.modulo(0, 0, 1);
        f.ret(0);
        let (r, _, _) = run(&ProgramBuilder::new("t.vela").finish(f.finish().unwrap()));
        match r {
            Err(VmError::Runtime(e)) => {
                assert_eq!(e.message, "division by zero");
                assert_eq!(e.trace[0].line, 7);
            }
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn rejects_unbalanced_stacks() {
        // one path pushes, the other does not
        let mut f = ProtoBuilder::new("bad");
        f.load_bool(0, true);
        let skip = f.label();
        f.jmp_if_false(0, skip);
        f.push(0);
        f.bind(skip);
        f.ret0();
        assert!(matches!(
            f.finish(),
            Err(BuildError::Stack(StackError::Mismatch { pc: 3, .. }))
        ));

        let mut f = ProtoBuilder::new("underflow");
        f.pop(0);
        f.ret0();
        assert_eq!(
            f.finish(),
            Err(BuildError::Stack(StackError::Underflow { pc: 0 }))
        );

        let mut f = ProtoBuilder::new("call");
        f.load_nil(0);
        f.push(0);
        f.call(0, 0);
        f.ret0();
        assert_eq!(
            f.finish(),
            Err(BuildError::Stack(StackError::CallWithStack {
                pc: 2,
                depth: 1
            }))
        );

        // a loop whose body pushes without popping grows the stack every iteration
        let mut f = ProtoBuilder::new("grow");
        let top = f.here();
        f.push(0);
        f.jmp(top);
        assert!(matches!(
            f.finish(),
            Err(BuildError::Stack(StackError::Mismatch { .. }))
        ));
    }

    #[test]
    fn rejects_bad_control_flow() {
        let mut f = ProtoBuilder::new("off the end");
        f.load_nil(0);
        assert_eq!(
            f.finish(),
            Err(BuildError::Stack(StackError::FallsOffEnd { pc: 0 }))
        );

        let mut f = ProtoBuilder::new("unbound");
        let l = f.label();
        f.jmp(l);
        f.ret0();
        assert_eq!(f.finish(), Err(BuildError::UnboundLabel { pc: 0 }));

        let mut f = ProtoBuilder::new("raw");
        f.emit(Instr::Jmp { off: 5 });
        f.ret0();
        assert_eq!(
            f.finish(),
            Err(BuildError::Stack(StackError::JumpOutOfRange { pc: 0 }))
        );

        let mut f = ProtoBuilder::new("regs");
        f.emit(Instr::ForPrep {
            a: 254,
            inclusive: false,
            off: 0,
        });
        f.ret0();
        assert_eq!(f.finish(), Err(BuildError::TooManyRegisters));
    }

    #[test]
    fn unreachable_code_is_not_checked_for_depth() {
        let mut f = ProtoBuilder::new("dead");
        f.ret0();
        f.pop(0); // never runs
        let p = f.finish().unwrap();
        assert_eq!(p.max_stack, 0);
        assert_eq!(p.num_regs, 1);
    }

    #[test]
    fn arity_and_reserved_registers_widen_the_window() {
        let mut f = ProtoBuilder::new("f");
        f.arity(3).reserve_regs(5);
        f.ret(0);
        let p = f.finish().unwrap();
        assert_eq!((p.arity, p.num_regs), (3, 5));
    }

    #[test]
    fn disassembles() {
        let p = stack_program(3);
        let text = crate::bytecode::disasm::disassemble(&p);
        assert!(text.contains("3 stack slots"), "{text}");
    }
}
