//! Less-than of two operands, signed or unsigned: `1` if `x < y`, else `0`.
//!
//! Offset binary preserves order, so the signed table is the same bit logic on the address as the
//! unsigned one; only the operand encoding differs. With `x_i = r_{2i}`, `y_i = r_{2i+1}`
//! (MSB-first interleaving), `x < y` iff at the first differing bit `x_i = 0, y_i = 1`:
//! `LT = Σ_i (1 − x_i)·y_i · Π_{i'<i} eq(x_{i'}, y_{i'})`, each term multilinear (distinct
//! variables), `O(bits)` to evaluate.

use ark_ff::PrimeField;
use atlas_vm::table::deinterleave;
use atlas_vm::{Combine, Decomposition, Domain, Subtable, Table, TableId, TableMle};

use super::{bit, check_range, check_unused, prune, Chunks, StdlibError, MAX_OPERAND_BITS};

/// Stable kind id (see [`crate::registry`]). Parameters: `[bits, signed, 0]`.
pub const KIND: u8 = 5;

/// `eq(a, b) = ab + (1−a)(1−b)`, the MLE of bit equality.
pub(crate) fn eq_bit<F: PrimeField>(a: F, b: F) -> F {
    a * b + (F::one() - a) * (F::one() - b)
}

/// Decodes a pair table's `bits` and `signed` parameter bytes.
pub(crate) fn pair_params(table: &'static str, p: [u8; 3]) -> Result<(u32, bool), StdlibError> {
    check_unused(table, p, 2)?;
    let signed = match p[1] {
        0 => false,
        1 => true,
        b => {
            return Err(StdlibError::BadParams {
                table,
                reason: format!("signedness byte {b} (0 = unsigned, 1 = signed)"),
            })
        }
    };
    Ok((u32::from(p[0]), signed))
}

/// `lt_{s|u}{bits}`: `Domain::Pair { bits, signed }`, `eval = [x < y]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LessThan {
    bits: u32,
    signed: bool,
    chunks: Chunks,
}

impl LessThan {
    /// `bits` (per operand) in `1..=32`, with an even chunk width (see
    /// [`Decomposition::chunk_bits_for_pair`]).
    pub fn new(bits: u32, signed: bool) -> Result<Self, StdlibError> {
        check_range("lt", "bits", bits, 1, MAX_OPERAND_BITS)?;
        Ok(LessThan { bits, signed, chunks: Chunks::pair(bits)? })
    }

    pub fn from_params(p: [u8; 3]) -> Result<Self, StdlibError> {
        let (bits, signed) = pair_params("lt", p)?;
        Self::new(bits, signed)
    }
}

/// Per-chunk `lt` and `eq` subtables of a pair table (chunk of `k` bits = `k/2` bits of each
/// operand), in the order `lt_0, eq_0, lt_1, eq_1, …`.
pub(crate) fn pair_subtables(ch: Chunks, with_lt: bool) -> Vec<Subtable> {
    let half = ch.k / 2;
    let mut out = Vec::new();
    for c in 0..ch.d {
        if with_lt {
            out.push(Subtable {
                name: "lt",
                chunk: c,
                values: ch.entries(|v| {
                    let (x, y) = deinterleave(v, half);
                    bit(x < y)
                }),
            });
        }
        out.push(Subtable {
            name: "eq",
            chunk: c,
            values: ch.entries(|v| {
                let (x, y) = deinterleave(v, half);
                bit(x == y)
            }),
        });
    }
    out
}

impl Table for LessThan {
    fn id(&self) -> TableId {
        TableId::new(KIND, [self.bits as u8, u8::from(self.signed), 0])
    }

    fn name(&self) -> String {
        format!("lt_{}{}", if self.signed { 's' } else { 'u' }, self.bits)
    }

    fn domain(&self) -> Domain {
        Domain::Pair { bits: self.bits, signed: self.signed }
    }

    fn eval(&self, address: u64) -> i64 {
        // Compare the decoded operands, not the address fields, so the battery checks that the
        // bit logic (unsigned on the address) agrees with signed order.
        let ops = self.domain().decode(address);
        bit(ops[0] < ops[1])
    }

    /// Per chunk `lt_c` and `eq_c`; `g = lt_0 + eq_0·lt_1 + eq_0·eq_1·lt_2 + …`, degree `d`
    /// (1 at 4-bit operands, 8 at 32-bit); the last chunk needs no `eq`.
    fn decomposition(&self) -> Decomposition {
        let ch = self.chunks;
        let subtables = pair_subtables(ch, true);
        let mut combine = Combine::constant(0);
        let mut prefix = Combine::constant(1);
        for c in 0..ch.d {
            combine = combine + prefix.clone() * Combine::var(2 * c);
            prefix = prefix * Combine::var(2 * c + 1);
        }
        // The last chunk's `eq` is never read.
        let (subtables, combine) = prune(subtables, combine);
        Decomposition { chunk_bits: ch.k, num_chunks: ch.d, subtables, combine }
    }
}

impl<F: PrimeField> TableMle<F> for LessThan {
    fn mle(&self, r: &[F]) -> F {
        let mut prefix = F::one();
        let mut acc = F::zero();
        for pair in r.chunks_exact(2) {
            let (x, y) = (pair[0], pair[1]);
            acc += prefix * (F::one() - x) * y;
            prefix *= eq_bit(x, y);
        }
        acc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lt(t: &LessThan, x: i64, y: i64) -> i64 {
        t.eval(t.domain().encode(&[x, y]).unwrap())
    }

    #[test]
    fn signed_versus_unsigned() {
        let s = LessThan::new(4, true).unwrap();
        let u = LessThan::new(4, false).unwrap();
        assert_eq!(lt(&s, -1, 0), 1);
        assert_eq!(lt(&s, 0, -1), 0);
        assert_eq!(lt(&s, -8, 7), 1);
        assert_eq!(lt(&s, -3, -3), 0);
        assert_eq!(lt(&s, -4, -3), 1);
        // The same bit pattern: 0b1111 is -1 signed but 15 unsigned.
        assert_eq!(lt(&u, 15, 0), 0);
        assert_eq!(lt(&u, 0, 15), 1);
        // Negative operands are outside the unsigned domain.
        assert!(u.domain().encode(&[-1, 0]).is_err());
        let s32 = LessThan::new(32, true).unwrap();
        assert_eq!(lt(&s32, i32::MIN as i64, -1), 1);
        assert_eq!(lt(&s32, i32::MAX as i64, -1), 0);
        assert_eq!(s32.decomposition().combine.degree(), 8);
    }

    #[test]
    fn rejects_unchunkable_and_bad_bytes() {
        // 7-bit operands: 14 address bits have no even chunk width in 4..=8.
        assert!(matches!(LessThan::new(7, false), Err(StdlibError::Table(_))));
        assert!(matches!(LessThan::from_params([4, 2, 0]), Err(StdlibError::BadParams { .. })));
    }
}
