//! Name resolution, `fn` inlining, type/shape checking and lowering to IR, in one walk.
//!
//! Values carry two element types: the *exact* IR type (`ty`, computed by `atlas_ir::infer`) and a
//! *nominal* type, the declared type the value is "made of" (see docs/language.md, "Types and
//! fixed-point semantics"). Exact values are narrowed to their nominal type where an operation
//! needs a narrow operand (products, stdlib tables), and to a declared type where the program
//! declares one.
//!
//! Two trees can be in play: the user's file and the `std.nn` prelude (`atl/nn.atl` in the
//! stdlib). Calling a prelude `fn` swaps `ast` and `globals` for the prelude's and back; generic
//! `fn`s bind their generics into the callee's fresh scope from the arguments (`param_target`).

use std::collections::{HashMap, HashSet};

use atlas_ir::{
    ElemType, InferError, Op, ParamData, ProgramBuilder, ReduceKind, Rounding, TableHandle,
    TableRef, TensorType, ValueId, Visibility,
};
use atlas_lang::ast::{self, Arg, BinOp, Dim, Expr, ExprId, IndexArg, Item, ItemId, ParamInit};
use atlas_lang::ast::{NameId, Stmt, StmtId, TypeExpr, TypeId};
use atlas_lang::{codes, Ast, Diagnostic, Span};

use super::tables::{self, DenseSpec, Formula};
use super::{Compiled, Model};
use atlas_stdlib::{Approx, Fixed, Spec};

/// The library functions the compiler lowers itself: `std.prim`, with the sampled tables
/// (`<name>_table` for each of [`atlas_stdlib::SAMPLED`]).
const PRIMS: &[&str] = &[
    "relu",
    "sum",
    "reduce_max",
    "transpose",
    "reshape",
    "permute",
    "gather",
    "concat",
    "conv2d",
    "max_pool2d",
    "exact",
];

/// `std.nn`'s functions written in `.atl` (`stdlib/atl/nn.atl`); a test keeps this equal to the
/// prelude's `fn`s.
const NN_PRELUDE: &[&str] = &["softmax", "layer_norm", "gelu", "mean"];

/// The primitives `std.nn` re-exports from `std.prim`.
const NN_REEXPORTS: &[&str] = &[
    "relu",
    "sum",
    "transpose",
    "reshape",
    "conv2d",
    "max_pool2d",
    "permute",
    "gather",
    "concat",
    "reduce_max",
];

/// Compile-time functions of shapes and integers, callable wherever a constant is expected.
const CONST_FNS: &[&str] = &["size", "rank", "numel", "bit_length", "min", "max"];

/// The names `import std.nn.{…}` accepts: the prelude's and the re-exported primitives.
pub fn builtin_names() -> &'static [&'static str] {
    static STD_NN: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    STD_NN.get_or_init(|| NN_PRELUDE.iter().chain(NN_REEXPORTS).copied().collect())
}

/// The file id of the prelude's spans. Diagnostics raised inside a prelude `fn` are moved to the
/// user's call before they leave the front end, so no report ever needs the prelude's text.
const PRELUDE_FILE: atlas_lang::FileId = atlas_lang::FileId(u32::MAX);

/// The parsed `std.nn` prelude (parsed once per process).
fn prelude() -> &'static atlas_lang::Parsed {
    static PRELUDE: std::sync::OnceLock<atlas_lang::Parsed> = std::sync::OnceLock::new();
    PRELUDE.get_or_init(|| atlas_lang::parse(PRELUDE_FILE, atlas_stdlib::prelude::NN))
}

/// Dense tables hold at most this many address bits (docs/isa.md, kind 7).
const DENSE_MAX_ADDRESS_BITS: u32 = 16;

/// Inline (`random` or literal) params larger than this are refused rather than materialized.
const MAX_INLINE_ELEMENTS: usize = 1 << 24;

/// Kind byte of program-local dense tables (docs/isa.md).
const DENSE_KIND: u32 = 7;

/// An error that has already been reported; whatever depended on it is skipped silently.
#[derive(Debug)]
struct Reported;

type R<T> = Result<T, Reported>;

/// A tensor value during elaboration. `id` is `None` when the value is well typed but could not
/// be lowered (something upstream is not supported yet): checking continues, building stops.
#[derive(Clone, Debug)]
struct T {
    id: Option<ValueId>,
    ty: TensorType,
    nominal: ElemType,
}

/// An expression's value: a compile-time number not yet given a type, or a tensor.
#[derive(Clone, Debug)]
enum Val {
    Lit(f64),
    Tensor(T),
}

/// What a name in scope stands for: a value (a tensor, or a compile-time number: a literal `let`,
/// an `int` parameter, a generic dimension), an element type (a generic), or nothing (an `int`
/// parameter defaulting to `none` and left out).
#[derive(Clone, Debug)]
enum Bound {
    Val(Val),
    Type(ElemType),
    None,
}

#[derive(Clone, Copy, Debug)]
enum Global {
    Const(ItemId),
    Type(ItemId),
    Lookup(ItemId),
    Fn(ItemId),
    /// A `fn` of the `std.nn` prelude (an item of [`prelude`]'s tree).
    Prelude(ItemId),
    Model,
    Builtin(&'static str),
    /// `<name>_table`: a sampled primitive of the stdlib.
    Sampled(&'static Spec),
}

impl Global {
    fn describe(self) -> &'static str {
        match self {
            Global::Const(_) => "a const",
            Global::Type(_) => "a type alias",
            Global::Lookup(_) => "a lookup",
            Global::Fn(_) | Global::Prelude(_) => "a fn",
            Global::Model => "a model",
            Global::Builtin(_) | Global::Sampled(_) => "a library function",
        }
    }
}

#[derive(Default)]
struct Globals {
    map: HashMap<String, Global>,
}

/// A `fn`: an item of the user's tree or of the prelude's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FnRef {
    item: ItemId,
    prelude: bool,
}

/// A call being expanded, for the diagnostics raised inside it.
#[derive(Clone, Debug)]
struct Site {
    span: Span,
    name: String,
}

/// Runs the front end over a parsed file.
pub(super) fn run(ast: &Ast) -> Compiled {
    let mut e = Elab::new(ast);
    // The prelude's names first: the user's `import std.nn` resolves against them.
    let nn = prelude();
    if nn.diagnostics.is_empty() {
        e.in_prelude = true;
        let globals = e.collect_globals(&nn.ast);
        e.in_prelude = false;
        e.other = Some((&nn.ast, globals));
    }
    e.globals = e.collect_globals(ast);
    let mut programs = Vec::new();
    let mut models = 0;
    for &item in &ast.items {
        match ast.item(item) {
            Item::Const { value, ty, .. } => {
                // Evaluated for its errors; uses evaluate it again where needed.
                if let Ok(v) = e.const_value(*value, &mut Vec::new()) {
                    if let Some(ty) = ty {
                        if let Ok(t) = e.resolve_type(*ty) {
                            let _ = e.quantize(v, t.elem, ast.span(*value));
                        }
                    }
                }
            }
            Item::TypeAlias { ty, .. } => {
                let _ = e.resolve_type(*ty);
            }
            Item::Lookup { params, body, .. } => {
                let _ = e.lookup_signature(item);
                let names: Vec<&str> = params.iter().map(|p| ast.name(p.name)).collect();
                e.check_formula(*body, &names);
            }
            Item::Fn { .. } => e.check_fn(item),
            Item::Model { .. } => {
                models += 1;
                if let Some(p) = e.model(item) {
                    programs.push(p);
                }
            }
            Item::Import { .. } | Item::Error => {}
        }
    }
    Compiled { programs, errors: tidy(e.errors), unsupported: tidy(e.unsupported), models }
}

fn tidy(mut ds: Vec<Diagnostic>) -> Vec<Diagnostic> {
    ds.sort_by_key(|d| d.primary_span().map(|s| (s.start, s.end)));
    // A fn body is checked on its own and again at every call site; report each problem once.
    let mut seen = HashSet::new();
    ds.retain(|d| seen.insert((d.code, d.message.clone(), d.primary_span())));
    ds
}

/// The E0406 error for `atlasc ir` on a file without exactly one model.
pub(super) fn model_count_error(ast: &Ast, models: usize) -> Diagnostic {
    let span = ast
        .items
        .iter()
        .filter(|&&i| matches!(ast.item(i), Item::Model { .. }))
        .nth(1)
        .or_else(|| ast.items.first())
        .map_or(atlas_lang::Span::new(ast.file, 0, 0), |&i| ast.span(i));
    Diagnostic::error(
        codes::MODEL_COUNT,
        format!("expected exactly one `model` to compile, found {models}"),
    )
    .with_primary(span, if models == 0 { "no model in this file" } else { "another model" })
    .with_help("`atlasc ir` compiles one model per file; move the others to their own files")
}

struct Elab<'a> {
    ast: &'a Ast,
    globals: Globals,
    b: ProgramBuilder,
    errors: Vec<Diagnostic>,
    unsupported: Vec<Diagnostic>,
    /// Tables already declared in `b`, by name.
    tables: HashMap<String, TableHandle>,
    /// The program's dense tables, in index order.
    dense: Vec<DenseSpec>,
    names_used: HashSet<String>,
    /// `fn`s being inlined, innermost last, to refuse recursion.
    fn_stack: Vec<FnRef>,
    /// The names in scope in the body being elaborated.
    scope: HashMap<String, Bound>,
    /// The tree and globals not being elaborated now: the prelude's while in the user's file,
    /// the user's while in a prelude `fn` (swapped with `ast`/`globals` on the way in and out).
    other: Option<(&'a Ast, Globals)>,
    in_prelude: bool,
    /// The outermost call of a generic user `fn` being expanded.
    site: Option<Site>,
    /// The user's call into the prelude being expanded.
    prelude_site: Option<Site>,
}

impl<'a> Elab<'a> {
    fn new(ast: &'a Ast) -> Self {
        Elab {
            ast,
            globals: Globals { map: HashMap::new() },
            b: ProgramBuilder::new("unnamed"),
            errors: Vec::new(),
            unsupported: Vec::new(),
            tables: HashMap::new(),
            dense: Vec::new(),
            names_used: HashSet::new(),
            fn_stack: Vec::new(),
            scope: HashMap::new(),
            other: None,
            in_prelude: false,
            site: None,
            prelude_site: None,
        }
    }

    fn err(&mut self, d: Diagnostic) -> Reported {
        let d = self.locate(d);
        self.errors.push(d);
        Reported
    }

    fn unsupported(&mut self, d: Diagnostic) {
        let d = self.locate(d);
        self.unsupported.push(d);
    }

    /// Places a diagnostic raised while expanding a call: inside the prelude it moves to the
    /// user's call (the prelude's text is not the user's to read), inside a generic `fn` it gains
    /// the call as context.
    fn locate(&self, mut d: Diagnostic) -> Diagnostic {
        // Context labels inside the prelude ("fn declared here") cannot be shown to the user.
        d.labels.retain(|l| l.primary || l.span.file != PRELUDE_FILE);
        if let Some(site) = &self.prelude_site {
            for l in &mut d.labels {
                if l.span.file == PRELUDE_FILE {
                    l.span = site.span;
                }
            }
            for l in d.labels.iter_mut().filter(|l| l.primary) {
                l.message = format!("in this call to `{}` (std.nn): {}", site.name, l.message);
            }
        }
        if let Some(site) = &self.site {
            if !d.labels.iter().any(|l| l.span == site.span) {
                d = d.with_secondary(site.span, format!("in this call to `{}`", site.name));
            }
        }
        d
    }

    fn name(&self, n: NameId) -> &'a str {
        self.ast.name(n)
    }

    fn span_e(&self, e: ExprId) -> Span {
        self.ast.span(e)
    }

    // ----- globals ------------------------------------------------------------------------

    /// The top-level names of `ast`, with its imports resolved. Inside the prelude `std.nn`
    /// cannot be imported (it is the prelude).
    fn collect_globals(&mut self, ast: &'a Ast) -> Globals {
        let mut globals = Globals::default();
        let mut first: HashMap<String, Span> = HashMap::new();
        for &item in &ast.items {
            let mut declare = |this: &mut Self, name: NameId, g: Global| {
                let text = ast.name(name).to_string();
                let span = ast.span(name);
                if let Some(prev) = first.get(&text) {
                    this.err(
                        Diagnostic::error(
                            codes::DUPLICATE_NAME,
                            format!("expected a new name, found `{text}` declared a second time"),
                        )
                        .with_primary(span, "declared again here")
                        .with_secondary(*prev, "first declared here")
                        .with_help("rename one of the two declarations"),
                    );
                } else {
                    first.insert(text.clone(), span);
                    globals.map.insert(text, g);
                }
            };
            match ast.item(item) {
                Item::Const { name, .. } => declare(self, *name, Global::Const(item)),
                Item::TypeAlias { name, .. } => declare(self, *name, Global::Type(item)),
                Item::Lookup { name, .. } => declare(self, *name, Global::Lookup(item)),
                Item::Fn { name, .. } => declare(self, *name, Global::Fn(item)),
                Item::Model { name, .. } => declare(self, *name, Global::Model),
                Item::Import { path, names } => {
                    let path_text: Vec<&str> = path.iter().map(|n| ast.name(*n)).collect();
                    // `import std.nn.relu` is the path `std.nn` and the name `relu`.
                    let (module, imported): (Vec<&str>, Vec<NameId>) = match names {
                        Some(ns) => (path_text.clone(), ns.clone()),
                        None => match path.split_last() {
                            Some((last, _)) => {
                                (path_text[..path_text.len() - 1].to_vec(), vec![*last])
                            }
                            None => (Vec::new(), Vec::new()),
                        },
                    };
                    let module = module.join(".");
                    let known =
                        if self.in_prelude { "`std.prim`" } else { "`std.nn` or `std.prim`" };
                    let lists = if module == "std.prim" {
                        format!(
                            "`std.prim` provides: {}, and `<name>_table` for the sampled \
                             primitives ({})",
                            PRIMS.join(", "),
                            atlas_stdlib::SAMPLED
                                .iter()
                                .map(|s| s.name)
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    } else {
                        format!("`std.nn` provides: {}", builtin_names().join(", "))
                    };
                    if !(module == "std.prim" || (module == "std.nn" && !self.in_prelude)) {
                        self.err(
                            Diagnostic::error(
                                codes::UNKNOWN_IMPORT,
                                format!("expected the module {known}, found `{module}`"),
                            )
                            .with_primary(ast.span(item), "unknown module")
                            .with_help(lists),
                        );
                        continue;
                    }
                    for n in imported {
                        let text = ast.name(n);
                        let found = if module == "std.nn" {
                            self.nn_global(text)
                        } else {
                            prim_global(text)
                        };
                        match found {
                            Some(g) => declare(self, n, g),
                            None => {
                                self.err(
                                    Diagnostic::error(
                                        codes::UNKNOWN_IMPORT,
                                        format!(
                                            "expected a function of `{module}`, found `{text}`"
                                        ),
                                    )
                                    .with_primary(ast.span(n), format!("not in `{module}`"))
                                    .with_help(lists.clone()),
                                );
                            }
                        }
                    }
                }
                Item::Error => {}
            }
        }
        globals
    }

    /// `std.nn`'s meaning of `name`: a prelude `fn` or a re-exported primitive.
    fn nn_global(&self, name: &str) -> Option<Global> {
        if NN_REEXPORTS.contains(&name) {
            return prim_global(name);
        }
        if !NN_PRELUDE.contains(&name) {
            return None;
        }
        // No prelude globals only if the prelude failed to parse, which its own test rules out;
        // the import then reports the name as missing.
        match self.other.as_ref()?.1.map.get(name) {
            Some(Global::Fn(item)) => Some(Global::Prelude(*item)),
            _ => None,
        }
    }

    // ----- constants and types ------------------------------------------------------------

    /// The value of a constant expression (literals, `const`s and arithmetic on them).
    fn const_value(&mut self, e: ExprId, visiting: &mut Vec<ItemId>) -> R<f64> {
        let span = self.span_e(e);
        match &self.ast.exprs[e] {
            Expr::Int(v) => Ok(*v as f64),
            Expr::Float(v) => Ok(*v),
            Expr::Neg(x) => Ok(-self.const_value(*x, visiting)?),
            Expr::Binary { op, lhs, rhs } => {
                let (a, b) = (self.const_value(*lhs, visiting)?, self.const_value(*rhs, visiting)?);
                match op {
                    BinOp::Add => Ok(a + b),
                    BinOp::Sub => Ok(a - b),
                    BinOp::Mul => Ok(a * b),
                    BinOp::Div if b == 0.0 => Err(self.err(
                        Diagnostic::error(
                            codes::BAD_CONSTANT,
                            "expected a non-zero divisor, found a constant 0",
                        )
                        .with_primary(span, "division by zero")
                        .with_help("constants are evaluated at compile time"),
                    )),
                    BinOp::Div => Ok(a / b),
                    _ => Err(self.err(not_constant(span, "this operator"))),
                }
            }
            Expr::Name(n) => {
                let text = self.name(*n);
                if let Some(b) = self.scope.get(text).cloned() {
                    return match b {
                        Bound::Val(Val::Lit(v)) => Ok(v),
                        Bound::Val(Val::Tensor(t)) => Err(self.err(
                            Diagnostic::error(
                                codes::BAD_CONSTANT,
                                format!("expected a constant, found the tensor `{text}` ({})", show(&t.ty)),
                            )
                            .with_primary(span, "not known at compile time")
                            .with_help("a tensor's shape is: use `size(x, axis)`, `rank(x)` or `numel(x)`"),
                        )),
                        Bound::Type(e) => Err(self.err(
                            Diagnostic::error(
                                codes::BAD_CONSTANT,
                                format!("expected a constant, found the type `{text}` ({})", show_elem(e)),
                            )
                            .with_primary(span, "a type")
                            .with_help("types go in type positions and `to = …` arguments"),
                        )),
                        Bound::None => Err(self.err(
                            Diagnostic::error(
                                codes::BAD_CONSTANT,
                                format!("expected a constant, found `{text}`, which was left out (`none`)"),
                            )
                            .with_primary(span, "no value")
                            .with_help("pass it on only to an argument that may be left out"),
                        )),
                    };
                }
                if self.scope.contains_key(&poisoned(text)) {
                    return Err(Reported);
                }
                match self.globals.map.get(text).copied() {
                    Some(Global::Const(item)) => {
                        if visiting.contains(&item) {
                            return Err(self.err(
                                Diagnostic::error(
                                    codes::BAD_CONSTANT,
                                    format!("expected a constant value, found `{text}` defined in terms of itself"),
                                )
                                .with_primary(span, "cycle")
                                .with_help("give the const a value that does not refer back to it"),
                            ));
                        }
                        let Item::Const { value, .. } = self.ast.item(item) else {
                            return Err(Reported);
                        };
                        visiting.push(item);
                        let v = self.const_value(*value, visiting);
                        visiting.pop();
                        v
                    }
                    Some(g) => Err(self.err(
                        Diagnostic::error(
                            codes::UNKNOWN_NAME,
                            format!("expected a constant, found `{text}`, {}", g.describe()),
                        )
                        .with_primary(span, "not a constant")
                        .with_help("constants may use number literals and other consts"),
                    )),
                    None => Err(self.err(unknown_name(span, text, "a constant"))),
                }
            }
            Expr::Call { callee, args } if CONST_FNS.contains(&self.name(*callee)) => {
                self.const_call(self.name(*callee), args, span)
            }
            _ => Err(self.err(not_constant(span, "this expression"))),
        }
    }

    /// `size(x, axis)`, `rank(x)`, `numel(x)` (of a tensor's static shape), `bit_length(n)`
    /// (the bits of a non-negative integer: `bit_length(64) = 7`), `min(a, b)` and `max(a, b)`.
    fn const_call(&mut self, name: &str, args: &[Arg], span: Span) -> R<f64> {
        let params: &[&str] = match name {
            "size" => &["x", "axis"],
            "bit_length" => &["n"],
            "min" | "max" => &["a", "b"],
            _ => &["x"],
        };
        let a = self.bind_args(name, params, params.len(), args, span)?;
        let first = a[0].ok_or(Reported)?;
        if name == "min" || name == "max" {
            let x = self.const_value(first, &mut Vec::new());
            let y = self.const_value(a[1].ok_or(Reported)?, &mut Vec::new());
            let (x, y) = (x?, y?);
            return Ok(if name == "min" { x.min(y) } else { x.max(y) });
        }
        if name == "bit_length" {
            let n = self.const_usize(first, "an integer")?;
            return Ok(f64::from(usize::BITS - n.leading_zeros()));
        }
        let x = self.tensor_arg(first, "`x`")?;
        Ok(match name {
            "rank" => x.ty.rank() as f64,
            "numel" => x.ty.num_elements().unwrap_or(0) as f64,
            _ => {
                let axis = self.axis(a[1].ok_or(Reported)?, x.ty.rank())?;
                x.ty.shape[axis] as f64
            }
        })
    }

    /// A constant that must be a non-negative integer (a dimension, an index, an attribute).
    fn const_usize(&mut self, e: ExprId, what: &str) -> R<usize> {
        let v = self.const_value(e, &mut Vec::new())?;
        if v >= 0.0 && v.fract() == 0.0 && v < 1e15 {
            Ok(v as usize)
        } else {
            Err(self.err(
                Diagnostic::error(
                    codes::BAD_CONSTANT,
                    format!("expected {what} (a non-negative integer), found {v}"),
                )
                .with_primary(self.span_e(e), "not a non-negative integer")
                .with_help("negative indices and fractional sizes are not part of the language"),
            ))
        }
    }

    /// A declared type with a static shape (`..` is refused: it stands only in `fn` signatures
    /// and `let` annotations, where [`Self::resolve_spec`] reads it).
    fn resolve_type(&mut self, t: TypeId) -> R<TensorType> {
        let (elem, shape) = self.resolve_spec(t)?;
        match shape {
            Some(shape) => Ok(TensorType::new(elem, shape)),
            None => Err(self.err(
                Diagnostic::error(codes::TYPE_MISMATCH, "expected a static shape, found `..`")
                    .with_primary(self.ast.span(t), "any shape")
                    .with_help(
                        "`T[..]` stands only in a `fn`'s parameters and outputs and in `let` \
                         annotations; models, params and lookups have static shapes",
                    ),
            )),
        }
    }

    /// A declared type: its element type and its shape, `None` for `T[..]` (any shape).
    fn resolve_spec(&mut self, t: TypeId) -> R<(ElemType, Option<Vec<usize>>)> {
        self.resolve_type_depth(t, 0)
    }

    fn resolve_type_depth(&mut self, t: TypeId, depth: usize) -> R<(ElemType, Option<Vec<usize>>)> {
        let span = self.ast.span(t);
        match &self.ast.types[t] {
            TypeExpr::Elem(elem) => {
                let elem = match elem {
                    ast::ElemType::I8 => ElemType::I8,
                    ast::ElemType::I16 => ElemType::I16,
                    ast::ElemType::I32 => ElemType::I32,
                    ast::ElemType::Fix { bits, frac } => ElemType::fix(*bits as u8, *frac as u8),
                    // Refused by the structural checks (E0307) before the front end runs.
                    ast::ElemType::Bf16 | ast::ElemType::F8E4M3 => return Err(Reported),
                };
                Ok((elem, Some(Vec::new())))
            }
            TypeExpr::FixOf { bits, frac } => {
                let (bits, frac) = (*bits, *frac);
                let b = self.const_value(bits, &mut Vec::new());
                let f = self.const_value(frac, &mut Vec::new());
                let (b, f) = (b?, f?);
                let max = atlas_lang::check::MAX_FIX_BITS as f64;
                if b.fract() != 0.0
                    || f.fract() != 0.0
                    || !(1.0..=max).contains(&b)
                    || !(0.0..=b).contains(&f)
                {
                    return Err(self.err(
                        Diagnostic::error(
                            codes::FIX_OUT_OF_RANGE,
                            format!("expected `fix<B, F>` with 1 <= B <= {max} and 0 <= F <= B, found `fix<{b}, {f}>`"),
                        )
                        .with_primary(span, "out of range")
                        .with_help("B is the total width in bits, F the fractional bits among them"),
                    ));
                }
                Ok((ElemType::fix(b as u8, f as u8), Some(Vec::new())))
            }
            TypeExpr::Int => Err(self.err(
                Diagnostic::error(
                    codes::SIGNATURE,
                    "expected a tensor or element type, found `int`",
                )
                .with_primary(span, "`int` here")
                .with_help("`int` is the type of a `fn`'s compile-time parameters"),
            )),
            TypeExpr::Named(n) => {
                let text = self.name(*n);
                if let Some(Bound::Type(e)) = self.scope.get(text) {
                    return Ok((*e, Some(Vec::new())));
                }
                match self.globals.map.get(text).copied() {
                    Some(Global::Type(item)) => {
                        let Item::TypeAlias { ty, .. } = self.ast.item(item) else {
                            return Err(Reported);
                        };
                        if depth > 64 {
                            return Err(self.err(
                                Diagnostic::error(
                                    codes::UNKNOWN_NAME,
                                    format!("expected a type, found the alias `{text}` defined in terms of itself"),
                                )
                                .with_primary(span, "cycle")
                                .with_help("define the alias with a concrete type"),
                            ));
                        }
                        self.resolve_type_depth(*ty, depth + 1)
                    }
                    Some(g) => Err(self.err(
                        Diagnostic::error(
                            codes::UNKNOWN_NAME,
                            format!("expected a type, found `{text}`, {}", g.describe()),
                        )
                        .with_primary(span, "not a type")
                        .with_help("declare a type alias with `type Name = fix<16, 8>`"),
                    )),
                    None => Err(self.err(unknown_name(span, text, "a type"))),
                }
            }
            TypeExpr::Tensor { elem, dims } => {
                let (base, base_shape) = self.resolve_type_depth(*elem, depth + 1)?;
                if base_shape.as_ref().is_none_or(|s| !s.is_empty()) {
                    let found = match base_shape {
                        Some(shape) => show(&TensorType::new(base, shape)),
                        None => format!("{}[..]", show_elem(base)),
                    };
                    return Err(self.err(
                        Diagnostic::error(
                            codes::TYPE_MISMATCH,
                            format!(
                                "expected an element type before `[…]`, found the tensor type {found}"
                            ),
                        )
                        .with_primary(self.ast.span(*elem), "already has a shape")
                        .with_help("use the alias's element type, or the alias on its own"),
                    ));
                }
                if dims.contains(&Dim::Rest) {
                    // The structural checks keep `..` alone in its brackets.
                    return Ok((base, None));
                }
                let mut shape = Vec::new();
                let mut ok = true;
                for d in dims {
                    match d {
                        Dim::Lit(v) => shape.push(*v as usize),
                        Dim::Name(n) => match self.dim_const(*n) {
                            Ok(v) => shape.push(v),
                            Err(Reported) => ok = false,
                        },
                        Dim::Rest => ok = false,
                    }
                }
                if !ok {
                    return Err(Reported);
                }
                Ok((base, Some(shape)))
            }
        }
    }

    fn dim_const(&mut self, n: NameId) -> R<usize> {
        let text = self.name(n);
        let span = self.ast.span(n);
        // A generic dimension or a compile-time integer in scope, else a `const`.
        let v = match self.scope.get(text) {
            Some(Bound::Val(Val::Lit(v))) => *v,
            Some(_) => {
                return Err(self.err(
                    Diagnostic::error(
                        codes::BAD_CONSTANT,
                        format!("expected a dimension, found `{text}`, which is not a compile-time integer"),
                    )
                    .with_primary(span, "not a dimension")
                    .with_help("dimensions are integer literals, consts, generic dimensions and `int` parameters"),
                ))
            }
            None => match self.globals.map.get(text).copied() {
                Some(Global::Const(item)) => {
                    let Item::Const { value, .. } = self.ast.item(item) else {
                        return Err(Reported);
                    };
                    self.const_value(*value, &mut vec![item])?
                }
                Some(g) => {
                    return Err(self.err(
                        Diagnostic::error(
                            codes::UNKNOWN_NAME,
                            format!("expected a const as a dimension, found `{text}`, {}", g.describe()),
                        )
                        .with_primary(span, "not a const")
                        .with_help("dimensions are integer literals or consts"),
                    ))
                }
                None => return Err(self.err(unknown_name(span, text, "a const"))),
            },
        };
        if v >= 0.0 && v.fract() == 0.0 && v < 1e15 {
            Ok(v as usize)
        } else {
            Err(self.err(
                Diagnostic::error(
                    codes::BAD_CONSTANT,
                    format!("expected a dimension (a non-negative integer), found `{text}` = {v}"),
                )
                .with_primary(span, "not a valid dimension")
                .with_help("dimensions are non-negative integers"),
            ))
        }
    }

    /// The stored integer for the real value `v` in `elem`: round to nearest (ties toward +∞, as
    /// the VM's `shr_*_round`), refusing values that do not fit rather than saturating silently.
    fn quantize(&mut self, v: f64, elem: ElemType, span: Span) -> R<i64> {
        let frac = elem.frac().unwrap_or(0);
        let (lo, hi) = elem.range().unwrap_or((0, 0));
        if matches!(elem, ElemType::Int { .. }) && v.fract() != 0.0 {
            return Err(self.err(
                Diagnostic::error(
                    codes::BAD_CONSTANT,
                    format!("expected an integer for {}, found {v}", show_elem(elem)),
                )
                .with_primary(span, "not an integer")
                .with_help("use a `fix<B, F>` type for fractional values"),
            ));
        }
        let scaled = (v * 2f64.powi(i32::from(frac)) + 0.5).floor();
        if !(scaled >= lo as f64 && scaled <= hi as f64) {
            return Err(self.err(
                Diagnostic::error(
                    codes::BAD_CONSTANT,
                    format!("expected a value representable in {}, found {v}", show_elem(elem)),
                )
                .with_primary(span, "out of range")
                .with_help(format!(
                    "{} holds values from {} to {}",
                    show_elem(elem),
                    lo as f64 / 2f64.powi(i32::from(frac)),
                    hi as f64 / 2f64.powi(i32::from(frac))
                )),
            ));
        }
        Ok(scaled as i64)
    }

    // ----- IR building helpers ------------------------------------------------------------

    /// Types `op` over `operands` with `infer` and, if every operand was lowered, builds it.
    fn node(&mut self, op: Op, operands: &[&T], nominal: ElemType, span: Span) -> R<T> {
        let types: Vec<&TensorType> = operands.iter().map(|t| &t.ty).collect();
        let ty = match atlas_ir::infer(&op, &types, &self.b.program().tables) {
            Ok(ty) => ty,
            Err(e) => return Err(self.err(infer_error(op.name(), &e, span))),
        };
        let ids: Option<Vec<ValueId>> = operands.iter().map(|t| t.id).collect();
        let id = match ids {
            Some(ids) => match self.b.node(op, &ids) {
                Ok(id) => Some(id),
                Err(e) => {
                    return Err(self.err(
                        Diagnostic::error(
                            codes::TYPE_MISMATCH,
                            format!("expected an operation the IR accepts, found: {e}"),
                        )
                        .with_primary(span, "here"),
                    ))
                }
            },
            None => None,
        };
        Ok(T { id, ty, nominal })
    }

    fn scalar_const(&mut self, v: f64, elem: ElemType, span: Span) -> R<T> {
        let q = self.quantize(v, elem, span)?;
        let ty = TensorType::new(elem, []);
        let id = self.b.constant(None, ty.clone(), vec![q]);
        Ok(T { id: Some(id), ty, nominal: elem })
    }

    fn broadcast_to(&mut self, t: T, shape: &[usize], span: Span) -> R<T> {
        if t.ty.shape == shape {
            return Ok(t);
        }
        let nominal = t.nominal;
        self.node(Op::Broadcast { shape: shape.to_vec() }, &[&t], nominal, span)
    }

    /// Converts `t` to the element type `to`: a value-preserving `cast` where it widens, else a
    /// `rescale` (round to nearest, saturate) — the narrowing rule of docs/language.md.
    fn convert(&mut self, t: T, to: ElemType, span: Span) -> R<T> {
        let from = t.ty.elem;
        if from == to {
            return Ok(T { nominal: to, ..t });
        }
        let (fb, ff) = (from.bits().unwrap_or(0), from.frac().unwrap_or(0));
        let (tb, tf) = (to.bits().unwrap_or(0), to.frac().unwrap_or(0));
        if tf >= ff && tb >= fb && tb - fb >= tf - ff {
            return self.node(Op::Cast { to }, &[&t], to, span);
        }
        if tf > ff {
            // More fractional bits but a narrower type: scale up exactly, then narrow.
            let mid = ElemType::fix(fb.saturating_add(tf - ff), tf);
            let t = self.node(Op::Cast { to: mid }, &[&t], to, span)?;
            return self.node(
                Op::Rescale { shift: 0, rounding: Rounding::Nearest, saturate: true, to },
                &[&t],
                to,
                span,
            );
        }
        self.node(
            Op::Rescale { shift: ff - tf, rounding: Rounding::Nearest, saturate: true, to },
            &[&t],
            to,
            span,
        )
    }

    /// Narrows an exact value to its nominal type (a no-op if it already has it).
    fn narrow(&mut self, t: T, span: Span) -> R<T> {
        let to = t.nominal;
        self.convert(t, to, span)
    }

    /// Gives a value a declared type: quantizes a literal; checks a tensor's shape and converts
    /// its element type. `decl` is where the type was declared, for a secondary label.
    fn coerce(&mut self, v: Val, target: &TensorType, span: Span, decl: Option<Span>) -> R<T> {
        match v {
            Val::Lit(x) => {
                let c = self.scalar_const(x, target.elem, span)?;
                self.broadcast_to(c, &target.shape, span)
            }
            Val::Tensor(t) => {
                if t.ty.shape != target.shape {
                    let mut d = Diagnostic::error(
                        codes::TYPE_MISMATCH,
                        format!(
                            "expected shape {:?} (declared {}), found {:?}",
                            target.shape,
                            show(target),
                            t.ty.shape
                        ),
                    )
                    .with_primary(span, format!("has shape {:?}", t.ty.shape))
                    .with_help("reshape, slice or transpose the value to the declared shape");
                    if let Some(decl) = decl {
                        d = d.with_secondary(decl, "declared here");
                    }
                    return Err(self.err(d));
                }
                self.convert(t, target.elem, span)
            }
        }
    }

    fn name_value(&mut self, t: &T, name: &str) {
        if let Some(id) = t.id {
            let unnamed =
                self.b.program().value(id).is_some_and(|v| {
                    v.name.is_none() && matches!(v.def, atlas_ir::ValueDef::Node(_))
                });
            if unnamed && self.names_used.insert(name.to_string()) {
                self.b.set_name(id, name);
            }
        }
    }

    // ----- items --------------------------------------------------------------------------

    /// `(input types, output type)` of a lookup, with each a scalar element type.
    fn lookup_signature(&mut self, item: ItemId) -> R<(Vec<ElemType>, ElemType)> {
        let Item::Lookup { params, ret, .. } = self.ast.item(item) else { return Err(Reported) };
        let mut inputs = Vec::new();
        let mut ok = true;
        for p in params {
            match self.scalar_type(p.ty) {
                Ok(e) => inputs.push(e),
                Err(Reported) => ok = false,
            }
        }
        let out = self.scalar_type(*ret);
        if !ok {
            return Err(Reported);
        }
        let out = out?;
        let bits: u32 = inputs.iter().map(|e| u32::from(e.bits().unwrap_or(0))).sum();
        if let Err(why) = tables::domain(&inputs) {
            self.unsupported(
                Diagnostic::error(
                    codes::NOT_SUPPORTED,
                    format!("expected a lookup the table builder can sample, found one where {why}: not supported yet"),
                )
                .with_primary(self.ast.span(item), "inputs of different widths")
                .with_help("declare both inputs with one width"),
            );
        } else if bits > DENSE_MAX_ADDRESS_BITS {
            self.unsupported(
                Diagnostic::error(
                    codes::NOT_SUPPORTED,
                    format!(
                        "expected a lookup with at most {DENSE_MAX_ADDRESS_BITS} input bits in \
                         total, found {bits}: not supported yet"
                    ),
                )
                .with_primary(self.ast.span(item), "table too large")
                .with_help(
                    "a lookup's table holds one entry per input value, at most 2^16: declare \
                     inputs of at most 16 bits in total (e.g. `fix<16, F>`, or two of 8 bits); \
                     arguments are narrowed to them at the call (docs/primitives.md)",
                ),
            );
        }
        Ok((inputs, out))
    }

    /// Resolves the names of a lookup formula: each is one of the lookup's inputs or a `const`
    /// (the structural checks have already limited calls to the builtins).
    fn check_formula(&mut self, e: ExprId, params: &[&str]) {
        let ast = self.ast;
        match &ast.exprs[e] {
            Expr::Name(n) => {
                let text = ast.name(*n);
                if params.contains(&text) {
                    return;
                }
                // `const_value` reports an unknown name, a non-const, or a broken const.
                let _ = self.const_value(e, &mut Vec::new());
            }
            Expr::Neg(x) => self.check_formula(*x, params),
            Expr::Binary { lhs, rhs, .. } => {
                self.check_formula(*lhs, params);
                self.check_formula(*rhs, params);
            }
            Expr::If { cond, then, else_ } => {
                for x in [cond, then, else_] {
                    self.check_formula(*x, params);
                }
            }
            Expr::Call { args, .. } => {
                for a in args {
                    self.check_formula(a.value, params);
                }
            }
            Expr::Int(_) | Expr::Float(_) | Expr::Index { .. } | Expr::Array(_) | Expr::Type(_) => {
            }
        }
    }

    fn scalar_type(&mut self, t: TypeId) -> R<ElemType> {
        let help = "a lookup is elementwise: declare it on element types";
        self.element_type(t, self.ast.span(t), "for a lookup", help)
    }

    /// The type `t`, which must be an element type (no shape), for `what`.
    fn element_type(&mut self, t: TypeId, span: Span, what: &str, help: &str) -> R<ElemType> {
        let ty = self.resolve_type(t)?;
        if ty.rank() != 0 {
            return Err(self.err(
                Diagnostic::error(
                    codes::TYPE_MISMATCH,
                    format!("expected an element type {what}, found {}", show(&ty)),
                )
                .with_primary(span, "has a shape")
                .with_help(help),
            ));
        }
        Ok(ty.elem)
    }

    /// Checks a `fn` body on its own, at its declared types, so errors in a `fn` are reported
    /// even when no model calls it (and once, however many calls there are). A generic `fn`, or
    /// one with `..` or `int` parameters, depends on its arguments: it is checked at each call.
    fn check_fn(&mut self, item: ItemId) {
        let Item::Fn { generics, params, outputs, .. } = self.ast.item(item) else { return };
        let ast = self.ast;
        let rest = |t: TypeId| matches!(&ast.types[t], TypeExpr::Tensor { dims, .. } if dims.contains(&Dim::Rest));
        if !generics.is_empty()
            || params.iter().any(|p| matches!(ast.types[p.ty], TypeExpr::Int) || rest(p.ty))
            || outputs.iter().any(|&t| rest(t))
        {
            return;
        }
        self.b = ProgramBuilder::new("check");
        self.tables.clear();
        self.dense.clear();
        let mut args = Vec::new();
        for (i, p) in params.iter().enumerate() {
            match self.resolve_type(p.ty) {
                Ok(ty) => {
                    let id = self.b.input(&format!("arg{i}"), ty.clone(), Visibility::Public);
                    let nominal = ty.elem;
                    args.push(Some(Val::Tensor(T { id: Some(id), ty, nominal })));
                }
                Err(Reported) => return,
            }
        }
        let spans = vec![ast.span(item); args.len()];
        let f = FnRef { item, prelude: self.in_prelude };
        let _ = self.expand_fn(f, args, spans, ast.span(item));
    }

    /// The `fn` a global names, if it names one.
    fn fn_ref(&self, g: Global) -> Option<FnRef> {
        match g {
            Global::Fn(item) => Some(FnRef { item, prelude: self.in_prelude }),
            Global::Prelude(item) => Some(FnRef { item, prelude: true }),
            _ => None,
        }
    }

    /// The tree a `fn` lives in.
    fn fn_ast(&self, f: FnRef) -> &'a Ast {
        match &self.other {
            Some((other, _)) if f.prelude != self.in_prelude => other,
            _ => self.ast,
        }
    }

    /// Swaps the tree being elaborated with the other one (the user's file and the prelude).
    fn swap_units(&mut self) {
        if let Some((ast, globals)) = self.other.as_mut() {
            std::mem::swap(&mut self.ast, ast);
            std::mem::swap(&mut self.globals, globals);
            self.in_prelude = !self.in_prelude;
        }
    }

    /// Inlines the `fn` `f` with its arguments already evaluated in the caller (`None` where
    /// left out, `spans` where each was written): binds the generics, converts the arguments
    /// to the parameter types, elaborates the body in a scope of its own and returns the
    /// outputs converted to the declared output types.
    fn expand_fn(
        &mut self,
        f: FnRef,
        args: Vec<Option<Val>>,
        spans: Vec<Span>,
        call: Span,
    ) -> R<Vec<T>> {
        let ast = self.fn_ast(f);
        let Item::Fn { name, generics, .. } = ast.item(f.item) else { return Err(Reported) };
        if self.fn_stack.contains(&f) {
            let text = ast.name(*name);
            return Err(self.err(
                Diagnostic::error(
                    codes::RECURSIVE_FN,
                    format!("expected a call to a fn that is not being expanded, found a recursive call to `{text}`"),
                )
                .with_primary(call, "recursive call")
                .with_secondary(ast.span(*name), "fn declared here")
                .with_help("fns are inlined, so they cannot call themselves, directly or not"),
            ));
        }
        let saved_scope = std::mem::take(&mut self.scope);
        let saved = (self.site.clone(), self.prelude_site.clone());
        let switched = f.prelude != self.in_prelude;
        let site = Some(Site { span: call, name: ast.name(*name).to_string() });
        if switched && f.prelude {
            // `call` is in the user's file: where the prelude's diagnostics go.
            self.prelude_site = site;
        } else if self.site.is_none() && !f.prelude && !generics.is_empty() {
            self.site = site;
        }
        if switched {
            self.swap_units();
        }
        self.fn_stack.push(f);
        let result = self.expand_body(f.item, args, &spans);
        self.fn_stack.pop();
        if switched {
            self.swap_units();
        }
        (self.site, self.prelude_site) = saved;
        self.scope = saved_scope;
        result
    }

    /// [`Self::expand_fn`] inside the callee's tree and scope.
    fn expand_body(&mut self, item: ItemId, args: Vec<Option<Val>>, spans: &[Span]) -> R<Vec<T>> {
        let ast = self.ast;
        let Item::Fn { generics, params, outputs, body, .. } = ast.item(item) else {
            return Err(Reported);
        };
        let generics: Vec<&str> = generics.iter().map(|g| ast.name(*g)).collect();
        let mut ok = true;
        for ((p, v), &aspan) in params.iter().zip(args).zip(spans) {
            let pname = ast.name(p.name);
            if matches!(ast.types[p.ty], TypeExpr::Int) {
                match self.int_param(p, v, aspan) {
                    Ok(b) => {
                        self.scope.insert(pname.to_string(), b);
                    }
                    Err(Reported) => {
                        ok = false;
                        poison(&mut self.scope, pname);
                    }
                }
                continue;
            }
            let Some(v) = v else { return Err(Reported) };
            let t = self.param_target(p, &v, &generics, aspan).and_then(|target| match v {
                // An argument already made of the generic `T` is passed as it is (still exact),
                // as an operator takes its operands; the body narrows where it needs to.
                Val::Tensor(t)
                    if self.generic_elem(p.ty) == Some(t.nominal) && target.shape == t.ty.shape =>
                {
                    Ok(t)
                }
                v => self.coerce(v, &target, aspan, Some(ast.span(p.ty))),
            });
            match t {
                Ok(t) => {
                    self.scope.insert(pname.to_string(), Bound::Val(Val::Tensor(t)));
                }
                Err(Reported) => {
                    ok = false;
                    poison(&mut self.scope, pname);
                }
            }
        }
        if !ok {
            return Err(Reported);
        }
        self.body(body, outputs, false)
    }

    /// The value of an `int` parameter: the argument (an integer), else the default (`none`
    /// leaves it out).
    fn int_param(&mut self, p: &ast::Param, v: Option<Val>, aspan: Span) -> R<Bound> {
        let ast = self.ast;
        let (v, span) = match (v, p.default) {
            (Some(Val::Lit(v)), _) => (v, aspan),
            // `call_fn_all` evaluates `int` arguments as constants, reporting any that is not.
            (Some(Val::Tensor(_)), _) => return Err(Reported),
            (None, Some(d)) => {
                if matches!(&ast.exprs[d], Expr::Name(n) if ast.name(*n) == "none")
                    && !self.scope.contains_key("none")
                {
                    return Ok(Bound::None);
                }
                (self.const_value(d, &mut Vec::new())?, ast.span(d))
            }
            (None, None) => return Err(Reported),
        };
        if v.fract() != 0.0 || v.abs() >= 1e15 {
            return Err(self.err(
                Diagnostic::error(
                    codes::BAD_CONSTANT,
                    format!("expected an integer for `{}`, found {v}", ast.name(p.name)),
                )
                .with_primary(span, "not an integer")
                .with_secondary(ast.span(p.ty), "declared `int` here")
                .with_help("compile-time parameters are integers"),
            ));
        }
        Ok(Bound::Val(Val::Lit(v)))
    }

    /// The type an argument is converted to for the parameter `p`: the declared type, with
    /// the generics it mentions bound from the argument first (an element type generic to the
    /// argument's nominal type, a dimension generic to its size) and `..` to the argument's shape.
    fn param_target(
        &mut self,
        p: &ast::Param,
        v: &Val,
        generics: &[&str],
        aspan: Span,
    ) -> R<TensorType> {
        let ast = self.ast;
        let (elem, dims) = match &ast.types[p.ty] {
            TypeExpr::Tensor { elem, dims } => (*elem, dims.as_slice()),
            _ => (p.ty, &[][..]),
        };
        let generic = |this: &Self, n: NameId| {
            let g = ast.name(n);
            (generics.contains(&g) && !this.scope.contains_key(g)).then_some(g)
        };
        let fixed_rank = !dims.contains(&Dim::Rest);
        if let Val::Tensor(t) = v {
            if let TypeExpr::Named(n) = &ast.types[elem] {
                if let Some(g) = generic(self, *n) {
                    self.scope.insert(g.to_string(), Bound::Type(t.nominal));
                }
            }
            if fixed_rank && dims.len() == t.ty.rank() {
                for (d, &size) in dims.iter().zip(&t.ty.shape) {
                    if let Dim::Name(n) = d {
                        if let Some(g) = generic(self, *n) {
                            self.scope.insert(g.to_string(), Bound::Val(Val::Lit(size as f64)));
                        }
                    }
                }
            }
        }
        // A generic still unbound could not be read off this argument.
        let mut unbound: Vec<&str> = dims
            .iter()
            .filter_map(|d| match d {
                Dim::Name(n) => generic(self, *n),
                _ => None,
            })
            .collect();
        if let TypeExpr::Named(n) = &ast.types[elem] {
            unbound.extend(generic(self, *n));
        }
        if let Some(g) = unbound.first() {
            let found = match v {
                Val::Tensor(t) => format!("a value of type {}", show(&t.ty)),
                Val::Lit(_) => "a number, which has no type".to_string(),
            };
            return Err(self.err(
                Diagnostic::error(
                    codes::TYPE_MISMATCH,
                    format!(
                        "expected an argument `{}` that fixes `{g}` (declared {}), found {found}",
                        ast.name(p.name),
                        atlas_lang::printer::print_type(ast, p.ty)
                    ),
                )
                .with_primary(aspan, "cannot bind the generic from this")
                .with_secondary(ast.span(p.ty), "declared here")
                .with_help("pass a tensor of the declared rank"),
            ));
        }
        let (elem, shape) = self.resolve_spec(p.ty)?;
        let shape = shape.unwrap_or_else(|| shape_of(v));
        Ok(TensorType::new(elem, shape))
    }

    fn model(&mut self, item: ItemId) -> Option<Model> {
        let Item::Model { name, inputs, outputs, body } = self.ast.item(item) else { return None };
        self.b = ProgramBuilder::new(self.name(*name));
        self.tables.clear();
        self.dense.clear();
        self.names_used.clear();
        let errors_before = (self.errors.len(), self.unsupported.len());
        self.scope.clear();
        let mut failed = false;
        for p in inputs {
            let text = self.name(p.name);
            let Ok(ty) = self.resolve_type(p.ty) else {
                failed = true;
                poison(&mut self.scope, text);
                continue;
            };
            if !self.names_used.insert(text.to_string()) {
                self.duplicate_local(p.name);
                failed = true;
                continue;
            }
            let id = self.b.input(text, ty.clone(), Visibility::Public);
            let nominal = ty.elem;
            self.scope
                .insert(text.to_string(), Bound::Val(Val::Tensor(T { id: Some(id), ty, nominal })));
        }
        let outs = self.body(body, outputs, true);
        let Ok(outs) = outs else { return None };
        if failed || (self.errors.len(), self.unsupported.len()) != errors_before {
            return None;
        }
        let mut seen = HashSet::new();
        for t in &outs {
            let mut id = t.id?;
            if !seen.insert(id) {
                // The IR names each output once; a value returned twice is copied (a reshape to
                // its own shape) for its second position.
                id = self.b.reshape(id, &t.ty.shape).ok()?;
            }
            self.b.output(id);
        }
        let b = std::mem::replace(&mut self.b, ProgramBuilder::new("unnamed"));
        let mut dense_tables = Vec::new();
        let mut formulas = Vec::new();
        for spec in std::mem::take(&mut self.dense) {
            let formula = Formula::of(self.ast, spec.item);
            match tables::build(&spec, &formula) {
                Ok(t) => {
                    dense_tables.push(t);
                    formulas.push(formula);
                }
                Err(why) => {
                    self.unsupported(
                        Diagnostic::error(
                            codes::NOT_SUPPORTED,
                            format!(
                                "expected a table the builder can sample, found `{}`: {why}",
                                spec.name
                            ),
                        )
                        .with_primary(self.ast.span(item), "in this model")
                        .with_help("dense tables hold at most 2^16 entries"),
                    );
                    return None;
                }
            }
        }
        Some(Model { program: b.finish(), dense_tables, formulas })
    }

    fn duplicate_local(&mut self, n: NameId) {
        let text = self.name(n);
        self.err(
            Diagnostic::error(
                codes::DUPLICATE_NAME,
                format!("expected a new name, found `{text}` already declared in this model"),
            )
            .with_primary(self.ast.span(n), "declared again")
            .with_help("inputs and params need distinct names"),
        );
    }

    /// Elaborates statements; the `return` gives the outputs, coerced to `outputs`.
    fn body(&mut self, body: &[StmtId], outputs: &[TypeId], in_model: bool) -> R<Vec<T>> {
        let mut result = Err(Reported);
        for &s in body {
            match &self.ast.stmts[s] {
                Stmt::Let { name, ty, value } => {
                    let text = self.name(*name);
                    let v = self.expr(*value);
                    let v = match ty {
                        Some(ty) => {
                            self.declared(v, *ty, self.span_e(*value), true).map(Val::Tensor)
                        }
                        None => v,
                    };
                    match v {
                        Ok(v) => {
                            if let (Val::Tensor(t), true) = (&v, in_model) {
                                self.name_value(t, text);
                            }
                            self.scope.insert(text.to_string(), Bound::Val(v));
                        }
                        // Later uses of the name are not reported again.
                        Err(Reported) => poison(&mut self.scope, text),
                    }
                }
                Stmt::LetMany { names, value } => match self.let_many(names, *value) {
                    Ok(values) => {
                        for (n, t) in names.iter().zip(values) {
                            let text = self.name(*n);
                            if in_model {
                                self.name_value(&t, text);
                            }
                            self.scope.insert(text.to_string(), Bound::Val(Val::Tensor(t)));
                        }
                    }
                    Err(Reported) => {
                        for n in names {
                            let text = self.name(*n);
                            poison(&mut self.scope, text);
                        }
                    }
                },
                Stmt::Param { name, ty, init } => {
                    let text = self.name(*name);
                    match self.param(*name, *ty, init) {
                        Ok(t) => {
                            self.scope.insert(text.to_string(), Bound::Val(Val::Tensor(t)));
                        }
                        Err(Reported) => poison(&mut self.scope, text),
                    }
                }
                Stmt::Return(exprs) => result = self.ret(s, exprs, outputs, !in_model),
                Stmt::Error => {}
            }
        }
        result
    }

    /// Gives `v` the declared type `ty`; `T[..]` (where `any_shape` allows it) keeps `v`'s shape.
    /// The type is resolved even when the value failed, so its own errors are reported too.
    fn declared(&mut self, v: R<Val>, ty: TypeId, span: Span, any_shape: bool) -> R<T> {
        let target = if any_shape {
            self.resolve_spec(ty)
        } else {
            self.resolve_type(ty).map(|t| (t.elem, Some(t.shape)))
        };
        let (v, (elem, shape)) = (v?, target?);
        let shape = shape.unwrap_or_else(|| shape_of(&v));
        self.coerce(v, &TensorType::new(elem, shape), span, Some(self.ast.span(ty)))
    }

    /// The element generic a type is made of (`T` in `T[N, M]`), bound to its element type.
    fn generic_elem(&self, ty: TypeId) -> Option<ElemType> {
        let elem = match &self.ast.types[ty] {
            TypeExpr::Tensor { elem, .. } => *elem,
            _ => ty,
        };
        match &self.ast.types[elem] {
            TypeExpr::Named(n) => match self.scope.get(self.name(*n)) {
                Some(Bound::Type(e)) => Some(*e),
                _ => None,
            },
            _ => None,
        }
    }

    /// An output whose element type is a generic `T`: the shape is checked, but the value stays
    /// exact with nominal type `T`, as an operator's result does (`x @ w` narrows where it is used,
    /// not where it is computed); so a generic `fn` reads as its body would inline.
    fn generic_output(&mut self, v: R<Val>, ty: TypeId, nominal: ElemType, span: Span) -> R<T> {
        let (_, shape) = self.resolve_spec(ty)?;
        match v? {
            Val::Tensor(t) => match shape {
                Some(shape) if shape != t.ty.shape => {
                    let target = TensorType::new(nominal, shape);
                    // Reports the shape mismatch against the declared type.
                    self.coerce(Val::Tensor(t), &target, span, Some(self.ast.span(ty)))
                }
                _ => Ok(T { nominal, ..t }),
            },
            lit => {
                let shape = shape.unwrap_or_default();
                self.coerce(lit, &TensorType::new(nominal, shape), span, Some(self.ast.span(ty)))
            }
        }
    }

    /// The `return` of a body; a `fn`'s outputs (`any_shape`) may be declared `T[..]`.
    fn ret(
        &mut self,
        s: StmtId,
        exprs: &[ExprId],
        outputs: &[TypeId],
        any_shape: bool,
    ) -> R<Vec<T>> {
        if exprs.len() != outputs.len() {
            return Err(self.err(
                Diagnostic::error(
                    codes::TYPE_MISMATCH,
                    format!("expected {} return values, found {}", outputs.len(), exprs.len()),
                )
                .with_primary(self.ast.span(s), "wrong number of values")
                .with_help("return one expression per declared output"),
            ));
        }
        let mut outs = Vec::new();
        let mut ok = true;
        for (&e, &t) in exprs.iter().zip(outputs) {
            let v = self.expr(e);
            let out = match (any_shape, self.generic_elem(t)) {
                (true, Some(nominal)) => self.generic_output(v, t, nominal, self.span_e(e)),
                _ => self.declared(v, t, self.span_e(e), any_shape),
            };
            match out {
                Ok(t) => outs.push(t),
                Err(Reported) => ok = false,
            }
        }
        if ok {
            Ok(outs)
        } else {
            Err(Reported)
        }
    }

    fn param(&mut self, name: NameId, ty: TypeId, init: &ParamInit) -> R<T> {
        let text = self.name(name);
        let ty = self.resolve_type(ty)?;
        if !self.names_used.insert(text.to_string()) {
            self.duplicate_local(name);
            return Err(Reported);
        }
        let count = ty.num_elements().unwrap_or(usize::MAX);
        if count > MAX_INLINE_ELEMENTS && !matches!(init, ParamInit::Load { .. }) {
            return Err(self.unsupported_at(
                self.ast.span(name),
                format!("an inline param of {} ({count} elements)", show(&ty)).as_str(),
                "inline params are limited to 2^24 elements; load large weights from a file",
            ));
        }
        let data = match init {
            ParamInit::Load { tensor, .. } => ParamData::External { key: tensor.clone() },
            ParamInit::Random { seed } => ParamData::Inline(random_data(*seed, ty.elem, count)),
            ParamInit::Literal(e) => {
                let mut values = Vec::new();
                let mut shape = Vec::new();
                self.literal(*e, 0, &mut shape, &mut values)?;
                let span = self.span_e(*e);
                if shape.is_empty() && values.len() == 1 {
                    // A scalar fills the whole declared shape.
                    values = vec![values[0]; count];
                } else if shape != ty.shape {
                    return Err(self.err(
                        Diagnostic::error(
                            codes::TYPE_MISMATCH,
                            format!(
                                "expected a literal of shape {:?}, found shape {shape:?}",
                                ty.shape
                            ),
                        )
                        .with_primary(span, format!("has shape {shape:?}"))
                        .with_help("give one number per element, nested by dimension"),
                    ));
                }
                let mut data = Vec::with_capacity(values.len());
                let mut ok = true;
                for (v, span) in values {
                    match self.quantize(v, ty.elem, span) {
                        Ok(q) => data.push(q),
                        Err(Reported) => ok = false,
                    }
                }
                if !ok {
                    return Err(Reported);
                }
                ParamData::Inline(data)
            }
        };
        let id = self.b.param(text, ty.clone(), data);
        let nominal = ty.elem;
        Ok(T { id: Some(id), ty, nominal })
    }

    /// Flattens a (nested) array literal, recording its shape (checked rectangular).
    fn literal(
        &mut self,
        e: ExprId,
        depth: usize,
        shape: &mut Vec<usize>,
        out: &mut Vec<(f64, Span)>,
    ) -> R<()> {
        let span = self.span_e(e);
        if let Expr::Array(items) = &self.ast.exprs[e] {
            if shape.len() == depth {
                shape.push(items.len());
            } else if shape.get(depth) != Some(&items.len()) {
                return Err(self.err(
                    Diagnostic::error(
                        codes::TYPE_MISMATCH,
                        format!(
                            "expected {} elements in every row at this depth, found {}",
                            shape.get(depth).copied().unwrap_or(0),
                            items.len()
                        ),
                    )
                    .with_primary(span, "ragged row")
                    .with_help("array literals must be rectangular"),
                ));
            }
            for &i in items {
                self.literal(i, depth + 1, shape, out)?;
            }
            Ok(())
        } else {
            if shape.len() > depth {
                return Err(self.err(
                    Diagnostic::error(
                        codes::TYPE_MISMATCH,
                        "expected a nested array here, found a number",
                    )
                    .with_primary(span, "ragged row")
                    .with_help("array literals must be rectangular"),
                ));
            }
            let v = self.const_value(e, &mut Vec::new())?;
            out.push((v, span));
            Ok(())
        }
    }

    // ----- expressions --------------------------------------------------------------------

    fn expr(&mut self, e: ExprId) -> R<Val> {
        let span = self.span_e(e);
        match &self.ast.exprs[e] {
            Expr::Int(v) => Ok(Val::Lit(*v as f64)),
            Expr::Float(v) => Ok(Val::Lit(*v)),
            Expr::Name(n) => {
                let text = self.name(*n);
                match self.scope.get(text).cloned() {
                    Some(Bound::Val(v)) => return Ok(v),
                    Some(Bound::Type(_) | Bound::None) => {
                        // Reports "found the type `T`" or "left out".
                        self.const_value(e, &mut Vec::new())?;
                        return Err(Reported);
                    }
                    None => {}
                }
                if self.scope.contains_key(&poisoned(text)) {
                    return Err(Reported);
                }
                match self.globals.map.get(text).copied() {
                    Some(Global::Const(item)) => {
                        let Item::Const { value, ty, .. } = self.ast.item(item) else {
                            return Err(Reported);
                        };
                        let v = self.const_value(*value, &mut vec![item])?;
                        match ty {
                            // A typed const is its value on the type's grid.
                            Some(ty) => {
                                let elem = self.resolve_type(*ty)?.elem;
                                let q = self.quantize(v, elem, span)?;
                                Ok(Val::Lit(q as f64 / 2f64.powi(i32::from(elem.frac().unwrap_or(0)))))
                            }
                            None => Ok(Val::Lit(v)),
                        }
                    }
                    Some(g) => Err(self.err(
                        Diagnostic::error(
                            codes::UNKNOWN_NAME,
                            format!("expected a value, found `{text}`, {}", g.describe()),
                        )
                        .with_primary(span, "not a value")
                        .with_help("values are inputs, params, lets, fn parameters and consts"),
                    )),
                    None => Err(self.err(unknown_name(span, text, "a value"))),
                }
            }
            Expr::Neg(x) => match self.expr(*x)? {
                Val::Lit(v) => Ok(Val::Lit(-v)),
                Val::Tensor(t) => {
                    let nominal = t.nominal;
                    self.node(Op::Neg, &[&t], nominal, span).map(Val::Tensor)
                }
            },
            Expr::Binary { op, lhs, rhs } => {
                let l = self.expr(*lhs);
                let r = self.expr(*rhs);
                let (l, r) = (l?, r?);
                self.binary(*op, l, r, span, (self.span_e(*lhs), self.span_e(*rhs)))
            }
            Expr::Call { callee, .. }
                if CONST_FNS.contains(&self.name(*callee))
                    && !self.globals.map.contains_key(self.name(*callee)) =>
            {
                self.const_value(e, &mut Vec::new()).map(Val::Lit)
            }
            Expr::Call { callee, args } => self.call(*callee, args, span),
            Expr::Type(_) => Err(self.err(
                Diagnostic::error(codes::TYPE_MISMATCH, "expected a value, found a type")
                    .with_primary(span, "a type")
                    .with_help("a type stands only where one is asked for, e.g. `to = fix<16, 14>`"),
            )),
            Expr::Index { base, indices } => {
                let b = self.expr(*base)?;
                let Val::Tensor(t) = b else {
                    return Err(self.err(
                        Diagnostic::error(codes::BAD_INDEX, "expected a tensor to index, found a number")
                            .with_primary(self.span_e(*base), "a number")
                            .with_help("only tensors can be indexed"),
                    ));
                };
                self.index(t, indices, span)
            }
            Expr::Array(_) => Err(self.unsupported_at(
                span,
                "an array literal in an expression",
                "array literals are allowed as param initialisers and shape arguments; declare a param",
            )),
            Expr::If { .. } => Err(self.unsupported_at(
                span,
                "`if` outside a lookup",
                "write piecewise functions as a `lookup`",
            )),
        }
    }

    /// Records a "not supported yet" diagnostic (a valid program the lowering cannot handle).
    fn unsupported_at(&mut self, span: Span, what: &str, help: &str) -> Reported {
        self.unsupported(
            Diagnostic::error(
                codes::NOT_SUPPORTED,
                format!(
                    "expected a construct the compiler can lower, found {what}: not supported yet"
                ),
            )
            .with_primary(span, "not supported yet")
            .with_help(help.to_string()),
        );
        Reported
    }

    fn binary(&mut self, op: BinOp, l: Val, r: Val, span: Span, sides: (Span, Span)) -> R<Val> {
        if op.is_comparison() {
            return Err(self.unsupported_at(span, "a comparison outside a lookup", "use a lookup"));
        }
        if let (BinOp::Div, Val::Tensor(d)) = (op, &r) {
            let inv = self.reciprocal(d.clone(), sides.1)?;
            return match l {
                Val::Lit(c) => {
                    let k = self.scalar_const(c, inv.nominal, sides.0)?;
                    self.arith(BinOp::Mul, k, inv, span).map(Val::Tensor)
                }
                Val::Tensor(t) => self.arith(BinOp::Mul, t, inv, span).map(Val::Tensor),
            };
        }
        let (l, r) = match (l, r) {
            (Val::Lit(a), Val::Lit(b)) => {
                return match op {
                    BinOp::Add => Ok(Val::Lit(a + b)),
                    BinOp::Sub => Ok(Val::Lit(a - b)),
                    BinOp::Mul => Ok(Val::Lit(a * b)),
                    BinOp::Div if b != 0.0 => Ok(Val::Lit(a / b)),
                    BinOp::Div => Err(self.err(
                        Diagnostic::error(
                            codes::BAD_CONSTANT,
                            "expected a non-zero divisor, found a constant 0",
                        )
                        .with_primary(sides.1, "division by zero")
                        .with_help("constants are evaluated at compile time"),
                    )),
                    _ => Err(self.err(matmul_needs_tensors(span))),
                };
            }
            (Val::Tensor(t), Val::Lit(c)) => {
                if op == BinOp::Div {
                    if c == 0.0 {
                        return Err(self.err(
                            Diagnostic::error(
                                codes::BAD_CONSTANT,
                                "expected a non-zero divisor, found a constant 0",
                            )
                            .with_primary(sides.1, "division by zero")
                            .with_help("dividing by zero has no fixed-point value"),
                        ));
                    }
                    // `x / c` is `x * (1/c)`, the reciprocal quantized like any constant operand.
                    let k = self.scalar_const(1.0 / c, t.nominal, sides.1)?;
                    return self.arith(BinOp::Mul, t, k, span).map(Val::Tensor);
                }
                if op == BinOp::MatMul {
                    return Err(self.err(matmul_needs_tensors(span)));
                }
                let k = self.scalar_const(c, t.nominal, sides.1)?;
                (t, k)
            }
            (Val::Lit(c), Val::Tensor(t)) => {
                if op == BinOp::MatMul {
                    return Err(self.err(matmul_needs_tensors(span)));
                }
                let k = self.scalar_const(c, t.nominal, sides.0)?;
                (k, t)
            }
            (Val::Tensor(a), Val::Tensor(b)) => (a, b),
        };
        self.arith(op, l, r, span).map(Val::Tensor)
    }

    /// `1/d` for a tensor divisor: `d` narrowed to its nominal type, then the stdlib `recip`
    /// table back into that type (saturating where `|1/d|` exceeds it, `1/0` included).
    fn reciprocal(&mut self, d: T, span: Span) -> R<T> {
        let d = self.narrow(d, span)?;
        let elem = d.ty.elem;
        self.check_table_width("division by a tensor", elem, span)?;
        let recip = self.approx_table(&atlas_stdlib::tables::recip::SPEC, elem, elem, span)?;
        self.node(Op::Lookup { table: recip }, &[&d], elem, span)
    }

    /// `+ - * @` on two tensors, with the promotion rules of docs/language.md.
    fn arith(&mut self, op: BinOp, l: T, r: T, span: Span) -> R<T> {
        let nominal = wider(l.nominal, r.nominal);
        match op {
            BinOp::MatMul => {
                let l = self.narrow(l, span)?;
                let r = self.narrow(r, span)?;
                self.matmul(l, r, nominal, span)
            }
            BinOp::Mul => {
                let l = self.narrow(l, span)?;
                let r = self.narrow(r, span)?;
                let shape = self.broadcast_shape(&l.ty.shape, &r.ty.shape, "*", span)?;
                let l = self.broadcast_to(l, &shape, span)?;
                let r = self.broadcast_to(r, &shape, span)?;
                self.node(Op::Mul, &[&l, &r], nominal, span)
            }
            BinOp::Add | BinOp::Sub => {
                let shape = self.broadcast_shape(&l.ty.shape, &r.ty.shape, op.symbol(), span)?;
                // Align the binary points: the operand with fewer fractional bits is cast up.
                let (fl, fr) = (l.ty.elem.frac().unwrap_or(0), r.ty.elem.frac().unwrap_or(0));
                let (l, r) = if fl < fr {
                    let to = ElemType::fix(l.ty.elem.bits().unwrap_or(0) + (fr - fl), fr);
                    (self.convert(l, to, span)?, r)
                } else if fr < fl {
                    let to = ElemType::fix(r.ty.elem.bits().unwrap_or(0) + (fl - fr), fl);
                    (l, self.convert(r, to, span)?)
                } else {
                    (l, r)
                };
                let l = self.broadcast_to(l, &shape, span)?;
                let r = self.broadcast_to(r, &shape, span)?;
                let op = if op == BinOp::Add { Op::Add } else { Op::Sub };
                self.node(op, &[&l, &r], nominal, span)
            }
            _ => Err(self.unsupported_at(span, "this operator on tensors", "use a lookup")),
        }
    }

    fn broadcast_shape(&mut self, a: &[usize], b: &[usize], op: &str, span: Span) -> R<Vec<usize>> {
        let n = a.len().max(b.len());
        let mut out = vec![0; n];
        for i in 0..n {
            let da = if i < n - a.len() { 1 } else { a[i - (n - a.len())] };
            let db = if i < n - b.len() { 1 } else { b[i - (n - b.len())] };
            out[i] = if da == db || db == 1 {
                da
            } else if da == 1 {
                db
            } else {
                return Err(self.err(
                    Diagnostic::error(
                        codes::SHAPE_MISMATCH,
                        format!("`{op}` expects shapes that broadcast, found {a:?} and {b:?}"),
                    )
                    .with_primary(span, format!("sizes {da} and {db} on axis {i} of the result"))
                    .with_help("NumPy rules: aligned from the right, each size equal or 1"),
                ));
            };
        }
        Ok(out)
    }

    fn matmul(&mut self, l: T, r: T, nominal: ElemType, span: Span) -> R<T> {
        let (la, ra) = (&l.ty.shape, &r.ty.shape);
        if la.len() < 2 || ra.len() < 2 {
            return Err(self.err(
                Diagnostic::error(
                    codes::MATMUL_DIMS,
                    format!(
                        "matmul expects operands of rank 2 or more, found shapes {la:?} and {ra:?}"
                    ),
                )
                .with_primary(span, "needs matrices")
                .with_help("reshape a vector to [1, n] or [n, 1]"),
            ));
        }
        let (k1, k2) = (la[la.len() - 1], ra[ra.len() - 2]);
        if k1 != k2 {
            return Err(self.err(
                Diagnostic::error(
                    codes::MATMUL_DIMS,
                    format!("matmul expects inner dimensions to match, found {k1} and {k2}"),
                )
                .with_primary(span, format!("{la:?} @ {ra:?}"))
                .with_help(
                    "the left operand's last size must equal the right operand's second to last",
                ),
            ));
        }
        // The IR shares a 2-D right operand across batches, or needs equal batch dimensions.
        let (lb, rb) = (&la[..la.len() - 2], &ra[..ra.len() - 2]);
        if rb.is_empty() || lb == rb {
            return self.node(Op::MatMul, &[&l, &r], nominal, span);
        }
        let batch = self.broadcast_shape(lb, rb, "@", span)?;
        let mut ls = batch.clone();
        ls.extend_from_slice(&la[la.len() - 2..]);
        let mut rs = batch;
        rs.extend_from_slice(&ra[ra.len() - 2..]);
        let l = self.broadcast_to(l, &ls, span)?;
        let r = self.broadcast_to(r, &rs, span)?;
        self.node(Op::MatMul, &[&l, &r], nominal, span)
    }

    fn index(&mut self, t: T, indices: &[IndexArg], span: Span) -> R<Val> {
        if indices.len() > t.ty.rank() {
            return Err(self.err(
                Diagnostic::error(
                    codes::BAD_INDEX,
                    format!("expected at most {} indices, found {}", t.ty.rank(), indices.len()),
                )
                .with_primary(span, format!("indexes a tensor of shape {:?}", t.ty.shape))
                .with_help("give one index or slice per dimension"),
            ));
        }
        let mut t = t;
        let mut dropped = Vec::new();
        for (axis, ix) in indices.iter().enumerate() {
            let dim = t.ty.shape[axis];
            let (start, end, at) = match ix {
                IndexArg::At(e) => {
                    let i = self.const_usize(*e, "an index")?;
                    (i, i + 1, Some(*e))
                }
                IndexArg::Slice { start, end } => {
                    let s = match start {
                        Some(e) => self.const_usize(*e, "a slice start")?,
                        None => 0,
                    };
                    let en = match end {
                        Some(e) => self.const_usize(*e, "a slice end")?,
                        None => dim,
                    };
                    (s, en, None)
                }
            };
            if start > end || end > dim {
                return Err(self.err(
                    Diagnostic::error(
                        codes::BAD_INDEX,
                        format!(
                            "expected a range within 0..{dim} on axis {axis}, found {start}..{end}"
                        ),
                    )
                    .with_primary(at.map_or(span, |e| self.span_e(e)), "out of range")
                    .with_help(
                        "indices and slices are half-open and must stay inside the dimension",
                    ),
                ));
            }
            if at.is_some() {
                dropped.push(axis);
            }
            if (start, end) != (0, dim) || at.is_some() {
                let nominal = t.nominal;
                t = self.node(Op::Slice { axis, start, end, step: 1 }, &[&t], nominal, span)?;
            }
        }
        if !dropped.is_empty() {
            let shape: Vec<usize> =
                t.ty.shape
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !dropped.contains(i))
                    .map(|(_, d)| *d)
                    .collect();
            let nominal = t.nominal;
            t = self.node(Op::Reshape { shape }, &[&t], nominal, span)?;
        }
        Ok(Val::Tensor(t))
    }

    // ----- calls --------------------------------------------------------------------------

    fn call(&mut self, callee: NameId, args: &[Arg], span: Span) -> R<Val> {
        let text = self.name(callee);
        let cspan = self.ast.span(callee);
        match self.globals.map.get(text).copied() {
            Some(g @ (Global::Fn(_) | Global::Prelude(_))) => {
                let f = self.fn_ref(g).ok_or(Reported)?;
                self.call_fn(f, args, span)
            }
            Some(Global::Sampled(spec)) => self.call_sampled(spec, args, span),
            Some(Global::Lookup(item)) => self.call_lookup(item, args, span),
            Some(Global::Builtin(b)) => self.call_builtin(b, args, span),
            other => {
                // The arguments are still checked, so their own errors are reported too.
                for a in args {
                    let _ = self.expr(a.value);
                }
                Err(self.unknown_callee(other, text, cspan))
            }
        }
    }

    fn unknown_callee(&mut self, global: Option<Global>, text: &str, cspan: Span) -> Reported {
        match global {
            Some(g) => self.err(
                Diagnostic::error(
                    codes::UNKNOWN_FUNCTION,
                    format!("expected a function, found `{text}`, {}", g.describe()),
                )
                .with_primary(cspan, "not callable")
                .with_help("call a fn, a lookup or an imported library function"),
            ),
            None => {
                let help = if builtin_names().contains(&text) {
                    format!("`{text}` is in `std.nn`: add `import std.nn.{{{text}}}`")
                } else {
                    format!(
                        "declare `fn {text}` or a `lookup`, or import one of: {}",
                        builtin_names().join(", ")
                    )
                };
                self.err(
                    Diagnostic::error(
                        codes::UNKNOWN_FUNCTION,
                        format!("expected a known function, found `{text}`"),
                    )
                    .with_primary(cspan, "not declared or imported")
                    .with_help(help),
                )
            }
        }
    }

    /// Matches call arguments to parameter names: positional first, then named. `required` is how
    /// many leading parameters must be given.
    fn bind_args(
        &mut self,
        what: &str,
        names: &[&str],
        required: usize,
        args: &[Arg],
        span: Span,
    ) -> R<Vec<Option<ExprId>>> {
        let mut bound = vec![None; names.len()];
        let mut ok = true;
        for (i, a) in args.iter().enumerate() {
            let slot = match a.name {
                None if i < names.len() => Some(i),
                None => None,
                Some(n) => names.iter().position(|p| *p == self.name(n)),
            };
            match slot {
                Some(s) if bound[s].is_none() => bound[s] = Some(a.value),
                Some(s) => {
                    ok = false;
                    self.err(
                        Diagnostic::error(
                            codes::ARGUMENTS,
                            format!(
                                "expected `{}` once in the call to `{what}`, found it twice",
                                names[s]
                            ),
                        )
                        .with_primary(self.span_e(a.value), "given again")
                        .with_help("give each argument once"),
                    );
                }
                None => {
                    ok = false;
                    let found = match a.name {
                        Some(n) => format!("an argument named `{}`", self.name(n)),
                        None => format!(
                            "{} positional arguments",
                            args.iter().filter(|a| a.name.is_none()).count()
                        ),
                    };
                    self.err(
                        Diagnostic::error(
                            codes::ARGUMENTS,
                            format!(
                                "expected the arguments ({}) of `{what}`, found {found}",
                                names.join(", ")
                            ),
                        )
                        .with_primary(self.span_e(a.value), "unexpected argument")
                        .with_help(format!("`{what}` takes: {}", names.join(", "))),
                    );
                }
            }
        }
        for (i, b) in bound.iter().enumerate().take(required) {
            if b.is_none() {
                ok = false;
                self.err(
                    Diagnostic::error(
                        codes::ARGUMENTS,
                        format!(
                            "expected an argument `{}` in the call to `{what}`, found none",
                            names[i]
                        ),
                    )
                    .with_primary(span, "missing argument")
                    .with_help(format!("`{what}` takes: {}", names.join(", "))),
                );
            }
        }
        if ok {
            Ok(bound)
        } else {
            Err(Reported)
        }
    }

    /// `let a, b = f(x)`: `f` must be a `fn` with one output per name.
    fn let_many(&mut self, names: &[NameId], value: ExprId) -> R<Vec<T>> {
        let span = self.span_e(value);
        let target = match &self.ast.exprs[value] {
            Expr::Call { callee, args } => self
                .globals
                .map
                .get(self.name(*callee))
                .and_then(|g| self.fn_ref(*g))
                .map(|f| (f, args)),
            _ => None,
        };
        let Some((f, args)) = target else {
            // Checked for its own errors first, so a misspelt callee is reported as such.
            let _ = self.expr(value)?;
            return Err(self.err(
                Diagnostic::error(
                    codes::TYPE_MISMATCH,
                    format!(
                        "expected a call to a fn with {} outputs after `let {} =`, found a single value",
                        names.len(),
                        names.iter().map(|n| self.name(*n)).collect::<Vec<_>>().join(", ")
                    ),
                )
                .with_primary(span, "one value")
                .with_help("bind one name with `let`, or call a fn declared with several outputs"),
            ));
        };
        let ast = self.fn_ast(f);
        let Item::Fn { name, outputs, .. } = ast.item(f.item) else { return Err(Reported) };
        if outputs.len() != names.len() {
            let fname = ast.name(*name);
            let d = Diagnostic::error(
                codes::TYPE_MISMATCH,
                format!(
                    "expected {} names for the outputs of `{fname}`, found {}",
                    outputs.len(),
                    names.len()
                ),
            )
            .with_primary(span, format!("`{fname}` returns {} values", outputs.len()))
            .with_secondary(ast.span(*name), "fn declared here")
            .with_help("give one name per output");
            return Err(self.err(d));
        }
        self.call_fn_all(f, args, span)
    }

    fn call_fn(&mut self, f: FnRef, args: &[Arg], span: Span) -> R<Val> {
        let ast = self.fn_ast(f);
        let Item::Fn { name, outputs, .. } = ast.item(f.item) else {
            return Err(Reported);
        };
        if outputs.len() != 1 {
            let fname = ast.name(*name);
            // The arguments are still checked, so their own errors are reported too.
            for a in args {
                let _ = self.expr(a.value);
            }
            let d = Diagnostic::error(
                codes::TYPE_MISMATCH,
                format!(
                    "expected a single value, found a call to `{fname}`, which returns {}",
                    outputs.len()
                ),
            )
            .with_primary(span, "several values")
            .with_secondary(ast.span(*name), "fn declared here")
            .with_help(format!(
                "bind them first: `let {} = {fname}(…)`",
                (0..outputs.len()).map(|i| format!("y{i}")).collect::<Vec<_>>().join(", ")
            ));
            return Err(self.err(d));
        }
        let mut outs = self.call_fn_all(f, args, span)?;
        outs.pop().map(Val::Tensor).ok_or(Reported)
    }

    /// A call to the `fn` `f`, inlined; one value per declared output. The arguments are
    /// evaluated here, in the caller's scope: tensors as values, `int` parameters as constants.
    fn call_fn_all(&mut self, f: FnRef, args: &[Arg], span: Span) -> R<Vec<T>> {
        let ast = self.fn_ast(f);
        let Item::Fn { name, params, .. } = ast.item(f.item) else {
            return Err(Reported);
        };
        let fname = ast.name(*name);
        let names: Vec<&str> = params.iter().map(|p| ast.name(p.name)).collect();
        // The structural checks put the parameters with defaults last.
        let required = params.iter().position(|p| p.default.is_some()).unwrap_or(params.len());
        let bound = self.bind_args(fname, &names, required, args, span)?;
        let mut values = Vec::new();
        let mut spans = Vec::new();
        let mut ok = true;
        for (p, a) in params.iter().zip(bound) {
            let Some(a) = a else {
                values.push(None);
                spans.push(span);
                continue;
            };
            spans.push(self.span_e(a));
            let v = if matches!(ast.types[p.ty], TypeExpr::Int) {
                self.const_value(a, &mut Vec::new()).map(Val::Lit)
            } else {
                self.expr(a)
            };
            match v {
                Ok(v) => values.push(Some(v)),
                Err(Reported) => ok = false,
            }
        }
        if !ok {
            return Err(Reported);
        }
        self.expand_fn(f, values, spans, span)
    }

    fn call_lookup(&mut self, item: ItemId, args: &[Arg], span: Span) -> R<Val> {
        let Item::Lookup { name, params, .. } = self.ast.item(item) else {
            return Err(Reported);
        };
        let lname = self.name(*name);
        let names: Vec<&str> = params.iter().map(|p| self.name(p.name)).collect();
        let bound = self.bind_args(lname, &names, names.len(), args, span)?;
        let (inputs, output) = self.lookup_signature(item)?;
        let mut vals = Vec::new();
        for a in bound.into_iter().flatten() {
            vals.push((self.expr(a), self.span_e(a)));
        }
        // Operands take the lookup's input types; literals adopt them, tensors are narrowed.
        let mut ts = Vec::new();
        let mut shape: Vec<usize> = Vec::new();
        for (v, _) in &vals {
            if let Ok(Val::Tensor(t)) = v {
                shape = self.broadcast_shape(&shape, &t.ty.shape, lname, span)?;
            }
        }
        for ((v, aspan), elem) in vals.into_iter().zip(&inputs) {
            let target = TensorType::new(*elem, shape.clone());
            let v = match v? {
                Val::Tensor(t) => {
                    let t = self.convert(t, *elem, aspan)?;
                    self.broadcast_to(t, &shape, aspan)?
                }
                lit => self.coerce(lit, &target, aspan, None)?,
            };
            ts.push(v);
        }
        let handle = self.dense_table(lname, item, inputs, output);
        let refs: Vec<&T> = ts.iter().collect();
        self.node(Op::Lookup { table: handle }, &refs, output, span).map(Val::Tensor)
    }

    /// The handle of the dense table `name`, declared on first use with the next program-local
    /// index (docs/isa.md: kind 7, params `[index_hi, index_lo, 0]`).
    fn dense_table(
        &mut self,
        name: &str,
        item: ItemId,
        inputs: Vec<ElemType>,
        output: ElemType,
    ) -> TableHandle {
        if let Some(h) = self.tables.get(name) {
            return *h;
        }
        let index = self.dense.len() as u16;
        let h = self.b.table(TableRef {
            name: name.to_string(),
            id: (DENSE_KIND << 24) | (u32::from(index) << 8),
            inputs: inputs.clone(),
            output,
        });
        self.tables.insert(name.to_string(), h);
        self.dense.push(DenseSpec { name: name.to_string(), index, item, inputs, output });
        h
    }

    fn tensor_arg(&mut self, e: ExprId, what: &str) -> R<T> {
        match self.expr(e)? {
            Val::Tensor(t) => Ok(t),
            Val::Lit(_) => Err(self.err(
                Diagnostic::error(
                    codes::TYPE_MISMATCH,
                    format!("expected a tensor as {what}, found a number"),
                )
                .with_primary(self.span_e(e), "a number")
                .with_help("library functions take tensors; a number has no type to take"),
            )),
        }
    }

    fn call_builtin(&mut self, b: &'static str, args: &[Arg], span: Span) -> R<Val> {
        match b {
            "relu" => {
                let a = self.bind_args(b, &["x"], 1, args, span)?;
                let x = self.tensor_arg(a[0].ok_or(Reported)?, "`x`")?;
                let x = self.narrow(x, span)?;
                self.relu(x, span).map(Val::Tensor)
            }
            "sum" => {
                let a = self.bind_args(b, &["x", "axis", "keep_dims"], 1, args, span)?;
                let x = self.tensor_arg(a[0].ok_or(Reported)?, "`x`")?;
                let rank = x.ty.rank();
                let axes = match self.given(a[1]) {
                    Some(ax) => vec![self.axis(ax, rank)?],
                    None => (0..rank).collect(),
                };
                let keep_dims = self.flag(a[2])?;
                if axes.is_empty() {
                    return Ok(Val::Tensor(x));
                }
                let nominal = x.nominal;
                let op = Op::Reduce { kind: ReduceKind::Sum, axes, keep_dims };
                self.node(op, &[&x], nominal, span).map(Val::Tensor)
            }
            "exact" => {
                // No IR node: the value's nominal type becomes its exact type, so the next
                // product or table reads it without narrowing it first.
                let a = self.bind_args(b, &["x"], 1, args, span)?;
                let x = self.tensor_arg(a[0].ok_or(Reported)?, "`x`")?;
                let nominal = x.ty.elem;
                Ok(Val::Tensor(T { nominal, ..x }))
            }
            "transpose" => {
                let a = self.bind_args(b, &["x"], 1, args, span)?;
                let x = self.tensor_arg(a[0].ok_or(Reported)?, "`x`")?;
                let r = x.ty.rank();
                if r < 2 {
                    return Err(self.err(
                        Diagnostic::error(
                            codes::BAD_INDEX,
                            format!("expected a tensor of rank 2 or more to transpose, found shape {:?}", x.ty.shape),
                        )
                        .with_primary(span, "rank too small")
                        .with_help("transpose swaps the last two axes"),
                    ));
                }
                let mut perm: Vec<usize> = (0..r).collect();
                perm.swap(r - 1, r - 2);
                let nominal = x.nominal;
                self.node(Op::Transpose { perm }, &[&x], nominal, span).map(Val::Tensor)
            }
            "reshape" => {
                let a = self.bind_args(b, &["x", "shape"], 2, args, span)?;
                let x = self.tensor_arg(a[0].ok_or(Reported)?, "`x`")?;
                let se = a[1].ok_or(Reported)?;
                let shape = self.shape_arg(se)?;
                if atlas_ir::num_elements(&shape) != x.ty.num_elements() {
                    return Err(self.err(
                        Diagnostic::error(
                            codes::BAD_INDEX,
                            format!(
                                "reshape expects the same element count, found {:?} ({} elements) to {shape:?}",
                                x.ty.shape,
                                x.ty.num_elements().unwrap_or(0)
                            ),
                        )
                        .with_primary(self.span_e(se), "element count differs")
                        .with_help("the product of the new sizes must equal the old"),
                    ));
                }
                let nominal = x.nominal;
                self.node(Op::Reshape { shape }, &[&x], nominal, span).map(Val::Tensor)
            }
            "permute" => {
                let a = self.bind_args(b, &["x", "perm"], 2, args, span)?;
                let x = self.tensor_arg(a[0].ok_or(Reported)?, "`x`")?;
                let pe = a[1].ok_or(Reported)?;
                let perm = self.shape_arg(pe)?;
                let mut sorted = perm.clone();
                sorted.sort_unstable();
                if sorted != (0..x.ty.rank()).collect::<Vec<_>>() {
                    return Err(self.err(
                        Diagnostic::error(
                            codes::BAD_INDEX,
                            format!(
                                "expected a permutation of the {} axes 0..{}, found {perm:?}",
                                x.ty.rank(),
                                x.ty.rank()
                            ),
                        )
                        .with_primary(self.span_e(pe), "not a permutation")
                        .with_help(
                            "result axis `i` is operand axis `perm[i]`; name each axis once",
                        ),
                    ));
                }
                let nominal = x.nominal;
                self.node(Op::Transpose { perm }, &[&x], nominal, span).map(Val::Tensor)
            }
            "gather" => {
                let a = self.bind_args(b, &["x", "indices", "axis"], 2, args, span)?;
                let x = self.tensor_arg(a[0].ok_or(Reported)?, "`x`")?;
                let idx = self.tensor_arg(a[1].ok_or(Reported)?, "`indices`")?;
                let axis = self.opt_axis(a[2], x.ty.rank())?;
                let nominal = x.nominal;
                self.node(Op::Gather { axis }, &[&x, &idx], nominal, span).map(Val::Tensor)
            }
            "concat" => {
                let a = self.bind_args(b, &["a", "b", "axis"], 2, args, span)?;
                let x = self.tensor_arg(a[0].ok_or(Reported)?, "`a`")?;
                let y = self.tensor_arg(a[1].ok_or(Reported)?, "`b`")?;
                let axis = self.opt_axis(a[2], x.ty.rank())?;
                // Both operands at one type: the wider nominal one, as for `+`.
                let nominal = wider(x.nominal, y.nominal);
                let x = self.convert(x, nominal, span)?;
                let y = self.convert(y, nominal, span)?;
                self.node(Op::Concat { axis }, &[&x, &y], nominal, span).map(Val::Tensor)
            }
            "reduce_max" => {
                let a = self.bind_args(b, &["x", "axis", "keep_dims"], 2, args, span)?;
                let x = self.tensor_arg(a[0].ok_or(Reported)?, "`x`")?;
                let axis = self.axis(a[1].ok_or(Reported)?, x.ty.rank().max(1))?;
                let keep_dims = self.flag(a[2])?;
                let nominal = x.nominal;
                let op = Op::Reduce { kind: ReduceKind::Max, axes: vec![axis], keep_dims };
                self.node(op, &[&x], nominal, span).map(Val::Tensor)
            }
            "conv2d" => self.conv2d(args, span).map(Val::Tensor),
            "max_pool2d" => self.max_pool2d(args, span).map(Val::Tensor),
            // `PRIMS` and the arms above list the same names; this keeps a new entry honest.
            _ => Err(self.unsupported_at(
                span,
                format!("the library function `{b}`").as_str(),
                "it is declared in std.nn but has no lowering",
            )),
        }
    }

    /// Dense tables take at most 16 address bits.
    fn check_table_width(&mut self, what: &str, elem: ElemType, span: Span) -> R<()> {
        let bits = u32::from(elem.bits().unwrap_or(0));
        if bits > DENSE_MAX_ADDRESS_BITS {
            return Err(self.unsupported_at(
                span,
                format!(
                    "{what} at {} (wider than a {DENSE_MAX_ADDRESS_BITS}-bit table)",
                    show_elem(elem)
                )
                .as_str(),
                "narrow the operand to a type of at most 16 bits first",
            ));
        }
        Ok(())
    }

    /// `<name>_table(x, to = U)`: the stdlib's sampled primitive `spec` read at `x`'s nominal
    /// type (`x` narrowed to it) into `U`; both at most 16 bits.
    fn call_sampled(&mut self, spec: &'static Spec, args: &[Arg], span: Span) -> R<Val> {
        let what = format!("{}_table", spec.name);
        let a = self.bind_args(&what, &["x", "to"], 2, args, span)?;
        let x = self.tensor_arg(a[0].ok_or(Reported)?, "`x`");
        let to = self.type_arg(a[1].ok_or(Reported)?);
        let (x, to) = (x?, to?);
        let x = self.narrow(x, span)?;
        let elem = x.ty.elem;
        self.check_table_width(&what, elem, span)?;
        let table = self.approx_table(spec, elem, to, span)?;
        self.node(Op::Lookup { table }, &[&x], to, span).map(Val::Tensor)
    }

    /// An element type given as an argument: `fix<16, 14>`, `i8`, a type alias or a generic.
    fn type_arg(&mut self, e: ExprId) -> R<ElemType> {
        let span = self.span_e(e);
        let ty = match &self.ast.exprs[e] {
            Expr::Type(t) => Some(*t),
            Expr::Name(n) => {
                let text = self.name(*n);
                if let Some(Bound::Type(elem)) = self.scope.get(text) {
                    return Ok(*elem);
                }
                match self.globals.map.get(text) {
                    Some(Global::Type(item)) => match self.ast.item(*item) {
                        Item::TypeAlias { ty, .. } => Some(*ty),
                        _ => None,
                    },
                    _ => None,
                }
            }
            _ => None,
        };
        let Some(ty) = ty else {
            return Err(self.err(
                Diagnostic::error(codes::TYPE_MISMATCH, "expected an element type, found a value")
                    .with_primary(span, "not a type")
                    .with_help("write a type such as `fix<16, 14>`, a type alias or a generic"),
            ));
        };
        self.element_type(ty, span, "for `to`", "tables map elements: give the element type alone")
    }

    /// An optional argument as given: `None` when it is absent or is an `int` parameter that was
    /// itself left out (`none`), so a prelude `fn` can pass "not given" on.
    fn given(&self, e: Option<ExprId>) -> Option<ExprId> {
        let e = e?;
        match &self.ast.exprs[e] {
            Expr::Name(n) if matches!(self.scope.get(self.name(*n)), Some(Bound::None)) => None,
            _ => Some(e),
        }
    }

    fn axis(&mut self, e: ExprId, rank: usize) -> R<usize> {
        let v = self.const_value(e, &mut Vec::new())?;
        let r = rank as f64;
        if v.fract() == 0.0 && v >= -r && v < r {
            Ok(if v < 0.0 { (v + r) as usize } else { v as usize })
        } else {
            Err(self.err(
                Diagnostic::error(
                    codes::BAD_INDEX,
                    format!("expected an axis in -{rank}..{rank}, found {v}"),
                )
                .with_primary(self.span_e(e), "no such axis")
                .with_help("negative axes count from the end"),
            ))
        }
    }

    /// An optional axis argument (negative counts from the end), 0 when absent.
    fn opt_axis(&mut self, e: Option<ExprId>, rank: usize) -> R<usize> {
        e.map_or(Ok(0), |ax| self.axis(ax, rank.max(1)))
    }

    /// An optional constant flag such as `keep_dims = 1`: non-zero is true; false when absent.
    fn flag(&mut self, e: Option<ExprId>) -> R<bool> {
        e.map_or(Ok(false), |k| Ok(self.const_value(k, &mut Vec::new())? != 0.0))
    }

    fn shape_arg(&mut self, e: ExprId) -> R<Vec<usize>> {
        let Expr::Array(items) = &self.ast.exprs[e] else {
            return Err(self.err(
                Diagnostic::error(
                    codes::BAD_CONSTANT,
                    "expected a shape like `[1, 64]`, found another expression",
                )
                .with_primary(self.span_e(e), "not a shape")
                .with_help("write the shape as an array of constant sizes"),
            ));
        };
        let mut shape = Vec::new();
        for &i in items {
            shape.push(self.const_usize(i, "a size")?);
        }
        Ok(shape)
    }

    fn relu(&mut self, x: T, span: Span) -> R<T> {
        let elem = x.ty.elem;
        let bits = u32::from(elem.bits().unwrap_or(0));
        let table = match atlas_stdlib::Relu::new(bits) {
            Ok(t) => t,
            Err(e) => {
                return Err(self.unsupported_at(
                    span,
                    format!("relu at {} ({e})", show_elem(elem)).as_str(),
                    "the stdlib relu table exists for widths up to 8 bits and multiples of 4–8 up to 32",
                ))
            }
        };
        let handle = self.std_table(&table, elem, elem);
        let nominal = x.nominal;
        self.node(Op::Lookup { table: handle }, &[&x], nominal, span)
    }

    /// The handle of the stdlib table `table` read at `input` into `output`, declared on first
    /// use (by the table's name; the same table serving another element type gets a suffix, as
    /// table names must stay unique).
    fn std_table(
        &mut self,
        table: &dyn atlas_vm::Table,
        input: ElemType,
        output: ElemType,
    ) -> TableHandle {
        let mut name = table.name();
        let id = table.id().0;
        let tables = &self.b.program().tables;
        if let Some(i) =
            tables.iter().position(|t| t.id == id && t.inputs == [input] && t.output == output)
        {
            return TableHandle(i as u32);
        }
        if tables.iter().any(|t| t.name == name) {
            name = format!("{name}_{}", tables.len());
        }
        self.b.table(TableRef { name, id, inputs: vec![input], output })
    }

    /// The stdlib's sampled primitive `spec` (tables/approx.rs in atlas-stdlib) from `input` to
    /// `output`: both fixed-point (or integer) types of at most 16 bits.
    fn approx_table(
        &mut self,
        spec: &'static Spec,
        input: ElemType,
        output: ElemType,
        span: Span,
    ) -> R<TableHandle> {
        let fixed = |e: ElemType| {
            Fixed::new(u32::from(e.bits().unwrap_or(0)), u32::from(e.frac().unwrap_or(0)))
        };
        match Approx::new(spec, fixed(input), fixed(output)) {
            Ok(t) => Ok(self.std_table(&t, input, output)),
            Err(e) => Err(self.unsupported_at(
                span,
                format!("{} from {} to {} ({e})", spec.name, show_elem(input), show_elem(output)).as_str(),
                "the stdlib's sampled primitives take types of at most 16 bits and 31 fractional bits",
            )),
        }
    }

    fn opt_usize(&mut self, e: Option<ExprId>, default: usize, what: &str) -> R<usize> {
        match e {
            Some(e) => self.const_usize(e, what),
            None => Ok(default),
        }
    }

    fn conv2d(&mut self, args: &[Arg], span: Span) -> R<T> {
        let a = self.bind_args("conv2d", &["x", "w", "b", "stride", "padding"], 2, args, span)?;
        let x = self.tensor_arg(a[0].ok_or(Reported)?, "the input `x`")?;
        let w = self.tensor_arg(a[1].ok_or(Reported)?, "the kernel `w`")?;
        let bias = match a[2] {
            Some(e) => Some(self.tensor_arg(e, "the bias `b`")?),
            None => None,
        };
        let stride = self.opt_usize(a[3], 1, "a stride")?;
        let pad = self.opt_usize(a[4], 0, "a padding")?;
        let (xs, ws) = (x.ty.shape.clone(), w.ty.shape.clone());
        if xs.len() != 4 || ws.len() != 4 || xs[1] != ws[1] || stride == 0 {
            return Err(self.err(
                Diagnostic::error(
                    codes::SHAPE_MISMATCH,
                    format!(
                        "conv2d expects x[n, c, h, w], w[o, c, kh, kw] and a stride ≥ 1, found {xs:?}, {ws:?}, stride {stride}"
                    ),
                )
                .with_primary(span, "shapes do not fit")
                .with_help("channels of the input and the kernel must agree (NCHW layout)"),
            ));
        }
        if let Some(b) = &bias {
            if b.ty.shape != [ws[0]] {
                return Err(self.err(
                    Diagnostic::error(
                        codes::SHAPE_MISMATCH,
                        format!(
                            "conv2d expects a bias of shape [{}], found {:?}",
                            ws[0], b.ty.shape
                        ),
                    )
                    .with_primary(span, "bias shape")
                    .with_help("one bias per output channel"),
                ));
            }
        }
        let nominal = wider(x.nominal, w.nominal);
        let x = self.narrow(x, span)?;
        let w = self.narrow(w, span)?;
        let cols = self.node(
            Op::Im2Col { kernel: [ws[2], ws[3]], stride: [stride, stride], pad: [pad, pad] },
            &[&x],
            nominal,
            span,
        )?;
        let (n, p) = (cols.ty.shape[0], cols.ty.shape[1]);
        let k = ws[1] * ws[2] * ws[3];
        let wn = w.nominal;
        let w2 = self.node(Op::Reshape { shape: vec![ws[0], k] }, &[&w], wn, span)?;
        let wt = self.node(Op::Transpose { perm: vec![1, 0] }, &[&w2], wn, span)?;
        let mut y = self.node(Op::MatMul, &[&cols, &wt], nominal, span)?;
        if let Some(b) = bias {
            y = self.arith(BinOp::Add, y, b, span)?;
        }
        let oh = (xs[2] + 2 * pad).saturating_sub(ws[2]) / stride + 1;
        let ow = p / oh.max(1);
        let yt = self.node(Op::Transpose { perm: vec![0, 2, 1] }, &[&y], nominal, span)?;
        self.node(Op::Reshape { shape: vec![n, ws[0], oh, ow] }, &[&yt], nominal, span)
    }

    /// `max_pool2d(x, kernel, stride = kernel, padding = 0)` over `x[n, c, h, w]`, floor mode.
    /// Windows that tile the input (stride = kernel, no padding, sizes multiples of the kernel)
    /// are a reshape, a transpose and a `reduce_max`; any other windows are rows of an `im2col`
    /// (after padding with the type's minimum, which never wins a maximum), then a `reduce_max`.
    fn max_pool2d(&mut self, args: &[Arg], span: Span) -> R<T> {
        let names = ["x", "kernel", "stride", "padding"];
        let a = self.bind_args("max_pool2d", &names, 2, args, span)?;
        let x = self.tensor_arg(a[0].ok_or(Reported)?, "the input `x`")?;
        let k = self.opt_usize(a[1], 1, "a kernel size")?;
        let s = self.opt_usize(a[2], k, "a stride")?;
        let p = self.opt_usize(a[3], 0, "a padding")?;
        let xs = x.ty.shape.clone();
        if xs.len() != 4 || k == 0 || s == 0 || xs[2] + 2 * p < k || xs[3] + 2 * p < k {
            return Err(self.err(
                Diagnostic::error(
                    codes::SHAPE_MISMATCH,
                    format!(
                        "max_pool2d expects x[n, c, h, w] of at least the kernel {k} (with padding {p}) and a stride of at least 1, found {xs:?} and stride {s}"
                    ),
                )
                .with_primary(span, "no window fits")
                .with_help("use a kernel no larger than the padded input, and a non-zero stride"),
            ));
        }
        let nom = x.nominal;
        let (n, c) = (xs[0], xs[1]);
        if s == k && p == 0 && xs[2] % k == 0 && xs[3] % k == 0 {
            // Non-overlapping windows: split each spatial axis into (blocks, k), bring the two
            // window axes last, flatten them and take the maximum.
            let (h, w) = (xs[2] / k, xs[3] / k);
            let t = self.node(Op::Reshape { shape: vec![n, c, h, k, w, k] }, &[&x], nom, span)?;
            let t = self.node(Op::Transpose { perm: vec![0, 1, 2, 4, 3, 5] }, &[&t], nom, span)?;
            let t = self.node(Op::Reshape { shape: vec![n, c, h, w, k * k] }, &[&t], nom, span)?;
            let max = Op::Reduce { kind: ReduceKind::Max, axes: vec![4], keep_dims: false };
            return self.node(max, &[&t], nom, span);
        }
        let mut x = x;
        if p > 0 {
            let elem = x.ty.elem;
            let (lo, _) = elem.range().unwrap_or((0, 0));
            let min = lo as f64 / f64::powi(2.0, i32::from(elem.frac().unwrap_or(0)));
            for axis in [2, 3] {
                let mut edge_shape = x.ty.shape.clone();
                edge_shape[axis] = p;
                let edge = self.scalar_const(min, elem, span)?;
                let edge = self.broadcast_to(edge, &edge_shape, span)?;
                let edge = T { nominal: nom, ..edge };
                x = self.node(Op::Concat { axis }, &[&edge, &x, &edge], nom, span)?;
            }
        }
        let (h, w) = (x.ty.shape[2], x.ty.shape[3]);
        let (oh, ow) = ((h - k) / s + 1, (w - k) / s + 1);
        let im2col = Op::Im2Col { kernel: [k, k], stride: [s, s], pad: [0, 0] };
        let t = self.node(im2col, &[&x], nom, span)?;
        let t = self.node(Op::Reshape { shape: vec![n, oh * ow, c, k * k] }, &[&t], nom, span)?;
        let max = Op::Reduce { kind: ReduceKind::Max, axes: vec![3], keep_dims: false };
        let t = self.node(max, &[&t], nom, span)?;
        let t = self.node(Op::Transpose { perm: vec![0, 2, 1] }, &[&t], nom, span)?;
        self.node(Op::Reshape { shape: vec![n, c, oh, ow] }, &[&t], nom, span)
    }
}

/// `std.prim`'s meaning of `name`: a primitive lowered by the compiler, or a sampled table.
fn prim_global(name: &str) -> Option<Global> {
    if let Some(p) = PRIMS.iter().find(|p| **p == name) {
        return Some(Global::Builtin(p));
    }
    let base = name.strip_suffix("_table")?;
    atlas_stdlib::SAMPLED.iter().find(|s| s.name == base).map(|s| Global::Sampled(s))
}

/// A value's shape: a number is a scalar.
fn shape_of(v: &Val) -> Vec<usize> {
    match v {
        Val::Tensor(t) => t.ty.shape.clone(),
        Val::Lit(_) => Vec::new(),
    }
}

/// The scope key marking `name` as bound by a definition that failed: later uses of it are not
/// reported again. (A NUL cannot occur in an identifier, so the key never collides with a name.)
fn poisoned(name: &str) -> String {
    format!("\0poisoned {name}")
}

fn poison(scope: &mut HashMap<String, Bound>, name: &str) {
    scope.remove(name);
    scope.insert(poisoned(name), Bound::None);
}

/// The nominal type of a result: the operands' when they agree, else the one with more fractional
/// bits (then more bits).
fn wider(a: ElemType, b: ElemType) -> ElemType {
    let key = |e: ElemType| (e.frac().unwrap_or(0), e.bits().unwrap_or(0));
    if key(b) > key(a) {
        b
    } else {
        a
    }
}

/// Deterministic weights for `random(seed)`: splitmix64, uniform over the reals [-1, 1] for
/// `fix<B, F>` (clamped to the type), over [-4, 4] for integer types.
fn random_data(seed: u64, elem: ElemType, count: usize) -> Vec<i64> {
    let mut state = seed;
    let (lo, hi) = elem.range().unwrap_or((0, 0));
    let bound: i64 = match elem {
        ElemType::Fix { frac, .. } => 1i64 << frac.min(62),
        _ => 4,
    };
    (0..count)
        .map(|_| {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            let span = (2 * bound + 1) as u64;
            let v = (z % span) as i64 - bound;
            v.clamp(lo, hi)
        })
        .collect()
}

/// A type as part of a table name: `fix16_8`, `i8`.
fn show_elem(e: ElemType) -> String {
    match e {
        ElemType::Int { bits } => format!("i{bits}"),
        ElemType::Fix { bits, frac } => format!("fix<{bits}, {frac}>"),
        other => format!("{other:?}"),
    }
}

fn show(t: &TensorType) -> String {
    let dims: Vec<String> = t.shape.iter().map(ToString::to_string).collect();
    format!("{}[{}]", show_elem(t.elem), dims.join(", "))
}

fn unknown_name(span: Span, text: &str, what: &str) -> Diagnostic {
    Diagnostic::error(
        codes::UNKNOWN_NAME,
        format!("expected {what}, found the unknown name `{text}`"),
    )
    .with_primary(span, "not found in this scope")
    .with_help("declare it (let, param, const, type) before use, or check the spelling")
}

fn not_constant(span: Span, what: &str) -> Diagnostic {
    Diagnostic::error(codes::BAD_CONSTANT, format!("expected a constant expression, found {what}"))
        .with_primary(span, "not constant")
        .with_help("constants are numbers, consts, and + - * / of them")
}

fn matmul_needs_tensors(span: Span) -> Diagnostic {
    Diagnostic::error(codes::MATMUL_DIMS, "matmul expects two tensors, found a number operand")
        .with_primary(span, "a number cannot be a matrix")
        .with_help("use `*` to scale by a number")
}

fn infer_error(op: &str, e: &InferError, span: Span) -> Diagnostic {
    match e {
        InferError::TooWide { bits, .. } => Diagnostic::error(
            codes::TOO_WIDE,
            format!("expected an exact {op} result of at most 64 bits, found one needing {bits}"),
        )
        .with_primary(span, "too wide")
        .with_help("narrow an operand first, e.g. with a typed `let`"),
        other => Diagnostic::error(
            codes::TYPE_MISMATCH,
            format!("expected operands `{op}` accepts, found: {other}"),
        )
        .with_primary(span, "here")
        .with_help("see docs/ir.md for the typing rules"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The prelude parses and passes the structural checks, declares exactly the `fn`s
    /// `NN_PRELUDE` names (all generic, so they are only ever checked at a call), and no
    /// `lookup`: a dense table's formula is read from the user's tree.
    #[test]
    fn the_prelude_is_clean_and_declares_what_std_nn_lists() {
        let nn = prelude();
        assert!(nn.diagnostics.is_empty(), "{:?}", nn.diagnostics);
        let mut fns = Vec::new();
        for &i in &nn.ast.items {
            match nn.ast.item(i) {
                Item::Fn { name, generics, .. } => {
                    assert!(!generics.is_empty(), "{} is not generic", nn.ast.name(*name));
                    fns.push(nn.ast.name(*name));
                }
                Item::Import { .. } => {}
                other => panic!("the prelude declares a `{}`", other.keyword()),
            }
        }
        assert_eq!(fns, NN_PRELUDE);
        assert!(NN_REEXPORTS.iter().all(|r| PRIMS.contains(r)));
    }

    /// Every prelude function compiles at a few shapes and types with no diagnostic.
    #[test]
    fn every_prelude_fn_elaborates() {
        for (ty, shape) in
            [("fix<16, 8>", "[2, 8]"), ("fix<8, 4>", "[3]"), ("fix<12, 6>", "[2, 3, 4]")]
        {
            let src = format!(
                "import std.nn.{{softmax, layer_norm, gelu, mean}}\n\n\
                 model m(x: {ty}{shape}) -> ({ty}{shape}, {ty}{shape}, {ty}{shape}, {ty}[]) {{\n    \
                 return softmax(x), layer_norm(x, axis = 0), gelu(x), mean(x)\n}}\n"
            );
            let parsed = atlas_lang::parse(atlas_lang::FileId(0), &src);
            assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
            let compiled = run(&parsed.ast);
            assert!(compiled.errors.is_empty(), "{ty}{shape}: {:?}", compiled.errors);
            assert!(compiled.unsupported.is_empty(), "{ty}{shape}: {:?}", compiled.unsupported);
            assert_eq!(compiled.programs.len(), 1);
        }
    }
}
