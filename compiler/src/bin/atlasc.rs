//! `atlasc`: compile, run, prove and verify Atlas models.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use atlas_compiler::prove as pipeline;
use atlas_prover::tensor::WeightMode;

#[derive(Parser)]
#[command(name = "atlasc", version, about = "Compile, run and prove ML inference with Atlas")]
#[command(args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// A model (`.atl`) to compile, run and prove in one go: writes `model.proof` and `model.vk`.
    model: Option<PathBuf>,
    #[command(flatten)]
    prove: ProveArgs,
}

/// Options of proving.
#[derive(Args, Clone, Debug, Default)]
struct ProveArgs {
    /// A JSON object mapping each input name to nested arrays of reals (the format of
    /// `atlasc run`; default: its fixed input).
    #[arg(long)]
    input: Option<PathBuf>,
    /// Put the weights in the verifying key (the verifier reads them) instead of committing to them.
    #[arg(long)]
    public_weights: bool,
    /// A powers-of-tau file (snarkjs `.ptau`, BN254) for a real SRS; default: the insecure
    /// development SRS.
    #[arg(long)]
    ptau: Option<PathBuf>,
    /// Print a JSON summary instead of text.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    onnx: OnnxArgs,
}

/// How an ONNX model is quantized (ignored for `.atl`).
#[derive(Args, Clone, Debug, Default)]
struct OnnxArgs {
    /// ONNX: the input whose value ranges fix each tensor's fixed-point type (default: `--input`,
    /// else the default input). Fix it to keep one verifying key across inputs.
    #[arg(long)]
    calibrate: Option<PathBuf>,
    /// ONNX: every activation at fix<16, FRAC> instead of calibrated per tensor.
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=15))]
    frac: Option<u8>,
}

impl OnnxArgs {
    fn options(&self) -> atlas_compiler::import::OnnxOptions {
        atlas_compiler::import::OnnxOptions { calibrate: self.calibrate.clone(), frac: self.frac }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Parse and type-check a model and report every error found.
    Check { model: PathBuf },
    /// Print the typed IR of a model.
    Ir {
        model: PathBuf,
        /// Show the IR after this pass: front, fold, dce, range or fuse (default: after all).
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
        #[command(flatten)]
        onnx: OnnxArgs,
    },
    /// Compile, run and prove a model: writes `model.proof` and `model.vk` next to it.
    Prove {
        model: PathBuf,
        #[command(flatten)]
        args: ProveArgs,
    },
    /// Preprocessing only: check the model, commit to its weights and write `model.vk`.
    Setup {
        model: PathBuf,
        #[command(flatten)]
        args: ProveArgs,
    },
    /// Verify a proof file against a verifying key and print the outputs it proves.
    Verify {
        vk: PathBuf,
        proof: PathBuf,
        /// Print a JSON summary instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Import an ONNX model as an editable `.atl` program and its weights file.
    Import {
        model: PathBuf,
        /// The program to write (default: `model.atl` beside the model); the weights go beside
        /// it as `<name>.safetensors`.
        #[arg(short, long)]
        output: Option<PathBuf>,
        #[command(flatten)]
        onnx: OnnxArgs,
    },
    /// Benchmark proving and verification: one line per model (each in its own process, so peak
    /// memory is per model), medians over `--runs`.
    Bench {
        /// `.atl` or `.onnx` models.
        #[arg(required = true)]
        models: Vec<PathBuf>,
        /// Proofs (and verifications) per model; the median is reported.
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Benchmark with the weights public as well as committed.
        #[arg(long)]
        both_modes: bool,
        #[command(flatten)]
        args: ProveArgs,
    },
    /// One model of `atlasc bench`, in a child process: prints one JSON line.
    #[command(hide = true)]
    BenchOne {
        model: PathBuf,
        #[arg(long)]
        runs: usize,
        #[command(flatten)]
        args: ProveArgs,
    },
    /// Prove and verify the prover core's parts (lookup, sumcheck, commitments) on generated data.
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

fn mode(args: &ProveArgs) -> WeightMode {
    if args.public_weights {
        WeightMode::Public
    } else {
        WeightMode::Committed
    }
}

fn dev_warning(args: &ProveArgs) {
    if args.ptau.is_none() {
        eprintln!("{}", atlas_compiler::demo::dev_srs_warning());
    }
}

/// `model.ext` → `model.<ext>` next to it.
fn sibling(model: &Path, ext: &str) -> PathBuf {
    model.with_extension(ext)
}

fn fail(msg: &str) -> ExitCode {
    eprint!("{msg}");
    if !msg.ends_with('\n') {
        eprintln!();
    }
    ExitCode::FAILURE
}

/// Values shown per tensor in text output.
const SHOWN: usize = 10;

fn show(v: &[i64]) -> String {
    let head: Vec<String> = v.iter().take(SHOWN).map(i64::to_string).collect();
    let more = if v.len() > SHOWN { format!(", … ({} values)", v.len()) } else { String::new() };
    format!("[{}{more}]", head.join(", "))
}

fn json_list(v: &[i64]) -> String {
    let items: Vec<String> = v.iter().map(i64::to_string).collect();
    format!("[{}]", items.join(","))
}

/// One redrawn stderr line: the stage, a bar of its progress, and the time since the run began.
struct ProgressBar {
    start: std::time::Instant,
    /// The last stage drawn and when, to redraw at most every 50 ms within a stage.
    last: std::cell::Cell<(&'static str, std::time::Instant)>,
}

impl ProgressBar {
    fn new() -> Self {
        let now = std::time::Instant::now();
        ProgressBar { start: now, last: std::cell::Cell::new(("", now)) }
    }

    fn show(&self, stage: &'static str, done: usize, total: usize) {
        let (last_stage, last_time) = self.last.get();
        if stage == last_stage && last_time.elapsed().as_millis() < 50 {
            return;
        }
        self.last.set((stage, std::time::Instant::now()));
        const WIDTH: usize = 30;
        let filled = (done * WIDTH).checked_div(total).unwrap_or(0).min(WIDTH);
        eprint!(
            "\r\x1b[2K{stage:<7} [{}{}] {done}/{total}  {:.1?}",
            "#".repeat(filled),
            ".".repeat(WIDTH - filled),
            self.start.elapsed()
        );
    }

    fn clear(&self) {
        eprint!("\r\x1b[2K");
    }
}

/// `atlasc prove` and `atlasc model.atl`.
fn prove(model: &Path, args: &ProveArgs) -> ExitCode {
    dev_warning(args);
    let clock = std::time::Instant::now();
    let (built, inputs) = match prepare(model, args) {
        Ok(b) => b,
        Err(e) => return fail(&e),
    };
    let compile = clock.elapsed();
    for w in &inputs.warnings {
        eprintln!("warning: {w}");
    }
    // A progress bar on stderr, for a person watching a terminal (never in `--json` output).
    let bar = (!args.json && std::io::stderr().is_terminal()).then(ProgressBar::new);
    let report = |stage: &'static str, done: usize, total: usize| {
        if let Some(b) = &bar {
            b.show(stage, done, total);
        }
    };
    let proved = pipeline::prove_prepared_with_progress(
        &built,
        &inputs.values,
        mode(args),
        args.ptau.as_deref(),
        &report,
    );
    if let Some(b) = &bar {
        b.clear();
    }
    let mut proved = match proved {
        Ok(p) => p,
        Err(e) => return fail(&format!("error: {}: {e}", model.display())),
    };
    proved.timings.insert(0, ("compile", compile));
    let (vk_path, proof_path) = (sibling(model, "vk"), sibling(model, "proof"));
    let (vk, proof) = (proved.vk.to_bytes(), proved.file.to_bytes());
    for (path, bytes) in [(&vk_path, &vk), (&proof_path, &proof)] {
        if let Err(e) = pipeline::write_atomically(path, bytes) {
            return fail(&format!("error: cannot write {}: {e}", path.display()));
        }
    }
    if args.json {
        let outs: Vec<String> = proved.file.outputs.iter().map(|o| json_list(o)).collect();
        let times: Vec<String> = proved
            .timings
            .iter()
            .map(|(n, d)| format!("\"{n}\":{:.3}", d.as_secs_f64() * 1e3))
            .collect();
        println!(
            "{{\"outputs\":[{}],\"proof_bytes\":{},\"vk_bytes\":{},\"proof\":{:?},\"vk\":{:?},\"timings_ms\":{{{}}}}}",
            outs.join(","),
            proof.len(),
            vk.len(),
            proof_path.display().to_string(),
            vk_path.display().to_string(),
            times.join(",")
        );
    } else {
        for (i, o) in proved.file.outputs.iter().enumerate() {
            println!("output {i}: {}", show(o));
        }
        println!("proof: {} ({} bytes)", proof_path.display(), proof.len());
        println!("verifying key: {} ({} bytes)", vk_path.display(), vk.len());
        for (n, d) in &proved.timings {
            println!("  {n:<8} {d:.1?}");
        }
    }
    ExitCode::SUCCESS
}

/// The compiled model and its input: an `.atl` file, or an `.onnx` file imported first.
fn prepare(
    model: &Path,
    args: &ProveArgs,
) -> Result<(atlas_compiler::run::Prepared, atlas_compiler::run::Inputs), String> {
    if atlas_compiler::import::is_onnx(model) {
        let run = atlas_compiler::import::prepare_onnx(
            model,
            args.input.as_deref(),
            &args.onnx.options(),
        )
        .map_err(|e| format!("error: {e}"))?;
        eprintln!("note: types calibrated on {}", run.calibrated_on);
        return Ok((run.prepared, run.inputs));
    }
    let built = pipeline::prepare_file(model)?;
    let inputs =
        pipeline::read_inputs(&built, args.input.as_deref()).map_err(|e| format!("error: {e}"))?;
    Ok((built, inputs))
}

/// `atlasc import`: writes the `.atl` program and its weights.
fn import(model: &Path, output: Option<&Path>, onnx: &OnnxArgs) -> ExitCode {
    match atlas_compiler::import::import_file(model, output, &onnx.options()) {
        Ok(summary) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// `atlasc setup`: writes the verifying key only.
fn setup(model: &Path, args: &ProveArgs) -> ExitCode {
    dev_warning(args);
    let (built, _) = match prepare(model, args) {
        Ok(b) => b,
        Err(e) => return fail(&e),
    };
    match pipeline::setup_prepared(&built, mode(args), args.ptau.as_deref()) {
        Ok((pk, _)) => {
            let path = sibling(model, "vk");
            let bytes = pk.vk.to_bytes();
            if let Err(e) = pipeline::write_atomically(&path, &bytes) {
                return fail(&format!("error: cannot write {}: {e}", path.display()));
            }
            let digest: String = pk.vk.digest().iter().map(|b| format!("{b:02x}")).collect();
            println!("verifying key: {} ({} bytes, digest {digest})", path.display(), bytes.len());
            ExitCode::SUCCESS
        }
        Err(e) => fail(&format!("error: {}: {e}", model.display())),
    }
}

/// `atlasc verify`: exit 0 and the outputs when the proof checks, 1 otherwise.
fn verify(vk: &Path, proof: &Path, json: bool) -> ExitCode {
    let read =
        |p: &Path| std::fs::read(p).map_err(|e| format!("error: cannot read {}: {e}", p.display()));
    let (vk_bytes, proof_bytes) = match (read(vk), read(proof)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return fail(&e),
    };
    let clock = std::time::Instant::now();
    match pipeline::verify_bytes(&vk_bytes, &proof_bytes, None) {
        Ok(outputs) => {
            let t = clock.elapsed();
            if json {
                let outs: Vec<String> = outputs.iter().map(|o| json_list(o)).collect();
                println!(
                    "{{\"valid\":true,\"outputs\":[{}],\"verify_ms\":{:.3}}}",
                    outs.join(","),
                    t.as_secs_f64() * 1e3
                );
            } else {
                println!("valid proof ({t:.1?})");
                for (i, o) in outputs.iter().enumerate() {
                    println!("output {i}: {}", show(o));
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(&format!("error: {e}")),
    }
}

/// `atlasc bench`: each model (and mode) in a child `atlasc bench-one`, then one table.
fn bench(models: &[PathBuf], runs: usize, both_modes: bool, args: &ProveArgs) -> ExitCode {
    dev_warning(args);
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => return fail(&format!("error: cannot find the atlasc executable: {e}")),
    };
    let mut results = Vec::new();
    for model in models {
        let modes: &[bool] = if both_modes { &[false, true] } else { &[args.public_weights] };
        for &public in modes {
            let mut cmd = std::process::Command::new(&exe);
            cmd.arg("bench-one").arg(model).arg("--runs").arg(runs.to_string());
            if public {
                cmd.arg("--public-weights");
            }
            for (flag, v) in [("--input", &args.input), ("--calibrate", &args.onnx.calibrate)] {
                if let Some(v) = v {
                    cmd.arg(flag).arg(v);
                }
            }
            if let Some(f) = args.onnx.frac {
                cmd.arg("--frac").arg(f.to_string());
            }
            let out = match cmd.stderr(std::process::Stdio::inherit()).output() {
                Ok(o) => o,
                Err(e) => return fail(&format!("error: cannot run the benchmark child: {e}")),
            };
            let line = String::from_utf8_lossy(&out.stdout);
            match serde_json::from_str::<serde_json::Value>(line.trim()) {
                Ok(v) if out.status.success() => {
                    if args.json {
                        println!("{v}");
                    }
                    results.push(v);
                }
                _ => return fail(&format!("error: benchmarking {} failed", model.display())),
            }
        }
    }
    if !args.json {
        print!("{}", atlas_compiler::bench::table(&results));
    }
    ExitCode::SUCCESS
}

fn bench_one(model: &Path, runs: usize, args: &ProveArgs) -> ExitCode {
    let r = atlas_compiler::bench::bench_one(
        model,
        args.input.as_deref(),
        mode(args),
        runs,
        &args.onnx.options(),
    );
    match r {
        Ok(v) => {
            println!("{v}");
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match (cli.command, cli.model) {
        (Some(Command::Check { model }), _) => check(&model),
        (Some(Command::Ir { model, after }), _) => ir(&model, after.as_deref()),
        (Some(Command::Asm { model }), _) => asm(&model),
        (Some(Command::Run { model, input, reference, json, onnx }), _) => {
            let report = if atlas_compiler::import::is_onnx(&model) {
                let opts = onnx.options();
                atlas_compiler::import::run_onnx(&model, input.as_deref(), &opts, reference, json)
            } else {
                atlas_compiler::run::run_file(&model, input.as_deref(), reference, json)
            };
            print!("{}", report.stdout);
            eprint!("{}", report.stderr);
            ExitCode::from(report.exit_code)
        }
        (Some(Command::Prove { model, args }), _) => prove(&model, &args),
        (None, Some(model)) => prove(&model, &cli.prove),
        (Some(Command::Setup { model, args }), _) => setup(&model, &args),
        (Some(Command::Verify { vk, proof, json }), _) => verify(&vk, &proof, json),
        (Some(Command::Import { model, output, onnx }), _) => {
            import(&model, output.as_deref(), &onnx)
        }
        (Some(Command::Bench { models, runs, both_modes, args }), _) => {
            bench(&models, runs, both_modes, &args)
        }
        (Some(Command::BenchOne { model, runs, args }), _) => bench_one(&model, runs, &args),
        (Some(Command::Demo { log_size }), _) => demo(log_size as usize),
        (None, None) => {
            eprintln!("error: no model given; try `atlasc --help`");
            ExitCode::from(2)
        }
    }
}
