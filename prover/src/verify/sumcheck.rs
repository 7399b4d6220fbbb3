//! Verification of (batched) sumchecks, and the verifier's view of the standard instances.
//!
//! # Batching and points
//!
//! Instances with different round counts run as one sumcheck of `N = max n_i` rounds. Instance `i`
//! joins for the *last* `n_i` rounds; before that its round polynomial is the constant
//! `claim_i / 2`, so its input claim enters the batch scaled by `2^(N - n_i)`. Rounds bind variables
//! low to high, so the batch's canonical point (MSB-first) is the reverse of the round challenges,
//! and instance `i`'s point is its **first `n_i` coordinates**.
//!
//! # Round messages
//!
//! A round polynomial `s` of degree `d` travels without its linear coefficient, which the verifier
//! recovers from `s(0) + s(1) = claim`. When a sumcheck has a single instance whose summand carries
//! a factor `eq(τ, x)` ([`SumcheckClaim::eq_rounds`]), the rounds that bind its variables have
//! `s(X) = eq(τ_i, X)·q(X)`: the prover sends `q` (degree `d − 1`) without its constant, which
//! `claim = (1 − τ_i)·q(0) + τ_i·q(1) = c_0 + τ_i·(c_1 + … )` fixes. One scalar fewer per round,
//! and no loss of soundness: the verifier checks a degree-`d` polynomial of a restricted form.
//! (Batched instances have different `τ`, so their rounds are sent whole.)
//!
//! # Transcript schedule
//!
//! `sumcheck_claims` (all input claims) → challenge `sumcheck_batch` → per round:
//! `sumcheck_round` (the compressed round polynomial) or `sumcheck_eq_round` (an eq-factored one),
//! challenge `sumcheck_r` → per instance: `sumcheck_final_evals`.

use ark_ff::{Field, One, Zero};

use crate::field::F;
use crate::poly::{eq_eval, UniPoly};
use crate::transcript::Transcript;
use crate::verify::codec::{DecodeError, Reader, Writer};

/// Why a sumcheck proof was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SumcheckError {
    #[error("sumcheck has no instances")]
    NoInstances,
    #[error("sumcheck instance {instance} has no rounds")]
    EmptyInstance { instance: usize },
    #[error("a sumcheck of degree 0 checks nothing")]
    ZeroDegree,
    #[error("sumcheck instance {instance} is malformed: {reason}")]
    Malformed { instance: usize, reason: String },
    #[error("sumcheck round count: expected {expected}, got {got}")]
    RoundCount { expected: usize, got: usize },
    #[error("sumcheck round {round}: expected a degree-{expected} polynomial ({expected} compressed coefficients), got {got} coefficients")]
    Degree { round: usize, expected: usize, got: usize },
    #[error("sumcheck final evaluations: expected {expected} instances, got {got}")]
    InstanceCount { expected: usize, got: usize },
    #[error("sumcheck instance {instance}: expected {expected} final evaluations, got {got}")]
    FinalEvalCount { instance: usize, expected: usize, got: usize },
    #[error("sumcheck final check failed: the last round claims {claimed}, the instances' final evaluations give {computed}")]
    FinalClaim { claimed: String, computed: String },
}

/// The verifier's description of one sumcheck instance: what is summed, and how to compute the
/// summand at the final point from the prover's final evaluations (and public data).
pub trait SumcheckClaim {
    fn num_rounds(&self) -> usize;
    /// Degree of the round polynomials in each variable.
    fn degree(&self) -> usize;
    /// The claimed sum.
    fn input_claim(&self) -> F;
    /// How many evaluations the prover reports at the final point.
    fn num_final_evals(&self) -> usize;
    /// The summand at `point` (length `num_rounds`, MSB-first) given the prover's final
    /// evaluations, whose count the caller has checked.
    fn expected_output(&self, point: &[F], final_evals: &[F]) -> F;
    /// Checks the statement's own shape (the verifier builds it, but a malformed one must be an
    /// error, not a silently weakened check). `Err` carries the reason.
    fn check_shape(&self) -> Result<(), String> {
        Ok(())
    }
    /// Coordinates `τ_0, τ_1, …` of an `eq` factor of the summand, in binding order, for a prefix
    /// of the rounds: round `i`'s polynomial is `eq(τ_i, X)·q_i(X)`. When the instance runs alone,
    /// those rounds carry `q_i` (one coefficient fewer; see the module documentation).
    fn eq_rounds(&self) -> Vec<F> {
        Vec::new()
    }
}

/// A batched sumcheck proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SumcheckProof {
    /// Per round, the round polynomial without its linear coefficient (see [`UniPoly::compress`]).
    pub rounds: Vec<Vec<F>>,
    /// Per instance, the evaluations its [`SumcheckClaim::expected_output`] consumes.
    pub final_evals: Vec<Vec<F>>,
}

/// Encoding version of [`SumcheckProof`].
pub const SUMCHECK_PROOF_VERSION: u8 = 3;

impl SumcheckProof {
    /// `version · runs · (rounds · width)* · round coefficients · instances · (count · evals)*`:
    /// consecutive rounds of one width form a run (eq-factored rounds are one coefficient narrower
    /// than the rest, so a proof has one or two runs).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(SUMCHECK_PROOF_VERSION);
        let mut runs: Vec<(usize, usize)> = Vec::new();
        for r in &self.rounds {
            match runs.last_mut() {
                Some((n, width)) if *width == r.len() => *n += 1,
                _ => runs.push((1, r.len())),
            }
        }
        w.len(runs.len());
        for (n, width) in &runs {
            w.len(*n);
            w.len(*width);
        }
        for r in &self.rounds {
            r.iter().for_each(|c| w.scalar(c));
        }
        w.len(self.final_evals.len());
        for e in &self.final_evals {
            w.scalars(e);
        }
        w.bytes
    }

    /// Decodes a proof; the verifier still checks every round's width against the instances.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let proof = Self::read(&mut r)?;
        r.finish()?;
        Ok(proof)
    }

    pub fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.version(SUMCHECK_PROOF_VERSION)?;
        let runs = r.count("round runs", 8)?;
        let mut widths = Vec::with_capacity(runs);
        let mut total = 0usize;
        for _ in 0..runs {
            let rounds = r.count("round count", 1)?;
            let at = r.position();
            let width = r.varint()? as usize;
            if width > 64 {
                return Err(DecodeError::TooLarge {
                    what: "round degree",
                    at,
                    got: width as u64,
                    limit: 64,
                });
            }
            total = total.saturating_add(rounds.saturating_mul(width).saturating_mul(32));
            widths.push((rounds, width));
        }
        if total > r.remaining() {
            return Err(DecodeError::UnexpectedEnd {
                at: r.position(),
                needed: total,
                remaining: r.remaining(),
            });
        }
        let mut rounds = Vec::new();
        for (n, width) in widths {
            for _ in 0..n {
                rounds.push((0..width).map(|_| r.scalar()).collect::<Result<Vec<_>, _>>()?);
            }
        }
        let instances = r.count("instance count", 4)?;
        let final_evals = (0..instances).map(|_| r.scalars()).collect::<Result<Vec<_>, _>>()?;
        Ok(SumcheckProof { rounds, final_evals })
    }
}

/// What a verified sumcheck leaves behind: claims at a point, to be reduced further.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SumcheckOutput {
    /// The batch's canonical point (length `max n_i`); instance `i` uses its first `n_i` entries.
    pub point: Vec<F>,
    /// Per instance, the prover's final evaluations, now bound by the transcript.
    pub final_evals: Vec<Vec<F>>,
}

/// Verifies a batched sumcheck over `claims`, deriving every challenge from `transcript`.
pub fn verify_sumcheck(
    claims: &[&dyn SumcheckClaim],
    proof: &SumcheckProof,
    transcript: &mut Transcript,
) -> Result<SumcheckOutput, SumcheckError> {
    let input: Vec<F> = claims.iter().map(|c| c.input_claim()).collect();
    transcript.append_scalars("sumcheck_claims", &input);
    let gamma = transcript.challenge_scalar("sumcheck_batch");
    verify_with(claims, proof, gamma, |poly, eq_factored| {
        absorb_round(transcript, poly, eq_factored)
    })
    .inspect(|out| {
        for e in &out.final_evals {
            transcript.append_scalars("sumcheck_final_evals", e);
        }
    })
}

/// Absorbs one round's message (`sumcheck_eq_round` for an eq-factored one, else
/// `sumcheck_round`) and draws the round's challenge; prover and verifier both call it.
pub(crate) fn absorb_round(transcript: &mut Transcript, message: &[F], eq_factored: bool) -> F {
    let label = if eq_factored { "sumcheck_eq_round" } else { "sumcheck_round" };
    transcript.append_scalars(label, message);
    transcript.challenge_scalar("sumcheck_r")
}

/// What a sumcheck with deferred final evaluations leaves: the point, the batching challenge `γ`
/// and the value `Σ_i γ^i·expected_output_i(point, evals_i)` must take. The caller checks it by
/// other means — the final opening checks it as one evaluation of a weighted combination of
/// committed polynomials, so their evaluations are never sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeferredOutput {
    pub point: Vec<F>,
    pub gamma: F,
    pub claim: F,
}

/// Verifies a batched sumcheck's rounds, leaving its final check to the caller (see
/// [`DeferredOutput`]). The proof must carry no final evaluations.
pub fn verify_sumcheck_deferred(
    claims: &[&dyn SumcheckClaim],
    proof: &SumcheckProof,
    transcript: &mut Transcript,
) -> Result<DeferredOutput, SumcheckError> {
    let shape = check_claims(claims)?;
    if !proof.final_evals.is_empty() {
        return Err(SumcheckError::InstanceCount { expected: 0, got: proof.final_evals.len() });
    }
    let input: Vec<F> = claims.iter().map(|c| c.input_claim()).collect();
    transcript.append_scalars("sumcheck_claims", &input);
    let gamma = transcript.challenge_scalar("sumcheck_batch");
    let (point, claim) = run_rounds(claims, &shape, proof, gamma, |poly, eq_factored| {
        absorb_round(transcript, poly, eq_factored)
    })?;
    Ok(DeferredOutput { point, gamma, claim })
}

/// The verifier's arithmetic with the challenge source abstracted, so tests can show that a proof
/// forged against frozen challenges is rejected once challenges come from the transcript.
pub(crate) fn verify_with(
    claims: &[&dyn SumcheckClaim],
    proof: &SumcheckProof,
    gamma: F,
    next_challenge: impl FnMut(&[F], bool) -> F,
) -> Result<SumcheckOutput, SumcheckError> {
    let shape = check_claims(claims)?;
    if proof.final_evals.len() != claims.len() {
        return Err(SumcheckError::InstanceCount {
            expected: claims.len(),
            got: proof.final_evals.len(),
        });
    }
    for (instance, (c, e)) in claims.iter().zip(&proof.final_evals).enumerate() {
        if e.len() != c.num_final_evals() {
            return Err(SumcheckError::FinalEvalCount {
                instance,
                expected: c.num_final_evals(),
                got: e.len(),
            });
        }
    }
    let (point, claim) = run_rounds(claims, &shape, proof, gamma, next_challenge)?;
    let mut computed = F::zero();
    let mut coeff = F::one();
    for (c, e) in claims.iter().zip(&proof.final_evals) {
        computed += coeff * c.expected_output(&point[..c.num_rounds()], e);
        coeff *= gamma;
    }
    if computed != claim {
        return Err(SumcheckError::FinalClaim {
            claimed: claim.to_string(),
            computed: computed.to_string(),
        });
    }
    Ok(SumcheckOutput { point, final_evals: proof.final_evals.clone() })
}

/// What the rounds must look like: their count, the batch's degree and the eq-factored rounds'
/// coordinates.
struct Shape {
    rounds: usize,
    degree: usize,
    eq: Vec<F>,
}

/// Checks the instances' own shapes (before anything of the proof is looked at).
fn check_claims(claims: &[&dyn SumcheckClaim]) -> Result<Shape, SumcheckError> {
    if claims.is_empty() {
        return Err(SumcheckError::NoInstances);
    }
    for (instance, c) in claims.iter().enumerate() {
        if c.num_rounds() == 0 {
            return Err(SumcheckError::EmptyInstance { instance });
        }
        c.check_shape().map_err(|reason| SumcheckError::Malformed { instance, reason })?;
    }
    let rounds = claims.iter().map(|c| c.num_rounds()).max().unwrap_or(0);
    let degree = claims.iter().map(|c| c.degree()).max().unwrap_or(0);
    if degree == 0 {
        return Err(SumcheckError::ZeroDegree);
    }
    let eq = match claims {
        [one] => one.eq_rounds(),
        _ => Vec::new(),
    };
    if eq.len() > rounds {
        return Err(SumcheckError::Malformed {
            instance: 0,
            reason: format!("{} eq-factored rounds of {rounds}", eq.len()),
        });
    }
    Ok(Shape { rounds, degree, eq })
}

/// Checks the rounds; returns the point and the last round's claim.
fn run_rounds(
    claims: &[&dyn SumcheckClaim],
    shape: &Shape,
    proof: &SumcheckProof,
    gamma: F,
    mut next_challenge: impl FnMut(&[F], bool) -> F,
) -> Result<(Vec<F>, F), SumcheckError> {
    let Shape { rounds, degree, ref eq } = *shape;
    if proof.rounds.len() != rounds {
        return Err(SumcheckError::RoundCount { expected: rounds, got: proof.rounds.len() });
    }

    let two = F::from(2u64);
    let mut claim = F::zero();
    let mut coeff = F::one();
    for c in claims {
        claim += coeff * c.input_claim() * two.pow([(rounds - c.num_rounds()) as u64]);
        coeff *= gamma;
    }

    let mut challenges = Vec::with_capacity(rounds);
    for (round, compressed) in proof.rounds.iter().enumerate() {
        let tau = eq.get(round).copied();
        let expected = degree - usize::from(tau.is_some());
        if compressed.len() != expected {
            return Err(SumcheckError::Degree { round, expected, got: compressed.len() });
        }
        let r = next_challenge(compressed, tau.is_some());
        claim = match tau {
            // s(r) = eq(τ, r)·q(r).
            Some(tau) => {
                UniPoly::decompress_eq(compressed, claim, tau).evaluate(r) * eq_eval(&[tau], &[r])
            }
            None => UniPoly::decompress(compressed, claim).evaluate(r),
        };
        challenges.push(r);
    }
    challenges.reverse();
    Ok((challenges, claim))
}

/// One product term `coeff · ∏ P_k` of a [`ProductClaim`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    pub coeff: F,
    /// Indices of the factors among the instance's polynomials (repeats allowed: `P·P` is `P²`).
    pub factors: Vec<usize>,
}

impl Term {
    pub fn new(coeff: F, factors: Vec<usize>) -> Self {
        Term { coeff, factors }
    }

    /// `1 · ∏ P_k` over the given factors.
    pub fn product(factors: Vec<usize>) -> Self {
        Term { coeff: F::one(), factors }
    }
}

/// `Σ_x eq(w, x) · Σ_t c_t ∏_{k ∈ t} P_k(x) = claim`, or the same without the `eq` weight.
///
/// The prover's final evaluations are `P_0(r), …, P_{m-1}(r)`; the verifier evaluates `eq(w, r)`
/// itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductClaim {
    pub num_vars: usize,
    pub num_polys: usize,
    pub terms: Vec<Term>,
    pub eq_point: Option<Vec<F>>,
    pub claim: F,
}

impl ProductClaim {
    /// Degree of the summand in one variable: the largest term, plus one for `eq`.
    pub fn summand_degree(terms: &[Term], has_eq: bool) -> usize {
        terms.iter().map(|t| t.factors.len()).max().unwrap_or(0) + usize::from(has_eq)
    }
}

impl SumcheckClaim for ProductClaim {
    fn num_rounds(&self) -> usize {
        self.num_vars
    }

    fn degree(&self) -> usize {
        Self::summand_degree(&self.terms, self.eq_point.is_some())
    }

    fn input_claim(&self) -> F {
        self.claim
    }

    fn num_final_evals(&self) -> usize {
        self.num_polys
    }

    fn check_shape(&self) -> Result<(), String> {
        if self.terms.is_empty() {
            return Err("no terms".into());
        }
        for (t, term) in self.terms.iter().enumerate() {
            if term.factors.is_empty() {
                return Err(format!("term {t} has no factors"));
            }
            if let Some(f) = term.factors.iter().find(|&&f| f >= self.num_polys) {
                return Err(format!("term {t} names polynomial {f} of {}", self.num_polys));
            }
        }
        match &self.eq_point {
            Some(w) if w.len() != self.num_vars => {
                Err(format!("eq point has {} coordinates, expected {}", w.len(), self.num_vars))
            }
            _ => Ok(()),
        }
    }

    fn eq_rounds(&self) -> Vec<F> {
        self.eq_point.iter().flatten().rev().copied().collect()
    }

    fn expected_output(&self, point: &[F], evals: &[F]) -> F {
        let weight = match &self.eq_point {
            Some(w) if w.len() == point.len() => eq_eval(w, point),
            // A malformed claim (eq point of the wrong dimension) can never be satisfied honestly;
            // a zero weight makes the final check fail unless the sum is trivially zero, and the
            // prover side refuses to build such an instance.
            Some(_) => F::zero(),
            None => F::one(),
        };
        let sum: F = self
            .terms
            .iter()
            .map(|t| {
                t.coeff
                    * t.factors
                        .iter()
                        .map(|&k| evals.get(k).copied().unwrap_or_else(F::zero))
                        .product::<F>()
            })
            .sum();
        weight * sum
    }
}

/// Several claims `P(z_i) = v_i` on one polynomial, reduced to one claim `P(r) = v` by the sumcheck
/// `Σ_i γ^i v_i = Σ_x P(x) · Σ_i γ^i eq(z_i, x)`. The verifier evaluates the second factor at `r`
/// itself; the prover's only final evaluation is `P(r)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimReduction {
    pub points: Vec<Vec<F>>,
    pub values: Vec<F>,
    /// `γ`, drawn after the values are absorbed (see [`ClaimReduction::draw_gamma`]).
    pub gamma: F,
}

impl ClaimReduction {
    /// Absorbs the claimed values and draws `γ`. Prover and verifier both call this.
    pub fn draw_gamma(values: &[F], transcript: &mut Transcript) -> F {
        transcript.append_scalars("reduction_values", values);
        transcript.challenge_scalar("reduction_gamma")
    }
}

impl SumcheckClaim for ClaimReduction {
    fn num_rounds(&self) -> usize {
        self.points.first().map_or(0, Vec::len)
    }

    fn degree(&self) -> usize {
        2
    }

    fn input_claim(&self) -> F {
        let mut acc = F::zero();
        let mut g = F::one();
        for v in &self.values {
            acc += g * v;
            g *= self.gamma;
        }
        acc
    }

    fn num_final_evals(&self) -> usize {
        1
    }

    fn check_shape(&self) -> Result<(), String> {
        let n = self.num_rounds();
        if self.points.is_empty() || self.points.len() != self.values.len() {
            return Err(format!("{} points for {} values", self.points.len(), self.values.len()));
        }
        match self.points.iter().position(|z| z.len() != n) {
            Some(i) => {
                Err(format!("point {i} has {} coordinates, expected {n}", self.points[i].len()))
            }
            None => Ok(()),
        }
    }

    fn expected_output(&self, point: &[F], evals: &[F]) -> F {
        let mut weight = F::zero();
        let mut g = F::one();
        for z in &self.points {
            // Points of another dimension contribute nothing and the final check fails.
            if z.len() == point.len() {
                weight += g * eq_eval(z, point);
            }
            g *= self.gamma;
        }
        weight * evals.first().copied().unwrap_or_else(F::zero)
    }
}
