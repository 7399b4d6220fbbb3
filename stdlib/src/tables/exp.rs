//! `e^x`, for softmax after max subtraction (operands `≤ 0`, results in `(0, 1]`) but defined on
//! the whole domain: results above the output type's largest value saturate to it (with `fix<16,
//! 14>` out, for `x ≥ ln 2`), and results below half an ulp are 0 (for `x < −(F + 1)·ln 2`,
//! `−10.4` at `F = 14`).
//!
//! A sampled primitive (see [`super::approx`]): parameters `[(in_bits − 1)·16 + (out_bits − 1),
//! in_frac, out_frac]`, entries within half an output ulp of the reference below.

use super::approx::Spec;

/// Stable kind id (see [`crate::registry`]).
pub const KIND: u8 = 14;

/// The primitive's reference and tolerance (half an output ulp: round to nearest).
pub static SPEC: Spec = Spec { kind: KIND, name: "exp", f: reference, tolerance: 0.5 };

/// The real function at the real operand.
pub fn reference(x: &[f64]) -> f64 {
    x[0].exp()
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
        check(Fixed::new(16, 8), Fixed::new(16, 14), -1.0, 0.367879441171442);
    }
}
