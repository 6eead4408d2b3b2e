/**
 * state_dict (neuralpredictors key names, PyTorch layouts) -> model objects. The architecture is inferred first,
 * so every key the constructors read is known to exist with the right shape.
 */
import type * as tf from '@tensorflow/tfjs';
import { type HostTensor, InputError, type StateDict, toFloat32 } from '../io/host_tensor';
import {
  type CoreArchitecture,
  type FactorizedReadoutArchitecture,
  type GaussianReadoutArchitecture,
  inferArchitecture,
  type ModelArchitecture,
  type ReadoutArchitecture,
} from './architecture';
import type { ModelConfig } from './config';
import { Stacked2dCore } from './core';
import { Encoder, type Readout } from './encoder';
import { type FactorizedReadoutInit, FullFactorized2d } from './factorized_readout';
import { FullGaussian2d } from './gaussian_readout';
import type { GaussianReadoutInit, SharedFeaturesInit } from './readout_types';

/** A readout's shared-feature arrays (its `scales` flattened to (N), its index), or null without sharing. */
function sharingFromStateDict(sd: StateDict, arch: ReadoutArchitecture, file: string): SharedFeaturesInit | null {
  if (!arch.sharing) return null;
  const get = getter(sd, file);
  return {
    index: Int32Array.from(toFloat32(get(arch.prefix + 'feature_sharing_index'))),
    matches: arch.sharing.matches,
    original: arch.sharing.original,
    scales: Float32Array.from(toFloat32(get(arch.prefix + 'scales'))),
  };
}

function getter(sd: StateDict, file: string): (key: string) => HostTensor {
  return (key) => {
    const t = sd.get(key);
    if (!t) throw new InputError(file, `missing '${key}'`);
    return t;
  };
}

export function coreFromStateDict(
  sd: StateDict,
  arch: CoreArchitecture,
  file = 'state_dict',
  trainable = true,
): Stacked2dCore {
  return new Stacked2dCore(arch, getter(sd, file), trainable);
}

/** The Gaussian readout's parameters as host arrays (PyTorch layouts, leading singleton axes dropped). */
export function readoutInitFromStateDict(
  sd: StateDict,
  arch: GaussianReadoutArchitecture,
  file = 'state_dict',
): GaussianReadoutInit {
  const get = getter(sd, file);
  const p = arch.prefix;
  const f = (key: string): Float32Array => Float32Array.from(toFloat32(get(key)));
  const features = sd.has(p + '_features') ? f(p + '_features') : f(p + 'features');
  const init: GaussianReadoutInit = {
    neurons: arch.neurons,
    channels: arch.channels,
    gaussType: arch.gaussType,
    features, // torch (1, C, 1, N) flattened is (C, N); shared: (1, C, 1, M) is (C, M)
    bias: arch.bias ? f(p + 'bias') : null,
    sigma: f(p + 'sigma'),
    sharing: sharingFromStateDict(sd, arch, file),
  };
  if (arch.positionNetwork) {
    const pn = arch.positionNetwork;
    init.positionNetwork = {
      layers: pn.linears.map((l) => ({
        weight: f(`${p}mu_transform.${l.index}.weight`),
        bias: f(`${p}mu_transform.${l.index}.bias`),
        inFeatures: l.inFeatures,
        outFeatures: l.outFeatures,
      })),
      finalTanh: pn.finalTanh,
      sourceGrid: f(p + 'source_grid'),
      sourceDims: pn.inputDimensions,
    };
  } else {
    init.mu = sd.has(p + '_mu') ? f(p + '_mu') : f(p + 'mu');
  }
  return init;
}

/** The factorized readout's parameters as host arrays (neuralpredictors' layouts: no transposes), options from the config. */
export function factorizedInitFromStateDict(
  sd: StateDict,
  arch: FactorizedReadoutArchitecture,
  file = 'state_dict',
): FactorizedReadoutInit {
  const get = getter(sd, file);
  const p = arch.prefix;
  const f = (key: string): Float32Array => Float32Array.from(toFloat32(get(key)));
  return {
    neurons: arch.neurons,
    channels: arch.channels,
    height: arch.factorized.height,
    width: arch.factorized.width,
    spatial: f(p + 'spatial'),
    features: sd.has(p + '_features') ? f(p + '_features') : f(p + 'features'),
    bias: arch.bias ? f(p + 'bias') : null,
    options: { ...arch.factorized.options },
    sharing: sharingFromStateDict(sd, arch, file),
  };
}

/**
 * The readout of `arch`'s kind: a FullGaussian2d or a FullFactorized2d. `sharedFeatures`: the features variable of
 * an already built readout of its sharing group, which this one then reads instead of its own copy.
 */
export function readoutFromStateDict(
  sd: StateDict,
  arch: ReadoutArchitecture,
  file = 'state_dict',
  trainable = true,
  sharedFeatures?: tf.Variable<tf.Rank.R2>,
): Readout {
  if (arch.kind === 'factorized')
    return new FullFactorized2d(factorizedInitFromStateDict(sd, arch, file), trainable, sharedFeatures);
  return new FullGaussian2d(readoutInitFromStateDict(sd, arch, file), trainable, sharedFeatures);
}

export interface EncoderLoadOptions {
  /** Keys of the user's config file (disagreements with the weights become notes). */
  configGiven?: readonly string[];
  /** Load only these readouts (default: all). */
  readouts?: readonly string[];
  trainable?: boolean;
}

/** Infers the architecture and builds core and readouts. Throws InputError naming `file` for any problem. */
export function encoderFromStateDict(
  sd: StateDict,
  config: ModelConfig,
  file: string,
  opts: EncoderLoadOptions = {},
): Encoder {
  const arch: ModelArchitecture = inferArchitecture(sd, config, file, opts.configGiven ?? []);
  const wanted = opts.readouts ?? arch.readouts.map((r) => r.key);
  for (const k of wanted) {
    if (!arch.readouts.some((r) => r.key === k)) {
      throw new InputError(
        file,
        `no readout '${k}' (readouts: ${arch.readouts.map((r) => r.key).join(', ') || 'none'})`,
      );
    }
  }
  const core = coreFromStateDict(sd, arch.core, file, opts.trainable ?? true);
  const readouts = new Map<string, Readout>();
  // Readouts that share features read one variable: the first built readout's of the group.
  let groupFeatures: tf.Variable<tf.Rank.R2> | undefined;
  try {
    for (const r of arch.readouts) {
      if (!wanted.includes(r.key)) continue;
      const readout = readoutFromStateDict(sd, r, file, opts.trainable ?? true, r.sharing ? groupFeatures : undefined);
      if (r.sharing) groupFeatures ??= readout.features;
      readouts.set(r.key, readout);
    }
  } catch (e) {
    core.dispose();
    for (const r of readouts.values()) r.dispose();
    throw e;
  }
  const passthrough: StateDict = new Map();
  for (const [k, v] of sd) if (k.startsWith('core._input_weights_regularizer.')) passthrough.set(k, v);
  const encoder = new Encoder(arch, core, readouts, passthrough);
  // a model trained with another output nonlinearity says so in its config (FiringRateEncoder's nonlinearity_type)
  if (config.nonlinearity_type) encoder.output = config.nonlinearity_type;
  return encoder;
}
