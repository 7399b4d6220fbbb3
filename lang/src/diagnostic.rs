//! Atlas's diagnostics: a code, a severity, a message that says what was expected and what was
//! found, labelled spans and an optional help line.
//!
//! Diagnostics are plain data so that every stage (parser, checker, later the compiler) builds and
//! tests them the same way; codespan-reporting is used only by [`render`] to draw them.

use codespan_reporting::diagnostic as cs;
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term;

use crate::span::{Sources, Span};

/// How bad a diagnostic is. Any `Error` makes `atlasc check` fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
    Note,
}

/// A span with a message. The primary label marks the place the message is about; secondary
/// labels give context.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    pub span: Span,
    pub message: String,
    pub primary: bool,
}

/// One problem found in a source file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// A stable code such as `E0201`, listed in [`codes::ALL`] and documented in `docs/errors.md`.
    pub code: &'static str,
    pub severity: Severity,
    /// "expected …, found …".
    pub message: String,
    pub labels: Vec<Label>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity: Severity::Error,
            message: message.into(),
            labels: Vec::new(),
            help: None,
        }
    }

    pub fn with_primary(mut self, span: Span, message: impl Into<String>) -> Self {
        self.labels.push(Label { span, message: message.into(), primary: true });
        self
    }

    pub fn with_secondary(mut self, span: Span, message: impl Into<String>) -> Self {
        self.labels.push(Label { span, message: message.into(), primary: false });
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// The span of the first primary label, which orders diagnostics in a report.
    pub fn primary_span(&self) -> Option<Span> {
        self.labels.iter().find(|l| l.primary).map(|l| l.span)
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Every diagnostic code the front end emits. `docs/errors.md` has a section per entry (a test
/// checks that), so a new code is one constant, one line in [`codes::ALL`], and one section there.
pub mod codes {
    // E01xx: lexical errors.
    pub const UNEXPECTED_CHAR: &str = "E0101";
    pub const UNTERMINATED_STRING: &str = "E0102";
    pub const MALFORMED_NUMBER: &str = "E0103";
    pub const NUMBER_OUT_OF_RANGE: &str = "E0104";
    pub const UNTERMINATED_COMMENT: &str = "E0105";
    pub const INVALID_ESCAPE: &str = "E0106";
    // E02xx: syntax errors.
    pub const UNEXPECTED_TOKEN: &str = "E0201";
    pub const UNEXPECTED_EOF: &str = "E0202";
    pub const NESTING_TOO_DEEP: &str = "E0203";
    // E03xx: well-formedness of the syntax tree, checked without resolving names.
    pub const LOOKUP_UNKNOWN_FUNCTION: &str = "E0301";
    pub const LOOKUP_ARITY: &str = "E0302";
    pub const LOOKUP_FORBIDDEN_EXPR: &str = "E0303";
    pub const CONDITIONAL_OUTSIDE_LOOKUP: &str = "E0304";
    pub const PARAM_OUTSIDE_MODEL: &str = "E0305";
    pub const PARAM_NOT_LITERAL: &str = "E0306";
    pub const UNSUPPORTED_ELEM_TYPE: &str = "E0307";
    pub const FIX_OUT_OF_RANGE: &str = "E0308";
    pub const LOOKUP_INPUTS: &str = "E0309";
    pub const MISSING_RETURN: &str = "E0310";
    pub const POSITIONAL_AFTER_NAMED: &str = "E0311";
    pub const SIGNATURE: &str = "E0312";
    // E04xx: name resolution (the compiler's front end, `atlas_compiler::front`).
    pub const UNKNOWN_NAME: &str = "E0401";
    pub const DUPLICATE_NAME: &str = "E0402";
    pub const UNKNOWN_FUNCTION: &str = "E0403";
    pub const UNKNOWN_IMPORT: &str = "E0404";
    pub const RECURSIVE_FN: &str = "E0405";
    pub const MODEL_COUNT: &str = "E0406";
    // E05xx: types, shapes and constants (the compiler's front end).
    pub const SHAPE_MISMATCH: &str = "E0501";
    pub const MATMUL_DIMS: &str = "E0502";
    pub const TYPE_MISMATCH: &str = "E0503";
    pub const ARGUMENTS: &str = "E0504";
    pub const BAD_CONSTANT: &str = "E0505";
    pub const BAD_INDEX: &str = "E0506";
    pub const TOO_WIDE: &str = "E0507";
    pub const NOT_SUPPORTED: &str = "E0508";
    pub const WEIGHTS: &str = "E0509";
    pub const WEIGHT_SATURATED: &str = "E0510";

    /// `(code, one-line summary)` for every code above.
    pub const ALL: &[(&str, &str)] = &[
        (UNEXPECTED_CHAR, "a character that starts no token"),
        (UNTERMINATED_STRING, "a string literal without its closing quote"),
        (MALFORMED_NUMBER, "a number literal that is not well formed"),
        (NUMBER_OUT_OF_RANGE, "a number literal too large for 64 bits"),
        (UNTERMINATED_COMMENT, "a block comment without its closing `*/`"),
        (INVALID_ESCAPE, "an unknown backslash escape in a string"),
        (UNEXPECTED_TOKEN, "a token the grammar does not allow here"),
        (UNEXPECTED_EOF, "the file ends in the middle of a declaration"),
        (NESTING_TOO_DEEP, "expressions nested more deeply than the front end allows"),
        (LOOKUP_UNKNOWN_FUNCTION, "a lookup expression calls a function that is not a builtin"),
        (LOOKUP_ARITY, "a lookup builtin called with the wrong number of arguments"),
        (LOOKUP_FORBIDDEN_EXPR, "a lookup expression uses a tensor-level construct"),
        (CONDITIONAL_OUTSIDE_LOOKUP, "`if` or a comparison outside a lookup expression"),
        (PARAM_OUTSIDE_MODEL, "a `param` declaration in a `fn` body"),
        (PARAM_NOT_LITERAL, "an inline `param` initialiser that is not a literal"),
        (UNSUPPORTED_ELEM_TYPE, "a reserved element type that is not supported yet"),
        (FIX_OUT_OF_RANGE, "`fix<B, F>` with B or F out of range"),
        (LOOKUP_INPUTS, "a lookup with other than one or two inputs"),
        (MISSING_RETURN, "a body that does not end with its single `return`"),
        (POSITIONAL_AFTER_NAMED, "a positional argument after a named one"),
        (SIGNATURE, "a misplaced `int`, default value or `..` in a signature or type"),
        (UNKNOWN_NAME, "a name that is not declared, or names the wrong kind of thing"),
        (DUPLICATE_NAME, "a name declared twice in one scope"),
        (UNKNOWN_FUNCTION, "a call to a function that is not declared or imported"),
        (UNKNOWN_IMPORT, "an import of a module or name the standard library lacks"),
        (RECURSIVE_FN, "a fn that calls itself, directly or through others"),
        (MODEL_COUNT, "`atlasc ir` on a file without exactly one model"),
        (SHAPE_MISMATCH, "operand shapes that do not broadcast or fit the operation"),
        (MATMUL_DIMS, "matmul operands whose ranks or inner dimensions do not fit"),
        (TYPE_MISMATCH, "a value whose type or shape differs from the declared one"),
        (ARGUMENTS, "missing, unknown or repeated call arguments"),
        (BAD_CONSTANT, "a constant that is not valid where it is used"),
        (BAD_INDEX, "an index, slice, axis or reshape that does not fit the shape"),
        (TOO_WIDE, "an exact intermediate result wider than 64 bits"),
        (NOT_SUPPORTED, "a valid construct the compiler cannot lower yet"),
        (WEIGHTS, "a `load` whose file or tensor is missing, malformed or of the wrong shape"),
        (WEIGHT_SATURATED, "(warning) loaded weights outside the declared type, saturated"),
    ];
}

/// Renders diagnostics as text, in the order given, with source snippets. `color` adds ANSI
/// escapes (for a terminal); snapshots and logs use `false`.
pub fn render(diagnostics: &[Diagnostic], sources: &Sources, color: bool) -> String {
    let mut files = SimpleFiles::new();
    for (name, text) in sources.iter() {
        files.add(name, text);
    }
    let config = term::Config::default();
    let mut out = String::new();
    for diagnostic in diagnostics {
        let cs_diag = to_codespan(diagnostic);
        let rendered = if color {
            let mut buffer = term::termcolor::Buffer::ansi();
            term::emit_to_write_style(&mut buffer, &config, &files, &cs_diag)
                .map(|()| String::from_utf8_lossy(buffer.as_slice()).into_owned())
        } else {
            term::emit_into_string(&config, &files, &cs_diag)
        };
        match rendered {
            Ok(text) => out.push_str(&text),
            // A span outside its file is a bug in the caller, but a report must still come out.
            Err(error) => out.push_str(&format!(
                "{}[{}]: {}\n  (could not show the source: {error})\n\n",
                severity_word(diagnostic.severity),
                diagnostic.code,
                diagnostic.message
            )),
        }
    }
    out
}

fn severity_word(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

fn to_codespan(diagnostic: &Diagnostic) -> cs::Diagnostic<usize> {
    let severity = match diagnostic.severity {
        Severity::Error => cs::Severity::Error,
        Severity::Warning => cs::Severity::Warning,
        Severity::Note => cs::Severity::Note,
    };
    let labels = diagnostic
        .labels
        .iter()
        .map(|label| {
            let style =
                if label.primary { cs::LabelStyle::Primary } else { cs::LabelStyle::Secondary };
            cs::Label::new(style, label.span.file.0 as usize, label.span.range())
                .with_message(label.message.clone())
        })
        .collect();
    let notes = diagnostic.help.iter().map(|help| format!("help: {help}")).collect();
    cs::Diagnostic::new(severity)
        .with_code(diagnostic.code)
        .with_message(diagnostic.message.clone())
        .with_labels(labels)
        .with_notes(notes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::span::FileId;

    fn sample(sources: &mut Sources) -> Diagnostic {
        let file = sources.add("a.atl", "const A = 1 $ 2\n");
        Diagnostic::error(codes::UNEXPECTED_CHAR, "expected a token, found the character '$'")
            .with_primary(Span::new(file, 12, 13), "here")
            .with_help("remove it")
    }

    #[test]
    fn plain_rendering_has_code_location_labels_and_help() {
        let mut sources = Sources::new();
        let diag = sample(&mut sources);
        let text = render(&[diag], &sources, false);
        assert!(text.starts_with("error[E0101]: expected a token"), "{text}");
        assert!(text.contains("a.atl:1:13"), "{text}");
        assert!(text.contains("^ here"), "{text}");
        assert!(text.contains("= help: remove it"), "{text}");
        assert!(!text.contains('\u{1b}'), "{text}");
    }

    #[test]
    fn color_rendering_uses_ansi_escapes() {
        let mut sources = Sources::new();
        let diag = sample(&mut sources);
        assert!(render(&[diag], &sources, true).contains('\u{1b}'));
    }

    #[test]
    fn a_span_outside_the_sources_still_renders_the_message() {
        let sources = Sources::new();
        let diag = Diagnostic::error(codes::UNEXPECTED_TOKEN, "expected `)`, found `;`")
            .with_primary(Span::new(FileId(7), 0, 1), "here");
        let text = render(&[diag], &sources, false);
        assert!(text.contains("error[E0201]: expected `)`, found `;`"), "{text}");
    }
}
