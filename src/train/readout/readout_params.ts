/**
 * The trainer's view of a readout (TrainableReadout, model/readout_types.ts): its learnable arrays as a parameter
 * list, its Gaussian means, deep copies and in-place restores, and the size checks, for either kind.
 */
import {
  sigmaSize,
  type TrainableFactorizedReadout,
  type TrainableGaussianReadout,
  type TrainableReadout,
} from '../../model/readout_types';
import { positionNetForward } from './position_net';

/** One learnable array with its gradient buffer; the optimizer walks a list of these. */
export interface Param {
  /** neuralpredictors name under `readout.<data_key>.` (e.g. `_features`, `mu_transform.0.weight`). */
  name: string;
  value: Float32Array;
  grad: Float32Array;
}

/**
 * Every learnable array of the readout, in neuralpredictors' parameter order, with zeroed gradients: a Gaussian's
 * `_mu` (free means), `sigma`, `_features`, `bias`, `mu_transform.*`; a factorized one's `_features`, `spatial`,
 * `bias`.
 */
export function readoutParams(r: TrainableReadout): Param[] {
  const p: Param[] = [];
  const add = (name: string, value: Float32Array): void => {
    p.push({ name, value, grad: new Float32Array(value.length) });
  };
  if (r.kind === 'factorized') {
    add('_features', r.features);
    add('spatial', r.spatial);
    add('bias', r.bias);
    return p;
  }
  if (r.mu) add('_mu', r.mu);
  add('sigma', r.sigma);
  add('_features', r.features);
  add('bias', r.bias);
  r.positionNet?.layers.forEach((l, k) => {
    add(`mu_transform.${2 * k}.weight`, l.weight);
    add(`mu_transform.${2 * k}.bias`, l.bias);
  });
  return p;
}

/**
 * The parameters' values (or, with `of` 'grad', their gradients) end to end, in the list's order (readoutParams'
 * order for a readout's list), into `out` when given (it must be long enough).
 */
export function flattenParams(
  params: ReadonlyArray<Pick<Param, 'value' | 'grad'>>,
  out: Float32Array = new Float32Array(params.reduce((a, p) => a + p.value.length, 0)),
  of: 'value' | 'grad' = 'value',
): Float32Array {
  let o = 0;
  for (const p of params) {
    out.set(p[of], o);
    o += p[of].length;
  }
  return out;
}

/**
 * The inverse of flattenParams: `flat` back into the parameters' values (or gradients), or added to them with
 * `add`. Throws unless `flat` holds exactly the parameters' size.
 */
export function unflattenParams(
  params: ReadonlyArray<Pick<Param, 'value' | 'grad'>>,
  flat: Float32Array,
  into: 'value' | 'grad',
  add = false,
): void {
  let o = 0;
  for (const p of params) {
    const a = p[into];
    if (o + a.length > flat.length) throw new Error(`${flat.length} values for parameters of more`);
    if (add) for (let i = 0; i < a.length; i++) a[i] += flat[o + i];
    else a.set(flat.subarray(o, o + a.length));
    o += a.length;
  }
  if (o !== flat.length) throw new Error(`${flat.length} values for parameters of ${o}`);
}

/** Gaussian means (N, 2) before the clamp: the free means or the position network's output. */
export function readoutMeans(r: TrainableGaussianReadout): Float64Array {
  if (r.mu) return Float64Array.from(r.mu);
  if (!r.positionNet || !r.sourceGrid) throw new Error('readout has neither free means nor a position network');
  return positionNetForward(r.positionNet, r.sourceGrid, r.neurons).output;
}

/** A deep copy (for best-state snapshots and exports that must not change under training). */
export function cloneReadout<R extends TrainableReadout>(r: R): R {
  if (r.kind === 'factorized') {
    const f: TrainableFactorizedReadout = r;
    const copy = {
      ...f,
      spatial: f.spatial.slice(),
      features: f.features.slice(),
      bias: f.bias.slice(),
      options: { ...f.options },
    };
    return copy as R;
  }
  const g: TrainableGaussianReadout = r as TrainableGaussianReadout;
  return {
    ...g,
    features: g.features.slice(),
    bias: g.bias.slice(),
    sigma: g.sigma.slice(),
    mu: g.mu ? g.mu.slice() : null,
    sourceGrid: g.sourceGrid ? g.sourceGrid.slice() : null,
    positionNet: g.positionNet
      ? {
          finalTanh: g.positionNet.finalTanh,
          layers: g.positionNet.layers.map((l) => ({ ...l, weight: l.weight.slice(), bias: l.bias.slice() })),
        }
      : null,
  } as R;
}

/** Copies every value of `src` into `dst` in place (same structure), keeping `dst`'s arrays (the optimizer holds them). */
export function copyReadoutInto(dst: TrainableReadout, src: TrainableReadout): void {
  if (dst.kind !== src.kind) throw new Error(`readouts differ in kind (${dst.kind}, ${src.kind})`);
  const a = readoutParams(dst),
    b = readoutParams(src);
  if (a.length !== b.length) throw new Error('readouts differ in structure');
  a.forEach((p, i) => {
    if (p.value.length !== b[i].value.length) throw new Error(`readouts differ in ${p.name}`);
    p.value.set(b[i].value);
  });
}

export function checkReadout(r: TrainableReadout): void {
  const { neurons: N, channels: C } = r;
  const need = (what: string, arr: { length: number } | null, n: number): void => {
    if (!arr || arr.length !== n)
      throw new Error(`readout ${what}: expected ${n} values, got ${arr ? arr.length : 'none'}`);
  };
  need('features', r.features, N * C);
  need('bias', r.bias, N);
  if (r.kind === 'factorized') {
    if (!(r.height > 0 && r.width > 0)) throw new Error(`readout mask: ${r.height}x${r.width} is not a map size`);
    need('spatial', r.spatial, N * r.height * r.width);
    return;
  }
  need('sigma', r.sigma, N * sigmaSize(r.gaussType));
  if (r.mu) need('mu', r.mu, 2 * N);
  else if (r.positionNet && r.sourceGrid) need('source grid', r.sourceGrid, N * r.positionNet.layers[0].inFeatures);
  else throw new Error('readout has neither free means nor a position network');
}
