//! The lookup argument's prover: every output is the table's value at its input.
//!
//! The protocol and the transcript schedule are documented on the verifier side
//! ([`crate::verify::lookup`]) and in `docs/lookup.md`; this module mirrors it. What the prover
//! commits (the one-hot address chunks, column by column) is handled by the caller through
//! [`LookupWitness::one_hot_columns`]; the argument itself proves everything after the
//! commitments.

mod chunk;
mod committed;
mod rows;

pub use committed::prove_committed_lookup;

use ark_ff::{One, Zero};
use rayon::prelude::*;

use atlas_vm::{Decomposition, TableError, TableMle};

use crate::field::{from_i128, F};
use crate::poly::{eq_evals, MultilinearPoly};
use crate::sumcheck::{
    prove_sumcheck, prove_sumcheck_deferred, ProductSumcheck, SumOf, SumcheckInstance,
};
use crate::transcript::Transcript;
use crate::verify::lookup::{
    combine_claim, draw_chunk_challenges, linear_batch, pending_chunks, stack_weights,
    ChunkCheckProof, ChunkOpening, CombineClaim, LookupOutput, LookupProof, LookupReadProof,
    LookupReads, PendingChunks, ReadsAt, StackClaim,
};
use crate::verify::sumcheck::SumcheckProof;
use crate::verify::Term;

use chunk::ChunkCheck;
use rows::RowCombine;

/// One lookup instance's witness: a table and the addresses of its queries, padded.
pub struct LookupWitness<'a> {
    pub table: &'a dyn TableMle<F>,
    decomposition: Decomposition,
    /// Padded to `2^num_vars` (at least 2) with the address of the all-zero operands.
    addresses: Vec<u64>,
    /// Per chunk, chunk `c` of every padded address, computed once: the commitments, the
    /// address claims, the row-form combine, the chunk checks and the opening all read them.
    chunks: Vec<Vec<usize>>,
    queries: usize,
}

impl<'a> LookupWitness<'a> {
    /// Encodes `operands[o][j]` (operand `o` of query `j`) into addresses; an operand outside the
    /// table's domain is an error naming it.
    pub fn from_operands(
        table: &'a dyn TableMle<F>,
        operands: &[Vec<i64>],
    ) -> Result<Self, TableError> {
        let domain = table.domain();
        let n = operands.first().map_or(0, Vec::len);
        if operands.len() != domain.arity() {
            return Err(TableError::Arity { expected: domain.arity(), got: operands.len() });
        }
        if let Some(o) = operands.iter().position(|o| o.len() != n) {
            return Err(TableError::OperandLength {
                operand: o,
                expected: n,
                got: operands[o].len(),
            });
        }
        let addresses = (0..n)
            .map(|j| {
                let ops: Vec<i64> =
                    operands.iter().map(|o| o.get(j).copied().unwrap_or(0)).collect();
                domain.encode(&ops)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Self::from_addresses(table, addresses)
    }

    /// Uses raw addresses (each below `2^address_bits`, else an error).
    pub fn from_addresses(
        table: &'a dyn TableMle<F>,
        mut addresses: Vec<u64>,
    ) -> Result<Self, TableError> {
        let domain = table.domain();
        let bits = domain.address_bits();
        let limit = if bits >= 64 { u64::MAX } else { (1u64 << bits) - 1 };
        if let Some(&a) = addresses.iter().find(|&&a| a > limit) {
            return Err(TableError::OutOfDomain { value: a as i64, min: 0, max: limit as i64 });
        }
        let queries = addresses.len();
        let padded = queries.max(2).next_power_of_two();
        let pad = domain.encode(&vec![0; domain.arity()])?;
        addresses.resize(padded, pad);
        let decomposition = table.decomposition();
        let chunks = (0..decomposition.num_chunks)
            .map(|c| addresses.iter().map(|&a| decomposition.chunk(a, c) as usize).collect())
            .collect();
        Ok(LookupWitness { table, decomposition, addresses, chunks, queries })
    }

    /// `log2` of the padded query count.
    pub fn num_vars(&self) -> usize {
        self.addresses.len().trailing_zeros() as usize
    }

    /// Number of real (unpadded) queries.
    pub fn queries(&self) -> usize {
        self.queries
    }

    pub fn addresses(&self) -> &[u64] {
        &self.addresses
    }

    pub fn decomposition(&self) -> &Decomposition {
        &self.decomposition
    }

    /// The table's outputs over the padded queries.
    pub fn outputs(&self) -> Vec<i64> {
        self.addresses.par_iter().map(|&a| self.table.eval(a)).collect()
    }

    /// Operand `o` over the padded queries.
    pub fn operand(&self, o: usize) -> Vec<i64> {
        let domain = self.table.domain();
        self.addresses.iter().map(|&a| domain.decode(a)[o]).collect()
    }

    /// Chunk `c` of every padded address: the position of the one in each row of the one-hot
    /// matrix `ra_c` (rows are queries, columns the `2^chunk_bits` chunk values).
    pub fn chunk_indices(&self, c: usize) -> &[usize] {
        &self.chunks[c]
    }

    /// [`LookupWitness::chunk_indices`] of every chunk.
    pub fn chunks(&self) -> &[Vec<usize>] {
        &self.chunks
    }

    /// The one-hot matrix `ra_c` as `2^k` columns, each a 0/1 vector over the queries — the form
    /// in which it is committed (see `docs/lookup.md`).
    pub fn one_hot_columns(&self, c: usize) -> Vec<Vec<u8>> {
        let k = 1usize << self.decomposition.chunk_bits;
        let mut cols = vec![vec![0u8; self.addresses.len()]; k];
        for (j, &idx) in self.chunk_indices(c).iter().enumerate() {
            cols[idx][j] = 1;
        }
        cols
    }
}

/// What the prover keeps besides a standalone proof: the verifier's outputs, the chunk opening,
/// and per instance and chunk the folded column vector `ra_c(·, ρ_k)` that the caller opens at
/// `ρ_j`.
pub struct LookupProverOutput {
    pub outputs: Vec<LookupOutput>,
    pub opening: ChunkOpening,
    pub folded: Vec<Vec<Vec<F>>>,
}

/// Proves a standalone lookup argument: that each instance's outputs are its table's values at its
/// addresses, given for each instance the claim `out(point) = value` on its padded output vector
/// (the point and value are the caller's, already bound by the transcript). Panics on an empty
/// batch.
pub fn prove_lookups(
    witnesses: &[LookupWitness<'_>],
    output_claims: &[(Vec<F>, F)],
    transcript: &mut Transcript,
) -> (LookupProof, LookupProverOutput) {
    let (reads_proof, reads) = prove_lookup_reads(witnesses, output_claims, transcript);
    let jobs: Vec<(&PendingChunks, &[Vec<usize>])> =
        reads.iter().zip(witnesses).map(|(r, w)| (&r.pending, w.chunks())).collect();
    let (chunks, opening, _) = prove_chunk_checks(&jobs, transcript);
    let folded = jobs
        .iter()
        .map(|(p, idx)| {
            let eq_rho = eq_evals(&opening.point[p.r1.len()..p.num_vars()]);
            idx.iter().map(|col| col.iter().map(|&a| eq_rho[a]).collect()).collect()
        })
        .collect();
    let outputs = reads.into_iter().map(LookupOutput::from).collect();
    (LookupProof { reads: reads_proof, chunks }, LookupProverOutput { outputs, opening, folded })
}

/// Stages 1–2 of the argument (the combine sumcheck and the address claims); the chunk checks
/// they leave are proved by [`prove_chunk_checks`], here or batched with other lookups'.
pub fn prove_lookup_reads(
    witnesses: &[LookupWitness<'_>],
    output_claims: &[(Vec<F>, F)],
    transcript: &mut Transcript,
) -> (LookupReadProof, Vec<LookupReads>) {
    assert_eq!(witnesses.len(), output_claims.len(), "one output claim per lookup instance");

    // Stage 1: the combine, which a linear batch skips.
    let read_vectors = |w: &LookupWitness<'_>| -> Vec<MultilinearPoly> {
        let d = &w.decomposition;
        d.subtables
            .par_iter()
            .map(|s| {
                MultilinearPoly::I64(
                    w.addresses.iter().map(|&a| s.values[d.chunk(a, s.chunk) as usize]).collect(),
                )
            })
            .collect()
    };
    let (combine_proof, reads_at): (SumcheckProof, Vec<ReadsAt>) =
        if linear_batch(witnesses.iter().map(|w| &w.decomposition)) {
            let at = witnesses
                .iter()
                .zip(output_claims)
                .map(|(w, (point, value))| ReadsAt::linear(&w.decomposition, point.clone(), *value))
                .collect();
            (SumcheckProof { rounds: Vec::new(), final_evals: Vec::new() }, at)
        } else {
            let mut combine: Vec<Box<dyn SumcheckInstance + '_>> = witnesses
                .iter()
                .zip(output_claims)
                .map(|(w, (point, value))| combine_instance(w, read_vectors(w), point, *value))
                .collect();
            let mut refs: Vec<&mut dyn SumcheckInstance> =
                combine.iter_mut().map(|p| p.as_mut() as &mut dyn SumcheckInstance).collect();
            let (proof, out1) = prove_sumcheck(&mut refs, transcript);
            let at = witnesses
                .iter()
                .zip(output_claims)
                .zip(&out1.final_evals)
                .map(|((w, (point, value)), e)| {
                    CombineClaim::new(&w.decomposition, w.num_vars(), point.clone(), *value)
                        .reads_at(&out1.point, e.clone())
                })
                .collect();
            (proof, at)
        };

    // Stage 2: the operand claims.
    let mut operand_claims = Vec::with_capacity(witnesses.len());
    let mut reads = Vec::with_capacity(witnesses.len());
    for (i, w) in witnesses.iter().enumerate() {
        let domain = w.table.domain();
        let r1 = &reads_at[i].r1;
        let values: Vec<F> =
            (0..domain.arity()).map(|o| MultilinearPoly::I64(w.operand(o)).evaluate(r1)).collect();
        transcript.append_scalars("lookup_operand_claims", &values);
        let pending = pending_chunks(&w.decomposition, &domain, &reads_at[i], &values);
        reads.push(LookupReads {
            operand_point: r1.clone(),
            operand_values: values.clone(),
            pending,
        });
        operand_claims.push(values);
    }
    (LookupReadProof { combine: combine_proof, operand_claims }, reads)
}

/// The prover of one instance's combine: the row-form sumcheck for a dense table in row form,
/// else the product sumcheck over its subtable reads.
fn combine_instance<'w>(
    w: &'w LookupWitness<'_>,
    reads: Vec<MultilinearPoly>,
    point: &[F],
    value: F,
) -> Box<dyn SumcheckInstance + 'w> {
    let d = &w.decomposition;
    match d.row_form() {
        Some(rows) => Box::new(RowCombine::new(
            reads,
            rows.iter().map(|(h, _)| *h).collect(),
            w.chunk_indices(0),
            d.chunk_bits as usize,
            point.to_vec(),
            value,
        )),
        None => {
            let claim = combine_claim(d, w.num_vars(), point.to_vec(), value);
            Box::new(
                ProductSumcheck::new(reads, claim.terms, Some(point.to_vec()), claim.claim)
                    .expect("the reads share the padded query count and g's degree is bounded"),
            )
        }
    }
}

/// Stage 3 for a batch of instances: each job is an instance's pending checks with its chunks'
/// column indices (`indices[c][j]`, the one in row `j` of chunk `c`). Returns the proof, the chunk
/// opening, and (for the caller's opening) every chunk's evaluation `ra_c(ρ)` per instance. Panics
/// on an empty batch, which proves nothing (callers send no proof for it).
pub fn prove_chunk_checks(
    jobs: &[(&PendingChunks, &[Vec<usize>])],
    transcript: &mut Transcript,
) -> (ChunkCheckProof, ChunkOpening, Vec<Vec<F>>) {
    let n = jobs.iter().map(|(p, _)| p.num_vars()).max().unwrap_or(0);
    let ch = draw_chunk_challenges(transcript, n);
    let mut checks: Vec<SumOf<ChunkCheck<'_>>> = Vec::new();
    for (p, indices) in jobs {
        let t = p.r1.len();
        let z = &ch.z[..p.num_vars()];
        let eq_r1 = eq_evals(&p.r1);
        let eq_z_cycle = eq_evals(&z[..t]);
        let mut beta = ch.beta;
        let parts = indices
            .iter()
            .enumerate()
            .map(|(c, idx)| {
                let f = chunk::bucket_sums(idx, &eq_r1, 1 << p.chunk_bits);
                let check =
                    ChunkCheck::new(p, z, beta, p.w_table(c, ch.gamma), idx, f, &eq_z_cycle);
                beta *= ch.beta;
                check
            })
            .collect();
        checks.push(SumOf::new(parts));
    }
    let mut refs: Vec<&mut dyn SumcheckInstance> =
        checks.iter_mut().map(|p| p as &mut dyn SumcheckInstance).collect();
    let (sites, out, alpha) = prove_sumcheck_deferred(&mut refs, transcript);

    let pending: Vec<&PendingChunks> = jobs.iter().map(|(p, _)| *p).collect();
    let values = out.final_evals;
    let stack = StackClaim::new(&pending, &ch, &out.point, alpha, F::zero());
    let (stack_proof, o2) =
        prove_stack(stack, values.iter().flatten().copied().collect(), transcript);
    let opening = ChunkOpening {
        weights: stack_weights(&pending, &o2.point),
        point: out.point,
        value: o2.final_evals[0][0],
    };
    (ChunkCheckProof { sites, stack: stack_proof }, opening, values)
}

/// The stack sumcheck over the chunks, `Σ_c A(c)·S(c) + Y(c)·(S(c)² − S(c))` (see
/// [`StackClaim`]; its claim is recomputed from `s`, the chunks' evaluations in order).
pub(crate) fn prove_stack(
    stack: StackClaim,
    mut s: Vec<F>,
    transcript: &mut Transcript,
) -> (SumcheckProof, crate::sumcheck::SumcheckOutput) {
    s.resize(stack.a.len(), F::zero());
    let claim: F =
        (0..s.len()).map(|c| stack.a[c] * s[c] + stack.y[c] * (s[c] * s[c] - s[c])).sum();
    let tables = vec![
        MultilinearPoly::Dense(stack.a),
        MultilinearPoly::Dense(stack.y),
        MultilinearPoly::Dense(s),
    ];
    let terms = vec![
        Term::product(vec![0, 2]),
        Term::product(vec![1, 2, 2]),
        Term::new(-F::one(), vec![1, 2]),
    ];
    let mut inst = LastEval(
        ProductSumcheck::new(tables, terms, None, claim)
            .expect("three tables of one size and terms of degree at most 3"),
    );
    prove_sumcheck(&mut [&mut inst], transcript)
}

/// A product sumcheck that reports only its last table's evaluation (the others are the
/// verifier's own).
struct LastEval(ProductSumcheck);

impl SumcheckInstance for LastEval {
    fn num_rounds(&self) -> usize {
        self.0.num_rounds()
    }
    fn degree(&self) -> usize {
        self.0.degree()
    }
    fn input_claim(&self) -> F {
        self.0.input_claim()
    }
    fn round_poly(&mut self, claim: F) -> crate::poly::UniPoly {
        self.0.round_poly(claim)
    }
    fn bind(&mut self, r: F) {
        self.0.bind(r)
    }
    fn final_evals(&self) -> Vec<F> {
        self.0.final_evals().last().copied().into_iter().collect()
    }
}

/// `Σ_t c_t ∏ …` of a decomposition's combine as field terms (used by tests and the walk).
pub fn combine_constant(d: &Decomposition) -> F {
    from_i128(d.combine.constant_term())
}

#[cfg(test)]
mod tests;
