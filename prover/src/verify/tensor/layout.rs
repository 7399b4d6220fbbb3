//! How a tensor register becomes a multilinear polynomial, and the index maps of the
//! data-movement instructions.
//!
//! **Layout.** Each dimension of size `d` is padded with zeros to `2^⌈log2 d⌉` (a size-1 dimension
//! contributes no variable), the padded tensor is read row-major, and its variables are MSB-first:
//! dimension 0's variables come first. So a matmul's row and column variables are separate blocks,
//! a transpose permutes blocks, and the padding is zero everywhere — every claim in the tensor proof
//! is about this zero-padded polynomial.

use ark_ff::{One, Zero};

use atlas_vm::{Op, Program, Reg};

use crate::field::{SmallMulAcc, F};
use crate::poly::eq_evals_serial;

/// The padded layout of one register's shape.
///
/// Invariant: every dimension is at least 1 (empty tensors are refused by [`Layout::new`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    pub dims: Vec<usize>,
    /// `⌈log2 d⌉` per dimension.
    pub vars: Vec<usize>,
}

/// Elements contracted per small-integer row in [`Layout::evaluate`]: enough that the row's one
/// field reduction is amortised.
const TAIL: usize = 32;

/// `⌈log2 d⌉` for `d ≥ 1`.
pub fn ceil_log2(d: usize) -> usize {
    d.next_power_of_two().trailing_zeros() as usize
}

impl Layout {
    /// `None` for a shape with a zero dimension or too many variables to address.
    pub fn new(shape: &[usize]) -> Option<Layout> {
        if shape.contains(&0) {
            return None;
        }
        let vars: Vec<usize> = shape.iter().map(|&d| ceil_log2(d)).collect();
        if vars.iter().sum::<usize>() > 40 {
            return None;
        }
        Some(Layout { dims: shape.to_vec(), vars })
    }

    pub fn num_vars(&self) -> usize {
        self.vars.iter().sum()
    }

    pub fn padded_len(&self) -> usize {
        1 << self.num_vars()
    }

    pub fn numel(&self) -> usize {
        self.dims.iter().product()
    }

    /// The first variable of dimension `d`.
    pub fn offset(&self, d: usize) -> usize {
        self.vars[..d].iter().sum()
    }

    /// The coordinates of dimension `d` within a point of this layout.
    pub fn block<'a>(&self, point: &'a [F], d: usize) -> &'a [F] {
        let o = self.offset(d);
        &point[o..o + self.vars[d]]
    }

    /// The padded index of a multi-index.
    pub fn padded_index(&self, coords: &[usize]) -> usize {
        coords.iter().zip(&self.vars).fold(0, |acc, (c, v)| (acc << v) | c)
    }

    /// The padded index of each row-major element, in order.
    pub fn padded_indices(&self) -> Vec<usize> {
        let mut out = Vec::with_capacity(self.numel());
        let mut coords = vec![0usize; self.dims.len()];
        for _ in 0..self.numel() {
            out.push(self.padded_index(&coords));
            for d in (0..coords.len()).rev() {
                coords[d] += 1;
                if coords[d] < self.dims[d] {
                    break;
                }
                coords[d] = 0;
            }
        }
        out
    }

    /// The zero-padded table of row-major `values` (which has [`Layout::numel`] entries).
    pub fn pad<T: Copy + Default>(&self, values: &[T]) -> Vec<T> {
        let mut out = vec![T::default(); self.padded_len()];
        for (v, i) in values.iter().zip(self.padded_indices()) {
            out[i] = *v;
        }
        out
    }

    /// The MLE of row-major `values` (which has [`Layout::numel`] entries) at `point`, without
    /// the padded table: `eq(point, x)` factors over dimensions, so the trailing dimensions (at
    /// least [`TAIL`] elements together) are contracted first with small-integer accumulation, one
    /// field reduction per row, and the leading ones then in the field. The verifier evaluates
    /// public weights, inputs and outputs this way; a 2^17-entry weight costs its `numel`
    /// integer products instead of `2·2^17` field multiplications.
    pub fn evaluate(&self, values: &[i64], point: &[F]) -> F {
        debug_assert_eq!(values.len(), self.numel());
        let rank = self.dims.len();
        // Tail group: the fewest trailing dimensions holding at least TAIL elements, or all.
        let mut split = rank;
        let mut tail = 1usize;
        while split > 0 && tail < TAIL {
            split -= 1;
            tail *= self.dims[split];
        }
        // eq over the tail's real coordinates, row-major.
        let mut weights = vec![F::one()];
        for d in split..rank {
            let eq = eq_evals_serial(self.block(point, d));
            weights = weights
                .iter()
                .flat_map(|w| eq[..self.dims[d]].iter().map(move |e| *w * e))
                .collect();
        }
        let mut rows: Vec<F> = values
            .chunks(tail)
            .map(|row| {
                let mut acc = SmallMulAcc::new();
                for (w, v) in weights.iter().zip(row) {
                    acc.add_mul(w, *v as i128);
                }
                acc.reduce()
            })
            .collect();
        for d in (0..split).rev() {
            let eq = eq_evals_serial(self.block(point, d));
            rows = rows
                .chunks(self.dims[d])
                .map(|c| c.iter().zip(&eq).map(|(a, b)| *a * b).sum())
                .collect();
        }
        rows.first().copied().unwrap_or_else(F::zero)
    }

    /// `Σ_{x valid} eq(point, x)`: the MLE of the indicator of the unpadded entries.
    pub fn valid(&self, point: &[F]) -> F {
        (0..self.dims.len()).map(|d| eq_prefix_sum(self.block(point, d), self.dims[d])).product()
    }

    /// Like [`Layout::valid`] over every dimension but the last: the MLE of "this row is real",
    /// what a bias added to every row of a matmul's result is weighted by.
    pub fn valid_rows(&self, point: &[F]) -> F {
        let rows = self.dims.len().saturating_sub(1);
        (0..rows).map(|d| eq_prefix_sum(self.block(point, d), self.dims[d])).product()
    }
}

/// `Σ_{i < n} eq(r, i)` over `r.len()` variables (MSB-first), in `O(r.len())`.
pub fn eq_prefix_sum(r: &[F], n: usize) -> F {
    let v = r.len();
    if n >= 1 << v {
        return F::one();
    }
    let mut acc = F::zero();
    let mut prefix = F::one();
    for (j, rj) in r.iter().enumerate() {
        let bit = (n >> (v - 1 - j)) & 1;
        if bit == 1 {
            // Every index agreeing with n above bit j and 0 at bit j is below n.
            acc += prefix * (F::one() - rj);
            prefix *= rj;
        } else {
            prefix *= F::one() - rj;
        }
    }
    acc
}

/// Where each element of a data-movement instruction's result comes from: `(dst padded index,
/// operand, source padded index)` for every destination element that copies a source element;
/// elements that are zero (im2col padding) are absent.
pub type Wiring = Vec<(usize, usize, usize)>;

/// Where one destination element comes from: `(operand, source padded index)`, or nothing.
type Source = Result<Option<(usize, usize)>, String>;

/// The index map of a data-movement instruction (`broadcast`, `reshape`, `transpose`, `slice`,
/// `concat`, `gather`, `im2col`); `indices` are the values of a gather's index register, which the
/// verifier must know. `Err` names what does not fit (a malformed program).
pub fn wiring(
    program: &Program,
    op: &Op,
    dst: Reg,
    indices: Option<&[i64]>,
) -> Result<Wiring, String> {
    let shape = |r: Reg| -> Result<Vec<usize>, String> {
        program.reg(r).map(|i| i.shape.clone()).ok_or_else(|| format!("no register {r}"))
    };
    let layout = |s: &[usize]| Layout::new(s).ok_or_else(|| format!("shape {s:?} is not provable"));
    let out_shape = shape(dst)?;
    let out = layout(&out_shape)?;
    let strides = |s: &[usize]| -> Vec<usize> {
        let mut st = vec![1usize; s.len()];
        for d in (0..s.len().saturating_sub(1)).rev() {
            st[d] = st[d + 1] * s[d + 1];
        }
        st
    };
    // Walks the destination's elements in row-major order with their coordinates.
    let mut wires = Vec::with_capacity(out.numel());
    let mut coords = vec![0usize; out_shape.len()];
    let mut each = |f: &mut dyn FnMut(&[usize]) -> Source| {
        for _ in 0..out.numel() {
            if let Some((operand, src)) = f(&coords)? {
                wires.push((out.padded_index(&coords), operand, src));
            }
            for d in (0..coords.len()).rev() {
                coords[d] += 1;
                if coords[d] < out_shape[d] {
                    break;
                }
                coords[d] = 0;
            }
        }
        Ok::<(), String>(())
    };
    match op {
        Op::Broadcast { src } => {
            let s = shape(*src)?;
            let l = layout(&s)?;
            let lead = out_shape.len().checked_sub(s.len()).ok_or("broadcast to a lower rank")?;
            each(&mut |c| {
                let sc: Vec<usize> = s
                    .iter()
                    .enumerate()
                    .map(|(j, &d)| if d == 1 { 0 } else { c[lead + j] })
                    .collect();
                Ok(Some((0, l.padded_index(&sc))))
            })?;
        }
        Op::Reshape { src } => {
            let s = shape(*src)?;
            let l = layout(&s)?;
            let (st_out, st_src) = (strides(&out_shape), strides(&s));
            each(&mut |c| {
                let mut flat: usize = c.iter().zip(&st_out).map(|(a, b)| a * b).sum();
                let sc: Vec<usize> = st_src
                    .iter()
                    .map(|st| {
                        let x = flat / st;
                        flat %= st;
                        x
                    })
                    .collect();
                Ok(Some((0, l.padded_index(&sc))))
            })?;
        }
        Op::Transpose { src, perm } => {
            let s = shape(*src)?;
            let l = layout(&s)?;
            each(&mut |c| {
                let mut sc = vec![0usize; s.len()];
                for (i, &p) in perm.iter().enumerate() {
                    *sc.get_mut(p).ok_or("transpose axis out of range")? = c[i];
                }
                Ok(Some((0, l.padded_index(&sc))))
            })?;
        }
        Op::Slice { src, axis, start, step, .. } => {
            let l = layout(&shape(*src)?)?;
            each(&mut |c| {
                let mut sc = c.to_vec();
                sc[*axis] = start + c[*axis] * step;
                Ok(Some((0, l.padded_index(&sc))))
            })?;
        }
        Op::Concat { srcs, axis } => {
            let layouts: Vec<(usize, Layout)> = srcs
                .iter()
                .map(|r| {
                    let s = shape(*r)?;
                    let d = *s.get(*axis).ok_or("concat axis out of range")?;
                    Ok((d, layout(&s)?))
                })
                .collect::<Result<_, String>>()?;
            each(&mut |c| {
                let mut at = c[*axis];
                for (k, (d, l)) in layouts.iter().enumerate() {
                    if at < *d {
                        let mut sc = c.to_vec();
                        sc[*axis] = at;
                        return Ok(Some((k, l.padded_index(&sc))));
                    }
                    at -= d;
                }
                Err("concat coordinate past the sources".into())
            })?;
        }
        Op::Gather { data, indices: idx_reg, axis } => {
            let s = shape(*data)?;
            let l = layout(&s)?;
            let ishape = shape(*idx_reg)?;
            let indices = indices.ok_or("gather indices are not known to the verifier")?;
            let ist = strides(&ishape);
            let dim = *s.get(*axis).ok_or("gather axis out of range")?;
            each(&mut |c| {
                let flat: usize =
                    c[*axis..*axis + ishape.len()].iter().zip(&ist).map(|(a, b)| a * b).sum();
                let v = *indices.get(flat).ok_or("gather index out of range")?;
                let v = usize::try_from(v)
                    .ok()
                    .filter(|&v| v < dim)
                    .ok_or_else(|| format!("gather index {v} outside [0, {dim})"))?;
                let mut sc = c[..*axis].to_vec();
                sc.push(v);
                sc.extend_from_slice(&c[*axis + ishape.len()..]);
                Ok(Some((0, l.padded_index(&sc))))
            })?;
        }
        Op::Im2Col { src, kernel, stride, pad } => {
            let s = shape(*src)?;
            let l = layout(&s)?;
            let &[_, _, h, w] = s.as_slice() else {
                return Err("im2col of a non-4-D tensor".into());
            };
            let ow = (w + 2 * pad[1])
                .checked_sub(kernel[1])
                .map(|x| x / stride[1].max(1) + 1)
                .ok_or("im2col kernel wider than the padded input")?;
            each(&mut |c| {
                let (batch, row, col) = (c[0], c[1], c[2]);
                let (oy, ox) = (row / ow, row % ow);
                let kk = kernel[0] * kernel[1];
                let (ch, ki, kj) = (col / kk, col / kernel[1] % kernel[0], col % kernel[1]);
                let y = (oy * stride[0] + ki).checked_sub(pad[0]).filter(|&y| y < h);
                let x = (ox * stride[1] + kj).checked_sub(pad[1]).filter(|&x| x < w);
                Ok(y.zip(x).map(|(y, x)| (0, l.padded_index(&[batch, ch, y, x]))))
            })?;
        }
        other => return Err(format!("{} is not a data-movement instruction", other.name())),
    }
    Ok(wires)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::poly::{eq_evals_serial, evaluate_serial};
    use ark_std::UniformRand;

    #[test]
    fn prefix_sums_match_the_eq_table() {
        let mut rng = ark_std::test_rng();
        for v in 0..5 {
            let r: Vec<F> = (0..v).map(|_| F::rand(&mut rng)).collect();
            let eq = eq_evals_serial(&r);
            for n in 0..=(1usize << v) {
                assert_eq!(eq_prefix_sum(&r, n), eq[..n].iter().sum::<F>(), "v={v} n={n}");
            }
        }
    }

    #[test]
    fn factored_evaluation_equals_the_padded_table() {
        let mut rng = ark_std::test_rng();
        let shapes: [&[usize]; 9] =
            [&[], &[1], &[5], &[40], &[3, 1, 5], &[7, 33], &[2, 3, 5, 5], &[16, 6, 5, 5], &[33, 2]];
        for shape in shapes {
            let l = Layout::new(shape).unwrap();
            // Extremes included: the accumulator must handle full-width i64 values of both signs.
            let values: Vec<i64> = (0..l.numel())
                .map(|i| match i % 5 {
                    0 => i64::MIN,
                    1 => i64::MAX,
                    _ => i as i64 * 7919 - 4000,
                })
                .collect();
            let point: Vec<F> = (0..l.num_vars()).map(|_| F::rand(&mut rng)).collect();
            let padded: Vec<F> =
                l.pad(&values).iter().map(|v| crate::field::from_i64(*v)).collect();
            assert_eq!(
                Some(l.evaluate(&values, &point)),
                evaluate_serial(padded, &point),
                "{shape:?}"
            );
        }
    }

    #[test]
    fn padding_puts_each_dimension_on_its_own_variables() {
        let l = Layout::new(&[3, 1, 5]).unwrap();
        assert_eq!(l.vars, [2, 0, 3]);
        assert_eq!(l.padded_index(&[2, 0, 4]), (2 << 3) | 4);
        let values: Vec<i64> = (1..=15).collect();
        let padded = l.pad(&values);
        assert_eq!(padded.len(), 32);
        assert_eq!(padded[(1 << 3) | 2], 8);
        assert_eq!(padded[3], 4);
        assert_eq!(padded[5], 0);
        // The validity indicator's MLE sums the eq table over real entries.
        let mut rng = ark_std::test_rng();
        let r: Vec<F> = (0..5).map(|_| F::rand(&mut rng)).collect();
        let ones: Vec<F> = l.pad(&[1i64; 15]).into_iter().map(F::from).collect();
        assert_eq!(l.valid(&r), evaluate_serial(ones, &r).unwrap());
        assert!(Layout::new(&[2, 0]).is_none());
    }
}
