#!/usr/bin/python3
"""PyTorch side of hpml's optimizer tests (tests/optim/): torch.optim's trajectories as a fixture.

  optim_torch.py CASES.json OUT.safetensors

CASES.json: {"steps": S, "cases": [{"name": N, "optimizer": "SGD" | "Adagrad" | ..., "groups":
[{"size": n, "options": {...torch.optim keyword arguments...}}, ...]}, ...]}. For every case, group
j holds one f64 parameter of n elements starting at p0[i] = sin(0.37 i + 1.3 j); before step k
(0-based) its gradient is g[i] = cos(0.11 (k + 1) i + 0.7 j) + 0.05 k - 0.3. Writes the parameter
after each step as "<name>.<k + 1>.<j>" (f64). hpml's test builds the same inputs from the same
formulas, so the two sides share nothing but this file format.
"""
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_torch import write_safetensors  # noqa: E402

OPTIMIZERS = {
    "SGD": torch.optim.SGD,
    "Adagrad": torch.optim.Adagrad,
    "Adadelta": torch.optim.Adadelta,
    "RMSprop": torch.optim.RMSprop,
    "Adam": torch.optim.Adam,
    "AdamW": torch.optim.AdamW,
}


def initial(n, j):
    return torch.tensor([math.sin(0.37 * i + 1.3 * j) for i in range(n)], dtype=torch.float64)


def gradient(n, j, k):
    return torch.tensor([math.cos(0.11 * (k + 1) * i + 0.7 * j) + 0.05 * k - 0.3 for i in range(n)],
                        dtype=torch.float64)


def run_case(case, steps, out):
    params = [initial(g["size"], j).requires_grad_() for j, g in enumerate(case["groups"])]
    groups = [dict(params=[p], **g["options"]) for p, g in zip(params, case["groups"])]
    for g in groups:
        if "betas" in g:
            g["betas"] = tuple(g["betas"])
    # The first group's options are also the constructor's arguments: Adagrad reads
    # initial_accumulator_value from its constructor only, not from the groups.
    defaults = {k: v for k, v in groups[0].items() if k != "params"}
    opt = OPTIMIZERS[case["optimizer"]](groups, **defaults)
    for k in range(steps):
        for j, p in enumerate(params):
            p.grad = gradient(p.numel(), j, k)
        opt.step()
        for j, p in enumerate(params):
            out["%s.%d.%d" % (case["name"], k + 1, j)] = p.detach().clone()


def main(argv):
    if len(argv) != 3:
        sys.exit(__doc__)
    with open(argv[1]) as f:
        spec = json.load(f)
    out = {}
    for case in spec["cases"]:
        run_case(case, spec["steps"], out)
    write_safetensors(argv[2], out)


if __name__ == "__main__":
    main(sys.argv)
