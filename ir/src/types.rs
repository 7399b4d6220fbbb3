//! Element types and tensor types.
//!
//! Every IR value is a tensor of a static shape whose elements are integers: plain two's-complement
//! integers (`i{b}`) or fixed-point numbers (`fix<B, F>`, the integer `x` standing for `x / 2^F`).
//! The float formats are in the enum so that the text form and the front ends can name them, but
//! nothing accepts them yet.

use std::fmt;

/// The widest integer the IR holds. Every op's result width is computed exactly from its operands
/// (see [`crate::infer`]), and an op whose exact result would need more bits is refused, so every
/// value of a valid program fits in an `i64` and every product of two values fits in an `i128`.
pub const MAX_BITS: u8 = 64;

/// The element type of a tensor.
///
/// Invariants (checked by [`ElemType::check`], hence by `validate`): `1 ≤ bits ≤ 64`, and for
/// fixed point `frac ≤ bits`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ElemType {
    /// A `bits`-bit two's-complement integer, `[-2^(bits-1), 2^(bits-1))`. Printed `i{bits}`.
    Int { bits: u8 },
    /// A `bits`-bit two's-complement integer `x` standing for the real `x / 2^frac`.
    /// Printed `fix<bits,frac>`.
    Fix { bits: u8, frac: u8 },
    /// bfloat16. Not supported yet: `validate` refuses it.
    Bf16,
    /// 8-bit float, 4 exponent and 3 mantissa bits. Not supported yet: `validate` refuses it.
    F8E4M3,
}

impl ElemType {
    pub const I8: ElemType = ElemType::Int { bits: 8 };
    pub const I16: ElemType = ElemType::Int { bits: 16 };
    pub const I32: ElemType = ElemType::Int { bits: 32 };
    pub const I64: ElemType = ElemType::Int { bits: 64 };

    /// `fix<bits, frac>`.
    pub const fn fix(bits: u8, frac: u8) -> ElemType {
        ElemType::Fix { bits, frac }
    }

    pub fn is_float(self) -> bool {
        matches!(self, ElemType::Bf16 | ElemType::F8E4M3)
    }

    /// Storage width of an integer or fixed-point type; `None` for floats.
    pub fn bits(self) -> Option<u8> {
        match self {
            ElemType::Int { bits } | ElemType::Fix { bits, .. } => Some(bits),
            ElemType::Bf16 | ElemType::F8E4M3 => None,
        }
    }

    /// Fractional bits: 0 for integers; `None` for floats.
    pub fn frac(self) -> Option<u8> {
        match self {
            ElemType::Int { .. } => Some(0),
            ElemType::Fix { frac, .. } => Some(frac),
            ElemType::Bf16 | ElemType::F8E4M3 => None,
        }
    }

    /// Whether the type is well formed and supported: floats are refused ("not supported yet"),
    /// and widths must satisfy the invariants above.
    pub fn check(self) -> Result<(), TypeError> {
        match self {
            ElemType::Bf16 | ElemType::F8E4M3 => Err(TypeError::UnsupportedFloat { elem: self }),
            ElemType::Int { bits } | ElemType::Fix { bits, .. } if bits == 0 || bits > MAX_BITS => {
                Err(TypeError::BadWidth { elem: self })
            }
            ElemType::Fix { bits, frac } if frac > bits => Err(TypeError::BadWidth { elem: self }),
            _ => Ok(()),
        }
    }

    /// The integers this type stores, `[-2^(bits-1), 2^(bits-1) - 1]`; `None` for floats and
    /// malformed widths.
    pub fn range(self) -> Option<(i64, i64)> {
        self.check().ok()?;
        let bits = self.bits()?;
        let half = 1i128 << (bits - 1);
        Some((i64::try_from(-half).ok()?, i64::try_from(half - 1).ok()?))
    }
}

impl fmt::Display for ElemType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ElemType::Int { bits } => write!(f, "i{bits}"),
            ElemType::Fix { bits, frac } => write!(f, "fix<{bits},{frac}>"),
            ElemType::Bf16 => f.write_str("bf16"),
            ElemType::F8E4M3 => f.write_str("f8e4m3"),
        }
    }
}

/// Why an element or tensor type is not acceptable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TypeError {
    #[error("element type {elem} is not supported yet (float formats are reserved for later)")]
    UnsupportedFloat { elem: ElemType },
    #[error(
        "element type {elem} is malformed: widths must be 1 to 64 bits, with at most that many \
         fractional bits"
    )]
    BadWidth { elem: ElemType },
    #[error("shape {shape:?} has more elements than a usize can count")]
    TooManyElements { shape: Vec<usize> },
}

/// A tensor type: an element type and a static shape (row-major; rank 0 is a scalar).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TensorType {
    pub elem: ElemType,
    pub shape: Vec<usize>,
}

impl TensorType {
    pub fn new(elem: ElemType, shape: impl Into<Vec<usize>>) -> Self {
        TensorType { elem, shape: shape.into() }
    }

    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    /// The number of elements, or `None` when it overflows `usize`.
    pub fn num_elements(&self) -> Option<usize> {
        num_elements(&self.shape)
    }

    /// The element type is supported and the element count is representable.
    pub fn check(&self) -> Result<(), TypeError> {
        self.elem.check()?;
        match self.num_elements() {
            Some(_) => Ok(()),
            None => Err(TypeError::TooManyElements { shape: self.shape.clone() }),
        }
    }
}

/// The product of the dimensions, or `None` on overflow.
pub fn num_elements(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d))
}

impl fmt::Display for TensorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.elem, Dims(&self.shape))
    }
}

/// Displays a list of numbers as `[a,b,c]` (the text form's dims syntax).
pub(crate) struct Dims<'a, T>(pub &'a [T]);

impl<T: fmt::Display> fmt::Display for Dims<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{d}")?;
        }
        f.write_str("]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_checks() {
        assert_eq!(ElemType::I8.range(), Some((-128, 127)));
        assert_eq!(ElemType::fix(16, 8).range(), Some((-32768, 32767)));
        assert_eq!(ElemType::I64.range(), Some((i64::MIN, i64::MAX)));
        assert_eq!(ElemType::Int { bits: 1 }.range(), Some((-1, 0)));
        assert_eq!(
            ElemType::Int { bits: 0 }.check(),
            Err(TypeError::BadWidth { elem: ElemType::Int { bits: 0 } })
        );
        assert_eq!(ElemType::Int { bits: 65 }.range(), None);
        assert_eq!(
            ElemType::fix(8, 9).check(),
            Err(TypeError::BadWidth { elem: ElemType::fix(8, 9) })
        );
        assert_eq!(
            ElemType::Bf16.check(),
            Err(TypeError::UnsupportedFloat { elem: ElemType::Bf16 })
        );
    }

    #[test]
    fn display() {
        assert_eq!(TensorType::new(ElemType::fix(16, 8), [1, 64]).to_string(), "fix<16,8>[1,64]");
        assert_eq!(TensorType::new(ElemType::I32, []).to_string(), "i32[]");
        assert_eq!(ElemType::F8E4M3.to_string(), "f8e4m3");
    }
}
