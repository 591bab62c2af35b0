#!/usr/bin/python3
"""PyTorch side of hpml's sampler tests (tests/data/sampler_test.cpp): what torch.utils.data's
samplers yield where no random numbers are involved, printed as JSON on stdout.

  sampler_torch.py

{"distributed": [{"n", "replicas", "drop_last", "len", "ranks": [[indices of rank 0], ...]}, ...],
 "batch": [{"n", "batch_size", "drop_last", "len", "batches": [[...], ...]}, ...],
 "random_len": [{"n", "replacement", "num_samples", "len", "count"}, ...]}

DistributedSampler runs with shuffle=False over range(n); BatchSampler over SequentialSampler;
RandomSampler's length and the number of indices one epoch yields.
"""
import json
import sys

import torch
from torch.utils.data import BatchSampler, RandomSampler, SequentialSampler
from torch.utils.data.distributed import DistributedSampler


def main():
    out = {"distributed": [], "batch": [], "random_len": []}
    for n in [0, 1, 2, 3, 5, 7, 8, 10, 13, 16, 17]:
        for replicas in [1, 2, 3, 4, 8]:
            for drop_last in [False, True]:
                ranks = [list(DistributedSampler(range(n), num_replicas=replicas, rank=r, shuffle=False,
                                                 drop_last=drop_last)) for r in range(replicas)]
                length = len(DistributedSampler(range(n), num_replicas=replicas, rank=0, shuffle=False,
                                                drop_last=drop_last))
                out["distributed"].append(dict(n=n, replicas=replicas, drop_last=drop_last, len=length, ranks=ranks))
    for n in [0, 1, 5, 9, 10, 11, 64]:
        for batch_size in [1, 2, 3, 10, 64, 100]:
            for drop_last in [False, True]:
                bs = BatchSampler(SequentialSampler(range(n)), batch_size, drop_last)
                out["batch"].append(dict(n=n, batch_size=batch_size, drop_last=drop_last, len=len(bs),
                                         batches=list(bs)))
    torch.manual_seed(0)
    for n in [1, 3, 10]:
        for replacement in [False, True]:
            for num_samples in [None, 1, 2, 7, 10, 25, 64, 65]:
                s = RandomSampler(range(n), replacement=replacement, num_samples=num_samples)
                out["random_len"].append(dict(n=n, replacement=replacement, num_samples=num_samples, len=len(s),
                                              count=len(list(s))))
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
