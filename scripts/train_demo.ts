/**
 * `npm run train:demo`: builds the bundled demo from nothing but seeds.
 *
 * Stage 1 (data): simulates the demo animals of src/sim/demo_animals.ts (the project's own V1 ground truth,
 * src/sim/v1_population.ts) and writes each as a FileTree scan zip with its ground-truth folder beside it:
 * the training animals under `--work` (default .cache/demo/), the held-out animal under `--out`
 * (default public/demo/), where the app loads it from.
 * Stage 2 (core): trains the shared core and one readout per training animal end to end
 * (src/train/end_to_end.ts) and writes, under `--out`: model.pth (core + readouts, neuralpredictors keys),
 * config.json (the model config the app loads it with), demo.json (the app's manifest of the demo) and
 * metrics.json (training history, test metrics of every training animal, timings).
 * The experiments on the held-out animal are not made here: they are specs in public/demo/experiments/ run by
 * `v1x experiment` (src/experiments/runner.ts, the one implementation the CLI and the page share).
 *
 * Options: --work DIR, --out DIR, --data-only, --force (re-simulate scans that already exist), --seed N,
 * --max-epochs N (core).
 */

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initNodeBackend } from '../src/backend/node';
import { DEMO_CONFIG, DEMO_SEED, DEMO_TRAINING } from '../src/experiments/demo_recipe';
import { loadScanFromPath } from '../src/io/scan/node_dir_source';
import { saveCheckpoint } from '../src/io/torch_save';
import type { ZipInput } from '../src/io/zip_archive';
import type { Encoder } from '../src/model/encoder';
import { encoderToStateDict } from '../src/model/to_state_dict';
import { DEMO_ANIMALS, type DemoAnimal, simulateDemoAnimal } from '../src/sim/demo_animals';
import { writeScanZip } from '../src/sim/scan_writer';
import { v1TruthFiles } from '../src/sim/v1_truth';
import { newEncoder, newReadoutFor } from '../src/train/end_to_end/new_model';
import { type EndToEndScan, endToEndScan } from '../src/train/end_to_end/scan_data';
import { evaluateTierE2E, trainEndToEnd } from '../src/train/end_to_end/trainer';

interface Args {
  work: string;
  out: string;
  dataOnly: boolean;
  force: boolean;
  seed: number;
  maxEpochs: number;
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    work: '.cache/demo',
    out: 'public/demo',
    dataOnly: false,
    force: false,
    seed: DEMO_SEED,
    maxEpochs: DEMO_TRAINING.schedule.maxEpochs,
  };
  const int = (k: string, v: string | undefined): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${k} needs a positive integer, got '${v}'`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === '--work') a.work = argv[++i];
    else if (k === '--out') a.out = argv[++i];
    else if (k === '--data-only') a.dataOnly = true;
    else if (k === '--force') a.force = true;
    else if (k === '--seed') a.seed = int(k, argv[++i]);
    else if (k === '--max-epochs') a.maxEpochs = int(k, argv[++i]);
    else
      throw new Error(
        `unknown argument '${k}' (known: --work DIR, --out DIR, --data-only, --force, --seed N, --max-epochs N)`,
      );
  }
  return a;
}

/** Writes zip-style entries (directory entries end in '/') as files under `dir`. */
function writeEntries(dir: string, entries: ZipInput[]): void {
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.name.endsWith('/')) mkdirSync(path, { recursive: true });
    else {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, e.data);
    }
  }
}

async function writeAnimal(animal: DemoAnimal, dir: string, force: boolean): Promise<void> {
  const zipPath = join(dir, `${animal.name}.zip`);
  if (!force && existsSync(zipPath) && existsSync(join(dir, `${animal.name}-truth`, 'truth.json'))) {
    process.stderr.write(`${animal.name}: exists, kept (--force to rebuild)\n`);
    return;
  }
  const t0 = performance.now();
  let last = 0;
  const v = simulateDemoAnimal(animal, (done, total) => {
    const now = performance.now();
    if (now - last > 2000 || done === total) {
      process.stderr.write(`${animal.name}: rates for ${done}/${total} images\r`);
      last = now;
    }
  });
  process.stderr.write('\n');
  mkdirSync(dir, { recursive: true });
  writeFileSync(zipPath, await writeScanZip(v.scan));
  // the app needs the held-out animal's true positions and parameters, not 2 MB of true rates
  const truth = v1TruthFiles(v).filter((f) => animal.role === 'train' || !f.name.endsWith('true_rates.npy'));
  writeEntries(dir, truth);
  const summary = JSON.parse(new TextDecoder().decode(truth.find((f) => f.name.endsWith('truth.json'))!.data));
  process.stderr.write(
    `${animal.name}: ${v.scan.neurons} neurons, ${v.scan.tiers.length} trials, gain ${v.truth.gain.toFixed(4)}, ` +
      `median oracle ${summary.oracleJackknife.median.toFixed(3)}, ${((performance.now() - t0) / 1000).toFixed(1)} s -> ${zipPath}\n`,
  );
}

function scanPath(animal: DemoAnimal, args: Args): string {
  return join(animal.role === 'heldout' ? args.out : args.work, `${animal.name}.zip`);
}

const secondsSince = (t0: number): number => (performance.now() - t0) / 1000;
const log = (s: string): void => {
  process.stderr.write(`${s}\n`);
};

/** Stage 2: the demo core and the training animals' readouts, end to end. */
async function trainCore(args: Args): Promise<Encoder> {
  const t0 = performance.now();
  const animals = DEMO_ANIMALS.filter((a) => a.role === 'train');
  const scans: EndToEndScan[] = [];
  for (const a of animals) scans.push(endToEndScan(await loadScanFromPath(scanPath(a, args))));
  const encoder = newEncoder(DEMO_CONFIG, scans.map(newReadoutFor), args.seed);
  const arch = encoder.architecture.core;
  log(
    `stage 2: core ${arch.layers.length} layers x ${arch.outputShape[0]} channels (${DEMO_CONFIG.input_kern}x${DEMO_CONFIG.input_kern} input, ` +
      `${DEMO_CONFIG.hidden_kern}x${DEMO_CONFIG.hidden_kern} depth-separable hidden), ${scans.length} animals, ` +
      `${scans.reduce((n, s) => n + s.train.trials.length, 0)} training images per epoch, up to ${args.maxEpochs} epochs`,
  );
  let lastBatch = performance.now();
  const options = {
    ...DEMO_TRAINING,
    seed: args.seed,
    schedule: { ...DEMO_TRAINING.schedule, maxEpochs: args.maxEpochs },
  };
  const result = await trainEndToEnd(encoder, scans, options, (e) => {
    if (e.kind === 'epoch') {
      log(
        `  epoch ${e.epoch}: loss ${Number.isFinite(e.loss) ? e.loss.toFixed(0) : '-'}, validation correlation ${e.valCorrelation.toFixed(4)}${e.improved ? ' (best)' : ''}, ` +
          `lr ${e.lr}${e.lrDecayed ? ` -> ${e.nextLr}` : ''}, ${e.epochS.toFixed(0)} s${e.epoch > 0 ? `, ${e.imagesPerS.toFixed(0)} images/s` : ''}, ${secondsSince(t0).toFixed(0)} s in all`,
      );
    } else if (e.kind === 'restore') {
      log(`  epoch ${e.epoch}: back to the best state (${e.bestValCorrelation.toFixed(4)})`);
    } else if (performance.now() - lastBatch > 20_000) {
      lastBatch = performance.now();
      log(`  epoch ${e.epoch} batch ${e.batch}/${e.batches}: loss ${e.loss.toFixed(0)}`);
    }
  });
  log(`  ${result.message}`);
  const perAnimal: Record<string, unknown> = {};
  for (const s of scans) {
    perAnimal[s.name] = {
      readout: s.key,
      neurons: s.neurons,
      ...(s.test ? (await evaluateTierE2E(encoder, s, s.test)).summary : {}),
    };
  }
  mkdirSync(args.out, { recursive: true });
  writeFileSync(join(args.out, 'model.pth'), await saveCheckpoint(await encoderToStateDict(encoder)));
  writeFileSync(join(args.out, 'config.json'), JSON.stringify(DEMO_CONFIG, null, 2) + '\n');
  // the app's manifest of the bundled demo (src/state/services/url_files.ts DemoManifest), paths relative to this folder
  const heldout = DEMO_ANIMALS.find((a) => a.role === 'heldout')!;
  writeFileSync(
    join(args.out, 'demo.json'),
    JSON.stringify(
      {
        title: 'Demo: a core trained on 4 simulated mice, and a new mouse',
        description:
          `A small core (${DEMO_CONFIG.layers} layers, ${DEMO_CONFIG.hidden_channels} channels) trained end to end on ${scans.length} simulated animals ` +
          `(${scans.map((s) => s.name).join(', ')}), with one readout each; the scan is a held-out animal (${heldout.name}) whose neurons the core has never seen: ` +
          'fine-tune a readout for it on the frozen core. Made by `npm run train:demo`.',
        model: 'model.pth',
        config: 'config.json',
        scan: `${heldout.name}.zip`,
      },
      null,
      2,
    ) + '\n',
  );
  const metrics = {
    description:
      'Demo core trained end to end on the simulated training animals by `npm run train:demo` (scripts/train_demo.ts).',
    seed: args.seed,
    backend: tf.getBackend(),
    config: DEMO_CONFIG,
    training: options,
    stop_reason: result.stopReason,
    message: result.message,
    epochs: result.epochs,
    optimizer_steps: result.steps,
    best_validation_correlation: result.bestValCorrelation,
    train_s: result.elapsedS,
    test: perAnimal,
    history: result.history.map((h) => ({
      epoch: h.epoch,
      loss: Number.isFinite(h.loss) ? h.loss : null,
      validation_correlation: h.valCorrelation,
      per_scan: h.valCorrelationPerScan,
      lr: h.lr,
      improved: h.improved,
      seconds: h.epochS,
      images_per_s: Number.isFinite(h.imagesPerS) ? h.imagesPerS : null,
    })),
  };
  writeFileSync(join(args.out, 'metrics.json'), JSON.stringify(metrics, null, 1) + '\n');
  log(
    `  test correlation per animal: ${Object.entries(perAnimal)
      .map(([k, v]) => `${k} ${((v as { test_correlation: number }).test_correlation).toFixed(3)}`)
      .join(', ')}`,
  );
  log(
    `  wrote ${join(args.out, 'model.pth')}, config.json, demo.json, metrics.json (${secondsSince(t0).toFixed(0)} s)`,
  );
  return encoder;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const t0 = performance.now();
  for (const animal of DEMO_ANIMALS)
    await writeAnimal(animal, animal.role === 'heldout' ? args.out : args.work, args.force);
  if (args.dataOnly) return;
  await initNodeBackend('wasm');
  tf.env().set('PROD', true);
  const core = await trainCore(args);
  core.dispose();
  log(`train:demo done in ${(secondsSince(t0) / 60).toFixed(1)} min`);
}

main().catch((e: unknown) => {
  process.stderr.write(`train:demo failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
