//! Typing rules: the one function, [`infer`], that computes an op's result type from its operand
//! types. `validate` checks every node against it and the builder uses it to type new nodes.
//!
//! Arithmetic is exact: the result width is the smallest two's-complement width that holds every
//! possible result given the operands' widths (computed on `i128` intervals), and an op that would
//! need more than [`MAX_BITS`] is refused. Narrowing is always explicit, by `Rescale`.

use std::fmt;

use crate::program::{Op, ReduceKind, TableHandle, TableRef};
use crate::types::{num_elements, Dims, ElemType, TensorType, TypeError, MAX_BITS};

/// How many of something an op expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Count {
    Exactly(usize),
    AtLeast(usize),
    AtMost(usize),
    /// `lo` or `hi` (a lookup takes one or two operands).
    OneOf(usize, usize),
}

impl fmt::Display for Count {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Count::Exactly(n) => write!(f, "{n}"),
            Count::AtLeast(n) => write!(f, "at least {n}"),
            Count::AtMost(n) => write!(f, "at most {n}"),
            Count::OneOf(a, b) => write!(f, "{a} or {b}"),
        }
    }
}

/// Why an op cannot be applied to its operands. `operand` is a position in the node's operand
/// list; `op` is the op's text name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InferError {
    #[error("{op} takes {expected} operands, found {found}")]
    Arity { op: &'static str, expected: Count, found: usize },
    #[error("{op}: operand {operand} has type {found}, which is refused: {error}")]
    BadOperandType { op: &'static str, operand: usize, found: ElemType, error: TypeError },
    #[error("{op}: operand {operand} has rank {found}, expected {expected}")]
    RankMismatch { op: &'static str, operand: usize, expected: Count, found: usize },
    #[error("{op}: operand {operand} has shape {}, expected {}", Dims(found), Dims(expected))]
    ShapeMismatch { op: &'static str, operand: usize, expected: Vec<usize>, found: Vec<usize> },
    #[error("{op}: operand {operand} has size {found} on axis {axis}, expected {expected}")]
    DimMismatch { op: &'static str, operand: usize, axis: usize, expected: usize, found: usize },
    #[error("{op}: operand {operand} has element type {found}, expected {expected}")]
    ElemMismatch { op: &'static str, operand: usize, expected: ElemType, found: ElemType },
    #[error(
        "{op}: operand {operand} has {found} fractional bits, expected {expected} (align the \
         scales with cast or rescale first)"
    )]
    FracMismatch { op: &'static str, operand: usize, expected: u8, found: u8 },
    #[error("{op}: operand {operand} must be an integer tensor, found {found}")]
    NotInteger { op: &'static str, operand: usize, found: ElemType },
    #[error("{op}: the exact result needs {bits} bits, more than the IR's {MAX_BITS}")]
    TooWide { op: &'static str, bits: u32 },
    #[error("{op}: result type {found} is refused: {error}")]
    BadResultType { op: &'static str, found: ElemType, error: TypeError },
    #[error(
        "broadcast: cannot broadcast shape {} to {} (axis {axis} of the target)",
        Dims(from),
        Dims(to)
    )]
    BadBroadcast { from: Vec<usize>, to: Vec<usize>, axis: usize },
    #[error(
        "reshape: shape {} has {expected} elements, target {} has {found}",
        Dims(from),
        Dims(to)
    )]
    ElementCount { from: Vec<usize>, to: Vec<usize>, expected: usize, found: usize },
    #[error("transpose: {} is not a permutation of the {rank} axes", Dims(perm))]
    BadPermutation { perm: Vec<usize>, rank: usize },
    #[error("{op}: axis {axis} is out of range for rank {rank}")]
    AxisOutOfRange { op: &'static str, axis: usize, rank: usize },
    #[error("reduce_max: axis {axis} has size 0, and a maximum of nothing is undefined")]
    EmptyMax { axis: usize },
    #[error("{op}: axes {} must be non-empty and strictly increasing", Dims(axes))]
    BadAxes { op: &'static str, axes: Vec<usize> },
    #[error(
        "slice: start={start} end={end} step={step} is not a range of axis {axis} (size {dim}); \
         need start ≤ end ≤ size and step ≥ 1"
    )]
    BadSlice { axis: usize, start: usize, end: usize, step: usize, dim: usize },
    #[error(
        "im2col: kernel {} stride {} pad {} does not fit input {} (kernel and stride ≥ 1, \
         kernel ≤ padded size)",
        Dims(kernel),
        Dims(stride),
        Dims(pad),
        Dims(input)
    )]
    BadWindow { kernel: [usize; 2], stride: [usize; 2], pad: [usize; 2], input: Vec<usize> },
    #[error(
        "rescale: {from} shifted right by {shift} has {expected} fractional bits, but the \
         result type {to} has {found}"
    )]
    RescaleFrac { from: ElemType, to: ElemType, shift: u8, expected: u8, found: u8 },
    #[error("rescale: shift {shift} is wider than the {MAX_BITS}-bit maximum")]
    BadShift { shift: u8 },
    #[error(
        "cast: {from} → {to} is not a value-preserving widening (fractional bits may only \
         grow, and the width must grow by at least as much)"
    )]
    BadCast { from: ElemType, to: ElemType },
    #[error("lookup: table handle {} is out of range ({len} tables)", table.0)]
    TableOutOfRange { table: TableHandle, len: usize },
    #[error("a shape has more elements than a usize can count")]
    TooManyElements,
}

/// The result type of `op` applied to operands of types `operands`, with `tables` the program's
/// table arena (for lookups).
pub fn infer(
    op: &Op,
    operands: &[&TensorType],
    tables: &[TableRef],
) -> Result<TensorType, InferError> {
    let name = op.name();
    // Floats and malformed widths stop every op here, so the rules below only see integers.
    for (i, t) in operands.iter().enumerate() {
        if let Err(error) = t.elem.check() {
            return Err(InferError::BadOperandType { op: name, operand: i, found: t.elem, error });
        }
        if t.num_elements().is_none() {
            return Err(InferError::TooManyElements);
        }
    }
    let ty = match op {
        Op::MatMul => matmul(operands)?,
        Op::Affine { shift, rounding, saturate, to } => {
            arity(name, operands, Count::Exactly(3))?;
            let acc = matmul(&operands[..2])?;
            let bias = operands[2];
            let n = acc.shape.last().copied().unwrap_or(0);
            if bias.shape != [n] {
                return Err(InferError::ShapeMismatch {
                    op: name,
                    operand: 2,
                    expected: vec![n],
                    found: bias.shape.clone(),
                });
            }
            let up = affine_bias_type(bias.elem, acc.elem)
                .ok_or(InferError::BadCast { from: bias.elem, to: acc.elem })?;
            // The parts' own rules, in order: what `fuse` replaced types the same way.
            let cast = infer(&Op::Cast { to: up }, &[bias], tables)?;
            let wide = infer(&Op::Broadcast { shape: acc.shape.clone() }, &[&cast], tables)?;
            let sum = infer(&Op::Add, &[&acc, &wide], tables)?;
            let rescale =
                Op::Rescale { shift: *shift, rounding: *rounding, saturate: *saturate, to: *to };
            infer(&rescale, &[&sum], tables)?
        }
        Op::Add | Op::Sub | Op::Mul => {
            arity(name, operands, Count::Exactly(2))?;
            let (a, b) = (operands[0], operands[1]);
            if a.shape != b.shape {
                return Err(InferError::ShapeMismatch {
                    op: name,
                    operand: 1,
                    expected: a.shape.clone(),
                    found: b.shape.clone(),
                });
            }
            let (ra, rb) = (range(a.elem), range(b.elem));
            let (elem_range, frac) = if matches!(op, Op::Mul) {
                (mul_range(ra, rb), frac(a.elem) + frac(b.elem))
            } else {
                if frac(a.elem) != frac(b.elem) {
                    return Err(InferError::FracMismatch {
                        op: name,
                        operand: 1,
                        expected: frac(a.elem),
                        found: frac(b.elem),
                    });
                }
                let r = if matches!(op, Op::Add) {
                    (ra.0 + rb.0, ra.1 + rb.1)
                } else {
                    (ra.0 - rb.1, ra.1 - rb.0)
                };
                (r, frac(a.elem))
            };
            TensorType::new(arith_elem(name, elem_range, frac, &[a.elem, b.elem])?, a.shape.clone())
        }
        Op::Neg => {
            arity(name, operands, Count::Exactly(1))?;
            let a = operands[0];
            let r = range(a.elem);
            TensorType::new(
                arith_elem(name, (-r.1, -r.0), frac(a.elem), &[a.elem])?,
                a.shape.clone(),
            )
        }
        Op::Reduce { kind, axes, keep_dims } => {
            arity(name, operands, Count::Exactly(1))?;
            let a = operands[0];
            if axes.is_empty() || axes.windows(2).any(|w| w[0] >= w[1]) {
                return Err(InferError::BadAxes { op: name, axes: axes.clone() });
            }
            if let Some(&axis) = axes.iter().find(|&&x| x >= a.rank()) {
                return Err(InferError::AxisOutOfRange { op: name, axis, rank: a.rank() });
            }
            if *kind == ReduceKind::Max {
                if let Some(&axis) = axes.iter().find(|&&x| a.shape[x] == 0) {
                    return Err(InferError::EmptyMax { axis });
                }
            }
            let mut shape = Vec::with_capacity(a.rank());
            let mut count: usize = 1;
            for (i, &d) in a.shape.iter().enumerate() {
                if axes.contains(&i) {
                    count = count.checked_mul(d).ok_or(InferError::TooManyElements)?;
                    if *keep_dims {
                        shape.push(1);
                    }
                } else {
                    shape.push(d);
                }
            }
            let elem = match kind {
                ReduceKind::Max => a.elem,
                ReduceKind::Sum => {
                    let r = range(a.elem);
                    let n = count as i128;
                    // count < 2^64 and |r| ≤ 2^63, so this fits in i128; checked all the same.
                    let (Some(lo), Some(hi)) = (r.0.checked_mul(n), r.1.checked_mul(n)) else {
                        let bits = bits_for(r.0, r.1) + (usize::BITS - count.leading_zeros());
                        return Err(InferError::TooWide { op: name, bits });
                    };
                    arith_elem(name, (lo, hi), frac(a.elem), &[a.elem])?
                }
            };
            TensorType::new(elem, shape)
        }
        Op::Broadcast { shape } => {
            arity(name, operands, Count::Exactly(1))?;
            let a = operands[0];
            if a.rank() > shape.len() {
                return Err(InferError::RankMismatch {
                    op: name,
                    operand: 0,
                    expected: Count::AtMost(shape.len()),
                    found: a.rank(),
                });
            }
            let offset = shape.len() - a.rank();
            for (i, &d) in a.shape.iter().enumerate() {
                if d != 1 && d != shape[offset + i] {
                    return Err(InferError::BadBroadcast {
                        from: a.shape.clone(),
                        to: shape.clone(),
                        axis: offset + i,
                    });
                }
            }
            checked_shape(shape)?;
            TensorType::new(a.elem, shape.clone())
        }
        Op::Reshape { shape } => {
            arity(name, operands, Count::Exactly(1))?;
            let a = operands[0];
            let expected = a.num_elements().ok_or(InferError::TooManyElements)?;
            let found = checked_shape(shape)?;
            if expected != found {
                return Err(InferError::ElementCount {
                    from: a.shape.clone(),
                    to: shape.clone(),
                    expected,
                    found,
                });
            }
            TensorType::new(a.elem, shape.clone())
        }
        Op::Transpose { perm } => {
            arity(name, operands, Count::Exactly(1))?;
            let a = operands[0];
            let mut seen = vec![false; a.rank()];
            let ok = perm.len() == a.rank()
                && perm.iter().all(|&p| p < a.rank() && !std::mem::replace(&mut seen[p], true));
            if !ok {
                return Err(InferError::BadPermutation { perm: perm.clone(), rank: a.rank() });
            }
            TensorType::new(a.elem, perm.iter().map(|&p| a.shape[p]).collect::<Vec<_>>())
        }
        Op::Slice { axis, start, end, step } => {
            arity(name, operands, Count::Exactly(1))?;
            let a = operands[0];
            let dim = *a.shape.get(*axis).ok_or(InferError::AxisOutOfRange {
                op: name,
                axis: *axis,
                rank: a.rank(),
            })?;
            if *step == 0 || start > end || *end > dim {
                return Err(InferError::BadSlice {
                    axis: *axis,
                    start: *start,
                    end: *end,
                    step: *step,
                    dim,
                });
            }
            let mut shape = a.shape.clone();
            shape[*axis] = (end - start).div_ceil(*step);
            TensorType::new(a.elem, shape)
        }
        Op::Concat { axis } => {
            arity(name, operands, Count::AtLeast(1))?;
            let a = operands[0];
            if *axis >= a.rank() {
                return Err(InferError::AxisOutOfRange { op: name, axis: *axis, rank: a.rank() });
            }
            let mut total = 0usize;
            for (i, t) in operands.iter().enumerate() {
                if t.elem != a.elem {
                    return Err(InferError::ElemMismatch {
                        op: name,
                        operand: i,
                        expected: a.elem,
                        found: t.elem,
                    });
                }
                if t.rank() != a.rank() {
                    return Err(InferError::RankMismatch {
                        op: name,
                        operand: i,
                        expected: Count::Exactly(a.rank()),
                        found: t.rank(),
                    });
                }
                for (d, (&x, &y)) in a.shape.iter().zip(&t.shape).enumerate() {
                    if d != *axis && x != y {
                        return Err(InferError::DimMismatch {
                            op: name,
                            operand: i,
                            axis: d,
                            expected: x,
                            found: y,
                        });
                    }
                }
                total = total.checked_add(t.shape[*axis]).ok_or(InferError::TooManyElements)?;
            }
            let mut shape = a.shape.clone();
            shape[*axis] = total;
            checked_shape(&shape)?;
            TensorType::new(a.elem, shape)
        }
        Op::Gather { axis } => {
            arity(name, operands, Count::Exactly(2))?;
            let (data, idx) = (operands[0], operands[1]);
            if *axis >= data.rank() {
                return Err(InferError::AxisOutOfRange {
                    op: name,
                    axis: *axis,
                    rank: data.rank(),
                });
            }
            if !matches!(idx.elem, ElemType::Int { .. }) {
                return Err(InferError::NotInteger { op: name, operand: 1, found: idx.elem });
            }
            let shape: Vec<usize> = data.shape[..*axis]
                .iter()
                .chain(&idx.shape)
                .chain(&data.shape[axis + 1..])
                .copied()
                .collect();
            checked_shape(&shape)?;
            TensorType::new(data.elem, shape)
        }
        Op::Im2Col { kernel, stride, pad } => {
            arity(name, operands, Count::Exactly(1))?;
            let a = operands[0];
            if a.rank() != 4 {
                return Err(InferError::RankMismatch {
                    op: name,
                    operand: 0,
                    expected: Count::Exactly(4),
                    found: a.rank(),
                });
            }
            let bad = || InferError::BadWindow {
                kernel: *kernel,
                stride: *stride,
                pad: *pad,
                input: a.shape.clone(),
            };
            let mut out = [0usize; 2];
            for i in 0..2 {
                let padded = pad[i]
                    .checked_mul(2)
                    .and_then(|p| p.checked_add(a.shape[2 + i]))
                    .ok_or_else(bad)?;
                if kernel[i] == 0 || stride[i] == 0 || kernel[i] > padded {
                    return Err(bad());
                }
                out[i] = (padded - kernel[i]) / stride[i] + 1;
            }
            let rows = out[0].checked_mul(out[1]).ok_or(InferError::TooManyElements)?;
            let cols = num_elements(&[a.shape[1], kernel[0], kernel[1]])
                .ok_or(InferError::TooManyElements)?;
            let shape = vec![a.shape[0], rows, cols];
            checked_shape(&shape)?;
            TensorType::new(a.elem, shape)
        }
        Op::Rescale { shift, to, .. } => {
            arity(name, operands, Count::Exactly(1))?;
            let a = operands[0];
            check_result(name, *to)?;
            if *shift >= MAX_BITS {
                return Err(InferError::BadShift { shift: *shift });
            }
            // Integers carry no scale, so only fix → fix pins the fractional bits.
            if let (ElemType::Fix { frac: ff, .. }, ElemType::Fix { frac: tf, .. }) = (a.elem, *to)
            {
                if ff.checked_sub(*shift) != Some(tf) {
                    return Err(InferError::RescaleFrac {
                        from: a.elem,
                        to: *to,
                        shift: *shift,
                        expected: ff.saturating_sub(*shift),
                        found: tf,
                    });
                }
            }
            TensorType::new(*to, a.shape.clone())
        }
        Op::Cast { to } => {
            arity(name, operands, Count::Exactly(1))?;
            let a = operands[0];
            check_result(name, *to)?;
            let (fb, ff) = (bits(a.elem), frac(a.elem));
            let (tb, tf) = (bits(*to), frac(*to));
            if tf < ff || tb - fb < i32::from(tf - ff) {
                return Err(InferError::BadCast { from: a.elem, to: *to });
            }
            TensorType::new(*to, a.shape.clone())
        }
        Op::Lookup { table } => {
            let t = tables
                .get(table.index())
                .ok_or(InferError::TableOutOfRange { table: *table, len: tables.len() })?;
            arity(name, operands, Count::Exactly(t.inputs.len()))?;
            // A table declared with no inputs (which validate reports at the table) has no
            // operand to take the shape from.
            let Some(first) = operands.first() else {
                return Err(InferError::Arity { op: name, expected: Count::OneOf(1, 2), found: 0 });
            };
            check_result(name, t.output)?;
            for (i, (o, &want)) in operands.iter().zip(&t.inputs).enumerate() {
                if o.elem != want {
                    return Err(InferError::ElemMismatch {
                        op: name,
                        operand: i,
                        expected: want,
                        found: o.elem,
                    });
                }
                if o.shape != first.shape {
                    return Err(InferError::ShapeMismatch {
                        op: name,
                        operand: i,
                        expected: first.shape.clone(),
                        found: o.shape.clone(),
                    });
                }
            }
            TensorType::new(t.output, first.shape.clone())
        }
    };
    Ok(ty)
}

fn arity(op: &'static str, operands: &[&TensorType], expected: Count) -> Result<(), InferError> {
    let n = operands.len();
    let ok = match expected {
        Count::Exactly(e) => n == e,
        Count::AtLeast(e) => n >= e,
        Count::AtMost(e) => n <= e,
        Count::OneOf(a, b) => n == a || n == b,
    };
    if ok {
        Ok(())
    } else {
        Err(InferError::Arity { op, expected, found: n })
    }
}

fn matmul(operands: &[&TensorType]) -> Result<TensorType, InferError> {
    let op = "matmul";
    arity(op, operands, Count::Exactly(2))?;
    let (a, b) = (operands[0], operands[1]);
    for (i, t) in [a, b].iter().enumerate() {
        if t.rank() < 2 {
            return Err(InferError::RankMismatch {
                op,
                operand: i,
                expected: Count::AtLeast(2),
                found: t.rank(),
            });
        }
    }
    let r = a.rank();
    if b.rank() != 2 && b.rank() != r {
        return Err(InferError::RankMismatch {
            op,
            operand: 1,
            expected: Count::OneOf(2, r),
            found: b.rank(),
        });
    }
    if b.rank() == r {
        for axis in 0..r - 2 {
            if a.shape[axis] != b.shape[axis] {
                return Err(InferError::DimMismatch {
                    op,
                    operand: 1,
                    axis,
                    expected: a.shape[axis],
                    found: b.shape[axis],
                });
            }
        }
    }
    let k = a.shape[r - 1];
    let kb = b.rank() - 2;
    if b.shape[kb] != k {
        return Err(InferError::DimMismatch {
            op,
            operand: 1,
            axis: kb,
            expected: k,
            found: b.shape[kb],
        });
    }
    let p = mul_range(range(a.elem), range(b.elem));
    // An empty contraction (k = 0) sums nothing: the result is 0, which every width holds.
    let n = k as i128;
    let acc = (p.0.checked_mul(n), p.1.checked_mul(n));
    let (Some(lo), Some(hi)) = acc else {
        // Beyond i128: report the products' width plus the bits of k, a bound within one bit.
        let bits = bits_for(p.0, p.1) + (usize::BITS - k.leading_zeros());
        return Err(InferError::TooWide { op, bits });
    };
    let elem = arith_elem(op, (lo, hi), frac(a.elem) + frac(b.elem), &[a.elem, b.elem])?;
    let mut shape = a.shape[..r - 1].to_vec();
    shape.push(b.shape[b.rank() - 1]);
    checked_shape(&shape)?;
    Ok(TensorType::new(elem, shape))
}

fn check_result(op: &'static str, to: ElemType) -> Result<(), InferError> {
    to.check().map_err(|error| InferError::BadResultType { op, found: to, error })
}

fn checked_shape(shape: &[usize]) -> Result<usize, InferError> {
    num_elements(shape).ok_or(InferError::TooManyElements)
}

/// Width of a checked (non-float) type.
fn bits(e: ElemType) -> i32 {
    e.bits().map_or(0, i32::from)
}

/// Fractional bits of a checked (non-float) type.
fn frac(e: ElemType) -> u8 {
    e.frac().unwrap_or(0)
}

/// The range of a checked type, as `i128` so that sums and products of two never overflow.
fn range(e: ElemType) -> (i128, i128) {
    let b = bits(e).clamp(1, i32::from(MAX_BITS));
    let half = 1i128 << (b - 1);
    (-half, half - 1)
}

fn mul_range(a: (i128, i128), b: (i128, i128)) -> (i128, i128) {
    // Both ranges are within ±2^63, so every corner product fits in i128.
    let c = [a.0 * b.0, a.0 * b.1, a.1 * b.0, a.1 * b.1];
    (c.iter().copied().min().unwrap_or(0), c.iter().copied().max().unwrap_or(0))
}

/// The type an [`Affine`](Op::Affine) bias of element type `bias` is cast to before it is added to
/// a product of element type `acc`: the same integer bits, the product's fractional bits. `None`
/// when the bias has more fractional bits than the product.
pub fn affine_bias_type(bias: ElemType, acc: ElemType) -> Option<ElemType> {
    let (bf, af) = (bias.frac()?, acc.frac()?);
    let up = af.checked_sub(bf)?;
    match (bias, acc) {
        (ElemType::Int { .. }, ElemType::Int { .. }) => Some(bias),
        _ => Some(ElemType::Fix { bits: bias.bits()?.checked_add(up)?, frac: af }),
    }
}

/// The smallest two's-complement width holding `[lo, hi]`.
pub fn bits_for(lo: i128, hi: i128) -> u32 {
    for n in 1..128u32 {
        let half = 1i128 << (n - 1);
        if lo >= -half && hi < half {
            return n;
        }
    }
    // Every i128 fits in 128 bits.
    128
}

/// The exact result type of an arithmetic op: an integer when every operand is one, else fixed
/// point with `frac` fractional bits.
fn arith_elem(
    op: &'static str,
    r: (i128, i128),
    frac: u8,
    operands: &[ElemType],
) -> Result<ElemType, InferError> {
    // The width always covers the fractional bits, so `frac ≤ bits` survives every op.
    let bits = bits_for(r.0, r.1).max(u32::from(frac));
    if bits > u32::from(MAX_BITS) {
        return Err(InferError::TooWide { op, bits });
    }
    let bits = bits as u8;
    Ok(if operands.iter().all(|e| matches!(e, ElemType::Int { .. })) {
        ElemType::Int { bits }
    } else {
        ElemType::Fix { bits, frac }
    })
}
