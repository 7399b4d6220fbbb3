//! Sumcheck prover throughput: `Σ eq(w,x)·A(x)·B(x)` (product degree 2, round degree 3) and
//! `Σ eq(w,x)·A(x)·B(x)·C(x)` (product degree 3, round degree 4) over random field elements, plus
//! the degree-2 case on 16-bit integers (compact first round). Criterion reports time per proof;
//! divide by the entry count for ns per entry (throughput is set to the entry count).

use ark_std::UniformRand;
use atlas_prover::poly::MultilinearPoly;
use atlas_prover::sumcheck::{prove_sumcheck, ProductSumcheck};
use atlas_prover::verify::Term;
use atlas_prover::{Transcript, F};
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("sumcheck");
    g.sample_size(10);
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    for log in [16usize, 20, 22] {
        let n = 1usize << log;
        let w: Vec<F> = (0..log).map(|_| F::rand(&mut rng)).collect();
        let dense: Vec<MultilinearPoly> = (0..3)
            .map(|_| MultilinearPoly::Dense((0..n).map(|_| F::rand(&mut rng)).collect()))
            .collect();
        g.throughput(Throughput::Elements(n as u64));
        for factors in [2usize, 3] {
            let polys = dense[..factors].to_vec();
            let terms = vec![Term::product((0..factors).collect())];
            let claim = ProductSumcheck::sum(&polys, &terms, Some(&w)).expect("valid shape");
            g.bench_with_input(
                BenchmarkId::new(format!("eq_x_{factors}_dense"), log),
                &log,
                |b, _| {
                    b.iter_batched(
                        || {
                            ProductSumcheck::new(
                                polys.clone(),
                                terms.clone(),
                                Some(w.clone()),
                                claim,
                            )
                            .expect("valid shape")
                        },
                        |mut p| {
                            let mut t = Transcript::new(b"bench");
                            prove_sumcheck(&mut [&mut p], &mut t)
                        },
                        BatchSize::LargeInput,
                    )
                },
            );
        }
        if log <= 20 {
            let small: Vec<MultilinearPoly> = (0..2)
                .map(|_| {
                    MultilinearPoly::from_i32((0..n).map(|_| rng.gen::<i16>() as i32).collect())
                        .expect("power of two")
                })
                .collect();
            let terms = vec![Term::product(vec![0, 1])];
            let claim = ProductSumcheck::sum(&small, &terms, Some(&w)).expect("valid shape");
            g.bench_with_input(BenchmarkId::new("eq_x_2_i16", log), &log, |b, _| {
                b.iter_batched(
                    || {
                        ProductSumcheck::new(small.clone(), terms.clone(), Some(w.clone()), claim)
                            .expect("valid shape")
                    },
                    |mut p| {
                        let mut t = Transcript::new(b"bench");
                        prove_sumcheck(&mut [&mut p], &mut t)
                    },
                    BatchSize::LargeInput,
                )
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
