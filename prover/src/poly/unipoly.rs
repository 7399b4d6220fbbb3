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

    /// The round message of an eq-factored round (see [`crate::verify::sumcheck`]): `self` is
    /// `q` with `s(X) = eq(τ, X)·q(X)`, padded to `len` coefficients; the constant is dropped,
    /// which the verifier recovers from `s(0) + s(1) = claim` ([`Self::decompress_eq`]).
    pub fn compress_eq(&self, len: usize) -> Vec<F> {
        let mut out: Vec<F> = self.coeffs.iter().skip(1).copied().collect();
        debug_assert!(
            out.iter().skip(len.saturating_sub(1)).all(|c| c.is_zero()),
            "q has more than {len} coefficients"
        );
        out.resize(len.saturating_sub(1), F::zero());
        out
    }

    /// `q` from its coefficients `[c_1, …, c_m]` and the claim `s(0) + s(1)` of `s = eq(τ, X)·q`:
    /// `claim = (1 − τ)·q(0) + τ·q(1) = c_0 + τ·(c_1 + … + c_m)`.
    pub fn decompress_eq(compressed: &[F], claim: F, tau: F) -> Self {
        let c0 = claim - tau * compressed.iter().sum::<F>();
        let mut coeffs = Vec::with_capacity(compressed.len() + 1);
        coeffs.push(c0);
        coeffs.extend_from_slice(compressed);
        UniPoly { coeffs }
    }

    /// `self / (a + bX)` when the division is exact, else `None` (also for `a = b = 0`).
    pub fn div_linear(&self, a: F, b: F) -> Option<Self> {
        if b.is_zero() {
            let inv = a.inverse()?;
            return Some(UniPoly { coeffs: self.coeffs.iter().map(|c| *c * inv).collect() });
        }
        // Synthetic division by (X − x0), x0 = −a/b, then by b.
        let binv = b.inverse()?;
        let x0 = -a * binv;
        let mut quotient = vec![F::zero(); self.coeffs.len().saturating_sub(1)];
        let mut carry = F::zero();
        for (i, c) in self.coeffs.iter().enumerate().rev() {
            let v = *c + carry * x0;
            if i == 0 {
                if !v.is_zero() {
                    return None;
                }
            } else {
                quotient[i - 1] = v * binv;
                carry = v;
            }
        }
        Some(UniPoly { coeffs: quotient })
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
            assert_eq!(p.mul_linear(a, b).div_linear(a, b), Some(p.clone()));
            // An eq-factored round: s = eq(τ, X)·p travels as p without its constant.
            let tau = F::rand(&mut rng);
            let s = p.mul_linear(F::one() - tau, tau.double() - F::one());
            let claim = s.evaluate(F::zero()) + s.evaluate(F::one());
            let sent = p.compress_eq(d + 1);
            assert_eq!(sent.len(), d);
            assert_eq!(UniPoly::decompress_eq(&sent, claim, tau), p);
        }
        // τ = 1/2 makes eq(τ, X) the constant 1/2.
        let half = F::from(2u64).inverse().expect("2 is invertible");
        let p = UniPoly::from_coeffs(vec![F::from(3u64), F::from(5u64)]);
        let q = p.mul_linear(half, F::zero()).div_linear(half, F::zero()).expect("exact");
        assert_eq!(q.coeffs, vec![p.coeffs[0], p.coeffs[1], F::zero()]);
        // Not a multiple: no quotient.
        assert_eq!(p.div_linear(F::one(), F::one()), None);
        assert_eq!(p.div_linear(F::zero(), F::zero()), None);
    }
}
