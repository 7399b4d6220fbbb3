//! Signed ReLU: `max(x, 0)` of a signed `bits`-bit operand.

use ark_ff::PrimeField;
use atlas_vm::{Combine, Decomposition, Domain, Subtable, Table, TableId, TableMle};

use super::{
    check_range, check_unused, pow2, weighted_bits, Chunks, StdlibError, MAX_OPERAND_BITS,
};

/// Stable kind id (see [`crate::registry`]). Parameters: `[bits, 0, 0]`.
pub const KIND: u8 = 2;

/// `relu_s{bits}`: `Domain::Signed { bits }`, `eval = max(x, 0)` with `x = a − 2^(bits-1)`.
///
/// In offset binary the top address bit is 1 exactly when `x ≥ 0`, and then `x` is the remaining
/// bits; so `eval = a_0 · low(a)`, whose MLE is `r_0 · Σ_{i≥1} 2^(bits-1-i) r_i`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Relu {
    bits: u32,
    chunks: Chunks,
}

impl Relu {
    /// `bits` in `1..=32`, and chunkable (at most 8, or a multiple of 4–8).
    pub fn new(bits: u32) -> Result<Self, StdlibError> {
        check_range("relu", "bits", bits, 1, MAX_OPERAND_BITS)?;
        Ok(Relu { bits, chunks: Chunks::unary(bits)? })
    }

    pub fn from_params(p: [u8; 3]) -> Result<Self, StdlibError> {
        check_unused("relu", p, 1)?;
        Self::new(u32::from(p[0]))
    }
}

impl Table for Relu {
    fn id(&self) -> TableId {
        TableId::new(KIND, [self.bits as u8, 0, 0])
    }

    fn name(&self) -> String {
        format!("relu_s{}", self.bits)
    }

    fn domain(&self) -> Domain {
        Domain::Signed { bits: self.bits }
    }

    fn eval(&self, address: u64) -> i64 {
        let x = address as i64 - self.domain().offset();
        x.max(0)
    }

    /// Subtables: `nonneg` (chunk 0's top bit, 1 for `x ≥ 0`), `low` (chunk 0 without its top bit)
    /// and `identity` on every other chunk; `g = nonneg · (2^(k(d-1))·low + Σ_{c≥1} 2^(k(d-1-c))·id_c)`,
    /// degree 2.
    fn decomposition(&self) -> Decomposition {
        let ch = self.chunks;
        let top = ch.k - 1;
        let mut subtables = vec![
            Subtable { name: "nonneg", chunk: 0, values: ch.entries(|v| (v >> top) as i64) },
            Subtable {
                name: "low",
                chunk: 0,
                values: ch.entries(|v| (v & ((1 << top) - 1)) as i64),
            },
        ];
        let mut value = pow2(ch.shift(0)) * Combine::var(1);
        for c in 1..ch.d {
            value = value + pow2(ch.shift(c)) * Combine::var(subtables.len());
            subtables.push(Subtable {
                name: "identity",
                chunk: c,
                values: ch.entries(|v| v as i64),
            });
        }
        let combine = Combine::var(0) * value;
        Decomposition { chunk_bits: ch.k, num_chunks: ch.d, subtables, combine }
    }
}

impl<F: PrimeField> TableMle<F> for Relu {
    fn mle(&self, r: &[F]) -> F {
        r[0] * weighted_bits(&r[1..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relu(t: &Relu, x: i64) -> i64 {
        t.eval(t.domain().encode(&[x]).unwrap())
    }

    #[test]
    fn semantics() {
        let t = Relu::new(8).unwrap();
        assert_eq!(relu(&t, -5), 0);
        assert_eq!(relu(&t, -128), 0);
        assert_eq!(relu(&t, 0), 0);
        assert_eq!(relu(&t, 7), 7);
        assert_eq!(relu(&t, 127), 127);
        let t = Relu::new(32).unwrap();
        assert_eq!(relu(&t, i32::MIN as i64), 0);
        assert_eq!(relu(&t, i32::MAX as i64), i32::MAX as i64);
        assert_eq!(t.decomposition().combine.degree(), 2);
    }
}
