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
/// elements that are zero (im2col padding) are absent. Sorted by destination index: [`wiring`]
/// walks the result in row-major order, in which padded indices increase.
pub type Wiring = Vec<(usize, usize, usize)>;

/// One coordinate of a relabelled source point: a coordinate of the destination's point, or a
/// constant bit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coord {
    Var(usize),
    Bit(bool),
}

/// A single-source move that is a change of variables: `dst(r) = src(σ(r)) · Π_{D ∈ free}
/// valid_D(r_D)`, where `σ(r)` takes each source coordinate from `coords` and `free` lists the
/// destination dimensions the source does not see (a broadcast's new or widened dimensions).
/// Transposes, reshapes that keep the padded order, power-of-two-aligned slices and broadcasts
/// are of this kind; the claim moves to the source with no sumcheck and no message.
///
/// Invariant (checked by [`relabel`] on every padded index): `σ` uses each destination variable
/// at most once, and `dst[d] = src[σ(d)] · Π_{D ∈ free} [d_D < dim_D]` on the whole hypercube, so
/// both sides are the same multilinear polynomial.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Relabel {
    pub coords: Vec<Coord>,
    pub free: Vec<usize>,
}

/// Largest destination (in variables) whose relabelling is searched for: the check visits every
/// padded index.
const RELABEL_MAX_VARS: usize = 24;

/// The change of variables a single-source wiring is, if it is one ([`Relabel`]).
pub fn relabel(wires: &Wiring, out: &Layout, src: &Layout) -> Option<Relabel> {
    let (nd, ns) = (out.num_vars(), src.num_vars());
    if nd > RELABEL_MAX_VARS || wires.is_empty() || wires.iter().any(|w| w.1 != 0) {
        return None;
    }
    // Candidate σ from probes: the wire at d = 0 gives the constant bits, the wire at each single
    // destination bit the source bit it moves to. Both are real elements: a dimension of `v`
    // variables is larger than `2^(v−1)`, so one set bit is a coordinate inside it. The check
    // below then decides on every index.
    let source = |d: usize| wires.binary_search_by_key(&d, |w| w.0).ok().map(|i| wires[i].2);
    let constant = source(0)?;
    let mut to = vec![None; nd];
    let mut taken = 0usize;
    for (a, slot) in to.iter_mut().enumerate() {
        let flipped = source(1 << (nd - 1 - a))? ^ constant;
        if flipped == 0 {
            continue;
        }
        if !flipped.is_power_of_two() || flipped & (constant | taken) != 0 {
            return None;
        }
        taken |= flipped;
        *slot = Some(flipped.trailing_zeros() as usize);
    }
    let coords: Vec<Coord> = (0..ns)
        .map(|b| {
            let q = ns - 1 - b;
            match to.iter().position(|t| *t == Some(q)) {
                Some(a) => Coord::Var(a),
                None => Coord::Bit((constant >> q) & 1 == 1),
            }
        })
        .collect();
    let free: Vec<usize> = (0..out.dims.len())
        .filter(|&d| out.vars[d] > 0)
        .filter(|&d| (out.offset(d)..out.offset(d) + out.vars[d]).all(|a| to[a].is_none()))
        .collect();

    // The invariant, on every padded destination index. σ(d) is the constant bits plus each used
    // destination bit moved to its source position, looked up a byte of `d` at a time.
    let bytes = nd.div_ceil(8);
    let mut table = vec![0usize; bytes * 256];
    for (a, t) in to.iter().enumerate() {
        if let Some(q) = *t {
            let p = nd - 1 - a;
            for x in 0..256 {
                if (x >> (p % 8)) & 1 == 1 {
                    table[(p / 8) * 256 + x] |= 1 << q;
                }
            }
        }
    }
    let sigma = |d: usize| {
        (0..bytes).fold(constant, |acc, c| acc | table[c * 256 + ((d >> (8 * c)) & 255)])
    };
    // Per dimension: (shift, mask, size) of its coordinate in a padded index.
    let fields = |l: &Layout, dims: &[usize]| -> Vec<(usize, usize, usize)> {
        dims.iter()
            .map(|&d| (l.num_vars() - l.offset(d) - l.vars[d], (1 << l.vars[d]) - 1, l.dims[d]))
            .collect()
    };
    let inside = |f: &[(usize, usize, usize)], idx: usize| {
        f.iter().all(|&(shift, mask, size)| (idx >> shift) & mask < size)
    };
    let src_fields = fields(src, &(0..src.dims.len()).collect::<Vec<_>>());
    let free_fields = fields(out, &free);
    let exact = if out.padded_len() == out.numel() {
        // No padding in the destination: every index is a wire, and every free dimension is full.
        wires.iter().all(|&(d, _, s)| sigma(d) == s)
    } else {
        // Every padded index in order, next to the wires (sorted by destination index).
        let mut next = wires.iter().peekable();
        (0..1usize << nd).all(|d| {
            let want = match next.peek() {
                Some(&&(wd, _, s)) if wd == d => {
                    next.next();
                    s
                }
                _ => usize::MAX,
            };
            let s = sigma(d);
            let got =
                if inside(&free_fields, d) && inside(&src_fields, s) { s } else { usize::MAX };
            got == want
        }) && next.peek().is_none()
    };
    exact.then_some(Relabel { coords, free })
}

impl Relabel {
    /// The claim `dst(r) = v` as a claim on the source: `(σ(r), v / Π valid)`. `None` when the
    /// point zeroes the validity factor (a random point does so with negligible probability).
    pub fn claim(&self, out: &Layout, r: &[F], v: F) -> Option<(Vec<F>, F)> {
        if r.len() != out.num_vars() {
            return None;
        }
        let factor: F =
            self.free.iter().map(|&d| eq_prefix_sum(out.block(r, d), out.dims[d])).product();
        let inv = ark_ff::Field::inverse(&factor)?;
        let point = self
            .coords
            .iter()
            .map(|c| match *c {
                Coord::Var(a) => r[a],
                Coord::Bit(b) => F::from(u64::from(b)),
            })
            .collect();
        Some((point, v * inv))
    }
}

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
            // One scratch multi-index for every element: the verifier walks every moved element.
            let mut sc = vec![0usize; s.len()];
            each(&mut |c| {
                for (j, (x, &d)) in sc.iter_mut().zip(&s).enumerate() {
                    *x = if d == 1 { 0 } else { c[lead + j] };
                }
                Ok(Some((0, l.padded_index(&sc))))
            })?;
        }
        Op::Reshape { src } => {
            let s = shape(*src)?;
            let l = layout(&s)?;
            let (st_out, st_src) = (strides(&out_shape), strides(&s));
            let mut sc = vec![0usize; s.len()];
            each(&mut |c| {
                let mut flat: usize = c.iter().zip(&st_out).map(|(a, b)| a * b).sum();
                for (x, st) in sc.iter_mut().zip(&st_src) {
                    *x = flat / st;
                    flat %= st;
                }
                Ok(Some((0, l.padded_index(&sc))))
            })?;
        }
        Op::Transpose { src, perm } => {
            let s = shape(*src)?;
            let l = layout(&s)?;
            let mut sc = vec![0usize; s.len()];
            each(&mut |c| {
                for (i, &p) in perm.iter().enumerate() {
                    *sc.get_mut(p).ok_or("transpose axis out of range")? = c[i];
                }
                Ok(Some((0, l.padded_index(&sc))))
            })?;
        }
        Op::Slice { src, axis, start, step, .. } => {
            let l = layout(&shape(*src)?)?;
            let mut sc = Vec::new();
            each(&mut |c| {
                sc.clear();
                sc.extend_from_slice(c);
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
    use atlas_vm::{Input, Instr, RegInfo};

    /// The wiring of `op` from a `src`-shaped register (r0) to a `dst`-shaped one (r1).
    fn move_wiring(src: &[usize], dst: &[usize], op: Op) -> Wiring {
        let reg = |shape: &[usize]| RegInfo { name: None, shape: shape.to_vec(), bits: 16 };
        let program = Program {
            name: "move".into(),
            registers: vec![reg(src), reg(dst)],
            tables: vec![],
            inputs: vec![Input { reg: Reg(0), public: true }],
            params: vec![],
            consts: vec![],
            instrs: vec![Instr { dst: Reg(1), op }],
            outputs: vec![Reg(1)],
        };
        wiring(&program, &program.instrs[0].op, Reg(1), None).unwrap()
    }

    /// Relabels `op` (expecting a change of variables) and checks the moved claim against the
    /// source's true value at random points.
    fn check_relabel(src: &[usize], dst: &[usize], op: Op) {
        let (ls, ld) = (Layout::new(src).unwrap(), Layout::new(dst).unwrap());
        let wires = move_wiring(src, dst, op.clone());
        let map = relabel(&wires, &ld, &ls).unwrap_or_else(|| panic!("{op:?} is a relabelling"));
        let mut rng = ark_std::test_rng();
        let src_padded: Vec<F> = (0..ls.padded_len())
            .map(|i| if ls.padded_indices().contains(&i) { F::rand(&mut rng) } else { F::zero() })
            .collect();
        let mut dst_padded = vec![F::zero(); ld.padded_len()];
        for (d, _, s) in wires {
            dst_padded[d] = src_padded[s];
        }
        for _ in 0..3 {
            let r: Vec<F> = (0..ld.num_vars()).map(|_| F::rand(&mut rng)).collect();
            let v = evaluate_serial(dst_padded.iter().copied(), &r).unwrap();
            let (point, value) = map.claim(&ld, &r, v).unwrap();
            assert_eq!(Some(value), evaluate_serial(src_padded.iter().copied(), &point), "{op:?}");
        }
    }

    #[test]
    fn transposes_broadcasts_aligned_slices_and_ordered_reshapes_are_relabellings() {
        let r0 = Reg(0);
        check_relabel(&[3, 5, 4], &[4, 3, 5], Op::Transpose { src: r0, perm: vec![2, 0, 1] });
        check_relabel(&[5], &[3, 5], Op::Broadcast { src: r0 });
        check_relabel(&[3, 1], &[3, 6], Op::Broadcast { src: r0 });
        check_relabel(&[1], &[7], Op::Broadcast { src: r0 });
        check_relabel(
            &[6, 12],
            &[6, 4],
            Op::Slice { src: r0, axis: 1, start: 8, end: 12, step: 1 },
        );
        check_relabel(&[5, 8], &[5, 2, 4], Op::Reshape { src: r0 });
        check_relabel(&[5, 2, 4], &[40], Op::Reshape { src: r0 });
        check_relabel(&[4], &[1], Op::Slice { src: r0, axis: 0, start: 2, end: 3, step: 1 });
        // Every other element: the source's padding lies under the destination's.
        check_relabel(&[12], &[6], Op::Slice { src: r0, axis: 0, start: 0, end: 12, step: 2 });
    }

    /// Invariant: a move proved without a sumcheck is a change of variables on the whole
    /// hypercube, padding included. Mutation: offer moves that agree with one on their real
    /// elements only, or not at all; each must keep its wiring sumcheck.
    #[test]
    fn other_moves_are_not_relabelled() {
        let r0 = Reg(0);
        let cases = [
            // Start not aligned to the slice's padded length.
            (vec![6, 12], vec![6, 4], Op::Slice { src: r0, axis: 1, start: 6, end: 10, step: 1 }),
            // Aligned, but the padded tail of the slice reads real source elements.
            (vec![12], vec![3], Op::Slice { src: r0, axis: 0, start: 4, end: 7, step: 1 }),
            (vec![12], vec![4], Op::Slice { src: r0, axis: 0, start: 0, end: 12, step: 3 }),
            // Padded order differs: 3 is not a power of two.
            (vec![4, 3], vec![12], Op::Reshape { src: r0 }),
            (vec![3, 5], vec![15], Op::Reshape { src: r0 }),
        ];
        for (src, dst, op) in cases {
            let (ls, ld) = (Layout::new(&src).unwrap(), Layout::new(&dst).unwrap());
            let wires = move_wiring(&src, &dst, op.clone());
            assert_eq!(relabel(&wires, &ld, &ls), None, "{op:?}");
        }
    }

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
