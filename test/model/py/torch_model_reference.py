"""PyTorch reference for test/model/torch_crosscheck.test.ts.

Rebuilds neuralpredictors' Stacked2dCore + FullGaussian2d + FiringRateEncoder forward from torch primitives,
following the neuralpredictors source line by line (cores/conv2d.py, layers/conv.py, readouts/gaussian.py,
encoders/firing_rate.py; neuralpredictors itself is not installed here), for models with architecture variants
the sensorium-sota fixture does not cover. Usage: python torch_model_reference.py DIR
DIR/spec.json names the state_dict .npy files, the config, and what to compute; results are written to DIR/out_*.npy.
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

d = sys.argv[1]
spec = json.load(open(os.path.join(d, "spec.json")))
cfg = spec["config"]
sd = {k: torch.from_numpy(np.load(os.path.join(d, f))) for k, f in spec["files"].items()}
params = {k: v.clone().requires_grad_(True) for k, v in sd.items() if v.dtype == torch.float32 and "running_" not in k and not k.endswith("source_grid")}
x = torch.from_numpy(np.load(os.path.join(d, "images.npy"))).requires_grad_(True)
out = {}


def p(k):
    return params.get(k, sd.get(k))


def core(x, training):
    n_layers = 1 + max(int(k.split(".")[2][5:]) for k in sd if k.startswith("core.features.layer"))
    rets = []
    for i in range(n_layers):
        pre = f"core.features.layer{i}."
        if pre + "conv.weight" in sd:
            w = p(pre + "conv.weight")
            k = w.shape[-1]
            pad = (k // 2 if cfg["pad_input"] else 0) if i == 0 else ((k - 1) + 1) // 2
            x = F.conv2d(x, w, p(pre + "conv.bias") if pre + "conv.bias" in sd else None, padding=pad)
        else:
            c = pre + "ds_conv."
            b = lambda n: p(c + n + ".bias") if c + n + ".bias" in sd else None
            x = F.conv2d(x, p(c + "in_depth_conv.weight"), b("in_depth_conv"))
            w = p(c + "spatial_conv.weight")
            x = F.conv2d(x, w, b("spatial_conv"), padding=((w.shape[-1] - 1) + 1) // 2, groups=w.shape[0])
            x = F.conv2d(x, p(c + "out_depth_conv.weight"), b("out_depth_conv"))
        if pre + "norm.running_mean" in sd:
            affine = pre + "norm.weight" in sd
            bn = torch.nn.BatchNorm2d(x.shape[1], momentum=cfg.get("momentum", 0.1), affine=False)
            bn.running_mean.copy_(sd[pre + "norm.running_mean"])
            bn.running_var.copy_(sd[pre + "norm.running_var"])
            bn.num_batches_tracked.fill_(int(sd[pre + "norm.num_batches_tracked"]))
            bn.train(training)
            x = bn(x)
            if affine:
                x = x * p(pre + "norm.weight")[None, :, None, None] + p(pre + "norm.bias")[None, :, None, None]
            if training:
                out[f"running_mean_{i}"] = bn.running_mean
                out[f"running_var_{i}"] = bn.running_var
                out[f"num_batches_tracked_{i}"] = bn.num_batches_tracked.float()
        if pre + "bias.bias" in sd:
            x = x + p(pre + "bias.bias")
        if pre + "scale.scale" in sd:
            x = x * p(pre + "scale.scale")
        if not cfg["linear"] and (i < n_layers - 1 or cfg["final_nonlinearity"]):
            x = F.elu(x)
        rets.append(x)
    stack = cfg["stack"]
    idx = range(n_layers) if stack is None else ([*range(n_layers)[stack:]] if isinstance(stack, int) else stack)
    return torch.cat([rets[i] for i in idx], dim=1)


def mu_of(key, gauss):
    r = f"readout.{key}."
    if r + "_mu" in sd:
        with torch.no_grad():  # FullGaussian2d.sample_grid: self.mu.clamp_(min=-1, max=1)
            params[r + "_mu"].clamp_(min=-1, max=1)
        return params[r + "_mu"]
    h = sd[r + "source_grid"]
    lin = sorted(int(k.split(".")[3]) for k in sd if k.startswith(r + "mu_transform.") and k.endswith(".weight"))
    for j, li in enumerate(lin):
        if j > 0:
            h = F.elu(h)
        h = h @ p(f"{r}mu_transform.{li}.weight").T + p(f"{r}mu_transform.{li}.bias")
    if gauss["final_tanh"]:
        h = torch.tanh(h)
    return h.reshape(1, -1, 1, 2)


def readout(fm, key, gauss, noise):
    r = f"readout.{key}."
    feat = p(r + "_features")
    n = feat.shape[-1]
    bs = fm.shape[0]
    mu = mu_of(key, gauss)
    sigma = p(r + "sigma")
    norm = torch.zeros(bs, n, 1, 2) if noise is None else noise
    if gauss["type"] != "full":
        grid = torch.clamp(norm * sigma + mu, min=-1, max=1)
    else:
        grid = torch.clamp(torch.einsum("ancd,bnid->bnic", sigma, norm) + mu, min=-1, max=1)
    y = F.grid_sample(fm, grid, align_corners=True)
    y = (y.squeeze(-1) * feat.view(1, fm.shape[1], n)).sum(1).view(bs, n)
    if r + "bias" in sd:
        y = y + p(r + "bias")
    return F.elu(y + cfg["elu_offset"]) + 1, grid


for key, gauss in spec["readouts"].items():
    with torch.no_grad():
        y, g = readout(core(x, False), key, gauss, None)
    out[f"eval_{key}"] = y
    out[f"grid_{key}"] = g[0].reshape(-1, 2)  # eval positions are the same for every image
out["core_eval"] = core(x, False).detach()

# One training-mode step: BatchNorm batch statistics (and running-average updates), sampled positions, gradients.
key = spec["train_readout"]
noise = torch.from_numpy(np.load(os.path.join(d, "noise.npy"))).view(x.shape[0], -1, 1, 2)
weights = torch.from_numpy(np.load(os.path.join(d, "loss_weights.npy")))
fm = core(x, True)
y, g = readout(fm, key, spec["readouts"][key], noise)
out["core_train"] = fm.detach()
out["train_responses"] = y.detach()
out["sampled_grid"] = g.detach().reshape(x.shape[0], -1, 2)
(y * weights).sum().backward()
out["grad_images"] = x.grad
for k, v in params.items():
    if v.grad is not None:
        out["grad:" + k] = v.grad

index = {}
for i, (k, v) in enumerate(out.items()):
    np.save(os.path.join(d, f"out_{i}.npy"), v.detach().numpy().astype(np.float32))
    index[k] = f"out_{i}.npy"
json.dump(index, open(os.path.join(d, "out.json"), "w"))
