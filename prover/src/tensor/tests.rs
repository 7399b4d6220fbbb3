//! Completeness of the whole-program proof on hand-built programs covering every instruction, and
//! soundness attacks, one per test.

use super::*;
use crate::verify::tensor::verify;
use atlas_stdlib::{BoxedTable, Clamp, LessThan, RangeCheck, Relu};
use atlas_vm::{
    execute, Const, Input, Instr, Op, Param, ParamData, Program, RegInfo, Rounding, Table,
    TableDecl, TableId, TableIdx, TableSet,
};

/// A program under construction.
struct B {
    p: Program,
    tables: Vec<BoxedTable<F>>,
}

impl B {
    fn new(name: &str) -> B {
        B {
            p: Program {
                name: name.into(),
                registers: vec![],
                tables: vec![],
                inputs: vec![],
                params: vec![],
                consts: vec![],
                instrs: vec![],
                outputs: vec![],
            },
            tables: vec![],
        }
    }
    fn reg(&mut self, shape: &[usize], bits: u8) -> Reg {
        self.p.registers.push(RegInfo { name: None, shape: shape.to_vec(), bits });
        Reg(self.p.registers.len() as u32 - 1)
    }
    fn input(&mut self, shape: &[usize], bits: u8, public: bool) -> Reg {
        let reg = self.reg(shape, bits);
        self.p.inputs.push(Input { reg, public });
        reg
    }
    fn param(&mut self, shape: &[usize], bits: u8, data: Vec<i64>) -> Reg {
        let reg = self.reg(shape, bits);
        self.p.params.push(Param { reg, data: ParamData::Inline(data) });
        reg
    }
    fn konst(&mut self, shape: &[usize], bits: u8, data: Vec<i64>) -> Reg {
        let reg = self.reg(shape, bits);
        self.p.consts.push(Const { reg, data });
        reg
    }
    fn table(&mut self, t: BoxedTable<F>) -> TableIdx {
        self.p.tables.push(TableDecl { id: t.id(), name: t.name() });
        self.tables.push(t);
        TableIdx(self.p.tables.len() as u32 - 1)
    }
    fn op(&mut self, shape: &[usize], bits: u8, op: Op) -> Reg {
        let dst = self.reg(shape, bits);
        self.p.instrs.push(Instr { dst, op });
        dst
    }
}

struct Set<'a>(&'a [BoxedTable<F>]);

impl TableSet for Set<'_> {
    fn table(&self, id: TableId) -> Option<&dyn Table> {
        self.0.iter().find(|t| t.id() == id).map(|t| t.as_ref() as &dyn Table)
    }
}

/// A proved program: keys, proof, statement.
struct Proved {
    pk: ProvingKey,
    tables: Vec<BoxedTable<F>>,
    proof: TensorProof,
    public_inputs: Vec<Vec<i64>>,
    outputs: Vec<Vec<i64>>,
}

impl Proved {
    fn refs(&self) -> Vec<&dyn TableMle<F>> {
        self.tables.iter().map(|t| t.as_ref() as &dyn TableMle<F>).collect()
    }
    fn verify(&self) -> Result<(), TensorError> {
        verify(&self.pk.vk, &self.refs(), &self.public_inputs, &self.outputs, &self.proof)
    }
}

fn prove_program(b: B, inputs: Vec<Vec<i64>>, mode: WeightMode) -> Proved {
    let trace = execute(&b.p, &inputs, &Set(&b.tables)).expect("the program runs");
    prove_trace(b, inputs, mode, &trace).expect("an honest trace proves")
}

/// Sets up `b`'s keys and proves `trace` with them, whatever the trace holds: what a malicious
/// prover with the honest proving key can do.
fn prove_trace(
    b: B,
    inputs: Vec<Vec<i64>>,
    mode: WeightMode,
    trace: &Trace,
) -> Result<Proved, ProveError> {
    let B { p, tables } = b;
    let refs: Vec<&dyn TableMle<F>> =
        tables.iter().map(|t| t.as_ref() as &dyn TableMle<F>).collect();
    let n = required_vars(&p, &refs, mode).unwrap();
    let srs = Srs::development(n.max(1)).unwrap();
    let local = vec![None; p.tables.len()];
    let pk = setup(&p, &refs, local, &srs, mode).unwrap();
    let (proof, _) = prove(&pk, &refs, &inputs, trace)?;
    // The proof survives its byte encoding.
    let proof = TensorProof::from_bytes(&proof.to_bytes()).unwrap();
    let public_inputs =
        p.inputs.iter().zip(&inputs).filter(|(i, _)| i.public).map(|(_, v)| v.clone()).collect();
    let outputs = trace.outputs(&p);
    drop(refs);
    Ok(Proved { pk, tables, proof, public_inputs, outputs })
}

/// The trace of `b` with instruction `k`'s result replaced by `tamper(result)` and every later
/// instruction recomputed from it: consistent everywhere except at instruction `k` (which must not
/// be a lookup, whose addresses this does not forge).
fn tampered_trace(b: &B, inputs: &[Vec<i64>], k: usize, tamper: impl Fn(&mut [i64])) -> Trace {
    assert!(b.p.instrs[k].op.table().is_none(), "instruction {k} is a lookup");
    let honest = execute(&b.p, inputs, &Set(&b.tables)).expect("the program runs");
    let dst = b.p.instrs[k].dst;
    let mut value = honest.values[dst.index()].clone();
    tamper(&mut value);
    assert_ne!(value, honest.values[dst.index()], "the tampering changes something");
    // The same program with `dst` an input instead of instruction k's result.
    let mut p = b.p.clone();
    p.instrs.remove(k);
    p.inputs.push(Input { reg: dst, public: false });
    let mut all = inputs.to_vec();
    all.push(value);
    let mut trace = execute(&p, &all, &Set(&b.tables)).expect("the tampered program runs");
    for l in &mut trace.lookups {
        if l.instr >= k {
            l.instr += 1;
        }
    }
    trace
}

/// Proves a dishonest trace: either the prover refuses, or the verifier rejects its proof.
fn assert_rejected(b: B, inputs: Vec<Vec<i64>>, mode: WeightMode, trace: &Trace) -> String {
    crate::sumcheck::DISHONEST_PROVER.set(true);
    let proved = prove_trace(b, inputs, mode, trace);
    crate::sumcheck::DISHONEST_PROVER.set(false);
    match proved {
        Ok(proved) => match proved.verify() {
            Ok(()) => panic!("a proof of a dishonest trace verified ({mode:?})"),
            Err(e) => e.to_string(),
        },
        Err(e) => panic!("the prover refused the trace instead of proving it: {e}"),
    }
}

/// `relu(shr(x @ w + b, 4))` on a `[2, 5] × [5, 3]` product: a layer of an MLP.
fn layer() -> (B, Vec<Vec<i64>>) {
    let mut b = B::new("layer");
    let x = b.input(&[2, 5], 8, true);
    let w = b.param(&[5, 3], 8, (0..15).map(|i| (i * 7 % 11) - 5).collect());
    let bias = b.param(&[3], 8, vec![3, -2, 7]);
    let rem = b.table(Box::new(RangeCheck::new(4).unwrap()));
    let relu = b.table(Box::new(Relu::new(16).unwrap()));
    let y = b.op(&[2, 3], 20, Op::MatMul { a: x, b: w, bias: None });
    let bb = b.op(&[2, 3], 8, Op::Broadcast { src: bias });
    let s = b.op(&[2, 3], 21, Op::Add { a: y, b: bb });
    let q = b.op(
        &[2, 3],
        16,
        Op::Shr { src: s, shift: 4, rounding: Rounding::Nearest, rem_table: rem, rem_scale: 0 },
    );
    let out = b.op(&[2, 3], 16, Op::Lookup { table: relu, operands: vec![q] });
    b.p.outputs.push(out);
    (b, vec![vec![12, -7, 33, 0, 5, -128, 127, 64, -1, 9]])
}

#[test]
fn a_layer_proves_and_verifies_in_both_weight_modes() {
    for mode in [WeightMode::Committed, WeightMode::Public] {
        let (b, inputs) = layer();
        let proved = prove_program(b, inputs, mode);
        proved.verify().unwrap_or_else(|e| panic!("{mode:?}: {e}"));
    }
}

#[test]
fn every_instruction_proves_and_verifies() {
    let mut b = B::new("ops");
    let x = b.input(&[3, 4], 8, true);
    let y = b.input(&[3, 4], 8, false);
    let idx = b.konst(&[2], 8, vec![2, 0]);
    let lt = b.table(Box::new(LessThan::new(8, true).unwrap()));
    let clamp = b.table(Box::new(Clamp::new(20, 8).unwrap()));
    let m = b.op(&[3, 4], 16, Op::Mul { a: x, b: y });
    let n = b.op(&[3, 4], 16, Op::Neg { a: m });
    let d = b.op(&[3, 4], 17, Op::Sub { a: n, b: x });
    let s0 = b.op(&[4], 19, Op::Sum { src: d, axes: vec![0] });
    let s1 = b.op(&[3, 1], 19, Op::Sum { src: d, axes: vec![1] });
    let tr = b.op(&[4, 3], 8, Op::Transpose { src: x, perm: vec![1, 0] });
    let rs = b.op(&[2, 6], 8, Op::Reshape { src: tr });
    let sl = b.op(&[2, 3], 8, Op::Slice { src: rs, axis: 1, start: 1, end: 6, step: 2 });
    let cc = b.op(&[2, 9], 8, Op::Concat { srcs: vec![sl, rs], axis: 1 });
    let g = b.op(&[2, 4], 8, Op::Gather { data: x, indices: idx, axis: 0 });
    let c = b.op(&[3, 4], 2, Op::Lookup { table: lt, operands: vec![x, y] });
    let img = b.op(&[1, 1, 3, 4], 8, Op::Reshape { src: x });
    let cols =
        b.op(&[1, 6, 4], 8, Op::Im2Col { src: img, kernel: [2, 2], stride: [1, 1], pad: [0, 0] });
    let bm = b.op(&[2, 2, 2], 8, Op::Reshape { src: g });
    let bmm = b.op(&[2, 2, 2], 17, Op::MatMul { a: bm, b: bm, bias: None });
    let w = b.param(&[4, 2], 8, vec![1, -2, 3, 0, -1, 5, 2, 2]);
    let mm = b.op(&[1, 6, 2], 19, Op::MatMul { a: cols, b: w, bias: None });
    // A bias on every row: 6 of 8 padded rows and 2 columns are real, and a batched one.
    let bias = b.param(&[2], 8, vec![7, -3]);
    let mmb = b.op(&[1, 6, 2], 19, Op::MatMul { a: cols, b: w, bias: Some(bias) });
    let bmmb = b.op(&[2, 2, 2], 17, Op::MatMul { a: bm, b: bm, bias: Some(idx) });
    let total = b.op(&[], 21, Op::Sum { src: s0, axes: vec![0] });
    let sat = b.op(&[], 8, Op::Lookup { table: clamp, operands: vec![total] });
    b.p.outputs.extend([s1, cc, c, bmm, mm, sat, mmb, bmmb]);
    let inputs = vec![
        vec![1, -2, 3, 4, -5, 6, 7, -8, 9, 10, -11, 12],
        vec![3, 1, -4, 1, 5, -9, 2, 6, 5, -3, 5, 8],
    ];
    for mode in [WeightMode::Committed, WeightMode::Public] {
        let proved = prove_program(
            B { p: b.p.clone(), tables: b.tables.iter().map(|t| crate_table(t.id())).collect() },
            inputs.clone(),
            mode,
        );
        proved.verify().unwrap_or_else(|e| panic!("{mode:?}: {e}"));
    }
}

fn crate_table(id: TableId) -> BoxedTable<F> {
    atlas_stdlib::table_by_id::<F>(id).unwrap()
}

/// `x` read three times and `x·x` twice: registers whose claims must be merged.
fn fanout() -> (B, Vec<Vec<i64>>) {
    let mut b = B::new("fanout");
    let x = b.input(&[4], 8, true);
    let sq = b.op(&[4], 16, Op::Mul { a: x, b: x });
    let t = b.op(&[4], 17, Op::Add { a: sq, b: x });
    let u = b.op(&[4], 18, Op::Sub { a: t, b: sq });
    b.p.outputs.extend([u, sq]);
    (b, vec![vec![1, -3, 5, 7]])
}

#[test]
fn a_register_read_twice_gets_its_claims_merged() {
    let (b, inputs) = fanout();
    let proved = prove_program(b, inputs, WeightMode::Public);
    proved.verify().unwrap();
}

/// Invariant: the outputs are part of the statement.
/// Mutation: claim a different output value.
#[test]
fn a_tampered_output_is_rejected() {
    let (b, inputs) = layer();
    let mut proved = prove_program(b, inputs, WeightMode::Committed);
    proved.outputs[0][1] += 1;
    assert!(proved.verify().is_err());
}

/// Invariant: every instruction's result satisfies its relation with its operands.
/// Mutation: add 16 to one element of the matmul's result (in range, and visible after the
/// rescale), recompute everything after it, and prove that trace with the honest key.
#[test]
fn a_tampered_intermediate_reproved_from_there_on_is_rejected() {
    for mode in [WeightMode::Committed, WeightMode::Public] {
        let (b, inputs) = layer();
        let trace = tampered_trace(&b, &inputs, 0, |y| y[3] += 16);
        assert_ne!(trace.outputs(&b.p), prove_program(layer().0, inputs.clone(), mode).outputs);
        let err = assert_rejected(b, inputs, mode, &trace);
        assert!(err.contains("matmul"), "{mode:?}: rejected elsewhere: {err}");
    }
}

/// Invariant: a lookup's address chunks encode its operand.
/// Mutation: look element 0 of the final relu up at the address of `q + 1` and output the table's
/// value there, so that the read and the output agree and only the address is wrong.
#[test]
fn a_wrong_lookup_address_is_rejected() {
    let (b, inputs) = layer();
    let mut trace = execute(&b.p, &inputs, &Set(&b.tables)).expect("the program runs");
    let k = b.p.instrs.len() - 1;
    let Op::Lookup { table, operands } = &b.p.instrs[k].op else {
        panic!("the layer ends in relu")
    };
    let relu = &b.tables[table.0 as usize];
    let q = trace.values[operands[0].index()].clone();
    let e = q.iter().position(|&v| v >= 0).expect("a non-negative pre-activation");
    let address = relu.domain().encode(&[q[e] + 1]).expect("q + 1 is in the domain");
    let site = trace.lookups.iter_mut().find(|l| l.instr == k).expect("the relu's queries");
    site.addresses[e] = address;
    let dst = b.p.instrs[k].dst;
    trace.values[dst.index()][e] = relu.eval(address);
    let err = assert_rejected(b, inputs, WeightMode::Committed, &trace);
    assert!(err.contains("instruction 4 (lookup"), "rejected elsewhere: {err}");
}

/// Invariant: the weights the proof uses are the ones the key commits to (or holds).
/// Mutation: swap two entries of the weight matrix, run the model on that, and prove it with the
/// honest key.
#[test]
fn a_swapped_weight_is_rejected() {
    for mode in [WeightMode::Committed, WeightMode::Public] {
        let (b, inputs) = layer();
        let (mut swapped, _) = layer();
        let ParamData::Inline(w) = &mut swapped.p.params[0].data else { panic!("inline weights") };
        assert_ne!(w[0], w[1]);
        w.swap(0, 1);
        let trace = execute(&swapped.p, &inputs, &Set(&swapped.tables)).expect("it runs");
        let err = assert_rejected(b, inputs, mode, &trace);
        // Caught where the weight's claim meets the key: the final opening (committed) or the
        // verifier's own evaluation (public).
        assert!(err.contains("opening") || err.contains("known data"), "{mode:?}: {err}");
    }
}

/// Invariant: every claim on a register read several times enters its merge.
/// Mutation: the prover keeps only the first reader's claim and reduces from that one.
#[test]
fn a_dropped_claim_merge_is_rejected() {
    let (b, inputs) = fanout();
    let trace = execute(&b.p, &inputs, &Set(&b.tables)).expect("the program runs");
    DROP_MERGED_CLAIMS.set(true);
    let proved = prove_trace(b, inputs, WeightMode::Public, &trace);
    DROP_MERGED_CLAIMS.set(false);
    let err = proved.expect("the prover does not notice").verify().unwrap_err();
    assert!(err.to_string().contains("claim merge"), "rejected elsewhere: {err}");
}

/// A gather read twice (an output, and summed): both claims fold into its one wiring sumcheck.
fn gather_fanout() -> (B, Vec<Vec<i64>>) {
    let mut b = B::new("gather fanout");
    let x = b.input(&[4], 8, true);
    let idx = b.konst(&[2], 8, vec![2, 0]);
    let g = b.op(&[2], 8, Op::Gather { data: x, indices: idx, axis: 0 });
    let s = b.op(&[], 9, Op::Sum { src: g, axes: vec![0] });
    b.p.outputs.extend([g, s]);
    (b, vec![vec![1, -3, 5, 7]])
}

#[test]
fn a_wiring_takes_every_claim_without_a_merge() {
    let (b, inputs) = gather_fanout();
    let proved = prove_program(b, inputs, WeightMode::Public);
    proved.verify().unwrap();
    let sumchecks = proved.proof.items.iter().filter(|i| matches!(i, Item::Sumcheck(_))).count();
    // The sum's, the gather's wiring: no merge before the wiring.
    assert_eq!(sumchecks, 2, "{}", proved.proof.shape());
}

/// Invariant: every claim on a wiring's result enters its fold.
/// Mutation: the prover folds only the first reader's claim.
#[test]
fn a_claim_left_out_of_a_wiring_fold_is_rejected() {
    let (b, inputs) = gather_fanout();
    let trace = execute(&b.p, &inputs, &Set(&b.tables)).expect("the program runs");
    DROP_MERGED_CLAIMS.set(true);
    let proved = prove_trace(b, inputs, WeightMode::Public, &trace);
    DROP_MERGED_CLAIMS.set(false);
    let err = proved.expect("the prover does not notice").verify().unwrap_err();
    assert!(matches!(err, TensorError::Sumcheck { .. } | TensorError::Check { .. }), "{err}");
}

/// Invariant: the public inputs are part of the statement.
/// Mutation: verify against a different input.
#[test]
fn a_changed_public_input_is_rejected() {
    let (b, inputs) = layer();
    let mut proved = prove_program(b, inputs, WeightMode::Committed);
    proved.public_inputs[0][0] += 1;
    assert!(proved.verify().is_err());
}

/// Invariant: every operand value the prover sends is bound by a later check.
/// Mutation: change one sent scalar (and nothing else).
#[test]
fn a_tampered_scalar_is_rejected() {
    let (b, inputs) = layer();
    let mut proved = prove_program(b, inputs, WeightMode::Public);
    let k = proved.proof.items.iter().position(|i| matches!(i, Item::Scalars(_))).unwrap();
    if let Item::Scalars(v) = &mut proved.proof.items[k] {
        v[0] += F::from(1u64);
    }
    assert!(proved.verify().is_err());
}

/// Invariant: every sumcheck of the proof binds its final evaluations — the walk's and the deferred
/// chunk checks' after it — and every lookup binds its reads. (The final reduction sends none; the
/// next test covers it.)
/// Mutation: add 1 to one final evaluation of one sumcheck or lookup, each in turn.
#[test]
fn every_tampered_final_evaluation_is_rejected() {
    let (b, inputs) = layer();
    let proved = prove_program(b, inputs, WeightMode::Committed);
    let mut tried = 0;
    for k in 0..proved.proof.items.len() {
        let mut bad = proved.proof.clone();
        let evals = match &mut bad.items[k] {
            Item::Sumcheck(p) => &mut p.final_evals,
            Item::Lookup(p) => &mut p.combine.final_evals,
            _ => continue,
        };
        let Some(e) = evals.iter_mut().flatten().next() else { continue };
        *e += F::from(1u64);
        tried += 1;
        let refs = proved.refs();
        assert!(
            verify(&proved.pk.vk, &refs, &proved.public_inputs, &proved.outputs, &bad).is_err(),
            "item {k} ({}) accepted a tampered final evaluation",
            bad.items[k].kind()
        );
    }
    assert!(tried >= 3, "the layer's proof has sumchecks and lookups ({tried} tried)");
}

/// Invariant: the final reduction's evaluations are never sent; its final claim is checked as one
/// evaluation of the committed polynomials' weighted sum by the opening.
/// Mutation: change a round coefficient of the final reduction (its claim then differs from what
/// the committed polynomials give), and, separately, attach a final evaluation to it.
#[test]
fn the_final_reduction_is_checked_by_the_opening() {
    let (b, inputs) = layer();
    let proved = prove_program(b, inputs, WeightMode::Committed);
    let k = proved
        .proof
        .items
        .iter()
        .rposition(|i| matches!(i, Item::Sumcheck(_)))
        .expect("the proof ends with the final reduction and the opening");
    assert!(matches!(proved.proof.items[k + 1], Item::Opening(_)));
    let refs = proved.refs();
    let check = |bad: &TensorProof| {
        verify(&proved.pk.vk, &refs, &proved.public_inputs, &proved.outputs, bad)
    };
    let mut bad = proved.proof.clone();
    if let Item::Sumcheck(p) = &mut bad.items[k] {
        assert!(p.final_evals.is_empty(), "the reduction sends no evaluations");
        p.rounds[0][0] += F::from(1u64);
    }
    assert!(matches!(check(&bad), Err(TensorError::Opening { .. })));
    let mut bad = proved.proof.clone();
    if let Item::Sumcheck(p) = &mut bad.items[k] {
        p.final_evals.push(vec![F::from(1u64)]);
    }
    assert!(matches!(check(&bad), Err(TensorError::Sumcheck { .. })));
}

/// Invariant: the verifying key binds the weights.
/// Mutation: check the proof against a key whose weights differ (another model's key).
#[test]
fn a_proof_for_one_model_fails_under_another_models_key() {
    for mode in [WeightMode::Committed, WeightMode::Public] {
        let (b, inputs) = layer();
        let proved = prove_program(b, inputs.clone(), mode);
        let (mut other, _) = layer();
        if let ParamData::Inline(d) = &mut other.p.params[0].data {
            d[3] += 1;
        }
        let other = prove_program(other, inputs, mode);
        let refs = proved.refs();
        let err =
            verify(&other.pk.vk, &refs, &proved.public_inputs, &proved.outputs, &proved.proof);
        assert!(err.is_err(), "{mode:?}");
    }
}

/// Invariant: the decoder and verifier never panic, and no single bit of the proof can change
/// without detection.
/// Mutation: flip bits throughout the encoded proof, and truncate it.
#[test]
fn flipped_bits_and_truncations_are_errors() {
    let (b, inputs) = layer();
    let proved = prove_program(b, inputs, WeightMode::Committed);
    let bytes = proved.proof.to_bytes();
    let refs = proved.refs();
    let step = (bytes.len() / 97).max(1);
    for at in (0..bytes.len()).step_by(step) {
        let mut bad = bytes.clone();
        bad[at] ^= 1 << (at % 8);
        if let Ok(p) = TensorProof::from_bytes(&bad) {
            assert!(
                verify(&proved.pk.vk, &refs, &proved.public_inputs, &proved.outputs, &p).is_err(),
                "bit flip at byte {at} accepted"
            );
        }
    }
    for len in [0, 1, bytes.len() / 2, bytes.len() - 1] {
        assert!(TensorProof::from_bytes(&bytes[..len]).is_err());
    }
    let mut fewer = proved.proof.clone();
    fewer.items.pop();
    assert!(matches!(
        verify(&proved.pk.vk, &refs, &proved.public_inputs, &proved.outputs, &fewer),
        Err(TensorError::Truncated { .. })
    ));
}

#[test]
fn the_verifying_key_round_trips() {
    let (b, inputs) = layer();
    let proved = prove_program(b, inputs, WeightMode::Committed);
    let bytes = proved.pk.vk.to_bytes();
    assert_eq!(VerifyingKey::from_bytes(&bytes).unwrap(), proved.pk.vk);
    for len in [0, 5, bytes.len() - 1] {
        assert!(VerifyingKey::from_bytes(&bytes[..len]).is_err());
    }
}

#[test]
fn fix_vars_agrees_with_evaluation() {
    use ark_std::UniformRand;
    let mut rng = ark_std::test_rng();
    let values: Vec<i64> = (0..32).map(|i| i * 3 - 40).collect();
    let point: Vec<F> = (0..5).map(|_| F::rand(&mut rng)).collect();
    let full = MultilinearPoly::I64(values.clone()).evaluate(&point);
    let g = fix_vars(&values, 5, &[1, 3], &[point[1], point[3]]);
    let rest = MultilinearPoly::Dense(g).evaluate(&[point[0], point[2], point[4]]);
    assert_eq!(rest, full);
}

/// `x < y` on 512 pairs of signed 8-bit values: two 8-bit chunks of 512 queries, `2^13` entries
/// each, wider than the opening floor, so each is committed as 16 blocks of 16 columns.
fn wide_lookup() -> (B, Vec<Vec<i64>>) {
    let mut b = B::new("wide");
    let x = b.input(&[512], 8, true);
    let y = b.input(&[512], 8, false);
    let lt = b.table(Box::new(LessThan::new(8, true).unwrap()));
    let c = b.op(&[512], 2, Op::Lookup { table: lt, operands: vec![x, y] });
    b.p.outputs.push(c);
    let xs = (0..512).map(|i| (i * 37 % 256) - 128).collect();
    let ys = (0..512).map(|i| (i * 101 % 256) - 128).collect();
    (b, vec![xs, ys])
}

/// Checks that the lookup's chunks are cut into 16 blocks each, and that no block value is sent:
/// the chunk checks' one claim is on a combination of the blocks.
fn assert_blocks_without_values(proved: &Proved) {
    let polys = committed_polys(&proved.pk.vk.program, &plan_of(proved), false);
    assert!(polys.iter().any(|(c, _)| matches!(c, Committed::Chunk { block: 15, .. })));
    assert!(!proved.proof.items.iter().any(|i| matches!(i, Item::Scalars(v) if v.len() >= 16)));
}

fn plan_of(proved: &Proved) -> Plan {
    Plan::new(&proved.pk.vk.program, &proved.refs()).unwrap()
}

#[test]
fn wide_chunks_are_committed_in_blocks() {
    let (b, inputs) = wide_lookup();
    let proved = prove_program(b, inputs, WeightMode::Public);
    assert_blocks_without_values(&proved);
    proved.verify().unwrap();
}

/// Invariant: the chunk stack's evaluation is the chunk checks' final claim.
/// Mutation: change the stack's one sent evaluation.
#[test]
fn a_tampered_chunk_stack_value_is_rejected() {
    let (b, inputs) = wide_lookup();
    let mut proved = prove_program(b, inputs, WeightMode::Public);
    let stack = proved
        .proof
        .items
        .iter()
        .rposition(|i| matches!(i, Item::Sumcheck(p) if p.final_evals.len() == 1 && p.final_evals[0].len() == 1))
        .expect("the chunk stack leaves one evaluation");
    if let Item::Sumcheck(p) = &mut proved.proof.items[stack] {
        p.final_evals[0][0] += F::from(1u64);
    }
    assert!(matches!(proved.verify(), Err(TensorError::Lookup { .. })));
}

/// `relu(x @ w)` with a `[128, 64]` weight: `2^13` entries, above the opening floor that the small
/// lookups leave, so in committed mode the weight is cut into two blocks of 64 rows.
fn wide_weight() -> (B, Vec<Vec<i64>>) {
    let mut b = B::new("wide-weight");
    let x = b.input(&[1, 128], 8, true);
    let w = b.param(&[128, 64], 8, (0..128 * 64).map(|i| (i * 7 % 23) - 11).collect());
    let relu = b.table(Box::new(Relu::new(24).unwrap()));
    let y = b.op(&[1, 64], 24, Op::MatMul { a: x, b: w, bias: None });
    let out = b.op(&[1, 64], 24, Op::Lookup { table: relu, operands: vec![y] });
    b.p.outputs.push(out);
    (b, vec![(0..128).map(|i| (i * 5 % 17) - 8).collect()])
}

#[test]
fn wide_weights_are_committed_in_blocks() {
    let (b, inputs) = wide_weight();
    let proved = prove_program(b, inputs, WeightMode::Committed);
    match &proved.pk.vk.weights {
        Weights::Committed(cs) => assert_eq!(cs.len(), 2),
        Weights::Public(_) => panic!("committed mode"),
    }
    assert_eq!(weight_blocks(&proved.pk.vk.program, &plan_of(&proved)), vec![1]);
    // The claim on the weight is a combination of its blocks: no block value is sent.
    assert!(!proved.proof.items.iter().any(|i| matches!(i, Item::Scalars(v) if v.len() == 2)));
    proved.verify().unwrap();
}
