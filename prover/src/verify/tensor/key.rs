//! The verifying key: what a verifier holds about one compiled program, its byte format and its
//! digest (the value the transcript binds before anything else).

use sha3::{Digest, Keccak256};

use atlas_vm::{
    Const, Domain, Input, Instr, Op, Param, ParamData, Program, Reg, RegInfo, Rounding, TableDecl,
    TableId, TableIdx,
};

use crate::pcs::{from_bytes, to_bytes};
use crate::verify::codec::{DecodeError, Reader, Writer};
use crate::verify::hyperkzg::{HyperKzgCommitment, HyperKzgVerifierKey};

/// Encoding version of [`VerifyingKey`].
pub const VK_VERSION: u8 = 4;

/// A program-local table: its domain and entries (indexed by address), which its id does not
/// determine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalTable {
    pub domain: Domain,
    pub entries: Vec<i64>,
}

/// How the verifier learns the weights.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Weights {
    /// One commitment per parameter block (program order, then block order; see
    /// [`super::weight_blocks`]), made once in preprocessing; the verifier never reads the weights.
    Committed(Vec<HyperKzgCommitment>),
    /// The weights themselves, one row-major vector per parameter; the verifier evaluates their
    /// multilinear extensions.
    Public(Vec<Vec<i64>>),
}

/// Everything the verifier needs about one compiled program.
///
/// Invariant (checked by [`VerifyingKey::from_bytes`] and by the verifier's plan): `program`
/// passes [`Program::check`], its parameters carry no data (the weights are in `weights`), and
/// `tables` has one entry per program table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyingKey {
    pub program: Program,
    /// Per program table, a program-local (dense) table's domain and entries, which its id alone
    /// does not define; `None` for tables the registry rebuilds from their id.
    pub tables: Vec<Option<LocalTable>>,
    pub weights: Weights,
    pub pcs: HyperKzgVerifierKey,
}

impl VerifyingKey {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(VK_VERSION);
        write_program(&mut w, &self.program);
        w.len(self.tables.len());
        for t in &self.tables {
            match t {
                None => w.u8(0),
                Some(t) => {
                    w.u8(1);
                    write_domain(&mut w, t.domain);
                    w.ints(&t.entries);
                }
            }
        }
        match &self.weights {
            Weights::Committed(cs) => {
                w.u8(0);
                w.len(cs.len());
                for c in cs {
                    write_blob(&mut w, &to_bytes(c));
                }
            }
            Weights::Public(ws) => {
                w.u8(1);
                w.len(ws.len());
                for v in ws {
                    w.ints(v);
                }
            }
        }
        write_blob(&mut w, &to_bytes(&self.pcs));
        w.bytes
    }

    /// Decodes and checks a key; never panics.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        r.version(VK_VERSION)?;
        let program = read_program(&mut r)?;
        let n = r.count("table count", 1)?;
        let mut tables = Vec::with_capacity(n);
        for _ in 0..n {
            let at = r.position();
            tables.push(match r.u8()? {
                0 => None,
                1 => {
                    let domain = read_domain(&mut r)?;
                    Some(LocalTable { domain, entries: r.ints("table entries")? })
                }
                _ => return Err(DecodeError::Invalid { what: "table entry tag", at }),
            });
        }
        let at = r.position();
        let weights = match r.u8()? {
            0 => {
                let n = r.count("commitment count", 4)?;
                let mut cs = Vec::with_capacity(n);
                for _ in 0..n {
                    let at = r.position();
                    let blob = read_blob(&mut r)?;
                    cs.push(
                        from_bytes(blob)
                            .map_err(|_| DecodeError::Invalid { what: "weight commitment", at })?,
                    );
                }
                Weights::Committed(cs)
            }
            1 => {
                let n = r.count("weight count", 4)?;
                Weights::Public((0..n).map(|_| r.ints("weight entries")).collect::<Result<_, _>>()?)
            }
            _ => return Err(DecodeError::Invalid { what: "weight mode", at }),
        };
        let at = r.position();
        let pcs = from_bytes(read_blob(&mut r)?)
            .map_err(|_| DecodeError::Invalid { what: "PCS verifier key", at })?;
        r.finish()?;
        if program.check().is_err() {
            return Err(DecodeError::Invalid { what: "program structure", at: 1 });
        }
        if tables.len() != program.tables.len() {
            return Err(DecodeError::Invalid { what: "table count", at: 1 });
        }
        Ok(VerifyingKey { program, tables, weights, pcs })
    }

    /// Keccak-256 of the encoding: instructions, shapes, widths, table ids and entries, weight
    /// commitments (or weights) and the PCS key. The transcript absorbs it first.
    pub fn digest(&self) -> [u8; 32] {
        Keccak256::digest(self.to_bytes()).into()
    }
}

fn write_domain(w: &mut Writer, d: Domain) {
    match d {
        Domain::Unsigned { bits } => (w.u8(0), w.u32(bits)).1,
        Domain::Signed { bits } => (w.u8(1), w.u32(bits)).1,
        Domain::Pair { bits, signed } => {
            w.u8(if signed { 3 } else { 2 });
            w.u32(bits);
        }
    }
}

fn read_domain(r: &mut Reader<'_>) -> Result<Domain, DecodeError> {
    let at = r.position();
    let tag = r.u8()?;
    let bits = r.u32()?;
    Ok(match tag {
        0 => Domain::Unsigned { bits },
        1 => Domain::Signed { bits },
        2 | 3 => Domain::Pair { bits, signed: tag == 3 },
        _ => return Err(DecodeError::Invalid { what: "table domain", at }),
    })
}

fn write_blob(w: &mut Writer, b: &[u8]) {
    w.len(b.len());
    w.raw(b);
}

fn read_blob<'a>(r: &mut Reader<'a>) -> Result<&'a [u8], DecodeError> {
    let n = r.count("blob length", 1)?;
    r.take(n)
}

fn write_usizes(w: &mut Writer, v: &[usize]) {
    w.len(v.len());
    v.iter().for_each(|&x| w.len(x));
}

fn read_usizes(r: &mut Reader<'_>) -> Result<Vec<usize>, DecodeError> {
    let n = r.count("dimension count", 1)?;
    (0..n).map(|_| r.varint().map(|x| x as usize)).collect()
}

fn write_str(w: &mut Writer, s: &str) {
    write_blob(w, s.as_bytes());
}

fn read_str(r: &mut Reader<'_>) -> Result<String, DecodeError> {
    let at = r.position();
    String::from_utf8(read_blob(r)?.to_vec()).map_err(|_| DecodeError::Invalid { what: "name", at })
}

fn reg(r: &mut Reader<'_>) -> Result<Reg, DecodeError> {
    r.u32().map(Reg)
}

fn regs(r: &mut Reader<'_>) -> Result<Vec<Reg>, DecodeError> {
    let n = r.count("register count", 4)?;
    (0..n).map(|_| reg(r)).collect()
}

fn write_regs(w: &mut Writer, rs: &[Reg]) {
    w.len(rs.len());
    rs.iter().for_each(|r| w.u32(r.0));
}

/// The program's canonical encoding. Parameter data is not part of it: the weights travel in
/// [`Weights`].
fn write_program(w: &mut Writer, p: &Program) {
    write_str(w, &p.name);
    w.len(p.registers.len());
    for r in &p.registers {
        match &r.name {
            None => w.u8(0),
            Some(n) => {
                w.u8(1);
                write_str(w, n);
            }
        }
        write_usizes(w, &r.shape);
        w.u8(r.bits);
    }
    w.len(p.tables.len());
    for t in &p.tables {
        w.u32(t.id.0);
        write_str(w, &t.name);
    }
    w.len(p.inputs.len());
    for i in &p.inputs {
        w.u32(i.reg.0);
        w.u8(u8::from(i.public));
    }
    w.len(p.params.len());
    for param in &p.params {
        w.u32(param.reg.0);
    }
    w.len(p.consts.len());
    for c in &p.consts {
        w.u32(c.reg.0);
        w.ints(&c.data);
    }
    w.len(p.instrs.len());
    for instr in &p.instrs {
        w.u32(instr.dst.0);
        write_op(w, &instr.op);
    }
    write_regs(w, &p.outputs);
}

fn write_op(w: &mut Writer, op: &Op) {
    match op {
        Op::MatMul { a, b, bias: None } => (w.u8(0), write_regs(w, &[*a, *b])).1,
        Op::MatMul { a, b, bias: Some(c) } => (w.u8(15), write_regs(w, &[*a, *b, *c])).1,
        Op::Add { a, b } => (w.u8(1), write_regs(w, &[*a, *b])).1,
        Op::Sub { a, b } => (w.u8(2), write_regs(w, &[*a, *b])).1,
        Op::Mul { a, b } => (w.u8(3), write_regs(w, &[*a, *b])).1,
        Op::Neg { a } => (w.u8(4), write_regs(w, &[*a])).1,
        Op::Sum { src, axes } => {
            w.u8(5);
            write_regs(w, &[*src]);
            write_usizes(w, axes);
        }
        Op::Broadcast { src } => (w.u8(6), write_regs(w, &[*src])).1,
        Op::Reshape { src } => (w.u8(7), write_regs(w, &[*src])).1,
        Op::Transpose { src, perm } => {
            w.u8(8);
            write_regs(w, &[*src]);
            write_usizes(w, perm);
        }
        Op::Slice { src, axis, start, end, step } => {
            w.u8(9);
            write_regs(w, &[*src]);
            write_usizes(w, &[*axis, *start, *end, *step]);
        }
        Op::Concat { srcs, axis } => {
            w.u8(10);
            write_regs(w, srcs);
            write_usizes(w, &[*axis]);
        }
        Op::Gather { data, indices, axis } => {
            w.u8(11);
            write_regs(w, &[*data, *indices]);
            write_usizes(w, &[*axis]);
        }
        Op::Im2Col { src, kernel, stride, pad } => {
            w.u8(12);
            write_regs(w, &[*src]);
            write_usizes(w, &[kernel[0], kernel[1], stride[0], stride[1], pad[0], pad[1]]);
        }
        Op::Lookup { table, operands } => {
            w.u8(13);
            w.u32(table.0);
            write_regs(w, operands);
        }
        Op::Shr { src, shift, rounding, rem_table, rem_scale } => {
            w.u8(14);
            write_regs(w, &[*src]);
            w.u8(*shift);
            w.u8(match rounding {
                Rounding::Floor => 0,
                Rounding::Nearest => 1,
            });
            w.u32(rem_table.0);
            w.u8(*rem_scale);
        }
    }
}

fn read_op(r: &mut Reader<'_>) -> Result<Op, DecodeError> {
    let at = r.position();
    let tag = r.u8()?;
    let bad = |what| DecodeError::Invalid { what, at };
    let fixed = |r: &mut Reader<'_>, n: usize| -> Result<Vec<Reg>, DecodeError> {
        let rs = regs(r)?;
        if rs.len() == n {
            Ok(rs)
        } else {
            Err(DecodeError::Invalid { what: "operand count", at })
        }
    };
    let nums = |r: &mut Reader<'_>, n: usize| -> Result<Vec<usize>, DecodeError> {
        let v = read_usizes(r)?;
        if v.len() == n {
            Ok(v)
        } else {
            Err(DecodeError::Invalid { what: "attribute count", at })
        }
    };
    Ok(match tag {
        0..=3 => {
            let v = fixed(r, 2)?;
            let (a, b) = (v[0], v[1]);
            match tag {
                0 => Op::MatMul { a, b, bias: None },
                1 => Op::Add { a, b },
                2 => Op::Sub { a, b },
                _ => Op::Mul { a, b },
            }
        }
        4 => Op::Neg { a: fixed(r, 1)?[0] },
        5 => Op::Sum { src: fixed(r, 1)?[0], axes: read_usizes(r)? },
        6 => Op::Broadcast { src: fixed(r, 1)?[0] },
        7 => Op::Reshape { src: fixed(r, 1)?[0] },
        8 => Op::Transpose { src: fixed(r, 1)?[0], perm: read_usizes(r)? },
        9 => {
            let src = fixed(r, 1)?[0];
            let v = nums(r, 4)?;
            Op::Slice { src, axis: v[0], start: v[1], end: v[2], step: v[3] }
        }
        10 => Op::Concat { srcs: regs(r)?, axis: nums(r, 1)?[0] },
        11 => {
            let v = fixed(r, 2)?;
            Op::Gather { data: v[0], indices: v[1], axis: nums(r, 1)?[0] }
        }
        12 => {
            let src = fixed(r, 1)?[0];
            let v = nums(r, 6)?;
            Op::Im2Col { src, kernel: [v[0], v[1]], stride: [v[2], v[3]], pad: [v[4], v[5]] }
        }
        13 => {
            let table = TableIdx(r.u32()?);
            Op::Lookup { table, operands: regs(r)? }
        }
        14 => {
            let src = fixed(r, 1)?[0];
            let shift = r.u8()?;
            let rounding = match r.u8()? {
                0 => Rounding::Floor,
                1 => Rounding::Nearest,
                _ => return Err(bad("rounding")),
            };
            let rem_table = TableIdx(r.u32()?);
            Op::Shr { src, shift, rounding, rem_table, rem_scale: r.u8()? }
        }
        15 => {
            let v = fixed(r, 3)?;
            Op::MatMul { a: v[0], b: v[1], bias: Some(v[2]) }
        }
        _ => return Err(bad("instruction tag")),
    })
}

fn read_program(r: &mut Reader<'_>) -> Result<Program, DecodeError> {
    let name = read_str(r)?;
    let n = r.count("register count", 6)?;
    let mut registers = Vec::with_capacity(n);
    for _ in 0..n {
        let at = r.position();
        let name = match r.u8()? {
            0 => None,
            1 => Some(read_str(r)?),
            _ => return Err(DecodeError::Invalid { what: "register name tag", at }),
        };
        let shape = read_usizes(r)?;
        registers.push(RegInfo { name, shape, bits: r.u8()? });
    }
    let n = r.count("table count", 8)?;
    let mut tables = Vec::with_capacity(n);
    for _ in 0..n {
        let id = TableId(r.u32()?);
        tables.push(TableDecl { id, name: read_str(r)? });
    }
    let n = r.count("input count", 5)?;
    let mut inputs = Vec::with_capacity(n);
    for _ in 0..n {
        let reg = reg(r)?;
        let at = r.position();
        let public = match r.u8()? {
            0 => false,
            1 => true,
            _ => return Err(DecodeError::Invalid { what: "input visibility", at }),
        };
        inputs.push(Input { reg, public });
    }
    let n = r.count("param count", 4)?;
    let params = (0..n)
        .map(|i| Ok(Param { reg: reg(r)?, data: ParamData::External { key: format!("param{i}") } }))
        .collect::<Result<_, DecodeError>>()?;
    let n = r.count("const count", 8)?;
    let mut consts = Vec::with_capacity(n);
    for _ in 0..n {
        let reg = reg(r)?;
        consts.push(Const { reg, data: r.ints("constant entries")? });
    }
    let n = r.count("instruction count", 5)?;
    let mut instrs = Vec::with_capacity(n);
    for _ in 0..n {
        let dst = reg(r)?;
        instrs.push(Instr { dst, op: read_op(r)? });
    }
    let outputs = regs(r)?;
    Ok(Program { name, registers, tables, inputs, params, consts, instrs, outputs })
}
