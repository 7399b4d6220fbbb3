//! The hyperbolic tangent, in `(−1, 1)`. Saturation: with `F` output fractional bits the entry is
//! ±1 (or the type's extreme, when it cannot hold 1) for `|x| ≥ (F + 1)·ln 2 / 2` (`5.2` at
//! `F = 14`).
//!
//! A sampled primitive (see [`super::approx`]): parameters `[(in_bits − 1)·16 + (out_bits − 1),
//! in_frac, out_frac]`, entries within half an output ulp of the reference below.

use super::approx::Spec;

/// Stable kind id (see [`crate::registry`]).
pub const KIND: u8 = 10;

/// The primitive's reference and tolerance (half an output ulp: round to nearest).
pub static SPEC: Spec = Spec { kind: KIND, name: "tanh", f: reference, tolerance: 0.5 };

/// The real function at the real operand.
pub fn reference(x: &[f64]) -> f64 {
    x[0].tanh()
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
        check(Fixed::new(16, 8), Fixed::new(16, 14), 1.0, 0.761594155955765);
        check(Fixed::new(16, 8), Fixed::new(16, 14), -0.5, -0.46211715726001);
    }
}
