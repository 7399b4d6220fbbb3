//! Dense tables: any function over a small domain (at most 2^16 addresses), stored as its entries.
//! This is how a user's activation (an `.atl` `lookup` declaration) becomes a table: the compiler
//! samples the function at every operand and the program carries the entries.
//!
//! MLE: [`dense_mle`], linear in the table size. Decomposition: **one** chunk covering the whole
//! address (`chunk_bits` = the address width, up to 16, beyond the 4–8 of structured tables), whose
//! one subtable is the table itself, with `g = var(0)`. The prover then reads the table directly;
//! at 2^16 entries that is as cheap as the per-chunk subtables of a structured table.
//!
//! A dense table's entries are not determined by its parameters, so the registry cannot rebuild
//! one from its [`TableId`]: its id holds the program-local index of the table, and the program
//! (whose digest binds the entries) resolves it. [`crate::registry::table_by_id`] answers
//! [`StdlibError::ProgramLocal`] for this kind.

use ark_ff::PrimeField;
use atlas_vm::{dense_mle, Decomposition, Domain, Reference, Table, TableError, TableId, TableMle};

use super::StdlibError;

/// Stable kind id (see [`crate::registry`]). Parameters: `[index_hi, index_lo, 0]`, the table's
/// index among its program's dense tables.
pub const KIND: u8 = 7;

/// Largest address width of a dense table.
pub const MAX_BITS: u32 = 16;

/// A function sampled at every address of a small domain.
#[derive(Clone, Debug)]
pub struct DenseTable {
    name: String,
    index: u16,
    domain: Domain,
    values: Vec<i64>,
    reference: Option<Reference>,
}

impl DenseTable {
    /// Samples `f` at the decoded operands of every address of `domain`.
    ///
    /// `index` is the table's position among its program's dense tables (it goes into the id).
    /// Errors: `TooLarge` beyond 2^16 addresses.
    pub fn sample(
        name: impl Into<String>,
        index: u16,
        domain: Domain,
        f: impl Fn(&[i64]) -> i64,
    ) -> Result<Self, StdlibError> {
        check_width(domain)?;
        let values = (0..1u64 << domain.address_bits()).map(|a| f(&domain.decode(a))).collect();
        Ok(DenseTable { name: name.into(), index, domain, values, reference: None })
    }

    /// A table from its entries, indexed by address (`values.len()` must be `2^address_bits`).
    pub fn from_values(
        name: impl Into<String>,
        index: u16,
        domain: Domain,
        values: Vec<i64>,
    ) -> Result<Self, StdlibError> {
        check_width(domain)?;
        let expected = 1usize << domain.address_bits();
        if values.len() != expected {
            return Err(StdlibError::BadParams {
                table: "dense",
                reason: format!("{} entries for a domain of {expected} addresses", values.len()),
            });
        }
        Ok(DenseTable { name: name.into(), index, domain, values, reference: None })
    }

    /// Declares the table an approximation of `reference` (checked by the shared battery).
    pub fn with_reference(mut self, reference: Reference) -> Self {
        self.reference = Some(reference);
        self
    }

    pub fn values(&self) -> &[i64] {
        &self.values
    }

    pub fn index(&self) -> u16 {
        self.index
    }
}

fn check_width(domain: Domain) -> Result<(), StdlibError> {
    let bits = domain.address_bits();
    if bits > MAX_BITS {
        return Err(TableError::TooLarge { bits }.into());
    }
    if bits == 0 {
        return Err(StdlibError::BadParams {
            table: "dense",
            reason: "a domain of 0-bit operands".into(),
        });
    }
    Ok(())
}

impl Table for DenseTable {
    fn id(&self) -> TableId {
        let [hi, lo] = self.index.to_be_bytes();
        TableId::new(KIND, [hi, lo, 0])
    }

    fn name(&self) -> String {
        self.name.clone()
    }

    fn domain(&self) -> Domain {
        self.domain
    }

    fn eval(&self, address: u64) -> i64 {
        self.values[address as usize]
    }

    fn decomposition(&self) -> Decomposition {
        Decomposition::dense(&self.values, self.domain.address_bits())
    }

    fn reference(&self) -> Option<Reference> {
        self.reference
    }
}

impl<F: PrimeField> TableMle<F> for DenseTable {
    fn mle(&self, r: &[F]) -> F {
        dense_mle(&self.values, r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_decoded_operands() {
        let t = DenseTable::sample("square_s4", 3, Domain::Signed { bits: 4 }, |x| x[0] * x[0])
            .unwrap();
        assert_eq!(t.eval(t.domain().encode(&[-3]).unwrap()), 9);
        assert_eq!(t.eval(t.domain().encode(&[-8]).unwrap()), 64);
        assert_eq!(t.id(), TableId::new(KIND, [0, 3, 0]));
        let m = DenseTable::sample("mul_u3", 0, Domain::Pair { bits: 3, signed: false }, |o| {
            o[0] * o[1]
        })
        .unwrap();
        assert_eq!(m.eval(m.domain().encode(&[5, 6]).unwrap()), 30);
    }

    #[test]
    fn refuses_large_domains_and_wrong_lengths() {
        let r = DenseTable::sample("big", 0, Domain::Signed { bits: 17 }, |x| x[0]);
        assert_eq!(r.err(), Some(StdlibError::Table(TableError::TooLarge { bits: 17 })));
        let r = DenseTable::sample("pair", 0, Domain::Pair { bits: 9, signed: true }, |x| x[0]);
        assert_eq!(r.err(), Some(StdlibError::Table(TableError::TooLarge { bits: 18 })));
        let r = DenseTable::from_values("short", 0, Domain::Unsigned { bits: 2 }, vec![1, 2, 3]);
        assert!(matches!(r, Err(StdlibError::BadParams { .. })));
    }
}
