//! The crate's tests: example programs shared by the snapshot and round-trip tests, and one module
//! per concern.

mod eval;
mod infer;
mod roundtrip;
mod snapshots;
mod text;
mod validate;

use crate::{ElemType, ParamData, Program, ProgramBuilder, ReduceKind, Rounding, TableRef};
use crate::{TensorType, Visibility};

const ACT: ElemType = ElemType::fix(16, 8);

fn t(elem: ElemType, shape: &[usize]) -> TensorType {
    TensorType::new(elem, shape)
}

/// `relu_s16` from the stdlib catalogue (kind 2, width 16), used at `fix<16,8>`.
fn relu16() -> TableRef {
    TableRef { name: "relu_s16".into(), id: 0x0210_0000, inputs: vec![ACT], output: ACT }
}

/// A two-layer perceptron: matmul, bias at accumulator scale, rescale, relu by lookup.
pub(crate) fn mlp() -> Program {
    let mut b = ProgramBuilder::new("mlp");
    let relu = b.table(relu16());
    let x = b.input("x", t(ACT, &[1, 64]), Visibility::Public);
    let w1 = b.param("w1", t(ACT, &[64, 32]), ParamData::External { key: "w1".into() });
    // Biases live at the product's scale (16 fractional bits) so they add without a rescale.
    let b1 =
        b.param("b1", t(ElemType::fix(32, 16), &[32]), ParamData::External { key: "b1".into() });
    let w2 = b.param("w2", t(ACT, &[32, 10]), ParamData::External { key: "w2".into() });
    let acc = b.matmul(x, w1).unwrap();
    let bias = b.broadcast(b1, &[1, 32]).unwrap();
    let acc = b.add(acc, bias).unwrap();
    let h = b.rescale(acc, 8, Rounding::Nearest, true, ACT).unwrap();
    let h = b.lookup(relu, &[h]).unwrap();
    b.set_name(h, "h");
    let acc2 = b.matmul(h, w2).unwrap();
    let y = b.rescale(acc2, 8, Rounding::Nearest, true, ACT).unwrap();
    b.set_name(y, "y");
    b.output(y);
    b.finish()
}

/// A 3×3 convolution with 4 output channels as im2col + matmul, weights inline.
pub(crate) fn conv() -> Program {
    let q = ElemType::fix(8, 4);
    let mut b = ProgramBuilder::new("conv3x3");
    let x = b.input("x", t(q, &[1, 1, 6, 6]), Visibility::Private);
    let kernel: Vec<i64> = (0..36).map(|i| (i * 7 % 31) - 15).collect();
    let w = b.param("w", t(q, &[9, 4]), ParamData::Inline(kernel));
    let bias = b.constant(Some("bias"), t(ElemType::fix(16, 8), &[4]), vec![16, -8, 0, 3]);
    let cols = b.im2col(x, [3, 3], [1, 1], [1, 1]).unwrap();
    let acc = b.matmul(cols, w).unwrap();
    let bias = b.broadcast(bias, &[1, 36, 4]).unwrap();
    let acc = b.add(acc, bias).unwrap();
    let y = b.rescale(acc, 4, Rounding::Floor, true, q).unwrap();
    let y = b.transpose(y, &[0, 2, 1]).unwrap();
    let y = b.reshape(y, &[1, 4, 6, 6]).unwrap();
    b.set_name(y, "y");
    b.output(y);
    b.finish()
}

/// Two-head self-attention over token embeddings: gather, slice, transpose, reduce, lookups
/// (exp and reciprocal as program-local dense tables), concat and a residual add.
pub(crate) fn attention() -> Program {
    let mut b = ProgramBuilder::new("attention");
    let exp =
        b.table(TableRef { name: "exp".into(), id: 0x0700_0000, inputs: vec![ACT], output: ACT });
    let recip =
        b.table(TableRef { name: "recip".into(), id: 0x0701_0000, inputs: vec![ACT], output: ACT });
    let tokens = b.input("tokens", t(ElemType::I32, &[4]), Visibility::Public);
    let emb = b.param("emb", t(ACT, &[16, 8]), ParamData::External { key: "embedding".into() });
    let x = b.gather(emb, tokens, 0).unwrap();
    b.set_name(x, "x");
    let mut heads = Vec::new();
    for h in 0..2 {
        let q = b.slice(x, 1, 4 * h, 4 * h + 4, 1).unwrap();
        let kt = b.transpose(q, &[1, 0]).unwrap();
        let s = b.matmul(q, kt).unwrap();
        let s = b.rescale(s, 8, Rounding::Nearest, true, ACT).unwrap();
        let m = b.reduce(s, ReduceKind::Max, &[1], true).unwrap();
        let m = b.broadcast(m, &[4, 4]).unwrap();
        let d = b.sub(s, m).unwrap();
        let d = b.rescale(d, 0, Rounding::Floor, true, ACT).unwrap();
        let e = b.lookup(exp, &[d]).unwrap();
        let z = b.reduce(e, ReduceKind::Sum, &[1], true).unwrap();
        let z = b.rescale(z, 0, Rounding::Floor, true, ACT).unwrap();
        let r = b.lookup(recip, &[z]).unwrap();
        let r = b.broadcast(r, &[4, 4]).unwrap();
        let p = b.mul(e, r).unwrap();
        let p = b.rescale(p, 8, Rounding::Nearest, true, ACT).unwrap();
        let o = b.matmul(p, q).unwrap();
        let o = b.rescale(o, 8, Rounding::Nearest, true, ACT).unwrap();
        b.set_name(o, &format!("head{h}"));
        heads.push(o);
    }
    let o = b.concat(&heads, 1).unwrap();
    let y = b.add(o, x).unwrap();
    let y = b.rescale(y, 0, Rounding::Floor, true, ACT).unwrap();
    b.set_name(y, "y");
    b.output(y);
    b.finish()
}

pub(crate) fn examples() -> Vec<Program> {
    vec![mlp(), conv(), attention()]
}
