//! The verifier. Isolated from the prover on purpose: nothing under `verify/` uses rayon, GPU code
//! or prover-only state, and every function returns a structured error on bad input — it never
//! panics, whatever bytes it is given. The prover reuses the transcript functions defined here, so
//! prover and verifier absorb the same items in the same order by construction.

pub mod codec;
pub mod committed_lookup;
pub mod hyperkzg;
pub mod lookup;
pub mod msm;
pub mod sumcheck;
pub mod tensor;

pub use codec::DecodeError;
pub use lookup::{
    verify_chunk_checks, verify_lookup_reads, verify_lookups, ChunkClaims, LookupError,
    LookupOutput, LookupProof, LookupReadProof, LookupReads, LookupStatement, PendingChunks,
};
pub use sumcheck::{
    verify_sumcheck, ClaimReduction, ProductClaim, SumcheckClaim, SumcheckError, Term,
};

use ark_serialize::CanonicalSerialize;

use crate::field::F;
use crate::transcript::Transcript;

/// Absorbs the claim of a batched opening — what every [`crate::pcs::CommitmentScheme`] binds
/// before anything scheme-specific — and draws the batching challenge ρ:
///
/// `pcs/num_polys`, `pcs/num_vars`, each commitment (`pcs/commitment`), `pcs/point`, `pcs/evals`,
/// then the challenge `pcs/batch`.
pub fn absorb_batch_claim<C: CanonicalSerialize>(
    transcript: &mut Transcript,
    commitments: &[C],
    point: &[F],
    evals: &[F],
) -> F {
    transcript.append_u64("pcs/num_polys", commitments.len() as u64);
    transcript.append_u64("pcs/num_vars", point.len() as u64);
    for c in commitments {
        transcript.append_point("pcs/commitment", c);
    }
    transcript.append_scalars("pcs/point", point);
    transcript.append_scalars("pcs/evals", evals);
    transcript.challenge_scalar("pcs/batch")
}
