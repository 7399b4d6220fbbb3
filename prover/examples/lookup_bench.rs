//! One committed lookup proof, end to end, with timings and proof size:
//! `cargo run --release -p atlas-prover --example lookup_bench -- relu32|dense16 LOG_QUERIES`.
//! Run it under `/usr/bin/time -v` for the peak memory (the benchmark figures).

use std::time::Instant;

use atlas_prover::lookup::{prove_committed_lookup, prove_lookups, LookupWitness};
use atlas_prover::pcs::{to_bytes, HyperKzg, Srs};
use atlas_prover::poly::MultilinearPoly;
use atlas_prover::verify::committed_lookup::verify_committed_lookup;
use atlas_prover::{Transcript, F};
use atlas_stdlib::{DenseTable, Relu};
use atlas_vm::{Domain, TableMle};
use rand::{Rng, SeedableRng};

fn main() {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_else(|| "relu32".into());
    let log: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(16);
    let table: Box<dyn TableMle<F>> = match which.as_str() {
        "relu32" => Box::new(Relu::new(32).expect("relu_s32 is a valid table")),
        "dense16" => Box::new(
            DenseTable::sample("square_mod", 0, Domain::Signed { bits: 16 }, |x| {
                (x[0] * x[0]) >> 14
            })
            .expect("16 bits fit a dense table"),
        ),
        other => {
            eprintln!("unknown table {other}: use relu32 or dense16");
            std::process::exit(2);
        }
    };
    let (lo, hi) = table.domain().operand_range();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    let ops = vec![(0..1usize << log).map(|_| rng.gen_range(lo..=hi)).collect::<Vec<i64>>()];

    let start = Instant::now();
    let srs = Srs::development(log).expect("a development SRS");
    let (pk, vk) = (srs.prover_key(log).expect("within the SRS"), srs.verifier_key());
    let setup = start.elapsed();

    // The same work without the opening: column commitments and the argument (what a whole-program
    // proof pays per lookup; the opening there is shared by every polynomial at the point).
    let start = Instant::now();
    let w = LookupWitness::from_operands(table.as_ref(), &ops).expect("operands in the domain");
    let d = w.decomposition();
    for c in 0..d.num_chunks {
        HyperKzg::commit_one_hot_columns(&pk, w.chunk_indices(c), 1 << d.chunk_bits)
            .expect("the key covers the queries");
    }
    let mut t = Transcript::new(b"atlas/bench/lookup-argument");
    let point = t.challenge_scalars("point", w.num_vars());
    let value = MultilinearPoly::I64(w.outputs()).evaluate(&point);
    prove_lookups(std::slice::from_ref(&w), &[(point, value)], &mut t);
    let argument_only = start.elapsed();
    drop(w);

    let start = Instant::now();
    let w = LookupWitness::from_operands(table.as_ref(), &ops).expect("operands in the domain");
    let outputs = w.outputs();
    let mut t = Transcript::new(b"atlas/bench/lookup");
    let proof = prove_committed_lookup(&pk, &w, &mut t).expect("the key covers the queries");
    let prove = start.elapsed();

    let start = Instant::now();
    let mut t = Transcript::new(b"atlas/bench/lookup");
    verify_committed_lookup(&vk, table.as_ref(), &ops, &outputs, &proof, &mut t)
        .expect("an honest proof verifies");
    let verify = start.elapsed();

    let columns: usize = proof.columns.iter().map(|c| c.len()).sum::<usize>() * 32;
    let argument = proof.lookup.to_bytes().len();
    let opening = to_bytes(&proof.opening).len();
    println!(
        "{} 2^{log} queries: setup {:.2?} (dev SRS), prove {:.3?} ({:.2} us/query; commitments + \
         argument {:.3?} = {:.2} us/query), verify {:.3?}, proof {} B = {} column commitments \
         ({columns} B) + argument {argument} B + opening {opening} B",
        table.name(),
        setup,
        prove,
        prove.as_secs_f64() * 1e6 / (1u64 << log) as f64,
        argument_only,
        argument_only.as_secs_f64() * 1e6 / (1u64 << log) as f64,
        verify,
        columns + argument + opening,
        columns / 32,
    );
}
