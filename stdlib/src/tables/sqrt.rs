//! The square root `√x`; by convention `√x = 0` for `x < 0` (the operand is clamped to 0 first).
//!
//! A sampled primitive (see [`super::approx`]): parameters `[(in_bits − 1)·16 + (out_bits − 1),
//! in_frac, out_frac]`, entries within half an output ulp of the reference below.

use super::approx::Spec;

/// Stable kind id (see [`crate::registry`]).
pub const KIND: u8 = 17;

/// The primitive's reference and tolerance (half an output ulp: round to nearest).
pub static SPEC: Spec = Spec { kind: KIND, name: "sqrt", f: reference, tolerance: 0.5 };

/// The real function at the real operand.
pub fn reference(x: &[f64]) -> f64 {
    x[0].max(0.0).sqrt()
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
        check(Fixed::new(16, 8), Fixed::new(16, 8), 2.0, std::f64::consts::SQRT_2);
        check(Fixed::new(16, 8), Fixed::new(16, 8), -3.0, 0.0);
    }
}
