#!/usr/bin/env python3
"""Generate the ONNX test models of Atlas's importer: one small model per supported op (and per
interesting attribute), a few whole networks, and models the importer must refuse.

Each model NAME is written to tests/it/fixtures/onnx/NAME.onnx with NAME.json:
  {"input": {"x": nested list}, "output": nested list (the ONNX reference evaluator's float
   output), "tolerance": max abs error allowed for Atlas's fixed-point run, "error": substring of
   the expected import error (models that must be refused)}.

The expected outputs come from onnx.reference.ReferenceEvaluator (the onnx package's own
implementation), so no onnxruntime is needed. Weights come from a fixed-seed numpy Generator:
running the script again gives the same files.

Usage:  pip install onnx numpy && python3 tests/onnx/make_models.py
"""

import json
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "it", "fixtures", "onnx")
F = TensorProto.FLOAT


def rng(name):
    """A fixed stream per name (Python's own hash is salted per process)."""
    return np.random.default_rng([7919, *name.encode()])


def model(name, nodes, inputs, outputs, inits=(), opset=17):
    g = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info(n, t, s) for n, t, s in inputs],
        [helper.make_tensor_value_info(n, t, s) for n, t, s in outputs],
        initializer=[numpy_helper.from_array(np.asarray(a), name=n) for n, a in inits],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)],
                          producer_name="atlas-tests")
    m.ir_version = 8 if opset <= 17 else 9
    return m


def save(name, m, feeds, tolerance=0.02, error=None):
    onnx.save(m, os.path.join(OUT, name + ".onnx"))
    spec = {"input": {k: v.tolist() for k, v in feeds.items()}, "tolerance": tolerance}
    if error is None:
        (y,) = ReferenceEvaluator(m).run(None, feeds)[:1]
        spec["output"] = np.asarray(y, dtype=np.float64).tolist()
        out = m.graph.output[0]
        out.type.tensor_type.ClearField("shape")
        for d in np.shape(y):
            out.type.tensor_type.shape.dim.add().dim_value = d
        onnx.checker.check_model(m, full_check=True)
        onnx.save(m, os.path.join(OUT, name + ".onnx"))
    else:
        spec["error"] = error
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(spec, f)


def x_in(name, shape, lo=-1.0, hi=1.0):
    return rng(name + "/x").uniform(lo, hi, shape).astype(np.float32)


def w(name, shape, scale=0.5):
    return (rng(name).standard_normal(shape) * scale).astype(np.float32)


def unary(op, lo=-1.0, hi=1.0, opset=17, tolerance=0.02, **attrs):
    name = op.lower() + "".join(f"_{k}" for k in attrs)
    x = x_in(name, (2, 8), lo, hi)
    m = model(name, [helper.make_node(op, ["x"], ["y"], **attrs)], [("x", F, [2, 8])],
              [("y", F, None)], opset=opset)
    save(name, m, {"x": x}, tolerance)


def binary_const(op, const, name=None, lo=-1.0, hi=1.0):
    name = name or op.lower()
    x = x_in(name, (2, 8), lo, hi)
    m = model(name, [helper.make_node(op, ["x", "c"], ["y"])], [("x", F, [2, 8])],
              [("y", F, None)], [("c", np.asarray(const, dtype=np.float32))])
    save(name, m, {"x": x})


def binary_tensors(op, name=None, lo=0.5, hi=1.5):
    """op(x, tanh(x) + 2): two computed tensors from one source, plus one from a different source."""
    name = name or op.lower() + "_tensors"
    x = x_in(name, (2, 8))
    z = x_in(name + "z", (2, 8), lo, hi)
    m = model(name, [helper.make_node(op, ["x", "z"], ["y"])],
              [("x", F, [2, 8]), ("z", F, [2, 8])], [("y", F, None)])
    save(name, m, {"x": x, "z": z})


def main():
    os.makedirs(OUT, exist_ok=True)
    # ---- elementwise, one op each
    for op in ["Relu", "Sigmoid", "Tanh", "Erf", "Neg", "Abs", "Sin", "Cos", "Exp"]:
        unary(op)
    unary("LeakyRelu", alpha=0.1)
    unary("Sqrt", lo=0.1, hi=2.0)
    unary("Reciprocal", lo=0.5, hi=2.0)
    unary("Log", lo=0.5, hi=2.0)
    unary("Gelu", opset=20)
    unary("Gelu", opset=20, approximate="tanh")
    unary("Identity")
    binary_const("Add", [0.5] * 8, "add_vector")
    binary_const("Sub", 0.25, "sub_scalar")
    binary_const("Mul", 0.75, "mul_scalar")
    binary_const("Div", 4.0, "div_scalar")
    binary_const("Div", np.linspace(1, 2, 8), "div_vector")
    binary_const("Pow", 2.0, "pow_2")
    binary_const("Pow", 3.0, "pow_3")
    binary_const("Pow", 0.5, "pow_half", lo=0.1, hi=2.0)
    for op in ["Add", "Sub", "Mul", "Div", "Max", "Min"]:
        binary_tensors(op)
    # Clip with bounds as inputs (opset 11+)
    name = "clip"
    m = model(name, [helper.make_node("Clip", ["x", "lo", "hi"], ["y"])], [("x", F, [2, 8])],
              [("y", F, None)], [("lo", np.float32(-0.5)), ("hi", np.float32(0.5))])
    save(name, m, {"x": x_in(name, (2, 8))})
    # a fused chain: swish written out, x * sigmoid(x)
    name = "swish_chain"
    m = model(name, [helper.make_node("Sigmoid", ["x"], ["s"]), helper.make_node("Mul", ["x", "s"], ["y"])],
              [("x", F, [2, 8])], [("y", F, None)])
    save(name, m, {"x": x_in(name, (2, 8), -3, 3)})

    # ---- linear algebra
    name = "gemm"
    m = model(name, [helper.make_node("Gemm", ["x", "w", "b"], ["y"], transB=1, alpha=0.5, beta=2.0)],
              [("x", F, [2, 8])], [("y", F, None)], [("w", w(name, (4, 8))), ("b", w(name + "b", (4,), 0.1))])
    save(name, m, {"x": x_in(name, (2, 8))})
    name = "matmul"
    m = model(name, [helper.make_node("MatMul", ["x", "w"], ["y"])], [("x", F, [2, 3, 8])],
              [("y", F, None)], [("w", w(name, (8, 4)))])
    save(name, m, {"x": x_in(name, (2, 3, 8))})
    name = "matmul_tensors"
    m = model(name, [helper.make_node("Transpose", ["x"], ["xt"], perm=[0, 2, 1]),
                     helper.make_node("MatMul", ["x", "xt"], ["y"])],
              [("x", F, [2, 3, 8])], [("y", F, None)])
    save(name, m, {"x": x_in(name, (2, 3, 8))})

    # ---- convolution and pooling
    def conv_model(name, pad, stride, extra, bias=True, bn=False):
        nodes = [helper.make_node("Conv", ["x", "w"] + (["b"] if bias else []), ["c"],
                                  kernel_shape=[3, 3], pads=[pad] * 4, strides=[stride] * 2)]
        inits = [("w", w(name, (4, 2, 3, 3), 0.3))] + ([("b", w(name + "b", (4,), 0.1))] if bias else [])
        last = "c"
        if bn:
            nodes.append(helper.make_node("BatchNormalization", ["c", "g", "be", "mu", "var"], ["n"]))
            inits += [("g", np.float32(1 + 0.1 * rng(name + "g").standard_normal(4))),
                      ("be", w(name + "be", (4,), 0.1)), ("mu", w(name + "mu", (4,), 0.1)),
                      ("var", np.float32(rng(name + "v").uniform(0.5, 1.5, 4)))]
            last = "n"
        nodes += extra(last)
        m = model(name, nodes, [("x", F, [1, 2, 8, 8])], [("y", F, None)], inits)
        save(name, m, {"x": x_in(name, (1, 2, 8, 8))})

    conv_model("conv", 1, 1, lambda i: [helper.make_node("Identity", [i], ["y"])])
    conv_model("conv_stride2", 0, 2, lambda i: [helper.make_node("Identity", [i], ["y"])], bias=False)
    conv_model("conv_bn_folded", 1, 1, lambda i: [helper.make_node("Identity", [i], ["y"])], bias=False, bn=True)
    conv_model("maxpool", 1, 1, lambda i: [helper.make_node("MaxPool", [i], ["y"], kernel_shape=[2, 2], strides=[2, 2])])
    conv_model("maxpool_overlapping", 1, 1, lambda i: [helper.make_node("MaxPool", [i], ["y"], kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1])])
    conv_model("maxpool_stride2", 1, 1, lambda i: [helper.make_node("MaxPool", [i], ["y"], kernel_shape=[3, 3], strides=[2, 2])])
    conv_model("averagepool", 1, 1, lambda i: [helper.make_node("AveragePool", [i], ["y"], kernel_shape=[2, 2], strides=[2, 2])])
    conv_model("globalaveragepool", 1, 1, lambda i: [helper.make_node("GlobalAveragePool", [i], ["y"])])
    name = "batchnorm"
    m = model(name, [helper.make_node("BatchNormalization", ["x", "g", "be", "mu", "var"], ["y"])],
              [("x", F, [1, 4, 3, 3])], [("y", F, None)],
              [("g", np.float32([1.1, 0.9, 1.0, 1.2])), ("be", np.float32([0.1, -0.1, 0, 0.2])),
               ("mu", np.float32([0.0, 0.1, -0.1, 0.2])), ("var", np.float32([1.0, 0.5, 1.5, 0.8]))])
    save(name, m, {"x": x_in(name, (1, 4, 3, 3))})

    # ---- normalisation, softmax, reductions
    def on3d(name, nodes, inits=(), shape=(1, 4, 8), lo=-1, hi=1, tolerance=0.02, opset=17):
        m = model(name, nodes, [("x", F, list(shape))], [("y", F, None)], list(inits), opset=opset)
        save(name, m, {"x": x_in(name, shape, lo, hi)}, tolerance)

    on3d("softmax", [helper.make_node("Softmax", ["x"], ["y"], axis=-1)])
    on3d("softmax_axis1", [helper.make_node("Softmax", ["x"], ["y"], axis=1)])
    on3d("layernormalization", [helper.make_node("LayerNormalization", ["x", "g", "b"], ["y"], axis=-1)],
         [("g", np.float32(1 + 0.1 * rng("lng").standard_normal(8))), ("b", w("lnb", (8,), 0.1))],
         tolerance=0.05)
    on3d("layernorm_decomposed", [
        helper.make_node("ReduceMean", ["x"], ["m"], axes=[-1]),
        helper.make_node("Sub", ["x", "m"], ["c"]),
        helper.make_node("Pow", ["c", "two"], ["c2"]),
        helper.make_node("ReduceMean", ["c2"], ["v"], axes=[-1]),
        helper.make_node("Add", ["v", "eps"], ["ve"]),
        helper.make_node("Sqrt", ["ve"], ["s"]),
        helper.make_node("Div", ["c", "s"], ["y"]),
    ], [("two", np.float32(2.0)), ("eps", np.float32(1e-5))], tolerance=0.05)
    on3d("reducesum", [helper.make_node("ReduceSum", ["x", "ax"], ["y"], keepdims=0)], [("ax", np.int64([1]))])
    on3d("reducemean", [helper.make_node("ReduceMean", ["x"], ["y"], axes=[1, 2], keepdims=1)])
    on3d("reducemax", [helper.make_node("ReduceMax", ["x"], ["y"], axes=[2], keepdims=0)])

    # ---- shapes and data movement
    on3d("reshape", [helper.make_node("Reshape", ["x", "s"], ["y"])], [("s", np.int64([0, -1]))])
    on3d("transpose", [helper.make_node("Transpose", ["x"], ["y"], perm=[2, 0, 1])])
    on3d("flatten", [helper.make_node("Flatten", ["x"], ["y"], axis=2)])
    on3d("squeeze_unsqueeze", [helper.make_node("Squeeze", ["x", "a0"], ["s"]),
                               helper.make_node("Unsqueeze", ["s", "a1"], ["y"])],
         [("a0", np.int64([0])), ("a1", np.int64([2]))])
    on3d("concat", [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Concat", ["x", "r"], ["y"], axis=2)])
    on3d("slice", [helper.make_node("Slice", ["x", "st", "en", "ax"], ["y"])],
         [("st", np.int64([1, 2])), ("en", np.int64([3, -1])), ("ax", np.int64([1, 2]))])
    name = "split"
    m = model(name, [helper.make_node("Split", ["x", "sp"], ["a", "b"], axis=2),
                     helper.make_node("Sub", ["a", "b"], ["y"])],
              [("x", F, [1, 4, 8])], [("y", F, None)], [("sp", np.int64([4, 4]))])
    save(name, m, {"x": x_in(name, (1, 4, 8))})
    on3d("gather_scalar", [helper.make_node("Gather", ["x", "i"], ["y"], axis=1)], [("i", np.int64(2))])
    on3d("shape_subgraph", [
        helper.make_node("Shape", ["x"], ["sh"]),
        helper.make_node("Slice", ["sh", "z", "two"], ["head"]),
        helper.make_node("Concat", ["head", "m1"], ["ns"], axis=0),
        helper.make_node("Reshape", ["x", "ns"], ["y"]),
    ], [("z", np.int64([0])), ("two", np.int64([2])), ("m1", np.int64([-1]))])
    on3d("constant_ops", [
        helper.make_node("Constant", [], ["k"], value=numpy_helper.from_array(np.float32(0.5), "k")),
        helper.make_node("ConstantOfShape", ["shp"], ["ones"],
                         value=numpy_helper.from_array(np.float32([2.0]), "v")),
        helper.make_node("Mul", ["x", "k"], ["h"]),
        helper.make_node("Mul", ["h", "ones"], ["y"]),
    ], [("shp", np.int64([8]))])
    # A causal mask feeds a softmax, as in attention (the fill saturates, which softmax ignores).
    on3d("where_mask", [
        helper.make_node("Where", ["cond", "x", "fill"], ["m"]),
        helper.make_node("Softmax", ["m"], ["y"], axis=-1),
    ], [("cond", np.tril(np.ones((4, 8), dtype=bool))[None]), ("fill", np.float32(-10000.0))])
    on3d("cast", [helper.make_node("Cast", ["x"], ["y"], to=TensorProto.FLOAT)])
    # Token embedding: an integer input indexes a weight table.
    name = "gather_embedding"
    emb = w(name, (10, 8))
    m = model(name, [helper.make_node("Gather", ["emb", "ids"], ["y"], axis=0)],
              [("ids", TensorProto.INT64, [1, 5])], [("y", F, None)], [("emb", emb)])
    save(name, m, {"ids": np.int64([[3, 1, 4, 1, 5]])})

    # ---- whole networks
    name = "net_mlp"
    m = model(name, [
        helper.make_node("Gemm", ["x", "w1", "b1"], ["h"], transB=1),
        helper.make_node("Relu", ["h"], ["r"]),
        helper.make_node("Gemm", ["r", "w2", "b2"], ["l"], transB=1),
        helper.make_node("Softmax", ["l"], ["y"], axis=-1),
    ], [("x", F, [1, 16])], [("y", F, None)],
        [("w1", w(name + "1", (12, 16), 0.25)), ("b1", w(name + "b1", (12,), 0.1)),
         ("w2", w(name + "2", (5, 12), 0.3)), ("b2", w(name + "b2", (5,), 0.1))])
    save(name, m, {"x": x_in(name, (1, 16))})
    name = "net_cnn"
    m = model(name, [
        helper.make_node("Conv", ["x", "cw", "cb"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["p"], ["f"], axis=1),
        helper.make_node("Gemm", ["f", "fw", "fb"], ["y"], transB=1),
    ], [("x", F, [1, 1, 8, 8])], [("y", F, None)],
        [("cw", w(name + "c", (3, 1, 3, 3), 0.4)), ("cb", w(name + "cb", (3,), 0.1)),
         ("fw", w(name + "f", (4, 48), 0.2)), ("fb", w(name + "fb", (4,), 0.1))])
    save(name, m, {"x": x_in(name, (1, 1, 8, 8), 0, 1)})
    name = "net_attention"
    d = 8
    nodes = [
        helper.make_node("MatMul", ["x", "wq"], ["q"]),
        helper.make_node("MatMul", ["x", "wk"], ["k"]),
        helper.make_node("MatMul", ["x", "wv"], ["v"]),
        helper.make_node("Transpose", ["k"], ["kt"], perm=[0, 2, 1]),
        helper.make_node("MatMul", ["q", "kt"], ["s"]),
        helper.make_node("Mul", ["s", "scale"], ["ss"]),
        helper.make_node("Where", ["causal", "ss", "neg"], ["sm"]),
        helper.make_node("Softmax", ["sm"], ["a"], axis=-1),
        helper.make_node("MatMul", ["a", "v"], ["o"]),
        helper.make_node("Add", ["x", "o"], ["y"]),
    ]
    m = model(name, nodes, [("x", F, [1, 4, d])], [("y", F, None)],
              [("wq", w(name + "q", (d, d), 0.3)), ("wk", w(name + "k", (d, d), 0.3)),
               ("wv", w(name + "v", (d, d), 0.3)), ("scale", np.float32(1 / np.sqrt(d))),
               ("causal", np.tril(np.ones((4, 4), dtype=bool))[None]), ("neg", np.float32(-10000.0))])
    save(name, m, {"x": x_in(name, (1, 4, d))})

    # ---- refused, each with the reason the error must give
    name = "refuse_argmax"
    m = model(name, [helper.make_node("ArgMax", ["x"], ["y"], axis=-1)], [("x", F, [1, 4, 8])],
              [("y", TensorProto.INT64, [1, 4, 1])])
    save(name, m, {"x": x_in(name, (1, 4, 8))}, error="supported on constants only")
    name = "refuse_lstm_like"
    m = model(name, [helper.make_node("HardSwish", ["x"], ["y"])], [("x", F, [2, 8])], [("y", F, None)])
    save(name, m, {"x": x_in(name, (2, 8))}, error="op `HardSwish` is not supported")
    name = "refuse_grouped_conv"
    m = model(name, [helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[3, 3], group=2)],
              [("x", F, [1, 2, 5, 5])], [("y", F, None)], [("w", w(name, (2, 1, 3, 3)))])
    save(name, m, {"x": x_in(name, (1, 2, 5, 5))}, error="group")
    name = "refuse_dynamic"
    m = model(name, [helper.make_node("Relu", ["x"], ["y"])], [("x", F, ["N", 8])], [("y", F, None)])
    save(name, m, {"x": x_in(name, (2, 8))}, error="symbol `N`")
    print(f"wrote {len(os.listdir(OUT)) // 2} models to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
