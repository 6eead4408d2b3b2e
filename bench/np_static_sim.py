"""static-sim-a as neuralpredictors' FileTreeDataset + NeuroNormalizer give it, and neuralpredictors itself
(vendored in third_party/neuralpredictors, or --neuralpredictors DIR) importable with the modules it imports at
module level but never uses here stubbed (tqdm, torchvision, matplotlib). Shared by the PyTorch sides of the
benchmarks (neuralpredictors_seeds.py, neuralpredictors_trainer.py)."""
import importlib.machinery
import io
import os
import sys
import types
import zipfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "..", "test", "fixtures")
VENDORED = os.path.join(HERE, "..", "third_party", "neuralpredictors")


def import_neuralpredictors(path=None):
    """Put neuralpredictors (default: the vendored copy) and bench/ on sys.path, stubbing unused imports."""
    for name in ("torchvision", "matplotlib", "matplotlib.pyplot"):
        m = types.ModuleType(name)
        m.__spec__ = importlib.machinery.ModuleSpec(name, None)
        sys.modules.setdefault(name, m)
    tq = types.ModuleType("tqdm")
    tq.__spec__ = importlib.machinery.ModuleSpec("tqdm", None)
    tq.tqdm = lambda it=None, *args, **kw: it
    sys.modules.setdefault("tqdm", tq)
    sys.path.insert(0, path or os.environ.get("V1X_NEURALPREDICTORS") or VENDORED)
    sys.path.insert(0, HERE)  # bench/torch_reference.py


def load_static_sim():
    """Normalized images x (T, 1, 36, 64), scaled responses y (T, N), cortical coordinates (N, 2), tiers (T,)."""
    z = zipfile.ZipFile(os.path.join(FIX, "sim-scan", "static-sim-a.zip"))
    npy = lambda name: np.load(io.BytesIO(z.read("static-sim-a/" + name)), allow_pickle=False)
    tiers = npy("meta/trials/tiers.npy")
    T = len(tiers)
    images = np.stack([npy(f"data/images/{i}.npy") for i in range(T)]).astype(np.float32)
    responses = np.stack([npy(f"data/responses/{i}.npy") for i in range(T)]).astype(np.float32)
    # NeuroNormalizer: images (x - mean) / std; responses * precision, precision = 1 / std above 1% of the mean std
    x = (images - float(npy("meta/statistics/images/all/mean.npy"))) / float(npy("meta/statistics/images/all/std.npy"))
    std = npy("meta/statistics/responses/all/std.npy").astype(np.float32)
    threshold = 0.01 * std.mean()
    y = responses * np.where(std > threshold, 1 / std, 1 / threshold).astype(np.float32)
    coords = npy("meta/neurons/cell_motor_coordinates.npy").astype(np.float32)[:, :2]  # input_dimensions 2
    return x, y, coords, tiers
