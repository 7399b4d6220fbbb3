//! The BN254 scalar field and conversions between it and small signed integers.
//!
//! Tensor values in Atlas are small two's-complement integers. They embed into the field as
//! `x mod p`, so a negative `x` becomes `p - |x|`. [`to_i64`] inverts that embedding for any field
//! element whose representative lies within `i64` of zero.

use ark_ff::{BigInteger, PrimeField};

/// The scalar field every Atlas polynomial lives in.
pub type F = ark_bn254::Fr;

/// Embeds a signed integer: `x ↦ x mod p`.
#[inline]
pub fn from_i64(x: i64) -> F {
    if x >= 0 {
        F::from(x as u64)
    } else {
        -F::from(x.unsigned_abs())
    }
}

/// Embeds a signed 128-bit integer: `x ↦ x mod p`.
#[inline]
pub fn from_i128(x: i128) -> F {
    if x >= 0 {
        F::from(x as u128)
    } else {
        -F::from(x.unsigned_abs())
    }
}

/// The signed integer `x` with `x ≡ v (mod p)` and `|x| < 2^63`, if there is one.
pub fn to_i64(v: &F) -> Option<i64> {
    let fits = |b: &<F as PrimeField>::BigInt| b.as_ref()[1..].iter().all(|&l| l == 0);
    let pos = v.into_bigint();
    if fits(&pos) && pos.as_ref()[0] <= i64::MAX as u64 {
        return Some(pos.as_ref()[0] as i64);
    }
    let neg = (-*v).into_bigint();
    if fits(&neg) && neg.as_ref()[0] <= 1u64 << 63 {
        return Some((neg.as_ref()[0] as i64).wrapping_neg());
    }
    None
}

/// Canonical little-endian bytes of a field element (32 bytes).
pub fn to_le_bytes(v: &F) -> Vec<u8> {
    v.into_bigint().to_bytes_le()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_integers_round_trip() {
        for x in [0i64, 1, -1, 255, -256, i32::MAX as i64, i32::MIN as i64, i64::MAX, i64::MIN] {
            assert_eq!(to_i64(&from_i64(x)), Some(x), "{x}");
        }
        assert_eq!(from_i128(-5), from_i64(-5));
        assert_eq!(from_i128(1 << 100) * from_i64(2), from_i128(1 << 101));
    }

    #[test]
    fn large_elements_are_not_small() {
        let big = from_i128(1 << 100);
        assert_eq!(to_i64(&big), None);
        assert_eq!(to_i64(&-big), None);
    }
}

/// Delayed modular reduction: accumulates `Σ a_i · b_i` as a plain 576-bit integer of Montgomery
/// representations and reduces once at the end. A Montgomery multiplication is a 4×4-limb product
/// plus a reduction of about the same cost; in an inner loop of `n` products this pays `n`
/// products and one reduction instead of `n` of each.
///
/// Invariant: at most `2^60` products are accumulated (each is below `p² < 2^508`, the
/// accumulator holds 576 bits).
#[derive(Clone, Copy, Debug, Default)]
pub struct MulAcc {
    limbs: [u64; 9],
}

impl MulAcc {
    pub fn new() -> Self {
        MulAcc::default()
    }

    /// `self += a · b` (unreduced).
    #[inline(always)]
    pub fn add_mul(&mut self, a: &F, b: &F) {
        let (x, y) = (&a.0 .0, &b.0 .0);
        let mut prod = [0u64; 8];
        for i in 0..4 {
            let mut carry = 0u128;
            for j in 0..4 {
                let t = x[i] as u128 * y[j] as u128 + prod[i + j] as u128 + carry;
                prod[i + j] = t as u64;
                carry = t >> 64;
            }
            prod[i + 4] = carry as u64;
        }
        let mut carry = 0u128;
        for (acc, p) in self.limbs.iter_mut().zip(prod.iter().chain(std::iter::once(&0))) {
            let t = *acc as u128 + *p as u128 + carry;
            *acc = t as u64;
            carry = t >> 64;
        }
    }

    /// Merges another accumulator.
    pub fn add(&mut self, other: &MulAcc) {
        let mut carry = 0u128;
        for (acc, o) in self.limbs.iter_mut().zip(other.limbs) {
            let t = *acc as u128 + o as u128 + carry;
            *acc = t as u64;
            carry = t >> 64;
        }
    }

    /// `Σ a_i · b_i` as a field element.
    pub fn reduce(&self) -> F {
        // The accumulator T equals Σ (a_i R)(b_i R) = (Σ a_i b_i) R² as an integer. Write
        // T = L + H·2^256 with H = H_lo + h·2^256. As Montgomery representations, [L] has value
        // L·R⁻¹ and [H_lo] value H_lo·R⁻¹, so
        // Σ a_i b_i = T·R⁻² = [L]·[1] + [H_lo] + h, where [1] (representation 1) has value R⁻¹.
        let lo = reduce_limbs([self.limbs[0], self.limbs[1], self.limbs[2], self.limbs[3]]);
        let hi = reduce_limbs([self.limbs[4], self.limbs[5], self.limbs[6], self.limbs[7]]);
        let one_repr = F::new_unchecked(ark_ff::BigInt([1, 0, 0, 0]));
        lo * one_repr + hi + F::from(self.limbs[8])
    }
}

/// Delayed reduction for products of a field element and a small signed integer: accumulates
/// `Σ w_i · s_i` (`|s_i| < 2^127`) as 4×2-limb products of `w_i`'s Montgomery representation, with
/// no conversion of `s_i` into the field and one reduction at the end. This is what makes exact
/// small-integer arithmetic in the first sumcheck round cheaper than field arithmetic.
///
/// Invariant: at most `2^60` products are accumulated (each is below `2^381`, each half of the
/// accumulator holds 448 bits).
#[derive(Clone, Copy, Debug, Default)]
pub struct SmallMulAcc {
    pos: [u64; 7],
    neg: [u64; 7],
}

impl SmallMulAcc {
    pub fn new() -> Self {
        SmallMulAcc::default()
    }

    /// `self += w · s` (unreduced).
    #[inline(always)]
    pub fn add_mul(&mut self, w: &F, s: i128) {
        let x = &w.0 .0;
        let m = s.unsigned_abs();
        let y = [m as u64, (m >> 64) as u64];
        let mut prod = [0u64; 6];
        for (j, &yj) in y.iter().enumerate() {
            if yj == 0 {
                continue;
            }
            let mut carry = 0u128;
            for i in 0..4 {
                let t = x[i] as u128 * yj as u128 + prod[i + j] as u128 + carry;
                prod[i + j] = t as u64;
                carry = t >> 64;
            }
            prod[j + 4] = carry as u64;
        }
        let acc = if s < 0 { &mut self.neg } else { &mut self.pos };
        let mut carry = 0u128;
        for (a, p) in acc.iter_mut().zip(prod.iter().chain(std::iter::once(&0))) {
            let t = *a as u128 + *p as u128 + carry;
            *a = t as u64;
            carry = t >> 64;
        }
    }

    /// `Σ w_i · s_i` as a field element.
    pub fn reduce(&self) -> F {
        // An accumulator T is Σ (w_i R)·|s_i| = (Σ w_i |s_i|)·R as an integer. With
        // T = L + H·2^256: T·R⁻¹ = [L] + H, where [L] (representation L mod p) has value L·R⁻¹.
        let value = |t: &[u64; 7]| {
            let lo = reduce_limbs([t[0], t[1], t[2], t[3]]);
            let hi = F::from_bigint(ark_ff::BigInt([t[4], t[5], t[6], 0]))
                .expect("H < 2^192 is below the modulus");
            lo + hi
        };
        value(&self.pos) - value(&self.neg)
    }
}

/// The field element whose Montgomery representation is `limbs mod p`.
fn reduce_limbs(mut limbs: [u64; 4]) -> F {
    let modulus = <F as PrimeField>::MODULUS.0;
    // limbs < 2^256 < 6p: at most five subtractions.
    while geq(&limbs, &modulus) {
        let mut borrow = 0u128;
        for (l, m) in limbs.iter_mut().zip(modulus) {
            let t = (*l as u128).wrapping_sub(m as u128).wrapping_sub(borrow);
            *l = t as u64;
            borrow = (t >> 127) & 1;
        }
    }
    F::new_unchecked(ark_ff::BigInt(limbs))
}

fn geq(a: &[u64; 4], b: &[u64; 4]) -> bool {
    for i in (0..4).rev() {
        if a[i] != b[i] {
            return a[i] > b[i];
        }
    }
    true
}

#[cfg(test)]
mod mulacc_tests {
    use super::*;
    use ark_std::UniformRand;

    #[test]
    fn delayed_reduction_matches_field_arithmetic() {
        let mut rng = ark_std::test_rng();
        for n in [0usize, 1, 2, 7, 1000] {
            let a: Vec<F> = (0..n).map(|_| F::rand(&mut rng)).collect();
            let b: Vec<F> = (0..n).map(|_| F::rand(&mut rng)).collect();
            let mut acc = MulAcc::new();
            a.iter().zip(&b).for_each(|(x, y)| acc.add_mul(x, y));
            assert_eq!(acc.reduce(), a.iter().zip(&b).map(|(x, y)| *x * y).sum::<F>());
        }
        // Extreme representations: p − 1 squared many times.
        let m = -F::from(1u64);
        let mut acc = MulAcc::new();
        let mut other = MulAcc::new();
        for _ in 0..5000 {
            acc.add_mul(&m, &m);
            other.add_mul(&m, &F::from(3u64));
        }
        acc.add(&other);
        assert_eq!(acc.reduce(), F::from(5000u64) + F::from(5000u64) * m * F::from(3u64));
    }

    #[test]
    fn small_delayed_reduction_matches_field_arithmetic() {
        let mut rng = ark_std::test_rng();
        let smalls =
            [0i128, 1, -1, 255, -70000, i64::MIN as i128, (1i128 << 126) - 1, -(1i128 << 126)];
        let mut acc = SmallMulAcc::new();
        let mut expect = F::from(0u64);
        for _ in 0..300 {
            for &s in &smalls {
                let w = F::rand(&mut rng);
                acc.add_mul(&w, s);
                expect += w * from_i128(s);
            }
        }
        let m = -F::from(1u64);
        acc.add_mul(&m, (1i128 << 126) - 1);
        expect += m * from_i128((1i128 << 126) - 1);
        assert_eq!(acc.reduce(), expect);
        assert_eq!(SmallMulAcc::new().reduce(), F::from(0u64));
    }
}
