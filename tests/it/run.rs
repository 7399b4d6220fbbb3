//! `atlasc run` through the library: every example against its f64 reference (differential), the
//! `.atl` fixtures under `fixtures/run/` with their expected integer outputs, and bad inputs.
//!
//! Fixture format (shared with the prover tests to come): `NAME.atl` (one model) and
//! `NAME.expected.json` = `{"input": {<input name>: nested reals}, "outputs": {<output name>:
//! nested stored integers}}`. Set `ATLAS_BLESS=1` to rewrite the expected outputs (and the
//! example weight files) from the interpreter; review the diff before committing.

use std::path::{Path, PathBuf};

use atlas_compiler::run::{default_inputs, execute, inputs_from_json, prepare_source, run_source};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde_json::{json, Value};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn bless() -> bool {
    std::env::var_os("ATLAS_BLESS").is_some()
}

/// A safetensors file of F32 tensors, written by hand (header length, JSON header, data).
fn safetensors(tensors: &[(&str, Vec<usize>, Vec<f32>)]) -> Vec<u8> {
    let mut header = Vec::new();
    let mut data = Vec::new();
    for (name, shape, values) in tensors {
        let start = data.len();
        data.extend(values.iter().flat_map(|v| v.to_le_bytes()));
        header.push(format!(
            "\"{name}\":{{\"dtype\":\"F32\",\"shape\":{shape:?},\"data_offsets\":[{start},{}]}}",
            data.len()
        ));
    }
    let mut head = format!("{{{}}}", header.join(",")).into_bytes();
    while head.len() % 8 != 0 {
        head.push(b' ');
    }
    let mut out = (head.len() as u64).to_le_bytes().to_vec();
    out.extend(head);
    out.extend(data);
    out
}

/// Seeded uniform weights in `±√(3/fan_in)` (unit-variance outputs for unit-variance inputs) and
/// biases in `±0.1`: the example weight files are exactly these.
fn example_weights(name: &str) -> Vec<u8> {
    let mut rng = ChaCha20Rng::seed_from_u64(0xa71a5);
    let mut w = |shape: &[usize], bound: f32| -> Vec<f32> {
        (0..shape.iter().product()).map(|_| rng.gen_range(-bound..bound)).collect()
    };
    let fan = |n: usize| (3.0 / n as f32).sqrt();
    match name {
        "mlp" => safetensors(&[
            ("w1", vec![64, 32], w(&[64, 32], fan(64))),
            ("b1", vec![32], w(&[32], 0.1)),
            ("w2", vec![32, 10], w(&[32, 10], fan(32))),
            ("b2", vec![10], w(&[10], 0.1)),
        ]),
        _ => safetensors(&[
            ("wq", vec![16, 16], w(&[16, 16], fan(16))),
            ("wk", vec![16, 16], w(&[16, 16], fan(16))),
            ("wv", vec![16, 16], w(&[16, 16], fan(16))),
            ("wo", vec![16, 16], w(&[16, 16], fan(16))),
        ]),
    }
}

/// `examples/mlp.safetensors` and `examples/attention.safetensors` are what [`example_weights`]
/// writes, so anyone can regenerate them.
#[test]
fn example_weight_files_are_reproducible() {
    for name in ["mlp", "attention"] {
        let path = root().join(format!("examples/{name}.safetensors"));
        let want = example_weights(name);
        if bless() {
            std::fs::write(&path, &want).expect("write the weights");
        }
        let got = std::fs::read(&path).expect("the example's weights exist");
        assert!(got == want, "{} differs from its generator", path.display());
    }
}

/// The largest error of each example's outputs against its f64 reference, on the default input
/// and on seeded random inputs in [−2, 2), stays within the documented bound (docs/language.md,
/// "Running a model"), in ulps of the output grid (2^-8 for `fix<16, 8>`): one ulp where one
/// rounding dominates (mlp, cnn), two for swish (its `swish` table's rounding passes through a
/// second layer), four for attention, whose chained products (projections, scores,
/// weights · v · wo) each round before the next.
#[test]
fn every_example_agrees_with_its_f64_reference() {
    let mut rng = ChaCha20Rng::seed_from_u64(6);
    for (name, bound) in [("mlp", 1.0), ("cnn", 1.0), ("attention", 4.0), ("swish", 2.0)] {
        let path = root().join(format!("examples/{name}.atl"));
        let text = std::fs::read_to_string(&path).expect("the example exists");
        let p = prepare_source(&format!("{name}.atl"), &text, &root().join("examples"))
            .unwrap_or_else(|r| panic!("{name}: {}", r.stderr));
        let mut worst = 0f64;
        let mut inputs = vec![default_inputs(&p.ir)];
        for _ in 0..3 {
            let mut random = default_inputs(&p.ir);
            for v in &mut random.values {
                // fix<16, 8> inputs: reals in [−2, 2).
                v.iter_mut().for_each(|x| *x = rng.gen_range(-512..512));
            }
            inputs.push(random);
        }
        for input in &inputs {
            let outs = execute(&p, input, true).unwrap_or_else(|e| panic!("{name}: {e}"));
            for o in &outs {
                let ulp = 2f64.powi(-i32::from(o.ty.elem.frac().unwrap_or(0)));
                let err = o.max_abs_error().expect("a reference was asked for");
                assert!(err <= bound * ulp, "{name}/{}: max |error| {err} > {bound} ulp", o.name);
                // Not vacuous: the outputs are not all zero.
                assert!(o.integers.iter().any(|&x| x != 0), "{name}/{}: all zero", o.name);
                worst = worst.max(err / ulp);
            }
        }
        eprintln!("{name}: max |error| {worst:.3} ulp");
    }
}

/// Every fixture under `fixtures/run/` runs to its expected integer outputs.
#[test]
fn fixtures_run_to_their_expected_outputs() {
    let dir = root().join("tests/it/fixtures/run");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("the fixture directory exists")
        .filter_map(|e| {
            let p = e.ok()?.path();
            (p.extension()? == "atl").then(|| p.file_stem()?.to_str().map(String::from))?
        })
        .collect();
    names.sort();
    assert!(names.len() >= 4, "fixtures: {names:?}");
    for name in &names {
        let text = std::fs::read_to_string(dir.join(format!("{name}.atl"))).expect("read");
        let exp_path = dir.join(format!("{name}.expected.json"));
        let expected: Value =
            serde_json::from_str(&std::fs::read_to_string(&exp_path).expect("expected file"))
                .expect("expected file is JSON");
        let p = prepare_source(&format!("{name}.atl"), &text, &dir)
            .unwrap_or_else(|r| panic!("{name}: {}", r.stderr));
        let inputs = inputs_from_json(&p.ir, &expected["input"].to_string())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let outs = execute(&p, &inputs, false).unwrap_or_else(|e| panic!("{name}: {e}"));
        let got: serde_json::Map<String, Value> = outs
            .iter()
            .map(|o| (o.name.clone(), flat_to_nested(&o.integers, &o.ty.shape)))
            .collect();
        if bless() {
            let doc = json!({ "input": expected["input"], "outputs": got });
            let text = serde_json::to_string_pretty(&doc).expect("serialise");
            std::fs::write(&exp_path, text + "\n").expect("write");
            continue;
        }
        assert_eq!(Value::Object(got), expected["outputs"], "{name}");
    }
}

fn flat_to_nested(values: &[i64], shape: &[usize]) -> Value {
    match shape.split_first() {
        None => json!(values.first().copied().unwrap_or(0)),
        Some((&n, rest)) => {
            let step: usize = rest.iter().product();
            Value::Array((0..n).map(|i| flat_to_nested(&values[i * step..], rest)).collect())
        }
    }
}

const TINY: &str = "type A = fix<8, 4>\nmodel m(x: A[2, 3]) -> A[2, 3] {\n    return x + x\n}\n";

fn run_tiny(input: &str) -> atlas_compiler::front::IrReport {
    run_source("tiny.atl", TINY, Path::new("."), Some(("in.json", input)), false, false)
}

#[test]
fn inputs_are_quantised_to_nearest_and_saturation_is_reported() {
    let r = run_tiny(r#"{"x": [[0.03125, -0.03125, 1.5], [100, -100, 0.1]]}"#);
    assert_eq!(r.exit_code, 0, "{}", r.stderr);
    // 0.03125 = half an ulp rounds up to 1/16, −half an ulp to 0; 100 saturates to 7.9375.
    assert_eq!(r.stdout, "output0: fix<8,4>[2,3]\n[[0.125, 0, 3], [7.9375, -8, 0.25]]\n");
    assert!(
        r.stderr
            .contains("input `x`: 2 of 6 values saturated to the range of fix<8,4>, [-8, 7.9375]"),
        "{}",
        r.stderr
    );
    let j = run_source(
        "tiny.atl",
        TINY,
        Path::new("."),
        Some(("in", r#"{"x": [[1,2,3],[4,5,6]]}"#)),
        true,
        true,
    );
    let v: Value = serde_json::from_str(&j.stdout).expect("--json prints JSON");
    assert_eq!(v["outputs"][0]["integers"], json!([[32, 64, 96], [127, 127, 127]]));
    assert_eq!(v["outputs"][0]["shape"], json!([2, 3]));
    assert!(v["max_abs_error"].as_f64().is_some());
}

#[test]
fn bad_inputs_are_clear_errors_not_panics() {
    let cases = [
        (
            "{\"x\": [[1, 2, 3], [4, 5]]}",
            "expected 3 elements at x[1] (shape [3] from there), found 2",
        ),
        (
            "{\"x\": [1, 2, 3, 4, 5, 6]}",
            "expected 2 elements at x (shape [2, 3] from there), found 6",
        ),
        ("{\"x\": [1, 2]}", "expected an array of shape [3] at x[0], found a number"),
        ("{\"x\": [[1, 2, \"3\"], [4, 5, 6]]}", "expected a number at x[0][2], found a string"),
        ("{}", "input `x` is missing: expected [2, 3] values of type fix<8,4>[2,3]"),
        ("{\"x\": [[1,2,3],[4,5,6]], \"y\": 1}", "the model has no input `y`; its inputs are `x`"),
        ("[1, 2]", "expected a JSON object mapping each input name to its values, found an array"),
        ("{\"x\": [[1, 2, 3]", "invalid JSON"),
    ];
    for (input, want) in cases {
        let r = run_tiny(input);
        assert_eq!(r.exit_code, 2, "{input}");
        assert!(
            r.stderr.contains("bad input `in.json`") && r.stderr.contains(want),
            "{input}: {}",
            r.stderr
        );
        assert!(r.stdout.is_empty());
    }
    let r = atlas_compiler::run::run_file(
        &root().join("examples/cnn.atl"),
        Some(&root().join("does/not/exist.json")),
        false,
        false,
    );
    assert_eq!(r.exit_code, 2);
    assert!(r.stderr.contains("cannot read the input"), "{}", r.stderr);
    let r = atlas_compiler::run::run_file(&root().join("missing.atl"), None, false, false);
    assert_eq!(r.exit_code, 2);
}

/// A `lookup` over more than 16 input bits is refused with the limit explained.
#[test]
fn a_lookup_wider_than_16_bits_is_refused_with_the_limit() {
    let src = "lookup sq(x: fix<20, 8>) -> fix<20, 8> = x * x\n\
               model m(x: fix<20, 8>[2]) -> fix<20, 8>[2] {\n    return sq(x)\n}\n";
    let r = run_source("wide.atl", src, Path::new("."), None, false, false);
    assert_eq!(r.exit_code, 1);
    assert!(r.stderr.contains("at most 16 input bits in total, found 20"), "{}", r.stderr);
    assert!(r.stderr.contains("2^16"), "{}", r.stderr);
}
