/**
 * Loads a neuralpredictors FileTree static scan (Lurz 2020 `static*-preproc0`, Sensorium 2022 `static*.zip`,
 * our simulator's output) from any ScanSource into typed arrays, checking everything on the way: a broken
 * file gives an InputError naming it. Trials are read in concurrent batches with progress reports.
 */
import { type HostArray, type HostTensor, InputError, shapeString, toFloat32 } from '../host_tensor';
import { parseNpy } from '../npy';
import { checkTrialFiles, indexLayout, listSome, parseLinks } from './layout';
import { buildNormalizer } from './normalize';
import { type NpyReader, numeric, readNeuronMeta, readStatistics, readTrialMeta } from './read_meta';
import { Rescaler } from './rescale';
import type { ScanSource } from './source';
import { hasRepeats } from './tiers';
import type { LoadScanOptions, Scan } from './types';

/** Default memory limit for one scan's arrays; a Sensorium scan at full resolution needs ~0.45 GB. */
export const DEFAULT_MAX_SCAN_BYTES = 3 * 2 ** 30;
/** Largest single .npy file we read from a scan (a Sensorium image file is 37 KB). */
const MAX_FILE_BYTES = 512 * 2 ** 20;

/** Thrown when responses (or float images) hold NaN or Inf; lists where, so a caller can offer to drop them. */
export class NonFiniteError extends InputError {
  constructor(
    file: string,
    problem: string,
    readonly neurons: number[],
    readonly trials: number[],
  ) {
    super(file, problem);
    this.name = 'NonFiniteError';
  }
}

/** The data key neuralpredictors' Sensorium static_loader gives a scan (from its path, else its neuron table). */
export function sensoriumDataKey(
  name: string,
  neurons: { animalIds?: number[]; sessions?: number[]; scanIdx?: number[] },
): string {
  const tail = name.split('static').pop()!;
  if (name.includes('preproc')) return tail.split('.')[0].replaceAll('preproc', '').replaceAll('_nobehavior', '');
  if (name.includes('ColorImageNet')) return tail.split('-ColorImageNet')[0];
  if (name.includes('GrayImageNet')) return tail.split('-GrayImageNet')[0];
  const { animalIds: a, sessions: s, scanIdx: k } = neurons;
  if (a?.length && s?.length && k?.length) return `${a[0]}-${s[0]}-${k[0]}`;
  return name;
}

function checkedIndexSet(xs: number[] | undefined, n: number, what: string, origin: string): Set<number> {
  const set = new Set<number>();
  for (const x of xs ?? []) {
    if (!Number.isInteger(x) || x < 0 || x >= n)
      throw new InputError(origin, `${what}: ${x} is not an index in 0 .. ${n - 1}`);
    set.add(x);
  }
  if (set.size >= n && n > 0) throw new InputError(origin, `${what} leaves nothing to load`);
  return set;
}

function keptIndices(n: number, drop: Set<number>): Int32Array {
  const out = new Int32Array(n - drop.size);
  let k = 0;
  for (let i = 0; i < n; i++) if (!drop.has(i)) out[k++] = i;
  return out;
}

function sameShape(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
}

/** Per-group expectations fixed by the first trial read. */
interface GroupPlan {
  folder: string;
  files: Map<number, string>;
  first?: { dtype: string; shape: number[] };
}

export async function loadScan(source: ScanSource, opts: LoadScanOptions = {}): Promise<Scan> {
  const scale = opts.scale ?? 1;
  if (!(scale > 0) || !Number.isFinite(scale)) throw new RangeError(`scale must be a positive number, got ${scale}`);
  const statsSource = opts.statsSource ?? 'all';
  const exclude = opts.exclude ?? [];
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_SCAN_BYTES;
  const where = (rel: string) => `${source.name}/${rel}`;
  const checkSize = (rel: string) => {
    const size = source.size?.(rel);
    if (size !== undefined && size > MAX_FILE_BYTES)
      throw new InputError(where(rel), `is ${size} bytes; refusing files over ${MAX_FILE_BYTES} bytes`);
  };
  const reader: NpyReader = {
    where,
    async read(rel) {
      checkSize(rel);
      return parseNpy(await source.read(rel), where(rel));
    },
  };
  const layout = indexLayout(source.list());
  const warnings: string[] = [];

  // Folder names, through config.json links as FileTreeDataset.resolve_data_path does.
  const links = layout.hasConfig ? parseLinks(await source.read('config.json'), where('config.json')) : {};
  const folderOf = (key: string) => links[key] ?? key;
  if (layout.strayDataFiles.length)
    warnings.push(
      `ignored ${layout.strayDataFiles.length} file(s) under data/ that are not <trial>.npy: ${listSome(layout.strayDataFiles, 5)}`,
    );

  const missingData = ['images', 'responses'].filter((k) => !layout.dataFolders.has(folderOf(k)));
  if (missingData.length) {
    throw new InputError(
      where(`data/${folderOf(missingData[0])}`),
      `missing required folder${missingData.length > 1 ? 's' : ''}: ${missingData.map((k) => `data/${folderOf(k)}/`).join(', ')} (one .npy per trial)`,
    );
  }

  // ---- meta: trials, neurons, statistics -------------------------------------------------------------
  const trialMeta = await readTrialMeta(reader, layout);
  warnings.push(...trialMeta.warnings);
  const n = trialMeta.n;
  const neuronMeta = await readNeuronMeta(reader, layout);
  warnings.push(...neuronMeta.warnings);
  const nAll = neuronMeta.nAll;
  if (n === 0) throw new InputError(where(trialMeta.countSource), 'holds no trials');
  if (nAll === 0) throw new InputError(where('meta/neurons/unit_ids.npy'), 'holds no neurons');

  const dropTrials = checkedIndexSet(opts.dropTrials, n, 'dropTrials', source.origin);
  const dropNeurons = checkedIndexSet(opts.dropNeurons, nAll, 'dropNeurons', source.origin);
  const kept = keptIndices(n, dropTrials);
  const keepNeurons = keptIndices(nAll, dropNeurons);
  const nKept = kept.length,
    N = keepNeurons.length;

  const groups: GroupPlan[] = [];
  for (const key of ['images', 'responses', 'behavior', 'pupil_center']) {
    const folder = folderOf(key);
    const files = layout.dataFolders.get(folder);
    if (!files && (key === 'behavior' || key === 'pupil_center')) continue;
    checkTrialFiles(source.name, folder, files, n, dropTrials, trialMeta.countSource);
    groups.push({ folder, files: files! });
  }
  const [gImages, gResponses] = groups;
  const gBehavior = groups.find((g) => g.folder === folderOf('behavior'));
  const gPupil = groups.find((g) => g.folder === folderOf('pupil_center'));

  const imageStats = (await readStatistics(reader, layout, 'images', statsSource, true))!;
  const responseStats = (await readStatistics(reader, layout, 'responses', statsSource, true, nAll))!;

  // ---- the first kept trial fixes every group's dtype and shape ---------------------------------------
  const readTrialFile = (g: GroupPlan, fileIdx: number) => reader.read(g.files.get(fileIdx)!);
  const firsts = await Promise.all(groups.map((g) => readTrialFile(g, kept[0])));
  groups.forEach((g, k) => {
    const a = firsts[k];
    const file = where(g.files.get(kept[0])!);
    numeric(a, file, `data/${g.folder}`);
    g.first = { dtype: a.dtype, shape: a.shape };
  });
  const img0 = gImages.first!;
  if (img0.dtype === 'bool')
    throw new InputError(
      where(gImages.files.get(kept[0])!),
      'wrong dtype: images must be numeric pixel values, found bool',
    );
  if (img0.shape.length !== 2 && img0.shape.length !== 3) {
    throw new InputError(
      where(gImages.files.get(kept[0])!),
      `wrong shape ${shapeString(img0.shape)}: an image must be (channels, height, width) or (height, width)`,
    );
  }
  const storedShape = (img0.shape.length === 2 ? [1, ...img0.shape] : [...img0.shape]) as [number, number, number];
  const rescaler = scale === 1 ? undefined : new Rescaler(storedShape[0], storedShape[1], storedShape[2], scale);
  const imageShape: [number, number, number] = rescaler ? [storedShape[0], rescaler.outH, rescaler.outW] : storedShape;
  const resp0 = gResponses.first!;
  if (resp0.shape.length !== 1 || resp0.shape[0] !== nAll) {
    throw new InputError(
      where(gResponses.files.get(kept[0])!),
      `wrong shape ${shapeString(resp0.shape)}: expected (${nAll},), one response per neuron in meta/neurons/unit_ids.npy`,
    );
  }
  const rowLength = (g: GroupPlan | undefined) => {
    if (!g) return 0;
    const s = g.first!.shape;
    if (s.length > 1)
      throw new InputError(
        where(g.files.get(kept[0])!),
        `wrong shape ${shapeString(s)}: expected a 1-D vector per trial`,
      );
    return s.length === 0 ? 1 : s[0];
  };
  const behaviorDim = rowLength(gBehavior),
    pupilDim = rowLength(gPupil);

  // ---- memory: refuse absurd scans before allocating ---------------------------------------------------
  const keepUint8 = img0.dtype === 'uint8' && !rescaler;
  const perImage = imageShape[0] * imageShape[1] * imageShape[2];
  const need = nKept * perImage * (keepUint8 ? 1 : 4) + 4 * nKept * (N + behaviorDim + pupilDim);
  if (need > maxBytes || perImage > 2 ** 26) {
    throw new InputError(
      source.origin,
      `too large: ${nKept} trials of ${storedShape.join('x')} ${img0.dtype} images and ${N} neurons need ${gib(need)} in memory (limit ${gib(maxBytes)}); use a smaller scale or fewer trials (dropTrials)`,
    );
  }
  let images: Uint8Array | Float32Array, responses: Float32Array;
  try {
    images = keepUint8 ? new Uint8Array(nKept * perImage) : new Float32Array(nKept * perImage);
    responses = new Float32Array(nKept * N);
  } catch (e) {
    throw new InputError(source.origin, `cannot allocate ${gib(need)} for the scan (${(e as Error).message})`);
  }
  const behavior = gBehavior ? new Float32Array(nKept * behaviorDim) : undefined;
  const pupilCenter = gPupil ? new Float32Array(nKept * pupilDim) : undefined;

  // ---- trials ----------------------------------------------------------------------------------------
  const badNeurons = new Set<number>(),
    badTrials = new Set<number>(),
    badImageTrials = new Set<number>();
  let badCount = 0;
  const storedPer = storedShape[0] * storedShape[1] * storedShape[2];
  const place = (g: GroupPlan, a: HostArray, t: number, fileIdx: number) => {
    const file = where(g.files.get(fileIdx)!);
    const f = g.first!;
    if (a.dtype !== f.dtype)
      throw new InputError(
        file,
        `wrong dtype ${a.dtype}: data/${g.folder}/${kept[0]}.npy is ${f.dtype}, every trial must match`,
      );
    if (!sameShape(a.shape, f.shape))
      throw new InputError(
        file,
        `wrong shape ${shapeString(a.shape)}: expected ${shapeString(f.shape)} as in data/${g.folder}/${kept[0]}.npy`,
      );
    const tensor = a as HostTensor;
    if (g === gImages) {
      if (keepUint8) {
        (images as Uint8Array).set(tensor.data as Uint8Array, t * perImage);
        return;
      }
      const src = tensor.dtype === 'uint8' ? (tensor.data as Uint8Array) : toFloat32(tensor);
      if (!(src instanceof Uint8Array)) {
        for (let p = 0; p < storedPer; p++)
          if (!Number.isFinite(src[p])) {
            badImageTrials.add(fileIdx);
            break;
          }
      }
      if (rescaler) rescaler.apply(src, 0, images as Float32Array, t * perImage);
      else (images as Float32Array).set(src, t * perImage);
    } else if (g === gResponses) {
      const src = toFloat32(tensor);
      const o = t * N;
      for (let j = 0; j < N; j++) {
        const v = src[keepNeurons[j]];
        responses[o + j] = v;
        if (!Number.isFinite(v)) {
          badNeurons.add(keepNeurons[j]);
          badTrials.add(fileIdx);
          badCount++;
        }
      }
    } else if (g === gBehavior) behavior!.set(toFloat32(tensor), t * behaviorDim);
    else if (g === gPupil) pupilCenter!.set(toFloat32(tensor), t * pupilDim);
  };

  let metaFiles = 0;
  for (const p of layout.all) if (p.startsWith('meta/')) metaFiles++;
  const total = metaFiles + nKept * groups.length;
  const batchTrials = Math.max(1, Math.floor((opts.batchSize ?? (source.readMany ? 256 : 64)) / groups.length));
  opts.onProgress?.(metaFiles, total, 'meta');
  groups.forEach((g, k) => place(g, firsts[k], 0, kept[0]));
  for (let b = 1; b < nKept; b += batchTrials) {
    const end = Math.min(nKept, b + batchTrials);
    // Group by group, so that a zip source sees runs of neighbouring entries (data/images/0..63, ...).
    const paths: string[] = [],
      slots: [GroupPlan, number][] = [];
    for (const g of groups)
      for (let t = b; t < end; t++) {
        paths.push(g.files.get(kept[t])!);
        slots.push([g, t]);
      }
    paths.forEach(checkSize);
    const bytes = source.readMany ? await source.readMany(paths) : await Promise.all(paths.map((p) => source.read(p)));
    bytes.forEach((buf, k) => {
      const [g, t] = slots[k];
      place(g, parseNpy(buf, where(paths[k])), t, kept[t]);
    });
    opts.onProgress?.(metaFiles + end * groups.length, total, 'trials');
  }

  // ---- non-finite values: say where, and how to leave them out ---------------------------------------
  if (badCount > 0) {
    const neurons = [...badNeurons].sort((a, b) => a - b),
      trials = [...badTrials].sort((a, b) => a - b);
    throw new NonFiniteError(
      where(`data/${gResponses.folder}`),
      `${badCount} response value(s) are NaN or Inf, in neuron(s) ${listSome(neurons)} (rows of meta/neurons) and trial(s) ${listSome(trials)} (data/${gResponses.folder}/<trial>.npy); ` +
        `load again with the option dropNeurons: [${listSome(neurons, 50)}] or dropTrials: [${listSome(trials, 50)}] to leave them out`,
      neurons,
      trials,
    );
  }
  if (badImageTrials.size > 0) {
    const trials = [...badImageTrials].sort((a, b) => a - b);
    throw new NonFiniteError(
      where(`data/${gImages.folder}`),
      `images of trial(s) ${listSome(trials)} hold NaN or Inf; load again with the option dropTrials: [${listSome(trials, 50)}] to leave them out`,
      [],
      trials,
    );
  }

  // ---- statistics and normalizer (from every neuron in the files, then the kept ones) ----------------
  const behaviorStats = gBehavior
    ? await readStatistics(reader, layout, 'behavior', statsSource, false, behaviorDim)
    : undefined;
  const pupilStats = gPupil
    ? await readStatistics(reader, layout, 'pupil_center', statsSource, false, pupilDim)
    : undefined;
  if (gBehavior && !behaviorStats)
    warnings.push(`no meta/statistics/behavior/${statsSource}/{mean,std}.npy: behavior is left unnormalized`);
  if (gPupil && !pupilStats)
    warnings.push(`no meta/statistics/pupil_center/${statsSource}/{mean,std}.npy: pupil_center is left unnormalized`);
  const normalizer = buildNormalizer({
    images: imageStats,
    responses: responseStats,
    behavior: behaviorStats,
    pupilCenter: pupilStats,
    keepNeurons,
    exclude,
    statsSource,
    subtractBehaviorMean: opts.subtractBehaviorMean ?? false,
    statsPath: (group, stat) => where(`meta/statistics/${group}/${statsSource}/${stat}.npy`),
  });
  const pickNeurons = <T>(xs: T[] | undefined) => xs && Array.from(keepNeurons, (r) => xs[r]);
  const pickFloat = (a: Float32Array | undefined) => a && Float32Array.from(keepNeurons, (r) => a[r]);
  const responseStatsKept = {
    mean: pickFloat(responseStats.mean)!,
    std: pickFloat(responseStats.std)!,
    min: pickFloat(responseStats.min),
    max: pickFloat(responseStats.max),
    median: pickFloat(responseStats.median),
  };
  let cmc: Float32Array | undefined;
  if (neuronMeta.cellMotorCoordinates) {
    const all = neuronMeta.cellMotorCoordinates;
    cmc = new Float32Array(N * 3);
    keepNeurons.forEach((r, j) => cmc!.set(all.subarray(3 * r, 3 * r + 3), 3 * j));
  }
  const pickTrials = <T>(xs: ArrayLike<T>) => Array.from(kept, (i) => xs[i]);
  const tiers = pickTrials(trialMeta.tiers);
  const frameImageId = Float64Array.from(kept, (i) => trialMeta.frameImageId[i]);

  const unitIds = pickNeurons(neuronMeta.unitIds)!;
  const scan: Scan = {
    name: source.name,
    origin: source.origin,
    dataKey: sensoriumDataKey(source.name, neuronMeta),
    nTrials: nKept,
    nNeurons: N,
    imageShape,
    storedImageShape: storedShape,
    scale,
    images,
    responses,
    tiers,
    frameImageId,
    frameImageIdSource: trialMeta.frameImageIdSource,
    frameImageClass: trialMeta.frameImageClass && pickTrials(trialMeta.frameImageClass),
    trialIdx: trialMeta.trialIdx && Float64Array.from(kept, (i) => trialMeta.trialIdx![i]),
    fileIndex: kept,
    neurons: {
      index: keepNeurons,
      unitIds,
      animalIds: pickNeurons(neuronMeta.animalIds),
      sessions: pickNeurons(neuronMeta.sessions),
      scanIdx: pickNeurons(neuronMeta.scanIdx),
      area: pickNeurons(neuronMeta.area),
      layer: pickNeurons(neuronMeta.layer),
      cellTypes: pickNeurons(neuronMeta.cellTypes),
      multiMatchId: pickNeurons(neuronMeta.multiMatchId),
    },
    unitIds,
    cellMotorCoordinates: cmc,
    statistics: { images: imageStats, responses: responseStatsKept, behavior: behaviorStats, pupilCenter: pupilStats },
    behavior,
    behaviorDim,
    pupilCenter,
    pupilDim,
    normalizer,
    warnings,
  };
  if (!tiers.includes('test'))
    warnings.push("no trials in tier 'test': test metrics and oracle metrics are unavailable");
  else if (!hasRepeats(scan, 'test'))
    warnings.push(
      `no image in tier 'test' is shown more than once (meta/trials/${trialMeta.frameImageIdSource}.npy): oracle metrics (oracle correlation, fraction oracle, FEVE) are unavailable`,
    );
  opts.onProgress?.(total, total, 'done');
  return scan;
}
