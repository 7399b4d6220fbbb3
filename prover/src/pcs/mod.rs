//! Polynomial commitments: the [`CommitmentScheme`] trait, its errors, and the byte format of
//! commitments and proofs.
//!
//! Place in the proof: every claim the protocol leaves on a *committed* polynomial (one-hot lookup
//! addresses, small advice, private inputs, weights) ends here, in one batched opening per point.
//! The only scheme today is [`HyperKzg`] over BN254; the trait exists so that a transparent scheme
//! (Dory, a hash-based one) can replace it without touching the protocol code.
//!
//! Layout: [`srs`] builds keys (development SRS or a snarkjs `.ptau` file), `msm` holds the commit
//! fast paths (one-hot and small-value vectors) and `batch_affine` the full-width MSM, [`hyperkzg`]
//! the prover. The HyperKZG verifier
//! and the proof/commitment types live in [`crate::verify::hyperkzg`]: they use no rayon and never
//! panic.

mod batch_affine;
mod columns;
pub mod hyperkzg;
mod msm;
mod ptau;
pub mod srs;

#[cfg(test)]
mod soundness_tests;

use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use std::fmt::Debug;

use crate::field::F;
use crate::poly::MultilinearPoly;
use crate::transcript::Transcript;

pub use crate::verify::hyperkzg::{HyperKzgCommitment, HyperKzgProof, HyperKzgVerifierKey};
pub use hyperkzg::{HyperKzg, HyperKzgProverKey};
pub use ptau::PtauError;
pub use srs::{Srs, DEV_SRS_WARNING};

/// Version byte in front of every encoded commitment and proof ([`to_bytes`]). Bump it whenever
/// the encoding or the meaning of a field changes.
pub const PCS_FORMAT_VERSION: u8 = 1;

/// Why committing, opening, verifying or decoding failed. Verification failures carry what was
/// expected and what was found, so a caller can tell a malformed proof from a false claim.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PcsError {
    #[error("the key supports polynomials of at most {max} variables, got {got}")]
    TooManyVariables { max: usize, got: usize },
    #[error("the opening point has {got} coordinates, the polynomials have {expected} variables")]
    PointDimension { expected: usize, got: usize },
    #[error(
        "all polynomials in a batch must have {expected} variables, polynomial {index} has {got}"
    )]
    NumVarsMismatch { index: usize, expected: usize, got: usize },
    #[error("one-hot index {index} is not below the column count {columns}")]
    OneHotIndex { index: usize, columns: usize },
    #[error("a batch opening needs at least one polynomial")]
    EmptyBatch,
    #[error("polynomial {index} has no evaluations")]
    EmptyPolynomial { index: usize },
    #[error("expected {expected} commitments (one per polynomial), got {got}")]
    CommitmentCount { expected: usize, got: usize },
    #[error("expected {expected} claimed evaluations (one per commitment), got {got}")]
    EvalCount { expected: usize, got: usize },
    #[error("a one-hot matrix of {columns} columns cannot be cut into blocks of {block}")]
    OneHotBlocks { columns: usize, block: usize },
    #[error("malformed proof: expected {expected} {what}, got {got}")]
    ProofShape { what: &'static str, expected: usize, got: usize },
    #[error(
        "the Fiat–Shamir challenge {label} is degenerate (zero); the transcript cannot be used"
    )]
    DegenerateChallenge { label: &'static str },
    #[error("constant polynomial: the commitment does not match the claimed value")]
    ConstantMismatch,
    #[error("folding round {round}: the claimed evaluations are inconsistent with the point")]
    FoldInconsistent { round: usize },
    #[error("the batched KZG pairing check failed")]
    PairingCheck,
    #[error("unsupported PCS encoding version: expected {expected}, found {found}")]
    FormatVersion { expected: u8, found: u8 },
    #[error("empty input: expected a version byte")]
    EmptyEncoding,
    #[error("malformed encoding: {reason}")]
    Decode { reason: String },
    #[error("{extra} trailing bytes after the encoded value")]
    TrailingBytes { extra: usize },
}

/// A commitment scheme for multilinear polynomials over [`F`] (variables MSB-first, see
/// [`crate::poly`]), with batched openings of several polynomials at one point.
///
/// # Transcript
///
/// `batch_open` and `batch_verify` absorb exactly the same items in the same order, so the two
/// transcripts leave in the same state. The common prefix (see
/// [`crate::verify::absorb_batch_claim`]) is:
///
/// 1. `pcs/num_polys` (u64), `pcs/num_vars` (u64);
/// 2. each commitment, in order, as `pcs/commitment`;
/// 3. the point as `pcs/point`, then the claimed evaluations as `pcs/evals`;
/// 4. the batching challenge `pcs/batch` (ρ): the batch is opened as `Σ ρ^k · p_k`.
///
/// The commitments are absorbed again even if the caller absorbed them when they were made: the
/// batching challenge must depend on them, and a scheme whose soundness rests on a caller's
/// discipline is a trap. The scheme-specific items follow (documented on each scheme).
pub trait CommitmentScheme {
    type ProverKey: Send + Sync;
    type VerifierKey: Clone + Debug;
    type Commitment: Clone
        + PartialEq
        + Debug
        + CanonicalSerialize
        + CanonicalDeserialize
        + Send
        + Sync;
    type Proof: Clone + PartialEq + Debug + CanonicalSerialize + CanonicalDeserialize;

    /// Commits to the evaluation table of `poly`. Compact polynomials (0/1, small integers) take
    /// the cheap paths; the commitment depends only on the values, not on the representation.
    fn commit(pk: &Self::ProverKey, poly: &MultilinearPoly) -> Result<Self::Commitment, PcsError>;

    /// Opens `polys` (all with `point.len()` variables, committed as `commitments`) at `point`.
    /// Returns the evaluations, in the order of `polys`, and the proof.
    fn batch_open(
        pk: &Self::ProverKey,
        polys: &[&MultilinearPoly],
        commitments: &[Self::Commitment],
        point: &[F],
        transcript: &mut Transcript,
    ) -> Result<(Vec<F>, Self::Proof), PcsError>;

    /// Checks that each `commitments[k]` opens to `evals[k]` at `point`. Never panics.
    fn batch_verify(
        vk: &Self::VerifierKey,
        commitments: &[Self::Commitment],
        point: &[F],
        evals: &[F],
        proof: &Self::Proof,
        transcript: &mut Transcript,
    ) -> Result<(), PcsError>;
}

/// Encodes a commitment or proof: [`PCS_FORMAT_VERSION`], then the compressed ark-serialize
/// encoding.
pub fn to_bytes<T: CanonicalSerialize>(value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + value.compressed_size());
    out.push(PCS_FORMAT_VERSION);
    // Writing into a Vec cannot fail: the writer is the only error source and a Vec grows.
    if value.serialize_compressed(&mut out).is_err() {
        out.truncate(1);
    }
    out
}

/// Decodes what [`to_bytes`] wrote. Rejects a wrong version, truncated input, points not on the
/// curve (or outside the prime-order subgroup), non-canonical encodings and trailing bytes.
pub fn from_bytes<T: CanonicalSerialize + CanonicalDeserialize>(
    bytes: &[u8],
) -> Result<T, PcsError> {
    let (&version, mut rest) = bytes.split_first().ok_or(PcsError::EmptyEncoding)?;
    if version != PCS_FORMAT_VERSION {
        return Err(PcsError::FormatVersion { expected: PCS_FORMAT_VERSION, found: version });
    }
    let value = T::deserialize_compressed(&mut rest)
        .map_err(|e| PcsError::Decode { reason: e.to_string() })?;
    if !rest.is_empty() {
        return Err(PcsError::TrailingBytes { extra: rest.len() });
    }
    // One value, one encoding: the compressed identity ignores its x bits when decoding, so without
    // this a flipped bit could decode to the very same proof.
    if to_bytes(&value) != bytes {
        return Err(PcsError::Decode { reason: "non-canonical encoding".into() });
    }
    Ok(value)
}
