//! Dense tables: the entries of every program-local table (`lookup` declarations and the tables
//! the compiler synthesizes for `softmax` and `gelu`), sampled from a real-valued formula.
//!
//! For each address of the table's domain the operands are read as reals (stored integer /
//! 2^frac), the formula is evaluated in f64, and the result is rounded to nearest (ties toward +∞)
//! on the output type's grid and **saturated** to its range. Where the formula is undefined (NaN,
//! e.g. `log(x)` at `x < 0`) the entry is 0; ±∞ saturates like any large value.

use atlas_ir::ElemType;
use atlas_lang::ast::{BinOp, Expr, ExprId, Item, ItemId};
use atlas_lang::Ast;
use atlas_stdlib::DenseTable;
use atlas_vm::Domain;

/// What a dense table computes.
#[derive(Clone, Copy, Debug)]
pub(super) enum Formula {
    /// A `lookup` declaration's formula.
    Lookup(ItemId),
    /// `e^x` (softmax's numerators).
    Exp,
    /// `1 / x` (softmax's normalisation).
    Recip,
    /// `0.5 · x · (1 + erf(x / √2))`.
    Gelu,
    /// `1 / √(x + 1e-5)` (layer norm's scale; PyTorch's default epsilon).
    Rsqrt,
}

/// A dense table a program uses, in the order of its program-local index.
#[derive(Clone, Debug)]
pub(super) struct DenseSpec {
    pub name: String,
    pub index: u16,
    pub formula: Formula,
    pub inputs: Vec<ElemType>,
    pub output: ElemType,
}

/// The table's domain: one signed operand, or a pair of signed operands of one width.
pub(super) fn domain(inputs: &[ElemType]) -> Result<Domain, String> {
    let bits: Vec<u32> = inputs.iter().map(|e| u32::from(e.bits().unwrap_or(0))).collect();
    match bits.as_slice() {
        [b] => Ok(Domain::Signed { bits: *b }),
        [a, b] if a == b => Ok(Domain::Pair { bits: *a, signed: true }),
        [a, b] => {
            Err(format!("a two-input table needs operands of one width, found {a} and {b} bits"))
        }
        other => Err(format!("a table takes one or two operands, found {}", other.len())),
    }
}

/// Samples `spec` into its table.
pub(super) fn build(ast: &Ast, spec: &DenseSpec) -> Result<DenseTable, String> {
    let domain = domain(&spec.inputs)?;
    let scales: Vec<f64> =
        spec.inputs.iter().map(|e| 2f64.powi(i32::from(e.frac().unwrap_or(0)))).collect();
    let out_scale = 2f64.powi(i32::from(spec.output.frac().unwrap_or(0)));
    let (lo, hi) = spec.output.range().unwrap_or((0, 0));
    let params: Vec<String> = match spec.formula {
        Formula::Lookup(item) => match ast.item(item) {
            Item::Lookup { params, .. } => {
                params.iter().map(|p| ast.name(p.name).to_string()).collect()
            }
            _ => return Err("not a lookup declaration".into()),
        },
        _ => Vec::new(),
    };
    let f = |operands: &[i64]| -> i64 {
        let xs: Vec<f64> = operands.iter().zip(&scales).map(|(v, s)| *v as f64 / s).collect();
        let y = match spec.formula {
            Formula::Lookup(item) => match ast.item(item) {
                Item::Lookup { body, .. } => {
                    let env: Vec<(&str, f64)> =
                        params.iter().map(String::as_str).zip(xs.iter().copied()).collect();
                    eval(ast, *body, &env, 0)
                }
                _ => f64::NAN,
            },
            Formula::Exp => xs[0].exp(),
            Formula::Recip => 1.0 / xs[0],
            Formula::Gelu => 0.5 * xs[0] * (1.0 + erf(xs[0] / std::f64::consts::SQRT_2)),
            Formula::Rsqrt => 1.0 / (xs[0] + 1e-5).sqrt(),
        };
        quantize_saturating(y, out_scale, lo, hi)
    };
    DenseTable::sample(spec.name.clone(), spec.index, domain, f).map_err(|e| e.to_string())
}

fn quantize_saturating(y: f64, scale: f64, lo: i64, hi: i64) -> i64 {
    if y.is_nan() {
        return 0;
    }
    let q = (y * scale + 0.5).floor();
    if q <= lo as f64 {
        lo
    } else if q >= hi as f64 {
        hi
    } else {
        q as i64
    }
}

/// Deep enough for any formula a person writes; the parser bounds nesting anyway.
const MAX_DEPTH: usize = 256;

/// Evaluates a lookup formula (already checked structurally: only arithmetic, the builtins, `if`
/// with one comparison, numbers, parameters and consts). Anything else evaluates to NaN.
fn eval(ast: &Ast, e: ExprId, env: &[(&str, f64)], depth: usize) -> f64 {
    if depth > MAX_DEPTH {
        return f64::NAN;
    }
    let ev = |x: ExprId| eval(ast, x, env, depth + 1);
    match &ast.exprs[e] {
        Expr::Int(v) => *v as f64,
        Expr::Float(v) => *v,
        Expr::Name(n) => {
            let text = ast.name(*n);
            if let Some((_, v)) = env.iter().find(|(p, _)| *p == text) {
                return *v;
            }
            // A const: the front end has already checked that the name resolves.
            ast.items
                .iter()
                .find_map(|&i| match ast.item(i) {
                    Item::Const { name, value, .. } if ast.name(*name) == text => {
                        Some(eval(ast, *value, &[], depth + 1))
                    }
                    _ => None,
                })
                .unwrap_or(f64::NAN)
        }
        Expr::Neg(x) => -ev(*x),
        Expr::Binary { op, lhs, rhs } => {
            let (a, b) = (ev(*lhs), ev(*rhs));
            let truth = |c: bool| if c { 1.0 } else { 0.0 };
            match op {
                BinOp::Add => a + b,
                BinOp::Sub => a - b,
                BinOp::Mul => a * b,
                BinOp::Div => a / b,
                BinOp::Eq => truth(a == b),
                BinOp::Ne => truth(a != b),
                BinOp::Lt => truth(a < b),
                BinOp::Le => truth(a <= b),
                BinOp::Gt => truth(a > b),
                BinOp::Ge => truth(a >= b),
                BinOp::MatMul => f64::NAN,
            }
        }
        Expr::If { cond, then, else_ } => {
            if ev(*cond) != 0.0 {
                ev(*then)
            } else {
                ev(*else_)
            }
        }
        Expr::Call { callee, args } => {
            let a: Vec<f64> = args.iter().map(|a| ev(a.value)).collect();
            let x = a.first().copied().unwrap_or(f64::NAN);
            let y = a.get(1).copied().unwrap_or(f64::NAN);
            match ast.name(*callee) {
                "exp" => x.exp(),
                "log" => x.ln(),
                "sqrt" => x.sqrt(),
                "tanh" => x.tanh(),
                "erf" => erf(x),
                "sin" => x.sin(),
                "cos" => x.cos(),
                "abs" => x.abs(),
                "min" => x.min(y),
                "max" => x.max(y),
                "pow" => x.powf(y),
                _ => f64::NAN,
            }
        }
        Expr::Index { .. } | Expr::Array(_) => f64::NAN,
    }
}

/// The error function, to within 1.2e-7 (Numerical Recipes' `erfc` Chebyshev fit), far below the
/// resolution of any 32-bit fixed-point output.
fn erf(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let erfc = t * poly.exp();
    if x >= 0.0 {
        1.0 - erfc
    } else {
        erfc - 1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erf_matches_known_values() {
        for (x, want) in
            [(0.0, 0.0), (0.5, 0.520_499_877_8), (1.0, 0.842_700_792_9), (-2.0, -0.995_322_265)]
        {
            assert!((erf(x) - want).abs() < 2e-7, "erf({x}) = {}, want {want}", erf(x));
        }
    }

    #[test]
    fn quantization_rounds_to_nearest_and_saturates() {
        assert_eq!(quantize_saturating(0.5, 256.0, -32768, 32767), 128);
        assert_eq!(quantize_saturating(1e9, 256.0, -32768, 32767), 32767);
        assert_eq!(quantize_saturating(f64::NEG_INFINITY, 256.0, -32768, 32767), -32768);
        assert_eq!(quantize_saturating(f64::NAN, 256.0, -32768, 32767), 0);
        // Ties go toward +∞, like the VM's rounding shift.
        assert_eq!(quantize_saturating(-0.5 / 256.0, 256.0, -32768, 32767), 0);
    }

    #[test]
    fn exp_table_over_fix_8_4_samples_every_operand() {
        let spec = DenseSpec {
            name: "exp".into(),
            index: 0,
            formula: Formula::Exp,
            inputs: vec![ElemType::fix(8, 4)],
            output: ElemType::fix(16, 8),
        };
        let t = build(&Ast::default(), &spec).unwrap();
        assert_eq!(t.values().len(), 256);
        // Address 128 is operand 0: e^0 = 1.0 = 256 at 8 fractional bits.
        assert_eq!(t.values()[128], 256);
        // Address 0 is operand -128, i.e. -8.0: e^-8 · 256 ≈ 0.086 → 0.
        assert_eq!(t.values()[0], 0);
        // Address 255 is 127/16 = 7.9375: e^7.94 ≈ 2800, saturated at fix<16, 8>'s 127.996.
        assert_eq!(t.values()[255], 32767);
    }
}
