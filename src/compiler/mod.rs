//! The compiler: AST → register bytecode.
//!
//! Each function's locals live in fixed registers of its window; temporaries are
//! allocated stack-wise above them and freed when their expression ends. Top-level
//! names are globals, resolved to slots of a [`GlobalTable`] at compile time.
//! Compiling never runs code.

mod emit;
mod expr;
mod func;
mod stmt;

use crate::ast::{Span, Stmt, StmtKind};
use crate::bytecode::Program;
use crate::diagnostics::{CompileError, LineIndex};
use func::FuncState;
use indexmap::IndexMap;

/// How a global name came to be known to the compiler.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum GlobalKind {
    /// Only read so far: reading it may fail at run time, assigning is an error.
    Used,
    /// Declared with `let` or `fn` (or a built-in): immutable.
    Let,
    /// Declared with `state`: assignable.
    State,
}

/// The globals a program may name, in slot order. Built-ins come first, as the VM
/// defines them.
#[derive(Clone, Debug, Default)]
pub struct GlobalTable {
    names: IndexMap<String, GlobalKind>,
}

impl GlobalTable {
    /// A table holding the given immutable names (the built-ins) in order.
    pub fn with_builtins<'a>(names: impl IntoIterator<Item = &'a str>) -> GlobalTable {
        GlobalTable {
            names: names
                .into_iter()
                .map(|n| (n.to_string(), GlobalKind::Let))
                .collect(),
        }
    }

    /// The slot of `name`, adding it as merely used when new.
    pub fn slot(&mut self, name: &str) -> u32 {
        match self.names.get_index_of(name) {
            Some(i) => i as u32,
            None => self.names.insert_full(name.to_string(), GlobalKind::Used).0 as u32,
        }
    }

    /// Records a top-level declaration; `state` makes the name assignable (and a
    /// name once declared with `state` stays assignable).
    pub fn declare(&mut self, name: &str, mutable: bool) -> u32 {
        let slot = self.slot(name);
        let kind = if mutable {
            GlobalKind::State
        } else {
            GlobalKind::Let
        };
        let entry = &mut self.names[slot as usize];
        *entry = (*entry).max(kind);
        slot
    }

    /// Gives `name` exactly this kind (a new top-level declaration replaces the old).
    pub fn redeclare(&mut self, name: &str, kind: GlobalKind) -> u32 {
        let slot = self.slot(name);
        self.names[slot as usize] = kind;
        slot
    }

    pub fn kind(&self, name: &str) -> Option<GlobalKind> {
        self.names.get(name).copied()
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.names.keys().map(String::as_str)
    }
}

/// How to compile a chunk.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// When the chunk ends with an expression statement, return its value
    /// (the REPL and `eval` show it).
    pub return_last_expr: bool,
}

/// Compiles a parsed chunk. `globals` is updated only when compiling succeeds.
pub fn compile(
    stmts: &[Stmt],
    chunk: &str,
    source: &str,
    globals: &mut GlobalTable,
    options: Options,
) -> Result<Program, CompileError> {
    let mut table = globals.clone();
    // Top-level declarations are known before any code is compiled, so functions
    // may refer to (and assign) globals declared further down. A name this chunk
    // declares takes the kind the chunk gives it (the new declaration replaces an
    // older one, e.g. from an earlier REPL entry); within one chunk, a name declared
    // with `state` anywhere is assignable.
    let mut declared: IndexMap<&str, GlobalKind> = IndexMap::new();
    for stmt in stmts {
        let (name, kind) = match &stmt.kind {
            StmtKind::Let { mutable, name, .. } => {
                let kind = if *mutable {
                    GlobalKind::State
                } else {
                    GlobalKind::Let
                };
                (name.as_str(), kind)
            }
            StmtKind::Fn(decl) => match &decl.name {
                Some(name) => (name.as_str(), GlobalKind::Let),
                None => continue,
            },
            _ => continue,
        };
        let entry = declared.entry(name).or_insert(kind);
        *entry = (*entry).max(kind);
    }
    for (name, kind) in declared {
        table.redeclare(name, kind);
    }
    let mut c = Compiler {
        funcs: vec![FuncState::new("<script>".to_string(), true)],
        lines: LineIndex::new(source),
        globals: &mut table,
        line: 1,
        depth: 0,
    };
    c.script(stmts, options)?;
    let main = c.funcs.pop().map(FuncState::finish).unwrap_or_default();
    let program = Program {
        chunk: chunk.to_string(),
        main,
        globals: table.names().map(str::to_string).collect(),
    };
    *globals = table;
    Ok(program)
}

/// Deepest nesting of expressions and blocks the compiler follows.
const MAX_DEPTH: u32 = 1000;

struct Compiler<'a> {
    /// The function being compiled is last; enclosing functions before it.
    funcs: Vec<FuncState>,
    lines: LineIndex<'a>,
    globals: &'a mut GlobalTable,
    /// Source line given to instructions emitted now.
    line: u32,
    depth: u32,
}

impl Compiler<'_> {
    fn f(&mut self) -> &mut FuncState {
        self.funcs
            .last_mut()
            .expect("a function is always being compiled")
    }

    fn fr(&self) -> &FuncState {
        self.funcs
            .last()
            .expect("a function is always being compiled")
    }

    fn set_line(&mut self, span: Span) -> u32 {
        let old = self.line;
        self.line = self.lines.line(span.start);
        old
    }

    /// Guards recursion over deeply nested input.
    fn enter(&mut self, span: Span) -> Result<(), CompileError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(CompileError::new("nesting too deep", span));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    fn is_top_level(&self) -> bool {
        self.funcs.len() == 1 && self.fr().scope_depth == 0
    }
}
