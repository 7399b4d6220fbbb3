//! The whole-program prover: preprocessing ([`setup`]) and the backward claim walk ([`prove`]).
//!
//! It mirrors [`crate::verify::tensor`] step for step (that module documents the protocol); the
//! shared [`Plan`] fixes the steps, so the two sides cannot disagree on what comes next.

use std::time::{Duration, Instant};

use ark_ff::{Field, Zero};
use rayon::prelude::*;

use atlas_vm::{ParamData, Program, Reg, TableError, TableMle, Trace};

use crate::field::{from_i64, F};
use crate::lookup::{prove_chunk_checks, prove_lookup_reads, LookupWitness};
use crate::pcs::hyperkzg::Opening;
use crate::pcs::{CommitmentScheme, HyperKzg, HyperKzgProverKey, PcsError, Srs};
use crate::poly::{eq_evals, MultilinearPoly};
use crate::sumcheck::{
    prove_sumcheck, prove_sumcheck_deferred, ProductSumcheck, ReductionSumcheck, SumOf,
    SumcheckInstance,
};
use crate::transcript::Transcript;
use crate::verify::lookup::{LookupReads, PendingChunks};
use crate::verify::sumcheck::{ClaimReduction, Term};
use crate::verify::tensor::layout::Layout;
use crate::verify::tensor::{
    absorb_statement, block_bits, chunk_combo, committed_polys, dedupe, extend_claims,
    file_weight_claim, fold_claims, interleave, known_values, layout, lookup_output_claim,
    one_claim, opening_vars, opening_weights, operand_claim, padding_value, place, pow2,
    weight_blocks, Claim, Combo, Committed, Item, LocalTable, Plan, Reduction, Rule, TensorError,
    TensorProof, VerifyingKey, Weights, TENSOR_DOMAIN,
};

/// How the verifier learns the weights (see [`Weights`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeightMode {
    Committed,
    Public,
}

/// Why a proof could not be made. Every variant is a problem with the program, its inputs or the
/// setup — an honest prover with a consistent trace never fails otherwise.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProveError {
    #[error(transparent)]
    Plan(#[from] TensorError),
    #[error("parameter {index} ({reg}) has no bound weight data")]
    UnboundWeight { index: usize, reg: Reg },
    #[error("the SRS supports {max} variables, this program needs {needed}")]
    SrsTooSmall { needed: usize, max: usize },
    #[error("commitment: {0}")]
    Pcs(#[from] PcsError),
    #[error("the trace does not fit the program: {0}")]
    Trace(String),
    #[error("lookup site {site}: {error}")]
    Lookup { site: usize, error: TableError },
    #[error("internal: {0}")]
    Internal(String),
}

/// What the prover holds for one compiled program.
pub struct ProvingKey {
    pub vk: VerifyingKey,
    pub pcs: HyperKzgProverKey,
    /// The weights, one row-major vector per parameter.
    weights: Vec<Vec<i64>>,
}

/// The number of SRS variables the program needs: the largest committed polynomial.
pub fn required_vars(
    program: &Program,
    tables: &[&dyn TableMle<F>],
    mode: WeightMode,
) -> Result<usize, ProveError> {
    Ok(plan_vars(program, &Plan::new(program, tables)?, mode))
}

fn plan_vars(program: &Program, plan: &Plan, mode: WeightMode) -> usize {
    committed_polys(program, plan, mode == WeightMode::Committed)
        .iter()
        .map(|p| p.1)
        .max()
        .unwrap_or(0)
}

/// Preprocessing: checks the program, commits to the weights (committed mode) and builds both
/// keys. `local_tables` holds the entries of each program-local table (`None` for registry tables).
pub fn setup(
    program: &Program,
    tables: &[&dyn TableMle<F>],
    local_tables: Vec<Option<LocalTable>>,
    srs: &Srs,
    mode: WeightMode,
) -> Result<ProvingKey, ProveError> {
    let plan = Plan::new(program, tables)?;
    let needed = plan_vars(program, &plan, mode);
    if needed > srs.max_num_vars() {
        return Err(ProveError::SrsTooSmall { needed, max: srs.max_num_vars() });
    }
    let pcs = srs.prover_key(needed)?;
    let weights = program
        .params
        .iter()
        .enumerate()
        .map(|(index, p)| match &p.data {
            ParamData::Inline(d) => Ok(d.clone()),
            ParamData::External { .. } => Err(ProveError::UnboundWeight { index, reg: p.reg }),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let vk_weights = match mode {
        WeightMode::Public => Weights::Public(weights.clone()),
        WeightMode::Committed => {
            let mut cs = Vec::new();
            for ((p, w), h) in
                program.params.iter().zip(&weights).zip(weight_blocks(program, &plan))
            {
                let padded = plan.layouts[p.reg.index()].pad(w);
                for block in padded.chunks(padded.len() >> h) {
                    cs.push(HyperKzg::commit(&pcs, &MultilinearPoly::I64(block.to_vec()))?);
                }
            }
            Weights::Committed(cs)
        }
    };
    let mut stripped = program.clone();
    for (i, p) in stripped.params.iter_mut().enumerate() {
        p.data = ParamData::External { key: format!("param{i}") };
    }
    let vk = VerifyingKey {
        program: stripped,
        tables: local_tables,
        weights: vk_weights,
        pcs: srs.verifier_key(),
    };
    Ok(ProvingKey { vk, pcs, weights })
}

/// Wall-clock time per proving stage.
pub type Timings = Vec<(&'static str, Duration)>;

/// Told `(stage, done, total)` as the prover goes: `commit` per committed polynomial, `walk` per
/// instruction, `open` at its start and end. For progress bars; it must be cheap.
pub type Progress<'a> = &'a dyn Fn(&'static str, usize, usize);

/// Proves that `trace` is the execution of the key's program on `inputs` (all inputs, in program
/// order; the public ones become part of the statement).
pub fn prove(
    pk: &ProvingKey,
    tables: &[&dyn TableMle<F>],
    inputs: &[Vec<i64>],
    trace: &Trace,
) -> Result<(TensorProof, Timings), ProveError> {
    prove_with_progress(pk, tables, inputs, trace, &|_, _, _| {})
}

/// [`prove`], reporting its progress.
pub fn prove_with_progress(
    pk: &ProvingKey,
    tables: &[&dyn TableMle<F>],
    inputs: &[Vec<i64>],
    trace: &Trace,
    progress: Progress<'_>,
) -> Result<(TensorProof, Timings), ProveError> {
    let mut timings = Vec::new();
    let mut clock = Instant::now();
    let mut lap = |name: &'static str, timings: &mut Timings| {
        timings.push((name, clock.elapsed()));
        clock = Instant::now();
    };
    let program = &pk.vk.program;
    let plan = Plan::new(program, tables)?;
    if trace.values.len() != program.registers.len() {
        return Err(ProveError::Trace(format!(
            "{} registers in the trace, {} in the program",
            trace.values.len(),
            program.registers.len()
        )));
    }
    if inputs.len() != program.inputs.len() {
        return Err(ProveError::Trace(format!(
            "{} inputs given, the program takes {}",
            inputs.len(),
            program.inputs.len()
        )));
    }
    for (r, v) in trace.values.iter().enumerate() {
        if v.len() != plan.layouts[r].numel() {
            return Err(ProveError::Trace(format!("register r{r} has {} values", v.len())));
        }
    }
    let committed_weights = matches!(pk.vk.weights, Weights::Committed(_));
    let polys = committed_polys(program, &plan, committed_weights);
    let blocks = block_bits(program, &plan);
    let publics: Vec<usize> =
        (0..program.inputs.len()).filter(|&i| program.inputs[i].public).collect();
    let public_inputs: Vec<Vec<i64>> = publics.iter().map(|&i| inputs[i].clone()).collect();
    let outputs: Vec<Vec<i64>> =
        program.outputs.iter().map(|o| trace.values[o.index()].clone()).collect();

    let mut t = Transcript::new(TENSOR_DOMAIN);
    absorb_statement(&mut t, &pk.vk.digest(), &public_inputs, &outputs);
    let mut p = Prover { items: Vec::new(), t };

    // Lookup witnesses, then every commitment the prover makes.
    let witnesses = plan
        .sites
        .iter()
        .enumerate()
        .map(|(s, site)| site_witness(program, &plan, tables, &trace.values, s, site.instr))
        .collect::<Result<Vec<_>, _>>()?;
    // Each chunk's column per query (computed once by the witness): committed, sent as block
    // values, opened.
    let chunk_idx: Vec<&[Vec<usize>]> = witnesses.iter().map(|sw| sw.witness.chunks()).collect();
    // Each committed weight's padded table, once.
    let weight_tables: Vec<Vec<i64>> = if committed_weights {
        program
            .params
            .iter()
            .zip(&pk.weights)
            .map(|(p, w)| plan.layouts[p.reg.index()].pad(w))
            .collect()
    } else {
        Vec::new()
    };
    let mut commitments = Vec::with_capacity(polys.len());
    for (k, (c, _)) in polys.iter().enumerate() {
        progress("commit", k, polys.len());
        match c {
            Committed::Param { .. } => match &pk.vk.weights {
                // Parameter blocks come first in `polys`, in the key's order.
                Weights::Committed(cs) => {
                    commitments.push(*cs.get(commitments.len()).ok_or_else(|| {
                        ProveError::Internal("a weight block has no commitment".into())
                    })?)
                }
                Weights::Public(_) => {
                    return Err(ProveError::Internal("public weight listed as committed".into()))
                }
            },
            Committed::PrivateInput(i) => {
                let reg = program.inputs[*i].reg;
                let poly =
                    MultilinearPoly::I64(plan.layouts[reg.index()].pad(&trace.values[reg.index()]));
                let c = HyperKzg::commit(&pk.pcs, &poly)?;
                p.t.append_point("private_input_commitment", &c);
                p.items.push(Item::Commitments(vec![c]));
                commitments.push(c);
            }
            Committed::Chunk { site, chunk, block } => {
                if *chunk == 0 && *block == 0 {
                    let w = &witnesses[*site].witness;
                    let kb = w.decomposition().chunk_bits as usize;
                    let cs = chunk_idx[*site]
                        .iter()
                        .map(|idx| {
                            HyperKzg::commit_one_hot_blocks(
                                &pk.pcs,
                                idx,
                                1 << kb,
                                1 << blocks[*site],
                            )
                        })
                        .collect::<Result<Vec<_>, _>>()?
                        .concat();
                    for c in &cs {
                        p.t.append_point("lookup_chunk_commitment", c);
                    }
                    commitments.extend_from_slice(&cs);
                    p.items.push(Item::Commitments(cs));
                }
            }
        }
    }
    lap("commit", &mut timings);
    let poly_index = |c: Committed| polys.iter().position(|(q, _)| *q == c);

    let padded = |r: Reg| plan.layouts[r.index()].pad(&trace.values[r.index()]);
    let mut claims: Vec<Vec<Claim>> = vec![Vec::new(); program.registers.len()];
    let mut pc_claims: Vec<Vec<Claim>> = vec![Vec::new(); polys.len()];
    for r in &program.outputs {
        let l = &plan.layouts[r.index()];
        let point = p.t.challenge_scalars("output_point", l.num_vars());
        let value = MultilinearPoly::I64(padded(*r)).evaluate(&point);
        claims[r.index()].push((point, value));
    }

    // Each lookup site's chunk checks wait in `owed` (site, checks) until the walk's end.
    let mut owed: Vec<(usize, PendingChunks)> = Vec::new();
    for (i, instr) in program.instrs.iter().enumerate().rev() {
        progress("walk", program.instrs.len() - 1 - i, program.instrs.len());
        let pending = std::mem::take(&mut claims[instr.dst.index()]);
        if pending.is_empty() {
            continue;
        }
        let place = place(program, i);
        let pending = dedupe(pending).ok_or_else(|| {
            ProveError::Internal(format!("{place}: two claims at one point disagree"))
        })?;
        let mut here = if pending.len() > plan.rules[i].takes_claims() {
            vec![p.merge(MultilinearPoly::I64(padded(instr.dst)), pending)]
        } else {
            pending
        };
        let lay = |reg: Reg| &plan.layouts[reg.index()];
        let eval = |reg: Reg, point: &[F]| MultilinearPoly::I64(padded(reg)).evaluate(point);
        match &plan.rules[i] {
            Rule::Linear { a, b, .. } => {
                let (r, _) = one_claim(&mut here);
                let e = vec![eval(*a, &r), eval(*b, &r)];
                p.send("tensor/operands", &e);
                claims[a.index()].push((r.clone(), e[0]));
                claims[b.index()].push((r, e[1]));
            }
            Rule::Neg { a } => claims[a.index()].extend(here.into_iter().map(|(r, v)| (r, -v))),
            Rule::Mul { a, b } => {
                let (r, v) = one_claim(&mut here);
                let polys =
                    vec![MultilinearPoly::I64(padded(*a)), MultilinearPoly::I64(padded(*b))];
                let (rho, e) = p.product(polys, vec![Term::product(vec![0, 1])], Some(r), v);
                claims[a.index()].push((rho.clone(), e[0]));
                claims[b.index()].push((rho, e[1]));
            }
            Rule::MatMul { a, b, bias, batch, m, k, n, b_batched } => {
                let (r, v) = one_claim(&mut here);
                let (rb, rm, rn) = (&r[..*batch], &r[*batch..batch + m], &r[batch + m..]);
                let mut v = v;
                if let Some(c) = bias {
                    let beta = eval(*c, rn);
                    p.send("tensor/bias", &[beta]);
                    v -= lay(instr.dst).valid_rows(&r) * beta;
                    claims[c.index()].push((rn.to_vec(), beta));
                }
                let na = batch + m + k;
                let nb = if *b_batched { batch + k + n } else { k + n };
                let b_low: Vec<usize> = (nb - n..nb).collect();
                let fb = fix_vars(&padded(*b), nb, &b_low, rn);
                if *b_batched {
                    let fa =
                        fix_vars(&padded(*a), na, &(*batch..batch + m).collect::<Vec<_>>(), rm);
                    let eb = eq_evals(rb);
                    let e_poly: Vec<F> =
                        eb.iter().flat_map(|e| std::iter::repeat_n(*e, 1 << k)).collect();
                    let polys = vec![dense(fa), dense(fb), dense(e_poly)];
                    let (rho, e) = p.product(polys, vec![Term::product(vec![0, 1, 2])], None, v);
                    let (pb, pk_) = rho.split_at(*batch);
                    claims[a.index()].push(([pb, rm, pk_].concat(), e[0]));
                    claims[b.index()].push(([pb, pk_, rn].concat(), e[1]));
                } else {
                    let fa = fix_vars(
                        &padded(*a),
                        na,
                        &(0..batch + m).collect::<Vec<_>>(),
                        &r[..batch + m],
                    );
                    let (rho, e) = p.product(
                        vec![dense(fa), dense(fb)],
                        vec![Term::product(vec![0, 1])],
                        None,
                        v,
                    );
                    claims[a.index()].push(([rb, rm, &rho].concat(), e[0]));
                    claims[b.index()].push(([&rho, rn].concat(), e[1]));
                }
            }
            Rule::Sum { src, summed } => {
                let (r, v) = one_claim(&mut here);
                let kept: Vec<usize> = (0..summed.len()).filter(|&j| !summed[j]).collect();
                let g = fix_vars(&padded(*src), summed.len(), &kept, &r);
                let (rho, e) = p.product(vec![dense(g)], vec![Term::product(vec![0])], None, v);
                claims[src.index()].push((interleave(summed, &r, &rho), e[0]));
            }
            Rule::Relabel { src, map } => {
                for (r, v) in here {
                    let c = map.claim(lay(instr.dst), &r, v).ok_or_else(|| {
                        ProveError::Internal(format!(
                            "{place}: the point zeroes the broadcast's validity factor"
                        ))
                    })?;
                    claims[src.index()].push(c);
                }
            }
            Rule::Move { srcs, indices } => {
                let idx_values = match indices {
                    None => None,
                    Some(reg) => {
                        Some(known_values(program, *reg, &publics, &public_inputs).ok_or_else(
                            || ProveError::Internal(format!("{place}: gather indices unknown")),
                        )?)
                    }
                };
                let wires = layout::wiring(program, &instr.op, instr.dst, idx_values.as_deref())
                    .map_err(|e| ProveError::Trace(format!("{place}: {e}")))?;
                // Several claims fold into one: Σ_j γ^j v_j with wiring Σ_j γ^j W(r_j, ·).
                #[cfg(test)]
                if DROP_MERGED_CLAIMS.get() {
                    here.truncate(1);
                }
                let (v, er) = fold_claims(&here, &mut p.t);
                let ws: Vec<Vec<F>> = srcs
                    .iter()
                    .enumerate()
                    .map(|(k, s)| {
                        let mut w = vec![F::zero(); lay(*s).padded_len()];
                        for &(d, o, x) in &wires {
                            if o == k {
                                w[x] += er[d];
                            }
                        }
                        w
                    })
                    .collect();
                let contributions: Vec<F> = if srcs.len() == 1 {
                    vec![v]
                } else {
                    let c: Vec<F> = srcs
                        .iter()
                        .zip(&ws)
                        .map(|(s, w)| padded(*s).iter().zip(w).map(|(x, y)| from_i64(*x) * y).sum())
                        .collect();
                    p.send("tensor/contributions", &c);
                    c
                };
                for ((s, w), c) in srcs.iter().zip(ws).zip(contributions) {
                    let polys = vec![MultilinearPoly::I64(padded(*s)), dense(w)];
                    let (rho, e) = p.product(polys, vec![Term::product(vec![0, 1])], None, c);
                    claims[s.index()].push((rho, e[0]));
                }
            }
            Rule::Lookup { site, operands } => {
                let (r, v) = one_claim(&mut here);
                let sw = &witnesses[*site];
                let f0 = padding_value(sw.witness.table).map_err(ProveError::Internal)?;
                let (point, value) = lookup_output_claim(lay(instr.dst), &r, v, f0);
                let o = p.lookup(&sw.witness, point, value);
                for (reg, val) in operands.iter().zip(&o.operand_values) {
                    let c = operand_claim(lay(*reg), &o.operand_point, *val).ok_or_else(|| {
                        ProveError::Internal(format!("{place}: degenerate operand point"))
                    })?;
                    claims[reg.index()].push(c);
                }
                owed.push((*site, o.pending));
            }
            Rule::Shr { site, src, shift, bias, scale } => {
                let (r, v) = one_claim(&mut here);
                let sw = &witnesses[*site];
                let point = if r.is_empty() { vec![F::zero()] } else { r.clone() };
                let u = MultilinearPoly::I64(sw.remainder.clone()).evaluate(&point);
                p.send("tensor/remainder", &[u]);
                let unscale = pow2(u32::from(*scale))
                    .inverse()
                    .expect("2^k is invertible in a prime field of odd order");
                let x = pow2(u32::from(*shift)) * v + u * unscale - from_i64(*bias);
                let o = p.lookup(&sw.witness, point, u);
                claims[src.index()].push((r, x));
                owed.push((*site, o.pending));
            }
        }
    }

    // Every lookup's chunk checks at once; they leave one claim on a combination of the chunks,
    // whose terms' values the prover computes for its reduction (never sent).
    let mut combos: Vec<(Combo, Vec<F>)> = Vec::new();
    if !owed.is_empty() {
        let jobs: Vec<(&PendingChunks, &[Vec<usize>])> =
            owed.iter().map(|(site, q)| (q, chunk_idx[*site])).collect();
        let (proof, opening, evals) = prove_chunk_checks(&jobs, &mut p.t);
        p.items.push(Item::Sumcheck(proof.sites));
        p.items.push(Item::Sumcheck(proof.stack));
        let sites: Vec<(usize, usize)> =
            owed.iter().map(|(site, q)| (*site, q.num_vars())).collect();
        let (combo, at) = chunk_combo(&plan, &blocks, &sites, &opening, &poly_index);
        // Per site and chunk, every block's value at (ρ_j, ρ_lo): a chunk of one block is the
        // chunk check's own evaluation; a cut one takes one pass over the queries.
        let mut block_values = std::collections::HashMap::new();
        for (&(site, n), evals) in sites.iter().zip(&evals) {
            let (k, b) = (plan.sites[site].chunk_bits, blocks[site]);
            if b == k {
                for (chunk, e) in evals.iter().enumerate() {
                    block_values.insert((site, chunk), vec![*e]);
                }
                continue;
            }
            let (rows, address) = opening.point[..n].split_at(n - k);
            let (er, el) = (eq_evals(rows), eq_evals(&address[k - b..]));
            let mask = (1usize << b) - 1;
            for (chunk, idx) in chunk_idx[site].iter().enumerate() {
                let mut v = vec![F::zero(); 1 << (k - b)];
                for (j, &a) in idx.iter().enumerate() {
                    v[a >> b] += er[j] * el[a & mask];
                }
                block_values.insert((site, chunk), v);
            }
        }
        let values =
            at.iter().map(|(site, chunk, block)| block_values[&(*site, *chunk)][*block]).collect();
        combos.push((combo, values));
    }
    lap("walk", &mut timings);
    progress("open", 0, 1);

    for (i, input) in program.inputs.iter().enumerate() {
        let pending = std::mem::take(&mut claims[input.reg.index()]);
        if let (false, Some(q)) = (input.public, poly_index(Committed::PrivateInput(i))) {
            pc_claims[q].extend(pending);
        }
    }
    let wblocks = weight_blocks(program, &plan);
    for (i, param) in program.params.iter().enumerate() {
        let pending = std::mem::take(&mut claims[param.reg.index()]);
        if !committed_weights {
            continue;
        }
        let (h, table) = (wblocks[i], &weight_tables[i]);
        for (z, v) in pending {
            let el = eq_evals(&z[h.min(z.len())..]);
            if let Some(combo) = file_weight_claim(&mut pc_claims, &poly_index, (i, h), (z, v)) {
                // Each block's value at the low coordinates (the terms' point).
                let vals: Vec<F> = table
                    .chunks(table.len() >> h)
                    .map(|b| b.iter().zip(&el).map(|(x, e)| from_i64(*x) * e).sum())
                    .collect();
                let values = combo
                    .terms
                    .iter()
                    .map(|t| match polys[t.poly].0 {
                        Committed::Param { block, .. } => vals[block],
                        other => {
                            unreachable!("a weight claim's terms are its blocks, not {other:?}")
                        }
                    })
                    .collect();
                combos.push((combo, values));
            }
        }
    }

    // The final opening: every committed polynomial at its own size (zero-extended to the largest
    // by the protocol, never in memory), one-hot chunks never written out.
    enum Source<'a> {
        Table(MultilinearPoly),
        /// Columns `[first, first + 2^bits)` of a chunk's one-hot matrix.
        OneHot {
            indices: &'a [usize],
            first: usize,
            bits: usize,
        },
    }
    let source_of = |c: Committed| -> Source<'_> {
        match c {
            Committed::Param { index, block } => {
                let table = &weight_tables[index];
                let len = table.len() >> wblocks[index];
                Source::Table(MultilinearPoly::I64(table[block * len..(block + 1) * len].to_vec()))
            }
            Committed::PrivateInput(i) => {
                Source::Table(MultilinearPoly::I64(padded(program.inputs[i].reg)))
            }
            Committed::Chunk { site, chunk, block } => {
                let bits = blocks[site];
                Source::OneHot { indices: &chunk_idx[site][chunk], first: block << bits, bits }
            }
        }
    };
    let reduce = |source: &Source<'_>, claim: &ClaimReduction, n: usize| match source {
        Source::Table(poly) => ReductionSumcheck::zero_extended(poly.clone(), claim, n),
        Source::OneHot { indices, first, bits } => {
            let ones = indices
                .iter()
                .enumerate()
                .filter_map(|(j, a)| {
                    a.checked_sub(*first).filter(|c| *c < 1 << bits).map(|c| (j, c))
                })
                .collect();
            ReductionSumcheck::one_hot(indices.len(), ones, *bits, claim, n)
        }
    };
    fn source_opening<'b>(s: &'b Source<'_>) -> Opening<'b> {
        match s {
            Source::Table(poly) => Opening::Table(poly),
            Source::OneHot { indices, first, bits } => {
                Opening::OneHotBlock { indices, first: *first, columns: 1 << bits }
            }
        }
    }
    let n = opening_vars(&polys, &pc_claims, combos.iter().map(|(c, _)| c));
    let mut reductions: Vec<Reduction> = Vec::new();
    let mut instances: Vec<Box<dyn SumcheckInstance + '_>> = Vec::new();
    for (q, claims) in pc_claims.into_iter().enumerate() {
        if claims.is_empty() {
            continue;
        }
        let claims = dedupe(extend_claims(claims, n)).ok_or_else(|| {
            ProveError::Internal(format!("committed polynomial {q}: claims disagree"))
        })?;
        let (points, values): (Vec<_>, Vec<_>) = claims.into_iter().unzip();
        let gamma = ClaimReduction::draw_gamma(&values, &mut p.t);
        let reduction = ClaimReduction { points, values, gamma };
        if n > 0 {
            instances.push(Box::new(reduce(&source_of(polys[q].0), &reduction, n)));
        }
        reductions.push(Reduction::Plain(q, reduction));
    }
    if n == 0 && !combos.is_empty() {
        return Err(ProveError::Internal("a combination claim on scalars".into()));
    }
    for (combo, values) in combos {
        let combo = combo.extended(n);
        let parts = combo
            .terms
            .iter()
            .zip(values)
            .map(|(t, v)| {
                let claim = ClaimReduction {
                    points: vec![t.point.clone()],
                    values: vec![v],
                    gamma: ark_ff::One::one(),
                };
                reduce(&source_of(polys[t.poly].0), &claim, n)
            })
            .collect();
        let weights = combo.terms.iter().map(|t| t.weight).collect();
        instances.push(Box::new(SumOf::weighted(parts, weights)));
        reductions.push(Reduction::Combo(combo));
    }
    if !reductions.is_empty() {
        let proof = if n > 0 {
            // The reduction's final evaluations stay with the prover: the opening checks their
            // weighted sum, the sumcheck's final claim, as one evaluation.
            let mut insts: Vec<&mut dyn SumcheckInstance> =
                instances.iter_mut().map(|r| r.as_mut() as &mut dyn SumcheckInstance).collect();
            let (proof, out, gamma) = prove_sumcheck_deferred(&mut insts, &mut p.t);
            p.items.push(Item::Sumcheck(proof));
            let point = out.point;
            let mut evals = std::collections::HashMap::new();
            for (r, e) in reductions.iter().zip(&out.final_evals) {
                match r {
                    Reduction::Plain(q, _) => {
                        evals.insert(*q, e[0]);
                    }
                    Reduction::Combo(c) => {
                        for (t, v) in c.terms.iter().zip(e) {
                            evals.insert(t.poly, *v);
                        }
                    }
                }
            }
            let (opened, weights) = opening_weights(&reductions, &point, gamma);
            let claim = opened.iter().zip(&weights).map(|(q, w)| *w * evals[q]).sum();
            let sources: Vec<Source<'_>> = opened.iter().map(|q| source_of(polys[*q].0)).collect();
            let refs: Vec<Opening<'_>> = sources.iter().map(source_opening).collect();
            let comms: Vec<_> = opened.iter().map(|q| commitments[*q]).collect();
            HyperKzg::open_combination(&pk.pcs, &refs, &comms, &weights, &point, claim, &mut p.t)?
        } else {
            // Scalars: each polynomial is its own evaluation.
            let opened: Vec<usize> = reductions
                .iter()
                .filter_map(|r| match r {
                    Reduction::Plain(q, _) => Some(*q),
                    Reduction::Combo(_) => None,
                })
                .collect();
            let sources: Vec<Source<'_>> = opened.iter().map(|q| source_of(polys[*q].0)).collect();
            let evals: Vec<F> = sources
                .iter()
                .map(|s| match s {
                    Source::Table(poly) => poly.get(0),
                    Source::OneHot { indices, first, .. } => {
                        F::from(u64::from(indices[0] == *first))
                    }
                })
                .collect();
            let refs: Vec<Opening<'_>> = sources.iter().map(source_opening).collect();
            let comms: Vec<_> = opened.iter().map(|q| commitments[*q]).collect();
            HyperKzg::batch_open_extended(&pk.pcs, &refs, &comms, &[], &evals, &mut p.t)?
        };
        p.items.push(Item::Opening(proof));
    }
    lap("open", &mut timings);
    progress("open", 1, 1);
    Ok((TensorProof { items: p.items }, timings))
}

fn dense(v: Vec<F>) -> MultilinearPoly {
    MultilinearPoly::Dense(v)
}

/// The prover's message stream and transcript.
struct Prover {
    items: Vec<Item>,
    t: Transcript,
}

impl Prover {
    fn send(&mut self, label: &'static str, v: &[F]) {
        self.t.append_scalars(label, v);
        self.items.push(Item::Scalars(v.to_vec()));
    }

    /// Merges two or more claims (distinct points) on `poly` into one.
    fn merge(&mut self, poly: MultilinearPoly, claims: Vec<Claim>) -> Claim {
        #[cfg(test)]
        if DROP_MERGED_CLAIMS.get() {
            return claims[0].clone();
        }
        let (points, values): (Vec<_>, Vec<_>) = claims.into_iter().unzip();
        let gamma = ClaimReduction::draw_gamma(&values, &mut self.t);
        let mut inst = ReductionSumcheck::new(poly, &ClaimReduction { points, values, gamma });
        let (proof, out) = prove_sumcheck(&mut [&mut inst], &mut self.t);
        self.items.push(Item::Sumcheck(proof));
        (out.point, out.final_evals[0][0])
    }

    fn product(
        &mut self,
        polys: Vec<MultilinearPoly>,
        terms: Vec<Term>,
        eq_point: Option<Vec<F>>,
        claim: F,
    ) -> (Vec<F>, Vec<F>) {
        if polys[0].num_vars() == 0 {
            let e: Vec<F> = polys.iter().map(|q| q.get(0)).collect();
            self.send("tensor/direct", &e);
            return (Vec::new(), e);
        }
        let mut inst = ProductSumcheck::new(polys, terms, eq_point, claim)
            .expect("the plan sized every factor to the same variables");
        let (proof, out) = prove_sumcheck(&mut [&mut inst], &mut self.t);
        self.items.push(Item::Sumcheck(proof));
        (out.point, out.final_evals[0].clone())
    }

    /// A lookup site's reads; its chunk checks are returned pending.
    fn lookup(&mut self, w: &LookupWitness<'_>, point: Vec<F>, value: F) -> LookupReads {
        let (proof, mut reads) =
            prove_lookup_reads(std::slice::from_ref(w), &[(point, value)], &mut self.t);
        self.items.push(Item::Lookup(proof));
        reads.remove(0)
    }
}

/// One lookup site's witness; for a `shr`, also its scaled remainder vector.
struct SiteWitness<'a> {
    witness: LookupWitness<'a>,
    remainder: Vec<i64>,
}

/// `values` padded to the site's query count (a scalar's `[x]` becomes `[x, 0]`).
fn query_vector(layout: &Layout, values: &[i64]) -> Vec<i64> {
    let mut v = layout.pad(values);
    if v.len() == 1 {
        v.push(0);
    }
    v
}

fn site_witness<'a>(
    program: &Program,
    plan: &Plan,
    tables: &[&'a dyn TableMle<F>],
    values: &[Vec<i64>],
    s: usize,
    instr: usize,
) -> Result<SiteWitness<'a>, ProveError> {
    let site = &plan.sites[s];
    let table = tables[site.table];
    let dst = program.instrs[instr].dst;
    let layout = &plan.layouts[dst.index()];
    match &plan.rules[instr] {
        Rule::Lookup { operands, .. } => {
            let ops: Vec<Vec<i64>> =
                operands.iter().map(|o| query_vector(layout, &values[o.index()])).collect();
            let witness = LookupWitness::from_operands(table, &ops)
                .map_err(|error| ProveError::Lookup { site: s, error })?;
            Ok(SiteWitness { witness, remainder: Vec::new() })
        }
        Rule::Shr { src, shift, bias, scale, .. } => {
            let x = query_vector(layout, &values[src.index()]);
            let q = query_vector(layout, &values[dst.index()]);
            let rem: Vec<i64> = x
                .iter()
                .zip(&q)
                .map(|(x, q)| {
                    let r =
                        (i128::from(*x) + i128::from(*bias) - (i128::from(*q) << shift)) << scale;
                    i64::try_from(r).ok().filter(|r| *r >= 0)
                })
                .collect::<Option<_>>()
                .ok_or_else(|| {
                    ProveError::Trace(format!("instruction {instr}: remainder out of range"))
                })?;
            let addresses = rem.iter().map(|r| *r as u64).collect();
            let witness = LookupWitness::from_addresses(table, addresses)
                .map_err(|error| ProveError::Lookup { site: s, error })?;
            Ok(SiteWitness { witness, remainder: rem })
        }
        _ => Err(ProveError::Internal(format!("site {s} is not a lookup"))),
    }
}

/// The table of `values` (a padded tensor over `n` variables) with the variables at `positions`
/// (increasing) fixed to `point`, as a table over the remaining variables in order.
pub fn fix_vars(values: &[i64], n: usize, positions: &[usize], point: &[F]) -> Vec<F> {
    debug_assert_eq!(positions.len(), point.len());
    let eq = eq_evals(point);
    let f = positions.len();
    let rest = n - f;
    let mut is_fixed = vec![false; n];
    positions.iter().for_each(|&p| is_fixed[p] = true);
    // Bit of variable j (MSB-first) in an index of n bits: n - 1 - j.
    let deposit = move |fi: usize, ri: usize| -> usize {
        let (mut a, mut b) = (f, rest);
        let mut idx = 0;
        for &fixed in &is_fixed {
            let bit = if fixed {
                a -= 1;
                (fi >> a) & 1
            } else {
                b -= 1;
                (ri >> b) & 1
            };
            idx = (idx << 1) | bit;
        }
        idx
    };
    (0..1usize << rest)
        .into_par_iter()
        .map(|ri| {
            let mut acc = F::zero();
            for (fi, e) in eq.iter().enumerate() {
                let v = values[deposit(fi, ri)];
                if v != 0 {
                    acc += *e * from_i64(v);
                }
            }
            acc
        })
        .collect()
}

#[cfg(test)]
thread_local! {
    /// Makes the prover keep only the first claim on a register read several times, as a prover
    /// that skips the merge (or leaves claims out of a wiring's fold) would; attack tests set it.
    static DROP_MERGED_CLAIMS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

#[cfg(test)]
mod tests;
