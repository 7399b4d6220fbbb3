//! `atlasc bench`: prove and verify models and report what the closing notes and
//! docs/benchmarks.md quote — prove time (run + commit + walk + open), one-off setup, verify time,
//! proof and key bytes, and peak memory.
//!
//! The binary runs each model in a child process (`bench_one`), so each peak-RSS figure belongs to
//! one model alone; [`table`] renders the collected results.

use std::path::Path;
use std::time::Instant;

use atlas_prover::tensor::WeightMode;
use serde_json::{json, Value as Json};

use crate::import::{is_onnx, prepare_onnx, OnnxOptions};
use crate::prove::{prepare_file, prove_prepared, read_inputs, verify_bytes};

/// Medians over `runs` proofs and verifications of one model, as one JSON object.
pub fn bench_one(
    model: &Path,
    input: Option<&Path>,
    mode: WeightMode,
    runs: usize,
    onnx: &OnnxOptions,
) -> Result<Json, String> {
    let (prepared, inputs) = if is_onnx(model) {
        let run = prepare_onnx(model, input, onnx).map_err(|e| e.to_string())?;
        (run.prepared, run.inputs)
    } else {
        let p = prepare_file(model)?;
        let i = read_inputs(&p, input)?;
        (p, i)
    };
    let runs = runs.max(1);
    let (mut prove_ms, mut setup_ms, mut verify_ms) = (Vec::new(), Vec::new(), Vec::new());
    let mut sizes = (0, 0);
    for _ in 0..runs {
        let proved = prove_prepared(&prepared, &inputs.values, mode, None)?;
        let ms = |names: &[&str]| -> f64 {
            proved
                .timings
                .iter()
                .filter(|(n, _)| names.contains(n))
                .map(|(_, d)| d.as_secs_f64() * 1e3)
                .sum()
        };
        prove_ms.push(ms(&["run", "commit", "walk", "open"]));
        setup_ms.push(ms(&["setup"]));
        let (vk, proof) = (proved.vk.to_bytes(), proved.file.to_bytes());
        sizes = (proof.len(), vk.len());
        let clock = Instant::now();
        verify_bytes(&vk, &proof, None)?;
        verify_ms.push(clock.elapsed().as_secs_f64() * 1e3);
    }
    Ok(json!({
        "model": model.display().to_string(),
        "weights": if mode == WeightMode::Public { "public" } else { "committed" },
        "runs": runs,
        "prove_ms": median(&mut prove_ms),
        "setup_ms": median(&mut setup_ms),
        "verify_ms": median(&mut verify_ms),
        "proof_bytes": sizes.0,
        "vk_bytes": sizes.1,
        "peak_rss_mib": peak_rss_mib(),
    }))
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// This process's peak resident set (Linux `VmHWM`); `None` elsewhere.
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// A Markdown table of [`bench_one`] results.
pub fn table(results: &[Json]) -> String {
    let mut s = String::from(
        "| model | weights | prove | setup | verify | proof bytes | vk bytes | peak RSS |\n|---|---|---|---|---|---|---|---|\n",
    );
    for r in results {
        let f = |k: &str| r[k].as_f64().unwrap_or(f64::NAN);
        let rss = r["peak_rss_mib"].as_f64().map_or("–".to_string(), |m| format!("{m:.0} MiB"));
        s.push_str(&format!(
            "| {} | {} | {:.3} s | {:.3} s | {:.1} ms | {} | {} | {rss} |\n",
            r["model"].as_str().unwrap_or("?"),
            r["weights"].as_str().unwrap_or("?"),
            f("prove_ms") / 1e3,
            f("setup_ms") / 1e3,
            f("verify_ms"),
            r["proof_bytes"],
            r["vk_bytes"],
        ));
    }
    s
}
