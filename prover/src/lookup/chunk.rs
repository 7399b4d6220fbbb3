//! The chunk check: read-checking, address, Hamming weight and booleanity of one one-hot chunk
//! `ra_c(j, k)` in a single sumcheck over `(j, k)`, address bits bound first. A lookup's check is
//! the sum of its chunks' ([`crate::sumcheck::SumOf`]).
//!
//! Phase 1 (address rounds) never touches the `T × K` matrix: with the cycle index summed out,
//! the read part is the product of two `K`-entry tables, `F(k) = Σ_j eq(r1, j) ra(j, k)` and
//! `W(k)`, and the booleanity part only needs `P[a] = Σ_j eq(z_j, j) [a_j = a]` and, per address
//! `a`, the running value `v_a = eq(ρ_bound, low bits of a)` of its single non-zero entry. Phase 2
//! (cycle rounds) works on the dense vector `R(j) = ra(j, ρ_k) = eq(ρ_k, a_j)`.

use ark_ff::{AdditiveGroup, Field, One, Zero};
use rayon::prelude::*;

use crate::field::F;
use crate::poly::{eq_evals, MultilinearPoly, UniPoly};
use crate::sumcheck::{ProductSumcheck, SumcheckInstance};
use crate::verify::lookup::PendingChunks;
use crate::verify::Term;

/// `Σ_j weights[j]·[indices[j] = k]` for every `k < buckets`, in parallel.
pub(crate) fn bucket_sums(indices: &[usize], weights: &[F], buckets: usize) -> Vec<F> {
    const BLOCK: usize = 1 << 13;
    indices
        .par_chunks(BLOCK)
        .zip(weights.par_chunks(BLOCK))
        .fold(
            || vec![F::zero(); buckets],
            |mut acc, (idx, w)| {
                for (&a, x) in idx.iter().zip(w) {
                    acc[a] += x;
                }
                acc
            },
        )
        .reduce(
            || vec![F::zero(); buckets],
            |mut a, b| {
                a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
                a
            },
        )
}

enum Phase {
    Address { f: MultilinearPoly, w: MultilinearPoly, p: Vec<F>, v: Vec<F> },
    Cycle { read: Box<ProductSumcheck>, boolean: Box<ProductSumcheck> },
}

pub(crate) struct ChunkCheck<'a> {
    k: usize,
    t: usize,
    indices: &'a [usize],
    r1: Vec<F>,
    z: Vec<F>,
    beta: F,
    claim: F,
    claim_read: F,
    claim_bool: F,
    /// `∏ eq(z_i, ρ_i)` over the address bits bound so far.
    scalar_bool: F,
    /// Address challenges in binding order (least significant bit first).
    rho: Vec<F>,
    phase: Phase,
    /// Round polynomials of the two parts in the current round, to update their claims.
    last: Option<(UniPoly, UniPoly)>,
}

impl<'a> ChunkCheck<'a> {
    /// The prover of chunk `indices`' part of the instance `pending`'s check (`a_j` for every
    /// padded query `j`): its read part against `w` (its `W_c`) and its booleanity part weighted by
    /// `beta`, with `f = F(k) = Σ_j eq(r1, j)·[a_j = k]` (see [`bucket_sums`]) and `eq_z_cycle` the
    /// `eq` table of `z`'s cycle coordinates.
    pub(crate) fn new(
        pending: &PendingChunks,
        z: &[F],
        beta: F,
        w: Vec<F>,
        indices: &'a [usize],
        f: Vec<F>,
        eq_z_cycle: &[F],
    ) -> Self {
        let kk = 1usize << pending.chunk_bits;
        let claim: F = f.iter().zip(&w).map(|(a, b)| *a * b).sum();
        ChunkCheck {
            k: pending.chunk_bits,
            t: pending.r1.len(),
            indices,
            r1: pending.r1.clone(),
            z: z.to_vec(),
            beta,
            claim,
            claim_read: claim,
            claim_bool: F::zero(),
            scalar_bool: F::one(),
            rho: Vec::new(),
            phase: Phase::Address {
                f: MultilinearPoly::Dense(f),
                w: MultilinearPoly::Dense(w),
                p: bucket_sums(indices, eq_z_cycle, kk),
                v: vec![F::one(); kk],
            },
            last: None,
        }
    }

    /// Moves to the cycle rounds once every address bit is bound.
    fn start_cycle_phase(&mut self, w_at_rho: F) {
        let rho_k: Vec<F> = self.rho.iter().rev().copied().collect();
        let eq_rho = eq_evals(&rho_k);
        let r: Vec<F> = self.indices.par_iter().map(|&a| eq_rho[a]).collect();
        let r_poly = MultilinearPoly::Dense(r);
        let read = ProductSumcheck::new(
            vec![r_poly.clone()],
            vec![Term::new(w_at_rho, vec![0])],
            Some(self.r1.clone()),
            self.claim_read,
        )
        .expect("R has the cycle dimension of r1");
        let boolean = ProductSumcheck::new(
            vec![r_poly],
            vec![Term::new(self.scalar_bool, vec![0, 0]), Term::new(-self.scalar_bool, vec![0])],
            Some(self.z[..self.t].to_vec()),
            self.claim_bool,
        )
        .expect("R has the cycle dimension of z");
        self.phase = Phase::Cycle { read: Box::new(read), boolean: Box::new(boolean) };
    }
}

impl SumcheckInstance for ChunkCheck<'_> {
    fn num_rounds(&self) -> usize {
        self.t + self.k
    }

    fn degree(&self) -> usize {
        3
    }

    fn input_claim(&self) -> F {
        self.claim
    }

    fn round_poly(&mut self, _claim: F) -> UniPoly {
        let (read, boolean) = match &mut self.phase {
            Phase::Cycle { read, boolean } => {
                (read.round_poly(self.claim_read), boolean.round_poly(self.claim_bool))
            }
            Phase::Address { f, w, p, v } => {
                let z_k = &self.z[self.t..];
                address_round(f, w, p, v, z_k, self.rho.len(), self.scalar_bool)
            }
        };
        let mut coeffs = vec![F::zero(); 4];
        for (i, c) in read.coeffs.iter().enumerate() {
            coeffs[i] += c;
        }
        for (i, c) in boolean.coeffs.iter().enumerate() {
            coeffs[i] += self.beta * c;
        }
        self.last = Some((read, boolean));
        UniPoly::from_coeffs(coeffs)
    }

    fn bind(&mut self, r: F) {
        let (read, boolean) = self.last.take().expect("round_poly precedes bind");
        self.claim_read = read.evaluate(r);
        self.claim_bool = boolean.evaluate(r);
        let mut finished_address = None;
        match &mut self.phase {
            Phase::Address { f, w, p: _, v } => {
                let m = self.rho.len();
                let z_cur = self.z[self.t + self.k - 1 - m];
                self.scalar_bool *= z_cur * r + (F::one() - z_cur) * (F::one() - r);
                for (a, va) in v.iter_mut().enumerate() {
                    *va *= if (a >> m) & 1 == 1 { r } else { F::one() - r };
                }
                f.bind_low(r);
                w.bind_low(r);
                self.rho.push(r);
                if self.rho.len() == self.k {
                    finished_address = Some(w.get(0));
                }
            }
            Phase::Cycle { read, boolean } => {
                read.bind(r);
                boolean.bind(r);
            }
        }
        if let Some(w_at_rho) = finished_address {
            self.start_cycle_phase(w_at_rho);
        }
    }

    fn final_evals(&self) -> Vec<F> {
        match &self.phase {
            Phase::Cycle { read, .. } => vec![read.final_evals()[0]],
            Phase::Address { .. } => vec![F::zero()],
        }
    }
}

/// Round polynomials of the read and booleanity parts in an address round.
fn address_round(
    f: &MultilinearPoly,
    w: &MultilinearPoly,
    p: &[F],
    v: &[F],
    z_k: &[F],
    m: usize,
    scalar_bool: F,
) -> (UniPoly, UniPoly) {
    let (MultilinearPoly::Dense(f), MultilinearPoly::Dense(w)) = (f, w) else {
        unreachable!("the address tables are built dense");
    };
    // Read: Σ_i (F0 + X dF)(W0 + X dW).
    let (mut c0, mut c1, mut c2) = (F::zero(), F::zero(), F::zero());
    for i in 0..f.len() / 2 {
        let (f0, f1, w0, w1) = (f[2 * i], f[2 * i + 1], w[2 * i], w[2 * i + 1]);
        let (df, dw) = (f1 - f0, w1 - w0);
        c0 += f0 * w0;
        c1 += f0 * dw + df * w0;
        c2 += df * dw;
    }
    let read = UniPoly::from_coeffs(vec![c0, c1, c2]);

    // Booleanity: scalar · eq(z_cur, X) · Σ_a α_a (v_a² ℓ_a(X)² − v_a ℓ_a(X)).
    let k = z_k.len();
    let z_cur = z_k[k - 1 - m];
    let e_high = eq_evals(&z_k[..k - 1 - m]);
    let (mut s1sq, mut s1, mut s0sq, mut s0) = (F::zero(), F::zero(), F::zero(), F::zero());
    for (a, (pa, va)) in p.iter().zip(v).enumerate() {
        if pa.is_zero() {
            continue;
        }
        let alpha = *pa * e_high[a >> (m + 1)];
        let (sq, lin) = (alpha * va.square(), alpha * va);
        if (a >> m) & 1 == 1 {
            s1sq += sq;
            s1 += lin;
        } else {
            s0sq += sq;
            s0 += lin;
        }
    }
    // q(X) = s1sq X² − s1 X + s0sq (1 − X)² − s0 (1 − X)
    let q = UniPoly::from_coeffs(vec![s0sq - s0, s0 - s1 - s0sq.double(), s1sq + s0sq]);
    let boolean =
        q.mul_linear(scalar_bool * (F::one() - z_cur), scalar_bool * (z_cur.double() - F::one()));
    (read, boolean)
}
