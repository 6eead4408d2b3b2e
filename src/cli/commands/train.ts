/**
 * v1x train: end-to-end training of a core and one readout per scan (src/train/end_to_end/trainer.ts; FullGaussian2d
 * readouts, or FullFactorized2d with --readout-type factorized: Klindt et al. 2017's direct condition), from scratch
 * or,
 * with --init, from a checkpoint's core (fine-tuning the core too; for one new scan `v1x finetune --train-core` does
 * the same with the fine-tuning workflow's readout settings and exports). Progress goes to stderr; stdout gets one JSON
 * object with the test metrics per scan (the keys of `v1x evaluate`) and the training summary. The model is
 * written as a zip-format .pth with neuralpredictors key names (`core.*`, `readout.<data_key>.*`).
 */
import { writeFileSync } from 'node:fs';
import { InputError } from '../../io/host_tensor';
import type { Scan } from '../../io/scan';
import { loadScanFromPath } from '../../io/scan/node_dir_source';
import { tierIndices } from '../../io/scan/tiers';
import { saveCheckpoint } from '../../io/torch_save';
import { excludedGroups } from '../../model/config';
import { LOSS_NAMES, type LossName, OUTPUT_NONLINEARITIES, type OutputNonlinearity } from '../../model/output_loss';
import { READOUT_KINDS, type ReadoutKind } from '../../model/readout_types';
import { encoderToStateDict } from '../../model/to_state_dict';
import { coreRegularizerFromConfig } from '../../train/end_to_end/finetune_core';
import { encoderWithNewReadouts, initCoreStateDict, newReadoutFor } from '../../train/end_to_end/new_model';
import { endToEndScan } from '../../train/end_to_end/scan_data';
import { evaluateTierE2E, trainEndToEnd } from '../../train/end_to_end/trainer';
import { chooseLoss, DEFAULT_GAMMA_READOUT } from '../../train/optim/losses';
import { parseArgs, UsageError } from '../args';
import { parseBackend, readCheckpointFile, readConfigFile, startBackend } from '../load_model';
import { trainingProgressLogger } from '../training_log';

export const summary =
  'train a core and one readout per scan end to end: --scan a.zip --scan b.zip ... ' +
  '[--config C.json] --out model.pth [--readout-type gaussian|factorized] [--seed N] [--max-epochs N] [--lr X] ' +
  '[--init CORE.pth] [--metrics M.json] [--share-features] [--loss poisson|mse|gaussian] [--output elu|softplus|identity]';

const OPTIONS = [
  'scan',
  'config',
  'out',
  'seed',
  'max-epochs',
  'lr',
  'batch-size',
  'backend',
  'init',
  'metrics',
  'scale',
  'patience',
  'readout-type',
  'loss',
  'output',
];

export async function run(argv: string[]): Promise<void> {
  // --share-features: the scans' readouts share each matched neuron's features (meta/neurons/multi_match_id.npy;
  // model/feature_sharing.ts), as neuralpredictors' share_features
  const args = parseArgs(argv, OPTIONS, ['quiet', 'share-features']);
  const out = args.require('out');
  const scanPaths = args.all('scan');
  if (scanPaths.length === 0) throw new UsageError("missing required option '--scan' (give it once per scan)");
  const seed = args.number('seed', 42);
  const maxEpochs = args.number('max-epochs', 200);
  const lr = args.number('lr', 0.005);
  const batchSize = args.number('batch-size', 64);
  const scale = args.number('scale', 1);
  const patience = args.number('patience', 5);
  if (!Number.isInteger(seed)) throw new UsageError(`--seed must be an integer, got ${seed}`);
  if (!(maxEpochs >= 1) || !Number.isInteger(maxEpochs))
    throw new UsageError(`--max-epochs must be a positive integer, got ${maxEpochs}`);
  if (!(lr > 0)) throw new UsageError(`--lr must be positive, got ${lr}`);
  if (!(batchSize >= 1) || !Number.isInteger(batchSize))
    throw new UsageError(`--batch-size must be a positive integer, got ${batchSize}`);
  if (!(patience >= 1) || !Number.isInteger(patience))
    throw new UsageError(`--patience must be a positive integer, got ${patience}`);
  const readoutType = (args.get('readout-type') ?? 'gaussian') as ReadoutKind;
  if (!READOUT_KINDS.includes(readoutType)) {
    throw new UsageError(`--readout-type must be gaussian or factorized, got '${readoutType}'`);
  }
  const backend = parseBackend(args);
  const quiet = args.has('quiet');
  const log = (s: string): void => {
    if (!quiet) process.stderr.write(`v1x: ${s}\n`);
  };

  const parsed = readConfigFile(args.get('config'));
  const config = parsed.config;
  // the loss and output: --loss / --output, else the config's (loss, nonlinearity_type), else chosen per the scans
  const lossArg = (args.get('loss') as LossName | undefined) ?? config.loss;
  if (lossArg !== undefined && !LOSS_NAMES.includes(lossArg))
    throw new UsageError(`--loss must be ${LOSS_NAMES.join(', ')}, got '${lossArg}'`);
  const output = (args.get('output') as OutputNonlinearity | undefined) ?? config.nonlinearity_type ?? 'elu';
  if (!OUTPUT_NONLINEARITIES.includes(output))
    throw new UsageError(`--output must be ${OUTPUT_NONLINEARITIES.join(', ')}, got '${output}'`);
  const exclude = excludedGroups(config);
  const scans: Scan[] = [];
  for (const path of scanPaths) {
    const s = await loadScanFromPath(path, { scale, exclude });
    scans.push(s);
    for (const w of s.warnings) log(`${path}: ${w}`);
    if (readoutType === 'gaussian' && !s.cellMotorCoordinates && config.grid_mean_predictor) {
      throw new InputError(
        path,
        'no meta/neurons/cell_motor_coordinates.npy for the position network (set grid_mean_predictor to null in the config to learn one position per neuron)',
      );
    }
  }
  // Without an input_shape in the config, the scans' images set it.
  if (!parsed.given.includes('input_shape')) config.input_shape = [...scans[0].imageShape];
  scans.forEach((s, i) => {
    if (s.imageShape.join('x') !== config.input_shape.join('x')) {
      throw new InputError(
        scanPaths[i],
        `images are ${s.imageShape.join('x')}, the model takes ${config.input_shape.join('x')} (config input_shape or the first scan)`,
      );
    }
  });
  const keys = new Map<string, string>();
  scans.forEach((s, i) => {
    const other = keys.get(s.dataKey);
    if (other)
      throw new InputError(
        scanPaths[i],
        `has the same data key '${s.dataKey}' as ${other}; each scan needs its own readout`,
      );
    keys.set(s.dataKey, scanPaths[i]);
  });

  // one loss for all scans: Poisson unless one scan's training responses go negative (then MSE, with a note);
  // Poisson asked on such a scan is an error naming it
  let loss = lossArg;
  const notes: string[] = [];
  scans.forEach((s, i) => {
    const c = chooseLoss(s, tierIndices(s, 'train'), { loss, output, readoutType }, scanPaths[i]);
    if (c.note) {
      notes.push(`${scanPaths[i]}: ${c.note}`);
      log(notes.at(-1)!);
    }
    if (loss === undefined && c.loss !== 'poisson') loss = c.loss;
  });
  loss ??= 'poisson';

  await startBackend(backend);
  const data = scans.map((s) => endToEndScan(s));
  const init = args.get('init');
  const coreSd = init ? await readCheckpointFile(init) : initCoreStateDict(config, seed);
  const readouts = data.map((s) => ({ ...newReadoutFor(s), type: readoutType }));
  const shareFeatures = args.has('share-features');
  if (shareFeatures && data.length < 2) throw new UsageError('--share-features needs at least two scans (--scan)');
  let encoder: ReturnType<typeof encoderWithNewReadouts>;
  try {
    encoder = encoderWithNewReadouts(coreSd, config, readouts, seed, init ?? 'new model', shareFeatures);
    encoder.output = output;
  } catch (e) {
    // the scans' match ids do not allow sharing: a message naming the scan, not a stack
    const i = e instanceof Error ? data.findIndex((d) => e.message.startsWith(`scan ${d.name}: `)) : -1;
    if (shareFeatures && i >= 0)
      throw new InputError(scanPaths[i], (e as Error).message.slice(`scan ${data[i].name}: `.length));
    throw e;
  }
  try {
    const arch = encoder.architecture.core;
    log(
      `core: ${arch.layers.length} layers, ${arch.outputShape[0]} channels out, ${init ? `initialized from ${init}` : `new (seed ${seed})`}; ` +
        data
          .map(
            (s) =>
              `${s.name}: ${s.neurons} neurons, ${s.train.trials.length} train / ${s.validation.trials.length} ` +
              'validation trials',
          )
          .join('; ') +
        (readoutType === 'factorized' ? '; factorized readouts (FullFactorized2d)' : '') +
        (shareFeatures
          ? `; features shared across the scans (${encoder.anyReadout(data[0].key).sharing?.matches} matched neurons)`
          : ''),
    );
    const result = await trainEndToEnd(
      encoder,
      data,
      {
        seed,
        lr,
        batchSize,
        gammaReadout: config.gamma_readout ?? DEFAULT_GAMMA_READOUT,
        coreRegularizer: coreRegularizerFromConfig(config),
        loss,
        schedule: { maxEpochs, patience },
      },
      trainingProgressLogger(log),
    );
    log(result.message);
    writeFileSync(out, await saveCheckpoint(await encoderToStateDict(encoder)));
    log(`wrote core + ${data.length} readout(s) to ${out}`);
    const perScan: Record<string, unknown> = {};
    for (const s of data) {
      perScan[s.key] = s.test
        ? { scan: s.name, ...(await evaluateTierE2E(encoder, s, s.test)).summary }
        : { scan: s.name, note: 'no test trials' };
    }
    const summaryOut = {
      tier: 'test',
      scans: perScan,
      best_validation_correlation: result.bestValCorrelation,
      epochs: result.epochs,
      stop_reason: result.stopReason,
      seed,
      lr,
      batch_size: batchSize,
      backend,
      train_s: result.elapsedS,
      out,
      readout_type: readoutType,
      share_features: shareFeatures,
      loss,
      output,
      notes,
    };
    const metrics = args.get('metrics');
    if (metrics) {
      writeFileSync(
        metrics,
        JSON.stringify(
          { ...summaryOut, config: { ...config, loss, nonlinearity_type: output }, history: result.history },
          null,
          1,
        ),
      );
      log(`wrote metrics and history to ${metrics}`);
    }
    process.stdout.write(JSON.stringify(summaryOut) + '\n');
  } finally {
    encoder.dispose();
  }
}
