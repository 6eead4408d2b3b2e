/**
 * Plain arrays + a mapping -> the FileTree scan they describe (FileTreeScan of scan/file_tree_writer.ts), checked on
 * the way: every problem is an InputError naming the array's file and what is wrong. The result is written as a
 * zip by `v1x convert` and loaded by the page through the FileTree loader (to_scan.ts), so both read the same
 * trials, tiers, image ids and statistics.
 *
 * Trials: first the N trials of `images` / `responses` in their order, then, with test repeats (R, M, K), for each
 * test image m its R repeats (tier 'test', one image id per test image). Tiers come from `tiers`, else a seeded
 * split of the single-presentation trials' images into 'train' and 'validation'.
 */

import { Rng } from '../../util/rng';
import { type HostArray, type HostTensor, InputError, shapeString, toFloat32 } from '../host_tensor';
import { checkScanData, type FileTreeScan } from '../scan/file_tree_writer';
import { listSome } from '../scan/layout';
import { toFloat64 } from '../scan/read_meta';
import { type ArrayMapping, type ArrayRole, DEFAULT_SPLIT, type NamedArray, type SplitOptions } from './types';

export interface BuildOptions {
  /** The scan's folder name (letters, digits, . _ -). */
  name: string;
  /** Used only when the mapping has no tiers; default DEFAULT_SPLIT (10% validation, seed 0). */
  split?: SplitOptions;
  /**
   * The recording's animal, session and scan ids, written as meta/neurons/{animal_ids,sessions,scan_idx}.npy: the
   * Sensorium loader names the scan's readout '<animal>-<session>-<scan>' from them. Without them the data key is
   * the scan's name.
   */
  ids?: { animalId: number; session: number; scanIdx: number };
}

export interface BuiltScan {
  data: FileTreeScan;
  /** What was done that the user should know (conversions, the split), one line each. */
  notes: string[];
}

function numericArray(a: NamedArray, what: string): HostTensor {
  if (a.array.dtype === 'string') throw new InputError(a.name, `wrong dtype: ${what} must be numeric, found strings`);
  if (a.array.dtype === 'bool') throw new InputError(a.name, `wrong dtype: ${what} must be numeric, found bool`);
  return a.array;
}

/** (N, H, W) -> (N, 1, H, W); (N, C, H, W) as is. */
function imageShape(a: NamedArray, what: string): [number, number, number, number] {
  const s = a.array.shape;
  if (s.length === 3) return [s[0], 1, s[1], s[2]];
  if (s.length === 4) {
    if (s[3] <= 4 && s[1] > 4)
      throw new InputError(
        a.name,
        `${what} of shape ${shapeString(s)} look channels-last (N, H, W, C); save them as (N, C, H, W), e.g. np.transpose(x, (0, 3, 1, 2))`,
      );
    return [s[0], s[1], s[2], s[3]];
  }
  throw new InputError(a.name, `wrong shape ${shapeString(s)}: ${what} must be (N, H, W) or (N, C, H, W)`);
}

/** Pixel values as uint8 (kept) or float32, every value finite. */
function pixels(a: NamedArray, what: string): Uint8Array | Float32Array {
  const t = numericArray(a, what);
  if (t.dtype === 'uint8') return t.data as Uint8Array;
  const f = toFloat32(t);
  const bad = f.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new InputError(a.name, `${what} hold NaN or Inf (first at flat index ${bad})`);
  return f;
}

/** Finite float32 values; `where(i)` names a flat index for the message. */
function finiteFloats(a: NamedArray, what: string, where: (i: number) => string): Float32Array {
  const f = toFloat32(numericArray(a, what));
  for (let i = 0; i < f.length; i++)
    if (!Number.isFinite(f[i]))
      throw new InputError(a.name, `${what} hold NaN or Inf (first at ${where(i)}); remove or replace those values`);
  return f;
}

/** Whole numbers as plain numbers (ids). */
function integers(a: NamedArray, what: string): number[] {
  const t = numericArray(a, what);
  const values = Array.from(toFloat64(t));
  const bad = values.findIndex((v) => !Number.isInteger(v));
  if (bad >= 0) throw new InputError(a.name, `${what} must be whole numbers, found ${values[bad]} at index ${bad}`);
  return values;
}

/** Image ids from content: trials whose images are byte-for-byte equal share an id (0, 1, ... in first-seen order). */
export function idsFromContent(images: Uint8Array | Float32Array, trials: number): number[] {
  const bytes = new Uint8Array(images.buffer, images.byteOffset, images.byteLength);
  const size = bytes.length / trials;
  const firstOf = new Map<number, number[]>();
  const ids = new Array<number>(trials);
  let next = 0;
  for (let t = 0; t < trials; t++) {
    const o = t * size;
    let h = 0x811c9dc5;
    for (let i = 0; i < size; i++) h = Math.imul(h ^ bytes[o + i], 0x01000193);
    const same = (u: number) => {
      for (let i = 0; i < size; i++) if (bytes[u * size + i] !== bytes[o + i]) return false;
      return true;
    };
    const candidates = firstOf.get(h) ?? [];
    const match = candidates.find(same);
    if (match !== undefined) ids[t] = ids[match];
    else {
      ids[t] = next++;
      candidates.push(t);
      firstOf.set(h, candidates);
    }
  }
  return ids;
}

/** 'train' / 'validation' for the given trials: a seeded share of their distinct image ids goes to validation. */
export function splitTiers(ids: number[], split: SplitOptions): string[] {
  const f = split.validationFraction;
  if (!(f >= 0 && f < 1)) throw new RangeError(`the validation fraction must be in [0, 1), got ${f}`);
  if (!Number.isInteger(split.seed)) throw new RangeError(`the split seed must be an integer, got ${split.seed}`);
  const distinct = [...new Set(ids)].sort((a, b) => a - b);
  let nVal = Math.round(f * distinct.length);
  if (f > 0 && nVal === 0 && distinct.length >= 2) nVal = 1;
  const perm = new Rng(split.seed).permutation(distinct.length);
  const validation = new Set<number>();
  for (let k = 0; k < nVal; k++) validation.add(distinct[perm[k]]);
  return ids.map((id) => (validation.has(id) ? 'validation' : 'train'));
}

export function arraysToScanData(arrays: NamedArray[], mapping: ArrayMapping, opts: BuildOptions): BuiltScan {
  const notes: string[] = [];
  const byName = new Map(arrays.map((a) => [a.name, a]));
  const roleOf = new Map<string, ArrayRole>();
  const get = (role: ArrayRole): NamedArray | undefined => {
    const name = mapping[role];
    if (name === undefined) return undefined;
    const a = byName.get(name);
    if (!a)
      throw new InputError(
        name,
        `is mapped to ${role} but is not among the arrays given (${listSome([...byName.keys()], 8)})`,
      );
    const other = roleOf.get(name);
    if (other) throw new InputError(name, `is mapped to both ${other} and ${role}; each array plays one part`);
    roleOf.set(name, role);
    return a;
  };
  const imagesA = get('images'),
    responsesA = get('responses');
  if (!imagesA || !responsesA) throw new Error('the mapping needs images and responses');
  const [N, C, H, W] = imageShape(imagesA, 'images');
  if (N === 0 || C * H * W === 0)
    throw new InputError(imagesA.name, `holds no pixels (shape ${shapeString(imagesA.array.shape)})`);
  const per = C * H * W;
  const rs = responsesA.array.shape;
  if (rs.length !== 2)
    throw new InputError(responsesA.name, `wrong shape ${shapeString(rs)}: responses must be (N, neurons)`);
  if (rs[0] !== N)
    throw new InputError(
      responsesA.name,
      `has ${rs[0]} rows (trials) but ${imagesA.name} has ${N} images; one response row per image`,
    );
  const K = rs[1];
  if (K === 0) throw new InputError(responsesA.name, 'holds no neurons (0 columns)');

  // ---- test repeats -------------------------------------------------------------------------------------
  const testImagesA = get('testImages'),
    repeatsA = get('testRepeats');
  if (!!testImagesA !== !!repeatsA) {
    const [have, missing] = testImagesA
      ? [testImagesA.name, 'test repeats (R, M, neurons)']
      : [repeatsA!.name, 'test images (M, H, W)'];
    throw new InputError(have, `test arrays come in pairs: also give the ${missing}`);
  }
  let M = 0,
    R = 0;
  if (testImagesA && repeatsA) {
    const [m, c, h, w] = imageShape(testImagesA, 'test images');
    if (c !== C || h !== H || w !== W)
      throw new InputError(
        testImagesA.name,
        `test images are ${c}x${h}x${w}, the images (${imagesA.name}) ${C}x${H}x${W}`,
      );
    const s = repeatsA.array.shape;
    if (s.length !== 3)
      throw new InputError(repeatsA.name, `wrong shape ${shapeString(s)}: test repeats must be (R, M, neurons)`);
    if (s[1] !== m)
      throw new InputError(
        repeatsA.name,
        `has ${s[1]} test images on its second axis, ${testImagesA.name} holds ${m} (shape (R, M, neurons))`,
      );
    if (s[2] !== K)
      throw new InputError(
        repeatsA.name,
        `has ${s[2]} neurons on its last axis, ${responsesA.name} has ${K} (shape (R, M, neurons))`,
      );
    M = m;
    R = s[0];
    if (M === 0 || R === 0) throw new InputError(repeatsA.name, `holds no test trials (shape ${shapeString(s)})`);
  }
  const T = N + R * M;

  // ---- pixels and responses ------------------------------------------------------------------------------
  const mainPixels = pixels(imagesA, 'images');
  const testPixels = testImagesA ? pixels(testImagesA, 'test images') : undefined;
  for (const a of [imagesA, testImagesA])
    if (a && a.array.dtype !== 'uint8' && a.array.dtype !== 'float32')
      notes.push(`${a.name}: ${a.array.dtype} pixels stored as float32`);
  let images: Uint8Array | Float32Array;
  if (!testPixels) images = mainPixels;
  else {
    const asUint8 = mainPixels instanceof Uint8Array && testPixels instanceof Uint8Array;
    images = asUint8 ? new Uint8Array(T * per) : new Float32Array(T * per);
    images.set(mainPixels, 0);
    for (let m = 0; m < M; m++)
      for (let r = 0; r < R; r++) images.set(testPixels.subarray(m * per, (m + 1) * per), (N + m * R + r) * per);
  }
  const mainResponses = finiteFloats(responsesA, 'responses', (i) => `trial ${Math.floor(i / K)}, neuron ${i % K}`);
  let responses: Float32Array;
  if (!repeatsA) responses = mainResponses;
  else {
    const rep = finiteFloats(
      repeatsA,
      'test repeats',
      (i) => `repeat ${Math.floor(i / (M * K))}, test image ${Math.floor(i / K) % M}, neuron ${i % K}`,
    );
    responses = new Float32Array(T * K);
    responses.set(mainResponses, 0);
    for (let m = 0; m < M; m++)
      for (let r = 0; r < R; r++)
        responses.set(rep.subarray((r * M + m) * K, (r * M + m + 1) * K), (N + m * R + r) * K);
  }
  if (responses !== mainResponses || images !== mainPixels)
    notes.push(`test tier: ${M} images x ${R} repeats = ${R * M} trials after the ${N} others`);

  // ---- image ids ----------------------------------------------------------------------------------------
  const idsA = get('frameImageId');
  let ids: number[];
  if (idsA) {
    if (idsA.array.shape.length !== 1 || idsA.array.shape[0] !== N)
      throw new InputError(
        idsA.name,
        `wrong shape ${shapeString(idsA.array.shape)}: image ids must be (${N},), one per image of ${imagesA.name}`,
      );
    ids = integers(idsA, 'image ids');
  } else {
    ids = idsFromContent(mainPixels, N);
    const distinct = new Set(ids).size;
    if (distinct < N)
      notes.push(`${N - distinct} trials show an image shown before (same pixels): they share its image id`);
  }
  let nextId = 0;
  for (const id of ids) nextId = Math.max(nextId, id + 1);
  const frameImageId = [...ids];
  for (let m = 0; m < M; m++) for (let r = 0; r < R; r++) frameImageId.push(nextId + m);

  // ---- tiers --------------------------------------------------------------------------------------------
  const tiersA = get('tiers');
  let tiers: string[];
  if (tiersA) {
    const t = tiersA.array;
    if (t.dtype !== 'string')
      throw new InputError(
        tiersA.name,
        `wrong dtype: tiers must be strings ('train', 'validation', 'test'), found ${t.dtype}`,
      );
    if (t.shape.length !== 1 || t.shape[0] !== N)
      throw new InputError(
        tiersA.name,
        `wrong shape ${shapeString(t.shape)}: tiers must be (${N},), one per image of ${imagesA.name}`,
      );
    const bad = t.data.findIndex((s) => !/^[A-Za-z0-9_]+$/.test(s));
    if (bad >= 0)
      throw new InputError(
        tiersA.name,
        `tier ${JSON.stringify(t.data[bad])} of trial ${bad} is not a plain word like 'train'`,
      );
    if (repeatsA && t.data.includes('test'))
      throw new InputError(
        tiersA.name,
        `has 'test' trials and test repeats are given too (${repeatsA.name}); give the test tier one way`,
      );
    tiers = [...t.data];
    if (opts.split) notes.push('tiers given: no split');
  } else {
    const split = opts.split ?? DEFAULT_SPLIT;
    tiers = splitTiers(ids, split);
    const nVal = tiers.filter((x) => x === 'validation').length;
    notes.push(
      `split: ${N - nVal} train / ${nVal} validation trials (validation fraction ${split.validationFraction} of the images, seed ${split.seed})`,
    );
  }
  for (let k = 0; k < R * M; k++) tiers.push('test');
  for (const need of ['train', 'validation'])
    if (!tiers.includes(need)) notes.push(`no '${need}' trials: fine-tuning needs train and validation trials`);

  // ---- neurons ------------------------------------------------------------------------------------------
  const unitsA = get('unitIds');
  let unitIds: number[] = Array.from({ length: K }, (_, i) => i);
  if (unitsA) {
    if (unitsA.array.shape.length !== 1 || unitsA.array.shape[0] !== K)
      throw new InputError(
        unitsA.name,
        `wrong shape ${shapeString(unitsA.array.shape)}: unit ids must be (${K},), one per neuron`,
      );
    unitIds = integers(unitsA, 'unit ids');
    if (new Set(unitIds).size !== K) throw new InputError(unitsA.name, 'unit ids must be unique');
  }
  const coordsA = get('coordinates');
  let cellMotorCoordinates: Float64Array | undefined;
  if (coordsA) {
    const s = coordsA.array.shape;
    if (s.length !== 2 || s[0] !== K || s[1] !== 3)
      throw new InputError(
        coordsA.name,
        `wrong shape ${shapeString(s)}: cortical coordinates must be (${K}, 3), x, y, z per neuron`,
      );
    cellMotorCoordinates = Float64Array.from(
      finiteFloats(coordsA, 'coordinates', (i) => `neuron ${Math.floor(i / 3)}`),
    );
  }
  if (!/^[A-Za-z0-9._-]+$/.test(opts.name))
    throw new InputError(opts.name, 'the scan name must be a plain folder name (letters, digits, . _ -)');
  const data: FileTreeScan = {
    name: opts.name,
    ...opts.ids,
    imageShape: [C, H, W],
    images,
    responses,
    neurons: K,
    tiers,
    frameImageId,
    unitIds,
    cellMotorCoordinates,
  };
  checkScanData(data);
  return { data, notes };
}

/** The arrays a mapping uses, by role (for messages and the dialog). */
export function describeArray(a: HostArray): string {
  return `${shapeString(a.shape)} ${a.dtype}`;
}
