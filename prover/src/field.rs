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
