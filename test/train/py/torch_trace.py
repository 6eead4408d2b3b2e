"""PyTorch traces for the optimizer and LR schedule tests. Reads a JSON spec, prints a JSON result.

adam: {"kind": "adam", "params": [[...], ...], "grads": [[[...], ...] per step], "lrs": [lr per step]}
      -> {"params": final parameter values (float32 as floats)}
plateau: {"kind": "plateau", "lr": x, "factor": f, "patience": p, "threshold": t, "min_lr": m, "objectives": [...]}
      -> {"lrs": learning rate after each step}
"""
import json
import sys

import torch


def main():
    spec = json.load(open(sys.argv[1]))
    if spec["kind"] == "adam":
        params = [torch.nn.Parameter(torch.tensor(p, dtype=torch.float32)) for p in spec["params"]]
        opt = torch.optim.Adam(params, lr=spec["lrs"][0])
        for grads, lr in zip(spec["grads"], spec["lrs"]):
            for g in opt.param_groups:
                g["lr"] = lr
            for p, g in zip(params, grads):
                p.grad = torch.tensor(g, dtype=torch.float32)
            opt.step()
        print(json.dumps({"params": [p.detach().tolist() for p in params]}))
    elif spec["kind"] == "plateau":
        p = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.Adam([p], lr=spec["lr"])
        sch = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="max", factor=spec["factor"], patience=spec["patience"],
                                                         threshold=spec["threshold"], min_lr=spec["min_lr"], threshold_mode="abs")
        lrs = []
        for o in spec["objectives"]:
            sch.step(o)
            lrs.append(opt.param_groups[0]["lr"])
        print(json.dumps({"lrs": lrs}))


if __name__ == "__main__":
    main()
