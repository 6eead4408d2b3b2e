/**
 * The worker's job end to end in Node (no Worker global): a small slice of static-sim-a on the sensorium-sota
 * core, a few epochs; the messages the page relies on, and the exports read back by our checkpoint reader
 * (readout alone: identical arrays; core + readout: the model engineer's Encoder predicts what we predicted; the
 * frozen core exported unchanged). With trainCore, on the demo core and a tiny simulated scan: the same message
 * shapes without a cache, pause / resume / stop, and a full model whose core is the fine-tuned one.
 */

import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../../src/backend/node';
import type { StateDict } from '../../../src/io/host_tensor';
import { loadScan, openZipScan } from '../../../src/io/scan';
import { loadScanFromPath } from '../../../src/io/scan/node_dir_source';
import { normalizedImages } from '../../../src/io/scan/normalize';
import type { Scan } from '../../../src/io/scan/types';
import { readCheckpoint } from '../../../src/io/torch_checkpoint';
import { DEFAULT_MODEL_CONFIG, type ModelConfig, parseModelConfig } from '../../../src/model/config';
import { encoderFromStateDict } from '../../../src/model/from_state_dict';
import { writeScanZip } from '../../../src/sim/scan_writer';
import { simulateV1Scan } from '../../../src/sim/v1_scan';
import { readoutFromStateDict } from '../../../src/train/export';
import { TrainingControl } from '../../../src/train/optim/control';
import { readoutParams } from '../../../src/train/readout/readout_params';
import { evalPositions } from '../../../src/train/readout/readout_step';
import { runFineTuneJob } from '../../../src/train/worker/job';
import type { DoneMessage, FromWorker } from '../../../src/train/worker/protocol';
import { pickTrials, SIM, SOTA, sotaStateDict, subsetScan } from '../helpers';

/** Largest difference over the `core.*` entries two state dicts share (NaN if `a` has one `b` lacks). */
function coreDiff(a: StateDict, b: StateDict): number {
  let max = 0;
  for (const [k, t] of a) {
    if (!k.startsWith('core.')) continue;
    const u = b.get(k);
    if (!u) return NaN;
    const x = t.data as ArrayLike<number | bigint>,
      y = u.data as ArrayLike<number | bigint>;
    for (let i = 0; i < x.length; i++) max = Math.max(max, Math.abs(Number(x[i]) - Number(y[i])));
  }
  return max;
}

/** The exported full model (read back as `sd`) predicts the job's test predictions (1e-4 abs + 1e-4 rel). */
async function expectFullModelPredictsTest(
  sd: StateDict,
  config: ModelConfig,
  scan: Scan,
  done: DoneMessage,
): Promise<void> {
  const encoder = encoderFromStateDict(sd, config, 'full.pth', { trainable: false });
  try {
    const y = await encoder.predict(normalizedImages(scan, done.testTrials!), { readout: done.dataKey });
    const ref = done.testPredictions!;
    let worst = 0;
    for (let i = 0; i < ref.length; i++)
      worst = Math.max(worst, Math.abs(y.data[i] - ref[i]) - (1e-4 + 1e-4 * Math.abs(ref[i])));
    expect(worst).toBeLessThanOrEqual(0);
  } finally {
    encoder.dispose();
  }
}

describe('fine-tuning job (worker protocol)', () => {
  let scan: Scan;
  const msgs: FromWorker[] = [];
  let done: DoneMessage;

  beforeAll(async () => {
    const full = await loadScanFromPath(`${SIM}/static-sim-a.zip`);
    scan = subsetScan(full, pickTrials(full, { train: 192, validation: 64, testImages: 4 }));
    const control = new TrainingControl();
    await runFineTuneJob(
      {
        type: 'start',
        checkpoint: { bytes: new Uint8Array(readFileSync(`${SOTA}/model.pth`)), name: 'model.pth' },
        config: null,
        scan,
        backend: null,
        train: { seed: 7, schedule: { maxEpochs: 2 } },
        cachePrecision: 'float32',
        snapshotEveryMs: 0,
      },
      (m) => msgs.push(m),
      control,
      async () => {
        await initNodeBackend('wasm');
        return { name: 'wasm', reason: 'Node test' };
      },
    );
    done = msgs.find((m) => m.type === 'done') as DoneMessage;
  });

  it('reports status, cache progress, training events and snapshots, then done', () => {
    const types = new Set(msgs.map((m) => m.type));
    for (const t of ['status', 'cache-progress', 'train-event', 'readout-snapshot', 'done'])
      expect(types.has(t as never), t).toBe(true);
    expect(msgs.some((m) => m.type === 'error')).toBe(false);
    const cp = msgs.filter((m) => m.type === 'cache-progress').at(-1)!;
    if (cp.type !== 'cache-progress') throw new Error('unreachable');
    expect(cp.done).toBe(cp.total);
    expect(cp.total).toBe(192 + 64 + 4); // repeated test images cached once
    expect(cp.bytes).toBe(cp.total * 28 * 56 * 64 * 4);
    expect(done.history.map((h) => h.epoch)).toEqual([0, 1, 2]);
    expect(done.stopReason).toBe('max-epochs');
    expect(done.metrics?.neurons).toBe(1000);
    expect(done.metrics?.trials).toBe(40);
    expect(done.perNeuron.length).toBe(1000);
    expect(done.perNeuronCsv.split('\n')[0]).toBe(
      'unit_id,x,y,sigma_xx,sigma_xy,sigma_yx,sigma_yy,test_correlation,correlation_to_average,oracle,fraction_oracle,feve',
    );
    const meta = JSON.parse(done.metadataJson);
    expect(meta.core_sha256).toBe('7a87989732c34068fe10aaf1dd2c0421cb47cb1693b4f95a5e0e381632456173');
    expect(meta.seed).toBe(7);
    expect(meta.backend).toBe('wasm');
    expect(meta.app_version).toBe(
      JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')).version,
    );
  });

  it('writes the metadata training block v1x finetune writes (the options the run used, then how it ended)', () => {
    const meta = JSON.parse(done.metadataJson);
    expect(Object.keys(meta.training)).toEqual([
      'train_core',
      'lr',
      'batch_size',
      'max_epochs',
      'gamma_readout',
      'loss',
      'nonlinearity_type',
      'epochs',
      'stop_reason',
      'history',
    ]);
    expect(meta.training).toMatchObject({
      train_core: false,
      lr: 0.005,
      batch_size: 64,
      max_epochs: 2,
      gamma_readout: 0.0076,
      loss: 'poisson',
      epochs: 2,
      stop_reason: 'max-epochs',
    });
    expect(meta.cache_precision).toBe('float32');
  });

  it('the exported readout reads back to the same arrays', async () => {
    const sd = await readCheckpoint(done.readoutPth, 'readout.pth');
    expect([...sd.keys()]).toEqual(
      [
        'sigma',
        '_features',
        'bias',
        'source_grid',
        'mu_transform.0.weight',
        'mu_transform.0.bias',
        'mu_transform.2.weight',
        'mu_transform.2.bias',
      ].map((k) => `readout.${done.dataKey}.${k}`),
    );
    expect(sd.get(`readout.${done.dataKey}._features`)!.shape).toEqual([1, 64, 1, 1000]);
    expect(sd.get(`readout.${done.dataKey}.sigma`)!.shape).toEqual([1, 1000, 2, 2]);
    const back = readoutFromStateDict(sd, done.dataKey);
    const a = readoutParams(back),
      b = readoutParams(done.readout);
    a.forEach((p, i) => expect(p.value).toEqual(b[i].value));
  });

  it('core + readout read back by the model loader predict what the trainer predicted', async () => {
    const sd = await readCheckpoint(done.fullModelPth!, 'full.pth');
    expect(done.trainCore).toBe(false);
    expect(coreDiff(sd, await sotaStateDict())).toBe(0); // the frozen core, BatchNorm statistics included, as loaded
    await expectFullModelPredictsTest(sd, { ...DEFAULT_MODEL_CONFIG }, scan, done);
    expect(tf.memory().numTensors).toBeLessThan(10);
  });
});

describe('fine-tuning job with the core trainable too', () => {
  const DEMO = new URL('../../../public/demo/', import.meta.url).pathname;
  let scan: Scan;
  let bytes: Uint8Array;
  let config: unknown;
  const backend = async (): Promise<{ name: string; reason: string }> => {
    await initNodeBackend('wasm');
    return { name: 'wasm', reason: 'Node test' };
  };
  const start = (maxEpochs: number) => ({
    type: 'start' as const,
    checkpoint: { bytes: bytes.slice(), name: 'model.pth' },
    config,
    scan,
    backend: null,
    trainCore: true,
    train: { seed: 7, batchSize: 32, schedule: { maxEpochs } },
    snapshotEveryMs: 0,
  });

  beforeAll(async () => {
    const v = simulateV1Scan({
      animalSeed: 41,
      nNeurons: 20,
      nTrain: 96,
      nValidation: 32,
      nTest: 5,
      testRepeats: 4,
      name: 'static-tiny-41',
    });
    scan = await loadScan(await openZipScan(await writeScanZip(v.scan), 'static-tiny-41.zip'));
    bytes = new Uint8Array(readFileSync(`${DEMO}model.pth`));
    config = JSON.parse(readFileSync(`${DEMO}config.json`, 'utf8'));
  });

  it('reports training, snapshots and done as the frozen path does, without a cache; the full model holds the fine-tuned core', async () => {
    const msgs: FromWorker[] = [];
    await runFineTuneJob(start(2), (m) => msgs.push(m), new TrainingControl(), backend);
    expect(msgs.some((m) => m.type === 'error')).toBe(false);
    expect(msgs.some((m) => m.type === 'cache-progress')).toBe(false);
    const events = msgs.flatMap((m) => (m.type === 'train-event' ? [m.event] : []));
    const batch = events.find((e) => e.kind === 'batch');
    expect(batch && batch.kind === 'batch' && Number.isFinite(batch.valCorrelation)).toBe(true); // the page shows it
    expect(events.filter((e) => e.kind === 'epoch').map((e) => e.epoch)).toEqual([0, 1, 2]);
    const snaps = msgs.filter((m) => m.type === 'readout-snapshot');
    expect(snaps.length).toBe(3); // one per epoch event (snapshotEveryMs 0)
    const snap = snaps[0];
    if (snap.type !== 'readout-snapshot') throw new Error('unreachable');
    expect(snap.positions.length).toBe(40);
    expect(snap.sigma.length).toBe(80);
    expect(snap.sampledPositions.length).toBe(snap.sampledImages * 40);
    const done = msgs.find((m) => m.type === 'done') as DoneMessage;
    expect(done.trainCore).toBe(true);
    expect(done.timings.cacheS).toBe(0);
    expect(done.history.map((h) => h.epoch)).toEqual([0, 1, 2]);
    expect(done.metrics?.neurons).toBe(20);
    expect(JSON.parse(done.metadataJson).training.train_core).toBe(true);
    const training = JSON.parse(done.metadataJson).training;
    expect(Object.keys(training)).toEqual([
      'train_core',
      'lr',
      'batch_size',
      'max_epochs',
      'gamma_readout',
      'loss',
      'nonlinearity_type',
      'core_regularizer',
      'epochs',
      'stop_reason',
      'history',
    ]);
    expect(training).toMatchObject({
      lr: 0.005,
      batch_size: 32,
      max_epochs: 2,
      core_regularizer: { gammaInput: 6.3831, gammaHidden: 0 },
    });
    expect(training.history[0].valCorrelationPerScan).toBeDefined(); // as v1x finetune --train-core writes it
    expect(JSON.parse(done.metadataJson).cache_precision).toBeUndefined();
    expect(msgs.at(-1)).toMatchObject({ type: 'status', phase: 'done' });
    // snapshots show the model's readout: the one taken at the best epoch is the readout that was kept
    const bestEpoch = Math.max(0, ...done.history.filter((h) => h.improved).map((h) => h.epoch));
    const atBest = snaps.find((m) => m.type === 'readout-snapshot' && m.epoch === bestEpoch && m.batch === 0);
    if (atBest?.type !== 'readout-snapshot') throw new Error(`no snapshot at epoch ${bestEpoch}`);
    const kept = evalPositions(done.readout);
    for (let i = 0; i < kept.length; i++) expect(Math.abs(atBest.positions[i] - kept[i])).toBeLessThan(1e-6);
    if (done.readout.kind !== 'gaussian') throw new Error('expected a Gaussian readout');
    expect(Array.from(atBest.sigma)).toEqual(Array.from(done.readout.sigma));

    const sd = await readCheckpoint(done.fullModelPth!, 'full.pth');
    expect(coreDiff(sd, await readCheckpoint(bytes, 'model.pth'))).toBeGreaterThan(1e-6);
    await expectFullModelPredictsTest(sd, parseModelConfig(config, 'config.json'), scan, done);
    expect(tf.memory().numTensors).toBeLessThan(10);
  }, 60_000);

  it('pauses, resumes and stops through TrainingControl', async () => {
    const msgs: FromWorker[] = [];
    const control = new TrainingControl();
    let paused = -1,
      atResume = -1;
    await runFineTuneJob(
      start(50),
      (m) => {
        msgs.push(m);
        if (m.type !== 'train-event') return;
        if (m.event.kind === 'batch' && paused < 0) {
          control.pause();
          paused = msgs.length;
          setTimeout(() => {
            atResume = msgs.length;
            control.resume();
          }, 300);
        }
        if (m.event.kind === 'epoch' && m.event.epoch === 1) control.stop();
      },
      control,
      backend,
    );
    expect(paused).toBeGreaterThan(0);
    expect(atResume).toBe(paused); // nothing happened while paused
    const done = msgs.find((m) => m.type === 'done') as DoneMessage;
    expect(done.stopReason).toBe('stopped');
    expect(done.history.map((h) => h.epoch)).toEqual([0, 1]);
    expect(msgs.at(-1)).toMatchObject({ type: 'status', phase: 'stopped' });
  }, 60_000);
});
