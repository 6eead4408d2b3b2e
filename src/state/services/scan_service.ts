/**
 * The page's calls into the scan loader: open a zip or a picked/dropped folder, choose the image rescale factor
 * that makes the scan's images fit the loaded model, load with progress, and summarize what was found. Plain
 * arrays (.npy / .npz files, or a folder of them that is not a FileTree) are read here, their mapping proposed from
 * the shapes for the user to confirm, and then loaded through the same FileTree loader (src/io/arrays).
 */
import {
  type ArrayInfo,
  type ArrayMapping,
  arraysToScanData,
  isArrayFileName,
  loadArrayScan,
  type NamedArray,
  readArrayFiles,
  type SplitOptions,
} from '../../io/arrays';
import { InputError } from '../../io/host_tensor';
import { parseNpy } from '../../io/npy';
import {
  fileListScanSource,
  hasRepeats,
  loadScan,
  normalizedImages,
  openZipScan,
  type PathedFile,
  repeatGroups,
  type Scan,
  type ScanSource,
  tierCounts,
} from '../../io/scan';
import { findScanRoot } from '../../io/scan/source';
import type { ImageSet } from '../derived/test_images';

export interface ScanSummary {
  name: string;
  origin: string;
  dataKey: string;
  neurons: number;
  trials: number;
  trialsPerTier: Array<[string, number]>;
  /** [C, H, W] after rescaling, and as stored. */
  imageShape: [number, number, number];
  storedImageShape: [number, number, number];
  scale: number;
  hasTestRepeats: boolean;
  hasCorticalCoordinates: boolean;
  /** Bytes the scan's arrays hold in the page (images, responses, behavior, pupil). */
  memoryBytes: number;
  warnings: string[];
}

export interface ScanProgress {
  done: number;
  total: number;
  what: string;
}

/** One .zip, or the files of a folder (picked with webkitdirectory or dropped, with their relative paths). */
export async function openScanFiles(files: ReadonlyArray<File | PathedFile>): Promise<ScanSource> {
  if (files.length === 0) throw new Error('no files given');
  const first = files[0];
  if (files.length === 1 && first instanceof File && /\.zip$/i.test(first.name)) return openZipScan(first, first.name);
  if (files.some((f) => f instanceof File && /\.zip$/i.test(f.name))) {
    throw new Error('give one scan: a single .zip, or a folder (holding data/ and meta/)');
  }
  return fileListScanSource(files);
}

const pathOf = (f: File | PathedFile) =>
  'path' in f && typeof f.path === 'string' ? f.path : (f as File).webkitRelativePath || (f as File).name;

/**
 * True when the files are plain arrays to map rather than a scan to load: every file (junk such as .DS_Store
 * aside) is a .npy or .npz, and they do not form a FileTree (no folder holding both data/ and meta/).
 */
export function isArraysSelection(files: ReadonlyArray<File | PathedFile>): boolean {
  const paths = files.map(pathOf).filter((p) => !/(^|\/)(\.DS_Store|\._[^/]*)$/.test(p));
  if (paths.length === 0 || !paths.every(isArrayFileName)) return false;
  try {
    findScanRoot(paths, 'selection');
    return false;
  } catch {
    return true;
  }
}

/**
 * A scan name from the selection, as a plain folder name: the dropped or picked folder's name, else the stem of a
 * single .npz, else 'static-arrays'.
 */
export function arraysScanName(files: ReadonlyArray<File | PathedFile>): string {
  const paths = files.map(pathOf);
  const first = paths[0];
  const stem = first.includes('/')
    ? first.split('/')[0]
    : paths.length === 1 && /\.npz$/i.test(first)
      ? first.replace(/\.npz$/i, '')
      : 'arrays';
  const clean = stem.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+|-+$/g, '');
  return clean ? (clean.startsWith('static') ? clean : `static-${clean}`) : 'static-arrays';
}

/** Every array of the selected .npy / .npz files (paths inside a dropped folder kept as the names). */
export async function readSelectedArrays(files: ReadonlyArray<File | PathedFile>): Promise<NamedArray[]> {
  const junk = (p: string) => /(^|\/)(\.DS_Store|\._[^/]*)$/.test(p);
  return readArrayFiles(
    files
      .filter((f) => !junk(pathOf(f)))
      .map((f) => ({
        name: pathOf(f),
        data: 'path' in f && typeof f.path === 'string' ? (f as PathedFile).file : (f as File),
      })),
  );
}

export function arrayInfos(arrays: NamedArray[]): ArrayInfo[] {
  return arrays.map((a) => ({ name: a.name, dtype: a.array.dtype, shape: a.array.shape }));
}

/** Builds the scan the mapping describes (errors name the array's file) and loads it as a FileTree scan. */
export async function loadArraysAsScan(
  arrays: NamedArray[],
  mapping: ArrayMapping,
  split: SplitOptions,
  name: string,
  modelInput: readonly number[] | null,
  onProgress: (p: ScanProgress) => void,
): Promise<{ scan: Scan; notes: string[] }> {
  // The checks and the statistics run on this thread in one go (~0.5 s for a Lurz 2020-sized scan on a quiet
  // machine): let the page paint the progress line first, and again between the steps.
  const yieldToPage = () => new Promise<void>((r) => setTimeout(r, 0));
  onProgress({ done: 0, total: 0, what: 'checking the arrays' });
  await yieldToPage();
  const { data, notes } = arraysToScanData(arrays, mapping, { name, split });
  onProgress({ done: 0, total: 0, what: 'computing statistics' });
  await yieldToPage();
  const scale = fittingScale(data.imageShape, modelInput);
  const scan = await loadArrayScan(
    data,
    { scale, onProgress: (done, total, what) => onProgress({ done, total, what }) },
    `${name} (arrays)`,
  );
  scan.warnings.unshift(...notes);
  return { scan, notes };
}

/** Shape of the first stored image, read from its .npy header (one small file). */
async function storedImageShape(source: ScanSource): Promise<number[] | null> {
  const path = source
    .list()
    .filter((p) => /^data\/images\/[^/]+\.npy$/.test(p))
    .sort()[0];
  if (!path) return null;
  const arr = parseNpy(await source.read(path), `${source.name}/${path}`);
  return arr.shape;
}

/**
 * The factor that turns stored images into the model's input size (Sensorium: 144x256 -> 36x64 is 0.25), or
 * 1 when no model is loaded or the sizes do not divide evenly (the mismatch is reported when training starts).
 */
export function fittingScale(stored: readonly number[] | null, modelInput: readonly number[] | null): number {
  if (!stored || !modelInput || stored.length !== 3) return 1;
  const [, sh, sw] = stored;
  const [, mh, mw] = modelInput;
  const s = mh / sh;
  return Math.abs(mw / sw - s) < 1e-9 && s > 0 && s <= 1 ? s : 1;
}

export async function loadScanFrom(
  source: ScanSource,
  modelInput: readonly number[] | null,
  onProgress: (p: ScanProgress) => void,
): Promise<Scan> {
  try {
    const scale = fittingScale(await storedImageShape(source), modelInput);
    return await loadScan(source, { scale, onProgress: (done, total, what) => onProgress({ done, total, what }) });
  } finally {
    await source.close?.();
  }
}

export function summarizeScan(scan: Scan): ScanSummary {
  return {
    name: scan.name,
    origin: scan.origin,
    dataKey: scan.dataKey,
    neurons: scan.nNeurons,
    trials: scan.nTrials,
    trialsPerTier: [...tierCounts(scan)],
    imageShape: scan.imageShape,
    storedImageShape: scan.storedImageShape,
    scale: scan.scale,
    hasTestRepeats: hasRepeats(scan, 'test'),
    hasCorticalCoordinates: scan.cellMotorCoordinates !== undefined,
    memoryBytes:
      scan.images.byteLength +
      scan.responses.byteLength +
      (scan.behavior?.byteLength ?? 0) +
      (scan.pupilCenter?.byteLength ?? 0),
    warnings: scan.warnings,
  };
}

/** Up to `max` distinct test images of the scan, normalized as the loaders do, as stimuli for the views. */
export function scanTestImages(scan: Scan, max = 16): ImageSet {
  let groups = repeatGroups(scan, 'test');
  let tier = 'test';
  if (groups.length === 0) {
    tier = scan.tiers[0] ?? 'train';
    groups = repeatGroups(scan, tier);
  }
  if (groups.length === 0) throw new InputError(scan.origin, 'has no trials to show');
  const picked = groups.slice(0, max).map((g) => g[0]);
  const [c, h, w] = scan.imageShape;
  return {
    name: `${scan.name} ${tier} images`,
    source: 'scan',
    data: normalizedImages(scan, Int32Array.from(picked)),
    shape: [picked.length, c, h, w],
    labels: picked.map((t) => `${tier} image ${scan.frameImageId[t]}`),
  };
}

/** The scan's test images when they fit the model's input (else null: the built-in stimuli stay). */
export function scanImagesFor(scan: Scan | null, inputShape: readonly number[] | null): ImageSet | null {
  if (!scan || !inputShape) return null;
  if (!scan.imageShape.every((v, i) => v === inputShape[i])) return null;
  return scanTestImages(scan);
}
