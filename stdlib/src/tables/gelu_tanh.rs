//! GELU, tanh form (PyTorch's `approximate='tanh'`, GPT-2's):
//! `x/2 · (1 + tanh(√(2/π) · (x + 0.044715·x³)))`. Like `gelu`, it tends to `x` and to 0; the
//! table saturates only where `x` leaves the output type.
//!
//! A sampled primitive (see [`super::approx`]): parameters `[(in_bits − 1)·16 + (out_bits − 1),
//! in_frac, out_frac]`, entries within half an output ulp of the reference below.

use super::approx::Spec;

/// Stable kind id (see [`crate::registry`]).
pub const KIND: u8 = 12;

/// The primitive's reference and tolerance (half an output ulp: round to nearest).
pub static SPEC: Spec = Spec { kind: KIND, name: "gelu_tanh", f: reference, tolerance: 0.5 };

/// The real function at the real operand.
pub fn reference(x: &[f64]) -> f64 {
    let c = (2.0 / std::f64::consts::PI).sqrt();
    0.5 * x[0] * (1.0 + (c * (x[0] + 0.044_715 * x[0].powi(3))).tanh())
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
        check(Fixed::new(16, 8), Fixed::new(16, 8), 1.0, 0.841191990607477);
        check(Fixed::new(16, 8), Fixed::new(16, 8), -1.0, -0.158808009392523);
    }
}
