/** The factorized-readout fixtures (test/fixtures/factorized, made by neuralpredictors itself): loading helpers. */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { HostTensor } from '../../src/io/host_tensor';
import { toFloat32 } from '../../src/io/host_tensor';
import { parseNumericNpy } from '../../src/io/npy';
import { readCheckpoint } from '../../src/io/torch_checkpoint';
import type { FactorizedOptions, FactorizedReadoutInit } from '../../src/model/factorized_readout';

export const FACTORIZED_FIXTURES = fileURLToPath(new URL('../fixtures/factorized/', import.meta.url));

export const FACTORIZED_CASES = [
  'normalize',
  'no_normalize',
  'normalize_constrain_pos',
  'no_normalize_constrain_pos',
  'normalize_positive_spatial',
  'no_normalize_positive_spatial',
  'normalize_positive_weights',
  'no_bias_reg_offset',
  'sota_core_output',
] as const;

export interface FactorizedCaseMeta {
  options: { normalize: boolean; constrain_pos: boolean; positive_weights: boolean; positive_spatial: boolean };
  bias: boolean;
  spatial_and_feature_reg_weight: number;
  elu_offset: number;
  shape: { batch: number; channels: number; height: number; width: number; neurons: number };
  loss: number;
  regularizer: number;
  regularizer_mean: number;
  /** weight * sum_n |m_n|_1 |f_n|_1: the regularizer's per-neuron form (neuralpredictors' l1 without its broadcast). */
  regularizer_per_neuron_form: number;
  data_key: string;
}

export interface FactorizedCase {
  name: string;
  meta: FactorizedCaseMeta;
  init: FactorizedReadoutInit;
  options: FactorizedOptions;
  has(file: string): boolean;
  npy(file: string): HostTensor<'float32'>;
  /** input.npy (B, C, H, W) as NHWC (B, H, W, C). */
  inputNHWC(): Float32Array;
}

export function fixtureNpy(path: string): HostTensor<'float32'> {
  const t = parseNumericNpy(new Uint8Array(readFileSync(path)), path);
  if (t.dtype !== 'float32') throw new Error(`${path}: expected float32, got ${t.dtype}`);
  return t as HostTensor<'float32'>;
}

/** NCHW -> NHWC. */
export function nchwToNhwcArray(x: Float32Array, B: number, C: number, H: number, W: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < B; b++)
    for (let c = 0; c < C; c++)
      for (let p = 0; p < H * W; p++) out[(b * H * W + p) * C + c] = x[(b * C + c) * H * W + p];
  return out;
}

/** NHWC -> NCHW. */
export function nhwcToNchwArray(x: ArrayLike<number>, B: number, H: number, W: number, C: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < B; b++)
    for (let c = 0; c < C; c++)
      for (let p = 0; p < H * W; p++) out[(b * C + c) * H * W + p] = x[(b * H * W + p) * C + c];
  return out;
}

export async function loadFactorizedCase(name: string): Promise<FactorizedCase> {
  const dir = FACTORIZED_FIXTURES + name + '/';
  const meta = JSON.parse(readFileSync(dir + 'case.json', 'utf8')) as FactorizedCaseMeta;
  const sd = await readCheckpoint(new Uint8Array(readFileSync(dir + 'readout.pth')), name + '/readout.pth');
  const p = `readout.${meta.data_key}.`;
  const get = (k: string): HostTensor => {
    const t = sd.get(p + k);
    if (!t) throw new Error(`${name}/readout.pth: no ${p + k}`);
    return t;
  };
  const { batch: B, channels: C, height: H, width: W, neurons: N } = meta.shape;
  const spatial = get('spatial'),
    features = get('_features');
  if (spatial.shape.join() !== [N, H, W].join())
    throw new Error(`spatial (${spatial.shape}) is not (${N}, ${H}, ${W})`);
  if (features.shape.join() !== [N, C].join()) throw new Error(`_features (${features.shape}) is not (${N}, ${C})`);
  const options: FactorizedOptions = {
    normalize: meta.options.normalize,
    constrainPos: meta.options.constrain_pos,
    positiveWeights: meta.options.positive_weights,
    positiveSpatial: meta.options.positive_spatial,
    regWeight: meta.spatial_and_feature_reg_weight,
    l1Form: 'neuralpredictors', // the fixtures are neuralpredictors' own values
  };
  const init: FactorizedReadoutInit = {
    neurons: N,
    channels: C,
    height: H,
    width: W,
    spatial: Float32Array.from(toFloat32(spatial)),
    features: Float32Array.from(toFloat32(features)),
    bias: meta.bias ? Float32Array.from(toFloat32(get('bias'))) : null,
    options,
  };
  return {
    name,
    meta,
    init,
    options,
    has: (f) => existsSync(dir + f),
    npy: (f) => fixtureNpy(dir + f),
    inputNHWC: () => nchwToNhwcArray(fixtureNpy(dir + 'input.npy').data, B, C, H, W),
  };
}
