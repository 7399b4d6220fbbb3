//! Atlas's typed tensor IR: arenas with typed handles, element types, static shapes, validation
//! that returns a receipt, and a text form that round-trips.
//!
//! Pipeline position: between the front ends (`.atl`, ONNX) and the VM lowering, both in
//! `atlas-compiler`:
//!
//! ```text
//! AST / ONNX ──compiler──▶ Program ──validate──▶ ProgramInfo ──compiler──▶ VM program
//! ```
//!
//! This crate depends on nothing else in the workspace; in particular it does not know the VM, so
//! tables are named by their stable numeric id ([`TableRef`]) and the compiler resolves them.
//!
//! - [`Program`] holds one arena of values (inputs, params, constants, nodes) in topological order
//!   and one of tables; [`ValueId`] and [`TableHandle`] index them.
//! - [`infer`] is the one typing function; [`ProgramBuilder`] types nodes with it.
//! - [`validate`] checks every invariant, reports all errors, and returns [`ProgramInfo`], the
//!   receipt lowering requires.
//! - [`eval`] is the reference evaluator: the numeric semantics as plain code, an oracle for
//!   testing the VM lowering.
//! - [`print`] and [`parse`] are the text form (`docs/ir.md` has the grammar); `parse(print(p))`
//!   is `p` for every valid program.
//!
//! ```
//! use atlas_ir::*;
//!
//! let act = ElemType::fix(16, 8);
//! let mut b = ProgramBuilder::new("layer");
//! let relu = b.table(TableRef {
//!     name: "relu_s16".into(),
//!     id: 0x0210_0000,
//!     inputs: vec![act],
//!     output: act,
//! });
//! let x = b.input("x", TensorType::new(act, [1, 64]), Visibility::Public);
//! let w = b.param("w", TensorType::new(act, [64, 32]), ParamData::External { key: "w".into() });
//! let acc = b.matmul(x, w)?; // exact: fix<38,16>[1,32]
//! let h = b.rescale(acc, 8, Rounding::Nearest, true, act)?;
//! let y = b.lookup(relu, &[h])?;
//! b.set_name(y, "y");
//! b.output(y);
//! let program = b.finish();
//!
//! let info = validate(&program).expect("built by the builder, named and with an output");
//! assert_eq!(info.ty(acc), &TensorType::new(ElemType::fix(38, 16), [1, 32]));
//! let text = print(&program);
//! assert!(text.contains("%y: fix<16,8>[1,32] = lookup @relu_s16 %3"));
//! assert_eq!(parse(&text), Ok(program.clone()));
//! # Ok::<(), BuildError>(())
//! ```
//!
//! Status: IR, typing, validation, builder and text form are built (issue "Typed IR"). AST→IR and
//! IR→VM lowering live in `atlas-compiler`.

mod builder;
mod eval;
mod infer;
mod program;
mod text;
mod types;
mod validate;

#[cfg(test)]
mod tests;

pub use builder::{BuildError, ProgramBuilder};
pub use eval::{
    affine_sum, eval, is_structural, structural, Env, EvalError, GatherIndexError, Scalar,
};
pub use infer::{affine_bias_type, bits_for, infer, Count, InferError};
pub use program::{
    is_identifier, Node, Op, ParamData, Program, ReduceKind, Rounding, TableHandle, TableRef,
    Value, ValueDef, ValueId, Visibility,
};
pub use text::{parse, print, ParseError};
pub use types::{num_elements, ElemType, TensorType, TypeError, MAX_BITS};
pub use validate::{validate, LastUse, ProgramInfo, ValidationError, ValidationErrors, ValueRef};
