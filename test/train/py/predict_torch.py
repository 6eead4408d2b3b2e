"""Predictions of a .pth (core + one readout) under PyTorch, with the plain-PyTorch neuralpredictors model of
bench/torch_reference.py (Stacked2d core, FullGaussian2d at the Gaussian means, elu + 1).

Usage: predict_torch.py CHECKPOINT CONFIG IMAGES.npy OUT.npy
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, sys.argv[5] if len(sys.argv) > 5 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "bench"))
from torch_reference import load_model, readout  # noqa: E402


def main():
    ckpt, cfg_path, images, out = sys.argv[1:5]
    torch.set_num_threads(2)
    # the reference loader only reads tensors; torch.load(weights_only=True) must accept our file first
    torch.load(ckpt, map_location="cpu", weights_only=True)
    core, mu, p, key = load_model(ckpt, json.load(open(cfg_path)))
    x = torch.from_numpy(np.load(images))
    with torch.no_grad():
        y = readout(core(x), mu(), p).numpy()
    np.save(out, y.astype(np.float32))
    print(json.dumps({"data_key": key, "shape": list(y.shape)}))


if __name__ == "__main__":
    main()
