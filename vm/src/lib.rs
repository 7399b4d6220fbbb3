//! Atlas's instruction set, the `Table` trait that makes every non-linear primitive a lookup, the
//! executor that records a trace, and the trace itself (the prover's witness).
//!
//! Pipeline position: `atlas-compiler` lowers validated IR into a VM program; the executor runs it;
//! `atlas-prover` proves the trace. This crate does not know the IR.
//!
//! Status: not built yet (issues "Lookup argument" and "The VM"); the crate is an empty placeholder.
