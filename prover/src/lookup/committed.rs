//! Prover of [`CommittedLookupProof`] (see [`crate::verify::committed_lookup`]).

use crate::pcs::hyperkzg::Opening;
use crate::pcs::{HyperKzg, HyperKzgProverKey, PcsError};
use crate::poly::MultilinearPoly;
use crate::transcript::Transcript;
use crate::verify::committed_lookup::{
    absorb_columns, absorb_statement, fold_columns, CommittedLookupProof,
};

use super::{prove_lookups, LookupWitness};

/// Commits the witness's address chunks, proves its lookups against its public outputs, and opens
/// the folded columns.
pub fn prove_committed_lookup(
    pk: &HyperKzgProverKey,
    witness: &LookupWitness<'_>,
    transcript: &mut Transcript,
) -> Result<CommittedLookupProof, PcsError> {
    let d = witness.decomposition();
    let k = 1usize << d.chunk_bits;
    let columns = (0..d.num_chunks)
        .map(|c| HyperKzg::commit_one_hot_columns(pk, witness.chunk_indices(c), k))
        .collect::<Result<Vec<_>, _>>()?;
    let t = witness.num_vars();
    let n = witness.queries();
    let operands: Vec<Vec<i64>> =
        (0..witness.table.domain().arity()).map(|o| witness.operand(o)[..n].to_vec()).collect();
    absorb_statement(transcript, witness.table, &operands, &witness.outputs()[..n]);
    let point = absorb_columns(transcript, &columns, t);
    let value = MultilinearPoly::I64(witness.outputs()).evaluate(&point);
    let (lookup, out) = prove_lookups(std::slice::from_ref(witness), &[(point, value)], transcript);
    let chunks = &out.opening;
    let (rho_j, rho_k) = chunks.point.split_at(t);
    let folded_commitments: Vec<_> = columns.iter().map(|cols| fold_columns(cols, rho_k)).collect();
    let folded: Vec<MultilinearPoly> =
        out.folded[0].iter().map(|v| MultilinearPoly::Dense(v.clone())).collect();
    let refs: Vec<Opening<'_>> = folded.iter().map(Opening::Table).collect();
    let opening = HyperKzg::open_combination(
        pk,
        &refs,
        &folded_commitments,
        &chunks.weights[0],
        rho_j,
        chunks.value,
        transcript,
    )?;
    Ok(CommittedLookupProof { columns, lookup, opening })
}
