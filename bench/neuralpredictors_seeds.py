"""neuralpredictors itself on static-sim-a, seed after seed: the counterpart of bench/finetune_seeds.ts.

A new FullGaussian2d readout (neuralpredictors' own class, the reference readout_config) on the frozen
sensorium-sota core (eval mode: its output is computed once, as ours is cached), trained with neuralpredictors'
own early_stopping generator, PoissonLoss and torch.optim.Adam + ReduceLROnPlateau in the Sensorium
standard_trainer loop (batch 64, loss scaled by sqrt(trials in the dataset / batch), features L1 0.0076,
validation correlation as the objective). Prints one JSON line per run: lr, seed, epochs, best validation
correlation, the median distance of the learned positions from the true ones and the common offset.

neuralpredictors: the vendored copy in third_party/neuralpredictors, or --neuralpredictors PATH (a folder holding
the package); its tqdm import is stubbed (progress bars are not needed).

Usage: python bench/neuralpredictors_seeds.py [--neuralpredictors PATH] [--runs 0.009:1,0.005:1,...] [--threads 1]
(with the Python that scripts/setup_torch.sh makes)
"""
import argparse
import json
import os
import time

import numpy as np
import torch
from np_static_sim import FIX, import_neuralpredictors, load_static_sim


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--neuralpredictors", default=None, help="a folder holding the neuralpredictors package (default: third_party/neuralpredictors)")
    ap.add_argument("--runs", default="0.009:1,0.005:1,0.009:2,0.005:2")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    import_neuralpredictors(a.neuralpredictors)
    from neuralpredictors.layers.readouts.gaussian import FullGaussian2d
    from neuralpredictors.measures.modules import PoissonLoss
    from neuralpredictors.training.early_stopping import early_stopping
    from torch_reference import load_model

    torch.set_num_threads(a.threads)
    x, y, coords, tiers = load_static_sim()
    T = len(tiers)
    truth = np.load(os.path.join(FIX, "sim-scan", "static-sim-a-truth", "true_grid.npy"))
    tr, va = np.where(tiers == "train")[0], np.where(tiers == "validation")[0]
    core = load_model(os.path.join(FIX, "sensorium-sota", "model.pth"), json.load(open(os.path.join(FIX, "sensorium-sota", "config.json"))))[0]
    with torch.no_grad():
        feats = {k: torch.cat([core(torch.from_numpy(x[idx[i:i + 100]])) for i in range(0, len(idx), 100)]) for k, idx in (("train", tr), ("validation", va))}
    y_tr, y_va = torch.from_numpy(y[tr]), torch.from_numpy(y[va])
    N = y.shape[1]
    C, H, W = feats["train"].shape[1:]

    def run(seed, lr):
        torch.manual_seed(seed)
        np.random.seed(seed)
        ro = FullGaussian2d(in_shape=(C, H, W), outdims=N, bias=True, init_mu_range=0.3, init_sigma=0.1, gauss_type="full",
                            grid_mean_predictor={"hidden_layers": 1, "hidden_features": 30, "final_tanh": True},
                            source_grid=coords, mean_activity=y_tr.mean(0), feature_reg_weight=0.0076)
        poisson = PoissonLoss(avg=False)
        predict = lambda f: torch.nn.functional.elu(ro(f)) + 1

        def objective(model):
            model.eval()
            with torch.no_grad():
                p = torch.cat([predict(feats["validation"][i:i + 250]) for i in range(0, len(va), 250)]).numpy()
            t = y_va.numpy()
            pc, tc = p - p.mean(0), t - t.mean(0)
            c = (pc * tc).sum(0) / np.sqrt((pc ** 2).sum(0) * (tc ** 2).sum(0))
            return float(np.mean(np.nan_to_num(c)))

        opt = torch.optim.Adam(ro.parameters(), lr=lr)
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="max", factor=0.3, patience=5, threshold=1e-6, min_lr=1e-4, threshold_mode="abs")
        epochs = 0
        for epoch, _ in early_stopping(ro, objective, interval=1, patience=5, start=0, max_iter=200, maximize=True, tolerance=1e-6,
                                       restore_best=True, scheduler=sched, lr_decay_steps=3):
            epochs = epoch
            ro.train()
            perm = torch.randperm(len(tr))
            for b in range(0, len(tr), 64):
                idx = perm[b:b + 64]
                loss = np.sqrt(T / len(idx)) * poisson(predict(feats["train"][idx]), y_tr[idx]) + ro.regularizer()
                opt.zero_grad()
                loss.backward()
                opt.step()
        mu = ro.mu.detach().reshape(N, 2).clamp(-1, 1).numpy()
        d = mu - truth
        return {"lr": lr, "seed": seed, "epochs": epochs, "val": round(objective(ro), 5),
                "grid_error_median": round(float(np.median(np.hypot(d[:, 0], d[:, 1]))), 6),
                "offset": [float(f"{d[:, 0].mean():.2e}"), float(f"{d[:, 1].mean():.2e}")]}

    for spec in a.runs.split(","):
        lr, seed = spec.split(":")
        t = time.time()
        r = run(int(seed), float(lr))
        r["s"] = round(time.time() - t)
        print(json.dumps(r), flush=True)


if __name__ == "__main__":
    main()
