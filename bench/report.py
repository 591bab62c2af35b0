#!/usr/bin/env python3
"""Merges the INFO and BENCH lines of the benchmark sides into one report: a header saying what
each side ran with, the machine's limits measured in the same run, and one table per group with
ratios, the share of the physical limit hpml reaches, and each group's goal.
Usage: report.py hpml.txt libtorch.txt [pypi.txt]"""
import os, sys

from report_work import limit_seconds, to_seconds


def load(path):
    rows, info = {}, []
    if not path or not os.path.exists(path):
        return rows, info
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if parts[0] == "INFO" and len(parts) == 4:
                if parts[1:] not in info:
                    info.append(parts[1:])
            elif parts[0] == "BENCH" and len(parts) == 8:
                _, group, name, threads, unit, lo, med, hi = parts
                rows[(group, name, int(threads))] = (unit, float(lo), float(med), float(hi))
    return rows, info


def cell(r, fmt="{:.3g}"):
    if r is None:
        return "n/a"
    return f"{fmt.format(r[1])} / **{fmt.format(r[2])}** / {fmt.format(r[3])}"


def ratio(h, t):
    return h[2] / t[2] if h and t and t[2] else float("nan")


def verdict(ok):
    return "meets goal" if ok else "**misses goal**"


# Each group: its title (with the goal) and the goal as a function of (key, hpml row, libtorch row,
# hpml / libtorch); None where a row has no goal. Ratios are hpml / other for every unit: for
# times lower is better, for rates (GB/s, GFLOP/s, batches/s) higher is better.
def overhead_goal(k, h, t, r):
    return r <= 1 / 3 and (k[1] != "add n=1" or h[2] <= 0.15)


def nn_goal(k, h, t, r, pct=None):
    ok = r <= 0.8
    if "Conv2d" in k[1] and "3x3" in k[1] and "32->64" in k[1]:
        ok = ok and pct is not None and pct >= 60
    return ok


GROUPS = {
    "overhead": ("Per-op overhead, µs per call (1 thread). Goals: hpml <= 1/3 of libtorch; add n=1 <= 0.15 µs",
                 overhead_goal),
    "profiler": ("The profiler's cost, µs per add n=1 (1 thread, one event per call). Goals: no profile within "
                 "10% of the overhead group's add n=1; profiling <= 1 µs per event more than no profile",
                 None),
    "bandwidth": ("Elementwise bandwidth, GB/s (16M f32, 12 bytes per element). Goals: out= >= 95% of "
                  "libtorch's out=; alloc >= 1.5x libtorch's alloc",
                  lambda k, h, t, r: r >= (0.95 if "out=" in k[1] else 1.5)),
    "matmul": ("matmul f32, GFLOP/s. Goal: hpml >= 95% of OpenBLAS sgemm called directly (the sgemm rows; "
               "the ratio column of an sgemm row is OpenBLAS in hpml's process / libtorch's matmul)", None),
    "reduce": ("Reductions over the last dim of [4096, 1024] f32, ms. Goal: hpml <= libtorch",
               lambda k, h, t, r: r <= 1.0),
    "mlp": ("MLP forward + backward with raw ops, ms per step. Goal: hpml <= 0.8x libtorch",
            lambda k, h, t, r: r <= 0.8),
    "nn": ("Layers, forward + backward, ms. Goals: hpml <= 0.8x libtorch at 1 and 2 threads; the "
           "3x3 convolution 32->64 >= 60% of the FMA peak", nn_goal),
    "cnn": ("Fashion-MNIST CNN, one training step (fwd + bwd + SGD momentum), ms. Goal: hpml <= "
            "0.45x libtorch; peak RSS <= libtorch's",
            lambda k, h, t, r: r <= (0.45 if k[1].startswith("Fashion") else 1.0)),
    "optim": ("Optimizer step over 10M f32 parameters (Linear 3162 -> 3162 + bias). Goal: hpml <= "
              "1/1.5 of libtorch's time. Both sides in one process, taking turns (Note [Optimizer steps take "
              "turns]); GB/s = bytes a fused step moves (20 / 28 per element) / time on both sides",
              lambda k, h, t, r: None if k[1].endswith("GB/s") else r <= 1 / 1.5),
    "data": ("DataLoader, Fashion-MNIST train, batch 128, shuffle. Goals: in-process >= 5x PyTorch's "
             "0-worker batches/s; 2 worker processes >= 3x PyTorch's 2-worker batches/s and first batch <= 20 "
             "ms. PyTorch: map-style dataset of per-item tensors (Debian's PyTorch in Python); rows hpml alone "
             "has are compared with the PyTorch row named in brackets", None),
    "ddp": ("Data-parallel training over MPI (hpml) and gloo (PyTorch 1.13), one thread per rank. Goals: "
            "all_reduce 1-64 MB >= 90% of a bare MPI_Allreduce of the same buffer and >= 1.5x gloo; MLP and CNN "
            "steps at 2 ranks <= 0.6x PyTorch DDP's; DDP at 1 rank <= 5% over the plain step; buckets faster than "
            "one bucket after backward; bucketing >= 2x one all-reduce per parameter (120 parameters)", None),
    "gpt": ("hpml train --model gpt's step (4 layers, 4 heads, 128 wide, 256 characters, batch 32, AdamW, "
            "clip 1) against the same model of PyTorch's layers (bench/torch_gpt_bench.py). Goals: step <= 0.6x "
            "PyTorch 1.13's at 1 and 2 threads; the fused attention's peak memory below the composed one's. "
            "Loss curves of both from the same weights on the same batches: gpt-curve.txt", None),
    "blobs": ("The blobs MLP of the lr-decay experiment (2-50-3, SGD momentum, batch 32, 200 epochs), 1 thread. "
              "Goals: hpml <= 1/3 of libtorch C++'s µs per step and <= 15 µs. libtorch "
              "runs the randperm + index_select loop; hpml's DataLoader row is compared with it",
              lambda k, h, t, r: (r <= 1 / 3 and h[2] <= 15) if k[1].endswith("us per step") else None),
    "train": ("Fashion-MNIST training end to end: `hpml train` against PyTorch (Python) with the same model, "
              "recipe and epochs, 2 threads each (bench/train_fmnist.py). Goals: CNN to >= 91% test "
              "accuracy in <= 0.45x PyTorch's wall time; MLP epoch <= 0.5x PyTorch's", None),
}

DATA_TWIN = {"in-process, per-item dataset": "in-process (0 workers)", "2 worker threads": "2 worker processes"}


def data_parts(name):
    """A data row's name as (configuration, metric): "2 worker processes, persistent, batches/s (epoch 1)"."""
    return name.split(", ", 1) if name.count(", ") == 1 else name.rsplit(", ", 1)


def other_row(rows, k):
    """The PyTorch row compared with hpml's row k (a twin for rows only hpml has)."""
    if k in rows:
        return rows[k], ""
    g, name, threads = k
    if g == "blobs":
        metric = name.rsplit(", ", 1)[1]
        return rows.get((g, f"randperm + index_select, {metric}", threads)), ""
    if g == "data":
        config, metric = data_parts(name)
        if config in DATA_TWIN:
            return rows.get((g, f"{DATA_TWIN[config]}, {metric}", threads)), f" [{DATA_TWIN[config]}]"
    if g == "matmul" and name.startswith("sgemm"):
        return rows.get((g, name.replace("sgemm", "matmul"), threads)), ""
    return None, ""


def ddp_goal(name, k, h, r, hp):
    """The ddp group's goals: against gloo, against bare MPI, and between hpml's own rows."""
    def own(other):
        row = hp.get((k[0], other, k[2]))
        return None if row is None else row[2]
    if name.startswith("all_reduce"):
        bare = own(name.replace("all_reduce", "MPI_Allreduce").replace(" (bus", ", bare (bus"))
        return bare is not None and h[2] >= 0.9 * bare and r >= 1.5
    if name.startswith(("MLP", "CNN")) and "2 ranks, batch 64 per rank" in name:
        return r <= 0.6
    if name.endswith("1 rank, DDP"):
        plain = own(name.replace(", DDP", ", no DDP"))
        return plain is not None and h[2] <= 1.05 * plain
    if name.endswith("one bucket after backward"):
        buckets = own(name.replace("one bucket after backward", "batch 64 per rank"))
        return buckets is not None and buckets < h[2]
    if name.endswith("one all-reduce per parameter"):
        buckets = own(name.replace("one all-reduce per parameter", "buckets"))
        return buckets is not None and h[2] >= 2 * buckets
    return None


def special_goal(k, h, t, r, hp):
    """Goals that need more than the row and its PyTorch twin: matmul, data, train."""
    g, name, _ = k
    if g == "matmul" and name.startswith("matmul"):
        s = hp.get((g, name.replace("matmul", "sgemm"), k[2]))
        return s is not None and h[2] / s[2] >= 0.95
    if g == "data":
        config, metric = data_parts(name)
        if "batches/s" in metric and config == "in-process (0 workers)":
            return r >= 5
        if "batches/s" in metric and config.startswith("2 worker processes"):
            return r >= 3
        if metric == "first batch ms (epoch 1)" and config.startswith("2 worker processes"):
            return h[2] <= 20
        return None
    if g == "profiler":
        base = hp.get((g, "add n=1, no profile", 1)) if name != "add n=1, no profile" else hp.get(("overhead", "add n=1", 1))
        if base is None:
            return None
        return h[2] <= base[2] * 1.1 if name == "add n=1, no profile" else h[2] - base[2] <= 1.0
    if g == "ddp":
        return ddp_goal(name, k, h, r, hp)
    if g == "gpt":
        if name.startswith("GPT step"):
            return r <= 0.6
        if name.endswith("flash, peak memory beyond the inputs"):
            math = hp.get((g, name.replace("flash", "math"), k[2]))
            return math is not None and h[2] < math[2]
        return None
    if g == "train":
        if name.startswith("CNN") and name.endswith("whole run s"):
            return r <= 0.45
        if name.startswith("MLP") and "per epoch" in name:
            return r <= 0.5
        if name.startswith("CNN") and name.endswith("accuracy %"):
            return h[2] >= 91
    return None


def percent_of_limit(k, h, limits):
    """hpml's row as a share of the physical limit measured in this run, or None."""
    unit, threads = h[0], k[2]
    fma = limits.get(("fma", threads))
    bws = {w: limits.get((w, threads)) for w in ("dram", "act", "read")}
    if unit == "GFLOP/s" and fma:
        return 100 * h[2] / fma
    if unit == "GB/s" and bws["dram"] and k[0] == "bandwidth":
        return 100 * h[2] / bws["dram"]
    secs = to_seconds(h[2], unit)
    lim = None if secs is None else limit_seconds(k[0], k[1], fma, bws)
    return None if lim is None else 100 * lim / secs


def print_header(infos, limits_rows):
    print("## What each side ran with\n")
    print("| side | what | value |\n|---|---|---|")
    for side, key, value in infos:
        print(f"| {side} | {key} | {value} |")
    print("\n## The machine's limits, measured in this run (bench/limits.cpp)\n")
    print("| limit | threads | min / **median** / max |\n|---|---|---|")
    for (_, name, threads), r in limits_rows.items():
        print(f"| {name} ({r[0]}) | {threads} | {cell(r, '{:.1f}')} |")
    print()


def print_group(g, hp, th, py):
    title, goal = GROUPS.get(g, (g, None))
    keys = [k for k in hp if k[0] == g]
    pypi_cols = any(k in py for k in keys)
    print(f"\n### {g}: {title}\n")
    head = "| case | threads | hpml | PyTorch 1.13 (Debian) | hpml / 1.13 |"
    if pypi_cols:
        head += " PyTorch (PyPI) | hpml / PyPI |"
    head += " % of limit | |"
    print(head + "\n" + "|---" * (head.count("|") - 1) + "|")
    limits = limits_of(hp)
    for k in keys:
        h = hp[k]
        t, twin = other_row(th, k)
        r = ratio(h, t)
        fmt = "{:.1f}" if h[0] in ("GB/s", "GFLOP/s") else "{:.4g}"
        pct = percent_of_limit(k, h, limits)
        if g == "nn":
            ok = goal(k, h, t, r, pct)
        elif goal is not None:
            ok = goal(k, h, t, r)
        else:
            ok = special_goal(k, h, t, r, hp)
        line = f"| {k[1]} | {k[2] or '-'} | {cell(h, fmt)} | {cell(t, fmt)}{twin} | {r:.2f} |"
        if pypi_cols:
            p, ptwin = other_row(py, k)
            line += f" {cell(p, fmt)}{ptwin} | {ratio(h, p):.2f} |"
        line += f" {'' if pct is None else f'{pct:.0f}%'} | {'' if ok is None else verdict(ok)} |"
        print(line)


def limits_of(hp):
    out = {}
    for (g, name, threads), r in hp.items():
        if g == "limits":
            which = ("fma" if name.startswith("FMA") else "read" if name.startswith("read")
                     else "act" if "activation" in name else "dram")
            out[(which, threads)] = r[2]
    return out


def main():
    (hp, hinfo), (th, tinfo) = load(sys.argv[1]), load(sys.argv[2])
    py, pinfo = load(sys.argv[3] if len(sys.argv) > 3 else None)
    print_header(hinfo + tinfo + pinfo, {k: v for k, v in hp.items() if k[0] == "limits"})
    print("PyTorch 1.13 (Debian) is libtorch from C++, and Debian's PyTorch in Python for the data and train "
          "groups. Cells: min / **median** / max over the repetitions; ratios use medians (hpml / other: for times "
          "lower is better, for rates higher). % of limit: the time the row's FLOPs and bytes need at the "
          "measured FMA peak and bandwidth at the row's sizes (the larger of the two), over hpml's time "
          "(bench/report_work.py); for a rate, hpml's rate over the limit. A convolution's FLOPs are the direct "
          "method's, so Winograd, which does fewer, may pass 100%.")
    groups = []
    for (g, _, _) in hp:
        if g not in groups and g != "limits":
            groups.append(g)
    for g in groups:
        print_group(g, hp, th, py)
    print()


if __name__ == "__main__":
    main()
