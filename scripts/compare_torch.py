#!/usr/bin/env python3
"""Born vs PyTorch: trains the same models with the same hyperparameters in both and prints
training times, test accuracies and the ratio born_seconds / torch_seconds.

Models (input float32 [N,1,28,28] = pixels/255, nothing else; PyTorch default init):
  mlp: Flatten, Linear(784,128), ReLU, Linear(128,10)                          (10 epochs)
  cnn: Conv2d(1,32,3,p=1), ReLU, MaxPool2d(2), Conv2d(32,64,3,p=1), ReLU, MaxPool2d(2),
       Flatten, Linear(3136,128), ReLU, Linear(128,10)                          (4 epochs)
Training: Adam (lr 1e-3, betas 0.9/0.999, eps 1e-8), batch 64 (the last, partial batch of an
epoch included), cross-entropy, the learning rate annealed per step on a cosine from lr to 0
over all steps of the run, shuffling seeded by --seed, no augmentation; evaluation on the
10,000 t10k images. Times cover the training loop only (no data loading, no evaluation).

PyTorch runs on the CPU with torch.set_num_threads(--threads); the data is read from the IDX
files (plain or .gz) with NumPy, no torchvision. Born runs as
  born train <mnist|fashion> --model M --epochs N --batch B --lr LR --seed S --threads T
       --data DIR --out OUT.born --summary SUMMARY.json
and its SUMMARY.json gives {"train_seconds", "test_accuracy", "epochs": [...], ...}.

Examples (from the repository root, after `cargo build --release -p born-std`):
  python3 scripts/compare_torch.py                       # mlp and cnn on MNIST, both sides
  python3 scripts/compare_torch.py --only torch --model mlp --epochs 1
  python3 scripts/compare_torch.py --dataset fashion --model cnn --threads 4

Output: a table, then one JSON line (the last line) with every result and ratio.

Timings need an otherwise idle machine: with other processes on the cores, PyTorch's
multi-threaded (OpenMP) loop slows down many times over (one MLP epoch, 2 threads, 2 cores:
about 0.9 s idle, 9 to 55 s at load average 3 to 4, while 1 thread stayed at 1.2 s)."""
import argparse
import gzip
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

DEFAULT_EPOCHS = {"mlp": 10, "cnn": 4}
FOLDERS = {"mnist": "mnist", "fashion": "fashion-mnist"}


# ----------------------------------------------------------------------------- data


def read_idx(folder, name):
    """The array in IDX file `name` (or `name.gz`) in `folder` (uint8 data only)."""
    path = os.path.join(folder, name)
    if os.path.exists(path):
        with open(path, "rb") as f:
            raw = f.read()
    elif os.path.exists(path + ".gz"):
        with gzip.open(path + ".gz", "rb") as f:
            raw = f.read()
    else:
        sys.exit("compare_torch: %s (or .gz) not found in %s (set --data or BORN_DATA)"
                 % (name, folder))
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        sys.exit("compare_torch: %s is not a uint8 IDX file" % path)
    ndim = raw[3]
    header = 4 + 4 * ndim
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    count = int(np.prod(dims))
    if len(raw) != header + count:
        sys.exit("compare_torch: %s holds %d bytes, its header says %d"
                 % (path, len(raw), header + count))
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def load_split(data_dir, dataset, split):
    """(images float32 [N,1,28,28] in [0,1], labels int64 [N])."""
    folder = os.path.join(data_dir, FOLDERS[dataset])
    images = read_idx(folder, "%s-images-idx3-ubyte" % split)
    labels = read_idx(folder, "%s-labels-idx1-ubyte" % split)
    if images.ndim != 3 or images.shape[1:] != (28, 28) or labels.shape != (images.shape[0],):
        sys.exit("compare_torch: unexpected shapes %s / %s in %s"
                 % (images.shape, labels.shape, folder))
    x = (images.astype(np.float32) / np.float32(255.0)).reshape(-1, 1, 28, 28)
    return x, labels.astype(np.int64)


# ----------------------------------------------------------------------------- PyTorch


def torch_model(torch, kind):
    nn = torch.nn
    if kind == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))


def run_torch(args, kind, epochs, train, test):
    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    x_train, y_train = (torch.from_numpy(a) for a in train)
    x_test, y_test = (torch.from_numpy(a) for a in test)
    model = torch_model(torch, kind)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.999), eps=1e-8)
    n = x_train.shape[0]
    steps_per_epoch = math.ceil(n / args.batch)
    total_steps = steps_per_epoch * epochs
    # lr at step t (0-based) = lr * (1 + cos(pi * t / total_steps)) / 2, stepped per batch.
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total_steps, eta_min=0.0)
    loss_fn = torch.nn.CrossEntropyLoss()
    rng = np.random.default_rng(args.seed)

    history = []
    train_seconds = 0.0
    for epoch in range(1, epochs + 1):
        perm = torch.from_numpy(rng.permutation(n))
        model.train()
        loss_sum = torch.zeros((), dtype=torch.float64)
        correct = torch.zeros((), dtype=torch.int64)
        start = time.perf_counter()
        for s in range(steps_per_epoch):
            idx = perm[s * args.batch:(s + 1) * args.batch]
            xb, yb = x_train[idx], y_train[idx]
            logits = model(xb)
            loss = loss_fn(logits, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            with torch.no_grad():
                loss_sum += loss.detach().double() * yb.shape[0]
                correct += (logits.argmax(1) == yb).sum()
        seconds = time.perf_counter() - start
        train_seconds += seconds
        test_acc = evaluate_torch(torch, model, x_test, y_test)
        history.append({"epoch": epoch, "train_loss": float(loss_sum) / n,
                        "train_accuracy": int(correct) / n, "test_accuracy": test_acc,
                        "seconds": seconds})
        print("  torch %s epoch %d: loss %.4f, train %.2f%%, test %.2f%%, %.2f s"
              % (kind, epoch, history[-1]["train_loss"], 100 * history[-1]["train_accuracy"],
                 100 * test_acc, seconds), file=sys.stderr)
    return {"framework": "torch", "version": torch.__version__, "model": kind,
            "epochs": history, "train_seconds": train_seconds,
            "test_accuracy": history[-1]["test_accuracy"], "threads": args.threads}


def evaluate_torch(torch, model, x, y):
    model.eval()
    correct = 0
    with torch.no_grad():
        for s in range(0, x.shape[0], 1000):
            correct += int((model(x[s:s + 1000]).argmax(1) == y[s:s + 1000]).sum())
    return correct / x.shape[0]


# ----------------------------------------------------------------------------- Born


def run_born(args, kind, epochs, workdir):
    if not (os.path.isfile(args.born) and os.access(args.born, os.X_OK)):
        sys.exit("compare_torch: no born binary at %s (cargo build --release -p born-std, "
                 "or --born PATH)" % args.born)
    out = os.path.join(workdir, "%s-%s.born" % (args.dataset, kind))
    summary_path = os.path.join(workdir, "%s-%s.summary.json" % (args.dataset, kind))
    cmd = [args.born, "train", args.dataset, "--model", kind, "--epochs", str(epochs),
           "--batch", str(args.batch), "--lr", repr(args.lr), "--seed", str(args.seed),
           "--threads", str(args.threads), "--data", args.data, "--out", out,
           "--summary", summary_path]
    print("  $ " + " ".join(cmd), file=sys.stderr)
    proc = subprocess.run(cmd, stdout=sys.stderr, stderr=sys.stderr)
    if proc.returncode != 0:
        sys.exit("compare_torch: born train exited with status %d" % proc.returncode)
    try:
        with open(summary_path) as f:
            summary = json.load(f)
        result = {"framework": "born", "model": kind, "epochs": summary["epochs"],
                  "train_seconds": float(summary["train_seconds"]),
                  "test_accuracy": float(summary["test_accuracy"]),
                  "threads": summary.get("threads", args.threads)}
    except (OSError, ValueError, KeyError, TypeError) as e:
        sys.exit("compare_torch: cannot read born's summary %s: %s" % (summary_path, e))
    return result


# ----------------------------------------------------------------------------- main


def default_data_dir():
    """$BORN_DATA, else ../shared/data, else the nearest shared/data above this script (a git
    worktree nested below the main checkout), as born_std::data::data_dir looks."""
    if os.environ.get("BORN_DATA"):
        return os.environ["BORN_DATA"]
    first = os.path.join("..", "shared", "data")
    if os.path.isdir(first):
        return first
    d = os.path.dirname(os.path.abspath(__file__))
    while True:
        cand = os.path.join(d, "shared", "data")
        if os.path.isdir(cand):
            return cand
        parent = os.path.dirname(d)
        if parent == d:
            return first
        d = parent


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n", 1)[1])
    p.add_argument("--dataset", choices=sorted(FOLDERS), default="mnist")
    p.add_argument("--model", choices=["mlp", "cnn", "all"], default="all")
    p.add_argument("--epochs", type=int, help="epochs (default: mlp 5, cnn 3)")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--data", default=default_data_dir(),
                   help="data directory holding mnist/ and fashion-mnist/ (default: $BORN_DATA, "
                        "else ../shared/data, else shared/data above this script's folder)")
    p.add_argument("--born", default=os.path.join("target", "release", "born"),
                   help="the born binary (default target/release/born)")
    p.add_argument("--only", choices=["torch", "born", "both"], default="both")
    p.add_argument("--workdir", help="where born's model and summary go (default: a temporary "
                                     "folder, removed afterwards)")
    args = p.parse_args()
    if args.epochs is not None and args.epochs < 1:
        p.error("--epochs must be at least 1")
    if args.batch < 1 or args.threads < 1 or not args.lr > 0:
        p.error("--batch and --threads must be at least 1, --lr positive")

    kinds = ["mlp", "cnn"] if args.model == "all" else [args.model]
    do_torch = args.only in ("torch", "both")
    do_born = args.only in ("born", "both")

    if do_torch:
        train = load_split(args.data, args.dataset, "train")
        test = load_split(args.data, args.dataset, "t10k")
    workdir = args.workdir or tempfile.mkdtemp(prefix="born-compare-")
    os.makedirs(workdir, exist_ok=True)

    rows = []
    try:
        for kind in kinds:
            epochs = args.epochs or DEFAULT_EPOCHS[kind]
            row = {"model": kind, "epochs": epochs}
            if do_torch:
                row["torch"] = run_torch(args, kind, epochs, train, test)
            if do_born:
                row["born"] = run_born(args, kind, epochs, workdir)
            if do_torch and do_born:
                row["ratio"] = row["born"]["train_seconds"] / row["torch"]["train_seconds"]
            rows.append(row)
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)

    print()
    print("%s, batch %d, lr %g, seed %d, %d threads"
          % (args.dataset, args.batch, args.lr, args.seed, args.threads))
    head = "%-5s %-6s %6s %10s %9s %9s" % ("model", "side", "epochs", "train s", "s/epoch",
                                           "test acc")
    print(head)
    print("-" * len(head))
    for row in rows:
        for side in ("torch", "born"):
            if side in row:
                r = row[side]
                print("%-5s %-6s %6d %10.2f %9.2f %8.2f%%"
                      % (row["model"], side, row["epochs"], r["train_seconds"],
                         r["train_seconds"] / row["epochs"], 100 * r["test_accuracy"]))
        if "ratio" in row:
            print("%-5s born/torch time ratio %.2fx" % (row["model"], row["ratio"]))
    print(json.dumps({"dataset": args.dataset, "batch": args.batch, "lr": args.lr,
                      "seed": args.seed, "threads": args.threads, "results": rows}))


if __name__ == "__main__":
    main()
