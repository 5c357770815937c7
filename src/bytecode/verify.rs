//! The load-time verifier. A program that passes [`verify`] can be run by the VM
//! without any out-of-range access: docs/bytecode.md ("What verification
//! guarantees") lists the facts the interpreter may rely on, and each check below
//! names the fact it establishes.
//!
//! The compiler's output always passes (tests/velac.rs checks every golden program).

use super::format::MAX_NESTING;
use super::instr::Instr;
use super::proto::{Capture, Constant, FnProto, Program};
use std::fmt;

/// Most registers a window may span: `num_regs + max_stack`.
pub const MAX_WINDOW: usize = 255;

/// Why a program was refused: which function (its name and its path of nested
/// prototype indexes, `F0.2` = the third function of the first function of main),
/// which instruction, and what is wrong.
#[derive(Clone, Debug, PartialEq)]
pub struct VerifyError {
    pub function: String,
    pub path: Vec<usize>,
    pub pc: Option<usize>,
    pub message: String,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = if self.function.is_empty() {
            "?"
        } else {
            &self.function
        };
        if self.path.is_empty() {
            write!(f, "function {name} (main)")?;
        } else {
            let path: Vec<String> = self.path.iter().map(|i| i.to_string()).collect();
            write!(f, "function {name} (F{})", path.join("."))?;
        }
        if let Some(pc) = self.pc {
            write!(f, ", instruction {pc}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for VerifyError {}

/// Checks every prototype of `program`; see the module documentation.
pub fn verify(program: &Program) -> Result<(), VerifyError> {
    let mut path = Vec::new();
    if !program.main.captures.is_empty() {
        return Err(VerifyError {
            function: program.main.name.clone(),
            path,
            pc: None,
            message: "the main function cannot have captures".to_string(),
        });
    }
    proto(program, &program.main, None, &mut path)
}

fn proto(
    program: &Program,
    p: &FnProto,
    parent: Option<&FnProto>,
    path: &mut Vec<usize>,
) -> Result<(), VerifyError> {
    let fail = |pc: Option<usize>, message: String| VerifyError {
        function: p.name.clone(),
        path: path.clone(),
        pc,
        message,
    };
    if path.len() > MAX_NESTING {
        return Err(fail(
            None,
            format!("functions nested deeper than {MAX_NESTING}"),
        ));
    }
    let n = p.num_regs as usize;
    let window = n + p.max_stack as usize;
    if window > MAX_WINDOW {
        return Err(fail(
            None,
            format!(
                "window of {n} registers and {} stack slots exceeds {MAX_WINDOW}",
                p.max_stack
            ),
        ));
    }
    if p.arity as usize > n {
        return Err(fail(
            None,
            format!("arity {} exceeds its {n} registers", p.arity),
        ));
    }
    if !p.lines.is_empty() && p.lines.len() != p.code.len() {
        return Err(fail(
            None,
            format!(
                "line table has {} entries for {} instructions",
                p.lines.len(),
                p.code.len()
            ),
        ));
    }
    // Fact: every capture descriptor names a register of the enclosing window or
    // one of the enclosing closure's captures.
    if let Some(parent) = parent {
        for (i, c) in p.captures.iter().enumerate() {
            let ok = match *c {
                Capture::Local(r) => (r as usize) < parent.num_regs as usize,
                Capture::Upvalue(u) => (u as usize) < parent.captures.len(),
            };
            if !ok {
                return Err(fail(
                    None,
                    format!("capture U{i} ({c:?}) is out of range of the enclosing function"),
                ));
            }
        }
    }
    // Fact: control never runs past the end (the last instruction cannot fall
    // through; there is at least one instruction).
    match p.code.last() {
        None => return Err(fail(None, "no code".to_string())),
        Some(last) if last.falls_through() => {
            return Err(fail(
                Some(p.code.len() - 1),
                "control can run past the last instruction".to_string(),
            ))
        }
        Some(_) => {}
    }

    for (pc, ins) in p.code.iter().enumerate() {
        operands(program, p, pc, ins).map_err(|m| fail(Some(pc), m))?;
    }
    stack_depths(&p.code, p.max_stack).map_err(|e| fail(Some(e.pc()), e.to_string()))?;

    for (i, child) in p.protos.iter().enumerate() {
        path.push(i);
        proto(program, child, Some(p), path)?;
        path.pop();
    }
    Ok(())
}

/// Checks one instruction's operands: registers (and implicit register ranges)
/// inside `R[0 .. num_regs]`, indexes in range, constants of the right kind, jump
/// targets inside the code.
fn operands(program: &Program, p: &FnProto, pc: usize, ins: &Instr) -> Result<(), String> {
    let n = p.num_regs as usize;
    let reg = |r: u8| {
        if (r as usize) < n {
            Ok(())
        } else {
            Err(format!("register R{r} out of range ({n} registers)"))
        }
    };
    // R[first .. first + count] (empty ranges still start inside or at the end).
    let span = |first: u8, count: usize| {
        if first as usize + count <= n {
            Ok(())
        } else {
            Err(format!(
                "registers R{first}..R{} out of range ({n} registers)",
                first as usize + count
            ))
        }
    };
    let konst = |k: u32| {
        p.consts
            .get(k as usize)
            .ok_or_else(|| format!("constant K{k} out of range ({} constants)", p.consts.len()))
    };
    let kstr = |k: u16| match konst(k as u32)? {
        Constant::Str(_) => Ok(()),
        other => Err(format!("constant K{k} is {other:?}, a String is needed")),
    };
    let global = |g: u32| {
        if (g as usize) < program.globals.len() {
            Ok(())
        } else {
            Err(format!(
                "global G{g} out of range ({} globals)",
                program.globals.len()
            ))
        }
    };
    let upval = |u: u8| {
        if (u as usize) < p.captures.len() {
            Ok(())
        } else {
            Err(format!(
                "capture U{u} out of range ({} captures)",
                p.captures.len()
            ))
        }
    };
    let mut bad_regs = Ok(());
    ins.register_spans(|first, count| {
        if bad_regs.is_ok() {
            bad_regs = if count == 1 {
                reg(first)
            } else {
                span(first, count)
            };
        }
    });
    bad_regs?;
    match *ins {
        Instr::LoadK { k, .. } => {
            konst(k)?;
        }
        Instr::GetGlobal { g, .. }
        | Instr::SetGlobal { g, .. }
        | Instr::CallG1 { g, .. }
        | Instr::CallG2 { g, .. } => global(g)?,
        Instr::GetUpval { u, .. } | Instr::SetUpval { u, .. } => upval(u)?,
        Instr::Closure { f, .. } if f as usize >= p.protos.len() => {
            return Err(format!(
                "function F{f} out of range ({} functions)",
                p.protos.len()
            ));
        }
        Instr::CheckType { k, .. } | Instr::GetField { k, .. } | Instr::SetField { k, .. } => {
            kstr(k)?
        }
        // (The VM divides by the reciprocal it computes from `k`.)
        Instr::JmpModNotEqI { k: 0, .. } => return Err("JMPMODNOTEQI by 0".to_string()),
        // (The VM copies the sum into R[f] from where it computed it.)
        Instr::AddMove2 { a, d, .. } if d == a => {
            return Err(format!(
                "ADDMOVE2 overwrites its sum R{a} before copying it"
            ))
        }
        _ => {}
    }
    // Fact: every jump target is an instruction of this function. Only JMP and
    // FORLOOP, which poll the interrupt flag when they jump, may go backwards, so
    // every loop polls it.
    if let Some(off) = ins.jump() {
        let target = pc as i64 + 1 + off as i64;
        if target < 0 || target >= p.code.len() as i64 {
            return Err(format!(
                "jump target {target} outside the code (0..{})",
                p.code.len()
            ));
        }
        let may_go_back = matches!(ins, Instr::Jmp { .. } | Instr::ForLoop { .. });
        if !may_go_back && target as usize <= pc {
            return Err(format!(
                "backward conditional jump to {target} (only JMP and FORLOOP may jump back)"
            ));
        }
        // A FORLOOP goes back to its body (which the interpreter relies on to charge
        // `-off` as fuel without taking an absolute value).
        if matches!(ins, Instr::ForLoop { .. }) && target as usize > pc {
            return Err(format!(
                "FORLOOP jumps forward to {target} (it must jump back to its body)"
            ));
        }
    }
    Ok(())
}

/// Why the virtual stack's depth cannot be computed (see [`stack_depths`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StackError {
    /// Two paths reach `pc` with different depths.
    Mismatch { pc: usize, depth: u16, other: u16 },
    /// A `POP` at `pc` on an empty stack.
    Underflow { pc: usize },
    /// A `PUSH` at `pc` above the allowed slots.
    Overflow { pc: usize, max: u16 },
    /// A `CALL` at `pc` with values on the stack.
    CallWithStack { pc: usize, depth: u16 },
    /// Control can run past the last instruction (from `pc`).
    FallsOffEnd { pc: usize },
    /// The jump at `pc` leaves the code.
    JumpOutOfRange { pc: usize },
}

impl StackError {
    pub fn pc(&self) -> usize {
        match *self {
            StackError::Mismatch { pc, .. }
            | StackError::Underflow { pc }
            | StackError::Overflow { pc, .. }
            | StackError::CallWithStack { pc, .. }
            | StackError::FallsOffEnd { pc }
            | StackError::JumpOutOfRange { pc } => pc,
        }
    }
}

impl fmt::Display for StackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StackError::Mismatch { depth, other, .. } => write!(
                f,
                "stack depth {depth} here along one path, {other} along another"
            ),
            StackError::Underflow { .. } => write!(f, "POP from an empty stack"),
            StackError::Overflow { max, .. } => write!(f, "PUSH above the {max} stack slots"),
            StackError::CallWithStack { depth, .. } => {
                write!(f, "CALL with {depth} values on the stack")
            }
            StackError::FallsOffEnd { .. } => {
                write!(f, "control can run past the last instruction")
            }
            StackError::JumpOutOfRange { .. } => write!(f, "jump target outside the code"),
        }
    }
}

/// Abstract interpretation of the virtual stack: the depth before each instruction
/// must be the same along every path, never negative or above `max_stack`, and zero
/// at every CALL. A TRYBEGIN's handler starts at the depth the TRYBEGIN saw.
/// Returns the deepest depth reached. The builder uses this to compute `max_stack`;
/// the verifier to check the declared one.
pub fn stack_depths(code: &[Instr], max_stack: u8) -> Result<u16, StackError> {
    depth_table(code, max_stack).map(|(_, deepest)| deepest)
}

/// The depth of the virtual stack before each instruction ([`UNREACHED`] for an
/// instruction no path reaches) and the deepest depth, as [`stack_depths`] checks
/// them. Since the depth is the same along every path, it is a function of the
/// instruction: the VM turns it into each PUSH's and POP's slot when it loads a
/// function, and keeps no stack pointer at run time.
pub fn depth_table(code: &[Instr], max_stack: u8) -> Result<(Vec<u16>, u16), StackError> {
    const UNSEEN: u16 = UNREACHED;
    if code.is_empty() {
        return Err(StackError::FallsOffEnd { pc: 0 });
    }
    let mut depth = vec![UNSEEN; code.len()];
    let mut work = vec![0usize];
    depth[0] = 0;
    let max = max_stack as u16;
    let mut deepest = 0;
    while let Some(pc) = work.pop() {
        let ins = &code[pc];
        let d = depth[pc];
        let after = match *ins {
            Instr::Push { .. } => {
                if d >= max {
                    return Err(StackError::Overflow { pc, max });
                }
                d + 1
            }
            Instr::Pop { .. } => d.checked_sub(1).ok_or(StackError::Underflow { pc })?,
            Instr::Call { .. } | Instr::CallG1 { .. } | Instr::CallG2 { .. } if d != 0 => {
                return Err(StackError::CallWithStack { pc, depth: d })
            }
            _ => d,
        };
        deepest = deepest.max(after);
        let mut succ = [None, None];
        if ins.falls_through() {
            if pc + 1 >= code.len() {
                return Err(StackError::FallsOffEnd { pc });
            }
            succ[0] = Some(pc + 1);
        }
        if let Some(off) = ins.jump() {
            let target = pc as i64 + 1 + off as i64;
            if target < 0 || target >= code.len() as i64 {
                return Err(StackError::JumpOutOfRange { pc });
            }
            succ[1] = Some(target as usize);
        }
        for t in succ.into_iter().flatten() {
            if depth[t] == UNSEEN {
                depth[t] = after;
                work.push(t);
            } else if depth[t] != after {
                return Err(StackError::Mismatch {
                    pc: t,
                    depth: depth[t],
                    other: after,
                });
            }
        }
    }
    Ok((depth, deepest))
}

/// The depth [`depth_table`] gives an instruction no path reaches.
pub const UNREACHED: u16 = u16::MAX;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bytecode::Instr::*;

    fn program(code: Vec<Instr>, num_regs: u8, max_stack: u8) -> Program {
        Program {
            chunk: "t".into(),
            globals: vec!["print".into()],
            main: FnProto {
                name: "<script>".into(),
                num_regs,
                max_stack,
                code,
                consts: vec![Constant::Int(1), Constant::Str("s".into())],
                ..FnProto::default()
            },
        }
    }

    fn err(code: Vec<Instr>, num_regs: u8, max_stack: u8) -> String {
        verify(&program(code, num_regs, max_stack))
            .expect_err("refused")
            .to_string()
    }

    #[test]
    fn accepts_stack_code() {
        let code = vec![
            LoadInt { a: 0, i: 1 },
            Push { a: 0 },
            Push { a: 0 },
            Pop { a: 1 },
            Pop { a: 1 },
            Return { a: 1 },
        ];
        verify(&program(code, 2, 2)).expect("valid");
    }

    #[test]
    fn refuses_bad_code() {
        assert!(err(vec![Move { a: 0, b: 3 }, Return0], 2, 0).contains("R3 out of range"));
        let move2 = Move2 {
            a: 0,
            b: 1,
            c: 1,
            d: 2,
        };
        assert!(err(vec![move2, Return0], 2, 0).contains("R2 out of range"));
        let muladd = MulAddI {
            a: 0,
            b: 1,
            c: 2,
            i: 3,
        };
        assert!(err(vec![muladd, Return0], 2, 0).contains("R2 out of range"));
        let rotation = AddMove2 {
            a: 0,
            b: 0,
            c: 0,
            d: 0,
            e: 0,
            f: 1,
        };
        assert!(err(vec![rotation, Return0], 1, 0).contains("R1 out of range"));
        let overwrite = AddMove2 {
            a: 0,
            b: 0,
            c: 0,
            d: 0,
            e: 1,
            f: 1,
        };
        assert!(err(vec![overwrite, Return0], 2, 0).contains("overwrites its sum"));
        let modjmp = |k| JmpModNotEqI {
            a: 0,
            b: 0,
            c: 1,
            k,
            off: 0,
        };
        assert!(err(vec![modjmp(0), Return0], 1, 0).contains("by 0"));
        assert!(verify(&program(vec![modjmp(3), Return0], 1, 0)).is_ok());
        assert!(err(vec![Call { a: 0, b: 2 }, Return0], 2, 0).contains("R0..R3"));
        assert!(err(
            vec![
                ForPrep {
                    a: 0,
                    inclusive: false,
                    off: 0
                },
                Return0
            ],
            1,
            0
        )
        .contains("R0..R2"));
        assert!(err(vec![IterNext { a: 0, off: 0 }, Return0], 3, 0).contains("R0..R4"));
        assert!(err(vec![NewMap { a: 0, b: 1, c: 1 }, Return0], 2, 0).contains("R1..R3"));
        assert!(err(vec![LoadK { a: 0, k: 2 }, Return0], 1, 0).contains("K2 out of range"));
        assert!(
            err(vec![GetField { a: 0, b: 0, k: 0 }, Return0], 1, 0).contains("String is needed")
        );
        assert!(err(vec![GetGlobal { a: 0, g: 1 }, Return0], 1, 0).contains("G1"));
        assert!(err(vec![CallG1 { a: 0, b: 0, g: 1 }, Return0], 2, 0).contains("G1"));
        assert!(err(vec![CallG1 { a: 0, b: 0, g: 0 }, Return0], 1, 0).contains("R0..R2"));
        let callg2 = CallG2 {
            a: 1,
            b: 0,
            c: 4,
            g: 0,
        };
        assert!(err(vec![callg2, Return0], 4, 0).contains("R4"));
        assert!(err(vec![GetUpval { a: 0, u: 0 }, Return0], 1, 0).contains("U0"));
        assert!(err(vec![Closure { a: 0, f: 0 }, Return0], 1, 0).contains("F0"));
        assert!(err(vec![Jmp { off: 1 }, Return0], 1, 0).contains("outside the code"));
        assert!(err(vec![Jmp { off: -3 }, Return0], 1, 0).contains("outside the code"));
        assert!(err(vec![LoadNil { a: 0 }], 1, 0).contains("past the last"));
        assert!(err(vec![], 1, 0).contains("no code"));
        assert!(err(
            vec![LoadNil { a: 0 }, JmpIfTrue { a: 0, off: -2 }, Return0],
            1,
            0
        )
        .contains("backward"));
        let forward_loop = ForLoop { a: 0, off: 0 };
        assert!(err(vec![forward_loop, Return0], 3, 0).contains("FORLOOP jumps forward"));
        assert!(err(vec![Pop { a: 0 }, Return0], 1, 1).contains("empty stack"));
        assert!(err(vec![Push { a: 0 }, Return0], 1, 0).contains("PUSH above"));
        assert!(
            err(vec![Push { a: 0 }, Call { a: 0, b: 0 }, Return0], 1, 1).contains("CALL with 1")
        );
        let callg1 = CallG1 { a: 0, b: 0, g: 0 };
        assert!(err(vec![Push { a: 0 }, callg1, Return0], 2, 1).contains("CALL with 1"));
        let diverge = vec![
            LoadBool { a: 0, b: true },
            JmpIfTrue { a: 0, off: 1 },
            Push { a: 0 },
            Return0,
        ];
        assert!(err(diverge, 1, 1).contains("along another"));
        assert!(err(vec![Return0], 200, 56).contains("exceeds 255"));
        let mut p = program(vec![Return0], 1, 0);
        p.main.arity = 2;
        assert!(verify(&p).is_err());
        p.main.arity = 0;
        p.main.lines = vec![1, 2];
        assert!(verify(&p).is_err());
        p.main.lines = vec![];
        p.main.protos.push(FnProto {
            code: vec![Return0],
            num_regs: 1,
            captures: vec![Capture::Local(1)],
            ..FnProto::default()
        });
        let e = verify(&p).expect_err("capture out of range").to_string();
        assert!(e.contains("F0") && e.contains("capture"), "{e}");
        p.main.protos[0].captures = vec![Capture::Upvalue(0)];
        assert!(verify(&p).is_err());
        p.main.protos[0].captures = vec![Capture::Local(0)];
        verify(&p).expect("valid capture");
        p.main.captures = vec![Capture::Local(0)];
        assert!(verify(&p).is_err());
    }

    #[test]
    fn try_handler_keeps_the_depth() {
        let code = vec![
            Push { a: 0 },
            TryBegin { a: 0, off: 2 },
            TryEnd,
            Jmp { off: 0 },
            Pop { a: 0 },
            Return0,
        ];
        verify(&program(code, 1, 1)).expect("valid");
    }
}
