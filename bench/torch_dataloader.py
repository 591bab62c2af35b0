#!/usr/bin/python3
"""PyTorch's side of the DataLoader benchmark (group "data"): the same configurations and row
names as bench/data_bench.cpp. Fashion-MNIST train, batch 128, shuffle, a map-style dataset
returning per-item tensors (float32 [1, 28, 28] in [0, 1], int64 label), default collate,
pin_memory off, the consumer does nothing; two epochs per fresh DataLoader.
Usage: /usr/bin/python3 torch_dataloader.py CONFIG [RUNS]   CONFIG: w0 procs2 procs2p"""
import os, resource, statistics, sys, time

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fmnist_idx import read_idx  # noqa: E402
from torch_info import print_info  # noqa: E402


class FMNIST(Dataset):
    def __init__(self, X, y):
        self.X, self.y = X, y.astype(np.int64)

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        return torch.from_numpy(self.X[i].astype(np.float32) / 255.0).unsqueeze(0), torch.tensor(self.y[i])


def epoch(dl):
    t0 = time.perf_counter()
    it = iter(dl)
    next(it)
    first = (time.perf_counter() - t0) * 1e3
    n = 1
    for _ in it:
        n += 1
    return first, n / (time.perf_counter() - t0)


def report(name, threads, unit, values):
    values = list(values)
    print(f"BENCH\tdata\t{name}\t{threads}\t{unit}\t{min(values):.6g}\t{statistics.median(values):.6g}\t{max(values):.6g}")


def main():
    config = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    threads = os.cpu_count()
    torch.set_num_threads(threads)
    print_info(f"data {config}")
    ds = FMNIST(read_idx("train-images-idx3-ubyte.gz").copy(), read_idx("train-labels-idx1-ubyte.gz"))
    nw, pers, label = {"w0": (0, False, "in-process (0 workers)"),
                       "procs2": (2, False, "2 worker processes"),
                       "procs2p": (2, True, "2 worker processes, persistent")}[config]
    f1, f2, b1, b2 = [], [], [], []
    for _ in range(runs):
        dl = DataLoader(ds, batch_size=128, shuffle=True, num_workers=nw, pin_memory=False, persistent_workers=pers)
        a, b = epoch(dl), epoch(dl)
        f1.append(a[0]); b1.append(a[1]); f2.append(b[0]); b2.append(b[1])
        del dl
    report(f"{label}, first batch ms (epoch 1)", threads, "ms", f1)
    report(f"{label}, first batch ms (epoch 2)", threads, "ms", f2)
    report(f"{label}, batches/s (epoch 1)", threads, "batches/s", b1)
    report(f"{label}, batches/s (epoch 2)", threads, "batches/s", b2)
    report(f"{label}, peak RSS MB (main process)", threads, "MB", [resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024])
    if nw > 0:
        report(f"{label}, peak RSS MB (largest worker)", threads, "MB",
               [resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024])


if __name__ == "__main__":
    main()
