//! Weight loading: the `load("file", "tensor")` params of a compiled model, read from their files
//! and converted to the declared element type.
//!
//! The front end lowers `load` to an external weight (`weights("tensor")` in the IR), so a program
//! can be compiled and inspected without its weights; [`load_weights`] is the step that binds them
//! (for running and proving), replacing each external param by inline data.
//!
//! Formats: `.safetensors` (the tensor by name), `.npy` (one array; the tensor name is not used)
//! and `.npz` (the member `<tensor>.npy`: stored, as `np.savez` writes, or deflated, as
//! `np.savez_compressed` writes; zip64 included). Element types: floats (`F16`, `BF16`, `F32`,
//! `F64`) and integers (`I8`…`I64`, `U8`…`U32`),
//! read as reals and quantized to the declared type by round to nearest (ties toward +∞); values
//! outside the type saturate and are reported as a warning (E0510). Members compressed otherwise
//! than by DEFLATE are not supported (E0508).

use std::collections::HashMap;
use std::path::Path;

use atlas_ir::{ElemType, ParamData, Program, ValueDef};
use atlas_lang::ast::{Item, ParamInit, Stmt};
use atlas_lang::{codes, Ast, Diagnostic, Severity, Span};

/// A program with its weights bound, and the warnings (saturated values) met on the way.
#[derive(Debug)]
pub struct Loaded {
    pub program: Program,
    pub warnings: Vec<Diagnostic>,
}

/// Reads every `load` param of `program` (compiled from `ast`) from its file, `file` taken
/// relative to `base_dir` (the `.atl` file's directory). Errors point at the `load` statement.
pub fn load_weights(
    ast: &Ast,
    program: &Program,
    base_dir: &Path,
) -> Result<Loaded, Vec<Diagnostic>> {
    load_weights_with(ast, program, &|file| {
        std::fs::read(base_dir.join(file)).map_err(|e| e.to_string())
    })
}

/// [`load_weights`] with the files' bytes from `read` (given the `load`'s file name): how the
/// ONNX importer binds weights it holds in memory.
pub fn load_weights_with(
    ast: &Ast,
    program: &Program,
    read: &dyn Fn(&str) -> Result<Vec<u8>, String>,
) -> Result<Loaded, Vec<Diagnostic>> {
    let mut out = program.clone();
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let mut files: HashMap<String, Result<Vec<u8>, String>> = HashMap::new();
    let body = ast.items.iter().find_map(|&i| match ast.item(i) {
        Item::Model { name, body, .. } if ast.name(*name) == program.name => Some(body),
        _ => None,
    });
    for &s in body.into_iter().flatten() {
        let Stmt::Param { name, init: ParamInit::Load { file, tensor }, .. } = &ast.stmts[s] else {
            continue;
        };
        let span = ast.span(s);
        let pname = ast.name(*name);
        let Some(value) = out.values.iter_mut().find(|v| v.name.as_deref() == Some(pname)) else {
            continue;
        };
        if !matches!(value.def, ValueDef::Param { data: ParamData::External { .. } }) {
            continue;
        }
        // The format is known from the name, so an unsupported one is reported as such even
        // when the file is absent.
        let bytes = files.entry(file.clone()).or_insert_with(|| read(file));
        let read = match bytes {
            Ok(bytes) => read_tensor(file, bytes, tensor),
            Err(e) => Err(Problem::Load(format!("cannot read `{file}`: {e}"))),
        };
        let (shape, reals) = match read {
            Ok(t) => t,
            Err(Problem::Load(why)) => {
                errors.push(weight_error(span, &value.ty.to_string(), &why));
                continue;
            }
            Err(Problem::Unsupported(why)) => {
                errors.push(
                    Diagnostic::error(
                        codes::NOT_SUPPORTED,
                        format!("expected a weights file the compiler can read, found {why}: not supported yet"),
                    )
                    .with_primary(span, "not supported yet")
                    .with_help("save the weights as .safetensors or .npy"),
                );
                continue;
            }
        };
        if shape != value.ty.shape {
            errors.push(weight_error(
                span,
                &value.ty.to_string(),
                &format!("`{tensor}` in `{file}` has shape {shape:?}"),
            ));
            continue;
        }
        let (data, saturated, non_finite) = quantize_all(&reals, value.ty.elem);
        if non_finite > 0 {
            errors.push(weight_error(
                span,
                &value.ty.to_string(),
                &format!("`{tensor}` in `{file}` holds {non_finite} NaN or infinite values"),
            ));
            continue;
        }
        if saturated > 0 {
            let (lo, hi) = value.ty.elem.range().unwrap_or((0, 0));
            let scale = 2f64.powi(i32::from(value.ty.elem.frac().unwrap_or(0)));
            warnings.push(Diagnostic {
                code: codes::WEIGHT_SATURATED,
                severity: Severity::Warning,
                message: format!(
                    "expected weights within {} ({} to {}), found {saturated} of {} outside; they saturate",
                    value.ty.elem,
                    lo as f64 / scale,
                    hi as f64 / scale,
                    reals.len()
                ),
                labels: vec![atlas_lang::Label {
                    span,
                    message: "saturated here".into(),
                    primary: true,
                }],
                help: Some("use a type with more integer bits, or rescale the weights".into()),
            });
        }
        value.def = ValueDef::Param { data: ParamData::Inline(data) };
    }
    if errors.is_empty() {
        Ok(Loaded { program: out, warnings })
    } else {
        Err(errors)
    }
}

fn weight_error(span: Span, declared: &str, found: &str) -> Diagnostic {
    Diagnostic::error(
        codes::WEIGHTS,
        format!("expected a weight tensor of type {declared}, found: {found}"),
    )
    .with_primary(span, "loaded here")
    .with_help("paths are relative to the .atl file; shapes must equal the declared ones")
}

enum Problem {
    /// Missing file or tensor, malformed file, wrong dtype (E0509).
    Load(String),
    /// A valid format the loader does not read yet (E0508).
    Unsupported(String),
}

/// Rounds to nearest (ties toward +∞) on `elem`'s grid, saturating; counts saturated and
/// non-finite values.
fn quantize_all(reals: &[f64], elem: ElemType) -> (Vec<i64>, usize, usize) {
    let scale = 2f64.powi(i32::from(elem.frac().unwrap_or(0)));
    let (lo, hi) = elem.range().unwrap_or((0, 0));
    let (mut saturated, mut non_finite) = (0, 0);
    let data = reals
        .iter()
        .map(|v| {
            if !v.is_finite() {
                non_finite += 1;
                return 0;
            }
            let q = (v * scale + 0.5).floor();
            if q < lo as f64 {
                saturated += 1;
                lo
            } else if q > hi as f64 {
                saturated += 1;
                hi
            } else {
                q as i64
            }
        })
        .collect();
    (data, saturated, non_finite)
}

fn read_tensor(file: &str, bytes: &[u8], tensor: &str) -> Result<(Vec<usize>, Vec<f64>), Problem> {
    if file.ends_with(".safetensors") {
        let st = safetensors::SafeTensors::deserialize(bytes).map_err(|e| {
            Problem::Load(format!("`{file}` is not a valid safetensors file ({e})"))
        })?;
        let view = st.tensor(tensor).map_err(|_| {
            let mut names = st.names();
            names.sort();
            Problem::Load(format!(
                "no tensor `{tensor}` in `{file}` (it has: {})",
                names.join(", ")
            ))
        })?;
        let dtype = format!("{:?}", view.dtype());
        let reals = decode(&dtype, view.data(), true).ok_or_else(|| {
            Problem::Load(format!("`{tensor}` has the unsupported dtype {dtype}"))
        })?;
        Ok((view.shape().to_vec(), reals))
    } else if file.ends_with(".npy") {
        read_npy(file, bytes)
    } else if file.ends_with(".npz") {
        let entry = format!("{tensor}.npy");
        let data = npz_entry(file, bytes, &entry)?;
        read_npy(&format!("{file}/{entry}"), &data)
    } else {
        Err(Problem::Load(format!("`{file}`, which is not .safetensors, .npy or .npz")))
    }
}

/// Decodes little- (or big-) endian elements of a dtype named like safetensors' (`F32`, `I8`, …).
fn decode(dtype: &str, data: &[u8], little: bool) -> Option<Vec<f64>> {
    fn chunks<const N: usize>(data: &[u8], little: bool) -> Option<Vec<[u8; N]>> {
        if data.len() % N != 0 {
            return None;
        }
        Some(
            data.chunks_exact(N)
                .map(|c| {
                    let mut a = [0u8; N];
                    a.copy_from_slice(c);
                    if !little {
                        a.reverse();
                    }
                    a
                })
                .collect(),
        )
    }
    Some(match dtype {
        "F64" => chunks::<8>(data, little)?.into_iter().map(f64::from_le_bytes).collect(),
        "F32" => chunks::<4>(data, little)?
            .into_iter()
            .map(|b| f64::from(f32::from_le_bytes(b)))
            .collect(),
        "BF16" => chunks::<2>(data, little)?
            .into_iter()
            .map(|b| f64::from(f32::from_bits(u32::from(u16::from_le_bytes(b)) << 16)))
            .collect(),
        "F16" => chunks::<2>(data, little)?
            .into_iter()
            .map(|b| f16_to_f64(u16::from_le_bytes(b)))
            .collect(),
        "I8" => data.iter().map(|b| f64::from(*b as i8)).collect(),
        "U8" => data.iter().map(|b| f64::from(*b)).collect(),
        "I16" => chunks::<2>(data, little)?
            .into_iter()
            .map(|b| f64::from(i16::from_le_bytes(b)))
            .collect(),
        "U16" => chunks::<2>(data, little)?
            .into_iter()
            .map(|b| f64::from(u16::from_le_bytes(b)))
            .collect(),
        "I32" => chunks::<4>(data, little)?
            .into_iter()
            .map(|b| f64::from(i32::from_le_bytes(b)))
            .collect(),
        "U32" => chunks::<4>(data, little)?
            .into_iter()
            .map(|b| f64::from(u32::from_le_bytes(b)))
            .collect(),
        "I64" => {
            chunks::<8>(data, little)?.into_iter().map(|b| i64::from_le_bytes(b) as f64).collect()
        }
        _ => return None,
    })
}

/// IEEE half precision to f64 (subnormals, infinities and NaN included).
pub fn f16_to_f64(h: u16) -> f64 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = i32::from((h >> 10) & 0x1f);
    let mant = f64::from(h & 0x3ff);
    sign * match exp {
        0 => mant * 2f64.powi(-24),
        31 if mant == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        e => (1.0 + mant / 1024.0) * 2f64.powi(e - 15),
    }
}

fn le(bytes: &[u8], at: usize, n: usize) -> Option<u64> {
    let b = bytes.get(at..at + n)?;
    Some(b.iter().rev().fold(0u64, |acc, x| (acc << 8) | u64::from(*x)))
}

/// The bytes of the member `entry` of a `.npz` (zip) archive, found through the central directory
/// (zip64 included, as NumPy writes): stored (`np.savez`) or deflated (`np.savez_compressed`).
/// CRCs are not checked.
fn npz_entry<'b>(
    file: &str,
    bytes: &'b [u8],
    entry: &str,
) -> Result<std::borrow::Cow<'b, [u8]>, Problem> {
    let bad = |why: &str| Problem::Load(format!("`{file}` is not a valid .npz archive ({why})"));
    let eocd = (0..bytes.len().saturating_sub(21))
        .rev()
        .find(|&i| le(bytes, i, 4) == Some(0x0605_4b50))
        .ok_or_else(|| bad("no end of central directory"))?;
    let mut count = le(bytes, eocd + 10, 2).ok_or_else(|| bad("truncated"))?;
    let mut cd = le(bytes, eocd + 16, 4).ok_or_else(|| bad("truncated"))?;
    if (count == 0xffff || cd == 0xffff_ffff)
        && eocd >= 20
        && le(bytes, eocd - 20, 4) == Some(0x0706_4b50)
    {
        let z = le(bytes, eocd - 12, 8).ok_or_else(|| bad("truncated zip64 locator"))? as usize;
        if le(bytes, z, 4) != Some(0x0606_4b50) {
            return Err(bad("no zip64 end of central directory"));
        }
        count = le(bytes, z + 32, 8).ok_or_else(|| bad("truncated"))?;
        cd = le(bytes, z + 48, 8).ok_or_else(|| bad("truncated"))?;
    }
    let mut at = usize::try_from(cd).map_err(|_| bad("offset too large"))?;
    let mut names = Vec::new();
    for _ in 0..count {
        if le(bytes, at, 4) != Some(0x0201_4b50) {
            return Err(bad("a broken central directory"));
        }
        let field = |off: usize, n: usize| le(bytes, at + off, n).ok_or_else(|| bad("truncated"));
        let method = field(10, 2)?;
        let mut size = field(20, 4)?;
        let mut uncompressed = field(24, 4)?;
        let (name_len, extra_len, comment_len) =
            (field(28, 2)? as usize, field(30, 2)? as usize, field(32, 2)? as usize);
        let mut offset = field(42, 4)?;
        let name = bytes.get(at + 46..at + 46 + name_len).ok_or_else(|| bad("truncated"))?;
        let name = String::from_utf8_lossy(name).into_owned();
        // A zip64 extra field holds, in order, the sizes and offset that did not fit 32 bits.
        let mut e = at + 46 + name_len;
        let extra_end = e + extra_len;
        while e + 4 <= extra_end {
            let (id, len) = (field(e - at, 2)?, field(e - at + 2, 2)? as usize);
            if id == 1 {
                let mut p = e + 4;
                let mut next = || {
                    let v = le(bytes, p, 8).ok_or_else(|| bad("truncated zip64 field"));
                    p += 8;
                    v
                };
                if uncompressed == 0xffff_ffff {
                    uncompressed = next()?;
                }
                if size == 0xffff_ffff {
                    size = next()?;
                }
                if offset == 0xffff_ffff {
                    offset = next()?;
                }
            }
            e += 4 + len;
        }
        if name == entry {
            if method != 0 && method != 8 {
                return Err(Problem::Unsupported(format!(
                    "the member `{entry}` of `{file}`, compressed with method {method} (only stored \
                     and deflated members are read)"
                )));
            }
            let h = usize::try_from(offset).map_err(|_| bad("offset too large"))?;
            if le(bytes, h, 4) != Some(0x0403_4b50) {
                return Err(bad("a broken local header"));
            }
            let start = h
                + 30
                + le(bytes, h + 26, 2).unwrap_or(0) as usize
                + le(bytes, h + 28, 2).unwrap_or(0) as usize;
            let end = start.checked_add(usize::try_from(size).map_err(|_| bad("size too large"))?);
            let raw = end
                .and_then(|end| bytes.get(start..end))
                .ok_or_else(|| bad("a truncated member"))?;
            if method == 0 {
                return Ok(std::borrow::Cow::Borrowed(raw));
            }
            let limit = usize::try_from(uncompressed).map_err(|_| bad("size too large"))?;
            let data = super::inflate::inflate(raw, limit)
                .map_err(|why| bad(&format!("member `{entry}` does not inflate: {why}")))?;
            return Ok(std::borrow::Cow::Owned(data));
        }
        names.push(name.trim_end_matches(".npy").to_string());
        at += 46 + name_len + extra_len + comment_len;
    }
    names.sort();
    Err(Problem::Load(format!(
        "no array `{}` in `{file}` (it has: {})",
        entry.trim_end_matches(".npy"),
        names.join(", ")
    )))
}

/// `.npy` (versions 1–3): magic, version, header length, a Python dict literal with `descr`,
/// `fortran_order` and `shape`, then the raw elements.
fn read_npy(file: &str, bytes: &[u8]) -> Result<(Vec<usize>, Vec<f64>), Problem> {
    let bad = |why: &str| Problem::Load(format!("`{file}` is not a valid .npy file ({why})"));
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(bad("no NUMPY magic"));
    }
    let (len, start) = match bytes[6] {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        2 | 3 if bytes.len() >= 12 => {
            (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12)
        }
        _ => return Err(bad("unknown version")),
    };
    let header = bytes
        .get(start..start + len)
        .and_then(|h| std::str::from_utf8(h).ok())
        .ok_or_else(|| bad("truncated header"))?;
    let field = |key: &str| header.split(&format!("'{key}':")).nth(1).map(str::trim_start);
    let descr = field("descr")
        .and_then(|r| r.strip_prefix('\''))
        .and_then(|r| r.split('\'').next())
        .ok_or_else(|| bad("no descr"))?;
    if field("fortran_order").is_some_and(|r| r.starts_with("True")) {
        return Err(Problem::Unsupported(format!("the Fortran-order array `{file}`")));
    }
    let shape_text = field("shape")
        .and_then(|r| r.strip_prefix('('))
        .and_then(|r| r.split(')').next())
        .ok_or_else(|| bad("no shape"))?;
    let shape = shape_text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>().map_err(|_| bad("a malformed shape")))
        .collect::<Result<Vec<_>, _>>()?;
    let (order, kind) = descr.split_at(1.min(descr.len()));
    let little = order != ">";
    let dtype = match kind {
        "f2" => "F16",
        "f4" => "F32",
        "f8" => "F64",
        "i1" => "I8",
        "u1" => "U8",
        "i2" => "I16",
        "u2" => "U16",
        "i4" => "I32",
        "u4" => "U32",
        "i8" => "I64",
        other => {
            return Err(Problem::Load(format!("`{file}` has the unsupported dtype `{other}`")))
        }
    };
    let reals =
        decode(dtype, &bytes[start + len..], little).ok_or_else(|| bad("a truncated body"))?;
    let count: usize = shape.iter().product();
    if reals.len() != count {
        return Err(bad(&format!("{} elements for shape {shape:?}", reals.len())));
    }
    Ok((shape, reals))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f16_decodes_normals_subnormals_and_infinity() {
        assert_eq!(f16_to_f64(0x3c00), 1.0);
        assert_eq!(f16_to_f64(0xc000), -2.0);
        assert_eq!(f16_to_f64(0x0001), 2f64.powi(-24));
        assert_eq!(f16_to_f64(0x7c00), f64::INFINITY);
    }

    #[test]
    fn quantization_rounds_and_counts_saturation() {
        let (data, saturated, non_finite) =
            quantize_all(&[0.5, -0.001, 200.0, f64::NAN], ElemType::fix(16, 8));
        assert_eq!(data, [128, 0, 32767, 0]);
        assert_eq!((saturated, non_finite), (1, 1));
    }
}
