//! The instruction set. Registers are `u8` offsets from the current window's base;
//! jumps are relative to the instruction after the jump. Every instruction is 8 bytes.
//! docs/bytecode.md gives each one's meaning in the style of Lua's lopcodes.h.

/// A register operand: an offset into the current call frame's window.
pub type Reg = u8;

/// A runtime type named by an annotation (`Int`, `Number`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum TypeTag {
    Any = 0,
    Nil = 1,
    Bool = 2,
    Int = 3,
    Float = 4,
    Number = 5,
    String = 6,
    List = 7,
    Map = 8,
    Fn = 9,
}

impl TypeTag {
    pub const ALL: [TypeTag; 10] = [
        TypeTag::Any,
        TypeTag::Nil,
        TypeTag::Bool,
        TypeTag::Int,
        TypeTag::Float,
        TypeTag::Number,
        TypeTag::String,
        TypeTag::List,
        TypeTag::Map,
        TypeTag::Fn,
    ];

    /// The tag for an annotation name (`void` means Nil).
    pub fn from_name(name: &str) -> Option<TypeTag> {
        Some(match name {
            "Any" => TypeTag::Any,
            "Nil" | "void" => TypeTag::Nil,
            "Bool" => TypeTag::Bool,
            "Int" => TypeTag::Int,
            "Float" => TypeTag::Float,
            "Number" => TypeTag::Number,
            "String" => TypeTag::String,
            "List" => TypeTag::List,
            "Map" => TypeTag::Map,
            "Fn" => TypeTag::Fn,
            _ => return None,
        })
    }

    pub fn from_u8(b: u8) -> Option<TypeTag> {
        TypeTag::ALL.get(b as usize).copied()
    }

    pub fn name(self) -> &'static str {
        match self {
            TypeTag::Any => "Any",
            TypeTag::Nil => "Nil",
            TypeTag::Bool => "Bool",
            TypeTag::Int => "Int",
            TypeTag::Float => "Float",
            TypeTag::Number => "Number",
            TypeTag::String => "String",
            TypeTag::List => "List",
            TypeTag::Map => "Map",
            TypeTag::Fn => "Fn",
        }
    }
}

/// One instruction. `a`, `b`, `c` are registers unless named otherwise; `k` indexes
/// the constant pool, `g` the program's global table, `f` the nested prototypes,
/// `u` the closure's captures, `off` is a signed jump relative to the next instruction.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Instr {
    /// R[a] := R[b]
    Move { a: Reg, b: Reg },
    /// R[a] := R[b], then R[c] := R[d]: two moves in one dispatch (the compiler
    /// fuses consecutive MOVEs, as in a swap or a call's argument setup).
    Move2 { a: Reg, b: Reg, c: Reg, d: Reg },
    /// R[a] := R[b] + R[c], then R[d] := R[e], then R[f] := R[a]: an ADD into a
    /// temporary and the MOVE2 that rotates it into place (`let t = a + b; a = b;
    /// b = t`), in one dispatch and without reloading the sum. `d != a` (checked
    /// by the verifier).
    AddMove2 {
        a: Reg,
        b: Reg,
        c: Reg,
        d: Reg,
        e: Reg,
        f: Reg,
    },
    /// R[a] := nil
    LoadNil { a: Reg },
    /// R[a] := b
    LoadBool { a: Reg, b: bool },
    /// R[a] := i (a small Int)
    LoadInt { a: Reg, i: i32 },
    /// R[a] := K[k]
    LoadK { a: Reg, k: u32 },
    /// R[a] := G[g] (error if undefined)
    GetGlobal { a: Reg, g: u32 },
    /// G[g] := R[a]
    SetGlobal { a: Reg, g: u32 },
    /// R[a] := Upvalue[u]
    GetUpval { a: Reg, u: u8 },
    /// Upvalue[u] := R[a]
    SetUpval { a: Reg, u: u8 },
    /// Close every captured variable in registers >= R[a] (move it to the heap).
    Close { a: Reg },
    /// R[a] := a new closure of prototype F[f]
    Closure { a: Reg, f: u32 },

    /// R[a] := R[b] + R[c]
    Add { a: Reg, b: Reg, c: Reg },
    /// R[a] := R[b] - R[c]
    Sub { a: Reg, b: Reg, c: Reg },
    /// R[a] := R[b] * R[c]
    Mul { a: Reg, b: Reg, c: Reg },
    /// R[a] := R[b] / R[c] (always Float)
    Div { a: Reg, b: Reg, c: Reg },
    /// R[a] := R[b] // R[c] (floor division)
    IDiv { a: Reg, b: Reg, c: Reg },
    /// R[a] := R[b] % R[c] (floored modulo)
    Mod { a: Reg, b: Reg, c: Reg },
    /// R[a] := R[b] + i
    AddI { a: Reg, b: Reg, i: i32 },
    /// R[a] := R[b] * i
    MulI { a: Reg, b: Reg, i: i32 },
    /// R[a] := R[b] * i + R[c], exactly as `MULI` into a temporary and then `ADD`
    /// (`x * 3 + y` with `y` a local: one dispatch, and the product never goes
    /// through a register).
    MulAddI { a: Reg, b: Reg, c: Reg, i: i32 },
    /// R[a] := R[b] % i
    ModI { a: Reg, b: Reg, i: i32 },
    /// R[a] := R[b] // i
    IDivI { a: Reg, b: Reg, i: i32 },
    /// R[a] := -R[b]
    Neg { a: Reg, b: Reg },
    /// R[a] := !R[b] (R[b] must be Bool)
    Not { a: Reg, b: Reg },
    /// R[a] := R[b] == R[c]
    Eq { a: Reg, b: Reg, c: Reg },
    /// R[a] := R[b] != R[c]
    Ne { a: Reg, b: Reg, c: Reg },
    /// R[a] := R[b] < R[c]
    Lt { a: Reg, b: Reg, c: Reg },
    /// R[a] := R[b] <= R[c]
    Le { a: Reg, b: Reg, c: Reg },
    /// R[a] := R[b] > R[c]
    Gt { a: Reg, b: Reg, c: Reg },
    /// R[a] := R[b] >= R[c]
    Ge { a: Reg, b: Reg, c: Reg },

    /// if R[a] < R[b] then pc += off (a fused compare-and-branch; likewise below)
    JmpLt { a: Reg, b: Reg, off: i32 },
    /// if R[a] <= R[b] then pc += off
    JmpLe { a: Reg, b: Reg, off: i32 },
    /// if not (R[a] < R[b]) then pc += off
    JmpNotLt { a: Reg, b: Reg, off: i32 },
    /// if not (R[a] <= R[b]) then pc += off
    JmpNotLe { a: Reg, b: Reg, off: i32 },
    /// if not (R[a] > R[b]) then pc += off
    JmpNotGt { a: Reg, b: Reg, off: i32 },
    /// if not (R[a] >= R[b]) then pc += off
    JmpNotGe { a: Reg, b: Reg, off: i32 },
    /// if not (R[a] == R[b]) then pc += off
    JmpNotEq { a: Reg, b: Reg, off: i32 },
    /// if R[a] == R[b] then pc += off
    JmpEq { a: Reg, b: Reg, off: i32 },

    /// if not (R[a] == i) then pc += off (compare with an immediate; likewise below)
    JmpNotEqI { a: Reg, i: i16, off: i32 },
    /// R[a] := R[b] % k, then `JMPNOTEQI a c off`: the remainder test of
    /// `if x % 3 == 1 {`, made by the compiler's last pass from a MODI and the
    /// JMPNOTEQI after it (`k >= 1`; the offset is final when it is made, and is
    /// never patched).
    JmpModNotEqI {
        a: Reg,
        b: Reg,
        c: i8,
        k: u16,
        off: i16,
    },
    /// if R[a] == i then pc += off
    JmpEqI { a: Reg, i: i16, off: i32 },
    /// if not (R[a] < i) then pc += off
    JmpNotLtI { a: Reg, i: i16, off: i32 },
    /// if not (R[a] <= i) then pc += off
    JmpNotLeI { a: Reg, i: i16, off: i32 },
    /// if not (R[a] > i) then pc += off
    JmpNotGtI { a: Reg, i: i16, off: i32 },
    /// if not (R[a] >= i) then pc += off
    JmpNotGeI { a: Reg, i: i16, off: i32 },

    /// pc += off
    Jmp { off: i32 },
    /// if R[a] is false then pc += off (error unless R[a] is Bool)
    JmpIfFalse { a: Reg, off: i32 },
    /// if R[a] is true then pc += off (error unless R[a] is Bool)
    JmpIfTrue { a: Reg, off: i32 },
    /// error unless R[a] is Bool
    CheckBool { a: Reg },
    /// error unless R[a] has type t; K[k] is a String describing the slot
    /// ("parameter 'n' of half")
    CheckType { a: Reg, t: TypeTag, k: u16 },

    /// Call R[a] with the b arguments R[a+1..=a+b]; the result goes to R[a].
    /// The callee's window starts at R[a+1].
    Call { a: Reg, b: u8 },
    /// R[a] := G[g], R[a+1] := R[b], then `CALL a 1`: a global function called with
    /// one local variable (`len(s)`, `pop(s)`), in one dispatch. The argument is
    /// read before anything is written; `len` and `pop` run on it in place (what
    /// R[a+1] holds after the call is unspecified, as after any CALL).
    CallG1 { a: Reg, b: Reg, g: u32 },
    /// R[a] := G[g], R[a+1] := R[b], R[a+2] := R[c], then `CALL a 2` (`push(s, x)`
    /// with `s` and `x` locals); likewise.
    CallG2 { a: Reg, b: Reg, c: Reg, g: u32 },
    /// return R[a]
    Return { a: Reg },
    /// return nil
    Return0,

    /// Numeric for loop prologue: R[a] = counter (also the loop variable), R[a+1] =
    /// end (both Int, checked; the end is excluded unless inclusive). If the range
    /// is empty, pc += off. Otherwise R[a+1] := the range's last value (end, or
    /// end - 1 when exclusive).
    ForPrep { a: Reg, inclusive: bool, off: i32 },
    /// if R[a] < R[a+1] (the last value) { R[a] += 1; pc += off }
    ForLoop { a: Reg, off: i32 },
    /// Generic for prologue over R[a] (List, Map or String): R[a+1] := 0 (position),
    /// R[a+2] := a snapshot of the container's version.
    IterPrep { a: Reg },
    /// Next element of the iteration at R[a..a+3] into R[a+3]; when exhausted, pc += off.
    IterNext { a: Reg, off: i32 },

    /// R[a] := [R[b], ..., R[b+c-1]]
    NewList { a: Reg, b: Reg, c: u8 },
    /// R[a] (a List) gets R[b], ..., R[b+c-1] appended (long list literals)
    AppendList { a: Reg, b: Reg, c: u8 },
    /// R[a] := {R[b]: R[b+1], ...} with c key/value pairs
    NewMap { a: Reg, b: Reg, c: u8 },
    /// R[a] := R[b][R[c]]
    GetIndex { a: Reg, b: Reg, c: Reg },
    /// R[a][R[b]] := R[c]
    SetIndex { a: Reg, b: Reg, c: Reg },
    /// R[a] := R[b][K[k]] (K[k] a String)
    GetField { a: Reg, b: Reg, k: u16 },
    /// R[a][K[k]] := R[c] (K[k] a String)
    SetField { a: Reg, k: u16, c: Reg },

    /// R[a] := str(R[b])
    ToStr { a: Reg, b: Reg },
    /// R[a] := R[b] .. ... .. R[b+c-1] (all Strings)
    Concat { a: Reg, b: Reg, c: u8 },

    /// Push R[a] onto the frame's virtual stack (registers above the named ones).
    Push { a: Reg },
    /// Pop the virtual stack's top into R[a].
    Pop { a: Reg },

    /// Enter a try block: on a runtime error, unwind to this frame, close captured
    /// variables in registers >= R[a], R[a] := the error map, pc := next + off.
    TryBegin { a: Reg, off: i32 },
    /// Leave the innermost try block.
    TryEnd,
}

const _: () = assert!(std::mem::size_of::<Instr>() == 8);

impl Instr {
    /// The jump offset of a branching instruction, for patching (not JMPMODNOTEQI's:
    /// its 16-bit offset is final when the compiler makes it; `jump` reads it).
    pub fn jump_mut(&mut self) -> Option<&mut i32> {
        match self {
            Instr::Jmp { off }
            | Instr::JmpIfFalse { off, .. }
            | Instr::JmpIfTrue { off, .. }
            | Instr::JmpLt { off, .. }
            | Instr::JmpLe { off, .. }
            | Instr::JmpNotLt { off, .. }
            | Instr::JmpNotLe { off, .. }
            | Instr::JmpNotGt { off, .. }
            | Instr::JmpNotGe { off, .. }
            | Instr::JmpNotEq { off, .. }
            | Instr::JmpEq { off, .. }
            | Instr::JmpNotEqI { off, .. }
            | Instr::JmpEqI { off, .. }
            | Instr::JmpNotLtI { off, .. }
            | Instr::JmpNotLeI { off, .. }
            | Instr::JmpNotGtI { off, .. }
            | Instr::JmpNotGeI { off, .. }
            | Instr::ForPrep { off, .. }
            | Instr::ForLoop { off, .. }
            | Instr::IterNext { off, .. }
            | Instr::TryBegin { off, .. } => Some(off),
            _ => None,
        }
    }

    /// The jump offset of a branching instruction: it may continue at
    /// `pc + 1 + offset`.
    pub fn jump(&self) -> Option<i32> {
        if let Instr::JmpModNotEqI { off, .. } = *self {
            return Some(off as i32);
        }
        let mut copy = *self;
        copy.jump_mut().map(|off| *off)
    }

    /// The global-table operand, for relinking (GETGLOBAL, SETGLOBAL, CALLG1/2).
    pub fn global_mut(&mut self) -> Option<&mut u32> {
        match self {
            Instr::GetGlobal { g, .. }
            | Instr::SetGlobal { g, .. }
            | Instr::CallG1 { g, .. }
            | Instr::CallG2 { g, .. } => Some(g),
            _ => None,
        }
    }

    /// The global-table operand, if the instruction has one.
    pub fn global(&self) -> Option<u32> {
        let mut copy = *self;
        copy.global_mut().map(|g| *g)
    }

    /// Whether execution may continue with the next instruction.
    pub fn falls_through(&self) -> bool {
        !matches!(
            self,
            Instr::Jmp { .. } | Instr::Return { .. } | Instr::Return0
        )
    }

    /// Calls `f(first, count)` for every run of registers the instruction reads or
    /// writes, implicit ones included (a call's arguments, a loop's hidden state).
    pub fn register_spans(&self, mut f: impl FnMut(Reg, usize)) {
        use Instr::*;
        match *self {
            Move { a, b }
            | Neg { a, b }
            | Not { a, b }
            | ToStr { a, b }
            | AddI { a, b, .. }
            | MulI { a, b, .. }
            | ModI { a, b, .. }
            | IDivI { a, b, .. }
            | GetField { a, b, .. }
            | JmpLt { a, b, .. }
            | JmpLe { a, b, .. }
            | JmpNotLt { a, b, .. }
            | JmpNotLe { a, b, .. }
            | JmpNotGt { a, b, .. }
            | JmpNotGe { a, b, .. }
            | JmpNotEq { a, b, .. }
            | JmpEq { a, b, .. }
            | SetField { a, c: b, .. } => {
                f(a, 1);
                f(b, 1);
            }
            LoadNil { a }
            | LoadBool { a, .. }
            | LoadInt { a, .. }
            | LoadK { a, .. }
            | GetGlobal { a, .. }
            | SetGlobal { a, .. }
            | GetUpval { a, .. }
            | SetUpval { a, .. }
            | Close { a }
            | Closure { a, .. }
            | JmpIfFalse { a, .. }
            | JmpIfTrue { a, .. }
            | JmpNotEqI { a, .. }
            | JmpEqI { a, .. }
            | JmpNotLtI { a, .. }
            | JmpNotLeI { a, .. }
            | JmpNotGtI { a, .. }
            | JmpNotGeI { a, .. }
            | CheckBool { a }
            | CheckType { a, .. }
            | Return { a }
            | Push { a }
            | Pop { a }
            | TryBegin { a, .. } => f(a, 1),
            Add { a, b, c }
            | Sub { a, b, c }
            | Mul { a, b, c }
            | Div { a, b, c }
            | IDiv { a, b, c }
            | Mod { a, b, c }
            | Eq { a, b, c }
            | Ne { a, b, c }
            | Lt { a, b, c }
            | Le { a, b, c }
            | Gt { a, b, c }
            | Ge { a, b, c }
            | GetIndex { a, b, c }
            | SetIndex { a, b, c } => {
                f(a, 1);
                f(b, 1);
                f(c, 1);
            }
            // R[a] is the callee, R[a+1 ..= a+b] its arguments.
            Call { a, b } => f(a, b as usize + 1),
            CallG1 { a, b, .. } => {
                f(a, 2);
                f(b, 1);
            }
            CallG2 { a, b, c, .. } => {
                f(a, 3);
                f(b, 1);
                f(c, 1);
            }
            // R[a] counter (and loop variable), R[a+1] limit.
            ForPrep { a, .. } | ForLoop { a, .. } => f(a, 2),
            // R[a] container, R[a+1] position, R[a+2] version, R[a+3] element.
            IterPrep { a } | IterNext { a, .. } => f(a, 4),
            NewList { a, b, c } | AppendList { a, b, c } | Concat { a, b, c } => {
                f(a, 1);
                f(b, c as usize);
            }
            NewMap { a, b, c } => {
                f(a, 1);
                f(b, 2 * c as usize);
            }
            MulAddI { a, b, c, .. } => {
                f(a, 1);
                f(b, 1);
                f(c, 1);
            }
            JmpModNotEqI { a, b, .. } => {
                f(a, 1);
                f(b, 1);
            }
            Move2 { a, b, c, d } => {
                f(a, 1);
                f(b, 1);
                f(c, 1);
                f(d, 1);
            }
            AddMove2 {
                a,
                b,
                c,
                d,
                e,
                f: g,
            } => {
                for r in [a, b, c, d, e, g] {
                    f(r, 1);
                }
            }
            Jmp { .. } | Return0 | TryEnd => {}
        }
    }
}
