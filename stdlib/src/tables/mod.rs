//! The standard tables, one file each, and the helpers they share.
//!
//! The structured tables (range, relu, clamp, shift, lt, eq) are exact (no
//! [`atlas_vm::Reference`]); the sampled primitives (`approx.rs` and one file each: leaky ReLU,
//! sigmoid, tanh, GELU in both forms, erf, exp, reciprocal, rsqrt, sqrt, sin, cos, abs) declare
//! their f64 reference and tolerance, as can a [`DenseTable`]. Each file defines the table's kind id (`KIND`), its parameter bytes (`from_params` and the
//! parameters inside `id()` are inverses, so ids round-trip through [`crate::registry`]), its
//! semantics (`eval`), its closed-form MLE and its chunk decomposition. `docs/isa.md` ("Table
//! catalogue") lists them.

pub mod abs;
pub mod approx;
pub mod clamp;
pub mod compare;
pub mod cos;
pub mod dense;
pub mod equal;
pub mod erf;
pub mod exp;
pub mod gelu;
pub mod gelu_tanh;
pub mod leaky_relu;
pub mod range;
pub mod recip;
pub mod relu;
pub mod rsqrt;
pub mod shift;
pub mod sigmoid;
pub mod sin;
pub mod sqrt;
pub mod tanh;

pub use approx::{Approx, Fixed, Spec};
pub use clamp::Clamp;
pub use compare::LessThan;
pub use dense::DenseTable;
pub use equal::Equal;
pub use range::RangeCheck;
pub use relu::Relu;
pub use shift::{Rounding, Shift};

use ark_ff::PrimeField;
use atlas_vm::{Combine, Decomposition, Subtable, TableError};

/// Why a table cannot be built or named.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StdlibError {
    #[error("no table kind has id {kind}")]
    UnknownKind { kind: u8 },
    #[error(
        "table kind {name} (id {kind}) is program-local: its entries come from the program, not \
         from the registry"
    )]
    ProgramLocal { kind: u8, name: &'static str },
    #[error("{table}: {reason}")]
    BadParams { table: &'static str, reason: String },
    #[error(transparent)]
    Table(#[from] TableError),
}

/// Widest operand the parameterised tables accept: operands and values stay far inside `i64`, and
/// two-operand addresses fit the `u64` address.
pub const MAX_OPERAND_BITS: u32 = 32;

/// `Err(BadParams)` unless `lo <= value <= hi`.
pub(crate) fn check_range(
    table: &'static str,
    what: &str,
    value: u32,
    lo: u32,
    hi: u32,
) -> Result<(), StdlibError> {
    if value < lo || value > hi {
        return Err(StdlibError::BadParams {
            table,
            reason: format!("{what} = {value} is outside {lo}..={hi}"),
        });
    }
    Ok(())
}

/// `Err(BadParams)` if a parameter byte the kind does not use is set: ids are canonical, so one
/// table has exactly one id.
pub(crate) fn check_unused(
    table: &'static str,
    params: [u8; 3],
    used: usize,
) -> Result<(), StdlibError> {
    if params[used..].iter().any(|&b| b != 0) {
        return Err(StdlibError::BadParams {
            table,
            reason: format!("parameter bytes {params:?}: only the first {used} may be non-zero"),
        });
    }
    Ok(())
}

/// How a table of `address_bits` bits is chunked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Chunks {
    /// Bits per chunk.
    pub k: u32,
    /// Number of chunks.
    pub d: usize,
}

impl Chunks {
    pub(crate) fn unary(address_bits: u32) -> Result<Self, StdlibError> {
        let k = Decomposition::chunk_bits_for(address_bits)?;
        Ok(Chunks { k, d: (address_bits / k) as usize })
    }

    pub(crate) fn pair(operand_bits: u32) -> Result<Self, StdlibError> {
        let k = Decomposition::chunk_bits_for_pair(operand_bits)?;
        Ok(Chunks { k, d: (2 * operand_bits / k) as usize })
    }

    /// Exponent of the weight of chunk `c`'s least significant bit in the address.
    pub(crate) fn shift(&self, c: usize) -> u32 {
        self.k * (self.d - 1 - c) as u32
    }

    /// Global (MSB-first) address position of chunk `c`'s local bit `j` (also MSB-first).
    pub(crate) fn position(&self, c: usize, j: u32) -> u32 {
        c as u32 * self.k + j
    }

    /// Mask (within a chunk value) of the local bits whose global positions satisfy `keep`.
    pub(crate) fn mask(&self, c: usize, keep: impl Fn(u32) -> bool) -> u64 {
        (0..self.k)
            .filter(|&j| keep(self.position(c, j)))
            .fold(0u64, |m, j| m | 1u64 << (self.k - 1 - j))
    }

    /// A subtable's entries: `f` at every chunk value.
    pub(crate) fn entries(&self, f: impl Fn(u64) -> i64) -> Vec<i64> {
        (0..1u64 << self.k).map(f).collect()
    }
}

/// `2^e` as a combine coefficient.
pub(crate) fn pow2(e: u32) -> i128 {
    1i128 << e
}

/// `Σ_i 2^(len-1-i) · r_i`: the integer whose MSB-first bits are `r`, extended multilinearly.
pub(crate) fn weighted_bits<F: PrimeField>(r: &[F]) -> F {
    r.iter().fold(F::zero(), |acc, &ri| acc.double() + ri)
}

/// `x` as a bool-valued table entry.
pub(crate) fn bit(b: bool) -> i64 {
    i64::from(b)
}

/// Drops subtables that `combine` does not read (the prover would pay to read them for nothing)
/// and renumbers the rest.
pub(crate) fn prune(subtables: Vec<Subtable>, combine: Combine) -> (Vec<Subtable>, Combine) {
    let mut used = vec![false; subtables.len()];
    for (_, factors) in combine.terms() {
        for &f in factors {
            used[f] = true;
        }
    }
    let mut renumber = vec![usize::MAX; subtables.len()];
    let mut kept = Vec::new();
    for (i, s) in subtables.into_iter().enumerate() {
        if used[i] {
            renumber[i] = kept.len();
            kept.push(s);
        }
    }
    let mut out = Combine::constant(combine.constant_term());
    for (c, factors) in combine.terms() {
        out =
            out + factors.iter().fold(Combine::constant(c), |t, &f| t * Combine::var(renumber[f]));
    }
    (kept, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prune_drops_unread_subtables_and_renumbers() {
        let sub = |name| Subtable { name, chunk: 0, values: vec![0, 1] };
        let g = Combine::constant(3) + 2 * (Combine::var(0) * Combine::var(2)) - Combine::var(2);
        let (kept, h) = prune(vec![sub("a"), sub("b"), sub("c")], g);
        assert_eq!(kept.iter().map(|s| s.name).collect::<Vec<_>>(), ["a", "c"]);
        let want = Combine::constant(3) + 2 * (Combine::var(0) * Combine::var(1)) - Combine::var(1);
        assert_eq!(h, want);
    }
}
