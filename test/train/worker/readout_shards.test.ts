/**
 * The readout's steps on the core pool's workers (src/train/worker/readout_shards.ts): the cache's blocks moved
 * to 2 Node worker threads, each batch split by where its maps are, the gradients summed here. Against the same
 * run in this thread (readoutOnWorkers: false, the same pool for the cache) the trained readout, the validation
 * history and the test metrics agree to float32 summation order (the two runs differ only in how the batch's
 * per-image gradients are summed): tolerances are stated per check. The cache comes back whole, and a failed
 * worker leaves it marked lost with a message instead of wrong maps. Gaussian with the position network, with
 * free means, and factorized.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../../src/backend/node';
import type { Scan } from '../../../src/io/scan/types';
import { saveCheckpoint } from '../../../src/io/torch_save';
import type { TrainableReadout } from '../../../src/model/readout_types';
import { initCoreStateDict } from '../../../src/train/end_to_end/new_model';
import { type FineTuneOutcome, fineTuneReadout } from '../../../src/train/readout/finetune';
import { flattenParams, readoutParams } from '../../../src/train/readout/readout_params';
import type { CorePool } from '../../../src/train/worker/core_pool';
import { NodeCorePool } from '../../../src/train/worker/core_pool_node';
import { ReadoutShards } from '../../../src/train/worker/readout_shards';
import { TINY_CONFIG, TINY_IMAGE, tinyScan } from '../../experiments/tiny_scan';
import { maxRelDiff } from '../helpers';

const flat = (r: TrainableReadout): Float32Array => flattenParams(readoutParams(r));

describe('readout steps on the core pool workers', () => {
  let pool: CorePool;
  let scan: Scan;
  beforeAll(async () => {
    await initNodeBackend('wasm');
    const bytes = await saveCheckpoint(initCoreStateDict(TINY_CONFIG, 9));
    pool = await NodeCorePool.create(bytes, 'core.pth', TINY_CONFIG, [...TINY_IMAGE], 2);
    scan = await tinyScan(3, 24);
  }, 120_000);
  afterAll(async () => {
    await pool?.close();
  });

  const run = (onWorkers: boolean, extra: Partial<Parameters<typeof fineTuneReadout>[0]> = {}) => {
    const said: string[] = [];
    return fineTuneReadout({
      core: pool,
      coreOutputShape: pool.outputShape,
      scan,
      train: { seed: 5, lr: 0.01, batchSize: 16, schedule: { maxEpochs: 4 } },
      readoutOnWorkers: onWorkers,
      onReadoutWorkers: (d) => said.push(d),
      ...extra,
    }).then((o) => ({ o, said }));
  };

  const agree = (a: FineTuneOutcome, b: FineTuneOutcome, tol: number): void => {
    expect(a.result.history.length).toBe(b.result.history.length);
    a.result.history.forEach((h, i) => {
      expect(Math.abs(h.valCorrelation - b.result.history[i].valCorrelation)).toBeLessThan(tol);
      const want = b.result.history[i].loss; // NaN before the first epoch
      if (Number.isNaN(want)) expect(h.loss).toBeNaN();
      else expect(Math.abs(h.loss - want)).toBeLessThan(tol * Math.abs(want));
    });
    expect(maxRelDiff(flat(a.readout), flat(b.readout))).toBeLessThan(tol);
    const ta = a.test!.evaluation.summary,
      tb = b.test!.evaluation.summary;
    expect(Math.abs(ta.test_correlation! - tb.test_correlation!)).toBeLessThan(tol);
  };

  it('Gaussian readout with the position network: the same run as in this thread', async () => {
    const here = await run(false);
    const there = await run(true);
    expect(here.said).toEqual([]);
    expect(there.said).toEqual(['readout steps on 2 workers (the cache split between them)']);
    expect(there.o.readout.kind === 'gaussian' && there.o.readout.positionNet).toBeTruthy();
    agree(there.o, here.o, 1e-5);
    // the cache came back whole: every map reads and equals the in-thread run's
    const m = there.o.cache.mapSize;
    const a = new Float32Array(m),
      b = new Float32Array(m);
    for (const t of [0, 50, scan.nTrials - 1])
      if (here.o.cache.has(t)) expect(there.o.cache.map(t, a)).toEqual(here.o.cache.map(t, b));
  }, 180_000);

  it('Gaussian readout with free means, and the factorized readout: the same runs as in this thread', async () => {
    const free = { readout: { positionNet: null } };
    agree((await run(true, free)).o, (await run(false, free)).o, 1e-5);
    const fact = { readoutType: 'factorized' as const };
    agree((await run(true, fact)).o, (await run(false, fact)).o, 1e-5);
  }, 240_000);

  it('a worker that fails leaves the cache marked lost, not wrong', async () => {
    const { o } = await run(false, { train: { seed: 1, schedule: { maxEpochs: 1 } } });
    const bytes = await saveCheckpoint(initCoreStateDict(TINY_CONFIG, 9));
    const doomed = await NodeCorePool.create(bytes, 'core.pth', TINY_CONFIG, [...TINY_IMAGE], 2);
    const shards = await ReadoutShards.lend(doomed, o.cache);
    expect(() => o.cache.map(0, new Float32Array(o.cache.mapSize))).toThrow(/lent to the readout workers/);
    await doomed.close();
    await expect(shards.predict(o.readout, [0, 1, 2])).rejects.toThrow(/closed/);
    await expect(shards.giveBack()).rejects.toThrow();
    expect(() => o.cache.map(0, new Float32Array(o.cache.mapSize))).toThrow(/lost with a failed readout worker/);
  }, 120_000);
});
