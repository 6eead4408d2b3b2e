"""Independent NumPy statement of the metrics (the formulas of neuralpredictors' np_functions, Sensorium's
scores and the Lurz 2020 fraction oracle), used by metrics.numpy.test.ts to check the TypeScript versions.

usage: numpy_metrics.py DIR   (DIR holds pred.npy, resp.npy (trials, neurons) float64 and ids.npy (trials,) int64;
prints one JSON object)"""
import json
import sys

import numpy as np


def corr(a, b, eps=1e-8):
    za = (a - a.mean(axis=0, keepdims=True)) / (a.std(axis=0, keepdims=True, ddof=0) + eps)
    zb = (b - b.mean(axis=0, keepdims=True)) / (b.std(axis=0, keepdims=True, ddof=0) + eps)
    return (za * zb).mean(axis=0)


def main(d):
    pred = np.load(f"{d}/pred.npy")
    resp = np.load(f"{d}/resp.npy")
    ids = np.load(f"{d}/ids.npy")
    uniq = np.unique(ids)
    r_split = [resp[ids == u] for u in uniq]
    p_split = [pred[ids == u] for u in uniq]

    test_corr = corr(pred, resp)
    test_corr[np.isnan(test_corr)] = 0
    avg_corr = corr(np.stack([p.mean(0) for p in p_split]), np.stack([r.mean(0) for r in r_split]))

    # jackknife oracle over images with >= 2 repeats
    rep = [r for r in r_split if r.shape[0] >= 2]
    rep_p = [p for p, r in zip(p_split, r_split) if r.shape[0] >= 2]
    loo = [(r.sum(0, keepdims=True) - r) / (r.shape[0] - 1) for r in rep]
    oracle = corr(np.vstack(rep), np.vstack(loo))

    frac = np.linalg.lstsq(oracle[:, None], test_corr, rcond=None)[0][0]

    total = np.var(np.vstack(rep), axis=0, ddof=1)
    noise = np.mean(np.stack([np.var(r, axis=0, ddof=1) for r in rep]), axis=0)
    mse = np.mean(np.vstack([(r - p) ** 2 for r, p in zip(rep, rep_p)]), axis=0)
    fev = (total - noise) / total
    feve = 1 - (mse - noise) / (total - noise)

    print(json.dumps({
        "test_correlation": test_corr.tolist(),
        "correlation_to_average": avg_corr.tolist(),
        "oracle": oracle.tolist(),
        "fraction_oracle": float(frac),
        "fev": fev.tolist(),
        "feve": feve.tolist(),
        "feve_mean": float(feve[fev >= 0.15].mean()) if np.any(fev >= 0.15) else None,
    }))


if __name__ == "__main__":
    main(sys.argv[1])
