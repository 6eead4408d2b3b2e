/**
 * v1x evaluate: the field's metrics of a model on one tier of a recorded scan. Images and responses are
 * normalized as neuralpredictors' loaders do (NeuroNormalizer), the model predicts every distinct image of the
 * tier once (repeats of a test image are the same picture, and eval mode is deterministic), and the metrics
 * are those of src/metrics. Prints one JSON object on stdout; progress and notes go to stderr.
 */
import { writeFileSync } from 'node:fs';
import { InputError } from '../../io/host_tensor';
import { normalizedImages, normalizedResponses, type Scan, tierCounts, tierIndices } from '../../io/scan';
import { loadScanFromPath } from '../../io/scan/node_dir_source';
import { evaluate, perNeuronCsv } from '../../metrics';
import type { Encoder } from '../../model/encoder';
import { parseArgs, UsageError } from '../args';
import { buildEncoder, parseBackend, readModelFiles, readoutFromArgs, startBackend } from '../load_model';

export const summary =
  'metrics of a model on a scan tier: --checkpoint M.pth [--config C.json] [--readout KEY] --scan S.zip|DIR [--tier test] [--out per_neuron.csv] [--scale F] [--backend cpu|wasm]';

export async function run(argv: string[]): Promise<void> {
  const args = parseArgs(argv, [
    'checkpoint',
    'config',
    'readout',
    'scan',
    'tier',
    'out',
    'backend',
    'batch-size',
    'scale',
  ]);
  const scanPath = args.require('scan');
  const tier = args.get('tier') ?? 'test';
  const backend = parseBackend(args);
  const batchSize = args.number('batch-size', 32);
  const scale = args.number('scale', 1);
  if (!(scale > 0)) throw new UsageError(`--scale must be > 0, got ${scale}`);

  const files = await readModelFiles(args.require('checkpoint'), args.get('config'));
  const arch = files.architecture;
  const key = readoutFromArgs(args, files);
  const readoutNeurons = arch.readouts.find((r) => r.key === key)!.neurons;

  const scan = await loadScanFromPath(scanPath, { scale });
  for (const w of scan.warnings) process.stderr.write(`v1x: ${scanPath}: ${w}\n`);
  const trials = tierIndices(scan, tier);
  if (trials.length === 0) {
    const order = ['train', 'validation', 'test', 'final_test'];
    const rank = (t: string) => (order.includes(t) ? order.indexOf(t) : order.length);
    const have = [...tierCounts(scan)]
      .sort((a, b) => rank(a[0]) - rank(b[0]) || a[0].localeCompare(b[0]))
      .map(([t, n]) => `${t} (${n})`)
      .join(', ');
    throw new InputError(scanPath, `no trials in tier '${tier}' (tiers: ${have})`);
  }
  if (scan.nNeurons !== readoutNeurons) {
    throw new InputError(
      scanPath,
      `the scan has ${scan.nNeurons} neurons but readout '${key}' of ${files.checkpointPath} has ${readoutNeurons}: ` +
        'a readout predicts the neurons it was trained on, in their order (fine-tune a new readout for this scan with v1x finetune)',
    );
  }
  const [c, h, w] = arch.core.inputShape;
  const [sc, sh, sw] = scan.imageShape;
  if (sc !== c || sh !== h || sw !== w) {
    throw new InputError(
      scanPath,
      `images are ${sc}x${sh}x${sw} (after --scale ${scale}), the model takes ${c}x${h}x${w}` +
        (sc === c && Math.abs(sh / h - sw / w) < 1e-9 ? ` (try --scale ${(h / sh) * scale})` : ''),
    );
  }

  await startBackend(backend);
  const encoder = buildEncoder(files, [key]);
  let predictions: Float32Array;
  try {
    predictions = await predictTrials(encoder, key, scan, trials, batchSize);
  } finally {
    encoder.dispose();
  }
  // The model predicts responses in the loaders' normalized units; FEVE compares them in those units.
  const responses = normalizedResponses(scan, trials);
  const result = evaluate({
    predictions,
    responses,
    neurons: scan.nNeurons,
    imageIds: Array.from(trials, (t) => scan.frameImageId[t]),
  });
  if (result.summary.note) process.stderr.write(`v1x: ${result.summary.note}\n`);
  const out = args.get('out');
  if (out) {
    writeFileSync(out, perNeuronCsv(result.perNeuron, scan.unitIds));
    process.stderr.write(`v1x: wrote per-neuron metrics to ${out}\n`);
  }
  process.stdout.write(
    JSON.stringify({
      ...result.summary,
      tier,
      scan: scan.name,
      readout: key,
      checkpoint: files.checkpointPath,
      backend,
    }) + '\n',
  );
}

/**
 * Predictions (trials.length, neurons) for the given trials: each distinct image (by pixel content) goes through
 * the model once, and trials showing the same image share its prediction.
 */
async function predictTrials(
  encoder: Encoder,
  readout: string,
  scan: Scan,
  trials: Int32Array,
  batchSize: number,
): Promise<Float32Array> {
  const [c, h, w] = scan.imageShape;
  const per = c * h * w;
  const distinct: number[] = []; // trial of each distinct image
  const slot = new Int32Array(trials.length); // distinct image of each trial
  const byHash = new Map<number, number[]>();
  const same = (a: number, b: number) => {
    for (let p = 0; p < per; p++) if (scan.images[a * per + p] !== scan.images[b * per + p]) return false;
    return true;
  };
  trials.forEach((t, k) => {
    let hash = 0x811c9dc5;
    for (let p = 0; p < per; p += 7) hash = Math.imul(hash ^ Math.round(scan.images[t * per + p] * 16), 0x01000193);
    const candidates = byHash.get(hash) ?? [];
    const found = candidates.find((d) => same(distinct[d], t));
    if (found !== undefined) {
      slot[k] = found;
      return;
    }
    slot[k] = distinct.length;
    candidates.push(distinct.length);
    byHash.set(hash, candidates);
    distinct.push(t);
  });
  const N = scan.nNeurons;
  const perDistinct = new Float32Array(distinct.length * N);
  const chunk = 256;
  const started = Date.now();
  for (let start = 0; start < distinct.length; start += chunk) {
    const idx = distinct.slice(start, start + chunk);
    const y = await encoder.predict(normalizedImages(scan, idx), { readout, batchSize });
    perDistinct.set(y.data, start * N);
    const done = start + idx.length;
    process.stderr.write(
      `v1x: predicted ${done}/${distinct.length} distinct images (${((Date.now() - started) / 1000).toFixed(1)} s)\n`,
    );
  }
  const out = new Float32Array(trials.length * N);
  for (let k = 0; k < trials.length; k++) out.set(perDistinct.subarray(slot[k] * N, (slot[k] + 1) * N), k * N);
  return out;
}
