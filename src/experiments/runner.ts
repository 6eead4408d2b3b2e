/**
 * The experiment runner (issue 13): every (condition, training-set size, seed) cell of a spec (spec.ts), each a
 * new readout on a frozen core or a whole model trained directly (transfer.ts), scored on the scan's test tier.
 *
 * One selection rule for every condition (SELECTION_RULE): one training run per seed and cell, no best-of-k; within
 * a run the trainers keep the state with the best validation correlation (early stopping, learning-rate decay) and
 * that state is scored on test; every seed is reported, and summaries are the mean over seeds with a 95% Student
 * t-interval (interval.ts). A run that ends at the protocol's epoch cap instead of by early stopping is flagged
 * `hit_cap`.
 *
 * Resumable: finished cells passed in `done` (e.g. read back from the results.jsonl the CLI appends to) are not
 * rerun, matched by condition name, size, seed and the condition's spec hash (spec.ts: conditionHash).
 * Deterministic for a spec on the cpu and wasm backends, so a resumed run gives the results of an uninterrupted one.
 */
import type { StateDict } from '../io/host_tensor';
import { drawNeurons, scanWithNeurons } from '../io/scan/neuron_subset';
import { normalizedImages } from '../io/scan/normalize';
import { tierIndices } from '../io/scan/tiers';
import type { Scan } from '../io/scan/types';
import type { MetricsSummary } from '../metrics/evaluate';
import { poolEvaluations } from '../metrics/pooled';
import type { ModelConfig, ParsedModelConfig } from '../model/config';
import { coreRegularizerFromConfig } from '../train/end_to_end/finetune_core';
import { newEncoder, newReadoutFor } from '../train/end_to_end/new_model';
import { endToEndScan } from '../train/end_to_end/scan_data';
import { trainEndToEnd } from '../train/end_to_end/trainer';
import { type FrozenCore, frozenCore, openFrozenCore } from '../train/frozen_core';
import { DEFAULT_GAMMA_READOUT } from '../train/optim/losses';
import { REFERENCE_SCHEDULE, type ScheduleOptions } from '../train/optim/schedule';
import type { FeatureCache } from '../train/readout/feature_cache';
import { fitBatchNormStatistics } from './batchnorm_fit';
import { type SeedSummary, summarizeSeeds } from './interval';
import {
  type ConditionSpec,
  type CoreKind,
  conditionHash,
  type ExperimentSpec,
  type ReadoutSpec,
  readoutLabel,
} from './spec';
import { cacheForTransfer, directCell, frozenCoreCell, type TransferCell, trainingSubset } from './transfer';
import { type VggPreNormCache, type VggWeights, vggPreNormCache } from './vgg_core';

export const SELECTION_RULE =
  'every condition alike: one training run per (condition, training-set size, seed), no best-of-k selection; ' +
  'each run keeps the state with the best validation correlation (early stopping with learning-rate decay) and ' +
  'that state is scored on the test tier; every seed is reported, and summaries give the mean over seeds with a ' +
  '95% Student t-interval; runs that stopped at the epoch cap instead of by early stopping are flagged hit_cap';

export const INTERVAL_METHOD =
  '95% Student t-interval over seeds: mean +- t(0.975, n - 1) * sd / sqrt(n), sd with n - 1; none for one seed';

export interface CellResult {
  /** `${hash}:${condition}:${size}:${seed}` (with partitions `${hash}:${condition}:p${partition}:${size}:${seed}`). */
  key: string;
  hash: string;
  condition: string;
  core: CoreKind;
  readout: ReadoutSpec;
  /** Seed of the train tier's permutation whose nested sets the cell used (protocol.subset_seed without partitions). */
  partition?: number;
  size: number;
  seed: number;
  test_correlation: number | null;
  correlation_to_average: number | null;
  oracle: number | null;
  fraction_oracle: number | null;
  feve: number | null;
  best_val_correlation: number;
  epochs: number;
  /** The cell's epoch cap (min(max_epochs, ceil(max_images / size))). */
  max_epochs?: number;
  stop_reason: string;
  /** Stopped at its epoch cap rather than by early stopping. */
  hit_cap: boolean;
  seconds: number;
}

export interface CellSummary {
  condition: string;
  size: number;
  /** Seeds present (over every partition). */
  seeds: number[];
  /** Partitions present (one value without `partitions`). */
  partitions: number[];
  /** Runs summarized: partitions x seeds present. */
  runs: number;
  fraction_oracle: SeedSummary;
  test_correlation: SeedSummary;
  /** Seeds whose run hit the epoch cap (any: the summary is flagged). */
  hit_cap: boolean;
  hit_cap_seeds: number[];
  /** Runs that hit the cap (of `runs`). */
  hit_cap_runs: number;
  mean_epochs: number;
}

/** How the split core (Lurz Fig. 4) was trained, in the results. */
export interface SplitCoreInfo {
  core_neurons: number;
  transfer_neurons: number;
  images: number;
  epochs: number;
  max_epochs: number;
  stop_reason: string;
  hit_cap: boolean;
  /** On the core set's validation tier. */
  best_val_correlation: number;
  seconds: number;
}

export interface ExperimentResults {
  spec: ExperimentSpec;
  selection_rule: string;
  interval: string;
  /** False when the run stopped early (maxCells): some cells are missing. */
  complete: boolean;
  /** Neurons every cell is scored on (the scan's, the subset's or the split's transfer set; every scan's, summed). */
  neurons: number;
  /** The split core's training, when the spec has `split` and a cell used it in this run. */
  split_core?: SplitCoreInfo;
  cells: CellResult[];
  summaries: CellSummary[];
}

export type ExperimentEvent =
  | { kind: 'status'; message: string }
  | { kind: 'cell-start'; condition: string; size: number; seed: number; index: number; total: number }
  | { kind: 'cell-skip'; condition: string; size: number; seed: number; index: number; total: number }
  | {
      kind: 'epoch';
      condition: string;
      size: number;
      seed: number;
      epoch: number;
      maxEpochs: number;
      valCorrelation: number;
    }
  | { kind: 'cell-done'; cell: CellResult; index: number; total: number };

export interface ExperimentInputs {
  spec: ExperimentSpec;
  /** The spec's scans, loaded, in its order. */
  scans: readonly Scan[];
  /** The model config (the checkpoint's, or the default): the architecture of random and direct cores. */
  config: ParsedModelConfig;
  /** The checkpoint of the `loaded` core (needed only by such conditions). */
  checkpoint?: { stateDict: StateDict; file: string } | null;
  /** torchvision's VGG16 state_dict for `vgg` cores (read by range: a Blob is never read whole). */
  vgg16?: { source: Blob | Uint8Array; file: string } | null;
}

export interface RunOptions {
  /** Cells already finished (resume): not rerun, reported as they are. */
  done?: readonly CellResult[];
  onEvent?: (e: ExperimentEvent) => void;
  /** Called when a cell finishes, before the next starts (the CLI appends it to results.jsonl). */
  onCell?: (c: CellResult) => void | Promise<void>;
  /** Stop after running this many new cells (tests of resuming; a long run in pieces). */
  maxCells?: number;
  /** Checked between epochs and cells: true stops the run (the page's Stop); finished cells are returned. */
  shouldStop?: () => boolean;
  /** How the split core was trained in an earlier run (resume): reported when this run does not train it again. */
  splitCore?: SplitCoreInfo;
  /** Called once the split core is trained (the CLI keeps it in results.jsonl for a resumed run's results). */
  onSplitCore?: (info: SplitCoreInfo) => void | Promise<void>;
}

/** The config a condition's readout implies: free positions drop the position network. */
export function configForReadout(config: ModelConfig, readout: ReadoutSpec): ModelConfig {
  return readout.kind === 'gaussian' && readout.positions === 'free'
    ? { ...config, grid_mean_predictor: null }
    : config;
}

/** The epoch cap of a cell of `size` training images: max_epochs, or fewer under protocol.max_images. */
export function epochCap(spec: ExperimentSpec, size: number): number {
  const p = spec.protocol;
  return p.max_images === null ? p.max_epochs : Math.max(1, Math.min(p.max_epochs, Math.ceil(p.max_images / size)));
}

function schedule(spec: ExperimentSpec, size: number): ScheduleOptions {
  const p = spec.protocol;
  return {
    ...REFERENCE_SCHEDULE,
    maxEpochs: epochCap(spec, size),
    patience: p.patience,
    lrDecaySteps: p.lr_decay_steps,
  };
}

/** The data partitions of a spec: its `partitions`, or protocol.subset_seed alone. */
export function partitionsOf(spec: ExperimentSpec): number[] {
  return spec.partitions ?? [spec.protocol.subset_seed];
}

/** What --resume matches a cell by; the partition appears only when the spec lists partitions. */
export function cellKey(
  spec: ExperimentSpec,
  hash: string,
  cond: string,
  partition: number,
  size: number,
  seed: number,
) {
  return spec.partitions ? `${hash}:${cond}:p${partition}:${size}:${seed}` : `${hash}:${cond}:${size}:${seed}`;
}

/**
 * The neurons the cells are scored on and, with `split`, the core set: the scans themselves, a seeded subset of
 * the one scan (`neurons`), or the split's transfer set of it, all drawn by io/scan/neuron_subset.ts.
 */
export function experimentScans(
  spec: ExperimentSpec,
  scans: readonly Scan[],
): { scans: readonly Scan[]; coreScan: Scan | null } {
  const [scan] = scans;
  if (spec.split) {
    const s = spec.split;
    const [core, transfer] = drawNeurons(scan.nNeurons, [s.core_neurons, s.transfer_neurons], s.seed);
    return {
      scans: [scanWithNeurons(scan, transfer, `${scan.name} (transfer set)`)],
      coreScan: scanWithNeurons(scan, core, `${scan.name} (core set)`),
    };
  }
  if (spec.neurons) {
    const [rows] = drawNeurons(scan.nNeurons, [spec.neurons.count], spec.neurons.seed);
    return { scans: [scanWithNeurons(scan, rows)], coreScan: null };
  }
  return { scans, coreScan: null };
}

/**
 * One cell on several scans as one result: their test metrics pooled over every neuron (metrics/pooled.ts), the
 * best validation correlations weighted by neurons, the most epochs, and a stop at the cap if any scan's readout
 * stopped there.
 */
export function poolCells(cells: readonly TransferCell[]): TransferCell {
  if (cells.length === 1) return cells[0];
  const evaluation = poolEvaluations(cells.map((c) => c.evaluation));
  const neurons = cells.map((c) => c.test.neurons);
  const total = evaluation.summary.neurons;
  const capped = cells.find((c) => c.stopReason === 'max-epochs');
  return {
    ...cells[0],
    test: evaluation.summary,
    evaluation,
    bestValCorrelation: cells.reduce((a, c, k) => a + c.bestValCorrelation * neurons[k], 0) / total,
    epochs: Math.max(...cells.map((c) => c.epochs)),
    stopReason: capped ? capped.stopReason : cells[0].stopReason,
    seconds: cells.reduce((a, c) => a + c.seconds, 0),
  };
}

function toResult(
  c: TransferCell,
  cond: ConditionSpec,
  key: string,
  hash: string,
  partition: number | undefined,
  size: number,
  seed: number,
  cap: number,
): CellResult {
  const t: MetricsSummary = c.test;
  return {
    key,
    hash,
    condition: cond.name,
    core: cond.core,
    readout: cond.readout,
    ...(partition === undefined ? {} : { partition }),
    size,
    seed,
    test_correlation: t.test_correlation,
    correlation_to_average: t.correlation_to_average,
    oracle: t.oracle,
    fraction_oracle: t.fraction_oracle,
    feve: t.feve,
    best_val_correlation: c.bestValCorrelation,
    epochs: c.epochs,
    max_epochs: cap,
    stop_reason: c.stopReason,
    hit_cap: c.stopReason === 'max-epochs',
    seconds: c.seconds,
  };
}

/** Checks what the spec asks of the scan and model before anything runs; errors name the spec key. */
export function checkInputs(inputs: ExperimentInputs): void {
  const { spec, scans } = inputs;
  if (scans.length !== spec.scans.length)
    throw new Error(`the spec lists ${spec.scans.length} scans, ${scans.length} were given`);
  for (const scan of scans) checkScan(inputs, scan);
  const shared = spec.conditions.findIndex((c) => c.share_features);
  const unmatched = scans.find((s) => !s.neurons.multiMatchId);
  if (shared >= 0 && unmatched) {
    throw new Error(
      `spec key 'conditions[${shared}].share_features': scan ${unmatched.name} has no meta/neurons/multi_match_id ` +
        '(which neuron is which across the scans)',
    );
  }
}

function checkScan(inputs: ExperimentInputs, scan: Scan): void {
  const { spec } = inputs;
  const train = tierIndices(scan, 'train').length;
  spec.sizes.forEach((s, i) => {
    if (s > train)
      throw new Error(`spec key 'sizes[${i}]': ${s} images, but the train tier of ${scan.name} has ${train}`);
  });
  if (spec.split?.core_images != null && spec.split.core_images > train) {
    throw new Error(`spec key 'split.core_images': ${spec.split.core_images} images, the train tier has ${train}`);
  }
  const N = scan.nNeurons;
  if (spec.neurons && spec.neurons.count > N)
    throw new Error(`spec key 'neurons.count': ${spec.neurons.count} neurons, the scan has ${N}`);
  if (spec.split && spec.split.core_neurons + spec.split.transfer_neurons > N) {
    throw new Error(
      `spec key 'split': ${spec.split.core_neurons} + ${spec.split.transfer_neurons} neurons, the scan has ${N}`,
    );
  }
  if (tierIndices(scan, 'validation').length === 0) throw new Error(`scan ${scan.name} has no validation trials`);
  if (tierIndices(scan, 'test').length === 0) throw new Error(`scan ${scan.name} has no test trials`);
  spec.conditions.forEach((c, i) => {
    if (c.core === 'loaded' && !inputs.checkpoint)
      throw new Error(`spec key 'conditions[${i}]': no checkpoint for the loaded core`);
    if (c.core === 'vgg' && !inputs.vgg16)
      throw new Error(`spec key 'conditions[${i}]': no VGG16 file (model.vgg16) for the vgg core`);
    if (c.readout.kind === 'gaussian' && c.readout.positions === 'retinotopy' && !scan.cellMotorCoordinates) {
      throw new Error(
        `spec key 'conditions[${i}].readout': retinotopy needs the scan's cell_motor_coordinates ` +
          `(use positions 'free')`,
      );
    }
  });
  const shape = inputs.config.config.input_shape.join('x');
  if (scan.imageShape.join('x') !== shape)
    throw new Error(`scan images are ${scan.imageShape.join('x')}, the model takes ${shape}`);
}

/** Mean and interval per (condition, size) over every partition and seed present, in spec order. */
export function summarize(spec: ExperimentSpec, cells: readonly CellResult[]): CellSummary[] {
  const out: CellSummary[] = [];
  const parts = partitionsOf(spec);
  for (const cond of spec.conditions) {
    for (const size of spec.sizes) {
      const cs: CellResult[] = [];
      for (const p of parts) {
        for (const s of spec.seeds) {
          const c = cells.find(
            (c) =>
              c.condition === cond.name &&
              c.size === size &&
              c.seed === s &&
              (spec.partitions === null || c.partition === p),
          );
          if (c) cs.push(c);
        }
      }
      if (cs.length === 0) continue;
      const capped = cs.filter((c) => c.hit_cap);
      out.push({
        condition: cond.name,
        size,
        seeds: [...new Set(cs.map((c) => c.seed))],
        partitions: spec.partitions ? [...new Set(cs.map((c) => c.partition!))] : parts,
        runs: cs.length,
        fraction_oracle: summarizeSeeds(cs.map((c) => c.fraction_oracle ?? Number.NaN)),
        test_correlation: summarizeSeeds(cs.map((c) => c.test_correlation ?? Number.NaN)),
        hit_cap: capped.length > 0,
        hit_cap_seeds: [...new Set(capped.map((c) => c.seed))],
        hit_cap_runs: capped.length,
        mean_epochs: cs.reduce((a, c) => a + c.epochs, 0) / cs.length,
      });
    }
  }
  return out;
}

/** A frozen core shared by the cells of several conditions, with its outputs cached (one cache per scan). */
interface SharedCore {
  core: FrozenCore;
  caches: FeatureCache[];
}

/** Thrown through the trainers' event callbacks when opts.shouldStop() turns true. */
class StopRequested extends Error {}

/**
 * Runs every cell of `inputs.spec` not in `opts.done`; cells in spec order (condition, partition, seed, size).
 * Frozen cores shared by cells (loaded, split) are made once, when the first cell needing them runs.
 */
export async function runExperiment(inputs: ExperimentInputs, opts: RunOptions = {}): Promise<ExperimentResults> {
  checkInputs(inputs);
  const { spec } = inputs;
  const { scans, coreScan } = experimentScans(spec, inputs.scans);
  const allNeurons = scans.reduce((a, s) => a + s.nNeurons, 0);
  const emit = opts.onEvent ?? (() => {});
  const stop = opts.shouldStop ?? (() => false);
  const baseConfig = inputs.config.config;
  const gammaReadout = spec.protocol.gamma_readout ?? baseConfig.gamma_readout ?? DEFAULT_GAMMA_READOUT;
  const done = new Map((opts.done ?? []).map((c) => [c.key, c]));
  const results = new Map<string, CellResult>();
  const parts = partitionsOf(spec);
  const total = spec.conditions.length * parts.length * spec.sizes.length * spec.seeds.length;
  const shared = new Map<'loaded' | 'split', SharedCore>();
  let splitCore: SplitCoreInfo | undefined = opts.splitCore;
  let index = 0;
  let ran = 0;
  let complete = true;
  const endToEndOptions = (config: ModelConfig, sched: ScheduleOptions) => ({
    lr: spec.protocol.lr,
    batchSize: spec.protocol.batch_size,
    gammaReadout,
    accumulate: 1,
    coreRegularizer: coreRegularizerFromConfig(config),
    schedule: sched,
  });

  const sharedCore = async (kind: 'loaded' | 'split'): Promise<SharedCore> => {
    const have = shared.get(kind);
    if (have) return have;
    let core: FrozenCore;
    if (kind === 'loaded') {
      emit({ kind: 'status', message: "running the loaded core over the scan's images" });
      const ck = inputs.checkpoint!;
      core = await openFrozenCore(ck.stateDict, inputs.config, ck.file);
    } else {
      // the split core: trained end to end on the core set's neurons, once, then frozen (Lurz Fig. 4)
      const sp = spec.split!;
      const cs = coreScan!;
      const all = tierIndices(cs, 'train').length;
      const n = sp.core_images ?? all;
      const trials = trainingSubset(cs, n, spec.protocol.subset_seed);
      const sched = schedule(spec, n);
      const config = cs.cellMotorCoordinates ? baseConfig : { ...baseConfig, grid_mean_predictor: null };
      emit({
        kind: 'status',
        message: `training the split core on ${cs.nNeurons} core-set neurons, ${n} images (up to ${sched.maxEpochs} epochs)`,
      });
      const t0 = performance.now();
      const data = endToEndScan(cs, { trainTrials: trials });
      const encoder = newEncoder(config, [newReadoutFor(data)], sp.seed);
      try {
        const r = await trainEndToEnd(encoder, [data], { ...endToEndOptions(config, sched), seed: sp.seed }, (e) => {
          if (e.kind === 'epoch') {
            emit({
              kind: 'status',
              message: `  split core epoch ${e.epoch}: validation correlation ${e.valCorrelation.toFixed(4)}`,
            });
          }
          if (stop()) throw new StopRequested();
        });
        splitCore = {
          core_neurons: cs.nNeurons,
          transfer_neurons: allNeurons,
          images: n,
          epochs: r.epochs,
          max_epochs: sched.maxEpochs,
          stop_reason: r.stopReason,
          hit_cap: r.stopReason === 'max-epochs',
          best_val_correlation: r.bestValCorrelation,
          seconds: (performance.now() - t0) / 1000,
        };
        await opts.onSplitCore?.(splitCore);
      } catch (e) {
        encoder.dispose();
        throw e;
      }
      core = await frozenCore(encoder);
      emit({ kind: 'status', message: "running the split core over the transfer set's images" });
    }
    try {
      const caches: FeatureCache[] = [];
      for (const scan of scans) caches.push(await cacheForTransfer(core.run, scan));
      const s = { core, caches };
      shared.set(kind, s);
      return s;
    } catch (e) {
      core.dispose();
      throw e;
    }
  };

  // Task-driven cores (vgg_core.ts): the VGG convs run once per weights (the pretrained file once, a random VGG once
  // per seed) over the scan; each cell normalizes those conv2_2 maps with its own training images' BatchNorm
  // statistics and applies the ReLU (the same maps as fitting the BatchNorm and running the core, in one pass).
  let vgg: { key: string; maps: VggPreNormCache } | null = null;
  const vggMaps = async (kind: 'vgg' | 'vgg_random', seed: number): Promise<VggPreNormCache> => {
    const key = kind === 'vgg' ? kind : `${kind}:${seed}`;
    if (vgg && vgg.key === key) return vgg.maps;
    vgg = null; // the previous maps go before the next are made
    const what = kind === 'vgg' ? inputs.vgg16!.file : `random, seed ${seed}`;
    emit({ kind: 'status', message: `VGG16 to conv2_2 (${what}) over the scan's images` });
    const weights: VggWeights = kind === 'vgg' ? { kind: 'file', ...inputs.vgg16! } : { kind: 'random', seed };
    const maps = await vggPreNormCache({ weights, scan: scans[0], base: baseConfig });
    vgg = { key, maps };
    return maps;
  };

  try {
    for (const [ci, cond] of spec.conditions.entries()) {
      const hash = await conditionHash(spec, cond);
      const config = configForReadout(baseConfig, cond.readout);
      const readoutKind = cond.readout.kind;
      for (const partition of parts) {
        for (const seed of spec.seeds) {
          for (const size of spec.sizes) {
            index++;
            const key = cellKey(spec, hash, cond.name, partition, size, seed);
            const prior = done.get(key);
            if (prior) {
              results.set(key, prior);
              emit({ kind: 'cell-skip', condition: cond.name, size, seed, index, total });
              continue;
            }
            // past the limit: later cells finished before are still reported, nothing new runs
            if ((opts.maxCells !== undefined && ran >= opts.maxCells) || stop()) {
              complete = false;
              continue;
            }
            emit({ kind: 'cell-start', condition: cond.name, size, seed, index, total });
            const t0 = performance.now();
            // each scan's own nested training set of `size` images
            const trials = scans.map((scan) => trainingSubset(scan, size, partition));
            const sched = schedule(spec, size);
            const onEpoch = (e: { kind: string; epoch?: number; valCorrelation?: number }): void => {
              if (e.kind === 'epoch') {
                emit({
                  kind: 'epoch',
                  condition: cond.name,
                  size,
                  seed,
                  epoch: e.epoch!,
                  maxEpochs: sched.maxEpochs,
                  valCorrelation: e.valCorrelation!,
                });
              }
              if (stop()) throw new StopRequested();
            };
            let cell: TransferCell;
            try {
              if (cond.core === 'direct') {
                cell = await directCell(scans, trials, {
                  config,
                  seed,
                  readout: readoutKind,
                  shareFeatures: cond.share_features === true,
                  onEvent: onEpoch,
                  train: endToEndOptions(config, sched),
                });
              } else {
                // a frozen core: one readout per scan (nothing couples them), pooled
                const perScan: TransferCell[] = [];
                for (const [k, scan] of scans.entries()) {
                  let cache: FeatureCache;
                  let own: FrozenCore | null = null;
                  if (cond.core === 'loaded' || cond.core === 'split') {
                    cache = (await sharedCore(cond.core)).caches[k];
                  } else if (cond.core === 'vgg' || cond.core === 'vgg_random') {
                    cache = (await vggMaps(cond.core, seed)).cellCache(trials[k]);
                  } else {
                    emit({
                      kind: 'status',
                      message:
                        `random core (seed ${seed}): BatchNorm statistics from the ${size} training images` +
                        `${scans.length > 1 ? ` of ${scan.name}` : ''}, then the cache`,
                    });
                    const encoder = newEncoder(config, [], seed);
                    try {
                      fitBatchNormStatistics(encoder.core, normalizedImages(scan, trials[k]), scan.imageShape);
                    } catch (e) {
                      encoder.dispose();
                      throw e;
                    }
                    own = await frozenCore(encoder);
                    try {
                      cache = await cacheForTransfer(own.run, scan);
                    } catch (e) {
                      own.dispose();
                      throw e;
                    }
                  }
                  try {
                    perScan.push(
                      await frozenCoreCell(cache, scan, trials[k], {
                        condition: cond.core === 'random' || cond.core === 'vgg_random' ? 'random' : 'transfer',
                        config,
                        readout: readoutKind,
                        onEvent: onEpoch,
                        train: {
                          seed,
                          lr: spec.protocol.lr,
                          batchSize: spec.protocol.batch_size,
                          gammaReadout,
                          schedule: sched,
                        },
                      }),
                    );
                  } finally {
                    own?.dispose();
                  }
                }
                cell = poolCells(perScan);
              }
            } catch (e) {
              if (e instanceof StopRequested) {
                complete = false;
                continue;
              }
              throw e;
            }
            // the cell's whole time: a random core's BatchNorm fit and cache included (shared caches are not)
            const r = {
              ...toResult(cell, cond, key, hash, spec.partitions ? partition : undefined, size, seed, sched.maxEpochs),
              seconds: (performance.now() - t0) / 1000,
            };
            results.set(key, r);
            ran++;
            await opts.onCell?.(r);
            emit({ kind: 'cell-done', cell: r, index, total });
          }
        }
      }
      // a shared core no later condition uses is let go (its cache is the largest thing held)
      for (const kind of ['loaded', 'split'] as const) {
        if (shared.has(kind) && !spec.conditions.slice(ci + 1).some((c) => c.core === kind)) {
          shared.get(kind)!.core.dispose();
          shared.delete(kind);
        }
      }
    }
  } finally {
    for (const s of shared.values()) s.core.dispose();
  }
  const cells = [...results.values()];
  return experimentResults(spec, cells, complete && cells.length === total, allNeurons, splitCore);
}

/** The number of cells a spec has: conditions x partitions x sizes x seeds. */
export function cellCount(spec: ExperimentSpec): number {
  return spec.conditions.length * partitionsOf(spec).length * spec.sizes.length * spec.seeds.length;
}

/** The results object (what `v1x experiment` writes to --out) of a spec and its finished cells. */
export function experimentResults(
  spec: ExperimentSpec,
  cells: CellResult[],
  complete: boolean,
  neurons: number,
  splitCore?: SplitCoreInfo,
): ExperimentResults {
  return {
    spec,
    selection_rule: SELECTION_RULE,
    interval: INTERVAL_METHOD,
    complete,
    neurons,
    ...(splitCore ? { split_core: splitCore } : {}),
    cells,
    summaries: summarize(spec, cells),
  };
}

/** Every cell, one row per seed, as CSV. */
export function cellsCsv(cells: readonly CellResult[]): string {
  const cols = [
    'condition',
    'core',
    'readout',
    'size',
    'partition',
    'seed',
    'fraction_oracle',
    'test_correlation',
    'correlation_to_average',
    'oracle',
    'feve',
    'best_val_correlation',
    'epochs',
    'max_epochs',
    'stop_reason',
    'hit_cap',
    'seconds',
    'hash',
  ] as const;
  const cell = (c: CellResult, k: (typeof cols)[number]): string => {
    if (k === 'readout') return readoutLabel(c.readout);
    const v = c[k];
    return v === null || v === undefined ? '' : String(v);
  };
  return [cols.join(','), ...cells.map((c) => cols.map((k) => cell(c, k)).join(','))].join('\n') + '\n';
}
