//! `atlasc`: compile, run, prove and verify Atlas models.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "atlasc", version, about = "Compile, run and prove ML inference with Atlas")]
#[command(args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// A model (`.atl` or `.onnx`) to compile, run and prove in one go.
    model: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Parse and type-check a model and report every error found.
    Check { model: PathBuf },
    /// Print the typed IR of a model.
    Ir {
        model: PathBuf,
        /// Show the IR after this pass: front, fold, dce or range (default: after all).
        #[arg(long)]
        after: Option<String>,
    },
    /// Print the VM listing of a model.
    Asm { model: PathBuf },
    /// Run a model on an input and print its outputs.
    Run {
        model: PathBuf,
        /// A JSON object mapping each input name to nested arrays of reals (default: a fixed
        /// input spread over [-1, 1), see docs/language.md).
        #[arg(long)]
        input: Option<PathBuf>,
        /// Also evaluate the model in f64 and print the largest difference.
        #[arg(long)]
        reference: bool,
        /// Print the outputs as JSON (reals and stored integers).
        #[arg(long)]
        json: bool,
    },
    /// Prove a model's run.
    Prove { model: PathBuf },
    /// Verify a proof against a verifying key.
    Verify { vk: PathBuf, proof: PathBuf },
    /// Import an ONNX model as an editable `.atl` program.
    Import { model: PathBuf },
    /// Benchmark proving and verification.
    Bench { model: PathBuf },
    /// Prove and verify with the prover core on generated data (until whole-model proofs exist).
    Demo {
        /// log2 of the number of entries.
        #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u8).range(1..=22))]
        log_size: u8,
    },
}

/// `atlasc demo`: real proofs on generated data, each checked by the verifier.
fn demo(log_size: usize) -> ExitCode {
    eprintln!("{}", atlas_compiler::demo::dev_srs_warning());
    match atlas_compiler::demo::run(log_size) {
        Ok(steps) => {
            for s in steps {
                println!(
                    "ok  {}
    prove {:.1?}, verify {:.1?}, proof {} bytes",
                    s.name, s.prove, s.verify, s.proof_bytes
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `atlasc check`: exit 0 with nothing on stderr when the file is valid; 1 when it has errors;
/// 2 when it cannot be read.
fn check(path: &Path) -> ExitCode {
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let report = atlas_compiler::check::check_file(path, color);
    eprint!("{}", report.stderr);
    ExitCode::from(report.exit_code)
}

/// `atlasc ir`: the validated IR on stdout (exit 0), or diagnostics on stderr (1; 2 unreadable).
fn ir(path: &Path, after: Option<&str>) -> ExitCode {
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let report = atlas_compiler::front::ir_file(path, after, color);
    print!("{}", report.stdout);
    eprint!("{}", report.stderr);
    ExitCode::from(report.exit_code)
}

/// `atlasc asm`: the VM listing, or rendered errors and a non-zero exit.
fn asm(path: &Path) -> ExitCode {
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let report = atlas_compiler::front::asm_file(path, color);
    print!("{}", report.stdout);
    eprint!("{}", report.stderr);
    ExitCode::from(report.exit_code)
}

/// A stage of the pipeline that does not exist yet: say so and fail, rather than pretend.
fn not_built(what: &str, issue: &str) -> ExitCode {
    eprintln!("error: `atlasc {what}` is not built yet (tracked by the issue \"{issue}\")");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match (cli.command, cli.model) {
        (Some(Command::Check { model }), _) => check(&model),
        (Some(Command::Ir { model, after }), _) => ir(&model, after.as_deref()),
        (Some(Command::Asm { model }), _) => asm(&model),
        (Some(Command::Run { model, input, reference, json }), _) => {
            let report = atlas_compiler::run::run_file(&model, input.as_deref(), reference, json);
            print!("{}", report.stdout);
            eprint!("{}", report.stderr);
            ExitCode::from(report.exit_code)
        }
        (Some(Command::Prove { .. }), _) | (None, Some(_)) => {
            not_built("prove", "Proving whole programs")
        }
        (Some(Command::Verify { .. }), _) => not_built("verify", "Proving whole programs"),
        (Some(Command::Import { .. }), _) => not_built("import", "ONNX import"),
        (Some(Command::Bench { .. }), _) => not_built("bench", "Proving whole programs"),
        (Some(Command::Demo { log_size }), _) => demo(log_size as usize),
        (None, None) => {
            eprintln!("error: no model given; try `atlasc --help`");
            ExitCode::from(2)
        }
    }
}
