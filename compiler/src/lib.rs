//! Atlas's compiler: name resolution and type checking of `.atl` ASTs, ONNX import, lowering to the
//! typed IR, IR passes, and lowering of validated IR to a VM program. Also home of `atlasc`.
//!
//! Pipeline position: the middle. It is the only crate that sees both `atlas-ir` and `atlas-vm`.
//!
//! Status: [`check`] runs the front end (parsing and structural checks), [`lower`] lowers
//! validated IR to a VM program, and [`demo`] drives the prover core; AST→IR lowering and ONNX
//! import are not built yet.

pub mod check;
pub mod demo;
pub mod lower;
