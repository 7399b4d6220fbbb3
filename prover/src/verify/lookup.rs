//! Verification of the lookup argument (Lasso-style chunks + combine, Shout-style one-hot chunk
//! addresses). The protocol is documented in `docs/lookup.md`; in short, per lookup instance:
//!
//! 1. **Combine** (`t` rounds): `out(r) − g_0 = Σ_j eq(r, j) · Σ_t c_t ∏ E_s(j)` where
//!    `E_s(j) = Sub_s[chunk_s(a_j)]` are virtual subtable reads. Leaves claims `E_s(r1)`. A linear
//!    combine skips it: `out(r) − g_0` is itself a claim on the chunks' reads at `r1 = r`.
//! 2. The prover sends each operand's value at `r1`: `operand_o(r1)`, whose address field (offset
//!    binary) is a sum over the chunks of their share of the address.
//! 3. **Chunk checks** (`t + k` rounds, one instance per lookup summing over its chunks, address
//!    bits bound first), after γ, β and the booleanity point `z` are drawn:
//!    `Σ_c Σ_{j,k} eq(r1, j) ra_c(j, k) W_c(k) + Σ_c β^{c+1} Σ_{j,k} eq(z, (j, k)) (ra_c² − ra_c)`
//!    equals `Σ_i γ^i value_i` over the instance's [`ReadClaim`]s — the reads (or the linear
//!    output), one per operand (its address field, on every chunk), and one Hamming weight per
//!    chunk (exactly one 1 per row) — where `W_c` gathers the claims' pieces on chunk `c`. Leaves
//!    one claim `ra_c(ρ_j, ρ_k)` per chunk, all chunks of an instance at one point.
//!
//! Stages 1–2 ([`verify_lookup_reads`]) return the operand claims and the [`PendingChunks`] they
//! leave behind. Nothing the walk does next depends on stage 3, so a whole-program proof defers
//! every lookup's chunk checks to one batched sumcheck after the walk ([`verify_chunk_checks`]):
//! one set of rounds for hundreds of lookups. [`verify_lookups`] runs all three stages for a
//! standalone argument.

use ark_ff::{Field, One, Zero};

use atlas_vm::{dense_mle, Decomposition, Domain, TableMle};

use crate::field::F;
use crate::poly::{eq_eval, eq_evals_serial, evaluate_serial};
use crate::transcript::Transcript;
use crate::verify::codec::{DecodeError, Reader, Writer};
use crate::verify::sumcheck::{
    verify_sumcheck, verify_sumcheck_deferred, ProductClaim, SumcheckClaim, SumcheckError,
    SumcheckProof, Term,
};

/// Why a lookup proof was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    #[error("linear lookups send no combine: expected no rounds and no reads, got {rounds} rounds and reads for {instances} instances")]
    LinearShape { rounds: usize, instances: usize },
    #[error("lookup {instance}: expected {expected} subtable reads, got {got}")]
    ReadCount { instance: usize, expected: usize, got: usize },
    #[error("lookup chunk checks: {0}")]
    Chunks(SumcheckError),
    #[error("lookup chunk stack: {0}")]
    Stack(SumcheckError),
    #[error("combine sumcheck: {0}")]
    CombineBatch(SumcheckError),
    #[error("lookup {instance}: expected {expected} operand claims, got {got}")]
    OperandClaims { instance: usize, expected: usize, got: usize },
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

/// Stages 1–2 of a batched lookup proof: the combine sumcheck and the operand claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupReadProof {
    /// Empty (no rounds, no reads) when every instance's combine is linear.
    pub combine: SumcheckProof,
    /// Per instance, per operand: `operand_o(r1)`.
    pub operand_claims: Vec<Vec<F>>,
}

/// A standalone batched lookup proof: the reads, then the instances' chunk checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupProof {
    pub reads: LookupReadProof,
    pub chunks: ChunkCheckProof,
}

/// The chunk checks' two sumchecks: the instances' rounds, with their final evaluations (one per
/// chunk) kept back, then the rounds over the chunks that leave one evaluation of their stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkCheckProof {
    pub sites: SumcheckProof,
    pub stack: SumcheckProof,
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

/// The chunk checks one lookup instance owes: claims on its chunks' reads at `r1`. Prover and
/// verifier build the same value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingChunks {
    pub r1: Vec<F>,
    pub chunk_bits: usize,
    pub num_chunks: usize,
    /// In the order of their powers of `γ`: the reads (or the linear output), the operands, then
    /// one Hamming weight per chunk.
    pub claims: Vec<ReadClaim>,
}

/// `value = Σ_j eq(r1, j) · Σ_{(c, piece, coef)} coef · piece(chunk_c(a_j))`: a claim on a sum of
/// tables read at the instance's chunks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadClaim {
    pub value: F,
    /// `(chunk, piece, coefficient)`.
    pub pieces: Vec<(usize, Piece, F)>,
}

impl PendingChunks {
    pub fn num_chunks(&self) -> usize {
        self.num_chunks
    }

    /// Variables of a chunk polynomial: the queries' then the chunk's.
    pub fn num_vars(&self) -> usize {
        self.r1.len() + self.chunk_bits
    }

    /// The check's claim `Σ_i γ^i value_i`.
    pub(crate) fn claim(&self, gamma: F) -> F {
        let mut g = F::one();
        let mut claim = F::zero();
        for c in &self.claims {
            claim += g * c.value;
            g *= gamma;
        }
        claim
    }

    /// `W_c`'s `2^k` entries: `Σ_i γ^i Σ coef·piece` over claim `i`'s pieces on chunk `c` (what
    /// the prover works on); [`PendingChunks::w_at`] is its MLE.
    pub(crate) fn w_table(&self, c: usize, gamma: F) -> Vec<F> {
        let mut w = vec![F::zero(); 1 << self.chunk_bits];
        let mut g = F::one();
        for claim in &self.claims {
            for (_, piece, coef) in claim.pieces.iter().filter(|p| p.0 == c) {
                let scale = g * coef;
                for (wk, v) in w.iter_mut().zip(piece.entries(self.chunk_bits)) {
                    *wk += scale * v;
                }
            }
            g *= gamma;
        }
        w
    }

    /// `W_c(ρ_k)`, in the order of [`PendingChunks::w_table`].
    pub(crate) fn w_at(&self, c: usize, gamma: F, rho_k: &[F]) -> F {
        let mut acc = F::zero();
        let mut g = F::one();
        for claim in &self.claims {
            for (_, piece, coef) in claim.pieces.iter().filter(|p| p.0 == c) {
                acc += g * coef * piece.evaluate(rho_k);
            }
            g *= gamma;
        }
        acc
    }

    /// The verifier's view of the instance's check.
    pub(crate) fn check_claim<'a>(&'a self, ch: &'a ChunkChallenges) -> ChunkCheckClaim<'a> {
        ChunkCheckClaim {
            pending: self,
            z: &ch.z[..self.num_vars()],
            beta: ch.beta,
            gamma: ch.gamma,
            claim: self.claim(ch.gamma),
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
    /// An operand's address field: `Σ_b weights[b]·bit_b(k)` (bits MSB-first).
    Address(Vec<u64>),
    /// The constant 1: the Hamming weight.
    One,
}

impl Piece {
    /// The piece's multilinear extension at `rho` (`k` coordinates).
    pub(crate) fn evaluate(&self, rho: &[F]) -> F {
        match self {
            Piece::Ints(v) => dense_mle::<F>(v, rho),
            Piece::Field(v) => evaluate_serial(v.iter().copied(), rho).unwrap_or_default(),
            Piece::Eq(p) => eq_eval(p, rho),
            Piece::Address(w) => w.iter().zip(rho).map(|(wi, r)| F::from(*wi) * r).sum(),
            Piece::One => F::one(),
        }
    }

    /// The piece's `2^k` entries.
    pub(crate) fn entries(&self, k: usize) -> Vec<F> {
        match self {
            Piece::Ints(v) => v.iter().map(|&x| crate::field::from_i64(x)).collect(),
            Piece::Field(v) => v.clone(),
            Piece::Eq(p) => eq_evals_serial(p),
            Piece::Address(w) => (0..1 << k).map(|idx| F::from(field_value(w, idx))).collect(),
            Piece::One => vec![F::one(); 1 << k],
        }
    }
}

/// What the chunk checks leave behind: one claim on a combination of every instance's chunk
/// polynomials, `value = Σ_i Σ_c weights[i][c]·ra_{i,c}(point[..n_i])` with `n_i` instance `i`'s
/// [`PendingChunks::num_vars`] (cycle coordinates first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkOpening {
    pub point: Vec<F>,
    pub weights: Vec<Vec<F>>,
    pub value: F,
}

/// What a verified standalone lookup leaves behind, per instance: the operand claims (the chunk
/// claim is one for the batch, a [`ChunkOpening`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupOutput {
    /// The point `r1` of the operand claims.
    pub operand_point: Vec<F>,
    /// `operand_o(r1)` on the padded operand vectors.
    pub operand_values: Vec<F>,
}

impl From<LookupReads> for LookupOutput {
    fn from(reads: LookupReads) -> Self {
        LookupOutput { operand_point: reads.operand_point, operand_values: reads.operand_values }
    }
}

/// Encoding version of [`LookupReadProof`] and [`LookupProof`].
pub const LOOKUP_PROOF_VERSION: u8 = 4;

impl LookupReadProof {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(LOOKUP_PROOF_VERSION);
        self.write(&mut w);
        w.bytes
    }

    fn write(&self, w: &mut Writer) {
        w.raw(&self.combine.to_bytes());
        w.len(self.operand_claims.len());
        for inst in &self.operand_claims {
            w.scalars(inst);
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
        let n = r.count("lookup instance count", 1)?;
        let operand_claims = (0..n).map(|_| r.scalars()).collect::<Result<Vec<_>, _>>()?;
        Ok(LookupReadProof { combine, operand_claims })
    }
}

impl LookupProof {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(LOOKUP_PROOF_VERSION);
        self.reads.write(&mut w);
        w.raw(&self.chunks.sites.to_bytes());
        w.raw(&self.chunks.stack.to_bytes());
        w.bytes
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        r.version(LOOKUP_PROOF_VERSION)?;
        let reads = LookupReadProof::read(&mut r)?;
        let sites = SumcheckProof::read(&mut r)?;
        let stack = SumcheckProof::read(&mut r)?;
        r.finish()?;
        Ok(LookupProof { reads, chunks: ChunkCheckProof { sites, stack } })
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

/// The verifier's view of one instance's chunk checks.
pub(crate) struct ChunkCheckClaim<'a> {
    pub pending: &'a PendingChunks,
    pub z: &'a [F],
    pub beta: F,
    pub gamma: F,
    pub claim: F,
}

impl SumcheckClaim for ChunkCheckClaim<'_> {
    fn num_rounds(&self) -> usize {
        self.pending.num_vars()
    }
    fn degree(&self) -> usize {
        3
    }
    fn input_claim(&self) -> F {
        self.claim
    }
    fn num_final_evals(&self) -> usize {
        self.pending.num_chunks
    }
    fn expected_output(&self, point: &[F], evals: &[F]) -> F {
        let p = self.pending;
        let (rho_j, rho_k) = point.split_at(p.r1.len().min(point.len()));
        let (mut read, mut boolean, mut b) = (F::zero(), F::zero(), self.beta);
        for (c, e) in evals.iter().enumerate() {
            read += *e * p.w_at(c, self.gamma, rho_k);
            boolean += b * (e.square() - e);
            b *= self.beta;
        }
        eq_eval(&p.r1, rho_j) * read + eq_eval(self.z, point) * boolean
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
) -> Result<(Vec<LookupOutput>, ChunkOpening), LookupError> {
    let reads = verify_lookup_reads(statements, &proof.reads, transcript)?;
    let pending: Vec<&PendingChunks> = reads.iter().map(|r| &r.pending).collect();
    let opening = verify_chunk_checks(&pending, &proof.chunks, transcript)?
        .ok_or(LookupError::InstanceCount { expected: 1, got: 0 })?;
    Ok((reads.into_iter().map(LookupOutput::from).collect(), opening))
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
    if proof.operand_claims.len() != statements.len() || decomps.len() != statements.len() {
        return Err(LookupError::InstanceCount {
            expected: statements.len(),
            got: proof.operand_claims.len(),
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

    // Stage 1: the combine, which a linear batch skips.
    let reads_at: Vec<ReadsAt> = if linear_batch(decomps.iter().copied()) {
        let c = &proof.combine;
        if !c.rounds.is_empty() || !c.final_evals.is_empty() {
            return Err(LookupError::LinearShape {
                rounds: c.rounds.len(),
                instances: c.final_evals.len(),
            });
        }
        statements
            .iter()
            .zip(decomps)
            .map(|(s, d)| ReadsAt::linear(d, s.output_point.clone(), s.output_value))
            .collect()
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

    // Stage 2: the operand claims.
    let mut reads = Vec::with_capacity(statements.len());
    for (instance, (s, d)) in statements.iter().zip(decomps).enumerate() {
        let values = &proof.operand_claims[instance];
        let domain = s.table.domain();
        if values.len() != domain.arity() {
            return Err(LookupError::OperandClaims {
                instance,
                expected: domain.arity(),
                got: values.len(),
            });
        }
        transcript.append_scalars("lookup_operand_claims", values);
        let at = &reads_at[instance];
        let pending = pending_chunks(d, &domain, at, values);
        reads.push(LookupReads {
            operand_point: at.r1.clone(),
            operand_values: values.clone(),
            pending,
        });
    }
    Ok(reads)
}

/// An instance's reads after the combine, at `r1`.
pub(crate) struct ReadsAt {
    pub r1: Vec<F>,
    pub reads: Reads,
}

pub(crate) enum Reads {
    /// A linear combine: `out(r1) − g_0`, a claim on `Σ_s c_s·Sub_s` read at the chunks.
    Linear(F),
    /// One claimed read `E_s(r1)` per subtable.
    Subtables(Vec<F>),
    /// A row-form table's two chunk reads at `(r1, ρ_h)` ([`RowCombineClaim`]).
    Rows { rho_h: Vec<F>, reads: Vec<F> },
}

impl ReadsAt {
    /// A linear combine's claim at the output point itself (`Σ_j eq(r, j) = 1`, so
    /// `out(r) − g_0 = Σ_s c_s E_s(r)` holds as polynomials).
    pub(crate) fn linear(d: &Decomposition, r: Vec<F>, value: F) -> Self {
        let g0 = crate::field::from_i128(d.combine.constant_term());
        ReadsAt { r1: r, reads: Reads::Linear(value - g0) }
    }
}

/// Whether a batch skips the combine sumcheck: when every instance's combine `g` is linear, its
/// output claim is already a claim on the chunks' reads (see [`ReadsAt::linear`]), settled by the
/// chunk checks with nothing sent. Range checks, shifts and affine tables take this path.
pub(crate) fn linear_batch<'a>(mut decomps: impl Iterator<Item = &'a Decomposition>) -> bool {
    decomps.all(|d| d.combine.degree() <= 1)
}

/// The chunk checks of one instance: its reads (or linear output), its operands' address fields
/// `operand_o(r1) + offset` (offset binary) summed over the chunks, and each chunk's Hamming
/// weight.
pub(crate) fn pending_chunks(
    d: &Decomposition,
    domain: &Domain,
    at: &ReadsAt,
    operand_values: &[F],
) -> PendingChunks {
    let one = F::one();
    let sub = |si: usize| Piece::Ints(d.subtables[si].values.clone());
    let mut claims: Vec<ReadClaim> = match &at.reads {
        Reads::Linear(value) => {
            let pieces = d
                .combine
                .terms()
                .map(|(coef, f)| {
                    let si = *f.first().expect("a linear combine's terms read one subtable each");
                    (d.subtables[si].chunk, sub(si), crate::field::from_i128(coef))
                })
                .collect();
            vec![ReadClaim { value: *value, pieces }]
        }
        Reads::Subtables(reads) => reads
            .iter()
            .enumerate()
            .map(|(si, v)| ReadClaim {
                value: *v,
                pieces: vec![(d.subtables[si].chunk, sub(si), one)],
            })
            .collect(),
        Reads::Rows { rho_h, reads } => {
            let rows = d.row_form().expect("row reads come from a table in row form");
            let table = row_table_at(&rows, rho_h, 1 << d.chunk_bits);
            vec![
                ReadClaim { value: reads[0], pieces: vec![(0, Piece::Eq(rho_h.clone()), one)] },
                ReadClaim { value: reads[1], pieces: vec![(1, Piece::Field(table), one)] },
            ]
        }
    };
    let offset = crate::field::from_i64(domain.offset());
    let weights = chunk_bit_weights(domain, d);
    for (o, v) in operand_values.iter().enumerate() {
        let pieces = (0..d.num_chunks)
            .filter(|&c| weights[c][o].iter().any(|&w| w != 0))
            .map(|c| (c, Piece::Address(weights[c][o].clone()), one))
            .collect();
        claims.push(ReadClaim { value: *v + offset, pieces });
    }
    claims.extend(
        (0..d.num_chunks).map(|c| ReadClaim { value: one, pieces: vec![(c, Piece::One, one)] }),
    );
    PendingChunks {
        r1: at.r1.clone(),
        chunk_bits: d.chunk_bits as usize,
        num_chunks: d.num_chunks,
        claims,
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
                ReadsAt { r1: point[..c.num_vars].to_vec(), reads: Reads::Subtables(reads) }
            }
            CombineClaim::Rows(c) => ReadsAt {
                r1: point[c.k..c.k + c.t].to_vec(),
                reads: Reads::Rows { rho_h: point[..c.k].to_vec(), reads },
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

/// Stage 3 for a batch of instances: draws γ, β and `z`, then checks every instance, its final
/// evaluations (one per chunk) kept back; then a sumcheck over the chunks ([`StackClaim`]) leaves
/// one evaluation of their stack, which the caller opens as a combination of the chunk
/// polynomials. An empty batch draws nothing and has no proof: callers send and read none.
pub fn verify_chunk_checks(
    pending: &[&PendingChunks],
    proof: &ChunkCheckProof,
    transcript: &mut Transcript,
) -> Result<Option<ChunkOpening>, LookupError> {
    if pending.is_empty() {
        return Ok(None);
    }
    let n = pending.iter().map(|p| p.num_vars()).max().unwrap_or(0);
    let ch = draw_chunk_challenges(transcript, n);
    let checks: Vec<ChunkCheckClaim<'_>> = pending.iter().map(|p| p.check_claim(&ch)).collect();
    let refs: Vec<&dyn SumcheckClaim> = checks.iter().map(|c| c as &dyn SumcheckClaim).collect();
    let out =
        verify_sumcheck_deferred(&refs, &proof.sites, transcript).map_err(LookupError::Chunks)?;
    let stack = StackClaim::new(pending, &ch, &out.point, out.gamma, out.claim);
    let o2 = verify_sumcheck(&[&stack], &proof.stack, transcript).map_err(LookupError::Stack)?;
    Ok(Some(ChunkOpening {
        weights: stack_weights(pending, &o2.point),
        point: out.point,
        value: o2.final_evals[0][0],
    }))
}

/// The variables of the chunks' stack: `⌈log2⌉` of the chunk count, at least 1.
pub(crate) fn stack_vars(chunks: usize) -> usize {
    chunks.max(2).next_power_of_two().trailing_zeros() as usize
}

/// `Σ_c A(c)·S(c) + Y(c)·(S(c)² − S(c)) = claim` over the chunks `c` of every instance (in order,
/// zero-padded to `2^m`), where `S(c) = ra_c(ρ)` at the instance's prefix of the chunk checks'
/// point `ρ`: the chunk checks' final claim `Σ_i α^i·check_i(ρ)` written as a sum over the chunks,
/// with `A(c) = α^i·eq(r1, ρ_j)·W_c(ρ_k)` and `Y(c) = α^i·β^{c+1}·eq(z, ρ)` (`α` the batching
/// challenge, `c` counted within the instance). `A` and `Y` are the verifier's; the sumcheck
/// leaves the one evaluation `S(ρ_c) = Σ_c eq(ρ_c, c)·ra_c(ρ)`. Degree 3 in each variable.
pub(crate) struct StackClaim {
    pub a: Vec<F>,
    pub y: Vec<F>,
    pub claim: F,
}

impl StackClaim {
    pub(crate) fn new(
        pending: &[&PendingChunks],
        ch: &ChunkChallenges,
        point: &[F],
        alpha: F,
        claim: F,
    ) -> Self {
        let m = stack_vars(pending.iter().map(|p| p.num_chunks).sum());
        let (mut a, mut y) = (vec![F::zero(); 1 << m], vec![F::zero(); 1 << m]);
        let (mut coeff, mut idx) = (F::one(), 0);
        for p in pending {
            let rho = &point[..p.num_vars()];
            let (rho_j, rho_k) = rho.split_at(p.r1.len());
            let read = coeff * eq_eval(&p.r1, rho_j);
            let boolean = coeff * eq_eval(&ch.z[..p.num_vars()], rho);
            let mut b = ch.beta;
            for c in 0..p.num_chunks {
                a[idx] = read * p.w_at(c, ch.gamma, rho_k);
                y[idx] = boolean * b;
                b *= ch.beta;
                idx += 1;
            }
            coeff *= alpha;
        }
        StackClaim { a, y, claim }
    }
}

impl SumcheckClaim for StackClaim {
    fn num_rounds(&self) -> usize {
        self.a.len().trailing_zeros() as usize
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
        let s = evals[0];
        let a = evaluate_serial(self.a.iter().copied(), point).unwrap_or_default();
        let y = evaluate_serial(self.y.iter().copied(), point).unwrap_or_default();
        a * s + y * (s * s - s)
    }
}

/// Each chunk's weight `eq(ρ_c, c)` in the stack's evaluation at `ρ_c`, per instance.
pub(crate) fn stack_weights(pending: &[&PendingChunks], rho_c: &[F]) -> Vec<Vec<F>> {
    let eq = eq_evals_serial(rho_c);
    let mut idx = 0;
    pending
        .iter()
        .map(|p| {
            idx += p.num_chunks;
            eq[idx - p.num_chunks..idx].to_vec()
        })
        .collect()
}
