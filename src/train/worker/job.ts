/**
 * One fine-tuning job as the worker runs it, independent of the Worker global so that Node tests can drive it:
 * start a backend, build the frozen core from the checkpoint bytes, cache, train, evaluate, export, and report
 * everything through `post` (protocol.ts). With `trainCore` the core is fine-tuned together with the new readout
 * (finetune_core.ts): no cache, and the same progress, snapshot and done messages, so the page needs no second
 * reading of them; the done message's full model then holds the fine-tuned core.
 */
import { InputError, type StateDict } from '../../io/host_tensor';
import { readCheckpoint } from '../../io/torch_checkpoint';
import { type ModelConfig, parsedConfigOrDefault } from '../../model/config';
import type { Encoder } from '../../model/encoder';
import { Rng } from '../../util/rng';
import { TrainingControl } from '../optim/control';
import { exportFullModelPth, exportMetadata, exportReadoutPth, perNeuronCsv, perNeuronResults, sha256Hex } from '../export';
import { openFrozenCore } from '../frozen_core';
import { DEFAULT_CACHE_PRECISION } from '../readout/feature_cache';
import type { EndToEndEvent } from '../end_to_end/trainer';
import { fineTuneReadout } from '../readout/finetune';
import { coreRegularizerFromConfig, fineTuneCoreAndReadout, liveReadout } from '../end_to_end/finetune_core';
import type { FromWorker, StartMessage } from './protocol';
import type { TrainableReadout } from '../../model/readout_types';
import { StepWorkspace, readoutSnapshot } from '../readout/readout_step';
import type { BatchProgress, EpochProgress } from '../readout/trainer';

export type Post = (m: FromWorker, transfer?: Transferable[]) => void;
export type BackendStarter = (preferred: StartMessage['backend']) => Promise<{ name: string; reason: string }>;

const DEFAULT_BROWSER_CACHE_BYTES = 2 * 2 ** 30;

export async function runFineTuneJob(m: StartMessage, post: Post, control: TrainingControl, startBackend: BackendStarter): Promise<void> {
  post({ type: 'status', phase: 'loading', message: 'starting the compute backend' });
  const backend = await startBackend(m.backend);
  post({ type: 'status', phase: 'loading', message: `reading ${m.checkpoint.name}`, backend });
  const sd = await readCheckpoint(m.checkpoint.bytes, m.checkpoint.name);
  const parsed = parsedConfigOrDefault(m.config);
  const config = parsed.config;
  if (m.trainCore) return runCoreFineTune(m, post, control, backend, sd, config);
  const frozen = await openFrozenCore(sd, parsed, m.checkpoint.name);
  const { encoder } = frozen;
  try {
    const arch = encoder.architecture;
    const [c, h, w] = arch.core.inputShape;
    const [sc, sh, sw] = m.scan.imageShape;
    if (sc !== c || sh !== h || sw !== w) throw new InputError(m.scan.name, `images are ${sc}x${sh}x${sw}, the core takes ${c}x${h}x${w}`);
    const precision = m.cachePrecision ?? DEFAULT_CACHE_PRECISION;
    const ws = new StepWorkspace();
    let readout: TrainableReadout | null = null;
    let lastBatchPost = 0, lastSnapshot = performance.now();
    const snapshotEvery = m.snapshotEveryMs ?? 1000;
    const snapshot = (epoch: number, batch: number): void => {
      if (readout) post({ type: 'readout-snapshot', epoch, batch, ...readoutSnapshot(readout, ws) });
    };
    post({ type: 'status', phase: 'caching', message: 'running the frozen core over the scan\'s images' });
    let training = false;
    const outcome = await fineTuneReadout({
      core: frozen.run,
      coreOutputShape: arch.core.outputShape,
      scan: m.scan,
      eluOffset: arch.eluOffset,
      readout: m.readout,
      train: m.train,
      cachePrecision: precision,
      maxCacheBytes: m.maxCacheBytes ?? DEFAULT_BROWSER_CACHE_BYTES,
      control,
      workspace: ws,
      onReadout: (r) => { readout = r; },
      onCacheProgress: (p) => post({ type: 'cache-progress', ...p, precision }),
      onEvent: (e) => {
        if (!training) { training = true; post({ type: 'status', phase: 'training', message: 'training the readout' }); }
        const now = performance.now();
        if (e.kind === 'batch') {
          if (now - lastBatchPost >= 100 || e.batch === e.batches) { lastBatchPost = now; post({ type: 'train-event', event: e }); }
          if (snapshotEvery > 0 && now - lastSnapshot >= snapshotEvery) { lastSnapshot = now; snapshot(e.epoch, e.batch); }
          return;
        }
        post({ type: 'train-event', event: e });
        if (e.kind === 'epoch') { lastSnapshot = now; snapshot(e.epoch, 0); }
      },
    });
    post({ type: 'status', phase: 'exporting', message: outcome.result.message });
    const r = outcome.readout;
    const dataKey = m.dataKey ?? m.scan.dataKey;
    const evaluation = outcome.test?.evaluation ?? null;
    const rows = perNeuronResults(r, m.scan.unitIds, evaluation);
    const readoutPth = await exportReadoutPth(r, dataKey);
    const fullModelPth = m.exportFullModel === false ? null : await exportFullModelPth(encoder, r, dataKey);
    const metadataJson = JSON.stringify(exportMetadata({
      core_sha256: await sha256Hex(m.checkpoint.bytes), core_file: m.checkpoint.name, data_key: dataKey, scan: m.scan.name, config,
      readout: { gauss_type: r.gaussType, neurons: r.neurons, channels: r.channels, position_network: r.positionNet !== null },
      training: { train_core: false, options: m.train ?? {}, epochs: outcome.result.epochs, stop_reason: outcome.result.stopReason, history: outcome.result.history },
      seed: outcome.seed, backend: backend.name, cache_precision: precision, metrics: evaluation?.summary ?? null,
    }), null, 1);
    const done: FromWorker = {
      type: 'done', stopReason: outcome.result.stopReason, message: outcome.result.message, history: outcome.result.history,
      readout: r, dataKey, metrics: evaluation?.summary ?? null, perNeuron: rows,
      testTrials: outcome.test?.trials ?? null, testPredictions: outcome.test?.predictions ?? null,
      readoutPth, fullModelPth, perNeuronCsv: perNeuronCsv(rows, r), metadataJson, timings: outcome.timings, trainCore: false,
    };
    const transfer: Transferable[] = [readoutPth.buffer as ArrayBuffer];
    if (fullModelPth) transfer.push(fullModelPth.buffer as ArrayBuffer);
    post(done, transfer);
    post({ type: 'status', phase: outcome.result.stopReason === 'stopped' ? 'stopped' : 'done', message: outcome.result.message });
  } finally {
    frozen.dispose();
  }
}

/**
 * The core fine-tuned too. The end-to-end trainer's events are mapped onto the readout trainer's shapes (a batch
 * event gets the latest validation correlation; the per-scan breakdown of an epoch is dropped: one scan), and the
 * live views get the readout's state read from the model between batches.
 */
async function runCoreFineTune(
  m: StartMessage, post: Post, control: TrainingControl, backend: { name: string; reason: string }, sd: StateDict, config: ModelConfig,
): Promise<void> {
  const dataKey = m.dataKey ?? m.scan.dataKey;
  post({ type: 'status', phase: 'training', message: 'fine-tuning the core and a new readout (no cache: the core runs forward and backward on every batch)' });
  let live: { encoder: Encoder; key: string } | null = null;
  // the snapshots' own sampling noise, so that they never touch the training's random stream
  const snapshotRng = new Rng(0x5eed);
  let lastBatchPost = 0, lastSnapshot = performance.now(), lastVal = NaN;
  const snapshotEvery = m.snapshotEveryMs ?? 1000;
  const snapshot = (epoch: number, batch: number): void => {
    if (!live) return;
    post({ type: 'readout-snapshot', epoch, batch, ...liveReadout(live.encoder, live.key, snapshotRng) });
  };
  const onEvent = (e: EndToEndEvent): void => {
    const now = performance.now();
    if (e.kind === 'batch') {
      const event: BatchProgress = {
        kind: 'batch', epoch: e.epoch, batch: e.batch, batches: e.batches, loss: e.loss, valCorrelation: lastVal,
        lr: e.lr, elapsedS: e.elapsedS, remainingS: e.remainingS,
      };
      if (now - lastBatchPost >= 100 || e.batch === e.batches) { lastBatchPost = now; post({ type: 'train-event', event }); }
      if (snapshotEvery > 0 && now - lastSnapshot >= snapshotEvery) { lastSnapshot = now; snapshot(e.epoch, e.batch); }
      return;
    }
    if (e.kind === 'restore') { post({ type: 'train-event', event: e }); return; }
    const { valCorrelationPerScan: _perScan, ...event } = e;
    lastVal = e.valCorrelation;
    post({ type: 'train-event', event });
    lastSnapshot = now;
    snapshot(e.epoch, 0);
  };
  const outcome = await fineTuneCoreAndReadout({
    stateDict: sd, config, file: m.checkpoint.name, scan: m.scan, dataKey, readout: m.readout, train: m.train, control, onEvent,
    onEncoder: (encoder, key) => { live = { encoder, key }; },
  });
  try {
    post({ type: 'status', phase: 'exporting', message: outcome.result.message });
    const r = outcome.readout;
    const evaluation = outcome.test?.evaluation ?? null;
    const rows = perNeuronResults(r, m.scan.unitIds, evaluation);
    const readoutPth = await exportReadoutPth(r, dataKey);
    // always exported here: the readout alone is only usable with the fine-tuned core, which lives only in this file
    const fullModelPth = await exportFullModelPth(outcome.encoder, r, dataKey);
    const history: EpochProgress[] = outcome.result.history.map(({ valCorrelationPerScan: _perScan, ...h }) => h);
    const metadataJson = JSON.stringify(exportMetadata({
      core_sha256: await sha256Hex(m.checkpoint.bytes), core_file: m.checkpoint.name, data_key: dataKey, scan: m.scan.name, config,
      readout: { gauss_type: r.gaussType, neurons: r.neurons, channels: r.channels, position_network: r.positionNet !== null },
      training: {
        train_core: true, options: { ...m.train, lr: outcome.lr }, core_regularizer: coreRegularizerFromConfig(config),
        epochs: outcome.result.epochs, stop_reason: outcome.result.stopReason, history,
      },
      seed: outcome.seed, backend: backend.name, metrics: evaluation?.summary ?? null,
    }), null, 1);
    const done: FromWorker = {
      type: 'done', stopReason: outcome.result.stopReason, message: outcome.result.message, history,
      readout: r, dataKey, metrics: evaluation?.summary ?? null, perNeuron: rows,
      testTrials: outcome.test?.trials ?? null, testPredictions: outcome.test?.predictions ?? null,
      readoutPth, fullModelPth, perNeuronCsv: perNeuronCsv(rows, r), metadataJson, timings: outcome.timings, trainCore: true,
    };
    post(done, [readoutPth.buffer as ArrayBuffer, fullModelPth.buffer as ArrayBuffer]);
    post({ type: 'status', phase: outcome.result.stopReason === 'stopped' ? 'stopped' : 'done', message: outcome.result.message });
  } finally {
    outcome.encoder.dispose();
  }
}
