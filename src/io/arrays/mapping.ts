/**
 * Proposes which array is which from shapes (and, to break ties, names): the page shows the proposal in its
 * mapping dialog for the user to confirm or change, and `v1x convert` needs none (its flags name the arrays).
 * Only shapes, dtypes and names are looked at, never values.
 */
import type { ArrayInfo, ArrayMapping } from './types';

export interface MappingProposal {
  /** null when no (images, responses) pair fits: no 3-D/4-D array whose first axis matches a 2-D array's. */
  mapping: ArrayMapping | null;
  /** One line each: what was recognized as what, and arrays left unused. */
  notes: string[];
}

const base = (name: string) =>
  name
    .split('/')
    .pop()!
    .replace(/\.(npy|npz)$/i, '')
    .toLowerCase();
const isNumeric = (a: ArrayInfo) => a.dtype !== 'string' && a.dtype !== 'bool';
const isInteger = (a: ArrayInfo) => /int/.test(a.dtype);
const hint = (a: ArrayInfo, re: RegExp) => (re.test(base(a.name)) ? 1 : 0);

const IMAGE = /im(a)?g|stim|frame|movie|^x$|^x_|_x$/;
const RESPONSE = /resp|spike|dff|df_?f|fluo|activ|rate|count|^y$|^y_|_y$/;
const TEST = /test|repeat|rep(s)?$|oracle/;

/** The image axes (C, H, W) of an (N, H, W) or (N, C, H, W) array. */
function imageAxes(a: ArrayInfo): number[] {
  return a.shape.length === 3 ? [1, a.shape[1], a.shape[2]] : a.shape.slice(1);
}
const sameAxes = (a: number[], b: number[]) => a.length === b.length && a.every((v, i) => v === b[i]);

export function proposeMapping(arrays: ArrayInfo[]): MappingProposal {
  const notes: string[] = [];
  const imageLike = arrays.filter((a) => isNumeric(a) && (a.shape.length === 3 || a.shape.length === 4));
  const matrices = arrays.filter((a) => isNumeric(a) && a.shape.length === 2);
  let best: { images: ArrayInfo; responses: ArrayInfo; score: number } | null = null;
  for (const x of imageLike)
    for (const y of matrices) {
      if (x.shape[0] !== y.shape[0] || x.shape[0] === 0) continue;
      // names first, then not a test array, then the most trials
      const score = 4 * (hint(x, IMAGE) + hint(y, RESPONSE)) - 2 * (hint(x, TEST) + hint(y, TEST)) + x.shape[0] / 1e9;
      if (!best || score > best.score) best = { images: x, responses: y, score };
    }
  if (!best) {
    notes.push(
      'no images and responses found: need an (N, H, W) or (N, C, H, W) array and an (N, neurons) array with the same N',
    );
    return { mapping: null, notes };
  }
  const used = new Set([best.images.name, best.responses.name]);
  const N = best.images.shape[0];
  const K = best.responses.shape[1];
  const axes = imageAxes(best.images);
  const mapping: ArrayMapping = { images: best.images.name, responses: best.responses.name };
  notes.push(`${best.images.name}: ${N} images; ${best.responses.name}: ${K} neurons`);

  // Test repeats (R, M, K) with their (M, ...) images.
  const repeats = arrays
    .filter((a) => !used.has(a.name) && isNumeric(a) && a.shape.length === 3 && a.shape[2] === K)
    .sort((a, b) => hint(b, TEST) - hint(a, TEST));
  for (const r of repeats) {
    const M = r.shape[1];
    const imgs = imageLike
      .filter((a) => !used.has(a.name) && a !== r && a.shape[0] === M && sameAxes(imageAxes(a), axes))
      .sort((a, b) => hint(b, TEST) - hint(a, TEST));
    if (imgs.length) {
      mapping.testRepeats = r.name;
      mapping.testImages = imgs[0].name;
      used.add(r.name).add(imgs[0].name);
      notes.push(`${imgs[0].name} with ${r.name}: ${M} test images x ${r.shape[0]} repeats`);
      break;
    }
  }
  const vectors = (n: number) => arrays.filter((a) => !used.has(a.name) && a.shape.length === 1 && a.shape[0] === n);
  const tiers = vectors(N).find((a) => a.dtype === 'string');
  if (tiers) {
    mapping.tiers = tiers.name;
    used.add(tiers.name);
  }
  const ids = vectors(N)
    .filter((a) => isInteger(a))
    .sort((a, b) => hint(b, /id/) - hint(a, /id/));
  if (ids.length && (N !== K || hint(ids[0], /image|frame|stim/))) {
    mapping.frameImageId = ids[0].name;
    used.add(ids[0].name);
  }
  const coords = arrays.find(
    (a) => !used.has(a.name) && isNumeric(a) && a.shape.length === 2 && a.shape[0] === K && a.shape[1] === 3,
  );
  if (coords) {
    mapping.coordinates = coords.name;
    used.add(coords.name);
  }
  const units = vectors(K).find((a) => isInteger(a) && (N !== K || hint(a, /unit|neuron|cell/)));
  if (units) {
    mapping.unitIds = units.name;
    used.add(units.name);
  }
  if (!mapping.tiers)
    notes.push(
      mapping.testRepeats
        ? 'no tiers: the single-presentation trials are split into train and validation (seeded)'
        : 'no tiers and no test repeats: the trials are split into train and validation (seeded); no test tier',
    );
  const unused = arrays.filter((a) => !used.has(a.name)).map((a) => a.name);
  if (unused.length) notes.push(`not used: ${unused.join(', ')}`);
  return { mapping, notes };
}
