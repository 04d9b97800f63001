"""Times onnxruntime on the MNIST CNN, f32 and int8 (static QDQ quantization, per-channel
weights, calibrated on the same 1000 training images Born uses), one thread, batch 1, and
reports its accuracy on the test images: the peer numbers beside `born bench`.

Usage: python3 scripts/bench_ort.py <model.onnx> <out-dir-of-mnist_int8-example> [iters]
"""
import sys, time, gzip, os
import numpy as np
import onnxruntime as ort
from onnxruntime.quantization import quantize_static, CalibrationDataReader, QuantFormat, QuantType

onnx_path, out_dir = sys.argv[1], sys.argv[2]
iters = int(sys.argv[3]) if len(sys.argv) > 3 else 2000
data = os.environ.get("BORN_DATA", os.path.join(os.path.dirname(onnx_path), "..", ".."))
images = np.load(os.path.join(out_dir, "t10k_images.npy"))
labels = np.load(os.path.join(out_dir, "t10k_labels.npy"))
with gzip.open(os.path.join(data, "mnist", "train-images-idx3-ubyte.gz")) as f:
    train = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
calib = (train[:1000].astype(np.float32) / 255.0)


class Reader(CalibrationDataReader):
    def __init__(self):
        self.it = iter(calib[i:i + 1] for i in range(len(calib)))

    def get_next(self):
        x = next(self.it, None)
        return None if x is None else {"image": x}


q_path = os.path.join(out_dir, "mnist_cnn.ort-int8.onnx")
quantize_static(onnx_path, q_path, Reader(), quant_format=QuantFormat.QDQ,
                per_channel=True, activation_type=QuantType.QInt8, weight_type=QuantType.QInt8)

import onnx
from onnx import helper, TensorProto
ident = helper.make_model(helper.make_graph(
    [helper.make_node("Identity", ["image"], ["out"])], "identity",
    [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 1, 28, 28])],
    [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 1, 28, 28])]),
    opset_imports=[helper.make_opsetid("", 17)])
ident.ir_version = 8
id_path = os.path.join(out_dir, "identity.onnx")
onnx.save(ident, id_path)

for name, path in [("onnxruntime f32 ", onnx_path), ("onnxruntime int8", q_path),
                   ("onnxruntime Identity (per-call overhead)", id_path)]:
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    x = images[:1]
    for _ in range(50):
        s.run(None, {"image": x})
    lat = []
    for i in range(iters):
        x = images[i % len(images)][None]
        t = time.perf_counter()
        s.run(None, {"image": x})
        lat.append(time.perf_counter() - t)
    lat = np.sort(np.array(lat)) * 1e6
    acc = ""
    if path != id_path:
        logits = s.run(None, {"image": images})[0]
        acc = f"  accuracy {(logits.argmax(1) == labels).mean() * 100:.2f}%"
    print(f"{name}: p50 {np.percentile(lat, 50):.1f} us  p90 {np.percentile(lat, 90):.1f} us  "
          f"p99 {np.percentile(lat, 99):.1f} us{acc}")
