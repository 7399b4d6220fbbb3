//! The claim-reduction sumcheck `Σ_x P(x)·E(x)` for a one-hot matrix `P`, worked in `O(T + K)`
//! memory instead of `O(T·K)`.
//!
//! `P(j, a) = [a = addr_j]` over `T = 2^t` rows and `K = 2^k` columns (row variables first, MSB-first;
//! a row may also be all zero: a block of a wider one-hot matrix), and `E = Σ_i g_i·eq(z_i, ·)`. Binding low variables first binds the `k` address bits before any
//! row bit, and while an address bit is free the whole sum factors through the per-claim
//! histograms `H_i[a] = Σ_{j: addr_j = a} eq(z_i,rows, j)`: each address round costs `O(K)`. Once
//! the address is bound, `P(j, r_a) = eq(r_a, addr_j)` is an ordinary `T`-entry vector and the
//! remaining rounds are a [`ProductSumcheck`]. The messages are those of the dense instance
//! (`ProductSumcheck` over `[P, E]`), bit for bit; only the cost differs.

use ark_ff::{One, Zero};

use super::{ProductSumcheck, SumcheckInstance};
use crate::field::F;
use crate::poly::{eq_evals, MultilinearPoly, UniPoly};
use crate::verify::sumcheck::Term;

pub(crate) struct OneHotReduction {
    /// `(row, column)` of every one; rows not listed are zero.
    ones: Vec<(usize, usize)>,
    k: usize,
    t: usize,
    /// Each claim's point split into `(row part, address part)`, and its weight `g_i`.
    claims: Vec<(Vec<F>, Vec<F>, F)>,
    /// Per claim, `V_i[c] = Σ_{a >> s = c} H_i[a]·eq(r_low, a mod 2^s)` after `s` bound address bits.
    folded: Vec<Vec<F>>,
    /// Address challenges so far, in binding order (least significant bit first).
    bound: Vec<F>,
    /// The row phase, once every address bit is bound.
    rows: Option<ProductSumcheck>,
    /// When every claim has the same row point `zr`, the row phase is `scale·eq(zr, ·)·P` with the
    /// `eq` factored (no `T`-entry `E`): `(zr, scale)`, and the row challenges so far, from which
    /// `E`'s final value follows.
    shared_rows: Option<(Vec<F>, F)>,
    row_challenges: Vec<F>,
    claim: F,
}

impl OneHotReduction {
    /// A `num_rows × 2^k` matrix with a one at each `(row, column)` of `ones` (at most one per row,
    /// `row < num_rows`, `column < 2^k`); `num_rows` a power of two, at least 2; every point has
    /// `t + k` coordinates. The caller (the tensor prover) guarantees all of it.
    pub(crate) fn new(
        num_rows: usize,
        ones: Vec<(usize, usize)>,
        k: usize,
        points: &[Vec<F>],
        weights: &[F],
    ) -> Self {
        let t = num_rows.trailing_zeros() as usize;
        assert!(
            num_rows.is_power_of_two() && t > 0,
            "one-hot rows are padded to a power of two, at least 2"
        );
        assert!(k > 0, "a one-hot reduction needs at least one address bit");
        let claims: Vec<(Vec<F>, Vec<F>, F)> = points
            .iter()
            .zip(weights)
            .map(|(z, g)| {
                assert_eq!(z.len(), t + k, "one-hot claim point has the wrong dimension");
                (z[..t].to_vec(), z[t..].to_vec(), *g)
            })
            .collect();
        let folded: Vec<Vec<F>> = claims
            .iter()
            .map(|(zr, _, _)| {
                let er = eq_evals(zr);
                let mut h = vec![F::zero(); 1 << k];
                for &(j, a) in &ones {
                    h[a] += er[j];
                }
                h
            })
            .collect();
        let claim = claims
            .iter()
            .zip(&folded)
            .map(|((_, za, g), h)| *g * h.iter().zip(eq_evals(za)).map(|(x, e)| *x * e).sum::<F>())
            .sum();
        OneHotReduction {
            ones,
            k,
            t,
            claims,
            folded,
            bound: Vec::new(),
            rows: None,
            shared_rows: None,
            row_challenges: Vec::new(),
            claim,
        }
    }

    /// Starts the row phase: `P(j) = eq(r_a, addr_j)`, `E(j) = Σ_i g_i·eq(za_i, r_a)·eq(zr_i, j)`.
    ///
    /// A final opening has hundreds of one-hot blocks in one batch, all in this phase at once, so
    /// its memory is what counts: when the claims share their row point (a chunk's blocks are
    /// claimed at the chunk point's rows), `E = scale·eq(zr, ·)` is left to the product
    /// sumcheck's split `eq` (`O(√T)`) and only `P` is written out.
    fn start_rows(&mut self, claim: F) {
        let r_a: Vec<F> = self.bound.iter().rev().copied().collect();
        let ea = eq_evals(&r_a);
        let mut p = vec![F::zero(); 1 << self.t];
        for &(j, a) in &self.ones {
            p[j] = ea[a];
        }
        let zr0 = &self.claims[0].0;
        let instance = if self.claims.iter().all(|(zr, _, _)| zr == zr0) {
            let scale: F =
                self.claims.iter().map(|(_, za, g)| *g * crate::poly::eq_eval(za, &r_a)).sum();
            self.shared_rows = Some((zr0.clone(), scale));
            ProductSumcheck::new(
                vec![MultilinearPoly::Dense(p)],
                vec![Term::new(scale, vec![0])],
                Some(zr0.clone()),
                claim,
            )
        } else {
            let mut e = vec![F::zero(); 1 << self.t];
            for (zr, za, g) in &self.claims {
                let scale = *g * crate::poly::eq_eval(za, &r_a);
                for (acc, v) in e.iter_mut().zip(eq_evals(zr)) {
                    *acc += scale * v;
                }
            }
            ProductSumcheck::new(
                vec![MultilinearPoly::Dense(p), MultilinearPoly::Dense(e)],
                vec![Term::product(vec![0, 1])],
                None,
                claim,
            )
        };
        self.rows = Some(instance.expect("T-entry vectors and a point of t coordinates"));
    }
}

impl SumcheckInstance for OneHotReduction {
    fn num_rounds(&self) -> usize {
        self.t + self.k
    }
    fn degree(&self) -> usize {
        2
    }
    fn input_claim(&self) -> F {
        self.claim
    }
    fn round_poly(&mut self, claim: F) -> UniPoly {
        let s = self.bound.len();
        if s == self.k && self.rows.is_none() {
            self.start_rows(claim);
        }
        if let Some(rows) = self.rows.as_mut() {
            return rows.round_poly(claim);
        }
        // Address bit s (from the least significant): the bits above it are still free, the bits
        // below are bound to `self.bound`.
        let mut coeffs = [F::zero(); 3];
        for ((_, za, g), v) in self.claims.iter().zip(&self.folded) {
            let above = eq_evals(&za[..self.k - 1 - s]);
            let (mut s0, mut s1) = (F::zero(), F::zero());
            for (c, e) in above.iter().enumerate() {
                s0 += v[2 * c] * e;
                s1 += v[2 * c + 1] * e;
            }
            let zs = za[self.k - 1 - s];
            // eq(za_low, r_low), the factor E carries for the bits already bound.
            let low: F = za[self.k - s..]
                .iter()
                .zip(self.bound.iter().rev())
                .map(|(z, r)| *z * r + (F::one() - z) * (F::one() - r))
                .product();
            let w = *g * low;
            // (eq(zs, X)) · (S0·(1 − X) + S1·X), both linear in X.
            let (a0, a1) = (F::one() - zs, zs + zs - F::one());
            let (b0, b1) = (s0, s1 - s0);
            coeffs[0] += w * a0 * b0;
            coeffs[1] += w * (a0 * b1 + a1 * b0);
            coeffs[2] += w * a1 * b1;
        }
        UniPoly::from_coeffs(coeffs.to_vec())
    }
    fn bind(&mut self, r: F) {
        if let Some(rows) = self.rows.as_mut() {
            rows.bind(r);
            self.row_challenges.push(r);
            return;
        }
        for v in &mut self.folded {
            *v = v.chunks(2).map(|c| c[0] + r * (c[1] - c[0])).collect();
        }
        self.bound.push(r);
    }
    /// `[P, E]` at the final point, as the dense instance reports them.
    fn final_evals(&self) -> Vec<F> {
        let Some(rows) = self.rows.as_ref() else {
            return vec![F::zero(), F::zero()];
        };
        match &self.shared_rows {
            Some((zr, scale)) => {
                let rho: Vec<F> = self.row_challenges.iter().rev().copied().collect();
                vec![rows.final_evals()[0], *scale * crate::poly::eq_eval(zr, &rho)]
            }
            None => rows.final_evals(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sumcheck::prove_sumcheck;
    use crate::transcript::Transcript;
    use ark_std::UniformRand;

    /// Invariant: the one-hot reduction sends exactly the messages of the dense `P·E` instance and
    /// ends at the same evaluations.
    #[test]
    fn one_hot_reduction_matches_the_dense_instance() {
        let mut rng = ark_std::test_rng();
        // The last two share their row point across claims (the factored row phase).
        let cases = [
            (1, 1, 1, false),
            (1, 3, 2, false),
            (3, 2, 1, false),
            (4, 4, 2, false),
            (2, 3, 3, false),
            (5, 1, 1, false),
            (4, 2, 3, true),
            (2, 3, 2, true),
        ];
        for (t, k, claims, shared) in cases {
            // Every third row is empty, as in a block of a wider matrix.
            let addresses: Vec<Option<usize>> =
                (0..1usize << t).map(|j| (j % 3 != 2).then_some((j * 7 + 3) % (1 << k))).collect();
            let mut table = vec![0u8; (1 << t) << k];
            for (j, a) in addresses.iter().enumerate() {
                if let Some(a) = a {
                    table[(j << k) + a] = 1;
                }
            }
            let rows: Vec<F> = (0..t).map(|_| F::rand(&mut rng)).collect();
            let points: Vec<Vec<F>> = (0..claims)
                .map(|_| {
                    let mut z: Vec<F> = (0..t + k).map(|_| F::rand(&mut rng)).collect();
                    if shared {
                        z[..t].copy_from_slice(&rows);
                    }
                    z
                })
                .collect();
            let weights: Vec<F> = (0..claims).map(|_| F::rand(&mut rng)).collect();
            let mut e = vec![F::zero(); table.len()];
            for (z, g) in points.iter().zip(&weights) {
                for (acc, v) in e.iter_mut().zip(eq_evals(z)) {
                    *acc += *g * v;
                }
            }
            let polys = vec![MultilinearPoly::U8(table), MultilinearPoly::Dense(e)];
            let terms = vec![Term::product(vec![0, 1])];
            let sum = ProductSumcheck::sum(&polys, &terms, None).unwrap();
            let mut dense = ProductSumcheck::new(polys, terms, None, sum).unwrap();
            let ones =
                addresses.iter().enumerate().filter_map(|(j, a)| a.map(|a| (j, a))).collect();
            let mut sparse = OneHotReduction::new(1 << t, ones, k, &points, &weights);
            assert_eq!(sparse.input_claim(), sum, "t = {t}, k = {k}");
            let run = |inst: &mut dyn SumcheckInstance| {
                let mut tr = Transcript::new(b"one-hot-test");
                prove_sumcheck(&mut [inst], &mut tr)
            };
            let (pd, od) = run(&mut dense);
            let (ps, os) = run(&mut sparse);
            assert_eq!(pd.rounds, ps.rounds, "t = {t}, k = {k}");
            assert_eq!(od.final_evals, os.final_evals);
        }
    }
}
