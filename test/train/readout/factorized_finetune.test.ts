/**
 * Fine-tuning a factorized readout (FullFactorized2d, Klindt et al. 2017) on a frozen core, through the worker's
 * job as the page runs it: the demo core and the demo's held-out mouse (300 neurons, 1600 training images), a few
 * epochs. Checks the messages (status, cache progress, batch and epoch events, snapshots of the masks' peaks and
 * spreads), that it learns (test correlation well above 0), that no tensor is left behind between epochs, and the
 * exports: the readout .pth in neuralpredictors' keys read back by our loader (same arrays; as a model with the
 * core it predicts what the job predicted), per-neuron rows with the masks' geometry, metadata with the readout
 * type; and, when the PyTorch environment exists, that (with the vendored neuralpredictors, or V1X_NEURALPREDICTORS)
 * neuralpredictors' own FullFactorized2d loads the exported readout with strict=True and predicts the same.
 * Then the trainer alone on a small synthetic problem: it recovers the masks' positions, and stops on a NaN
 * loss and on request with the best state.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../../src/backend/node';
import { toFloat32 } from '../../../src/io/host_tensor';
import { parseNumericNpy, writeNpy } from '../../../src/io/npy';
import { loadScanFromPath } from '../../../src/io/scan/node_dir_source';
import { normalizedImages } from '../../../src/io/scan/normalize';
import type { Scan } from '../../../src/io/scan/types';
import { readCheckpoint } from '../../../src/io/torch_checkpoint';
import { parseModelConfig } from '../../../src/model/config';
import { effectiveMasks, maskGeometry, pixelToGrid } from '../../../src/model/factorized_masks';
import { encoderFromStateDict } from '../../../src/model/from_state_dict';
import {
  DEFAULT_FACTORIZED_OPTIONS,
  FACTORIZED_DEFAULT_REG_WEIGHT,
  type TrainableFactorizedReadout,
} from '../../../src/model/readout_types';
import { type FactorizedNeuronRow, trainableReadoutFromStateDict } from '../../../src/train/export';
import { TrainingControl } from '../../../src/train/optim/control';
import { FeatureCache } from '../../../src/train/readout/feature_cache';
import { initFactorizedTrainable, REFERENCE_FACTORIZED } from '../../../src/train/readout/readout_init';
import { predictBatch, StepWorkspace } from '../../../src/train/readout/readout_step';
import { type TrainEvent, trainReadout } from '../../../src/train/readout/trainer';
import { runFineTuneJob } from '../../../src/train/worker/job';
import type { DoneMessage, FromWorker } from '../../../src/train/worker/protocol';
import { Rng } from '../../../src/util/rng';
import { NEURALPREDICTORS, noTorchReason, TORCH_PYTHON } from '../../fixtures/paths';

const DEMO = fileURLToPath(new URL('../../../public/demo/', import.meta.url));
const NP = NEURALPREDICTORS;
const SCRIPT = fileURLToPath(new URL('../py/factorized_load_np.py', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'v1x-fx-ft-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('fine-tuning a factorized readout on the demo core (worker job)', () => {
  let scan: Scan;
  const msgs: FromWorker[] = [];
  let done: DoneMessage;
  let readout: TrainableFactorizedReadout;
  const tensorsAtEpoch: number[] = [];
  let tensorsBefore = 0;
  const bytes = new Uint8Array(readFileSync(join(DEMO, 'model.pth')));
  const configJson = JSON.parse(readFileSync(join(DEMO, 'config.json'), 'utf8'));

  beforeAll(async () => {
    await initNodeBackend('wasm');
    scan = await loadScanFromPath(join(DEMO, 'static-v1demo-heldout.zip'));
    tensorsBefore = tf.memory().numTensors;
    await runFineTuneJob(
      {
        type: 'start',
        checkpoint: { bytes, name: 'model.pth' },
        config: configJson,
        scan,
        backend: null,
        readoutType: 'factorized',
        train: { seed: 3, schedule: { maxEpochs: 3 } },
        snapshotEveryMs: 0,
      },
      (m) => {
        msgs.push(m);
        if (m.type === 'train-event' && m.event.kind === 'epoch') tensorsAtEpoch.push(tf.memory().numTensors);
      },
      new TrainingControl(),
      async () => ({ name: 'wasm', reason: 'Node test' }),
    );
    const err = msgs.find((m) => m.type === 'error');
    if (err) throw new Error(JSON.stringify(err));
    done = msgs.find((m) => m.type === 'done') as DoneMessage;
    if (done.readout.kind !== 'factorized') throw new Error(`trained a ${done.readout.kind} readout`);
    readout = done.readout;
  }, 300_000);

  it("learns: test correlation well above 0, validation rising; the protocol's events in order", () => {
    expect(done.stopReason).toBe('max-epochs');
    expect(done.history.map((h) => h.epoch)).toEqual([0, 1, 2, 3]);
    expect(done.history[3].bestValCorrelation).toBeGreaterThan(done.history[0].valCorrelation + 0.2);
    expect(done.metrics!.test_correlation).toBeGreaterThan(0.3);
    const m = done.metrics!;
    console.log(
      `factorized readout, 3 epochs on the demo's held-out mouse: test correlation ${m.test_correlation?.toFixed(4)}, ` +
        `fraction of oracle ${m.fraction_oracle?.toFixed(3)}`,
    );
    const events = msgs
      .filter((m) => m.type === 'train-event')
      .map((m) => (m.type === 'train-event' ? m.event : null)!);
    expect(events.filter((e) => e.kind === 'epoch').map((e) => e.epoch)).toEqual([0, 1, 2, 3]);
    const lastBatch = events.filter((e) => e.kind === 'batch').at(-1)!;
    expect(lastBatch).toMatchObject({ kind: 'batch', epoch: 3, batch: 25, batches: 25 });
    const phases = msgs.filter((m) => m.type === 'status').map((m) => (m.type === 'status' ? m.phase : ''));
    expect(phases).toEqual(expect.arrayContaining(['loading', 'caching', 'training', 'exporting', 'done']));
  });

  it('no tensor is left behind: the count is the same at every epoch and after the job', () => {
    expect(tensorsAtEpoch).toHaveLength(4);
    expect(new Set(tensorsAtEpoch).size).toBe(1);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });

  it("snapshots: the masks' peaks and spreads (uncorrelated sigmas in grid units), nothing sampled", () => {
    const snaps = msgs.filter((m) => m.type === 'readout-snapshot');
    expect(snaps.length).toBe(4); // one per epoch event (snapshotEveryMs 0)
    const last = snaps.at(-1)!;
    if (last.type !== 'readout-snapshot') throw new Error('unreachable');
    expect(last).toMatchObject({ kind: 'factorized', gaussType: 'uncorrelated', sampledImages: 0 });
    expect(last.positions).toHaveLength(600);
    expect(last.sigma).toHaveLength(600);
    const g = maskGeometry(
      effectiveMasks(readout.spatial, 300, readout.height, readout.width, readout.options),
      300,
      readout.height,
      readout.width,
    );
    expect(Array.from(last.positions)).toEqual(Array.from(g.peak));
    expect(last.sigma[0]).toBeCloseTo((g.spread[0] * 2) / (readout.width - 1), 6);
    expect(last.sigma[1]).toBeCloseTo((g.spread[0] * 2) / (readout.height - 1), 6);
  });

  it("per-neuron rows and CSV: the mask's peak, centroid, spread and half-maximum size with the metrics", () => {
    expect(done.perNeuronCsv.split('\n')[0]).toBe(
      'unit_id,x,y,centre_x,centre_y,spread,half_max_pixels,test_correlation,correlation_to_average,oracle,fraction_oracle,feve',
    );
    expect(done.perNeuronCsv.trim().split('\n')).toHaveLength(301);
    const rows = done.perNeuron as FactorizedNeuronRow[];
    expect(rows).toHaveLength(300);
    expect(rows[0].unit_id).toBe(Number(scan.unitIds[0]));
    for (const r of rows) {
      expect(Math.abs(r.x)).toBeLessThanOrEqual(1);
      expect(Math.abs(r.centre_y)).toBeLessThanOrEqual(1);
      expect(r.half_max_pixels).toBeGreaterThanOrEqual(1);
      expect(r.spread).toBeGreaterThan(0);
    }
    const mean = rows.reduce((a, r) => a + (r.test_correlation ?? 0), 0) / rows.length;
    expect(mean).toBeCloseTo(done.metrics!.test_correlation!, 10);
  });

  it('metadata: the readout type, its shape and options, the regularizer weight used', () => {
    const meta = JSON.parse(done.metadataJson);
    expect(meta.readout).toEqual({
      readout_type: 'factorized',
      neurons: 300,
      channels: 16,
      height: readout.height,
      width: readout.width,
      normalize: true,
      constrain_pos: false,
      positive_weights: false,
      positive_spatial: false,
      spatial_and_feature_reg_weight: FACTORIZED_DEFAULT_REG_WEIGHT,
      factorized_l1: 'per_neuron',
    });
    expect(meta.training).toMatchObject({
      train_core: false,
      gamma_readout: FACTORIZED_DEFAULT_REG_WEIGHT,
      max_epochs: 3,
      epochs: 3,
    });
    expect(meta.seed).toBe(3);
  });

  it("the readout .pth: neuralpredictors' keys, read back to the same arrays; with the core, the job's predictions", async () => {
    const sd = await readCheckpoint(done.readoutPth, 'readout.pth');
    const p = `readout.${done.dataKey}.`;
    expect([...sd.keys()]).toEqual([`${p}_features`, `${p}spatial`, `${p}bias`]);
    expect(sd.get(`${p}spatial`)!.shape).toEqual([300, readout.height, readout.width]);
    expect(sd.get(`${p}_features`)!.shape).toEqual([300, 16]);
    const back = trainableReadoutFromStateDict(sd, done.dataKey);
    if (back.kind !== 'factorized') throw new Error('read back as Gaussian');
    expect(back.spatial).toEqual(readout.spatial);
    expect(back.features).toEqual(readout.features);
    expect(back.bias).toEqual(readout.bias);
    expect(back.options).toEqual({ ...DEFAULT_FACTORIZED_OPTIONS });

    const full = await readCheckpoint(done.fullModelPth!, 'full.pth');
    const encoder = encoderFromStateDict(full, parseModelConfig(configJson, 'config.json'), 'full.pth', {
      trainable: false,
    });
    try {
      expect(encoder.anyReadout(done.dataKey).kind).toBe('factorized');
      const y = await encoder.predict(normalizedImages(scan, done.testTrials!), { readout: done.dataKey });
      const ref = done.testPredictions!;
      let worst = 0;
      // the job predicted from the float16 cache, the encoder from the images: float16's rounding of the maps
      for (let i = 0; i < ref.length; i++)
        worst = Math.max(worst, Math.abs(y.data[i] - ref[i]) / (2e-3 + 2e-3 * Math.abs(ref[i])));
      expect(worst).toBeLessThanOrEqual(1);
    } finally {
      encoder.dispose();
    }
  });

  const torchReady = existsSync(TORCH_PYTHON) && NP !== '' && existsSync(join(NP, 'neuralpredictors'));
  if (!torchReady) {
    console.log(
      existsSync(TORCH_PYTHON)
        ? `skipping the neuralpredictors load check: no neuralpredictors package in ${NP} (V1X_NEURALPREDICTORS)`
        : noTorchReason('the neuralpredictors load check of the exported factorized readout'),
    );
  }
  it.skipIf(!torchReady)(
    "neuralpredictors' FullFactorized2d loads the exported readout (strict) and predicts the same",
    async () => {
      const { height: H, width: W, channels: C } = readout;
      const B = 5;
      const rng = new Rng(9);
      const maps = Array.from({ length: B }, () =>
        Float32Array.from({ length: H * W * C }, () => Math.max(-1, rng.normal()) + 0.2),
      );
      const nchw = new Float32Array(B * C * H * W);
      maps.forEach((m, b) => {
        for (let p = 0; p < H * W; p++) for (let c = 0; c < C; c++) nchw[(b * C + c) * H * W + p] = m[p * C + c];
      });
      writeFileSync(join(tmp, 'maps.npy'), writeNpy({ dtype: 'float32', shape: [B, C, H, W], data: nchw }));
      writeFileSync(join(tmp, 'readout.pth'), done.readoutPth);
      const run = spawnSync(
        TORCH_PYTHON,
        [
          SCRIPT,
          '--neuralpredictors',
          NP,
          '--readout',
          join(tmp, 'readout.pth'),
          '--key',
          done.dataKey,
          '--maps',
          join(tmp, 'maps.npy'),
          '--out',
          join(tmp, 'y.npy'),
        ],
        { encoding: 'utf8', timeout: 120_000 },
      );
      expect(run.status, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout.trim().split('\n').at(-1)!).keys).toEqual(['_features', 'spatial', 'bias']);
      const theirs = toFloat32(parseNumericNpy(readFileSync(join(tmp, 'y.npy')), 'y.npy'));
      const ours = new Float32Array(B * 300);
      predictBatch({ ...readout }, null, { height: H, width: W, channels: C }, maps, ours);
      let worst = 0,
        maxAbs = 0;
      for (let i = 0; i < ours.length; i++) {
        const d = Math.abs(ours[i] - theirs[i]);
        maxAbs = Math.max(maxAbs, d);
        worst = Math.max(worst, d - (1e-4 + 1e-4 * Math.abs(theirs[i])));
      }
      console.log(
        `exported factorized readout in neuralpredictors' FullFactorized2d: max abs difference ${maxAbs.toExponential(2)}`,
      );
      expect(worst).toBeLessThanOrEqual(0);
    },
  );
});

/** A small factorized problem: Gaussian-blob masks at known pixels, random features, Poisson responses. */
function synthetic(seed: number, nanTargets = false) {
  const H = 9,
    W = 13,
    C = 6,
    N = 12,
    T = 600,
    V = 120;
  const rng = new Rng(seed);
  const truth = initFactorizedTrainable(
    { neurons: N, channels: C, height: H, width: W, meanActivity: new Float32Array(N) },
    REFERENCE_FACTORIZED,
    seed,
  );
  const centres: number[] = [];
  for (let n = 0; n < N; n++) {
    const cx = 2 + rng.int(W - 4),
      cy = 2 + rng.int(H - 4);
    centres.push(cx, cy);
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) truth.spatial[n * H * W + y * W + x] = Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / 2);
    for (let c = 0; c < C; c++) truth.features[n * C + c] = rng.normal();
    truth.bias[n] = 0.2;
  }
  const trials = Int32Array.from({ length: T + V }, (_, i) => i);
  const cache = new FeatureCache({ height: H, width: W, channels: C }, 'float32', trials, T + V, 64);
  const maps: Float32Array[] = [];
  for (let i = 0; i < T + V; i++) {
    const m = Float32Array.from({ length: H * W * C }, () => rng.normal());
    maps.push(m);
    cache.store(i, m);
  }
  const rates = new Float32Array((T + V) * N);
  predictBatch(truth, null, { height: H, width: W, channels: C }, maps, rates);
  const responses = Float32Array.from(rates, (r, i) => (nanTargets && i === 5 ? NaN : rng.poisson(r)));
  const fresh = () =>
    initFactorizedTrainable(
      {
        neurons: N,
        channels: C,
        height: H,
        width: W,
        meanActivity: new Float32Array(N).fill(1),
      },
      { ...REFERENCE_FACTORIZED, options: { ...REFERENCE_FACTORIZED.options, regWeight: 0 } },
      seed + 1,
    );
  const data = {
    cache,
    neurons: N,
    datasetTrials: T + V,
    train: { trials: trials.subarray(0, T), responses: responses.subarray(0, T * N) },
    validation: { trials: trials.subarray(T), responses: responses.subarray(T * N) },
  };
  return { data, fresh, centres, H, W, N };
}

describe('the factorized readout trainer on a synthetic problem', () => {
  it("recovers the masks' positions; the step kernel is one per run (the workspace's)", async () => {
    const s = synthetic(4);
    const r = s.fresh();
    const ws = new StepWorkspace();
    const res = await trainReadout(
      s.data,
      r,
      { seed: 1, lr: 0.02, schedule: { maxEpochs: 30 } },
      undefined,
      undefined,
      ws,
    );
    const kernel = ws.factorizedKernel({ height: s.H, width: s.W, channels: 6 }, s.N);
    expect(ws.factorizedKernel({ height: s.H, width: s.W, channels: 6 }, s.N)).toBe(kernel);
    expect(res.bestValCorrelation).toBeGreaterThan(0.5);
    const g = maskGeometry(effectiveMasks(r.spatial, s.N, s.H, s.W, r.options), s.N, s.H, s.W);
    const errs: number[] = [];
    for (let n = 0; n < s.N; n++) {
      const dx = ((g.peak[2 * n] - pixelToGrid(s.centres[2 * n], s.W)) * (s.W - 1)) / 2;
      const dy = ((g.peak[2 * n + 1] - pixelToGrid(s.centres[2 * n + 1], s.H)) * (s.H - 1)) / 2;
      errs.push(Math.hypot(dx, dy));
    }
    errs.sort((a, b) => a - b);
    console.log(
      `synthetic: best validation ${res.bestValCorrelation.toFixed(3)}, median peak error ${errs[s.N / 2].toFixed(2)} px`,
    );
    expect(errs[s.N / 2]).toBeLessThan(0.5);
  });

  it('a NaN loss stops training with the best state; a stop request ends it after the batch', async () => {
    const s = synthetic(5, true);
    const r = s.fresh();
    const before = r.spatial.slice();
    const res = await trainReadout(s.data, r, { seed: 1, schedule: { maxEpochs: 5 } });
    expect(res.stopReason).toBe('non-finite-loss');
    expect(r.spatial).toEqual(before); // the best state is the initial one (epoch 0)

    const t = synthetic(6);
    const control = new TrainingControl();
    const events: TrainEvent[] = [];
    const res2 = await trainReadout(
      t.data,
      t.fresh(),
      { seed: 1, schedule: { maxEpochs: 5 } },
      (e) => {
        events.push(e);
        if (e.kind === 'batch' && e.epoch === 2 && e.batch === 3) control.stop();
      },
      control,
    );
    expect(res2.stopReason).toBe('stopped');
    expect(events.filter((e) => e.kind === 'batch' && e.epoch === 2).length).toBe(3);
  });
});
