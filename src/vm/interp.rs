//! The interpreter loop: `loop { match }` over the current frame's code.
//!
//! Calls never recurse on the host stack: a call pushes a [`Frame`] whose window
//! starts right after the callee register (the arguments are already there), and a
//! return pops it and writes the result over the callee register.

use super::object::{Closure, Key, Obj, Upval};
use super::ops;
use super::value::{ObjRef, Value};
use super::{builtins, fastdiv, Frame, Handler, Raise, RtProto, Vm, MAX_REGISTERS};
use crate::bytecode::{Capture, Instr};
use std::rc::Rc;

impl Vm {
    /// The error of reading global slot `g` while it is undefined.
    #[cold]
    fn undefined_global(&self, g: u32) -> String {
        let name = self.global_names.get_index(g as usize);
        format!("undefined variable '{}'", name.map_or("?", |s| s.as_str()))
    }

    /// Calls the value in absolute register `f` with the `nargs` registers after it
    /// as arguments. A native runs at once and its result is returned; a closure gets
    /// a new frame (and `None` is returned: the loop continues in it).
    pub(crate) fn enter(&mut self, f: usize, nargs: usize) -> Result<Option<Value>, Raise> {
        match self.regs[f] {
            Value::Func(c) => {
                self.push_frame(c, f, nargs)?;
                Ok(None)
            }
            Value::Native(i) => {
                let v = match builtins::BUILTINS.get(i as usize) {
                    Some(b) => {
                        if nargs < b.min_args as usize
                            || b.max_args.is_some_and(|m| nargs > m as usize)
                        {
                            return Err(builtin_arity_error(b, nargs));
                        }
                        (b.func)(self, f + 1, nargs)?
                    }
                    None => self.call_host(i as usize - builtins::BUILTINS.len(), f + 1, nargs)?,
                };
                self.regs[f] = v;
                Ok(Some(v))
            }
            other => Err(format!("cannot call {}", other.type_name()).into()),
        }
    }

    /// Starts a frame for closure `c` in absolute register `f`, called with the
    /// `nargs` registers after it (inlined into `enter` and into the host's
    /// `call_value`).
    #[inline(always)]
    pub(crate) fn push_frame(&mut self, c: ObjRef, f: usize, nargs: usize) -> Result<(), Raise> {
        let closure = self.heap.closure(c);
        let (pid, upvals) = (closure.proto, closure.upvals.as_ptr());
        let proto = &self.protos[pid as usize];
        if proto.arity as usize != nargs {
            return Err(arity_error(&proto.name, proto.arity as usize, nargs));
        }
        if self.frames.len() >= self.limits.max_call_depth {
            return Err("stack overflow".into());
        }
        let base = f + 1;
        let need = base + proto.window();
        if need > self.regs.len() {
            if need > MAX_REGISTERS {
                return Err("stack overflow".into());
            }
            let new_len = (need * 2).clamp(256, MAX_REGISTERS);
            self.regs.resize(new_len, Value::Nil);
        }
        self.reg_top = self.reg_top.max(need);
        let rt: *const RtProto = &**proto;
        self.frames.push(Frame {
            closure: c,
            proto: pid,
            ip: proto.code.as_ptr(),
            base,
            rt,
            upvals,
        });
        Ok(())
    }

    /// Runs frames until the entry frame returns, leaving its result in register 0
    /// (where its callee was). The result is not returned: passed out through
    /// memory, it would be stored in pieces and read back whole, and such a load
    /// waits for the stores to retire instead of being forwarded from them.
    pub(crate) fn run(&mut self) -> Result<(), Raise> {
        let Some(&frame) = self.frames.last() else {
            self.regs[0] = Value::Nil;
            return Ok(());
        };
        // The running function's prototype, as a reference not tied to `self`.
        macro_rules! proto_of {
            ($pid:expr) => {{
                let rc: &Rc<RtProto> = &self.protos[$pid as usize];
                // SAFETY: `self.protos` is only ever appended to while the VM lives
                // (a prototype is never removed or replaced), and each prototype is
                // behind an `Rc`, so its address stays valid for all of `run`.
                unsafe { &*Rc::as_ptr(rc) }
            }};
        }
        // SAFETY: `rt` is valid while its frame exists (see `Frame`).
        let mut proto: &RtProto = unsafe { &*frame.rt };
        // The next instruction and the window's register 0, as pointers: the loop
        // carries as little state as possible so that it stays in machine
        // registers. Both are re-derived whenever the frame changes (and `regs`
        // whenever the register file may have been reallocated: only calls do).
        let mut ip: *const Instr = frame.ip;
        let mut regs: *mut Value = self.regs.as_mut_ptr().wrapping_add(frame.base);
        // The running closure's captured variables (re-derived with the frame; see
        // `Frame::upvals` for why the pointer stays valid).
        let mut upvals: *const ObjRef = frame.upvals;

        // The running frame (its closure and virtual stack depth live there).
        macro_rules! frame {
            () => {
                match self.frames.last_mut() {
                    Some(f) => f,
                    None => throw!("no frame"),
                }
            };
        }
        // Index of the next instruction.
        macro_rules! pc {
            () => {
                (ip as usize - proto.code.as_ptr() as usize) / std::mem::size_of::<Instr>()
            };
        }
        // What the loader precomputed for the instruction at `$at` (a divisor's
        // reciprocal, a stack slot), found at the same byte offset in
        // `proto.precomputed` as the instruction in `proto.code` (both have 8-byte
        // elements).
        macro_rules! precomputed {
            ($at:expr) => {{
                const _: () = assert!(std::mem::size_of::<Instr>() == std::mem::size_of::<u64>());
                let offset = $at as isize - proto.code.as_ptr() as isize;
                // SAFETY: `Vm::load` gives a prototype one entry per instruction
                // (`precomputed.len() == code.len()`) whenever it has a PUSH, a POP,
                // a JMPMODNOTEQI, a MODI with a divisor above 0 or an IDIVI with one
                // above 0 that is not a power of two, and only those instructions
                // read it, each at its own position, inside `code`.
                unsafe { *proto.precomputed.as_ptr().byte_offset(offset) }
            }};
        }
        // The reciprocal of the divisor of the MODI/IDIVI/JMPMODNOTEQI running in
        // the hot loop (at `ip`).
        macro_rules! divisor {
            () => {
                precomputed!(ip)
            };
        }
        // Absolute index of the window's register 0.
        macro_rules! base {
            () => {
                (regs as usize - self.regs.as_ptr() as usize) / std::mem::size_of::<Value>()
            };
        }
        // Saves the running frame's position (before a call, an error or a GC).
        macro_rules! save {
            () => {
                if let Some(f) = self.frames.last_mut() {
                    f.ip = ip;
                }
            };
        }
        macro_rules! throw {
            ($e:expr) => {{
                save!();
                return Err(Raise::from($e));
            }};
        }
        // Charged where a program can loop forever (backward jumps and calls): the
        // instruction budget (fuel); `refuel` polls the interrupt flag.
        macro_rules! tick {
            ($cost:expr) => {
                self.fuel -= $cost as i64;
                if self.fuel < 0 && !self.refuel() {
                    save!();
                    return Err(self.budget_stop());
                }
            };
        }
        // A register of the current window, as a place (read or assign).
        macro_rules! reg {
            ($r:expr) => {
                // SAFETY: the verifier (run by `Vm::load` on every program) proved
                // every register operand, including the implicit ranges of CALL,
                // NEWLIST, CONCAT, FORLOOP and ITERNEXT, below the function's
                // `num_regs` (and virtual-stack slots below `num_regs + max_stack`),
                // and the register file was grown to at least
                // `base + num_regs + max_stack` before this frame started. Debug
                // builds (and so the tests) check the window.
                *unsafe {
                    debug_assert!(
                        ($r as usize) < proto.window(),
                        "register outside the verified window"
                    );
                    &mut *regs.add($r as usize)
                }
            };
        }
        macro_rules! try_op {
            ($e:expr) => {
                match $e {
                    Ok(v) => v,
                    Err(e) => {
                        save!();
                        return Err(e);
                    }
                }
            };
        }
        // A safe point after an allocating instruction stored its result.
        macro_rules! gc_point {
            () => {
                if self.heap.should_collect() {
                    save!();
                    let top = base!() + proto.window();
                    self.collect_garbage(top);
                    if self.heap.bytes() > self.limits.max_memory {
                        return Err(Raise::Fatal("memory limit exceeded".to_string()));
                    }
                }
            };
        }
        macro_rules! jump {
            ($off:expr) => {
                ip = ip.wrapping_offset($off as isize)
            };
        }
        // Pops the running frame and continues in the caller with `v` written over
        // the callee register (the register just below this window), or returns `v`
        // when the entry frame returned.
        // `$src` is a reference to the returned value (a register of this window,
        // which popping the frame does not change, or a constant).
        macro_rules! return_to_caller {
            ($src:expr) => {{
                let depth = self.frames.len();
                if !self.open_upvals.is_empty() || !self.handlers.is_empty() {
                    let base = base!();
                    self.unwind_frame(base, depth);
                }
                self.frames.pop();
                match self.frames.last() {
                    Some(fr) => {
                        // SAFETY: every frame's base is at least 1 (the entry frame's
                        // callee sits in register 0), so register -1 of this window is
                        // the caller's callee register, inside the register file.
                        copy_into!(*unsafe { &mut *regs.sub(1) }, $src);
                        // SAFETY: `rt` is valid while its frame exists (see `Frame`).
                        proto = unsafe { &*fr.rt };
                        ip = fr.ip;
                        regs = self.regs.as_mut_ptr().wrapping_add(fr.base);
                        upvals = fr.upvals;
                    }
                    None => {
                        copy_into!(self.regs[0], $src);
                        return Ok(());
                    }
                }
            }};
        }
        // A copy of a register's value. Numbers are read field by field: the
        // arithmetic that just wrote them stored tag and payload separately, and a
        // single 16-byte load of the pair would wait for both stores to retire
        // instead of forwarding from them.
        macro_rules! load {
            ($r:expr) => {
                match rd!($r) {
                    Value::Int(i) => Value::Int(*i),
                    Value::Float(f) => Value::Float(*f),
                    v => *v,
                }
            };
        }
        // A register of the current window, by shared reference (no copy).
        macro_rules! rd {
            ($r:expr) => {
                // SAFETY: as for `reg!`.
                unsafe { &*regs.add($r as usize) }
            };
        }
        // Copies the value `$v` (a reference) into register `$a`, each kind of number
        // by its own store of tag and payload: a copy through a Value in between is
        // done as a generic 16-byte move, whose wide load cannot be forwarded from
        // the separate stores arithmetic leaves behind (see `load!`).
        macro_rules! put {
            ($a:expr, $v:expr) => {
                copy_into!(reg!($a), $v)
            };
        }
        // The same into any place.
        macro_rules! copy_into {
            ($place:expr, $v:expr) => {
                match $v {
                    Value::Int(i) => $place = Value::Int(*i),
                    Value::Float(f) => {
                        std::hint::cold_path();
                        $place = Value::Float(*f)
                    }
                    v => {
                        std::hint::cold_path();
                        $place = *v
                    }
                }
            };
        }
        // Each arm stores its own result: a Value assembled from several arms would
        // be written as one generic 16-byte copy (padding included), which a later
        // narrower load cannot forward from.
        macro_rules! arith {
            ($a:expr, $b:expr, $c:expr, $op:expr, $int:ident, $float:tt) => {{
                match (rd!($b), rd!($c)) {
                    (Value::Int(x), Value::Int(y)) => match x.$int(*y) {
                        Some(v) => reg!($a) = Value::Int(v),
                        None => throw!("integer overflow"),
                    },
                    (Value::Float(x), Value::Float(y)) => reg!($a) = Value::Float(*x $float *y),
                    (x, y) => {
                        let (x, y) = (*x, *y);
                        let v = try_op!(ops::arith(self, $op, x, y));
                        reg!($a) = v;
                        gc_point!();
                    }
                }
            }};
        }
        macro_rules! compare {
            ($b:expr, $c:expr, $op:expr, $cmp:tt) => {{
                match (rd!($b), rd!($c)) {
                    (Value::Int(x), Value::Int(y)) => x $cmp y,
                    (Value::Float(x), Value::Float(y)) => x $cmp y,
                    (x, y) => {
                        let (x, y) = (*x, *y);
                        try_op!(ops::compare(self, $op, x, y))
                    }
                }
            }};
        }
        // An ordering test against a small Int immediate (exact as a Float too).
        macro_rules! compare_imm {
            ($r:expr, $i:expr, $op:expr, $cmp:tt) => {{
                match rd!($r) {
                    Value::Int(x) => *x $cmp ($i as i64),
                    Value::Float(x) => *x $cmp ($i as f64),
                    x => {
                        let x = *x;
                        try_op!(ops::compare(self, $op, x, Value::Int($i as i64)))
                    }
                }
            }};
        }
        macro_rules! bool_of {
            ($r:expr) => {
                match rd!($r) {
                    Value::Bool(b) => *b,
                    other => throw!(format!("expected Bool, got {}", other.type_name())),
                }
            };
        }

        // The fast path of an ordering test: `None` when the operands are not two
        // Ints or two Floats (the full loop then says what to do).
        macro_rules! fast_cmp {
            ($b:expr, $c:expr, $cmp:tt) => {
                match (rd!($b), rd!($c)) {
                    (Value::Int(x), Value::Int(y)) => Some(x $cmp y),
                    (Value::Float(x), Value::Float(y)) => Some(x $cmp y),
                    _ => None,
                }
            };
        }
        macro_rules! fast_arith {
            ($a:expr, $b:expr, $c:expr, $int:ident, $float:tt, $instr:expr) => {
                match (rd!($b), rd!($c)) {
                    (Value::Int(x), Value::Int(y)) => match x.$int(*y) {
                        Some(v) => reg!($a) = Value::Int(v),
                        None => break $instr,
                    },
                    (Value::Float(x), Value::Float(y)) => reg!($a) = Value::Float(*x $float *y),
                    _ => break $instr,
                }
            };
        }
        // Jumps by `$off` when `$b $cmp $c` comes out `$when`, for two Ints or two
        // Floats; anything else goes to the full loop. (Branching on the comparison
        // itself, not on an `Option<bool>` made of it, saves turning the flags into
        // a byte and back.)
        macro_rules! branch_cmp {
            ($b:expr, $c:expr, $cmp:tt, $when:expr, $off:expr, $instr:expr) => {
                match (rd!($b), rd!($c)) {
                    (Value::Int(x), Value::Int(y)) => {
                        if (x $cmp y) == $when {
                            jump!($off)
                        }
                    }
                    (Value::Float(x), Value::Float(y)) => {
                        if (x $cmp y) == $when {
                            jump!($off)
                        }
                    }
                    _ => break $instr,
                }
            };
        }
        // The same against an immediate.
        macro_rules! branch_cmp_imm {
            ($r:expr, $i:expr, $cmp:tt, $when:expr, $off:expr, $instr:expr) => {
                match rd!($r) {
                    Value::Int(x) => {
                        if (*x $cmp ($i as i64)) == $when {
                            jump!($off)
                        }
                    }
                    Value::Float(x) => {
                        if (*x $cmp ($i as f64)) == $when {
                            jump!($off)
                        }
                    }
                    _ => break $instr,
                }
            };
        }

        // The built-ins on the hot list, inline in their common cases: push with
        // room left (no reallocation, no collection due after it), pop from a
        // non-empty list, len of a list, map or string. Each takes its arguments
        // from the registers named and stores its result in `$a`; in any other case
        // it changes nothing and does `$fail` (leaves the hot loop, or takes the
        // general path).
        macro_rules! inline_push {
            ($a:expr, $list:expr, $v:expr, $fail:expr) => {{
                let &Value::List(r) = rd!($list) else { $fail };
                if !self.heap.can_grow_quietly(16) {
                    $fail
                }
                let max = self.limits.max_collection_len;
                let v = load!($v);
                let l = self.heap.list_mut(r);
                let len = l.items.len();
                if len >= l.items.capacity() || len >= max {
                    $fail
                }
                // SAFETY: `len < capacity` was just checked, so slot `len` is
                // allocated; it is written before the length covers it.
                unsafe {
                    l.items.as_mut_ptr().add(len).write(v);
                    l.items.set_len(len + 1);
                }
                l.version = l.version.wrapping_add(1);
                self.heap.grew(16);
                reg!($a) = Value::Nil;
            }};
        }
        macro_rules! inline_pop {
            ($a:expr, $list:expr, $fail:expr) => {{
                let &Value::List(r) = rd!($list) else { $fail };
                let l = self.heap.list_mut(r);
                let Some(v) = l.items.pop() else { $fail };
                l.version = l.version.wrapping_add(1);
                reg!($a) = v;
            }};
        }
        macro_rules! inline_len {
            ($a:expr, $x:expr, $fail:expr) => {
                match *rd!($x) {
                    Value::List(r) => reg!($a) = Value::Int(self.heap.list(r).items.len() as i64),
                    Value::Map(r) => reg!($a) = Value::Int(self.heap.map(r).entries.len() as i64),
                    Value::Str(r) => reg!($a) = Value::Int(self.heap.str(r).chars as i64),
                    _ => $fail,
                }
            };
        }

        // Calls the value in absolute register `$f` with the `$n` registers after
        // it (`Vm::enter`), and continues in the callee's frame or, when a native
        // ran, after the call. The frame's position is saved.
        macro_rules! enter {
            ($f:expr, $n:expr, $base:expr) => {
                match self.enter($f, $n) {
                    Ok(None) => {
                        let fr = *self.frames.last().expect("enter pushed a frame");
                        // SAFETY: `rt` is valid while its frame exists (see `Frame`).
                        proto = unsafe { &*fr.rt };
                        ip = proto.code.as_ptr();
                        regs = self.regs.as_mut_ptr().wrapping_add(fr.base);
                        upvals = fr.upvals;
                    }
                    Ok(Some(_)) => {
                        // A native ran; it wrote its result through `self.regs`.
                        regs = self.regs.as_mut_ptr().wrapping_add($base);
                        gc_point!();
                    }
                    Err(e) => return Err(e),
                }
            };
        }
        // CALLG1/CALLG2 outside their inline built-ins: the CALL they stand for,
        // with `$global` (the value of global `$g`, read once by the caller) and
        // the argument values `$args` (read before anything is written) put in the
        // window at `$a`. A built-in is not charged fuel, as for CALL.
        macro_rules! call_global {
            ($a:expr, $global:expr, $g:expr, [$($arg:expr),+]) => {{
                let Some(f) = *$global else {
                    throw!(self.undefined_global($g))
                };
                let mut r = $a as usize;
                reg!(r) = f;
                $(
                    r += 1;
                    reg!(r) = $arg;
                )+
                if !matches!(f, Value::Native(i) if (i as usize) < builtins::BUILTINS.len()) {
                    tick!(1);
                }
                save!();
                let base = base!();
                enter!(base + $a as usize, r - $a as usize, base);
            }};
        }

        'run: loop {
            // The hot loop: the common cases of the commonest instructions, none of
            // which calls a function, so that the loop's state (`ip`, `regs`) stays
            // in machine registers. Anything else, including any case that would
            // need a call (an error, a GC point, a type other than Int or Float),
            // leaves it *before* changing anything, and the full `match` below
            // runs that instruction from the start.
            let instr: &Instr = loop {
                // SAFETY: the verifier proved every jump target inside the code and
                // that control cannot run past the last instruction, so `ip` points
                // at an instruction of `proto.code`.
                // (`ip` stays on the instruction while it runs, so that its operands
                // are read through the one pointer; a jump adds its offset, and the
                // step to the next instruction comes after the `match`.)
                let instr = unsafe { &*ip };
                match *instr {
                    Instr::Move { a, b } => put!(a, rd!(b)),
                    Instr::Move2 { a, b, c, d } => {
                        put!(a, rd!(b));
                        put!(c, rd!(d));
                    }
                    Instr::AddMove2 { a, b, c, d, e, f } => {
                        // The sum is stored again from a machine register, not
                        // reloaded (the verifier proved `d != a`: the copy in
                        // between does not overwrite it).
                        macro_rules! rotate {
                            ($sum:expr) => {{
                                reg!(a) = $sum;
                                put!(d, rd!(e));
                                reg!(f) = $sum;
                            }};
                        }
                        match (rd!(b), rd!(c)) {
                            (Value::Int(x), Value::Int(y)) => match x.checked_add(*y) {
                                Some(v) => rotate!(Value::Int(v)),
                                None => break instr,
                            },
                            (Value::Float(x), Value::Float(y)) => {
                                let v = *x + *y;
                                rotate!(Value::Float(v))
                            }
                            _ => break instr,
                        }
                    }
                    Instr::LoadInt { a, i } => reg!(a) = Value::Int(i as i64),
                    Instr::LoadK { a, k } => {
                        // SAFETY: the verifier proved every constant index in range.
                        reg!(a) = *unsafe { proto.consts.get_unchecked(k as usize) }
                    }
                    // SAFETY (both): as for GETGLOBAL and SETGLOBAL below.
                    Instr::GetGlobal { a, g } => {
                        // Each arm stores its own result (see `arith!`).
                        match unsafe { self.globals.get_unchecked(g as usize) } {
                            Some(Value::Int(i)) => reg!(a) = Value::Int(*i),
                            Some(Value::Float(f)) => reg!(a) = Value::Float(*f),
                            Some(v) => reg!(a) = *v,
                            None => break instr,
                        }
                    }
                    Instr::SetGlobal { a, g } => {
                        let slot = unsafe { self.globals.get_unchecked_mut(g as usize) };
                        match rd!(a) {
                            Value::Int(i) => *slot = Some(Value::Int(*i)),
                            Value::Float(f) => *slot = Some(Value::Float(*f)),
                            v => *slot = Some(*v),
                        }
                    }
                    Instr::Add { a, b, c } => fast_arith!(a, b, c, checked_add, +, instr),
                    Instr::Sub { a, b, c } => fast_arith!(a, b, c, checked_sub, -, instr),
                    Instr::Mul { a, b, c } => fast_arith!(a, b, c, checked_mul, *, instr),
                    Instr::AddI { a, b, i } => match rd!(b) {
                        Value::Int(x) => match x.checked_add(i as i64) {
                            Some(v) => reg!(a) = Value::Int(v),
                            None => break instr,
                        },
                        Value::Float(x) => reg!(a) = Value::Float(x + i as f64),
                        _ => break instr,
                    },
                    Instr::MulI { a, b, i } => match rd!(b) {
                        Value::Int(x) => match x.checked_mul(i as i64) {
                            Some(v) => reg!(a) = Value::Int(v),
                            None => break instr,
                        },
                        _ => break instr,
                    },
                    Instr::MulAddI { a, b, c, i } => match (rd!(b), rd!(c)) {
                        (Value::Int(x), Value::Int(y)) => {
                            match x.checked_mul(i as i64).and_then(|p| p.checked_add(*y)) {
                                Some(v) => reg!(a) = Value::Int(v),
                                None => break instr,
                            }
                        }
                        (Value::Float(x), Value::Float(y)) => {
                            reg!(a) = Value::Float(*x * i as f64 + *y)
                        }
                        _ => break instr,
                    },
                    Instr::ModI { a, b, i } => match rd!(b) {
                        // A dividend in 0..2^32 (where floored and truncated modulo
                        // agree) by the reciprocal computed at load (for every
                        // divisor above 0, powers of two included).
                        &Value::Int(x) if i > 0 && (x as u64) >> 32 == 0 => {
                            // (`black_box`: knowing `i > 0`, LLVM would widen it as
                            // signed and correct the 128-bit product for a negative
                            // factor, one more step on the dividend's path.)
                            let d = std::hint::black_box(i as u32);
                            let r = fastdiv::rem(x as u32, divisor!(), d as u64);
                            reg!(a) = Value::Int(r as i64)
                        }
                        Value::Int(x) if i > 0 && i & (i - 1) == 0 => {
                            reg!(a) = Value::Int(x & (i as i64 - 1))
                        }
                        Value::Int(x) if i > 0 => reg!(a) = Value::Int(x.rem_euclid(i as i64)),
                        _ => break instr,
                    },
                    Instr::IDivI { a, b, i } => match rd!(b) {
                        // Floored division by 2^k is an arithmetic shift.
                        Value::Int(x) if i > 0 && i & (i - 1) == 0 => {
                            reg!(a) = Value::Int(x >> i.trailing_zeros())
                        }
                        &Value::Int(x) if i > 0 && (x as u64) >> 32 == 0 => {
                            reg!(a) = Value::Int(fastdiv::quot(x as u32, divisor!()) as i64)
                        }
                        Value::Int(x) if i > 0 => reg!(a) = Value::Int(x.div_euclid(i as i64)),
                        _ => break instr,
                    },
                    Instr::JmpLt { a, b, off } => branch_cmp!(a, b, <, true, off, instr),
                    Instr::JmpLe { a, b, off } => branch_cmp!(a, b, <=, true, off, instr),
                    Instr::JmpNotLt { a, b, off } => {
                        branch_cmp!(a, b, <, false, off, instr)
                    }
                    Instr::JmpNotLe { a, b, off } => {
                        branch_cmp!(a, b, <=, false, off, instr)
                    }
                    Instr::JmpNotGt { a, b, off } => {
                        branch_cmp!(a, b, >, false, off, instr)
                    }
                    Instr::JmpNotGe { a, b, off } => {
                        branch_cmp!(a, b, >=, false, off, instr)
                    }
                    Instr::JmpNotLtI { a, i, off } => {
                        branch_cmp_imm!(a, i, <, false, off, instr)
                    }
                    Instr::JmpNotLeI { a, i, off } => {
                        branch_cmp_imm!(a, i, <=, false, off, instr)
                    }
                    Instr::JmpNotGtI { a, i, off } => {
                        branch_cmp_imm!(a, i, >, false, off, instr)
                    }
                    Instr::JmpNotGeI { a, i, off } => {
                        branch_cmp_imm!(a, i, >=, false, off, instr)
                    }
                    Instr::JmpNotEqI { a, i, off } => {
                        branch_cmp_imm!(a, i, ==, false, off, instr)
                    }
                    // MODI then JMPNOTEQI, for a dividend in 0..2^32 (see MODI).
                    Instr::JmpModNotEqI { a, b, c, k, off } => match rd!(b) {
                        &Value::Int(x) if (x as u64) >> 32 == 0 => {
                            let r = fastdiv::rem(x as u32, divisor!(), k as u64);
                            reg!(a) = Value::Int(r as i64);
                            if r as i64 != c as i64 {
                                jump!(off);
                            }
                        }
                        _ => break instr,
                    },
                    Instr::JmpEqI { a, i, off } => {
                        branch_cmp_imm!(a, i, ==, true, off, instr)
                    }
                    Instr::Jmp { off } => {
                        if off < 0 {
                            let fuel = self.fuel + off as i64;
                            if fuel < 0 {
                                break instr;
                            }
                            self.fuel = fuel;
                        }
                        jump!(off)
                    }
                    Instr::JmpIfFalse { a, off } => match rd!(a) {
                        Value::Bool(b) => {
                            if !*b {
                                jump!(off)
                            }
                        }
                        _ => break instr,
                    },
                    Instr::JmpIfTrue { a, off } => match rd!(a) {
                        Value::Bool(b) => {
                            if *b {
                                jump!(off)
                            }
                        }
                        _ => break instr,
                    },
                    Instr::ForPrep { a, inclusive, off } => {
                        let (&Value::Int(start), &Value::Int(end)) = (rd!(a), rd!(a + 1)) else {
                            break instr;
                        };
                        match for_last(start, end, inclusive) {
                            None => jump!(off),
                            Some(last) => reg!(a + 1) = Value::Int(last),
                        }
                    }
                    Instr::ForLoop { a, off } => {
                        // (Register numbers widened before adding: a `u8` sum would
                        // be masked back to 8 bits first.)
                        let a = a as usize;
                        let (Value::Int(i), &Value::Int(last)) = (&mut reg!(a), rd!(a + 1)) else {
                            break instr;
                        };
                        // `i < last` leaves room for `i + 1`.
                        if *i < last {
                            // (Read before the fuel store, which LLVM cannot tell
                            // apart from the registers.)
                            let next = *i + 1;
                            // The verifier proved `off < 0` (FORLOOP jumps back), so
                            // this charges `-off`.
                            let fuel = self.fuel + off as i64;
                            if fuel < 0 {
                                break instr;
                            }
                            self.fuel = fuel;
                            // The counter keeps its tag: only its payload changes.
                            *i = next;
                            jump!(off);
                        }
                    }
                    Instr::GetUpval { a, u } => {
                        // SAFETY: the verifier proved `u` below the function's capture
                        // count, and its closures are made with one upvalue per capture.
                        let r = unsafe { *upvals.add(u as usize) };
                        match self.heap.upval_ref(r) {
                            &Upval::Open(i) => put!(a, &self.regs[i]),
                            Upval::Closed(v) => put!(a, v),
                        }
                    }
                    Instr::SetUpval { a, u } => {
                        // SAFETY: as for GETUPVAL.
                        let r = unsafe { *upvals.add(u as usize) };
                        let v = load!(a);
                        match self.heap.upval(r) {
                            Upval::Open(i) => self.regs[i] = v,
                            Upval::Closed(_) => self.heap.set_upval(r, Upval::Closed(v)),
                        }
                    }
                    Instr::LoadNil { a } => reg!(a) = Value::Nil,
                    Instr::LoadBool { a, b } => reg!(a) = Value::Bool(b),
                    Instr::Not { a, b } => match rd!(b) {
                        &Value::Bool(x) => reg!(a) = Value::Bool(!x),
                        _ => break instr,
                    },
                    Instr::Lt { a, b, c } => match fast_cmp!(b, c, <) {
                        Some(t) => reg!(a) = Value::Bool(t),
                        None => break instr,
                    },
                    Instr::Le { a, b, c } => match fast_cmp!(b, c, <=) {
                        Some(t) => reg!(a) = Value::Bool(t),
                        None => break instr,
                    },
                    Instr::Gt { a, b, c } => match fast_cmp!(b, c, >) {
                        Some(t) => reg!(a) = Value::Bool(t),
                        None => break instr,
                    },
                    Instr::Ge { a, b, c } => match fast_cmp!(b, c, >=) {
                        Some(t) => reg!(a) = Value::Bool(t),
                        None => break instr,
                    },
                    Instr::Eq { a, b, c } => match (rd!(b), rd!(c)) {
                        (Value::Int(x), Value::Int(y)) => reg!(a) = Value::Bool(x == y),
                        _ => break instr,
                    },
                    Instr::Ne { a, b, c } => match (rd!(b), rd!(c)) {
                        (Value::Int(x), Value::Int(y)) => reg!(a) = Value::Bool(x != y),
                        _ => break instr,
                    },
                    Instr::JmpEq { a, b, off } => match (rd!(a), rd!(b)) {
                        (Value::Int(x), Value::Int(y)) => {
                            if x == y {
                                jump!(off)
                            }
                        }
                        _ => break instr,
                    },
                    Instr::JmpNotEq { a, b, off } => match (rd!(a), rd!(b)) {
                        (Value::Int(x), Value::Int(y)) => {
                            if x != y {
                                jump!(off)
                            }
                        }
                        _ => break instr,
                    },
                    Instr::Neg { a, b } => match rd!(b) {
                        Value::Int(x) if *x != i64::MIN => reg!(a) = Value::Int(-x),
                        Value::Float(x) => reg!(a) = Value::Float(-x),
                        _ => break instr,
                    },
                    // The next item of a list (an iteration over anything else, or
                    // a list changed since it began, takes the full path).
                    Instr::IterNext { a, off } => {
                        let (&Value::List(r), &Value::Int(pos), &Value::Int(version)) =
                            (rd!(a), rd!(a + 1), rd!(a + 2))
                        else {
                            break instr;
                        };
                        let l = self.heap.list(r);
                        if l.version as i64 != version {
                            break instr;
                        }
                        match l.items.get(pos as usize) {
                            Some(v) => {
                                put!(a + 3, v);
                                reg!(a + 1) = Value::Int(pos + 1);
                            }
                            None => jump!(off),
                        }
                    }
                    // The list built-ins on the hot list, inline, in their common
                    // cases (see `inline_push!`); anything else goes to the full loop.
                    Instr::Call { a, b } => match *rd!(a) {
                        Value::Native(builtins::PUSH) if b == 2 => {
                            inline_push!(a, a + 1, a + 2, break instr)
                        }
                        Value::Native(builtins::POP) if b == 1 => {
                            inline_pop!(a, a + 1, break instr)
                        }
                        Value::Native(builtins::LEN) if b == 1 => {
                            inline_len!(a, a + 1, break instr)
                        }
                        _ => break instr,
                    },
                    Instr::GetIndex { a, b, c } => match (rd!(b), rd!(c)) {
                        (&Value::List(r), &Value::Int(i)) => {
                            match self.heap.list(r).items.get(i as usize) {
                                Some(v) if i >= 0 => put!(a, v),
                                _ => break instr,
                            }
                        }
                        _ => break instr,
                    },
                    Instr::SetIndex { a, b, c } => match (rd!(a), rd!(b)) {
                        (&Value::List(r), &Value::Int(i)) => {
                            let v = rd!(c);
                            match self.heap.list_mut(r).items.get_mut(i as usize) {
                                Some(slot) if i >= 0 => copy_into!(*slot, v),
                                _ => break instr,
                            }
                        }
                        _ => break instr,
                    },
                    // Fields: only the remembered position with the very same
                    // (interned) key; anything else takes the full path.
                    Instr::GetField { a, b, k } => {
                        let (&Value::Map(r), Some(key)) = (rd!(b), &proto.const_text[k as usize])
                        else {
                            break instr;
                        };
                        let hint = proto.field_hints[pc!()].get();
                        match self.heap.map(r).entries.get_index(hint as usize) {
                            Some((Key::Str(s), v)) if Rc::ptr_eq(s, key) => put!(a, v),
                            _ => break instr,
                        }
                    }
                    Instr::SetField { a, k, c } => {
                        let (&Value::Map(r), Some(key)) = (rd!(a), &proto.const_text[k as usize])
                        else {
                            break instr;
                        };
                        let hint = proto.field_hints[pc!()].get();
                        let v = rd!(c);
                        match self.heap.map_mut(r).entries.get_index_mut(hint as usize) {
                            Some((Key::Str(s), slot)) if Rc::ptr_eq(s, key) => copy_into!(*slot, v),
                            _ => break instr,
                        }
                    }
                    // The entry frame's return with no captured variable to close and
                    // no try block to leave (a host calling a function): the run ends
                    // here, as `return_to_caller!` would end it.
                    Instr::Return { a } => {
                        if self.frames.len() != 1
                            || !self.open_upvals.is_empty()
                            || !self.handlers.is_empty()
                        {
                            break instr;
                        }
                        self.frames.clear();
                        // SAFETY: with one frame this is the entry frame, which
                        // `call_value` starts at base 1 (its callee in register 0), so
                        // register -1 of this window is register 0 of the file.
                        copy_into!(*unsafe { &mut *regs.sub(1) }, rd!(a));
                        return Ok(());
                    }
                    // The virtual stack: the loader computed each PUSH's and POP's
                    // slot (register num_regs + depth) from the verified depths, and
                    // `reg!` checks it against the window in debug builds.
                    Instr::Push { a } => {
                        let slot = precomputed!(ip) as usize;
                        put!(slot, rd!(a))
                    }
                    Instr::Pop { a } => {
                        let slot = precomputed!(ip) as usize;
                        put!(a, rd!(slot))
                    }
                    // Every other opcode, by name: an exhaustive match lets the
                    // dispatch jump through the table without a range check.
                    Instr::Close { .. }
                    | Instr::Closure { .. }
                    | Instr::Div { .. }
                    | Instr::IDiv { .. }
                    | Instr::Mod { .. }
                    | Instr::CheckBool { .. }
                    | Instr::CheckType { .. }
                    | Instr::Return0
                    | Instr::IterPrep { .. }
                    | Instr::NewList { .. }
                    | Instr::AppendList { .. }
                    | Instr::NewMap { .. }
                    | Instr::ToStr { .. }
                    | Instr::Concat { .. }
                    | Instr::TryBegin { .. }
                    | Instr::TryEnd
                    | Instr::CallG1 { .. }
                    | Instr::CallG2 { .. } => break instr,
                }
                ip = ip.wrapping_add(1);
            };
            ip = ip.wrapping_add(1);
            match *instr {
                Instr::Move { a, b } => reg!(a) = load!(b),
                Instr::Move2 { a, b, c, d } => {
                    reg!(a) = load!(b);
                    reg!(c) = load!(d);
                }
                Instr::AddMove2 { a, b, c, d, e, f } => {
                    let (x, y) = (*rd!(b), *rd!(c));
                    let v = try_op!(ops::arith(self, ops::Arith::Add, x, y));
                    reg!(a) = v;
                    reg!(d) = load!(e);
                    reg!(f) = v;
                    gc_point!();
                }
                Instr::LoadNil { a } => reg!(a) = Value::Nil,
                Instr::LoadBool { a, b } => reg!(a) = Value::Bool(b),
                Instr::LoadInt { a, i } => reg!(a) = Value::Int(i as i64),
                Instr::LoadK { a, k } => {
                    // SAFETY: the verifier proved every constant index in range.
                    reg!(a) = *unsafe { proto.consts.get_unchecked(k as usize) }
                }
                // SAFETY (both): the verifier proved `g` below the program's global
                // count, and `load` relocated it to this VM's slot for that name;
                // slots are never removed, so `g < self.globals.len()`.
                Instr::GetGlobal { a, g } => {
                    match unsafe { self.globals.get_unchecked(g as usize) } {
                        Some(v) => reg!(a) = *v,
                        None => throw!(self.undefined_global(g)),
                    }
                }
                Instr::SetGlobal { a, g } => {
                    let v = load!(a);
                    *unsafe { self.globals.get_unchecked_mut(g as usize) } = Some(v);
                }
                Instr::GetUpval { a, u } => {
                    let closure = frame!().closure;
                    let r = self.heap.closure(closure).upvals[u as usize];
                    reg!(a) = match self.heap.upval(r) {
                        Upval::Open(i) => self.regs[i],
                        Upval::Closed(v) => v,
                    };
                }
                Instr::SetUpval { a, u } => {
                    let closure = frame!().closure;
                    let r = self.heap.closure(closure).upvals[u as usize];
                    let v = reg!(a);
                    match self.heap.upval(r) {
                        Upval::Open(i) => self.regs[i] = v,
                        Upval::Closed(_) => self.heap.set_upval(r, Upval::Closed(v)),
                    }
                }
                Instr::Close { a } => {
                    let from = base!() + a as usize;
                    self.close_upvals(from)
                }
                Instr::Closure { a, f } => {
                    let closure = frame!().closure;
                    let pid = proto.children[f as usize];
                    let child = self.protos[pid as usize].clone();
                    let mut upvals = Vec::with_capacity(child.captures.len());
                    for cap in &child.captures {
                        upvals.push(match *cap {
                            Capture::Local(r) => {
                                let at = base!() + r as usize;
                                self.capture_register(at)
                            }
                            Capture::Upvalue(i) => self.heap.closure(closure).upvals[i as usize],
                        });
                    }
                    let c = self.heap.alloc_closure(Closure {
                        proto: pid,
                        upvals: upvals.into_boxed_slice(),
                    });
                    reg!(a) = Value::Func(c);
                    gc_point!();
                }

                Instr::Add { a, b, c } => arith!(a, b, c, ops::Arith::Add, checked_add, +),
                Instr::Sub { a, b, c } => arith!(a, b, c, ops::Arith::Sub, checked_sub, -),
                Instr::Mul { a, b, c } => arith!(a, b, c, ops::Arith::Mul, checked_mul, *),
                Instr::Div { a, b, c } => {
                    let (x, y) = (reg!(b), reg!(c));
                    let v = try_op!(ops::arith(self, ops::Arith::Div, x, y));
                    reg!(a) = v;
                }
                Instr::IDiv { a, b, c } => {
                    let (x, y) = (reg!(b), reg!(c));
                    let v = try_op!(ops::arith(self, ops::Arith::IDiv, x, y));
                    reg!(a) = v;
                }
                Instr::Mod { a, b, c } => match (rd!(b), rd!(c)) {
                    (Value::Int(x), Value::Int(y)) if *y > 0 => {
                        reg!(a) = Value::Int(x.rem_euclid(*y))
                    }
                    (x, y) => {
                        let (x, y) = (*x, *y);
                        let v = try_op!(ops::arith(self, ops::Arith::Mod, x, y));
                        reg!(a) = v;
                    }
                },
                Instr::AddI { a, b, i } => match rd!(b) {
                    Value::Int(x) => match x.checked_add(i as i64) {
                        Some(v) => reg!(a) = Value::Int(v),
                        None => throw!("integer overflow"),
                    },
                    Value::Float(x) => reg!(a) = Value::Float(x + i as f64),
                    x => {
                        let x = *x;
                        // The compiler emits `x - n` as ADDI with -n (n >= 0).
                        let (op, n) = if i < 0 {
                            (ops::Arith::Sub, -(i as i64))
                        } else {
                            (ops::Arith::Add, i as i64)
                        };
                        let v = try_op!(ops::arith(self, op, x, Value::Int(n)));
                        reg!(a) = v;
                    }
                },
                Instr::MulI { a, b, i } => match rd!(b) {
                    Value::Int(x) => match x.checked_mul(i as i64) {
                        Some(v) => reg!(a) = Value::Int(v),
                        None => throw!("integer overflow"),
                    },
                    x => {
                        let x = *x;
                        let v = try_op!(ops::arith(self, ops::Arith::Mul, x, Value::Int(i as i64)));
                        reg!(a) = v;
                    }
                },
                // MULI then ADD, with their errors (the product is no heap value:
                // no collection can happen between the two).
                Instr::MulAddI { a, b, c, i } => {
                    let (x, y) = (*rd!(b), *rd!(c));
                    let product =
                        try_op!(ops::arith(self, ops::Arith::Mul, x, Value::Int(i as i64)));
                    let v = try_op!(ops::arith(self, ops::Arith::Add, product, y));
                    reg!(a) = v;
                    gc_point!();
                }
                Instr::ModI { a, b, i } => match rd!(b) {
                    // A power-of-two divisor needs no division: floored modulo by 2^k
                    // keeps the low k bits, for negative x too.
                    Value::Int(x) if i > 0 && i & (i - 1) == 0 => {
                        reg!(a) = Value::Int(x & (i as i64 - 1))
                    }
                    Value::Int(x) if i > 0 => reg!(a) = Value::Int(x.rem_euclid(i as i64)),
                    x => {
                        let x = *x;
                        let v = try_op!(ops::arith(self, ops::Arith::Mod, x, Value::Int(i as i64)));
                        reg!(a) = v;
                    }
                },
                Instr::IDivI { a, b, i } => match rd!(b) {
                    Value::Int(x) if i > 0 => reg!(a) = Value::Int(x.div_euclid(i as i64)),
                    x => {
                        let x = *x;
                        let v =
                            try_op!(ops::arith(self, ops::Arith::IDiv, x, Value::Int(i as i64)));
                        reg!(a) = v;
                    }
                },
                Instr::Neg { a, b } => match rd!(b) {
                    Value::Int(x) => match x.checked_neg() {
                        Some(v) => reg!(a) = Value::Int(v),
                        None => throw!("integer overflow"),
                    },
                    Value::Float(x) => reg!(a) = Value::Float(-x),
                    other => throw!(format!("cannot negate {}", other.type_name())),
                },
                Instr::Not { a, b } => reg!(a) = Value::Bool(!bool_of!(b)),
                Instr::Eq { a, b, c } => {
                    reg!(a) = Value::Bool(ops::equal(&self.heap, reg!(b), reg!(c)))
                }
                Instr::Ne { a, b, c } => {
                    reg!(a) = Value::Bool(!ops::equal(&self.heap, reg!(b), reg!(c)))
                }
                Instr::Lt { a, b, c } => reg!(a) = Value::Bool(compare!(b, c, ops::Cmp::Lt, <)),
                Instr::Le { a, b, c } => reg!(a) = Value::Bool(compare!(b, c, ops::Cmp::Le, <=)),
                Instr::Gt { a, b, c } => reg!(a) = Value::Bool(compare!(b, c, ops::Cmp::Gt, >)),
                Instr::Ge { a, b, c } => reg!(a) = Value::Bool(compare!(b, c, ops::Cmp::Ge, >=)),

                Instr::JmpLt { a, b, off } => {
                    if compare!(a, b, ops::Cmp::Lt, <) {
                        jump!(off);
                    }
                }
                Instr::JmpLe { a, b, off } => {
                    if compare!(a, b, ops::Cmp::Le, <=) {
                        jump!(off);
                    }
                }
                Instr::JmpNotLt { a, b, off } => {
                    if !compare!(a, b, ops::Cmp::Lt, <) {
                        jump!(off);
                    }
                }
                Instr::JmpNotLe { a, b, off } => {
                    if !compare!(a, b, ops::Cmp::Le, <=) {
                        jump!(off);
                    }
                }
                Instr::JmpNotGt { a, b, off } => {
                    if !compare!(a, b, ops::Cmp::Gt, >) {
                        jump!(off);
                    }
                }
                Instr::JmpNotGe { a, b, off } => {
                    if !compare!(a, b, ops::Cmp::Ge, >=) {
                        jump!(off);
                    }
                }
                Instr::JmpNotEq { a, b, off } => {
                    let eq = match (rd!(a), rd!(b)) {
                        (Value::Int(x), Value::Int(y)) => x == y,
                        (x, y) => ops::equal(&self.heap, *x, *y),
                    };
                    if !eq {
                        jump!(off);
                    }
                }
                Instr::JmpEq { a, b, off } => {
                    let eq = match (rd!(a), rd!(b)) {
                        (Value::Int(x), Value::Int(y)) => x == y,
                        (x, y) => ops::equal(&self.heap, *x, *y),
                    };
                    if eq {
                        jump!(off);
                    }
                }
                Instr::JmpNotEqI { a, i, off } => {
                    let eq = match rd!(a) {
                        Value::Int(x) => *x == i as i64,
                        Value::Float(x) => *x == i as f64,
                        _ => false,
                    };
                    if !eq {
                        jump!(off);
                    }
                }
                Instr::JmpModNotEqI { a, b, c, k, off } => {
                    let x = *rd!(b);
                    let v = try_op!(ops::arith(self, ops::Arith::Mod, x, Value::Int(k as i64)));
                    reg!(a) = v;
                    let eq = match v {
                        Value::Int(r) => r == c as i64,
                        Value::Float(r) => r == c as f64,
                        _ => false,
                    };
                    if !eq {
                        jump!(off);
                    }
                }
                Instr::JmpEqI { a, i, off } => {
                    let eq = match rd!(a) {
                        Value::Int(x) => *x == i as i64,
                        Value::Float(x) => *x == i as f64,
                        _ => false,
                    };
                    if eq {
                        jump!(off);
                    }
                }
                Instr::JmpNotLtI { a, i, off } => {
                    if !compare_imm!(a, i, ops::Cmp::Lt, <) {
                        jump!(off);
                    }
                }
                Instr::JmpNotLeI { a, i, off } => {
                    if !compare_imm!(a, i, ops::Cmp::Le, <=) {
                        jump!(off);
                    }
                }
                Instr::JmpNotGtI { a, i, off } => {
                    if !compare_imm!(a, i, ops::Cmp::Gt, >) {
                        jump!(off);
                    }
                }
                Instr::JmpNotGeI { a, i, off } => {
                    if !compare_imm!(a, i, ops::Cmp::Ge, >=) {
                        jump!(off);
                    }
                }
                Instr::Jmp { off } => {
                    if off < 0 {
                        // A loop iteration costs the instructions it spans.
                        tick!(-(off as i64));
                    }
                    jump!(off)
                }
                Instr::JmpIfFalse { a, off } => {
                    if !bool_of!(a) {
                        jump!(off);
                    }
                }
                Instr::JmpIfTrue { a, off } => {
                    if bool_of!(a) {
                        jump!(off);
                    }
                }
                Instr::CheckBool { a } => {
                    bool_of!(a);
                }
                Instr::CheckType { a, t, k } => {
                    let v = reg!(a);
                    if !ops::has_type(v, t) {
                        let what = match proto.consts[k as usize] {
                            Value::Str(r) => self.heap.str(r).text.to_string(),
                            _ => "value".to_string(),
                        };
                        throw!(format!(
                            "{what} expects {}, got {}",
                            t.name(),
                            v.type_name()
                        ));
                    }
                }

                Instr::Call { a, b } => {
                    // A built-in with an acceptable number of arguments runs straight
                    // away: it cannot loop or recurse, so it is not charged fuel, and
                    // the frame's position is saved only if it fails.
                    if let &Value::Native(i) = rd!(a) {
                        if let Some(bi) = builtins::BUILTINS.get(i as usize) {
                            let n = b as usize;
                            if n >= bi.min_args as usize
                                && bi.max_args.is_none_or(|m| n <= m as usize)
                            {
                                let args = base!() + a as usize + 1;
                                let v = try_op!((bi.func)(self, args, n));
                                reg!(a) = v;
                                gc_point!();
                                continue;
                            }
                        }
                    }
                    tick!(1);
                    save!();
                    let base = base!();
                    let f = base + a as usize;
                    // The common case, a closure with the right arity and room in the
                    // register file, is handled here; everything else in `enter`.
                    let fast = match *rd!(a) {
                        Value::Func(c) => match self.heap.get(c) {
                            Obj::Closure(cl) => {
                                let callee = proto_of!(cl.proto);
                                let top = f + 1 + callee.window();
                                (callee.arity == b
                                    && self.frames.len() < self.limits.max_call_depth
                                    && top <= self.regs.len())
                                .then_some((c, cl.proto, top, callee, cl.upvals.as_ptr()))
                            }
                            _ => None,
                        },
                        _ => None,
                    };
                    if let Some((c, pid, top, callee, callee_upvals)) = fast {
                        self.reg_top = self.reg_top.max(top);
                        self.frames.push(Frame {
                            closure: c,
                            proto: pid,
                            ip: callee.code.as_ptr(),
                            base: f + 1,
                            rt: callee,
                            upvals: callee_upvals,
                        });
                        proto = callee;
                        ip = proto.code.as_ptr();
                        regs = regs.wrapping_add(a as usize + 1);
                        upvals = callee_upvals;
                        continue;
                    }
                    enter!(f, b as usize, base);
                }
                // The built-ins on the hot list run on the arguments where they
                // are; anything else is the CALL the instruction stands for.
                // SAFETY (both): as for GETGLOBAL.
                Instr::CallG1 { a, b, g } => {
                    let global = unsafe { self.globals.get_unchecked(g as usize) };
                    'other: {
                        match global {
                            Some(Value::Native(builtins::POP)) => inline_pop!(a, b, break 'other),
                            Some(Value::Native(builtins::LEN)) => inline_len!(a, b, break 'other),
                            _ => break 'other,
                        }
                        continue 'run;
                    }
                    let x = load!(b);
                    call_global!(a, global, g, [x]);
                }
                Instr::CallG2 { a, b, c, g } => {
                    let global = unsafe { self.globals.get_unchecked(g as usize) };
                    'other: {
                        match global {
                            Some(Value::Native(builtins::PUSH)) => {
                                inline_push!(a, b, c, break 'other)
                            }
                            _ => break 'other,
                        }
                        continue 'run;
                    }
                    let (x, y) = (load!(b), load!(c));
                    call_global!(a, global, g, [x, y]);
                }
                Instr::Return { a } => return_to_caller!(rd!(a)),
                Instr::Return0 => return_to_caller!(&Value::Nil),

                Instr::ForPrep { a, inclusive, off } => {
                    let (start, end) = match (*rd!(a), *rd!(a + 1)) {
                        (Value::Int(s), Value::Int(e)) => (s, e),
                        (Value::Int(_), other) | (other, _) => throw!(format!(
                            "range bounds must be Int, got {}",
                            other.type_name()
                        )),
                    };
                    match for_last(start, end, inclusive) {
                        None => jump!(off),
                        Some(last) => reg!(a + 1) = Value::Int(last),
                    }
                }
                Instr::ForLoop { a, off } => {
                    if let (&Value::Int(i), &Value::Int(last)) = (rd!(a), rd!(a + 1)) {
                        if i < last {
                            tick!((off as i64).unsigned_abs());
                            reg!(a) = Value::Int(i + 1);
                            jump!(off);
                        }
                    }
                }
                Instr::IterPrep { a } => {
                    let version = match reg!(a) {
                        Value::List(r) => self.heap.list(r).version,
                        Value::Map(r) => self.heap.map(r).version,
                        Value::Str(_) => 0,
                        other => throw!(format!("cannot iterate over {}", other.type_name())),
                    };
                    reg!(a + 1) = Value::Int(0);
                    reg!(a + 2) = Value::Int(version as i64);
                }
                Instr::IterNext { a, off } => {
                    let Value::Int(pos) = reg!(a + 1) else {
                        throw!("corrupt iterator");
                    };
                    let Value::Int(version) = reg!(a + 2) else {
                        throw!("corrupt iterator");
                    };
                    let pos = pos as usize;
                    match reg!(a) {
                        Value::List(r) => {
                            let l = self.heap.list(r);
                            if l.version as i64 != version {
                                throw!("list changed during iteration");
                            }
                            match l.items.get(pos) {
                                Some(&v) => {
                                    reg!(a + 3) = v;
                                    reg!(a + 1) = Value::Int(pos as i64 + 1);
                                }
                                None => jump!(off),
                            }
                        }
                        Value::Map(r) => {
                            let m = self.heap.map(r);
                            if m.version as i64 != version {
                                throw!("map changed during iteration");
                            }
                            match m.entries.get_index(pos) {
                                Some((k, _)) => {
                                    let k = k.clone();
                                    let v = self.key_value(&k);
                                    reg!(a + 3) = v;
                                    reg!(a + 1) = Value::Int(pos as i64 + 1);
                                    gc_point!();
                                }
                                None => jump!(off),
                            }
                        }
                        Value::Str(r) => {
                            let s = &self.heap.str(r).text;
                            match s.get(pos..).and_then(|t| t.chars().next()) {
                                Some(ch) => {
                                    let v = self.char_value(ch);
                                    reg!(a + 3) = v;
                                    reg!(a + 1) = Value::Int((pos + ch.len_utf8()) as i64);
                                    gc_point!();
                                }
                                None => jump!(off),
                            }
                        }
                        _ => throw!("corrupt iterator"),
                    }
                }

                Instr::NewList { a, b, c } => {
                    let start = base!() + b as usize;
                    let items = self.regs[start..start + c as usize].to_vec();
                    reg!(a) = self.heap.alloc_list(items);
                    gc_point!();
                }
                Instr::AppendList { a, b, c } => {
                    let start = base!() + b as usize;
                    if let Value::List(r) = reg!(a) {
                        let len = self.heap.list(r).items.len() + c as usize;
                        try_op!(self.check_len(len, "list"));
                        let items: Vec<Value> = self.regs[start..start + c as usize].to_vec();
                        let l = self.heap.list_mut(r);
                        l.items.extend_from_slice(&items);
                        l.version = l.version.wrapping_add(1);
                        self.heap.grew(items.len() * 16);
                        gc_point!();
                    }
                }
                Instr::NewMap { a, b, c } => {
                    let start = base!() + b as usize;
                    let v = try_op!(ops::new_map(self, start, c as usize));
                    reg!(a) = v;
                    gc_point!();
                }
                Instr::GetIndex { a, b, c } => {
                    let v = match (reg!(b), reg!(c)) {
                        (Value::List(r), Value::Int(i)) => {
                            let items = &self.heap.list(r).items;
                            match items.get(i as usize) {
                                Some(&v) if i >= 0 => v,
                                _ => throw!(format!(
                                    "index {i} out of range for length {}",
                                    items.len()
                                )),
                            }
                        }
                        (x, y) => try_op!(ops::get_index(self, x, y)),
                    };
                    reg!(a) = v;
                    gc_point!();
                }
                Instr::SetIndex { a, b, c } => {
                    let (obj, key, v) = (reg!(a), reg!(b), load!(c));
                    match (obj, key) {
                        (Value::List(r), Value::Int(i)) => {
                            let items = &mut self.heap.list_mut(r).items;
                            let len = items.len();
                            match items.get_mut(i as usize) {
                                Some(slot) if i >= 0 => *slot = v,
                                _ => throw!(format!("index {i} out of range for length {len}")),
                            }
                        }
                        _ => {
                            try_op!(ops::set_index(self, obj, key, v));
                            gc_point!();
                        }
                    }
                }
                Instr::GetField { a, b, k } => {
                    let hint = &proto.field_hints[pc!() - 1];
                    let found = match (rd!(b), &proto.const_text[k as usize]) {
                        (Value::Map(r), Some(key)) => self.heap.map(*r).get_str_cached(key, hint),
                        _ => None,
                    };
                    let v = match found {
                        Some(v) => v,
                        // Not a map, or no such key: the general path says why.
                        None => {
                            let (obj, key) = (reg!(b), proto.consts[k as usize]);
                            try_op!(ops::get_index(self, obj, key))
                        }
                    };
                    reg!(a) = v;
                }
                Instr::SetField { a, k, c } => {
                    let hint = &proto.field_hints[pc!() - 1];
                    let v = load!(c);
                    let done = match (rd!(a), &proto.const_text[k as usize]) {
                        (Value::Map(r), Some(key)) => {
                            self.heap.map_mut(*r).set_str_cached(key, hint, v)
                        }
                        _ => false,
                    };
                    if !done {
                        // A new key (or not a map): the general path.
                        let (obj, key) = (reg!(a), proto.consts[k as usize]);
                        try_op!(ops::set_index(self, obj, key, v));
                        gc_point!();
                    }
                }

                Instr::ToStr { a, b } => {
                    let v = reg!(b);
                    if !matches!(v, Value::Str(_)) {
                        let mut s = std::mem::take(&mut self.scratch);
                        s.clear();
                        self.write_display(v, &mut s);
                        reg!(a) = self.heap.alloc_str(s.as_str());
                        self.return_scratch(s);
                        gc_point!();
                    } else {
                        reg!(a) = v;
                    }
                }
                Instr::Concat { a, b, c } => {
                    let mut s = std::mem::take(&mut self.scratch);
                    s.clear();
                    for i in 0..c as usize {
                        match reg!(b as usize + i) {
                            Value::Str(r) => s.push_str(&self.heap.str(r).text),
                            other => self.write_display(other, &mut s),
                        }
                    }
                    let checked = self.check_string(s.len());
                    if checked.is_ok() {
                        reg!(a) = self.heap.alloc_str(s.as_str());
                    }
                    self.return_scratch(s);
                    try_op!(checked);
                    gc_point!();
                }

                // (The hot loop runs every PUSH and POP; these are for completeness.)
                Instr::Push { a } => {
                    let slot = precomputed!(ip.wrapping_sub(1)) as usize;
                    reg!(slot) = load!(a);
                }
                Instr::Pop { a } => {
                    let slot = precomputed!(ip.wrapping_sub(1)) as usize;
                    reg!(a) = load!(slot);
                }

                Instr::TryBegin { a, off } => {
                    self.handlers.push(Handler {
                        depth: self.frames.len(),
                        pc: (pc!() as isize + off as isize) as usize,
                        reg: base!() + a as usize,
                    });
                }
                Instr::TryEnd => {
                    self.handlers.pop();
                }
            }
        }
    }

    /// Closes the captured variables of a returning frame and drops the `try`
    /// blocks it left open.
    #[cold]
    fn unwind_frame(&mut self, base: usize, depth: usize) {
        if self.open_upvals.last().is_some_and(|&(idx, _)| idx >= base) {
            self.close_upvals(base);
        }
        while self.handlers.last().is_some_and(|h| h.depth >= depth) {
            self.handlers.pop();
        }
    }

    /// The value of a map key (a String key becomes a string value sharing its text).
    pub(crate) fn key_value(&mut self, k: &Key) -> Value {
        match k {
            Key::Int(i) => Value::Int(*i),
            Key::Bool(b) => Value::Bool(*b),
            Key::Str(s) => {
                if s.len() == 1 && s.is_ascii() {
                    self.ascii[s.as_bytes()[0] as usize]
                } else {
                    self.heap.alloc_str(s.clone())
                }
            }
        }
    }

    /// A one-character string.
    pub(crate) fn char_value(&mut self, ch: char) -> Value {
        if ch.is_ascii() {
            self.ascii[ch as usize]
        } else {
            self.heap.alloc_str(ch.to_string())
        }
    }

    /// Whether `v` is a heap object the VM still holds (used by tests).
    pub fn is_live(&self, v: Value) -> bool {
        v.obj()
            .is_some_and(|r| !matches!(self.heap.get(r), Obj::Free))
    }
}

#[cold]
pub(crate) fn arity_error(name: &str, want: usize, got: usize) -> Raise {
    let s = if want == 1 { "" } else { "s" };
    // Stripped bytecode has no function names.
    let name = if name.is_empty() { "function" } else { name };
    Raise::Error(format!("{name} expects {want} argument{s}, got {got}"))
}

#[cold]
fn builtin_arity_error(b: &builtins::Builtin, got: usize) -> Raise {
    match b.max_args {
        Some(max) if max == b.min_args => arity_error(b.name, max as usize, got),
        Some(max) => Raise::Error(format!(
            "{} expects {} to {} arguments, got {got}",
            b.name, b.min_args, max
        )),
        None => Raise::Error(format!(
            "{} expects at least {} argument{}, got {got}",
            b.name,
            b.min_args,
            if b.min_args == 1 { "" } else { "s" }
        )),
    }
}

/// The last value of the range `start..end` (`start..=end` when `inclusive`), or
/// `None` when it is empty. FORPREP leaves it where the end was, so that FORLOOP
/// needs one comparison for either kind of range (and `i < last` leaves room for
/// `i + 1`).
fn for_last(start: i64, end: i64, inclusive: bool) -> Option<i64> {
    if inclusive {
        (start <= end).then_some(end)
    } else {
        // `start < end` means `end > i64::MIN`.
        (start < end).then(|| end - 1)
    }
}
