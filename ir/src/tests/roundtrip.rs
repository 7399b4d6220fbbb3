//! Property tests: random valid programs survive print → parse unchanged, printing is a fixpoint,
//! and the parser never panics on arbitrary or mangled input.

use proptest::prelude::*;

use super::*;
use crate::{parse, print, validate, Op, ValueId};

/// Draws decisions from a proptest-generated list (so failures shrink), 0 once it runs out.
struct Choices<'a> {
    raw: &'a [u32],
    at: usize,
}

impl Choices<'_> {
    fn next(&mut self) -> u32 {
        let x = self.raw.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        x
    }

    /// Uniform-ish in `0..n` (0 when `n` is 0).
    fn below(&mut self, n: usize) -> usize {
        self.next() as usize % n.max(1)
    }

    fn coin(&mut self) -> bool {
        self.next() % 2 == 0
    }

    fn pick<T: Clone>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())].clone()
    }
}

const ELEMS: [ElemType; 5] =
    [ElemType::I8, ElemType::I16, ElemType::fix(16, 8), ElemType::fix(8, 4), ElemType::I32];

fn random_shape(c: &mut Choices<'_>, max_rank: usize) -> Vec<usize> {
    let rank = c.below(max_rank + 1);
    (0..rank).map(|_| 1 + c.below(4)).collect()
}

fn random_data(c: &mut Choices<'_>, ty: &TensorType) -> Vec<i64> {
    let (min, max) = ty.elem.range().unwrap();
    let n = ty.num_elements().unwrap();
    (0..n)
        .map(|_| match c.below(4) {
            0 => min,
            1 => max,
            _ => (c.next() as i64 % 200).clamp(min, max),
        })
        .collect()
}

/// A random valid program built with the builder: random inputs, params and constants, then
/// random ops on random earlier values; ops the typing rules refuse are skipped.
pub(super) fn random_program(raw: &[u32]) -> Program {
    let c = &mut Choices { raw, at: 0 };
    let mut b = ProgramBuilder::new(c.pick(&["p", "model", "net.v2"]));
    let relu = b.table(relu16());
    let lt = b.table(TableRef {
        name: "lt_s8".into(),
        id: 0x0508_0100,
        inputs: vec![ElemType::I8, ElemType::I8],
        output: ElemType::Int { bits: 2 },
    });
    let mut names = 0;
    let mut fresh = |prefix: &str| {
        names += 1;
        format!("{prefix}{names}")
    };
    for _ in 0..1 + c.below(3) {
        let ty = t(c.pick(&ELEMS), &random_shape(c, 3));
        let vis = if c.coin() { Visibility::Public } else { Visibility::Private };
        b.input(&fresh("x"), ty, vis);
    }
    if c.coin() {
        // A 4-D input for im2col.
        let shape = [1 + c.below(2), 1 + c.below(2), 2 + c.below(3), 2 + c.below(3)];
        b.input(&fresh("img"), t(c.pick(&ELEMS), &shape), Visibility::Private);
    }
    for _ in 0..c.below(3) {
        let ty = t(c.pick(&ELEMS), &random_shape(c, 2));
        if c.coin() {
            let key = c.pick(&["w", "layer.0/weight", "a \"quoted\" key"]);
            b.param(&fresh("w"), ty, ParamData::External { key: key.into() });
        } else {
            let data = random_data(c, &ty);
            b.param(&fresh("w"), ty, ParamData::Inline(data));
        }
    }
    for _ in 0..c.below(3) {
        let ty = t(c.pick(&ELEMS), &random_shape(c, 2));
        let data = random_data(c, &ty);
        let name = if c.coin() { Some(fresh("c")) } else { None };
        b.constant(name.as_deref(), ty, data);
    }
    for _ in 0..c.below(24) {
        let n = b.program().values.len();
        let x = ValueId(c.below(n) as u32);
        let y = ValueId(c.below(n) as u32);
        let xt = b.ty(x).unwrap().clone();
        let rank = xt.rank();
        let op = match c.below(17) {
            0 => Op::MatMul,
            1 => Op::Add,
            2 => Op::Sub,
            3 => Op::Mul,
            4 => Op::Neg,
            5 if rank > 0 => {
                let mut axes: Vec<usize> = (0..rank).filter(|_| c.coin()).collect();
                if axes.is_empty() {
                    axes.push(c.below(rank));
                }
                let kind = if c.coin() { ReduceKind::Sum } else { ReduceKind::Max };
                Op::Reduce { kind, axes, keep_dims: c.coin() }
            }
            6 => {
                let mut shape: Vec<usize> =
                    xt.shape.iter().map(|&d| if d == 1 { 1 + c.below(3) } else { d }).collect();
                if c.coin() {
                    shape.insert(0, 1 + c.below(3));
                }
                Op::Broadcast { shape }
            }
            7 => {
                let n = xt.num_elements().unwrap();
                let shape = if c.coin() { vec![n] } else { vec![1, n, 1] };
                Op::Reshape { shape }
            }
            8 => {
                let mut perm: Vec<usize> = (0..rank).collect();
                for i in (1..rank).rev() {
                    perm.swap(i, c.below(i + 1));
                }
                Op::Transpose { perm }
            }
            9 if rank > 0 => {
                let axis = c.below(rank);
                let start = c.below(xt.shape[axis] + 1);
                let end = start + c.below(xt.shape[axis] - start + 1);
                Op::Slice { axis, start, end, step: 1 + c.below(3) }
            }
            10 if rank > 0 => Op::Concat { axis: c.below(rank) },
            11 if xt.shape.iter().any(|&d| d > 0) => {
                // Indices as an inline constant, in range of the gathered (non-empty) axis.
                let axes: Vec<usize> = (0..rank).filter(|&a| xt.shape[a] > 0).collect();
                let axis = c.pick(&axes);
                let len = 1 + c.below(3);
                let idx: Vec<i64> = (0..len).map(|_| c.below(xt.shape[axis]) as i64).collect();
                let idx = b.constant(None, t(ElemType::I32, &[len]), idx);
                b.gather(x, idx, axis).ok();
                continue;
            }
            12 => Op::Im2Col {
                kernel: [1 + c.below(2), 1 + c.below(2)],
                stride: [1 + c.below(2), 1 + c.below(2)],
                pad: [c.below(2), c.below(2)],
            },
            13 => {
                let shift = c.below(9) as u8;
                let frac = xt.elem.frac().unwrap();
                let to = match xt.elem {
                    ElemType::Fix { .. } if shift <= frac => ElemType::fix(16, frac - shift),
                    _ => c.pick(&[ElemType::I8, ElemType::I16]),
                };
                let rounding = if c.coin() { Rounding::Floor } else { Rounding::Nearest };
                Op::Rescale { shift, rounding, saturate: c.coin(), to }
            }
            14 => {
                let extra = c.below(4) as u8;
                let to = match xt.elem {
                    ElemType::Fix { bits, frac } => ElemType::fix(bits + 8, frac + extra),
                    e => ElemType::Int { bits: e.bits().unwrap() + extra },
                };
                Op::Cast { to }
            }
            15 => Op::Lookup { table: relu },
            _ => Op::Lookup { table: lt },
        };
        // Random pairs rarely fit: prefer a partner of a fitting shape (or type), so that most
        // attempted nodes are built.
        let fitting = |pred: &dyn Fn(&TensorType) -> bool| -> Vec<ValueId> {
            b.program().ids().filter(|&v| pred(b.ty(v).unwrap())).collect()
        };
        let partner = |c: &mut Choices<'_>, pred: &dyn Fn(&TensorType) -> bool| {
            let fit = fitting(pred);
            if fit.is_empty() || c.below(4) == 0 {
                y
            } else {
                c.pick(&fit)
            }
        };
        let operands = match &op {
            Op::Add | Op::Sub | Op::Mul => vec![x, partner(c, &|t| t.shape == xt.shape)],
            Op::MatMul => {
                let k = xt.shape.last().copied();
                vec![x, partner(c, &|t| t.rank() == 2 && Some(t.shape[0]) == k)]
            }
            Op::Concat { .. } => vec![x; 1 + c.below(3)],
            Op::Lookup { table } if *table == lt => {
                let i8s = |t: &TensorType| t.elem == ElemType::I8;
                let x = partner(c, &i8s);
                let xs = b.ty(x).unwrap().shape.clone();
                vec![x, partner(c, &|t| i8s(t) && t.shape == xs)]
            }
            Op::Lookup { .. } => vec![partner(c, &|t| t.elem == ElemType::fix(16, 8))],
            _ => vec![x],
        };
        if let Ok(v) = b.node(op, &operands) {
            if c.below(3) == 0 {
                b.set_name(v, &fresh("v"));
            }
        }
    }
    let n = b.program().values.len();
    b.output(ValueId(n as u32 - 1));
    let extra = ValueId(c.below(n) as u32);
    if extra.index() != n - 1 {
        b.output(extra);
    }
    b.finish()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn print_parse_round_trips(raw in prop::collection::vec(any::<u32>(), 0..200)) {
        let p = random_program(&raw);
        if let Err(e) = validate(&p) {
            panic!("the generator made an invalid program:\n{}\n{e}", print(&p));
        }
        let text = print(&p);
        let back = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        prop_assert_eq!(&back, &p);
        prop_assert_eq!(print(&back), text);
    }

    #[test]
    fn parser_never_panics_on_arbitrary_text(s in "\\PC*") {
        let _ = parse(&s);
    }

    #[test]
    fn parser_never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = parse(&String::from_utf8_lossy(&bytes));
    }

    /// Mangled real programs reach deep into the grammar, unlike random text.
    #[test]
    fn parser_never_panics_on_mangled_programs(
        which in 0usize..3,
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8),
    ) {
        let mut bytes = print(&examples()[which]).into_bytes();
        for (at, byte, kind) in edits {
            if bytes.is_empty() {
                break;
            }
            let i = at.index(bytes.len());
            match kind {
                0 => bytes[i] = byte,
                1 => { bytes.remove(i); }
                _ => bytes.insert(i, b"%@#[]{}<>,:=-0123456789x\n\""[byte as usize % 26]),
            }
        }
        if let Ok(p) = parse(&String::from_utf8_lossy(&bytes)) {
            // Whatever parses must also validate (or be rejected) without panicking.
            let _ = validate(&p);
            let _ = print(&p);
        }
    }
}

/// Breaks a valid program at random, the way a buggy pass might: operands, types, attributes,
/// tables and outputs. Structures the parser could never produce are reached here.
fn mutate(p: &mut Program, raw: &[u32]) {
    let c = &mut Choices { raw, at: 0 };
    for _ in 0..1 + c.below(4) {
        let n = p.values.len();
        let v = c.below(n);
        let wild = |c: &mut Choices<'_>| c.below(n + 3) as u32;
        match c.below(7) {
            0 => {
                if let crate::ValueDef::Node(node) = &mut p.values[v].def {
                    if !node.operands.is_empty() {
                        let k = c.below(node.operands.len());
                        node.operands[k] = ValueId(wild(c));
                    } else {
                        node.operands.push(ValueId(wild(c)));
                    }
                }
            }
            1 => {
                let shape = &mut p.values[v].ty.shape;
                match c.below(3) {
                    0 => shape.push(c.below(5)),
                    1 => {
                        shape.pop();
                    }
                    _ => shape.iter_mut().for_each(|d| *d = c.below(1 << 20)),
                }
            }
            2 => {
                p.values[v].ty.elem = c.pick(&[
                    ElemType::Int { bits: 0 },
                    ElemType::Int { bits: 200 },
                    ElemType::fix(8, 9),
                    ElemType::Bf16,
                    ElemType::F8E4M3,
                    ElemType::I64,
                ]);
            }
            3 => {
                if let crate::ValueDef::Node(node) = &mut p.values[v].def {
                    let big = c.next() as usize;
                    node.op = match c.below(8) {
                        0 => Op::Reduce {
                            kind: ReduceKind::Sum,
                            axes: vec![big, 0],
                            keep_dims: true,
                        },
                        1 => Op::Transpose { perm: vec![big % 4, 7] },
                        2 => Op::Slice { axis: big % 3, start: big, end: 1, step: 0 },
                        3 => Op::Concat { axis: big },
                        4 => Op::Gather { axis: big % 3 },
                        5 => Op::Im2Col { kernel: [big, 0], stride: [0, big], pad: [big, big] },
                        6 => Op::Lookup { table: crate::TableHandle(big as u32 % 4) },
                        _ => Op::Rescale {
                            shift: (big % 256) as u8,
                            rounding: Rounding::Floor,
                            saturate: false,
                            to: ElemType::Int { bits: 0 },
                        },
                    };
                }
            }
            4 => {
                if let Some(t) = p.tables.get_mut(c.below(2)) {
                    t.inputs = (0..c.below(4)).map(|_| ElemType::I8).collect();
                }
            }
            5 => p.outputs.push(ValueId(wild(c))),
            _ => {
                if let crate::ValueDef::Const { data } = &mut p.values[v].def {
                    data.push(i64::MIN);
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    /// `validate`, `print` and `parse` never panic on broken programs, and validate rejects
    /// what the mutation broke or accepts a program that still round-trips.
    #[test]
    fn broken_programs_never_panic(
        raw in prop::collection::vec(any::<u32>(), 0..200),
        edits in prop::collection::vec(any::<u32>(), 1..40),
    ) {
        let mut p = random_program(&raw);
        mutate(&mut p, &edits);
        let text = print(&p);
        if validate(&p).is_ok() {
            prop_assert_eq!(parse(&text), Ok(p));
        } else {
            let _ = parse(&text).map(|q| validate(&q).is_ok());
        }
    }
}

#[test]
fn generator_covers_every_op() {
    // Guards against a generator that silently stops producing some op: over a fixed batch of
    // seeds, every op appears in some program.
    let mut seen = std::collections::BTreeSet::new();
    let mut state = 0x2545_f491u32;
    for _ in 0..400 {
        let raw: Vec<u32> = (0..200)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state
            })
            .collect();
        for v in random_program(&raw).values {
            if let crate::ValueDef::Node(n) = v.def {
                seen.insert(n.op.name());
            }
        }
    }
    let all = [
        "matmul",
        "add",
        "sub",
        "mul",
        "neg",
        "reduce_sum",
        "reduce_max",
        "broadcast",
        "reshape",
        "transpose",
        "slice",
        "concat",
        "gather",
        "im2col",
        "rescale",
        "cast",
        "lookup",
    ];
    let missing: Vec<_> = all.iter().filter(|o| !seen.contains(*o)).collect();
    assert!(missing.is_empty(), "never generated: {missing:?}");
}
