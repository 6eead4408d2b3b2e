/**
 * A new, untrained model for end-to-end training: a Stacked2dCore initialized as neuralpredictors does
 * (Core.init_conv: xavier_normal_ conv weights, zero conv biases; BatchNorm weight 1, bias 0, running mean 0,
 * running var 1) and one readout per scan (readout_init.ts): a FullGaussian2d, or a FullFactorized2d (masks and
 * features N(0, init_noise), bias the mean response; options from the config's factorized keys). It is built as a
 * neuralpredictors state_dict first and then loaded through the model library, so what trains is exactly what is exported.
 *
 * Key layout follows current neuralpredictors with two choices that match the published Sensorium SOTA
 * checkpoint: the depth-separable convs carry no biases (they would be cancelled by the BatchNorm after them),
 * and the first conv has none (neuralpredictors' `bias and not batch_norm` is always false). Plain hidden convs
 * do have a bias, as in neuralpredictors.
 */
import type { HostTensor, StateDict } from '../../io/host_tensor';
import { inferArchitecture } from '../../model/architecture';
import { factorizedOptionsFromConfig, type ModelConfig } from '../../model/config';
import type { Encoder } from '../../model/encoder';
import { encoderFromStateDict } from '../../model/from_state_dict';
import type { ReadoutKind } from '../../model/readout_types';
import { Rng } from '../../util/rng';
import { readoutStateDict } from '../export';
import {
  type FactorizedInitOptions,
  initFactorizedTrainable,
  initReadout,
  REFERENCE_FACTORIZED,
  REFERENCE_READOUT,
  type ReadoutInitData,
  type ReadoutInitOptions,
} from '../readout/readout_init';
import type { EndToEndScan } from './scan_data';
import { shareReadoutFeatures } from './shared_features';

/** neuralpredictors' `regularizers.laplace()`, stored by Stacked2dCore as `_input_weights_regularizer.laplace.filter`. */
export const LAPLACE_3X3 = Float32Array.from([0, -1, 0, -1, 4, -1, 0, -1, 0]);
export const LAPLACE_FILTER_KEY = 'core._input_weights_regularizer.laplace.filter';

function listAt(v: number | number[], i: number): number {
  return Array.isArray(v) ? v[Math.min(i, v.length - 1)] : v;
}

function f32(shape: number[], data: Float32Array): HostTensor<'float32'> {
  return { dtype: 'float32', shape, data };
}

/** torch.nn.init.xavier_normal_ for a conv weight (out, in/groups, kh, kw): std = sqrt(2 / (fan_in + fan_out)). */
export function xavierNormal(shape: [number, number, number, number], rng: Rng): Float32Array {
  const [o, i, kh, kw] = shape;
  const std = Math.sqrt(2 / (i * kh * kw + o * kh * kw));
  const w = new Float32Array(o * i * kh * kw);
  for (let k = 0; k < w.length; k++) w[k] = std * rng.normal();
  return w;
}

/** The core's state_dict entries (`core.*`, PyTorch layouts), freshly initialized. Draw order: layer by layer. */
export function initCoreStateDict(config: ModelConfig, seed: number): StateDict {
  const rng = new Rng(seed);
  const sd: StateDict = new Map();
  sd.set(LAPLACE_FILTER_KEY, f32([1, 1, 3, 3], LAPLACE_3X3.slice()));
  let inC = config.input_shape[0];
  for (let l = 0; l < config.layers; l++) {
    const p = `core.features.layer${l}.`;
    const C = listAt(config.hidden_channels, l);
    if (l === 0) {
      const s: [number, number, number, number] = [C, inC, config.input_kern, config.input_kern];
      sd.set(`${p}conv.weight`, f32(s, xavierNormal(s, rng)));
    } else {
      const k = listAt(config.hidden_kern, l - 1);
      if (config.depth_separable) {
        const a: [number, number, number, number] = [C, inC, 1, 1];
        const b: [number, number, number, number] = [C, 1, k, k];
        const c: [number, number, number, number] = [C, C, 1, 1];
        sd.set(`${p}ds_conv.in_depth_conv.weight`, f32(a, xavierNormal(a, rng)));
        sd.set(`${p}ds_conv.spatial_conv.weight`, f32(b, xavierNormal(b, rng)));
        sd.set(`${p}ds_conv.out_depth_conv.weight`, f32(c, xavierNormal(c, rng)));
      } else {
        const s: [number, number, number, number] = [C, inC, k, k];
        sd.set(`${p}conv.weight`, f32(s, xavierNormal(s, rng)));
        sd.set(`${p}conv.bias`, f32([C], new Float32Array(C)));
      }
    }
    const bn = Array.isArray(config.batch_norm) ? (config.batch_norm[l] ?? true) : config.batch_norm;
    if (bn) {
      sd.set(`${p}norm.weight`, f32([C], new Float32Array(C).fill(1)));
      sd.set(`${p}norm.bias`, f32([C], new Float32Array(C)));
      sd.set(`${p}norm.running_mean`, f32([C], new Float32Array(C)));
      sd.set(`${p}norm.running_var`, f32([C], new Float32Array(C).fill(1)));
      sd.set(`${p}norm.num_batches_tracked`, { dtype: 'int64', shape: [], data: BigInt64Array.of(0n) });
    }
    inC = C;
  }
  return sd;
}

/** The readout settings a config implies (neuralpredictors names; Sensorium SOTA defaults). */
export function readoutOptionsFromConfig(config: ModelConfig): ReadoutInitOptions {
  const g = config.grid_mean_predictor;
  return {
    gaussType: config.gauss_type,
    initMuRange: config.init_mu_range ?? REFERENCE_READOUT.initMuRange,
    initSigma: config.init_sigma ?? REFERENCE_READOUT.initSigma,
    positionNet: g
      ? {
          inputDimensions: g.input_dimensions,
          hiddenLayers: g.hidden_layers,
          hiddenFeatures: g.hidden_features,
          finalTanh: g.final_tanh,
        }
      : null,
  };
}

/** A new FullFactorized2d's settings a config implies (init_noise, and the options as the model reads them). */
export function factorizedOptionsOf(config: ModelConfig): FactorizedInitOptions {
  return {
    initNoise: config.init_noise ?? REFERENCE_FACTORIZED.initNoise,
    options: factorizedOptionsFromConfig(config),
  };
}

export interface NewReadout extends Omit<ReadoutInitData, 'channels'> {
  /** The readout's data key (neuralpredictors: the scan's name). */
  key: string;
  /** Which readout (default 'gaussian'). */
  type?: ReadoutKind;
  /** The scan's name (for messages) and its neurons' match ids across scans (for shared features). */
  name?: string;
  matchIds?: ArrayLike<number>;
}

/**
 * A fresh core + one readout per entry of `readouts`, as an Encoder whose variables are trainable. Seeds: the core
 * from `seed`, readout k from `seed + 1 + k` (so adding a scan does not change the core's initialization).
 */
export function newEncoder(config: ModelConfig, readouts: readonly NewReadout[], seed: number): Encoder {
  return encoderWithNewReadouts(initCoreStateDict(config, seed), config, readouts, seed);
}

/**
 * A given core (the `core.*` entries of `coreStateDict`, e.g. a pretrained checkpoint's; its readouts are ignored)
 * with new readouts, trainable: the starting point of fine-tuning the core too. Readout k is seeded `seed + 1 + k`.
 * `shareFeatures`: the readouts share their features across the scans by the readouts' match ids
 * (shared_features.ts; the first readout holds them).
 */
export function encoderWithNewReadouts(
  coreStateDict: StateDict,
  config: ModelConfig,
  readouts: readonly NewReadout[],
  seed: number,
  file = 'new model',
  shareFeatures = false,
): Encoder {
  const sd: StateDict = new Map([...coreStateDict].filter(([k]) => k.startsWith('core.')));
  const keys = new Set<string>();
  for (const r of readouts) {
    if (keys.has(r.key)) throw new Error(`two scans have the readout key '${r.key}'`);
    keys.add(r.key);
  }
  const [channels, height, width] = inferArchitecture(sd, config, file).core.outputShape;
  const opts = readoutOptionsFromConfig(config);
  readouts.forEach((r, k) => {
    const init =
      r.type === 'factorized'
        ? initFactorizedTrainable(
            { neurons: r.neurons, meanActivity: r.meanActivity, channels, height, width },
            factorizedOptionsOf(config),
            seed + 1 + k,
          )
        : initReadout({ ...r, channels }, opts, seed + 1 + k);
    for (const [key, v] of readoutStateDict(init, r.key)) sd.set(key, v);
  });
  if (shareFeatures)
    shareReadoutFeatures(
      sd,
      readouts.map((r) => ({ key: r.key, name: r.name ?? r.key, matchIds: r.matchIds })),
    );
  return encoderFromStateDict(sd, config, file);
}

/** What a new (Gaussian) readout for a prepared scan needs (its key, neurons, mean response, cortical coordinates). */
export function newReadoutFor(
  scan: Pick<EndToEndScan, 'key' | 'neurons' | 'meanActivity' | 'cellMotorCoordinates'> &
    Partial<Pick<EndToEndScan, 'name' | 'matchIds'>>,
): NewReadout {
  return {
    key: scan.key,
    name: scan.name,
    matchIds: scan.matchIds,
    neurons: scan.neurons,
    meanActivity: scan.meanActivity,
    cellMotorCoordinates: scan.cellMotorCoordinates,
  };
}
