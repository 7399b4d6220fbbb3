//! The reciprocal `1/x`. `1/0` is `+∞` (f64's `1/+0`) and saturates to the output type's largest
//! value, as does every `1/x` above it (for `x ∈ (0, 1/max)`); negative operands give negative
//! results (saturating below the smallest).
//!
//! A sampled primitive (see [`super::approx`]): parameters `[(in_bits − 1)·16 + (out_bits − 1),
//! in_frac, out_frac]`, entries within half an output ulp of the reference below.

use super::approx::Spec;

/// Stable kind id (see [`crate::registry`]).
pub const KIND: u8 = 15;

/// The primitive's reference and tolerance (half an output ulp: round to nearest).
pub static SPEC: Spec = Spec { kind: KIND, name: "recip", f: reference, tolerance: 0.5 };

/// The real function at the real operand.
pub fn reference(x: &[f64]) -> f64 {
    1.0 / x[0]
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
        check(Fixed::new(16, 11), Fixed::new(16, 14), 1.0, 1.0);
        check(Fixed::new(16, 11), Fixed::new(16, 14), 4.0, 0.25);
    }
}
