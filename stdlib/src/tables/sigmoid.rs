//! The logistic sigmoid `1 / (1 + e^(−x))`, in `(0, 1)`. Saturation: with `F` output fractional bits
//! the entry is the largest value below 1 (or 1 itself, when the type holds it) for
//! `x ≥ (F + 1)·ln 2`, and 0 for `x ≤ −(F + 1)·ln 2`; so the table is constant outside
//! `±(F + 1)·ln 2` (`±10.4` at `F = 14`).
//!
//! A sampled primitive (see [`super::approx`]): parameters `[(in_bits − 1)·16 + (out_bits − 1),
//! in_frac, out_frac]`, entries within half an output ulp of the reference below.

use super::approx::Spec;

/// Stable kind id (see [`crate::registry`]).
pub const KIND: u8 = 9;

/// The primitive's reference and tolerance (half an output ulp: round to nearest).
pub static SPEC: Spec = Spec { kind: KIND, name: "sigmoid", f: reference, tolerance: 0.5 };

/// The real function at the real operand.
pub fn reference(x: &[f64]) -> f64 {
    1.0 / (1.0 + (-x[0]).exp())
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
        check(Fixed::new(16, 8), Fixed::new(16, 14), 0.0, 0.5);
        check(Fixed::new(16, 8), Fixed::new(16, 14), 2.0, 0.880797077977882);
    }
}
