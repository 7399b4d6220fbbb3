//! The reciprocal square root `1/√x`, for layer norm's `1/√variance`. By convention `1/√x = +∞` for
//! `x ≤ 0` (no epsilon: a variance of 0 has no scale), which saturates to the output type's
//! largest value, as does every `1/√x` above it (for `x < 1/max²`).
//!
//! A sampled primitive (see [`super::approx`]): parameters `[(in_bits − 1)·16 + (out_bits − 1),
//! in_frac, out_frac]`, entries within half an output ulp of the reference below.

use super::approx::Spec;

/// Stable kind id (see [`crate::registry`]).
pub const KIND: u8 = 16;

/// The primitive's reference and tolerance (half an output ulp: round to nearest).
pub static SPEC: Spec = Spec { kind: KIND, name: "rsqrt", f: reference, tolerance: 0.5 };

/// The real function at the real operand.
pub fn reference(x: &[f64]) -> f64 {
    if x[0] <= 0.0 {
        f64::INFINITY
    } else {
        1.0 / x[0].sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::super::approx::{check_entry, Fixed};
    use super::*;

    fn check(i: Fixed, o: Fixed, x: f64, want: f64) {
        check_entry(&SPEC, i, o, x, want);
    }

    #[test]
    fn known_values() {
        check(Fixed::new(16, 8), Fixed::new(16, 11), 4.0, 0.5);
        check(Fixed::new(16, 8), Fixed::new(16, 11), 0.0, 15.99951171875);
    }
}
