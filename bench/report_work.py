"""The work each benchmark row does, as (FLOPs, bytes, which bandwidth) per timed call, for the
"% of limit" column of bench/report.py: the row's time at the measured limits is
max(FLOPs / FMA peak, bytes / bandwidth), with the bandwidth bench/limits.cpp measured at the
row's sizes: "dram" (16M f32 add), "act" (an add over a [128, 32, 28, 28] activation), "read"
(a sum over [4096, 1024]). FLOPs count a multiply-add as 2, and a convolution as the direct method's (Winograd
does fewer: its share of the limit may exceed what the direct method could reach). Bytes are the
least traffic to memory a fused implementation could have, for tensors larger than the caches;
tensors that fit in L2 count 0. Rows not listed get no limit (overhead-bound rows)."""
def mm(m, n, k):
    return 2.0 * m * n * k


def conv(batch, cin, cout, hw, k=3):
    return 2.0 * batch * cout * hw * cin * k * k


# One layer's forward + backward (grad input, grad weight): three products of the same size.
LINEAR_784_256 = 3 * mm(128, 256, 784)
CONV_1_32 = 3 * conv(128, 1, 32, 28 * 28)
CONV_32_64 = 3 * conv(128, 32, 64, 14 * 14)
# The raw-op MLP 784-256-128-10: forward, grad weights, and grad inputs but the first layer's.
MLP_FWD = mm(128, 256, 784) + mm(128, 128, 256) + mm(128, 10, 128)
MLP = 2 * MLP_FWD + mm(128, 128, 256) + mm(128, 10, 128)
# The Fashion-MNIST CNN, batch 128: conv1 forward + grad weight (its input needs no gradient),
# conv2 and the two Linear layers forward + both gradients.
CNN_STEP = 2 * conv(128, 1, 32, 784) + CONV_32_64 + 3 * mm(128, 128, 3136) + 3 * mm(128, 10, 128)
CNN_PER_SAMPLE = CNN_STEP / 128
MLP_TRAIN_PER_SAMPLE = (2 * (mm(1, 256, 784) + mm(1, 128, 256) + mm(1, 10, 128)) + mm(1, 128, 256) +
                        mm(1, 10, 128))
FMNIST_TRAIN = 60000
# The GPT of the gpt group (4 blocks, C = 128, 4 heads of 32, T = 256, batch 32, vocabulary 128):
# every Linear forward + both gradients (qkv 3C^2, out C^2, feed-forward 2 x 4C^2, the head),
# and the causal attention as the fused kernel computes it: of the 4 x 4 tiles of 64 x 64 in
# [T, T], the 10 on or below the diagonal; a tile is 2 products forward (q k^T, p v) and 5
# backward (q k^T again, dv, dp, dq, dk), each 64 x 64 x 32.
GPT_TOKENS, GPT_C = 32 * 256, 128
GPT_LINEAR = 4 * 3 * mm(GPT_TOKENS, 12 * GPT_C, GPT_C) + 3 * mm(GPT_TOKENS, 128, GPT_C)
GPT_ATTENTION = 4 * (32 * 4) * 10 * 7 * mm(64, 64, 32)
GPT_STEP = GPT_LINEAR + GPT_ATTENTION

ACT_32_28 = 128 * 32 * 28 * 28 * 4  # a [128, 32, 28, 28] f32 tensor, bytes
X_4096_1024 = 4096 * 1024 * 4  # the reduce rows' input, bytes

WORK = {
    # softmax: read x, write y (an add's mix of reads and writes); the rest read x only
    ("reduce", "softmax"): (0, 2 * X_4096_1024, "act"),
    ("reduce", "log_softmax"): (0, 2 * X_4096_1024, "act"),
    ("reduce", "sum"): (0, X_4096_1024, "read"),
    ("reduce", "mean"): (0, X_4096_1024, "read"),
    ("reduce", "var"): (0, X_4096_1024, "read"),
    ("mlp", "fwd+bwd 784-256-128-10 tanh, batch 128"): (MLP, 0, "act"),
    ("nn", "Linear 784->256, batch 128"): (LINEAR_784_256, 0, "act"),
    # output 12.8 MB written, its gradient read by grad input and grad weight
    ("nn", "Conv2d 1->32 3x3 pad 1, 28x28, batch 128"): (CONV_1_32, 3 * ACT_32_28, "act"),
    # input x 3.2 MB, output y 6.4 MB: read x, write y; read gy twice, x once; write gx
    ("nn", "Conv2d 32->64 3x3 pad 1, 14x14, batch 128"): (CONV_32_64, 3 * 128 * 32 * 196 * 4 + 3 * 128 * 64 * 196 * 4,
                                                           "act"),
    # forward: read x for the statistics, read x and write y; backward: read x and gy for the
    # sums, read them again and write gx
    ("nn", "BatchNorm2d(32) train, [128, 32, 28, 28]"): (0, 8 * ACT_32_28, "act"),
    # forward: read x, write y (a quarter); backward: read gy, write gx
    ("nn", "MaxPool2d(2), [128, 32, 28, 28]"): (0, 2.5 * ACT_32_28, "act"),
    ("cnn", "Fashion-MNIST CNN train step, batch 128"): (CNN_STEP, 6 * ACT_32_28, "act"),
    ("gpt", "GPT step, 4 layers x 4 heads x 128, 256 chars, batch 32"): (GPT_STEP, 0, "act"),
    ("train", "MLP 3 epochs, s per epoch (training steps)"): (FMNIST_TRAIN * MLP_TRAIN_PER_SAMPLE, 0, "act"),
    ("train", "CNN 6 epochs cosine, s per epoch (training steps)"): (FMNIST_TRAIN * CNN_PER_SAMPLE,
                                                                     FMNIST_TRAIN / 128 * 6 * ACT_32_28, "act"),
}

UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6}


def to_seconds(value, unit):
    return value * UNITS[unit] if unit in UNITS else None


def limit_seconds(group, name, fma_gflops, bandwidths):
    """The row's time at the limits (bandwidths: GB/s by "dram", "act", "read"), or None for a row
    with no entry or a limit not measured."""
    w = WORK.get((group, name))
    if w is None or not fma_gflops or not bandwidths.get(w[2]):
        return None
    flops, nbytes, which = w
    return max(flops / (fma_gflops * 1e9), nbytes / (bandwidths[which] * 1e9))
