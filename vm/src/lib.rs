//! Atlas's instruction set, the [`Table`] trait that makes every non-linear primitive a lookup, the
//! executor that records a trace, and the trace itself (the prover's witness).
//!
//! Pipeline position: `atlas-compiler` lowers validated IR into a VM program; the executor runs it;
//! `atlas-prover` proves the trace. This crate does not know the IR.
//!
//! - [`isa`]: [`Program`] — SSA tensor registers ([`RegInfo`]: shape and signed width), inputs,
//!   params, consts, [`Instr`]uctions ([`Op`]: matmul, add, sub, mul, neg, sum, broadcast,
//!   reshape, transpose, slice, concat, gather, im2col, lookup, and `shr`, an advice division
//!   whose remainder is range-checked by lookup), outputs and the tables it names — plus
//!   [`Program::check`] (structure) and [`listing`] (the text `atlasc asm` prints);
//! - [`exec`]: [`execute`], the interpreter and oracle, which records the [`Trace`] (every
//!   register's values and each lookup instruction's addresses, groupable by table); tables come
//!   from a [`TableSet`] the caller fills;
//! - [`table`]: the table abstraction (domains, addresses, decompositions).
//!
//! Status: the table abstraction (issue "Lookup argument"), the instruction set, the interpreter
//! and the trace (issue "The VM") are built. Not built: the LLVM JIT (feature `jit`) and GPU
//! executors.

pub mod exec;
pub mod isa;
pub mod table;

#[cfg(test)]
mod tests;

pub use exec::{execute, ExecError, LookupTrace, TableSet, Trace};
pub use isa::{
    listing, signed_range, Const, Input, Instr, Op, Param, ParamData, Program, ProgramError, Reg,
    RegInfo, Rounding, TableDecl, TableIdx,
};
pub use table::{
    deinterleave, dense_mle, field_from_i128, field_from_i64, interleave, Combine, Decomposition,
    Domain, Reference, Subtable, Table, TableError, TableId, TableMle,
};
