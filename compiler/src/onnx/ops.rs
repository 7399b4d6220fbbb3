//! The ONNX op registry: one line per op, giving its f64 meaning (for constant folding,
//! calibration and the reference) and its lowering to `.atl`.
//!
//! Elementwise ops give one formula, which is both their meaning and their lowering (fused into
//! tables or written as arithmetic, `emit.rs`). Ops whose every input is constant are folded at
//! import time whatever their lowering; `ConstantOnly` ops (shape arithmetic) must be.

use atlas_ir::ReduceKind;

use super::emit::{Emitter, Out, Ty, TyChoice};
use super::expr::{add, call, div, mul, sub, Expr};
use super::graph::{Attr, Node};
use super::tensor::{axis, broadcast_shape, zip, Kind, Tensor};

/// An op's meaning on reals: the node, its inputs (`None` for an omitted optional one), the opset.
pub type Eval = fn(&Node, &[Option<&Tensor>], i64) -> Result<Vec<Tensor>, String>;

/// A formula of the operands (`Expr::Operand(k)`, a scalar `Lit`, or a region's formula).
pub type Formula = fn(&Node, &[Expr]) -> Result<Expr, String>;

/// How an op becomes `.atl`.
pub enum Lower {
    /// Elementwise: its formula (also its meaning).
    Elementwise(Formula),
    /// Anything else: the `.atl` expression of each output.
    Tensor(Eval, fn(&mut Emitter<'_>, &Node) -> Result<Vec<Out>, String>),
    /// Only at import time, on constants (shape subgraphs).
    ConstantOnly(Eval),
    /// Depends only on its input's (static) shape: always a constant.
    ShapeOnly(Eval),
}

pub struct OpDef {
    pub op_type: &'static str,
    pub lower: Lower,
}

const fn ew(op_type: &'static str, f: Formula) -> OpDef {
    OpDef { op_type, lower: Lower::Elementwise(f) }
}
const fn tensor(
    op_type: &'static str,
    eval: Eval,
    lower: fn(&mut Emitter<'_>, &Node) -> Result<Vec<Out>, String>,
) -> OpDef {
    OpDef { op_type, lower: Lower::Tensor(eval, lower) }
}
const fn fold(op_type: &'static str, eval: Eval) -> OpDef {
    OpDef { op_type, lower: Lower::ConstantOnly(eval) }
}

/// The supported ops, one per line.
pub const OPS: &[OpDef] = &[
    ew("Add", |_, o| Ok(add(op(o, 0)?, op(o, 1)?))),
    ew("Sub", |_, o| Ok(sub(op(o, 0)?, op(o, 1)?))),
    ew("Mul", |_, o| Ok(mul(op(o, 0)?, op(o, 1)?))),
    ew("Div", |_, o| Ok(div(op(o, 0)?, op(o, 1)?))),
    ew("Neg", |_, o| Ok(Expr::Neg(Box::new(op(o, 0)?)))),
    ew("Relu", |_, o| Ok(Expr::Relu(Box::new(op(o, 0)?)))),
    ew("LeakyRelu", |n, o| leaky(op(o, 0)?, f64::from(n.float("alpha", 0.01)?))),
    ew("Sigmoid", |_, o| {
        Ok(div(Expr::Lit(1.0), add(Expr::Lit(1.0), exp(Expr::Neg(Box::new(op(o, 0)?))))))
    }),
    ew("Tanh", |_, o| Ok(call("tanh", vec![op(o, 0)?]))),
    ew("Erf", |_, o| Ok(call("erf", vec![op(o, 0)?]))),
    ew("Gelu", gelu),
    ew("Exp", |_, o| Ok(exp(op(o, 0)?))),
    ew("Log", |_, o| Ok(call("log", vec![op(o, 0)?]))),
    ew("Sqrt", |_, o| Ok(call("sqrt", vec![op(o, 0)?]))),
    ew("Reciprocal", |_, o| Ok(div(Expr::Lit(1.0), op(o, 0)?))),
    ew("Abs", |_, o| Ok(call("abs", vec![op(o, 0)?]))),
    ew("Sin", |_, o| Ok(call("sin", vec![op(o, 0)?]))),
    ew("Cos", |_, o| Ok(call("cos", vec![op(o, 0)?]))),
    ew("Pow", pow),
    ew("Max", |_, o| fold_pair(o, "max")),
    ew("Min", |_, o| fold_pair(o, "min")),
    ew("Clip", clip),
    ew("Identity", |_, o| op(o, 0)),
    ew("Dropout", |_, o| op(o, 0)),
    tensor("Cast", eval_cast, lower_cast),
    tensor("MatMul", eval_matmul, lower_matmul),
    tensor("Gemm", eval_gemm, lower_gemm),
    tensor("Conv", eval_conv, lower_conv),
    tensor("BatchNormalization", eval_batchnorm, lower_batchnorm),
    tensor("MaxPool", eval_maxpool, lower_maxpool),
    tensor("AveragePool", eval_avgpool, lower_avgpool),
    tensor("GlobalAveragePool", eval_global_avgpool, lower_global_avgpool),
    tensor("Softmax", eval_softmax, lower_softmax),
    tensor("LayerNormalization", eval_layernorm, lower_layernorm),
    tensor("ReduceMean", |n, i, v| eval_reduce(n, i, v, "mean"), |e, n| lower_reduce(e, n, "mean")),
    tensor("ReduceSum", |n, i, v| eval_reduce(n, i, v, "sum"), |e, n| lower_reduce(e, n, "sum")),
    tensor("ReduceMax", |n, i, v| eval_reduce(n, i, v, "max"), |e, n| lower_reduce(e, n, "max")),
    tensor("Reshape", eval_reshape, lower_reshape),
    tensor("Flatten", eval_flatten, lower_reshape),
    tensor("Squeeze", eval_squeeze, lower_reshape),
    tensor("Unsqueeze", eval_unsqueeze, lower_reshape),
    tensor("Transpose", eval_transpose, lower_transpose),
    tensor("Concat", eval_concat, lower_concat),
    tensor("Slice", eval_slice, lower_slice),
    tensor("Split", eval_split, lower_split),
    tensor("Gather", eval_gather, lower_gather),
    tensor("Where", eval_where, lower_where),
    fold("Constant", eval_constant),
    fold("ConstantOfShape", eval_constant_of_shape),
    OpDef {
        op_type: "Shape",
        lower: Lower::ShapeOnly(|_, i, _| Ok(vec![int_vec(&input(i, 0)?.shape)])),
    },
    fold("Range", eval_range),
    fold("Equal", |_, i, _| compare(i, |a, b| a == b)),
    fold("Less", |_, i, _| compare(i, |a, b| a < b)),
    fold("Greater", |_, i, _| compare(i, |a, b| a > b)),
    fold("Not", |_, i, _| Ok(vec![input(i, 0)?.map(|a| f64::from(u8::from(a == 0.0)))])),
    fold("And", |_, i, _| compare(i, |a, b| a != 0.0 && b != 0.0)),
    fold("Expand", eval_expand),
    fold("ArgMax", eval_argmax),
];

/// The registry entry for `op_type`.
pub fn lookup(op_type: &str) -> Option<&'static OpDef> {
    OPS.iter().find(|d| d.op_type == op_type)
}

/// The supported op types, for errors.
pub fn supported() -> String {
    let mut names: Vec<&str> = OPS.iter().map(|d| d.op_type).collect();
    names.sort_unstable();
    names.join(", ")
}

/// The f64 meaning of a node.
pub fn eval(
    def: &OpDef,
    node: &Node,
    inputs: &[Option<&Tensor>],
    opset: i64,
) -> Result<Vec<Tensor>, String> {
    match &def.lower {
        Lower::Tensor(e, _) | Lower::ConstantOnly(e) | Lower::ShapeOnly(e) => {
            e(node, inputs, opset)
        }
        Lower::Elementwise(f) => {
            // Operands numbered among the present inputs, so each element is evaluated on the
            // zipped values as they come.
            let mut present = Vec::new();
            let ops: Vec<Expr> = inputs
                .iter()
                .map(|t| match t {
                    Some(t) => {
                        present.push(*t);
                        Expr::Operand(present.len() - 1)
                    }
                    None => Expr::Lit(f64::NAN),
                })
                .collect();
            let e = f(node, &ops)?;
            let kind = match (node.op_type.as_str(), present.first()) {
                ("Identity" | "Dropout", Some(t)) => t.kind,
                _ => Kind::Float,
            };
            let out = zip(&present, kind, |vals| e.eval_with(f64::NAN, vals))?;
            Ok(vec![out])
        }
    }
}

// ----- formulas ------------------------------------------------------------------------------

fn op(o: &[Expr], k: usize) -> Result<Expr, String> {
    o.get(k).cloned().ok_or_else(|| format!("expected input {k}"))
}

fn exp(e: Expr) -> Expr {
    call("exp", vec![e])
}

fn leaky(x: Expr, alpha: f64) -> Result<Expr, String> {
    Ok(Expr::IfNeg(Box::new(x.clone()), Box::new(mul(Expr::Lit(alpha), x.clone())), Box::new(x)))
}

fn gelu(n: &Node, o: &[Expr]) -> Result<Expr, String> {
    let x = op(o, 0)?;
    let half = mul(Expr::Lit(0.5), x.clone());
    match n.string("approximate")?.unwrap_or("none") {
        "none" => Ok(mul(
            half,
            add(
                Expr::Lit(1.0),
                call("erf", vec![mul(x, Expr::Lit(std::f64::consts::FRAC_1_SQRT_2))]),
            ),
        )),
        "tanh" => {
            let inner = mul(
                Expr::Lit((2.0 / std::f64::consts::PI).sqrt()),
                add(x.clone(), mul(Expr::Lit(0.044715), mul(x.clone(), mul(x.clone(), x)))),
            );
            Ok(mul(half, add(Expr::Lit(1.0), call("tanh", vec![inner]))))
        }
        other => Err(format!("expected approximate `none` or `tanh`, found `{other}`")),
    }
}

/// `x^p`: products for small integer powers (exact in fixed point), `sqrt` for ½.
fn pow(_: &Node, o: &[Expr]) -> Result<Expr, String> {
    let x = op(o, 0)?;
    Ok(match op(o, 1)? {
        Expr::Lit(1.0) => x,
        Expr::Lit(2.0) => mul(x.clone(), x),
        Expr::Lit(3.0) => mul(mul(x.clone(), x.clone()), x),
        Expr::Lit(0.5) => call("sqrt", vec![x]),
        Expr::Lit(-1.0) => div(Expr::Lit(1.0), x),
        p => call("pow", vec![x, p]),
    })
}

fn fold_pair(o: &[Expr], f: &'static str) -> Result<Expr, String> {
    let mut it = o.iter().cloned();
    let first = it.next().ok_or("expected an input")?;
    Ok(it.fold(first, |acc, e| call(f, vec![acc, e])))
}

fn clip(n: &Node, o: &[Expr]) -> Result<Expr, String> {
    let mut x = op(o, 0)?;
    // Opset < 11 gives the bounds as attributes, later ones as optional inputs.
    let bound = |k: usize, attr: &str, default: f32| -> Result<Expr, String> {
        match o.get(k) {
            Some(Expr::Lit(v)) if v.is_nan() => Ok(Expr::Lit(f64::from(n.float(attr, default)?))),
            Some(e) => Ok(e.clone()),
            None => Ok(Expr::Lit(f64::from(n.float(attr, default)?))),
        }
    };
    let lo = bound(1, "min", f32::MIN)?;
    let hi = bound(2, "max", f32::MAX)?;
    if !matches!(lo, Expr::Lit(v) if v <= f64::from(f32::MIN)) {
        x = call("max", vec![x, lo]);
    }
    if !matches!(hi, Expr::Lit(v) if v >= f64::from(f32::MAX)) {
        x = call("min", vec![x, hi]);
    }
    Ok(x)
}

// ----- f64 helpers -----------------------------------------------------------------------------

fn input<'a>(i: &[Option<&'a Tensor>], k: usize) -> Result<&'a Tensor, String> {
    i.get(k).copied().flatten().ok_or_else(|| format!("expected input {k}"))
}

fn int_vec(v: &[usize]) -> Tensor {
    Tensor::new(vec![v.len()], v.iter().map(|&x| x as f64).collect(), Kind::Int)
}

fn ints_of(t: &Tensor) -> Vec<i64> {
    t.data.iter().map(|&x| x as i64).collect()
}

fn compare(i: &[Option<&Tensor>], f: fn(f64, f64) -> bool) -> Result<Vec<Tensor>, String> {
    Ok(vec![zip(&[input(i, 0)?, input(i, 1)?], Kind::Bool, |v| {
        f64::from(u8::from(f(v[0], v[1])))
    })?])
}

fn eval_cast(n: &Node, i: &[Option<&Tensor>], _: i64) -> Result<Vec<Tensor>, String> {
    let to = n.int("to", 1)? as i32;
    let x = input(i, 0)?;
    use super::proto::data_type::*;
    Ok(vec![match to {
        FLOAT | DOUBLE | FLOAT16 | BFLOAT16 => Tensor { kind: Kind::Float, ..x.clone() },
        BOOL => Tensor { kind: Kind::Bool, ..x.map(|v| f64::from(u8::from(v != 0.0))) },
        _ => Tensor { kind: Kind::Int, ..x.map(f64::trunc) },
    }])
}

fn eval_matmul(_: &Node, i: &[Option<&Tensor>], _: i64) -> Result<Vec<Tensor>, String> {
    Ok(vec![input(i, 0)?.matmul(input(i, 1)?)?])
}

/// `alpha · A' · B' + beta · C`.
fn eval_gemm(n: &Node, i: &[Option<&Tensor>], _: i64) -> Result<Vec<Tensor>, String> {
    let (a, b) = (input(i, 0)?, input(i, 1)?);
    let a = if n.int("transA", 0)? != 0 { a.transpose(&[1, 0])? } else { a.clone() };
    let b = if n.int("transB", 0)? != 0 { b.transpose(&[1, 0])? } else { b.clone() };
    let (alpha, beta) = (f64::from(n.float("alpha", 1.0)?), f64::from(n.float("beta", 1.0)?));
    let mut y = a.matmul(&b)?.map(|v| v * alpha);
    if let Some(c) = i.get(2).copied().flatten() {
        y = zip(&[&y, c], Kind::Float, |v| v[0] + beta * v[1])?;
    }
    Ok(vec![y])
}

/// Conv attributes Atlas lowers: 2-D, one group, no dilation, equal strides and pads.
struct ConvShape {
    kernel: [usize; 2],
    stride: usize,
    pad: usize,
}

fn conv_shape(n: &Node, w_shape: &[usize]) -> Result<ConvShape, String> {
    if w_shape.len() != 4 {
        return Err(format!(
            "expected a 2-D convolution (a 4-D kernel), found kernel shape {w_shape:?}"
        ));
    }
    if n.int("group", 1)? != 1 {
        return Err(
            "expected attribute `group` = 1 (grouped convolutions are not supported)".into()
        );
    }
    if let Some(d) = n.ints("dilations")? {
        if d.iter().any(|&x| x != 1) {
            return Err(format!("expected `dilations` of 1, found {d:?}"));
        }
    }
    if let Some(p) = n.string("auto_pad")? {
        if p != "NOTSET" && p != "VALID" {
            return Err(format!("expected `auto_pad` NOTSET or VALID, found `{p}`"));
        }
    }
    let strides = n.ints("strides")?.unwrap_or(vec![1, 1]);
    let pads = n.ints("pads")?.unwrap_or(vec![0; 4]);
    if strides.len() != 2 || strides[0] != strides[1] || strides[0] < 1 {
        return Err(format!("expected equal strides on both axes, found {strides:?}"));
    }
    if pads.len() != 4 || pads.iter().any(|&p| p != pads[0]) || pads[0] < 0 {
        return Err(format!("expected the same padding on every side, found {pads:?}"));
    }
    Ok(ConvShape {
        kernel: [w_shape[2], w_shape[3]],
        stride: strides[0] as usize,
        pad: pads[0] as usize,
    })
}

fn eval_conv(n: &Node, i: &[Option<&Tensor>], _: i64) -> Result<Vec<Tensor>, String> {
    let (x, w) = (input(i, 0)?, input(i, 1)?);
    let cs = conv_shape(n, &w.shape)?;
    let cols = x.im2col(cs.kernel, [cs.stride; 2], [cs.pad; 2])?;
    let (nb, p) = (cols.shape[0], cols.shape[1]);
    let k = w.len() / w.shape[0];
    let wt = w.reshape(vec![w.shape[0], k])?.transpose(&[1, 0])?;
    let mut y = cols.matmul(&wt)?; // [n, p, o]
    if let Some(b) = i.get(2).copied().flatten() {
        y = zip(&[&y, b], Kind::Float, |v| v[0] + v[1])?;
    }
    let oh = (x.shape[2] + 2 * cs.pad - cs.kernel[0]) / cs.stride + 1;
    Ok(vec![y.transpose(&[0, 2, 1])?.reshape(vec![nb, w.shape[0], oh, p / oh])?])
}

/// Per-channel `scale` and `shift` of an inference BatchNormalization.
pub fn batchnorm_affine(n: &Node, i: &[Option<&Tensor>]) -> Result<(Vec<f64>, Vec<f64>), String> {
    let (g, b, m, v) = (input(i, 1)?, input(i, 2)?, input(i, 3)?, input(i, 4)?);
    let eps = f64::from(n.float("epsilon", 1e-5)?);
    if n.int("training_mode", 0)? != 0 {
        return Err("expected inference mode (`training_mode` = 0)".into());
    }
    let c = g.len();
    if [b.len(), m.len(), v.len()].iter().any(|&l| l != c) {
        return Err("scale, bias, mean and variance must have one value per channel".into());
    }
    let scale: Vec<f64> = (0..c).map(|k| g.data[k] / (v.data[k] + eps).sqrt()).collect();
    let shift: Vec<f64> = (0..c).map(|k| b.data[k] - m.data[k] * scale[k]).collect();
    Ok((scale, shift))
}

fn channel_shape(c: usize, rank: usize) -> Vec<usize> {
    let mut s = vec![c];
    s.extend(std::iter::repeat_n(1, rank.saturating_sub(2)));
    s
}

fn eval_batchnorm(n: &Node, i: &[Option<&Tensor>], _: i64) -> Result<Vec<Tensor>, String> {
    let x = input(i, 0)?;
    let (scale, shift) = batchnorm_affine(n, i)?;
    let cs = channel_shape(scale.len(), x.rank());
    let s = Tensor::new(cs.clone(), scale, Kind::Float);
    let t = Tensor::new(cs, shift, Kind::Float);
    Ok(vec![zip(&[x, &s, &t], Kind::Float, |v| v[0] * v[1] + v[2])?])
}

/// Pool attributes Atlas lowers: square windows with stride equal to the kernel, no padding.
fn pool_kernel(n: &Node) -> Result<usize, String> {
    let k = n.ints("kernel_shape")?.ok_or("expected attribute `kernel_shape`")?;
    let s = n.ints("strides")?.unwrap_or(vec![1; k.len()]);
    let pads = n.ints("pads")?.unwrap_or(vec![0; 4]);
    if k.len() != 2 || k[0] != k[1] || k[0] < 1 {
        return Err(format!("expected a square 2-D window, found kernel_shape {k:?}"));
    }
    if s != k {
        return Err(format!(
            "expected strides equal to the kernel (non-overlapping windows), found kernel {k:?} and strides {s:?}"
        ));
    }
    if pads.iter().any(|&p| p != 0) || n.int("ceil_mode", 0)? != 0 {
        return Err("expected no padding and `ceil_mode` = 0".into());
    }
    if let Some(d) = n.ints("dilations")? {
        if d.iter().any(|&x| x != 1) {
            return Err(format!("expected `dilations` of 1, found {d:?}"));
        }
    }
    Ok(k[0] as usize)
}

/// A `MaxPool`'s square window: `(kernel, stride, padding)`, one stride for both axes and one
/// padding on all four sides (padded cells never win a maximum), floor mode, no dilation.
fn max_pool_window(n: &Node) -> Result<(usize, usize, usize), String> {
    let k = n.ints("kernel_shape")?.ok_or("expected attribute `kernel_shape`")?;
    if k.len() != 2 || k[0] != k[1] || k[0] < 1 {
        return Err(format!("expected a square 2-D window, found kernel_shape {k:?}"));
    }
    let s = n.ints("strides")?.unwrap_or(vec![1; 2]);
    if s.len() != 2 || s[0] != s[1] || s[0] < 1 {
        return Err(format!("expected one positive stride for both axes, found strides {s:?}"));
    }
    let pads = n.ints("pads")?.unwrap_or(vec![0; 4]);
    if pads.len() != 4 || pads.iter().any(|&p| p != pads[0] || p < 0) {
        return Err(format!("expected the same padding on all four sides, found pads {pads:?}"));
    }
    if n.int("ceil_mode", 0)? != 0 {
        return Err("expected `ceil_mode` = 0".into());
    }
    if let Some(d) = n.ints("dilations")? {
        if d.iter().any(|&x| x != 1) {
            return Err(format!("expected `dilations` of 1, found {d:?}"));
        }
    }
    Ok((k[0] as usize, s[0] as usize, pads[0] as usize))
}

/// Windows of `k × k` as a trailing axis: `[n, c, h/k, w/k, k·k]` (floor mode drops the rest).
fn windows(x: &Tensor, k: usize) -> Result<Tensor, String> {
    let s = &x.shape;
    if s.len() != 4 || s[2] < k || s[3] < k {
        return Err(format!("expected an [n, c, h, w] input of at least the window, found {s:?}"));
    }
    let (h, w) = (s[2] / k, s[3] / k);
    let x = x.slice(2, 0, h * k, 1)?.slice(3, 0, w * k, 1)?;
    x.reshape(vec![s[0], s[1], h, k, w, k])?.transpose(&[0, 1, 2, 4, 3, 5])?.reshape(vec![
        s[0],
        s[1],
        h,
        w,
        k * k,
    ])
}

fn eval_maxpool(n: &Node, i: &[Option<&Tensor>], _: i64) -> Result<Vec<Tensor>, String> {
    if n.outputs.len() > 1 && !n.outputs[1].is_empty() {
        return Err("the `Indices` output of MaxPool is not supported".into());
    }
    let x = input(i, 0)?;
    let (k, s, p) = max_pool_window(n)?;
    let xs = &x.shape;
    if xs.len() != 4 || xs[2] + 2 * p < k || xs[3] + 2 * p < k {
        return Err(format!("expected an [n, c, h, w] input of at least the window, found {xs:?}"));
    }
    let (oh, ow) = ((xs[2] + 2 * p - k) / s + 1, (xs[3] + 2 * p - k) / s + 1);
    let mut out = Vec::with_capacity(xs[0] * xs[1] * oh * ow);
    for plane in x.data.chunks(xs[2] * xs[3]) {
        for oy in 0..oh {
            for ox in 0..ow {
                let mut m = f64::NEG_INFINITY;
                for dy in 0..k {
                    for dx in 0..k {
                        let (y, xx) = ((oy * s + dy).checked_sub(p), (ox * s + dx).checked_sub(p));
                        if let (Some(y), Some(xx)) = (y, xx) {
                            if y < xs[2] && xx < xs[3] {
                                m = m.max(plane[y * xs[3] + xx]);
                            }
                        }
                    }
                }
                out.push(m);
            }
        }
    }
    Ok(vec![Tensor::new(vec![xs[0], xs[1], oh, ow], out, x.kind)])
}

fn eval_avgpool(n: &Node, i: &[Option<&Tensor>], _: i64) -> Result<Vec<Tensor>, String> {
    let k = pool_kernel(n)?;
    let s = windows(input(i, 0)?, k)?.reduce(ReduceKind::Sum, &[4], false)?;
    Ok(vec![s.map(|v| v / (k * k) as f64)])
}

fn eval_global_avgpool(_: &Node, i: &[Option<&Tensor>], _: i64) -> Result<Vec<Tensor>, String> {
    let x = input(i, 0)?;
    if x.rank() != 4 {
        return Err(format!("expected an [n, c, h, w] input, found {:?}", x.shape));
    }
    let hw = (x.shape[2] * x.shape[3]) as f64;
    Ok(vec![x.reduce(ReduceKind::Sum, &[2, 3], true)?.map(|v| v / hw)])
}

fn softmax_axis(n: &Node, rank: usize, opset: i64) -> Result<usize, String> {
    let default = if opset >= 13 { -1 } else { 1 };
    let a = axis(n.int("axis", default)?, rank)?;
    if opset < 13 && a != rank - 1 {
        return Err(format!(
            "Softmax before opset 13 flattens from axis {a}; only the last axis is supported"
        ));
    }
    Ok(a)
}

fn eval_softmax(n: &Node, i: &[Option<&Tensor>], opset: i64) -> Result<Vec<Tensor>, String> {
    let x = input(i, 0)?;
    let a = softmax_axis(n, x.rank(), opset)?;
    let m = x.reduce(ReduceKind::Max, &[a], true)?;
    let e = zip(&[x, &m], Kind::Float, |v| (v[0] - v[1]).exp())?;
    let s = e.reduce(ReduceKind::Sum, &[a], true)?;
    Ok(vec![zip(&[&e, &s], Kind::Float, |v| v[0] / v[1])?])
}

fn eval_layernorm(n: &Node, i: &[Option<&Tensor>], _: i64) -> Result<Vec<Tensor>, String> {
    let x = input(i, 0)?;
    let a = axis(n.int("axis", -1)?, x.rank())?;
    if a != x.rank() - 1 {
        return Err(format!("expected LayerNormalization over the last axis only, found axis {a}"));
    }
    let eps = f64::from(n.float("epsilon", 1e-5)?);
    let d = x.shape[a] as f64;
    let mean = x.reduce(ReduceKind::Sum, &[a], true)?.map(|v| v / d);
    let c = zip(&[x, &mean], Kind::Float, |v| v[0] - v[1])?;
    let var = c.map(|v| v * v).reduce(ReduceKind::Sum, &[a], true)?.map(|v| v / d);
    let mut y = zip(&[&c, &var], Kind::Float, |v| v[0] / (v[1] + eps).sqrt())?;
    if let Some(g) = i.get(1).copied().flatten() {
        y = zip(&[&y, g], Kind::Float, |v| v[0] * v[1])?;
    }
    if let Some(b) = i.get(2).copied().flatten() {
        y = zip(&[&y, b], Kind::Float, |v| v[0] + v[1])?;
    }
    Ok(vec![y])
}

/// The reduced axes (attribute before opset 18 for ReduceMean/Max and 13 for ReduceSum, input
/// after) and `keepdims`.
fn reduce_axes(n: &Node, i: &[Option<&Tensor>], rank: usize) -> Result<(Vec<usize>, bool), String> {
    let listed = match i.get(1).copied().flatten() {
        Some(t) => Some(ints_of(t)),
        None => n.ints("axes")?,
    };
    let mut axes: Vec<usize> = match listed {
        Some(v) if !v.is_empty() => v.iter().map(|&a| axis(a, rank)).collect::<Result<_, _>>()?,
        _ if n.int("noop_with_empty_axes", 0)? != 0 => Vec::new(),
        _ => (0..rank).collect(),
    };
    axes.sort_unstable();
    axes.dedup();
    Ok((axes, n.int("keepdims", 1)? != 0))
}

fn eval_reduce(n: &Node, i: &[Option<&Tensor>], _: i64, how: &str) -> Result<Vec<Tensor>, String> {
    let x = input(i, 0)?;
    let (axes, keep) = reduce_axes(n, i, x.rank())?;
    if axes.is_empty() {
        return Ok(vec![x.clone()]);
    }
    let count: usize = axes.iter().map(|&a| x.shape[a]).product();
    Ok(vec![match how {
        "max" => x.reduce(ReduceKind::Max, &axes, keep)?,
        "sum" => x.reduce(ReduceKind::Sum, &axes, keep)?,
        _ => x.reduce(ReduceKind::Sum, &axes, keep)?.map(|v| v / count as f64),
    }])
}

fn eval_reshape(n: &Node, i: &[Option<&Tensor>], _: i64) -> Result<Vec<Tensor>, String> {
    let x = input(i, 0)?;
    let spec = match i.get(1).copied().flatten() {
        Some(t) => ints_of(t),
        None => n.ints("shape")?.ok_or("expected a shape")?,
    };
    let allowzero = n.int("allowzero", 0)? != 0;
    let mut shape = Vec::new();
    let mut infer = None;
    for (k, &d) in spec.iter().enumerate() {
        match d {
            -1 if infer.is_none() => {
                infer = Some(k);
                shape.push(1);
            }
            0 if !allowzero => shape.push(*x.shape.get(k).ok_or("a 0 beyond the input's rank")?),
            d if d > 0 => shape.push(d as usize),
            d => return Err(format!("bad size {d} in shape {spec:?}")),
        }
    }
    if let Some(k) = infer {
        let known = super::tensor::count(&shape)?;
        if known == 0 || x.len() % known != 0 {
            return Err(format!("cannot reshape {:?} to {spec:?}", x.shape));
        }
        shape[k] = x.len() / known;
    }
    Ok(vec![x.reshape(shape)?])
}

fn eval_flatten(n: &Node, i: &[Option<&Tensor>], _: i64) -> Result<Vec<Tensor>, String> {
    let x = input(i, 0)?;
    let a = n.int("axis", 1)?;
    let a = if a == x.rank() as i64 { x.rank() } else { axis(a, x.rank())? };
    let outer: usize = x.shape[..a].iter().product();
    Ok(vec![x.reshape(vec![outer, x.len() / outer.max(1)])?])
}

fn squeeze_axes(
    n: &Node,
    i: &[Option<&Tensor>],
    rank: usize,
) -> Result<Option<Vec<usize>>, String> {
    let listed = match i.get(1).copied().flatten() {
        Some(t) => Some(ints_of(t)),
        None => n.ints("axes")?,
    };
    listed.map(|v| v.iter().map(|&a| axis(a, rank)).collect()).transpose()
}

fn eval_squeeze(n: &Node, i: &[Option<&Tensor>], _: i64) -> Result<Vec<Tensor>, String> {
    let x = input(i, 0)?;
    let axes = squeeze_axes(n, i, x.rank())?;
    let shape = x
        .shape
        .iter()
        .enumerate()
        .filter(|(k, &d)| match &axes {
            Some(a) => !a.contains(k),
            None => d != 1,
        })
        .map(|(_, &d)| d)
        .collect();
    Ok(vec![x.reshape(shape)?])
}

fn eval_unsqueeze(n: &Node, i: &[Option<&Tensor>], _: i64) -> Result<Vec<Tensor>, String> {
    let x = input(i, 0)?;
    let r = x.rank();
    let listed = match i.get(1).copied().flatten() {
        Some(t) => ints_of(t),
        None => n.ints("axes")?.ok_or("expected axes")?,
    };
    let out_rank = r + listed.len();
    let mut axes: Vec<usize> =
        listed.iter().map(|&a| axis(a, out_rank)).collect::<Result<_, _>>()?;
    axes.sort_unstable();
    let mut shape = x.shape.clone();
    for a in axes {
        shape.insert(a.min(shape.len()), 1);
    }
    Ok(vec![x.reshape(shape)?])
}

fn eval_transpose(n: &Node, i: &[Option<&Tensor>], _: i64) -> Result<Vec<Tensor>, String> {
    let x = input(i, 0)?;
    let perm = perm_of(n, x.rank())?;
    Ok(vec![x.transpose(&perm)?])
}

fn perm_of(n: &Node, rank: usize) -> Result<Vec<usize>, String> {
    Ok(match n.ints("perm")? {
        Some(p) => p.iter().map(|&a| axis(a, rank)).collect::<Result<_, _>>()?,
        None => (0..rank).rev().collect(),
    })
}

fn eval_concat(n: &Node, i: &[Option<&Tensor>], _: i64) -> Result<Vec<Tensor>, String> {
    let parts: Vec<&Tensor> = i.iter().flatten().copied().collect();
    let first = parts.first().ok_or("expected inputs")?;
    let a = axis(n.int("axis", 0)?, first.rank())?;
    Ok(vec![Tensor::concat(&parts, a)?])
}

/// `(axis, start, end)` per sliced axis, clamped as ONNX says; steps must be 1.
fn slice_spec(
    n: &Node,
    i: &[Option<&Tensor>],
    shape: &[usize],
) -> Result<Vec<(usize, usize, usize)>, String> {
    let get = |k: usize, attr: &str| -> Result<Option<Vec<i64>>, String> {
        match i.get(k).copied().flatten() {
            Some(t) => Ok(Some(ints_of(t))),
            None => n.ints(attr),
        }
    };
    let starts = get(1, "starts")?.ok_or("expected starts")?;
    let ends = get(2, "ends")?.ok_or("expected ends")?;
    let axes = get(3, "axes")?.unwrap_or((0..starts.len() as i64).collect());
    if let Some(steps) = get(4, "steps")? {
        if steps.iter().any(|&s| s != 1) {
            return Err(format!("expected steps of 1, found {steps:?}"));
        }
    }
    let mut out = Vec::new();
    for ((&s, &e), &a) in starts.iter().zip(&ends).zip(&axes) {
        let a = axis(a, shape.len())?;
        let d = shape[a] as i64;
        let clamp = |v: i64| if v < 0 { (v + d).max(0) } else { v.min(d) } as usize;
        let (s, e) = (clamp(s), clamp(e));
        out.push((a, s, e.max(s)));
    }
    Ok(out)
}

fn eval_slice(n: &Node, i: &[Option<&Tensor>], _: i64) -> Result<Vec<Tensor>, String> {
    let mut x = input(i, 0)?.clone();
    for (a, s, e) in slice_spec(n, i, &x.shape.clone())? {
        x = x.slice(a, s, e, 1)?;
    }
    Ok(vec![x])
}

fn split_sizes(n: &Node, i: &[Option<&Tensor>], dim: usize) -> Result<Vec<usize>, String> {
    let listed = match i.get(1).copied().flatten() {
        Some(t) => Some(ints_of(t)),
        None => n.ints("split")?,
    };
    let parts = n.outputs.len();
    let sizes: Vec<usize> = match listed {
        Some(v) => v.iter().map(|&s| s.max(0) as usize).collect(),
        None => {
            let each = dim.div_ceil(parts.max(1));
            (0..parts).map(|k| each.min(dim.saturating_sub(k * each))).collect()
        }
    };
    if sizes.iter().sum::<usize>() != dim || sizes.len() != parts {
        return Err(format!("split sizes {sizes:?} do not cover {dim} in {parts} outputs"));
    }
    Ok(sizes)
}

fn eval_split(n: &Node, i: &[Option<&Tensor>], _: i64) -> Result<Vec<Tensor>, String> {
    let x = input(i, 0)?;
    let a = axis(n.int("axis", 0)?, x.rank())?;
    let mut at = 0;
    let mut outs = Vec::new();
    for s in split_sizes(n, i, x.shape[a])? {
        outs.push(x.slice(a, at, at + s, 1)?);
        at += s;
    }
    Ok(outs)
}

fn eval_gather(n: &Node, i: &[Option<&Tensor>], _: i64) -> Result<Vec<Tensor>, String> {
    let (x, idx) = (input(i, 0)?, input(i, 1)?);
    let a = axis(n.int("axis", 0)?, x.rank())?;
    Ok(vec![x.gather(idx, a)?])
}

fn eval_where(_: &Node, i: &[Option<&Tensor>], _: i64) -> Result<Vec<Tensor>, String> {
    let (c, a, b) = (input(i, 0)?, input(i, 1)?, input(i, 2)?);
    let kind = a.kind;
    Ok(vec![zip(&[c, a, b], kind, |v| if v[0] != 0.0 { v[1] } else { v[2] })?])
}

fn eval_constant(n: &Node, _: &[Option<&Tensor>], _: i64) -> Result<Vec<Tensor>, String> {
    Ok(vec![match n.attrs.first().map(|(k, a)| (k.as_str(), a)) {
        Some(("value", Attr::Tensor(t))) => t.clone(),
        Some(("value_float", Attr::Float(f))) => Tensor::scalar(f64::from(*f), Kind::Float),
        Some(("value_int", Attr::Int(v))) => Tensor::scalar(*v as f64, Kind::Int),
        Some(("value_floats", Attr::Floats(v))) => {
            Tensor::new(vec![v.len()], v.iter().map(|&x| f64::from(x)).collect(), Kind::Float)
        }
        Some(("value_ints", Attr::Ints(v))) => {
            Tensor::new(vec![v.len()], v.iter().map(|&x| x as f64).collect(), Kind::Int)
        }
        other => {
            return Err(format!(
                "expected a `value` attribute, found {}",
                other.map_or("none".to_string(), |(k, _)| format!("`{k}`"))
            ))
        }
    }])
}

fn eval_constant_of_shape(n: &Node, i: &[Option<&Tensor>], _: i64) -> Result<Vec<Tensor>, String> {
    let shape: Vec<usize> = ints_of(input(i, 0)?).iter().map(|&d| d.max(0) as usize).collect();
    let (v, kind) = match n.attr("value") {
        Some(Attr::Tensor(t)) => (t.as_scalar().ok_or("expected a one-element value")?, t.kind),
        _ => (0.0, Kind::Float),
    };
    let len = super::tensor::count(&shape)?;
    Ok(vec![Tensor::new(shape, vec![v; len], kind)])
}

fn eval_range(_: &Node, i: &[Option<&Tensor>], _: i64) -> Result<Vec<Tensor>, String> {
    let s = input(i, 0)?.as_scalar().ok_or("expected a scalar start")?;
    let l = input(i, 1)?.as_scalar().ok_or("expected a scalar limit")?;
    let d = input(i, 2)?.as_scalar().ok_or("expected a scalar delta")?;
    if d == 0.0 {
        return Err("delta 0".into());
    }
    let count = ((l - s) / d).ceil().max(0.0) as usize;
    if count > 1 << 24 {
        return Err(format!("a range of {count} elements"));
    }
    let data = (0..count).map(|k| s + k as f64 * d).collect();
    Ok(vec![Tensor::new(vec![count], data, input(i, 0)?.kind)])
}

fn eval_expand(_: &Node, i: &[Option<&Tensor>], _: i64) -> Result<Vec<Tensor>, String> {
    let x = input(i, 0)?;
    let want: Vec<usize> = ints_of(input(i, 1)?).iter().map(|&d| d.max(0) as usize).collect();
    Ok(vec![x.broadcast_to(&broadcast_shape(&x.shape, &want)?)?])
}

fn eval_argmax(n: &Node, i: &[Option<&Tensor>], _: i64) -> Result<Vec<Tensor>, String> {
    let x = input(i, 0)?;
    let a = axis(n.int("axis", 0)?, x.rank())?;
    let keep = n.int("keepdims", 1)? != 0;
    let (outer, d): (usize, usize) = (x.shape[..a].iter().product(), x.shape[a]);
    let inner: usize = x.shape[a + 1..].iter().product();
    let mut data = Vec::with_capacity(outer * inner);
    for o in 0..outer {
        for k in 0..inner {
            let at = |j: usize| x.data[(o * d + j) * inner + k];
            let best = (0..d).fold(0, |b, j| if at(j) > at(b) { j } else { b });
            data.push(best as f64);
        }
    }
    let mut shape = x.shape.clone();
    if keep {
        shape[a] = 1;
    } else {
        shape.remove(a);
    }
    Ok(vec![Tensor::new(shape, data, Kind::Int)])
}

// ----- lowerings -------------------------------------------------------------------------------

fn calibrated(expr: String) -> Vec<Out> {
    vec![Out { expr, ty: TyChoice::Calibrated }]
}

fn same(expr: String, as_: &str) -> Vec<Out> {
    vec![Out { expr, ty: TyChoice::Same(as_.to_string()) }]
}

fn shape_list(s: &[usize]) -> String {
    format!("[{}]", s.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", "))
}

fn lower_cast(e: &mut Emitter<'_>, n: &Node) -> Result<Vec<Out>, String> {
    let (from, to) = (e.value(&n.inputs[0])?.kind, e.value(&n.outputs[0])?.kind);
    if from != to {
        return Err(format!(
            "a cast from {from:?} to {to:?} of a computed tensor is not supported"
        ));
    }
    let x = e.operand(&n.inputs[0])?;
    Ok(same(x.clone(), &x))
}

fn lower_matmul(e: &mut Emitter<'_>, n: &Node) -> Result<Vec<Out>, String> {
    let (a, b) = (e.operand(&n.inputs[0])?, e.operand(&n.inputs[1])?);
    Ok(calibrated(format!("{a} @ {b}")))
}

/// `MatMul` then `Add` of a constant, used by nothing else: one `let` of `a @ w + b`, so the
/// bias is added to the exact product and the sum narrowed once.
pub fn lower_matmul_add(e: &mut Emitter<'_>, mm: &Node, bias: &str) -> Result<Vec<Out>, String> {
    let (a, b) = (e.operand(&mm.inputs[0])?, e.operand(&mm.inputs[1])?);
    let c = e.operand(bias)?;
    Ok(calibrated(format!("{a} @ {b} + {c}")))
}

fn lower_gemm(e: &mut Emitter<'_>, n: &Node) -> Result<Vec<Out>, String> {
    let alpha = f64::from(n.float("alpha", 1.0)?);
    let beta = f64::from(n.float("beta", 1.0)?);
    let mut a = e.operand(&n.inputs[0])?;
    if n.int("transA", 0)? != 0 {
        a = format!("transpose({a})");
        e.imports.insert("transpose");
    }
    let b_name = &n.inputs[1];
    let b = if e.is_const(b_name) {
        // Stored as used: transposed, alpha folded in.
        let mut w = e.value(b_name)?.clone();
        if n.int("transB", 0)? != 0 {
            w = w.transpose(&[1, 0])?;
        }
        e.param_tensor(b_name, w.map(|v| v * alpha))
    } else {
        if alpha != 1.0 {
            return Err("expected `alpha` = 1 when B is computed".into());
        }
        let b = e.operand(b_name)?;
        if n.int("transB", 0)? != 0 {
            e.imports.insert("transpose");
            format!("transpose({b})")
        } else {
            b
        }
    };
    let mut expr = format!("{a} @ {b}");
    if let Some(c) = n.inputs.get(2).filter(|c| !c.is_empty()) {
        if !e.is_const(c) {
            return Err("expected a constant C".into());
        }
        let ct = e.value(c)?.map(|v| v * beta);
        let p = e.param_tensor(c, ct);
        expr = format!("{expr} + {p}");
    }
    Ok(calibrated(expr))
}

fn lower_conv(e: &mut Emitter<'_>, n: &Node) -> Result<Vec<Out>, String> {
    let w_name = &n.inputs[1];
    if !e.is_const(w_name) {
        return Err("expected a constant kernel".into());
    }
    let cs = conv_shape(n, &e.value(w_name)?.shape)?;
    let x = e.operand(&n.inputs[0])?;
    let w = e.param(w_name)?;
    let b = match n.inputs.get(2).filter(|b| !b.is_empty()) {
        Some(b) if e.is_const(b) => format!(", {}", e.param(b)?),
        Some(_) => return Err("expected a constant bias".into()),
        None => String::new(),
    };
    e.imports.insert("conv2d");
    Ok(calibrated(format!("conv2d({x}, {w}{b}, stride = {}, padding = {})", cs.stride, cs.pad)))
}

fn lower_batchnorm(e: &mut Emitter<'_>, n: &Node) -> Result<Vec<Out>, String> {
    let ins: Vec<Option<&Tensor>> =
        n.inputs.iter().map(|i| if i.is_empty() { None } else { e.values.get(i) }).collect();
    for i in &n.inputs[1..] {
        if !e.is_const(i) {
            return Err(format!("expected constant statistics, `{i}` is computed"));
        }
    }
    let (scale, shift) = batchnorm_affine(n, &ins)?;
    let rank = e.value(&n.inputs[0])?.rank();
    let cs = channel_shape(scale.len(), rank);
    let x = e.operand(&n.inputs[0])?;
    let s =
        e.param_tensor(&format!("{}_scale", n.name), Tensor::new(cs.clone(), scale, Kind::Float));
    let t = e.param_tensor(&format!("{}_shift", n.name), Tensor::new(cs, shift, Kind::Float));
    Ok(calibrated(format!("{x} * {s} + {t}")))
}

/// The input cut to whole windows (floor mode), as `.atl`.
fn whole_windows(e: &mut Emitter<'_>, n: &Node, k: usize) -> Result<(String, Vec<usize>), String> {
    let x = e.operand(&n.inputs[0])?;
    let s = e.value(&n.inputs[0])?.shape.clone();
    if s.len() != 4 {
        return Err(format!("expected an [n, c, h, w] input, found {s:?}"));
    }
    let (h, w) = (s[2] / k * k, s[3] / k * k);
    let x = if (h, w) == (s[2], s[3]) { x } else { format!("{x}[:, :, 0:{h}, 0:{w}]") };
    Ok((x, vec![s[0], s[1], h, w]))
}

fn lower_maxpool(e: &mut Emitter<'_>, n: &Node) -> Result<Vec<Out>, String> {
    let (k, s, p) = max_pool_window(n)?;
    let src = e.operand(&n.inputs[0])?;
    e.imports.insert("max_pool2d");
    if s == k && p == 0 {
        let (x, _) = whole_windows(e, n, k)?;
        return Ok(same(format!("max_pool2d({x}, kernel = {k})"), &src));
    }
    Ok(same(format!("max_pool2d({src}, kernel = {k}, stride = {s}, padding = {p})"), &src))
}

fn lower_avgpool(e: &mut Emitter<'_>, n: &Node) -> Result<Vec<Out>, String> {
    let k = pool_kernel(n)?;
    let (x, s) = whole_windows(e, n, k)?;
    let six = shape_list(&[s[0], s[1], s[2] / k, k, s[3] / k, k]);
    e.imports.extend(["reshape", "mean"]);
    Ok(calibrated(format!("mean(mean(reshape({x}, {six}), axis = 5), axis = 3)")))
}

fn lower_global_avgpool(e: &mut Emitter<'_>, n: &Node) -> Result<Vec<Out>, String> {
    let x = e.operand(&n.inputs[0])?;
    let s = e.value(&n.inputs[0])?.shape.clone();
    let flat = shape_list(&[s[0], s[1], s[2] * s[3]]);
    let out = shape_list(&[s[0], s[1], 1, 1]);
    e.imports.extend(["reshape", "mean"]);
    Ok(calibrated(format!("reshape(mean(reshape({x}, {flat}), axis = 2), {out})")))
}

fn lower_softmax(e: &mut Emitter<'_>, n: &Node) -> Result<Vec<Out>, String> {
    let rank = e.value(&n.inputs[0])?.rank();
    let a = softmax_axis(n, rank, e.g.opset)?;
    let x = e.operand(&n.inputs[0])?;
    e.imports.insert("softmax");
    Ok(calibrated(format!("softmax({x}, axis = {a})")))
}

fn lower_layernorm(e: &mut Emitter<'_>, n: &Node) -> Result<Vec<Out>, String> {
    let rank = e.value(&n.inputs[0])?.rank();
    let a = axis(n.int("axis", -1)?, rank)?;
    if a != rank - 1 {
        return Err(format!("expected LayerNormalization over the last axis only, found axis {a}"));
    }
    let x = e.operand(&n.inputs[0])?;
    e.imports.insert("layer_norm");
    let mut expr = format!("layer_norm({x}, axis = {a})");
    for (k, op) in [(1, "*"), (2, "+")] {
        if let Some(p) = n.inputs.get(k).filter(|p| !p.is_empty()) {
            expr = format!("{expr} {op} {}", e.operand(p)?);
        }
    }
    Ok(calibrated(expr))
}

fn lower_reduce(e: &mut Emitter<'_>, n: &Node, how: &str) -> Result<Vec<Out>, String> {
    let x_val = e.value(&n.inputs[0])?.clone();
    let ins: Vec<Option<&Tensor>> =
        n.inputs.iter().map(|i| if i.is_empty() { None } else { e.values.get(i) }).collect();
    let (axes, _) = reduce_axes(n, &ins, x_val.rank())?;
    let x = e.operand(&n.inputs[0])?;
    let f: &'static str = match how {
        "max" => "reduce_max",
        "sum" => "sum",
        _ => "mean",
    };
    e.imports.insert(f);
    let mut expr = x.clone();
    for a in &axes {
        expr = format!("{f}({expr}, axis = {a}, keep_dims = 1)");
    }
    let out = &e.value(&n.outputs[0])?.shape;
    if out.len() != x_val.rank() {
        e.imports.insert("reshape");
        expr = format!("reshape({expr}, {})", shape_list(out));
    }
    Ok(if how == "max" { same(expr, &x) } else { calibrated(expr) })
}

/// Reshape, Flatten, Squeeze, Unsqueeze: the same elements in the evaluated output shape.
fn lower_reshape(e: &mut Emitter<'_>, n: &Node) -> Result<Vec<Out>, String> {
    let x = e.operand(&n.inputs[0])?;
    let out = e.value(&n.outputs[0])?.shape.clone();
    if e.value(&n.inputs[0])?.shape == out {
        return Ok(same(x.clone(), &x));
    }
    e.imports.insert("reshape");
    Ok(same(format!("reshape({x}, {})", shape_list(&out)), &x))
}

fn lower_transpose(e: &mut Emitter<'_>, n: &Node) -> Result<Vec<Out>, String> {
    let rank = e.value(&n.inputs[0])?.rank();
    let perm = perm_of(n, rank)?;
    let x = e.operand(&n.inputs[0])?;
    e.imports.insert("permute");
    Ok(same(format!("permute({x}, {})", shape_list(&perm)), &x))
}

fn lower_concat(e: &mut Emitter<'_>, n: &Node) -> Result<Vec<Out>, String> {
    let rank = e.value(&n.inputs[0])?.rank();
    let a = axis(n.int("axis", 0)?, rank)?;
    let mut parts = Vec::new();
    for i in n.inputs.iter().filter(|i| !i.is_empty()) {
        parts.push(e.operand(i)?);
    }
    let mut it = parts.into_iter();
    let first = it.next().ok_or("expected inputs")?;
    e.imports.insert("concat");
    let expr = it.fold(first, |acc, p| format!("concat({acc}, {p}, axis = {a})"));
    Ok(calibrated(expr))
}

/// `x[s:e, …]` for the given per-axis ranges.
fn index_text(x: &str, shape: &[usize], ranges: &[(usize, usize, usize)]) -> String {
    let parts: Vec<String> = (0..shape.len())
        .map(|a| match ranges.iter().rev().find(|r| r.0 == a) {
            Some(&(_, s, e)) if (s, e) != (0, shape[a]) => format!("{s}:{e}"),
            _ => ":".to_string(),
        })
        .collect();
    format!("{x}[{}]", parts.join(", "))
}

fn lower_slice(e: &mut Emitter<'_>, n: &Node) -> Result<Vec<Out>, String> {
    for k in 1..n.inputs.len() {
        if !n.inputs[k].is_empty() && !e.is_const(&n.inputs[k]) {
            return Err("expected constant starts, ends, axes and steps".into());
        }
    }
    let shape = e.value(&n.inputs[0])?.shape.clone();
    let ins: Vec<Option<&Tensor>> =
        n.inputs.iter().map(|i| if i.is_empty() { None } else { e.values.get(i) }).collect();
    let spec = slice_spec(n, &ins, &shape)?;
    let x = e.operand(&n.inputs[0])?;
    Ok(same(index_text(&x, &shape, &spec), &x))
}

fn lower_split(e: &mut Emitter<'_>, n: &Node) -> Result<Vec<Out>, String> {
    let shape = e.value(&n.inputs[0])?.shape.clone();
    let a = axis(n.int("axis", 0)?, shape.len())?;
    let ins: Vec<Option<&Tensor>> =
        n.inputs.iter().map(|i| if i.is_empty() { None } else { e.values.get(i) }).collect();
    let sizes = split_sizes(n, &ins, shape[a])?;
    let x = e.operand(&n.inputs[0])?;
    let mut at = 0;
    let mut outs = Vec::new();
    for s in sizes {
        outs.extend(same(index_text(&x, &shape, &[(a, at, at + s)]), &x));
        at += s;
    }
    Ok(outs)
}

fn lower_gather(e: &mut Emitter<'_>, n: &Node) -> Result<Vec<Out>, String> {
    let (data, idx) = (&n.inputs[0], &n.inputs[1]);
    let rank = e.value(data)?.rank();
    let a = axis(n.int("axis", 0)?, rank)?;
    if e.is_const(idx) {
        let t = e.value(idx)?;
        let Some(i) = t.as_scalar().filter(|_| t.rank() == 0) else {
            return Err(
                "Gather of a computed tensor at constant indices is supported for one scalar index only"
                    .into(),
            );
        };
        let d = e.value(data)?.shape[a] as f64;
        let i = if i < 0.0 { i + d } else { i } as usize;
        let x = e.operand(data)?;
        let parts: Vec<String> =
            (0..rank).map(|k| if k == a { i.to_string() } else { ":".into() }).collect();
        return Ok(same(format!("{x}[{}]", parts.join(", ")), &x));
    }
    if !e.is_const(data) {
        return Err("Gather of a computed tensor at computed indices is not provable".into());
    }
    let x = e.param(data)?;
    let i = e.operand(idx)?;
    e.imports.insert("gather");
    Ok(same(format!("gather({x}, {i}, axis = {a})"), &x))
}

/// Where a mask's fill is far below the data, this much below is as good as −∞ for softmax
/// (e^−32 is far below any 16-bit grid).
const FILL_LIMIT: f64 = 32.0;

/// `Where(c, a, b)` with a constant condition: `a · c + b · (1 − c)`. A scalar fill `b` (a causal
/// mask's −10000) is clamped to ±32, and the result typed to hold `a`'s range and that.
fn lower_where(e: &mut Emitter<'_>, n: &Node) -> Result<Vec<Out>, String> {
    let (c, a, b) = (&n.inputs[0], &n.inputs[1], &n.inputs[2]);
    if !e.is_const(c) {
        return Err("Where with a computed condition is not supported".into());
    }
    let out_shape = e.value(&n.outputs[0])?.shape.clone();
    let cond = e.value(c)?.clone();
    let mask = Tensor { kind: Kind::Int, ..cond.map(|v| f64::from(u8::from(v != 0.0))) };
    let a_max = e.value(a)?.max_abs();
    let av = e.operand(a)?;
    let m = e.param_tensor(&format!("{}_mask", n.name), mask.clone());
    let scalar_fill = if e.is_const(b) { e.value(b)?.as_scalar() } else { None };
    if let Some(fill) = scalar_fill {
        let fill = fill.clamp(-FILL_LIMIT, FILL_LIMIT);
        let ty = match e.opts.frac {
            Some(f) => Ty::Fix(f),
            None => Ty::for_range(a_max.max(fill.abs()), 1.0).min_frac(e.act_ty(e.value(a)?)),
        };
        let fills = mask.broadcast_to(&super::tensor::broadcast_shape(&mask.shape, &out_shape)?)?;
        let fills =
            Tensor { kind: Kind::Float, ..fills.map(|v| if v != 0.0 { 0.0 } else { fill }) };
        let fp = e.param_tensor(&format!("{}_fill", n.name), fills);
        return Ok(vec![Out { expr: format!("{av} * {m} + {fp}"), ty: TyChoice::Fixed(ty) }]);
    }
    let bv = e.operand(b)?;
    let inv = Tensor { kind: Kind::Int, ..mask.map(|v| 1.0 - v) };
    let mi = e.param_tensor(&format!("{}_not_mask", n.name), inv);
    Ok(calibrated(format!("{av} * {m} + {bv} * {mi}")))
}
