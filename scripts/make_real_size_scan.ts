/**
 * Writes a scan shaped like the published Lurz et al. 2020 one (static20457-5-9-preproc0): 5,993 trials (4,472 train,
 * 522 validation, 999 test: 100 test images x 10 repeats, one missing), 5,335 neurons, 36x64 float32 images in 0-255,
 * cortical coordinates; given as arrays with tiers and image ids (the repeats share an id);
 * for measuring load time and memory in a browser tab (bench/real_size_scan.mjs). Made the way a user's arrays
 * are: plain arrays -> src/io/arrays -> the FileTree writer (a stored zip, ~185 MB; the published zip is ~270 MB).
 * The data are synthetic but learnable: smooth random images, and each neuron a Poisson cell driven by the
 * (blurred) image at its own pixel, so a readout fine-tuned on it reaches a positive validation correlation.
 *
 *   node --import tsx scripts/make_real_size_scan.ts --out /tmp/static-real-size.zip [--seed 1] [--neurons 5335]
 *     [--train 4472] [--validation 522] (smaller scans of the same kind, e.g. to measure fixed costs)
 *     [--arrays DIR] (also the plain arrays, as .npy files in DIR, for dropping them on the page)
 * Not committed: ~185 MB. Takes ~1 minute here.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { arraysToScanData, type NamedArray } from '../src/io/arrays';
import { writeNpy } from '../src/io/npy';
import { writeStoredScanZip } from '../src/io/scan/file_tree_writer';
import { Rng } from '../src/util/rng';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1]);
const out = args.get('out');
if (!out) throw new Error('usage: make_real_size_scan.ts --out scan.zip [--seed 1] [--neurons 5335]');
const seed = Number(args.get('seed') ?? 1);
const K = Number(args.get('neurons') ?? 5335);
const [TRAIN, VALIDATION, M, R] = [Number(args.get('train') ?? 4472), Number(args.get('validation') ?? 522), 100, 10];
const [H, W] = [36, 64];
const N = TRAIN + VALIDATION;
const rng = new Rng(seed);
const t0 = performance.now();

/** Smooth images: a coarse 10x17 random grid, bilinearly upsampled to 36x64, in 0-255. */
function images(n: number): Float32Array {
  const [gh, gw] = [10, 17];
  const out = new Float32Array(n * H * W);
  const grid = new Float32Array(gh * gw);
  for (let i = 0; i < n; i++) {
    for (let g = 0; g < grid.length; g++) grid[g] = rng.uniform();
    for (let y = 0; y < H; y++) {
      const fy = (y / (H - 1)) * (gh - 1);
      const y0 = Math.min(gh - 2, Math.floor(fy));
      const ty = fy - y0;
      for (let x = 0; x < W; x++) {
        const fx = (x / (W - 1)) * (gw - 1);
        const x0 = Math.min(gw - 2, Math.floor(fx));
        const tx = fx - x0;
        const v =
          (1 - ty) * ((1 - tx) * grid[y0 * gw + x0] + tx * grid[y0 * gw + x0 + 1]) +
          ty * ((1 - tx) * grid[(y0 + 1) * gw + x0] + tx * grid[(y0 + 1) * gw + x0 + 1]);
        out[(i * H + y) * W + x] = Math.fround(255 * v);
      }
    }
  }
  return out;
}

/** Each neuron's pixel and gain; responses Poisson(0.3 exp(gain * (pixel - 127.5) / 64)). */
const where = Int32Array.from({ length: K }, () => rng.int(H) * W + rng.int(W));
const gain = Float32Array.from({ length: K }, () => 0.8 + rng.uniform());
function responses(imgs: Float32Array, n: number, into: Float32Array, offset: number): void {
  for (let i = 0; i < n; i++)
    for (let k = 0; k < K; k++) {
      const z = (imgs[i * H * W + where[k]] - 127.5) / 64;
      into[offset + i * K + k] = rng.poisson(0.3 * Math.exp(gain[k] * z));
    }
}

// The single-presentation images, then each test image 10 times (the last one 9 times: 999 test trials).
const testTrials = M * R - 1;
const T = N + testTrials;
const single = images(N);
const test = images(M);
const all = new Float32Array(T * H * W);
all.set(single, 0);
const ids = Array.from({ length: T }, (_, i) => i);
for (let t = 0; t < testTrials; t++) {
  const m = Math.floor(t / R);
  all.set(test.subarray(m * H * W, (m + 1) * H * W), (N + t) * H * W);
  ids[N + t] = N + m;
}
const resp = new Float32Array(T * K);
responses(all, T, resp, 0);
const tiers = Array.from({ length: T }, (_, i) => (i < TRAIN ? 'train' : i < N ? 'validation' : 'test'));
const coords = Float64Array.from({ length: K * 3 }, (_, i) => (i % 3 === 2 ? 200 : rng.uniform() * 1000));
const arrays: NamedArray[] = [
  { name: 'images.npy', array: { dtype: 'float32', shape: [T, H, W], data: all } },
  { name: 'responses.npy', array: { dtype: 'float32', shape: [T, K], data: resp } },
  { name: 'tiers.npy', array: { dtype: 'string', shape: [T], data: tiers } },
  { name: 'image_ids.npy', array: { dtype: 'int64', shape: [T], data: BigInt64Array.from(ids, BigInt) } },
  { name: 'coordinates.npy', array: { dtype: 'float64', shape: [K, 3], data: coords } },
];
const arraysDir = args.get('arrays');
if (arraysDir) {
  mkdirSync(arraysDir, { recursive: true });
  for (const a of arrays) writeFileSync(join(arraysDir, a.name), writeNpy(a.array));
}
const t1 = performance.now();
const { data, notes } = arraysToScanData(
  arrays,
  {
    images: 'images.npy',
    responses: 'responses.npy',
    tiers: 'tiers.npy',
    frameImageId: 'image_ids.npy',
    coordinates: 'coordinates.npy',
  },
  { name: basename(out).replace(/\.zip$/i, '') },
);
const zip = writeStoredScanZip(data);
writeFileSync(out, zip);
const t2 = performance.now();
for (const n of notes) process.stderr.write(`${n}\n`);
process.stdout.write(
  `${JSON.stringify({ out, trials: data.tiers.length, neurons: K, image_shape: data.imageShape, bytes: zip.length, data_s: +((t1 - t0) / 1000).toFixed(1), write_s: +((t2 - t1) / 1000).toFixed(1) })}\n`,
);
