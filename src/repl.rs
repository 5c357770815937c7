//! The interactive read-eval-print loop (`vela`, `vela repl`).
//!
//! One [`Session`] holds one VM and one compile-time [`GlobalTable`] for its whole
//! life, so `let`, `state` and `fn` declarations persist from entry to entry. Each
//! entry is compiled with `return_last_expr`, so an entry ending in an expression
//! gives its value, which is echoed with [`Vm::repr`] and kept in the global `_`.
//!
//! Whether an entry is complete is the parser's decision ([`parser::is_incomplete`]):
//! the driver keeps reading lines on a `... ` prompt while the input ends inside an
//! unfinished construct, string or comment.
//!
//! Two drivers feed the same [`Repl`]: [`run_interactive`] (rustyline: history,
//! completion, highlighting) when stdin is a terminal, and [`run_piped`] otherwise.

use crate::bytecode::disasm::{disassemble, disassemble_fn};
use crate::bytecode::{FnProto, Program};
use crate::compiler::{GlobalKind, GlobalTable, Options};
use crate::diagnostics::{render_compile_error, use_color, CompileError};
use crate::vm::object::Obj;
use crate::vm::{builtins, Value, Vm, VmError};
use crate::{builtin_globals, compile_with, parser};
use std::io::{BufRead, IsTerminal, Write};

/// The chunk name of REPL entries in diagnostics and tracebacks.
pub const CHUNK: &str = "<repl>";

/// Exit codes of a piped session (the codes `vela run` uses).
pub const EXIT_USAGE: u8 = 64;
pub const EXIT_COMPILE: u8 = 65;
pub const EXIT_NOINPUT: u8 = 66;
pub const EXIT_RUNTIME: u8 = 70;

/// The language's keywords, for completion and highlighting.
pub const KEYWORDS: &[&str] = &[
    "let", "state", "fn", "return", "if", "else", "while", "for", "in", "break", "continue",
    "true", "false", "nil", "try", "catch",
];

/// The meta-commands, for `:help` and completion.
pub const COMMANDS: &[(&str, &str)] = &[
    (":help", "show this help"),
    (":quit", "leave the REPL (also Ctrl-D)"),
    (":load FILE", "run a file's code in this session"),
    (":reset", "forget every global: a fresh VM"),
    (
        ":globals",
        "list the globals you defined, with their values",
    ),
    (
        ":dis NAME|EXPR",
        "disassemble a global function, or the code of an expression",
    ),
];

/// How one entry or command ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It ran (or was a command that worked).
    Ok,
    /// The input ends inside an unfinished construct: more lines are needed.
    Incomplete,
    /// It failed; the code is what a piped session exits with.
    Failed(u8),
    /// `exit(code)` or `:quit`: leave the REPL with this code.
    Exit(u8),
}

/// A session's state: the VM, the compiler's view of its globals, and the compiled
/// programs (kept so that `:dis` can show any function the VM has loaded).
pub struct Session {
    vm: Vm,
    table: GlobalTable,
    /// Every program loaded into the VM, in order.
    programs: Vec<Program>,
    /// For each prototype the VM has loaded (by its index): the program it came from
    /// and the path of child indices from that program's main function.
    protos: Vec<(usize, Vec<usize>)>,
    /// Whether `print` output is written through as it comes (a terminal) or buffered.
    unbuffered: bool,
    /// Whether diagnostics are coloured.
    color: bool,
}

impl Session {
    /// A fresh session. `unbuffered` makes `print` output appear line by line (for a
    /// terminal); `color` colours diagnostics.
    pub fn new(unbuffered: bool, color: bool) -> Session {
        let mut s = Session {
            vm: Vm::new(),
            table: GlobalTable::default(),
            programs: Vec::new(),
            protos: Vec::new(),
            unbuffered,
            color,
        };
        s.reset();
        s
    }

    /// Forgets everything: a fresh VM and global table (`:reset`).
    pub fn reset(&mut self) {
        self.vm = if self.unbuffered {
            Vm::with_output(Box::new(std::io::stdout()))
        } else {
            Vm::new()
        };
        self.table = builtin_globals();
        // `_` is known to the compiler as an immutable global, so it can be read
        // (and assigning it is the usual error); the REPL sets it in the VM.
        self.table.declare("_", false);
        self.programs.clear();
        self.protos.clear();
    }

    /// Compiles and runs one entry. Echoes a non-nil value of a final expression
    /// (and stores it in `_`); reports errors on stderr. With `allow_incomplete`, an
    /// entry that stops inside an unfinished construct gives [`Outcome::Incomplete`]
    /// and changes nothing.
    pub fn eval(&mut self, source: &str, allow_incomplete: bool) -> Outcome {
        let _sigint = sigint::Guard::install(self.vm.interrupt_handle());
        let program = match self.compile(source, CHUNK, true) {
            Ok(p) => p,
            Err(e) if allow_incomplete && parser::is_incomplete(&e) => return Outcome::Incomplete,
            Err(e) => {
                self.report_compile_error(&e, CHUNK, source);
                return Outcome::Failed(EXIT_COMPILE);
            }
        };
        match self.run(program) {
            Ok(Value::Nil) => Outcome::Ok,
            Ok(v) => {
                let text = self.vm.repr(v);
                self.vm.set_global("_", v);
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{text}");
                let _ = out.flush();
                Outcome::Ok
            }
            Err(outcome) => outcome,
        }
    }

    /// Compiles an entry against the session's globals; the table changes only when
    /// compiling succeeds (and a declaration replaces an older one's kind).
    fn compile(
        &mut self,
        source: &str,
        chunk: &str,
        return_last_expr: bool,
    ) -> Result<Program, CompileError> {
        let options = Options { return_last_expr };
        compile_with(source, chunk, &mut self.table, options)
    }

    /// Loads a compiled program and runs it, with Ctrl-C interrupting it. Errors are
    /// reported here.
    fn run(&mut self, program: Program) -> Result<Value, Outcome> {
        let before = self.vm.protos.len();
        let main = match self.vm.load(&program) {
            Ok(main) => main,
            Err(e) => {
                // The compiler's output always verifies; this would be a VM bug.
                eprintln!("error: internal error: {e}");
                return Err(Outcome::Failed(EXIT_RUNTIME));
            }
        };
        self.record_protos(program, before);
        let result = self.vm.call_value(main, &[]);
        self.vm.flush();
        match result {
            Ok(v) => Ok(v),
            Err(VmError::Exit(code)) => Err(Outcome::Exit(code as u8)),
            Err(VmError::Runtime(e)) => {
                if self.unbuffered && e.message == "interrupted" {
                    // Past the `^C` the terminal echoed.
                    eprintln!();
                }
                let text = e.render();
                let text = match text.strip_prefix("error") {
                    Some(rest) if self.color => format!("\x1b[1;31merror\x1b[0m{rest}"),
                    _ => text,
                };
                eprint!("{text}");
                Err(Outcome::Failed(EXIT_RUNTIME))
            }
        }
    }

    /// Remembers which loaded prototype is which function of `program` (the VM loads
    /// a function's children before the function itself).
    fn record_protos(&mut self, program: Program, before: usize) {
        fn walk(p: &FnProto, path: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
            for (i, c) in p.protos.iter().enumerate() {
                path.push(i);
                walk(c, path, out);
                path.pop();
            }
            out.push(path.clone());
        }
        let mut paths = Vec::new();
        walk(&program.main, &mut Vec::new(), &mut paths);
        let index = self.programs.len();
        self.protos.truncate(before);
        self.protos.resize_with(before, || (usize::MAX, Vec::new()));
        self.protos.extend(paths.into_iter().map(|p| (index, p)));
        self.programs.push(program);
    }

    fn report_compile_error(&self, e: &CompileError, chunk: &str, source: &str) {
        let _ = std::io::stdout().flush();
        eprint!("{}", render_compile_error(e, chunk, source, self.color));
    }

    fn report(&self, message: &str) {
        let _ = std::io::stdout().flush();
        if self.color {
            eprintln!("\x1b[1;31merror\x1b[0m\x1b[1m: {message}\x1b[0m");
        } else {
            eprintln!("error: {message}");
        }
    }

    /// Runs a meta-command line (it starts with `:`).
    pub fn command(&mut self, line: &str) -> Outcome {
        let line = line.trim();
        let (name, arg) = match line.find(char::is_whitespace) {
            Some(i) => (&line[..i], line[i..].trim()),
            None => (line, ""),
        };
        match name {
            ":help" | ":h" | ":?" => {
                print!("{}", help_text());
                Outcome::Ok
            }
            ":quit" | ":q" | ":exit" => Outcome::Exit(0),
            ":reset" => {
                self.reset();
                Outcome::Ok
            }
            ":globals" => {
                print!("{}", self.globals_listing());
                Outcome::Ok
            }
            ":load" if arg.is_empty() => {
                self.report("usage: :load FILE");
                Outcome::Failed(EXIT_USAGE)
            }
            ":load" => self.load_file(arg),
            ":dis" if arg.is_empty() => {
                self.report("usage: :dis NAME or :dis EXPRESSION");
                Outcome::Failed(EXIT_USAGE)
            }
            ":dis" => self.dis(arg),
            _ => {
                self.report(&format!("unknown command '{name}' (:help lists them)"));
                Outcome::Failed(EXIT_USAGE)
            }
        }
    }

    /// `:load FILE`: compiles the file against the session's globals and runs it.
    fn load_file(&mut self, path: &str) -> Outcome {
        let source = match std::fs::read_to_string(path) {
            Ok(s) => s,
            Err(e) => {
                self.report(&format!("cannot read {path}: {e}"));
                return Outcome::Failed(EXIT_NOINPUT);
            }
        };
        let _sigint = sigint::Guard::install(self.vm.interrupt_handle());
        let program = match self.compile(&source, path, false) {
            Ok(p) => p,
            Err(e) => {
                self.report_compile_error(&e, path, &source);
                return Outcome::Failed(EXIT_COMPILE);
            }
        };
        match self.run(program) {
            Ok(_) => Outcome::Ok,
            Err(outcome) => outcome,
        }
    }

    /// The user's globals as `let NAME = VALUE` / `state NAME = VALUE` lines, in the
    /// order they were first declared. Built-ins are left out unless redefined.
    pub fn globals_listing(&self) -> String {
        let mut out = String::new();
        for name in self.table.names() {
            if name == "_" {
                continue;
            }
            let Some(value) = self.vm.get_global(name) else {
                continue;
            };
            if let Value::Native(i) = value {
                if builtins::BUILTINS.get(i as usize).map(|b| b.name) == Some(name) {
                    continue;
                }
            }
            let kind = match self.table.kind(name) {
                Some(GlobalKind::State) => "state",
                _ => "let",
            };
            out.push_str(&format!("{kind} {name} = {}\n", self.vm.repr(value)));
        }
        out
    }

    /// `:dis NAME` shows the bytecode of the function a global holds; anything else
    /// is compiled as an entry (without running it or declaring anything) and shown.
    fn dis(&mut self, arg: &str) -> Outcome {
        if is_identifier(arg) {
            match self.vm.get_global(arg) {
                Some(Value::Func(r)) => {
                    if let Some(text) = self.function_listing(r) {
                        print!("{text}");
                        return Outcome::Ok;
                    }
                }
                Some(Value::Native(_)) => {
                    println!("{arg} is a built-in function (no bytecode)");
                    return Outcome::Ok;
                }
                _ => {}
            }
        }
        let mut table = self.table.clone();
        let options = Options {
            return_last_expr: true,
        };
        match compile_with(arg, CHUNK, &mut table, options) {
            Ok(program) => {
                print!("{}", disassemble(&program));
                Outcome::Ok
            }
            Err(e) => {
                self.report_compile_error(&e, CHUNK, arg);
                Outcome::Failed(EXIT_COMPILE)
            }
        }
    }

    fn function_listing(&self, closure: crate::vm::ObjRef) -> Option<String> {
        let Obj::Closure(c) = self.vm.heap.get(closure) else {
            return None;
        };
        let (index, path) = self.protos.get(c.proto as usize)?;
        let program = self.programs.get(*index)?;
        let mut proto = &program.main;
        for &i in path {
            proto = proto.protos.get(i)?;
        }
        Some(disassemble_fn(program, proto))
    }

    /// The names completion offers: keywords, built-ins and the declared globals.
    pub fn completion_names(&self) -> Vec<String> {
        let mut names: Vec<String> = KEYWORDS.iter().map(|k| k.to_string()).collect();
        names.extend(
            self.table
                .names()
                .filter(|n| self.table.kind(n) != Some(GlobalKind::Used))
                .map(str::to_string),
        );
        names.sort();
        names.dedup();
        names
    }
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !KEYWORDS.contains(&s)
}

/// The text of `:help`.
pub fn help_text() -> String {
    let mut s = String::from(
        "Type Vela code: declarations persist, an expression's value is printed\n\
         (and kept in `_`). An unfinished entry continues on a `...` prompt.\n\nCommands:\n",
    );
    for (cmd, what) in COMMANDS {
        s.push_str(&format!("  {cmd:<16} {what}\n"));
    }
    s.push_str(
        "\nKeys: Tab completes names, Up/Down walk the history, Ctrl-C clears the line\n\
         or interrupts running code, Ctrl-D (on an empty line) leaves.\n",
    );
    s
}

/// Collects lines into entries and runs them; shared by both drivers.
pub struct Repl {
    pub session: Session,
    /// The lines of an unfinished entry.
    pending: String,
    /// The exit code of the last failed entry, if any.
    pub last_failure: Option<u8>,
}

/// What feeding a line did.
#[derive(Debug, PartialEq, Eq)]
pub enum Fed {
    /// The entry is unfinished: read another line (on the `...` prompt).
    More,
    /// An entry (or command) was handled; its full text, for the history.
    Done(String, Outcome),
}

impl Repl {
    pub fn new(session: Session) -> Repl {
        Repl {
            session,
            pending: String::new(),
            last_failure: None,
        }
    }

    /// The unfinished entry so far ("" at the start of an entry).
    pub fn pending(&self) -> &str {
        &self.pending
    }

    /// Drops an unfinished entry (Ctrl-C on the prompt).
    pub fn clear(&mut self) {
        self.pending.clear();
    }

    /// Feeds one line of input (without its line ending).
    pub fn feed(&mut self, line: &str) -> Fed {
        if self.pending.is_empty() {
            let trimmed = line.trim();
            if trimmed.is_empty() {
                return Fed::Done(String::new(), Outcome::Ok);
            }
            if trimmed.starts_with(':') {
                let outcome = self.session.command(trimmed);
                return self.done(trimmed.to_string(), outcome);
            }
        }
        self.pending.push_str(line);
        self.pending.push('\n');
        match self.session.eval(&self.pending, true) {
            Outcome::Incomplete => Fed::More,
            outcome => {
                let entry = std::mem::take(&mut self.pending);
                self.done(entry.trim_end().to_string(), outcome)
            }
        }
    }

    /// The end of input: runs an unfinished entry as it is (reporting its error).
    pub fn finish(&mut self) -> Option<Outcome> {
        if self.pending.trim().is_empty() {
            self.pending.clear();
            return None;
        }
        let entry = std::mem::take(&mut self.pending);
        let outcome = self.session.eval(&entry, false);
        self.done(entry, outcome);
        Some(outcome)
    }

    fn done(&mut self, entry: String, outcome: Outcome) -> Fed {
        if let Outcome::Failed(code) = outcome {
            self.last_failure = Some(code);
        }
        Fed::Done(entry, outcome)
    }
}

/// Runs a session on stdin that is not a terminal: no prompts, no banner. Exits 0
/// when every entry worked, otherwise with the code of the last failure (65 for a
/// compile error, 70 for a runtime error, 66 for an unreadable `:load` file, 64 for a
/// bad command); `exit(n)` and `:quit` end the session at once with their code.
pub fn run_piped(input: impl BufRead) -> u8 {
    let color = use_color(std::io::stdout().is_terminal() && std::io::stderr().is_terminal());
    let mut repl = Repl::new(Session::new(false, color));
    for line in input.lines() {
        let Ok(line) = line else { break };
        if let Fed::Done(_, Outcome::Exit(code)) = repl.feed(&line) {
            return code;
        }
    }
    if let Some(Outcome::Exit(code)) = repl.finish() {
        return code;
    }
    repl.last_failure.unwrap_or(0)
}

/// The history file: `$VELA_HISTORY`, else `~/.vela_history`.
pub fn history_path() -> Option<std::path::PathBuf> {
    if let Some(p) = std::env::var_os("VELA_HISTORY").filter(|p| !p.is_empty()) {
        return Some(p.into());
    }
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| std::path::Path::new(&h).join(".vela_history"))
}

/// Runs the REPL: interactively when stdin is a terminal, else [`run_piped`].
pub fn run() -> u8 {
    if std::io::stdin().is_terminal() {
        run_interactive()
    } else {
        run_piped(std::io::stdin().lock())
    }
}

/// Runs the interactive REPL on the terminal. Ctrl-D and `:quit` leave with 0.
pub fn run_interactive() -> u8 {
    use rustyline::error::ReadlineError;
    let highlight = use_color(std::io::stdout().is_terminal());
    let color = highlight && std::io::stderr().is_terminal();
    let config = rustyline::Config::builder()
        .max_history_size(10_000)
        .map(|b| {
            b.auto_add_history(false)
                .completion_type(rustyline::CompletionType::List)
                .build()
        })
        .unwrap_or_default();
    let mut editor: rustyline::Editor<helper::VelaHelper, rustyline::history::FileHistory> =
        match rustyline::Editor::with_config(config) {
            Ok(e) => e,
            Err(e) => {
                eprintln!("error: cannot start the line editor: {e}");
                return run_piped(std::io::stdin().lock());
            }
        };
    let mut repl = Repl::new(Session::new(true, color));
    editor.set_helper(Some(helper::VelaHelper::new(highlight)));
    let history = history_path();
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }
    println!(
        "Vela {} — :help for help, Ctrl-D to leave",
        env!("CARGO_PKG_VERSION")
    );
    loop {
        if let Some(h) = editor.helper_mut() {
            h.update(repl.pending(), repl.session.completion_names());
        }
        let prompt = if repl.pending().is_empty() {
            ">>> "
        } else {
            "... "
        };
        match editor.readline(prompt) {
            Ok(line) => match repl.feed(&line) {
                Fed::More => {}
                Fed::Done(entry, outcome) => {
                    if !entry.is_empty() {
                        let _ = editor.add_history_entry(entry);
                        if let Some(path) = &history {
                            let _ = editor.append_history(path);
                        }
                    }
                    if let Outcome::Exit(code) = outcome {
                        return code;
                    }
                }
            },
            Err(ReadlineError::Interrupted) => repl.clear(),
            Err(ReadlineError::Eof) => {
                if let Some(Outcome::Exit(code)) = repl.finish() {
                    return code;
                }
                return 0;
            }
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_USAGE;
            }
        }
    }
}

/// The rustyline helper: completion and highlighting.
mod helper {
    use super::{highlight, COMMANDS};
    use rustyline::completion::{Completer, FilenameCompleter, Pair};
    use rustyline::highlight::{CmdKind, Highlighter};
    use rustyline::hint::Hinter;
    use rustyline::validate::Validator;
    use rustyline::{Context, Helper};
    use std::borrow::Cow;

    pub struct VelaHelper {
        color: bool,
        /// The earlier lines of the entry being typed (for highlighting).
        pending: String,
        names: Vec<String>,
        files: FilenameCompleter,
    }

    impl VelaHelper {
        pub fn new(color: bool) -> VelaHelper {
            VelaHelper {
                color,
                pending: String::new(),
                names: Vec::new(),
                files: FilenameCompleter::new(),
            }
        }

        pub fn update(&mut self, pending: &str, names: Vec<String>) {
            self.pending.clear();
            self.pending.push_str(pending);
            self.names = names;
        }
    }

    impl Completer for VelaHelper {
        type Candidate = Pair;

        fn complete(
            &self,
            line: &str,
            pos: usize,
            ctx: &Context<'_>,
        ) -> rustyline::Result<(usize, Vec<Pair>)> {
            let before = &line[..pos];
            if self.pending.is_empty() && before.trim_start().starts_with(':') {
                let t = before.trim_start();
                if t.starts_with(":load ") {
                    return self.files.complete(line, pos, ctx);
                }
                if !t.contains(char::is_whitespace) {
                    let start = pos - t.len();
                    // A command that takes an argument completes with a space.
                    let cands = COMMANDS
                        .iter()
                        .map(|(c, _)| match c.split_once(' ') {
                            Some((name, _)) => (name, format!("{name} ")),
                            None => (*c, c.to_string()),
                        })
                        .filter(|(name, _)| name.starts_with(t))
                        .map(|(name, replacement)| Pair {
                            display: name.to_string(),
                            replacement,
                        })
                        .collect();
                    return Ok((start, cands));
                }
            }
            let start = before
                .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .map_or(0, |i| i + 1);
            let word = &before[start..];
            if word.is_empty() || word.starts_with(|c: char| c.is_ascii_digit()) {
                return Ok((pos, Vec::new()));
            }
            let cands = self
                .names
                .iter()
                .filter(|n| n.starts_with(word))
                .map(|n| Pair {
                    display: n.clone(),
                    replacement: n.clone(),
                })
                .collect();
            Ok((start, cands))
        }
    }

    impl Hinter for VelaHelper {
        type Hint = String;
    }

    impl Validator for VelaHelper {}

    impl Highlighter for VelaHelper {
        fn highlight<'l>(&self, line: &'l str, _pos: usize) -> Cow<'l, str> {
            if !self.color || (self.pending.is_empty() && line.trim_start().starts_with(':')) {
                return Cow::Borrowed(line);
            }
            Cow::Owned(highlight(&self.pending, line))
        }

        fn highlight_char(&self, _line: &str, _pos: usize, kind: CmdKind) -> bool {
            self.color && kind != CmdKind::MoveCursor
        }
    }

    impl Helper for VelaHelper {}
}

/// What a piece of source text is, for highlighting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    Plain,
    Keyword,
    Literal,
    Number,
    Str,
    Comment,
}

impl Class {
    fn color(self) -> &'static str {
        match self {
            Class::Plain => "",
            Class::Keyword => "\x1b[1;35m",
            Class::Literal | Class::Number => "\x1b[33m",
            Class::Str => "\x1b[32m",
            Class::Comment => "\x1b[90m",
        }
    }
}

/// Classifies every byte of `source` for highlighting: a small scanner that follows
/// strings (with `${}` interpolation), comments, numbers and keywords, and never
/// fails, so unfinished input highlights as far as it goes. A `//` right after an
/// operand is floor division to the lexer, unless the parser then reads it as a
/// comment (`print(x) // shows x`): it is a comment exactly when blanking it out to
/// the end of its line leaves the parse unchanged.
pub fn classify(source: &str) -> Vec<Class> {
    let (class, floor_divs) = scan(source, &[]);
    if floor_divs.is_empty() {
        return class;
    }
    let parsed = parser::parse(source);
    let comments: Vec<usize> = floor_divs
        .into_iter()
        .take(16)
        .filter(|&p| {
            let mut text = source.to_string();
            let end = text[p..].find('\n').map_or(text.len(), |j| p + j);
            text.replace_range(p..end, &" ".repeat(end - p));
            parser::parse(&text) == parsed
        })
        .collect();
    if comments.is_empty() {
        return class;
    }
    scan(source, &comments).0
}

/// One pass of [`classify`] with the `//` at each offset in `comments` read as a
/// comment; also gives the offsets of the other `//` read as floor division.
fn scan(source: &str, comments: &[usize]) -> (Vec<Class>, Vec<usize>) {
    enum Mode {
        /// Code; inside an interpolation, the count of open `{` to match.
        Code {
            braces: usize,
        },
        Str,
    }
    let b = source.as_bytes();
    let mut class = vec![Class::Plain; b.len()];
    let mut floor_divs = Vec::new();
    let mut stack = vec![Mode::Code { braces: 0 }];
    let mut after_operand = false;
    let mut i = 0;
    while i < b.len() {
        let top = stack.len() - 1;
        match stack[top] {
            Mode::Str => {
                let start = i;
                match b[i] {
                    b'"' => {
                        stack.pop();
                        after_operand = true;
                        i += 1;
                    }
                    b'\\' => i = (i + 2).min(b.len()),
                    b'$' if b.get(i + 1) == Some(&b'{') => {
                        stack.push(Mode::Code { braces: 0 });
                        after_operand = false;
                        i += 2;
                    }
                    _ => i += 1,
                }
                class[start..i].fill(Class::Str);
            }
            Mode::Code { braces } => {
                let c = b[i];
                let start = i;
                let mut cls = Class::Plain;
                let mut operand = false;
                let slashes = c == b'/' && b.get(i + 1) == Some(&b'/');
                if slashes && after_operand && !comments.contains(&i) {
                    floor_divs.push(i);
                    i += 2;
                } else if slashes {
                    while i < b.len() && b[i] != b'\n' {
                        i += 1;
                    }
                    cls = Class::Comment;
                } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
                    i = source[i + 2..]
                        .find("*/")
                        .map_or(b.len(), |j| i + 2 + j + 2);
                    cls = Class::Comment;
                    operand = after_operand;
                } else if c == b'"' {
                    class[i] = Class::Str;
                    stack.push(Mode::Str);
                    i += 1;
                    continue;
                } else if c.is_ascii_digit() {
                    while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                        let exp = matches!(b[i], b'e' | b'E');
                        i += 1;
                        if exp && i < b.len() && matches!(b[i], b'+' | b'-') {
                            i += 1;
                        }
                        if i + 1 < b.len() && b[i] == b'.' && b[i + 1].is_ascii_digit() {
                            i += 1;
                        }
                    }
                    cls = Class::Number;
                    operand = true;
                } else if c.is_ascii_alphabetic() || c == b'_' {
                    while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                        i += 1;
                    }
                    cls = match &source[start..i] {
                        "true" | "false" | "nil" => Class::Literal,
                        w if KEYWORDS.contains(&w) => Class::Keyword,
                        _ => Class::Plain,
                    };
                    operand = cls != Class::Keyword;
                } else {
                    match c {
                        b'{' => stack[top] = Mode::Code { braces: braces + 1 },
                        b'}' if braces == 0 && top > 0 => {
                            // The end of an interpolation: back in the string.
                            stack.pop();
                            class[i] = Class::Str;
                            i += 1;
                            after_operand = false;
                            continue;
                        }
                        b'}' => {
                            stack[top] = Mode::Code {
                                braces: braces.saturating_sub(1),
                            }
                        }
                        b')' | b']' => operand = true,
                        b' ' | b'\t' | b'\r' => operand = after_operand,
                        _ => {}
                    }
                    i += source[i..].chars().next().map_or(1, char::len_utf8);
                }
                class[start..i].fill(cls);
                after_operand = operand;
            }
        }
    }
    (class, floor_divs)
}

/// `line` with ANSI colours, read as the continuation of `pending` (the earlier
/// lines of the same entry, each ending in a newline).
pub fn highlight(pending: &str, line: &str) -> String {
    let mut text = String::with_capacity(pending.len() + line.len());
    text.push_str(pending);
    text.push_str(line);
    let class = classify(&text);
    let offset = pending.len();
    let mut out = String::with_capacity(line.len() * 2);
    let mut current = Class::Plain;
    for (i, ch) in line.char_indices() {
        let c = class[offset + i];
        if c != current {
            if current != Class::Plain {
                out.push_str("\x1b[0m");
            }
            out.push_str(c.color());
            current = c;
        }
        out.push(ch);
    }
    if current != Class::Plain {
        out.push_str("\x1b[0m");
    }
    out
}

/// Ctrl-C while code runs: a SIGINT handler that sets the VM's interrupt flag,
/// installed only for the duration of a run (rustyline handles Ctrl-C itself while
/// it reads a line, and outside both the default action applies).
#[cfg(unix)]
mod sigint {
    use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
    use std::sync::Arc;

    /// The flag the handler sets (null when no guard is installed).
    static FLAG: AtomicPtr<AtomicBool> = AtomicPtr::new(std::ptr::null_mut());

    extern "C" fn on_sigint(_: libc::c_int) {
        // Only async-signal-safe work: one atomic load and one atomic store.
        let p = FLAG.load(Ordering::SeqCst);
        if !p.is_null() {
            // SAFETY: the pointer comes from an Arc that the installed Guard keeps
            // alive, and the Guard clears FLAG (after restoring the old handler)
            // before it drops that Arc.
            unsafe { (*p).store(true, Ordering::SeqCst) };
        }
    }

    /// The handler is installed while a Guard lives; dropping it restores the
    /// previous disposition.
    pub struct Guard {
        old: libc::sigaction,
        /// Keeps the flag FLAG points to alive.
        _flag: Arc<AtomicBool>,
    }

    impl Guard {
        pub fn install(flag: Arc<AtomicBool>) -> Option<Guard> {
            // A Ctrl-C that arrived after the previous run ended is stale.
            flag.store(false, Ordering::SeqCst);
            FLAG.store(Arc::as_ptr(&flag) as *mut AtomicBool, Ordering::SeqCst);
            // SAFETY: plain sigaction calls with zero-initialised (valid) structs;
            // the handler only touches atomics.
            unsafe {
                let mut sa: libc::sigaction = std::mem::zeroed();
                sa.sa_sigaction = on_sigint as *const () as libc::sighandler_t;
                sa.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&mut sa.sa_mask);
                let mut old: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(libc::SIGINT, &sa, &mut old) != 0 {
                    FLAG.store(std::ptr::null_mut(), Ordering::SeqCst);
                    return None;
                }
                Some(Guard { old, _flag: flag })
            }
        }
    }

    impl Drop for Guard {
        fn drop(&mut self) {
            // SAFETY: restores the disposition saved by `install`.
            unsafe {
                libc::sigaction(libc::SIGINT, &self.old, std::ptr::null_mut());
            }
            FLAG.store(std::ptr::null_mut(), Ordering::SeqCst);
        }
    }
}

#[cfg(not(unix))]
mod sigint {
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;

    pub struct Guard;

    impl Guard {
        pub fn install(_flag: Arc<AtomicBool>) -> Option<Guard> {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes(src: &str) -> String {
        classify(src)
            .iter()
            .map(|c| match c {
                Class::Plain => '.',
                Class::Keyword => 'k',
                Class::Literal => 'l',
                Class::Number => 'n',
                Class::Str => 's',
                Class::Comment => 'c',
            })
            .collect()
    }

    #[test]
    fn classifies_keywords_numbers_strings_comments() {
        assert_eq!(classes("let x = 1.5e3 // 2"), "kkk.....nnnnn....n");
        assert_eq!(classes("let x = 1 // the c"), "kkk.....n.cccccccc");
        assert_eq!(classes("print(x) // shows x"), ".........cccccccccc");
        assert_eq!(classes("// a\nb // c d"), "cccc...cccccc");
        assert_eq!(classes("f(nil) /* c */"), "..lll..ccccccc");
        assert_eq!(classes("\"a${x}b\""), "ssss.sss");
        assert_eq!(classes("\"${\"}\"}\""), "ssssssss");
        assert_eq!(classes("\"a { b"), "ssssss");
        assert_eq!(classes("0xff_0"), "nnnnnn");
    }

    #[test]
    fn highlight_keeps_the_text() {
        let h = highlight("", "let s = \"x\" // c");
        let plain: String = {
            let mut out = String::new();
            let mut esc = false;
            for ch in h.chars() {
                if ch == '\x1b' {
                    esc = true;
                } else if esc {
                    esc = ch != 'm';
                } else {
                    out.push(ch);
                }
            }
            out
        };
        assert_eq!(plain, "let s = \"x\" // c");
        // A continuation line inside a string stays a string.
        assert!(highlight("let s = \"abc\n", "def").starts_with("\x1b[32m"));
    }

    #[test]
    fn identifiers() {
        assert!(is_identifier("foo_1"));
        assert!(is_identifier("_"));
        assert!(!is_identifier("1a"));
        assert!(!is_identifier("f(1)"));
        assert!(!is_identifier("nil"));
    }
}
