//! DESIGN.md §1 fixes which crate may depend on which. This test reads `cargo metadata` and fails
//! on any edge the table does not allow, so the layering cannot erode silently.

use std::collections::BTreeMap;
use std::process::Command;

/// Workspace crate → workspace crates it may depend on (normal and build dependencies).
const ALLOWED_INTERNAL: &[(&str, &[&str])] = &[
    ("atlas-lang", &[]),
    ("atlas-ir", &[]),
    ("atlas-vm", &[]),
    ("atlas-stdlib", &["atlas-vm"]),
    ("atlas-prover", &["atlas-vm"]),
    ("atlas-compiler", &["atlas-lang", "atlas-ir", "atlas-vm", "atlas-stdlib", "atlas-prover"]),
    ("atlas-tests", &[]),
];

/// External crates each workspace crate may use, beyond the small utilities every crate may use.
/// The lists follow DESIGN.md §1 ("may depend on").
const ALLOWED_EXTERNAL: &[(&str, &[&str])] = &[
    ("atlas-lang", &["logos", "lalrpop", "lalrpop-util", "codespan-reporting"]),
    ("atlas-ir", &[]),
    ("atlas-vm", &["ark-ff", "rayon", "inkwell"]),
    ("atlas-stdlib", &["ark-ff"]),
    (
        "atlas-prover",
        &[
            "ark-bn254",
            "ark-ff",
            "ark-ec",
            "ark-poly",
            "ark-serialize",
            "ark-std",
            "rayon",
            "sha3",
            "cudarc",
        ],
    ),
    (
        "atlas-compiler",
        &["clap", "serde", "serde_json", "prost", "safetensors", "npyz", "indicatif"],
    ),
    ("atlas-tests", &[]),
];

/// Utilities with no bearing on layering: error derives and seeded randomness.
const UTILITIES: &[&str] = &["thiserror", "rand", "rand_chacha"];

#[test]
fn crate_dependencies_follow_the_design() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata is JSON");

    let internal: BTreeMap<_, _> = ALLOWED_INTERNAL.iter().copied().collect();
    let external: BTreeMap<_, _> = ALLOWED_EXTERNAL.iter().copied().collect();
    let mut violations = Vec::new();
    let packages = meta["packages"].as_array().expect("packages array");
    for pkg in packages {
        let name = pkg["name"].as_str().expect("package name");
        let Some(allowed_int) = internal.get(name) else {
            violations.push(format!("{name}: a workspace crate DESIGN.md §1 does not list"));
            continue;
        };
        let allowed_ext = external[name];
        for dep in pkg["dependencies"].as_array().expect("dependencies array") {
            // Dev-dependencies (tests, benches) may use anything; layering is about library code.
            if dep["kind"].as_str() == Some("dev") {
                continue;
            }
            let d = dep["name"].as_str().expect("dependency name");
            let ok = if d.starts_with("atlas-") {
                allowed_int.contains(&d)
            } else {
                allowed_ext.contains(&d) || UTILITIES.contains(&d)
            };
            if !ok {
                violations
                    .push(format!("{name} depends on {d}, which DESIGN.md §1 does not allow"));
            }
        }
    }
    assert_eq!(packages.len(), ALLOWED_INTERNAL.len(), "workspace crates changed");
    assert!(violations.is_empty(), "layering violations:\n{}", violations.join("\n"));
}
