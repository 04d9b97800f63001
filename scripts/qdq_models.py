#!/usr/bin/env python3
"""Quantizes the shared MNIST CNN and ResNet-18 ONNX models with onnxruntime's
`quantize_static` (QDQ format, int8 activations and per-channel int8 weights) and records
onnxruntime's int8 outputs, for born's QDQ import tests.

    python3 scripts/qdq_models.py [--data DIR] [--out DIR]

DIR defaults: $BORN_DATA or ../shared/data; target/qdq. Writes, per model, `model.qdq.onnx`
and reference outputs:
  mnist-cnn: calibrated on the first 1,000 training images; `t10k_pred_ort_int8.npy` (int64
  [10000], onnxruntime's int8 argmax on the test images) and `t10k_pred_ort_f32.npy`.
  resnet18: calibrated on 16 seeded N(0, 1) images of [3, 224, 224] (no image data set of
  that size is available here; the random-weight model's inputs are N(0, 1) too);
  `logits_ort_int8.npy` for the stored `input.npy`.
"""
import argparse
import gzip
import os
import struct
import sys

import numpy as np
import onnxruntime as ort
from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                      quantize_static)


def idx_images(path):
    with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
        magic, n, rows, cols = struct.unpack(">IIII", f.read(16))
        assert magic == 2051, path
        return np.frombuffer(f.read(n * rows * cols), np.uint8).reshape(n, 1, rows, cols)


def find(data, name):
    for cand in (name, name + ".gz"):
        p = os.path.join(data, "mnist", cand)
        if os.path.exists(p):
            return p
    sys.exit(f"missing {name} under {data}/mnist")


class Reader(CalibrationDataReader):
    def __init__(self, name, batches):
        self.it = iter([{name: b} for b in batches])

    def get_next(self):
        return next(self.it, None)


def session(path):
    o = ort.SessionOptions()
    o.intra_op_num_threads = 1
    o.inter_op_num_threads = 1
    return ort.InferenceSession(path, o, providers=["CPUExecutionProvider"])


def quantize(src, dst, name, batches):
    quantize_static(src, dst, Reader(name, batches), quant_format=QuantFormat.QDQ,
                    activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
                    per_channel=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.environ.get("BORN_DATA", "../shared/data"))
    ap.add_argument("--out", default="target/qdq")
    a = ap.parse_args()
    os.makedirs(os.path.join(a.out, "mnist-cnn"), exist_ok=True)
    os.makedirs(os.path.join(a.out, "resnet18"), exist_ok=True)

    # MNIST CNN: input `image` [N, 1, 28, 28] = pixels / 255.
    src = os.path.join(a.data, "onnx", "mnist-cnn", "model.onnx")
    train = idx_images(find(a.data, "train-images-idx3-ubyte")).astype(np.float32) / 255.0
    test = idx_images(find(a.data, "t10k-images-idx3-ubyte")).astype(np.float32) / 255.0
    dst = os.path.join(a.out, "mnist-cnn", "model.qdq.onnx")
    quantize(src, dst, "image", [train[i:i + 1] for i in range(1000)])
    for model, tag in ((dst, "int8"), (src, "f32")):
        s = session(model)
        pred = np.concatenate([s.run(None, {"image": test[i:i + 500]})[0].argmax(1)
                               for i in range(0, len(test), 500)])
        np.save(os.path.join(a.out, "mnist-cnn", f"t10k_pred_ort_{tag}.npy"), pred.astype(np.int64))

    # ResNet-18: input `input` [N, 3, 224, 224].
    src = os.path.join(a.data, "onnx", "resnet18", "model.onnx")
    rng = np.random.default_rng(0)
    calib = [rng.standard_normal((1, 3, 224, 224), dtype=np.float32) for _ in range(16)]
    dst = os.path.join(a.out, "resnet18", "model.qdq.onnx")
    quantize(src, dst, "input", calib)
    x = np.load(os.path.join(a.data, "onnx", "resnet18", "input.npy"))
    logits = session(dst).run(None, {"input": x})[0]
    np.save(os.path.join(a.out, "resnet18", "logits_ort_int8.npy"), logits.astype(np.float32))
    print(f"wrote {a.out}/mnist-cnn and {a.out}/resnet18")


if __name__ == "__main__":
    main()
