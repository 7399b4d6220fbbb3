//! The workhorse instance: `Σ_x eq(w, x) · Σ_t c_t ∏_{k ∈ t} P_k(x)`, with or without the `eq`.
//!
//! Techniques, all in [`ProductSumcheck::round_poly`]:
//! - binding low to high, so a round reads adjacent pairs `(2j, 2j+1)`;
//! - split eq (Dao–Thaler) with Gruen's trick: the current variable's `eq` factor is kept out of the
//!   inner sum and multiplied back as a linear polynomial, so the prover evaluates `q` (degree `d`)
//!   at `d` points instead of the degree-`d+1` summand at `d+2`; one of them, `q(1)`, follows from
//!   the claim;
//! - small-value first round: while every polynomial is still compact the products are exact
//!   `i128` arithmetic, converted to the field once per product;
//! - delayed reduction: the inner sum over `e_in` accumulates unreduced 576-bit products
//!   ([`MulAcc`]) and reduces once per outer index;
//! - rayon over the outer (`e_out`) index, with per-task scratch and no per-element allocation.

use ark_ff::{AdditiveGroup, Field, One, Zero};
use std::ops::{Add, Sub};

use rayon::prelude::*;

use super::{from_evals_and_leading, SumcheckInstance, MAX_DEGREE};
use crate::field::{from_i128, MulAcc, SmallMulAcc, F};
use crate::poly::{MultilinearPoly, SplitEq, UniPoly};
use crate::verify::sumcheck::{ProductClaim, Term};

/// Evaluation points of `q` per round: `0, [1], 2, …, d-1, ∞`.
const MAX_POINTS: usize = MAX_DEGREE + 1;

/// Below this many pairs a round runs on one thread.
const PAR_PAIRS: usize = 1 << 10;

/// Why a product instance cannot be built (a caller's mistake, reported rather than panicking).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProductError {
    #[error("a product sumcheck needs at least one polynomial and one term")]
    Empty,
    #[error("polynomial {index} has {got} variables, expected {expected}")]
    NumVars { index: usize, expected: usize, got: usize },
    #[error("a product sumcheck needs at least one variable")]
    NoVariables,
    #[error("term {term} refers to polynomial {factor}, but there are {polys}")]
    Factor { term: usize, factor: usize, polys: usize },
    #[error("term {term} has no factors")]
    EmptyTerm { term: usize },
    #[error("degree {got} exceeds the engine's maximum {max}")]
    Degree { got: usize, max: usize },
    #[error("eq point has {got} coordinates, expected {expected}")]
    EqPoint { expected: usize, got: usize },
}

/// Prover state of a [`ProductClaim`].
pub struct ProductSumcheck {
    polys: Vec<MultilinearPoly>,
    terms: Vec<Term>,
    eq: Option<SplitEq>,
    /// The eq point's coordinates in binding order (low variable first).
    eq_rounds: Vec<F>,
    claim: F,
    num_vars: usize,
    /// Degree of `q`: the largest term.
    dq: usize,
}

impl ProductSumcheck {
    /// Validates the shape and returns the prover state for `claim`. The claim is the caller's; use
    /// [`ProductSumcheck::sum`] to compute it.
    pub fn new(
        polys: Vec<MultilinearPoly>,
        terms: Vec<Term>,
        eq_point: Option<Vec<F>>,
        claim: F,
    ) -> Result<Self, ProductError> {
        let num_vars = check_shape(&polys, &terms, eq_point.as_deref())?;
        let dq = terms.iter().map(|t| t.factors.len()).max().unwrap_or(0);
        Ok(ProductSumcheck {
            polys,
            terms,
            eq: eq_point.as_deref().map(SplitEq::new),
            eq_rounds: eq_point.iter().flatten().rev().copied().collect(),
            claim,
            num_vars,
            dq,
        })
    }

    /// The sum the instance proves, computed directly (`O(2^n)`).
    pub fn sum(
        polys: &[MultilinearPoly],
        terms: &[Term],
        eq_point: Option<&[F]>,
    ) -> Result<F, ProductError> {
        check_shape(polys, terms, eq_point)?;
        let eq = eq_point.map(crate::poly::eq_evals);
        Ok((0..polys[0].len())
            .into_par_iter()
            .map(|x| {
                let s: F = terms
                    .iter()
                    .map(|t| t.coeff * t.factors.iter().map(|&k| polys[k].get(x)).product::<F>())
                    .sum();
                eq.as_ref().map_or(s, |e| e[x] * s)
            })
            .sum())
    }

    /// The verifier's description of this instance.
    pub fn claim(&self, eq_point: Option<Vec<F>>) -> ProductClaim {
        ProductClaim {
            num_vars: self.num_vars,
            num_polys: self.polys.len(),
            terms: self.terms.clone(),
            eq_point,
            claim: self.claim,
        }
    }

    /// `q`'s values at the round's points, summed over all pairs, per term.
    fn accumulate(&self, need_one: bool) -> Vec<F> {
        let np = Self::num_points(self.dq, need_one);
        let nt = self.terms.len();
        let pairs = self.polys[0].len() / 2;
        let small_bits = self.small_value_bits().is_some();

        // For one outer index: the e_in-weighted inner sum over its block of pairs.
        let block = |start: usize, len: usize, e_in: Option<&[F]>, scratch: &mut Scratch| {
            scratch.acc.iter_mut().for_each(|a| *a = F::zero());
            scratch.uacc.iter_mut().for_each(|a| *a = MulAcc::new());
            scratch.sacc.iter_mut().for_each(|a| *a = SmallMulAcc::new());
            for off in 0..len {
                let j = start + off;
                let w = e_in.map(|e| e[off]);
                if small_bits {
                    self.pair_small(j, np, need_one, w, scratch);
                } else {
                    self.pair_field(j, np, need_one, w, scratch);
                }
            }
            if e_in.is_some() {
                if small_bits {
                    for (a, u) in scratch.acc.iter_mut().zip(&scratch.sacc) {
                        *a += u.reduce();
                    }
                } else {
                    for (a, u) in scratch.acc.iter_mut().zip(&scratch.uacc) {
                        *a += u.reduce();
                    }
                }
            }
        };

        let total = match &self.eq {
            Some(eq) => {
                let e_in = eq.e_in();
                let e_out = eq.e_out();
                let inner = e_in.len();
                debug_assert_eq!(e_out.len() * inner, pairs, "split eq covers the pair index");
                let run = |jo: usize, scratch: &mut Scratch| {
                    block(jo * inner, inner, Some(e_in), scratch);
                    let mut out = vec![F::zero(); nt * np];
                    for (o, a) in out.iter_mut().zip(&scratch.acc) {
                        *o = e_out[jo] * a;
                    }
                    out
                };
                if pairs >= PAR_PAIRS {
                    (0..e_out.len())
                        .into_par_iter()
                        .map_init(|| Scratch::new(self.polys.len(), nt * np), |s, jo| run(jo, s))
                        .reduce(|| vec![F::zero(); nt * np], add_vecs)
                } else {
                    let mut s = Scratch::new(self.polys.len(), nt * np);
                    (0..e_out.len())
                        .map(|jo| run(jo, &mut s))
                        .fold(vec![F::zero(); nt * np], add_vecs)
                }
            }
            None => {
                let chunk = 1 << 10;
                let run = |c: usize, scratch: &mut Scratch| {
                    let start = c * chunk;
                    block(start, chunk.min(pairs - start), None, scratch);
                    scratch.acc.clone()
                };
                let chunks = pairs.div_ceil(chunk);
                (0..chunks)
                    .into_par_iter()
                    .map_init(|| Scratch::new(self.polys.len(), nt * np), |s, c| run(c, s))
                    .reduce(|| vec![F::zero(); nt * np], add_vecs)
            }
        };

        // Combine the terms with their coefficients. A term of lower degree than `dq` contributes
        // nothing to the leading coefficient: its product of differences is a lower coefficient.
        let mut q = vec![F::zero(); np];
        for (t, term) in self.terms.iter().enumerate() {
            let points = if term.factors.len() == self.dq { np } else { np - 1 };
            for p in 0..points {
                q[p] += term.coeff * total[t * np + p];
            }
        }
        q
    }

    /// `0, [1], 2, …, d-1, ∞`: at least `0` and `∞`.
    fn num_points(dq: usize, need_one: bool) -> usize {
        dq.max(2) + usize::from(need_one)
    }

    /// Bit width for exact integer products, if every polynomial is still compact and the products
    /// of the widest term fit in `i128`.
    fn small_value_bits(&self) -> Option<u32> {
        let mut bits = 0;
        for p in &self.polys {
            bits = bits.max(p.small_bits()?);
        }
        // |a + t(b - a)| ≤ (2t + 1)·2^bits for t < d ≤ 8: 5 extra bits cover it, and the sign bit.
        let per_factor = bits + 6;
        (per_factor as usize * self.dq <= 126).then_some(bits)
    }

    /// One pair `j` with field arithmetic.
    #[inline]
    fn pair_field(&self, j: usize, np: usize, need_one: bool, w: Option<F>, s: &mut Scratch) {
        for (k, p) in self.polys.iter().enumerate() {
            let (a, b) = match p {
                MultilinearPoly::Dense(v) => (v[2 * j], v[2 * j + 1]),
                _ => (p.get(2 * j), p.get(2 * j + 1)),
            };
            point_values(a, b, self.dq, need_one, &mut s.vals[k][..np]);
        }
        for (t, term) in self.terms.iter().enumerate() {
            for p in 0..np {
                let mut prod = s.vals[term.factors[0]][p];
                for &f in &term.factors[1..] {
                    prod *= s.vals[f][p];
                }
                match w {
                    // Delayed reduction: the e_in weight's product is reduced once per block.
                    Some(w) => s.uacc[t * np + p].add_mul(&w, &prod),
                    None => s.acc[t * np + p] += prod,
                }
            }
        }
    }

    /// One pair `j` with exact integer products (first round of compact polynomials).
    #[inline]
    fn pair_small(&self, j: usize, np: usize, need_one: bool, w: Option<F>, s: &mut Scratch) {
        for (k, p) in self.polys.iter().enumerate() {
            let a = p.get_small(2 * j).map_or(0, i128::from);
            let b = p.get_small(2 * j + 1).map_or(0, i128::from);
            point_values(a, b, self.dq, need_one, &mut s.ivals[k][..np]);
        }
        for (t, term) in self.terms.iter().enumerate() {
            for p in 0..np {
                let mut prod = s.ivals[term.factors[0]][p];
                for &f in &term.factors[1..] {
                    prod *= s.ivals[f][p];
                }
                if prod != 0 {
                    match w {
                        // The weight times the exact integer, reduced once per block.
                        Some(w) => s.sacc[t * np + p].add_mul(&w, prod),
                        None => s.acc[t * np + p] += from_i128(prod),
                    }
                }
            }
        }
    }
}

/// A linear polynomial through `a` (at 0) and `b` (at 1) at the round's points `0, [1], 2, …,
/// dq − 1, ∞` (the value "at ∞" is the slope), written into `out` (one slot per point).
#[inline(always)]
fn point_values<T: Copy + Add<Output = T> + Sub<Output = T>>(
    a: T,
    b: T,
    dq: usize,
    need_one: bool,
    out: &mut [T],
) {
    let d = b - a;
    out[0] = a;
    let mut i = 1;
    if need_one {
        out[i] = b;
        i += 1;
    }
    let mut cur = b;
    for _ in 2..dq {
        cur = cur + d;
        out[i] = cur;
        i += 1;
    }
    out[out.len() - 1] = d;
}

/// Per-task scratch: each polynomial's values at the round's points, and the per-term sums.
struct Scratch {
    vals: Vec<[F; MAX_POINTS]>,
    ivals: Vec<[i128; MAX_POINTS]>,
    acc: Vec<F>,
    /// Unreduced `e_in`-weighted sums, folded into `acc` at the end of a block.
    uacc: Vec<MulAcc>,
    /// The same for exact integer products (first round of compact polynomials).
    sacc: Vec<SmallMulAcc>,
}

impl Scratch {
    fn new(polys: usize, acc: usize) -> Self {
        Scratch {
            vals: vec![[F::zero(); MAX_POINTS]; polys],
            ivals: vec![[0; MAX_POINTS]; polys],
            acc: vec![F::zero(); acc],
            uacc: vec![MulAcc::new(); acc],
            sacc: vec![SmallMulAcc::new(); acc],
        }
    }
}

fn add_vecs(mut a: Vec<F>, b: Vec<F>) -> Vec<F> {
    for (x, y) in a.iter_mut().zip(b) {
        *x += y;
    }
    a
}

fn check_shape(
    polys: &[MultilinearPoly],
    terms: &[Term],
    eq_point: Option<&[F]>,
) -> Result<usize, ProductError> {
    let first = polys.first().ok_or(ProductError::Empty)?;
    if terms.is_empty() {
        return Err(ProductError::Empty);
    }
    let n = first.num_vars();
    if n == 0 {
        return Err(ProductError::NoVariables);
    }
    for (index, p) in polys.iter().enumerate() {
        if p.num_vars() != n {
            return Err(ProductError::NumVars { index, expected: n, got: p.num_vars() });
        }
    }
    for (t, term) in terms.iter().enumerate() {
        if term.factors.is_empty() {
            return Err(ProductError::EmptyTerm { term: t });
        }
        if let Some(&f) = term.factors.iter().find(|&&f| f >= polys.len()) {
            return Err(ProductError::Factor { term: t, factor: f, polys: polys.len() });
        }
    }
    let degree = ProductClaim::summand_degree(terms, eq_point.is_some());
    if degree > MAX_DEGREE {
        return Err(ProductError::Degree { got: degree, max: MAX_DEGREE });
    }
    if let Some(w) = eq_point {
        if w.len() != n {
            return Err(ProductError::EqPoint { expected: n, got: w.len() });
        }
    }
    Ok(n)
}

impl SumcheckInstance for ProductSumcheck {
    fn num_rounds(&self) -> usize {
        self.num_vars
    }

    fn degree(&self) -> usize {
        ProductClaim::summand_degree(&self.terms, self.eq.is_some())
    }

    fn input_claim(&self) -> F {
        self.claim
    }

    fn round_poly(&mut self, claim: F) -> UniPoly {
        let (lin0, lin1, scalar, w) = match &self.eq {
            // s(X) = scalar · eq(w, X) · q(X), eq(w, X) = (1 − w) + (2w − 1)X.
            Some(eq) => {
                let w = eq.current_w();
                (F::one() - w, w.double() - F::one(), eq.scalar(), Some(w))
            }
            None => (F::one(), F::zero(), F::one(), None),
        };
        let need_one = w.is_some_and(|w| w.is_zero() || scalar.is_zero());
        let vals = self.accumulate(need_one);
        let dq = self.dq;
        let leading = vals[vals.len() - 1];
        // q at 0..dq-1, recovering q(1) from the claim where it was not computed.
        let mut q_evals = Vec::with_capacity(dq);
        q_evals.push(vals[0]);
        if dq > 1 {
            let q1 = if need_one {
                vals[1]
            } else {
                match w {
                    // claim = scalar · ((1 − w) q(0) + w q(1))
                    Some(w) => {
                        let inv = (scalar * w).inverse().unwrap_or_else(F::zero);
                        (claim - scalar * (F::one() - w) * vals[0]) * inv
                    }
                    None => claim - vals[0],
                }
            };
            q_evals.push(q1);
            let rest = if need_one { &vals[2..vals.len() - 1] } else { &vals[1..vals.len() - 1] };
            q_evals.extend_from_slice(rest);
        }
        let q = if dq == 1 {
            // q(X) = q(0) + leading·X.
            UniPoly::from_coeffs(vec![vals[0], leading])
        } else {
            from_evals_and_leading(&q_evals, leading)
        };
        if self.eq.is_some() {
            q.mul_linear(scalar * lin0, scalar * lin1)
        } else {
            q
        }
    }

    fn bind(&mut self, r: F) {
        if self.polys[0].len() >= PAR_PAIRS && self.polys.len() > 1 {
            self.polys.par_iter_mut().for_each(|p| p.bind_low(r));
        } else {
            self.polys.iter_mut().for_each(|p| p.bind_low(r));
        }
        if let Some(eq) = &mut self.eq {
            eq.bind(r);
        }
    }

    fn final_evals(&self) -> Vec<F> {
        self.polys.iter().map(|p| p.get(0)).collect()
    }

    fn eq_rounds(&self) -> Vec<F> {
        self.eq_rounds.clone()
    }
}
