//! Expression compilation: every expression lands in a register the caller chooses
//! (`expr_to`) or in one the compiler picks (`expr_any`, which reuses a local's own
//! register). Conditions compile to jumps (`cond_false`), fusing comparisons.

use super::emit::Place;
use super::Compiler;
use crate::ast::{BinOp, Expr, ExprKind, InterpPart, LogicOp, MapKey, UnOp};
use crate::bytecode::{Constant, Instr, Reg};
use crate::diagnostics::CompileError;

/// Elements one NewList/AppendList (or pairs one NewMap) takes at a time.
const LIST_BATCH: usize = 64;
const MAP_BATCH: usize = 32;

impl Compiler<'_> {
    /// Compiles `e` so that its value ends up in an existing register: a local's own
    /// register when `e` names one, else a new temporary.
    pub(super) fn expr_any(&mut self, e: &Expr) -> Result<Reg, CompileError> {
        if let Some(r) = self.local_reg(e) {
            return Ok(r);
        }
        let r = self.alloc(e.span)?;
        self.expr_to(e, r)?;
        Ok(r)
    }

    /// The register already holding `e` at the start of an `else if` (see
    /// `FuncState::known`), reserved as the next temporary, when `e` is the value
    /// the previous condition compared.
    fn known_value(&mut self, e: &Expr) -> Option<Reg> {
        let (at, expr, reg) = self.f().known.take()?;
        let here = self.fr().proto.code.len();
        if at != here || reg as u32 != self.mark() || !same_pure_value(&expr, e) {
            return None;
        }
        self.f().alloc()
    }

    /// Records that the comparison being compiled tests `l`, held in `a`, when
    /// `l` is a side-effect-free computation in a temporary (see
    /// `FuncState::compared`).
    fn note_compared(&mut self, l: &Expr, a: Reg) {
        let temp = !self.is_local_reg(a) && !matches!(l.kind, ExprKind::Name(_));
        self.f().compared = (temp && is_pure(l)).then(|| (l.clone(), a));
    }

    /// The register of `e` when it names a local (reading it emits nothing).
    fn local_reg(&self, e: &Expr) -> Option<Reg> {
        let ExprKind::Name(name) = &e.kind else {
            return None;
        };
        let i = self.fr().resolve_local(name)?;
        Some(self.fr().locals[i].reg)
    }

    /// Whether `r` holds a live local (so writing it early would clobber a variable
    /// the rest of the expression may still read).
    fn is_local_reg(&self, r: Reg) -> bool {
        self.fr().locals.iter().any(|l| l.reg == r)
    }

    /// Compiles `e` into register `dst`.
    pub(super) fn expr_to(&mut self, e: &Expr, dst: Reg) -> Result<(), CompileError> {
        self.enter(e.span)?;
        let saved_line = self.set_line(e.span);
        let mark = self.mark();
        match &e.kind {
            ExprKind::Nil => {
                self.emit(Instr::LoadNil { a: dst });
            }
            ExprKind::Bool(b) => {
                self.emit(Instr::LoadBool { a: dst, b: *b });
            }
            ExprKind::Int(i) => self.load_int(dst, *i),
            ExprKind::Float(x) => {
                let k = self.f().constant(Constant::Float(*x));
                self.emit(Instr::LoadK { a: dst, k });
            }
            ExprKind::Str(s) => {
                let k = self.f().constant(Constant::Str(s.clone()));
                self.emit(Instr::LoadK { a: dst, k });
            }
            ExprKind::Interp(parts) => self.interp(parts, dst, e)?,
            ExprKind::Name(name) => match self.resolve(name, e.span)? {
                Place::Local { reg, .. } => {
                    if reg != dst {
                        self.emit(Instr::Move { a: dst, b: reg });
                    }
                }
                Place::Upval { idx, .. } => {
                    self.emit(Instr::GetUpval { a: dst, u: idx });
                }
                Place::Global { slot } => {
                    self.emit(Instr::GetGlobal { a: dst, g: slot });
                }
            },
            ExprKind::List(items) => {
                let target = if self.is_local_reg(dst) {
                    self.alloc(e.span)?
                } else {
                    dst
                };
                for (n, chunk) in items.chunks(LIST_BATCH).enumerate() {
                    let base = self.mark();
                    for item in chunk {
                        let r = self.alloc(item.span)?;
                        self.expr_to(item, r)?;
                    }
                    self.set_line(e.span);
                    let (b, c) = (base as Reg, chunk.len() as u8);
                    if n == 0 {
                        self.emit(Instr::NewList { a: target, b, c });
                    } else {
                        self.emit(Instr::AppendList { a: target, b, c });
                    }
                    self.free_to(base);
                }
                if items.is_empty() {
                    self.emit(Instr::NewList {
                        a: target,
                        b: 0,
                        c: 0,
                    });
                }
                if target != dst {
                    self.emit(Instr::Move { a: dst, b: target });
                }
            }
            ExprKind::Map(pairs) => {
                let target = if self.is_local_reg(dst) {
                    self.alloc(e.span)?
                } else {
                    dst
                };
                let first = pairs.len().min(MAP_BATCH);
                let base = self.mark();
                for (key, value) in &pairs[..first] {
                    let k = self.alloc(value.span)?;
                    self.map_key(key, k);
                    let v = self.alloc(value.span)?;
                    self.expr_to(value, v)?;
                }
                self.set_line(e.span);
                self.emit(Instr::NewMap {
                    a: target,
                    b: base as Reg,
                    c: first as u8,
                });
                self.free_to(base);
                for (key, value) in &pairs[first..] {
                    let k = self.alloc(value.span)?;
                    self.map_key(key, k);
                    let v = self.alloc(value.span)?;
                    self.expr_to(value, v)?;
                    self.emit(Instr::SetIndex {
                        a: target,
                        b: k,
                        c: v,
                    });
                    self.free_to(base);
                }
                if target != dst {
                    self.emit(Instr::Move { a: dst, b: target });
                }
            }
            ExprKind::Unary(op, operand) => match (op, &operand.kind) {
                (UnOp::Neg, ExprKind::Int(i)) if *i != i64::MIN => self.load_int(dst, -*i),
                (UnOp::Neg, ExprKind::Float(x)) => {
                    let k = self.f().constant(Constant::Float(-*x));
                    self.emit(Instr::LoadK { a: dst, k });
                }
                _ => {
                    let b = self.expr_any(operand)?;
                    self.set_line(e.span);
                    match op {
                        UnOp::Neg => self.emit(Instr::Neg { a: dst, b }),
                        UnOp::Not => self.emit(Instr::Not { a: dst, b }),
                    };
                }
            },
            ExprKind::Binary(op, l, r) => {
                // `x * k + y` with a literal `k` and a local `y`: one MULADDI. The
                // order of evaluation is kept: `y` is read after the product in
                // both forms, and reading a local runs nothing.
                if let (BinOp::Add, ExprKind::Binary(BinOp::Mul, x, k), Some(c)) =
                    (op, &l.kind, self.local_reg(r))
                {
                    if let Some(i) = int_literal_i32(k) {
                        let b = self.expr_any(x)?;
                        self.set_line(e.span);
                        self.emit(Instr::MulAddI { a: dst, b, c, i });
                        self.finish_expr(mark, saved_line);
                        return Ok(());
                    }
                }
                if let ExprKind::Int(i) = r.kind {
                    if let Some((make, imm)) = imm_arith(*op, i) {
                        let b = self.expr_any(l)?;
                        self.set_line(e.span);
                        self.emit(make(dst, b, imm));
                        self.finish_expr(mark, saved_line);
                        return Ok(());
                    }
                }
                let b = self.expr_any(l)?;
                let c = self.expr_any(r)?;
                self.set_line(e.span);
                self.binop(*op, dst, b, c);
            }
            ExprKind::Logic(op, l, r) => {
                let target = if self.is_local_reg(dst) {
                    self.alloc(e.span)?
                } else {
                    dst
                };
                self.expr_to(l, target)?;
                self.set_line(e.span);
                let j = match op {
                    LogicOp::And => self.emit(Instr::JmpIfFalse { a: target, off: 0 }),
                    LogicOp::Or => self.emit(Instr::JmpIfTrue { a: target, off: 0 }),
                };
                self.expr_to(r, target)?;
                self.set_line(e.span);
                self.emit(Instr::CheckBool { a: target });
                self.f().patch_here(j);
                if target != dst {
                    self.emit(Instr::Move { a: dst, b: target });
                }
            }
            ExprKind::Call(callee, args) => {
                // Call in place when `dst` is the topmost register in use: the
                // result then needs no move.
                let f = if dst as u32 + 1 == self.mark() && !self.is_local_reg(dst) {
                    dst
                } else {
                    self.alloc(e.span)?
                };
                if let Some(call) = self.global_call_of_locals(callee, args, f)? {
                    // The window is still reserved: a callee other than an inline
                    // built-in gets its arguments copied there.
                    for arg in args {
                        self.alloc(arg.span)?;
                    }
                    self.set_line(e.span);
                    self.emit(call);
                } else {
                    self.expr_to(callee, f)?;
                    for arg in args {
                        let r = self.alloc(arg.span)?;
                        self.expr_to(arg, r)?;
                    }
                    if args.len() > 200 {
                        return Err(CompileError::new("too many arguments", e.span));
                    }
                    self.set_line(e.span);
                    self.emit(Instr::Call {
                        a: f,
                        b: args.len() as u8,
                    });
                }
                if f != dst {
                    self.emit(Instr::Move { a: dst, b: f });
                }
            }
            ExprKind::Index(obj, key) => {
                let b = self.expr_any(obj)?;
                let c = self.expr_any(key)?;
                self.set_line(e.span);
                self.emit(Instr::GetIndex { a: dst, b, c });
            }
            ExprKind::Field(obj, name) => {
                let b = self.expr_any(obj)?;
                let k = self.const_str(name, e.span)?;
                self.set_line(e.span);
                self.emit(Instr::GetField { a: dst, b, k });
            }
            ExprKind::Func(decl) => self.function(decl, "anonymous", dst)?,
        }
        self.finish_expr(mark, saved_line);
        Ok(())
    }

    /// CALLG1/CALLG2 for a call of a global with one or two local variables as
    /// arguments (`push(s, x)`, `len(s)`): reading locals has no effects and cannot
    /// fail, so reading the global after them, in the same instruction, is not
    /// observable.
    fn global_call_of_locals(
        &mut self,
        callee: &Expr,
        args: &[Expr],
        a: Reg,
    ) -> Result<Option<Instr>, CompileError> {
        let mut regs = [0; 2];
        if args.is_empty() || args.len() > regs.len() {
            return Ok(None);
        }
        for (r, arg) in regs.iter_mut().zip(args) {
            match &arg.kind {
                ExprKind::Name(name) => match self.resolve(name, arg.span)? {
                    Place::Local { reg, .. } => *r = reg,
                    _ => return Ok(None),
                },
                _ => return Ok(None),
            }
        }
        let ExprKind::Name(name) = &callee.kind else {
            return Ok(None);
        };
        let Place::Global { slot: g } = self.resolve(name, callee.span)? else {
            return Ok(None);
        };
        let [b, c] = regs;
        Ok(Some(if args.len() == 1 {
            Instr::CallG1 { a, b, g }
        } else {
            Instr::CallG2 { a, b, c, g }
        }))
    }

    fn finish_expr(&mut self, mark: u32, saved_line: u32) {
        self.free_to(mark);
        self.line = saved_line;
        self.leave();
    }

    fn load_int(&mut self, dst: Reg, i: i64) {
        match i32::try_from(i) {
            Ok(i) => {
                self.emit(Instr::LoadInt { a: dst, i });
            }
            Err(_) => {
                let k = self.f().constant(Constant::Int(i));
                self.emit(Instr::LoadK { a: dst, k });
            }
        }
    }

    fn map_key(&mut self, key: &MapKey, dst: Reg) {
        match key {
            MapKey::Str(s) => {
                let k = self.f().constant(Constant::Str(s.clone()));
                self.emit(Instr::LoadK { a: dst, k });
            }
            MapKey::Int(i) => self.load_int(dst, *i),
            MapKey::Bool(b) => {
                self.emit(Instr::LoadBool { a: dst, b: *b });
            }
        }
    }

    fn interp(&mut self, parts: &[InterpPart], dst: Reg, e: &Expr) -> Result<(), CompileError> {
        let base = self.mark();
        for part in parts {
            let r = self.alloc(e.span)?;
            match part {
                InterpPart::Lit(s) => {
                    let k = self.f().constant(Constant::Str(s.clone()));
                    self.emit(Instr::LoadK { a: r, k });
                }
                InterpPart::Expr(x) => {
                    self.expr_to(x, r)?;
                    self.set_line(x.span);
                    self.emit(Instr::ToStr { a: r, b: r });
                }
            }
        }
        self.set_line(e.span);
        match parts.len() {
            0 => {
                let k = self.f().constant(Constant::Str(String::new()));
                self.emit(Instr::LoadK { a: dst, k });
            }
            1 => {
                self.emit(Instr::Move {
                    a: dst,
                    b: base as Reg,
                });
            }
            n => {
                self.emit(Instr::Concat {
                    a: dst,
                    b: base as Reg,
                    c: n as u8,
                });
            }
        }
        Ok(())
    }

    /// R[dst] := R[b] op R[c].
    pub(super) fn binop(&mut self, op: BinOp, a: Reg, b: Reg, c: Reg) {
        let instr = match op {
            BinOp::Add => Instr::Add { a, b, c },
            BinOp::Sub => Instr::Sub { a, b, c },
            BinOp::Mul => Instr::Mul { a, b, c },
            BinOp::Div => Instr::Div { a, b, c },
            BinOp::FloorDiv => Instr::IDiv { a, b, c },
            BinOp::Mod => Instr::Mod { a, b, c },
            BinOp::Eq => Instr::Eq { a, b, c },
            BinOp::Ne => Instr::Ne { a, b, c },
            BinOp::Lt => Instr::Lt { a, b, c },
            BinOp::Le => Instr::Le { a, b, c },
            BinOp::Gt => Instr::Gt { a, b, c },
            BinOp::Ge => Instr::Ge { a, b, c },
        };
        self.emit(instr);
    }

    /// Compiles a condition; returns the jumps taken when it is false (to be patched
    /// to the else branch or loop exit). Falls through when it is true.
    pub(super) fn cond_false(&mut self, e: &Expr) -> Result<Vec<usize>, CompileError> {
        self.f().compared = None;
        self.enter(e.span)?;
        let saved_line = self.set_line(e.span);
        let mark = self.mark();
        let jumps = match &e.kind {
            ExprKind::Bool(true) => Vec::new(),
            ExprKind::Binary(
                op @ (BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge | BinOp::Eq | BinOp::Ne),
                l,
                r,
            ) => {
                let a = match self.known_value(l) {
                    Some(a) => a,
                    None => self.expr_any(l)?,
                };
                if let ExprKind::Int(i) = r.kind {
                    if let Ok(i) = i16::try_from(i) {
                        self.note_compared(l, a);
                        self.set_line(e.span);
                        let instr = match op {
                            BinOp::Lt => Instr::JmpNotLtI { a, i, off: 0 },
                            BinOp::Le => Instr::JmpNotLeI { a, i, off: 0 },
                            BinOp::Gt => Instr::JmpNotGtI { a, i, off: 0 },
                            BinOp::Ge => Instr::JmpNotGeI { a, i, off: 0 },
                            BinOp::Eq => Instr::JmpNotEqI { a, i, off: 0 },
                            _ => Instr::JmpEqI { a, i, off: 0 },
                        };
                        let j = self.emit(instr);
                        self.finish_expr(mark, saved_line);
                        return Ok(vec![j]);
                    }
                }
                let b = self.expr_any(r)?;
                // (Only when `r` ran nothing that could change what `l` reads.)
                if is_pure(r) {
                    self.note_compared(l, a);
                }
                self.set_line(e.span);
                let instr = match op {
                    BinOp::Lt => Instr::JmpNotLt { a, b, off: 0 },
                    BinOp::Le => Instr::JmpNotLe { a, b, off: 0 },
                    BinOp::Gt => Instr::JmpNotGt { a, b, off: 0 },
                    BinOp::Ge => Instr::JmpNotGe { a, b, off: 0 },
                    BinOp::Eq => Instr::JmpNotEq { a, b, off: 0 },
                    _ => Instr::JmpEq { a, b, off: 0 },
                };
                vec![self.emit(instr)]
            }
            ExprKind::Logic(LogicOp::And, l, r) => {
                let mut jumps = self.cond_false(l)?;
                jumps.extend(self.cond_false(r)?);
                jumps
            }
            ExprKind::Logic(LogicOp::Or, l, r) => {
                let a = self.expr_any(l)?;
                self.set_line(e.span);
                let to_body = self.emit(Instr::JmpIfTrue { a, off: 0 });
                self.free_to(mark);
                let jumps = self.cond_false(r)?;
                self.f().patch_here(to_body);
                jumps
            }
            ExprKind::Unary(UnOp::Not, inner) => {
                let a = self.expr_any(inner)?;
                self.set_line(e.span);
                vec![self.emit(Instr::JmpIfTrue { a, off: 0 })]
            }
            _ => {
                let a = self.expr_any(e)?;
                self.set_line(e.span);
                vec![self.emit(Instr::JmpIfFalse { a, off: 0 })]
            }
        };
        self.finish_expr(mark, saved_line);
        Ok(jumps)
    }
}

type ImmOp = fn(Reg, Reg, i32) -> Instr;

/// Whether `a` and `b` are the same side-effect-free computation (literals, names,
/// arithmetic and negation of those), spans aside. Computed twice with nothing run
/// in between, such an expression gives the same value.
fn same_pure_value(a: &Expr, b: &Expr) -> bool {
    match (&a.kind, &b.kind) {
        (ExprKind::Int(x), ExprKind::Int(y)) => x == y,
        (ExprKind::Float(x), ExprKind::Float(y)) => x.to_bits() == y.to_bits(),
        (ExprKind::Name(x), ExprKind::Name(y)) => x == y,
        (ExprKind::Unary(UnOp::Neg, x), ExprKind::Unary(UnOp::Neg, y)) => same_pure_value(x, y),
        (ExprKind::Binary(o, l1, r1), ExprKind::Binary(p, l2, r2)) => {
            o == p
                && matches!(
                    o,
                    BinOp::Add
                        | BinOp::Sub
                        | BinOp::Mul
                        | BinOp::Div
                        | BinOp::FloorDiv
                        | BinOp::Mod
                )
                && same_pure_value(l1, l2)
                && same_pure_value(r1, r2)
        }
        _ => false,
    }
}

/// Whether `e` is a side-effect-free computation (see `same_pure_value`).
fn is_pure(e: &Expr) -> bool {
    same_pure_value(e, e)
}

/// The value of an Int literal that fits an `i32` immediate.
fn int_literal_i32(e: &Expr) -> Option<i32> {
    match e.kind {
        ExprKind::Int(i) => i32::try_from(i).ok(),
        _ => None,
    }
}

/// The immediate form of `R[b] op i` (a constructor and the immediate), when there
/// is one and `i` fits. Subtraction becomes `ADDI` of the negation.
pub(super) fn imm_arith(op: BinOp, i: i64) -> Option<(ImmOp, i32)> {
    let make: ImmOp = match op {
        BinOp::Add | BinOp::Sub => |a, b, i| Instr::AddI { a, b, i },
        BinOp::Mul => |a, b, i| Instr::MulI { a, b, i },
        BinOp::Mod => |a, b, i| Instr::ModI { a, b, i },
        BinOp::FloorDiv => |a, b, i| Instr::IDivI { a, b, i },
        _ => return None,
    };
    let i = if op == BinOp::Sub {
        i.checked_neg()?
    } else {
        i
    };
    Some((make, i32::try_from(i).ok()?))
}
