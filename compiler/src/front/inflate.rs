//! A DEFLATE decoder (RFC 1951), for the compressed members `np.savez_compressed` writes into an
//! `.npz`. Small and strict: any malformed stream is an error, never a panic.

/// Bits in LSB-first order, as DEFLATE packs them.
struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    bit: u32,
}

impl Bits<'_> {
    fn bit(&mut self) -> Result<u32, String> {
        let byte = *self.data.get(self.pos).ok_or("the stream ends early")?;
        let b = u32::from(byte >> self.bit) & 1;
        self.bit += 1;
        if self.bit == 8 {
            self.bit = 0;
            self.pos += 1;
        }
        Ok(b)
    }

    fn bits(&mut self, n: u32) -> Result<u32, String> {
        let mut v = 0;
        for i in 0..n {
            v |= self.bit()? << i;
        }
        Ok(v)
    }

    fn align(&mut self) {
        if self.bit != 0 {
            self.bit = 0;
            self.pos += 1;
        }
    }
}

/// A canonical Huffman code: symbols ordered by (length, value), and the count per length.
struct Huffman {
    counts: [u16; 16],
    symbols: Vec<u16>,
}

impl Huffman {
    fn new(lengths: &[u8]) -> Result<Self, String> {
        let mut counts = [0u16; 16];
        for &l in lengths {
            counts[usize::from(l)] += 1;
        }
        counts[0] = 0;
        let mut offsets = [0u16; 16];
        for i in 1..16 {
            offsets[i] = offsets[i - 1] + counts[i - 1];
        }
        let mut symbols = vec![0u16; lengths.len()];
        for (s, &l) in lengths.iter().enumerate() {
            if l != 0 {
                symbols[usize::from(offsets[usize::from(l)])] = s as u16;
                offsets[usize::from(l)] += 1;
            }
        }
        Ok(Huffman { counts, symbols })
    }

    fn decode(&self, bits: &mut Bits<'_>) -> Result<u16, String> {
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for len in 1..16 {
            code |= bits.bit()? as i32;
            let count = i32::from(self.counts[len]);
            if code - first < count {
                return self
                    .symbols
                    .get((index + code - first) as usize)
                    .copied()
                    .ok_or_else(|| "a bad Huffman code".to_string());
            }
            index += count;
            first = (first + count) << 1;
            code <<= 1;
        }
        Err("a bad Huffman code".into())
    }
}

const LEN_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LEN_EXTRA: [u8; 29] =
    [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DIST_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];

/// Decodes a raw DEFLATE stream; `limit` bounds the output (the size the archive declares).
pub(super) fn inflate(data: &[u8], limit: usize) -> Result<Vec<u8>, String> {
    let mut bits = Bits { data, pos: 0, bit: 0 };
    let mut out = Vec::new();
    loop {
        let last = bits.bit()?;
        match bits.bits(2)? {
            0 => {
                bits.align();
                let at = bits.pos;
                let len = data.get(at..at + 2).ok_or("the stream ends early")?;
                let len = usize::from(u16::from_le_bytes([len[0], len[1]]));
                let block = data.get(at + 4..at + 4 + len).ok_or("the stream ends early")?;
                out.extend_from_slice(block);
                bits.pos = at + 4 + len;
            }
            1 => {
                let mut lengths = [0u8; 288];
                for (i, l) in lengths.iter_mut().enumerate() {
                    *l = match i {
                        0..=143 => 8,
                        144..=255 => 9,
                        256..=279 => 7,
                        _ => 8,
                    };
                }
                let lit = Huffman::new(&lengths)?;
                let dist = Huffman::new(&[5u8; 30])?;
                block(&mut bits, &lit, &dist, &mut out, limit)?;
            }
            2 => {
                let hlit = bits.bits(5)? as usize + 257;
                let hdist = bits.bits(5)? as usize + 1;
                let hclen = bits.bits(4)? as usize + 4;
                const ORDER: [usize; 19] =
                    [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];
                let mut cl = [0u8; 19];
                for &i in &ORDER[..hclen] {
                    cl[i] = bits.bits(3)? as u8;
                }
                let clh = Huffman::new(&cl)?;
                let mut lengths = Vec::with_capacity(hlit + hdist);
                while lengths.len() < hlit + hdist {
                    let sym = clh.decode(&mut bits)?;
                    let (value, repeat) = match sym {
                        0..=15 => (sym as u8, 1),
                        16 => (
                            *lengths.last().ok_or("a repeat with nothing before it")?,
                            3 + bits.bits(2)?,
                        ),
                        17 => (0, 3 + bits.bits(3)?),
                        _ => (0, 11 + bits.bits(7)?),
                    };
                    lengths.extend(std::iter::repeat_n(value, repeat as usize));
                }
                if lengths.len() != hlit + hdist {
                    return Err("code lengths overrun their table".into());
                }
                let lit = Huffman::new(&lengths[..hlit])?;
                let dist = Huffman::new(&lengths[hlit..])?;
                block(&mut bits, &lit, &dist, &mut out, limit)?;
            }
            _ => return Err("a reserved block type".into()),
        }
        if out.len() > limit {
            return Err("more data than the archive declares".into());
        }
        if last == 1 {
            return Ok(out);
        }
    }
}

fn block(
    bits: &mut Bits<'_>,
    lit: &Huffman,
    dist: &Huffman,
    out: &mut Vec<u8>,
    limit: usize,
) -> Result<(), String> {
    loop {
        let sym = lit.decode(bits)?;
        match sym {
            0..=255 => out.push(sym as u8),
            256 => return Ok(()),
            _ => {
                let i = usize::from(sym - 257);
                let len = *LEN_BASE.get(i).ok_or("a bad length code")? as usize
                    + bits.bits(u32::from(LEN_EXTRA[i]))? as usize;
                let d = usize::from(dist.decode(bits)?);
                let back = *DIST_BASE.get(d).ok_or("a bad distance code")? as usize
                    + bits.bits(u32::from(DIST_EXTRA[d]))? as usize;
                if back > out.len() {
                    return Err("a distance before the start".into());
                }
                for _ in 0..len {
                    out.push(out[out.len() - back]);
                }
            }
        }
        if out.len() > limit {
            return Err("more data than the archive declares".into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Streams from Python's `zlib.compressobj(level, DEFLATED, -15)`.

    #[test]
    fn a_stored_block() {
        let raw = [1, 5, 0, 250, 255, 97, 116, 108, 97, 115];
        assert_eq!(inflate(&raw, 100).unwrap(), b"atlas");
    }

    #[test]
    fn a_fixed_huffman_block_with_a_back_reference() {
        let raw = [75, 76, 74, 78, 132, 33, 0];
        assert_eq!(inflate(&raw, 100).unwrap(), b"abcabcabcabc");
    }

    #[test]
    fn malformed_or_oversized_streams_are_errors() {
        assert!(inflate(&[75, 76, 74], 100).is_err());
        assert!(inflate(&[7], 100).is_err());
        assert!(inflate(&[75, 76, 74, 78, 132, 33, 0], 5).is_err());
        assert!(inflate(&[], 100).is_err());
    }
}
