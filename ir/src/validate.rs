//! `validate`: checks every invariant of a [`Program`] and returns the receipt, [`ProgramInfo`],
//! that later stages require.
//!
//! Validation reports every error it finds, not just the first. A node whose operands are bad is
//! checked no further, and later nodes are checked against each value's *declared* type, so one
//! mistake yields one error rather than a cascade.

use std::collections::HashMap;
use std::fmt;

use crate::infer::{infer, InferError};
use crate::program::{is_identifier, Op, ParamData, Program, TableHandle, ValueDef, ValueId};
use crate::types::{ElemType, TensorType, TypeError};

/// Names a value in an error: its handle and, when it has one, its name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValueRef {
    pub id: ValueId,
    pub name: Option<String>,
}

impl ValueRef {
    fn of(p: &Program, id: ValueId) -> Self {
        ValueRef { id, name: p.value(id).and_then(|v| v.name.clone()) }
    }
}

impl fmt::Display for ValueRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(n) => write!(f, "%{n} (value {})", self.id.0),
            None => write!(f, "{}", self.id),
        }
    }
}

/// One broken invariant. Each names where (value, table or output position) and says expected vs
/// found.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    #[error("program name {name:?} is not an identifier")]
    BadProgramName { name: String },
    #[error("value {value}: name {name:?} is not an identifier")]
    BadName { value: ValueRef, name: String },
    #[error("value name %{name} is defined twice: by value {} and value {}", first.0, second.0)]
    DuplicateName { name: String, first: ValueId, second: ValueId },
    #[error("table {}: name {name:?} is not an identifier", table.0)]
    BadTableName { table: TableHandle, name: String },
    #[error("table name @{name} is declared twice: tables {} and {}", first.0, second.0)]
    DuplicateTable { name: String, first: TableHandle, second: TableHandle },
    #[error("table @{name}: a table takes 1 or 2 operands, its signature has {found}")]
    TableArity { table: TableHandle, name: String, found: usize },
    #[error("table @{name}: element type {elem} is refused: {error}")]
    TableType { table: TableHandle, name: String, elem: ElemType, error: TypeError },
    #[error("value {value}: type {ty} is refused: {error}")]
    BadType { value: ValueRef, ty: TensorType, error: TypeError },
    #[error("value {value}: data has {found} elements, its type {ty} has {expected}")]
    DataLength { value: ValueRef, ty: TensorType, expected: usize, found: usize },
    #[error("value {value}: element {index} is {datum}, outside {elem}'s range [{min}, {max}]")]
    DataOutOfRange { value: ValueRef, index: usize, datum: i64, elem: ElemType, min: i64, max: i64 },
    #[error("value {value}: the external weight key is empty")]
    EmptyWeightKey { value: ValueRef },
    #[error(
        "node {node}: operand {position} is value {}, but the program has {len} values",
        operand.0
    )]
    HandleOutOfRange { node: ValueRef, position: usize, operand: ValueId, len: usize },
    #[error(
        "node {node}: operand {position} is value {}, which is defined at or after the node \
         (operands must precede their users)",
        operand.0
    )]
    ForwardReference { node: ValueRef, position: usize, operand: ValueId },
    #[error("node {node}: {error}")]
    Op { node: ValueRef, error: InferError },
    #[error("node {node} ({op}): declared type {found}, but the op's result type is {expected}")]
    ResultType { node: ValueRef, op: &'static str, expected: TensorType, found: TensorType },
    #[error(
        "node {node} (gather): constant index {index} at position {position} is outside \
         [0, {dim}) of axis {axis}"
    )]
    IndexOutOfRange { node: ValueRef, position: usize, index: i64, axis: usize, dim: usize },
    #[error("the program has no outputs")]
    NoOutputs,
    #[error("output {position} is value {}, but the program has {len} values", value.0)]
    OutputOutOfRange { position: usize, value: ValueId, len: usize },
    #[error("output {position} repeats value {}", value.0)]
    DuplicateOutput { position: usize, value: ValueId },
}

/// All the errors `validate` found, in program order (at least one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidationErrors(pub Vec<ValidationError>);

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "error: {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

/// When a value is last read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LastUse {
    /// Never read (a dead value; lowering may drop it).
    Unused,
    /// Last read by this node.
    Node(ValueId),
    /// A program output: live to the end.
    Output,
}

/// The receipt of a successful [`validate`]: only `validate` constructs it, and it borrows the
/// program it vouches for, so the program cannot change while the receipt exists. Lowering takes
/// a `&ProgramInfo` and reads the program through it.
#[derive(Debug)]
pub struct ProgramInfo<'p> {
    program: &'p Program,
    use_counts: Vec<u32>,
    last_use: Vec<LastUse>,
}

impl<'p> ProgramInfo<'p> {
    /// The validated program.
    pub fn program(&self) -> &'p Program {
        self.program
    }

    /// The type of `id`. Panics only for a handle from another program, which is a caller bug.
    pub fn ty(&self, id: ValueId) -> &'p TensorType {
        &self.program.values[id.index()].ty
    }

    /// How many times `id` is read: once per operand slot, plus once per output position.
    pub fn use_count(&self, id: ValueId) -> u32 {
        self.use_counts.get(id.index()).copied().unwrap_or(0)
    }

    /// When `id` is last read (for register reuse in the VM lowering).
    pub fn last_use(&self, id: ValueId) -> LastUse {
        self.last_use.get(id.index()).copied().unwrap_or(LastUse::Unused)
    }
}

/// Checks every invariant of `program` (see [`Program`]) and reports all violations.
pub fn validate(program: &Program) -> Result<ProgramInfo<'_>, ValidationErrors> {
    let mut errors = Vec::new();
    let p = program;
    let len = p.values.len();

    if !is_identifier(&p.name) {
        errors.push(ValidationError::BadProgramName { name: p.name.clone() });
    }

    // Tables: names and signatures. A table with a bad signature still types its lookups (its
    // declared output is used), so a bad table is reported once, at the table.
    let mut table_names: HashMap<&str, TableHandle> = HashMap::new();
    for (i, t) in p.tables.iter().enumerate() {
        let handle = TableHandle(i as u32);
        if !is_identifier(&t.name) {
            errors.push(ValidationError::BadTableName { table: handle, name: t.name.clone() });
        } else if let Some(&first) = table_names.get(t.name.as_str()) {
            errors.push(ValidationError::DuplicateTable {
                name: t.name.clone(),
                first,
                second: handle,
            });
        } else {
            table_names.insert(&t.name, handle);
        }
        if !(1..=2).contains(&t.inputs.len()) {
            errors.push(ValidationError::TableArity {
                table: handle,
                name: t.name.clone(),
                found: t.inputs.len(),
            });
        }
        for &elem in t.inputs.iter().chain(std::iter::once(&t.output)) {
            if let Err(error) = elem.check() {
                errors.push(ValidationError::TableType {
                    table: handle,
                    name: t.name.clone(),
                    elem,
                    error,
                });
            }
        }
    }

    let mut names: HashMap<&str, ValueId> = HashMap::new();
    // Whether each value's declared type is usable by its readers.
    let mut type_ok = vec![false; len];
    let mut use_counts = vec![0u32; len];
    let mut last_use = vec![LastUse::Unused; len];

    for (i, v) in p.values.iter().enumerate() {
        let id = ValueId(i as u32);
        let here = || ValueRef::of(p, id);
        if let Some(name) = &v.name {
            if !is_identifier(name) {
                errors.push(ValidationError::BadName { value: here(), name: name.clone() });
            } else if let Some(&first) = names.get(name.as_str()) {
                errors.push(ValidationError::DuplicateName {
                    name: name.clone(),
                    first,
                    second: id,
                });
            } else {
                names.insert(name, id);
            }
        }
        match v.ty.check() {
            Ok(()) => type_ok[i] = true,
            Err(error) => {
                errors.push(ValidationError::BadType { value: here(), ty: v.ty.clone(), error })
            }
        }
        match &v.def {
            ValueDef::Input { .. } => {}
            ValueDef::Param { data: ParamData::External { key } } => {
                if key.is_empty() {
                    errors.push(ValidationError::EmptyWeightKey { value: here() });
                }
            }
            ValueDef::Param { data: ParamData::Inline(data) } | ValueDef::Const { data } => {
                if type_ok[i] {
                    check_data(p, id, data, &mut errors);
                }
            }
            ValueDef::Node(node) => {
                let mut operands_ok = true;
                for (position, &operand) in node.operands.iter().enumerate() {
                    if operand.index() >= len {
                        errors.push(ValidationError::HandleOutOfRange {
                            node: here(),
                            position,
                            operand,
                            len,
                        });
                        operands_ok = false;
                    } else if operand.index() >= i {
                        errors.push(ValidationError::ForwardReference {
                            node: here(),
                            position,
                            operand,
                        });
                        operands_ok = false;
                    } else {
                        use_counts[operand.index()] += 1;
                        last_use[operand.index()] = LastUse::Node(id);
                        // Already reported at the operand's definition.
                        operands_ok &= type_ok[operand.index()];
                    }
                }
                // A refused declared type is reported above; checking the op against it would
                // only repeat that.
                if !operands_ok || !type_ok[i] {
                    continue;
                }
                let types: Vec<&TensorType> =
                    node.operands.iter().map(|o| &p.values[o.index()].ty).collect();
                match infer(&node.op, &types, &p.tables) {
                    Ok(t) if t == v.ty => {
                        if let Op::Gather { axis } = node.op {
                            check_gather_indices(p, id, axis, &node.operands, &mut errors);
                        }
                    }
                    Ok(t) => errors.push(ValidationError::ResultType {
                        node: here(),
                        op: node.op.name(),
                        expected: t,
                        found: v.ty.clone(),
                    }),
                    Err(error) => errors.push(ValidationError::Op { node: here(), error }),
                }
            }
        }
    }

    if p.outputs.is_empty() {
        errors.push(ValidationError::NoOutputs);
    }
    for (position, &value) in p.outputs.iter().enumerate() {
        if value.index() >= len {
            errors.push(ValidationError::OutputOutOfRange { position, value, len });
        } else if p.outputs[..position].contains(&value) {
            errors.push(ValidationError::DuplicateOutput { position, value });
        } else {
            use_counts[value.index()] += 1;
            last_use[value.index()] = LastUse::Output;
        }
    }

    if errors.is_empty() {
        Ok(ProgramInfo { program, use_counts, last_use })
    } else {
        Err(ValidationErrors(errors))
    }
}

/// Inline data: one integer per element, each in the element type's range.
fn check_data(p: &Program, id: ValueId, data: &[i64], errors: &mut Vec<ValidationError>) {
    let ty = &p.values[id.index()].ty;
    let expected = ty.num_elements().unwrap_or(usize::MAX);
    if data.len() != expected {
        errors.push(ValidationError::DataLength {
            value: ValueRef::of(p, id),
            ty: ty.clone(),
            expected,
            found: data.len(),
        });
    }
    let Some((min, max)) = ty.elem.range() else { return };
    // One error per tensor: the first offending element says enough.
    if let Some((index, &datum)) = data.iter().enumerate().find(|(_, &d)| d < min || d > max) {
        errors.push(ValidationError::DataOutOfRange {
            value: ValueRef::of(p, id),
            index,
            datum,
            elem: ty.elem,
            min,
            max,
        });
    }
}

/// Gather indices known at compile time (a constant or inline param) must be in range; others
/// are range-checked when the VM runs. Negative indices are not accepted (no wrap-around).
fn check_gather_indices(
    p: &Program,
    id: ValueId,
    axis: usize,
    operands: &[ValueId],
    errors: &mut Vec<ValidationError>,
) {
    let (Some(data), Some(indices)) = (operands.first(), operands.get(1)) else { return };
    let dim = p.values[data.index()].ty.shape.get(axis).copied().unwrap_or(0);
    let known = match &p.values[indices.index()].def {
        ValueDef::Const { data } | ValueDef::Param { data: ParamData::Inline(data) } => data,
        _ => return,
    };
    let bad =
        known.iter().enumerate().find(|(_, &i)| usize::try_from(i).map_or(true, |i| i >= dim));
    if let Some((position, &index)) = bad {
        errors.push(ValidationError::IndexOutOfRange {
            node: ValueRef::of(p, id),
            position,
            index,
            axis,
            dim,
        });
    }
}
