"""Loads a checkpoint with PyTorch (weights_only=True) and writes every tensor as .npy plus index.json.

Usage: python dump_state_dict.py CHECKPOINT OUT_DIR
index.json: [{"key": ..., "file": "<i>.npy", "dtype": "<torch dtype>", "shape": [...]}, ...] in state_dict order.
Tensors are written contiguous in their own dtype (float64 stays float64; bfloat16 is widened to float32).
"""
import json
import os
import sys

import numpy as np
import torch

path, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
obj = torch.load(path, map_location="cpu", weights_only=True)
for k in ("state_dict", "model_state_dict"):
    if isinstance(obj, dict) and isinstance(obj.get(k), dict):
        obj = obj[k]
        break
index = []
for i, (key, t) in enumerate(obj.items()):
    if not isinstance(t, torch.Tensor):
        continue
    t = t.detach().contiguous()
    arr = (t.float() if t.dtype == torch.bfloat16 else t).numpy()
    np.save(os.path.join(out, f"{i}.npy"), arr)
    index.append({"key": key, "file": f"{i}.npy", "dtype": str(t.dtype), "shape": list(t.shape)})
with open(os.path.join(out, "index.json"), "w") as f:
    json.dump(index, f)
