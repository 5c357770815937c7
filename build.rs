// Generates the parser from grammar/vela.lalrpop into OUT_DIR; src/parser.rs includes
// it. Also gives the linker the order of the `vela` binary's functions (see below).
fn main() {
    lalrpop::Configuration::new()
        .use_cargo_dir_conventions()
        .set_in_dir("grammar")
        .emit_rerun_directives(true)
        .process()
        .expect("grammar/vela.lalrpop must generate");
    link_order();
}

/// Places the functions a run executes together at the start of the binary's code
/// (link/vela.order, written by scripts/link-order.sh): the kernel maps the file
/// pages around every page a process touches, so start-up code scattered through
/// the 2 MB binary made even `print("hi")` map most of it. Measured with
/// `/usr/bin/time -f %M`: peak RSS of benches/programs/fib_recursive.vela 3.9 ->
/// 2.8 MB.
///
/// The option belongs to lld, the linker Rust uses by default for
/// x86_64-unknown-linux-gnu since 1.90; anywhere else, or with a linker of the
/// user's choosing, nothing is added. `VELA_NO_LINK_ORDER=1` turns it off.
fn link_order() {
    println!("cargo:rerun-if-changed=link/vela.order");
    for var in [
        "VELA_NO_LINK_ORDER",
        "CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER",
        "RUSTC_LINKER",
    ] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    let target = std::env::var("TARGET").unwrap_or_default();
    let flags = std::env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    let custom_linker = std::env::var_os("CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER").is_some()
        || std::env::var_os("RUSTC_LINKER").is_some()
        || flags.contains("linker");
    if target != "x86_64-unknown-linux-gnu"
        || custom_linker
        || std::env::var_os("VELA_NO_LINK_ORDER").is_some()
        || !rustc_links_with_lld()
    {
        return;
    }
    let Ok(dir) = std::env::var("CARGO_MANIFEST_DIR") else {
        return;
    };
    let order = std::path::Path::new(&dir).join("link/vela.order");
    if order.is_file() {
        println!(
            "cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
            order.display()
        );
        // Names the build does not have (inlined, renamed) are skipped silently.
        println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    }
}

/// Whether the compiler is 1.90 or later (where lld is the default linker for
/// this target).
fn rustc_links_with_lld() -> bool {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let Ok(out) = std::process::Command::new(rustc).arg("-V").output() else {
        return false;
    };
    let version = String::from_utf8_lossy(&out.stdout);
    // "rustc 1.95.0 (59807616e 2026-04-14)"
    let mut parts = version
        .split_whitespace()
        .nth(1)
        .unwrap_or("")
        .split('.')
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    major > 1 || (major == 1 && minor >= 90)
}
