//! GELU, erf form (PyTorch's default `approximate='none'`): `x/2 · (1 + erf(x/√2))`. It tends to `x`
//! for large `x` and to 0 for very negative `x`; the table saturates only where the value leaves
//! the output type's range.
//!
//! A sampled primitive (see [`super::approx`]): parameters `[(in_bits − 1)·16 + (out_bits − 1),
//! in_frac, out_frac]`, entries within half an output ulp of the reference below.

use super::approx::Spec;

/// Stable kind id (see [`crate::registry`]).
pub const KIND: u8 = 11;

/// The primitive's reference and tolerance (half an output ulp: round to nearest).
pub static SPEC: Spec = Spec { kind: KIND, name: "gelu", f: reference, tolerance: 0.5 };

/// The real function at the real operand.
pub fn reference(x: &[f64]) -> f64 {
    0.5 * x[0] * (1.0 + super::approx::erf(x[0] / std::f64::consts::SQRT_2))
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
        check(Fixed::new(16, 8), Fixed::new(16, 8), 1.0, 0.841344746068543);
        check(Fixed::new(16, 8), Fixed::new(16, 8), -1.0, -0.158655253931457);
    }
}
