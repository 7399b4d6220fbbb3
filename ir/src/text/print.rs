//! The printer. Its output is the canonical text form: `parse(print(p)) == p` for every valid `p`,
//! and printing is stable (snapshots depend on it).

use std::fmt::Write;

use crate::program::{Op, ParamData, Program, Rounding, ValueDef, ValueId, Visibility};
use crate::types::Dims;

/// The text form of `program`. Also prints invalid programs (e.g. for error reports); a forward
/// or out-of-range operand is then printed by index, which parses back to the same handle.
pub fn print(program: &Program) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write_program(&mut out, program);
    out
}

fn write_program(out: &mut String, p: &Program) -> std::fmt::Result {
    writeln!(out, "program {} {{", p.name)?;
    for t in &p.tables {
        write!(out, "  table @{} = #{:#010x} (", t.name, t.id)?;
        for (i, e) in t.inputs.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            write!(out, "{e}")?;
        }
        writeln!(out, ") -> {}", t.output)?;
    }
    for (i, v) in p.values.iter().enumerate() {
        let id = ValueId(i as u32);
        let name = value_name(p, id);
        match &v.def {
            ValueDef::Input { visibility } => {
                let vis = match visibility {
                    Visibility::Public => "public",
                    Visibility::Private => "private",
                };
                writeln!(out, "  input {vis} {name}: {}", v.ty)?;
            }
            ValueDef::Param { data: ParamData::External { key } } => {
                writeln!(out, "  param {name}: {} = weights({key:?})", v.ty)?;
            }
            ValueDef::Param { data: ParamData::Inline(data) } => {
                writeln!(out, "  param {name}: {} = {}", v.ty, Data(data))?;
            }
            ValueDef::Const { data } => {
                writeln!(out, "  const {name}: {} = {}", v.ty, Data(data))?;
            }
            ValueDef::Node(node) => {
                write!(out, "  {name}: {} = {}", v.ty, node.op.name())?;
                if let Op::Lookup { table } = node.op {
                    match p.table(table) {
                        Some(t) => write!(out, " @{}", t.name)?,
                        // Out of range: printed by index, which the parser reads back.
                        None => write!(out, " @{}", table.0)?,
                    }
                }
                for (k, &o) in node.operands.iter().enumerate() {
                    out.push_str(if k == 0 { " " } else { ", " });
                    // Only earlier values are printed by name: the parser resolves names in
                    // order, and indices always resolve.
                    if o < id {
                        out.push_str(&value_name(p, o));
                    } else {
                        write!(out, "{o}")?;
                    }
                }
                write_attrs(out, &node.op)?;
                out.push('\n');
            }
        }
    }
    for &o in &p.outputs {
        writeln!(out, "  output {}", value_name(p, o))?;
    }
    out.push_str("}\n");
    Ok(())
}

/// `%name`, or `%index` for unnamed (and nonexistent) values.
fn value_name(p: &Program, id: ValueId) -> String {
    match p.value(id).and_then(|v| v.name.as_deref()) {
        Some(n) => format!("%{n}"),
        None => format!("{id}"),
    }
}

fn write_attrs(out: &mut String, op: &Op) -> std::fmt::Result {
    match op {
        Op::MatMul
        | Op::Add
        | Op::Sub
        | Op::Mul
        | Op::Neg
        | Op::Lookup { .. }
        // These attributes are the result type, printed once on the left.
        | Op::Broadcast { .. }
        | Op::Reshape { .. }
        | Op::Cast { .. } => Ok(()),
        Op::Reduce { axes, keep_dims, .. } => {
            write!(out, " axes={}", Dims(axes))?;
            if *keep_dims {
                out.push_str(" keep_dims");
            }
            Ok(())
        }
        Op::Transpose { perm } => write!(out, " perm={}", Dims(perm)),
        Op::Slice { axis, start, end, step } => {
            write!(out, " axis={axis} start={start} end={end} step={step}")
        }
        Op::Concat { axis } | Op::Gather { axis } => write!(out, " axis={axis}"),
        Op::Im2Col { kernel, stride, pad } => write!(
            out,
            " kernel={} stride={} pad={}",
            Dims(kernel),
            Dims(stride),
            Dims(pad)
        ),
        Op::Rescale { shift, rounding, saturate, .. } | Op::Affine { shift, rounding, saturate, .. } => {
            let round = match rounding {
                Rounding::Floor => "floor",
                Rounding::Nearest => "nearest",
            };
            write!(out, " shift={shift} round={round}")?;
            if *saturate {
                out.push_str(" saturate");
            }
            Ok(())
        }
    }
}

/// Inline data as `[1, -2, 3]`, row-major and flat whatever the shape.
struct Data<'a>(&'a [i64]);

impl std::fmt::Display for Data<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[")?;
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{d}")?;
        }
        f.write_str("]")
    }
}
