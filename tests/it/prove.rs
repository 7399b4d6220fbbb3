//! Whole-program proofs through the compiler's pipeline: every example and every run fixture is
//! proved and verified, proofs are deterministic and their shape is pinned, and files that do not
//! belong together or are damaged are rejected with errors.

use std::path::{Path, PathBuf};

use atlas_compiler::prove::{
    prepare_file, prove_prepared, read_inputs, tables_from_vk, verify_bytes, Proved,
};
use atlas_prover::tensor::WeightMode;
use atlas_prover::verify::tensor::verify_schedule;
use atlas_prover::F;
use atlas_vm::TableMle;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn prove_file(path: &Path, mode: WeightMode) -> Proved {
    let prepared = prepare_file(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let inputs = read_inputs(&prepared, None).expect("the default input");
    prove_prepared(&prepared, &inputs.values, mode, None)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn models() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = ["mlp", "cnn", "attention", "swish"]
        .iter()
        .map(|n| root().join(format!("examples/{n}.atl")))
        .collect();
    let fixtures = root().join("tests/it/fixtures/run");
    let mut atl: Vec<PathBuf> = std::fs::read_dir(&fixtures)
        .expect("the run fixtures folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "atl"))
        .collect();
    atl.sort();
    out.extend(atl);
    out
}

#[test]
fn every_example_and_fixture_proves_and_verifies() {
    for path in models() {
        let proved = prove_file(&path, WeightMode::Committed);
        let outputs = verify_bytes(&proved.vk.to_bytes(), &proved.file.to_bytes(), None)
            .unwrap_or_else(|e| {
                panic!("{}: {e}", path.display());
            });
        assert_eq!(outputs, proved.file.outputs, "{}", path.display());
    }
}

#[test]
fn public_weights_prove_and_verify() {
    let path = root().join("tests/it/fixtures/run/affine_relu.atl");
    let proved = prove_file(&path, WeightMode::Public);
    verify_bytes(&proved.vk.to_bytes(), &proved.file.to_bytes(), None).unwrap();
}

/// The prover draws nothing but Fiat–Shamir challenges, so the same model and input give the same
/// bytes; the proof's shape (items and sizes) and its Fiat–Shamir schedule (every absorbed item
/// and challenge, in order, as the verifier replays it) are pinned per example, so that a change
/// to either is reviewed like code.
#[test]
fn proofs_are_deterministic_and_their_shape_and_schedule_are_pinned() {
    for name in ["mlp", "cnn", "attention", "swish"] {
        let path = root().join(format!("examples/{name}.atl"));
        let a = prove_file(&path, WeightMode::Committed);
        if name == "swish" {
            let b = prove_file(&path, WeightMode::Committed);
            assert_eq!(a.file.to_bytes(), b.file.to_bytes(), "{name}: two runs differ");
        }
        insta::assert_snapshot!(format!("proof_shape_{name}"), a.file.proof.shape());
        let tables = tables_from_vk(&a.vk).expect("the key's tables");
        let refs: Vec<&dyn TableMle<F>> =
            tables.iter().map(|t| t.as_ref() as &dyn TableMle<F>).collect();
        let f = &a.file;
        let schedule = verify_schedule(&a.vk, &refs, &f.public_inputs, &f.outputs, &f.proof)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        insta::assert_snapshot!(format!("transcript_{name}"), fold_repeats(&schedule));
    }
}

/// A schedule with each run of a repeated group of up to 4 lines (a sumcheck's rounds, say)
/// written once, under `× N`, so that the snapshot reads as the protocol's structure.
fn fold_repeats(schedule: &str) -> String {
    let lines: Vec<&str> = schedule.lines().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < lines.len() {
        // The period covering the most lines with at least two repeats.
        let best = (1..=4)
            .filter(|p| i + p <= lines.len())
            .map(|p| {
                let group = &lines[i..i + p];
                let reps = (0..)
                    .take_while(|k| lines.get(i + k * p..i + (k + 1) * p) == Some(group))
                    .count();
                (p, reps)
            })
            .filter(|&(_, reps)| reps >= 2)
            .max_by_key(|&(p, reps)| (p * reps, std::cmp::Reverse(p)));
        match best {
            Some((p, reps)) => {
                out.push_str(&format!("× {reps}\n"));
                for l in &lines[i..i + p] {
                    out.push_str(&format!("    {l}\n"));
                }
                i += p * reps;
            }
            None => {
                out.push_str(lines[i]);
                out.push('\n');
                i += 1;
            }
        }
    }
    out
}

/// The golden proof: the bytes of one fixed proof, checked in. Any change to the protocol, the
/// transcript, the prover's arithmetic or the file format changes them; this test makes that a
/// deliberate, reviewed change (and the checked-in proof must still verify under today's key).
#[test]
fn the_golden_proof_is_unchanged() {
    let golden = root().join("tests/it/golden/cube_lookup.proof");
    let regenerate =
        "ATLAS_BLESS=1 cargo test -p atlas-tests --test it the_golden_proof_is_unchanged";
    let proved =
        prove_file(&root().join("tests/it/fixtures/run/cube_lookup.atl"), WeightMode::Committed);
    let bytes = proved.file.to_bytes();
    if std::env::var_os("ATLAS_BLESS").is_some() {
        std::fs::write(&golden, &bytes).expect("write the golden proof");
    }
    let stored = std::fs::read(&golden).unwrap_or_else(|e| {
        panic!("cannot read {}: {e}; create it with `{regenerate}`", golden.display())
    });
    assert!(
        stored == bytes,
        "the proof of tests/it/fixtures/run/cube_lookup.atl changed ({} bytes stored, {} now). \
         If the protocol, transcript or format changed on purpose, regenerate it with \
         `{regenerate}` and commit the new file.",
        stored.len(),
        bytes.len()
    );
    verify_bytes(&proved.vk.to_bytes(), &stored, None).expect("the golden proof verifies");
}

/// Invariant: a verifying key binds its model (program and weights).
/// Mutation: check a proof of one model against another model's key.
#[test]
fn a_proof_fails_under_another_models_key() {
    let a =
        prove_file(&root().join("tests/it/fixtures/run/affine_relu.atl"), WeightMode::Committed);
    let b =
        prove_file(&root().join("tests/it/fixtures/run/cube_lookup.atl"), WeightMode::Committed);
    assert!(verify_bytes(&b.vk.to_bytes(), &a.file.to_bytes(), None).is_err());
}

/// Invariant: the proof file's statement is what is verified, and damage never panics.
/// Mutation: change an output in the file, flip bits, truncate.
#[test]
fn damaged_proof_files_are_errors() {
    let proved =
        prove_file(&root().join("tests/it/fixtures/run/affine_relu.atl"), WeightMode::Committed);
    let vk = proved.vk.to_bytes();
    let mut file = proved.file.clone();
    file.outputs[0][0] += 1;
    let err = verify_bytes(&vk, &file.to_bytes(), None).unwrap_err();
    assert!(err.contains("invalid"), "{err}");
    let bytes = proved.file.to_bytes();
    for at in (0..bytes.len()).step_by(bytes.len() / 61 + 1) {
        let mut bad = bytes.clone();
        bad[at] ^= 0x10;
        assert!(verify_bytes(&vk, &bad, None).is_err(), "flip at byte {at} accepted");
    }
    for len in [0, 8, bytes.len() / 3, bytes.len() - 1] {
        assert!(verify_bytes(&vk, &bytes[..len], None).is_err());
    }
    assert!(verify_bytes(&vk[..vk.len() / 2], &bytes, None).unwrap_err().contains("verifying key"));
    // The proof is about its own public inputs, not about others.
    let other = vec![vec![0i64; proved.file.public_inputs[0].len()]];
    assert!(verify_bytes(&vk, &bytes, Some(&other)).is_err());
}
