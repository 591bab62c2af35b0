"""The header lines of a PyTorch side in Python (INFO <side> <key> <value>, merged by report.py):
which PyTorch, its threads, and the BLAS it runs with, read from the loaded library itself."""
import ctypes, os, sys


def side():
    """pytorch-pypi inside a virtual environment (scripts/bench's build/torch-pypi), else Debian's."""
    return "pytorch-pypi" if sys.prefix != sys.base_prefix else "pytorch-debian"


def openblas():
    """The OpenBLAS mapped into this process, with its kernels and threads, or None."""
    with open("/proc/self/maps") as f:
        paths = {l.split()[-1] for l in f if "libopenblas" in l}
    if not paths:
        return None
    lib = ctypes.CDLL(sorted(paths)[0])
    lib.openblas_get_corename.restype = ctypes.c_char_p
    lib.openblas_get_config.restype = ctypes.c_char_p
    return (f"{lib.openblas_get_config().decode()}, kernels {lib.openblas_get_corename().decode()}, "
            f"{lib.openblas_get_num_threads()} threads, {sorted(paths)[0]}")


def print_info(what):
    import torch
    s = side()
    cfg = torch.__config__.show()
    blas = "MKL" if "Math Kernel Library" in cfg else "OpenBLAS"
    print(f"INFO\t{s}\tversion ({what})\t{torch.__version__}, BLAS {blas}, "
          f"oneDNN {torch.backends.mkldnn.is_available()}", flush=True)
    print(f"INFO\t{s}\tthreads ({what})\ttorch {torch.get_num_threads()}, OPENBLAS_NUM_THREADS="
          f"{os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}", flush=True)
    ob = openblas()
    if ob:
        print(f"INFO\t{s}\tOpenBLAS ({what})\t{ob}", flush=True)
