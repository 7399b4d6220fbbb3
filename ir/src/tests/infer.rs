//! Typing rules: exact result widths and the refusals `validate` relies on.

use super::*;
use crate::{bits_for, infer, Count, InferError, Op, TableHandle, TypeError};

fn ty<const N: usize>(op: Op, operands: [TensorType; N]) -> Result<TensorType, InferError> {
    let refs: Vec<&TensorType> = operands.iter().collect();
    infer(&op, &refs, &[relu16()])
}

#[test]
fn widths_are_exact() {
    assert_eq!(bits_for(-128, 127), 8);
    assert_eq!(bits_for(-128, 128), 9);
    assert_eq!(bits_for(0, 0), 1);
    assert_eq!(bits_for(-1, 0), 1);
    assert_eq!(bits_for(0, 1 << 126), 128);
    assert_eq!(bits_for(i128::MIN, i128::MAX), 128);
    assert_eq!(bits_for(-(1 << 126), (1 << 126) - 1), 127);
    // i8 × i8 over 64 terms: products reach 2^14 (from -128 · -128), sums 2^20: 22 bits.
    let i8s = |s: &[usize]| t(ElemType::I8, s);
    assert_eq!(
        ty(Op::MatMul, [i8s(&[1, 64]), i8s(&[64, 3])]),
        Ok(t(ElemType::Int { bits: 22 }, &[1, 3]))
    );
    // fix<16,8> × fix<16,8> over 64 terms: 2^30 · 64 = 2^36 needs 38 bits, 16 fractional.
    assert_eq!(
        ty(Op::MatMul, [t(ACT, &[2, 64]), t(ACT, &[64, 5])]),
        Ok(t(ElemType::fix(38, 16), &[2, 5]))
    );
    // Mixing an integer and a fixed-point operand gives fixed point.
    assert_eq!(ty(Op::Mul, [i8s(&[3]), t(ACT, &[3])]), Ok(t(ElemType::fix(24, 8), &[3])));
    assert_eq!(ty(Op::Add, [t(ACT, &[3]), t(ACT, &[3])]), Ok(t(ElemType::fix(17, 8), &[3])));
    assert_eq!(
        ty(Op::Sub, [i8s(&[3]), t(ElemType::I16, &[3])]),
        Ok(t(ElemType::Int { bits: 17 }, &[3]))
    );
    assert_eq!(ty(Op::Neg, [i8s(&[2])]), Ok(t(ElemType::Int { bits: 9 }, &[2])));
    // Sum of 10 i8s lies in [-1280, 1270]: 12 bits. Max keeps the type.
    let sum = Op::Reduce { kind: ReduceKind::Sum, axes: vec![1], keep_dims: false };
    assert_eq!(ty(sum, [i8s(&[2, 10])]), Ok(t(ElemType::Int { bits: 12 }, &[2])));
    let max = Op::Reduce { kind: ReduceKind::Max, axes: vec![0, 1], keep_dims: true };
    assert_eq!(ty(max.clone(), [i8s(&[2, 10])]), Ok(t(ElemType::I8, &[1, 1])));
    assert_eq!(ty(max, [i8s(&[2, 0])]), Err(InferError::EmptyMax { axis: 1 }));
}

#[test]
fn too_wide_is_refused() {
    let wide = t(ElemType::Int { bits: 40 }, &[4, 4]);
    assert_eq!(
        ty(Op::MatMul, [wide.clone(), wide]),
        Err(InferError::TooWide { op: "matmul", bits: 82 })
    );
}

#[test]
fn huge_reductions_are_too_wide_not_a_panic() {
    // 2^124 elements cannot even be counted.
    let x = t(ElemType::I64, &[1 << 62, 1 << 62]);
    let sum = Op::Reduce { kind: ReduceKind::Sum, axes: vec![0, 1], keep_dims: false };
    assert_eq!(ty(sum, [x]), Err(InferError::TooManyElements));
    let x = t(ElemType::I64, &[1 << 62]);
    let sum = Op::Reduce { kind: ReduceKind::Sum, axes: vec![0], keep_dims: false };
    assert_eq!(ty(sum, [x]), Err(InferError::TooWide { op: "reduce_sum", bits: 126 }));
}

#[test]
fn lookup_through_a_table_without_inputs_is_an_error() {
    let empty = TableRef { name: "none".into(), id: 0, inputs: vec![], output: ACT };
    let op = Op::Lookup { table: TableHandle(0) };
    assert_eq!(
        infer(&op, &[], std::slice::from_ref(&empty)),
        Err(InferError::Arity { op: "lookup", expected: Count::OneOf(1, 2), found: 0 })
    );
}

#[test]
fn matmul_beyond_i128_is_too_wide() {
    let x = t(ElemType::I64, &[1, 1 << 40]);
    let w = t(ElemType::I64, &[1 << 40, 1]);
    assert_eq!(ty(Op::MatMul, [x, w]), Err(InferError::TooWide { op: "matmul", bits: 169 }));
}

#[test]
fn batched_matmul() {
    let a = t(ElemType::I8, &[5, 2, 3]);
    assert_eq!(ty(Op::MatMul, [a.clone(), t(ElemType::I8, &[3, 4])]).unwrap().shape, vec![5, 2, 4]);
    assert_eq!(
        ty(Op::MatMul, [a.clone(), t(ElemType::I8, &[5, 3, 4])]).unwrap().shape,
        vec![5, 2, 4]
    );
    assert_eq!(
        ty(Op::MatMul, [a.clone(), t(ElemType::I8, &[6, 3, 4])]),
        Err(InferError::DimMismatch { op: "matmul", operand: 1, axis: 0, expected: 5, found: 6 })
    );
    assert_eq!(
        ty(Op::MatMul, [a, t(ElemType::I8, &[1, 5, 3, 4])]),
        Err(InferError::RankMismatch {
            op: "matmul",
            operand: 1,
            expected: Count::OneOf(2, 3),
            found: 4
        })
    );
}

#[test]
fn shape_ops() {
    let x = t(ElemType::I8, &[2, 3, 4]);
    let slice = Op::Slice { axis: 2, start: 1, end: 4, step: 2 };
    assert_eq!(ty(slice, [x.clone()]).unwrap().shape, vec![2, 3, 2]);
    let bad = Op::Slice { axis: 2, start: 1, end: 5, step: 1 };
    assert_eq!(
        ty(bad, [x.clone()]),
        Err(InferError::BadSlice { axis: 2, start: 1, end: 5, step: 1, dim: 4 })
    );
    assert_eq!(
        ty(Op::Concat { axis: 1 }, [x.clone(), t(ElemType::I8, &[2, 5, 4])]).unwrap().shape,
        vec![2, 8, 4]
    );
    assert_eq!(
        ty(Op::Concat { axis: 1 }, [x.clone(), t(ElemType::I8, &[2, 5, 3])]),
        Err(InferError::DimMismatch { op: "concat", operand: 1, axis: 2, expected: 4, found: 3 })
    );
    let idx = t(ElemType::I32, &[5, 6]);
    assert_eq!(ty(Op::Gather { axis: 1 }, [x.clone(), idx]).unwrap().shape, vec![2, 5, 6, 4]);
    assert_eq!(
        ty(Op::Gather { axis: 0 }, [x.clone(), t(ACT, &[1])]),
        Err(InferError::NotInteger { op: "gather", operand: 1, found: ACT })
    );
    assert_eq!(
        ty(Op::Transpose { perm: vec![2, 0, 1] }, [x.clone()]).unwrap().shape,
        vec![4, 2, 3]
    );
    assert_eq!(
        ty(Op::Reduce { kind: ReduceKind::Sum, axes: vec![1, 1], keep_dims: false }, [x.clone()]),
        Err(InferError::BadAxes { op: "reduce_sum", axes: vec![1, 1] })
    );
    assert_eq!(
        ty(Op::Broadcast { shape: vec![4] }, [x]),
        Err(InferError::RankMismatch {
            op: "broadcast",
            operand: 0,
            expected: Count::AtMost(1),
            found: 3
        })
    );
}

#[test]
fn im2col_shapes() {
    let x = t(ElemType::I8, &[2, 3, 8, 6]);
    let op = Op::Im2Col { kernel: [3, 3], stride: [2, 1], pad: [1, 0] };
    // Rows: (8 + 2 - 3) / 2 + 1 = 4 by (6 - 3) / 1 + 1 = 4; columns 3 · 3 · 3.
    assert_eq!(ty(op, [x.clone()]), Ok(t(ElemType::I8, &[2, 16, 27])));
    let op = Op::Im2Col { kernel: [9, 3], stride: [1, 1], pad: [0, 0] };
    assert!(matches!(ty(op, [x]), Err(InferError::BadWindow { .. })));
}

#[test]
fn rescale_and_cast() {
    let acc = t(ElemType::fix(38, 16), &[2]);
    let r = |shift, to| Op::Rescale { shift, rounding: Rounding::Floor, saturate: true, to };
    assert_eq!(ty(r(8, ACT), [acc.clone()]), Ok(t(ACT, &[2])));
    assert_eq!(
        ty(r(4, ACT), [acc.clone()]),
        Err(InferError::RescaleFrac {
            from: ElemType::fix(38, 16),
            to: ACT,
            shift: 4,
            expected: 12,
            found: 8
        })
    );
    // Integers carry no scale: any shift is allowed.
    assert_eq!(
        ty(r(7, ElemType::I8), [t(ElemType::Int { bits: 22 }, &[2])]),
        Ok(t(ElemType::I8, &[2]))
    );
    assert_eq!(
        ty(r(0, ElemType::Bf16), [acc.clone()]),
        Err(InferError::BadResultType {
            op: "rescale",
            found: ElemType::Bf16,
            error: TypeError::UnsupportedFloat { elem: ElemType::Bf16 }
        })
    );
    let cast = |to| Op::Cast { to };
    // fix<16,8> → fix<24,16> multiplies by 2^8: needs 8 more bits, has them.
    assert_eq!(ty(cast(ElemType::fix(24, 16)), [t(ACT, &[1])]), Ok(t(ElemType::fix(24, 16), &[1])));
    assert_eq!(
        ty(cast(ElemType::fix(23, 16)), [t(ACT, &[1])]),
        Err(InferError::BadCast { from: ACT, to: ElemType::fix(23, 16) })
    );
    assert_eq!(
        ty(cast(ElemType::I32), [t(ACT, &[1])]),
        Err(InferError::BadCast { from: ACT, to: ElemType::I32 })
    );
    assert_eq!(ty(cast(ElemType::I32), [t(ElemType::I8, &[1])]), Ok(t(ElemType::I32, &[1])));
}

#[test]
fn lookups() {
    let lookup = Op::Lookup { table: TableHandle(0) };
    assert_eq!(ty(lookup.clone(), [t(ACT, &[3])]), Ok(t(ACT, &[3])));
    assert_eq!(
        ty(lookup.clone(), [t(ACT, &[3]), t(ACT, &[3])]),
        Err(InferError::Arity { op: "lookup", expected: Count::Exactly(1), found: 2 })
    );
    assert_eq!(
        ty(Op::Lookup { table: TableHandle(3) }, [t(ACT, &[3])]),
        Err(InferError::TableOutOfRange { table: TableHandle(3), len: 1 })
    );
    // A pair table: both operands of its input types and of one shape.
    let lt = TableRef {
        name: "lt_s8".into(),
        id: 0x0508_0100,
        inputs: vec![ElemType::I8; 2],
        output: ElemType::Int { bits: 2 },
    };
    let pair = |a: TensorType, b: TensorType| {
        infer(&Op::Lookup { table: TableHandle(0) }, &[&a, &b], std::slice::from_ref(&lt))
    };
    assert_eq!(
        pair(t(ElemType::I8, &[4]), t(ElemType::I8, &[4])),
        Ok(t(ElemType::Int { bits: 2 }, &[4]))
    );
    assert_eq!(
        pair(t(ElemType::I8, &[4]), t(ElemType::I8, &[5])),
        Err(InferError::ShapeMismatch {
            op: "lookup",
            operand: 1,
            expected: vec![4],
            found: vec![5]
        })
    );
}
