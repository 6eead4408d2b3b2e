#!/usr/bin/env python3
"""PyTorch reference for timing: the neuralpredictors model family in plain PyTorch.

Builds a Stacked2d core (first conv, then depth-separable layers; BatchNorm in eval mode; ELU)
and a FullGaussian2d readout with a cortex position network from a neuralpredictors state_dict
(.pth) and its config.json, checks it against fixture outputs when given, and times on the CPU:
  forward      full model, eval mode (positions at the Gaussian means)
  core         core only
  readout_step one training step of a readout on a frozen core (core forward without grad,
               readout forward/backward with sampled positions, Poisson loss, Adam)
  readout_step_cached  the same step on core outputs computed once beforehand (what an expert
               does with a frozen core: no core work per step)
Each timing is made twice: as neuralpredictors runs (NCHW tensors, the default) and in PyTorch's
fastest CPU layout (channels_last, where oneDNN's convolutions are often several times faster);
the `*_best` keys hold the faster of the two, and they are the numbers to compare against.
Prints one JSON object: images per second for each, plus the parity error when checked.

Origin: copied into bench/ from the shared reference folder of the development machine (see the README,
"Test fixtures"); only this note was added. bench/torch.ts runs it with the Python of scripts/setup_torch.sh.

Usage: torch_reference.py CHECKPOINT CONFIG [--check-inputs X.npy --check-responses Y.npy]
       [--batch 64] [--repeats 10] [--threads 2]
"""
import argparse
import json
import time

import numpy as np
import torch
import torch.nn.functional as F


def load_model(ckpt, cfg):
    sd = torch.load(ckpt, map_location="cpu", weights_only=True)
    key = sorted({k.split(".")[1] for k in sd if k.startswith("readout.")})[0]
    layers = cfg.get("layers", 4)
    linear = cfg.get("linear", False)
    pad_input = cfg.get("pad_input", False)
    hidden_kern = cfg.get("hidden_kern", 7)
    eps = 1e-5

    def bn(x, i):
        p = f"core.features.layer{i}.norm."
        return F.batch_norm(x, sd[p + "running_mean"], sd[p + "running_var"], sd[p + "weight"], sd[p + "bias"], False, 0.0, eps)

    def act(x, i):
        last = i == layers - 1
        if linear or (last and not cfg.get("final_nonlinearity", True)):
            return x
        return F.elu(x)

    def core(x):
        w0 = sd["core.features.layer0.conv.weight"]
        x = act(bn(F.conv2d(x, w0, padding=w0.shape[-1] // 2 if pad_input else 0), 0), 0)
        for i in range(1, layers):
            p = f"core.features.layer{i}.ds_conv."
            x = F.conv2d(x, sd[p + "in_depth_conv.weight"])
            x = F.conv2d(x, sd[p + "spatial_conv.weight"], padding=hidden_kern // 2, groups=x.shape[1])
            x = F.conv2d(x, sd[p + "out_depth_conv.weight"])
            x = act(bn(x, i), i)
        return x

    r = f"readout.{key}."
    gmp = cfg.get("grid_mean_predictor") or {}
    mlp = sorted({int(k[len(r) + len("mu_transform."):].split(".")[0]) for k in sd if k.startswith(r + "mu_transform.")})

    def mu():
        h = sd[r + "source_grid"]
        for j, idx in enumerate(mlp):
            h = F.linear(h, sd[f"{r}mu_transform.{idx}.weight"], sd[f"{r}mu_transform.{idx}.bias"])
            if j < len(mlp) - 1:
                h = F.elu(h)
        return torch.tanh(h) if gmp.get("final_tanh", False) else h

    params = {
        "features": sd[r + "_features"].clone(),  # (1, C, 1, N)
        "sigma": sd[r + "sigma"].clone(),  # (1, N, 2, 2)
        "bias": sd[r + "bias"].clone(),
    }
    return core, mu, params, key


def readout(feat_map, mu, p, noise=None):
    b = feat_map.shape[0]
    n = p["bias"].shape[0]
    grid = mu.view(1, n, 1, 2).expand(b, n, 1, 2)
    if noise is not None:
        grid = grid + torch.einsum("ancd,bnid->bnic", p["sigma"], noise)
    grid = grid.clamp(-1, 1)
    y = F.grid_sample(feat_map, grid, align_corners=True).squeeze(-1)  # (B, C, N)
    y = (y * p["features"].view(1, -1, n)).sum(1) + p["bias"]
    return F.elu(y) + 1


def timed(fn, repeats):
    fn()
    fn()
    t = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - t) / repeats


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("checkpoint")
    ap.add_argument("config")
    ap.add_argument("--check-inputs")
    ap.add_argument("--check-responses")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if hasattr(torch.backends, "nnpack"):
        torch.backends.nnpack.set_flags(False)  # unsupported on some CPUs; it only prints warnings there
    torch.manual_seed(0)
    cfg = json.load(open(a.config))
    core, mu, p, key = load_model(a.checkpoint, cfg)
    out = {"data_key": key, "neurons": int(p["bias"].shape[0]), "batch": a.batch, "threads": a.threads,
           "torch": torch.__version__}
    with torch.no_grad():
        if a.check_inputs:
            x = torch.from_numpy(np.load(a.check_inputs))
            y = readout(core(x), mu(), p).numpy()
            ref = np.load(a.check_responses)
            out["parity_max_rel_err"] = float(np.abs(y - ref).max() / np.abs(ref).max())
        shape = cfg.get("input_shape", [1, 36, 64])
        x = torch.randn(a.batch, *shape)
        x_cl = x.contiguous(memory_format=torch.channels_last)
        m = mu()
        out["core_img_per_s"] = a.batch / timed(lambda: core(x), a.repeats)
        out["forward_img_per_s"] = a.batch / timed(lambda: readout(core(x), m, p), a.repeats)
        out["core_img_per_s_channels_last"] = a.batch / timed(lambda: core(x_cl), a.repeats)
        out["forward_img_per_s_channels_last"] = a.batch / timed(lambda: readout(core(x_cl), m, p), a.repeats)
        out["core_img_per_s_best"] = max(out["core_img_per_s"], out["core_img_per_s_channels_last"])
        out["forward_img_per_s_best"] = max(out["forward_img_per_s"], out["forward_img_per_s_channels_last"])
        cached = core(x_cl).contiguous()

    # readout training step on a frozen core: features, sigma, bias and the position network learn
    rp = {k: v.clone().requires_grad_(True) for k, v in p.items()}
    target = torch.rand(a.batch, rp["bias"].shape[0])
    opt = torch.optim.Adam(list(rp.values()), lr=5e-3)
    n = rp["bias"].shape[0]

    def step(inp=x, fm=None):
        if fm is None:
            with torch.no_grad():
                fm = core(inp)
        noise = torch.randn(a.batch, n, 1, 2)
        pred = readout(fm, m, rp, noise)
        loss = (pred - target * torch.log(pred + 1e-12)).sum() + 0.0076 * rp["features"].abs().sum()
        opt.zero_grad()
        loss.backward()
        opt.step()

    out["readout_step_img_per_s"] = a.batch / timed(step, a.repeats)
    out["readout_step_img_per_s_channels_last"] = a.batch / timed(lambda: step(x_cl), a.repeats)
    out["readout_step_img_per_s_best"] = max(out["readout_step_img_per_s"], out["readout_step_img_per_s_channels_last"])
    out["readout_step_cached_img_per_s"] = a.batch / timed(lambda: step(fm=cached), a.repeats)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
