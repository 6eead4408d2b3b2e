"""K training steps of a FullGaussian2d readout in plain PyTorch (autograd + torch.optim.Adam), for the
trajectory parity test (test/train/readout_steps_torch.test.ts).

The readout's training forward as neuralpredictors writes it (layers/readouts/gaussian.py, FullGaussian2d):
mu from the cortex position network (Linear, ELU, Linear, tanh) or free means clamped in place to [-1, 1];
positions clamp(mu + Sigma eps) with eps the recorded standard-normal draws (einsum 'ancd,bnid->bnic' for the
full type, eps * sigma otherwise); grid_sample(align_corners=True); features . sample + bias; elu + 1.
Loss: loss_scale * sum(out - t * log(out + 1e-12)) + gamma * sum|features| (PoissonLoss(avg=False) and
feature_l1 with reduction 'sum'). Adam with torch's defaults.

Usage: readout_steps_torch.py DIR   (DIR/spec.json and the npy files the test wrote; writes DIR/final_*.npy,
DIR/losses.json)
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
    N, C, gauss, net = spec["neurons"], spec["channels"], spec["gauss_type"], spec["position_net"]
    load = lambda name: torch.from_numpy(np.load(os.path.join(d, name + ".npy")))
    maps = load("maps")  # (B, C, H, W)
    noise = load("noise")  # (K, B, N, 2)
    targets = load("targets")  # (K, B, N)
    K, B = noise.shape[0], noise.shape[1]
    sigma_shape = {"full": (1, N, 2, 2), "uncorrelated": (1, N, 1, 2), "isotropic": (1, N, 1, 1)}[gauss]
    params = {
        "_features": torch.nn.Parameter(load("init__features").view(1, C, 1, N).clone()),
        "bias": torch.nn.Parameter(load("init_bias").clone()),
        "sigma": torch.nn.Parameter(load("init_sigma").view(sigma_shape).clone()),
    }
    if net:
        for name in ("mu_transform.0.weight", "mu_transform.0.bias", "mu_transform.2.weight", "mu_transform.2.bias"):
            params[name] = torch.nn.Parameter(load("init_" + name).clone())
        params["mu_transform.0.weight"].data = params["mu_transform.0.weight"].data.view(-1, 2)
        params["mu_transform.2.weight"].data = params["mu_transform.2.weight"].data.view(2, -1)
        source_grid = load("source_grid").view(N, 2)
    else:
        params["_mu"] = torch.nn.Parameter(load("init__mu").view(1, N, 1, 2).clone())
    order = spec["param_order"]
    opt = torch.optim.Adam([params[n] for n in order], lr=spec["lr"])

    def mu():
        if net:
            h = F.elu(F.linear(source_grid, params["mu_transform.0.weight"], params["mu_transform.0.bias"]))
            return torch.tanh(F.linear(h, params["mu_transform.2.weight"], params["mu_transform.2.bias"])).view(1, N, 1, 2)
        with torch.no_grad():
            params["_mu"].clamp_(min=-1, max=1)
        return params["_mu"]

    losses = []
    for k in range(K):
        eps = noise[k].view(B, N, 1, 2)
        if gauss == "full":
            grid = torch.einsum("ancd,bnid->bnic", params["sigma"], eps) + mu()
        else:
            grid = eps * params["sigma"] + mu()
        grid = torch.clamp(grid, min=-1, max=1)
        y = F.grid_sample(maps, grid, align_corners=True).squeeze(-1)  # (B, C, N)
        y = (y * params["_features"].view(1, C, N)).sum(1) + params["bias"]
        out = F.elu(y) + 1
        t = targets[k]
        loss = spec["loss_scale"] * (out - t * torch.log(out + 1e-12)).sum() + spec["gamma"] * params["_features"].abs().sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    for n, p in params.items():
        np.save(os.path.join(d, "final_" + n + ".npy"), p.detach().numpy().astype(np.float32).reshape(-1))
    json.dump(losses, open(os.path.join(d, "losses.json"), "w"))


if __name__ == "__main__":
    main()
