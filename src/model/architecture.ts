/**
 * Reads the model's architecture from a neuralpredictors state_dict: the Stacked2dCore layers from the key names
 * and shapes under `core.features.layer<i>.`, and one readout per `readout.<data_key>.` prefix, a FullGaussian2d or
 * a FullFactorized2d told apart by its keys (a checkpoint may hold both kinds under different data keys): a
 * factorized readout has a 3-D `spatial` (N, h, w) mask and 2-D `_features` (N, C), a Gaussian one `sigma` and
 * 4-D `_features` (1, C, 1, N). What the weights cannot tell comes from the config. Every problem (missing,
 * unexpected or mis-shaped key) is reported in words with the layer it belongs to; all problems found are listed
 * in one InputError.
 */
import { type HostTensor, InputError, type StateDict, shapeString, toFloat32 } from '../io/host_tensor';
import { factorizedOptionsFromConfig, type ModelConfig } from './config';
import { convOutSize } from './conv_geometry';
import { sharingIndexProblem } from './feature_sharing';
import {
  type FactorizedOptions,
  type GaussType,
  gaussTypeOfSigmaShape,
  type ReadoutKind,
  readoutClassName,
  sigmaSize,
} from './readout_types';
import {
  hasTransferLearningKeys,
  inferTransferLearningCore,
  type TransferLearningSpec,
} from './transfer_learning_core';

export { convOutSize } from './conv_geometry';

/** One torch.nn.Conv2d inside a core layer. Weight in PyTorch layout (out, in/groups, kh, kw). */
export interface ConvSpec {
  weightKey: string;
  biasKey: string | null;
  inChannels: number;
  outChannels: number;
  kernel: [number, number];
  /** 1, or the channel count for the depthwise (spatial) conv of a depth-separable layer. */
  groups: number;
  stride: number;
  dilation: number;
  padding: [number, number];
}

export interface BatchNormSpec {
  prefix: string; // e.g. 'core.features.layer0.norm.'
  channels: number;
  affine: boolean;
}

export interface CoreLayerSpec {
  index: number;
  kind: 'conv' | 'depth_separable';
  /** conv: [conv]; depth_separable: [in_depth_conv (1x1), spatial_conv (depthwise kxk), out_depth_conv (1x1)]. */
  convs: ConvSpec[];
  inChannels: number;
  outChannels: number;
  batchNorm: BatchNormSpec | null;
  /** Bias2DLayer / Scale2DLayer after the norm (neuralpredictors adds them when the norm is not affine). */
  biasKey: string | null;
  scaleKey: string | null;
  elu: boolean;
  /** ReLU instead (TransferLearningCore: torchvision's ReLU children and OutNonlin); absent = false. */
  relu?: boolean;
  /** TransferLearningCore: the conv's index among the network's `features` children (its key's `<i>`). */
  childIndex?: number;
  /** torch.nn.MaxPool2d(kernel, stride) after the activation (torchvision's pooling children); absent = none. */
  maxPool?: { kernel: number; stride: number } | null;
  /** Output size for the config's input shape. */
  outHeight: number;
  outWidth: number;
}

export interface CoreArchitecture {
  /** The image's channels (a Stacked2dCore: its first conv's input channels). */
  inputChannels: number;
  /**
   * The image's channels repeated this many times before the first conv (a greyscale image into an RGB network,
   * as TransferLearningCore.forward does); absent or 1 = none.
   */
  inputRepeat?: number;
  /** A TransferLearningCore (a torchvision network's `features`, cut): what it is; absent or null = Stacked2dCore. */
  transferLearning?: TransferLearningSpec | null;
  layers: CoreLayerSpec[];
  /** Indices of the layers whose outputs are concatenated (channel axis) into the core output. */
  stack: number[];
  outputChannels: number;
  /** BatchNorm momentum for training mode (PyTorch convention); null = cumulative moving average. */
  momentum: number | null;
  inputShape: [number, number, number];
  /** Core output for one image of inputShape: [channels, height, width]. */
  outputShape: [number, number, number];
}

export interface PositionNetworkSpec {
  inputDimensions: number;
  /** The nn.Linear layers of mu_transform with their Sequential indices (0, 2, 4, ...: ELU between). */
  linears: { index: number; inFeatures: number; outFeatures: number }[];
  finalTanh: boolean;
}

interface ReadoutArchitectureBase {
  key: string;
  /** 'readout.<key>.' */
  prefix: string;
  kind: ReadoutKind;
  neurons: number;
  channels: number;
  bias: boolean;
  /** The readout's trainable parameters (buffers such as source_grid not counted). */
  parameters: number;
  /** Features shared with other readouts (model/feature_sharing.ts), or null: the readout has its own. */
  sharing: SharedFeaturesSpec | null;
}

/**
 * A readout whose features are shared (neuralpredictors' share_features): `_features` holds the group's M vectors,
 * `scales` (N) and `feature_sharing_index` (N) are its own. The group is every readout with those keys; its first in
 * checkpoint order owns the features (neuralpredictors' first data key).
 */
export interface SharedFeaturesSpec {
  /** M: shared feature vectors. */
  matches: number;
  /** The group's first readout (whose features every readout of the group reads). */
  source: string;
  /** Whether this is that readout (neuralpredictors' `_original_features`). */
  original: boolean;
}

export interface GaussianReadoutArchitecture extends ReadoutArchitectureBase {
  kind: 'gaussian';
  gaussType: GaussType;
  /** null: free means `_mu` (1, N, 1, 2). */
  positionNetwork: PositionNetworkSpec | null;
  factorized: null;
}

/** A FullFactorized2d's mask size and options (the options from the config: the weights cannot tell them). */
export interface FactorizedSpec {
  /** The mask's height and width: the core's output map's. */
  height: number;
  width: number;
  options: FactorizedOptions;
}

export interface FactorizedReadoutArchitecture extends ReadoutArchitectureBase {
  kind: 'factorized';
  /** No Gaussians, no position network. */
  gaussType: null;
  positionNetwork: null;
  factorized: FactorizedSpec;
}

/** One readout of the checkpoint, by kind (the fields of both exist on either, null where they do not apply). */
export type ReadoutArchitecture = GaussianReadoutArchitecture | FactorizedReadoutArchitecture;

export interface ModelArchitecture {
  core: CoreArchitecture;
  readouts: ReadoutArchitecture[];
  /** The first readout in checkpoint order, or null when the checkpoint holds a core only. */
  defaultReadout: string | null;
  eluOffset: number;
  /** Things the user should know (config values overridden by the weights, the readout chosen, keys ignored). */
  notes: string[];
}

/** Keys written by training-only modules; they never enter the forward pass. */
const IGNORED_PREFIXES = ['core._input_weights_regularizer.'];

const READOUT_PARAM =
  /^readout\.(.+?)\.(_features|features|bias|sigma|_mu|mu|source_grid|mu_transform\.(\d+)\.(weight|bias)|spatial|scales|feature_sharing_index|grid_sharing_index)$/;

class Problems {
  readonly list: string[] = [];
  add(msg: string): void {
    this.list.push(msg);
  }
  throwIfAny(file: string): void {
    if (this.list.length === 0) return;
    const shown = this.list.slice(0, 12);
    const more = this.list.length > shown.length ? `; and ${this.list.length - shown.length} more` : '';
    throw new InputError(file, `not a model this app can run: ${shown.join('; ')}${more}`);
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function at<T>(v: T | T[], i: number, fallback: T): T {
  if (!Array.isArray(v)) return v;
  return i < v.length ? v[i] : fallback;
}

/**
 * @param configGiven keys the user's config file set explicitly; disagreements with the weights on those keys are
 *   noted (the weights win). Defaults that do not fit the checkpoint are replaced silently.
 */
export function inferArchitecture(
  sd: StateDict,
  config: ModelConfig,
  file: string,
  configGiven: readonly string[] = [],
): ModelArchitecture {
  const problems = new Problems();
  const notes: string[] = [];
  const used = new Set<string>();
  const get = (key: string): HostTensor | undefined => {
    const t = sd.get(key);
    if (t) used.add(key);
    return t;
  };
  const given = new Set(configGiven);

  if (isTorchvisionStateDict(sd)) {
    throw new InputError(
      file,
      "a torchvision network's state_dict (features.* and classifier.* keys), not a neuralpredictors model: " +
        'to use VGG16 as a frozen core, give it to `v1x finetune --vgg16 FILE` (the core is built from its first convs)',
    );
  }
  const core = hasTransferLearningKeys(sd)
    ? inferTransferLearningCore(sd, config, get, problems, notes, given)
    : inferCore(sd, config, get, problems, notes, given);
  const readouts = inferReadouts(sd, config, core, get, problems, notes, given);

  for (const key of sd.keys()) {
    if (used.has(key) || IGNORED_PREFIXES.some((p) => key.startsWith(p))) continue;
    if (/\.num_batches_tracked$/.test(key) && key.startsWith('core.features.')) continue;
    problems.add(`unexpected key '${key}' ${describeUnexpected(key)}`);
  }
  problems.throwIfAny(file);
  const defaultReadout = readouts.length > 0 ? readouts[0].key : null;
  if (readouts.length > 1) {
    notes.push(
      `${readouts.length} readouts (${readouts.map((r) => r.key).join(', ')}); the default is the first, '${defaultReadout}'`,
    );
  }
  return { core: core!, readouts, defaultReadout, eluOffset: config.elu_offset, notes };
}

/** torchvision's layout (vgg16-397923af.pth and the like): `features.<i>.*` and `classifier.*`, nothing else. */
function isTorchvisionStateDict(sd: StateDict): boolean {
  const keys = [...sd.keys()];
  return (
    keys.some((k) => /^features\.\d+\.weight$/.test(k)) &&
    keys.every((k) =>
      /^(features|classifier)\.\d+\.(weight|bias|running_mean|running_var|num_batches_tracked)$/.test(k),
    )
  );
}

function describeUnexpected(key: string): string {
  if (key.startsWith('shifter.')) return '(a shifter network: eye-position shifts are not supported)';
  if (key.startsWith('modulator.')) return '(a behavior modulator is not supported)';
  if (/attention_conv|hermite/.test(key)) return '(attention / rotation-equivariant cores are not supported)';
  if (/\.grid_sharing_index$/.test(key)) return '(shared grids across readouts are not supported)';
  return '(not part of a Stacked2dCore + FullGaussian2d / FullFactorized2d model)';
}

type Getter = (key: string) => HostTensor | undefined;

function inferCore(
  sd: StateDict,
  config: ModelConfig,
  get: Getter,
  problems: Problems,
  notes: string[],
  given: Set<string>,
): CoreArchitecture | null {
  const layerIdx = new Set<number>();
  for (const key of sd.keys()) {
    const m = /^core\.features\.layer(\d+)\./.exec(key);
    if (m) layerIdx.add(Number(m[1]));
  }
  const nLayers = layerIdx.size === 0 ? 0 : Math.max(...layerIdx) + 1;
  if (nLayers === 0) {
    problems.add(
      "no core found (no key starts with 'core.features.layer0.' (Stacked2dCore) or 'core.features.TransferLearning.')",
    );
    return null;
  }
  for (let i = 0; i < nLayers; i++) {
    if (!layerIdx.has(i))
      problems.add(
        `core layer ${i}: missing (layers 0..${nLayers - 1} must all be present, found keys for ${[...layerIdx].sort((a, b) => a - b).join(', ')})`,
      );
  }
  if (given.has('layers') && config.layers !== nLayers) {
    notes.push(`config says layers=${config.layers}, the checkpoint has ${nLayers}; using ${nLayers}`);
  }

  const layers: CoreLayerSpec[] = [];
  let inC = -1;
  let h = config.input_shape[1];
  let w = config.input_shape[2];
  let inputChannels = -1;
  for (let i = 0; i < nLayers; i++) {
    const prefix = `core.features.layer${i}.`;
    const where = `core layer ${i}`;
    const convs: ConvSpec[] = [];
    let kind: CoreLayerSpec['kind'] = 'conv';
    const convKey = `${prefix}conv.weight`;
    const dsKey = `${prefix}ds_conv.spatial_conv.weight`;
    let outC = -1;
    const hasPlain = sd.has(convKey);
    const hasDs = sd.has(dsKey) || sd.has(`${prefix}ds_conv.in_depth_conv.weight`);
    if (hasPlain && hasDs) {
      problems.add(`${where}: has both a plain conv ('${convKey}') and a depth-separable conv ('${prefix}ds_conv.*')`);
    }
    const stride = i === 0 ? (config.input_stride ?? 1) : (config.stride ?? 1);
    const dilation = i === 0 ? 1 : (config.hidden_dilation ?? 1);
    const padFor = (k: number): number =>
      i === 0
        ? config.pad_input
          ? Math.floor(k / 2)
          : 0
        : (config.hidden_padding ?? Math.floor(((k - 1) * dilation + 1) / 2));

    const readConv = (
      name: string,
      expectIn: number | null,
      groups: 'one' | 'depthwise',
      kernel1x1: boolean,
      convStride: number,
      convDilation: number,
      padded: boolean,
    ): ConvSpec | null => {
      const wk = `${prefix}${name}.weight`;
      const t = get(wk);
      if (!t) {
        problems.add(`${where}: missing '${wk}'`);
        return null;
      }
      const s = t.shape;
      if (s.length !== 4) {
        problems.add(
          `${where}: '${wk}' has shape ${shapeString(s)}, expected a conv weight (out_channels, in_channels, kh, kw)`,
        );
        return null;
      }
      const [o, ci, kh, kw] = s;
      if (groups === 'depthwise' && ci !== 1) {
        problems.add(`${where}: '${wk}' has shape ${shapeString(s)}, expected a depthwise weight (${o}, 1, kh, kw)`);
        return null;
      }
      if (groups === 'one' && expectIn !== null && ci !== expectIn) {
        problems.add(
          `${where}: '${wk}' has shape ${shapeString(s)}, expected (${o}, ${expectIn}, ${kh}, ${kw}) (${expectIn} input channels from ${i === 0 ? 'the image' : `layer ${i - 1}`})`,
        );
      }
      if (groups === 'depthwise' && expectIn !== null && o !== expectIn) {
        problems.add(
          `${where}: '${wk}' has shape ${shapeString(s)}, expected (${expectIn}, 1, ${kh}, ${kw}) (one filter per channel)`,
        );
      }
      if (kernel1x1 && (kh !== 1 || kw !== 1)) {
        problems.add(`${where}: '${wk}' has shape ${shapeString(s)}, expected a 1x1 conv (${o}, ${ci}, 1, 1)`);
      }
      const bk = `${prefix}${name}.bias`;
      const b = get(bk);
      if (b && !sameShape(b.shape, [o]))
        problems.add(`${where}: '${bk}' has shape ${shapeString(b.shape)}, expected (${o},)`);
      const pad: [number, number] = padded ? [padFor(kh), padFor(kw)] : [0, 0];
      return {
        weightKey: wk,
        biasKey: b ? bk : null,
        inChannels: groups === 'depthwise' ? o : ci,
        outChannels: o,
        kernel: [kh, kw],
        groups: groups === 'depthwise' ? o : 1,
        stride: convStride,
        dilation: convDilation,
        padding: pad,
      };
    };

    if (hasDs && !hasPlain) {
      if (i === 0)
        problems.add(`${where}: the first layer must be a plain conv ('${convKey}'), found a depth-separable one`);
      kind = 'depth_separable';
      const a = readConv('ds_conv.in_depth_conv', i === 0 ? null : inC, 'one', true, 1, 1, false);
      const b = readConv('ds_conv.spatial_conv', a ? a.outChannels : null, 'depthwise', false, stride, dilation, true);
      const c = readConv('ds_conv.out_depth_conv', b ? b.outChannels : null, 'one', true, 1, 1, false);
      if (a && b && c) {
        convs.push(a, b, c);
        outC = c.outChannels;
        if (i === 0) inputChannels = a.inChannels;
      }
    } else {
      if (!hasPlain) {
        problems.add(`${where}: no convolution found (expected '${convKey}' or '${prefix}ds_conv.*')`);
      } else {
        const c = readConv('conv', i === 0 ? null : inC, 'one', false, stride, dilation, true);
        if (c) {
          convs.push(c);
          outC = c.outChannels;
          if (i === 0) inputChannels = c.inChannels;
        }
      }
    }

    let batchNorm: BatchNormSpec | null = null;
    const np = `${prefix}norm.`;
    const bnKeys = ['running_mean', 'running_var', 'weight', 'bias'].filter((k) => sd.has(np + k));
    if (bnKeys.length > 0) {
      for (const k of ['running_mean', 'running_var']) {
        if (!sd.has(np + k)) problems.add(`${where}: BatchNorm is missing '${np}${k}'`);
      }
      const affineKeys = ['weight', 'bias'].filter((k) => sd.has(np + k));
      if (affineKeys.length === 1)
        problems.add(
          `${where}: BatchNorm has '${np}${affineKeys[0]}' but not its ${affineKeys[0] === 'weight' ? 'bias' : 'weight'}`,
        );
      for (const k of ['running_mean', 'running_var', 'weight', 'bias']) {
        const t = get(np + k);
        if (t && outC > 0 && !sameShape(t.shape, [outC])) {
          problems.add(
            `${where}: '${np}${k}' has shape ${shapeString(t.shape)}, expected (${outC},) (the layer's ${outC} output channels)`,
          );
        }
      }
      const nbt = get(`${np}num_batches_tracked`);
      if (nbt && nbt.shape.length !== 0 && !sameShape(nbt.shape, [1])) {
        problems.add(`${where}: '${np}num_batches_tracked' has shape ${shapeString(nbt.shape)}, expected a scalar`);
      }
      batchNorm = { prefix: np, channels: outC, affine: affineKeys.length === 2 };
    }
    const bnConfigured = at(config.batch_norm, i, true);
    if (given.has('batch_norm') && bnConfigured !== (batchNorm !== null)) {
      notes.push(
        `config says batch_norm=${bnConfigured} for layer ${i}, the checkpoint ${batchNorm ? 'has' : 'has no'} BatchNorm there; following the checkpoint`,
      );
    }
    const extra = (name: string): string | null => {
      const key = `${prefix}${name}.${name}`;
      const t = get(key);
      if (!t) return null;
      if (outC > 0 && !sameShape(t.shape, [1, outC, 1, 1])) {
        problems.add(`${where}: '${key}' has shape ${shapeString(t.shape)}, expected (1, ${outC}, 1, 1)`);
      }
      return key;
    };
    const biasKey = extra('bias');
    const scaleKey = extra('scale');
    const last = i === nLayers - 1;
    const elu = !config.linear && (!last || config.final_nonlinearity);

    for (const cv of convs) {
      h = convOutSize(h, cv.kernel[0], cv.stride, cv.padding[0], cv.dilation);
      w = convOutSize(w, cv.kernel[1], cv.stride, cv.padding[1], cv.dilation);
    }
    if (convs.length > 0 && (h < 1 || w < 1)) {
      problems.add(
        `${where}: an input of ${config.input_shape[1]}x${config.input_shape[2]} pixels (config input_shape) shrinks to nothing here (kernel ${convs.map((c) => c.kernel.join('x')).join('/')}, padding ${convs.map((c) => c.padding.join(',')).join('/')})`,
      );
    }
    layers.push({
      index: i,
      kind,
      convs,
      inChannels: i === 0 ? inputChannels : inC,
      outChannels: outC,
      batchNorm,
      biasKey,
      scaleKey,
      elu,
      outHeight: h,
      outWidth: w,
    });
    inC = outC;
  }

  if (inputChannels > 0 && inputChannels !== config.input_shape[0]) {
    if (given.has('input_shape')) {
      notes.push(
        `config input_shape has ${config.input_shape[0]} channel(s), the first conv takes ${inputChannels}; using ${inputChannels}`,
      );
    }
  }
  const kinds = new Set(layers.slice(1).map((l) => l.kind));
  if (given.has('depth_separable') && kinds.size === 1) {
    const ds = kinds.has('depth_separable');
    if (ds !== config.depth_separable)
      notes.push(
        `config says depth_separable=${config.depth_separable}, the checkpoint's hidden layers are ${ds ? 'depth-separable' : 'plain convs'}; following the checkpoint`,
      );
  }

  let stack: number[];
  if (config.stack === null) stack = layers.map((_, i) => i);
  else if (typeof config.stack === 'number') {
    const s = config.stack;
    const start = s < 0 ? Math.max(0, nLayers + s) : Math.min(s, nLayers);
    stack = layers.map((_, i) => i).slice(start);
  } else {
    stack = config.stack.map((s) => (s < 0 ? nLayers + s : s));
  }
  if (stack.length === 0 || stack.some((s) => s < 0 || s >= nLayers)) {
    problems.add(`config stack=${JSON.stringify(config.stack)} selects no valid layer of a ${nLayers}-layer core`);
    stack = [nLayers - 1];
  }
  const sizes = new Set(stack.map((s) => `${layers[s].outHeight}x${layers[s].outWidth}`));
  if (sizes.size > 1)
    problems.add(
      `config stack=${JSON.stringify(config.stack)} concatenates layers of different sizes (${[...sizes].join(', ')})`,
    );
  const outputChannels = stack.reduce((a, s) => a + Math.max(0, layers[s].outChannels), 0);
  const lastStacked = layers[stack[stack.length - 1]];
  return {
    inputChannels,
    layers,
    stack,
    outputChannels,
    momentum: config.momentum === undefined ? 0.1 : config.momentum,
    inputShape: [
      inputChannels > 0 ? inputChannels : config.input_shape[0],
      config.input_shape[1],
      config.input_shape[2],
    ],
    outputShape: [outputChannels, lastStacked.outHeight, lastStacked.outWidth],
  };
}

function inferReadouts(
  sd: StateDict,
  config: ModelConfig,
  core: CoreArchitecture | null,
  get: Getter,
  problems: Problems,
  notes: string[],
  given: Set<string>,
): ReadoutArchitecture[] {
  const order: string[] = [];
  const params = new Map<string, Set<string>>();
  for (const key of sd.keys()) {
    const m = READOUT_PARAM.exec(key);
    if (!m) {
      if (key.startsWith('readout.')) {
        problems.add(`unexpected key '${key}' (not a FullGaussian2d or FullFactorized2d parameter)`);
      }
      continue;
    }
    if (!params.has(m[1])) {
      params.set(m[1], new Set());
      order.push(m[1]);
    }
    params.get(m[1])!.add(m[2]);
  }
  const out: ReadoutArchitecture[] = [];
  for (const key of order) {
    const prefix = `readout.${key}.`;
    const where = `readout '${key}'`;
    const names = params.get(key)!;
    if (names.has('grid_sharing_index')) {
      problems.add(`${where}: shared grids across readouts (share_grid) are not supported`);
      get(prefix + 'grid_sharing_index');
    }
    const shareIndex = sharingIndexOf(prefix, where, names, get, problems);
    if (names.has('spatial')) {
      out.push(inferFactorized(key, names, config, core, get, problems, shareIndex));
      continue;
    }
    const f2 = names.has('_features') ? '_features' : 'features';
    const feat2d = sd.get(prefix + f2);
    if (feat2d && feat2d.shape.length === 2 && !names.has('sigma')) {
      problems.add(
        `${where}: '${prefix}${f2}' has shape ${shapeString(feat2d.shape)}, a FullFactorized2d's (neurons, channels), ` +
          `but there is no mask '${prefix}spatial' (neurons, height, width)`,
      );
      for (const p of names) get(prefix + p);
      continue;
    }
    // Very old neuralpredictors named the parameters without the underscore.
    const featName = names.has('_features') ? '_features' : names.has('features') ? 'features' : '_features';
    const muName = names.has('_mu') ? '_mu' : names.has('mu') ? 'mu' : '_mu';
    const feat = get(prefix + featName);
    let n = -1;
    let c = -1;
    if (!feat) problems.add(`${where}: missing '${prefix}_features' (1, channels, 1, neurons)`);
    else if (feat.shape.length !== 4 || feat.shape[0] !== 1 || feat.shape[2] !== 1) {
      problems.add(
        `${where}: '${prefix}${featName}' has shape ${shapeString(feat.shape)}, expected (1, channels, 1, neurons)`,
      );
    } else {
      c = feat.shape[1];
      n = shareIndex ? shareIndex.length : feat.shape[3];
      if (shareIndex) checkSharing(prefix, where, shareIndex, feat.shape[3], [1, 1, 1, n], get, problems);
      if (core && core.outputChannels > 0 && c !== core.outputChannels) {
        problems.add(
          `${where}: '${prefix}${featName}' has ${c} channels, but the core outputs ${core.outputChannels} (layers ${core.stack.join(', ')} stacked; check the config's 'stack')`,
        );
      }
    }
    const bias = get(prefix + 'bias');
    if (bias && n > 0 && !sameShape(bias.shape, [n])) {
      problems.add(`${where}: '${prefix}bias' has shape ${shapeString(bias.shape)}, expected (${n},)`);
    }
    let gaussType: GaussType = config.gauss_type;
    const sigma = get(prefix + 'sigma');
    if (!sigma) problems.add(`${where}: missing '${prefix}sigma'`);
    else {
      const s = sigma.shape;
      const ok = s.length === 4 && s[0] === 1 && (n < 0 || s[1] === n);
      const found = ok ? gaussTypeOfSigmaShape(s) : null;
      if (!found) {
        problems.add(
          `${where}: '${prefix}sigma' has shape ${shapeString(s)}, expected (1, ${n > 0 ? n : 'neurons'}, 2, 2) (full), (1, ${n > 0 ? n : 'neurons'}, 1, 2) (uncorrelated) or (1, ${n > 0 ? n : 'neurons'}, 1, 1) (isotropic)`,
        );
      } else {
        if (given.has('gauss_type') && found !== config.gauss_type) {
          notes.push(
            `config says gauss_type='${config.gauss_type}', readout '${key}' stores a '${found}' sigma ${shapeString(s)}; using '${found}'`,
          );
        }
        gaussType = found;
      }
    }
    let positionNetwork: PositionNetworkSpec | null = null;
    const linearIdx = [...names]
      .map((p) => /^mu_transform\.(\d+)\.weight$/.exec(p))
      .filter((m) => m !== null)
      .map((m) => Number(m![1]))
      .sort((a, b) => a - b);
    const hasMlp = linearIdx.length > 0 || names.has('source_grid');
    if (hasMlp) {
      if (names.has(muName)) {
        problems.add(`${where}: has both free means '${prefix}${muName}' and a position network 'mu_transform'`);
        get(prefix + muName);
      }
      const src = get(prefix + 'source_grid');
      let d = -1;
      if (!src) problems.add(`${where}: has a position network but no '${prefix}source_grid' (neurons, dims)`);
      else if (src.shape.length !== 2 || (n > 0 && src.shape[0] !== n)) {
        problems.add(
          `${where}: '${prefix}source_grid' has shape ${shapeString(src.shape)}, expected (${n > 0 ? n : 'neurons'}, dims)`,
        );
      } else d = src.shape[1];
      if (linearIdx.length === 0) problems.add(`${where}: has '${prefix}source_grid' but no 'mu_transform.0.weight'`);
      const linears: PositionNetworkSpec['linears'] = [];
      let inF = d;
      linearIdx.forEach((idx, j) => {
        const wk = `${prefix}mu_transform.${idx}.weight`;
        const bk = `${prefix}mu_transform.${idx}.bias`;
        const lw = get(wk);
        const lb = get(bk);
        if (idx !== 2 * j)
          problems.add(
            `${where}: position network layer '${wk}' is at index ${idx}, expected ${2 * j} (Linear layers at 0, 2, 4, ... with ELU between)`,
          );
        if (lw?.shape.length !== 2) {
          problems.add(
            `${where}: '${wk}' has shape ${lw ? shapeString(lw.shape) : '?'}, expected (out_features, in_features)`,
          );
          return;
        }
        const [o, iF] = lw.shape;
        if (inF > 0 && iF !== inF)
          problems.add(
            `${where}: '${wk}' has shape ${shapeString(lw.shape)}, expected (${o}, ${inF}) (${inF} inputs from ${j === 0 ? 'source_grid' : `mu_transform.${linearIdx[j - 1]}`})`,
          );
        if (!lb) problems.add(`${where}: missing '${bk}' (${o},)`);
        else if (!sameShape(lb.shape, [o]))
          problems.add(`${where}: '${bk}' has shape ${shapeString(lb.shape)}, expected (${o},)`);
        linears.push({ index: idx, inFeatures: iF, outFeatures: o });
        inF = o;
      });
      for (const p of names) {
        const m = /^mu_transform\.(\d+)\.bias$/.exec(p);
        if (m && !linearIdx.includes(Number(m[1]))) problems.add(`${where}: '${prefix}${p}' has no matching weight`);
      }
      if (linears.length > 0 && linears[linears.length - 1].outFeatures !== 2) {
        problems.add(
          `${where}: the position network's last layer outputs ${linears[linears.length - 1].outFeatures} features, expected 2 (x, y)`,
        );
      }
      const gmp = config.grid_mean_predictor;
      if (!gmp)
        notes.push(
          `readout '${key}' has a position network but the config has no grid_mean_predictor; assuming final_tanh=true`,
        );
      else if (given.has('grid_mean_predictor') && gmp.hidden_layers !== linears.length - 1) {
        notes.push(
          `config grid_mean_predictor.hidden_layers=${gmp.hidden_layers}, readout '${key}' has ${linears.length - 1}; following the checkpoint`,
        );
      }
      positionNetwork = { inputDimensions: d, linears, finalTanh: gmp ? gmp.final_tanh : true };
    } else {
      const mu = get(prefix + muName);
      if (!mu)
        problems.add(
          `${where}: missing '${prefix}_mu' (1, neurons, 1, 2) or a position network ('mu_transform.*' and 'source_grid')`,
        );
      else if (!sameShape(mu.shape, [1, n > 0 ? n : mu.shape[1], 1, 2])) {
        problems.add(
          `${where}: '${prefix}${muName}' has shape ${shapeString(mu.shape)}, expected (1, ${n > 0 ? n : 'neurons'}, 1, 2)`,
        );
      }
      if (given.has('grid_mean_predictor') && config.grid_mean_predictor) {
        notes.push(`config has a grid_mean_predictor, readout '${key}' stores free means; following the checkpoint`);
      }
    }
    const parameters =
      gaussianParameters(n, c, gaussType, !!bias, positionNetwork, names.has(muName) && !hasMlp) +
      (shareIndex && feat ? n + (feat.shape[3] - n) * c : 0);
    out.push({
      key,
      prefix,
      kind: 'gaussian',
      neurons: n,
      channels: c,
      gaussType,
      bias: !!bias,
      positionNetwork,
      factorized: null,
      parameters,
      sharing: shareIndex && feat ? { matches: feat.shape[3], source: key, original: true } : null,
    });
  }
  groupSharedReadouts(out, sd, problems);
  return out;
}

/** A readout's `feature_sharing_index` (N) when it has sharing keys (both must be there), else null. */
function sharingIndexOf(
  prefix: string,
  where: string,
  names: Set<string>,
  get: Getter,
  problems: Problems,
): Int32Array | null {
  if (!names.has('scales') && !names.has('feature_sharing_index')) return null;
  const t = get(prefix + 'feature_sharing_index');
  if (!names.has('scales') || !t) {
    get(prefix + 'scales');
    problems.add(
      `${where}: shared features need both '${prefix}scales' and '${prefix}feature_sharing_index', found only '${prefix}${t ? 'feature_sharing_index' : 'scales'}'`,
    );
    return null;
  }
  if (t.shape.length !== 1 || t.dtype === 'bool') {
    problems.add(
      `${where}: '${prefix}feature_sharing_index' has shape ${shapeString(t.shape)}, expected (neurons,) integers`,
    );
    return null;
  }
  return Int32Array.from(toFloat32(t));
}

/** Checks `scales` and the index against M shared vectors (the `_features` shape already read). */
function checkSharing(
  prefix: string,
  where: string,
  index: Int32Array,
  matches: number,
  scalesShape: number[],
  get: Getter,
  problems: Problems,
): void {
  const problem = sharingIndexProblem(index, index.length, matches);
  if (problem) problems.add(`${where}: '${prefix}feature_sharing_index' ${problem}`);
  const scales = get(prefix + 'scales');
  if (scales && !sameShape(scales.shape, scalesShape))
    problems.add(
      `${where}: '${prefix}scales' has shape ${shapeString(scales.shape)}, expected (${scalesShape.join(', ')})`,
    );
}

/**
 * Every readout with shared features reads the first one's (neuralpredictors' MultiReadoutSharedParametersBase
 * shares the first data key's): same kind, same `_features` shape and values (PyTorch saves the one tensor under
 * each readout). Marks each readout's source and whether it is the original; counts the features once.
 */
function groupSharedReadouts(readouts: ReadoutArchitecture[], sd: StateDict, problems: Problems): void {
  const shared = readouts.filter((r) => r.sharing);
  if (shared.length === 0) return;
  const first = shared[0];
  const firstFeat = sd.get(first.prefix + '_features') ?? sd.get(first.prefix + 'features');
  const values = firstFeat ? toFloat32(firstFeat) : null;
  for (const r of shared.slice(1)) {
    r.sharing = { matches: r.sharing!.matches, source: first.key, original: false };
    r.parameters -= r.sharing.matches * r.channels;
    const feat = sd.get(r.prefix + '_features') ?? sd.get(r.prefix + 'features');
    const where = `readout '${r.key}'`;
    if (r.kind !== first.kind)
      problems.add(`${where}: shares features with readout '${first.key}', a ${first.kind} readout, but is ${r.kind}`);
    else if (!feat || !values || !sameShape(feat.shape, firstFeat!.shape))
      problems.add(
        `${where}: shares features with readout '${first.key}' (it has scales and feature_sharing_index), but its _features ${feat ? shapeString(feat.shape) : 'are missing'} differ from ${shapeString(firstFeat?.shape ?? [])}`,
      );
    else {
      const mine = toFloat32(feat);
      if (mine.some((v, i) => v !== values[i] && !(Number.isNaN(v) && Number.isNaN(values[i]))))
        problems.add(
          `${where}: shares features with readout '${first.key}' (it has scales and feature_sharing_index), but its _features values differ from '${first.key}'s`,
        );
    }
  }
}

function gaussianParameters(
  n: number,
  c: number,
  gaussType: GaussType,
  bias: boolean,
  net: PositionNetworkSpec | null,
  freeMu: boolean,
): number {
  if (n < 0 || c < 0) return 0;
  const netParams = net ? net.linears.reduce((a, l) => a + l.outFeatures * (l.inFeatures + 1), 0) : 0;
  return n * c + (bias ? n : 0) + n * sigmaSize(gaussType) + (freeMu ? 2 * n : 0) + netParams;
}

/**
 * A FullFactorized2d under `readout.<key>.`: `spatial` (N, h, w) with h x w the core's output map, `_features`
 * (N, C) with C its channels, `bias` (N) optional; the options from the config. Keys of a FullGaussian2d beside
 * them are a mix of both readouts and refused.
 */
function inferFactorized(
  key: string,
  names: Set<string>,
  config: ModelConfig,
  core: CoreArchitecture | null,
  get: Getter,
  problems: Problems,
  shareIndex: Int32Array | null = null,
): FactorizedReadoutArchitecture {
  const prefix = `readout.${key}.`;
  const where = `readout '${key}'`;
  const gaussian = [...names].filter(
    (p) => ['sigma', '_mu', 'mu', 'source_grid'].includes(p) || p.startsWith('mu_transform.'),
  );
  if (gaussian.length > 0) {
    const keys = gaussian.map((p) => `'${prefix}${p}'`).join(', ');
    problems.add(
      `${where}: has a FullFactorized2d mask '${prefix}spatial' and FullGaussian2d keys (${keys}): one readout cannot be both`,
    );
    for (const p of gaussian) get(prefix + p);
  }
  let n = -1,
    c = -1,
    h = -1,
    w = -1;
  const [, coreH, coreW] = core ? core.outputShape : [0, -1, -1];
  const spatial = get(prefix + 'spatial')!;
  if (spatial.shape.length !== 3) {
    problems.add(
      `${where}: '${prefix}spatial' has shape ${shapeString(spatial.shape)}, expected (neurons, height, width) ` +
        "(FullFactorized2d's mask)",
    );
  } else {
    [n, h, w] = spatial.shape;
    if (core && (h !== coreH || w !== coreW)) {
      problems.add(
        `${where}: '${prefix}spatial' has shape ${shapeString(spatial.shape)}, a ${h}x${w} mask, but the core outputs ` +
          `${coreH}x${coreW} maps (for the config's input_shape ${config.input_shape.join('x')}; check 'input_shape' and 'pad_input')`,
      );
    }
  }
  const featName = names.has('_features') ? '_features' : names.has('features') ? 'features' : '_features';
  const feat = get(prefix + featName);
  if (!feat) problems.add(`${where}: missing '${prefix}_features' (neurons, channels)`);
  else if (feat.shape.length !== 2 || (!shareIndex && n > 0 && feat.shape[0] !== n)) {
    problems.add(
      `${where}: '${prefix}${featName}' has shape ${shapeString(feat.shape)}, expected (${shareIndex ? 'matches' : n > 0 ? n : 'neurons'}, channels) ` +
        "(FullFactorized2d's features)",
    );
  } else {
    c = feat.shape[1];
    if (n < 0) n = shareIndex ? shareIndex.length : feat.shape[0];
    if (shareIndex) {
      if (shareIndex.length !== n)
        problems.add(
          `${where}: '${prefix}feature_sharing_index' has ${shareIndex.length} entries, the mask ${n} neurons`,
        );
      checkSharing(prefix, where, shareIndex, feat.shape[0], [n, 1], get, problems);
    }
    if (core && core.outputChannels > 0 && c !== core.outputChannels) {
      problems.add(
        `${where}: '${prefix}${featName}' has ${c} channels, but the core outputs ${core.outputChannels} ` +
          `(layers ${core.stack.join(', ')} stacked; check the config's 'stack')`,
      );
    }
  }
  const bias = get(prefix + 'bias');
  if (bias && n > 0 && !sameShape(bias.shape, [n])) {
    problems.add(`${where}: '${prefix}bias' has shape ${shapeString(bias.shape)}, expected (${n},)`);
  }
  const M = shareIndex && feat ? feat.shape[0] : 0;
  const parameters =
    n > 0 && c > 0 && h > 0 && w > 0 ? n * h * w + (shareIndex ? M * c + n : n * c) + (bias ? n : 0) : 0;
  return {
    key,
    prefix,
    kind: 'factorized',
    neurons: n,
    channels: c,
    bias: !!bias,
    parameters,
    gaussType: null,
    positionNetwork: null,
    factorized: { height: h, width: w, options: factorizedOptionsFromConfig(config) },
    sharing: shareIndex && feat ? { matches: M, source: key, original: true } : null,
  };
}

/** The neuralpredictors class of the core: 'Stacked2dCore' or 'TransferLearningCore'. */
export function coreClassName(core: CoreArchitecture): string {
  return core.transferLearning ? 'TransferLearningCore' : 'Stacked2dCore';
}

/** Human-readable summary, as printed by `v1x info`. */
export function describeArchitecture(arch: ModelArchitecture): string[] {
  const c = arch.core;
  const lines: string[] = [];
  const tl = c.transferLearning;
  lines.push(
    `core: ${coreClassName(c)}, ${c.layers.length} ${tl ? `conv layers (${tl.modelName}'s features cut after ${tl.layers} children${c.inputRepeat && c.inputRepeat > 1 ? `, the image repeated to ${c.inputRepeat} channels` : ''})` : 'layers'}, input ${c.inputShape.join('x')} (C x H x W), output ${c.outputShape.join('x')}`,
  );
  for (const l of c.layers) {
    const conv =
      l.kind === 'conv'
        ? `conv ${l.convs[0].kernel.join('x')} ${l.inChannels}->${l.outChannels}${l.convs[0].biasKey ? ' +bias' : ''}`
        : `depth-separable 1x1 ${l.inChannels}->${l.outChannels}, ${l.convs[1].kernel.join('x')} depthwise, 1x1 ${l.outChannels}->${l.outChannels}${l.convs.some((v) => v.biasKey) ? ' +bias' : ''}`;
    const pad = l.convs.map((v) => v.padding).find((p) => p[0] || p[1]);
    const norm = l.batchNorm ? `BatchNorm${l.batchNorm.affine ? '' : ' (not affine)'}` : 'no norm';
    const extras = [l.scaleKey ? 'scale' : '', l.biasKey ? 'bias' : ''].filter(Boolean).join(', ');
    lines.push(
      `  ${l.childIndex === undefined ? `layer${l.index}` : `features.${l.childIndex}`}: ${conv}, padding ${pad ? pad.join(',') : 0} -> ${norm}${extras ? ', ' + extras : ''}${l.elu ? ' -> ELU' : ''}${l.relu ? ' -> ReLU' : ''}${l.maxPool ? ` -> max pool ${l.maxPool.kernel}x${l.maxPool.kernel} stride ${l.maxPool.stride}` : ''}  => ${l.outChannels}x${l.outHeight}x${l.outWidth}`,
    );
  }
  lines.push(`  stack: layer${c.stack.length > 1 ? 's' : ''} ${c.stack.join(', ')}`);
  if (arch.readouts.length === 0) lines.push('readouts: none (core only)');
  for (const r of arch.readouts) {
    const head =
      `readout '${r.key}'${r.key === arch.defaultReadout ? ' (default)' : ''}: ${readoutClassName(r.kind)}, ` +
      `${r.neurons} neurons, ${r.channels} features`;
    const sh = r.sharing;
    const params =
      (sh
        ? sh.original
          ? `, ${sh.matches} feature vectors shared with the other readouts, a scale per neuron`
          : `, the feature vectors of readout '${sh.source}' (${sh.matches}), a scale per neuron`
        : '') + `; ${r.parameters.toLocaleString('en-US')} parameters`;
    if (r.kind === 'factorized') {
      const f = r.factorized,
        o = f.options;
      const opts = [
        o.normalize ? 'normalized' : 'not normalized',
        o.constrainPos ? 'constrain_pos' : '',
        o.positiveSpatial ? 'positive_spatial' : '',
        o.positiveWeights ? 'positive_weights' : '',
      ]
        .filter(Boolean)
        .join(', ');
      lines.push(`${head}, mask ${f.height}x${f.width} (${opts})${r.bias ? ', bias' : ''}${params}`);
      continue;
    }
    const pos = r.positionNetwork
      ? `position network ${[r.positionNetwork.inputDimensions, ...r.positionNetwork.linears.map((l) => l.outFeatures)].join('->')}${r.positionNetwork.finalTanh ? ' + tanh' : ''} from source_grid`
      : 'free means';
    lines.push(`${head}, sigma ${r.gaussType}, ${pos}${r.bias ? ', bias' : ''}${params}`);
  }
  lines.push(`output: elu(x + ${arch.eluOffset}) + 1`);
  for (const n of arch.notes) lines.push(`note: ${n}`);
  return lines;
}
