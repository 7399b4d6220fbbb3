//! The Fiat–Shamir transcript: Keccak-256 over typed, labelled items.
//!
//! Every item absorbed carries a type tag and a label, so two different sequences of items can only
//! produce the same state by a Keccak collision. Challenges are derived from the state and are
//! themselves absorbed (the state is ratcheted), so each challenge depends on everything before it.
//!
//! What must be absorbed, and when, is fixed in `docs/transcript.md`: in short, the protocol domain
//! first, then every public value and every prover message *before* any challenge that the prover
//! could otherwise adapt it to. A prover-chosen value that is not absorbed is a soundness bug.
//!
//! The transcript can record its schedule (the sequence of operations and labels) so tests can
//! snapshot it: the schedule is reviewed like code.

use ark_ff::PrimeField;
use ark_serialize::CanonicalSerialize;
use sha3::{Digest, Keccak256};

use crate::field::F;

/// The protocol version absorbed at the start of every Atlas transcript. Bump it whenever the order
/// or meaning of absorbed items changes.
pub const PROTOCOL_VERSION: u64 = 9;

/// The kind of one transcript operation, as recorded in a schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Domain,
    U64,
    Bytes,
    Scalar,
    Scalars,
    Point,
    Challenge,
    Challenges,
}

impl Op {
    fn tag(self) -> u8 {
        match self {
            Op::Domain => 0,
            Op::U64 => 1,
            Op::Bytes => 2,
            Op::Scalar => 3,
            Op::Scalars => 4,
            Op::Point => 5,
            Op::Challenge => 6,
            Op::Challenges => 7,
        }
    }
}

/// One recorded transcript operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub op: Op,
    pub label: &'static str,
    /// Number of items for `Scalars`/`Challenges`, byte length for `Bytes`, else 1.
    pub len: usize,
}

/// A Keccak-256 Fiat–Shamir transcript.
///
/// Invariant: the state is a hash of the domain and every operation so far, in order.
#[derive(Clone)]
pub struct Transcript {
    state: [u8; 32],
    schedule: Option<Vec<Event>>,
}

impl Transcript {
    /// A transcript for `domain` (e.g. `b"atlas/sumcheck-test"`), with the protocol version absorbed.
    pub fn new(domain: &'static [u8]) -> Self {
        let mut t = Transcript { state: [0u8; 32], schedule: None };
        t.absorb(Op::Domain, "domain", domain);
        t.append_u64("protocol_version", PROTOCOL_VERSION);
        t
    }

    /// Like [`Transcript::new`], and records every later operation for inspection.
    pub fn recording(domain: &'static [u8]) -> Self {
        let mut t = Transcript { state: [0u8; 32], schedule: Some(Vec::new()) };
        t.absorb(Op::Domain, "domain", domain);
        t.append_u64("protocol_version", PROTOCOL_VERSION);
        t
    }

    /// The recorded schedule, if this transcript records one.
    pub fn schedule(&self) -> Option<&[Event]> {
        self.schedule.as_deref()
    }

    /// The schedule as text, one operation per line (what snapshots show).
    pub fn schedule_text(&self) -> String {
        let mut s = String::new();
        for e in self.schedule.iter().flatten() {
            let op = format!("{:?}", e.op);
            if !matches!(e.op, Op::Scalars | Op::Bytes | Op::Challenges) {
                s.push_str(&format!("{op:<10} {}\n", e.label));
            } else {
                s.push_str(&format!("{op:<10} {} [{}]\n", e.label, e.len));
            }
        }
        s
    }

    /// The current state, for tests that check two transcripts diverge or agree.
    pub fn state(&self) -> [u8; 32] {
        self.state
    }

    fn record(&mut self, op: Op, label: &'static str, len: usize) {
        if let Some(s) = &mut self.schedule {
            s.push(Event { op, label, len });
        }
    }

    fn absorb(&mut self, op: Op, label: &'static str, data: &[u8]) {
        let mut h = Keccak256::new();
        h.update(self.state);
        h.update([op.tag()]);
        h.update((label.len() as u64).to_le_bytes());
        h.update(label.as_bytes());
        h.update((data.len() as u64).to_le_bytes());
        h.update(data);
        self.state = h.finalize().into();
        let len = match op {
            Op::Bytes => data.len(),
            Op::Scalars => data.len() / 32,
            _ => 1,
        };
        self.record(op, label, len);
    }

    pub fn append_u64(&mut self, label: &'static str, v: u64) {
        self.absorb(Op::U64, label, &v.to_le_bytes());
    }

    pub fn append_bytes(&mut self, label: &'static str, bytes: &[u8]) {
        self.absorb(Op::Bytes, label, bytes);
    }

    pub fn append_scalar(&mut self, label: &'static str, v: &F) {
        self.absorb(Op::Scalar, label, &crate::field::to_le_bytes(v));
    }

    pub fn append_scalars(&mut self, label: &'static str, vs: &[F]) {
        let mut buf = Vec::with_capacity(32 * vs.len());
        for v in vs {
            buf.extend_from_slice(&crate::field::to_le_bytes(v));
        }
        self.absorb(Op::Scalars, label, &buf);
    }

    /// Absorbs a group element (a commitment, an opening proof element) in its canonical
    /// uncompressed encoding.
    pub fn append_point<P: CanonicalSerialize>(&mut self, label: &'static str, p: &P) {
        let mut buf = Vec::with_capacity(p.uncompressed_size());
        // Serializing into a Vec cannot fail: the only error source is the writer.
        if p.serialize_uncompressed(&mut buf).is_err() {
            buf.clear();
        }
        self.absorb(Op::Point, label, &buf);
    }

    /// A challenge, uniform among the field elements below `2^253` (see [`CHALLENGE_BITS`]). The
    /// state is ratcheted (the challenge's derivation is absorbed), so consecutive challenges
    /// differ.
    pub fn challenge_scalar(&mut self, label: &'static str) -> F {
        let c = self.squeeze(label);
        self.record(Op::Challenge, label, 1);
        c
    }

    /// `n` challenges under one label.
    pub fn challenge_scalars(&mut self, label: &'static str, n: usize) -> Vec<F> {
        let out = (0..n).map(|_| self.squeeze(label)).collect();
        self.record(Op::Challenges, label, n);
        out
    }

    /// `1, γ, γ², …, γ^(n-1)` for one challenge `γ`: the usual random linear combination weights.
    pub fn challenge_powers(&mut self, label: &'static str, n: usize) -> Vec<F> {
        let g = self.challenge_scalar(label);
        crate::poly::powers(g, n)
    }

    fn squeeze(&mut self, label: &'static str) -> F {
        let mut h = Keccak256::new();
        h.update(self.state);
        h.update([Op::Challenge.tag()]);
        h.update(label.as_bytes());
        let bytes: [u8; 32] = h.finalize().into();
        // The hash is the new state (a duplex sponge): the next operation depends on this
        // challenge and everything before it.
        self.state = bytes;
        // The low 253 bits, an integer below 2^253 < p: a uniform draw from a set of 2^253 field
        // elements. Schwartz–Zippel needs only that (error d/2^253 per check), and the conversion
        // is one Montgomery multiplication where reducing 64 bytes modulo p cost a dozen — a
        // verifier draws tens of thousands of challenges.
        let mut limbs = [0u64; 4];
        for (limb, chunk) in limbs.iter_mut().zip(bytes.chunks_exact(8)) {
            *limb = u64::from_le_bytes(chunk.try_into().expect("chunks_exact(8) yields 8 bytes"));
        }
        limbs[3] &= (1u64 << (CHALLENGE_BITS - 192)) - 1;
        F::from_bigint(ark_ff::BigInt(limbs)).expect("an integer below 2^253 is below the modulus")
    }
}

/// Challenges are uniform below `2^CHALLENGE_BITS`, which is below BN254's scalar modulus.
pub const CHALLENGE_BITS: u32 = 253;

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::BigInteger;

    #[test]
    fn challenges_fill_253_bits_and_no_more() {
        let mut t = Transcript::new(b"t");
        let bits: Vec<u32> =
            (0..256).map(|_| t.challenge_scalar("c").into_bigint().num_bits()).collect();
        assert!(bits.iter().all(|&b| b <= CHALLENGE_BITS), "a challenge above 2^253: {bits:?}");
        // Half of uniform draws below 2^253 have the top bit set; none would if it were masked off.
        let top = bits.iter().filter(|&&b| b == CHALLENGE_BITS).count();
        assert!((64..=192).contains(&top), "{top} of 256 challenges reach bit 252");
    }

    #[test]
    fn deterministic_and_order_sensitive() {
        let mut a = Transcript::new(b"t");
        let mut b = Transcript::new(b"t");
        a.append_u64("x", 1);
        b.append_u64("x", 1);
        assert_eq!(a.challenge_scalar("c"), b.challenge_scalar("c"));

        let mut c = Transcript::new(b"t");
        let mut d = Transcript::new(b"t");
        c.append_u64("x", 1);
        c.append_u64("y", 2);
        d.append_u64("y", 2);
        d.append_u64("x", 1);
        assert_ne!(c.challenge_scalar("c"), d.challenge_scalar("c"));
    }

    #[test]
    fn labels_types_and_domains_separate() {
        let base = |domain| {
            let mut t = Transcript::new(domain);
            t.append_bytes("x", &1u64.to_le_bytes());
            t.challenge_scalar("c")
        };
        let mut t = Transcript::new(b"t");
        t.append_u64("x", 1);
        // Same bytes, different type tag.
        assert_ne!(base(b"t"), t.challenge_scalar("c"));
        assert_ne!(base(b"t"), base(b"u"));
        let mut t = Transcript::new(b"t");
        t.append_bytes("y", &1u64.to_le_bytes());
        assert_ne!(base(b"t"), t.challenge_scalar("c"));
    }

    #[test]
    fn consecutive_challenges_differ() {
        let mut t = Transcript::new(b"t");
        let cs = t.challenge_scalars("c", 4);
        for i in 0..4 {
            for j in 0..i {
                assert_ne!(cs[i], cs[j]);
            }
        }
    }

    #[test]
    fn records_schedule() {
        let mut t = Transcript::recording(b"t");
        t.append_scalars("claims", &[F::from(1u64), F::from(2u64)]);
        t.challenge_scalar("r");
        assert_eq!(
            t.schedule_text(),
            "Domain     domain\nU64        protocol_version\nScalars    claims [2]\nChallenge  r\n"
        );
    }
}
