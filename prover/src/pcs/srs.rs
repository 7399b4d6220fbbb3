//! The structured reference string (powers of τ) behind HyperKZG, and the keys cut from it.
//!
//! Two sources:
//!
//! - [`Srs::development`]: τ is *derived from a public string*, so anyone can forge proofs with it.
//!   It exists for tests, examples and benchmarks; [`Srs::is_development`] says so and every tool
//!   that uses it must print [`DEV_SRS_WARNING`].
//! - [`Srs::from_ptau_file`]: the output of a real powers-of-τ ceremony in snarkjs's `.ptau` format
//!   (e.g. the Perpetual Powers of Tau files), which is what production proofs must use.

use std::path::Path;
use std::sync::Arc;

use ark_bn254::{G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::{CurveGroup, PrimeGroup, ScalarMul};
use ark_ff::PrimeField;
use sha3::{Digest, Keccak256};

use super::ptau::{self, PtauError};
use super::{HyperKzgProverKey, HyperKzgVerifierKey, PcsError};
use crate::field::F;
use crate::poly::powers;

/// Printed by every tool that proves or verifies with the development SRS.
pub const DEV_SRS_WARNING: &str = "WARNING: using the DEVELOPMENT SRS. Its secret tau is derived \
from a public string, so ANYONE CAN FORGE PROOFS against it. It is NOT FOR PRODUCTION: load a \
powers-of-tau ceremony file (.ptau) instead.";

/// The public string τ is hashed from in the development SRS. Changing it changes every
/// development commitment.
const DEV_TAU_DOMAIN: &[u8] = b"atlas/pcs/dev-srs/v1: insecure development setup, tau is public";

/// The development SRS's τ: public, which is the point.
fn dev_tau() -> F {
    F::from_le_bytes_mod_order(&Keccak256::digest(DEV_TAU_DOMAIN))
}

impl HyperKzgVerifierKey {
    /// Whether this key belongs to the development SRS (any size), judged from the key itself —
    /// its `[τ]₂` — not from a flag someone could drop. A verifier that gets `true` must print
    /// [`DEV_SRS_WARNING`]: proofs against such a key prove nothing.
    pub fn is_development(&self) -> bool {
        self.tau_g2 == (G2Projective::generator() * dev_tau()).into_affine()
    }
}

impl std::fmt::Debug for Srs {
    // The powers are megabytes; show the shape, and the warning where it applies.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("Srs");
        d.field("max_num_vars", &self.max_num_vars).field("development", &self.development);
        if self.development {
            d.field("warning", &DEV_SRS_WARNING);
        }
        d.finish_non_exhaustive()
    }
}

/// The largest development SRS: 2^28 powers is 8 GiB already.
pub const MAX_DEV_NUM_VARS: usize = 28;

/// Powers `[τ^i]₁` for `i < 2^max_num_vars`, the verifier's `[τ^i]₁` for `i < 3` (kept apart: a
/// tiny SRS may have fewer powers), and `[τ^i]₂` for `i < 4`.
///
/// Invariant: `g1_powers.len() == 1 << max_num_vars`, and `g1_powers` starts with the prefix of
/// `low_g1` it has room for.
#[derive(Clone)]
pub struct Srs {
    g1_powers: Arc<Vec<G1Affine>>,
    low_g1: [G1Affine; 3],
    g2_powers: [G2Affine; 4],
    max_num_vars: usize,
    development: bool,
}

impl Srs {
    /// A deterministic SRS for polynomials of up to `max_num_vars` variables, with τ derived from
    /// a public domain string. **Not for production**: see [`DEV_SRS_WARNING`].
    pub fn development(max_num_vars: usize) -> Result<Srs, PcsError> {
        if max_num_vars > MAX_DEV_NUM_VARS {
            return Err(PcsError::TooManyVariables { max: MAX_DEV_NUM_VARS, got: max_num_vars });
        }
        let tau = dev_tau();
        let scalars = powers(tau, (1 << max_num_vars).max(3));
        // Fixed-base windowed multiplication: one table for G, then ~254/w additions per power.
        let mut g1_powers = G1Projective::generator().batch_mul(&scalars);
        let low_g1 = [g1_powers[0], g1_powers[1], g1_powers[2]];
        g1_powers.truncate(1 << max_num_vars);
        let g2 = G2Projective::generator();
        let g2_powers = powers(tau, 4);
        Ok(Srs {
            g1_powers: Arc::new(g1_powers),
            low_g1,
            g2_powers: [0, 1, 2, 3].map(|i| (g2 * g2_powers[i]).into_affine()),
            max_num_vars,
            development: true,
        })
    }

    /// Loads the first `2^max_num_vars` powers from a snarkjs `.ptau` file (BN254), checking the
    /// format, that every point read is on the curve (and, in G2, in the subgroup), and — with
    /// pairings — that the G1 powers form one geometric sequence whose ratio is the file's `[τ]₂`.
    pub fn from_ptau_file(path: &Path, max_num_vars: usize) -> Result<Srs, PtauError> {
        let file = std::fs::File::open(path)
            .map_err(|e| PtauError::Io { reason: format!("{}: {e}", path.display()) })?;
        Self::from_ptau_reader(std::io::BufReader::new(file), max_num_vars)
    }

    /// [`Srs::from_ptau_file`] over any seekable reader.
    pub fn from_ptau_reader<R: std::io::Read + std::io::Seek>(
        reader: R,
        max_num_vars: usize,
    ) -> Result<Srs, PtauError> {
        let loaded = ptau::read(reader, max_num_vars)?;
        Ok(Srs {
            g1_powers: Arc::new(loaded.g1_powers),
            low_g1: loaded.low_g1,
            g2_powers: loaded.g2_powers,
            max_num_vars,
            development: false,
        })
    }

    /// Whether this is the insecure development SRS (print [`DEV_SRS_WARNING`] if so).
    pub fn is_development(&self) -> bool {
        self.development
    }

    /// The largest number of variables a polynomial committed with this SRS may have.
    pub fn max_num_vars(&self) -> usize {
        self.max_num_vars
    }

    /// The verifier's part: `[τ^i]₁` for `i < 3`, `[τ^i]₂` for `i < 4`. It does not depend on the
    /// polynomial size.
    pub fn verifier_key(&self) -> HyperKzgVerifierKey {
        let [g1, tau_g1, tau2_g1] = self.low_g1;
        let [g2, tau_g2, tau2_g2, tau3_g2] = self.g2_powers;
        HyperKzgVerifierKey { g1, tau_g1, tau2_g1, g2, tau_g2, tau2_g2, tau3_g2 }
    }

    /// The prover key for polynomials of up to `num_vars` variables (shares the SRS's powers).
    pub fn prover_key(&self, num_vars: usize) -> Result<HyperKzgProverKey, PcsError> {
        if num_vars > self.max_num_vars {
            return Err(PcsError::TooManyVariables { max: self.max_num_vars, got: num_vars });
        }
        Ok(HyperKzgProverKey::new(Arc::clone(&self.g1_powers), num_vars))
    }

    /// Both keys for polynomials of up to `num_vars` variables.
    pub fn trim(
        &self,
        num_vars: usize,
    ) -> Result<(HyperKzgProverKey, HyperKzgVerifierKey), PcsError> {
        Ok((self.prover_key(num_vars)?, self.verifier_key()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::Bn254;
    use ark_ec::pairing::Pairing;

    #[test]
    fn development_srs_is_deterministic_and_flagged() {
        let a = Srs::development(3).unwrap();
        let b = Srs::development(3).unwrap();
        assert!(a.is_development());
        assert_eq!(a.g1_powers, b.g1_powers);
        assert_eq!(a.g1_powers.len(), 8);
        assert!(DEV_SRS_WARNING.contains("NOT FOR PRODUCTION"));
        // Consecutive powers differ by τ: e([τ^{i+1}]₁, H) = e([τ^i]₁, [τ]₂), in G2 likewise.
        let [h, tau_h, _, _] = a.g2_powers;
        for i in 0..7 {
            assert_eq!(
                Bn254::pairing(a.g1_powers[i + 1], h),
                Bn254::pairing(a.g1_powers[i], tau_h)
            );
        }
        for i in 0..3 {
            assert_eq!(
                Bn254::pairing(a.g1_powers[0], a.g2_powers[i + 1]),
                Bn254::pairing(a.g1_powers[1], a.g2_powers[i])
            );
        }
        assert_eq!(a.low_g1[..], a.g1_powers[..3]);
        // A one-power SRS still gives the verifier its three G1 powers.
        assert_eq!(Srs::development(0).unwrap().low_g1, a.low_g1);
        assert_eq!(a.g1_powers[0], G1Projective::generator().into_affine());
    }

    #[test]
    fn development_keys_are_recognised_from_the_key_alone() {
        let srs = Srs::development(1).unwrap();
        assert!(srs.verifier_key().is_development());
        assert!(format!("{srs:?}").contains("NOT FOR PRODUCTION"));
        let other = crate::pcs::ptau::tests::PtauWriter::new(F::from(77u64), 2).write();
        let real = Srs::from_ptau_reader(std::io::Cursor::new(other), 1).unwrap();
        assert!(!real.is_development());
        assert!(!real.verifier_key().is_development());
        assert!(!format!("{real:?}").contains("WARNING"));
    }

    #[test]
    fn keys_respect_the_size_limit() {
        let srs = Srs::development(2).unwrap();
        assert!(srs.prover_key(2).is_ok());
        assert_eq!(srs.prover_key(3).err(), Some(PcsError::TooManyVariables { max: 2, got: 3 }));
        assert_eq!(
            Srs::development(MAX_DEV_NUM_VARS + 1).err(),
            Some(PcsError::TooManyVariables { max: MAX_DEV_NUM_VARS, got: MAX_DEV_NUM_VARS + 1 })
        );
    }
}
