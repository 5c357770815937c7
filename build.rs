// Generates the parser from grammar/vela.lalrpop into OUT_DIR; src/parser.rs includes it.
fn main() {
    lalrpop::Configuration::new()
        .use_cargo_dir_conventions()
        .set_in_dir("grammar")
        .emit_rerun_directives(true)
        .process()
        .expect("grammar/vela.lalrpop must generate");
}
