/**
 * One fine-tuning job as the worker runs it, independent of the Worker global so that Node tests can drive it:
 * start a backend, build the frozen core from the checkpoint bytes, cache, train, evaluate, export, and report
 * everything through `post` (protocol.ts). With `trainCore` the core is fine-tuned together with the new readout
 * (finetune_core.ts): no cache, and the same progress, snapshot and done messages, so the page needs no second
 * reading of them; the done message's full model then holds the fine-tuned core. The exports and their metadata
 * are packaged as `v1x finetune` packages them (result.ts).
 */
import { InputError, type StateDict } from '../../io/host_tensor';
import { tierIndices } from '../../io/scan/tiers';
import { readCheckpoint } from '../../io/torch_checkpoint';
import {
  excludedGroups,
  factorizedOptionsFromConfig,
  type ParsedModelConfig,
  parsedConfigOrDefault,
} from '../../model/config';
import type { Encoder } from '../../model/encoder';
import type { TrainableReadout } from '../../model/readout_types';
import { Rng } from '../../util/rng';
import { fineTuneCoreAndReadout, liveReadout } from '../end_to_end/finetune_core';
import type { EndToEndEvent } from '../end_to_end/trainer';
import { openFrozenCore } from '../frozen_core';
import type { TrainingControl } from '../optim/control';
import { chooseLoss, DEFAULT_GAMMA_READOUT } from '../optim/losses';
import { DEFAULT_CACHE_PRECISION } from '../readout/feature_cache';
import { fineTuneReadout } from '../readout/finetune';
import { type FactorizedInitOptions, REFERENCE_FACTORIZED, readoutInitFromConfig } from '../readout/readout_init';
import { readoutSnapshot, StepWorkspace } from '../readout/readout_step';
import type { EpochProgress, TrainEvent } from '../readout/trainer';
import { startReadoutEngine } from '../readout/webgpu_engine';
import { coreFineTuneRun, type FineTuneRun, frozenCoreRun, packageResult } from '../result';
import type { CorePool, CorePoolInit } from './core_pool';
import type { FromWorker, StartMessage } from './protocol';

export type Post = (m: FromWorker, transfer?: Transferable[]) => void;
export type BackendStarter = (preferred: StartMessage['backend']) => Promise<{ name: string; reason: string }>;
/** Starts workers that run the frozen core on every CPU core (core_pool_browser.ts); null when there is one core. */
export type CorePoolStarter = (init: CorePoolInit) => Promise<CorePool | null>;

const DEFAULT_BROWSER_CACHE_BYTES = 2 * 2 ** 30;

/** A finished run of either path: what the exports take, the history the page shows, and what frees the model. */
interface JobRun {
  run: FineTuneRun;
  history: EpochProgress[];
  dispose(): void;
}

export async function runFineTuneJob(
  m: StartMessage,
  post: Post,
  control: TrainingControl,
  startBackend: BackendStarter,
  startCorePool?: CorePoolStarter,
): Promise<void> {
  post({ type: 'status', phase: 'loading', message: 'starting the compute backend' });
  const backend = await startBackend(m.backend);
  post({ type: 'status', phase: 'loading', message: `reading ${m.checkpoint.name}`, backend });
  const sd = await readCheckpoint(m.checkpoint.bytes, m.checkpoint.name);
  const config = parsedConfigOrDefault(m.config);
  m = withSettings(m, config);
  const dataKey = m.dataKey ?? m.scan.dataKey;
  const job = m.trainCore
    ? await runCoreFineTune(m, post, control, sd, config, dataKey)
    : await runFrozenCore(m, post, control, sd, config, backend, startCorePool);
  try {
    const { run } = job;
    const { result, test } = run;
    post({ type: 'status', phase: 'exporting', message: result.message });
    const files = await packageResult(run, {
      checkpoint: { bytes: m.checkpoint.bytes, file: m.checkpoint.name },
      config: config.config,
      scan: m.scan,
      dataKey,
      backend: backend.name,
      // always with the core trained: the readout alone is only usable with the fine-tuned core, which lives only in this file
      fullModel: run.trainCore || m.exportFullModel !== false,
    });
    const done: FromWorker = {
      type: 'done',
      stopReason: result.stopReason,
      message: result.message,
      history: job.history,
      readout: run.readout,
      dataKey,
      metrics: test?.evaluation.summary ?? null,
      perNeuron: files.perNeuron,
      testTrials: test?.trials ?? null,
      testPredictions: test?.predictions ?? null,
      readoutPth: files.readoutPth,
      fullModelPth: files.fullModelPth,
      perNeuronCsv: files.perNeuronCsv,
      metadataJson: files.metadataJson,
      timings: run.timings,
      trainCore: run.trainCore,
    };
    const transfer: Transferable[] = [files.readoutPth.buffer as ArrayBuffer];
    if (files.fullModelPth) transfer.push(files.fullModelPth.buffer as ArrayBuffer);
    post(done, transfer);
    post({ type: 'status', phase: result.stopReason === 'stopped' ? 'stopped' : 'done', message: result.message });
  } finally {
    job.dispose();
  }
}

/**
 * The message with what the loaded config says for what it leaves open: the new readout's settings
 * (readoutInitFromConfig: init, gauss type, position network; free positions when the scan has no cortical
 * coordinates), the L1 weight, and `exclude` applied to the scan's normalizer (the scan keeps its statistics).
 */
function withSettings(m: StartMessage, config: ParsedModelConfig): StartMessage {
  const c = config.config;
  const readout = { ...readoutInitFromConfig(c), ...m.readout };
  if (readout.positionNet && !m.scan.cellMotorCoordinates) readout.positionNet = null;
  const exclude =
    m.exclude ??
    (config.given.some((k) => ['exclude', 'dataset_config', 'dataset'].includes(k)) ? excludedGroups(c) : null);
  const scan = exclude ? { ...m.scan, normalizer: { ...m.scan.normalizer, exclude: [...exclude] } } : m.scan;
  const train = { gammaReadout: c.gamma_readout ?? DEFAULT_GAMMA_READOUT, ...m.train };
  return { ...m, readout, scan, train, loss: m.loss ?? c.loss, output: m.output ?? c.nonlinearity_type };
}

/**
 * Training progress for the page: every epoch and restore event, batch events at most every 100 ms (and each
 * epoch's last), and a readout snapshot every `snapshotEveryMs` during an epoch (0: never) and at every epoch's end.
 */
function progressPoster(
  post: Post,
  snapshotEveryMs: number,
  snapshot: (epoch: number, batch: number) => void,
): (e: TrainEvent) => void {
  let lastBatchPost = 0,
    lastSnapshot = performance.now();
  return (e) => {
    const now = performance.now();
    if (e.kind === 'batch') {
      if (now - lastBatchPost >= 100 || e.batch === e.batches) {
        lastBatchPost = now;
        post({ type: 'train-event', event: e });
      }
      if (snapshotEveryMs > 0 && now - lastSnapshot >= snapshotEveryMs) {
        lastSnapshot = now;
        snapshot(e.epoch, e.batch);
      }
      return;
    }
    post({ type: 'train-event', event: e });
    if (e.kind === 'epoch') {
      lastSnapshot = now;
      snapshot(e.epoch, 0);
    }
  };
}

/** A factorized readout's settings: the config's factorized keys, then the message's. */
function factorizedSettings(m: StartMessage, config: ParsedModelConfig): FactorizedInitOptions {
  const c = config.config;
  return {
    initNoise: m.factorized?.initNoise ?? c.init_noise ?? REFERENCE_FACTORIZED.initNoise,
    options: { ...factorizedOptionsFromConfig(c), ...m.factorized?.options },
  };
}

/** The frozen core: its outputs cached once, then a new readout trained on them; snapshots read the trainer's arrays. */
async function runFrozenCore(
  m: StartMessage,
  post: Post,
  control: TrainingControl,
  sd: StateDict,
  config: ParsedModelConfig,
  backend: { name: string; reason: string },
  startCorePool?: CorePoolStarter,
): Promise<JobRun> {
  const frozen = await openFrozenCore(sd, config, m.checkpoint.name);
  let pool: CorePool | null = null;
  try {
    const arch = frozen.encoder.architecture;
    const [c, h, w] = arch.core.inputShape;
    const [sc, sh, sw] = m.scan.imageShape;
    if (sc !== c || sh !== h || sw !== w)
      throw new InputError(m.scan.name, `images are ${sc}x${sh}x${sw}, the core takes ${c}x${h}x${w}`);
    const precision = m.cachePrecision ?? DEFAULT_CACHE_PRECISION;
    const ws = new StepWorkspace();
    // the readout's steps on WebGPU (a hardware adapter, or ?readoutEngine=webgpu) or WASM, said on the page; the
    // WebGPU kernels compute Poisson on elu + 1 only, so another loss or output keeps WASM
    const lossChoice = chooseLoss(
      m.scan,
      tierIndices(m.scan, 'train'),
      { loss: m.loss, output: m.output, readoutType: m.readoutType },
      m.scan.name,
    );
    const reference = lossChoice.loss === 'poisson' && lossChoice.output === 'elu';
    const readoutEngine = reference
      ? await startReadoutEngine(m.readoutEngine ?? null)
      : {
          engine: null,
          choice: {
            engine: 'wasm' as const,
            reason: `readout training on WASM: the ${lossChoice.loss} loss on the ${lossChoice.output} output runs there only`,
          },
        };
    ws.engine = readoutEngine.engine;
    post({
      type: 'status',
      phase: 'loading',
      message: readoutEngine.choice.reason,
      readoutEngine: readoutEngine.choice,
    });
    let readout: TrainableReadout | null = null;
    const progress = progressPoster(post, m.snapshotEveryMs ?? 1000, (epoch, batch) => {
      if (readout) post({ type: 'readout-snapshot', epoch, batch, ...readoutSnapshot(readout, ws) });
    });
    // the cache is the core's one pass over the images: on every CPU core when the core runs on WebAssembly, or
    // on a software WebGPU adapter (SwiftShader: ~1 image/s for the core, the pool ~50-100x that; select.ts marks
    // such an adapter in its reason)
    const softwareGpu = backend.name === 'webgpu' && /software renderer/.test(backend.reason);
    // not when the readout trains on WebGPU with the core's device: the core's outputs then go to the GPU cache on
    // the GPU (only forced on a software adapter, ?readoutEngine=webgpu, where it is slow but tests that path)
    const gpuCache = readoutEngine.engine?.sharesTfjsDevice() ?? false;
    if (startCorePool && !gpuCache && (backend.name === 'wasm' || softwareGpu)) {
      try {
        pool = await startCorePool({
          checkpoint: m.checkpoint.bytes,
          name: m.checkpoint.name,
          config: config.config,
          inputShape: arch.core.inputShape,
        });
      } catch (e) {
        post({
          type: 'status',
          phase: 'loading',
          message: `core workers could not start (${e instanceof Error ? e.message : String(e)}); the core runs in this worker`,
        });
      }
    }
    const where = pool ? `on ${pool.description}` : `in the training worker (${frozen.description})`;
    post({
      type: 'status',
      phase: 'caching',
      message: `running the frozen core over the scan's images ${where}`,
      // the name is what the page shows beside the progress bar: the pool's size is visible there
      backend: {
        name: pool ? `${backend.name} + ${pool.threads} core workers` : backend.name,
        reason: `${backend.reason}; core cache ${where}`,
      },
    });
    let training = false;
    const outcome = await fineTuneReadout({
      core: pool ?? frozen.run,
      coreOutputShape: arch.core.outputShape,
      scan: m.scan,
      eluOffset: arch.eluOffset,
      readoutType: m.readoutType,
      readout: m.readout,
      factorized: factorizedSettings(m, config),
      train: m.train,
      loss: m.loss,
      output: m.output,
      scanFile: m.scan.name,
      cachePrecision: precision,
      maxCacheBytes: m.maxCacheBytes ?? DEFAULT_BROWSER_CACHE_BYTES,
      control,
      workspace: ws,
      readoutOnWorkers: m.readoutWorkers !== false,
      onReadout: (r) => {
        readout = r;
        // the cache is built: say where the WebGPU steps read their maps from
        const e = readoutEngine.engine;
        if (e) {
          const choice = { ...readoutEngine.choice, reason: `${readoutEngine.choice.reason}; maps from ${e.mapsFrom}` };
          post({ type: 'status', phase: 'training', message: 'training the readout', readoutEngine: choice });
        }
      },
      onCacheProgress: (p) => post({ type: 'cache-progress', ...p, precision }),
      onReadoutWorkers: (d) =>
        post({
          type: 'status',
          phase: 'training',
          message: `training the readout: ${d}`,
          readoutEngine: { engine: 'wasm', reason: `${readoutEngine.choice.reason}; ${d}` },
        }),
      onEvent: (e) => {
        if (!training) {
          training = true;
          post({ type: 'status', phase: 'training', message: 'training the readout' });
        }
        progress(e);
      },
    });
    return { run: frozenCoreRun(outcome, frozen.encoder), history: outcome.result.history, dispose: frozen.dispose };
  } catch (e) {
    frozen.dispose();
    throw e;
  } finally {
    await pool?.close();
  }
}

/**
 * The core fine-tuned too. The end-to-end trainer's events are mapped onto the readout trainer's shapes (a batch
 * event gets the latest validation correlation; the per-scan breakdown of an epoch is dropped: one scan), and the
 * live views get the readout's state read from the model between batches.
 */
async function runCoreFineTune(
  m: StartMessage,
  post: Post,
  control: TrainingControl,
  sd: StateDict,
  config: ParsedModelConfig,
  dataKey: string,
): Promise<JobRun> {
  post({
    type: 'status',
    phase: 'training',
    message: 'fine-tuning the core and a new readout (no cache: the core runs forward and backward on every batch)',
  });
  let live: { encoder: Encoder; key: string } | null = null;
  // the snapshots' own sampling noise, so that they never touch the training's random stream
  const snapshotRng = new Rng(0x5eed);
  const progress = progressPoster(post, m.snapshotEveryMs ?? 1000, (epoch, batch) => {
    if (live) post({ type: 'readout-snapshot', epoch, batch, ...liveReadout(live.encoder, live.key, snapshotRng) });
  });
  let lastVal = NaN;
  const onEvent = (e: EndToEndEvent): void => {
    if (e.kind === 'batch') {
      progress({
        kind: 'batch',
        epoch: e.epoch,
        batch: e.batch,
        batches: e.batches,
        loss: e.loss,
        valCorrelation: lastVal,
        lr: e.lr,
        elapsedS: e.elapsedS,
        remainingS: e.remainingS,
      });
      return;
    }
    if (e.kind === 'restore') {
      progress(e);
      return;
    }
    const { valCorrelationPerScan: _perScan, ...event } = e;
    lastVal = e.valCorrelation;
    progress(event);
  };
  const outcome = await fineTuneCoreAndReadout({
    stateDict: sd,
    config: config.config,
    file: m.checkpoint.name,
    scan: m.scan,
    dataKey,
    readout: m.readout,
    train: m.train,
    loss: m.loss,
    output: m.output,
    scanFile: m.scan.name,
    control,
    onEvent,
    readoutType: m.readoutType,
    factorized: factorizedSettings(m, config),
    onEncoder: (encoder, key) => {
      live = { encoder, key };
    },
  });
  const history: EpochProgress[] = outcome.result.history.map(({ valCorrelationPerScan: _perScan, ...h }) => h);
  return { run: coreFineTuneRun(outcome), history, dispose: () => outcome.encoder.dispose() };
}
