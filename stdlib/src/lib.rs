//! The standard primitives (range check, ReLU, clamp, rescale, comparison, dense sampled
//! functions, …) as `atlas-vm` lookup tables, one file and one registry line each, and (later) the
//! `.atl` prelude built from them.
//!
//! - [`tables`]: the table structs, each implementing [`atlas_vm::Table`] and
//!   [`atlas_vm::TableMle`] for every prime field;
//! - [`registry`]: the list of table kinds, and [`registry::table_by_id`] to rebuild a table from
//!   its [`atlas_vm::TableId`];
//! - the shared test battery (`battery.rs`, tests only) that every registered kind passes.
//!
//! Status: the structured tables, the sampled transcendental primitives (sigmoid, tanh, GELU,
//! erf, exp, reciprocal, rsqrt, sqrt, sin, cos, abs, leaky ReLU), the registry and the battery are
//! built; the `.atl` prelude is not (softmax, gelu and layer norm are built into the compiler).

pub mod registry;
pub mod tables;

#[cfg(test)]
mod battery;

pub use registry::{kinds, table_by_id, BoxedTable, Kind};
pub use tables::{
    Approx, Clamp, DenseTable, Equal, Fixed, LessThan, RangeCheck, Relu, Rounding, Shift, Spec,
    StdlibError,
};
