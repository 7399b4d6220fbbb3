//! Univariate polynomials in coefficient form: the sumcheck round messages.

use ark_ff::{AdditiveGroup, Field, One, Zero};

use crate::field::F;

/// `c_0 + c_1 X + … + c_d X^d`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UniPoly {
    pub coeffs: Vec<F>,
}

impl UniPoly {
    pub fn from_coeffs(coeffs: Vec<F>) -> Self {
        UniPoly { coeffs }
    }

    /// Interpolates the values at `0, 1, …, n-1`.
    pub fn from_evals(evals: &[F]) -> Self {
        // Lagrange in the monomial basis; n is at most a dozen, so O(n^2) with one inversion per
        // node is fine and needs no precomputed tables.
        let n = evals.len();
        let mut coeffs = vec![F::zero(); n];
        for (i, yi) in evals.iter().enumerate() {
            // basis_i(X) = ∏_{j≠i} (X − j) / (i − j)
            let mut basis = vec![F::one()];
            let mut denom = F::one();
            for j in 0..n {
                if j == i {
                    continue;
                }
                let mut next = vec![F::zero(); basis.len() + 1];
                for (k, b) in basis.iter().enumerate() {
                    next[k + 1] += b;
                    next[k] -= *b * F::from(j as u64);
                }
                basis = next;
                denom *= F::from(i as u64) - F::from(j as u64);
            }
            let scale = *yi * denom.inverse().unwrap_or_else(F::zero);
            for (c, b) in coeffs.iter_mut().zip(basis) {
                *c += scale * b;
            }
        }
        UniPoly { coeffs }
    }

    pub fn degree(&self) -> usize {
        self.coeffs.len().saturating_sub(1)
    }

    pub fn evaluate(&self, x: F) -> F {
        self.coeffs.iter().rev().fold(F::zero(), |acc, c| acc * x + c)
    }

    /// Drops the linear coefficient, which the verifier recovers from `p(0) + p(1) = claim`.
    pub fn compress(&self) -> Vec<F> {
        let mut out = Vec::with_capacity(self.coeffs.len().saturating_sub(1));
        out.extend(self.coeffs.first());
        out.extend(self.coeffs.iter().skip(2));
        out
    }

    /// Inverse of [`compress`](Self::compress) given the claim `p(0) + p(1)`.
    /// `compressed = [c_0, c_2, …, c_d]`; `c_1 = claim − 2c_0 − c_2 − … − c_d`.
    pub fn decompress(compressed: &[F], claim: F) -> Self {
        let Some((c0, rest)) = compressed.split_first() else {
            return UniPoly { coeffs: vec![] };
        };
        let c1 = claim - c0.double() - rest.iter().sum::<F>();
        let mut coeffs = Vec::with_capacity(compressed.len() + 1);
        coeffs.push(*c0);
        coeffs.push(c1);
        coeffs.extend_from_slice(rest);
        UniPoly { coeffs }
    }

    /// `p · (a + bX)`.
    pub fn mul_linear(&self, a: F, b: F) -> Self {
        let mut out = vec![F::zero(); self.coeffs.len() + 1];
        for (i, c) in self.coeffs.iter().enumerate() {
            out[i] += *c * a;
            out[i + 1] += *c * b;
        }
        UniPoly { coeffs: out }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_std::UniformRand;

    #[test]
    fn interpolation_and_compression_round_trip() {
        let mut rng = ark_std::test_rng();
        for d in 0..6 {
            let p = UniPoly::from_coeffs((0..=d).map(|_| F::rand(&mut rng)).collect());
            let evals: Vec<F> = (0..=d).map(|i| p.evaluate(F::from(i as u64))).collect();
            assert_eq!(UniPoly::from_evals(&evals), p);
            if d >= 1 {
                let claim = p.evaluate(F::zero()) + p.evaluate(F::one());
                assert_eq!(UniPoly::decompress(&p.compress(), claim), p);
            }
            let x = F::rand(&mut rng);
            let (a, b) = (F::rand(&mut rng), F::rand(&mut rng));
            assert_eq!(p.mul_linear(a, b).evaluate(x), p.evaluate(x) * (a + b * x));
        }
    }
}
