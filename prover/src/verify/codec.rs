//! Byte encoding of proof parts. The decoder is the verifier's first line of defence: it bounds
//! every length by the bytes actually present (so a forged length cannot trigger a huge
//! allocation), rejects non-canonical field elements and trailing bytes, and never panics.

use ark_ff::{BigInteger, PrimeField};

use crate::field::F;

/// Why bytes are not a valid encoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("unsupported format version: expected {expected}, found {found}")]
    Version { expected: u8, found: u8 },
    #[error("unexpected end of input at byte {at}: needed {needed} more bytes, {remaining} left")]
    UnexpectedEnd { at: usize, needed: usize, remaining: usize },
    #[error("field element at byte {at} is not canonical (not below the modulus)")]
    NonCanonicalScalar { at: usize },
    #[error("{count} trailing bytes after the encoded value")]
    TrailingBytes { count: usize },
    #[error("{what} at byte {at}: {got} exceeds the limit {limit}")]
    TooLarge { what: &'static str, at: usize, got: u64, limit: u64 },
    #[error("invalid {what} at byte {at}")]
    Invalid { what: &'static str, at: usize },
}

/// Appends encodings to a byte buffer.
#[derive(Default)]
pub struct Writer {
    pub bytes: Vec<u8>,
}

impl Writer {
    pub fn new() -> Self {
        Writer::default()
    }
    pub fn u8(&mut self, v: u8) {
        self.bytes.push(v);
    }
    pub fn u32(&mut self, v: u32) {
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }
    /// A length or count, as an unsigned LEB128 varint (one byte below 128, at most five);
    /// Atlas never encodes more than `u32::MAX` of anything. A proof holds thousands of lengths,
    /// nearly all small: four fixed bytes each cost gpt_nano's proof 25 KB.
    pub fn len(&mut self, n: usize) {
        let mut v = u32::try_from(n).unwrap_or(u32::MAX);
        while v >= 0x80 {
            self.bytes.push((v as u8 & 0x7f) | 0x80);
            v >>= 7;
        }
        self.bytes.push(v as u8);
    }
    pub fn scalar(&mut self, v: &F) {
        self.bytes.extend_from_slice(&v.into_bigint().to_bytes_le());
    }
    pub fn scalars(&mut self, vs: &[F]) {
        self.len(vs.len());
        vs.iter().for_each(|v| self.scalar(v));
    }
    pub fn raw(&mut self, bytes: &[u8]) {
        self.bytes.extend_from_slice(bytes);
    }
    /// Integers packed at one width: `len · w · len×w bytes`, where `w ∈ {1, 2, 4, 8}` is the
    /// fewest bytes holding every value in two's complement. Tensors are mostly 8- or 16-bit, so
    /// this is 4–8× smaller than plain `i64`s (and so is the hashing of a key).
    pub fn ints(&mut self, vs: &[i64]) {
        let w = int_width(vs);
        self.len(vs.len());
        self.u8(w as u8);
        self.bytes.reserve(vs.len() * w);
        for v in vs {
            self.bytes.extend_from_slice(&v.to_le_bytes()[..w]);
        }
    }
}

/// The fewest bytes in {1, 2, 4, 8} that hold every value of `vs` in two's complement.
fn int_width(vs: &[i64]) -> usize {
    let (lo, hi) = vs.iter().fold((0i64, 0i64), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    [1usize, 2, 4]
        .into_iter()
        .find(|&w| {
            let half = 1i64 << (8 * w - 1);
            lo >= -half && hi < half
        })
        .unwrap_or(8)
}

/// Reads encodings from a byte slice, tracking the position for error messages.
pub struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, pos: 0 }
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.remaining() {
            return Err(DecodeError::UnexpectedEnd {
                at: self.pos,
                needed: n,
                remaining: self.remaining(),
            });
        }
        let out = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn version(&mut self, expected: u8) -> Result<(), DecodeError> {
        let found = self.u8()?;
        if found != expected {
            return Err(DecodeError::Version { expected, found });
        }
        Ok(())
    }

    /// A length written by [`Writer::len`]: canonical (no trailing zero groups), at most five
    /// bytes and within `u32`.
    pub fn varint(&mut self) -> Result<u32, DecodeError> {
        let at = self.pos;
        let mut v: u64 = 0;
        for i in 0..5 {
            let b = self.u8()?;
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                if b == 0 && i > 0 {
                    return Err(DecodeError::Invalid { what: "length (not minimal)", at });
                }
                return u32::try_from(v)
                    .map_err(|_| DecodeError::Invalid { what: "length (beyond u32)", at });
            }
        }
        Err(DecodeError::Invalid { what: "length (over five bytes)", at })
    }

    /// A count of items each at least `min_item_bytes` long: bounded by what is left to read.
    pub fn count(
        &mut self,
        what: &'static str,
        min_item_bytes: usize,
    ) -> Result<usize, DecodeError> {
        let at = self.pos;
        let n = self.varint()? as usize;
        let limit = self.remaining() / min_item_bytes.max(1);
        if n > limit {
            return Err(DecodeError::TooLarge { what, at, got: n as u64, limit: limit as u64 });
        }
        Ok(n)
    }

    pub fn scalar(&mut self) -> Result<F, DecodeError> {
        let at = self.pos;
        let b = self.take(32)?;
        let v = F::from_le_bytes_mod_order(b);
        // Canonical iff re-encoding gives the same bytes (rejects values ≥ p).
        if v.into_bigint().to_bytes_le() != b {
            return Err(DecodeError::NonCanonicalScalar { at });
        }
        Ok(v)
    }

    pub fn scalars(&mut self) -> Result<Vec<F>, DecodeError> {
        let n = self.count("scalar count", 32)?;
        (0..n).map(|_| self.scalar()).collect()
    }

    /// The inverse of [`Writer::ints`]; a width that is not the fewest bytes is refused, so every
    /// vector has exactly one encoding.
    pub fn ints(&mut self, what: &'static str) -> Result<Vec<i64>, DecodeError> {
        let n = self.count(what, 1)?;
        let at = self.pos;
        let w = self.u8()? as usize;
        if ![1, 2, 4, 8].contains(&w) {
            return Err(DecodeError::Invalid { what: "integer width", at });
        }
        let bytes = self.take(n.checked_mul(w).ok_or(DecodeError::Invalid { what, at })?)?;
        let vs: Vec<i64> = bytes
            .chunks_exact(w)
            .map(|c| {
                // Sign-extend from the top byte.
                let fill = if c[w - 1] & 0x80 != 0 { 0xff } else { 0 };
                let mut a = [fill; 8];
                a[..w].copy_from_slice(c);
                i64::from_le_bytes(a)
            })
            .collect();
        if int_width(&vs) != w {
            return Err(DecodeError::Invalid { what: "integer width (not the fewest bytes)", at });
        }
        Ok(vs)
    }

    /// Fails unless every byte was consumed.
    pub fn finish(self) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            count => Err(DecodeError::TrailingBytes { count }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_round_trip_and_reject_non_canonical() {
        let vs = vec![F::from(7u64), -F::from(1u64)];
        let mut w = Writer::new();
        w.scalars(&vs);
        let mut r = Reader::new(&w.bytes);
        assert_eq!(r.scalars().unwrap(), vs);
        r.finish().unwrap();

        let mut bad = vec![1];
        bad.extend([0xff; 32]);
        assert_eq!(Reader::new(&bad).scalars(), Err(DecodeError::NonCanonicalScalar { at: 1 }));
    }

    /// Lengths are minimal LEB128 varints within `u32`: they round-trip at every size, and
    /// padded, overlong or out-of-range encodings are refused.
    #[test]
    fn lengths_are_canonical_varints() {
        for n in [0usize, 1, 127, 128, 300, 16_383, 16_384, 1 << 28, u32::MAX as usize] {
            let mut w = Writer::new();
            w.len(n);
            let expected = (1..=5).find(|b| n < 1usize << (7 * b)).unwrap_or(5);
            assert_eq!(w.bytes.len(), expected, "{n}");
            let mut r = Reader::new(&w.bytes);
            assert_eq!(r.varint().unwrap() as usize, n);
            r.finish().unwrap();
        }
        let invalid =
            |bytes: &[u8]| matches!(Reader::new(bytes).varint(), Err(DecodeError::Invalid { .. }));
        assert!(invalid(&[0x80, 0x00]), "zero padded to two bytes");
        assert!(invalid(&[0x81, 0x80, 0x00]), "1 padded to three bytes");
        assert!(invalid(&[0xff, 0xff, 0xff, 0xff, 0x1f]), "2^35 − 1 is beyond u32");
        assert!(invalid(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x01]), "six bytes");
        assert!(matches!(Reader::new(&[0x80]).varint(), Err(DecodeError::UnexpectedEnd { .. })));
    }

    #[test]
    fn forged_lengths_are_bounded_by_the_input() {
        let bytes = [0xff, 0xff, 0xff, 0x7f, 0, 0];
        assert!(matches!(Reader::new(&bytes).scalars(), Err(DecodeError::TooLarge { .. })));
        assert!(matches!(Reader::new(&[1, 2]).u32(), Err(DecodeError::UnexpectedEnd { .. })));
    }

    #[test]
    fn packed_integers_round_trip_at_the_fewest_bytes() {
        let cases: [(&[i64], u8); 7] = [
            (&[], 1),
            (&[0, -128, 127], 1),
            (&[128], 2),
            (&[-32769], 4),
            (&[i32::MIN as i64, i32::MAX as i64], 4),
            (&[1 << 31], 8),
            (&[i64::MIN, i64::MAX, -1], 8),
        ];
        for (vs, width) in cases {
            let mut w = Writer::new();
            w.ints(vs);
            assert_eq!(w.bytes[1], width, "{vs:?}");
            assert_eq!(w.bytes.len(), 2 + vs.len() * width as usize);
            let mut r = Reader::new(&w.bytes);
            assert_eq!(r.ints("test").expect("round trip"), vs);
            r.finish().expect("every byte consumed");
        }
    }

    #[test]
    fn packed_integers_reject_wide_or_unknown_widths() {
        // [5] at width 2: decodable bytes, but not the canonical encoding.
        let wide = [1, 2, 5, 0];
        assert!(matches!(Reader::new(&wide).ints("t"), Err(DecodeError::Invalid { at: 1, .. })));
        let unknown = [1, 3, 5, 0, 0];
        assert!(matches!(Reader::new(&unknown).ints("t"), Err(DecodeError::Invalid { at: 1, .. })));
        let short = [2, 8, 1, 2, 3];
        assert!(matches!(Reader::new(&short).ints("t"), Err(DecodeError::UnexpectedEnd { .. })));
    }
}
