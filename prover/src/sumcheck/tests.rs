use ark_ff::{One, Zero};
use ark_std::UniformRand;
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

use super::*;
use crate::poly::MultilinearPoly;
use crate::verify::sumcheck::{verify_with, SUMCHECK_PROOF_VERSION};
use crate::verify::{
    verify_sumcheck, ClaimReduction, ProductClaim, SumcheckClaim, SumcheckError, Term,
};

const DOMAIN: &[u8] = b"atlas/test/sumcheck";

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

fn random_dense(n: usize, rng: &mut ChaCha20Rng) -> MultilinearPoly {
    MultilinearPoly::Dense((0..1 << n).map(|_| F::rand(rng)).collect())
}

fn random_point(n: usize, rng: &mut ChaCha20Rng) -> Vec<F> {
    (0..n).map(|_| F::rand(rng)).collect()
}

/// Builds the prover state and the verifier claim of `Σ eq(w,x) ∏ P_k` (or without eq).
fn product_instance(
    polys: Vec<MultilinearPoly>,
    terms: Vec<Term>,
    eq: Option<Vec<F>>,
) -> (ProductSumcheck, ProductClaim) {
    let claim = ProductSumcheck::sum(&polys, &terms, eq.as_deref()).unwrap();
    let p = ProductSumcheck::new(polys, terms, eq.clone(), claim).unwrap();
    let c = p.claim(eq);
    (p, c)
}

fn prove_one(p: &mut dyn SumcheckInstance) -> (SumcheckProof, SumcheckOutput) {
    let mut t = Transcript::new(DOMAIN);
    prove_sumcheck(&mut [p], &mut t)
}

fn verify_one(
    c: &dyn SumcheckClaim,
    proof: &SumcheckProof,
) -> Result<SumcheckOutput, SumcheckError> {
    let mut t = Transcript::new(DOMAIN);
    verify_sumcheck(&[c], proof, &mut t)
}

/// A valid degree-3 proof (eq · A · B over 2^6) used by the attack tests.
fn valid_proof() -> (ProductClaim, SumcheckProof) {
    let mut r = rng(7);
    let (mut p, c) = product_instance(
        vec![random_dense(6, &mut r), random_dense(6, &mut r)],
        vec![Term::product(vec![0, 1])],
        Some(random_point(6, &mut r)),
    );
    let (proof, _) = prove_one(&mut p);
    verify_one(&c, &proof).expect("the untampered proof verifies");
    (c, proof)
}

/// A lone eq-weighted instance sends `q = s / eq(τ, X)`, one coefficient fewer per round; in a
/// batch the instances' eq factors differ, so every round is sent whole. Both verify, and a proof
/// in one form is refused where the other is expected.
#[test]
fn eq_factored_rounds_only_for_a_lone_instance() {
    let mut r = rng(11);
    let n = 5;
    let make = |r: &mut ChaCha20Rng| {
        let eq = Some(random_point(n, r));
        product_instance(
            vec![random_dense(n, r), random_dense(n, r)],
            vec![Term::product(vec![0, 1])],
            eq,
        )
    };
    let ((mut p1, c1), (mut p2, c2)) = (make(&mut r), make(&mut r));
    let (lone, _) = prove_one(&mut p1);
    assert!(lone.rounds.iter().all(|round| round.len() == 2), "degree 3, eq-factored: 2");
    verify_one(&c1, &lone).expect("lone instance verifies");

    let (mut q1, _) = make(&mut rng(11));
    let mut t = Transcript::new(DOMAIN);
    let (batch, _) = prove_sumcheck(&mut [&mut q1, &mut p2], &mut t);
    assert!(batch.rounds.iter().all(|round| round.len() == 3), "batched: whole rounds");
    let mut t = Transcript::new(DOMAIN);
    verify_sumcheck(&[&c1, &c2], &batch, &mut t).expect("batch verifies");

    let mut whole = lone.clone();
    whole.rounds = batch.rounds.clone();
    assert_eq!(
        verify_one(&c1, &whole),
        Err(SumcheckError::Degree { round: 0, expected: 2, got: 3 })
    );
}

#[test]
fn completeness_degrees_1_to_4_with_and_without_eq() {
    let mut r = rng(1);
    for factors in 1..=4usize {
        for with_eq in [false, true] {
            for n in [1, 2, 3, 5, 8] {
                let polys: Vec<_> = (0..factors).map(|_| random_dense(n, &mut r)).collect();
                let eq = with_eq.then(|| random_point(n, &mut r));
                let (mut p, c) = product_instance(
                    polys.clone(),
                    vec![Term::product((0..factors).collect())],
                    eq,
                );
                let (proof, out) = prove_one(&mut p);
                let v = verify_one(&c, &proof).unwrap();
                assert_eq!(v, out);
                // The final evaluations are the polynomials' values at the point.
                for (k, poly) in polys.iter().enumerate() {
                    assert_eq!(out.final_evals[0][k], poly.evaluate(&out.point));
                }
            }
        }
    }
}

#[test]
fn completeness_at_every_size_up_to_2_16() {
    let mut r = rng(2);
    for n in 1..=16 {
        let polys = vec![random_dense(n, &mut r), random_dense(n, &mut r)];
        let (mut p, c) =
            product_instance(polys, vec![Term::product(vec![0, 1])], Some(random_point(n, &mut r)));
        let (proof, _) = prove_one(&mut p);
        verify_one(&c, &proof).unwrap();
        assert_eq!(proof.rounds.len(), n);
    }
}

#[test]
fn completeness_for_compact_representations() {
    let mut r = rng(3);
    let n = 11;
    let len = 1usize << n;
    let u8s = MultilinearPoly::from_u8((0..len).map(|_| r.gen()).collect()).unwrap();
    let i32s = MultilinearPoly::from_i32((0..len).map(|_| r.gen()).collect()).unwrap();
    let i16s =
        MultilinearPoly::from_i32((0..len).map(|_| r.gen::<i16>() as i32).collect()).unwrap();
    let i64s = MultilinearPoly::from_i64((0..len).map(|_| r.gen::<i64>() >> 20).collect()).unwrap();
    let onehot =
        MultilinearPoly::from_u8((0..len).map(|i| u8::from(i % 5 == 0)).collect()).unwrap();
    let cases: Vec<(Vec<MultilinearPoly>, Vec<usize>)> = vec![
        (vec![u8s.clone(), onehot.clone()], vec![0, 1]),
        (vec![i16s.clone(), i16s.clone(), u8s.clone()], vec![0, 1, 2]),
        // i32 · i32 · i32 · i32 overflows i128: exercises the fallback to field arithmetic.
        (vec![i32s.clone(); 4], vec![0, 1, 2, 3]),
        (vec![i64s.clone(), random_dense(n, &mut r)], vec![0, 1]),
        (vec![onehot.clone()], vec![0, 0]),
    ];
    for (polys, factors) in cases {
        for with_eq in [false, true] {
            let eq = with_eq.then(|| random_point(n, &mut r));
            let (mut p, c) =
                product_instance(polys.clone(), vec![Term::product(factors.clone())], eq);
            let (proof, _) = prove_one(&mut p);
            verify_one(&c, &proof).unwrap();
        }
    }
}

#[test]
fn completeness_for_sums_of_terms_of_mixed_degree() {
    let mut r = rng(4);
    let n = 7;
    let polys: Vec<_> = (0..4).map(|_| random_dense(n, &mut r)).collect();
    let terms = vec![
        Term::new(F::from(3u64), vec![0, 1, 2]),
        Term::new(-F::from(5u64), vec![3]),
        Term::new(F::from(2u64), vec![1, 1]),
    ];
    for eq in [None, Some(random_point(n, &mut r))] {
        let (mut p, c) = product_instance(polys.clone(), terms.clone(), eq);
        let (proof, _) = prove_one(&mut p);
        verify_one(&c, &proof).unwrap();
    }
}

#[test]
fn zero_eq_coordinates_take_the_direct_path() {
    // w_i = 0 makes q(1) underivable from the claim; the prover must compute it directly.
    let mut r = rng(5);
    let n = 6;
    let mut w = random_point(n, &mut r);
    w[n - 1] = F::zero();
    w[2] = F::zero();
    let (mut p, c) = product_instance(
        vec![random_dense(n, &mut r), random_dense(n, &mut r)],
        vec![Term::product(vec![0, 1])],
        Some(w),
    );
    let (proof, _) = prove_one(&mut p);
    verify_one(&c, &proof).unwrap();
}

#[test]
fn batching_instances_with_different_round_counts() {
    let mut r = rng(6);
    let sizes = [3usize, 9, 1, 9, 6];
    let mut provers = Vec::new();
    let mut claims = Vec::new();
    let mut polys_kept = Vec::new();
    for (i, &n) in sizes.iter().enumerate() {
        let factors = 1 + i % 3;
        let polys: Vec<_> = (0..factors).map(|_| random_dense(n, &mut r)).collect();
        let eq = (i % 2 == 0).then(|| random_point(n, &mut r));
        let (p, c) =
            product_instance(polys.clone(), vec![Term::product((0..factors).collect())], eq);
        provers.push(p);
        claims.push(c);
        polys_kept.push(polys);
    }
    let mut refs: Vec<&mut dyn SumcheckInstance> =
        provers.iter_mut().map(|p| p as &mut dyn SumcheckInstance).collect();
    let mut t = Transcript::new(DOMAIN);
    let (proof, out) = prove_sumcheck(&mut refs, &mut t);
    let crefs: Vec<&dyn SumcheckClaim> = claims.iter().map(|c| c as &dyn SumcheckClaim).collect();
    let mut t2 = Transcript::new(DOMAIN);
    let v = verify_sumcheck(&crefs, &proof, &mut t2).unwrap();
    assert_eq!(v, out);
    assert_eq!(t.state(), t2.state(), "prover and verifier transcripts agree");
    // Each instance's point is the prefix of the batch point.
    for (i, polys) in polys_kept.iter().enumerate() {
        let pt = &out.point[..sizes[i]];
        for (k, poly) in polys.iter().enumerate() {
            assert_eq!(out.final_evals[i][k], poly.evaluate(pt));
        }
    }
}

#[test]
fn claim_reduction_merges_claims_at_different_points() {
    let mut r = rng(8);
    let n = 8;
    let poly = random_dense(n, &mut r);
    let points: Vec<Vec<F>> = (0..3).map(|_| random_point(n, &mut r)).collect();
    let values: Vec<F> = points.iter().map(|z| poly.evaluate(z)).collect();

    let mut t = Transcript::new(DOMAIN);
    let gamma = ClaimReduction::draw_gamma(&values, &mut t);
    let claim = ClaimReduction { points: points.clone(), values: values.clone(), gamma };
    let mut prover = ReductionSumcheck::new(poly.clone(), &claim);
    let (proof, out) = prove_sumcheck(&mut [&mut prover], &mut t);
    assert_eq!(out.final_evals[0], vec![poly.evaluate(&out.point)]);

    let mut tv = Transcript::new(DOMAIN);
    let gamma_v = ClaimReduction::draw_gamma(&values, &mut tv);
    let claim_v = ClaimReduction { points, values: values.clone(), gamma: gamma_v };
    verify_sumcheck(&[&claim_v], &proof, &mut tv).unwrap();

    // One wrong value among the claims is caught.
    let mut bad = values;
    bad[1] += F::one();
    let mut tb = Transcript::new(DOMAIN);
    let gamma_b = ClaimReduction::draw_gamma(&bad, &mut tb);
    let claim_b = ClaimReduction { points: claim_v.points.clone(), values: bad, gamma: gamma_b };
    assert!(verify_sumcheck(&[&claim_b], &proof, &mut tb).is_err());
}

// ---------------------------------------------------------------------------------------------
// Soundness: one attack per test.

/// Invariant: every round polynomial is bound by the transcript and checked through the claim chain.
/// Mutation: add one to a coefficient of a middle round.
#[test]
fn rejects_tampered_round_polynomial() {
    let (c, mut proof) = valid_proof();
    proof.rounds[3][1] += F::one();
    assert!(matches!(verify_one(&c, &proof), Err(SumcheckError::FinalClaim { .. })));
}

/// Invariant: the verifier starts from its own input claim, not the prover's.
/// Mutation: verify the honest proof against a claim that is off by one.
#[test]
fn rejects_wrong_initial_claim() {
    let (mut c, proof) = valid_proof();
    c.claim += F::one();
    assert!(matches!(verify_one(&c, &proof), Err(SumcheckError::FinalClaim { .. })));
}

/// Invariant: round order matters; each challenge depends on the rounds before it.
/// Mutation: swap two round polynomials.
#[test]
fn rejects_swapped_rounds() {
    let (c, mut proof) = valid_proof();
    proof.rounds.swap(1, 2);
    assert!(verify_one(&c, &proof).is_err());
}

/// Invariant: a round polynomial has exactly the instance's degree; an eq-factored round sends
/// `q` (degree 2 here, two coefficients without its constant).
/// Mutation: append a coefficient (three where two are expected).
#[test]
fn rejects_wrong_degree() {
    let (c, mut proof) = valid_proof();
    proof.rounds[0].push(F::zero());
    assert_eq!(
        verify_one(&c, &proof),
        Err(SumcheckError::Degree { round: 0, expected: 2, got: 3 })
    );
}

/// Invariant: the proof has one round per variable.
/// Mutation: drop the last round.
#[test]
fn rejects_wrong_round_count() {
    let (c, mut proof) = valid_proof();
    proof.rounds.pop();
    assert_eq!(verify_one(&c, &proof), Err(SumcheckError::RoundCount { expected: 6, got: 5 }));
}

/// Invariant: the final evaluations must reproduce the last round's claim.
/// Mutation: change one final evaluation.
#[test]
fn rejects_wrong_final_evaluation() {
    let (c, mut proof) = valid_proof();
    proof.final_evals[0][1] += F::one();
    assert!(matches!(verify_one(&c, &proof), Err(SumcheckError::FinalClaim { .. })));
}

/// Invariant: the number of final evaluations is fixed by the instance.
/// Mutation: drop one final evaluation.
#[test]
fn rejects_missing_final_evaluation() {
    let (c, mut proof) = valid_proof();
    proof.final_evals[0].pop();
    assert_eq!(
        verify_one(&c, &proof),
        Err(SumcheckError::FinalEvalCount { instance: 0, expected: 2, got: 1 })
    );
}

/// Forges a proof of a false claim for a prover who knows the challenges in advance: each round is
/// the line through (0, c/2), (1, c/2), and the final evaluations are chosen to match.
fn forge_against(c: &ProductClaim, challenges: &[F]) -> SumcheckProof {
    let degree = c.degree();
    let mut claim = c.claim;
    let mut rounds = Vec::new();
    let eq = c.eq_rounds();
    let half = F::from(2u64).inverse().unwrap();
    for (i, r) in challenges.iter().enumerate() {
        match eq.get(i) {
            // An eq-factored round: q(X) = c_0 + X with c_0 fixed by the claim. (A constant q
            // would be the honest message for the polynomials A = claim, B = 1, and pass any
            // challenges: a forgery must depend on them.)
            Some(tau) => {
                let sent: Vec<F> =
                    (1..degree).map(|j| if j == 1 { F::one() } else { F::zero() }).collect();
                let q = UniPoly::decompress_eq(&sent, claim, *tau);
                rounds.push(sent);
                claim = q.evaluate(*r) * crate::poly::eq_eval(&[*tau], &[*r]);
            }
            None => {
                let mut coeffs = vec![F::zero(); degree + 1];
                coeffs[0] = claim * half;
                let poly = UniPoly::from_coeffs(coeffs);
                claim = poly.evaluate(*r);
                rounds.push(poly.compress());
            }
        }
    }
    let mut point = challenges.to_vec();
    point.reverse();
    let weight = crate::poly::eq_eval(c.eq_point.as_ref().unwrap(), &point);
    // A(r)·B(r)·eq(w, r) = claim with B(r) = 1.
    let a = claim * weight.inverse().unwrap();
    SumcheckProof { rounds, final_evals: vec![vec![a, F::one()]] }
}

/// Invariant: challenges are derived from the transcript, after the round message they depend on.
/// Mutation: a prover that knows a frozen challenge sequence forges a proof of a false claim; the
/// same proof passes a verifier fed those frozen challenges, and fails the real one.
#[test]
fn rejects_proof_forged_against_frozen_challenges() {
    let (mut c, _) = valid_proof();
    c.claim += F::one(); // a false claim
    let frozen: Vec<F> = (1..=6u64).map(F::from).collect();
    let forged = forge_against(&c, &frozen);
    let mut it = frozen.iter();
    let replay = verify_with(&[&c], &forged, F::one(), |_, _| *it.next().unwrap());
    assert!(replay.is_ok(), "sanity: the forgery is consistent with the frozen challenges");
    let real = verify_one(&c, &forged);
    assert!(matches!(real, Err(SumcheckError::FinalClaim { .. })), "{real:?}");
}

/// Invariant: a batch commits to its instances' claims before the batching challenge.
/// Mutation: verify a two-instance proof with the instances' claims exchanged.
#[test]
fn rejects_batch_with_exchanged_claims() {
    let mut r = rng(9);
    let (mut p1, c1) =
        product_instance(vec![random_dense(4, &mut r)], vec![Term::product(vec![0])], None);
    let (mut p2, c2) =
        product_instance(vec![random_dense(4, &mut r)], vec![Term::product(vec![0])], None);
    let mut t = Transcript::new(DOMAIN);
    let (proof, _) = prove_sumcheck(&mut [&mut p1, &mut p2], &mut t);
    let mut t = Transcript::new(DOMAIN);
    assert!(verify_sumcheck(&[&c2, &c1], &proof, &mut t).is_err());
}

// ---------------------------------------------------------------------------------------------
// Encoding and robustness.

#[test]
fn proof_bytes_round_trip() {
    let (c, proof) = valid_proof();
    let bytes = proof.to_bytes();
    assert_eq!(bytes[0], SUMCHECK_PROOF_VERSION);
    let back = SumcheckProof::from_bytes(&bytes).unwrap();
    assert_eq!(back, proof);
    verify_one(&c, &back).unwrap();
    assert!(SumcheckProof::from_bytes(&bytes[..bytes.len() - 1]).is_err());
    let mut long = bytes.clone();
    long.push(0);
    assert!(SumcheckProof::from_bytes(&long).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Random bytes never panic the decoder or the verifier.
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let (c, _) = valid_proof_cached();
        if let Ok(proof) = SumcheckProof::from_bytes(&bytes) {
            let _ = verify_one(c, &proof);
        }
    }

    /// A valid proof with one bit flipped either fails to decode or fails to verify.
    #[test]
    fn bit_flipped_proofs_are_rejected(bit in 0usize..(8 * 1024)) {
        let (c, bytes) = valid_proof_cached();
        let mut bytes = bytes.clone();
        let bit = bit % (8 * bytes.len());
        bytes[bit / 8] ^= 1 << (bit % 8);
        // Failing to decode is a rejection too.
        if let Ok(proof) = SumcheckProof::from_bytes(&bytes) {
            prop_assert!(verify_one(c, &proof).is_err());
        }
    }
}

fn valid_proof_cached() -> &'static (ProductClaim, Vec<u8>) {
    static CACHE: std::sync::OnceLock<(ProductClaim, Vec<u8>)> = std::sync::OnceLock::new();
    CACHE.get_or_init(|| {
        let (c, p) = valid_proof();
        (c, p.to_bytes())
    })
}

/// The Fiat–Shamir schedule of a batched sumcheck followed by a claim reduction, reviewed like code.
#[test]
fn transcript_schedule_snapshot() {
    let mut r = rng(10);
    let mut t = Transcript::recording(b"atlas/test/schedule");
    let (mut p1, _) = product_instance(
        vec![random_dense(3, &mut r), random_dense(3, &mut r)],
        vec![Term::product(vec![0, 1])],
        Some(random_point(3, &mut r)),
    );
    let (mut p2, _) =
        product_instance(vec![random_dense(2, &mut r)], vec![Term::product(vec![0])], None);
    let (_, out) = prove_sumcheck(&mut [&mut p1, &mut p2], &mut t);
    let poly = random_dense(3, &mut r);
    let values = vec![poly.evaluate(&out.point), poly.evaluate(&random_point(3, &mut r))];
    let gamma = ClaimReduction::draw_gamma(&values, &mut t);
    let points = vec![out.point.clone(), random_point(3, &mut r)];
    let mut red = ReductionSumcheck::new(poly, &ClaimReduction { points, values, gamma });
    prove_sumcheck(&mut [&mut red], &mut t);
    insta::assert_snapshot!(t.schedule_text());
}

/// Invariant: a statement the verifier builds is checked for shape, never silently weakened.
/// Mutation: a term naming a polynomial that does not exist, an eq point of the wrong dimension,
/// no terms at all (degree 0), and a claim reduction with more values than points.
#[test]
fn rejects_malformed_statements() {
    let (c, proof) = valid_proof();
    let mut bad_factor = c.clone();
    bad_factor.terms[0].factors[1] = 7;
    assert!(matches!(verify_one(&bad_factor, &proof), Err(SumcheckError::Malformed { .. })));
    let mut bad_eq = c.clone();
    bad_eq.eq_point.as_mut().unwrap().pop();
    assert!(matches!(verify_one(&bad_eq, &proof), Err(SumcheckError::Malformed { .. })));
    let mut no_terms = c.clone();
    no_terms.terms.clear();
    no_terms.eq_point = None;
    assert!(matches!(verify_one(&no_terms, &proof), Err(SumcheckError::Malformed { .. })));
    let red = ClaimReduction {
        points: vec![vec![F::one(); 6]],
        values: vec![F::one(), F::one()],
        gamma: F::one(),
    };
    let mut t = Transcript::new(DOMAIN);
    assert!(matches!(
        verify_sumcheck(&[&red], &proof, &mut t),
        Err(SumcheckError::Malformed { .. })
    ));
}
