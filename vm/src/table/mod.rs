//! Lookup tables: the one abstraction behind every non-linear primitive.
//!
//! A table is defined once and serves the executor (`eval`), the prover (its [`Decomposition`])
//! and the verifier (the MLEs of its pieces). See `docs/isa.md` for the catalogue.
//!
//! # Addresses
//!
//! A lookup's *address* is an unsigned integer of [`Domain::address_bits`] bits; the domain says how
//! operands map to it. Signed operands use **offset binary** (`x + 2^(bits-1)`), which is linear in
//! `x` (so a claim on the address becomes a claim on the operand tensor) and order preserving (so
//! signed comparison is unsigned comparison of addresses). Two-operand tables interleave their
//! operands' bits MSB-first (`x_0 y_0 x_1 y_1 …`), so every address chunk holds matching bits of both.
//!
//! # Decomposition (Lasso-style chunks + combine)
//!
//! The address is split into `d` chunks of `k` bits (chunk 0 most significant). Each *subtable* is a
//! small table (`2^k` entries) read at one chunk, and the table's value is a low-degree polynomial
//! `g` (the [`Combine`]) of the subtable values. The prover never materializes the full table: a
//! 2^64-entry comparison is 8 chunks of 256 entries and a degree-8 `g`. We chose this over Jolt's
//! prefix/suffix Shout because every piece is a small dense table (so one generic read-checking
//! sumcheck serves all tables, and the verifier evaluates each piece's MLE directly), and memory
//! is `O(2^k)` per chunk whatever the table's domain.

mod combine;

pub use combine::Combine;

use ark_ff::PrimeField;

/// Why an operand or a table definition is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TableError {
    #[error("operand {value} is outside the table's domain [{min}, {max}]")]
    OutOfDomain { value: i64, min: i64, max: i64 },
    #[error("table expects {expected} operands, got {got}")]
    Arity { expected: usize, got: usize },
    #[error("operand {operand} has {got} entries, expected {expected} like the first")]
    OperandLength { operand: usize, expected: usize, got: usize },
    #[error(
        "a {bits}-bit address cannot be split into chunks of 4–8 bits (or one chunk of at most 16)"
    )]
    Unchunkable { bits: u32 },
    #[error("dense tables hold at most 2^16 entries, this one would need 2^{bits}")]
    TooLarge { bits: u32 },
}

/// How operands are encoded into a table's address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Domain {
    /// One operand `x ∈ [0, 2^bits)`; address `x`.
    Unsigned { bits: u32 },
    /// One operand `x ∈ [-2^(bits-1), 2^(bits-1))`; address `x + 2^(bits-1)`.
    Signed { bits: u32 },
    /// Two operands of `bits` bits each (both unsigned, or both signed in offset binary),
    /// interleaved MSB-first.
    Pair { bits: u32, signed: bool },
}

impl Domain {
    /// Width of the address in bits.
    pub fn address_bits(&self) -> u32 {
        match *self {
            Domain::Unsigned { bits } | Domain::Signed { bits } => bits,
            Domain::Pair { bits, .. } => 2 * bits,
        }
    }

    pub fn arity(&self) -> usize {
        match self {
            Domain::Pair { .. } => 2,
            _ => 1,
        }
    }

    /// Width of each operand in bits.
    pub fn operand_bits(&self) -> u32 {
        match *self {
            Domain::Unsigned { bits } | Domain::Signed { bits } | Domain::Pair { bits, .. } => bits,
        }
    }

    /// `x − offset` is the operand encoded by an (operand-sized) address field `x`.
    pub fn offset(&self) -> i64 {
        match *self {
            Domain::Signed { bits } | Domain::Pair { bits, signed: true } => 1i64 << (bits - 1),
            _ => 0,
        }
    }

    /// Smallest and largest operand.
    pub fn operand_range(&self) -> (i64, i64) {
        let bits = self.operand_bits();
        let span = if bits >= 63 { i64::MAX } else { (1i64 << bits) - 1 };
        (-self.offset(), span - self.offset())
    }

    /// The address of `operands`, or an error naming the operand outside the domain.
    pub fn encode(&self, operands: &[i64]) -> Result<u64, TableError> {
        if operands.len() != self.arity() {
            return Err(TableError::Arity { expected: self.arity(), got: operands.len() });
        }
        let (min, max) = self.operand_range();
        let mut fields = [0u64; 2];
        for (f, &x) in fields.iter_mut().zip(operands) {
            if x < min || x > max {
                return Err(TableError::OutOfDomain { value: x, min, max });
            }
            *f = (x + self.offset()) as u64;
        }
        Ok(match *self {
            Domain::Pair { bits, .. } => interleave(fields[0], fields[1], bits),
            _ => fields[0],
        })
    }

    /// The operands at `address` (inverse of [`Domain::encode`]).
    pub fn decode(&self, address: u64) -> Vec<i64> {
        match *self {
            Domain::Pair { bits, .. } => {
                let (x, y) = deinterleave(address, bits);
                vec![x as i64 - self.offset(), y as i64 - self.offset()]
            }
            _ => vec![address as i64 - self.offset()],
        }
    }

    /// Per operand, the weight of each address bit (MSB-first) in the operand's address field:
    /// `field_o = Σ_i weights[o][i] · bit_i`. The lookup argument uses it to turn the committed
    /// address into claims on the operand tensors.
    pub fn bit_weights(&self) -> Vec<Vec<u64>> {
        let n = self.address_bits() as usize;
        match *self {
            Domain::Pair { bits, .. } => {
                let mut w = vec![vec![0u64; n]; 2];
                for i in 0..bits as usize {
                    let weight = 1u64 << (bits as usize - 1 - i);
                    w[0][2 * i] = weight;
                    w[1][2 * i + 1] = weight;
                }
                w
            }
            _ => vec![(0..n).map(|i| 1u64 << (n - 1 - i)).collect()],
        }
    }
}

/// `x_0 y_0 x_1 y_1 …` (MSB-first) of two `bits`-bit fields.
pub fn interleave(x: u64, y: u64, bits: u32) -> u64 {
    let mut out = 0u64;
    for i in (0..bits).rev() {
        out = (out << 2) | (((x >> i) & 1) << 1) | ((y >> i) & 1);
    }
    out
}

/// Inverse of [`interleave`].
pub fn deinterleave(a: u64, bits: u32) -> (u64, u64) {
    let (mut x, mut y) = (0u64, 0u64);
    for i in (0..bits).rev() {
        x = (x << 1) | ((a >> (2 * i + 1)) & 1);
        y = (y << 1) | ((a >> (2 * i)) & 1);
    }
    (x, y)
}

/// A table's stable numeric id, used in proofs and program digests: the kind (one per registry
/// line) and up to three parameter bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TableId(pub u32);

impl TableId {
    pub const fn new(kind: u8, params: [u8; 3]) -> Self {
        TableId(
            (kind as u32) << 24
                | (params[0] as u32) << 16
                | (params[1] as u32) << 8
                | params[2] as u32,
        )
    }

    pub fn kind(&self) -> u8 {
        (self.0 >> 24) as u8
    }
}

/// One piece of a decomposition: a table of `2^chunk_bits` entries read at one address chunk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subtable {
    pub name: &'static str,
    /// Which chunk addresses it (0 is the most significant).
    pub chunk: usize,
    /// Its entries, indexed by the chunk's value.
    pub values: Vec<i64>,
}

/// How the prover proves lookups into a table without writing it out.
///
/// Invariant (checked by the shared battery): for every address `a`,
/// `table.eval(a) == combine.eval(&[subtables[s].values[chunk_{subtables[s].chunk}(a)] for s])`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decomposition {
    pub chunk_bits: u32,
    pub num_chunks: usize,
    pub subtables: Vec<Subtable>,
    pub combine: Combine,
}

impl Decomposition {
    /// Chunk `c` of `address` (chunk 0 is the most significant).
    #[inline]
    pub fn chunk(&self, address: u64, c: usize) -> u64 {
        let shift = self.chunk_bits as usize * (self.num_chunks - 1 - c);
        (address >> shift) & ((1u64 << self.chunk_bits) - 1)
    }

    /// The table's value at `address`, computed through the decomposition.
    pub fn eval(&self, address: u64) -> i128 {
        let vals: Vec<i64> = self
            .subtables
            .iter()
            .map(|s| s.values[self.chunk(address, s.chunk) as usize])
            .collect();
        self.combine.eval(&vals)
    }

    /// The decomposition of a table given by all its entries (`values.len() == 2^bits`).
    ///
    /// Up to 8 address bits (or an odd width), one chunk whose one subtable is the table. Wider
    /// even widths split the address into a high and a low half of `k = bits/2` bits each and
    /// write the table as its rows: `T(h, l) = Σ_h' [h = h']·Row_h'(l)`, one indicator subtable
    /// on the high chunk and one row subtable on the low chunk per nonzero row (degree 2). The
    /// prover's one-hot chunks are then `2 × T·2^k` instead of `T·2^bits` entries, which is what
    /// keeps 16-bit tables cheap to commit and open. The lookup argument recognises this form
    /// ([`Decomposition::row_form`]) and leaves one read per chunk rather than per subtable.
    pub fn dense(values: &[i64], bits: u32) -> Decomposition {
        if bits <= 8 || bits % 2 == 1 {
            return Decomposition {
                chunk_bits: bits,
                num_chunks: 1,
                subtables: vec![Subtable { name: "entries", chunk: 0, values: values.to_vec() }],
                combine: Combine::var(0),
            };
        }
        let k = bits / 2;
        let n = 1usize << k;
        let mut subtables = Vec::new();
        let mut combine = Combine::constant(0);
        for (h, row) in values.chunks(n).enumerate() {
            if row.iter().all(|v| *v == 0) {
                continue;
            }
            let ind = (0..n).map(|x| i64::from(x == h)).collect();
            subtables.push(Subtable { name: "row_indicator", chunk: 0, values: ind });
            subtables.push(Subtable { name: "row", chunk: 1, values: row.to_vec() });
            let s = subtables.len();
            combine = combine + Combine::var(s - 2) * Combine::var(s - 1);
        }
        Decomposition { chunk_bits: k, num_chunks: 2, subtables, combine }
    }

    /// The rows of a table in the row form [`Decomposition::dense`] builds, if this is one: two
    /// chunks, subtables in pairs (a one-hot indicator of row `h` on chunk 0, that row's entries on
    /// chunk 1) and the combine `Σ_i indicator_i · row_i`. Returns `(h, row)` per pair. The lookup
    /// argument proves such a table with one read of each chunk instead of one per subtable, so
    /// this checks the structure exactly rather than trusting a label.
    pub fn row_form(&self) -> Option<Vec<(usize, &[i64])>> {
        let n = 1usize << self.chunk_bits;
        if self.num_chunks != 2 || self.subtables.is_empty() || self.subtables.len() % 2 == 1 {
            return None;
        }
        let mut rows = Vec::with_capacity(self.subtables.len() / 2);
        for pair in self.subtables.chunks(2) {
            let (ind, row) = (&pair[0], &pair[1]);
            if ind.chunk != 0 || row.chunk != 1 || ind.values.len() != n || row.values.len() != n {
                return None;
            }
            let h = ind.values.iter().position(|&v| v == 1)?;
            if ind.values.iter().enumerate().any(|(x, &v)| v != i64::from(x == h))
                || rows.iter().any(|&(g, _)| g == h)
            {
                return None;
            }
            rows.push((h, row.values.as_slice()));
        }
        // The combine is exactly Σ_i var(2i)·var(2i+1): no constant, one term per pair (terms are
        // distinct by `Combine`'s invariant), each an (indicator, row) pair with coefficient 1.
        let pairs = self.combine.terms().all(|(c, f)| {
            c == 1
                && f.len() == 2
                && f[0] % 2 == 0
                && f[1] == f[0] + 1
                && f[1] < self.subtables.len()
        });
        (self.combine.constant_term() == 0 && self.combine.terms().count() == rows.len() && pairs)
            .then_some(rows)
    }

    /// Chunk width for an address of `bits` bits: the smallest divisor in 4..=8, or the whole
    /// address when it has fewer than 8 bits. Narrow chunks make small one-hot matrices (`T·2^k`
    /// entries each, committed and opened by the prover); the extra chunks only add `T`-sized
    /// work to the lookup argument, which costs far less than opening wider matrices.
    pub fn chunk_bits_for(bits: u32) -> Result<u32, TableError> {
        if bits < 8 {
            return Ok(bits.max(1));
        }
        (4..=8).find(|k| bits % k == 0).ok_or(TableError::Unchunkable { bits })
    }

    /// Chunk width for a [`Domain::Pair`] of two `operand_bits`-bit operands: like
    /// [`Decomposition::chunk_bits_for`] on the `2·operand_bits`-bit address, but always even, so
    /// that every chunk holds whole `(x_i, y_i)` bit pairs (per-chunk comparison subtables need
    /// both operands' bits). An odd width such as the 7 that `chunk_bits_for(14)` picks would split
    /// a pair across two chunks.
    pub fn chunk_bits_for_pair(operand_bits: u32) -> Result<u32, TableError> {
        let bits = 2 * operand_bits;
        if bits <= 8 {
            return Ok(bits.max(2));
        }
        [8, 6, 4].into_iter().find(|k| bits % k == 0).ok_or(TableError::Unchunkable { bits })
    }
}

/// An approximation's f64 reference and its tolerance: the table claims
/// `|eval(x) − clamp(output_scale · f(input_scale · x), output_range)| ≤ tolerance` at every
/// operand `x` of its domain (tolerance in output units, i.e. ulps of the output grid).
#[derive(Clone, Copy, Debug)]
pub struct Reference {
    /// The real function at the real operands.
    pub f: fn(&[f64]) -> f64,
    /// The real number an integer operand `x` stands for: `x · input_scale` (`2^-frac` for a
    /// fixed-point operand).
    pub input_scale: f64,
    /// Table values are `f · output_scale` on the integer grid (`2^frac` of the output type).
    pub output_scale: f64,
    /// The table saturates to this range of values; the reference is clamped to it too.
    pub output_range: (i64, i64),
    /// Largest allowed `|eval − reference|`, in output units.
    pub tolerance: f64,
}

impl Reference {
    /// A reference already in the table's units (no scaling, no saturation).
    pub fn unscaled(f: fn(&[f64]) -> f64, tolerance: f64) -> Self {
        Reference {
            f,
            input_scale: 1.0,
            output_scale: 1.0,
            output_range: (i64::MIN, i64::MAX),
            tolerance,
        }
    }

    /// The reference value at integer `operands`, in output units (scaled and clamped).
    pub fn expected(&self, operands: &[i64]) -> f64 {
        let xs: Vec<f64> = operands.iter().map(|&x| x as f64 * self.input_scale).collect();
        let y = (self.f)(&xs) * self.output_scale;
        let (lo, hi) = (self.output_range.0 as f64, self.output_range.1 as f64);
        if y.is_nan() {
            y
        } else {
            y.clamp(lo, hi)
        }
    }
}

/// The reference semantics of a lookup table: what the executor needs.
pub trait Table: Send + Sync + std::fmt::Debug {
    fn id(&self) -> TableId;
    /// A readable name with parameters, e.g. `relu_s32`.
    fn name(&self) -> String;
    fn domain(&self) -> Domain;
    /// The value at `address` (which is below `2^address_bits`).
    fn eval(&self, address: u64) -> i64;
    /// The chunked form the prover uses.
    fn decomposition(&self) -> Decomposition;
    /// For approximations of a real function: the f64 reference at the operands, and the largest
    /// allowed `|eval − reference|`. `None` for exact integer tables.
    fn reference(&self) -> Option<Reference> {
        None
    }
}

/// The table's multilinear extension over a field: what the verifier evaluates.
pub trait TableMle<F: PrimeField>: Table {
    /// `T̃(r)` for `r` of length `address_bits` (MSB-first). Polylogarithmic for structured tables,
    /// linear in the table size for dense ones.
    fn mle(&self, r: &[F]) -> F;
}

/// The MLE of a small dense table given by its entries, at `r` (MSB-first), in `O(len)`.
pub fn dense_mle<F: PrimeField>(values: &[i64], r: &[F]) -> F {
    debug_assert_eq!(values.len(), 1 << r.len());
    let mut cur: Vec<F> = values.iter().map(|&v| field_from_i64(v)).collect();
    for ri in r.iter().rev() {
        let half = cur.len() / 2;
        for j in 0..half {
            let (a, b) = (cur[2 * j], cur[2 * j + 1]);
            cur[j] = a + *ri * (b - a);
        }
        cur.truncate(half);
    }
    cur.first().copied().unwrap_or_else(F::zero)
}

/// `x mod p` for a signed `x`.
pub fn field_from_i64<F: PrimeField>(x: i64) -> F {
    if x >= 0 {
        F::from(x as u64)
    } else {
        -F::from(x.unsigned_abs())
    }
}

/// `x mod p` for a signed 128-bit `x`.
pub fn field_from_i128<F: PrimeField>(x: i128) -> F {
    if x >= 0 {
        F::from(x as u128)
    } else {
        -F::from(x.unsigned_abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_tables_are_in_row_form_and_nothing_else_is() {
        // 10-bit table: rows of 32 entries; rows 3 and 17 are zero and left out.
        let values: Vec<i64> =
            (0..1024).map(|a| if matches!(a / 32, 3 | 17) { 0 } else { a % 97 - 40 }).collect();
        let d = Decomposition::dense(&values, 10);
        let rows = d.row_form().expect("a dense decomposition is in row form");
        assert_eq!(rows.len(), 30);
        for (h, row) in rows {
            assert_eq!(row, &values[h * 32..(h + 1) * 32]);
        }
        assert_eq!(Decomposition::dense(&values[..256], 8).row_form(), None, "one chunk");
        // An indicator with a second one selects two rows at once.
        let mut two = d.clone();
        two.subtables[0].values[5] = 1;
        assert_eq!(two.row_form(), None);
        // A combine that is not Σ indicator·row.
        let mut other = d.clone();
        other.combine = other.combine + Combine::var(1);
        assert_eq!(other.row_form(), None);
        // Two pairs naming the same row.
        let mut dup = d;
        dup.subtables[2].values = dup.subtables[0].values.clone();
        assert_eq!(dup.row_form(), None);
    }

    #[test]
    fn pair_chunks_hold_whole_bit_pairs() {
        // 7-bit operands: `chunk_bits_for(14)` picks 7, which splits a pair; the pair rule refuses.
        assert_eq!(Decomposition::chunk_bits_for(14), Ok(7));
        assert_eq!(
            Decomposition::chunk_bits_for_pair(7),
            Err(TableError::Unchunkable { bits: 14 })
        );
        // 21-bit operands: 42 = 6 · 7; both rules take 6.
        assert_eq!(Decomposition::chunk_bits_for(42), Ok(6));
        assert_eq!(Decomposition::chunk_bits_for_pair(21), Ok(6));
        // The plain rule prefers narrow chunks (12 → 4), the pair rule wide ones (12 → 6, 24 → 8):
        // a comparison's combine has one factor per chunk.
        assert_eq!(Decomposition::chunk_bits_for(12), Ok(4));
        assert_eq!(Decomposition::chunk_bits_for_pair(6), Ok(6));
        assert_eq!(Decomposition::chunk_bits_for_pair(12), Ok(8));
        assert_eq!(Decomposition::chunk_bits_for(8), Ok(4));
        assert_eq!(Decomposition::chunk_bits_for(7), Ok(7));
        for (bits, k) in [(1, 2), (3, 6), (4, 8), (8, 8), (9, 6), (16, 8), (32, 8)] {
            assert_eq!(Decomposition::chunk_bits_for_pair(bits), Ok(k), "{bits}-bit operands");
        }
    }

    #[test]
    fn interleave_round_trips_msb_first() {
        // x = 0b10, y = 0b01 → x_0 y_0 x_1 y_1 = 1 0 0 1.
        assert_eq!(interleave(0b10, 0b01, 2), 0b1001);
        for (x, y) in [(0u64, 0u64), (0xdead_beef, 0x1234_5678), (u32::MAX as u64, 7)] {
            assert_eq!(deinterleave(interleave(x, y, 32), 32), (x, y));
        }
    }
}
