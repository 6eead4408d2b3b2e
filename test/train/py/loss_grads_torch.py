"""The fused readout kernel's loss and gradients for every loss x output nonlinearity, in PyTorch autograd, for
test/train/readout/loss_torch.test.ts.

Reads DIR/spec.json and DIR/{maps (B, C, H, W), positions (B, N, 2), features (N, C), bias (N), targets (B, N)}.npy;
for each case [loss, output] of spec["cases"]: v = features . grid_sample(maps, positions, align_corners=True) + bias,
r = output(v) (elu: elu(v) + 1; softplus: torch.nn.functional.softplus, neuralpredictors' Log1Exp; identity: v),
loss summed over entries: poisson r - t log(r + eps) (PoissonNLLLoss(log_input=False, eps)), mse (r - t)^2
(MSELoss(reduction='sum')), gaussian 0.5 (r - t)^2 / (r + 1) + 0.5 log(r + 1); scaled by spec["loss_scale"].
Writes DIR/<loss>_<output>_{grad_features, grad_bias, grad_positions, predictions}.npy and DIR/losses.json (unscaled).
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F


def main():
    d = sys.argv[1]
    torch.set_num_threads(1)
    spec = json.load(open(os.path.join(d, "spec.json")))
    load = lambda n: torch.from_numpy(np.load(os.path.join(d, n + ".npy"))).double()
    maps, pos0, feat0, bias0, t = load("maps"), load("positions"), load("features"), load("bias"), load("targets")
    B, N = t.shape
    eps, scale = spec["eps"], spec["loss_scale"]
    losses = {}
    for loss_name, out_name in spec["cases"]:
        pos = pos0.clone().requires_grad_(True)
        feat = feat0.clone().requires_grad_(True)
        bias = bias0.clone().requires_grad_(True)
        s = F.grid_sample(maps, pos.view(B, N, 1, 2), align_corners=True).squeeze(-1)  # (B, C, N)
        v = (s * feat.t().unsqueeze(0)).sum(1) + bias
        r = {"elu": lambda x: F.elu(x) + 1, "softplus": F.softplus, "identity": lambda x: x}[out_name](v)
        if loss_name == "poisson":
            L = torch.nn.PoissonNLLLoss(log_input=False, eps=eps, reduction="none")(r, t).sum()
        elif loss_name == "mse":
            L = torch.nn.MSELoss(reduction="sum")(r, t)
        else:
            sv = r + 1
            L = (0.5 * (r - t) ** 2 / sv + 0.5 * torch.log(sv)).sum()
        (scale * L).backward()
        key = f"{loss_name}_{out_name}"
        losses[key] = L.item()
        for name, x in (("grad_features", feat.grad), ("grad_bias", bias.grad), ("grad_positions", pos.grad), ("predictions", r.detach())):
            np.save(os.path.join(d, f"{key}_{name}.npy"), x.numpy().astype(np.float64))
    json.dump(losses, open(os.path.join(d, "losses.json"), "w"))


if __name__ == "__main__":
    main()
