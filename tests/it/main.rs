//! Atlas's one integration-test binary: each module covers one concern across crates.

mod demo;
mod deps;
mod front;
mod lang;
mod lookup;
mod onnx;
mod prove;
mod run;
mod vm;
