/**
 * The FileTree layout of a scan, indexed from its file list before anything is read:
 *   config.json                  {"links": {data_key: folder}} (optional; FileTreeDataset writes {"links": {}})
 *   data/<group>/<i>.npy         one file per trial i = 0 .. n-1 (images, responses, behavior, pupil_center)
 *   meta/trials/<name>.npy       one entry per trial
 *   meta/neurons/<name>.npy      one entry per neuron
 *   meta/statistics/<group>/<source>/<stat>.npy
 */
import { InputError } from '../host_tensor';

export interface ScanLayout {
  /** data/<folder> -> (trial index -> relative path). */
  dataFolders: Map<string, Map<number, string>>;
  /** Files under data/ that are not <folder>/<integer>.npy (ignored, as a warning). */
  strayDataFiles: string[];
  /** meta/trials/<name>.npy by name. */
  trials: Map<string, string>;
  /** meta/neurons/<name>.npy by name. */
  neurons: Map<string, string>;
  /** Every file present, relative to the scan root. */
  all: Set<string>;
  hasConfig: boolean;
}

export function indexLayout(paths: string[]): ScanLayout {
  const layout: ScanLayout = {
    dataFolders: new Map(),
    strayDataFiles: [],
    trials: new Map(),
    neurons: new Map(),
    all: new Set(paths),
    hasConfig: false,
  };
  for (const p of paths) {
    if (p === 'config.json') {
      layout.hasConfig = true;
      continue;
    }
    let m = /^data\/([^/]+)\/(\d+)\.npy$/.exec(p);
    if (m) {
      let folder = layout.dataFolders.get(m[1]);
      if (!folder) {
        folder = new Map();
        layout.dataFolders.set(m[1], folder);
      }
      // '007.npy' is not what FileTreeDataset opens for trial 7 ('7.npy'): keep it out of the trial index.
      if (String(Number(m[2])) === m[2]) folder.set(Number(m[2]), p);
      else layout.strayDataFiles.push(p);
      continue;
    }
    if (p.startsWith('data/')) {
      layout.strayDataFiles.push(p);
      continue;
    }
    m = /^meta\/(trials|neurons)\/([^/]+)\.npy$/.exec(p);
    if (m) (m[1] === 'trials' ? layout.trials : layout.neurons).set(m[2], p);
  }
  return layout;
}

/** config.json's links (data key -> folder under data/), validated as plain strings. */
export function parseLinks(bytes: Uint8Array, file: string): Record<string, string> {
  if (bytes.length > 1 << 20) throw new InputError(file, `is ${bytes.length} bytes; a FileTree config is a few bytes`);
  let cfg: unknown;
  try {
    cfg = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new InputError(file, `not valid JSON (${(e as Error).message})`);
  }
  if (typeof cfg !== 'object' || cfg === null) throw new InputError(file, 'expected a JSON object like {"links": {}}');
  const links = (cfg as { links?: unknown }).links;
  if (links === undefined) return {};
  if (typeof links !== 'object' || links === null || Array.isArray(links))
    throw new InputError(file, '"links" must be an object of data key -> folder name');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(links)) {
    if (typeof v !== 'string' || v.includes('/') || v.includes('..'))
      throw new InputError(file, `link "${k}" must name a folder under data/, got ${JSON.stringify(v)}`);
    out[k] = v;
  }
  return out;
}

/** A readable list, cut after `max` items. */
export function listSome(items: (number | string)[], max = 12): string {
  const shown = items.slice(0, max).join(', ');
  return items.length > max ? `${shown}, ... (${items.length} in all)` : shown;
}

/**
 * Checks that data/<folder> holds exactly the files 0.npy .. (n-1).npy (trials in `dropped` may be missing).
 * `countSource` names where n came from, for the message.
 */
export function checkTrialFiles(
  scanName: string,
  folder: string,
  files: Map<number, string> | undefined,
  n: number,
  dropped: Set<number>,
  countSource: string,
): void {
  const where = `${scanName}/data/${folder}`;
  if (!files || files.size === 0)
    throw new InputError(
      where,
      `missing: the folder holds no trial files (expected 0.npy ... ${n - 1}.npy, one per trial in ${countSource})`,
    );
  const extra: number[] = [];
  for (const i of files.keys()) if (i >= n) extra.push(i);
  const missing: number[] = [];
  for (let i = 0; i < n; i++) if (!files.has(i) && !dropped.has(i)) missing.push(i);
  extra.sort((a, b) => a - b);
  const names = (xs: number[]) => listSome(xs.map((i) => `${i}.npy`));
  if (!extra.length && !missing.length) return;
  const parts = [
    files.size === n
      ? `file names do not match trials 0 .. ${n - 1}`
      : `trial counts disagree: data/${folder} holds ${files.size} trial files, ${countSource} has ${n} trials`,
  ];
  if (missing.length) parts.push(`missing ${names(missing)}`);
  if (extra.length) parts.push(`unexpected ${names(extra)} (trials are numbered 0 .. ${n - 1})`);
  else parts.push(`to load the rest, leave those trials out with the option dropTrials: [${listSome(missing, 50)}]`);
  throw new InputError(where, parts.join('; '));
}
