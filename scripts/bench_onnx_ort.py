"""Times onnxruntime on one ONNX model, batch 1, one thread, with the iteration scheme of
tests/onnx-bench (the born / tract side of scripts/bench_onnx.sh): each graph input gets the
first example of its .npy file, W warm-up runs, then R rounds of N runs; the per-inference
time of a round is its wall time over N, and the median over the rounds is reported.

Also prints the process's CPU time over wall time in the timed rounds (below 1 when the
process waited for a core), the per-call cost of onnxruntime from Python (an Identity model
on the first input, same scheme), which its figure includes, and, given --compare, the
worst max |ort - other| / max |ort| against another runtime's output saved as .npy.

Usage: python3 scripts/bench_onnx_ort.py MODEL.onnx --iters N --warmup W --rounds R
           [--feed NAME=FILE.npy ...] [--compare OUTPUT.npy]
(a graph input without --feed reads NAME.npy beside the model)
"""
import argparse
import os
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper


def session(model):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])


def per_inference_us(s, feeds, iters, warmup, rounds):
    for _ in range(warmup):
        s.run(None, feeds)
    us, wall, cpu = [], 0.0, 0.0
    for _ in range(rounds):
        c, t = time.process_time(), time.perf_counter()
        for _ in range(iters):
            s.run(None, feeds)
        w = time.perf_counter() - t
        cpu += time.process_time() - c
        wall += w
        us.append(w / iters * 1e6)
    return float(np.median(us)), us, cpu / wall


def identity_model(name, x):
    dt = helper.np_dtype_to_tensor_dtype(x.dtype)
    m = helper.make_model(
        helper.make_graph(
            [helper.make_node("Identity", [name], ["out"])], "identity",
            [helper.make_tensor_value_info(name, dt, list(x.shape))],
            [helper.make_tensor_value_info("out", dt, list(x.shape))]),
        opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m.SerializeToString()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("--iters", type=int, required=True)
    p.add_argument("--warmup", type=int, required=True)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--feed", action="append", default=[])
    p.add_argument("--compare")
    a = p.parse_args()

    files = dict(f.split("=", 1) for f in a.feed)
    s = session(a.model)
    feeds = {}
    for i in s.get_inputs():
        path = files.get(i.name, os.path.join(os.path.dirname(a.model), i.name + ".npy"))
        feeds[i.name] = np.ascontiguousarray(np.load(path)[:1])
    print("inputs: " + ", ".join(f"{k} {v.dtype} {list(v.shape)}" for k, v in feeds.items()))

    rel = "NA"
    if a.compare:
        got = s.run(None, feeds)[0].astype(np.float32)
        other = np.load(a.compare).astype(np.float32).reshape(got.shape)
        r = float(np.abs(got - other).max() / max(np.abs(got).max(), np.finfo(np.float32).tiny))
        rel = f"{r:.3e}".replace("e-0", "e-").replace("e+0", "e")
        print(f"output 0 vs {os.path.basename(a.compare)}: max |ort - other| / max |ort| {rel}")

    med, us, load = per_inference_us(s, feeds, a.iters, a.warmup, a.rounds)
    for k, u in enumerate(us):
        print(f"round {k + 1}: onnxruntime {u:.1f} us")
    name, x = next(iter(feeds.items()))
    ident = session(identity_model(name, x))
    call, _, _ = per_inference_us(ident, {name: x}, a.iters, a.warmup, a.rounds)
    print(f"median per inference: onnxruntime {med:.1f} us ({a.iters} inferences x {a.rounds} "
          f"rounds, {a.warmup} warm-up); Identity model on `{name}`: {call:.1f} us")
    print(f"CPU time / wall time in the timed rounds: {load:.2f}")
    print(f"RESULT ort_us={med:.1f} call_us={call:.1f} rel={rel} cpu={load:.2f} "
          f"version={ort.__version__}")


if __name__ == "__main__":
    main()
