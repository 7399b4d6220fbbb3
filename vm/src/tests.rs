//! Unit tests of the interpreter with two toy tables (the real ones live in `atlas-stdlib`, which
//! this crate cannot see; `tests/it/vm.rs` runs lowered IR against them).

use crate::*;

/// `max(x, 0)` over signed 4-bit operands.
#[derive(Debug)]
struct ToyRelu;

/// The identity over unsigned `bits`-bit operands (a range check).
#[derive(Debug)]
struct ToyRange(u32);

fn one_chunk(bits: u32, values: Vec<i64>) -> Decomposition {
    Decomposition {
        chunk_bits: bits,
        num_chunks: 1,
        subtables: vec![Subtable { name: "all", chunk: 0, values }],
        combine: Combine::var(0),
    }
}

impl Table for ToyRelu {
    fn id(&self) -> TableId {
        TableId::new(2, [4, 0, 0])
    }
    fn name(&self) -> String {
        "relu_s4".into()
    }
    fn domain(&self) -> Domain {
        Domain::Signed { bits: 4 }
    }
    fn eval(&self, address: u64) -> i64 {
        (address as i64 - 8).max(0)
    }
    fn decomposition(&self) -> Decomposition {
        one_chunk(4, (0..16).map(|a| self.eval(a)).collect())
    }
}

impl Table for ToyRange {
    fn id(&self) -> TableId {
        TableId::new(1, [self.0 as u8, 0, 0])
    }
    fn name(&self) -> String {
        format!("range{}", self.0)
    }
    fn domain(&self) -> Domain {
        Domain::Unsigned { bits: self.0 }
    }
    fn eval(&self, address: u64) -> i64 {
        address as i64
    }
    fn decomposition(&self) -> Decomposition {
        one_chunk(self.0, (0..1i64 << self.0).collect())
    }
}

struct Toys(Vec<Box<dyn Table>>);

impl TableSet for Toys {
    fn table(&self, id: TableId) -> Option<&dyn Table> {
        self.0.iter().find(|t| t.id() == id).map(|t| t.as_ref())
    }
}

fn toys() -> Toys {
    Toys(vec![Box::new(ToyRelu), Box::new(ToyRange(3))])
}

fn reg(shape: &[usize], bits: u8) -> RegInfo {
    RegInfo { name: None, shape: shape.to_vec(), bits }
}

/// A program with `inputs` registers as inputs (in order), then one instruction per `(op, dst)`.
fn program(regs: Vec<RegInfo>, inputs: usize, instrs: Vec<Op>) -> Program {
    let n = regs.len();
    Program {
        name: "t".into(),
        registers: regs,
        tables: vec![
            TableDecl { id: ToyRelu.id(), name: ToyRelu.name() },
            TableDecl { id: ToyRange(3).id(), name: ToyRange(3).name() },
        ],
        inputs: (0..inputs).map(|i| Input { reg: Reg(i as u32), public: true }).collect(),
        params: vec![],
        consts: vec![],
        instrs: instrs
            .into_iter()
            .enumerate()
            .map(|(i, op)| Instr { dst: Reg((inputs + i) as u32), op })
            .collect(),
        outputs: vec![Reg(n as u32 - 1)],
    }
}

fn run(p: &Program, inputs: &[Vec<i64>]) -> Result<Vec<Vec<i64>>, ExecError> {
    execute(p, inputs, &toys()).map(|t| t.outputs(p))
}

#[test]
fn matmul_is_exact_and_matches_a_naive_loop_on_both_paths() {
    for (m, k, n) in [(2, 3, 2), (64, 64, 64)] {
        let p = program(
            vec![reg(&[m, k], 32), reg(&[k, n], 32), reg(&[m, n], 64)],
            2,
            vec![Op::MatMul { a: Reg(0), b: Reg(1), bias: None }],
        );
        let a: Vec<i64> =
            (0..m * k).map(|i| (i as i64 * 7919) % 100_000_007 - 50_000_000).collect();
        let b: Vec<i64> =
            (0..k * n).map(|i| (i as i64 * 104_729) % 99_999_989 - 49_999_000).collect();
        let got = run(&p, &[a.clone(), b.clone()]).unwrap();
        let want: Vec<i64> = (0..m * n)
            .map(|ij| {
                let (i, j) = (ij / n, ij % n);
                (0..k).map(|t| i128::from(a[i * k + t]) * i128::from(b[t * n + j])).sum::<i128>()
                    as i64
            })
            .collect();
        assert_eq!(got, vec![want], "{m}x{k}x{n}");
    }
}

#[test]
fn batched_matmul_with_shared_and_batched_rhs() {
    let shared = program(
        vec![reg(&[2, 1, 2], 8), reg(&[2, 1], 8), reg(&[2, 1, 1], 16)],
        2,
        vec![Op::MatMul { a: Reg(0), b: Reg(1), bias: None }],
    );
    assert_eq!(run(&shared, &[vec![1, 2, 3, 4], vec![10, 1]]).unwrap(), vec![vec![12, 34]]);
    let batched = program(
        vec![reg(&[2, 1, 2], 8), reg(&[2, 2, 1], 8), reg(&[2, 1, 1], 16)],
        2,
        vec![Op::MatMul { a: Reg(0), b: Reg(1), bias: None }],
    );
    assert_eq!(run(&batched, &[vec![1, 2, 3, 4], vec![10, 1, 1, 10]]).unwrap(), vec![vec![12, 43]]);
}

#[test]
fn lookups_record_addresses_and_refuse_operands_outside_the_domain() {
    let p = program(
        vec![reg(&[4], 8), reg(&[4], 8)],
        1,
        vec![Op::Lookup { table: TableIdx(0), operands: vec![Reg(0)] }],
    );
    let trace = execute(&p, &[vec![-8, -1, 0, 7]], &toys()).unwrap();
    assert_eq!(trace.values[1], vec![0, 0, 0, 7]);
    assert_eq!(
        trace.lookups,
        vec![LookupTrace { instr: 0, table: ToyRelu.id(), addresses: vec![0, 7, 8, 15] }]
    );
    assert_eq!(trace.by_table()[&ToyRelu.id()].len(), 1);
    let err = execute(&p, &[vec![0, 8, 0, 0]], &toys()).unwrap_err();
    assert!(
        matches!(&err, ExecError::OutOfDomain { instr: 0, index: 1, operands, .. } if operands == &[8]),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "instruction 0 (lookup relu_s4): element 1: operands [8] are outside the table's domain: \
         operand 8 is outside the table's domain [-8, 7]"
    );
}

#[test]
fn shr_divides_with_floor_and_nearest_and_range_checks_the_remainder() {
    for (rounding, want) in [
        (Rounding::Floor, vec![-2, -1, -1, 0, 0, 1, 1]),
        (Rounding::Nearest, vec![-2, -1, 0, 0, 1, 1, 2]),
    ] {
        let p = program(
            vec![reg(&[7], 8), reg(&[7], 8)],
            1,
            vec![Op::Shr { src: Reg(0), shift: 3, rounding, rem_table: TableIdx(1), rem_scale: 0 }],
        );
        // -13/8 = -1.625, -8/8, -4/8 = -0.5 (a tie: toward +∞), 0, 4/8 = 0.5, 8/8, 12/8 = 1.5.
        let x = vec![-13, -8, -4, 0, 4, 8, 12];
        let trace = execute(&p, std::slice::from_ref(&x), &toys()).unwrap();
        assert_eq!(trace.values[1], want, "{rounding:?}");
        let bias = if rounding == Rounding::Nearest { 4 } else { 0 };
        let rems: Vec<u64> =
            x.iter().zip(&want).map(|(&x, &q)| (x + bias - q * 8) as u64).collect();
        assert!(rems.iter().all(|&r| r < 8));
        assert_eq!(trace.lookups[0].addresses, rems);
    }
}

#[test]
fn shr_scales_the_remainder_into_a_wider_range_table() {
    // shift 2 checked in range3 as rem·2: addresses are even and below 8.
    let p = program(
        vec![reg(&[4], 8), reg(&[4], 8)],
        1,
        vec![Op::Shr {
            src: Reg(0),
            shift: 2,
            rounding: Rounding::Floor,
            rem_table: TableIdx(1),
            rem_scale: 1,
        }],
    );
    let trace = execute(&p, &[vec![-5, 3, 7, 8]], &toys()).unwrap();
    assert_eq!(trace.values[1], [-2, 0, 1, 2]);
    assert_eq!(trace.lookups[0].addresses, [6, 6, 6, 0]);
    // Scaled by 4, a remainder of 2 or 3 leaves range3: the table is too narrow for shift 2.
    let mut bad = p.clone();
    bad.instrs[0].op = Op::Shr {
        src: Reg(0),
        shift: 2,
        rounding: Rounding::Floor,
        rem_table: TableIdx(1),
        rem_scale: 2,
    };
    let err = execute(&bad, &[vec![3, 0, 0, 0]], &toys()).unwrap_err();
    assert!(matches!(err, ExecError::OutOfDomain { instr: 0, index: 0, .. }), "{err}");
}

#[test]
fn results_that_do_not_fit_their_register_are_errors() {
    let p = program(
        vec![reg(&[1], 8), reg(&[1], 8), reg(&[1], 8)],
        2,
        vec![Op::Add { a: Reg(0), b: Reg(1) }],
    );
    assert_eq!(run(&p, &[vec![100], vec![27]]).unwrap(), vec![vec![127]]);
    let err = run(&p, &[vec![100], vec![28]]).unwrap_err();
    assert_eq!(
        err,
        ExecError::Overflow { instr: 0, op: "add", dst: Reg(2), index: 0, value: 128, bits: 8 }
    );
}

#[test]
fn bad_inputs_are_errors_not_panics() {
    let p = program(
        vec![reg(&[2], 4), reg(&[2], 4), reg(&[2], 5)],
        2,
        vec![Op::Sub { a: Reg(0), b: Reg(1) }],
    );
    assert_eq!(
        run(&p, &[vec![1, 2]]).unwrap_err(),
        ExecError::InputCount { expected: 2, found: 1 }
    );
    assert_eq!(
        run(&p, &[vec![1, 2], vec![1, 2, 3]]).unwrap_err(),
        ExecError::InputLength { input: 1, reg: Reg(1), shape: vec![2], expected: 2, found: 3 }
    );
    assert!(matches!(
        run(&p, &[vec![1, 8], vec![0, 0]]).unwrap_err(),
        ExecError::DataRange { index: 1, value: 8, bits: 4, .. }
    ));
}

#[test]
fn malformed_programs_are_errors() {
    let mut p = program(vec![reg(&[2], 4), reg(&[2], 5)], 1, vec![Op::Neg { a: Reg(1) }]);
    assert!(matches!(
        run(&p, &[vec![1, 2]]).unwrap_err(),
        ExecError::Program(ProgramError::UseBeforeDef { reg: Reg(1), .. })
    ));
    p.instrs[0].op = Op::Add { a: Reg(0), b: Reg(9) };
    assert!(matches!(
        run(&p, &[vec![1, 2]]).unwrap_err(),
        ExecError::Program(ProgramError::UnknownRegister { reg: Reg(9), .. })
    ));
    // Shape errors name the instruction.
    p.registers[1].shape = vec![3];
    p.instrs[0].op = Op::Neg { a: Reg(0) };
    let err = run(&p, &[vec![1, 2]]).unwrap_err();
    assert_eq!(err.to_string(), "instruction 0 (neg): operand shape [2], expected [3]");
    p.tables.clear();
    p.instrs[0].op = Op::Lookup { table: TableIdx(0), operands: vec![Reg(0)] };
    assert!(matches!(
        run(&p, &[vec![1, 2]]).unwrap_err(),
        ExecError::Program(ProgramError::UnknownTable { .. })
    ));
}

#[test]
fn data_movement() {
    // x = [[1, 2, 3], [4, 5, 6]]
    let x = vec![1, 2, 3, 4, 5, 6];
    let one = |op: Op, out: &[usize]| {
        let p = program(vec![reg(&[2, 3], 8), reg(out, 8)], 1, vec![op]);
        run(&p, std::slice::from_ref(&x)).unwrap().remove(0)
    };
    assert_eq!(one(Op::Transpose { src: Reg(0), perm: vec![1, 0] }, &[3, 2]), [1, 4, 2, 5, 3, 6]);
    assert_eq!(one(Op::Reshape { src: Reg(0) }, &[3, 2]), x);
    assert_eq!(
        one(Op::Slice { src: Reg(0), axis: 1, start: 0, end: 3, step: 2 }, &[2, 2]),
        [1, 3, 4, 6]
    );
    assert_eq!(one(Op::Broadcast { src: Reg(0) }, &[2, 2, 3]), [x.clone(), x.clone()].concat());
    assert_eq!(one(Op::Sum { src: Reg(0), axes: vec![1] }, &[2]), [6, 15]);
    assert_eq!(one(Op::Sum { src: Reg(0), axes: vec![0] }, &[1, 3]), [5, 7, 9]);
    let cat = program(
        vec![reg(&[2, 3], 8), reg(&[2, 1], 8), reg(&[2, 4], 8)],
        2,
        vec![Op::Concat { srcs: vec![Reg(0), Reg(1)], axis: 1 }],
    );
    assert_eq!(run(&cat, &[x.clone(), vec![7, 8]]).unwrap()[0], [1, 2, 3, 7, 4, 5, 6, 8]);
    let gather = program(
        vec![reg(&[2, 3], 8), reg(&[2], 8), reg(&[2, 2], 8)],
        2,
        vec![Op::Gather { data: Reg(0), indices: Reg(1), axis: 1 }],
    );
    assert_eq!(run(&gather, &[x.clone(), vec![2, 0]]).unwrap()[0], [3, 1, 6, 4]);
    assert_eq!(
        run(&gather, &[x.clone(), vec![2, 3]]).unwrap_err(),
        ExecError::IndexOutOfRange { instr: 0, index: 1, value: 3, dim: 3 }
    );
    // A 1x1x2x2 image, 2x2 kernel, pad 1 on the width: two patches.
    let im = program(
        vec![reg(&[1, 1, 2, 2], 8), reg(&[1, 2, 4], 8)],
        1,
        vec![Op::Im2Col { src: Reg(0), kernel: [2, 2], stride: [1, 2], pad: [0, 1] }],
    );
    assert_eq!(run(&im, &[vec![1, 2, 3, 4]]).unwrap()[0], [0, 1, 0, 3, 2, 0, 4, 0]);
}

#[test]
fn listing_shows_every_definition() {
    let mut p = program(
        vec![reg(&[4], 4), reg(&[4], 4), reg(&[4], 4)],
        1,
        vec![
            Op::Lookup { table: TableIdx(0), operands: vec![Reg(0)] },
            Op::Shr {
                src: Reg(1),
                shift: 1,
                rounding: Rounding::Nearest,
                rem_table: TableIdx(1),
                rem_scale: 2,
            },
        ],
    );
    p.registers[0].name = Some("x".into());
    assert_eq!(
        listing(&p),
        "program t\n  table t0 = relu_s4 #0x02040000\n  table t1 = range3 #0x01030000\n  \
         r0: i4[4] = input public x\n  r1: i4[4] = lookup t0 r0\n  \
         r2: i4[4] = shr r1 shift=1 round=nearest rem=t1<<2\n  output r2\n"
    );
}
