"""Our exported shared-feature readouts in neuralpredictors' own MultiReadoutSharedParametersBase: built with
share_features=True and the scans' match ids, then load_state_dict(strict=True) on the model's `readout.*` entries,
then elu(readout(x, data_key)) + 1 on the given core outputs, per readout.

neuralpredictors is imported from --neuralpredictors (the vendored third_party/neuralpredictors), with torchvision,
matplotlib and tqdm stubbed as test/fixtures/feature_sharing/make_fixture.py does.

Usage: shared_readouts_np.py --neuralpredictors DIR --model M.pth --spec SPEC.json --out DIR
SPEC.json: {"kind": "gaussian"|"factorized", "gauss_type": ..., "keys": [...], "match_ids": {key: [...]},
            "maps": {key: "X.npy"}}; X.npy (B, C, h, w) float32; writes DIR/responses_<key>.npy (B, N).
Prints one JSON line: the keys loaded and whether every readout holds the first one's _features.
"""
import argparse
import collections
import importlib.machinery
import json
import os
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
    ap.add_argument("--model", required=True)
    ap.add_argument("--spec", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    for m in ("torchvision", "matplotlib", "matplotlib.pyplot"):
        stub(m)
    stub("tqdm").tqdm = lambda it=None, *args, **kw: it
    sys.path.insert(0, a.neuralpredictors)
    torch.set_num_threads(1)
    from neuralpredictors.layers.readouts.factorized import FullFactorized2d
    from neuralpredictors.layers.readouts.gaussian import FullGaussian2d
    from neuralpredictors.layers.readouts.multi_readout import MultiReadoutSharedParametersBase

    with open(a.spec) as fh:
        spec = json.load(fh)
    keys = spec["keys"]
    maps = {k: torch.from_numpy(np.load(spec["maps"][k])) for k in keys}
    opts = dict(bias=True, share_features=True, shared_match_ids={k: np.array(spec["match_ids"][k]) for k in keys})
    if spec["kind"] == "gaussian":
        base = FullGaussian2d
        opts.update(gauss_type=spec["gauss_type"], init_mu_range=0.3, init_sigma=0.1)
    else:
        base = FullFactorized2d
        opts.update(normalize=True)
    readout = MultiReadoutSharedParametersBase({k: tuple(maps[k].shape[1:]) for k in keys},
                                               {k: len(spec["match_ids"][k]) for k in keys}, base_readout=base, **opts)
    sd = torch.load(a.model, map_location="cpu", weights_only=True)
    own = collections.OrderedDict((k[len("readout."):], v) for k, v in sd.items() if k.startswith("readout."))
    readout.load_state_dict(own, strict=True)
    readout.eval()
    for k in keys:
        with torch.no_grad():
            y = torch.nn.functional.elu(readout(maps[k], data_key=k)) + 1
        np.save(os.path.join(a.out, f"responses_{k}.npy"), y.numpy().astype(np.float32))
    print(json.dumps({"loaded": list(own.keys()),
                      "shared": all(readout[k]._features is readout[keys[0]]._features for k in keys)}))


if __name__ == "__main__":
    main()
