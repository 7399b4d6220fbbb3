//! From a model file to a proof and back: the library behind `atlasc model.atl`, `atlasc prove`,
//! `atlasc verify` and `atlasc setup`. The binary only parses arguments and prints.
//!
//! Files: `model.vk` is [`VerifyingKey::to_bytes`]; `model.proof` is [`ProofFile::to_bytes`] (the
//! statement — public inputs and outputs — and the proof). Both are written atomically (a
//! temporary file renamed into place), so a failing run never leaves a partial file.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

use atlas_prover::pcs::Srs;
use atlas_prover::tensor::{prove, required_vars, setup, ProvingKey, WeightMode};
use atlas_prover::verify::tensor::{verify, LocalTable, ProofFile, VerifyingKey};
use atlas_prover::F;
use atlas_stdlib::{table_by_id, BoxedTable, DenseTable};
use atlas_vm::{Program, TableMle};

use crate::front::{self, load_weights, Model};

/// A model compiled, with its weights bound, ready to run and prove.
#[derive(Debug)]
pub struct Built {
    pub program: Program,
    pub dense: Vec<DenseTable>,
}

/// Compiles the `.atl` file at `path` (weights relative to its directory). `Err` is the rendered
/// report to print.
pub fn build_file(path: &Path) -> Result<Built, String> {
    let text = crate::check::read_source(path).map_err(|r| r.stderr)?;
    let base = path.parent().unwrap_or(Path::new("."));
    build_source(&path.display().to_string(), &text, base)
}

/// [`build_file`] on source text labelled `name`, weights relative to `base_dir`.
pub fn build_source(name: &str, text: &str, base_dir: &Path) -> Result<Built, String> {
    let mut sources = atlas_lang::Sources::new();
    let file = sources.add(name, text);
    let parsed = atlas_lang::parse(file, text);
    let render =
        |d: &[atlas_lang::Diagnostic]| crate::check::report(name, d, &sources, false).stderr;
    if !parsed.diagnostics.is_empty() {
        return Err(render(&parsed.diagnostics));
    }
    let Model { program, dense_tables } = front::compile(&parsed.ast).map_err(|d| render(&d))?;
    let program = front::passes::run_passes(program, None)
        .map_err(|e| format!("error: internal compiler error in `{name}`: {e}\n"))?;
    let loaded = load_weights(&parsed.ast, &program, base_dir).map_err(|d| render(&d))?;
    let info = atlas_ir::validate(&loaded.program)
        .map_err(|e| format!("error: internal compiler error in `{name}`: {e}\n"))?;
    let program = crate::lower::lower_with_tables(&info, &dense_tables)
        .map_err(|e| format!("error: `{name}` cannot be lowered to the VM: {e}\n"))?;
    Ok(Built { program, dense: dense_tables })
}

/// The tables of `program` in its order: rebuilt from the registry, or the program's own dense
/// tables (matched by id).
pub fn program_tables(
    program: &Program,
    dense: &[DenseTable],
) -> Result<Vec<BoxedTable<F>>, String> {
    program
        .tables
        .iter()
        .map(|decl| {
            if let Some(d) = dense.iter().find(|d| atlas_vm::Table::id(*d) == decl.id) {
                return Ok(Box::new(d.clone()) as BoxedTable<F>);
            }
            table_by_id::<F>(decl.id).map_err(|e| format!("table {}: {e}", decl.name))
        })
        .collect()
}

/// The entries of each program-local table, for the verifying key.
fn local_tables(program: &Program, dense: &[DenseTable]) -> Vec<Option<LocalTable>> {
    program
        .tables
        .iter()
        .map(|decl| {
            dense.iter().find(|d| atlas_vm::Table::id(*d) == decl.id).map(|d| LocalTable {
                domain: atlas_vm::Table::domain(d),
                entries: d.values().to_vec(),
            })
        })
        .collect()
}

/// Rebuilds a key's tables: registry tables by id, program-local ones from the key's entries.
pub fn tables_from_vk(vk: &VerifyingKey) -> Result<Vec<BoxedTable<F>>, String> {
    vk.program
        .tables
        .iter()
        .zip(&vk.tables)
        .map(|(decl, local)| match local {
            Some(l) => {
                let index = u16::from_be_bytes([(decl.id.0 >> 16) as u8, (decl.id.0 >> 8) as u8]);
                DenseTable::from_values(decl.name.clone(), index, l.domain, l.entries.clone())
                    .map(|d| Box::new(d) as BoxedTable<F>)
                    .map_err(|e| format!("table {}: {e}", decl.name))
            }
            None => table_by_id::<F>(decl.id).map_err(|e| format!("table {}: {e}", decl.name)),
        })
        .collect()
}

/// The default input when none is given: per input, values drawn from a fixed seed, uniform in
/// `[−2^(b−4), 2^(b−4))` for a `b`-bit register (small enough that the model's own arithmetic does
/// not saturate on it). Deterministic, so `atlasc model.atl` twice proves the same statement.
pub fn default_inputs(program: &Program) -> Vec<Vec<i64>> {
    let mut rng = ChaCha20Rng::seed_from_u64(0x41544c41);
    program
        .inputs
        .iter()
        .map(|input| {
            let info = &program.registers[input.reg.index()];
            let half = 1i64 << info.bits.saturating_sub(4).min(62);
            (0..info.len().unwrap_or(0)).map(|_| rng.gen_range(-half..half)).collect()
        })
        .collect()
}

/// The SRS: a `.ptau` file's, or the labelled development one.
pub fn load_srs(ptau: Option<&Path>, num_vars: usize) -> Result<Srs, String> {
    match ptau {
        Some(p) => Srs::from_ptau_file(p, num_vars).map_err(|e| format!("{}: {e}", p.display())),
        None => Srs::development(num_vars).map_err(|e| e.to_string()),
    }
}

/// A proof made, with what the CLI reports.
pub struct Proved {
    pub vk: VerifyingKey,
    pub file: ProofFile,
    /// Stage name and wall-clock time: compile is the caller's; setup, run, then the prover's.
    pub timings: Vec<(&'static str, Duration)>,
}

/// Preprocessing for a built model: checks the program and commits to its weights.
pub fn setup_built(
    built: &Built,
    mode: WeightMode,
    ptau: Option<&Path>,
) -> Result<(ProvingKey, Vec<BoxedTable<F>>), String> {
    let tables = program_tables(&built.program, &built.dense)?;
    let refs: Vec<&dyn TableMle<F>> =
        tables.iter().map(|t| t.as_ref() as &dyn TableMle<F>).collect();
    let n = required_vars(&built.program, &refs, mode).map_err(|e| e.to_string())?;
    let srs = load_srs(ptau, n.max(1))?;
    let pk = setup(&built.program, &refs, local_tables(&built.program, &built.dense), &srs, mode)
        .map_err(|e| e.to_string())?;
    Ok((pk, tables))
}

/// Runs and proves a built model on `inputs` (all inputs, in program order).
pub fn prove_built(
    built: &Built,
    inputs: &[Vec<i64>],
    mode: WeightMode,
    ptau: Option<&Path>,
) -> Result<Proved, String> {
    let mut timings = Vec::new();
    let clock = Instant::now();
    let (pk, tables) = setup_built(built, mode, ptau)?;
    timings.push(("setup", clock.elapsed()));
    let clock = Instant::now();
    let set = TablesSet(&tables);
    let trace = atlas_vm::execute(&built.program, inputs, &set).map_err(|e| format!("run: {e}"))?;
    timings.push(("run", clock.elapsed()));
    let refs: Vec<&dyn TableMle<F>> =
        tables.iter().map(|t| t.as_ref() as &dyn TableMle<F>).collect();
    let (proof, stages) = prove(&pk, &refs, inputs, &trace).map_err(|e| format!("prove: {e}"))?;
    timings.extend(stages);
    let public_inputs = built
        .program
        .inputs
        .iter()
        .zip(inputs)
        .filter(|(i, _)| i.public)
        .map(|(_, v)| v.clone())
        .collect();
    let file = ProofFile { public_inputs, outputs: trace.outputs(&built.program), proof };
    Ok(Proved { vk: pk.vk, file, timings })
}

/// Checks a proof file against a verifying key; with `expected_inputs`, also that the proof is
/// about those public inputs. Returns the verified outputs.
pub fn verify_bytes(
    vk: &[u8],
    proof: &[u8],
    expected_inputs: Option<&[Vec<i64>]>,
) -> Result<Vec<Vec<i64>>, String> {
    let vk = VerifyingKey::from_bytes(vk).map_err(|e| format!("verifying key: {e}"))?;
    let file = ProofFile::from_bytes(proof).map_err(|e| format!("proof file: {e}"))?;
    if let Some(expected) = expected_inputs {
        if expected != file.public_inputs.as_slice() {
            return Err("the proof is about other public inputs than the ones given".into());
        }
    }
    let tables = tables_from_vk(&vk)?;
    let refs: Vec<&dyn TableMle<F>> =
        tables.iter().map(|t| t.as_ref() as &dyn TableMle<F>).collect();
    verify(&vk, &refs, &file.public_inputs, &file.outputs, &file.proof)
        .map_err(|e| format!("the proof is invalid: {e}"))?;
    Ok(file.outputs)
}

/// Writes `bytes` to `path` through a temporary file in the same directory, so that `path` is
/// either untouched or complete.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = PathBuf::from(path);
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    tmp.set_file_name(format!(".{name}.tmp"));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

struct TablesSet<'a>(&'a [BoxedTable<F>]);

impl atlas_vm::TableSet for TablesSet<'_> {
    fn table(&self, id: atlas_vm::TableId) -> Option<&dyn atlas_vm::Table> {
        self.0.iter().find(|t| t.id() == id).map(|t| t.as_ref() as &dyn atlas_vm::Table)
    }
}
