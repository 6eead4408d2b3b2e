/**
 * End-to-end training of a core and one readout per scan (the paper's "direct" condition, and the core-training
 * half of the transfer experiment), following the Sensorium / Lurz `standard_trainer`:
 *
 * - Batches cycle over the scans as neuralpredictors' LongCycler: scan 0, 1, ..., S-1, 0, 1, ... for S times the
 *   largest batch count; a scan with fewer batches repeats its epoch's batches from the start (itertools.cycle).
 * - Per batch: BatchNorm in training mode (batch statistics, running averages updated), positions sampled from
 *   the Gaussians, loss = sqrt(datasetTrials / batch) * Poisson + core regularizer (Laplace on the first layer,
 *   group sparsity) + the scan's readout regularizer: gamma_readout * L1 of a Gaussian readout's features, or a
 *   factorized readout's own `regularizer()` (its weight and form; nothing is sampled for it). Gradients accumulate
 *   over S batches (one per scan; `loss_accum_batch_n=None`) before one Adam step over all parameters.
 * - After each epoch the validation correlation (eval mode, Gaussian means; mean over every neuron of every scan)
 *   drives early stopping and the learning-rate decay through the readout trainer's driver (epoch_driver.ts); restores
 *   bring back every parameter and the BatchNorm running statistics; Adam's moments are kept (as neuralpredictors).
 *
 * Adam is the readout trainer's PyTorch-exact host implementation (adam.ts): gradients are read back to host
 * arrays, which for a small core and a few thousand neurons costs little next to the convolutions.
 * Deterministic for a seed on the cpu and wasm backends.
 */
import * as tf from '@tensorflow/tfjs';
import { FusedFactorizedReadout } from '../../kernels/factorized_readout';
import { registerWasmGradKernels } from '../../kernels/wasm/grad_kernels';
import { type Evaluation, evaluate } from '../../metrics/evaluate';
import { type Encoder, nchwToNhwc } from '../../model/encoder';
import type { FullFactorized2d } from '../../model/factorized_readout';
import { accumulateSharedGradients, expandSharedFeatures } from '../../model/feature_sharing';
import { checkLossOutput, GAUSSIAN_VARIANCE_FLOOR, type LossName } from '../../model/output_loss';
import { Rng } from '../../util/rng';
import { Adam } from '../optim/adam';
import { TrainingControl } from '../optim/control';
import {
  type DrivenRun,
  driveEpochs,
  type EpochContext,
  type EpochEvent,
  type EpochOutcome,
  type RestoreEvent,
  type StopReason,
} from '../optim/epoch_driver';
import { DEFAULT_GAMMA_READOUT, meanCorrelation, poissonEps, referenceLossScale } from '../optim/losses';
import { REFERENCE_SCHEDULE, type ScheduleOptions } from '../optim/schedule';
import type { Param } from '../readout/readout_params';
import { type CoreRegularizerOptions, coreRegularizer, SENSORIUM_CORE_REGULARIZER } from './regularizers';
import type { EndToEndScan, TierArrays } from './scan_data';

export interface EndToEndOptions {
  seed: number;
  /** Initial learning rate (Sensorium: 0.005). */
  lr: number;
  batchSize: number;
  /** The L1 weight on Gaussian readouts' features (a factorized readout's regularizer has its own weight). */
  gammaReadout: number;
  /** The core regularizer (skipped entirely when the core is not trained, as `detach_core`). */
  coreRegularizer: CoreRegularizerOptions;
  scaleLoss: boolean;
  schedule: ScheduleOptions;
  logEps: number;
  /** The loss (model/output_loss.ts; default 'poisson'); the output nonlinearity is the encoder's `output`. */
  loss: LossName;
  /** Batches whose gradients are summed per optimizer step; null = the number of scans (Sensorium's default). */
  accumulate: number | null;
  /** Images per forward pass when evaluating. */
  evalBatchSize: number;
  /** Train the core (false: only the readouts, through the frozen core in eval mode, as detach_core=True). */
  trainCore: boolean;
}

export type EndToEndOptionsInput = Partial<Omit<EndToEndOptions, 'schedule' | 'coreRegularizer'>> & {
  schedule?: Partial<ScheduleOptions>;
  coreRegularizer?: Partial<CoreRegularizerOptions>;
};

export const DEFAULT_END_TO_END_OPTIONS: EndToEndOptions = {
  seed: 42,
  lr: 0.005,
  batchSize: 64,
  gammaReadout: DEFAULT_GAMMA_READOUT,
  coreRegularizer: SENSORIUM_CORE_REGULARIZER,
  scaleLoss: true,
  schedule: REFERENCE_SCHEDULE,
  logEps: poissonEps,
  loss: 'poisson',
  accumulate: null,
  evalBatchSize: 128,
  trainCore: true,
};

export interface EndToEndBatchEvent {
  kind: 'batch';
  epoch: number;
  /** 1-based index in the epoch's LongCycler sequence. */
  batch: number;
  batches: number;
  scan: string;
  loss: number;
  lr: number;
  elapsedS: number;
  /** Rest of this epoch plus the fewest epochs the schedule can still run. */
  remainingS: number;
}

/** An epoch's event (epoch_driver.ts) with the objective per scan; `imagesPerS` counts forward + backward + update. */
export interface EndToEndEpochEvent extends EpochEvent {
  /** Per scan (readout key -> mean validation correlation); `valCorrelation` is the mean over all neurons of all scans. */
  valCorrelationPerScan: Record<string, number>;
}

export type EndToEndRestoreEvent = RestoreEvent;

export type EndToEndEvent = EndToEndBatchEvent | EndToEndEpochEvent | EndToEndRestoreEvent;

export type EndToEndStopReason = StopReason;

/** The epoch driver's run (history with the per-scan objective, stop reason, ...) with the model and its options. */
export interface EndToEndResult extends DrivenRun<Pick<EndToEndEpochEvent, 'valCorrelationPerScan'>> {
  /** The trained model (best state by validation correlation when restoring), in place. */
  encoder: Encoder;
  /** Optimizer steps taken. */
  steps: number;
  /** The options the run used, defaults filled in. */
  options: EndToEndOptions;
}

/** Every value a restore must bring back: trainable parameters and the BatchNorm statistics. */
interface Snapshot {
  values: Map<tf.Variable, Float32Array>;
  batchesTracked: number[];
}

function bnStats(encoder: Encoder): tf.Variable[] {
  return encoder.core.layers.flatMap((l) => (l.norm ? [l.norm.runningMean, l.norm.runningVar] : []));
}

function snapshot(encoder: Encoder, params: readonly { v: tf.Variable; p: Param }[]): Snapshot {
  const values = new Map<tf.Variable, Float32Array>();
  for (const { v, p } of params) values.set(v, p.value.slice());
  for (const v of bnStats(encoder)) values.set(v, Float32Array.from(v.dataSync() as Float32Array));
  return { values, batchesTracked: encoder.core.layers.map((l) => l.norm?.numBatchesTracked ?? 0) };
}

function restore(encoder: Encoder, params: readonly { v: tf.Variable; p: Param }[], s: Snapshot): void {
  for (const { v, p } of params) p.value.set(s.values.get(v)!);
  for (const [v, data] of s.values) assignHost(v, data);
  encoder.core.layers.forEach((l, i) => {
    if (l.norm) l.norm.numBatchesTracked = s.batchesTracked[i];
  });
}

function assignHost(v: tf.Variable, data: Float32Array): void {
  const t = tf.tensor(data, v.shape, 'float32');
  v.assign(t);
  t.dispose();
}

/** Images (B, C, H, W) of the given rows of a tier, copied into `out`. */
function gatherRows(src: Float32Array, per: number, rows: ArrayLike<number>, out: Float32Array): Float32Array {
  for (let i = 0; i < rows.length; i++) out.set(src.subarray(rows[i] * per, (rows[i] + 1) * per), i * per);
  return out.subarray(0, rows.length * per);
}

/** Eval-mode predictions (trials x neurons) of one readout for a tier. */
export async function predictTierE2E(
  encoder: Encoder,
  key: string,
  t: TierArrays,
  imageShape: [number, number, number],
  batchSize = 128,
): Promise<Float32Array> {
  const N = encoder.anyReadout(key).neurons;
  const [C, H, W] = imageShape;
  const per = C * H * W;
  const n = t.images.length / per;
  const out = new Float32Array(n * N);
  for (let s = 0; s < n; s += batchSize) {
    const b = Math.min(batchSize, n - s);
    const y = tf.tidy(() =>
      encoder.forward(tf.tensor4d(t.images.subarray(s * per, (s + b) * per), [b, C, H, W]), { readout: key }),
    );
    try {
      out.set((await y.data()) as Float32Array, s * N);
    } finally {
      y.dispose();
    }
  }
  return out;
}

/** The field's metrics of one readout on a tier (test: with the oracle from repeated images). */
export async function evaluateTierE2E(
  encoder: Encoder,
  scan: EndToEndScan,
  t: TierArrays,
  batchSize = 128,
): Promise<Evaluation> {
  const predictions = await predictTierE2E(encoder, scan.key, t, scan.imageShape, batchSize);
  return evaluate({ predictions, responses: t.responses, neurons: scan.neurons, imageIds: t.imageIds });
}

/** What one factorized readout's batch needs (factorizedBatchGradients). */
export interface FactorizedBatch {
  encoder: Encoder;
  readout: FullFactorized2d;
  /** The readout's fused kernel (one per readout and run). */
  kernel: FusedFactorizedReadout;
  /** Host values and gradient buffers by variable: the readout's (values read, gradients added) and the core's. */
  params: ReadonlyMap<tf.Variable, Param>;
  /** The core's trainable variables; empty when the core is not trained. */
  coreVars: readonly tf.Variable[];
  /** (batch, C, H, W) images and (batch, N) targets. */
  images: Float32Array;
  batch: number;
  targets: Float32Array;
  lossScale: number;
  logEps: number;
  /** The core's regularizer, or null when the core is not trained (BatchNorm in eval mode then, no core gradients). */
  coreRegularizer: CoreRegularizerOptions | null;
}

/**
 * A factorized readout's batch: the core forward in tfjs (training mode), its output read to the host, the fused
 * kernel (kernels/factorized_readout.ts) for the readout's loss, its regularizer (what FullFactorized2d.regularizer()
 * computes: its weight and form) and every readout gradient, added into the host buffers, plus dL/d core output,
 * which tfjs takes back through the core (the gradient of sum(output * dL/doutput)) into the core's buffers. The
 * same loss and gradients as tfjs autograd of the model's own forward and regularizer
 * (test/train/end_to_end/factorized.test.ts), without composing the N x hw x C products of tfjs ops (~20x slower on
 * tfjs-wasm). Like neuralpredictors' forward, with constrain_pos the kernel clamps the host parameters in place (the
 * optimizer steps from the clamped values). Returns the loss: lossScale * Poisson + readout regularizer + core's.
 */
export function factorizedBatchGradients(f: FactorizedBatch): number {
  const { encoder, readout, kernel, params, coreVars, batch: n, targets: t } = f;
  const [C, H, W] = encoder.architecture.core.inputShape;
  const N = readout.neurons;
  const geometry = { height: readout.height, width: readout.width, channels: readout.channels };
  const mapSize = geometry.height * geometry.width * geometry.channels;
  const param = (v: tf.Variable | null): Param | null => (v ? params.get(v)! : null);
  const spatial = param(readout.spatial)!,
    bias = param(readout.bias);
  // Shared features (model/feature_sharing.ts): the kernel takes each neuron's scale * shared vector and its
  // gradient goes back to the shared vectors and the scales (sharedFeaturesStep).
  const features: { value: Float32Array; grad: Float32Array; done?: () => void } = readout.sharing
    ? sharedFeaturesStep(param(readout.features)!, param(readout.scales)!, readout.sharing.index, readout.channels)
    : param(readout.features)!;
  const ro = readout.options;
  const trainCore = f.coreRegularizer !== null;
  const gradMaps = new Float32Array(n * mapSize);
  let readoutLoss = 0,
    coreReg = 0;
  const runKernel = (coreOut: tf.Tensor4D): void => {
    const fd = coreOut.dataSync() as Float32Array;
    const step = kernel.trainStep({
      ...geometry,
      neurons: N,
      maps: Array.from({ length: n }, (_, b) => fd.subarray(b * mapSize, (b + 1) * mapSize)),
      spatial: spatial.value,
      features: features.value,
      bias: bias?.value ?? null,
      mask: { normalize: ro.normalize, constrainPos: ro.constrainPos, positiveSpatial: ro.positiveSpatial },
      eluOffset: encoder.eluOffset,
      targets: t.subarray(0, n * N),
      lossScale: f.lossScale,
      logEps: f.logEps,
      gradSpatial: spatial.grad,
      gradFeatures: features.grad,
      gradBias: bias?.grad ?? null,
      regWeight: ro.regWeight,
      regForm: ro.l1Form,
      gradMaps: trainCore
        ? Array.from({ length: n }, (_, b) => gradMaps.subarray(b * mapSize, (b + 1) * mapSize))
        : undefined,
    });
    readoutLoss = f.lossScale * step.poisson + step.regularizer;
    features.done?.();
  };
  const images = (): tf.Tensor4D => nchwToNhwc(tf.tensor4d(f.images.subarray(0, n * C * H * W), [n, C, H, W]));
  if (!trainCore || coreVars.length === 0) {
    const coreOut = tf.tidy(() => encoder.core.forward(images(), { training: false }));
    try {
      runKernel(coreOut);
    } finally {
      coreOut.dispose();
    }
    return readoutLoss;
  }
  const { value, grads } = tf.tidy(() =>
    tf.variableGrads(() => {
      const coreOut = encoder.core.forward(images(), { training: true });
      runKernel(coreOut);
      const reg = coreRegularizer(encoder.core, f.coreRegularizer!);
      coreReg = reg.dataSync()[0];
      return coreOut.mul(tf.tensor4d(gradMaps, coreOut.shape)).sum().add(reg) as tf.Scalar;
    }, [...coreVars]),
  );
  try {
    for (const v of coreVars) {
      const g = grads[v.name];
      if (!g) continue;
      const gd = g.dataSync() as Float32Array;
      const acc = params.get(v)!.grad;
      for (let i = 0; i < gd.length; i++) acc[i] += gd[i];
    }
    return readoutLoss + coreReg;
  } finally {
    value.dispose();
    tf.dispose(grads);
  }
}

/**
 * A shared-feature readout's features as the fused kernel takes them: each neuron's scales[n] * shared[index[n]]
 * (N, C) and a gradient buffer; `done()` takes that gradient back to the shared vectors and the scales.
 */
function sharedFeaturesStep(
  shared: Param,
  scales: Param,
  index: Int32Array,
  channels: number,
): { value: Float32Array; grad: Float32Array; done: () => void } {
  const value = expandSharedFeatures(shared.value, scales.value, index, channels);
  const grad = new Float32Array(value.length);
  const done = (): void =>
    accumulateSharedGradients(grad, shared.value, scales.value, index, channels, shared.grad, scales.grad);
  return { value, grad, done };
}

/**
 * Trains `encoder` (its core, and its readouts named by the scans' keys) in place on `scans`. `onEvent` gets
 * batch, epoch and restore events; `control` pauses, resumes or stops between batches.
 */
export async function trainEndToEnd(
  encoder: Encoder,
  scans: readonly EndToEndScan[],
  options: EndToEndOptionsInput = {},
  onEvent?: (e: EndToEndEvent) => void,
  control = new TrainingControl(),
): Promise<EndToEndResult> {
  const o: EndToEndOptions = {
    ...DEFAULT_END_TO_END_OPTIONS,
    ...options,
    schedule: { ...DEFAULT_END_TO_END_OPTIONS.schedule, ...options.schedule },
    coreRegularizer: { ...DEFAULT_END_TO_END_OPTIONS.coreRegularizer, ...options.coreRegularizer },
  };
  if (scans.length === 0) throw new Error('end-to-end training needs at least one scan');
  registerWasmGradKernels();
  const [C, H, W] = encoder.architecture.core.inputShape;
  const per = C * H * W;
  checkLossOutput(o.loss, encoder.output);
  for (const s of scans) {
    const r = encoder.anyReadout(s.key);
    if (r.kind === 'factorized' && (o.loss !== 'poisson' || encoder.output !== 'elu'))
      throw new Error(
        `scan ${s.name}: the factorized readout trains with the Poisson loss on elu + 1 only (asked: ${o.loss}, ${encoder.output})`,
      );
    if (r.kind === 'factorized' && r.sharing && r.options.constrainPos)
      throw new Error(
        `scan ${s.name}: constrain_pos with shared features is not supported (neuralpredictors' clamp then acts on a temporary copy, the fused kernel would clamp the features)`,
      );
    if (r.neurons !== s.neurons)
      throw new Error(`scan ${s.name}: ${s.neurons} neurons, readout '${s.key}' has ${r.neurons}`);
    if (s.imageShape.join('x') !== [C, H, W].join('x'))
      throw new Error(`scan ${s.name}: images ${s.imageShape.join('x')}, the core takes ${C}x${H}x${W}`);
    for (const [name, t] of [
      ['train', s.train],
      ['validation', s.validation],
    ] as const) {
      if (t.responses.length !== t.trials.length * s.neurons || t.images.length !== t.trials.length * per)
        throw new Error(`scan ${s.name}: ${name} arrays do not match ${t.trials.length} trials`);
    }
  }
  const t0 = performance.now();
  const root = new Rng(o.seed);
  const shuffleRngs = scans.map(() => root.fork());
  const noiseRng = root.fork();
  const B = Math.max(1, Math.floor(o.batchSize));
  const S = scans.length;
  const accumulate = Math.max(1, o.accumulate ?? S);

  // Host parameters (Adam's state lives on the host, in the variables' own layouts).
  const coreVars = o.trainCore ? encoder.core.trainableVariables() : [];
  const readoutVars = scans.map((s) => encoder.anyReadout(s.key).variables());
  const entries: { v: tf.Variable; p: Param }[] = [];
  const byVar = new Map<tf.Variable, Param>();
  for (const v of [...coreVars, ...readoutVars.flat()]) {
    if (byVar.has(v)) continue;
    const p: Param = {
      name: v.name,
      value: Float32Array.from(v.dataSync() as Float32Array),
      grad: new Float32Array(v.size),
    };
    byVar.set(v, p);
    entries.push({ v, p });
  }
  const adam = new Adam(
    entries.map((e) => e.p),
    { lr: o.lr },
  );

  const batchesPer = scans.map((s) => Math.ceil(s.train.trials.length / B));
  const cycleLength = S * Math.max(...batchesPer);
  const imageBuf = new Float32Array(B * per);
  const targetBuf = new Float32Array(B * Math.max(...scans.map((s) => s.neurons)));
  let steps = 0;

  const validate = async (): Promise<{
    objective: number;
    extra: { valCorrelationPerScan: Record<string, number> };
  }> => {
    let sum = 0,
      neurons = 0;
    const perScan: Record<string, number> = {};
    for (const s of scans) {
      const pred = await predictTierE2E(encoder, s.key, s.validation, s.imageShape, o.evalBatchSize);
      const c = meanCorrelation(pred, s.validation.responses, s.neurons);
      perScan[s.key] = c;
      sum += c * s.neurons;
      neurons += s.neurons;
      await control.checkpoint();
    }
    return { objective: sum / neurons, extra: { valCorrelationPerScan: perScan } };
  };

  const factorizedKernels = new Map<number, FusedFactorizedReadout>();
  const factorizedBatchStep = (si: number, rows: Int32Array, readout: FullFactorized2d): number => {
    const s = scans[si];
    const geometry = { height: readout.height, width: readout.width, channels: readout.channels };
    let kernel = factorizedKernels.get(si);
    if (!kernel) {
      kernel = new FusedFactorizedReadout(geometry, s.neurons);
      factorizedKernels.set(si, kernel);
    }
    return factorizedBatchGradients({
      encoder,
      readout,
      kernel,
      params: byVar,
      coreVars,
      batch: rows.length,
      images: gatherRows(s.train.images, per, rows, imageBuf),
      targets: gatherRows(s.train.responses, s.neurons, rows, targetBuf),
      lossScale: o.scaleLoss ? referenceLossScale(s.datasetTrials, rows.length) : 1,
      logEps: o.logEps,
      coreRegularizer: o.trainCore ? o.coreRegularizer : null,
    });
  };

  /** Loss of one batch of scan `si`; adds its gradients into the host gradient buffers. */
  const batchStep = (si: number, rows: Int32Array): number => {
    const s = scans[si];
    const n = rows.length;
    const N = s.neurons;
    const anyReadout = encoder.anyReadout(s.key);
    if (anyReadout.kind === 'factorized') return factorizedBatchStep(si, rows, anyReadout);
    const readout = anyReadout;
    const x = gatherRows(s.train.images, per, rows, imageBuf);
    const t = gatherRows(s.train.responses, N, rows, targetBuf);
    const noise = new Float32Array(n * N * 2);
    for (let i = 0; i < noise.length; i++) noise[i] = noiseRng.normal();
    const scale = o.scaleLoss ? referenceLossScale(s.datasetTrials, n) : 1;
    const vars = [...coreVars, ...readoutVars[si]];
    const { value, grads } = tf.tidy(() =>
      tf.variableGrads(() => {
        const images = nchwToNhwc(tf.tensor4d(x, [n, C, H, W]));
        const features = encoder.core.forward(images, { training: o.trainCore });
        const r = encoder.outputNonlinearity(readout.forward(features, { sample: true, noise }));
        const target = tf.tensor2d(t, [n, N]);
        const dataLoss = lossTensor(o.loss, r, target, o.logEps);
        let loss = dataLoss.mul(scale).add(readout.featureL1().mul(o.gammaReadout));
        if (o.trainCore) loss = loss.add(coreRegularizer(encoder.core, o.coreRegularizer));
        return loss as tf.Scalar;
      }, vars),
    );
    try {
      for (const v of vars) {
        const g = grads[v.name];
        if (!g) continue;
        const gd = g.dataSync() as Float32Array;
        const acc = byVar.get(v)!.grad;
        for (let i = 0; i < gd.length; i++) acc[i] += gd[i];
      }
      return value.dataSync()[0];
    } finally {
      value.dispose();
      tf.dispose(grads);
    }
  };

  const optimizerStep = (): void => {
    adam.update();
    steps++;
    for (const { v, p } of entries) {
      assignHost(v, p.value);
      p.grad.fill(0);
    }
  };

  const runEpoch = async (ctx: EpochContext): Promise<EpochOutcome> => {
    const { epoch, lr } = ctx;
    adam.lr = lr;
    const te = performance.now();
    const orders = scans.map((s, i) => shuffleRngs[i].permutation(s.train.trials.length));
    let lossSum = 0;
    let pending = 0;
    let imagesSeen = 0;
    for (let k = 0; k < cycleLength; k++) {
      const si = k % S;
      const j = Math.floor(k / S) % batchesPer[si]; // itertools.cycle: a shorter scan repeats this epoch's batches
      const order = orders[si];
      const rows = order.subarray(j * B, Math.min(order.length, (j + 1) * B));
      const loss = batchStep(si, rows);
      imagesSeen += rows.length;
      if (!Number.isFinite(loss)) return { kind: 'stop', reason: 'non-finite-loss' };
      lossSum += loss;
      if (++pending === accumulate) {
        optimizerStep();
        pending = 0;
      }
      onEvent?.({
        kind: 'batch',
        epoch,
        batch: k + 1,
        batches: cycleLength,
        scan: scans[si].name,
        loss,
        lr,
        ...ctx.batchTiming(k + 1, cycleLength),
      });
      if (!(await ctx.checkpoint())) return { kind: 'stop', reason: 'stopped' };
    }
    // neuralpredictors steps only on full accumulations; leftover gradients are zeroed by the next epoch's
    // optimizer.zero_grad()
    if (pending > 0) for (const { p } of entries) p.grad.fill(0);
    return { kind: 'trained', loss: lossSum / cycleLength, imagesPerS: imagesSeen / ((performance.now() - te) / 1000) };
  };

  const run = await driveEpochs({
    schedule: o.schedule,
    lr: o.lr,
    control,
    startedAt: t0,
    onEvent,
    runEpoch,
    validate,
    snapshot: () => snapshot(encoder, entries),
    restore: (best) => restore(encoder, entries, best),
  });
  return { encoder, ...run, steps, options: o };
}

/** The summed data loss of predictions r against targets t in tfjs ops (model/output_loss.ts, per entry). */
export function lossTensor(loss: LossName, r: tf.Tensor2D, t: tf.Tensor2D, eps: number): tf.Scalar {
  if (loss === 'poisson') return r.sub(t.mul(r.add(eps).log())).sum();
  const d = r.sub(t);
  if (loss === 'mse') return d.square().sum();
  const s = r.add(GAUSSIAN_VARIANCE_FLOOR);
  return d.square().div(s).mul(0.5).add(s.log().mul(0.5)).sum();
}
