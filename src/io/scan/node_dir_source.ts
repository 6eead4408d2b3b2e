/**
 * Scan sources for Node (CLI, tests, benchmarks): an unpacked folder, or a zip on disk read with random
 * access through `fs.openAsBlob`, and `loadScanFromPath` on top of them. Kept apart from source.ts so the browser
 * bundle never imports node:fs.
 */
import { promises as fsp, openAsBlob, readdirSync, type Stats, statSync } from 'node:fs';
import { basename, join, relative, sep } from 'node:path';
import { InputError } from '../host_tensor';
import { loadScan } from './load_scan';
import { findScanRoot, type ScanSource, scanNameFor } from './source';
import type { LoadScanOptions, Scan } from './types';
import { openZipScan } from './zip_batch_source';

/** Bounds the directory walk: a real scan has ~2 files per trial plus a few dozen meta files. */
const MAX_FILES = 4_000_000;

/** Every file under `dir`, as '/'-separated paths relative to it. */
function walk(dir: string): string[] {
  const out: string[] = [];
  const stack = [dir];
  while (stack.length) {
    const d = stack.pop()!;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const full = join(d, e.name);
      if (e.isDirectory()) stack.push(full);
      else if (e.isFile() || e.isSymbolicLink()) {
        out.push(relative(dir, full).split(sep).join('/'));
        if (out.length > MAX_FILES) throw new InputError(dir, `more than ${MAX_FILES} files: not a scan folder`);
      }
    }
  }
  return out;
}

/** An unpacked FileTree scan: `dir` is the scan root, or a folder holding exactly one scan root. */
export function nodeDirScanSource(dir: string, opts: { root?: string } = {}): ScanSource {
  let st: Stats;
  try {
    st = statSync(dir);
  } catch {
    throw new InputError(dir, 'no such file or folder');
  }
  if (!st.isDirectory()) throw new InputError(dir, 'not a folder');
  const files = walk(dir);
  const root = findScanRoot(files, dir, opts.root);
  const rel = new Set<string>();
  for (const p of files) if (p.startsWith(root) && p.length > root.length) rel.add(p.slice(root.length));
  const full = (path: string) => {
    if (!rel.has(path)) throw new InputError(join(dir, root, path), 'file not found');
    return join(dir, root, path);
  };
  return {
    name: scanNameFor(root, basename(dir)),
    origin: dir,
    list: () => [...rel],
    read: async (path) => {
      const f = full(path);
      try {
        return new Uint8Array(await fsp.readFile(f));
      } catch (e) {
        throw new InputError(f, `cannot read (${(e as Error).message})`);
      }
    },
    size: (path) => {
      try {
        return statSync(full(path)).size;
      } catch {
        return undefined;
      }
    },
  };
}

/** A scan given as a path: a `.zip` (read with random access, never whole) or a folder. */
export async function openScanPath(path: string, opts: { root?: string } = {}): Promise<ScanSource> {
  let st: Stats;
  try {
    st = statSync(path);
  } catch {
    throw new InputError(path, 'no such file or folder');
  }
  if (st.isDirectory()) return nodeDirScanSource(path, opts);
  return openZipScan(await openAsBlob(path), path, opts);
}

/** A scan from a .zip or a FileTree folder on disk (the CLI, benchmarks, scripts and tests). */
export async function loadScanFromPath(path: string, opts: LoadScanOptions = {}): Promise<Scan> {
  const source = await openScanPath(path);
  try {
    return await loadScan(source, opts);
  } finally {
    await source.close?.();
  }
}
