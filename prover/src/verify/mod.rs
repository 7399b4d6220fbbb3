//! The verifier. Isolated from the prover on purpose: nothing under `verify/` uses rayon, GPU code
//! or prover-only state, and every function returns a structured error on bad input — it never
//! panics, whatever bytes it is given.

pub mod codec;
pub mod lookup;
pub mod sumcheck;

pub use codec::DecodeError;
pub use lookup::{verify_lookups, LookupError, LookupOutput, LookupProof, LookupStatement};
pub use sumcheck::{
    verify_sumcheck, ClaimReduction, ProductClaim, SumcheckClaim, SumcheckError, Term,
};
