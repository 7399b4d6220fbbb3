//! The combine polynomial `g` of a decomposition: a sum of integer-weighted products of subtable
//! values, built with ordinary arithmetic so decompositions read like their math.

use std::collections::BTreeMap;
use std::ops::{Add, Mul, Neg, Sub};

/// `constant + Σ coeff · ∏ S_i` over subtable values `S_i`.
///
/// Invariant: factor lists are sorted and no two terms share one; no coefficient is zero.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Combine {
    terms: BTreeMap<Vec<usize>, i128>,
}

impl Combine {
    /// The value of subtable `i`.
    pub fn var(i: usize) -> Self {
        Combine { terms: BTreeMap::from([(vec![i], 1)]) }
    }

    pub fn constant(c: i128) -> Self {
        let mut terms = BTreeMap::new();
        if c != 0 {
            terms.insert(vec![], c);
        }
        Combine { terms }
    }

    /// The constant term.
    pub fn constant_term(&self) -> i128 {
        self.terms.get(&Vec::new()).copied().unwrap_or(0)
    }

    /// The non-constant terms: `(coefficient, factors)`.
    pub fn terms(&self) -> impl Iterator<Item = (i128, &[usize])> {
        self.terms.iter().filter(|(f, _)| !f.is_empty()).map(|(f, c)| (*c, f.as_slice()))
    }

    /// Largest number of factors in a term.
    pub fn degree(&self) -> usize {
        self.terms.keys().map(Vec::len).max().unwrap_or(0)
    }

    /// `g` at the given subtable values.
    pub fn eval(&self, vals: &[i64]) -> i128 {
        self.terms.iter().map(|(f, c)| f.iter().fold(*c, |acc, &i| acc * vals[i] as i128)).sum()
    }

    fn insert(&mut self, factors: Vec<usize>, c: i128) {
        let e = self.terms.entry(factors).or_insert(0);
        *e += c;
        if *e == 0 {
            self.terms.retain(|_, v| *v != 0);
        }
    }
}

impl Add for Combine {
    type Output = Combine;
    fn add(mut self, rhs: Combine) -> Combine {
        for (f, c) in rhs.terms {
            self.insert(f, c);
        }
        self
    }
}

impl Sub for Combine {
    type Output = Combine;
    fn sub(self, rhs: Combine) -> Combine {
        self + (-rhs)
    }
}

impl Neg for Combine {
    type Output = Combine;
    fn neg(mut self) -> Combine {
        self.terms.values_mut().for_each(|c| *c = -*c);
        self
    }
}

impl Mul for Combine {
    type Output = Combine;
    fn mul(self, rhs: Combine) -> Combine {
        let mut out = Combine::default();
        for (fa, ca) in &self.terms {
            for (fb, cb) in &rhs.terms {
                let mut f = fa.clone();
                f.extend_from_slice(fb);
                f.sort_unstable();
                out.insert(f, ca * cb);
            }
        }
        out
    }
}

impl Mul<Combine> for i128 {
    type Output = Combine;
    fn mul(self, rhs: Combine) -> Combine {
        Combine::constant(self) * rhs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_normalizes() {
        let (a, b) = (Combine::var(0), Combine::var(1));
        let g =
            (a.clone() + Combine::constant(2)) * (b.clone() - a.clone()) + a.clone() * a.clone();
        // (a + 2)(b − a) + a² = ab + 2b − 2a
        assert_eq!(g.eval(&[3, 5]), 3 * 5 + 2 * 5 - 2 * 3);
        assert_eq!(g.degree(), 2);
        assert_eq!(g.terms().count(), 3);
        assert_eq!((g.clone() - g).terms().count(), 0);
    }
}
