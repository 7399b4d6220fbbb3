//! Atlas's compiler: name resolution and type checking of `.atl` ASTs, ONNX import, lowering to the
//! typed IR, IR passes, and lowering of validated IR to a VM program. Also home of `atlasc`.
//!
//! Pipeline position: the middle. It is the only crate that sees both `atlas-ir` and `atlas-vm`.
//!
//! Status: [`front`] compiles `.atl` to validated IR (`atlasc check`, `atlasc ir`), [`lower`]
//! lowers validated IR to a VM program, [`run`] executes a model on an input (`atlasc run`, with
//! the f64 [`reference`]), and [`demo`] drives the prover core; ONNX import and
//! whole-program proofs are not built yet.

pub mod bench;
pub mod check;
pub mod demo;
pub mod front;
pub mod import;
pub mod lower;
pub mod onnx;
pub mod prove;
pub mod reference;
pub mod run;
