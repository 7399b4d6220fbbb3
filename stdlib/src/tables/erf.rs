//! The error function, in `(−1, 1)` (computed by [`super::approx::erf`], about 1e-15). Saturation:
//! with `F` output fractional bits the entry is ±1 (or the type's extreme) where
//! `1 − |erf(x)| < 2^-(F+1)`: for `|x| > 2.95` at `F = 14`, `|x| > 2.19` at `F = 8`.
//!
//! A sampled primitive (see [`super::approx`]): parameters `[(in_bits − 1)·16 + (out_bits − 1),
//! in_frac, out_frac]`, entries within half an output ulp of the reference below.

use super::approx::Spec;

/// Stable kind id (see [`crate::registry`]).
pub const KIND: u8 = 13;

/// The primitive's reference and tolerance (half an output ulp: round to nearest).
pub static SPEC: Spec = Spec { kind: KIND, name: "erf", f: reference, tolerance: 0.5 };

/// The real function at the real operand.
pub fn reference(x: &[f64]) -> f64 {
    super::approx::erf(x[0])
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
        check(Fixed::new(16, 8), Fixed::new(16, 14), 0.5, 0.520499877813047);
        check(Fixed::new(16, 8), Fixed::new(16, 14), -3.0, -0.999977909503001);
    }
}
