//! The standard primitives (rescale, ReLU, clamp, exp, GELU, …) as `atlas-vm` lookup tables, one
//! file and one registry line each, and the `.atl` prelude built from them.
//!
//! Status: not built yet (issues "Lookup argument" and "The VM"); the crate is an empty placeholder.
