//! Two views of an [`Ast`]:
//!
//! - [`print()`]: canonical `.atl` source. Parsing the output gives back the same tree (modulo
//!   spans); parentheses are inserted exactly where precedence needs them. This is what a
//!   formatter and `atlasc import` (ONNX to `.atl`) build on.
//! - [`dump()`]: an indented tree, one node per line with its span, for snapshots and debugging.
//!   Without spans it is a faithful structural fingerprint, which is how [`same_tree`] compares
//!   trees modulo spans.

use std::fmt::Write as _;

use crate::ast::{
    Arg, Ast, Dim, Expr, ExprId, IndexArg, Item, ItemId, Param, ParamInit, Spanned, Stmt, StmtId,
    TypeExpr, TypeId,
};

const INDENT: &str = "    ";

/// Binding strength of the forms that are not binary operators (see [`crate::ast::BinOp`]).
const PREC_IF: u8 = 0;
const PREC_UNARY: u8 = 4;
const PREC_POSTFIX: u8 = 5;

/// Prints the whole file as canonical source: one blank line between items, four-space indent.
pub fn print(ast: &Ast) -> String {
    let mut out = String::new();
    let mut previous: Option<ItemId> = None;
    for &item in &ast.items {
        // Runs of imports, of consts and of type aliases form blocks; every other item is set off
        // by a blank line.
        let same_block = previous.is_some_and(|p| {
            matches!(
                (ast.item(p), ast.item(item)),
                (Item::Import { .. }, Item::Import { .. })
                    | (Item::Const { .. }, Item::Const { .. })
                    | (Item::TypeAlias { .. }, Item::TypeAlias { .. })
            )
        });
        if previous.is_some() && !same_block {
            out.push('\n');
        }
        out.push_str(&print_item(ast, item));
        previous = Some(item);
    }
    out
}

/// Prints one item, with a trailing newline (and a blank line after bodies).
pub fn print_item(ast: &Ast, id: ItemId) -> String {
    let mut out = String::new();
    match ast.item(id) {
        Item::Import { path, names } => {
            let path: Vec<&str> = path.iter().map(|&n| ast.name(n)).collect();
            out.push_str("import ");
            out.push_str(&path.join("."));
            if let Some(names) = names {
                let names: Vec<&str> = names.iter().map(|&n| ast.name(n)).collect();
                let _ = write!(out, ".{{{}}}", names.join(", "));
            }
        }
        Item::Const { name, ty, value } => {
            let _ = write!(out, "const {}", ast.name(*name));
            if let Some(ty) = ty {
                let _ = write!(out, ": {}", print_type(ast, *ty));
            }
            let _ = write!(out, " = {}", print_expr(ast, *value));
        }
        Item::TypeAlias { name, ty } => {
            let _ = write!(out, "type {} = {}", ast.name(*name), print_type(ast, *ty));
        }
        Item::Lookup { name, params, ret, body } => {
            let _ = write!(
                out,
                "lookup {}({}) -> {} = {}",
                ast.name(*name),
                print_params(ast, params),
                print_type(ast, *ret),
                print_expr(ast, *body)
            );
        }
        Item::Model { name, inputs: params, outputs, body }
        | Item::Fn { name, params, outputs, body, .. } => {
            let keyword = ast.item(id).keyword();
            let _ = write!(
                out,
                "{keyword} {}{}({}) -> {} {{",
                ast.name(*name),
                print_generics(ast, ast.item(id)),
                print_params(ast, params),
                print_outputs(ast, outputs)
            );
            out.push('\n');
            for &stmt in body {
                out.push_str(INDENT);
                out.push_str(&print_stmt(ast, stmt));
                out.push('\n');
            }
            out.push('}');
        }
        // Unreachable for a tree without syntax errors; printed so that the output says so.
        Item::Error => out.push_str("/* syntax error */"),
    }
    out.push('\n');
    out
}

fn print_params(ast: &Ast, params: &[Param]) -> String {
    let params: Vec<String> = params
        .iter()
        .map(|p| {
            let default =
                p.default.map(|e| format!(" = {}", print_expr(ast, e))).unwrap_or_default();
            format!("{}: {}{default}", ast.name(p.name), print_type(ast, p.ty))
        })
        .collect();
    params.join(", ")
}

/// `<T, N>` for a generic `fn`, nothing otherwise.
fn print_generics(ast: &Ast, item: &Item) -> String {
    match item {
        Item::Fn { generics, .. } if !generics.is_empty() => {
            let names: Vec<&str> = generics.iter().map(|g| ast.name(*g)).collect();
            format!("<{}>", names.join(", "))
        }
        _ => String::new(),
    }
}

fn print_outputs(ast: &Ast, outputs: &[TypeId]) -> String {
    match outputs {
        [single] => print_type(ast, *single),
        many => {
            let many: Vec<String> = many.iter().map(|&t| print_type(ast, t)).collect();
            format!("({})", many.join(", "))
        }
    }
}

/// Prints one statement, without indentation or newline.
pub fn print_stmt(ast: &Ast, id: StmtId) -> String {
    match &ast.stmts[id] {
        Stmt::Let { name, ty, value } => {
            let ty = ty.map(|t| format!(": {}", print_type(ast, t))).unwrap_or_default();
            format!("let {}{ty} = {}", ast.name(*name), print_expr(ast, *value))
        }
        Stmt::LetMany { names, value } => {
            let names: Vec<&str> = names.iter().map(|n| ast.name(*n)).collect();
            format!("let {} = {}", names.join(", "), print_expr(ast, *value))
        }
        Stmt::Param { name, ty, init } => {
            let init = match init {
                ParamInit::Load { file, tensor } => {
                    format!("load({}, {})", quote(file), quote(tensor))
                }
                ParamInit::Random { seed } => format!("random({seed})"),
                ParamInit::Literal(e) => print_expr(ast, *e),
            };
            format!("param {}: {} = {init}", ast.name(*name), print_type(ast, *ty))
        }
        Stmt::Return(values) => {
            let values: Vec<String> = values.iter().map(|&v| print_expr(ast, v)).collect();
            format!("return {}", values.join(", "))
        }
        Stmt::Error => "/* syntax error */".to_string(),
    }
}

/// A string literal in `.atl` syntax: only `\` and `"` are escaped.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '\\' || c == '"' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

pub fn print_type(ast: &Ast, id: TypeId) -> String {
    match &ast.types[id] {
        TypeExpr::Elem(elem) => elem.to_string(),
        TypeExpr::Named(name) => ast.name(*name).to_string(),
        TypeExpr::Tensor { elem, dims } => {
            let dims: Vec<String> = dims
                .iter()
                .map(|d| match d {
                    Dim::Lit(v) => v.to_string(),
                    Dim::Name(n) => ast.name(*n).to_string(),
                    Dim::Rest => "..".to_string(),
                })
                .collect();
            format!("{}[{}]", print_type(ast, *elem), dims.join(", "))
        }
        TypeExpr::FixOf { bits, frac } => {
            // Two literals would read back as a plain `fix<B, F>`: parenthesise the first.
            let both_literal = [bits, frac].iter().all(|e| matches!(ast.exprs[**e], Expr::Int(_)));
            let arg = |e: ExprId, parens: bool| match &ast.exprs[e] {
                Expr::Int(v) if !parens => v.to_string(),
                Expr::Name(n) => ast.name(*n).to_string(),
                _ => format!("({})", print_expr(ast, e)),
            };
            format!("fix<{}, {}>", arg(*bits, both_literal), arg(*frac, false))
        }
        TypeExpr::Int => "int".to_string(),
    }
}

pub fn print_expr(ast: &Ast, id: ExprId) -> String {
    let mut out = String::new();
    write_expr(ast, id, 0, &mut out);
    out
}

fn precedence(expr: &Expr) -> u8 {
    match expr {
        Expr::If { .. } => PREC_IF,
        Expr::Binary { op, .. } => op.precedence(),
        Expr::Neg(_) => PREC_UNARY,
        _ => PREC_POSTFIX,
    }
}

/// Writes `id` in a position that needs binding strength at least `min`, parenthesising if the
/// expression binds more loosely.
fn write_expr(ast: &Ast, id: ExprId, min: u8, out: &mut String) {
    let expr = &ast.exprs[id];
    let parens = precedence(expr) < min;
    if parens {
        out.push('(');
    }
    match expr {
        Expr::Int(v) => {
            let _ = write!(out, "{v}");
        }
        // `{:?}` is the shortest text that reads back as the same f64 and always has a `.` or an
        // exponent, so it never reads back as an integer.
        Expr::Float(v) => {
            let _ = write!(out, "{v:?}");
        }
        Expr::Name(n) => out.push_str(ast.name(*n)),
        Expr::Neg(e) => {
            out.push('-');
            write_expr(ast, *e, PREC_UNARY, out);
        }
        Expr::Binary { op, lhs, rhs } => {
            let p = op.precedence();
            // Left-associative levels accept their own level on the left; comparisons do not
            // associate at all.
            let left_min = if op.is_comparison() { p + 1 } else { p };
            write_expr(ast, *lhs, left_min, out);
            let _ = write!(out, " {} ", op.symbol());
            write_expr(ast, *rhs, p + 1, out);
        }
        Expr::Call { callee, args } => {
            out.push_str(ast.name(*callee));
            out.push('(');
            write_args(ast, args, out);
            out.push(')');
        }
        Expr::Index { base, indices } => {
            write_expr(ast, *base, PREC_POSTFIX, out);
            out.push('[');
            for (i, index) in indices.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                match index {
                    IndexArg::At(e) => write_expr(ast, *e, 0, out),
                    IndexArg::Slice { start, end } => {
                        if let Some(s) = start {
                            write_expr(ast, *s, 0, out);
                        }
                        out.push(':');
                        if let Some(e) = end {
                            write_expr(ast, *e, 0, out);
                        }
                    }
                }
            }
            out.push(']');
        }
        Expr::Array(elems) => {
            out.push('[');
            for (i, &e) in elems.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_expr(ast, e, 0, out);
            }
            out.push(']');
        }
        Expr::Type(t) => out.push_str(&print_type(ast, *t)),
        Expr::If { cond, then, else_ } => {
            out.push_str("if ");
            write_expr(ast, *cond, 0, out);
            out.push_str(" { ");
            write_expr(ast, *then, 0, out);
            out.push_str(" } else ");
            if matches!(ast.exprs[*else_], Expr::If { .. }) {
                write_expr(ast, *else_, 0, out);
            } else {
                out.push_str("{ ");
                write_expr(ast, *else_, 0, out);
                out.push_str(" }");
            }
        }
    }
    if parens {
        out.push(')');
    }
}

fn write_args(ast: &Ast, args: &[Arg], out: &mut String) {
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        if let Some(name) = arg.name {
            let _ = write!(out, "{} = ", ast.name(name));
        }
        write_expr(ast, arg.value, 0, out);
    }
}

/// An indented tree of the file, one node per line; with `spans`, each line ends with the node's
/// byte range. Types are shown in source syntax, which is unambiguous.
pub fn dump(ast: &Ast, spans: bool) -> String {
    let mut d = Dumper { ast, spans, out: String::new(), depth: 0 };
    for &item in &ast.items {
        d.item(item);
    }
    d.out
}

/// Whether two trees are the same modulo spans (and modulo the order nodes sit in the arenas).
pub fn same_tree(a: &Ast, b: &Ast) -> bool {
    dump(a, false) == dump(b, false)
}

struct Dumper<'a> {
    ast: &'a Ast,
    spans: bool,
    out: String,
    depth: usize,
}

impl Dumper<'_> {
    fn line<I: Spanned>(&mut self, text: &str, id: Option<I>) {
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
        self.out.push_str(text);
        if let (true, Some(id)) = (self.spans, id) {
            let _ = write!(self.out, " @{}", self.ast.span(id));
        }
        self.out.push('\n');
    }

    fn nested(&mut self, f: impl FnOnce(&mut Self)) {
        self.depth += 1;
        f(self);
        self.depth -= 1;
    }

    fn name(&self, id: crate::ast::NameId) -> String {
        format!("`{}`", self.ast.name(id))
    }

    fn ty(&self, id: TypeId) -> String {
        print_type(self.ast, id)
    }

    fn item(&mut self, id: ItemId) {
        let ast = self.ast;
        match ast.item(id) {
            Item::Import { .. } => {
                let text = print_item(ast, id);
                let path = text.trim_end().trim_start_matches("import ");
                self.line(&format!("Import {path}"), Some(id));
            }
            Item::Const { name, ty, value } => {
                let ty = ty.map(|t| format!(": {}", self.ty(t))).unwrap_or_default();
                self.line(&format!("Const {}{ty}", self.name(*name)), Some(id));
                self.nested(|d| d.expr(*value));
            }
            Item::TypeAlias { name, ty } => {
                self.line(&format!("TypeAlias {} = {}", self.name(*name), self.ty(*ty)), Some(id));
            }
            Item::Lookup { name, params, ret, body } => {
                let head = format!(
                    "Lookup {}({}) -> {}",
                    self.name(*name),
                    print_params(ast, params),
                    self.ty(*ret)
                );
                self.line(&head, Some(id));
                self.nested(|d| d.expr(*body));
            }
            Item::Model { name, inputs: params, outputs, body }
            | Item::Fn { name, params, outputs, body, .. } => {
                let kind = if matches!(ast.item(id), Item::Model { .. }) { "Model" } else { "Fn" };
                let head = format!(
                    "{kind} {}{}({}) -> {}",
                    self.name(*name),
                    print_generics(ast, ast.item(id)),
                    print_params(ast, params),
                    print_outputs(ast, outputs)
                );
                self.line(&head, Some(id));
                self.nested(|d| {
                    for &stmt in body {
                        d.stmt(stmt);
                    }
                });
            }
            Item::Error => self.line("ErrorItem", Some(id)),
        }
    }

    fn stmt(&mut self, id: StmtId) {
        match &self.ast.stmts[id] {
            Stmt::Let { name, ty, value } => {
                let ty = ty.map(|t| format!(": {}", self.ty(t))).unwrap_or_default();
                self.line(&format!("Let {}{ty}", self.name(*name)), Some(id));
                self.nested(|d| d.expr(*value));
            }
            Stmt::LetMany { names, value } => {
                let names: Vec<String> = names.iter().map(|n| self.name(*n)).collect();
                self.line(&format!("Let {}", names.join(", ")), Some(id));
                self.nested(|d| d.expr(*value));
            }
            Stmt::Param { name, ty, init } => {
                let head = format!("Param {}: {}", self.name(*name), self.ty(*ty));
                match init {
                    ParamInit::Load { file, tensor } => self.line(
                        &format!("{head} = Load {} {}", quote(file), quote(tensor)),
                        Some(id),
                    ),
                    ParamInit::Random { seed } => {
                        self.line(&format!("{head} = Random {seed}"), Some(id));
                    }
                    ParamInit::Literal(e) => {
                        self.line(&format!("{head} = Literal"), Some(id));
                        self.nested(|d| d.expr(*e));
                    }
                }
            }
            Stmt::Return(values) => {
                self.line("Return", Some(id));
                self.nested(|d| {
                    for &v in values {
                        d.expr(v);
                    }
                });
            }
            Stmt::Error => self.line("ErrorStmt", Some(id)),
        }
    }

    fn expr(&mut self, id: ExprId) {
        let some = Some(id);
        match &self.ast.exprs[id] {
            Expr::Int(v) => self.line(&format!("Int {v}"), some),
            Expr::Float(v) => self.line(&format!("Float {v:?}"), some),
            Expr::Name(n) => self.line(&format!("Name {}", self.name(*n)), some),
            Expr::Neg(e) => {
                self.line("Neg", some);
                self.nested(|d| d.expr(*e));
            }
            Expr::Binary { op, lhs, rhs } => {
                self.line(&format!("Binary {}", op.symbol()), some);
                self.nested(|d| {
                    d.expr(*lhs);
                    d.expr(*rhs);
                });
            }
            Expr::Call { callee, args } => {
                self.line(&format!("Call {}", self.name(*callee)), some);
                self.nested(|d| {
                    for arg in args {
                        match arg.name {
                            Some(n) => {
                                d.line::<ExprId>(&format!("named {}", d.name(n)), None);
                                d.nested(|d| d.expr(arg.value));
                            }
                            None => d.expr(arg.value),
                        }
                    }
                });
            }
            Expr::Index { base, indices } => {
                self.line("Index", some);
                self.nested(|d| {
                    d.expr(*base);
                    for index in indices {
                        match index {
                            IndexArg::At(e) => d.expr(*e),
                            IndexArg::Slice { start, end } => {
                                d.line::<ExprId>("Slice", None);
                                d.nested(|d| {
                                    match start {
                                        Some(s) => d.expr(*s),
                                        None => d.line::<ExprId>("(from start)", None),
                                    }
                                    match end {
                                        Some(e) => d.expr(*e),
                                        None => d.line::<ExprId>("(to end)", None),
                                    }
                                });
                            }
                        }
                    }
                });
            }
            Expr::Array(elems) => {
                self.line(&format!("Array of {}", elems.len()), some);
                self.nested(|d| {
                    for &e in elems {
                        d.expr(e);
                    }
                });
            }
            Expr::Type(t) => self.line(&format!("Type {}", self.ty(*t)), some),
            Expr::If { cond, then, else_ } => {
                self.line("If", some);
                self.nested(|d| {
                    d.expr(*cond);
                    d.expr(*then);
                    d.expr(*else_);
                });
            }
        }
    }
}
