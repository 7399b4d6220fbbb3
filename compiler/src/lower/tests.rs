//! Lowering decisions per op, each checked against the IR reference evaluator on extreme and
//! ordinary inputs. Cross-crate differential tests and listing snapshots: `tests/it/vm.rs`.

use atlas_ir::{eval, parse, validate, EvalError};
use atlas_vm::{listing, ExecError, Op};

use super::*;

fn lowered(src: &str) -> Program {
    let ir = parse(src).unwrap();
    let info = validate(&ir).unwrap();
    lower(&info).unwrap()
}

/// Lowers `src`, runs both the VM and the IR evaluator on `inputs`, and returns both results.
type Outputs = Vec<Vec<i64>>;

fn both(
    src: &str,
    inputs: &[Vec<i64>],
) -> (Result<Outputs, ExecError>, Result<Outputs, EvalError>) {
    let ir = parse(src).unwrap();
    let info = validate(&ir).unwrap();
    let vm = lower(&info).unwrap();
    let got = execute_std(&vm, inputs).map(|t| t.outputs(&vm));
    (got, eval(&info, inputs, &StdEnv::new()))
}

fn agree(src: &str, inputs: &[Vec<i64>]) -> Vec<Vec<i64>> {
    let (vm, ir) = both(src, inputs);
    let ir = ir.unwrap();
    assert_eq!(vm.unwrap(), ir, "VM and IR evaluator disagree on {inputs:?}");
    ir
}

fn ops(p: &Program) -> Vec<&'static str> {
    p.instrs.iter().map(|i| i.op.name()).collect()
}

fn table_names(p: &Program) -> Vec<&str> {
    p.tables.iter().map(|t| t.name.as_str()).collect()
}

const NARROW_RESCALE: &str = "program t {
  input public %x: i19[7]
  %y: i8[7] = rescale %x shift=8 round=nearest saturate
  output %y
}
";

#[test]
fn a_narrow_rescale_is_one_shift_lookup_then_a_clamp() {
    let p = lowered(NARROW_RESCALE);
    assert_eq!(ops(&p), ["lookup", "lookup"]);
    // 19 bits is not chunkable (no divisor in 4..=8): the shift table is 20 bits wide, and the
    // 12-bit quotient (nearest reaches 2^10) is clamped through clamp_s12_s8.
    assert_eq!(table_names(&p), ["shr_s20_8_round", "clamp_s12_s8"]);
    let edge = vec![-(1 << 18), (1 << 18) - 1, -128 * 256 - 129, -384, -128, 127 * 256 + 127, 0];
    let out = agree(NARROW_RESCALE, &[edge]);
    assert_eq!(out, [vec![-128, 127, -128, -1, 0, 127, 0]]);
}

#[test]
fn a_wide_rescale_is_an_advice_shift_with_a_remainder_lookup_then_a_clamp() {
    let src = "program t {
  input public %x: i40[6]
  %y: i16[6] = rescale %x shift=16 round=floor saturate
  output %y
}
";
    let p = lowered(src);
    assert_eq!(ops(&p), ["shr", "lookup"]);
    assert_eq!(table_names(&p), ["range16", "clamp_s24_s16"]);
    let edge = vec![-(1 << 39), (1 << 39) - 1, -1, 65535, 65536 * 1000 + 7, -65536 * 40000];
    let out = agree(src, std::slice::from_ref(&edge));
    assert_eq!(out, [vec![-32768, 32767, -1, 0, 1000, -32768]]);
    // The trace holds the remainders as range16 addresses.
    let t = execute_std(&p, &[edge]).unwrap();
    assert_eq!(t.lookups[0].addresses[2], 65535);
    assert_eq!(t.lookups[0].addresses[4], 7);
}

#[test]
fn a_quotient_wider_than_any_clamp_saturates_through_its_high_part() {
    // A 784-deep fix<16,8> matmul gives ~40-bit accumulators: after shift=8 the quotient has 40
    // bits, more than a clamp table takes.
    let src = "program t {
  input public %x: i48[8]
  %y: i16[8] = rescale %x shift=8 round=nearest saturate
  output %y
}
";
    let p = lowered(src);
    assert_eq!(
        ops(&p),
        [
            "shr",
            "shr",
            "lookup",
            "lookup",
            "broadcast",
            "mul",
            "broadcast",
            "add",
            "sub",
            "mul",
            "add"
        ]
    );
    // The 41-bit quotient splits at bit 15 into a 26-bit high part: clamp/eq at 28 bits (the
    // smallest width both chunk).
    assert_eq!(table_names(&p), ["range8", "range15", "clamp_s28_s1", "eq_s28"]);
    let max = (1i64 << 47) - 1;
    let edge = vec![
        -max - 1,
        max,
        32767 * 256 + 127,  // rounds to 32767: fits
        32767 * 256 + 128,  // rounds to 32768: saturates
        -32768 * 256 - 128, // rounds to -32768: fits
        -32768 * 256 - 129, // rounds to -32769: saturates
        -1,
        1 << 40,
    ];
    let out = agree(src, &[edge]);
    assert_eq!(out, [vec![-32768, 32767, 32767, 32767, -32768, -32768, 0, 32767]]);
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..50 {
        let x: Vec<i64> = (0..8)
            .map(|_| {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                (rng as i64) >> (16 + rng % 24) // magnitudes from 2^23 to 2^47
            })
            .collect();
        agree(src, &[x]);
    }
}

#[test]
fn unchunkable_remainders_are_checked_scaled_in_a_wider_range_table() {
    // Shift 9 on a 40-bit source: the 9-bit remainder is checked as rem·2 in range10 (the clamp
    // pins the quotient). Then a 56-bit value saturated to i32: the wide path splits it at bit
    // 31, whose remainder is checked as rem·2 in range32 (the value is a register, an integer).
    let src = "program t {
  input public %x: i40[6]
  %y: i12[6] = rescale %x shift=9 round=nearest saturate
  output %y
}
";
    let p = lowered(src);
    assert_eq!(table_names(&p), ["range10", "clamp_s32_s12"]);
    assert!(listing(&p).contains("shr r0 shift=9 round=nearest rem=t0<<1"), "{}", listing(&p));
    let edge = vec![-(1 << 39), (1 << 39) - 1, 2047 * 512 + 255, 2047 * 512 + 256, -3, 0];
    assert_eq!(agree(src, &[edge]), [vec![-2048, 2047, 2047, 2047, 0, 0]]);
    let src = "program t {
  input public %x: i56[4]
  %y: i32[4] = rescale %x shift=0 round=floor saturate
  output %y
}
";
    let p = lowered(src);
    assert_eq!(table_names(&p), ["range32", "clamp_s28_s1", "eq_s28"]);
    let edge = vec![-(1 << 55), (1 << 55) - 1, (1 << 39) - 1, -(1 << 39)];
    assert_eq!(agree(src, &[edge]), [vec![-(1 << 31), (1 << 31) - 1, (1 << 31) - 1, -(1 << 31)]]);
    agree(src, &[vec![-(1 << 31) - 1, (1 << 31) - 1, 123_456_789_012, -1]]);
    // The same split for an advice quotient (after shift=8) would need the scaled check on an
    // unpinned value: refused.
    let src = "program t {
  input public %x: i64[4]
  %y: i32[4] = rescale %x shift=8 round=floor saturate
  output %y
}
";
    let ir = parse(src).unwrap();
    let err = lower(&validate(&ir).unwrap()).unwrap_err();
    assert!(err.to_string().contains("needs an unscaled range31 remainder check"), "{err}");
}

#[test]
fn a_wide_rescale_that_fits_is_still_range_checked() {
    // The quotient (8 bits) fits the target, but an advice quotient needs a lookup to pin it.
    let src = "program t {
  input public %x: i40[2]
  %y: i8[2] = rescale %x shift=32 round=floor
  output %y
}
";
    let p = lowered(src);
    assert_eq!(ops(&p), ["shr", "broadcast", "add", "lookup", "sub"]);
    assert_eq!(table_names(&p), ["range32", "range8"]);
    agree(src, &[vec![-(1 << 39), (1 << 39) - 1]]);
}

#[test]
fn a_non_saturating_rescale_checks_the_fit_and_fails_like_the_evaluator() {
    let src = "program t {
  input public %x: i16[3]
  %y: i8[3] = rescale %x shift=4 round=floor
  output %y
}
";
    let p = lowered(src);
    assert_eq!(ops(&p), ["lookup", "broadcast", "add", "lookup", "sub"]);
    assert_eq!(table_names(&p), ["shr_s16_4_floor", "range8"]);
    assert_eq!(agree(src, &[vec![-2048, 2047, -17]]), [vec![-128, 127, -2]]);
    let (vm, ir) = both(src, &[vec![2048, 0, 0]]);
    assert!(matches!(ir, Err(EvalError::DoesNotFit { index: 0, .. })), "{ir:?}");
    let err = vm.unwrap_err();
    assert!(
        matches!(&err, ExecError::OutOfDomain { instr: 3, index: 0, operands, .. } if operands == &[256]),
        "{err}"
    );
}

#[test]
fn shift_zero_narrowing_clamps_or_is_free() {
    let clamp = "program t {
  input public %x: fix<17,8>[3]
  %y: fix<16,8>[3] = rescale %x shift=0 round=floor saturate
  output %y
}
";
    assert_eq!(ops(&lowered(clamp)), ["lookup"]);
    assert_eq!(agree(clamp, &[vec![-65536, 65535, 5]]), [vec![-32768, 32767, 5]]);
    let free = "program t {
  input public %x: i8[2]
  %y: i16[2] = rescale %x shift=0 round=floor saturate
  output %y
}
";
    assert!(lowered(free).instrs.is_empty());
    agree(free, &[vec![-128, 127]]);
}

#[test]
fn cast_is_free_or_a_multiply_by_a_power_of_two() {
    let free = "program t {
  input public %x: fix<8,4>[2]
  %y: fix<12,4>[2] = cast %x
  output %y
}
";
    assert!(lowered(free).instrs.is_empty());
    agree(free, &[vec![-128, 127]]);
    let scale = "program t {
  input public %x: fix<8,4>[2]
  %y: fix<12,8>[2] = cast %x
  output %y
}
";
    let p = lowered(scale);
    assert_eq!(ops(&p), ["broadcast", "mul"]);
    assert_eq!(agree(scale, &[vec![-128, 127]]), [vec![-2048, 2032]]);
}

#[test]
fn reduce_max_is_a_tree_of_comparisons() {
    let src = "program t {
  input public %x: i8[2,3,5]
  %y: i8[1,3,1] = reduce_max %x axes=[0,2] keep_dims
  output %y
}
";
    let p = lowered(src);
    assert_eq!(table_names(&p), ["lt_s8"]);
    assert!(matches!(p.instrs[0].op, Op::Transpose { .. }));
    let data: Vec<i64> = (0..30).map(|i| (i * 37 % 256) - 128).collect();
    agree(src, &[data]);
    agree(src, &[vec![-128; 30]]);
    let mut peak = vec![0; 30];
    peak[29] = 127;
    peak[3] = -1;
    assert_eq!(agree(src, &[peak]), [vec![0, 0, 127]]);
}

#[test]
fn lookups_are_checked_against_the_table_domain() {
    let ok = "program t {
  table @relu = #0x02080000 (i8) -> i8
  input public %x: i8[3]
  %y: i8[3] = lookup @relu %x
  output %y
}
";
    assert_eq!(agree(ok, &[vec![-128, 0, 127]]), [vec![0, 0, 127]]);
    let too_wide = "program t {
  table @relu = #0x02080000 (i16) -> i16
  input public %x: i16[3]
  %y: i16[3] = lookup @relu %x
  output %y
}
";
    let ir = parse(too_wide).unwrap();
    let err = lower(&validate(&ir).unwrap()).unwrap_err();
    assert!(matches!(err, LowerError::Domain { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "table @relu (#0x02080000) is declared over (i16), but the table's domain \
         is Signed { bits: 8 }: operand 0 is i16 (16 bits), the domain holds at most 8"
    );
    let dense = "program t {
  table @exp = #0x07000000 (fix<16,8>) -> fix<16,8>
  input public %x: fix<16,8>[3]
  %y: fix<16,8>[3] = lookup @exp %x
  output %y
}
";
    let ir = parse(dense).unwrap();
    let err = lower(&validate(&ir).unwrap()).unwrap_err();
    assert!(
        matches!(&err, LowerError::Table { error: StdlibError::ProgramLocal { .. }, .. }),
        "{err}"
    );
}

#[test]
fn unsupported_rescales_are_errors_naming_the_node() {
    let src = "program t {
  input public %x: i64[2]
  %y: i8[2] = rescale %x shift=1 round=floor saturate
  output %y
}
";
    let ir = parse(src).unwrap();
    let err = lower(&validate(&ir).unwrap()).unwrap_err();
    assert!(matches!(&err, LowerError::Unsupported { op: "rescale", .. }), "{err}");
    assert!(
        err.to_string().starts_with("node %y (value 1): rescale is not supported yet"),
        "{err}"
    );
}

#[test]
fn huge_shifts_are_refused_not_panics() {
    // Integers carry no scale, so the IR allows shifts up to 63; no table shifts by 63.
    for (src, round) in [("i8", "floor"), ("i40", "nearest")] {
        let text = format!(
            "program t {{\n  input public %x: {src}[2]\n  %y: i8[2] = rescale %x shift=63 \
             round={round} saturate\n  output %y\n}}\n"
        );
        let ir = parse(&text).unwrap();
        let err = lower(&validate(&ir).unwrap()).unwrap_err();
        assert!(matches!(err, LowerError::Unsupported { op: "rescale", .. }), "{err}");
    }
}

#[test]
fn listing_names_tables_and_values() {
    let text = listing(&lowered(NARROW_RESCALE));
    assert_eq!(
        text,
        "program t\n  table t0 = shr_s20_8_round #0x04140801\n  table t1 = clamp_s12_s8 #0x030c0800\n  \
         r0: i19[7] = input public x\n  r1: i12[7] = lookup t0 r0\n  r2: i8[7] = lookup t1 r1  // y\n  \
         output r2\n"
    );
}
