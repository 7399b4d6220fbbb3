//! The table registry: **a list**, one line per table kind, so proofs and programs can name a
//! table by its [`TableId`] (kind byte + three parameter bytes) and anyone can rebuild it.
//!
//! Adding a primitive = one file under `tables/` (the struct, `KIND`, `from_params`, `eval`, the
//! MLE, the decomposition) + one line in [`kinds`]. The line's `examples` are the parameters the
//! shared battery (`battery.rs`) instantiates, so a new kind is tested as soon as it is listed; the
//! registry's own tests require an example of at most 8 address bits for every buildable kind.
//!
//! Kind ids are stable: they are hashed into proofs and program digests. Never renumber or reuse
//! one; `ids_are_stable` pins them.

use std::marker::PhantomData;

use ark_ff::PrimeField;
use atlas_vm::{TableId, TableMle};

use crate::tables::{
    abs, clamp, compare, cos, dense, equal, erf, exp, gelu, gelu_tanh, leaky_relu, range, recip,
    relu, rsqrt, shift, sigmoid, sin, sqrt, tanh, Approx, Clamp, Equal, LessThan, RangeCheck, Relu,
    Shift, Spec, StdlibError,
};

/// A table built by the registry, as the prover and verifier see it.
pub type BoxedTable<F> = Box<dyn TableMle<F>>;

/// One table kind.
pub struct Kind<F> {
    /// The kind byte of its ids.
    pub id: u8,
    pub name: &'static str,
    /// Builds the table from its parameter bytes (the low three bytes of its id).
    pub make: fn([u8; 3]) -> Result<BoxedTable<F>, StdlibError>,
    /// Parameters the shared battery tests; at least one at 8-bit address width.
    pub examples: &'static [[u8; 3]],
}

/// `Box`es a freshly built table (a helper so each registry line stays one line).
fn boxed<F: PrimeField, T: TableMle<F> + 'static>(
    t: Result<T, StdlibError>,
) -> Result<BoxedTable<F>, StdlibError> {
    Ok(Box::new(t?))
}

/// A sampled primitive of `spec` from its parameter bytes (see `tables/approx.rs`).
fn approx<F: PrimeField>(spec: &'static Spec, p: [u8; 3]) -> Result<BoxedTable<F>, StdlibError> {
    boxed(Approx::from_params(spec, p))
}

/// Holds the list as an associated const: a generic `static` is not allowed, and the constructors
/// are generic over the field.
struct Registry<F>(PhantomData<F>);

impl<F: PrimeField> Registry<F> {
    #[rustfmt::skip]
    const KINDS: &'static [Kind<F>] = &[
        Kind { id: range::KIND, name: "range", make: |p| boxed(RangeCheck::from_params(p)), examples: &[[8, 0, 0], [4, 0, 0], [16, 0, 0], [32, 0, 0]] },
        Kind { id: relu::KIND, name: "relu", make: |p| boxed(Relu::from_params(p)), examples: &[[8, 0, 0], [1, 0, 0], [16, 0, 0], [32, 0, 0]] },
        Kind { id: clamp::KIND, name: "clamp", make: |p| boxed(Clamp::from_params(p)), examples: &[[8, 4, 0], [8, 1, 0], [8, 7, 0], [16, 8, 0], [32, 8, 0], [32, 16, 0]] },
        Kind { id: shift::KIND, name: "shift", make: |p| boxed(Shift::from_params(p)), examples: &[[8, 3, 0], [8, 3, 1], [8, 1, 1], [8, 7, 0], [8, 7, 1], [32, 8, 0], [32, 8, 1], [32, 16, 1], [16, 12, 1], [24, 1, 1]] },
        Kind { id: compare::KIND, name: "lt", make: |p| boxed(LessThan::from_params(p)), examples: &[[4, 0, 0], [4, 1, 0], [3, 1, 0], [8, 0, 0], [16, 1, 0], [32, 0, 0], [32, 1, 0]] },
        Kind { id: equal::KIND, name: "eq", make: |p| boxed(Equal::from_params(p)), examples: &[[4, 0, 0], [4, 1, 0], [8, 1, 0], [16, 0, 0], [32, 1, 0]] },
        Kind { id: dense::KIND, name: "dense", make: |_| Err(StdlibError::ProgramLocal { kind: dense::KIND, name: "dense" }), examples: &[] },
        // Sampled primitives: params `[(in_bits − 1)·16 + (out_bits − 1), in_frac, out_frac]`.
        Kind { id: leaky_relu::KIND, name: "leaky_relu", make: |p| approx(&leaky_relu::SPEC, p), examples: &[[0x77, 4, 4], [0xff, 8, 8]] },
        Kind { id: sigmoid::KIND, name: "sigmoid", make: |p| approx(&sigmoid::SPEC, p), examples: &[[0x77, 4, 7], [0xff, 8, 14]] },
        Kind { id: tanh::KIND, name: "tanh", make: |p| approx(&tanh::SPEC, p), examples: &[[0x77, 5, 6], [0xff, 8, 14]] },
        Kind { id: gelu::KIND, name: "gelu", make: |p| approx(&gelu::SPEC, p), examples: &[[0x77, 4, 4], [0xff, 8, 8]] },
        Kind { id: gelu_tanh::KIND, name: "gelu_tanh", make: |p| approx(&gelu_tanh::SPEC, p), examples: &[[0x77, 4, 4], [0xff, 8, 8]] },
        Kind { id: erf::KIND, name: "erf", make: |p| approx(&erf::SPEC, p), examples: &[[0x77, 5, 6], [0xff, 8, 14]] },
        Kind { id: exp::KIND, name: "exp", make: |p| approx(&exp::SPEC, p), examples: &[[0x77, 4, 6], [0x7f, 4, 14], [0xff, 8, 14]] },
        Kind { id: recip::KIND, name: "recip", make: |p| approx(&recip::SPEC, p), examples: &[[0x77, 4, 4], [0xff, 11, 14]] },
        Kind { id: rsqrt::KIND, name: "rsqrt", make: |p| approx(&rsqrt::SPEC, p), examples: &[[0x77, 4, 4], [0xff, 8, 11]] },
        Kind { id: sqrt::KIND, name: "sqrt", make: |p| approx(&sqrt::SPEC, p), examples: &[[0x77, 4, 4], [0xff, 8, 8]] },
        Kind { id: sin::KIND, name: "sin", make: |p| approx(&sin::SPEC, p), examples: &[[0x77, 5, 6], [0xff, 12, 14]] },
        Kind { id: cos::KIND, name: "cos", make: |p| approx(&cos::SPEC, p), examples: &[[0x77, 5, 6], [0xff, 12, 14]] },
        Kind { id: abs::KIND, name: "abs", make: |p| approx(&abs::SPEC, p), examples: &[[0x77, 4, 4], [0xff, 8, 8]] },
    ];
}

/// Every table kind, in id order.
pub fn kinds<F: PrimeField>() -> &'static [Kind<F>] {
    Registry::<F>::KINDS
}

/// The registry line of kind `id`.
pub fn kind<F: PrimeField>(id: u8) -> Option<&'static Kind<F>> {
    kinds::<F>().iter().find(|k| k.id == id)
}

/// Rebuilds the table `id` names. `UnknownKind` for an unlisted kind, `ProgramLocal` for dense
/// tables (the program resolves those), `BadParams`/`Table` for parameters the kind refuses.
pub fn table_by_id<F: PrimeField>(id: TableId) -> Result<BoxedTable<F>, StdlibError> {
    let k = kind::<F>(id.kind()).ok_or(StdlibError::UnknownKind { kind: id.kind() })?;
    let [_, a, b, c] = id.0.to_be_bytes();
    (k.make)([a, b, c])
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::Fr;

    /// `SAMPLED` (what `.atl` can call) lists exactly the registry's sampled kinds (8 and up),
    /// in order, each under its registry name.
    #[test]
    fn sampled_list_matches_the_registry() {
        let registry: Vec<(u8, &str)> =
            kinds::<Fr>().iter().filter(|k| k.id >= 8).map(|k| (k.id, k.name)).collect();
        let sampled: Vec<(u8, &str)> = crate::SAMPLED.iter().map(|s| (s.kind, s.name)).collect();
        assert_eq!(sampled, registry);
    }

    #[test]
    fn ids_are_stable() {
        let listed: Vec<(u8, &str)> = kinds::<Fr>().iter().map(|k| (k.id, k.name)).collect();
        assert_eq!(
            listed,
            [
                (1, "range"),
                (2, "relu"),
                (3, "clamp"),
                (4, "shift"),
                (5, "lt"),
                (6, "eq"),
                (7, "dense"),
                (8, "leaky_relu"),
                (9, "sigmoid"),
                (10, "tanh"),
                (11, "gelu"),
                (12, "gelu_tanh"),
                (13, "erf"),
                (14, "exp"),
                (15, "recip"),
                (16, "rsqrt"),
                (17, "sqrt"),
                (18, "sin"),
                (19, "cos"),
                (20, "abs"),
            ]
        );
    }

    #[test]
    fn every_example_round_trips_and_kinds_have_small_examples() {
        for k in kinds::<Fr>() {
            if k.examples.is_empty() {
                // Only program-local kinds may go untested here (dense.rs runs the battery on its
                // own samples).
                let err = (k.make)([0, 0, 0]).err();
                assert_eq!(err, Some(StdlibError::ProgramLocal { kind: k.id, name: k.name }));
                continue;
            }
            let mut has_small = false;
            for &p in k.examples {
                let t = (k.make)(p).unwrap_or_else(|e| panic!("{} {p:?}: {e}", k.name));
                let id = TableId::new(k.id, p);
                assert_eq!(t.id(), id, "{}: id of {p:?}", t.name());
                let again = table_by_id::<Fr>(id).unwrap();
                assert_eq!((again.id(), again.name()), (id, t.name()));
                has_small |= t.domain().address_bits() <= 8;
            }
            assert!(has_small, "kind {} has no example of at most 8 address bits", k.name);
        }
    }

    #[test]
    fn unknown_and_program_local_ids_are_errors() {
        assert_eq!(
            table_by_id::<Fr>(TableId::new(0, [8, 0, 0])).err(),
            Some(StdlibError::UnknownKind { kind: 0 })
        );
        assert_eq!(
            table_by_id::<Fr>(TableId::new(200, [8, 0, 0])).err(),
            Some(StdlibError::UnknownKind { kind: 200 })
        );
        assert!(matches!(
            table_by_id::<Fr>(TableId::new(dense::KIND, [0, 1, 0])),
            Err(StdlibError::ProgramLocal { .. })
        ));
        // A listed kind with parameters it refuses.
        assert!(matches!(
            table_by_id::<Fr>(TableId::new(relu::KIND, [40, 0, 0])),
            Err(StdlibError::BadParams { .. })
        ));
    }
}
