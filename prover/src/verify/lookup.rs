//! Verification of the lookup argument (Lasso-style chunks + combine, Shout-style one-hot chunk
//! addresses). The protocol is documented in `docs/lookup.md`; in short, per lookup instance:
//!
//! 1. **Combine** (`t` rounds): `out(r) − g_0 = Σ_j eq(r, j) · Σ_t c_t ∏ E_s(j)` where
//!    `E_s(j) = Sub_s[chunk_s(a_j)]` are virtual subtable reads. Leaves claims `E_s(r1)`.
//! 2. The prover sends, per chunk `c` and operand `o`, `A_{c,o}(r1)`: the chunk's contribution to
//!    the operand's address field. Then γ, β and the booleanity point `z` are drawn.
//! 3. **Chunk checks** (`t + k` rounds, one instance per chunk, address bits bound first):
//!    `Σ_{j,k} eq(r1, j) ra_c(j, k) W_c(k) + β Σ_{j,k} eq(z, (j, k)) (ra_c² − ra_c)` equals
//!    `Σ_i γ^i claim_i`, where `W_c = Σ_i γ^i piece_i` over the chunk's subtables, its address
//!    weights and the constant 1 (Hamming weight: exactly one 1 per row). Leaves one claim
//!    `ra_c(ρ_j, ρ_k)` per chunk, all chunks of an instance at one point.
//!
//! The operand claims `operand_o(r1) = Σ_c A_{c,o}(r1) − offset` are returned to the caller, as are
//! the claims on the committed one-hot chunks, which the caller opens.

use ark_ff::{One, Zero};

use atlas_vm::{dense_mle, Decomposition, Domain, TableMle};

use crate::field::F;
use crate::poly::eq_eval;
use crate::transcript::Transcript;
use crate::verify::codec::{DecodeError, Reader, Writer};
use crate::verify::sumcheck::{
    verify_sumcheck, ProductClaim, SumcheckClaim, SumcheckError, SumcheckProof, Term,
};

/// Why a lookup proof was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    #[error("lookup {instance}: combine sumcheck: {source}")]
    Combine { instance: usize, source: SumcheckError },
    #[error("lookup chunk checks: {0}")]
    Chunks(SumcheckError),
    #[error("combine sumcheck: {0}")]
    CombineBatch(SumcheckError),
    #[error("lookup {instance}: expected {expected} address claims, got {got}")]
    AddressClaims { instance: usize, expected: usize, got: usize },
    #[error("lookup proof covers {got} instances, expected {expected}")]
    InstanceCount { expected: usize, got: usize },
    #[error("lookup {instance}: table {table} cannot be decomposed: {reason}")]
    Table { instance: usize, table: String, reason: String },
    #[error("lookup {instance}: output point has {got} coordinates, expected {expected}")]
    OutputPoint { instance: usize, expected: usize, got: usize },
}

/// The verifier's view of one lookup instance: which table, how many (padded) queries, and the
/// claim on its output vector.
pub struct LookupStatement<'a> {
    pub table: &'a dyn TableMle<F>,
    /// `log2` of the padded query count.
    pub num_vars: usize,
    /// The claim `out(point) = value` on the padded output vector.
    pub output_point: Vec<F>,
    pub output_value: F,
}

/// A batched lookup proof over several instances.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupProof {
    pub combine: SumcheckProof,
    /// Per instance, per chunk, per operand: `A_{c,o}(r1)`.
    pub address_claims: Vec<Vec<Vec<F>>>,
    pub chunks: SumcheckProof,
}

/// What a verified lookup leaves behind, per instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupOutput {
    /// The point `r1` of the operand claims.
    pub operand_point: Vec<F>,
    /// `operand_o(r1)` on the padded operand vectors.
    pub operand_values: Vec<F>,
    /// The point `(ρ_j, ρ_k)` of the chunk claims (cycle coordinates first).
    pub chunk_point: Vec<F>,
    /// `ra_c(ρ_j, ρ_k)` per chunk.
    pub chunk_values: Vec<F>,
}

/// Encoding version of [`LookupProof`].
pub const LOOKUP_PROOF_VERSION: u8 = 1;

impl LookupProof {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(LOOKUP_PROOF_VERSION);
        w.raw(&self.combine.to_bytes());
        w.len(self.address_claims.len());
        for inst in &self.address_claims {
            w.len(inst.len());
            for chunk in inst {
                w.scalars(chunk);
            }
        }
        w.raw(&self.chunks.to_bytes());
        w.bytes
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        r.version(LOOKUP_PROOF_VERSION)?;
        let combine = SumcheckProof::read(&mut r)?;
        let n = r.count("lookup instance count", 4)?;
        let mut address_claims = Vec::with_capacity(n);
        for _ in 0..n {
            let chunks = r.count("chunk count", 4)?;
            address_claims.push((0..chunks).map(|_| r.scalars()).collect::<Result<Vec<_>, _>>()?);
        }
        let chunks = SumcheckProof::read(&mut r)?;
        r.finish()?;
        Ok(LookupProof { combine, address_claims, chunks })
    }
}

/// Per chunk `c` and operand `o`, the weights of the chunk's local bits (MSB-first) in the operand's
/// address field.
pub(crate) fn chunk_bit_weights(domain: &Domain, d: &Decomposition) -> Vec<Vec<Vec<u64>>> {
    let k = d.chunk_bits as usize;
    let weights = domain.bit_weights();
    (0..d.num_chunks)
        .map(|c| weights.iter().map(|w| w[c * k..(c + 1) * k].to_vec()).collect())
        .collect()
}

/// The pieces of `W_c` in order: the chunk's subtables (as indices into the decomposition), then
/// one address field per operand, then the constant 1. `W_c = Σ_i γ^i piece_i`.
pub(crate) fn chunk_subtables(d: &Decomposition, c: usize) -> Vec<usize> {
    (0..d.subtables.len()).filter(|&s| d.subtables[s].chunk == c).collect()
}

/// The verifier's view of one chunk check.
pub(crate) struct ChunkCheckClaim {
    pub cycle_vars: usize,
    pub addr_vars: usize,
    pub r1: Vec<F>,
    pub z: Vec<F>,
    pub beta: F,
    pub claim: F,
    /// `W_c(ρ_k)` is computed from these at the final point.
    pub subtables: Vec<Vec<i64>>,
    pub addr_weights: Vec<Vec<u64>>,
    pub gamma: F,
}

impl ChunkCheckClaim {
    pub(crate) fn w_at(&self, rho_k: &[F]) -> F {
        let mut acc = F::zero();
        let mut g = F::one();
        for s in &self.subtables {
            acc += g * dense_mle::<F>(s, rho_k);
            g *= self.gamma;
        }
        for w in &self.addr_weights {
            let field: F = w.iter().zip(rho_k).map(|(wi, r)| F::from(*wi) * r).sum();
            acc += g * field;
            g *= self.gamma;
        }
        acc + g
    }
}

impl SumcheckClaim for ChunkCheckClaim {
    fn num_rounds(&self) -> usize {
        self.cycle_vars + self.addr_vars
    }
    fn degree(&self) -> usize {
        3
    }
    fn input_claim(&self) -> F {
        self.claim
    }
    fn num_final_evals(&self) -> usize {
        1
    }
    fn expected_output(&self, point: &[F], evals: &[F]) -> F {
        let (rho_j, rho_k) = point.split_at(self.cycle_vars.min(point.len()));
        let e = evals.first().copied().unwrap_or_else(F::zero);
        eq_eval(&self.r1, rho_j) * e * self.w_at(rho_k)
            + self.beta * eq_eval(&self.z, point) * (e * e - e)
    }
}

/// The combine claim of one instance: a [`ProductClaim`] over the subtable reads.
pub(crate) fn combine_claim(
    d: &Decomposition,
    num_vars: usize,
    point: Vec<F>,
    value: F,
) -> ProductClaim {
    let terms =
        d.combine.terms().map(|(c, f)| Term::new(crate::field::from_i128(c), f.to_vec())).collect();
    ProductClaim {
        num_vars,
        num_polys: d.subtables.len(),
        terms,
        eq_point: Some(point),
        claim: value - crate::field::from_i128(d.combine.constant_term()),
    }
}

/// Challenges of stage 2 for one instance, drawn identically by prover and verifier.
pub(crate) struct ChunkChallenges {
    pub gamma: F,
    pub beta: F,
    pub z: Vec<F>,
}

pub(crate) fn draw_chunk_challenges(
    transcript: &mut Transcript,
    cycle_vars: usize,
    addr_vars: usize,
) -> ChunkChallenges {
    let gamma = transcript.challenge_scalar("lookup_gamma");
    let beta = transcript.challenge_scalar("lookup_beta");
    let z = transcript.challenge_scalars("lookup_z", cycle_vars + addr_vars);
    ChunkChallenges { gamma, beta, z }
}

/// Verifies a batched lookup proof.
///
/// Precondition (the caller's, as this function cannot see it): the one-hot chunk commitments were
/// absorbed into `transcript` before the output points were drawn. Booleanity at `z` and the
/// Hamming weight at `r1` are sound only for matrices fixed before those challenges
/// (see [`crate::verify::committed_lookup`], which does it).
pub fn verify_lookups(
    statements: &[LookupStatement<'_>],
    proof: &LookupProof,
    transcript: &mut Transcript,
) -> Result<Vec<LookupOutput>, LookupError> {
    if proof.address_claims.len() != statements.len() {
        return Err(LookupError::InstanceCount {
            expected: statements.len(),
            got: proof.address_claims.len(),
        });
    }
    let mut decomps = Vec::with_capacity(statements.len());
    for (instance, s) in statements.iter().enumerate() {
        if s.output_point.len() != s.num_vars {
            return Err(LookupError::OutputPoint {
                instance,
                expected: s.num_vars,
                got: s.output_point.len(),
            });
        }
        decomps.push(s.table.decomposition());
    }

    // Stage 1: combine.
    let combine: Vec<ProductClaim> = statements
        .iter()
        .zip(&decomps)
        .map(|(s, d)| combine_claim(d, s.num_vars, s.output_point.clone(), s.output_value))
        .collect();
    let refs: Vec<&dyn SumcheckClaim> = combine.iter().map(|c| c as &dyn SumcheckClaim).collect();
    let out1 =
        verify_sumcheck(&refs, &proof.combine, transcript).map_err(LookupError::CombineBatch)?;

    // Address claims, then stage-2 challenges.
    let mut chunk_claims = Vec::new();
    let mut layout = Vec::new();
    for (instance, (s, d)) in statements.iter().zip(&decomps).enumerate() {
        let claims = &proof.address_claims[instance];
        let arity = s.table.domain().arity();
        if claims.len() != d.num_chunks || claims.iter().any(|c| c.len() != arity) {
            return Err(LookupError::AddressClaims {
                instance,
                expected: d.num_chunks * arity,
                got: claims.iter().map(Vec::len).sum(),
            });
        }
        for c in claims {
            transcript.append_scalars("lookup_address_claims", c);
        }
        let r1 = out1.point[..s.num_vars].to_vec();
        let evals = &out1.final_evals[instance];
        let ch = draw_chunk_challenges(transcript, s.num_vars, d.chunk_bits as usize);
        let weights = chunk_bit_weights(&s.table.domain(), d);
        let first = chunk_claims.len();
        for c in 0..d.num_chunks {
            let subs = chunk_subtables(d, c);
            let mut claim = F::zero();
            let mut g = F::one();
            for &si in &subs {
                claim += g * evals[si];
                g *= ch.gamma;
            }
            for a in &claims[c] {
                claim += g * a;
                g *= ch.gamma;
            }
            claim += g; // Hamming weight: one 1 per row.
            chunk_claims.push(ChunkCheckClaim {
                cycle_vars: s.num_vars,
                addr_vars: d.chunk_bits as usize,
                r1: r1.clone(),
                z: ch.z.clone(),
                beta: ch.beta,
                claim,
                subtables: subs.iter().map(|&si| d.subtables[si].values.clone()).collect(),
                addr_weights: weights[c].clone(),
                gamma: ch.gamma,
            });
        }
        layout.push((first, r1));
    }
    let refs: Vec<&dyn SumcheckClaim> =
        chunk_claims.iter().map(|c| c as &dyn SumcheckClaim).collect();
    let out2 = verify_sumcheck(&refs, &proof.chunks, transcript).map_err(LookupError::Chunks)?;

    Ok(statements
        .iter()
        .zip(&decomps)
        .zip(layout)
        .enumerate()
        .map(|(instance, ((s, d), (first, r1)))| {
            let offset = crate::field::from_i64(s.table.domain().offset());
            let arity = s.table.domain().arity();
            let operand_values = (0..arity)
                .map(|o| proof.address_claims[instance].iter().map(|c| c[o]).sum::<F>() - offset)
                .collect();
            let n = s.num_vars + d.chunk_bits as usize;
            LookupOutput {
                operand_point: r1,
                operand_values,
                chunk_point: out2.point[..n].to_vec(),
                chunk_values: (first..first + d.num_chunks)
                    .map(|i| out2.final_evals[i][0])
                    .collect(),
            }
        })
        .collect())
}
