//! One eq·A·B sumcheck proof over 2^16 random field elements (or 16-bit integers: `16 i16`): a fixed workload for instruction
//! counting (`valgrind --tool=callgrind`), which is repeatable whatever else the machine runs.

use ark_std::UniformRand;
use atlas_prover::poly::MultilinearPoly;
use atlas_prover::sumcheck::{prove_sumcheck, ProductSumcheck};
use atlas_prover::verify::Term;
use atlas_prover::{Transcript, F};
use rand::SeedableRng;

fn main() {
    let log: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(16);
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    let w: Vec<F> = (0..log).map(|_| F::rand(&mut rng)).collect();
    let small = std::env::args().nth(2).is_some_and(|a| a == "i16");
    let polys: Vec<MultilinearPoly> = (0..2)
        .map(|_| {
            if small {
                let v =
                    (0..1usize << log).map(|_| rand::Rng::gen::<i16>(&mut rng) as i32).collect();
                MultilinearPoly::from_i32(v).expect("power of two")
            } else {
                MultilinearPoly::Dense((0..1usize << log).map(|_| F::rand(&mut rng)).collect())
            }
        })
        .collect();
    let terms = vec![Term::product(vec![0, 1])];
    let claim = ProductSumcheck::sum(&polys, &terms, Some(&w)).expect("valid shape");
    let mut p = ProductSumcheck::new(polys, terms, Some(w), claim).expect("valid shape");
    if std::env::var_os("SKIP_PROVE").is_some() {
        return; // baseline for instruction counts: setup only
    }
    let mut t = Transcript::new(b"example");
    let (proof, _) = prove_sumcheck(&mut [&mut p], &mut t);
    println!("{} rounds", proof.rounds.len());
}
