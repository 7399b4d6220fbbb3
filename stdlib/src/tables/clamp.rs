//! Signed saturation: a signed `from`-bit operand clamped to the signed `to`-bit range
//! `[-2^(to-1), 2^(to-1) - 1]` (`to < from`). This is the "saturate to the result type" step of
//! fixed-point arithmetic (`docs/isa.md`).
//!
//! # The closed form
//!
//! Address bits, MSB-first: `p = a_0` (1 exactly when `x ≥ 0`: offset binary flips only the top
//! bit of two's complement), the `m = from − to` "high" bits `a_1..a_m`, and the `to − 1` low
//! bits `L = a_{m+1}..a_{from-1}`. `x` fits in `to` bits iff its top `m + 1` two's-complement bits
//! agree, i.e. iff `p = 1` and the high bits are all 0 (`Z = Π (1 − a_i)`), or `p = 0` and they are
//! all 1 (`O = Π a_i`). With `M = 2^(to-1)`:
//!
//! ```text
//! clamp = p·(Z·L + (1−Z)(M−1)) + (1−p)·(O·(L − M) + (1−O)(−M))
//!       = L·(p·Z + (1−p)·O) − (M−1)·p·Z + (2M−1)·p − M
//! ```
//!
//! `p`, `Z`/`O` and `L` read disjoint variables, so every product is multilinear as written: this is
//! the MLE, in `O(from)` field operations.

use ark_ff::PrimeField;
use atlas_vm::{Combine, Decomposition, Domain, Subtable, Table, TableId, TableMle};

use super::{
    bit, check_range, check_unused, pow2, prune, weighted_bits, Chunks, StdlibError,
    MAX_OPERAND_BITS,
};

/// Stable kind id (see [`crate::registry`]). Parameters: `[from, to, 0]`.
pub const KIND: u8 = 3;

/// `clamp_s{from}_s{to}`: `Domain::Signed { bits: from }`, `eval = clamp(x, −2^(to-1), 2^(to-1)−1)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Clamp {
    from: u32,
    to: u32,
    chunks: Chunks,
}

impl Clamp {
    /// `from` in `2..=32` and chunkable, `to` in `1..from`.
    pub fn new(from: u32, to: u32) -> Result<Self, StdlibError> {
        check_range("clamp", "from", from, 2, MAX_OPERAND_BITS)?;
        check_range("clamp", "to", to, 1, from - 1)?;
        Ok(Clamp { from, to, chunks: Chunks::unary(from)? })
    }

    pub fn from_params(p: [u8; 3]) -> Result<Self, StdlibError> {
        check_unused("clamp", p, 2)?;
        Self::new(u32::from(p[0]), u32::from(p[1]))
    }

    /// `M = 2^(to-1)`: the result range is `[-M, M-1]`.
    fn half(&self) -> i64 {
        1i64 << (self.to - 1)
    }

    /// Number of high bits (after the top bit) that must agree with the sign.
    fn high(&self) -> u32 {
        self.from - self.to
    }
}

impl Table for Clamp {
    fn id(&self) -> TableId {
        TableId::new(KIND, [self.from as u8, self.to as u8, 0])
    }

    fn name(&self) -> String {
        format!("clamp_s{}_s{}", self.from, self.to)
    }

    fn domain(&self) -> Domain {
        Domain::Signed { bits: self.from }
    }

    fn eval(&self, address: u64) -> i64 {
        let x = address as i64 - self.domain().offset();
        x.clamp(-self.half(), self.half() - 1)
    }

    /// Per chunk `c`, over the chunk's share of the high bits: `zero_c` / `one_c` (those bits all
    /// 0 / all 1), and over its share of the low bits: `low_c`. Chunk 0 folds the top bit in:
    /// `pos_zero` (`p = 1` and zero), `neg_one` (`p = 0` and one), plus `nonneg` (`p`). Then
    /// `PZ = pos_zero · Π zero_c`, `NO = neg_one · Π one_c`, `L = Σ 2^(k(d-1-c)) · low_c`, and
    /// `g = L·(PZ + NO) − (M−1)·PZ + (2M−1)·nonneg − M`: degree `1 +` the number of chunks that hold
    /// high bits (at most `d + 1`; 2 at 8-bit width, 5 for `clamp_s32_s8`).
    fn decomposition(&self) -> Decomposition {
        let ch = self.chunks;
        let m = self.high();
        let is_high = |q: u32| (1..=m).contains(&q);
        let is_low = |q: u32| q > m;
        let top = 1u64 << (ch.k - 1);
        let h0 = ch.mask(0, is_high);
        let mut subtables = vec![
            Subtable { name: "nonneg", chunk: 0, values: ch.entries(|v| bit(v & top != 0)) },
            Subtable {
                name: "pos_zero",
                chunk: 0,
                values: ch.entries(|v| bit(v & top != 0 && v & h0 == 0)),
            },
            Subtable {
                name: "neg_one",
                chunk: 0,
                values: ch.entries(|v| bit(v & top == 0 && v & h0 == h0)),
            },
        ];
        let (mut pz, mut no) = (Combine::var(1), Combine::var(2));
        let mut low = Combine::constant(0);
        for c in 0..ch.d {
            let h = ch.mask(c, is_high);
            if c > 0 && h != 0 {
                pz = pz * Combine::var(subtables.len());
                subtables.push(Subtable {
                    name: "zero",
                    chunk: c,
                    values: ch.entries(|v| bit(v & h == 0)),
                });
                no = no * Combine::var(subtables.len());
                subtables.push(Subtable {
                    name: "one",
                    chunk: c,
                    values: ch.entries(|v| bit(v & h == h)),
                });
            }
            let l = ch.mask(c, is_low);
            if l != 0 {
                low = low + pow2(ch.shift(c)) * Combine::var(subtables.len());
                subtables.push(Subtable {
                    name: "low",
                    chunk: c,
                    values: ch.entries(|v| (v & l) as i64),
                });
            }
        }
        let half = i128::from(self.half());
        let combine = low * (pz.clone() + no) - (half - 1) * pz + (2 * half - 1) * Combine::var(0)
            - Combine::constant(half);
        // At `to = 1` (`M = 1`, no low bits) `g` is `nonneg − 1` and the other subtables go unread.
        let (subtables, combine) = prune(subtables, combine);
        Decomposition { chunk_bits: ch.k, num_chunks: ch.d, subtables, combine }
    }
}

impl<F: PrimeField> TableMle<F> for Clamp {
    fn mle(&self, r: &[F]) -> F {
        let m = self.high() as usize;
        let p = r[0];
        let high = &r[1..=m];
        let zero: F = high.iter().map(|&ri| F::one() - ri).product();
        let one: F = high.iter().copied().product();
        let low = weighted_bits(&r[m + 1..]);
        let half = F::from(self.half() as u64);
        let pz = p * zero;
        low * (pz + (F::one() - p) * one) - (half - F::one()) * pz + (half.double() - F::one()) * p
            - half
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clamp(t: &Clamp, x: i64) -> i64 {
        t.eval(t.domain().encode(&[x]).unwrap())
    }

    #[test]
    fn saturates_both_ways() {
        let t = Clamp::new(8, 4).unwrap();
        assert_eq!(clamp(&t, 100), 7);
        assert_eq!(clamp(&t, 8), 7);
        assert_eq!(clamp(&t, 7), 7);
        assert_eq!(clamp(&t, 3), 3);
        assert_eq!(clamp(&t, -8), -8);
        assert_eq!(clamp(&t, -9), -8);
        assert_eq!(clamp(&t, -128), -8);
        let t = Clamp::new(32, 8).unwrap();
        assert_eq!(clamp(&t, 1 << 20), 127);
        assert_eq!(clamp(&t, -(1 << 20)), -128);
        assert_eq!(clamp(&t, -100), -100);
        // Eight 4-bit chunks, and the overflow test reads the high bits of all but the last.
        assert_eq!(t.decomposition().combine.degree(), 8);
    }

    #[test]
    fn rejects_widening() {
        assert!(matches!(Clamp::new(8, 8), Err(StdlibError::BadParams { .. })));
        assert!(matches!(Clamp::new(8, 0), Err(StdlibError::BadParams { .. })));
    }
}
