//! A self-contained lookup proof with its commitments: public operands and outputs, one-hot address
//! chunks committed column by column, the lookup argument, and one batched HyperKZG opening of the
//! folded columns. It is what the lookup benchmarks measure and what the end-to-end lookup tests
//! attack; inside a whole-program proof the same pieces are batched with everything else.
//!
//! Transcript: the statement (`lookup_table`, `lookup_queries`, each operand vector as
//! `lookup_operands`, the outputs as `lookup_outputs`), each chunk's column commitments
//! (`lookup_column`), the output point (`lookup_output_point`), the lookup argument, then the
//! opening (`docs/pcs.md`). The statement comes first: a challenge that does not depend on the
//! public operands and outputs would let a prover reuse a proof for other ones.

use ark_bn254::G1Affine;

use atlas_vm::TableMle;

use crate::field::{from_i64, F};
use crate::pcs::PcsError;
use crate::poly::{eq_evals_serial, evaluate_serial};
use crate::transcript::Transcript;
use crate::verify::hyperkzg::{
    verify_combination, HyperKzgCommitment, HyperKzgProof, HyperKzgVerifierKey,
};
use crate::verify::lookup::{verify_lookups, LookupError, LookupProof, LookupStatement};
use crate::verify::msm::msm;

/// A lookup proof with its commitments (one instance).
#[derive(Debug, Clone, PartialEq)]
pub struct CommittedLookupProof {
    /// Per chunk, the commitments of the one-hot matrix's columns.
    pub columns: Vec<Vec<HyperKzgCommitment>>,
    pub lookup: LookupProof,
    /// Opens the chunk opening's combination of the folded columns `ra_c(·, ρ_k)` at `ρ_j`.
    pub opening: HyperKzgProof,
}

/// Why a committed lookup proof was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommittedLookupError {
    #[error("{operands} operand vectors for a table of arity {arity}")]
    Arity { arity: usize, operands: usize },
    #[error("operand {operand} has {got} entries, the outputs {expected}")]
    OperandLength { operand: usize, expected: usize, got: usize },
    #[error("{queries} queries exceed the supported 2^32")]
    TooManyQueries { queries: usize },
    #[error("expected column commitments for {expected} chunks, got {got}")]
    ChunkCount { expected: usize, got: usize },
    #[error("chunk {chunk}: expected {expected} column commitments, got {got}")]
    ColumnCount { chunk: usize, expected: usize, got: usize },
    #[error("the table's domain has no all-zero operands: {0}")]
    Domain(#[from] atlas_vm::TableError),
    #[error("the lookup argument failed: {0}")]
    Lookup(#[from] LookupError),
    #[error("operand {operand} does not match the committed addresses")]
    Operand { operand: usize },
    #[error("the opening of the address chunks failed: {0}")]
    Opening(#[from] PcsError),
}

/// `log2` of the padded query count for `n` queries (at least 2, a power of two).
pub fn padded_vars(n: usize) -> usize {
    n.max(2).next_power_of_two().trailing_zeros() as usize
}

/// Absorbs the statement: which table, how many queries, and the public operands and outputs.
/// Prover and verifier both call this first.
pub(crate) fn absorb_statement(
    transcript: &mut Transcript,
    table: &dyn TableMle<F>,
    operands: &[Vec<i64>],
    outputs: &[i64],
) {
    let d = table.decomposition();
    transcript.append_u64("lookup_table", u64::from(table.id().0));
    transcript.append_u64("lookup_chunks", (d.num_chunks as u64) << 32 | u64::from(d.chunk_bits));
    transcript.append_u64("lookup_queries", outputs.len() as u64);
    let bytes = |v: &[i64]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    for o in operands {
        transcript.append_bytes("lookup_operands", &bytes(o));
    }
    transcript.append_bytes("lookup_outputs", &bytes(outputs));
}

/// Absorbs the column commitments and draws the output point.
pub(crate) fn absorb_columns(
    transcript: &mut Transcript,
    columns: &[Vec<HyperKzgCommitment>],
    num_vars: usize,
) -> Vec<F> {
    for chunk in columns {
        for c in chunk {
            transcript.append_point("lookup_column", c);
        }
    }
    transcript.challenge_scalars("lookup_output_point", num_vars)
}

/// Commitment to `ra_c(·, ρ_k)`: the columns folded with `eq(ρ_k, ·)`.
pub(crate) fn fold_columns(columns: &[HyperKzgCommitment], rho_k: &[F]) -> HyperKzgCommitment {
    let bases: Vec<G1Affine> = columns.iter().map(|c| c.0).collect();
    HyperKzgCommitment(ark_ec::CurveGroup::into_affine(msm(&bases, &eq_evals_serial(rho_k))))
}

/// Checks that `outputs[j] = table(operands[·][j])` for every query, from the proof alone plus the
/// public operands and outputs.
pub fn verify_committed_lookup(
    vk: &HyperKzgVerifierKey,
    table: &dyn TableMle<F>,
    operands: &[Vec<i64>],
    outputs: &[i64],
    proof: &CommittedLookupProof,
    transcript: &mut Transcript,
) -> Result<(), CommittedLookupError> {
    let domain = table.domain();
    if operands.len() != domain.arity() {
        return Err(CommittedLookupError::Arity {
            arity: domain.arity(),
            operands: operands.len(),
        });
    }
    let n = outputs.len();
    if n > 1 << 32 {
        return Err(CommittedLookupError::TooManyQueries { queries: n });
    }
    for (operand, o) in operands.iter().enumerate() {
        if o.len() != n {
            return Err(CommittedLookupError::OperandLength { operand, expected: n, got: o.len() });
        }
    }
    let d = table.decomposition();
    if proof.columns.len() != d.num_chunks {
        return Err(CommittedLookupError::ChunkCount {
            expected: d.num_chunks,
            got: proof.columns.len(),
        });
    }
    let k = 1usize << d.chunk_bits;
    for (chunk, cols) in proof.columns.iter().enumerate() {
        if cols.len() != k {
            return Err(CommittedLookupError::ColumnCount { chunk, expected: k, got: cols.len() });
        }
    }
    let t = padded_vars(n);
    absorb_statement(transcript, table, operands, outputs);
    let point = absorb_columns(transcript, &proof.columns, t);
    // Padding queries use the all-zero operands: outputs pad with the table's value there, operands
    // with zeros.
    let pad = domain.encode(&vec![0; domain.arity()])?;
    let pad_out = from_i64(table.eval(pad));
    let padded =
        outputs.iter().map(|&v| from_i64(v)).chain(std::iter::repeat(pad_out)).take(1 << t);
    let value = evaluate_serial(padded, &point).unwrap_or_default();
    let statement =
        LookupStatement { table, num_vars: t, output_point: point, output_value: value };
    let (mut outs, chunks) = verify_lookups(&[statement], &proof.lookup, transcript)?;
    let out = outs.remove(0);

    for (operand, o) in operands.iter().enumerate() {
        let expect = evaluate_serial(o.iter().map(|&v| from_i64(v)), &out.operand_point);
        if expect != out.operand_values.get(operand).copied() {
            return Err(CommittedLookupError::Operand { operand });
        }
    }
    let (rho_j, rho_k) = chunks.point.split_at(t);
    let folded: Vec<HyperKzgCommitment> =
        proof.columns.iter().map(|cols| fold_columns(cols, rho_k)).collect();
    verify_combination(
        vk,
        &folded,
        &chunks.weights[0],
        rho_j,
        chunks.value,
        &proof.opening,
        transcript,
    )?;
    Ok(())
}
