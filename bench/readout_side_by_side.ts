/**
 * What this machine's cores give the readout's step (the bound the readout workers, readout_shards.ts, work
 * against): the one-thread readout epoch on a float16 cache of random maps (the fixture checkpoint's readout, its
 * first `--neurons` neurons; 28x56x64 maps, 640 training images, 2 epochs, the second timed), run alone and then
 * as `--copies` processes at once. If the cores were independent each copy would keep its speed alone; on a
 * machine whose cores share caches, memory bandwidth or a physical core, each runs slower. One JSON line:
 * images/s alone, each copy's side by side, and their ratios.
 *
 * Usage: node --import tsx bench/readout_side_by_side.ts [--neurons 1000] [--copies 2]
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initNodeBackend } from '../src/backend/node';
import { readoutFromStateDict } from '../src/train/export';
import { loadCoreFromFiles } from '../src/train/frozen_core_files';
import { FeatureCache } from '../src/train/readout/feature_cache';
import { trainReadout } from '../src/train/readout/trainer';
import { Rng } from '../src/util/rng';
import { SOTA } from '../test/fixtures/paths';

const argv = process.argv.slice(2);
const opt = (name: string, fallback: number): number => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
};
const NEURONS = opt('--neurons', 1000);
const COPIES = opt('--copies', 2);

/** One copy: the epoch rate (training images / second epoch's seconds, validation included). */
async function oneCopy(): Promise<number> {
  await initNodeBackend('wasm');
  const loaded = await loadCoreFromFiles(join(SOTA, 'model.pth'), join(SOTA, 'config.json'));
  const key = [...loaded.stateDict.keys()].find((k) => k.startsWith('readout.'))!.split('.')[1];
  const full = readoutFromStateDict(loaded.stateDict, key);
  loaded.dispose();
  if (full.kind !== 'gaussian') throw new Error('the fixture readout is Gaussian');
  const N = Math.min(NEURONS, full.neurons);
  const per = full.sigma.length / full.neurons;
  const r = {
    ...full,
    neurons: N,
    features: full.features.slice(0, N * full.channels),
    bias: full.bias.slice(0, N),
    sigma: full.sigma.slice(0, N * per),
    mu: full.mu ? full.mu.slice(0, 2 * N) : null,
    sourceGrid: full.sourceGrid ? full.sourceGrid.slice(0, (N * full.sourceGrid.length) / full.neurons) : null,
  };
  const S = 704,
    TRAIN = 640;
  const cache = new FeatureCache(
    { height: 28, width: 56, channels: full.channels },
    'float16',
    Int32Array.from({ length: S }, (_, i) => i),
    S,
    64,
  );
  const rng = new Rng(1);
  const m = new Float32Array(cache.mapSize);
  for (let s = 0; s < S; s++) {
    for (let i = 0; i < m.length; i++) m[i] = rng.uniform();
    cache.store(s, m);
  }
  const trials = Int32Array.from({ length: S }, (_, i) => i);
  const res = await trainReadout(
    {
      cache,
      neurons: N,
      datasetTrials: 5500,
      train: { trials: trials.subarray(0, TRAIN), responses: new Float32Array(TRAIN * N).fill(0.5) },
      validation: { trials: trials.subarray(TRAIN), responses: new Float32Array((S - TRAIN) * N).fill(0.5) },
    },
    r,
    { seed: 1, schedule: { maxEpochs: 2 } },
  );
  return TRAIN / res.history[2].epochS;
}

function runCopies(n: number): Promise<number[]> {
  const self = fileURLToPath(import.meta.url);
  return Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<number>((resolve, reject) => {
          const child = spawn(process.execPath, ['--import', 'tsx', self, '--child', '--neurons', String(NEURONS)], {
            stdio: ['ignore', 'pipe', 'inherit'],
          });
          let out = '';
          child.stdout.on('data', (d) => {
            out += d;
          });
          child.on('close', (code) =>
            code === 0 ? resolve(Number(out.trim())) : reject(new Error(`a copy exited with ${code}`)),
          );
        }),
    ),
  );
}

async function main(): Promise<void> {
  if (argv.includes('--child')) {
    process.stdout.write(`${await oneCopy()}\n`);
    return;
  }
  const alone = (await runCopies(1))[0];
  const together = await runCopies(COPIES);
  const r3 = (x: number) => Math.round(x * 1000) / 1000;
  console.log(
    JSON.stringify({
      neurons: NEURONS,
      copies: COPIES,
      alone_img_per_s: Math.round(alone),
      side_by_side_img_per_s: together.map(Math.round),
      each_vs_alone: together.map((t) => r3(t / alone)),
      together_vs_alone: r3(together.reduce((a, b) => a + b, 0) / alone),
    }),
  );
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exit(1);
});
