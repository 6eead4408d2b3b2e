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
import { normalizedImages } from '../io/scan/normalize';
import { tierIndices } from '../io/scan/tiers';
import type { Scan } from '../io/scan/types';
import type { MetricsSummary } from '../metrics/evaluate';
import type { ModelConfig, ParsedModelConfig } from '../model/config';
import { coreRegularizerFromConfig } from '../train/end_to_end/finetune_core';
import { newEncoder } from '../train/end_to_end/new_model';
import { type FrozenCore, frozenCore, openFrozenCore } from '../train/frozen_core';
import { DEFAULT_GAMMA_READOUT } from '../train/optim/losses';
import { REFERENCE_SCHEDULE, type ScheduleOptions } from '../train/optim/schedule';
import type { FeatureCache } from '../train/readout/feature_cache';
import { fitBatchNormStatistics } from './batchnorm_fit';
import { type SeedSummary, summarizeSeeds } from './interval';
import { type ConditionSpec, type CoreKind, conditionHash, type ExperimentSpec, type ReadoutSpec } from './spec';
import { cacheForTransfer, directCell, frozenCoreCell, type TransferCell, trainingSubset } from './transfer';

export const SELECTION_RULE =
  'every condition alike: one training run per (condition, training-set size, seed), no best-of-k selection; ' +
  'each run keeps the state with the best validation correlation (early stopping with learning-rate decay) and ' +
  'that state is scored on the test tier; every seed is reported, and summaries give the mean over seeds with a ' +
  '95% Student t-interval; runs that stopped at the epoch cap instead of by early stopping are flagged hit_cap';

export const INTERVAL_METHOD =
  '95% Student t-interval over seeds: mean +- t(0.975, n - 1) * sd / sqrt(n), sd with n - 1; none for one seed';

export interface CellResult {
  /** `${hash}:${condition}:${size}:${seed}`, what --resume matches. */
  key: string;
  hash: string;
  condition: string;
  core: CoreKind;
  readout: ReadoutSpec;
  size: number;
  seed: number;
  test_correlation: number | null;
  correlation_to_average: number | null;
  oracle: number | null;
  fraction_oracle: number | null;
  feve: number | null;
  best_val_correlation: number;
  epochs: number;
  stop_reason: string;
  /** Stopped at protocol.max_epochs rather than by early stopping. */
  hit_cap: boolean;
  seconds: number;
}

export interface CellSummary {
  condition: string;
  size: number;
  seeds: number[];
  fraction_oracle: SeedSummary;
  test_correlation: SeedSummary;
  /** Seeds whose run hit the epoch cap (any: the summary is flagged). */
  hit_cap: boolean;
  hit_cap_seeds: number[];
  mean_epochs: number;
}

export interface ExperimentResults {
  spec: ExperimentSpec;
  selection_rule: string;
  interval: string;
  /** False when the run stopped early (maxCells): some cells are missing. */
  complete: boolean;
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
  scan: Scan;
  /** The model config (the checkpoint's, or the default): the architecture of random and direct cores. */
  config: ParsedModelConfig;
  /** The checkpoint of the `loaded` core (needed only by such conditions). */
  checkpoint?: { stateDict: StateDict; file: string } | null;
}

export interface RunOptions {
  /** Cells already finished (resume): not rerun, reported as they are. */
  done?: readonly CellResult[];
  onEvent?: (e: ExperimentEvent) => void;
  /** Called when a cell finishes, before the next starts (the CLI appends it to results.jsonl). */
  onCell?: (c: CellResult) => void | Promise<void>;
  /** Stop after running this many new cells (tests of resuming; a long run in pieces). */
  maxCells?: number;
}

/** The config a condition's readout implies: free positions drop the position network. */
export function configForReadout(config: ModelConfig, readout: ReadoutSpec): ModelConfig {
  return readout.positions === 'free' ? { ...config, grid_mean_predictor: null } : config;
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

function toResult(c: TransferCell, cond: ConditionSpec, hash: string, size: number, seed: number): CellResult {
  const t: MetricsSummary = c.test;
  return {
    key: `${hash}:${cond.name}:${size}:${seed}`,
    hash,
    condition: cond.name,
    core: cond.core,
    readout: cond.readout,
    size,
    seed,
    test_correlation: t.test_correlation,
    correlation_to_average: t.correlation_to_average,
    oracle: t.oracle,
    fraction_oracle: t.fraction_oracle,
    feve: t.feve,
    best_val_correlation: c.bestValCorrelation,
    epochs: c.epochs,
    stop_reason: c.stopReason,
    hit_cap: c.stopReason === 'max-epochs',
    seconds: c.seconds,
  };
}

/** Checks what the spec asks of the scan and model before anything runs; errors name the spec key. */
export function checkInputs(inputs: ExperimentInputs): void {
  const { spec, scan } = inputs;
  const train = tierIndices(scan, 'train').length;
  spec.sizes.forEach((s, i) => {
    if (s > train) throw new Error(`spec key 'sizes[${i}]': ${s} images, but the scan's train tier has ${train}`);
  });
  if (tierIndices(scan, 'validation').length === 0) throw new Error(`scan ${scan.name} has no validation trials`);
  if (tierIndices(scan, 'test').length === 0) throw new Error(`scan ${scan.name} has no test trials`);
  spec.conditions.forEach((c, i) => {
    if (c.core === 'loaded' && !inputs.checkpoint)
      throw new Error(`spec key 'conditions[${i}]': no checkpoint for the loaded core`);
    if (c.readout.positions === 'retinotopy' && !scan.cellMotorCoordinates) {
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

/** Mean and interval per (condition, size) over the seeds present, in spec order. */
export function summarize(spec: ExperimentSpec, cells: readonly CellResult[]): CellSummary[] {
  const out: CellSummary[] = [];
  for (const cond of spec.conditions) {
    for (const size of spec.sizes) {
      const cs = spec.seeds
        .map((s) => cells.find((c) => c.condition === cond.name && c.size === size && c.seed === s))
        .filter((c): c is CellResult => c !== undefined);
      if (cs.length === 0) continue;
      const capped = cs.filter((c) => c.hit_cap).map((c) => c.seed);
      out.push({
        condition: cond.name,
        size,
        seeds: cs.map((c) => c.seed),
        fraction_oracle: summarizeSeeds(cs.map((c) => c.fraction_oracle ?? Number.NaN)),
        test_correlation: summarizeSeeds(cs.map((c) => c.test_correlation ?? Number.NaN)),
        hit_cap: capped.length > 0,
        hit_cap_seeds: capped,
        mean_epochs: cs.reduce((a, c) => a + c.epochs, 0) / cs.length,
      });
    }
  }
  return out;
}

/** Runs every cell of `inputs.spec` not in `opts.done`; cells in spec order (condition, seed, size). */
export async function runExperiment(inputs: ExperimentInputs, opts: RunOptions = {}): Promise<ExperimentResults> {
  checkInputs(inputs);
  const { spec, scan } = inputs;
  const emit = opts.onEvent ?? (() => {});
  const baseConfig = inputs.config.config;
  const gammaReadout = spec.protocol.gamma_readout ?? baseConfig.gamma_readout ?? DEFAULT_GAMMA_READOUT;
  const done = new Map((opts.done ?? []).map((c) => [c.key, c]));
  const results = new Map<string, CellResult>();
  const total = spec.conditions.length * spec.sizes.length * spec.seeds.length;
  let index = 0;
  let ran = 0;
  let complete = true;

  for (const cond of spec.conditions) {
    const hash = await conditionHash(spec, cond);
    const config = configForReadout(baseConfig, cond.readout);
    let loaded: { core: FrozenCore; cache: FeatureCache } | null = null;
    try {
      for (const seed of spec.seeds) {
        for (const size of spec.sizes) {
          index++;
          const key = `${hash}:${cond.name}:${size}:${seed}`;
          const prior = done.get(key);
          if (prior) {
            results.set(key, prior);
            emit({ kind: 'cell-skip', condition: cond.name, size, seed, index, total });
            continue;
          }
          // past the limit: later cells finished before are still reported, nothing new runs
          if (opts.maxCells !== undefined && ran >= opts.maxCells) {
            complete = false;
            continue;
          }
          emit({ kind: 'cell-start', condition: cond.name, size, seed, index, total });
          const t0 = performance.now();
          const trials = trainingSubset(scan, size, spec.protocol.subset_seed);
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
          };
          let cell: TransferCell;
          if (cond.core === 'direct') {
            cell = await directCell(scan, trials, {
              config,
              seed,
              onEvent: onEpoch,
              train: {
                lr: spec.protocol.lr,
                batchSize: spec.protocol.batch_size,
                gammaReadout,
                accumulate: 1,
                coreRegularizer: coreRegularizerFromConfig(config),
                schedule: sched,
              },
            });
          } else {
            let cache: FeatureCache;
            let own: FrozenCore | null = null;
            if (cond.core === 'loaded') {
              if (!loaded) {
                emit({ kind: 'status', message: `running the loaded core over the scan's images (${cond.name})` });
                const ck = inputs.checkpoint!;
                const core = await openFrozenCore(ck.stateDict, inputs.config, ck.file);
                try {
                  loaded = { core, cache: await cacheForTransfer(core.run, scan) };
                } catch (e) {
                  core.dispose();
                  throw e;
                }
              }
              cache = loaded.cache;
            } else {
              emit({
                kind: 'status',
                message:
                  `random core (seed ${seed}): BatchNorm statistics from the ${size} training images, ` +
                  'then the cache',
              });
              const encoder = newEncoder(config, [], seed);
              try {
                fitBatchNormStatistics(encoder.core, normalizedImages(scan, trials), scan.imageShape);
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
              cell = await frozenCoreCell(cache, scan, trials, {
                condition: cond.core === 'loaded' ? 'transfer' : 'random',
                config,
                onEvent: onEpoch,
                train: {
                  seed,
                  lr: spec.protocol.lr,
                  batchSize: spec.protocol.batch_size,
                  gammaReadout,
                  schedule: sched,
                },
              });
            } finally {
              own?.dispose();
            }
          }
          // the cell's whole time: a random core's BatchNorm fit and cache included (the loaded cache is shared)
          const r = { ...toResult(cell, cond, hash, size, seed), seconds: (performance.now() - t0) / 1000 };
          results.set(key, r);
          ran++;
          await opts.onCell?.(r);
          emit({ kind: 'cell-done', cell: r, index, total });
        }
      }
    } finally {
      loaded?.core.dispose();
    }
  }
  const cells = [...results.values()];
  return {
    spec,
    selection_rule: SELECTION_RULE,
    interval: INTERVAL_METHOD,
    complete: complete && cells.length === total,
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
    'seed',
    'fraction_oracle',
    'test_correlation',
    'correlation_to_average',
    'oracle',
    'feve',
    'best_val_correlation',
    'epochs',
    'stop_reason',
    'hit_cap',
    'seconds',
    'hash',
  ] as const;
  const cell = (c: CellResult, k: (typeof cols)[number]): string => {
    if (k === 'readout') return `${c.readout.kind}-${c.readout.positions}`;
    const v = c[k];
    return v === null ? '' : String(v);
  };
  return [cols.join(','), ...cells.map((c) => cols.map((k) => cell(c, k)).join(','))].join('\n') + '\n';
}
