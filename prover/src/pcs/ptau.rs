//! Reader for snarkjs's `.ptau` powers-of-τ files (BN254 only), the production source of the SRS.
//!
//! Layout (every integer little-endian):
//!
//! ```text
//! "ptau" | version: u32 (= 1) | n_sections: u32 | n_sections × (id: u32 | size: u64 | size bytes)
//! section 1, header:  n8: u32 (= 32) | q: n8 bytes (plain, not Montgomery) | power: u32
//!                     | ceremony_power: u32 (absent in old files)
//! section 2, tauG1:   2^(power+1) − 1 points [τ^i]₁, each x | y
//! section 3, tauG2:   2^power points [τ^i]₂, each x.c0 | x.c1 | y.c0 | y.c1
//! ```
//!
//! Coordinates are `n8`-byte base-field elements in *Montgomery form* (`x·2^256 mod q`). The
//! other sections (α/β powers, contributions, Lagrange bases) are skipped.

use std::io::{Read, Seek, SeekFrom};

use ark_bn254::{Bn254, Fq, Fq2, G1Affine, G1Projective, G2Affine};
use ark_ec::pairing::Pairing;
use ark_ec::VariableBaseMSM;
use ark_ff::{BigInteger, Field, PrimeField, Zero};
use ark_std::UniformRand;
use rayon::prelude::*;

use crate::field::F;
use crate::poly::powers;

/// Why a `.ptau` file cannot provide the requested SRS.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PtauError {
    #[error("cannot read the powers-of-tau file: {reason}")]
    Io { reason: String },
    #[error("not a powers-of-tau file: expected magic \"ptau\", found {found:?}")]
    BadMagic { found: [u8; 4] },
    #[error("unsupported .ptau version: expected {expected}, found {found}")]
    UnsupportedVersion { expected: u32, found: u32 },
    #[error("truncated .ptau file: {what} needs {needed} bytes, the file has {available}")]
    Truncated { what: &'static str, needed: u64, available: u64 },
    #[error("the .ptau file has no {name} section (id {id})")]
    MissingSection { id: u32, name: &'static str },
    #[error("the .ptau file has section {id} twice")]
    DuplicateSection { id: u32 },
    #[error("wrong field element size: expected {expected} bytes (BN254), found {found}")]
    FieldSize { expected: u32, found: u32 },
    #[error("wrong curve: the file's base field prime is 0x{found}, not BN254's")]
    WrongCurve { found: String },
    #[error("malformed .ptau header: {found} bytes, expected 40 or 44")]
    HeaderSize { found: u64 },
    #[error("implausible ceremony power {found} (at most {max})")]
    BadPower { max: u32, found: u32 },
    #[error("{name} section holds {found} bytes, but power {power} requires {expected}")]
    SectionSize { name: &'static str, power: u32, expected: u64, found: u64 },
    #[error("the file holds powers for up to {available} variables, {requested} were requested")]
    TooSmall { requested: usize, available: usize },
    #[error("the file has power {power}: the verifier needs [tau^i]_2 for i < 4, so power >= 2")]
    FewG2Powers { power: u32 },
    #[error("{section} point {index} is invalid: {reason}")]
    InvalidPoint { section: &'static str, index: usize, reason: &'static str },
    #[error("the powers are inconsistent: {what}")]
    Inconsistent { what: &'static str },
}

/// What the SRS needs from a file.
#[derive(Debug)]
pub(crate) struct Loaded {
    pub g1_powers: Vec<G1Affine>,
    /// `[τ^i]₁` for `i < 3`, whatever `num_vars` asked for.
    pub low_g1: [G1Affine; 3],
    /// `[τ^i]₂` for `i < 4`.
    pub g2_powers: [G2Affine; 4],
}

const N8: u32 = 32;
const G1_BYTES: usize = 2 * N8 as usize;
const G2_BYTES: usize = 4 * N8 as usize;
/// snarkjs caps ceremonies at 2^28; anything larger is a corrupt header.
const MAX_POWER: u32 = 32;

struct Input<R> {
    reader: R,
    len: u64,
}

impl<R: Read + Seek> Input<R> {
    fn io(e: std::io::Error) -> PtauError {
        PtauError::Io { reason: e.to_string() }
    }

    fn pos(&mut self) -> Result<u64, PtauError> {
        self.reader.stream_position().map_err(Self::io)
    }

    fn bytes(&mut self, n: usize, what: &'static str) -> Result<Vec<u8>, PtauError> {
        let pos = self.pos()?;
        let needed = pos.saturating_add(n as u64);
        if needed > self.len {
            return Err(PtauError::Truncated { what, needed, available: self.len });
        }
        let mut buf = vec![0u8; n];
        self.reader.read_exact(&mut buf).map_err(Self::io)?;
        Ok(buf)
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, PtauError> {
        let b = self.bytes(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self, what: &'static str) -> Result<u64, PtauError> {
        let b = self.bytes(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(&b);
        Ok(u64::from_le_bytes(a))
    }

    fn seek(&mut self, pos: u64) -> Result<(), PtauError> {
        self.reader.seek(SeekFrom::Start(pos)).map_err(Self::io).map(|_| ())
    }
}

/// A section's extent in the file.
#[derive(Clone, Copy)]
struct Section {
    start: u64,
    size: u64,
}

/// Reads and validates the first `2^num_vars` G1 powers and `H`, `[τ]₂`.
pub(crate) fn read<R: Read + Seek>(reader: R, num_vars: usize) -> Result<Loaded, PtauError> {
    let mut reader = reader;
    let len = reader.seek(SeekFrom::End(0)).map_err(Input::<R>::io)?;
    let mut input = Input { reader, len };
    input.seek(0)?;

    let magic = input.bytes(4, "the magic number")?;
    if magic != b"ptau" {
        return Err(PtauError::BadMagic { found: [magic[0], magic[1], magic[2], magic[3]] });
    }
    let version = input.u32("the version")?;
    if version != 1 {
        return Err(PtauError::UnsupportedVersion { expected: 1, found: version });
    }
    let n_sections = input.u32("the section count")?;
    let mut sections: [Option<Section>; 4] = [None; 4];
    for _ in 0..n_sections {
        let id = input.u32("a section id")?;
        let size = input.u64("a section size")?;
        let start = input.pos()?;
        let end = start.saturating_add(size);
        if end > len {
            return Err(PtauError::Truncated { what: "a section", needed: end, available: len });
        }
        if let Some(slot) = sections.get_mut(id as usize).filter(|_| id >= 1) {
            if slot.is_some() {
                return Err(PtauError::DuplicateSection { id });
            }
            *slot = Some(Section { start, size });
        }
        input.seek(end)?;
    }
    let section =
        |id: u32, name| sections[id as usize].ok_or(PtauError::MissingSection { id, name });
    let header = section(1, "header")?;
    let tau_g1 = section(2, "tauG1")?;
    let tau_g2 = section(3, "tauG2")?;

    // Header: the field and the ceremony size.
    if header.size != 40 && header.size != 44 {
        return Err(PtauError::HeaderSize { found: header.size });
    }
    input.seek(header.start)?;
    let n8 = input.u32("the header")?;
    if n8 != N8 {
        return Err(PtauError::FieldSize { expected: N8, found: n8 });
    }
    let q = input.bytes(N8 as usize, "the header")?;
    if q != Fq::MODULUS.to_bytes_le() {
        let hex: String = q.iter().rev().map(|b| format!("{b:02x}")).collect();
        return Err(PtauError::WrongCurve { found: hex });
    }
    let power = input.u32("the header")?;
    if power > MAX_POWER {
        return Err(PtauError::BadPower { max: MAX_POWER, found: power });
    }
    let g1_count = (1u64 << (power + 1)) - 1;
    let g2_count = 1u64 << power;
    for (s, name, count, bytes) in
        [(tau_g1, "tauG1", g1_count, G1_BYTES), (tau_g2, "tauG2", g2_count, G2_BYTES)]
    {
        let expected = count * bytes as u64;
        if s.size < expected {
            return Err(PtauError::SectionSize { name, power, expected, found: s.size });
        }
    }
    // `power ≥ 2` so that [τ³]₂ exists; 2^num_vars ≤ 2^(power+1) − 1 powers means
    // num_vars ≤ power.
    if power < 2 {
        return Err(PtauError::FewG2Powers { power });
    }
    if num_vars > power as usize {
        return Err(PtauError::TooSmall { requested: num_vars, available: power as usize });
    }

    let r_inv = mont_r_inv();
    // At least three G1 powers: the verifier key's, and enough for the consistency checks below.
    let count = (1usize << num_vars).max(3);
    input.seek(tau_g1.start)?;
    let raw = input.bytes(count * G1_BYTES, "tauG1")?;
    let g1: Vec<G1Affine> = raw
        .par_chunks(G1_BYTES)
        .enumerate()
        .map(|(i, b)| g1_point(b, &r_inv, i))
        .collect::<Result<_, _>>()?;
    input.seek(tau_g2.start)?;
    let raw = input.bytes(4 * G2_BYTES, "tauG2")?;
    let mut g2_powers = [G2Affine::identity(); 4];
    for (i, p) in g2_powers.iter_mut().enumerate() {
        *p = g2_point(&raw[i * G2_BYTES..(i + 1) * G2_BYTES], &r_inv, i)?;
    }
    let [g2, tau_g2, ..] = g2_powers;

    // The G2 powers against the first two G1 powers: e([τ]₁, [τ^i]₂) = e(G, [τ^{i+1}]₂).
    for i in 0..3 {
        if !Bn254::multi_pairing([g1[1], -g1[0]], [g2_powers[i], g2_powers[i + 1]]).is_zero() {
            return Err(PtauError::Inconsistent { what: "the G2 powers are not [tau^i]_2" });
        }
    }
    // All G1 powers at once, with random weights ρ^i: Σ ρ^i·[τ^{i+1}]₁ = τ·Σ ρ^i·[τ^i]₁.
    if count > 2 {
        let rho = F::rand(&mut rand::thread_rng());
        let w: Vec<_> = powers(rho, count - 1).iter().map(|x| x.into_bigint()).collect();
        let lo = G1Projective::msm_bigint(&g1[..count - 1], &w);
        let hi = G1Projective::msm_bigint(&g1[1..], &w);
        if !Bn254::multi_pairing([hi, -lo], [g2, tau_g2]).is_zero() {
            return Err(PtauError::Inconsistent { what: "the G1 powers are not [tau^i]_1" });
        }
    }
    let low_g1 = [g1[0], g1[1], g1[2]];
    let mut g1_powers = g1;
    g1_powers.truncate(1 << num_vars);
    Ok(Loaded { g1_powers, low_g1, g2_powers })
}

/// `2^-256 mod q`: a Montgomery-form coordinate `m` is the field element `m·2^-256`.
fn mont_r_inv() -> Fq {
    // 2 is invertible modulo the odd prime q.
    Fq::from(2u64).pow([256]).inverse().unwrap_or_default()
}

fn coordinate(bytes: &[u8], r_inv: &Fq) -> Option<Fq> {
    let mut limbs = [0u64; 4];
    for (limb, chunk) in limbs.iter_mut().zip(bytes.chunks_exact(8)) {
        let mut a = [0u8; 8];
        a.copy_from_slice(chunk);
        *limb = u64::from_le_bytes(a);
    }
    Fq::from_bigint(ark_ff::BigInt::new(limbs)).map(|m| m * r_inv)
}

fn g1_point(b: &[u8], r_inv: &Fq, index: usize) -> Result<G1Affine, PtauError> {
    let invalid = |reason| PtauError::InvalidPoint { section: "tauG1", index, reason };
    let (x, y) = (coordinate(&b[..32], r_inv), coordinate(&b[32..64], r_inv));
    let (x, y) = x.zip(y).ok_or(invalid("coordinate not below the field prime"))?;
    if x.is_zero() && y.is_zero() {
        return Err(invalid("point at infinity (tau = 0?)"));
    }
    let p = G1Affine::new_unchecked(x, y);
    if !p.is_on_curve() {
        return Err(invalid("not on the curve"));
    }
    Ok(p)
}

fn g2_point(b: &[u8], r_inv: &Fq, index: usize) -> Result<G2Affine, PtauError> {
    let invalid = |reason| PtauError::InvalidPoint { section: "tauG2", index, reason };
    let c: Vec<Fq> = b
        .chunks_exact(32)
        .map(|c| coordinate(c, r_inv))
        .collect::<Option<_>>()
        .ok_or(invalid("coordinate not below the field prime"))?;
    let (x, y) = (Fq2::new(c[0], c[1]), Fq2::new(c[2], c[3]));
    if x.is_zero() && y.is_zero() {
        return Err(invalid("point at infinity"));
    }
    let p = G2Affine::new_unchecked(x, y);
    if !p.is_on_curve() {
        return Err(invalid("not on the curve"));
    }
    if !p.is_in_correct_subgroup_assuming_on_curve() {
        return Err(invalid("not in the prime-order subgroup"));
    }
    Ok(p)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use ark_bn254::G2Projective;
    use ark_ec::{CurveGroup, PrimeGroup};
    use std::io::Cursor;

    /// A writer for synthetic `.ptau` files from a known τ, in snarkjs's layout.
    pub(crate) struct PtauWriter {
        pub tau: F,
        pub power: u32,
        pub version: u32,
        pub prime: Vec<u8>,
        /// τ used for `[τ]₂` (differs from `tau` to forge an inconsistent file).
        pub tau_g2: F,
        pub with_tau_g2_section: bool,
    }

    fn mont(x: &Fq) -> Vec<u8> {
        (*x * Fq::from(2u64).pow([256])).into_bigint().to_bytes_le()
    }

    fn section(out: &mut Vec<u8>, id: u32, body: &[u8]) {
        out.extend_from_slice(&id.to_le_bytes());
        out.extend_from_slice(&(body.len() as u64).to_le_bytes());
        out.extend_from_slice(body);
    }

    impl PtauWriter {
        pub(crate) fn new(tau: F, power: u32) -> Self {
            PtauWriter {
                tau,
                power,
                version: 1,
                prime: Fq::MODULUS.to_bytes_le(),
                tau_g2: tau,
                with_tau_g2_section: true,
            }
        }

        pub(crate) fn write(&self) -> Vec<u8> {
            let mut out = b"ptau".to_vec();
            out.extend_from_slice(&self.version.to_le_bytes());
            out.extend_from_slice(&(3 + self.with_tau_g2_section as u32).to_le_bytes());
            let mut header = N8.to_le_bytes().to_vec();
            header.extend_from_slice(&self.prime);
            header.extend_from_slice(&self.power.to_le_bytes());
            header.extend_from_slice(&self.power.to_le_bytes());
            section(&mut out, 1, &header);
            // An unrelated section before the powers: readers must skip by size.
            section(&mut out, 7, &0u32.to_le_bytes());
            let g1 = G1Projective::generator();
            let mut body = Vec::new();
            for s in powers(self.tau, (1 << (self.power + 1)) - 1) {
                let p = (g1 * s).into_affine();
                body.extend(mont(&p.x).into_iter().chain(mont(&p.y)));
            }
            section(&mut out, 2, &body);
            if self.with_tau_g2_section {
                let g2 = G2Projective::generator();
                let mut body = Vec::new();
                for s in powers(self.tau_g2, 1 << self.power) {
                    let p = (g2 * s).into_affine();
                    for c in [p.x.c0, p.x.c1, p.y.c0, p.y.c1] {
                        body.extend(mont(&c));
                    }
                }
                section(&mut out, 3, &body);
            }
            out
        }
    }

    fn load(bytes: Vec<u8>, num_vars: usize) -> Result<Loaded, PtauError> {
        read(Cursor::new(bytes), num_vars)
    }

    /// Byte offset of the tauG1 section body in `PtauWriter`'s layout.
    const TAU_G1_START: usize = 12 + (12 + 44) + (12 + 4) + 12;

    #[test]
    fn loads_the_powers_of_a_known_tau() {
        let tau = F::from(123456789u64);
        let bytes = PtauWriter::new(tau, 3).write();
        for num_vars in [1, 2, 3] {
            let l = load(bytes.clone(), num_vars).unwrap();
            assert_eq!(l.g1_powers.len(), 1 << num_vars);
            for (i, p) in l.g1_powers.iter().enumerate() {
                assert_eq!(*p, (G1Projective::generator() * tau.pow([i as u64])).into_affine());
            }
            for (i, p) in l.g2_powers.iter().enumerate() {
                assert_eq!(*p, (G2Projective::generator() * tau.pow([i as u64])).into_affine());
            }
        }
        let l = load(bytes, 0).unwrap();
        assert_eq!(l.g1_powers.len(), 1);
        assert_eq!(l.low_g1[2], (G1Projective::generator() * tau.square()).into_affine());
    }

    #[test]
    fn rejects_a_ceremony_without_four_g2_powers() {
        let bytes = PtauWriter::new(F::from(5u64), 1).write();
        assert_eq!(load(bytes, 1).err(), Some(PtauError::FewG2Powers { power: 1 }));
    }

    /// Pins the Montgomery convention to known bytes rather than to this file's own writer: in a
    /// snarkjs file the first tauG1 point is the generator (1, 2), stored as `R mod q`, `2R mod q`
    /// with `R = 2^256`, little-endian (the `9d 0d 8f c5 …` every `.ptau` file starts its
    /// tauG1 section with).
    #[test]
    fn the_generator_is_stored_as_snarkjs_stores_it() {
        let bytes = PtauWriter::new(F::from(5u64), 1).write();
        let hex: String =
            bytes[TAU_G1_START..TAU_G1_START + 64].iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "9d0d8fc58d435dd33d0bc7f528eb780a2c4679786fa36e662fdf079ac1770a0e\
             3a1b1e8b1b87baa67b168eeb51d6f114588cf2f0de46ddcc5ebe0f3483ef141c"
        );
    }

    #[test]
    fn rejects_bad_magic() {
        let mut bytes = PtauWriter::new(F::from(5u64), 1).write();
        bytes[..4].copy_from_slice(b"zkey");
        assert_eq!(load(bytes, 1).err(), Some(PtauError::BadMagic { found: *b"zkey" }));
        assert!(matches!(load(b"pt".to_vec(), 1), Err(PtauError::Truncated { .. })));
    }

    #[test]
    fn rejects_another_version() {
        let mut w = PtauWriter::new(F::from(5u64), 1);
        w.version = 2;
        assert_eq!(
            load(w.write(), 1).err(),
            Some(PtauError::UnsupportedVersion { expected: 1, found: 2 })
        );
    }

    #[test]
    fn rejects_another_curve() {
        let mut w = PtauWriter::new(F::from(5u64), 1);
        // BN254's *scalar* field prime: a file for some other curve/field.
        w.prime = F::MODULUS.to_bytes_le();
        assert!(matches!(load(w.write(), 1), Err(PtauError::WrongCurve { .. })));
    }

    #[test]
    fn rejects_truncated_files() {
        let bytes = PtauWriter::new(F::from(5u64), 2).write();
        for cut in [3, 10, 30, TAU_G1_START + 10, bytes.len() - 1] {
            let r = load(bytes[..cut].to_vec(), 2);
            assert!(matches!(r, Err(PtauError::Truncated { .. })), "cut at {cut}: {r:?}");
        }
    }

    #[test]
    fn rejects_a_file_too_small_for_the_request() {
        let bytes = PtauWriter::new(F::from(5u64), 2).write();
        assert_eq!(load(bytes, 3).err(), Some(PtauError::TooSmall { requested: 3, available: 2 }));
    }

    #[test]
    fn rejects_a_missing_g2_section() {
        let mut w = PtauWriter::new(F::from(5u64), 1);
        w.with_tau_g2_section = false;
        assert_eq!(
            load(w.write(), 1).err(),
            Some(PtauError::MissingSection { id: 3, name: "tauG2" })
        );
    }

    #[test]
    fn rejects_points_off_the_curve_or_out_of_range() {
        let bytes = PtauWriter::new(F::from(5u64), 2).write();
        let mut off_curve = bytes.clone();
        off_curve[TAU_G1_START + G1_BYTES + 40] ^= 1; // y of point 1
        assert_eq!(
            load(off_curve, 2).err(),
            Some(PtauError::InvalidPoint {
                section: "tauG1",
                index: 1,
                reason: "not on the curve"
            })
        );
        let mut too_big = bytes;
        too_big[TAU_G1_START..TAU_G1_START + 32].fill(0xff); // x of point 0 ≥ q
        assert!(matches!(
            load(too_big, 2),
            Err(PtauError::InvalidPoint { section: "tauG1", index: 0, .. })
        ));
    }

    #[test]
    fn rejects_a_g2_element_for_another_tau() {
        let mut w = PtauWriter::new(F::from(5u64), 2);
        w.tau_g2 = F::from(6u64);
        assert!(matches!(load(w.write(), 2), Err(PtauError::Inconsistent { .. })));
    }

    /// Swaps the `len`-byte points at offsets `a < b` of a file.
    fn swap_points(bytes: &mut [u8], a: usize, b: usize, len: usize) {
        let (head, tail) = bytes.split_at_mut(b);
        head[a..a + len].swap_with_slice(&mut tail[..len]);
    }

    /// Invariant: the key's `[τ²]₂, [τ³]₂` continue the sequence (the multi-point opening
    /// checks against them). Mutation: swap them; each point is valid, `[τ]₂` still matches.
    #[test]
    fn rejects_g2_powers_out_of_sequence() {
        let power = 2;
        let mut bytes = PtauWriter::new(F::from(5u64), power).write();
        let g2_start = TAU_G1_START + ((1 << (power + 1)) - 1) * G1_BYTES + 12;
        let (a, b) = (g2_start + 2 * G2_BYTES, g2_start + 3 * G2_BYTES);
        swap_points(&mut bytes, a, b, G2_BYTES);
        assert_eq!(
            load(bytes, 2).err(),
            Some(PtauError::Inconsistent { what: "the G2 powers are not [tau^i]_2" })
        );
    }

    #[test]
    fn rejects_g1_powers_out_of_sequence() {
        let mut bytes = PtauWriter::new(F::from(5u64), 2).write();
        // Swap powers 2 and 3: every point is valid, the first two still match [τ]₂.
        let (a, b) = (TAU_G1_START + 2 * G1_BYTES, TAU_G1_START + 3 * G1_BYTES);
        swap_points(&mut bytes, a, b, G1_BYTES);
        assert_eq!(
            load(bytes, 2).err(),
            Some(PtauError::Inconsistent { what: "the G1 powers are not [tau^i]_1" })
        );
    }

    #[test]
    fn missing_file_is_an_io_error() {
        let r = crate::pcs::Srs::from_ptau_file(std::path::Path::new("/nonexistent/x.ptau"), 1);
        assert!(matches!(r, Err(PtauError::Io { .. })));
    }
}
