//! `atlasc run`: compile a model, bind its weights, read an input, execute the VM program with the
//! program's own dense tables and the stdlib, and print the outputs — optionally next to the f64
//! [`crate::reference`] and the largest difference.
//!
//! The logic lives here, not in the binary, so the integration tests run exactly what the command
//! does. The input format and the default input are documented in docs/language.md ("Running a
//! model").

use std::path::Path;

use atlas_ir::{ElemType, Program as IrProgram, TensorType};
use atlas_stdlib::DenseTable;
use serde_json::Value as Json;

use crate::front::{self, Formula, IrReport};
use crate::lower::{lower_with_tables, StdTables};
use crate::reference::to_real;

/// A model ready to run: its validated, weight-bound IR, the lowered VM program and its tables.
#[derive(Debug)]
pub struct Prepared {
    pub ir: IrProgram,
    pub vm: atlas_vm::Program,
    pub dense_tables: Vec<DenseTable>,
    pub formulas: Vec<Formula>,
    /// Rendered warnings met on the way (saturated weights).
    pub warnings: String,
}

/// Why a step failed: the report to print (exit 1: the model; exit 2: a file or the input).
pub type Failure = IrReport;

fn fail(exit_code: u8, message: String) -> Failure {
    IrReport { exit_code, stdout: String::new(), stderr: format!("error: {message}\n") }
}

/// Parses and compiles `text` (labelled `name`), binds its `load` weights from files relative to
/// `base_dir`, runs the passes and lowers it.
pub fn prepare_source(name: &str, text: &str, base_dir: &Path) -> Result<Prepared, Failure> {
    prepare_source_with(name, text, &|file| {
        std::fs::read(base_dir.join(file)).map_err(|e| e.to_string())
    })
}

/// [`prepare_source`] with weight files read by `read` (given the `load`'s file name).
pub fn prepare_source_with(
    name: &str,
    text: &str,
    read: &dyn Fn(&str) -> Result<Vec<u8>, String>,
) -> Result<Prepared, Failure> {
    let mut sources = atlas_lang::Sources::new();
    let file = sources.add(name, text);
    let parsed = atlas_lang::parse(file, text);
    let rendered = |diagnostics: &[atlas_lang::Diagnostic]| {
        let r = crate::check::report(name, diagnostics, &sources, false);
        IrReport { exit_code: r.exit_code.max(1), stdout: String::new(), stderr: r.stderr }
    };
    if !parsed.diagnostics.is_empty() {
        return Err(rendered(&parsed.diagnostics));
    }
    let model = front::compile(&parsed.ast).map_err(|d| rendered(&d))?;
    let loaded =
        front::load_weights_with(&parsed.ast, &model.program, read).map_err(|d| rendered(&d))?;
    let warnings = if loaded.warnings.is_empty() {
        String::new()
    } else {
        crate::check::report(name, &loaded.warnings, &sources, false).stderr
    };
    let ir = front::passes::run_passes(loaded.program, None)
        .map_err(|why| fail(1, format!("internal compiler error in `{name}`: {why}")))?;
    let info = atlas_ir::validate(&ir)
        .map_err(|why| fail(1, format!("internal compiler error in `{name}`: {why}")))?;
    let vm = lower_with_tables(&info, &model.dense_tables)
        .map_err(|why| fail(1, format!("`{name}` cannot be lowered to the VM: {why}")))?;
    Ok(Prepared { ir, vm, dense_tables: model.dense_tables, formulas: model.formulas, warnings })
}

/// The model's inputs, quantised, and what quantising them saturated.
#[derive(Clone, Debug, PartialEq)]
pub struct Inputs {
    /// Stored integers per input, row-major, in the program's input order.
    pub values: Vec<Vec<i64>>,
    /// One line per input with saturated values.
    pub warnings: Vec<String>,
}

/// The inputs of `program`, by name, as the JSON object `{"x": [[…], …], …}` describes them (see
/// the module docs). Errors name the input and say expected vs found.
pub fn inputs_from_json(program: &IrProgram, json: &str) -> Result<Inputs, String> {
    let value: Json = serde_json::from_str(json).map_err(|e| format!("invalid JSON: {e}"))?;
    let Json::Object(map) = value else {
        return Err(format!(
            "expected a JSON object mapping each input name to its values, found {}",
            kind(&value)
        ));
    };
    let names: Vec<String> = program
        .inputs()
        .enumerate()
        .map(|(i, (_, v))| v.name.clone().unwrap_or_else(|| format!("input{i}")))
        .collect();
    if let Some(extra) = map.keys().find(|k| !names.contains(k)) {
        return Err(format!(
            "the model has no input `{extra}`; its inputs are {}",
            names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
        ));
    }
    let mut out = Inputs { values: Vec::new(), warnings: Vec::new() };
    for ((_, v), name) in program.inputs().zip(&names) {
        let data = map.get(name).ok_or_else(|| {
            format!(
                "input `{name}` is missing: expected {} values of type {}",
                shape_of(&v.ty),
                v.ty
            )
        })?;
        let mut reals = Vec::new();
        flatten(data, &v.ty.shape, name, &mut reals)?;
        let (ints, saturated) = quantize_all(&reals, v.ty.elem);
        if saturated > 0 {
            out.warnings.push(saturation_warning(name, saturated, reals.len(), v.ty.elem));
        }
        out.values.push(ints);
    }
    Ok(out)
}

/// Inputs given as reals, row-major, in the program's input order: quantised as a JSON input
/// would be.
pub fn inputs_from_reals(program: &IrProgram, reals: &[Vec<f64>]) -> Result<Inputs, String> {
    let mut out = Inputs { values: Vec::new(), warnings: Vec::new() };
    let ins: Vec<_> = program.inputs().collect();
    if ins.len() != reals.len() {
        return Err(format!("expected {} inputs, found {}", ins.len(), reals.len()));
    }
    for ((_, v), r) in ins.iter().zip(reals) {
        let name = v.name.clone().unwrap_or_default();
        if Some(r.len()) != v.ty.num_elements() {
            return Err(format!(
                "input `{name}`: expected {} values (shape {}), found {}",
                v.ty.num_elements().unwrap_or(0),
                shape_of(&v.ty),
                r.len()
            ));
        }
        let (ints, saturated) = quantize_all(r, v.ty.elem);
        if saturated > 0 {
            out.warnings.push(saturation_warning(&name, saturated, r.len(), v.ty.elem));
        }
        out.values.push(ints);
    }
    Ok(out)
}

/// The default input when none is given: element `i` (row-major) of each input is
/// `2·frac(i·φ) − 1` (φ the golden ratio), reals spread evenly over `[−1, 1)`, quantised as a JSON
/// input would be.
pub fn default_inputs(program: &IrProgram) -> Inputs {
    let phi = 0.618_033_988_749_894_9_f64;
    let values = program
        .inputs()
        .map(|(_, v)| {
            let n = v.ty.num_elements().unwrap_or(0);
            let reals: Vec<f64> = (0..n).map(|i| 2.0 * (i as f64 * phi).fract() - 1.0).collect();
            quantize_all(&reals, v.ty.elem).0
        })
        .collect();
    Inputs { values, warnings: Vec::new() }
}

fn saturation_warning(name: &str, saturated: usize, total: usize, elem: ElemType) -> String {
    let (lo, hi) = elem.range().unwrap_or((0, 0));
    format!(
        "input `{name}`: {saturated} of {total} values saturated to the range of {elem}, [{}, {}]",
        to_real(lo, elem),
        to_real(hi, elem)
    )
}

/// Rounds each real to nearest (ties toward +∞) on `elem`'s grid and saturates; returns the
/// integers and how many saturated.
fn quantize_all(reals: &[f64], elem: ElemType) -> (Vec<i64>, usize) {
    let scale = 2f64.powi(i32::from(elem.frac().unwrap_or(0)));
    let (lo, hi) = elem.range().unwrap_or((i64::MIN, i64::MAX));
    let mut saturated = 0;
    let ints = reals
        .iter()
        .map(|&r| {
            let q = (r * scale + 0.5).floor();
            if q < lo as f64 || q > hi as f64 {
                saturated += 1;
            }
            if q <= lo as f64 {
                lo
            } else if q >= hi as f64 {
                hi
            } else {
                q as i64
            }
        })
        .collect();
    (ints, saturated)
}

fn kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

fn shape_of(ty: &TensorType) -> String {
    format!("{:?}", ty.shape)
}

/// Appends the numbers of `v` (nested arrays of the shape `shape`) to `out`; `path` names where
/// `v` sits (`x[0][3]`).
fn flatten(v: &Json, shape: &[usize], path: &str, out: &mut Vec<f64>) -> Result<(), String> {
    match (shape.split_first(), v) {
        (None, Json::Number(n)) => {
            out.push(n.as_f64().ok_or_else(|| format!("{path}: {n} is not a finite number"))?);
            Ok(())
        }
        (None, other) => Err(format!("expected a number at {path}, found {}", kind(other))),
        (Some((&len, rest)), Json::Array(items)) => {
            if items.len() != len {
                return Err(format!(
                    "expected {len} elements at {path} (shape {:?} from there), found {}",
                    shape,
                    items.len()
                ));
            }
            for (i, item) in items.iter().enumerate() {
                flatten(item, rest, &format!("{path}[{i}]"), out)?;
            }
            Ok(())
        }
        (Some(_), other) => {
            Err(format!("expected an array of shape {shape:?} at {path}, found {}", kind(other)))
        }
    }
}

/// One output of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct Output {
    pub name: String,
    pub ty: TensorType,
    /// The stored integers, row-major.
    pub integers: Vec<i64>,
    /// The reals they stand for.
    pub reals: Vec<f64>,
    /// The f64 reference's values, when asked for.
    pub reference: Option<Vec<f64>>,
}

impl Output {
    /// `max |real − reference|` over the elements (`None` without a reference).
    pub fn max_abs_error(&self) -> Option<f64> {
        let r = self.reference.as_ref()?;
        Some(self.reals.iter().zip(r).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max))
    }

    /// Rows (along the last axis) whose largest element is at the same position in the output
    /// and the reference, and the number of rows (`None` without a reference).
    pub fn top1_agreement(&self) -> Option<(usize, usize)> {
        let r = self.reference.as_ref()?;
        let width = self.ty.shape.last().copied().unwrap_or(1).max(1);
        let argmax = |row: &[f64]| {
            row.iter().enumerate().fold(0, |b, (i, &x)| if x > row[b] { i } else { b })
        };
        let rows = self.reals.len() / width;
        let agree = (0..rows)
            .filter(|&i| {
                let span = i * width..(i + 1) * width;
                argmax(&self.reals[span.clone()]) == argmax(&r[span])
            })
            .count();
        Some((agree, rows))
    }
}

/// Executes `prepared` on `inputs` (and evaluates the f64 reference when `reference`).
pub fn execute(
    prepared: &Prepared,
    inputs: &Inputs,
    reference: bool,
) -> Result<Vec<Output>, String> {
    let tables = StdTables::with_dense(&prepared.vm, &prepared.dense_tables);
    let trace = atlas_vm::execute(&prepared.vm, &inputs.values, &tables)
        .map_err(|e| format!("execution failed: {e}"))?;
    let outs = trace.outputs(&prepared.vm);
    let refs = if reference {
        let info = atlas_ir::validate(&prepared.ir).map_err(|e| e.to_string())?;
        let r = crate::reference::evaluate(&info, &inputs.values, &prepared.formulas)
            .map_err(|e| format!("the f64 reference failed: {e}"))?;
        Some(r)
    } else {
        None
    };
    let p = &prepared.ir;
    Ok(p.outputs
        .iter()
        .zip(outs)
        .enumerate()
        .map(|(k, (o, integers))| {
            let v = &p.values[o.index()];
            let name = v.name.clone().unwrap_or_else(|| format!("output{k}"));
            let reals = integers.iter().map(|&x| to_real(x, v.ty.elem)).collect();
            let reference = refs.as_ref().and_then(|r| r.get(k).cloned());
            Output { name, ty: v.ty.clone(), integers, reals, reference }
        })
        .collect())
}

/// `atlasc run` on a file. `input`: the JSON input file (the default input without it).
pub fn run_file(model: &Path, input: Option<&Path>, reference: bool, json: bool) -> IrReport {
    let text = match crate::check::read_source(model) {
        Ok(text) => text,
        Err(r) => {
            return IrReport { exit_code: r.exit_code, stdout: String::new(), stderr: r.stderr }
        }
    };
    let input_text = match input {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(t) => Some((path.display().to_string(), t)),
            Err(e) => return fail(2, format!("cannot read the input `{}`: {e}", path.display())),
        },
        None => None,
    };
    let base = model.parent().unwrap_or(Path::new("."));
    let input = input_text.as_ref().map(|(n, t)| (n.as_str(), t.as_str()));
    run_source(&model.display().to_string(), &text, base, input, reference, json)
}

/// `atlasc run` on source text; `input` is `(label, JSON text)`.
pub fn run_source(
    name: &str,
    text: &str,
    base_dir: &Path,
    input: Option<(&str, &str)>,
    reference: bool,
    json: bool,
) -> IrReport {
    let prepared = match prepare_source(name, text, base_dir) {
        Ok(p) => p,
        Err(report) => return report,
    };
    let inputs = match input {
        Some((label, text)) => match inputs_from_json(&prepared.ir, text) {
            Ok(i) => i,
            Err(why) => return fail(2, format!("bad input `{label}`: {why}")),
        },
        None => default_inputs(&prepared.ir),
    };
    let outputs = match execute(&prepared, &inputs, reference) {
        Ok(o) => o,
        Err(why) => return fail(1, format!("`{name}`: {why}")),
    };
    let mut stderr = prepared.warnings.clone();
    for w in &inputs.warnings {
        stderr.push_str(&format!("warning: {w}\n"));
    }
    if input.is_none() {
        stderr
            .push_str("note: no --input given: running on the default input (docs/language.md)\n");
    }
    let stdout = if json { json_report(&outputs) } else { text_report(&outputs) };
    IrReport { exit_code: 0, stdout, stderr }
}

/// Nests row-major `values` into `shape` as `[[a, b], [c, d]]`.
fn nested<T>(values: &[T], shape: &[usize], show: &dyn Fn(&T) -> String) -> String {
    match shape.split_first() {
        None => values.first().map(show).unwrap_or_default(),
        Some((&len, rest)) => {
            let step: usize = rest.iter().product();
            let parts: Vec<String> =
                (0..len).map(|i| nested(&values[i * step..(i + 1) * step], rest, show)).collect();
            format!("[{}]", parts.join(", "))
        }
    }
}

fn nested_json<T: Clone + Into<Json>>(values: &[T], shape: &[usize]) -> Json {
    match shape.split_first() {
        None => values.first().cloned().map(Into::into).unwrap_or(Json::Null),
        Some((&len, rest)) => {
            let step: usize = rest.iter().product();
            Json::Array(
                (0..len).map(|i| nested_json(&values[i * step..(i + 1) * step], rest)).collect(),
            )
        }
    }
}

pub fn text_report(outputs: &[Output]) -> String {
    let mut s = String::new();
    for o in outputs {
        s.push_str(&format!("{}: {}\n", o.name, o.ty));
        s.push_str(&nested(&o.reals, &o.ty.shape, &|x| format!("{x}")));
        s.push('\n');
    }
    let errors: Vec<(String, f64)> =
        outputs.iter().filter_map(|o| Some((o.name.clone(), o.max_abs_error()?))).collect();
    if !errors.is_empty() {
        let worst = errors.iter().map(|e| e.1).fold(0.0, f64::max);
        s.push_str(&format!("max |error| against the f64 reference: {worst}\n"));
        for (o, (name, e)) in outputs.iter().filter(|o| o.reference.is_some()).zip(&errors) {
            let (agree, rows) = o.top1_agreement().unwrap_or((0, 0));
            s.push_str(&format!("  {name}: {e} (top-1 agreement {agree}/{rows} rows)\n"));
        }
    }
    s
}

pub fn json_report(outputs: &[Output]) -> String {
    let outs: Vec<Json> = outputs
        .iter()
        .map(|o| {
            let mut m = serde_json::Map::new();
            m.insert("name".into(), o.name.clone().into());
            m.insert("type".into(), o.ty.elem.to_string().into());
            m.insert("shape".into(), o.ty.shape.clone().into());
            m.insert("values".into(), nested_json(&o.reals, &o.ty.shape));
            m.insert("integers".into(), nested_json(&o.integers, &o.ty.shape));
            if let Some(r) = &o.reference {
                m.insert("reference".into(), nested_json(r, &o.ty.shape));
                m.insert("max_abs_error".into(), o.max_abs_error().unwrap_or(0.0).into());
                let (agree, rows) = o.top1_agreement().unwrap_or((0, 0));
                m.insert("top1_agree".into(), agree.into());
                m.insert("top1_rows".into(), rows.into());
            }
            Json::Object(m)
        })
        .collect();
    let mut top = serde_json::Map::new();
    top.insert("outputs".into(), Json::Array(outs));
    if outputs.iter().any(|o| o.reference.is_some()) {
        let worst = outputs.iter().filter_map(Output::max_abs_error).fold(0.0, f64::max);
        top.insert("max_abs_error".into(), worst.into());
    }
    format!("{}\n", Json::Object(top))
}
