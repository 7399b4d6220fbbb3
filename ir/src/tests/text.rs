//! The text form: hand-written programs parse to what the builder makes, and parse errors say
//! where.

use super::*;
use crate::{parse, print, validate, ParseError, ValueId};

#[test]
fn hand_written_mlp_parses_to_the_builders_program() {
    let src = r#"
// The MLP of `mlp()`, written by hand; comments and blank lines are ignored.
program mlp {
  table @relu_s16 = #0x02100000 (fix<16,8>) -> fix<16,8>
  input public %x: fix<16,8>[1,64]
  param %w1: fix<16,8>[64,32] = weights("w1")
  param %b1: fix<32,16>[32] = weights("b1")

  param %w2: fix<16,8>[32,10] = weights("w2")
  %4: fix<38,16>[1,32] = matmul %x, %w1
  %5: fix<32,16>[1,32] = broadcast %b1
  %6: fix<39,16>[1,32] = add %4, %5
  %7: fix<16,8>[1,32] = rescale %6 shift=8 round=nearest saturate   // back to activations
  %h: fix<16,8>[1,32] = lookup @relu_s16 %7
  %9: fix<37,16>[1,10] = matmul %h, %w2
  %y: fix<16,8>[1,10] = rescale %9 shift=8 round=nearest saturate
  output %y
}
"#;
    assert_eq!(parse(src), Ok(mlp()));
}

#[test]
fn strings_and_data_round_trip() {
    let mut p = mlp();
    let crate::ValueDef::Param { data: crate::ParamData::External { key } } = &mut p.values[1].def
    else {
        panic!("w1 is external")
    };
    *key = "dir/w \"1\"\n\t\\ é \u{7f}".into();
    let text = print(&p);
    assert_eq!(parse(&text), Ok(p));
    let conv = conv();
    assert_eq!(parse(&print(&conv)), Ok(conv));
}

#[test]
fn forward_references_by_index_parse_and_fail_validation() {
    let src = "program p {\n  input public %x: i8[2]\n  %1: i9[2] = add %x, %2\n  %2: i9[2] = neg %x\n  output %1\n}\n";
    let p = parse(src).unwrap();
    assert_eq!(
        p.values[1].def,
        crate::ValueDef::Node(crate::Node {
            op: crate::Op::Add,
            operands: vec![ValueId(0), ValueId(2)]
        })
    );
    assert!(validate(&p).is_err());
    // The printer keeps such a reference by index, so the text re-parses to the same program.
    assert_eq!(print(&p), src);
}

fn parse_err(src: &str) -> ParseError {
    parse(src).expect_err("the input is malformed")
}

#[test]
fn errors_carry_line_and_column() {
    let e = parse_err("program p {\n  input public %x: i8[2]\n  %1: i8[2] = frobnicate %x\n}\n");
    assert_eq!((e.line, e.col, e.message.as_str()), (3, 15, "unknown op `frobnicate`"));
    let e = parse_err("program p {\n  input public %x: i8[2]\n  %1: i9[2] = neg %y\n}\n");
    assert_eq!((e.line, e.col, e.message.as_str()), (3, 19, "undefined value `%y`"));
    let e = parse_err("program p {\n  input public %x: i8[2]\n  %5: i9[2] = neg %x\n}\n");
    assert_eq!((e.line, e.col), (3, 3));
    assert_eq!(e.message, "unnamed value `%5` must be numbered by its position, `%1`");
    let e = parse_err("program p {\n  input public %x: q8[2]\n}\n");
    assert_eq!((e.line, e.col), (2, 20));
    let e = parse_err(
        "program p {\n  input public %x: i8[2]\n  %1: i8[2] = slice %x axis=0 start=0 end=2\n}\n",
    );
    assert_eq!((e.line, e.col, e.message.as_str()), (3, 24, "missing attribute `step=<integer>`"));
    let e = parse_err("program p {\n  input public %x: i8[2]\n  %1: i8[2] = neg %x bogus=1\n}\n");
    assert_eq!((e.line, e.col, e.message.as_str()), (3, 22, "unknown attribute `bogus`"));
    let e = parse_err("program p {\n  const %c: i8[2] = [1, 99999999999999999999999]\n}\n");
    assert_eq!((e.line, e.col, e.message.as_str()), (2, 25, "number too large"));
    let e = parse_err("program p {\n  output %0\n");
    assert_eq!(e.to_string(), "3:1: expected a statement (table, input, param, const, a node, output) or `}`, found end of input");
}
