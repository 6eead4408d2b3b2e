/**
 * The core regularizers (src/train/core_regularizers.ts) against PyTorch running neuralpredictors' formulas
 * (regularizers.LaplaceL2norm with padding None / 0 and avg False / True; Stacked2dCore.group_sparsity), values
 * and gradients, with the reference venv (skipped with the reason when it is missing).
 */

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../../src/backend/node';
import { registerWasmGradKernels } from '../../../src/kernels/wasm/grad_kernels';
import { DEFAULT_MODEL_CONFIG, type ModelConfig } from '../../../src/model/config';
import { tfConvToTorch } from '../../../src/model/core';
import { encoderFromStateDict } from '../../../src/model/from_state_dict';
import { initCoreStateDict } from '../../../src/train/end_to_end/new_model';
import { coreRegularizer, groupSparsity, laplaceL2norm } from '../../../src/train/end_to_end/regularizers';
import { Rng } from '../../../src/util/rng';
import { noTorchReason, TORCH_PYTHON as PY } from '../../fixtures/paths';

const hasTorch = existsSync(PY);
if (!hasTorch) console.log(noTorchReason('the core regularizers against PyTorch'));

/** neuralpredictors' definitions, restated line by line (regularizers.py, cores/conv2d.py). */
const SCRIPT = `
import json, sys
import numpy as np, torch, torch.nn.functional as F
spec = json.load(open(sys.argv[1]))
lap = torch.tensor([[0, -1, 0], [-1, 4, -1], [0, -1, 0]], dtype=torch.float32)[None, None]
out = []
for case in spec:
    if case["kind"] == "laplace":
        w = torch.tensor(case["w"], dtype=torch.float32).reshape(case["shape"]).requires_grad_(True)
        pad = 1 if case["padding"] is None else case["padding"]   # Laplace(padding=None): filter size // 2
        agg = torch.mean if case["avg"] else torch.sum
        oc, ic, k1, k2 = w.size()
        v = agg(F.conv2d(w.reshape(oc * ic, 1, k1, k2), lap, padding=pad).pow(2)) / agg(w.reshape(oc * ic, 1, k1, k2).pow(2))
    else:
        ws = [torch.tensor(x, dtype=torch.float32).reshape(s).requires_grad_(True) for x, s in zip(case["ws"], case["shapes"])]
        ret = 0
        for x in ws:
            ret = ret + x.pow(2).sum(3, keepdim=True).sum(2, keepdim=True).sqrt().mean()
        v = ret / len(ws)
        w = ws
    v.backward()
    grads = [w.grad.flatten().tolist()] if case["kind"] == "laplace" else [x.grad.flatten().tolist() for x in w]
    out.append({"value": v.item(), "grads": grads})
print(json.dumps(out))
`;

function torch(spec: unknown[]): { value: number; grads: number[][] }[] {
  const dir = mkdtempSync(join(tmpdir(), 'v1x-reg-'));
  try {
    writeFileSync(join(dir, 'spec.json'), JSON.stringify(spec));
    writeFileSync(join(dir, 'reg.py'), SCRIPT);
    return JSON.parse(
      execFileSync(PY, [join(dir, 'reg.py'), join(dir, 'spec.json')], { encoding: 'utf8', timeout: 120_000 }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function close(a: ArrayLike<number>, b: ArrayLike<number>, tol: number): void {
  expect(a.length).toBe(b.length);
  let scale = 1e-12;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i]) / scale, `element ${i}`).toBeLessThan(tol);
}

describe.skipIf(!hasTorch)('core regularizers against PyTorch', () => {
  beforeAll(async () => {
    await initNodeBackend('wasm');
    registerWasmGradKernels();
  });

  it('LaplaceL2norm: value and gradient for padding None and 0, sum and mean', async () => {
    const rng = new Rng(8);
    const shape: [number, number, number, number] = [6, 2, 9, 7]; // torch (out, in, kh, kw)
    const w = Float32Array.from({ length: 6 * 2 * 9 * 7 }, () => rng.normal());
    const cases = [
      { padding: null, avg: false },
      { padding: 0, avg: false },
      { padding: null, avg: true },
      { padding: 0, avg: true },
      { padding: 2, avg: true },
    ];
    const ref = torch(cases.map((c) => ({ kind: 'laplace', w: [...w], shape, ...c })));
    cases.forEach((c, i) => {
      const wt = tf.tidy(() => tf.transpose(tf.tensor4d(w, shape), [2, 3, 1, 0])) as tf.Tensor4D; // tfjs (kh, kw, in, out)
      const v = tf.variable(wt, true, `w${i}`);
      const { value, grads } = tf.variableGrads(() => laplaceL2norm(v, c.padding, c.avg), [v]);
      expect(Math.abs(value.dataSync()[0] - ref[i].value) / ref[i].value).toBeLessThan(1e-5);
      const g = tf.tidy(() => tfConvToTorch(grads[`w${i}`] as tf.Tensor4D, false).dataSync());
      close(g, ref[i].grads[0], 1e-4);
      tf.dispose([value, wt, v, ...Object.values(grads)]);
    });
  });

  it('group sparsity of a plain-conv core and the combined regularizer with its gammas; zero for depth-separable cores', async () => {
    const cfg: ModelConfig = {
      ...(structuredClone(DEFAULT_MODEL_CONFIG) as ModelConfig),
      layers: 3,
      hidden_channels: [3, 4, 5],
      input_kern: 5,
      hidden_kern: [3, 5],
      depth_separable: false,
      input_shape: [1, 20, 20],
      grid_mean_predictor: null,
    };
    const sd = initCoreStateDict(cfg, 9);
    const enc = encoderFromStateDict(sd, cfg, 'x');
    const hidden = ['core.features.layer1.conv.weight', 'core.features.layer2.conv.weight'].map((k) => sd.get(k)!);
    const first = sd.get('core.features.layer0.conv.weight')!;
    const [gs, lap] = torch([
      { kind: 'group', ws: hidden.map((t) => [...(t.data as Float32Array)]), shapes: hidden.map((t) => t.shape) },
      { kind: 'laplace', w: [...(first.data as Float32Array)], shape: first.shape, padding: null, avg: false },
    ]);
    const vars = [enc.core.layers[1].convs[0].weight, enc.core.layers[2].convs[0].weight];
    const { value, grads } = tf.variableGrads(() => groupSparsity(enc.core), vars);
    expect(Math.abs(value.dataSync()[0] - gs.value) / gs.value).toBeLessThan(1e-5);
    vars.forEach((v, i) =>
      close(
        tf.tidy(() => tfConvToTorch(grads[v.name] as tf.Tensor4D, false).dataSync()),
        gs.grads[i],
        1e-4,
      ),
    );
    tf.dispose([value, ...Object.values(grads)]);
    const total = coreRegularizer(enc.core, {
      gammaInput: 6.3831,
      gammaHidden: 0.5,
      laplacePadding: null,
      useAvgReg: false,
    });
    expect(total.dataSync()[0]).toBeCloseTo(6.3831 * lap.value + 0.5 * gs.value, 4);
    total.dispose();
    enc.dispose();
    const ds = encoderFromStateDict(
      initCoreStateDict({ ...cfg, depth_separable: true }, 9),
      { ...cfg, depth_separable: true },
      'y',
    );
    const z = groupSparsity(ds.core);
    expect(z.dataSync()[0]).toBe(0);
    z.dispose();
    ds.dispose();
  });
});
