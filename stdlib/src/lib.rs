//! The standard primitives (range check, ReLU, clamp, rescale, comparison, dense sampled
//! functions, …) as `atlas-vm` lookup tables, one file and one registry line each, and the `.atl`
//! prelude built from them.
//!
//! - [`tables`]: the table structs, each implementing [`atlas_vm::Table`] and
//!   [`atlas_vm::TableMle`] for every prime field;
//! - [`registry`]: the list of table kinds, and [`registry::table_by_id`] to rebuild a table from
//!   its [`atlas_vm::TableId`];
//! - [`SAMPLED`]: the sampled primitives, which `.atl` calls as `std.prim.<name>_table`;
//! - [`prelude`]: the `.atl` source of `std.nn` (`atl/nn.atl`: softmax, layer norm, GELU, mean),
//!   which the compiler parses and inlines like any `fn`;
//! - the shared test battery (`battery.rs`, tests only) that every registered kind passes.

pub mod registry;
pub mod tables;

#[cfg(test)]
mod battery;

pub use registry::{kinds, table_by_id, BoxedTable, Kind};

/// The `.atl` preludes, as source text.
pub mod prelude {
    /// `std.nn`: the library functions written in `.atl` over `std.prim`.
    pub const NN: &str = include_str!("../atl/nn.atl");
}

/// Every sampled primitive (`tables/approx.rs`), in registry order: `.atl` programs call each as
/// `<name>_table(x, to = U)` from `std.prim`. The registry test keeps it equal to the registry's
/// sampled kinds.
pub static SAMPLED: &[&Spec] = &[
    &tables::leaky_relu::SPEC,
    &tables::sigmoid::SPEC,
    &tables::tanh::SPEC,
    &tables::gelu::SPEC,
    &tables::gelu_tanh::SPEC,
    &tables::erf::SPEC,
    &tables::exp::SPEC,
    &tables::recip::SPEC,
    &tables::rsqrt::SPEC,
    &tables::sqrt::SPEC,
    &tables::sin::SPEC,
    &tables::cos::SPEC,
    &tables::abs::SPEC,
];
pub use tables::{
    Approx, Clamp, DenseTable, Equal, Fixed, LessThan, RangeCheck, Relu, Rounding, Shift, Spec,
    StdlibError,
};
