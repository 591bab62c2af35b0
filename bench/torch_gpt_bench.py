#!/usr/bin/python3
"""PyTorch's side of the group "gpt" (bench/gpt_bench.cpp is hpml's), rows named as hpml's.

  torch_gpt_bench.py step         the GPT step at 1 and 2 threads: zero_grad, forward,
                                  cross_entropy, backward, clip_grad_norm_(1), AdamW(lr 3e-4) step,
                                  on random tokens, batch 32 x 256 characters, vocabulary 128
  torch_gpt_bench.py curve FILE   loads the initial weights and windows hpml's `gpt_bench curve`
                                  wrote (Note [A shared starting point] in gpt_bench.cpp), trains
                                  on them in the same order, and prints both loss curves

The model is hpml's --model gpt built from PyTorch's own layers: nn.Embedding for tokens and
positions, 4 x nn.TransformerEncoderLayer(128, 4, 512, dropout 0, gelu, batch_first, norm_first)
with a causal mask, nn.LayerNorm and a bias-free nn.Linear head; N(0, 0.02) weights as GPT-2.
PyTorch 1.13 has no fused attention on the CPU (its layer runs the composed math in training);
PyPI's PyTorch 2.x runs its own scaled_dot_product_attention inside the same layer.
Threads: torch.set_num_threads per row; OPENBLAS_NUM_THREADS=1 and OPENBLAS_CORETYPE come from
scripts/bench. Each row: min / median / max over 5 repetitions of at least 1 s.
"""
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import torch  # noqa: E402
from torch import nn  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "python"))
from safetensors_torch import read_safetensors  # noqa: E402

B, T, V, C, H, L = 32, 256, 128, 128, 4, 4


class GPT(nn.Module):
    def __init__(self, vocab=V):
        super().__init__()
        self.wte = nn.Embedding(vocab, C)
        self.wpe = nn.Embedding(T, C)
        self.drop = nn.Dropout(0.0)
        self.h = nn.ModuleList(nn.TransformerEncoderLayer(C, H, 4 * C, 0.0, "gelu", batch_first=True, norm_first=True)
                               for _ in range(L))
        self.ln_f = nn.LayerNorm(C)
        self.lm_head = nn.Linear(C, vocab, bias=False)
        for name, p in self.named_parameters():
            if p.dim() >= 2:
                nn.init.normal_(p, 0.0, 0.02)
            elif "norm" not in name and not name.startswith("ln_f"):
                nn.init.zeros_(p)
        self.register_buffer("mask", torch.triu(torch.full((T, T), float("-inf")), diagonal=1))

    def forward(self, idx):
        t = idx.shape[1]
        x = self.drop(self.wte(idx) + self.wpe(torch.arange(t)))
        for layer in self.h:
            x = layer(x, src_mask=self.mask[:t, :t])
        return self.lm_head(self.ln_f(x))


def openblas_corename():
    """The kernels this process's OpenBLAS runs (the library torch loaded, by its soname)."""
    import ctypes
    try:
        lib = ctypes.CDLL("libopenblas.so.0")
        lib.openblas_get_corename.restype = ctypes.c_char_p
        return lib.openblas_get_corename().decode()
    except (OSError, AttributeError):
        return "unknown (no libopenblas.so.0)"


def make_step(model):
    params = list(model.parameters())
    opt = torch.optim.AdamW(params, lr=3e-4)

    def step(x, y):
        opt.zero_grad(set_to_none=True)
        loss = nn.functional.cross_entropy(model(x).reshape(-1, model.lm_head.out_features), y.reshape(-1))
        loss.backward()
        nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        return loss.item()
    return step


def bench_line(name, threads, unit, values):
    v = sorted(values)
    print(f"BENCH\tgpt\t{name}\t{threads}\t{unit}\t{v[0]:.6g}\t{v[len(v) // 2]:.6g}\t{v[-1]:.6g}", flush=True)


def step_rows():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randint(0, V, (B, T), generator=g), torch.randint(0, V, (B, T), generator=g)
    for threads in (1, 2):
        torch.set_num_threads(threads)
        torch.manual_seed(0)
        step = make_step(GPT())
        for _ in range(2):
            step(x, y)
        iters, dt = 1, 0.0
        while True:
            t0 = time.perf_counter()
            for _ in range(iters):
                step(x, y)
            dt = time.perf_counter() - t0
            if dt >= 0.25:
                break
            iters *= 2
        iters = max(1, int(iters * 1.0 / dt))
        out = []
        for _ in range(5):
            t0 = time.perf_counter()
            for _ in range(iters):
                step(x, y)
            out.append((time.perf_counter() - t0) / iters * 1e3)
        bench_line("GPT step, 4 layers x 4 heads x 128, 256 chars, batch 32", threads, "ms", out)
    print(f"INFO\ttorch-gpt\tconfiguration\tPyTorch {torch.__version__}, torch.set_num_threads per row, "
          f"OpenBLAS kernels {openblas_corename()} (openblas_get_corename in this process), "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}, "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')}", flush=True)


def curve(path):
    torch.set_num_threads(2)
    t = read_safetensors(path)
    state = {k[6:]: v for k, v in t.items() if k.startswith("state.")}
    model = GPT(vocab=state["wte.weight"].shape[0])
    state["mask"] = model.mask
    model.load_state_dict(state, strict=True)
    step = make_step(model)
    x, y, theirs = t["x"], t["y"], t["loss"].tolist()
    ours = []
    t0 = time.perf_counter()
    for s in range(len(theirs)):
        ours.append(step(x[s * B:(s + 1) * B], y[s * B:(s + 1) * B]))
    secs = time.perf_counter() - t0
    print(f"INFO\tgpt\tcurve\tPyTorch {torch.__version__}: {len(ours)} steps in {secs:.1f} s")
    print("step\thpml\tPyTorch\tdifference")
    for s in sorted(set([0, 1, 2, 5, 10, 25, 50, 100, 150, 200, 300, 400, len(ours) - 1])):
        if s < len(ours):
            print(f"{s + 1}\t{theirs[s]:.4f}\t{ours[s]:.4f}\t{theirs[s] - ours[s]:+.4f}")
    worst = max(abs(a - b) for a, b in zip(theirs, ours))
    print(f"largest difference over {len(ours)} steps: {worst:.4f}")


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "curve" and len(sys.argv) == 3:
        curve(sys.argv[2])
    elif len(sys.argv) == 1 or sys.argv[1] == "step":
        step_rows()
    else:
        sys.exit("usage: torch_gpt_bench.py [step | curve FILE]")
