#!/usr/bin/python3
"""PyTorch side of the hpml safetensors interop test (tests/nn/interop_test.cpp).

  write <path>  build the fixed model, seed it, run one training-mode forward (so BatchNorm's
                running statistics are non-trivial), switch to eval, and write its state dict plus
                "input" and the eval "output" into one safetensors file.
  check <path>  read a file written by hpml (state dict + "input" + hpml's "output"), load the
                state dict into the same model, run it in eval mode, and exit 0 iff the outputs match.

Debian has no safetensors package, so the format is read and written here with struct and json.
"""
import json
import struct
import sys

import torch
from torch import nn

DTYPES = {  # safetensors name -> (torch dtype, struct code)
    "F32": (torch.float32, "f"),
    "F64": (torch.float64, "d"),
    "I64": (torch.int64, "q"),
    "I32": (torch.int32, "i"),
    "U8": (torch.uint8, "B"),
    "BOOL": (torch.bool, "?"),
}
NAME_OF = {dt: (name, code) for name, (dt, code) in DTYPES.items()}
ATOL, RTOL = 1e-5, 1e-4


def make_model():
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(4 * 4 * 4, 3))


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous()
        dname, code = NAME_OF[t.dtype]
        values = t.reshape(-1).tolist()
        blob = struct.pack("<%d%s" % (len(values), code), *values)
        header[name] = {"dtype": dname, "shape": list(t.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError("%s: shorter than 8 bytes" % path)
    (n,) = struct.unpack("<Q", data[:8])
    if 8 + n > len(data):
        raise ValueError("%s: header length %d past the end" % (path, n))
    header = json.loads(data[8:8 + n].decode())
    body = data[8 + n:]
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        dt, code = DTYPES[e["dtype"]]
        begin, end = e["data_offsets"]
        count = 1
        for s in e["shape"]:
            count *= s
        if not (0 <= begin <= end <= len(body)) or end - begin != count * struct.calcsize("<" + code):
            raise ValueError("%s: bad data_offsets for %s" % (path, name))
        values = struct.unpack("<%d%s" % (count, code), body[begin:end])
        out[name] = torch.tensor(values, dtype=dt).reshape(e["shape"])
    return out


def write(path):
    torch.manual_seed(1234)
    model = make_model()
    model.train()
    model(torch.randn(8, 1, 8, 8) * 2 + 0.5)  # one training forward: running stats move
    model.eval()
    x = torch.randn(2, 1, 8, 8)
    with torch.no_grad():
        y = model(x)
    tensors = dict(model.state_dict())
    tensors["input"] = x
    tensors["output"] = y
    write_safetensors(path, tensors)
    print("wrote %s: %d tensors" % (path, len(tensors)))
    return 0


def check(path):
    tensors = read_safetensors(path)
    x, expected = tensors.pop("input"), tensors.pop("output")
    model = make_model()
    model.load_state_dict(tensors, strict=True)
    model.eval()
    with torch.no_grad():
        y = model(x)
    if y.shape != expected.shape:
        print("shape mismatch: torch %s, hpml %s" % (tuple(y.shape), tuple(expected.shape)))
        return 1
    err = (y - expected).abs().max().item()
    ok = torch.allclose(y, expected, atol=ATOL, rtol=RTOL)
    print("max abs error %.3g (atol %g, rtol %g): %s" % (err, ATOL, RTOL, "match" if ok else "MISMATCH"))
    return 0 if ok else 1


def main(argv):
    if len(argv) != 3 or argv[1] not in ("write", "check"):
        print("usage: safetensors_torch.py write|check <path>", file=sys.stderr)
        return 2
    return write(argv[2]) if argv[1] == "write" else check(argv[2])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
