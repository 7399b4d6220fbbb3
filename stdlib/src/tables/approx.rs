//! The machinery the standard transcendental primitives share: a real function sampled on
//! fixed-point grids into a dense table (at most 2^16 entries), round to nearest and saturated.
//!
//! Each primitive is one file (`sigmoid.rs`, `exp.rs`, …) holding its kind id and a [`Spec`]: its
//! name, its f64 reference function and its error tolerance. [`Approx`] turns a spec and the three
//! parameter bytes into a table:
//!
//! - **parameters** `[(in_bits − 1)·16 + (out_bits − 1), in_frac, out_frac]`: a signed
//!   `fix<in_bits, in_frac>` operand (`1 ≤ in_bits ≤ 16`) and a `fix<out_bits, out_frac>` result
//!   (`1 ≤ out_bits ≤ 16`), fractional bits at most [`MAX_FRAC`]. Every id in this layout is a
//!   valid table, and each table has exactly one id;
//! - **entries**: the operand `x` stands for `x / 2^in_frac`; the entry is
//!   `clamp(⌊f(x / 2^in_frac) · 2^out_frac + 1/2⌋, −2^(out_bits−1), 2^(out_bits−1) − 1)`: round to
//!   nearest (ties toward +∞, like the VM's rounding shift) and saturated to the output type (±∞
//!   saturates like any large value; the specs define `f` on the whole line, so no NaN arises);
//! - **reference** ([`atlas_vm::Reference`]): `f` with the two scales and the output range, and the
//!   spec's tolerance in output ulps. Round to nearest of the f64 value is within 1/2 ulp, so every
//!   spec declares 1/2; the battery checks every entry against it;
//! - **MLE and decomposition**: those of a dense table (one chunk of `in_bits` bits, one subtable,
//!   `g = var(0)`; the MLE is linear in the table size). The entries are computed on first use
//!   and cached, so building a table (e.g. for one `eval`) is cheap.

use std::sync::OnceLock;

use ark_ff::PrimeField;
use atlas_vm::{dense_mle, Decomposition, Domain, Reference, Table, TableId, TableMle};

use super::{check_range, StdlibError};

/// Widest operand and result of a sampled primitive (a dense table has at most 2^16 entries).
pub const MAX_BITS: u32 = 16;
/// Most fractional bits of the operand and of the result.
pub const MAX_FRAC: u32 = 31;

/// A sampled primitive: what its file declares.
#[derive(Debug)]
pub struct Spec {
    /// The kind byte of its ids.
    pub kind: u8,
    /// The name prefix (`sigmoid` → `sigmoid_fix16_8_fix16_14`).
    pub name: &'static str,
    /// The f64 reference at the real operand (one element).
    pub f: fn(&[f64]) -> f64,
    /// Largest allowed `|entry − f|` in output ulps (after saturating `f` to the output range).
    pub tolerance: f64,
}

/// A fixed-point operand or result type of a sampled primitive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Fixed {
    pub bits: u32,
    pub frac: u32,
}

impl Fixed {
    pub fn new(bits: u32, frac: u32) -> Self {
        Fixed { bits, frac }
    }

    /// Smallest and largest stored integer.
    pub fn range(self) -> (i64, i64) {
        let half = 1i64 << (self.bits - 1);
        (-half, half - 1)
    }

    /// `2^frac`: stored integer = real · scale.
    pub fn scale(self) -> f64 {
        2f64.powi(self.frac as i32)
    }
}

/// A real function sampled into a dense table on fixed-point grids.
#[derive(Debug)]
pub struct Approx {
    spec: &'static Spec,
    input: Fixed,
    output: Fixed,
    entries: OnceLock<Vec<i64>>,
}

impl Clone for Approx {
    fn clone(&self) -> Self {
        Approx {
            spec: self.spec,
            input: self.input,
            output: self.output,
            entries: self.entries.clone(),
        }
    }
}

impl Approx {
    /// The table of `spec` from a `fix<in_bits, in_frac>` operand to a `fix<out_bits, out_frac>`
    /// result.
    pub fn new(spec: &'static Spec, input: Fixed, output: Fixed) -> Result<Self, StdlibError> {
        let t = spec.name;
        check_range(t, "input bits", input.bits, 1, MAX_BITS)?;
        check_range(t, "output bits", output.bits, 1, MAX_BITS)?;
        check_range(t, "input fractional bits", input.frac, 0, MAX_FRAC)?;
        check_range(t, "output fractional bits", output.frac, 0, MAX_FRAC)?;
        Ok(Approx { spec, input, output, entries: OnceLock::new() })
    }

    /// From the id's parameter bytes (see the module docs).
    pub fn from_params(spec: &'static Spec, p: [u8; 3]) -> Result<Self, StdlibError> {
        let input = Fixed::new(u32::from(p[0] >> 4) + 1, u32::from(p[1]));
        let output = Fixed::new(u32::from(p[0] & 0xf) + 1, u32::from(p[2]));
        Self::new(spec, input, output)
    }

    /// The parameter bytes of `fix<in> → fix<out>` (the inverse of [`Approx::from_params`]).
    /// `None` when a width is outside `1..=16` or a fraction does not fit a byte.
    pub fn params(input: Fixed, output: Fixed) -> Option<[u8; 3]> {
        if !(1..=MAX_BITS).contains(&input.bits) || !(1..=MAX_BITS).contains(&output.bits) {
            return None;
        }
        let packed = ((input.bits - 1) << 4 | (output.bits - 1)) as u8;
        Some([packed, u8::try_from(input.frac).ok()?, u8::try_from(output.frac).ok()?])
    }

    pub fn spec(&self) -> &'static Spec {
        self.spec
    }

    pub fn input(&self) -> Fixed {
        self.input
    }

    pub fn output(&self) -> Fixed {
        self.output
    }

    /// The entry at operand `x` (which must be in the domain).
    fn sample(&self, x: i64) -> i64 {
        let y = (self.spec.f)(&[x as f64 / self.input.scale()]);
        quantize(y, self.output)
    }

    fn entries(&self) -> &[i64] {
        self.entries.get_or_init(|| {
            let offset = self.domain().offset();
            (0..1i64 << self.input.bits).map(|a| self.sample(a - offset)).collect()
        })
    }
}

/// `clamp(⌊y · 2^frac + 1/2⌋)` to the type's range; NaN (never produced by the specs) is 0.
pub fn quantize(y: f64, out: Fixed) -> i64 {
    if y.is_nan() {
        return 0;
    }
    let (lo, hi) = out.range();
    let q = (y * out.scale() + 0.5).floor();
    if q <= lo as f64 {
        lo
    } else if q >= hi as f64 {
        hi
    } else {
        q as i64
    }
}

impl Table for Approx {
    fn id(&self) -> TableId {
        let p = Self::params(self.input, self.output)
            .expect("new() checked the widths and fractions against the id layout");
        TableId::new(self.spec.kind, p)
    }

    fn name(&self) -> String {
        format!(
            "{}_fix{}_{}_fix{}_{}",
            self.spec.name, self.input.bits, self.input.frac, self.output.bits, self.output.frac
        )
    }

    fn domain(&self) -> Domain {
        Domain::Signed { bits: self.input.bits }
    }

    fn eval(&self, address: u64) -> i64 {
        match self.entries.get() {
            Some(e) => e[address as usize],
            None => self.sample(address as i64 - self.domain().offset()),
        }
    }

    fn decomposition(&self) -> Decomposition {
        Decomposition::dense(self.entries(), self.input.bits)
    }

    fn reference(&self) -> Option<Reference> {
        Some(Reference {
            f: self.spec.f,
            input_scale: 1.0 / self.input.scale(),
            output_scale: self.output.scale(),
            output_range: self.output.range(),
            tolerance: self.spec.tolerance,
        })
    }
}

impl<F: PrimeField> TableMle<F> for Approx {
    fn mle(&self, r: &[F]) -> F {
        dense_mle(self.entries(), r)
    }
}

/// The error function to about 1e-15: `erf(x) = 2/√π · e^(−x²) · Σ_n 2^n x^(2n+1) / (2n+1)!!`, a
/// series of positive terms (no cancellation) that converges for every `x`; `±1` beyond `|x| = 6`
/// (`1 − erf(6) ≈ 2·10^-17`).
pub fn erf(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    if x.abs() >= 6.0 {
        return x.signum();
    }
    let x2 = x * x;
    let (mut term, mut sum) = (x, x);
    let mut n = 0.0;
    while term.abs() > 1e-17 * sum.abs() {
        n += 1.0;
        term *= 2.0 * x2 / (2.0 * n + 1.0);
        sum += term;
    }
    std::f64::consts::FRAC_2_SQRT_PI * (-x2).exp() * sum
}

/// Test helper of every sampled primitive: the entry of `spec`'s table (`i` → `o`) at the real
/// `x` is the real `want` to within half an output ulp (plus saturation).
#[cfg(test)]
pub(crate) fn check_entry(spec: &'static Spec, i: Fixed, o: Fixed, x: f64, want: f64) {
    let t = Approx::new(spec, i, o).expect("a supported signature");
    let operand = (x * i.scale()).round() as i64;
    let address = t.domain().encode(&[operand]).expect("an operand in the input type");
    let got = t.eval(address) as f64 / o.scale();
    assert!((got - want).abs() <= 0.5 / o.scale(), "{} at {x}: {got}, want {want}", t.name());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erf_matches_known_values() {
        // erf at 0.5, 1, 2, 3 and −1.5 (Abramowitz & Stegun, to 16 digits).
        for (x, want) in [
            (0.0, 0.0),
            (0.5, 0.520_499_877_813_046_5),
            (1.0, 0.842_700_792_949_714_9),
            (2.0, 0.995_322_265_018_952_7),
            (3.0, 0.999_977_909_503_001_4),
            (-1.5, -0.966_105_146_475_310_7),
        ] {
            assert!((erf(x) - want).abs() < 1e-14, "erf({x}) = {}, want {want}", erf(x));
        }
        assert_eq!(erf(7.0), 1.0);
        assert_eq!(erf(-40.0), -1.0);
    }

    #[test]
    fn params_round_trip_and_quantize_rounds_half_up_and_saturates() {
        let (i, o) = (Fixed::new(16, 8), Fixed::new(16, 14));
        let p = Approx::params(i, o).unwrap();
        assert_eq!(p, [0xff, 8, 14]);
        assert_eq!(Approx::params(Fixed::new(17, 8), o), None);
        let out = Fixed::new(8, 4);
        assert_eq!(quantize(0.5, out), 8);
        assert_eq!(quantize(-1.0 / 32.0, out), 0); // −0.5 ulp: ties toward +∞
        assert_eq!(quantize(1e9, out), 127);
        assert_eq!(quantize(f64::NEG_INFINITY, out), -128);
    }
}
