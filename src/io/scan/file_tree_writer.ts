/**
 * Writes a static scan in neuralpredictors' FileTree layout (layout.ts reads it), exactly as
 * test/fixtures/sim-scan/README.md describes static-sim-a: `<name>/config.json`, `data/{images,responses}/{i}.npy`
 * (one file per trial), `meta/trials/*`, `meta/neurons/*` and
 * `meta/statistics/{images,responses}/{all,stimulus_frame}/*`, with the directory entries that neuralpredictors'
 * `zip_dir` writes. Every array is .npy 1.0, little-endian, C order, no pickles. The one writer of the project:
 * the simulators (src/sim) and `v1x convert` (plain arrays, src/io/arrays) both call it. Runs anywhere (no Node
 * APIs); the Node folder writer is src/sim/write_dir_node.ts.
 */
import { type HostArray, numel } from '../host_tensor';
import { writeNpy } from '../npy';
import { writeZip, type ZipInput } from '../zip_archive';
import { writeStoredZip } from '../zip_store_writer';

/** Integer-valued sequences (ids, indices): any array or typed array. */
export type Ints = ArrayLike<number> & Iterable<number>;

/** Everything a FileTree static scan holds, raw (unnormalized), in file-index order. */
export interface FileTreeScan {
  /** Root folder of the scan (e.g. 'static-sim-b'); also what the Lurz 2020 loader names it after. */
  name: string;
  /** [C, H, W] of each image. */
  imageShape: [number, number, number];
  /**
   * Pixel values, (trials, C, H, W): uint8 (written as uint8, as the simulators and Sensorium do) or float32
   * (written as float32, as the Lurz 2020 scans hold them).
   */
  images: Uint8Array | Float32Array;
  /** Responses, (trials, neurons) row-major, non-negative, in the scan's own units. */
  responses: Float32Array;
  neurons: number;
  /** 'train' | 'validation' | 'test' | 'final_test' per trial. */
  tiers: string[];
  /** Image shown in each trial; the repeats of a test image share it. */
  frameImageId: Ints;
  /** Per trial; default 'natural' for every trial. */
  frameImageClass?: string[];
  /** Presentation order (a permutation of 0..trials-1); default the file order. */
  trialIdx?: Ints;
  /** Unique unit ids, per neuron. */
  unitIds: Ints;
  /**
   * meta/neurons/{animal_ids,sessions,scan_idx}.npy (one value for every neuron), written only when given: the
   * Sensorium loader names a scan's readout after them. Non-zero (the Lurz 2020 builder uses
   * cell_motor_coordinates only for non-zero animal ids).
   */
  animalId?: number;
  session?: number;
  scanIdx?: number;
  /** Per neuron or one for all; default 'V1'. */
  area?: string | string[];
  /** Per neuron or one for all; default 'L2/3'. */
  layer?: string | string[];
  /** x, y, z in micrometres, (neurons, 3) row-major; meta/neurons/cell_motor_coordinates.npy only when given. */
  cellMotorCoordinates?: Float64Array;
  /**
   * Ground-truth cell type of each neuron (integers 0..K-1), for simulated cell-type populations; written as
   * `meta/neurons/cell_types.npy` (int64) only when given, so scans without it are unchanged.
   */
  cellTypes?: Ints;
  /**
   * Each neuron's match id across scans of the same neurons (`meta/neurons/multi_match_id.npy`, int64, as
   * neuralpredictors reads it; feature sharing uses it), written only when given.
   */
  multiMatchId?: Ints;
}

/** A simulated scan: uint8 images, with its neuron ids and cortical coordinates always present. */
export interface ScanData extends FileTreeScan {
  images: Uint8Array;
  animalId: number;
  session: number;
  scanIdx: number;
  cellMotorCoordinates: Float64Array;
}

export interface Stats {
  mean: Float32Array;
  std: Float32Array;
  min: Float32Array;
  max: Float32Array;
  median: Float32Array;
}

/** Checks that the arrays of a ScanData fit together; throws with what is wrong. */
export function checkScanData(s: FileTreeScan): number {
  const trials = s.tiers.length;
  const per = numel(s.imageShape);
  const fail = (what: string) => {
    throw new Error(`scan '${s.name}': ${what}`);
  };
  if (!/^[A-Za-z0-9._-]+$/.test(s.name)) fail('the name must be a plain folder name (letters, digits, . _ -)');
  if (s.images.length !== trials * per)
    fail(`images hold ${s.images.length} values, expected ${trials} trials x ${s.imageShape.join('x')}`);
  if (s.responses.length !== trials * s.neurons)
    fail(`responses hold ${s.responses.length} values, expected ${trials} trials x ${s.neurons} neurons`);
  if (s.frameImageId.length !== trials) fail(`${s.frameImageId.length} frame_image_id values for ${trials} trials`);
  if (s.trialIdx && s.trialIdx.length !== trials) fail(`${s.trialIdx.length} trial_idx values for ${trials} trials`);
  if (s.frameImageClass && s.frameImageClass.length !== trials)
    fail(`${s.frameImageClass.length} frame_image_class values for ${trials} trials`);
  if (s.unitIds.length !== s.neurons) fail(`${s.unitIds.length} unit ids for ${s.neurons} neurons`);
  if (s.cellMotorCoordinates && s.cellMotorCoordinates.length !== 3 * s.neurons)
    fail(`cell_motor_coordinates hold ${s.cellMotorCoordinates.length} values, expected ${s.neurons} x 3`);
  for (const a of [s.area, s.layer])
    if (Array.isArray(a) && a.length !== s.neurons) fail(`${a.length} area/layer labels for ${s.neurons} neurons`);
  if (s.multiMatchId) {
    if (s.multiMatchId.length !== s.neurons) fail(`${s.multiMatchId.length} match ids for ${s.neurons} neurons`);
    for (const t of s.multiMatchId) if (!Number.isInteger(t)) fail(`match ids must be integers, found ${t}`);
  }
  if (s.cellTypes) {
    if (s.cellTypes.length !== s.neurons) fail(`${s.cellTypes.length} cell types for ${s.neurons} neurons`);
    for (const t of s.cellTypes)
      if (!Number.isInteger(t) || t < 0) fail(`cell types must be integers >= 0, found ${t}`);
  }
  return trials;
}

/** Trials whose statistics the scan stores: the `train` tier (all trials when there is none). */
export function statisticsTrials(tiers: string[]): number[] {
  const train = tiers.flatMap((t, i) => (t === 'train' ? [i] : []));
  return train.length ? train : tiers.map((_, i) => i);
}

/**
 * Pixel statistics over every pixel of the given trials: mean, std (ddof 0), min, max, median (NumPy's: the
 * mean of the two middle values for an even count). 0-d float32 arrays, as the statistics files hold them.
 * uint8 images go through a 256-bin histogram; float images through one copy of the pixels and a selection (medianOf).
 */
export function imageStatistics(
  images: Uint8Array | Float32Array,
  pixelsPerImage: number,
  trials: ArrayLike<number>,
): Stats {
  if (images instanceof Float32Array) return floatImageStatistics(images, pixelsPerImage, trials);
  const hist = new Float64Array(256);
  for (let k = 0; k < trials.length; k++) {
    const o = trials[k] * pixelsPerImage;
    for (let p = 0; p < pixelsPerImage; p++) hist[images[o + p]]++;
  }
  const n = trials.length * pixelsPerImage;
  let s = 0,
    lo = 255,
    hi = 0;
  for (let v = 0; v < 256; v++)
    if (hist[v]) {
      s += v * hist[v];
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  const mean = s / n;
  let ss = 0;
  for (let v = 0; v < 256; v++) ss += hist[v] * (v - mean) ** 2;
  const nth = (k: number) => {
    let c = 0;
    for (let v = 0; v < 256; v++) {
      c += hist[v];
      if (c > k) return v;
    }
    return 255;
  };
  const median = n % 2 ? nth((n - 1) / 2) : (nth(n / 2 - 1) + nth(n / 2)) / 2;
  const f = (x: number) => Float32Array.of(x);
  return { mean: f(mean), std: f(Math.sqrt(ss / n)), min: f(lo), max: f(hi), median: f(median) };
}

function floatImageStatistics(images: Float32Array, pixelsPerImage: number, trials: ArrayLike<number>): Stats {
  const n = trials.length * pixelsPerImage;
  const values = new Float32Array(n);
  for (let k = 0; k < trials.length; k++)
    values.set(images.subarray(trials[k] * pixelsPerImage, (trials[k] + 1) * pixelsPerImage), k * pixelsPerImage);
  let s = 0,
    lo = Infinity,
    hi = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    s += v;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const mean = s / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (values[i] - mean) ** 2;
  const f = (x: number) => Float32Array.of(x);
  return { mean: f(mean), std: f(Math.sqrt(ss / n)), min: f(lo), max: f(hi), median: f(medianOf(values)) };
}

/**
 * NumPy's median (the mean of the two middle values for an even count) by selection, in O(n): the values are
 * reordered. A full sort of the 10 million pixels of a Lurz 2020-sized scan's training images took seconds.
 */
export function medianOf(a: Float32Array | Float64Array): number {
  const n = a.length;
  if (n === 0) return Number.NaN;
  const hi = selectKth(a, n >> 1);
  if (n % 2) return hi;
  // after selecting k = n/2, everything before it is <= a[k]: the lower middle is their maximum
  let lo = -Infinity;
  for (let i = 0; i < n >> 1; i++) if (a[i] > lo) lo = a[i];
  return (lo + hi) / 2;
}

/** The k-th smallest value (0-based); partitions `a` in place around it (Hoare quickselect, median-of-3 pivot). */
function selectKth(a: Float32Array | Float64Array, k: number): number {
  let left = 0,
    right = a.length - 1;
  while (right > left) {
    const mid = (left + right) >> 1;
    // median of three as the pivot value
    let x = a[left],
      y = a[mid],
      z = a[right];
    if (x > y) [x, y] = [y, x];
    if (y > z) [y, z] = [z, y];
    if (x > y) [x, y] = [y, x];
    const pivot = y;
    let i = left,
      j = right;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) right = j;
    else if (k >= i) left = i;
    else return a[k];
  }
  return a[k];
}

/** Per-neuron response statistics over the given trials (same definitions as imageStatistics), float32 (neurons,). */
export function responseStatistics(responses: Float32Array, neurons: number, trials: ArrayLike<number>): Stats {
  const T = trials.length;
  const st: Stats = {
    mean: new Float32Array(neurons),
    std: new Float32Array(neurons),
    min: new Float32Array(neurons),
    max: new Float32Array(neurons),
    median: new Float32Array(neurons),
  };
  // Columns gathered a block of neurons at a time, so each trial's row is read in contiguous runs (a strided
  // column-by-column gather of a 4,472 x 5,335 tier missed the cache on every read: seconds).
  const B = 64;
  const cols = new Float64Array(B * T);
  for (let n0 = 0; n0 < neurons; n0 += B) {
    const nb = Math.min(B, neurons - n0);
    for (let k = 0; k < T; k++) {
      const row = trials[k] * neurons + n0;
      for (let b = 0; b < nb; b++) cols[b * T + k] = responses[row + b];
    }
    for (let b = 0; b < nb; b++) {
      const col = cols.subarray(b * T, (b + 1) * T);
      const n = n0 + b;
      let s = 0,
        lo = Infinity,
        hi = -Infinity;
      for (let k = 0; k < T; k++) {
        const v = col[k];
        s += v;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      const mean = s / T;
      let ss = 0;
      for (let k = 0; k < T; k++) ss += (col[k] - mean) ** 2;
      st.mean[n] = mean;
      st.std[n] = Math.sqrt(ss / T);
      st.min[n] = lo;
      st.max[n] = hi;
      st.median[n] = medianOf(col);
    }
  }
  return st;
}

const STAT_NAMES = ['max', 'min', 'std', 'mean', 'median'] as const;

/** One file of the scan, its bytes made when asked (a trial's .npy is a view of the scan's arrays until then). */
export interface LazyScanFile {
  name: string;
  make(): Uint8Array;
}

/**
 * Every file (and directory entry) of the scan, paths under `<name>/`, in the order neuralpredictors'
 * `zip_dir` (os.walk) lists them: each folder's entry, then its files, then its subfolders.
 */
export function scanFiles(s: FileTreeScan): ZipInput[] {
  return scanFileList(s).map((f) => ({ name: f.name, data: f.make() }));
}

/**
 * The same files, made one at a time on demand: the page loads a plain-arrays scan from this list without holding
 * a second copy of its trials as .npy bytes (arrays/to_scan.ts). Statistics are computed here, once.
 */
export function scanFileList(s: FileTreeScan): LazyScanFile[] {
  const trials = checkScanData(s);
  const per = numel(s.imageShape);
  const root = `${s.name}/`;
  const out: LazyScanFile[] = [];
  const empty = () => new Uint8Array(0);
  const dir = (p: string) => out.push({ name: root + p, make: empty });
  const file = (p: string, a: HostArray | (() => HostArray)) =>
    out.push({ name: root + p, make: () => writeNpy(typeof a === 'function' ? a() : a) });
  const labels = (v: string | string[] | undefined, fallback: string) =>
    Array.isArray(v) ? v : new Array<string>(s.neurons).fill(v ?? fallback);
  const int64 = (v: ArrayLike<number>): HostArray => ({
    dtype: 'int64',
    shape: [v.length],
    data: BigInt64Array.from(Array.from(v, (x) => BigInt(Math.round(x)))),
  });
  const perNeuron = (v: number): HostArray => ({
    dtype: 'int64',
    shape: [s.neurons],
    data: new BigInt64Array(s.neurons).fill(BigInt(v)),
  });

  out.push({ name: root, make: empty });
  dir('data/');
  dir('meta/');
  out.push({ name: `${root}config.json`, make: () => new TextEncoder().encode('{"links": {}}') });

  dir('data/images/');
  dir('data/responses/');
  for (let i = 0; i < trials; i++) {
    file(`data/images/${i}.npy`, () => ({
      dtype: s.images instanceof Uint8Array ? 'uint8' : 'float32',
      shape: [...s.imageShape],
      data: s.images.subarray(i * per, (i + 1) * per),
    }));
  }
  for (let i = 0; i < trials; i++) {
    file(`data/responses/${i}.npy`, () => ({
      dtype: 'float32',
      shape: [s.neurons],
      data: s.responses.subarray(i * s.neurons, (i + 1) * s.neurons),
    }));
  }

  dir('meta/trials/');
  dir('meta/neurons/');
  dir('meta/statistics/');
  file('meta/trials/tiers.npy', { dtype: 'string', shape: [trials], data: s.tiers });
  file('meta/trials/trial_idx.npy', int64(s.trialIdx ?? Array.from({ length: trials }, (_, i) => i)));
  file('meta/trials/frame_image_id.npy', int64(s.frameImageId));
  file('meta/trials/frame_image_class.npy', {
    dtype: 'string',
    shape: [trials],
    data: s.frameImageClass ?? new Array<string>(trials).fill('natural'),
  });

  file('meta/neurons/area.npy', { dtype: 'string', shape: [s.neurons], data: labels(s.area, 'V1') });
  file('meta/neurons/layer.npy', { dtype: 'string', shape: [s.neurons], data: labels(s.layer, 'L2/3') });
  if (s.scanIdx !== undefined) file('meta/neurons/scan_idx.npy', perNeuron(s.scanIdx));
  if (s.session !== undefined) file('meta/neurons/sessions.npy', perNeuron(s.session));
  file('meta/neurons/unit_ids.npy', int64(s.unitIds));
  if (s.animalId !== undefined) file('meta/neurons/animal_ids.npy', perNeuron(s.animalId));
  if (s.cellMotorCoordinates)
    file('meta/neurons/cell_motor_coordinates.npy', {
      dtype: 'float64',
      shape: [s.neurons, 3],
      data: s.cellMotorCoordinates,
    });
  if (s.cellTypes) file('meta/neurons/cell_types.npy', int64(s.cellTypes));
  if (s.multiMatchId) file('meta/neurons/multi_match_id.npy', int64(s.multiMatchId));

  const statTrials = statisticsTrials(s.tiers);
  const stats = {
    images: imageStatistics(s.images, per, statTrials),
    responses: responseStatistics(s.responses, s.neurons, statTrials),
  };
  dir('meta/statistics/images/');
  dir('meta/statistics/responses/');
  for (const group of ['images', 'responses'] as const) {
    // `stimulus_frame` is a copy of `all`: every trial of a static scan is a stimulus frame
    for (const source of ['all', 'stimulus_frame']) dir(`meta/statistics/${group}/${source}/`);
    for (const source of ['all', 'stimulus_frame']) {
      for (const k of STAT_NAMES) {
        const v = stats[group][k];
        file(`meta/statistics/${group}/${source}/${k}.npy`, {
          dtype: 'float32',
          shape: group === 'images' ? [] : [s.neurons],
          data: v,
        });
      }
    }
  }
  return out;
}

/** The scan as a deflated zip whose top entry is `<name>/`, like the Sensorium zips and static-sim-a.zip. */
export async function writeScanZip(s: FileTreeScan): Promise<Uint8Array> {
  return writeZip(scanFiles(s));
}

/**
 * The same entries stored, not deflated (zip_store_writer.ts): float32 images and responses barely compress, and
 * storing is ~50x faster and needs no second buffer per entry; every zip reader (neuralpredictors' ZipFile, the
 * page's batched reader) takes it.
 */
export function writeStoredScanZip(s: FileTreeScan): Uint8Array {
  return writeStoredZip(scanFiles(s));
}
