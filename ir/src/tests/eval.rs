//! The reference evaluator: hand-computed results per op, a convolution checked against a direct
//! loop, and the typing rules' soundness — no arithmetic result ever exceeds its inferred width,
//! even at extreme inputs.

use std::collections::HashMap;

use proptest::prelude::*;

use super::*;
use crate::{eval, validate, Env, EvalError, ParamData, ValueDef, ValueRef};

/// Weights by key; `relu_s16`, `lt_s8`, `exp` and `recip` by simple integer stand-ins.
#[derive(Default)]
struct TestEnv {
    weights: HashMap<String, Vec<i64>>,
}

impl Env for TestEnv {
    fn weight(&self, key: &str) -> Option<Vec<i64>> {
        self.weights.get(key).cloned()
    }

    fn lookup(&self, table: &TableRef, x: &[i64]) -> Option<i64> {
        match table.name.as_str() {
            "relu_s16" => Some(x[0].max(0)),
            "lt_s8" => Some(i64::from(x[0] < x[1])),
            // Not the real functions: monotone stand-ins that stay in fix<16,8>.
            "exp" => Some((x[0] / 2).clamp(0, 32767)),
            "recip" => (x[0] != 0).then(|| 65536 / x[0].max(2)),
            _ => None,
        }
    }
}

/// Evaluates a one-output program built by `build` on `inputs`.
fn run(build: impl FnOnce(&mut ProgramBuilder) -> crate::ValueId, inputs: &[Vec<i64>]) -> Vec<i64> {
    let mut b = ProgramBuilder::new("t");
    let y = build(&mut b);
    b.output(y);
    let p = b.finish();
    let info = validate(&p).unwrap_or_else(|e| panic!("{e}"));
    eval(&info, inputs, &TestEnv::default()).unwrap().remove(0)
}

fn input(b: &mut ProgramBuilder, name: &str, elem: ElemType, shape: &[usize]) -> crate::ValueId {
    b.input(name, t(elem, shape), Visibility::Public)
}

#[test]
fn arithmetic() {
    let i8s = ElemType::I8;
    let mm = run(
        |b| {
            let x = input(b, "x", i8s, &[2, 3]);
            let w = input(b, "w", i8s, &[3, 2]);
            b.matmul(x, w).unwrap()
        },
        &[vec![1, 2, 3, 4, 5, 6], vec![1, 0, 0, 1, -1, -128]],
    );
    assert_eq!(mm, vec![1 - 3, 2 - 384, 4 - 6, 5 - 768]);
    let batched = run(
        |b| {
            let x = input(b, "x", i8s, &[2, 1, 2]);
            let w = input(b, "w", i8s, &[2, 2, 1]);
            b.matmul(x, w).unwrap()
        },
        &[vec![1, 2, 3, 4], vec![10, 20, 30, 40]],
    );
    assert_eq!(batched, vec![50, 250]);
    // The extreme product: -128 · -128 = 16384 needs the 16-bit result type.
    let sq = run(
        |b| {
            let x = input(b, "x", i8s, &[1]);
            b.mul(x, x).unwrap()
        },
        &[vec![-128]],
    );
    assert_eq!(sq, vec![16384]);
    let neg = run(
        |b| {
            let x = input(b, "x", i8s, &[2]);
            b.neg(x).unwrap()
        },
        &[vec![-128, 5]],
    );
    assert_eq!(neg, vec![128, -5]);
    let sums = run(
        |b| {
            let x = input(b, "x", i8s, &[2, 3]);
            b.reduce(x, ReduceKind::Sum, &[1], true).unwrap()
        },
        &[vec![1, 2, 3, -4, -5, -6]],
    );
    assert_eq!(sums, vec![6, -15]);
    let maxes = run(
        |b| {
            let x = input(b, "x", i8s, &[2, 3]);
            b.reduce(x, ReduceKind::Max, &[0], false).unwrap()
        },
        &[vec![1, 7, 3, -4, 8, -6]],
    );
    assert_eq!(maxes, vec![1, 8, 3]);
}

#[test]
fn rescale_rounds_and_saturates() {
    let rescale = |x: Vec<i64>, shift, rounding, saturate| {
        let mut b = ProgramBuilder::new("r");
        let v = input(&mut b, "x", ElemType::I16, &[x.len()]);
        let y = b.rescale(v, shift, rounding, saturate, ElemType::I8).unwrap();
        b.output(y);
        let p = b.finish();
        let info = validate(&p).unwrap();
        eval(&info, &[x], &TestEnv::default()).map(|mut o| o.remove(0))
    };
    // -3/2 = -1.5: floor gives -2, nearest (ties toward +∞) gives -1; 3/2 = 1.5 → 1 and 2.
    assert_eq!(rescale(vec![-3, 3, -4, 5], 1, Rounding::Floor, false), Ok(vec![-2, 1, -2, 2]));
    assert_eq!(rescale(vec![-3, 3, -4, 5], 1, Rounding::Nearest, false), Ok(vec![-1, 2, -2, 3]));
    assert_eq!(rescale(vec![1000, -1000], 2, Rounding::Floor, true), Ok(vec![127, -128]));
    assert_eq!(
        rescale(vec![1000, -1000], 2, Rounding::Floor, false),
        Err(EvalError::DoesNotFit {
            node: ValueRef { id: crate::ValueId(1), name: None },
            index: 0,
            datum: 250,
            elem: ElemType::I8,
        })
    );
}

#[test]
fn data_movement() {
    let x6 = vec![1, 2, 3, 4, 5, 6];
    let tr = run(
        |b| {
            let x = input(b, "x", ElemType::I8, &[2, 3]);
            b.transpose(x, &[1, 0]).unwrap()
        },
        std::slice::from_ref(&x6),
    );
    assert_eq!(tr, vec![1, 4, 2, 5, 3, 6]);
    let bc = run(
        |b| {
            let x = input(b, "x", ElemType::I8, &[3]);
            b.broadcast(x, &[2, 3]).unwrap()
        },
        &[vec![7, 8, 9]],
    );
    assert_eq!(bc, vec![7, 8, 9, 7, 8, 9]);
    let col = run(
        |b| {
            let x = input(b, "x", ElemType::I8, &[2, 1]);
            b.broadcast(x, &[2, 2]).unwrap()
        },
        &[vec![7, 8]],
    );
    assert_eq!(col, vec![7, 7, 8, 8]);
    let sl = run(
        |b| {
            let x = input(b, "x", ElemType::I8, &[2, 3]);
            b.slice(x, 1, 0, 3, 2).unwrap()
        },
        std::slice::from_ref(&x6),
    );
    assert_eq!(sl, vec![1, 3, 4, 6]);
    let cat = run(
        |b| {
            let x = input(b, "x", ElemType::I8, &[2, 3]);
            let y = b.slice(x, 1, 2, 3, 1).unwrap();
            b.concat(&[y, x], 1).unwrap()
        },
        std::slice::from_ref(&x6),
    );
    assert_eq!(cat, vec![3, 1, 2, 3, 6, 4, 5, 6]);
    let g = run(
        |b| {
            let x = input(b, "x", ElemType::I8, &[3, 2]);
            let i = b.constant(None, t(ElemType::I32, &[2, 2]), vec![2, 0, 1, 1]);
            b.gather(x, i, 0).unwrap()
        },
        std::slice::from_ref(&x6),
    );
    assert_eq!(g, vec![5, 6, 1, 2, 3, 4, 3, 4]);
    let cast = run(
        |b| {
            let x = input(b, "x", ElemType::fix(8, 4), &[2]);
            b.cast(x, ElemType::fix(12, 8)).unwrap()
        },
        &[vec![-3, 5]],
    );
    assert_eq!(cast, vec![-48, 80]);
}

#[test]
fn lookups_and_their_errors() {
    let mut b = ProgramBuilder::new("l");
    let relu = b.table(relu16());
    let recip =
        b.table(TableRef { name: "recip".into(), id: 0x0701_0000, inputs: vec![ACT], output: ACT });
    let x = input(&mut b, "x", ACT, &[3]);
    let y = b.lookup(relu, &[x]).unwrap();
    let z = b.lookup(recip, &[y]).unwrap();
    b.output(y);
    b.output(z);
    let p = b.finish();
    let info = validate(&p).unwrap();
    let env = TestEnv::default();
    assert_eq!(
        eval(&info, &[vec![-5, 256, 512]], &env),
        Err(EvalError::NotInTable {
            node: ValueRef { id: crate::ValueId(2), name: None },
            table: "recip".into(),
            operands: vec![0],
        })
    );
    assert_eq!(
        eval(&info, &[vec![3, 256, 512]], &env),
        Ok(vec![vec![3, 256, 512], vec![65536 / 3, 256, 128]])
    );
    // The stand-in recip returns 2^15 at 1, outside fix<16,8>: the table broke its signature.
    assert_eq!(
        eval(&info, &[vec![1, 256, 512]], &env),
        Err(EvalError::TableOutput {
            node: ValueRef { id: crate::ValueId(2), name: None },
            index: 0,
            datum: 32768,
            elem: ACT,
        })
    );
}

#[test]
fn inputs_and_weights_are_checked() {
    let p = mlp();
    let info = validate(&p).unwrap();
    let env = TestEnv::default();
    assert_eq!(eval(&info, &[], &env), Err(EvalError::InputCount { expected: 1, found: 0 }));
    assert_eq!(
        eval(&info, &[vec![0; 64]], &env),
        Err(EvalError::MissingWeight {
            value: ValueRef { id: crate::ValueId(1), name: Some("w1".into()) },
            key: "w1".into(),
        })
    );
    let mut x = vec![0; 64];
    x[3] = 40000;
    assert_eq!(
        eval(&info, &[x], &env),
        Err(EvalError::OutOfRange {
            value: ValueRef { id: crate::ValueId(0), name: Some("x".into()) },
            index: 3,
            datum: 40000,
            elem: ACT,
        })
    );
}

#[test]
fn conv_example_matches_a_direct_convolution() {
    let p = conv();
    let info = validate(&p).unwrap();
    let ValueDef::Param { data: ParamData::Inline(w) } = &p.values[1].def else { panic!("w") };
    let ValueDef::Const { data: bias } = &p.values[2].def else { panic!("bias") };
    let x: Vec<i64> = (0..36).map(|i| (i * 37 % 256) - 128).collect();
    let y = eval(&info, std::slice::from_ref(&x), &TestEnv::default()).unwrap().remove(0);
    // Direct: y[o, i, j] = sat(floor((Σ_{ki,kj} x[i+ki-1, j+kj-1] · w[ki·3+kj, o] + bias[o]) / 16)).
    let mut direct = vec![0i64; 4 * 36];
    for o in 0..4 {
        for i in 0..6i64 {
            for j in 0..6i64 {
                let mut acc = bias[o];
                for ki in 0..3i64 {
                    for kj in 0..3i64 {
                        let (yy, xx) = (i + ki - 1, j + kj - 1);
                        if (0..6).contains(&yy) && (0..6).contains(&xx) {
                            acc += x[(yy * 6 + xx) as usize] * w[((ki * 3 + kj) * 4) as usize + o];
                        }
                    }
                }
                direct[o * 36 + (i * 6 + j) as usize] = acc.div_euclid(16).clamp(-128, 127);
            }
        }
    }
    assert_eq!(y, direct);
}

/// Extreme values reach the bounds the typing rules were derived from.
fn extreme_input(ty: &TensorType, seed: &mut u64) -> Vec<i64> {
    let (min, max) = ty.elem.range().unwrap();
    (0..ty.num_elements().unwrap())
        .map(|_| {
            *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            match (*seed >> 33) % 4 {
                0 => min,
                1 => max,
                2 => 0,
                _ => ((*seed >> 40) as i64 % 100).clamp(min, max),
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// No arithmetic result of a valid program ever overflows its inferred type.
    #[test]
    fn inferred_widths_are_never_exceeded(raw in prop::collection::vec(any::<u32>(), 0..200), seed: u64) {
        let mut p = super::roundtrip::random_program(&raw);
        let mut seed = seed;
        let mut env = TestEnv::default();
        // Give each external param its own key, with data in its type.
        for (i, v) in p.values.iter_mut().enumerate() {
            if let ValueDef::Param { data: ParamData::External { key } } = &mut v.def {
                *key = format!("k{i}");
                env.weights.insert(key.clone(), extreme_input(&v.ty, &mut seed));
            }
        }
        let info = validate(&p).unwrap_or_else(|e| panic!("{e}"));
        let inputs: Vec<Vec<i64>> = p.inputs().map(|(_, v)| extreme_input(&v.ty, &mut seed)).collect();
        match eval(&info, &inputs, &env) {
            Ok(outputs) => prop_assert_eq!(outputs.len(), p.outputs.len()),
            // A non-saturating rescale asserts a fit that random data need not meet.
            Err(EvalError::DoesNotFit { .. }) => {}
            Err(e) => panic!("{e}\n{}", crate::print(&p)),
        }
    }
}

/// `affine` is its parts: the exact product, the bias cast up to the product's fractional bits on
/// every row, then the rescale (rounding and saturation as `rescale`'s). Its text round-trips, and
/// a bias of the wrong shape or with too many fractional bits is a typing error.
#[test]
fn affine_is_matmul_bias_rescale() {
    let act = ElemType::fix(16, 8);
    let op =
        |saturate| crate::Op::Affine { shift: 8, rounding: Rounding::Nearest, saturate, to: act };
    let build = |b: &mut ProgramBuilder, saturate| {
        let x = input(b, "x", act, &[2, 2]);
        let w = input(b, "w", act, &[2, 3]);
        let bias = input(b, "b", ElemType::fix(8, 4), &[3]);
        b.node(op(saturate), &[x, w, bias]).unwrap()
    };
    // x = [[1, 2], [0.5, -1]], w = [[1, 0, 2], [0, 1, 0.25]], b = [0.5, -0.25, 1] (reals).
    let inputs = [vec![256, 512, 128, -256], vec![256, 0, 512, 0, 256, 64], vec![8, -4, 16]];
    let y = run(|b| build(b, true), &inputs);
    // Rows: [1.5, 1.75, 3.5] and [1, -1.25, 1.75], at 8 fractional bits.
    assert_eq!(y, vec![384, 448, 896, 256, -320, 448]);
    // Saturation clamps; without it an overflow is an error, as for `rescale`.
    let big = [vec![32767; 4], vec![32767; 6], vec![127; 3]];
    assert_eq!(run(|b| build(b, true), &big), vec![32767; 6]);
    let mut b = ProgramBuilder::new("t");
    let y = build(&mut b, false);
    b.output(y);
    let p = b.finish();
    let info = validate(&p).unwrap();
    assert!(eval(&info, &big, &TestEnv::default()).is_err());
    assert_eq!(crate::parse(&crate::print(&p)), Ok(p.clone()));
    assert!(crate::print(&p).contains("= affine %x, %w, %b shift=8 round=nearest\n"));

    let mut b = ProgramBuilder::new("t");
    let x = input(&mut b, "x", act, &[2, 2]);
    let w = input(&mut b, "w", act, &[2, 3]);
    let row = input(&mut b, "row", act, &[1, 3]);
    let fine = input(&mut b, "fine", ElemType::fix(24, 20), &[3]);
    assert!(b.node(op(true), &[x, w, row]).is_err(), "a [1, 3] bias");
    assert!(b.node(op(true), &[x, w, fine]).is_err(), "20 fractional bits over a product's 16");
}
