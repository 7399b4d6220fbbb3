//! Generates the parser from `src/grammar.lalrpop` into `OUT_DIR` at build time, so the generated
//! code is never checked in and can never drift from the grammar.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    lalrpop::Configuration::new().set_in_dir("./src").emit_rerun_directives(true).process()
}
