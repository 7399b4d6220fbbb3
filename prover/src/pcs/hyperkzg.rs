//! The HyperKZG prover: commit, and batched opening of several polynomials at one point.
//!
//! The protocol, its transcript schedule and the verifier are documented in
//! [`crate::verify::hyperkzg`]; this file produces exactly what that verifier reads, and absorbs
//! the same items through the same functions.

use std::sync::Arc;

use ark_bn254::{G1Affine, G1Projective};
use ark_ec::CurveGroup;
use ark_ff::{Field, One, Zero};
use rayon::prelude::*;

use super::msm;
use super::{CommitmentScheme, PcsError};
use crate::field::F;
use crate::poly::{powers, MultilinearPoly};
use crate::transcript::Transcript;
use crate::verify::hyperkzg::{
    batch_verify, batched_values, interpolate, opening_points, HyperKzgCommitment, HyperKzgProof,
    HyperKzgVerifierKey,
};
use crate::verify::{absorb_batch_claim, absorb_combination_claim, batch_weights};

/// The prover's part of the SRS: `[τ^i]₁` for `i < 2^max_num_vars` (shared, not copied).
///
/// Invariant: `powers.len() ≥ 1 << max_num_vars`.
#[derive(Clone)]
pub struct HyperKzgProverKey {
    powers: Arc<Vec<G1Affine>>,
    max_num_vars: usize,
}

impl std::fmt::Debug for HyperKzgProverKey {
    // The powers are megabytes: show the size only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HyperKzgProverKey")
            .field("max_num_vars", &self.max_num_vars)
            .finish_non_exhaustive()
    }
}

impl HyperKzgProverKey {
    pub(crate) fn new(powers: Arc<Vec<G1Affine>>, max_num_vars: usize) -> Self {
        debug_assert!(powers.len() >= 1 << max_num_vars);
        HyperKzgProverKey { powers, max_num_vars }
    }

    /// The largest number of variables this key commits to.
    pub fn max_num_vars(&self) -> usize {
        self.max_num_vars
    }

    /// The bases `[τ^i]₁`, `i < 2^max_num_vars` (for benchmarks and other MSM users).
    pub fn powers(&self) -> &[G1Affine] {
        self.powers.get(..1 << self.max_num_vars).unwrap_or(&self.powers)
    }

    /// The first `len` bases, if the key is large enough.
    pub(crate) fn bases(&self, len: usize) -> Result<&[G1Affine], PcsError> {
        let too_many = || PcsError::TooManyVariables {
            max: self.max_num_vars,
            got: len.next_power_of_two().trailing_zeros() as usize,
        };
        if len > 1 << self.max_num_vars {
            return Err(too_many());
        }
        self.powers.get(..len).ok_or_else(too_many)
    }
}

/// Multilinear KZG over BN254 (see [`crate::verify::hyperkzg`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct HyperKzg;

impl HyperKzg {
    /// Commits to a table of field elements (same commitment as the equal [`MultilinearPoly`]).
    pub fn commit_field(
        pk: &HyperKzgProverKey,
        evals: &[F],
    ) -> Result<HyperKzgCommitment, PcsError> {
        Ok(HyperKzgCommitment(msm::commit_field(pk.bases(evals.len())?, evals).into_affine()))
    }

    /// Commits to several polynomials.
    pub fn batch_commit(
        pk: &HyperKzgProverKey,
        polys: &[&MultilinearPoly],
    ) -> Result<Vec<HyperKzgCommitment>, PcsError> {
        polys.iter().map(|p| Self::commit(pk, p)).collect()
    }
}

/// `Σ_i coeffs[i]·z^i`, in parallel chunks (Horner within a chunk).
fn eval_univariate(coeffs: &[F], z: F) -> F {
    const CHUNK: usize = 1 << 12;
    let horner = |c: &[F]| c.iter().rev().fold(F::zero(), |acc, x| acc * z + x);
    if coeffs.len() <= CHUNK {
        return horner(coeffs);
    }
    let step = z.pow([CHUNK as u64]);
    let parts: Vec<F> = coeffs.par_chunks(CHUNK).map(horner).collect();
    parts.iter().rev().fold(F::zero(), |acc, x| acc * step + x)
}

/// The quotient of `b(X) − b(z)` by `X − z` (synthetic division), `b.len() − 1` coefficients;
/// exact when `b(z) = 0`.
fn divide_by_linear(b: &[F], z: F) -> Vec<F> {
    let mut h = vec![F::zero(); b.len().saturating_sub(1)];
    let mut acc = F::zero();
    for i in (1..b.len()).rev() {
        acc = b[i] + z * acc;
        h[i - 1] = acc;
    }
    h
}

impl CommitmentScheme for HyperKzg {
    type ProverKey = HyperKzgProverKey;
    type VerifierKey = HyperKzgVerifierKey;
    type Commitment = HyperKzgCommitment;
    type Proof = HyperKzgProof;

    fn commit(pk: &Self::ProverKey, poly: &MultilinearPoly) -> Result<Self::Commitment, PcsError> {
        Ok(HyperKzgCommitment(msm::commit_poly(pk.bases(poly.len())?, poly).into_affine()))
    }

    fn batch_open(
        pk: &Self::ProverKey,
        polys: &[&MultilinearPoly],
        commitments: &[Self::Commitment],
        point: &[F],
        transcript: &mut Transcript,
    ) -> Result<(Vec<F>, Self::Proof), PcsError> {
        let k = polys.len();
        if k == 0 {
            return Err(PcsError::EmptyBatch);
        }
        if commitments.len() != k {
            return Err(PcsError::CommitmentCount { expected: k, got: commitments.len() });
        }
        // The first polynomial fixes the number of variables; the point must match it.
        let n = polys[0].num_vars();
        for (index, p) in polys.iter().enumerate() {
            if p.is_empty() {
                return Err(PcsError::EmptyPolynomial { index });
            }
            if p.num_vars() != n {
                return Err(PcsError::NumVarsMismatch { index, expected: n, got: p.num_vars() });
            }
        }
        if point.len() != n {
            return Err(PcsError::PointDimension { expected: n, got: point.len() });
        }
        if n > pk.max_num_vars {
            return Err(PcsError::TooManyVariables { max: pk.max_num_vars, got: n });
        }

        let evals: Vec<F> = polys.par_iter().map(|p| p.evaluate(point)).collect();
        let proof = open_with_claims(pk, polys, commitments, point, &evals, transcript)?;
        Ok((evals, proof))
    }

    fn batch_verify(
        vk: &Self::VerifierKey,
        commitments: &[Self::Commitment],
        point: &[F],
        evals: &[F],
        proof: &Self::Proof,
        transcript: &mut Transcript,
    ) -> Result<(), PcsError> {
        batch_verify(vk, commitments, point, evals, proof, transcript)
    }
}

/// A polynomial handed to [`HyperKzg::batch_open_extended`] at its own size; the opening treats it
/// as zero-extended (zeros appended, which keeps its commitment) to the point's dimension.
#[derive(Clone, Copy, Debug)]
pub enum Opening<'a> {
    Table(&'a MultilinearPoly),
    /// A `T × columns` block of a one-hot matrix, rows first: entry `j·columns + indices[j] − first`
    /// is 1 where `first ≤ indices[j] < first + columns`, and row `j` is zero otherwise (what
    /// [`HyperKzg::commit_one_hot_blocks`] commits to). Never written out.
    OneHotBlock {
        indices: &'a [usize],
        first: usize,
        columns: usize,
    },
}

impl Opening<'_> {
    fn len(&self) -> usize {
        match self {
            Opening::Table(p) => p.len(),
            Opening::OneHotBlock { indices, columns, .. } => indices.len() * columns,
        }
    }
}

impl HyperKzg {
    /// [`CommitmentScheme::batch_open`] for polynomials of different sizes, each zero-extended to
    /// `point.len()` variables, with their evaluations at `point` already known to the caller
    /// (who got them from the sumcheck that produced `point`). The work is proportional to the
    /// polynomials' own sizes (a one-hot matrix costs its row count), not to `polys.len()·2^n`; the
    /// proof is exactly the one `batch_open` makes for the extended tables.
    pub fn batch_open_extended(
        pk: &HyperKzgProverKey,
        polys: &[Opening<'_>],
        commitments: &[HyperKzgCommitment],
        point: &[F],
        evals: &[F],
        transcript: &mut Transcript,
    ) -> Result<HyperKzgProof, PcsError> {
        let n = point.len();
        check_openings(pk, polys, commitments, evals.len(), n)?;
        let rho = absorb_batch_claim(transcript, commitments, point, evals);
        if n == 0 {
            return Ok(HyperKzgProof::default());
        }
        let f0 = combine(polys, &batch_weights(rho, polys.len()), n);
        open_combined(pk, f0, point, transcript)
    }

    /// Opens `Σ_k weights[k]·p_k` (each zero-extended to `point.len()` variables) at `point` to
    /// `claim`: the prover side of [`crate::verify::hyperkzg::verify_combination`]. The caller
    /// computed `claim` from the polynomials' evaluations, which are never sent.
    pub fn open_combination(
        pk: &HyperKzgProverKey,
        polys: &[Opening<'_>],
        commitments: &[HyperKzgCommitment],
        weights: &[F],
        point: &[F],
        claim: F,
        transcript: &mut Transcript,
    ) -> Result<HyperKzgProof, PcsError> {
        let n = point.len();
        check_openings(pk, polys, commitments, weights.len(), n)?;
        absorb_combination_claim(transcript, commitments.len(), point, claim);
        if n == 0 {
            return Ok(HyperKzgProof::default());
        }
        open_combined(pk, combine(polys, weights, n), point, transcript)
    }
}

/// The shapes both batched openings need: as many commitments and evaluations (or weights) as
/// polynomials, none empty, each a power of two of at most `n` variables, `n` within the key.
fn check_openings(
    pk: &HyperKzgProverKey,
    polys: &[Opening<'_>],
    commitments: &[HyperKzgCommitment],
    per_poly: usize,
    n: usize,
) -> Result<(), PcsError> {
    if polys.is_empty() {
        return Err(PcsError::EmptyBatch);
    }
    if commitments.len() != polys.len() {
        return Err(PcsError::CommitmentCount { expected: polys.len(), got: commitments.len() });
    }
    if per_poly != polys.len() {
        return Err(PcsError::EvalCount { expected: polys.len(), got: per_poly });
    }
    if n > pk.max_num_vars {
        return Err(PcsError::TooManyVariables { max: pk.max_num_vars, got: n });
    }
    for (index, p) in polys.iter().enumerate() {
        let len = p.len();
        if len == 0 {
            return Err(PcsError::EmptyPolynomial { index });
        }
        let vars = len.trailing_zeros() as usize;
        if !len.is_power_of_two() || vars > n {
            return Err(PcsError::NumVarsMismatch { index, expected: n, got: vars });
        }
    }
    Ok(())
}

/// `Σ_k w_k·p_k` over `2^n` entries, each `p_k` zero-extended; zeros of small tables cost no
/// multiplication and a one-hot matrix costs one addition per row.
fn combine(polys: &[Opening<'_>], weights: &[F], n: usize) -> Vec<F> {
    if let [Opening::Table(p)] = polys {
        if p.len() == 1 << n && weights[0].is_one() {
            return p.to_field();
        }
    }
    let mut f0 = vec![F::zero(); 1 << n];
    const CHUNK: usize = 1 << 12;
    for (p, w) in polys.iter().zip(weights) {
        match p {
            Opening::Table(p) => {
                f0[..p.len()].par_chunks_mut(CHUNK).enumerate().for_each(|(c, out)| {
                    for (i, x) in out.iter_mut().enumerate() {
                        let idx = c * CHUNK + i;
                        match p.get_small(idx) {
                            Some(0) => {}
                            Some(1) => *x += w,
                            _ => *x += *w * p.get(idx),
                        }
                    }
                });
            }
            Opening::OneHotBlock { indices, first, columns } => {
                f0[..indices.len() * columns]
                    .par_chunks_mut(*columns)
                    .zip(indices.par_iter())
                    .for_each(|(row, &c)| {
                        if let Some(x) = c.checked_sub(*first).and_then(|i| row.get_mut(i)) {
                            *x += w;
                        }
                    });
            }
        }
    }
    f0
}

/// The opening proper, absorbing `evals` as the claims. Split out so tests can play a prover that
/// claims false evaluations and otherwise follows the protocol. Shapes are checked by the caller.
fn open_with_claims(
    pk: &HyperKzgProverKey,
    polys: &[&MultilinearPoly],
    commitments: &[HyperKzgCommitment],
    point: &[F],
    evals: &[F],
    transcript: &mut Transcript,
) -> Result<HyperKzgProof, PcsError> {
    let (k, n) = (polys.len(), point.len());
    let rho = absorb_batch_claim(transcript, commitments, point, evals);
    if n == 0 {
        return Ok(HyperKzgProof::default());
    }
    let tables: Vec<Opening<'_>> = polys.iter().map(|p| Opening::Table(p)).collect();
    let f0 = combine(&tables, &batch_weights(rho, k), n);
    open_combined(pk, f0, point, transcript)
}

/// The folds, evaluations and quotient witnesses of `f⁽⁰⁾ = f0` (after the batch claim is absorbed).
fn open_combined(
    pk: &HyperKzgProverKey,
    f0: Vec<F>,
    point: &[F],
    transcript: &mut Transcript,
) -> Result<HyperKzgProof, PcsError> {
    let n = point.len();
    // The folds f⁽¹⁾ … f⁽ⁿ⁻¹⁾ of f⁽⁰⁾ (binding x_{n-1} first).
    let mut layers = vec![f0];
    for j in 0..n - 1 {
        let u = point[n - 1 - j];
        let next: Vec<F> = layers[j].par_chunks(2).map(|c| c[0] + u * (c[1] - c[0])).collect();
        layers.push(next);
    }
    let folds = layers[1..]
        .iter()
        .map(|l| Ok(msm::commit_field(pk.bases(l.len())?, l)))
        .collect::<Result<Vec<G1Projective>, PcsError>>()?;
    let folds = G1Projective::normalize_batch(&folds);
    for c in &folds {
        transcript.append_point("hyperkzg/fold", c);
    }
    let r = transcript.challenge_scalar("hyperkzg/r");
    let z = opening_points(r)?;
    let open_evals: Vec<[F; 3]> = layers
        .iter()
        .map(|l| [eval_univariate(l, z[0]), eval_univariate(l, z[1]), eval_univariate(l, z[2])])
        .collect();
    let flat: Vec<F> = open_evals.iter().flatten().copied().collect();
    transcript.append_scalars("hyperkzg/evals", &flat);
    let q = transcript.challenge_scalar("hyperkzg/q");

    // B = Σ_j q^j f⁽ʲ⁾ (layer j has 2^(n-j) coefficients), at least 3 coefficients so that the
    // quadratic I can be subtracted.
    let q_pows = powers(q, n);
    let mut b: Vec<F> = (0..(1usize << n).max(3))
        .into_par_iter()
        .map(|i| {
            layers
                .iter()
                .zip(&q_pows)
                .take_while(|(l, _)| i < l.len())
                .map(|(l, w)| *w * l[i])
                .sum()
        })
        .collect();
    // W = (B − I)/((X − r)(X + r)(X − r²)), I the quadratic through B's values at the three
    // points: one witness for all three (see `crate::verify::hyperkzg`).
    for (c, i) in b.iter_mut().zip(interpolate(&z, &batched_values(&q_pows, &open_evals))?) {
        *c -= i;
    }
    let w = z.iter().fold(b, |acc, zt| divide_by_linear(&acc, *zt));
    let witness = msm::commit_field(pk.bases(w.len())?, &w).into_affine();
    transcript.append_point("hyperkzg/witness", &witness);

    Ok(HyperKzgProof { folds, evals: open_evals, witnesses: vec![witness] })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::pcs::srs::Srs;
    use crate::pcs::{from_bytes, to_bytes};
    use crate::verify::hyperkzg::verify_combination;
    use ark_ec::AffineRepr;
    use ark_ff::PrimeField;
    use ark_std::UniformRand;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha20Rng;
    use std::sync::OnceLock;

    pub(crate) const TEST_MAX_VARS: usize = 14;

    /// One development SRS for the whole test binary.
    pub(crate) fn srs() -> &'static Srs {
        static SRS: OnceLock<Srs> = OnceLock::new();
        SRS.get_or_init(|| Srs::development(TEST_MAX_VARS).unwrap())
    }

    pub(crate) fn keys() -> (HyperKzgProverKey, HyperKzgVerifierKey) {
        srs().trim(TEST_MAX_VARS).unwrap()
    }

    pub(crate) fn rng(seed: u64) -> ChaCha20Rng {
        ChaCha20Rng::seed_from_u64(seed)
    }

    pub(crate) fn random_point(rng: &mut ChaCha20Rng, n: usize) -> Vec<F> {
        (0..n).map(|_| F::rand(rng)).collect()
    }

    /// The kinds of tables Atlas commits to, over `n` variables.
    pub(crate) fn sample_polys(
        rng: &mut ChaCha20Rng,
        n: usize,
    ) -> Vec<(&'static str, MultilinearPoly)> {
        let len = 1usize << n;
        let one_hot_at = rng.gen_range(0..len);
        vec![
            ("dense", MultilinearPoly::Dense((0..len).map(|_| F::rand(rng)).collect())),
            ("zero", MultilinearPoly::U8(vec![0; len])),
            ("zero-dense", MultilinearPoly::Dense(vec![F::zero(); len])),
            ("one-hot", MultilinearPoly::U8((0..len).map(|i| (i == one_hot_at) as u8).collect())),
            ("u8", MultilinearPoly::U8((0..len).map(|_| rng.gen()).collect())),
            (
                "i32-16bit",
                MultilinearPoly::I32(
                    (0..len).map(|_| rng.gen_range(-(1 << 15)..1 << 15)).collect(),
                ),
            ),
            ("i64", MultilinearPoly::I64((0..len).map(|_| rng.gen()).collect())),
        ]
    }

    pub(crate) fn open(
        pk: &HyperKzgProverKey,
        polys: &[&MultilinearPoly],
        point: &[F],
    ) -> (Vec<HyperKzgCommitment>, Vec<F>, HyperKzgProof) {
        let coms = HyperKzg::batch_commit(pk, polys).unwrap();
        let mut t = Transcript::new(b"atlas/pcs-test");
        let (evals, proof) = HyperKzg::batch_open(pk, polys, &coms, point, &mut t).unwrap();
        (coms, evals, proof)
    }

    pub(crate) fn verify(
        vk: &HyperKzgVerifierKey,
        coms: &[HyperKzgCommitment],
        point: &[F],
        evals: &[F],
        proof: &HyperKzgProof,
    ) -> Result<(), PcsError> {
        let mut t = Transcript::new(b"atlas/pcs-test");
        HyperKzg::batch_verify(vk, coms, point, evals, proof, &mut t)
    }

    #[test]
    fn single_openings_verify_for_every_kind_and_size() {
        let (pk, vk) = keys();
        let mut rng = rng(1);
        for n in 0..=10 {
            let point = random_point(&mut rng, n);
            for (name, p) in sample_polys(&mut rng, n) {
                let (coms, evals, proof) = open(&pk, &[&p], &point);
                assert_eq!(evals, vec![p.evaluate(&point)], "{name}, n = {n}");
                verify(&vk, &coms, &point, &evals, &proof)
                    .unwrap_or_else(|e| panic!("{name}, n = {n}: {e}"));
            }
        }
    }

    #[test]
    fn batch_openings_verify_for_every_size() {
        let (pk, vk) = keys();
        let mut rng = rng(2);
        for n in (0..=10).chain([TEST_MAX_VARS]) {
            let point = random_point(&mut rng, n);
            let polys = sample_polys(&mut rng, n);
            let refs: Vec<&MultilinearPoly> = polys.iter().map(|(_, p)| p).collect();
            let (coms, evals, proof) = open(&pk, &refs, &point);
            let expected: Vec<F> = refs.iter().map(|p| p.evaluate(&point)).collect();
            assert_eq!(evals, expected);
            verify(&vk, &coms, &point, &evals, &proof).unwrap_or_else(|e| panic!("n = {n}: {e}"));
        }
    }

    #[test]
    fn the_zero_polynomial_commits_opens_and_verifies() {
        let (pk, vk) = keys();
        let mut rng = rng(3);
        for n in 0..=8 {
            let zero = MultilinearPoly::Dense(vec![F::zero(); 1 << n]);
            let point = random_point(&mut rng, n);
            let (coms, evals, proof) = open(&pk, &[&zero], &point);
            assert!(coms[0].0.is_zero(), "the zero polynomial commits to the identity");
            assert_eq!(evals, vec![F::zero()]);
            assert!(proof.folds.iter().chain(&proof.witnesses).all(|p| p.is_zero()));
            verify(&vk, &coms, &point, &evals, &proof).unwrap();
            // And its encodings round-trip.
            assert_eq!(from_bytes::<HyperKzgProof>(&to_bytes(&proof)).unwrap(), proof);
            assert_eq!(from_bytes::<HyperKzgCommitment>(&to_bytes(&coms[0])).unwrap(), coms[0]);
            // A non-zero claim on it is rejected.
            assert!(verify(&vk, &coms, &point, &[F::from(1u64)], &proof).is_err());
        }
    }

    #[test]
    fn opening_at_a_boolean_point_reads_the_table() {
        let (pk, vk) = keys();
        let p = MultilinearPoly::I32(vec![10, 11, 12, 13, 14, 15, 16, 17]);
        // (x0, x1, x2) = (1, 1, 0) is entry 0b110 = 6 (x0 is the most significant bit).
        let point = [F::from(1u64), F::from(1u64), F::zero()];
        let (coms, evals, proof) = open(&pk, &[&p], &point);
        assert_eq!(evals, vec![F::from(16u64)]);
        verify(&vk, &coms, &point, &evals, &proof).unwrap();
    }

    #[test]
    fn fast_path_commitments_equal_the_dense_msm() {
        let (pk, _) = keys();
        let mut rng = rng(4);
        for n in [0, 1, 5, 12] {
            let mut polys = sample_polys(&mut rng, n);
            let len = 1usize << n;
            polys.push((
                "one-hot-many",
                MultilinearPoly::I32((0..len).map(|_| rng.gen_bool(0.1) as i32).collect()),
            ));
            polys.push(("i32", MultilinearPoly::I32((0..len).map(|_| rng.gen()).collect())));
            for (name, p) in &polys {
                // Arkworks' MSM as the reference: independent of every path in `msm`.
                let scalars: Vec<_> = p.to_field().iter().map(|e| e.into_bigint()).collect();
                let dense = <G1Projective as ark_ec::VariableBaseMSM>::msm_bigint(
                    pk.bases(len).unwrap(),
                    &scalars,
                )
                .into_affine();
                assert_eq!(HyperKzg::commit(&pk, p).unwrap().0, dense, "{name}, n = {n}");
                assert_eq!(HyperKzg::commit_field(&pk, &p.to_field()).unwrap().0, dense);
            }
        }
    }

    #[test]
    fn prover_and_verifier_transcripts_end_in_the_same_state() {
        let (pk, vk) = keys();
        let mut rng = rng(5);
        for n in [0, 1, 3] {
            let polys = sample_polys(&mut rng, n);
            let refs: Vec<&MultilinearPoly> = polys.iter().take(2).map(|(_, p)| p).collect();
            let point = random_point(&mut rng, n);
            let coms = HyperKzg::batch_commit(&pk, &refs).unwrap();
            let mut tp = Transcript::recording(b"atlas/pcs-test");
            let (evals, proof) = HyperKzg::batch_open(&pk, &refs, &coms, &point, &mut tp).unwrap();
            let mut tv = Transcript::recording(b"atlas/pcs-test");
            HyperKzg::batch_verify(&vk, &coms, &point, &evals, &proof, &mut tv).unwrap();
            assert_eq!(tp.state(), tv.state());
            assert_eq!(tp.schedule_text(), tv.schedule_text());
            if n == 3 {
                assert_eq!(
                    tv.schedule_text(),
                    "Domain     domain\nU64        protocol_version\nU64        pcs/num_polys\n\
                     U64        pcs/num_vars\nPoint      pcs/commitment\nPoint      pcs/commitment\n\
                     Scalars    pcs/point [3]\nScalars    pcs/evals [2]\nChallenge  pcs/batch\n\
                     Point      hyperkzg/fold\nPoint      hyperkzg/fold\nChallenge  hyperkzg/r\n\
                     Scalars    hyperkzg/evals [9]\nChallenge  hyperkzg/q\n\
                     Point      hyperkzg/witness\n"
                );
            }
        }
    }

    #[test]
    fn encodings_round_trip_with_a_version_byte() {
        let (pk, _) = keys();
        let mut rng = rng(6);
        let p = MultilinearPoly::Dense(random_point(&mut rng, 16));
        let (coms, _, proof) = open(&pk, &[&p], &random_point(&mut rng, 4));
        let bytes = to_bytes(&proof);
        assert_eq!(bytes[0], crate::pcs::PCS_FORMAT_VERSION);
        assert_eq!(from_bytes::<HyperKzgProof>(&bytes).unwrap(), proof);
        let c = to_bytes(&coms[0]);
        assert_eq!(c.len(), 33, "version byte + compressed G1 point");
        assert_eq!(from_bytes::<HyperKzgCommitment>(&c).unwrap(), coms[0]);
    }

    /// Invariant: opening tables at their own sizes (one-hot blocks never written out) sends
    /// exactly the proof of opening their zero-extensions.
    #[test]
    fn extended_opening_equals_the_opening_of_zero_extended_tables() {
        let (pk, vk) = keys();
        let mut rng = rng(7);
        let n = 9;
        let small = MultilinearPoly::I64((0..64).map(|i| (i * 13 % 41) - 20).collect());
        let dense = MultilinearPoly::Dense((0..1 << n).map(|_| F::rand(&mut rng)).collect());
        // A 32 × 16 one-hot matrix, and its block of columns 4..8 (rows elsewhere are zero).
        let indices: Vec<usize> = (0..32).map(|j| (j * 7 + 2) % 16).collect();
        let full_table = |first: usize, cols: usize| {
            let mut t = vec![0u8; 1 << n];
            for (j, &a) in indices.iter().enumerate() {
                if (first..first + cols).contains(&a) {
                    t[j * cols + a - first] = 1;
                }
            }
            MultilinearPoly::U8(t)
        };
        let extended = [
            {
                let mut v: Vec<i64> = (0..64).map(|i| (i * 13 % 41) - 20).collect();
                v.resize(1 << n, 0);
                MultilinearPoly::I64(v)
            },
            dense.clone(),
            full_table(0, 16),
            full_table(4, 4),
        ];
        let refs: Vec<&MultilinearPoly> = extended.iter().collect();
        let point = random_point(&mut rng, n);
        let (coms, evals, proof) = open(&pk, &refs, &point);
        let blocks = HyperKzg::commit_one_hot_blocks(&pk, &indices, 16, 4).unwrap();
        assert_eq!(blocks[1], coms[3], "a block commits like its zero-extended table");
        let openings = [
            Opening::Table(&small),
            Opening::Table(&dense),
            Opening::OneHotBlock { indices: &indices, first: 0, columns: 16 },
            Opening::OneHotBlock { indices: &indices, first: 4, columns: 4 },
        ];
        let mut t = Transcript::new(b"atlas/pcs-test");
        let ext =
            HyperKzg::batch_open_extended(&pk, &openings, &coms, &point, &evals, &mut t).unwrap();
        assert_eq!(to_bytes(&ext), to_bytes(&proof));
        verify(&vk, &coms, &point, &evals, &ext).unwrap();
        let mut t = Transcript::new(b"atlas/pcs-test");
        let wrong =
            HyperKzg::batch_open_extended(&pk, &openings, &coms[1..], &point, &evals, &mut t);
        assert!(matches!(wrong, Err(PcsError::CommitmentCount { .. })));
    }

    /// Invariant: a caller-weighted opening proves `Σ w_k·p_k(ρ) = claim` for the committed `p_k`.
    /// Mutation: the same proof checked against the claim plus one, against other weights, and a
    /// proof made for a false claim.
    #[test]
    fn combination_opening_checks_the_weighted_claim() {
        let (pk, vk) = keys();
        let mut rng = rng(9);
        let n = 8;
        let small = MultilinearPoly::I64((0..32).map(|i| (i * 5 % 17) - 8).collect());
        let dense = MultilinearPoly::Dense((0..1 << n).map(|_| F::rand(&mut rng)).collect());
        let indices: Vec<usize> = (0..16).map(|j| (j * 3 + 1) % 16).collect();
        let openings = [
            Opening::Table(&small),
            Opening::Table(&dense),
            Opening::OneHotBlock { indices: &indices, first: 8, columns: 8 },
        ];
        let mut coms =
            vec![HyperKzg::commit(&pk, &small).unwrap(), HyperKzg::commit(&pk, &dense).unwrap()];
        coms.push(HyperKzg::commit_one_hot_blocks(&pk, &indices, 16, 8).unwrap()[1]);
        let point = random_point(&mut rng, n);
        // Each table's value at the point, zero-extended (high variables zero).
        let value = |p: &MultilinearPoly| {
            let k = p.num_vars();
            let pad: F = point[..n - k].iter().map(|x| F::one() - x).product();
            pad * p.evaluate(&point[n - k..])
        };
        let mut block = vec![0u8; 16 * 8];
        for (j, &a) in indices.iter().enumerate() {
            if a >= 8 {
                block[j * 8 + a - 8] = 1;
            }
        }
        let values = [value(&small), value(&dense), value(&MultilinearPoly::U8(block))];
        let weights: Vec<F> = (0..3).map(|_| F::rand(&mut rng)).collect();
        let claim: F = weights.iter().zip(&values).map(|(w, v)| *w * v).sum();
        let prove = |claim: F| {
            let mut t = Transcript::new(b"atlas/pcs-test");
            HyperKzg::open_combination(&pk, &openings, &coms, &weights, &point, claim, &mut t)
                .unwrap()
        };
        let check = |weights: &[F], claim: F, proof: &HyperKzgProof| {
            let mut t = Transcript::new(b"atlas/pcs-test");
            verify_combination(&vk, &coms, weights, &point, claim, proof, &mut t)
        };
        let proof = prove(claim);
        check(&weights, claim, &proof).expect("the honest combination verifies");
        assert!(check(&weights, claim + F::one(), &proof).is_err());
        let mut other = weights.clone();
        other[2] += F::one();
        assert!(check(&other, claim, &proof).is_err());
        let forged = prove(claim + F::one());
        assert!(check(&weights, claim + F::one(), &forged).is_err());
        assert_eq!(
            check(&weights[..2], claim, &proof),
            Err(PcsError::EvalCount { expected: 3, got: 2 })
        );
    }

    #[test]
    fn prover_rejects_malformed_requests() {
        let (pk, _) = keys();
        let p = MultilinearPoly::U8(vec![1, 2, 3, 4]);
        let q = MultilinearPoly::U8(vec![1, 2]);
        let c = HyperKzg::commit(&pk, &p).unwrap();
        let mut t = Transcript::new(b"t");
        let pt = [F::from(3u64), F::from(4u64)];
        assert_eq!(
            HyperKzg::batch_open(&pk, &[], &[], &pt, &mut t).err(),
            Some(PcsError::EmptyBatch)
        );
        assert_eq!(
            HyperKzg::batch_open(&pk, &[&p], &[], &pt, &mut t).err(),
            Some(PcsError::CommitmentCount { expected: 1, got: 0 })
        );
        assert_eq!(
            HyperKzg::batch_open(&pk, &[&p, &q], &[c, c], &pt, &mut t).err(),
            Some(PcsError::NumVarsMismatch { index: 1, expected: 2, got: 1 })
        );
        assert_eq!(
            HyperKzg::batch_open(&pk, &[&p], &[c], &pt[..1], &mut t).err(),
            Some(PcsError::PointDimension { expected: 2, got: 1 })
        );
        let empty = MultilinearPoly::U8(vec![]);
        assert_eq!(
            HyperKzg::batch_open(&pk, &[&p, &empty], &[c, c], &pt, &mut t).err(),
            Some(PcsError::EmptyPolynomial { index: 1 })
        );
        let small = srs().prover_key(1).unwrap();
        assert_eq!(
            HyperKzg::commit(&small, &p).err(),
            Some(PcsError::TooManyVariables { max: 1, got: 2 })
        );
    }

    #[test]
    fn an_srs_loaded_from_a_ptau_file_proves_and_verifies() {
        use crate::pcs::ptau::tests::PtauWriter;
        let bytes = PtauWriter::new(F::from(987654321u64), 4).write();
        let srs = Srs::from_ptau_reader(std::io::Cursor::new(bytes), 4).unwrap();
        assert!(!srs.is_development());
        let (pk, vk) = srs.trim(4).unwrap();
        let mut rng = rng(7);
        let p = MultilinearPoly::I32((0..16).map(|_| rng.gen_range(-100..100)).collect());
        let point = random_point(&mut rng, 4);
        let (coms, evals, proof) = open(&pk, &[&p], &point);
        verify(&vk, &coms, &point, &evals, &proof).unwrap();
        // A proof made with another SRS does not verify against this key.
        let (dev_pk, _) = keys();
        let (dev_coms, dev_evals, dev_proof) = open(&dev_pk, &[&p], &point);
        assert!(verify(&vk, &dev_coms, &point, &dev_evals, &dev_proof).is_err());
    }

    /// Invariant: the last fold must equal the claimed evaluation, whatever the transcript says.
    /// Mutation: a prover that absorbs a false claim and otherwise follows the protocol honestly
    /// (so every pairing-checked value is genuine); only the fold check can catch it.
    #[test]
    fn a_consistently_transcribed_false_claim_is_rejected() {
        let (pk, vk) = keys();
        let mut rng = rng(9);
        for n in [1, 2, 6] {
            let p = MultilinearPoly::I32((0..1 << n).map(|_| rng.gen_range(-9..9)).collect());
            let point = random_point(&mut rng, n);
            let coms = HyperKzg::batch_commit(&pk, &[&p]).unwrap();
            let lie = [p.evaluate(&point) + F::from(1u64)];
            let mut t = Transcript::new(b"atlas/pcs-test");
            let proof = open_with_claims(&pk, &[&p], &coms, &point, &lie, &mut t).unwrap();
            assert_eq!(
                verify(&vk, &coms, &point, &lie, &proof),
                Err(PcsError::FoldInconsistent { round: n - 1 })
            );
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(32))]

        /// Any small signed table, at any point, opens to its MLE value and verifies.
        #[test]
        fn random_small_tables_open_and_verify(
            n in 0usize..7,
            seed in proptest::prelude::any::<u64>(),
            bound in 1i32..70_000,
        ) {
            let (pk, vk) = keys();
            let mut rng = rng(seed);
            let p = MultilinearPoly::I32((0..1 << n).map(|_| rng.gen_range(-bound..=bound)).collect());
            let point = random_point(&mut rng, n);
            let (coms, evals, proof) = open(&pk, &[&p], &point);
            proptest::prop_assert_eq!(evals[0], p.evaluate(&point));
            proptest::prop_assert!(verify(&vk, &coms, &point, &evals, &proof).is_ok());
        }
    }

    #[test]
    fn univariate_helpers() {
        let mut rng = rng(8);
        let coeffs: Vec<F> = (0..10_000).map(|_| F::rand(&mut rng)).collect();
        let z = F::rand(&mut rng);
        let naive: F = coeffs.iter().enumerate().map(|(i, c)| *c * z.pow([i as u64])).sum();
        assert_eq!(eval_univariate(&coeffs, z), naive);
        let h = divide_by_linear(&coeffs, z);
        let x = F::rand(&mut rng);
        // b(x) − b(z) = (x − z)·h(x).
        assert_eq!(eval_univariate(&coeffs, x) - naive, (x - z) * eval_univariate(&h, x));
        // The quadratic through three points of the opening.
        let pts = opening_points(z).unwrap();
        let b = [F::rand(&mut rng), F::rand(&mut rng), F::rand(&mut rng)];
        let i = interpolate(&pts, &b).unwrap();
        for (zt, bt) in pts.iter().zip(b) {
            assert_eq!(eval_univariate(&i, *zt), bt);
        }
        // r = 0, ±1 would make two points coincide.
        for r in [F::zero(), F::one(), -F::one()] {
            let e = opening_points(r).err();
            assert_eq!(e, Some(PcsError::DegenerateChallenge { label: "hyperkzg/r" }));
        }
    }
}
