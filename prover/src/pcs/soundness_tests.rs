//! Soundness attacks on HyperKZG, one per test, and fuzzing of the proof decoder and verifier.
//! Every attack must come back as an `Err` from the verifier (or decoder), never a panic.

use ark_bn254::{G1Affine, G1Projective};
use ark_ec::{AffineRepr, CurveGroup, PrimeGroup};
use ark_ff::{BigInteger, Field, One, PrimeField};
use proptest::prelude::*;

use super::hyperkzg::tests::{keys, open, random_point, rng, verify};
use super::{from_bytes, to_bytes, CommitmentScheme, HyperKzg, PcsError};
use crate::field::F;
use crate::pcs::{HyperKzgCommitment, HyperKzgProof};
use crate::poly::MultilinearPoly;
use crate::transcript::Transcript;

const N: usize = 5;

/// A valid batch opening of three polynomials (dense, small, one-hot) at a random point.
struct Fixture {
    polys: Vec<MultilinearPoly>,
    point: Vec<F>,
    coms: Vec<HyperKzgCommitment>,
    evals: Vec<F>,
    proof: HyperKzgProof,
}

fn fixture(seed: u64) -> Fixture {
    let (pk, vk) = keys();
    let mut rng = rng(seed);
    let len = 1 << N;
    let polys = vec![
        MultilinearPoly::Dense(random_point(&mut rng, len)),
        MultilinearPoly::I32((0..len as i32).map(|i| i * 37 % 101 - 50).collect()),
        MultilinearPoly::U8((0..len).map(|i| (i == 9) as u8).collect()),
    ];
    let point = random_point(&mut rng, N);
    let refs: Vec<&MultilinearPoly> = polys.iter().collect();
    let (coms, evals, proof) = open(&pk, &refs, &point);
    verify(&vk, &coms, &point, &evals, &proof).expect("the untampered fixture verifies");
    Fixture { polys, point, coms, evals, proof }
}

fn g() -> G1Projective {
    G1Projective::generator()
}

fn shift(p: &G1Affine) -> G1Affine {
    (*p + g()).into_affine()
}

fn check(f: &Fixture) -> Result<(), PcsError> {
    verify(&keys().1, &f.coms, &f.point, &f.evals, &f.proof)
}

/// Invariant: a commitment binds the polynomial; the batch opens exactly the committed ones.
/// Mutation: add G to the second commitment.
#[test]
fn tampered_commitment_is_rejected() {
    let mut f = fixture(10);
    f.coms[1].0 = shift(&f.coms[1].0);
    assert!(check(&f).is_err());
}

/// Invariant: commitments are bound in order (the batching weights ρ^k attach to positions).
/// Mutation: swap the first two commitments.
#[test]
fn reordered_commitments_are_rejected() {
    let mut f = fixture(11);
    f.coms.swap(0, 1);
    assert!(check(&f).is_err());
}

/// Invariant: the claimed evaluation is the committed polynomial's value at the point.
/// Mutation: add 1 to the claimed evaluation of the third (one-hot) polynomial.
#[test]
fn tampered_claimed_evaluation_is_rejected() {
    let mut f = fixture(12);
    f.evals[2] += F::one();
    assert!(check(&f).is_err());
}

/// Invariant: the claim on a constant (n = 0) polynomial is checked against its commitment.
/// Mutation: claim 8 for the constant 7.
#[test]
fn tampered_constant_claim_is_rejected() {
    let (pk, vk) = keys();
    let p = MultilinearPoly::I32(vec![7]);
    let (coms, _, proof) = open(&pk, &[&p], &[]);
    assert_eq!(verify(&vk, &coms, &[], &[F::from(8u64)], &proof), Err(PcsError::ConstantMismatch));
}

/// Invariant: each fold commitment binds the folded polynomial before r is drawn.
/// Mutation: add G to each fold commitment in turn.
#[test]
fn tampered_fold_commitment_is_rejected() {
    let f0 = fixture(13);
    for i in 0..f0.proof.folds.len() {
        let mut f = fixture(13);
        f.proof.folds[i] = shift(&f.proof.folds[i]);
        assert!(check(&f).is_err(), "fold {i}");
    }
}

/// Invariant: every evaluation at r, −r and r² is bound by the KZG batch and the fold checks.
/// Mutation: add 1 to each evaluation of each layer in turn.
#[test]
fn tampered_opening_evaluation_is_rejected() {
    let f0 = fixture(14);
    for j in 0..f0.proof.evals.len() {
        for t in 0..3 {
            let mut f = fixture(14);
            f.proof.evals[j][t] += F::one();
            assert!(check(&f).is_err(), "layer {j}, point {t}");
        }
    }
}

/// Invariant: the one KZG witness proves the batched polynomial's values at r, −r, r² together.
/// Mutation: add G to the witness, replace it by the identity, and send it twice.
#[test]
fn tampered_witness_is_rejected() {
    let mut f = fixture(15);
    f.proof.witnesses[0] = shift(&f.proof.witnesses[0]);
    assert!(matches!(check(&f), Err(PcsError::PairingCheck)), "witness shifted");
    let mut f = fixture(15);
    f.proof.witnesses[0] = G1Affine::zero();
    assert!(matches!(check(&f), Err(PcsError::PairingCheck)), "witness zeroed");
    let mut f = fixture(15);
    f.proof.witnesses.push(f.proof.witnesses[0]);
    assert!(matches!(check(&f), Err(PcsError::ProofShape { what: "witnesses", .. })));
}

/// Invariant: a proof opens the polynomials it was made for, not others.
/// Mutation: open a different polynomial at the same point and present that proof (with its own
/// evaluation, and with the original one) for the first commitment.
#[test]
fn proof_for_another_polynomial_is_rejected() {
    let (pk, vk) = keys();
    let f = fixture(16);
    let other = MultilinearPoly::Dense(random_point(&mut rng(99), 1 << N));
    let (_, other_evals, other_proof) = open(&pk, &[&other], &f.point);
    for eval in [other_evals[0], f.evals[0]] {
        assert!(verify(&vk, &f.coms[..1], &f.point, &[eval], &other_proof).is_err());
    }
}

/// Invariant: the proof is for one point.
/// Mutation: verify at a point with one coordinate changed (each coordinate in turn).
#[test]
fn wrong_point_is_rejected() {
    let f0 = fixture(17);
    for i in 0..N {
        let mut f = fixture(17);
        f.point[i] += F::one();
        assert!(check(&f).is_err(), "coordinate {i}");
    }
    assert_eq!(f0.point.len(), N);
}

/// Invariant: the point's dimension matches the proof's shape.
/// Mutation: drop the last coordinate, and append one.
#[test]
fn wrong_point_dimension_is_rejected() {
    let mut f = fixture(18);
    f.point.pop();
    assert_eq!(
        check(&f),
        Err(PcsError::ProofShape { what: "fold commitments", expected: N - 2, got: N - 1 })
    );
    let mut f = fixture(18);
    f.point.push(F::one());
    assert!(matches!(check(&f), Err(PcsError::ProofShape { .. })));
}

/// Invariant: one claimed evaluation per commitment.
/// Mutation: drop an evaluation; drop a commitment; pass none at all.
#[test]
fn wrong_number_of_evaluations_or_commitments_is_rejected() {
    let mut f = fixture(19);
    f.evals.pop();
    assert_eq!(check(&f), Err(PcsError::EvalCount { expected: 3, got: 2 }));
    let mut f = fixture(19);
    f.coms.pop();
    assert_eq!(check(&f), Err(PcsError::EvalCount { expected: 2, got: 3 }));
    let mut f = fixture(19);
    f.coms.clear();
    assert_eq!(check(&f), Err(PcsError::EmptyBatch));
}

/// Invariant: the proof's vectors have the lengths the point implies.
/// Mutation: drop a fold commitment; drop an evaluation triple; drop a witness.
#[test]
fn malformed_proof_shape_is_rejected() {
    let mut f = fixture(20);
    f.proof.folds.pop();
    assert!(matches!(check(&f), Err(PcsError::ProofShape { what: "fold commitments", .. })));
    let mut f = fixture(20);
    f.proof.evals.pop();
    assert!(matches!(check(&f), Err(PcsError::ProofShape { what: "evaluation triples", .. })));
    let mut f = fixture(20);
    f.proof.witnesses.pop();
    assert!(matches!(check(&f), Err(PcsError::ProofShape { what: "witnesses", .. })));
}

/// Invariant: the opening is bound to the transcript it was made in (Fiat–Shamir).
/// Mutation: verify with a transcript that absorbed one extra item first.
#[test]
fn proof_from_another_transcript_is_rejected() {
    let f = fixture(21);
    let mut t = Transcript::new(b"atlas/pcs-test");
    t.append_u64("extra", 1);
    assert!(
        HyperKzg::batch_verify(&keys().1, &f.coms, &f.point, &f.evals, &f.proof, &mut t).is_err()
    );
}

/// Invariant: a batch binds every member: a false claim on one polynomial cannot hide behind
/// true claims on the others.
/// Mutation: open with the evaluations of another point for the second polynomial only.
#[test]
fn one_false_claim_in_a_batch_is_rejected() {
    let mut f = fixture(22);
    let elsewhere = random_point(&mut rng(5), N);
    f.evals[1] = f.polys[1].evaluate(&elsewhere);
    assert!(check(&f).is_err());
}

/// Invariant: the decoder accepts only canonical, complete, correctly versioned encodings.
/// Mutation: wrong version, empty input, truncation, trailing byte, a point off the curve.
#[test]
fn malformed_encodings_are_rejected() {
    let f = fixture(23);
    let bytes = to_bytes(&f.proof);
    let mut v = bytes.clone();
    v[0] = 2;
    assert_eq!(
        from_bytes::<HyperKzgProof>(&v),
        Err(PcsError::FormatVersion { expected: 1, found: 2 })
    );
    assert_eq!(from_bytes::<HyperKzgProof>(&[]), Err(PcsError::EmptyEncoding));
    for cut in [1, 3, 5, 40, bytes.len() - 1] {
        assert!(from_bytes::<HyperKzgProof>(&bytes[..cut]).is_err(), "cut at {cut}");
    }
    let mut v = bytes.clone();
    v.push(0);
    assert_eq!(from_bytes::<HyperKzgProof>(&v), Err(PcsError::TrailingBytes { extra: 1 }));
    // x = q (the base-field prime) is not a canonical coordinate.
    let mut c = vec![1u8];
    c.extend(ark_bn254::Fq::MODULUS.to_bytes_le());
    assert!(from_bytes::<HyperKzgCommitment>(&c).is_err());
    // An x with no y on the curve: x³ + 3 not a square.
    let off_curve = (1u64..)
        .map(ark_bn254::Fq::from)
        .find(|x| (*x * x * x + ark_bn254::Fq::from(3u64)).legendre().is_qnr())
        .unwrap();
    let mut c = vec![1u8];
    c.extend(off_curve.into_bigint().to_bytes_le());
    assert!(from_bytes::<HyperKzgCommitment>(&c).is_err());
    // A huge length prefix must not allocate or panic.
    let mut huge = vec![1u8];
    huge.extend_from_slice(&u32::MAX.to_le_bytes());
    assert!(from_bytes::<HyperKzgProof>(&huge).is_err());
}

/// Invariant: the identity point has exactly one encoding.
/// Mutation: set stray x bits in the all-zero polynomial's (identity) commitment.
#[test]
fn non_canonical_identity_is_rejected() {
    let (pk, _) = keys();
    let c = HyperKzg::commit(&pk, &MultilinearPoly::U8(vec![0; 4])).unwrap();
    let mut bytes = to_bytes(&c);
    assert_eq!(from_bytes::<HyperKzgCommitment>(&bytes), Ok(c));
    bytes[1] ^= 1;
    assert!(from_bytes::<HyperKzgCommitment>(&bytes).is_err());
}

fn fixed() -> &'static Fixture {
    static F: std::sync::OnceLock<Fixture> = std::sync::OnceLock::new();
    F.get_or_init(|| fixture(30))
}

fn zero_fixture() -> &'static Fixture {
    static F: std::sync::OnceLock<Fixture> = std::sync::OnceLock::new();
    F.get_or_init(|| {
        let (pk, _) = keys();
        let zero = MultilinearPoly::U8(vec![0; 8]);
        let point = random_point(&mut rng(31), 3);
        let (coms, evals, proof) = open(&pk, &[&zero], &point);
        Fixture { polys: vec![zero], point, coms, evals, proof }
    })
}

/// Flips one bit of the fixture's encoded proof; it must fail to decode or fail to verify.
fn flipped_proof_fails(f: &Fixture, bit: usize) -> Result<(), TestCaseError> {
    let mut bytes = to_bytes(&f.proof);
    let bit = bit % (bytes.len() * 8);
    bytes[bit / 8] ^= 1 << (bit % 8);
    if let Ok(proof) = from_bytes::<HyperKzgProof>(&bytes) {
        prop_assert!(verify(&keys().1, &f.coms, &f.point, &f.evals, &proof).is_err());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Random bytes never panic the decoder, and whatever decodes never panics the verifier.
    #[test]
    fn random_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..600)) {
        let f = fixed();
        let mut bytes = vec![1u8];
        bytes.extend_from_slice(&body);
        for input in [&body[..], &bytes[..]] {
            if let Ok(proof) = from_bytes::<HyperKzgProof>(input) {
                prop_assert!(verify(&keys().1, &f.coms, &f.point, &f.evals, &proof).is_err());
            }
            let _ = from_bytes::<HyperKzgCommitment>(input);
        }
    }

    /// A valid proof with one bit flipped never verifies (or does not decode).
    #[test]
    fn flipped_proof_never_verifies(bit in any::<usize>()) {
        flipped_proof_fails(fixed(), bit)?;
    }

    /// The same for the all-zero polynomial, whose proof is all identity points.
    #[test]
    fn flipped_zero_proof_never_verifies(bit in any::<usize>()) {
        flipped_proof_fails(zero_fixture(), bit)?;
    }

    /// Random claims against a valid proof never verify, and never panic.
    #[test]
    fn random_claims_never_verify(a in any::<u64>(), b in any::<u64>()) {
        let f = fixed();
        let mut evals = f.evals.clone();
        evals[0] += F::from(a) + F::one();
        evals[1] -= F::from(b);
        prop_assert!(verify(&keys().1, &f.coms, &f.point, &evals, &f.proof).is_err());
    }
}

#[test]
fn the_fixture_has_the_expected_shape() {
    let f = fixed();
    assert_eq!(f.proof.folds.len(), N - 1);
    assert_eq!(f.proof.evals.len(), N);
    assert_eq!(f.proof.witnesses.len(), 1);
    assert!(f.coms.iter().all(|c| !c.0.is_zero()));
    assert_eq!(f.polys.len(), 3);
}
