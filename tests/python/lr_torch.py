#!/usr/bin/python3
"""PyTorch side of hpml's learning-rate scheduler tests (tests/optim/lr_scheduler_test.cpp).

  lr_torch.py CASES.json OUT.safetensors

CASES.json: {"steps": S, "groups": [{"lr": .., "momentum": ..}, ...], "cases": [{"name": N,
"scheduler": SPEC, "metric": M (ReduceLROnPlateau only), "epochs": "quarter" (optional)}, ...]}.
SPEC = {"type": a torch.optim.lr_scheduler class name, "kwargs": {...}}: its keyword arguments,
where "lr_lambda" and "scale_fn" name one of the functions below (or a list of names), and
"schedulers" (SequentialLR, ChainedScheduler) is a list of SPECs built on the same optimizer first.
Every case gets a fresh SGD over one f64 parameter per group (options from "groups"). After
the scheduler is made and after each of S steps (step(), step(metric(M, k)) for ReduceLROnPlateau,
step(0.25 (k + 1)) for "quarter", k = 0 .. S-1) it records every group's lr, momentum and
get_last_lr(): "<name>.lr", "<name>.momentum", "<name>.last_lr", f64 of shape [S + 1, groups].
hpml's test builds the same schedulers from the same file, with the same functions.
"""
import json
import os
import sys
import warnings

import torch
from torch.optim import lr_scheduler

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_torch import write_safetensors  # noqa: E402

# The same functions as `lambda_named` / `scale_fn_named` in lr_scheduler_test.cpp.
LAMBDAS = {
    "pow095": lambda e: 0.95 ** e,
    "step30": lambda e: e // 30,
    "lin200": lambda e: 1 - e / 200,
    "const09": lambda e: 0.9,
    "alt": lambda e: 1.02 if e % 3 else 0.9,
}
SCALE_FNS = {"inv1p": lambda x: 1.0 / (1.0 + x)}


def metric(name, k):
    """The metric fed to ReduceLROnPlateau at step k (as `metric` in lr_scheduler_test.cpp)."""
    if name == "plateau":  # falls, then flattens out with small bumps
        return 1.0 / (1.0 + 0.05 * min(k, 30)) + 0.001 * ((7 * k) % 11)
    if name == "rise":  # rises, then flattens out with small bumps
        return 1.0 - 1.0 / (1.0 + 0.1 * min(k, 25)) + 0.002 * ((5 * k) % 7)
    raise ValueError("unknown metric " + name)


def named(table, v):
    return [table[x] for x in v] if isinstance(v, list) else table[v]


def build(opt, spec):
    kind, kw = spec["type"], dict(spec.get("kwargs", {}))
    if "schedulers" in kw:
        kw["schedulers"] = [build(opt, s) for s in kw["schedulers"]]
        if kind == "ChainedScheduler":
            return lr_scheduler.ChainedScheduler(**kw)
    if "lr_lambda" in kw:
        kw["lr_lambda"] = named(LAMBDAS, kw["lr_lambda"])
    if "scale_fn" in kw:
        kw["scale_fn"] = named(SCALE_FNS, kw["scale_fn"])
    return getattr(lr_scheduler, kind)(opt, **kw)


def run_case(case, spec, out):
    groups = [dict(params=[torch.zeros(3, dtype=torch.float64, requires_grad=True)], **g) for g in spec["groups"]]
    opt = torch.optim.SGD(groups, lr=groups[0]["lr"])
    sched = build(opt, case["scheduler"])
    rows = {"lr": [], "momentum": [], "last_lr": []}

    def record():
        rows["lr"].append([g["lr"] for g in opt.param_groups])
        rows["momentum"].append([g["momentum"] for g in opt.param_groups])
        # _last_lr: what get_last_lr() returns (1.13's ReduceLROnPlateau has the attribute, not the
        # method, and only after its first step: the lrs before).
        rows["last_lr"].append(list(getattr(sched, "_last_lr", rows["lr"][-1])))

    record()
    for k in range(spec["steps"]):
        if "metric" in case:
            sched.step(metric(case["metric"], k))
        elif case.get("epochs") == "quarter":
            sched.step(0.25 * (k + 1))
        else:
            sched.step()
        record()
    for key, v in rows.items():
        out["%s.%s" % (case["name"], key)] = torch.tensor(v, dtype=torch.float64)


def main(argv):
    if len(argv) != 3:
        sys.exit(__doc__)
    warnings.simplefilter("ignore")  # step() before optimizer.step(), step(epoch) deprecation
    with open(argv[1]) as f:
        spec = json.load(f)
    out = {}
    for case in spec["cases"]:
        run_case(case, spec, out)
    write_safetensors(argv[2], out)


if __name__ == "__main__":
    main(sys.argv)
