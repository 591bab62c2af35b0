"""Fashion-MNIST's IDX files as numpy arrays, for the PyTorch sides of the benchmarks."""
import gzip, os

import numpy as np

ROOT = "/usr/share/datasets/fashion-mnist"


def read_idx(name):
    """The uint8 array of one gzip'd IDX file under ROOT, shaped by its header."""
    with gzip.open(os.path.join(ROOT, name), "rb") as f:
        data = f.read()
    nd = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(nd)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * nd).reshape(dims)
