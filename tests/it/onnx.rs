//! ONNX import: every generated test model (tests/onnx/make_models.py; one per supported op, a
//! few networks, some the importer must refuse) is imported, run against the ONNX reference
//! evaluator's float output, and proved and verified; damaged files never panic.

use std::path::{Path, PathBuf};

use atlas_compiler::import::{import_file, prepare_onnx, OnnxOptions, OnnxRun};
use atlas_compiler::onnx;
use atlas_compiler::prove::{prepare_file, prove_prepared, read_inputs, verify_bytes};
use atlas_compiler::run::execute;
use atlas_prover::tensor::WeightMode;
use serde_json::Value as Json;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("it/fixtures/onnx")
}

/// Every `(model, spec)` pair, sorted by name.
fn models() -> Vec<(PathBuf, Json)> {
    let mut out: Vec<(PathBuf, Json)> = std::fs::read_dir(fixtures())
        .expect("the onnx fixtures folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "onnx"))
        .map(|p| {
            let text = std::fs::read_to_string(p.with_extension("json")).expect("the spec");
            (p, serde_json::from_str(&text).expect("a JSON spec"))
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(out.len() >= 60, "expected the generated models, found {}", out.len());
    out
}

fn flat(v: &Json, out: &mut Vec<f64>) {
    match v {
        Json::Array(items) => items.iter().for_each(|i| flat(i, out)),
        Json::Number(n) => out.push(n.as_f64().expect("a number")),
        other => panic!("expected numbers, found {other}"),
    }
}

/// The spec's input, written where `prepare_onnx` reads it.
fn input_file(model: &Path, spec: &Json) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("onnx-inputs");
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    let path = dir.join(model.file_name().expect("a name")).with_extension("input.json");
    std::fs::write(&path, spec["input"].to_string()).expect("the input file");
    path
}

fn prepare(model: &Path, spec: &Json) -> OnnxRun {
    let input = input_file(model, spec);
    prepare_onnx(model, Some(&input), &OnnxOptions::default())
        .unwrap_or_else(|e| panic!("{}: {e}", model.display()))
}

fn accepted() -> impl Iterator<Item = (PathBuf, Json)> {
    models().into_iter().filter(|(_, s)| s.get("error").is_none())
}

#[test]
fn every_model_matches_the_onnx_reference_within_its_tolerance() {
    for (model, spec) in accepted() {
        let run = prepare(&model, &spec);
        let mut expected = Vec::new();
        flat(&spec["output"], &mut expected);
        // The importer's own f64 evaluation is the float graph: it agrees with ONNX's.
        let ev = onnx::evaluate(&run.imported.graph, &run.input_reals).expect("the f64 graph");
        let float = &ev.values[&run.imported.graph.outputs[0]].data;
        assert_eq!(float.len(), expected.len(), "{}", model.display());
        for (a, b) in float.iter().zip(&expected) {
            assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "{}: f64 {a} vs {b}", model.display());
        }
        // The fixed-point program.
        let outs = execute(&run.prepared, &run.inputs, false).expect("runs");
        let tol = spec["tolerance"].as_f64().expect("a tolerance");
        let worst =
            outs[0].reals.iter().zip(&expected).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        assert!(worst <= tol, "{}: max |error| {worst} > {tol}", model.display());
    }
}

#[test]
fn every_model_proves_and_verifies() {
    for (model, spec) in accepted() {
        let run = prepare(&model, &spec);
        let proved = prove_prepared(&run.prepared, &run.inputs.values, WeightMode::Committed, None)
            .unwrap_or_else(|e| panic!("{}: {e}", model.display()));
        let outputs = verify_bytes(&proved.vk.to_bytes(), &proved.file.to_bytes(), None)
            .unwrap_or_else(|e| panic!("{}: {e}", model.display()));
        let ran = execute(&run.prepared, &run.inputs, false).expect("runs");
        assert_eq!(outputs[0], ran[0].integers, "{}", model.display());
    }
}

#[test]
fn refused_models_name_the_node_the_op_and_the_reason() {
    let mut seen = 0;
    for (model, spec) in models() {
        let Some(why) = spec.get("error").and_then(Json::as_str) else { continue };
        seen += 1;
        let input = input_file(&model, &spec);
        let err = match prepare_onnx(&model, Some(&input), &OnnxOptions::default()) {
            Ok(_) => panic!("{} was accepted", model.display()),
            Err(e) => e.to_string(),
        };
        assert!(err.contains(why), "{}: expected `{why}` in: {err}", model.display());
        assert!(err.contains(&model.display().to_string()), "{err}");
    }
    assert!(seen >= 4);
}

#[test]
fn an_unsupported_op_lists_the_supported_set_and_the_opset() {
    let model = fixtures().join("refuse_lstm_like.onnx");
    let g = onnx::graph::read(&model).expect("decodes");
    let err = match onnx::import(&g, &onnx::default_inputs(&g), Default::default(), "w", "t") {
        Ok(_) => panic!("accepted"),
        Err(e) => e,
    };
    assert!(err.contains("(HardSwish)") && err.contains("opset 17"), "{err}");
    assert!(err.contains("Gemm") && err.contains("Softmax"), "{err}");
}

/// Invariant: decoding and importing never panic, whatever the bytes.
/// Mutation: truncations at every length step and single-byte changes across the file.
#[test]
fn damaged_files_are_errors_never_panics() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(8);
    for name in ["net_mlp", "net_attention", "conv_bn_folded", "shape_subgraph"] {
        let bytes = std::fs::read(fixtures().join(format!("{name}.onnx"))).expect("the model");
        let attempt = |b: &[u8]| {
            if let Ok(g) = onnx::graph::decode(b, Path::new("/nonexistent")) {
                let _ = onnx::import(&g, &onnx::default_inputs(&g), Default::default(), "w", "t");
            }
        };
        let step = (bytes.len() / 97).max(1);
        for cut in (0..bytes.len()).step_by(step) {
            attempt(&bytes[..cut]);
        }
        for _ in 0..300 {
            let mut b = bytes.clone();
            let at = rng.gen_range(0..b.len());
            b[at] = rng.gen();
            attempt(&b);
        }
    }
    assert!(onnx::graph::decode(b"not a model", Path::new(".")).is_err());
}

/// `atlasc import` writes a program that compiles on its own and computes exactly what the
/// ONNX path runs.
#[test]
fn the_imported_program_is_the_program_that_runs() {
    let model = fixtures().join("net_attention.onnx");
    let spec: Json = serde_json::from_str(
        &std::fs::read_to_string(model.with_extension("json")).expect("the spec"),
    )
    .expect("JSON");
    let input = input_file(&model, &spec);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("onnx-import");
    std::fs::create_dir_all(&dir).expect("a folder");
    let atl = dir.join("net_attention.atl");
    let opts = OnnxOptions { calibrate: Some(input.clone()), frac: None };
    import_file(&model, Some(&atl), &opts).expect("imports");
    assert!(dir.join("net_attention.safetensors").exists());
    let text = std::fs::read_to_string(&atl).expect("the program");
    insta::assert_snapshot!("onnx_import_net_attention", text);

    let prepared = prepare_file(&atl).expect("the written program compiles");
    let via_onnx = prepare_onnx(&model, Some(&input), &opts).expect("imports");
    let inputs = read_inputs(&prepared, None).expect("default input");
    let a = execute(&prepared, &inputs, false).expect("runs");
    let b = execute(&via_onnx.prepared, &inputs, false).expect("runs");
    assert_eq!(a[0].integers, b[0].integers);
}

#[test]
fn a_fixed_frac_replaces_calibration() {
    let model = fixtures().join("net_mlp.onnx");
    let g = onnx::graph::read(&model).expect("decodes");
    let opts = onnx::Options { frac: Some(10) };
    let imported =
        onnx::import(&g, &onnx::default_inputs(&g), opts, "w.safetensors", "t").expect("imports");
    assert!(imported.source.contains("(x: fix<16, 10>[1, 16])"), "{}", imported.source);
    assert!(imported.source.contains("set by --frac"));
}

/// `atlasc bench`'s measurement of one model: every field present and plausible.
#[test]
fn bench_reports_one_model() {
    let model = fixtures().join("relu.onnx");
    let r = atlas_compiler::bench::bench_one(
        &model,
        None,
        WeightMode::Committed,
        1,
        &OnnxOptions::default(),
    )
    .expect("benchmarks");
    assert_eq!(r["weights"], "committed");
    assert!(r["proof_bytes"].as_u64().expect("bytes") > 1000);
    assert!(r["vk_bytes"].as_u64().expect("bytes") > 0);
    assert!(r["prove_ms"].as_f64().expect("ms") > 0.0);
    assert!(r["verify_ms"].as_f64().expect("ms") > 0.0);
    let table = atlas_compiler::bench::table(&[r]);
    assert!(table.contains("relu.onnx | committed |"), "{table}");
}
