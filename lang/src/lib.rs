//! The `.atl` front end: source text to an AST with spans, plus Atlas's diagnostics.
//!
//! Pipeline position: first stage. `atlas-compiler` resolves names and types on the AST this crate
//! produces and lowers it into `atlas-ir`. Nothing here knows about the IR, the VM or the prover.
//!
//! Status: not built yet (issue "The .atl language"); the crate is an empty placeholder.
