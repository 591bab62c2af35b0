#!/usr/bin/python3
"""PyTorch's side of the group "ddp": Debian's PyTorch 1.13, DistributedDataParallel over gloo
(the CPU backend it has), rows named as bench/ddp_bench.cpp names hpml's.

  all_reduce 1/4/16/64 MB f32, 2 ranks: bus bandwidth (bytes / time x 2(n-1)/n) of dist.all_reduce
  MLP / CNN step, 2 ranks, batch 64 per rank: zero_grad, forward, cross_entropy, backward (the
      buckets' all-reduces), SGD(lr 0.01, momentum 0.9) step, in ms, DDP with its defaults
  MLP / CNN step, 1 rank, no DDP / DDP: the same step at world size 1, plain and inside DDP, in turns

Configuration: processes started by torch.multiprocessing (spawn), gloo over 127.0.0.1; each sets
torch.set_num_threads(1), one thread per rank as on hpml's side; OPENBLAS_NUM_THREADS=1 and the
OPENBLAS_CORETYPE scripts/bench chose come from the environment. Rank 0 prints the rows;
each is min / median / max over RUNS repetitions (default 7), every rank starting each together.
Usage: torch_ddp_bench.py [RUNS]"""
import os
import socket
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
import torch.multiprocessing as mp  # noqa: E402
from torch import nn  # noqa: E402


def bench_line(name, unit, values):
    v = sorted(values)
    print(f"BENCH\tddp\t{name}\t1\t{unit}\t{v[0]:.6g}\t{v[len(v) // 2]:.6g}\t{v[-1]:.6g}", flush=True)


def timed(fn, runs, min_time):
    """Seconds per call, one value per repetition. fn holds collectives, so every rank must call
    it equally often: the calibration rounds end when rank 0 says so, and every repetition runs
    rank 0's count (Note [Every rank calls as often] in bench/ddp_bench.cpp)."""
    for _ in range(2):
        fn()
    iters = 1
    while True:
        dist.barrier()
        t0 = time.perf_counter()
        for _ in range(iters):
            fn()
        dt = time.perf_counter() - t0
        done = dt >= min_time / 4 or iters >= 1 << 20
        decision = torch.tensor([0.0 if done else 1.0, max(3.0, iters * min_time / max(dt, 1e-9))])
        dist.broadcast(decision, 0)
        if decision[0] == 0:
            iters = int(decision[1])
            break
        iters *= 2
    out = []
    for _ in range(runs):
        dist.barrier()
        t0 = time.perf_counter()
        for _ in range(iters):
            fn()
        out.append((time.perf_counter() - t0) / iters)
    return out


def mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                         nn.Linear(128, 10))


def cnn():
    return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))


def step_fn(net, model, x, y):
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step():
        opt.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    return step


def ms(v):
    return [s * 1e3 for s in v]


def worker(rank, world, port, runs):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    torch.manual_seed(rank)
    x, y = torch.randn(64, 1, 28, 28), torch.randint(0, 10, (64,))
    emit = bench_line if rank == 0 else (lambda *a: None)
    if world == 2:
        for mb in (1, 4, 16, 64):
            t = torch.ones(mb << 18)
            secs = timed(lambda: dist.all_reduce(t), runs, 0.2)
            emit(f"all_reduce {mb} MB f32, 2 ranks (bus bandwidth)", "GB/s",
                 [t.numel() * 4 / s * 2 * (world - 1) / world / 1e9 for s in secs])
        for name, make in (("MLP", mlp), ("CNN", cnn)):
            model = make()
            ddp = nn.parallel.DistributedDataParallel(model)
            emit(f"{name} step, 2 ranks, batch 64 per rank", "ms", ms(timed(step_fn(ddp, model, x, y), runs, 0.3)))
    else:
        for name, make in (("MLP", mlp), ("CNN", cnn)):
            plain, wrapped = [], []
            for _ in range(runs):  # in turns, so that noise hits both alike
                model = make()
                plain += ms(timed(step_fn(model, model, x, y), 1, 0.3))
                wrapped += ms(timed(step_fn(nn.parallel.DistributedDataParallel(model), model, x, y), 1, 0.3))
            emit(f"{name} step, 1 rank, no DDP", "ms", plain)
            emit(f"{name} step, 1 rank, DDP", "ms", wrapped)
    dist.destroy_process_group()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    runs = max(5, int(sys.argv[1])) if len(sys.argv) > 1 else 7
    print(f"INFO\ttorch-ddp\tconfiguration\tPyTorch {torch.__version__}, gloo over 127.0.0.1, 2 processes x "
          f"torch.set_num_threads(1), OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}, "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')}", flush=True)
    for world in (2, 1):
        mp.spawn(worker, args=(world, free_port(), runs), nprocs=world, join=True)


if __name__ == "__main__":
    main()
