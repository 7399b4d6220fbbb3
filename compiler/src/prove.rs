//! From a model file to a proof and back: the library behind `atlasc model.atl`, `atlasc prove`,
//! `atlasc verify` and `atlasc setup`. The binary only parses arguments and prints.
//!
//! Files: `model.vk` is [`VerifyingKey::to_bytes`]; `model.proof` is [`ProofFile::to_bytes`] (the
//! statement — public inputs and outputs — and the proof). Both are written atomically (a
//! temporary file renamed into place), so a failing run never leaves a partial file.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use atlas_prover::pcs::Srs;
use atlas_prover::tensor::{
    prove_with_progress, required_vars, setup, Progress, ProvingKey, WeightMode,
};
use atlas_prover::verify::tensor::{verify, LocalTable, ProofFile, VerifyingKey};
use atlas_prover::F;
use atlas_stdlib::{table_by_id, BoxedTable, DenseTable};
use atlas_vm::{Program, TableMle};

use crate::run::{default_inputs, inputs_from_json, prepare_source, Inputs, Prepared};

/// Compiles the `.atl` file at `path` (weights relative to its directory) for proving. `Err` is
/// the rendered report to print.
pub fn prepare_file(path: &Path) -> Result<Prepared, String> {
    let text = crate::check::read_source(path).map_err(|r| r.stderr)?;
    let base = path.parent().unwrap_or(Path::new("."));
    prepare_source(&path.display().to_string(), &text, base).map_err(|r| r.stderr)
}

/// The inputs: read from a JSON file (the format of `atlasc run`), or the default input.
pub fn read_inputs(prepared: &Prepared, input: Option<&Path>) -> Result<Inputs, String> {
    match input {
        None => Ok(default_inputs(&prepared.ir)),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read the input `{}`: {e}", path.display()))?;
            inputs_from_json(&prepared.ir, &text)
                .map_err(|e| format!("bad input `{}`: {e}", path.display()))
        }
    }
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
pub fn setup_prepared(
    built: &Prepared,
    mode: WeightMode,
    ptau: Option<&Path>,
) -> Result<(ProvingKey, Vec<BoxedTable<F>>), String> {
    let tables = program_tables(&built.vm, &built.dense_tables)?;
    let refs: Vec<&dyn TableMle<F>> =
        tables.iter().map(|t| t.as_ref() as &dyn TableMle<F>).collect();
    let n = required_vars(&built.vm, &refs, mode).map_err(|e| e.to_string())?;
    let srs = load_srs(ptau, n.max(1))?;
    let pk = setup(&built.vm, &refs, local_tables(&built.vm, &built.dense_tables), &srs, mode)
        .map_err(|e| e.to_string())?;
    Ok((pk, tables))
}

/// Runs and proves a built model on `inputs` (all inputs, in program order).
pub fn prove_prepared(
    built: &Prepared,
    inputs: &[Vec<i64>],
    mode: WeightMode,
    ptau: Option<&Path>,
) -> Result<Proved, String> {
    prove_prepared_with_progress(built, inputs, mode, ptau, &|_, _, _| {})
}

/// [`prove_prepared`], reporting `(stage, done, total)` as it goes: `setup` and `run` once each,
/// then the prover's stages ([`atlas_prover::tensor::Progress`]).
pub fn prove_prepared_with_progress(
    built: &Prepared,
    inputs: &[Vec<i64>],
    mode: WeightMode,
    ptau: Option<&Path>,
    progress: Progress<'_>,
) -> Result<Proved, String> {
    let mut timings = Vec::new();
    progress("setup", 0, 1);
    let clock = Instant::now();
    let (pk, tables) = setup_prepared(built, mode, ptau)?;
    timings.push(("setup", clock.elapsed()));
    let clock = Instant::now();
    progress("run", 0, 1);
    let set = TablesSet(&tables);
    let trace = atlas_vm::execute(&built.vm, inputs, &set).map_err(|e| format!("run: {e}"))?;
    timings.push(("run", clock.elapsed()));
    let refs: Vec<&dyn TableMle<F>> =
        tables.iter().map(|t| t.as_ref() as &dyn TableMle<F>).collect();
    let (proof, stages) = prove_with_progress(&pk, &refs, inputs, &trace, progress)
        .map_err(|e| format!("prove: {e}"))?;
    timings.extend(stages);
    let public_inputs = built
        .vm
        .inputs
        .iter()
        .zip(inputs)
        .filter(|(i, _)| i.public)
        .map(|(_, v)| v.clone())
        .collect();
    let file = ProofFile { public_inputs, outputs: trace.outputs(&built.vm), proof };
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
