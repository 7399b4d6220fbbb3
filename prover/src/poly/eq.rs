//! The equality polynomial `eq(w, x) = ∏ (w_i x_i + (1 - w_i)(1 - x_i))` and its tables.

use ark_ff::{One, Zero};
use rayon::prelude::*;

use crate::field::F;

/// `eq(a, b)` for two points of the same length.
pub fn eq_eval(a: &[F], b: &[F]) -> F {
    debug_assert_eq!(a.len(), b.len());
    a.iter().zip(b).fold(F::one(), |acc, (x, y)| acc * (*x * y + (F::one() - x) * (F::one() - y)))
}

/// The table `eq(w, ·)` over the hypercube, in the canonical MSB-first order.
pub fn eq_evals(w: &[F]) -> Vec<F> {
    eq_evals_scaled(w, F::one())
}

/// `eq(w, ·)` on one thread: the verifier's version (it uses no rayon).
pub fn eq_evals_serial(w: &[F]) -> Vec<F> {
    let mut out = vec![F::zero(); 1 << w.len()];
    out[0] = F::one();
    for (k, wk) in w.iter().enumerate() {
        for i in (0..1usize << k).rev() {
            let v = out[i];
            let hi = v * wk;
            out[2 * i] = v - hi;
            out[2 * i + 1] = hi;
        }
    }
    out
}

/// `scale · eq(w, ·)`.
pub fn eq_evals_scaled(w: &[F], scale: F) -> Vec<F> {
    let n = w.len();
    let mut out = vec![F::zero(); 1 << n];
    out[0] = scale;
    // After processing w_0..w_{k-1}, out[0..2^k] holds the table for those variables in MSB-first
    // order. Each new variable becomes the new least significant bit.
    for (k, wk) in w.iter().enumerate() {
        let len = 1 << k;
        let (lo, _) = out.split_at_mut(2 * len);
        if len >= 1 << 12 {
            // Spread entry i into (2i, 2i+1) from the top down, in parallel over a scratch copy.
            let prev: Vec<F> = lo[..len].to_vec();
            lo.par_chunks_mut(2).zip(prev.par_iter()).for_each(|(pair, v)| {
                let hi = *v * wk;
                pair[0] = *v - hi;
                pair[1] = hi;
            });
        } else {
            for i in (0..len).rev() {
                let v = lo[i];
                let hi = v * wk;
                lo[2 * i] = v - hi;
                lo[2 * i + 1] = hi;
            }
        }
    }
    out
}

/// The eq weights of a sumcheck that binds low to high, split in two halves so that the tables
/// cost `O(2^(n/2))` instead of `O(2^n)` (Dao–Thaler), with the current variable's linear factor
/// left out of both (Gruen).
///
/// With `L` unbound variables `x_0 … x_{L-1}`, the round binds `x_{L-1}`, and the remaining pair
/// index `j` (over `x_0 … x_{L-2}`, MSB-first) has weight `e_out[j >> in_bits] · e_in[j & mask]`.
/// Binding drops the last variable of `e_in` (or, once it is empty, of `e_out`) by summing entry
/// pairs, which is exact because `Σ_x eq(w, x) = 1` for one variable.
#[derive(Clone, Debug)]
pub struct SplitEq {
    w: Vec<F>,
    /// Variables still unbound (including the current one).
    unbound: usize,
    /// `eq(w_0..w_{h-1}, ·)` for the outer half.
    e_out: Vec<F>,
    /// `eq(w_h..w_{L-2}, ·)` for the inner half.
    e_in: Vec<F>,
    out_bits: usize,
    in_bits: usize,
    /// `∏ eq(w_i, r_i)` over the variables bound so far.
    scalar: F,
}

impl SplitEq {
    pub fn new(w: &[F]) -> Self {
        let n = w.len();
        let rest = n.saturating_sub(1);
        let out_bits = rest / 2;
        let in_bits = rest - out_bits;
        SplitEq {
            w: w.to_vec(),
            unbound: n,
            e_out: eq_evals(&w[..out_bits]),
            e_in: eq_evals(&w[out_bits..out_bits + in_bits]),
            out_bits,
            in_bits,
            scalar: F::one(),
        }
    }

    /// Number of unbound variables.
    pub fn unbound(&self) -> usize {
        self.unbound
    }

    /// The `w` coordinate of the variable bound this round.
    pub fn current_w(&self) -> F {
        self.w[self.unbound - 1]
    }

    /// `∏ eq(w_i, r_i)` over the variables bound so far.
    pub fn scalar(&self) -> F {
        self.scalar
    }

    pub fn e_out(&self) -> &[F] {
        &self.e_out
    }

    pub fn e_in(&self) -> &[F] {
        &self.e_in
    }

    pub fn in_bits(&self) -> usize {
        self.in_bits
    }

    /// Binds the current variable to `r`.
    pub fn bind(&mut self, r: F) {
        assert!(self.unbound > 0, "SplitEq::bind with no unbound variable");
        let w = self.current_w();
        self.scalar *= w * r + (F::one() - w) * (F::one() - r);
        self.unbound -= 1;
        if self.unbound == 0 {
            return;
        }
        // The next current variable is the last one of the pair index; drop it from its table.
        if self.in_bits > 0 {
            self.e_in = self.e_in.chunks(2).map(|p| p[0] + p[1]).collect();
            self.in_bits -= 1;
        } else {
            self.e_out = self.e_out.chunks(2).map(|p| p[0] + p[1]).collect();
            self.out_bits -= 1;
        }
    }

    /// The full weight table over the pair index (for tests and tiny instances).
    pub fn pair_weights(&self) -> Vec<F> {
        let mut out = Vec::with_capacity(self.e_out.len() * self.e_in.len());
        for o in &self.e_out {
            for i in &self.e_in {
                out.push(*o * i);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_std::UniformRand;

    fn bits(i: usize, n: usize) -> Vec<F> {
        (0..n).map(|k| if (i >> (n - 1 - k)) & 1 == 1 { F::one() } else { F::zero() }).collect()
    }

    #[test]
    fn table_matches_pointwise_eval_in_msb_first_order() {
        let mut rng = ark_std::test_rng();
        for n in 0..6 {
            let w: Vec<F> = (0..n).map(|_| F::rand(&mut rng)).collect();
            let t = eq_evals(&w);
            for (i, v) in t.iter().enumerate() {
                assert_eq!(*v, eq_eval(&w, &bits(i, n)));
            }
        }
    }

    #[test]
    fn large_table_parallel_path_agrees() {
        let mut rng = ark_std::test_rng();
        let w: Vec<F> = (0..14).map(|_| F::rand(&mut rng)).collect();
        let t = eq_evals(&w);
        for i in [0usize, 1, 777, (1 << 14) - 1] {
            assert_eq!(t[i], eq_eval(&w, &bits(i, 14)));
        }
    }

    #[test]
    fn split_eq_weights_follow_binding() {
        let mut rng = ark_std::test_rng();
        for n in 1..8 {
            let w: Vec<F> = (0..n).map(|_| F::rand(&mut rng)).collect();
            let mut s = SplitEq::new(&w);
            let mut rs = Vec::new();
            for round in 0..n {
                let l = n - round;
                // Pair weights are eq over x_0..x_{L-2}.
                let expect = eq_evals(&w[..l - 1]);
                assert_eq!(s.pair_weights(), expect, "n={n} round={round}");
                let r = F::rand(&mut rng);
                rs.push(r);
                s.bind(r);
            }
            rs.reverse();
            assert_eq!(s.scalar(), eq_eval(&w, &rs));
        }
    }
}
