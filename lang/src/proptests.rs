//! Property tests of the front end as a whole:
//!
//! - random trees print to source that parses back to the same tree (modulo spans), and printing
//!   that tree again gives the same text;
//! - arbitrary bytes and random token soup never panic the lexer, parser, checker or renderer, and
//!   every diagnostic points inside the source;
//! - any token soup that happens to parse cleanly also round-trips through the printer.

use proptest::prelude::*;

use crate::ast::{
    Arg, Ast, BinOp, Dim, ElemType, Expr, ExprId, IndexArg, Item, ItemId, NameId, Param, ParamInit,
    Stmt, StmtId, TypeExpr, TypeId,
};
use crate::parser::parse_syntax;
use crate::span::{FileId, Span};
use crate::{parse, print, render, same_tree, Sources};

/// 256 cases keeps the suite fast; set `PROPTEST_CASES` for a longer fuzzing run.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256)
}

// ----- an owned tree that proptest can generate and shrink -----

#[derive(Clone, Debug)]
enum GExpr {
    Int(u64),
    Float(f64),
    Name(String),
    Neg(Box<GExpr>),
    Binary(BinOp, Box<GExpr>, Box<GExpr>),
    Call(String, Vec<GExpr>, Vec<(String, GExpr)>),
    Index(Box<GExpr>, Vec<GIndex>),
    Array(Vec<GExpr>),
    If(Box<GExpr>, Box<GExpr>, Box<GExpr>),
    /// A keyword-led type in value position (`Elem` or `FixOf` only, as the grammar allows).
    Type(GType),
}

#[derive(Clone, Debug)]
enum GIndex {
    At(GExpr),
    Slice(Option<GExpr>, Option<GExpr>),
}

#[derive(Clone, Debug)]
enum GType {
    Elem(ElemType),
    Named(String),
    /// Dimensions: a literal, a name, or `None` for `..`.
    Tensor(Box<GType>, Vec<Option<Result<u64, String>>>),
    FixOf(Box<GExpr>, Box<GExpr>),
    Int,
}

#[derive(Clone, Debug)]
enum GInit {
    Load(String, String),
    Random(u64),
    Literal(GExpr),
}

#[derive(Clone, Debug)]
enum GStmt {
    Let(String, Option<GType>, GExpr),
    Param(String, GType, GInit),
    Return(Vec<GExpr>),
}

#[derive(Clone, Debug)]
enum GItem {
    Import(Vec<String>, Option<Vec<String>>),
    Const(String, Option<GType>, GExpr),
    TypeAlias(String, GType),
    Lookup(String, Vec<GParam>, GType, GExpr),
    Model(String, Vec<GParam>, Vec<GType>, Vec<GStmt>),
    Fn(String, Vec<String>, Vec<GParam>, Vec<GType>, Vec<GStmt>),
}

type GParam = (String, GType, Option<GExpr>);

fn ident() -> impl Strategy<Value = String> {
    "[a-zA-Z_][a-zA-Z0-9_]{0,5}"
        .prop_filter("not a keyword", |s| !crate::lexer::KEYWORDS.contains(&s.as_str()))
}

fn string_literal() -> impl Strategy<Value = String> {
    // Any one-line text, including the two escapable characters.
    "[a-z0-9_./\\\\\" ]{0,12}"
}

fn float() -> impl Strategy<Value = f64> {
    any::<f64>().prop_map(f64::abs).prop_filter("finite", |v| v.is_finite())
}

fn expr() -> impl Strategy<Value = GExpr> {
    let leaf = prop_oneof![
        any::<u64>().prop_map(GExpr::Int),
        float().prop_map(GExpr::Float),
        ident().prop_map(GExpr::Name),
        elem_type().prop_map(|e| GExpr::Type(GType::Elem(e))),
    ];
    leaf.prop_recursive(4, 48, 4, |inner| {
        let index = prop_oneof![
            inner.clone().prop_map(GIndex::At),
            (proptest::option::of(inner.clone()), proptest::option::of(inner.clone()))
                .prop_map(|(a, b)| GIndex::Slice(a, b)),
        ];
        prop_oneof![
            inner.clone().prop_map(|e| GExpr::Neg(Box::new(e))),
            (proptest::sample::select(BinOp::ALL.to_vec()), inner.clone(), inner.clone())
                .prop_map(|(op, a, b)| GExpr::Binary(op, Box::new(a), Box::new(b))),
            (
                ident(),
                proptest::collection::vec(inner.clone(), 0..3),
                proptest::collection::vec((ident(), inner.clone()), 0..2)
            )
                .prop_map(|(f, pos, named)| GExpr::Call(f, pos, named)),
            (inner.clone(), proptest::collection::vec(index, 1..3))
                .prop_map(|(b, ix)| GExpr::Index(Box::new(b), ix)),
            proptest::collection::vec(inner.clone(), 0..3).prop_map(GExpr::Array),
            (inner.clone(), inner.clone())
                .prop_map(|(b, f)| GExpr::Type(GType::FixOf(Box::new(b), Box::new(f)))),
            (inner.clone(), inner.clone(), inner).prop_map(|(c, t, e)| GExpr::If(
                Box::new(c),
                Box::new(t),
                Box::new(e)
            )),
        ]
    })
}

fn elem_type() -> impl Strategy<Value = ElemType> {
    prop_oneof![
        Just(ElemType::I8),
        Just(ElemType::I16),
        Just(ElemType::I32),
        Just(ElemType::Bf16),
        Just(ElemType::F8E4M3),
        (any::<u64>(), any::<u64>()).prop_map(|(bits, frac)| ElemType::Fix { bits, frac }),
    ]
}

fn ty() -> impl Strategy<Value = GType> {
    let fix_arg = || {
        prop_oneof![
            any::<u64>().prop_map(GExpr::Int),
            ident().prop_map(GExpr::Name),
            (ident(), any::<u64>()).prop_map(|(n, v)| GExpr::Binary(
                BinOp::Sub,
                Box::new(GExpr::Name(n)),
                Box::new(GExpr::Int(v))
            )),
        ]
    };
    let base = prop_oneof![
        elem_type().prop_map(GType::Elem),
        ident().prop_map(GType::Named),
        (fix_arg(), fix_arg()).prop_map(|(b, f)| GType::FixOf(Box::new(b), Box::new(f))),
    ];
    prop_oneof![
        base.clone(),
        Just(GType::Int),
        (
            base,
            proptest::collection::vec(
                prop_oneof![
                    any::<u64>().prop_map(|v| Some(Ok(v))),
                    ident().prop_map(|n| Some(Err(n))),
                    Just(None),
                ],
                0..4
            )
        )
            .prop_map(|(b, dims)| GType::Tensor(Box::new(b), dims)),
    ]
}

fn params() -> impl Strategy<Value = Vec<GParam>> {
    proptest::collection::vec((ident(), ty(), proptest::option::of(expr())), 0..3)
}

fn stmt() -> impl Strategy<Value = GStmt> {
    let init = prop_oneof![
        (string_literal(), string_literal()).prop_map(|(f, t)| GInit::Load(f, t)),
        any::<u64>().prop_map(GInit::Random),
        expr().prop_map(GInit::Literal),
    ];
    prop_oneof![
        (ident(), proptest::option::of(ty()), expr()).prop_map(|(n, t, e)| GStmt::Let(n, t, e)),
        (ident(), ty(), init).prop_map(|(n, t, i)| GStmt::Param(n, t, i)),
        proptest::collection::vec(expr(), 1..3).prop_map(GStmt::Return),
    ]
}

fn item() -> impl Strategy<Value = GItem> {
    let body = || proptest::collection::vec(stmt(), 0..4);
    let outputs = || proptest::collection::vec(ty(), 1..3);
    prop_oneof![
        (
            proptest::collection::vec(ident(), 1..3),
            proptest::option::of(proptest::collection::vec(ident(), 1..3))
        )
            .prop_map(|(p, n)| GItem::Import(p, n)),
        (ident(), proptest::option::of(ty()), expr()).prop_map(|(n, t, e)| GItem::Const(n, t, e)),
        (ident(), ty()).prop_map(|(n, t)| GItem::TypeAlias(n, t)),
        (ident(), params(), ty(), expr()).prop_map(|(n, p, t, e)| GItem::Lookup(n, p, t, e)),
        (ident(), params(), outputs(), body()).prop_map(|(n, p, o, b)| GItem::Model(n, p, o, b)),
        (ident(), proptest::collection::vec(ident(), 0..3), params(), outputs(), body())
            .prop_map(|(n, g, p, o, b)| GItem::Fn(n, g, p, o, b)),
    ]
}

// ----- building an `Ast` from the owned tree (spans are dummies: the tree has no source) -----

struct Build {
    ast: Ast,
}

impl Build {
    fn span(&self) -> Span {
        Span::new(FileId(0), 0, 0)
    }

    fn name(&mut self, s: &str) -> NameId {
        let span = self.span();
        self.ast.spans.names.alloc(span);
        self.ast.names.alloc(s.to_string())
    }

    fn expr(&mut self, e: &GExpr) -> ExprId {
        let node = match e {
            GExpr::Int(v) => Expr::Int(*v),
            GExpr::Float(v) => Expr::Float(*v),
            GExpr::Name(n) => Expr::Name(self.name(n)),
            GExpr::Neg(e) => Expr::Neg(self.expr(e)),
            GExpr::Binary(op, a, b) => {
                Expr::Binary { op: *op, lhs: self.expr(a), rhs: self.expr(b) }
            }
            GExpr::Call(f, pos, named) => {
                let callee = self.name(f);
                let mut args: Vec<Arg> =
                    pos.iter().map(|e| Arg { name: None, value: self.expr(e) }).collect();
                for (n, e) in named {
                    let name = Some(self.name(n));
                    args.push(Arg { name, value: self.expr(e) });
                }
                Expr::Call { callee, args }
            }
            GExpr::Index(base, indices) => {
                let base = self.expr(base);
                let indices = indices
                    .iter()
                    .map(|ix| match ix {
                        GIndex::At(e) => IndexArg::At(self.expr(e)),
                        GIndex::Slice(a, b) => IndexArg::Slice {
                            start: a.as_ref().map(|e| self.expr(e)),
                            end: b.as_ref().map(|e| self.expr(e)),
                        },
                    })
                    .collect();
                Expr::Index { base, indices }
            }
            GExpr::Array(elems) => Expr::Array(elems.iter().map(|e| self.expr(e)).collect()),
            GExpr::If(c, t, e) => {
                Expr::If { cond: self.expr(c), then: self.expr(t), else_: self.expr(e) }
            }
            GExpr::Type(t) => Expr::Type(self.ty(t)),
        };
        let span = self.span();
        self.ast.spans.exprs.alloc(span);
        self.ast.exprs.alloc(node)
    }

    fn ty(&mut self, t: &GType) -> TypeId {
        let node = match t {
            GType::Elem(e) => TypeExpr::Elem(*e),
            GType::Named(n) => TypeExpr::Named(self.name(n)),
            GType::Tensor(base, dims) => {
                let elem = self.ty(base);
                let dims = dims
                    .iter()
                    .map(|d| match d {
                        Some(Ok(v)) => Dim::Lit(*v),
                        Some(Err(n)) => Dim::Name(self.name(n)),
                        None => Dim::Rest,
                    })
                    .collect();
                TypeExpr::Tensor { elem, dims }
            }
            GType::FixOf(b, f) => match (&**b, &**f) {
                // Two literals are the parser's `Elem(Fix)`, never a `FixOf`.
                (GExpr::Int(bits), GExpr::Int(frac)) => {
                    TypeExpr::Elem(ElemType::Fix { bits: *bits, frac: *frac })
                }
                _ => TypeExpr::FixOf { bits: self.expr(b), frac: self.expr(f) },
            },
            GType::Int => TypeExpr::Int,
        };
        let span = self.span();
        self.ast.spans.types.alloc(span);
        self.ast.types.alloc(node)
    }

    fn params(&mut self, ps: &[GParam]) -> Vec<Param> {
        ps.iter()
            .map(|(n, t, d)| Param {
                name: self.name(n),
                ty: self.ty(t),
                default: d.as_ref().map(|d| self.expr(d)),
            })
            .collect()
    }

    fn stmt(&mut self, s: &GStmt) -> StmtId {
        let node = match s {
            GStmt::Let(n, t, e) => Stmt::Let {
                name: self.name(n),
                ty: t.as_ref().map(|t| self.ty(t)),
                value: self.expr(e),
            },
            GStmt::Param(n, t, init) => Stmt::Param {
                name: self.name(n),
                ty: self.ty(t),
                init: match init {
                    GInit::Load(f, t) => ParamInit::Load { file: f.clone(), tensor: t.clone() },
                    GInit::Random(seed) => ParamInit::Random { seed: *seed },
                    GInit::Literal(e) => ParamInit::Literal(self.expr(e)),
                },
            },
            GStmt::Return(values) => Stmt::Return(values.iter().map(|e| self.expr(e)).collect()),
        };
        let span = self.span();
        self.ast.spans.stmts.alloc(span);
        self.ast.stmts.alloc(node)
    }

    fn item(&mut self, i: &GItem) -> ItemId {
        let node = match i {
            GItem::Import(path, names) => Item::Import {
                path: path.iter().map(|n| self.name(n)).collect(),
                names: names.as_ref().map(|ns| ns.iter().map(|n| self.name(n)).collect()),
            },
            GItem::Const(n, t, e) => Item::Const {
                name: self.name(n),
                ty: t.as_ref().map(|t| self.ty(t)),
                value: self.expr(e),
            },
            GItem::TypeAlias(n, t) => Item::TypeAlias { name: self.name(n), ty: self.ty(t) },
            GItem::Lookup(n, ps, ret, body) => Item::Lookup {
                name: self.name(n),
                params: self.params(ps),
                ret: self.ty(ret),
                body: self.expr(body),
            },
            GItem::Model(n, ps, outs, body) => Item::Model {
                name: self.name(n),
                inputs: self.params(ps),
                outputs: outs.iter().map(|t| self.ty(t)).collect(),
                body: body.iter().map(|s| self.stmt(s)).collect(),
            },
            GItem::Fn(n, generics, ps, outs, body) => Item::Fn {
                name: self.name(n),
                generics: generics.iter().map(|g| self.name(g)).collect(),
                params: self.params(ps),
                outputs: outs.iter().map(|t| self.ty(t)).collect(),
                body: body.iter().map(|s| self.stmt(s)).collect(),
            },
        };
        let span = self.span();
        self.ast.spans.items.alloc(span);
        self.ast.item_nodes.alloc(node)
    }
}

fn build(items: &[GItem]) -> Ast {
    let mut b = Build { ast: Ast::default() };
    let ids = items.iter().map(|i| b.item(i)).collect();
    b.ast.items = ids;
    b.ast
}

/// Parses `source` as a whole (with checks) and renders the diagnostics; asserts every label
/// lies inside the source on character boundaries, so rendering can show it.
fn parse_and_render(source: &str) -> crate::Parsed {
    let mut sources = Sources::new();
    let file = sources.add("fuzz.atl", source);
    let parsed = parse(file, source);
    for d in &parsed.diagnostics {
        for label in &d.labels {
            let s = label.span;
            assert!(s.start <= s.end && s.end <= source.len(), "{d:?} outside the source");
            assert!(source.is_char_boundary(s.start) && source.is_char_boundary(s.end), "{d:?}");
        }
    }
    let rendered = render(&parsed.diagnostics, &sources, false);
    assert_eq!(rendered.is_empty(), parsed.diagnostics.is_empty());
    parsed
}

/// A vocabulary of token spellings, valid and not, for token soup.
const SOUP: &[&str] = &[
    "import",
    "const",
    "type",
    "lookup",
    "model",
    "fn",
    "let",
    "param",
    "return",
    "if",
    "else",
    "load",
    "random",
    "fix",
    "i8",
    "i16",
    "i32",
    "bf16",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ":",
    ".",
    ";",
    "->",
    "=",
    "+",
    "-",
    "*",
    "/",
    "@",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "x",
    "w",
    "Act",
    "relu",
    "exp",
    "max",
    "0",
    "1",
    "64",
    "0.5",
    "2e-3",
    "\"f.safetensors\"",
    "\"w\"",
    "12ab",
    "$",
    "\"open",
    "/*",
    "*/",
    "//",
    "\n",
    "é",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn printed_trees_parse_back_to_the_same_tree(items in proptest::collection::vec(item(), 0..4)) {
        let ast = build(&items);
        let printed = print(&ast);
        let (reparsed, diagnostics) = parse_syntax(FileId(0), &printed);
        prop_assert!(diagnostics.is_empty(), "{printed}\n{diagnostics:#?}");
        prop_assert!(same_tree(&ast, &reparsed), "tree changed:\n{printed}");
        prop_assert_eq!(print(&reparsed), printed);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let source = String::from_utf8_lossy(&bytes);
        parse_and_render(&source);
    }

    #[test]
    fn token_soup_never_panics_and_clean_parses_round_trip(
        words in proptest::collection::vec(proptest::sample::select(SOUP), 0..40)
    ) {
        let source = words.join(" ");
        let parsed = parse_and_render(&source);
        if parsed.diagnostics.is_empty() {
            let printed = print(&parsed.ast);
            let (reparsed, diagnostics) = parse_syntax(FileId(0), &printed);
            prop_assert!(diagnostics.is_empty(), "{source}\n=>\n{printed}");
            prop_assert!(same_tree(&parsed.ast, &reparsed), "{source}\n=>\n{printed}");
        }
    }
}

/// Valid programs to damage: error recovery matters most deep inside otherwise good code.
const EXAMPLES: &[&str] = &[
    include_str!("../../examples/mlp.atl"),
    include_str!("../../examples/cnn.atl"),
    include_str!("../../examples/attention.atl"),
    include_str!("../../examples/swish.atl"),
];

/// One edit to a source text: delete a byte range, or insert a token spelling.
#[derive(Clone, Debug)]
enum Edit {
    Delete { at: usize, len: usize },
    Insert { at: usize, word: &'static str },
}

fn apply(source: &str, edits: &[Edit]) -> String {
    let mut bytes = source.as_bytes().to_vec();
    for edit in edits {
        match *edit {
            Edit::Delete { at, len } => {
                let at = at % (bytes.len() + 1);
                let end = (at + len).min(bytes.len());
                bytes.drain(at..end);
            }
            Edit::Insert { at, word } => {
                let at = at % (bytes.len() + 1);
                bytes.splice(at..at, format!(" {word} ").into_bytes());
            }
        }
    }
    // Byte edits can split the one non-ASCII character in the vocabulary; that is fine input too.
    String::from_utf8_lossy(&bytes).into_owned()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn damaged_examples_never_panic_and_report_errors_in_place(
        example in proptest::sample::select(EXAMPLES),
        edits in proptest::collection::vec(
            prop_oneof![
                (any::<usize>(), 1usize..12).prop_map(|(at, len)| Edit::Delete { at, len }),
                (any::<usize>(), proptest::sample::select(SOUP))
                    .prop_map(|(at, word)| Edit::Insert { at, word }),
            ],
            1..4,
        )
    ) {
        let source = apply(example, &edits);
        let parsed = parse_and_render(&source);
        if parsed.diagnostics.is_empty() {
            let printed = print(&parsed.ast);
            let (reparsed, diagnostics) = parse_syntax(FileId(0), &printed);
            prop_assert!(diagnostics.is_empty(), "{source}\n=>\n{printed}");
            prop_assert!(same_tree(&parsed.ast, &reparsed), "{source}\n=>\n{printed}");
        }
    }
}

/// Token soup rarely parses cleanly; this fixed program exercises the same round trip on every
/// construct at once, including the checks.
#[test]
fn a_program_using_every_construct_round_trips() {
    let source = "import std.nn.{relu, softmax}\nimport std.math.exp2\n\
                  const N = 4\nconst E: Act = 1e-3\ntype Act = fix<16, 8>\n\
                  lookup f(x: Act, y: Act) -> Act = if x < y { -x } else if x == 0 { max(x, y) } else { pow(x, 2.5) }\n\
                  fn g(a: Act[N], b: Act[N]) -> (Act[N], Act[2]) { let c: Act[N] = relu(a + b * 2) return c, c[1:3] }\n\
                  model m(x: Act[1, N]) -> Act[1, 2] { param w: Act[N, 2] = load(\"m.st\", \"w\\\"q\") \
                  param b: Act[2] = [0.5, -1] param r: Act[2, 2] = random(9) \
                  let h = softmax(x @ w + b, axis = -1)[0:1, :] return (h - h) @ r }\n";
    let parsed = parse_and_render(source);
    assert!(parsed.diagnostics.is_empty(), "{:#?}", parsed.diagnostics);
    let printed = print(&parsed.ast);
    let again = parse_and_render(&printed);
    assert!(again.diagnostics.is_empty(), "{printed}");
    assert!(same_tree(&parsed.ast, &again.ast), "{printed}");
    assert_eq!(print(&again.ast), printed);
}
