#!/usr/bin/env python3
"""The `cuda` group's table: hpml's rows (bench/cuda_bench.cpp) beside PyTorch's on the same GPU
(bench/torch_cuda_bench.py), the ratio of medians, and issue 18's goal for each row.
Usage: cuda_report.py hpml.txt torch.txt   (prints Markdown; exit 0 whatever the verdicts)"""
import sys

from report import cell, load, ratio

CEILING = "cudaMemcpyAsync pinned 256 MiB (the ceiling)"


def goal(name, h, t, rows):
    """(goal text, met?) for a row; met is None where the row has no goal or nothing to compare."""
    r = ratio(h, t)
    if name.startswith("mm "):
        return ">= 95% of torch.mm", None if r != r else r >= 0.95
    if name.startswith("add f32"):
        return ">= 95% of PyTorch's GB/s", None if r != r else r >= 0.95
    if name.startswith("pinned"):
        peak = rows.get(("cuda", CEILING, 0))
        if not peak:
            return ">= 90% of cudaMemcpyAsync's rate", None
        return f">= 90% of cudaMemcpyAsync's rate (hpml {100 * h[2] / peak[2]:.0f}%)", h[2] >= 0.9 * peak[2]
    if name.endswith("host time per op"):
        return ("<= 0.5x libtorch C++'s (this is PyTorch from Python: not the goal's comparison)", None)
    if name.endswith("step, batch 128"):
        return "<= 0.5x PyTorch eager's", None if r != r else r <= 0.5
    if name.startswith("GPT") and name.endswith(("f32", "bf16")):
        return "<= 0.7x PyTorch eager's", None if r != r else r <= 0.7
    if name.endswith("step, batch 128, cuda graph"):  # t: PyTorch's eager step (main)
        return "<= 0.2x PyTorch eager's", None if r != r else r <= 0.2
    return "", None


def main():
    (hp, hinfo), (th, tinfo) = load(sys.argv[1]), load(sys.argv[2])
    print("| side | what | value |\n|---|---|---|")
    for side, key, value in hinfo + tinfo:
        print(f"| {side} | {key} | {value} |")
    print("\nCells: min / **median** / max of 7 timed slices (5 for GPT-2 small); ratio = hpml / PyTorch (medians: for times lower "
          "is better, for rates higher).\n")
    print("| case | unit | hpml | PyTorch | hpml / PyTorch | goal | |\n|---|---|---|---|---|---|---|")
    for (g, name, threads), h in hp.items():
        if g != "cuda":
            continue
        # a graphed step is judged against PyTorch's eager one
        t = th.get((g, name.removesuffix(", cuda graph"), threads))
        text, ok = goal(name, h, t, hp)
        r = ratio(h, t)
        verdict = "" if ok is None else ("meets goal" if ok else "**misses goal**")
        print(f"| {name} | {h[0]} | {cell(h)} | {cell(t)} | {'' if r != r else f'{r:.2f}'} | {text} | {verdict} |")
    if not any(g == "cuda" for (g, _, _) in hp):
        print("| (no hpml rows: see the SKIPPED lines of the logs) | | | | | | |")


if __name__ == "__main__":
    main()
