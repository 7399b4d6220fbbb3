//! Prover side of [`ClaimReduction`]: several claims on one polynomial become one.

use ark_ff::{One, Zero};

use super::one_hot::OneHotReduction;
use super::{ProductSumcheck, SumcheckInstance};
use crate::field::F;
use crate::poly::{eq_evals, MultilinearPoly, UniPoly};
use crate::verify::sumcheck::{ClaimReduction, Term};

/// Proves `Σ_i γ^i P(z_i) = Σ_x P(x) · E(x)` with `E = Σ_i γ^i eq(z_i, ·)`; the verifier evaluates
/// `E` itself, so the only final evaluation is `P(r)`.
///
/// A polynomial zero-extended from `m` to `n` variables (zeros appended, so its commitment is
/// unchanged) with claims whose first `n − m` coordinates are zero is worked on at its own size:
/// `P · E` vanishes outside the first `2^m` entries, binding the least significant variable first
/// keeps that support in the prefix, and after `m` rounds the pair left is `(a, 0)`, `(b, 0)`, whose
/// round polynomial is `a·b·(1 − X)^2`. The messages are those of the zero-extended instance,
/// bit for bit; only the memory (`2^m` instead of `2^n` field elements) differs.
pub struct ReductionSumcheck {
    /// The instance over the first `m` rounds (`None` when `m = 0`): final evaluations `[P, E]`.
    inner: Option<Box<dyn SumcheckInstance>>,
    /// Rounds over the zero-extension.
    tail: usize,
    bound: usize,
    /// `(P, E)` at the bound prefix once `inner` is done.
    ends: Option<(F, F)>,
}

impl ReductionSumcheck {
    /// `claim` holds the points, the values and `γ` (drawn with [`ClaimReduction::draw_gamma`]).
    /// Panics if the points do not all have `poly.num_vars()` coordinates: the caller builds them.
    pub fn new(poly: MultilinearPoly, claim: &ClaimReduction) -> Self {
        let n = poly.num_vars();
        Self::zero_extended(poly, claim, n)
    }

    /// [`ReductionSumcheck::new`] for `poly` zero-extended to `n` variables, without building the
    /// extension. Panics if a point does not have `n` coordinates, or if its first
    /// `n − poly.num_vars()` coordinates are not zero (what [`extend_claims`] produces).
    ///
    /// [`extend_claims`]: crate::verify::tensor::extend_claims
    pub fn zero_extended(poly: MultilinearPoly, claim: &ClaimReduction, n: usize) -> Self {
        let m = poly.num_vars();
        assert!(m <= n, "cannot reduce a polynomial of {m} variables over {n}");
        let low = low_points(claim, m, n);
        let reduced =
            ClaimReduction { points: low, values: claim.values.clone(), gamma: claim.gamma };
        let mut e = vec![F::zero(); poly.len()];
        let mut g = F::one();
        for z in &reduced.points {
            for (acc, v) in e.iter_mut().zip(eq_evals(z)) {
                *acc += g * v;
            }
            g *= claim.gamma;
        }
        if m == 0 {
            return ReductionSumcheck {
                inner: None,
                tail: n,
                bound: 0,
                ends: Some((poly.get(0), e[0])),
            };
        }
        let e = MultilinearPoly::Dense(e);
        let inner = ProductSumcheck::new(
            vec![poly, e],
            vec![Term::product(vec![0, 1])],
            None,
            crate::verify::SumcheckClaim::input_claim(&reduced),
        )
        .expect("two polynomials of one size and a degree-2 term form a valid instance");
        ReductionSumcheck { inner: Some(Box::new(inner)), tail: n - m, bound: 0, ends: None }
    }

    /// [`ReductionSumcheck::zero_extended`] for the `num_rows × 2^k` matrix (rows first) with a one
    /// at each `(row, column)` of `ones` and zeros elsewhere — a one-hot matrix, or a block of its
    /// columns — without writing it out: `O(num_rows + 2^k)` memory, same messages. `num_rows` is a
    /// power of two, at least 2.
    pub fn one_hot(
        num_rows: usize,
        ones: Vec<(usize, usize)>,
        k: usize,
        claim: &ClaimReduction,
        n: usize,
    ) -> Self {
        let m = num_rows.trailing_zeros() as usize + k;
        assert!(m <= n, "cannot reduce a polynomial of {m} variables over {n}");
        let low = low_points(claim, m, n);
        let weights = crate::poly::powers(claim.gamma, low.len());
        let inner = OneHotReduction::new(num_rows, ones, k, &low, &weights);
        ReductionSumcheck { inner: Some(Box::new(inner)), tail: n - m, bound: 0, ends: None }
    }

    fn inner_rounds(&self) -> usize {
        self.inner.as_ref().map_or(0, |i| i.num_rounds())
    }
}

/// The claims' points without their `n − m` zero extension coordinates. Panics if a point does
/// not have `n` coordinates or the extension coordinates are not zero: the caller builds them.
fn low_points(claim: &ClaimReduction, m: usize, n: usize) -> Vec<Vec<F>> {
    claim
        .points
        .iter()
        .map(|z| {
            assert_eq!(z.len(), n, "claim reduction point has the wrong dimension");
            assert!(
                z[..n - m].iter().all(Zero::is_zero),
                "a claim on a zero-extended polynomial has zeros in its extension coordinates"
            );
            z[n - m..].to_vec()
        })
        .collect()
}

impl SumcheckInstance for ReductionSumcheck {
    fn num_rounds(&self) -> usize {
        self.inner_rounds() + self.tail
    }
    fn degree(&self) -> usize {
        2
    }
    fn input_claim(&self) -> F {
        match (&self.inner, self.ends) {
            (Some(inner), _) => inner.input_claim(),
            (None, Some((a, b))) => a * b,
            (None, None) => F::zero(),
        }
    }
    fn round_poly(&mut self, claim: F) -> UniPoly {
        if self.bound < self.inner_rounds() {
            if let Some(inner) = self.inner.as_mut() {
                return inner.round_poly(claim);
            }
        }
        // (a, 0) · (b, 0) over the current variable: a·b·(1 − X)^2.
        let (a, b) = self.ends.unwrap_or_default();
        let ab = a * b;
        UniPoly::from_coeffs(vec![ab, -(ab + ab), ab])
    }
    fn bind(&mut self, r: F) {
        if self.bound < self.inner_rounds() {
            if let Some(inner) = self.inner.as_mut() {
                inner.bind(r);
                self.bound += 1;
                if self.bound == inner.num_rounds() {
                    let ev = inner.final_evals();
                    self.ends = Some((ev[0], ev[1]));
                }
                return;
            }
        }
        let one_minus = F::one() - r;
        if let Some((a, b)) = self.ends.as_mut() {
            *a *= one_minus;
            *b *= one_minus;
        }
        self.bound += 1;
    }
    fn final_evals(&self) -> Vec<F> {
        vec![self.ends.map_or(F::zero(), |e| e.0)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sumcheck::prove_sumcheck;
    use crate::transcript::Transcript;
    use ark_std::UniformRand;

    /// Invariant: reducing at the polynomial's own size sends exactly the messages of the
    /// zero-extended instance.
    #[test]
    fn zero_extended_reduction_matches_the_extended_instance() {
        let mut rng = ark_std::test_rng();
        for (m, n) in [(0, 3), (1, 1), (2, 5), (4, 4), (3, 7)] {
            let vals: Vec<i64> = (0..1i64 << m).map(|i| (i * 37 + 5) % 101 - 50).collect();
            let mut ext = vals.clone();
            ext.resize(1 << n, 0);
            let points: Vec<Vec<F>> = (0..3)
                .map(|_| {
                    let mut z = vec![F::zero(); n - m];
                    z.extend((0..m).map(|_| F::rand(&mut rng)));
                    z
                })
                .collect();
            let full = MultilinearPoly::I64(ext);
            let values: Vec<F> = points.iter().map(|z| full.evaluate(z)).collect();
            let claim = ClaimReduction { points, values, gamma: F::rand(&mut rng) };
            let run = |inst: &mut ReductionSumcheck| {
                let mut t = Transcript::new(b"reduction-test");
                prove_sumcheck(&mut [inst as &mut dyn SumcheckInstance], &mut t)
            };
            let mut a = ReductionSumcheck::new(full.clone(), &claim);
            let mut b = ReductionSumcheck::zero_extended(MultilinearPoly::I64(vals), &claim, n);
            let (pa, oa) = run(&mut a);
            let (pb, ob) = run(&mut b);
            assert_eq!(pa.rounds, pb.rounds, "m = {m}, n = {n}");
            assert_eq!(oa.final_evals, ob.final_evals);
            assert_eq!(ob.final_evals[0][0], full.evaluate(&ob.point));
        }
    }
}
