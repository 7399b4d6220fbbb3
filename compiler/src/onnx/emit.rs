//! Writing the `.atl` program: one `let` per materialized ONNX value, with its calibrated type;
//! params for constant tensors (saved in the weights file); `lookup` declarations for non-linear
//! elementwise regions.

use std::collections::{BTreeSet, HashMap, HashSet};

use super::expr::{self, Expr};
use super::graph::{Graph, Node};
use super::tensor::{Kind, Tensor};

/// Every activation and weight is a 16-bit value: the widest a table can read.
pub const BITS: u8 = 16;

/// Activations get this factor of headroom over their calibrated range.
pub const HEADROOM: f64 = 2.0;

/// An element type of the generated program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    /// `fix<16, frac>`.
    Fix(u8),
    /// `i16` or `i32`.
    Int(u8),
}

impl Ty {
    pub fn atl(self) -> String {
        match self {
            Ty::Fix(f) => format!("fix<{BITS}, {f}>"),
            Ty::Int(b) => format!("i{b}"),
        }
    }

    /// The `fix<16, F>` with the most fractional bits whose range holds `max_abs · headroom`
    /// (`F` in 0..=15): values beyond it saturate.
    pub fn for_range(max_abs: f64, headroom: f64) -> Ty {
        let m = max_abs * headroom;
        if m.is_nan() || m <= 0.0 {
            return Ty::Fix(BITS - 1);
        }
        // 2^(15 − F) > m  ⇔  F < 15 − log2 m.
        let f = i32::from(BITS) - 2 - m.log2().floor() as i32;
        Ty::Fix(f.clamp(0, i32::from(BITS) - 1) as u8)
    }

    /// The one of `self` and `other` with fewer fractional bits (the wider range).
    pub fn min_frac(self, other: Ty) -> Ty {
        match (self, other) {
            (Ty::Fix(a), Ty::Fix(b)) => Ty::Fix(a.min(b)),
            (t, _) => t,
        }
    }

    /// The real range the type holds.
    pub fn range(self) -> (f64, f64) {
        match self {
            Ty::Fix(f) => {
                let s = 2f64.powi(i32::from(f));
                (-(2f64.powi(i32::from(BITS) - 1)) / s, (2f64.powi(i32::from(BITS) - 1) - 1.0) / s)
            }
            Ty::Int(b) => (-(2f64.powi(i32::from(b) - 1)), 2f64.powi(i32::from(b) - 1) - 1.0),
        }
    }
}

/// How an ONNX value is represented while the program is written.
#[derive(Clone, Debug)]
pub enum Repr {
    /// Known at import time (an initializer or a folded node).
    Const,
    /// `expr` applied elementwise to the materialized `.atl` value `source` (same shape).
    Region { source: String, expr: Expr },
}

/// The type of a tensor-op result.
pub enum TyChoice {
    /// From the calibration values of the ONNX output.
    Calibrated,
    /// The type of this `.atl` value (data movement, max).
    Same(String),
    /// This type.
    Fixed(Ty),
}

/// What a tensor lowering produces for one output.
pub struct Out {
    pub expr: String,
    pub ty: TyChoice,
}

/// Import options.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Every activation at `fix<16, frac>` instead of calibrated per tensor.
    pub frac: Option<u8>,
}

pub struct Emitter<'g> {
    pub g: &'g Graph,
    /// Every ONNX value on the calibration input.
    pub values: &'g HashMap<String, Tensor>,
    pub consts: &'g HashSet<String>,
    pub opts: Options,
    repr: HashMap<String, Repr>,
    /// Calibration data and type of each `.atl` value.
    data: HashMap<String, (Tensor, Ty)>,
    used: HashSet<String>,
    param_of: HashMap<String, String>,
    cache: HashMap<(String, String), String>,
    /// Declared lookups by (input type, output type, formula).
    tables: HashMap<(String, String, String), String>,
    pub imports: BTreeSet<&'static str>,
    pub params: Vec<String>,
    pub weights: Vec<(String, Tensor)>,
    pub lookups: Vec<String>,
    pub body: Vec<String>,
    pub weights_file: String,
}

/// Whether `s` is a word `.atl` reserves or a library name a value must not shadow.
fn reserved(s: &str) -> bool {
    atlas_lang::lexer::KEYWORDS.contains(&s) || crate::front::builtin_names().contains(&s)
}

/// An `.atl` identifier for an ONNX name.
fn sanitize(name: &str) -> String {
    let mut s: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    s = s.trim_matches('_').to_string();
    while s.contains("__") {
        s = s.replace("__", "_");
    }
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) || reserved(&s) {
        s = format!("v_{s}");
    }
    s
}

fn shape_text(shape: &[usize]) -> String {
    shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")
}

impl<'g> Emitter<'g> {
    pub fn new(
        g: &'g Graph,
        values: &'g HashMap<String, Tensor>,
        consts: &'g HashSet<String>,
        opts: Options,
        weights_file: String,
    ) -> Self {
        let mut repr = HashMap::new();
        for c in consts {
            repr.insert(c.clone(), Repr::Const);
        }
        Emitter {
            g,
            values,
            consts,
            opts,
            repr,
            data: HashMap::new(),
            used: HashSet::new(),
            param_of: HashMap::new(),
            cache: HashMap::new(),
            tables: HashMap::new(),
            imports: BTreeSet::new(),
            params: Vec::new(),
            weights: Vec::new(),
            lookups: Vec::new(),
            body: Vec::new(),
            weights_file,
        }
    }

    pub fn fresh(&mut self, hint: &str) -> String {
        let base = sanitize(hint);
        let mut name = base.clone();
        let mut k = 1;
        while !self.used.insert(name.clone()) {
            k += 1;
            name = format!("{base}_{k}");
        }
        name
    }

    /// The ONNX value `name`'s calibration data.
    pub fn value(&self, name: &str) -> Result<&'g Tensor, String> {
        self.values.get(name).ok_or_else(|| format!("internal: no value for `{name}`"))
    }

    pub fn is_const(&self, name: &str) -> bool {
        self.consts.contains(name)
    }

    /// The type of a materialized `.atl` value.
    pub fn ty_of(&self, atl: &str) -> Option<Ty> {
        self.data.get(atl).map(|(_, t)| *t)
    }

    /// The type for an activation with these calibration values.
    pub fn act_ty(&self, t: &Tensor) -> Ty {
        if t.kind != Kind::Float {
            return if t.max_abs() < 32_768.0 { Ty::Int(16) } else { Ty::Int(32) };
        }
        match self.opts.frac {
            Some(f) => Ty::Fix(f),
            None => Ty::for_range(t.max_abs(), HEADROOM),
        }
    }

    /// Declares a graph input.
    pub fn input(&mut self, name: &str, ty: Ty) -> Result<String, String> {
        let atl = self.fresh(name);
        let data = self.value(name)?.clone();
        self.data.insert(atl.clone(), (data, ty));
        self.repr.insert(name.into(), Repr::Region { source: atl.clone(), expr: Expr::X });
        Ok(atl)
    }

    /// A constant tensor as a param saved in the weights file, typed from its values.
    pub fn param_tensor(&mut self, hint: &str, t: Tensor) -> String {
        let atl = self.fresh(hint);
        let ty = if t.kind == Kind::Float {
            Ty::for_range(t.max_abs(), 1.0)
        } else if t.max_abs() < 128.0 {
            Ty::Int(8)
        } else {
            self.act_ty(&t)
        };
        self.params.push(format!(
            "param {atl}: {}[{}] = load(\"{}\", \"{atl}\")",
            ty.atl(),
            shape_text(&t.shape),
            self.weights_file
        ));
        self.data.insert(atl.clone(), (t.clone(), ty));
        self.weights.push((atl.clone(), t));
        atl
    }

    /// The param for the constant ONNX value `name` (declared once).
    pub fn param(&mut self, name: &str) -> Result<String, String> {
        if let Some(p) = self.param_of.get(name) {
            return Ok(p.clone());
        }
        let t = self.value(name)?.clone();
        let p = self.param_tensor(name, t);
        self.param_of.insert(name.into(), p.clone());
        Ok(p)
    }

    /// The `.atl` name holding ONNX value `name` (a param for a constant).
    pub fn operand(&mut self, name: &str) -> Result<String, String> {
        match self.repr.get(name).cloned() {
            Some(Repr::Const) => self.param(name),
            Some(Repr::Region { source, expr }) => self.materialize(&source, &expr, name),
            None => Err(format!("internal: `{name}` was not lowered")),
        }
    }

    pub fn repr(&self, name: &str) -> Option<&Repr> {
        self.repr.get(name)
    }

    /// `expr` of `source` as its own `.atl` value (named after `hint`): plain arithmetic for a
    /// polynomial, else a `lookup` built from the formula.
    pub fn materialize(&mut self, source: &str, e: &Expr, hint: &str) -> Result<String, String> {
        if *e == Expr::X {
            return Ok(source.to_string());
        }
        let formula = e.print(source, false)?;
        let key = (source.to_string(), formula.clone());
        if let Some(n) = self.cache.get(&key) {
            return Ok(n.clone());
        }
        let (src_data, src_ty) = self
            .data
            .get(source)
            .cloned()
            .ok_or_else(|| format!("internal: no data for `{source}`"))?;
        let out = src_data.map(|x| e.eval(x));
        let ty = if e.is_relu_of_source() { src_ty } else { self.act_ty(&out) };
        let name = self.fresh(hint);
        let rhs = if e.is_tensor_expressible() && !e.is_nonlinear() || e.is_relu_of_source() {
            if e.is_relu_of_source() {
                self.imports.insert("relu");
            }
            e.print(source, true)?
        } else {
            // One table per (formula, input type, output type): layers that repeat share it.
            let sig = (src_ty.atl(), ty.atl(), formula.clone());
            let f = match self.tables.get(&sig) {
                Some(f) => f.clone(),
                None => {
                    let f = self.fresh(&format!("f_{hint}"));
                    self.lookups.push(format!("lookup {f}(x: {}) -> {} = {formula}", sig.0, sig.1));
                    self.tables.insert(sig, f.clone());
                    f
                }
            };
            format!("{f}({source})")
        };
        self.body.push(format!("let {name}: {}[{}] = {rhs}", ty.atl(), shape_text(&out.shape)));
        self.data.insert(name.clone(), (out, ty));
        self.cache.insert(key, name.clone());
        Ok(name)
    }

    /// Binds ONNX value `onnx` to a new `let` of `expr`.
    pub fn bind(&mut self, onnx: &str, out: Out) -> Result<(), String> {
        let data = self.value(onnx)?.clone();
        let ty = match &out.ty {
            TyChoice::Calibrated => self.act_ty(&data),
            TyChoice::Same(n) => self.ty_of(n).unwrap_or_else(|| self.act_ty(&data)),
            TyChoice::Fixed(t) => *t,
        };
        let name = self.fresh(onnx);
        self.body.push(format!(
            "let {name}: {}[{}] = {}",
            ty.atl(),
            shape_text(&data.shape),
            out.expr
        ));
        self.data.insert(name.clone(), (data, ty));
        self.repr.insert(onnx.into(), Repr::Region { source: name, expr: Expr::X });
        Ok(())
    }

    /// An elementwise node: fused into its operands' region when they all come from one source
    /// (plus scalar constants), else written as arithmetic on named tensors.
    pub fn elementwise(
        &mut self,
        node: &Node,
        formula: fn(&Node, &[Expr]) -> Result<Expr, String>,
    ) -> Result<(), String> {
        let out_name = node.outputs.first().ok_or("no output")?;
        let out_shape = self.value(out_name)?.shape.clone();
        let mut fused: Vec<Expr> = Vec::new();
        let mut source: Option<String> = None;
        let mut fusible = true;
        for i in node.inputs.iter() {
            if i.is_empty() {
                fused.push(Expr::Lit(f64::NAN));
                continue;
            }
            match self.repr.get(i) {
                Some(Repr::Const) => match self.value(i)?.as_scalar() {
                    Some(v) => fused.push(Expr::Lit(v)),
                    None => {
                        fusible = false;
                        fused.push(Expr::Lit(f64::NAN));
                    }
                },
                Some(Repr::Region { source: s, expr }) => {
                    if self.value(i)?.shape != out_shape
                        || source.as_ref().is_some_and(|src| src != s)
                    {
                        fusible = false;
                    }
                    source = Some(s.clone());
                    fused.push(expr.clone());
                }
                None => return Err(format!("internal: `{i}` was not lowered")),
            }
        }
        if fusible {
            if let Some(source) = source {
                let expr = formula(node, &fused)?;
                self.repr.insert(out_name.clone(), Repr::Region { source, expr });
                return Ok(());
            }
        }
        // Arithmetic on named tensors.
        let mut ops = Vec::new();
        let mut regions = HashMap::new();
        for (k, i) in node.inputs.iter().enumerate() {
            if i.is_empty() {
                ops.push(Expr::Lit(f64::NAN));
                continue;
            }
            match self.repr.get(i).cloned() {
                Some(Repr::Const) => match self.value(i)?.as_scalar() {
                    Some(v) => ops.push(Expr::Lit(v)),
                    None => {
                        let p = self.param(i)?;
                        ops.push(Expr::Var(p));
                    }
                },
                Some(Repr::Region { source, expr }) => {
                    regions.insert(k, (source, expr, i.clone()));
                    ops.push(Expr::Operand(k));
                }
                None => return Err(format!("internal: `{i}` was not lowered")),
            }
        }
        let e = formula(node, &ops)?;
        let e = self.resolve(e, &regions)?;
        if !e.is_tensor_expressible() {
            return Err(format!(
                "{}: {} of several computed tensors cannot be written without a table of two \
                 16-bit inputs",
                node.describe(),
                node.op_type
            ));
        }
        let text = e.print("", true)?;
        if text.contains("relu(") {
            self.imports.insert("relu");
        }
        self.bind(out_name, Out { expr: text, ty: TyChoice::Calibrated })
    }

    /// The calibration data of a resolved operand (a named tensor or a literal).
    fn data_of(&self, e: &Expr) -> Result<Tensor, String> {
        match e {
            Expr::Var(n) => self
                .data
                .get(n)
                .map(|(t, _)| t.clone())
                .ok_or_else(|| format!("internal: no data for `{n}`")),
            Expr::Lit(v) => Ok(Tensor::scalar(*v, Kind::Float)),
            _ => Err("internal: a difference of expressions".into()),
        }
    }

    /// `let d = a − b` with the difference's calibrated type.
    fn let_difference(&mut self, a: &Expr, b: &Expr) -> Result<String, String> {
        let data = super::tensor::zip(&[&self.data_of(a)?, &self.data_of(b)?], Kind::Float, |v| {
            v[0] - v[1]
        })?;
        let ty = self.act_ty(&data);
        let name = self.fresh("diff");
        let text = expr::sub(a.clone(), b.clone()).print("", true)?;
        self.body.push(format!("let {name}: {}[{}] = {text}", ty.atl(), shape_text(&data.shape)));
        self.data.insert(name.clone(), (data, ty));
        Ok(name)
    }

    /// Replaces operand placeholders by named tensors; a division by a tensor becomes a product
    /// with its reciprocal (a table over the divisor's region, or a constant's reciprocal).
    fn resolve(
        &mut self,
        e: Expr,
        regions: &HashMap<usize, (String, Expr, String)>,
    ) -> Result<Expr, String> {
        let r = |s: &mut Self, e: Expr| s.resolve(e, regions);
        Ok(match e {
            Expr::Operand(k) => {
                let (source, expr, onnx) = regions.get(&k).cloned().ok_or("internal: operand")?;
                Expr::Var(self.materialize(&source, &expr, &onnx)?)
            }
            Expr::Div(a, b) => {
                let a = r(self, *a)?;
                match *b {
                    Expr::Lit(v) => expr::div(a, Expr::Lit(v)),
                    Expr::Operand(k) => {
                        let (source, expr, onnx) =
                            regions.get(&k).cloned().ok_or("internal: operand")?;
                        let recip = expr::div(Expr::Lit(1.0), expr);
                        let n = self.materialize(&source, &recip, &format!("recip_{onnx}"))?;
                        expr::mul(a, Expr::Var(n))
                    }
                    Expr::Var(p) => {
                        let t = self
                            .data
                            .get(&p)
                            .map(|(t, _)| t.map(|x| 1.0 / x))
                            .ok_or("internal: constant divisor")?;
                        let n = self.param_tensor(&format!("recip_{p}"), t);
                        expr::mul(a, Expr::Var(n))
                    }
                    other => expr::div(a, r(self, other)?),
                }
            }
            Expr::Add(a, b) => expr::add(r(self, *a)?, r(self, *b)?),
            Expr::Sub(a, b) => expr::sub(r(self, *a)?, r(self, *b)?),
            Expr::Mul(a, b) => expr::mul(r(self, *a)?, r(self, *b)?),
            Expr::Neg(a) => Expr::Neg(Box::new(r(self, *a)?)),
            Expr::Relu(a) => Expr::Relu(Box::new(r(self, *a)?)),
            Expr::Call(f @ ("max" | "min"), args) if args.len() == 2 => {
                // max(a, b) = a + relu(b − a), min(a, b) = a − relu(a − b): the difference gets its
                // own calibrated type, so the relu does not saturate it at an operand's range.
                let mut it = args.into_iter();
                let (a, b) =
                    (r(self, it.next().ok_or("operand")?)?, r(self, it.next().ok_or("operand")?)?);
                let (l, rr) = if f == "max" { (b, a.clone()) } else { (a.clone(), b) };
                let diff = self.let_difference(&l, &rr)?;
                let relu = Expr::Relu(Box::new(Expr::Var(diff)));
                if f == "max" {
                    expr::add(a, relu)
                } else {
                    expr::sub(a, relu)
                }
            }
            Expr::Call(f, args) => {
                Expr::Call(f, args.into_iter().map(|a| r(self, a)).collect::<Result<_, _>>()?)
            }
            Expr::IfNeg(c, a, b) => {
                Expr::IfNeg(Box::new(r(self, *c)?), Box::new(r(self, *a)?), Box::new(r(self, *b)?))
            }
            other => other,
        })
    }
}
