//! The instruction set: a static list of instructions over SSA tensor registers.
//!
//! A [`Program`] is plain data. Every register is defined exactly once — by a program input, a
//! parameter (weight), a constant, or one instruction — and every instruction reads only registers
//! defined before it, so the instruction list is a topological order: the executor walks it
//! forwards, the prover's claim reduction backwards (DESIGN.md §5). [`Program::check`] verifies
//! this structure; the executor runs it before anything else.
//!
//! Values are `i64` integers (the IR guarantees every value fits); each register declares the
//! signed width its values fit in ([`RegInfo::bits`]), which the executor checks after every
//! instruction. Products are exact (computed in `i128`); nothing wraps. Every non-linear step is a
//! [`Op::Lookup`] into a table named by its [`TableId`]; the one exception, [`Op::Shr`], is an
//! advice quotient whose remainder is itself range-checked by a lookup. `docs/isa.md`
//! ("Instruction set") is the reference.

use std::fmt::{self, Write as _};

use crate::table::TableId;

/// A register: an index into [`Program::registers`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reg(pub u32);

impl Reg {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for Reg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "r{}", self.0)
    }
}

/// A table: an index into [`Program::tables`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TableIdx(pub u32);

impl TableIdx {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for TableIdx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t{}", self.0)
    }
}

/// A register's static type: its shape and the signed width its values fit in.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RegInfo {
    /// A readable name (the IR value's name, if any); only for listings and errors.
    pub name: Option<String>,
    /// Row-major shape; rank 0 is a scalar.
    pub shape: Vec<usize>,
    /// Every value is in `[-2^(bits-1), 2^(bits-1))`; `1 ≤ bits ≤ 64`.
    pub bits: u8,
}

impl RegInfo {
    /// The number of elements, or `None` on overflow.
    pub fn len(&self) -> Option<usize> {
        self.shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d))
    }

    /// Whether the register holds no elements (a zero-sized dimension).
    pub fn is_empty(&self) -> bool {
        self.shape.contains(&0)
    }

    /// The values a `bits`-wide register may hold.
    pub fn range(&self) -> (i64, i64) {
        signed_range(self.bits)
    }
}

/// `[-2^(bits-1), 2^(bits-1) - 1]`, for `1 ≤ bits ≤ 64` (wider is clamped to 64, `0` to 1).
pub fn signed_range(bits: u8) -> (i64, i64) {
    let bits = bits.clamp(1, 64);
    let half = 1i128 << (bits - 1);
    // In range of i64 for bits ≤ 64.
    (i64::try_from(-half).unwrap_or(i64::MIN), i64::try_from(half - 1).unwrap_or(i64::MAX))
}

/// A table the program uses: its stable id and a readable name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TableDecl {
    pub id: TableId,
    /// E.g. `shr_s16_8_round`; only for listings and errors.
    pub name: String,
}

/// A program input, supplied at run time.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Input {
    pub reg: Reg,
    /// Public inputs are part of the statement; private ones are witness.
    pub public: bool,
}

/// A weight's data.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ParamData {
    /// Row-major integers, one per element.
    Inline(Vec<i64>),
    /// Not bound yet: [`Program::bind_weights`] fills it before execution.
    External { key: String },
}

/// A weight (committed once per model).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Param {
    pub reg: Reg,
    pub data: ParamData,
}

/// Constant data that is part of the program text.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Const {
    pub reg: Reg,
    pub data: Vec<i64>,
}

/// How [`Op::Shr`] rounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rounding {
    /// `⌊x / 2^s⌋`.
    Floor,
    /// `⌊(x + 2^(s-1)) / 2^s⌋`: to nearest, ties toward +∞.
    Nearest,
}

/// One operation. Result shapes are the destination register's; see `docs/isa.md`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// `a[..., m, k] × b[..., k, n] → [..., m, n]`, exact; `b` has `a`'s batch dims or is 2-D.
    /// With `bias` (a `[n]` register), it is added to every row of the product, exactly.
    MatMul { a: Reg, b: Reg, bias: Option<Reg> },
    /// Elementwise, exact; operands of the destination's shape.
    Add { a: Reg, b: Reg },
    /// Elementwise, exact.
    Sub { a: Reg, b: Reg },
    /// Elementwise product, exact.
    Mul { a: Reg, b: Reg },
    /// Elementwise negation.
    Neg { a: Reg },
    /// Sum over `axes` (strictly increasing). The destination has the source's shape with those
    /// axes removed or kept as 1 (the same row-major elements either way).
    Sum { src: Reg, axes: Vec<usize> },
    /// NumPy broadcast to the destination's shape (right-aligned; each source dim 1 or equal).
    Broadcast { src: Reg },
    /// The same row-major elements in the destination's shape.
    Reshape { src: Reg },
    /// Destination axis `i` is source axis `perm[i]`.
    Transpose { src: Reg, perm: Vec<usize> },
    /// Elements `start, start+step, … < end` along `axis`.
    Slice { src: Reg, axis: usize, start: usize, end: usize, step: usize },
    /// Sources joined along `axis`.
    Concat { srcs: Vec<Reg>, axis: usize },
    /// `data[..., indices[...], ...]` along `axis` (ONNX `Gather`); an index outside
    /// `[0, dim)` is an execution error.
    Gather { data: Reg, indices: Reg, axis: usize },
    /// Patches of `x[n, c, h, w]` as rows of `[n, oh·ow, c·kh·kw]`, zero padded; rows in
    /// `(oy, ox)` order, columns in `(c, ki, kj)` order.
    Im2Col { src: Reg, kernel: [usize; 2], stride: [usize; 2], pad: [usize; 2] },
    /// Elementwise through a table: one operand per table input, all of one shape. An operand
    /// outside the table's domain is an execution error (the lookup range-checks it).
    Lookup { table: TableIdx, operands: Vec<Reg> },
    /// Advice division by `2^shift` (`1 ≤ shift`), for sources too wide for a shift table: the
    /// quotient `q` is the result, and the remainder `rem = x (+ 2^(shift-1) for nearest) −
    /// q·2^shift`, scaled to `rem·2^rem_scale`, is looked up in `rem_table` (a
    /// `range{shift + rem_scale}` table), so the lookup proves `0 ≤ rem < 2^shift` (the scale
    /// lets an unchunkable `shift` use a wider range table; it is sound only when `q` and `src`
    /// are integers by other constraints, else `q` may be a non-integer field element). The
    /// quotient itself is only determined once a later lookup range-checks it (or an unscaled
    /// `shr` of it does); the lowering always emits one.
    Shr { src: Reg, shift: u8, rounding: Rounding, rem_table: TableIdx, rem_scale: u8 },
}

impl Op {
    /// The mnemonic in listings and errors.
    pub fn name(&self) -> &'static str {
        match self {
            Op::MatMul { .. } => "matmul",
            Op::Add { .. } => "add",
            Op::Sub { .. } => "sub",
            Op::Mul { .. } => "mul",
            Op::Neg { .. } => "neg",
            Op::Sum { .. } => "sum",
            Op::Broadcast { .. } => "broadcast",
            Op::Reshape { .. } => "reshape",
            Op::Transpose { .. } => "transpose",
            Op::Slice { .. } => "slice",
            Op::Concat { .. } => "concat",
            Op::Gather { .. } => "gather",
            Op::Im2Col { .. } => "im2col",
            Op::Lookup { .. } => "lookup",
            Op::Shr { .. } => "shr",
        }
    }

    /// The registers the op reads, in operand order.
    pub fn operands(&self) -> Vec<Reg> {
        match self {
            Op::MatMul { a, b, bias } => [*a, *b].into_iter().chain(*bias).collect(),
            Op::Add { a, b } | Op::Sub { a, b } | Op::Mul { a, b } => vec![*a, *b],
            Op::Neg { a } => vec![*a],
            Op::Sum { src, .. }
            | Op::Broadcast { src }
            | Op::Reshape { src }
            | Op::Transpose { src, .. }
            | Op::Slice { src, .. }
            | Op::Im2Col { src, .. }
            | Op::Shr { src, .. } => vec![*src],
            Op::Concat { srcs, .. } => srcs.clone(),
            Op::Gather { data, indices, .. } => vec![*data, *indices],
            Op::Lookup { operands, .. } => operands.clone(),
        }
    }

    /// The table the op looks up in, if any.
    pub fn table(&self) -> Option<TableIdx> {
        match self {
            Op::Lookup { table, .. } => Some(*table),
            Op::Shr { rem_table, .. } => Some(*rem_table),
            _ => None,
        }
    }
}

/// One instruction: an op and the register it defines.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Instr {
    pub dst: Reg,
    pub op: Op,
}

/// A VM program.
///
/// Registers are defined once, operands precede users: every register is defined by exactly one
/// input, param, const or instruction, and an instruction reads only registers defined by an
/// input, param, const or an earlier instruction ([`Program::check`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Program {
    pub name: String,
    pub registers: Vec<RegInfo>,
    pub tables: Vec<TableDecl>,
    /// In the order [`crate::execute`] takes them.
    pub inputs: Vec<Input>,
    pub params: Vec<Param>,
    pub consts: Vec<Const>,
    pub instrs: Vec<Instr>,
    pub outputs: Vec<Reg>,
}

/// Why a program is malformed (a lowering bug, or a hand-written program gone wrong).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProgramError {
    #[error("{place}: register {reg} does not exist ({len} registers)")]
    UnknownRegister { place: String, reg: Reg, len: usize },
    #[error("{place}: table {table} does not exist ({len} tables)")]
    UnknownTable { place: String, table: TableIdx, len: usize },
    #[error("{place}: register {reg} is already defined")]
    Redefined { place: String, reg: Reg },
    #[error("{place}: reads register {reg} before it is defined")]
    UseBeforeDef { place: String, reg: Reg },
    #[error("register {reg} is never defined")]
    Undefined { reg: Reg },
    #[error("register {reg}: {bits} bits, expected 1 to 64")]
    BadWidth { reg: Reg, bits: u8 },
    #[error("register {reg}: its shape {shape:?} has too many elements")]
    TooLarge { reg: Reg, shape: Vec<usize> },
    #[error("{place}: {found} data elements, register {reg} has {expected}")]
    DataLength { place: String, reg: Reg, expected: usize, found: usize },
}

impl Program {
    /// The register's static type, if it exists.
    pub fn reg(&self, r: Reg) -> Option<&RegInfo> {
        self.registers.get(r.index())
    }

    /// Inlines every external weight `weight(key)` returns; the rest stay external (and make
    /// execution fail with a clear error).
    pub fn bind_weights(&mut self, weight: &dyn Fn(&str) -> Option<Vec<i64>>) {
        for p in &mut self.params {
            if let ParamData::External { key } = &p.data {
                if let Some(data) = weight(key) {
                    p.data = ParamData::Inline(data);
                }
            }
        }
    }

    /// Checks the structure: registers and tables in range, each register defined exactly once,
    /// operands defined before use, widths in `1..=64`, element counts representable, inline data
    /// of the right length. Shapes per op are checked by the executor.
    pub fn check(&self) -> Result<(), ProgramError> {
        let len = self.registers.len();
        for (i, r) in self.registers.iter().enumerate() {
            let reg = Reg(i as u32);
            if r.bits == 0 || r.bits > 64 {
                return Err(ProgramError::BadWidth { reg, bits: r.bits });
            }
            if r.len().is_none() {
                return Err(ProgramError::TooLarge { reg, shape: r.shape.clone() });
            }
        }
        let mut defined = vec![false; len];
        let define = |defined: &mut [bool],
                      place: &dyn Fn() -> String,
                      reg: Reg|
         -> Result<(), ProgramError> {
            match defined.get_mut(reg.index()) {
                None => Err(ProgramError::UnknownRegister { place: place(), reg, len }),
                Some(true) => Err(ProgramError::Redefined { place: place(), reg }),
                Some(d) => {
                    *d = true;
                    Ok(())
                }
            }
        };
        let data_len = |place: &dyn Fn() -> String, reg: Reg, found: usize| {
            let expected = self.reg(reg).and_then(RegInfo::len).unwrap_or(0);
            if expected == found {
                Ok(())
            } else {
                Err(ProgramError::DataLength { place: place(), reg, expected, found })
            }
        };
        for (i, input) in self.inputs.iter().enumerate() {
            define(&mut defined, &|| format!("input {i}"), input.reg)?;
        }
        for (i, p) in self.params.iter().enumerate() {
            let place = || format!("param {i}");
            define(&mut defined, &place, p.reg)?;
            if let ParamData::Inline(data) = &p.data {
                data_len(&place, p.reg, data.len())?;
            }
        }
        for (i, c) in self.consts.iter().enumerate() {
            let place = || format!("const {i}");
            define(&mut defined, &place, c.reg)?;
            data_len(&place, c.reg, c.data.len())?;
        }
        for (i, instr) in self.instrs.iter().enumerate() {
            let place = || format!("instruction {i} ({})", instr.op.name());
            for reg in instr.op.operands() {
                match defined.get(reg.index()) {
                    None => return Err(ProgramError::UnknownRegister { place: place(), reg, len }),
                    Some(false) => return Err(ProgramError::UseBeforeDef { place: place(), reg }),
                    Some(true) => {}
                }
            }
            if let Some(table) = instr.op.table() {
                if table.index() >= self.tables.len() {
                    return Err(ProgramError::UnknownTable {
                        place: place(),
                        table,
                        len: self.tables.len(),
                    });
                }
            }
            define(&mut defined, &place, instr.dst)?;
        }
        for (i, &reg) in self.outputs.iter().enumerate() {
            match defined.get(reg.index()) {
                None => {
                    return Err(ProgramError::UnknownRegister {
                        place: format!("output {i}"),
                        reg,
                        len,
                    })
                }
                Some(false) => return Err(ProgramError::Undefined { reg }),
                Some(true) => {}
            }
        }
        if let Some(i) = defined.iter().position(|d| !d) {
            return Err(ProgramError::Undefined { reg: Reg(i as u32) });
        }
        Ok(())
    }
}

/// The program's listing (what `atlasc asm` prints): tables, then one line per register
/// definition, then the outputs.
///
/// ```text
/// program mlp
///   table t0 = shr_s16_8_round #0x04100801
///   r0: i16[1,4] = input public x
///   r4: i38[1,2] = matmul r0, r1
///   r6: i16[1,2] = lookup t0 r5
///   output r6
/// ```
pub fn listing(p: &Program) -> String {
    let mut s = String::new();
    // Writing to a String cannot fail.
    let _ = write_listing(p, &mut s);
    s
}

fn write_listing(p: &Program, s: &mut String) -> fmt::Result {
    writeln!(s, "program {}", p.name)?;
    for (i, t) in p.tables.iter().enumerate() {
        writeln!(s, "  table t{i} = {} #0x{:08x}", t.name, t.id.0)?;
    }
    let head = |s: &mut String, r: Reg| -> fmt::Result {
        write!(s, "  {r}: ")?;
        match p.reg(r) {
            Some(info) => write!(s, "i{}{}", info.bits, Dims(&info.shape))?,
            None => s.push('?'),
        }
        s.push_str(" = ");
        Ok(())
    };
    let name = |r: Reg| p.reg(r).and_then(|i| i.name.clone());
    for input in &p.inputs {
        head(s, input.reg)?;
        let vis = if input.public { "public" } else { "private" };
        write!(s, "input {vis}")?;
        if let Some(n) = name(input.reg) {
            write!(s, " {n}")?;
        }
        s.push('\n');
    }
    for param in &p.params {
        head(s, param.reg)?;
        s.push_str("param");
        if let Some(n) = name(param.reg) {
            write!(s, " {n}")?;
        }
        match &param.data {
            ParamData::Inline(d) => write!(s, " = {}", Data(d))?,
            ParamData::External { key } => write!(s, " = weights({key:?})")?,
        }
        s.push('\n');
    }
    for c in &p.consts {
        head(s, c.reg)?;
        writeln!(s, "const {}", Data(&c.data))?;
    }
    for instr in &p.instrs {
        head(s, instr.dst)?;
        s.push_str(instr.op.name());
        let regs = |s: &mut String, regs: &[Reg]| -> fmt::Result {
            for (i, r) in regs.iter().enumerate() {
                write!(s, "{}{r}", if i == 0 { " " } else { ", " })?;
            }
            Ok(())
        };
        match &instr.op {
            Op::Lookup { table, operands } => {
                write!(s, " {table}")?;
                regs(s, operands)?;
            }
            op => regs(s, &op.operands())?,
        }
        match &instr.op {
            Op::Sum { axes, .. } => write!(s, " axes={}", Dims(axes))?,
            Op::Transpose { perm, .. } => write!(s, " perm={}", Dims(perm))?,
            Op::Slice { axis, start, end, step, .. } => {
                write!(s, " axis={axis} start={start} end={end} step={step}")?
            }
            Op::Concat { axis, .. } | Op::Gather { axis, .. } => write!(s, " axis={axis}")?,
            Op::Im2Col { kernel, stride, pad, .. } => {
                write!(s, " kernel={} stride={} pad={}", Dims(kernel), Dims(stride), Dims(pad))?
            }
            Op::Shr { shift, rounding, rem_table, rem_scale, .. } => {
                let r = match rounding {
                    Rounding::Floor => "floor",
                    Rounding::Nearest => "nearest",
                };
                write!(s, " shift={shift} round={r} rem={rem_table}")?;
                if *rem_scale > 0 {
                    write!(s, "<<{rem_scale}")?;
                }
            }
            _ => {}
        }
        if let Some(n) = name(instr.dst) {
            write!(s, "  // {n}")?;
        }
        s.push('\n');
    }
    for o in &p.outputs {
        writeln!(s, "  output {o}")?;
    }
    Ok(())
}

struct Dims<'a, T>(&'a [T]);

impl<T: fmt::Display> fmt::Display for Dims<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{d}")?;
        }
        f.write_str("]")
    }
}

/// Inline data, abbreviated past 16 elements.
struct Data<'a>(&'a [i64]);

impl fmt::Display for Data<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 16;
        if self.0.len() <= SHOWN {
            return Dims(self.0).fmt(f);
        }
        Dims(&self.0[..SHOWN]).fmt(f)?;
        write!(f, "…({} elements)", self.0.len())
    }
}
