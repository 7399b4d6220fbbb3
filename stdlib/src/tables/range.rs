//! Range check: `[0, 2^bits)`, value = operand. A lookup into it proves the operand is in range
//! (the address must exist in the table); the value itself is rarely used.

use ark_ff::PrimeField;
use atlas_vm::{Combine, Decomposition, Domain, Subtable, Table, TableId, TableMle};

use super::{
    check_range, check_unused, pow2, weighted_bits, Chunks, StdlibError, MAX_OPERAND_BITS,
};

/// Stable kind id (see [`crate::registry`]). Parameters: `[bits, 0, 0]`.
pub const KIND: u8 = 1;

/// `range{bits}`: `Domain::Unsigned { bits }`, `eval(a) = a`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RangeCheck {
    bits: u32,
    chunks: Chunks,
}

impl RangeCheck {
    /// `bits` in `1..=32`, and chunkable (at most 8, or a multiple of 4–8).
    pub fn new(bits: u32) -> Result<Self, StdlibError> {
        check_range("range", "bits", bits, 1, MAX_OPERAND_BITS)?;
        Ok(RangeCheck { bits, chunks: Chunks::unary(bits)? })
    }

    pub fn from_params(p: [u8; 3]) -> Result<Self, StdlibError> {
        check_unused("range", p, 1)?;
        Self::new(u32::from(p[0]))
    }

    pub fn bits(&self) -> u32 {
        self.bits
    }
}

impl Table for RangeCheck {
    fn id(&self) -> TableId {
        TableId::new(KIND, [self.bits as u8, 0, 0])
    }

    fn name(&self) -> String {
        format!("range{}", self.bits)
    }

    fn domain(&self) -> Domain {
        Domain::Unsigned { bits: self.bits }
    }

    fn eval(&self, address: u64) -> i64 {
        address as i64
    }

    /// One identity subtable per chunk; `g = Σ_c 2^(k(d-1-c)) · id_c` (degree 1).
    fn decomposition(&self) -> Decomposition {
        let ch = self.chunks;
        let subtables: Vec<Subtable> = (0..ch.d)
            .map(|c| Subtable { name: "identity", chunk: c, values: ch.entries(|v| v as i64) })
            .collect();
        let combine = (0..ch.d)
            .map(|c| pow2(ch.shift(c)) * Combine::var(c))
            .fold(Combine::constant(0), |g, t| g + t);
        Decomposition { chunk_bits: ch.k, num_chunks: ch.d, subtables, combine }
    }
}

impl<F: PrimeField> TableMle<F> for RangeCheck {
    /// `Σ_i 2^(bits-1-i) · r_i`.
    fn mle(&self, r: &[F]) -> F {
        weighted_bits(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semantics() {
        let t = RangeCheck::new(8).unwrap();
        assert_eq!(t.domain().encode(&[200]).unwrap(), 200);
        assert_eq!(t.eval(200), 200);
        assert!(t.domain().encode(&[256]).is_err());
        assert!(t.domain().encode(&[-1]).is_err());
        // 4-bit chunks: two for 8 bits, eight for 32; 7 bits stay one chunk.
        assert_eq!(t.decomposition().num_chunks, 2);
        assert_eq!(RangeCheck::new(32).unwrap().decomposition().num_chunks, 8);
        assert_eq!(RangeCheck::new(7).unwrap().decomposition().num_chunks, 1);
    }

    #[test]
    fn rejects_bad_widths() {
        assert!(matches!(RangeCheck::new(0), Err(StdlibError::BadParams { .. })));
        assert!(matches!(RangeCheck::new(33), Err(StdlibError::BadParams { .. })));
        // 11 bits: no chunk width in 4..=8 divides it.
        assert!(matches!(RangeCheck::new(11), Err(StdlibError::Table(_))));
        assert!(matches!(RangeCheck::from_params([8, 1, 0]), Err(StdlibError::BadParams { .. })));
    }
}
