//! The lookup argument's prover: every output is the table's value at its input.
//!
//! The protocol and the transcript schedule are documented on the verifier side
//! ([`crate::verify::lookup`]) and in `docs/lookup.md`; this module mirrors it. What the prover
//! commits (the one-hot address chunks, column by column) is handled by the caller through
//! [`LookupWitness::one_hot_columns`]; the argument itself proves everything after the
//! commitments.

mod chunk;
mod committed;

pub use committed::prove_committed_lookup;

use ark_ff::Zero;
use rayon::prelude::*;

use atlas_vm::{Decomposition, TableError, TableMle};

use crate::field::{from_i128, F};
use crate::poly::{eq_evals, MultilinearPoly};
use crate::sumcheck::{prove_sumcheck, ProductSumcheck, SumcheckInstance};
use crate::transcript::Transcript;
use crate::verify::lookup::{
    chunk_bit_weights, chunk_subtables, combine_claim, draw_chunk_challenges, LookupOutput,
    LookupProof,
};

use chunk::ChunkCheck;

/// One lookup instance's witness: a table and the addresses of its queries, padded.
pub struct LookupWitness<'a> {
    pub table: &'a dyn TableMle<F>,
    decomposition: Decomposition,
    /// Padded to `2^num_vars` (at least 2) with the address of the all-zero operands.
    addresses: Vec<u64>,
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
        Ok(LookupWitness { table, decomposition: table.decomposition(), addresses, queries })
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
    pub fn chunk_indices(&self, c: usize) -> Vec<usize> {
        self.addresses.iter().map(|&a| self.decomposition.chunk(a, c) as usize).collect()
    }

    /// The one-hot matrix `ra_c` as `2^k` columns, each a 0/1 vector over the queries — the form
    /// in which it is committed (see `docs/lookup.md`).
    pub fn one_hot_columns(&self, c: usize) -> Vec<Vec<u8>> {
        let k = 1usize << self.decomposition.chunk_bits;
        let mut cols = vec![vec![0u8; self.addresses.len()]; k];
        for (j, idx) in self.chunk_indices(c).into_iter().enumerate() {
            cols[idx][j] = 1;
        }
        cols
    }
}

/// What the prover keeps besides the proof: the verifier's outputs, and per instance and chunk the
/// folded column vector `ra_c(·, ρ_k)` that the caller opens at `ρ_j`.
pub struct LookupProverOutput {
    pub outputs: Vec<LookupOutput>,
    pub folded: Vec<Vec<Vec<F>>>,
}

/// Proves that each instance's outputs are its table's values at its addresses, given for each
/// instance the claim `out(point) = value` on its padded output vector (the point and value are the
/// caller's, already bound by the transcript).
pub fn prove_lookups(
    witnesses: &[LookupWitness<'_>],
    output_claims: &[(Vec<F>, F)],
    transcript: &mut Transcript,
) -> (LookupProof, LookupProverOutput) {
    assert_eq!(witnesses.len(), output_claims.len(), "one output claim per lookup instance");

    // Stage 1: combine.
    let mut combine: Vec<ProductSumcheck> = witnesses
        .iter()
        .zip(output_claims)
        .map(|(w, (point, value))| {
            let d = &w.decomposition;
            let reads: Vec<MultilinearPoly> = d
                .subtables
                .par_iter()
                .map(|s| {
                    MultilinearPoly::I64(
                        w.addresses
                            .iter()
                            .map(|&a| s.values[d.chunk(a, s.chunk) as usize])
                            .collect(),
                    )
                })
                .collect();
            let claim = combine_claim(d, w.num_vars(), point.clone(), *value);
            ProductSumcheck::new(reads, claim.terms, Some(point.clone()), claim.claim)
                .expect("the subtable reads share the padded query count and g's degree is bounded")
        })
        .collect();
    let mut refs: Vec<&mut dyn SumcheckInstance> =
        combine.iter_mut().map(|p| p as &mut dyn SumcheckInstance).collect();
    let (combine_proof, out1) = prove_sumcheck(&mut refs, transcript);

    // Address claims and stage-2 challenges, per instance.
    let mut address_claims = Vec::with_capacity(witnesses.len());
    let mut checks: Vec<ChunkCheck> = Vec::new();
    let mut layout = Vec::new();
    for (i, w) in witnesses.iter().enumerate() {
        let d = &w.decomposition;
        let t = w.num_vars();
        let r1 = out1.point[..t].to_vec();
        let eq_r1 = eq_evals(&r1);
        let weights = chunk_bit_weights(&w.table.domain(), d);
        let chunk_idx: Vec<Vec<usize>> = (0..d.num_chunks).map(|c| w.chunk_indices(c)).collect();
        // A_{c,o}(r1) = Σ_j eq(r1, j) · field_{c,o}(chunk_c(a_j)).
        let kk = 1usize << d.chunk_bits;
        // F_c(k) = Σ_j eq(r1, j)·[chunk_c(a_j) = k], which the chunk check needs too, gives the
        // address claims in O(2^k): A_{c,o}(r1) = Σ_k F_c(k)·field_{c,o}(k).
        let f_tables: Vec<Vec<F>> =
            chunk_idx.iter().map(|idx| chunk::bucket_sums(idx, &eq_r1, kk)).collect();
        let claims: Vec<Vec<F>> = (0..d.num_chunks)
            .map(|c| {
                weights[c]
                    .iter()
                    .map(|wts| {
                        f_tables[c]
                            .iter()
                            .enumerate()
                            .map(|(idx, f)| *f * F::from(chunk::field_value(wts, idx)))
                            .sum()
                    })
                    .collect()
            })
            .collect();
        for c in &claims {
            transcript.append_scalars("lookup_address_claims", c);
        }
        let ch = draw_chunk_challenges(transcript, t, d.chunk_bits as usize);
        let eq_z_cycle = eq_evals(&ch.z[..t]);
        let first = checks.len();
        for c in 0..d.num_chunks {
            let subs = chunk_subtables(d, c);
            let mut claim = F::zero();
            let mut g = F::from(1u64);
            for &si in &subs {
                claim += g * out1.final_evals[i][si];
                g *= ch.gamma;
            }
            for a in &claims[c] {
                claim += g * a;
                g *= ch.gamma;
            }
            claim += g;
            checks.push(ChunkCheck::new(
                chunk::ChunkSetup {
                    chunk_bits: d.chunk_bits as usize,
                    indices: chunk_idx[c].clone(),
                    r1: r1.clone(),
                    f: f_tables[c].clone(),
                    eq_z_cycle: &eq_z_cycle,
                    z: ch.z.clone(),
                    beta: ch.beta,
                    gamma: ch.gamma,
                    subtables: subs.iter().map(|&si| d.subtables[si].values.clone()).collect(),
                    addr_weights: weights[c].clone(),
                },
                claim,
            ));
        }
        address_claims.push(claims);
        layout.push((first, r1, t + d.chunk_bits as usize));
    }
    let mut refs: Vec<&mut dyn SumcheckInstance> =
        checks.iter_mut().map(|p| p as &mut dyn SumcheckInstance).collect();
    let (chunks_proof, out2) = prove_sumcheck(&mut refs, transcript);

    let mut outputs = Vec::with_capacity(witnesses.len());
    let mut folded = Vec::with_capacity(witnesses.len());
    for ((w, (first, r1, n)), claims) in witnesses.iter().zip(layout).zip(&address_claims) {
        let d = &w.decomposition;
        let offset = crate::field::from_i64(w.table.domain().offset());
        let operand_values = (0..w.table.domain().arity())
            .map(|o| claims.iter().map(|c| c[o]).sum::<F>() - offset)
            .collect();
        outputs.push(LookupOutput {
            operand_point: r1,
            operand_values,
            chunk_point: out2.point[..n].to_vec(),
            chunk_values: (first..first + d.num_chunks).map(|k| out2.final_evals[k][0]).collect(),
        });
        folded.push(
            (first..first + d.num_chunks).map(|k| checks[k].folded_column().to_vec()).collect(),
        );
    }
    let proof = LookupProof { combine: combine_proof, address_claims, chunks: chunks_proof };
    (proof, LookupProverOutput { outputs, folded })
}

/// `Σ_t c_t ∏ …` of a decomposition's combine as field terms (used by tests and the walk).
pub fn combine_constant(d: &Decomposition) -> F {
    from_i128(d.combine.constant_term())
}

#[cfg(test)]
mod tests;
