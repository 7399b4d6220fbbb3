//! Multi-scalar multiplication for commitments, with cheap paths for the vectors Atlas commits to.
//!
//! Atlas commits mostly to one-hot address chunks (entries 0/1) and small integers (remainders,
//! quantized weights), where a full 254-bit MSM wastes most of its work:
//!
//! - all zero → the identity, no work;
//! - entries in {−1, 0, 1} → one (mixed) addition per non-zero entry, no scalar multiplication;
//! - entries with `|v| < 2^b`, `b ≤ 64` → Pippenger buckets over `b` bits instead of 254, with a
//!   negative entry subtracting its base from the bucket of `|v|` (a point negation is free);
//! - anything else → arkworks' [`VariableBaseMSM`].
//!
//! Every path computes the same group element `Σ v_i·G_i`; only the cost differs. Prover-only
//! (rayon).

use ark_bn254::{G1Affine, G1Projective};
use ark_ec::{AdditiveGroup, VariableBaseMSM};
use ark_ff::{PrimeField, Zero};
use rayon::prelude::*;

use super::batch_affine;
use crate::field::F;
use crate::poly::MultilinearPoly;

/// Largest Pippenger window: 2^16 buckets of 96 bytes is 6 MB per thread; wider windows save
/// little and cost memory on many-core machines.
const MAX_WINDOW: usize = 16;

/// A small entry as (negative, magnitude).
type Signed = (bool, u64);

/// `Σ poly[i]·bases[i]`. Precondition: `bases.len() == poly.len()` (the caller slices the key).
pub(crate) fn commit_poly(bases: &[G1Affine], poly: &MultilinearPoly) -> G1Projective {
    debug_assert_eq!(bases.len(), poly.len());
    match poly {
        MultilinearPoly::U8(v) => small(bases, &|i| (false, v[i] as u64)),
        MultilinearPoly::I32(v) => small(bases, &|i| (v[i] < 0, v[i].unsigned_abs() as u64)),
        MultilinearPoly::I64(v) => small(bases, &|i| (v[i] < 0, v[i].unsigned_abs())),
        MultilinearPoly::Dense(v) => commit_field(bases, v),
    }
}

/// `Σ evals[i]·bases[i]` for field entries; entries that are all small integers (say, a one-hot
/// vector stored densely) still take the cheap paths. Precondition: `bases.len() == evals.len()`.
pub(crate) fn commit_field(bases: &[G1Affine], evals: &[F]) -> G1Projective {
    debug_assert_eq!(bases.len(), evals.len());
    let as_small: Option<Vec<Signed>> = evals.par_iter().map(small_value).collect();
    match as_small {
        Some(vals) => small(bases, &|i| vals[i]),
        None => dense(bases, evals),
    }
}

/// Below this many points the batched-affine MSM's bookkeeping does not pay.
const BATCH_AFFINE_FROM: usize = 1 << 13;

/// The full-width MSM.
pub(crate) fn dense(bases: &[G1Affine], evals: &[F]) -> G1Projective {
    let bigints: Vec<_> = evals.par_iter().map(|e| e.into_bigint()).collect();
    if bases.len() >= BATCH_AFFINE_FROM {
        super::batch_affine::msm(bases, &bigints)
    } else {
        G1Projective::msm_bigint(bases, &bigints)
    }
}

/// `x` as a signed 64-bit magnitude, if `x` or `−x` is below 2^64.
fn small_value(x: &F) -> Option<Signed> {
    let fits = |b: &<F as PrimeField>::BigInt| b.as_ref()[1..].iter().all(|&l| l == 0);
    let pos = x.into_bigint();
    if fits(&pos) {
        return Some((false, pos.as_ref()[0]));
    }
    let neg = (-*x).into_bigint();
    fits(&neg).then(|| (true, neg.as_ref()[0]))
}

/// Dispatches small entries (`get(i)` for `i < bases.len()`) by their largest magnitude.
fn small<G: Fn(usize) -> Signed + Sync>(bases: &[G1Affine], get: &G) -> G1Projective {
    let n = bases.len();
    let max = (0..n).into_par_iter().map(|i| get(i).1).max().unwrap_or(0);
    match max {
        0 => G1Projective::zero(),
        1 => signed_sum(bases, get),
        _ => pippenger(bases, get, (64 - max.leading_zeros()) as usize),
    }
}

/// Entries in {−1, 0, 1}: add or subtract the base, one mixed addition per non-zero entry.
fn signed_sum<G: Fn(usize) -> Signed + Sync>(bases: &[G1Affine], get: &G) -> G1Projective {
    bases
        .par_iter()
        .enumerate()
        .fold(G1Projective::zero, |mut acc, (i, base)| {
            match get(i) {
                (_, 0) => {}
                (false, _) => acc += base,
                (true, _) => acc -= base,
            }
            acc
        })
        .reduce(G1Projective::zero, |a, b| a + b)
}

/// The window `c` minimising the bucket work for `bits`-bit magnitudes over `len` entries: each
/// of the `⌈bits/c⌉` windows costs one addition per entry and two per bucket.
fn window_for(bits: usize, len: usize) -> usize {
    (1..=bits.min(MAX_WINDOW))
        .min_by_key(|&c| bits.div_ceil(c) * (len + (2usize << c)))
        .unwrap_or(1)
}

/// Pippenger over `bits`-bit magnitudes (`2 ≤ bits ≤ 64`), with batched-affine buckets. Each thread
/// takes a contiguous range of entries and all windows (rather than one window each), because small
/// values have few windows.
fn pippenger<G: Fn(usize) -> Signed + Sync>(
    bases: &[G1Affine],
    get: &G,
    bits: usize,
) -> G1Projective {
    let n = bases.len();
    let threads = rayon::current_num_threads().max(1);
    let chunk = n.div_ceil(threads).max(1);
    let c = window_for(bits, chunk);
    let windows = bits.div_ceil(c);
    let mask = (1u64 << c) - 1;
    (0..n)
        .step_by(chunk)
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|start| {
            let end = (start + chunk).min(n);
            let mut total = G1Projective::zero();
            for w in (0..windows).rev() {
                for _ in 0..c {
                    total.double_in_place();
                }
                let shift = w * c;
                // Digits below 2^c ≤ 2^16 fit an i32; the sign of the entry is the digit's sign.
                let digits = (start..end).map(|i| {
                    let (neg, mag) = get(i);
                    let d = ((mag >> shift) & mask) as i32;
                    if neg {
                        -d
                    } else {
                        d
                    }
                });
                total += batch_affine::window_sum(&bases[start..end], digits, (1 << c) - 1);
            }
            total
        })
        .reduce(G1Projective::zero, |a, b| a + b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::from_i64;
    use ark_ec::{AffineRepr, CurveGroup};
    use ark_std::UniformRand;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha20Rng;

    fn bases(n: usize) -> Vec<G1Affine> {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let pts: Vec<G1Projective> = (0..n).map(|_| G1Projective::rand(&mut rng)).collect();
        G1Projective::normalize_batch(&pts)
    }

    /// Arkworks' MSM, independent of every path in this module.
    fn reference(bases: &[G1Affine], poly: &MultilinearPoly) -> G1Projective {
        let b: Vec<_> = poly.to_field().iter().map(|e| e.into_bigint()).collect();
        G1Projective::msm_bigint(bases, &b)
    }

    #[test]
    fn every_path_agrees_with_the_dense_msm() {
        let n = 1 << 9;
        let g = bases(n);
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let polys = [
            MultilinearPoly::U8(vec![0; n]),
            MultilinearPoly::U8((0..n).map(|i| (i % 7 == 0) as u8).collect()),
            MultilinearPoly::I32((0..n).map(|_| rng.gen_range(-1..=1)).collect()),
            MultilinearPoly::U8((0..n).map(|_| rng.gen()).collect()),
            MultilinearPoly::I32((0..n).map(|_| rng.gen_range(-(1 << 15)..(1 << 15))).collect()),
            MultilinearPoly::I32((0..n).map(|_| rng.gen()).collect()),
            MultilinearPoly::I32(vec![i32::MIN; n]),
            MultilinearPoly::I64((0..n).map(|_| rng.gen()).collect()),
            MultilinearPoly::I64(vec![i64::MIN; n]),
            MultilinearPoly::Dense((0..n).map(|i| from_i64(i as i64 % 3 - 1)).collect()),
            MultilinearPoly::Dense((0..n).map(|_| from_i64(rng.gen_range(-300..300))).collect()),
            MultilinearPoly::Dense((0..n).map(|_| F::rand(&mut rng)).collect()),
        ];
        for (k, p) in polys.iter().enumerate() {
            assert_eq!(commit_poly(&g, p), reference(&g, p), "poly {k}");
        }
        // Entries whose 254-bit form is dense but is a negated u64.
        let negs: Vec<F> = (0..n).map(|_| -F::from(rng.gen::<u64>())).collect();
        let poly = MultilinearPoly::Dense(negs.clone());
        assert_eq!(commit_field(&g, &negs), reference(&g, &poly));
        // Large enough for the batched-affine dense path, and for a u8 table with few buckets and
        // many points per bucket.
        let big = bases(BATCH_AFFINE_FROM * 8);
        let bytes = MultilinearPoly::U8((0..big.len()).map(|_| rng.gen()).collect());
        assert_eq!(commit_poly(&big, &bytes), reference(&big, &bytes));
        let poly = MultilinearPoly::Dense((0..big.len()).map(|_| F::rand(&mut rng)).collect());
        assert_eq!(commit_poly(&big, &poly), reference(&big, &poly));
    }

    #[test]
    fn one_entry_and_zero_tables() {
        let g = bases(1);
        assert!(commit_poly(&g, &MultilinearPoly::U8(vec![0])).is_zero());
        assert_eq!(commit_poly(&g, &MultilinearPoly::I32(vec![-5])), g[0] * -F::from(5u64));
        assert_eq!(
            commit_poly(&g, &MultilinearPoly::Dense(vec![F::zero()])).into_affine(),
            G1Affine::zero()
        );
    }

    #[test]
    fn window_choice_is_sane() {
        assert_eq!(window_for(16, 1 << 19), 16);
        assert_eq!(window_for(8, 1 << 19), 8);
        assert!(window_for(64, 1 << 19) <= MAX_WINDOW);
        assert_eq!(window_for(2, 4), 2);
    }
}
