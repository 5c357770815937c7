//! The `vela` command line: run scripts; with no arguments, the REPL.

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use vela::diagnostics::{render_compile_error, use_color};
use vela::vm::{Vm, VmError};

/// Exit codes (BSD sysexits, as the spec asks).
const EXIT_COMPILE: u8 = 65;
const EXIT_NOINPUT: u8 = 66;
const EXIT_RUNTIME: u8 = 70;

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
    /// Run a Vela script.
    Run {
        /// The script to run.
        file: String,
        /// Arguments for the script (`args()` returns them).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Start the interactive REPL (also what `vela` alone does).
    Repl,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Deeply nested programs recurse in the front end; give it room.
    let worker = std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || match cli.command {
            Some(Command::Run { file, args }) => run_file(&file, args),
            Some(Command::Repl) | None => ExitCode::from(vela::repl::run()),
        });
    match worker.map(|h| h.join()) {
        Ok(Ok(code)) => code,
        _ => {
            eprintln!("error: internal error");
            ExitCode::from(EXIT_RUNTIME)
        }
    }
}

fn run_file(file: &str, args: Vec<String>) -> ExitCode {
    let source = match std::fs::read_to_string(file) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot read {file}: {e}");
            return ExitCode::from(EXIT_NOINPUT);
        }
    };
    let color = use_color(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let program = match vela::compile_source(&source, file) {
        Ok(p) => p,
        Err(e) => {
            eprint!("{}", render_compile_error(&e, file, &source, color));
            return ExitCode::from(EXIT_COMPILE);
        }
    };
    let mut vm = Vm::new();
    vm.set_args(args);
    let main = vm.load(&program);
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
