"""neuralpredictors' trainer on static-sim-a as its users run it, timed: the counterpart of the time to converge
that `npm run bench` measures for ours.

A new FullGaussian2d readout (neuralpredictors' own class, the reference readout_config of
test/fixtures/sim-scan/reference_results.json) on the frozen sensorium-sota core, trained in the Sensorium
standard_trainer loop (neuralpredictors' early_stopping semantics: an epoch = one pass over the 4000 training
images in batches of 64, each batch through the frozen core and the readout, PoissonLoss(avg=False) scaled by
sqrt(trials / batch) + the readout's regularizer, Adam; then the validation correlation over the 500 validation
images). The core runs on every batch, as in neuralpredictors' trainer (it has no core-output cache); with
--layout channels_last the images and the core are in PyTorch's faster CPU layout, which neuralpredictors' trainer
does not use by default.

A whole run to convergence takes ~40 epochs (~17 min on 2 threads), so this measures --epochs epochs (default 2,
after one warm-up batch) and multiplies the median seconds per epoch by the number of epochs neuralpredictors'
reference run took to converge on this scan (reference_results.json: reference_training.epochs, 42 at lr 0.009).
Prints one JSON line.

Usage: python bench/neuralpredictors_trainer.py [--threads 2] [--epochs 2] [--layout default|channels_last]
       [--neuralpredictors DIR]   (the Python that scripts/setup_torch.sh makes)
"""
import argparse
import json
import os
import statistics
import time

import numpy as np
import torch
from np_static_sim import FIX, import_neuralpredictors, load_static_sim


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--neuralpredictors", default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--layout", default="default", choices=["default", "channels_last"])
    a = ap.parse_args()
    import_neuralpredictors(a.neuralpredictors)
    from neuralpredictors.layers.readouts.gaussian import FullGaussian2d
    from neuralpredictors.measures.modules import PoissonLoss
    from torch_reference import load_model

    torch.set_num_threads(a.threads)
    ref = json.load(open(os.path.join(FIX, "sim-scan", "reference_results.json")))
    rc = ref["readout_config"]
    x, y, coords, tiers = load_static_sim()
    T = len(tiers)
    tr, va = np.where(tiers == "train")[0], np.where(tiers == "validation")[0]
    core = load_model(os.path.join(FIX, "sensorium-sota", "model.pth"),
                      json.load(open(os.path.join(FIX, "sensorium-sota", "config.json"))))[0]
    # the core of bench/torch_reference.py: sensorium-sota's Stacked2dCore in eval mode (BatchNorm running
    # statistics) as plain torch ops on the checkpoint's weights, without gradients (frozen)
    fmt = torch.channels_last if a.layout == "channels_last" else torch.contiguous_format
    images = torch.from_numpy(x).contiguous(memory_format=fmt)
    y_t = torch.from_numpy(y)
    with torch.no_grad():
        C, H, W = core(images[:1]).shape[1:]
    N = y.shape[1]
    torch.manual_seed(1)
    # type and input_dimensions are read by the model builder (coordinates already cut to input_dimensions)
    gmp = {k: v for k, v in rc["grid_mean_predictor"].items() if k not in ("type", "input_dimensions")}
    ro = FullGaussian2d(in_shape=(C, H, W), outdims=N, bias=rc["bias"], init_mu_range=rc["init_mu_range"],
                        init_sigma=rc["init_sigma"], gauss_type=rc["gauss_type"], grid_mean_predictor=gmp,
                        source_grid=coords, mean_activity=y_t[tr].mean(0), feature_reg_weight=rc["gamma_readout"])
    poisson = PoissonLoss(avg=False)
    opt = torch.optim.Adam(ro.parameters(), lr=ref["reference_training"]["lr"])

    def predict(idx):
        with torch.no_grad():
            f = core(images[idx])
        return torch.nn.functional.elu(ro(f)) + 1

    def validation_correlation():
        ro.eval()
        with torch.no_grad():
            p = torch.cat([predict(va[i:i + 64]) for i in range(0, len(va), 64)]).numpy()
        t = y[va]
        pc, tc = p - p.mean(0), t - t.mean(0)
        return float(np.mean(np.nan_to_num((pc * tc).sum(0) / np.sqrt((pc ** 2).sum(0) * (tc ** 2).sum(0)))))

    def step(idx):
        loss = np.sqrt(T / len(idx)) * poisson(predict(idx), y_t[idx]) + ro.regularizer()
        opt.zero_grad()
        loss.backward()
        opt.step()

    ro.train()
    step(tr[:64])  # warm-up: allocations and oneDNN's kernel selection
    epoch_s, vals = [], []
    for _ in range(a.epochs):
        t = time.perf_counter()
        ro.train()
        perm = torch.randperm(len(tr)).numpy()
        for b in range(0, len(tr), 64):
            step(tr[perm[b:b + 64]])
        vals.append(validation_correlation())
        epoch_s.append(time.perf_counter() - t)
    per_epoch = statistics.median(epoch_s)
    epochs = ref["reference_training"]["epochs"]
    print(json.dumps({
        "torch": torch.__version__, "threads": a.threads, "layout": a.layout, "train_images": len(tr),
        "validation_images": len(va), "epoch_s": [round(s, 2) for s in epoch_s], "s_per_epoch": round(per_epoch, 2),
        "train_img_per_s": round(len(tr) / per_epoch, 1), "validation_correlation": [round(v, 4) for v in vals],
        "epochs_to_converge": epochs, "time_to_converge_s": round(per_epoch * epochs, 1),
    }))


if __name__ == "__main__":
    main()
