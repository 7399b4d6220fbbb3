//! The f64 reference of a model: the same IR program evaluated on real numbers, for `atlasc run
//! --reference` and the differential tests.
//!
//! Every value is a real (`f64`) instead of an integer on a fixed-point grid. Inputs, weights and
//! constants are the reals their stored integers stand for (`x / 2^frac`), so the comparison
//! measures the error the fixed-point *arithmetic* adds, not the quantisation of the data. Then:
//!
//! - `matmul`, `add`, `sub`, `mul`, `neg`, `reduce_sum`, `reduce_max` and the data moves are the
//!   same operations on reals;
//! - `rescale` and `cast` change only the grid, so they keep the real value, except that a
//!   saturating `rescale` still clamps to the target type's real range (saturation is part of the
//!   model: softmax's `x − max(x)` is clamped on purpose);
//! - `lookup` uses the table's real-valued function: a `lookup` declaration's formula, a stdlib
//!   sampled primitive's f64 reference (clamped to the output type's range, as the table
//!   saturates), `max(x, 0)` for `relu`; any other (exact integer) table is read at the operand
//!   rounded to its input type's grid.

use atlas_ir::{ElemType, Op, ParamData, ProgramInfo, ReduceKind, TableRef, TensorType, ValueDef};
use atlas_prover::F;
use atlas_stdlib::{table_by_id, tables::relu, BoxedTable};
use atlas_vm::TableId;

use crate::front::Formula;

/// Kind byte of program-local dense tables.
const DENSE_KIND: u8 = 7;

/// Why the reference could not be evaluated.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    #[error("the program takes {expected} inputs, {found} were given")]
    InputCount { expected: usize, found: usize },
    #[error("value {value}: {reason}")]
    Value { value: String, reason: String },
}

/// The real number each stored integer of type `elem` stands for.
pub fn to_real(x: i64, elem: ElemType) -> f64 {
    x as f64 / scale(elem)
}

/// `2^frac` of a fixed-point type (1 for integers).
fn scale(elem: ElemType) -> f64 {
    2f64.powi(i32::from(elem.frac().unwrap_or(0)))
}

/// The real range of `elem`.
fn real_range(elem: ElemType) -> (f64, f64) {
    let (lo, hi) = elem.range().unwrap_or((i64::MIN, i64::MAX));
    (to_real(lo, elem), to_real(hi, elem))
}

/// A table's real-valued function.
enum RealTable<'a> {
    Formula(&'a Formula),
    Relu,
    /// A table with an f64 reference, or an exact one read on the grid.
    Std(BoxedTable<F>),
}

/// Evaluates `info`'s program on reals. `inputs` are the stored integers of each input (as for
/// the VM); `formulas` are the model's dense-table formulas in program-local index order. Returns
/// each output's reals, row-major.
pub fn evaluate(
    info: &ProgramInfo<'_>,
    inputs: &[Vec<i64>],
    formulas: &[Formula],
) -> Result<Vec<Vec<f64>>, ReferenceError> {
    let p = info.program();
    let expected = p.inputs().count();
    if inputs.len() != expected {
        return Err(ReferenceError::InputCount { expected, found: inputs.len() });
    }
    let mut tables = Vec::with_capacity(p.tables.len());
    for t in &p.tables {
        tables.push(real_table(t, formulas).map_err(|reason| ReferenceError::Value {
            value: format!("table @{}", t.name),
            reason,
        })?);
    }
    let mut next_input = inputs.iter();
    let mut values: Vec<Vec<f64>> = Vec::with_capacity(p.values.len());
    for (i, v) in p.values.iter().enumerate() {
        let here = || v.name.clone().map(|n| format!("%{n}")).unwrap_or_else(|| format!("%{i}"));
        let elem = v.ty.elem;
        let reals = |d: &[i64]| d.iter().map(|&x| to_real(x, elem)).collect::<Vec<f64>>();
        let data = match &v.def {
            ValueDef::Input { .. } => {
                let d = next_input.next().map(Vec::as_slice).unwrap_or_default();
                if d.len() != v.ty.num_elements().unwrap_or(0) {
                    return Err(ReferenceError::Value {
                        value: here(),
                        reason: format!(
                            "expected {} input elements, found {}",
                            v.ty.num_elements().unwrap_or(0),
                            d.len()
                        ),
                    });
                }
                reals(d)
            }
            ValueDef::Param { data: ParamData::Inline(d) } | ValueDef::Const { data: d } => {
                reals(d)
            }
            ValueDef::Param { data: ParamData::External { key } } => {
                return Err(ReferenceError::Value {
                    value: here(),
                    reason: format!("the weight `{key}` is not bound"),
                })
            }
            ValueDef::Node(node) => {
                let args: Vec<(&[f64], &TensorType)> = node
                    .operands
                    .iter()
                    .map(|o| (values[o.index()].as_slice(), info.ty(*o)))
                    .collect();
                let table = match node.op {
                    Op::Lookup { table } => tables.get(table.index()),
                    _ => None,
                };
                node_reals(&node.op, table, &args, &v.ty)
                    .map_err(|reason| ReferenceError::Value { value: here(), reason })?
            }
        };
        values.push(data);
    }
    Ok(p.outputs.iter().map(|o| values[o.index()].clone()).collect())
}

fn real_table<'a>(t: &TableRef, formulas: &'a [Formula]) -> Result<RealTable<'a>, String> {
    let id = TableId(t.id);
    if id.kind() == DENSE_KIND {
        let [_, hi, lo, _] = t.id.to_be_bytes();
        let index = usize::from(u16::from_be_bytes([hi, lo]));
        return formulas.get(index).map(RealTable::Formula).ok_or_else(|| {
            format!("no formula for dense table {index} ({} given)", formulas.len())
        });
    }
    if id.kind() == relu::KIND {
        return Ok(RealTable::Relu);
    }
    table_by_id::<F>(id).map(RealTable::Std).map_err(|e| e.to_string())
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

/// A node's reals (the IR is validated, so shapes agree).
fn node_reals(
    op: &Op,
    table: Option<&RealTable<'_>>,
    args: &[(&[f64], &TensorType)],
    out: &TensorType,
) -> Result<Vec<f64>, String> {
    let n = out.num_elements().unwrap_or(0);
    let arg = |k: usize| args[k].0;
    let shape = |k: usize| &args[k].1.shape;
    let elementwise = |f: &dyn Fn(f64, f64) -> f64| -> Vec<f64> {
        arg(0).iter().zip(arg(1)).map(|(&a, &b)| f(a, b)).collect()
    };
    let gather_from = |k: usize, src: &dyn Fn(&[usize]) -> usize| -> Vec<f64> {
        (0..n).map(|i| arg(k)[src(&unravel(i, &out.shape))]).collect()
    };
    Ok(match op {
        Op::Add => elementwise(&|a, b| a + b),
        Op::Sub => elementwise(&|a, b| a - b),
        Op::Mul => elementwise(&|a, b| a * b),
        Op::Neg => arg(0).iter().map(|&a| -a).collect(),
        Op::MatMul => {
            let (a, b) = (shape(0), shape(1));
            let r = a.len();
            let (m, k, nn) = (a[r - 2], a[r - 1], b[b.len() - 1]);
            let batch: usize = a[..r - 2].iter().product();
            let shared = b.len() == 2;
            let mut res = vec![0.0; n];
            for bt in 0..batch {
                let ao = bt * m * k;
                let bo = if shared { 0 } else { bt * k * nn };
                for i in 0..m {
                    for j in 0..nn {
                        res[bt * m * nn + i * nn + j] =
                            (0..k).map(|t| arg(0)[ao + i * k + t] * arg(1)[bo + t * nn + j]).sum();
                    }
                }
            }
            res
        }
        Op::Reduce { kind, axes, keep_dims } => {
            let in_shape = shape(0);
            let out_strides = strides(&out.shape);
            let mut res: Vec<Option<f64>> = vec![None; n];
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
                    (Some(s), ReduceKind::Max) => s.max(x),
                });
            }
            res.into_iter().map(|s| s.unwrap_or(0.0)).collect()
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
                if !(at >= 0.0 && at < dim as f64) {
                    return Err(format!("gather index {at} outside [0, {dim})"));
                }
                let src: Vec<usize> = o[..*axis]
                    .iter()
                    .copied()
                    .chain([at as usize])
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
                    _ => 0.0,
                });
            }
            res
        }
        Op::Rescale { saturate, to, .. } => {
            let (lo, hi) = real_range(*to);
            arg(0).iter().map(|&x| if *saturate { x.clamp(lo, hi) } else { x }).collect()
        }
        Op::Cast { .. } => arg(0).to_vec(),
        Op::Lookup { .. } => {
            let t = table.ok_or("a lookup without its table")?;
            let ins: Vec<ElemType> = args.iter().map(|a| a.1.elem).collect();
            (0..n)
                .map(|i| {
                    let xs: Vec<f64> = args.iter().map(|a| a.0[i]).collect();
                    lookup_real(t, &xs, &ins, out.elem)
                })
                .collect::<Result<_, _>>()?
        }
    })
}

/// A table's real value at real operands `xs` of types `ins`, into `out`.
fn lookup_real(
    t: &RealTable<'_>,
    xs: &[f64],
    ins: &[ElemType],
    out: ElemType,
) -> Result<f64, String> {
    let (lo, hi) = real_range(out);
    let clamp = |y: f64| if y.is_nan() { 0.0 } else { y.clamp(lo, hi) };
    Ok(match t {
        RealTable::Formula(f) => clamp(f.eval(xs)),
        RealTable::Relu => xs[0].max(0.0),
        RealTable::Std(table) => match table.reference() {
            Some(r) => clamp((r.f)(xs)),
            None => {
                // An exact integer table: read it at the operands rounded onto their grids.
                let ops: Vec<i64> = xs
                    .iter()
                    .zip(ins)
                    .map(|(&x, &e)| {
                        let (a, b) = e.range().unwrap_or((i64::MIN, i64::MAX));
                        ((x * scale(e) + 0.5).floor() as i64).clamp(a, b)
                    })
                    .collect();
                let address = table.domain().encode(&ops).map_err(|e| e.to_string())?;
                to_real(table.eval(address), out)
            }
        },
    })
}
