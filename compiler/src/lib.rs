//! Atlas's compiler: name resolution and type checking of `.atl` ASTs, ONNX import, lowering to the
//! typed IR, IR passes, and lowering of validated IR to a VM program. Also home of `atlasc`.
//!
//! Pipeline position: the middle. It is the only crate that sees both `atlas-ir` and `atlas-vm`.
//!
//! Status: the `atlasc` command-line surface exists, and [`check`] runs the front end; the
//! compiler proper is built by the issues "Typed IR", "The VM" and "ONNX import".

pub mod check;
pub mod front;
