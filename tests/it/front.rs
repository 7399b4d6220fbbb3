//! The compiler's front half (`atlas_compiler::front`): `.atl` → validated IR. One snapshot per
//! example (its IR, or its "not supported yet" diagnostics), per op and type rule (source + IR) and
//! per name/type diagnostic (source + rendered error).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use atlas_compiler::front::{ir_source, IrReport};
use atlas_lang::{codes, parse, Sources};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Parses and elaborates `source`; returns the IR report and the codes of every diagnostic that
/// `atlasc ir` would show.
fn compile(source: &str) -> (IrReport, Vec<&'static str>) {
    let report = ir_source("input.atl", source, Some("front"), false);
    let mut sources = Sources::new();
    let file = sources.add("input.atl", source);
    let parsed = parse(file, source);
    let found = if parsed.diagnostics.is_empty() {
        match atlas_compiler::front::compile(&parsed.ast) {
            Ok(_) => Vec::new(),
            Err(ds) => ds.iter().map(|d| d.code).collect(),
        }
    } else {
        parsed.diagnostics.iter().map(|d| d.code).collect()
    };
    (report, found)
}

const ACT: &str = "type Act = fix<16, 8>\n";

/// Valid programs, one per op and type rule; each snapshot shows the source and the IR.
const PROGRAMS: &[(&str, &str)] = &[
    (
        "add_same_type_is_exact_then_narrowed",
        "model m(x: Act[2, 3], y: Act[2, 3]) -> Act[2, 3] {\n    return x + y\n}\n",
    ),
    (
        "add_broadcasts_a_bias",
        "model m(x: Act[2, 3], b: Act[3]) -> Act[2, 3] {\n    return x + b\n}\n",
    ),
    (
        "add_aligns_fractional_bits",
        "model m(x: Act[4], y: fix<8, 2>[4]) -> Act[4] {\n    return x - y\n}\n",
    ),
    (
        "integer_plus_fixed_point_casts_the_integer",
        "model m(x: Act[4], n: i8[4]) -> Act[4] {\n    return x + n\n}\n",
    ),
    (
        "literal_operands_take_the_other_operands_type",
        "model m(x: Act[4]) -> Act[4] {\n    return 2 * x + 0.5\n}\n",
    ),
    ("division_by_a_constant", "model m(x: Act[4]) -> Act[4] {\n    return x / 4\n}\n"),
    ("negation", "model m(x: i8[4]) -> i16[4] {\n    return -x\n}\n"),
    (
        "matmul_exact_then_rescaled_at_the_let",
        "model m(x: Act[1, 64], w: Act[64, 32]) -> Act[1, 32] {\n    let h: Act[1, 32] = x @ w\n    return h\n}\n",
    ),
    (
        "matmul_operands_are_narrowed_to_their_nominal_type",
        "model m(x: Act[2, 4], w: Act[4, 4], v: Act[4, 3]) -> Act[2, 3] {\n    return x @ w @ v\n}\n",
    ),
    (
        "matmul_batched_broadcasts_the_left_operand",
        "model m(x: Act[4, 8], w: Act[2, 8, 3]) -> Act[2, 4, 3] {\n    return x @ w\n}\n",
    ),
    (
        "integer_matmul_widens_to_the_declared_output",
        "model m(x: i8[1, 64], w: i8[64, 4]) -> i32[1, 4] {\n    return x @ w\n}\n",
    ),
    (
        "index_and_slices",
        "model m(x: Act[4, 6]) -> (Act[6], Act[2, 3]) {\n    return x[1], x[1:3, :3]\n}\n",
    ),
    (
        "relu_narrows_to_the_nominal_type",
        "import std.nn.relu\n\nmodel m(x: Act[1, 8], w: Act[8, 4], b: Act[4]) -> Act[1, 4] {\n    return relu(x @ w + b)\n}\n",
    ),
    (
        "custom_lookup_is_a_dense_table",
        "lookup sq(x: fix<8, 4>) -> fix<8, 4> = min(x * x, 7.9)\n\nmodel m(x: Act[4]) -> Act[4] {\n    return sq(x)\n}\n",
    ),
    (
        "binary_lookup_broadcasts_its_operands",
        "lookup mix(a: i8, b: i8) -> i8 = max(a, b)\n\nmodel m(x: i8[2, 3], y: i8[3]) -> i8[2, 3] {\n    return mix(x, y)\n}\n",
    ),
    (
        "fn_is_inlined_at_each_call",
        "fn dense(x: Act[1, 4], w: Act[4, 4]) -> Act[1, 4] {\n    return x @ w\n}\n\n\
         model m(x: Act[1, 4]) -> Act[1, 4] {\n    param w: Act[4, 4] = random(1)\n    return dense(dense(x, w), w)\n}\n",
    ),
    (
        "generic_fn_binds_types_and_dimensions",
        "fn dense<T, N, K, M>(x: T[N, K], w: T[K, M]) -> T[N, M] {\n    return x @ w\n}\n\n\
         model m(x: Act[2, 4], y: fix<8, 4>[1, 3]) -> (Act[2, 3], fix<8, 4>[1, 3]) {\n    \
         param w: Act[4, 3] = random(1)\n    param v: fix<8, 4>[3, 3] = random(2)\n    \
         return dense(x, w), dense(y, v)\n}\n",
    ),
    (
        "any_shape_fn_with_int_parameters_and_constant_types",
        "import std.prim.{sum}\n\n\
         fn total<T>(x: T[..], axis: int = -1) -> T[..] {\n    let n = size(x, axis)\n    \
         let s: fix<16, (8 - bit_length(n))>[..] = sum(x, axis, keep_dims = 1)\n    return s\n}\n\n\
         model m(x: Act[2, 8]) -> (Act[2, 1], Act[1, 8]) {\n    return total(x), total(x, axis = 0)\n}\n",
    ),
    (
        "prim_tables_take_their_output_type",
        "import std.prim.{exp_table, sigmoid_table}\n\n\
         model m(x: Act[4]) -> (fix<16, 14>[4], Act[4]) {\n    \
         return exp_table(x, to = fix<16, 14>), sigmoid_table(x * 2, to = Act)\n}\n",
    ),
    (
        "exact_keeps_a_product_operand_unnarrowed",
        "import std.prim.{sum, exact}\n\n\
         model m(x: Act[4]) -> (Act[], Act[]) {\n    let k: fix<18, 16> = 0.25\n    \
         return sum(x) * k, exact(sum(x)) * k\n}\n",
    ),
    (
        "conv2d_is_im2col_then_matmul",
        "import std.nn.{conv2d, max_pool2d}\n\n\
         model m(x: Act[1, 2, 4, 4], w: Act[3, 2, 3, 3], b: Act[3]) -> Act[1, 3, 2, 2] {\n    \
         return max_pool2d(conv2d(x, w, b, padding = 1), kernel = 2)\n}\n",
    ),
    (
        "reshape_and_transpose",
        "import std.nn.{reshape, transpose}\n\n\
         model m(x: Act[2, 3]) -> Act[3, 2] {\n    return reshape(transpose(x), [3, 2])\n}\n",
    ),
    (
        "params_inline_random_and_external",
        "model m(x: Act[2]) -> Act[2] {\n    param a: Act[2] = [0.5, -1.25]\n    param s: Act[2] = 0.25\n    \
         param r: Act[2] = random(9)\n    param l: Act[2] = load(\"w.safetensors\", \"l\")\n    return x * a + s + r + l\n}\n",
    ),
    (
        "softmax_is_max_exp_sum_reciprocal",
        "import std.nn.softmax\n\nmodel m(x: Act[2, 10]) -> Act[2, 10] {\n    return softmax(x, axis = 1)\n}\n",
    ),
    (
        "sum_and_mean_reduce",
        "import std.nn.{sum, mean}\n\nmodel m(x: Act[2, 5]) -> (Act[2], Act[2, 1], Act[]) {\n    \
         return sum(x, axis = 1), mean(x, axis = -1, keep_dims = 1), mean(x)\n}\n",
    ),
    (
        "layer_norm_is_mean_variance_and_an_rsqrt_table",
        "import std.nn.layer_norm\n\nmodel m(x: Act[2, 8]) -> Act[2, 8] {\n    return layer_norm(x)\n}\n",
    ),
    (
        "gelu_is_a_dense_table",
        "import std.nn.gelu\n\nmodel m(x: Act[4]) -> Act[4] {\n    return gelu(x)\n}\n",
    ),
    (
        "a_value_returned_twice_is_copied",
        "model m(x: Act[2]) -> (Act[2], Act[2]) {\n    return x, x\n}\n",
    ),
    (
        "consts_as_dimensions_and_typed_values",
        "const N = 2 * 2\nconst HALF: Act = 0.5\n\nmodel m(x: Act[N]) -> Act[N] {\n    return x * HALF\n}\n",
    ),
];

fn with_act(source: &str) -> String {
    format!("{ACT}{source}")
}

#[test]
fn every_program_lowers_to_the_snapshot_ir() {
    for (name, source) in PROGRAMS {
        let source = with_act(source);
        let (report, codes) = compile(&source);
        assert_eq!((report.exit_code, codes), (0, vec![]), "{name}:\n{}", report.stderr);
        let snapshot = format!("----- SOURCE\n{source}----- IR\n{}", report.stdout);
        insta::assert_snapshot!(format!("program_{name}"), snapshot);
    }
}

/// Invalid programs with the codes each must report; together they cover E04xx and E05xx.
const DIAGNOSTICS: &[(&str, &str, &[&str])] = &[
    (
        "unknown_names",
        "lookup f(x: Act) -> Act = x + y\n\nmodel m(x: Act[N]) -> Bad[2] {\n    let y = x + z\n    return y\n}\n",
        &["E0401", "E0401", "E0401", "E0401"],
    ),
    (
        "duplicate_names",
        "const A = 1\nconst A = 2\n\nmodel m(x: Act[2], x: Act[2]) -> Act[2] {\n    return x\n}\n",
        &["E0402", "E0402"],
    ),
    (
        "unknown_function_and_missing_import",
        "model m(x: Act[2]) -> Act[2] {\n    return frobnicate(relu(x))\n}\n",
        &["E0403", "E0403"],
    ),
    (
        "unknown_import",
        "import std.nn.{relu, sigmoid}\nimport torch.nn\n\nmodel m(x: Act[2]) -> Act[2] {\n    return relu(x)\n}\n",
        &["E0404", "E0404"],
    ),
    (
        "recursive_fn",
        "fn f(x: Act[2]) -> Act[2] {\n    return f(x)\n}\n\nmodel m(x: Act[2]) -> Act[2] {\n    return f(x)\n}\n",
        &["E0405"],
    ),
    ("no_model", "const A = 1\n", &["E0406"]),
    (
        "elementwise_shapes_do_not_broadcast",
        "model m(x: Act[2, 3], y: Act[2, 4]) -> Act[2, 3] {\n    return x + y\n}\n",
        &["E0501"],
    ),
    (
        "matmul_inner_dimensions",
        "model m(x: Act[1, 64], w: Act[32, 10]) -> Act[1, 10] {\n    return x @ w\n}\n",
        &["E0502"],
    ),
    (
        "declared_shape_differs",
        "model m(x: Act[1, 4], w: Act[4, 3]) -> Act[1, 4] {\n    let h: Act[1, 2] = x @ w\n    return x @ w\n}\n",
        &["E0503", "E0503"],
    ),
    (
        "call_arguments",
        "import std.nn.softmax\n\nfn f(a: Act[2], b: Act[2]) -> Act[2] {\n    return a + b\n}\n\n\
         model m(x: Act[2]) -> Act[2] {\n    let y = f(x)\n    return softmax(x, dim = 0)\n}\n",
        &["E0504", "E0504"],
    ),
    (
        "constants_that_do_not_fit",
        "model m(x: Act[2], n: i8[2]) -> Act[2] {\n    param p: Act[2] = [1000, 0]\n    let k = n * 0.5\n    return x + 1 / 0\n}\n",
        &["E0505", "E0505", "E0505"],
    ),
    (
        "index_out_of_range",
        "import std.nn.reshape\n\nmodel m(x: Act[4, 4]) -> Act[2] {\n    let a = x[1, 2, 3]\n    let b = reshape(x, [3, 5])\n    return x[0, 3:6]\n}\n",
        &["E0506", "E0506", "E0506"],
    ),
    (
        "exact_result_too_wide",
        "model m(x: i32[1, 4], w: i32[4, 4]) -> i32[1, 4] {\n    return x @ w\n}\n",
        &["E0507"],
    ),
    (
        "not_supported_yet",
        "import std.nn.{relu, softmax}\n\nmodel m(x: fix<11, 4>[2], y: i32[2]) -> Act[2] {\n    \
         return relu(x) + softmax(y)\n}\n",
        &["E0508", "E0508"],
    ),
    (
        "multi_output_fns_bind_with_let",
        "fn two(x: Act[2]) -> (Act[2], Act[2]) {\n    return x, x\n}\n\n\
         model m(x: Act[2]) -> Act[2] {\n    let a, b, c = two(x)\n    let d, e = x\n    \
         return two(x)\n}\n",
        &["E0503", "E0503", "E0503"],
    ),
    (
        "generic_fns",
        "fn pair<T, N>(a: T[N], b: T[N]) -> T[N] {\n    return a + b\n}\n\n\
         fn square<T>(x: T[..], times: int = 1) -> T[..] {\n    return x @ x\n}\n\n\
         model m(x: Act[2], y: Act[3]) -> Act[2] {\n    param w: Act[..] = random(1)\n    \
         let p = pair(x, y)\n    let q = pair(1.0, x)\n    let r = square(x)\n    \
         let s = square(x, times = 0.5)\n    return x\n}\n",
        &["E0502", "E0503", "E0503", "E0503", "E0505"],
    ),
    (
        "errors_inside_the_prelude_point_at_the_call",
        "import std.nn.{softmax}\n\n\
         fn wrap<T>(x: T[..]) -> T[..] {\n    return softmax(x)\n}\n\n\
         model m(x: i32[4], y: Act[2, 3]) -> (i32[4], Act[2, 3]) {\n    \
         return wrap(x), softmax(y, axis = 2)\n}\n",
        &["E0508", "E0506"],
    ),
];

#[test]
fn every_diagnostic_renders_as_the_snapshot() {
    for (name, source, expected) in DIAGNOSTICS {
        let source = with_act(source);
        let (report, found) = compile(&source);
        assert_eq!(&found, expected, "{name}:\n{}", report.stderr);
        assert_ne!(report.exit_code, 0, "{name}");
        let snapshot = format!("----- SOURCE\n{source}----- ERROR\n{}", report.stderr);
        insta::assert_snapshot!(format!("error_{name}"), snapshot);
    }
}

#[test]
fn every_front_end_code_has_a_snapshot_case() {
    let registered: BTreeSet<&str> = codes::ALL
        .iter()
        .map(|(code, _)| *code)
        .filter(|c| c.starts_with("E04") || c.starts_with("E05"))
        .collect();
    let exercised: BTreeSet<&str> = DIAGNOSTICS
        .iter()
        .flat_map(|(_, _, codes)| codes.iter().copied())
        .chain(WEIGHT_CODES.iter().copied())
        .collect();
    assert_eq!(registered, exercised);
}

#[test]
fn a_front_end_diagnostic_says_expected_and_found() {
    for (name, source, _) in DIAGNOSTICS {
        let source = with_act(source);
        let mut sources = Sources::new();
        let file = sources.add("input.atl", &source);
        let parsed = parse(file, &source);
        let Err(ds) = atlas_compiler::front::compile(&parsed.ast) else {
            panic!("{name} compiled");
        };
        for d in &ds {
            // Nothing points into the prelude, whose text the report does not have.
            assert!(d.labels.iter().all(|l| l.span.file == file), "{name}: {d:?}");
            assert!(
                d.message.starts_with("expected ") || d.message.contains(" expects "),
                "{name}: {}",
                d.message
            );
            assert!(d.message.contains("found"), "{name}: {}", d.message);
            assert!(d.labels.iter().any(|l| l.primary), "{name}: no primary label");
            assert!(d.help.is_some(), "{name}: no help for {}", d.message);
        }
    }
}

/// `atlasc check` reports language errors, all of them, but accepts constructs that only the
/// lowering lacks.
#[test]
fn check_reports_every_type_error_but_not_unsupported_lowering() {
    use atlas_compiler::check::check_source;
    let source = with_act(
        "model m(x: Act[1, 64], w: Act[32, 10]) -> Act[1, 10] {\n    let a = x @ w\n    let b = x + q\n    return x @ w\n}\n",
    );
    let report = check_source("input.atl", &source, false);
    assert_eq!(report.exit_code, 1);
    assert_eq!(report.stderr.matches("error[E0502]").count(), 2, "{}", report.stderr);
    assert!(report.stderr.contains("matmul expects inner dimensions to match, found 64 and 32"));
    assert!(report.stderr.contains("error[E0401]"), "{}", report.stderr);
    assert!(report.stderr.ends_with("has 3 errors\n"), "{}", report.stderr);

    let unsupported = with_act(
        "import std.nn.relu\n\nmodel m(x: fix<11, 4>[2]) -> fix<11, 4>[2] {\n    return relu(x)\n}\n",
    );
    assert_eq!(check_source("input.atl", &unsupported, false).exit_code, 0);
}

#[test]
fn ir_after_an_unknown_pass_is_refused() {
    let source = with_act("model m(x: Act[2]) -> Act[2] {\n    return x\n}\n");
    let report = ir_source("input.atl", &source, Some("inline"), false);
    assert_eq!(report.exit_code, 2);
    assert!(report.stderr.contains("found `inline`"), "{}", report.stderr);
    assert!(report.stderr.contains("front, fold, dce, range, fuse"), "{}", report.stderr);
}

/// Programs where each pass has something to do; snapshots after every pass.
const PASS_PROGRAMS: &[(&str, &str)] = &[
    (
        "fold_folds_scalar_constant_casts",
        "model m(x: Act[4]) -> Act[4] {\n    return x * 2 + 0.5\n}\n",
    ),
    (
        "dce_drops_unused_lets",
        "model m(x: Act[4], y: Act[4]) -> Act[4] {\n    let unused = x * y\n    return x\n}\n",
    ),
    (
        "range_drops_saturation_that_cannot_happen",
        "import std.nn.relu\n\nmodel m(x: i8[4]) -> (i8[4], i8[4]) {\n    return relu(x) - 1, x - 1\n}\n",
    ),
    (
        // The first layer fuses; `p` is read twice, so its matmul stays.
        "fuse_makes_one_affine_per_layer",
        "model m(x: Act[2, 4], w: Act[4, 3], b: Act[3]) -> (Act[2, 3], Act[2, 3], Act[2, 3]) {\n    \
         let p = x @ w\n    return x @ w + b, p + b, p - b\n}\n",
    ),
];

/// Fusion changes the program, not what it computes: the IR before and after `fuse` evaluate to
/// the same integers, saturation included.
#[test]
fn fused_programs_compute_what_they_replace() {
    let source = with_act(
        "import std.nn.{relu, transpose}\n\nmodel m(x: Act[2, 4], w: Act[4, 3], b: Act[3]) -> Act[2, 3] {\n    \
         let h: Act[2, 3] = relu(x @ w + b)\n    return h @ transpose(w) @ w + b\n}\n",
    );
    let mut sources = Sources::new();
    let file = sources.add("input.atl", &source);
    let parsed = parse(file, &source);
    let model = atlas_compiler::front::compile(&parsed.ast).expect("compiles");
    let before = atlas_compiler::front::passes::run_passes(model.program.clone(), Some("range"))
        .expect("passes");
    let after =
        atlas_compiler::front::passes::run_passes(model.program.clone(), None).expect("passes");
    let count = |p: &atlas_ir::Program| p.to_string().matches(" = affine ").count();
    assert_eq!((count(&before), count(&after)), (0, 2), "{after}");
    let env = DenseEnv(&model);
    let mut seed = 7u64;
    let mut next = |lo: i64, hi: i64| {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        lo + ((seed >> 33) as i64).rem_euclid(hi - lo + 1)
    };
    for round in 0..20 {
        // Small values, then extremes that saturate.
        let span = if round < 10 { 512 } else { 32767 };
        let inputs: Vec<Vec<i64>> =
            [8, 12, 3].iter().map(|&n| (0..n).map(|_| next(-span, span)).collect()).collect();
        let run = |p: &atlas_ir::Program| {
            atlas_ir::eval(&atlas_ir::validate(p).expect("valid"), &inputs, &env)
                .expect("evaluates")
        };
        assert_eq!(run(&before), run(&after), "inputs {inputs:?}");
    }
}

#[test]
fn every_pass_has_a_snapshot() {
    for (name, source) in PASS_PROGRAMS {
        let source = with_act(source);
        let mut snapshot = format!("----- SOURCE\n{source}");
        for pass in atlas_compiler::front::PASSES {
            let report = ir_source("input.atl", &source, Some(pass), false);
            assert_eq!(report.exit_code, 0, "{name} after {pass}:\n{}", report.stderr);
            snapshot.push_str(&format!("----- IR after {pass}\n{}", report.stdout));
        }
        insta::assert_snapshot!(format!("passes_{name}"), snapshot);
    }
}

/// Range analysis is sound: evaluating at the extremes of every input stays inside the intervals.
#[test]
fn ranges_contain_every_evaluated_value() {
    let source = with_act(
        "import std.nn.{relu, softmax}\n\nmodel m(x: Act[2, 4], w: Act[4, 3]) -> Act[2, 3] {\n    \
         return softmax(relu(x @ w - 1.5) * 2)\n}\n",
    );
    let mut sources = Sources::new();
    let file = sources.add("input.atl", &source);
    let parsed = parse(file, &source);
    let model = atlas_compiler::front::compile(&parsed.ast).expect("compiles");
    let info = atlas_ir::validate(&model.program).expect("valid");
    let ranges = atlas_compiler::front::passes::ranges(&info);
    let (lo, hi) = (i64::from(i16::MIN), i64::from(i16::MAX));
    let mut checked = 0;
    for (xv, wv) in [(lo, lo), (lo, hi), (hi, lo), (hi, hi), (0, hi), (37, -5)] {
        // Evaluate every prefix's last value by making it the output.
        for id in info.program().ids() {
            let mut p = model.program.clone();
            p.outputs = vec![id];
            let Ok(pi) = atlas_ir::validate(&p) else { continue };
            let env = DenseEnv(&model);
            let Ok(out) = atlas_ir::eval(&pi, &[vec![xv; 8], vec![wv; 12]], &env) else { continue };
            let (rlo, rhi) = ranges[id.index()];
            checked += 1;
            for v in &out[0] {
                assert!(
                    rlo <= i128::from(*v) && i128::from(*v) <= rhi,
                    "{id:?}: {v} outside {rlo}..{rhi}"
                );
            }
        }
    }
    // Every value of the program, at each of the six input pairs.
    assert_eq!(checked, 6 * info.program().values.len());
}

fn examples() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo_root().join("examples"))
        .expect("examples/ exists")
        .map(|entry| entry.expect("readable entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "atl"))
        .collect();
    files.sort();
    files
}

/// Every example lowers to valid IR, or fails only with "not supported yet" (E0508).
#[test]
fn every_example_lowers_or_is_only_not_supported_yet() {
    for path in examples() {
        let source = std::fs::read_to_string(&path).expect("example is UTF-8");
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let (report, found) = compile(&source);
        let snapshot = if report.exit_code == 0 {
            format!("----- SOURCE\n{source}----- IR\n{}", report.stdout)
        } else {
            assert!(!found.is_empty(), "{stem}: failed without diagnostics: {}", report.stderr);
            assert!(found.iter().all(|c| *c == codes::NOT_SUPPORTED), "{stem}:\n{}", report.stderr);
            format!("----- SOURCE\n{source}----- ERROR\n{}", report.stderr)
        };
        insta::assert_snapshot!(format!("example_{stem}"), snapshot);
        if report.exit_code == 0 {
            let passed = ir_source("input.atl", &source, None, false);
            assert_eq!(passed.exit_code, 0, "{stem}:\n{}", passed.stderr);
            let snapshot =
                format!("----- SOURCE\n{source}----- IR after all passes\n{}", passed.stdout);
            insta::assert_snapshot!(format!("example_{stem}_after_passes"), snapshot);
        }
    }
}

#[test]
fn the_swish_example_lowers_completely() {
    let source = std::fs::read_to_string(repo_root().join("examples/swish.atl")).expect("swish");
    let (report, _) = compile(&source);
    assert_eq!(report.exit_code, 0, "{}", report.stderr);
    assert!(report.stdout.contains("table @swish = #0x07000000 (fix<16,8>) -> fix<16,8>"));
    assert!(report.stdout.contains("table @hard_tanh = #0x07000100"));
}

/// The dense tables come back with the program, in the order of the ids the IR gives them, with
/// entries sampled from the formula.
#[test]
fn dense_tables_are_sampled_in_id_order() {
    let source = std::fs::read_to_string(repo_root().join("examples/swish.atl")).expect("swish");
    let mut sources = Sources::new();
    let file = sources.add("swish.atl", &source);
    let parsed = parse(file, &source);
    let model = atlas_compiler::front::compile(&parsed.ast).expect("swish compiles");
    let names: Vec<&str> = model.program.tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["swish", "hard_tanh"]);
    assert_eq!(model.dense_tables.len(), 2);
    for (i, (t, d)) in model.program.tables.iter().zip(&model.dense_tables).enumerate() {
        assert_eq!(usize::from(d.index()), i);
        assert_eq!(t.id, 0x0700_0000 | (i as u32) << 8);
        assert_eq!(d.values().len(), 1 << 16);
    }
    // fix<16,8> operand v sits at address v + 2^15. hard_tanh clamps to [-1, 1] = [-256, 256].
    let hard_tanh = model.dense_tables[1].values();
    assert_eq!(hard_tanh[(1 << 15) + 100], 100);
    assert_eq!(hard_tanh[(1 << 15) + 1000], 256);
    assert_eq!(hard_tanh[(1 << 15) - 1000], -256);
    // swish(1.0) = 1 / (1 + e^-1) = 0.7311 → 187 / 256.
    assert_eq!(model.dense_tables[0].values()[(1 << 15) + 256], 187);
}

/// Runs a compiled model with the IR's reference evaluator, tables resolved as the VM will: dense
/// tables from the compiler's entries, the others from the stdlib registry.
fn run_model(source: &str, inputs: &[Vec<i64>]) -> Vec<Vec<i64>> {
    let mut sources = Sources::new();
    let file = sources.add("input.atl", source);
    let parsed = parse(file, source);
    let model = atlas_compiler::front::compile(&parsed.ast).expect("compiles");
    let info = atlas_ir::validate(&model.program).expect("valid IR");
    atlas_ir::eval(&info, inputs, &DenseEnv(&model)).expect("evaluates")
}

/// Tables resolved as the VM will: dense tables from the compiler's entries, the others from the
/// stdlib registry.
struct DenseEnv<'m>(&'m atlas_compiler::front::Model);

mod dense_env {
    use super::DenseEnv;
    use atlas_ir::{Env, TableRef};
    use atlas_vm::{Table, TableId};

    impl Env for DenseEnv<'_> {
        fn weight(&self, _key: &str) -> Option<Vec<i64>> {
            None
        }
        fn lookup(&self, t: &TableRef, operands: &[i64]) -> Option<i64> {
            let id = TableId(t.id);
            if id.kind() == 7 {
                let index =
                    usize::from(u16::from_be_bytes([(t.id >> 16) as u8, (t.id >> 8) as u8]));
                let table = &self.0.dense_tables[index];
                let address = table.domain().encode(operands).ok()?;
                Some(table.eval(address))
            } else {
                let table = atlas_stdlib::table_by_id::<atlas_prover::F>(id).ok()?;
                let address = table.domain().encode(operands).ok()?;
                Some(table.eval(address))
            }
        }
    }
}

#[test]
fn softmax_evaluates_close_to_the_real_softmax() {
    let source = with_act(
        "import std.nn.softmax\n\nmodel m(x: Act[3, 10]) -> Act[3, 10] {\n    return softmax(x, axis = 1)\n}\n",
    );
    // Rows: spread out, all equal, one dominant value.
    let x: Vec<i64> = (0..10)
        .map(|i| (i * 97 % 2048) - 1024)
        .chain(std::iter::repeat_n(300, 10))
        .chain((0..10).map(|i| if i == 3 { 2000 } else { -500 }))
        .collect();
    let out = run_model(&source, std::slice::from_ref(&x));
    for row in 0..3 {
        let reals: Vec<f64> = x[row * 10..][..10].iter().map(|v| *v as f64 / 256.0).collect();
        let max = reals.iter().copied().fold(f64::MIN, f64::max);
        let sum: f64 = reals.iter().map(|r| (r - max).exp()).sum();
        for (i, r) in reals.iter().enumerate() {
            let want = (r - max).exp() / sum;
            let got = out[0][row * 10 + i] as f64 / 256.0;
            assert!((got - want).abs() <= 2.0 / 256.0, "row {row}[{i}]: {got} vs {want}");
        }
    }
}

#[test]
fn fixed_point_arithmetic_evaluates_to_the_rounded_real_result() {
    let source = with_act(
        "import std.nn.{relu, gelu}\n\n\
         model m(x: Act[4], y: Act[4]) -> (Act[4], Act[4]) {\n    return relu(x * 0.25 - y), gelu(x)\n}\n",
    );
    let x = vec![256, -300, 1000, 17];
    let y = vec![10, 20, -30, 40];
    let out = run_model(&source, &[x.clone(), y.clone()]);
    for i in 0..4 {
        let (xr, yr) = (x[i] as f64 / 256.0, y[i] as f64 / 256.0);
        let want = (xr * 0.25 - yr).max(0.0);
        assert!((out[0][i] as f64 / 256.0 - want).abs() <= 0.5 / 256.0, "relu[{i}]");
        let gelu = 0.5 * xr * (1.0 + libm_erf(xr / std::f64::consts::SQRT_2));
        assert!((out[1][i] as f64 / 256.0 - gelu).abs() <= 0.5 / 256.0 + 1e-6, "gelu[{i}]");
    }
}

/// erf by its Taylor series (enough terms for |x| ≤ 3), independent of the compiler's own.
fn libm_erf(x: f64) -> f64 {
    let mut term = x;
    let mut sum = x;
    for n in 1..60 {
        term *= -x * x / n as f64;
        sum += term / (2 * n + 1) as f64;
    }
    sum * 2.0 / std::f64::consts::PI.sqrt()
}

/// The front end never panics and never builds invalid IR: every example with one line removed,
/// or one digit changed, is either refused with diagnostics or compiles to a program `validate`
/// accepts.
#[test]
fn mangled_examples_are_refused_or_compile_to_valid_ir() {
    let mut checked = 0;
    for path in examples() {
        let source = std::fs::read_to_string(&path).expect("example is UTF-8");
        let lines: Vec<&str> = source.lines().collect();
        let mut variants: Vec<String> = (0..lines.len())
            .map(|skip| {
                let kept: Vec<&str> =
                    lines.iter().enumerate().filter(|(i, _)| *i != skip).map(|(_, l)| *l).collect();
                kept.join("\n")
            })
            .collect();
        for (i, c) in source.char_indices().filter(|(_, c)| c.is_ascii_digit()) {
            for d in ['0', '3', '9'] {
                if d != c {
                    variants.push(format!("{}{d}{}", &source[..i], &source[i + 1..]));
                }
            }
        }
        for v in variants {
            let mut sources = Sources::new();
            let file = sources.add("input.atl", &v);
            let parsed = parse(file, &v);
            if !parsed.diagnostics.is_empty() {
                continue;
            }
            checked += 1;
            match atlas_compiler::front::compile(&parsed.ast) {
                Ok(model) => {
                    if let Err(e) = atlas_ir::validate(&model.program) {
                        panic!("invalid IR for:\n{v}\n{e}");
                    }
                }
                Err(ds) => assert!(!ds.is_empty()),
            }
        }
    }
    assert!(checked > 100, "only {checked} variants parsed");
}

/// The codes [`weights_errors_point_at_the_load`] and [`weights_load_and_saturate`] snapshot.
const WEIGHT_CODES: &[&str] = &["E0508", "E0509", "E0510"];

/// A safetensors file written by hand (8-byte header length, JSON header, data), so the test
/// does not depend on the writer it checks the reader against.
fn safetensors_bytes(tensors: &[(&str, &str, &[usize], Vec<u8>)]) -> Vec<u8> {
    let mut header = Vec::new();
    let mut data = Vec::new();
    for (name, dtype, shape, bytes) in tensors {
        let (start, end) = (data.len(), data.len() + bytes.len());
        header.push(format!(
            "\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":{shape:?},\"data_offsets\":[{start},{end}]}}"
        ));
        data.extend_from_slice(bytes);
    }
    let mut json = format!("{{{}}}", header.join(",")).into_bytes();
    while json.len() % 8 != 0 {
        json.push(b' ');
    }
    let mut out = (json.len() as u64).to_le_bytes().to_vec();
    out.extend(json);
    out.extend(data);
    out
}

fn npy_f64(values: &[f64]) -> Vec<u8> {
    let mut header =
        format!("{{'descr': '<f8', 'fortran_order': False, 'shape': ({},), }}", values.len());
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header.into_bytes());
    for v in values {
        out.extend(v.to_le_bytes());
    }
    out
}

/// A zip archive of `(name, method, data)` members, written by hand (no zip64, CRCs left 0: the
/// reader does not check them).
fn zip_bytes(members: &[(&str, u16, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, method, data) in members {
        let offset = out.len() as u32;
        let common = |v: &mut Vec<u8>| {
            v.extend(0u16.to_le_bytes()); // flags
            v.extend(method.to_le_bytes());
            v.extend([0u8; 8]); // time, date, crc
            v.extend((data.len() as u32).to_le_bytes());
            v.extend((data.len() as u32).to_le_bytes());
            v.extend((name.len() as u16).to_le_bytes());
            v.extend(0u16.to_le_bytes()); // extra length
        };
        out.extend(0x0403_4b50u32.to_le_bytes());
        out.extend(20u16.to_le_bytes());
        common(&mut out);
        out.extend(name.as_bytes());
        out.extend(data);
        central.extend(0x0201_4b50u32.to_le_bytes());
        central.extend(20u16.to_le_bytes());
        central.extend(20u16.to_le_bytes());
        common(&mut central);
        central.extend([0u8; 10]); // comment length, disk, internal and external attributes
        central.extend(offset.to_le_bytes());
        central.extend(name.as_bytes());
    }
    let cd_offset = out.len() as u32;
    out.extend(&central);
    out.extend(0x0605_4b50u32.to_le_bytes());
    out.extend([0u8; 4]);
    out.extend((members.len() as u16).to_le_bytes());
    out.extend((members.len() as u16).to_le_bytes());
    out.extend((central.len() as u32).to_le_bytes());
    out.extend(cd_offset.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out
}

/// A scratch directory with `w.safetensors` (`a`: F32 [0.5, 300.0], `flags`: BOOL) and `w.npy`
/// (F64 [-1.25, 0.0]) and `w.npz` (stored `e`: F64 [0.25, 0.75]; `z` in bzip2, method 12; `d`
/// deflated, but not a valid stream).
fn weights_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("atlas-it-weights-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir is writable");
    let a: Vec<u8> = [0.5f32, 300.0].iter().flat_map(|v| v.to_le_bytes()).collect();
    let st = safetensors_bytes(&[("a", "F32", &[2], a), ("flags", "BOOL", &[2], vec![1, 0])]);
    std::fs::write(dir.join("w.safetensors"), st).expect("write safetensors");
    std::fs::write(dir.join("w.npy"), npy_f64(&[-1.25, 0.0])).expect("write npy");
    let npz = zip_bytes(&[
        ("e.npy", 0, npy_f64(&[0.25, 0.75])),
        ("z.npy", 12, vec![1, 2, 3]),
        ("d.npy", 8, vec![7, 7, 7]),
    ]);
    std::fs::write(dir.join("w.npz"), npz).expect("write npz");
    dir
}

fn load(
    source: &str,
    dir: &Path,
) -> (Result<atlas_compiler::front::Loaded, Vec<atlas_lang::Diagnostic>>, Sources) {
    let mut sources = Sources::new();
    let file = sources.add("input.atl", source);
    let parsed = parse(file, source);
    let model = atlas_compiler::front::compile(&parsed.ast).expect("compiles");
    (atlas_compiler::front::load_weights(&parsed.ast, &model.program, dir), sources)
}

#[test]
fn weights_load_and_saturate() {
    let dir = weights_dir("ok");
    let source = with_act(
        "model m(x: Act[2]) -> Act[2] {\n    param a: Act[2] = load(\"w.safetensors\", \"a\")\n    \
         param b: Act[2] = load(\"w.npy\", \"b\")\n    \
         param e: Act[2] = load(\"w.npz\", \"e\")\n    return x + a + b + e\n}\n",
    );
    let (loaded, sources) = load(&source, &dir);
    let loaded = loaded.expect("weights load");
    let data: Vec<_> = loaded.program.params().map(|(_, v)| v.def.clone()).collect();
    use atlas_ir::{ParamData, ValueDef};
    assert_eq!(
        data,
        [
            ValueDef::Param { data: ParamData::Inline(vec![128, 32767]) },
            ValueDef::Param { data: ParamData::Inline(vec![-320, 0]) },
            ValueDef::Param { data: ParamData::Inline(vec![64, 192]) },
        ]
    );
    atlas_ir::validate(&loaded.program).expect("valid with inline weights");
    let codes: Vec<&str> = loaded.warnings.iter().map(|d| d.code).collect();
    assert_eq!(codes, ["E0510"]);
    let rendered = atlas_lang::render(&loaded.warnings, &sources, false);
    insta::assert_snapshot!(
        "weights_saturated",
        format!("----- SOURCE\n{source}----- ERROR\n{rendered}")
    );
    std::fs::remove_dir_all(dir).expect("scratch removed");
}

#[test]
fn weights_errors_point_at_the_load() {
    let dir = weights_dir("errors");
    let source = with_act(
        "model m(x: Act[2]) -> Act[2] {\n    \
         param a: Act[2] = load(\"missing.safetensors\", \"a\")\n    \
         param b: Act[2] = load(\"w.safetensors\", \"nope\")\n    \
         param c: Act[3] = load(\"w.safetensors\", \"a\")\n    \
         param d: Act[2] = load(\"w.safetensors\", \"flags\")\n    \
         param e: Act[2] = load(\"w.npz\", \"z\")\n    \
         param f: Act[2] = load(\"w.npz\", \"zz\")\n    \
         param g: Act[2] = load(\"w.npz\", \"d\")\n    \
         return x + a + b + c[0:2] + d + e + f + g\n}\n",
    );
    let (loaded, sources) = load(&source, &dir);
    let errors = loaded.expect_err("every load fails");
    let codes: Vec<&str> = errors.iter().map(|d| d.code).collect();
    assert_eq!(codes, ["E0509", "E0509", "E0509", "E0509", "E0508", "E0509", "E0509"]);
    let rendered = atlas_lang::render(&errors, &sources, false);
    insta::assert_snapshot!(
        "weights_errors",
        format!("----- SOURCE\n{source}----- ERROR\n{rendered}")
    );
    std::fs::remove_dir_all(dir).expect("scratch removed");
}

#[test]
fn layer_norm_evaluates_close_to_the_real_layer_norm() {
    let source = with_act(
        "import std.nn.layer_norm\n\nmodel m(x: Act[2, 8]) -> Act[2, 8] {\n    return layer_norm(x)\n}\n",
    );
    let x: Vec<i64> =
        (0..8).map(|i| i * 64 - 200).chain((0..8).map(|i| (i * 37 % 11) * 20 + 100)).collect();
    let out = run_model(&source, std::slice::from_ref(&x));
    for row in 0..2 {
        let reals: Vec<f64> = x[row * 8..][..8].iter().map(|v| *v as f64 / 256.0).collect();
        let mean = reals.iter().sum::<f64>() / 8.0;
        let var = reals.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / 8.0;
        for (i, r) in reals.iter().enumerate() {
            let want = (r - mean) / (var + 1e-5).sqrt();
            let got = out[0][row * 8 + i] as f64 / 256.0;
            // Variance on a 2^-8 grid and the scale on a 2^-11 grid: a few percent at most.
            assert!(
                (got - want).abs() <= 0.03 * want.abs() + 4.0 / 256.0,
                "row {row}[{i}]: {got} vs {want}"
            );
        }
    }
}

/// `tests/it/fixtures/numpy_savez.npz` was written the way `numpy.savez` writes (Python's
/// `zipfile`, stored members opened with `force_zip64=True`, so each local header carries a zip64
/// extra field): `w` is `<f4` [[0.5, -0.25, 1], [2, -3.5, 0.125]], `b` is `<i2` [1, -2, 3].
#[test]
fn weights_load_from_a_numpy_style_npz() {
    let dir = repo_root().join("tests/it/fixtures");
    let source = with_act(
        "model m(x: Act[2, 3]) -> Act[2, 3] {\n    param w: Act[2, 3] = load(\"numpy_savez.npz\", \"w\")\n    \
         param b: i8[3] = load(\"numpy_savez.npz\", \"b\")\n    return x * w + b\n}\n",
    );
    let (loaded, _) = load(&source, &dir);
    let loaded = loaded.expect("weights load");
    use atlas_ir::{ParamData, ValueDef};
    let data: Vec<_> = loaded.program.params().map(|(_, v)| v.def.clone()).collect();
    assert_eq!(
        data,
        [
            ValueDef::Param { data: ParamData::Inline(vec![128, -64, 256, 512, -896, 32]) },
            ValueDef::Param { data: ParamData::Inline(vec![1, -2, 3]) },
        ]
    );
    assert!(loaded.warnings.is_empty());
}

/// Random well-typed programs: each compiles to valid IR, evaluates without error at extreme
/// inputs (so every `rescale` that lost `saturate` to the range analysis really fits), and gives
/// the same outputs before and after the passes (the passes preserve meaning).
#[test]
fn random_programs_evaluate_the_same_before_and_after_the_passes() {
    use rand::{Rng, SeedableRng};

    fn expr(rng: &mut rand_chacha::ChaCha8Rng, depth: u32) -> String {
        let leaf = depth == 0 || rng.gen_bool(0.25);
        if leaf {
            return ["x", "y"][rng.gen_range(0..2)].to_string();
        }
        let c = f64::from(rng.gen_range(-200..200)) / 100.0;
        let choice = rng.gen_range(0..10);
        let mut sub = || expr(rng, depth - 1);
        match choice {
            0 => format!("({} + {})", sub(), sub()),
            1 => format!("({} - {})", sub(), sub()),
            2 => format!("({} * {})", sub(), sub()),
            3 => format!("({} @ w)", sub()),
            4 => format!("relu({})", sub()),
            5 => format!("({} + b)", sub()),
            6 => format!("({} * {c})", sub()),
            7 => format!("-{}", sub()),
            8 => format!("softmax({})", sub()),
            _ => format!("({} + {c})", sub()),
        }
    }

    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let (lo, hi) = (i64::from(i16::MIN), i64::from(i16::MAX));
    let (mut evaluated, mut unsaturated) = (0, 0);
    for _ in 0..200 {
        let e = expr(&mut rng, 5);
        let source = with_act(&format!(
            "import std.nn.{{relu, softmax}}\n\n\
             model m(x: Act[2, 4], y: Act[2, 4], w: Act[4, 4], b: Act[4]) -> Act[2, 4] {{\n    return {e}\n}}\n"
        ));
        let mut sources = Sources::new();
        let file = sources.add("input.atl", &source);
        let parsed = parse(file, &source);
        let model = atlas_compiler::front::compile(&parsed.ast)
            .unwrap_or_else(|d| panic!("{source}\n{}", atlas_lang::render(&d, &sources, false)));
        let after = atlas_compiler::front::passes::run_passes(model.program.clone(), None)
            .unwrap_or_else(|why| panic!("{source}\n{why}"));
        let saturating = |p: &atlas_ir::Program| atlas_ir::print(p).matches("saturate").count();
        if saturating(&after) < saturating(&model.program) {
            unsaturated += 1;
        }
        let before_info = atlas_ir::validate(&model.program).expect("valid IR");
        let after_info = atlas_ir::validate(&after).expect("valid IR after the passes");
        let env = DenseEnv(&model);
        for fill in [lo, hi, 0, 1, -1] {
            let other = (-fill).clamp(lo, hi);
            let inputs = vec![vec![fill; 8], vec![other; 8], vec![fill; 16], vec![lo; 4]];
            let before = atlas_ir::eval(&before_info, &inputs, &env)
                .unwrap_or_else(|err| panic!("{source}\nbefore the passes: {err}"));
            let after = atlas_ir::eval(&after_info, &inputs, &env)
                .unwrap_or_else(|err| panic!("{source}\nafter the passes: {err}"));
            assert_eq!(before, after, "{source}");
            evaluated += 1;
        }
    }
    assert_eq!(evaluated, 200 * 5);
    // The range pass had work to do in a good share of them, so the check above is not vacuous.
    assert!(unsaturated > 20, "only {unsaturated} programs lost a saturate");
}

/// `tests/it/fixtures/numpy_savez_compressed.npz` was written the way `numpy.savez_compressed`
/// writes (deflated members, dynamic Huffman blocks): `w` is `<f4` [16, 16] with
/// `w[i] = ((i · 37) mod 101 − 50) / 16`.
#[test]
fn weights_load_from_a_compressed_npz() {
    let dir = repo_root().join("tests/it/fixtures");
    let source = with_act(
        "model m(x: Act[1, 16]) -> Act[1, 16] {\n    \
         param w: Act[16, 16] = load(\"numpy_savez_compressed.npz\", \"w\")\n    return x @ w\n}\n",
    );
    let (loaded, _) = load(&source, &dir);
    let loaded = loaded.expect("weights load");
    let expected: Vec<i64> = (0..256).map(|i| ((i * 37) % 101 - 50) * 16).collect();
    let data: Vec<_> = loaded.program.params().map(|(_, v)| v.def.clone()).collect();
    use atlas_ir::{ParamData, ValueDef};
    assert_eq!(data, [ValueDef::Param { data: ParamData::Inline(expected) }]);
}
