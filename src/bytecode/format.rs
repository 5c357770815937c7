//! The `.velac` file format: a compiled [`Program`] as bytes, hand-written
//! little-endian. docs/bytecode.md specifies it byte by byte.
//!
//! [`read`] trusts nothing: every length is checked against the bytes that remain
//! before anything is allocated, nesting is bounded and the whole file is covered by a
//! checksum. It only decodes; [`load`] also runs the verifier, which is what makes a
//! decoded program safe to hand to the VM.

use super::instr::{Instr, TypeTag};
use super::proto::{Capture, Constant, FnProto, Program};
use super::verify::{verify, VerifyError};
use std::fmt;

/// The first bytes of every `.velac` file. The high-bit first byte catches 7-bit
/// transfers, `\r\n` a CRLF → LF conversion, `\x1a` stops `type` on DOS, and the
/// final `\n` catches LF → CRLF.
pub const MAGIC: &[u8; 10] = b"\x89VELAC\r\n\x1a\n";
/// The version of the layout below; bumped on any change to it.
pub const FORMAT_VERSION: u16 = 5;
/// The version of the compiler that writes (and the VM that reads) files.
pub const VELA_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Header flag: debug information (names, line tables, chunk name) was stripped.
pub const FLAG_STRIPPED: u16 = 1;
/// Check values written in the header; a file whose values differ was mangled
/// (byte order swapped, integers narrowed, floats converted).
pub const CHECK_U32: u32 = 0x0102_0304;
pub const CHECK_I64: i64 = -0x0102_0304_0506_0708;
pub const CHECK_F64: f64 = -370.5;

/// Deepest nesting of function prototypes a file may hold (the main function is
/// depth 0). The compiler refuses deeper nesting, so its output always fits.
pub const MAX_NESTING: usize = 200;

/// Why a `.velac` file could not be loaded.
#[derive(Clone, Debug, PartialEq)]
pub enum LoadError {
    /// The file does not start with the magic bytes.
    NotBytecode,
    /// The magic bytes were changed by a newline conversion.
    TextMode,
    /// Written by another format version.
    Version { writer: String, format: u16 },
    /// The file ends early or has bytes after the payload.
    Length { expected: u64, found: u64 },
    /// The checksum does not match the contents.
    Checksum,
    /// A malformed field, at a byte offset of the file.
    Corrupt { offset: usize, what: String },
    /// Decoded, but the verifier refused it.
    Invalid(VerifyError),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::NotBytecode => write!(f, "not a Vela bytecode file (bad magic bytes)"),
            LoadError::TextMode => write!(
                f,
                "the file was damaged by a text-mode transfer (newline conversion)"
            ),
            LoadError::Version { writer, format } => write!(
                f,
                "written by vela {writer} (format {format}); this is vela {VELA_VERSION} (format {FORMAT_VERSION}): recompile the source"
            ),
            LoadError::Length { expected, found } => {
                if found < expected {
                    write!(
                        f,
                        "truncated file ({found} bytes, the header says {expected})"
                    )
                } else {
                    write!(
                        f,
                        "trailing garbage ({found} bytes, the header says {expected})"
                    )
                }
            }
            LoadError::Checksum => write!(f, "checksum mismatch: the file is corrupt"),
            LoadError::Corrupt { offset, what } => {
                write!(f, "corrupt file at byte {offset}: {what}")
            }
            LoadError::Invalid(e) => write!(f, "invalid bytecode: {e}"),
        }
    }
}

impl std::error::Error for LoadError {}

impl From<VerifyError> for LoadError {
    fn from(e: VerifyError) -> LoadError {
        LoadError::Invalid(e)
    }
}

/// Whether `bytes` look like a `.velac` file (start with the magic bytes, or with
/// their newline-mangled forms). `vela run` uses it to tell bytecode from source.
pub fn is_bytecode(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC) || mangled_magic(bytes)
}

fn mangled_magic(bytes: &[u8]) -> bool {
    // \r\n -> \n, \n -> \r\n, or both.
    const LF: &[u8] = b"\x89VELAC\n\x1a\n";
    const CRLF: &[u8] = b"\x89VELAC\r\r\n\x1a\r\n";
    const LF_CRLF: &[u8] = b"\x89VELAC\r\n\x1a\r\n";
    [LF, CRLF, LF_CRLF].iter().any(|m| bytes.starts_with(m))
}

/// 64-bit FNV-1a. Any single changed byte changes the hash.
pub fn fnv1a64(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &b in *part {
            h ^= b as u64;
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

// ---------------------------------------------------------------------------
// Opcodes: one byte per instruction kind, in the order of `Instr`'s variants.

mod op {
    pub const MOVE: u8 = 0;
    pub const LOADNIL: u8 = 1;
    pub const LOADBOOL: u8 = 2;
    pub const LOADINT: u8 = 3;
    pub const LOADK: u8 = 4;
    pub const GETGLOBAL: u8 = 5;
    pub const SETGLOBAL: u8 = 6;
    pub const GETUPVAL: u8 = 7;
    pub const SETUPVAL: u8 = 8;
    pub const CLOSE: u8 = 9;
    pub const CLOSURE: u8 = 10;
    pub const ADD: u8 = 11;
    pub const SUB: u8 = 12;
    pub const MUL: u8 = 13;
    pub const DIV: u8 = 14;
    pub const IDIV: u8 = 15;
    pub const MOD: u8 = 16;
    pub const ADDI: u8 = 17;
    pub const NEG: u8 = 18;
    pub const NOT: u8 = 19;
    pub const EQ: u8 = 20;
    pub const NE: u8 = 21;
    pub const LT: u8 = 22;
    pub const LE: u8 = 23;
    pub const GT: u8 = 24;
    pub const GE: u8 = 25;
    pub const JMPLT: u8 = 26;
    pub const JMPLE: u8 = 27;
    pub const JMPNOTLT: u8 = 28;
    pub const JMPNOTLE: u8 = 29;
    pub const JMPNOTGT: u8 = 30;
    pub const JMPNOTGE: u8 = 31;
    pub const JMPNOTEQ: u8 = 32;
    pub const JMPEQ: u8 = 33;
    pub const JMP: u8 = 34;
    pub const JMPIFFALSE: u8 = 35;
    pub const JMPIFTRUE: u8 = 36;
    pub const CHECKBOOL: u8 = 37;
    pub const CHECKTYPE: u8 = 38;
    pub const CALL: u8 = 39;
    pub const RETURN: u8 = 40;
    pub const RETURN0: u8 = 41;
    pub const FORPREP: u8 = 42;
    pub const FORLOOP: u8 = 43;
    pub const ITERPREP: u8 = 44;
    pub const ITERNEXT: u8 = 45;
    pub const NEWLIST: u8 = 46;
    pub const APPENDLIST: u8 = 47;
    pub const NEWMAP: u8 = 48;
    pub const GETINDEX: u8 = 49;
    pub const SETINDEX: u8 = 50;
    pub const GETFIELD: u8 = 51;
    pub const SETFIELD: u8 = 52;
    pub const TOSTR: u8 = 53;
    pub const CONCAT: u8 = 54;
    pub const PUSH: u8 = 55;
    pub const POP: u8 = 56;
    pub const TRYBEGIN: u8 = 57;
    pub const TRYEND: u8 = 58;
    pub const MULI: u8 = 59;
    pub const MODI: u8 = 60;
    pub const IDIVI: u8 = 61;
    pub const JMPNOTEQI: u8 = 62;
    pub const JMPEQI: u8 = 63;
    pub const JMPNOTLTI: u8 = 64;
    pub const JMPNOTLEI: u8 = 65;
    pub const JMPNOTGTI: u8 = 66;
    pub const JMPNOTGEI: u8 = 67;
    pub const MOVE2: u8 = 68;
    pub const MULADDI: u8 = 69;
    pub const JMPMODNOTEQI: u8 = 70;
    pub const ADDMOVE2: u8 = 71;
    pub const CALLG1: u8 = 72;
    pub const CALLG2: u8 = 73;
}

const CONST_INT: u8 = 0;
const CONST_FLOAT: u8 = 1;
const CONST_STR: u8 = 2;
const CAPTURE_LOCAL: u8 = 0;
const CAPTURE_UPVALUE: u8 = 1;

// ---------------------------------------------------------------------------
// Writing.

struct Writer {
    out: Vec<u8>,
}

impl Writer {
    fn u8(&mut self, b: u8) {
        self.out.push(b);
    }
    fn bool(&mut self, b: bool) {
        self.out.push(b as u8);
    }
    fn u16(&mut self, v: u16) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }
    /// Unsigned LEB128: 7 bits a byte, least significant first, high bit = more.
    fn var(&mut self, mut v: u64) {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.out.push(byte);
                return;
            }
            self.out.push(byte | 0x80);
        }
    }
    /// Signed: zigzag (0, -1, 1, -2, ... → 0, 1, 2, 3, ...) then LEB128.
    fn svar(&mut self, v: i64) {
        self.var(((v << 1) ^ (v >> 63)) as u64);
    }
    fn len(&mut self, n: usize) {
        self.var(n as u64);
    }
    fn str(&mut self, s: &str) {
        self.len(s.len());
        self.out.extend_from_slice(s.as_bytes());
    }

    fn instr(&mut self, ins: &Instr) {
        let (w, ins) = (self, *ins);
        match ins {
            Instr::Move { a, b } => w.rr(op::MOVE, a, b),
            Instr::Move2 { a, b, c, d } => {
                w.rrr(op::MOVE2, a, b, c);
                w.u8(d)
            }
            Instr::AddMove2 { a, b, c, d, e, f } => {
                w.rrr(op::ADDMOVE2, a, b, c);
                w.u8(d);
                w.u8(e);
                w.u8(f)
            }
            Instr::LoadNil { a } => w.r(op::LOADNIL, a),
            Instr::LoadBool { a, b } => {
                w.r(op::LOADBOOL, a);
                w.bool(b);
            }
            Instr::LoadInt { a, i } => {
                w.r(op::LOADINT, a);
                w.svar(i as i64);
            }
            Instr::LoadK { a, k } => {
                w.r(op::LOADK, a);
                w.var(k as u64);
            }
            Instr::GetGlobal { a, g } => {
                w.r(op::GETGLOBAL, a);
                w.var(g as u64);
            }
            Instr::SetGlobal { a, g } => {
                w.r(op::SETGLOBAL, a);
                w.var(g as u64);
            }
            Instr::GetUpval { a, u } => w.rr(op::GETUPVAL, a, u),
            Instr::SetUpval { a, u } => w.rr(op::SETUPVAL, a, u),
            Instr::Close { a } => w.r(op::CLOSE, a),
            Instr::Closure { a, f } => {
                w.r(op::CLOSURE, a);
                w.var(f as u64);
            }
            Instr::Add { a, b, c } => w.rrr(op::ADD, a, b, c),
            Instr::Sub { a, b, c } => w.rrr(op::SUB, a, b, c),
            Instr::Mul { a, b, c } => w.rrr(op::MUL, a, b, c),
            Instr::Div { a, b, c } => w.rrr(op::DIV, a, b, c),
            Instr::IDiv { a, b, c } => w.rrr(op::IDIV, a, b, c),
            Instr::Mod { a, b, c } => w.rrr(op::MOD, a, b, c),
            Instr::AddI { a, b, i } => {
                w.rr(op::ADDI, a, b);
                w.svar(i as i64);
            }
            Instr::MulI { a, b, i } => w.rri(op::MULI, a, b, i),
            Instr::MulAddI { a, b, c, i } => {
                w.rrr(op::MULADDI, a, b, c);
                w.svar(i as i64)
            }
            Instr::JmpModNotEqI { a, b, c, k, off } => {
                w.rr(op::JMPMODNOTEQI, a, b);
                w.svar(c as i64);
                w.var(k as u64);
                w.svar(off as i64)
            }
            Instr::ModI { a, b, i } => w.rri(op::MODI, a, b, i),
            Instr::IDivI { a, b, i } => w.rri(op::IDIVI, a, b, i),
            Instr::JmpNotEqI { a, i, off } => w.rij(op::JMPNOTEQI, a, i, off),
            Instr::JmpEqI { a, i, off } => w.rij(op::JMPEQI, a, i, off),
            Instr::JmpNotLtI { a, i, off } => w.rij(op::JMPNOTLTI, a, i, off),
            Instr::JmpNotLeI { a, i, off } => w.rij(op::JMPNOTLEI, a, i, off),
            Instr::JmpNotGtI { a, i, off } => w.rij(op::JMPNOTGTI, a, i, off),
            Instr::JmpNotGeI { a, i, off } => w.rij(op::JMPNOTGEI, a, i, off),
            Instr::Neg { a, b } => w.rr(op::NEG, a, b),
            Instr::Not { a, b } => w.rr(op::NOT, a, b),
            Instr::Eq { a, b, c } => w.rrr(op::EQ, a, b, c),
            Instr::Ne { a, b, c } => w.rrr(op::NE, a, b, c),
            Instr::Lt { a, b, c } => w.rrr(op::LT, a, b, c),
            Instr::Le { a, b, c } => w.rrr(op::LE, a, b, c),
            Instr::Gt { a, b, c } => w.rrr(op::GT, a, b, c),
            Instr::Ge { a, b, c } => w.rrr(op::GE, a, b, c),
            Instr::JmpLt { a, b, off } => w.rrj(op::JMPLT, a, b, off),
            Instr::JmpLe { a, b, off } => w.rrj(op::JMPLE, a, b, off),
            Instr::JmpNotLt { a, b, off } => w.rrj(op::JMPNOTLT, a, b, off),
            Instr::JmpNotLe { a, b, off } => w.rrj(op::JMPNOTLE, a, b, off),
            Instr::JmpNotGt { a, b, off } => w.rrj(op::JMPNOTGT, a, b, off),
            Instr::JmpNotGe { a, b, off } => w.rrj(op::JMPNOTGE, a, b, off),
            Instr::JmpNotEq { a, b, off } => w.rrj(op::JMPNOTEQ, a, b, off),
            Instr::JmpEq { a, b, off } => w.rrj(op::JMPEQ, a, b, off),
            Instr::Jmp { off } => {
                w.u8(op::JMP);
                w.svar(off as i64);
            }
            Instr::JmpIfFalse { a, off } => {
                w.r(op::JMPIFFALSE, a);
                w.svar(off as i64);
            }
            Instr::JmpIfTrue { a, off } => {
                w.r(op::JMPIFTRUE, a);
                w.svar(off as i64);
            }
            Instr::CheckBool { a } => w.r(op::CHECKBOOL, a),
            Instr::CheckType { a, t, k } => {
                w.rr(op::CHECKTYPE, a, t as u8);
                w.var(k as u64);
            }
            Instr::Call { a, b } => w.rr(op::CALL, a, b),
            Instr::CallG1 { a, b, g } => {
                w.rr(op::CALLG1, a, b);
                w.var(g as u64);
            }
            Instr::CallG2 { a, b, c, g } => {
                w.rrr(op::CALLG2, a, b, c);
                w.var(g as u64);
            }
            Instr::Return { a } => w.r(op::RETURN, a),
            Instr::Return0 => w.u8(op::RETURN0),
            Instr::ForPrep { a, inclusive, off } => {
                w.rr(op::FORPREP, a, inclusive as u8);
                w.svar(off as i64);
            }
            Instr::ForLoop { a, off } => {
                w.r(op::FORLOOP, a);
                w.svar(off as i64);
            }
            Instr::IterPrep { a } => w.r(op::ITERPREP, a),
            Instr::IterNext { a, off } => {
                w.r(op::ITERNEXT, a);
                w.svar(off as i64);
            }
            Instr::NewList { a, b, c } => w.rrr(op::NEWLIST, a, b, c),
            Instr::AppendList { a, b, c } => w.rrr(op::APPENDLIST, a, b, c),
            Instr::NewMap { a, b, c } => w.rrr(op::NEWMAP, a, b, c),
            Instr::GetIndex { a, b, c } => w.rrr(op::GETINDEX, a, b, c),
            Instr::SetIndex { a, b, c } => w.rrr(op::SETINDEX, a, b, c),
            Instr::GetField { a, b, k } => {
                w.rr(op::GETFIELD, a, b);
                w.var(k as u64);
            }
            Instr::SetField { a, k, c } => {
                w.rr(op::SETFIELD, a, c);
                w.var(k as u64);
            }
            Instr::ToStr { a, b } => w.rr(op::TOSTR, a, b),
            Instr::Concat { a, b, c } => w.rrr(op::CONCAT, a, b, c),
            Instr::Push { a } => w.r(op::PUSH, a),
            Instr::Pop { a } => w.r(op::POP, a),
            Instr::TryBegin { a, off } => {
                w.r(op::TRYBEGIN, a);
                w.svar(off as i64);
            }
            Instr::TryEnd => w.u8(op::TRYEND),
        }
    }
    fn r(&mut self, op: u8, a: u8) {
        self.out.extend_from_slice(&[op, a]);
    }
    fn rr(&mut self, op: u8, a: u8, b: u8) {
        self.out.extend_from_slice(&[op, a, b]);
    }
    fn rrr(&mut self, op: u8, a: u8, b: u8, c: u8) {
        self.out.extend_from_slice(&[op, a, b, c]);
    }
    /// Two registers and an immediate.
    fn rri(&mut self, op: u8, a: u8, b: u8, i: i32) {
        self.rr(op, a, b);
        self.svar(i as i64);
    }
    /// A register, a small immediate and a jump offset.
    fn rij(&mut self, op: u8, a: u8, i: i16, off: i32) {
        self.r(op, a);
        self.svar(i as i64);
        self.svar(off as i64);
    }
    fn rrj(&mut self, op: u8, a: u8, b: u8, off: i32) {
        self.rr(op, a, b);
        self.svar(off as i64);
    }

    fn proto(&mut self, p: &FnProto, strip: bool) {
        self.str(if strip { "" } else { &p.name });
        self.u8(p.arity);
        self.u8(p.num_regs);
        self.u8(p.max_stack);
        self.len(p.code.len());
        for ins in &p.code {
            self.instr(ins);
        }
        self.len(p.consts.len());
        for c in &p.consts {
            match c {
                Constant::Int(i) => {
                    self.u8(CONST_INT);
                    self.svar(*i);
                }
                Constant::Float(f) => {
                    self.u8(CONST_FLOAT);
                    self.u64(f.to_bits());
                }
                Constant::Str(s) => {
                    self.u8(CONST_STR);
                    self.str(s);
                }
            }
        }
        self.len(p.captures.len());
        for c in &p.captures {
            match *c {
                Capture::Local(r) => {
                    self.u8(CAPTURE_LOCAL);
                    self.u8(r);
                }
                Capture::Upvalue(u) => {
                    self.u8(CAPTURE_UPVALUE);
                    self.u8(u);
                }
            }
        }
        // Line table: runs of equal lines, each (line - previous run's line, count).
        let lines: &[u32] = if strip { &[] } else { &p.lines };
        let mut runs: Vec<(u32, usize)> = Vec::new();
        for &l in lines {
            match runs.last_mut() {
                Some((line, n)) if *line == l => *n += 1,
                _ => runs.push((l, 1)),
            }
        }
        self.len(runs.len());
        let mut prev = 0i64;
        for (line, n) in runs {
            self.svar(line as i64 - prev);
            self.len(n);
            prev = line as i64;
        }
        self.len(p.protos.len());
        for child in &p.protos {
            self.proto(child, strip);
        }
    }
}

/// Serialises a program. With `strip`, function names, line tables and the chunk
/// name are left out (global names stay: loading links by them).
///
/// Only the globals the code refers to are written (the compiler's table also
/// holds every built-in), renumbered in their original order.
pub fn write(program: &Program, strip: bool) -> Vec<u8> {
    let program = &used_globals_only(program);
    let mut payload = Writer { out: Vec::new() };
    payload.str(if strip { "" } else { &program.chunk });
    payload.len(program.globals.len());
    for g in &program.globals {
        payload.str(g);
    }
    payload.proto(&program.main, strip);
    let payload = payload.out;

    let mut h = Writer { out: Vec::new() };
    h.out.extend_from_slice(MAGIC);
    h.u16(FORMAT_VERSION);
    h.u8(VELA_VERSION.len() as u8);
    h.out.extend_from_slice(VELA_VERSION.as_bytes());
    h.u16(if strip { FLAG_STRIPPED } else { 0 });
    h.u32(CHECK_U32);
    h.u64(CHECK_I64 as u64);
    h.u64(CHECK_F64.to_bits());
    h.u32(u32::try_from(payload.len()).expect("a program under 4 GiB"));
    let sum = fnv1a64(&[&h.out, &payload]);
    h.u64(sum);
    h.out.extend_from_slice(&payload);
    h.out
}

/// A copy of `program` whose global table holds only the names its code uses.
fn used_globals_only(program: &Program) -> Program {
    fn mark(p: &FnProto, used: &mut [bool]) {
        for ins in &p.code {
            if let Some(g) = ins.global() {
                if let Some(u) = used.get_mut(g as usize) {
                    *u = true;
                }
            }
        }
        for c in &p.protos {
            mark(c, used);
        }
    }
    fn renumber(p: &mut FnProto, map: &[u32]) {
        for ins in &mut p.code {
            if let Some(g) = ins.global_mut() {
                if let Some(&n) = map.get(*g as usize) {
                    *g = n;
                }
            }
        }
        for c in &mut p.protos {
            renumber(c, map);
        }
    }
    let mut used = vec![false; program.globals.len()];
    mark(&program.main, &mut used);
    let mut map = vec![u32::MAX; used.len()];
    let mut globals = Vec::new();
    for (i, name) in program.globals.iter().enumerate() {
        if used[i] {
            map[i] = globals.len() as u32;
            globals.push(name.clone());
        }
    }
    let mut main = program.main.clone();
    renumber(&mut main, &map);
    Program {
        chunk: program.chunk.clone(),
        main,
        globals,
    }
}

// ---------------------------------------------------------------------------
// Reading.

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

type R<T> = Result<T, LoadError>;

impl<'a> Reader<'a> {
    fn corrupt<T>(&self, what: impl Into<String>) -> R<T> {
        Err(LoadError::Corrupt {
            offset: self.pos,
            what: what.into(),
        })
    }
    fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }
    fn take(&mut self, n: usize) -> R<&'a [u8]> {
        if n > self.remaining() {
            return self.corrupt(format!("needs {n} more bytes, {} remain", self.remaining()));
        }
        let s = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn u8(&mut self) -> R<u8> {
        Ok(self.take(1)?[0])
    }
    fn bool(&mut self) -> R<bool> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            b => {
                self.pos -= 1;
                self.corrupt(format!("bad boolean {b}"))
            }
        }
    }
    fn u16(&mut self) -> R<u16> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> R<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> R<u64> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
    /// LEB128, at most 10 bytes, canonical (no redundant trailing zero groups).
    fn var(&mut self) -> R<u64> {
        let start = self.pos;
        let mut v: u64 = 0;
        for i in 0..10 {
            let b = self.u8()?;
            let bits = (b & 0x7f) as u64;
            if i == 9 && bits > 1 {
                self.pos = start;
                return self.corrupt("variable-length integer overflows 64 bits");
            }
            v |= bits << (7 * i);
            if b & 0x80 == 0 {
                if b == 0 && i > 0 {
                    self.pos = start;
                    return self.corrupt("non-canonical variable-length integer");
                }
                return Ok(v);
            }
        }
        self.pos = start;
        self.corrupt("variable-length integer too long")
    }
    fn svar(&mut self) -> R<i64> {
        let z = self.var()?;
        Ok((z >> 1) as i64 ^ -((z & 1) as i64))
    }
    /// An unsigned field narrower than 64 bits (`u32`, `u16`), range-checked.
    fn var_as<T: TryFrom<u64>>(&mut self, what: &str) -> R<T> {
        let start = self.pos;
        let v = self.var()?;
        T::try_from(v).or_else(|_| {
            self.pos = start;
            self.corrupt(format!("{what} {v} out of range"))
        })
    }
    /// A signed field narrower than 64 bits (`i32`, `i16`, `i8`), range-checked.
    fn svar_as<T: TryFrom<i64>>(&mut self, what: &str) -> R<T> {
        let start = self.pos;
        let v = self.svar()?;
        T::try_from(v).or_else(|_| {
            self.pos = start;
            self.corrupt(format!("{what} {v} out of range"))
        })
    }
    /// A count of items each taking at least `min_bytes` bytes: checked against what
    /// remains, so a huge count is an error before anything is allocated.
    fn count(&mut self, what: &str, min_bytes: usize) -> R<usize> {
        let start = self.pos;
        let n = self.var()?;
        let fits = usize::try_from(n)
            .ok()
            .and_then(|n| n.checked_mul(min_bytes))
            .is_some_and(|need| need <= self.remaining());
        if !fits {
            self.pos = start;
            return self.corrupt(format!(
                "{what} count {n} exceeds the {} bytes that remain",
                self.remaining()
            ));
        }
        Ok(n as usize)
    }
    fn str(&mut self, what: &str) -> R<String> {
        let n = self.count(what, 1)?;
        let start = self.pos;
        let b = self.take(n)?;
        match std::str::from_utf8(b) {
            Ok(s) => Ok(s.to_string()),
            Err(_) => {
                self.pos = start;
                self.corrupt(format!("{what} is not valid UTF-8"))
            }
        }
    }
    fn type_tag(&mut self) -> R<TypeTag> {
        let b = self.u8()?;
        TypeTag::from_u8(b).map_or_else(
            || {
                self.pos -= 1;
                self.corrupt(format!("bad type tag {b}"))
            },
            Ok,
        )
    }

    fn instr(&mut self) -> R<Instr> {
        let start = self.pos;
        let opcode = self.u8()?;
        let ins = match opcode {
            op::MOVE => Instr::Move {
                a: self.u8()?,
                b: self.u8()?,
            },
            op::JMPMODNOTEQI => Instr::JmpModNotEqI {
                a: self.u8()?,
                b: self.u8()?,
                c: self.svar_as("comparand")?,
                k: self.var_as("divisor")?,
                off: self.svar_as("jump offset")?,
            },
            op::MULADDI => Instr::MulAddI {
                a: self.u8()?,
                b: self.u8()?,
                c: self.u8()?,
                i: self.svar_as("immediate")?,
            },
            op::MOVE2 => Instr::Move2 {
                a: self.u8()?,
                b: self.u8()?,
                c: self.u8()?,
                d: self.u8()?,
            },
            op::ADDMOVE2 => Instr::AddMove2 {
                a: self.u8()?,
                b: self.u8()?,
                c: self.u8()?,
                d: self.u8()?,
                e: self.u8()?,
                f: self.u8()?,
            },
            op::LOADNIL => Instr::LoadNil { a: self.u8()? },
            op::LOADBOOL => Instr::LoadBool {
                a: self.u8()?,
                b: self.bool()?,
            },
            op::LOADINT => Instr::LoadInt {
                a: self.u8()?,
                i: self.svar_as("immediate")?,
            },
            op::LOADK => Instr::LoadK {
                a: self.u8()?,
                k: self.var_as("constant index")?,
            },
            op::CALLG1 => Instr::CallG1 {
                a: self.u8()?,
                b: self.u8()?,
                g: self.var_as("global index")?,
            },
            op::CALLG2 => Instr::CallG2 {
                a: self.u8()?,
                b: self.u8()?,
                c: self.u8()?,
                g: self.var_as("global index")?,
            },
            op::GETGLOBAL => Instr::GetGlobal {
                a: self.u8()?,
                g: self.var_as("global index")?,
            },
            op::SETGLOBAL => Instr::SetGlobal {
                a: self.u8()?,
                g: self.var_as("global index")?,
            },
            op::GETUPVAL => Instr::GetUpval {
                a: self.u8()?,
                u: self.u8()?,
            },
            op::SETUPVAL => Instr::SetUpval {
                a: self.u8()?,
                u: self.u8()?,
            },
            op::CLOSE => Instr::Close { a: self.u8()? },
            op::CLOSURE => Instr::Closure {
                a: self.u8()?,
                f: self.var_as("prototype index")?,
            },
            op::ADD => {
                let (a, b, c) = self.rrr()?;
                Instr::Add { a, b, c }
            }
            op::SUB => {
                let (a, b, c) = self.rrr()?;
                Instr::Sub { a, b, c }
            }
            op::MUL => {
                let (a, b, c) = self.rrr()?;
                Instr::Mul { a, b, c }
            }
            op::DIV => {
                let (a, b, c) = self.rrr()?;
                Instr::Div { a, b, c }
            }
            op::IDIV => {
                let (a, b, c) = self.rrr()?;
                Instr::IDiv { a, b, c }
            }
            op::MOD => {
                let (a, b, c) = self.rrr()?;
                Instr::Mod { a, b, c }
            }
            op::ADDI => Instr::AddI {
                a: self.u8()?,
                b: self.u8()?,
                i: self.svar_as("immediate")?,
            },
            op::MULI => {
                let (a, b, i) = self.rri()?;
                Instr::MulI { a, b, i }
            }
            op::MODI => {
                let (a, b, i) = self.rri()?;
                Instr::ModI { a, b, i }
            }
            op::IDIVI => {
                let (a, b, i) = self.rri()?;
                Instr::IDivI { a, b, i }
            }
            op::JMPNOTEQI => {
                let (a, i, off) = self.rij()?;
                Instr::JmpNotEqI { a, i, off }
            }
            op::JMPEQI => {
                let (a, i, off) = self.rij()?;
                Instr::JmpEqI { a, i, off }
            }
            op::JMPNOTLTI => {
                let (a, i, off) = self.rij()?;
                Instr::JmpNotLtI { a, i, off }
            }
            op::JMPNOTLEI => {
                let (a, i, off) = self.rij()?;
                Instr::JmpNotLeI { a, i, off }
            }
            op::JMPNOTGTI => {
                let (a, i, off) = self.rij()?;
                Instr::JmpNotGtI { a, i, off }
            }
            op::JMPNOTGEI => {
                let (a, i, off) = self.rij()?;
                Instr::JmpNotGeI { a, i, off }
            }
            op::NEG => Instr::Neg {
                a: self.u8()?,
                b: self.u8()?,
            },
            op::NOT => Instr::Not {
                a: self.u8()?,
                b: self.u8()?,
            },
            op::EQ => {
                let (a, b, c) = self.rrr()?;
                Instr::Eq { a, b, c }
            }
            op::NE => {
                let (a, b, c) = self.rrr()?;
                Instr::Ne { a, b, c }
            }
            op::LT => {
                let (a, b, c) = self.rrr()?;
                Instr::Lt { a, b, c }
            }
            op::LE => {
                let (a, b, c) = self.rrr()?;
                Instr::Le { a, b, c }
            }
            op::GT => {
                let (a, b, c) = self.rrr()?;
                Instr::Gt { a, b, c }
            }
            op::GE => {
                let (a, b, c) = self.rrr()?;
                Instr::Ge { a, b, c }
            }
            op::JMPLT => {
                let (a, b, off) = self.rrj()?;
                Instr::JmpLt { a, b, off }
            }
            op::JMPLE => {
                let (a, b, off) = self.rrj()?;
                Instr::JmpLe { a, b, off }
            }
            op::JMPNOTLT => {
                let (a, b, off) = self.rrj()?;
                Instr::JmpNotLt { a, b, off }
            }
            op::JMPNOTLE => {
                let (a, b, off) = self.rrj()?;
                Instr::JmpNotLe { a, b, off }
            }
            op::JMPNOTGT => {
                let (a, b, off) = self.rrj()?;
                Instr::JmpNotGt { a, b, off }
            }
            op::JMPNOTGE => {
                let (a, b, off) = self.rrj()?;
                Instr::JmpNotGe { a, b, off }
            }
            op::JMPNOTEQ => {
                let (a, b, off) = self.rrj()?;
                Instr::JmpNotEq { a, b, off }
            }
            op::JMPEQ => {
                let (a, b, off) = self.rrj()?;
                Instr::JmpEq { a, b, off }
            }
            op::JMP => Instr::Jmp {
                off: self.svar_as("jump offset")?,
            },
            op::JMPIFFALSE => Instr::JmpIfFalse {
                a: self.u8()?,
                off: self.svar_as("jump offset")?,
            },
            op::JMPIFTRUE => Instr::JmpIfTrue {
                a: self.u8()?,
                off: self.svar_as("jump offset")?,
            },
            op::CHECKBOOL => Instr::CheckBool { a: self.u8()? },
            op::CHECKTYPE => Instr::CheckType {
                a: self.u8()?,
                t: self.type_tag()?,
                k: self.var_as("constant index")?,
            },
            op::CALL => Instr::Call {
                a: self.u8()?,
                b: self.u8()?,
            },
            op::RETURN => Instr::Return { a: self.u8()? },
            op::RETURN0 => Instr::Return0,
            op::FORPREP => Instr::ForPrep {
                a: self.u8()?,
                inclusive: self.bool()?,
                off: self.svar_as("jump offset")?,
            },
            op::FORLOOP => Instr::ForLoop {
                a: self.u8()?,
                off: self.svar_as("jump offset")?,
            },
            op::ITERPREP => Instr::IterPrep { a: self.u8()? },
            op::ITERNEXT => Instr::IterNext {
                a: self.u8()?,
                off: self.svar_as("jump offset")?,
            },
            op::NEWLIST => {
                let (a, b, c) = self.rrr()?;
                Instr::NewList { a, b, c }
            }
            op::APPENDLIST => {
                let (a, b, c) = self.rrr()?;
                Instr::AppendList { a, b, c }
            }
            op::NEWMAP => {
                let (a, b, c) = self.rrr()?;
                Instr::NewMap { a, b, c }
            }
            op::GETINDEX => {
                let (a, b, c) = self.rrr()?;
                Instr::GetIndex { a, b, c }
            }
            op::SETINDEX => {
                let (a, b, c) = self.rrr()?;
                Instr::SetIndex { a, b, c }
            }
            op::GETFIELD => Instr::GetField {
                a: self.u8()?,
                b: self.u8()?,
                k: self.var_as("constant index")?,
            },
            op::SETFIELD => {
                let a = self.u8()?;
                let c = self.u8()?;
                let k: u16 = self.var_as("constant index")?;
                Instr::SetField { a, k, c }
            }
            op::TOSTR => Instr::ToStr {
                a: self.u8()?,
                b: self.u8()?,
            },
            op::CONCAT => {
                let (a, b, c) = self.rrr()?;
                Instr::Concat { a, b, c }
            }
            op::PUSH => Instr::Push { a: self.u8()? },
            op::POP => Instr::Pop { a: self.u8()? },
            op::TRYBEGIN => Instr::TryBegin {
                a: self.u8()?,
                off: self.svar_as("jump offset")?,
            },
            op::TRYEND => Instr::TryEnd,
            other => {
                self.pos = start;
                return self.corrupt(format!("unknown opcode {other}"));
            }
        };
        Ok(ins)
    }
    fn rrr(&mut self) -> R<(u8, u8, u8)> {
        Ok((self.u8()?, self.u8()?, self.u8()?))
    }
    fn rri(&mut self) -> R<(u8, u8, i32)> {
        Ok((self.u8()?, self.u8()?, self.svar_as("immediate")?))
    }
    fn rij(&mut self) -> R<(u8, i16, i32)> {
        let a = self.u8()?;
        let start = self.pos;
        let v = self.svar()?;
        let i = match i16::try_from(v) {
            Ok(i) => i,
            Err(_) => {
                self.pos = start;
                return self.corrupt(format!("immediate {v} out of range"));
            }
        };
        Ok((a, i, self.svar_as("jump offset")?))
    }
    fn rrj(&mut self) -> R<(u8, u8, i32)> {
        Ok((self.u8()?, self.u8()?, self.svar_as("jump offset")?))
    }

    fn proto(&mut self, depth: usize) -> R<FnProto> {
        if depth > MAX_NESTING {
            return self.corrupt(format!("functions nested deeper than {MAX_NESTING}"));
        }
        let name = self.str("function name")?;
        let arity = self.u8()?;
        let num_regs = self.u8()?;
        let max_stack = self.u8()?;
        // Every item below takes at least one byte (an instruction its opcode, a
        // constant its tag, a capture two bytes, a line run two, a prototype eight).
        let n = self.count("instruction", 1)?;
        let mut code = Vec::with_capacity(n);
        for _ in 0..n {
            code.push(self.instr()?);
        }
        let n = self.count("constant", 2)?;
        let mut consts = Vec::with_capacity(n);
        for _ in 0..n {
            let tag_at = self.pos;
            consts.push(match self.u8()? {
                CONST_INT => Constant::Int(self.svar()?),
                CONST_FLOAT => Constant::Float(f64::from_bits(self.u64()?)),
                CONST_STR => Constant::Str(self.str("string constant")?),
                t => {
                    self.pos = tag_at;
                    return self.corrupt(format!("bad constant tag {t}"));
                }
            });
        }
        let n = self.count("capture", 2)?;
        let mut captures = Vec::with_capacity(n);
        for _ in 0..n {
            let tag_at = self.pos;
            let tag = self.u8()?;
            let i = self.u8()?;
            captures.push(match tag {
                CAPTURE_LOCAL => Capture::Local(i),
                CAPTURE_UPVALUE => Capture::Upvalue(i),
                t => {
                    self.pos = tag_at;
                    return self.corrupt(format!("bad capture tag {t}"));
                }
            });
        }
        let runs = self.count("line run", 2)?;
        let mut lines: Vec<u32> = Vec::new();
        if runs > 0 {
            if runs > code.len() {
                return self.corrupt("more line runs than instructions");
            }
            lines.reserve_exact(code.len());
            let mut prev = 0i64;
            for _ in 0..runs {
                let at = self.pos;
                let line = prev
                    .checked_add(self.svar()?)
                    .filter(|l| (0..=u32::MAX as i64).contains(l));
                let Some(line) = line else {
                    self.pos = at;
                    return self.corrupt("line number out of range");
                };
                let at = self.pos;
                let count = self.var()?;
                if count == 0 || count > (code.len() - lines.len()) as u64 {
                    self.pos = at;
                    return self.corrupt("line table does not match the code");
                }
                lines.extend(std::iter::repeat_n(line as u32, count as usize));
                prev = line;
            }
            if lines.len() != code.len() {
                return self.corrupt("line table shorter than the code");
            }
        }
        let n = self.count("function", 8)?;
        let mut protos = Vec::with_capacity(n.min(64));
        for _ in 0..n {
            protos.push(self.proto(depth + 1)?);
        }
        Ok(FnProto {
            name,
            arity,
            num_regs,
            max_stack,
            code,
            consts,
            protos,
            captures,
            lines,
        })
    }
}

/// What a `.velac` header says.
#[derive(Clone, Debug, PartialEq)]
pub struct Header {
    pub format: u16,
    /// The version of vela that wrote the file.
    pub writer: String,
    pub stripped: bool,
    pub payload_len: u32,
    /// Bytes before the payload (the header's own length).
    pub len: usize,
}

/// Reads and checks the header (but not the checksum).
pub fn header(bytes: &[u8]) -> Result<Header, LoadError> {
    Ok(parse_header(bytes)?.0)
}

/// The header, and where the checksum and the payload start.
fn parse_header(bytes: &[u8]) -> Result<(Header, usize, usize), LoadError> {
    if !bytes.starts_with(MAGIC) {
        return Err(if mangled_magic(bytes) {
            LoadError::TextMode
        } else {
            LoadError::NotBytecode
        });
    }
    let mut r = Reader {
        bytes,
        pos: MAGIC.len(),
    };
    // The format version and the writer's version stay at these offsets in every
    // format, so that any later vela can say which version wrote a file.
    let format = r.u16()?;
    let vlen = r.u8()? as usize;
    let vat = r.pos;
    let writer = r.take(vlen)?;
    let writer = match std::str::from_utf8(writer) {
        Ok(s) if s.bytes().all(|b| b.is_ascii_graphic()) => s.to_string(),
        _ => {
            r.pos = vat;
            return r.corrupt("bad compiler version string");
        }
    };
    if format != FORMAT_VERSION {
        return Err(LoadError::Version { writer, format });
    }
    let flags_at = r.pos;
    let flags = r.u16()?;
    if flags & !FLAG_STRIPPED != 0 {
        r.pos = flags_at;
        return r.corrupt(format!("unknown flags {flags:#x}"));
    }
    let check_at = r.pos;
    let (c32, c64, cf) = (r.u32()?, r.u64()?, r.u64()?);
    if c32 != CHECK_U32 || c64 != CHECK_I64 as u64 || cf != CHECK_F64.to_bits() {
        r.pos = check_at;
        return r.corrupt("check values differ: byte order or number widths were changed");
    }
    let payload_len = r.u32()?;
    let sum_at = r.pos;
    r.u64()?;
    let header = Header {
        format,
        writer,
        stripped: flags & FLAG_STRIPPED != 0,
        payload_len,
        len: r.pos,
    };
    Ok((header, sum_at, r.pos))
}

/// Decodes a `.velac` file. This checks the header, the checksum and the encoding of
/// every field, but not that the code is safe to run: use [`load`] (or call
/// [`verify`] yourself) before giving the program to a VM.
pub fn read(bytes: &[u8]) -> Result<Program, LoadError> {
    let (header, sum_at, start) = parse_header(bytes)?;
    let found = (bytes.len() - start) as u64;
    if found != header.payload_len as u64 {
        return Err(LoadError::Length {
            expected: header.payload_len as u64,
            found,
        });
    }
    let sum = u64::from_le_bytes(bytes[sum_at..start].try_into().expect("8 bytes"));
    if fnv1a64(&[&bytes[..sum_at], &bytes[start..]]) != sum {
        return Err(LoadError::Checksum);
    }
    let mut r = Reader { bytes, pos: start };
    let chunk = r.str("chunk name")?;
    let n = r.count("global", 1)?;
    let mut globals = Vec::with_capacity(n);
    for _ in 0..n {
        globals.push(r.str("global name")?);
    }
    let main = r.proto(0)?;
    if r.remaining() != 0 {
        return r.corrupt("bytes after the main function");
    }
    if header.stripped && (!chunk.is_empty() || has_debug_info(&main)) {
        return r.corrupt("a stripped file holds debug information");
    }
    Ok(Program {
        chunk,
        main,
        globals,
    })
}

fn has_debug_info(p: &FnProto) -> bool {
    !p.name.is_empty() || !p.lines.is_empty() || p.protos.iter().any(has_debug_info)
}

/// `data` with its payload length and checksum recomputed (when its header reads),
/// so that mutated payloads reach the decoder and the verifier (fuzzing, tests).
pub fn reseal(data: &[u8]) -> Option<Vec<u8>> {
    let h = header(data).ok()?;
    let mut v = data.to_vec();
    let len = u32::try_from(v.len() - h.len).ok()?;
    v[h.len - 12..h.len - 8].copy_from_slice(&len.to_le_bytes());
    let sum = fnv1a64(&[&v[..h.len - 8], &v[h.len..]]);
    v[h.len - 8..h.len].copy_from_slice(&sum.to_le_bytes());
    Some(v)
}

/// Decodes and verifies a `.velac` file: what a VM may safely run.
pub fn load(bytes: &[u8]) -> Result<Program, LoadError> {
    let program = read(bytes)?;
    verify(&program)?;
    Ok(program)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compiled(src: &str) -> Program {
        crate::compile_source(src, "t.vela").expect("compiles")
    }

    #[test]
    fn round_trips() {
        let p = compiled(
            "fn f(a, b: Int) -> Int { let g = fn() { return a } return g() + b }\n\
             let m = {x: 1.5, y: \"s\"}\nprint(f(1, 2), m.x, [1, 2][0], -9007199254740993)\n",
        );
        let bytes = write(&p, false);
        let back = load(&bytes).expect("loads");
        assert_eq!(back, used_globals_only(&p));
        assert_eq!(back.globals, ["print", "f", "m"]);
        assert_eq!(write(&back, false), bytes);
        let stripped = load(&write(&p, true)).expect("stripped loads");
        assert!(stripped.chunk.is_empty());
        assert!(!has_debug_info(&stripped.main));
        assert_eq!(stripped.globals, back.globals);
        assert_eq!(stripped.main.code, back.main.code);
        assert!(header(&write(&p, true)).expect("header").stripped);
        assert!(!header(&bytes).expect("header").stripped);
    }

    #[test]
    fn varints_are_canonical() {
        for v in [0u64, 1, 127, 128, 300, u32::MAX as u64, u64::MAX] {
            let mut w = Writer { out: Vec::new() };
            w.var(v);
            let mut r = Reader {
                bytes: &w.out,
                pos: 0,
            };
            assert_eq!(r.var().unwrap(), v);
        }
        for v in [0i64, -1, 1, i64::MIN, i64::MAX, i32::MIN as i64] {
            let mut w = Writer { out: Vec::new() };
            w.svar(v);
            let mut r = Reader {
                bytes: &w.out,
                pos: 0,
            };
            assert_eq!(r.svar().unwrap(), v);
        }
        let bad: [&[u8]; 3] = [
            &[0x80, 0x00],
            &[0xff; 11],
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02],
        ];
        for b in bad {
            let mut r = Reader { bytes: b, pos: 0 };
            assert!(r.var().is_err(), "{b:?}");
        }
    }

    #[test]
    fn other_format_versions_are_refused() {
        let mut bytes = write(&compiled("print(1)"), false);
        let other = FORMAT_VERSION + 1;
        bytes[MAGIC.len()] = other as u8;
        bytes[MAGIC.len() + 3] = b'9';
        let mut writer = VELA_VERSION.to_string();
        writer.replace_range(0..1, "9");
        assert_eq!(
            read(&bytes).unwrap_err().to_string(),
            format!("written by vela {writer} (format {other}); this is vela {VELA_VERSION} (format {FORMAT_VERSION}): recompile the source")
        );
    }

    #[test]
    fn text_mode_damage_is_named() {
        let bytes = write(&compiled("print(1)"), false);
        let mut lf = bytes.clone();
        lf.remove(6); // the \r of \r\n
        assert_eq!(read(&lf), Err(LoadError::TextMode));
        assert!(is_bytecode(&lf));
        assert_eq!(read(b"print(1)"), Err(LoadError::NotBytecode));
    }
}
