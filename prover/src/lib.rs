//! Atlas's proof system over BN254: field helpers, multilinear polynomials, the sumcheck engine,
//! the Fiat–Shamir transcript, polynomial commitments (HyperKZG) and the verifier.
//!
//! Pipeline position: last. `atlas-compiler` hands it a VM program and its trace; it returns a
//! proof. The verifier (`verify`) is deliberately isolated from the prover: it uses no rayon, no
//! GPU code and nothing prover-only, and returns an error (never panics) on any input.

pub mod field;
pub mod lookup;
pub mod pcs;
pub mod poly;
pub mod sumcheck;
pub mod tensor;
pub mod transcript;
pub mod verify;

pub use field::F;
pub use transcript::Transcript;
