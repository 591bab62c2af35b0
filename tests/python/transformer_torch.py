#!/usr/bin/python3
"""PyTorch side of the attention-layer parity tests (tests/nn/transformer_parity_test.cpp).

  write <case> <path>  seed, build the case's module in float64, run it on random inputs with its
                       masks, backpropagate a random output gradient, and write into one
                       safetensors file: the state dict ("state.<name>"), the inputs ("in.<name>"),
                       the outputs ("out.<name>"), the output gradients ("gout.<name>") and every
                       input's and parameter's gradient ("grad.in.<name>", "grad.state.<name>").
  check <case> <path>  read a file hpml wrote (its module's state dict, inputs and outputs), load
                       the state dict strictly into the case's module and exit 0 iff the outputs match.

Cases: mha_cross (MultiheadAttention, key/value of another length, key_padding_mask, float
attn_mask, weights averaged), mha_self_causal (batch_first, causal attn_mask, no weights),
mha_heads (per-head weights, unbatched), encoder_post (post-norm, relu, key padding),
encoder_pre (norm_first, gelu, batch_first, causal), decoder_post and decoder_pre.
PyTorch 1.13 has no is_causal argument: where hpml is told is_causal, the mask is given here.
Dropout is 0 and the modules stay in training mode (1.13's inference fast path is not taken).
"""
import sys

import torch
from torch import nn

from safetensors_torch import read_safetensors, write_safetensors

ATOL, RTOL = 1e-10, 1e-10
E, H = 8, 2


def causal(L):
    return torch.triu(torch.ones(L, L, dtype=torch.bool), diagonal=1)  # True: not allowed


def case(name):
    """(module, inputs dict, function(module, inputs) -> outputs dict)."""
    g = torch.Generator().manual_seed(7)
    rnd = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64)
    if name == "mha_cross":
        m = nn.MultiheadAttention(E, H)
        pad = torch.zeros(3, 6, dtype=torch.bool)
        pad[1, 4:] = True
        ins = {"query": rnd(5, 3, E), "key": rnd(6, 3, E), "value": rnd(6, 3, E), "key_padding_mask": pad,
               "attn_mask": rnd(5, 6)}
        def run(m, i):
            o, w = m(i["query"], i["key"], i["value"], key_padding_mask=i["key_padding_mask"],
                     attn_mask=i["attn_mask"])
            return {"output": o, "weights": w}
    elif name == "mha_self_causal":
        m = nn.MultiheadAttention(E, H, batch_first=True)
        ins = {"x": rnd(2, 7, E)}
        def run(m, i):
            o, _ = m(i["x"], i["x"], i["x"], attn_mask=causal(7), need_weights=False)
            return {"output": o}
    elif name == "mha_heads":
        m = nn.MultiheadAttention(E, H)
        ins = {"query": rnd(4, E), "key": rnd(5, E), "value": rnd(5, E)}
        def run(m, i):
            o, w = m(i["query"], i["key"], i["value"], average_attn_weights=False)
            return {"output": o, "weights": w}
    elif name in ("encoder_post", "encoder_pre"):
        pre = name == "encoder_pre"
        m = nn.TransformerEncoderLayer(E, H, dim_feedforward=16, dropout=0.0, activation="gelu" if pre else "relu",
                                       batch_first=pre, norm_first=pre)
        ins = {"src": rnd(2, 6, E) if pre else rnd(6, 2, E)}
        if not pre:
            pad = torch.zeros(2, 6, dtype=torch.bool)
            pad[0, 5] = True
            ins["src_key_padding_mask"] = pad
        def run(m, i):
            if pre:
                return {"output": m(i["src"], src_mask=causal(6))}
            return {"output": m(i["src"], src_key_padding_mask=i["src_key_padding_mask"])}
    elif name in ("decoder_post", "decoder_pre"):
        pre = name == "decoder_pre"
        m = nn.TransformerDecoderLayer(E, H, dim_feedforward=16, dropout=0.0, batch_first=pre, norm_first=pre)
        pad = torch.zeros(2, 4, dtype=torch.bool)
        pad[1, 3] = True
        ins = {"tgt": rnd(2, 5, E) if pre else rnd(5, 2, E), "memory": rnd(2, 4, E) if pre else rnd(4, 2, E),
               "memory_key_padding_mask": pad}
        def run(m, i):
            return {"output": m(i["tgt"], i["memory"], tgt_mask=causal(5),
                                memory_key_padding_mask=i["memory_key_padding_mask"])}
    else:
        raise SystemExit("unknown case %r" % name)
    torch.manual_seed(11)
    m = m.double()
    m.train()
    return m, ins, run


def write(name, path):
    m, ins, run = case(name)
    for t in ins.values():
        if t.dtype == torch.float64:
            t.requires_grad_(True)
    outs = run(m, ins)
    g = torch.Generator().manual_seed(3)
    gouts = {k: torch.randn(v.shape, generator=g, dtype=torch.float64) for k, v in outs.items()}
    torch.autograd.backward(list(outs.values()), list(gouts.values()))
    tensors = {}
    for k, v in m.state_dict().items():
        tensors["state." + k] = v
    for k, v in ins.items():
        tensors["in." + k] = v
        if v.grad is not None:
            tensors["grad.in." + k] = v.grad
    for k, v in outs.items():
        tensors["out." + k] = v
        tensors["gout." + k] = gouts[k]
    for k, p in m.named_parameters():
        tensors["grad.state." + k] = p.grad
    write_safetensors(path, tensors)
    print("wrote %s: %d tensors" % (path, len(tensors)))
    return 0


def check(name, path):
    m, _, run = case(name)
    t = read_safetensors(path)
    state = {k[6:]: v for k, v in t.items() if k.startswith("state.")}
    ins = {k[3:]: v for k, v in t.items() if k.startswith("in.")}
    m.load_state_dict(state, strict=True)
    with torch.no_grad():
        outs = run(m, ins)
    ok = True
    for k, v in outs.items():
        want = t["out." + k]
        good = v.shape == want.shape and torch.allclose(v, want, atol=ATOL, rtol=RTOL)
        err = (v - want).abs().max().item() if v.shape == want.shape else float("nan")
        print("%s: max abs error %.3g: %s" % (k, err, "match" if good else "MISMATCH"))
        ok = ok and good
    return 0 if ok else 1


def main(argv):
    if len(argv) != 4 or argv[1] not in ("write", "check"):
        print("usage: transformer_torch.py write|check <case> <path>", file=sys.stderr)
        return 2
    return write(argv[2], argv[3]) if argv[1] == "write" else check(argv[2], argv[3])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
