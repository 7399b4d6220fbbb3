//! Atlas's typed tensor IR: arenas with typed handles, element types, static shapes, validation
//! that returns a receipt, and a text form that round-trips.
//!
//! Pipeline position: between the front ends (`.atl`, ONNX) and the VM lowering, both in
//! `atlas-compiler`. This crate depends on nothing else in the workspace; in particular it does not
//! know the VM.
//!
//! Status: not built yet (issue "Typed IR"); the crate is an empty placeholder.
