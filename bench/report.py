#!/usr/bin/env python3
"""Merges the BENCH lines of hpml's and PyTorch's sides into one table per group, with ratios
and the goal of each group (issues 2 to 6). Usage: report.py hpml.txt torch.txt"""
import sys


def load(path):
    rows = {}
    with open(path) as f:
        for line in f:
            if not line.startswith("BENCH\t"):
                continue
            _, group, name, threads, unit, lo, med, hi = line.rstrip("\n").split("\t")
            rows[(group, name, int(threads))] = (unit, float(lo), float(med), float(hi))
    return rows


def cell(r, fmt="{:.3g}"):
    if r is None:
        return "n/a"
    return f"{fmt.format(r[1])} / **{fmt.format(r[2])}** / {fmt.format(r[3])}"


def verdict(ok):
    return "meets goal" if ok else "**misses goal**"


def main():
    hp, th = load(sys.argv[1]), load(sys.argv[2])
    groups = []
    for (g, _, _) in hp:
        if g not in groups:
            groups.append(g)
    print("Cells: min / **median** / max over the repetitions. Ratios use medians.\n")
    for g in groups:
        keys = [k for k in hp if k[0] == g]
        if g == "overhead":
            print("### 1. Per-op overhead, µs per call (1 thread). Goal: hpml <= 1/3 of libtorch\n")
            print("| case | hpml | libtorch | hpml / libtorch | |\n|---|---|---|---|---|")
            for k in keys:
                h, t = hp[k], th.get(k)
                r = h[2] / t[2] if t else float("nan")
                print(f"| {k[1]} | {cell(h)} | {cell(t)} | {r:.2f} | {verdict(r <= 1 / 3)} |")
        elif g == "bandwidth":
            print("\n### 2. Elementwise bandwidth, GB/s (16M f32, 12 bytes per element). "
                  "Goal: out= >= 95% of libtorch's out=; alloc well above libtorch's alloc\n")
            print("| case | threads | hpml | libtorch | hpml / libtorch | |\n|---|---|---|---|---|---|")
            for k in keys:
                h, t = hp[k], th.get(k)
                r = h[2] / t[2] if t else float("nan")
                if "out=" in k[1]:
                    ok = r >= 0.95
                else:  # compare with libtorch's out= as the ceiling, and with its alloc
                    ok = r >= 1.5
                print(f"| {k[1]} | {k[2]} | {cell(h, '{:.1f}')} | {cell(t, '{:.1f}')} | {r:.2f} | {verdict(ok)} |")
        elif g == "matmul":
            print("\n### 3. matmul f32, GFLOP/s. Goal: hpml >= 95% of OpenBLAS sgemm called directly\n")
            print("| n | threads | hpml matmul | sgemm direct | hpml / sgemm | libtorch matmul | |\n"
                  "|---|---|---|---|---|---|---|")
            for k in keys:
                if not k[1].startswith("matmul"):
                    continue
                h = hp[k]
                s = hp.get((g, k[1].replace("matmul", "sgemm"), k[2]))
                t = th.get(k)
                r = h[2] / s[2] if s else float("nan")
                print(f"| {k[1].split('=')[1]} | {k[2]} | {cell(h, '{:.0f}')} | {cell(s, '{:.0f}')} | {r:.2f} | "
                      f"{cell(t, '{:.0f}')} | {verdict(r >= 0.95)} |")
        elif g == "reduce":
            print("\n### 4. Reductions over the last dim of [4096, 1024] f32, ms. Goal: libtorch / hpml >= 1.0\n")
            print("| op | threads | hpml | libtorch | libtorch / hpml | |\n|---|---|---|---|---|---|")
            for k in keys:
                h, t = hp[k], th.get(k)
                r = t[2] / h[2] if t else float("nan")
                print(f"| {k[1]} | {k[2]} | {cell(h)} | {cell(t)} | {r:.2f} | {verdict(r >= 1.0)} |")
        elif g == "mlp":
            print("\n### 5. MLP forward + backward with raw ops, ms per step. Goal: hpml <= 0.8 x libtorch\n")
            print("| case | threads | hpml | libtorch | hpml / libtorch | |\n|---|---|---|---|---|---|")
            for k in keys:
                h, t = hp[k], th.get(k)
                r = h[2] / t[2] if t else float("nan")
                print(f"| {k[1]} | {k[2]} | {cell(h)} | {cell(t)} | {r:.2f} | {verdict(r <= 0.8)} |")
        elif g == "nn":
            print("\n### 6. Layers, forward + backward, ms. Goal (issue 3): libtorch / hpml >= 1.0\n")
            print("| layer | threads | hpml | libtorch | libtorch / hpml | |\n|---|---|---|---|---|---|")
            for k in keys:
                h, t = hp[k], th.get(k)
                r = t[2] / h[2] if t else float("nan")
                print(f"| {k[1]} | {k[2]} | {cell(h)} | {cell(t)} | {r:.2f} | {verdict(r >= 1.0)} |")
        elif g == "cnn":
            print("\n### 7. Fashion-MNIST CNN, one training step (fwd + bwd + SGD momentum), ms. "
                  "Goal (issue 3): hpml <= 0.7 x libtorch, peak RSS <= libtorch's\n")
            print("| case | threads | hpml | libtorch | hpml / libtorch | |\n|---|---|---|---|---|---|")
            for k in keys:
                h, t = hp[k], th.get(k)
                r = h[2] / t[2] if t else float("nan")
                ok = r <= 0.7 if k[1].startswith("Fashion") else r <= 1.0
                print(f"| {k[1]} | {k[2] or '-'} | {cell(h)} | {cell(t)} | {r:.2f} | {verdict(ok)} |")
        elif g == "optim":
            print("\n### 8. Optimizer step over 10M f32 parameters (Linear 3162 -> 3162 + bias). "
                  "Goal (issue 4): libtorch / hpml >= 1.5. Both sides in one process, taking turns "
                  "(Note [Optimizer steps take turns]); GB/s = bytes a fused step moves (20 / 28 per "
                  "element) / time on both sides\n")
            print("| case | threads | hpml | libtorch | libtorch / hpml | |\n|---|---|---|---|---|---|")
            for k in keys:
                h, t = hp[k], th.get(k)
                if k[1].endswith("GB/s"):
                    r = h[2] / t[2] if t else float("nan")
                    print(f"| {k[1]} | {k[2]} | {cell(h, '{:.1f}')} | {cell(t, '{:.1f}')} | {r:.2f} | |")
                else:
                    r = t[2] / h[2] if t else float("nan")
                    print(f"| {k[1]} | {k[2]} | {cell(h)} | {cell(t)} | {r:.2f} | {verdict(r >= 1.5)} |")
        elif g == "data":
            print("\n### 9. DataLoader, Fashion-MNIST train, batch 128, shuffle (issue 5). Goals: in-process >= 5x "
                  "PyTorch's 0-worker batches/s; 2 worker processes >= 3x PyTorch's 2-worker batches/s and first "
                  "batch <= 20 ms. PyTorch: map-style dataset of per-item tensors; rows hpml alone has are "
                  "compared with the PyTorch row named in brackets\n")
            print("| case | hpml | PyTorch | hpml / PyTorch | |\n|---|---|---|---|---|")
            twin = {"in-process, per-item dataset": "in-process (0 workers)", "2 worker threads": "2 worker processes"}
            for k in keys:
                h = hp[k]
                config, metric = k[1].split(", ", 1) if k[1].count(", ") == 1 else k[1].rsplit(", ", 1)
                t = th.get(k)
                other = ""
                if t is None and config in twin:
                    t = th.get((g, f"{twin[config]}, {metric}", k[2]))
                    other = f" [{twin[config]}]"
                verdict_cell = ""
                if "batches/s" in metric:
                    r = h[2] / t[2] if t else float("nan")
                    if config == "in-process (0 workers)":
                        verdict_cell = verdict(r >= 5)
                    elif config.startswith("2 worker processes"):
                        verdict_cell = verdict(r >= 3)
                    print(f"| {k[1]} | {cell(h, '{:.0f}')} | {cell(t, '{:.0f}')}{other} | {r:.1f} | {verdict_cell} |")
                else:
                    r = h[2] / t[2] if t else float("nan")
                    if metric == "first batch ms (epoch 1)" and config.startswith("2 worker processes"):
                        verdict_cell = verdict(h[2] <= 20)
                    print(f"| {k[1]} | {cell(h)} | {cell(t)}{other} | {r:.2f} | {verdict_cell} |")
        elif g == "blobs":
            print("\n### 10. The blobs MLP of the lr-decay experiment (2-50-3, SGD momentum, batch 32, 200 epochs), "
                  "1 thread. Goal (issue 6): hpml us per step <= 1/3 of libtorch C++'s. libtorch runs the "
                  "randperm + index_select loop; hpml's DataLoader row is compared with it\n")
            print("| case | hpml | libtorch | hpml / libtorch | |\n|---|---|---|---|---|")
            for k in keys:
                h = hp[k]
                metric = k[1].rsplit(", ", 1)[1]
                t = th.get(k) or th.get((g, f"randperm + index_select, {metric}", k[2]))
                r = h[2] / t[2] if t else float("nan")
                v = verdict(r <= 1 / 3) if metric == "us per step" else ""
                print(f"| {k[1]} | {cell(h)} | {cell(t)} | {r:.2f} | {v} |")
        elif g == "train":
            print("\n### 11. Fashion-MNIST training end to end: `hpml train` against PyTorch (Python) with the same "
                  "model, recipe and epochs, 2 threads each (bench/train_fmnist.py). Goals (issue 6): CNN to >= 91% "
                  "test accuracy in <= 0.5x PyTorch's wall time; MLP epoch <= 0.5x PyTorch's\n")
            print("| case | hpml | PyTorch | hpml / PyTorch | |\n|---|---|---|---|---|")
            for k in keys:
                h, t = hp[k], th.get(k)
                r = h[2] / t[2] if t else float("nan")
                v = ""
                if k[1].startswith("CNN") and k[1].endswith("whole run s"):
                    v = verdict(r <= 0.5)
                elif k[1].startswith("MLP") and "per epoch" in k[1]:
                    v = verdict(r <= 0.5)
                elif k[1].startswith("CNN") and k[1].endswith("accuracy %"):
                    v = verdict(h[2] >= 91)
                print(f"| {k[1]} | {cell(h, '{:.4g}')} | {cell(t, '{:.4g}')} | {r:.2f} | {v} |")
    print()


if __name__ == "__main__":
    main()
