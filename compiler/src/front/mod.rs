//! The `.atl` front half: a parsed [`Ast`] → a typed [`atlas_ir::Program`].
//!
//! One elaboration pass (`elab.rs`) resolves names, inlines `fn` helpers, checks types and shapes
//! (NumPy broadcasting) and builds the IR as it goes. Doing the three at once keeps one source of
//! truth for types: every node's type comes from [`atlas_ir::infer`], the same function `validate`
//! uses, so the front end cannot disagree with the IR about a width.
//!
//! Errors never stop the pass: an expression that fails is reported once and poisons only what
//! depends on it, so `atlasc check` reports every independent error. Constructs that are valid
//! language but cannot be lowered yet (e.g. division by a tensor) are reported separately as "not
//! supported yet" ([`Compiled::unsupported`]): `atlasc check` accepts them, `atlasc ir` refuses
//! them.
//!
//! `std.nn`'s softmax, layer norm, GELU and mean are not here: they are `.atl` source, the prelude
//! (`atlas_stdlib::prelude::NN`), which `elab.rs` parses once and inlines at each call like any
//! generic `fn`, over the primitives of `std.prim`.
//!
//! Around it: `tables.rs` samples every program-local dense table (the `lookup`s) into a
//! [`Model`] (the sampled stdlib primitives are named by id instead);
//! [`passes`] holds the IR passes `atlasc ir --after` names (fold, dce, range); [`load_weights`] binds `load` params from `.safetensors`,
//! `.npy` and `.npz` files (`inflate.rs` decodes deflated `.npz` members).
//!
//! The language rules implemented here (nominal types, narrowing, promotion, broadcasting, the
//! library functions) are documented in docs/language.md §7; the diagnostics in docs/errors.md.

mod elab;
mod inflate;
pub mod passes;
mod tables;
mod weights;

use atlas_lang::{Ast, Diagnostic};

pub use elab::builtin_names;
pub use tables::Formula;
pub use weights::{f16_to_f64, load_weights, load_weights_with, Loaded};

/// A compiled model: its program and the entries of its dense tables (`lookup`s and the tables
/// the compiler synthesizes), in program-local index order. The IR names a dense table only by id
/// (kind 7 and its index); these are what the id refers to.
#[derive(Debug)]
pub struct Model {
    pub program: atlas_ir::Program,
    pub dense_tables: Vec<atlas_stdlib::DenseTable>,
    /// The real-valued formula of each dense table (same order): what it was sampled from, and the
    /// f64 reference `atlasc run --reference` evaluates.
    pub formulas: Vec<Formula>,
}

/// What the front end made of one file.
#[derive(Debug)]
pub struct Compiled {
    /// One program per `model` that lowered completely (no errors, nothing unsupported), with the
    /// model's name.
    pub programs: Vec<Model>,
    /// Language errors: names, types, shapes, constants. Sorted by position, deduplicated.
    pub errors: Vec<Diagnostic>,
    /// Valid constructs the lowering cannot handle yet (code E0508). Sorted, deduplicated.
    pub unsupported: Vec<Diagnostic>,
    /// How many `model`s the file declares (for the "which model" question of `atlasc ir`).
    pub models: usize,
}

/// Elaborates every `fn` (standalone, at its declared types) and every `model` of `ast`.
///
/// `ast` must come from a parse without errors: the front end relies on the structural checks
/// (E03xx) having passed, e.g. that lookup formulas only use builtins.
pub fn elaborate(ast: &Ast) -> Compiled {
    elab::run(ast)
}

/// The single program of a file, for `atlasc ir`: errors if the file has errors, anything not
/// supported yet, or not exactly one model.
pub fn compile(ast: &Ast) -> Result<Model, Vec<Diagnostic>> {
    let mut compiled = elaborate(ast);
    let mut diagnostics = compiled.errors;
    diagnostics.append(&mut compiled.unsupported);
    if compiled.models != 1 {
        diagnostics.push(elab::model_count_error(ast, compiled.models));
    }
    if !diagnostics.is_empty() {
        diagnostics.sort_by_key(|d| d.primary_span().map(|s| (s.start, s.end)));
        return Err(diagnostics);
    }
    compiled.programs.pop().ok_or_else(|| vec![elab::model_count_error(ast, 0)])
}

/// What `atlasc ir` prints and returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IrReport {
    /// 0: printed; 1: the model has errors or unsupported constructs; 2: unreadable file or bad
    /// arguments.
    pub exit_code: u8,
    /// The IR text form (empty on failure).
    pub stdout: String,
    /// Rendered diagnostics and a summary (empty on success).
    pub stderr: String,
}

pub use passes::PASSES;

/// `atlasc ir`: compiles the file at `path` and prints its validated IR after the pass `after`
/// (after all of [`PASSES`] for `None`; `front` is the front end's own output).
pub fn ir_file(path: &std::path::Path, after: Option<&str>, color: bool) -> IrReport {
    match crate::check::read_source(path) {
        Ok(text) => ir_source(&path.display().to_string(), &text, after, color),
        Err(r) => IrReport { exit_code: r.exit_code, stdout: String::new(), stderr: r.stderr },
    }
}

/// `atlasc ir` on source text labelled `name`.
pub fn ir_source(name: &str, text: &str, after: Option<&str>, color: bool) -> IrReport {
    match compile_with_passes(name, text, after, color) {
        Ok(Model { program, .. }) => {
            IrReport { exit_code: 0, stdout: atlas_ir::print(&program), stderr: String::new() }
        }
        Err(report) => report,
    }
}

/// `atlasc asm`: compiles, runs every pass, lowers to the VM and prints the listing.
pub fn asm_file(path: &std::path::Path, color: bool) -> IrReport {
    match crate::check::read_source(path) {
        Ok(text) => asm_source(&path.display().to_string(), &text, color),
        Err(r) => IrReport { exit_code: r.exit_code, stdout: String::new(), stderr: r.stderr },
    }
}

/// [`asm_file`] on a source text.
pub fn asm_source(name: &str, text: &str, color: bool) -> IrReport {
    let model = match compile_with_passes(name, text, None, color) {
        Ok(model) => model,
        Err(report) => return report,
    };
    let failed = |why: String| IrReport {
        exit_code: 1,
        stdout: String::new(),
        stderr: format!("error: `{name}` cannot be lowered to the VM: {why}\n"),
    };
    let info = match atlas_ir::validate(&model.program) {
        Ok(info) => info,
        Err(why) => return failed(why.to_string()),
    };
    match crate::lower::lower_with_tables(&info, &model.dense_tables) {
        Ok(vm) => IrReport { exit_code: 0, stdout: atlas_vm::listing(&vm), stderr: String::new() },
        Err(why) => failed(why.to_string()),
    }
}

/// Parses, compiles and runs the passes up to `after`; a failure is the report to print.
fn compile_with_passes(
    name: &str,
    text: &str,
    after: Option<&str>,
    color: bool,
) -> Result<Model, IrReport> {
    if let Some(pass) = after.filter(|p| !PASSES.contains(p)) {
        return Err(IrReport {
            exit_code: 2,
            stdout: String::new(),
            stderr: format!(
                "error: expected `--after` to name a pass ({}), found `{pass}`\n",
                PASSES.join(", ")
            ),
        });
    }
    let mut sources = atlas_lang::Sources::new();
    let file = sources.add(name, text);
    let parsed = atlas_lang::parse(file, text);
    let result =
        if parsed.diagnostics.is_empty() { compile(&parsed.ast) } else { Err(parsed.diagnostics) };
    match result {
        // `run_passes` validates before and after every pass. The front end types every node
        // with `infer`, so a failure is a compiler bug; still a report, not a panic.
        Ok(Model { program, dense_tables, formulas }) => match passes::run_passes(program, after) {
            Ok(program) => Ok(Model { program, dense_tables, formulas }),
            Err(why) => Err(IrReport {
                exit_code: 1,
                stdout: String::new(),
                stderr: format!("error: internal compiler error in `{name}`: {why}\n"),
            }),
        },
        Err(diagnostics) => {
            let r = crate::check::report(name, &diagnostics, &sources, color);
            Err(IrReport { exit_code: r.exit_code, stdout: String::new(), stderr: r.stderr })
        }
    }
}
