//! The program: arenas of tables and values, addressed by typed handles.
//!
//! One arena entry defines exactly one value (SSA), so a node *is* its result value and a
//! [`ValueId`] names both. Handles are plain indices: no `Rc`, no references, so a program is
//! plain data that compares, clones and hashes structurally (what the text round-trip relies on).

use std::fmt;

use crate::types::{ElemType, TensorType};

/// A handle into [`Program::values`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ValueId(pub u32);

impl ValueId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for ValueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "%{}", self.0)
    }
}

/// A handle into [`Program::tables`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TableHandle(pub u32);

impl TableHandle {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A lookup table, named by the VM's stable numeric id without depending on the VM.
///
/// The compiler resolves `id` (the VM's `TableId`: kind byte, then three parameter bytes) and
/// declares the element types the table is used at; `validate` checks every lookup against this
/// signature, and the IR→VM lowering checks the signature against the table's `Domain`.
///
/// Invariants: `name` is an identifier, unique among the program's tables; `inputs` has one
/// (unary table) or two (pair table) supported element types.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TableRef {
    pub name: String,
    pub id: u32,
    pub inputs: Vec<ElemType>,
    pub output: ElemType,
}

/// Whether a program input is public (part of the statement) or private (a witness).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Visibility {
    Public,
    Private,
}

/// A parameter's (weight's) data.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ParamData {
    /// The quantized integers, row-major. Invariant: one per element, each in the element type's
    /// range.
    Inline(Vec<i64>),
    /// A reference the compiler resolves (e.g. a tensor in a safetensors file). Invariant: the key
    /// is not empty.
    External { key: String },
}

/// How a value is defined.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ValueDef {
    /// A program input, supplied at run time.
    Input { visibility: Visibility },
    /// A weight: committed once per model, so kept apart from constants.
    Param { data: ParamData },
    /// Inline constant data, part of the program itself. Invariant: one integer per element, each
    /// in the element type's range.
    Const { data: Vec<i64> },
    /// The result of an op.
    Node(Node),
}

/// An op applied to earlier values.
///
/// Invariant: every operand precedes this node in [`Program::values`] (operands before users), so
/// the arena order is a topological order.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Node {
    pub op: Op,
    pub operands: Vec<ValueId>,
}

/// How a [`Reduce`](Op::Reduce) combines elements.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReduceKind {
    Sum,
    Max,
}

/// How a [`Rescale`](Op::Rescale) rounds the quotient.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rounding {
    /// `⌊x / 2^shift⌋`.
    Floor,
    /// `⌊(x + 2^(shift-1)) / 2^shift⌋`: to nearest, ties toward +∞ (the VM's `shr_*_round`).
    Nearest,
}

/// The closed set of tensor ops. Typing rules: [`crate::infer`] and `docs/ir.md`.
///
/// Attributes that equal the result type (`Broadcast::shape`, `Reshape::shape`, `Rescale::to`,
/// `Cast::to`) are carried by the op so that [`crate::infer`] is a function of the op and its
/// operand types alone; the text form prints them once, in the result type.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// `lhs[..., m, k] × rhs[..., k, n] → [..., m, n]`, exact. `rhs` has the same batch dims as
    /// `lhs`, or is 2-D (shared across the batch).
    MatMul,
    /// Elementwise, exact; operands of one shape (broadcast explicitly first).
    Add,
    /// Elementwise, exact; operands of one shape.
    Sub,
    /// Elementwise product, exact; operands of one shape.
    Mul,
    /// Elementwise negation, exact.
    Neg,
    /// Sum (exact) or max over `axes` (strictly increasing); `keep_dims` leaves them as size 1.
    Reduce { kind: ReduceKind, axes: Vec<usize>, keep_dims: bool },
    /// NumPy broadcast to `shape` (dims aligned at the right; each operand dim is 1 or equal).
    Broadcast { shape: Vec<usize> },
    /// Same elements, row-major, new shape.
    Reshape { shape: Vec<usize> },
    /// Result axis `i` is operand axis `perm[i]`.
    Transpose { perm: Vec<usize> },
    /// Elements `start, start+step, … < end` along `axis`.
    Slice { axis: usize, start: usize, end: usize, step: usize },
    /// Operands joined along `axis`.
    Concat { axis: usize },
    /// `data[..., indices[...], ...]` along `axis` (ONNX `Gather`); operands `data, indices`.
    Gather { axis: usize },
    /// Patches of an `[n, c, h, w]` input as rows: `[n, oh·ow, c·kh·kw]`, zero padded; a
    /// convolution is this followed by a matmul with the reshaped kernel.
    Im2Col { kernel: [usize; 2], stride: [usize; 2], pad: [usize; 2] },
    /// Divide by `2^shift` (rounding as said), then saturate to `to` or (without `saturate`)
    /// assert that the value fits, which the VM checks.
    Rescale { shift: u8, rounding: Rounding, saturate: bool, to: ElemType },
    /// Value-preserving widening to `to`, possibly adding fractional bits (a left shift).
    Cast { to: ElemType },
    /// A fused layer, `rescale(lhs @ rhs + bias)`: the exact matmul, the rank-1 `bias` (one entry
    /// per result column) cast up to the product's fractional bits and added to every row, then
    /// a rescale as in [`Rescale`](Op::Rescale). Operands `lhs, rhs, bias`. The `fuse` pass
    /// builds it; the VM runs it as one matmul-with-bias and one shift.
    Affine { shift: u8, rounding: Rounding, saturate: bool, to: ElemType },
    /// Elementwise through a table: one operand (unary table) or two of one shape (pair table).
    Lookup { table: TableHandle },
}

impl Op {
    /// The op's name in the text form and in errors.
    pub fn name(&self) -> &'static str {
        match self {
            Op::MatMul => "matmul",
            Op::Add => "add",
            Op::Sub => "sub",
            Op::Mul => "mul",
            Op::Neg => "neg",
            Op::Reduce { kind: ReduceKind::Sum, .. } => "reduce_sum",
            Op::Reduce { kind: ReduceKind::Max, .. } => "reduce_max",
            Op::Broadcast { .. } => "broadcast",
            Op::Reshape { .. } => "reshape",
            Op::Transpose { .. } => "transpose",
            Op::Slice { .. } => "slice",
            Op::Concat { .. } => "concat",
            Op::Gather { .. } => "gather",
            Op::Im2Col { .. } => "im2col",
            Op::Rescale { .. } => "rescale",
            Op::Cast { .. } => "cast",
            Op::Affine { .. } => "affine",
            Op::Lookup { .. } => "lookup",
        }
    }
}

/// One arena entry: a value, its type, and its definition.
///
/// Invariant: `name`, when present, is an identifier (`[A-Za-z_][A-Za-z0-9_.]*`), unique in the
/// program. Unnamed values are printed by index (`%7`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Value {
    pub name: Option<String>,
    /// The declared type. For nodes it must equal what [`crate::infer`] computes.
    pub ty: TensorType,
    pub def: ValueDef,
}

/// A program: a DAG of tensor ops over inputs, params and constants.
///
/// Invariants (all checked by [`crate::validate`]):
/// - every handle is in range, and every operand precedes its user;
/// - every value's type is supported and every node's type is what its op infers;
/// - inline data matches its type (count and range);
/// - names are identifiers and unique; there is at least one output.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Program {
    /// An identifier.
    pub name: String,
    pub tables: Vec<TableRef>,
    /// Inputs, params, constants and nodes, in one topologically ordered arena.
    pub values: Vec<Value>,
    /// The program's results, in order.
    pub outputs: Vec<ValueId>,
}

impl Program {
    pub fn new(name: impl Into<String>) -> Self {
        Program { name: name.into(), tables: Vec::new(), values: Vec::new(), outputs: Vec::new() }
    }

    pub fn value(&self, id: ValueId) -> Option<&Value> {
        self.values.get(id.index())
    }

    pub fn table(&self, handle: TableHandle) -> Option<&TableRef> {
        self.tables.get(handle.index())
    }

    /// The handles of all values, in arena (topological) order.
    pub fn ids(&self) -> impl Iterator<Item = ValueId> + '_ {
        (0..self.values.len()).map(|i| ValueId(i as u32))
    }

    /// The program's inputs, in order.
    pub fn inputs(&self) -> impl Iterator<Item = (ValueId, &Value)> + '_ {
        self.ids().zip(&self.values).filter(|(_, v)| matches!(v.def, ValueDef::Input { .. }))
    }

    /// The program's params, in order.
    pub fn params(&self) -> impl Iterator<Item = (ValueId, &Value)> + '_ {
        self.ids().zip(&self.values).filter(|(_, v)| matches!(v.def, ValueDef::Param { .. }))
    }
}

/// The text form ([`crate::print`]).
impl fmt::Display for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::print(self))
    }
}

/// Whether `s` is a valid value, table or program name.
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}
