//! Lookup argument tests, over small tables defined here (the stdlib tables run through the same
//! argument in the integration tests).

use ark_ff::{Field, One, Zero};
use ark_std::UniformRand;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

use atlas_vm::{dense_mle, Combine, Decomposition, Domain, Subtable, Table, TableId, TableMle};

use super::*;
use crate::poly::MultilinearPoly;
use crate::sumcheck::{
    prove_sumcheck, prove_sumcheck_deferred, ProductSumcheck, SumOf, SumcheckInstance,
};
use crate::verify::lookup::{
    chunk_bit_weights, combine_claim, draw_chunk_challenges, field_value, pending_chunks,
    ChunkCheckProof, CombineClaim, LookupOutput, StackClaim,
};
use crate::verify::{
    verify_lookups, LookupError, LookupProof, LookupReadProof, LookupStatement, Term,
};

const DOMAIN: &[u8] = b"atlas/test/lookup";

/// Signed 8-bit ReLU in 4-bit chunks: chunk 0 holds the (offset-binary) sign bit and 3 value bits.
#[derive(Debug)]
struct Relu8;

impl Table for Relu8 {
    fn id(&self) -> TableId {
        TableId::new(200, [8, 0, 0])
    }
    fn name(&self) -> String {
        "test_relu_s8".into()
    }
    fn domain(&self) -> Domain {
        Domain::Signed { bits: 8 }
    }
    fn eval(&self, a: u64) -> i64 {
        (a as i64 - 128).max(0)
    }
    fn decomposition(&self) -> Decomposition {
        let sign = (0..16).map(|c| (c >> 3) & 1).collect();
        let low = (0..16).map(|c| c & 7).collect();
        let id = (0..16).collect();
        let (s, l, i) = (Combine::var(0), Combine::var(1), Combine::var(2));
        Decomposition {
            chunk_bits: 4,
            num_chunks: 2,
            subtables: vec![
                Subtable { name: "sign", chunk: 0, values: sign },
                Subtable { name: "low3", chunk: 0, values: low },
                Subtable { name: "id", chunk: 1, values: id },
            ],
            combine: 16 * (s.clone() * l) + s * i,
        }
    }
}

impl TableMle<F> for Relu8 {
    fn mle(&self, r: &[F]) -> F {
        dense_mle(&(0..256).map(|a| self.eval(a)).collect::<Vec<_>>(), r)
    }
}

/// Signed 8-bit `x + 3` in 4-bit chunks: a linear combine, so the argument sends its reads at the
/// output point instead of running the combine sumcheck.
#[derive(Debug)]
struct Shift8;

impl Table for Shift8 {
    fn id(&self) -> TableId {
        TableId::new(203, [8, 0, 0])
    }
    fn name(&self) -> String {
        "test_shift_s8".into()
    }
    fn domain(&self) -> Domain {
        Domain::Signed { bits: 8 }
    }
    fn eval(&self, a: u64) -> i64 {
        a as i64 - 125
    }
    fn decomposition(&self) -> Decomposition {
        let id = || (0..16).collect();
        Decomposition {
            chunk_bits: 4,
            num_chunks: 2,
            subtables: vec![
                Subtable { name: "id", chunk: 0, values: id() },
                Subtable { name: "id", chunk: 1, values: id() },
            ],
            combine: 16 * Combine::var(0) + Combine::var(1) - Combine::constant(125),
        }
    }
}

impl TableMle<F> for Shift8 {
    fn mle(&self, r: &[F]) -> F {
        dense_mle(&(0..256).map(|a| self.eval(a)).collect::<Vec<_>>(), r)
    }
}

/// Unsigned 4-bit less-than over interleaved operands, two chunks of 4 bits.
#[derive(Debug)]
struct Lt4;

impl Table for Lt4 {
    fn id(&self) -> TableId {
        TableId::new(201, [4, 0, 0])
    }
    fn name(&self) -> String {
        "test_lt_u4".into()
    }
    fn domain(&self) -> Domain {
        Domain::Pair { bits: 4, signed: false }
    }
    fn eval(&self, a: u64) -> i64 {
        let ops = self.domain().decode(a);
        i64::from(ops[0] < ops[1])
    }
    fn decomposition(&self) -> Decomposition {
        let split = |c: i64| {
            let (x, y) = atlas_vm::table::deinterleave(c as u64, 2);
            (x, y)
        };
        let lt: Vec<i64> = (0..16).map(|c| i64::from(split(c).0 < split(c).1)).collect();
        let eq: Vec<i64> = (0..16).map(|c| i64::from(split(c).0 == split(c).1)).collect();
        Decomposition {
            chunk_bits: 4,
            num_chunks: 2,
            subtables: vec![
                Subtable { name: "lt", chunk: 0, values: lt.clone() },
                Subtable { name: "eq", chunk: 0, values: eq },
                Subtable { name: "lt", chunk: 1, values: lt },
            ],
            combine: Combine::var(0) + Combine::var(1) * Combine::var(2),
        }
    }
}

impl TableMle<F> for Lt4 {
    fn mle(&self, r: &[F]) -> F {
        dense_mle(&(0..256).map(|a| self.eval(a)).collect::<Vec<_>>(), r)
    }
}

/// A dense 6-bit signed table (one chunk) with a constant term in its combine: `x² − 7`.
#[derive(Debug)]
struct Square6;

impl Table for Square6 {
    fn id(&self) -> TableId {
        TableId::new(202, [6, 0, 0])
    }
    fn name(&self) -> String {
        "test_square_s6".into()
    }
    fn domain(&self) -> Domain {
        Domain::Signed { bits: 6 }
    }
    fn eval(&self, a: u64) -> i64 {
        let x = a as i64 - 32;
        x * x - 7
    }
    fn decomposition(&self) -> Decomposition {
        Decomposition {
            chunk_bits: 6,
            num_chunks: 1,
            subtables: vec![Subtable {
                name: "square",
                chunk: 0,
                values: (0..64).map(|a| self.eval(a) + 7).collect(),
            }],
            combine: Combine::var(0) - Combine::constant(7),
        }
    }
}

impl TableMle<F> for Square6 {
    fn mle(&self, r: &[F]) -> F {
        dense_mle(&(0..64).map(|a| self.eval(a)).collect::<Vec<_>>(), r)
    }
}

/// A dense signed 10-bit table (`x³ mod 1009`, zero on whole rows) in the row form: two 5-bit
/// chunks, one read of each left by its combine.
#[derive(Debug)]
struct Cube10;

impl Table for Cube10 {
    fn id(&self) -> TableId {
        TableId::new(204, [10, 0, 0])
    }
    fn name(&self) -> String {
        "test_cube_s10".into()
    }
    fn domain(&self) -> Domain {
        Domain::Signed { bits: 10 }
    }
    fn eval(&self, a: u64) -> i64 {
        // Rows 4..8 (addresses 128..256) are all zero: the decomposition leaves them out.
        if (128..256).contains(&a) {
            return 0;
        }
        let x = a as i64 - 512;
        (x * x * x).rem_euclid(1009) - 500
    }
    fn decomposition(&self) -> Decomposition {
        Decomposition::dense(&(0..1024).map(|a| self.eval(a)).collect::<Vec<_>>(), 10)
    }
}

impl TableMle<F> for Cube10 {
    fn mle(&self, r: &[F]) -> F {
        dense_mle(&(0..1024).map(|a| self.eval(a)).collect::<Vec<_>>(), r)
    }
}

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

fn random_operands(table: &dyn Table, n: usize, rng: &mut ChaCha20Rng) -> Vec<Vec<i64>> {
    let (lo, hi) = table.domain().operand_range();
    (0..table.domain().arity()).map(|_| (0..n).map(|_| rng.gen_range(lo..=hi)).collect()).collect()
}

/// A claim on the outputs at a random point, as the caller of the argument would make it.
fn output_claim(w: &LookupWitness<'_>, rng: &mut ChaCha20Rng) -> (Vec<F>, F) {
    let point: Vec<F> = (0..w.num_vars()).map(|_| F::rand(rng)).collect();
    let value = MultilinearPoly::I64(w.outputs()).evaluate(&point);
    (point, value)
}

fn verify_one(
    table: &dyn TableMle<F>,
    num_vars: usize,
    claim: &(Vec<F>, F),
    proof: &LookupProof,
) -> Result<Vec<LookupOutput>, LookupError> {
    let mut t = Transcript::new(DOMAIN);
    let st =
        LookupStatement { table, num_vars, output_point: claim.0.clone(), output_value: claim.1 };
    verify_lookups(&[st], proof, &mut t).map(|(outs, _)| outs)
}

/// Proves and verifies, then checks every claim the argument leaves behind against the witness.
fn round_trip(table: &dyn TableMle<F>, operands: Vec<Vec<i64>>, seed: u64) {
    let mut r = rng(seed);
    let w = LookupWitness::from_operands(table, &operands).unwrap();
    let claim = output_claim(&w, &mut r);
    let mut t = Transcript::new(DOMAIN);
    let (proof, out) = prove_lookups(&[w], std::slice::from_ref(&claim), &mut t);
    let w = LookupWitness::from_operands(table, &operands).unwrap();
    let verified = verify_one(table, w.num_vars(), &claim, &proof).unwrap();
    assert_eq!(verified, out.outputs);
    let o = &verified[0];
    for (k, v) in o.operand_values.iter().enumerate() {
        assert_eq!(*v, MultilinearPoly::I64(w.operand(k)).evaluate(&o.operand_point));
    }
    // The chunk opening is the weighted sum of the chunks' evaluations at its point.
    let mut tv = Transcript::new(DOMAIN);
    let st = LookupStatement {
        table,
        num_vars: w.num_vars(),
        output_point: claim.0.clone(),
        output_value: claim.1,
    };
    let (_, opening) = verify_lookups(&[st], &proof, &mut tv).unwrap();
    assert_eq!(opening, out.opening);
    let t_vars = w.num_vars();
    let (rho_j, rho_k) = opening.point.split_at(t_vars);
    let mut combined = F::zero();
    for (c, wc) in opening.weights[0].iter().enumerate() {
        // ra_c as a (j, k) table, evaluated directly.
        let kk = 1usize << w.decomposition().chunk_bits;
        let mut m = vec![0u8; w.addresses().len() * kk];
        for (j, &idx) in w.chunk_indices(c).iter().enumerate() {
            m[j * kk + idx] = 1;
        }
        let v = MultilinearPoly::U8(m).evaluate(&opening.point);
        combined += *wc * v;
        // The folded column is ra_c(·, ρ_k), which the caller opens at ρ_j.
        let folded = MultilinearPoly::Dense(out.folded[0][c].clone());
        assert_eq!(folded.evaluate(rho_j), v);
        let cols = w.one_hot_columns(c);
        let eq_k = eq_evals(rho_k);
        let recomposed: F = cols
            .iter()
            .zip(&eq_k)
            .map(|(col, e)| *e * MultilinearPoly::U8(col.clone()).evaluate(rho_j))
            .sum();
        assert_eq!(recomposed, v, "column commitments fold to the chunk claim");
    }
    assert_eq!(combined, opening.value, "the opening is the chunks' weighted sum");
}

#[test]
fn completeness_for_each_table_and_query_count() {
    let tables: [&dyn TableMle<F>; 5] = [&Relu8, &Lt4, &Square6, &Shift8, &Cube10];
    let mut r = rng(1);
    for (i, table) in tables.into_iter().enumerate() {
        for n in [1usize, 2, 3, 17, 256, 1000] {
            round_trip(table, random_operands(table, n, &mut r), 100 * i as u64 + n as u64);
        }
    }
}

#[test]
fn completeness_for_degenerate_address_patterns() {
    // Every query at one entry, and every entry hit (the exhaustive 256 addresses).
    round_trip(&Relu8, vec![vec![-5; 64]], 1);
    round_trip(&Relu8, vec![(-128..128).collect()], 2);
    round_trip(
        &Lt4,
        vec![(0..256).map(|a| a % 16).collect(), (0..256).map(|a| a / 16).collect()],
        3,
    );
}

#[test]
fn completeness_at_2_16_queries() {
    let mut r = rng(4);
    round_trip(&Relu8, random_operands(&Relu8, 1 << 16, &mut r), 5);
}

#[test]
fn batches_instances_of_different_tables_and_sizes() {
    let mut r = rng(6);
    let ops = [
        random_operands(&Relu8, 100, &mut r),
        random_operands(&Lt4, 7, &mut r),
        random_operands(&Square6, 33, &mut r),
        random_operands(&Cube10, 20, &mut r),
        random_operands(&Shift8, 9, &mut r),
    ];
    // Product combines, a row-form combine (more rounds) and a linear one, in one batch.
    let tables: [&dyn TableMle<F>; 5] = [&Relu8, &Lt4, &Square6, &Cube10, &Shift8];
    let ws: Vec<LookupWitness<'_>> = tables
        .iter()
        .zip(&ops)
        .map(|(t, o)| LookupWitness::from_operands(*t, o).unwrap())
        .collect();
    let claims: Vec<_> = ws.iter().map(|w| output_claim(w, &mut r)).collect();
    let mut t = Transcript::new(DOMAIN);
    let (proof, out) = prove_lookups(&ws, &claims, &mut t);
    let sts: Vec<LookupStatement<'_>> = tables
        .iter()
        .zip(&ws)
        .zip(&claims)
        .map(|((table, w), c)| LookupStatement {
            table: *table,
            num_vars: w.num_vars(),
            output_point: c.0.clone(),
            output_value: c.1,
        })
        .collect();
    let mut tv = Transcript::new(DOMAIN);
    let (verified, opening) = verify_lookups(&sts, &proof, &mut tv).unwrap();
    assert_eq!(verified, out.outputs);
    assert_eq!(opening, out.opening);
    assert_eq!(t.state(), tv.state());
    let bytes = proof.to_bytes();
    assert_eq!(LookupProof::from_bytes(&bytes).unwrap(), proof);
}

#[test]
fn out_of_domain_operands_are_refused_by_the_witness() {
    assert!(matches!(
        LookupWitness::from_operands(&Relu8, &[vec![1, 128]]),
        Err(atlas_vm::TableError::OutOfDomain { value: 128, min: -128, max: 127 })
    ));
    assert!(LookupWitness::from_addresses(&Relu8, vec![256]).is_err());
    assert!(matches!(
        LookupWitness::from_operands(&Lt4, &[vec![1, 2, 3], vec![1, 2]]),
        Err(atlas_vm::TableError::OperandLength { operand: 1, expected: 3, got: 2 })
    ));
}

// ---------------------------------------------------------------------------------------------
// Soundness: one attack per test.

/// Operands, output claim, proof and `log2` query count of an honest ReLU lookup.
type Honest = (Vec<Vec<i64>>, (Vec<F>, F), LookupProof, usize);

fn honest() -> Honest {
    let mut r = rng(9);
    let ops = random_operands(&Relu8, 40, &mut r);
    let w = LookupWitness::from_operands(&Relu8, &ops).unwrap();
    let claim = output_claim(&w, &mut r);
    let mut t = Transcript::new(DOMAIN);
    let (proof, _) = prove_lookups(&[w], std::slice::from_ref(&claim), &mut t);
    (ops, claim, proof, 6)
}

/// Invariant: the outputs are the table's values at the committed addresses.
/// Mutation: claim an output value off by one (the prover proves the false claim as if true).
#[test]
fn rejects_wrong_output_value() {
    let (ops, mut claim, _, n) = honest();
    claim.1 += F::one();
    let w = LookupWitness::from_operands(&Relu8, &ops).unwrap();
    let mut t = Transcript::new(DOMAIN);
    let (proof, _) = prove_lookups(&[w], std::slice::from_ref(&claim), &mut t);
    assert!(verify_one(&Relu8, n, &claim, &proof).is_err());
}

/// Invariant: a proof is about the table the statement names.
/// Mutation: check a ReLU proof as a proof for another table of the same address width.
#[test]
fn rejects_output_claim_for_a_different_table() {
    #[derive(Debug)]
    struct Neg8;
    impl Table for Neg8 {
        fn id(&self) -> TableId {
            TableId::new(203, [8, 0, 0])
        }
        fn name(&self) -> String {
            "test_min0_s8".into()
        }
        fn domain(&self) -> Domain {
            Domain::Signed { bits: 8 }
        }
        fn eval(&self, a: u64) -> i64 {
            (a as i64 - 128).min(0)
        }
        fn decomposition(&self) -> Decomposition {
            let mut d = Relu8.decomposition();
            // min(x, 0) = x − relu(x) = 16·c0 + c1 − 128 − relu(x)
            d.subtables.push(Subtable { name: "id", chunk: 0, values: (0..16).collect() });
            d.combine = 16 * Combine::var(3) + Combine::var(2) - Combine::constant(128) - d.combine;
            d
        }
    }
    impl TableMle<F> for Neg8 {
        fn mle(&self, r: &[F]) -> F {
            dense_mle(&(0..256).map(|a| self.eval(a)).collect::<Vec<_>>(), r)
        }
    }
    let (_, claim, proof, n) = honest();
    assert!(verify_one(&Relu8, n, &claim, &proof).is_ok());
    assert!(verify_one(&Neg8, n, &claim, &proof).is_err());
}

/// Invariant: the operand claims are tied to the committed addresses.
/// Mutation: shift the operand claim (as a prover would to move an operand out of range).
#[test]
fn rejects_tampered_operand_claim() {
    let (_, claim, mut proof, n) = honest();
    proof.reads.operand_claims[0][0] += F::from(16u64);
    assert!(matches!(
        verify_one(&Relu8, n, &claim, &proof),
        Err(LookupError::Chunks(_) | LookupError::Stack(_))
    ));
}

/// Invariant: the subtable reads of stage 1 are the ones stage 2 checks.
/// Mutation: change one final evaluation of the combine sumcheck.
#[test]
fn rejects_tampered_subtable_read() {
    let (_, claim, mut proof, n) = honest();
    proof.reads.combine.final_evals[0][1] += F::one();
    assert!(verify_one(&Relu8, n, &claim, &proof).is_err());
}

/// An honest `Shift8` lookup (linear combine: no combine sumcheck, no reads).
fn honest_linear() -> Honest {
    let mut r = rng(10);
    let ops = random_operands(&Shift8, 40, &mut r);
    let w = LookupWitness::from_operands(&Shift8, &ops).unwrap();
    let claim = output_claim(&w, &mut r);
    let mut t = Transcript::new(DOMAIN);
    let (proof, _) = prove_lookups(&[w], std::slice::from_ref(&claim), &mut t);
    assert!(proof.reads.combine.rounds.is_empty(), "a linear combine runs no sumcheck");
    (ops, claim, proof, 6)
}

/// Invariant: a linear lookup's output claim is checked against the chunks' reads.
/// Mutation: claim an output one off (nothing is sent for the reads, so only the chunk checks see
/// it).
#[test]
fn rejects_a_linear_output_claim_that_misses_the_reads() {
    let (_, (point, value), proof, n) = honest_linear();
    assert!(verify_one(&Shift8, n, &(point.clone(), value), &proof).is_ok());
    let wrong = (point, value + F::one());
    assert!(matches!(
        verify_one(&Shift8, n, &wrong, &proof),
        Err(LookupError::Chunks(_) | LookupError::Stack(_))
    ));
}

/// Invariant: a linear lookup sends no combine: no rounds, no reads.
/// Mutation: attach reads, then the rounds of another proof's combine sumcheck.
#[test]
fn rejects_a_combine_on_a_linear_lookup() {
    let (_, claim, proof, n) = honest_linear();
    let mut with_reads = proof.clone();
    with_reads.reads.combine.final_evals = vec![vec![F::one(), F::one()]];
    assert!(matches!(
        verify_one(&Shift8, n, &claim, &with_reads),
        Err(LookupError::LinearShape { .. })
    ));
    let mut with_rounds = proof;
    with_rounds.reads.combine.rounds = honest().2.reads.combine.rounds;
    assert!(matches!(
        verify_one(&Shift8, n, &claim, &with_rounds),
        Err(LookupError::LinearShape { .. })
    ));
}

/// An honest `Cube10` lookup (row form: its combine leaves one read per chunk).
fn honest_rows() -> Honest {
    let mut r = rng(11);
    let ops = random_operands(&Cube10, 40, &mut r);
    let w = LookupWitness::from_operands(&Cube10, &ops).unwrap();
    let claim = output_claim(&w, &mut r);
    let mut t = Transcript::new(DOMAIN);
    let (proof, _) = prove_lookups(&[w], std::slice::from_ref(&claim), &mut t);
    assert_eq!(proof.reads.combine.final_evals[0].len(), 2, "one read per chunk");
    assert_eq!(proof.reads.combine.rounds.len(), 6 + 5, "query rounds, then row rounds");
    (ops, claim, proof, 6)
}

/// Invariant: a row-form table's two reads are the row chunk at `(r1, ρ_h)` and the low chunk
/// read through `T(ρ_h, ·)`. Mutation: scale one read and divide the other, so the combine's
/// final check still holds; the chunk checks must fail.
#[test]
fn rejects_row_reads_that_disagree_with_the_chunks() {
    let (_, claim, mut proof, n) = honest_rows();
    assert!(verify_one(&Cube10, n, &claim, &proof).is_ok());
    let two = F::from(2u64);
    let e = &mut proof.reads.combine.final_evals[0];
    e[0] *= two;
    e[1] *= two.inverse().unwrap();
    assert!(matches!(
        verify_one(&Cube10, n, &claim, &proof),
        Err(LookupError::Chunks(_) | LookupError::Stack(_))
    ));
}

/// Invariant: the row combine's reads multiply to its last round's claim.
/// Mutation: change the row read alone.
#[test]
fn rejects_a_row_read_off_by_one() {
    let (_, claim, mut proof, n) = honest_rows();
    proof.reads.combine.final_evals[0][1] += F::one();
    assert!(matches!(verify_one(&Cube10, n, &claim, &proof), Err(LookupError::CombineBatch(_))));
}

/// A prover that commits to an arbitrary `T × K` matrix `M` per chunk instead of one-hot rows and
/// runs the whole argument honestly with respect to it (stage-2 sums computed densely). With
/// one-hot matrices its proofs verify; otherwise booleanity or the Hamming weight must fail.
fn prove_with_matrices(
    table: &dyn TableMle<F>,
    t_vars: usize,
    matrices: &[Vec<F>],
    point: &[F],
    transcript: &mut Transcript,
) -> (LookupProof, F) {
    let d = table.decomposition();
    let kk = 1usize << d.chunk_bits;
    let rows = 1usize << t_vars;
    // Virtual subtable reads from M: E_s(j) = Σ_k M_c(j, k) Sub_s(k).
    let reads: Vec<Vec<F>> = d
        .subtables
        .iter()
        .map(|s| {
            (0..rows)
                .map(|j| {
                    (0..kk)
                        .map(|k| {
                            matrices[s.chunk][j * kk + k] * crate::field::from_i64(s.values[k])
                        })
                        .sum()
                })
                .collect()
        })
        .collect();
    let eq_p = eq_evals(point);
    let value: F = (0..rows)
        .map(|j| {
            let vals: Vec<F> = reads.iter().map(|e| e[j]).collect();
            let g: F = d
                .combine
                .terms()
                .map(|(c, f)| {
                    crate::field::from_i128(c) * f.iter().map(|&i| vals[i]).product::<F>()
                })
                .sum::<F>()
                + crate::field::from_i128(d.combine.constant_term());
            eq_p[j] * g
        })
        .sum();
    let cc = combine_claim(&d, t_vars, point.to_vec(), value);
    let mut stage1 = ProductSumcheck::new(
        reads.into_iter().map(MultilinearPoly::Dense).collect(),
        cc.terms,
        Some(point.to_vec()),
        cc.claim,
    )
    .unwrap();
    let (combine, out1) = prove_sumcheck(&mut [&mut stage1], transcript);
    let r1 = out1.point.clone();
    let eq_r1 = eq_evals(&r1);
    // Operand claims from the matrices: the address field summed over the chunks, offset undone.
    let domain = table.domain();
    let weights = chunk_bit_weights(&domain, &d);
    let offset = crate::field::from_i64(domain.offset());
    let operands: Vec<F> = (0..domain.arity())
        .map(|o| {
            let field: F = (0..d.num_chunks)
                .map(|c| {
                    (0..rows * kk)
                        .map(|x| {
                            eq_r1[x / kk]
                                * matrices[c][x]
                                * F::from(field_value(&weights[c][o], x % kk))
                        })
                        .sum::<F>()
                })
                .sum();
            field - offset
        })
        .collect();
    transcript.append_scalars("lookup_operand_claims", &operands);
    let at = CombineClaim::new(&d, t_vars, point.to_vec(), value)
        .reads_at(&out1.point, out1.final_evals[0].clone());
    let pending = pending_chunks(&d, &domain, &at, &operands);
    let ch = draw_chunk_challenges(transcript, t_vars + d.chunk_bits as usize);
    let eq_z = eq_evals(&ch.z);
    struct Dense(ProductSumcheck);
    impl SumcheckInstance for Dense {
        fn num_rounds(&self) -> usize {
            self.0.num_rounds()
        }
        fn degree(&self) -> usize {
            3
        }
        fn input_claim(&self) -> F {
            self.0.input_claim()
        }
        fn round_poly(&mut self, c: F) -> crate::poly::UniPoly {
            let mut p = self.0.round_poly(c);
            p.coeffs.resize(4, F::zero());
            p
        }
        fn bind(&mut self, r: F) {
            self.0.bind(r)
        }
        fn final_evals(&self) -> Vec<F> {
            self.0.final_evals()[..1].to_vec()
        }
    }
    // Each chunk's part claims its read sum against `W_c` and a zero booleanity sum, as an honest
    // prover's would: a matrix that is not one-hot makes the total wrong.
    let mut beta = ch.beta;
    let parts: Vec<Dense> = (0..d.num_chunks)
        .map(|c| {
            let w = pending.w_table(c, ch.gamma);
            let e1: Vec<F> = (0..rows * kk).map(|x| eq_r1[x / kk] * w[x % kk]).collect();
            let claim: F = matrices[c].iter().zip(&e1).map(|(m, e)| *m * e).sum();
            let z: Vec<F> = eq_z.iter().map(|e| beta * e).collect();
            beta *= ch.beta;
            let polys = vec![
                MultilinearPoly::Dense(matrices[c].clone()),
                MultilinearPoly::Dense(e1),
                MultilinearPoly::Dense(z),
            ];
            let terms = vec![
                Term::product(vec![0, 1]),
                Term::product(vec![2, 0, 0]),
                Term::new(-F::one(), vec![2, 0]),
            ];
            Dense(ProductSumcheck::new(polys, terms, None, claim).unwrap())
        })
        .collect();
    let mut check = SumOf::new(parts);
    let (sites, out, _) = prove_sumcheck_deferred(&mut [&mut check], transcript);
    let stack = StackClaim::new(&[&pending], &ch, &out.point, F::one(), F::zero());
    let (stack_proof, _) = super::prove_stack(stack, out.final_evals[0].clone(), transcript);
    let chunks = ChunkCheckProof { sites, stack: stack_proof };
    (
        LookupProof { reads: LookupReadProof { combine, operand_claims: vec![operands] }, chunks },
        value,
    )
}

fn one_hot_matrices(table: &dyn TableMle<F>, addresses: &[u64]) -> Vec<Vec<F>> {
    let d = table.decomposition();
    let kk = 1usize << d.chunk_bits;
    (0..d.num_chunks)
        .map(|c| {
            let mut m = vec![F::zero(); addresses.len() * kk];
            for (j, &a) in addresses.iter().enumerate() {
                m[j * kk + d.chunk(a, c) as usize] = F::one();
            }
            m
        })
        .collect()
}

fn run_matrix_attack(mutate: impl Fn(&mut Vec<Vec<F>>)) -> (bool, bool) {
    let mut r = rng(11);
    let addresses: Vec<u64> = (0..16).map(|_| r.gen_range(0..256)).collect();
    let point: Vec<F> = (0..4).map(|_| F::rand(&mut r)).collect();
    let mut ms = one_hot_matrices(&Relu8, &addresses);
    let check = |ms: &[Vec<F>]| {
        let mut t = Transcript::new(DOMAIN);
        let (proof, value) = prove_with_matrices(&Relu8, 4, ms, &point, &mut t);
        verify_one(&Relu8, 4, &(point.clone(), value), &proof).is_ok()
    };
    let honest_ok = check(&ms);
    mutate(&mut ms);
    (honest_ok, check(&ms))
}

/// Invariant: each row of an address chunk has exactly one 1 (Hamming weight).
/// Mutation: a second 1 in row 3 of chunk 0.
#[test]
fn rejects_address_chunk_with_two_ones() {
    let (honest_ok, attacked) = run_matrix_attack(|ms| {
        let row = &mut ms[0][3 * 16..4 * 16];
        let free = row.iter().position(|v| v.is_zero()).unwrap();
        row[free] = F::one();
    });
    assert!(honest_ok, "sanity: the dense prover is complete on one-hot matrices");
    assert!(!attacked);
}

/// Invariant: each row of an address chunk has exactly one 1 (Hamming weight).
/// Mutation: clear row 5 of chunk 1.
#[test]
fn rejects_address_chunk_with_no_one() {
    let (honest_ok, attacked) = run_matrix_attack(|ms| {
        ms[1][5 * 16..6 * 16].iter_mut().for_each(|v| *v = F::zero());
    });
    assert!(honest_ok);
    assert!(!attacked);
}

/// Invariant: address chunks are boolean.
/// Mutation: a row of chunk 0 holds 2 at its address and −1 elsewhere (Hamming weight still 1).
#[test]
fn rejects_non_boolean_address_chunk() {
    let (honest_ok, attacked) = run_matrix_attack(|ms| {
        let row = &mut ms[0][7 * 16..8 * 16];
        let hot = row.iter().position(|v| v.is_one()).unwrap();
        row[hot] = F::from(2u64);
        row[(hot + 1) % 16] = -F::one();
    });
    assert!(honest_ok);
    assert!(!attacked);
}

#[test]
fn table_mles_of_the_test_tables_agree_with_eval() {
    // Guards the test tables themselves: their decompositions reproduce eval everywhere.
    let tables: [&dyn TableMle<F>; 3] = [&Relu8, &Lt4, &Square6];
    for t in tables {
        let d = t.decomposition();
        let bits = t.domain().address_bits();
        for a in 0..1u64 << bits {
            assert_eq!(d.eval(a), t.eval(a) as i128, "{} at {a}", t.name());
        }
    }
}
