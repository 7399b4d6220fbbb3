//! Verification of a whole-program proof: the backward claim walk (DESIGN.md §5,
//! `docs/proof-format.md`).
//!
//! Every register is the multilinear extension of its zero-padded tensor ([`layout`]). The
//! verifier binds the verifying key's digest, the public inputs and outputs, and the prover's
//! commitments (private inputs, one-hot lookup chunks); draws a random point per output and
//! computes the claim from the public output; then walks the instructions backwards. At each
//! instruction it first **merges** every claim on the result into one (a reduction sumcheck when
//! there are several points), then reduces that claim to claims on the operands by the
//! instruction's [`plan::Rule`]. Claims that reach a public input, a constant or a public weight
//! are checked against the data; claims on committed polynomials (weights, private inputs, lookup
//! chunks) are reduced to one point by one batched sumcheck and opened with one HyperKZG batch
//! opening per polynomial size.

pub mod key;
pub mod layout;
pub mod plan;
pub mod proof;

use ark_ff::{Field, One, Zero};

use atlas_vm::{Program, Reg, TableMle};

use crate::field::{from_i64, F};
use crate::pcs::PcsError;
use crate::poly::{eq_eval, eq_evals_serial};
use crate::transcript::Transcript;
use crate::verify::hyperkzg::{
    batch_verify, verify_combination, HyperKzgCommitment, HyperKzgProof,
};
use crate::verify::lookup::{
    verify_chunk_checks, verify_lookup_reads_with, ChunkCheckProof, ChunkOpening, LookupError,
    LookupReads, LookupStatement, PendingChunks,
};
use crate::verify::sumcheck::{
    verify_sumcheck, verify_sumcheck_deferred, ClaimReduction, ProductClaim, SumcheckClaim,
    SumcheckError, Term,
};
use crate::verify::LookupReadProof;

pub use key::{LocalTable, VerifyingKey, Weights};
pub use layout::Layout;
pub use plan::{Plan, Rule};
pub use proof::ProofFile;
pub use proof::{Item, TensorProof};

/// The transcript domain of whole-program proofs.
pub const TENSOR_DOMAIN: &[u8] = b"atlas/tensor-proof";

/// A claim `P(point) = value`.
pub type Claim = (Vec<F>, F);

/// Why a whole-program proof was rejected (or could not be checked).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TensorError {
    #[error("the program cannot be proved: {0}")]
    Program(String),
    #[error("expected {expected} public inputs, got {got}")]
    InputCount { expected: usize, got: usize },
    #[error("public input {index}: expected {expected} values, got {got}")]
    InputLength { index: usize, expected: usize, got: usize },
    #[error("public input {index}: value {value} at element {element} does not fit {bits} bits")]
    InputRange { index: usize, element: usize, value: i64, bits: u8 },
    #[error("expected {expected} outputs, got {got}")]
    OutputCount { expected: usize, got: usize },
    #[error("output {index}: expected {expected} values, got {got}")]
    OutputLength { index: usize, expected: usize, got: usize },
    #[error("verifying key: {0}")]
    Key(String),
    #[error("proof item {index}: expected {expected}, found {found}")]
    Item { index: usize, expected: &'static str, found: &'static str },
    #[error("the proof ends at item {index}, where {expected} was expected")]
    Truncated { index: usize, expected: &'static str },
    #[error("the proof has {extra} items past the end of the protocol")]
    TrailingItems { extra: usize },
    #[error("{place}: expected {expected} {what}, got {got}")]
    Count { place: String, what: &'static str, expected: usize, got: usize },
    #[error("{place}: {what}")]
    Check { place: String, what: &'static str },
    #[error("{place}: {source}")]
    Sumcheck { place: String, source: SumcheckError },
    #[error("{place}: {source}")]
    Lookup { place: String, source: LookupError },
    #[error("opening of the committed polynomials with {vars} variables: {source}")]
    Opening { vars: usize, source: PcsError },
}

/// A polynomial the prover is bound to by a commitment, in the order of [`committed_polys`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Committed {
    /// Block `block` of weight `index`, committed in preprocessing (committed mode only): the
    /// padded table cut into `2^h` equal consecutive parts ([`weight_blocks`], often one).
    Param { index: usize, block: usize },
    /// A private input, committed at the start of the proof.
    PrivateInput(usize),
    /// Column block `block` of chunk `chunk` of lookup site `site`: the one-hot `T × 2^k` matrix
    /// cut into blocks of `2^b` consecutive columns ([`block_bits`], often one block), each one polynomial over
    /// (query, column within the block) variables, query variables first.
    Chunk { site: usize, chunk: usize, block: usize },
}

/// The final opening is never made over fewer variables than this when tables would need cutting
/// to stay below it: a `2^12`-entry opening costs a few milliseconds.
pub const OPENING_FLOOR_VARS: usize = 12;

/// The number of variables the final opening aims at. Its cost is a few MSMs of that size (the
/// folds and three quotients), while a table cut into blocks only costs a commitment and a sent
/// value per block; so large tables are cut to fit the size the program pays anyway: the largest
/// private input, or the largest lookup chunk cut into 4-bit column blocks, and at least
/// [`OPENING_FLOOR_VARS`].
fn opening_target(program: &Program, plan: &Plan) -> usize {
    let inputs = program.inputs.iter().filter(|i| !i.public).map(|i| plan.vars(i.reg));
    let chunks = plan.sites.iter().map(|s| s.vars + s.chunk_bits.min(MIN_BLOCK_BITS));
    inputs.chain(chunks).max().unwrap_or(0).max(OPENING_FLOOR_VARS)
}

const MIN_BLOCK_BITS: usize = 4;

/// Column bits of the committed blocks of each lookup site's chunks (see [`Committed::Chunk`]).
///
/// A site's `T × 2^k` one-hot chunk cut into blocks of `2^b` columns costs `2^(k−b)` commitments
/// and as many sent values, and the verifier recombines the chunk's claim itself:
/// `ra(ρ_j, (ρ_hi, ρ_lo)) = Σ_b eq(ρ_hi, b)·ra_b(ρ_j, ρ_lo)`. A chunk is cut only as far as the
/// [`opening_target`] needs, into at most 16 blocks.
pub fn block_bits(program: &Program, plan: &Plan) -> Vec<usize> {
    const MAX_BLOCKS_LOG: usize = 4;
    let target = opening_target(program, plan);
    plan.sites
        .iter()
        .map(|s| {
            let fit = target.saturating_sub(s.vars).max(MIN_BLOCK_BITS);
            fit.max(s.chunk_bits.saturating_sub(MAX_BLOCKS_LOG)).min(s.chunk_bits)
        })
        .collect()
}

/// Per parameter, `h` such that its committed table is cut into `2^h` blocks along its top `h`
/// variables (committed mode; see [`Committed::Param`]): as far as the [`opening_target`] needs,
/// into at most 64 blocks. A claim `w(z) = v` becomes one sent value per block,
/// `v = Σ_b eq(z_hi, b)·w_b(z_lo)`, checked by the verifier.
pub fn weight_blocks(program: &Program, plan: &Plan) -> Vec<usize> {
    const MAX_BLOCKS_LOG: usize = 6;
    let target = opening_target(program, plan);
    program
        .params
        .iter()
        .map(|p| plan.vars(p.reg).saturating_sub(target).min(MAX_BLOCKS_LOG))
        .collect()
}

/// Every committed polynomial with its variable count, in a fixed order: weights (committed mode),
/// private inputs, then each lookup site's chunks.
pub fn committed_polys(
    program: &Program,
    plan: &Plan,
    committed_weights: bool,
) -> Vec<(Committed, usize)> {
    let mut out = Vec::new();
    if committed_weights {
        for ((index, p), h) in program.params.iter().enumerate().zip(weight_blocks(program, plan)) {
            for block in 0..1 << h {
                out.push((Committed::Param { index, block }, plan.vars(p.reg) - h));
            }
        }
    }
    for (i, input) in program.inputs.iter().enumerate() {
        if !input.public {
            out.push((Committed::PrivateInput(i), plan.vars(input.reg)));
        }
    }
    let blocks = block_bits(program, plan);
    for ((s, site), &b) in plan.sites.iter().enumerate().zip(&blocks) {
        for c in 0..site.num_chunks {
            for block in 0..1 << (site.chunk_bits - b) {
                out.push((Committed::Chunk { site: s, chunk: c, block }, site.vars + b));
            }
        }
    }
    out
}

/// Removes repeated points; two claims at one point must agree (`None` otherwise).
pub fn dedupe(claims: Vec<Claim>) -> Option<Vec<Claim>> {
    let mut out: Vec<Claim> = Vec::with_capacity(claims.len());
    for (p, v) in claims {
        match out.iter().find(|(q, _)| *q == p) {
            Some((_, w)) if *w != v => return None,
            Some(_) => {}
            None => out.push((p, v)),
        }
    }
    Some(out)
}

/// A readable name for a step, used in errors.
pub fn place(program: &Program, instr: usize) -> String {
    let i = &program.instrs[instr];
    let name = program.reg(i.dst).and_then(|r| r.name.as_deref()).unwrap_or("");
    format!(
        "instruction {instr} ({} → {}{}{name})",
        i.op.name(),
        i.dst,
        if name.is_empty() { "" } else { " " }
    )
}

/// The output vector's value at the padding of a lookup: the table at all-zero operands.
pub fn padding_value(table: &dyn TableMle<F>) -> Result<F, String> {
    let d = table.domain();
    let a = d.encode(&vec![0; d.arity()]).map_err(|e| e.to_string())?;
    Ok(from_i64(table.eval(a)))
}

/// The lookup output claim for a result claim `(r, v)`: at `r` (or `[0]` for a scalar result)
/// the padded query vector differs from the result only in padding, where it holds `f0`.
pub fn lookup_output_claim(layout: &Layout, point: &[F], value: F, f0: F) -> Claim {
    if layout.num_vars() == 0 {
        (vec![F::zero()], value)
    } else {
        (point.to_vec(), value + f0 * (F::one() - layout.valid(point)))
    }
}

/// Turns an operand claim of a lookup (on the padded query vector) into a claim on the operand
/// register. For a scalar register the query vector is `[x, 0]`, so `x = value / (1 − r)`.
pub fn operand_claim(layout: &Layout, point: &[F], value: F) -> Option<Claim> {
    if layout.num_vars() == 0 {
        let inv = (F::one() - point.first()?).inverse()?;
        Some((Vec::new(), value * inv))
    } else {
        Some((point.to_vec(), value))
    }
}

/// `Σ_d e_d · eq(ρ, src(d))` over the wires of one source, for destination weights `e` (those
/// of [`fold_claims`]; `eq(r, ·)` for one claim): the wiring polynomial at `ρ`.
pub fn wiring_eval(wires: &[(usize, usize, usize)], operand: usize, dest: &[F], rho: &[F]) -> F {
    let erho = eq_evals_serial(rho);
    wires
        .iter()
        .filter(|w| w.1 == operand)
        .map(|&(d, _, s)| {
            dest.get(d).copied().unwrap_or_default() * erho.get(s).copied().unwrap_or_default()
        })
        .sum()
}

/// `2^e` in the field.
pub fn pow2(e: u32) -> F {
    F::from(2u64).pow([u64::from(e)])
}

/// `Ok` when an item holds the expected number of elements.
fn count(place: &str, what: &'static str, expected: usize, got: usize) -> Result<(), TensorError> {
    if expected == got {
        Ok(())
    } else {
        Err(TensorError::Count { place: place.into(), what, expected, got })
    }
}

/// The next items of a proof, checked for kind as they are taken.
struct Stream<'a> {
    items: &'a [Item],
    pos: usize,
}

impl<'a> Stream<'a> {
    fn next(&mut self, expected: &'static str) -> Result<&'a Item, TensorError> {
        let item =
            self.items.get(self.pos).ok_or(TensorError::Truncated { index: self.pos, expected })?;
        self.pos += 1;
        Ok(item)
    }

    fn wrong(&self, expected: &'static str, found: &Item) -> TensorError {
        TensorError::Item { index: self.pos - 1, expected, found: found.kind() }
    }

    fn scalars(
        &mut self,
        n: usize,
        label: &'static str,
        place: &str,
        t: &mut Transcript,
    ) -> Result<Vec<F>, TensorError> {
        let v = match self.next("scalars")? {
            Item::Scalars(v) => v,
            other => return Err(self.wrong("scalars", other)),
        };
        count(place, "scalars", n, v.len())?;
        t.append_scalars(label, v);
        Ok(v.clone())
    }

    fn sumcheck(&mut self) -> Result<&'a crate::verify::sumcheck::SumcheckProof, TensorError> {
        match self.next("sumcheck")? {
            Item::Sumcheck(p) => Ok(p),
            other => Err(self.wrong("sumcheck", other)),
        }
    }

    fn lookup(&mut self) -> Result<&'a LookupReadProof, TensorError> {
        match self.next("lookup")? {
            Item::Lookup(p) => Ok(p),
            other => Err(self.wrong("lookup", other)),
        }
    }

    fn commitments(
        &mut self,
        n: usize,
        place: &str,
    ) -> Result<&'a [HyperKzgCommitment], TensorError> {
        let c = match self.next("commitments")? {
            Item::Commitments(c) => c,
            other => return Err(self.wrong("commitments", other)),
        };
        count(place, "commitments", n, c.len())?;
        Ok(c)
    }

    fn opening(&mut self) -> Result<&'a HyperKzgProof, TensorError> {
        match self.next("opening")? {
            Item::Opening(p) => Ok(p),
            other => Err(self.wrong("opening", other)),
        }
    }
}

/// Absorbs the statement: the key's digest, the public inputs, the outputs. Prover and verifier
/// both call this first.
pub fn absorb_statement(
    t: &mut Transcript,
    digest: &[u8; 32],
    public_inputs: &[Vec<i64>],
    outputs: &[Vec<i64>],
) {
    t.append_bytes("vk_digest", digest);
    t.append_u64("public_inputs", public_inputs.len() as u64);
    for v in public_inputs {
        t.append_scalars("public_input", &v.iter().map(|x| from_i64(*x)).collect::<Vec<_>>());
    }
    t.append_u64("outputs", outputs.len() as u64);
    for v in outputs {
        t.append_scalars("output", &v.iter().map(|x| from_i64(*x)).collect::<Vec<_>>());
    }
}

/// Checks a whole-program proof.
///
/// `tables` holds one table per program table (the caller rebuilds them from the registry and the
/// key's dense entries; each is checked against the key here). `public_inputs` are the program's
/// public inputs in order, `outputs` its claimed outputs.
pub fn verify(
    vk: &VerifyingKey,
    tables: &[&dyn TableMle<F>],
    public_inputs: &[Vec<i64>],
    outputs: &[Vec<i64>],
    proof: &TensorProof,
) -> Result<(), TensorError> {
    verify_in(vk, tables, public_inputs, outputs, proof, &mut Transcript::new(TENSOR_DOMAIN))
}

/// [`verify`] with a recording transcript: the Fiat–Shamir schedule the proof followed, one
/// operation per line (what the schedule snapshots show), once the proof has verified.
pub fn verify_schedule(
    vk: &VerifyingKey,
    tables: &[&dyn TableMle<F>],
    public_inputs: &[Vec<i64>],
    outputs: &[Vec<i64>],
    proof: &TensorProof,
) -> Result<String, TensorError> {
    let mut t = Transcript::recording(TENSOR_DOMAIN);
    verify_in(vk, tables, public_inputs, outputs, proof, &mut t)?;
    Ok(t.schedule_text())
}

fn verify_in(
    vk: &VerifyingKey,
    tables: &[&dyn TableMle<F>],
    public_inputs: &[Vec<i64>],
    outputs: &[Vec<i64>],
    proof: &TensorProof,
    t: &mut Transcript,
) -> Result<(), TensorError> {
    let program = &vk.program;
    let plan = Plan::new(program, tables)?;
    check_key(vk, tables)?;
    let publics: Vec<usize> =
        (0..program.inputs.len()).filter(|&i| program.inputs[i].public).collect();
    if public_inputs.len() != publics.len() {
        return Err(TensorError::InputCount { expected: publics.len(), got: public_inputs.len() });
    }
    for (k, (&i, v)) in publics.iter().zip(public_inputs).enumerate() {
        let info = &program.registers[program.inputs[i].reg.index()];
        let expected = plan.layouts[program.inputs[i].reg.index()].numel();
        if v.len() != expected {
            return Err(TensorError::InputLength { index: k, expected, got: v.len() });
        }
        let (lo, hi) = info.range();
        if let Some(e) = v.iter().position(|x| !(lo..=hi).contains(x)) {
            return Err(TensorError::InputRange {
                index: k,
                element: e,
                value: v[e],
                bits: info.bits,
            });
        }
    }
    if outputs.len() != program.outputs.len() {
        return Err(TensorError::OutputCount {
            expected: program.outputs.len(),
            got: outputs.len(),
        });
    }
    for (k, (r, v)) in program.outputs.iter().zip(outputs).enumerate() {
        let expected = plan.layouts[r.index()].numel();
        if v.len() != expected {
            return Err(TensorError::OutputLength { index: k, expected, got: v.len() });
        }
    }
    let committed_weights = matches!(vk.weights, Weights::Committed(_));
    let polys = committed_polys(program, &plan, committed_weights);
    let blocks = block_bits(program, &plan);
    let wblocks = weight_blocks(program, &plan);
    if let Weights::Committed(cs) = &vk.weights {
        let expected = polys.iter().filter(|(c, _)| matches!(c, Committed::Param { .. })).count();
        if cs.len() != expected {
            return Err(TensorError::Key(format!(
                "{} weight commitments, the program's weight blocks need {expected}",
                cs.len()
            )));
        }
    }

    absorb_statement(t, &vk.digest(), public_inputs, outputs);
    let mut s = Stream { items: &proof.items, pos: 0 };

    // Commitments made by the prover, before any challenge of the walk.
    let mut commitments: Vec<HyperKzgCommitment> = Vec::with_capacity(polys.len());
    for (c, _) in &polys {
        match c {
            Committed::Param { index, block } => {
                match &vk.weights {
                    // Parameter blocks come first in `polys`, in the key's order.
                    Weights::Committed(cs) => {
                        commitments.push(*cs.get(commitments.len()).ok_or_else(|| {
                            TensorError::Key(format!(
                                "no commitment for weight {index} block {block}"
                            ))
                        })?)
                    }
                    Weights::Public(_) => {
                        return Err(TensorError::Key("a public weight listed as committed".into()))
                    }
                }
            }
            Committed::PrivateInput(_) => {
                let c = s.commitments(1, "private input commitment")?[0];
                t.append_point("private_input_commitment", &c);
                commitments.push(c);
            }
            Committed::Chunk { site, chunk, block } => {
                if *chunk == 0 && *block == 0 {
                    let st = &plan.sites[*site];
                    let n = st.num_chunks << (st.chunk_bits - blocks[*site]);
                    let cs = s.commitments(n, &format!("lookup site {site} chunk commitments"))?;
                    for c in cs {
                        t.append_point("lookup_chunk_commitment", c);
                    }
                    commitments.extend_from_slice(cs);
                }
            }
        }
    }
    let poly_index = |c: Committed| polys.iter().position(|(p, _)| *p == c);

    // Output claims.
    let mut claims: Vec<Vec<Claim>> = vec![Vec::new(); program.registers.len()];
    let mut pc_claims: Vec<Vec<Claim>> = vec![Vec::new(); polys.len()];
    for (r, v) in program.outputs.iter().zip(outputs) {
        let l = &plan.layouts[r.index()];
        let point = t.challenge_scalars("output_point", l.num_vars());
        let value = l.evaluate(v, &point);
        claims[r.index()].push((point, value));
    }

    // The walk. Each lookup site's chunk checks wait in `owed` (site, checks) until its end.
    let mut owed: Vec<(usize, PendingChunks)> = Vec::new();
    for (i, instr) in program.instrs.iter().enumerate().rev() {
        let pending = std::mem::take(&mut claims[instr.dst.index()]);
        if pending.is_empty() {
            continue;
        }
        let place = place(program, i);
        let pending = dedupe(pending).ok_or_else(|| TensorError::Check {
            place: place.clone(),
            what: "two claims at one point disagree",
        })?;
        let mut here = if pending.len() > plan.rules[i].takes_claims() {
            vec![merge(&mut s, t, pending, &place)?]
        } else {
            pending
        };
        let lay = |reg: Reg| &plan.layouts[reg.index()];
        match &plan.rules[i] {
            Rule::Linear { a, b, negate_b } => {
                let (r, v) = one_claim(&mut here);
                let e = s.scalars(2, "tensor/operands", &place, t)?;
                let sum = if *negate_b { e[0] - e[1] } else { e[0] + e[1] };
                if sum != v {
                    return Err(TensorError::Check {
                        place,
                        what: "operands do not add up to the result",
                    });
                }
                claims[a.index()].push((r.clone(), e[0]));
                claims[b.index()].push((r, e[1]));
            }
            Rule::Neg { a } => claims[a.index()].extend(here.into_iter().map(|(r, v)| (r, -v))),
            Rule::Mul { a, b } => {
                let (r, v) = one_claim(&mut here);
                let (rho, e) = product(
                    &mut s,
                    t,
                    &place,
                    r.len(),
                    2,
                    vec![Term::product(vec![0, 1])],
                    Some(r),
                    v,
                )?;
                claims[a.index()].push((rho.clone(), e[0]));
                claims[b.index()].push((rho, e[1]));
            }
            Rule::MatMul { a, b, bias, batch, m, k, b_batched, .. } => {
                let (r, v) = one_claim(&mut here);
                let (rb, rm, rn) = (&r[..*batch], &r[*batch..batch + m], &r[batch + m..]);
                let mut v = v;
                if let Some(c) = bias {
                    let beta = s.scalars(1, "tensor/bias", &place, t)?[0];
                    v -= lay(instr.dst).valid_rows(&r) * beta;
                    claims[c.index()].push((rn.to_vec(), beta));
                }
                if *b_batched {
                    let (rho, e) = product(
                        &mut s,
                        t,
                        &place,
                        batch + k,
                        3,
                        vec![Term::product(vec![0, 1, 2])],
                        None,
                        v,
                    )?;
                    if e[2] != eq_eval(rb, &rho[..*batch]) {
                        return Err(TensorError::Check {
                            place,
                            what: "batch weight is not eq(r_batch, ρ)",
                        });
                    }
                    let (pb, pk) = rho.split_at(*batch);
                    claims[a.index()].push(([pb, rm, pk].concat(), e[0]));
                    claims[b.index()].push(([pb, pk, rn].concat(), e[1]));
                } else {
                    let (rho, e) = product(
                        &mut s,
                        t,
                        &place,
                        *k,
                        2,
                        vec![Term::product(vec![0, 1])],
                        None,
                        v,
                    )?;
                    claims[a.index()].push(([rb, rm, &rho].concat(), e[0]));
                    claims[b.index()].push(([&rho, rn].concat(), e[1]));
                }
            }
            Rule::Sum { src, summed } => {
                let (r, v) = one_claim(&mut here);
                let rounds = summed.iter().filter(|x| **x).count();
                let (rho, e) =
                    product(&mut s, t, &place, rounds, 1, vec![Term::product(vec![0])], None, v)?;
                claims[src.index()].push((interleave(summed, &r, &rho), e[0]));
            }
            Rule::Relabel { src, map } => {
                for (r, v) in here {
                    let c = map.claim(lay(instr.dst), &r, v).ok_or_else(|| TensorError::Check {
                        place: place.clone(),
                        what: "the point zeroes the broadcast's validity factor",
                    })?;
                    claims[src.index()].push(c);
                }
            }
            Rule::Move { srcs, indices } => {
                let idx_values = match indices {
                    None => None,
                    Some(reg) => {
                        Some(known_values(program, *reg, &publics, public_inputs).ok_or_else(
                            || TensorError::Check {
                                place: place.clone(),
                                what: "gather indices are not known",
                            },
                        )?)
                    }
                };
                let wires = layout::wiring(program, &instr.op, instr.dst, idx_values.as_deref())
                    .map_err(|_| TensorError::Check {
                        place: place.clone(),
                        what: "the wiring does not fit the shapes",
                    })?;
                // Several claims fold into one: Σ_j γ^j v_j with wiring Σ_j γ^j W(r_j, ·).
                let (v, dest) = fold_claims(&here, t);
                let contributions = if srcs.len() == 1 {
                    vec![v]
                } else {
                    let c = s.scalars(srcs.len(), "tensor/contributions", &place, t)?;
                    if c.iter().sum::<F>() != v {
                        return Err(TensorError::Check {
                            place,
                            what: "source contributions do not add up to the result",
                        });
                    }
                    c
                };
                for (k, (src, c)) in srcs.iter().zip(contributions).enumerate() {
                    let n = lay(*src).num_vars();
                    let (rho, e) =
                        product(&mut s, t, &place, n, 2, vec![Term::product(vec![0, 1])], None, c)?;
                    if e[1] != wiring_eval(&wires, k, &dest, &rho) {
                        return Err(TensorError::Check {
                            place,
                            what: "wiring polynomial evaluation is wrong",
                        });
                    }
                    claims[src.index()].push((rho, e[0]));
                }
            }
            Rule::Lookup { site, operands } => {
                let (r, v) = one_claim(&mut here);
                let table = tables[plan.sites[*site].table];
                let f0 = padding_value(table).map_err(|_| TensorError::Check {
                    place: place.clone(),
                    what: "the table has no all-zero address",
                })?;
                let (point, value) = lookup_output_claim(lay(instr.dst), &r, v, f0);
                let o = lookup(&mut s, t, &place, &plan, tables, *site, (point, value))?;
                for (reg, val) in operands.iter().zip(&o.operand_values) {
                    let c = operand_claim(lay(*reg), &o.operand_point, *val).ok_or_else(|| {
                        TensorError::Check {
                            place: place.clone(),
                            what: "degenerate operand point",
                        }
                    })?;
                    claims[reg.index()].push(c);
                }
                owed.push((*site, o.pending));
            }
            Rule::Shr { site, src, shift, bias, scale } => {
                let (r, v) = one_claim(&mut here);
                let u = s.scalars(1, "tensor/remainder", &place, t)?[0];
                let unscale = pow2(u32::from(*scale))
                    .inverse()
                    .expect("2^k is invertible in a prime field of odd order");
                let x = pow2(u32::from(*shift)) * v + u * unscale - from_i64(*bias);
                let point = if r.is_empty() { vec![F::zero()] } else { r.clone() };
                let o = lookup(&mut s, t, &place, &plan, tables, *site, (point, u))?;
                claims[src.index()].push((r, x));
                owed.push((*site, o.pending));
            }
        }
    }

    // Every lookup's chunk checks at once; they leave one claim on a combination of the chunks.
    let mut combos: Vec<Combo> = Vec::new();
    if !owed.is_empty() {
        let refs: Vec<&PendingChunks> = owed.iter().map(|(_, p)| p).collect();
        let proof = ChunkCheckProof { sites: s.sumcheck()?.clone(), stack: s.sumcheck()?.clone() };
        let opening = verify_chunk_checks(&refs, &proof, t)
            .map_err(|source| TensorError::Lookup { place: "lookup chunk checks".into(), source })?
            .ok_or_else(|| TensorError::Check {
                place: "lookup chunk checks".into(),
                what: "no chunk opening for a nonempty batch",
            })?;
        let sites: Vec<(usize, usize)> =
            owed.iter().map(|(site, p)| (*site, p.num_vars())).collect();
        combos.push(chunk_combo(&plan, &blocks, &sites, &opening, &poly_index).0);
    }

    // Leaves: inputs, weights, constants.
    let mut public_k = 0;
    for (i, input) in program.inputs.iter().enumerate() {
        let pending = std::mem::take(&mut claims[input.reg.index()]);
        if input.public {
            let data = &public_inputs[public_k];
            public_k += 1;
            check_known(
                &plan.layouts[input.reg.index()],
                data,
                pending,
                &format!("public input {i}"),
            )?;
        } else if let Some(p) = poly_index(Committed::PrivateInput(i)) {
            pc_claims[p].extend(pending);
        }
    }
    for (i, param) in program.params.iter().enumerate() {
        let pending = std::mem::take(&mut claims[param.reg.index()]);
        match &vk.weights {
            Weights::Public(ws) => {
                let data = ws
                    .get(i)
                    .ok_or_else(|| TensorError::Key(format!("no data for parameter {i}")))?;
                let l = &plan.layouts[param.reg.index()];
                if data.len() != l.numel() {
                    return Err(TensorError::Key(format!(
                        "parameter {i}: {} values, its shape has {}",
                        data.len(),
                        l.numel()
                    )));
                }
                check_known(l, data, pending, &format!("weight {i}"))?;
            }
            Weights::Committed(_) => {
                for claim in pending {
                    combos.extend(file_weight_claim(
                        &mut pc_claims,
                        &poly_index,
                        (i, wblocks[i]),
                        claim,
                    ));
                }
            }
        }
    }
    for (i, c) in program.consts.iter().enumerate() {
        let pending = std::mem::take(&mut claims[c.reg.index()]);
        check_known(&plan.layouts[c.reg.index()], &c.data, pending, &format!("constant {i}"))?;
    }

    open_committed(&mut s, t, vk, &polys, &commitments, pc_claims, combos)?;
    if s.pos != s.items.len() {
        return Err(TensorError::TrailingItems { extra: s.items.len() - s.pos });
    }
    Ok(())
}

/// Checks the key's program-local table entries against the supplied tables.
fn check_key(vk: &VerifyingKey, tables: &[&dyn TableMle<F>]) -> Result<(), TensorError> {
    if vk.tables.len() != tables.len() {
        return Err(TensorError::Key(format!(
            "{} table entries for {} tables",
            vk.tables.len(),
            tables.len()
        )));
    }
    for (i, (entries, t)) in vk.tables.iter().zip(tables).enumerate() {
        if let Some(local) = entries {
            let bits = t.domain().address_bits();
            let entries = &local.entries;
            if t.domain() != local.domain
                || bits > 16
                || entries.len() != 1 << bits
                || (0..entries.len()).any(|a| t.eval(a as u64) != entries[a])
            {
                return Err(TensorError::Key(format!(
                    "table t{i}: the supplied table differs from the key's entries"
                )));
            }
        }
    }
    match &vk.weights {
        Weights::Public(ws) if ws.len() != vk.program.params.len() => Err(TensorError::Key(
            format!("{} weight tensors for {} parameters", ws.len(), vk.program.params.len()),
        )),
        _ => Ok(()),
    }
}

/// The values of a constant or public-input register, if the verifier knows them.
pub fn known_values(
    program: &Program,
    reg: Reg,
    publics: &[usize],
    public_inputs: &[Vec<i64>],
) -> Option<Vec<i64>> {
    if let Some(c) = program.consts.iter().find(|c| c.reg == reg) {
        return Some(c.data.clone());
    }
    let k = publics.iter().position(|&i| program.inputs[i].reg == reg)?;
    public_inputs.get(k).cloned()
}

/// The point of a summed register: kept variables from `r`, summed ones from `rho`, in order.
pub fn interleave(summed: &[bool], r: &[F], rho: &[F]) -> Vec<F> {
    let (mut a, mut b) = (r.iter(), rho.iter());
    summed
        .iter()
        .map(|&s| if s { b.next() } else { a.next() }.copied().unwrap_or_default())
        .collect()
}

fn check_known(
    layout: &Layout,
    data: &[i64],
    claims: Vec<Claim>,
    place: &str,
) -> Result<(), TensorError> {
    for (p, v) in claims {
        if p.len() != layout.num_vars() || layout.evaluate(data, &p) != v {
            return Err(TensorError::Check {
                place: place.into(),
                what: "claim does not match the known data",
            });
        }
    }
    Ok(())
}

/// Merges the claims on one register into one (verifier side of [`crate::tensor`]'s merge).
/// Merges two or more claims (distinct points) on one register into one.
fn merge(
    s: &mut Stream<'_>,
    t: &mut Transcript,
    claims: Vec<Claim>,
    place: &str,
) -> Result<Claim, TensorError> {
    let (points, values): (Vec<_>, Vec<_>) = claims.into_iter().unzip();
    let gamma = ClaimReduction::draw_gamma(&values, t);
    let red = ClaimReduction { points, values, gamma };
    let proof = s.sumcheck()?;
    let out = verify_sumcheck(&[&red], proof, t).map_err(|source| TensorError::Sumcheck {
        place: format!("{place}: claim merge"),
        source,
    })?;
    Ok((out.point, out.final_evals[0][0]))
}

/// The one claim a rule that takes one claim is left with ([`Rule::takes_claims`]).
pub fn one_claim(here: &mut Vec<Claim>) -> Claim {
    debug_assert_eq!(here.len(), 1, "claims beyond a rule's takes_claims are merged first");
    here.pop().expect("a visited register has a claim, merged to one for this rule")
}

/// Several claims `(r_j, v_j)` on a wiring's result folded into one: `Σ_j γ^j v_j` and the
/// destination weights `Σ_j γ^j eq(r_j, ·)` that its wiring polynomial is built from, with `γ`
/// drawn after the values are absorbed (as a merge draws it). A single claim draws nothing.
pub fn fold_claims(claims: &[Claim], t: &mut Transcript) -> (F, Vec<F>) {
    if let [(r, v)] = claims {
        return (*v, eq_evals_serial(r));
    }
    let values: Vec<F> = claims.iter().map(|c| c.1).collect();
    let weights = crate::poly::powers(ClaimReduction::draw_gamma(&values, t), claims.len());
    let value = values.iter().zip(&weights).map(|(v, w)| *w * v).sum();
    let mut folded = vec![F::zero(); claims.first().map_or(1, |(r, _)| 1 << r.len())];
    for ((r, _), g) in claims.iter().zip(&weights) {
        for (e, x) in folded.iter_mut().zip(eq_evals_serial(r)) {
            *e += *g * x;
        }
    }
    (value, folded)
}

/// A product sumcheck over `rounds` variables, or for zero rounds the factors sent directly.
#[allow(clippy::too_many_arguments, reason = "the claim's fields, spelled out at each call site")]
fn product(
    s: &mut Stream<'_>,
    t: &mut Transcript,
    place: &str,
    rounds: usize,
    num_polys: usize,
    terms: Vec<Term>,
    eq_point: Option<Vec<F>>,
    claim: F,
) -> Result<(Vec<F>, Vec<F>), TensorError> {
    let c = ProductClaim { num_vars: rounds, num_polys, terms, eq_point, claim };
    if rounds == 0 {
        let e = s.scalars(num_polys, "tensor/direct", place, t)?;
        if c.expected_output(&[], &e) != claim {
            return Err(TensorError::Check {
                place: place.into(),
                what: "direct evaluation does not match the claim",
            });
        }
        return Ok((Vec::new(), e));
    }
    let proof = s.sumcheck()?;
    let out = verify_sumcheck(&[&c], proof, t)
        .map_err(|source| TensorError::Sumcheck { place: place.into(), source })?;
    Ok((out.point, out.final_evals[0].clone()))
}

/// A lookup site's reads (its chunk checks are returned pending).
#[allow(clippy::too_many_arguments, reason = "the walk's state, passed through")]
fn lookup(
    s: &mut Stream<'_>,
    t: &mut Transcript,
    place: &str,
    plan: &Plan,
    tables: &[&dyn TableMle<F>],
    site: usize,
    (point, value): Claim,
) -> Result<LookupReads, TensorError> {
    let proof = s.lookup()?;
    let st = &plan.sites[site];
    let d = plan.decomps[st.table].as_ref().expect("the plan decomposes every table a site uses");
    let stmt = LookupStatement {
        table: tables[st.table],
        num_vars: st.vars,
        output_point: point,
        output_value: value,
    };
    let mut out = verify_lookup_reads_with(&[stmt], &[d], proof, t)
        .map_err(|source| TensorError::Lookup { place: place.into(), source })?;
    Ok(out.remove(0))
}

/// A claim on a combination of committed polynomials: `value = Σ weight·P_poly(point)`. The final
/// reduction takes it as one instance, so the terms' own values are never sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Combo {
    pub value: F,
    pub terms: Vec<ComboTerm>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComboTerm {
    /// Index of the committed polynomial.
    pub poly: usize,
    pub point: Vec<F>,
    pub weight: F,
}

/// Files a claim on weight `index`, cut into `2^h` blocks along its top variables
/// ([`weight_blocks`]): with `h = 0` the claim itself, else returns the combination
/// `v = Σ_b eq(z_hi, b)·w_b(z_lo)` over its blocks (term `b` on block `b`).
pub fn file_weight_claim(
    pc: &mut [Vec<Claim>],
    poly_index: &dyn Fn(Committed) -> Option<usize>,
    (index, h): (usize, usize),
    (z, v): Claim,
) -> Option<Combo> {
    let block = |block| poly_index(Committed::Param { index, block });
    if h == 0 || z.len() < h {
        if let Some(p) = block(0) {
            pc[p].push((z, v));
        }
        return None;
    }
    let (hi, lo) = z.split_at(h);
    let terms = eq_evals_serial(hi)
        .into_iter()
        .enumerate()
        .filter_map(|(b, weight)| {
            block(b).map(|poly| ComboTerm { poly, point: lo.to_vec(), weight })
        })
        .collect();
    Some(Combo { value: v, terms })
}

/// The chunk opening as a claim on the committed chunk blocks: chunk `c` of a site, cut into
/// `2^(k−b)` column blocks, is `ra_c(ρ_j, (ρ_hi, ρ_lo)) = Σ_blk eq(ρ_hi, blk)·ra_{c,blk}(ρ_j, ρ_lo)`.
/// `sites` lists each owing site with its chunk polynomials' variables, in the opening's order.
/// Also returns each term's `(site, chunk, block)`.
pub fn chunk_combo(
    plan: &Plan,
    blocks: &[usize],
    sites: &[(usize, usize)],
    opening: &ChunkOpening,
    poly_index: &dyn Fn(Committed) -> Option<usize>,
) -> (Combo, Vec<(usize, usize, usize)>) {
    let (mut terms, mut at) = (Vec::new(), Vec::new());
    for (&(site, n), weights) in sites.iter().zip(&opening.weights) {
        let (k, b) = (plan.sites[site].chunk_bits, blocks[site]);
        let (rows, address) = opening.point[..n].split_at(n - k);
        let (hi, lo) = address.split_at(k - b);
        let point = [rows, lo].concat();
        let eq_hi = eq_evals_serial(hi);
        for (chunk, w) in weights.iter().enumerate() {
            for (block, e) in eq_hi.iter().enumerate() {
                if let Some(poly) = poly_index(Committed::Chunk { site, chunk, block }) {
                    terms.push(ComboTerm { poly, point: point.clone(), weight: *w * e });
                    at.push((site, chunk, block));
                }
            }
        }
    }
    (Combo { value: opening.value, terms }, at)
}

/// The final step: every claim on a committed polynomial, reduced to one point and opened at once.
///
/// A polynomial of `n_i < n` variables is opened as its table zero-extended to `2^n` entries, which
/// has the same HyperKZG commitment; a claim `p(z) = v` is the claim `p'(0…0, z) = v` on it. So one
/// batched reduction sumcheck over `n` variables brings every claim to one point `ρ`, and one batch
/// opening at `ρ` closes them all.
fn open_committed(
    s: &mut Stream<'_>,
    t: &mut Transcript,
    vk: &VerifyingKey,
    polys: &[(Committed, usize)],
    commitments: &[HyperKzgCommitment],
    pc_claims: Vec<Vec<Claim>>,
    combos: Vec<Combo>,
) -> Result<(), TensorError> {
    let n = opening_vars(polys, &pc_claims, &combos);
    let mut reductions: Vec<Reduction> = Vec::new();
    for (p, claims) in pc_claims.into_iter().enumerate() {
        if claims.is_empty() {
            continue;
        }
        let claims = dedupe(extend_claims(claims, n)).ok_or_else(|| TensorError::Check {
            place: format!("committed polynomial {p}"),
            what: "two claims at one point disagree",
        })?;
        let (points, values): (Vec<_>, Vec<_>) = claims.into_iter().unzip();
        let gamma = ClaimReduction::draw_gamma(&values, t);
        reductions.push(Reduction::Plain(p, ClaimReduction { points, values, gamma }));
    }
    if reductions.is_empty() && combos.is_empty() {
        return Ok(());
    }
    if n == 0 {
        // Constants: dedupe left one claim each, at the empty point (a combination has variables).
        if !combos.is_empty() {
            return Err(TensorError::Check {
                place: "final opening".into(),
                what: "a combination claim on polynomials without variables",
            });
        }
        let (comms, values): (Vec<_>, Vec<_>) = reductions
            .iter()
            .filter_map(|r| match r {
                Reduction::Plain(p, c) => Some((commitments[*p], c.values[0])),
                Reduction::Combo(_) => None,
            })
            .unzip();
        let proof = s.opening()?;
        return batch_verify(&vk.pcs, &comms, &[], &values, proof, t)
            .map_err(|source| TensorError::Opening { vars: n, source });
    }
    reductions.extend(combos.into_iter().map(|c| Reduction::Combo(c.extended(n))));
    let refs: Vec<&dyn SumcheckClaim> = reductions.iter().map(Reduction::claim).collect();
    let proof = s.sumcheck()?;
    let out = verify_sumcheck_deferred(&refs, proof, t)
        .map_err(|source| TensorError::Sumcheck { place: "opening reduction".into(), source })?;
    let (opened, weights) = opening_weights(&reductions, &out.point, out.gamma);
    let comms: Vec<HyperKzgCommitment> = opened.iter().map(|p| commitments[*p]).collect();
    let proof = s.opening()?;
    verify_combination(&vk.pcs, &comms, &weights, &out.point, out.claim, proof, t)
        .map_err(|source| TensorError::Opening { vars: n, source })
}

/// One instance of the final reduction: a polynomial's own claims, or a combination claim.
pub enum Reduction {
    Plain(usize, ClaimReduction),
    Combo(Combo),
}

impl Reduction {
    pub fn claim(&self) -> &dyn SumcheckClaim {
        match self {
            Reduction::Plain(_, c) => c,
            Reduction::Combo(c) => c,
        }
    }
}

impl Combo {
    /// The terms' points zero-extended to `n` variables, as [`extend_claims`] does for a claim.
    pub fn extended(mut self, n: usize) -> Self {
        for term in &mut self.terms {
            let mut p = vec![F::zero(); n.saturating_sub(term.point.len())];
            p.append(&mut term.point);
            term.point = p;
        }
        self
    }
}

/// `Σ_m weight_m·Σ_x eq(z_m, x)·P_m(x) = value`, the reduction of a combination claim: the
/// verifier evaluates every `eq` itself, so its final claim is linear in the `P_m(ρ)`.
impl SumcheckClaim for Combo {
    fn num_rounds(&self) -> usize {
        self.terms.first().map_or(0, |t| t.point.len())
    }
    fn degree(&self) -> usize {
        2
    }
    fn input_claim(&self) -> F {
        self.value
    }
    fn num_final_evals(&self) -> usize {
        self.terms.len()
    }
    fn check_shape(&self) -> Result<(), String> {
        if self.terms.is_empty() {
            return Err("a combination claim without terms".into());
        }
        let n = self.num_rounds();
        match self.terms.iter().position(|t| t.point.len() != n) {
            Some(i) => {
                Err(format!("term {i} has {} coordinates, expected {n}", self.terms[i].point.len()))
            }
            None => Ok(()),
        }
    }
    fn expected_output(&self, point: &[F], evals: &[F]) -> F {
        self.terms.iter().zip(evals).map(|(t, e)| t.weight * eq_eval(&t.point, point) * e).sum()
    }
}

/// The opened polynomials (in order of first appearance) and each one's weight in the reduction's
/// final claim: instance `i` contributes `γ^i·expected_output_i`, linear in its evaluations, so the
/// final claim is one evaluation of `Σ_p w_p·P_p` at `ρ` and no `P_p(ρ)` needs to be sent.
pub fn opening_weights(reductions: &[Reduction], point: &[F], gamma: F) -> (Vec<usize>, Vec<F>) {
    let (mut polys, mut weights): (Vec<usize>, Vec<F>) = (Vec::new(), Vec::new());
    let mut slot = std::collections::HashMap::new();
    let mut add = |p: usize, w: F| {
        let i = *slot.entry(p).or_insert_with(|| {
            polys.push(p);
            weights.push(F::zero());
            polys.len() - 1
        });
        weights[i] += w;
    };
    let mut coeff = F::one();
    for r in reductions {
        match r {
            Reduction::Plain(p, c) => add(*p, coeff * c.expected_output(point, &[F::one()])),
            Reduction::Combo(c) => {
                for t in &c.terms {
                    add(t.poly, coeff * t.weight * eq_eval(&t.point, point));
                }
            }
        }
        coeff *= gamma;
    }
    (polys, weights)
}

/// The variables of the final opening: the largest committed polynomial that has a claim.
pub fn opening_vars<'a>(
    polys: &[(Committed, usize)],
    pc_claims: &[Vec<Claim>],
    combos: impl IntoIterator<Item = &'a Combo>,
) -> usize {
    let claimed = polys.iter().zip(pc_claims).filter(|(_, c)| !c.is_empty()).map(|(p, _)| p.1);
    let combined = combos.into_iter().flat_map(|c| &c.terms).map(|t| polys[t.poly].1);
    claimed.chain(combined).max().unwrap_or(0)
}

/// Claims on a polynomial as claims on its table zero-extended to `n` variables: `(0…0, z)`.
pub fn extend_claims(claims: Vec<Claim>, n: usize) -> Vec<Claim> {
    claims
        .into_iter()
        .map(|(z, v)| {
            let mut p = vec![F::zero(); n.saturating_sub(z.len())];
            p.extend(z);
            (p, v)
        })
        .collect()
}
