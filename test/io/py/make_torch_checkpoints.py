"""Writes small checkpoints with torch.save that exercise what our reader must honour.

Usage: python make_torch_checkpoints.py OUT_DIR
Files (each also in legacy form, *_legacy.pth, written with _use_new_zipfile_serialization=False):
  views.pth      float32 base, its transpose and a slice sharing one storage (offsets and strides),
                 a float64 tensor, a float16 tensor, a bfloat16 tensor, an int64 scalar, an nn.Parameter,
                 an expanded (stride 0) view and a tensor with a zero-sized dimension
  nested.pth     {'epoch': 3, 'model_state_dict': <OrderedDict>, 'optimizer': {...}} as training scripts save
  two_readouts   state_dict with readout.a.* and readout.b.* (different neuron counts)
"""
import collections
import os
import sys

import torch

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
g = torch.Generator().manual_seed(0)


def save(obj, name):
    torch.save(obj, os.path.join(out, name + ".pth"))
    torch.save(obj, os.path.join(out, name + "_legacy.pth"), _use_new_zipfile_serialization=False)


base = torch.randn(5, 7, generator=g)
views = collections.OrderedDict()
views["base"] = base
views["transposed"] = base.t()
views["slice"] = base[1:4, 2:6]
views["column"] = base[:, 3]
views["double"] = torch.randn(3, 4, generator=g, dtype=torch.float64)
views["half"] = torch.randn(6, generator=g).half()
views["bf16"] = torch.randn(6, generator=g).bfloat16()
views["num_batches_tracked"] = torch.tensor(1470)
views["param"] = torch.nn.Parameter(torch.randn(2, 3, generator=g))
views["expanded"] = torch.randn(3, 1, generator=g).expand(3, 4)
views["empty"] = torch.zeros(0, 3)
views["ints"] = torch.arange(-3, 3, dtype=torch.int32)
views["flags"] = torch.tensor([True, False, True])
save(views, "views")

inner = collections.OrderedDict(w=torch.randn(4, 2, generator=g), b=torch.randn(4, generator=g))
save({"epoch": 3, "model_state_dict": inner, "optimizer": {"lr": 0.005}}, "nested")

two = collections.OrderedDict()
two["core.features.layer0.conv.weight"] = torch.randn(4, 1, 3, 3, generator=g)
for key, n in (("a", 5), ("b", 3)):
    two[f"readout.{key}.features"] = torch.randn(1, 4, 1, n, generator=g)
    two[f"readout.{key}.bias"] = torch.randn(n, generator=g)
    two[f"readout.{key}.mu"] = torch.randn(1, n, 1, 2, generator=g)
save(two, "two_readouts")
