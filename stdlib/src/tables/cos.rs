//! The cosine (radians). No saturation unless the output type cannot hold ±1 (e.g. `cos 0 = 1`
//! in `fix<16, 15>` saturates to `1 − 2^-15`).
//!
//! A sampled primitive (see [`super::approx`]): parameters `[(in_bits − 1)·16 + (out_bits − 1),
//! in_frac, out_frac]`, entries within half an output ulp of the reference below.

use super::approx::Spec;

/// Stable kind id (see [`crate::registry`]).
pub const KIND: u8 = 19;

/// The primitive's reference and tolerance (half an output ulp: round to nearest).
pub static SPEC: Spec = Spec { kind: KIND, name: "cos", f: reference, tolerance: 0.5 };

/// The real function at the real operand.
pub fn reference(x: &[f64]) -> f64 {
    x[0].cos()
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
        check(Fixed::new(16, 8), Fixed::new(16, 14), 0.0, 1.0);
        check(Fixed::new(16, 8), Fixed::new(16, 14), 2.0, -0.416146836547142);
    }
}
