//! A single-threaded multi-scalar multiplication for the verifier (bucket method), used where the
//! verifier combines many commitments — the columns of a one-hot address chunk. The verifier uses
//! no rayon, so arkworks' parallel MSM is off limits here.

use ark_bn254::{G1Affine, G1Projective};
use ark_ec::{AdditiveGroup, AffineRepr};
use ark_ff::{BigInteger, PrimeField};

use crate::field::F;

/// `Σ scalars[i] · points[i]` (extra entries of the longer slice are ignored).
pub fn msm(points: &[G1Affine], scalars: &[F]) -> G1Projective {
    let n = points.len().min(scalars.len());
    if n == 0 {
        return G1Projective::ZERO;
    }
    if n < 16 {
        // The bucket method's fixed cost (2^c buckets per window) dominates small inputs. The
        // projective product runs with BN254's GLV endomorphism; the affine one does not.
        return points.iter().zip(scalars).map(|(p, s)| p.into_group() * s).sum();
    }
    let c = window_bits(n);
    let digits: Vec<_> = scalars[..n].iter().map(|s| s.into_bigint()).collect();
    // Only as many windows as the widest scalar needs (batching weights are 128-bit).
    let bits = digits.iter().map(|d| d.num_bits()).max().unwrap_or(0) as usize;
    let windows = bits.div_ceil(c).max(1);
    let mut buckets = vec![G1Projective::ZERO; (1 << c) - 1];
    let mut total = G1Projective::ZERO;
    for w in (0..windows).rev() {
        for _ in 0..c {
            total.double_in_place();
        }
        buckets.iter_mut().for_each(|b| *b = G1Projective::ZERO);
        for (p, d) in points[..n].iter().zip(&digits) {
            let digit = window_digit(d, w * c, c);
            if digit != 0 {
                buckets[digit - 1] += p;
            }
        }
        // Σ_d d · bucket_d as a running sum from the top bucket down.
        let mut running = G1Projective::ZERO;
        let mut window_sum = G1Projective::ZERO;
        for b in buckets.iter().rev() {
            running += b;
            window_sum += running;
        }
        total += window_sum;
    }
    total
}

fn window_bits(n: usize) -> usize {
    // About log2(n) − 2, the usual optimum for affine-into-projective bucket additions.
    (usize::BITS - n.leading_zeros()).saturating_sub(2).clamp(2, 12) as usize
}

/// Bits `[start, start + c)` of `d`.
fn window_digit(d: &<F as PrimeField>::BigInt, start: usize, c: usize) -> usize {
    let mut digit = 0usize;
    for i in 0..c {
        if start + i < 256 && d.get_bit(start + i) {
            digit |= 1 << i;
        }
    }
    digit
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ec::{CurveGroup, VariableBaseMSM};
    use ark_std::UniformRand;

    #[test]
    fn agrees_with_arkworks() {
        let mut rng = ark_std::test_rng();
        for n in [0usize, 1, 5, 16, 17, 100, 300] {
            let points: Vec<G1Affine> =
                (0..n).map(|_| G1Projective::rand(&mut rng).into_affine()).collect();
            let mut scalars: Vec<F> = (0..n).map(|_| F::rand(&mut rng)).collect();
            if n > 3 {
                scalars[0] = F::from(0u64);
                scalars[1] = -F::from(1u64);
                scalars[2] = F::from(1u64);
            }
            let expect = G1Projective::msm(&points, &scalars).unwrap();
            assert_eq!(msm(&points, &scalars), expect, "n = {n}");
        }
    }
}
