//! The interpreter: runs a [`Program`] on concrete inputs and records the [`Trace`] — every
//! register's values and, per lookup instruction, its queries as table addresses. It is the oracle
//! every later executor (JIT, GPU) is tested against, so it is plain and checks everything: shapes
//! per instruction, every result against its register's width, every lookup operand against its
//! table's domain. It never panics on a malformed program or bad inputs; it returns an
//! [`ExecError`] naming the instruction.

use std::collections::BTreeMap;

use rayon::prelude::*;

use crate::isa::{signed_range, Op, ParamData, Program, ProgramError, Reg, Rounding, TableIdx};
use crate::table::{Table, TableError, TableId};

/// Where the executor finds the semantics of the tables a program names (the compiler fills it
/// from the stdlib registry and the program's dense tables).
pub trait TableSet {
    fn table(&self, id: TableId) -> Option<&dyn Table>;
}

/// The queries of one lookup instruction (or of a [`Op::Shr`]'s remainder check).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LookupTrace {
    /// Index of the instruction in [`Program::instrs`].
    pub instr: usize,
    pub table: TableId,
    /// One address per element, row-major (the table's [`crate::Domain::encode`] of the operands).
    pub addresses: Vec<u64>,
}

/// What the prover consumes: every register's values and every lookup's addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trace {
    /// Per register (indexed by [`Reg`]), its row-major values.
    pub values: Vec<Vec<i64>>,
    /// Per lookup instruction, in instruction order.
    pub lookups: Vec<LookupTrace>,
}

impl Trace {
    /// The values of the program's outputs, in order.
    pub fn outputs(&self, program: &Program) -> Vec<Vec<i64>> {
        program
            .outputs
            .iter()
            .map(|o| self.values.get(o.index()).cloned().unwrap_or_default())
            .collect()
    }

    /// The lookups grouped by table (as the lookup argument batches them), each group in
    /// instruction order.
    pub fn by_table(&self) -> BTreeMap<TableId, Vec<&LookupTrace>> {
        let mut map: BTreeMap<TableId, Vec<&LookupTrace>> = BTreeMap::new();
        for l in &self.lookups {
            map.entry(l.table).or_default().push(l);
        }
        map
    }
}

/// Why execution stopped.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExecError {
    #[error("malformed program: {0}")]
    Program(#[from] ProgramError),
    #[error("the program takes {expected} inputs, {found} were given")]
    InputCount { expected: usize, found: usize },
    #[error("input {input} ({reg}): {found} elements given, its shape {shape:?} has {expected}")]
    InputLength { input: usize, reg: Reg, shape: Vec<usize>, expected: usize, found: usize },
    #[error("{place} ({reg}): element {index} is {value}, outside the register's {bits} bits")]
    DataRange { place: String, reg: Reg, index: usize, value: i64, bits: u8 },
    #[error("param {reg}: weight {key:?} is not bound (Program::bind_weights)")]
    UnboundWeight { reg: Reg, key: String },
    #[error("table {table} ({name}, id #0x{:08x}) is not in the table set", id.0)]
    MissingTable { table: TableIdx, name: String, id: TableId },
    #[error("instruction {instr} ({op}): {message}")]
    Shape { instr: usize, op: &'static str, message: String },
    #[error(
        "instruction {instr} ({op} {table}): element {index}: operands {operands:?} are outside \
         the table's domain: {error}"
    )]
    OutOfDomain {
        instr: usize,
        op: &'static str,
        table: String,
        index: usize,
        operands: Vec<i64>,
        error: TableError,
    },
    #[error("instruction {instr} (gather): element {index}: index {value} is outside [0, {dim})")]
    IndexOutOfRange { instr: usize, index: usize, value: i64, dim: usize },
    #[error(
        "instruction {instr} ({op}): element {index} is {value}, which does not fit {dst}'s {bits} \
         bits"
    )]
    Overflow { instr: usize, op: &'static str, dst: Reg, index: usize, value: i128, bits: u8 },
}

/// Matmuls with at least this many multiply-adds run on rayon's thread pool.
const PARALLEL_MACS: usize = 1 << 15;

/// Runs `program` on `inputs` (one row-major tensor per program input, in order) with the
/// tables of `tables`, and returns the trace.
pub fn execute(
    program: &Program,
    inputs: &[Vec<i64>],
    tables: &dyn TableSet,
) -> Result<Trace, ExecError> {
    program.check()?;
    let resolved: Vec<&dyn Table> = program
        .tables
        .iter()
        .enumerate()
        .map(|(i, t)| {
            tables.table(t.id).ok_or_else(|| ExecError::MissingTable {
                table: TableIdx(i as u32),
                name: t.name.clone(),
                id: t.id,
            })
        })
        .collect::<Result<_, _>>()?;
    if inputs.len() != program.inputs.len() {
        return Err(ExecError::InputCount { expected: program.inputs.len(), found: inputs.len() });
    }
    let mut values: Vec<Vec<i64>> = vec![Vec::new(); program.registers.len()];
    // `check` guarantees every register exists and has a representable length.
    let info = |r: Reg| &program.registers[r.index()];
    let fits = |place: &dyn Fn() -> String, r: Reg, data: &[i64]| -> Result<(), ExecError> {
        let bits = info(r).bits;
        let (min, max) = signed_range(bits);
        match data.iter().position(|&v| v < min || v > max) {
            None => Ok(()),
            Some(index) => Err(ExecError::DataRange {
                place: place(),
                reg: r,
                index,
                value: data[index],
                bits,
            }),
        }
    };
    for (i, (input, data)) in program.inputs.iter().zip(inputs).enumerate() {
        let expected = info(input.reg).len().unwrap_or(0);
        if data.len() != expected {
            return Err(ExecError::InputLength {
                input: i,
                reg: input.reg,
                shape: info(input.reg).shape.clone(),
                expected,
                found: data.len(),
            });
        }
        fits(&|| format!("input {i}"), input.reg, data)?;
        values[input.reg.index()] = data.clone();
    }
    for (i, p) in program.params.iter().enumerate() {
        match &p.data {
            ParamData::Inline(data) => {
                fits(&|| format!("param {i}"), p.reg, data)?;
                values[p.reg.index()] = data.clone();
            }
            ParamData::External { key } => {
                return Err(ExecError::UnboundWeight { reg: p.reg, key: key.clone() })
            }
        }
    }
    for (i, c) in program.consts.iter().enumerate() {
        fits(&|| format!("const {i}"), c.reg, &c.data)?;
        values[c.reg.index()] = c.data.clone();
    }

    let mut lookups = Vec::new();
    for (index, instr) in program.instrs.iter().enumerate() {
        let op_name = instr.op.name();
        let dst = info(instr.dst);
        let ctx = Ctx { instr: index, op: op_name, out: &dst.shape };
        let arg = |r: Reg| (values[r.index()].as_slice(), info(r).shape.as_slice());
        let wide: Vec<i128> = match &instr.op {
            Op::Add { a, b } => elementwise(&ctx, arg(*a), arg(*b), |x, y| x + y)?,
            Op::Sub { a, b } => elementwise(&ctx, arg(*a), arg(*b), |x, y| x - y)?,
            Op::Mul { a, b } => elementwise(&ctx, arg(*a), arg(*b), |x, y| x * y)?,
            Op::Neg { a } => {
                let (x, shape) = arg(*a);
                ctx.same_shape(shape)?;
                x.iter().map(|&v| -i128::from(v)).collect()
            }
            Op::MatMul { a, b, bias } => {
                let mut out = matmul(&ctx, arg(*a), arg(*b))?;
                if let Some(bias) = bias {
                    add_rows(&ctx, &mut out, arg(*bias))?;
                }
                out
            }
            Op::Sum { src, axes } => sum(&ctx, arg(*src), axes)?,
            Op::Broadcast { src } => widen(broadcast(&ctx, arg(*src))?),
            Op::Reshape { src } => {
                let (x, shape) = arg(*src);
                if numel(shape) != numel(ctx.out) {
                    return Err(ctx.err(format!(
                        "cannot reshape {shape:?} ({} elements) to {:?} ({} elements)",
                        numel(shape),
                        ctx.out,
                        numel(ctx.out)
                    )));
                }
                widen(x.to_vec())
            }
            Op::Transpose { src, perm } => widen(transpose(&ctx, arg(*src), perm)?),
            Op::Slice { src, axis, start, end, step } => {
                widen(slice(&ctx, arg(*src), *axis, *start, *end, *step)?)
            }
            Op::Concat { srcs, axis } => {
                let args: Vec<_> = srcs.iter().map(|r| arg(*r)).collect();
                widen(concat(&ctx, &args, *axis)?)
            }
            Op::Gather { data, indices, axis } => {
                widen(gather(&ctx, arg(*data), arg(*indices), *axis)?)
            }
            Op::Im2Col { src, kernel, stride, pad } => {
                widen(im2col(&ctx, arg(*src), *kernel, *stride, *pad)?)
            }
            Op::Lookup { table, operands } => {
                let t = resolved[table.index()];
                let domain = t.domain();
                if operands.len() != domain.arity() {
                    return Err(ctx.err(format!(
                        "table {} takes {} operands, found {}",
                        t.name(),
                        domain.arity(),
                        operands.len()
                    )));
                }
                let args: Vec<&[i64]> = operands
                    .iter()
                    .map(|r| {
                        let (x, shape) = arg(*r);
                        ctx.same_shape(shape).map(|()| x)
                    })
                    .collect::<Result<_, _>>()?;
                let n = numel(ctx.out);
                let mut addresses = Vec::with_capacity(n);
                let mut out = Vec::with_capacity(n);
                let mut ops = Vec::with_capacity(args.len());
                for i in 0..n {
                    ops.clear();
                    ops.extend(args.iter().map(|a| a[i]));
                    let address = domain.encode(&ops).map_err(|error| ExecError::OutOfDomain {
                        instr: index,
                        op: op_name,
                        table: t.name(),
                        index: i,
                        operands: ops.clone(),
                        error,
                    })?;
                    addresses.push(address);
                    out.push(i128::from(t.eval(address)));
                }
                lookups.push(LookupTrace { instr: index, table: t.id(), addresses });
                out
            }
            Op::Shr { src, shift, rounding, rem_table, rem_scale } => {
                let (x, shape) = arg(*src);
                ctx.same_shape(shape)?;
                if *shift == 0 || u32::from(*shift) + u32::from(*rem_scale) > 62 {
                    return Err(ctx.err(format!(
                        "shift {shift} (remainder scaled by 2^{rem_scale}) is outside 1..=62"
                    )));
                }
                let t = resolved[rem_table.index()];
                let domain = t.domain();
                let bias = match rounding {
                    Rounding::Floor => 0i128,
                    Rounding::Nearest => 1i128 << (shift - 1),
                };
                let mut addresses = Vec::with_capacity(x.len());
                let mut out = Vec::with_capacity(x.len());
                for (i, &v) in x.iter().enumerate() {
                    let biased = i128::from(v) + bias;
                    let q = biased >> shift;
                    // 0 ≤ rem < 2^shift and shift + rem_scale ≤ 62: the scaled remainder fits.
                    let rem = ((biased - (q << shift)) as i64) << rem_scale;
                    let address =
                        domain.encode(&[rem]).map_err(|error| ExecError::OutOfDomain {
                            instr: index,
                            op: op_name,
                            table: t.name(),
                            index: i,
                            operands: vec![rem],
                            error,
                        })?;
                    addresses.push(address);
                    out.push(q);
                }
                lookups.push(LookupTrace { instr: index, table: t.id(), addresses });
                out
            }
        };
        let (min, max) = dst.range();
        let mut narrow = Vec::with_capacity(wide.len());
        for (i, v) in wide.into_iter().enumerate() {
            if v < i128::from(min) || v > i128::from(max) {
                return Err(ExecError::Overflow {
                    instr: index,
                    op: op_name,
                    dst: instr.dst,
                    index: i,
                    value: v,
                    bits: dst.bits,
                });
            }
            // In [min, max] ⊂ i64.
            narrow.push(v as i64);
        }
        values[instr.dst.index()] = narrow;
    }
    Ok(Trace { values, lookups })
}

/// The instruction being executed, for errors and the destination shape.
struct Ctx<'a> {
    instr: usize,
    op: &'static str,
    out: &'a [usize],
}

impl Ctx<'_> {
    fn err(&self, message: String) -> ExecError {
        ExecError::Shape { instr: self.instr, op: self.op, message }
    }

    fn same_shape(&self, shape: &[usize]) -> Result<(), ExecError> {
        if shape == self.out {
            Ok(())
        } else {
            Err(self.err(format!("operand shape {shape:?}, expected {:?}", self.out)))
        }
    }

    fn expect_out(&self, expected: &[usize]) -> Result<(), ExecError> {
        if expected == self.out {
            Ok(())
        } else {
            Err(self.err(format!("result shape {:?}, expected {expected:?}", self.out)))
        }
    }
}

type Arg<'a> = (&'a [i64], &'a [usize]);

fn numel(shape: &[usize]) -> usize {
    // `Program::check` guarantees every register's count is representable.
    shape.iter().product()
}

fn widen(v: Vec<i64>) -> Vec<i128> {
    v.into_iter().map(i128::from).collect()
}

fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

fn unravel(mut flat: usize, shape: &[usize], idx: &mut [usize]) {
    for i in (0..shape.len()).rev() {
        if shape[i] > 0 {
            idx[i] = flat % shape[i];
            flat /= shape[i];
        }
    }
}

fn ravel(idx: &[usize], strides: &[usize]) -> usize {
    idx.iter().zip(strides).map(|(i, s)| i * s).sum()
}

/// For ops that only move elements: output `i` is `x[src(index of i)]`.
fn move_elements(x: &[i64], out: &[usize], src: impl Fn(&[usize]) -> Option<usize>) -> Vec<i64> {
    let mut idx = vec![0; out.len()];
    (0..numel(out))
        .map(|i| {
            unravel(i, out, &mut idx);
            src(&idx).and_then(|j| x.get(j).copied()).unwrap_or(0)
        })
        .collect()
}

fn elementwise(
    ctx: &Ctx<'_>,
    (a, sa): Arg<'_>,
    (b, sb): Arg<'_>,
    f: impl Fn(i128, i128) -> i128,
) -> Result<Vec<i128>, ExecError> {
    ctx.same_shape(sa)?;
    ctx.same_shape(sb)?;
    Ok(a.iter().zip(b).map(|(&x, &y)| f(x.into(), y.into())).collect())
}

fn matmul(ctx: &Ctx<'_>, (a, sa): Arg<'_>, (b, sb): Arg<'_>) -> Result<Vec<i128>, ExecError> {
    if sa.len() < 2 || sb.len() < 2 {
        return Err(ctx.err(format!("operands of rank ≥ 2 expected, found {sa:?} × {sb:?}")));
    }
    let r = sa.len();
    let (m, k) = (sa[r - 2], sa[r - 1]);
    let (kb, n) = (sb[sb.len() - 2], sb[sb.len() - 1]);
    let shared = sb.len() == 2;
    if kb != k || !(shared || sb[..sb.len() - 2] == sa[..r - 2]) {
        return Err(ctx.err(format!("cannot multiply {sa:?} by {sb:?}")));
    }
    let mut out_shape = sa[..r - 2].to_vec();
    out_shape.extend([m, n]);
    ctx.expect_out(&out_shape)?;
    let batch = numel(&sa[..r - 2]);
    let mut out = vec![0i128; batch * m * n];
    if out.is_empty() {
        return Ok(out);
    }
    let row = |row_index: usize, dst: &mut [i128]| {
        let (bt, i) = (row_index / m, row_index % m);
        let arow = &a[bt * m * k + i * k..][..k];
        let bmat = if shared { b } else { &b[bt * k * n..][..k * n] };
        for (t, &x) in arow.iter().enumerate() {
            let x = i128::from(x);
            for (d, &y) in dst.iter_mut().zip(&bmat[t * n..][..n]) {
                *d += x * i128::from(y);
            }
        }
    };
    if batch * m * n * k >= PARALLEL_MACS {
        out.par_chunks_mut(n).enumerate().for_each(|(i, dst)| row(i, dst));
    } else {
        out.chunks_mut(n).enumerate().for_each(|(i, dst)| row(i, dst));
    }
    Ok(out)
}

/// Adds the `[n]` bias to every row of a `[..., n]` product.
fn add_rows(ctx: &Ctx<'_>, out: &mut [i128], (bias, shape): Arg<'_>) -> Result<(), ExecError> {
    let n = bias.len();
    if shape.len() != 1 || ctx.out.last() != Some(&n) {
        return Err(ctx.err(format!(
            "expected a bias of shape [{}], found {shape:?}",
            ctx.out.last().copied().unwrap_or(0)
        )));
    }
    for row in out.chunks_mut(n.max(1)) {
        for (d, &b) in row.iter_mut().zip(bias) {
            *d += i128::from(b);
        }
    }
    Ok(())
}

fn sum(ctx: &Ctx<'_>, (x, shape): Arg<'_>, axes: &[usize]) -> Result<Vec<i128>, ExecError> {
    if axes.is_empty()
        || axes.windows(2).any(|w| w[0] >= w[1])
        || axes.iter().any(|&a| a >= shape.len())
    {
        return Err(ctx.err(format!(
            "axes {axes:?} are not strictly increasing, non-empty axes of {shape:?}"
        )));
    }
    let kept: Vec<usize> =
        (0..shape.len()).map(|d| if axes.contains(&d) { 1 } else { shape[d] }).collect();
    let removed: Vec<usize> =
        (0..shape.len()).filter(|d| !axes.contains(d)).map(|d| shape[d]).collect();
    if ctx.out != kept.as_slice() && ctx.out != removed.as_slice() {
        return Err(
            ctx.err(format!("result shape {:?}, expected {removed:?} (or {kept:?})", ctx.out))
        );
    }
    let kst = strides(&kept);
    let mut out = vec![0i128; numel(&kept)];
    let mut idx = vec![0; shape.len()];
    for (i, &v) in x.iter().enumerate() {
        unravel(i, shape, &mut idx);
        for &a in axes {
            idx[a] = 0;
        }
        out[ravel(&idx, &kst)] += i128::from(v);
    }
    Ok(out)
}

fn broadcast(ctx: &Ctx<'_>, (x, shape): Arg<'_>) -> Result<Vec<i64>, ExecError> {
    let out = ctx.out;
    let ok = shape.len() <= out.len()
        && shape.iter().zip(&out[out.len() - shape.len()..]).all(|(&s, &o)| s == 1 || s == o);
    if !ok {
        return Err(ctx.err(format!("cannot broadcast {shape:?} to {out:?}")));
    }
    let st = strides(shape);
    let offset = out.len() - shape.len();
    Ok(move_elements(x, out, |idx| {
        Some(
            shape
                .iter()
                .enumerate()
                .map(|(d, &dim)| if dim == 1 { 0 } else { idx[offset + d] * st[d] })
                .sum(),
        )
    }))
}

fn transpose(ctx: &Ctx<'_>, (x, shape): Arg<'_>, perm: &[usize]) -> Result<Vec<i64>, ExecError> {
    let mut seen = vec![false; shape.len()];
    let valid = perm.len() == shape.len()
        && perm.iter().all(|&p| p < shape.len() && !std::mem::replace(&mut seen[p], true));
    if !valid {
        return Err(ctx.err(format!("{perm:?} is not a permutation of {shape:?}'s axes")));
    }
    let expected: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    ctx.expect_out(&expected)?;
    let st = strides(shape);
    Ok(move_elements(x, ctx.out, |idx| {
        Some(perm.iter().enumerate().map(|(i, &p)| idx[i] * st[p]).sum())
    }))
}

fn slice(
    ctx: &Ctx<'_>,
    (x, shape): Arg<'_>,
    axis: usize,
    start: usize,
    end: usize,
    step: usize,
) -> Result<Vec<i64>, ExecError> {
    if axis >= shape.len() || step == 0 || start > end || end > shape[axis] {
        return Err(ctx.err(format!(
            "slice axis={axis} start={start} end={end} step={step} does not fit {shape:?}"
        )));
    }
    let mut expected = shape.to_vec();
    expected[axis] = (end - start).div_ceil(step);
    ctx.expect_out(&expected)?;
    let st = strides(shape);
    Ok(move_elements(x, ctx.out, |idx| {
        let mut idx = idx.to_vec();
        idx[axis] = start + idx[axis] * step;
        Some(ravel(&idx, &st))
    }))
}

fn concat(ctx: &Ctx<'_>, args: &[Arg<'_>], axis: usize) -> Result<Vec<i64>, ExecError> {
    let Some((_, first)) = args.first() else {
        return Err(ctx.err("no operands".to_owned()));
    };
    if axis >= first.len() {
        return Err(ctx.err(format!("axis {axis} is outside {first:?}")));
    }
    let mut expected = first.to_vec();
    expected[axis] = 0;
    for (_, s) in args {
        let same = s.len() == first.len()
            && s.iter().zip(first.iter()).enumerate().all(|(d, (a, b))| d == axis || a == b);
        if !same {
            return Err(ctx.err(format!("cannot concatenate {s:?} with {first:?} on axis {axis}")));
        }
        expected[axis] += s[axis];
    }
    ctx.expect_out(&expected)?;
    let all_strides: Vec<Vec<usize>> = args.iter().map(|(_, s)| strides(s)).collect();
    let mut idx = vec![0; expected.len()];
    let mut out = Vec::with_capacity(numel(&expected));
    for i in 0..numel(&expected) {
        unravel(i, &expected, &mut idx);
        let mut k = 0;
        while idx[axis] >= args[k].1[axis] {
            idx[axis] -= args[k].1[axis];
            k += 1;
        }
        out.push(args[k].0[ravel(&idx, &all_strides[k])]);
    }
    Ok(out)
}

fn gather(
    ctx: &Ctx<'_>,
    (data, ds): Arg<'_>,
    (indices, is): Arg<'_>,
    axis: usize,
) -> Result<Vec<i64>, ExecError> {
    if axis >= ds.len() {
        return Err(ctx.err(format!("axis {axis} is outside {ds:?}")));
    }
    let expected: Vec<usize> =
        ds[..axis].iter().chain(is).chain(&ds[axis + 1..]).copied().collect();
    ctx.expect_out(&expected)?;
    let dim = ds[axis];
    let (st, ist) = (strides(ds), strides(is));
    let mut o = vec![0; expected.len()];
    let mut src = vec![0; ds.len()];
    let mut out = Vec::with_capacity(numel(&expected));
    for i in 0..numel(&expected) {
        unravel(i, &expected, &mut o);
        let at = indices[ravel(&o[axis..axis + is.len()], &ist)];
        let j = usize::try_from(at)
            .ok()
            .filter(|&j| j < dim)
            .ok_or(ExecError::IndexOutOfRange { instr: ctx.instr, index: i, value: at, dim })?;
        src[..axis].copy_from_slice(&o[..axis]);
        src[axis] = j;
        src[axis + 1..].copy_from_slice(&o[axis + is.len()..]);
        out.push(data[ravel(&src, &st)]);
    }
    Ok(out)
}

fn im2col(
    ctx: &Ctx<'_>,
    (x, shape): Arg<'_>,
    kernel: [usize; 2],
    stride: [usize; 2],
    pad: [usize; 2],
) -> Result<Vec<i64>, ExecError> {
    let bad =
        || ctx.err(format!("im2col kernel={kernel:?} stride={stride:?} pad={pad:?} on {shape:?}"));
    let &[n, c, h, w] = shape else { return Err(bad()) };
    if kernel.contains(&0) || stride.contains(&0) {
        return Err(bad());
    }
    let (ph, pw) = (h + 2 * pad[0], w + 2 * pad[1]);
    if ph < kernel[0] || pw < kernel[1] {
        return Err(bad());
    }
    let (oh, ow) = ((ph - kernel[0]) / stride[0] + 1, (pw - kernel[1]) / stride[1] + 1);
    ctx.expect_out(&[n, oh * ow, c * kernel[0] * kernel[1]])?;
    let st = strides(shape);
    Ok(move_elements(x, ctx.out, |o| {
        let (batch, row, col) = (o[0], o[1], o[2]);
        let (oy, ox) = (row / ow, row % ow);
        let (ch, ki, kj) =
            (col / (kernel[0] * kernel[1]), col / kernel[1] % kernel[0], col % kernel[1]);
        let y = (oy * stride[0] + ki).checked_sub(pad[0]).filter(|&y| y < h)?;
        let xx = (ox * stride[1] + kj).checked_sub(pad[1]).filter(|&xx| xx < w)?;
        Some(ravel(&[batch, ch, y, xx], &st))
    }))
}
