//! The sumcheck prover: an instance trait, the batched driver, and the standard instances.
//!
//! The protocol, the batching convention and the transcript schedule are documented once, on the
//! verifier side ([`crate::verify::sumcheck`]); this driver mirrors it step for step.

mod one_hot;
mod product;
mod reduction;
mod sum_of;

pub use crate::verify::sumcheck::{SumcheckOutput, SumcheckProof};

use crate::verify::sumcheck::absorb_round;
pub use product::ProductSumcheck;
pub use reduction::ReductionSumcheck;
pub use sum_of::SumOf;

use ark_ff::{AdditiveGroup, Field, One, Zero};
use rayon::prelude::*;

use crate::field::F;
use crate::poly::UniPoly;
use crate::transcript::Transcript;

/// Largest round-polynomial degree the engine supports.
pub const MAX_DEGREE: usize = 16;

/// The prover's side of one sumcheck instance.
pub trait SumcheckInstance: Send {
    fn num_rounds(&self) -> usize;
    /// Degree of the round polynomials.
    fn degree(&self) -> usize;
    /// The sum being proven.
    fn input_claim(&self) -> F;
    /// The round polynomial `s(X)` of the current round, given the current claim `s(0) + s(1)`.
    fn round_poly(&mut self, claim: F) -> UniPoly;
    /// Binds the current round's variable to `r`.
    fn bind(&mut self, r: F);
    /// Evaluations at the final point, as the matching [`crate::verify::SumcheckClaim`] expects.
    fn final_evals(&self) -> Vec<F>;
    /// The matching claim's [`crate::verify::SumcheckClaim::eq_rounds`]: round `i`'s polynomial is
    /// a multiple of `eq(τ_i, X)` for each listed `τ_i`.
    fn eq_rounds(&self) -> Vec<F> {
        Vec::new()
    }
}

#[cfg(test)]
thread_local! {
    /// Lets an attack test prove a false claim: the prover then skips its own check that each
    /// round polynomial sums to the claim, as a malicious prover would, and leaves the catching to
    /// the verifier.
    pub(crate) static DISHONEST_PROVER: std::cell::Cell<bool> =
        const { std::cell::Cell::new(false) };
}

/// Proves a batch of instances as one sumcheck (see [`crate::verify::sumcheck`] for the
/// convention). Panics only on a programming error: an empty batch or an instance with no rounds.
pub fn prove_sumcheck(
    instances: &mut [&mut dyn SumcheckInstance],
    transcript: &mut Transcript,
) -> (SumcheckProof, SumcheckOutput) {
    let (proof, out, _) = prove_batch(instances, transcript, true);
    (proof, out)
}

/// [`prove_sumcheck`] with the final evaluations kept back: the proof carries none and the
/// transcript absorbs none (the prover side of [`crate::verify::verify_sumcheck_deferred`]).
/// Returns the batching challenge too, which weighs the instances in the final claim.
pub fn prove_sumcheck_deferred(
    instances: &mut [&mut dyn SumcheckInstance],
    transcript: &mut Transcript,
) -> (SumcheckProof, SumcheckOutput, F) {
    prove_batch(instances, transcript, false)
}

fn prove_batch(
    instances: &mut [&mut dyn SumcheckInstance],
    transcript: &mut Transcript,
    send_finals: bool,
) -> (SumcheckProof, SumcheckOutput, F) {
    assert!(!instances.is_empty(), "prove_sumcheck needs at least one instance");
    let rounds = instances.iter().map(|i| i.num_rounds()).max().unwrap_or(0);
    let degree = instances.iter().map(|i| i.degree()).max().unwrap_or(0);
    assert!(
        instances.iter().all(|i| i.num_rounds() > 0),
        "every sumcheck instance needs at least one round"
    );
    assert!(degree <= MAX_DEGREE, "sumcheck degree {degree} exceeds MAX_DEGREE");

    // A lone instance with an eq factor sends those rounds as `q = s / eq(τ, X)`.
    let eq = match instances {
        [one] => one.eq_rounds(),
        _ => Vec::new(),
    };
    assert!(eq.len() <= rounds, "an instance lists more eq-factored rounds than it has");
    let input: Vec<F> = instances.iter().map(|i| i.input_claim()).collect();
    transcript.append_scalars("sumcheck_claims", &input);
    let gamma = transcript.challenge_scalar("sumcheck_batch");
    let coeffs = crate::poly::powers(gamma, instances.len());

    let two = F::from(2u64);
    let mut claims: Vec<F> = instances
        .iter()
        .zip(&input)
        .map(|(i, c)| *c * two.pow([(rounds - i.num_rounds()) as u64]))
        .collect();
    let half = two.inverse().expect("2 is invertible in a field of odd characteristic");

    let mut proof_rounds = Vec::with_capacity(rounds);
    let mut challenges = Vec::with_capacity(rounds);
    #[cfg(test)]
    let check = !DISHONEST_PROVER.get();
    #[cfg(not(test))]
    let check = true;
    for round in 0..rounds {
        // Instances run in parallel: a final opening or the deferred chunk checks batch hundreds
        // of small instances, each too small to use both cores alone.
        let polys: Vec<UniPoly> = instances
            .par_iter_mut()
            .zip(claims.par_iter())
            .map(|(inst, claim)| {
                if round >= rounds - inst.num_rounds() {
                    inst.round_poly(*claim)
                } else {
                    UniPoly::from_coeffs(vec![*claim * half])
                }
            })
            .collect();
        let mut batched = vec![F::zero(); degree + 1];
        for (k, poly) in polys.iter().enumerate() {
            debug_assert!(poly.coeffs.len() <= degree + 1, "round polynomial exceeds its degree");
            if check {
                debug_assert_eq!(
                    poly.evaluate(F::zero()) + poly.evaluate(F::one()),
                    claims[k],
                    "instance {k} round {round}: s(0) + s(1) != claim"
                );
            }
            for (b, c) in batched.iter_mut().zip(&poly.coeffs) {
                *b += coeffs[k] * c;
            }
        }
        let compressed = match eq.get(round) {
            Some(tau) => UniPoly::from_coeffs(batched)
                .div_linear(F::one() - tau, tau.double() - F::one())
                .expect("an eq-factored round's polynomial is a multiple of eq(τ, X)")
                .compress_eq(degree),
            None => UniPoly::from_coeffs(batched).compress(),
        };
        let r = absorb_round(transcript, &compressed, round < eq.len());
        instances.par_iter_mut().zip(claims.par_iter_mut()).zip(&polys).for_each(
            |((inst, claim), poly)| {
                *claim = poly.evaluate(r);
                if round >= rounds - inst.num_rounds() {
                    inst.bind(r);
                }
            },
        );
        proof_rounds.push(compressed);
        challenges.push(r);
    }
    challenges.reverse();

    let final_evals: Vec<Vec<F>> = instances.iter().map(|i| i.final_evals()).collect();
    let sent = if send_finals {
        for e in &final_evals {
            transcript.append_scalars("sumcheck_final_evals", e);
        }
        final_evals.clone()
    } else {
        Vec::new()
    };
    let proof = SumcheckProof { rounds: proof_rounds, final_evals: sent };
    (proof, SumcheckOutput { point: challenges, final_evals }, gamma)
}

/// Interpolates a round polynomial from `q`'s values at `0, 1, …, d-1` and its leading coefficient
/// (the value "at ∞"), where `d = deg q`.
pub(crate) fn from_evals_and_leading(evals: &[F], leading: F) -> UniPoly {
    let d = evals.len();
    // q(X) − leading·X^d has degree < d and is fixed by its values at 0..d-1.
    let lower: Vec<F> = evals
        .iter()
        .enumerate()
        .map(|(t, v)| *v - leading * F::from(t as u64).pow([d as u64]))
        .collect();
    let mut p = UniPoly::from_evals(&lower);
    p.coeffs.resize(d + 1, F::zero());
    p.coeffs[d] = leading;
    p
}

#[cfg(test)]
mod tests;
