//! Elementwise formulas: what a chain of elementwise ONNX nodes computes from one source tensor.
//!
//! A region of elementwise nodes that reads a single computed tensor (plus scalar constants) is a
//! function of that tensor's elements alone, so it becomes one `.atl` `lookup` (one table, one
//! lookup argument) when it is non-linear, and plain `.atl` arithmetic when it is a polynomial.
//! The same tree prints both ways and evaluates in f64 (for calibration).

use std::fmt::Write;

/// A formula over the region's source `X`, scalar literals and, in tensor context, named tensors.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// The region's source (the lookup's input).
    X,
    /// A named `.atl` tensor; only in tensor context.
    Var(String),
    /// Operand `k` of the node being lowered, before it is resolved to `X` or a `Var`.
    Operand(usize),
    Lit(f64),
    Add(Box<Expr>, Box<Expr>),
    Sub(Box<Expr>, Box<Expr>),
    Mul(Box<Expr>, Box<Expr>),
    Div(Box<Expr>, Box<Expr>),
    Neg(Box<Expr>),
    /// A builtin of `.atl` lookup formulas (docs/language.md §6): exp, log, sqrt, tanh, erf, sin,
    /// cos, abs, min, max, pow.
    Call(&'static str, Vec<Expr>),
    /// `max(e, 0)`; in tensor context the stdlib `relu`.
    Relu(Box<Expr>),
    /// `if c < 0 { a } else { b }`.
    IfNeg(Box<Expr>, Box<Expr>, Box<Expr>),
}

use Expr::*;

pub fn add(a: Expr, b: Expr) -> Expr {
    Add(Box::new(a), Box::new(b))
}
pub fn sub(a: Expr, b: Expr) -> Expr {
    Sub(Box::new(a), Box::new(b))
}
pub fn mul(a: Expr, b: Expr) -> Expr {
    Mul(Box::new(a), Box::new(b))
}
pub fn div(a: Expr, b: Expr) -> Expr {
    Div(Box::new(a), Box::new(b))
}
pub fn call(f: &'static str, args: Vec<Expr>) -> Expr {
    Call(f, args)
}

impl Expr {
    /// The value at `x` (the source element), in f64, as the lookup's formula means it.
    pub fn eval(&self, x: f64) -> f64 {
        self.eval_with(x, &[])
    }

    /// The value with `Operand(k)` read as `ops[k]` (how the registry's formulas give the f64
    /// meaning of elementwise ops: one definition for evaluation and lowering).
    pub fn eval_with(&self, x: f64, ops: &[f64]) -> f64 {
        let ev = |e: &Expr| e.eval_with(x, ops);
        match self {
            X => x,
            Operand(k) => ops.get(*k).copied().unwrap_or(f64::NAN),
            Var(_) => f64::NAN,
            Lit(v) => *v,
            Add(a, b) => ev(a) + ev(b),
            Sub(a, b) => ev(a) - ev(b),
            Mul(a, b) => ev(a) * ev(b),
            Div(a, b) => ev(a) / ev(b),
            Neg(a) => -ev(a),
            Relu(a) => ev(a).max(0.0),
            IfNeg(c, a, b) => {
                if ev(c) < 0.0 {
                    ev(a)
                } else {
                    ev(b)
                }
            }
            Call(f, args) => {
                let v: Vec<f64> = args.iter().map(ev).collect();
                let a = v.first().copied().unwrap_or(f64::NAN);
                let b = v.get(1).copied().unwrap_or(f64::NAN);
                match *f {
                    "exp" => a.exp(),
                    "log" => a.ln(),
                    "sqrt" => a.sqrt(),
                    "tanh" => a.tanh(),
                    "erf" => atlas_stdlib::tables::approx::erf(a),
                    "sin" => a.sin(),
                    "cos" => a.cos(),
                    "abs" => a.abs(),
                    "min" => a.min(b),
                    "max" => a.max(b),
                    "pow" => a.powf(b),
                    _ => f64::NAN,
                }
            }
        }
    }

    /// Replaces operand placeholders by `ops[k]`.
    pub fn substitute(&self, ops: &[Expr]) -> Expr {
        self.rewrite(&|e| match e {
            Operand(k) => ops.get(*k).cloned(),
            _ => None,
        })
    }

    /// Bottom-up rewrite: `f` returns the replacement of a node, or `None` to keep it (with its
    /// children rewritten).
    pub fn rewrite(&self, f: &dyn Fn(&Expr) -> Option<Expr>) -> Expr {
        if let Some(e) = f(self) {
            return e;
        }
        let r = |e: &Expr| Box::new(e.rewrite(f));
        match self {
            X | Var(_) | Operand(_) | Lit(_) => self.clone(),
            Add(a, b) => Add(r(a), r(b)),
            Sub(a, b) => Sub(r(a), r(b)),
            Mul(a, b) => Mul(r(a), r(b)),
            Div(a, b) => Div(r(a), r(b)),
            Neg(a) => Neg(r(a)),
            Relu(a) => Relu(r(a)),
            IfNeg(c, a, b) => IfNeg(r(c), r(a), r(b)),
            Call(n, args) => Call(n, args.iter().map(|a| a.rewrite(f)).collect()),
        }
    }

    /// Whether `.atl` tensor arithmetic can write it: `+ - *`, division by a literal, negation and
    /// `relu`; `max`/`min` of two terms as `a + relu(b − a)`.
    pub fn is_tensor_expressible(&self) -> bool {
        match self {
            X | Var(_) | Lit(_) => true,
            Operand(_) | IfNeg(..) => false,
            Add(a, b) | Sub(a, b) | Mul(a, b) => {
                a.is_tensor_expressible() && b.is_tensor_expressible()
            }
            Div(a, b) => matches!(**b, Lit(_)) && a.is_tensor_expressible(),
            Neg(a) | Relu(a) => a.is_tensor_expressible(),
            Call("max" | "min", args) => args.iter().all(Expr::is_tensor_expressible),
            Call(..) => false,
        }
    }

    /// Whether the formula is worth a table: it calls a builtin (or a clamp) somewhere. A bare
    /// polynomial of the source, or `relu`, is cheaper as arithmetic.
    pub fn is_nonlinear(&self) -> bool {
        match self {
            X | Var(_) | Operand(_) | Lit(_) => false,
            Add(a, b) | Sub(a, b) | Mul(a, b) => a.is_nonlinear() || b.is_nonlinear(),
            Div(a, b) => !matches!(**b, Lit(_)) || a.is_nonlinear(),
            Neg(a) => a.is_nonlinear(),
            Relu(_) | IfNeg(..) | Call(..) => true,
        }
    }

    /// Whether the formula is `relu` of the source (its output keeps the source's type).
    pub fn is_relu_of_source(&self) -> bool {
        matches!(self, Relu(a) if **a == X)
    }

    /// The `.atl` text: in a lookup formula (`x` is the source) or in tensor code (`X` is
    /// `source`, `max`/`min` through `relu`).
    pub fn print(&self, source: &str, tensor: bool) -> Result<String, String> {
        let mut s = String::new();
        self.write(&mut s, source, tensor, 0)?;
        Ok(s)
    }

    /// Precedence: 0 sum, 1 product, 2 unary/atom.
    fn write(&self, s: &mut String, src: &str, tensor: bool, ctx: u8) -> Result<(), String> {
        let paren =
            |s: &mut String, own: u8, body: &mut dyn FnMut(&mut String) -> Result<(), String>| {
                if own < ctx {
                    s.push('(');
                    body(s)?;
                    s.push(')');
                    Ok(())
                } else {
                    body(s)
                }
            };
        match self {
            X => s.push_str(if tensor { src } else { "x" }),
            Var(n) => s.push_str(n),
            Operand(k) => return Err(format!("internal: unresolved operand {k}")),
            Lit(v) => {
                if !v.is_finite() {
                    return Err(format!("the constant {v} has no fixed-point value"));
                }
                let text = format!("{v:?}");
                if *v < 0.0 {
                    let _ = write!(s, "(-{})", &text[1..]);
                } else {
                    s.push_str(&text);
                }
            }
            Add(a, b) | Sub(a, b) => paren(s, 0, &mut |s| {
                a.write(s, src, tensor, 0)?;
                s.push_str(if matches!(self, Add(..)) { " + " } else { " - " });
                b.write(s, src, tensor, 1)
            })?,
            Mul(a, b) | Div(a, b) => paren(s, 1, &mut |s| {
                a.write(s, src, tensor, 1)?;
                s.push_str(if matches!(self, Mul(..)) { " * " } else { " / " });
                b.write(s, src, tensor, 2)
            })?,
            Neg(a) => paren(s, 2, &mut |s| {
                s.push('-');
                a.write(s, src, tensor, 2)
            })?,
            Relu(a) if tensor => {
                s.push_str("relu(");
                a.write(s, src, tensor, 0)?;
                s.push(')');
            }
            Relu(a) => {
                s.push_str("max(");
                a.write(s, src, tensor, 0)?;
                s.push_str(", 0.0)");
            }
            Call(f @ ("max" | "min"), args) if tensor && args.len() == 2 => {
                // max(a, b) = a + relu(b − a); min(a, b) = a − relu(a − b).
                let (a, b) = (&args[0], &args[1]);
                let e = if *f == "max" {
                    add(a.clone(), Relu(Box::new(sub(b.clone(), a.clone()))))
                } else {
                    sub(a.clone(), Relu(Box::new(sub(a.clone(), b.clone()))))
                };
                e.write(s, src, tensor, ctx)?;
            }
            Call(f, args) => {
                if tensor {
                    return Err(format!("`{f}` of a tensor needs a table"));
                }
                s.push_str(f);
                s.push('(');
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        s.push_str(", ");
                    }
                    a.write(s, src, tensor, 0)?;
                }
                s.push(')');
            }
            IfNeg(c, a, b) => {
                if tensor {
                    return Err("a piecewise formula needs a table".into());
                }
                s.push_str("(if ");
                c.write(s, src, tensor, 0)?;
                s.push_str(" < 0.0 { ");
                a.write(s, src, tensor, 0)?;
                s.push_str(" } else { ");
                b.write(s, src, tensor, 0)?;
                s.push_str(" })");
            }
        }
        Ok(())
    }
}
