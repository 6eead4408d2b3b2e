/**
 * v1x simulate: a FileTree scan with a known ground truth, written as a zip or a folder with a `<name>-truth/`
 * folder beside it; prints one JSON summary on stdout. Three populations:
 *
 * - a model (default; src/sim/simulate_scan.ts): neurons drawn at random from one readout of --checkpoint; their
 *   true rates are the model's outputs on procedurally generated images; their cortical coordinates come from the
 *   readout's source_grid (or its positions when it has no position network);
 * - `--cell-types K` with --checkpoint (src/sim/core_cell_types.ts, Klindt et al. 2017's "K feature maps of a given
 *   core"): K channels of the checkpoint's core are K cell types, each neuron reads its type's channel at a random
 *   position (a FullGaussian2d readout with one-hot features); the truth holds the types, positions, features and
 *   truth_model.pth (the core with that readout), and the scan meta/neurons/cell_types.npy;
 * - `--population gabor` (src/sim/v1_scan.ts, the demo's ground truth): the project's simple and complex Gabor cells
 *   with a retinotopic map, no checkpoint; with `--cell-types K`, K types of shared tuning at random positions.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { StateDict } from '../../io/host_tensor';
import { sensoriumDataKey } from '../../io/scan/load_scan';
import { saveCheckpoint } from '../../io/torch_save';
import type { ZipInput } from '../../io/zip_archive';
import { neuronMajorFeatures } from '../../model/readout_types';
import {
  coreCellTypeFeatures,
  coreCellTypePredict,
  coreCellTypeReadoutStateDict,
  makeCoreCellTypes,
} from '../../sim/core_cell_types';
import { asMatchedScan, matchedScanName, matchedScanSeed } from '../../sim/matched_scans';
import { scanTruthFiles } from '../../sim/scan_truth_files';
import { type ScanData, scanFiles, writeScanZip } from '../../sim/scan_writer';
import {
  chooseNeurons,
  DEFAULT_TRIALS,
  type NoiseModel,
  type SimulatedScan,
  simulateScan,
  type TrialCounts,
} from '../../sim/simulate_scan';
import { simulateV1Scan } from '../../sim/v1_scan';
import { gridToPixel, v1TruthFiles } from '../../sim/v1_truth';
import { writeFilesToDir } from '../../sim/write_dir_node';
import { type ParsedArgs, parseArgs, UsageError } from '../args';
import {
  buildEncoder,
  chooseReadout,
  type ModelFiles,
  parseBackend,
  readModelFiles,
  startBackend,
} from '../load_model';

export const summary =
  'simulate a scan with a model as ground truth: --checkpoint M.pth [--config C.json] [--readout KEY] --neurons N --seed S --out scan.zip|DIR [--trials 4000,500,100x10] [--noise poisson|gamma|calcium | --calcium] [--oracle 0.55 | --gain G] [--name NAME]' +
  "; cell types on the checkpoint's core: --cell-types K [--type-channels c1,c2,...] [--position-range 0.9]; " +
  "the project's Gabor cells: --population gabor [--cell-types K] (no checkpoint); " +
  'the same neurons in K scans (own images and noise, meta/neurons/multi_match_id): --matched-scans K; ' +
  'Gabor images of another size: --image-size HxW (default 36x64)';

/** `--trials train,validation,testImages x repeats`, e.g. 4000,500,100x10. */
function parseTrials(args: ParsedArgs): TrialCounts {
  const t = args.get('trials');
  if (t === undefined) return { ...DEFAULT_TRIALS };
  const m = /^(\d+),(\d+),(\d+)x(\d+)$/.exec(t.replace(/\s+/g, ''));
  if (!m)
    throw new UsageError(
      `--trials must look like 4000,500,100x10 (train, validation, test images x repeats), got '${t}'`,
    );
  return { train: Number(m[1]), validation: Number(m[2]), testImages: Number(m[3]), testRepeats: Number(m[4]) };
}

/** `--cell-types K`: undefined when absent. */
function parseCellTypes(args: ParsedArgs): number | undefined {
  if (!args.has('cell-types')) return undefined;
  const k = args.number('cell-types', NaN);
  if (!Number.isInteger(k) || k < 1) {
    throw new UsageError(`--cell-types must be a positive integer, got '${args.get('cell-types')}'`);
  }
  return k;
}

/** `--type-channels 3,7,12,15`: undefined when absent. */
function parseChannels(args: ParsedArgs): number[] | undefined {
  const t = args.get('type-channels');
  if (t === undefined) return undefined;
  const cs = t.split(',').map((x) => Number(x.trim()));
  if (cs.some((c) => !Number.isInteger(c) || c < 0)) {
    throw new UsageError(`--type-channels must be channel indices like 3,7,12,15, got '${t}'`);
  }
  return cs;
}

interface Output {
  out: string;
  isZip: boolean;
  name: string;
  truthDir: string;
}

/** Writes the scan and its truth files (paths under `<truth folder name>/`), and says so on stderr. */
async function writeOutputs(o: Output, scan: ScanData, truth: ZipInput[], extra: ZipInput[] = []): Promise<void> {
  if (o.isZip) writeFileSync(o.out, await writeScanZip(scan));
  else writeFilesToDir(dirname(o.out), scanFiles(scan));
  writeFilesToDir(dirname(o.truthDir), [...truth, ...extra]);
  process.stderr.write(`v1x: wrote ${o.out} and ${o.truthDir}/\n`);
}

function progressNote(): (stage: string, done: number, total: number) => void {
  const started = Date.now();
  let lastNote = 0;
  return (stage, done, total) => {
    const now = Date.now();
    if (done === total || now - lastNote > 2000) {
      lastNote = now;
      process.stderr.write(`v1x: ${stage} ${done}/${total} (${((now - started) / 1000).toFixed(1)} s)\n`);
    }
  };
}

export async function run(argv: string[]): Promise<void> {
  const args = parseArgs(
    argv,
    [
      'checkpoint',
      'config',
      'readout',
      'neurons',
      'seed',
      'out',
      'trials',
      'noise',
      'oracle',
      'gain',
      'name',
      'truth',
      'backend',
      'batch-size',
      'cell-types',
      'type-channels',
      'position-range',
      'population',
      'matched-scans',
      'image-size',
    ],
    ['force', 'calcium'],
  );
  const out = args.require('out');
  const neurons = args.number('neurons', NaN);
  if (!Number.isInteger(neurons) || neurons < 1)
    throw new UsageError(`--neurons must be a positive integer, got '${args.get('neurons') ?? ''}'`);
  const seed = args.number('seed', NaN);
  if (!Number.isInteger(seed)) throw new UsageError(`--seed must be an integer, got '${args.get('seed') ?? ''}'`);
  const trials = parseTrials(args);
  // --calcium: dF/F-like responses with negative values (src/sim/simulate_scan.ts, CALCIUM_NOISE_SD)
  if (args.has('calcium') && args.has('noise') && args.get('noise') !== 'calcium')
    throw new UsageError(`--calcium is --noise calcium; it cannot go with --noise ${args.get('noise')}`);
  const noise = (args.has('calcium') ? 'calcium' : (args.get('noise') ?? 'poisson')) as NoiseModel;
  if (noise !== 'poisson' && noise !== 'gamma' && noise !== 'calcium')
    throw new UsageError(`--noise must be poisson, gamma or calcium, got '${noise}'`);
  const gain = args.has('gain') ? args.number('gain', NaN) : undefined;
  const targetOracle = args.number('oracle', 0.55);
  const isZip = out.toLowerCase().endsWith('.zip');
  // A zip holds the scan under its top folder <name>/; a folder output is the scan folder itself.
  const name = args.get('name') ?? basename(out).replace(/\.zip$/i, '');
  if (!isZip && name !== basename(out))
    throw new UsageError(`--name applies to zip output; a folder output is named by its path (${basename(out)})`);
  if (!/^[A-Za-z0-9._-]+$/.test(name))
    throw new UsageError(
      `the scan name '${name}' must be a plain folder name (letters, digits, . _ -); choose one with --name`,
    );
  const truthDir = args.get('truth') ?? join(dirname(out), `${name}-truth`);
  const scanTarget = out;
  for (const p of [scanTarget, truthDir]) {
    if (existsSync(p) && !args.has('force')) throw new UsageError(`${p} exists; remove it or pass --force`);
  }
  const output: Output = { out, isZip, name, truthDir };
  const cellTypes = parseCellTypes(args);
  const population = args.get('population') ?? 'model';
  if (population !== 'model' && population !== 'gabor') {
    throw new UsageError(`--population must be model or gabor, got '${population}'`);
  }
  // --matched-scans K: the same neurons in K scans (src/sim/matched_scans.ts), <name>-1 ... <name>-K
  const matched = args.number('matched-scans', 1);
  if (!Number.isInteger(matched) || matched < 1 || matched > 20)
    throw new UsageError(`--matched-scans must be an integer from 1 to 20, got '${args.get('matched-scans')}'`);
  if (matched > 1 && args.has('truth')) throw new UsageError('--truth cannot name the truth folders of matched scans');
  const outputs = Array.from({ length: matched }, (_, k) => matchedOutput(output, k, matched));
  for (const m of matched > 1 ? outputs : [])
    for (const p of [m.out, m.truthDir])
      if (existsSync(p) && !args.has('force')) throw new UsageError(`${p} exists; remove it or pass --force`);
  // --image-size HxW: the Gabor cells' images (default 36x64, the demo's); a model population takes its core's size
  let imageShape: [1, number, number] | undefined;
  if (args.has('image-size')) {
    const m = /^(\d+)x(\d+)$/.exec(args.get('image-size') ?? '');
    const [h, w] = m ? [Number(m[1]), Number(m[2])] : [0, 0];
    if (!m || h < 8 || w < 8 || h > 512 || w > 512)
      throw new UsageError(
        `--image-size must be HxW with 8 to 512 pixels each, e.g. 18x32, got '${args.get('image-size')}'`,
      );
    if (population !== 'gabor')
      throw new UsageError(
        "--image-size applies to --population gabor (a model population takes its core's input size)",
      );
    imageShape = [1, h, w];
  }
  if (population === 'gabor') {
    const modelOnly = [
      'checkpoint',
      'config',
      'readout',
      'noise',
      'calcium',
      'gain',
      'type-channels',
      'position-range',
      'backend',
      'batch-size',
    ];
    for (const o of modelOnly) {
      if (args.has(o)) throw new UsageError(`--${o} does not apply to --population gabor (the project's Gabor cells)`);
    }
    for (const [k, m] of outputs.entries())
      await simulateGabor(
        m,
        { neurons, seed, trials, targetOracle, cellTypes, imageShape },
        matched > 1 ? k : undefined,
      );
    return;
  }
  if (matched > 1 && cellTypes !== undefined)
    throw new UsageError('--matched-scans applies to --population gabor and the model population, not --cell-types');
  if (cellTypes === undefined) {
    for (const o of ['type-channels', 'position-range']) {
      if (args.has(o)) throw new UsageError(`--${o} needs --cell-types K`);
    }
  } else if (args.has('readout')) {
    throw new UsageError("--readout does not apply with --cell-types (the cell types read the core's channels)");
  }
  const backend = parseBackend(args);
  const batchSize = args.number('batch-size', 32);

  const files = await readModelFiles(args.require('checkpoint'), args.get('config'));
  if (cellTypes !== undefined) {
    const range = args.number('position-range', 0.9);
    if (!(range >= 0 && range <= 1)) {
      throw new UsageError(`--position-range must be in [0, 1] (grid units), got '${args.get('position-range')}'`);
    }
    await startBackend(backend);
    return simulateCoreCellTypes(output, files, {
      neurons,
      seed,
      trials,
      noise,
      gain,
      targetOracle,
      batchSize,
      types: cellTypes,
      channels: parseChannels(args),
      positionRange: range,
    });
  }
  const arch = files.architecture;
  const key = chooseReadout(arch, args.get('readout'), files.checkpointPath);
  const readoutArch = arch.readouts.find((r) => r.key === key)!;
  if (neurons > readoutArch.neurons)
    throw new UsageError(`--neurons ${neurons}: readout '${key}' has only ${readoutArch.neurons} neurons`);
  const selected = chooseNeurons(readoutArch.neurons, neurons, seed);

  await startBackend(backend);
  const encoder = buildEncoder(files, [key]);
  try {
    // ground truth of the chosen neurons: eval positions, feature vectors, cortical grid
    const readout = encoder.readout(key);
    const C = readout.channels,
      all = readout.neurons;
    const gridT = readout.grid();
    const gridAll = (await gridT.data()) as Float32Array;
    gridT.dispose();
    const own = readout.neuronFeatures(); // (C, all); with shared features each neuron's scale * shared vector
    const featAll = neuronMajorFeatures((await own.data()) as Float32Array, C, all); // (all, C)
    own.dispose();
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

    // one scan, or matched scan k of K: the same neurons, the scan's own images, noise and units (matched_scans.ts)
    for (const [k, o] of outputs.entries()) {
      const note = progressNote();
      const raw = await simulateScan({
        name: o.name,
        seed: matchedScanSeed(seed, k),
        neurons,
        noise,
        gain,
        targetOracle,
        trials,
        corticalGrid: cortical,
        imageShape: arch.core.inputShape,
        batchSize: 128,
        predict: async (images, count) => {
          const y = await encoder.predict(images, { readout: key, batchSize });
          const out = new Float32Array(count * neurons);
          for (let b = 0; b < count; b++)
            for (let n = 0; n < neurons; n++) out[b * neurons + n] = y.data[b * all + selected[n]];
          return out;
        },
        onProgress: note,
      });
      const sim = matched > 1 ? { ...raw, scan: asMatchedScan(raw.scan, k) } : raw;

      await writeOutputs(
        o,
        sim.scan,
        scanTruthFiles(
          sim,
          {
            selectedNeurons: selected,
            grid,
            features,
            channels: C,
            about: {
              ground_truth_model: files.checkpointPath,
              readout: key,
              readout_neurons: all,
              true_rates_note:
                'expected value of each stored response: gain * rate / response_scale, rate = model output on images z-scored with image_stats_train',
            },
          },
          basename(o.truthDir),
        ),
      );
      process.stdout.write(
        JSON.stringify({
          scan: o.out,
          truth: o.truthDir,
          name: o.name,
          neurons,
          trials: sim.scan.tiers.length,
          tiers: { train: trials.train, validation: trials.validation, test: trials.testImages * trials.testRepeats },
          noise,
          gain: sim.truth.gain,
          median_oracle: sim.truth.medianOracle,
          readout: key,
          ...(matched > 1 && { matched_scan: k + 1 }),
        }) + '\n',
      );
    }
  } finally {
    encoder.dispose();
  }
}

interface CommonOptions {
  neurons: number;
  seed: number;
  trials: TrialCounts;
  targetOracle: number;
}

function summaryOf(o: Output, c: CommonOptions, scan: ScanData): Record<string, unknown> {
  return {
    scan: o.out,
    truth: o.truthDir,
    name: o.name,
    neurons: c.neurons,
    trials: scan.tiers.length,
    tiers: { train: c.trials.train, validation: c.trials.validation, test: c.trials.testImages * c.trials.testRepeats },
  };
}

function countTypes(types: ArrayLike<number>, K: number): number[] {
  const counts = new Array<number>(K).fill(0);
  for (let n = 0; n < types.length; n++) counts[types[n]]++;
  return counts;
}

function median(x: ArrayLike<number>): number {
  const s = Array.from(x)
    .filter(Number.isFinite)
    .sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Output k of K matched scans: `<name>-<k+1>` beside --out (zip or folder) and its `-truth` folder. */
function matchedOutput(o: Output, k: number, count: number): Output {
  if (count === 1) return o;
  const name = matchedScanName(o.name, k, count);
  const out = join(dirname(o.out), o.isZip ? `${name}.zip` : name);
  return { out, isZip: o.isZip, name, truthDir: join(dirname(o.out), `${name}-truth`) };
}

/**
 * `--population gabor`: the demo's simulated V1 (simulateV1Scan), optionally as K cell types; `matched` = k: matched
 * scan k of a set (src/sim/matched_scans.ts: the same neurons, its own images and noise, multi_match_id).
 */
async function simulateGabor(
  o: Output,
  c: CommonOptions & { cellTypes?: number; imageShape?: [1, number, number] },
  matched?: number,
): Promise<void> {
  const note = progressNote();
  const raw = simulateV1Scan({
    name: o.name,
    ...(matched !== undefined && { scanSeed: matchedScanSeed(c.seed + 7919, matched) }),
    animalSeed: c.seed,
    nNeurons: c.neurons,
    ...(c.imageShape && { imageShape: c.imageShape }),
    nTrain: c.trials.train,
    nValidation: c.trials.validation,
    nTest: c.trials.testImages,
    testRepeats: c.trials.testRepeats,
    targetMedianOracle: c.targetOracle,
    ...(c.cellTypes !== undefined && { population: { cellTypes: c.cellTypes } }),
    onProgress: (done, total) => note('rates', done, total),
  });
  const v = matched === undefined ? raw : { ...raw, scan: asMatchedScan(raw.scan, matched) };
  await writeOutputs(o, v.scan, v1TruthFiles(v, undefined, basename(o.truthDir)));
  const K = v.truth.population.cellTypes?.length;
  const types = Array.from(v.scan.cellTypes ?? []);
  process.stdout.write(
    JSON.stringify({
      ...summaryOf(o, c, v.scan),
      noise: 'poisson',
      gain: v.truth.gain,
      median_expected_oracle: median(v.truth.expectedOracle),
      population: 'gabor',
      ...(matched !== undefined && {
        matched_scan: matched + 1,
        data_key: `${v.scan.animalId}-${v.scan.session}-${v.scan.scanIdx}`,
      }),
      ...(K !== undefined && { cell_types: K, type_counts: countTypes(types, K) }),
    }) + '\n',
  );
}

/** `--cell-types K` on a checkpoint's core (src/sim/core_cell_types.ts). */
async function simulateCoreCellTypes(
  o: Output,
  files: ModelFiles,
  c: CommonOptions & {
    noise: NoiseModel;
    gain?: number;
    batchSize: number;
    types: number;
    channels?: number[];
    positionRange: number;
  },
): Promise<void> {
  const arch = files.architecture;
  const encoder = buildEncoder(files, []);
  try {
    const core = async (images: Float32Array) => (await encoder.coreOutput(images, { batchSize: c.batchSize })).data;
    const pop = await makeCoreCellTypes(core, {
      neurons: c.neurons,
      seed: c.seed,
      types: c.types,
      channels: c.channels,
      positionRange: c.positionRange,
      imageShape: arch.core.inputShape,
      coreShape: arch.core.outputShape,
      eluOffset: arch.eluOffset,
      batchSize: c.batchSize,
    });
    process.stderr.write(
      `v1x: ${c.types} cell types on core channels ${pop.channels.join(', ')} ` +
        `(largest correlation between two: ${pop.maxCorrelation.toFixed(2)})\n`,
    );
    const sim: SimulatedScan = await simulateScan({
      name: o.name,
      seed: c.seed,
      neurons: c.neurons,
      noise: c.noise,
      gain: c.gain,
      targetOracle: c.targetOracle,
      trials: c.trials,
      corticalGrid: pop.grid,
      cellTypes: pop.cellTypes,
      imageShape: arch.core.inputShape,
      batchSize: 128,
      predict: coreCellTypePredict(core, pop),
      onProgress: progressNote(),
    });
    const [, Hf, Wf] = pop.coreShape;
    const rfPx = new Float32Array(2 * c.neurons);
    for (let n = 0; n < c.neurons; n++) {
      const [x, y] = gridToPixel(pop.grid[2 * n], pop.grid[2 * n + 1], arch.core.inputShape, [Hf, Wf]);
      rfPx[2 * n] = x;
      rfPx[2 * n + 1] = y;
    }
    // the ground-truth model: the checkpoint's core with the cell types' readout, under the scan's data key
    const { animalId, session, scanIdx } = sim.scan;
    const key = sensoriumDataKey(o.name, { animalIds: [animalId], sessions: [session], scanIdx: [scanIdx] });
    const sd: StateDict = new Map([...files.stateDict].filter(([k]) => !k.startsWith('readout.')));
    for (const [k, v] of coreCellTypeReadoutStateDict(pop, key)) sd.set(k, v);
    const truthName = basename(o.truthDir);
    const truthModel = await saveCheckpoint(sd, { prefix: 'truth_model' });
    const counts = countTypes(pop.cellTypes, c.types);
    await writeOutputs(
      o,
      sim.scan,
      scanTruthFiles(
        sim,
        {
          grid: pop.grid,
          features: coreCellTypeFeatures(pop),
          channels: pop.coreShape[0],
          cellTypes: pop.cellTypes,
          rfPx,
          bias: pop.bias,
          about: {
            ground_truth_model: files.checkpointPath,
            truth_model: {
              file: 'truth_model.pth',
              readout: key,
              note:
                "the checkpoint's core with the cell types' FullGaussian2d readout (free mu, sigma 0, " +
                'one-hot features, bias): predicts the rates',
            },
            cell_types: {
              K: c.types,
              channels: pop.channels,
              counts,
              channel_mean: pop.channelMean,
              channel_sd: pop.channelSd,
              max_channel_correlation: pop.maxCorrelation,
              position_range: pop.positionRange,
              gain_log_sd: pop.gainLogSd,
              drive_sd: pop.driveSd,
              elu_offset: pop.eluOffset,
              rate:
                'elu(gain * core[channel of type](mu) + bias + elu_offset) + 1, core output sampled as ' +
                'grid_sample(align_corners=True)',
              files: {
                'cell_types.npy': "int64 (N,): type 0..K-1 of each neuron (= the scan's meta/neurons/cell_types.npy)",
                'true_grid.npy':
                  'float32 (N, 2): mu, (x, y) grid units in [-1, 1] on the core output (align_corners=True)',
                'true_rf_px.npy': 'float32 (N, 2): the same positions in image pixels (x = column, y = row)',
                'true_features.npy': "float32 (N, C): one-hot at the type's channel times the gain",
                'true_bias.npy': 'float32 (N,): the readout bias',
              },
              grid_geometry: { imageShape: arch.core.inputShape, featureShape: [Hf, Wf], alignCorners: true },
            },
            true_rates_note:
              'expected value of each stored response: gain * rate / response_scale, rate = the cell ' +
              "types' rate on images z-scored with image_stats_train",
          },
        },
        truthName,
      ),
      [{ name: `${truthName}/truth_model.pth`, data: truthModel }],
    );
    process.stdout.write(
      JSON.stringify({
        ...summaryOf(o, c, sim.scan),
        noise: c.noise,
        gain: sim.truth.gain,
        median_oracle: sim.truth.medianOracle,
        cell_types: c.types,
        type_channels: pop.channels,
        type_counts: counts,
        truth_readout: key,
      }) + '\n',
    );
  } finally {
    encoder.dispose();
  }
}
