/**
 * Where a FileTree scan's files come from. The loader only needs to list the files under the scan's root
 * folder (the one holding `data/` and `meta/`) and read one file at a time, so a zip, a folder on disk and a
 * browser folder pick all look the same to it. Node-only and DOM-only sources live in their own files.
 */
import { InputError } from '../host_tensor';
import type { ZipArchive } from '../zip_archive';

export interface ScanSource {
  /** The scan's name: its root folder (e.g. 'static-sim-a'), else the zip or folder name. */
  readonly name: string;
  /** What the user gave us (zip path, folder path, ...), for error messages. */
  readonly origin: string;
  /** Every file under the scan root, as paths relative to it ('data/images/0.npy'); no directories. */
  list(): string[];
  /** The bytes of one listed file. */
  read(path: string): Promise<Uint8Array>;
  /** Several files at once, in the order asked; sources that can batch (a zip) read neighbours together. */
  readMany?(paths: string[]): Promise<Uint8Array[]>;
  /** The file's size in bytes when it is known without reading it (zip directory, File, stat). */
  size?(path: string): number | undefined;
  close?(): Promise<void>;
}

/** Files that archivers and file managers add and that are never part of a scan. */
function isJunk(path: string): boolean {
  return (
    path.startsWith('__MACOSX/') ||
    path.includes('/__MACOSX/') ||
    /(^|\/)\._/.test(path) ||
    /(^|\/)\.DS_Store$/.test(path)
  );
}

/**
 * The folder prefix ('' or 'static-sim-a/' or 'a/b/') under which `data/` and `meta/` both hold files.
 * Several scans in one container are refused unless `root` picks one.
 */
export function findScanRoot(paths: string[], origin: string, root?: string): string {
  if (root !== undefined) {
    const r = root === '' || root.endsWith('/') ? root : `${root}/`;
    if (!paths.some((p) => p.startsWith(`${r}data/`)) || !paths.some((p) => p.startsWith(`${r}meta/`))) {
      throw new InputError(origin, `no scan at '${r}' (need ${r}data/ and ${r}meta/)`);
    }
    return r;
  }
  const withData = new Set<string>();
  const withMeta = new Set<string>();
  for (const p of paths) {
    if (isJunk(p)) continue;
    for (const [marker, set] of [
      ['data/', withData],
      ['meta/', withMeta],
    ] as const) {
      // Every position where '<prefix>data/' starts a path segment.
      let at = p.indexOf(marker);
      while (at >= 0) {
        if (at === 0 || p[at - 1] === '/') set.add(p.slice(0, at));
        at = p.indexOf(marker, at + 1);
      }
    }
  }
  const roots = [...withData].filter((r) => withMeta.has(r));
  if (roots.length === 0) {
    throw new InputError(
      origin,
      'not a FileTree scan: found no folder holding both data/ and meta/ (as neuralpredictors FileTreeDataset expects)',
    );
  }
  const depth = (r: string) => r.split('/').length;
  const shallowest = Math.min(...roots.map(depth));
  const top = roots.filter((r) => depth(r) === shallowest).sort();
  if (top.length > 1) {
    throw new InputError(origin, `holds several scans (${top.map((r) => r || './').join(', ')}); load one at a time`);
  }
  return top[0];
}

function baseName(path: string): string {
  const parts = path
    .replace(/\\/g, '/')
    .split('/')
    .filter((s) => s.length > 0);
  return parts.length ? parts[parts.length - 1] : path;
}

/** The scan's name from its root prefix, or from the container's own name when the root is the container. */
export function scanNameFor(root: string, containerName: string): string {
  if (root) return baseName(root);
  return baseName(containerName).replace(/\.zip$/i, '');
}

/** Maps root-relative paths to container paths; shared by every source. */
class RootedIndex<T> {
  readonly relative = new Map<string, T>();
  constructor(
    entries: Iterable<[string, T]>,
    readonly root: string,
  ) {
    for (const [p, v] of entries) {
      if (isJunk(p) || !p.startsWith(root)) continue;
      const rel = p.slice(root.length);
      if (rel.length > 0 && !rel.endsWith('/')) this.relative.set(rel, v);
    }
  }
  get(path: string, origin: string): T {
    const v = this.relative.get(path);
    if (v === undefined) throw new InputError(`${origin}: ${this.root}${path}`, 'file not found');
    return v;
  }
}

/**
 * A scan inside an already opened ZipArchive: entries are inflated one at a time on demand, never the whole
 * archive. openZipScan (zip_batch_source.ts) is the faster way to open a scan zip.
 */
export function zipScanSource(archive: ZipArchive, opts: { root?: string } = {}): ScanSource {
  const names = archive.names();
  const root = findScanRoot(names, archive.file, opts.root);
  const index = new RootedIndex(
    names.map((n) => [n, n] as [string, string]),
    root,
  );
  return {
    name: scanNameFor(root, archive.file),
    origin: archive.file,
    list: () => [...index.relative.keys()],
    read: (path) => archive.read(index.get(path, archive.file)),
    size: (path) => {
      const n = index.relative.get(path);
      return n === undefined ? undefined : archive.info(n)?.size;
    },
    close: () => archive.close(),
  };
}

/**
 * A scan held in memory as path -> bytes (the simulator's output, tests). Paths may include a root folder;
 * it is found the same way as in a zip.
 */
export function memoryScanSource(
  files: Map<string, Uint8Array> | Record<string, Uint8Array>,
  opts: { name?: string; root?: string } = {},
): ScanSource {
  const map = files instanceof Map ? files : new Map(Object.entries(files));
  const origin = opts.name ?? 'in-memory scan';
  const root = findScanRoot([...map.keys()], origin, opts.root);
  const index = new RootedIndex(map.entries(), root);
  return {
    name: scanNameFor(root, opts.name ?? 'scan'),
    origin,
    list: () => [...index.relative.keys()],
    read: async (path) => index.get(path, origin),
    size: (path) => index.relative.get(path)?.length,
  };
}
