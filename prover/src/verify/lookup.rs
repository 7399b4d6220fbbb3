//! Verification of the lookup argument (Lasso-style chunks + combine, Shout-style one-hot chunk
//! addresses). The protocol is documented in `docs/lookup.md`; in short, per lookup instance:
//!
//! 1. **Combine** (`t` rounds): `out(r) − g_0 = Σ_j eq(r, j) · Σ_t c_t ∏ E_s(j)` where
//!    `E_s(j) = Sub_s[chunk_s(a_j)]` are virtual subtable reads. Leaves claims `E_s(r1)`.
//! 2. The prover sends, per chunk `c` and operand `o`, `A_{c,o}(r1)`: the chunk's contribution to
//!    the operand's address field.
//! 3. **Chunk checks** (`t + k` rounds, one instance per chunk, address bits bound first), after
//!    γ, β and the booleanity point `z` are drawn:
//!    `Σ_{j,k} eq(r1, j) ra_c(j, k) W_c(k) + β Σ_{j,k} eq(z, (j, k)) (ra_c² − ra_c)` equals
//!    `Σ_i γ^i claim_i`, where `W_c = Σ_i γ^i piece_i` over the chunk's subtables, its address
//!    weights and the constant 1 (Hamming weight: exactly one 1 per row). Leaves one claim
//!    `ra_c(ρ_j, ρ_k)` per chunk, all chunks of an instance at one point.
//!
//! Stages 1–2 ([`verify_lookup_reads`]) return the operand claims
//! `operand_o(r1) = Σ_c A_{c,o}(r1) − offset` and the [`PendingChunks`] they leave behind. Nothing
//! the walk does next depends on stage 3, so a whole-program proof defers every lookup's chunk
//! checks to one batched sumcheck after the walk ([`verify_chunk_checks`]): one set of rounds for
//! hundreds of lookups. [`verify_lookups`] runs all three stages for a standalone argument.

use ark_ff::{One, Zero};

use atlas_vm::{dense_mle, Decomposition, Domain, TableMle};

use crate::field::F;
use crate::poly::{eq_eval, eq_evals_serial, evaluate_serial};
use crate::transcript::Transcript;
use crate::verify::codec::{DecodeError, Reader, Writer};
use crate::verify::sumcheck::{
    verify_sumcheck, ProductClaim, SumcheckClaim, SumcheckError, SumcheckProof, Term,
};

/// Why a lookup proof was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    #[error("lookup {instance}: the reads at the output point do not combine to its claim")]
    DirectReads { instance: usize },
    #[error("linear lookups send their reads directly: expected no rounds and {expected} instances, got {rounds} rounds and {instances} instances")]
    DirectShape { rounds: usize, instances: usize, expected: usize },
    #[error("lookup {instance}: expected {expected} subtable reads, got {got}")]
    ReadCount { instance: usize, expected: usize, got: usize },
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

/// Stages 1–2 of a batched lookup proof: the combine sumcheck and the address claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupReadProof {
    pub combine: SumcheckProof,
    /// Per instance, per chunk, per operand: `A_{c,o}(r1)`.
    pub address_claims: Vec<Vec<Vec<F>>>,
}

/// A standalone batched lookup proof: the reads, then the instances' chunk checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupProof {
    pub reads: LookupReadProof,
    pub chunks: SumcheckProof,
}

/// What stages 1–2 leave behind, per instance: the operand claims for the caller and the chunk
/// checks still owed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupReads {
    /// The point `r1` of the operand claims.
    pub operand_point: Vec<F>,
    /// `operand_o(r1)` on the padded operand vectors.
    pub operand_values: Vec<F>,
    pub pending: PendingChunks,
}

/// The chunk checks one lookup instance owes: each chunk's pieces (the tables that make up `W_c`)
/// and their claims at `r1`. Prover and verifier build the same value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingChunks {
    pub r1: Vec<F>,
    pub chunk_bits: usize,
    /// Per chunk: the claimed subtable reads `E_s(r1)`, then the address claims `A_{c,o}(r1)`.
    pub claims: Vec<Vec<F>>,
    /// Per chunk: the tables its read claims are about, in the order of those claims.
    pub pieces: Vec<Vec<Piece>>,
    /// Per chunk and operand: the weights of the chunk's bits in the operand's address field.
    pub addr_weights: Vec<Vec<Vec<u64>>>,
}

impl PendingChunks {
    pub fn num_chunks(&self) -> usize {
        self.claims.len()
    }

    /// Variables of a chunk polynomial: the queries' then the chunk's.
    pub fn num_vars(&self) -> usize {
        self.r1.len() + self.chunk_bits
    }

    /// Chunk `c`'s claim `Σ_i γ^i claim_i + γ^m`, the last term the Hamming weight (one 1 per row).
    pub(crate) fn chunk_claim(&self, c: usize, gamma: F) -> F {
        let mut claim = F::zero();
        let mut g = F::one();
        for v in &self.claims[c] {
            claim += g * v;
            g *= gamma;
        }
        claim + g
    }

    /// The verifier's view of chunk `c`'s check.
    pub(crate) fn check_claim<'a>(
        &'a self,
        c: usize,
        ch: &'a ChunkChallenges,
    ) -> ChunkCheckClaim<'a> {
        ChunkCheckClaim {
            cycle_vars: self.r1.len(),
            addr_vars: self.chunk_bits,
            r1: &self.r1,
            z: &ch.z[..self.num_vars()],
            beta: ch.beta,
            claim: self.chunk_claim(c, ch.gamma),
            pieces: &self.pieces[c],
            addr_weights: &self.addr_weights[c],
            gamma: ch.gamma,
        }
    }
}

/// A table over one chunk's `2^k` values that a read claim is about; `W_c` sums them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// A subtable's entries.
    Ints(Vec<i64>),
    /// Field entries: a row-form table's rows combined at `ρ_h`, `T(ρ_h, ·)`.
    Field(Vec<F>),
    /// `eq(point, ·)`: the claim is the chunk itself at `(r1, point)`.
    Eq(Vec<F>),
}

impl Piece {
    /// The piece's multilinear extension at `rho` (`k` coordinates).
    pub(crate) fn evaluate(&self, rho: &[F]) -> F {
        match self {
            Piece::Ints(v) => dense_mle::<F>(v, rho),
            Piece::Field(v) => evaluate_serial(v.iter().copied(), rho).unwrap_or_default(),
            Piece::Eq(p) => eq_eval(p, rho),
        }
    }

    /// The piece's `2^k` entries.
    pub(crate) fn entries(&self) -> Vec<F> {
        match self {
            Piece::Ints(v) => v.iter().map(|&x| crate::field::from_i64(x)).collect(),
            Piece::Field(v) => v.clone(),
            Piece::Eq(p) => eq_evals_serial(p),
        }
    }
}

/// What the chunk checks leave behind, per instance: `ra_c(ρ_j, ρ_k)` for each chunk `c`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkClaims {
    /// The point `(ρ_j, ρ_k)` (cycle coordinates first).
    pub point: Vec<F>,
    pub values: Vec<F>,
}

/// What a verified standalone lookup leaves behind, per instance.
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

impl LookupOutput {
    pub(crate) fn new(reads: LookupReads, chunks: ChunkClaims) -> Self {
        LookupOutput {
            operand_point: reads.operand_point,
            operand_values: reads.operand_values,
            chunk_point: chunks.point,
            chunk_values: chunks.values,
        }
    }
}

/// Encoding version of [`LookupReadProof`] and [`LookupProof`].
pub const LOOKUP_PROOF_VERSION: u8 = 3;

impl LookupReadProof {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(LOOKUP_PROOF_VERSION);
        self.write(&mut w);
        w.bytes
    }

    fn write(&self, w: &mut Writer) {
        w.raw(&self.combine.to_bytes());
        w.len(self.address_claims.len());
        for inst in &self.address_claims {
            w.len(inst.len());
            for chunk in inst {
                w.scalars(chunk);
            }
        }
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        r.version(LOOKUP_PROOF_VERSION)?;
        let p = Self::read(&mut r)?;
        r.finish()?;
        Ok(p)
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let combine = SumcheckProof::read(r)?;
        let n = r.count("lookup instance count", 4)?;
        let mut address_claims = Vec::with_capacity(n);
        for _ in 0..n {
            let chunks = r.count("chunk count", 4)?;
            address_claims.push((0..chunks).map(|_| r.scalars()).collect::<Result<Vec<_>, _>>()?);
        }
        Ok(LookupReadProof { combine, address_claims })
    }
}

impl LookupProof {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(LOOKUP_PROOF_VERSION);
        self.reads.write(&mut w);
        w.raw(&self.chunks.to_bytes());
        w.bytes
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        r.version(LOOKUP_PROOF_VERSION)?;
        let reads = LookupReadProof::read(&mut r)?;
        let chunks = SumcheckProof::read(&mut r)?;
        r.finish()?;
        Ok(LookupProof { reads, chunks })
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
pub(crate) struct ChunkCheckClaim<'a> {
    pub cycle_vars: usize,
    pub addr_vars: usize,
    pub r1: &'a [F],
    pub z: &'a [F],
    pub beta: F,
    pub claim: F,
    /// `W_c(ρ_k)` is computed from these at the final point.
    pub pieces: &'a [Piece],
    pub addr_weights: &'a [Vec<u64>],
    pub gamma: F,
}

impl ChunkCheckClaim<'_> {
    /// `W_c`'s `2^k` entries (what the prover works on); [`ChunkCheckClaim::w_at`] is its MLE.
    /// Both follow one order: the pieces, the address fields, then the constant 1.
    pub(crate) fn w_table(&self) -> Vec<F> {
        let mut w = vec![F::zero(); 1 << self.addr_vars];
        let mut g = F::one();
        for piece in self.pieces {
            for (wk, v) in w.iter_mut().zip(piece.entries()) {
                *wk += g * v;
            }
            g *= self.gamma;
        }
        for wts in self.addr_weights {
            for (idx, wk) in w.iter_mut().enumerate() {
                *wk += g * F::from(field_value(wts, idx));
            }
            g *= self.gamma;
        }
        w.iter_mut().for_each(|wk| *wk += g);
        w
    }

    /// `W_c(ρ_k)`, in the order of [`ChunkCheckClaim::w_table`].
    pub(crate) fn w_at(&self, rho_k: &[F]) -> F {
        let mut acc = F::zero();
        let mut g = F::one();
        for piece in self.pieces {
            acc += g * piece.evaluate(rho_k);
            g *= self.gamma;
        }
        for w in self.addr_weights {
            let field: F = w.iter().zip(rho_k).map(|(wi, r)| F::from(*wi) * r).sum();
            acc += g * field;
            g *= self.gamma;
        }
        acc + g
    }
}

impl SumcheckClaim for ChunkCheckClaim<'_> {
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
        eq_eval(self.r1, rho_j) * e * self.w_at(rho_k)
            + self.beta * eq_eval(self.z, point) * (e * e - e)
    }
}

/// The address-field value of chunk value `idx`: `Σ_b weights[b]·bit_b(idx)` (bits MSB-first).
pub(crate) fn field_value(weights: &[u64], idx: usize) -> u64 {
    let k = weights.len();
    (0..k).filter(|b| (idx >> (k - 1 - b)) & 1 == 1).map(|b| weights[b]).sum()
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

/// Challenges of the chunk checks, drawn once for a batch of them by prover and verifier alike.
/// `z` is as long as the batch's largest chunk polynomial; each check takes a prefix.
pub(crate) struct ChunkChallenges {
    pub gamma: F,
    pub beta: F,
    pub z: Vec<F>,
}

pub(crate) fn draw_chunk_challenges(
    transcript: &mut Transcript,
    num_vars: usize,
) -> ChunkChallenges {
    let gamma = transcript.challenge_scalar("lookup_gamma");
    let beta = transcript.challenge_scalar("lookup_beta");
    let z = transcript.challenge_scalars("lookup_z", num_vars);
    ChunkChallenges { gamma, beta, z }
}

/// Verifies a standalone batched lookup proof: the reads, then the chunk checks.
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
    let reads = verify_lookup_reads(statements, &proof.reads, transcript)?;
    let pending: Vec<&PendingChunks> = reads.iter().map(|r| &r.pending).collect();
    let chunks = verify_chunk_checks(&pending, &proof.chunks, transcript)?;
    Ok(reads.into_iter().zip(chunks).map(|(r, c)| LookupOutput::new(r, c)).collect())
}

/// Stages 1–2: the combine sumcheck and the address claims. Returns each instance's operand
/// claims and the chunk checks it owes, which [`verify_chunk_checks`] must settle before the
/// caller trusts anything.
pub fn verify_lookup_reads(
    statements: &[LookupStatement<'_>],
    proof: &LookupReadProof,
    transcript: &mut Transcript,
) -> Result<Vec<LookupReads>, LookupError> {
    let decomps: Vec<Decomposition> = statements.iter().map(|s| s.table.decomposition()).collect();
    let refs: Vec<&Decomposition> = decomps.iter().collect();
    verify_lookup_reads_with(statements, &refs, proof, transcript)
}

/// [`verify_lookup_reads`] with each statement's table decomposition supplied by the caller (a
/// whole-program verifier builds each table's once). `decomps[i]` must be
/// `statements[i].table.decomposition()`.
pub fn verify_lookup_reads_with(
    statements: &[LookupStatement<'_>],
    decomps: &[&Decomposition],
    proof: &LookupReadProof,
    transcript: &mut Transcript,
) -> Result<Vec<LookupReads>, LookupError> {
    if proof.address_claims.len() != statements.len() || decomps.len() != statements.len() {
        return Err(LookupError::InstanceCount {
            expected: statements.len(),
            got: proof.address_claims.len(),
        });
    }
    for (instance, s) in statements.iter().enumerate() {
        if s.output_point.len() != s.num_vars {
            return Err(LookupError::OutputPoint {
                instance,
                expected: s.num_vars,
                got: s.output_point.len(),
            });
        }
    }

    // Stage 1: combine, or for linear combines the reads at the output point itself.
    let reads_at: Vec<ReadsAt> = if direct_reads(decomps.iter().copied()) {
        check_direct_reads(statements, decomps, &proof.combine, transcript)?
    } else {
        let combine: Vec<CombineClaim> = statements
            .iter()
            .zip(decomps)
            .map(|(s, d)| CombineClaim::new(d, s.num_vars, s.output_point.clone(), s.output_value))
            .collect();
        let refs: Vec<&dyn SumcheckClaim> =
            combine.iter().map(|c| c as &dyn SumcheckClaim).collect();
        let out1 = verify_sumcheck(&refs, &proof.combine, transcript)
            .map_err(LookupError::CombineBatch)?;
        combine.iter().zip(out1.final_evals).map(|(c, e)| c.reads_at(&out1.point, e)).collect()
    };

    // Stage 2: the address claims.
    let mut reads = Vec::with_capacity(statements.len());
    for (instance, (s, d)) in statements.iter().zip(decomps).enumerate() {
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
        let operand_values = operand_values(&s.table.domain(), claims);
        let pending = pending_chunks(d, &s.table.domain(), &reads_at[instance], claims);
        let r1 = reads_at[instance].r1.clone();
        reads.push(LookupReads { operand_point: r1, operand_values, pending });
    }
    Ok(reads)
}

/// An instance's reads after the combine: at `r1`, one per subtable, or for a row-form table the
/// two chunk reads at `(r1, ρ_h)` ([`RowCombineClaim`]).
pub(crate) struct ReadsAt {
    pub r1: Vec<F>,
    pub reads: Vec<F>,
    pub rho_h: Option<Vec<F>>,
}

/// `operand_o(r1) = Σ_c A_{c,o}(r1) − offset`: the operands' claims from the chunks' address
/// claims (offset binary undone).
pub(crate) fn operand_values(domain: &Domain, address_claims: &[Vec<F>]) -> Vec<F> {
    let offset = crate::field::from_i64(domain.offset());
    (0..domain.arity()).map(|o| address_claims.iter().map(|c| c[o]).sum::<F>() - offset).collect()
}

/// Whether a batch skips the combine sumcheck: when every instance's combine `g` is linear,
/// `out(r) − g_0 = Σ_s c_s E_s(r)` holds as polynomials (`Σ_j eq(r, j) = 1`), so the prover
/// sends the reads at `r` itself and `r1 = r`. Range checks and affine tables take this path.
pub(crate) fn direct_reads<'a>(mut decomps: impl Iterator<Item = &'a Decomposition>) -> bool {
    decomps.all(|d| d.combine.degree() <= 1)
}

/// The verifier's side of [`direct_reads`]: `combine` has no rounds and, per instance, the reads
/// `E_s(r)`, which must satisfy `g`. Returns each instance's point and reads.
fn check_direct_reads(
    statements: &[LookupStatement<'_>],
    decomps: &[&Decomposition],
    combine: &SumcheckProof,
    transcript: &mut Transcript,
) -> Result<Vec<ReadsAt>, LookupError> {
    if !combine.rounds.is_empty() || combine.final_evals.len() != statements.len() {
        return Err(LookupError::DirectShape {
            rounds: combine.rounds.len(),
            instances: combine.final_evals.len(),
            expected: statements.len(),
        });
    }
    let mut out = Vec::with_capacity(statements.len());
    for (instance, ((s, d), reads)) in
        statements.iter().zip(decomps).zip(&combine.final_evals).enumerate()
    {
        if reads.len() != d.subtables.len() {
            return Err(LookupError::ReadCount {
                instance,
                expected: d.subtables.len(),
                got: reads.len(),
            });
        }
        transcript.append_scalars("lookup_direct_reads", reads);
        let g: F = d
            .combine
            .terms()
            .map(|(c, f)| crate::field::from_i128(c) * f.iter().map(|&i| reads[i]).product::<F>())
            .sum();
        if g + crate::field::from_i128(d.combine.constant_term()) != s.output_value {
            return Err(LookupError::DirectReads { instance });
        }
        out.push(ReadsAt { r1: s.output_point.clone(), reads: reads.clone(), rho_h: None });
    }
    Ok(out)
}

/// The chunk checks of one instance, from its subtable reads `E_s(r1)` and address claims.
pub(crate) fn pending_chunks(
    d: &Decomposition,
    domain: &Domain,
    at: &ReadsAt,
    address_claims: &[Vec<F>],
) -> PendingChunks {
    let (pieces, reads): (Vec<Vec<Piece>>, Vec<Vec<F>>) = match &at.rho_h {
        Some(rho_h) => {
            let rows = d.row_form().expect("ρ_h is set exactly for row-form tables");
            let table = row_table_at(&rows, rho_h, 1 << d.chunk_bits);
            (
                vec![vec![Piece::Eq(rho_h.clone())], vec![Piece::Field(table)]],
                vec![vec![at.reads[0]], vec![at.reads[1]]],
            )
        }
        None => (0..d.num_chunks)
            .map(|c| {
                let subs = chunk_subtables(d, c);
                (
                    subs.iter().map(|&si| Piece::Ints(d.subtables[si].values.clone())).collect(),
                    subs.iter().map(|&si| at.reads[si]).collect(),
                )
            })
            .unzip(),
    };
    let claims = reads
        .into_iter()
        .zip(address_claims)
        .map(|(r, a)| r.into_iter().chain(a.iter().copied()).collect())
        .collect();
    PendingChunks {
        r1: at.r1.clone(),
        chunk_bits: d.chunk_bits as usize,
        claims,
        pieces,
        addr_weights: chunk_bit_weights(domain, d),
    }
}

/// `T(ρ_h, ·) = Σ_h eq(ρ_h, h)·row_h`: a row-form table's rows combined at `ρ_h`.
pub(crate) fn row_table_at(rows: &[(usize, &[i64])], rho_h: &[F], n: usize) -> Vec<F> {
    // Up to 2^16 products of a field element and a 16-bit entry: accumulated unreduced, one
    // reduction per column (a verifier evaluates this for every dense lookup).
    let eq = eq_evals_serial(rho_h);
    let mut acc = vec![crate::field::SmallMulAcc::new(); n];
    for &(h, row) in rows {
        for (a, &v) in acc.iter_mut().zip(row) {
            a.add_mul(&eq[h], i128::from(v));
        }
    }
    acc.iter().map(crate::field::SmallMulAcc::reduce).collect()
}

/// The combine of a row-form table ([`Decomposition::row_form`]), `t + k` rounds:
/// `v = Σ_j eq(r, j) · Σ_h ra_0(j, h) · R(j, h)` with `R(j, h) = T(h, chunk_1(a_j))`. The query
/// variables are bound first (they are the low ones), then the row's `k`; the prover then reports
/// `ra_0(r1, ρ_h)` and `R(r1, ρ_h) = Σ_l ra_1(r1, l)·T(ρ_h, l)`: two reads, one per chunk, instead
/// of one per row and indicator.
pub(crate) struct RowCombineClaim {
    pub t: usize,
    pub k: usize,
    pub eq_point: Vec<F>,
    pub claim: F,
}

impl SumcheckClaim for RowCombineClaim {
    fn num_rounds(&self) -> usize {
        self.t + self.k
    }
    fn degree(&self) -> usize {
        3
    }
    fn input_claim(&self) -> F {
        self.claim
    }
    fn num_final_evals(&self) -> usize {
        2
    }
    fn expected_output(&self, point: &[F], evals: &[F]) -> F {
        eq_eval(&self.eq_point, &point[self.k..]) * evals[0] * evals[1]
    }
    fn eq_rounds(&self) -> Vec<F> {
        // The query variables are the low ones, bound first.
        self.eq_point.iter().rev().copied().collect()
    }
    fn check_shape(&self) -> Result<(), String> {
        if self.eq_point.len() == self.t {
            Ok(())
        } else {
            Err(format!("eq point has {} coordinates, expected {}", self.eq_point.len(), self.t))
        }
    }
}

/// One instance's combine: a product over its subtable reads, or a row-form table's.
pub(crate) enum CombineClaim {
    Product(ProductClaim),
    Rows(RowCombineClaim),
}

impl CombineClaim {
    pub(crate) fn new(d: &Decomposition, num_vars: usize, point: Vec<F>, value: F) -> Self {
        if d.row_form().is_some() {
            // The row form has no constant term (`row_form` checks the combine exactly).
            let k = d.chunk_bits as usize;
            CombineClaim::Rows(RowCombineClaim { t: num_vars, k, eq_point: point, claim: value })
        } else {
            CombineClaim::Product(combine_claim(d, num_vars, point, value))
        }
    }

    fn inner(&self) -> &dyn SumcheckClaim {
        match self {
            CombineClaim::Product(c) => c,
            CombineClaim::Rows(c) => c,
        }
    }

    /// The instance's reads once the batch's point is known.
    pub(crate) fn reads_at(&self, point: &[F], reads: Vec<F>) -> ReadsAt {
        match self {
            CombineClaim::Product(c) => {
                ReadsAt { r1: point[..c.num_vars].to_vec(), reads, rho_h: None }
            }
            CombineClaim::Rows(c) => ReadsAt {
                r1: point[c.k..c.k + c.t].to_vec(),
                reads,
                rho_h: Some(point[..c.k].to_vec()),
            },
        }
    }
}

impl SumcheckClaim for CombineClaim {
    fn num_rounds(&self) -> usize {
        self.inner().num_rounds()
    }
    fn degree(&self) -> usize {
        self.inner().degree()
    }
    fn input_claim(&self) -> F {
        self.inner().input_claim()
    }
    fn num_final_evals(&self) -> usize {
        self.inner().num_final_evals()
    }
    fn expected_output(&self, point: &[F], evals: &[F]) -> F {
        self.inner().expected_output(point, evals)
    }
    fn check_shape(&self) -> Result<(), String> {
        self.inner().check_shape()
    }
    fn eq_rounds(&self) -> Vec<F> {
        self.inner().eq_rounds()
    }
}

/// Stage 3 for a batch of instances, as one sumcheck: draws γ, β and `z`, then checks every chunk
/// of every instance. Returns each instance's chunk claims, which the caller opens. An empty batch
/// draws nothing and has no proof: callers send and read none.
pub fn verify_chunk_checks(
    pending: &[&PendingChunks],
    proof: &SumcheckProof,
    transcript: &mut Transcript,
) -> Result<Vec<ChunkClaims>, LookupError> {
    if pending.is_empty() {
        return Ok(Vec::new());
    }
    let n = pending.iter().map(|p| p.num_vars()).max().unwrap_or(0);
    let ch = draw_chunk_challenges(transcript, n);
    let checks: Vec<ChunkCheckClaim<'_>> = pending
        .iter()
        .flat_map(|p| (0..p.num_chunks()).map(|c| p.check_claim(c, &ch)).collect::<Vec<_>>())
        .collect();
    let refs: Vec<&dyn SumcheckClaim> = checks.iter().map(|c| c as &dyn SumcheckClaim).collect();
    let out = verify_sumcheck(&refs, proof, transcript).map_err(LookupError::Chunks)?;
    let mut first = 0;
    Ok(pending
        .iter()
        .map(|p| {
            let values = (first..first + p.num_chunks()).map(|i| out.final_evals[i][0]).collect();
            first += p.num_chunks();
            ChunkClaims { point: out.point[..p.num_vars()].to_vec(), values }
        })
        .collect())
}
