//! The README's main command (`atlasc demo`) at a small size: both proofs verify.

#[test]
fn demo_proofs_verify() {
    let steps = atlas_compiler::demo::run(6).expect("the demo's proofs verify");
    assert_eq!(steps.len(), 2);
    assert!(steps.iter().all(|s| s.proof_bytes > 0));
}

/// The `atlasc` binary next to this test binary (`cargo test --workspace` builds it first).
fn atlasc() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("the test binary has a path");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target/<profile>/deps/<test>");
    let bin = dir.join(format!("atlasc{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build -p atlas-compiler` first",
        bin.display()
    );
    bin
}

#[test]
fn atlasc_demo_warns_about_the_development_srs() {
    let out = std::process::Command::new(atlasc())
        .args(["demo", "--log-size", "4"])
        .output()
        .expect("atlasc runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("DEVELOPMENT SRS"));
    assert_eq!(String::from_utf8_lossy(&out.stdout).matches("ok  ").count(), 2);
}
