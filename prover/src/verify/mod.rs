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
    verify_chunk_checks, verify_lookup_reads, verify_lookups, ChunkCheckProof, ChunkOpening,
    LookupError, LookupOutput, LookupProof, LookupReadProof, LookupReads, LookupStatement,
    PendingChunks,
};
pub use sumcheck::{
    verify_sumcheck, verify_sumcheck_deferred, ClaimReduction, DeferredOutput, ProductClaim,
    SumcheckClaim, SumcheckError, Term,
};

use ark_serialize::CanonicalSerialize;

use crate::field::F;
use crate::transcript::Transcript;

/// The weights of a batched opening's random combination `Σ_k w_k·p_k`: `w_0 = 1`, then 128-bit
/// values `Keccak256(ρ ‖ k)` truncated. A wrong claim on `p_k` survives the combination only if
/// `w_k` hits one value of 2^128, and the verifier's multi-scalar multiplication over hundreds of
/// commitments runs half as many windows as with the powers of ρ.
pub fn batch_weights(rho: F, k: usize) -> Vec<F> {
    use sha3::{Digest, Keccak256};
    let seed = crate::field::to_le_bytes(&rho);
    (0..k)
        .map(|i| {
            if i == 0 {
                return F::from(1u64);
            }
            let mut h = Keccak256::new();
            h.update(&seed);
            h.update((i as u64).to_le_bytes());
            let bytes: [u8; 32] = h.finalize().into();
            F::from(u128::from_le_bytes(bytes[..16].try_into().expect("16 of 32 bytes")))
        })
        .collect()
}

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

/// What a caller-weighted opening absorbs ([`hyperkzg::verify_combination`]): `pcs/num_polys`,
/// `pcs/num_vars`, `pcs/point`, `pcs/combined_claim`. No challenge, and not the commitments: the
/// weights are the caller's, drawn from a transcript that had already absorbed every commitment
/// (the whole-program proof absorbs each when it is sent, and the weights' in the key digest).
pub fn absorb_combination_claim(transcript: &mut Transcript, polys: usize, point: &[F], claim: F) {
    transcript.append_u64("pcs/num_polys", polys as u64);
    transcript.append_u64("pcs/num_vars", point.len() as u64);
    transcript.append_scalars("pcs/point", point);
    transcript.append_scalars("pcs/combined_claim", &[claim]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::{BigInteger, PrimeField};

    #[test]
    fn batch_weights_are_one_then_distinct_128_bit_values() {
        let w = batch_weights(F::from(7u64), 300);
        assert_eq!(w[0], F::from(1u64));
        assert!(w[1..].iter().all(|x| x.into_bigint().num_bits() <= 128));
        let mut sorted: Vec<_> = w.iter().map(|x| x.into_bigint()).collect();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 300, "weights repeat");
        assert_ne!(batch_weights(F::from(8u64), 2)[1], w[1], "weights ignore ρ");
    }
}
