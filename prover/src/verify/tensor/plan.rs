//! The plan: a program checked once for everything the claim walk relies on (shapes per
//! instruction, provable layouts, tables), with each instruction's reduction rule precomputed.
//! Prover and verifier both build it from the same program, so they walk the same steps.

use atlas_vm::{Decomposition, Domain, Op, Program, Reg, Rounding, TableMle};

use super::layout::{relabel, Layout, Relabel};
use super::TensorError;
use crate::field::F;

/// How one instruction's output claim becomes claims on its operands.
#[derive(Clone, Debug)]
pub enum Rule {
    /// `add`/`sub`: the prover sends both operands at the point; `sign` is −1 for `sub`.
    Linear {
        a: Reg,
        b: Reg,
        negate_b: bool,
    },
    Neg {
        a: Reg,
    },
    /// Elementwise product: an eq-weighted sumcheck.
    Mul {
        a: Reg,
        b: Reg,
    },
    /// `a[batch, m, k] × b[(batch,) k, n]`, variable counts per block, plus `bias[n]` on every
    /// row: its value at the point's column block is sent, weighted by the row indicator.
    MatMul {
        a: Reg,
        b: Reg,
        bias: Option<Reg>,
        batch: usize,
        m: usize,
        k: usize,
        n: usize,
        b_batched: bool,
    },
    /// Sum over some of `src`'s variables: `summed[v]` for each of its variables.
    Sum {
        src: Reg,
        summed: Vec<bool>,
    },
    /// A single-source move that is a change of variables: the claim moves to the source with no
    /// sumcheck ([`Relabel`]).
    Relabel {
        src: Reg,
        map: Relabel,
    },
    /// A data-movement instruction, proved by a wiring sumcheck per source.
    Move {
        srcs: Vec<Reg>,
        indices: Option<Reg>,
    },
    Lookup {
        site: usize,
        operands: Vec<Reg>,
    },
    /// `shr`: `x + bias = q·2^shift + rem`, `rem·2^scale` looked up in the site's range table.
    Shr {
        site: usize,
        src: Reg,
        shift: u8,
        bias: i64,
        scale: u8,
    },
}

impl Rule {
    /// How many claims on its result the rule takes as they are; more are merged to one first (a
    /// claim-reduction sumcheck). A relabelling or a negation moves each claim for free and a
    /// wiring sumcheck folds them all into its wiring polynomial with a random combination; every
    /// other rule proves one claim. (An `add`/`sub` could send its operands per claim, but on
    /// gpt_nano that only moves the merges to its operands: 629,198 B at one claim, 629,902 B at
    /// up to four, 639,374 B at sixteen.)
    pub fn takes_claims(&self) -> usize {
        match self {
            Rule::Neg { .. } | Rule::Relabel { .. } | Rule::Move { .. } => usize::MAX,
            _ => 1,
        }
    }
}

/// One lookup instance: a `lookup` or a `shr`'s remainder check.
#[derive(Clone, Debug)]
pub struct Site {
    pub instr: usize,
    pub table: usize,
    /// Query variables: the result's, at least 1.
    pub vars: usize,
    pub chunk_bits: usize,
    pub num_chunks: usize,
}

/// The checked program.
pub struct Plan {
    pub layouts: Vec<Layout>,
    pub rules: Vec<Rule>,
    pub sites: Vec<Site>,
    /// Per program table, its decomposition if a site uses it: built once (a dense table's has
    /// hundreds of subtables), read by every site of the table.
    pub decomps: Vec<Option<Decomposition>>,
}

impl Plan {
    /// Checks `program` against `tables` (one per program table, in order) and builds the rules.
    pub fn new(program: &Program, tables: &[&dyn TableMle<F>]) -> Result<Plan, TensorError> {
        program.check().map_err(|e| TensorError::Program(e.to_string()))?;
        if tables.len() != program.tables.len() {
            return Err(TensorError::Program(format!(
                "{} tables supplied, the program declares {}",
                tables.len(),
                program.tables.len()
            )));
        }
        for (i, (t, decl)) in tables.iter().zip(&program.tables).enumerate() {
            if t.id() != decl.id {
                return Err(TensorError::Program(format!(
                    "table t{i}: supplied table has id #0x{:08x}, the program names #0x{:08x}",
                    t.id().0,
                    decl.id.0
                )));
            }
        }
        let layouts = program
            .registers
            .iter()
            .enumerate()
            .map(|(i, r)| {
                Layout::new(&r.shape).ok_or_else(|| {
                    TensorError::Program(format!(
                        "register r{i} has shape {:?}: empty or too large to prove",
                        r.shape
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut rules = Vec::with_capacity(program.instrs.len());
        let mut sites = Vec::new();
        let mut decomps = vec![None; tables.len()];
        for (i, instr) in program.instrs.iter().enumerate() {
            let bad = |why: String| TensorError::Program(format!("instruction {i}: {why}"));
            let shape = |r: Reg| &layouts[r.index()].dims;
            let out = &layouts[instr.dst.index()];
            let same = |r: Reg| {
                if shape(r) == &out.dims {
                    Ok(())
                } else {
                    Err(bad(format!(
                        "operand {r} has shape {:?}, expected {:?}",
                        shape(r),
                        out.dims
                    )))
                }
            };
            let site = |table: usize,
                        sites: &mut Vec<Site>,
                        decomps: &mut Vec<Option<Decomposition>>|
             -> Result<usize, TensorError> {
                let d = decomps[table].get_or_insert_with(|| tables[table].decomposition());
                sites.push(Site {
                    instr: i,
                    table,
                    vars: out.num_vars().max(1),
                    chunk_bits: d.chunk_bits as usize,
                    num_chunks: d.num_chunks,
                });
                Ok(sites.len() - 1)
            };
            let rule = match &instr.op {
                Op::Add { a, b } | Op::Sub { a, b } => {
                    same(*a)?;
                    same(*b)?;
                    Rule::Linear { a: *a, b: *b, negate_b: matches!(instr.op, Op::Sub { .. }) }
                }
                Op::Neg { a } => {
                    same(*a)?;
                    Rule::Neg { a: *a }
                }
                Op::Mul { a, b } => {
                    same(*a)?;
                    same(*b)?;
                    Rule::Mul { a: *a, b: *b }
                }
                Op::MatMul { a, b, bias } => {
                    let (la, lb) = (&layouts[a.index()], &layouts[b.index()]);
                    let ra = la.dims.len();
                    if ra < 2 || lb.dims.len() < 2 || out.dims.len() != ra {
                        return Err(bad("matmul needs operands of rank ≥ 2".into()));
                    }
                    let b_batched = lb.dims.len() == ra;
                    let (m, k) = (la.dims[ra - 2], la.dims[ra - 1]);
                    let (kb, n) = (lb.dims[lb.dims.len() - 2], lb.dims[lb.dims.len() - 1]);
                    let batch = &la.dims[..ra - 2];
                    let mut expect = batch.to_vec();
                    expect.extend([m, n]);
                    if kb != k
                        || out.dims != expect
                        || (b_batched && lb.dims[..ra - 2] != *batch)
                        || (!b_batched && lb.dims.len() != 2)
                    {
                        return Err(bad(format!(
                            "matmul of {:?} and {:?} into {:?}",
                            la.dims, lb.dims, out.dims
                        )));
                    }
                    if let Some(c) = bias {
                        let lc = &layouts[c.index()];
                        if lc.dims != [n] {
                            return Err(bad(format!(
                                "matmul bias of {:?} for a result of {:?}",
                                lc.dims, out.dims
                            )));
                        }
                    }
                    let bv: usize = la.vars[..ra - 2].iter().sum();
                    Rule::MatMul {
                        a: *a,
                        b: *b,
                        bias: *bias,
                        batch: bv,
                        m: la.vars[ra - 2],
                        k: la.vars[ra - 1],
                        n: lb.vars[lb.dims.len() - 1],
                        b_batched: b_batched && bv > 0,
                    }
                }
                Op::Sum { src, axes } => {
                    let ls = &layouts[src.index()];
                    if axes.windows(2).any(|w| w[0] >= w[1])
                        || axes.iter().any(|&a| a >= ls.dims.len())
                    {
                        return Err(bad(format!("sum axes {axes:?} of {:?}", ls.dims)));
                    }
                    let kept: Vec<usize> = (0..ls.dims.len())
                        .filter(|d| !axes.contains(d))
                        .map(|d| ls.dims[d])
                        .collect();
                    let mut kept_as_one = ls.dims.clone();
                    axes.iter().for_each(|&a| kept_as_one[a] = 1);
                    if out.dims != kept && out.dims != kept_as_one {
                        return Err(bad(format!(
                            "sum of {:?} over {axes:?} into {:?}",
                            ls.dims, out.dims
                        )));
                    }
                    let mut summed = Vec::with_capacity(ls.num_vars());
                    for (d, &v) in ls.vars.iter().enumerate() {
                        summed.extend(std::iter::repeat_n(axes.contains(&d), v));
                    }
                    Rule::Sum { src: *src, summed }
                }
                Op::Broadcast { src }
                | Op::Reshape { src }
                | Op::Transpose { src, .. }
                | Op::Slice { src, .. }
                | Op::Im2Col { src, .. } => {
                    let wires =
                        super::layout::wiring(program, &instr.op, instr.dst, None).map_err(bad)?;
                    match relabel(&wires, out, &layouts[src.index()]) {
                        Some(map) => Rule::Relabel { src: *src, map },
                        None => Rule::Move { srcs: vec![*src], indices: None },
                    }
                }
                Op::Concat { srcs, .. } => {
                    super::layout::wiring(program, &instr.op, instr.dst, None).map_err(bad)?;
                    Rule::Move { srcs: srcs.clone(), indices: None }
                }
                Op::Gather { data, indices, .. } => {
                    let known = program.consts.iter().any(|c| c.reg == *indices)
                        || program.inputs.iter().any(|x| x.reg == *indices && x.public);
                    if !known {
                        return Err(bad(format!(
                            "gather indices {indices} are computed or private; only constant or \
                             public-input indices are provable today"
                        )));
                    }
                    Rule::Move { srcs: vec![*data], indices: Some(*indices) }
                }
                Op::Lookup { table, operands } => {
                    let t = table.index();
                    if operands.len() != tables[t].domain().arity() {
                        return Err(bad(format!(
                            "table {} takes {} operands, found {}",
                            tables[t].name(),
                            tables[t].domain().arity(),
                            operands.len()
                        )));
                    }
                    for o in operands {
                        same(*o)?;
                    }
                    Rule::Lookup {
                        site: site(t, &mut sites, &mut decomps)?,
                        operands: operands.clone(),
                    }
                }
                Op::Shr { src, shift, rounding, rem_table, rem_scale } => {
                    same(*src)?;
                    let t = rem_table.index();
                    let bits = u32::from(*shift) + u32::from(*rem_scale);
                    if tables[t].domain() != (Domain::Unsigned { bits })
                        || *shift == 0
                        || *shift > 62
                    {
                        return Err(bad(format!(
                            "shr shift={shift} scale={rem_scale} needs a range{bits} table, found {}",
                            tables[t].name()
                        )));
                    }
                    // The rule reads the table's value as the remainder itself: check the table
                    // is the identity (its MLE against the identity's at a hashed point).
                    let mut t_ = crate::transcript::Transcript::new(b"atlas/identity-check");
                    t_.append_u64("table", u64::from(tables[t].id().0));
                    let r = t_.challenge_scalars("point", bits as usize);
                    let identity: F = r
                        .iter()
                        .enumerate()
                        .map(|(i, x)| {
                            crate::poly::pow(F::from(2u64), u64::from(bits) - 1 - i as u64) * x
                        })
                        .sum();
                    if tables[t].mle(&r) != identity {
                        return Err(bad(format!(
                            "shr remainder table {} is not the identity on its range",
                            tables[t].name()
                        )));
                    }
                    let bias = match rounding {
                        Rounding::Floor => 0,
                        Rounding::Nearest => 1i64 << (shift - 1),
                    };
                    Rule::Shr {
                        site: site(t, &mut sites, &mut decomps)?,
                        src: *src,
                        shift: *shift,
                        bias,
                        scale: *rem_scale,
                    }
                }
            };
            rules.push(rule);
        }
        Ok(Plan { layouts, rules, sites, decomps })
    }

    pub fn vars(&self, r: Reg) -> usize {
        self.layouts[r.index()].num_vars()
    }
}
