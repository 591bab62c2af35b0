#!/usr/bin/python3
"""PyTorch side of the recurrent-layer safetensors interop test (tests/nn/rnn_interop_test.cpp).

  write <path>  build the fixed model (a 2-layer bidirectional batch_first LSTM and a 2-layer GRU),
                seed it, and write its state dict plus the inputs ("lstm_input", "lstm_h0", "lstm_c0",
                "gru_input") and what PyTorch computes from them ("lstm_output", "lstm_h_n", "lstm_c_n",
                "gru_output", "gru_h_n") into one safetensors file.
  check <path>  read a file of the same layout written by hpml, load the state dict into the same model,
                run it, and exit 0 iff every output matches hpml's.

The safetensors reading and writing is safetensors_torch.py's (Debian has no safetensors package).
"""
import os
import sys

import torch
from torch import nn

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_torch import read_safetensors, write_safetensors  # noqa: E402

ATOL, RTOL = 1e-5, 1e-4
INPUTS = ("lstm_input", "lstm_h0", "lstm_c0", "gru_input")
OUTPUTS = ("lstm_output", "lstm_h_n", "lstm_c_n", "gru_output", "gru_h_n")


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(3, 5, num_layers=2, batch_first=True, bidirectional=True)
        self.gru = nn.GRU(4, 3, num_layers=2)

    def forward(self, t):
        y, (h, c) = self.lstm(t["lstm_input"], (t["lstm_h0"], t["lstm_c0"]))
        g, gh = self.gru(t["gru_input"])
        return {"lstm_output": y, "lstm_h_n": h, "lstm_c_n": c, "gru_output": g, "gru_h_n": gh}


def write(path):
    torch.manual_seed(4321)
    model = Net().eval()
    t = {"lstm_input": torch.randn(2, 6, 3), "lstm_h0": torch.randn(4, 2, 5) * 0.5,
         "lstm_c0": torch.randn(4, 2, 5) * 0.5, "gru_input": torch.randn(7, 3, 4)}
    with torch.no_grad():
        out = model(t)
    tensors = dict(model.state_dict())
    tensors.update(t)
    tensors.update(out)
    write_safetensors(path, tensors)
    print("wrote %s: %d tensors" % (path, len(tensors)))
    return 0


def check(path):
    tensors = read_safetensors(path)
    t = {k: tensors.pop(k) for k in INPUTS}
    expected = {k: tensors.pop(k) for k in OUTPUTS}
    model = Net().eval()
    model.load_state_dict(tensors, strict=True)
    with torch.no_grad():
        out = model(t)
    ok = True
    for k in OUTPUTS:
        if out[k].shape != expected[k].shape:
            print("%s: shape mismatch: torch %s, hpml %s" % (k, tuple(out[k].shape), tuple(expected[k].shape)))
            ok = False
            continue
        err = (out[k] - expected[k]).abs().max().item()
        match = torch.allclose(out[k], expected[k], atol=ATOL, rtol=RTOL)
        print("%s: max abs error %.3g (atol %g, rtol %g): %s" % (k, err, ATOL, RTOL, "match" if match else "MISMATCH"))
        ok = ok and match
    return 0 if ok else 1


def main(argv):
    if len(argv) != 3 or argv[1] not in ("write", "check"):
        print("usage: rnn_torch.py write|check <path>", file=sys.stderr)
        return 2
    return write(argv[2]) if argv[1] == "write" else check(argv[2])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
