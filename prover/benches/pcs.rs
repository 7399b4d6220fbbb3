//! HyperKZG benchmarks at 2^20: commit (dense, 16-bit, one-hot), batch opening of 8 polynomials,
//! and verification. Run with `cargo bench -p atlas-prover --bench pcs`.

use std::time::{Duration, Instant};

use ark_bn254::G1Projective;
use ark_ec::VariableBaseMSM;
use ark_ff::PrimeField;
use ark_std::UniformRand;
use atlas_prover::pcs::{CommitmentScheme, HyperKzg, Srs, DEV_SRS_WARNING};
use atlas_prover::poly::MultilinearPoly;
use atlas_prover::{Transcript, F};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

const LOG_N: usize = 20;

fn pcs(c: &mut Criterion) {
    let start = Instant::now();
    let srs = Srs::development(LOG_N).expect("2^20 is within the development SRS limit");
    eprintln!("{DEV_SRS_WARNING}");
    eprintln!("development SRS, 2^{LOG_N} powers: {:.2?}", start.elapsed());
    let (pk, vk) = srs.trim(LOG_N).expect("the SRS was built for 2^20");

    let n = 1usize << LOG_N;
    let mut rng = ChaCha20Rng::seed_from_u64(42);
    let dense = MultilinearPoly::Dense((0..n).map(|_| F::rand(&mut rng)).collect());
    let small16 = MultilinearPoly::I32((0..n).map(|_| rng.gen_range(0..1 << 16)).collect());
    // 2^16 ones out of 2^20: one per 16-entry chunk, at a random offset (a one-hot address chunk).
    let one_hot = MultilinearPoly::U8(
        (0..n / 16)
            .flat_map(|_| {
                let hot = rng.gen_range(0..16);
                (0..16).map(move |i| (i == hot) as u8)
            })
            .collect(),
    );

    let mut g = c.benchmark_group("commit_2^20");
    g.sample_size(10).measurement_time(Duration::from_secs(30));
    for (name, p) in [("dense", &dense), ("16-bit", &small16), ("one-hot", &one_hot)] {
        g.bench_function(name, |b| b.iter(|| HyperKzg::commit(&pk, p).expect("fits the key")));
    }
    // Arkworks' own MSM on the same dense table, for comparison with our batched-affine one.
    let scalars: Vec<_> = dense.to_field().iter().map(|e| e.into_bigint()).collect();
    g.bench_function("dense-arkworks-msm", |b| {
        b.iter(|| G1Projective::msm_bigint(pk.powers(), &scalars))
    });
    g.finish();

    // A realistic batch: dense, small-value and one-hot polynomials, all opened at one point.
    let polys: Vec<MultilinearPoly> = (0..8)
        .map(|k| match k % 4 {
            0 | 1 => MultilinearPoly::Dense((0..n).map(|_| F::rand(&mut rng)).collect()),
            2 => MultilinearPoly::I32((0..n).map(|_| rng.gen_range(-(1 << 15)..1 << 15)).collect()),
            _ => one_hot.clone(),
        })
        .collect();
    let refs: Vec<&MultilinearPoly> = polys.iter().collect();
    let coms = HyperKzg::batch_commit(&pk, &refs).expect("fits the key");
    let point: Vec<F> = (0..LOG_N).map(|_| F::rand(&mut rng)).collect();

    let mut g = c.benchmark_group("open_8x2^20");
    g.sample_size(10).measurement_time(Duration::from_secs(200));
    g.bench_function("batch_open", |b| {
        b.iter_batched(
            || Transcript::new(b"atlas/bench"),
            |mut t| HyperKzg::batch_open(&pk, &refs, &coms, &point, &mut t).expect("opens"),
            BatchSize::PerIteration,
        )
    });
    g.finish();

    let mut t = Transcript::new(b"atlas/bench");
    let (evals, proof) = HyperKzg::batch_open(&pk, &refs, &coms, &point, &mut t).expect("opens");
    let proof_bytes = atlas_prover::pcs::to_bytes(&proof).len();
    eprintln!("proof size for 8 x 2^{LOG_N}: {proof_bytes} bytes");
    let mut g = c.benchmark_group("verify_8x2^20");
    g.bench_function("batch_verify", |b| {
        b.iter(|| {
            let mut t = Transcript::new(b"atlas/bench");
            HyperKzg::batch_verify(&vk, &coms, &point, &evals, &proof, &mut t).expect("verifies")
        })
    });
    g.finish();
}

criterion_group!(benches, pcs);
criterion_main!(benches);
