/**
 * v1x simulate: a FileTree scan with a model as ground truth (src/sim/simulate_scan.ts). Neurons are drawn at
 * random from one readout; their true rates are the model's outputs on procedurally generated images; their
 * cortical coordinates come from the readout's source_grid (or its positions when it has no position network).
 * Writes the scan (zip or folder) and a `<name>-truth/` folder beside it; prints one JSON summary on stdout.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { scanFiles, writeScanZip } from '../../sim/scan_writer';
import { scanTruthFiles } from '../../sim/scan_truth_files';
import { DEFAULT_TRIALS, type NoiseModel, type TrialCounts, chooseNeurons, simulateScan } from '../../sim/simulate_scan';
import { writeFilesToDir } from '../../sim/write_dir_node';
import { parseArgs, UsageError, type ParsedArgs } from '../args';
import { buildEncoder, chooseReadout, parseBackend, readModelFiles, startBackend } from '../load_model';
import { neuronMajorFeatures } from '../../model/readout_types';

export const summary = 'simulate a scan with a model as ground truth: --checkpoint M.pth [--config C.json] [--readout KEY] --neurons N --seed S --out scan.zip|DIR [--trials 4000,500,100x10] [--noise poisson|gamma] [--oracle 0.55 | --gain G] [--name NAME]';

/** `--trials train,validation,testImages x repeats`, e.g. 4000,500,100x10. */
function parseTrials(args: ParsedArgs): TrialCounts {
  const t = args.get('trials');
  if (t === undefined) return { ...DEFAULT_TRIALS };
  const m = /^(\d+),(\d+),(\d+)x(\d+)$/.exec(t.replace(/\s+/g, ''));
  if (!m) throw new UsageError(`--trials must look like 4000,500,100x10 (train, validation, test images x repeats), got '${t}'`);
  return { train: Number(m[1]), validation: Number(m[2]), testImages: Number(m[3]), testRepeats: Number(m[4]) };
}

export async function run(argv: string[]): Promise<void> {
  const args = parseArgs(argv, ['checkpoint', 'config', 'readout', 'neurons', 'seed', 'out', 'trials', 'noise', 'oracle', 'gain', 'name', 'truth', 'backend', 'batch-size'], ['force']);
  const out = args.require('out');
  const neurons = args.number('neurons', NaN);
  if (!Number.isInteger(neurons) || neurons < 1) throw new UsageError(`--neurons must be a positive integer, got '${args.get('neurons') ?? ''}'`);
  const seed = args.number('seed', NaN);
  if (!Number.isInteger(seed)) throw new UsageError(`--seed must be an integer, got '${args.get('seed') ?? ''}'`);
  const trials = parseTrials(args);
  const noise = (args.get('noise') ?? 'poisson') as NoiseModel;
  if (noise !== 'poisson' && noise !== 'gamma') throw new UsageError(`--noise must be poisson or gamma, got '${noise}'`);
  const gain = args.has('gain') ? args.number('gain', NaN) : undefined;
  const targetOracle = args.number('oracle', 0.55);
  const isZip = out.toLowerCase().endsWith('.zip');
  // A zip holds the scan under its top folder <name>/; a folder output is the scan folder itself.
  const name = args.get('name') ?? basename(out).replace(/\.zip$/i, '');
  if (!isZip && name !== basename(out)) throw new UsageError(`--name applies to zip output; a folder output is named by its path (${basename(out)})`);
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new UsageError(`the scan name '${name}' must be a plain folder name (letters, digits, . _ -); choose one with --name`);
  const truthDir = args.get('truth') ?? join(dirname(out), `${name}-truth`);
  const scanTarget = out;
  for (const p of [scanTarget, truthDir]) {
    if (existsSync(p) && !args.has('force')) throw new UsageError(`${p} exists; remove it or pass --force`);
  }
  const backend = parseBackend(args);
  const batchSize = args.number('batch-size', 32);

  const files = await readModelFiles(args.require('checkpoint'), args.get('config'));
  const arch = files.architecture;
  const key = chooseReadout(arch, args.get('readout'), files.checkpointPath);
  const readoutArch = arch.readouts.find((r) => r.key === key)!;
  if (neurons > readoutArch.neurons) throw new UsageError(`--neurons ${neurons}: readout '${key}' has only ${readoutArch.neurons} neurons`);
  const selected = chooseNeurons(readoutArch.neurons, neurons, seed);

  await startBackend(backend);
  const encoder = buildEncoder(files, [key]);
  try {
    // ground truth of the chosen neurons: eval positions, feature vectors, cortical grid
    const readout = encoder.readout(key);
    const C = readout.channels, all = readout.neurons;
    const gridT = readout.grid();
    const gridAll = (await gridT.data()) as Float32Array;
    gridT.dispose();
    const featAll = neuronMajorFeatures((await readout.features.data()) as Float32Array, C, all); // (all, C)
    let sourceAll: Float32Array | null = null;
    let sourceDims = 0;
    if (readout.sourceGrid) {
      sourceDims = readout.sourceGrid.shape[1];
      sourceAll = (await readout.sourceGrid.data()) as Float32Array;
    }
    const grid = new Float32Array(2 * neurons);
    const features = new Float32Array(neurons * C);
    const cortical = new Float32Array(2 * neurons);
    selected.forEach((s, n) => {
      grid[2 * n] = gridAll[2 * s];
      grid[2 * n + 1] = gridAll[2 * s + 1];
      features.set(featAll.subarray(s * C, (s + 1) * C), n * C);
      // cortex: the position network's input when there is one (first two dims), else the positions themselves
      cortical[2 * n] = sourceAll && sourceDims >= 2 ? sourceAll[s * sourceDims] : grid[2 * n];
      cortical[2 * n + 1] = sourceAll && sourceDims >= 2 ? sourceAll[s * sourceDims + 1] : grid[2 * n + 1];
    });

    const started = Date.now();
    let lastNote = 0;
    const sim = await simulateScan({
      name, seed, neurons, noise, gain, targetOracle, trials, corticalGrid: cortical,
      imageShape: arch.core.inputShape,
      batchSize: 128,
      predict: async (images, count) => {
        const y = await encoder.predict(images, { readout: key, batchSize });
        const out = new Float32Array(count * neurons);
        for (let b = 0; b < count; b++) for (let n = 0; n < neurons; n++) out[b * neurons + n] = y.data[b * all + selected[n]];
        return out;
      },
      onProgress: (stage, done, total) => {
        const now = Date.now();
        if (done === total || now - lastNote > 2000) {
          lastNote = now;
          process.stderr.write(`v1x: ${stage} ${done}/${total} (${((now - started) / 1000).toFixed(1)} s)\n`);
        }
      },
    });

    if (isZip) writeFileSync(out, await writeScanZip(sim.scan));
    else writeFilesToDir(dirname(out), scanFiles(sim.scan));
    writeFilesToDir(dirname(truthDir), scanTruthFiles(sim, {
      selectedNeurons: selected, grid, features, channels: C,
      about: {
        ground_truth_model: files.checkpointPath,
        readout: key,
        readout_neurons: all,
        true_rates_note: 'expected value of each stored response: gain * rate / response_scale, rate = model output on images z-scored with image_stats_train',
      },
    }, basename(truthDir)));
    process.stderr.write(`v1x: wrote ${out} and ${truthDir}/\n`);
    process.stdout.write(JSON.stringify({
      scan: out,
      truth: truthDir,
      name,
      neurons,
      trials: sim.scan.tiers.length,
      tiers: { train: trials.train, validation: trials.validation, test: trials.testImages * trials.testRepeats },
      noise,
      gain: sim.truth.gain,
      median_oracle: sim.truth.medianOracle,
      readout: key,
    }) + '\n');
  } finally {
    encoder.dispose();
  }
}
