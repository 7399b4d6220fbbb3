//! Dense tables: the entries of every program-local table (the `lookup` declarations), sampled
//! from their real-valued formula. (The compiler's own `softmax`, `gelu` and `layer_norm` tables
//! are the stdlib's sampled primitives — `exp`, `recip`, `gelu`, `rsqrt` — named by id.)
//!
//! A declaration's formula becomes a [`Formula`], an owned expression tree over the operands, so
//! the same function samples the table and serves as the f64 reference of `atlasc run
//! --reference`. For each address of the table's domain the operands are read as reals (stored
//! integer / 2^frac), the formula is evaluated in f64, and the result is rounded to nearest (ties
//! toward +∞) on the output type's grid and **saturated** to its range. Where the formula is
//! undefined (NaN, e.g. `log(x)` at `x < 0`) the entry is 0; ±∞ saturates like any large value.

use atlas_ir::ElemType;
use atlas_lang::ast::{BinOp, Expr, ExprId, Item, ItemId};
use atlas_lang::Ast;
use atlas_stdlib::DenseTable;
use atlas_vm::Domain;

/// A dense table a program uses, in the order of its program-local index.
#[derive(Clone, Debug)]
pub(super) struct DenseSpec {
    pub name: String,
    pub index: u16,
    /// The `lookup` declaration.
    pub item: ItemId,
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

/// A `lookup` declaration's real-valued formula, over its operands (consts folded in).
#[derive(Clone, Debug, PartialEq)]
pub struct Formula {
    root: Node,
}

#[derive(Clone, Debug, PartialEq)]
enum Node {
    Num(f64),
    Operand(usize),
    Neg(Box<Node>),
    Binary(BinOp, Box<Node>, Box<Node>),
    If(Box<Node>, Box<Node>, Box<Node>),
    Call(String, Vec<Node>),
}

impl Formula {
    /// The formula of the `lookup` declaration `item` (NaN where it cannot be evaluated).
    pub(super) fn of(ast: &Ast, item: ItemId) -> Formula {
        let (params, body) = match ast.item(item) {
            Item::Lookup { params, body, .. } => {
                (params.iter().map(|p| ast.name(p.name).to_string()).collect::<Vec<_>>(), *body)
            }
            _ => return Formula { root: Node::Num(f64::NAN) },
        };
        let params: Vec<&str> = params.iter().map(String::as_str).collect();
        Formula { root: convert(ast, body, &params, 0) }
    }

    /// The formula at real operands.
    pub fn eval(&self, xs: &[f64]) -> f64 {
        eval(&self.root, xs)
    }
}

/// Samples `spec` into its table.
pub(super) fn build(spec: &DenseSpec, formula: &Formula) -> Result<DenseTable, String> {
    let domain = domain(&spec.inputs)?;
    let scales: Vec<f64> =
        spec.inputs.iter().map(|e| 2f64.powi(i32::from(e.frac().unwrap_or(0)))).collect();
    let out_scale = 2f64.powi(i32::from(spec.output.frac().unwrap_or(0)));
    let (lo, hi) = spec.output.range().unwrap_or((0, 0));
    let f = |operands: &[i64]| -> i64 {
        let xs: Vec<f64> = operands.iter().zip(&scales).map(|(v, s)| *v as f64 / s).collect();
        quantize_saturating(formula.eval(&xs), out_scale, lo, hi)
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

/// Converts a lookup formula (already checked structurally: only arithmetic, the builtins, `if`
/// with one comparison, numbers, parameters and consts). Anything else becomes NaN.
fn convert(ast: &Ast, e: ExprId, params: &[&str], depth: usize) -> Node {
    if depth > MAX_DEPTH {
        return Node::Num(f64::NAN);
    }
    let cv = |x: ExprId| Box::new(convert(ast, x, params, depth + 1));
    match &ast.exprs[e] {
        Expr::Int(v) => Node::Num(*v as f64),
        Expr::Float(v) => Node::Num(*v),
        Expr::Name(n) => {
            let text = ast.name(*n);
            if let Some(i) = params.iter().position(|p| *p == text) {
                return Node::Operand(i);
            }
            // A const: the front end has already checked that the name resolves.
            let value = ast
                .items
                .iter()
                .find_map(|&i| match ast.item(i) {
                    Item::Const { name, value, .. } if ast.name(*name) == text => {
                        Some(eval(&convert(ast, *value, &[], depth + 1), &[]))
                    }
                    _ => None,
                })
                .unwrap_or(f64::NAN);
            Node::Num(value)
        }
        Expr::Neg(x) => Node::Neg(cv(*x)),
        Expr::Binary { op, lhs, rhs } => Node::Binary(*op, cv(*lhs), cv(*rhs)),
        Expr::If { cond, then, else_ } => Node::If(cv(*cond), cv(*then), cv(*else_)),
        Expr::Call { callee, args } => Node::Call(
            ast.name(*callee).to_string(),
            args.iter().map(|a| convert(ast, a.value, params, depth + 1)).collect(),
        ),
        Expr::Index { .. } | Expr::Array(_) | Expr::Type(_) => Node::Num(f64::NAN),
    }
}

fn eval(node: &Node, xs: &[f64]) -> f64 {
    match node {
        Node::Num(v) => *v,
        Node::Operand(i) => xs.get(*i).copied().unwrap_or(f64::NAN),
        Node::Neg(x) => -eval(x, xs),
        Node::Binary(op, lhs, rhs) => {
            let (a, b) = (eval(lhs, xs), eval(rhs, xs));
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
        Node::If(cond, then, else_) => {
            if eval(cond, xs) != 0.0 {
                eval(then, xs)
            } else {
                eval(else_, xs)
            }
        }
        Node::Call(callee, args) => {
            let a: Vec<f64> = args.iter().map(|a| eval(a, xs)).collect();
            let x = a.first().copied().unwrap_or(f64::NAN);
            let y = a.get(1).copied().unwrap_or(f64::NAN);
            match callee.as_str() {
                "exp" => x.exp(),
                "log" => x.ln(),
                "sqrt" => x.sqrt(),
                "tanh" => x.tanh(),
                "erf" => atlas_stdlib::tables::approx::erf(x),
                "sin" => x.sin(),
                "cos" => x.cos(),
                "abs" => x.abs(),
                "min" => x.min(y),
                "max" => x.max(y),
                "pow" => x.powf(y),
                _ => f64::NAN,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            item: <ItemId as atlas_lang::ast::Id>::from_index(0),
            inputs: vec![ElemType::fix(8, 4)],
            output: ElemType::fix(16, 8),
        };
        let exp = Formula { root: Node::Call("exp".into(), vec![Node::Operand(0)]) };
        let t = build(&spec, &exp).unwrap();
        assert_eq!(t.values().len(), 256);
        // Address 128 is operand 0: e^0 = 1.0 = 256 at 8 fractional bits.
        assert_eq!(t.values()[128], 256);
        // Address 0 is operand -128, i.e. -8.0: e^-8 · 256 ≈ 0.086 → 0.
        assert_eq!(t.values()[0], 0);
        // Address 255 is 127/16 = 7.9375: e^7.94 ≈ 2800, saturated at fix<16, 8>'s 127.996.
        assert_eq!(t.values()[255], 32767);
    }
}
