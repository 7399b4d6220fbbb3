//! The text form.
mod parse;
mod print;
pub use parse::{parse, ParseError};
pub use print::print;
