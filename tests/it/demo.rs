//! The README's main command (`atlasc demo`) at a small size: both proofs verify. The binary is thin
//! glue over `atlas_compiler::demo` (it prints the warning, then the steps).

#[test]
fn demo_proofs_verify() {
    let steps = atlas_compiler::demo::run(6).expect("the demo's proofs verify");
    assert_eq!(steps.len(), 2);
    assert!(steps.iter().all(|s| s.proof_bytes > 0));
}

#[test]
fn the_development_srs_warning_says_it_is_not_for_production() {
    let w = atlas_compiler::demo::dev_srs_warning();
    assert!(w.contains("DEVELOPMENT SRS") && w.contains("NOT FOR PRODUCTION"), "{w}");
}
