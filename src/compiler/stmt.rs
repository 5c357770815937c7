//! Statement compilation: declarations, assignment, blocks, branches, loops,
//! try/catch and returns.

use super::emit::{type_tag, Place};
use super::expr::imm_arith;
use super::func::LoopCtx;
use super::{Compiler, GlobalKind, Options};
use crate::ast::{Expr, ExprKind, Span, Stmt, StmtKind};
use crate::bytecode::{Instr, Reg};
use crate::diagnostics::CompileError;

impl Compiler<'_> {
    /// The main function of a chunk: hoisted top-level functions, then the statements.
    pub(super) fn script(&mut self, stmts: &[Stmt], options: Options) -> Result<(), CompileError> {
        for s in stmts {
            if let StmtKind::Fn(decl) = &s.kind {
                let name = decl.name.as_deref().unwrap_or("anonymous");
                self.set_line(s.span);
                let slot = self.globals.declare(name, false);
                let r = self.alloc(s.span)?;
                self.function(decl, name, r)?;
                self.emit(Instr::SetGlobal { a: r, g: slot });
                self.free_to(r as u32);
            }
        }
        let (body, last) = match stmts.split_last() {
            Some((last, body)) if options.return_last_expr => match &last.kind {
                StmtKind::Expr(e) => (body, Some(e)),
                _ => (stmts, None),
            },
            _ => (stmts, None),
        };
        for s in body {
            self.stmt(s)?;
        }
        match last {
            Some(e) => {
                self.set_line(e.span);
                let r = self.alloc(e.span)?;
                self.expr_to(e, r)?;
                self.emit(Instr::Return { a: r });
            }
            None => {
                self.emit(Instr::Return0);
            }
        }
        Ok(())
    }

    /// Statements of a function body (its scope is already open).
    pub(super) fn block_body(&mut self, stmts: &[Stmt]) -> Result<(), CompileError> {
        for s in stmts {
            self.stmt(s)?;
        }
        Ok(())
    }

    fn block(&mut self, stmts: &[Stmt]) -> Result<(), CompileError> {
        self.begin_scope();
        for s in stmts {
            self.stmt(s)?;
        }
        self.end_scope();
        Ok(())
    }

    fn stmt(&mut self, s: &Stmt) -> Result<(), CompileError> {
        self.enter(s.span)?;
        self.set_line(s.span);
        let mark = self.mark();
        match &s.kind {
            StmtKind::Let {
                mutable,
                name,
                name_span,
                ty,
                init,
            } => self.let_stmt(*mutable, name, *name_span, ty.as_ref(), init)?,
            StmtKind::Fn(decl) => {
                // Top-level functions were hoisted by `script`.
                if !self.is_top_level() {
                    let name = decl.name.as_deref().unwrap_or("anonymous");
                    let r = self.alloc(s.span)?;
                    // Declared first, so the body can call itself.
                    self.declare_local(name, r, false);
                    self.function(decl, name, r)?;
                }
            }
            StmtKind::Assign { target, op, value } => self.assign(target, *op, value)?,
            StmtKind::Expr(e) => {
                let r = self.alloc(e.span)?;
                self.expr_to(e, r)?;
                self.free_to(mark);
            }
            StmtKind::Block(body) => self.block(body)?,
            StmtKind::If {
                cond,
                then,
                otherwise,
            } => {
                let to_else = self.cond_false(cond)?;
                let compared = self.f().compared.take();
                self.block(then)?;
                match otherwise {
                    Some(other) => {
                        let to_end = self.emit(Instr::Jmp { off: 0 });
                        let single = to_else.len() == 1;
                        for j in to_else {
                            self.f().patch_here(j);
                        }
                        // An `else if` comparing the same value may take it from
                        // the register the first comparison left it in.
                        if let (true, Some((expr, reg))) = (single, compared) {
                            let at = self.f().here();
                            self.f().known = Some((at, expr, reg));
                        }
                        match &other.kind {
                            StmtKind::Block(b) => self.block(b)?,
                            _ => self.stmt(other)?,
                        }
                        self.f().patch_here(to_end);
                    }
                    None => {
                        for j in to_else {
                            self.f().patch_here(j);
                        }
                    }
                }
            }
            StmtKind::While { cond, body } => {
                let start = self.f().here();
                let exits = self.cond_false(cond)?;
                self.loop_body(body, |_| {})?;
                let (breaks, continues) = self.pop_loop();
                let back = self.emit(Instr::Jmp { off: 0 });
                self.f().patch(back, start);
                for j in continues {
                    self.f().patch(j, start);
                }
                for j in exits.into_iter().chain(breaks) {
                    self.f().patch_here(j);
                }
            }
            StmtKind::ForRange {
                var,
                start,
                end,
                inclusive,
                body,
                ..
            } => {
                // The counter is the loop variable: the variable cannot be
                // assigned, so no copy of the counter needs to be kept apart from
                // it (a closure capturing it gets this round's value when the
                // body's scope closes, before FORLOOP steps the counter).
                let base = self.alloc(s.span)?;
                self.alloc(s.span)?;
                let var_reg = base;
                self.expr_to(start, base)?;
                self.expr_to(end, base + 1)?;
                self.set_line(s.span);
                let prep = self.emit(Instr::ForPrep {
                    a: base,
                    inclusive: *inclusive,
                    off: 0,
                });
                let top = self.f().here();
                self.loop_body(body, |c| c.declare_local(var, var_reg, false))?;
                let (breaks, continues) = self.pop_loop();
                let step = self.f().here();
                for j in continues {
                    self.f().patch(j, step);
                }
                self.set_line(s.span);
                let back = self.emit(Instr::ForLoop { a: base, off: 0 });
                self.f().patch(back, top);
                self.f().patch_here(prep);
                for j in breaks {
                    self.f().patch_here(j);
                }
                self.free_to(mark);
            }
            StmtKind::ForIn {
                var, iter, body, ..
            } => {
                let base = self.alloc(s.span)?;
                self.alloc(s.span)?;
                self.alloc(s.span)?;
                let var_reg = self.alloc(s.span)?;
                self.expr_to(iter, base)?;
                self.set_line(s.span);
                self.emit(Instr::IterPrep { a: base });
                let top = self.emit(Instr::IterNext { a: base, off: 0 });
                self.loop_body(body, |c| c.declare_local(var, var_reg, false))?;
                let (breaks, continues) = self.pop_loop();
                for j in continues {
                    self.f().patch(j, top);
                }
                let back = self.emit(Instr::Jmp { off: 0 });
                self.f().patch(back, top);
                self.f().patch_here(top);
                for j in breaks {
                    self.f().patch_here(j);
                }
                self.free_to(mark);
            }
            StmtKind::Break | StmtKind::Continue => {
                let is_break = matches!(s.kind, StmtKind::Break);
                let Some(ctx) = self.fr().loops.last() else {
                    let word = if is_break { "break" } else { "continue" };
                    return Err(CompileError::new(
                        format!("'{word}' outside of a loop"),
                        s.span,
                    ));
                };
                let (depth, tries) = (ctx.depth, ctx.tries);
                for _ in tries..self.fr().tries {
                    self.emit(Instr::TryEnd);
                }
                if let Some(reg) = self.captured_above(depth) {
                    self.emit(Instr::Close { a: reg });
                }
                let j = self.emit(Instr::Jmp { off: 0 });
                let ctx = self.f().loops.last_mut().expect("checked above");
                if is_break {
                    ctx.breaks.push(j);
                } else {
                    ctx.continues.push(j);
                }
            }
            StmtKind::Return(value) => {
                if self.fr().is_script {
                    return Err(CompileError::new("'return' outside of a function", s.span));
                }
                match value {
                    None => self.return_nil(s.span)?,
                    Some(e) => {
                        let r = self.expr_any(e)?;
                        self.return_reg(r, s.span)?;
                    }
                }
            }
            StmtKind::Try {
                body, var, handler, ..
            } => {
                let err = self.alloc(s.span)?;
                let begin = self.emit(Instr::TryBegin { a: err, off: 0 });
                self.f().tries += 1;
                self.block(body)?;
                self.f().tries -= 1;
                self.emit(Instr::TryEnd);
                let to_end = self.emit(Instr::Jmp { off: 0 });
                self.f().patch_here(begin);
                self.begin_scope();
                self.declare_local(var, err, false);
                for st in handler {
                    self.stmt(st)?;
                }
                self.end_scope();
                self.f().patch_here(to_end);
            }
        }
        self.free_to(mark.max(self.live_locals_top()));
        self.leave();
        Ok(())
    }

    /// The register above the last live local (temporaries start here).
    fn live_locals_top(&self) -> u32 {
        self.fr().locals.last().map_or(0, |l| l.reg as u32 + 1)
    }

    /// A loop body in its own scope; `declare` names the loop variable.
    fn loop_body(
        &mut self,
        body: &[Stmt],
        declare: impl FnOnce(&mut Self),
    ) -> Result<(), CompileError> {
        let depth = self.fr().scope_depth;
        let tries = self.fr().tries;
        self.f().loops.push(LoopCtx {
            breaks: Vec::new(),
            continues: Vec::new(),
            depth,
            tries,
        });
        self.begin_scope();
        declare(self);
        for s in body {
            self.stmt(s)?;
        }
        // `continue` lands after the body's own statements, where the scope closes.
        let here = self.f().here();
        let continues =
            std::mem::take(&mut self.f().loops.last_mut().expect("pushed above").continues);
        for j in continues {
            self.f().patch(j, here);
        }
        self.end_scope();
        Ok(())
    }

    fn pop_loop(&mut self) -> (Vec<usize>, Vec<usize>) {
        let ctx = self.f().loops.pop().expect("loop_body pushed it");
        (ctx.breaks, ctx.continues)
    }

    fn let_stmt(
        &mut self,
        mutable: bool,
        name: &str,
        name_span: Span,
        ty: Option<&crate::ast::TypeAnn>,
        init: &Expr,
    ) -> Result<(), CompileError> {
        let ty = match ty {
            Some(t) => Some(type_tag(t)?),
            None => None,
        };
        let r = self.alloc(init.span)?;
        self.named_expr_to(init, name, r)?;
        if let Some(ty) = ty {
            self.set_line(name_span);
            self.check_type(r, ty, &format!("variable '{name}'"), name_span)?;
        }
        if self.is_top_level() {
            let slot = self.globals.declare(name, mutable);
            self.emit(Instr::SetGlobal { a: r, g: slot });
            self.free_to(r as u32);
        } else {
            self.declare_local(name, r, mutable);
        }
        Ok(())
    }

    /// Compiles `e` into `dst`; an anonymous function gets `name`.
    fn named_expr_to(&mut self, e: &Expr, name: &str, dst: u8) -> Result<(), CompileError> {
        match &e.kind {
            ExprKind::Func(decl) => self.function(decl, name, dst),
            _ => self.expr_to(e, dst),
        }
    }

    fn assign(
        &mut self,
        target: &Expr,
        op: Option<crate::ast::BinOp>,
        value: &Expr,
    ) -> Result<(), CompileError> {
        match &target.kind {
            ExprKind::Name(name) => {
                let place = self.resolve(name, target.span)?;
                let immutable = || {
                    CompileError::new(
                        format!("cannot assign to immutable variable '{name}'"),
                        target.span,
                    )
                };
                match place {
                    Place::Local { reg, mutable } => {
                        if !mutable {
                            return Err(immutable());
                        }
                        match op {
                            None => self.expr_to(value, reg)?,
                            Some(op) => self.compound(op, reg, value, target.span)?,
                        }
                    }
                    Place::Upval { idx, mutable } => {
                        if !mutable {
                            return Err(immutable());
                        }
                        self.assign_indirect(
                            op,
                            value,
                            target.span,
                            |a| Instr::GetUpval { a, u: idx },
                            |a| Instr::SetUpval { a, u: idx },
                        )?;
                    }
                    Place::Global { slot } => {
                        match self.globals.kind(name) {
                            Some(GlobalKind::State) => {}
                            Some(GlobalKind::Let) => return Err(immutable()),
                            _ => {
                                return Err(CompileError::new(
                                    format!("undefined variable '{name}'"),
                                    target.span,
                                ))
                            }
                        }
                        self.assign_indirect(
                            op,
                            value,
                            target.span,
                            |a| Instr::GetGlobal { a, g: slot },
                            |a| Instr::SetGlobal { a, g: slot },
                        )?;
                    }
                }
            }
            ExprKind::Index(obj, key) => {
                let o = self.expr_any(obj)?;
                let k = self.expr_any(key)?;
                let v = self.alloc(value.span)?;
                if let Some(op) = op {
                    self.set_line(target.span);
                    self.emit(Instr::GetIndex { a: v, b: o, c: k });
                    let rhs = self.expr_any(value)?;
                    self.set_line(target.span.to(value.span));
                    self.binop(op, v, v, rhs);
                } else {
                    self.expr_to(value, v)?;
                }
                self.set_line(target.span);
                self.emit(Instr::SetIndex { a: o, b: k, c: v });
            }
            ExprKind::Field(obj, field) => {
                let o = self.expr_any(obj)?;
                let k = self.const_str(field, target.span)?;
                let v = self.alloc(value.span)?;
                if let Some(op) = op {
                    self.set_line(target.span);
                    self.emit(Instr::GetField { a: v, b: o, k });
                    let rhs = self.expr_any(value)?;
                    self.set_line(target.span.to(value.span));
                    self.binop(op, v, v, rhs);
                } else {
                    self.expr_to(value, v)?;
                }
                self.set_line(target.span);
                self.emit(Instr::SetField { a: o, k, c: v });
            }
            _ => return Err(CompileError::new("invalid assignment target", target.span)),
        }
        Ok(())
    }

    /// `name (op)= value` for a variable that instructions read and write (a
    /// captured variable or a global), through a temporary register.
    fn assign_indirect(
        &mut self,
        op: Option<crate::ast::BinOp>,
        value: &Expr,
        target: Span,
        get: impl Fn(Reg) -> Instr,
        set: impl Fn(Reg) -> Instr,
    ) -> Result<(), CompileError> {
        let r = self.alloc(value.span)?;
        if let Some(op) = op {
            self.emit(get(r));
            self.compound(op, r, value, target)?;
        } else {
            self.expr_to(value, r)?;
        }
        self.emit(set(r));
        Ok(())
    }

    /// `reg = reg op value` for a compound assignment: a literal operand as an
    /// immediate (`x += 1` is one ADDI), anything else evaluated into a register.
    fn compound(
        &mut self,
        op: crate::ast::BinOp,
        reg: Reg,
        value: &Expr,
        target: Span,
    ) -> Result<(), CompileError> {
        let imm = match value.kind {
            ExprKind::Int(i) => imm_arith(op, i),
            _ => None,
        };
        if let Some((make, i)) = imm {
            self.set_line(target.to(value.span));
            self.emit(make(reg, reg, i));
        } else {
            let v = self.expr_any(value)?;
            self.set_line(target.to(value.span));
            self.binop(op, reg, reg, v);
        }
        Ok(())
    }
}
