//! Structural checks: rules the grammar leaves open but that need no name resolution or types.
//!
//! The grammar has one expression language for every context, which keeps it small and its
//! errors uniform; the rules that depend on the context an expression sits in live here. What
//! needs names or types (is `w1` declared? do the shapes agree?) belongs to the compiler.

use crate::ast::{
    Arg, Ast, BinOp, ElemType, Expr, ExprId, IndexArg, Item, ItemId, ParamInit, Stmt, StmtId,
    TypeExpr,
};
use crate::diagnostic::{codes, Diagnostic};

/// The functions a `lookup` expression may call, with their number of arguments. A lookup is a
/// real-valued reference formula that the compiler samples into a table, so only these scalar
/// functions (plus arithmetic and `if`/comparisons) have a meaning there.
pub const LOOKUP_BUILTINS: &[(&str, usize)] = &[
    ("exp", 1),
    ("log", 1),
    ("sqrt", 1),
    ("tanh", 1),
    ("erf", 1),
    ("sin", 1),
    ("cos", 1),
    ("abs", 1),
    ("min", 2),
    ("max", 2),
    ("pow", 2),
];

/// The widest `fix<B, F>`: a fixed-point value must fit the VM's 32-bit lookup operands.
pub const MAX_FIX_BITS: u64 = 32;

/// Runs every structural check over a syntactically valid tree.
pub fn check(ast: &Ast) -> Vec<Diagnostic> {
    let mut checker = Checker { ast, diagnostics: Vec::new() };
    checker.element_types();
    checker.call_arguments();
    checker.signatures();
    for &item in &ast.items {
        checker.item(item);
    }
    checker.diagnostics
}

struct Checker<'a> {
    ast: &'a Ast,
    diagnostics: Vec<Diagnostic>,
}

impl Checker<'_> {
    fn report(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    fn element_types(&mut self) {
        for (id, ty) in self.ast.types.iter() {
            let TypeExpr::Elem(elem) = ty else { continue };
            let span = self.ast.span(id);
            match *elem {
                ElemType::Bf16 | ElemType::F8E4M3 => self.report(
                    Diagnostic::error(
                        codes::UNSUPPORTED_ELEM_TYPE,
                        format!("expected `i8`, `i16`, `i32` or `fix<B, F>`, found `{elem}`"),
                    )
                    .with_primary(span, "reserved, not supported yet")
                    .with_help(format!(
                        "`{elem}` is reserved for a future release; use `fix<B, F>` for now"
                    )),
                ),
                ElemType::Fix { bits, frac } if bits == 0 || bits > MAX_FIX_BITS || frac > bits => {
                    self.report(
                        Diagnostic::error(
                            codes::FIX_OUT_OF_RANGE,
                            format!(
                                "expected `fix<B, F>` with 1 <= B <= {MAX_FIX_BITS} and F <= B, \
                                 found `{elem}`"
                            ),
                        )
                        .with_primary(span, "out of range")
                        .with_help(
                            "B is the total width in bits, F the fractional bits among them",
                        ),
                    )
                }
                _ => {}
            }
        }
    }

    /// Compile-time parameters: `int` only as a `fn` parameter's type, a default only on such a
    /// parameter, defaults after the parameters without one; `..` only alone in its brackets.
    fn signatures(&mut self) {
        let ast = self.ast;
        let mut int_params = std::collections::HashSet::new();
        for &item in &ast.items {
            let (params, in_fn) = match ast.item(item) {
                Item::Fn { params, .. } => (params, true),
                Item::Model { inputs, .. } => (inputs, false),
                Item::Lookup { params, .. } => (params, false),
                _ => continue,
            };
            let mut first_default: Option<&crate::ast::Param> = None;
            for p in params {
                let is_int = matches!(ast.types[p.ty], TypeExpr::Int);
                if is_int && in_fn {
                    int_params.insert(p.ty);
                }
                match (p.default, first_default) {
                    (Some(d), _) if !(is_int && in_fn) => self.report(
                        Diagnostic::error(
                            codes::SIGNATURE,
                            "expected a parameter without a default, found a default value",
                        )
                        .with_primary(ast.span(d), "default value")
                        .with_help(
                            "only a `fn`'s compile-time parameters (`axis: int = -1`) have defaults",
                        ),
                    ),
                    (Some(_), None) => first_default = Some(p),
                    (None, Some(first)) => self.report(
                        Diagnostic::error(
                            codes::SIGNATURE,
                            format!(
                                "expected a default for `{}` after the defaulted `{}`, found none",
                                ast.name(p.name),
                                ast.name(first.name)
                            ),
                        )
                        .with_primary(ast.span(p.name), "no default")
                        .with_secondary(ast.span(first.name), "has a default")
                        .with_help("put the parameters with defaults last"),
                    ),
                    _ => {}
                }
            }
        }
        for (id, ty) in ast.types.iter() {
            match ty {
                TypeExpr::Int if !int_params.contains(&id) => self.report(
                    Diagnostic::error(
                        codes::SIGNATURE,
                        "expected a tensor or element type, found `int`",
                    )
                    .with_primary(ast.span(id), "`int` here")
                    .with_help(
                        "`int` is the type of a `fn`'s compile-time parameters, e.g. `axis: int = -1`",
                    ),
                ),
                TypeExpr::Tensor { dims, .. }
                    if dims.len() > 1 && dims.contains(&crate::ast::Dim::Rest) =>
                {
                    self.report(
                        Diagnostic::error(
                            codes::SIGNATURE,
                            format!("expected `..` alone in the brackets, found {} dimensions", dims.len()),
                        )
                        .with_primary(ast.span(id), "`..` with other dimensions")
                        .with_help("`T[..]` stands for any shape; name the dimensions with generics otherwise"),
                    )
                }
                _ => {}
            }
        }
    }

    fn call_arguments(&mut self) {
        for (_, expr) in self.ast.exprs.iter() {
            let Expr::Call { args, .. } = expr else { continue };
            let mut named: Option<&Arg> = None;
            for arg in args {
                match (arg.name, named) {
                    (Some(_), None) => named = Some(arg),
                    (None, Some(first)) => {
                        let first_name = first.name.map_or("", |n| self.ast.name(n));
                        self.report(
                            Diagnostic::error(
                                codes::POSITIONAL_AFTER_NAMED,
                                "expected a named argument `name = value`, found a positional one",
                            )
                            .with_primary(self.ast.span(arg.value), "positional argument")
                            .with_secondary(
                                self.ast.span(first.value),
                                format!("after the named argument `{first_name}`"),
                            )
                            .with_help("put positional arguments before named ones"),
                        );
                        break;
                    }
                    _ => {}
                }
            }
        }
    }

    fn item(&mut self, id: ItemId) {
        match self.ast.item(id) {
            Item::Import { .. } | Item::TypeAlias { .. } | Item::Error => {}
            Item::Const { value, .. } => self.tensor_expr(*value),
            Item::Lookup { name, params, body, .. } => {
                if params.is_empty() || params.len() > 2 {
                    self.report(
                        Diagnostic::error(
                            codes::LOOKUP_INPUTS,
                            format!("expected one or two inputs, found {}", params.len()),
                        )
                        .with_primary(self.ast.span(*name), "this lookup")
                        .with_help(
                            "a lookup table is indexed by one operand, or by two interleaved ones",
                        ),
                    );
                }
                self.lookup_expr(*body, false);
            }
            Item::Model { name, body, .. } => self.body(*name, body, true),
            Item::Fn { name, body, .. } => self.body(*name, body, false),
        }
    }

    fn body(&mut self, name: crate::ast::NameId, body: &[StmtId], is_model: bool) {
        for &stmt in body {
            match &self.ast.stmts[stmt] {
                Stmt::Let { value, .. } | Stmt::LetMany { value, .. } => self.tensor_expr(*value),
                Stmt::Param { init, .. } => {
                    if !is_model {
                        self.report(
                            Diagnostic::error(
                                codes::PARAM_OUTSIDE_MODEL,
                                "expected `let` or `return` in a `fn` body, found `param`",
                            )
                            .with_primary(self.ast.span(stmt), "parameter declared in a `fn`")
                            .with_help(
                                "declare the parameter in the `model` and pass it to the `fn` as \
                                 an argument",
                            ),
                        );
                    }
                    if let ParamInit::Literal(e) = init {
                        self.param_literal(*e);
                    }
                }
                Stmt::Return(values) => {
                    for &value in values {
                        self.tensor_expr(value);
                    }
                }
                Stmt::Error => {}
            }
        }
        let kind = if is_model { "model" } else { "fn" };
        match body.iter().position(|&s| matches!(self.ast.stmts[s], Stmt::Return(_))) {
            None => self.report(
                Diagnostic::error(
                    codes::MISSING_RETURN,
                    format!(
                        "expected a `return` at the end of `{}`, found none",
                        self.ast.name(name)
                    ),
                )
                .with_primary(self.ast.span(name), format!("this {kind} returns nothing"))
                .with_help(format!("end the body with `return` and the {kind}'s outputs")),
            ),
            Some(at) if at + 1 < body.len() => {
                let next = body[at + 1];
                self.report(
                    Diagnostic::error(
                        codes::MISSING_RETURN,
                        "expected the body to end after `return`, found another statement",
                    )
                    .with_primary(self.ast.span(next), "after the `return`")
                    .with_secondary(self.ast.span(body[at]), "the body returns here")
                    .with_help("`return` must be the last statement, and there is only one"),
                )
            }
            Some(_) => {}
        }
    }

    /// An expression over tensors: everything but `if` and comparisons, which only a lookup's
    /// scalar formula can use (a proof has no data-dependent control flow).
    fn tensor_expr(&mut self, id: ExprId) {
        match &self.ast.exprs[id] {
            Expr::If { .. } => self.report(
                Diagnostic::error(
                    codes::CONDITIONAL_OUTSIDE_LOOKUP,
                    "expected a tensor expression, found `if`",
                )
                .with_primary(self.ast.span(id), "`if` outside a lookup")
                .with_help(
                    "declare the piecewise function as `lookup name(x: T) -> U = if ...` and call it",
                ),
            ),
            Expr::Binary { op, .. } if op.is_comparison() => self.report(
                Diagnostic::error(
                    codes::CONDITIONAL_OUTSIDE_LOOKUP,
                    format!("expected a tensor expression, found the comparison `{}`", op.symbol()),
                )
                .with_primary(self.ast.span(id), "comparison outside a lookup")
                .with_help("comparisons belong in a `lookup` expression's `if` condition"),
            ),
            _ => {}
        }
        let children = match &self.ast.exprs[id] {
            // The `if` is reported as a whole; its condition's comparison is part of that error.
            Expr::If { then, else_, .. } => vec![*then, *else_],
            expr => children(expr),
        };
        for child in children {
            self.tensor_expr(child);
        }
    }

    /// A lookup's body: a scalar formula in its inputs. `in_condition` is true for the condition
    /// of an `if`, the one place a comparison may stand.
    fn lookup_expr(&mut self, id: ExprId, in_condition: bool) {
        let span = self.ast.span(id);
        let forbidden = |what: &str, help: &str| {
            Diagnostic::error(
                codes::LOOKUP_FORBIDDEN_EXPR,
                format!("expected a scalar expression, found {what}"),
            )
            .with_primary(span, "not allowed in a lookup expression")
            .with_help(help.to_string())
        };
        match &self.ast.exprs[id] {
            Expr::Int(_) | Expr::Float(_) | Expr::Name(_) => {}
            Expr::Neg(e) => self.lookup_expr(*e, false),
            Expr::Binary { op, lhs, rhs } => {
                if *op == BinOp::MatMul {
                    self.report(forbidden(
                        "a matrix product `@`",
                        "a lookup maps one scalar to one scalar; use `*` to multiply",
                    ));
                } else if op.is_comparison() && !in_condition {
                    self.report(forbidden(
                        &format!("the comparison `{}` outside an `if` condition", op.symbol()),
                        "write `if a < b { 1.0 } else { 0.0 }` for a step function",
                    ));
                }
                self.lookup_expr(*lhs, false);
                self.lookup_expr(*rhs, false);
            }
            Expr::If { cond, then, else_ } => {
                let cond_is_comparison =
                    matches!(self.ast.exprs[*cond], Expr::Binary { op, .. } if op.is_comparison());
                if !cond_is_comparison {
                    self.report(
                        Diagnostic::error(
                            codes::LOOKUP_FORBIDDEN_EXPR,
                            "expected a comparison as the `if` condition, found a number",
                        )
                        .with_primary(self.ast.span(*cond), "not a comparison")
                        .with_help("compare explicitly, e.g. `if x > 0 { ... }`"),
                    );
                }
                self.lookup_expr(*cond, true);
                self.lookup_expr(*then, false);
                self.lookup_expr(*else_, false);
            }
            Expr::Call { callee, args } => {
                let name = self.ast.name(*callee);
                match LOOKUP_BUILTINS.iter().find(|(n, _)| *n == name) {
                    None => self.report(
                        Diagnostic::error(
                            codes::LOOKUP_UNKNOWN_FUNCTION,
                            format!("expected a lookup builtin, found `{name}`"),
                        )
                        .with_primary(self.ast.span(*callee), "not a lookup builtin")
                        .with_help(format!(
                            "a lookup expression may call {}; combine lookups in a `fn` instead",
                            builtin_list()
                        )),
                    ),
                    Some(&(_, arity)) if arity != args.len() => self.report(
                        Diagnostic::error(
                            codes::LOOKUP_ARITY,
                            format!(
                                "expected {arity} argument{} to `{name}`, found {}",
                                if arity == 1 { "" } else { "s" },
                                args.len()
                            ),
                        )
                        .with_primary(span, format!("`{name}` takes {arity}"))
                        .with_help(format!("`{name}` is called as {}", signature(name, arity))),
                    ),
                    Some(_) => {}
                }
                for arg in args {
                    if let Some(n) = arg.name {
                        let arg_name = self.ast.name(n);
                        self.report(
                            Diagnostic::error(
                                codes::LOOKUP_FORBIDDEN_EXPR,
                                format!(
                                    "expected a positional argument, found the named argument \
                                     `{arg_name}`"
                                ),
                            )
                            .with_primary(self.ast.span(n), "named argument")
                            .with_help("lookup builtins take positional arguments only"),
                        );
                    }
                    self.lookup_expr(arg.value, false);
                }
            }
            Expr::Index { base, indices } => {
                self.report(forbidden(
                    "indexing",
                    "a lookup's inputs are scalars; index the tensor before calling the lookup",
                ));
                self.lookup_expr(*base, false);
                for index in indices {
                    for e in index_exprs(index) {
                        self.lookup_expr(e, false);
                    }
                }
            }
            Expr::Array(elems) => {
                self.report(forbidden(
                    "an array literal",
                    "a lookup's result is one scalar per input value",
                ));
                for &e in elems {
                    self.lookup_expr(e, false);
                }
            }
            Expr::Type(_) => self.report(forbidden(
                "a type",
                "a lookup's formula is over real numbers; declare types in its signature",
            )),
        }
    }

    /// An inline `param` value: a number, a negated number, or nested arrays of them.
    fn param_literal(&mut self, id: ExprId) {
        match &self.ast.exprs[id] {
            Expr::Int(_) | Expr::Float(_) => {}
            Expr::Neg(e) if matches!(self.ast.exprs[*e], Expr::Int(_) | Expr::Float(_)) => {}
            Expr::Array(elems) => {
                for &e in elems {
                    self.param_literal(e);
                }
            }
            _ => self.report(
                Diagnostic::error(
                    codes::PARAM_NOT_LITERAL,
                    "expected a number or an array literal of numbers, found an expression",
                )
                .with_primary(self.ast.span(id), "not a literal")
                .with_help(
                    "a `param` is initialised by `load(\"file\", \"tensor\")`, `random(seed)` or \
                     a literal such as `[[1, 0], [0, 1]]`; compute derived values with `let`",
                ),
            ),
        }
    }
}

fn builtin_list() -> String {
    let names: Vec<String> = LOOKUP_BUILTINS.iter().map(|(n, _)| format!("`{n}`")).collect();
    names.join(", ")
}

fn signature(name: &str, arity: usize) -> String {
    let args = ["x", "y"];
    format!("`{name}({})`", args[..arity.min(2)].join(", "))
}

fn index_exprs(index: &IndexArg) -> Vec<ExprId> {
    match *index {
        IndexArg::At(e) => vec![e],
        IndexArg::Slice { start, end } => start.into_iter().chain(end).collect(),
    }
}

/// The direct sub-expressions of an expression, in source order.
pub fn children(expr: &Expr) -> Vec<ExprId> {
    match expr {
        Expr::Int(_) | Expr::Float(_) | Expr::Name(_) | Expr::Type(_) => Vec::new(),
        Expr::Neg(e) => vec![*e],
        Expr::Binary { lhs, rhs, .. } => vec![*lhs, *rhs],
        Expr::Call { args, .. } => args.iter().map(|a| a.value).collect(),
        Expr::Index { base, indices } => {
            let mut out = vec![*base];
            out.extend(indices.iter().flat_map(index_exprs));
            out
        }
        Expr::Array(elems) => elems.clone(),
        Expr::If { cond, then, else_ } => vec![*cond, *then, *else_],
    }
}
