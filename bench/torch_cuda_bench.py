#!/usr/bin/env python3
"""The `cuda` benchmark group, PyTorch's side (bench/cuda_bench.cpp is hpml's): the same cases on
the same GPU in the same run, eager mode, timed the same way (CUDA events around slices of calls,
the device synchronized). Prints BENCH and INFO lines (bench/bench_util.h's format).
Without a usable GPU (or without torch) it prints one SKIPPED line and exits 0.
Status: written, not yet run on a GPU."""
import inspect
import sys

REPS = 7


def bench(group, name, unit, values):
    v = sorted(values)
    print(f"BENCH\t{group}\t{name}\t0\t{unit}\t{v[0]:.6g}\t{v[len(v) // 2]:.6g}\t{v[-1]:.6g}", flush=True)


def gpu_times(torch, fn, iters, reps=REPS):
    for _ in range(2):
        fn()
    torch.cuda.synchronize()
    out = []
    for _ in range(reps):
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(iters):
            fn()
        stop.record()
        stop.synchronize()
        out.append(start.elapsed_time(stop) / 1e3 / iters)
    return out


def matmul_rows(torch):
    for n in (4096, 8192):
        flops = 2.0 * n ** 3
        for kind in ("f32", "tf32", "bf16"):
            torch.backends.cuda.matmul.allow_tf32 = kind == "tf32"
            dt = torch.bfloat16 if kind == "bf16" else torch.float32
            a = torch.randn(n, n, device="cuda", dtype=dt)
            b = torch.randn(n, n, device="cuda", dtype=dt)
            t = gpu_times(torch, lambda: torch.mm(a, b), 10 if n == 4096 else 3)
            bench("cuda", f"mm {kind} {n}", "TFLOP/s", [flops / s / 1e12 for s in t])
    torch.backends.cuda.matmul.allow_tf32 = False


def bandwidth_rows(torch):
    n = 1 << 28
    a, b = torch.randn(n, device="cuda"), torch.randn(n, device="cuda")
    out = torch.empty(n, device="cuda")
    t = gpu_times(torch, lambda: torch.add(a, b, out=out), 5)
    bench("cuda", "add f32 1 GiB (out=), 3 x 1 GiB moved", "GB/s", [3.0 * 4 * n / s / 1e9 for s in t])
    t = gpu_times(torch, lambda: out.copy_(a), 5)
    bench("cuda", "copy_ f32 1 GiB (the copy ceiling), 2 x 1 GiB moved", "GB/s", [2.0 * 4 * n / s / 1e9 for s in t])


def overhead_rows(torch):
    a, b = torch.ones(1, device="cuda"), torch.ones(1, device="cuda")
    out = torch.empty(1, device="cuda")
    t = gpu_times(torch, lambda: torch.add(a, b, out=out), 10000)
    bench("cuda", "add n=1 (out=), host time per op", "us", [s * 1e6 for s in t])
    t = gpu_times(torch, lambda: a + b, 10000)
    bench("cuda", "a + b n=1, host time per op", "us", [s * 1e6 for s in t])


def copy_rows(torch):
    n = 1 << 26
    host = torch.randn(n).pin_memory()
    dev = torch.empty(n, device="cuda")
    t = gpu_times(torch, lambda: host.to("cuda", non_blocking=True), 3)
    bench("cuda", "pinned to(cuda, non_blocking) 256 MiB", "GB/s", [4.0 * n / s / 1e9 for s in t])
    t = gpu_times(torch, lambda: dev.copy_(host), 3)
    bench("cuda", "pinned copy_ into a cuda tensor 256 MiB", "GB/s", [4.0 * n / s / 1e9 for s in t])


def step_rows(torch):
    nn = torch.nn
    x = torch.randn(128, 1, 28, 28, device="cuda")
    y = torch.randint(0, 10, (128,), device="cuda")

    def run(name, model):
        model = model.cuda()
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

        def step():
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            opt.step()

        bench("cuda", name, "ms", [s * 1e3 for s in gpu_times(torch, step, 50)])

    run("Fashion-MNIST MLP step, batch 128",
        nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10)))
    run("Fashion-MNIST CNN step, batch 128",
        nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3, padding=1),
                      nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10)))


def gpt(torch, vocab, block, layers, heads, width):
    """hpml's GPT (tools/hpml/gpt.h) from PyTorch's layers, as bench/torch_gpt_bench.py builds it."""
    nn = torch.nn
    # is_causal (PyTorch 2.x) lets the layer run its fused causal attention (the mask stays for 1.13).
    causal = {"is_causal": True} if "is_causal" in inspect.signature(nn.TransformerEncoderLayer.forward).parameters else {}

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte = nn.Embedding(vocab, width)
            self.wpe = nn.Embedding(block, width)
            self.h = nn.ModuleList(nn.TransformerEncoderLayer(width, heads, 4 * width, 0.0, "gelu", batch_first=True,
                                                              norm_first=True) for _ in range(layers))
            self.ln_f = nn.LayerNorm(width)
            self.lm_head = nn.Linear(width, vocab, bias=False)
            for name, p in self.named_parameters():
                if p.dim() >= 2:
                    nn.init.normal_(p, 0.0, 0.02)
                elif "norm" not in name and not name.startswith("ln_f"):
                    nn.init.zeros_(p)
            self.register_buffer("mask", torch.triu(torch.full((block, block), float("-inf")), diagonal=1))

        def forward(self, idx):
            t = idx.shape[1]
            x = self.wte(idx) + self.wpe(torch.arange(t, device=idx.device))
            mask = self.mask[:t, :t].to(x.dtype)
            for layer in self.h:
                x = layer(x, src_mask=mask, **causal)
            return self.lm_head(self.ln_f(x))

    return GPT()


def gpt_rows(torch):
    """The rows of bench/cuda_bench.cpp's gpt_rows: the same step, model and sizes."""
    cases = [("GPT step (hpml train --model gpt), batch 32 x 256, f32", (128, 256, 4, 4, 128), 32, torch.float32, 10, REPS),
             ("GPT-2 small step, batch 8 x 1024, bf16", (50257, 1024, 12, 12, 768), 8, torch.bfloat16, 1, 5)]
    for name, shape, batch, dtype, iters, reps in cases:
        torch.manual_seed(0)
        model = gpt(torch, *shape).cuda().to(dtype)
        vocab, block = shape[0], shape[1]
        opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
        x = torch.randint(0, vocab, (batch, block), device="cuda")
        y = torch.randint(0, vocab, (batch, block), device="cuda")

        def step():
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x).reshape(-1, vocab).float(), y.reshape(-1))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()

        t = gpu_times(torch, step, iters, reps)
        bench("cuda", name, "ms", [s * 1e3 for s in t])
        bench("cuda", name + ", tokens/s", "tokens/s", [batch * block / s for s in t])


def main():
    try:
        import torch
    except ImportError as e:
        print(f"SKIPPED\tcuda\tPyTorch side: no torch ({e})")
        return 0
    if not torch.cuda.is_available():
        print(f"SKIPPED\tcuda\tPyTorch side: torch {torch.__version__} sees no usable GPU")
        return 0
    # TF32 off for cuDNN too (its default is on): hpml's convolutions run in full f32.
    torch.backends.cudnn.allow_tf32 = False
    print(f"INFO\tPyTorch\tversion\t{torch.__version__} (CUDA {torch.version.cuda}, cuDNN "
          f"{torch.backends.cudnn.version()}), eager, TF32 off (matmul and cuDNN) but in the tf32 rows", flush=True)
    print(f"INFO\tPyTorch\tGPU\t{torch.cuda.get_device_name(0)}", flush=True)
    torch.manual_seed(0)
    matmul_rows(torch)
    bandwidth_rows(torch)
    overhead_rows(torch)
    copy_rows(torch)
    step_rows(torch)
    gpt_rows(torch)
    return 0


if __name__ == "__main__":
    sys.exit(main())
