//! The shared table battery (DESIGN.md §4): every table kind in the registry passes it, at 8-bit
//! address width exhaustively and at full width on random addresses.
//!
//! [`check_table`] runs every check that applies to a table's width; the test at the bottom runs it
//! on every registry example, and `dense.rs`-style tables call it directly.

use ark_bn254::Fr;
use ark_ff::{One, UniformRand, Zero};
use atlas_vm::{dense_mle, field_from_i64, Domain, TableError, TableMle};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

/// Largest address width checked exhaustively (every address; the MLE against the dense MLE).
const EXHAUSTIVE_BITS: u32 = 10;
/// Largest width at which multi-chunk tables (cheap MLEs) are still checked at every address, so
/// the cross-chunk logic of the decompositions is covered exhaustively at 2 chunks of 8 bits.
const EXHAUSTIVE_CHUNKED_BITS: u32 = 16;
/// Random addresses per table at full width.
const SAMPLES: usize = 2000;
/// Random addresses for a wide one-chunk (dense) table, whose MLE costs `O(2^16)` per evaluation.
const DENSE_SAMPLES: usize = 200;

/// Runs every battery check that applies to `t`'s width; panics naming the table and the address
/// on the first disagreement.
pub(crate) fn check_table(t: &dyn TableMle<Fr>) {
    let name = t.name();
    let mut rng = ChaCha20Rng::seed_from_u64(0x7ab1e ^ u64::from(t.id().0));
    let n = t.domain().address_bits();
    check_decomposition_shape(t);
    let dec = t.decomposition();
    // A dense table split into rows (`Decomposition::dense`) has hundreds of subtables and a
    // linear-time MLE: beyond 12 bits it is sampled like an unsplit dense table.
    let rows = dec.subtables.iter().any(|s| s.name == "row");
    let chunked = dec.num_chunks > 1 && !(rows && n > 12);
    let addresses: Vec<u64> = if n <= EXHAUSTIVE_BITS || (chunked && n <= EXHAUSTIVE_CHUNKED_BITS) {
        (0..1u64 << n).collect()
    } else {
        sample_addresses(n, if chunked { SAMPLES } else { DENSE_SAMPLES }, &mut rng)
    };
    for &a in &addresses {
        let v = t.eval(a);
        assert_eq!(dec.eval(a), i128::from(v), "{name}: decomposition at address {a:#x}");
        assert_eq!(t.mle(&bits(a, n)), field_from_i64::<Fr>(v), "{name}: MLE at address {a:#x}");
        let ops = t.domain().decode(a);
        assert_eq!(t.domain().encode(&ops), Ok(a), "{name}: encode(decode({a:#x}))");
    }
    if n <= EXHAUSTIVE_BITS {
        check_mle_is_dense_mle(t, &mut rng);
    }
    check_multilinear_in_each_variable(t, &mut rng);
    // The reference is cheap (no MLE): every address up to 16 bits, the samples beyond.
    if n <= EXHAUSTIVE_CHUNKED_BITS {
        check_reference(t, &(0..1u64 << n).collect::<Vec<_>>());
    } else {
        check_reference(t, &addresses);
    }
    check_out_of_domain(t.domain(), &name);
}

/// `count` random addresses plus the edges: 0, the largest, and both sides of the sign boundary.
fn sample_addresses(n: u32, count: usize, rng: &mut ChaCha20Rng) -> Vec<u64> {
    let max = if n == 64 { u64::MAX } else { (1u64 << n) - 1 };
    let half = 1u64 << (n - 1);
    let mut out = vec![0, max, half, half - 1];
    out.extend((0..count).map(|_| rng.gen::<u64>() & max));
    out
}

/// The address's bits as field elements, MSB-first.
fn bits(a: u64, n: u32) -> Vec<Fr> {
    (0..n).rev().map(|i| if (a >> i) & 1 == 1 { Fr::one() } else { Fr::zero() }).collect()
}

/// Chunks tile the address; every subtable has `2^chunk_bits` entries, names an existing chunk,
/// and its MLE matches its entries on the hypercube; `g` reads only existing subtables.
fn check_decomposition_shape(t: &dyn TableMle<Fr>) {
    let name = t.name();
    let dec = t.decomposition();
    assert!(dec.num_chunks >= 1, "{name}: no chunks");
    assert_eq!(
        dec.chunk_bits as usize * dec.num_chunks,
        t.domain().address_bits() as usize,
        "{name}: chunks do not tile the address"
    );
    assert!(!dec.subtables.is_empty(), "{name}: no subtables");
    for s in &dec.subtables {
        assert!(s.chunk < dec.num_chunks, "{name}/{}: chunk {} out of range", s.name, s.chunk);
        assert_eq!(s.values.len(), 1 << dec.chunk_bits, "{name}/{}: entry count", s.name);
        // Read through the MLE at boolean points (the verifier evaluates subtables so): every
        // entry of a small subtable, a stride of a one-chunk 2^16 one (each read is O(2^16)).
        let stride = if dec.chunk_bits <= EXHAUSTIVE_BITS { 1 } else { 997 };
        for (v, &e) in s.values.iter().enumerate().step_by(stride) {
            let r = bits(v as u64, dec.chunk_bits);
            assert_eq!(dense_mle::<Fr>(&s.values, &r), field_from_i64(e), "{name}/{}", s.name);
        }
    }
    let mut read = vec![false; dec.subtables.len()];
    for (_, factors) in dec.combine.terms() {
        for &f in factors {
            assert!(f < dec.subtables.len(), "{name}: g reads subtable {f}, which does not exist");
            read[f] = true;
        }
    }
    // An unread subtable is not wrong, but the prover would pay to read it for nothing.
    for (s, read) in dec.subtables.iter().zip(read) {
        assert!(read, "{name}: g never reads subtable {}@{}", s.name, s.chunk);
    }
}

/// At a random non-boolean point the closed-form MLE equals the MLE of the exhaustive table:
/// catches closed forms that agree on the hypercube but are not multilinear.
fn check_mle_is_dense_mle(t: &dyn TableMle<Fr>, rng: &mut ChaCha20Rng) {
    let n = t.domain().address_bits();
    let table: Vec<i64> = (0..1u64 << n).map(|a| t.eval(a)).collect();
    for _ in 0..4 {
        let r: Vec<Fr> = (0..n).map(|_| Fr::rand(rng)).collect();
        assert_eq!(t.mle(&r), dense_mle(&table, &r), "{}: MLE is not the table's MLE", t.name());
    }
}

/// At full width: along every coordinate line through a random point the MLE is affine
/// (`f(.., t, ..) = (1−t)·f(.., 0, ..) + t·f(.., 1, ..)`). With agreement on the hypercube this
/// makes it the unique multilinear extension.
fn check_multilinear_in_each_variable(t: &dyn TableMle<Fr>, rng: &mut ChaCha20Rng) {
    let n = t.domain().address_bits() as usize;
    let mut r: Vec<Fr> = (0..n).map(|_| Fr::rand(rng)).collect();
    for i in 0..n {
        let s = Fr::rand(rng);
        let saved = r[i];
        let mut at = |x: Fr| {
            r[i] = x;
            t.mle(&r)
        };
        let (f0, f1, fs) = (at(Fr::zero()), at(Fr::one()), at(s));
        assert_eq!(fs, f0 + s * (f1 - f0), "{}: MLE is not affine in variable {i}", t.name());
        r[i] = saved;
    }
}

/// For approximations, `|eval − reference| ≤ tolerance` at every checked address. Returns the
/// largest error met (0 for exact tables).
pub(crate) fn check_reference(t: &dyn TableMle<Fr>, addresses: &[u64]) -> f64 {
    let Some(reference) = t.reference() else { return 0.0 };
    let mut worst = 0f64;
    for &a in addresses {
        let ops = t.domain().decode(a);
        let want = reference.expected(&ops);
        let got = t.eval(a) as f64;
        assert!(
            (got - want).abs() <= reference.tolerance,
            "{}: at {ops:?} the table gives {got}, the reference {want} (tolerance {})",
            t.name(),
            reference.tolerance
        );
        worst = worst.max((got - want).abs());
    }
    worst
}

/// Operands one past either end of the domain, and the wrong arity, are refused.
fn check_out_of_domain(domain: Domain, name: &str) {
    let (min, max) = domain.operand_range();
    for bad in [min - 1, max + 1] {
        let mut ops = vec![min; domain.arity()];
        let last = ops.len() - 1;
        ops[last] = bad;
        assert_eq!(
            domain.encode(&ops),
            Err(TableError::OutOfDomain { value: bad, min, max }),
            "{name}: operand {bad}"
        );
    }
    let wrong = vec![0; domain.arity() + 1];
    assert_eq!(
        domain.encode(&wrong),
        Err(TableError::Arity { expected: domain.arity(), got: domain.arity() + 1 }),
        "{name}: arity"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::kinds;
    use crate::tables::DenseTable;
    use atlas_vm::{Reference, Table};

    #[test]
    fn every_registered_kind_passes() {
        let mut checked = Vec::new();
        for k in kinds::<Fr>() {
            for &p in k.examples {
                let t = (k.make)(p).unwrap();
                check_table(t.as_ref());
                checked.push(t.name());
            }
        }
        // The brief's named instances are among them.
        for want in ["range8", "relu_s8", "relu_s32", "clamp_s8_s4", "clamp_s32_s8", "lt_s32"] {
            assert!(checked.iter().any(|c| c == want), "{want} not checked: {checked:?}");
        }
        for want in ["shr_s8_3_floor", "shr_s8_3_round", "shr_s32_8_round", "lt_u4", "eq_s4"] {
            assert!(checked.iter().any(|c| c == want), "{want} not checked: {checked:?}");
        }
        for want in ["exp_fix16_8_fix16_14", "gelu_fix8_4_fix8_4", "sigmoid_fix16_8_fix16_14"] {
            assert!(checked.iter().any(|c| c == want), "{want} not checked: {checked:?}");
        }
    }

    /// Every sampled primitive declares its f64 reference, and every entry is within its
    /// tolerance (the battery checks it too; this prints the largest error per table, with
    /// `--nocapture`, for docs/isa.md).
    #[test]
    fn sampled_primitives_declare_references_within_tolerance() {
        let mut report = Vec::new();
        for k in kinds::<Fr>().iter().filter(|k| k.id >= crate::tables::leaky_relu::KIND) {
            for &p in k.examples {
                let t = (k.make)(p).unwrap();
                let r = t.reference().unwrap_or_else(|| panic!("{} has no reference", t.name()));
                let n = t.domain().address_bits();
                let worst = check_reference(t.as_ref(), &(0..1u64 << n).collect::<Vec<_>>());
                assert!(worst <= r.tolerance);
                report.push(format!("{}: max |error| {worst:.4} ulp", t.name()));
            }
        }
        assert_eq!(report.len(), 27, "{report:?}");
        eprintln!("{}", report.join("\n"));
    }

    /// A sampled approximation: sigmoid in Q2.6 in and Q0.8 out, rounded, within half an ulp.
    fn sigmoid_q(x: f64) -> f64 {
        256.0 / (1.0 + (-x / 64.0).exp())
    }

    #[test]
    fn dense_tables_pass() {
        let sig = DenseTable::sample("sigmoid_s8", 0, Domain::Signed { bits: 8 }, |x| {
            sigmoid_q(x[0] as f64).round() as i64
        })
        .unwrap()
        .with_reference(Reference::unscaled(|x| sigmoid_q(x[0]), 0.5));
        check_table(&sig);
        let mul = DenseTable::sample("mul_s5", 1, Domain::Pair { bits: 5, signed: true }, |o| {
            o[0] * o[1]
        })
        .unwrap();
        check_table(&mul);
        // 16 address bits: checked on random addresses, the MLE along coordinate lines.
        let wide = DenseTable::sample("cube_s16", 2, Domain::Signed { bits: 16 }, |x| {
            (x[0] * x[0] * x[0]) >> 20
        })
        .unwrap();
        check_table(&wide);
        // Split into 256 rows of 256 entries: two 8-bit chunks.
        assert_eq!((wide.decomposition().chunk_bits, wide.decomposition().num_chunks), (8, 2));
        // 12 bits, split into 64 rows of 64: every address through the rows.
        let mid =
            DenseTable::sample("sq_s12", 3, Domain::Signed { bits: 12 }, |x| (x[0] * x[0]) >> 9)
                .unwrap();
        check_table(&mid);
        assert_eq!(mid.decomposition().num_chunks, 2);
    }

    /// The battery is not vacuous: a reference it should reject, and a closed form that agrees on
    /// the hypercube but is not multilinear, both make it fail.
    #[test]
    #[should_panic(expected = "the reference")]
    fn battery_rejects_a_bad_approximation() {
        let sig = DenseTable::sample("sigmoid_s8", 0, Domain::Signed { bits: 8 }, |x| {
            sigmoid_q(x[0] as f64).floor() as i64
        })
        .unwrap()
        .with_reference(Reference::unscaled(|x| sigmoid_q(x[0]), 0.25));
        check_table(&sig);
    }

    /// `r_0²·Σ…` equals ReLU's MLE on the hypercube but is degree 2 in `r_0`.
    #[derive(Debug)]
    struct SquaredRelu(crate::tables::Relu);

    impl Table for SquaredRelu {
        fn id(&self) -> atlas_vm::TableId {
            self.0.id()
        }
        fn name(&self) -> String {
            "relu_squared_sign".into()
        }
        fn domain(&self) -> Domain {
            self.0.domain()
        }
        fn eval(&self, address: u64) -> i64 {
            self.0.eval(address)
        }
        fn decomposition(&self) -> atlas_vm::Decomposition {
            self.0.decomposition()
        }
    }

    impl TableMle<Fr> for SquaredRelu {
        fn mle(&self, r: &[Fr]) -> Fr {
            r[0] * self.0.mle(r)
        }
    }

    #[test]
    #[should_panic(expected = "not the table's MLE")]
    fn battery_rejects_a_non_multilinear_closed_form() {
        check_table(&SquaredRelu(crate::tables::Relu::new(8).unwrap()));
    }

    #[test]
    #[should_panic(expected = "not affine in variable 0")]
    fn battery_rejects_a_non_multilinear_closed_form_at_full_width() {
        check_table(&SquaredRelu(crate::tables::Relu::new(16).unwrap()));
    }
}
