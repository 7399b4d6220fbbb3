//! Arithmetic right shift of a signed `bits`-bit operand by `s` bits: the fixed-point rescale
//! (division by `2^s`), with floor or round-to-nearest.
//!
//! In offset binary (`a = x + 2^(bits-1)`, and `2^s` divides `2^(bits-1)`):
//! `floor(x / 2^s) = (a >> s) − 2^(bits-1-s)`, and round-to-nearest
//! `floor((x + 2^(s-1)) / 2^s) = floor + bit_{s-1}(a)` (adding `2^(s-1)` carries into bit `s`
//! exactly when bit `s−1` is set). Both are linear in the address bits, hence their own MLEs.

use ark_ff::PrimeField;
use atlas_vm::{
    field_from_i64, Combine, Decomposition, Domain, Subtable, Table, TableId, TableMle,
};

use super::{
    check_range, check_unused, pow2, weighted_bits, Chunks, StdlibError, MAX_OPERAND_BITS,
};

/// Stable kind id (see [`crate::registry`]). Parameters: `[bits, s, rounding]` with rounding
/// 0 = floor, 1 = nearest.
pub const KIND: u8 = 4;

/// How the shifted-out bits are rounded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rounding {
    /// `floor(x / 2^s)` (`x >> s`): toward −∞.
    Floor,
    /// `floor((x + 2^(s-1)) / 2^s)`: to nearest, ties toward +∞ (`-1.5 → -1`, `1.5 → 2`).
    Nearest,
}

/// `shr_s{bits}_{s}_{floor|round}`: `Domain::Signed { bits }`, `eval = x >> s` (floor) or
/// `(x + 2^(s-1)) >> s` (nearest).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shift {
    bits: u32,
    s: u32,
    rounding: Rounding,
    chunks: Chunks,
}

impl Shift {
    /// `bits` in `2..=32` and chunkable, `s` in `1..bits`.
    pub fn new(bits: u32, s: u32, rounding: Rounding) -> Result<Self, StdlibError> {
        check_range("shift", "bits", bits, 2, MAX_OPERAND_BITS)?;
        check_range("shift", "s", s, 1, bits - 1)?;
        Ok(Shift { bits, s, rounding, chunks: Chunks::unary(bits)? })
    }

    pub fn from_params(p: [u8; 3]) -> Result<Self, StdlibError> {
        let rounding = match p[2] {
            0 => Rounding::Floor,
            1 => Rounding::Nearest,
            r => {
                return Err(StdlibError::BadParams {
                    table: "shift",
                    reason: format!("rounding byte {r} (0 = floor, 1 = nearest)"),
                })
            }
        };
        check_unused("shift", p, 3)?;
        Self::new(u32::from(p[0]), u32::from(p[1]), rounding)
    }

    /// `2^(bits-1-s)`: the offset of the shifted address.
    fn shifted_offset(&self) -> i64 {
        1i64 << (self.bits - 1 - self.s)
    }
}

impl Table for Shift {
    fn id(&self) -> TableId {
        let r = match self.rounding {
            Rounding::Floor => 0,
            Rounding::Nearest => 1,
        };
        TableId::new(KIND, [self.bits as u8, self.s as u8, r])
    }

    fn name(&self) -> String {
        let r = match self.rounding {
            Rounding::Floor => "floor",
            Rounding::Nearest => "round",
        };
        format!("shr_s{}_{}_{r}", self.bits, self.s)
    }

    fn domain(&self) -> Domain {
        Domain::Signed { bits: self.bits }
    }

    fn eval(&self, address: u64) -> i64 {
        // The semantics on the operand itself, not the offset-binary identity the MLE uses, so the
        // battery checks one against the other.
        let x = address as i64 - self.domain().offset();
        match self.rounding {
            Rounding::Floor => x >> self.s,
            Rounding::Nearest => (x + (1i64 << (self.s - 1))) >> self.s,
        }
    }

    /// Per chunk `c` whose bits reach weight `2^s`: `shifted` = the chunk value with the bits
    /// below weight `2^s` dropped, weighted `2^(k(d-1-c) − s)` (or 1 for the chunk the boundary
    /// cuts). Nearest adds a `round` subtable: bit `s−1`, on the chunk that holds it.
    /// `g = Σ w_c · shifted_c [+ round] − 2^(bits-1-s)`, degree 1.
    fn decomposition(&self) -> Decomposition {
        let ch = self.chunks;
        let s = self.s;
        let mut subtables = Vec::new();
        let mut combine = Combine::constant(-i128::from(self.shifted_offset()));
        for c in 0..ch.d {
            let e = ch.shift(c);
            if e + ch.k <= s {
                continue; // every bit of this chunk is shifted out
            }
            let drop = s.saturating_sub(e);
            combine = combine + pow2(e.saturating_sub(s)) * Combine::var(subtables.len());
            subtables.push(Subtable {
                name: "shifted",
                chunk: c,
                values: ch.entries(|v| (v >> drop) as i64),
            });
        }
        if self.rounding == Rounding::Nearest {
            let c = (0..ch.d)
                .find(|&c| ch.shift(c) < s)
                .expect("s < bits, so bit s-1 lies in some chunk");
            let at = s - 1 - ch.shift(c);
            combine = combine + Combine::var(subtables.len());
            subtables.push(Subtable {
                name: "round",
                chunk: c,
                values: ch.entries(|v| ((v >> at) & 1) as i64),
            });
        }
        Decomposition { chunk_bits: ch.k, num_chunks: ch.d, subtables, combine }
    }
}

impl<F: PrimeField> TableMle<F> for Shift {
    /// `Σ_{i < bits-s} 2^(bits-s-1-i) r_i − 2^(bits-1-s)` (`+ r_{bits-s}` for nearest).
    fn mle(&self, r: &[F]) -> F {
        let kept = (self.bits - self.s) as usize;
        let floor = weighted_bits(&r[..kept]) - field_from_i64::<F>(self.shifted_offset());
        match self.rounding {
            Rounding::Floor => floor,
            Rounding::Nearest => floor + r[kept],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shr(t: &Shift, x: i64) -> i64 {
        t.eval(t.domain().encode(&[x]).unwrap())
    }

    #[test]
    fn floor_versus_round_on_negatives() {
        let floor = Shift::new(8, 1, Rounding::Floor).unwrap();
        let round = Shift::new(8, 1, Rounding::Nearest).unwrap();
        // -3 / 2 = -1.5: floor → -2, nearest with ties toward +∞ → -1.
        assert_eq!(shr(&floor, -3), -2);
        assert_eq!(shr(&round, -3), -1);
        // 3 / 2 = 1.5: floor → 1, nearest → 2.
        assert_eq!(shr(&floor, 3), 1);
        assert_eq!(shr(&round, 3), 2);
        // -5 / 8 = -0.625: floor → -1, nearest → -1; -3 / 8 = -0.375: nearest → 0.
        let floor3 = Shift::new(8, 3, Rounding::Floor).unwrap();
        let round3 = Shift::new(8, 3, Rounding::Nearest).unwrap();
        assert_eq!(shr(&floor3, -5), -1);
        assert_eq!(shr(&round3, -5), -1);
        assert_eq!(shr(&round3, -3), 0);
        assert_eq!(shr(&floor3, -3), -1);
        // Extremes: the largest operand rounds up past the floor range.
        assert_eq!(shr(&floor3, 127), 15);
        assert_eq!(shr(&round3, 127), 16);
        assert_eq!(shr(&floor3, -128), -16);
        assert_eq!(shr(&round3, -128), -16);
    }

    #[test]
    fn rescale_at_full_width() {
        let t = Shift::new(32, 8, Rounding::Nearest).unwrap();
        assert_eq!(shr(&t, 1000 * 256 + 128), 1001);
        assert_eq!(shr(&t, -1000 * 256 - 128), -1000);
        assert_eq!(shr(&t, -1000 * 256 - 129), -1001);
        assert_eq!(t.decomposition().combine.degree(), 1);
    }

    #[test]
    fn rejects_bad_params() {
        assert!(matches!(Shift::new(8, 8, Rounding::Floor), Err(StdlibError::BadParams { .. })));
        assert!(matches!(Shift::new(8, 0, Rounding::Floor), Err(StdlibError::BadParams { .. })));
        assert!(matches!(Shift::from_params([8, 3, 2]), Err(StdlibError::BadParams { .. })));
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Against real division: floor is `⌊x / 2^s⌋`, nearest is `⌊x / 2^s + 1/2⌋` (exact in
        /// f64 for 32-bit operands).
        #[test]
        fn matches_real_division(x in i32::MIN..=i32::MAX, s in 1u32..31) {
            let q = f64::from(x) / f64::from(1u32 << s);
            let floor = Shift::new(32, s, Rounding::Floor).unwrap();
            let round = Shift::new(32, s, Rounding::Nearest).unwrap();
            let a = floor.domain().encode(&[i64::from(x)]).unwrap();
            prop_assert_eq!(floor.eval(a), q.floor() as i64);
            prop_assert_eq!(round.eval(a), (q + 0.5).floor() as i64);
        }
    }
}
