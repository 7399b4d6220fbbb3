//! ONNX import: an `.onnx` file → an editable `.atl` program plus a weights file → the ordinary
//! `.atl` pipeline. Importing through the language, not around it, means `atlasc import` writes
//! exactly the program that `atlasc model.onnx` proves, and an imported model is checked, typed
//! and lowered by the same front end as a hand-written one.
//!
//! Steps:
//! 1. [`graph`]: decode the protobuf (prost messages of [`proto`]), check structure and opset.
//! 2. Fold BatchNormalization into a preceding Conv.
//! 3. Evaluate the float graph in f64 ([`ops`], one registry line per op) on a calibration input:
//!    this folds constant subgraphs (Shape, Constant, …), gives every value its static shape, and
//!    its range.
//! 4. [`emit`]: write `.atl`. Each value gets `fix<16, F>` with `F` chosen from its calibrated
//!    range (with 2× headroom) or fixed by `--frac`; weights get `F` from their own range.
//!    Elementwise chains of one computed tensor become one `lookup` (a table) when non-linear,
//!    arithmetic otherwise.
//!
//! The f64 evaluation is also the reference `atlasc run model.onnx --reference` compares with.
//! Decisions and the conformance list: docs/onnx.md.

pub mod emit;
pub mod expr;
pub mod graph;
pub mod ops;
pub mod proto;
pub mod tensor;

use std::collections::{HashMap, HashSet};

use serde_json::Value as Json;

pub use emit::Options;
pub use graph::Graph;
use graph::Node;
use ops::Lower;
pub use tensor::{Kind, Tensor};

/// All values of a graph on one input: every node output, initializers and inputs, with the set
/// of those that do not depend on any graph input.
pub struct Evaluated {
    pub values: HashMap<String, Tensor>,
    pub consts: HashSet<String>,
}

/// Runs the graph in f64 on `inputs` (by graph input name).
pub fn evaluate(g: &Graph, inputs: &HashMap<String, Tensor>) -> Result<Evaluated, String> {
    let mut values: HashMap<String, Tensor> = g.initializers.clone();
    let mut consts: HashSet<String> = g.initializers.keys().cloned().collect();
    for i in &g.inputs {
        let t = inputs.get(&i.name).ok_or_else(|| format!("no value for input `{}`", i.name))?;
        if t.shape != i.shape {
            return Err(format!(
                "input `{}`: expected shape {:?}, found {:?}",
                i.name, i.shape, t.shape
            ));
        }
        values.insert(i.name.clone(), t.clone());
    }
    for node in &g.nodes {
        let def = ops::lookup(&node.op_type).ok_or_else(|| unsupported(g, node))?;
        let ins: Vec<Option<&Tensor>> =
            node.inputs.iter().map(|i| if i.is_empty() { None } else { values.get(i) }).collect();
        let outs = ops::eval(def, node, &ins, g.opset).map_err(|e| at(node, g, &e))?;
        let is_const = matches!(def.lower, Lower::ShapeOnly(_))
            || node.inputs.iter().all(|i| i.is_empty() || consts.contains(i));
        for (name, t) in node.outputs.iter().zip(outs) {
            if name.is_empty() {
                continue;
            }
            if is_const {
                consts.insert(name.clone());
            }
            values.insert(name.clone(), t);
        }
    }
    Ok(Evaluated { values, consts })
}

fn at(node: &Node, g: &Graph, why: &str) -> String {
    format!("{} (opset {}): {why}", node.describe(), g.opset)
}

fn unsupported(g: &Graph, node: &Node) -> String {
    at(
        node,
        g,
        &format!("op `{}` is not supported; supported ops: {}", node.op_type, ops::supported()),
    )
}

/// Folds each BatchNormalization whose input is a Conv with constant kernel (and bias), used by
/// nothing else, into that Conv's kernel and bias.
pub fn fold_batchnorm(g: &Graph) -> Result<Graph, String> {
    let mut g = g.clone();
    let uses = |g: &Graph, name: &str| {
        g.nodes.iter().flat_map(|n| &n.inputs).filter(|i| *i == name).count()
            + g.outputs.iter().filter(|o| *o == name).count()
    };
    let mut k = 0;
    while k < g.nodes.len() {
        let bn = &g.nodes[k];
        let fold = bn.op_type == "BatchNormalization"
            && bn.inputs[1..].iter().all(|i| g.initializers.contains_key(i))
            && bn.outputs.len() == 1;
        let conv_at = g.nodes.iter().position(|n| {
            n.op_type == "Conv"
                && n.outputs.first() == bn.inputs.first()
                && n.inputs.get(1).is_some_and(|w| g.initializers.contains_key(w))
                && n.inputs.get(2).is_none_or(|b| b.is_empty() || g.initializers.contains_key(b))
        });
        let (true, Some(c)) = (fold, conv_at) else {
            k += 1;
            continue;
        };
        if uses(&g, &bn.inputs[0]) != 1 {
            k += 1;
            continue;
        }
        let bn = bn.clone();
        let ins: Vec<Option<&Tensor>> = bn
            .inputs
            .iter()
            .map(|i| if i.is_empty() { None } else { g.initializers.get(i) })
            .collect();
        let (scale, shift) = ops::batchnorm_affine(&bn, &ins).map_err(|e| at(&bn, &g, &e))?;
        let conv = g.nodes[c].clone();
        let w = g.initializers[&conv.inputs[1]].clone();
        let per = w.len() / w.shape[0].max(1);
        if scale.len() != w.shape[0] {
            return Err(at(&bn, &g, "expected one statistic per output channel of the Conv"));
        }
        let w2 = Tensor::new(
            w.shape.clone(),
            w.data.iter().enumerate().map(|(i, &v)| v * scale[i / per]).collect(),
            Kind::Float,
        );
        let b = conv.inputs.get(2).filter(|b| !b.is_empty()).map(|b| g.initializers[b].clone());
        let b2: Vec<f64> = (0..scale.len())
            .map(|o| b.as_ref().map_or(0.0, |b| b.data[o]) * scale[o] + shift[o])
            .collect();
        let wn = format!("{}.folded_weight", conv.name);
        let bname = format!("{}.folded_bias", conv.name);
        g.initializers.insert(wn.clone(), w2);
        g.initializers.insert(bname.clone(), Tensor::new(vec![scale.len()], b2, Kind::Float));
        let node = &mut g.nodes[c];
        node.inputs = vec![node.inputs[0].clone(), wn, bname];
        node.outputs = bn.outputs.clone();
        g.nodes.remove(k);
    }
    Ok(g)
}

/// The result of an import: the program text and the tensors of its weights file.
pub struct Imported {
    pub source: String,
    pub weights: Vec<(String, Tensor)>,
    /// The graph (after folding) and its values on the calibration input.
    pub graph: Graph,
    pub calibration: Evaluated,
    /// How many `lookup` tables the program declares.
    pub lookups: usize,
}

/// Writes the `.atl` program for `g`, calibrated on `calibration` (by graph input name).
/// `weights_file` is the name the program's `load`s use; `label` says where the model came from.
pub fn import(
    g: &Graph,
    calibration: &HashMap<String, Tensor>,
    opts: Options,
    weights_file: &str,
    label: &str,
) -> Result<Imported, String> {
    for node in &g.nodes {
        if ops::lookup(&node.op_type).is_none() {
            return Err(unsupported(g, node));
        }
    }
    let g = fold_batchnorm(g)?;
    let ev = evaluate(&g, calibration)?;
    let frac = opts.frac;
    let mut e = emit::Emitter::new(&g, &ev.values, &ev.consts, opts, weights_file.to_string());
    let mut sig_inputs = Vec::new();
    for i in &g.inputs {
        if i.kind == Kind::Bool {
            return Err(format!("graph input `{}`: boolean inputs are not supported", i.name));
        }
        let ty = e.act_ty(e.value(&i.name)?);
        let name = e.input(&i.name, ty)?;
        sig_inputs.push(format!("{name}: {}[{}]", ty.atl(), dims(&i.shape)));
    }
    let (fused, skipped) = matmul_bias_pairs(&g, &ev);
    for (k, node) in g.nodes.iter().enumerate() {
        if node.outputs.iter().all(|o| o.is_empty() || ev.consts.contains(o))
            || skipped.contains(&k)
        {
            continue;
        }
        if let Some(&(mm, bias)) = fused.get(&k) {
            let outs = ops::lower_matmul_add(&mut e, &g.nodes[mm], &node.inputs[bias])
                .map_err(|m| at(node, &g, &m))?;
            for (name, out) in node.outputs.iter().zip(outs) {
                e.bind(name, out).map_err(|m| at(node, &g, &m))?;
            }
            continue;
        }
        let def = ops::lookup(&node.op_type).ok_or_else(|| unsupported(&g, node))?;
        match &def.lower {
            Lower::Elementwise(f) => e.elementwise(node, *f).map_err(|m| at(node, &g, &m))?,
            Lower::Tensor(_, lower) => {
                let outs = lower(&mut e, node).map_err(|m| at(node, &g, &m))?;
                for (name, out) in node.outputs.iter().zip(outs) {
                    if !name.is_empty() {
                        e.bind(name, out).map_err(|m| at(node, &g, &m))?;
                    }
                }
            }
            Lower::ConstantOnly(_) | Lower::ShapeOnly(_) => {
                return Err(at(
                    node,
                    &g,
                    &format!(
                        "`{}` is supported on constants only (shape arithmetic), and this one reads a computed value",
                        node.op_type
                    ),
                ))
            }
        }
    }
    let mut rets = Vec::new();
    let mut sig_outputs = Vec::new();
    for o in &g.outputs {
        let name = e.operand(o)?;
        let ty = e.ty_of(&name).ok_or_else(|| format!("internal: output `{o}` has no type"))?;
        sig_outputs.push(format!("{}[{}]", ty.atl(), dims(&ev.values[o].shape)));
        rets.push(name);
    }
    let model_name = e.fresh(&g.name);
    let mut s = String::new();
    s.push_str(&format!("// Imported from {label} by `atlasc import` (ONNX opset {}).\n", g.opset));
    match frac {
        Some(f) => s.push_str(&format!("// Activations: fix<16, {f}> (set by --frac).\n")),
        None => s.push_str(
            "// Activations: fix<16, F> per tensor, F from its range on the calibration input (2x headroom).\n",
        ),
    }
    s.push_str(&format!(
        "// Weights: `{weights_file}`, each at the fix<16, F> its own range allows.\n\n"
    ));
    if !e.imports.is_empty() {
        let names: Vec<&str> = e.imports.iter().copied().collect();
        s.push_str(&format!("import std.nn.{{{}}}\n\n", names.join(", ")));
    }
    for l in &e.lookups {
        s.push_str(l);
        s.push('\n');
    }
    if !e.lookups.is_empty() {
        s.push('\n');
    }
    let outs = if sig_outputs.len() == 1 {
        sig_outputs[0].clone()
    } else {
        format!("({})", sig_outputs.join(", "))
    };
    s.push_str(&format!("model {model_name}({}) -> {outs} {{\n", sig_inputs.join(", ")));
    for line in e.params.iter().chain(&e.body) {
        s.push_str("    ");
        s.push_str(line);
        s.push('\n');
    }
    s.push_str(&format!("    return {}\n}}\n", rets.join(", ")));
    let lookups = e.lookups.len();
    let weights = std::mem::take(&mut e.weights);
    drop(e);
    Ok(Imported { source: s, weights, graph: g, calibration: ev, lookups })
}

/// `Add` nodes that add a constant to a `MatMul` output used by nothing else, as
/// `add index → (matmul index, the constant's input position)`, and the matmuls they absorb.
fn matmul_bias_pairs(
    g: &Graph,
    ev: &Evaluated,
) -> (HashMap<usize, (usize, usize)>, HashSet<usize>) {
    let mut uses: HashMap<&str, usize> = HashMap::new();
    for n in &g.nodes {
        for i in &n.inputs {
            *uses.entry(i.as_str()).or_default() += 1;
        }
    }
    for o in &g.outputs {
        *uses.entry(o.as_str()).or_default() += 1;
    }
    let producer: HashMap<&str, usize> = g
        .nodes
        .iter()
        .enumerate()
        .flat_map(|(k, n)| n.outputs.iter().map(move |o| (o.as_str(), k)))
        .collect();
    let mut fused = HashMap::new();
    let mut skipped = HashSet::new();
    for (k, n) in g.nodes.iter().enumerate() {
        if n.op_type != "Add" || n.inputs.len() != 2 {
            continue;
        }
        for (mm_at, bias_at) in [(0, 1), (1, 0)] {
            let (mm_out, bias) = (&n.inputs[mm_at], &n.inputs[bias_at]);
            let Some(&p) = producer.get(mm_out.as_str()) else { continue };
            let is_bias = ev.consts.contains(bias)
                && ev.values.get(bias).zip(ev.values.get(mm_out)).is_some_and(|(b, m)| {
                    tensor::broadcast_shape(&m.shape, &b.shape).is_ok_and(|s| s == m.shape)
                });
            if g.nodes[p].op_type == "MatMul"
                && !ev.consts.contains(mm_out)
                && uses.get(mm_out.as_str()) == Some(&1)
                && is_bias
            {
                fused.insert(k, (p, bias_at));
                skipped.insert(p);
                break;
            }
        }
    }
    (fused, skipped)
}

fn dims(shape: &[usize]) -> String {
    shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")
}

/// The weights as a `.safetensors` file (f32, the precision ONNX stores).
pub fn safetensors_bytes(weights: &[(String, Tensor)]) -> Result<Vec<u8>, String> {
    let bufs: Vec<(String, Vec<usize>, Vec<u8>)> = weights
        .iter()
        .map(|(n, t)| {
            let bytes = t.data.iter().flat_map(|&v| (v as f32).to_le_bytes()).collect();
            (n.clone(), t.shape.clone(), bytes)
        })
        .collect();
    let views = bufs
        .iter()
        .map(|(n, shape, b)| {
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), b)
                .map(|v| (n.clone(), v))
                .map_err(|e| format!("weights `{n}`: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    safetensors::tensor::serialize(views, None).map_err(|e| format!("writing weights: {e}"))
}

/// The graph's inputs from JSON: the benchmark format `{"input_data": [...], "shape": [...]}`
/// (one input, flattened row-major) or `{"<input name>": nested arrays, …}`.
pub fn inputs_from_json(g: &Graph, text: &str) -> Result<HashMap<String, Tensor>, String> {
    let v: Json = serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
    let Json::Object(map) = v else { return Err("expected a JSON object".into()) };
    let mut out = HashMap::new();
    if let Some(data) = map.get("input_data") {
        let [only] = g.inputs.as_slice() else {
            return Err(format!(
                "`input_data` gives one input, the model takes {}",
                g.inputs.len()
            ));
        };
        let mut flat = Vec::new();
        numbers(data, "input_data", &mut flat)?;
        out.insert(only.name.clone(), shaped(only, flat)?);
        return Ok(out);
    }
    for i in &g.inputs {
        let v = map.get(&i.name).ok_or_else(|| format!("missing input `{}`", i.name))?;
        let mut flat = Vec::new();
        numbers(v, &i.name, &mut flat)?;
        out.insert(i.name.clone(), shaped(i, flat)?);
    }
    if let Some(k) = map.keys().find(|k| !g.inputs.iter().any(|i| &i.name == *k)) {
        return Err(format!("unknown input `{k}`"));
    }
    Ok(out)
}

fn shaped(i: &graph::Input, flat: Vec<f64>) -> Result<Tensor, String> {
    let n: usize = i.shape.iter().product();
    if flat.len() != n {
        return Err(format!(
            "input `{}`: expected {n} numbers (shape {:?}), found {}",
            i.name,
            i.shape,
            flat.len()
        ));
    }
    Ok(Tensor::new(i.shape.clone(), flat, i.kind))
}

fn numbers(v: &Json, path: &str, out: &mut Vec<f64>) -> Result<(), String> {
    match v {
        Json::Number(n) => {
            out.push(n.as_f64().ok_or_else(|| format!("{path}: {n} is not a number"))?);
            Ok(())
        }
        Json::Array(items) => {
            for (k, item) in items.iter().enumerate() {
                numbers(item, &format!("{path}[{k}]"), out)?;
            }
            Ok(())
        }
        _ => Err(format!("expected numbers at {path}")),
    }
}

/// The default calibration input: floats `2·frac(i·φ) − 1` as `atlasc run` uses, integers 0.
pub fn default_inputs(g: &Graph) -> HashMap<String, Tensor> {
    let phi = 0.618_033_988_749_894_9_f64;
    g.inputs
        .iter()
        .map(|i| {
            let n: usize = i.shape.iter().product();
            let data = match i.kind {
                Kind::Float => (0..n).map(|k| 2.0 * (k as f64 * phi).fract() - 1.0).collect(),
                _ => vec![0.0; n],
            };
            (i.name.clone(), Tensor::new(i.shape.clone(), data, i.kind))
        })
        .collect()
}
