//! Commitments to one-hot matrices, column by column (see `docs/lookup.md`): column `k` of a
//! `T × K` one-hot matrix is the 0/1 vector of the rows whose one sits at `k`, so all `K` column
//! commitments together cost `T` point additions — each row adds one base into one column.

use ark_bn254::G1Projective;
use ark_ec::{AdditiveGroup, CurveGroup};
use rayon::prelude::*;

use super::{HyperKzg, HyperKzgProverKey, PcsError};
use crate::verify::hyperkzg::HyperKzgCommitment;

impl HyperKzg {
    /// The `num_columns` column commitments of the one-hot matrix whose row `j` has its one at
    /// `indices[j]` (each below `num_columns`, else an error).
    pub fn commit_one_hot_columns(
        pk: &HyperKzgProverKey,
        indices: &[usize],
        num_columns: usize,
    ) -> Result<Vec<HyperKzgCommitment>, PcsError> {
        let bases = pk.bases(indices.len())?;
        if let Some(&bad) = indices.iter().find(|&&i| i >= num_columns) {
            return Err(PcsError::OneHotIndex { index: bad, columns: num_columns });
        }
        const CHUNK: usize = 1 << 12;
        let buckets = indices
            .par_chunks(CHUNK)
            .zip(bases.par_chunks(CHUNK))
            .fold(
                || vec![G1Projective::ZERO; num_columns],
                |mut acc, (idx, base)| {
                    for (&i, b) in idx.iter().zip(base) {
                        acc[i] += b;
                    }
                    acc
                },
            )
            .reduce(
                || vec![G1Projective::ZERO; num_columns],
                |mut a, b| {
                    a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
                    a
                },
            );
        Ok(G1Projective::normalize_batch(&buckets).into_iter().map(HyperKzgCommitment).collect())
    }

    /// The commitment of the whole `T × K` one-hot matrix as one polynomial over (row, column)
    /// variables, row variables first: entry `j·K + indices[j]` is 1. Costs `T` point additions.
    pub fn commit_one_hot_matrix(
        pk: &HyperKzgProverKey,
        indices: &[usize],
        num_columns: usize,
    ) -> Result<HyperKzgCommitment, PcsError> {
        let mut c = Self::commit_one_hot_blocks(pk, indices, num_columns, num_columns)?;
        Ok(c.remove(0))
    }

    /// The `T × K` one-hot matrix cut into `K / block_columns` blocks of consecutive columns, each
    /// committed as a `T × block_columns` matrix like [`HyperKzg::commit_one_hot_matrix`] (a block
    /// row is zero where the row's one lies in another block). `T` point additions in all.
    pub fn commit_one_hot_blocks(
        pk: &HyperKzgProverKey,
        indices: &[usize],
        num_columns: usize,
        block_columns: usize,
    ) -> Result<Vec<HyperKzgCommitment>, PcsError> {
        if block_columns == 0 || num_columns % block_columns != 0 {
            return Err(PcsError::OneHotBlocks { columns: num_columns, block: block_columns });
        }
        let bases = pk.bases(indices.len() * block_columns)?;
        if let Some(&bad) = indices.iter().find(|&&i| i >= num_columns) {
            return Err(PcsError::OneHotIndex { index: bad, columns: num_columns });
        }
        let blocks = num_columns / block_columns;
        const CHUNK: usize = 1 << 12;
        let sums = indices
            .par_chunks(CHUNK)
            .enumerate()
            .fold(
                || vec![G1Projective::ZERO; blocks],
                |mut acc, (c, idx)| {
                    for (i, &a) in idx.iter().enumerate() {
                        let j = c * CHUNK + i;
                        acc[a / block_columns] += bases[j * block_columns + a % block_columns];
                    }
                    acc
                },
            )
            .reduce(
                || vec![G1Projective::ZERO; blocks],
                |mut a, b| {
                    a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
                    a
                },
            );
        Ok(G1Projective::normalize_batch(&sums).into_iter().map(HyperKzgCommitment).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pcs::hyperkzg::tests::keys;
    use crate::pcs::CommitmentScheme;
    use crate::poly::MultilinearPoly;

    #[test]
    fn columns_equal_the_commitments_of_the_column_vectors() {
        let (pk, _) = keys();
        let indices: Vec<usize> = (0..64).map(|j| (j * 7 + 3) % 16).collect();
        let cols = HyperKzg::commit_one_hot_columns(&pk, &indices, 16).unwrap();
        for (k, c) in cols.iter().enumerate() {
            let v: Vec<u8> = indices.iter().map(|&i| u8::from(i == k)).collect();
            assert_eq!(*c, HyperKzg::commit(&pk, &MultilinearPoly::U8(v)).unwrap(), "column {k}");
        }
        assert!(HyperKzg::commit_one_hot_columns(&pk, &[0, 16], 16).is_err());
    }

    #[test]
    fn the_matrix_commitment_equals_the_commitment_of_its_table() {
        let (pk, _) = keys();
        let indices: Vec<usize> = (0..16).map(|j| (j * 5 + 1) % 8).collect();
        let mut table = vec![0u8; 16 * 8];
        for (j, &i) in indices.iter().enumerate() {
            table[j * 8 + i] = 1;
        }
        let c = HyperKzg::commit_one_hot_matrix(&pk, &indices, 8).unwrap();
        assert_eq!(c, HyperKzg::commit(&pk, &MultilinearPoly::U8(table)).unwrap());
        assert!(HyperKzg::commit_one_hot_matrix(&pk, &[8], 8).is_err());
    }

    #[test]
    fn block_commitments_equal_the_commitments_of_the_blocks() {
        let (pk, _) = keys();
        let indices: Vec<usize> = (0..16).map(|j| (j * 5 + 1) % 32).collect();
        let blocks = HyperKzg::commit_one_hot_blocks(&pk, &indices, 32, 8).unwrap();
        assert_eq!(blocks.len(), 4);
        for (b, c) in blocks.iter().enumerate() {
            let mut table = vec![0u8; 16 * 8];
            for (j, &i) in indices.iter().enumerate() {
                if i / 8 == b {
                    table[j * 8 + i % 8] = 1;
                }
            }
            assert_eq!(
                *c,
                HyperKzg::commit(&pk, &MultilinearPoly::U8(table)).unwrap(),
                "block {b}"
            );
        }
        assert!(HyperKzg::commit_one_hot_blocks(&pk, &indices, 32, 6).is_err());
        assert!(HyperKzg::commit_one_hot_blocks(&pk, &[32], 32, 8).is_err());
    }
}
