//! The prover of a row-form table's combine ([`crate::verify::lookup::RowCombineClaim`]).
//!
//! The first `t` rounds are the ordinary product sumcheck over the indicator and row reads. Once
//! the query variables are bound to `r1`, the instance switches to the `2^k`-entry tables
//! `A(h) = ra_0(r1, h)` and `B(h) = R(r1, h)` (the row reads at `r1`, zero for the rows the
//! decomposition leaves out) and binds the row variables on `eq(r, r1)·A·B`.

use crate::field::F;
use crate::poly::{eq_eval, eq_evals, MultilinearPoly, UniPoly};
use crate::sumcheck::{ProductSumcheck, SumcheckInstance};
use crate::verify::Term;

use super::chunk::bucket_sums;

enum Phase {
    Queries(ProductSumcheck),
    Rows(ProductSumcheck),
}

pub(crate) struct RowCombine<'a> {
    t: usize,
    k: usize,
    claim: F,
    phase: Phase,
    /// Chunk 0 (the row) of every padded query.
    hi: &'a [usize],
    /// The row of each (indicator, row) subtable pair, in the decomposition's order.
    rows: Vec<usize>,
    eq_point: Vec<F>,
    /// Query challenges in binding order (least significant first).
    bound: Vec<F>,
}

impl<'a> RowCombine<'a> {
    /// `reads` are the decomposition's subtable reads (indicator, row, indicator, row, …) over the
    /// padded queries, `rows` the row of each pair, `hi` each query's row, `claim` the output claim.
    pub(crate) fn new(
        reads: Vec<MultilinearPoly>,
        rows: Vec<usize>,
        hi: &'a [usize],
        k: usize,
        eq_point: Vec<F>,
        claim: F,
    ) -> Self {
        let terms = (0..rows.len()).map(|i| Term::product(vec![2 * i, 2 * i + 1])).collect();
        let inner = ProductSumcheck::new(reads, terms, Some(eq_point.clone()), claim)
            .expect("the reads share the query count and the point has its variables");
        RowCombine {
            t: eq_point.len(),
            k,
            claim,
            phase: Phase::Queries(inner),
            hi,
            rows,
            eq_point,
            bound: Vec::new(),
        }
    }

    /// Moves to the row rounds once the query variables are bound.
    fn start_rows(&mut self, finals: &[F]) {
        let r1: Vec<F> = self.bound.iter().rev().copied().collect();
        let n = 1usize << self.k;
        let a = bucket_sums(self.hi, &eq_evals(&r1), n);
        let mut b = vec![F::default(); n];
        for (i, &h) in self.rows.iter().enumerate() {
            b[h] = finals[2 * i + 1];
        }
        let scale = eq_eval(&self.eq_point, &r1);
        let claim = scale * a.iter().zip(&b).map(|(x, y)| *x * y).sum::<F>();
        let inner = ProductSumcheck::new(
            vec![MultilinearPoly::Dense(a), MultilinearPoly::Dense(b)],
            vec![Term::new(scale, vec![0, 1])],
            None,
            claim,
        )
        .expect("two tables over the row variables");
        self.phase = Phase::Rows(inner);
    }
}

impl SumcheckInstance for RowCombine<'_> {
    fn num_rounds(&self) -> usize {
        self.t + self.k
    }

    fn degree(&self) -> usize {
        3
    }

    fn input_claim(&self) -> F {
        self.claim
    }

    fn round_poly(&mut self, claim: F) -> UniPoly {
        match &mut self.phase {
            Phase::Queries(p) | Phase::Rows(p) => p.round_poly(claim),
        }
    }

    fn bind(&mut self, r: F) {
        let finals = match &mut self.phase {
            Phase::Queries(p) => {
                p.bind(r);
                self.bound.push(r);
                (self.bound.len() == self.t).then(|| p.final_evals())
            }
            Phase::Rows(p) => {
                p.bind(r);
                None
            }
        };
        if let Some(finals) = finals {
            self.start_rows(&finals);
        }
    }

    fn eq_rounds(&self) -> Vec<F> {
        // The query rounds come first and carry eq(r, ·); the row rounds have no eq factor.
        self.eq_point.iter().rev().copied().collect()
    }

    fn final_evals(&self) -> Vec<F> {
        match &self.phase {
            Phase::Rows(p) => p.final_evals(),
            Phase::Queries(_) => Vec::new(),
        }
    }
}
