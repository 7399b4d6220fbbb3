//! `.onnx` models through the pipeline: `atlasc import` (write the `.atl` program and its weights
//! file), `atlasc run model.onnx [--reference]` and the preparation `atlasc model.onnx` proves.
//! The importer itself is [`crate::onnx`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::front::IrReport;
use crate::onnx::{self, Imported, Options, Tensor};
use crate::run::{execute, inputs_from_reals, json_report, text_report, Inputs, Prepared};

/// How an ONNX model is quantized.
#[derive(Clone, Debug, Default)]
pub struct OnnxOptions {
    /// The calibration input (default: the run's `--input`, else the default input).
    pub calibrate: Option<PathBuf>,
    /// Every activation at `fix<16, frac>` instead of calibrated types.
    pub frac: Option<u8>,
}

/// Whether `path` names an ONNX file (by extension).
pub fn is_onnx(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("onnx"))
}

/// An imported, compiled model with its input.
pub struct OnnxRun {
    pub prepared: Prepared,
    pub imported: Imported,
    /// The run's input, quantized for the program.
    pub inputs: Inputs,
    /// The run's input as reals, by graph input name.
    pub input_reals: HashMap<String, Tensor>,
    /// Where the calibration input came from, for messages.
    pub calibrated_on: String,
}

fn read_json_input(g: &onnx::Graph, path: &Path) -> Result<HashMap<String, Tensor>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the input `{}`: {e}", path.display()))?;
    onnx::inputs_from_json(g, &text).map_err(|e| format!("bad input `{}`: {e}", path.display()))
}

/// The weights file an import of `model` writes: `model.safetensors`.
fn weights_name(model: &Path) -> String {
    let stem = model.file_stem().map_or("model".into(), |s| s.to_string_lossy().into_owned());
    format!("{stem}.safetensors")
}

/// Why an ONNX command failed.
#[derive(Debug)]
pub enum OnnxError {
    /// The model or an input file cannot be read (exit code 2).
    File(String),
    /// The model cannot be imported, compiled or run (exit code 1). May span several lines (a
    /// rendered compiler report).
    Model(String),
}

impl OnnxError {
    pub fn exit_code(&self) -> u8 {
        match self {
            OnnxError::File(_) => 2,
            OnnxError::Model(_) => 1,
        }
    }
}

impl std::fmt::Display for OnnxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OnnxError::File(m) | OnnxError::Model(m) => f.write_str(m),
        }
    }
}

/// Imports `g` (read from `path`) for a program written as `atl`: the import and its weights
/// file's name and bytes.
fn import_graph(
    path: &Path,
    g: &onnx::Graph,
    calibration: &HashMap<String, Tensor>,
    opts: &OnnxOptions,
    atl: &Path,
) -> Result<(Imported, String, Vec<u8>), OnnxError> {
    let wname = weights_name(atl);
    let label = format!(
        "`{}`",
        path.file_name().map_or(String::new(), |n| n.to_string_lossy().into_owned())
    );
    let model_error = |e: String| OnnxError::Model(format!("`{}`: {e}", path.display()));
    let imported = onnx::import(g, calibration, Options { frac: opts.frac }, &wname, &label)
        .map_err(model_error)?;
    let bytes = onnx::safetensors_bytes(&imported.weights).map_err(model_error)?;
    Ok((imported, wname, bytes))
}

/// Imports the model at `path` (calibrated as `opts` says), compiles the program and quantizes
/// `input` (default: the default input).
pub fn prepare_onnx(
    path: &Path,
    input: Option<&Path>,
    opts: &OnnxOptions,
) -> Result<OnnxRun, OnnxError> {
    let g = onnx::graph::read(path).map_err(OnnxError::File)?;
    let run_input = match input {
        Some(p) => read_json_input(&g, p).map_err(OnnxError::File)?,
        None => onnx::default_inputs(&g),
    };
    let (calibration, calibrated_on) = match (&opts.calibrate, input) {
        (Some(c), _) => (read_json_input(&g, c).map_err(OnnxError::File)?, c.display().to_string()),
        (None, Some(p)) => (run_input.clone(), p.display().to_string()),
        (None, None) => (run_input.clone(), "the default input".to_string()),
    };
    let atl = path.with_extension("atl");
    let (imported, wname, bytes) = import_graph(path, &g, &calibration, opts, &atl)?;
    let read = |file: &str| {
        if file == wname {
            Ok(bytes.clone())
        } else {
            Err(format!("the import wrote no file `{file}`"))
        }
    };
    let prepared =
        crate::run::prepare_source_with(&atl.display().to_string(), &imported.source, &read)
            .map_err(|r| {
                OnnxError::Model(format!(
                    "the program imported from `{}` does not compile (an importer bug; \
                     `atlasc import` shows it):\n{}",
                    path.display(),
                    r.stderr.trim_end()
                ))
            })?;
    let reals: Vec<Vec<f64>> =
        imported.graph.inputs.iter().map(|i| run_input[&i.name].data.clone()).collect();
    let inputs = inputs_from_reals(&prepared.ir, &reals).map_err(OnnxError::File)?;
    Ok(OnnxRun { prepared, imported, inputs, input_reals: run_input, calibrated_on })
}

/// `atlasc run model.onnx`: the program's outputs, and with `reference` the original float
/// graph's, with the largest difference and top-1 agreement.
pub fn run_onnx(
    path: &Path,
    input: Option<&Path>,
    opts: &OnnxOptions,
    reference: bool,
    json: bool,
) -> IrReport {
    let fail = |code: u8, msg: String| IrReport {
        exit_code: code,
        stdout: String::new(),
        stderr: format!("error: {msg}\n"),
    };
    let run = match prepare_onnx(path, input, opts) {
        Ok(r) => r,
        Err(e) => return fail(e.exit_code(), e.to_string()),
    };
    let mut outputs = match execute(&run.prepared, &run.inputs, false) {
        Ok(o) => o,
        Err(e) => return fail(1, format!("`{}`: {e}", path.display())),
    };
    if reference {
        let ev = match onnx::evaluate(&run.imported.graph, &run.input_reals) {
            Ok(ev) => ev,
            Err(e) => return fail(1, format!("the f64 reference failed: {e}")),
        };
        for (o, name) in outputs.iter_mut().zip(&run.imported.graph.outputs) {
            o.reference = ev.values.get(name).map(|t| t.data.clone());
        }
    }
    let mut stderr = run.prepared.warnings.clone();
    for w in &run.inputs.warnings {
        stderr.push_str(&format!("warning: {w}\n"));
    }
    stderr.push_str(&format!("note: types calibrated on {}\n", run.calibrated_on));
    if input.is_none() {
        stderr.push_str("note: no --input given: running on the default input\n");
    }
    let stdout = if json { json_report(&outputs) } else { text_report(&outputs) };
    IrReport { exit_code: 0, stdout, stderr }
}

/// `atlasc import model.onnx [-o out.atl]`: writes the program and its weights file (beside
/// it); returns a summary.
pub fn import_file(
    path: &Path,
    out: Option<&Path>,
    opts: &OnnxOptions,
) -> Result<String, OnnxError> {
    let g = onnx::graph::read(path).map_err(OnnxError::File)?;
    let (calibration, calibrated_on) = match &opts.calibrate {
        Some(c) => (read_json_input(&g, c).map_err(OnnxError::File)?, c.display().to_string()),
        None => (onnx::default_inputs(&g), "the default input".to_string()),
    };
    let atl = out.map_or_else(|| path.with_extension("atl"), Path::to_path_buf);
    let (imported, wname, bytes) = import_graph(path, &g, &calibration, opts, &atl)?;
    let wpath = atl.with_file_name(&wname);
    let write = |p: &Path, b: &[u8]| {
        crate::prove::write_atomically(p, b)
            .map_err(|e| OnnxError::File(format!("cannot write {}: {e}", p.display())))
    };
    write(&wpath, &bytes)?;
    write(&atl, imported.source.as_bytes())?;
    Ok(format!(
        "wrote {} ({} nodes, {} tables) and {} ({} tensors); types calibrated on {calibrated_on}",
        atl.display(),
        imported.graph.nodes.len(),
        imported.lookups,
        wpath.display(),
        imported.weights.len()
    ))
}
