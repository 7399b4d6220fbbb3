//! Prover side of [`ClaimReduction`]: several claims on one polynomial become one.

use ark_ff::{One, Zero};

use super::{ProductSumcheck, SumcheckInstance};
use crate::field::F;
use crate::poly::{eq_evals, MultilinearPoly, UniPoly};
use crate::verify::sumcheck::{ClaimReduction, Term};

/// Proves `Σ_i γ^i P(z_i) = Σ_x P(x) · E(x)` with `E = Σ_i γ^i eq(z_i, ·)`; the verifier evaluates
/// `E` itself, so the only final evaluation is `P(r)`.
pub struct ReductionSumcheck {
    inner: ProductSumcheck,
}

impl ReductionSumcheck {
    /// `claim` holds the points, the values and `γ` (drawn with [`ClaimReduction::draw_gamma`]).
    /// Panics if the points do not all have `poly.num_vars()` coordinates: the caller builds them.
    pub fn new(poly: MultilinearPoly, claim: &ClaimReduction) -> Self {
        let n = poly.num_vars();
        let mut e = vec![F::zero(); poly.len()];
        let mut g = F::one();
        for z in &claim.points {
            assert_eq!(z.len(), n, "claim reduction point has the wrong dimension");
            for (acc, v) in e.iter_mut().zip(eq_evals(z)) {
                *acc += g * v;
            }
            g *= claim.gamma;
        }
        let e = MultilinearPoly::Dense(e);
        let inner = ProductSumcheck::new(
            vec![poly, e],
            vec![Term::product(vec![0, 1])],
            None,
            crate::verify::SumcheckClaim::input_claim(claim),
        )
        .expect("two polynomials of one size and a degree-2 term form a valid instance");
        ReductionSumcheck { inner }
    }
}

impl SumcheckInstance for ReductionSumcheck {
    fn num_rounds(&self) -> usize {
        self.inner.num_rounds()
    }
    fn degree(&self) -> usize {
        self.inner.degree()
    }
    fn input_claim(&self) -> F {
        self.inner.input_claim()
    }
    fn round_poly(&mut self, claim: F) -> UniPoly {
        self.inner.round_poly(claim)
    }
    fn bind(&mut self, r: F) {
        self.inner.bind(r)
    }
    fn final_evals(&self) -> Vec<F> {
        self.inner.final_evals()[..1].to_vec()
    }
}
