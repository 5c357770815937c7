//! Helpers shared by statement and expression compilation: emitting with the current
//! line, registers, scopes, name resolution and nested functions.

use super::func::{FuncState, Local};
use super::Compiler;
use crate::ast::{FnDecl, Span};
use crate::bytecode::{Capture, Constant, Instr, Reg, TypeTag};
use crate::diagnostics::CompileError;

/// Where a name lives.
pub(super) enum Place {
    Local { reg: Reg, mutable: bool },
    Upval { idx: u8, mutable: bool },
    Global { slot: u32 },
}

impl Compiler<'_> {
    pub(super) fn emit(&mut self, instr: Instr) -> usize {
        let line = self.line;
        self.f().emit(instr, line)
    }

    pub(super) fn alloc(&mut self, span: Span) -> Result<Reg, CompileError> {
        self.f()
            .alloc()
            .ok_or_else(|| CompileError::new("function uses too many registers", span))
    }

    /// Frees every register from `mark` up.
    pub(super) fn free_to(&mut self, mark: u32) {
        self.f().next_reg = mark;
    }

    pub(super) fn mark(&self) -> u32 {
        self.fr().next_reg
    }

    pub(super) fn const_str(&mut self, s: &str, span: Span) -> Result<u16, CompileError> {
        let k = self.f().constant(Constant::Str(s.to_string()));
        u16::try_from(k).map_err(|_| CompileError::new("too many constants in one function", span))
    }

    pub(super) fn begin_scope(&mut self) {
        self.f().scope_depth += 1;
    }

    /// Leaves a scope: its locals die and their registers are freed; captured ones
    /// are closed first.
    pub(super) fn end_scope(&mut self) {
        let f = self.f();
        let depth = f.scope_depth;
        f.scope_depth -= 1;
        let first = f.locals.iter().position(|l| l.depth >= depth);
        if let Some(first) = first {
            let captured = f.locals[first..].iter().any(|l| l.captured);
            let reg = f.locals[first].reg;
            f.locals.truncate(first);
            if captured {
                self.emit(Instr::Close { a: reg });
            }
            self.free_to(reg as u32);
        }
    }

    /// Whether any local deeper than `depth` is captured (so a jump out of those
    /// scopes must close them), and the lowest such register.
    pub(super) fn captured_above(&self, depth: u32) -> Option<Reg> {
        let f = self.fr();
        let first = f.locals.iter().position(|l| l.depth > depth)?;
        if f.locals[first..].iter().any(|l| l.captured) {
            Some(f.locals[first].reg)
        } else {
            None
        }
    }

    /// Names register `reg` as a local of the current scope.
    pub(super) fn declare_local(&mut self, name: &str, reg: Reg, mutable: bool) {
        let f = self.f();
        let depth = f.scope_depth;
        f.locals.push(Local {
            name: name.to_string(),
            reg,
            mutable,
            depth,
            captured: false,
        });
    }

    /// Resolves a name: local of this function, capture from an enclosing one,
    /// or a global.
    pub(super) fn resolve(&mut self, name: &str, span: Span) -> Result<Place, CompileError> {
        let top = self.funcs.len() - 1;
        if let Some(i) = self.funcs[top].resolve_local(name) {
            let l = &self.funcs[top].locals[i];
            return Ok(Place::Local {
                reg: l.reg,
                mutable: l.mutable,
            });
        }
        if let Some((idx, mutable)) = self.resolve_capture(top, name, span)? {
            return Ok(Place::Upval { idx, mutable });
        }
        Ok(Place::Global {
            slot: self.globals.slot(name),
        })
    }

    /// Finds `name` as a local of an enclosing function of `funcs[level]` and threads
    /// a capture through every function in between.
    fn resolve_capture(
        &mut self,
        level: usize,
        name: &str,
        span: Span,
    ) -> Result<Option<(u8, bool)>, CompileError> {
        if let Some(i) = self.funcs[level].resolve_upval(name) {
            let u = &self.funcs[level].upvals[i];
            return Ok(Some((i as u8, u.mutable)));
        }
        if level == 0 {
            return Ok(None);
        }
        let parent = level - 1;
        let found = if let Some(i) = self.funcs[parent].resolve_local(name) {
            let l = &mut self.funcs[parent].locals[i];
            l.captured = true;
            Some((Capture::Local(l.reg), l.mutable))
        } else {
            self.resolve_capture(parent, name, span)?
                .map(|(idx, mutable)| (Capture::Upvalue(idx), mutable))
        };
        match found {
            None => Ok(None),
            Some((capture, mutable)) => {
                let idx = self.funcs[level]
                    .add_upval(name, capture, mutable)
                    .ok_or_else(|| CompileError::new("too many captured variables", span))?;
                Ok(Some((idx, mutable)))
            }
        }
    }

    /// Emits a type check of register `reg` against an annotation.
    pub(super) fn check_type(
        &mut self,
        reg: Reg,
        ty: TypeTag,
        what: &str,
        span: Span,
    ) -> Result<(), CompileError> {
        if ty != TypeTag::Any {
            let k = self.const_str(what, span)?;
            self.emit(Instr::CheckType { a: reg, t: ty, k });
        }
        Ok(())
    }

    /// Compiles a function body into a nested prototype and emits the closure into
    /// `dst`. `name` is the name it prints with.
    pub(super) fn function(
        &mut self,
        decl: &FnDecl,
        name: &str,
        dst: Reg,
    ) -> Result<(), CompileError> {
        let ret = match &decl.ret {
            Some(t) => Some(type_tag(t)?),
            None => None,
        };
        let mut params = Vec::with_capacity(decl.params.len());
        for p in &decl.params {
            let ty = match &p.ty {
                Some(t) => Some(type_tag(t)?),
                None => None,
            };
            params.push(ty);
        }
        if decl.params.len() > 200 {
            return Err(CompileError::new("too many parameters", decl.span));
        }
        // The .velac format bounds nesting; the compiler's output must always fit.
        if self.funcs.len() > crate::bytecode::format::MAX_NESTING {
            return Err(CompileError::new("functions nested too deeply", decl.span));
        }
        let saved_line = self.set_line(decl.span);
        self.funcs.push(FuncState::new(name.to_string(), false));
        self.f().proto.arity = decl.params.len() as u8;
        self.f().scope_depth = 1;
        for (i, p) in decl.params.iter().enumerate() {
            if decl.params[..i].iter().any(|q| q.name == p.name) {
                return Err(CompileError::new(
                    format!("duplicate parameter '{}'", p.name),
                    p.span,
                ));
            }
            let reg = self.alloc(p.span)?;
            self.declare_local(&p.name, reg, false);
        }
        for (i, (p, ty)) in decl.params.iter().zip(&params).enumerate() {
            if let Some(ty) = ty {
                let what = format!("parameter '{}' of {}", p.name, name);
                self.check_type(i as Reg, *ty, &what, p.span)?;
            }
        }
        self.f().ret_type = ret;
        self.block_body(&decl.body)?;
        // Falling off the end returns nil (checked against the return type).
        let end_line = self.lines.line(decl.span.end.saturating_sub(1));
        self.line = end_line;
        self.return_nil(decl.span)?;
        let proto = self.funcs.pop().map(FuncState::finish).unwrap_or_default();
        let f = self.f();
        let idx = f.proto.protos.len() as u32;
        f.proto.protos.push(proto);
        self.line = saved_line;
        self.emit(Instr::Closure { a: dst, f: idx });
        Ok(())
    }

    /// `return` with no value, honouring a declared return type.
    pub(super) fn return_nil(&mut self, span: Span) -> Result<(), CompileError> {
        match self.fr().ret_type {
            Some(ty) if !matches!(ty, TypeTag::Any | TypeTag::Nil) => {
                let r = self.alloc(span)?;
                self.emit(Instr::LoadNil { a: r });
                self.return_reg(r, span)?;
                self.free_to(r as u32);
            }
            _ => {
                self.emit(Instr::Return0);
            }
        }
        Ok(())
    }

    /// `return R[reg]`, checking the declared return type.
    pub(super) fn return_reg(&mut self, reg: Reg, span: Span) -> Result<(), CompileError> {
        if let Some(ty) = self.fr().ret_type {
            let what = format!("return value of {}", self.fr().proto.name);
            self.check_type(reg, ty, &what, span)?;
        }
        self.emit(Instr::Return { a: reg });
        Ok(())
    }
}

pub(super) fn type_tag(t: &crate::ast::TypeAnn) -> Result<TypeTag, CompileError> {
    TypeTag::from_name(&t.name)
        .ok_or_else(|| CompileError::new(format!("unknown type '{}'", t.name), t.span))
}
