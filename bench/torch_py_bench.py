#!/usr/bin/env python3
"""PyTorch in Python, the anchor a user would pick today (the newest wheel from PyPI, in a virtual
environment under build/; scripts/bench runs this file with it when it is there): the matmul,
mlp, nn and cnn rows of bench/torch_bench*.cpp with the same shapes, update and timing (calibrate
to ~min_time, then 7 timed slices; 5 for the CNN step). Python's per-call cost is in these rows,
a few microseconds per op, small beside their milliseconds.
Usage: python torch_py_bench.py [group ...]   groups: info matmul mlp nn cnn profiler (default: all)"""
import os, resource, sys, time

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_info import side  # noqa: E402

SIDE = side()


def info(key, value):
    print(f"INFO\t{SIDE}\t{key}\t{value}", flush=True)


def report(group, name, threads, unit, values):
    v = sorted(values)
    print(f"BENCH\t{group}\t{name}\t{threads}\t{unit}\t{v[0]:.6g}\t{v[len(v) // 2]:.6g}\t{v[-1]:.6g}", flush=True)


def time_calls(fn, reps=7, min_time=0.2):
    for _ in range(2):
        fn()
    iters = 1
    while True:  # calibrate as bench_util.h does
        t0 = time.perf_counter()
        for _ in range(iters):
            fn()
        dt = time.perf_counter() - t0
        if dt >= min_time / 4 or iters >= 1 << 24:
            iters = max(1, int(iters * min_time / max(dt, 1e-9)))
            break
        iters *= 2
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(iters):
            fn()
        out.append((time.perf_counter() - t0) / iters)
    return out


def ms(secs):
    return [s * 1e3 for s in secs]


def print_info():
    cfg = torch.__config__.show()
    blas = "MKL" if "Math Kernel Library" in cfg else ("OpenBLAS" if "openblas" in cfg.lower() else "?")
    cap = next((l.split(":", 1)[1].strip() for l in cfg.splitlines() if "CPU capability" in l), "?")
    info("version", f"{torch.__version__}, BLAS {blas}, oneDNN {torch.backends.mkldnn.is_available()}, "
                    f"CPU capability {cap}")
    info("threads", "torch.set_num_threads per row (the threads column); its BLAS follows it")


def matmul_bench():
    for t in (1, 2):
        torch.set_num_threads(t)
        for n in (64, 128, 256, 512, 1024, 2048):
            a, b = torch.rand(n, n), torch.rand(n, n)
            secs = time_calls(lambda: torch.matmul(a, b))
            report("matmul", f"matmul n={n}", t, "GFLOP/s", [2 * n ** 3 / s / 1e9 for s in secs])


def mlp_bench():
    torch.manual_seed(0)
    p = lambda *s, scale: (torch.randn(*s) * scale).requires_grad_()
    w1, b1, w2, b2 = p(784, 256, scale=0.05), p(256, scale=0.0), p(256, 128, scale=0.08), p(128, scale=0.0)
    w3, b3 = p(128, 10, scale=0.1), p(10, scale=0.0)
    x, y = torch.rand(128, 784), torch.randint(0, 10, (128, 1))

    def step():
        h1 = torch.tanh(x @ w1 + b1)
        h2 = torch.tanh(h1 @ w2 + b2)
        loss = -torch.log_softmax(h2 @ w3 + b3, 1).gather(1, y).mean()
        for q in (w1, b1, w2, b2, w3, b3):
            q.grad = None
        loss.backward()

    for t in (1, 2):
        torch.set_num_threads(t)
        report("mlp", "fwd+bwd 784-256-128-10 tanh, batch 128", t, "ms", ms(time_calls(step, 7, 0.5)))


def layer_case(name, layer, x, t):
    xr = x.detach().requires_grad_(True)
    g = torch.ones_like(layer(xr))

    def step():
        layer.zero_grad()
        xr.grad = None
        layer(xr).backward(g)

    report("nn", name, t, "ms", ms(time_calls(step, 7, 0.3)))


def nn_bench():
    torch.manual_seed(0)
    for t in (1, 2):
        torch.set_num_threads(t)
        layer_case("Linear 784->256, batch 128", nn.Linear(784, 256), torch.rand(128, 784), t)
        layer_case("Conv2d 1->32 3x3 pad 1, 28x28, batch 128", nn.Conv2d(1, 32, 3, padding=1), torch.rand(128, 1, 28, 28), t)
        layer_case("Conv2d 32->64 3x3 pad 1, 14x14, batch 128", nn.Conv2d(32, 64, 3, padding=1),
                   torch.rand(128, 32, 14, 14), t)
        layer_case("BatchNorm2d(32) train, [128, 32, 28, 28]", nn.BatchNorm2d(32), torch.randn(128, 32, 28, 28), t)
        layer_case("MaxPool2d(2), [128, 32, 28, 28]", nn.MaxPool2d(2), torch.randn(128, 32, 28, 28), t)
        logits, y = torch.randn(128, 10).requires_grad_(), torch.randint(0, 10, (128,))

        def ce():
            logits.grad = None
            F.cross_entropy(logits, y).backward()

        report("nn", "CrossEntropyLoss, [128, 10]", t, "ms", ms(time_calls(ce, 7, 0.3)))


def cnn_bench():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3, padding=1),
                          nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))
    x, y = torch.rand(128, 1, 28, 28), torch.randint(0, 10, (128,))
    params = list(model.parameters())
    velocity = [torch.zeros_like(q) for q in params]

    def step():
        model.zero_grad()
        F.cross_entropy(model(x), y).backward()
        with torch.no_grad():
            for q, v in zip(params, velocity):
                v.mul_(0.9).add_(q.grad)
                q.sub_(v, alpha=0.01)

    for t in (1, 2):
        torch.set_num_threads(t)
        report("cnn", "Fashion-MNIST CNN train step, batch 128", t, "ms", ms(time_calls(step, 5, 1.0)))
    report("cnn", "peak RSS after the steps", 0, "MB", [resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024])


def profiler_bench():
    """add n=1 with no profile, and inside torch.profiler.profile (CPU activity; then with
    record_shapes and profile_memory): Kineto's cost per event, beside Python's per call."""
    torch.set_num_threads(1)
    a, b = torch.rand(1), torch.rand(1)
    us = lambda secs: [x * 1e6 for x in secs]
    fn = lambda: torch.add(a, b)
    report("profiler", "add n=1, no profile", 1, "us", us(time_calls(fn)))
    for full in (False, True):
        iters, secs = 50000, []
        for _ in range(7):  # each repetition its own profile, as on the C++ sides
            with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], record_shapes=full,
                                        profile_memory=full):
                t0 = time.perf_counter()
                for _ in range(iters):
                    fn()
                secs.append((time.perf_counter() - t0) / iters)
        report("profiler", "add n=1, profiling shapes+memory" if full else "add n=1, profiling", 1, "us", us(secs))


def main():
    groups = set(sys.argv[1:])
    want = lambda g: not groups or g in groups
    if want("info"):
        print_info()
    for g, fn in (("matmul", matmul_bench), ("mlp", mlp_bench), ("nn", nn_bench), ("cnn", cnn_bench),
                  ("profiler", profiler_bench)):
        if want(g):
            fn()


if __name__ == "__main__":
    main()
