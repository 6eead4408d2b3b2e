/**
 * A new readout for a scan's neurons, initialized as neuralpredictors does.
 *
 * FullFactorized2d (`initFactorizedTrainable`, neuralpredictors' `initialize`): masks and features N(0, init_noise)
 * (default 1e-3), bias = the mean response of each neuron over the training trials; draw order spatial, features
 * (model/factorized_readout.ts: initFactorizedReadout).
 *
 * FullGaussian2d, initialized as neuralpredictors does
 * (FullGaussian2d.__init__ / initialize, Sensorium `stacked_core_full_gauss_readout` + `prepare_grid`):
 * - position network (gauss means from cortical coordinates): nn.Linear layers with PyTorch's default init,
 *   input = cell_motor_coordinates[:, :input_dimensions] centred and divided by its largest absolute value;
 *   or free means uniform in [-init_mu_range, init_mu_range];
 * - sigma: full: uniform in [-init_sigma, init_sigma] per entry; uncorrelated / isotropic: init_sigma;
 * - features 1 / channels; bias = mean response of each neuron over the training trials.
 * Deterministic for a seed (src/util/rng.ts), draw order: position network, means, sigma.
 */

import type { ModelConfig } from '../../model/config';
import { initFactorizedReadout } from '../../model/factorized_readout';
import {
  DEFAULT_FACTORIZED_OPTIONS,
  FACTORIZED_DEFAULT_INIT_NOISE,
  type FactorizedOptions,
  type GaussType,
  sigmaSize,
  type TrainableFactorizedReadout,
  type TrainableGaussianReadout,
} from '../../model/readout_types';
import { Rng } from '../../util/rng';
import { initPositionNet, normalizeSourceGrid, type PositionNetConfig, SENSORIUM_POSITION_NET } from './position_net';

export interface ReadoutInitOptions {
  gaussType: GaussType;
  initMuRange: number;
  initSigma: number;
  /** null: free per-neuron means. */
  positionNet: PositionNetConfig | null;
}

/** The Sensorium 2022 / Lurz 2020 readout settings (reference_results.json `readout_config`). */
export const REFERENCE_READOUT: ReadoutInitOptions = {
  gaussType: 'full',
  initMuRange: 0.3,
  initSigma: 0.1,
  positionNet: SENSORIUM_POSITION_NET,
};

/**
 * A new Gaussian readout's settings from a neuralpredictors config (keys it lacks: REFERENCE_READOUT's values):
 * init_mu_range, init_sigma, gauss_type and the position network (grid_mean_predictor: input_dimensions,
 * hidden_layers (0: one Linear), hidden_features, final_tanh; null: free means). `freeMu` forces free means.
 */
export function readoutInitFromConfig(config: Partial<ModelConfig>, freeMu = false): ReadoutInitOptions {
  const g = config.grid_mean_predictor;
  const positionNet: PositionNetConfig | null =
    freeMu || g === null
      ? null
      : g === undefined
        ? REFERENCE_READOUT.positionNet
        : {
            inputDimensions: g.input_dimensions,
            hiddenLayers: g.hidden_layers,
            hiddenFeatures: g.hidden_features,
            finalTanh: g.final_tanh,
          };
  return {
    gaussType: config.gauss_type ?? REFERENCE_READOUT.gaussType,
    initMuRange: config.init_mu_range ?? REFERENCE_READOUT.initMuRange,
    initSigma: config.init_sigma ?? REFERENCE_READOUT.initSigma,
    positionNet,
  };
}

export interface ReadoutInitData {
  neurons: number;
  /** Core output channels. */
  channels: number;
  /** Per-neuron mean of the (normalized) training responses: the initial bias. */
  meanActivity: ArrayLike<number>;
  /** cell_motor_coordinates (N, columns), row-major; needed with a position network. */
  cellMotorCoordinates?: { data: ArrayLike<number>; columns: number };
}

export function initReadout(
  data: ReadoutInitData,
  options: ReadoutInitOptions,
  seed: number,
): TrainableGaussianReadout {
  const { neurons: N, channels: C } = data;
  const o = options;
  if (!(o.initMuRange > 0 && o.initMuRange <= 1) || !(o.initSigma > 0)) {
    throw new Error(`init_mu_range must be in (0, 1] and init_sigma positive (got ${o.initMuRange}, ${o.initSigma})`);
  }
  if (data.meanActivity.length !== N)
    throw new Error(`mean activity has ${data.meanActivity.length} values for ${N} neurons`);
  const rng = new Rng(seed);

  let positionNet = null,
    sourceGrid = null,
    mu = null;
  if (o.positionNet) {
    const coords = data.cellMotorCoordinates;
    if (!coords) throw new Error("a position network needs the neurons' cell_motor_coordinates");
    if (coords.data.length !== N * coords.columns)
      throw new Error(`cell_motor_coordinates has ${coords.data.length} values, expected ${N} x ${coords.columns}`);
    positionNet = initPositionNet(o.positionNet, rng);
    sourceGrid = normalizeSourceGrid(coords.data, N, coords.columns, o.positionNet.inputDimensions);
  } else {
    mu = new Float32Array(2 * N);
    for (let i = 0; i < mu.length; i++) mu[i] = rng.range(-o.initMuRange, o.initMuRange);
  }

  const sigma = new Float32Array(N * sigmaSize(o.gaussType));
  if (o.gaussType === 'full') for (let i = 0; i < sigma.length; i++) sigma[i] = rng.range(-o.initSigma, o.initSigma);
  else sigma.fill(o.initSigma);

  return {
    kind: 'gaussian',
    gaussType: o.gaussType,
    neurons: N,
    channels: C,
    features: new Float32Array(N * C).fill(1 / C),
    bias: Float32Array.from(data.meanActivity),
    sigma,
    mu,
    positionNet,
    sourceGrid,
  };
}

/** A new FullFactorized2d's settings: neuralpredictors' init noise and the readout's options (regularizer included). */
export interface FactorizedInitOptions {
  initNoise: number;
  options: FactorizedOptions;
}

/** neuralpredictors' init_noise 1e-3 and this project's defaults (normalized masks, the per-neuron regularizer). */
export const REFERENCE_FACTORIZED: FactorizedInitOptions = {
  initNoise: FACTORIZED_DEFAULT_INIT_NOISE,
  options: DEFAULT_FACTORIZED_OPTIONS,
};

/** `options` over REFERENCE_FACTORIZED (the readout options merged key by key). */
export function factorizedInitOptions(
  o: { initNoise?: number; options?: Partial<FactorizedOptions> } = {},
): FactorizedInitOptions {
  return {
    initNoise: o.initNoise ?? REFERENCE_FACTORIZED.initNoise,
    options: { ...REFERENCE_FACTORIZED.options, ...o.options },
  };
}

/** A new factorized readout for `data`'s neurons on an (h, w) core output map, seeded. */
export function initFactorizedTrainable(
  data: Omit<ReadoutInitData, 'cellMotorCoordinates'> & { height: number; width: number },
  o: FactorizedInitOptions,
  seed: number,
): TrainableFactorizedReadout {
  const { neurons: N, channels: C, height, width } = data;
  if (!(o.initNoise > 0)) throw new Error(`init_noise must be positive (got ${o.initNoise})`);
  if (data.meanActivity.length !== N) {
    throw new Error(`mean activity has ${data.meanActivity.length} values for ${N} neurons`);
  }
  const init = initFactorizedReadout(
    { neurons: N, channels: C, height, width },
    { initNoise: o.initNoise, meanActivity: data.meanActivity, seed },
  );
  return {
    kind: 'factorized',
    neurons: N,
    channels: C,
    height,
    width,
    spatial: init.spatial,
    features: init.features,
    bias: init.bias!,
    options: { ...o.options },
  };
}
