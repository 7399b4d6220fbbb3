//! The HyperKZG verifier, and the commitment, proof and verifying-key types it reads.
//!
//! HyperKZG (Gemini-style multilinear KZG, as in Nova and Jolt) commits to a multilinear
//! polynomial `p` over `n` variables as the KZG commitment of the univariate
//! `f(X) = Σ_i p[i]·X^i` whose coefficients are the evaluation table (MSB-first, see
//! [`crate::poly`]). To open at `u = (u_0, …, u_{n-1})` the prover folds the table one variable at a
//! time, starting with the *last* variable `x_{n-1}` (adjacent entries `2i`, `2i+1` differ only in
//! it): `f⁽ʲ⁺¹⁾[i] = f⁽ʲ⁾[2i] + u_{n-1-j}·(f⁽ʲ⁾[2i+1] − f⁽ʲ⁾[2i])`, so `f⁽ⁿ⁾` is the constant `p(u)`.
//! Writing `f⁽ʲ⁾(X) = e(X²) + X·o(X²)`, the fold is `f⁽ʲ⁺¹⁾(X) = (1−u)·e(X) + u·o(X)`, hence for any
//! `r ≠ 0`
//!
//! `2r · f⁽ʲ⁺¹⁾(r²) = (1−u)·r·(f⁽ʲ⁾(r) + f⁽ʲ⁾(−r)) + u·(f⁽ʲ⁾(r) − f⁽ʲ⁾(−r))`.
//!
//! The verifier checks this for every round on evaluations the prover claims at `r, −r, r²`, and
//! checks all `3n` claimed evaluations at once: the batched polynomial `B = Σ_j q^j f⁽ʲ⁾` minus the
//! quadratic `I` through its three claimed values is divisible by `Z(X) = (X−r)(X+r)(X−r²)`, and
//! one KZG witness `W = [(B − I)/Z (τ)]₁` shows it: `e(C_B − [I(τ)]₁, H) = e(W, [Z(τ)]₂)` (Kate et
//! al.'s multi-point opening). That needs `[τ]₁, [τ²]₁` and `[τ²]₂, [τ³]₂` in the key, and saves
//! the prover two of the three witness MSMs that one witness per point would cost.
//!
//! # Transcript (after [`super::absorb_batch_claim`])
//!
//! For `n ≥ 1`: the fold commitments `f⁽¹⁾ … f⁽ⁿ⁻¹⁾` (`hyperkzg/fold` each), challenge
//! `hyperkzg/r`; the `3n` evaluations `[f⁽ʲ⁾(r), f⁽ʲ⁾(−r), f⁽ʲ⁾(r²)]` for `j = 0..n` (`hyperkzg/evals`),
//! challenge `hyperkzg/q`; the witness (`hyperkzg/witness`).
//! For `n = 0` nothing follows: the commitment of a constant `c` is `c·G`, checked directly.
//!
//! This module uses no rayon and never panics. (Arkworks' pairing runs its Miller loop through
//! `cfg_chunks_mut!(pairs, 4)`; with the four pairs here that is a single chunk on the calling
//! thread.)

use ark_bn254::{Bn254, G1Affine, G1Projective, G2Affine};
use ark_ec::pairing::Pairing;
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{AdditiveGroup, Field, One, Zero};
use ark_serialize::{
    CanonicalDeserialize, CanonicalSerialize, Compress, Read, SerializationError, Valid, Validate,
    Write,
};

use super::{absorb_batch_claim, absorb_combination_claim, batch_weights};
use crate::field::F;
use crate::pcs::PcsError;
use crate::poly::powers;
use crate::transcript::Transcript;

/// The largest number of variables an encoded proof may claim. It bounds what a decoder
/// allocates for hostile input; real SRSs stop at 2^28.
pub const MAX_PROOF_VARS: usize = 64;

/// A HyperKZG commitment: `Σ_i p[i]·[τ^i]₁`. The all-zero polynomial commits to the identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, CanonicalSerialize, CanonicalDeserialize)]
pub struct HyperKzgCommitment(pub G1Affine);

impl Default for HyperKzgCommitment {
    fn default() -> Self {
        HyperKzgCommitment(G1Affine::zero())
    }
}

/// What the verifier needs from the SRS: `G, [τ]₁, [τ²]₁` (to commit to the quadratic `I`) and
/// `H, [τ]₂, [τ²]₂, [τ³]₂` (to check against the cubic `Z`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, CanonicalSerialize, CanonicalDeserialize)]
pub struct HyperKzgVerifierKey {
    pub g1: G1Affine,
    pub tau_g1: G1Affine,
    pub tau2_g1: G1Affine,
    pub g2: G2Affine,
    pub tau_g2: G2Affine,
    pub tau2_g2: G2Affine,
    pub tau3_g2: G2Affine,
}

/// A HyperKZG opening proof for a point with `n` coordinates.
///
/// Shape for `n ≥ 1`: `n − 1` fold commitments, `n` evaluation triples, 1 witness; for `n = 0`
/// all three are empty. The verifier checks the shape before anything else.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct HyperKzgProof {
    /// Commitments to the folded polynomials `f⁽¹⁾ … f⁽ⁿ⁻¹⁾`.
    pub folds: Vec<G1Affine>,
    /// `[f⁽ʲ⁾(r), f⁽ʲ⁾(−r), f⁽ʲ⁾(r²)]` for `j = 0..n`.
    pub evals: Vec<[F; 3]>,
    /// The KZG witness of the batched polynomial at `r`, `−r`, `r²` together (one entry).
    pub witnesses: Vec<G1Affine>,
}

impl HyperKzgProof {
    /// Checks the vectors' lengths against a point of `n` coordinates; reports the first mismatch.
    fn check_shape(&self, n: usize) -> Result<(), PcsError> {
        let (folds, witnesses) = if n == 0 { (0, 0) } else { (n - 1, 1) };
        let shape = |what, expected, got| {
            if expected == got {
                Ok(())
            } else {
                Err(PcsError::ProofShape { what, expected, got })
            }
        };
        shape("fold commitments", folds, self.folds.len())?;
        shape("evaluation triples", n, self.evals.len())?;
        shape("witnesses", witnesses, self.witnesses.len())
    }
}

// Hand-written (de)serialization: ark-serialize's `Vec<T>` trusts the encoded length for its
// allocation and batch-checks points with rayon; here lengths are bounded before anything is
// allocated and every point is checked as it is read.
fn write_len<W: Write>(len: usize, w: &mut W) -> Result<(), SerializationError> {
    u32::try_from(len).map_err(|_| SerializationError::InvalidData)?.serialize_compressed(w)
}

fn read_len<R: Read>(r: &mut R, max: usize) -> Result<usize, SerializationError> {
    let len = u32::deserialize_compressed(&mut *r)? as usize;
    if len > max {
        return Err(SerializationError::InvalidData);
    }
    Ok(len)
}

impl CanonicalSerialize for HyperKzgProof {
    fn serialize_with_mode<W: Write>(
        &self,
        mut writer: W,
        compress: Compress,
    ) -> Result<(), SerializationError> {
        write_len(self.folds.len(), &mut writer)?;
        for p in &self.folds {
            p.serialize_with_mode(&mut writer, compress)?;
        }
        write_len(self.evals.len(), &mut writer)?;
        for triple in &self.evals {
            for e in triple {
                e.serialize_with_mode(&mut writer, compress)?;
            }
        }
        write_len(self.witnesses.len(), &mut writer)?;
        for p in &self.witnesses {
            p.serialize_with_mode(&mut writer, compress)?;
        }
        Ok(())
    }

    fn serialized_size(&self, compress: Compress) -> usize {
        let point = G1Affine::zero().serialized_size(compress);
        let scalar = F::zero().serialized_size(compress);
        12 + point * (self.folds.len() + self.witnesses.len()) + 3 * scalar * self.evals.len()
    }
}

impl Valid for HyperKzgProof {
    fn check(&self) -> Result<(), SerializationError> {
        self.folds.iter().chain(&self.witnesses).try_for_each(Valid::check)
    }
}

impl CanonicalDeserialize for HyperKzgProof {
    fn deserialize_with_mode<R: Read>(
        mut reader: R,
        compress: Compress,
        validate: Validate,
    ) -> Result<Self, SerializationError> {
        let points = |reader: &mut R, max| -> Result<Vec<G1Affine>, SerializationError> {
            let len = read_len(reader, max)?;
            let mut out = Vec::with_capacity(len);
            for _ in 0..len {
                out.push(G1Affine::deserialize_with_mode(&mut *reader, compress, validate)?);
            }
            Ok(out)
        };
        let folds = points(&mut reader, MAX_PROOF_VARS)?;
        let n = read_len(&mut reader, MAX_PROOF_VARS)?;
        let mut evals = Vec::with_capacity(n);
        for _ in 0..n {
            let mut triple = [F::zero(); 3];
            for e in &mut triple {
                *e = F::deserialize_with_mode(&mut reader, compress, validate)?;
            }
            evals.push(triple);
        }
        let witnesses = points(&mut reader, 1)?;
        Ok(HyperKzgProof { folds, evals, witnesses })
    }
}

/// `Σ scalars[i]·points[i]`: a bucket MSM, since a whole-program proof opens hundreds of
/// commitments at once (gpt_nano: 1,881), where one GLV multiplication each cost 0.1 s.
fn lincomb(points: &[G1Affine], scalars: &[F]) -> G1Projective {
    crate::verify::msm::msm(points, scalars)
}

/// Verifies a HyperKZG batch opening: each `commitments[k]` opens to `evals[k]` at `point`.
///
/// Absorbs exactly what [`crate::pcs::HyperKzg`]'s `batch_open` absorbs (module docs).
pub fn batch_verify(
    vk: &HyperKzgVerifierKey,
    commitments: &[HyperKzgCommitment],
    point: &[F],
    evals: &[F],
    proof: &HyperKzgProof,
    transcript: &mut Transcript,
) -> Result<(), PcsError> {
    check_batch(commitments, evals.len(), point, proof)?;
    let k = commitments.len();

    let rho = absorb_batch_claim(transcript, commitments, point, evals);
    let weights = batch_weights(rho, k);
    let claim: F = weights.iter().zip(evals).map(|(w, e)| *w * e).sum();
    verify_lincomb(vk, commitments, &weights, point, claim, proof, transcript)
}

/// Verifies that `Σ_k weights[k]·p_k(point) = claim`, where `commitments[k]` binds `p_k`: one
/// opening of the combination, whose commitment the verifier forms itself. The caller's weights
/// must come from a transcript that bound the commitments before drawing them (the final opening's
/// weights are the reduction sumcheck's, drawn after every commitment was sent), so the prover
/// could not choose the polynomials to suit them.
///
/// Absorbs what [`super::absorb_combination_claim`] lists — not the commitments, which the
/// caller's transcript holds already — then runs the opening (as [`batch_verify`]'s from there on).
pub fn verify_combination(
    vk: &HyperKzgVerifierKey,
    commitments: &[HyperKzgCommitment],
    weights: &[F],
    point: &[F],
    claim: F,
    proof: &HyperKzgProof,
    transcript: &mut Transcript,
) -> Result<(), PcsError> {
    check_batch(commitments, weights.len(), point, proof)?;
    absorb_combination_claim(transcript, commitments.len(), point, claim);
    verify_lincomb(vk, commitments, weights, point, claim, proof, transcript)
}

/// What both batched checks need before reading anything: some commitments, one evaluation (or
/// weight) each, and a proof shaped for `point`.
fn check_batch(
    commitments: &[HyperKzgCommitment],
    per_commitment: usize,
    point: &[F],
    proof: &HyperKzgProof,
) -> Result<(), PcsError> {
    let k = commitments.len();
    if k == 0 {
        return Err(PcsError::EmptyBatch);
    }
    if per_commitment != k {
        return Err(PcsError::EvalCount { expected: k, got: per_commitment });
    }
    proof.check_shape(point.len())
}

/// The opening of `Σ_k weights[k]·p_k` at `point` to `claim`, after the claim is absorbed; the
/// proof's shape is checked by the caller.
fn verify_lincomb(
    vk: &HyperKzgVerifierKey,
    commitments: &[HyperKzgCommitment],
    weights: &[F],
    point: &[F],
    claim: F,
    proof: &HyperKzgProof,
    transcript: &mut Transcript,
) -> Result<(), PcsError> {
    let n = point.len();
    let coms: Vec<G1Affine> = commitments.iter().map(|c| c.0).collect();

    if n == 0 {
        // The commitment of a constant c is c·[τ⁰]₁ = c·G.
        let combined = lincomb(&coms, weights);
        return if combined == vk.g1.into_group() * claim {
            Ok(())
        } else {
            Err(PcsError::ConstantMismatch)
        };
    }

    for f in &proof.folds {
        transcript.append_point("hyperkzg/fold", f);
    }
    let r = transcript.challenge_scalar("hyperkzg/r");
    let z = opening_points(r)?;
    let flat: Vec<F> = proof.evals.iter().flatten().copied().collect();
    transcript.append_scalars("hyperkzg/evals", &flat);
    let q = transcript.challenge_scalar("hyperkzg/q");

    // Each fold must be consistent with the previous polynomial's values at ±r; the last fold is
    // the claimed evaluation itself.
    for j in 0..n {
        let u = point[n - 1 - j];
        let [at_r, at_minus_r, _] = proof.evals[j];
        let next = if j + 1 < n { proof.evals[j + 1][2] } else { claim };
        let lhs = r.double() * next;
        let rhs = (F::one() - u) * r * (at_r + at_minus_r) + u * (at_r - at_minus_r);
        if lhs != rhs {
            return Err(PcsError::FoldInconsistent { round: j });
        }
    }

    let w = proof.witnesses[0];
    transcript.append_point("hyperkzg/witness", &w);

    // Batched polynomial B = Σ_j q^j f⁽ʲ⁾ (f⁽⁰⁾ = Σ_k w_k p_k, `w` from [`batch_weights`]), claimed to take the values b_t at
    // z_t; I interpolates them. With Z(X) = X³ − r²X² − r²X + r⁴, the check
    // e(C_B − [I(τ)]₁, H) = e(W, [Z(τ)]₂) becomes, with the constant term moved to the left,
    // e(C_B − [I(τ)]₁ − r⁴W, H) · e(−W, [τ³]₂) · e(r²W, [τ²]₂) · e(r²W, [τ]₂) = 1.
    let q_pows = powers(q, n);
    let i = interpolate(&z, &batched_values(&q_pows, &proof.evals))?;
    let r2 = z[2];

    // The commitments' 128-bit weights in one multi-scalar multiplication, the few full-width
    // scalars in another.
    let mut bases = Vec::with_capacity(n + 3);
    let mut scalars = Vec::with_capacity(n + 3);
    bases.extend_from_slice(&proof.folds);
    scalars.extend_from_slice(&q_pows[1..]);
    bases.extend([vk.g1, vk.tau_g1, vk.tau2_g1, w]);
    scalars.extend([-i[0], -i[1], -i[2], -r2.square()]);
    let lhs = lincomb(&coms, weights) + lincomb(&bases, &scalars);
    let w_r2 = (w.into_group() * r2).into_affine();

    let pairing = Bn254::multi_pairing(
        [lhs.into_affine(), -w, w_r2, w_r2],
        [vk.g2, vk.tau3_g2, vk.tau2_g2, vk.tau_g2],
    );
    if pairing.is_zero() {
        Ok(())
    } else {
        Err(PcsError::PairingCheck)
    }
}

/// The three opening points `r, −r, r²`; refuses the `r` (0, ±1) that would make two coincide.
pub(crate) fn opening_points(r: F) -> Result<[F; 3], PcsError> {
    if r.is_zero() || r.is_one() || r == -F::one() {
        return Err(PcsError::DegenerateChallenge { label: "hyperkzg/r" });
    }
    Ok([r, -r, r.square()])
}

/// `B(z_t) = Σ_j q^j f⁽ʲ⁾(z_t)` for the three points, from the layers' claimed evaluations.
pub(crate) fn batched_values(q_pows: &[F], evals: &[[F; 3]]) -> [F; 3] {
    let mut b = [F::zero(); 3];
    for (t, v) in b.iter_mut().enumerate() {
        *v = q_pows.iter().zip(evals).map(|(w, e)| *w * e[t]).sum();
    }
    b
}

/// Coefficients `[c0, c1, c2]` of the quadratic through `(z_t, b_t)` (Lagrange form), for distinct
/// `z` (which [`opening_points`] guarantees).
pub(crate) fn interpolate(z: &[F; 3], b: &[F; 3]) -> Result<[F; 3], PcsError> {
    let mut c = [F::zero(); 3];
    for t in 0..3 {
        let (s, u) = (z[(t + 1) % 3], z[(t + 2) % 3]);
        let denom = ((z[t] - s) * (z[t] - u))
            .inverse()
            .ok_or(PcsError::DegenerateChallenge { label: "hyperkzg/r" })?;
        let w = b[t] * denom;
        // (X − s)(X − u) = X² − (s + u)X + su
        c[0] += w * s * u;
        c[1] -= w * (s + u);
        c[2] += w;
    }
    Ok(c)
}
