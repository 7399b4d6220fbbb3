//! The syntax tree of one `.atl` file.
//!
//! Nodes live in arenas (`Vec`s indexed by typed ids such as [`ExprId`]) owned by [`Ast`]; a node
//! refers to its children by id, so no lifetimes run through the tree and later passes can keep
//! side tables keyed by the same ids. Spans are such a side table ([`Spans`]): node values carry no
//! positions, which is what lets the printer's round-trip test compare trees "modulo spans" with a
//! plain structural comparison ([`crate::printer::same_tree`]).

use std::fmt;
use std::marker::PhantomData;
use std::ops::{Index, IndexMut};

use crate::span::{FileId, Span};

/// A typed index into an [`Arena`].
pub trait Id: Copy {
    fn from_index(index: usize) -> Self;
    fn index(self) -> usize;
}

macro_rules! ids {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(u32);

        impl Id for $name {
            fn from_index(index: usize) -> Self {
                // An arena with 2^32 nodes would need a source file far beyond any real model.
                $name(u32::try_from(index).unwrap_or(u32::MAX))
            }
            fn index(self) -> usize {
                self.0 as usize
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }
    )*};
}

ids! {
    /// A top-level declaration.
    ItemId,
    /// A statement in a `model` or `fn` body.
    StmtId,
    /// An expression.
    ExprId,
    /// A type expression.
    TypeId,
    /// One occurrence of an identifier (each occurrence has its own span).
    NameId,
}

/// A `Vec` indexed by a typed id.
#[derive(Clone, PartialEq)]
pub struct Arena<I, T> {
    items: Vec<T>,
    _id: PhantomData<fn(I) -> I>,
}

impl<I: Id, T> Arena<I, T> {
    pub fn new() -> Self {
        Arena { items: Vec::new(), _id: PhantomData }
    }

    pub fn alloc(&mut self, value: T) -> I {
        let id = I::from_index(self.items.len());
        self.items.push(value);
        id
    }

    pub fn get(&self, id: I) -> Option<&T> {
        self.items.get(id.index())
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (I, &T)> {
        self.items.iter().enumerate().map(|(i, t)| (I::from_index(i), t))
    }
}

impl<I: Id, T> Default for Arena<I, T> {
    fn default() -> Self {
        Arena::new()
    }
}

impl<I: Id, T> Index<I> for Arena<I, T> {
    type Output = T;
    fn index(&self, id: I) -> &T {
        &self.items[id.index()]
    }
}

impl<I: Id, T> IndexMut<I> for Arena<I, T> {
    fn index_mut(&mut self, id: I) -> &mut T {
        &mut self.items[id.index()]
    }
}

impl<I: Id + fmt::Debug, T: fmt::Debug> fmt::Debug for Arena<I, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// A parsed file: its top-level items in source order, the node arenas, and the span table.
#[derive(Clone, Debug, Default)]
pub struct Ast {
    pub file: FileId,
    pub items: Vec<ItemId>,
    pub item_nodes: Arena<ItemId, Item>,
    pub stmts: Arena<StmtId, Stmt>,
    pub exprs: Arena<ExprId, Expr>,
    pub types: Arena<TypeId, TypeExpr>,
    pub names: Arena<NameId, String>,
    pub spans: Spans,
}

/// The span of every node, keyed by the node's id.
#[derive(Clone, Debug, Default)]
pub struct Spans {
    pub items: Arena<ItemId, Span>,
    pub stmts: Arena<StmtId, Span>,
    pub exprs: Arena<ExprId, Span>,
    pub types: Arena<TypeId, Span>,
    pub names: Arena<NameId, Span>,
}

/// Node kinds whose span [`Ast::span`] can look up.
pub trait Spanned: Id {
    fn span_in(self, spans: &Spans) -> Span;
}

macro_rules! spanned {
    ($($id:ident => $field:ident),*) => {$(
        impl Spanned for $id {
            fn span_in(self, spans: &Spans) -> Span {
                spans.$field[self]
            }
        }
    )*};
}
spanned!(ItemId => items, StmtId => stmts, ExprId => exprs, TypeId => types, NameId => names);

impl Ast {
    /// The source span of any node.
    pub fn span<I: Spanned>(&self, id: I) -> Span {
        id.span_in(&self.spans)
    }

    /// The text of an identifier occurrence.
    pub fn name(&self, id: NameId) -> &str {
        &self.names[id]
    }

    pub fn item(&self, id: ItemId) -> &Item {
        &self.item_nodes[id]
    }
}

/// A parameter of a model, function or lookup: `name: Type`, or `axis: int = -1` (a `fn`'s
/// compile-time integer, with an optional default; [`crate::check`] allows defaults only there).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Param {
    pub name: NameId,
    pub ty: TypeId,
    pub default: Option<ExprId>,
}

/// A top-level declaration.
///
/// Syntax errors are recovered from at two levels, declarations and statements, which is why
/// only [`Item`] and [`Stmt`] have an `Error` variant: a broken expression or type takes its
/// whole statement or declaration with it (recovering inside an expression would let the parser
/// swallow the statements after it while looking for a closing bracket).
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// `import std.nn.{relu, softmax}` (`names` is `Some`) or `import std.nn.relu` (`None`).
    Import { path: Vec<NameId>, names: Option<Vec<NameId>> },
    /// `const N: i32 = 64`; the type is optional.
    Const { name: NameId, ty: Option<TypeId>, value: ExprId },
    /// `type Act = fix<16, 8>`
    TypeAlias { name: NameId, ty: TypeId },
    /// `lookup swish(x: Act) -> Act = x / (1.0 + exp(-x))`
    Lookup { name: NameId, params: Vec<Param>, ret: TypeId, body: ExprId },
    /// `model mlp(x: Act[1, 64]) -> Act[1, 10] { ... }`
    Model { name: NameId, inputs: Vec<Param>, outputs: Vec<TypeId>, body: Vec<StmtId> },
    /// `fn dense(x: Act[1, 64], w: Act[64, 32]) -> Act[1, 32] { ... }`, or a generic one,
    /// `fn softmax<T>(x: T[..], axis: int = -1) -> T[..] { ... }`: `generics` name element types
    /// and dimensions that each call binds from its arguments.
    Fn {
        name: NameId,
        generics: Vec<NameId>,
        params: Vec<Param>,
        outputs: Vec<TypeId>,
        body: Vec<StmtId>,
    },
    /// A declaration the parser could not make sense of; its syntax error has been reported.
    Error,
}

impl Item {
    /// The keyword that introduces this kind of item, for messages.
    pub fn keyword(&self) -> &'static str {
        match self {
            Item::Import { .. } => "import",
            Item::Const { .. } => "const",
            Item::TypeAlias { .. } => "type",
            Item::Lookup { .. } => "lookup",
            Item::Model { .. } => "model",
            Item::Fn { .. } => "fn",
            Item::Error => "<error>",
        }
    }
}

/// A statement in a `model` or `fn` body.
#[derive(Clone, Debug, PartialEq)]
pub enum Stmt {
    /// `let h: Act[1, 32] = x @ w1 + b1`; the type is optional.
    Let { name: NameId, ty: Option<TypeId>, value: ExprId },
    /// `let a, b = f(x)`: one name per output of a multi-output `fn` (two or more names).
    LetMany { names: Vec<NameId>, value: ExprId },
    /// `param w1: Act[64, 32] = load("mlp.safetensors", "w1")`
    Param { name: NameId, ty: TypeId, init: ParamInit },
    /// `return y` or `return y, z` for several outputs.
    Return(Vec<ExprId>),
    /// A statement the parser could not make sense of; its syntax error has been reported.
    Error,
}

/// How a `param` gets its values.
#[derive(Clone, Debug, PartialEq)]
pub enum ParamInit {
    /// `load("file", "tensor")`: a named tensor from a weights file.
    Load { file: String, tensor: String },
    /// `random(seed)`: deterministic pseudo-random values, for examples and tests.
    Random { seed: u64 },
    /// An inline literal: a number or a (nested) array literal of numbers.
    Literal(ExprId),
}

/// An expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Int(u64),
    Float(f64),
    Name(NameId),
    /// `-x`
    Neg(ExprId),
    Binary {
        op: BinOp,
        lhs: ExprId,
        rhs: ExprId,
    },
    /// `f(a, b, axis = 1)`: positional arguments, then named ones.
    Call {
        callee: NameId,
        args: Vec<Arg>,
    },
    /// `x[0, 1:3, :]`
    Index {
        base: ExprId,
        indices: Vec<IndexArg>,
    },
    /// `[1, 2, 3]`
    Array(Vec<ExprId>),
    /// `if c { a } else { b }` (`else if` chains nest in `else_`).
    If {
        cond: ExprId,
        then: ExprId,
        else_: ExprId,
    },
    /// A type written where a value goes, as in `exp_table(d, to = fix<16, 14>)`: one of the
    /// keyword-led element types (`fix<…>`, `i8`, …); a type named by an alias or a generic is
    /// an [`Expr::Name`] the compiler resolves.
    Type(TypeId),
}

/// A call argument; `name` is set for `name = value`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Arg {
    pub name: Option<NameId>,
    pub value: ExprId,
}

/// One position of an index expression.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum IndexArg {
    /// `x[i]`
    At(ExprId),
    /// `x[a:b]`, `x[a:]`, `x[:b]`, `x[:]`
    Slice { start: Option<ExprId>, end: Option<ExprId> },
}

/// Binary operators, loosest-binding first in [`BinOp::precedence`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    MatMul,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl BinOp {
    pub const ALL: [BinOp; 11] = [
        BinOp::Add,
        BinOp::Sub,
        BinOp::Mul,
        BinOp::Div,
        BinOp::MatMul,
        BinOp::Eq,
        BinOp::Ne,
        BinOp::Lt,
        BinOp::Le,
        BinOp::Gt,
        BinOp::Ge,
    ];

    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::MatMul => "@",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
        }
    }

    /// Binding strength: comparisons 1 (non-associative), `+ -` 2, `* / @` 3 (left-associative).
    /// Unary minus binds tighter (4), postfix calls and indexing tighter still.
    pub fn precedence(self) -> u8 {
        match self {
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => 1,
            BinOp::Add | BinOp::Sub => 2,
            BinOp::Mul | BinOp::Div | BinOp::MatMul => 3,
        }
    }

    pub fn is_comparison(self) -> bool {
        self.precedence() == 1
    }
}

/// A type expression.
#[derive(Clone, Debug, PartialEq)]
pub enum TypeExpr {
    /// A built-in element type.
    Elem(ElemType),
    /// A `type` alias (or, later, an imported type).
    Named(NameId),
    /// `Act[1, 64]`: an element type (`elem` is `Elem`, `Named` or `FixOf`) with a static shape.
    Tensor { elem: TypeId, dims: Vec<Dim> },
    /// `fix<16, (15 - bit_length(n))>`: a fixed-point type whose sizes are constant expressions
    /// (a name or a parenthesised expression; an integer literal where the other one is not).
    /// With two literals the parser builds [`ElemType::Fix`] instead.
    FixOf { bits: ExprId, frac: ExprId },
    /// `int`: a `fn`'s compile-time integer parameter.
    Int,
}

/// One dimension of a tensor type.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Dim {
    /// `64`
    Lit(u64),
    /// `N`, a `const`, a generic dimension or a compile-time integer in scope.
    Name(NameId),
    /// `..`: any shape (the only entry of its brackets), kept from the value it is given.
    Rest,
}

/// The element types. `bf16` and `f8e4m3` are reserved: they parse, so that programs can name
/// them, but [`crate::check`] reports them as not supported yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ElemType {
    I8,
    I16,
    I32,
    /// `fix<B, F>`: B-bit two's complement with F fractional bits.
    Fix {
        bits: u64,
        frac: u64,
    },
    Bf16,
    F8E4M3,
}

impl fmt::Display for ElemType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ElemType::I8 => f.write_str("i8"),
            ElemType::I16 => f.write_str("i16"),
            ElemType::I32 => f.write_str("i32"),
            ElemType::Fix { bits, frac } => write!(f, "fix<{bits}, {frac}>"),
            ElemType::Bf16 => f.write_str("bf16"),
            ElemType::F8E4M3 => f.write_str("f8e4m3"),
        }
    }
}
