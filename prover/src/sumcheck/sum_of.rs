//! [`SumOf`]: one sumcheck instance that is the sum of several over the same variables.

use ark_ff::{One, Zero};
use rayon::prelude::*;

use super::SumcheckInstance;
use crate::field::F;
use crate::poly::UniPoly;

/// `Σ_i c_i·part_i` as one instance: its claim is the sum of the parts' claims, which the verifier
/// may know only as a sum (a lookup's chunks share an operand claim; a combination claim's terms
/// are one evaluation). Final evaluations are the parts' in order. Every part has the same round
/// count.
pub struct SumOf<I> {
    parts: Vec<I>,
    coeffs: Vec<F>,
    /// Each part's running claim.
    claims: Vec<F>,
    polys: Vec<UniPoly>,
}

impl<I: SumcheckInstance> SumOf<I> {
    /// Panics if `parts` is empty or their round counts differ: the caller builds them.
    pub fn new(parts: Vec<I>) -> Self {
        let n = parts.len();
        Self::weighted(parts, vec![F::one(); n])
    }

    /// `Σ_i coeffs[i]·part_i`. Panics as [`SumOf::new`], or if the counts differ.
    pub fn weighted(parts: Vec<I>, coeffs: Vec<F>) -> Self {
        assert_eq!(parts.len(), coeffs.len(), "one coefficient per summed instance");
        let rounds = parts.first().map(|p| p.num_rounds());
        assert!(rounds.is_some(), "a sum of instances needs at least one");
        assert!(
            parts.iter().all(|p| Some(p.num_rounds()) == rounds),
            "summed instances share their variables"
        );
        let claims = parts.iter().map(|p| p.input_claim()).collect();
        SumOf { parts, coeffs, claims, polys: Vec::new() }
    }
}

impl<I: SumcheckInstance> SumcheckInstance for SumOf<I> {
    fn num_rounds(&self) -> usize {
        self.parts[0].num_rounds()
    }
    fn degree(&self) -> usize {
        self.parts.iter().map(|p| p.degree()).max().unwrap_or(0)
    }
    fn input_claim(&self) -> F {
        self.claims.iter().zip(&self.coeffs).map(|(c, k)| *c * k).sum()
    }
    fn round_poly(&mut self, _claim: F) -> UniPoly {
        self.polys = self
            .parts
            .par_iter_mut()
            .zip(self.claims.par_iter())
            .map(|(p, c)| p.round_poly(*c))
            .collect();
        let mut sum = vec![F::zero(); self.degree() + 1];
        for (poly, k) in self.polys.iter().zip(&self.coeffs) {
            for (s, c) in sum.iter_mut().zip(&poly.coeffs) {
                *s += *k * c;
            }
        }
        UniPoly::from_coeffs(sum)
    }
    fn bind(&mut self, r: F) {
        let polys = std::mem::take(&mut self.polys);
        self.parts.par_iter_mut().zip(self.claims.par_iter_mut()).zip(polys).for_each(
            |((p, c), poly)| {
                *c = poly.evaluate(r);
                p.bind(r);
            },
        );
    }
    fn final_evals(&self) -> Vec<F> {
        self.parts.iter().flat_map(|p| p.final_evals()).collect()
    }
}
