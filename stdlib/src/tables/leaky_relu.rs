//! Leaky ReLU with PyTorch's default slope: `x` for `x ≥ 0`, `0.01·x` below. (Another slope is a
//! one-line `.atl` `lookup`.) No saturation beyond the output type's range.
//!
//! A sampled primitive (see [`super::approx`]): parameters `[(in_bits − 1)·16 + (out_bits − 1),
//! in_frac, out_frac]`, entries within half an output ulp of the reference below.

use super::approx::Spec;

/// Stable kind id (see [`crate::registry`]).
pub const KIND: u8 = 8;

/// The primitive's reference and tolerance (half an output ulp: round to nearest).
pub static SPEC: Spec = Spec { kind: KIND, name: "leaky_relu", f: reference, tolerance: 0.5 };

/// The real function at the real operand.
pub fn reference(x: &[f64]) -> f64 {
    if x[0] >= 0.0 {
        x[0]
    } else {
        0.01 * x[0]
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
        check(Fixed::new(16, 8), Fixed::new(16, 8), -2.0, -0.02);
        check(Fixed::new(16, 8), Fixed::new(16, 8), 3.5, 3.5);
    }
}
