//! A reference evaluator: the IR's numeric semantics (docs/ir.md) as plain code over row-major
//! `i64` tensors. It is an oracle, not an executor: the IR→VM lowering can be tested by running
//! both and comparing outputs. It needs a validated program (a [`ProgramInfo`]) and an [`Env`]
//! for what the IR does not hold: external weights and table semantics.
//!
//! Every node's result is checked against its declared type. For arithmetic that check cannot
//! fail in a valid program (widths are exact); [`EvalError::Overflow`] therefore means a bug in
//! the typing rules, which the property tests look for.

use crate::program::{Op, ParamData, ReduceKind, Rounding, TableRef, Value, ValueDef, ValueId};
use crate::types::{num_elements, ElemType, TensorType};
use crate::validate::{ProgramInfo, ValueRef};

/// What evaluation needs from outside the program.
pub trait Env {
    /// The data of an external weight, row-major.
    fn weight(&self, key: &str) -> Option<Vec<i64>>;
    /// The table's value at `operands` (one per table input), or `None` outside its domain.
    fn lookup(&self, table: &TableRef, operands: &[i64]) -> Option<i64>;
}

/// Why evaluation stopped.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    #[error("the program takes {expected} inputs, {found} were given")]
    InputCount { expected: usize, found: usize },
    #[error("input {value}: {found} elements given, its type {ty} has {expected}")]
    InputLength { value: ValueRef, ty: TensorType, expected: usize, found: usize },
    #[error("{value}: element {index} is {datum}, outside {elem}")]
    OutOfRange { value: ValueRef, index: usize, datum: i64, elem: ElemType },
    #[error("param {value}: no weight {key:?} in the environment")]
    MissingWeight { value: ValueRef, key: String },
    #[error("param {value}: weight has {found} elements, its type {ty} has {expected}")]
    WeightLength { value: ValueRef, ty: TensorType, expected: usize, found: usize },
    #[error(
        "node {node}: rescale without saturate produced {datum} at element {index}, which does \
         not fit {elem}"
    )]
    DoesNotFit { node: ValueRef, index: usize, datum: i128, elem: ElemType },
    #[error("node {node}: gather index {index} is outside [0, {dim})")]
    IndexOutOfRange { node: ValueRef, index: i64, dim: usize },
    #[error("node {node}: table @{table} has no entry at {operands:?}")]
    NotInTable { node: ValueRef, table: String, operands: Vec<i64> },
    #[error("node {node}: the table returned {datum} at element {index}, outside its {elem}")]
    TableOutput { node: ValueRef, index: usize, datum: i128, elem: ElemType },
    #[error("node {node}: result {datum} at element {index} overflows {elem} (a typing-rule bug)")]
    Overflow { node: ValueRef, index: usize, datum: i128, elem: ElemType },
}

/// Runs the program on `inputs` (one row-major tensor per program input, in order) and returns
/// the outputs.
pub fn eval(
    info: &ProgramInfo<'_>,
    inputs: &[Vec<i64>],
    env: &dyn Env,
) -> Result<Vec<Vec<i64>>, EvalError> {
    let p = info.program();
    let expected = p.inputs().count();
    if inputs.len() != expected {
        return Err(EvalError::InputCount { expected, found: inputs.len() });
    }
    let mut next_input = inputs.iter();
    let mut values: Vec<Vec<i64>> = Vec::with_capacity(p.values.len());
    for (i, v) in p.values.iter().enumerate() {
        let id = ValueId(i as u32);
        let here = || ValueRef { id, name: v.name.clone() };
        // Validation guarantees the count is representable.
        let data = match &v.def {
            ValueDef::Input { .. } => {
                let data = next_input.next().cloned().unwrap_or_default();
                check_supplied(data, v, here(), |value, ty, expected, found| {
                    EvalError::InputLength { value, ty, expected, found }
                })?
            }
            ValueDef::Param { data: ParamData::External { key } } => {
                let data = env
                    .weight(key)
                    .ok_or_else(|| EvalError::MissingWeight { value: here(), key: key.clone() })?;
                check_supplied(data, v, here(), |value, ty, expected, found| {
                    EvalError::WeightLength { value, ty, expected, found }
                })?
            }
            ValueDef::Param { data: ParamData::Inline(data) } | ValueDef::Const { data } => {
                data.clone()
            }
            ValueDef::Node(node) => {
                let args: Vec<(&[i64], &TensorType)> = node
                    .operands
                    .iter()
                    .map(|o| (values[o.index()].as_slice(), info.ty(*o)))
                    .collect();
                let table = match node.op {
                    Op::Lookup { table } => p.table(table),
                    _ => None,
                };
                let wide =
                    node_values(table, &node.op, &args, &v.ty, env).map_err(|e| e.at(here()))?;
                narrow(&node.op, wide, v.ty.elem).map_err(|e| e.at(here()))?
            }
        };
        values.push(data);
    }
    Ok(p.outputs.iter().map(|o| values[o.index()].clone()).collect())
}

/// An error before the node is known.
enum NodeError {
    Index { index: i64, dim: usize },
    NotInTable { table: String, operands: Vec<i64> },
    DoesNotFit { index: usize, datum: i128, elem: ElemType },
    TableOutput { index: usize, datum: i128, elem: ElemType },
    Overflow { index: usize, datum: i128, elem: ElemType },
}

impl NodeError {
    fn at(self, node: ValueRef) -> EvalError {
        match self {
            NodeError::Index { index, dim } => EvalError::IndexOutOfRange { node, index, dim },
            NodeError::NotInTable { table, operands } => {
                EvalError::NotInTable { node, table, operands }
            }
            NodeError::DoesNotFit { index, datum, elem } => {
                EvalError::DoesNotFit { node, index, datum, elem }
            }
            NodeError::TableOutput { index, datum, elem } => {
                EvalError::TableOutput { node, index, datum, elem }
            }
            NodeError::Overflow { index, datum, elem } => {
                EvalError::Overflow { node, index, datum, elem }
            }
        }
    }
}

/// Checks data supplied from outside (an input, an external weight): its length against `v`'s type
/// (`length` builds the error for the kind of data) and every entry against the element range.
fn check_supplied(
    data: Vec<i64>,
    v: &Value,
    here: ValueRef,
    length: impl FnOnce(ValueRef, TensorType, usize, usize) -> EvalError,
) -> Result<Vec<i64>, EvalError> {
    let n = v.ty.num_elements().unwrap_or(0);
    if data.len() != n {
        return Err(length(here, v.ty.clone(), n, data.len()));
    }
    in_range(&data, v.ty.elem).map_err(|(index, datum)| EvalError::OutOfRange {
        value: here,
        index,
        datum,
        elem: v.ty.elem,
    })?;
    Ok(data)
}

fn in_range(data: &[i64], elem: ElemType) -> Result<(), (usize, i64)> {
    let (min, max) = elem.range().unwrap_or((i64::MIN, i64::MAX));
    match data.iter().enumerate().find(|(_, &d)| d < min || d > max) {
        Some((i, &d)) => Err((i, d)),
        None => Ok(()),
    }
}

/// Row-major strides of `shape`.
fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// The multi-index of flat position `flat` in `shape`.
fn unravel(mut flat: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for i in (0..shape.len()).rev() {
        if shape[i] > 0 {
            idx[i] = flat % shape[i];
            flat /= shape[i];
        }
    }
    idx
}

fn ravel(idx: &[usize], strides: &[usize]) -> usize {
    idx.iter().zip(strides).map(|(i, s)| i * s).sum()
}

/// An element type the structural ops can compute in: exact integers (`i128`, the evaluator
/// here) or reals (`f64`, the compiler's float reference). `Default` is zero.
pub trait Scalar:
    Copy + Default + PartialOrd + std::ops::Add<Output = Self> + std::ops::Mul<Output = Self>
{
    /// The value as a gather index: a non-negative integer.
    fn as_index(self) -> Option<usize>;
}

impl Scalar for i128 {
    fn as_index(self) -> Option<usize> {
        usize::try_from(self).ok()
    }
}

impl Scalar for f64 {
    fn as_index(self) -> Option<usize> {
        (self >= 0.0 && self.fract() == 0.0 && self < usize::MAX as f64).then_some(self as usize)
    }
}

/// A gather index outside `[0, dim)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatherIndexError<T> {
    pub index: T,
    pub dim: usize,
}

/// Whether [`structural`] defines `op`.
pub fn is_structural(op: &Op) -> bool {
    matches!(
        op,
        Op::MatMul
            | Op::Reduce { .. }
            | Op::Broadcast { .. }
            | Op::Reshape { .. }
            | Op::Transpose { .. }
            | Op::Slice { .. }
            | Op::Concat { .. }
            | Op::Gather { .. }
            | Op::Im2Col { .. }
    )
}

/// The result of an op whose meaning does not depend on the element type — matmul, reduce and
/// the data-movement ops — over row-major operands `args` into `out`; `None` for every other op
/// (elementwise arithmetic, rescale, cast, lookup). The program must be validated (shapes agree).
/// One definition, shared by the exact evaluator and every other reference.
pub fn structural<T: Scalar>(
    op: &Op,
    args: &[(&[T], &TensorType)],
    out: &TensorType,
) -> Option<Result<Vec<T>, GatherIndexError<T>>> {
    let n = num_elements(&out.shape).unwrap_or(0);
    let arg = |k: usize| args[k].0;
    let shape = |k: usize| &args[k].1.shape;
    // For ops that only move elements: `src(i)` is the operand position of output `i`.
    let gather_from = |k: usize, src: &dyn Fn(&[usize]) -> usize| -> Vec<T> {
        (0..n).map(|i| arg(k)[src(&unravel(i, &out.shape))]).collect()
    };
    Some(Ok(match op {
        Op::MatMul => {
            let (a, b) = (shape(0), shape(1));
            let r = a.len();
            let (m, k, nn) = (a[r - 2], a[r - 1], b[b.len() - 1]);
            let batch = num_elements(&a[..r - 2]).unwrap_or(0);
            let shared = b.len() == 2;
            let mut res = vec![T::default(); n];
            for bt in 0..batch {
                let ao = bt * m * k;
                let bo = if shared { 0 } else { bt * k * nn };
                for i in 0..m {
                    for j in 0..nn {
                        res[bt * m * nn + i * nn + j] = (0..k).fold(T::default(), |acc, t| {
                            acc + arg(0)[ao + i * k + t] * arg(1)[bo + t * nn + j]
                        });
                    }
                }
            }
            res
        }
        Op::Reduce { kind, axes, keep_dims } => {
            let in_shape = shape(0);
            let out_strides = strides(&out.shape);
            let mut res: Vec<Option<T>> = vec![None; n];
            for (i, &x) in arg(0).iter().enumerate() {
                let idx = unravel(i, in_shape);
                let kept: Vec<usize> = idx
                    .iter()
                    .enumerate()
                    .filter_map(|(d, &c)| match (axes.contains(&d), keep_dims) {
                        (false, _) => Some(c),
                        (true, true) => Some(0),
                        (true, false) => None,
                    })
                    .collect();
                let slot = &mut res[ravel(&kept, &out_strides)];
                *slot = Some(match (*slot, kind) {
                    (None, _) => x,
                    (Some(s), ReduceKind::Sum) => s + x,
                    (Some(s), ReduceKind::Max) => {
                        if x > s {
                            x
                        } else {
                            s
                        }
                    }
                });
            }
            // An empty sum is 0 (typing refuses a max over an empty axis).
            res.into_iter().map(|s| s.unwrap_or_default()).collect()
        }
        Op::Broadcast { .. } => {
            let in_shape = shape(0);
            let st = strides(in_shape);
            let offset = out.shape.len() - in_shape.len();
            gather_from(0, &|idx| {
                in_shape
                    .iter()
                    .enumerate()
                    .map(|(d, &dim)| if dim == 1 { 0 } else { idx[offset + d] * st[d] })
                    .sum()
            })
        }
        Op::Reshape { .. } => arg(0).to_vec(),
        Op::Transpose { perm } => {
            let st = strides(shape(0));
            gather_from(0, &|idx| perm.iter().enumerate().map(|(i, &p)| idx[i] * st[p]).sum())
        }
        Op::Slice { axis, start, step, .. } => {
            let st = strides(shape(0));
            gather_from(0, &|idx| {
                let mut idx = idx.to_vec();
                idx[*axis] = start + idx[*axis] * step;
                ravel(&idx, &st)
            })
        }
        Op::Concat { axis } => {
            let mut res = Vec::with_capacity(n);
            for i in 0..n {
                let mut idx = unravel(i, &out.shape);
                let mut k = 0;
                while idx[*axis] >= shape(k)[*axis] {
                    idx[*axis] -= shape(k)[*axis];
                    k += 1;
                }
                res.push(arg(k)[ravel(&idx, &strides(shape(k)))]);
            }
            res
        }
        Op::Gather { axis } => {
            let (data_shape, idx_rank) = (shape(0), shape(1).len());
            let st = strides(data_shape);
            let idx_strides = strides(shape(1));
            let dim = data_shape[*axis];
            let mut res = Vec::with_capacity(n);
            for i in 0..n {
                let o = unravel(i, &out.shape);
                let at = arg(1)[ravel(&o[*axis..axis + idx_rank], &idx_strides)];
                let Some(j) = at.as_index().filter(|&j| j < dim) else {
                    return Some(Err(GatherIndexError { index: at, dim }));
                };
                let src: Vec<usize> = o[..*axis]
                    .iter()
                    .copied()
                    .chain([j])
                    .chain(o[axis + idx_rank..].iter().copied())
                    .collect();
                res.push(arg(0)[ravel(&src, &st)]);
            }
            res
        }
        Op::Im2Col { kernel, stride, pad } => {
            let x = shape(0);
            let (c, h, w) = (x[1], x[2], x[3]);
            let st = strides(x);
            let ow = (w + 2 * pad[1] - kernel[1]) / stride[1] + 1;
            let mut res = Vec::with_capacity(n);
            for i in 0..n {
                let o = unravel(i, &out.shape);
                let (batch, row, col) = (o[0], o[1], o[2]);
                let (oy, ox) = (row / ow, row % ow);
                let (ch, ki, kj) =
                    (col / (kernel[0] * kernel[1]), col / kernel[1] % kernel[0], col % kernel[1]);
                let y = (oy * stride[0] + ki).checked_sub(pad[0]).filter(|&y| y < h);
                let xx = (ox * stride[1] + kj).checked_sub(pad[1]).filter(|&xx| xx < w);
                res.push(match (y, xx) {
                    (Some(y), Some(xx)) if ch < c => arg(0)[ravel(&[batch, ch, y, xx], &st)],
                    _ => T::default(),
                });
            }
            res
        }
        _ => return None,
    }))
}

/// The un-rescaled value of an [`Affine`](Op::Affine), `x @ w` plus `bias · scale` on every row,
/// over the row-major operands `[x, w, bias]` of a validated node. One definition for the exact
/// evaluator (`scale = 2^Δ`, the bias's cast) and the compiler's float reference (`scale = 1`).
pub fn affine_sum<T: Scalar>(args: &[(&[T], &TensorType)], scale: T) -> Vec<T> {
    let acc = crate::infer(&Op::MatMul, &[args[0].1, args[1].1], &[])
        .expect("validated: an affine's matmul part types");
    let product = match structural(&Op::MatMul, &args[..2], &acc) {
        Some(Ok(p)) => p,
        _ => unreachable!("matmul is structural and reads no indices"),
    };
    let bias = args[2].0;
    let cols = bias.len().max(1);
    product.into_iter().enumerate().map(|(i, x)| x + bias[i % cols] * scale).collect()
}

/// The node's exact results (before the result type's range is applied), as `i128`.
fn node_values(
    table: Option<&TableRef>,
    op: &Op,
    args: &[(&[i64], &TensorType)],
    out: &TensorType,
    env: &dyn Env,
) -> Result<Vec<i128>, NodeError> {
    let n = num_elements(&out.shape).unwrap_or(0);
    let arg = |k: usize| args[k].0;
    let elementwise = |f: &dyn Fn(i128, i128) -> i128| -> Vec<i128> {
        arg(0).iter().zip(arg(1)).map(|(&a, &b)| f(a.into(), b.into())).collect()
    };
    let wide: Vec<Vec<i128>> = if is_structural(op) || matches!(op, Op::Affine { .. }) {
        args.iter().map(|a| a.0.iter().map(|&x| i128::from(x)).collect()).collect()
    } else {
        Vec::new()
    };
    let wide_args: Vec<(&[i128], &TensorType)> =
        wide.iter().zip(args).map(|(w, a)| (w.as_slice(), a.1)).collect();
    if is_structural(op) {
        if let Some(result) = structural(op, &wide_args, out) {
            return result.map_err(|e| NodeError::Index {
                index: i64::try_from(e.index).unwrap_or(i64::MIN),
                dim: e.dim,
            });
        }
    }
    let shr = |x: i128, shift: u8, rounding: Rounding| match rounding {
        Rounding::Floor => x >> shift,
        Rounding::Nearest if shift == 0 => x,
        Rounding::Nearest => (x + (1i128 << (shift - 1))) >> shift,
    };
    Ok(match op {
        Op::Add => elementwise(&|a, b| a + b),
        Op::Sub => elementwise(&|a, b| a - b),
        Op::Mul => elementwise(&|a, b| a * b),
        Op::Neg => arg(0).iter().map(|&a| -i128::from(a)).collect(),
        Op::Rescale { shift, rounding, .. } => {
            arg(0).iter().map(|&x| shr(i128::from(x), *shift, *rounding)).collect()
        }
        Op::Affine { shift, rounding, .. } => {
            let frac = |k: usize| u32::from(args[k].1.elem.frac().unwrap_or(0));
            // The bias is cast up to the product's fractional bits (validated: never down).
            let up = frac(0) + frac(1) - frac(2);
            let sum = affine_sum(&wide_args, 1i128 << up);
            sum.into_iter().map(|a| shr(a, *shift, *rounding)).collect()
        }
        Op::Cast { to } => {
            let up = to.frac().unwrap_or(0).saturating_sub(args[0].1.elem.frac().unwrap_or(0));
            arg(0).iter().map(|&x| i128::from(x) << up).collect()
        }
        Op::MatMul
        | Op::Reduce { .. }
        | Op::Broadcast { .. }
        | Op::Reshape { .. }
        | Op::Transpose { .. }
        | Op::Slice { .. }
        | Op::Concat { .. }
        | Op::Gather { .. }
        | Op::Im2Col { .. } => unreachable!("structural ops returned above (is_structural)"),
        Op::Lookup { .. } => {
            let Some(t) = table else { return Ok(vec![0; n]) };
            let mut res = Vec::with_capacity(n);
            for i in 0..n {
                let ops: Vec<i64> = args.iter().map(|a| a.0[i]).collect();
                let y = env.lookup(t, &ops).ok_or_else(|| NodeError::NotInTable {
                    table: t.name.clone(),
                    operands: ops,
                })?;
                res.push(i128::from(y));
            }
            res
        }
    })
}

/// Applies the result type: saturating rescales clamp, other rescales must fit, and everything
/// else fits by the typing rules (checked all the same).
fn narrow(op: &Op, wide: Vec<i128>, elem: ElemType) -> Result<Vec<i64>, NodeError> {
    let (min, max) = elem.range().unwrap_or((i64::MIN, i64::MAX));
    let (min, max) = (i128::from(min), i128::from(max));
    wide.into_iter()
        .enumerate()
        .map(|(index, x)| {
            let y = match op {
                Op::Rescale { saturate: true, .. } | Op::Affine { saturate: true, .. } => {
                    x.clamp(min, max)
                }
                Op::Rescale { saturate: false, .. } | Op::Affine { saturate: false, .. }
                    if x < min || x > max =>
                {
                    return Err(NodeError::DoesNotFit { index, datum: x, elem })
                }
                Op::Lookup { .. } if x < min || x > max => {
                    return Err(NodeError::TableOutput { index, datum: x, elem })
                }
                _ if x < min || x > max => {
                    return Err(NodeError::Overflow { index, datum: x, elem })
                }
                _ => x,
            };
            // In range of a ≤ 64-bit type, so the conversion cannot fail.
            i64::try_from(y).map_err(|_| NodeError::Overflow { index, datum: x, elem })
        })
        .collect()
}
