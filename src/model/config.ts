/**
 * neuralpredictors-style model configuration (the keyword arguments of Stacked2dCore / FullGaussian2d /
 * FullFactorized2d / FiringRateEncoder, with their names). Only what the weights cannot tell matters at load time
 * (linear, pad_input, final_nonlinearity, final_tanh, elu_offset, stack, input shape, strides, the factorized
 * readout's options); layer counts, channels, kernel sizes, gauss_type, the position network's size and each
 * readout's kind are read from the checkpoint and the config is only checked against them.
 */
import { InputError } from '../io/host_tensor';
import type { NormalizedGroup } from '../io/scan/types';
import { LOSS_NAMES, type LossName, OUTPUT_NONLINEARITIES, type OutputNonlinearity } from './output_loss';
import {
  DEFAULT_FACTORIZED_OPTIONS,
  FACTORIZED_L1_FORMS,
  type FactorizedL1Form,
  type FactorizedOptions,
  GAUSS_TYPES,
  type GaussType,
} from './readout_types';

/** The "cortex" grid-mean predictor: an MLP from cortical (source_grid) coordinates to readout positions. */
export interface GridMeanPredictorConfig {
  type: 'cortex';
  input_dimensions: number;
  hidden_layers: number;
  hidden_features: number;
  final_tanh: boolean;
}

export interface ModelConfig {
  layers: number;
  input_kern: number;
  hidden_kern: number | number[];
  hidden_channels: number | number[];
  /** Zero padding input_kern//2 on the first conv (hidden convs always keep their size). */
  pad_input: boolean;
  depth_separable: boolean;
  /** Which layers the readout sees, concatenated on channels: int = layers[stack:], list = those layers, null = all. */
  stack: number | number[] | null;
  /** No nonlinearities in the core at all. */
  linear: boolean;
  /** ELU after the last core layer too. */
  final_nonlinearity: boolean;
  batch_norm: boolean | boolean[];
  /** Output = elu(readout + elu_offset) + 1. */
  elu_offset: number;
  gauss_type: GaussType;
  grid_mean_predictor: GridMeanPredictorConfig | null;
  /** One image: [channels, height, width]. */
  input_shape: [number, number, number];
  /** BatchNorm momentum in PyTorch's convention (weight of the new batch statistic); null = cumulative average. */
  momentum?: number | null;
  stride?: number;
  input_stride?: number;
  hidden_dilation?: number;
  hidden_padding?: number | null;
  /** Readout initialization and regularization (used when a new readout is trained). */
  init_mu_range?: number;
  init_sigma?: number;
  gamma_readout?: number;
  gamma_input?: number;
  gamma_hidden?: number;
  /**
   * FullFactorized2d's options (every factorized readout of the model; defaults DEFAULT_FACTORIZED_OPTIONS):
   * L2-normalized masks, positivity constraints, the regularizer's weight and form, a new readout's init noise.
   * neuralpredictors' deprecated alias `gamma_readout` is not followed for it: here `gamma_readout` is the
   * Gaussian readout's feature L1.
   */
  normalize?: boolean;
  constrain_pos?: boolean;
  positive_weights?: boolean;
  positive_spatial?: boolean;
  spatial_and_feature_reg_weight?: number;
  factorized_l1?: FactorizedL1Form;
  init_noise?: number;
  /**
   * Training (model/output_loss.ts): the loss (`loss` or the Sensorium trainer's `loss_function`: PoissonLoss, MSE)
   * and the output nonlinearity (FiringRateEncoder's `nonlinearity_type`: elu, Log1Exp = softplus, identity).
   * Absent: Poisson on elu + 1, except that responses with negative values pick MSE (train/optim/losses.ts).
   */
  loss?: LossName;
  nonlinearity_type?: OutputNonlinearity;
  /**
   * The dataset config's normalization (neuralpredictors' static_loaders): `exclude` lists groups left unnormalized
   * (the Lurz 2020 example: ["images"], raw images for a core trained on raw images); `normalize: false` (in
   * `dataset_config`) normalizes nothing. Top-level `exclude` or `dataset_config: {normalize, exclude}`.
   */
  exclude?: NormalizedGroup[];
  normalize_data?: boolean;
  /**
   * TransferLearningCore (model/transfer_learning_core.ts; read when the checkpoint has
   * `core.features.TransferLearning.*` keys): the torchvision network (default 'vgg16'), whether OutBatchNorm
   * follows the cut (the weights tell; a disagreement is noted). `layers` is then the number of `features`
   * children kept and `final_nonlinearity` the OutNonlin ReLU.
   */
  tl_model_name?: string;
  final_batchnorm?: boolean;
}

/** Equal to test/fixtures/sensorium-sota/config.json (the Sensorium 2022 SOTA model). */
export const DEFAULT_MODEL_CONFIG: Readonly<ModelConfig> = Object.freeze({
  layers: 4,
  input_kern: 9,
  hidden_kern: 7,
  hidden_channels: 64,
  pad_input: false,
  depth_separable: true,
  stack: -1,
  linear: false,
  final_nonlinearity: true,
  batch_norm: true,
  elu_offset: 0,
  gauss_type: 'full',
  grid_mean_predictor: Object.freeze({
    type: 'cortex',
    input_dimensions: 2,
    hidden_layers: 1,
    hidden_features: 30,
    final_tanh: true,
  }),
  input_shape: Object.freeze([1, 36, 64]) as unknown as [number, number, number],
}) as Readonly<ModelConfig>;

export interface ParsedModelConfig {
  config: ModelConfig;
  /** Keys the file set (the rest come from DEFAULT_MODEL_CONFIG). */
  given: string[];
  /** Keys the file had that the model does not use (training options and the like); not an error. */
  ignored: string[];
}

const KNOWN_KEYS = new Set([
  'layers',
  'input_kern',
  'hidden_kern',
  'hidden_channels',
  'pad_input',
  'depth_separable',
  'stack',
  'linear',
  'final_nonlinearity',
  'batch_norm',
  'elu_offset',
  'gauss_type',
  'grid_mean_predictor',
  'input_shape',
  'momentum',
  'stride',
  'input_stride',
  'hidden_dilation',
  'hidden_padding',
  'init_mu_range',
  'init_sigma',
  'gamma_readout',
  'gamma_input',
  'gamma_hidden',
  'normalize',
  'constrain_pos',
  'positive_weights',
  'positive_spatial',
  'spatial_and_feature_reg_weight',
  'factorized_l1',
  'init_noise',
  'tl_model_name',
  'final_batchnorm',
  'loss',
  'loss_function',
  'nonlinearity_type',
  'exclude',
  'dataset_config',
  'dataset',
]);

const GROUPS: readonly NormalizedGroup[] = ['images', 'responses', 'behavior', 'pupil_center'];

/** neuralpredictors' names of the losses and nonlinearities, and this project's. */
const LOSS_ALIASES: Record<string, LossName> = {
  poisson: 'poisson',
  PoissonLoss: 'poisson',
  mse: 'mse',
  MSE: 'mse',
  MSELoss: 'mse',
  gaussian: 'gaussian',
};
const NONLINEARITY_ALIASES: Record<string, OutputNonlinearity> = {
  elu: 'elu',
  softplus: 'softplus',
  Log1Exp: 'softplus',
  identity: 'identity',
};

/** Options whose non-default values change the computation in ways this implementation does not have. */
const UNSUPPORTED: Record<string, (v: unknown) => boolean> = {
  skip: (v) => typeof v === 'number' && v > 1,
  attention_conv: (v) => v === true,
  shifter: (v) => v !== null && v !== undefined && v !== false,
  modulator: (v) => v !== null && v !== undefined && v !== false,
  share_grid: (v) => v === true,
  // share_features / shared_match_ids are supported (read elsewhere): the checkpoint's scales and
  // feature_sharing_index say which readouts share (model/feature_sharing.ts); v1x train --share-features takes the
  // ids from the scans. A readout's own `shared_features` kwarg is not a model config.
  shared_features: (v) => v !== null && v !== undefined && v !== false,
};

function cloneDefault(): ModelConfig {
  return JSON.parse(JSON.stringify(DEFAULT_MODEL_CONFIG)) as ModelConfig;
}

/** Validates a parsed JSON config; missing keys take DEFAULT_MODEL_CONFIG's values. */
export function parseModelConfigWithInfo(json: unknown, file: string): ParsedModelConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new InputError(file, 'a model config must be a JSON object');
  }
  const src = json as Record<string, unknown>;
  const cfg = cloneDefault();
  const given: string[] = [];
  const ignored: string[] = [];
  const fail = (key: string, want: string): never => {
    throw new InputError(file, `config key '${key}' must be ${want}, got ${JSON.stringify(src[key])}`);
  };
  const posInt = (key: string, v: unknown, min = 1): number => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > 1e6) fail(key, `an integer >= ${min}`);
    return v as number;
  };
  const intOrList = (key: string, v: unknown): number | number[] => {
    if (Array.isArray(v)) {
      if (v.length === 0) fail(key, 'a positive integer or a non-empty list of them');
      return v.map((x) => posInt(key, x));
    }
    return posInt(key, v);
  };
  const bool = (key: string, v: unknown): boolean => {
    if (typeof v !== 'boolean') fail(key, 'true or false');
    return v as boolean;
  };
  const num = (key: string, v: unknown): number => {
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(key, 'a finite number');
    return v as number;
  };

  for (const [key, v] of Object.entries(src)) {
    if (key in UNSUPPORTED) {
      if (UNSUPPORTED[key](v))
        throw new InputError(file, `config key '${key}' = ${JSON.stringify(v)} is not supported`);
      ignored.push(key);
      continue;
    }
    if (!KNOWN_KEYS.has(key)) {
      ignored.push(key);
      continue;
    }
    given.push(key);
    switch (key) {
      case 'layers':
        cfg.layers = posInt(key, v);
        break;
      case 'input_kern':
        cfg.input_kern = posInt(key, v);
        break;
      case 'hidden_kern':
        cfg.hidden_kern = intOrList(key, v);
        break;
      case 'hidden_channels':
        cfg.hidden_channels = intOrList(key, v);
        break;
      case 'pad_input':
        cfg.pad_input = bool(key, v);
        break;
      case 'depth_separable':
        cfg.depth_separable = bool(key, v);
        break;
      case 'linear':
        cfg.linear = bool(key, v);
        break;
      case 'final_nonlinearity':
        cfg.final_nonlinearity = bool(key, v);
        break;
      case 'batch_norm':
        cfg.batch_norm = Array.isArray(v) ? v.map((x) => bool(key, x)) : bool(key, v);
        break;
      case 'elu_offset':
        cfg.elu_offset = num(key, v);
        break;
      case 'stack':
        if (v === null) cfg.stack = null;
        else if (Array.isArray(v)) {
          if (v.length === 0) fail(key, 'null, an integer or a non-empty list of integers');
          cfg.stack = v.map((x) =>
            typeof x === 'number' && Number.isInteger(x) ? x : fail(key, 'a list of integers'),
          );
        } else if (typeof v === 'number' && Number.isInteger(v)) cfg.stack = v;
        else fail(key, 'null, an integer or a list of integers');
        break;
      case 'gauss_type':
        if (!GAUSS_TYPES.includes(v as GaussType)) fail(key, "'full', 'uncorrelated' or 'isotropic'");
        cfg.gauss_type = v as GaussType;
        break;
      case 'grid_mean_predictor':
        cfg.grid_mean_predictor = parseGridMeanPredictor(v, file);
        break;
      case 'input_shape': {
        if (!Array.isArray(v) || v.length !== 3) fail(key, 'a list [channels, height, width]');
        const s = (v as unknown[]).map((x) => posInt(key, x));
        cfg.input_shape = [s[0], s[1], s[2]];
        break;
      }
      case 'momentum':
        if (v === null) cfg.momentum = null;
        else {
          const m = num(key, v);
          if (m < 0 || m > 1) fail(key, 'a number in [0, 1] or null');
          cfg.momentum = m;
        }
        break;
      case 'stride':
        cfg.stride = posInt(key, v);
        break;
      case 'input_stride':
        cfg.input_stride = posInt(key, v);
        break;
      case 'hidden_dilation':
        cfg.hidden_dilation = posInt(key, v);
        break;
      case 'hidden_padding':
        cfg.hidden_padding = v === null ? null : posInt(key, v, 0);
        break;
      case 'init_mu_range': {
        const r = num(key, v);
        if (r <= 0 || r > 1) fail(key, 'a number in (0, 1]');
        cfg.init_mu_range = r;
        break;
      }
      case 'init_sigma': {
        const s = num(key, v);
        if (s <= 0) fail(key, 'a positive number');
        cfg.init_sigma = s;
        break;
      }
      case 'gamma_readout':
      case 'gamma_input':
      case 'gamma_hidden':
      case 'spatial_and_feature_reg_weight': {
        const g = num(key, v);
        if (g < 0) fail(key, 'a non-negative number');
        cfg[key] = g;
        break;
      }
      case 'normalize':
      case 'constrain_pos':
      case 'positive_weights':
      case 'positive_spatial':
        cfg[key] = bool(key, v);
        break;
      case 'factorized_l1':
        if (!FACTORIZED_L1_FORMS.includes(v as FactorizedL1Form)) fail(key, "'per_neuron' or 'neuralpredictors'");
        cfg.factorized_l1 = v as FactorizedL1Form;
        break;
      case 'tl_model_name':
        if (typeof v !== 'string' || v.length === 0 || v.length > 64) fail(key, 'a torchvision model name');
        cfg.tl_model_name = v as string;
        break;
      case 'final_batchnorm':
        cfg.final_batchnorm = bool(key, v);
        break;
      case 'init_noise': {
        const s = num(key, v);
        if (s <= 0) fail(key, 'a positive number');
        cfg.init_noise = s;
        break;
      }
      case 'loss':
      case 'loss_function': {
        const l = typeof v === 'string' ? LOSS_ALIASES[v] : undefined;
        if (!l) fail(key, `one of ${[...LOSS_NAMES, 'PoissonLoss', 'MSE'].map((x) => `'${x}'`).join(', ')}`);
        cfg.loss = l;
        break;
      }
      case 'nonlinearity_type': {
        const o = typeof v === 'string' ? NONLINEARITY_ALIASES[v] : undefined;
        if (!o) fail(key, `one of ${[...OUTPUT_NONLINEARITIES, 'Log1Exp'].map((x) => `'${x}'`).join(', ')}`);
        cfg.nonlinearity_type = o;
        break;
      }
      case 'exclude':
        cfg.exclude = parseExclude(v, (want) => fail(key, want));
        break;
      case 'dataset_config':
      case 'dataset': {
        if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(key, 'an object (the dataset config)');
        const d = v as Record<string, unknown>;
        if ('exclude' in d && d.exclude !== null)
          cfg.exclude = parseExclude(d.exclude, (want) => fail(`${key}.exclude`, want));
        if ('normalize' in d) {
          if (typeof d.normalize !== 'boolean')
            throw new InputError(
              file,
              `config key '${key}.normalize' must be true or false, got ${JSON.stringify(d.normalize)}`,
            );
          cfg.normalize_data = d.normalize;
        }
        break;
      }
    }
  }
  return { config: cfg, given, ignored };
}

function parseGridMeanPredictor(v: unknown, file: string): GridMeanPredictorConfig | null {
  if (v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v)) {
    throw new InputError(file, `config key 'grid_mean_predictor' must be null or an object, got ${JSON.stringify(v)}`);
  }
  const g = v as Record<string, unknown>;
  const d = DEFAULT_MODEL_CONFIG.grid_mean_predictor!;
  const type = g.type ?? 'cortex';
  if (type !== 'cortex') {
    throw new InputError(file, `grid_mean_predictor.type ${JSON.stringify(type)} is not supported (only 'cortex')`);
  }
  const int = (k: string, fallback: number, min: number): number => {
    const x = g[k] ?? fallback;
    if (typeof x !== 'number' || !Number.isInteger(x) || x < min || x > 1e6) {
      throw new InputError(file, `grid_mean_predictor.${k} must be an integer >= ${min}, got ${JSON.stringify(x)}`);
    }
    return x;
  };
  const finalTanh = g.final_tanh ?? d.final_tanh;
  if (typeof finalTanh !== 'boolean') {
    throw new InputError(
      file,
      `grid_mean_predictor.final_tanh must be true or false, got ${JSON.stringify(finalTanh)}`,
    );
  }
  const hiddenLayers = int('hidden_layers', d.hidden_layers, 0);
  return {
    type: 'cortex',
    input_dimensions: int('input_dimensions', d.input_dimensions, 1),
    hidden_layers: hiddenLayers,
    // neuralpredictors ignores hidden_features when there is no hidden layer (Lurz 2020's notebook sets it to 0)
    hidden_features: int('hidden_features', d.hidden_features, hiddenLayers === 0 ? 0 : 1),
    final_tanh: finalTanh,
  };
}

/** `exclude`: a group name or a list of them (neuralpredictors takes either). */
function parseExclude(v: unknown, fail: (want: string) => never): NormalizedGroup[] {
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || !list.every((x) => GROUPS.includes(x as NormalizedGroup)))
    fail(`a list of ${GROUPS.map((g) => `'${g}'`).join(', ')}`);
  return [...new Set(list as NormalizedGroup[])];
}

/** The groups a config leaves unnormalized: all with `dataset_config.normalize: false`, else its `exclude`. */
export function excludedGroups(config: ModelConfig): NormalizedGroup[] {
  if (config.normalize_data === false) return [...GROUPS];
  return config.exclude ? [...config.exclude] : [];
}

/** The FullFactorized2d options a config asks for (DEFAULT_FACTORIZED_OPTIONS for keys it lacks). */
export function factorizedOptionsFromConfig(config: ModelConfig): FactorizedOptions {
  const d = DEFAULT_FACTORIZED_OPTIONS;
  return {
    normalize: config.normalize ?? d.normalize,
    constrainPos: config.constrain_pos ?? d.constrainPos,
    positiveWeights: config.positive_weights ?? d.positiveWeights,
    positiveSpatial: config.positive_spatial ?? d.positiveSpatial,
    regWeight: config.spatial_and_feature_reg_weight ?? d.regWeight,
    l1Form: config.factorized_l1 ?? d.l1Form,
  };
}

/** FactorizedOptions under their config keys (neuralpredictors' names), for JSON output and metadata. */
export function factorizedConfigKeys(o: FactorizedOptions): Record<string, unknown> {
  return {
    normalize: o.normalize,
    constrain_pos: o.constrainPos,
    positive_weights: o.positiveWeights,
    positive_spatial: o.positiveSpatial,
    spatial_and_feature_reg_weight: o.regWeight,
    factorized_l1: o.l1Form,
  };
}

export function parseModelConfig(json: unknown, file: string): ModelConfig {
  return parseModelConfigWithInfo(json, file).config;
}

/** No config given: the defaults (a copy), nothing given, nothing ignored. */
export function defaultParsedConfig(): ParsedModelConfig {
  return { config: cloneDefault(), given: [], ignored: [] };
}

/**
 * A config JSON value as the page and the workers pass it (parsed, or null for none). A parsed ModelConfig is
 * itself such a value: parsing it again gives the same config.
 */
export function parsedConfigOrDefault(json: unknown | null | undefined, file = 'config'): ParsedModelConfig {
  return json ? parseModelConfigWithInfo(json, file) : defaultParsedConfig();
}

/** Parses the bytes of a config JSON file. */
export function parseModelConfigText(text: string, file: string): ParsedModelConfig {
  if (text.length > 1 << 20) throw new InputError(file, 'a model config larger than 1 MB is not plausible');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new InputError(file, `not valid JSON (${(e as Error).message})`);
  }
  return parseModelConfigWithInfo(json, file);
}
