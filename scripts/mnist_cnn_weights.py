#!/usr/bin/env python3
"""Extracts the weights of the mnist-cnn ONNX model as .npy files with clean names.

Usage: python3 scripts/mnist_cnn_weights.py <model.onnx> <out_dir>
       (e.g. ../shared/data/onnx/mnist-cnn/model.onnx /tmp/mnist-cnn-weights)
Needs NumPy and onnx (pip install onnx).

The graph must be exactly Conv, Relu, MaxPool, Conv, Relu, MaxPool, Flatten, Gemm(transB=1),
Relu, Gemm(transB=1), each node reading the previous one's output, with these weights
(batch norm already folded into the convolutions by the exporter):
  conv1.weight [16,1,3,3]  conv1.bias [16]   (3x3, pad 1, stride 1)
  conv2.weight [32,16,3,3] conv2.bias [32]
  fc1.weight   [64,1568]   fc1.bias   [64]   (out x in, as Gemm transB=1 stores it)
  fc2.weight   [10,64]     fc2.bias   [10]
Writes <out_dir>/<name>.npy (float32, C order) for each. Anything else: a message naming the
first difference on stderr and exit status 1.
"""
import os
import sys

import numpy as np

try:
    import onnx
    from onnx import helper, numpy_helper
except ImportError:
    sys.exit("error: the onnx package is needed (pip install onnx)")

OPS = ["Conv", "Relu", "MaxPool", "Conv", "Relu", "MaxPool", "Flatten", "Gemm", "Relu", "Gemm"]
# node index -> (clean name prefix, weight shape, bias shape)
WEIGHTS = {
    0: ("conv1", (16, 1, 3, 3), (16,)),
    3: ("conv2", (32, 16, 3, 3), (32,)),
    7: ("fc1", (64, 1568), (64,)),
    9: ("fc2", (10, 64), (10,)),
}
ATTRS = {
    "Conv": {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "strides": [1, 1], "group": 1,
             "dilations": [1, 1]},
    "MaxPool": {"kernel_shape": [2, 2], "strides": [2, 2], "pads": [0, 0, 0, 0],
                "ceil_mode": 0, "dilations": [1, 1]},
    "Flatten": {"axis": 1},
    "Gemm": {"transB": 1, "transA": 0, "alpha": 1.0, "beta": 1.0},
    "Relu": {},
}
# Attribute values ONNX assumes when a node leaves them out.
DEFAULTS = {"group": 1, "pads": [0, 0, 0, 0], "strides": [1, 1], "dilations": [1, 1],
            "ceil_mode": 0, "axis": 1, "transA": 0, "transB": 0, "alpha": 1.0, "beta": 1.0}


def refuse(msg):
    sys.stderr.write("error: %s\n" % msg)
    sys.exit(1)


def main(argv):
    if len(argv) != 3:
        refuse("usage: python3 scripts/mnist_cnn_weights.py <model.onnx> <out_dir>")
    model_path, out_dir = argv[1], argv[2]
    try:
        model = onnx.load(model_path)
    except Exception as e:  # noqa: BLE001 (onnx raises several types)
        refuse("cannot load %s: %s" % (model_path, e))
    graph = model.graph
    ops = [n.op_type for n in graph.node]
    if ops != OPS:
        refuse("graph ops are %s, expected %s" % (ops, OPS))
    inits = {t.name: t for t in graph.initializer}
    graph_inputs = [i.name for i in graph.input if i.name not in inits]
    if len(graph_inputs) != 1:
        refuse("expected one graph input, found %s" % graph_inputs)
    previous = graph_inputs[0]
    out = {}
    for k, node in enumerate(graph.node):
        where = "node %d (%s %r)" % (k, node.op_type, node.name)
        if not node.input or node.input[0] != previous:
            refuse("%s reads %s, expected the previous output %r"
                   % (where, list(node.input), previous))
        if len(node.output) != 1:
            refuse("%s has outputs %s, expected one" % (where, list(node.output)))
        previous = node.output[0]
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        for name, want in ATTRS[node.op_type].items():
            got = attrs.get(name, DEFAULTS.get(name))
            if isinstance(got, (list, tuple)):
                got = list(got)
            if got != want:
                refuse("%s: attribute %s is %r, expected %r" % (where, name, got, want))
        if k in WEIGHTS:
            clean, w_shape, b_shape = WEIGHTS[k]
            if len(node.input) != 3:
                refuse("%s has %d inputs, expected input, weight and bias"
                       % (where, len(node.input)))
            for suffix, name, shape in [("weight", node.input[1], w_shape),
                                        ("bias", node.input[2], b_shape)]:
                if name not in inits:
                    refuse("%s: %s %r is not an initializer" % (where, suffix, name))
                array = numpy_helper.to_array(inits[name])
                if array.dtype != np.float32:
                    refuse("%s: %s %r is %s, expected float32" % (where, suffix, name, array.dtype))
                if tuple(array.shape) != shape:
                    refuse("%s: %s %r has shape %s, expected %s"
                           % (where, suffix, name, list(array.shape), list(shape)))
                out["%s.%s" % (clean, suffix)] = (name, np.ascontiguousarray(array))
        elif len(node.input) != 1:
            refuse("%s has inputs %s, expected one" % (where, list(node.input)))
    unused = sorted(set(inits) - {name for name, _ in out.values()})
    if unused:
        refuse("initializers not used as weights: %s" % unused)
    os.makedirs(out_dir, exist_ok=True)
    for clean, (name, array) in out.items():
        path = os.path.join(out_dir, clean + ".npy")
        np.save(path, array)
        print("%-13s <- %-14s %s" % (clean, name, list(array.shape)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
