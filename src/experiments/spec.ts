/**
 * An experiment as a JSON spec (issue 13): a scan, a model (the checkpoint whose core the `loaded` condition
 * freezes and whose config gives every condition's architecture), conditions (a core crossed with a readout),
 * nested training-set sizes, seeds and one training protocol for every condition. `parseExperimentSpec` checks
 * it and fills in defaults; every error names the key, e.g. `spec key 'sizes[1]' must be ...`.
 *
 * Conditions: `core` is `loaded` (the checkpoint's core, frozen: transfer), `random` (a fresh core of the same
 * architecture, frozen, its BatchNorm running statistics fitted to the cell's training images), `direct` (core
 * and readout trained end to end on the cell's training images) or `split` (with `split`: a core trained end to
 * end on one set of the scan's neurons, frozen, and transferred to the other set, Lurz et al. Fig. 4), or a
 * task-driven core (Lurz et al.'s VGG16 baseline, vgg_core.ts: VGG16 cut after conv2_2, its BatchNorm fitted to the
 * cell's training images, ReLU, frozen): `vgg` (torchvision's weights from the file `model.vgg16`) or `vgg_random`
 * (torchvision's init from the cell's seed). `readout`
 * is a Gaussian readout whose positions come from the neurons' cortical coordinates through the position network
 * (`retinotopy`) or are learned per neuron (`free`), or Klindt et al.'s factorized readout (`factorized`: mask x
 * features, its regularizer weight from the model config). A new core kind is one more member of CORE_KINDS and
 * one more branch in the runner's coreFor (runner.ts); a new readout one more member of ReadoutSpec.
 *
 * Scans: `scan` (one) or `scans` (several, e.g. matched scans of the same neurons). With several scans a cell runs
 * on all of them at once and is scored on all their neurons pooled (metrics/pooled.ts): a `direct` cell trains one
 * core with one readout per scan (as neuralpredictors trains on several data keys), and with `share_features` the
 * readouts share each matched neuron's feature vector (Lurz et al. Fig. 3; train/end_to_end/shared_features.ts); a
 * frozen-core cell (`loaded`, `random`) trains one readout per scan on the frozen core (nothing couples them: the
 * core does not change). `split`, `neurons` and the VGG cores take one scan.
 *
 * Neurons: `neurons` ({ count, seed }) restricts every condition to a seeded subset of the scan's neurons (fewer
 * neurons: faster readouts); `split` ({ seed, core_neurons, transfer_neurons, core_images }) draws two disjoint
 * sets: the `split` core trains on the first, and every condition is scored on the second. Data partitions:
 * `partitions` lists seeds of the train tier's permutation; each gives its own nested training sets, and every
 * (condition, size) is run for every partition and seed (without it, one partition from protocol.subset_seed).
 */

export type CoreKind = 'loaded' | 'random' | 'direct' | 'split' | 'vgg' | 'vgg_random';
export const CORE_KINDS: readonly CoreKind[] = ['loaded', 'random', 'direct', 'split', 'vgg', 'vgg_random'];

export type GaussianPositions = 'retinotopy' | 'free';
export interface GaussianReadoutSpec {
  kind: 'gaussian';
  positions: GaussianPositions;
}
/** Klindt et al.'s FullFactorized2d; its options and regularizer weight come from the model config. */
export interface FactorizedReadoutSpec {
  kind: 'factorized';
}
export type ReadoutSpec = GaussianReadoutSpec | FactorizedReadoutSpec;
export const READOUT_KINDS: readonly ReadoutSpec['kind'][] = ['gaussian', 'factorized'];

/** `gaussian-retinotopy`, `gaussian-free`, `factorized`: the readout in one word (CSV, plots). */
export function readoutLabel(r: ReadoutSpec): string {
  return r.kind === 'gaussian' ? `gaussian-${r.positions}` : r.kind;
}

export interface ConditionSpec {
  /** Unique in the spec; names the condition in results, CSV and plots. */
  name: string;
  core: CoreKind;
  readout: ReadoutSpec;
  /**
   * The scans' readouts share each matched neuron's features (neuralpredictors' share_features; `direct` cores and
   * several scans only). Absent unless true, so the hash of a condition without it is what it was.
   */
  share_features?: true;
}

export interface ProtocolSpec {
  /** Adam's initial learning rate. */
  lr: number;
  batch_size: number;
  /** Safety cap; training stops earlier by early stopping on the validation correlation. */
  max_epochs: number;
  /**
   * A second cap, on image presentations (epochs x training images), or null: a cell of n images stops after at
   * most min(max_epochs, ceil(max_images / n)) epochs. The same rule for every condition; it bounds the cost of
   * direct cells at large n (an epoch of a whole model costs ~10x a frozen core's readout epoch).
   */
  max_images: number | null;
  /** Epochs without improvement before the learning rate decays (or training stops). */
  patience: number;
  /** Learning-rate decays before training stops. */
  lr_decay_steps: number;
  /** L1 on the readout features; null: the model config's gamma_readout. */
  gamma_readout: number | null;
  /** Seed of the permutation of the train tier whose first n trials are the size-n training set (nested). */
  subset_seed: number;
}

/** A core set and a transfer set of one scan's neurons (Lurz Fig. 4). */
export interface SplitSpec {
  /** Seed of the neuron permutation: the first core_neurons are the core set, the next transfer_neurons the other. */
  seed: number;
  core_neurons: number;
  transfer_neurons: number;
  /**
   * Training images of the split core (the first of the train tier's permutation by protocol.subset_seed), or
   * null: the whole train tier. Trained once (seed = split.seed) with the protocol, shared by every cell.
   */
  core_images: number | null;
}

export interface ExperimentSpec {
  name: string;
  description: string;
  /** Scans (zip or folder), relative to the spec file: the JSON's `scan`, or its `scans` (several). */
  scans: string[];
  /** `vgg16`: torchvision's VGG16 state_dict (vgg16-397923af.pth) for `vgg` cores; absent unless given (the hash). */
  model: { checkpoint: string | null; config: string | null; vgg16?: string };
  conditions: ConditionSpec[];
  /** Training images per cell, increasing; the sets are nested (a larger one only adds images). */
  sizes: number[];
  /** One run per seed and cell: the seed initializes the readout (and the core of random and direct cells). */
  seeds: number[];
  /** Seeds of the train tier's permutation, one set of nested training sets each; null: protocol.subset_seed only. */
  partitions: number[] | null;
  /** Every condition on a seeded subset of the scan's neurons, or null: all of them. */
  neurons: { count: number; seed: number } | null;
  /** Core set / transfer set of the scan's neurons, or null; needed by `split` cores. */
  split: SplitSpec | null;
  protocol: ProtocolSpec;
}

export const DEFAULT_PROTOCOL: ProtocolSpec = {
  lr: 0.005,
  batch_size: 64,
  max_epochs: 200,
  max_images: null,
  patience: 5,
  lr_decay_steps: 3,
  gamma_readout: null,
  subset_seed: 0,
};

export class SpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SpecError';
  }
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fail(key: string, what: string, v: unknown): never {
  throw new SpecError(`spec key '${key}' ${what}, got ${JSON.stringify(v)}`);
}

function onlyKeys(o: Obj, known: readonly string[], at: string): void {
  for (const k of Object.keys(o)) {
    if (!known.includes(k)) {
      throw new SpecError(`spec key '${at ? `${at}.` : ''}${k}' is not known (known: ${known.join(', ')})`);
    }
  }
}

function str(v: unknown, key: string): string {
  if (typeof v !== 'string' || v.length === 0) fail(key, 'must be a non-empty string', v);
  return v;
}

function int(v: unknown, key: string, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) fail(key, `must be an integer >= ${min}`, v);
  return v;
}

function positive(v: unknown, key: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) fail(key, 'must be a positive number', v);
  return v;
}

function parseReadout(v: unknown, key: string): ReadoutSpec {
  // "gaussian" is short for the Gaussian readout with retinotopy
  if (v === 'gaussian') return { kind: 'gaussian', positions: 'retinotopy' };
  if (v === 'factorized') return { kind: 'factorized' };
  if (!isObj(v)) fail(key, "must be 'gaussian', 'factorized' or an object { kind, positions }", v);
  if (v.kind === 'factorized') {
    onlyKeys(v, ['kind'], key);
    return { kind: 'factorized' };
  }
  onlyKeys(v, ['kind', 'positions'], key);
  if (v.kind !== 'gaussian') fail(`${key}.kind`, `must be one of ${READOUT_KINDS.join(', ')}`, v.kind);
  const positions = v.positions ?? 'retinotopy';
  if (positions !== 'retinotopy' && positions !== 'free')
    fail(`${key}.positions`, "must be 'retinotopy' or 'free'", positions);
  return { kind: 'gaussian', positions };
}

function parseCondition(v: unknown, key: string): ConditionSpec {
  if (!isObj(v)) fail(key, 'must be an object { name, core, readout }', v);
  onlyKeys(v, ['name', 'core', 'readout', 'share_features'], key);
  const core = v.core;
  if (!CORE_KINDS.includes(core as CoreKind)) fail(`${key}.core`, `must be one of ${CORE_KINDS.join(', ')}`, core);
  const readout = parseReadout(v.readout ?? 'gaussian', `${key}.readout`);
  const share = v.share_features ?? false;
  if (typeof share !== 'boolean') fail(`${key}.share_features`, 'must be true or false', share);
  if (share && core !== 'direct') {
    fail(`${key}.share_features`, "needs core 'direct' (features are shared while the core and readouts train)", share);
  }
  const name =
    v.name === undefined ? defaultConditionName(core as CoreKind, readout, share) : str(v.name, `${key}.name`);
  if (!/^[A-Za-z0-9_.+-]+$/.test(name)) fail(`${key}.name`, 'may hold only letters, digits and _ . + -', name);
  return { name, core: core as CoreKind, readout, ...(share ? { share_features: true as const } : {}) };
}

/**
 * `loaded`, `random`, `direct`, `split`, with `-free` for free positions, `-factorized` for that readout and
 * `-shared` for shared features.
 */
export function defaultConditionName(core: CoreKind, readout: ReadoutSpec, shareFeatures = false): string {
  const base =
    readout.kind === 'factorized' ? `${core}-factorized` : readout.positions === 'free' ? `${core}-free` : core;
  return shareFeatures ? `${base}-shared` : base;
}

function parseProtocol(v: unknown): ProtocolSpec {
  if (v === undefined) return { ...DEFAULT_PROTOCOL };
  if (!isObj(v)) fail('protocol', 'must be an object', v);
  onlyKeys(v, Object.keys(DEFAULT_PROTOCOL), 'protocol');
  const p = { ...DEFAULT_PROTOCOL };
  if (v.lr !== undefined) p.lr = positive(v.lr, 'protocol.lr');
  if (v.batch_size !== undefined) p.batch_size = int(v.batch_size, 'protocol.batch_size', 1);
  if (v.max_epochs !== undefined) p.max_epochs = int(v.max_epochs, 'protocol.max_epochs', 1);
  if (v.max_images !== undefined && v.max_images !== null) p.max_images = int(v.max_images, 'protocol.max_images', 1);
  if (v.patience !== undefined) p.patience = int(v.patience, 'protocol.patience', 1);
  if (v.lr_decay_steps !== undefined) p.lr_decay_steps = int(v.lr_decay_steps, 'protocol.lr_decay_steps', 1);
  if (v.gamma_readout !== undefined && v.gamma_readout !== null) {
    if (typeof v.gamma_readout !== 'number' || !(v.gamma_readout >= 0)) {
      fail('protocol.gamma_readout', 'must be a number >= 0 or null', v.gamma_readout);
    }
    p.gamma_readout = v.gamma_readout;
  }
  if (v.subset_seed !== undefined) p.subset_seed = int(v.subset_seed, 'protocol.subset_seed', 0);
  return p;
}

/** Checks a parsed JSON value as an experiment spec, filling in defaults. */
export function parseExperimentSpec(v: unknown): ExperimentSpec {
  if (!isObj(v)) throw new SpecError(`an experiment spec must be a JSON object, got ${JSON.stringify(v)}`);
  onlyKeys(
    v,
    [
      'name',
      'description',
      'scan',
      'scans',
      'model',
      'conditions',
      'sizes',
      'seeds',
      'partitions',
      'neurons',
      'split',
      'protocol',
    ],
    '',
  );
  const name = v.name === undefined ? 'experiment' : str(v.name, 'name');
  const description =
    v.description === undefined
      ? ''
      : typeof v.description === 'string'
        ? v.description
        : fail('description', 'must be a string', v.description);
  if ((v.scan === undefined) === (v.scans === undefined)) {
    throw new SpecError("an experiment spec needs 'scan' (one scan) or 'scans' (a list), not both");
  }
  let scans: string[];
  if (v.scans !== undefined) {
    if (!Array.isArray(v.scans) || v.scans.length === 0) fail('scans', 'must be a non-empty list of paths', v.scans);
    scans = v.scans.map((s, i) => str(s, `scans[${i}]`));
    if (new Set(scans).size !== scans.length) fail('scans', 'must not name a scan twice', v.scans);
  } else scans = [str(v.scan, 'scan')];
  let model: ExperimentSpec['model'] = { checkpoint: null, config: null };
  if (v.model !== undefined) {
    if (!isObj(v.model)) fail('model', 'must be an object { checkpoint, config }', v.model);
    onlyKeys(v.model, ['checkpoint', 'config', 'vgg16'], 'model');
    model = {
      checkpoint: v.model.checkpoint == null ? null : str(v.model.checkpoint, 'model.checkpoint'),
      config: v.model.config == null ? null : str(v.model.config, 'model.config'),
    };
    if (v.model.vgg16 != null) model.vgg16 = str(v.model.vgg16, 'model.vgg16');
  }
  if (!Array.isArray(v.conditions) || v.conditions.length === 0) {
    fail('conditions', 'must be a non-empty list of { name, core, readout }', v.conditions);
  }
  const conditions = v.conditions.map((c, i) => parseCondition(c, `conditions[${i}]`));
  const names = new Set<string>();
  conditions.forEach((c, i) => {
    if (names.has(c.name)) throw new SpecError(`spec key 'conditions[${i}].name': '${c.name}' names two conditions`);
    names.add(c.name);
  });
  const vgg = conditions.findIndex((c) => c.core === 'vgg');
  if (vgg >= 0 && !model.vgg16) {
    throw new SpecError(
      `spec key 'model.vgg16' is needed: conditions[${vgg}] uses the pretrained VGG16 core (torchvision's vgg16-397923af.pth)`,
    );
  }
  const loaded = conditions.findIndex((c) => c.core === 'loaded');
  if (loaded >= 0 && !model.checkpoint) {
    throw new SpecError(`spec key 'model.checkpoint' is needed: conditions[${loaded}] uses the loaded core`);
  }
  if (!Array.isArray(v.sizes) || v.sizes.length === 0)
    fail('sizes', 'must be a non-empty list of image counts', v.sizes);
  const sizes = v.sizes.map((s, i) => int(s, `sizes[${i}]`, 1));
  for (let i = 1; i < sizes.length; i++) {
    if (sizes[i] <= sizes[i - 1])
      fail(`sizes[${i}]`, `must be larger than sizes[${i - 1}] (${sizes[i - 1]})`, sizes[i]);
  }
  if (!Array.isArray(v.seeds) || v.seeds.length === 0) fail('seeds', 'must be a non-empty list of integers', v.seeds);
  const seeds = v.seeds.map((s, i) => int(s, `seeds[${i}]`, 0));
  if (new Set(seeds).size !== seeds.length) fail('seeds', 'must not repeat a seed', v.seeds);
  let partitions: number[] | null = null;
  if (v.partitions !== undefined && v.partitions !== null) {
    if (!Array.isArray(v.partitions) || v.partitions.length === 0)
      fail('partitions', 'must be a non-empty list of integers (seeds of the training-set permutation)', v.partitions);
    partitions = v.partitions.map((s, i) => int(s, `partitions[${i}]`, 0));
    if (new Set(partitions).size !== partitions.length) fail('partitions', 'must not repeat a seed', v.partitions);
  }
  let neurons: ExperimentSpec['neurons'] = null;
  if (v.neurons !== undefined && v.neurons !== null) {
    if (!isObj(v.neurons)) fail('neurons', 'must be an object { count, seed }', v.neurons);
    onlyKeys(v.neurons, ['count', 'seed'], 'neurons');
    neurons = { count: int(v.neurons.count, 'neurons.count', 1), seed: int(v.neurons.seed ?? 0, 'neurons.seed', 0) };
  }
  let split: SplitSpec | null = null;
  if (v.split !== undefined && v.split !== null) {
    if (!isObj(v.split))
      fail('split', 'must be an object { seed, core_neurons, transfer_neurons, core_images }', v.split);
    onlyKeys(v.split, ['seed', 'core_neurons', 'transfer_neurons', 'core_images'], 'split');
    split = {
      seed: int(v.split.seed ?? 0, 'split.seed', 0),
      core_neurons: int(v.split.core_neurons, 'split.core_neurons', 1),
      transfer_neurons: int(v.split.transfer_neurons, 'split.transfer_neurons', 1),
      core_images: v.split.core_images == null ? null : int(v.split.core_images, 'split.core_images', 1),
    };
    if (neurons) throw new SpecError("spec keys 'neurons' and 'split' cannot both be given (split draws its own sets)");
  }
  const usesSplit = conditions.findIndex((c) => c.core === 'split');
  if (usesSplit >= 0 && !split) {
    throw new SpecError(`spec key 'split' is needed: conditions[${usesSplit}] uses the split core`);
  }
  if (scans.length > 1) {
    if (split)
      throw new SpecError("spec key 'split' takes one scan (it splits one scan's neurons), 'scans' has several");
    if (neurons) throw new SpecError("spec key 'neurons' takes one scan, 'scans' has several");
    const vggAt = conditions.findIndex((c) => c.core === 'vgg' || c.core === 'vgg_random');
    if (vggAt >= 0) fail(`conditions[${vggAt}].core`, "takes one scan ('scans' has several)", conditions[vggAt].core);
  } else {
    const shareAt = conditions.findIndex((c) => c.share_features);
    if (shareAt >= 0) {
      fail(`conditions[${shareAt}].share_features`, "needs several scans of the same neurons ('scans')", true);
    }
  }
  return {
    name,
    description,
    scans,
    model,
    conditions,
    sizes,
    seeds,
    partitions,
    neurons,
    split,
    protocol: parseProtocol(v.protocol),
  };
}

/** JSON with object keys sorted, so that equal specs hash equally. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (isObj(v)) {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * The hash that keys a condition's finished cells for --resume: what determines such a cell's result (scan and
 * model paths as written, the protocol, the condition's core and readout), not the list of sizes and seeds, so a
 * spec that adds seeds or sizes reuses the cells it already has. 16 hex digits of sha256.
 */
export async function conditionHash(spec: ExperimentSpec, condition: ConditionSpec): Promise<string> {
  // keys added later enter the hash only when set, so cells written before they existed stay resumable
  const { max_images, ...protocol } = spec.protocol;
  const what: Record<string, unknown> = {
    v: 1,
    // one scan hashes as before `scans` existed
    ...(spec.scans.length === 1 ? { scan: spec.scans[0] } : { scans: spec.scans }),
    model: spec.model,
    protocol: max_images === null ? protocol : spec.protocol,
    core: condition.core,
    readout: condition.readout,
  };
  if (condition.share_features) what.share_features = true;
  if (spec.neurons) what.neurons = spec.neurons;
  if (spec.split) what.split = spec.split;
  const d = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(canonicalJson(what)));
  return Array.from(new Uint8Array(d).subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join('');
}
