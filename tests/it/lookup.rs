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
    let out = verify_lookups(&[st], &proof, &mut tv)
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
