"""Our exported factorized readout in neuralpredictors' own FullFactorized2d: load_state_dict(strict=True), then
predict elu(readout(x)) + 1 on the given core outputs.

neuralpredictors cannot be pip-installed here: --neuralpredictors points at a folder holding the package (a `git
archive` of github.com/sinzlab/neuralpredictors), imported as test/fixtures/factorized/make_fixtures.py does it
(torchvision, matplotlib and tqdm stubbed: module-level imports of parts this does not use).

Usage: factorized_load_np.py --neuralpredictors DIR --readout R.pth --key DATA_KEY --maps X.npy --out Y.npy
  [--normalize 1] [--constrain-pos 0] [--positive-spatial 0]
X.npy: (B, C, h, w) float32 core outputs; Y.npy: (B, N) responses. Prints one JSON line (shapes, keys).
"""
import argparse
import collections
import importlib.machinery
import json
import sys
import types

import numpy as np
import torch


def stub(name):
    m = types.ModuleType(name)
    m.__spec__ = importlib.machinery.ModuleSpec(name, None)
    sys.modules.setdefault(name, m)
    return m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--neuralpredictors", required=True)
    ap.add_argument("--readout", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--maps", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--normalize", type=int, default=1)
    ap.add_argument("--constrain-pos", type=int, default=0)
    ap.add_argument("--positive-spatial", type=int, default=0)
    a = ap.parse_args()
    for m in ("torchvision", "matplotlib", "matplotlib.pyplot"):
        stub(m)
    stub("tqdm").tqdm = lambda it=None, *args, **kw: it
    sys.path.insert(0, a.neuralpredictors)
    torch.set_num_threads(1)
    from neuralpredictors.layers.readouts.factorized import FullFactorized2d

    sd = torch.load(a.readout, map_location="cpu", weights_only=True)
    prefix = f"readout.{a.key}."
    own = collections.OrderedDict((k[len(prefix):], v) for k, v in sd.items() if k.startswith(prefix))
    if len(own) != len(sd):
        raise SystemExit(f"keys outside {prefix}: {[k for k in sd if not k.startswith(prefix)]}")
    n, h, w = own["spatial"].shape
    c = own["_features"].shape[1]
    ro = FullFactorized2d(in_shape=(c, h, w), outdims=n, bias="bias" in own, normalize=bool(a.normalize),
                          constrain_pos=bool(a.constrain_pos), positive_spatial=bool(a.positive_spatial))
    ro.load_state_dict(own, strict=True)
    ro.eval()
    x = torch.from_numpy(np.load(a.maps))
    with torch.no_grad():
        y = torch.nn.functional.elu(ro(x)) + 1
    np.save(a.out, y.numpy().astype(np.float32))
    print(json.dumps({"keys": list(own.keys()), "neurons": n, "channels": c, "height": h, "width": w, "shape": list(y.shape)}))


if __name__ == "__main__":
    main()
