/**
 * npm run bench: readout fine-tuning and inference speed against the PyTorch reference, in one go.
 *
 * Ours (Node, tfjs wasm backend for the core, fused typed-array readout kernel):
 * - readout training on the fixture checkpoint (sensorium-sota: 64-channel core, 7776 neurons, batch 64): one
 *   epoch over 4000 images (static-sim-a's training images; random targets as in the PyTorch script) INCLUDING
 *   building the core-output cache for them and for the 500 validation images and the validation pass, i.e. what
 *   the first epoch of a fine-tuning run costs, counted as training images per second; the per-epoch rate once
 *   the cache exists is printed too;
 * - inference (core + readout at the Gaussian means) on batches of 64;
 * - the factorized readout's training step on cached core outputs (bench/factorized.ts: our fused WASM kernel vs
 *   neuralpredictors' own FullFactorized2d step on the same tensor shapes, 7776 neurons);
 * - time to converge: a whole fine-tuning run on static-sim-a (cache + training to early stopping), against
 *   neuralpredictors' trainer on the same scan measured in the same run (bench/neuralpredictors_trainer.py:
 *   seconds per epoch over a few epochs x the epochs its reference run took to converge).
 * PyTorch (CPU, 2 threads): bench/torch_reference.py on the same checkpoint, in its default layout and in
 * channels_last (oneDNN's fast path); the ratios compare with the faster of the two (the `*_best` keys), and the
 * epoch on our cache with PyTorch's readout step on core outputs computed beforehand
 * (readout_step_cached_img_per_s): what a PyTorch user who cares about speed gets.
 * Ends with one JSON line. Options: --quick (skip the convergence runs and the factorized step),
 * --epoch-images N.
 */

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { initNodeBackend } from '../src/backend/node';
import { parseNumericNpy } from '../src/io/npy';
import { loadScanFromPath } from '../src/io/scan/node_dir_source';
import { normalizedImages } from '../src/io/scan/normalize';
import { tierIndices } from '../src/io/scan/tiers';
import type { Scan } from '../src/io/scan/types';
import { medianGridError } from '../src/metrics/grid_error';
import { readoutFromStateDict } from '../src/train/export';
import { loadCoreFromFiles } from '../src/train/frozen_core_files';
import { buildFeatureCache, DEFAULT_CACHE_PRECISION } from '../src/train/readout/feature_cache';
import { fineTuneReadout } from '../src/train/readout/finetune';
import { cloneReadout } from '../src/train/readout/readout_params';
import { evalPositions, predictBatch } from '../src/train/readout/readout_step';
import { trainReadout } from '../src/train/readout/trainer';
import { NodeCorePool } from '../src/train/worker/core_pool_node';
import { ReadoutShards, shardBlockSlots } from '../src/train/worker/readout_shards';
import { Rng } from '../src/util/rng';
import { SIM, SOTA } from '../test/fixtures/paths';
import { runTorchScript, torchReference } from './torch';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const nImagesArg = argv.indexOf('--epoch-images');
const log = (s: string): void => {
  process.stderr.write(`${s}\n`);
};
const r1 = (x: number): number => Math.round(x * 10) / 10;
const r3 = (x: number): number => Math.round(x * 1000) / 1000;

async function main(): Promise<void> {
  tf.env().set('PROD', true);
  await initNodeBackend('wasm');
  log(`backend: tfjs-${tf.getBackend()} (core) + fused typed-array readout; node ${process.version}`);

  const checkpoint = join(SOTA, 'model.pth'),
    config = join(SOTA, 'config.json');
  const loaded = await loadCoreFromFiles(checkpoint, config);
  const key = [...loaded.stateDict.keys()].find((k) => k.startsWith('readout.'))!.split('.')[1];
  const readout = readoutFromStateDict(loaded.stateDict, key);
  const N = readout.neurons;
  log(`frozen core: ${loaded.coreDescription}`);

  // images: static-sim-a's training images (same size as the fixture's inputs)
  const scan: Scan = await loadScanFromPath(join(SIM, 'static-sim-a.zip'));
  let train = tierIndices(scan, 'train');
  if (nImagesArg >= 0) train = train.slice(0, Number(argv[nImagesArg + 1]));
  const nTrain = train.length;
  log(`readout training: ${nTrain} images, ${N} neurons, batch 64, fixture checkpoint ${checkpoint}`);

  // the core on both CPU cores (worker threads, each its own tfjs-wasm), as PyTorch uses 2 threads
  const threads = Math.min(2, availableParallelism());
  const pool =
    threads > 1
      ? await NodeCorePool.create(
          loaded.bytes,
          'model.pth',
          JSON.parse(readFileSync(config, 'utf8')),
          scan.imageShape,
          threads,
        )
      : null;
  const coreRunner = pool ?? loaded.core;
  log(`core for caching and inference: ${pool ? pool.description : loaded.coreDescription}`);

  // 1. one epoch including the cache
  const t0 = performance.now();
  // an epoch needs the training images and, for its early-stopping check, the validation images
  const val = tierIndices(scan, 'validation');
  const cache = await buildFeatureCache(coreRunner, scan, Int32Array.from([...train, ...val]), {
    precision: DEFAULT_CACHE_PRECISION,
    chunkSize: 32,
    // blocks sized for the readout workers, as fineTuneReadout makes them
    blockSlots: pool ? shardBlockSlots(train.length + val.length, pool.threads) : undefined,
  });
  const cacheS = (performance.now() - t0) / 1000;
  const rng = new Rng(1);
  const targets = Float32Array.from({ length: nTrain * N }, () => rng.uniform());
  const valTargets = Float32Array.from({ length: val.length * N }, () => rng.uniform());
  // two epochs in this thread, then the same with the steps on the pool's workers (the cache lent to them, as
  // fineTuneReadout does): the first epoch (cold: code not yet optimized by the engine) makes the first-epoch
  // figure, the faster of the two paths; the second shows them warm
  const oneEpoch = async (workers: ReadoutShards | null) => {
    const t1 = performance.now();
    const res = await trainReadout(
      {
        cache,
        neurons: N,
        datasetTrials: scan.nTrials,
        train: { trials: train, responses: targets },
        validation: { trials: val, responses: valTargets },
        workers,
      },
      cloneReadout(readout),
      { seed: 1, lr: 0.005, schedule: { maxEpochs: 2 } },
    );
    return { epoch: res.history[1], warm: res.history[2], wallS: (performance.now() - t1) / 1000 };
  };
  const single = await oneEpoch(null);
  let pooled: Awaited<ReturnType<typeof oneEpoch>> | null = null;
  if (pool) {
    const shards = await ReadoutShards.lend(pool, cache);
    try {
      pooled = await oneEpoch(shards);
    } finally {
      await shards.giveBack();
    }
  }
  const { epoch, wallS: trainWallS } = pooled ?? single;
  const epochS = epoch.epochS;
  const readoutTrain = nTrain / (cacheS + epochS);
  log(
    `  core-output cache of ${cache.slots} train + validation images: ${r1(cacheS)} s (${r1(cache.slots / cacheS)} images/s, ${(cache.bytes / 2 ** 20).toFixed(0)} MiB ${cache.precision})`,
  );
  log(
    `  readout epoch on the cache in this thread: ${r1(single.epoch.epochS)} s (${r1(nTrain / single.epoch.epochS)} training images/s incl. the validation pass over ${val.length} images; steps alone ${r1(single.epoch.imagesPerS)} images/s); second epoch ${r1(nTrain / single.warm.epochS)} images/s`,
  );
  if (pooled)
    log(
      `  readout epoch on the cache on ${pool!.threads} workers (readout_shards.ts): ${r1(epochS)} s (${r1(nTrain / epochS)} training images/s incl. validation; steps alone ${r1(epoch.imagesPerS)} images/s); second epoch ${r1(nTrain / pooled.warm.epochS)} images/s; wall of both ${r1(trainWallS)} s`,
    );
  log(`  => first epoch including the cache: ${r1(readoutTrain)} images/s`);

  // 2. inference: core + readout at the means, a stream of batches of 64 (the readout of one batch runs while
  //    the core works on the next)
  const pos = evalPositions(readout);
  const [C, H, W] = scan.imageShape;
  const B = 64,
    batches = 8;
  const x = normalizedImages(scan, train.slice(0, B));
  const out = new Float32Array(B * N);
  const geometry = cache.geometry;
  const m = cache.mapSize;
  const coreBatch = async (): Promise<Float32Array> => {
    if (pool) return pool.runSplit(x, B);
    const y = tf.tidy(() => loaded.core(tf.tensor4d(x, [B, C, H, W])));
    const v = (await y.data()) as Float32Array;
    y.dispose();
    return v;
  };
  const head = (v: Float32Array): void =>
    predictBatch(
      readout,
      pos,
      geometry,
      Array.from({ length: B }, (_, i) => v.subarray(i * m, (i + 1) * m)),
      out,
    );
  head(await coreBatch());
  // separate timings of the two parts, then the stream
  let tc = performance.now();
  const v0 = await coreBatch();
  const coreS = (performance.now() - tc) / 1000;
  tc = performance.now();
  head(v0);
  const headS = (performance.now() - tc) / 1000;
  const ts = performance.now();
  let next = coreBatch();
  for (let i = 0; i < batches; i++) {
    const v = await next;
    if (i + 1 < batches) next = coreBatch();
    head(v);
  }
  const forward = (B * batches) / ((performance.now() - ts) / 1000);
  log(
    `inference: ${r1(forward)} images/s (core ${r1(B / coreS)} images/s, readout ${r1(B / headS)} images/s, one batch of ${B} each)`,
  );
  await pool?.close();

  // 3. PyTorch
  log('PyTorch reference (bench/torch_reference.py, 2 threads) ...');
  const torch = torchReference(checkpoint, config, {
    inputs: join(SOTA, 'inputs.npy'),
    responses: join(SOTA, 'responses.npy'),
  });
  if (torch.timings) {
    const t = torch.timings;
    log(
      `  torch ${t.torch}, default layout: core ${r1(t.core_img_per_s)}, forward ${r1(t.forward_img_per_s)}, readout training step (core each batch) ${r1(t.readout_step_img_per_s)} images/s; parity ${t.parity_max_rel_err}`,
    );
    log(
      `  torch at its best (faster of default and channels_last): core ${r1(t.core_img_per_s_best)}, forward ${r1(t.forward_img_per_s_best)}, readout step ${r1(t.readout_step_img_per_s_best)} images/s; readout step on cached core outputs ${r1(t.readout_step_cached_img_per_s)} images/s`,
    );
  } else {
    log(`  PyTorch reference unavailable: ${torch.reason}; ratios omitted`);
  }

  // 4. convergence on static-sim-a
  let converge: number | null = null;
  if (!quick) {
    log('time to converge: fine-tuning a new readout on static-sim-a (1000 neurons), reference protocol, lr 0.005 ...');
    const tc = performance.now();
    const pool2 =
      threads > 1
        ? await NodeCorePool.create(
            loaded.bytes,
            'model.pth',
            JSON.parse(readFileSync(config, 'utf8')),
            scan.imageShape,
            threads,
          )
        : null;
    const ft = await fineTuneReadout({
      core: pool2 ?? loaded.core,
      coreOutputShape: loaded.coreOutputShape,
      scan,
      train: { seed: 42, lr: 0.005 },
      onEvent: (e) => {
        if (e.kind === 'epoch' && e.epoch % 5 === 0)
          log(`  epoch ${e.epoch}: validation correlation ${e.valCorrelation.toFixed(4)}, ${r1(e.elapsedS)} s`);
      },
    });
    converge = (performance.now() - tc) / 1000;
    await pool2?.close();
    const truthPath = join(SIM, 'static-sim-a-truth/true_grid.npy');
    const grid = existsSync(truthPath)
      ? medianGridError(
          evalPositions(ft.readout),
          parseNumericNpy(new Uint8Array(readFileSync(truthPath)), truthPath).data as Float32Array,
        )
      : NaN;
    const s = ft.test?.evaluation.summary;
    log(
      `  converged in ${r1(converge)} s (cache ${r1(ft.timings.cacheS)} s, ${ft.result.epochs} epochs ${r1(ft.timings.trainS)} s): ${ft.result.message}`,
    );
    log(
      `  test_correlation ${s?.test_correlation?.toFixed(4)}, correlation_to_average ${s?.correlation_to_average?.toFixed(4)}, fraction_oracle ${s?.fraction_oracle?.toFixed(4)}, grid error median ${grid.toExponential(3)}`,
    );
    const ref = JSON.parse(readFileSync(join(SIM, 'reference_results.json'), 'utf8')) as {
      reference_training: { total_wall_s: number; epochs: number };
    };
    log(
      `  neuralpredictors on this machine: ${r1(ref.reference_training.total_wall_s)} s, ${ref.reference_training.epochs} epochs (reference_results.json)`,
    );
  }

  // 5. neuralpredictors' trainer on the same scan, timed in this run
  interface NpTrainer {
    s_per_epoch: number;
    epochs_to_converge: number;
    time_to_converge_s: number;
    train_img_per_s: number;
    layout: string;
  }
  let np: NpTrainer | null = null;
  if (!quick) {
    log("neuralpredictors' trainer on static-sim-a (bench/neuralpredictors_trainer.py, 2 threads, 2 epochs timed) ...");
    const r = runTorchScript<NpTrainer>('neuralpredictors_trainer.py', ['--threads', '2', '--epochs', '2']);
    np = r.value;
    if (np)
      log(
        `  ${np.s_per_epoch} s per epoch (${np.train_img_per_s} training images/s, core on every batch, ${np.layout} layout) x ${np.epochs_to_converge} epochs = ${np.time_to_converge_s} s to converge`,
      );
    else log(`  unavailable: ${r.reason}`);
  }

  // 6. the factorized readout's training step on cached core outputs vs neuralpredictors' FullFactorized2d
  interface FactorizedBench {
    ours: { option: string; neurons: number; img_per_s: number; img_per_cpu_s: number }[];
    pytorch: { results: { threads: number; neurons: number; img_per_s: number; img_per_cpu_s: number }[] } | null;
  }
  let fx: { ours: number; oursPath: string; torch1: number | null; torch2: number | null } | null = null;
  if (!quick) {
    log('factorized readout step on cached core outputs, 7776 neurons (bench/factorized.ts) ...');
    const r = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        fileURLToPath(new URL('./factorized.ts', import.meta.url)),
        '--neurons',
        String(N),
        '--options',
        'wasm',
        '--torch-threads',
        '1,2',
      ],
      { encoding: 'utf8', timeout: 1_800_000, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      const v = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as FactorizedBench;
      const best = v.ours.reduce((a, b) => (b.img_per_s > a.img_per_s ? b : a));
      const tr = (th: number) => v.pytorch?.results.find((x) => x.threads === th)?.img_per_s ?? null;
      fx = { ours: best.img_per_s, oursPath: best.option, torch1: tr(1), torch2: tr(2) };
      log(
        `  ours (${best.option}, 1 thread) ${r1(fx.ours)} images/s; neuralpredictors FullFactorized2d ${fx.torch1 === null ? 'n/a' : r1(fx.torch1)} (1 thread), ${fx.torch2 === null ? 'n/a' : r1(fx.torch2)} (2 threads)`,
      );
    } catch {
      log(`  bench/factorized.ts failed (exit ${r.status})`);
    }
  }

  const t = torch.timings;
  log(
    'what limits the ratios: the core forward pass (tfjs wasm + our SIMD depthwise kernel, one worker thread per core; PyTorch: oneDNN on 2 threads) is paid once per image in the first epoch and in every inference; the readout itself runs far above PyTorch.',
  );
  const result = {
    backend: 'wasm',
    readout_train_img_per_s: r1(readoutTrain),
    torch_readout_train_img_per_s: t ? r1(t.readout_step_img_per_s) : null,
    readout_train_ratio: t ? r3(readoutTrain / t.readout_step_img_per_s) : null,
    forward_img_per_s: r1(forward),
    torch_forward_img_per_s: t ? r1(t.forward_img_per_s) : null,
    forward_ratio: t ? r3(forward / t.forward_img_per_s) : null,
    time_to_converge_s: converge === null ? null : r1(converge),
    readout_epoch_img_per_s_after_cache: r1(nTrain / epochS),
    readout_epoch_workers: pooled ? pool!.threads : 1,
    readout_epoch_img_per_s_one_thread: r1(nTrain / single.epoch.epochS),
    // the second epoch of each (warm), the workers' and one thread's
    readout_epoch_img_per_s_warm: r1(nTrain / (pooled ?? single).warm.epochS),
    readout_epoch_img_per_s_one_thread_warm: r1(nTrain / single.warm.epochS),
    core_img_per_s: r1(B / coreS),
    torch_core_img_per_s: t ? r1(t.core_img_per_s) : null,
    // against PyTorch at its best (the faster of its default and channels_last layouts), issue 16
    torch_core_best_img_per_s: t ? r1(t.core_img_per_s_best) : null,
    core_ratio_vs_best: t ? r3(B / coreS / t.core_img_per_s_best) : null,
    torch_forward_best_img_per_s: t ? r1(t.forward_img_per_s_best) : null,
    forward_ratio_vs_best: t ? r3(forward / t.forward_img_per_s_best) : null,
    torch_readout_step_best_img_per_s: t ? r1(t.readout_step_img_per_s_best) : null,
    readout_train_ratio_vs_best: t ? r3(readoutTrain / t.readout_step_img_per_s_best) : null,
    torch_readout_step_cached_img_per_s: t ? r1(t.readout_step_cached_img_per_s) : null,
    readout_epoch_ratio_vs_cached: t ? r3(nTrain / epochS / t.readout_step_cached_img_per_s) : null,
    neuralpredictors_s_per_epoch: np ? np.s_per_epoch : null,
    neuralpredictors_epochs_to_converge: np ? np.epochs_to_converge : null,
    neuralpredictors_time_to_converge_s: np ? np.time_to_converge_s : null,
    converge_ratio_vs_neuralpredictors: np && converge !== null ? r3(np.time_to_converge_s / converge) : null,
    // the factorized readout's step on cached core outputs, 7776 neurons (issue 12)
    factorized_step_img_per_s: fx ? r1(fx.ours) : null,
    torch_factorized_step_img_per_s_1thread: fx?.torch1 != null ? r1(fx.torch1) : null,
    torch_factorized_step_img_per_s_2threads: fx?.torch2 != null ? r1(fx.torch2) : null,
    factorized_step_ratio_vs_2threads: fx?.torch2 ? r3(fx.ours / fx.torch2) : null,
  };
  loaded.dispose();
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
