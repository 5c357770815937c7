//! The `vela` command line: run scripts, compile them to `.velac` bytecode files,
//! disassemble; with no arguments, the REPL.

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use vela::bytecode::{format as velac, Program};
use vela::diagnostics::{render_compile_error, use_color};
use vela::vm::{Limits, Vm, VmError};

/// Exit codes (BSD sysexits, as the spec asks).
const EXIT_COMPILE: u8 = 65;
const EXIT_NOINPUT: u8 = 66;
const EXIT_RUNTIME: u8 = 70;
const EXIT_CANTCREAT: u8 = 73;

#[derive(Parser)]
#[command(
    name = "vela",
    version,
    about = "Vela: a small, fast scripting language"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run a Vela script (source or compiled .velac).
    Run {
        /// The script to run: source, or a .velac file from `vela compile`.
        file: String,
        /// Stop after about N instructions (`instruction limit exceeded`).
        #[arg(long, value_name = "N")]
        max_instructions: Option<u64>,
        /// Stop when the heap exceeds SIZE bytes (suffixes K, M, G), e.g. 64M.
        #[arg(long, value_name = "SIZE", value_parser = parse_size)]
        max_memory: Option<usize>,
        /// Stop after DURATION of wall-clock time (suffixes ms, s, m, h), e.g. 5s.
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        timeout: Option<std::time::Duration>,
        /// Allow at most N nested calls (`stack overflow`).
        #[arg(long, value_name = "N")]
        max_call_depth: Option<usize>,
        /// Arguments for the script (`args()` returns them).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Start the interactive REPL (also what `vela` alone does).
    Repl,
    /// Compile a script to a .velac bytecode file.
    Compile {
        /// The source file.
        file: String,
        /// Where to write the bytecode (default: FILE with the extension .velac).
        #[arg(short, long, value_name = "OUT")]
        output: Option<String>,
        /// Leave out debug information (function names, line numbers, file name).
        #[arg(long)]
        strip: bool,
    },
    /// Print the bytecode of a script or a .velac file.
    Disasm {
        /// Source or .velac file.
        file: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Deeply nested programs recurse in the front end; give it room.
    let worker = std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || match cli.command {
            Some(Command::Run {
                file,
                args,
                max_instructions,
                max_memory,
                timeout,
                max_call_depth,
            }) => {
                let mut limits = Limits {
                    max_instructions,
                    timeout,
                    ..Limits::default()
                };
                if let Some(bytes) = max_memory {
                    limits.max_memory = bytes;
                }
                if let Some(depth) = max_call_depth {
                    limits.max_call_depth = depth.min(limits.max_call_depth);
                }
                run_file(&file, args, limits)
            }
            Some(Command::Repl) | None => ExitCode::from(vela::repl::run()),
            Some(Command::Compile {
                file,
                output,
                strip,
            }) => compile_file(&file, output, strip),
            Some(Command::Disasm { file }) => disasm_file(&file),
        });
    match worker.map(|h| h.join()) {
        Ok(Ok(code)) => code,
        _ => {
            eprintln!("error: internal error");
            ExitCode::from(EXIT_RUNTIME)
        }
    }
}

/// Reads a program: a `.velac` file (told by its magic bytes) is loaded and
/// verified, anything else is compiled as source. Errors are reported here.
fn load_program(file: &str) -> Result<Program, ExitCode> {
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: cannot read {file}: {e}");
            return Err(ExitCode::from(EXIT_NOINPUT));
        }
    };
    if velac::is_bytecode(&bytes) {
        return match velac::load(&bytes) {
            Ok(mut program) => {
                // A stripped file has no chunk name: tracebacks name the file run.
                if program.chunk.is_empty() {
                    program.chunk = file.to_string();
                }
                Ok(program)
            }
            Err(e) => {
                eprintln!("error: cannot load {file}: {e}");
                Err(ExitCode::from(EXIT_COMPILE))
            }
        };
    }
    let Ok(source) = String::from_utf8(bytes) else {
        eprintln!("error: {file} is not valid UTF-8");
        return Err(ExitCode::from(EXIT_COMPILE));
    };
    compile_text(&source, file)
}

fn compile_text(source: &str, file: &str) -> Result<Program, ExitCode> {
    let color = use_color(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    vela::compile_source(source, file).map_err(|e| {
        eprint!("{}", render_compile_error(&e, file, source, color));
        ExitCode::from(EXIT_COMPILE)
    })
}

/// `64M` → 67108864 (suffixes K, M, G; powers of 1024).
fn parse_size(text: &str) -> Result<usize, String> {
    let t = text.trim();
    let (digits, unit) = match t.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => t.split_at(i),
        None => (t, ""),
    };
    let n: usize = digits
        .parse()
        .map_err(|_| format!("'{text}' is not a size like 64M"))?;
    let scale: usize = match unit.to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1 << 10,
        "M" | "MB" | "MIB" => 1 << 20,
        "G" | "GB" | "GIB" => 1 << 30,
        _ => return Err(format!("'{text}' is not a size like 64M")),
    };
    n.checked_mul(scale)
        .ok_or_else(|| format!("'{text}' is too large"))
}

/// `5s` → 5 seconds (suffixes ms, s, m, h; a bare number is seconds).
fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let t = text.trim();
    let (number, unit) = match t
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_digit() || *c == '.'))
    {
        Some((i, _)) => t.split_at(i),
        None => (t, "s"),
    };
    let n: f64 = number
        .parse()
        .map_err(|_| format!("'{text}' is not a duration like 5s"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("'{text}' is not a duration like 5s")),
    };
    std::time::Duration::try_from_secs_f64(secs).map_err(|_| format!("'{text}' is out of range"))
}

fn run_file(file: &str, args: Vec<String>, limits: Limits) -> ExitCode {
    let program = match load_program(file) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let mut vm = Vm::new();
    vm.set_args(args);
    vm.set_limits(limits);
    let main = match vm.load(&program) {
        Ok(main) => main,
        Err(e) => {
            eprintln!("error: cannot load {file}: {e}");
            return ExitCode::from(EXIT_COMPILE);
        }
    };
    let result = vm.call_value(main, &[]);
    vm.flush();
    match result {
        Ok(_) => ExitCode::SUCCESS,
        Err(VmError::Exit(code)) => ExitCode::from(code as u8),
        Err(VmError::Runtime(e)) => {
            eprint!("{}", e.render());
            ExitCode::from(EXIT_RUNTIME)
        }
    }
}

/// `vela compile`: source → `.velac`, written to a temporary file in the target's
/// directory and renamed over the target, so a failed write leaves no half file and
/// keeps an older one intact.
fn compile_file(file: &str, output: Option<String>, strip: bool) -> ExitCode {
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: cannot read {file}: {e}");
            return ExitCode::from(EXIT_NOINPUT);
        }
    };
    if velac::is_bytecode(&bytes) {
        eprintln!("error: {file} is already compiled bytecode");
        return ExitCode::from(EXIT_COMPILE);
    }
    let Ok(source) = String::from_utf8(bytes) else {
        eprintln!("error: {file} is not valid UTF-8");
        return ExitCode::from(EXIT_COMPILE);
    };
    let program = match compile_text(&source, file) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let out = match output {
        Some(o) => std::path::PathBuf::from(o),
        None => std::path::Path::new(file).with_extension("velac"),
    };
    match write_atomically(&out, &velac::write(&program, strip)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: cannot write {}: {e}", out.display());
            ExitCode::from(EXIT_CANTCREAT)
        }
    }
}

fn write_atomically(path: &std::path::Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("not a file name"))?
        .to_string_lossy()
        .into_owned();
    let mut n = 0u32;
    let (tmp, mut f) = loop {
        let tmp = dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
        {
            Ok(f) => break (tmp, f),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 100 => n += 1,
            Err(e) => return Err(e),
        }
    };
    let result = f
        .write_all(data)
        .and_then(|()| f.sync_all())
        .and_then(|()| {
            drop(f);
            std::fs::rename(&tmp, path)
        });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// `vela disasm`: the listing of a source or `.velac` file.
fn disasm_file(file: &str) -> ExitCode {
    let program = match load_program(file) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let mut text = String::new();
    if let Ok(h) = std::fs::read(file)
        .map_err(|_| ())
        .and_then(|b| velac::header(&b).map_err(|_| ()))
    {
        text.push_str(&format!(
            "; {file}: vela bytecode format {}, written by vela {}, {} payload bytes{}\n",
            h.format,
            h.writer,
            h.payload_len,
            if h.stripped { ", stripped" } else { "" }
        ));
    }
    text.push_str(&vela::bytecode::disasm::disassemble(&program));
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if out.write_all(text.as_bytes()).is_err() {
        // A closed pipe (`vela disasm x | head`) is not an error.
        return ExitCode::SUCCESS;
    }
    ExitCode::SUCCESS
}
