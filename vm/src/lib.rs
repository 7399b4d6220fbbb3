//! Atlas's instruction set, the [`Table`] trait that makes every non-linear primitive a lookup, the
//! executor that records a trace, and the trace itself (the prover's witness).
//!
//! Pipeline position: `atlas-compiler` lowers validated IR into a VM program; the executor runs it;
//! `atlas-prover` proves the trace. This crate does not know the IR.
//!
//! Status: the table abstraction is built (issue "Lookup argument"); the instruction set, the
//! executor and the trace are not built yet (issue "The VM").

pub mod table;

pub use table::{
    deinterleave, dense_mle, field_from_i128, field_from_i64, interleave, Combine, Decomposition,
    Domain, Reference, Subtable, Table, TableError, TableId, TableMle,
};
