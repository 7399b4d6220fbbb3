//! The text form: what snapshots show and `atlasc ir` prints. The printer's output is canonical
//! (stable, one statement per line) and the parser reads it back exactly; the grammar is in
//! `docs/ir.md`.

mod parse;
mod print;

pub use parse::{parse, ParseError};
pub use print::print;
