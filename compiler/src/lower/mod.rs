//! IR → VM lowering: a validated IR program (its [`ProgramInfo`] receipt) becomes an
//! [`atlas_vm::Program`], every IR value one VM register (or an alias of one, for free ops).
//!
//! Linear and data-movement ops map one-to-one. Every non-linear op becomes lookups into stdlib
//! tables (`docs/isa.md`, "Lowering"):
//!
//! - `rescale`: a `shr_s{B}_{s}_{floor|round}` lookup when the source has at most 32 bits (else an
//!   advice `shr` whose remainder is range-checked by `range{s}`), then `clamp_s{F}_s{t}` when
//!   `saturate` and the quotient may not fit (a split at bit `t-1` with `clamp_s{H}_s1` and
//!   `eq_s{H}` when the quotient is wider than 32 bits), or a fit check (`add 2^(t-1)`,
//!   `range{t}`, `sub 2^(t-1)`) without `saturate`;
//! - `cast`: free when it adds no fractional bits, else a `mul` by the constant `2^k`;
//! - `reduce_max`: a halving tree of `max(a, b) = a + lt(a, b)·(b − a)` through `lt_s{W}`;
//! - IR `lookup`: a VM lookup, after checking the IR's declared operand types against the real
//!   table's domain; program-local dense tables (kind 7) come from the model
//!   ([`lower_with_tables`]).
//!
//! [`StdTables`] is the [`TableSet`] that resolves a lowered program's tables from the stdlib
//! registry, and [`StdEnv`] wires [`atlas_ir::eval`] to the same tables, so the two can be compared.

use std::collections::HashMap;

use atlas_ir::{
    bits_for, ElemType, Op as IrOp, ParamData as IrParamData, ProgramInfo, ReduceKind,
    Rounding as IrRounding, TableRef, TensorType, ValueDef, ValueId, ValueRef, Visibility,
};
use atlas_prover::F;
use atlas_stdlib::{
    table_by_id, BoxedTable, Clamp, Equal, LessThan, RangeCheck, Shift, StdlibError,
};
use atlas_vm::{
    Const, Domain, ExecError, Input, Instr, Op, Param, ParamData, Program, Reg, RegInfo, Rounding,
    Table, TableDecl, TableId, TableIdx, TableSet, Trace,
};

/// The widest operand a stdlib table takes.
const TABLE_BITS: u32 = 32;

/// Why a validated IR program cannot be lowered.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LowerError {
    #[error("node {node}: {op} is not supported yet: {reason}")]
    Unsupported { node: ValueRef, op: &'static str, reason: String },
    #[error("table @{table} (#0x{id:08x}): {error}")]
    Table { table: String, id: u32, error: StdlibError },
    #[error(
        "table @{table} (#0x{id:08x}) is declared over ({}), but the table's domain is \
         {domain:?}: {reason}",
        inputs.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
    )]
    Domain { table: String, id: u32, inputs: Vec<ElemType>, domain: Domain, reason: String },
}

/// Lowers a validated program whose tables are all in the stdlib registry. External params stay
/// external (bind them with [`Program::bind_weights`]).
pub fn lower(info: &ProgramInfo<'_>) -> Result<Program, LowerError> {
    lower_with_tables(info, &[])
}

/// Lowers a validated program, resolving its program-local dense tables (custom `lookup`s and the
/// compiler's `std.*` tables, kind 7) from `dense` by id and every other table from the registry.
pub fn lower_with_tables(
    info: &ProgramInfo<'_>,
    dense: &[atlas_stdlib::DenseTable],
) -> Result<Program, LowerError> {
    let p = info.program();
    let mut l = Lowerer {
        info,
        dense,
        out: Program {
            name: p.name.clone(),
            registers: Vec::new(),
            tables: Vec::new(),
            inputs: Vec::new(),
            params: Vec::new(),
            consts: Vec::new(),
            instrs: Vec::new(),
            outputs: Vec::new(),
        },
        regs: Vec::with_capacity(p.values.len()),
        tables: HashMap::new(),
    };
    // IR tables are resolved (and checked against their domains) up front, used or not.
    let mut ir_tables = Vec::with_capacity(p.tables.len());
    for t in &p.tables {
        ir_tables.push(l.ir_table(t)?);
    }
    for (i, v) in p.values.iter().enumerate() {
        let id = ValueId(i as u32);
        let here = || ValueRef { id, name: v.name.clone() };
        let bits = elem_bits(v.ty.elem, &here)?;
        let shape = v.ty.shape.clone();
        let reg = match &v.def {
            ValueDef::Input { visibility } => {
                let reg = l.reg(v.name.clone(), shape, bits);
                l.out.inputs.push(Input { reg, public: *visibility == Visibility::Public });
                reg
            }
            ValueDef::Param { data } => {
                let reg = l.reg(v.name.clone(), shape, bits);
                let data = match data {
                    IrParamData::Inline(d) => ParamData::Inline(d.clone()),
                    IrParamData::External { key } => ParamData::External { key: key.clone() },
                };
                l.out.params.push(Param { reg, data });
                reg
            }
            ValueDef::Const { data } => {
                let reg = l.reg(v.name.clone(), shape, bits);
                l.out.consts.push(Const { reg, data: data.clone() });
                reg
            }
            ValueDef::Node(node) => {
                let ops: Vec<Reg> = node.operands.iter().map(|o| l.regs[o.index()]).collect();
                let name = v.name.clone();
                let simple = |op: Op| (op, name.clone(), shape.clone(), bits);
                let one = |op| Some(simple(op));
                let emit = match &node.op {
                    IrOp::MatMul => one(Op::MatMul { a: ops[0], b: ops[1], bias: None }),
                    IrOp::Add => one(Op::Add { a: ops[0], b: ops[1] }),
                    IrOp::Sub => one(Op::Sub { a: ops[0], b: ops[1] }),
                    IrOp::Mul => one(Op::Mul { a: ops[0], b: ops[1] }),
                    IrOp::Neg => one(Op::Neg { a: ops[0] }),
                    IrOp::Reduce { kind: ReduceKind::Sum, axes, .. } => {
                        one(Op::Sum { src: ops[0], axes: axes.clone() })
                    }
                    IrOp::Broadcast { .. } => one(Op::Broadcast { src: ops[0] }),
                    IrOp::Reshape { .. } => one(Op::Reshape { src: ops[0] }),
                    IrOp::Transpose { perm } => {
                        one(Op::Transpose { src: ops[0], perm: perm.clone() })
                    }
                    IrOp::Slice { axis, start, end, step } => one(Op::Slice {
                        src: ops[0],
                        axis: *axis,
                        start: *start,
                        end: *end,
                        step: *step,
                    }),
                    IrOp::Concat { axis } => one(Op::Concat { srcs: ops.clone(), axis: *axis }),
                    IrOp::Gather { axis } => {
                        one(Op::Gather { data: ops[0], indices: ops[1], axis: *axis })
                    }
                    IrOp::Im2Col { kernel, stride, pad } => {
                        one(Op::Im2Col { src: ops[0], kernel: *kernel, stride: *stride, pad: *pad })
                    }
                    IrOp::Lookup { table } => {
                        let t = ir_tables[table.index()];
                        one(Op::Lookup { table: t, operands: ops.clone() })
                    }
                    IrOp::Reduce { kind: ReduceKind::Max, axes, .. } => {
                        let r = l.reduce_max(id, ops[0], axes, bits, &here)?;
                        l.alias_name(r, &v.name);
                        l.regs.push(r);
                        continue;
                    }
                    IrOp::Rescale { shift, rounding, saturate, to } => {
                        let from = info.ty(node.operands[0]).elem;
                        let r =
                            l.rescale(ops[0], from, *shift, *rounding, *saturate, *to, &here)?;
                        l.alias_name(r, &v.name);
                        l.regs.push(r);
                        continue;
                    }
                    IrOp::Cast { to } => {
                        let from = info.ty(node.operands[0]).elem;
                        match l.scale_up(from, *to, &shape, &here)? {
                            // Value-preserving and no scale change: the same register.
                            None => None,
                            Some(c) => one(Op::Mul { a: ops[0], b: c }),
                        }
                    }
                    IrOp::Affine { shift, rounding, saturate, to } => {
                        let r = l.affine(node, &ops, (*shift, *rounding, *saturate, *to), &here)?;
                        l.alias_name(r, &v.name);
                        l.regs.push(r);
                        continue;
                    }
                };
                match emit {
                    Some((op, name, shape, bits)) => l.instr(op, name, shape, bits),
                    None => ops[0],
                }
            }
        };
        l.regs.push(reg);
    }
    l.out.outputs = p.outputs.iter().map(|o| l.regs[o.index()]).collect();
    // The IR is valid, so the lowered program is well formed; a failure here is a lowering bug,
    // and `execute` would report it as well.
    debug_assert_eq!(l.out.check(), Ok(()));
    Ok(l.out)
}

struct Lowerer<'a, 'p> {
    info: &'a ProgramInfo<'p>,
    /// The program's own dense tables, by id.
    dense: &'a [atlas_stdlib::DenseTable],
    out: Program,
    /// IR value → its register.
    regs: Vec<Reg>,
    tables: HashMap<TableId, TableIdx>,
}

fn elem_bits(elem: ElemType, here: &dyn Fn() -> ValueRef) -> Result<u8, LowerError> {
    elem.bits().filter(|_| !elem.is_float()).ok_or_else(|| LowerError::Unsupported {
        node: here(),
        op: "value",
        reason: format!("element type {elem}"),
    })
}

/// The smallest width in `need..=32` for which `make` builds a table (stdlib tables take only
/// chunkable widths).
fn first_width<T>(need: u32, make: impl Fn(u32) -> Result<T, StdlibError>) -> Option<(u32, T)> {
    (need.max(1)..=TABLE_BITS).find_map(|w| make(w).ok().map(|t| (w, t)))
}

impl Lowerer<'_, '_> {
    fn reg(&mut self, name: Option<String>, shape: Vec<usize>, bits: u8) -> Reg {
        self.out.registers.push(RegInfo { name, shape, bits });
        Reg(self.out.registers.len() as u32 - 1)
    }

    fn instr(&mut self, op: Op, name: Option<String>, shape: Vec<usize>, bits: u8) -> Reg {
        let dst = self.reg(name, shape, bits);
        self.out.instrs.push(Instr { dst, op });
        dst
    }

    /// Names a multi-instruction result after its IR value, unless the register has a name.
    fn alias_name(&mut self, r: Reg, name: &Option<String>) {
        if let Some(info) = self.out.registers.get_mut(r.index()) {
            if info.name.is_none() {
                info.name.clone_from(name);
            }
        }
    }

    fn shape(&self, r: Reg) -> Vec<usize> {
        self.out.reg(r).map(|i| i.shape.clone()).unwrap_or_default()
    }

    fn table(&mut self, t: &dyn Table) -> TableIdx {
        let id = t.id();
        if let Some(&i) = self.tables.get(&id) {
            return i;
        }
        self.out.tables.push(TableDecl { id, name: t.name() });
        let i = TableIdx(self.out.tables.len() as u32 - 1);
        self.tables.insert(id, i);
        i
    }

    /// A constant `value` broadcast to `shape` (a scalar const, then `broadcast`).
    fn splat(&mut self, value: i64, bits: u8, shape: &[usize]) -> Reg {
        let scalar = self.reg(None, Vec::new(), bits);
        self.out.consts.push(Const { reg: scalar, data: vec![value] });
        if shape.is_empty() {
            return scalar;
        }
        self.instr(Op::Broadcast { src: scalar }, None, shape.to_vec(), bits)
    }

    /// The range table that checks an `s`-bit remainder: `range{s}`, or, for an unchunkable
    /// `s`, `range{s+j}` on the remainder scaled by `2^j`. Scaling is sound only when the
    /// quotient is pinned as an integer by another constraint (a lookup on it, or an unscaled
    /// split): then the remainder is an integer, and `rem·2^j < 2^(s+j)` iff `rem < 2^s`.
    fn rem_check(&mut self, s: u32) -> Option<(TableIdx, u8)> {
        let (w, table) = first_width(s, RangeCheck::new)?;
        Some((self.table(&table), (w - s) as u8))
    }

    /// Resolves an IR table and checks its declared operand types against the domain.
    fn ir_table(&mut self, t: &TableRef) -> Result<TableIdx, LowerError> {
        let local = self.dense.iter().find(|d| Table::id(*d) == TableId(t.id));
        let table: BoxedTable<F> = match local {
            Some(d) => Box::new(d.clone()),
            None => table_by_id::<F>(TableId(t.id)).map_err(|error| LowerError::Table {
                table: t.name.clone(),
                id: t.id,
                error,
            })?,
        };
        let domain = table.domain();
        let mismatch = |reason: String| LowerError::Domain {
            table: t.name.clone(),
            id: t.id,
            inputs: t.inputs.clone(),
            domain,
            reason,
        };
        if t.inputs.len() != domain.arity() {
            return Err(mismatch(format!(
                "{} operands declared, the table takes {}",
                t.inputs.len(),
                domain.arity()
            )));
        }
        // Signed operands must fit the domain; an unsigned domain takes signed values one bit
        // wider (their non-negative half; a negative operand fails at run time).
        let room = match domain {
            Domain::Unsigned { bits } | Domain::Pair { bits, signed: false } => bits + 1,
            Domain::Signed { bits } | Domain::Pair { bits, signed: true } => bits,
        };
        for (i, e) in t.inputs.iter().enumerate() {
            let b = u32::from(e.bits().unwrap_or(u8::MAX));
            if b > room {
                return Err(mismatch(format!(
                    "operand {i} is {e} ({b} bits), the domain holds at most {room}"
                )));
            }
        }
        Ok(self.table(table.as_ref()))
    }

    /// The constant `2^k` of `shape` that scales a value of `from` up to `to`'s fractional bits,
    /// `None` when they agree.
    fn scale_up(
        &mut self,
        from: ElemType,
        to: ElemType,
        shape: &[usize],
        here: &dyn Fn() -> ValueRef,
    ) -> Result<Option<Reg>, LowerError> {
        let k = to.frac().unwrap_or(0).saturating_sub(from.frac().unwrap_or(0));
        if k == 0 {
            Ok(None)
        } else if k > 61 {
            Err(LowerError::Unsupported {
                node: here(),
                op: "cast",
                reason: format!("a scale of 2^{k} exceeds the VM's 2^61"),
            })
        } else {
            Ok(Some(self.splat(1i64 << k, k + 2, shape)))
        }
    }

    /// `affine x, w, b`: the bias scaled up to the product's fractional bits, one `matmul` with
    /// that bias, then the rescale. The types are the ones `fuse` replaced, recomputed.
    fn affine(
        &mut self,
        node: &atlas_ir::Node,
        ops: &[Reg],
        (shift, rounding, saturate, to): (u8, IrRounding, bool, ElemType),
        here: &dyn Fn() -> ValueRef,
    ) -> Result<Reg, LowerError> {
        let ty = |k: usize| self.info.ty(node.operands[k]);
        let (x, w, bias) = (ty(0), ty(1), ty(2));
        let acc = atlas_ir::infer(&IrOp::MatMul, &[x, w], &[])
            .expect("validated: an affine's matmul part types");
        let up = atlas_ir::affine_bias_type(bias.elem, acc.elem)
            .expect("validated: an affine's bias has at most the product's fractional bits");
        let wide = TensorType::new(up, acc.shape.clone());
        let sum = atlas_ir::infer(&IrOp::Add, &[&acc, &wide], &[])
            .expect("validated: an affine's sum types");
        let (bias_elem, bias_shape) = (bias.elem, bias.shape.clone());
        let bias_bits = elem_bits(up, here)?;
        let scaled = match self.scale_up(bias_elem, up, &bias_shape, here)? {
            None => ops[2],
            Some(c) => self.instr(Op::Mul { a: ops[2], b: c }, None, bias_shape, bias_bits),
        };
        let bits = elem_bits(sum.elem, here)?;
        let op = Op::MatMul { a: ops[0], b: ops[1], bias: Some(scaled) };
        let product = self.instr(op, None, acc.shape.clone(), bits);
        self.rescale(product, sum.elem, shift, rounding, saturate, to, here)
    }

    /// `rescale`: shift (by lookup, or advice + remainder lookup), then saturate or check.
    #[allow(clippy::too_many_arguments, reason = "the rescale op's attributes, spelled out")]
    fn rescale(
        &mut self,
        x: Reg,
        from: ElemType,
        shift: u8,
        rounding: IrRounding,
        saturate: bool,
        to: ElemType,
        here: &dyn Fn() -> ValueRef,
    ) -> Result<Reg, LowerError> {
        let unsupported =
            |reason: String| LowerError::Unsupported { node: here(), op: "rescale", reason };
        let b = u32::from(elem_bits(from, here)?);
        let t = u32::from(elem_bits(to, here)?);
        let shape = self.shape(x);
        let s = u32::from(shift);
        // The quotient's exact range, from the source's.
        let (lo, hi) = from.range().map(|(l, h)| (i128::from(l), i128::from(h))).unwrap_or((0, 0));
        // Sources fit 64 bits, so any shift past 100 gives the same quotients (and i128 shifts
        // stay in range).
        let sc = s.min(100);
        let q = |v: i128| match rounding {
            IrRounding::Floor => v >> sc,
            IrRounding::Nearest if sc == 0 => v,
            IrRounding::Nearest => (v + (1i128 << (sc - 1))) >> sc,
        };
        let qbits = bits_for(q(lo), q(hi));
        let vm_rounding = match rounding {
            IrRounding::Floor => Rounding::Floor,
            IrRounding::Nearest => Rounding::Nearest,
        };
        // `checked`: the quotient's register is pinned down (by a lookup on it or its source).
        let (quot, checked) = if s == 0 {
            (x, true)
        } else if b <= TABLE_BITS {
            let std_rounding = match rounding {
                IrRounding::Floor => atlas_stdlib::Rounding::Floor,
                IrRounding::Nearest => atlas_stdlib::Rounding::Nearest,
            };
            let (_, table) = first_width(b.max(s + 1), |w| Shift::new(w, s, std_rounding))
                .ok_or_else(|| {
                    unsupported(format!("no shift table takes {b}-bit operands and shift {s}"))
                })?;
            let table = self.table(&table);
            let r = self.instr(
                Op::Lookup { table, operands: vec![x] },
                None,
                shape.clone(),
                qbits as u8,
            );
            (r, true)
        } else {
            let (rem_table, rem_scale) = self.rem_check(s).ok_or_else(|| {
                unsupported(format!(
                    "the {b}-bit source needs an advice shift, and no range table of at most \
                     {TABLE_BITS} bits checks a {s}-bit remainder"
                ))
            })?;
            let r = self.instr(
                Op::Shr { src: x, shift, rounding: vm_rounding, rem_table, rem_scale },
                None,
                shape.clone(),
                qbits as u8,
            );
            (r, false)
        };
        if qbits <= t && checked {
            return Ok(quot);
        }
        if saturate && qbits > t {
            if qbits > TABLE_BITS {
                return self.saturate_wide(quot, checked, qbits, t, shape, &unsupported);
            }
            // qbits ≤ 32 and t < qbits, so the clamp exists when the width is chunkable.
            let (_, clamp) =
                first_width(qbits.max(t + 1), |w| Clamp::new(w, t)).ok_or_else(|| {
                    unsupported(format!(
                        "no clamp table takes the {qbits}-bit quotient to {t} bits"
                    ))
                })?;
            let table = self.table(&clamp);
            return Ok(self.instr(
                Op::Lookup { table, operands: vec![quot] },
                None,
                shape,
                t as u8,
            ));
        }
        // Prove the quotient fits `t` bits with range{t} on `q + 2^(t-1)`: the assertion of a
        // non-saturating rescale, and what pins an advice quotient that fits by construction.
        // The result is read back from the lookup (`− 2^(t-1)`), so the check is on the path
        // from the outputs that the proof walks backwards, never a dead instruction.
        let range = RangeCheck::new(t).map_err(|e| {
            unsupported(format!("checking that the result fits {t} bits needs range{t} ({e})"))
        })?;
        let table = self.table(&range);
        let half = self.splat(1i64 << (t - 1), (t + 1) as u8, &shape);
        let wide = qbits.max(t + 1) + 1;
        if wide > 64 {
            return Err(unsupported(format!("a {qbits}-bit quotient is too wide to check")));
        }
        let biased = self.instr(Op::Add { a: quot, b: half }, None, shape.clone(), wide as u8);
        let checked = self.instr(
            Op::Lookup { table, operands: vec![biased] },
            None,
            shape.clone(),
            (t + 1) as u8,
        );
        Ok(self.instr(Op::Sub { a: checked, b: half }, None, shape, t as u8))
    }

    /// Saturates a quotient wider than any clamp table to `t` bits:
    /// `hi = shr q shift=t-1` (its remainder in `range{t-1}`), so `q` fits iff `hi ∈ {-1, 0}`;
    /// `c = clamp_s{H}_s1(hi)` (pins `hi`, hence `q`), `e = eq_s{H}(hi, c)` (1 iff `q` fits);
    /// `ov = c·(2^t − 1) + 2^(t-1) − 1` (the bound `q` overflowed: max for `c = 0`, min for
    /// `c = −1`); the result is `ov + e·(q − ov)`.
    ///
    /// `pinned`: whether `q` is already an integer by other constraints. An advice `q` (from a
    /// first `shr`) is pinned only by this split, so the split's remainder must be checked
    /// unscaled: with `rem·2^j` in `range{t-1+j}`, `q` could be `hi·2^(t-1) + a/2^j`, a
    /// non-integer field element.
    #[allow(clippy::too_many_arguments, reason = "the quotient and its facts, spelled out")]
    fn saturate_wide(
        &mut self,
        q: Reg,
        pinned: bool,
        qbits: u32,
        t: u32,
        shape: Vec<usize>,
        unsupported: &dyn Fn(String) -> LowerError,
    ) -> Result<Reg, LowerError> {
        if !(2..=62).contains(&t) {
            return Err(unsupported(format!("saturating a {qbits}-bit quotient to {t} bits")));
        }
        let hbits = qbits - (t - 1);
        let (rem, rem_scale) = self.rem_check(t - 1).ok_or_else(|| {
            unsupported(format!(
                "saturating a {qbits}-bit quotient to {t} bits splits it at bit {}, and no \
                 range table of at most {TABLE_BITS} bits checks the remainder",
                t - 1
            ))
        })?;
        if rem_scale > 0 && !pinned {
            return Err(unsupported(format!(
                "saturating a {qbits}-bit advice quotient to {t} bits needs an unscaled \
                 range{} remainder check, and that width does not chunk",
                t - 1
            )));
        }
        let (_, (clamp, eq)) = first_width(hbits.max(2), |w| {
            Ok::<_, StdlibError>((Clamp::new(w, 1)?, Equal::new(w, true)?))
        })
        .ok_or_else(|| {
            unsupported(format!(
                "saturating a {qbits}-bit quotient to {t} bits leaves a {hbits}-bit high part, \
                 wider than the {TABLE_BITS}-bit clamp and eq tables"
            ))
        })?;
        let (clamp, eq) = (self.table(&clamp), self.table(&eq));
        let (qb, tb) = (qbits as u8, t as u8);
        let hi = self.instr(
            Op::Shr { src: q, shift: tb - 1, rounding: Rounding::Floor, rem_table: rem, rem_scale },
            None,
            shape.clone(),
            hbits as u8,
        );
        let c = self.instr(Op::Lookup { table: clamp, operands: vec![hi] }, None, shape.clone(), 1);
        let e = self.instr(Op::Lookup { table: eq, operands: vec![hi, c] }, None, shape.clone(), 2);
        let span = self.splat((1i64 << t) - 1, tb + 1, &shape);
        let scaled = self.instr(Op::Mul { a: c, b: span }, None, shape.clone(), tb + 1);
        let top = self.splat((1i64 << (t - 1)) - 1, tb, &shape);
        let ov = self.instr(Op::Add { a: scaled, b: top }, None, shape.clone(), tb + 1);
        let d = self.instr(Op::Sub { a: q, b: ov }, None, shape.clone(), qb + 1);
        let ed = self.instr(Op::Mul { a: e, b: d }, None, shape.clone(), qb + 1);
        Ok(self.instr(Op::Add { a: ov, b: ed }, None, shape, tb))
    }

    /// `reduce_max` as a halving tree of `max(a, b) = a + lt(a, b)·(b − a)`.
    fn reduce_max(
        &mut self,
        node: ValueId,
        x: Reg,
        axes: &[usize],
        bits: u8,
        here: &dyn Fn() -> ValueRef,
    ) -> Result<Reg, LowerError> {
        let w = u32::from(bits);
        let (_, lt) =
            first_width(w, |v| LessThan::new(v, true)).ok_or_else(|| LowerError::Unsupported {
                node: here(),
                op: "reduce_max",
                reason: format!("no lt table compares {w}-bit operands (at most {TABLE_BITS})"),
            })?;
        let lt = self.table(&lt);
        let shape = self.shape(x);
        let kept: Vec<usize> = (0..shape.len()).filter(|d| !axes.contains(d)).collect();
        let perm: Vec<usize> = kept.iter().chain(axes).copied().collect();
        let outer: usize = kept.iter().map(|&d| shape[d]).product();
        let n: usize = axes.iter().map(|&d| shape[d]).product();
        let mut cur = x;
        if perm.iter().enumerate().any(|(i, &p)| i != p) {
            let tshape: Vec<usize> = perm.iter().map(|&d| shape[d]).collect();
            cur = self.instr(Op::Transpose { src: cur, perm }, None, tshape, bits);
        }
        if self.shape(cur) != [outer, n] {
            cur = self.instr(Op::Reshape { src: cur }, None, vec![outer, n], bits);
        }
        let mut len = n;
        while len > 1 {
            let h = len / 2;
            let half = vec![outer, h];
            let slice = |l: &mut Self, start, end| {
                let shape = vec![outer, end - start];
                l.instr(Op::Slice { src: cur, axis: 1, start, end, step: 1 }, None, shape, bits)
            };
            let a = slice(self, 0, h);
            let b = slice(self, h, 2 * h);
            let less =
                self.instr(Op::Lookup { table: lt, operands: vec![a, b] }, None, half.clone(), 2);
            let diff = self.instr(Op::Sub { a: b, b: a }, None, half.clone(), bits + 1);
            let step = self.instr(Op::Mul { a: less, b: diff }, None, half.clone(), bits + 1);
            let max = self.instr(Op::Add { a, b: step }, None, half, bits);
            cur = if len % 2 == 1 {
                let rest = slice(self, 2 * h, len);
                self.instr(
                    Op::Concat { srcs: vec![max, rest], axis: 1 },
                    None,
                    vec![outer, h + 1],
                    bits,
                )
            } else {
                max
            };
            len = len.div_ceil(2);
        }
        let out = self.info.ty(node).shape.clone();
        if self.shape(cur) == out {
            return Ok(cur);
        }
        Ok(self.instr(Op::Reshape { src: cur }, None, out, bits))
    }
}

/// The stdlib tables a lowered program names, as a [`TableSet`] for [`atlas_vm::execute`].
#[derive(Debug)]
pub struct StdTables {
    tables: Vec<BoxedTable<F>>,
}

impl StdTables {
    /// Builds every table of `program` the registry can rebuild (the executor reports any other).
    pub fn for_program(program: &Program) -> Self {
        Self::with_dense(program, &[])
    }

    /// Like [`StdTables::for_program`], with the program's own dense tables (its `lookup`s)
    /// resolved from `dense` by id.
    pub fn with_dense(program: &Program, dense: &[atlas_stdlib::DenseTable]) -> Self {
        let tables = program
            .tables
            .iter()
            .filter_map(|t| match dense.iter().find(|d| Table::id(*d) == t.id) {
                Some(d) => Some(Box::new(d.clone()) as BoxedTable<F>),
                None => table_by_id::<F>(t.id).ok(),
            })
            .collect();
        StdTables { tables }
    }
}

impl TableSet for StdTables {
    fn table(&self, id: TableId) -> Option<&dyn Table> {
        self.tables.iter().find(|t| t.id() == id).map(|t| t.as_ref() as &dyn Table)
    }
}

/// Runs a lowered program with the stdlib tables.
pub fn execute_std(program: &Program, inputs: &[Vec<i64>]) -> Result<Trace, ExecError> {
    atlas_vm::execute(program, inputs, &StdTables::for_program(program))
}

/// An [`atlas_ir::Env`] over the stdlib tables (and inline weights only), so that
/// [`atlas_ir::eval`] and the VM run the same table semantics.
#[derive(Debug, Default)]
pub struct StdEnv {
    weights: HashMap<String, Vec<i64>>,
}

impl StdEnv {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an external weight.
    pub fn with_weight(mut self, key: &str, data: Vec<i64>) -> Self {
        self.weights.insert(key.to_owned(), data);
        self
    }
}

impl atlas_ir::Env for StdEnv {
    fn weight(&self, key: &str) -> Option<Vec<i64>> {
        self.weights.get(key).cloned()
    }

    fn lookup(&self, table: &TableRef, operands: &[i64]) -> Option<i64> {
        let t = table_by_id::<F>(TableId(table.id)).ok()?;
        let address = t.domain().encode(operands).ok()?;
        Some(t.eval(address))
    }
}

/// Why IR text could not be turned into a VM program.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("{0}")]
    Parse(#[from] atlas_ir::ParseError),
    #[error("{0}")]
    Validate(#[from] atlas_ir::ValidationErrors),
    #[error("{0}")]
    Lower(#[from] LowerError),
}

/// Parses, validates and lowers IR text (`docs/ir.md`, "Text form").
pub fn lower_text(src: &str) -> Result<Program, TextError> {
    let ir = atlas_ir::parse(src)?;
    let info = atlas_ir::validate(&ir)?;
    Ok(lower(&info)?)
}

#[cfg(test)]
mod tests;
