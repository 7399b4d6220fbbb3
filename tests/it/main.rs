//! Atlas's one integration-test binary: each module covers one concern across crates.

mod demo;
mod deps;
mod lang;
mod lookup;
mod vm;
