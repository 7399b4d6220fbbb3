//! IR → IR passes run after the front end, each taking a validated program and returning a new
//! one (which the next step validates again):
//!
//! - `fold`: constant folding. A node whose operands are all constants, and whose result is no
//!   larger than its largest operand (so a `broadcast` is not expanded into a big literal), is
//!   replaced by a constant computed with the IR's reference evaluator, the IR's own semantics.
//! - `dce`: dead-code removal. Nodes and constants no output depends on are dropped (inputs and
//!   params stay: they are the model's interface and its committed weights).
//! - `range`: range analysis ([`ranges`]) gives every value an interval of its stored integers;
//!   a saturating `rescale` whose result provably fits its type loses `saturate` (the VM then
//!   only range-checks, DESIGN.md §4).
//! - `fuse`: `rescale(matmul(x, w) + broadcast(cast(b)))`, each intermediate used only there,
//!   becomes one `affine x, w, b` (then dead-code removal drops the parts). The VM runs it as a
//!   matmul that adds its bias itself and one shift, so the product, the scaled bias and their
//!   sum are never separate registers, and the prover reduces one claim instead of four.

use atlas_ir::{
    ElemType, Env, Op, ParamData, Program, ProgramInfo, ReduceKind, Rounding, TableRef, ValueDef,
    ValueId,
};

/// The passes in pipeline order, by the names `atlasc ir --after` takes (`front` is the front
/// end's own output).
pub const PASSES: &[&str] = &["front", "fold", "dce", "range", "fuse"];

/// Runs the passes after `front` up to and including `until` (all of them for `None`).
/// `Err` names an unknown pass, or says which pass produced an invalid program (a compiler bug).
pub fn run_passes(program: Program, until: Option<&str>) -> Result<Program, String> {
    let last = match until {
        None => PASSES.len() - 1,
        Some(p) => PASSES.iter().position(|q| *q == p).ok_or_else(|| {
            format!("expected `--after` to name a pass ({}), found `{p}`", PASSES.join(", "))
        })?,
    };
    let mut program = program;
    for pass in &PASSES[1..=last] {
        let info = atlas_ir::validate(&program)
            .map_err(|e| format!("the IR before `{pass}` is invalid:\n{e}"))?;
        program = match *pass {
            "fold" => fold(&info),
            "dce" => dce(&info),
            "range" => drop_provable_saturation(&info),
            _ => {
                let fused = fuse(&info);
                let info = atlas_ir::validate(&fused)
                    .map_err(|e| format!("the IR after `fuse` is invalid:\n{e}"))?;
                dce(&info)
            }
        };
    }
    atlas_ir::validate(&program)
        .map_err(|e| format!("the IR after the passes is invalid:\n{e}"))?;
    Ok(program)
}

/// No weights or tables: folding only evaluates ops over constants.
struct NoEnv;

impl Env for NoEnv {
    fn weight(&self, _key: &str) -> Option<Vec<i64>> {
        None
    }
    fn lookup(&self, _table: &TableRef, _operands: &[i64]) -> Option<i64> {
        None
    }
}

/// Constant folding (see the module docs).
pub fn fold(info: &ProgramInfo<'_>) -> Program {
    let mut p = info.program().clone();
    for i in 0..p.values.len() {
        let ValueDef::Node(node) = &p.values[i].def else { continue };
        if matches!(node.op, Op::Lookup { .. }) {
            continue;
        }
        let mut consts = Vec::new();
        for o in &node.operands {
            match &p.values[o.index()].def {
                ValueDef::Const { data } => {
                    consts.push((p.values[o.index()].ty.clone(), data.clone()))
                }
                _ => break,
            }
        }
        if consts.len() != node.operands.len() {
            continue;
        }
        let largest = consts.iter().map(|(_, d)| d.len()).max().unwrap_or(0);
        if p.values[i].ty.num_elements().unwrap_or(usize::MAX) > largest {
            continue;
        }
        // A one-node program: the constants as inputs, the node, its output.
        let mut b = atlas_ir::ProgramBuilder::new("fold");
        let ins: Vec<ValueId> = consts
            .iter()
            .enumerate()
            .map(|(k, (ty, _))| b.input(&format!("c{k}"), ty.clone(), atlas_ir::Visibility::Public))
            .collect();
        let Ok(out) = b.node(node.op.clone(), &ins) else { continue };
        b.output(out);
        let mini = b.finish();
        let Ok(mini_info) = atlas_ir::validate(&mini) else { continue };
        let data: Vec<Vec<i64>> = consts.into_iter().map(|(_, d)| d).collect();
        if let Ok(mut results) = atlas_ir::eval(&mini_info, &data, &NoEnv) {
            if let Some(result) = results.pop() {
                p.values[i].def = ValueDef::Const { data: result };
            }
        }
    }
    p
}

/// How many times each value is read (as an operand or an output).
fn use_counts(p: &Program) -> Vec<usize> {
    let mut uses = vec![0usize; p.values.len()];
    for v in &p.values {
        if let ValueDef::Node(node) = &v.def {
            for o in &node.operands {
                uses[o.index()] += 1;
            }
        }
    }
    for o in &p.outputs {
        uses[o.index()] += 1;
    }
    uses
}

/// Matmul + bias + rescale fusion (see the module docs). The replaced parts are left in place,
/// unused, for [`dce`].
pub fn fuse(info: &ProgramInfo<'_>) -> Program {
    let p = info.program();
    let uses = use_counts(p);
    // The node defining `id` when nothing else reads it.
    let private = |id: ValueId| match &p.values[id.index()].def {
        ValueDef::Node(node) if uses[id.index()] == 1 => Some(node),
        _ => None,
    };
    let mut out = p.clone();
    for (i, v) in p.values.iter().enumerate() {
        let ValueDef::Node(node) = &v.def else { continue };
        let Op::Rescale { shift, rounding, saturate, to } = node.op else { continue };
        let Some(sum) = private(node.operands[0]).filter(|n| n.op == Op::Add) else { continue };
        let parts = |m: ValueId, bc: ValueId| {
            let mm = private(m).filter(|n| n.op == Op::MatMul)?;
            let wide = private(bc).filter(|n| matches!(n.op, Op::Broadcast { .. }))?;
            // The bias, seen through the cast that aligns its fractional bits, if any.
            let b = match private(wide.operands[0]) {
                Some(c) if matches!(c.op, Op::Cast { .. }) => c.operands[0],
                _ => wide.operands[0],
            };
            Some((mm.operands[0], mm.operands[1], b))
        };
        let (a, b) = (sum.operands[0], sum.operands[1]);
        let Some((x, w, bias)) = parts(a, b).or_else(|| parts(b, a)) else { continue };
        let fused = Op::Affine { shift, rounding, saturate, to };
        let operands = [info.ty(x), info.ty(w), info.ty(bias)];
        // Only where the fused op means what it replaces: a rank-1 bias per column, aligned to
        // the product's fractional bits, and the same result type.
        if atlas_ir::infer(&fused, &operands, &p.tables).as_ref() != Ok(&v.ty) {
            continue;
        }
        out.values[i].def =
            ValueDef::Node(atlas_ir::Node { op: fused, operands: vec![x, w, bias] });
    }
    out
}

/// Dead-code removal (see the module docs).
pub fn dce(info: &ProgramInfo<'_>) -> Program {
    let p = info.program();
    let mut live = vec![false; p.values.len()];
    for o in &p.outputs {
        live[o.index()] = true;
    }
    for i in (0..p.values.len()).rev() {
        if !live[i] {
            continue;
        }
        if let ValueDef::Node(node) = &p.values[i].def {
            for o in &node.operands {
                live[o.index()] = true;
            }
        }
    }
    let mut out = Program::new(p.name.clone());
    out.tables = p.tables.clone();
    let mut remap = vec![ValueId(0); p.values.len()];
    for (i, v) in p.values.iter().enumerate() {
        let keep = live[i] || matches!(v.def, ValueDef::Input { .. } | ValueDef::Param { .. });
        if !keep {
            continue;
        }
        let mut v = v.clone();
        if let ValueDef::Node(node) = &mut v.def {
            for o in &mut node.operands {
                *o = remap[o.index()];
            }
        }
        remap[i] = ValueId(out.values.len() as u32);
        out.values.push(v);
    }
    out.outputs = p.outputs.iter().map(|o| remap[o.index()]).collect();
    out
}

/// The interval of stored integers every value of `info`'s program can take, in arena order.
/// Sound: the true values always lie inside; every interval also lies inside its value's type.
pub fn ranges(info: &ProgramInfo<'_>) -> Vec<(i128, i128)> {
    let p = info.program();
    let mut r: Vec<(i128, i128)> = Vec::with_capacity(p.values.len());
    for v in &p.values {
        let full = type_range(v.ty.elem);
        let data_range = |d: &[i64]| {
            let lo = d.iter().copied().min().map_or(0, i128::from);
            let hi = d.iter().copied().max().map_or(0, i128::from);
            (lo, hi)
        };
        let iv = match &v.def {
            ValueDef::Input { .. } | ValueDef::Param { data: ParamData::External { .. } } => full,
            ValueDef::Param { data: ParamData::Inline(d) } | ValueDef::Const { data: d } => {
                data_range(d)
            }
            ValueDef::Node(node) => {
                let a = node.operands.first().map_or((0, 0), |o| r[o.index()]);
                let b = node.operands.get(1).map_or((0, 0), |o| r[o.index()]);
                let ty = |k: usize| info.ty(node.operands[k]);
                match &node.op {
                    Op::MatMul => {
                        let k = ty(0).shape.last().copied().unwrap_or(0) as i128;
                        let (lo, hi) = mul(a, b);
                        (lo * k, hi * k)
                    }
                    Op::Add => (a.0 + b.0, a.1 + b.1),
                    Op::Sub => (a.0 - b.1, a.1 - b.0),
                    Op::Mul => mul(a, b),
                    Op::Neg => (-a.1, -a.0),
                    Op::Reduce { kind: ReduceKind::Sum, axes, .. } => {
                        let n: i128 = axes.iter().map(|&x| ty(0).shape[x] as i128).product();
                        if n == 0 {
                            (0, 0)
                        } else {
                            (a.0 * n, a.1 * n)
                        }
                    }
                    Op::Im2Col { .. } => (a.0.min(0), a.1.max(0)),
                    Op::Concat { .. } => node
                        .operands
                        .iter()
                        .map(|o| r[o.index()])
                        .fold((i128::MAX, i128::MIN), |x, y| (x.0.min(y.0), x.1.max(y.1))),
                    Op::Rescale { shift, rounding, saturate, to } => {
                        shr_range(a, *shift, *rounding, *saturate, *to)
                    }
                    Op::Affine { shift, rounding, saturate, to } => {
                        let k = ty(0).shape.last().copied().unwrap_or(0) as i128;
                        let (lo, hi) = mul(a, b);
                        let c = node.operands.get(2).map_or((0, 0), |o| r[o.index()]);
                        let up = u32::from(ty(0).elem.frac().unwrap_or(0))
                            + u32::from(ty(1).elem.frac().unwrap_or(0))
                            - u32::from(ty(2).elem.frac().unwrap_or(0));
                        let sum = (lo * k + (c.0 << up), hi * k + (c.1 << up));
                        shr_range(sum, *shift, *rounding, *saturate, *to)
                    }
                    Op::Cast { to } => {
                        let from = ty(0).elem;
                        let up = u32::from(to.frac().unwrap_or(0) - from.frac().unwrap_or(0));
                        (a.0 << up, a.1 << up)
                    }
                    Op::Lookup { table } => {
                        let t = &p.tables[table.index()];
                        // relu (kind 2) is max(x, 0); other tables may return anything in their
                        // output type.
                        if t.id >> 24 == 2 {
                            (a.0.max(0), a.1.max(0))
                        } else {
                            type_range(t.output)
                        }
                    }
                    // Data movement and max keep the operand's values.
                    _ => a,
                }
            }
        };
        r.push((iv.0.max(full.0), iv.1.min(full.1)));
    }
    r
}

/// The interval of a rescale of values in `a`.
fn shr_range(
    a: (i128, i128),
    shift: u8,
    rounding: Rounding,
    saturate: bool,
    to: ElemType,
) -> (i128, i128) {
    let s = u32::from(shift);
    let shr = |x: i128| match rounding {
        Rounding::Floor => x >> s,
        Rounding::Nearest if s == 0 => x,
        Rounding::Nearest => (x + (1i128 << (s - 1))) >> s,
    };
    let iv = (shr(a.0), shr(a.1));
    if saturate {
        let t = type_range(to);
        (iv.0.clamp(t.0, t.1), iv.1.clamp(t.0, t.1))
    } else {
        iv
    }
}

fn mul(a: (i128, i128), b: (i128, i128)) -> (i128, i128) {
    let c = [a.0 * b.0, a.0 * b.1, a.1 * b.0, a.1 * b.1];
    (c.iter().copied().min().unwrap_or(0), c.iter().copied().max().unwrap_or(0))
}

fn type_range(e: ElemType) -> (i128, i128) {
    e.range().map_or((0, 0), |(lo, hi)| (i128::from(lo), i128::from(hi)))
}

/// Drops `saturate` from rescales whose unsaturated result provably fits the target type.
pub fn drop_provable_saturation(info: &ProgramInfo<'_>) -> Program {
    let r = ranges(info);
    let mut p = info.program().clone();
    for v in &mut p.values {
        let ValueDef::Node(node) = &mut v.def else { continue };
        let operand = node.operands.first().map(|o| r[o.index()]);
        if let (Op::Rescale { shift, rounding, saturate, to }, Some(a)) = (&mut node.op, operand) {
            if !*saturate {
                continue;
            }
            let (lo, hi) = shr_range(a, *shift, *rounding, false, *to);
            let t = type_range(*to);
            if lo >= t.0 && hi <= t.1 {
                *saturate = false;
            }
        }
    }
    p
}
