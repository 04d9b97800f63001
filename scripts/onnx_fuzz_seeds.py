#!/usr/bin/env python3
"""Writes the seed corpus of the `onnx_convert` fuzz target, fuzz/corpus/onnx_convert/:
small valid ONNX models (each under 2 KB) that together reach the importer's main paths
(initializers, fusions, folded shape arithmetic, a dynamic dimension, Constant, Cast).

    python3 scripts/onnx_fuzz_seeds.py        (needs the `onnx` and `numpy` packages)

The test `fuzz_seeds_convert` in std-ext/tests/onnx_malformed.rs checks that each converts.
"""
import os

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fuzz", "corpus", "onnx_convert")


def save(name, nodes, inputs, outputs, inits=(), opset=17):
    g = h.make_graph(nodes, name, inputs, outputs, list(inits))
    m = h.make_model(g, opset_imports=[h.make_opsetid("", opset)], producer_name="seed")
    m.ir_version = 8
    onnx.checker.check_model(m)
    b = m.SerializeToString()
    assert len(b) < 2048, (name, len(b))
    with open(os.path.join(OUT, f"seed-{name}.onnx"), "wb") as f:
        f.write(b)


def f(name, dims):
    return h.make_tensor_value_info(name, T.FLOAT, dims)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(0)
    save("relu", [h.make_node("Relu", ["x"], ["y"], name="relu")], [f("x", [1, 4])], [f("y", [1, 4])])
    save(
        "add-init",
        [h.make_node("Add", ["x", "w"], ["y"], name="add")],
        [f("x", [1, 4])],
        [f("y", [1, 4])],
        [nh.from_array(np.arange(4, dtype=np.float32).reshape(1, 4), "w")],
    )
    save(
        "conv-bn-relu",
        [
            h.make_node("Conv", ["x", "cw", "cb"], ["c"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
            h.make_node("BatchNormalization", ["c", "s", "b", "m", "v"], ["n"], name="bn", epsilon=1e-5),
            h.make_node("Relu", ["n"], ["r"], name="relu"),
            h.make_node("MaxPool", ["r"], ["y"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
        ],
        [f("x", [1, 1, 4, 4])],
        [f("y", [1, 2, 2, 2])],
        [
            nh.from_array(rng.standard_normal((2, 1, 3, 3)).astype(np.float32), "cw"),
            nh.from_array(np.zeros(2, np.float32), "cb"),
            nh.from_array(np.ones(2, np.float32), "s"),
            nh.from_array(np.zeros(2, np.float32), "b"),
            nh.from_array(np.zeros(2, np.float32), "m"),
            nh.from_array(np.ones(2, np.float32), "v"),
        ],
    )
    save(
        "gemm-softmax",
        [
            h.make_node("Gemm", ["x", "gw", "gb"], ["g"], name="fc", transB=1),
            h.make_node("Softmax", ["g"], ["y"], name="softmax", axis=-1),
        ],
        [f("x", [1, 4])],
        [f("y", [1, 3])],
        [
            nh.from_array(rng.standard_normal((3, 4)).astype(np.float32), "gw"),
            nh.from_array(np.zeros(3, np.float32), "gb"),
        ],
    )
    # Shape arithmetic as PyTorch exports it: Shape -> Gather -> Unsqueeze -> Concat -> Reshape.
    save(
        "shape-reshape",
        [
            h.make_node("Shape", ["x"], ["s"], name="shape"),
            h.make_node("Gather", ["s", "i0"], ["d0"], name="gather", axis=0),
            h.make_node("Unsqueeze", ["d0", "ax"], ["d0u"], name="unsq"),
            h.make_node("Concat", ["d0u", "m1"], ["shp"], name="concat", axis=0),
            h.make_node("Reshape", ["x", "shp"], ["r"], name="reshape"),
            h.make_node("Transpose", ["r"], ["t"], name="transpose", perm=[1, 0]),
            h.make_node("ReduceMean", ["t", "rax"], ["y"], name="mean", keepdims=0),
        ],
        [h.make_tensor_value_info("x", T.FLOAT, ["batch", 2, 3])],
        [f("y", [6])],
        [
            nh.from_array(np.array(0, np.int64), "i0"),
            nh.from_array(np.array([0], np.int64), "ax"),
            nh.from_array(np.array([-1], np.int64), "m1"),
            nh.from_array(np.array([1], np.int64), "rax"),
        ],
        opset=18,
    )
    save(
        "const-where-cast",
        [
            h.make_node("Constant", [], ["c"], name="const", value=nh.from_array(np.array([0.5], np.float32))),
            h.make_node("Greater", ["x", "c"], ["gt"], name="gt"),
            h.make_node("Where", ["gt", "x", "c"], ["w"], name="where"),
            h.make_node("Cast", ["w"], ["y"], name="cast", to=T.INT32),
        ],
        [f("x", [2, 3])],
        [h.make_tensor_value_info("y", T.INT32, [2, 3])],
    )


if __name__ == "__main__":
    main()
