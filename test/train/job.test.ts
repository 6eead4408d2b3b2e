/**
 * The worker's job end to end in Node (no Worker global): a small slice of static-sim-a on the sensorium-sota
 * core, a few epochs; the messages the page relies on, and the exports read back by our checkpoint reader
 * (readout alone: identical arrays; core + readout: the model engineer's Encoder predicts what we predicted).
 */
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../src/backend/node';
import type { Scan } from '../../src/io/scan/types';
import { normalizedImages } from '../../src/io/scan/normalize';
import { readCheckpoint } from '../../src/io/torch_checkpoint';
import { DEFAULT_MODEL_CONFIG } from '../../src/model/config';
import { encoderFromStateDict } from '../../src/model/from_state_dict';
import { TrainingControl } from '../../src/train/control';
import { readoutFromStateDict } from '../../src/train/export';
import { runFineTuneJob } from '../../src/train/job';
import { loadScanFromPath } from '../../src/train/node_load';
import type { DoneMessage, FromWorker } from '../../src/train/protocol';
import { readoutParams } from '../../src/train/readout_params';
import { SIM, SOTA, pickTrials, subsetScan } from './helpers';

describe('fine-tuning job (worker protocol)', () => {
  let scan: Scan;
  const msgs: FromWorker[] = [];
  let done: DoneMessage;

  beforeAll(async () => {
    const full = await loadScanFromPath(`${SIM}/static-sim-a.zip`);
    scan = subsetScan(full, pickTrials(full, { train: 192, validation: 64, testImages: 4 }));
    const control = new TrainingControl();
    await runFineTuneJob({
      type: 'start', checkpoint: { bytes: new Uint8Array(readFileSync(`${SOTA}/model.pth`)), name: 'model.pth' }, config: null, scan,
      backend: null, train: { seed: 7, schedule: { maxEpochs: 2 } }, cachePrecision: 'float32', snapshotEveryMs: 0,
    }, (m) => msgs.push(m), control, async () => { await initNodeBackend('wasm'); return { name: 'wasm', reason: 'Node test' }; });
    done = msgs.find((m) => m.type === 'done') as DoneMessage;
  });

  it('reports status, cache progress, training events and snapshots, then done', () => {
    const types = new Set(msgs.map((m) => m.type));
    for (const t of ['status', 'cache-progress', 'train-event', 'readout-snapshot', 'done']) expect(types.has(t as never), t).toBe(true);
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
    expect(done.perNeuronCsv.split('\n')[0]).toBe('unit_id,x,y,sigma_xx,sigma_xy,sigma_yx,sigma_yy,test_correlation,correlation_to_average,oracle,fraction_oracle,feve');
    const meta = JSON.parse(done.metadataJson);
    expect(meta.core_sha256).toBe('7a87989732c34068fe10aaf1dd2c0421cb47cb1693b4f95a5e0e381632456173');
    expect(meta.seed).toBe(7);
    expect(meta.backend).toBe('wasm');
    expect(meta.app_version).toBe(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version);
  });

  it('the exported readout reads back to the same arrays', async () => {
    const sd = await readCheckpoint(done.readoutPth, 'readout.pth');
    expect([...sd.keys()]).toEqual([
      'sigma', '_features', 'bias', 'source_grid', 'mu_transform.0.weight', 'mu_transform.0.bias', 'mu_transform.2.weight', 'mu_transform.2.bias',
    ].map((k) => `readout.${done.dataKey}.${k}`));
    expect(sd.get(`readout.${done.dataKey}._features`)!.shape).toEqual([1, 64, 1, 1000]);
    expect(sd.get(`readout.${done.dataKey}.sigma`)!.shape).toEqual([1, 1000, 2, 2]);
    const back = readoutFromStateDict(sd, done.dataKey);
    const a = readoutParams(back), b = readoutParams(done.readout);
    a.forEach((p, i) => expect(p.value).toEqual(b[i].value));
  });

  it('core + readout read back by the model loader predict what the trainer predicted', async () => {
    const sd = await readCheckpoint(done.fullModelPth!, 'full.pth');
    const encoder = encoderFromStateDict(sd, { ...DEFAULT_MODEL_CONFIG }, 'full.pth', { trainable: false });
    try {
      const trials = done.testTrials!;
      const y = await encoder.predict(normalizedImages(scan, trials), { readout: done.dataKey });
      const ref = done.testPredictions!;
      let worst = 0;
      for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(y.data[i] - ref[i]) - (1e-4 + 1e-4 * Math.abs(ref[i])));
      expect(worst).toBeLessThanOrEqual(0);
    } finally {
      encoder.dispose();
    }
    expect(tf.memory().numTensors).toBeLessThan(10);
  });
});
