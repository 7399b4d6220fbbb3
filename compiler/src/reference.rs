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

use atlas_ir::{ElemType, Op, ParamData, ProgramInfo, TableRef, TensorType, ValueDef};
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

/// A node's reals (the IR is validated, so shapes agree).
fn node_reals(
    op: &Op,
    table: Option<&RealTable<'_>>,
    args: &[(&[f64], &TensorType)],
    out: &TensorType,
) -> Result<Vec<f64>, String> {
    let n = out.num_elements().unwrap_or(0);
    let arg = |k: usize| args[k].0;
    let elementwise = |f: &dyn Fn(f64, f64) -> f64| -> Vec<f64> {
        arg(0).iter().zip(arg(1)).map(|(&a, &b)| f(a, b)).collect()
    };
    if let Some(result) = atlas_ir::structural(op, args, out) {
        return result.map_err(|e| format!("gather index {} outside [0, {})", e.index, e.dim));
    }
    Ok(match op {
        Op::Add => elementwise(&|a, b| a + b),
        Op::Sub => elementwise(&|a, b| a - b),
        Op::Mul => elementwise(&|a, b| a * b),
        Op::Neg => arg(0).iter().map(|&a| -a).collect(),
        Op::MatMul
        | Op::Reduce { .. }
        | Op::Broadcast { .. }
        | Op::Reshape { .. }
        | Op::Transpose { .. }
        | Op::Slice { .. }
        | Op::Concat { .. }
        | Op::Gather { .. }
        | Op::Im2Col { .. } => unreachable!("structural ops returned above"),
        Op::Rescale { saturate, to, .. } => {
            let (lo, hi) = real_range(*to);
            arg(0).iter().map(|&x| if *saturate { x.clamp(lo, hi) } else { x }).collect()
        }
        Op::Cast { .. } => arg(0).to_vec(),
        Op::Affine { saturate, to, .. } => {
            // Reals: the bias's cast changes no value.
            let (lo, hi) = real_range(*to);
            let sum = atlas_ir::affine_sum(args, 1.0);
            sum.into_iter().map(|x| if *saturate { x.clamp(lo, hi) } else { x }).collect()
        }
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
