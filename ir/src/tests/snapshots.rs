//! insta snapshots of the text form (what `atlasc ir` prints) and of validation errors.

use super::*;
use crate::{parse, print, validate};

#[test]
fn text_form_of_examples() {
    for p in examples() {
        let text = print(&p);
        // A snapshot of text that does not parse back would be a snapshot of a bug.
        assert_eq!(parse(&text).as_ref(), Ok(&p));
        insta::assert_snapshot!(format!("text_{}", p.name), text);
    }
}

/// Parses hand-broken IR (which the parser accepts: it checks syntax and names only) and
/// snapshots it with `validate`'s report.
fn broken(name: &str, src: &str) {
    let p = parse(src).unwrap_or_else(|e| panic!("{name}: {e}"));
    let errors = validate(&p).expect_err("the program is broken");
    insta::assert_snapshot!(name, format!("----- IR\n{}----- ERROR\n{errors}\n", print(&p)));
}

#[test]
fn validation_errors() {
    broken(
        "error_forward_reference",
        "program p {
  input public %x: fix<16,8>[1,64]
  param %w: fix<16,8>[64,32] = weights(\"w\")
  %2: fix<38,16>[1,32] = matmul %x, %w
  %3: fix<16,8>[1,32] = rescale %4 shift=8 round=nearest saturate
  %4: fix<39,16>[1,32] = neg %2
  output %3
}
",
    );
    broken(
        "error_matmul_inner_dim",
        "program p {
  input public %x: fix<16,8>[1,64]
  param %w: fix<16,8>[32,10] = weights(\"w\")
  %y: fix<37,16>[1,10] = matmul %x, %w
  output %y
}
",
    );
    broken(
        "error_several",
        "program p {
  table @relu = #0x02100000 (fix<16,8>) -> fix<16,8>
  input private %x: i16[4,4]
  const %c: i8[3] = [1, 2, 300]
  %b: i16[4,8] = broadcast %x
  %t: i16[4,4] = transpose %x perm=[0,0]
  %r: i16[16] = reshape %x
  %s: i16[5] = reshape %x
  %l: fix<16,8>[4,4] = lookup @relu %x
  %f: bf16[4,4] = cast %x
  output %r
  output %9
}
",
    );
}
