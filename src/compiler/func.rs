//! Per-function compile state: locals and their registers, scopes, captures,
//! loops, the constant pool and the code being emitted.

use crate::ast::Expr;
use crate::bytecode::{Capture, Constant, FnProto, Instr, Reg, TypeTag};
use std::collections::HashMap;

pub(super) struct Local {
    pub name: String,
    pub reg: Reg,
    pub mutable: bool,
    pub depth: u32,
    /// A closure captures it: leaving its scope must close it.
    pub captured: bool,
}

pub(super) struct Upval {
    pub name: String,
    pub capture: Capture,
    pub mutable: bool,
}

pub(super) struct LoopCtx {
    /// Jumps to patch to the loop's exit.
    pub breaks: Vec<usize>,
    /// Jumps to patch to the loop's continue point.
    pub continues: Vec<usize>,
    /// Scope depth outside the loop body; locals deeper than it die at `break`.
    pub depth: u32,
    /// try blocks open when the loop began (break/continue leave the inner ones).
    pub tries: u32,
}

#[derive(Hash, PartialEq, Eq)]
enum ConstKey {
    Int(i64),
    Float(u64),
    Str(String),
}

pub(super) struct FuncState {
    pub proto: FnProto,
    pub locals: Vec<Local>,
    pub upvals: Vec<Upval>,
    pub scope_depth: u32,
    /// The first free register; everything below is a local or a live temporary.
    pub next_reg: u32,
    pub loops: Vec<LoopCtx>,
    /// try blocks currently open in this function.
    pub tries: u32,
    pub is_script: bool,
    /// The declared return type, checked at every return.
    pub ret_type: Option<TypeTag>,
    consts: HashMap<ConstKey, u32>,
    /// The last position taken as a jump target (every target comes from `here`):
    /// `emit` may drop a redundant instruction only where no jump can land.
    label: std::cell::Cell<usize>,
    /// Set by `cond_false` for a comparison that is one conditional jump: the
    /// left operand, a side-effect-free computation, and the temporary register
    /// holding its value when the jump is taken.
    pub compared: Option<(Expr, Reg)>,
    /// Where an `else if` condition may reuse that value: at this position (the
    /// start of the `else`, reached only by that jump, so the register still
    /// holds it).
    pub known: Option<(usize, Expr, Reg)>,
}

/// Registers a window may use (operands are u8).
pub(super) const MAX_REGS: u32 = 250;

impl FuncState {
    pub fn new(name: String, is_script: bool) -> FuncState {
        FuncState {
            proto: FnProto {
                name,
                ..FnProto::default()
            },
            locals: Vec::new(),
            upvals: Vec::new(),
            scope_depth: 0,
            next_reg: 0,
            loops: Vec::new(),
            tries: 0,
            is_script,
            ret_type: None,
            consts: HashMap::new(),
            label: std::cell::Cell::new(0),
            compared: None,
            known: None,
        }
    }

    pub fn finish(mut self) -> FnProto {
        self.proto.captures = self.upvals.iter().map(|u| u.capture).collect();
        thread_jumps(&mut self.proto.code);
        copy_loop_ends(&mut self.proto.code, &mut self.proto.lines);
        fuse_remainder_tests(&mut self.proto.code, &mut self.proto.lines);
        self.proto
    }

    pub fn emit(&mut self, instr: Instr, line: u32) -> usize {
        if self.reloads_stored_value(&instr) {
            return self.proto.code.len() - 1;
        }
        if let Some(fused) = self.fuse_with_last(&instr) {
            if self.fuse_sum_rotation(fused) {
                return self.proto.code.len() - 1;
            }
            let last = self.proto.code.len() - 1;
            self.proto.code[last] = fused;
            return last;
        }
        self.proto.code.push(instr);
        self.proto.lines.push(line);
        self.proto.code.len() - 1
    }

    /// The position of the next instruction, as a jump target.
    pub fn here(&self) -> usize {
        self.label.set(self.proto.code.len());
        self.proto.code.len()
    }

    /// Whether `instr` reads back the variable the previous instruction just
    /// stored from the same register (`count += step` then `return count`), so the
    /// register already holds it and `instr` can be left out: nothing runs between
    /// the two, and no jump lands on `instr`.
    fn reloads_stored_value(&self, instr: &Instr) -> bool {
        if self.label.get() == self.proto.code.len() {
            return false;
        }
        match (self.proto.code.last(), instr) {
            (Some(&Instr::SetUpval { a, u }), &Instr::GetUpval { a: ra, u: ru }) => {
                a == ra && u == ru
            }
            (Some(&Instr::SetGlobal { a, g }), &Instr::GetGlobal { a: ra, g: rg }) => {
                a == ra && g == rg
            }
            _ => false,
        }
    }

    /// The one instruction doing what the previous instruction and `instr` do in
    /// turn, where there is one and no jump lands on `instr`: two MOVEs become a
    /// MOVE2 (`a, b = b, t`-style shuffles and a call's arguments).
    fn fuse_with_last(&self, instr: &Instr) -> Option<Instr> {
        if self.label.get() == self.proto.code.len() {
            return None;
        }
        match (self.proto.code.last(), instr) {
            (Some(&Instr::Move { a, b }), &Instr::Move { a: c, b: d }) => {
                Some(Instr::Move2 { a, b, c, d })
            }
            _ => None,
        }
    }

    /// An ADD into a temporary right before the MOVE2 that `fused` replaces the
    /// last instruction with, where the MOVE2's second move reads that temporary
    /// and no jump lands on the MOVE2: the three become one ADDMOVE2.
    fn fuse_sum_rotation(&mut self, fused: Instr) -> bool {
        let len = self.proto.code.len();
        let Instr::Move2 {
            a: d,
            b: e,
            c: f,
            d: src,
        } = fused
        else {
            return false;
        };
        if len < 2 || self.label.get() >= len - 1 {
            return false;
        }
        let Instr::Add { a, b, c } = self.proto.code[len - 2] else {
            return false;
        };
        if src != a || d == a {
            return false;
        }
        self.proto.code.truncate(len - 1);
        self.proto.lines.truncate(len - 1);
        self.proto.code[len - 2] = Instr::AddMove2 { a, b, c, d, e, f };
        true
    }

    /// Points the jump at `at` to `target`.
    pub fn patch(&mut self, at: usize, target: usize) {
        let rel = target as i64 - (at as i64 + 1);
        let rel = rel as i32;
        match self.proto.code[at].jump_mut() {
            Some(off) => *off = rel,
            None => unreachable!("patching a non-jump {:?}", self.proto.code[at]),
        }
    }

    pub fn patch_here(&mut self, at: usize) {
        let here = self.here();
        self.patch(at, here);
    }

    /// Adds a constant (deduplicated) and returns its index.
    pub fn constant(&mut self, c: Constant) -> u32 {
        let key = match &c {
            Constant::Int(i) => ConstKey::Int(*i),
            Constant::Float(f) => ConstKey::Float(f.to_bits()),
            Constant::Str(s) => ConstKey::Str(s.clone()),
        };
        if let Some(&k) = self.consts.get(&key) {
            return k;
        }
        let k = self.proto.consts.len() as u32;
        self.proto.consts.push(c);
        self.consts.insert(key, k);
        k
    }

    /// Allocates the next register; `None` when the window is full.
    pub fn alloc(&mut self) -> Option<Reg> {
        if self.next_reg >= MAX_REGS {
            return None;
        }
        let r = self.next_reg as Reg;
        self.next_reg += 1;
        self.proto.num_regs = self.proto.num_regs.max(self.next_reg as u8);
        Some(r)
    }

    /// The register of the innermost local named `name`.
    pub fn resolve_local(&self, name: &str) -> Option<usize> {
        self.locals.iter().rposition(|l| l.name == name)
    }

    pub fn resolve_upval(&self, name: &str) -> Option<usize> {
        self.upvals.iter().position(|u| u.name == name)
    }

    pub fn add_upval(&mut self, name: &str, capture: Capture, mutable: bool) -> Option<u8> {
        if let Some(i) = self
            .upvals
            .iter()
            .position(|u| u.capture == capture && u.name == name)
        {
            return Some(i as u8);
        }
        if self.upvals.len() >= 255 {
            return None;
        }
        self.upvals.push(Upval {
            name: name.to_string(),
            capture,
            mutable,
        });
        Some((self.upvals.len() - 1) as u8)
    }
}

/// Jump threading: an unconditional jump to another jump goes straight to the final
/// target, and a jump to a return becomes that return, saving dispatches. (A jump to
/// a `FORLOOP` needs an exit jump after its copy, which moves code: that is
/// `copy_loop_ends`.)
fn thread_jumps(code: &mut [Instr]) {
    let target = |pc: usize, off: i32| (pc as i64 + 1 + off as i64) as usize;
    for pc in 0..code.len() {
        let Instr::Jmp { off } = code[pc] else {
            continue;
        };
        let mut dest = target(pc, off);
        // Follow chains of plain jumps (bounded, in case of a cycle).
        for _ in 0..16 {
            match code.get(dest) {
                Some(Instr::Jmp { off }) if target(dest, *off) != dest => dest = target(dest, *off),
                _ => break,
            }
        }
        let rel = |abs: usize| (abs as i64 - (pc as i64 + 1)) as i32;
        code[pc] = match code.get(dest) {
            Some(&r @ (Instr::Return { .. } | Instr::Return0)) => r,
            _ => Instr::Jmp { off: rel(dest) },
        };
    }
}

/// A forward `JMP` to a numeric loop's `FORLOOP` (the end of an `if` branch that
/// ends the body, a `continue`) becomes a copy of that `FORLOOP`, which jumps back
/// to the body itself, followed by a `JMP` past the original for when the loop
/// ends: a round through that branch saves a dispatch.
fn copy_loop_ends(code: &mut Vec<Instr>, lines: &mut Vec<u32>) {
    let snapshot = code.clone();
    rewrite(code, lines, |pc, ins| {
        let Instr::Jmp { off } = *ins else {
            return None;
        };
        let end = jump_target(pc, off);
        let copy @ Instr::ForLoop { off: back, .. } = *snapshot.get(end)? else {
            return None;
        };
        (off >= 0).then(|| {
            vec![
                (copy, Some(jump_target(end, back)), Some(end)),
                (Instr::Jmp { off: 0 }, Some(end + 1), Some(end)),
            ]
        })
    });
}

/// A `MODI` into a temporary followed by a `JMPNOTEQI` on it (`if x % k == c {`)
/// becomes one `JMPMODNOTEQI`, when no jump lands on the `JMPNOTEQI` and the
/// operands fit its fields: `1 <= k <= 65535`, `c` an `i8`, and the distance an
/// `i16` (the code only moves closer, so the old distance bounds the new one).
fn fuse_remainder_tests(code: &mut Vec<Instr>, lines: &mut Vec<u32>) {
    let mut landed_on = vec![false; code.len() + 1];
    for (pc, ins) in code.iter().enumerate() {
        if let Some(off) = ins.jump() {
            if let Some(t) = landed_on.get_mut(jump_target(pc, off)) {
                *t = true;
            }
        }
    }
    let snapshot = code.clone();
    rewrite(code, lines, |pc, ins| {
        if pc > 0 && fusable(&snapshot[pc - 1..=pc], pc, landed_on[pc]).is_some() {
            return Some(Vec::new());
        }
        let (k, c, target) = fusable(snapshot.get(pc..=pc + 1)?, pc + 1, landed_on[pc + 1])?;
        let Instr::ModI { a, b, .. } = *ins else {
            return None;
        };
        let fused = Instr::JmpModNotEqI { a, b, c, k, off: 0 };
        Some(vec![(fused, Some(target), None)])
    });
}

/// For `[MODI, JMPNOTEQI]` (the second at `second`) that can become one
/// `JMPMODNOTEQI`: its divisor, comparand and the old position the jump lands on.
fn fusable(pair: &[Instr], second: usize, landed_on: bool) -> Option<(u16, i8, usize)> {
    let [Instr::ModI { a, i: k, .. }, Instr::JmpNotEqI { a: t, i: c, off }] = *pair else {
        return None;
    };
    if a != t || landed_on || k < 1 || i16::try_from(off as i64 + 1).is_err() {
        return None;
    }
    let k = u16::try_from(k).ok()?;
    let c = i8::try_from(c).ok()?;
    Some((k, c, jump_target(second, off)))
}

/// Where a jump at `pc` with offset `off` lands.
fn jump_target(pc: usize, off: i32) -> usize {
    (pc as i64 + 1 + off as i64) as usize
}

/// One instruction's replacement in a `rewrite`: each new instruction, the old
/// position its jump must land on (if it jumps), and the old position whose line
/// it takes (its own when `None`). An empty list drops the instruction; no jump
/// may land on a dropped one.
type Replacement = Vec<(Instr, Option<usize>, Option<usize>)>;

/// Rewrites `code` instruction by instruction (`None` from `plan` keeps one as
/// it is) and re-targets every jump, since inserting or dropping instructions
/// moves the ones after them.
fn rewrite(
    code: &mut Vec<Instr>,
    lines: &mut Vec<u32>,
    mut plan: impl FnMut(usize, &Instr) -> Option<Replacement>,
) {
    let plans: Vec<Option<Replacement>> = code
        .iter()
        .enumerate()
        .map(|(pc, ins)| plan(pc, ins))
        .collect();
    if plans.iter().all(Option::is_none) {
        return;
    }
    // Where each old instruction goes (a dropped one: where the next one goes).
    let mut moved = Vec::with_capacity(code.len() + 1);
    let mut at = 0;
    for p in &plans {
        moved.push(at);
        at += p.as_ref().map_or(1, Vec::len);
    }
    moved.push(at);
    let line_of = |pc: usize| lines.get(pc).copied().unwrap_or(0);
    let mut out = Vec::with_capacity(at);
    let mut out_lines = Vec::with_capacity(at);
    for (pc, ins) in code.iter().enumerate() {
        let kept = [(*ins, ins.jump().map(|off| jump_target(pc, off)), None)];
        let new: &[(Instr, Option<usize>, Option<usize>)] = plans[pc].as_deref().unwrap_or(&kept);
        for &(mut ins, to, line_from) in new {
            if let Some(to) = to {
                let off = moved[to] as i64 - (out.len() as i64 + 1);
                match &mut ins {
                    Instr::JmpModNotEqI { off: o, .. } => *o = off as i16,
                    other => {
                        if let Some(o) = other.jump_mut() {
                            *o = off as i32;
                        }
                    }
                }
            }
            out.push(ins);
            out_lines.push(line_of(line_from.unwrap_or(pc)));
        }
    }
    *code = out;
    if !lines.is_empty() {
        *lines = out_lines;
    }
}
