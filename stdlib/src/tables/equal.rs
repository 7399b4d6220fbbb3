//! Equality of two operands: `1` if `x == y`, else `0`. MLE `Π_i eq(x_i, y_i)`.
//!
//! Equality of addresses is equality of operands in either encoding; the signed flag only picks
//! the operand range (and so the id).

use ark_ff::PrimeField;
use atlas_vm::{Combine, Decomposition, Domain, Table, TableId, TableMle};

use super::compare::{eq_bit, pair_params, pair_subtables};
use super::{bit, check_range, Chunks, StdlibError, MAX_OPERAND_BITS};

/// Stable kind id (see [`crate::registry`]). Parameters: `[bits, signed, 0]`.
pub const KIND: u8 = 6;

/// `eq_{s|u}{bits}`: `Domain::Pair { bits, signed }`, `eval = [x == y]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Equal {
    bits: u32,
    signed: bool,
    chunks: Chunks,
}

impl Equal {
    /// `bits` (per operand) in `1..=32`, with an even chunk width.
    pub fn new(bits: u32, signed: bool) -> Result<Self, StdlibError> {
        check_range("eq", "bits", bits, 1, MAX_OPERAND_BITS)?;
        Ok(Equal { bits, signed, chunks: Chunks::pair(bits)? })
    }

    pub fn from_params(p: [u8; 3]) -> Result<Self, StdlibError> {
        let (bits, signed) = pair_params("eq", p)?;
        Self::new(bits, signed)
    }
}

impl Table for Equal {
    fn id(&self) -> TableId {
        TableId::new(KIND, [self.bits as u8, u8::from(self.signed), 0])
    }

    fn name(&self) -> String {
        format!("eq_{}{}", if self.signed { 's' } else { 'u' }, self.bits)
    }

    fn domain(&self) -> Domain {
        Domain::Pair { bits: self.bits, signed: self.signed }
    }

    fn eval(&self, address: u64) -> i64 {
        let ops = self.domain().decode(address);
        bit(ops[0] == ops[1])
    }

    /// Per chunk `eq_c`; `g = Π_c eq_c`, degree `d`.
    fn decomposition(&self) -> Decomposition {
        let ch = self.chunks;
        let subtables = pair_subtables(ch, false);
        let combine = (0..ch.d).fold(Combine::constant(1), |g, c| g * Combine::var(c));
        Decomposition { chunk_bits: ch.k, num_chunks: ch.d, subtables, combine }
    }
}

impl<F: PrimeField> TableMle<F> for Equal {
    fn mle(&self, r: &[F]) -> F {
        r.chunks_exact(2).map(|p| eq_bit(p[0], p[1])).product()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semantics() {
        let t = Equal::new(4, true).unwrap();
        let eq = |x: i64, y: i64| t.eval(t.domain().encode(&[x, y]).unwrap());
        assert_eq!(eq(-3, -3), 1);
        assert_eq!(eq(-3, 3), 0);
        assert_eq!(eq(-8, 7), 0);
        assert_eq!(Equal::new(32, false).unwrap().decomposition().combine.degree(), 8);
    }
}
