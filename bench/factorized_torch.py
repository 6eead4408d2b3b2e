"""PyTorch side of bench/factorized.ts: neuralpredictors' own FullFactorized2d trained on cached core outputs.

One training step as neuralpredictors / the Sensorium trainer runs it on a frozen core's output: the readout's
forward on a cached (batch, C, h, w) tensor, elu(y) + 1, PoissonLoss(avg=False) scaled by sqrt(trials / batch),
plus the readout's regularizer, backward, torch.optim.Adam step. Timed after one warm-up step; images/s =
batch / median step time (wall clock), and images per CPU-second of the process (the least CPU time of the
steps, all threads together: on a loaded machine the fairer measure of work; with 1 thread it is the throughput
of one idle core). Prints one JSON line.

neuralpredictors is not installable here: --neuralpredictors points at a folder holding the package (e.g.
`git archive` of github.com/sinzlab/neuralpredictors); torchvision, matplotlib and tqdm are stubbed (module-level
imports of parts not used here).

Usage: python bench/factorized_torch.py --neuralpredictors PATH [--neurons 7776,1000] [--batch 64] [--steps 3]
       [--threads 1,2] [--shape 64,28,56]   (the Python that scripts/setup_torch.sh makes)
"""
import argparse
import importlib.machinery
import json
import statistics
import sys
import time
import types


def stub(name):
    m = types.ModuleType(name)
    m.__spec__ = importlib.machinery.ModuleSpec(name, None)
    sys.modules.setdefault(name, m)
    return m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--neuralpredictors", required=True)
    ap.add_argument("--neurons", default="7776,1000")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--shape", default="64,28,56", help="C,h,w of the cached core output")
    a = ap.parse_args()
    for m in ("torchvision", "matplotlib", "matplotlib.pyplot"):
        stub(m)
    stub("tqdm").tqdm = lambda it=None, *args, **kw: it
    sys.path.insert(0, a.neuralpredictors)
    import torch
    from neuralpredictors.layers.readouts.factorized import FullFactorized2d
    from neuralpredictors.measures.modules import PoissonLoss

    C, H, W = (int(v) for v in a.shape.split(","))
    B = a.batch
    out = {"torch": torch.__version__, "batch": B, "shape": [C, H, W], "results": []}
    g = torch.Generator().manual_seed(0)
    x = torch.nn.functional.elu(torch.randn(B, C, H, W, generator=g))
    for threads in (int(t) for t in a.threads.split(",")):
        torch.set_num_threads(threads)
        for N in (int(n) for n in a.neurons.split(",")):
            torch.manual_seed(0)
            y = torch.poisson(torch.ones(B, N) * 1.2, generator=g)
            ro = FullFactorized2d(in_shape=(C, H, W), outdims=N, bias=True, normalize=True, mean_activity=y.mean(0),
                                  spatial_and_feature_reg_weight=0.0076)
            opt = torch.optim.Adam(ro.parameters(), lr=0.005)
            loss_fn = PoissonLoss(avg=False)
            scale = (5500 / B) ** 0.5

            def step():
                opt.zero_grad()
                pred = torch.nn.functional.elu(ro(x)) + 1
                loss = scale * loss_fn(pred, y) + ro.regularizer()
                loss.backward()
                opt.step()

            step()
            times, cpu = [], []
            for _ in range(a.steps):
                t, c = time.perf_counter(), time.process_time()
                step()
                times.append(time.perf_counter() - t)
                cpu.append(time.process_time() - c)
            med, cmin = statistics.median(times), min(cpu)
            out["results"].append({"threads": threads, "neurons": N, "step_s": med, "img_per_s": B / med,
                                   "cpu_s": cmin, "img_per_cpu_s": B / cmin})
            print(f"neuralpredictors FullFactorized2d, {threads} thread(s), {N} neurons: {B / med:.1f} images/s wall "
                  f"({med:.3f} s per step of {B}), {B / cmin:.1f} images per CPU-second (all threads)", file=sys.stderr)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
