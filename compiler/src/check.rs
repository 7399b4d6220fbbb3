//! `atlasc check`: read a model, run every check that exists so far, and report.
//!
//! Today that is the front end (lexing, parsing, structural checks); name resolution and type
//! checking join here with the IR. The logic lives in the library, not in the binary, so the
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
    let text = match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(error) => {
                return CheckReport {
                    exit_code: 2,
                    stderr: format!(
                        "error: cannot check `{}`: expected UTF-8 text, found an invalid byte at \
                         offset {}\n",
                        path.display(),
                        error.utf8_error().valid_up_to()
                    ),
                }
            }
        },
        Err(error) => {
            return CheckReport {
                exit_code: 2,
                stderr: format!("error: cannot read `{}`: {error}\n", path.display()),
            }
        }
    };
    check_source(&path.display().to_string(), &text, color)
}

/// Checks source text that came from `name` (a path, or a label such as `<stdin>`).
pub fn check_source(name: &str, text: &str, color: bool) -> CheckReport {
    let mut sources = atlas_lang::Sources::new();
    let file = sources.add(name, text);
    let parsed = atlas_lang::parse(file, text);
    let shown = &parsed.diagnostics[..parsed.diagnostics.len().min(MAX_SHOWN)];
    let mut stderr = atlas_lang::render(shown, &sources, color);
    let hidden = parsed.diagnostics.len() - shown.len();
    if hidden > 0 {
        stderr.push_str(&format!("note: {hidden} more diagnostics not shown\n"));
    }
    let errors = parsed.diagnostics.iter().filter(|d| d.is_error()).count();
    if errors > 0 {
        let plural = if errors == 1 { "" } else { "s" };
        stderr.push_str(&format!("error: `{name}` has {errors} error{plural}\n"));
    }
    CheckReport { exit_code: u8::from(errors > 0), stderr }
}
