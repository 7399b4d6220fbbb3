//! [`ProgramBuilder`]: builds a program value by value, typing each node with [`infer`], so a
//! program built without errors has well-typed nodes by construction (`validate` still checks
//! names, data and outputs, and is still what lowering requires).

use crate::infer::{infer, InferError};
use crate::program::{
    Node, Op, ParamData, Program, ReduceKind, Rounding, TableHandle, TableRef, Value, ValueDef,
    ValueId, Visibility,
};
use crate::types::{ElemType, TensorType};

/// Why the builder refused a node.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    #[error("value {} does not exist in this builder ({len} values)", value.0)]
    UnknownValue { value: ValueId, len: usize },
    #[error(transparent)]
    Infer(#[from] InferError),
}

/// Builds a [`Program`]; see the module docs.
#[derive(Clone, Debug)]
pub struct ProgramBuilder {
    program: Program,
}

impl ProgramBuilder {
    pub fn new(name: impl Into<String>) -> Self {
        ProgramBuilder { program: Program::new(name) }
    }

    /// Declares a table and returns its handle.
    pub fn table(&mut self, table: TableRef) -> TableHandle {
        self.program.tables.push(table);
        TableHandle((self.program.tables.len() - 1) as u32)
    }

    /// The type of an existing value.
    pub fn ty(&self, v: ValueId) -> Option<&TensorType> {
        self.program.value(v).map(|v| &v.ty)
    }

    /// The program so far.
    pub fn program(&self) -> &Program {
        &self.program
    }

    fn push(&mut self, name: Option<String>, ty: TensorType, def: ValueDef) -> ValueId {
        self.program.values.push(Value { name, ty, def });
        ValueId((self.program.values.len() - 1) as u32)
    }

    pub fn input(&mut self, name: &str, ty: TensorType, visibility: Visibility) -> ValueId {
        self.push(Some(name.to_owned()), ty, ValueDef::Input { visibility })
    }

    pub fn param(&mut self, name: &str, ty: TensorType, data: ParamData) -> ValueId {
        self.push(Some(name.to_owned()), ty, ValueDef::Param { data })
    }

    /// A constant; `name` may be `None` (it is then printed by index).
    pub fn constant(&mut self, name: Option<&str>, ty: TensorType, data: Vec<i64>) -> ValueId {
        self.push(name.map(str::to_owned), ty, ValueDef::Const { data })
    }

    /// Names (or renames) a value, e.g. a node worth reading in the text form.
    pub fn set_name(&mut self, v: ValueId, name: &str) {
        if let Some(value) = self.program.values.get_mut(v.index()) {
            value.name = Some(name.to_owned());
        }
    }

    /// Appends a node of `op` over `operands`, typed by [`infer`].
    pub fn node(&mut self, op: Op, operands: &[ValueId]) -> Result<ValueId, BuildError> {
        let len = self.program.values.len();
        let mut types = Vec::with_capacity(operands.len());
        for &o in operands {
            let v = self
                .program
                .values
                .get(o.index())
                .ok_or(BuildError::UnknownValue { value: o, len })?;
            types.push(&v.ty);
        }
        let ty = infer(&op, &types, &self.program.tables)?;
        Ok(self.push(None, ty, ValueDef::Node(Node { op, operands: operands.to_vec() })))
    }

    pub fn matmul(&mut self, lhs: ValueId, rhs: ValueId) -> Result<ValueId, BuildError> {
        self.node(Op::MatMul, &[lhs, rhs])
    }

    pub fn add(&mut self, lhs: ValueId, rhs: ValueId) -> Result<ValueId, BuildError> {
        self.node(Op::Add, &[lhs, rhs])
    }

    pub fn sub(&mut self, lhs: ValueId, rhs: ValueId) -> Result<ValueId, BuildError> {
        self.node(Op::Sub, &[lhs, rhs])
    }

    pub fn mul(&mut self, lhs: ValueId, rhs: ValueId) -> Result<ValueId, BuildError> {
        self.node(Op::Mul, &[lhs, rhs])
    }

    pub fn neg(&mut self, x: ValueId) -> Result<ValueId, BuildError> {
        self.node(Op::Neg, &[x])
    }

    pub fn reduce(
        &mut self,
        x: ValueId,
        kind: ReduceKind,
        axes: &[usize],
        keep_dims: bool,
    ) -> Result<ValueId, BuildError> {
        self.node(Op::Reduce { kind, axes: axes.to_vec(), keep_dims }, &[x])
    }

    pub fn broadcast(&mut self, x: ValueId, shape: &[usize]) -> Result<ValueId, BuildError> {
        self.node(Op::Broadcast { shape: shape.to_vec() }, &[x])
    }

    pub fn reshape(&mut self, x: ValueId, shape: &[usize]) -> Result<ValueId, BuildError> {
        self.node(Op::Reshape { shape: shape.to_vec() }, &[x])
    }

    pub fn transpose(&mut self, x: ValueId, perm: &[usize]) -> Result<ValueId, BuildError> {
        self.node(Op::Transpose { perm: perm.to_vec() }, &[x])
    }

    pub fn slice(
        &mut self,
        x: ValueId,
        axis: usize,
        start: usize,
        end: usize,
        step: usize,
    ) -> Result<ValueId, BuildError> {
        self.node(Op::Slice { axis, start, end, step }, &[x])
    }

    pub fn concat(&mut self, xs: &[ValueId], axis: usize) -> Result<ValueId, BuildError> {
        self.node(Op::Concat { axis }, xs)
    }

    pub fn gather(
        &mut self,
        data: ValueId,
        indices: ValueId,
        axis: usize,
    ) -> Result<ValueId, BuildError> {
        self.node(Op::Gather { axis }, &[data, indices])
    }

    pub fn im2col(
        &mut self,
        x: ValueId,
        kernel: [usize; 2],
        stride: [usize; 2],
        pad: [usize; 2],
    ) -> Result<ValueId, BuildError> {
        self.node(Op::Im2Col { kernel, stride, pad }, &[x])
    }

    pub fn rescale(
        &mut self,
        x: ValueId,
        shift: u8,
        rounding: Rounding,
        saturate: bool,
        to: ElemType,
    ) -> Result<ValueId, BuildError> {
        self.node(Op::Rescale { shift, rounding, saturate, to }, &[x])
    }

    pub fn cast(&mut self, x: ValueId, to: ElemType) -> Result<ValueId, BuildError> {
        self.node(Op::Cast { to }, &[x])
    }

    pub fn lookup(&mut self, table: TableHandle, xs: &[ValueId]) -> Result<ValueId, BuildError> {
        self.node(Op::Lookup { table }, xs)
    }

    /// Marks a value as the next program output.
    pub fn output(&mut self, v: ValueId) {
        self.program.outputs.push(v);
    }

    pub fn finish(self) -> Program {
        self.program
    }
}
