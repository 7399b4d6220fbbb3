//! `atlasc demo`: the prover core end to end, until whole-model proofs exist. Two real proofs,
//! each verified by the isolated verifier:
//!
//! 1. two committed tensors `A`, `B` of 16-bit values and the claim `Σ_x eq(w, x)·A(x)·B(x) = c`,
//!    proved by sumcheck and closed by a HyperKZG opening of `A` and `B` at the sumcheck's point;
//! 2. a committed ReLU lookup on signed 32-bit values (the lookup argument with its one-hot
//!    address chunks committed and opened).

use std::time::{Duration, Instant};

use atlas_prover::lookup::{prove_committed_lookup, LookupWitness};
use atlas_prover::pcs::{to_bytes, CommitmentScheme, HyperKzg, Srs, DEV_SRS_WARNING};
use atlas_prover::poly::MultilinearPoly;
use atlas_prover::sumcheck::{prove_sumcheck, ProductSumcheck, SumcheckProof};
use atlas_prover::verify::committed_lookup::verify_committed_lookup;
use atlas_prover::verify::hyperkzg::batch_verify;
use atlas_prover::verify::{verify_sumcheck, ProductClaim, Term};
use atlas_prover::Transcript;
use atlas_stdlib::Relu;
use atlas_vm::Table;

/// One demo step's figures.
pub struct Step {
    pub name: String,
    pub prove: Duration,
    pub verify: Duration,
    pub proof_bytes: usize,
}

/// What went wrong in the demo (a bug, if it ever happens: every input is generated here).
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("setup: {0}")]
    Setup(String),
    #[error("{step}: verification failed: {reason}")]
    Rejected { step: &'static str, reason: String },
}

/// Deterministic pseudo-random values (splitmix64), so the demo needs no RNG dependency.
fn values(seed: u64, n: usize, bits: u32) -> Vec<i64> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            (z >> (64 - bits)) as i64 - (1i64 << (bits - 1))
        })
        .collect()
}

/// Runs both proofs over `2^log_size` entries.
pub fn run(log_size: usize) -> Result<Vec<Step>, DemoError> {
    let srs = Srs::development(log_size).map_err(|e| DemoError::Setup(e.to_string()))?;
    let pk = srs.prover_key(log_size).map_err(|e| DemoError::Setup(e.to_string()))?;
    let vk = srs.verifier_key();
    let n = 1usize << log_size;
    let mut steps = Vec::new();

    // 1. Sumcheck over committed tensors.
    let start = Instant::now();
    let a =
        MultilinearPoly::from_i64(values(1, n, 16)).map_err(|e| DemoError::Setup(e.to_string()))?;
    let b =
        MultilinearPoly::from_i64(values(2, n, 16)).map_err(|e| DemoError::Setup(e.to_string()))?;
    let commitments = vec![
        HyperKzg::commit(&pk, &a).map_err(|e| DemoError::Setup(e.to_string()))?,
        HyperKzg::commit(&pk, &b).map_err(|e| DemoError::Setup(e.to_string()))?,
    ];
    let mut t = Transcript::new(b"atlas/demo/sumcheck");
    for c in &commitments {
        t.append_point("demo_commitment", c);
    }
    let w = t.challenge_scalars("demo_eq_point", log_size);
    let terms = vec![Term::product(vec![0, 1])];
    let polys = vec![a.clone(), b.clone()];
    let claim = ProductSumcheck::sum(&polys, &terms, Some(&w))
        .map_err(|e| DemoError::Setup(e.to_string()))?;
    let mut inst = ProductSumcheck::new(polys, terms.clone(), Some(w.clone()), claim)
        .map_err(|e| DemoError::Setup(e.to_string()))?;
    let (sc_proof, out) = prove_sumcheck(&mut [&mut inst], &mut t);
    let (_, opening) = HyperKzg::batch_open(&pk, &[&a, &b], &commitments, &out.point, &mut t)
        .map_err(|e| DemoError::Setup(e.to_string()))?;
    let prove = start.elapsed();
    let sc_bytes = sc_proof.to_bytes();
    let proof_bytes =
        sc_bytes.len() + to_bytes(&opening).len() + 2 * to_bytes(&commitments[0]).len();

    let start = Instant::now();
    let rejected = |reason: String| DemoError::Rejected { step: "sumcheck", reason };
    let sc_proof = SumcheckProof::from_bytes(&sc_bytes).map_err(|e| rejected(e.to_string()))?;
    let mut t = Transcript::new(b"atlas/demo/sumcheck");
    for c in &commitments {
        t.append_point("demo_commitment", c);
    }
    let w = t.challenge_scalars("demo_eq_point", log_size);
    let statement =
        ProductClaim { num_vars: log_size, num_polys: 2, terms, eq_point: Some(w), claim };
    let v =
        verify_sumcheck(&[&statement], &sc_proof, &mut t).map_err(|e| rejected(e.to_string()))?;
    batch_verify(&vk, &commitments, &v.point, &v.final_evals[0], &opening, &mut t)
        .map_err(|e| rejected(e.to_string()))?;
    steps.push(Step {
        name: format!(
            "sumcheck Σ eq·A·B over 2^{log_size} committed 16-bit entries + HyperKZG opening"
        ),
        prove,
        verify: start.elapsed(),
        proof_bytes,
    });

    // 2. A committed lookup.
    let relu = Relu::new(32).map_err(|e| DemoError::Setup(e.to_string()))?;
    let ops = vec![values(3, n, 32)];
    let start = Instant::now();
    let witness =
        LookupWitness::from_operands(&relu, &ops).map_err(|e| DemoError::Setup(e.to_string()))?;
    let outputs = witness.outputs()[..n].to_vec();
    let mut t = Transcript::new(b"atlas/demo/lookup");
    let proof = prove_committed_lookup(&pk, &witness, &mut t)
        .map_err(|e| DemoError::Setup(e.to_string()))?;
    let prove = start.elapsed();
    let proof_bytes = proof.columns.iter().map(Vec::len).sum::<usize>() * 32
        + proof.lookup.to_bytes().len()
        + to_bytes(&proof.opening).len();
    let start = Instant::now();
    let mut t = Transcript::new(b"atlas/demo/lookup");
    verify_committed_lookup(&vk, &relu, &ops, &outputs, &proof, &mut t)
        .map_err(|e| DemoError::Rejected { step: "lookup", reason: e.to_string() })?;
    steps.push(Step {
        name: format!(
            "{} lookup of 2^{log_size} signed 32-bit values, chunks committed",
            relu.name()
        ),
        prove,
        verify: start.elapsed(),
        proof_bytes,
    });
    Ok(steps)
}

/// The warning every use of the development SRS prints.
pub fn dev_srs_warning() -> &'static str {
    DEV_SRS_WARNING
}
