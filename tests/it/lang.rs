//! The `.atl` front end from the outside: one snapshot per syntax construct (source + AST) and
//! per diagnostic (source + rendered error), the examples, and the error-code registry against
//! `docs/errors.md`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use atlas_lang::{codes, dump, parse, print, render, same_tree, Sources};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Parses `source` as `input.atl` and returns the parse plus the rendered diagnostics (no color).
fn parse_named(source: &str) -> (atlas_lang::Parsed, String) {
    let mut sources = Sources::new();
    let file = sources.add("input.atl", source);
    let parsed = parse(file, source);
    let rendered = render(&parsed.diagnostics, &sources, false);
    (parsed, rendered)
}

/// Valid programs, one per construct of the language; each snapshot shows the source and the
/// tree (with byte spans).
const CONSTRUCTS: &[(&str, &str)] = &[
    ("comments", "// a line comment\n/* a block\n   comment */ type A = i8 // trailing\n"),
    ("import_list", "import std.nn.{relu, softmax, gelu,}\n"),
    ("import_path", "import std.nn.relu\nimport prelude\n"),
    ("const_plain_and_typed", "const N = 64\nconst EPS: Act = 0.001\n"),
    ("type_alias_element_types", "type A = i8\ntype B = i16\ntype C = i32\ntype D = fix<16, 8>\n"),
    ("tensor_types", "const N = 4\ntype Row = fix<8, 4>[1, N]\ntype Scalar = i32[]\n"),
    (
        "model_with_params",
        "model m(x: i8[1, 4], y: i8[1, 4]) -> i8[1, 2] {\n\
         \x20   param w: i8[4, 2] = load(\"w.safetensors\", \"dense.w\")\n\
         \x20   param b: i8[2] = [1, -2]\n\
         \x20   param r: i8[2, 2] = random(42)\n\
         \x20   param s: i8 = -0.5\n\
         \x20   return (x + y) @ w + b\n\
         }\n",
    ),
    (
        "fn_with_outputs",
        "fn split(x: i8[4]) -> (i8[2], i8[2]) {\n    let a: i8[2] = x[0:2]\n    let b = x[2:]\n    return a, b\n}\n",
    ),
    (
        "generic_fn",
        "fn softmax<T>(x: T[..], axis: int = -1) -> T[..] {\n    \
         let s: fix<16, (15 - bit_length(size(x, axis)))>[..] = exp_table(x, to = fix<16, 14>)\n    \
         return s\n}\n",
    ),
    ("let_many", "model m(x: i8[4]) -> i8[2] {\n    let a, b, = split(x)\n    return a + b\n}\n"),
    ("operator_precedence", "const P = a + b * c @ d - -e / f\n"),
    ("left_associativity", "const P = a - b - c / d / e\n"),
    ("parentheses", "const P = (a - (b - c)) * -(d + e)\n"),
    ("comparisons", "lookup step(x: i8) -> i8 = if x >= 0 { 1 } else { 0 }\n"),
    ("calls_with_named_arguments", "const P = softmax(x, axis = -1)\nconst Q = f()\n"),
    ("indexing_and_slicing", "const P = x[0, 1:3, :, 2:, :4]\nconst Q = x[i][j]\n"),
    ("array_literals", "const P = [[1, 2], [3, 4], []]\n"),
    ("number_literals", "const A = 1_000\nconst B = 0.5\nconst C = 2e-3\nconst D = 1.5E+2\n"),
    (
        "lookup_with_builtins",
        "lookup gelu(x: fix<16, 8>) -> fix<16, 8> = 0.5 * x * (1.0 + erf(x / sqrt(2.0)))\n\
         lookup clip(x: i8) -> i8 = min(max(x, -4), pow(2, 2))\n",
    ),
    (
        "lookup_else_if_chain",
        "lookup sign(x: i8) -> i8 = if x < 0 { -1 } else if x == 0 { 0 } else { 1 }\n",
    ),
    ("lookup_two_inputs", "lookup mix(x: i8, y: i8) -> i8 = abs(x - y) + log(1.0 + tanh(x))\n"),
    ("trailing_commas", "fn f(a: i8, b: i8,) -> i8 {\n    return g(a, b,)\n}\n"),
];

/// Invalid programs with the codes each must report, covering every code in `codes::ALL`.
const DIAGNOSTICS: &[(&str, &str, &[&str])] = &[
    ("unexpected_char", "const A = 1 $ 2\n", &["E0101"]),
    ("unterminated_string", "type A = i8\nconst NAME = \"unterminated\ntype B = i8\n", &["E0102"]),
    (
        "malformed_number",
        "const A = 12ab\nconst B = 1.2.3\nconst C = 1e\n",
        &["E0103", "E0103", "E0103"],
    ),
    (
        "number_out_of_range",
        "const A = 99999999999999999999\nconst B = 1e999\n",
        &["E0104", "E0104"],
    ),
    ("unterminated_comment", "type A = i8\n/* never closed\ntype B = i8\n", &["E0105"]),
    (
        "invalid_escape",
        "model m(x: i8) -> i8 {\n    param w: i8 = load(\"a\\qb\", \"w\")\n    return x\n}\n",
        &["E0106"],
    ),
    ("missing_paren", "const A = (1 + 2\ntype B = i8\n", &["E0201"]),
    ("semicolon", "fn f(x: i8) -> i8 {\n    let y = x + 1;\n    return y\n}\n", &["E0201"]),
    (
        "several_syntax_errors",
        "type A = fix<16 8>\n\
         model m(x: A[1, 4]) -> A[1, 4] {\n\
         \x20   let a = x +\n\
         \x20   let b = (a * 2\n\
         \x20   return b\n\
         }\n\
         const C = ]\n\
         fn g(y A) -> A {\n    return y\n}\n",
        &["E0201", "E0201", "E0201", "E0201", "E0201"],
    ),
    (
        "non_associative_comparison",
        "lookup f(x: i8) -> i8 = if 0 < x < 2 { 1 } else { 0 }\n",
        &["E0201"],
    ),
    ("fix_without_fraction_bits", "type T = fix<16>\n", &["E0201"]),
    ("unexpected_eof", "model m(x: i8) -> i8 {\n    return x\n", &["E0202"]),
    ("lookup_unknown_function", "lookup swish(x: i8) -> i8 = x * sigmoid(x)\n", &["E0301"]),
    ("lookup_arity", "lookup f(x: i8) -> i8 = pow(x) + exp(x, 2)\n", &["E0302", "E0302"]),
    ("lookup_matmul", "lookup f(x: i8) -> i8 = x @ x\n", &["E0303"]),
    ("lookup_index_and_array", "lookup f(x: i8) -> i8 = x[0] + [1, 2]\n", &["E0303", "E0303"]),
    ("lookup_bare_comparison", "lookup f(x: i8) -> i8 = x > 0\n", &["E0303"]),
    (
        "lookup_condition_not_comparison",
        "lookup f(x: i8) -> i8 = if x { 1 } else { 0 }\n",
        &["E0303"],
    ),
    ("lookup_named_argument", "lookup f(x: i8) -> i8 = max(x, y = 0)\n", &["E0303"]),
    (
        "conditional_outside_lookup",
        "fn f(x: i8) -> i8 {\n    let m = x > 0\n    return if x > 0 { x } else { 0 }\n}\n",
        &["E0304", "E0304"],
    ),
    (
        "param_outside_model",
        "fn f(x: i8) -> i8 {\n    param w: i8 = random(1)\n    return x * w\n}\n",
        &["E0305"],
    ),
    (
        "param_not_literal",
        "model m(x: i8) -> i8 {\n    param w: i8[2] = [1, x + 1]\n    return x\n}\n",
        &["E0306"],
    ),
    ("unsupported_element_types", "type A = bf16\ntype B = f8e4m3[4]\n", &["E0307", "E0307"]),
    (
        "fix_out_of_range",
        "type A = fix<40, 8>\ntype B = fix<8, 9>\ntype C = fix<0, 0>\n",
        &["E0308", "E0308", "E0308"],
    ),
    (
        "lookup_inputs",
        "lookup none() -> i8 = 1\nlookup three(a: i8, b: i8, c: i8) -> i8 = a\n",
        &["E0309", "E0309"],
    ),
    ("missing_return", "model m(x: i8) -> i8 {\n    let y = x\n}\n", &["E0310"]),
    ("statement_after_return", "fn f(x: i8) -> i8 {\n    return x\n    let y = x\n}\n", &["E0310"]),
    ("positional_after_named", "const A = conv2d(x, stride = 2, w)\n", &["E0311"]),
    (
        "signatures",
        "fn f<T>(x: T[..], axis: int = -1, k: int) -> T[..] {\n    return x\n}\n\n\
         model m(x: i8[2] = 1, n: int) -> i8[.., 2] {\n    return x\n}\n",
        &["E0312", "E0312", "E0312", "E0312"],
    ),
];

#[test]
fn every_construct_parses_to_the_snapshot_tree() {
    for (name, source) in CONSTRUCTS {
        let (parsed, rendered) = parse_named(source);
        assert!(parsed.diagnostics.is_empty(), "{name}:\n{rendered}");
        let snapshot = format!("----- SOURCE\n{source}----- AST\n{}", dump(&parsed.ast, true));
        insta::assert_snapshot!(format!("construct_{name}"), snapshot);
    }
}

/// [`DIAGNOSTICS`] plus cases whose source is easier to generate than to write out.
fn diagnostic_cases() -> Vec<(&'static str, String, Vec<&'static str>)> {
    let mut cases: Vec<_> = DIAGNOSTICS
        .iter()
        .map(|(name, source, codes)| (*name, source.to_string(), codes.to_vec()))
        .collect();
    let too_deep = format!("const A = {}x\n", "-".repeat(atlas_lang::parser::MAX_EXPR_DEPTH));
    cases.push(("nesting_too_deep", too_deep, vec!["E0203"]));
    cases
}

#[test]
fn every_diagnostic_renders_as_the_snapshot() {
    for (name, source, expected) in diagnostic_cases() {
        let (parsed, rendered) = parse_named(&source);
        let found: Vec<&str> = parsed.diagnostics.iter().map(|d| d.code).collect();
        assert_eq!(found, expected, "{name}:\n{rendered}");
        let snapshot = format!("----- SOURCE\n{source}----- ERROR\n{rendered}");
        insta::assert_snapshot!(format!("error_{name}"), snapshot);
    }
}

#[test]
fn every_code_has_a_snapshot_case() {
    // E04xx and E05xx come from the compiler's front end; `tests/it/front.rs` covers them.
    let registered: BTreeSet<&str> = codes::ALL
        .iter()
        .map(|(code, _)| *code)
        .filter(|code| code.as_bytes().get(2).is_some_and(|d| *d < b'4'))
        .collect();
    let exercised: BTreeSet<&str> =
        diagnostic_cases().into_iter().flat_map(|(_, _, codes)| codes).collect();
    assert_eq!(registered, exercised, "codes without a snapshot case, or cases with unknown codes");
    let all: BTreeSet<&str> = codes::ALL.iter().map(|(code, _)| *code).collect();
    assert_eq!(all.len(), codes::ALL.len(), "a code is registered twice");
}

#[test]
fn every_code_is_documented_in_errors_md() {
    let doc = std::fs::read_to_string(repo_root().join("docs/errors.md")).expect("docs/errors.md");
    let registered: BTreeSet<&str> = codes::ALL.iter().map(|(code, _)| *code).collect();
    let documented: BTreeSet<&str> = doc
        .lines()
        .filter_map(|line| line.strip_prefix("## "))
        .filter_map(|heading| heading.split_whitespace().next())
        .filter(|word| word.starts_with('E'))
        .collect();
    assert_eq!(registered, documented, "docs/errors.md sections vs codes::ALL");
}

#[test]
fn a_diagnostic_says_expected_and_found() {
    for (name, source, _) in diagnostic_cases() {
        let (parsed, _) = parse_named(&source);
        for d in &parsed.diagnostics {
            assert!(d.message.starts_with("expected "), "{name}: {}", d.message);
            assert!(d.message.contains(", found "), "{name}: {}", d.message);
            assert!(d.labels.iter().any(|l| l.primary), "{name}: no primary label");
            assert!(d.help.is_some() || d.code == codes::UNEXPECTED_TOKEN, "{name}: no help");
        }
    }
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

#[test]
fn every_example_parses_without_diagnostics() {
    let files = examples();
    let names: Vec<String> = files
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    for required in ["mlp.atl", "cnn.atl", "attention.atl", "swish.atl"] {
        assert!(names.iter().any(|n| n == required), "examples/{required} is missing");
    }
    for path in files {
        let source = std::fs::read_to_string(&path).expect("example is UTF-8");
        let mut sources = Sources::new();
        let file = sources.add(path.display().to_string(), source.as_str());
        let parsed = parse(file, &source);
        assert!(
            parsed.diagnostics.is_empty(),
            "{}:\n{}",
            path.display(),
            render(&parsed.diagnostics, &sources, false)
        );
        assert!(!parsed.ast.items.is_empty(), "{} declares nothing", path.display());
    }
}

#[test]
fn every_example_parses_to_the_snapshot_tree() {
    for path in examples() {
        let source = std::fs::read_to_string(&path).expect("example is UTF-8");
        let (parsed, rendered) = parse_named(&source);
        assert!(parsed.diagnostics.is_empty(), "{}:\n{rendered}", path.display());
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let snapshot = format!("----- SOURCE\n{source}----- AST\n{}", dump(&parsed.ast, true));
        insta::assert_snapshot!(format!("example_{stem}"), snapshot);
    }
}

#[test]
fn examples_round_trip_through_the_printer() {
    for path in examples() {
        let source = std::fs::read_to_string(&path).expect("example is UTF-8");
        let (first, _) = parse_named(&source);
        let printed = print(&first.ast);
        let (second, rendered) = parse_named(&printed);
        assert!(
            second.diagnostics.is_empty(),
            "{}: printed form fails:\n{rendered}",
            path.display()
        );
        assert!(same_tree(&first.ast, &second.ast), "{}: tree changed:\n{printed}", path.display());
        assert_eq!(print(&second.ast), printed, "{}: printing is not idempotent", path.display());
    }
}

#[test]
fn the_mlp_example_prints_canonically() {
    let source = std::fs::read_to_string(repo_root().join("examples/mlp.atl")).expect("mlp.atl");
    let (parsed, _) = parse_named(&source);
    insta::assert_snapshot!(
        "print_mlp",
        format!("----- SOURCE\n{source}----- PRINTED\n{}", print(&parsed.ast))
    );
}

/// `atlasc check` is `atlas_compiler::check::check_file` plus printing; test its contract here.
mod atlasc_check {
    use super::repo_root;
    use atlas_compiler::check::{check_file, check_source, MAX_SHOWN};

    /// A scratch file unique to this test process.
    fn scratch(name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!("atlas-it-{}-{name}", std::process::id()));
        std::fs::write(&path, bytes).expect("temp dir is writable");
        path
    }

    #[test]
    fn a_valid_file_exits_0_with_nothing_on_stderr() {
        for example in ["mlp.atl", "cnn.atl", "attention.atl", "swish.atl"] {
            let report = check_file(&repo_root().join("examples").join(example), false);
            assert_eq!((report.exit_code, report.stderr.as_str()), (0, ""), "{example}");
        }
    }

    #[test]
    fn an_invalid_file_exits_1_with_every_error_rendered() {
        let path = scratch("bad.atl", b"const A = (1\nconst B = 2 $\n");
        let report = check_file(&path, false);
        assert_eq!(report.exit_code, 1);
        assert!(
            report.stderr.contains("error[E0201]: expected `)`, found `const`"),
            "{}",
            report.stderr
        );
        assert!(report.stderr.contains("error[E0101]"), "{}", report.stderr);
        assert!(report.stderr.contains(&format!("{}:2:1", path.display())), "{}", report.stderr);
        assert!(report.stderr.ends_with("has 2 errors\n"), "{}", report.stderr);
        assert!(!report.stderr.contains('\u{1b}'), "no colors when asked for none");
        std::fs::remove_file(path).expect("scratch file removed");
    }

    #[test]
    fn a_missing_or_binary_file_exits_2_naming_the_path() {
        let missing = repo_root().join("examples/does-not-exist.atl");
        let report = check_file(&missing, false);
        assert_eq!(report.exit_code, 2);
        assert!(report.stderr.contains("does-not-exist.atl"), "{}", report.stderr);

        let binary = scratch("binary.atl", &[b'c', 0xff, 0xfe]);
        let report = check_file(&binary, false);
        assert_eq!(report.exit_code, 2);
        assert!(report.stderr.contains("expected UTF-8 text"), "{}", report.stderr);
        std::fs::remove_file(binary).expect("scratch file removed");
    }

    #[test]
    fn a_flood_of_errors_is_cut_short_but_counted() {
        let source = "$\n".repeat(MAX_SHOWN + 5);
        let report = check_source("flood.atl", &source, false);
        assert_eq!(report.exit_code, 1);
        assert_eq!(report.stderr.matches("error[E0101]").count(), MAX_SHOWN);
        assert!(report.stderr.contains("note: 5 more diagnostics not shown"), "{}", report.stderr);
        assert!(report.stderr.ends_with(&format!("has {} errors\n", MAX_SHOWN + 5)));
    }
}

#[test]
fn the_language_reference_lists_every_keyword_and_lookup_builtin() {
    let doc =
        std::fs::read_to_string(repo_root().join("docs/language.md")).expect("docs/language.md");
    let keyword_block = doc
        .split("**Keywords**")
        .nth(1)
        .and_then(|rest| rest.split("```").nth(1))
        .expect("docs/language.md has a Keywords code block");
    let documented: BTreeSet<&str> = keyword_block.split_whitespace().skip(1).collect();
    let reserved: BTreeSet<&str> = atlas_lang::lexer::KEYWORDS.iter().copied().collect();
    assert_eq!(documented, reserved, "keyword block of docs/language.md vs lexer::KEYWORDS");
    for (name, _) in atlas_lang::check::LOOKUP_BUILTINS {
        assert!(doc.contains(&format!("`{name}(")), "docs/language.md omits the builtin `{name}`");
    }
}
