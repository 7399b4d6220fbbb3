//! A full-width MSM whose buckets stay affine and are added to in batches sharing one inversion.
//!
//! Pippenger's cost is almost all bucket additions. Arkworks adds into projective buckets (a mixed
//! addition, about 11 field multiplications); here the additions pending for distinct buckets are
//! collected, their slope denominators inverted together (Montgomery's trick, 3 multiplications
//! each), and each addition then costs about 3 more — roughly twice as fast. An addition to a
//! bucket already waiting in the batch falls back to a projective addition (see [`Buckets`]), so
//! no digit distribution makes it slower than the projective method. Digits are signed, so a
//! window of `c` bits needs `2^(c-1)` buckets. Windows run in parallel. Prover-only.

use ark_bn254::{G1Affine, G1Projective};
use ark_ec::AdditiveGroup;
use ark_ff::{PrimeField, Zero};

use crate::verify::msm::signed_digits;
pub(crate) use crate::verify::msm::window_sum;
use rayon::prelude::*;

type ScalarBigInt = <crate::field::F as PrimeField>::BigInt;

/// Window width for `n` points: about `log2(n) − 4`, within [4, 16].
fn window(n: usize) -> usize {
    let log = usize::BITS as usize - n.max(1).leading_zeros() as usize;
    log.saturating_sub(4).clamp(4, 16)
}

/// `c` bits of `s` starting at bit `at` (zero past the top).
fn bits(s: &ScalarBigInt, at: usize, c: usize) -> u64 {
    let limbs = s.as_ref();
    let (limb, off) = (at / 64, at % 64);
    let Some(&lo) = limbs.get(limb) else { return 0 };
    let mut v = lo >> off;
    if off + c > 64 {
        if let Some(&hi) = limbs.get(limb + 1) {
            v |= hi << (64 - off);
        }
    }
    v & ((1u64 << c) - 1)
}

/// `Σ scalars[i]·bases[i]` (lengths must match; the caller guarantees it).
pub(crate) fn msm(bases: &[G1Affine], scalars: &[ScalarBigInt]) -> G1Projective {
    let n = bases.len().min(scalars.len());
    let c = window(n);
    // Signed digits in (−2^(c−1), 2^(c−1)] need one bit beyond the 254-bit scalars for the carry.
    let windows = (crate::field::F::MODULUS_BIT_SIZE as usize + 1).div_ceil(c);
    // digits[i * windows + w]: one scalar's digits together, written without allocation.
    let mut digits = vec![0i32; windows * n];
    digits.par_chunks_mut(windows).zip(&scalars[..n]).for_each(|(out, s)| {
        signed_digits(out, c, |w| bits(s, w * c, c) as i64);
    });

    let sums: Vec<G1Projective> = (0..windows)
        .into_par_iter()
        .map(|w| {
            let column = digits.iter().skip(w).step_by(windows).copied();
            window_sum(&bases[..n], column, 1 << (c - 1))
        })
        .collect();
    let mut total = G1Projective::zero();
    for s in sums.iter().rev() {
        for _ in 0..c {
            total.double_in_place();
        }
        total += s;
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::F;
    use crate::verify::msm::invert_all;
    use ark_bn254::Fq;
    use ark_ec::{CurveGroup, VariableBaseMSM};
    use ark_ff::One;
    use ark_std::UniformRand;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha20Rng;

    fn reference(bases: &[G1Affine], scalars: &[F]) -> G1Projective {
        let b: Vec<_> = scalars.iter().map(|s| s.into_bigint()).collect();
        G1Projective::msm_bigint(bases, &b)
    }

    fn check(bases: &[G1Affine], scalars: &[F]) {
        let b: Vec<_> = scalars.iter().map(|s| s.into_bigint()).collect();
        assert_eq!(msm(bases, &b), reference(bases, scalars));
    }

    #[test]
    fn agrees_with_arkworks_on_random_and_adversarial_inputs() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        for n in [1usize, 2, 7, 100, 3000] {
            let pts: Vec<G1Projective> = (0..n).map(|_| G1Projective::rand(&mut rng)).collect();
            let bases = G1Projective::normalize_batch(&pts);
            let scalars: Vec<F> = (0..n).map(|_| F::rand(&mut rng)).collect();
            check(&bases, &scalars);
            // Extremes: 0, 1, −1 (= r − 1, all windows busy), small values.
            let extremes: Vec<F> =
                (0..n).map(|i| [F::zero(), F::one(), -F::one(), F::from(7u64)][i % 4]).collect();
            check(&bases, &extremes);
        }
        // The same point many times (doubling inside buckets), P and −P (cancellation), identity
        // bases, equal scalars (every point in the same buckets).
        let g = G1Projective::rand(&mut rng).into_affine();
        let h = G1Projective::rand(&mut rng).into_affine();
        let mut bases = vec![g; 500];
        bases.extend(vec![-g; 300]);
        bases.extend(vec![h; 200]);
        bases.extend(vec![G1Affine::identity(); 50]);
        let same = vec![F::from(12345u64); bases.len()];
        check(&bases, &same);
        let mixed: Vec<F> = (0..bases.len())
            .map(|_| {
                if rng.gen_bool(0.5) {
                    F::from(rng.gen_range(0..4u64))
                } else {
                    F::rand(&mut rng)
                }
            })
            .collect();
        check(&bases, &mixed);
        // Many random points, all in one bucket per window (the overflow path carries them).
        let pts: Vec<G1Projective> = (0..5000).map(|_| G1Projective::rand(&mut rng)).collect();
        let bases = G1Projective::normalize_batch(&pts);
        check(&bases, &vec![-F::from(3u64); bases.len()]);
        let few: Vec<F> = (0..bases.len()).map(|i| F::from(1u64 + (i % 3) as u64)).collect();
        check(&bases, &few);
        // The whole sum cancels to the identity.
        check(&[g, -g, g, -g], &[F::one(), F::one(), F::from(5u64), F::from(5u64)]);
    }

    #[test]
    fn batch_inversion_inverts() {
        let mut rng = ChaCha20Rng::seed_from_u64(4);
        let v: Vec<Fq> = (0..33).map(|_| Fq::rand(&mut rng)).collect();
        let mut w = v.clone();
        invert_all(&mut w);
        for (a, b) in v.iter().zip(&w) {
            assert_eq!(*a * b, Fq::one());
        }
    }

    #[test]
    fn digit_extraction_straddles_limbs() {
        let s = ScalarBigInt::new([u64::MAX, 1, 0, 0]);
        assert_eq!(bits(&s, 60, 8), 0b0001_1111);
        assert_eq!(bits(&s, 300, 8), 0);
        assert_eq!(window(1 << 20), 16);
        assert_eq!(window(1), 4);
    }
}
