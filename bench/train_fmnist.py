#!/usr/bin/python3
"""Fashion-MNIST training, end to end (group "train"): hpml's side runs the `hpml train`
command; PyTorch's side trains the same model with the same recipe in this process, the way
PyTorch users write it (in-memory float tensors, randperm + index_select batches, no DataLoader).

  cnn: conv 1->32 3x3 p1, ReLU, maxpool 2, conv 32->64 3x3 p1, ReLU, maxpool 2, 3136->128 ReLU -> 10;
       SGD lr 0.05 momentum 0.9, cosine schedule over 6 epochs, batch 128 (the `scripts/demo` run).
  mlp: 784-256 ReLU-128 ReLU-10; SGD lr 0.1 momentum 0.9, constant lr, 3 epochs, batch 128.

Both sides evaluate the test split after every epoch, use 2 threads (PyTorch: torch.set_num_threads(2)
and OPENBLAS_NUM_THREADS=1, which scripts/bench sets) and run seeds 0..RUNS-1.
Rows: the whole run's wall time (hpml: the process, data loading, per-epoch evaluation, plots and
checkpoints included; PyTorch: everything after `import torch`), the training steps' seconds per
epoch (evaluation excluded; pooled over every epoch of every run) and the final test accuracy.
Usage: train_fmnist.py hpml|torch cnn|mlp RUNS [HPML_BINARY]"""
import csv, os, subprocess, sys, tempfile, time

RECIPES = {"cnn": {"epochs": 6, "lr": 0.05, "schedule": "cosine"},
           "mlp": {"epochs": 3, "lr": 0.1, "schedule": "none"}}


def bench_line(group, name, unit, values):
    v = sorted(values)
    print(f"BENCH\t{group}\t{name}\t2\t{unit}\t{v[0]:.6g}\t{v[len(v) // 2]:.6g}\t{v[-1]:.6g}", flush=True)


def report(model, walls, epochs, accs):
    r = RECIPES[model]
    label = f"{model.upper()} {r['epochs']} epochs" + (f" {r['schedule']}" if r["schedule"] != "none" else "")
    bench_line("train", f"{label}, whole run s", "s", walls)
    bench_line("train", f"{label}, s per epoch (training steps)", "s", epochs)
    bench_line("train", f"{label}, test accuracy %", "%", [a * 100 for a in accs])


def run_hpml(model, runs, binary):
    r = RECIPES[model]
    walls, epochs, accs = [], [], []
    for seed in range(runs):
        with tempfile.TemporaryDirectory() as out:
            cmd = [binary, "train", "--model", model, "--dataset", "fashion-mnist", "--epochs", str(r["epochs"]),
                   "--batch-size", "128", "--optimizer", "sgd", "--lr", str(r["lr"]), "--momentum", "0.9",
                   "--schedule", r["schedule"], "--seed", str(seed), "--threads", "2", "--quiet", "--out", out]
            if model == "mlp":
                cmd += ["--hidden", "256", "128"]
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True)
            walls.append(time.perf_counter() - t0)
            with open(os.path.join(out, "metrics.csv")) as f:
                rows = list(csv.DictReader(f))
            epochs += [float(row["train_seconds"]) for row in rows]
            accs.append(float(rows[-1]["test_acc"]))
    report(model, walls, epochs, accs)


def run_torch(model, runs):
    t_start = time.perf_counter()
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from fmnist_idx import read_idx
    import torch
    from torch import nn
    torch.set_num_threads(2)

    def load():
        f = lambda X: torch.from_numpy(X.copy()).float().div_(255).unsqueeze(1)
        return (f(read_idx("train-images-idx3-ubyte.gz")),
                torch.from_numpy(read_idx("train-labels-idx1-ubyte.gz").astype("int64")),
                f(read_idx("t10k-images-idx3-ubyte.gz")),
                torch.from_numpy(read_idx("t10k-labels-idx1-ubyte.gz").astype("int64")))

    def make():
        if model == "mlp":
            return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                                 nn.Linear(128, 10))
        return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                             nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))

    def evaluate(net, X, y):
        net.eval()
        correct = 0
        with torch.no_grad():
            for i in range(0, len(X), 1000):
                correct += (net(X[i:i + 1000]).argmax(1) == y[i:i + 1000]).sum().item()
        net.train()
        return correct / len(X)

    r = RECIPES[model]
    walls, epochs, accs = [], [], []
    import_s = time.perf_counter() - t_start
    for seed in range(runs):
        t0 = time.perf_counter()
        Xtr, ytr, Xte, yte = load()
        torch.manual_seed(seed)
        net = make()
        opt = torch.optim.SGD(net.parameters(), lr=r["lr"], momentum=0.9)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, r["epochs"]) if r["schedule"] == "cosine" else None
        loss_fn = nn.CrossEntropyLoss()
        n = len(Xtr)
        for _ in range(r["epochs"]):
            te = time.perf_counter()
            perm = torch.randperm(n)
            for i in range(0, n, 128):
                idx = perm[i:i + 128]
                opt.zero_grad()
                loss = loss_fn(net(Xtr.index_select(0, idx)), ytr.index_select(0, idx))
                loss.backward()
                opt.step()
            if sched:
                sched.step()
            epochs.append(time.perf_counter() - te)
            acc = evaluate(net, Xte, yte)
        walls.append(time.perf_counter() - t0)
        accs.append(acc)
    from torch_info import print_info
    print_info(f"train {model}, import {import_s:.1f} s not counted")
    report(model, walls, epochs, accs)


def main():
    if len(sys.argv) < 4 or sys.argv[1] not in ("hpml", "torch") or sys.argv[2] not in RECIPES:
        sys.exit(__doc__)
    side, model, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if side == "hpml":
        run_hpml(model, runs, sys.argv[4] if len(sys.argv) > 4 else "build/release/tools/hpml/hpml")
    else:
        run_torch(model, runs)


if __name__ == "__main__":
    main()
