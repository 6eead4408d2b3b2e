"""Reads a FileTree scan zip with neuralpredictors' own FileTreeDataset and NeuroNormalizer, as a lab would.

Usage: python read_filetree.py NEURALPREDICTORS_DIR SCAN.zip OUT_DIR
Unzips SCAN.zip into OUT_DIR, opens its single top folder with FileTreeDataset(root, "images", "responses"), and
prints one JSON object: length, n_neurons, img_shape, every trial's images and responses (raw, then through
NeuroNormalizer with stats_source "all"), the trial table (tiers, frame_image_id) and the neurons' unit ids.
neuralpredictors' optional imports (torchvision, matplotlib, h5py, skimage, tqdm) are stubbed: nothing here uses them.
"""
import importlib.machinery
import json
import os
import sys
import types
import zipfile


def stub(name):
    m = types.ModuleType(name)
    m.__spec__ = importlib.machinery.ModuleSpec(name, None)
    sys.modules.setdefault(name, m)
    return m


for n in ("torchvision", "torchvision.transforms", "matplotlib", "matplotlib.pyplot", "h5py", "skimage"):
    stub(n)
stub("skimage.transform").rescale = None
stub("tqdm").tqdm = lambda it=None, *a, **k: it
sys.path.insert(0, sys.argv[1])

import numpy as np  # noqa: E402
from neuralpredictors.data.datasets import FileTreeDataset  # noqa: E402
from neuralpredictors.data.transforms import NeuroNormalizer  # noqa: E402

zip_path, out_dir = sys.argv[2], sys.argv[3]
with zipfile.ZipFile(zip_path) as z:
    z.extractall(out_dir)
(root,) = [d for d in os.listdir(out_dir) if os.path.isdir(os.path.join(out_dir, d))]
ds = FileTreeDataset(os.path.join(out_dir, root), "images", "responses")
raw = [ds[i] for i in range(len(ds))]
ds.transforms.append(NeuroNormalizer(ds, stats_source="all"))
norm = [ds[i] for i in range(len(ds))]
print(json.dumps({
    "length": len(ds),
    "n_neurons": ds.n_neurons,
    "img_shape": list(ds.img_shape),
    "image_dtype": str(raw[0].images.dtype),
    "images": np.stack([r.images for r in raw]).astype(np.float64).ravel().tolist(),
    "responses": np.stack([r.responses for r in raw]).astype(np.float64).ravel().tolist(),
    "norm_images": np.stack([r.images for r in norm]).astype(np.float64).ravel().tolist(),
    "norm_responses": np.stack([r.responses for r in norm]).astype(np.float64).ravel().tolist(),
    "tiers": [str(t) for t in ds.trial_info.tiers],
    "frame_image_id": [int(i) for i in ds.trial_info.frame_image_id],
    "unit_ids": [int(u) for u in ds.neurons.unit_ids],
}))
