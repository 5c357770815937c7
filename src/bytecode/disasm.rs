//! A listing of compiled code in the spirit of `luac -l -l`: every function with its
//! arity, registers, constants and captures, and every instruction with its line and
//! decoded operands (jump targets as absolute offsets, constants by value).

use super::instr::Instr;
use super::proto::{Capture, Constant, FnProto, Program};
use std::fmt::Write;

/// The whole program: main function first, then nested functions depth-first.
pub fn disassemble(program: &Program) -> String {
    let mut out = String::new();
    let mut path = Vec::new();
    function(&mut out, program, &program.main, &mut path);
    out
}

/// One function (and its nested functions) of `program`.
pub fn disassemble_fn(program: &Program, proto: &FnProto) -> String {
    let mut out = String::new();
    function(&mut out, program, proto, &mut Vec::new());
    out
}

fn constant_text(c: &Constant) -> String {
    match c {
        Constant::Int(i) => i.to_string(),
        Constant::Float(f) => {
            let mut s = String::new();
            crate::textform::format_float(*f, &mut s);
            s
        }
        Constant::Str(s) => {
            let mut q = String::new();
            crate::textform::quote_str(s, &mut q);
            q
        }
    }
}

fn function(out: &mut String, program: &Program, p: &FnProto, path: &mut Vec<usize>) {
    let name = if p.name.is_empty() { "?" } else { &p.name };
    let id = if path.is_empty() {
        String::new()
    } else {
        format!(
            " F{}",
            path.iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(".")
        )
    };
    let _ = writeln!(
        out,
        "function {name}{id} ({chunk}): arity {}, {} registers, {} stack slots, {} instructions, {} constants, {} captures, {} functions",
        p.arity,
        p.num_regs,
        p.max_stack,
        p.code.len(),
        p.consts.len(),
        p.captures.len(),
        p.protos.len(),
        chunk = program.chunk,
    );
    if !p.consts.is_empty() {
        let _ = writeln!(out, "constants:");
        for (i, c) in p.consts.iter().enumerate() {
            let _ = writeln!(out, "  K{i:<4} {}", constant_text(c));
        }
    }
    if !p.captures.is_empty() {
        let _ = writeln!(out, "captures:");
        for (i, c) in p.captures.iter().enumerate() {
            let _ = match c {
                Capture::Local(r) => writeln!(out, "  U{i:<4} enclosing R{r}"),
                Capture::Upvalue(u) => writeln!(out, "  U{i:<4} enclosing U{u}"),
            };
        }
    }
    let _ = writeln!(out, "code:");
    for (pc, ins) in p.code.iter().enumerate() {
        let line = p.lines.get(pc).map_or(String::new(), |l| format!("[{l}]"));
        let (text, note) = instruction(program, p, pc, ins);
        let note = if note.is_empty() {
            note
        } else {
            format!(" ; {note}")
        };
        let _ = writeln!(out, "  {pc:04} {line:<6} {text}{note}");
    }
    for (i, child) in p.protos.iter().enumerate() {
        out.push('\n');
        path.push(i);
        function(out, program, child, path);
        path.pop();
    }
}

/// The instruction's text (`ADD R3 R1 R2`) and a comment decoding its operands.
fn instruction(program: &Program, p: &FnProto, pc: usize, ins: &Instr) -> (String, String) {
    let target = |off: i32| (pc as i64 + 1 + off as i64).to_string();
    let k = |k: u32| {
        p.consts
            .get(k as usize)
            .map_or("?".to_string(), constant_text)
    };
    let g = |g: u32| {
        program
            .globals
            .get(g as usize)
            .cloned()
            .unwrap_or_else(|| "?".to_string())
    };
    let r3 = |name: &str, a: u8, b: u8, c: u8| (format!("{name:<11}R{a} R{b} R{c}"), String::new());
    let jcmp = |name: &str, a: u8, b: u8, off: i32| {
        (
            format!("{name:<11}R{a} R{b} {}", target(off)),
            String::new(),
        )
    };
    let jimm = |name: &str, a: u8, i: i16, off: i32| {
        (format!("{name:<11}R{a} {i} {}", target(off)), String::new())
    };
    let plain = |s: String| (s, String::new());
    match *ins {
        Instr::Move { a, b } => plain(format!("{:<11}R{a} R{b}", "MOVE")),
        Instr::Move2 { a, b, c, d } => plain(format!("{:<11}R{a} R{b} R{c} R{d}", "MOVE2")),
        Instr::AddMove2 { a, b, c, d, e, f } => {
            plain(format!("{:<11}R{a} R{b} R{c} R{d} R{e} R{f}", "ADDMOVE2"))
        }
        Instr::LoadNil { a } => plain(format!("{:<11}R{a}", "LOADNIL")),
        Instr::LoadBool { a, b } => plain(format!("{:<11}R{a} {b}", "LOADBOOL")),
        Instr::LoadInt { a, i } => plain(format!("{:<11}R{a} {i}", "LOADINT")),
        Instr::LoadK { a, k: c } => (format!("{:<11}R{a} K{c}", "LOADK"), k(c)),
        Instr::GetGlobal { a, g: s } => (format!("{:<11}R{a} G{s}", "GETGLOBAL"), g(s)),
        Instr::SetGlobal { a, g: s } => (format!("{:<11}R{a} G{s}", "SETGLOBAL"), g(s)),
        Instr::GetUpval { a, u } => plain(format!("{:<11}R{a} U{u}", "GETUPVAL")),
        Instr::SetUpval { a, u } => plain(format!("{:<11}R{a} U{u}", "SETUPVAL")),
        Instr::Close { a } => plain(format!("{:<11}R{a}", "CLOSE")),
        Instr::Closure { a, f } => {
            let name = p
                .protos
                .get(f as usize)
                .map_or("?".to_string(), |c| c.name.clone());
            (format!("{:<11}R{a} F{f}", "CLOSURE"), name)
        }
        Instr::Add { a, b, c } => r3("ADD", a, b, c),
        Instr::Sub { a, b, c } => r3("SUB", a, b, c),
        Instr::Mul { a, b, c } => r3("MUL", a, b, c),
        Instr::Div { a, b, c } => r3("DIV", a, b, c),
        Instr::IDiv { a, b, c } => r3("IDIV", a, b, c),
        Instr::Mod { a, b, c } => r3("MOD", a, b, c),
        Instr::AddI { a, b, i } => plain(format!("{:<11}R{a} R{b} {i}", "ADDI")),
        Instr::MulI { a, b, i } => plain(format!("{:<11}R{a} R{b} {i}", "MULI")),
        Instr::MulAddI { a, b, c, i } => plain(format!("{:<11}R{a} R{b} R{c} {i}", "MULADDI")),
        Instr::ModI { a, b, i } => plain(format!("{:<11}R{a} R{b} {i}", "MODI")),
        Instr::IDivI { a, b, i } => plain(format!("{:<11}R{a} R{b} {i}", "IDIVI")),
        Instr::Neg { a, b } => plain(format!("{:<11}R{a} R{b}", "NEG")),
        Instr::Not { a, b } => plain(format!("{:<11}R{a} R{b}", "NOT")),
        Instr::Eq { a, b, c } => r3("EQ", a, b, c),
        Instr::Ne { a, b, c } => r3("NE", a, b, c),
        Instr::Lt { a, b, c } => r3("LT", a, b, c),
        Instr::Le { a, b, c } => r3("LE", a, b, c),
        Instr::Gt { a, b, c } => r3("GT", a, b, c),
        Instr::Ge { a, b, c } => r3("GE", a, b, c),
        Instr::JmpLt { a, b, off } => jcmp("JMPLT", a, b, off),
        Instr::JmpLe { a, b, off } => jcmp("JMPLE", a, b, off),
        Instr::JmpNotLt { a, b, off } => jcmp("JMPNOTLT", a, b, off),
        Instr::JmpNotLe { a, b, off } => jcmp("JMPNOTLE", a, b, off),
        Instr::JmpNotGt { a, b, off } => jcmp("JMPNOTGT", a, b, off),
        Instr::JmpNotGe { a, b, off } => jcmp("JMPNOTGE", a, b, off),
        Instr::JmpNotEq { a, b, off } => jcmp("JMPNOTEQ", a, b, off),
        Instr::JmpEq { a, b, off } => jcmp("JMPEQ", a, b, off),
        Instr::JmpNotEqI { a, i, off } => jimm("JMPNOTEQI", a, i, off),
        Instr::JmpEqI { a, i, off } => jimm("JMPEQI", a, i, off),
        Instr::JmpModNotEqI { a, b, c, k, off } => plain(format!(
            "{} R{a} R{b} {k} {c} {}",
            "JMPMODNOTEQI",
            target(off as i32)
        )),
        Instr::JmpNotLtI { a, i, off } => jimm("JMPNOTLTI", a, i, off),
        Instr::JmpNotLeI { a, i, off } => jimm("JMPNOTLEI", a, i, off),
        Instr::JmpNotGtI { a, i, off } => jimm("JMPNOTGTI", a, i, off),
        Instr::JmpNotGeI { a, i, off } => jimm("JMPNOTGEI", a, i, off),
        Instr::Jmp { off } => plain(format!("{:<11}{}", "JMP", target(off))),
        Instr::JmpIfFalse { a, off } => plain(format!("{:<11}R{a} {}", "JMPIFFALSE", target(off))),
        Instr::JmpIfTrue { a, off } => plain(format!("{:<11}R{a} {}", "JMPIFTRUE", target(off))),
        Instr::CheckBool { a } => plain(format!("{:<11}R{a}", "CHECKBOOL")),
        Instr::CheckType { a, t, k: c } => (
            format!("{:<11}R{a} {} K{c}", "CHECKTYPE", t.name()),
            k(c as u32),
        ),
        Instr::Call { a, b } => plain(format!("{:<11}R{a} {b}", "CALL")),
        Instr::CallG1 { a, b, g: s } => (format!("{:<11}R{a} R{b} G{s}", "CALLG1"), g(s)),
        Instr::CallG2 { a, b, c, g: s } => (format!("{:<11}R{a} R{b} R{c} G{s}", "CALLG2"), g(s)),
        Instr::Return { a } => plain(format!("{:<11}R{a}", "RETURN")),
        Instr::Return0 => plain("RETURN0".to_string()),
        Instr::ForPrep { a, inclusive, off } => (
            format!("{:<11}R{a} {}", "FORPREP", target(off)),
            if inclusive { "..=" } else { ".." }.to_string(),
        ),
        Instr::ForLoop { a, off } => plain(format!("{:<11}R{a} {}", "FORLOOP", target(off))),
        Instr::IterPrep { a } => plain(format!("{:<11}R{a}", "ITERPREP")),
        Instr::IterNext { a, off } => plain(format!("{:<11}R{a} {}", "ITERNEXT", target(off))),
        Instr::NewList { a, b, c } => plain(format!("{:<11}R{a} R{b} {c}", "NEWLIST")),
        Instr::AppendList { a, b, c } => plain(format!("{:<11}R{a} R{b} {c}", "APPENDLIST")),
        Instr::NewMap { a, b, c } => plain(format!("{:<11}R{a} R{b} {c}", "NEWMAP")),
        Instr::GetIndex { a, b, c } => r3("GETINDEX", a, b, c),
        Instr::SetIndex { a, b, c } => r3("SETINDEX", a, b, c),
        Instr::GetField { a, b, k: c } => {
            (format!("{:<11}R{a} R{b} K{c}", "GETFIELD"), k(c as u32))
        }
        Instr::SetField { a, k: c, c: v } => {
            (format!("{:<11}R{a} K{c} R{v}", "SETFIELD"), k(c as u32))
        }
        Instr::ToStr { a, b } => plain(format!("{:<11}R{a} R{b}", "TOSTR")),
        Instr::Concat { a, b, c } => plain(format!("{:<11}R{a} R{b} {c}", "CONCAT")),
        Instr::Push { a } => plain(format!("{:<11}R{a}", "PUSH")),
        Instr::Pop { a } => plain(format!("{:<11}R{a}", "POP")),
        Instr::TryBegin { a, off } => plain(format!("{:<11}R{a} {}", "TRYBEGIN", target(off))),
        Instr::TryEnd => plain("TRYEND".to_string()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn lists_functions_constants_and_jump_targets() {
        let src =
            "fn add(a, b) { return a + b }\nlet s = \"hi\"\nif add(1, 2) < 4 { print(s, 2.5) }\n";
        let program = crate::compile_source(src, "t.vela").expect("compiles");
        let text = super::disassemble(&program);
        assert!(
            text.contains("function <script> (t.vela): arity 0"),
            "{text}"
        );
        assert!(text.contains("function add F0 (t.vela): arity 2"), "{text}");
        assert!(text.contains("ADD        R2 R0 R1"), "{text}");
        assert!(text.contains("\"hi\""), "{text}");
        assert!(text.contains("2.5"), "{text}");
        assert!(text.contains("; print"), "{text}");
        assert!(text.contains("JMPNOTLT"), "{text}");
    }
}
