//! Multilinear and univariate polynomials over [`F`](crate::field::F).
//!
//! # The canonical variable order
//!
//! A multilinear polynomial in `n` variables is stored as its `2^n` evaluations on the boolean
//! hypercube. Entry `i` holds the value at `(x_0, …, x_{n-1})` where **`x_0` is the most significant
//! bit of `i`** and `x_{n-1}` the least (MSB-first). A row-major tensor padded to powers of two is
//! therefore the MLE whose first variables select the row and last variables the column.
//! Every point in this crate is written in that order.
//!
//! Sumcheck binds variables *low to high*: round 0 binds `x_{n-1}` (adjacent entries `2j`, `2j+1`),
//! which keeps binding in place and cache friendly. The sumcheck reports its point in the canonical
//! order nonetheless (see [`crate::sumcheck`]).

mod eq;
mod multilinear;
mod unipoly;

pub use eq::{eq_eval, eq_evals, eq_evals_serial, SplitEq};
pub use multilinear::{DensePoly, MultilinearPoly};
pub use unipoly::UniPoly;

use crate::field::F;
use ark_ff::{Field, One};

/// `1, g, g², …, g^(n-1)`.
pub fn powers(g: F, n: usize) -> Vec<F> {
    let mut out = Vec::with_capacity(n);
    let mut acc = F::one();
    for _ in 0..n {
        out.push(acc);
        acc *= g;
    }
    out
}

/// Number of variables of a table of `len` entries: `len` must be a power of two.
pub fn log2_exact(len: usize) -> Option<usize> {
    len.is_power_of_two().then(|| len.trailing_zeros() as usize)
}

/// The MLE of `values` (zero-padded to `2^point.len()`) at `point`, on one thread: what the
/// verifier uses for public vectors. `None` if there are more values than the point addresses.
pub fn evaluate_serial(values: impl IntoIterator<Item = F>, point: &[F]) -> Option<F> {
    let mut cur: Vec<F> = values.into_iter().collect();
    if cur.len() > 1 << point.len() {
        return None;
    }
    cur.resize(1 << point.len(), F::from(0u64));
    for r in point.iter().rev() {
        let half = cur.len() / 2;
        for j in 0..half {
            let (a, b) = (cur[2 * j], cur[2 * j + 1]);
            cur[j] = a + *r * (b - a);
        }
        cur.truncate(half);
    }
    cur.first().copied()
}

/// `x^e` for small exponents, used by tests and benches.
pub fn pow(x: F, e: u64) -> F {
    x.pow([e])
}
