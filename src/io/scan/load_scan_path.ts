/** Node-only: a scan from a .zip or a FileTree folder on disk (the CLI, benchmarks, scripts and tests). */
import { loadScan } from './load_scan';
import { openScanPath } from './node_dir_source';
import type { LoadScanOptions, Scan } from './types';

/** A scan from a .zip or a FileTree folder. */
export async function loadScanFromPath(path: string, opts: LoadScanOptions = {}): Promise<Scan> {
  const source = await openScanPath(path);
  try {
    return await loadScan(source, opts);
  } finally {
    await source.close?.();
  }
}
