//! `atlasc check`: read a model, run every check that exists so far, and report.
//!
//! That is lexing, parsing and the structural checks, then (on a file without syntax errors) name
//! resolution and type checking by [`crate::front`]. The logic lives in the library, not in the binary, so the
//! integration tests exercise exactly what the command does.

use std::path::Path;

/// More diagnostics than this are counted but not drawn: a report that long is read from the top,
/// and drawing each one costs time proportional to its source line.
pub const MAX_SHOWN: usize = 100;

/// What `atlasc check` prints on stderr and the exit code it returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckReport {
    /// 0: no errors; 1: the model has errors; 2: the file could not be read.
    pub exit_code: u8,
    /// Rendered diagnostics and the closing summary; empty for a valid file.
    pub stderr: String,
}

/// Checks the file at `path`. `color` adds ANSI colors to the rendered diagnostics.
pub fn check_file(path: &Path, color: bool) -> CheckReport {
    match read_source(path) {
        Ok(text) => check_source(&path.display().to_string(), &text, color),
        Err(report) => report,
    }
}

/// Reads a model's text, or the exit-2 report for an unreadable or non-UTF-8 file.
pub(crate) fn read_source(path: &Path) -> Result<String, CheckReport> {
    let text = match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(error) => {
                return Err(CheckReport {
                    exit_code: 2,
                    stderr: format!(
                        "error: cannot check `{}`: expected UTF-8 text, found an invalid byte at \
                         offset {}\n",
                        path.display(),
                        error.utf8_error().valid_up_to()
                    ),
                })
            }
        },
        Err(error) => {
            return Err(CheckReport {
                exit_code: 2,
                stderr: format!("error: cannot read `{}`: {error}\n", path.display()),
            })
        }
    };
    Ok(text)
}

/// Checks source text that came from `name` (a path, or a label such as `<stdin>`).
pub fn check_source(name: &str, text: &str, color: bool) -> CheckReport {
    let mut sources = atlas_lang::Sources::new();
    let file = sources.add(name, text);
    let mut parsed = atlas_lang::parse(file, text);
    if parsed.diagnostics.is_empty() {
        // Names, types and shapes; constructs only the lowering lacks ("not supported yet") are
        // valid programs and left to `atlasc ir`.
        parsed.diagnostics = crate::front::elaborate(&parsed.ast).errors;
    }
    report(name, &parsed.diagnostics, &sources, color)
}

/// Renders `diagnostics` (at most [`MAX_SHOWN`]) with the closing summary line.
pub(crate) fn report(
    name: &str,
    diagnostics: &[atlas_lang::Diagnostic],
    sources: &atlas_lang::Sources,
    color: bool,
) -> CheckReport {
    let shown = &diagnostics[..diagnostics.len().min(MAX_SHOWN)];
    let mut stderr = atlas_lang::render(shown, sources, color);
    let hidden = diagnostics.len() - shown.len();
    if hidden > 0 {
        stderr.push_str(&format!("note: {hidden} more diagnostics not shown\n"));
    }
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    if errors > 0 {
        let plural = if errors == 1 { "" } else { "s" };
        stderr.push_str(&format!("error: `{name}` has {errors} error{plural}\n"));
    }
    CheckReport { exit_code: u8::from(errors > 0), stderr }
}
