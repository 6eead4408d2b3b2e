"""K training steps of neuralpredictors' own FullGaussian2d (the vendored third_party/neuralpredictors, or the folder
given as argv[2]) configured as the Lurz 2020 example notebook configures it, for test/train/readout/lurz_config_torch.test.ts.

FullGaussian2d(in_shape, outdims, bias=True, init_mu_range, init_sigma, gauss_type, feature_reg_weight=gamma_readout,
grid_mean_predictor={hidden_layers, hidden_features, final_tanh} (0, 0, False: one Linear(2 -> 2), no tanh),
source_grid=cell_motor_coordinates[:, :input_dimensions]); its parameters are then set to the test's initial values
(load_state_dict strict, the source_grid buffer kept as neuralpredictors normalized it, and its difference from the
test's reported). The position noise is the test's: torch.Tensor.normal_ is replaced by a copy of the recorded draws
while the readout samples (sample_grid's only random call). Loss per step: loss_scale * PoissonLoss(avg=False)(elu(y) + 1,
t) + readout.regularizer(); torch.optim.Adam. Also checks the constructor's own initialization follows the config
(sigma within +-init_sigma, features 1 / C, mu_transform shapes) before overwriting it.

Usage: lurz_readout_steps_np.py DIR [NEURALPREDICTORS]. Writes DIR/final_*.npy, DIR/losses.json, DIR/report.json.
"""
import importlib.machinery
import json
import os
import sys
import types

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
VENDORED = os.path.join(HERE, "..", "..", "..", "third_party", "neuralpredictors")


def import_neuralpredictors(path):
    for name in ("torchvision", "matplotlib", "matplotlib.pyplot"):
        m = types.ModuleType(name)
        m.__spec__ = importlib.machinery.ModuleSpec(name, None)
        sys.modules.setdefault(name, m)
    tq = types.ModuleType("tqdm")
    tq.__spec__ = importlib.machinery.ModuleSpec("tqdm", None)
    tq.tqdm = lambda it=None, *args, **kw: it
    sys.modules.setdefault("tqdm", tq)
    sys.path.insert(0, path)


def main():
    d = sys.argv[1]
    import_neuralpredictors(sys.argv[2] if len(sys.argv) > 2 else VENDORED)
    from neuralpredictors.layers.readouts.gaussian import FullGaussian2d
    from neuralpredictors.measures.modules import PoissonLoss

    torch.set_num_threads(1)
    torch.manual_seed(0)
    spec = json.load(open(os.path.join(d, "spec.json")))
    load = lambda name: np.load(os.path.join(d, name + ".npy"))
    maps = torch.from_numpy(load("maps"))  # (B, C, H, W)
    noise = torch.from_numpy(load("noise"))  # (K, B, N, 2)
    targets = torch.from_numpy(load("targets"))  # (K, B, N)
    cmc = load("cell_motor_coordinates")  # (N, 3)
    K, B = noise.shape[0], noise.shape[1]
    B_, C, H, W = maps.shape
    N = targets.shape[2]
    g = spec["grid_mean_predictor"]
    ro = FullGaussian2d(
        in_shape=(C, H, W),
        outdims=N,
        bias=True,
        init_mu_range=spec["init_mu_range"],
        init_sigma=spec["init_sigma"],
        gauss_type=spec["gauss_type"],
        feature_reg_weight=spec["gamma_readout"],
        grid_mean_predictor={k: g[k] for k in ("hidden_layers", "hidden_features", "final_tanh")},
        source_grid=cmc[:, : g["input_dimensions"]],
        mean_activity=torch.ones(N),
    )
    sd = ro.state_dict()
    report = {
        "state_dict_shapes": {k: list(v.shape) for k, v in sd.items()},
        "init_sigma_max_abs": float(ro.sigma.detach().abs().max()),
        "init_features": float(ro._features.detach().mean()),
    }
    ours_grid = torch.from_numpy(load("source_grid"))
    report["source_grid_max_abs_diff"] = float((sd["source_grid"] - ours_grid).abs().max())
    new = {}
    for name in sd:
        if name == "source_grid":
            new[name] = sd[name]
            continue
        new[name] = torch.from_numpy(load("init_" + name)).view(sd[name].shape)
    ro.load_state_dict(new, strict=True)
    ro.train()

    current = {"eps": None}
    orig_normal = torch.Tensor.normal_

    def recorded_normal_(self, *a, **kw):
        with torch.no_grad():
            self.copy_(current["eps"].view_as(self))
        return self

    order = spec["param_order"]
    params = dict(ro.named_parameters())
    opt = torch.optim.Adam([params[n] for n in order], lr=spec["lr"])
    poisson = PoissonLoss(avg=False)
    losses = []
    torch.Tensor.normal_ = recorded_normal_
    try:
        for k in range(K):
            current["eps"] = noise[k].view(B, N, 1, 2)
            out = F.elu(ro(maps)) + 1
            loss = spec["loss_scale"] * poisson(out, targets[k]) + ro.regularizer()
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
    finally:
        torch.Tensor.normal_ = orig_normal
    ro.eval()
    with torch.no_grad():
        np.save(os.path.join(d, "final_grid.npy"), ro.grid.detach().numpy().astype(np.float32).reshape(-1))
    for n, p in params.items():
        np.save(os.path.join(d, "final_" + n + ".npy"), p.detach().numpy().astype(np.float32).reshape(-1))
    json.dump(losses, open(os.path.join(d, "losses.json"), "w"))
    json.dump(report, open(os.path.join(d, "report.json"), "w"))


if __name__ == "__main__":
    main()
