/**
 * neuralpredictors' TransferLearningCore (layers/cores/conv2d.py): a torchvision network's `features` cut after
 * `layers` children, then `OutBatchNorm` (BatchNorm2d, when final_batchnorm) and `OutNonlin` (ReLU, when
 * final_nonlinearity); a greyscale image is repeated to the 3 channels the network takes. Its state_dict keys are
 * `core.features.TransferLearning.<child>.weight/bias` (only the convs have parameters) and
 * `core.features.OutBatchNorm.*`. What the weights cannot tell (which network, so which children are ReLUs and
 * pools and how the convs pad; where the cut is when it ends after a ReLU or a pool) comes from the config:
 * `tl_model_name` (default vgg16), `layers` (default: just after the last conv with weights), `final_batchnorm`,
 * `final_nonlinearity`.
 *
 * The cut is expressed in the Stacked2dCore's layer terms (architecture.ts), so the one forward pass
 * (core.ts), the views, export and training serve both cores: one layer per conv child, with the ReLU and
 * max-pool children after it as the layer's `relu` and `maxPool`, and OutBatchNorm / OutNonlin on the last layer.
 * Supported networks: torchvision's VGGs without BatchNorm (vgg11, vgg13, vgg16, vgg19), whose `features` are
 * 3x3 convs with padding 1 and bias, each followed by a ReLU, and 2x2 stride-2 max pools.
 */
import { type HostTensor, shapeString } from '../io/host_tensor';
import type { BatchNormSpec, ConvSpec, CoreArchitecture, CoreLayerSpec } from './architecture';
import type { ModelConfig } from './config';
import { convOutSize, poolOutSize } from './conv_geometry';

export const TL_PREFIX = 'core.features.TransferLearning.';
export const OUT_BATCHNORM_PREFIX = 'core.features.OutBatchNorm.';
export const DEFAULT_TL_MODEL = 'vgg16';
/** VGG16 up to conv2_2 (conv1_1, ReLU, conv1_2, ReLU, pool, conv2_1, ReLU, conv2_2): Lurz et al. 2021's read-out layer. */
export const VGG16_CONV2_2_LAYERS = 8;

/** torchvision/models/vgg.py `cfgs`: conv output channels in order, 'M' a MaxPool2d(2, 2). */
const VGG_CFGS: Readonly<Record<string, readonly (number | 'M')[]>> = {
  vgg11: [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  vgg13: [64, 64, 'M', 128, 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  vgg16: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'],
  vgg19: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 256, 'M', 512, 512, 512, 512, 'M', 512, 512, 512, 512, 'M'],
};
export const TL_MODEL_NAMES: readonly string[] = Object.keys(VGG_CFGS);

/** One child of a torchvision network's `features` (an nn.Sequential). */
export type FeatureChild =
  | { kind: 'conv'; inChannels: number; outChannels: number; kernel: number; padding: number }
  | { kind: 'relu' }
  | { kind: 'maxpool'; kernel: number; stride: number };

/** The children of `torchvision.models.<name>().features`, or null for a network not listed in TL_MODEL_NAMES. */
export function torchvisionFeatures(name: string): FeatureChild[] | null {
  const cfg = Object.hasOwn(VGG_CFGS, name) ? VGG_CFGS[name] : undefined;
  if (!cfg) return null;
  const out: FeatureChild[] = [];
  let c = 3;
  for (const v of cfg) {
    if (v === 'M') out.push({ kind: 'maxpool', kernel: 2, stride: 2 });
    else {
      out.push({ kind: 'conv', inChannels: c, outChannels: v, kernel: 3, padding: 1 }, { kind: 'relu' });
      c = v;
    }
  }
  return out;
}

/** What a TransferLearningCore is, beyond its layers (neuralpredictors' constructor arguments). */
export interface TransferLearningSpec {
  /** tl_model_name: the torchvision network. */
  modelName: string;
  /** layers: how many children of its `features` are kept. */
  layers: number;
  finalBatchNorm: boolean;
  finalNonlinearity: boolean;
  /** The kept children in words, e.g. ['conv 3->64', 'ReLU', ...]. */
  children: string[];
}

export function describeChild(c: FeatureChild): string {
  if (c.kind === 'conv') return `conv ${c.kernel}x${c.kernel} ${c.inChannels}->${c.outChannels}`;
  return c.kind === 'relu' ? 'ReLU' : `MaxPool ${c.kernel}x${c.kernel}/${c.stride}`;
}

export function hasTransferLearningKeys(sd: { keys(): Iterable<string> }): boolean {
  for (const k of sd.keys()) if (k.startsWith(TL_PREFIX) || k.startsWith(OUT_BATCHNORM_PREFIX)) return true;
  return false;
}

type Getter = (key: string) => HostTensor | undefined;
interface ProblemList {
  add(msg: string): void;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * The core's architecture from the `core.features.TransferLearning.*` and `core.features.OutBatchNorm.*` keys and
 * the config; problems are added to `problems` (and null returned when nothing sensible can be built).
 */
export function inferTransferLearningCore(
  sd: { keys(): Iterable<string>; has(key: string): boolean },
  config: ModelConfig,
  get: Getter,
  problems: ProblemList,
  notes: string[],
  given: Set<string>,
): CoreArchitecture | null {
  const modelName = config.tl_model_name ?? DEFAULT_TL_MODEL;
  const children = torchvisionFeatures(modelName);
  if (!children) {
    problems.add(
      `config tl_model_name '${modelName}' is not a supported network (supported: ${TL_MODEL_NAMES.join(', ')})`,
    );
    return null;
  }
  const indices = new Set<number>();
  for (const key of sd.keys()) {
    if (!key.startsWith(TL_PREFIX)) continue;
    const m = /^(\d+)\.(weight|bias)$/.exec(key.slice(TL_PREFIX.length));
    if (!m) {
      problems.add(`unexpected key '${key}' (a ${modelName} features child has only 'weight' and 'bias')`);
      get(key);
      continue;
    }
    const i = Number(m[1]);
    if (i >= children.length || children[i].kind !== 'conv') {
      problems.add(
        `unexpected key '${key}': child ${i} of ${modelName}'s features is ${i < children.length ? `a ${describeChild(children[i])}, which has no parameters` : `not there (it has ${children.length} children)`}`,
      );
      get(key);
      continue;
    }
    indices.add(i);
  }
  if (indices.size === 0) {
    problems.add(`no '${TL_PREFIX}<i>.weight' keys: the TransferLearningCore has no convolutions`);
    return null;
  }
  const lastWeighted = Math.max(...indices);
  let layers = lastWeighted + 1;
  if (given.has('layers')) {
    if (config.layers < lastWeighted + 1) {
      problems.add(
        `config layers=${config.layers} keeps ${config.layers} children of ${modelName}'s features, but the checkpoint has weights for child ${lastWeighted}`,
      );
    } else if (config.layers > children.length) {
      problems.add(`config layers=${config.layers}, but ${modelName}'s features has ${children.length} children`);
    } else if (children.slice(lastWeighted + 1, config.layers).some((c) => c.kind === 'conv')) {
      const missing = children.findIndex((c, i) => i > lastWeighted && i < config.layers && c.kind === 'conv');
      problems.add(
        `config layers=${config.layers} keeps conv child ${missing}, but the checkpoint has no '${TL_PREFIX}${missing}.weight'`,
      );
    } else layers = config.layers;
  }
  const kept = children.slice(0, layers);

  const bnKeys = ['weight', 'bias', 'running_mean', 'running_var'].filter((k) => sd.has(OUT_BATCHNORM_PREFIX + k));
  const finalBatchNorm = bnKeys.length > 0;
  if (given.has('final_batchnorm') && config.final_batchnorm !== finalBatchNorm) {
    notes.push(
      `config says final_batchnorm=${config.final_batchnorm}, the checkpoint ${finalBatchNorm ? 'has' : 'has no'} '${OUT_BATCHNORM_PREFIX}*'; following the checkpoint`,
    );
  }
  if (finalBatchNorm && kept[kept.length - 1].kind !== 'conv') {
    problems.add(
      `the cut after ${layers} children of ${modelName}'s features ends with a ${describeChild(kept[kept.length - 1])}: OutBatchNorm after it is not supported (cut after a conv)`,
    );
  }

  const imageChannels = config.input_shape[0];
  let h = config.input_shape[1];
  let w = config.input_shape[2];
  const specs: CoreLayerSpec[] = [];
  let inC = imageChannels;
  let inputRepeat = 1;
  for (let i = 0; i < kept.length; i++) {
    const child = kept[i];
    if (child.kind !== 'conv') {
      const cur = specs[specs.length - 1];
      if (!cur) continue; // VGG starts with a conv; nothing to attach a leading ReLU or pool to
      if (child.kind === 'relu') cur.relu = true;
      else {
        cur.maxPool = { kernel: child.kernel, stride: child.stride };
        h = poolOutSize(h, child.kernel, child.stride);
        w = poolOutSize(w, child.kernel, child.stride);
        cur.outHeight = h;
        cur.outWidth = w;
      }
      continue;
    }
    const where = `${modelName} features child ${i} (${describeChild(child)})`;
    const wk = `${TL_PREFIX}${i}.weight`;
    const bk = `${TL_PREFIX}${i}.bias`;
    const wt = get(wk);
    const bt = get(bk);
    const expect = [child.outChannels, child.inChannels, child.kernel, child.kernel];
    if (!wt) problems.add(`${where}: missing '${wk}' ${shapeString(expect)}`);
    else if (!sameShape(wt.shape, expect))
      problems.add(`${where}: '${wk}' has shape ${shapeString(wt.shape)}, expected ${shapeString(expect)}`);
    if (bt && !sameShape(bt.shape, [child.outChannels]))
      problems.add(`${where}: '${bk}' has shape ${shapeString(bt.shape)}, expected (${child.outChannels},)`);
    if (specs.length === 0) {
      if (imageChannels === 1 && child.inChannels === 3) inputRepeat = 3;
      else if (imageChannels !== child.inChannels)
        problems.add(
          `config input_shape has ${imageChannels} channel(s), ${modelName} takes ${child.inChannels} (or a greyscale image, repeated)`,
        );
    }
    const conv: ConvSpec = {
      weightKey: wk,
      biasKey: bt ? bk : null,
      inChannels: child.inChannels,
      outChannels: child.outChannels,
      kernel: [child.kernel, child.kernel],
      groups: 1,
      stride: 1,
      dilation: 1,
      padding: [child.padding, child.padding],
    };
    h = convOutSize(h, child.kernel, 1, child.padding, 1);
    w = convOutSize(w, child.kernel, 1, child.padding, 1);
    specs.push({
      index: specs.length,
      kind: 'conv',
      childIndex: i,
      convs: [conv],
      inChannels: specs.length === 0 ? child.inChannels : inC,
      outChannels: child.outChannels,
      batchNorm: null,
      biasKey: null,
      scaleKey: null,
      elu: false,
      relu: false,
      maxPool: null,
      outHeight: h,
      outWidth: w,
    });
    inC = child.outChannels;
    if (h < 1 || w < 1) {
      problems.add(
        `${where}: an input of ${config.input_shape[1]}x${config.input_shape[2]} pixels (config input_shape) shrinks to nothing here`,
      );
      return null;
    }
  }
  const last = specs[specs.length - 1];
  if (finalBatchNorm) {
    const C = last.outChannels;
    for (const k of ['running_mean', 'running_var']) {
      if (!sd.has(OUT_BATCHNORM_PREFIX + k)) problems.add(`OutBatchNorm is missing '${OUT_BATCHNORM_PREFIX}${k}'`);
    }
    const affine = sd.has(`${OUT_BATCHNORM_PREFIX}weight`) && sd.has(`${OUT_BATCHNORM_PREFIX}bias`);
    if (!affine && (sd.has(`${OUT_BATCHNORM_PREFIX}weight`) || sd.has(`${OUT_BATCHNORM_PREFIX}bias`)))
      problems.add('OutBatchNorm has only one of weight and bias');
    for (const k of ['weight', 'bias', 'running_mean', 'running_var']) {
      const t = get(OUT_BATCHNORM_PREFIX + k);
      if (t && !sameShape(t.shape, [C]))
        problems.add(
          `'${OUT_BATCHNORM_PREFIX}${k}' has shape ${shapeString(t.shape)}, expected (${C},) (the last conv's channels)`,
        );
    }
    const nbt = get(`${OUT_BATCHNORM_PREFIX}num_batches_tracked`);
    if (nbt && nbt.shape.length !== 0 && !sameShape(nbt.shape, [1]))
      problems.add(
        `'${OUT_BATCHNORM_PREFIX}num_batches_tracked' has shape ${shapeString(nbt.shape)}, expected a scalar`,
      );
    const bn: BatchNormSpec = { prefix: OUT_BATCHNORM_PREFIX, channels: C, affine };
    last.batchNorm = bn;
  }
  // OutNonlin: a ReLU after everything (idempotent after a kept ReLU, and after a pool of ReLU outputs)
  if (config.final_nonlinearity) last.relu = true;
  return {
    inputChannels: imageChannels,
    inputRepeat,
    transferLearning: {
      modelName,
      layers,
      finalBatchNorm,
      finalNonlinearity: config.final_nonlinearity,
      children: kept.map(describeChild),
    },
    layers: specs,
    stack: [specs.length - 1],
    outputChannels: last.outChannels,
    momentum: config.momentum === undefined ? 0.1 : config.momentum,
    inputShape: [imageChannels, config.input_shape[1], config.input_shape[2]],
    outputShape: [last.outChannels, last.outHeight, last.outWidth],
  };
}
