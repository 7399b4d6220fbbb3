//! Every table the stdlib registers, run through the lookup argument: the claims the argument
//! leaves behind are checked against the witness, so a table whose decomposition drifted from its
//! `eval` would fail here even if its own battery passed.

use ark_ff::UniformRand;
use atlas_prover::lookup::{prove_lookups, LookupWitness};
use atlas_prover::poly::MultilinearPoly;
use atlas_prover::verify::{verify_lookups, LookupStatement};
use atlas_prover::{Transcript, F};
use atlas_stdlib::registry::kinds;
use atlas_stdlib::tables::DenseTable;
use atlas_vm::{Domain, TableId, TableMle};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

fn check(table: &dyn TableMle<F>, n: usize, rng: &mut ChaCha20Rng) {
    let (lo, hi) = table.domain().operand_range();
    let ops: Vec<Vec<i64>> = (0..table.domain().arity())
        .map(|_| (0..n).map(|_| rng.gen_range(lo..=hi)).collect())
        .collect();
    let w = LookupWitness::from_operands(table, &ops).expect("operands are in the domain");
    let point: Vec<F> = (0..w.num_vars()).map(|_| F::rand(rng)).collect();
    let value = MultilinearPoly::I64(w.outputs()).evaluate(&point);
    let mut t = Transcript::new(b"atlas/it/lookup");
    let (proof, _) = prove_lookups(std::slice::from_ref(&w), &[(point.clone(), value)], &mut t);
    let st =
        LookupStatement { table, num_vars: w.num_vars(), output_point: point, output_value: value };
    let mut tv = Transcript::new(b"atlas/it/lookup");
    let (out, _) = verify_lookups(&[st], &proof, &mut tv)
        .unwrap_or_else(|e| panic!("{} with {n} queries: {e}", table.name()));
    for (o, v) in out[0].operand_values.iter().enumerate() {
        assert_eq!(
            *v,
            MultilinearPoly::I64(w.operand(o)).evaluate(&out[0].operand_point),
            "{}",
            table.name()
        );
    }
}

#[test]
fn every_registered_table_proves_and_verifies() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let mut count = 0;
    for kind in kinds::<F>() {
        for params in kind.examples {
            let table = (kind.make)(*params).expect("registry examples build");
            assert_eq!(table.id(), TableId::new(kind.id, *params));
            for n in [1usize, 5, 300] {
                check(table.as_ref(), n, &mut rng);
            }
            count += 1;
        }
    }
    assert!(count >= 30, "the registry lists its examples");
}

#[test]
fn a_sampled_dense_table_proves_and_verifies() {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let domain = Domain::Signed { bits: 12 };
    let table = DenseTable::sample("cube_shifted", 0, domain, |x| (x[0] * x[0] * x[0]) >> 10)
        .expect("12 bits fit a dense table");
    check(&table, 1000, &mut rng);
}

mod committed {
    //! The lookup argument with its commitments, end to end, and the attacks that need them.

    use super::*;
    use atlas_prover::lookup::prove_committed_lookup;
    use atlas_prover::pcs::{HyperKzgProverKey, Srs};
    use atlas_prover::verify::committed_lookup::{
        verify_committed_lookup, CommittedLookupError, CommittedLookupProof,
    };
    use atlas_prover::verify::hyperkzg::HyperKzgVerifierKey;
    use atlas_stdlib::tables::{Relu, Shift};
    use atlas_stdlib::Rounding;

    const DOMAIN: &[u8] = b"atlas/it/committed-lookup";

    fn keys() -> &'static (HyperKzgProverKey, HyperKzgVerifierKey) {
        static KEYS: std::sync::OnceLock<(HyperKzgProverKey, HyperKzgVerifierKey)> =
            std::sync::OnceLock::new();
        KEYS.get_or_init(|| {
            let srs = Srs::development(10).expect("a small development SRS");
            (srs.prover_key(10).expect("within the SRS"), srs.verifier_key())
        })
    }

    fn prove(table: &dyn TableMle<F>, ops: &[Vec<i64>]) -> (Vec<i64>, CommittedLookupProof) {
        let (pk, _) = keys();
        let w = LookupWitness::from_operands(table, ops).expect("operands in the domain");
        let outputs = w.outputs()[..ops[0].len()].to_vec();
        let mut t = Transcript::new(DOMAIN);
        (outputs, prove_committed_lookup(pk, &w, &mut t).expect("the key covers the queries"))
    }

    fn verify(
        table: &dyn TableMle<F>,
        ops: &[Vec<i64>],
        outputs: &[i64],
        proof: &CommittedLookupProof,
    ) -> Result<(), CommittedLookupError> {
        let (_, vk) = keys();
        let mut t = Transcript::new(DOMAIN);
        verify_committed_lookup(vk, table, ops, outputs, proof, &mut t)
    }

    fn relu_case() -> (Relu, Vec<Vec<i64>>, Vec<i64>, CommittedLookupProof) {
        let table = Relu::new(32).expect("relu_s32");
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let ops = vec![(0..300).map(|_| rng.gen_range(-(1i64 << 31)..(1i64 << 31))).collect()];
        let (outputs, proof) = prove(&table, &ops);
        (table, ops, outputs, proof)
    }

    #[test]
    fn relu_and_rescale_verify_with_commitments() {
        let (table, ops, outputs, proof) = relu_case();
        verify(&table, &ops, &outputs, &proof).unwrap();
        let shift = Shift::new(32, 8, Rounding::Nearest).expect("shift_s32_8");
        let ops = vec![(-500..500).map(|x| x * 1000).collect::<Vec<i64>>()];
        let (outputs, proof) = prove(&shift, &ops);
        verify(&shift, &ops, &outputs, &proof).unwrap();
        assert_eq!(outputs[0], (-500_000i64 + 128).div_euclid(256));
    }

    /// Invariant: the opened chunks are the committed ones.
    /// Mutation: replace one column commitment of chunk 1 with another column's.
    #[test]
    fn rejects_tampered_chunk_commitment() {
        let (table, ops, outputs, mut proof) = relu_case();
        proof.columns[1][3] = proof.columns[1][4];
        assert!(verify(&table, &ops, &outputs, &proof).is_err());
    }

    /// Invariant: the proof is about the public outputs the verifier holds.
    /// Mutation: one public output changed.
    #[test]
    fn rejects_changed_public_output() {
        let (table, ops, mut outputs, proof) = relu_case();
        outputs[17] += 1;
        assert!(verify(&table, &ops, &outputs, &proof).is_err());
    }

    /// Invariant: the committed addresses encode the public operands.
    /// Mutation: one public operand changed (its output is unchanged: both are negative).
    #[test]
    fn rejects_changed_public_operand() {
        let (table, mut ops, outputs, proof) = relu_case();
        let j = ops[0].iter().position(|&x| x < -1).expect("a negative operand");
        ops[0][j] += 1;
        // The statement is absorbed first, so the transcript diverges before the operand check.
        assert!(verify(&table, &ops, &outputs, &proof).is_err());
    }

    /// Invariant: the statement (table, query count, operands, outputs) is absorbed before any
    /// challenge, so a proof cannot be reused for another statement.
    /// Mutation: a proof for 300 queries whose last operand is 0 (so its output equals the padding)
    /// offered as a proof for the first 299 — the padded vectors are identical.
    #[test]
    fn rejects_a_proof_reused_for_fewer_queries() {
        let table = Relu::new(32).expect("relu_s32");
        let mut ops = vec![(0..300i64).map(|j| (j * 7919) % 100_000 - 50_000).collect::<Vec<_>>()];
        ops[0][299] = 0;
        let (outputs, proof) = prove(&table, &ops);
        verify(&table, &ops, &outputs, &proof).unwrap();
        let fewer = vec![ops[0][..299].to_vec()];
        assert!(verify(&table, &fewer, &outputs[..299], &proof).is_err());
    }

    /// Invariant: structure errors are reported, not panicked on.
    /// Mutation: drop a chunk's columns.
    #[test]
    fn rejects_missing_chunk_columns() {
        let (table, ops, outputs, mut proof) = relu_case();
        proof.columns.pop();
        assert!(matches!(
            verify(&table, &ops, &outputs, &proof),
            Err(CommittedLookupError::ChunkCount { .. })
        ));
    }
}

/// The widest structured tables at 2^16 queries (the other registry entries run above at 1, 5 and
/// 300; the argument is the same for every size, and 2^16 is where the sumchecks' parallel paths
/// take over).
#[test]
fn the_32_bit_tables_prove_2_16_queries() {
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    for id in [
        TableId::new(atlas_stdlib::tables::relu::KIND, [32, 0, 0]),
        TableId::new(atlas_stdlib::tables::clamp::KIND, [32, 8, 0]),
        TableId::new(atlas_stdlib::tables::shift::KIND, [32, 8, 1]),
        TableId::new(atlas_stdlib::tables::compare::KIND, [32, 1, 0]),
    ] {
        let table = atlas_stdlib::table_by_id::<F>(id).expect("a registered table");
        check(table.as_ref(), 1 << 16, &mut rng);
    }
}
