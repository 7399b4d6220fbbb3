//! The VM against the IR: lower IR programs (from text or the builder), execute them, and compare
//! the outputs with the IR reference evaluator exactly — on fixed models (MLP, convolution, data
//! movement, reduce-max) and on random small programs. Also: listing snapshots (`----- IR` then
//! `----- ASM`), execution errors, and the trace's lookups proved by the lookup argument.

use atlas_compiler::lower::{execute_std, lower, lower_text, LowerError, StdEnv, TextError};
use atlas_ir::{
    eval, parse, print, validate, ElemType, EvalError, ParamData, ProgramBuilder, ReduceKind,
    Rounding, TableRef, TensorType, Visibility,
};
use atlas_vm::{listing, ExecError, Op, Program};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

type Outputs = Vec<Vec<i64>>;

/// Runs the lowered program and the IR evaluator on `inputs`.
fn both(
    ir: &atlas_ir::Program,
    inputs: &[Vec<i64>],
) -> (Result<Outputs, ExecError>, Result<Outputs, EvalError>) {
    let info = validate(ir).expect("valid IR");
    let vm = lower(&info).expect("lowers");
    assert_no_dead_instructions(&vm);
    let got = execute_std(&vm, inputs).map(|t| t.outputs(&vm));
    (got, eval(&info, inputs, &StdEnv::new()))
}

/// Every instruction's result is read by a later instruction or is an output: the proof walks
/// backwards from the outputs, so a check nothing reads would be missed. (The IR programs here have
/// no dead values of their own.)
fn assert_no_dead_instructions(vm: &Program) {
    let mut read: std::collections::HashSet<atlas_vm::Reg> = vm.outputs.iter().copied().collect();
    for instr in &vm.instrs {
        read.extend(instr.op.operands());
    }
    for (i, instr) in vm.instrs.iter().enumerate() {
        assert!(
            read.contains(&instr.dst),
            "instruction {i} ({}) is dead:\n{}",
            instr.op.name(),
            listing(vm)
        );
    }
}

/// Asserts the VM and the evaluator agree exactly (both succeed with equal outputs).
fn agree(ir: &atlas_ir::Program, inputs: &[Vec<i64>]) -> Outputs {
    let (vm, want) = both(ir, inputs);
    let want = want.unwrap_or_else(|e| panic!("the evaluator fails: {e}"));
    assert_eq!(vm.unwrap_or_else(|e| panic!("the VM fails: {e}")), want);
    want
}

fn random(rng: &mut ChaCha20Rng, n: usize, elem: ElemType) -> Vec<i64> {
    let (lo, hi) = elem.range().expect("integer type");
    (0..n).map(|_| rng.gen_range(lo..=hi)).collect()
}

/// Uniform in `[-r, r]`.
fn small(rng: &mut ChaCha20Rng, n: usize, r: i64) -> Vec<i64> {
    (0..n).map(|_| rng.gen_range(-r..=r)).collect()
}

/// Extreme inputs: every element the type's min, max, 0, or alternating.
fn extremes(n: usize, elem: ElemType) -> Vec<Vec<i64>> {
    let (lo, hi) = elem.range().expect("integer type");
    vec![
        vec![lo; n],
        vec![hi; n],
        vec![0; n],
        (0..n).map(|i| if i % 2 == 0 { lo } else { hi }).collect(),
    ]
}

fn snapshot(ir: &atlas_ir::Program) -> String {
    let vm = lower(&validate(ir).expect("valid IR")).expect("lowers");
    format!("----- IR\n{}----- ASM\n{}", print(ir), listing(&vm))
}

const ACT: ElemType = ElemType::fix(16, 8);

/// `y = relu(x @ w1 + b1) @ w2` (weights within ±1.2, bias within ±1), with rescales back to `fix<16,8>` after each matmul. The
/// accumulators are 38+ bits wide, so the rescales take the advice-shift path.
fn mlp(rng: &mut ChaCha20Rng) -> atlas_ir::Program {
    mlp_of(rng, 2, 8, 4, 3)
}

fn mlp_of(rng: &mut ChaCha20Rng, batch: usize, d: usize, h: usize, o: usize) -> atlas_ir::Program {
    let mut b = ProgramBuilder::new("mlp");
    let relu = b.table(TableRef {
        name: "relu_s16".into(),
        id: 0x0210_0000,
        inputs: vec![ACT],
        output: ACT,
    });
    let x = b.input("x", TensorType::new(ACT, [batch, d]), Visibility::Public);
    let w1 = b.param("w1", TensorType::new(ACT, [d, h]), ParamData::Inline(small(rng, d * h, 300)));
    let bias_ty = ElemType::fix(32, 16);
    let b1 =
        b.param("b1", TensorType::new(bias_ty, [h]), ParamData::Inline(small(rng, h, 1 << 16)));
    let w2 = b.param("w2", TensorType::new(ACT, [h, o]), ParamData::Inline(small(rng, h * o, 300)));
    let acc = b.matmul(x, w1).expect("the MLP types");
    let bias = b.broadcast(b1, &[batch, h]).expect("the MLP types");
    let acc = b.add(acc, bias).expect("the MLP types");
    let hidden = b.rescale(acc, 8, Rounding::Nearest, true, ACT).expect("the MLP types");
    let hidden = b.lookup(relu, &[hidden]).expect("the MLP types");
    b.set_name(hidden, "h");
    let out = b.matmul(hidden, w2).expect("the MLP types");
    let y = b.rescale(out, 8, Rounding::Nearest, true, ACT).expect("the MLP types");
    b.set_name(y, "y");
    b.output(y);
    b.finish()
}

#[test]
fn mlp_with_rescale_and_relu_matches_the_evaluator() {
    let mut rng = ChaCha20Rng::seed_from_u64(6);
    let ir = mlp(&mut rng);
    for x in extremes(16, ACT) {
        agree(&ir, &[x]);
    }
    let mut saturated = 0;
    for _ in 0..20 {
        // Small inputs keep some outputs inside the range, large ones saturate.
        let x: Vec<i64> = (0..16).map(|_| rng.gen_range(-600..=600)).collect();
        let y = agree(&ir, &[x]);
        saturated += y[0].iter().filter(|&&v| v == -32768 || v == 32767).count();
        let x = random(&mut rng, 16, ACT);
        agree(&ir, &[x]);
    }
    assert!(saturated < 20 * 6, "every output saturated: the test would not see rounding");
}

#[test]
fn an_mnist_sized_mlp_matches_the_evaluator() {
    // 784 → 128 → 10: the first accumulator is 41 bits, so its rescale saturates a 33-bit
    // quotient through the wide path; the matmul runs on rayon.
    let mut rng = ChaCha20Rng::seed_from_u64(10);
    let ir = mlp_of(&mut rng, 1, 784, 128, 10);
    let vm = lower(&validate(&ir).unwrap()).unwrap();
    assert!(vm.instrs.iter().any(|i| matches!(i.op, Op::Shr { .. })));
    assert!(vm.tables.iter().any(|t| t.name.starts_with("eq_s")), "{}", listing(&vm));
    for x in extremes(784, ACT).into_iter().chain((0..3).map(|_| small(&mut rng, 784, 300))) {
        agree(&ir, &[x]);
    }
}

#[test]
fn conv_via_im2col_matches_the_evaluator() {
    let ir = parse(CONV).unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    for x in extremes(36, ElemType::fix(8, 4))
        .into_iter()
        .chain((0..10).map(|_| random(&mut rng, 36, ElemType::fix(8, 4))))
    {
        agree(&ir, &[x]);
    }
}

const CONV: &str = "program conv3x3 {
  input private %x: fix<8,4>[1,1,6,6]
  param %w: fix<8,4>[9,4] = [-15, -8, -1, 6, 13, -11, -4, 3, 10, -14, -7, 0, 7, 14, -10, -3, 4, 11, -13, -6, 1, 8, 15, -9, -2, 5, 12, -12, -5, 2, 9, -15, -8, -1, 6, 13]
  const %bias: fix<16,8>[4] = [16, -8, 0, 3]
  %3: fix<8,4>[1,36,9] = im2col %x kernel=[3,3] stride=[1,1] pad=[1,1]
  %4: fix<19,8>[1,36,4] = matmul %3, %w
  %5: fix<16,8>[1,36,4] = broadcast %bias
  %6: fix<20,8>[1,36,4] = add %4, %5
  %7: fix<8,4>[1,36,4] = rescale %6 shift=4 round=floor saturate
  %8: fix<8,4>[1,4,36] = transpose %7 perm=[0,2,1]
  %y: fix<8,4>[1,4,6,6] = reshape %8
  output %y
}
";

const MOVES: &str = "program moves {
  input public %x: i8[2,3,4]
  input public %idx: i8[3]
  %t: i8[4,2,3] = transpose %x perm=[2,0,1]
  %r: i8[8,3] = reshape %t
  %s: i8[3,3] = slice %r axis=0 start=1 end=8 step=3
  %g: i8[3,3] = gather %s, %idx axis=1
  %c: i8[6,3] = concat %s, %g axis=0
  %n: i9[6,3] = neg %c
  %d: i10[6,3] = sub %n, %c
  %sum: i12[6] = reduce_sum %d axes=[1]
  %m: i10[1,3] = reduce_max %d axes=[0] keep_dims
  %b: i10[6,3] = broadcast %m
  %p: i20[6,3] = mul %b, %d
  %e: i8[6,3] = rescale %p shift=3 round=nearest saturate
  output %sum
  output %e
}
";

#[test]
fn data_movement_and_reductions_match_the_evaluator() {
    let ir = parse(MOVES).unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(8);
    for x in extremes(24, ElemType::I8) {
        agree(&ir, &[x, vec![2, 0, 1]]);
    }
    for _ in 0..20 {
        let idx: Vec<i64> = (0..3).map(|_| rng.gen_range(0..3)).collect();
        agree(&ir, &[random(&mut rng, 24, ElemType::I8), idx]);
    }
    // A gather index out of range is an error in both.
    let (vm, want) = both(&ir, &[vec![0; 24], vec![0, 3, 0]]);
    assert!(matches!(want, Err(EvalError::IndexOutOfRange { index: 3, dim: 3, .. })), "{want:?}");
    assert!(matches!(vm, Err(ExecError::IndexOutOfRange { value: 3, dim: 3, .. })), "{vm:?}");
}

#[test]
fn listings() {
    let mut rng = ChaCha20Rng::seed_from_u64(6);
    insta::assert_snapshot!("vm_mlp", snapshot(&mlp(&mut rng)));
    insta::assert_snapshot!("vm_conv3x3", snapshot(&parse(CONV).unwrap()));
    insta::assert_snapshot!("vm_moves", snapshot(&parse(MOVES).unwrap()));
}

#[test]
fn a_lookup_operand_outside_the_domain_is_an_error_naming_the_instruction() {
    // range8 takes [0, 256): an i9 operand is accepted statically, a negative one fails at run
    // time.
    let src = "program t {
  table @r = #0x01080000 (i9) -> i9
  input public %x: i9[3]
  %y: i9[3] = lookup @r %x
  output %y
}
";
    let ir = parse(src).unwrap();
    assert_eq!(agree(&ir, &[vec![0, 255, 7]]), [vec![0, 255, 7]]);
    let (vm, want) = both(&ir, &[vec![0, -1, 7]]);
    assert!(matches!(want, Err(EvalError::NotInTable { .. })), "{want:?}");
    let err = vm.unwrap_err();
    assert_eq!(
        err.to_string(),
        "instruction 0 (lookup range8): element 1: operands [-1] are outside the table's domain: \
         operand -1 is outside the table's domain [0, 255]"
    );
}

#[test]
fn wrong_inputs_are_errors() {
    let vm = lower_text(CONV).unwrap();
    assert_eq!(
        execute_std(&vm, &[vec![0; 35]]).unwrap_err(),
        ExecError::InputLength {
            input: 0,
            reg: atlas_vm::Reg(0),
            shape: vec![1, 1, 6, 6],
            expected: 36,
            found: 35
        }
    );
    assert_eq!(execute_std(&vm, &[]).unwrap_err(), ExecError::InputCount { expected: 1, found: 0 });
    let err = execute_std(&vm, &[vec![128; 36]]).unwrap_err();
    assert!(matches!(err, ExecError::DataRange { index: 0, value: 128, bits: 8, .. }), "{err}");
    // External weights must be bound first.
    let mut ext = lower_text(&CONV.replace(
        "param %w: fix<8,4>[9,4] = [-15, -8, -1, 6, 13, -11, -4, 3, 10, -14, -7, 0, 7, 14, -10, -3, 4, 11, -13, -6, 1, 8, 15, -9, -2, 5, 12, -12, -5, 2, 9, -15, -8, -1, 6, 13]",
        "param %w: fix<8,4>[9,4] = weights(\"w\")",
    ))
    .unwrap();
    assert!(matches!(execute_std(&ext, &[vec![0; 36]]), Err(ExecError::UnboundWeight { .. })));
    ext.bind_weights(&|key| (key == "w").then(|| vec![1; 36]));
    assert!(execute_std(&ext, &[vec![0; 36]]).is_ok());
}

#[test]
fn text_errors_are_reported_by_stage() {
    assert!(matches!(lower_text("program {"), Err(TextError::Parse(_))));
    let bad = "program t {\n  input public %x: i8[2]\n  %y: i8[2] = neg %x\n  output %y\n}\n";
    assert!(matches!(lower_text(bad), Err(TextError::Validate(_))));
    let dense = "program t {\n  table @e = #0x07000000 (i8) -> i8\n  input public %x: i8[2]\n  %y: i8[2] = lookup @e %x\n  output %y\n}\n";
    assert!(matches!(lower_text(dense), Err(TextError::Lower(LowerError::Table { .. }))));
}

#[test]
fn the_trace_is_the_lookup_argument_witness() {
    use ark_ff::UniformRand;
    use atlas_prover::lookup::{prove_lookups, LookupWitness};
    use atlas_prover::poly::MultilinearPoly;
    use atlas_prover::verify::{verify_lookups, LookupStatement};
    use atlas_prover::{Transcript, F};

    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let vm: Program = lower(&validate(&mlp(&mut rng)).unwrap()).unwrap();
    let trace = execute_std(&vm, &[random(&mut rng, 16, ACT)]).unwrap();
    let tables: Vec<_> =
        vm.tables.iter().map(|t| atlas_stdlib::table_by_id::<F>(t.id).unwrap()).collect();
    assert!(trace.lookups.len() >= 4, "rescale (advice + clamp) twice, relu");
    for l in &trace.lookups {
        let table = tables.iter().find(|t| t.id() == l.table).unwrap();
        let w = LookupWitness::from_addresses(table.as_ref(), l.addresses.clone()).unwrap();
        let instr = &vm.instrs[l.instr];
        if let Op::Lookup { .. } = instr.op {
            // The lookup's outputs are the destination register's values.
            assert_eq!(
                &w.outputs()[..l.addresses.len()],
                trace.values[instr.dst.index()].as_slice()
            );
        }
        let point: Vec<F> = (0..w.num_vars()).map(|_| F::rand(&mut rng)).collect();
        let value = MultilinearPoly::I64(w.outputs()).evaluate(&point);
        let mut t = Transcript::new(b"atlas/it/vm");
        let (proof, _) = prove_lookups(std::slice::from_ref(&w), &[(point.clone(), value)], &mut t);
        let st = LookupStatement {
            table: table.as_ref(),
            num_vars: w.num_vars(),
            output_point: point,
            output_value: value,
        };
        let mut tv = Transcript::new(b"atlas/it/vm");
        verify_lookups(&[st], &proof, &mut tv)
            .unwrap_or_else(|e| panic!("instruction {}: {e}", l.instr));
    }
    let grouped = trace.by_table();
    assert_eq!(grouped.values().map(Vec::len).sum::<usize>(), trace.lookups.len());
}

/// A random small program: `x[m,k] @ w[k,n]` (+ optional bias), a rescale with random attributes,
/// then optionally relu, a reduction, or a transpose.
#[derive(Debug, Clone)]
struct Case {
    m: usize,
    k: usize,
    n: usize,
    in_bits: u8,
    shift: u8,
    nearest: bool,
    saturate: bool,
    out_bits: u8,
    tail: u8,
    seed: u64,
}

fn case() -> impl Strategy<Value = Case> {
    (
        1usize..4,
        1usize..6,
        1usize..4,
        2u8..=24,
        0u8..=20,
        any::<bool>(),
        any::<bool>(),
        prop::sample::select(vec![4u8, 8, 12, 16]),
        0u8..4,
        any::<u64>(),
    )
        .prop_map(|(m, k, n, in_bits, shift, nearest, saturate, out_bits, tail, seed)| Case {
            m,
            k,
            n,
            in_bits,
            shift,
            nearest,
            saturate,
            out_bits,
            tail,
            seed,
        })
}

fn build(c: &Case) -> Option<atlas_ir::Program> {
    let mut rng = ChaCha20Rng::seed_from_u64(c.seed);
    let e = ElemType::Int { bits: c.in_bits };
    let to = ElemType::Int { bits: c.out_bits };
    let mut b = ProgramBuilder::new("random");
    let relu = b.table(TableRef {
        name: "relu".into(),
        id: 0x0200_0000 | (u32::from(c.out_bits) << 16),
        inputs: vec![to],
        output: to,
    });
    let x = b.input("x", TensorType::new(e, [c.m, c.k]), Visibility::Public);
    let w = b.constant(Some("w"), TensorType::new(e, [c.k, c.n]), random(&mut rng, c.k * c.n, e));
    let acc = b.matmul(x, w).ok()?;
    let rounding = if c.nearest { Rounding::Nearest } else { Rounding::Floor };
    let y = b.rescale(acc, c.shift, rounding, c.saturate, to).ok()?;
    let y = match c.tail {
        0 => y,
        1 => b.lookup(relu, &[y]).ok()?,
        2 => b.reduce(y, ReduceKind::Max, &[1], false).ok()?,
        _ => {
            let t = b.transpose(y, &[1, 0]).ok()?;
            b.reduce(t, ReduceKind::Sum, &[0], true).ok()?
        }
    };
    b.output(y);
    Some(b.finish())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// On random programs and inputs the VM and the evaluator agree: equal outputs, or both fail
    /// (a non-saturating rescale whose result does not fit).
    #[test]
    fn random_programs_agree_with_the_evaluator(c in case(), input_seed in any::<u64>()) {
        let Some(ir) = build(&c) else { return Ok(()) };
        let info = validate(&ir).unwrap();
        let vm = match lower(&info) {
            Ok(vm) => vm,
            // Only the documented limits: tables are at most 32 bits wide.
            Err(LowerError::Unsupported { op, .. }) => { prop_assert!(op == "rescale" || op == "reduce_max"); return Ok(()) }
            Err(e) => panic!("{e}"),
        };
        assert_no_dead_instructions(&vm);
        let mut rng = ChaCha20Rng::seed_from_u64(input_seed);
        let e = ElemType::Int { bits: c.in_bits };
        for x in extremes(c.m * c.k, e).into_iter().chain([random(&mut rng, c.m * c.k, e)]) {
            let got = execute_std(&vm, std::slice::from_ref(&x)).map(|t| t.outputs(&vm));
            let want = eval(&info, &[x], &StdEnv::new());
            match (got, want) {
                (Ok(g), Ok(w)) => prop_assert_eq!(g, w),
                (Err(ExecError::OutOfDomain { .. }), Err(EvalError::DoesNotFit { .. })) => prop_assert!(!c.saturate),
                (g, w) => prop_assert!(false, "VM {:?} vs evaluator {:?}", g, w),
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// The interpreter never panics on a malformed program: a lowered program with one register's
    /// shape or width, or one instruction's operand, changed at random either still runs or is
    /// refused with an error.
    #[test]
    fn mangled_programs_are_errors_not_panics(
        which in 0usize..3,
        at in any::<prop::sample::Index>(),
        value in 0usize..70,
        input_seed in any::<u64>(),
    ) {
        let mut vm = lower_text(MOVES).unwrap();
        let r = at.index(vm.registers.len());
        match which {
            0 => {
                let shape = &mut vm.registers[r].shape;
                if !shape.is_empty() {
                    let d = value % shape.len();
                    shape[d] = value % 7;
                }
            }
            1 => vm.registers[r].bits = value as u8,
            _ => {
                let i = at.index(vm.instrs.len());
                let reg = atlas_vm::Reg(value as u32);
                match &mut vm.instrs[i].op {
                    Op::Add { a, .. } | Op::Sub { a, .. } | Op::Mul { a, .. } | Op::Neg { a } | Op::MatMul { a, .. } => *a = reg,
                    Op::Sum { src, .. } | Op::Reshape { src } | Op::Broadcast { src } | Op::Transpose { src, .. } | Op::Slice { src, .. } | Op::Im2Col { src, .. } | Op::Shr { src, .. } => *src = reg,
                    Op::Concat { srcs, .. } => srcs[0] = reg,
                    Op::Gather { indices, .. } => *indices = reg,
                    Op::Lookup { operands, .. } => operands[0] = reg,
                }
            }
        }
        let mut rng = ChaCha20Rng::seed_from_u64(input_seed);
        let idx: Vec<i64> = (0..3).map(|_| rng.gen_range(0..3)).collect();
        match execute_std(&vm, &[random(&mut rng, 24, ElemType::I8), idx]) {
            Ok(trace) => prop_assert_eq!(trace.values.len(), vm.registers.len()),
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }
}

/// `atlasc asm` on every example: `.atl` → IR → passes → VM listing, with the program's own dense
/// tables resolved. The snapshot shows the source and the listing.
#[test]
fn every_example_lowers_to_a_vm_listing() {
    for name in ["mlp", "cnn", "attention", "swish"] {
        let path = format!("{}/../examples/{name}.atl", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).expect("the example exists");
        let r = atlas_compiler::front::asm_source(&format!("{name}.atl"), &text, false);
        assert_eq!(r.exit_code, 0, "{name}: {}", r.stderr);
        assert!(r.stderr.is_empty(), "{name}: {}", r.stderr);
        insta::assert_snapshot!(
            format!("asm_example_{name}"),
            format!("----- SOURCE\n{text}\n----- ASM\n{}", r.stdout)
        );
    }
}
