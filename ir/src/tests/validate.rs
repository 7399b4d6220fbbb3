//! `validate` accepts the examples and rejects hand-broken IR with precise errors: one test per
//! kind of breakage, each asserting the exact error.

use super::*;
use crate::{
    validate, Count, InferError, LastUse, Node, Op, TableHandle, TypeError, ValidationError,
    ValueDef, ValueId, ValueRef,
};

fn at(id: u32, name: Option<&str>) -> ValueRef {
    ValueRef { id: ValueId(id), name: name.map(str::to_owned) }
}

/// Validates `p`, expecting exactly `expected`.
fn rejects(p: &Program, expected: Vec<ValidationError>) {
    match validate(p) {
        Ok(_) => panic!("validate accepted a broken program:\n{}", crate::print(p)),
        Err(e) => assert_eq!(e.0, expected, "\n{e}"),
    }
}

/// `x: fix<16,8>[1,64]`, `w: fix<16,8>[64,32]`, `%2 = matmul x, w`, output `%2`.
fn small() -> Program {
    let mut b = ProgramBuilder::new("small");
    let x = b.input("x", t(ACT, &[1, 64]), Visibility::Public);
    let w = b.param("w", t(ACT, &[64, 32]), ParamData::External { key: "w".into() });
    let y = b.matmul(x, w).unwrap();
    b.output(y);
    b.finish()
}

fn node_mut(p: &mut Program, id: u32) -> &mut Node {
    match &mut p.values[id as usize].def {
        ValueDef::Node(n) => n,
        _ => panic!("value {id} is not a node"),
    }
}

#[test]
fn examples_validate() {
    for p in examples() {
        let info = validate(&p).unwrap_or_else(|e| panic!("{}:\n{e}", p.name));
        assert!(std::ptr::eq(info.program(), &p));
    }
}

#[test]
fn receipt_records_uses() {
    let p = mlp();
    let info = validate(&p).unwrap();
    // Value 0 is `x`, read once by the first matmul (value 4).
    assert_eq!(p.values[0].name.as_deref(), Some("x"));
    assert_eq!(info.use_count(ValueId(0)), 1);
    assert_eq!(info.last_use(ValueId(0)), LastUse::Node(ValueId(4)));
    let y = *p.outputs.first().unwrap();
    assert_eq!(info.last_use(y), LastUse::Output);
    assert_eq!(info.use_count(y), 1);
    assert_eq!(info.ty(y), &t(ACT, &[1, 10]));
}

#[test]
fn forward_reference() {
    let mut p = small();
    // Make the matmul read itself-and-later: value 2 reading value 3 (which we append).
    p.values.push(p.values[0].clone());
    p.values[3].name = Some("late".into());
    node_mut(&mut p, 2).operands[1] = ValueId(3);
    rejects(
        &p,
        vec![ValidationError::ForwardReference {
            node: at(2, None),
            position: 1,
            operand: ValueId(3),
        }],
    );
}

#[test]
fn handle_out_of_range() {
    let mut p = small();
    node_mut(&mut p, 2).operands[0] = ValueId(99);
    rejects(
        &p,
        vec![ValidationError::HandleOutOfRange {
            node: at(2, None),
            position: 0,
            operand: ValueId(99),
            len: 3,
        }],
    );
}

#[test]
fn matmul_inner_dim() {
    let mut p = small();
    p.values[1].ty = t(ACT, &[32, 32]);
    rejects(
        &p,
        vec![ValidationError::Op {
            node: at(2, None),
            error: InferError::DimMismatch {
                op: "matmul",
                operand: 1,
                axis: 0,
                expected: 64,
                found: 32,
            },
        }],
    );
}

#[test]
fn wrong_broadcast() {
    let mut b = ProgramBuilder::new("bc");
    let x = b.input("x", t(ACT, &[3, 1]), Visibility::Public);
    let y = b.broadcast(x, &[2, 3, 5]).unwrap();
    b.output(y);
    let mut p = b.finish();
    // [3,1] → [2,4,5]: the 3 lines up with 4.
    p.values[1].ty.shape = vec![2, 4, 5];
    node_mut(&mut p, 1).op = Op::Broadcast { shape: vec![2, 4, 5] };
    rejects(
        &p,
        vec![ValidationError::Op {
            node: at(1, None),
            error: InferError::BadBroadcast { from: vec![3, 1], to: vec![2, 4, 5], axis: 1 },
        }],
    );
}

#[test]
fn lookup_wrong_input_type() {
    let mut p = mlp();
    // relu_s16 is declared on fix<16,8>; declare it on i16 instead.
    p.tables[0].inputs = vec![ElemType::I16];
    let lookup = p.ids().find(|&v| p.values[v.index()].name.as_deref() == Some("h")).unwrap();
    rejects(
        &p,
        vec![ValidationError::Op {
            node: at(lookup.0, Some("h")),
            error: InferError::ElemMismatch {
                op: "lookup",
                operand: 0,
                expected: ElemType::I16,
                found: ACT,
            },
        }],
    );
}

#[test]
fn unsupported_float() {
    let mut p = small();
    p.values[0].ty.elem = ElemType::Bf16;
    // One error, at the input: the matmul reading it is not checked against a refused type.
    rejects(
        &p,
        vec![ValidationError::BadType {
            value: at(0, Some("x")),
            ty: t(ElemType::Bf16, &[1, 64]),
            error: TypeError::UnsupportedFloat { elem: ElemType::Bf16 },
        }],
    );
}

#[test]
fn reshape_changes_element_count() {
    let mut b = ProgramBuilder::new("rs");
    let x = b.input("x", t(ElemType::I8, &[2, 3]), Visibility::Public);
    let y = b.reshape(x, &[3, 2]).unwrap();
    b.output(y);
    let mut p = b.finish();
    p.values[1].ty.shape = vec![7];
    node_mut(&mut p, 1).op = Op::Reshape { shape: vec![7] };
    rejects(
        &p,
        vec![ValidationError::Op {
            node: at(1, None),
            error: InferError::ElementCount {
                from: vec![2, 3],
                to: vec![7],
                expected: 6,
                found: 7,
            },
        }],
    );
}

#[test]
fn transpose_bad_permutation() {
    let mut b = ProgramBuilder::new("tr");
    let x = b.input("x", t(ElemType::I8, &[2, 3, 4]), Visibility::Public);
    let y = b.transpose(x, &[2, 0, 1]).unwrap();
    b.output(y);
    let mut p = b.finish();
    node_mut(&mut p, 1).op = Op::Transpose { perm: vec![2, 0, 0] };
    rejects(
        &p,
        vec![ValidationError::Op {
            node: at(1, None),
            error: InferError::BadPermutation { perm: vec![2, 0, 0], rank: 3 },
        }],
    );
}

#[test]
fn declared_type_must_match_inferred() {
    let mut p = small();
    // An i32 accumulator is too narrow for fix<16,8> × fix<16,8> over 64 terms.
    p.values[2].ty = t(ElemType::fix(32, 16), &[1, 32]);
    rejects(
        &p,
        vec![ValidationError::ResultType {
            node: at(2, None),
            op: "matmul",
            expected: t(ElemType::fix(38, 16), &[1, 32]),
            found: t(ElemType::fix(32, 16), &[1, 32]),
        }],
    );
}

#[test]
fn inline_data_is_checked() {
    let mut p = conv();
    let ValueDef::Param { data: ParamData::Inline(data) } = &mut p.values[1].def else {
        panic!("value 1 is the inline kernel")
    };
    data[5] = 300;
    let ValueDef::Const { data } = &mut p.values[2].def else { panic!("value 2 is the bias") };
    data.pop();
    rejects(
        &p,
        vec![
            ValidationError::DataOutOfRange {
                value: at(1, Some("w")),
                index: 5,
                datum: 300,
                elem: ElemType::fix(8, 4),
                min: -128,
                max: 127,
            },
            ValidationError::DataLength {
                value: at(2, Some("bias")),
                ty: t(ElemType::fix(16, 8), &[4]),
                expected: 4,
                found: 3,
            },
        ],
    );
}

#[test]
fn names_tables_and_outputs() {
    let mut p = mlp();
    p.name = "not a name".into();
    p.values[2].name = Some("x".into());
    p.tables.push(relu16());
    p.tables[1].inputs.push(ElemType::F8E4M3);
    p.outputs = vec![ValueId(1), ValueId(1), ValueId(500)];
    rejects(
        &p,
        vec![
            ValidationError::BadProgramName { name: "not a name".into() },
            ValidationError::DuplicateTable {
                name: "relu_s16".into(),
                first: TableHandle(0),
                second: TableHandle(1),
            },
            ValidationError::TableType {
                table: TableHandle(1),
                name: "relu_s16".into(),
                elem: ElemType::F8E4M3,
                error: TypeError::UnsupportedFloat { elem: ElemType::F8E4M3 },
            },
            ValidationError::DuplicateName {
                name: "x".into(),
                first: ValueId(0),
                second: ValueId(2),
            },
            ValidationError::DuplicateOutput { position: 1, value: ValueId(1) },
            ValidationError::OutputOutOfRange { position: 2, value: ValueId(500), len: 11 },
        ],
    );
}

#[test]
fn no_outputs_and_arity() {
    let mut p = small();
    p.outputs.clear();
    node_mut(&mut p, 2).operands.pop();
    rejects(
        &p,
        vec![
            ValidationError::Op {
                node: at(2, None),
                error: InferError::Arity { op: "matmul", expected: Count::Exactly(2), found: 1 },
            },
            ValidationError::NoOutputs,
        ],
    );
}

#[test]
fn all_errors_are_reported_without_cascades() {
    let mut p = mlp();
    // Two independent mistakes: the first matmul's weights have the wrong inner dimension, and
    // the second rescale shifts by the wrong amount. Nodes after the first mistake are checked
    // against declared types, so neither mistake causes a second error.
    p.values[1].ty = t(ACT, &[60, 32]);
    let y = p.outputs[0];
    let ValueDef::Node(node) = &mut p.values[y.index()].def else { panic!("y is a node") };
    node.op = Op::Rescale { shift: 7, rounding: Rounding::Nearest, saturate: true, to: ACT };
    let errors = validate(&p).unwrap_err().0;
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(matches!(
        &errors[0],
        ValidationError::Op { node, error: InferError::DimMismatch { expected: 64, found: 60, .. } }
            if node.id == ValueId(4)
    ));
    assert_eq!(
        errors[1],
        ValidationError::Op {
            node: at(y.0, Some("y")),
            error: InferError::RescaleFrac {
                from: ElemType::fix(37, 16),
                to: ACT,
                shift: 7,
                expected: 9,
                found: 8,
            },
        }
    );
}

#[test]
fn error_messages_name_the_node_and_say_expected_vs_found() {
    let mut p = small();
    p.values[1].ty = t(ACT, &[32, 32]);
    let msg = validate(&p).unwrap_err().to_string();
    assert_eq!(msg, "error: node %2: matmul: operand 1 has size 32 on axis 0, expected 64");
}

#[test]
fn constant_gather_indices_are_range_checked() {
    let mut b = ProgramBuilder::new("g");
    let emb = b.param("emb", t(ACT, &[16, 8]), ParamData::External { key: "emb".into() });
    let idx = b.constant(Some("idx"), t(ElemType::I32, &[3]), vec![0, 15, 16]);
    let y = b.gather(emb, idx, 0).unwrap();
    b.output(y);
    let p = b.finish();
    rejects(
        &p,
        vec![ValidationError::IndexOutOfRange {
            node: at(2, None),
            position: 2,
            index: 16,
            axis: 0,
            dim: 16,
        }],
    );
}
