//! Multilinear polynomials stored by their hypercube evaluations.

use ark_ff::Zero;
use rayon::prelude::*;

use crate::field::{from_i128, from_i64, F};

/// Below this many entries, binding runs on one thread: rayon's overhead would dominate.
const PAR_THRESHOLD: usize = 1 << 12;

/// A dense field table; the representation every [`MultilinearPoly`] ends in once bound.
pub type DensePoly = Vec<F>;

/// A multilinear polynomial given by its `2^n` evaluations (MSB-first, see [`crate::poly`]).
///
/// Tensor values, one-hot address chunks and remainders are small integers; they are kept in a
/// compact integer form until the first bind, which is where they first stop being integers. This
/// saves memory (1–8 bytes instead of 32 per entry) and lets the first sumcheck round and the
/// commitment use integer arithmetic.
///
/// Invariant: the number of entries is a power of two.
#[derive(Clone, Debug, PartialEq)]
pub enum MultilinearPoly {
    U8(Vec<u8>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    Dense(DensePoly),
}

/// Why a table cannot be a multilinear polynomial.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a multilinear polynomial needs a power-of-two number of evaluations, found {len}")]
pub struct NotPowerOfTwo {
    pub len: usize,
}

impl MultilinearPoly {
    fn check(len: usize) -> Result<(), NotPowerOfTwo> {
        if len.is_power_of_two() {
            Ok(())
        } else {
            Err(NotPowerOfTwo { len })
        }
    }

    pub fn from_field(evals: Vec<F>) -> Result<Self, NotPowerOfTwo> {
        Self::check(evals.len())?;
        Ok(MultilinearPoly::Dense(evals))
    }

    pub fn from_u8(evals: Vec<u8>) -> Result<Self, NotPowerOfTwo> {
        Self::check(evals.len())?;
        Ok(MultilinearPoly::U8(evals))
    }

    pub fn from_i32(evals: Vec<i32>) -> Result<Self, NotPowerOfTwo> {
        Self::check(evals.len())?;
        Ok(MultilinearPoly::I32(evals))
    }

    pub fn from_i64(evals: Vec<i64>) -> Result<Self, NotPowerOfTwo> {
        Self::check(evals.len())?;
        Ok(MultilinearPoly::I64(evals))
    }

    /// Pads `values` with zeros to the next power of two (at least one entry).
    pub fn padded_i64(mut values: Vec<i64>) -> Self {
        let n = values.len().max(1).next_power_of_two();
        values.resize(n, 0);
        MultilinearPoly::I64(values)
    }

    pub fn len(&self) -> usize {
        match self {
            MultilinearPoly::U8(v) => v.len(),
            MultilinearPoly::I32(v) => v.len(),
            MultilinearPoly::I64(v) => v.len(),
            MultilinearPoly::Dense(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn num_vars(&self) -> usize {
        self.len().trailing_zeros() as usize
    }

    /// Whether the polynomial is still in a compact integer form.
    pub fn is_small(&self) -> bool {
        !matches!(self, MultilinearPoly::Dense(_))
    }

    /// Entry `i` as a field element.
    #[inline]
    pub fn get(&self, i: usize) -> F {
        match self {
            MultilinearPoly::U8(v) => F::from(v[i] as u64),
            MultilinearPoly::I32(v) => from_i64(v[i] as i64),
            MultilinearPoly::I64(v) => from_i64(v[i]),
            MultilinearPoly::Dense(v) => v[i],
        }
    }

    /// Entry `i` as an integer, if the polynomial is still compact.
    #[inline]
    pub fn get_small(&self, i: usize) -> Option<i64> {
        match self {
            MultilinearPoly::U8(v) => Some(v[i] as i64),
            MultilinearPoly::I32(v) => Some(v[i] as i64),
            MultilinearPoly::I64(v) => Some(v[i]),
            MultilinearPoly::Dense(_) => None,
        }
    }

    /// Largest `|entry|` as a bit count, for compact forms.
    pub fn small_bits(&self) -> Option<u32> {
        let bits = |m: u64| 64 - m.leading_zeros();
        match self {
            MultilinearPoly::U8(_) => Some(8),
            MultilinearPoly::I32(_) => Some(32),
            MultilinearPoly::I64(v) => Some(bits(v.iter().map(|x| x.unsigned_abs()).max()?)),
            MultilinearPoly::Dense(_) => None,
        }
    }

    /// All entries as field elements.
    pub fn to_field(&self) -> Vec<F> {
        match self {
            MultilinearPoly::Dense(v) => v.clone(),
            _ => (0..self.len()).into_par_iter().map(|i| self.get(i)).collect(),
        }
    }

    /// Binds the last variable `x_{n-1}` to `r`: entry `j` becomes `p[2j] + r·(p[2j+1] − p[2j])`.
    /// A compact polynomial becomes dense here.
    pub fn bind_low(&mut self, r: F) {
        assert!(self.len() >= 2, "bind_low on a polynomial with no variables");
        let half = self.len() / 2;
        match self {
            MultilinearPoly::Dense(v) => {
                if half >= PAR_THRESHOLD {
                    let out: Vec<F> = v.par_chunks(2).map(|p| p[0] + r * (p[1] - p[0])).collect();
                    *v = out;
                } else {
                    for j in 0..half {
                        let (a, b) = (v[2 * j], v[2 * j + 1]);
                        v[j] = a + r * (b - a);
                    }
                    v.truncate(half);
                }
            }
            MultilinearPoly::U8(v) => {
                // Differences lie in [-255, 255]: r·d for all of them is a 511-entry table, and
                // each output entry costs one addition.
                let base: Vec<F> = (0..256u64).map(F::from).collect();
                let mut rd = vec![F::zero(); 511];
                for (i, slot) in rd.iter_mut().enumerate() {
                    *slot = r * from_i64(i as i64 - 255);
                }
                let out: Vec<F> = v
                    .par_chunks(2)
                    .map(|p| base[p[0] as usize] + rd[(p[1] as i64 - p[0] as i64 + 255) as usize])
                    .collect();
                *self = MultilinearPoly::Dense(out);
            }
            MultilinearPoly::I32(v) => {
                let out: Vec<F> = v
                    .par_chunks(2)
                    .map(|p| from_i64(p[0] as i64) + r * from_i64(p[1] as i64 - p[0] as i64))
                    .collect();
                *self = MultilinearPoly::Dense(out);
            }
            MultilinearPoly::I64(v) => {
                let out: Vec<F> = v
                    .par_chunks(2)
                    .map(|p| from_i64(p[0]) + r * from_i128(p[1] as i128 - p[0] as i128))
                    .collect();
                *self = MultilinearPoly::Dense(out);
            }
        }
    }

    /// The value at `point` (canonical MSB-first order, `point.len() == num_vars`).
    pub fn evaluate(&self, point: &[F]) -> F {
        assert_eq!(point.len(), self.num_vars(), "evaluation point has the wrong dimension");
        if point.is_empty() {
            return self.get(0);
        }
        let mut p = self.clone();
        for r in point.iter().rev() {
            p.bind_low(*r);
        }
        p.get(0)
    }

    /// The evaluations with the *first* `k` variables fixed to `prefix` (MSB-first), leaving a table
    /// over the remaining variables. Used to move a claim on a tensor to one of its rows.
    pub fn fix_high(&self, prefix: &[F]) -> Vec<F> {
        let eq = super::eq_evals(prefix);
        let rest = self.len() >> prefix.len();
        (0..rest)
            .into_par_iter()
            .map(|j| eq.iter().enumerate().map(|(i, e)| *e * self.get(i * rest + j)).sum())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::poly::eq_evals;
    use ark_std::UniformRand;

    fn by_eq(p: &MultilinearPoly, point: &[F]) -> F {
        eq_evals(point).iter().enumerate().map(|(i, e)| *e * p.get(i)).sum()
    }

    #[test]
    fn evaluate_agrees_with_eq_dot_product_for_every_representation() {
        let mut rng = ark_std::test_rng();
        let raw: Vec<i64> = (0..64).map(|i| (i * 37 % 251) - 100).collect();
        let polys = [
            MultilinearPoly::from_u8(raw.iter().map(|x| (x + 100) as u8).collect()).unwrap(),
            MultilinearPoly::from_i32(raw.iter().map(|x| *x as i32 * 1000).collect()).unwrap(),
            MultilinearPoly::from_i64(raw.iter().map(|x| x << 40).collect()).unwrap(),
            MultilinearPoly::from_field((0..64).map(|_| F::rand(&mut rng)).collect()).unwrap(),
        ];
        let point: Vec<F> = (0..6).map(|_| F::rand(&mut rng)).collect();
        for p in &polys {
            assert_eq!(p.evaluate(&point), by_eq(p, &point));
            // On the hypercube the MLE is the table.
            assert_eq!(
                p.evaluate(&[
                    F::zero(),
                    F::from(1u64),
                    F::zero(),
                    F::zero(),
                    F::zero(),
                    F::from(1u64)
                ]),
                p.get(0b010001)
            );
        }
    }

    #[test]
    fn fix_high_moves_the_claim() {
        let mut rng = ark_std::test_rng();
        let p = MultilinearPoly::from_field((0..32).map(|_| F::rand(&mut rng)).collect()).unwrap();
        let point: Vec<F> = (0..5).map(|_| F::rand(&mut rng)).collect();
        let rows = MultilinearPoly::from_field(p.fix_high(&point[..2])).unwrap();
        assert_eq!(rows.evaluate(&point[2..]), p.evaluate(&point));
    }

    #[test]
    fn rejects_non_power_of_two() {
        assert_eq!(MultilinearPoly::from_i32(vec![1, 2, 3]), Err(NotPowerOfTwo { len: 3 }));
        assert_eq!(MultilinearPoly::padded_i64(vec![1, 2, 3]).len(), 4);
    }
}
