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

/// Places the functions a run executes together, before the rest of the binary's
/// code (link/vela.ld, written by scripts/link-order.sh): the kernel maps the file
/// pages around every page a process touches, so start-up code scattered through
/// the 2 MB binary made even `print("hi")` map most of it. Measured with
/// `/usr/bin/time -f %M` on a fresh clone: peak RSS of `print("hi")` 3.7 -> 3.0 MB.
///
/// The script only adds a section (`INSERT BEFORE .text`), which lld (Rust's
/// default linker for x86_64-unknown-linux-gnu) and GNU ld both accept; for other
/// targets, or with a linker of the user's choosing, nothing is added.
/// `VELA_NO_LINK_ORDER=1` turns it off.
fn link_order() {
    println!("cargo:rerun-if-changed=link/vela.ld");
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
        || flags.contains("linker")
        || flags.contains("fuse-ld");
    if target != "x86_64-unknown-linux-gnu"
        || custom_linker
        || std::env::var_os("VELA_NO_LINK_ORDER").is_some()
    {
        return;
    }
    let Ok(dir) = std::env::var("CARGO_MANIFEST_DIR") else {
        return;
    };
    let script = std::path::Path::new(&dir).join("link/vela.ld");
    if script.is_file() {
        println!("cargo:rustc-link-arg-bins=-Wl,-T,{}", script.display());
    }
}
