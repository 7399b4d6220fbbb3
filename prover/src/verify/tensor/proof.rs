//! The tensor proof: a stream of items in the order the verifier consumes them (which is the
//! transcript's order). `docs/proof-format.md` documents the bytes.

use crate::field::F;
use crate::pcs::{from_bytes, to_bytes};
use crate::verify::codec::{DecodeError, Reader, Writer};
use crate::verify::hyperkzg::{HyperKzgCommitment, HyperKzgProof};
use crate::verify::lookup::LookupReadProof;
use crate::verify::sumcheck::SumcheckProof;

/// Encoding version of [`TensorProof`].
pub const TENSOR_PROOF_VERSION: u8 = 3;

/// One prover message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// Claimed evaluations (operand values of an `add`, a remainder, a zero-round product, …).
    Scalars(Vec<F>),
    Sumcheck(SumcheckProof),
    /// A lookup site's reads; its chunk checks come in one batch after the walk.
    Lookup(LookupReadProof),
    Commitments(Vec<HyperKzgCommitment>),
    Opening(HyperKzgProof),
}

impl Item {
    pub fn kind(&self) -> &'static str {
        match self {
            Item::Scalars(_) => "scalars",
            Item::Sumcheck(_) => "sumcheck",
            Item::Lookup(_) => "lookup",
            Item::Commitments(_) => "commitments",
            Item::Opening(_) => "opening",
        }
    }

    fn tag(&self) -> u8 {
        match self {
            Item::Scalars(_) => 0,
            Item::Sumcheck(_) => 1,
            Item::Lookup(_) => 2,
            Item::Commitments(_) => 3,
            Item::Opening(_) => 4,
        }
    }

    fn body(&self) -> Vec<u8> {
        match self {
            Item::Scalars(v) => {
                let mut w = Writer::new();
                w.scalars(v);
                w.bytes
            }
            Item::Sumcheck(p) => p.to_bytes(),
            Item::Lookup(p) => p.to_bytes(),
            Item::Commitments(cs) => {
                let mut w = Writer::new();
                w.len(cs.len());
                for c in cs {
                    let b = to_bytes(c);
                    w.len(b.len());
                    w.raw(&b);
                }
                w.bytes
            }
            Item::Opening(p) => to_bytes(p),
        }
    }
}

/// A whole-program proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorProof {
    pub items: Vec<Item>,
}

impl TensorProof {
    /// `version · count · (tag · length · body)*`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(TENSOR_PROOF_VERSION);
        w.len(self.items.len());
        for item in &self.items {
            w.u8(item.tag());
            let body = item.body();
            w.len(body.len());
            w.raw(&body);
        }
        w.bytes
    }

    /// Decodes a proof; every length is bounded by the input and nothing panics.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        r.version(TENSOR_PROOF_VERSION)?;
        let n = r.count("item count", 5)?;
        let mut items = Vec::with_capacity(n);
        for _ in 0..n {
            let at = r.position();
            let tag = r.u8()?;
            let len = r.count("item length", 1)?;
            let body = r.take(len)?;
            let invalid = |what| DecodeError::Invalid { what, at };
            items.push(match tag {
                0 => {
                    let mut br = Reader::new(body);
                    let v = br.scalars()?;
                    br.finish()?;
                    Item::Scalars(v)
                }
                1 => Item::Sumcheck(SumcheckProof::from_bytes(body)?),
                2 => Item::Lookup(LookupReadProof::from_bytes(body)?),
                3 => {
                    let mut br = Reader::new(body);
                    let k = br.count("commitment count", 4)?;
                    let mut cs = Vec::with_capacity(k);
                    for _ in 0..k {
                        let len = br.count("commitment length", 1)?;
                        cs.push(from_bytes(br.take(len)?).map_err(|_| invalid("commitment"))?);
                    }
                    br.finish()?;
                    Item::Commitments(cs)
                }
                4 => Item::Opening(from_bytes(body).map_err(|_| invalid("opening proof"))?),
                _ => return Err(invalid("item tag")),
            });
        }
        r.finish()?;
        Ok(TensorProof { items })
    }

    /// One line per item: its kind and encoded size (what proof-shape snapshots show).
    pub fn shape(&self) -> String {
        let mut s = String::new();
        let mut total = 0;
        for (i, item) in self.items.iter().enumerate() {
            let len = item.body().len();
            total += len + 5;
            let detail = match item {
                Item::Scalars(v) => format!("{} scalars", v.len()),
                // Sent coefficients per round: the degree, one fewer in eq-factored rounds.
                Item::Sumcheck(p) => format!(
                    "{} rounds, {} coefficients",
                    p.rounds.len(),
                    p.rounds.iter().map(Vec::len).sum::<usize>()
                ),
                Item::Lookup(p) => format!("{} instance(s)", p.operand_claims.len()),
                Item::Commitments(c) => format!("{} commitments", c.len()),
                Item::Opening(p) => format!("{} variables", p.evals.len()),
            };
            s.push_str(&format!("{i:>4} {:<12} {detail:<24} {len:>7} B\n", item.kind()));
        }
        s.push_str(&format!("total {} B\n", total + 5));
        s
    }
}

/// What `atlasc` writes to `model.proof`: the statement (public inputs and outputs) and the proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProofFile {
    pub public_inputs: Vec<Vec<i64>>,
    pub outputs: Vec<Vec<i64>>,
    pub proof: TensorProof,
}

/// The first bytes of a proof file.
pub const PROOF_MAGIC: &[u8; 8] = b"ATLASPRF";

/// Encoding version of [`ProofFile`].
pub const PROOF_FILE_VERSION: u8 = 4;

impl ProofFile {
    /// `magic · version · inputs · outputs · proof`, tensors as packed integer vectors
    /// ([`Writer::ints`]).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.raw(PROOF_MAGIC);
        w.u8(PROOF_FILE_VERSION);
        for group in [&self.public_inputs, &self.outputs] {
            w.len(group.len());
            for v in group {
                w.ints(v);
            }
        }
        let proof = self.proof.to_bytes();
        w.len(proof.len());
        w.raw(&proof);
        w.bytes
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        if r.take(PROOF_MAGIC.len())? != PROOF_MAGIC {
            return Err(DecodeError::Invalid {
                what: "proof file magic (not an Atlas proof)",
                at: 0,
            });
        }
        r.version(PROOF_FILE_VERSION)?;
        let mut groups = Vec::with_capacity(2);
        for _ in 0..2 {
            let n = r.count("tensor count", 4)?;
            let mut group = Vec::with_capacity(n);
            for _ in 0..n {
                group.push(r.ints("tensor values")?);
            }
            groups.push(group);
        }
        let len = r.count("proof length", 1)?;
        let proof = TensorProof::from_bytes(r.take(len)?)?;
        r.finish()?;
        let outputs = groups.pop().unwrap_or_default();
        let public_inputs = groups.pop().unwrap_or_default();
        Ok(ProofFile { public_inputs, outputs, proof })
    }
}
